//! Resolving a request's caller to its standing in one space ([`Access`]), which record
//! policy is applied with.

use engine::{Access, Principal};

use super::error::ApiError;
use super::AppState;

/// The caller's standing in `space`. Every token today acts for the whole instance, so no
/// policy restricts it; people and space roles narrow this.
pub(crate) fn space_access(_state: &AppState, _caller: &Principal, _space: &str) -> Result<Access, ApiError> {
    Ok(Access::unrestricted())
}
