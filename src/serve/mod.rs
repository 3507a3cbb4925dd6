//! `embarc serve`: the archive over HTTP, read-only. An oEmbed provider
//! ([`oembed`]) answering with the script-free card `render` makes, the
//! archive's objects as immutable media ([`media`]), a Memento TimeMap,
//! TimeGate and mementos per post ([`memento`], RFC 7089), and plain-HTML
//! browse pages ([`pages`]).
//!
//! Every file read goes through the store by digest or by ref, so no request
//! names a path: nothing outside the archive is ever read. Posts are found
//! through an in-memory [`catalog::Catalog`] built at start and refreshed on
//! an interval or on SIGHUP (reading only records it has not seen); cards
//! are made on demand from a post's records and kept in a bounded cache
//! keyed by the post's newest capture. This module never writes into the
//! archive and never touches the network beyond its own socket.

pub mod catalog;
mod media;
mod memento;
mod oembed;
mod pages;

use crate::error::{Error, Result};
use crate::post::PostId;
use crate::render::card::{CardOptions, MediaLinks};
use crate::render::view::{self, PostView};
use crate::store::record::PostCapture;
use crate::store::{Archive, Digest};
use axum::Router;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use catalog::Catalog;
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// The longest request target (path and query) answered; longer is 414.
pub const MAX_TARGET: usize = 8 * 1024;
/// Cards kept made (each a few KB).
const CARD_CACHE: usize = 4096;
/// Media objects remembered as verified (by size, inode and mtime).
const VERIFIED_CACHE: usize = 100_000;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The URL the server is reached at, without a trailing `/`
    /// (`http://127.0.0.1:8080`, or the public URL behind a proxy): oEmbed
    /// answers and Memento links are absolute under it.
    pub base_url: String,
    /// Where the cards of oEmbed answers refer to media (a CDN holding
    /// `HEX.EXT` files); by default this server's `/media/`.
    pub media_base: Option<String>,
    /// Posts per browse page.
    pub page_size: usize,
    /// The `cache_age` of oEmbed answers, in seconds.
    pub cache_age: u64,
    /// How often the catalog is refreshed from the archive's refs (`None`:
    /// only on SIGHUP).
    pub refresh: Option<Duration>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            base_url: "http://127.0.0.1:8080".into(),
            media_base: None,
            page_size: 50,
            cache_age: 3600,
            refresh: Some(Duration::from_secs(60)),
        }
    }
}

/// One line of the access log (`--json`: one JSON object per request).
#[derive(Debug, Clone, Serialize)]
pub struct AccessLine {
    /// When the request arrived (RFC 3339, UTC).
    pub time: String,
    /// The client's address.
    pub remote: String,
    /// `GET`, `HEAD`…
    pub method: String,
    /// The request target as sent (path and query; absolute-form when the
    /// client took the server for a proxy).
    pub target: String,
    /// The status answered.
    pub status: u16,
    /// The body's length, when known before it is sent.
    pub bytes: Option<u64>,
    /// Time to the response head, in milliseconds.
    pub ms: f64,
}

/// What the server reports as it runs.
pub trait Observer: Send + Sync + 'static {
    /// A request was answered.
    fn request(&self, line: &AccessLine);
    /// The catalog was (re)built: posts, captures, and what could not be read.
    fn catalog(&self, posts: usize, captures: usize, problems: &[String]);
    /// A refresh failed; the previous catalog stays in use.
    fn refresh_failed(&self, error: &Error);
}

/// The shared state of the handlers.
pub(crate) struct Shared {
    archive: Archive,
    config: Config,
    catalog: RwLock<Arc<Catalog>>,
    cards: Mutex<CardCache>,
    verified: Mutex<HashMap<Digest, media::Seen>>,
    observer: Arc<dyn Observer>,
}

type AppState = Arc<Shared>;

/// Cards made, by post and variant, with the digest of the capture record
/// each was made from (a newer capture makes a new card).
type CardCache = HashMap<(PostId, bool), (Digest, Arc<Card>)>;

/// A post's card as made for an answer.
pub(crate) struct Card {
    /// The card's HTML fragment.
    pub html: String,
    /// The view it was made from.
    pub view: PostView,
}

