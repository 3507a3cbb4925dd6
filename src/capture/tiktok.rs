//! TikTok: what an embed showed of one video, `tiktok:ID` (the numeric id of
//! `tiktok.com/@user/video/ID`, of `blockquote.tiktok-embed`'s
//! `data-video-id`, of `/embed/v2/ID`). No account: the capture asks
//! `GET https://www.tiktok.com/oembed?url=https://www.tiktok.com/@USER/video/ID`
//! (the URL as cited when it names the user; `@_` when only the id is
//! known: TikTok finds the video by its id), stored as received, and
//! decides from its answer:
//!
//! - 200 with JSON about this video (`embed_product_id` is the id): the
//!   post (`source: oembed`): the caption (`title`) as its text, the
//!   author (`author_name`, `author_unique_id` as the handle,
//!   `author_url`), and the thumbnail as its one photo, with the size the
//!   answer gives. The thumbnail's URL is signed and expires (its
//!   `x-expires`, hours later), so it is fetched in the same run, by the
//!   shared code, right after the answer. Once expired, TikTok's CDN
//!   answers 403: [`Tiktok`] tells the shared code that this refusal may
//!   pass ([`Platform::passing_refusal`]), so the capture is `partial`,
//!   naming the thumbnail, and the next run asks oEmbed again for a URL
//!   signed afresh;
//! - 200 about another video: `failed`, naming both ids;
//! - 401 or 403: `protected`; 404: `not_found`;
//! - anything else, or no answer: `failed`, with TikTok's words.
//!
//! Nothing here panics on any answer; every string kept is capped, and a
//! thumbnail is fetched only from TikTok's own CDNs.

use super::{BoxFuture, Found, Platform, Session};
use crate::embed::Provider;
use crate::post::{self, Asset, Author, MediaItem, MediaKind, Post, PostId, clip};
use crate::providers::{UrlMatch, classify_url, split_url};
use crate::store::record::CaptureOutcome;
use serde_json::Value;

/// Largest oEmbed answer parsed (decoded).
const MAX_JSON: u64 = 1024 * 1024;
/// Longest caption or name kept.
const MAX_FIELD: usize = 8 * 1024;
/// Where TikTok's thumbnails are served from (subdomains match).
const CDNS: &[&str] = &["tiktokcdn.com", "tiktokcdn-us.com", "tiktokcdn-eu.com"];

/// TikTok's capture.
#[derive(Debug, Clone, Default)]
pub struct Tiktok;

impl Platform for Tiktok {
    fn hosts(&self) -> &'static [&'static str] {
        &[
            "www.tiktok.com",
            "tiktokcdn.com",
            "tiktokcdn-us.com",
            "tiktokcdn-eu.com",
        ]
    }

    fn fetch<'a>(&'a self, s: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
        Box::pin(fetch_video(s, post))
    }

    fn passing_refusal(&self, url: &str, status: u16) -> Option<String> {
        let expires = split_url(url)?.query_param("x-expires")?;
        let at = expires
            .parse::<i64>()
            .ok()
            .and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok())
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or(expires);
        (status == 403).then(|| {
            format!(
                "HTTP 403: its signed URL expired at {at}; the next run asks TikTok for a fresh one"
            )
        })
    }
}

/// The video URL oEmbed is asked about: the cited one when it is
/// `tiktok.com/@USER/video/ID` for this id, else `@_` in the user's place.
pub fn video_url(id: &str, cited: Option<&str>) -> String {
    let named = cited.and_then(|c| match classify_url(c)? {
        UrlMatch::Post(Provider::Tiktok, p) if p.id == id && p.handle.is_some() => Some(p.url),
        _ => None,
    });
    named.unwrap_or_else(|| format!("https://www.tiktok.com/@_/video/{id}"))
}

/// The oEmbed URL for a video URL.
pub fn oembed_url(video: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(video.as_bytes()).collect();
    format!("https://www.tiktok.com/oembed?url={q}")
}

