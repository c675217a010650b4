//! Saved views shipped by a pack: `views/<name>.json` holds `{"form": ..., "title": ...,
//! "filter": ..., "sort": ..., "columns": [...]}`. They are installed shared (a pack's views
//! are for everyone in the space), after the forms they list, and checked like views saved
//! through the API: a bad filter is a problem at `/filter` in the file.

use engine::{Actor, Engine, EngineError, FormName, SpaceName, ViewName};
use forms::{DefinitionErrors, FieldError};
use serde_json::Value;

use super::Definition;

/// Stores one pack view in `space`.
pub(super) async fn store(
    engine: &Engine,
    actor: &Actor,
    space: &SpaceName,
    definition: &Definition,
) -> Result<(), EngineError> {
    let mut value = definition.value.clone();
    let Some(object) = value.as_object_mut() else {
        return Err(DefinitionErrors(vec![FieldError::new("", "a view is a JSON object")]).into());
    };
    let form = match object.remove("form") {
        Some(Value::String(form)) => FormName::parse(&form)
            .map_err(|_| DefinitionErrors(vec![FieldError::new("/form", format!("the space has no form `{form}`"))]))?,
        _ => return Err(DefinitionErrors(vec![FieldError::new("/form", "the form the view lists, by name")]).into()),
    };
    object.insert("shared".into(), Value::Bool(true));
    let name = ViewName::parse(&definition.name)?;
    engine.put_view(actor, space, &form, &name, &value).await.map(|_| ())
}
