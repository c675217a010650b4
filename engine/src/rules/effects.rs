//! Effects requested by workflow scripts: `create`, `update`, `transition`, `notify`.
//!
//! These functions change nothing: they check their arguments, convert them to JSON (dates →
//! ISO strings etc., as for results) and record a [`ScriptEffect`] in the evaluation's state.
//! The caller applies the effects only if the whole script succeeds; an evaluation that fails
//! returns no effects at all. They are refused (a runtime error naming the function) unless
//! [`ScriptVars::allow_effects`](crate::rules::ScriptVars::allow_effects) is set, and one
//! evaluation may request at most `sandbox::MAX_EFFECTS` of them.
//!
//! - `create(form, data)`: a new record of `form` (a form of the same space).
//! - `update(data)`: merge `data` into the triggering record.
//! - `update(form, id, data)`: merge `data` into record `id` of `form`.
//! - `transition(to)`: move the triggering record to stage `to`.
//! - `query(form, filter)`: the records of `form` matching `filter` (the listing filter
//!   language), at most [`QUERY_LIMIT`](crate::workflows::QUERY_LIMIT); reads, changes nothing.
//! - `notify(spec)`: a delivery; `spec` has exactly one of `webhook` (an endpoint's name),
//!   `url` (an http:// or https:// URL) or `email` (a map of `to`: a string or an array of
//!   strings, `subject` and `body`: strings), plus an optional `body` (any value; the record
//!   when absent).

use forms::FormName;
use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Map};
use serde_json::Value;

use crate::rules::time::{ScriptDate, ScriptDateTime, ScriptDuration};
use crate::rules::{convert, sandbox};

type Fallible<T> = Result<T, Box<EvalAltResult>>;

/// One effect a workflow script asked for, in the order it asked.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "effect")]
pub enum ScriptEffect {
    /// `create(form, data)`.
    Create { form: FormName, data: Value },
    /// `update(data)`: the triggering record.
    Update { data: Value },
    /// `update(form, id, data)`.
    UpdateRecord { form: FormName, id: String, data: Value },
    /// `transition(to)`: the triggering record.
    Transition { to: String },
    /// `notify(spec)`: exactly one of `webhook`, `url`, `email` is `Some`; `email` is
    /// `{"to": …, "subject": …, "body": …}`; `body` is the record unless the spec gave one.
    Notify { webhook: Option<String>, url: Option<String>, email: Option<Value>, body: Value },
}

pub(crate) fn register(engine: &mut Engine) {
    engine.register_fn("create", |form: ImmutableString, data: Map| -> Fallible<()> {
        sandbox::check_effects_allowed("create")?;
        let form = form_name("create", &form)?;
        let data = map_json("create", data)?;
        sandbox::push_effect("create", ScriptEffect::Create { form, data })
    });
    engine.register_fn("update", |data: Map| -> Fallible<()> {
        sandbox::check_effects_allowed("update")?;
        let data = map_json("update", data)?;
        sandbox::push_effect("update", ScriptEffect::Update { data })
    });
    engine.register_fn("update", |form: ImmutableString, id: ImmutableString, data: Map| -> Fallible<()> {
        sandbox::check_effects_allowed("update")?;
        let form = form_name("update", &form)?;
        let id = non_empty("update", "the record id", &id)?;
        let data = map_json("update", data)?;
        sandbox::push_effect("update", ScriptEffect::UpdateRecord { form, id, data })
    });
    engine.register_fn("transition", |to: ImmutableString| -> Fallible<()> {
        sandbox::check_effects_allowed("transition")?;
        let to = non_empty("transition", "the stage", &to)?;
        sandbox::push_effect("transition", ScriptEffect::Transition { to })
    });
    engine.register_fn("query", |form: ImmutableString, filter: ImmutableString| -> Fallible<rhai::Array> {
        let query = sandbox::record_query().ok_or("`query` is only available in workflow scripts")?;
        let records = (query.0)(&form, &filter).map_err(|message| format!("`query`: {message}"))?;
        Ok(records.iter().map(convert::to_dynamic).collect())
    });
    engine.register_fn("notify", |spec: Map| -> Fallible<()> {
        sandbox::check_effects_allowed("notify")?;
        let effect = notify(spec).map_err(|message| format!("`notify`: {message}"))?;
        sandbox::push_effect("notify", effect)
    });
}

fn non_empty(function: &str, what: &str, value: &str) -> Fallible<String> {
    if value.trim().is_empty() {
        return Err(format!("`{function}`: {what} is empty").into());
    }
    Ok(value.to_owned())
}

