//! The `assign` action's choice of a person: round-robin (the position is stored, and moved
//! in the run's own commit, so a retried event picks the same person) or least-open (the
//! person with the fewest matching records). A pool may name people by role or team
//! (`role:member`, `team:emea`): the space's members as of the run.

use super::processor::Effects;
use super::{Assign, Strategy};
use crate::error::Result;
use crate::model::Event;
use crate::store::Store as _;
use crate::Engine;
use forms::{FormName, SpaceName};

impl Engine {
    /// The person an `assign` action picks.
    pub(super) fn choose_assignee(
        &self,
        assign: &Assign,
        event: &Event,
        workflow: &str,
        action: u32,
        effects: &mut Effects,
    ) -> std::result::Result<String, String> {
        // `role:member`, `team:emea`: the space's members as of now.
        let pool = self.expand_pool(&event.space, &assign.pool).map_err(|e| e.to_string())?;
        if pool.is_empty() {
            return Err("the pool names nobody (no member has that role or team)".into());
        }
        match assign.strategy {
            Strategy::RoundRobin => {
                let key = (workflow.to_owned(), action);
                let position = match effects.assignment(&key) {
                    Some(position) => position,
                    None => {
                        self.store().assignment_position(&event.space, workflow, action).map_err(|e| e.to_string())?
                    }
                };
                let person = pool[(position % pool.len() as u64) as usize].clone();
                effects.set_assignment(key, position + 1);
                Ok(person)
            }
            Strategy::LeastOpen => {
                let form = event.form.as_ref().ok_or(super::actions::NO_RECORD)?;
                let mut best: Option<(usize, &String)> = None;
                for person in &pool {
                    let mut filter =
                        format!("{} = {}", assign.field, serde_json::to_string(person).unwrap_or_default());
                    if let Some(open) = &assign.open {
                        filter = format!("{filter} and ({open})");
                    }
                    let open = self.count_records(&event.space, form, &filter).map_err(|e| e.to_string())?;
                    if best.is_none_or(|(fewest, _)| open < fewest) {
                        best = Some((open, person));
                    }
                }
                best.map(|(_, person)| person.clone()).ok_or_else(|| "the pool is empty".into())
            }
        }
    }

    /// How many records of a form match a filter.
    fn count_records(&self, space: &SpaceName, form: &FormName, filter: &str) -> Result<usize> {
        let mut count = 0;
        let mut cursor = None;
        loop {
            let query = crate::ListQuery {
                filter: Some(filter.to_owned()),
                limit: Some(crate::MAX_LIMIT),
                cursor,
                ..Default::default()
            };
            let page = self.list_records(&crate::Access::unrestricted(), space, form, &query)?;
            count += page.items.len();
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(count),
            }
        }
    }
}