impl Shared {
    fn catalog(&self) -> Arc<Catalog> {
        match self.catalog.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn media_base(&self, absolute: bool) -> String {
        match (&self.config.media_base, absolute) {
            (Some(m), true) => m.clone(),
            (_, true) => format!("{}/media/", self.config.base_url),
            (_, false) => "/media/".into(),
        }
    }

    /// The card of a post from its captures up to and including `upto` (an
    /// index into the catalog's captures; `None`: all), with media under
    /// this server (`absolute`: as a full URL, or the `--media-base`). Made
    /// from the post's records; the newest card of each post is cached.
    /// `Ok(None)`: the captures hold nothing a card can show.
    fn card(&self, id: &PostId, upto: Option<usize>, absolute: bool) -> Result<Option<Arc<Card>>> {
        let catalog = self.catalog();
        let Some(entry) = catalog.post(id) else {
            return Ok(None);
        };
        let n = upto.map_or(entry.captures.len(), |i| (i + 1).min(entry.captures.len()));
        let Some(last) = entry.captures.get(n.wrapping_sub(1)) else {
            return Ok(None);
        };
        let key = (id.clone(), absolute);
        let whole = n == entry.captures.len();
        if whole
            && let Ok(cache) = self.cards.lock()
            && let Some((d, card)) = cache.get(&key)
            && *d == last.digest
        {
            return Ok(Some(card.clone()));
        }
        let digests: Vec<Digest> = entry.captures[..n].iter().map(|c| c.digest).collect();
        let captures: Vec<PostCapture> = self.archive.read_jsons(&digests)?;
        let Some(v) = view::post_view(&id.label(), &captures, None) else {
            return Ok(None);
        };
        let mut links = MediaLinks::new(&self.media_base(absolute));
        let html = crate::render::card::card_html(&v, &CardOptions::default(), &mut links);
        let card = Arc::new(Card { html, view: v });
        if whole && let Ok(mut cache) = self.cards.lock() {
            if cache.len() >= CARD_CACHE
                && let Some(k) = cache.keys().next().cloned()
            {
                cache.remove(&k);
            }
            cache.insert(key, (last.digest, card.clone()));
        }
        Ok(Some(card))
    }

    /// Reads the archive's refs again and the records not seen yet.
    fn refresh(&self) {
        let before = self.catalog();
        match Catalog::load(&self.archive, Some(&before)) {
            Ok(c) => {
                self.observer.catalog(c.len(), c.captures(), &c.problems);
                if let Ok(mut slot) = self.catalog.write() {
                    *slot = Arc::new(c);
                }
            }
            Err(e) => self.observer.refresh_failed(&e),
        }
    }
}

/// A running server's catalog, built before the socket is served.
pub struct Server {
    shared: AppState,
}

impl Server {
    /// Reads the archive into the catalog (every capture record once, on
    /// all cores) and reports it to `observer`.
    pub fn new(archive: Archive, config: Config, observer: Arc<dyn Observer>) -> Result<Server> {
        let catalog = Catalog::load(&archive, None)?;
        observer.catalog(catalog.len(), catalog.captures(), &catalog.problems);
        Ok(Server {
            shared: Arc::new(Shared {
                archive,
                config,
                catalog: RwLock::new(Arc::new(catalog)),
                cards: Mutex::new(HashMap::new()),
                verified: Mutex::new(HashMap::new()),
                observer,
            }),
        })
    }

    /// The routes, as a tower service (for tests and embedding).
    pub fn router(&self) -> Router {
        router(self.shared.clone())
    }

