//! The library's error type: every variant names the file or URL it concerns.

use std::path::PathBuf;

/// Errors of embarc's library. Per-article problems during a scan are reported
/// as values (see [`crate::scan::Outcome`]); this type carries their cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading or listing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An article is larger than the configured cap.
    #[error("{}: {size} bytes is over the {limit}-byte limit for one article; split the file or raise the limit with --max-size", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or at least this much, for a stream).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A folder that is not an embarc archive (and not empty).
    #[error("{}: not an embarc archive (no EMBARC-ARCHIVE marker) and not empty; pass --archive with an archive or an empty folder", path.display())]
    NotAnArchive {
        /// The folder.
        path: PathBuf,
    },
    /// An object whose bytes do not hash to its name.
    #[error("{}: corrupt object: expected {expected}, bytes hash to {actual}; restore it from a copy (run `embarc verify` for the full list)", path.display())]
    Corrupt {
        /// The object file.
        path: PathBuf,
        /// Its name.
        expected: crate::store::Digest,
        /// What its bytes hash to.
        actual: crate::store::Digest,
    },
    /// A record refers to an object the archive lacks.
    #[error("{referrer}: refers to {digest}, which is not in the archive")]
    Missing {
        /// The missing object.
        digest: crate::store::Digest,
        /// Who refers to it.
        referrer: String,
    },
    /// A record or ref that cannot be read.
    #[error("{}: unreadable record: {reason}", path.display())]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The SQLite index failed.
    #[error("{}: index error: {source}; delete it and run `embarc reindex`", path.display())]
    Index {
        /// The index file.
        path: PathBuf,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// Object storage refused or failed a request.
    #[error("{url}: {reason}")]
    Remote {
        /// The archive URL (or the key's URL) concerned.
        url: String,
        /// What went wrong and what to check.
        reason: String,
    },
    /// Article URLs cannot be scanned by this version.
    #[error(
        "{url}: scanning an article by URL is not supported yet (the fetcher comes with `embarc archive`); save the page and scan the file"
    )]
    UrlNotSupported {
        /// The URL given.
        url: String,
    },
}

/// Adds the path to an I/O error.
pub trait IoContext<T> {
    /// Wraps the error with `path`.
    fn with_path(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::result::Result<T, std::io::Error> {
    fn with_path(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.into(),
            source,
        })
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
