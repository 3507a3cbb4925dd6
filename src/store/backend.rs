//! Where an archive's bytes live, behind one seam: a folder on this machine
//! ([`Folder`]) or, with the `cloud` feature, keys under a bucket prefix
//! (`remote::Remote`). [`super::Archive`] picks one when it opens and
//! calls it for every object and ref; nothing else in the crate sees it.
//!
//! A backend moves bytes under keys, the paths of archive/FORMAT.md below the
//! archive's root (`objects/sha256/ab/HEX`, `refs/posts/…`), which the archive
//! computes: a backend knows no record, no ref name and no digest but the one it
//! re-hashes for `verify`. It must never overwrite an object or a ref, and never
//! make an object visible under its key before it is whole and durable.

use crate::digest::{Digest, Hasher};
use crate::error::{Error, IoContext, Result};
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;

/// Where objects live, below the root.
pub(crate) const OBJECTS: &str = "objects/sha256";

/// The operations an archive needs from the place it is kept.
pub(crate) trait Backend: Send + Sync + std::fmt::Debug {
    /// The archive as the user named it: the folder, or the bucket URL.
    fn location(&self) -> String;

    /// Where `key` lives, to name it in messages (a path, or a URL).
    fn display(&self, key: &str) -> PathBuf;

    /// Whether every request waits on the network (then more run at once).
    fn is_remote(&self) -> bool;

    /// The size of `key`, or `None` when there is no such key.
    fn size(&self, key: &str) -> Result<Option<u64>>;

    /// Whether the object `key` is present (a check that fails says no).
    fn contains(&self, key: &str) -> bool;

    /// Publishes a written temp file, already hashed, as the object `key`;
    /// an object already there is kept (it holds the same bytes). A folder
    /// makes the file durable (fsync) before it takes its final name; a
    /// bucket uploads it.
    fn publish(&self, key: &str, tmp: NamedTempFile) -> Result<()>;

    /// Publishes many temp files at once (see [`Backend::publish`]); a folder
    /// makes them durable with one file-system sync.
    fn publish_all(&self, files: Vec<(String, NamedTempFile)>) -> Result<()> {
        for (key, tmp) in files {
            self.publish(&key, tmp)?;
        }
        Ok(())
    }

    /// A file to stream the object `key` from; a bucket's object is first
    /// fetched into an unnamed file in `staging`, gone when the file is.
    fn open(&self, key: &str, staging: &Path) -> Result<File>;

    /// The bytes of `key`, unverified: at most `max + 1` of them (a caller
    /// that gets more than `max` knows it is too large), or a `TooLarge` error.
    fn read(&self, key: &str, max: u64) -> Result<Vec<u8>>;

    /// [`Backend::read`] for many keys, in the order given, one result each:
    /// on all cores, or with several requests in flight.
    fn read_many(&self, keys: &[String], max: u64) -> Vec<Result<Vec<u8>>>;

    /// Re-hashes the object `key` where it lives; returns what its bytes hash
    /// to and how many there are.
    fn hash(&self, key: &str) -> Result<(Digest, u64)>;

    /// Every key under [`OBJECTS`], in name order, with where it lives. No
    /// object is opened.
    fn list_objects(&self) -> Result<Vec<(PathBuf, String)>>;

    /// Creates the small key `key` holding `bytes` unless it exists; returns
    /// whether this call created it. Never replaces a key.
    fn create(&self, key: &str, bytes: &[u8]) -> Result<bool>;

    /// Every key below `prefix` (a folder of the layout), in name order;
    /// none when there is no such folder. Names starting with `.` (an
    /// editor's or a copier's leftovers) are skipped. Nothing is read.
    fn keys_under(&self, prefix: &str) -> Result<Vec<String>>;
}

/// An archive in a folder: keys are relative paths below it.
#[derive(Debug)]
pub(crate) struct Folder {
    root: PathBuf,
}

impl Folder {
    /// The archive in the folder `root` (which must hold `tmp/`).
    pub(crate) fn new(root: PathBuf) -> Folder {
        Folder { root }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }
}

impl Folder {
    /// Moves a flushed temp file to `key` unless it exists (written once: the
    /// temp file is then removed on drop); returns the folder to sync when it
    /// moved.
    fn persist(&self, key: &str, tmp: NamedTempFile) -> Result<Option<PathBuf>> {
        let dest = self.path(key);
        if dest.is_file() {
            return Ok(None);
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        ensure_dir(&dir)?;
        match tmp.persist_noclobber(&dest) {
            Ok(_) => Ok(Some(dir)),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(Error::Io {
                path: dest,
                source: e.error,
            }),
        }
    }
}

impl Backend for Folder {
    fn location(&self) -> String {
        self.root.display().to_string()
    }

    fn display(&self, key: &str) -> PathBuf {
        self.path(key)
    }

    fn is_remote(&self) -> bool {
        false
    }