    /// Serves `listener` until `shutdown` completes, then finishes the
    /// requests in flight. Refreshes the catalog every `config.refresh` and
    /// on SIGHUP.
    pub async fn run(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let shared = self.shared.clone();
        let refresher = tokio::spawn(refresh_loop(shared.clone()));
        let addr = listener.local_addr().ok();
        let app = self
            .router()
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        refresher.abort();
        served.map_err(|e| Error::Io {
            path: addr.map(|a| a.to_string()).unwrap_or_default().into(),
            source: e,
        })
    }
}

/// Refreshes on the configured interval and on SIGHUP.
async fn refresh_loop(shared: AppState) {
    let every = shared.config.refresh;
    let mut hup = hangup();
    loop {
        let tick = async {
            match every {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = tick => {}
            _ = next_hangup(&mut hup) => {}
        }
        let s = shared.clone();
        let _ = tokio::task::spawn_blocking(move || s.refresh()).await;
    }
}

#[cfg(unix)]
type Hangup = Option<tokio::signal::unix::Signal>;
#[cfg(not(unix))]
type Hangup = Option<()>;

#[cfg(unix)]
fn hangup() -> Hangup {
    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()
}
#[cfg(not(unix))]
fn hangup() -> Hangup {
    None
}

#[cfg(unix)]
async fn next_hangup(h: &mut Hangup) {
    match h {
        Some(s) => {
            s.recv().await;
        }
        None => std::future::pending().await,
    }
}
#[cfg(not(unix))]
async fn next_hangup(_: &mut Hangup) {
    std::future::pending().await
}

/// Completes on SIGINT or SIGTERM: the server's graceful shutdown.
pub async fn shutdown_signal() {
    let int = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = int => {}
            _ = term => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = int.await;
    }
}

fn router(shared: AppState) -> Router {
    Router::new()
        .route("/", get(pages::index))
        .route("/embarc.css", get(pages::stylesheet))
        .route("/post/{provider}/{*id}", get(pages::post))
        .route("/article", get(pages::article))
        .route("/oembed", get(oembed::answer))
        .route("/media/{name}", get(media::object))
        .route("/timegate/{*url}", get(memento::timegate))
        .route("/timemap/link/{*url}", get(memento::timemap))
        .route("/memento/{stamp}/{*url}", get(memento::memento))
        .fallback(not_found)
        .layer(axum::middleware::from_fn(limits))
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            access_log,
        ))
        .with_state(shared)
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found")
}

/// A short plain-text answer.
pub(crate) fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

/// An archive error as an answer: a missing object 404, anything else 500
/// naming what failed.
pub(crate) fn failure(e: &Error) -> Response {
    let status = match e {
        Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            StatusCode::NOT_FOUND
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    plain(status, &e.full_message())
}

/// Only GET and HEAD, no request body, a bounded request target.
async fn limits(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "this server is read-only: GET and HEAD only",
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let target_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target_len > MAX_TARGET {
        return plain(
            StatusCode::URI_TOO_LONG,
            &format!("request target longer than {MAX_TARGET} bytes"),
        );
    }
    let has_body = req.headers().contains_key(header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0");
    if has_body {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "no request body is accepted");
    }
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(HeaderValue::from_static("nosniff"));
    h.entry(header::REFERRER_POLICY)
        .or_insert(HeaderValue::from_static("no-referrer"));
    r
}

async fn access_log(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let time = crate::store::stamp(time::OffsetDateTime::now_utc());
    let remote = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_default();
    let method = req.method().to_string();
    let target = req.uri().to_string();
    let r = next.run(req).await;
    let bytes = r
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    s.observer.request(&AccessLine {
        time: rfc3339(&time),
        remote,
        method,
        target,
        status: r.status().as_u16(),
        bytes,
        ms: (start.elapsed().as_secs_f64() * 1e6).round() / 1e3,
    });
    r
}

/// `YYYYMMDDTHHMMSS.ffffffZ` as RFC 3339.
fn rfc3339(stamp: &str) -> String {
    if stamp.len() < 15 {
        return stamp.to_string();
    }
    format!(
        "{}-{}-{}T{}:{}:{}",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        &stamp[13..]
    )
}

/// Reads a post given as a URL in any form the scanner accepts (short links
/// through the archive's resolutions) or `provider:id`. `Err(())` when it
/// is not a post URL at all; `Ok(None)` when it is one the archive never
/// resolved (a short link).
pub(crate) fn post_of(archive: &Archive, s: &str) -> std::result::Result<Option<PostId>, Error> {
    crate::render::post_key(archive, s)
}

/// Whether `s` names a post at all (a post URL, a short link, `provider:id`).
pub(crate) fn is_post_url(s: &str) -> bool {
    !matches!(
        crate::capture::Target::parse(s),
        crate::capture::Target::Other(_)
    )
}

/// Runs archive reads off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> std::result::Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("internal error: {e}"),
        )
    })
}

/// Percent-encodes a query value.
pub(crate) fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_times_are_rfc3339() {
        assert_eq!(
            rfc3339("20261201T212936.123456Z"),
            "2026-12-01T21:29:36.123456Z"
        );
    }
}
