//! Reddit: one post (a "link", `t3`) from its public JSON, no account needed.
//! A post is its base-36 id. The capture asks
//! `GET https://www.reddit.com/r/SUB/comments/ID/.json` (or
//! `/comments/ID/.json` when the cited URL names no subreddit), stores the
//! answer raw, and decides:
//!
//! - the post: title, author, subreddit, self text, created time, score and
//!   comment count, its link, and its images at full size: a gallery's
//!   (`gallery_data` order, each `media_metadata` entry at its `s` size) or
//!   the preview's `source` images, URLs HTML-entity-decoded (`&amp;`), a
//!   video's MP4 with the preview as its poster (`source: api`);
//! - a post deleted or removed (`removed_by_category`, or an author and a
//!   self text `[deleted]`/`[removed]`): `tombstone`, with the reason;
//! - 404: `not_found`; 403 (a private, banned or quarantined subreddit):
//!   `protected`, with Reddit's `reason`;
//! - anything else (429 and 5xx after the client's retries, a body that is
//!   not a listing, no answer): Reddit's oEmbed (`/oembed?url=`), whose 200
//!   gives the title and author (`source: oembed`), 404 `not_found`; else
//!   `failed`, saying what both did.

use super::{BoxFuture, Found, Platform, Session};
use crate::net::{Fetched, NetError};
use crate::post::{self, Asset, Author, Counts, MediaItem, MediaKind, Post, PostId, TextSpan};
use crate::store::record::CaptureOutcome;
use serde_json::Value;

/// Largest JSON answer parsed (a post with its first comments).
const MAX_JSON: u64 = 8 * 1024 * 1024;

/// Longest text field kept.
const MAX_FIELD: usize = 64 * 1024;

/// Most images read from a gallery (Reddit allows 20).
const MAX_MEDIA: usize = 50;

/// Reddit's capture.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reddit;

impl Platform for Reddit {
    fn hosts(&self) -> &'static [&'static str] {
        &["reddit.com", "redd.it", "redditmedia.com"]
    }

    fn fetch<'a>(&'a self, s: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
        Box::pin(fetch_post(s, post))
    }
}

/// The JSON URL of post `id`, under its subreddit when `cited` names one.
pub fn json_url(cited: &str, id: &str) -> String {
    let sub = crate::providers::split_url(cited).and_then(|u| match u.segments().as_slice() {
        ["r", sub, "comments", ..] => Some(sub.to_string()),
        _ => None,
    });
    match sub {
        Some(sub) => format!("https://www.reddit.com/r/{sub}/comments/{id}/.json"),
        None => format!("https://www.reddit.com/comments/{id}/.json"),
    }
}

/// Reddit's oEmbed URL for the post at `permalink`.
pub fn oembed_url(permalink: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(permalink.as_bytes()).collect();
    format!("https://www.reddit.com/oembed?url={q}")
}

async fn fetch_post(s: &Session<'_>, post: &PostId) -> Found {
    let id = post.id.as_str();
    let permalink = match s.cited_url() {
        Some(u) => u.to_string(),
        None => format!("https://www.reddit.com/comments/{id}/"),
    };
    let url = json_url(&permalink, id);
    let f = match s.get_json(&url, MAX_JSON).await {
        Ok(f) => f,
        Err(e) => {
            let said = format!("www.reddit.com did not answer: {}", e.reason());
            return from_oembed(s, &permalink, said, Some(e)).await;
        }
    };
    match f.status() {
        200..=299 => match link_of(&f, id) {
            Some(v) => judge(&v),
            None => {
                let said = "www.reddit.com answered something that is not the post".to_string();
                from_oembed(s, &permalink, said, None).await
            }
        },
        404 => Found::outcome(CaptureOutcome::NotFound),
        403 => Found {
            error: Some(match reddit_reason(&f) {
                Some(r) => format!("Reddit refuses it: the subreddit is {r}"),
                None => "Reddit refuses it (HTTP 403)".into(),
            }),
            ..Found::outcome(CaptureOutcome::Protected)
        },
        code => {
            let said = format!("www.reddit.com answered HTTP {code}");
            from_oembed(s, &permalink, said, None).await
        }
    }
}

