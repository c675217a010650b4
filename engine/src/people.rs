//! People: users (with argon2id passwords), their memberships of spaces with a role and teams,
//! a caller's standing in a space ([`Access`]), and the audit log.
//!
//! `People` is the subsystem's state: users and standings already read, by id, dropped whole
//! on any change to users or memberships (both are rare next to the requests that read them:
//! every request resolves its caller's user, and every space route its standing).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};

use forms::{FormName, SpaceName};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::auth::{self, Principal};
use crate::error::{EngineError, Result};
use crate::model::Record;
pub use crate::model::{Access, AuditEntry, Membership, SpaceRole, User, UserInfo};
use crate::store::Store;
use crate::Engine;

/// How record answers name a person their fields or actors hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonName {
    /// Display name.
    pub name: String,
    /// Email, as the space's member list shows it.
    pub email: String,
}

/// Who an email goes to, as [`Engine::email_recipients`] resolves it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Recipients {
    /// The addresses, a string or a list as the workflow wrote `to`.
    pub to: Value,
    /// The time zone of the one user the email goes to; `None` for several or for strangers.
    pub time_zone: Option<chrono_tz::Tz>,
}

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Unique (case-insensitively).
    pub email: String,
    /// Display name.
    pub name: String,
    /// IANA zone; UTC when absent.
    pub time_zone: Option<String>,
    /// Language tag; `en` when absent.
    pub locale: Option<String>,
    /// The password, if set now.
    pub password: Option<String>,
    /// Instance-level rights.
    pub superadmin: bool,
}

/// A change to a user; absent fields stay.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    /// Display name.
    pub name: Option<String>,
    /// IANA zone.
    pub time_zone: Option<String>,
    /// Language tag.
    pub locale: Option<String>,
    /// A new password.
    pub password: Option<String>,
    /// The current password: needed to change one's own password once one is set.
    pub old_password: Option<String>,
    /// Superadmins only.
    pub disabled: Option<bool>,
    /// Superadmins only.
    pub superadmin: Option<bool>,
}

/// The shortest password accepted (OWASP ASVS 2.1.1).
pub const MIN_PASSWORD_CHARS: usize = 12;
/// The longest password accepted (argon2 hashes any length; this bounds the work a request
/// can ask for).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// The most teams one membership names.
pub const MAX_TEAMS: usize = 32;

/// What the subsystem keeps in memory.
#[derive(Default)]
pub(crate) struct People {
    users: RwLock<HashMap<String, Option<Arc<User>>>>,
    standings: RwLock<HashMap<(SpaceName, String), Option<Access>>>,
}

impl People {
    fn forget(&self) {
        self.users.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.standings.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// How an email is compared and claimed: trimmed, lower-cased.
fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn invalid(path: &str, message: impl Into<String>) -> EngineError {
    EngineError::Validation(forms::ValidationErrors(vec![forms::FieldError::new(path, message.into())]))
}

fn check_email(email: &str) -> Result<()> {
    let email = email.trim();
    let well_formed = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if well_formed {
        Ok(())
    } else {
        Err(invalid("/email", "must be an email address such as ana@example.com"))
    }
}

fn check_text(path: &str, value: &str, max: usize) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > max || value.chars().any(char::is_control) {
        return Err(invalid(path, format!("must be 1 to {max} printable characters")));
    }
    Ok(())
}

fn check_time_zone(zone: &str) -> Result<()> {
    zone.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| invalid("/time_zone", "must be an IANA zone such as Europe/Paris"))
}

fn check_password(password: &str) -> Result<()> {
    let chars = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
        return Err(invalid("/password", format!("must be {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters")));
    }
    Ok(())
}

fn check_teams(teams: &[String]) -> Result<Vec<String>> {
    if teams.len() > MAX_TEAMS {
        return Err(invalid("/teams", format!("at most {MAX_TEAMS} teams")));
    }
    for (i, team) in teams.iter().enumerate() {
        let ok = !team.is_empty()
            && team.len() <= 64
            && team.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !ok {
            return Err(invalid(&format!("/teams/{i}"), "a team is 1 to 64 of a-z, 0-9, - and _"));
        }
    }
    let set: BTreeSet<String> = teams.iter().cloned().collect();
    Ok(set.into_iter().collect())
}

