//! net: the one HTTP client embarc uses. It fetches only hosts it is allowed
//! to, re-checks every redirect hop itself (redirects are never followed
//! automatically), refuses loopback, private and link-local addresses (also
//! after DNS) unless a host was mapped there with `--mirror`, and retries what
//! a retry may cure (429, 408, 5xx, resets, timeouts) with backoff and jitter,
//! honouring `Retry-After` and `x-rate-limit-reset`, but never a DNS failure, a
//! refused connection, a refused address, a TLS failure or another 4xx. It
//! limits concurrency per host, gives each body a time limit that fits it (a
//! deadline for a JSON answer or a page, a minimum rate for a file, a silence
//! limit for all), caps every body, and streams bodies into a sink the caller
//! gives ([`BodyStore`]). Its errors are one short line, `HOST: reason`, with
//! [`NetError::kind`] for machines. It knows nothing of the archive.

mod guard;
mod sink;

use crate::digest::Digest;
pub use guard::is_public;
use serde::{Deserialize, Serialize};
pub use sink::{BodySink, BodyStore, Memory};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use tokio::sync::Semaphore;

/// `--mirror HOST=BASE_URL`: requests for HOST go to BASE_URL + path and query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    /// The original host (lowercase).
    pub host: String,
    /// The base URL, without a trailing slash.
    pub base: String,
}

impl std::str::FromStr for Mirror {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (host, base) = s.split_once('=').ok_or_else(|| {
            format!("{s}: a mirror is HOST=BASE_URL, e.g. t.co=http://127.0.0.1:8080")
        })?;
        let host = host.trim().to_ascii_lowercase();
        let base = base.trim().trim_end_matches('/').to_string();
        let parsed = url::Url::parse(&base).map_err(|e| format!("{s}: bad base URL: {e}"))?;
        if host.is_empty() || !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "{s}: a mirror is HOST=BASE_URL with an http(s) base URL"
            ));
        }
        Ok(Mirror { host, base })
    }
}

/// The User-Agent embarc 0.1 sent with every request, before exchanges
/// recorded their own ([`Exchange::user_agent`]): an export of those captures
/// writes it into their reconstructed requests.
pub const LEGACY_USER_AGENT: &str =
    "embarc/0.1.0 (+https://github.com/embarc; archiving embedded posts)";

/// The default User-Agent: the tool and its version, the project's address
/// when the package names one (`repository` in Cargo.toml), and `contact`
/// (the operator's e-mail or URL, `--contact`), which archives and platforms
/// ask of crawlers: `embarc/0.2.0 (archiving embedded posts; contact:
/// archive@example.org)`.
pub fn default_user_agent(contact: Option<&str>) -> String {
    let mut ua = format!(
        "embarc/{} (archiving embedded posts",
        env!("CARGO_PKG_VERSION")
    );
    if let Some(repo) = option_env!("CARGO_PKG_REPOSITORY").filter(|r| !r.is_empty()) {
        ua.push_str("; +");
        ua.push_str(repo);
    }
    if let Some(c) = contact.map(str::trim).filter(|c| !c.is_empty()) {
        ua.push_str("; contact: ");
        ua.push_str(c);
    }
    ua.push(')');
    ua
}

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Host mappings (a mirror, a caching proxy, a local test server).
    pub mirrors: Vec<Mirror>,
    /// Hosts that may be fetched (suffix match); `None` allows any public host.
    pub allowed_hosts: Option<Vec<String>>,
    /// The User-Agent sent.
    pub user_agent: String,
    /// Time to establish a connection (TCP, then TLS).
    pub connect_timeout: Duration,
    /// Longest silence: waiting for the response head once connected, or
    /// between two chunks of a body.
    pub read_timeout: Duration,
    /// Longest time for a small answer ([`Client::get_small`]: a JSON
    /// document), head and body, per attempt.
    pub api_timeout: Duration,
    /// Longest time for each hop of an article page ([`Client::get_page`]),
    /// head and body, per attempt.
    pub page_timeout: Duration,
    /// The least rate, in bytes per second, of a file body ([`Client::get`]):
    /// an attempt fails when less than `min_rate × slow_window` bytes arrive
    /// in any `slow_window` (the first starts with the response head); a
    /// body that keeps up takes as long as it needs. 0 for no floor.
    pub min_rate: u64,
    /// The window over which `min_rate` is measured.
    pub slow_window: Duration,
    /// Longest time for one attempt of a file body whatever its rate: a last
    /// resort, as the rate floor and the silence limit end stalled transfers.
    pub total_timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_body: u64,
    /// Attempts per request (1 = no retry).
    pub max_attempts: u32,
    /// The longest wait a server may ask for before a retry.
    pub max_wait: Duration,
    /// Requests in flight per host.
    pub per_host: usize,
    /// Least time between two requests to one host (a rate limit; zero for none).
    pub min_interval: Duration,
    /// Hosts (or a path under one) with limits of their own, stricter than
    /// `per_host` and `min_interval` ([`HostLimit::wayback`]): the first
    /// that matches a URL gates it, with the stricter of both limits.
    pub host_limits: Vec<HostLimit>,
    /// Called after every attempt with one line: method, URL, status or
    /// error, bytes, time (`-vv`, `--log FILE`).
    pub on_request: Option<RequestLog>,
}

/// A callback for each request's line (see [`NetConfig::on_request`]).
#[derive(Clone)]
pub struct RequestLog(pub Arc<dyn Fn(&str) + Send + Sync>);

impl std::fmt::Debug for RequestLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestLog")
    }
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            mirrors: Vec::new(),
            // Nothing until the caller says which hosts (the platforms' own:
            // `capture::net_config`), or `None` for any public host.
            allowed_hosts: Some(Vec::new()),
            user_agent: default_user_agent(None),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            api_timeout: Duration::from_secs(30),
            page_timeout: Duration::from_secs(60),
            min_rate: 10_000,
            slow_window: Duration::from_secs(30),
            // 512 MiB (`max_body`) at 75 KB/s: far above what the floor allows.
            total_timeout: Duration::from_secs(2 * 60 * 60),
            max_body: 512 * 1024 * 1024,
            max_attempts: 4,
            max_wait: Duration::from_secs(120),
            per_host: 4,
            min_interval: Duration::ZERO,
            host_limits: HostLimit::wayback(),
            on_request: None,
        }
    }
}

