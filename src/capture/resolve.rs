//! Short links (t.co, pic.twitter.com, pic.x.com) → the post they lead to
//! (and Bluesky handle links → the post by DID, through
//! [`super::bluesky::resolve_handle`]),
//! followed hop by hop without auto-redirect: each hop's status, Location and
//! time is recorded, a browser-style 200 page with a meta refresh or
//! `location.replace` is followed too, and loops and long chains end as named
//! failures. A resolution is kept in the archive, so a link is never resolved
//! twice and still resolves after the shortener dies.

use crate::net::{Client, Fetched};
use crate::post::PostId;
use crate::providers::{UrlMatch, classify_url};
use crate::store::Archive;
use crate::store::record::{Hop, SHORT_LINK_SCHEMA, ShortLinkRecord};
use regex::bytes::Regex;
use std::sync::LazyLock;
use time::OffsetDateTime;

/// The most hops followed.
pub const MAX_HOPS: usize = 10;

/// How a short link resolved.
#[derive(Debug, Clone)]
pub struct Resolution {
    /// The post, when the chain ended at one, with its URL.
    pub post: Option<(PostId, String)>,
    /// Why not, when it did not.
    pub error: Option<String>,
    /// The full URL of the request that failed, when one did.
    pub error_url: Option<String>,
    /// Whether the archive already knew it (no request sent).
    pub cached: bool,
}

/// Resolves `short` (as scan reports it: `t.co/abc`, `pic.twitter.com/abc`).
pub async fn resolve(client: &Client, archive: &Archive, short: &str) -> Resolution {
    let (_, code) = short.split_once('/').unwrap_or(("t.co", short));
    if let Ok(Some(record)) = archive.short_link(short) {
        return Resolution {
            error: record
                .post
                .is_none()
                .then(|| "the archived resolution led to no post".to_string()),
            post: record.post.clone().map(|p| {
                let url = record.post_url().unwrap_or_else(|| p.canonical_url());
                (p, url)
            }),
            error_url: None,
            cached: true,
        };
    }
    // A Bluesky handle, resolved by the AppView.
    if short.starts_with("bsky.app/") {
        return super::bluesky::resolve_handle(client, archive, short).await;
    }
    // pic.twitter.com/X and pic.x.com/X are the same code as t.co/X.
    let mut url = format!("https://t.co/{code}");
    let mut hops = Vec::new();
    let mut seen = vec![url.clone()];
    let mut error_url = None;
    let outcome: Result<Option<(PostId, String)>, String> = loop {
        if hops.len() >= MAX_HOPS {
            break Err(format!("more than {MAX_HOPS} redirects"));
        }
        let fetched = match client.get_small(&url, archive, 256 * 1024).await {
            Ok(f) => f,
            Err(e) => {
                error_url = e.url().map(str::to_string);
                break Err(crate::error::full_message(&e));
            }
        };
        let next = next_hop(&fetched).map(|l| join(&url, &l));
        hops.push(Hop {
            url: url.clone(),
            status: fetched.status(),
            location: next.clone(),
            at: fetched.exchange.started_at,
            user_agent: fetched.exchange.user_agent.clone(),
        });
        let Some(next) = next else {
            break Err(format!(
                "{url} answered {} without pointing anywhere",
                fetched.status()
            ));
        };
        if let Some(UrlMatch::Post(p, post)) = classify_url(&next) {
            break Ok(Some((PostId::new(p, post.id), post.url)));
        }
        if seen.contains(&next) {
            break Err(format!("redirect loop at {next}"));
        }
        if client.is_foreign(&next) {
            // Somewhere embarc does not fetch: a link out, not a post.
            break Ok(None);
        }
        // A hop to a private address (or another refused URL) is a named failure.
        if let Err(e) = client.route(&next) {
            break Err(crate::error::full_message(&e));
        }
        seen.push(next.clone());
        url = next;
    };
    match outcome {
        Ok(post) => {
            let record = ShortLinkRecord {
                schema: SHORT_LINK_SCHEMA.into(),
                short_link: short.to_string(),
                resolved_at: OffsetDateTime::now_utc(),
                hops,
                post: post.as_ref().map(|(p, _)| p.clone()),
            };
            let _ = archive.put_short_link(&record);
            Resolution {
                error: post.is_none().then(|| format!("{short} leads to no post")),
                post,
                error_url: None,
                cached: false,
            }
        }
        Err(e) => Resolution {
            post: None,
            error: Some(format!("{short}: {e}")),
            error_url,
            cached: false,
        },
    }
}

static META_REFRESH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<meta[^>]+http-equiv\s*=\s*["']?refresh["']?[^>]*content\s*=\s*["']?\s*\d*\s*;\s*url\s*=\s*([^"'>\s]+)"#)
        .unwrap_or_else(|_| unreachable!())
});
static LOCATION_REPLACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"location\.replace\(\s*["']([^"']+)["']\s*\)"#).unwrap_or_else(|_| unreachable!())
});

/// Where a response points: `Location` on a 3xx, or the meta refresh /
/// `location.replace` of the page t.co sends to browsers.
fn next_hop(f: &Fetched) -> Option<String> {
    if (300..400).contains(&f.status()) {
        return f.header("location").map(str::to_string);
    }
    if f.status() == 200 {
        let body = f.decoded_body(256 * 1024)?;
        for re in [&*META_REFRESH, &*LOCATION_REPLACE] {
            if let Some(m) = re.captures(&body).and_then(|c| c.get(1)) {
                let raw = String::from_utf8_lossy(m.as_bytes()).replace("\\/", "/");
                return Some(htmlize::unescape(raw.as_str()).into_owned());
            }
        }
    }
    None
}

fn join(base: &str, location: &str) -> String {
    url::Url::parse(base)
        .and_then(|b| b.join(location))
        .map(|u| u.to_string())
        .unwrap_or_else(|_| location.to_string())
}