/// Runs slow password work (argon2) on a blocking thread, off the async runtime.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| EngineError::Internal(format!("password hashing was cancelled: {err}")))
}

/// A fixed hash to verify against when the email is unknown, so that an unknown email costs
/// what a wrong password does (no account enumeration by timing).
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| auth::hash_password("decoy password, never matches").unwrap_or_default())
}

impl Engine {
    // ---- users ----

    /// Creates a user; `AlreadyExists` if the email is taken. Durable when it returns.
    pub async fn create_user(&self, new: NewUser) -> Result<User> {
        check_email(&new.email)?;
        check_text("/name", &new.name, 200)?;
        let time_zone = new.time_zone.unwrap_or_else(|| "UTC".into());
        check_time_zone(&time_zone)?;
        let locale = new.locale.unwrap_or_else(|| "en".into());
        check_text("/locale", &locale, 35)?;
        let password = match new.password {
            Some(password) => {
                check_password(&password)?;
                Some(off_runtime(move || auth::hash_password(&password)).await??)
            }
            None => None,
        };
        let now = self.now();
        let user = User {
            id: format!("u{}", self.new_record_id(now).simple()),
            email: new.email.trim().to_owned(),
            name: new.name.trim().to_owned(),
            time_zone,
            locale,
            password,
            disabled: false,
            superadmin: new.superadmin,
            created_at: now,
        };
        match self.store().insert_user(&email_key(&user.email), &user) {
            Err(crate::store::StoreError::AlreadyExists) => {
                return Err(EngineError::AlreadyExists { what: "user with email", name: user.email });
            }
            other => other?,
        }
        self.store().barrier().await?;
        self.inner.people.forget();
        Ok(user)
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> Result<User> {
        self.cached_user(id)?.map(|user| (*user).clone()).ok_or_else(|| EngineError::not_found("user", id))
    }

    fn cached_user(&self, id: &str) -> Result<Option<Arc<User>>> {
        let people = &self.inner.people;
        if let Some(user) = people.users.read().unwrap_or_else(|p| p.into_inner()).get(id) {
            return Ok(user.clone());
        }
        let user = self.store().user(id)?.map(Arc::new);
        people.users.write().unwrap_or_else(|p| p.into_inner()).insert(id.to_owned(), user.clone());
        Ok(user)
    }

    /// The people `records` of `form` name, by user id: the values of its person fields
    /// ([`forms::CompiledForm::person_fields`]) and the users who created and last changed
    /// them. Values that name no user (free text, an email from before people) are left out.
    pub fn people_of(
        &self,
        space: &SpaceName,
        form: &FormName,
        records: &[&Record],
    ) -> Result<BTreeMap<String, PersonName>> {
        let loaded = self.loaded_form(space, form)?;
        let fields = loaded.compiled.person_fields();
        let mut ids = BTreeSet::new();
        for record in records {
            for field in fields {
                match record.data.get(field) {
                    Some(Value::String(id)) => {
                        ids.insert(id.as_str());
                    }
                    Some(Value::Array(values)) => ids.extend(values.iter().filter_map(Value::as_str)),
                    _ => {}
                }
            }
            for actor in [&record.created_by, &record.updated_by] {
                if let Some(id) = actor.0.strip_prefix("user:") {
                    ids.insert(id);
                }
            }
        }
        let mut people = BTreeMap::new();
        for id in ids {
            if let Some(user) = self.cached_user(id)? {
                people.insert(id.to_owned(), PersonName { name: user.name.clone(), email: user.email.clone() });
            }
        }
        Ok(people)
    }

    /// The user with this email (case-insensitive).
    pub fn user_by_email(&self, email: &str) -> Result<User> {
        let id = self.store().user_id_by_email(&email_key(email))?;
        id.map(|id| self.user(&id)).transpose()?.ok_or_else(|| EngineError::not_found("user with email", email))
    }

    /// Every user, oldest first.
    pub fn users(&self) -> Result<Vec<User>> {
        Ok(self.store().users()?)
    }

    /// Whether any user exists (a new data dir gets a first superadmin at start).
    pub fn has_users(&self) -> Result<bool> {
        Ok(!self.store().users()?.is_empty())
    }

    /// Changes a user as `by` asks: anyone may change their own name, zone, locale and
    /// password (with the current one, once one is set); superadmins anything of anyone.
    pub async fn update_user(&self, by: &Principal, id: &str, patch: UserPatch) -> Result<User> {
        let mut user = self.user(id)?;
        let own = by.user_id.as_deref() == Some(id);
        if !by.superadmin && (!own || patch.disabled.is_some() || patch.superadmin.is_some()) {
            return Err(EngineError::forbidden("only a superadmin may change this"));
        }
        if let Some(name) = patch.name {
            check_text("/name", &name, 200)?;
            user.name = name.trim().to_owned();
        }
        if let Some(zone) = patch.time_zone {
            check_time_zone(&zone)?;
            user.time_zone = zone;
        }
        if let Some(locale) = patch.locale {
            check_text("/locale", &locale, 35)?;
            user.locale = locale;
        }
        if let Some(password) = patch.password {
            check_password(&password)?;
            if let (true, Some(current)) = (own, user.password.clone()) {
                let old = patch.old_password.unwrap_or_default();
                if !off_runtime(move || auth::verify_password(&current, &old)).await? {
                    let message = "the old password is wrong";
                    let errors = vec![forms::FieldError::new("/old_password", message)];
                    return Err(EngineError::Forbidden { message: message.into(), errors });
                }
            }
            user.password = Some(off_runtime(move || auth::hash_password(&password)).await??);
        }
        if let Some(disabled) = patch.disabled {
            user.disabled = disabled;
        }
        if let Some(superadmin) = patch.superadmin {
            user.superadmin = superadmin;
        }
        self.store().put_user(&user)?;
        self.store().barrier().await?;
        self.inner.people.forget();
        Ok(user)
    }

    /// Sets a user's password outright (the CLI's reset, run by whoever holds the data dir).
    pub async fn reset_password(&self, email: &str, password: String) -> Result<User> {
        let mut user = self.user_by_email(email)?;
        check_password(&password)?;
        user.password = Some(off_runtime(move || auth::hash_password(&password)).await??);
        self.store().put_user(&user)?;
        self.store().barrier().await?;
        self.inner.people.forget();
        Ok(user)
    }

    /// The user an email and password sign in, if they match an enabled user. Verifies on a
    /// blocking thread; an unknown email costs the same verification.
    pub async fn check_password(&self, email: &str, password: &str) -> Result<Option<User>> {
        let user = match self.user_by_email(email) {
            Ok(user) => Some(user),
            Err(EngineError::NotFound { .. }) => None,
            Err(err) => return Err(err),
        };
        let phc = user.as_ref().and_then(|u| u.password.clone()).unwrap_or_else(|| decoy_hash().to_owned());
        let password = password.to_owned();
        let matches = off_runtime(move || auth::verify_password(&phc, &password)).await?;
        Ok(user.filter(|user| matches && user.password.is_some() && !user.disabled))
    }

    /// The caller as of now: a token's or session's principal with its user's current
    /// superadmin flag; `None` if the user is gone or disabled.
    pub fn current_caller(&self, mut principal: Principal) -> Result<Option<Principal>> {
        let Some(id) = principal.user_id.as_deref() else {
            principal.superadmin = true;
            return Ok(Some(principal));
        };
        match self.cached_user(id)? {
            Some(user) if !user.disabled => {
                principal.superadmin = user.superadmin;
                Ok(Some(principal))
            }
            _ => Ok(None),
        }
    }

    // ---- memberships ----

    /// Makes `user_id` a member of `space` with `role` and `teams` (replacing a membership
    /// they had); whether they are new. Only owners (and superadmins) grant or change the
    /// owner role.
    pub async fn put_member(
        &self,
        by: &Principal,
        space: &SpaceName,
        user_id: &str,
        role: SpaceRole,
        teams: &[String],
    ) -> Result<(Membership, bool)> {
        self.space(space)?;
        self.user(user_id)?;
        let teams = check_teams(teams)?;
        let previous = self.store().membership(space, user_id)?;
        self.may_manage_owners(
            by,
            space,
            role == SpaceRole::Owner || previous.as_ref().is_some_and(|m| m.role == SpaceRole::Owner),
        )?;
        let membership = Membership { user_id: user_id.to_owned(), role, teams };
        self.store().put_membership(space, &membership)?;
        self.store().barrier().await?;
        self.inner.people.forget();
        Ok((membership, previous.is_none()))
    }

    /// Ends a membership.
    pub async fn remove_member(&self, by: &Principal, space: &SpaceName, user_id: &str) -> Result<()> {
        self.space(space)?;
        let Some(previous) = self.store().membership(space, user_id)? else {
            return Err(EngineError::not_found("member", user_id));
        };
        self.may_manage_owners(by, space, previous.role == SpaceRole::Owner)?;
        self.store().remove_membership(space, user_id)?;
        self.store().barrier().await?;
        self.inner.people.forget();
        Ok(())
    }

    fn may_manage_owners(&self, by: &Principal, space: &SpaceName, touches_owner: bool) -> Result<()> {
        if !touches_owner || by.superadmin {
            return Ok(());
        }
        let role = self.space_access(by, space)?.and_then(|access| access.role);
        if role == Some(SpaceRole::Owner) {
            Ok(())
        } else {
            Err(EngineError::forbidden("only an owner may grant, change or remove the owner role"))
        }
    }

    /// The members of a space, with their users, in user id order.
    pub fn members(&self, space: &SpaceName) -> Result<Vec<(Membership, Option<UserInfo>)>> {
        self.space(space)?;
        let members = self.store().members(space)?;
        members
            .into_iter()
            .map(|m| {
                let user = self.cached_user(&m.user_id)?.map(|u| u.info());
                Ok((m, user))
            })
            .collect()
    }

    /// Every membership of a user: (space, membership).
    pub fn memberships_of(&self, user_id: &str) -> Result<Vec<(String, Membership)>> {
        Ok(self.store().memberships_of(user_id)?)
    }

    /// The caller's standing in `space`: `None` when the space is not theirs to see (not a
    /// member, or a token narrowed to another space), which callers answer like a space that
    /// doesn't exist. Superadmins (and the bootstrap user) stand unrestricted everywhere.
    pub fn space_access(&self, caller: &Principal, space: &SpaceName) -> Result<Option<Access>> {
        if caller.space.as_ref().is_some_and(|only| only != space) {
            return Ok(None);
        }
        if caller.superadmin {
            return Ok(Some(Access { user_id: caller.user_id.clone(), ..Access::unrestricted() }));
        }
        let Some(user_id) = caller.user_id.clone() else {
            return Ok(None);
        };
        let key = (space.clone(), user_id);
        let people = &self.inner.people;
        if let Some(found) = people.standings.read().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(found.clone());
        }
        let found = self.standing(&key.0, &key.1)?;
        people.standings.write().unwrap_or_else(|p| p.into_inner()).insert(key, found.clone());
        Ok(found)
    }

