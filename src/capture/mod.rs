//! capture: turning a post into a stored capture record. One seam, [`Platform`],
//! separates what each platform knows (which endpoints to ask, how to read the
//! answers into a neutral [`Post`], what counts as deleted or private) from what
//! is written once for all of them here: recording every exchange, fetching
//! each file at its best URL with fallbacks into the archive, deciding the
//! record, giving a quoted post its own capture, and sharing one capture between
//! callers that reach the same post twice in a run. [`pipeline`] plans and runs
//! many captures for articles.
//!
//! Adding a provider: a row in `providers.rs`, a module here implementing
//! [`Platform`], and its line in [`platform`].

pub mod bluesky;
pub mod mastodon;
pub mod meta;
pub mod pipeline;
pub mod reddit;
pub mod resolve;
pub mod tiktok;
pub mod twitter;
pub mod wayback;
pub mod youtube;

use crate::embed::{Provider, Quote};
use crate::net::{Client, Fetched, NetError};
use crate::post::{Post, PostId};
use crate::providers::{UrlMatch, classify_url};
use crate::store::record::{CaptureOutcome, CaptureRecord, Media, MissingFile};
use crate::store::{Archive, Digest};
use serde::Serialize;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// A boxed future, for the [`Platform`] seam.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One platform's capture: asks its endpoints through the [`Session`] (which
/// records every exchange) and says what it found. Files are not fetched here:
/// the post's [`Asset`](crate::post::Asset)s are fetched by the shared code.
pub trait Platform: Send + Sync {
    /// The hosts its capture fetches from (suffix match: `twimg.com` covers
    /// `pbs.twimg.com`). No other host is ever asked.
    fn hosts(&self) -> &'static [&'static str];

    /// Asks the platform about `post` (several requests may be in flight at
    /// once through the shared `session`).
    fn fetch<'a>(&'a self, session: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found>;

    /// The neutral post of an `embarc.capture.v1` record, from the
    /// platform-specific part that record kept (`normalized` minus its neutral
    /// fields) and its stored media. `None` when the platform wrote no v1 records.
    fn upgrade_v1(&self, _legacy: &serde_json::Value, _media: &[Media]) -> Option<Post> {
        None
    }

    /// Whether a file one of the platform's URLs answered with 2xx is the
    /// file itself or a stand-in the platform serves in its place (YouTube
    /// answers a thumbnail size a video lacks with its 120×90 "no
    /// thumbnail" picture): `Err(reason)` makes the shared code try the
    /// next URL, as after a 404. `head` reads the file's first bytes (at
    /// most [`FILE_HEAD`]) from the archive, when the check needs them. By
    /// default every file is itself, and nothing is read.
    fn check_file(&self, _url: &str, _head: &dyn Fn() -> Vec<u8>) -> Result<(), String> {
        Ok(())
    }

    /// Whether a 4xx `status` from a file's `url` may be another answer in
    /// the next capture, and why: a signed URL past its expiry (TikTok's
    /// thumbnails answer 403) is signed afresh by the platform's next
    /// answer, so the capture is `partial`, not final. By default (`None`)
    /// a 4xx says the file is gone.
    fn passing_refusal(&self, _url: &str, _status: u16) -> Option<String> {
        None
    }
}

/// How much of a file [`Platform::check_file`] is shown.
pub const FILE_HEAD: usize = 64 * 1024;

/// The platform that captures `provider`'s posts, if embarc captures them yet.
pub fn platform(provider: Provider) -> Option<&'static dyn Platform> {
    static X: std::sync::OnceLock<twitter::X> = std::sync::OnceLock::new();
    static BLUESKY: std::sync::OnceLock<bluesky::Bluesky> = std::sync::OnceLock::new();
    match provider {
        Provider::Twitter => Some(X.get_or_init(twitter::X::default)),
        Provider::Mastodon => Some(&mastodon::Mastodon),
        Provider::Bluesky => Some(BLUESKY.get_or_init(bluesky::Bluesky::default)),
        Provider::Reddit => Some(&reddit::Reddit),
        Provider::Instagram => Some(&meta::INSTAGRAM),
        Provider::Threads => Some(&meta::THREADS),
        Provider::Facebook => Some(&meta::FACEBOOK),
        Provider::Youtube => Some(&youtube::Youtube),
        Provider::Tiktok => Some(&tiktok::Tiktok),
    }
}

