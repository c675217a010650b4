//! Backups: a consistent snapshot of the whole database written as one archive, and the
//! archive restored into a new data dir.
//!
//! The archive, streamed (never held whole in memory):
//! - a header: the magic bytes [`MAGIC`], the archive format ([`ARCHIVE_FORMAT`], u32 BE), the
//!   storage format of the entries (u32 BE) and when the snapshot started (Unix µs, i64 BE);
//! - the entries, each part (a sled tree) opened by `T` ++ name length (u16 BE) ++ name, then
//!   `K` ++ key length (u32 BE) ++ key ++ value length (u32 BE) ++ value per entry;
//! - `Z` ++ the number of entries (u64 BE);
//! - the SHA-256 of everything before it.
//!
//! The snapshot is the store's (`Store::snapshot`): every tree as it was at one instant, while
//! writes go on. It holds everything a data dir does, secrets included: webhook and inbound
//! hook secrets in clear and token hashes, so an archive is as sensitive as the data dir.
//!
//! A restore reads the archive twice: once to check the header, the framing and the checksum,
//! and only then to write the entries, into a new directory beside the target that takes the
//! target's place when complete. A damaged, truncated, foreign or newer archive changes
//! nothing.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::store::{Backend, SnapshotEntry, StorageConfig, Store, StoreError};
use crate::Engine;

/// The first bytes of every archive.
pub const MAGIC: &[u8; 12] = b"TEND-BACKUP\n";

/// The layout of the archive itself (header, framing, checksum).
pub const ARCHIVE_FORMAT: u32 = 1;

/// A key longer than this means the file is damaged (no key comes near it).
const MAX_KEY: u64 = 16 * 1024 * 1024;
/// A value longer than this means the file is damaged.
const MAX_VALUE: u64 = 1024 * 1024 * 1024;

/// Why a backup failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The database could not be read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The archive could not be written (a full disk, a client gone).
    #[error("writing the backup: {0}")]
    Write(#[source] io::Error),
}

/// Why an archive was refused or could not be restored. Each message is one line.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The file does not start like a Tend backup.
    #[error("{} is not a Tend backup", path.display())]
    Foreign {
        /// The file.
        path: PathBuf,
    },
    /// Written by a newer Tend.
    #[error("{} was made by a newer Tend ({what} format {found}; this Tend reads up to {supported})", path.display())]
    Newer {
        /// The file.
        path: PathBuf,
        /// "archive" or "storage".
        what: &'static str,
        /// The file's format.
        found: u32,
        /// The newest this build reads.
        supported: u32,
    },
    /// The file ends early.
    #[error("{} is truncated: it ends before its checksum", path.display())]
    Truncated {
        /// The file.
        path: PathBuf,
    },
    /// The file's content does not match its checksum, or its framing is broken.
    #[error("{} is damaged: {reason}", path.display())]
    Damaged {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The target already holds something.
    #[error("{} is not empty: restore only into a new or empty directory", path.display())]
    NotEmpty {
        /// The target.
        path: PathBuf,
    },
    /// A file could not be read or written.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The restored database could not be written.
    #[error("writing the restored database: {0}")]
    Store(#[source] StoreError),
}

/// What a backup wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    /// Entries (keys) in the archive.
    pub entries: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// What an archive holds, as its header and trailer say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveInfo {
    /// The archive's own format.
    pub archive_format: u32,
    /// The storage format of its entries.
    pub storage_format: u32,
    /// When its snapshot started.
    pub created_at: DateTime<Utc>,
    /// Entries (keys).
    pub entries: u64,
}

impl Engine {
    /// Writes a backup of the whole database to `out`: every tree as it was at one instant,
    /// while writes go on. Blocking: call it off the async runtime.
    pub fn backup(&self, out: impl Write) -> Result<BackupSummary, BackupError> {
        let mut writer =
            ArchiveWriter { out: BufWriter::with_capacity(256 * 1024, out), hasher: Sha256::new(), bytes: 0 };
        let mut header = Vec::with_capacity(28);
        header.extend_from_slice(MAGIC);
        header.extend_from_slice(&ARCHIVE_FORMAT.to_be_bytes());
        header.extend_from_slice(&Backend::storage_format().to_be_bytes());
        header.extend_from_slice(&self.now().timestamp_micros().to_be_bytes());
        writer.write(&header).map_err(BackupError::Write)?;
        let mut current_part = String::new();
        let mut entries = 0u64;
        // The visitor's I/O error is kept here: the store only carries its own errors.
        let mut write_error = None;
        let snapshot = self.store().snapshot(&mut |part, key, value| {
            let written = (|| {
                if part != current_part {
                    let name = part.as_bytes();
                    let length = u16::try_from(name.len()).map_err(|_| io::Error::other("part name too long"))?;
                    writer.write(b"T")?;
                    writer.write(&length.to_be_bytes())?;
                    writer.write(name)?;
                    current_part = part.to_owned();
                }
                writer.write(b"K")?;
                writer.write_chunk(key)?;
                writer.write_chunk(value)
            })();
            match written {
                Ok(()) => {
                    entries += 1;
                    Ok(())
                }
                Err(err) => {
                    let stop = StoreError::backend(io::Error::new(err.kind(), err.to_string()));
                    write_error = Some(err);
                    Err(stop)
                }
            }
        });
        if let Some(err) = write_error {
            return Err(BackupError::Write(err));
        }
        snapshot?;
        writer.write(b"Z").and_then(|()| writer.write(&entries.to_be_bytes())).map_err(BackupError::Write)?;
        let checksum = writer.hasher.clone().finalize();
        writer.out.write_all(&checksum).and_then(|()| writer.out.flush()).map_err(BackupError::Write)?;
        Ok(BackupSummary { entries, bytes: writer.bytes + checksum.len() as u64 })
    }
}