    fn size(&self, key: &str) -> Result<Option<u64>> {
        let path = self.path(key);
        match fs::metadata(&path) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io { path, source: e }),
        }
    }

    fn contains(&self, key: &str) -> bool {
        self.path(key).is_file()
    }

    fn publish(&self, key: &str, tmp: NamedTempFile) -> Result<()> {
        if self.contains(key) {
            return Ok(()); // written once; the temp file is removed on drop
        }
        tmp.as_file().sync_all().with_path(tmp.path())?;
        match self.persist(key, tmp)? {
            Some(dir) => sync_dir(&dir),
            None => Ok(()),
        }
    }

    fn publish_all(&self, files: Vec<(String, NamedTempFile)>) -> Result<()> {
        sync_all_files(&files)?;
        let mut dirs = std::collections::BTreeSet::new();
        for (key, tmp) in files {
            dirs.extend(self.persist(&key, tmp)?);
        }
        dirs.iter().try_for_each(|dir| sync_dir(dir))
    }

    fn open(&self, key: &str, _staging: &Path) -> Result<File> {
        let path = self.path(key);
        File::open(&path).with_path(&path)
    }

    fn read(&self, key: &str, max: u64) -> Result<Vec<u8>> {
        let path = self.path(key);
        let file = File::open(&path).with_path(&path)?;
        let mut bytes = Vec::new();
        file.take(max.saturating_add(1))
            .read_to_end(&mut bytes)
            .with_path(&path)?;
        Ok(bytes)
    }

    fn read_many(&self, keys: &[String], max: u64) -> Vec<Result<Vec<u8>>> {
        use rayon::prelude::*;
        keys.par_iter().map(|k| self.read(k, max)).collect()
    }

    fn hash(&self, key: &str) -> Result<(Digest, u64)> {
        hash_file(&self.path(key))
    }

    fn list_objects(&self) -> Result<Vec<(PathBuf, String)>> {
        let base = self.path(OBJECTS);
        let mut out = Vec::new();
        if !base.exists() {
            return Ok(out);
        }
        for entry in walkdir::WalkDir::new(&base)
            .min_depth(2)
            .max_depth(2)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|e| walk_error(&base, e))?;
            if !entry.file_type().is_file() {
                continue;
            }
            let parent = entry
                .path()
                .parent()
                .and_then(Path::file_name)
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let key = format!("{OBJECTS}/{parent}/{}", entry.file_name().to_string_lossy());
            out.push((entry.path().to_path_buf(), key));
        }
        Ok(out)
    }

    fn create(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        let path = self.path(key);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        ensure_dir(&dir)?;
        if path.exists() {
            return Ok(false);
        }
        match write_durably(&self.tmp_dir(), &path, bytes, false, super::mode::IMMUTABLE) {
            Ok(()) => Ok(true),
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    fn keys_under(&self, prefix: &str) -> Result<Vec<String>> {
        let base = self.path(prefix);
        let mut out = Vec::new();
        if !base.exists() {
            return Ok(out);
        }
        let walk = walkdir::WalkDir::new(&base)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
        for entry in walk {
            let entry = entry.map_err(|e| walk_error(&base, e))?;
            if entry.file_type().is_file() {
                let rel = entry
                    .path()
                    .strip_prefix(&self.root)
                    .unwrap_or(entry.path());
                let parts: Vec<_> = rel.iter().map(|s| s.to_string_lossy()).collect();
                out.push(parts.join("/"));
            }
        }
        Ok(out)
    }
}

fn walk_error(base: &Path, e: walkdir::Error) -> Error {
    Error::Io {
        path: base.to_path_buf(),
        source: e
            .into_io_error()
            .unwrap_or_else(|| io::Error::other("walk")),
    }
}

#[cfg(target_os = "linux")]
fn sync_all_files(pending: &[(String, NamedTempFile)]) -> Result<()> {
    use std::os::fd::AsRawFd;
    let Some((_, first)) = pending.first() else {
        return Ok(());
    };
    // SAFETY: syncfs takes a valid open file descriptor, which `first` holds
    // for the duration of the call; it reads no memory of ours.
    let rc = unsafe { libc::syncfs(first.as_file().as_raw_fd()) };
    if rc == 0 {
        Ok(())
    } else {
        Err(Error::Io {
            path: first.path().to_path_buf(),
            source: io::Error::last_os_error(),
        })
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_all_files(pending: &[(String, NamedTempFile)]) -> Result<()> {
    for (_, tmp) in pending {
        tmp.as_file().sync_all().with_path(tmp.path())?;
    }
    Ok(())
}

/// Creates `dir` (and makes its entry durable) if it is missing.
pub(crate) fn ensure_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::create_dir_all(dir).with_path(dir)?;
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

/// Makes a directory's entries durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|f| f.sync_all()).with_path(dir)
}

/// Writes a small file durably under its final name via `tmp_dir`, created
/// with `mode` (less the umask), refusing to replace an existing file unless
/// `replace`.
pub(crate) fn write_durably(
    tmp_dir: &Path,
    dest: &Path,
    bytes: &[u8],
    replace: bool,
    mode: u32,
) -> Result<()> {
    let mut tmp = super::mode::temp_file(tmp_dir, ".ref-", mode).with_path(tmp_dir)?;
    tmp.write_all(bytes).with_path(tmp.path())?;
    tmp.as_file().sync_all().with_path(tmp.path())?;
    let result = if replace {
        tmp.persist(dest).map(|_| ())
    } else {
        tmp.persist_noclobber(dest).map(|_| ())
    };
    result.map_err(|e| Error::Io {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    sync_dir(dest.parent().unwrap_or(tmp_dir))
}

/// Re-hashes one file, reading through a per-thread buffer (no allocation per
/// object: archives hold many small files).
fn hash_file(path: &Path) -> Result<(Digest, u64)> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 1 << 20]);
    }
    let mut f = std::fs::File::open(path).with_path(path)?;
    let mut hasher = Hasher::new();
    let mut total = 0;
    BUF.with_borrow_mut(|buf| {
        loop {
            let n = f.read(buf).with_path(path)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        Ok::<_, Error>(())
    })?;
    Ok((hasher.finish(), total))
}
