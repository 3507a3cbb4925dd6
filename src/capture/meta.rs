//! Instagram, Threads and Facebook: Meta's oEmbed endpoints, the only public
//! answer Meta gives about a post to a program without an account. One
//! [`Meta`] value per platform, differing only in the endpoint asked:
//!
//! - Instagram: `GET https://graph.facebook.com/v22.0/instagram_oembed?url=`;
//! - Threads: `GET https://graph.threads.net/v1.0/oembed?url=`;
//! - Facebook: `GET https://graph.facebook.com/v22.0/oembed_post?url=`, or
//!   `oembed_video` for a video (`/videos/`, `/watch`, `/reel/`).
//!
//! Each wants an app token (`APP_ID|CLIENT_TOKEN`), sent as
//! `Authorization: Bearer …` and never in a URL, so it is in no recorded
//! exchange, log line or error. Its answers decide:
//!
//! - 200: the post as oEmbed shows it (`source: oembed`): the author
//!   (`author_name`, `author_url`), the caption (`title`, else the words
//!   of the `html` blockquote's paragraphs), the thumbnail as a photo;
//! - 404: `not_found`;
//! - 400, 401, 403 (a token refused, a post Meta will not embed), or no
//!   token at all: Meta cannot answer, and no retry mends that, so the
//!   capture keeps the citing article's own quote (`source: article`,
//!   [`Found::from_article`]) with Meta's words (or the missing token) as
//!   its error;
//! - anything else (429 and 5xx after the client's retries, no answer):
//!   `failed`, captured again by the next run.
//!
//! This module must not log, print or store the token; [`MetaToken`]'s
//! `Debug` and `Display` show it redacted.

use super::{BoxFuture, Found, Platform, Session};
use crate::embed::Provider;
use crate::net::Fetched;
use crate::post::{self, Asset, Author, MediaItem, MediaKind, Post, PostId};
use crate::store::record::CaptureOutcome;
use serde_json::Value;
use std::fmt;

/// Largest oEmbed answer parsed.
const MAX_JSON: u64 = 2 * 1024 * 1024;

/// Longest caption or name kept.
const MAX_FIELD: usize = 16 * 1024;

/// Meta's app token (`APP_ID|CLIENT_TOKEN`): a secret. It is shown only
/// redacted; [`MetaToken::expose`] hands it to the request header alone.
#[derive(Clone, PartialEq, Eq)]
pub struct MetaToken(String);

impl MetaToken {
    /// A token, trimmed; `None` when empty or not printable ASCII (an HTTP
    /// header value must be).
    pub fn new(token: &str) -> Option<MetaToken> {
        let t = token.trim();
        (!t.is_empty() && t.bytes().all(|b| (0x21..0x7f).contains(&b)))
            .then(|| MetaToken(t.to_string()))
    }

    /// What `embarc config` prints for it.
    pub const REDACTED: &'static str = "(set, redacted)";

    fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MetaToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

impl fmt::Display for MetaToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(Self::REDACTED)
    }
}

/// One of Meta's platforms.
#[derive(Debug, Clone, Copy)]
pub struct Meta {
    provider: Provider,
}

/// Instagram's capture.
pub static INSTAGRAM: Meta = Meta {
    provider: Provider::Instagram,
};
/// Threads' capture.
pub static THREADS: Meta = Meta {
    provider: Provider::Threads,
};
/// Facebook's capture.
pub static FACEBOOK: Meta = Meta {
    provider: Provider::Facebook,
};

impl Platform for Meta {
    fn hosts(&self) -> &'static [&'static str] {
        match self.provider {
            Provider::Threads => &["graph.threads.net", "cdninstagram.com", "fbcdn.net"],
            _ => &["graph.facebook.com", "cdninstagram.com", "fbcdn.net"],
        }
    }

    fn fetch<'a>(&'a self, s: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
        Box::pin(self.fetch_post(s, post))
    }
}

