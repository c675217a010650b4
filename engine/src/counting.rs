//! Counting a form's records, with or without a filter: the totals grids and the spaces page
//! show. A count reads every record of the form (no index keeps counts), so callers ask for it
//! once per query, not per page.

use crate::error::Result;
use crate::listing::field_type;
use crate::query::Filter;
use crate::store::Store;
use crate::Engine;

impl Engine {
    /// How many records of the form match `filter` (all of them without one). A bad filter is
    /// the same 400 a listing gives.
    pub fn count_matching(&self, space: &str, form: &str, filter: Option<&str>) -> Result<u64> {
        let loaded = self.loaded_form(space, form)?;
        let compiled = &loaded.compiled;
        let resolve = |field: &str| field_type(compiled, field);
        let filter =
            filter.map(str::trim).filter(|f| !f.is_empty()).map(|src| Filter::parse(src, &resolve)).transpose()?;
        let mut count = 0;
        for record in self.store().scan_records(&loaded.space, &loaded.stored.name, None, false) {
            let record = record?;
            if filter.as_ref().is_none_or(|filter| filter.matches(&record)) {
                count += 1;
            }
        }
        Ok(count)
    }
}
