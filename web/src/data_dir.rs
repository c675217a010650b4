//! The data directory holds webhook and inbound-hook secrets in clear (Tend needs them to sign
//! and verify) and token hashes: only the user running Tend may read it. The directory and
//! every directory under it are made 0700, every file 0600, when the database is opened and
//! again when it is closed (to cover files the database created meanwhile; the directory's
//! own mode already keeps others out of those).

use std::path::Path;

use anyhow::Context;

/// Creates `dir` if missing and restricts it and everything in it to its owner. A mode that
/// can't be changed (a directory another user owns) is logged, not fatal: the directory's
/// own permissions then decide, as they did before.
pub fn restrict(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating the data directory {}", dir.display()))?;
    if let Err(err) = restrict_tree(dir) {
        tracing::warn!(dir = %dir.display(), error = %err, "could not make the data directory private to its owner");
    }
    Ok(())
}

#[cfg(unix)]
fn restrict_tree(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let metadata = std::fs::symlink_metadata(path)?;
    if metadata.is_dir() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
        for entry in std::fs::read_dir(path)? {
            restrict_tree(&entry?.path())?;
        }
    } else if metadata.is_file() {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_tree(_: &Path) -> std::io::Result<()> {
    Ok(())
}
