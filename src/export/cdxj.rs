//! cdxj: the CDXJ index lines a WACZ carries (`indexes/index.cdxj`): a SURT
//! key, a 14-digit timestamp, then a JSON object saying where the record is
//! in which WARC. Pure: it turns records' facts into lines and sorts them.
//!
//! The SURT form follows the `surt` package pywb and py-wacz use (IA
//! canonicalization: scheme dropped, host reversed without `www.`, default
//! port dropped, path and query lowercased, query arguments sorted); unlike
//! it, percent-escapes are left as they are.

use serde::Serialize;

/// One CDXJ line's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// The original URL.
    pub url: String,
    /// MIME type of the payload without parameters (`unk` when unknown).
    pub mime: String,
    /// HTTP status as a string.
    pub status: String,
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

/// The SURT key of a URL (`com,twimg,pbs)/media/x.jpg?name=orig`). A string
/// that is not a URL is its own lowercased key.
pub fn surt(url: &str) -> String {
    let Ok(u) = url::Url::parse(url) else {
        return url.to_ascii_lowercase();
    };
    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
    let host = strip_www(&host);
    let mut key: String = host.split('.').rev().collect::<Vec<_>>().join(",");
    if let Some(port) = u.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push(')');
    let mut path = u.path().to_ascii_lowercase();
    if path.len() > 1 && path.ends_with('/') {
        path.pop();
    }
    key.push_str(&path);
    if let Some(q) = u.query().filter(|q| !q.is_empty()) {
        let lower = q.to_ascii_lowercase();
        let mut args: Vec<(&str, Option<&str>)> = lower
            .split('&')
            .map(|a| match a.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (a, None),
            })
            .collect();
        args.sort();
        let joined: Vec<String> = args
            .iter()
            .map(|(k, v)| match v {
                Some(v) => format!("{k}={v}"),
                None => (*k).to_string(),
            })
            .collect();
        key.push('?');
        key.push_str(&joined.join("&"));
    }
    key
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
    fn index_lines_are_sorted_and_carry_the_fields_replay_needs() {
        let e = |url: &str, ts: &str| Entry {
            url: url.into(),
            mime: "image/jpeg".into(),
            status: "200".into(),
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
