//! The library's error type: every variant names what failed and where (the
//! file, object or URL), never which command-line flag to use: advice of that
//! kind belongs to the command line, which knows its flags. A variant with a
//! cause keeps it as its `source` and does not repeat it in its message, so a
//! reporter that prints the chain (`{err:#}`) prints each cause once;
//! [`full_message`] is that line for a reason kept as text.
//!
//! This module is a leaf: it names digests through [`crate::digest`] and must
//! not import the store (or any stage).

use crate::digest::Digest;
use std::path::PathBuf;

/// Errors of embarc's library. Per-article problems during a scan are reported
/// as values (see [`crate::scan::Outcome`]); this type carries their cause.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading, writing or listing a file failed.
    #[error("{}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file or object is larger than the cap its reader was given.
    #[error("{}: {size} bytes is over the {limit}-byte limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or at least this much, for a stream).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A folder that is not an embarc archive (and not empty).
    #[error("{}: not an embarc archive (no EMBARC-ARCHIVE marker) and not empty", path.display())]
    NotAnArchive {
        /// The folder.
        path: PathBuf,
    },
    /// No archive where one was asked for: the folder is missing or holds
    /// no `EMBARC-ARCHIVE` marker and nothing else, or the bucket prefix is
    /// empty. Commands that only read refuse it; writers create the archive.
    #[error("no embarc archive at {}", path.display())]
    NoArchive {
        /// The folder or bucket URL, as given.
        path: PathBuf,
    },
    /// An archive location that is a URL of a kind embarc cannot keep an
    /// archive in (`ftp://…`, `http://…`).
    #[error(
        "{location}: not a place embarc can keep an archive: give a folder, or a bucket as s3://BUCKET/PREFIX, gs://BUCKET/PREFIX or az://CONTAINER/PREFIX"
    )]
    UnsupportedLocation {
        /// The location, as given.
        location: String,
    },
    /// An object whose bytes do not hash to its name.
    #[error("{}: corrupt object: expected {expected}, bytes hash to {actual}; restore it from a copy (run `embarc verify` for the full list)", path.display())]
    Corrupt {
        /// The object file.
        path: PathBuf,
        /// Its name.
        expected: Digest,
        /// What its bytes hash to.
        actual: Digest,
    },
    /// A record refers to an object the archive lacks.
    #[error("{referrer}: refers to {digest}, which is not in the archive")]
    Missing {
        /// The missing object.
        digest: Digest,
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
    #[error("{}: index error (the index is a cache: delete it and run `embarc reindex`)", path.display())]
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
    /// An article page could not be fetched (the message names its full URL:
    /// the article the user gave).
    #[error("{}", .0.with_full_url())]
    Fetch(Box<crate::net::NetError>),
    /// Article URLs cannot be scanned by this version.
    #[error(
        "{url}: scanning an article by URL is not supported yet (the fetcher comes with `embarc archive`); save the page and scan the file"
    )]
    UrlNotSupported {
        /// The URL given.
        url: String,
    },
}

impl Error {
    /// Whether this error says a file or folder cannot be written (permission
    /// denied, a read-only file system, SQLite's read-only database), as when
    /// a command that only reads meets a read-only archive.
    pub fn is_read_only(&self) -> bool {
        use rusqlite::ErrorCode;
        match self {
            Error::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ),
            Error::Index {
                source: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => matches!(
                e.code,
                ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied
            ),
            _ => false,
        }
    }

    /// This error followed by its causes, each once (`what: cause: cause`):
    /// the line `{err:#}` prints, for a reason kept as text (a per-item
    /// outcome, a report's problem), where no reporter walks the chain.
    pub fn full_message(&self) -> String {
        full_message(self)
    }
}

/// Any error followed by its causes, each once (`what: cause: cause`), as
/// [`Error::full_message`]: for errors that wrap this crate's (a fetch's, an
/// export's).
pub fn full_message(err: &dyn std::error::Error) -> String {
    let mut line = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        line.push_str(": ");
        line.push_str(&c.to_string());
        cause = c.source();
    }
    line
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cause_is_printed_once() {
        let e = Error::Io {
            path: "/etc/passwd/EMBARC-ARCHIVE".into(),
            source: std::io::Error::from_raw_os_error(20),
        };
        let line = e.full_message();
        assert!(line.starts_with("/etc/passwd/EMBARC-ARCHIVE: "), "{line}");
        assert_eq!(line.matches("os error 20").count(), 1, "{line}");
        assert!(!e.to_string().contains("os error"), "{e}");
    }
}
