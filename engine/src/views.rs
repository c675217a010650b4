//! Saved views of a form's records: a name, a filter, a sort and the columns to show, either
//! personal (seen only by whoever saved it) or shared with everyone in the space.
//!
//! Views are definitions, like forms and workflows: checked when saved against the form they
//! belong to (the filter and sort parse and type-check as a listing would, the columns are
//! fields), so a stored view always lists. They are not versioned: a view is a shortcut, and
//! its history matters to nobody.
//!
//! A view's filter may name days relative to today, which the filter language itself has no
//! word for: `{today}`, `{today+90d}`, `{quarter-1q}` stand for that date in quotes. A view is
//! read with `resolved_filter`, the filter with those replaced by today's dates (UTC, by the
//! engine's clock), so "renewals in the next 90 days" stays true every day.

use forms::{DefinitionErrors, FieldError, FormName, SpaceName, ViewName};
use serde_json::Value;

use crate::error::{EngineError, Result};
use crate::listing::field_type;
use crate::model::{Actor, SYSTEM_FIELDS};
use crate::query::{relative_dates, Filter, Sort};
use crate::store::Store;
use crate::Engine;

pub use crate::model::{StoredView, ViewDef};

/// Replaces `{today}`, `{today+90d}`, `{quarter-1q}`... by quoted dates (see
/// [`crate::query::relative_dates`]); an error names a malformed placeholder.
pub fn resolve_relative_dates(filter: &str, today: chrono::NaiveDate) -> std::result::Result<String, String> {
    relative_dates::resolve(filter, &relative_dates::DateAnchors::today(today))
}

impl StoredView {
    fn visible_to(&self, actor: &Actor) -> bool {
        self.definition.shared || &self.owner == actor
    }
}

impl Engine {
    /// Checks a view definition against its form; every problem with its JSON pointer.
    fn check_view(&self, space: &SpaceName, form: &FormName, definition: &Value) -> Result<ViewDef> {
        let view: ViewDef = serde_json::from_value(definition.clone())
            .map_err(|err| DefinitionErrors(vec![FieldError::new("", format!("not a view definition: {err}"))]))?;
        let loaded = self.loaded_form(space, form)?;
        let compiled = &loaded.compiled;
        let resolve = |field: &str| field_type(compiled, field);
        let mut problems = Vec::new();
        if view.title.trim().is_empty() {
            problems.push(FieldError::new("/title", "must not be empty"));
        }
        if let Some(filter) = view.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            match resolve_relative_dates(filter, self.now().date_naive()) {
                Ok(resolved) => {
                    if let Err(err) = Filter::parse(&resolved, &resolve) {
                        problems.push(FieldError::new("/filter", err.to_string()));
                    }
                }
                Err(message) => problems.push(FieldError::new("/filter", message)),
            }
        }
        if let Some(sort) = view.sort.as_deref() {
            if let Err(err) = Sort::parse(sort, &resolve) {
                problems.push(FieldError::new("/sort", err.to_string()));
            }
        }
        for (i, column) in view.columns.iter().enumerate() {
            let known = compiled.field_type(column).is_some() || SYSTEM_FIELDS.iter().any(|(name, _)| name == column);
            if !known {
                problems.push(FieldError::new(format!("/columns/{i}"), format!("the form has no field `{column}`")));
            }
        }
        if problems.is_empty() {
            Ok(view)
        } else {
            Err(DefinitionErrors(problems).into())
        }
    }

    /// Saves a view (creating or replacing it); whether it was created. A personal view of
    /// someone else can't be replaced: that name is taken.
    pub async fn put_view(
        &self,
        actor: &Actor,
        space: &SpaceName,
        form: &FormName,
        name: &ViewName,
        definition: &Value,
    ) -> Result<(StoredView, bool)> {
        let definition = self.check_view(space, form, definition)?;
        let loaded = self.loaded_form(space, form)?;
        let (space, form) = (&loaded.space, &loaded.stored.name);
        let existing = self.store().view(space, form, name)?;
        if let Some(existing) = &existing {
            if !existing.visible_to(actor) {
                return Err(EngineError::AlreadyExists { what: "view", name: name.to_string() });
            }
        }
        let view = StoredView {
            name: name.clone(),
            form: form.clone(),
            definition,
            // A shared view keeps its first owner; whoever saves a personal view owns it.
            owner: existing.as_ref().filter(|v| v.definition.shared).map_or_else(|| actor.clone(), |v| v.owner.clone()),
            updated_at: self.now(),
            resolved_filter: None,
        };
        self.store().put_view(space, form, &view)?;
        self.store().barrier().await?;
        Ok((self.resolved(view), existing.is_none()))
    }

    /// Creates a view; `AlreadyExists` if the name is taken.
    pub async fn create_view(
        &self,
        actor: &Actor,
        space: &SpaceName,
        form: &FormName,
        name: &ViewName,
        definition: &Value,
    ) -> Result<StoredView> {
        let loaded = self.loaded_form(space, form)?;
        if self.store().view(&loaded.space, &loaded.stored.name, name)?.is_some() {
            return Err(EngineError::AlreadyExists { what: "view", name: name.to_string() });
        }
        self.put_view(actor, space, form, name, definition).await.map(|(view, _)| view)
    }

    /// A view the caller may see.
    pub fn view(&self, actor: &Actor, space: &SpaceName, form: &FormName, name: &ViewName) -> Result<StoredView> {
        let loaded = self.loaded_form(space, form)?;
        self.store()
            .view(&loaded.space, &loaded.stored.name, name)?
            .filter(|view| view.visible_to(actor))
            .map(|view| self.resolved(view))
            .ok_or_else(|| EngineError::not_found("view", name))
    }

    /// The views of a form the caller may see: shared ones and their own, in name order.
    pub fn views(&self, actor: &Actor, space: &SpaceName, form: &FormName) -> Result<Vec<StoredView>> {
        let loaded = self.loaded_form(space, form)?;
        Ok(self
            .store()
            .views(&loaded.space, &loaded.stored.name)?
            .into_iter()
            .filter(|view| view.visible_to(actor))
            .map(|view| self.resolved(view))
            .collect())
    }

    /// The view with `resolved_filter` filled in for today.
    fn resolved(&self, mut view: StoredView) -> StoredView {
        view.resolved_filter = view.definition.filter.as_deref().map(|filter| {
            resolve_relative_dates(filter, self.now().date_naive()).unwrap_or_else(|_| filter.to_owned())
        });
        view
    }

    /// Deletes a view the caller may see.
    pub async fn delete_view(&self, actor: &Actor, space: &SpaceName, form: &FormName, name: &ViewName) -> Result<()> {
        self.view(actor, space, form, name)?;
        let loaded = self.loaded_form(space, form)?;
        self.store().remove_view(&loaded.space, &loaded.stored.name, name)?;
        self.store().barrier().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_dates_become_quoted_dates() {
        let today = chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("a date");
        let resolved = resolve_relative_dates("d >= {today} and d <= {today+90d} or d = {today-2w}", today);
        assert_eq!(resolved.as_deref(), Ok("d >= \"2026-12-01\" and d <= \"2027-03-01\" or d = \"2026-11-17\""));
        assert_eq!(resolve_relative_dates("name = \"x\"", today).as_deref(), Ok("name = \"x\""));
        assert!(resolve_relative_dates("d < {today+x}", today).is_err());
        assert!(resolve_relative_dates("d < {today", today).is_err());
        assert!(resolve_relative_dates("d < {today€}", today).is_err());
        assert!(resolve_relative_dates("d < {today+99999999999d}", today).is_err());
    }
}
