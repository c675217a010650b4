//! Resolving a request's caller to its standing in one space ([`Access`]), which record
//! policy is applied with.

use engine::{Access, Principal, SpaceName};

use super::error::ApiError;
use super::AppState;

/// The caller's standing in `space`: a space the caller can't see (not a member, or a token
/// narrowed to another space) is a 404 like one that doesn't exist. The `authz` middleware has
/// already refused such requests on every space route; this gives handlers the standing itself.
pub(crate) fn space_access(state: &AppState, caller: &Principal, space: &SpaceName) -> Result<Access, ApiError> {
    state
        .engine
        .space_access(caller, space)?
        .ok_or_else(|| engine::EngineError::NotFound { what: "space", name: space.to_string() }.into())
}