/// Every host some platform's capture fetches from.
pub fn fetch_hosts() -> Vec<String> {
    let mut hosts: Vec<String> = Provider::ALL
        .into_iter()
        .filter_map(platform)
        .flat_map(|p| p.hosts().iter().map(|h| h.to_string()))
        .collect();
    hosts.sort();
    hosts.dedup();
    hosts
}

/// The network configuration captures need: the defaults, allowed to reach
/// the hosts of every platform embarc captures ([`fetch_hosts`]).
pub fn net_config() -> crate::net::NetConfig {
    crate::net::NetConfig {
        allowed_hosts: Some(fetch_hosts()),
        ..crate::net::NetConfig::default()
    }
}

/// The neutral post of a v1 record's platform part (see [`Platform::upgrade_v1`]).
pub(crate) fn upgrade_v1(
    post: &PostId,
    legacy: &serde_json::Value,
    media: &[Media],
) -> Option<Post> {
    platform(post.provider)?.upgrade_v1(legacy, media)
}

/// What a platform said about a post.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The outcome.
    pub outcome: CaptureOutcome,
    /// The post, for [`CaptureOutcome::Ok`].
    pub post: Option<Post>,
    /// The source the post came from (`syndication`, `oembed`, `api`…).
    pub source: Option<&'static str>,
    /// Why it failed, or the platform's own words for a tombstone.
    pub error: Option<String>,
    /// The full URL of the request that failed, when a request did.
    pub error_url: Option<String>,
    /// The same post under another identity, and its URL there (a remote
    /// Mastodon status's origin): the record is stored under that post too,
    /// so it is found by either.
    pub alias: Option<(PostId, String)>,
}

impl Found {
    /// A post found, from `source`.
    pub fn post(post: Post, source: &'static str) -> Found {
        Found {
            outcome: CaptureOutcome::Ok,
            post: Some(post),
            source: Some(source),
            error: None,
            error_url: None,
            alias: None,
        }
    }

    /// An outcome with no post (tombstone, not found, protected).
    pub fn outcome(outcome: CaptureOutcome) -> Found {
        Found {
            outcome,
            post: None,
            source: None,
            error: None,
            error_url: None,
            alias: None,
        }
    }

    /// A request that failed: the error line names the host, the full URL
    /// goes in [`Found::error_url`].
    pub fn net_failed(e: &NetError) -> Found {
        Found {
            error_url: e.url().map(str::to_string),
            ..Found::failed(crate::error::full_message(e))
        }
    }

    /// A failure, with why.
    pub fn failed(reason: impl Into<String>) -> Found {
        Found {
            error: Some(reason.into()),
            ..Found::outcome(CaptureOutcome::Failed)
        }
    }

    /// The platform cannot answer for a reason no retry mends (no token,
    /// a token refused): the capture keeps the citing article's own quote
    /// as the post (`source: article`), with `reason` as its error; with no
    /// quote to keep, it fails with `reason`.
    pub fn from_article(reason: impl Into<String>) -> Found {
        Found {
            outcome: CaptureOutcome::Ok,
            source: Some(crate::post::source::ARTICLE),
            error: Some(reason.into()),
            ..Found::outcome(CaptureOutcome::Ok)
        }
    }
}

/// The requests of one capture: every response is stored in the archive and
/// its exchange recorded, in the order the requests started (whatever order
/// they finish in), so requests may run side by side through `&self`.
pub struct Session<'a> {
    client: &'a Client,
    archive: &'a Archive,
    /// Exchanges with the place their request started at.
    exchanges: Mutex<Vec<(usize, crate::net::Exchange)>>,
    started: std::sync::atomic::AtomicUsize,
    /// The exchange the post was read from, when the platform says which.
    answer: Mutex<Option<crate::net::Exchange>>,
    /// Hosts this capture may fetch beyond the platforms' own ([`Session::admit`]).
    /// The client widened by them, built once per [`Session::admit`].
    admitted: Mutex<Option<Client>>,
    /// What the citing side knows of the post ([`Session::citing`]).
    cited: Cited,
    /// Meta's app token, for Instagram, Threads and Facebook.
    meta_token: Option<meta::MetaToken>,
}

