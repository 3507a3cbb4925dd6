//! `index.sqlite`: a cache of every capture for fast `ls` and `show`, derived
//! from refs and capture records alone. Deleting it loses nothing: opening an
//! archive without one rebuilds it, and `embarc reindex` rebuilds it on demand.
//!
//! Commands that only read open it with [`Index::open_for_reading`], which
//! never writes into an archive it may not write (a snapshot, a read-only
//! mount, another user's archive). The index file is a WAL database, and
//! SQLite cannot read one in a folder where it may not create the `-shm`
//! file, so such a reader takes the first of:
//!
//! 1. the index as writers open it, when it can be opened and built (the
//!    archive, or `--index`, is writable: nothing changes for its owner);
//! 2. the file read as immutable (no locks, no `-shm`), only when nothing can
//!    change it meanwhile: it lies on a read-only file system, or neither it
//!    nor its folder has any write permission bit; and it has no write-ahead
//!    log, whose commits an immutable read would miss;
//! 3. an index built in memory from the refs, as `reindex` builds one,
//!    dropped when the command ends.
//!
//! An in-memory index rather than a cache elsewhere (`~/.cache/embarc/…`):
//! it is always exactly the archive's refs, with nothing to invalidate when
//! the archive's owner adds captures, and nothing left behind; it costs one
//! read of every capture record per `ls` or `show` (as `reindex` does), and
//! only `ls` and `show` use the index at all.

