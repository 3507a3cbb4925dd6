//! Memento (RFC 7089) per post, in the URL style of the web archives
//! (`/timegate/URL-R`, `/timemap/link/URL-R`, `/memento/YYYYMMDDhhmmss/URL-R`),
//! where URL-R is the post's URL in any form the scanner accepts. The
//! original resource is the post's canonical URL; its mementos are its
//! captures that observed it (every outcome but `failed`). A memento page
//! shows the card as it stood after that capture: from the last good capture
//! up to it, with the "no longer available since…" notice when it found the
//! post gone.

use super::catalog::{CaptureEntry, PostEntry};
use super::{AppState, blocking, plain};
use crate::post::PostId;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::time::SystemTime;
use time::OffsetDateTime;

/// `Memento-Datetime` and the `datetime` of links: an HTTP date.
pub(crate) fn http_date(t: OffsetDateTime) -> String {
    httpdate::fmt_http_date(SystemTime::from(t))
}

/// `YYYYMMDDhhmmssffffff` of a capture (to the microsecond, as its ref is
/// named, so two captures in one second have their own mementos), as
/// memento URLs carry it.
pub(crate) fn stamp_of(t: OffsetDateTime) -> String {
    crate::store::stamp(t)
        .chars()
        .filter(char::is_ascii_digit)
        .collect()
}

/// The URL of a post's memento made at `at`.
pub(crate) fn memento_url(base: &str, id: &PostId, at: OffsetDateTime) -> String {
    format!("{base}/memento/{}/{}", stamp_of(at), original(id))
}

/// The URL of a post's TimeGate.
pub(crate) fn timegate_url(base: &str, id: &PostId) -> String {
    format!("{base}/timegate/{}", original(id))
}

/// The URL of a post's TimeMap.
pub(crate) fn timemap_url(base: &str, id: &PostId) -> String {
    format!("{base}/timemap/link/{}", original(id))
}

/// The original resource: the post's canonical URL (its label when the
/// provider has none).
pub(crate) fn original(id: &PostId) -> String {
    let u = id.canonical_url();
    if u.is_empty() { id.label() } else { u }
}

/// The post a `{*url}` path names (with the query the client split off),
/// or the answer to send instead.
async fn resolve(
    s: &AppState,
    url: String,
    query: Option<String>,
) -> Result<(PostId, PostEntry), Response> {
    let mut url = url;
    // A proxy or client that merged `//` after the scheme.
    for scheme in ["https:/", "http:/"] {
        if url.starts_with(scheme) && !url.starts_with(&format!("{scheme}/")) {
            url.insert(scheme.len(), '/');
        }
    }
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url = format!("{url}?{q}");
    }
    if !super::is_post_url(&url) {
        return Err(plain(
            StatusCode::BAD_REQUEST,
            &format!("{url} is not the URL of a post this archive could hold"),
        ));
    }
    let s2 = s.clone();
    let u2 = url.clone();
    let id = match blocking(move || super::post_of(&s2.archive, &u2)).await? {
        Ok(Some(id)) => id,
        Ok(None) => {
            return Err(plain(
                StatusCode::NOT_FOUND,
                &format!("{url} was never resolved to a post in this archive"),
            ));
        }
        Err(e) => return Err(super::failure(&e)),
    };
    let catalog = s.catalog();
    match catalog.post(&id) {
        Some(p) if p.mementos().next().is_some() => Ok((id, p.clone())),
        _ => Err(plain(
            StatusCode::NOT_FOUND,
            &format!("{} has no capture in this archive", id.label()),
        )),
    }
}

/// One link of a Link header or TimeMap.
fn link(url: &str, rel: &str, extra: &str) -> String {
    format!("<{url}>; rel=\"{rel}\"{extra}")
}

fn memento_link(base: &str, id: &PostId, c: &CaptureEntry, rel: &str) -> String {
    link(
        &memento_url(base, id, c.at),
        rel,
        &format!("; datetime=\"{}\"", http_date(c.at)),
    )
}

/// The links every answer about a post carries: original, timegate, timemap.
pub(crate) fn post_links(base: &str, id: &PostId) -> Vec<String> {
    vec![
        link(&original(id), "original", ""),
        link(&timegate_url(base, id), "timegate", ""),
        link(
            &timemap_url(base, id),
            "timemap",
            "; type=\"application/link-format\"",
        ),
    ]
}

/// First, last, previous and next mementos around the `i`th (of `ms`), and
/// the `i`th itself as `memento`.
fn neighbour_links(base: &str, id: &PostId, ms: &[&CaptureEntry], i: usize) -> Vec<String> {
    let last = ms.len() - 1;
    let mut out = Vec::new();
    let rels = |j: usize| {
        let mut r: Vec<&str> = Vec::new();
        if j == 0 {
            r.push("first");
        }
        if j == last {
            r.push("last");
        }
        if j + 1 == i {
            r.push("prev");
        }
        if j == i + 1 {
            r.push("next");
        }
        r
    };
    for (j, m) in ms.iter().enumerate().take(last + 1) {
        let r = rels(j);
        if j == i || !r.is_empty() {
            let rel = format!("{} memento", r.join(" ")).trim().to_string();
            out.push(memento_link(base, id, m, &rel));
        }
    }
    out
}

fn set(h: &mut HeaderMap, name: header::HeaderName, v: &str) {
    if let Ok(v) = HeaderValue::from_str(v) {
        h.insert(name, v);
    }
}