    fn standing(&self, space: &SpaceName, user_id: &str) -> Result<Option<Access>> {
        let Some(membership) = self.store().membership(space, user_id)? else {
            return Ok(None);
        };
        let mut team_members = BTreeSet::from([user_id.to_owned()]);
        if !membership.teams.is_empty() {
            for other in self.store().members(space)? {
                if other.teams.iter().any(|team| membership.teams.contains(team)) {
                    team_members.insert(other.user_id);
                }
            }
        }
        Ok(Some(Access { user_id: Some(user_id.to_owned()), role: Some(membership.role), team_members }))
    }

    // ---- people in workflows ----

    /// The members a people reference names in `space`, in user id order: `role:{role}` (e.g.
    /// `role:member`) the members with that role, `team:{team}` the members of that team;
    /// `None` for anything else (a plain value, not a reference).
    pub(crate) fn people_named(&self, space: &SpaceName, reference: &str) -> Result<Option<Vec<String>>> {
        let keep: Box<dyn Fn(&Membership) -> bool> = if let Some(role) = reference.strip_prefix("role:") {
            let role = role.to_owned();
            Box::new(move |m: &Membership| m.role.as_str() == role)
        } else if let Some(team) = reference.strip_prefix("team:") {
            let team = team.to_owned();
            Box::new(move |m: &Membership| m.teams.contains(&team))
        } else {
            return Ok(None);
        };
        let members = self.store().members(space)?;
        Ok(Some(members.into_iter().filter(|m| keep(m)).map(|m| m.user_id).collect()))
    }

