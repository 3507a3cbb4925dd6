//! Mastodon (any instance): asking for one status. A post is `HOST/ID`, the
//! instance's host and its id there. The capture asks
//! `GET https://HOST/api/v1/statuses/ID` (public statuses need no token since
//! Mastodon 2.7) and decides from its answer:
//!
//! - a status: the post (`source: api`). A remote status (one HOST only
//!   shows, whose `uri`/`url` names another Mastodon instance) is asked of
//!   its origin too, `GET https://ORIGIN/api/v1/statuses/OID`, and the
//!   origin's answer is the post when it gives one (the record is stored
//!   under both posts, `HOST/ID` as cited and `ORIGIN/OID`); else HOST's copy
//!   is kept and the origin's answer named in the error. Both exchanges are
//!   recorded;
//! - 401 or 403 (an instance that serves its API to signed-in users only,
//!   "This API requires an authenticated user"): `protected`, with the
//!   instance's words as the error;
//! - 404 ("Record not found": deleted, or never public): `not_found`;
//! - 410: `tombstone`;
//! - anything else, or no answer: the instance's oEmbed
//!   (`/api/oembed?url=`), whose 200 gives the author (`source: oembed`),
//!   404 `not_found`; else `failed`, saying what both did.
//!
//! Hosts: the instance (and the origin) are let in per capture with
//! [`Session::admit`], and so are the hosts of the files the instance's own
//! answer names (`files.mastodon.social`, `cdn.fosstodon.org`, an S3 or CDN
//! domain: a Mastodon server stores media wherever its admin chose, so no
//! fixed list can hold them). That is safe because admitting a host changes
//! only the host list: every request still goes through the resolver that
//! refuses loopback, private and link-local addresses, redirects are
//! checked again, and the size caps and per-host limits hold; an instance
//! can make embarc fetch no more than public URLs of its own choosing.

pub mod content;
pub mod status;

use super::{BoxFuture, Found, Platform, Session};
use crate::net::{Fetched, NetError};
use crate::post::{self, Post, PostId};
use crate::providers::split_mastodon_id;
use crate::store::record::CaptureOutcome;
use serde_json::Value;

/// Largest JSON answer parsed (decoded).
const MAX_JSON: u64 = 4 * 1024 * 1024;

/// Most distinct file hosts one answer may let in.
const MAX_FILE_HOSTS: usize = 8;

/// Mastodon's capture.
#[derive(Debug, Clone, Default)]
pub struct Mastodon;

impl Platform for Mastodon {
    /// None fixed: each post's instance is admitted per capture.
    fn hosts(&self) -> &'static [&'static str] {
        &[]
    }

    fn fetch<'a>(&'a self, s: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
        Box::pin(fetch_post(s, post))
    }
}

/// The API URL of a status.
pub fn status_url(host: &str, id: &str) -> String {
    format!("https://{host}/api/v1/statuses/{id}")
}

/// The oEmbed URL of a status (`url=` a permalink on the instance: its
/// `StatusFinder` recognizes the `/@:account_username/:id` route and finds the
/// status by id alone, so the account's name, unknown here, may be any).
pub fn oembed_url(host: &str, id: &str) -> String {
    let permalink = format!("https://{host}/@_/{id}");
    let q: String = url::form_urlencoded::byte_serialize(permalink.as_bytes()).collect();
    format!("https://{host}/api/oembed?url={q}")
}

/// What one instance said about a status.
enum Answer {
    /// A status, as JSON, and the exchange it came in.
    Status(Box<Value>, Fetched),
    /// 401/403, with the instance's words.
    Protected(Option<String>),
    NotFound,
    Gone(Option<String>),
    /// Anything else: what happened, in words.
    Other(String, Option<NetError>),
}

async fn ask(s: &Session<'_>, host: &str, id: &str) -> Answer {
    let url = status_url(host, id);
    let f = match s.get_json(&url, MAX_JSON).await {
        Ok(f) => f,
        Err(e) => {
            return Answer::Other(
                format!("{host} did not answer: {}", crate::error::full_message(&e)),
                Some(e),
            );
        }
    };
    let words = || error_words(&f);
    match f.status() {
        200..=299 => match f
            .decoded_body(MAX_JSON)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        {
            Some(v) if status::is_status(&v) => Answer::Status(Box::new(v), f),
            _ => Answer::Other(
                format!("{host} answered something that is not a status"),
                None,
            ),
        },
        401 | 403 => Answer::Protected(words()),
        404 => Answer::NotFound,
        410 => Answer::Gone(words()),
        code => Answer::Other(format!("{host} answered HTTP {code}"), None),
    }
}

/// The `error` of a Mastodon error body (`{"error": "Record not found"}`),
/// on one line and short.
fn error_words(f: &Fetched) -> Option<String> {
    let body = f.decoded_body(64 * 1024)?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    let words: String = v
        .get("error")?
        .as_str()?
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    Some(words.trim().to_string()).filter(|w| !w.is_empty())
}

async fn fetch_post(s: &Session<'_>, post: &PostId) -> Found {
    let Some((host, id)) = split_mastodon_id(&post.id) else {
        return Found::failed(format!("{} is not a Mastodon post (HOST/ID)", post.id));
    };
    s.admit(host);
    match ask(s, host, id).await {
        Answer::Status(v, f) => {
            s.answered_by(&f);
            from_status(s, host, &v).await
        }
        Answer::Protected(words) => Found {
            error: Some(words.unwrap_or_else(|| format!("{host} requires an account"))),
            ..Found::outcome(CaptureOutcome::Protected)
        },
        Answer::NotFound => Found::outcome(CaptureOutcome::NotFound),
        Answer::Gone(words) => Found {
            error: words,
            ..Found::outcome(CaptureOutcome::Tombstone)
        },
        Answer::Other(said, err) => from_oembed(s, host, id, said, err).await,
    }
}

