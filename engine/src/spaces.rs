//! Spaces: created empty, changed (title, default time zone), read; and spaces made from
//! something: a copy of another space's definitions (a department adapting another's
//! pipelines), or a space marked as installed from a template pack.
//!
//! A copy takes the latest version of every form and workflow, and the webhook endpoints and
//! inbound hooks (with new secrets), never records, runs or outbox entries: the copy starts
//! empty and diverges freely. It remembers the space and the
//! definition versions it started from (`Space::copied_from`), so an admin can later tell what
//! changed on either side.

use std::collections::BTreeMap;

use forms::SpaceName;

use crate::error::{EngineError, Result};
use crate::model::{Actor, CopiedFrom, Space, TemplateRef};
use crate::store::{Store as _, StoreError};
use crate::Engine;

impl Engine {
    /// Creates an empty space.
    pub async fn create_space(&self, actor: &Actor, name: &SpaceName, title: Option<String>) -> Result<Space> {
        let space = self.new_space(actor, name, title);
        self.insert_space(space).await
    }

    /// A space not stored yet; callers fill in where it comes from.
    fn new_space(&self, actor: &Actor, name: &SpaceName, title: Option<String>) -> Space {
        let name = name.clone();
        Space {
            title: title.filter(|t| !t.trim().is_empty()).unwrap_or_else(|| name.to_string()),
            name,
            timezone: None,
            created_at: self.now(),
            created_by: actor.clone(),
            copied_from: None,
            template: None,
        }
    }

    async fn insert_space(&self, space: Space) -> Result<Space> {
        self.store().insert_space(&space).map_err(|err| match err {
            StoreError::AlreadyExists => EngineError::AlreadyExists { what: "space", name: space.name.to_string() },
            other => other.into(),
        })?;
        self.store().barrier().await?;
        Ok(space)
    }

    /// Changes a space's title or default time zone (`Some("")` clears the zone).
    pub async fn update_space(
        &self,
        name: &SpaceName,
        title: Option<String>,
        timezone: Option<String>,
    ) -> Result<Space> {
        let mut space = self.space(name)?;
        if let Some(title) = title {
            if title.trim().is_empty() {
                return Err(forms::ValidationErrors(vec![forms::FieldError::new("/title", "must not be empty")]).into());
            }
            space.title = title;
        }
        if let Some(zone) = timezone {
            if zone.is_empty() {
                space.timezone = None;
            } else {
                crate::calendar::parse_zone(&zone)
                    .map_err(|message| forms::ValidationErrors(vec![forms::FieldError::new("/timezone", message)]))?;
                space.timezone = Some(zone);
            }
        }
        self.store().put_space(&space)?;
        self.inner.definitions.zones.changed();
        self.store().barrier().await?;
        Ok(space)
    }

    /// A space by name.
    pub fn space(&self, name: &SpaceName) -> Result<Space> {
        self.store().space(name)?.ok_or_else(|| EngineError::not_found("space", name.as_str()))
    }

    /// All spaces, in name order.
    pub fn spaces(&self) -> Result<Vec<Space>> {
        Ok(self.store().spaces()?)
    }
}

impl Engine {
    /// Creates space `name` with the latest definitions of space `from` (forms first, since
    /// workflows and dashboards are checked against them) and its shared views. Records are
    /// not copied.
    pub async fn copy_space(
        &self,
        actor: &Actor,
        from: &SpaceName,
        name: &SpaceName,
        title: Option<String>,
    ) -> Result<Space> {
        let source = self.space(from)?;
        let forms = self.forms(&source.name)?;
        let workflows = self.workflows(&source.name)?;
        let mut space = self.new_space(actor, name, title);
        // A department copy keeps the source's zone until it sets its own.
        space.timezone = source.timezone.clone();
        space.copied_from = Some(CopiedFrom {
            space: source.name.clone(),
            forms: forms.iter().map(|f| (f.name.to_string(), f.version)).collect::<BTreeMap<_, _>>(),
            workflows: workflows.iter().map(|w| (w.name.to_string(), w.version)).collect::<BTreeMap<_, _>>(),
        });
        let space = self.insert_space(space).await?;
        for form in &forms {
            let definition = as_json(&form.definition)?;
            self.put_form(actor, &space.name, &form.name, &definition, false).await?;
        }
        // Webhook endpoints and inbound hooks come along (workflows name them), each with a
        // secret of its own: a secret is one space's credential, never shared by a copy.
        for endpoint in self.endpoints(&source.name)? {
            let definition = serde_json::json!({ "title": endpoint.title, "url": endpoint.url,
                                                 "headers": endpoint.headers, "enabled": endpoint.enabled });
            self.put_endpoint(&space.name, &endpoint.name, &definition).await?;
        }
        for hook in self.hooks(&source.name)? {
            let definition = serde_json::json!({ "title": hook.title, "auth": hook.auth, "schema": hook.schema,
                                                 "enabled": hook.enabled });
            self.put_hook(&space.name, &hook.name, &definition).await?;
        }
        for workflow in &workflows {
            let definition = as_json(&workflow.definition)?;
            self.put_workflow(actor, &space.name, &workflow.name, &definition).await?;
        }
        for dashboard in self.dashboards(&source.name)? {
            let definition = as_json(&dashboard.definition)?;
            self.put_dashboard(actor, &space.name, &dashboard.name, &definition, None).await?;
        }
        // Shared views are the space's and come along (with their owner); personal ones stay
        // with the person who saved them.
        for form in &forms {
            for view in self.store().views(&source.name, &form.name)?.into_iter().filter(|v| v.definition.shared) {
                let definition = as_json(&view.definition)?;
                self.put_view(&view.owner, &space.name, &form.name, &view.name, &definition).await?;
            }
        }
        Ok(space)
    }

