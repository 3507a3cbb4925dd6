//! One face for the object stores the bucket tests run on: moto's S3
//! (tests/support/s3.rs) and Azurite (tests/support/azurite.rs). A test body
//! written against [`Bucket`] runs unchanged on each: the URL and variables
//! embarc is given, and raw access to the keys behind embarc's back.

use super::azurite::{self, Azurite};
use super::s3::{self, S3};
use std::sync::Arc;

/// Which store a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `s3://` on moto_server.
    S3,
    /// `az://` on Azurite.
    Azure,
}

/// A running store with one bucket (container) for the test.
#[derive(Clone)]
pub enum Bucket {
    /// moto_server.
    S3(Arc<S3>),
    /// Azurite's blob service.
    Azure(Arc<Azurite>),
}

impl Bucket {
    /// Starts a store of `kind` (blocking: call from `block_in_place`).
    pub fn start(kind: Kind) -> Bucket {
        match kind {
            Kind::S3 => Bucket::S3(Arc::new(s3::start())),
            Kind::Azure => Bucket::Azure(Arc::new(azurite::start())),
        }
    }

    /// The variables embarc reads to reach it.
    pub fn env(&self) -> Vec<(String, String)> {
        match self {
            Bucket::S3(s) => s.env(),
            Bucket::Azure(a) => a.env(),
        }
    }

    /// Variables of the test's own environment that must not reach embarc
    /// (real cloud credentials or endpoints; an archive or index chosen by
    /// `EMBARC_*`).
    pub fn foreign_env() -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| {
                ["AWS_", "AZURE_", "AZURITE_", "GOOGLE_"]
                    .iter()
                    .any(|p| k.starts_with(p))
                    || k == "EMBARC_ARCHIVE"
                    || k == "EMBARC_INDEX"
            })
            .collect()
    }

    /// `s3://BUCKET/PREFIX` or `az://CONTAINER/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        match self {
            Bucket::S3(s) => s.url(prefix),
            Bucket::Azure(a) => a.url(prefix),
        }
    }

    /// Every key under `prefix`, in lexicographic order.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.list_sized(prefix)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// Every key under `prefix` with its size.
    pub fn list_sized(&self, prefix: &str) -> Vec<(String, u64)> {
        match self {
            Bucket::S3(s) => s.list_sized(prefix, None),
            Bucket::Azure(a) => a.list_sized(prefix),
        }
    }

    /// A key's bytes, `None` when it does not exist.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self {
            Bucket::S3(s) => s.get(key),
            Bucket::Azure(a) => a.get(key),
        }
    }

    /// Writes `bytes` at `key`, overwriting whatever is there.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        match self {
            Bucket::S3(s) => s.put(key, bytes),
            Bucket::Azure(a) => a.put(key, bytes),
        }
    }
}