/// The post of HOST's status: from its origin when it is a remote status of
/// another Mastodon instance that answers, else HOST's own copy.
async fn from_status(s: &Session<'_>, host: &str, v: &Value) -> Found {
    let here = || {
        let mut p = status::to_post(v, host);
        admit_files(s, &p);
        p.set_sources(post::source::API);
        p
    };
    let origin = status::origin(v)
        .filter(|o| split_mastodon_id(o).is_some_and(|(origin_host, _)| origin_host != host));
    let Some(origin) = origin else {
        return Found::post(here(), post::source::API);
    };
    let Some((origin_host, origin_id)) = split_mastodon_id(&origin) else {
        return Found::post(here(), post::source::API);
    };
    s.admit(origin_host);
    let note = |what: String| format!("kept {host}'s copy: the origin {what}");
    match ask(s, origin_host, origin_id).await {
        Answer::Status(ov, f) => {
            s.answered_by(&f);
            let mut p = status::to_post(&ov, origin_host);
            admit_files(s, &p);
            p.set_sources(post::source::API);
            // Recorded under the origin's identity too: an article citing
            // the status on its origin finds this capture.
            let alias = PostId::new(crate::embed::Provider::Mastodon, origin.clone());
            let alias_url = p.url.clone().unwrap_or_else(|| alias.canonical_url());
            Found {
                alias: Some((alias, alias_url)),
                ..Found::post(p, post::source::API)
            }
        }
        Answer::Protected(_) => Found {
            error: Some(note(format!("{origin_host} requires an account"))),
            ..Found::post(here(), post::source::API)
        },
        Answer::NotFound | Answer::Gone(_) => Found {
            error: Some(note(format!("{origin_host} no longer has it"))),
            ..Found::post(here(), post::source::API)
        },
        Answer::Other(said, _) => Found {
            error: Some(note(said)),
            ..Found::post(here(), post::source::API)
        },
    }
}

/// Lets the capture fetch the files `p` (and its quoted post) names, from
/// the hosts the instance's answer gave (see the module's words on why).
fn admit_files(s: &Session<'_>, p: &Post) {
    let mut p = p.clone();
    let mut hosts: Vec<String> = Vec::new();
    let mut add = |post: &mut Post| {
        for (_, asset) in post.assets_mut() {
            for u in asset.candidates() {
                if let Some(h) = url::Url::parse(u)
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
                    && !hosts.contains(&h)
                    && hosts.len() < MAX_FILE_HOSTS
                {
                    hosts.push(h);
                }
            }
        }
    };
    add(&mut p);
    if let Some(q) = p.quoted.as_mut() {
        add(&mut q.post);
    }
    for h in hosts {
        s.admit(&h);
    }
}

/// oEmbed, when the API gave no status: its author, or its word that the
/// status is gone.
async fn from_oembed(
    s: &Session<'_>,
    host: &str,
    id: &str,
    said: String,
    err: Option<NetError>,
) -> Found {
    let failed = |why: String| match &err {
        Some(e) => Found {
            error: Some(why),
            ..Found::net_failed(e)
        },
        None => Found {
            error_url: Some(status_url(host, id)),
            ..Found::failed(why)
        },
    };
    // A host that did not answer at all is not asked again for oEmbed.
    if err.as_ref().is_some_and(NetError::is_unreachable)
        || matches!(err, Some(NetError::Refused { .. }))
    {
        return failed(said);
    }
    match s.get_json(&oembed_url(host, id), MAX_JSON).await {
        Ok(f) if f.status() == 200 => match oembed_post(&f) {
            Some(mut p) => {
                p.set_sources(post::source::OEMBED);
                Found::post(p, post::source::OEMBED)
            }
            None => failed(format!("{said}, and its oEmbed answer could not be read")),
        },
        Ok(f) if f.status() == 404 => Found::outcome(CaptureOutcome::NotFound),
        Ok(f) => failed(format!(
            "{said}, and its oEmbed answered HTTP {}",
            f.status()
        )),
        Err(e) => failed(format!(
            "{said}, and its oEmbed did not answer: {}",
            crate::error::full_message(&e)
        )),
    }
}

/// The author of an oEmbed answer (Mastodon's `html` is an iframe or a
/// link, with no text of the post).
fn oembed_post(f: &Fetched) -> Option<Post> {
    let body = f.decoded_body(MAX_JSON)?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    let name = v.get("author_name")?.as_str()?.to_string();
    let author_url = v
        .get("author_url")
        .and_then(Value::as_str)
        .map(str::to_string);
    let handle = author_url.as_deref().and_then(|u| {
        let parts = crate::providers::split_url(u)?;
        let user = parts.path.trim_matches('/').strip_prefix('@')?.to_string();
        crate::providers::is_handle(
            crate::embed::Provider::Mastodon,
            &format!("{user}@{}", parts.host),
        )
        .then(|| format!("{user}@{}", parts.host))
    });
    Some(Post {
        author: post::Author {
            name,
            handle,
            url: author_url,
            ..post::Author::default()
        },
        ..Post::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_a_status() {
        assert_eq!(
            status_url("mastodon.social", "1"),
            "https://mastodon.social/api/v1/statuses/1"
        );
        assert_eq!(
            oembed_url("mastodon.social", "1"),
            "https://mastodon.social/api/oembed?url=https%3A%2F%2Fmastodon.social%2F%40_%2F1"
        );
    }
}