/// Limits of their own for one host, or for the URLs under a path of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostLimit {
    /// The host (lowercase, exact).
    pub host: String,
    /// A path prefix (`/cdx/`), or empty for the whole host.
    pub path: String,
    /// Requests in flight at once.
    pub per_host: usize,
    /// Least time between two requests.
    pub min_interval: Duration,
}

impl HostLimit {
    /// The Wayback Machine's: its CDX search API at most 0.8 requests a
    /// second, one at a time (the Internet Archive limits `/cdx/*` to 60
    /// requests a minute per IP over 5 minutes, as its staff told the
    /// maintainers of EDGI's `wayback` client, whose default is 0.8 a
    /// second: edgi-govdata-archiving/wayback#153); its replay (`/web/…`)
    /// two at a time, 8 a second (that client's memento default).
    pub fn wayback() -> Vec<HostLimit> {
        let host = "web.archive.org".to_string();
        vec![
            HostLimit {
                host: host.clone(),
                path: "/cdx/".into(),
                per_host: 1,
                min_interval: Duration::from_millis(1250),
            },
            HostLimit {
                host,
                path: String::new(),
                per_host: 2,
                min_interval: Duration::from_millis(125),
            },
        ]
    }
}

/// One HTTP request and its response, as a capture records it: the body is
/// named by its SHA-256 (the object the sink stored it as).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The original URL (never the mirror's).
    pub url: String,
    /// The mirror base URL the request actually went to, if any.
    #[serde(default)]
    pub via: Option<String>,
    /// `GET`, …
    pub method: String,
    /// The response status.
    pub status: u16,
    /// Response headers in order, names lowercase.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body exactly as received.
    pub body: Option<Digest>,
    /// Its size.
    #[serde(default)]
    pub body_bytes: u64,
    /// When the request started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// How long until the body was complete.
    #[serde(default)]
    pub duration_ms: u64,
    /// The User-Agent the request carried (absent in records written before
    /// embarc recorded it: [`LEGACY_USER_AGENT`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// Why a request did not produce a response, decided where it failed (the
/// client's own checks, the resolver, the typed errors of the transport; never
/// by reading messages). The message is one short line, `HOST: reason`,
/// without the URL's path or query ([`NetError::url`] has the full URL). Only
/// a storage failure has a `source` (the store's): for the others
/// [`crate::error::full_message`] prints the same line, the transport's own
/// error (which names the URL) being read, not kept.
#[derive(Debug)]
pub enum NetError {
    /// embarc does not fetch this URL: not http(s), a host it does not fetch,
    /// an unusual port, a loopback, private or link-local address (named, or
    /// found by DNS), a bad or endless redirect.
    Refused {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// The host name did not resolve (no such name, no answer from DNS).
    Dns {
        /// The URL.
        url: String,
        /// The resolver's words (kept for debugging, not in the message).
        cause: String,
    },
    /// No connection: the host refused it, or there is no route to it.
    Connect {
        /// The URL.
        url: String,
        /// `connection refused`, `network unreachable`, `host unreachable`,
        /// `network down`.
        reason: &'static str,
    },
    /// The TLS handshake failed (a certificate not trusted, not TLS at all).
    Tls {
        /// The URL.
        url: String,
        /// What TLS said, short.
        cause: String,
    },
    /// A time limit was reached.
    Timeout {
        /// The URL.
        url: String,
        /// Which limit.
        limit: TimeLimit,
    },
    /// The body is larger than allowed.
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// An HTTP status where only success will do (an article page).
    Status {
        /// The URL.
        url: String,
        /// The status.
        status: u16,
    },
    /// The connection broke (reset, closed before the body was complete) or
    /// the transfer failed otherwise.
    Transport {
        /// The URL.
        url: String,
        /// What went wrong, short.
        message: String,
    },
    /// The archive could not store the body.
    Store(crate::Error),
}

/// Which time limit a request reached ([`NetConfig`] sets them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeLimit {
    /// No connection within `connect_timeout`.
    Connect(Duration),
    /// Nothing received for `read_timeout`.
    Silence(Duration),
    /// The whole answer did not arrive in time: `api_timeout` for a small
    /// answer, `page_timeout` for a page, `total_timeout` for a file.
    Total(Duration),
    /// A file body came slower than `min_rate` bytes per second over
    /// `window`.
    TooSlow {
        /// The floor, in bytes per second.
        min_rate: u64,
        /// The window it is measured over.
        window: Duration,
    },
}

impl std::fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeLimit::Connect(d) => write!(f, "timed out connecting after {}", secs(*d)),
            TimeLimit::Silence(d) => write!(f, "timed out: nothing received for {}", secs(*d)),
            TimeLimit::Total(d) => write!(f, "timed out after {}", secs(*d)),
            TimeLimit::TooSlow { min_rate, window } => {
                write!(
                    f,
                    "too slow (under {} for {})",
                    rate(*min_rate),
                    secs(*window)
                )
            }
        }
    }
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NetError::Store(e) => e.fmt(f),
            _ => write!(
                f,
                "{}: {}",
                host_label(self.url().unwrap_or_default()),
                self.reason()
            ),
        }
    }
}

impl std::error::Error for NetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // As if transparent: the store's error is the line.
            NetError::Store(e) => e.source(),
            _ => None,
        }
    }
}

impl From<crate::Error> for NetError {
    fn from(e: crate::Error) -> Self {
        NetError::Store(e)
    }
}

impl NetError {
    /// Why, in a few words: the error line without its `HOST: `.
    pub fn reason(&self) -> String {
        match self {
            NetError::Refused { reason, .. } => format!("refused: {reason}"),
            NetError::Dns { .. } => "DNS lookup failed".into(),
            NetError::Connect { reason, .. } => (*reason).into(),
            NetError::Tls { cause, .. } => format!("TLS handshake failed: {cause}"),
            NetError::Timeout { limit, .. } => limit.to_string(),
            NetError::TooLarge { limit, .. } => format!("body larger than {limit} bytes"),
            NetError::Status { status, .. } => format!("HTTP {status}"),
            NetError::Transport { message, .. } => message.clone(),
            NetError::Store(e) => crate::error::full_message(e),
        }
    }

