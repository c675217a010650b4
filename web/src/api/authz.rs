//! Function-level authorization: which callers may use which route, decided here and nowhere
//! else. [`need`] is the table from route and method to the permission required; [`authorize`]
//! is the middleware that applies it to every routed request, after authentication and before
//! any handler (so a refused request never reads its body nor changes anything).
//!
//! - instance routes (users, creating spaces, backups): superadmins;
//! - a space's routes: its members, by role: viewers read, members work records and run
//!   workflows, admins and owners change definitions and members; a space the caller is not a
//!   member of (or that a narrowed token doesn't reach) answers 404 like one that doesn't
//!   exist; a role too low answers 403;
//! - a read-only token: only reads (safe methods, and the few POSTs that only read);
//! - the caller's own things (`/auth/me`, their tokens and sessions, their user): anyone
//!   signed in; the handlers and the engine keep them to their own.
//!
//! Successful changes of definitions, members and instance settings are written to the audit
//! log here too, as `{METHOD} {route}` with the concrete path as target.

use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use engine::{Principal, SpaceName, SpaceRole};

use super::error::ApiError;
use super::{AppState, ClientAddr};

/// What a route requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Need {
    /// No authentication (signing in, inbound hooks with their own signature).
    Public,
    /// Anyone authenticated; handlers keep them to their own things.
    SignedIn,
    /// A superadmin.
    Instance,
    /// A superadmin, or the user named by the route's `{id}`.
    SelfOrInstance,
    /// A role in the space named by the route's `{space}`.
    Space(Act),
}

/// What a space route does, and so the least role that may do it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Act {
    /// Reads (viewer).
    Read,
    /// Works records, runs workflows (member).
    Work,
    /// Changes definitions and members, reads integrations (admin).
    Define,
}

impl Act {
    fn least_role(self) -> SpaceRole {
        match self {
            Act::Read => SpaceRole::Viewer,
            Act::Work => SpaceRole::Member,
            Act::Define => SpaceRole::Admin,
        }
    }
}

/// Whether a request with `method` on a route needing `need` only reads: POSTs that run a
/// query (aggregates, dashboard data, a workflow dry run) read.
fn only_reads(route: &str, method: &Method) -> bool {
    method.is_safe() || (method == Method::POST && (route.ends_with("/aggregate") || route.ends_with("/data")))
}

/// The permission a route needs with a method; `None` for a route this table doesn't know
/// (refused: a new route must be added here, and the tests check every served route is).
pub(crate) fn need(route: &str, method: &Method) -> Option<Need> {
    use Act::*;
    let write = !method.is_safe();
    let need = match route {
        "/api/v1/auth/session" | "/api/v1/auth/link/{code}" | "/api/v1/auth/login" => Need::Public,
        // Probes and metrics, for operators (outside `/api/`, so no token either).
        "/healthz" | "/readyz" | "/metrics" => Need::Public,
        "/api/v1/auth/logout" => Need::Public,
        "/api/v1/auth/me" | "/api/v1/auth/sessions" | "/api/v1/auth/sessions/{id}" => Need::SignedIn,
        "/api/v1/openapi.json" | "/api/v1/tokens" | "/api/v1/tokens/{id}" => Need::SignedIn,
        "/api/v1/spaces" if write => Need::Instance,
        "/api/v1/spaces" => Need::SignedIn,
        // The built-in template packs: what the gallery offers.
        "/api/v1/packs" => Need::SignedIn,
        "/api/v1/users" | "/api/v1/backup" | "/api/v1/audit" => Need::Instance,
        "/api/v1/users/{id}" => Need::SelfOrInstance,
        "/api/v1/spaces/{space}/hooks/{name}" if method == Method::POST => Need::Public,
        // Integrations carry endpoints and delivery logs: admins'.
        r if r.starts_with("/api/v1/spaces/{space}/webhooks")
            || r.starts_with("/api/v1/spaces/{space}/hooks")
            || r.starts_with("/api/v1/spaces/{space}/deliveries")
            || r == "/api/v1/spaces/{space}/audit" =>
        {
            Need::Space(Define)
        }
        "/api/v1/spaces/{space}/members" | "/api/v1/spaces/{space}/members/{user_id}" => {
            Need::Space(if write { Define } else { Read })
        }
        r if r.starts_with("/api/v1/spaces/{space}/forms/{form}/records")
            || r == "/api/v1/spaces/{space}/forms/{form}/import"
            || r.ends_with("/run")
            || r.ends_with("/retry") =>
        {
            Need::Space(if write { Work } else { Read })
        }
        // Saved views: a member saves their own; sharing is the engine's concern.
        r if r.starts_with("/api/v1/spaces/{space}/forms/{form}/views") => Need::Space(if write { Work } else { Read }),
        // What would fire, and the space's definitions as a pack: readable by viewers, who
        // read the same definitions and records through the API (the calendar keeps to their
        // record scope).
        "/api/v1/spaces/{space}/upcoming" | "/api/v1/spaces/{space}/pack" => Need::Space(Read),
        r if r.starts_with("/api/v1/spaces/{space}") => {
            Need::Space(if write && !only_reads(r, method) { Define } else { Read })
        }
        _ => return None,
    };
    Some(need)
}