/// What the citing side knows of a post beyond its id: the URL it was
/// cited by and the author's handle the article showed. A platform may use
/// them to look for the post elsewhere (a web archive keeps a status page
/// under its author's handle).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cited {
    /// The post's URL as cited.
    pub url: Option<String>,
    /// The author's handle the citing article showed, without `@`.
    pub handle: Option<String>,
}

impl<'a> Session<'a> {
    /// A session fetching through `client` into `archive`, with nothing recorded yet.
    pub fn new(client: &'a Client, archive: &'a Archive) -> Self {
        Session {
            client,
            archive,
            exchanges: Mutex::default(),
            started: Default::default(),
            answer: Mutex::default(),
            admitted: Mutex::default(),
            cited: Cited::default(),
            meta_token: None,
        }
    }

    /// This session, knowing what the citing side knows of the post.
    pub fn citing(mut self, cited: Cited) -> Self {
        self.cited = cited;
        self
    }

    /// What the citing side knows of the post.
    pub fn cited(&self) -> &Cited {
        &self.cited
    }

    /// The same session, holding Meta's app token.
    pub fn with_meta_token(mut self, token: Option<meta::MetaToken>) -> Self {
        self.meta_token = token;
        self
    }
}

impl Session<'_> {
    /// GETs a small answer (a JSON document of at most `limit` bytes), stored
    /// and recorded; the body is kept in memory for parsing.
    pub async fn get_json(&self, url: &str, limit: u64) -> Result<Fetched, NetError> {
        let place = self.start();
        let f = self.client().get_small(url, self.archive, limit).await?;
        self.record(place, &f);
        Ok(f)
    }

    /// [`Session::get_json`] with `Authorization: Bearer TOKEN` (the token is
    /// in no recorded exchange: see [`Client::get_small_bearer`]).
    pub async fn get_json_bearer(
        &self,
        url: &str,
        limit: u64,
        token: &str,
    ) -> Result<Fetched, NetError> {
        let place = self.start();
        let f = self
            .client()
            .get_small_bearer(url, self.archive, limit, token)
            .await?;
        self.record(place, &f);
        Ok(f)
    }

    /// Meta's app token, when one was given.
    pub fn meta_token(&self) -> Option<&meta::MetaToken> {
        self.meta_token.as_ref()
    }

    /// GETs a file (any size up to the client's cap), stored and recorded.
    pub async fn get_file(&self, url: &str) -> Result<Fetched, NetError> {
        let place = self.start();
        let f = self.client().get(url, self.archive, 0).await?;
        self.record(place, &f);
        Ok(f)
    }

    /// The post's URL as cited, when known: a platform whose endpoint wants
    /// the post's URL rather than its id (TikTok's oEmbed wants
    /// `/@user/video/ID`) asks with it.
    pub fn cited_url(&self) -> Option<&str> {
        self.cited.url.as_deref()
    }

    /// Lets this capture fetch from `host` too (suffix match), for a
    /// platform whose hosts are known only per post: a Mastodon instance,
    /// a Bluesky account's PDS. Every rule of the client still applies
    /// (public addresses only, redirects re-checked, caps, per-host limits).
    pub fn admit(&self, host: &str) {
        let mut admitted = self.admitted.lock().unwrap_or_else(|e| e.into_inner());
        let widened = admitted
            .as_ref()
            .unwrap_or(self.client)
            .admitting(&[host.to_string()]);
        *admitted = Some(widened);
    }

    /// The client, allowed the hosts [`Session::admit`] added.
    fn client(&self) -> std::borrow::Cow<'_, Client> {
        match &*self.admitted.lock().unwrap_or_else(|e| e.into_inner()) {
            Some(widened) => std::borrow::Cow::Owned(widened.clone()),
            None => std::borrow::Cow::Borrowed(self.client),
        }
    }

    /// Marks `f` as the answer the post was read from (by default the first
    /// exchange): a quoted post's own capture keeps it.
    pub fn answered_by(&self, f: &Fetched) {
        *self.answer.lock().unwrap_or_else(|e| e.into_inner()) = Some(f.exchange.clone());
    }

    /// The exchanges recorded so far, in the order their requests started.
    pub fn exchanges(&self) -> Vec<crate::net::Exchange> {
        let mut all = self
            .exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        all.sort_by_key(|(place, _)| *place);
        all.into_iter().map(|(_, e)| e).collect()
    }

    /// The answer the post was read from: the one marked, else the first exchange.
    fn answer(&self) -> Option<crate::net::Exchange> {
        let marked = self
            .answer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        marked.or_else(|| self.exchanges().into_iter().next())
    }

    fn start(&self) -> usize {
        self.started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    fn record(&self, place: usize, f: &Fetched) {
        self.exchanges
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((place, f.exchange.clone()));
    }
}