    /// The error line naming the full URL instead of its host, for a URL the
    /// user gave (an article): `URL: reason`.
    pub fn with_full_url(&self) -> String {
        match self.url() {
            Some(url) => format!("{}: {}", short(url, 300), self.reason()),
            None => crate::error::full_message(self),
        }
    }

    /// The full URL the request was for (error lines name only its host).
    pub fn url(&self) -> Option<&str> {
        match self {
            NetError::Refused { url, .. }
            | NetError::Dns { url, .. }
            | NetError::Connect { url, .. }
            | NetError::Tls { url, .. }
            | NetError::Timeout { url, .. }
            | NetError::TooLarge { url, .. }
            | NetError::Status { url, .. }
            | NetError::Transport { url, .. } => {
                Some(url).filter(|u| !u.is_empty()).map(|u| u.as_str())
            }
            NetError::Store(_) => None,
        }
    }

    /// The cause in one word, for `--json`: `refused` (embarc does not fetch
    /// it), `dns`, `connect`, `tls`, `timeout`, `too_large`, `http` (a failure
    /// status), `transport` (a broken connection) or `storage`.
    pub fn kind(&self) -> &'static str {
        match self {
            NetError::Refused { .. } => "refused",
            NetError::Dns { .. } => "dns",
            NetError::Connect { .. } => "connect",
            NetError::Tls { .. } => "tls",
            NetError::Timeout { .. } => "timeout",
            NetError::TooLarge { .. } => "too_large",
            NetError::Status { .. } => "http",
            NetError::Transport { .. } => "transport",
            NetError::Store(_) => "storage",
        }
    }

    /// Whether the host could not be reached at all (no DNS answer, no
    /// connection, no connection in time): the sign of being offline.
    pub fn is_unreachable(&self) -> bool {
        matches!(
            self,
            NetError::Dns { .. }
                | NetError::Connect { .. }
                | NetError::Timeout {
                    limit: TimeLimit::Connect(_),
                    ..
                }
        )
    }

    /// Whether trying again may succeed: a broken connection or a time
    /// limit. A DNS failure, a refused connection or address, a TLS failure,
    /// a body too large and a storage failure are final.
    pub fn is_transient(&self) -> bool {
        matches!(self, NetError::Transport { .. } | NetError::Timeout { .. })
    }
}

/// How an error line names a URL: its host (and port when not the default),
/// else the URL without its query, shortened.
fn host_label(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) if u.host_str().is_some() => {
            let host = u.host_str().unwrap_or_default();
            match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host.to_string(),
            }
        }
        _ if url.is_empty() => "HTTP client".to_string(),
        _ => short(url.split(['?', '#']).next().unwrap_or(url), 60),
    }
}

/// `s` cut to at most `max` characters (an ellipsis marks the cut), on one
/// line.
fn short(s: &str, max: usize) -> String {
    let one_line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    match one_line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None => one_line,
    }
}

/// A duration for people: `30 s`, `0.4 s`.
fn secs(d: Duration) -> String {
    format!("{} s", (d.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// A rate for people, in decimal units: `10 KB/s`, `1.5 MB/s`.
fn rate(bytes_per_sec: u64) -> String {
    let b = bytes_per_sec as f64;
    let (value, unit) = if b >= 1e6 {
        (b / 1e6, "MB/s")
    } else if b >= 1e3 {
        (b / 1e3, "KB/s")
    } else {
        (b, "B/s")
    };
    format!("{} {unit}", (value * 10.0).round() / 10.0)
}

/// How reachable the hosts asked so far were: a run whose first requests all
/// fail to resolve or connect is offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Requests that got an HTTP answer (any status), counted once whatever
    /// their attempts.
    pub answered: u64,
    /// Requests whose host could not be reached ([`NetError::is_unreachable`]).
    pub unreachable: u64,
    /// The last host that could not be reached, and why: `host: reason`.
    pub last_unreachable: Option<String>,
}

/// A response, its body named by the sink it went to.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The exchange as the capture record keeps it.
    pub exchange: Exchange,
    /// The body bytes when small enough to keep in memory for parsing
    /// (`keep_up_to`), as received (not decompressed).
    pub body: Option<Vec<u8>>,
    /// How many attempts it took.
    pub attempts: u32,
    /// When the server asked for a retry later than [`NetConfig::max_wait`]
    /// allows (a rate limit resetting in an hour): the answer is final, and
    /// this says until when it stands.
    pub wait_refused: Option<LongWait>,
}

/// A retry the server asked for beyond [`NetConfig::max_wait`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongWait {
    /// When the server said it would answer again.
    pub until: OffsetDateTime,
    /// How long that was from the answer.
    pub wait: Duration,
    /// The longest wait the client would make.
    pub max_wait: Duration,
}

impl std::fmt::Display for LongWait {
    /// `19:42:10 UTC (in 3600 s), beyond the longest wait of 120 s: run
    /// again after that time`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let until = self.until.to_offset(time::UtcOffset::UTC);
        let day = if until.date() == OffsetDateTime::now_utc().date() {
            String::new()
        } else {
            format!("{} ", until.date())
        };
        write!(
            f,
            "{day}{:02}:{:02}:{:02} UTC (in {} s), beyond the longest wait of {} s: run again after that time",
            until.hour(),
            until.minute(),
            until.second(),
            self.wait.as_secs(),
            self.max_wait.as_secs()
        )
    }
}

impl Fetched {
    /// The response status.
    pub fn status(&self) -> u16 {
        self.exchange.status
    }