    /// An `assign` pool with its people references (`role:…`, `team:…`) replaced by the user
    /// ids of the members they name (disabled users left out); other entries stay as written.
    pub(crate) fn expand_pool(&self, space: &SpaceName, pool: &[String]) -> Result<Vec<String>> {
        let mut expanded = Vec::with_capacity(pool.len());
        for entry in pool {
            match self.people_named(space, entry)? {
                Some(ids) => {
                    for id in ids {
                        if self.cached_user(&id)?.is_some_and(|user| !user.disabled) && !expanded.contains(&id) {
                            expanded.push(id);
                        }
                    }
                }
                None => expanded.push(entry.clone()),
            }
        }
        Ok(expanded)
    }

    /// An email's `to` (a string or a list of them) with people references and user ids
    /// replaced by the users' emails (disabled users left out); addresses stay as written.
    /// When the email goes to one user, known by id, reference or address, their time zone
    /// comes with it: the subject and body are written for their day, not the workflow's.
    pub(crate) fn email_recipients(&self, space: &SpaceName, to: &Value) -> Result<Recipients> {
        let entries: Vec<String> = match to {
            Value::String(one) => vec![one.clone()],
            Value::Array(many) => many.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
            other => return Ok(Recipients { to: other.clone(), time_zone: None }),
        };
        let mut emails: Vec<String> = Vec::new();
        // The user behind each address, where one is known.
        let mut users: Vec<Option<Arc<User>>> = Vec::new();
        let mut add = |email: String, user: Option<Arc<User>>| {
            if !emails.contains(&email) {
                emails.push(email);
                users.push(user);
            }
        };
        for entry in entries {
            let ids = match self.people_named(space, &entry)? {
                Some(ids) => ids,
                None if !entry.contains('@') => vec![entry.clone()],
                None => {
                    let user = match self.store().user_id_by_email(&email_key(&entry))? {
                        Some(id) => self.cached_user(&id)?,
                        None => None,
                    };
                    add(entry, user);
                    continue;
                }
            };
            let named = ids.len();
            let mut found = 0;
            for id in ids {
                if let Some(user) = self.cached_user(&id)? {
                    found += 1;
                    if !user.disabled {
                        add(user.email.clone(), Some(user));
                    }
                }
            }
            // Not a user id after all: keep the value as written.
            if named == 1 && found == 0 {
                add(entry, None);
            }
        }
        let time_zone = match users.as_slice() {
            [Some(user)] => user.time_zone.parse().ok(),
            _ => None,
        };
        let to = match to {
            Value::String(_) if emails.len() == 1 => Value::String(emails.remove(0)),
            _ => Value::from(emails),
        };
        Ok(Recipients { to, time_zone })
    }

