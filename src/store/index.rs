//! `index.sqlite`: a cache of every capture for fast `ls` and `show`, derived
//! from refs and capture records alone. Deleting it loses nothing: opening an
//! archive without one rebuilds it, and `embarc reindex` rebuilds it on demand.

use super::record::{CaptureRecord, PostId};
use super::{Archive, Digest};
use crate::error::{Error, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::PathBuf;
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
}

/// The index of an archive.
pub struct Index {
    conn: Connection,
    path: PathBuf,
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
        let fresh = !path.exists();
        let err = |source| Error::Index {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(30)).map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let mut index = Index { conn, path };
        let built: Option<String> = index
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'built'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| index.err(e))?;
        if fresh || built.is_none() {
            index.rebuild(archive)?;
        }
        Ok(index)
    }

    fn err(&self, source: rusqlite::Error) -> Error {
        Error::Index {
            path: self.path.clone(),
            source,
        }
    }

    /// Rebuilds the index from `refs/posts/` and the records they point at.
    /// Returns the number of captures indexed.
    pub fn rebuild(&mut self, archive: &Archive) -> Result<usize> {
        let digests: Vec<Digest> = archive
            .posts()?
            .into_iter()
            .flat_map(|(_, captures)| captures)
            .collect();
        let records: Vec<(Digest, CaptureRecord)> = digests
            .iter()
            .copied()
            .zip(archive.read_jsons::<CaptureRecord>(&digests)?)
            .collect();
        let path = self.path.clone();
        let err = |source| Error::Index {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        tx.execute("DELETE FROM captures", []).map_err(err)?;
        for (digest, record) in &records {
            insert(&tx, digest, record).map_err(err)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('built', '1')",
            [],
        )
        .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(records.len())
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
                })
            })
            .map_err(|e| self.err(e))?;
        let mut out: Vec<PostSummary> = rows
            .collect::<rusqlite::Result<_>>()
            .map_err(|e| self.err(e))?;
        // Two captures of one post at the same instant: keep one line per post.
        out.dedup_by(|a, b| a.post == b.post);
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
