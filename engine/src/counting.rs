//! Counting a form's records, with or without a filter: the totals grids and the spaces page
//! show. A count reads every record of the form (no index keeps counts), so callers ask for it
//! once per query, not per page. Only records in the caller's scope count.

use crate::error::Result;
use crate::listing::{check_query_readable, field_type};
use crate::model::Access;
use crate::policy::Policy;
use crate::query::{Filter, Sort};
use crate::store::Store;
use crate::Engine;
use forms::{FormName, SpaceName};

impl Engine {
    /// How many records of the form match `filter` (all of them without one), counting only
    /// those in the scope of the caller's `access`. A bad filter, or one on a field hidden from
    /// the caller, is the same error a listing gives.
    pub fn count_matching(
        &self,
        access: &Access,
        space: &SpaceName,
        form: &FormName,
        filter: Option<&str>,
    ) -> Result<u64> {
        let loaded = self.loaded_form(space, form)?;
        let compiled = &loaded.compiled;
        let policy = Policy::new(compiled.def(), access);
        let resolve = |field: &str| field_type(compiled, field);
        let filter =
            filter.map(str::trim).filter(|f| !f.is_empty()).map(|src| Filter::parse(src, &resolve)).transpose()?;
        check_query_readable(&policy, filter.as_ref(), &Sort::default())?;
        let mut count = 0;
        for record in self.store().scan_records(&loaded.space, &loaded.stored.name, None, false) {
            let record = record?;
            if filter.as_ref().is_none_or(|filter| filter.matches(&record)) && policy.sees_record(&record) {
                count += 1;
            }
        }
        Ok(count)
    }
}