    // ---- the audit log ----

    /// Appends to the audit log; durable when it returns.
    pub async fn audit(
        &self,
        actor: &str,
        space: Option<&str>,
        action: &str,
        target: &str,
        from: Option<String>,
    ) -> Result<AuditEntry> {
        let at = self.now();
        let entry = AuditEntry {
            id: self.new_record_id(at),
            at,
            actor: actor.to_owned(),
            space: space.map(str::to_owned),
            action: action.to_owned(),
            target: target.to_owned(),
            from,
        };
        self.store().append_audit(&entry)?;
        self.store().barrier().await?;
        Ok(entry)
    }

    /// Audit entries newest first: one space's (`Some`) or all; older than `before`.
    pub fn audit_log(&self, space: Option<&str>, before: Option<Uuid>, limit: usize) -> Result<Vec<AuditEntry>> {
        let keep = |entry: &AuditEntry| space.is_none() || entry.space.as_deref() == space;
        Ok(self.store().audit(before, limit, &keep)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EngineConfig;

    fn engine(dir: &std::path::Path) -> Engine {
        Engine::open(EngineConfig::new(dir)).unwrap()
    }

    fn ana() -> NewUser {
        NewUser {
            email: "Ana@Example.com".into(),
            name: "Ana".into(),
            password: Some("a long passphrase".into()),
            ..NewUser::default()
        }
    }

    #[tokio::test]
    async fn emails_are_unique_case_insensitively_and_passwords_check() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let user = engine.create_user(ana()).await.unwrap();
        assert_eq!(user.time_zone, "UTC");
        assert!(user.password.as_deref().unwrap().starts_with("$argon2id$"));
        let again = NewUser { email: " ana@example.COM ".into(), ..ana() };
        assert_eq!(engine.create_user(again).await.unwrap_err().code(), crate::ErrorCode::AlreadyExists);
        assert_eq!(engine.check_password("ANA@example.com", "a long passphrase").await.unwrap().unwrap().id, user.id);
        assert!(engine.check_password("ana@example.com", "wrong passphrase").await.unwrap().is_none());
        assert!(engine.check_password("bob@example.com", "a long passphrase").await.unwrap().is_none());
        let short = NewUser { email: "b@x".into(), password: Some("short".into()), ..ana() };
        assert_eq!(engine.create_user(short).await.unwrap_err().code(), crate::ErrorCode::Invalid);
        let zone = NewUser { email: "c@x".into(), time_zone: Some("Mars/Olympus".into()), ..ana() };
        assert_eq!(engine.create_user(zone).await.unwrap_err().code(), crate::ErrorCode::Invalid);
    }

    #[tokio::test]
    async fn users_change_their_own_password_only_with_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let user = engine.create_user(ana()).await.unwrap();
        let me = Principal { user_id: Some(user.id.clone()), ..Principal::default() };
        let wrong = UserPatch {
            password: Some("another passphrase".into()),
            old_password: Some("nope".into()),
            ..UserPatch::default()
        };
        assert_eq!(engine.update_user(&me, &user.id, wrong).await.unwrap_err().code(), crate::ErrorCode::Forbidden);
        let right = UserPatch {
            password: Some("another passphrase".into()),
            old_password: Some("a long passphrase".into()),
            ..UserPatch::default()
        };
        engine.update_user(&me, &user.id, right).await.unwrap();
        assert!(engine.check_password("ana@example.com", "another passphrase").await.unwrap().is_some());
        let promote = UserPatch { superadmin: Some(true), ..UserPatch::default() };
        assert_eq!(engine.update_user(&me, &user.id, promote).await.unwrap_err().code(), crate::ErrorCode::Forbidden);
        let root = Principal { superadmin: true, ..Principal::default() };
        let disable = UserPatch { disabled: Some(true), ..UserPatch::default() };
        engine.update_user(&root, &user.id, disable).await.unwrap();
        assert!(engine.check_password("ana@example.com", "another passphrase").await.unwrap().is_none());
        assert!(engine.current_caller(me).unwrap().is_none(), "a disabled user's tokens and sessions stop");
    }

