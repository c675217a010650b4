//! Installing a pack into a space: forms, then workflows (checked against the forms), then,
//! when asked, the sample data.

use engine::{Actor, Engine, EngineError, Space, SpaceName, TemplateRef};

use super::{data, DefinitionKind, Pack, Problem};

/// What an install wrote.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The space.
    pub space: Space,
    /// Form definitions stored (new versions; identical ones are not stored again).
    pub forms: usize,
    /// Workflow definitions stored.
    pub workflows: usize,
    /// Sample records written.
    pub records: usize,
}

/// Why an install stopped.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The pack has problems; each names its file and line.
    #[error("{} problem(s): {}", problems.len(), problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Problems {
        /// Every problem found.
        problems: Vec<Problem>,
    },
    /// The engine refused something that is not about a pack file (the space's name, say).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// Creates space `name` from `pack` (the space records the pack's name and version), installs
/// its definitions and, if `sample_data`, its sample records.
pub async fn install_new(
    engine: &Engine,
    actor: &Actor,
    pack: &Pack,
    name: &SpaceName,
    title: Option<String>,
    sample_data: bool,
) -> Result<Installed, InstallError> {
    // Problems with the files are found before the space is made.
    let (_, problems) = pack.definitions();
    if !problems.is_empty() {
        return Err(InstallError::Problems { problems });
    }
    let template = TemplateRef { name: pack.meta.name.clone(), version: pack.meta.version.clone() };
    let title = title.or_else(|| Some(pack.meta.title.clone()));
    let space = engine.create_space_from_template(actor, name, title, template).await?;
    let mut installed = install(engine, actor, pack, &space.name).await?;
    if sample_data {
        installed.records = install_data(engine, actor, pack, &space.name).await?;
    }
    installed.space = engine.space(&space.name)?;
    Ok(installed)
}

/// Stores every definition of `pack` in the existing space `space`, forms first.
pub async fn install(
    engine: &Engine,
    actor: &Actor,
    pack: &Pack,
    space: &SpaceName,
) -> Result<Installed, InstallError> {
    let space = engine.space(space)?;
    let (definitions, problems) = pack.definitions();
    if !problems.is_empty() {
        return Err(InstallError::Problems { problems });
    }
    let mut installed = Installed { space: space.clone(), forms: 0, workflows: 0, records: 0 };
    for definition in &definitions {
        match definition.store(engine, actor, &space.name).await {
            Ok(changed) => match definition.kind {
                DefinitionKind::Form => installed.forms += usize::from(changed),
                DefinitionKind::Workflow => installed.workflows += usize::from(changed),
                DefinitionKind::View | DefinitionKind::Dashboard => {}
            },
            Err(err) => {
                let errors = err.field_errors();
                let problems = if errors.is_empty() {
                    vec![Problem { file: definition.file.clone(), line: None, message: err.to_string() }]
                } else {
                    errors.iter().map(|e| definition.problem(e)).collect()
                };
                return Err(InstallError::Problems { problems });
            }
        }
    }
    Ok(installed)
}

/// Writes the pack's sample records into `space`; returns how many.
pub async fn install_data(
    engine: &Engine,
    actor: &Actor,
    pack: &Pack,
    space: &SpaceName,
) -> Result<usize, InstallError> {
    let files: Vec<(String, String, String)> =
        pack.data_files().map(|(path, form, text)| (path.to_owned(), form.to_owned(), text.to_owned())).collect();
    let (written, problems) = data::load(engine, actor, space, &files).await;
    if problems.is_empty() {
        Ok(written)
    } else {
        Err(InstallError::Problems { problems })
    }
}