use super::record::{CaptureRecord, PostId};
use super::{Archive, Digest};
use crate::error::{Error, Result};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS captures (
    digest TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    id TEXT NOT NULL,
    url TEXT NOT NULL,
    captured_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    author TEXT,
    handle TEXT,
    text TEXT,
    media INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS captures_by_post ON captures (provider, id, captured_at);
CREATE TABLE IF NOT EXISTS broken (
    provider TEXT NOT NULL,
    id TEXT NOT NULL,
    what TEXT NOT NULL,
    problem TEXT NOT NULL,
    PRIMARY KEY (provider, id, what)
);
";

/// One post in `embarc ls`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PostSummary {
    /// `provider:id`.
    pub post: String,
    /// The canonical URL.
    pub url: String,
    /// How many captures the archive holds.
    pub captures: u64,
    /// The newest capture's time (RFC 3339).
    pub latest_at: String,
    /// The newest capture's outcome.
    pub latest_outcome: String,
    /// The newest capture's record.
    pub latest_capture: String,
    /// Author handle of the newest capture that knew it.
    pub handle: Option<String>,
    /// What is wrong with the post's captures in the archive (a record
    /// missing or unreadable, a ref with garbage in it), absent when nothing
    /// is: `embarc verify` lists it, `embarc verify --repair` may heal it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// What a rebuild of the index did.
#[derive(Debug, Clone, Default)]
pub struct Rebuilt {
    /// Captures indexed.
    pub indexed: usize,
    /// What could not be indexed, one line each (the capture or ref, why):
    /// the posts concerned are marked in `ls`.
    pub skipped: Vec<String>,
}

/// The index of an archive.
pub struct Index {
    conn: Connection,
    path: PathBuf,
    /// Why the index file was replaced by a fresh one, when it was.
    replaced: Option<String>,
}

impl Index {
    /// Opens (creating and building if missing) the index of `archive`.
    pub fn open(archive: &Archive) -> Result<Index> {
        let path = archive.index_path();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                path: dir.to_path_buf(),
                source: e,
            })?;
        }
        match Index::open_file(archive, &path, None) {
            Err(e) if is_garbage(&e) => {
                // A cache that cannot be read (truncated, overwritten): set
                // it aside and build a fresh one from the refs.
                let why = e.full_message();
                set_aside(&path)?;
                Index::open_file(archive, &path, Some(why))
            }
            result => result,
        }
    }

    /// Opens the index file at `path`, building it when it is new or was
    /// never built.
    fn open_file(archive: &Archive, path: &Path, replaced: Option<String>) -> Result<Index> {
        let (conn, fresh) = Index::connect(path)?;
        let mut index = Index {
            conn,
            path: path.to_path_buf(),
            replaced,
        };
        if fresh || !index.is_built()? {
            index.rebuild(archive)?;
        }
        Ok(index)
    }

    /// Opens the index file at `path` (made empty when missing) as a WAL
    /// database with the schema; says whether it was made now.
    fn connect(path: &Path) -> Result<(Connection, bool)> {
        let fresh = !path.exists();
        if fresh {
            create_file(path)?;
        }
        let err = |source| index_error(path, source);
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        // Switching a new file to WAL takes an exclusive lock and may answer
        // SQLITE_BUSY at once, without the busy handler, while another first
        // writer holds the file: try again for a while.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            // IMMEDIATE takes the write lock first: a deferred transaction
            // that read an older snapshot would get SQLITE_BUSY at once on its
            // first write, without waiting.
            let setup = conn
                .pragma_update(None, "journal_mode", "WAL")
                .and_then(|()| conn.execute_batch(&format!("BEGIN IMMEDIATE; {SCHEMA} COMMIT;")));
            match setup {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::DatabaseBusy
                        && std::time::Instant::now() < deadline =>
                {
                    let _ = conn.execute_batch("ROLLBACK");
                    std::thread::sleep(Duration::from_millis(25));
                }
                Err(e) => return Err(err(e)),
            }
        }
        Ok((conn, fresh))
    }

    /// Why the index file was set aside and rebuilt when it was opened
    /// (it could not be read), or `None`.
    pub fn replaced(&self) -> Option<&str> {
        self.replaced.as_deref()
    }

    /// Opens the index for a command that only reads, writing nothing into
    /// an archive that may not be written: the index as [`Index::open`]
    /// opens it when that works, else the file read as immutable when
    /// nothing can change it, else an index built in memory from the refs
    /// (the module's documentation says why).
    pub fn open_for_reading(archive: &Archive) -> Result<Index> {
        match Index::open(archive) {
            Ok(index) => Ok(index),
            Err(e) if e.is_read_only() => match Index::open_unchangeable(&archive.index_path()) {
                Some(index) => Ok(index),
                None => Index::in_memory(archive),
            },
            Err(e) => Err(e),
        }
    }

    /// The built index at `path`, read as an immutable file (SQLite takes no
    /// lock and needs no `-shm`), when nothing can change it while it is
    /// read; `None` otherwise.
    fn open_unchangeable(path: &Path) -> Option<Index> {
        if !unchangeable(path) {
            return None;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(immutable_uri(path.canonicalize().ok()?.as_path()), flags)
                .ok()?;
        let index = Index {
            conn,
            path: path.to_path_buf(),
            replaced: None,
        };
        index.is_built().ok()?.then_some(index)
    }

    /// An index of `archive` built in memory from its refs.
    fn in_memory(archive: &Archive) -> Result<Index> {
        let path = PathBuf::from(format!("{} (in memory)", archive.index_path().display()));
        let err = |source| Error::Index {
            path: path.clone(),
            source,
        };
        let conn = Connection::open_in_memory().map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let mut index = Index {
            conn,
            path,
            replaced: None,
        };
        index.rebuild(archive)?;
        Ok(index)
    }

    /// Whether the index was built (a rebuild completed once).
    fn is_built(&self) -> Result<bool> {
        let built: Option<String> = self
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'built'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(built.is_some())
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        index_error(&self.path, source)
    }

    /// Rebuilds the index from `refs/posts/` and the records they point at.
    /// Returns the number of captures indexed.
    pub fn rebuild(&mut self, archive: &Archive) -> Result<usize> {
        Ok(self.rebuild_checked(archive)?.indexed)
    }

    /// [`Index::rebuild`], saying what it skipped: a capture whose record is
    /// missing or unreadable, a ref with garbage in it. Each is kept as a
    /// problem of its post (`ls` marks it) instead of failing the rebuild.
    pub fn rebuild_checked(&mut self, archive: &Archive) -> Result<Rebuilt> {
        let (posts, bad_refs) = archive.posts_checked()?;
        let owned: Vec<(&PostId, Digest)> = posts
            .iter()
            .flat_map(|(post, captures)| captures.iter().map(move |d| (post, *d)))
            .collect();
        let digests: Vec<Digest> = owned.iter().map(|(_, d)| *d).collect();
        let mut records = Vec::new();
        let mut broken: Vec<(PostId, String, String)> = bad_refs
            .into_iter()
            .map(|(post, why)| (post, "ref".to_string(), why))
            .collect();
        for ((post, digest), record) in owned
            .iter()
            .zip(archive.read_json_each::<CaptureRecord>(&digests))
        {
            match record {
                Ok(record) => records.push((*digest, record)),
                Err(e) => broken.push(((*post).clone(), digest.to_string(), e.full_message())),
            }
        }
        let path = self.path.clone();
        let err = |source| index_error(&path, source);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        tx.execute("DELETE FROM captures", []).map_err(err)?;
        tx.execute("DELETE FROM broken", []).map_err(err)?;
        for (digest, record) in &records {
            insert(&tx, digest, record).map_err(err)?;
        }
        for (post, what, problem) in &broken {
            tx.execute(
                "INSERT OR REPLACE INTO broken (provider, id, what, problem) VALUES (?1, ?2, ?3, ?4)",
                params![post.provider.as_str(), post.id, what, problem],
            )
            .map_err(err)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('built', '1')",
            [],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(Rebuilt {
            indexed: records.len(),
            skipped: broken
                .into_iter()
                .map(|(post, what, why)| format!("{} ({what}): {why}", post.label()))
                .collect(),
        })
    }

    /// What is wrong with a post's captures, as the last rebuild found it
    /// (a record missing or unreadable, a garbage ref), one line each.
    pub fn problems_of(&self, post: &PostId) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT what, problem FROM broken WHERE provider = ?1 AND id = ?2 ORDER BY what",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![post.provider.as_str(), post.id], |r| {
                Ok(format!(
                    "{}: {}",
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?
                ))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))
    }

    /// Adds one capture (after its ref exists).
    pub fn add(&self, digest: &Digest, record: &CaptureRecord) -> Result<()> {
        insert(&self.conn, digest, record)
            .map(drop)
            .map_err(|e| self.err(e))
    }

    /// Every post, newest capture first.
    pub fn posts(&self) -> Result<Vec<PostSummary>> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.provider, c.id, c.url, n.captures, c.captured_at, c.outcome, c.digest,
                        (SELECT handle FROM captures h WHERE h.provider = c.provider AND h.id = c.id
                           AND h.handle IS NOT NULL ORDER BY h.captured_at DESC LIMIT 1)
                 FROM captures c
                 JOIN (SELECT provider, id, COUNT(*) AS captures, MAX(captured_at) AS latest
                       FROM captures GROUP BY provider, id) n
                   ON n.provider = c.provider AND n.id = c.id AND n.latest = c.captured_at
                 ORDER BY c.captured_at DESC, c.provider, c.id, c.digest",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(PostSummary {
                    post: format!("{}:{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    url: r.get(2)?,
                    captures: r.get::<_, i64>(3)?.max(0) as u64,
                    latest_at: r.get(4)?,
                    latest_outcome: r.get(5)?,
                    latest_capture: r.get(6)?,
                    handle: r.get(7)?,
                    problem: None,
                })
            })
            .map_err(|e| self.err(e))?;
        let mut out: Vec<PostSummary> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        // Two captures of one post at the same instant: keep one line per post.
        out.dedup_by(|a, b| a.post == b.post);
        // Posts with a capture that could not be indexed: marked, and listed
        // even when none of their captures could be read.
        let mut stmt = self
            .conn
            .prepare("SELECT provider, id, COUNT(*), MIN(problem) FROM broken GROUP BY provider, id ORDER BY provider, id")
            .map_err(|e| self.err(e))?;
        let broken = stmt
            .query_map([], |r| {
                Ok((
                    format!("{}:{}", r.get::<_, String>(0)?, r.get::<_, String>(1)?),
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))?;
        for (post, n, first) in broken {
            let advice = if first.contains("embarc verify") {
                ""
            } else {
                "; run `embarc verify`"
            };
            let problem = if n > 1 {
                format!("{n} captures cannot be read, the first: {first}{advice}")
            } else {
                format!("a capture cannot be read: {first}{advice}")
            };
            match out.iter_mut().find(|p| p.post == post) {
                Some(p) => p.problem = Some(problem),
                None => out.push(PostSummary {
                    url: String::new(),
                    captures: 0,
                    latest_at: String::new(),
                    latest_outcome: "broken".into(),
                    latest_capture: String::new(),
                    handle: None,
                    problem: Some(problem),
                    post,
                }),
            }
        }
        Ok(out)
    }

    /// The digests of a post's captures, oldest first.
    pub fn captures_of(&self, post: &PostId) -> Result<Vec<Digest>> {
        let mut stmt = self
            .conn
            .prepare("SELECT digest FROM captures WHERE provider = ?1 AND id = ?2 ORDER BY captured_at, digest")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![post.provider.as_str(), post.id], |r| {
                r.get::<_, String>(0)
            })
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for row in rows {
            let hex = row.map_err(|e| self.err(e))?;
            if let Some(d) = Digest::parse(&hex) {
                out.push(d);
            }
        }
        Ok(out)
    }
}

