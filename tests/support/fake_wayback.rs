//! A fake Wayback Machine, served by the fake X under `/wayback` (map
//! `web.archive.org` to `BASE/wayback`, as [`super::fake_x::mirror_flags`]
//! does). It plays the two APIs embarc uses as the Internet Archive
//! documents them (internetarchive/wayback, `wayback-cdx-server/README.md`):
//!
//! - `/cdx/search/cdx?url=…`: the CDX search API. `url` is matched on the
//!   archive's canonical key (SURT: host reversed, lowercase, query keys
//!   sorted), exactly or, with `matchType=prefix` or a trailing `*`, as a
//!   prefix; `filter=statuscode:200`, `collapse=digest` (adjacent rows with
//!   one digest) and `limit` (negative: the last N) apply; `output=json`
//!   answers a header row then one row per capture, every value a string,
//!   or `[]` (the shape of the real answer in
//!   `tests/fixtures/responses/wayback/cdx-fabtcg-sept21.json`).
//! - `/web/<timestamp>id_/<url>`: a capture's raw bytes with its original
//!   content type, `Memento-Datetime` and `Link: <url>; rel="original"`; a
//!   timestamp that names no capture of that URL redirects (302) to the
//!   nearest one, as the real replay does; a URL never captured is 404.
//!
//! Its behaviours: a 429 (HTML body, no `Retry-After`) to the first lookup
//! of [`RATE_LIMITED_KEY`], a request sooner than a second after it being a
//! violation; a slow answer (the copy of the rescued post's syndication
//! answer comes after [`SLOW_MS`]); more than two lookups in one second is a
//! violation (the archive allows 60 a minute); a replay without `id_` is a
//! violation (embarc reads raw copies only). What it holds is
//! [`captures`]: the copies of the posts the rescue tests recover.

use super::fake_x::{OEMBED_ONLY_ID, RESCUED_ID, png};
use super::{Reply, Violations, response};
use std::sync::Mutex;
use std::time::Instant;

/// The canonical key whose first lookup is answered 429.
pub const RATE_LIMITED_KEY: &str = "com,twimg,syndication,cdn)/tweet-result?id=7170000000000000001";
/// How long the copy of the rescued post's syndication answer takes.
pub const SLOW_MS: u64 = 1500;
/// When the rescued post's answer was captured.
pub const RESCUED_AT: &str = "20240620101500";
/// When the oEmbed-only post's answer was captured.
pub const OEMBED_AT: &str = "20230712080910";

/// One copy the archive holds.
pub struct Capture {
    /// The URL captured.
    pub original: String,
    /// `YYYYMMDDhhmmss`.
    pub timestamp: String,
    /// Its content type.
    pub mimetype: String,
    /// The status it was captured with.
    pub status: u16,
    /// Its bytes.
    pub body: Vec<u8>,
}

fn capture(original: &str, timestamp: &str, mimetype: &str, body: Vec<u8>) -> Capture {
    Capture {
        original: original.into(),
        timestamp: timestamp.into(),
        mimetype: mimetype.into(),
        status: 200,
        body,
    }
}

/// The rescued post as X's syndication answered it before its deletion:
/// one photo, an avatar, BRICS News's words.
pub fn rescued_answer() -> Vec<u8> {
    let id = RESCUED_ID;
    let text = "JUST IN: the archive keeps what X forgets https://t.co/N4ceb2ZWvV";
    let media_at = text.find("https://t.co/").unwrap_or(0);
    serde_json::to_vec(&serde_json::json!({
        "__typename": "Tweet", "id_str": id, "lang": "en", "created_at": "2024-06-20T10:00:00.000Z",
        "text": text, "display_text_range": [0, media_at - 1],
        "entities": {"hashtags": [], "urls": [], "user_mentions": [], "symbols": [], "media": [
            {"indices": [media_at, media_at + 23], "display_url": "pic.twitter.com/N4ceb2ZWvV",
             "expanded_url": format!("https://twitter.com/BRICSinfo/status/{id}/photo/1"), "url": "https://t.co/N4ceb2ZWvV"}]},
        "user": {"id_str": "77", "name": "BRICS News", "screen_name": "BRICSinfo",
                 "profile_image_url_https": "https://pbs.twimg.com/profile_images/77/rescued_normal.jpg"},
        "mediaDetails": [{"type": "photo", "media_url_https": "https://pbs.twimg.com/media/RescuedPhoto.jpg",
                          "original_info": {"width": 600, "height": 338}}],
        "favorite_count": 42, "conversation_count": 3
    }))
    .unwrap_or_default()
}

