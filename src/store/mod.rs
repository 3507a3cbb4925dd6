//! store: the content-addressed archive (archive/FORMAT.md). Objects are files
//! named by the SHA-256 of their bytes, written once through `tmp/` (hashed
//! while written, flushed, then renamed); refs are small immutable files created
//! with a no-overwrite link after their objects are durable; `index.sqlite` is a
//! rebuildable cache.
//!
//! Only this module knows the layout: where an object or a ref lives and how a
//! ref is named. The rest of the crate asks in types (a post's captures, the
//! articles, the short links). A folder and a bucket differ only behind one
//! seam (`backend`), chosen once when the archive opens.
//!
//! This module must never leave a partial object under a final name, never
//! rewrite a ref, and never return unverified bytes from `read_object`.

mod backend;
pub mod index;
pub(crate) mod mode;
pub mod record;
#[cfg(feature = "cloud")]
mod remote;
pub mod repair;
pub mod verify;

pub use crate::digest;
pub use crate::digest::{Digest, Hasher};
use crate::error::{Error, IoContext, Result};
use backend::{Backend, Folder};
use record::{ArticleRecord, CaptureRecord, PostId, ShortLinkRecord};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tempfile::NamedTempFile;
use time::OffsetDateTime;

/// The marker file that says a folder is an embarc archive.
pub const MARKER: &str = "EMBARC-ARCHIVE";
const MARKER_TEXT: &str = "embarc archive format 1\n";
const FORMAT_MD: &str = include_str!("../../archive/FORMAT.md");
/// Files a folder may hold and still be turned into an archive.
const HARMLESS: &[&str] = &[".gitignore", "FORMAT.md", "README.md", ".DS_Store"];
/// Temp files older than this are garbage from a crashed writer.
pub const STALE_TMP: Duration = Duration::from_secs(3600);
const BUF: usize = 256 * 1024;
/// The largest JSON record read.
const MAX_RECORD: u64 = 64 * 1024 * 1024;
/// The largest ref read (it holds one line, `sha256:HEX`).
const MAX_REF: u64 = 4096;
/// Records parsed per round of [`Archive::read_json_each`]: enough to keep a
/// bucket's requests in flight, few enough that raw bytes do not pile up.
const READ_ROUND: usize = 4096;

/// An archive: a folder, or keys under a prefix of a bucket (`s3://…`,
/// `gs://…`, `az://…`) with the same layout.
#[derive(Debug, Clone)]
pub struct Archive {
    /// The folder; for a bucket, the local staging folder (`tmp/`, index).
    root: PathBuf,
    index: Option<PathBuf>,
    /// Where objects and refs are kept: the folder, or the bucket.
    backend: Arc<dyn Backend>,
}

/// The URL schemes of the object stores an archive may live in.
const BUCKET_SCHEMES: &[&str] = &["s3", "s3a", "gs", "az", "abfs", "abfss", "azure"];

/// Whether an `--archive` value names object storage rather than a folder.
pub fn is_remote_location(location: &Path) -> bool {
    url_scheme(location).is_some_and(|scheme| BUCKET_SCHEMES.contains(&scheme))
}

/// The scheme of a location written as a URL (`SCHEME://…`), if it is one.
fn url_scheme(location: &Path) -> Option<&str> {
    let (scheme, _) = location.to_str()?.split_once("://")?;
    let mut chars = scheme.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some(scheme)
}

/// Checks that a location can hold an archive: a folder, or a bucket URL of
/// a supported scheme. Any other URL (`ftp://x/y`) is refused rather than
/// taken for a folder named `ftp:`.
pub fn check_location(location: &Path) -> Result<()> {
    match url_scheme(location) {
        Some(scheme) if !BUCKET_SCHEMES.contains(&scheme) => Err(Error::UnsupportedLocation {
            location: location.display().to_string(),
        }),
        _ => Ok(()),
    }
}

/// The user's cache folder (`$XDG_CACHE_HOME`, `~/.cache`, else the temp dir).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir)
        .join("embarc")
}

impl Archive {
    fn local(root: PathBuf) -> Archive {
        Archive {
            backend: Arc::new(Folder::new(root.clone())),
            root,
            index: None,
        }
    }

