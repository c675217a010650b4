//! The packs under `examples/`, built into the binary so `tend` can install them by name
//! (`POST /api/v1/spaces {template}`, `tend serve --demo`) without the source tree.

use std::collections::BTreeMap;

use include_dir::{include_dir, Dir};

use super::Pack;

static EXAMPLES: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../examples");

/// Names of the built-in packs, sorted.
pub fn embedded_names() -> Vec<String> {
    let mut names: Vec<String> = EXAMPLES
        .dirs()
        .filter(|dir| dir.get_file(dir.path().join("pack.json")).is_some())
        .filter_map(|dir| dir.path().file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    names
}

/// The built-in pack `name`.
pub fn embedded(name: &str) -> Option<Pack> {
    let dir = EXAMPLES.get_dir(name)?;
    let mut files = BTreeMap::new();
    collect(dir, dir.path(), &mut files);
    Pack::from_files(format!("{name} (built in)"), files).ok()
}

fn collect(dir: &Dir<'_>, root: &std::path::Path, files: &mut BTreeMap<String, String>) {
    for file in dir.files() {
        if let (Ok(relative), Some(text)) = (file.path().strip_prefix(root), file.contents_utf8()) {
            files.insert(relative.to_string_lossy().replace('\\', "/"), text.to_owned());
        }
    }
    for sub in dir.dirs() {
        collect(sub, root, files);
    }
}