/// The words the rescued post's oEmbed-only sibling had (from the real
/// @alleyco answer in `responses/oembed/twitter-1679189879086018562.json`,
/// its id replaced by [`OEMBED_ONLY_ID`]).
pub fn oembed_only_answer() -> Vec<u8> {
    let path = super::fake_x::responses_dir().join("oembed/twitter-1679189879086018562.json");
    let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    body.replace("1679189879086018562", OEMBED_ONLY_ID)
        .into_bytes()
}

/// Everything the fake archive holds.
pub fn captures() -> Vec<Capture> {
    let syn = format!(
        "https://cdn.syndication.twimg.com/tweet-result?id={RESCUED_ID}&lang=en&token=4m4ew7hhvxq"
    );
    let deleted = br#"{"__typename":"TweetTombstone","tombstone":{"text":{"text":"This Post was deleted by the Post author. Learn more","entities":[],"rtl":false}}}"#;
    vec![
        capture(&syn, RESCUED_AT, "application/json", rescued_answer()),
        // Captured again after the deletion: the newest copy is the tombstone.
        capture(&syn, "20250105120000", "application/json", deleted.to_vec()),
        capture(
            "https://pbs.twimg.com/media/RescuedPhoto.jpg",
            "20240620101507",
            "image/png",
            png("RescuedPhoto", 600, 338),
        ),
        capture(
            "https://pbs.twimg.com/media/RescuedPhoto?format=jpg&name=small",
            "20240621000000",
            "image/png",
            png("RescuedPhoto small", 300, 169),
        ),
        capture(
            "https://pbs.twimg.com/profile_images/77/rescued_normal.jpg",
            "20240620101508",
            "image/png",
            png("rescued avatar", 48, 48),
        ),
        capture(
            &format!(
                "https://publish.twitter.com/oembed?url=https://twitter.com/alleyco/status/{OEMBED_ONLY_ID}"
            ),
            OEMBED_AT,
            "application/json",
            oembed_only_answer(),
        ),
    ]
}

/// The archive's canonical key of a URL (SURT): scheme and `www.` dropped,
/// host labels reversed and joined by commas, `)` then the path, query keys
/// sorted, all lowercase.
pub fn surt(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url)
        .to_ascii_lowercase();
    let (hostpath, query) = rest.split_once('?').unwrap_or((&rest, ""));
    let (host, path) = hostpath.split_at(hostpath.find('/').unwrap_or(hostpath.len()));
    let host = host.strip_prefix("www.").unwrap_or(host);
    let mut labels: Vec<&str> = host.split('.').collect();
    labels.reverse();
    let mut key = format!(
        "{}){}",
        labels.join(","),
        if path.is_empty() { "/" } else { path }
    );
    if !query.is_empty() {
        let mut pairs: Vec<&str> = query.split('&').collect();
        pairs.sort();
        key.push('?');
        key.push_str(&pairs.join("&"));
    }
    key
}

/// The archive's digest of a body: base32 of 20 bytes of its SHA-256 (the
/// real one is base32 SHA-1; the shape is what matters here).
fn digest(body: &[u8]) -> String {
    use sha2::Digest;
    const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let h = sha2::Sha256::digest(body);
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = String::new();
    for b in &h[..20] {
        bits = (bits << 8) | u32::from(*b);
        n += 8;
        while n >= 5 {
            out.push(char::from(B32[((bits >> (n - 5)) & 31) as usize]));
            n -= 5;
        }
    }
    out
}