/// What to capture: a post, or a short link that should lead to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A post known by id.
    Post(PostId),
    /// A short link as scan reports it (`t.co/abc`).
    Short(String),
    /// A URL that is not a post of a supported provider.
    Other(String),
}

impl Target {
    /// A post, or, for a Bluesky post known by its author's handle, the
    /// link that resolves the handle first ([`bluesky::handle_link`]).
    pub fn post(post: PostId) -> Target {
        match bluesky::handle_link(&post) {
            Some(link) => Target::Short(link),
            None => Target::Post(post),
        }
    }

    /// Reads a URL in any form (post URL, short link) or `provider:id`.
    pub fn parse(s: &str) -> Target {
        Target::parse_with_url(s).0
    }

    /// [`Target::parse`], with the post's canonical URL when the input gives one.
    pub fn parse_with_url(s: &str) -> (Target, Option<String>) {
        if let Some(post) = PostId::parse_label(s) {
            return (Target::post(post), None);
        }
        match classify_url(s) {
            Some(UrlMatch::Post(p, post)) => match Target::post(PostId::new(p, post.id)) {
                Target::Post(id) => (Target::Post(id), Some(post.url)),
                other => (other, None),
            },
            Some(UrlMatch::ShortLink(link)) => (Target::Short(link), None),
            None => (Target::Other(s.to_string()), None),
        }
    }
}

/// One line of `archive --json` / `add --json` (docs/cli.md).
#[derive(Debug, Clone, Serialize)]
pub struct PostReport {
    /// The post (printed `provider:id`), or null for a short link that led nowhere.
    #[serde(serialize_with = "label")]
    pub post: Option<PostId>,
    /// The post's URL, or the short link.
    pub url: String,
    /// `archived`, `partial`, `unchanged`, `tombstone`, `not_found`,
    /// `protected`, `skipped`, `failed` (and, for a dry run, `would_capture`,
    /// `would_retry`, `would_resolve`).
    pub outcome: &'static str,
    /// The capture record's digest.
    pub capture: Option<String>,
    /// Media files stored for the post.
    pub media: usize,
    /// Articles that cite the post.
    pub articles: Vec<String>,
    /// Why it failed, or which files a partial capture misses: one line.
    pub error: Option<String>,
    /// The full URL of the request that failed, when one did.
    pub error_url: Option<String>,
    /// Where the capture came from (`syndication`, `oembed`, `api`…), when it
    /// found the post.
    pub source: Option<String>,
}

impl PostReport {
    /// A line with nothing stored (yet): no capture, no media, no error.
    pub fn new(
        post: Option<PostId>,
        url: String,
        outcome: &'static str,
        articles: Vec<String>,
    ) -> PostReport {
        PostReport {
            post,
            url,
            outcome,
            capture: None,
            media: 0,
            articles,
            error: None,
            error_url: None,
            source: None,
        }
    }

    /// Whether this counts as a failure (exit code 1): `failed`, or a
    /// `partial` capture that the next run completes.
    pub fn failed(&self) -> bool {
        matches!(self.outcome, "failed" | "partial")
    }
}

