//! The file side of `tend backup`: the archive is written to `FILE.partial` (mode 0600: it
//! holds secrets), checked whole (`engine::backup::verify`) and only then renamed to `FILE`,
//! so a broken transfer never leaves a file that looks like a backup.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use indicatif::ProgressBar;

/// An archive being written.
pub struct Archive {
    out: PathBuf,
    partial: PathBuf,
    file: Option<File>,
    bar: ProgressBar,
}

/// What ended up in the file.
#[derive(Debug, Clone, Copy)]
pub struct Written {
    /// Entries (keys) in the archive.
    pub entries: u64,
    /// Its size.
    pub bytes: u64,
}

impl Archive {
    /// Creates `out`'s partial file, readable by its owner only.
    pub fn create(out: &Path) -> anyhow::Result<Archive> {
        let mut name = out.file_name().context("--out must name a file")?.to_owned();
        name.push(".partial");
        let partial = out.with_file_name(name);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&partial).with_context(|| format!("creating {}", partial.display()))?;
        let bar = crate::remote::progress(None, "written");
        Ok(Archive { out: out.to_owned(), partial, file: Some(file), bar })
    }

    /// Appends bytes received.
    pub fn append(&mut self, chunk: &[u8]) -> anyhow::Result<()> {
        let file = self.file.as_mut().context("the archive is closed")?;
        file.write_all(chunk).with_context(|| format!("writing {}", self.partial.display()))?;
        self.bar.inc(chunk.len() as u64);
        Ok(())
    }

    /// Lets `write` fill the file (blocking), then finishes it.
    pub fn write_with(mut self, write: impl FnOnce(&mut dyn Write) -> anyhow::Result<u64>) -> anyhow::Result<Written> {
        let file = self.file.as_mut().context("the archive is closed")?;
        let mut counted = Counted { inner: file, bar: &self.bar };
        write(&mut counted)?;
        self.finish()
    }

    /// Makes the file durable, checks it whole and gives it its name.
    pub fn finish(mut self) -> anyhow::Result<Written> {
        self.bar.finish_and_clear();
        let file = self.file.take().context("the archive is closed")?;
        file.sync_all().with_context(|| format!("writing {}", self.partial.display()))?;
        drop(file);
        let info = engine::backup::verify(&self.partial)?;
        let bytes = std::fs::metadata(&self.partial).map(|m| m.len()).unwrap_or(0);
        std::fs::rename(&self.partial, &self.out)
            .with_context(|| format!("renaming {} to {}", self.partial.display(), self.out.display()))?;
        Ok(Written { entries: info.entries, bytes })
    }
}

impl Drop for Archive {
    /// An archive not finished leaves no partial file behind.
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if self.partial.exists() {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

struct Counted<'a> {
    inner: &'a mut File,
    bar: &'a ProgressBar,
}

impl Write for Counted<'_> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.bar.inc(written as u64);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}