    /// Opens (or, with `create`, makes) the archive under a bucket prefix. Its
    /// local staging folder and default index live in the cache folder, keyed
    /// by the URL.
    #[cfg(feature = "cloud")]
    fn open_remote(location: &Path, create: bool) -> Result<Archive> {
        let url = location.to_string_lossy().trim_end_matches('/').to_string();
        let r = remote::Remote::connect(&url)?;
        let marker = r.get(MARKER, 4096)?;
        if marker.is_none() {
            let empty = r.is_blank(&["FORMAT.md", MARKER])?;
            if !create && !empty {
                return Err(Error::Remote {
                    url,
                    reason: format!(
                        "holds other keys and no {MARKER} marker: not an embarc archive (an archive or an empty prefix is needed)"
                    ),
                });
            }
            if !create {
                return Err(Error::NoArchive {
                    path: location.to_path_buf(),
                });
            }
            if !empty {
                return Err(Error::NotAnArchive {
                    path: location.to_path_buf(),
                });
            }
            r.put_new("FORMAT.md", FORMAT_MD.as_bytes().to_vec())?;
            // The marker last: a half-made archive is not mistaken for one.
            r.put_new(MARKER, MARKER_TEXT.as_bytes().to_vec())?;
        }
        let root = cache_dir()
            .join("remote")
            .join(&Digest::of(url.as_bytes()).hex()[..16]);
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp).with_path(&tmp)?;
        let archive = Archive {
            root,
            index: None,
            backend: Arc::new(r),
        };
        archive.clean_tmp(STALE_TMP)?;
        Ok(archive)
    }

    #[cfg(not(feature = "cloud"))]
    fn open_remote(location: &Path, _create: bool) -> Result<Archive> {
        Err(Error::Remote {
            url: location.display().to_string(),
            reason: "this embarc was built without the `cloud` feature; rebuild with it (it is on by default)".into(),
        })
    }

    /// Opens an existing archive to read it (or to write into it), writing
    /// nothing: no `tmp/` is made and no marker, so this works on a read-only
    /// archive (a snapshot, a read-only mount, another user's). A missing or
    /// blank folder (or an empty bucket prefix) is [`Error::NoArchive`]; a
    /// folder with other content and no marker is [`Error::NotAnArchive`].
    pub fn open(root: impl Into<PathBuf>) -> Result<Archive> {
        let root = root.into();
        check_location(&root)?;
        if is_remote_location(&root) {
            return Self::open_remote(&root, false);
        }
        match fs::read_to_string(root.join(MARKER)) {
            Ok(_) => Ok(Archive::local(root)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if is_blank_folder(&root)? {
                    Err(Error::NoArchive { path: root })
                } else {
                    Err(Error::NotAnArchive { path: root })
                }
            }
            Err(e) => Err(Error::Io {
                path: root.join(MARKER),
                source: e,
            }),
        }
    }

    /// Opens the archive at `root`, creating it if the folder is missing or
    /// holds nothing but harmless files (`.gitignore`, `FORMAT.md`…). A folder
    /// with other content is refused: embarc never scribbles into a random folder.
    pub fn open_or_create(root: impl Into<PathBuf>) -> Result<Archive> {
        let root = root.into();
        check_location(&root)?;
        if is_remote_location(&root) {
            return Self::open_remote(&root, true);
        }
        // Several first writers may race here: every step below is safe to
        // repeat and to run side by side, and a folder holding only what a
        // creation makes (empty `objects/sha256/`, `refs/`, `tmp/`, a
        // `FORMAT.md`) is completed, whoever started it.
        if !root.join(MARKER).is_file() {
            if !is_blank_folder(&root)? && !root.join(MARKER).is_file() {
                return Err(Error::NotAnArchive { path: root });
            }
            for dir in ["objects/sha256", "refs", "tmp"] {
                backend::check_no_symlink(&root, &root.join(dir))?;
                fs::create_dir_all(root.join(dir))
                    .with_path(root.join(dir))
                    .map_err(backend::named)?;
            }
            let tmp = root.join("tmp");
            let format = root.join("FORMAT.md");
            // A FORMAT.md of the user's is kept; an empty one (a disk that
            // filled mid-creation) is written again, whole or not at all.
            if fs::metadata(&format).map_or(true, |m| m.len() == 0) {
                backend::write_durably(&tmp, &format, FORMAT_MD.as_bytes(), true, mode::SHARED)?;
            }
            // The marker last: a half-made archive is not mistaken for one.
            backend::write_durably(
                &tmp,
                &root.join(MARKER),
                MARKER_TEXT.as_bytes(),
                true,
                mode::SHARED,
            )?;
        }
        // tmp/ may be missing from a copy (git and some backups drop empty folders).
        let tmp = root.join("tmp");
        backend::check_no_symlink(&root, &tmp)?;
        fs::create_dir_all(&tmp)
            .with_path(&tmp)
            .map_err(backend::named)?;
        check_layout(&root)?;
        let archive = Archive::local(root);
        // A writer clears what crashed writers left in tmp/ long ago.
        archive.clean_tmp(STALE_TMP)?;
        Ok(archive)
    }

    /// Keeps the index at `path` instead of the default (`index.sqlite` in the
    /// archive's folder, or in the cache folder for a bucket).
    pub fn with_index(mut self, path: Option<PathBuf>) -> Archive {
        self.index = path;
        self
    }

    /// Where the index cache lives.
    pub fn index_path(&self) -> PathBuf {
        self.index
            .clone()
            .unwrap_or_else(|| self.root.join("index.sqlite"))
    }

    /// The archive's folder; for an archive in a bucket, its local staging
    /// folder (see [`Archive::location`] for what to show people).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The archive as the user named it: the folder, or the bucket URL.
    pub fn location(&self) -> String {
        self.backend.location()
    }

    /// How many objects to read at once: the cores for a folder, more for a
    /// bucket, where each read waits on the network.
    pub fn io_threads(&self) -> usize {
        if self.is_remote() {
            16
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// Whether the archive is in object storage.
    pub fn is_remote(&self) -> bool {
        self.backend.is_remote()
    }

    /// An object's path below the archive's root (`objects/sha256/ab/HEX`).
    pub fn object_rel(d: &Digest) -> String {
        let hex = d.hex();
        format!("{}/{}/{hex}", backend::OBJECTS, &hex[..2])
    }

    /// Where an object lives (for a bucket, its URL, to name it in messages).
    pub fn object_path(&self, d: &Digest) -> PathBuf {
        self.backend.display(&Self::object_rel(d))
    }

    /// An object's size.
    pub fn object_size(&self, d: &Digest) -> Result<u64> {
        let key = Self::object_rel(d);
        self.backend.size(&key)?.ok_or_else(|| Error::Io {
            path: self.backend.display(&key),
            source: io::Error::from(io::ErrorKind::NotFound),
        })
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Whether the object is present (not whether it is intact: see `verify`).
    pub fn contains(&self, d: &Digest) -> bool {
        self.backend.contains(&Self::object_rel(d))
    }

    /// Stores bytes durably; returns their digest.
    pub fn put_bytes(&self, bytes: &[u8]) -> Result<Digest> {
        Ok(self.put_reader(bytes)?.0)
    }

    /// Streams a reader into the archive, hashing as it writes; memory does not
    /// grow with the size. Returns the digest and the byte count.
    pub fn put_reader(&self, reader: impl Read) -> Result<(Digest, u64)> {
        let (tmp, digest, total) = self.spool(reader)?;
        self.publish(tmp, &digest)?;
        Ok((digest, total))
    }

    /// Copies `reader` into a temp file in `tmp/`, hashing as it writes.
    fn spool(&self, mut reader: impl Read) -> Result<(tempfile::NamedTempFile, Digest, u64)> {
        let tmp_dir = self.tmp_dir();
        let mut tmp = mode::temp_file(&tmp_dir, ".put-", mode::IMMUTABLE)
            .with_path(&tmp_dir)
            .map_err(backend::named)?;
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; BUF];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Io {
                        path: tmp.path().to_path_buf(),
                        source: e,
                    });
                }
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])
                .with_path(tmp.path())
                .map_err(backend::named)?;
            total += n as u64;
        }
        Ok((tmp, hasher.finish(), total))
    }

    /// Restores the object `expected` from `reader` (a copy in another
    /// archive, a re-fetch): the bytes are hashed as they are written to
    /// `tmp/`, and only bytes that hash to `expected` replace what is under
    /// its name, atomically, even a corrupt file of the same size. Returns
    /// what the bytes hashed to (the object was restored when it equals
    /// `expected`).
    pub fn restore(&self, expected: &Digest, reader: impl Read) -> Result<Digest> {
        let (tmp, actual, _) = self.spool(reader)?;
        if actual == *expected {
            // The backend makes it durable (a folder syncs in put_file).
            self.backend.replace(&Self::object_rel(expected), tmp)?;
        }
        Ok(actual)
    }

    /// Whether the object is present, `size` bytes long and, in a folder,
    /// hashes to its name (a bucket's is not downloaded to check: a
    /// download per check would cost more than the fetch it saves).
    pub fn is_intact(&self, d: &Digest, size: u64) -> bool {
        self.backend.holds(&Self::object_rel(d), size)
    }

    /// Streams an async reader (an HTTP body) into the archive while hashing.
    pub async fn put_stream<R: tokio::io::AsyncRead + Unpin>(
        &self,
        mut reader: R,
    ) -> Result<(Digest, u64)> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let tmp_dir = self.tmp_dir();
        let tmp = mode::temp_file(&tmp_dir, ".put-", mode::IMMUTABLE)
            .with_path(&tmp_dir)
            .map_err(backend::named)?;
        let (std_file, tmp_path) = tmp.into_parts();
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; BUF];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf).await.with_path(&*tmp_path)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n])
                .await
                .with_path(&*tmp_path)
                .map_err(backend::named)?;
            total += n as u64;
        }
        file.flush().await.with_path(&*tmp_path)?;
        let std_file = file.into_std().await;
        let digest = hasher.finish();
        let tmp = NamedTempFile::from_parts(std_file, tmp_path);
        let this = self.clone();
        tokio::task::spawn_blocking(move || this.publish(tmp, &digest))
            .await
            .map_err(|e| Error::Io {
                path: self.tmp_dir(),
                source: io::Error::other(e),
            })??;
        Ok((digest, total))
    }

    /// Publishes a flushed temp file under its object's name, unless an
    /// identical object is already there.
    fn publish(&self, tmp: NamedTempFile, digest: &Digest) -> Result<()> {
        self.backend.publish(&Self::object_rel(digest), tmp)
    }

    /// An object written piece by piece (an HTTP body as chunks arrive), hashed
    /// as it goes; nothing is visible until [`ObjectWriter::finish`].
    pub fn writer(&self) -> Result<ObjectWriter> {
        let dir = self.tmp_dir();
        let tmp = mode::temp_file(&dir, ".put-", mode::IMMUTABLE)
            .with_path(&dir)
            .map_err(backend::named)?;
        Ok(ObjectWriter {
            archive: self.clone(),
            tmp,
            hasher: Hasher::new(),
            bytes: 0,
            force: false,
        })
    }

    /// Response bodies that replace the objects they hash to, even a file of
    /// the same size already there: what `verify --repair` fetches into, so
    /// a re-fetched file heals a corrupt object in a bucket too.
    pub fn restoring(&self) -> Restoring {
        Restoring(self.clone())
    }

    /// A batch of small objects made durable together with one file-system
    /// sync instead of one per file. Nothing is published before `commit`.
    pub fn batch(&self) -> Batch<'_> {
        Batch {
            archive: self,
            pending: Vec::new(),
        }
    }

    /// Opens an object for streaming; the reader fails at the end if the bytes
    /// do not hash to the name, so callers must not use the data before EOF.
    pub fn open_object(&self, d: &Digest) -> Result<VerifyingReader> {
        let file = self
            .backend
            .open(&Self::object_rel(d), &self.tmp_dir())
            .map_err(lost)?;
        Ok(VerifyingReader {
            file,
            hasher: Some(Hasher::new()),
            expected: *d,
            path: self.object_path(d),
        })
    }

    /// Opens an object to be read in pieces (a server answering Range
    /// requests): the open file, rewound, once every byte was hashed and
    /// matched its name, with its metadata. `checked` is asked first with
    /// the file's metadata: a caller that verified this very file before
    /// (same size, inode and modification time) answers `true` and the
    /// hashing is skipped. A mismatch is [`Error::Corrupt`] naming the object.
    pub fn open_object_verified(
        &self,
        d: &Digest,
        checked: impl FnOnce(&fs::Metadata) -> bool,
    ) -> Result<(File, fs::Metadata)> {
        use std::io::{Seek, SeekFrom};
        let path = self.object_path(d);
        let mut file = self
            .backend
            .open(&Self::object_rel(d), &self.tmp_dir())
            .map_err(lost)?;
        let meta = file.metadata().with_path(&path)?;
        if !checked(&meta) {
            let mut hasher = Hasher::new();
            let mut buf = vec![0u8; BUF];
            loop {
                let n = file.read(&mut buf).with_path(&path)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            let actual = hasher.finish();
            if actual != *d {
                return Err(Error::Corrupt {
                    path,
                    expected: *d,
                    actual,
                });
            }
            file.seek(SeekFrom::Start(0)).with_path(&path)?;
        }
        Ok((file, meta))
    }

    /// Reads a whole object (at most `max` bytes) and verifies it before
    /// returning anything.
    pub fn read_object(&self, d: &Digest, max: u64) -> Result<Vec<u8>> {
        let bytes = self.backend.read(&Self::object_rel(d), max).map_err(lost)?;
        Self::verified(self.object_path(d), d, bytes, max)
    }

    /// Reads many whole objects (each at most `max` bytes), with many requests
    /// in flight on a bucket ([`Archive::io_threads`] on a folder), each
    /// verified; results in the order of `ds`.
    pub fn read_objects(&self, ds: &[Digest], max: u64) -> Vec<Result<Vec<u8>>> {
        let mut out = Vec::with_capacity(ds.len());
        for round in ds.chunks(READ_ROUND) {
            let keys: Vec<String> = round.iter().map(Self::object_rel).collect();
            let read = self.backend.read_many(&keys, max);
            out.extend(read.into_iter().zip(round).map(|(bytes, d)| {
                Self::verified(self.object_path(d), d, bytes.map_err(lost)?, max)
            }));
        }
        out
    }

    /// `bytes` if they are at most `max` and hash to `d`.
    fn verified(path: PathBuf, d: &Digest, bytes: Vec<u8>, max: u64) -> Result<Vec<u8>> {
        if bytes.len() as u64 > max {
            return Err(Error::TooLarge {
                path,
                size: bytes.len() as u64,
                limit: max,
            });
        }
        let actual = Digest::of(&bytes);
        if actual != *d {
            return Err(Error::Corrupt {
                path,
                expected: *d,
                actual,
            });
        }
        Ok(bytes)
    }

    /// Reads and parses many JSON records (verified), in the order given: on
    /// all cores, or for a bucket with several requests in flight.
    pub fn read_jsons<T: serde::de::DeserializeOwned + Send>(
        &self,
        ds: &[Digest],
    ) -> Result<Vec<T>> {
        self.read_json_each(ds).into_iter().collect()
    }

    /// [`Archive::read_jsons`] with one result per record, so one bad record
    /// does not hide the others.
    pub fn read_json_each<T: serde::de::DeserializeOwned + Send>(
        &self,
        ds: &[Digest],
    ) -> Vec<Result<T>> {
        use rayon::prelude::*;
        let mut out = Vec::with_capacity(ds.len());
        for round in ds.chunks(READ_ROUND) {
            let keys: Vec<String> = round.iter().map(Self::object_rel).collect();
            let read = self.backend.read_many(&keys, MAX_RECORD);
            let parsed: Vec<Result<T>> = read
                .into_par_iter()
                .zip(round.par_iter())
                .map(|(bytes, d)| self.parse_record(d, bytes.map_err(lost)?))
                .collect();
            out.extend(parsed);
        }
        out
    }

    /// A record's bytes, verified, parsed.
    fn parse_record<T: serde::de::DeserializeOwned>(
        &self,
        d: &Digest,
        bytes: Vec<u8>,
    ) -> Result<T> {
        let bytes = Self::verified(self.object_path(d), d, bytes, MAX_RECORD)?;
        serde_json::from_slice(&bytes).map_err(|e| Error::BadRecord {
            path: self.object_path(d),
            reason: e.to_string(),
        })
    }

    /// Stores a JSON record as an object.
    pub fn put_json<T: serde::Serialize>(&self, record: &T) -> Result<Digest> {
        let bytes = serde_json::to_vec(record).map_err(|e| Error::Io {
            path: self.tmp_dir(),
            source: io::Error::other(e),
        })?;
        self.put_bytes(&bytes)
    }

    /// Reads and parses a JSON record object (verified).
    pub fn read_json<T: serde::de::DeserializeOwned>(&self, d: &Digest) -> Result<T> {
        let bytes = self
            .backend
            .read(&Self::object_rel(d), MAX_RECORD)
            .map_err(lost)?;
        self.parse_record(d, bytes)
    }

    /// Creates the ref `refs/SEGMENTS…` pointing at `target`. Returns `false`
    /// when it already exists (refs are never rewritten). Call only once the
    /// target and everything it refers to are stored.
    pub fn add_ref(&self, segments: &[&str], target: &Digest) -> Result<bool> {
        self.backend
            .create(&Self::ref_rel(segments), format!("{target}\n").as_bytes())
    }

    /// The key of the ref (or ref folder) `refs/SEGMENTS…`, each segment
    /// percent-encoded as archive/FORMAT.md says.
    fn ref_rel(segments: &[&str]) -> String {
        let mut rel = String::from("refs");
        for s in segments {
            rel.push('/');
            rel.push_str(&encode_segment(s));
        }
        rel
    }

    /// The target a ref's bytes name (one line, `sha256:HEX`).
    fn ref_target(&self, key: &str, text: &[u8]) -> Result<Digest> {
        Digest::parse(String::from_utf8_lossy(text).trim()).ok_or_else(|| Error::BadRecord {
            path: self.backend.display(key),
            reason: "holds no `sha256:HEX` line: restore the ref from a copy, or delete it (`embarc verify` lists every such ref)".into(),
        })
    }

    /// Every ref under `refs/PREFIX…`, as (decoded segments below `refs/`,
    /// target, or why the ref cannot be read), in name order. A low-level
    /// listing: prefer the typed ones ([`Archive::posts`],
    /// [`Archive::capture_digests`], [`Archive::articles`],
    /// [`Archive::short_links`]), which know the layout.
    ///
    /// Every ref is read (several at once): `verify` checks names against
    /// contents with it. Listings that trust names use [`Archive::named_refs`].
    pub(crate) fn list_refs(&self, prefix: &[&str]) -> Result<Vec<(Vec<String>, Result<Digest>)>> {
        let keys = self.backend.keys_under(&Self::ref_rel(prefix))?;
        let texts = self.backend.read_many(&keys, MAX_REF);
        Ok(keys
            .iter()
            .zip(texts)
            .map(|(key, text)| {
                let target = text.and_then(|t| self.ref_target(key, &t));
                (ref_segments(key), target)
            })
            .collect())
    }

    /// [`Archive::list_refs`] that reads only the refs whose name does not
    /// give their target: a capture or article ref is named `STAMP-HEX` after
    /// it, so a listing finds those without a request per ref. (Records read
    /// next are verified against the digest, and `verify` checks that every
    /// ref's name and content agree.) A ref that cannot be read (garbage in
    /// it) is left out; [`Archive::named_refs_checked`] lists those too.
    fn named_refs(&self, prefix: &[&str]) -> Result<Vec<(Vec<String>, Digest)>> {
        Ok(self.named_refs_checked(prefix)?.0)
    }

    /// [`Archive::named_refs`], and apart, the refs that cannot be read,
    /// each with why.
    #[allow(clippy::type_complexity)]
    fn named_refs_checked(
        &self,
        prefix: &[&str],
    ) -> Result<(Vec<(Vec<String>, Digest)>, Vec<(Vec<String>, Error)>)> {
        let keys = self.backend.keys_under(&Self::ref_rel(prefix))?;
        let named: Vec<Option<Digest>> = keys.iter().map(|k| digest_in_name(k)).collect();
        let unnamed: Vec<String> = keys
            .iter()
            .zip(&named)
            .filter(|(_, d)| d.is_none())
            .map(|(k, _)| k.clone())
            .collect();
        let mut texts = self.backend.read_many(&unnamed, MAX_REF).into_iter();
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for (key, digest) in keys.iter().zip(named) {
            let digest = match digest {
                Some(d) => Ok(d),
                None => texts
                    .next()
                    .unwrap_or_else(|| Ok(Vec::new()))
                    .and_then(|text| self.ref_target(key, &text)),
            };
            match digest {
                Ok(d) => good.push((ref_segments(key), d)),
                Err(e) => bad.push((ref_segments(key), e)),
            }
        }
        Ok((good, bad))
    }

    /// The target of the one ref at `segments`, if it exists.
    fn read_ref(&self, segments: &[&str]) -> Result<Option<Digest>> {
        let key = Self::ref_rel(segments);
        match self.backend.read(&key, MAX_REF) {
            Ok(text) => Ok(Some(self.ref_target(&key, &text)?)),
            Err(Error::Io { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores a capture record and its ref `refs/posts/PROVIDER/ID/STAMP-HEX`.
    /// The objects the record refers to must already be stored.
    pub fn put_capture(&self, record: &CaptureRecord) -> Result<Digest> {
        if let Some(missing) = record.objects().find(|d| !self.contains(d)) {
            return Err(Error::Missing {
                digest: missing,
                referrer: record.post.label(),
            });
        }
        let digest = self.put_json(record)?;
        let name = format!("{}-{}", stamp(record.captured_at), digest.hex());
        self.add_ref(
            &[
                "posts",
                record.post.provider.as_str(),
                &record.post.id,
                &name,
            ],
            &digest,
        )?;
        // Keep the cache current. The capture is stored once its ref is: an
        // index that cannot be updated now (busy, or being rebuilt by another
        // process) only lags, and `embarc reindex` rebuilds it from refs.
        if let Ok(index) = index::Index::open(self) {
            let _ = index.add(&digest, record);
        }
        Ok(digest)
    }

    /// Stores an article record and its ref `refs/articles/KEY/STAMP-HEX`, KEY
    /// being the SHA-256 of the article's name.
    pub fn put_article(&self, record: &ArticleRecord) -> Result<Digest> {
        let digest = self.put_json(record)?;
        let name = format!("{}-{}", stamp(record.archived_at), digest.hex());
        self.add_ref(&["articles", &article_key(&record.article), &name], &digest)?;
        Ok(digest)
    }

    /// Stores a short link's resolution under `refs/short/HOST/CODE` (the first
    /// resolution stays; returns the digest of the one in force).
    pub fn put_short_link(&self, record: &ShortLinkRecord) -> Result<Digest> {
        let digest = self.put_json(record)?;
        let (host, code) = record
            .short_link
            .split_once('/')
            .unwrap_or(("t.co", &record.short_link));
        if !self.add_ref(&["short", host, code], &digest)?
            && let Some(existing) = self.read_ref(&["short", host, code])?
        {
            return Ok(existing);
        }
        Ok(digest)
    }

    /// The stored resolution of a short link (`t.co/abc`, `pic.twitter.com/abc`):
    /// under the host as written, else under X's other short-link hosts, which
    /// share codes. The first one recorded; `None` if it was never resolved.
    pub fn short_link(&self, short: &str) -> Result<Option<ShortLinkRecord>> {
        let (host, code) = short.split_once('/').unwrap_or(("t.co", short));
        let others = ["t.co", "pic.twitter.com", "pic.x.com"];
        for h in std::iter::once(host).chain(others.into_iter().filter(|h| *h != host)) {
            if let Some(d) = self.read_ref(&["short", h, code])? {
                return Ok(Some(self.read_json(&d)?));
            }
        }
        Ok(None)
    }

    /// Every short link the archive resolved, as (`HOST/CODE`, the digest of
    /// its `embarc.shortlink.v1` record), by host then code.
    pub fn short_links(&self) -> Result<Vec<(String, Digest)>> {
        Ok(self
            .named_refs(&["short"])?
            .into_iter()
            .map(|(segs, d)| (segs.get(1..).unwrap_or_default().join("/"), d))
            .collect())
    }

    /// Every post the archive holds, by provider then id, each with the
    /// digests of its capture records, oldest first. Read from the refs, so it
    /// includes captures the index has not seen (another machine's). Refs
    /// under a provider this version does not know are left out.
    pub fn posts(&self) -> Result<Vec<(PostId, Vec<Digest>)>> {
        Ok(self.posts_checked()?.0)
    }

    /// [`Archive::posts`], and apart, the posts with a capture ref that
    /// cannot be read (garbage in it), each with why, so that a listing
    /// names them rather than failing.
    #[allow(clippy::type_complexity)]
    pub fn posts_checked(&self) -> Result<(Vec<(PostId, Vec<Digest>)>, Vec<(PostId, String)>)> {
        let (good, bad) = self.named_refs_checked(&["posts"])?;
        let broken = bad
            .into_iter()
            .filter_map(|(segs, e)| match segs.as_slice() {
                [_, provider, id, ..] => {
                    let provider = crate::embed::Provider::from_name(provider)?;
                    Some((PostId::new(provider, id.clone()), e.full_message()))
                }
                _ => None,
            })
            .collect();
        let mut posts: BTreeMap<(String, String), Vec<Digest>> = BTreeMap::new();
        for (segs, d) in good {
            if let [_, provider, id, _name] = segs.as_slice() {
                posts
                    .entry((provider.clone(), id.clone()))
                    .or_default()
                    .push(d);
            }
        }
        let posts = posts
            .into_iter()
            .filter_map(|((provider, id), captures)| {
                let provider = crate::embed::Provider::from_name(&provider)?;
                Some((PostId::new(provider, id), captures))
            })
            .collect();
        Ok((posts, broken))
    }

    /// Every capture of a post, oldest first.
    pub fn captures(&self, post: &PostId) -> Result<Vec<(Digest, CaptureRecord)>> {
        let ds = self.capture_digests(post)?;
        let records = self.read_jsons(&ds)?;
        Ok(ds.into_iter().zip(records).collect())
    }

    /// The digests of a post's captures, oldest first; none when the archive
    /// has no capture of it. A capture ref is named `STAMP-HEX` after its
    /// target, so one listing finds them; a ref named otherwise is read. (The
    /// record read next is verified against the digest, and `verify` checks
    /// that every ref's name and content agree.)
    pub fn capture_digests(&self, post: &PostId) -> Result<Vec<Digest>> {
        let refs = self.named_refs(&["posts", post.provider.as_str(), &post.id])?;
        Ok(refs.into_iter().map(|(_, d)| d).collect())
    }

    /// Every archiving of every article: their `embarc.article.v1` records, by
    /// article then oldest first, each read and verified on its own so that
    /// one bad record does not hide the others.
    pub fn articles(&self) -> Result<Vec<Result<ArticleRecord>>> {
        let digests: Vec<Digest> = self
            .named_refs(&["articles"])?
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        Ok(self.read_json_each(&digests))
    }

    /// Every archiving of every article as (KEY, the digest of its
    /// `embarc.article.v1` record), by KEY ([`article_key`] of the article's
    /// name) then oldest first; the records are not read.
    pub fn article_digests(&self) -> Result<Vec<(String, Digest)>> {
        Ok(self
            .named_refs(&["articles"])?
            .into_iter()
            .map(|(segs, d)| (segs.get(1).cloned().unwrap_or_default(), d))
            .collect())
    }

    /// The records of one article's archivings, oldest first; none when it
    /// was never archived. `name` is the article as it was archived: its path
    /// or URL as given.
    pub fn article(&self, name: &str) -> Result<Vec<ArticleRecord>> {
        let digests: Vec<Digest> = self
            .named_refs(&["articles", &article_key(name)])?
            .into_iter()
            .map(|(_, d)| d)
            .collect();
        self.read_jsons(&digests)
    }

    /// Removes embarc's own temp files (`.put-…`, `.ref-…`) older than
    /// `older_than` (left by crashed writers) from the real `tmp/` folder:
    /// nothing when `tmp/` is a symlink (its files are not embarc's to
    /// delete), never another file, never through a link.
    pub fn clean_tmp(&self, older_than: Duration) -> Result<usize> {
        let dir = self.tmp_dir();
        match fs::symlink_metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            _ => return Ok(0),
        }
        let mut removed = 0;
        let now = SystemTime::now();
        for entry in fs::read_dir(&dir).with_path(&dir)? {
            let entry = entry.with_path(&dir)?;
            let name = entry.file_name();
            if !is_temp_name(&name.to_string_lossy()) {
                continue;
            }
            // Not followed: the entry's own type and time.
            let Ok(meta) = fs::symlink_metadata(entry.path()) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let age = meta
                .modified()
                .ok()
                .and_then(|m| now.duration_since(m).ok())
                .unwrap_or_default();
            if age >= older_than && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// An object being written; dropped unfinished, it leaves only a temp file
/// that is removed at once (or, after a crash, by the next writer).
pub struct ObjectWriter {
    archive: Archive,
    tmp: NamedTempFile,
    hasher: Hasher,
    bytes: u64,
    /// Replace what is under the name, intact or not ([`Archive::restoring`]).
    force: bool,
}

impl ObjectWriter {
    /// Appends bytes.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.hasher.update(bytes);
        self.tmp
            .write_all(bytes)
            .with_path(self.tmp.path())
            .map_err(backend::named)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.bytes == 0
    }

    /// Publishes the object (durably); returns its digest and size.
    pub fn finish(self) -> Result<(Digest, u64)> {
        let digest = self.hasher.finish();
        if self.force {
            self.archive
                .backend
                .replace(&Archive::object_rel(&digest), self.tmp)?;
        } else {
            self.archive.publish(self.tmp, &digest)?;
        }
        Ok((digest, self.bytes))
    }
}

/// A [`crate::net::BodyStore`] whose bodies replace the objects they hash
/// to (see [`Archive::restoring`]).
pub struct Restoring(Archive);

impl crate::net::BodyStore for Restoring {
    fn sink(&self) -> Result<Box<dyn crate::net::BodySink>> {
        let mut writer = self.0.writer()?;
        writer.force = true;
        Ok(Box::new(writer))
    }
}

/// Response bodies stream into the archive as objects.
impl crate::net::BodyStore for Archive {
    fn sink(&self) -> Result<Box<dyn crate::net::BodySink>> {
        Ok(Box::new(self.writer()?))
    }
}

impl crate::net::BodySink for ObjectWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<()> {
        ObjectWriter::write(self, chunk)
    }

    fn finish(self: Box<Self>) -> Result<(Digest, u64)> {
        ObjectWriter::finish(*self)
    }
}

/// Small objects written together and made durable with one sync.
pub struct Batch<'a> {
    archive: &'a Archive,
    pending: Vec<(NamedTempFile, Digest)>,
}

impl Batch<'_> {
    /// Adds bytes to the batch (written to `tmp/`, not yet durable or visible).
    pub fn put_bytes(&mut self, bytes: &[u8]) -> Result<Digest> {
        let digest = Digest::of(bytes);
        if self
            .archive
            .backend
            .holds(&Archive::object_rel(&digest), bytes.len() as u64)
        {
            return Ok(digest);
        }
        let dir = self.archive.tmp_dir();
        let mut tmp = mode::temp_file(&dir, ".put-", mode::IMMUTABLE)
            .with_path(&dir)
            .map_err(backend::named)?;
        tmp.write_all(bytes)
            .with_path(tmp.path())
            .map_err(backend::named)?;
        self.pending.push((tmp, digest));
        Ok(digest)
    }

    /// Makes every pending object durable (in a folder, one `syncfs` on Linux,
    /// else one fsync each), then publishes them. Refs to them may be added
    /// afterwards.
    pub fn commit(self) -> Result<Vec<Digest>> {
        let digests = self.pending.iter().map(|(_, d)| *d).collect();
        let files = self
            .pending
            .into_iter()
            .map(|(tmp, d)| (Archive::object_rel(&d), tmp))
            .collect();
        self.archive.backend.publish_all(files)?;
        Ok(digests)
    }
}

/// Reads an object, hashing as it goes; at EOF a mismatch is an error naming it.
pub struct VerifyingReader {
    file: File,
    /// `None` once the end was reached and checked.
    hasher: Option<Hasher>,
    expected: Digest,
    path: PathBuf,
}

impl Read for VerifyingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(hasher) = self.hasher.as_mut() else {
            return Ok(0);
        };
        let n = self.file.read(buf)?;
        if n > 0 {
            hasher.update(&buf[..n]);
            return Ok(n);
        }
        let actual = self.hasher.take().map(Hasher::finish);
        if actual != Some(self.expected) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is corrupt: its bytes do not hash to its name; run `embarc verify`",
                    self.path.display()
                ),
            ));
        }
        Ok(0)
    }
}