/// A post as JSON lines print it: `provider:id`.
fn label<S: serde::Serializer>(post: &Option<PostId>, s: S) -> Result<S::Ok, S::Error> {
    match post {
        Some(p) => s.collect_str(p),
        None => s.serialize_none(),
    }
}

/// The word a report gives a capture record: `archived` for a post found
/// whole, `partial` when files it may still get are missing, else the outcome.
fn outcome_name(r: &CaptureRecord) -> &'static str {
    match r.outcome {
        CaptureOutcome::Ok if r.is_partial() => "partial",
        CaptureOutcome::Ok => "archived",
        CaptureOutcome::Tombstone => "tombstone",
        CaptureOutcome::NotFound => "not_found",
        CaptureOutcome::Protected => "protected",
        CaptureOutcome::Failed => "failed",
    }
}

/// Whether a stored capture is final: a post found whole, or the platform's
/// word that it is gone or private. A `failed` or `partial` capture is not,
/// and the next run captures the post again.
pub fn is_settled(r: &CaptureRecord) -> bool {
    r.outcome != CaptureOutcome::Failed && !r.is_partial()
}

/// Everything captures running side by side share: the client, the archive,
/// the posts in flight (a post reached twice, by URL and by a short link,
/// is captured once; the second caller shares the first's result), and the
/// records written by this run (a post met again after this run captured it,
/// as another post's quote, reports what that capture found).
#[derive(Clone)]
pub struct Capturer {
    /// The HTTP client.
    pub client: Client,
    /// Where captures go.
    pub archive: Archive,
    /// Meta's app token (Instagram, Threads, Facebook oEmbed), if any.
    pub meta_token: Option<meta::MetaToken>,
    inflight: Arc<Mutex<HashMap<PostId, Arc<OnceCell<PostReport>>>>>,
    written: Arc<Mutex<std::collections::HashSet<Digest>>>,
}

impl Capturer {
    /// A capturer writing into `archive`.
    pub fn new(client: Client, archive: Archive) -> Self {
        Capturer {
            client,
            archive,
            meta_token: None,
            inflight: Arc::default(),
            written: Arc::default(),
        }
    }

    fn cell(&self, post: &PostId) -> Arc<OnceCell<PostReport>> {
        let mut cells = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(post.clone()).or_default().clone()
    }

    fn wrote(&self, d: Digest) {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(d);
    }

    fn written_now(&self, d: &Digest) -> bool {
        self.written
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(d)
    }

    /// Resolves (if needed) and captures one target. A post whose latest
    /// capture is settled ([`is_settled`]) is `unchanged` and costs no
    /// request, unless `refresh`; a `failed` or `partial` one is captured
    /// again, reusing the files the partial one stored. `url` is the post's
    /// URL as cited, when known.
    pub async fn run(
        &self,
        target: &Target,
        url: Option<&str>,
        quote: Option<Quote>,
        articles: Vec<String>,
        refresh: bool,
    ) -> PostReport {
        let report = |post: Option<&PostId>, url: String, outcome, error| PostReport {
            error,
            ..PostReport::new(post.cloned(), url, outcome, articles.clone())
        };
        let (post, url) = match target {
            Target::Post(p) => (
                p.clone(),
                url.map(str::to_string)
                    .filter(|u| !u.is_empty())
                    .unwrap_or_else(|| p.canonical_url()),
            ),
            Target::Other(u) => {
                return report(
                    None,
                    u.clone(),
                    "skipped",
                    Some("not a post of a supported provider".into()),
                );
            }
            Target::Short(s) => {
                let r = resolve::resolve(&self.client, &self.archive, s).await;
                match r.post {
                    Some((p, url)) => (p, url),
                    None => {
                        let mut line = report(None, format!("https://{s}"), "failed", r.error);
                        line.error_url = r.error_url;
                        return line;
                    }
                }
            }
        };
        let Some(platform) = platform(post.provider) else {
            return report(Some(&post), url, "skipped", None);
        };
        let cell = self.cell(&post);
        // A stored record's line: `unchanged`, or what the capture found.
        let stored = |unchanged: bool, digest: Digest, record: CaptureRecord, error_url| {
            let mut r = report(
                Some(&post),
                url.clone(),
                if unchanged {
                    "unchanged"
                } else {
                    outcome_name(&record)
                },
                // Only a capture made now reports why it failed.
                if unchanged { None } else { record.error },
            );
            r.error_url = error_url;
            r.capture = Some(digest.to_string());
            r.media = record.media.len();
            r.source = record.source;
            r
        };
        let shared = cell
            .get_or_init(|| async {
                let mut reuse = Vec::new();
                if let Ok(Some((digest, record))) = latest_capture(&self.archive, &post) {
                    if self.written_now(&digest) {
                        // Captured by this run already (as a quoted post).
                        return stored(false, digest, record, None);
                    }
                    if !refresh && is_settled(&record) {
                        return stored(true, digest, record, None);
                    }
                    reuse = record.media;
                }
                let now = OffsetDateTime::now_utc();
                match capture_post(self, platform, &post, &url, quote, &reuse, now).await {
                    Ok((digest, record, error_url)) => stored(false, digest, record, error_url),
                    Err(e) => report(Some(&post), url.clone(), "failed", Some(e.full_message())),
                }
            })
            .await;
        PostReport {
            articles,
            ..shared.clone()
        }
    }
}