/// The middleware: applies [`need`] to the matched route.
pub(crate) async fn authorize(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(route) = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned()) else {
        return next.run(request).await;
    };
    let method = request.method().clone();
    let Some(need) = need(&route, &method) else {
        tracing::error!(route, %method, "a route missing from the authorization table");
        return ApiError::forbidden("this route is not open to anyone yet").into_response();
    };
    if need == Need::Public {
        return next.run(request).await;
    }
    let Some(caller) = request.extensions().get::<Principal>().cloned() else {
        return ApiError::unauthorized("authentication required").into_response();
    };
    let path = request.uri().path().to_owned();
    if let Err(refused) = check(&state, &caller, need, &route, &method, &path) {
        return refused.into_response();
    }
    let from = request.extensions().get::<ClientAddr>().map(|addr| addr.0.ip().to_string());
    let response = next.run(request).await;
    if audited(need, &route, &method) && response.status().is_success() {
        let space = space_segment(&path);
        let action = format!("{method} {route}");
        if let Err(err) = state.engine.audit(&caller.actor().0, space, &action, &path, from).await {
            tracing::warn!(error = %err, "writing the audit log failed");
        }
    }
    response
}

/// Whether a successful request is written to the audit log: changes of definitions, members
/// and instance settings, and tokens made or revoked (record writes have their own history).
fn audited(need: Need, route: &str, method: &Method) -> bool {
    // A workflow's dry run and a draft form's evaluation store nothing.
    if method.is_safe() || only_reads(route, method) || route.ends_with("/test") || route.ends_with("/evaluate") {
        return false;
    }
    match need {
        Need::Instance | Need::SelfOrInstance | Need::Space(Act::Define) => true,
        Need::SignedIn => route.starts_with("/api/v1/tokens"),
        Need::Public | Need::Space(_) => false,
    }
}

/// The `{space}` of a concrete `/api/v1/spaces/{space}/…` path.
fn space_segment(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/spaces/").and_then(|rest| rest.split('/').next()).filter(|s| !s.is_empty())
}

/// The `{id}` of a concrete `/api/v1/users/{id}` path.
fn user_segment(path: &str) -> Option<&str> {
    path.strip_prefix("/api/v1/users/").filter(|s| !s.is_empty() && !s.contains('/'))
}

fn check(
    state: &AppState,
    caller: &Principal,
    need: Need,
    route: &str,
    method: &Method,
    path: &str,
) -> Result<(), ApiError> {
    if caller.read_only && !only_reads(route, method) {
        return Err(ApiError::forbidden("this token is read-only"));
    }
    match need {
        Need::Public | Need::SignedIn => Ok(()),
        Need::Instance if caller.superadmin && caller.space.is_none() => Ok(()),
        Need::Instance => Err(ApiError::forbidden("only a superadmin may do this")),
        Need::SelfOrInstance => {
            let own = caller.user_id.is_some() && caller.user_id.as_deref() == user_segment(path);
            if own || (caller.superadmin && caller.space.is_none()) {
                Ok(())
            } else {
                Err(ApiError::forbidden("only the user themselves or a superadmin may do this"))
            }
        }
        Need::Space(act) => {
            let Some(space) = space_segment(path) else {
                return Err(ApiError::forbidden("no space named"));
            };
            // A name that breaks the slug rule names no space.
            let not_found = || engine::EngineError::NotFound { what: "space", name: space.to_owned() };
            let name = SpaceName::parse(space).map_err(|_| not_found())?;
            let Some(access) = state.engine.space_access(caller, &name)? else {
                return Err(not_found().into());
            };
            match access.role {
                None => Ok(()),
                // Roles order from most to least powerful.
                Some(role) if role <= act.least_role() => Ok(()),
                Some(role) => Err(ApiError::forbidden(format!(
                    "a {} of space `{space}` may not do this; it needs the {} role or higher",
                    role.as_str(),
                    act.least_role().as_str()
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_orders_space_routes_by_role() {
        let get = Method::GET;
        let post = Method::POST;
        let put = Method::PUT;
        let records = "/api/v1/spaces/{space}/forms/{form}/records";
        assert_eq!(need(records, &get), Some(Need::Space(Act::Read)));
        assert_eq!(need(records, &post), Some(Need::Space(Act::Work)));
        assert_eq!(need("/api/v1/spaces/{space}/forms/{form}", &put), Some(Need::Space(Act::Define)));
        assert_eq!(need("/api/v1/spaces/{space}/forms/{form}/aggregate", &post), Some(Need::Space(Act::Read)));
        assert_eq!(need("/api/v1/spaces/{space}/webhooks", &get), Some(Need::Space(Act::Define)));
        assert_eq!(need("/api/v1/spaces/{space}/hooks/{name}", &post), Some(Need::Public));
        assert_eq!(need("/api/v1/spaces", &post), Some(Need::Instance));
        assert_eq!(need("/api/v1/spaces", &get), Some(Need::SignedIn));
        assert_eq!(need("/api/v1/nothing", &get), None);
        assert!(SpaceRole::Owner < SpaceRole::Admin && SpaceRole::Member < SpaceRole::Viewer);
    }

    #[test]
    fn path_segments_are_found() {
        assert_eq!(space_segment("/api/v1/spaces/cs/forms"), Some("cs"));
        assert_eq!(space_segment("/api/v1/spaces/cs"), Some("cs"));
        assert_eq!(space_segment("/api/v1/spaces"), None);
        assert_eq!(user_segment("/api/v1/users/u1"), Some("u1"));
        assert_eq!(user_segment("/api/v1/users/u1/x"), None);
    }
}