/// `YYYYMMDDTHHMMSS.ffffffZ` in UTC: ref names sort by time.
pub fn stamp(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

fn encode_segment(s: &str) -> String {
    if s == "." || s == ".." || s.is_empty() {
        return s.bytes().map(|_| "%2E").collect::<String>();
    }
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"._:@~-".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A ref key's segments below `refs/`, decoded.
fn ref_segments(key: &str) -> Vec<String> {
    key.split('/').skip(1).map(decode_segment).collect()
}

/// The target a ref's name gives (`STAMP-HEX`), if it gives one.
pub(crate) fn digest_in_name(key: &str) -> Option<Digest> {
    let name = key.rsplit('/').next()?;
    Digest::parse(name.rsplit_once('-')?.1)
}

fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(h, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The folder of an article's refs: the SHA-256 hex of its name.
pub fn article_key(name: &str) -> String {
    Digest::of(name.as_bytes()).hex()
}

/// An object that is not there, said so with what to do (rather than the
/// bare "No such file or directory" of its path); other errors unchanged.
fn lost(e: Error) -> Error {
    match e {
        Error::Io { path, source } if source.kind() == io::ErrorKind::NotFound => Error::Io {
            path,
            source: io::Error::new(
                io::ErrorKind::NotFound,
                "object missing from the archive; run `embarc verify`, then `embarc verify --repair` (or `--repair --from BACKUP`)",
            ),
        },
        e => e,
    }
}

/// Whether a file name in `tmp/` is one of embarc's temp files.
fn is_temp_name(name: &str) -> bool {
    name.starts_with(".put-") || name.starts_with(".ref-")
}

/// Refuses a writer an archive whose own folders are symlinks (`tmp/`,
/// `objects/`, `objects/sha256/`, a fan-out folder, `refs/` and the folders
/// right under it), unless `EMBARC_ALLOW_SYMLINKS=1`: writes, and the
/// cleaning of `tmp/`, would land outside the archive.
fn check_layout(root: &Path) -> Result<()> {
    if backend::symlinks_allowed() {
        return Ok(());
    }
    let is_link = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    for dir in ["tmp", "objects", backend::OBJECTS, "refs"] {
        let path = root.join(dir);
        if is_link(&path) {
            return Err(backend::symlink_error(&path));
        }
    }
    for dir in [backend::OBJECTS, "refs"] {
        let base = root.join(dir);
        let Ok(entries) = fs::read_dir(&base) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                return Err(backend::symlink_error(&entry.path()));
            }
        }
    }
    Ok(())
}

/// Whether `dir` is missing or holds nothing but harmless files (`.gitignore`,
/// `FORMAT.md`…), or what an interrupted creation leaves (empty
/// `objects/sha256/` and `refs/`, a `tmp/` with only embarc's temp files):
/// a folder that may become an archive, and lists as empty.
pub fn is_blank_folder(dir: &Path) -> Result<bool> {
    if !dir.exists() {
        return Ok(true);
    }
    let real_dir = |p: &Path| fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
    let only = |p: &Path, ok: &dyn Fn(&str) -> bool| -> bool {
        real_dir(p)
            && fs::read_dir(p).is_ok_and(|entries| {
                entries
                    .flatten()
                    .all(|e| ok(&e.file_name().to_string_lossy()))
            })
    };
    for entry in fs::read_dir(dir).with_path(dir)? {
        let entry = entry.with_path(dir)?;
        let name = entry.file_name();
        let path = entry.path();
        let half_made = match name.to_str() {
            Some("objects") => only(&path, &|n| {
                n == "sha256" && only(&path.join("sha256"), &|_| false)
            }),
            Some("refs") => only(&path, &|_| false),
            Some("tmp") => only(&path, &is_temp_name),
            _ => false,
        };
        if !half_made && !HARMLESS.iter().any(|h| name == *h) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_round_trip() {
        for s in ["twitter", "did:plc:abc", "a/b", "..", "日本", "x y%z"] {
            let e = encode_segment(s);
            assert!(!e.contains('/') && e != "." && e != "..", "{e}");
            assert_eq!(decode_segment(&e), s);
        }
    }

    #[test]
    fn stamps_sort_by_time() {
        let a = stamp(time::macros::datetime!(2026-01-02 03:04:05.000006 UTC));
        assert_eq!(a, "20260102T030405.000006Z");
        let b = stamp(time::macros::datetime!(2026-01-02 03:04:05.1 UTC));
        assert!(a < b);
    }
}
