//! net: the one HTTP client embarc uses (DESIGN.md § Network rules). It fetches
//! only hosts it is allowed to, re-checks every redirect hop itself (redirects
//! are never followed automatically), refuses loopback, private and link-local
//! addresses (also after DNS) unless a host was mapped there with `--mirror`,
//! retries 429/5xx/connection errors with backoff and jitter honouring
//! `Retry-After` and `x-rate-limit-reset`, limits concurrency per host, applies
//! connect, read and total timeouts, caps every body, and streams bodies into a
//! sink the caller gives ([`BodyStore`]). It knows nothing of the archive.

mod guard;
mod sink;

use crate::digest::Digest;
pub use guard::is_public;
use serde::{Deserialize, Serialize};
pub use sink::{BodySink, BodyStore, Memory};
use std::collections::HashMap;
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

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Host mappings (a mirror, a caching proxy, a local test server).
    pub mirrors: Vec<Mirror>,
    /// Hosts that may be fetched (suffix match); `None` allows any public host.
    pub allowed_hosts: Option<Vec<String>>,
    /// The User-Agent sent.
    pub user_agent: String,
    /// Time to establish a connection.
    pub connect_timeout: Duration,
    /// Longest silence while reading a body.
    pub read_timeout: Duration,
    /// Longest time for one request, body included.
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
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            mirrors: Vec::new(),
            // Nothing until the caller says which hosts (the platforms' own:
            // `capture::net_config`), or `None` for any public host.
            allowed_hosts: Some(Vec::new()),
            user_agent: format!(
                "embarc/{} (+https://github.com/embarc; archiving embedded posts)",
                env!("CARGO_PKG_VERSION")
            ),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
            total_timeout: Duration::from_secs(300),
            max_body: 512 * 1024 * 1024,
            max_attempts: 4,
            max_wait: Duration::from_secs(120),
            per_host: 4,
            min_interval: Duration::ZERO,
        }
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
}

