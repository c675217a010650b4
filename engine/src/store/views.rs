//! Saved views in the `defs` tree: `V\0{space}\0{form}\0{view}\0` → view JSON.

use super::{decode_pair, encode, get, Store, StoreError};
use crate::views::StoredView;

fn key(parts: &[&str]) -> Vec<u8> {
    let mut key = b"V\0".to_vec();
    for part in parts {
        key.extend_from_slice(part.as_bytes());
        key.push(0);
    }
    key
}

impl Store {
    /// Stores a view (replacing one of that name). Durable after [`Store::barrier`].
    pub fn put_view(&self, space: &str, view: &StoredView) -> Result<(), StoreError> {
        self.defs.insert(key(&[space, &view.form, &view.name]), encode(view)?)?;
        Ok(())
    }

    /// A view by name.
    pub fn view(&self, space: &str, form: &str, name: &str) -> Result<Option<StoredView>, StoreError> {
        get(&self.defs, &key(&[space, form, name]))
    }

    /// The views of a form, in name order.
    pub fn views(&self, space: &str, form: &str) -> Result<Vec<StoredView>, StoreError> {
        self.defs.scan_prefix(key(&[space, form])).map(|item| decode_pair(item?)).collect()
    }

    /// Removes a view. Durable after [`Store::barrier`].
    pub fn remove_view(&self, space: &str, form: &str, name: &str) -> Result<(), StoreError> {
        self.defs.remove(key(&[space, form, name]))?;
        Ok(())
    }
}
