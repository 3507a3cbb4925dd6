//! The Wayback Machine, as a source of last resort: finding the copies it
//! kept of a URL with its CDX search API (`/cdx/search/cdx`, JSON output,
//! HTTP 200 captures only, newest first) and fetching a copy's raw bytes with
//! the `id_` form of its replay URL (`/web/<timestamp>id_/<url>`, the bytes
//! as captured, without the archive's banner or rewritten links). Every
//! request goes through the capture's [`Session`], so it is stored and
//! recorded like any other, under the client's per-host limits for
//! `web.archive.org` ([`crate::net::HostLimit::wayback`]); `--mirror` applies
//! to it as to any host. It knows nothing of any platform: the provider
//! says which URLs to look for and reads what comes back.

use super::Session;
use crate::net::{Exchange, Fetched, NetError};
use crate::store::record::Memento;
use time::OffsetDateTime;

/// The Wayback Machine's host.
pub const HOST: &str = "web.archive.org";

/// Largest CDX answer read (a few rows are asked for).
const MAX_CDX: u64 = 1024 * 1024;

/// Where to ask, as fields so tests and mirrors see exactly what is asked.
#[derive(Debug, Clone)]
pub struct Wayback {
    /// `https://web.archive.org/cdx/search/cdx`.
    pub cdx: String,
    /// `https://web.archive.org/web` (a copy is `{replay}/{timestamp}id_/{url}`).
    pub replay: String,
    /// Captures listed per lookup (the newest ones).
    pub rows: u32,
}

impl Default for Wayback {
    fn default() -> Self {
        Wayback {
            cdx: format!("https://{HOST}/cdx/search/cdx"),
            replay: format!("https://{HOST}/web"),
            rows: 5,
        }
    }
}

/// How a lookup's URL matches the captures' URLs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// This URL only.
    Exact,
    /// Every URL starting with it (in the archive's canonical form).
    Prefix,
}

/// One capture the CDX API lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// `YYYYMMDDhhmmss`, UTC.
    pub timestamp: String,
    /// The URL captured.
    pub original: String,
    /// The content type it was captured with.
    pub mimetype: String,
    /// The archive's digest of its body (base32 SHA-1).
    pub digest: String,
}

impl Snapshot {
    /// When it was captured.
    pub fn datetime(&self) -> Option<OffsetDateTime> {
        parse_timestamp(&self.timestamp)
    }
}

/// Why a lookup found nothing usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupError {
    /// The request failed (after the client's retries): `HOST: reason`.
    Net(String),
    /// The API answered something else than its JSON (a status, a page).
    Answer(String),
}

impl std::fmt::Display for LookupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LookupError::Net(e) | LookupError::Answer(e) => f.write_str(e),
        }
    }
}

impl Wayback {
    /// Whether this capture may ask the Wayback Machine: its host is one the
    /// client fetches (`--no-wayback` takes it out, a `--mirror` for it too).
    pub fn allowed(&self, s: &Session<'_>) -> bool {
        s.client().route(&self.cdx).is_ok()
    }

    /// The CDX query for `url`: JSON, HTTP 200 captures only, identical
    /// bodies collapsed, the last [`Wayback::rows`] (the newest).
    pub fn cdx_url(&self, url: &str, m: Match) -> String {
        let url = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .unwrap_or(url);
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("url", url);
        if m == Match::Prefix {
            q.append_pair("matchType", "prefix");
        }
        q.append_pair("output", "json")
            .append_pair("filter", "statuscode:200")
            .append_pair("collapse", "digest")
            .append_pair("limit", &format!("-{}", self.rows.max(1)));
        format!("{}?{}", self.cdx, q.finish())
    }

    /// The raw copy of a capture: `{replay}/{timestamp}id_/{original}`.
    pub fn replay_url(&self, snap: &Snapshot) -> String {
        format!("{}/{}id_/{}", self.replay, snap.timestamp, snap.original)
    }