/// The form a script names; one that breaks the name rule can't exist.
fn form_name(function: &str, form: &str) -> Fallible<FormName> {
    non_empty(function, "the form", form)?;
    FormName::parse(form).map_err(|_| format!("`{function}`: there is no form `{form}`").into())
}

fn map_json(function: &str, data: Map) -> Fallible<Value> {
    Ok(convert::to_json(Dynamic::from_map(data), &format!("a value in the data of `{function}`"))?)
}

/// Checks a `notify` spec and builds its effect; the error says what is wrong with the spec.
fn notify(mut spec: Map) -> Result<ScriptEffect, String> {
    const KEYS: &str = "`webhook`, `url`, `email`, `body`";
    if let Some(key) = spec.keys().find(|key| !matches!(key.as_str(), "webhook" | "url" | "email" | "body")) {
        return Err(format!("unknown key `{key}` (expected {KEYS})"));
    }
    let targets: Vec<&str> = ["webhook", "url", "email"].into_iter().filter(|key| spec.contains_key(*key)).collect();
    match targets.as_slice() {
        [_] => {}
        [] => return Err("give one of `webhook`, `url` or `email`".to_owned()),
        [first, second, ..] => {
            return Err(format!("give only one of `webhook`, `url`, `email` (got `{first}` and `{second}`)"))
        }
    }

    let webhook = spec.remove("webhook").map(|name| string("webhook", name)).transpose()?;
    if webhook.as_deref().is_some_and(|name| name.trim().is_empty()) {
        return Err("`webhook` is empty".to_owned());
    }
    let url = spec.remove("url").map(|url| string("url", url)).transpose()?;
    if url.as_deref().is_some_and(|url| !(url.starts_with("https://") || url.starts_with("http://"))) {
        return Err("`url` must be an http:// or https:// URL".to_owned());
    }
    let email = spec.remove("email").map(email).transpose()?;
    let body = match spec.remove("body") {
        Some(body) => convert::to_json(body, "a value in `body`")?,
        None => sandbox::effects_record(),
    };
    Ok(ScriptEffect::Notify { webhook, url, email, body })
}

fn string(key: &str, value: Dynamic) -> Result<String, String> {
    let kind = describe(&value);
    value.into_immutable_string().map(|s| s.to_string()).map_err(|_| format!("`{key}` must be a string, not {kind}"))
}

/// `{to, subject, body}` with `to` a string or an array of strings, the others strings.
fn email(value: Dynamic) -> Result<Value, String> {
    let kind = describe(&value);
    let Some(mut parts) = value.try_cast::<Map>() else {
        return Err(format!("`email` must be a map of `to`, `subject` and `body`, not {kind}"));
    };
    if let Some(key) = parts.keys().find(|key| !matches!(key.as_str(), "to" | "subject" | "body")) {
        return Err(format!("unknown key `email.{key}` (expected `to`, `subject`, `body`)"));
    }
    let mut take = |key: &str| parts.remove(key).ok_or_else(|| format!("`email.{key}` is missing"));
    let to = take("to")?;
    let subject = take("subject")?;
    let body = take("body")?;

    let to = if to.is_array() {
        let recipients = to.into_array().unwrap_or_default();
        if recipients.is_empty() {
            return Err("`email.to` is an empty array".to_owned());
        }
        let recipients =
            recipients.into_iter().map(|r| string("email.to[]", r).map(Value::String)).collect::<Result<_, _>>()?;
        Value::Array(recipients)
    } else {
        let to = string("email.to", to).map_err(|_| "`email.to` must be a string or an array of strings")?;
        if to.trim().is_empty() {
            return Err("`email.to` is empty".to_owned());
        }
        Value::String(to)
    };
    let subject = string("email.subject", subject)?;
    let body = string("email.body", body)?;
    Ok(serde_json::json!({ "to": to, "subject": subject, "body": body }))
}

/// What a value is, for errors: "a map", "an integer", "a date", "()".
fn describe(value: &Dynamic) -> String {
    let name = if value.is_unit() {
        return "()".to_owned();
    } else if value.is_int() {
        "integer"
    } else if value.is_float() {
        "float"
    } else if value.is::<ScriptDate>() {
        "date"
    } else if value.is::<ScriptDateTime>() {
        "datetime"
    } else if value.is::<ScriptDuration>() {
        "duration"
    } else {
        value.type_name()
    };
    if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}