    #[tokio::test]
    async fn standing_follows_membership_teams_and_token_scope() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let (cs, ops) = (SpaceName::from_static("cs"), SpaceName::from_static("ops"));
        engine.create_space(&crate::Actor::system(), &cs, None).await.unwrap();
        engine.create_space(&crate::Actor::system(), &ops, None).await.unwrap();
        let ana = engine.create_user(ana()).await.unwrap();
        let bob = engine
            .create_user(NewUser { email: "bob@x".into(), name: "Bob".into(), ..NewUser::default() })
            .await
            .unwrap();
        let cid = engine
            .create_user(NewUser { email: "cid@x".into(), name: "Cid".into(), ..NewUser::default() })
            .await
            .unwrap();
        let root = Principal { superadmin: true, ..Principal::default() };
        let emea = vec!["emea".to_owned()];
        engine.put_member(&root, &cs, &ana.id, SpaceRole::Member, &emea).await.unwrap();
        engine.put_member(&root, &cs, &bob.id, SpaceRole::Viewer, &emea).await.unwrap();
        engine.put_member(&root, &cs, &cid.id, SpaceRole::Admin, &["apac".to_owned()]).await.unwrap();

        let as_ana = Principal { user_id: Some(ana.id.clone()), ..Principal::default() };
        let access = engine.space_access(&as_ana, &cs).unwrap().unwrap();
        assert_eq!(access.role, Some(SpaceRole::Member));
        assert_eq!(access.team_members, BTreeSet::from([ana.id.clone(), bob.id.clone()]));
        assert_eq!(engine.space_access(&as_ana, &ops).unwrap(), None, "not a member");
        let narrowed = Principal { space: Some(ops.clone()), ..as_ana.clone() };
        assert_eq!(engine.space_access(&narrowed, &cs).unwrap(), None, "token narrowed to another space");
        assert!(engine.space_access(&root, &ops).unwrap().unwrap().is_unrestricted());