struct ArchiveWriter<W: Write> {
    out: BufWriter<W>,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> ArchiveWriter<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
        self.out.write_all(bytes)
    }

    fn write_chunk(&mut self, bytes: &[u8]) -> io::Result<()> {
        let length = u32::try_from(bytes.len()).map_err(|_| io::Error::other("an entry is too long"))?;
        self.write(&length.to_be_bytes())?;
        self.write(bytes)
    }
}

/// Checks an archive whole (header, framing, checksum) without writing anything.
pub fn verify(archive: &Path) -> Result<ArchiveInfo, RestoreError> {
    let mut reader = ArchiveReader::open(archive)?;
    while reader.next_entry()?.is_some() {}
    reader.finish()
}

/// Restores `archive` into `data_dir`, which must be missing or empty. The archive is checked
/// whole before anything is written, and the database is built in a new directory beside
/// `data_dir` that takes its place only when complete.
pub fn restore(archive: &Path, data_dir: &Path, storage: &StorageConfig) -> Result<ArchiveInfo, RestoreError> {
    let io_error = |context: String| move |source| RestoreError::Io { context, source };
    match std::fs::read_dir(data_dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(RestoreError::NotEmpty { path: data_dir.to_owned() });
            }
        }
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(err) => return Err(io_error(format!("reading {}", data_dir.display()))(err)),
    }
    let info = verify(archive)?;
    let parent = match data_dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_error(format!("creating {}", parent.display())))?;
    let name = data_dir.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = parent.join(format!(".{name}.restoring-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let built = build(archive, &staging, &info, storage);
    let placed = built.and_then(|()| {
        // An empty target directory is replaced (rename(2) replaces an empty directory).
        std::fs::rename(&staging, data_dir)
            .map_err(io_error(format!("moving the restored data to {}", data_dir.display())))
    });
    if placed.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    placed.map(|()| info)
}

/// Writes the entries of a checked archive into a new database in `dir`, checking the archive
/// again on the way (it could have changed since).
fn build(archive: &Path, dir: &Path, expected: &ArchiveInfo, storage: &StorageConfig) -> Result<(), RestoreError> {
    let mut reader = ArchiveReader::open(archive)?;
    let mut failure = None;
    let loaded = {
        let mut entries = std::iter::from_fn(|| match reader.next_entry() {
            Ok(entry) => entry.map(Ok),
            Err(err) => {
                failure = Some(err);
                Some(Err(StoreError::Closed))
            }
        });
        Backend::load_snapshot(dir, storage, &mut entries)
    };
    if let Some(err) = failure {
        return Err(err);
    }
    loaded.map_err(RestoreError::Store)?;
    let info = reader.finish()?;
    if info != *expected {
        return Err(RestoreError::Damaged {
            path: archive.to_owned(),
            reason: "it changed while being restored".into(),
        });
    }
    Ok(())
}

/// Reads an archive entry by entry, hashing as it goes.
struct ArchiveReader {
    path: PathBuf,
    input: BufReader<File>,
    hasher: Sha256,
    part: Option<String>,
    entries: u64,
    header: (u32, u32, DateTime<Utc>),
    /// The entry count of the `Z` record, once read.
    end: Option<u64>,
}

impl ArchiveReader {
    fn open(path: &Path) -> Result<ArchiveReader, RestoreError> {
        let file = File::open(path)
            .map_err(|source| RestoreError::Io { context: format!("opening {}", path.display()), source })?;
        let mut reader = ArchiveReader {
            path: path.to_owned(),
            input: BufReader::with_capacity(256 * 1024, file),
            hasher: Sha256::new(),
            part: None,
            entries: 0,
            header: (0, 0, DateTime::<Utc>::UNIX_EPOCH),
            end: None,
        };
        let mut magic = [0u8; MAGIC.len()];
        match reader.input.read_exact(&mut magic) {
            Ok(()) if magic == *MAGIC => {}
            Ok(()) => return Err(RestoreError::Foreign { path: path.to_owned() }),
            Err(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
                return Err(RestoreError::Foreign { path: path.to_owned() })
            }
            Err(source) => return Err(RestoreError::Io { context: format!("reading {}", path.display()), source }),
        }
        reader.hasher.update(magic);
        let archive_format = reader.u32()?;
        if archive_format > ARCHIVE_FORMAT {
            return Err(reader.newer("archive", archive_format, ARCHIVE_FORMAT));
        }
        let storage_format = reader.u32()?;
        if storage_format > Backend::storage_format() {
            return Err(reader.newer("storage", storage_format, Backend::storage_format()));
        }
        let micros = i64::from_be_bytes(reader.array()?);
        let created_at =
            DateTime::from_timestamp_micros(micros).ok_or_else(|| reader.damaged("a bad creation time"))?;
        reader.header = (archive_format, storage_format, created_at);
        Ok(reader)
    }

    /// The next (part, key, value); `None` after the last, once the `Z` record is read.
    fn next_entry(&mut self) -> Result<Option<SnapshotEntry>, RestoreError> {
        loop {
            if self.end.is_some() {
                return Ok(None);
            }
            let [tag] = self.array::<1>()?;
            match tag {
                b'T' => {
                    let length = u16::from_be_bytes(self.array()?);
                    let name = self.bytes(u64::from(length), u64::from(u16::MAX))?;
                    let name = String::from_utf8(name).map_err(|_| self.damaged("a part name is not UTF-8"))?;
                    self.part = Some(name);
                }
                b'K' => {
                    let part = self.part.clone().ok_or_else(|| self.damaged("an entry before any part"))?;
                    let key_length = self.u32()?;
                    let key = self.bytes(u64::from(key_length), MAX_KEY)?;
                    let value_length = self.u32()?;
                    let value = self.bytes(u64::from(value_length), MAX_VALUE)?;
                    self.entries += 1;
                    return Ok(Some((part, key, value)));
                }
                b'Z' => {
                    let count = u64::from_be_bytes(self.array()?);
                    self.end = Some(count);
                }
                _ => return Err(self.damaged("an unknown record")),
            }
        }
    }

    /// Checks the checksum and that nothing follows it.
    fn finish(mut self) -> Result<ArchiveInfo, RestoreError> {
        let Some(count) = self.end else { return Err(self.damaged("entries after the end")) };
        let computed = self.hasher.clone().finalize();
        let mut stored = [0u8; 32];
        self.read_raw(&mut stored)?;
        if stored[..] != computed[..] {
            return Err(self.damaged("its checksum does not match its content"));
        }
        let mut rest = [0u8; 1];
        match self.input.read(&mut rest) {
            Ok(0) => {}
            Ok(_) => return Err(self.damaged("bytes follow its checksum")),
            Err(source) => {
                return Err(RestoreError::Io { context: format!("reading {}", self.path.display()), source })
            }
        }
        if count != self.entries {
            return Err(self.damaged("its entry count does not match its entries"));
        }
        let (archive_format, storage_format, created_at) = self.header;
        Ok(ArchiveInfo { archive_format, storage_format, created_at, entries: count })
    }

    fn u32(&mut self) -> Result<u32, RestoreError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RestoreError> {
        let mut bytes = [0u8; N];
        self.read_raw(&mut bytes)?;
        self.hasher.update(bytes);
        Ok(bytes)
    }

    /// `length` bytes, read as they arrive (a damaged length can't make it allocate ahead).
    fn bytes(&mut self, length: u64, max: u64) -> Result<Vec<u8>, RestoreError> {
        if length > max {
            return Err(self.damaged("an entry's length is out of range"));
        }
        let mut bytes = Vec::new();
        let read = (&mut self.input)
            .take(length)
            .read_to_end(&mut bytes)
            .map_err(|source| RestoreError::Io { context: format!("reading {}", self.path.display()), source })?;
        if read as u64 != length {
            return Err(RestoreError::Truncated { path: self.path.clone() });
        }
        self.hasher.update(&bytes);
        Ok(bytes)
    }

    fn read_raw(&mut self, bytes: &mut [u8]) -> Result<(), RestoreError> {
        self.input.read_exact(bytes).map_err(|source| match source.kind() {
            io::ErrorKind::UnexpectedEof => RestoreError::Truncated { path: self.path.clone() },
            _ => RestoreError::Io { context: format!("reading {}", self.path.display()), source },
        })
    }

    fn damaged(&self, reason: &str) -> RestoreError {
        RestoreError::Damaged { path: self.path.clone(), reason: reason.to_owned() }
    }

    fn newer(&self, what: &'static str, found: u32, supported: u32) -> RestoreError {
        RestoreError::Newer { path: self.path.clone(), what, found, supported }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Actor, EngineConfig, FormName, SpaceName};
    use serde_json::json;

    fn cs() -> SpaceName {
        SpaceName::from_static("cs")
    }

    async fn engine_with_records(dir: &Path, count: usize) -> Engine {
        let engine = Engine::open(EngineConfig::new(dir)).expect("open");
        let actor = Actor("test".into());
        engine.create_space(&actor, &cs(), None).await.expect("space");
        let form =
            json!({"schema": {"type": "object", "properties": {"name": {"type": "string"}}}, "indexes": ["name"]});
        engine.put_form(&actor, &cs(), &FormName::from_static("account"), &form, false).await.expect("form");
        for n in 0..count {
            engine
                .create_record(
                    &actor,
                    &crate::Access::unrestricted(),
                    &cs(),
                    &FormName::from_static("account"),
                    json!({"name": format!("a{n}")}),
                )
                .await
                .expect("record");
        }
        engine
    }

    #[tokio::test]
    async fn a_backup_restores_into_an_equal_database() {
        let temp = tempfile::tempdir().expect("temp");
        let engine = engine_with_records(&temp.path().join("source"), 25).await;
        let archive = temp.path().join("backup.tend");
        let summary = engine.backup(File::create(&archive).expect("create")).expect("backup");
        assert_eq!(summary.bytes, std::fs::metadata(&archive).expect("size").len());
        let info = restore(&archive, &temp.path().join("restored"), &StorageConfig::default()).expect("restore");
        assert_eq!(info.entries, summary.entries);
        let restored = Engine::open(EngineConfig::new(temp.path().join("restored"))).expect("open restored");
        let query = crate::ListQuery { filter: Some("name = \"a7\"".into()), ..Default::default() };
        assert_eq!(
            restored
                .list_records(&crate::Access::unrestricted(), &cs(), &FormName::from_static("account"), &query)
                .expect("list")
                .items
                .len(),
            1
        );
        assert_eq!(restored.last_event_seq(), engine.last_event_seq());
    }

    #[tokio::test]
    async fn damaged_truncated_and_foreign_files_are_refused() {
        let temp = tempfile::tempdir().expect("temp");
        let engine = engine_with_records(&temp.path().join("source"), 3).await;
        let archive = temp.path().join("backup.tend");
        engine.backup(File::create(&archive).expect("create")).expect("backup");
        let bytes = std::fs::read(&archive).expect("read");
        let target = temp.path().join("target");
        let refused = |content: &[u8]| {
            let path = temp.path().join("bad.tend");
            std::fs::write(&path, content).expect("write");
            let err = restore(&path, &target, &StorageConfig::default()).expect_err("refused");
            assert!(!target.exists(), "nothing written for {err}");
            err
        };
        let mut flipped = bytes.clone();
        let middle = flipped.len() / 2;
        flipped[middle] ^= 0x20;
        assert!(matches!(refused(&flipped), RestoreError::Damaged { .. } | RestoreError::Truncated { .. }));
        assert!(matches!(refused(&bytes[..bytes.len() - 10]), RestoreError::Truncated { .. }));
        assert!(matches!(refused(b"name,health\nacme,80\n"), RestoreError::Foreign { .. }));
        let mut newer = bytes.clone();
        newer[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&(ARCHIVE_FORMAT + 1).to_be_bytes());
        assert!(matches!(refused(&newer), RestoreError::Newer { what: "archive", .. }));
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(matches!(refused(&extra), RestoreError::Damaged { .. }));
    }

    #[tokio::test]
    async fn a_non_empty_target_is_refused() {
        let temp = tempfile::tempdir().expect("temp");
        let engine = engine_with_records(&temp.path().join("source"), 1).await;
        let archive = temp.path().join("backup.tend");
        engine.backup(File::create(&archive).expect("create")).expect("backup");
        let target = temp.path().join("target");
        std::fs::create_dir(&target).expect("mkdir");
        std::fs::write(target.join("keep"), b"x").expect("write");
        assert!(matches!(restore(&archive, &target, &StorageConfig::default()), Err(RestoreError::NotEmpty { .. })));
        assert_eq!(std::fs::read(target.join("keep")).expect("kept"), b"x");
        // An empty directory is fine.
        let empty = temp.path().join("empty");
        std::fs::create_dir(&empty).expect("mkdir");
        restore(&archive, &empty, &StorageConfig::default()).expect("restore into an empty dir");
    }
}