/// An SQLite error of the index at `path`, with a full disk or a read-only
/// file system named as such (SQLite says "database or disk is full", or
/// only "disk I/O error" when a write fails for want of space).
fn index_error(path: &Path, source: rusqlite::Error) -> Error {
    use rusqlite::ErrorCode;
    let code = match &source {
        rusqlite::Error::SqliteFailure(e, _) => Some(e.code),
        _ => None,
    };
    let full = code == Some(ErrorCode::DiskFull)
        || (code == Some(ErrorCode::SystemIoFailure) && disk_full(path));
    if full {
        return Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::StorageFull,
                "disk full (ENOSPC) writing the index; free space and run again",
            ),
        };
    }
    if matches!(code, Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen))
        && read_only_file_system(path)
    {
        return Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::ReadOnlyFilesystem,
                "read-only file system (EROFS) holds the index; pass --index PATH to keep it elsewhere",
            ),
        };
    }
    Error::Index {
        path: path.to_path_buf(),
        source,
    }
}

/// Whether the file system holding `path` (or its folder) has no space left.
fn disk_full(path: &Path) -> bool {
    let probe = if path.exists() {
        path
    } else {
        path.parent().unwrap_or(Path::new("."))
    };
    statvfs(probe).is_some_and(|s| s.f_bavail == 0)
}