impl Meta {
    /// The oEmbed URL asking about the post at `permalink`.
    pub fn oembed_url(&self, permalink: &str) -> String {
        let q: String = url::form_urlencoded::byte_serialize(permalink.as_bytes()).collect();
        match self.provider {
            Provider::Threads => format!("https://graph.threads.net/v1.0/oembed?url={q}"),
            Provider::Facebook if is_facebook_video(permalink) => {
                format!("https://graph.facebook.com/v22.0/oembed_video?url={q}")
            }
            Provider::Facebook => format!("https://graph.facebook.com/v22.0/oembed_post?url={q}"),
            _ => format!("https://graph.facebook.com/v22.0/instagram_oembed?url={q}"),
        }
    }

    async fn fetch_post(&self, s: &Session<'_>, post: &PostId) -> Found {
        let permalink = match s.cited_url() {
            Some(u) => u.to_string(),
            None => post.canonical_url(),
        };
        if permalink.is_empty() {
            return Found::failed(format!(
                "{post}: no URL of the post to ask {}'s oEmbed about; give its URL",
                self.provider.display_name()
            ));
        }
        let Some(token) = s.meta_token() else {
            return Found::from_article(
                "no Meta app token to ask oEmbed with (pass --meta-token or set EMBARC_META_TOKEN)",
            );
        };
        let url = self.oembed_url(&permalink);
        let f = match s.get_json_bearer(&url, MAX_JSON, token.expose()).await {
            Ok(f) => f,
            Err(e) => return Found::net_failed(&e),
        };
        let host = crate::providers::split_url(&url)
            .map(|u| u.host)
            .unwrap_or_default();
        match f.status() {
            200..=299 => match to_post(&f, &permalink) {
                Some(mut p) => {
                    p.set_sources(post::source::OEMBED);
                    Found::post(p, post::source::OEMBED)
                }
                None => Found {
                    error_url: Some(url),
                    ..Found::failed(format!("{host} answered something that is not oEmbed"))
                },
            },
            404 => Found::outcome(CaptureOutcome::NotFound),
            code @ (400 | 401 | 403) => Found {
                error_url: Some(url),
                ..Found::from_article(format!(
                    "{host} refused oEmbed (HTTP {code}{})",
                    graph_error(&f)
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                ))
            },
            code => Found {
                error_url: Some(url),
                ..Found::failed(format!("{host} answered HTTP {code}"))
            },
        }
    }
}

/// Whether a Facebook URL is a video's (asked of `oembed_video`).
fn is_facebook_video(permalink: &str) -> bool {
    crate::providers::split_url(permalink).is_some_and(|u| {
        let segs = u.segments();
        segs.contains(&"videos") || segs.first() == Some(&"watch") || segs.first() == Some(&"reel")
    })
}

/// The message of a Graph API error body (`{"error":{"message":…}}`), on
/// one line and short.
fn graph_error(f: &Fetched) -> Option<String> {
    let body = f.decoded_body(64 * 1024)?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    let m = v.get("error")?.get("message")?.as_str()?;
    let m: String = m
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(300)
        .collect();
    Some(m.trim().to_string()).filter(|m| !m.is_empty())
}

fn field(v: &Value, key: &str) -> Option<String> {
    let s = v.get(key)?.as_str()?.trim();
    (!s.is_empty()).then(|| cap(s))
}

fn cap(s: &str) -> String {
    crate::post::clip(s, MAX_FIELD)
}