    /// A header's first value (name in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.exchange
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded from its Content-Encoding (gzip, deflate), at most
    /// `limit` bytes: a compression bomb fails instead of filling memory.
    pub fn decoded_body(&self, limit: u64) -> Option<Vec<u8>> {
        use std::io::Read;
        let body = self.body.as_ref()?;
        let mut out = Vec::new();
        let read = match self
            .header("content-encoding")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("gzip") | Some("x-gzip") => flate2::read::GzDecoder::new(&body[..])
                .take(limit + 1)
                .read_to_end(&mut out),
            Some("deflate") => flate2::read::ZlibDecoder::new(&body[..])
                .take(limit + 1)
                .read_to_end(&mut out),
            None | Some("identity") | Some("") => {
                out.extend_from_slice(body);
                Ok(out.len())
            }
            Some(_) => return None,
        };
        (read.is_ok() && out.len() as u64 <= limit).then_some(out)
    }
}

/// The client.
#[derive(Clone)]
pub struct Client {
    /// For every URL but the mirrors': only public addresses.
    http: reqwest::Client,
    /// For a mirror base's host and port only: its host name may resolve to
    /// a local address (the resolver trusts the names, the port is checked
    /// by [`Client::http_for`]).
    mirror_http: reqwest::Client,
    /// Each mirror base's host (lowercase) and port.
    mirror_bases: Arc<Vec<(String, u16)>>,
    cfg: Arc<NetConfig>,
    hosts: Arc<Mutex<HashMap<String, Arc<HostGate>>>>,
    received: Arc<std::sync::atomic::AtomicU64>,
    health: Arc<Mutex<Health>>,
}

/// Per-host limits: requests in flight, and when the next may start.
struct HostGate {
    slots: Semaphore,
    next_start: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Client {
    /// A client with `cfg`.
    pub fn new(cfg: NetConfig) -> Result<Client, NetError> {
        let mirror_bases: Vec<(String, u16)> = cfg
            .mirrors
            .iter()
            .filter_map(|m| {
                let u = url::Url::parse(&m.base).ok()?;
                Some((
                    u.host_str()?.to_ascii_lowercase(),
                    u.port_or_known_default()?,
                ))
            })
            .collect();
        let build = |trusted: Vec<String>| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .connect_timeout(cfg.connect_timeout)
                .user_agent(cfg.user_agent.clone())
                .no_proxy()
                .dns_resolver(Arc::new(guard::PublicResolver::new(trusted)))
                .build()
                .map_err(|e| NetError::Transport {
                    url: String::new(),
                    message: format!("cannot be built: {e}"),
                })
        };
        let http = build(Vec::new())?;
        let mirror_http = build(mirror_bases.iter().map(|(h, _)| h.clone()).collect())?;
        Ok(Client {
            http,
            mirror_http,
            mirror_bases: Arc::new(mirror_bases),
            cfg: Arc::new(cfg),
            hosts: Arc::new(Mutex::new(HashMap::new())),
            received: Arc::default(),
            health: Arc::default(),
        })
    }