/// Captures `post` now through `platform`: its answers, then every file of
/// the post it found (a file a previous capture stored from the same URL,
/// listed in `reuse`, is taken from the archive); stores the record (and the
/// quoted post's own record). Returns the record, its digest, and the full
/// URL of the request that failed, if one did.
async fn capture_post(
    capturer: &Capturer,
    platform: &dyn Platform,
    post: &PostId,
    url: &str,
    quote: Option<Quote>,
    reuse: &[Media],
    now: OffsetDateTime,
) -> Result<(Digest, CaptureRecord, Option<String>), crate::Error> {
    let cited = Cited {
        url: Some(url.to_string()).filter(|u| !u.is_empty()),
        handle: quote.as_ref().and_then(|q| q.handle.clone()),
    };
    let session = Session::new(&capturer.client, &capturer.archive)
        .citing(cited)
        .with_meta_token(capturer.meta_token.clone());
    let mut found = platform.fetch(&session, post).await;
    if found.source == Some(crate::post::source::ARTICLE) && found.post.is_none() {
        found = article_post(found, quote.as_ref(), url);
    }
    store_found(
        capturer, platform, &session, found, post, url, quote, reuse, now,
    )
    .await
}

/// Stores what `session` found of `post`: every file of the post (see
/// [`capture_post`]), the record, and the quoted post's own record.
#[expect(clippy::too_many_arguments, reason = "the parts of one capture")]
async fn store_found(
    capturer: &Capturer,
    platform: &dyn Platform,
    session: &Session<'_>,
    found: Found,
    post: &PostId,
    url: &str,
    quote: Option<Quote>,
    reuse: &[Media],
    now: OffsetDateTime,
) -> Result<(Digest, CaptureRecord, Option<String>), crate::Error> {
    let mut record = CaptureRecord::new(post.clone(), url.to_string(), now, found.outcome);
    record.article_quote = quote;
    record.source = found.source.map(str::to_string);
    record.error = found.error;
    let answer = session.answer();
    let mut quoted_record = None;
    if let Some(mut p) = found.post {
        let mut missing =
            store_assets(session, platform, &mut p, "", reuse, &mut record.media).await;
        if let Some(q) = p.quoted.as_mut() {
            let mut quoted_media = Vec::new();
            let quoted_missing = store_assets(
                session,
                platform,
                &mut q.post,
                "quoted_",
                reuse,
                &mut quoted_media,
            )
            .await;
            record.media.extend(quoted_media.iter().cloned());
            // The quoted post gets a capture of its own, from the same answer,
            // so `show` and render find it by its own id.
            let mut r = CaptureRecord::new(
                q.id.clone(),
                q.post.url.clone().unwrap_or_else(|| q.id.canonical_url()),
                now,
                CaptureOutcome::Ok,
            );
            r.source = record.source.clone();
            r.normalized = Some(q.post.clone());
            r.exchanges = answer.iter().cloned().collect();
            r.mementos = wayback::mementos(&r.exchanges, answer.as_ref().map(|a| a.url.as_str()));
            let unprefixed = |role: &str| role.trim_start_matches("quoted_").to_string();
            r.media = quoted_media
                .into_iter()
                .map(|m| Media {
                    role: unprefixed(&m.role),
                    ..m
                })
                .collect();
            r.missing = quoted_missing
                .iter()
                .map(|m| MissingFile {
                    role: unprefixed(&m.role),
                    ..m.clone()
                })
                .collect();
            missing.extend(quoted_missing);
            quoted_record = Some(r);
        }
        if !missing.is_empty() {
            let names: Vec<String> = missing
                .iter()
                .map(|m| format!("{} ({})", m.role, m.reason))
                .collect();
            let note = format!("media not stored: {}", names.join(", "));
            record.error = Some(match record.error.take() {
                Some(e) => format!("{e}; {note}"),
                None => note,
            });
        }
        record.missing = missing;
        record.normalized = Some(p);
    }
    record.exchanges = session.exchanges();
    record.mementos = wayback::mementos(&record.exchanges, answer.as_ref().map(|a| a.url.as_str()));
    if let Some(q) = &quoted_record {
        capturer.wrote(capturer.archive.put_capture(q)?);
    }
    let d = capturer.archive.put_capture(&record)?;
    capturer.wrote(d);
    if let Some((alias, alias_url)) = found.alias.filter(|(a, _)| a != post) {
        // The same capture under the post's other identity: its files and
        // answers are the same objects, only the record differs.
        let mut r = record.clone();
        r.post = alias;
        r.url = alias_url;
        capturer.wrote(capturer.archive.put_capture(&r)?);
    }
    let error_url = found.error_url.or_else(|| {
        record
            .missing
            .iter()
            .find(|m| m.retry)
            .map(|m| m.url.clone())
    });
    Ok((d, record, error_url))
}