async fn fetch_video(s: &Session<'_>, post: &PostId) -> Found {
    let id = post.id.as_str();
    if id.is_empty() || id.len() > 25 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Found::failed(format!("{id} is not a TikTok video id (digits)"));
    }
    let url = oembed_url(&video_url(id, s.cited_url()));
    let f = match s.get_json(&url, MAX_JSON).await {
        Ok(f) => f,
        Err(e) => return Found::net_failed(&e),
    };
    let json = f
        .decoded_body(MAX_JSON)
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(Value::is_object);
    let said = json
        .as_ref()
        .and_then(|v| v.get("message").or_else(|| v.get("status_msg")))
        .and_then(Value::as_str)
        .map(|m| clip(m, 200));
    let failed = |why: String| Found {
        error_url: Some(url.clone()),
        ..Found::failed(why)
    };
    match (f.status(), json) {
        (200, Some(v)) => {
            let about = v.get("embed_product_id").and_then(|p| {
                p.as_str()
                    .map(str::to_string)
                    .or_else(|| p.as_u64().map(|n| n.to_string()))
            });
            if let Some(other) = about.filter(|a| a != id) {
                return failed(format!(
                    "TikTok's oEmbed answered about video {}, not {id}",
                    clip(&other, 40)
                ));
            }
            let mut p = to_post(id, &v);
            p.set_sources(post::source::OEMBED);
            Found::post(p, post::source::OEMBED)
        }
        (200, None) => {
            failed("www.tiktok.com answered oEmbed with something that is not JSON".into())
        }
        (401 | 403, _) => Found {
            error: said,
            ..Found::outcome(CaptureOutcome::Protected)
        },
        (404, _) => Found {
            error: said,
            ..Found::outcome(CaptureOutcome::NotFound)
        },
        (code, _) => failed(format!(
            "www.tiktok.com answered oEmbed with HTTP {code}{}",
            said.map(|w| format!(" ({w})")).unwrap_or_default()
        )),
    }
}

/// The neutral post of an oEmbed answer.
pub fn to_post(id: &str, v: &Value) -> Post {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|t| clip(t.trim(), MAX_FIELD))
            .filter(|t| !t.is_empty())
    };
    let n = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .filter(|n| *n > 0 && *n < 100_000)
    };
    let handle = s("author_unique_id").filter(|h| crate::providers::is_handle(Provider::Tiktok, h));
    let author_url = s("author_url").filter(|u| u.starts_with("https://"));
    let thumbnail = s("thumbnail_url").filter(|u| {
        u.starts_with("https://")
            && split_url(u).is_some_and(|p| {
                CDNS.iter()
                    .any(|c| p.host == *c || p.host.ends_with(&format!(".{c}")))
            })
    });
    let title = s("title").unwrap_or_default();
    Post {
        url: Some(match &handle {
            Some(h) => format!("https://www.tiktok.com/@{h}/video/{id}"),
            None => format!("https://www.tiktok.com/@_/video/{id}"),
        }),
        author: Author {
            name: s("author_name").unwrap_or_default(),
            handle,
            url: author_url,
            ..Author::default()
        },
        text: title.clone(),
        media: thumbnail
            .map(|u| MediaItem {
                kind: MediaKind::Photo,
                file: Asset::at(u),
                poster: None,
                alt: Some(title).filter(|t| !t.is_empty()),
                width: n("thumbnail_width"),
                height: n("thumbnail_height"),
            })
            .into_iter()
            .collect(),
        ..Post::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cited_url_is_asked_when_it_names_the_user() {
        let id = "7348705314746699054";
        assert_eq!(
            video_url(
                id,
                Some(
                    "https://www.tiktok.com/@atribecalledval/video/7348705314746699054?refer=embed"
                )
            ),
            "https://www.tiktok.com/@atribecalledval/video/7348705314746699054"
        );
        assert_eq!(
            video_url(
                id,
                Some("https://www.tiktok.com/embed/v2/7348705314746699054")
            ),
            "https://www.tiktok.com/@_/video/7348705314746699054"
        );
        assert_eq!(
            video_url(id, Some("https://www.tiktok.com/@x/video/1")),
            "https://www.tiktok.com/@_/video/7348705314746699054"
        );
    }

    #[test]
    fn an_expired_thumbnail_may_pass_and_says_when() {
        let t = Tiktok;
        let u =
            "https://p19-pu-sign-useast8.tiktokcdn-us.com/obj/x?x-expires=1722110400&x-signature=a";
        assert_eq!(
            t.passing_refusal(u, 403).as_deref(),
            Some(
                "HTTP 403: its signed URL expired at 2024-07-27T20:00:00Z; the next run asks TikTok for a fresh one"
            )
        );
        assert_eq!(t.passing_refusal(u, 404), None);
        assert_eq!(
            t.passing_refusal("https://p16.tiktokcdn.com/obj/x", 403),
            None
        );
    }

    #[test]
    fn thumbnails_come_from_tiktoks_cdns_only() {
        let v = serde_json::json!({"thumbnail_url": "https://evil.example/x.jpg", "author_unique_id": "a\"b"});
        let p = to_post("1", &v);
        assert!(p.media.is_empty());
        assert_eq!(p.author.handle, None);
        let v = serde_json::json!({"thumbnail_url": "https://p16-sign.tiktokcdn-us.com/obj/x?x-expires=1", "thumbnail_width": 576, "thumbnail_height": 1024});
        let p = to_post("1", &v);
        assert_eq!(p.media[0].width, Some(576));
    }
}