/// The TimeGate: 302 to the memento nearest `Accept-Datetime` (the newest
/// without one), `Vary: accept-datetime`.
pub(crate) async fn timegate(
    State(s): State<AppState>,
    Path(url): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let (id, entry) = match resolve(&s, url, query).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ms: Vec<&CaptureEntry> = entry.mementos().collect();
    let wanted = match headers.get("accept-datetime").map(|v| v.to_str()) {
        None => None,
        Some(Ok(v)) => match httpdate::parse_http_date(v.trim()) {
            Ok(t) => Some(OffsetDateTime::from(t)),
            Err(_) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    &format!(
                        "Accept-Datetime {v:?} is not an HTTP date (e.g. \"Thu, 01 Jan 2026 12:00:00 GMT\")"
                    ),
                );
            }
        },
        Some(Err(_)) => return plain(StatusCode::BAD_REQUEST, "Accept-Datetime is not ASCII"),
    };
    let i = match wanted {
        None => ms.len() - 1,
        Some(t) => nearest(&ms, t),
    };
    let base = &s.config.base_url;
    let mut links = post_links(base, &id);
    links.extend(neighbour_links(base, &id, &ms, i));
    let mut r = StatusCode::FOUND.into_response();
    let h = r.headers_mut();
    set(h, header::LOCATION, &memento_url(base, &id, ms[i].at));
    set(h, header::VARY, "accept-datetime");
    set(h, header::LINK, &links.join(", "));
    set(h, header::CONTENT_LENGTH, "0");
    r
}

/// The memento nearest `t` (the earlier one on a tie).
fn nearest(ms: &[&CaptureEntry], t: OffsetDateTime) -> usize {
    let mut best = 0;
    for (i, c) in ms.iter().enumerate() {
        if (c.at - t).abs() < (ms[best].at - t).abs() {
            best = i;
        }
    }
    best
}

/// The TimeMap: every memento with its datetime, in link format.
pub(crate) async fn timemap(
    State(s): State<AppState>,
    Path(url): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let (id, entry) = match resolve(&s, url, query).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let base = &s.config.base_url;
    let ms: Vec<&CaptureEntry> = entry.mementos().collect();
    let (from, until) = (ms[0].at, ms[ms.len() - 1].at);
    let mut lines = vec![
        link(&original(&id), "original", ""),
        link(
            &timemap_url(base, &id),
            "self",
            &format!(
                "; type=\"application/link-format\"; from=\"{}\"; until=\"{}\"",
                http_date(from),
                http_date(until)
            ),
        ),
        link(&timegate_url(base, &id), "timegate", ""),
    ];
    let last = ms.len() - 1;
    for (j, c) in ms.iter().enumerate() {
        let rel = match (j == 0, j == last) {
            (true, true) => "first last memento",
            (true, false) => "first memento",
            (false, true) => "last memento",
            _ => "memento",
        };
        lines.push(memento_link(base, &id, c, rel));
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/link-format")],
        format!("{}\n", lines.join(",\n")),
    )
        .into_response()
}

/// A memento: the post's page as of one capture, with `Memento-Datetime`
/// and links to the original, the TimeGate, the TimeMap and the neighbours.
pub(crate) async fn memento(
    State(s): State<AppState>,
    Path((stamp, url)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    if !(4..=20).contains(&stamp.len()) || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return plain(
            StatusCode::BAD_REQUEST,
            "a memento is named by its capture time, YYYYMMDDhhmmss[ffffff]",
        );
    }
    // A shorter time covers its whole period (`2023` is the year).
    let upto = format!("{stamp:9<20}");
    let (id, entry) = match resolve(&s, url, query).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let ms: Vec<&CaptureEntry> = entry.mementos().collect();
    // The newest memento made in or before that time; no such memento: 404.
    let Some(i) = ms.iter().rposition(|c| stamp_of(c.at) <= upto) else {
        return plain(
            StatusCode::NOT_FOUND,
            &format!("{} has no capture at or before {stamp}", id.label()),
        );
    };
    if stamp_of(ms[i].at) != stamp {
        // Not a memento's own URL: send the client to the one it falls on.
        let mut r = StatusCode::FOUND.into_response();
        set(
            r.headers_mut(),
            header::LOCATION,
            &memento_url(&s.config.base_url, &id, ms[i].at),
        );
        return r;
    }
    let chosen = ms[i].clone();
    let index = entry
        .captures
        .iter()
        .position(|c| c.digest == chosen.digest)
        .unwrap_or(entry.captures.len() - 1);
    let base = s.config.base_url.clone();
    let mut links = post_links(&base, &id);
    links.extend(neighbour_links(&base, &id, &ms, i));
    let s2 = s.clone();
    let id2 = id.clone();
    let made = blocking(move || s2.card(&id2, Some(index), false)).await;
    let card = match made {
        Err(r) => return r,
        Ok(Err(e)) => return super::failure(&e),
        Ok(Ok(c)) => c,
    };
    let html = super::pages::memento_page(&s, &entry, &chosen, card.as_deref(), &ms, i);
    let mut r = html.into_response();
    let h = r.headers_mut();
    set(
        h,
        header::HeaderName::from_static("memento-datetime"),
        &http_date(chosen.at),
    );
    set(h, header::LINK, &links.join(", "));
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::embed::Provider;

    #[test]
    fn dates_and_stamps() {
        let t = time::macros::datetime!(2023-03-31 18:05:06.5 UTC);
        assert_eq!(http_date(t), "Fri, 31 Mar 2023 18:05:06 GMT");
        assert_eq!(stamp_of(t), "20230331180506500000");
        let id = PostId::new(Provider::Twitter, "20");
        assert!(
            memento_url("http://h", &id, t)
                .starts_with("http://h/memento/20230331180506500000/https://")
        );
    }
}