        // An admin can't make owners; an owner can.
        let as_cid = Principal { user_id: Some(cid.id.clone()), ..Principal::default() };
        let err = engine.put_member(&as_cid, &cs, &bob.id, SpaceRole::Owner, &[]).await.unwrap_err();
        assert_eq!(err.code(), crate::ErrorCode::Forbidden);
        engine.put_member(&as_cid, &cs, &bob.id, SpaceRole::Member, &[]).await.unwrap();
        assert_eq!(engine.space_access(&as_ana, &cs).unwrap().unwrap().team_members, BTreeSet::from([ana.id.clone()]));
        engine.remove_member(&root, &cs, &ana.id).await.unwrap();
        assert_eq!(engine.space_access(&as_ana, &cs).unwrap(), None);
        assert_eq!(engine.memberships_of(&bob.id).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn roles_and_teams_name_people_for_assignment_and_email() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        let space = SpaceName::from_static("cs");
        engine.create_space(&crate::Actor::system(), &space, None).await.unwrap();
        let root = Principal { superadmin: true, ..Principal::default() };
        let ana = engine.create_user(ana()).await.unwrap();
        let bob = engine.create_user(NewUser { email: "bob@x".into(), name: "Bob".into(), ..NewUser::default() });
        let bob = bob.await.unwrap();
        engine.put_member(&root, &space, &ana.id, SpaceRole::Member, &["emea".to_owned()]).await.unwrap();
        engine.put_member(&root, &space, &bob.id, SpaceRole::Viewer, &["emea".to_owned()]).await.unwrap();

        let pool = ["role:member".to_owned(), "cy".to_owned(), "team:emea".to_owned()];
        assert_eq!(engine.expand_pool(&space, &pool).unwrap(), [ana.id.clone(), "cy".into(), bob.id.clone()]);
        assert!(engine.expand_pool(&space, &["role:owner".to_owned()]).unwrap().is_empty());

        let to = |value: serde_json::Value| engine.email_recipients(&space, &value).unwrap().to;
        let zone = |value: serde_json::Value| engine.email_recipients(&space, &value).unwrap().time_zone;
        assert_eq!(to(serde_json::json!("team:emea")), serde_json::json!(["Ana@Example.com", "bob@x"]));
        assert_eq!(to(serde_json::json!(bob.id)), serde_json::json!("bob@x"));
        assert_eq!(to(serde_json::json!("csm@example.com")), serde_json::json!("csm@example.com"));
        assert_eq!(to(serde_json::json!(["role:viewer", "x@y"])), serde_json::json!(["bob@x", "x@y"]));
        assert_eq!(to(serde_json::json!("not-a-user")), serde_json::json!("not-a-user"));

        // One user, however named, brings their time zone; several or a stranger don't.
        let tokyo = UserPatch { time_zone: Some("Asia/Tokyo".into()), ..UserPatch::default() };
        engine.update_user(&root, &bob.id, tokyo).await.unwrap();
        assert_eq!(zone(serde_json::json!(bob.id)), Some(chrono_tz::Asia::Tokyo));
        assert_eq!(zone(serde_json::json!("BOB@x")), Some(chrono_tz::Asia::Tokyo));
        assert_eq!(zone(serde_json::json!("role:viewer")), Some(chrono_tz::Asia::Tokyo));
        assert_eq!(zone(serde_json::json!("team:emea")), None);
        assert_eq!(zone(serde_json::json!("csm@example.com")), None);
    }

    #[tokio::test]
    async fn the_audit_log_reads_newest_first_per_space() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(dir.path());
        engine.audit("user:a", Some("cs"), "form.put", "account", None).await.unwrap();
        engine.audit("user:a", None, "sign_in", "user:a", Some("127.0.0.1".into())).await.unwrap();
        let last = engine.audit("user:b", Some("cs"), "member.put", "ub", None).await.unwrap();
        let cs = engine.audit_log(Some("cs"), None, 10).unwrap();
        assert_eq!(cs.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["member.put", "form.put"]);
        assert_eq!(engine.audit_log(None, None, 10).unwrap().len(), 3);
        assert_eq!(engine.audit_log(None, Some(last.id), 1).unwrap()[0].action, "sign_in");
    }
}