fn http_url(s: &str) -> bool {
    url::Url::parse(s)
        .ok()
        .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// The neutral post of an oEmbed answer about `permalink`.
fn to_post(f: &Fetched, permalink: &str) -> Option<Post> {
    let body = f.decoded_body(MAX_JSON)?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    if !v.is_object() || (v.get("html").is_none() && v.get("author_name").is_none()) {
        return None;
    }
    let html = v.get("html").and_then(Value::as_str).unwrap_or_default();
    let text = field(&v, "title").unwrap_or_else(|| html_words(html));
    let author_url = field(&v, "author_url").filter(|u| http_url(u));
    let handle = author_url
        .as_deref()
        .and_then(crate::providers::split_url)
        .and_then(|u| {
            let segs = u.segments();
            let h = segs.first()?.trim_start_matches('@').to_string();
            crate::providers::is_handle(Provider::Instagram, &h).then_some(h)
        })
        .or_else(|| handle_in(permalink));
    let media = field(&v, "thumbnail_url")
        .filter(|u| http_url(u))
        .map(|u| MediaItem {
            kind: MediaKind::Photo,
            file: Asset::at(u),
            poster: None,
            alt: None,
            width: v.get("thumbnail_width").and_then(Value::as_u64),
            height: v.get("thumbnail_height").and_then(Value::as_u64),
        })
        .into_iter()
        .collect();
    let url = field(&v, "url")
        .filter(|u| http_url(u))
        .unwrap_or_else(|| permalink.to_string());
    Some(Post {
        url: Some(url),
        author: Author {
            name: field(&v, "author_name")
                .or_else(|| handle.clone())
                .unwrap_or_default(),
            handle,
            url: author_url,
            ..Author::default()
        },
        text,
        media,
        ..Post::default()
    })
}

/// The handle a Threads or Instagram permalink names (`/@user/post/…`).
fn handle_in(permalink: &str) -> Option<String> {
    let u = crate::providers::split_url(permalink)?;
    let first = *u.segments().first()?;
    let h = first.strip_prefix('@')?;
    crate::providers::is_handle(Provider::Threads, h).then(|| h.to_string())
}

/// The words of an oEmbed `html` blockquote's paragraphs (Facebook's post
/// text), without Meta's own links ("View this post on Instagram", "View
/// on Threads") and the "Posted by … on …" line.
fn html_words(html: &str) -> String {
    if html.len() > MAX_JSON as usize {
        return String::new();
    }
    let doc = scraper::Html::parse_fragment(html);
    let Ok(p) = scraper::Selector::parse("blockquote p") else {
        return String::new();
    };
    let mut out: Vec<String> = Vec::new();
    for el in doc.select(&p) {
        let words: String = el.text().collect::<String>();
        let words = words.trim();
        let boilerplate = words.is_empty()
            || words.starts_with("View this post on Instagram")
            || words.starts_with("A post shared by")
            || words.starts_with("A photo posted by")
            || words.starts_with("A video posted by")
            || words == "View on Threads";
        if !boilerplate {
            out.push(words.to_string());
        }
    }
    cap(&out.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_per_platform() {
        assert_eq!(
            INSTAGRAM.oembed_url("https://www.instagram.com/p/BMokmydjG-M/"),
            "https://graph.facebook.com/v22.0/instagram_oembed?url=https%3A%2F%2Fwww.instagram.com%2Fp%2FBMokmydjG-M%2F"
        );
        assert!(
            THREADS
                .oembed_url("https://www.threads.net/@a/post/X")
                .starts_with("https://graph.threads.net/v1.0/oembed?url=")
        );
        assert!(
            FACEBOOK
                .oembed_url("https://www.facebook.com/zuck/videos/10102509264909801/")
                .contains("/oembed_video?")
        );
        assert!(
            FACEBOOK
                .oembed_url("https://www.facebook.com/zuck/posts/10102593740125791")
                .contains("/oembed_post?")
        );
    }

    #[test]
    fn the_token_is_never_shown() {
        let t = MetaToken::new(" 123|abcSECRET ").unwrap();
        assert_eq!(format!("{t:?} {t}"), "(set, redacted) (set, redacted)");
        assert_eq!(t.expose(), "123|abcSECRET");
        assert_eq!(MetaToken::new("  "), None);
        assert_eq!(MetaToken::new("a\nb"), None);
    }

    #[test]
    fn facebook_words_skip_the_attribution() {
        let html = "<div class=\"fb-post\"><blockquote><p>February 4 is Facebook&#8217;s 12th birthday!</p>Posted by <a href=\"https://www.facebook.com/zuck\">Mark Zuckerberg</a> on&nbsp;<a>Tuesday, January 12, 2016</a></blockquote></div>";
        assert_eq!(
            html_words(html),
            "February 4 is Facebook\u{2019}s 12th birthday!"
        );
    }
}
