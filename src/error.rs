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
    #[error("{}: {size} bytes is over the {limit}-byte limit for one article; split the file or raise the limit", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size (or at least this much, for a stream).
        size: u64,
        /// The limit.
        limit: u64,
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