/// The fake archive: what it holds, and what it remembers of its callers.
pub struct Archive {
    captures: Vec<Capture>,
    state: Mutex<State>,
    violations: Violations,
}

#[derive(Default)]
struct State {
    lookups: Vec<Instant>,
    limited: Option<Instant>,
    requests: Vec<String>,
}

impl Archive {
    /// The archive holding [`captures`], reporting into `violations`.
    pub fn new(violations: Violations) -> Archive {
        Archive {
            captures: captures(),
            state: Mutex::default(),
            violations,
        }
    }

    fn violation(&self, what: String) {
        if let Ok(mut v) = self.violations.lock() {
            v.push(what);
        }
    }

    /// Every request it got (path and query, after `/wayback`), in order.
    pub fn requests(&self) -> Vec<String> {
        self.state
            .lock()
            .map(|s| s.requests.clone())
            .unwrap_or_default()
    }

    /// Answers `rest`, the path and query after `/wayback`.
    pub fn answer(&self, rest: &str) -> Reply {
        if let Ok(mut s) = self.state.lock() {
            s.requests.push(rest.to_string());
        }
        if let Some(q) = rest.strip_prefix("/cdx/search/cdx?") {
            return self.cdx(q);
        }
        if let Some(r) = rest.strip_prefix("/web/") {
            return self.replay(r);
        }
        Reply::Raw(response(
            404,
            &[("content-type", "text/html")],
            b"<html>Not Found</html>",
        ))
    }

    fn cdx(&self, query: &str) -> Reply {
        let q: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        let Some(url) = get("url").filter(|u| !u.is_empty()) else {
            self.violation(format!("CDX asked without url: {query}"));
            return Reply::Raw(response(
                400,
                &[("content-type", "text/plain")],
                b"missing url",
            ));
        };
        if get("output").as_deref() != Some("json") {
            self.violation(format!("CDX asked without output=json: {query}"));
        }
        let now = Instant::now();
        let (prefix, url) = match url.strip_suffix('*') {
            Some(u) => (true, u.to_string()),
            None => (get("matchType").as_deref() == Some("prefix"), url),
        };
        let key = surt(&url);
        {
            let Ok(mut s) = self.state.lock() else {
                return Reply::Raw(response(500, &[], b""));
            };
            if let Some(at) = s.limited
                && now.duration_since(at).as_millis() < 1000
            {
                self.violation(format!(
                    "CDX asked {} ms after a 429",
                    now.duration_since(at).as_millis()
                ));
            }
            s.lookups
                .retain(|t| now.duration_since(*t).as_millis() < 1000);
            s.lookups.push(now);
            if s.lookups.len() > 2 {
                self.violation(format!("{} CDX lookups within one second", s.lookups.len()));
            }
            if key == RATE_LIMITED_KEY && s.limited.is_none() {
                s.limited = Some(now);
                return Reply::Raw(response(
                    429,
                    &[("content-type", "text/html")],
                    b"<html><head><title>429 Too Many Requests</title></head><body><h1>Too Many Requests</h1></body></html>",
                ));
            }
        }
        let status_200 = get("filter").as_deref() == Some("statuscode:200");
        let mut rows: Vec<(String, &Capture)> = self
            .captures
            .iter()
            .map(|c| (surt(&c.original), c))
            .filter(|(k, _)| {
                if prefix {
                    k.starts_with(&key)
                } else {
                    *k == key
                }
            })
            .filter(|(_, c)| !status_200 || c.status == 200)
            .collect();
        rows.sort_by(|a, b| (&a.0, &a.1.timestamp).cmp(&(&b.0, &b.1.timestamp)));
        if get("collapse").as_deref() == Some("digest") {
            rows.dedup_by(|b, a| digest(&a.1.body) == digest(&b.1.body));
        }
        if let Some(limit) = get("limit").and_then(|l| l.parse::<i64>().ok()) {
            let n = limit.unsigned_abs() as usize;
            if limit < 0 {
                let skip = rows.len().saturating_sub(n);
                rows.drain(..skip);
            } else {
                rows.truncate(n);
            }
        }
        let body = if rows.is_empty() {
            "[]".to_string()
        } else {
            let mut out: Vec<serde_json::Value> = vec![serde_json::json!([
                "urlkey",
                "timestamp",
                "original",
                "mimetype",
                "statuscode",
                "digest",
                "length"
            ])];
            for (k, c) in rows {
                out.push(serde_json::json!([
                    k,
                    c.timestamp,
                    c.original,
                    c.mimetype,
                    c.status.to_string(),
                    digest(&c.body),
                    c.body.len().to_string()
                ]));
            }
            serde_json::to_string(&out).unwrap_or_default()
        };
        Reply::Raw(response(
            200,
            &[("content-type", "text/plain; charset=utf-8")],
            body.as_bytes(),
        ))
    }

