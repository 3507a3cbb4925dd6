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
    /// an object already there is kept when it is intact (a folder re-hashes
    /// it, a bucket compares its size and, where the ETag is the bytes' MD5,
    /// its ETag) and replaced atomically when it is not,
    /// so the next writer of the good bytes heals a corrupt object. A folder
    /// makes the file durable (fsync) before it takes its final name; a
    /// bucket uploads it.
    fn publish(&self, key: &str, tmp: NamedTempFile) -> Result<()>;

    /// Publishes a temp file, already hashed, as the object `key` even when
    /// a file of the same size is there (`verify --repair` restoring an
    /// object it found corrupt). Atomic: a reader sees the old or the new.
    fn replace(&self, key: &str, tmp: NamedTempFile) -> Result<()>;

    /// Whether the object `key` is there, holds `size` bytes and (in a
    /// folder, where that is cheap) hashes to its name.
    fn holds(&self, key: &str, size: u64) -> bool;

    /// What lies in the archive's folders that is not an object, a ref or
    /// their folders (symlinks, stray files and folders, FIFOs), by path;
    /// a bucket has none.
    fn oddities(&self) -> Result<Vec<Oddity>> {
        Ok(Vec::new())
    }

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

/// Something in an archive's folders that embarc did not put there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Oddity {
    /// A symlink (embarc never makes one, and never follows one it finds).
    Symlink(PathBuf),
    /// A regular file where none belongs (a name that is not a digest, a
    /// file beside the fan-out folders).
    StrayFile(PathBuf),
    /// A folder where none belongs (below a fan-out folder, or misnamed).
    StrayFolder(PathBuf),
    /// A FIFO, socket or device file, with which of them.
    Special(PathBuf, &'static str),
}

/// Whether the archive's own folders (`tmp/`, `objects/`, `refs/`, fan-out
/// folders) may be symlinks: only when `EMBARC_ALLOW_SYMLINKS=1` says the
/// layout is deliberate. Objects and refs are never read through a link.
pub(crate) fn symlinks_allowed() -> bool {
    std::env::var_os("EMBARC_ALLOW_SYMLINKS").is_some_and(|v| v == "1")
}

/// The error for a symlink met inside the archive: named, with what to do.
pub(crate) fn symlink_error(path: &Path) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: io::Error::other(
            "is a symlink inside the archive, which embarc does not write, clean or read through: replace it with a real folder (or set EMBARC_ALLOW_SYMLINKS=1 if the layout is deliberate)",
        ),
    }
}

/// Refuses a symlink at any folder from below `root` down to `dir`, unless
/// [`symlinks_allowed`]. Missing folders pass (they are made next, as
/// real folders).
pub(crate) fn check_no_symlink(root: &Path, dir: &Path) -> Result<()> {
    if symlinks_allowed() {
        return Ok(());
    }
    let Ok(rel) = dir.strip_prefix(root) else {
        return Ok(());
    };
    let mut path = root.to_path_buf();
    for part in rel.components() {
        path.push(part);
        match fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => return Err(symlink_error(&path)),
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(())
}

/// Opens an object or ref for reading without following a symlink in its
/// place: a link there is named as one (and `verify` lists it).
pub(crate) fn open_file(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::ELOOP) {
                Error::Io {
                    path: path.to_path_buf(),
                    source: io::Error::other(
                        "is a symlink, not a file embarc wrote (never read through); run `embarc verify`, then `embarc verify --repair`",
                    ),
                }
            } else {
                Error::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })
}