/// Why a request did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// The URL may not be fetched.
    #[error("{url}: refused: {reason}")]
    Refused {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
    /// A timeout.
    #[error("{url}: timed out ({what}); the server is slow or unreachable, try again later")]
    Timeout {
        /// The URL.
        url: String,
        /// Which limit.
        what: &'static str,
    },
    /// The body is larger than allowed.
    #[error("{url}: body larger than {limit} bytes; refused")]
    TooLarge {
        /// The URL.
        url: String,
        /// The cap.
        limit: u64,
    },
    /// A transport failure that retries did not cure.
    #[error("{url}: {message}")]
    Transport {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The archive could not store the body.
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl NetError {
    /// The full URL the request was for (error lines name only its host).
    pub fn url(&self) -> Option<&str> {
        match self {
            NetError::Refused { url, .. }
            | NetError::Timeout { url, .. }
            | NetError::TooLarge { url, .. }
            | NetError::Transport { url, .. } => {
                Some(url).filter(|u| !u.is_empty()).map(|u| u.as_str())
            }
            NetError::Store(_) => None,
        }
    }

    /// Whether the host could not be reached at all (no DNS answer, no
    /// connection): the sign of being offline, never worth a retry.
    pub fn is_unreachable(&self) -> bool {
        match self {
            NetError::Timeout { what, .. } => *what == "connect",
            NetError::Transport { message, .. } => {
                let m = message.to_ascii_lowercase();
                m.contains("dns error")
                    || m.contains("failed to lookup")
                    || m.contains("connection refused")
                    || m.contains("network is unreachable")
            }
            _ => false,
        }
    }
}

/// How reachable the hosts asked so far were: a run whose first requests all
/// fail to resolve or connect is offline.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Health {
    /// Requests that got an HTTP answer (any status).
    pub answered: u64,
    /// Requests whose host could not be reached ([`NetError::is_unreachable`]).
    pub unreachable: u64,
    /// The last host that could not be reached, and why (one line).
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
    http: reqwest::Client,
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
        let mirror_hosts: Vec<String> = cfg
            .mirrors
            .iter()
            .filter_map(|m| {
                url::Url::parse(&m.base)
                    .ok()?
                    .host_str()
                    .map(str::to_string)
            })
            .collect();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(cfg.connect_timeout)
            .user_agent(cfg.user_agent.clone())
            .no_proxy()
            .dns_resolver(Arc::new(guard::PublicResolver::new(mirror_hosts)))
            .build()
            .map_err(|e| NetError::Transport {
                url: String::new(),
                message: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Client {
            http,
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
            return Err(refused("a loopback, private or link-local address"));
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

    fn host_gate(&self, host: &str) -> Arc<HostGate> {
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(host.to_string())
            .or_insert_with(|| {
                Arc::new(HostGate {
                    slots: Semaphore::new(self.cfg.per_host.max(1)),
                    next_start: tokio::sync::Mutex::new(tokio::time::Instant::now()),
                })
            })
            .clone()
    }

    /// One GET (redirects are returned, not followed), retried on 429, 5xx and
    /// connection errors. The body streams into a sink from `store`; bodies of at most
    /// `keep_up_to` bytes are also returned.
    pub async fn get(
        &self,
        url: &str,
        store: &dyn BodyStore,
        keep_up_to: usize,
    ) -> Result<Fetched, NetError> {
        self.get_limited(url, store, keep_up_to, self.cfg.max_body)
            .await
    }

    /// [`Client::get`] for an answer that must be small (a JSON document): a
    /// body over `limit` bytes is refused as it arrives.
    pub async fn get_small(
        &self,
        url: &str,
        store: &dyn BodyStore,
        limit: u64,
    ) -> Result<Fetched, NetError> {
        let keep = usize::try_from(limit).unwrap_or(usize::MAX);
        self.get_limited(url, store, keep, limit.min(self.cfg.max_body))
            .await
    }

    /// Fetches a page to read (an article), following up to ten redirects,
    /// each hop checked again; the body, decoded, at most `max` bytes. Nothing
    /// is archived.
    pub async fn get_page(&self, url: &str, max: u64) -> Result<Vec<u8>, NetError> {
        let keep = usize::try_from(max).unwrap_or(usize::MAX);
        let mut url = url.to_string();
        for _ in 0..10 {
            let f = self.get_limited(&url, &Memory, keep, max).await?;
            match (f.status(), f.header("location")) {
                (300..=399, Some(loc)) => {
                    url = url::Url::parse(&url)
                        .and_then(|b| b.join(loc))
                        .map_err(|e| NetError::Refused {
                            url: url.clone(),
                            reason: format!("bad redirect {loc:?}: {e}"),
                        })?
                        .to_string();
                }
                (200..=299, _) => {
                    return f.decoded_body(max).ok_or(NetError::Transport {
                        url,
                        message: "body could not be decoded".into(),
                    });
                }
                (s, _) => {
                    return Err(NetError::Transport {
                        url,
                        message: format!("HTTP {s}"),
                    });
                }
            }
        }
        Err(NetError::Refused {
            url,
            reason: "too many redirects".into(),
        })
    }

    async fn get_limited(
        &self,
        url: &str,
        store: &dyn BodyStore,
        keep_up_to: usize,
        limit: u64,
    ) -> Result<Fetched, NetError> {
        let (target, via) = self.route(url)?;
        let host = url::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        let gate = self.host_gate(&host);
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
            if !self.cfg.min_interval.is_zero() {
                let mut next = gate.next_start.lock().await;
                tokio::time::sleep_until(*next).await;
                *next = tokio::time::Instant::now() + self.cfg.min_interval;
            }
            let result = self
                .once(url, &target, via.clone(), store, keep_up_to, limit)
                .await;
            drop(permit);
            self.note_health(&result);
            let retry_in = match &result {
                Ok(f) if f.status() == 429 || (500..600).contains(&f.status()) => {
                    Some(self.wait_for(f, attempt))
                }
                Ok(_) => None,
                Err(NetError::Transport { .. })
                | Err(NetError::Timeout {
                    what: "connect", ..
                }) => Some(backoff(attempt)),
                Err(_) => None,
            };
            match retry_in {
                Some(wait) if attempt < self.cfg.max_attempts && wait <= self.cfg.max_wait => {
                    tokio::time::sleep(wait).await;
                }
                _ => {
                    return result.map(|mut f| {
                        f.attempts = attempt;
                        f
                    });
                }
            }
        }
    }

    /// How long to wait before retrying a 429/5xx: the server's word
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

    async fn once(
        &self,
        url: &str,
        target: &str,
        via: Option<String>,
        store: &dyn BodyStore,
        keep_up_to: usize,
        limit: u64,
    ) -> Result<Fetched, NetError> {
        let started_at = OffsetDateTime::now_utc();
        let clock = Instant::now();
        let deadline = clock + self.cfg.total_timeout;
        let transport = |e: reqwest::Error| {
            if e.is_connect() && e.is_timeout() {
                NetError::Timeout {
                    url: url.to_string(),
                    what: "connect",
                }
            } else {
                NetError::Transport {
                    url: url.to_string(),
                    message: crate::error::full_message(&e),
                }
            }
        };
        let request = self
            .http
            .get(target)
            .header("accept-encoding", "gzip, deflate, identity");
        let mut response = tokio::time::timeout_at(deadline.into(), request.send())
            .await
            .map_err(|_| NetError::Timeout {
                url: url.to_string(),
                what: "total",
            })?
            .map_err(transport)?;
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
        loop {
            let chunk = tokio::time::timeout_at(
                (Instant::now() + self.cfg.read_timeout)
                    .min(deadline)
                    .into(),
                response.chunk(),
            )
            .await
            .map_err(|_| NetError::Timeout {
                url: url.to_string(),
                what: if Instant::now() >= deadline {
                    "total"
                } else {
                    "read"
                },
            })?
            .map_err(transport)?;
            let Some(chunk) = chunk else { break };
            if written + chunk.len() as u64 > limit {
                return Err(NetError::TooLarge {
                    url: url.to_string(),
                    limit,
                });
            }
            writer.write(&chunk)?;
            written += chunk.len() as u64;
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
        let (digest, bytes): (Digest, u64) = tokio::task::spawn_blocking(move || writer.finish())
            .await
            .map_err(|e| NetError::Transport {
                url: url.to_string(),
                message: format!("storing the body failed: {e}"),
            })??;
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
            },
            body: kept,
            attempts: 1,
        })
    }
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