    fn replay(&self, rest: &str) -> Reply {
        let Some((ts, original)) = rest.split_once('/') else {
            return Reply::Raw(response(404, &[], b""));
        };
        let Some(ts) = ts.strip_suffix("id_") else {
            self.violation(format!(
                "a replay without id_ (the banner page): /web/{rest}"
            ));
            return Reply::Raw(response(
                200,
                &[("content-type", "text/html")],
                b"<html>banner</html>",
            ));
        };
        let copies: Vec<&Capture> = self
            .captures
            .iter()
            .filter(|c| c.original == original)
            .collect();
        let Some(exact) = copies.iter().find(|c| c.timestamp == ts) else {
            let nearest = copies.iter().min_by_key(|c| {
                (c.timestamp.parse::<i64>().unwrap_or(0) - ts.parse::<i64>().unwrap_or(0)).abs()
            });
            return match nearest {
                Some(c) => Reply::Raw(response(
                    302,
                    &[(
                        "location",
                        &format!("https://web.archive.org/web/{}id_/{}", c.timestamp, c.original),
                    )],
                    b"",
                )),
                None => Reply::Raw(response(
                    404,
                    &[("content-type", "text/html")],
                    b"<html><body><p>Wayback Machine doesn't have that page archived.</p></body></html>",
                )),
            };
        };
        let when = memento_datetime(&exact.timestamp);
        let link = format!("<{}>; rel=\"original\"", exact.original);
        let headers = [
            ("content-type", exact.mimetype.as_str()),
            ("memento-datetime", when.as_str()),
            ("link", link.as_str()),
            ("x-archive-src", "fake-20240620-00000.warc.gz"),
        ];
        let raw = response(200, &headers, &exact.body);
        if exact.original.contains(RESCUED_ID) && exact.timestamp == RESCUED_AT {
            let split = raw
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(0, |p| p + 4);
            return Reply::Slow(
                raw[..split].to_vec(),
                vec![(SLOW_MS, raw[split..].to_vec())],
            );
        }
        Reply::Raw(raw)
    }
}

/// `YYYYMMDDhhmmss` as an HTTP date (`Thu, 20 Jun 2024 10:15:00 GMT`).
pub fn memento_datetime(ts: &str) -> String {
    let n = |r: std::ops::Range<usize>| ts.get(r).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
    let date = time::Date::from_calendar_date(
        n(0..4) as i32,
        time::Month::try_from(n(4..6) as u8).unwrap_or(time::Month::January),
        n(6..8) as u8,
    )
    .unwrap_or(time::Date::MIN);
    let t = time::Time::from_hms(n(8..10) as u8, n(10..12) as u8, n(12..14) as u8)
        .unwrap_or(time::Time::MIDNIGHT);
    let at = time::PrimitiveDateTime::new(date, t).assume_utc();
    at.format(&time::format_description::well_known::Rfc2822)
        .unwrap_or_default()
        .replace("+0000", "GMT")
}
