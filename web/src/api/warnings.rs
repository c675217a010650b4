//! Warnings in the answer to storing a workflow: what it asks for that is valid but cannot
//! work yet (a webhook endpoint the space does not define or has disabled, email without a
//! mail server). The workflow is stored either way: endpoints may come after it.

use engine::{EndpointName, Engine, SpaceName};
use forms::FieldError;
use serde_json::Value;

/// The warnings for `definition`, a workflow stored in `space`; `mail`: an SMTP host is set.
pub(crate) fn for_workflow(engine: &Engine, space: &SpaceName, definition: &Value, mail: bool) -> Vec<FieldError> {
    let mut warnings = Vec::new();
    let actions = definition.get("actions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for (i, action) in actions.iter().enumerate() {
        if let Some(notify) = action.get("notify") {
            if let Some(name) = notify.get("webhook").and_then(Value::as_str) {
                warnings.extend(endpoint_warning(engine, space, name, &format!("/actions/{i}/notify/webhook")));
            }
            if notify.get("email").is_some() && !mail {
                warnings.push(FieldError::new(
                    format!("/actions/{i}/notify/email"),
                    "no [smtp] host is configured: these emails fail until one is",
                ));
            }
        }
        // `notify(#{ webhook: "name", ... })` in a script: the names it spells out.
        if let Some(script) = action.get("script").and_then(Value::as_str) {
            for name in script.split("webhook:").skip(1).filter_map(quoted) {
                warnings.extend(endpoint_warning(engine, space, name, &format!("/actions/{i}/script")));
            }
        }
    }
    warnings
}

fn endpoint_warning(engine: &Engine, space: &SpaceName, name: &str, path: &str) -> Option<FieldError> {
    // A name that breaks the name rule names no endpoint.
    let endpoint = EndpointName::parse(name).ok().and_then(|name| engine.endpoint(space, &name).ok());
    let message = match endpoint {
        Some(endpoint) if endpoint.enabled => return None,
        Some(_) => format!("webhook endpoint `{name}` is disabled: deliveries to it fail until it is enabled"),
        None => format!("the space defines no webhook endpoint `{name}` yet: deliveries to it fail until it does"),
    };
    Some(FieldError::new(path, message))
}

/// The string literal at the start of `text` (after spaces), if there is one.
fn quoted(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('"')?;
    rest.split_once('"').map(|(name, _)| name)
}
