//! The archive on object storage (S3 and S3-compatible servers, Google Cloud
//! Storage, Azure) through `object_store`: the same layout as the folder
//! archive, as keys under a prefix (`PREFIX/objects/sha256/ab/HEX`,
//! `PREFIX/refs/…`). This module only moves bytes: the archive hashes every
//! object in a local temp file first, so a key is written only once its digest
//! is known, and never overwritten (create-only put where the store supports
//! it, else a check first: an object's bytes are its name, so a racing writer
//! can only write the same bytes). Credentials and endpoint come from the
//! platform's usual environment variables (`AWS_ENDPOINT_URL`, `AWS_REGION`,
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`…).
//!
//! The store's client is async; the archive's API is not. Calls run on this
//! module's own small runtime, so they work from plain threads and from inside
//! the capture's runtime alike.

use super::backend::{Backend, OBJECTS};
use crate::error::{Error, Result};
use futures_util::StreamExt;
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, WriteMultipart};
use std::collections::HashSet;
use std::future::Future;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Objects at most this large go up in one create-only request; larger ones
/// by multipart upload (5 MiB parts, a few in flight).
const SINGLE_PUT: u64 = 8 * 1024 * 1024;
const PART: usize = 8 * 1024 * 1024;

/// A connection to one bucket and prefix.
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: Key,
    url: String,
    rt: Option<tokio::runtime::Runtime>,
    /// Objects seen present (they never change or go away by our hand).
    known: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote").field("url", &self.url).finish()
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Never block (this may run inside another runtime's task).
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

impl Remote {
    /// Connects to `url` (`s3://bucket/prefix`, `gs://…`, `az://…`) with the
    /// settings of the environment. Nothing is requested yet.
    pub fn connect(url: &str) -> Result<Remote> {
        let err = |reason: String| Error::Remote {
            url: url.to_string(),
            reason,
        };
        let parsed = url::Url::parse(url).map_err(|e| err(format!("not a URL: {e}")))?;
        let store: Arc<dyn ObjectStore> = match parsed.scheme() {
            "s3" | "s3a" => Arc::new(
                object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            ),
            "gs" => Arc::new(
                object_store::gcp::GoogleCloudStorageBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            ),
            _ => Arc::new(
                object_store::azure::MicrosoftAzureBuilder::from_env()
                    .with_url(url)
                    .build()
                    .map_err(|e| err(e.to_string()))?,
            ),
        };
        let prefix = Key::parse(parsed.path().trim_matches('/'))
            .map_err(|e| err(format!("bad prefix: {e}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("embarc-store")
            .enable_all()
            .build()
            .map_err(|e| err(format!("cannot start the storage client: {e}")))?;
        Ok(Remote {
            store,
            prefix,
            url: url.trim_end_matches('/').to_string(),
            rt: Some(rt),
            known: Mutex::new(HashSet::new()),
        })
    }

    /// The archive's URL, as given.
    /// `URL/rel`, for messages.
    pub fn display(&self, rel: &str) -> PathBuf {
        PathBuf::from(format!("{}/{rel}", self.url))
    }

    /// The key of `rel`, taken as written: the archive's own segments are
    /// already safe (refs are percent-encoded by the store module), so they
    /// are not encoded a second time.
    fn key(&self, rel: &str) -> Key {
        let rel = rel.trim_matches('/');
        let full = match (self.prefix.as_ref(), rel) {
            (p, "") => p.to_string(),
            ("", r) => r.to_string(),
            (p, r) => format!("{p}/{r}"),
        };
        Key::parse(&full).unwrap_or_else(|_| Key::from(full.as_str()))
    }

    fn rel_of(&self, key: &Key) -> String {
        let prefix = self.prefix.as_ref();
        let k = key.as_ref();
        k.strip_prefix(prefix)
            .map(|r| r.trim_start_matches('/'))
            .unwrap_or(k)
            .to_string()
    }

    /// The environment variables to check for this store: credentials, then
    /// endpoint settings.
    fn settings(&self) -> (&'static str, &'static str) {
        match self.url.split_once("://").map_or("", |(scheme, _)| scheme) {
            "gs" => (
                "GOOGLE_SERVICE_ACCOUNT / GOOGLE_SERVICE_ACCOUNT_KEY (or GOOGLE_APPLICATION_CREDENTIALS)",
                "GOOGLE_BASE_URL, GOOGLE_ALLOW_HTTP for http://",
            ),
            "s3" | "s3a" => (
                "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or the platform's credentials)",
                "AWS_ENDPOINT_URL, AWS_REGION, AWS_ALLOW_HTTP for http://",
            ),
            _ => (
                "AZURE_STORAGE_ACCOUNT_NAME / AZURE_STORAGE_ACCOUNT_KEY (or AZURE_STORAGE_SAS_KEY)",
                "AZURE_STORAGE_USE_EMULATOR and AZURITE_BLOB_STORAGE_URL for Azurite",
            ),
        }
    }

    /// The error of a request for `rel`, on one line: what to check, then
    /// the store's own words without the XML body its server sent (that
    /// body's error code and message are kept).
    fn error(&self, rel: &str, e: &object_store::Error) -> Error {
        let text = e.to_string();
        let code = element(&text, "Code");
        let (credentials, endpoint) = self.settings();
        if ["NoSuchBucket", "ContainerNotFound"].contains(&code.unwrap_or_default())
            || text.contains("NoSuchBucket")
        {
            return Error::Remote {
                url: self.url.clone(),
                reason: format!(
                    "the bucket does not exist: create it first (embarc never creates buckets), or check {endpoint}"
                ),
            };
        }
        // A refusal often comes as a generic error (a listing's), with the
        // status and the server's code in its text.
        let refused = matches!(
            e,
            object_store::Error::PermissionDenied { .. }
                | object_store::Error::Unauthenticated { .. }
        ) || text.contains("403 Forbidden")
            || text.contains("401 Unauthorized")
            || code.is_some_and(|c| {
                [
                    "AccessDenied",
                    "SignatureDoesNotMatch",
                    "InvalidAccessKeyId",
                    "AuthenticationFailed",
                    "AuthorizationFailure",
                ]
                .contains(&c)
            });
        let hint = match e {
            object_store::Error::NotFound { .. } => "not found".to_string(),
            _ if refused => format!(
                "access refused{}: check {credentials}",
                code.map_or(String::new(), |c| format!(" ({c})"))
            ),
            _ => format!("check the bucket exists and the endpoint settings ({endpoint})"),
        };
        Error::Remote {
            url: format!("{}/{rel}", self.url),
            reason: format!("{hint}: {}", one_line(&text)),
        }
    }

    /// Runs a request to completion from sync code, whatever the caller's
    /// context (a plain thread, or a task of another runtime).
    fn run<T: Send + 'static>(&self, f: impl Future<Output = T> + Send + 'static) -> Result<T> {
        let Some(rt) = self.rt.as_ref() else {
            return Err(Error::Remote {
                url: self.url.clone(),
                reason: "the storage client was shut down".into(),
            });
        };
        match tokio::runtime::Handle::try_current() {
            Err(_) => Ok(rt.block_on(f)),
            Ok(_) => {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                rt.spawn(async move {
                    let _ = tx.send(f.await);
                });
                wait_here(|| rx.recv()).map_err(|_| Error::Remote {
                    url: self.url.clone(),
                    reason: "a storage request was abandoned".into(),
                })
            }
        }
    }

    /// The size of `rel`, or `None` when there is no such key.
    pub fn size(&self, rel: &str) -> Result<Option<u64>> {
        let (store, key) = (self.store.clone(), self.key(rel));
        match self.run(async move { store.head(&key).await })? {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(rel, &e)),
        }
    }

    /// Whether an object key exists (remembered once seen).
    pub fn exists(&self, rel: &str) -> Result<bool> {
        if self.known.lock().is_ok_and(|k| k.contains(rel)) {
            return Ok(true);
        }
        let found = self.size(rel)?.is_some();
        if found && let Ok(mut k) = self.known.lock() {
            k.insert(rel.to_string());
        }
        Ok(found)
    }

    /// The bytes of `rel` (at most `max`), or `None` when there is no such key.
    pub fn get(&self, rel: &str, max: u64) -> Result<Option<Vec<u8>>> {
        let (store, key) = (self.store.clone(), self.key(rel));
        let got = self.run(async move {
            let r = store.get(&key).await?;
            if r.meta.size > max {
                return Ok(Err(r.meta.size));
            }
            r.bytes().await.map(|b| Ok(b.to_vec()))
        })?;
        match got {
            Ok(Ok(bytes)) => Ok(Some(bytes)),
            Ok(Err(size)) => Err(Error::TooLarge {
                path: self.display(rel),
                size,
                limit: max,
            }),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error(rel, &e)),
        }
    }

    /// The bytes of many keys (each at most `max`), 16 requests in flight, in
    /// the order given; `None` for a missing key.
    pub fn get_many(&self, rels: &[String], max: u64) -> Result<Vec<Result<Option<Vec<u8>>>>> {
        let store = self.store.clone();
        let keys: Vec<Key> = rels.iter().map(|r| self.key(r)).collect();
        let got = self.run(async move {
            futures_util::stream::iter(keys)
                .map(|key| {
                    let store = store.clone();
                    async move {
                        match store.get(&key).await {
                            Ok(r) if r.meta.size > max => Ok(Err(r.meta.size)),
                            Ok(r) => r.bytes().await.map(|b| Ok(Some(b.to_vec()))),
                            Err(object_store::Error::NotFound { .. }) => Ok(Ok(None)),
                            Err(e) => Err(e),
                        }
                    }
                })
                .buffered(16)
                .collect::<Vec<_>>()
                .await
        })?;
        Ok(got
            .into_iter()
            .zip(rels)
            .map(|(g, rel)| match g {
                Ok(Ok(bytes)) => Ok(bytes),
                Ok(Err(size)) => Err(Error::TooLarge {
                    path: self.display(rel),
                    size,
                    limit: max,
                }),
                Err(e) => Err(self.error(rel, &e)),
            })
            .collect())
    }

    /// Streams `rel` into `out` (at most `max` bytes); returns the byte count.
    pub fn download(&self, rel: &str, out: &mut std::fs::File, max: u64) -> Result<u64> {
        self.stream(rel, max, &mut |chunk| {
            out.write_all(chunk).map_err(|e| Error::Io {
                path: self.display(rel),
                source: e,
            })
        })
    }

    /// Feeds the bytes of `rel` to `sink` as they arrive (at most `max`), with
    /// a few chunks in flight; returns the byte count.
    pub fn stream(
        &self,
        rel: &str,
        max: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<u64> {
        type Chunk = std::result::Result<bytes::Bytes, object_store::Error>;
        let Some(rt) = self.rt.as_ref() else {
            return Err(Error::Remote {
                url: self.url.clone(),
                reason: "the storage client was shut down".into(),
            });
        };
        let (store, key) = (self.store.clone(), self.key(rel));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(4);
        rt.spawn(async move {
            match store.get(&key).await {
                Ok(r) => {
                    let mut stream = r.into_stream();
                    while let Some(chunk) = stream.next().await {
                        // The reader may be slow: wait off this worker, so
                        // the runtime's other requests go on.
                        if tokio::task::block_in_place(|| tx.send(chunk)).is_err() {
                            return;
                        }
                    }
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
        let mut total = 0u64;
        let wait = || -> Result<u64> {
            for chunk in rx.iter() {
                let chunk = chunk.map_err(|e| self.error(rel, &e))?;
                total += chunk.len() as u64;
                if total > max {
                    return Err(Error::TooLarge {
                        path: self.display(rel),
                        size: total,
                        limit: max,
                    });
                }
                sink(&chunk)?;
            }
            Ok(total)
        };
        wait_here(wait)
    }

    /// Writes `bytes` at `rel` unless the key exists. Returns whether this call
    /// created it. One create-only request (`If-None-Match: *`); where the
    /// store has no such thing, a check first.
    pub fn put_new(&self, rel: &str, bytes: Vec<u8>) -> Result<bool> {
        let (store, key) = (self.store.clone(), self.key(rel));
        let payload = PutPayload::from(bytes);
        let opts = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        let created = self.run({
            let (store, key, payload) = (store.clone(), key.clone(), payload.clone());
            async move { store.put_opts(&key, payload, opts).await }
        })?;
        match created {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(object_store::Error::NotImplemented { .. }) => {
                if self.size(rel)?.is_some() {
                    return Ok(false);
                }
                self.run(async move { store.put(&key, payload).await })?
                    .map(|_| true)
                    .map_err(|e| self.error(rel, &e))
            }
            Err(e) => Err(self.error(rel, &e)),
        }
    }

    /// Uploads a local file (already hashed and named) to `rel` unless the key
    /// holds these bytes already (same size and, where the store's ETag is
    /// the bytes' MD5, same ETag: see [`Remote::has_bytes`]; anything else is
    /// a corrupt object, overwritten), or always when `force`: one request
    /// for a small file, multipart for a large one.
    pub fn upload(&self, rel: &str, file: &Path, force: bool) -> Result<()> {
        if !force && self.known.lock().is_ok_and(|k| k.contains(rel)) {
            return Ok(());
        }
        let io_err = |e: std::io::Error| Error::Io {
            path: file.to_path_buf(),
            source: e,
        };
        let size = std::fs::metadata(file).map_err(io_err)?.len();
        if size <= SINGLE_PUT {
            // One create-only request: an existing key answers "already there".
            let bytes = std::fs::read(file).map_err(io_err)?;
            if force
                || (!self.put_new(rel, bytes.clone())?
                    && !self.has_bytes(rel, size, || Ok(single_etag(&bytes)))?)
            {
                let (store, key) = (self.store.clone(), self.key(rel));
                let payload = PutPayload::from(bytes);
                self.run(async move { store.put(&key, payload).await })?
                    .map_err(|e| self.error(rel, &e))?;
            }
        } else if force || !self.has_bytes(rel, size, || multipart_etag(file).map_err(io_err))? {
            // Large: look before sending megabytes that may be there already.
            let (store, key) = (self.store.clone(), self.key(rel));
            let mut f = std::fs::File::open(file).map_err(io_err)?;
            f.rewind().map_err(io_err)?;
            let done = self.run(async move {
                let upload = store.put_multipart(&key).await?;
                let mut w = WriteMultipart::new_with_chunk_size(upload, PART);
                let mut buf = vec![0u8; PART];
                loop {
                    if let Err(e) = w.wait_for_capacity(4).await {
                        // Abandoned parts are billed: abort the upload.
                        let _ = w.abort().await;
                        return Err(e);
                    }
                    let n = match tokio::task::block_in_place(|| f.read(&mut buf)) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) => {
                            w.abort().await?;
                            return Err(object_store::Error::Generic {
                                store: "embarc",
                                source: Box::new(e),
                            });
                        }
                    };
                    w.write(&buf[..n]);
                }
                w.finish().await.map(|_| ())
            })?;
            done.map_err(|e| self.error(rel, &e))?;
        }
        if let Ok(mut k) = self.known.lock() {
            k.insert(rel.to_string());
        }
        Ok(())
    }

    /// Whether the key `rel` holds the bytes whose S3-style ETag `etag`
    /// gives (see [`single_etag`]) and are `size` long: one HEAD, no download.
    ///
    /// Why the ETag: a key is named by the SHA-256 of its bytes, but the
    /// stores do not hash with SHA-256; S3 (and GCS's XML API, and S3-like
    /// servers) answer the MD5 of the bytes they actually hold as the ETag of
    /// an object written in one request, and the MD5 of the parts' MD5s plus
    /// `-N` for a multipart upload, whose part size embarc chooses. A key
    /// overwritten behind embarc's back with other bytes of the same size
    /// then shows another ETag, and the good bytes being written replace it
    /// (issue 19: the next capture heals a corrupt object). An ETag of
    /// another form (Azure's are opaque) says nothing of the bytes: then the
    /// size alone decides, as before. A key of the right bytes written by
    /// another tool with other part sizes is uploaded again: wasted bytes,
    /// never lost ones.
    fn has_bytes(
        &self,
        rel: &str,
        size: u64,
        etag: impl FnOnce() -> Result<String>,
    ) -> Result<bool> {
        let (store, key) = (self.store.clone(), self.key(rel));
        let meta = match self.run(async move { store.head(&key).await })? {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => return Ok(false),
            Err(e) => return Err(self.error(rel, &e)),
        };
        if meta.size != size {
            return Ok(false);
        }
        Ok(match meta.e_tag.as_deref().map(|t| t.trim_matches('"')) {
            // Computed only now: a large file is read once more for it.
            Some(got) if is_md5_etag(got) => got.eq_ignore_ascii_case(&etag()?),
            _ => true,
        })
    }

    /// Every key under `rel_prefix` (a folder of the layout), sorted.
    pub fn list(&self, rel_prefix: &str) -> Result<Vec<String>> {
        let (store, key) = (self.store.clone(), self.key(rel_prefix));
        let listed = self.run(async move {
            let mut out = Vec::new();
            let mut stream = store.list(Some(&key));
            while let Some(meta) = stream.next().await {
                out.push(meta?);
            }
            Ok::<_, object_store::Error>(out)
        })?;
        let mut out: Vec<String> = listed
            .map_err(|e| self.error(rel_prefix, &e))?
            .into_iter()
            .map(|m| self.rel_of(&m.location))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Whether the prefix holds nothing but the given names (at its top):
    /// an archive another process is creating right now is still blank.
    pub fn is_blank(&self, harmless: &[&str]) -> Result<bool> {
        let (store, key) = (self.store.clone(), self.prefix.clone());
        let names: Vec<String> = harmless.iter().map(|h| h.to_string()).collect();
        let prefix = self.prefix.as_ref().to_string();
        let found = self.run(async move {
            let mut stream = store.list(Some(&key));
            while let Some(meta) = stream.next().await {
                let meta = meta?;
                let k = meta.location.as_ref();
                let rel = k
                    .strip_prefix(prefix.as_str())
                    .unwrap_or(k)
                    .trim_start_matches('/');
                if !names.iter().any(|n| n == rel) {
                    return Ok(false);
                }
            }
            Ok::<_, object_store::Error>(true)
        })?;
        found.map_err(|e| self.error("", &e))
    }
}

/// The text of the first `<tag>…</tag>` in `text` (a server's XML error).
fn element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let rest = &text[text.find(&open)? + open.len()..];
    Some(&rest[..rest.find(&format!("</{tag}>"))?])
}

/// A store error's text on one line: up to the XML body the server sent, with
/// that body's `<Message>` in brackets.
fn one_line(text: &str) -> String {
    let head = text.split("<?xml").next().unwrap_or(text);
    let head = head.split("<Error>").next().unwrap_or(head);
    let mut out = head.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = out.trim_end_matches(':').len();
    out.truncate(trimmed);
    if let Some(m) = element(text, "Message") {
        out.push_str(&format!(
            " ({})",
            m.split_whitespace().collect::<Vec<_>>().join(" ")
        ));
    }
    out
}

/// The ETag S3 gives an object written in one request: the hex MD5 of its
/// bytes.
fn single_etag(bytes: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(bytes))
}

/// The ETag S3 gives an object uploaded in [`PART`]-sized parts, as
/// [`Remote::upload`] sends a large file: the hex MD5 of the parts' MD5s,
/// `-` and the number of parts.
fn multipart_etag(file: &Path) -> std::io::Result<String> {
    use md5::Digest as _;
    let mut f = std::fs::File::open(file)?;
    let mut buf = vec![0u8; PART];
    let (mut all, mut parts) = (md5::Md5::new(), 0u64);
    loop {
        // A part is PART bytes, or what is left.
        let mut n = 0;
        while n < PART {
            match f.read(&mut buf[n..])? {
                0 => break,
                k => n += k,
            }
        }
        if n == 0 {
            break;
        }
        all.update(md5::Md5::digest(&buf[..n]));
        parts += 1;
    }
    Ok(format!("{}-{parts}", hex::encode(all.finalize())))
}

/// Whether an ETag (quotes removed) has the form of an MD5-based one: 32 hex
/// digits, and `-N` for a multipart upload.
fn is_md5_etag(etag: &str) -> bool {
    let (md5, parts) = match etag.split_once('-') {
        Some((m, n)) => (m, Some(n)),
        None => (etag, None),
    };
    md5.len() == 32
        && md5.bytes().all(|b| b.is_ascii_hexdigit())
        && parts.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Blocks the calling thread on `f`; on a worker of a multi-thread runtime
/// (the capture's), tells that runtime first so its other tasks move on.
fn wait_here<T>(f: impl FnOnce() -> T) -> T {
    let in_worker = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if in_worker {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

/// The bucket behind the archive's seam: keys below the prefix, as in a folder.
impl Backend for Remote {
    fn location(&self) -> String {
        self.url.clone()
    }

    fn display(&self, key: &str) -> PathBuf {
        Remote::display(self, key)
    }

    fn is_remote(&self) -> bool {
        true
    }

    fn size(&self, key: &str) -> Result<Option<u64>> {
        Remote::size(self, key)
    }

    fn contains(&self, key: &str) -> bool {
        self.exists(key).unwrap_or(false)
    }

    fn publish(&self, key: &str, tmp: tempfile::NamedTempFile) -> Result<()> {
        // Uploaded under its final key now that the digest is known; the
        // temp file goes when `tmp` drops.
        self.upload(key, tmp.path(), false)
    }

    fn replace(&self, key: &str, tmp: tempfile::NamedTempFile) -> Result<()> {
        self.upload(key, tmp.path(), true)
    }

    fn holds(&self, key: &str, size: u64) -> bool {
        // A key this process wrote or saw whole needs no request.
        if self.known.lock().is_ok_and(|k| k.contains(key)) {
            return true;
        }
        self.size(key).is_ok_and(|s| s == Some(size))
    }

    fn open(&self, key: &str, staging: &Path) -> Result<std::fs::File> {
        let mut file = tempfile::tempfile_in(staging).map_err(|e| Error::Io {
            path: staging.to_path_buf(),
            source: e,
        })?;
        self.download(key, &mut file, u64::MAX)?;
        file.rewind().map_err(|e| Error::Io {
            path: staging.to_path_buf(),
            source: e,
        })?;
        Ok(file)
    }

    fn read(&self, key: &str, max: u64) -> Result<Vec<u8>> {
        self.get(key, max)?.ok_or_else(|| not_found(self, key))
    }

    fn read_many(&self, keys: &[String], max: u64) -> Vec<Result<Vec<u8>>> {
        match self.get_many(keys, max) {
            Ok(all) => all
                .into_iter()
                .zip(keys)
                .map(|(bytes, key)| bytes?.ok_or_else(|| not_found(self, key)))
                .collect(),
            Err(e) => {
                let reason = e.full_message();
                keys.iter()
                    .map(|key| {
                        Err(Error::Remote {
                            url: Remote::display(self, key).display().to_string(),
                            reason: reason.clone(),
                        })
                    })
                    .collect()
            }
        }
    }

    fn hash(&self, key: &str) -> Result<(crate::digest::Digest, u64)> {
        let mut hasher = crate::digest::Hasher::new();
        let n = self.stream(key, u64::MAX, &mut |chunk| {
            hasher.update(chunk);
            Ok(())
        })?;
        Ok((hasher.finish(), n))
    }

    fn list_objects(&self) -> Result<Vec<(PathBuf, String)>> {
        Ok(self
            .list(OBJECTS)?
            .into_iter()
            .map(|rel| (Remote::display(self, &rel), rel))
            .collect())
    }

    fn create(&self, key: &str, bytes: &[u8]) -> Result<bool> {
        self.put_new(key, bytes.to_vec())
    }

    fn keys_under(&self, prefix: &str) -> Result<Vec<String>> {
        let mut keys = self.list(prefix)?;
        keys.retain(|k| !k.rsplit('/').next().unwrap_or("").starts_with('.'));
        Ok(keys)
    }
}

fn not_found(remote: &Remote, key: &str) -> Error {
    Error::Io {
        path: Remote::display(remote, key),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_part_etag_is_the_hex_md5() {
        // RFC 1321's test suite.
        assert_eq!(single_etag(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(single_etag(b""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn multipart_etag_hashes_the_part_hashes() {
        use md5::Digest as _;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big");
        let bytes: Vec<u8> = (0..PART * 2 + 5).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).expect("write");
        let mut all = Vec::new();
        for part in bytes.chunks(PART) {
            all.extend_from_slice(&md5::Md5::digest(part));
        }
        let want = format!("{}-3", single_etag(&all));
        assert_eq!(multipart_etag(&path).expect("etag"), want);
    }

    #[test]
    fn a_store_error_is_one_line_without_the_servers_xml() {
        let text = "Generic S3 error: Error performing GET http://h/b?list-type=2 in 4ms - Server returned non-2xx status code: 403 Forbidden: <?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match.</Message></Error>\n";
        assert_eq!(element(text, "Code"), Some("SignatureDoesNotMatch"));
        assert_eq!(
            one_line(text),
            "Generic S3 error: Error performing GET http://h/b?list-type=2 in 4ms - Server returned non-2xx status code: 403 Forbidden (The request signature we calculated does not match.)"
        );
        assert_eq!(one_line("plain\nerror"), "plain error");
    }

    #[test]
    fn only_md5_shaped_etags_are_compared() {
        assert!(is_md5_etag("900150983cd24fb0d6963f7d28e17f72"));
        assert!(is_md5_etag("900150983CD24FB0D6963F7D28E17F72-12"));
        // Azure's, and malformed ones: the size alone decides.
        assert!(!is_md5_etag("0x8DC2F2C4E0F2A3B"));
        assert!(!is_md5_etag("900150983cd24fb0d6963f7d28e17f72-"));
        assert!(!is_md5_etag("900150983cd24fb0d6963f7d28e17f7"));
        assert!(!is_md5_etag(""));
    }
}
