//! cdxj: the CDXJ index lines a WACZ carries (`indexes/index.cdxj`): a SURT
//! key, a 14-digit timestamp, then a JSON object saying where the record is
//! in which WARC. Pure: it turns records' facts into lines and sorts them.
//!
//! The SURT form is the `surt` package's, which pywb, py-wacz and
//! `cdxj-indexer` use ([`surt`]); `tests/replay.rs` checks every key against
//! `cdxj-indexer`'s for the same WARC.

use serde::Serialize;

/// One CDXJ line's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The original URL.
    pub url: String,
    /// MIME type of the payload without parameters (absent when the
    /// response named none, as `cdxj-indexer` leaves it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
    /// HTTP status as a string (absent for a `resource` record, which has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// `sha256:HEX` of the payload.
    pub digest: String,
    /// Length of the record's gzip member.
    pub length: String,
    /// Offset of the record's gzip member.
    pub offset: String,
    /// The WARC's name inside the WACZ's `archive/`.
    pub filename: String,
    /// `YYYYMMDDhhmmss` (not serialized: it leads the line).
    #[serde(skip)]
    pub timestamp: String,
}

impl Entry {
    /// The line, without its newline.
    pub fn line(&self) -> String {
        let json = serde_json::to_string(self).unwrap_or_else(|_| "{}".into());
        format!("{} {} {json}", surt(&self.url), self.timestamp)
    }
}