/// An I/O error with a full disk or a read-only file system named as such,
/// and what to do; other errors unchanged.
pub(crate) fn named(e: Error) -> Error {
    match e {
        Error::Io { path, source } => {
            // The kind too: a temp file's errors come wrapped, without the
            // OS error number.
            let full = matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
                || source.kind() == io::ErrorKind::StorageFull;
            let read_only = source.raw_os_error() == Some(libc::EROFS)
                || source.kind() == io::ErrorKind::ReadOnlyFilesystem;
            let said = if full {
                Some((
                    io::ErrorKind::StorageFull,
                    "disk full (ENOSPC); free space and run again",
                ))
            } else if read_only {
                Some((
                    io::ErrorKind::ReadOnlyFilesystem,
                    "read-only file system (EROFS); remount it writable or pass another --archive",
                ))
            } else {
                None
            };
            match said {
                Some((kind, text)) => Error::Io {
                    path,
                    source: io::Error::new(kind, text),
                },
                None => Error::Io { path, source },
            }
        }
        e => e,
    }
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
    /// Makes a temp file durable and moves it to `key` (see [`Folder::persist`]).
    fn put_file(&self, key: &str, tmp: NamedTempFile, force: bool) -> Result<()> {
        let size = tmp.as_file().metadata().map_or(u64::MAX, |m| m.len());
        if !force && self.holds(key, size) {
            return Ok(()); // written once; the temp file is removed on drop
        }
        tmp.as_file()
            .sync_all()
            .with_path(tmp.path())
            .map_err(named)?;
        match self.persist(key, tmp, true)? {
            Some(dir) => sync_dir(&dir),
            None => Ok(()),
        }
    }

    /// Moves a flushed temp file to `key` unless an intact object is there
    /// (written once: the temp file is then removed on drop); a corrupt one,
    /// or a symlink in its place, is replaced by the rename (atomic: readers
    /// see the old file or the new). Returns the folder to sync when it moved.
    fn persist(&self, key: &str, tmp: NamedTempFile, force: bool) -> Result<Option<PathBuf>> {
        let dest = self.path(key);
        let size = tmp.as_file().metadata().map_or(u64::MAX, |m| m.len());
        if !force && self.holds(key, size) {
            return Ok(None);
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        check_no_symlink(&self.root, &dir)?;
        ensure_dir(&dir)?;
        match tmp.persist(&dest) {
            Ok(_) => Ok(Some(dir)),
            Err(e) => Err(named(Error::Io {
                path: dest,
                source: e.error,
            })),
        }
    }

    /// Walks `base` (a folder of the layout) without following links,
    /// calling `judge` with each entry's depth below `base`, name and type
    /// (a folder returns whether to look inside).
    fn walk_odd(
        &self,
        base: &Path,
        out: &mut Vec<Oddity>,
        judge: &dyn Fn(usize, &str, &fs::FileType, &Path) -> Option<Oddity>,
    ) -> Result<()> {
        let Ok(meta) = fs::symlink_metadata(base) else {
            return Ok(());
        };
        if meta.file_type().is_symlink() {
            out.push(Oddity::Symlink(base.to_path_buf()));
            return Ok(());
        }
        let walk = walkdir::WalkDir::new(base)
            .min_depth(1)
            .follow_links(false)
            .follow_root_links(false)
            .sort_by_file_name();
        for entry in walk {
            let entry = entry.map_err(|e| walk_error(base, e))?;
            let name = entry.file_name().to_string_lossy();
            if let Some(o) = judge(entry.depth(), &name, &entry.file_type(), entry.path()) {
                out.push(o);
            }
        }
        Ok(())
    }
}

/// A FIFO, socket or device at `path`, named, else `None`.
fn special(path: &Path, t: &fs::FileType) -> Option<Oddity> {
    use std::os::unix::fs::FileTypeExt;
    let what = if t.is_fifo() {
        "FIFO"
    } else if t.is_socket() {
        "socket"
    } else if t.is_block_device() || t.is_char_device() {
        "device"
    } else {
        return None;
    };
    Some(Oddity::Special(path.to_path_buf(), what))
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
        fs::symlink_metadata(self.path(key)).is_ok_and(|m| m.is_file())
    }

    fn publish(&self, key: &str, tmp: NamedTempFile) -> Result<()> {
        self.put_file(key, tmp, false)
    }

    fn replace(&self, key: &str, tmp: NamedTempFile) -> Result<()> {
        self.put_file(key, tmp, true)
    }

    fn holds(&self, key: &str, size: u64) -> bool {
        let path = self.path(key);
        if !fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == size) {
            return false;
        }
        let name = key.rsplit('/').next().unwrap_or_default();
        match (Digest::parse(name), hash_file(&path)) {
            (Some(claimed), Ok((actual, _))) => claimed == actual,
            // A key that is not a digest: present and the right size.
            (None, Ok(_)) => true,
            (_, Err(_)) => false,
        }
    }

    fn publish_all(&self, files: Vec<(String, NamedTempFile)>) -> Result<()> {
        sync_all_files(&files).map_err(named)?;
        let mut dirs = std::collections::BTreeSet::new();
        for (key, tmp) in files {
            dirs.extend(self.persist(&key, tmp, false)?);
        }
        dirs.iter().try_for_each(|dir| sync_dir(dir))
    }

    fn oddities(&self) -> Result<Vec<Oddity>> {
        let mut out = Vec::new();
        for top in ["tmp", "objects", "refs"] {
            let path = self.path(top);
            if fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
                out.push(Oddity::Symlink(path));
            }
        }
        // objects/: only `sha256/`, two-hex-digit folders, files named by digest.
        self.walk_odd(&self.path("objects"), &mut out, &|depth, name, t, path| {
            if t.is_symlink() {
                return Some(Oddity::Symlink(path.to_path_buf()));
            }
            if let Some(o) = special(path, t) {
                return Some(o);
            }
            let hex2 = name.len() == 2
                && name
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
            match (depth, t.is_dir()) {
                (1, true) if name == "sha256" => None,
                (2, true)
                    if hex2
                        && path
                            .parent()
                            .and_then(Path::file_name)
                            .is_some_and(|p| p == "sha256") =>
                {
                    None
                }
                // A file at depth 3 is an object; `verify` checks its name and bytes.
                (3, false) => None,
                (_, true) => Some(Oddity::StrayFolder(path.to_path_buf())),
                (_, false) => Some(Oddity::StrayFile(path.to_path_buf())),
            }
        })?;
        // Stray folders below them are reported once, not each file inside.
        let folders: Vec<PathBuf> = out
            .iter()
            .filter_map(|o| match o {
                Oddity::StrayFolder(p) | Oddity::Symlink(p) => Some(p.clone()),
                _ => None,
            })
            .collect();
        out.retain(|o| {
            let p = match o {
                Oddity::Symlink(p) | Oddity::StrayFile(p) | Oddity::StrayFolder(p) => p,
                Oddity::Special(p, _) => p,
            };
            !folders.iter().any(|f| p != f && p.starts_with(f))
        });
        // refs/: folders and ref files only.
        self.walk_odd(&self.path("refs"), &mut out, &|_, _, t, path| {
            if t.is_symlink() {
                Some(Oddity::Symlink(path.to_path_buf()))
            } else {
                special(path, t)
            }
        })?;
        Ok(out)
    }

    fn open(&self, key: &str, _staging: &Path) -> Result<File> {
        open_file(&self.path(key))
    }

    fn read(&self, key: &str, max: u64) -> Result<Vec<u8>> {
        let path = self.path(key);
        let file = open_file(&path)?;
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
            .follow_root_links(symlinks_allowed())
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
        check_no_symlink(&self.root, &dir)?;
        ensure_dir(&dir)?;
        if fs::symlink_metadata(&path).is_ok() {
            return Ok(false);
        }
        match write_durably(&self.tmp_dir(), &path, bytes, false, super::mode::IMMUTABLE) {
            Ok(()) => Ok(true),
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
                Ok(false)
            }
            Err(e) => Err(named(e)),
        }
    }

    fn keys_under(&self, prefix: &str) -> Result<Vec<String>> {
        let base = self.path(prefix);
        let mut out = Vec::new();
        if !base.exists() {
            return Ok(out);
        }
        let walk = walkdir::WalkDir::new(&base)
            .follow_root_links(symlinks_allowed())
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
    let mut tmp = super::mode::temp_file(tmp_dir, ".ref-", mode)
        .with_path(tmp_dir)
        .map_err(named)?;
    tmp.write_all(bytes).with_path(tmp.path()).map_err(named)?;
    tmp.as_file()
        .sync_all()
        .with_path(tmp.path())
        .map_err(named)?;
    let result = if replace {
        tmp.persist(dest).map(|_| ())
    } else {
        tmp.persist_noclobber(dest).map(|_| ())
    };
    result.map_err(|e| {
        named(Error::Io {
            path: dest.to_path_buf(),
            source: e.error,
        })
    })?;
    sync_dir(dest.parent().unwrap_or(tmp_dir))
}

/// Re-hashes one file, reading through a per-thread buffer (no allocation per
/// object: archives hold many small files).
fn hash_file(path: &Path) -> Result<(Digest, u64)> {
    thread_local! {
        static BUF: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(vec![0u8; 1 << 20]);
    }
    let mut f = open_file(path)?;
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
