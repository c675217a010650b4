//! How a space is made, below the HTTP handler: empty, as a copy of another space's
//! definitions (`from_space`), or from a built-in template pack (`template`, with its sample
//! records when `sample_data`). The API makes this one call; the choice between the three is
//! made here, once.

use engine::{Actor, Engine, EngineError, Space, SpaceName};
use serde::Deserialize;

use crate::packs;

/// What a client asks for when it creates a space.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewSpace {
    /// The space's name (a slug).
    pub name: String,
    /// Its title; the name when absent.
    pub title: Option<String>,
    /// A built-in pack to install (`customer-success`).
    pub template: Option<String>,
    /// With `template`: also write the pack's sample records.
    #[serde(default)]
    pub sample_data: bool,
    /// A space whose definitions (not records) the new space starts with.
    pub from_space: Option<String>,
}

/// Why a space could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CreateSpaceError {
    /// The request combines what can't be combined, or names no built-in pack; `path` is the
    /// JSON pointer of the field at fault.
    #[error("{message}")]
    Invalid {
        /// The field at fault.
        path: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The template pack could not be installed; each problem names its file and line.
    #[error("template `{template}` could not be installed")]
    Template {
        /// The pack's name.
        template: String,
        /// Every problem found.
        problems: Vec<String>,
    },
    /// The engine refused (a taken or bad name, a missing source space) or failed.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Makes the space `new` asks for.
pub async fn create(engine: &Engine, actor: &Actor, new: NewSpace) -> Result<Space, CreateSpaceError> {
    let invalid = |path, message: &str| CreateSpaceError::Invalid { path, message: message.to_owned() };
    let name = SpaceName::parse(&new.name).map_err(|err| invalid("/name", &err.to_string()))?;
    match (new.template, new.from_space) {
        (Some(_), Some(_)) => Err(invalid("/from_space", "give `template` or `from_space`, not both")),
        (None, _) if new.sample_data => Err(invalid("/sample_data", "`sample_data` comes with a `template`")),
        (None, Some(from)) => {
            // A name that breaks the slug rule names no space to copy.
            let from = SpaceName::parse(&from).map_err(|_| EngineError::NotFound { what: "space", name: from })?;
            Ok(engine.copy_space(actor, &from, &name, new.title).await?)
        }
        (None, None) => Ok(engine.create_space(actor, &name, new.title).await?),
        (Some(template), None) => {
            let Some(pack) = packs::embedded(&template) else {
                let known = packs::embedded_names().join(", ");
                return Err(CreateSpaceError::Invalid {
                    path: "/template",
                    message: format!("no template pack `{template}`; built in: {known}"),
                });
            };
            match packs::install_new(engine, actor, &pack, &name, new.title, new.sample_data).await {
                Ok(installed) => Ok(installed.space),
                Err(packs::InstallError::Engine(err)) => Err(err.into()),
                Err(packs::InstallError::Problems { problems }) => Err(CreateSpaceError::Template {
                    template,
                    problems: problems.iter().map(ToString::to_string).collect(),
                }),
            }
        }
    }
}