    /// The captures of `url` the archive lists (HTTP 200 only), newest first.
    pub async fn lookup(
        &self,
        s: &Session<'_>,
        url: &str,
        m: Match,
    ) -> Result<Vec<Snapshot>, LookupError> {
        let at = self.cdx_url(url, m);
        let f = s
            .get_json(&at, MAX_CDX)
            .await
            .map_err(|e| LookupError::Net(crate::error::full_message(&e)))?;
        if f.status() != 200 {
            return Err(LookupError::Answer(format!(
                "{HOST}: the CDX API answered HTTP {}",
                f.status()
            )));
        }
        let body = f.decoded_body(MAX_CDX).ok_or_else(|| {
            LookupError::Answer(format!("{HOST}: the CDX answer could not be decoded"))
        })?;
        let mut rows = parse_cdx(&body).map_err(LookupError::Answer)?;
        rows.retain(|r| r.datetime().is_some());
        rows.sort_by(|a, b| b.timestamp.cmp(&a.timestamp));
        Ok(rows)
    }

    /// Fetches a capture's raw bytes as a small answer (JSON, a page), at
    /// most `limit` bytes. A redirect to another capture of the same URL
    /// (the archive moves an inexact timestamp to the nearest one) is
    /// followed, twice at most.
    pub async fn fetch_small(
        &self,
        s: &Session<'_>,
        snap: &Snapshot,
        limit: u64,
    ) -> Result<Fetched, NetError> {
        let mut at = self.replay_url(snap);
        for _ in 0..3 {
            let f = s.get_json(&at, limit).await?;
            match self.redirect(&at, &f) {
                Some(next) => at = next,
                None => return Ok(f),
            }
        }
        Err(NetError::Refused {
            url: at,
            reason: "the archive redirected more than twice".into(),
        })
    }

    /// Where a replay answer redirects to, when it is another raw copy on
    /// the archive (never elsewhere).
    fn redirect(&self, from: &str, f: &Fetched) -> Option<String> {
        if !(300..400).contains(&f.status()) {
            return None;
        }
        let next = url::Url::parse(from)
            .ok()?
            .join(f.header("location")?)
            .ok()?
            .to_string();
        let next = next.replace(
            &format!("https://{HOST}/web/"),
            &format!("{}/", self.replay),
        );
        let (ts, _) = parse_replay_url(&next, &self.replay)?;
        next.contains(&format!("/{ts}id_/")).then_some(next)
    }
}

/// Reads a CDX JSON answer: a header row naming the fields, then one row
/// per capture (`[]` when there is none). Rows are read by the header's
/// names, so any field order works; `timestamp` and `original` are needed.
pub fn parse_cdx(body: &[u8]) -> Result<Vec<Snapshot>, String> {
    let bad = |why: &str| format!("{HOST}: the CDX answer is not its JSON ({why})");
    let rows: Vec<Vec<serde_json::Value>> =
        serde_json::from_slice(body).map_err(|_| bad("not an array of rows"))?;
    let Some((head, rows)) = rows.split_first() else {
        return Ok(Vec::new());
    };
    let col = |name: &str| head.iter().position(|h| h.as_str() == Some(name));
    let (Some(ts), Some(orig)) = (col("timestamp"), col("original")) else {
        return Err(bad("no timestamp or original column"));
    };
    let (mime, digest) = (col("mimetype"), col("digest"));
    let cell = |row: &[serde_json::Value], i: Option<usize>| {
        i.and_then(|i| row.get(i))
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string()
    };
    Ok(rows
        .iter()
        .filter(|r| r.len() == head.len())
        .map(|r| Snapshot {
            timestamp: cell(r, Some(ts)),
            original: cell(r, Some(orig)),
            mimetype: cell(r, mime),
            digest: cell(r, digest),
        })
        .filter(|s| !s.original.is_empty())
        .collect())
}

/// `YYYYMMDDhhmmss` (UTC) as a time.
pub fn parse_timestamp(ts: &str) -> Option<OffsetDateTime> {
    if ts.len() != 14 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| ts[r].parse::<u32>().ok();
    let date = time::Date::from_calendar_date(
        i32::try_from(n(0..4)?).ok()?,
        time::Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?,
        u8::try_from(n(6..8)?).ok()?,
    )
    .ok()?;
    let t = time::Time::from_hms(
        u8::try_from(n(8..10)?).ok()?,
        u8::try_from(n(10..12)?).ok()?,
        u8::try_from(n(12..14)?).ok()?,
    )
    .ok()?;
    Some(time::PrimitiveDateTime::new(date, t).assume_utc())
}