    /// Creates an empty space that says it was made from `template`; the caller installs the
    /// pack's definitions into it.
    pub async fn create_space_from_template(
        &self,
        actor: &Actor,
        name: &SpaceName,
        title: Option<String>,
        template: TemplateRef,
    ) -> Result<Space> {
        let mut space = self.new_space(actor, name, title);
        space.template = Some(template);
        self.insert_space(space).await
    }
}

/// A stored definition back as the JSON an admin would PUT (serializing plain data can't fail
/// in practice; if it did, it would be a bug, reported as internal).
fn as_json(definition: &impl serde::Serialize) -> Result<serde_json::Value> {
    serde_json::to_value(definition).map_err(|err| StoreError::encoding(err).into())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use forms::{EndpointName, HookName, ViewName};
    use serde_json::json;

    use super::*;
    use crate::{EngineConfig, FormName, ManualClock, WorkflowName};

    fn cs() -> SpaceName {
        SpaceName::from_static("cs")
    }

    fn emea() -> SpaceName {
        SpaceName::from_static("emea")
    }

    /// An engine on `dir` whose clock stands at `hour`:00 UTC on 2027-01-04.
    fn engine_at(dir: &std::path::Path, hour: u32) -> Engine {
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 1, 4, hour, 0, 0).single().expect("instant"));
        Engine::open(EngineConfig { clock: std::sync::Arc::new(clock), ..EngineConfig::new(dir) }).expect("engine")
    }

    /// Computed fields read dates in the space's zone, and a zone change applies to the next
    /// write at once (the zone a write reads is kept between writes).
    #[tokio::test]
    async fn a_space_zone_change_applies_to_the_next_write() {
        let dir = tempfile::tempdir().expect("temp dir");
        // 20:00 in UTC is already the next day at UTC+14.
        let engine = engine_at(dir.path(), 20);
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let form = json!({
            "schema": { "type": "object", "properties": { "n": { "type": "integer" }, "day": { "type": "string" } } },
            "computed": { "day": { "expr": "today().to_string()" } }
        });
        engine.put_form(&actor, &cs(), &FormName::from_static("f"), &form, false).await.expect("form");
        async fn day(engine: &Engine) -> serde_json::Value {
            let record = engine
                .create_record(
                    &Actor::system(),
                    &crate::Access::unrestricted(),
                    &cs(),
                    &FormName::from_static("f"),
                    json!({ "n": 1 }),
                )
                .await
                .expect("record");
            record.data["day"].clone()
        }
        assert_eq!(day(&engine).await, json!("2027-01-04"));
        assert_eq!(day(&engine).await, json!("2027-01-04"), "from the kept zone");
        engine.update_space(&cs(), None, Some("Pacific/Kiritimati".into())).await.expect("zone");
        assert_eq!(day(&engine).await, json!("2027-01-05"));
        engine.update_space(&cs(), None, Some(String::new())).await.expect("back to UTC");
        assert_eq!(day(&engine).await, json!("2027-01-04"));
        engine.close().expect("close");
    }

    /// A copy has the source's definitions, none of its records, remembers the versions it
    /// copied, and changing it leaves the source alone.
    #[tokio::test]
    async fn a_copy_takes_definitions_not_records_and_diverges() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = engine_at(dir.path(), 9);
        let actor = Actor::system();
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let form = json!({ "schema": { "type": "object", "properties": { "n": { "type": "integer" } } } });
        engine.put_form(&actor, &cs(), &FormName::from_static("f"), &form, false).await.expect("form");
        let changed = json!({ "schema": { "type": "object", "properties": { "n": { "type": "number" } } } });
        engine.put_form(&actor, &cs(), &FormName::from_static("f"), &changed, false).await.expect("form v2");
        let workflow = json!({ "trigger": { "form": "f", "on": ["created"] }, "when": "record.n > 1" });
        engine.put_workflow(&actor, &cs(), &WorkflowName::from_static("w"), &workflow).await.expect("workflow");
        let endpoint = json!({ "url": "https://hooks.example.com/cs" });
        engine.put_endpoint(&cs(), &EndpointName::from_static("alerts"), &endpoint).await.expect("endpoint");
        engine.put_hook(&cs(), &HookName::from_static("usage"), &json!({})).await.expect("hook");
        let on_usage = json!({ "trigger": { "hook": "usage" }, "actions": [ { "script": "print(payload)" } ] });
        engine
            .put_workflow(&actor, &cs(), &WorkflowName::from_static("on-usage"), &on_usage)
            .await
            .expect("hook workflow");
        let shared = json!({ "title": "Big", "filter": "n > 2", "shared": true });
        engine
            .put_view(&Actor("ana".into()), &cs(), &FormName::from_static("f"), &ViewName::from_static("big"), &shared)
            .await
            .expect("shared view");
        let personal = json!({ "title": "Mine", "filter": "n > 5" });
        engine
            .put_view(
                &Actor("ana".into()),
                &cs(),
                &FormName::from_static("f"),
                &ViewName::from_static("mine"),
                &personal,
            )
            .await
            .expect("personal view");
        engine
            .create_record(
                &actor,
                &crate::Access::unrestricted(),
                &cs(),
                &FormName::from_static("f"),
                json!({ "n": 3 }),
            )
            .await
            .expect("record");

        let copy = engine.copy_space(&actor, &cs(), &emea(), Some("EMEA".into())).await.expect("copy");
        let origin = copy.copied_from.clone().expect("copied_from");
        assert_eq!(origin.space.as_str(), "cs");
        assert_eq!(origin.forms.get("f"), Some(&2));
        assert_eq!(origin.workflows.get("w"), Some(&1));
        assert_eq!(engine.space(&emea()).expect("stored").copied_from, Some(origin));
        assert_eq!(
            engine.form(&emea(), &FormName::from_static("f"), None).expect("form").definition,
            engine.form(&cs(), &FormName::from_static("f"), None).expect("f").definition
        );
        let page = engine
            .list_records(
                &crate::Access::unrestricted(),
                &emea(),
                &FormName::from_static("f"),
                &crate::ListQuery::default(),
            )
            .expect("list");
        assert!(page.items.is_empty(), "records are not copied");
        assert_eq!(
            engine.endpoint(&emea(), &EndpointName::from_static("alerts")).expect("endpoint").url,
            "https://hooks.example.com/cs"
        );
        assert_ne!(
            engine.endpoint(&emea(), &EndpointName::from_static("alerts")).expect("e").secret,
            engine.endpoint(&cs(), &EndpointName::from_static("alerts")).expect("e").secret
        );
        assert_ne!(
            engine.hook(&emea(), &HookName::from_static("usage")).expect("hook").secret,
            engine.hook(&cs(), &HookName::from_static("usage")).expect("hook").secret
        );
        assert!(engine.workflow(&emea(), &WorkflowName::from_static("on-usage"), None).is_ok());
        let views = engine.views(&Actor("ana".into()), &emea(), &FormName::from_static("f")).expect("views");
        let names: Vec<_> = views.iter().map(|v| (v.name.as_str(), v.definition.filter.as_deref())).collect();
        assert_eq!(names, [("big", Some("n > 2"))], "shared views come along, personal ones don't");

        let adapted = json!({ "trigger": { "form": "f", "on": ["created"] }, "when": "record.n > 10" });
        engine.put_workflow(&actor, &emea(), &WorkflowName::from_static("w"), &adapted).await.expect("adapted");
        assert_eq!(
            engine.workflow(&cs(), &WorkflowName::from_static("w"), None).expect("original").definition.when.as_deref(),
            Some("record.n > 1")
        );

        let err = engine
            .copy_space(&actor, &SpaceName::from_static("nope"), &SpaceName::from_static("other"), None)
            .await
            .expect_err("unknown source");
        assert_eq!(err.code(), crate::ErrorCode::NotFound);
        let err = engine.copy_space(&actor, &cs(), &emea(), None).await.expect_err("taken");
        assert_eq!(err.code(), crate::ErrorCode::AlreadyExists);
        engine.close().expect("close");
    }
}