/// The statistics of the file system holding `path`, if it can be read.
fn statvfs(path: &Path) -> Option<libc::statvfs> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c_path` is NUL-terminated and `stat` is writable memory the
    // size of a `statvfs`; both outlive the call.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    // SAFETY: statvfs returned 0, so it filled `stat` in full.
    (rc == 0).then(|| unsafe { stat.assume_init() })
}

/// Whether opening the index failed because the file is not a database (or
/// a damaged one), rather than for want of permission, space or time.
fn is_garbage(e: &Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(
        e,
        Error::Index {
            source: rusqlite::Error::SqliteFailure(f, _),
            ..
        } if matches!(f.code, ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt)
    )
}

/// Moves an unreadable index file (and its `-wal` and `-shm`) out of the
/// way and deletes it, so a fresh one takes its name; another process
/// that did so first is fine.
fn set_aside(path: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let from = PathBuf::from(name);
        let mut aside = from.as_os_str().to_owned();
        aside.push(format!(".broken-{}", std::process::id()));
        match std::fs::rename(&from, &aside) {
            Ok(()) => {
                let _ = std::fs::remove_file(&aside);
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(Error::Io { path: from, source }),
        }
    }
    Ok(())
}

/// Creates the empty index file (SQLite takes an empty file for a new
/// database) with the mode any file of the archive gets, `0666` less the
/// umask; SQLite gives its `-wal` and `-shm` files the same mode.
fn create_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(super::mode::SHARED)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Whether nothing can change the index at `path` while it is read, so that
/// it may be read as immutable: it has no write-ahead log with commits in it,
/// and it lies on a read-only file system or neither it nor its folder has
/// any write permission bit (its owner would have to grant one first).
fn unchangeable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    if std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0) {
        return false;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let no_write_bits =
        |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o222 == 0);
    read_only_file_system(path) || (no_write_bits(path) && no_write_bits(dir))
}

/// Whether `path` lies on a file system mounted read-only.
fn read_only_file_system(path: &Path) -> bool {
    statvfs(path).is_some_and(|s| s.f_flag & libc::ST_RDONLY != 0)
}

/// The SQLite URI that opens the database at `path` as immutable: `file:`,
/// the path with every byte that is not plainly safe percent-encoded (so `?`,
/// `#` and `%` in a folder name stay part of it), `?immutable=1`.
fn immutable_uri(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_bytes() {
        if b.is_ascii_alphanumeric() || b"/._-~".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri.push_str("?immutable=1");
    uri
}

fn insert(conn: &Connection, digest: &Digest, r: &CaptureRecord) -> rusqlite::Result<usize> {
    let when = r
        .captured_at
        .to_offset(time::UtcOffset::UTC)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let n = r.normalized.as_ref();
    conn.execute(
        "INSERT OR IGNORE INTO captures (digest, provider, id, url, captured_at, outcome, author, handle, text, media)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            digest.to_string(),
            r.post.provider.as_str(),
            r.post.id,
            r.url,
            when,
            r.state(),
            n.map(|n| n.author.name.clone()).filter(|a| !a.is_empty()),
            n.and_then(|n| n.author.handle.clone()),
            n.map(|n| n.text.clone()),
            r.media.len() as i64,
        ],
    )
}