/// Sorted index text: one line per entry, in byte order (what binary search
/// in replay tools expects).
pub fn index(entries: &[Entry]) -> String {
    let mut lines: Vec<String> = entries.iter().map(Entry::line).collect();
    lines.sort();
    lines.dedup();
    let mut out = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// `YYYYMMDDhhmmss` in UTC.
pub fn timestamp(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The SURT key of a URL (`com,twimg,pbs)/media/x.jpg?name=orig`), as the
/// `surt` package computes it (`surt.surt(url)`, which pywb and
/// `cdxj-indexer` call): Google's canonicalization (percent-escapes undone
/// repeatedly, then only what must be escaped escaped once: bytes outside
/// 0x21–0x7e, `#` and `%`; `.` and `..` path segments resolved, empty ones
/// dropped), then IA's (host lowercased without `www.`/`www2.`…, user and
/// password dropped, the scheme's default port dropped, path and query
/// lowercased, session ids stripped, a trailing slash dropped, query
/// arguments sorted). The scheme is left out; the host is reversed.
pub fn surt(url: &str) -> String {
    let Some(u) = Parts::parse(url) else {
        return url.to_string();
    };
    let mut key = String::new();
    if let Some(host) = &u.host {
        key.push_str(&host.split('.').rev().collect::<Vec<_>>().join(","));
        if let Some(port) = u.port {
            key.push_str(&format!(":{port}"));
        }
        key.push(')');
    } else {
        key.push_str(&u.scheme);
        key.push(':');
    }
    match (&u.path, &u.query) {
        (Some(p), _) => key.push_str(p),
        (None, Some(_)) => key.push('/'),
        (None, None) => {}
    }
    if let Some(q) = &u.query {
        key.push('?');
        key.push_str(q);
    }
    key
}

/// A URL split and canonicalized the way `surt`'s `handyurl` and its two
/// canonicalizers do.
struct Parts {
    scheme: String,
    host: Option<String>,
    port: Option<u16>,
    path: Option<String>,
    query: Option<String>,
}

impl Parts {
    fn parse(url: &str) -> Option<Parts> {
        // handyurl.parse: trimmed, tabs and line breaks removed, `http://`
        // added when no scheme, repeated `http://http://` collapsed.
        let mut s: String = url
            .trim()
            .chars()
            .filter(|c| !matches!(c, '\n' | '\r' | '\t'))
            .collect();
        if !has_scheme(&s) {
            s = format!("http://{s}");
        }
        while let Some(rest) = ["http://", "https://"].iter().find_map(|p| {
            s.strip_prefix(p)
                .filter(|r| r.starts_with("http://") || r.starts_with("https://"))
        }) {
            s = rest.to_string();
        }
        let (scheme, rest) = s.split_once(':')?;
        let scheme = scheme.to_ascii_lowercase();
        // The fragment goes (hash_strip).
        let rest = rest.split_once('#').map_or(rest, |(r, _)| r);
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (authority, path) = match rest.strip_prefix("//") {
            Some(after) => match after.find('/') {
                Some(i) => (Some(&after[..i]), &after[i..]),
                None => (Some(after), ""),
            },
            None => (None, rest),
        };
        let mut host = None;
        let mut port = None;
        let mut path = path.to_string();
        if let Some(auth) = authority {
            let hostport = auth.rsplit_once('@').map_or(auth, |(_, h)| h);
            let hostport = hostport.trim_end_matches(':');
            let (h, p) = match hostport.rsplit_once(':') {
                Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
                    (h, p.parse::<u16>().ok())
                }
                _ => (hostport, None),
            };
            let h = h.trim_start_matches('[').trim_end_matches(']');
            if !h.is_empty() {
                host = Some(h.to_ascii_lowercase());
            }
            port = p;
        } else if scheme.starts_with("http") {
            // `http:/example.com/x`: the first segment is the host.
            let trimmed = path.trim_start_matches('/').to_string();
            let (h, p) = trimmed.split_once('/').unwrap_or((&trimmed, ""));
            host = Some(h.to_ascii_lowercase());
            path = format!("/{p}");
        }
        let mut parts = Parts {
            scheme,
            host,
            port,
            path: (!path.is_empty()).then_some(path),
            query: query.filter(|q| !q.is_empty()).map(str::to_string),
        };
        parts.google();
        parts.ia();
        Some(parts)
    }

    /// GoogleURLCanonicalizer.
    fn google(&mut self) {
        if let Some(q) = &self.query {
            self.query = Some(escape_once(&unescape_repeatedly(q.as_bytes())));
        }
        if let Some(h) = &self.host {
            let h = unescape_repeatedly(h.as_bytes());
            let h = String::from_utf8_lossy(&h).replace("..", ".");
            let h = h.trim_matches('.').to_ascii_lowercase();
            self.host = Some(escape_once(h.as_bytes()));
        }
        let path = unescape_repeatedly(self.path.as_deref().unwrap_or("").as_bytes());
        let path = if self.host.is_some() {
            normalize_path(&path)
        } else {
            path
        };
        let escaped = escape_once(&path);
        self.path = (!escaped.is_empty()).then_some(escaped);
    }

    /// IAURLCanonicalizer with its defaults.
    fn ia(&mut self) {
        if let Some(h) = &self.host {
            self.host = Some(strip_www(h).to_string());
        }
        let default = match self.scheme.as_str() {
            "http" => Some(80),
            "https" => Some(443),
            _ => None,
        };
        if self.port == default {
            self.port = None;
        }
        if let Some(p) = &self.path {
            let mut p = strip_path_session_id(&p.to_ascii_lowercase());
            if p.len() > 1 && p.ends_with('/') {
                p.pop();
            }
            self.path = Some(p);
        }
        if let Some(q) = &self.query {
            let q = strip_query_session_id(q).to_ascii_lowercase();
            self.query = (!q.is_empty()).then(|| alpha_reorder(&q));
        }
    }
}

/// `scheme:` at the start (RFC 3986 scheme characters).
fn has_scheme(s: &str) -> bool {
    let Some((scheme, _)) = s.split_once(':') else {
        return false;
    };
    let mut b = scheme.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}

/// `%XX` undone until nothing changes (Python's `unquote_to_bytes`: an
/// invalid escape stays as it is).
fn unescape_repeatedly(input: &[u8]) -> Vec<u8> {
    let mut cur = input.to_vec();
    loop {
        let mut out = Vec::with_capacity(cur.len());
        let mut i = 0;
        while i < cur.len() {
            if cur[i] == b'%'
                && i + 2 < cur.len()
                && let (Some(h), Some(l)) = (hex(cur[i + 1]), hex(cur[i + 2]))
            {
                out.push(h << 4 | l);
                i += 3;
            } else {
                out.push(cur[i]);
                i += 1;
            }
        }
        if out == cur {
            return out;
        }
        cur = out;
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Python's `quote_from_bytes` with the safe set `surt` gives: letters,
/// digits, `_.-~` and ``!"$&'()*+,-./:;<=>?@[\]^_`{|}~`` stay; every other
/// byte (controls, space, `#`, `%`, non-ASCII) becomes `%XX` (upper case).
fn escape_once(input: &[u8]) -> String {
    let mut out = String::with_capacity(input.len());
    for &b in input {
        if b.is_ascii_alphanumeric() || b"_.-~!\"$&'()*+,/:;<=>?@[\\]^`{|}".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `.` and `..` segments resolved and empty segments dropped, as
/// `normalizePath` does (a trailing slash survives as an empty last segment).
fn normalize_path(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b"/".to_vec();
    }
    let mut kept: Vec<&[u8]> = Vec::new();
    for seg in path.split(|&b| b == b'/').skip(1) {
        match seg {
            b"." => {}
            b".." => {
                if kept.pop().is_none() {
                    kept.push(seg);
                }
            }
            _ => kept.push(seg),
        }
    }
    let mut out = b"/".to_vec();
    if let Some((last, init)) = kept.split_last() {
        for seg in init.iter().filter(|s| !s.is_empty()) {
            out.extend_from_slice(seg);
            out.push(b'/');
        }
        out.extend_from_slice(last);
    }
    out
}

/// IA's `alphaReorderQuery`: arguments sorted as (name, value) byte tuples,
/// a bare name sorting before the same name with a value.
fn alpha_reorder(q: &str) -> String {
    let mut args: Vec<(&str, Option<&str>)> = q
        .split('&')
        .map(|a| match a.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (a, None),
        })
        .collect();
    args.sort();
    args.iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => (*k).to_string(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// `jsessionid=`, `phpsessid=`, `sid=` (32 alphanumerics),
/// `ASPSESSIONIDxxxxxxxx=` and `cfid=…&cftoken=…` removed from a query, as
/// `stripQuerySessionID` does (each pattern once, case-insensitively).
fn strip_query_session_id(q: &str) -> String {
    let mut q = q.to_string();
    for (name, value) in [("jsessionid=", 32usize), ("phpsessid=", 32), ("sid=", 32)] {
        let lower = q.to_ascii_lowercase();
        // The regex is greedy on the prefix: the last occurrence wins.
        let found = lower.rmatch_indices(name).find(|(i, _)| {
            let v = &q.as_bytes()[i + name.len()..];
            v.len() >= value
                && v[..value].iter().all(u8::is_ascii_alphanumeric)
                && (v.len() == value || v[value] == b'&')
        });
        if let Some((i, _)) = found {
            let end = i + name.len() + value;
            let after = q.get(end + 1..).unwrap_or("");
            q = format!("{}{after}", &q[..i]);
        }
    }
    let lower = q.to_ascii_lowercase();
    if let Some(i) = lower.rfind("aspsessionid") {
        let v = &q.as_bytes()[i + 12..];
        let ok = v.len() >= 8 + 1 + 24
            && v[..8].iter().all(u8::is_ascii_alphabetic)
            && v[8] == b'='
            && v[9..33].iter().all(u8::is_ascii_alphabetic)
            && (v.len() == 33 || v[33] == b'&');
        if ok {
            let end = i + 12 + 33;
            let after = q.get(end + 1..).unwrap_or("");
            q = format!("{}{after}", &q[..i]);
        }
    }
    q
}

/// `/(xxxxxxxxxxxxxxxxxxxxxxxx)/…x.aspx` ASP.NET session segments removed.
fn strip_path_session_id(p: &str) -> String {
    let Some(aspx) = p.find(".aspx") else {
        return p.to_string();
    };
    let head = &p[..aspx];
    let Some(slash) = head.rfind('/') else {
        return p.to_string();
    };
    let before = &head[..slash];
    let Some(open) = before.rfind("/(") else {
        return p.to_string();
    };
    let seg = &before[open + 1..];
    let inner = seg.strip_prefix('(').and_then(|s| s.strip_suffix(')'));
    let plain =
        inner.is_some_and(|i| i.len() == 24 && i.bytes().all(|b| b.is_ascii_alphanumeric()));
    if plain {
        return format!("{}{}", &p[..open + 1], &p[slash + 1..]);
    }
    p.to_string()
}

/// Drops a leading `www.`, `www2.`… as IA canonicalization does.
fn strip_www(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix("www") {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if let Some(after) = rest[digits..].strip_prefix('.') {
            return after;
        }
    }
    host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surt_matches_the_python_package_on_x_urls() {
        // Expected values printed by `surt.surt()` (surt 0.3.1).
        assert_eq!(
            surt("https://cdn.syndication.twimg.com/tweet-result?id=164&lang=en&token=3x"),
            "com,twimg,syndication,cdn)/tweet-result?id=164&lang=en&token=3x"
        );
        assert_eq!(
            surt("https://pbs.twimg.com/media/FsZ_abc.jpg?format=jpg&name=orig"),
            "com,twimg,pbs)/media/fsz_abc.jpg?format=jpg&name=orig"
        );
        assert_eq!(
            surt("https://www.Example.com:8080/A/B?b=2&a=1#frag"),
            "com,example:8080)/a/b?a=1&b=2"
        );
        assert_eq!(surt("https://t.co/rQd6FIwZ0U"), "co,t)/rqd6fiwz0u");
        assert_eq!(surt("https://twitter.com/"), "com,twitter)/");
    }

    #[test]
    fn surt_matches_the_python_package_on_escapes_paths_and_session_ids() {
        // Each pair printed by `surt.surt(url)` (surt 0.3.1, as pip installs
        // it with pywb and cdxj-indexer).
        for (url, key) in [
            (
                "https://cdn.syndication.twimg.com/tweet-result?id=1&lang=en&features=tfw_a%3Aon%3Btfw_b%3Atrue&token=3x",
                "com,twimg,syndication,cdn)/tweet-result?features=tfw_a:on;tfw_b:true&id=1&lang=en&token=3x",
            ),
            (
                "https://publish.twitter.com/oembed?url=https%3A%2F%2Ftwitter.com%2Fi%2Fstatus%2F20&omit_script=1&dnt=true",
                "com,twitter,publish)/oembed?dnt=true&omit_script=1&url=https://twitter.com/i/status/20",
            ),
            (
                "http://www2.example.com:80/a/./b/../c//d/?x",
                "com,example)/a/c/d?x",
            ),
            (
                "https://example.com/caf%C3%A9/a%20b%2520c?q=%7e%41&z",
                "com,example)/caf%c3%a9/a%20b%20c?q=~a&z",
            ),
            (
                "https://example.com/p?jsessionid=0123456789abcdef0123456789ABCDEF&a=1",
                "com,example)/p?a=1",
            ),
            (
                "https://example.com/%23hash?x=%25",
                "com,example)/%23hash?x=%25",
            ),
            ("https://example.com", "com,example)/"),
            ("https://example.com?b&a=", "com,example)/?a=&b"),
            (
                "https://bsky.app/profile/did:plc:abc/post/3k7",
                "app,bsky)/profile/did:plc:abc/post/3k7",
            ),
            (
                "https://example.com/\u{fc}/\u{e9}?q=\u{fc}",
                "com,example)/%c3%bc/%c3%a9?q=%c3%bc",
            ),
            ("https://user:pw@Example.com/x", "com,example)/x"),
            ("https://example.com/a?b=c d", "com,example)/a?b=c%20d"),
        ] {
            assert_eq!(surt(url), key, "{url}");
        }
    }

    #[test]
    fn index_lines_are_sorted_and_carry_the_fields_replay_needs() {
        let e = |url: &str, ts: &str| Entry {
            url: url.into(),
            mime: Some("image/jpeg".into()),
            status: Some("200".into()),
            digest: "sha256:00".into(),
            length: "10".into(),
            offset: "0".into(),
            filename: "data.warc.gz".into(),
            timestamp: ts.into(),
        };
        let text = index(&[
            e("https://pbs.twimg.com/b", "20240101000000"),
            e("https://pbs.twimg.com/a", "20240101000000"),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("com,twimg,pbs)/a 20240101000000 {"));
        let json: serde_json::Value =
            serde_json::from_str(lines[1].splitn(3, ' ').nth(2).expect("json")).expect("JSON");
        assert_eq!(json["url"], "https://pbs.twimg.com/b");
        assert_eq!(json["filename"], "data.warc.gz");
        assert_eq!(json["offset"], "0");
    }
}