    /// Body bytes received so far by this client (and its clones).
    pub fn bytes_received(&self) -> u64 {
        self.received.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// This client, also allowed to fetch `hosts` (suffix match, as
    /// [`NetConfig::allowed_hosts`]): a platform whose posts live on hosts
    /// known only per post (a Mastodon instance, a Bluesky account's PDS).
    /// Every other rule stays: public addresses only, redirects re-checked,
    /// the caps, and the per-host limits, shared with this client.
    pub fn admitting(&self, hosts: &[String]) -> Client {
        let mut out = self.clone();
        if let Some(allowed) = &self.cfg.allowed_hosts {
            let extra: Vec<String> = hosts
                .iter()
                .map(|h| h.trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty() && !allowed.contains(h))
                .collect();
            if !extra.is_empty() {
                let mut cfg = (*self.cfg).clone();
                cfg.allowed_hosts = Some(allowed.iter().cloned().chain(extra).collect());
                out.cfg = Arc::new(cfg);
            }
        }
        out
    }

    /// How reachable the hosts asked so far were (this client and its clones).
    pub fn health(&self) -> Health {
        self.health
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn note_health(&self, result: &Result<Fetched, NetError>) {
        let mut h = self.health.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => h.answered += 1,
            Err(e) if e.is_unreachable() => {
                h.unreachable += 1;
                h.last_unreachable = Some(e.to_string());
            }
            Err(_) => {}
        }
    }

    /// The configuration.
    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// Where a URL is actually requested: the mirror's URL when its host is
    /// mirrored (returned as `Some(base)`), else the URL itself after the
    /// host checks.
    pub fn route(&self, url: &str) -> Result<(String, Option<String>), NetError> {
        let refused = |reason: &str| NetError::Refused {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let parsed = url::Url::parse(url).map_err(|_| refused("not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(refused("only http and https are fetched"));
        }
        let host = parsed
            .host_str()
            .ok_or_else(|| refused("no host"))?
            .to_ascii_lowercase();
        if let Some(m) = self.cfg.mirrors.iter().find(|m| m.host == host) {
            let mut target = format!("{}{}", m.base, parsed.path());
            if let Some(q) = parsed.query() {
                target.push('?');
                target.push_str(q);
            }
            return Ok((target, Some(m.base.clone())));
        }
        if host_ip(&host).is_some_and(|ip| !is_public(ip)) {
            return Err(refused(
                "not a public address (loopback, private, link-local or another special-purpose range)",
            ));
        }
        if let Some(allowed) = &self.cfg.allowed_hosts {
            let ok = allowed
                .iter()
                .any(|a| host == *a || host.ends_with(&format!(".{a}")));
            if !ok {
                return Err(refused(
                    "not a host embarc fetches (pass --mirror to map it)",
                ));
            }
        }
        if parsed.port().is_some_and(|p| p != 80 && p != 443) && self.cfg.allowed_hosts.is_some() {
            return Err(refused("an unusual port"));
        }
        Ok((url.to_string(), None))
    }

    /// The HTTP client for a target URL: the one that trusts the mirrors'
    /// host names only when `target` is on a mirror base's host and port
    /// (`--mirror t.co=http://localhost:8080` trusts `localhost:8080`, not
    /// `localhost:22`).
    fn http_for(&self, target: &str) -> &reqwest::Client {
        let on_base = url::Url::parse(target).ok().is_some_and(|u| {
            let host = u.host_str().map(str::to_ascii_lowercase);
            let port = u.port_or_known_default();
            self.mirror_bases
                .iter()
                .any(|(h, p)| host.as_deref() == Some(h.as_str()) && port == Some(*p))
        });
        if on_base {
            &self.mirror_http
        } else {
            &self.http
        }
    }

    /// Whether `url` names a host this client does not fetch at all (neither
    /// allowed nor mirrored): a link out of the platform.
    pub fn is_foreign(&self, url: &str) -> bool {
        let Some(host) = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
        else {
            return false;
        };
        if self.cfg.mirrors.iter().any(|m| m.host == host) {
            return false;
        }
        // A private address is refused, not merely elsewhere.
        if host_ip(&host).is_some_and(|ip| !is_public(ip)) {
            return false;
        }
        self.cfg.allowed_hosts.as_ref().is_some_and(|allowed| {
            !allowed
                .iter()
                .any(|a| host == *a || host.ends_with(&format!(".{a}")))
        })
    }

    /// The gate of a URL's host, or of the [`HostLimit`] it falls under,
    /// and the least time between two of its requests.
    fn host_gate(&self, host: &str, path: &str) -> (Arc<HostGate>, Duration) {
        let own = self
            .cfg
            .host_limits
            .iter()
            .find(|l| l.host.eq_ignore_ascii_case(host) && path.starts_with(&l.path));
        let (key, per_host, interval) = match own {
            Some(l) => (
                format!("{}{}", l.host, l.path),
                l.per_host.min(self.cfg.per_host),
                l.min_interval.max(self.cfg.min_interval),
            ),
            None => (host.to_string(), self.cfg.per_host, self.cfg.min_interval),
        };
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        let gate = hosts
            .entry(key)
            .or_insert_with(|| {
                Arc::new(HostGate {
                    slots: Semaphore::new(per_host.max(1)),
                    next_start: tokio::sync::Mutex::new(tokio::time::Instant::now()),
                })
            })
            .clone();
        (gate, interval)
    }

    /// One GET of a file (redirects are returned, not followed), retried on
    /// 408, 429, 5xx, broken connections and timeouts. The body streams into
    /// a sink from `store`; bodies of at most `keep_up_to` bytes are also
    /// returned. It may take as long as it needs while it arrives at
    /// [`NetConfig::min_rate`] or faster (up to `total_timeout`).
    pub async fn get(
        &self,
        url: &str,
        store: &dyn BodyStore,
        keep_up_to: usize,
    ) -> Result<Fetched, NetError> {
        self.get_limited(url, store, keep_up_to, self.cfg.max_body, Pace::File, None)
            .await
    }

    /// [`Client::get`] for an answer that must be small (a JSON document): a
    /// body over `limit` bytes is refused as it arrives, and the answer, head
    /// and body, must come within [`NetConfig::api_timeout`].
    pub async fn get_small(
        &self,
        url: &str,
        store: &dyn BodyStore,
        limit: u64,
    ) -> Result<Fetched, NetError> {
        let keep = usize::try_from(limit).unwrap_or(usize::MAX);
        self.get_limited(
            url,
            store,
            keep,
            limit.min(self.cfg.max_body),
            Pace::Api,
            None,
        )
        .await
    }

    /// [`Client::get_small`] sending `Authorization: Bearer TOKEN`: for an
    /// endpoint that wants an app token (Meta's oEmbed). The token travels
    /// in the header only, never in the URL, so it appears in no recorded
    /// exchange, request log or error. Redirects are not followed, so it
    /// reaches no host but the one asked (or its mirror).
    pub async fn get_small_bearer(
        &self,
        url: &str,
        store: &dyn BodyStore,
        limit: u64,
        token: &str,
    ) -> Result<Fetched, NetError> {
        let keep = usize::try_from(limit).unwrap_or(usize::MAX);
        let limit = limit.min(self.cfg.max_body);
        self.get_limited(url, store, keep, limit, Pace::Api, Some(token))
            .await
    }

    /// Fetches a page to read (an article), following up to ten redirects,
    /// each hop checked again and given [`NetConfig::page_timeout`]; the
    /// body, decoded, at most `max` bytes. Nothing is archived.
    pub async fn get_page(&self, url: &str, max: u64) -> Result<Vec<u8>, NetError> {
        Ok(self.get_page_into(url, &Memory, max).await?.0)
    }

    /// [`Client::get_page`] whose every hop's body goes into `store` (an
    /// article kept as evidence); returns the decoded body and the exchanges
    /// of every hop, redirects included, in order.
    pub async fn get_page_into(
        &self,
        url: &str,
        store: &dyn BodyStore,
        max: u64,
    ) -> Result<(Vec<u8>, Vec<Exchange>), NetError> {
        let keep = usize::try_from(max).unwrap_or(usize::MAX);
        let mut url = url.to_string();
        let mut hops = Vec::new();
        for _ in 0..10 {
            let f = self
                .get_limited(&url, store, keep, max, Pace::Page, None)
                .await?;
            hops.push(f.exchange.clone());
            match (f.status(), f.header("location")) {
                (300..=399, Some(loc)) => {
                    url = url::Url::parse(&url)
                        .and_then(|b| b.join(loc))
                        .map_err(|e| NetError::Refused {
                            url: url.clone(),
                            reason: format!("bad redirect {:?}: {e}", short(loc, 60)),
                        })?
                        .to_string();
                }
                (200..=299, _) => {
                    let body = f.decoded_body(max).ok_or(NetError::Transport {
                        url,
                        message: "the page's body could not be decoded".into(),
                    })?;
                    return Ok((body, hops));
                }
                (status, _) => return Err(NetError::Status { url, status }),
            }
        }
        Err(NetError::Refused {
            url,
            reason: "more than ten redirects".into(),
        })
    }

    async fn get_limited(
        &self,
        url: &str,
        store: &dyn BodyStore,
        keep_up_to: usize,
        limit: u64,
        pace: Pace,
        bearer: Option<&str>,
    ) -> Result<Fetched, NetError> {
        let (target, via) = self.route(url)?;
        let (host, path) = url::Url::parse(url)
            .ok()
            .map(|u| {
                (
                    u.host_str().unwrap_or_default().to_string(),
                    u.path().to_string(),
                )
            })
            .unwrap_or_default();
        let (gate, interval) = self.host_gate(&host, &path);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let permit = gate
                .slots
                .acquire()
                .await
                .map_err(|_| NetError::Transport {
                    url: url.to_string(),
                    message: "client shut down".into(),
                })?;
            if !interval.is_zero() {
                let mut next = gate.next_start.lock().await;
                tokio::time::sleep_until(*next).await;
                *next = tokio::time::Instant::now() + interval;
            }
            let started = Instant::now();
            let result = self
                .once(
                    url,
                    &target,
                    via.clone(),
                    store,
                    keep_up_to,
                    limit,
                    pace,
                    bearer,
                )
                .await;
            drop(permit);
            if let Some(log) = &self.cfg.on_request {
                let took = started.elapsed().as_millis();
                (log.0)(&match &result {
                    Ok(f) => format!(
                        "GET {url} -> {} {} bytes {took} ms{}",
                        f.status(),
                        f.exchange.body_bytes,
                        via.as_deref()
                            .map_or(String::new(), |v| format!(" via {v}"))
                    ),
                    Err(e) => format!("GET {url} -> {} {took} ms", e.reason()),
                });
            }
            let retry_in = match &result {
                Ok(f) if matches!(f.status(), 408 | 429 | 500..=599) => {
                    Some(self.wait_for(f, attempt))
                }
                Ok(_) => None,
                Err(e) if e.is_transient() => Some(backoff(attempt)),
                Err(_) => None,
            };
            match retry_in {
                Some(wait) if attempt < self.cfg.max_attempts && wait <= self.cfg.max_wait => {
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    self.note_health(&result);
                    let max_wait = self.cfg.max_wait;
                    return result.map(|mut f| {
                        f.attempts = attempt;
                        // Said so the failure can tell when to try again.
                        f.wait_refused = retry_in.filter(|w| *w > max_wait).map(|wait| LongWait {
                            until: OffsetDateTime::now_utc() + wait,
                            wait,
                            max_wait,
                        });
                        f
                    });
                }
            }
        }
    }

    /// How long to wait before retrying a 408/429/5xx: the server's word
    /// (`Retry-After` seconds or date, `x-rate-limit-reset` epoch seconds), else
    /// exponential backoff with jitter.
    fn wait_for(&self, f: &Fetched, attempt: u32) -> Duration {
        let now = OffsetDateTime::now_utc();
        if let Some(v) = f.header("retry-after") {
            if let Ok(secs) = v.trim().parse::<u64>() {
                return Duration::from_secs(secs);
            }
            if let Ok(at) =
                OffsetDateTime::parse(v.trim(), &time::format_description::well_known::Rfc2822)
            {
                return Duration::try_from(at - now).unwrap_or(Duration::ZERO);
            }
        }
        if let Some(reset) = f
            .header("x-rate-limit-reset")
            .and_then(|v| v.trim().parse::<i64>().ok())
        {
            let secs = reset - now.unix_timestamp();
            return Duration::from_secs(secs.clamp(0, i64::MAX) as u64)
                + Duration::from_millis(200);
        }
        backoff(attempt)
    }

    /// One attempt. Its time limits: `connect_timeout`, then `read_timeout`
    /// of silence for the head and between chunks; for the whole answer the
    /// deadline of its `pace`; for a file body, the rate floor too.
    #[expect(clippy::too_many_arguments, reason = "one private call site")]
    async fn once(
        &self,
        url: &str,
        target: &str,
        via: Option<String>,
        store: &dyn BodyStore,
        keep_up_to: usize,
        limit: u64,
        pace: Pace,
        bearer: Option<&str>,
    ) -> Result<Fetched, NetError> {
        let cfg = &*self.cfg;
        let started_at = OffsetDateTime::now_utc();
        let clock = Instant::now();
        let timed_out = |limit: TimeLimit| NetError::Timeout {
            url: url.to_string(),
            limit,
        };
        let whole = match pace {
            Pace::Api => cfg.api_timeout,
            Pace::Page => cfg.page_timeout,
            Pace::File => cfg.total_timeout,
        };
        let deadline = later(clock, whole);
        let head_by =
            later(clock, cfg.connect_timeout.saturating_add(cfg.read_timeout)).min(deadline);
        let mut request = self
            .http_for(target)
            .get(target)
            .header("accept-encoding", "gzip, deflate, identity");
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        let mut response = match tokio::time::timeout_at(head_by.into(), request.send()).await {
            Ok(sent) => sent.map_err(|e| self.failure(url, target, &e))?,
            Err(_) if Instant::now() >= deadline => return Err(timed_out(TimeLimit::Total(whole))),
            Err(_) => return Err(timed_out(TimeLimit::Silence(cfg.read_timeout))),
        };
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(NetError::TooLarge {
                url: url.to_string(),
                limit,
            });
        }
        let mut writer = store.sink()?;
        let mut written: u64 = 0;
        let mut kept: Option<Vec<u8>> = Some(Vec::new());
        let mut last_data = Instant::now();
        let mut floor = match pace {
            Pace::File => Floor::new(last_data, cfg.min_rate, cfg.slow_window),
            Pace::Api | Pace::Page => None,
        };
        loop {
            let silent_at = later(last_data, cfg.read_timeout);
            let wake = floor
                .as_ref()
                .map_or(deadline, Floor::fails_at)
                .min(silent_at)
                .min(deadline);
            let chunk = match tokio::time::timeout_at(wake.into(), response.chunk()).await {
                Ok(chunk) => chunk.map_err(|e| self.failure(url, target, &e))?,
                Err(_) => {
                    let now = Instant::now();
                    if now >= silent_at {
                        return Err(timed_out(TimeLimit::Silence(cfg.read_timeout)));
                    }
                    if floor.as_ref().is_some_and(|f| now >= f.fails_at()) {
                        return Err(timed_out(TimeLimit::TooSlow {
                            min_rate: cfg.min_rate,
                            window: cfg.slow_window,
                        }));
                    }
                    if now >= deadline {
                        return Err(timed_out(TimeLimit::Total(whole)));
                    }
                    continue;
                }
            };
            let Some(chunk) = chunk else { break };
            if written + chunk.len() as u64 > limit {
                return Err(NetError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            writer.write(&chunk)?;
            written += chunk.len() as u64;
            last_data = Instant::now();
            if let Some(f) = floor.as_mut() {
                f.record(last_data, written);
            }
            self.received
                .fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed);
            if let Some(k) = kept.as_mut() {
                if k.len() + chunk.len() <= keep_up_to {
                    k.extend_from_slice(&chunk);
                } else {
                    kept = None;
                }
            }
        }
        let (digest, bytes): (Digest, u64) =
            match tokio::task::spawn_blocking(move || writer.finish()).await {
                Ok(finished) => finished?,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(_) => {
                    return Err(NetError::Transport {
                        url: url.to_string(),
                        message: "cancelled while storing the body".into(),
                    });
                }
            };
        Ok(Fetched {
            exchange: Exchange {
                url: url.to_string(),
                via,
                method: "GET".into(),
                status,
                headers,
                body: Some(digest),
                body_bytes: bytes,
                started_at,
                duration_ms: clock.elapsed().as_millis() as u64,
                user_agent: Some(self.cfg.user_agent.clone()),
            },
            body: kept,
            attempts: 1,
            wait_refused: None,
        })
    }

    /// What a transport error of a request for `url` (sent to `target`)
    /// means, read from the typed errors in its chain: the resolver's own
    /// verdict, the connect phase's I/O error, TLS's rejection.
    fn failure(&self, url: &str, target: &str, e: &reqwest::Error) -> NetError {
        let url = url.to_string();
        let chain: Vec<&(dyn std::error::Error + 'static)> = causes(e).collect();
        if let Some(r) = chain
            .iter()
            .find_map(|c| c.downcast_ref::<guard::ResolveError>())
        {
            return match r {
                guard::ResolveError::Lookup(io) => NetError::Dns {
                    url,
                    cause: short(&io.to_string(), 120),
                },
                guard::ResolveError::Private => NetError::Refused {
                    url,
                    reason: guard::PRIVATE.into(),
                },
            };
        }
        // The deepest cause that is not reqwest's (reqwest's names the URL).
        let innermost = chain
            .iter()
            .skip(1)
            .rev()
            .find(|c| !c.is::<reqwest::Error>())
            .map(|c| short(&c.to_string(), 120));
        let io_kinds: Vec<std::io::ErrorKind> = chain
            .iter()
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind)
            .collect();
        if e.is_connect() {
            use std::io::ErrorKind as K;
            if e.is_timeout() {
                return NetError::Timeout {
                    url,
                    limit: TimeLimit::Connect(self.cfg.connect_timeout),
                };
            }
            for kind in &io_kinds {
                let reason = match kind {
                    K::ConnectionRefused => "connection refused",
                    K::NetworkUnreachable => "network unreachable",
                    K::HostUnreachable => "host unreachable",
                    K::NetworkDown => "network down",
                    // rustls rejected what the server sent.
                    K::InvalidData if target.starts_with("https:") => {
                        return NetError::Tls {
                            url,
                            cause: innermost.unwrap_or_else(|| "rejected".into()),
                        };
                    }
                    _ => continue,
                };
                return NetError::Connect { url, reason };
            }
            if e.is_dns() {
                return NetError::Dns {
                    url,
                    cause: innermost.unwrap_or_default(),
                };
            }
            return NetError::Transport {
                url,
                message: format!(
                    "connection failed: {}",
                    innermost.as_deref().unwrap_or("no reason given")
                ),
            };
        }
        let known = io_kinds.iter().find_map(|kind| {
            use std::io::ErrorKind as K;
            Some(match kind {
                K::ConnectionReset => "connection reset",
                K::UnexpectedEof => "connection closed before the body was complete",
                K::ConnectionAborted | K::BrokenPipe => "connection aborted",
                K::TimedOut => "connection timed out",
                _ => return None,
            })
        });
        NetError::Transport {
            url,
            message: known
                .map(str::to_string)
                .or(innermost)
                .unwrap_or_else(|| "request failed".into()),
        }
    }
}

/// Which time limits an attempt has: a deadline for an answer read whole (a
/// JSON document, a page), a rate floor for a file.
#[derive(Debug, Clone, Copy)]
enum Pace {
    /// `api_timeout` for head and body.
    Api,
    /// `page_timeout` for head and body.
    Page,
    /// `min_rate` over `slow_window`, and `total_timeout` as a last resort.
    File,
}

/// The rate floor of a file body: every window of `window` (the first
/// starting with the response head) must bring at least `need` bytes.
struct Floor {
    need: u64,
    window: Duration,
    /// (when, bytes received by then), oldest first, starting at (head, 0).
    /// Samples less than `window / 32` apart are merged into the later one,
    /// which can only make the floor act later, never earlier.
    samples: VecDeque<(Instant, u64)>,
    total: u64,
}

impl Floor {
    /// A floor from `start`, or none when `min_rate` or `window` is zero.
    fn new(start: Instant, min_rate: u64, window: Duration) -> Option<Floor> {
        if min_rate == 0 || window.is_zero() {
            return None;
        }
        let need = (min_rate as f64 * window.as_secs_f64()).ceil() as u64;
        Some(Floor {
            need: need.max(1),
            window,
            samples: VecDeque::from([(start, 0)]),
            total: 0,
        })
    }

    /// `total` bytes received by `now`.
    fn record(&mut self, now: Instant, total: u64) {
        self.total = total;
        let n = self.samples.len();
        if n >= 2 && now.saturating_duration_since(self.samples[n - 2].0) < self.window / 32 {
            self.samples[n - 1] = (now, total);
        } else {
            self.samples.push_back((now, total));
        }
        // Windows ending from now on start after `now - window`: keep the
        // last sample before that and the ones after.
        if let Some(edge) = now.checked_sub(self.window) {
            while self.samples.len() >= 2 && self.samples[1].0 <= edge {
                self.samples.pop_front();
            }
        }
    }

    /// When the body fails the floor if nothing more arrives: the end of the
    /// first window that would hold fewer than `need` bytes.
    fn fails_at(&self) -> Instant {
        // The first sample after which fewer than `need` bytes came (the
        // last one always qualifies).
        let k = self
            .samples
            .partition_point(|&(_, by)| by + self.need <= self.total)
            .min(self.samples.len() - 1);
        later(self.samples[k].0, self.window)
    }
}

/// An error and its causes, looking inside I/O errors (whose `source` skips
/// the error they wrap).
fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io
            .get_ref()
            .map(|inner| inner as &(dyn std::error::Error + 'static)),
        None => e.source(),
    })
}

/// `t + d`, or a century later when that overflows (a limit set to "never").
fn later(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .unwrap_or_else(|| t + Duration::from_secs(100 * 365 * 24 * 3600))
}

/// The address a host names literally (`1.2.3.4`, `[::1]`), if it does.
fn host_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

/// Exponential backoff (0.5 s, 1 s, 2 s…, at most 30 s) with up to 50% jitter.
fn backoff(attempt: u32) -> Duration {
    let base = Duration::from_millis(500).saturating_mul(1 << attempt.saturating_sub(1).min(6));
    let base = base.min(Duration::from_secs(30));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn the_floor_fails_a_trickle_after_one_window_and_lets_a_steady_body_go_on() {
        let t0 = Instant::now();
        // 10 KB/s over 1 s: each second must bring 10,000 bytes.
        let mut f = Floor::new(t0, 10_000, Duration::from_secs(1)).expect("floor");
        assert_eq!(f.fails_at(), t0 + 1000 * MS);
        // 100 bytes every 100 ms: the first window ends short.
        for i in 1..=9 {
            f.record(t0 + 100 * i * MS, 100 * i as u64);
            assert_eq!(f.fails_at(), t0 + 1000 * MS, "{i}");
        }
        // 20 KB/s, 2,000 bytes every 100 ms for 5 s: never due before the
        // next chunk.
        let mut f = Floor::new(t0, 10_000, Duration::from_secs(1)).expect("floor");
        for i in 1..=50u32 {
            let now = t0 + 100 * i * MS;
            f.record(now, 2_000 * u64::from(i));
            assert!(f.fails_at() > now + 100 * MS, "{i}");
            assert!(f.samples.len() <= 70, "{}", f.samples.len());
        }
        // Then it stops: due once a window would hold fewer than 10,000
        // bytes, about half a second after the last chunk (at 5 s).
        let due = f.fails_at().duration_since(t0);
        assert!((5400 * MS..=5600 * MS).contains(&due), "{due:?}");
    }

    #[test]
    fn an_admitted_host_is_fetched_with_every_other_rule_kept() {
        let cfg = NetConfig {
            allowed_hosts: Some(vec!["twimg.com".into()]),
            ..NetConfig::default()
        };
        let client = Client::new(cfg).expect("client");
        let refused = |c: &Client, url: &str| matches!(c.route(url), Err(NetError::Refused { .. }));
        assert!(refused(
            &client,
            "https://mastodon.social/api/v1/statuses/1"
        ));
        let admitted = client.admitting(&["Mastodon.Social.".into()]);
        assert!(
            admitted
                .route("https://mastodon.social/api/v1/statuses/1")
                .is_ok()
        );
        assert!(admitted.route("https://pbs.twimg.com/media/a.jpg").is_ok());
        // Only the admitted host, on its default port, by name: never an
        // address, another host, or an unusual port.
        assert!(refused(&admitted, "https://example.org/"));
        assert!(refused(&admitted, "https://mastodon.social:8443/"));
        let local = client.admitting(&["127.0.0.1".into(), "[::1]".into()]);
        assert!(refused(&local, "http://127.0.0.1/api/v1/statuses/1"));
        assert!(refused(&local, "http://[::1]/"));
        // The original client is unchanged.
        assert!(refused(&client, "https://mastodon.social/"));
    }

    #[test]
    fn no_floor_without_a_rate_or_a_window() {
        let t0 = Instant::now();
        assert!(Floor::new(t0, 0, Duration::from_secs(30)).is_none());
        assert!(Floor::new(t0, 10_000, Duration::ZERO).is_none());
    }

    #[test]
    fn error_lines_name_the_host_not_the_url() {
        let url = "https://cdn.syndication.twimg.com/tweet-result?id=1&features=tfw_x%3Bon";
        let lines = [
            (
                NetError::Dns {
                    url: url.into(),
                    cause: "x".into(),
                },
                "cdn.syndication.twimg.com: DNS lookup failed",
            ),
            (
                NetError::Connect {
                    url: "http://127.0.0.1:8/x?y=1".into(),
                    reason: "connection refused",
                },
                "127.0.0.1:8: connection refused",
            ),
            (
                NetError::Timeout {
                    url: "https://video.twimg.com/a.mp4?tag=12".into(),
                    limit: TimeLimit::TooSlow {
                        min_rate: 10_000,
                        window: Duration::from_secs(30),
                    },
                },
                "video.twimg.com: too slow (under 10 KB/s for 30 s)",
            ),
            (
                NetError::Timeout {
                    url: url.into(),
                    limit: TimeLimit::Total(Duration::from_millis(1500)),
                },
                "cdn.syndication.twimg.com: timed out after 1.5 s",
            ),
            (
                NetError::Refused {
                    url: "not a url?features=x".into(),
                    reason: "not a URL".into(),
                },
                "not a url: refused: not a URL",
            ),
        ];
        for (e, line) in lines {
            assert_eq!(e.to_string(), line);
            assert_eq!(crate::error::full_message(&e), line);
        }
        assert_eq!(rate(1_500_000), "1.5 MB/s");
        assert_eq!(rate(512), "512 B/s");
        assert_eq!(short("a\nb", 10), "a b");
        assert_eq!(short("abcdef", 3), "abc…");
    }
}