/// The timestamp and original URL of a raw-copy URL under `replay`
/// (`{replay}/{timestamp}id_/{original}`).
pub fn parse_replay_url(url: &str, replay: &str) -> Option<(String, String)> {
    let rest = url.strip_prefix(replay)?.strip_prefix('/')?;
    let (ts, original) = rest.split_once('/')?;
    let ts = ts.strip_suffix("id_")?;
    (parse_timestamp(ts).is_some() && original.starts_with("http"))
        .then(|| (ts.to_string(), original.to_string()))
}

/// The mementos among a capture's exchanges: each successful raw copy
/// fetched from the Wayback Machine, with its datetime (the answer's
/// `Memento-Datetime`, else its URL's timestamp); the one at `answer` (the
/// exchange the post was read from) is marked.
pub fn mementos(exchanges: &[Exchange], answer: Option<&str>) -> Vec<Memento> {
    let replay = Wayback::default().replay;
    exchanges
        .iter()
        .filter(|e| (200..300).contains(&e.status))
        .filter_map(|e| {
            let (ts, original) = parse_replay_url(&e.url, &replay)?;
            let header = e
                .headers
                .iter()
                .find(|(k, _)| k == "memento-datetime")
                .and_then(|(_, v)| {
                    OffsetDateTime::parse(v, &time::format_description::well_known::Rfc2822).ok()
                });
            Some(Memento {
                url: e.url.clone(),
                original,
                datetime: header.or_else(|| parse_timestamp(&ts))?,
                answer: answer == Some(e.url.as_str()),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_cdx_answer_is_read_by_its_header() {
        let body = include_bytes!("../../tests/fixtures/responses/wayback/cdx-fabtcg-sept21.json");
        let rows = parse_cdx(body).expect("parse");
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].timestamp, "20210921012416");
        assert_eq!(
            rows[0].original,
            "https://fabtcg.com/articles/banned-and-restricted-announcement-sept21/"
        );
        assert_eq!(rows[0].digest, "QFRUWS7UFLRXWP3ZMGA4PT6E6ZM5ND2Q");
        assert_eq!(
            rows[0].datetime(),
            Some(time::macros::datetime!(2021-09-21 01:24:16 UTC))
        );
        // Narrowed fields come in the order asked for.
        let narrowed = br#"[["original","timestamp"],["https://a.example/","20200101000000"]]"#;
        let rows = parse_cdx(narrowed).expect("narrowed");
        assert_eq!(rows[0].timestamp, "20200101000000");
        assert_eq!(parse_cdx(b"[]"), Ok(Vec::new()));
        assert!(parse_cdx(b"<html>429 Too Many Requests</html>").is_err());
        assert!(parse_cdx(br#"[["urlkey","digest"],["a","b"]]"#).is_err());
    }

    #[test]
    fn queries_and_replay_urls_have_the_documented_forms() {
        let w = Wayback::default();
        assert_eq!(
            w.cdx_url(
                "https://cdn.syndication.twimg.com/tweet-result?id=20",
                Match::Prefix
            ),
            "https://web.archive.org/cdx/search/cdx?url=cdn.syndication.twimg.com%2Ftweet-result%3Fid%3D20&matchType=prefix&output=json&filter=statuscode%3A200&collapse=digest&limit=-5"
        );
        let snap = Snapshot {
            timestamp: "20240620101500".into(),
            original: "https://pbs.twimg.com/media/A.jpg".into(),
            mimetype: "image/jpeg".into(),
            digest: String::new(),
        };
        let at = w.replay_url(&snap);
        assert_eq!(
            at,
            "https://web.archive.org/web/20240620101500id_/https://pbs.twimg.com/media/A.jpg"
        );
        assert_eq!(
            parse_replay_url(&at, &w.replay),
            Some((
                "20240620101500".into(),
                "https://pbs.twimg.com/media/A.jpg".into()
            ))
        );
        assert_eq!(
            parse_replay_url("https://web.archive.org/web/2024/x", &w.replay),
            None
        );
        assert_eq!(parse_timestamp("20241301000000"), None);
    }
}