/// A post the platform could not give ([`Found::from_article`]), kept as
/// the citing article quotes it; a failure naming why when it quotes nothing.
fn article_post(found: Found, quote: Option<&Quote>, url: &str) -> Found {
    let why = found.error.clone().unwrap_or_default();
    let Some(q) = quote.filter(|q| !q.is_empty()) else {
        return Found {
            error_url: found.error_url,
            ..Found::failed(format!("{why}; the article quotes nothing of it to keep"))
        };
    };
    let mut p = Post {
        url: (!url.is_empty()).then(|| url.to_string()),
        author: crate::post::Author {
            name: q.author.clone().unwrap_or_default(),
            handle: q.handle.clone(),
            ..crate::post::Author::default()
        },
        text: q.text.clone().unwrap_or_default(),
        ..Post::default()
    };
    p.set_sources(crate::post::source::ARTICLE);
    Found {
        post: Some(p),
        ..found
    }
}

/// Fetches every file of `post` (not of its quoted post) from its best URL,
/// falling back in order; marks each stored asset and lists it in `media`
/// (roles with `prefix`). A file a previous capture stored from one of the
/// same URLs (`reuse`), still in the archive, is not fetched again. Returns
/// what could not be stored, and whether another run may get it.
async fn store_assets(
    session: &Session<'_>,
    platform: &dyn Platform,
    post: &mut Post,
    prefix: &str,
    reuse: &[Media],
    media: &mut Vec<Media>,
) -> Vec<MissingFile> {
    let mut missing = Vec::new();
    for (role, asset) in post.assets_mut() {
        let role = format!("{prefix}{role}");
        let candidates: Vec<String> = asset.candidates().cloned().collect();
        let kept = reuse.iter().find(|m| {
            // Only an intact file is reused: a corrupt one is fetched again,
            // and the good bytes replace it. A copy stored in place of a
            // vouched original is not: the original is asked for again.
            m.role == role
                && candidates.contains(&m.url)
                && asset.sha256.is_none_or(|v| v == m.digest)
                && session.archive.is_intact(&m.digest, m.bytes)
        });
        if let Some(m) = kept {
            asset.stored = Some(m.stored_file());
            media.push(m.clone());
            continue;
        }
        // Why the best URL failed, and whether any failure may pass.
        let mut reason = None;
        let mut retry = false;
        for candidate in candidates {
            let vouched = asset.sha256.filter(|_| candidate == asset.url);
            match session.get_file(&candidate).await {
                Ok(f) => match (f.status(), f.exchange.body) {
                    (200..=299, Some(digest)) if vouched.is_some_and(|v| v != digest) => {
                        // Not the file the platform vouches for: a named
                        // failure, and no re-encoded copy in its place.
                        retry = true;
                        reason = Some(format!(
                            "its bytes (sha256 {digest}) do not match the sha256 its platform gives ({})",
                            vouched.map(|v| v.to_string()).unwrap_or_default()
                        ));
                        break;
                    }
                    (200..=299, Some(digest)) => {
                        let head = || file_head(session.archive, &digest);
                        if let Err(why) = platform.check_file(&candidate, &head) {
                            // A stand-in, not the file: the next URL may have it.
                            reason.get_or_insert(why);
                            continue;
                        }
                        let m = Media {
                            role: role.clone(),
                            url: candidate,
                            digest,
                            bytes: f.exchange.body_bytes,
                            content_type: f.header("content-type").map(str::to_string),
                        };
                        asset.stored = Some(m.stored_file());
                        media.push(m);
                        break;
                    }
                    (status, _) => {
                        let passing = platform.passing_refusal(&candidate, status);
                        retry |=
                            status == 408 || status == 429 || status >= 500 || passing.is_some();
                        reason.get_or_insert_with(|| {
                            passing.unwrap_or_else(|| format!("HTTP {status}"))
                        });
                    }
                },
                Err(e) => {
                    let transient = !matches!(e, NetError::Refused { .. });
                    retry |= transient;
                    reason.get_or_insert_with(|| e.to_string());
                    // A host too slow or gone for one size is so for the
                    // others: do not spend a deadline on each. A file the
                    // archive could not store (disk full, bucket refused) is
                    // not replaced by a smaller one: it stays missing, and
                    // the next run gets the best one.
                    if matches!(e, NetError::Timeout { .. } | NetError::Store(_))
                        || e.is_unreachable()
                    {
                        break;
                    }
                }
            }
        }
        match &asset.stored {
            None => missing.push(MissingFile {
                role,
                url: asset.url.clone(),
                reason: reason.unwrap_or_else(|| "no URL to fetch".into()),
                retry,
            }),
            // The vouched original failed and a copy stands in for it: the
            // copy is shown, the original stays missing for the next run.
            Some(copy) if asset.sha256.is_some() && copy.url != asset.url => {
                missing.push(MissingFile {
                    role,
                    url: asset.url.clone(),
                    reason: format!(
                        "{}; an unchecked copy from {} stands in",
                        reason.unwrap_or_else(|| "failed".into()),
                        crate::providers::split_url(&copy.url)
                            .map(|u| u.host)
                            .unwrap_or_default()
                    ),
                    retry: true,
                });
            }
            Some(_) => {}
        }
    }
    missing
}

/// The first [`FILE_HEAD`] bytes of a stored file (empty when it cannot be
/// read: the check then sees nothing to refuse).
fn file_head(archive: &Archive, digest: &Digest) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(r) = archive.open_object(digest) {
        let _ = r.take(FILE_HEAD as u64).read_to_end(&mut head);
    }
    head
}

/// The newest capture of a post, from its refs (the archive's truth: another
/// process's or machine's capture counts even if this index has not seen it).
pub fn latest_capture(
    archive: &Archive,
    post: &PostId,
) -> Result<Option<(Digest, CaptureRecord)>, crate::Error> {
    let Some(d) = archive.capture_digests(post)?.pop() else {
        return Ok(None);
    };
    Ok(Some((d, archive.read_json(&d)?)))
}