/// The `reason` of a Reddit error body (`{"reason": "private", …}`).
fn reddit_reason(f: &Fetched) -> Option<String> {
    let body = f.decoded_body(64 * 1024)?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    let r = v.get("reason")?.as_str()?;
    (!r.is_empty() && r.len() <= 40 && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        .then(|| r.to_string())
}

/// The post's `data` in the answer (`[listing of the post, listing of
/// comments]`), when it is the post asked for.
fn link_of(f: &Fetched, id: &str) -> Option<Value> {
    let body = f.decoded_body(MAX_JSON)?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    let listing = match &v {
        Value::Array(parts) => parts.first()?,
        other => other,
    };
    let child = listing
        .get("data")?
        .get("children")?
        .as_array()?
        .iter()
        .find(|c| c.get("kind").and_then(Value::as_str) == Some("t3"))?;
    let data = child.get("data")?;
    (data.get("id").and_then(Value::as_str) == Some(id)).then(|| data.clone())
}

/// The post, or Reddit's word that it is gone.
fn judge(v: &Value) -> Found {
    if let Some(why) = removed(v) {
        return Found {
            error: Some(why),
            ..Found::outcome(CaptureOutcome::Tombstone)
        };
    }
    let mut p = to_post(v);
    p.set_sources(post::source::API);
    Found::post(p, post::source::API)
}

/// Why a post is gone, when it is: its `removed_by_category`, or its author
/// and text replaced by `[deleted]`/`[removed]`.
pub fn removed(v: &Value) -> Option<String> {
    if let Some(cat) = v.get("removed_by_category").and_then(Value::as_str) {
        let why = match cat {
            "deleted" | "author" => "deleted by its author",
            "moderator" => "removed by the subreddit's moderators",
            "automod_filtered" => "removed by AutoModerator",
            "reddit" | "anti_evil_ops" | "community_ops" | "legal_operations"
            | "copyright_takedown" | "content_takedown" => "removed by Reddit",
            _ => "removed",
        };
        return Some(format!(
            "{why} (removed_by_category: {})",
            post::clip(cat, 40)
        ));
    }
    let text = v
        .get("selftext")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let author = v.get("author").and_then(Value::as_str).unwrap_or_default();
    match (author, text) {
        (_, "[removed]") => Some("removed (its text reads [removed])".into()),
        ("[deleted]", "[deleted]") => {
            Some("deleted by its author (its text reads [deleted])".into())
        }
        _ => None,
    }
}

fn text(v: &Value, key: &str) -> Option<String> {
    let s = v.get(key)?.as_str()?.trim();
    (!s.is_empty()).then(|| post::clip(s, MAX_FIELD))
}

/// A media URL as Reddit's JSON gives it (HTML-escaped: `&amp;`), decoded;
/// `None` unless it is http(s).
fn media_url(v: &Value, key: &str) -> Option<String> {
    let raw = v.get(key)?.as_str()?;
    let u = htmlize::unescape(raw).into_owned();
    url::Url::parse(&u)
        .ok()
        .filter(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some())
        .map(|_| u)
}

/// `created_utc`: seconds as a number (or, in some copies, a string).
fn created(v: &Value) -> Option<String> {
    let c = v.get("created_utc")?;
    let secs = c
        .as_f64()
        .or_else(|| c.as_str()?.parse().ok())
        .or_else(|| c.get("value")?.as_str()?.trim_end_matches('n').parse().ok())?;
    if !secs.is_finite() {
        return None;
    }
    let t = time::OffsetDateTime::from_unix_timestamp(secs as i64).ok()?;
    t.format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The neutral post of a `t3`'s `data`.
pub fn to_post(v: &Value) -> Post {
    let author = text(v, "author").filter(|a| a != "[deleted]");
    let permalink = text(v, "permalink")
        .filter(|p| p.starts_with('/'))
        .map(|p| format!("https://www.reddit.com{p}"));
    let title = text(v, "title").map(|t| htmlize::unescape(&t).into_owned());
    let selftext = text(v, "selftext");
    let is_self = v.get("is_self").and_then(Value::as_bool).unwrap_or(false);
    let link = media_url(v, "url_overridden_by_dest")
        .or_else(|| media_url(v, "url"))
        .filter(|u| !is_self && !is_reddit_own(u));
    let mut spans = Vec::new();
    if let Some(t) = &title {
        spans.push(TextSpan::Text { text: t.clone() });
    }
    if let Some(body) = &selftext {
        spans.push(TextSpan::Text {
            text: format!("\n\n{body}"),
        });
    }
    if let Some(l) = &link {
        spans.push(TextSpan::Text {
            text: "\n\n".into(),
        });
        spans.push(TextSpan::Link {
            text: display_link(l),
            href: l.clone(),
        });
    }
    let text: String = spans.iter().map(TextSpan::text).collect();
    let sub = text_field_sub(v);
    Post {
        url: permalink,
        author: Author {
            name: author
                .as_ref()
                .map(|a| match &sub {
                    Some(s) => format!("u/{a} in {s}"),
                    None => format!("u/{a}"),
                })
                .unwrap_or_default(),
            url: author
                .as_ref()
                .map(|a| format!("https://www.reddit.com/user/{a}/")),
            handle: author,
            ..Author::default()
        },
        created_at: created(v),
        text,
        spans,
        media: media(v),
        counts: Counts {
            likes: v
                .get("score")
                .and_then(Value::as_i64)
                .map(|n| n.max(0) as u64),
            replies: v.get("num_comments").and_then(Value::as_u64),
            reposts: None,
        },
        ..Post::default()
    }
}

/// `r/SUB`, as Reddit prefixes it.
fn text_field_sub(v: &Value) -> Option<String> {
    text(v, "subreddit_name_prefixed").or_else(|| text(v, "subreddit").map(|s| format!("r/{s}")))
}

/// A URL that is Reddit's own page for the post (a gallery, the comments),
/// not a link the post shares.
fn is_reddit_own(u: &str) -> bool {
    crate::providers::split_url(u).is_some_and(|p| {
        let h = p.host.as_str();
        h == "reddit.com" || h.ends_with(".reddit.com") || h == "i.redd.it" || h == "v.redd.it"
    })
}

fn display_link(u: &str) -> String {
    let shown = u
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.");
    if shown.chars().count() > 40 {
        format!("{}…", shown.chars().take(40).collect::<String>())
    } else {
        shown.to_string()
    }
}

/// The post's images (and video), best size first, in the post's order.
fn media(v: &Value) -> Vec<MediaItem> {
    let gallery = gallery(v);
    if !gallery.is_empty() {
        return gallery;
    }
    let previews: Vec<(String, Option<u64>, Option<u64>)> = v
        .get("preview")
        .and_then(|p| p.get("images"))
        .and_then(Value::as_array)
        .map(|imgs| {
            imgs.iter()
                .take(MAX_MEDIA)
                .filter_map(|img| {
                    let s = img.get("source")?;
                    Some((
                        media_url(s, "url")?,
                        s.get("width").and_then(Value::as_u64),
                        s.get("height").and_then(Value::as_u64),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let video = v
        .get("secure_media")
        .filter(|m| !m.is_null())
        .or_else(|| v.get("media"))
        .and_then(|m| m.get("reddit_video"))
        .filter(|_| v.get("is_video").and_then(Value::as_bool) == Some(true));
    if let Some(rv) = video
        && let Some(mp4) = media_url(rv, "fallback_url")
    {
        return vec![MediaItem {
            kind: if rv.get("is_gif").and_then(Value::as_bool) == Some(true) {
                MediaKind::Gif
            } else {
                MediaKind::Video
            },
            file: Asset::at(mp4),
            poster: previews.first().map(|(u, _, _)| Asset::at(u.clone())),
            alt: None,
            width: rv.get("width").and_then(Value::as_u64),
            height: rv.get("height").and_then(Value::as_u64),
        }];
    }
    previews
        .into_iter()
        .map(|(u, w, h)| MediaItem {
            kind: MediaKind::Photo,
            file: Asset::at(u),
            poster: None,
            alt: None,
            width: w,
            height: h,
        })
        .collect()
}

/// A gallery's images in `gallery_data` order, each at its `s` size.
fn gallery(v: &Value) -> Vec<MediaItem> {
    let (Some(items), Some(meta)) = (
        v.get("gallery_data")
            .and_then(|g| g.get("items"))
            .and_then(Value::as_array),
        v.get("media_metadata").and_then(Value::as_object),
    ) else {
        return Vec::new();
    };
    items
        .iter()
        .take(MAX_MEDIA)
        .filter_map(|item| {
            let id = item.get("media_id")?.as_str()?;
            let m = meta.get(id)?;
            if m.get("status").and_then(Value::as_str) != Some("valid") {
                return None;
            }
            let s = m.get("s")?;
            let (kind, file) = match m.get("e").and_then(Value::as_str) {
                Some("Image") => (MediaKind::Photo, media_url(s, "u")?),
                Some("AnimatedImage") => match media_url(s, "mp4") {
                    Some(mp4) => (MediaKind::Gif, mp4),
                    None => (MediaKind::Photo, media_url(s, "gif")?),
                },
                _ => return None,
            };
            Some(MediaItem {
                kind,
                file: Asset::at(file),
                poster: None,
                alt: text(item, "caption"),
                width: s.get("x").and_then(Value::as_u64),
                height: s.get("y").and_then(Value::as_u64),
            })
        })
        .collect()
}

/// oEmbed, when the JSON gave no post: its title and author, or its word
/// that the post is gone.
async fn from_oembed(
    s: &Session<'_>,
    permalink: &str,
    said: String,
    err: Option<NetError>,
) -> Found {
    let failed = |why: String| match &err {
        Some(e) => Found {
            error: Some(why),
            ..Found::net_failed(e)
        },
        None => Found::failed(why),
    };
    if err.as_ref().is_some_and(NetError::is_unreachable)
        || matches!(err, Some(NetError::Refused { .. }))
    {
        return failed(said);
    }
    match s.get_json(&oembed_url(permalink), MAX_JSON).await {
        Ok(f) if f.status() == 200 => match oembed_post(&f, permalink) {
            Some(mut p) => {
                s.answered_by(&f);
                p.set_sources(post::source::OEMBED);
                Found {
                    error: Some(said),
                    ..Found::post(p, post::source::OEMBED)
                }
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
            e.reason()
        )),
    }
}

/// Title and author of Reddit's oEmbed answer.
fn oembed_post(f: &Fetched, permalink: &str) -> Option<Post> {
    let body = f.decoded_body(MAX_JSON)?;
    let v: Value = serde_json::from_slice(&body).ok()?;
    let title = text(&v, "title")?;
    let author = text(&v, "author_name").filter(|a| a != "[deleted]");
    Some(Post {
        url: Some(permalink.to_string()),
        author: Author {
            name: author
                .as_ref()
                .map(|a| format!("u/{a}"))
                .unwrap_or_default(),
            url: author
                .as_ref()
                .map(|a| format!("https://www.reddit.com/user/{a}/")),
            handle: author,
            ..Author::default()
        },
        text: title,
        ..Post::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_urls() {
        assert_eq!(
            json_url(
                "https://www.reddit.com/r/csharp/comments/16jkh1e/i_will/",
                "16jkh1e"
            ),
            "https://www.reddit.com/r/csharp/comments/16jkh1e/.json"
        );
        assert_eq!(
            json_url("https://redd.it/16jkh1e", "16jkh1e"),
            "https://www.reddit.com/comments/16jkh1e/.json"
        );
    }

    #[test]
    fn removed_posts_say_why() {
        assert_eq!(
            removed(&json!({"removed_by_category": "moderator"})).as_deref(),
            Some("removed by the subreddit's moderators (removed_by_category: moderator)")
        );
        assert!(removed(&json!({"author": "[deleted]", "selftext": "[deleted]"})).is_some());
        assert!(removed(&json!({"author": "a", "selftext": "hello"})).is_none());
    }

    #[test]
    fn gallery_images_in_order_at_full_size_with_entities_decoded() {
        let v = json!({
            "gallery_data": {"items": [{"media_id": "b"}, {"media_id": "a"}]},
            "media_metadata": {
                "a": {"status": "valid", "e": "Image", "s": {"x": 1, "y": 2, "u": "https://preview.redd.it/a.jpg?width=1&amp;s=x"}},
                "b": {"status": "valid", "e": "Image", "s": {"x": 3, "y": 4, "u": "https://preview.redd.it/b.jpg?width=3&amp;s=y"}}
            }
        });
        let m = media(&v);
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].file.url, "https://preview.redd.it/b.jpg?width=3&s=y");
        assert_eq!(m[1].file.url, "https://preview.redd.it/a.jpg?width=1&s=x");
        assert_eq!((m[0].width, m[0].height), (Some(3), Some(4)));
    }
}
