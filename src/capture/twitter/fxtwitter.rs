//! The FxTwitter API (`GET https://api.fxtwitter.com/i/status/ID`,
//! providers.md §3c), the third live source of an X post: asked when
//! syndication gives no post. Its answer carries its own `code` (200, 401
//! `PRIVATE_TWEET`, 404 `NOT_FOUND`, 500 `API_FAIL`), which is what counts:
//! some errors come as `200` HTML pages or redirects, so the JSON is read,
//! never the status alone. The answer becomes a neutral [`Post`]; nothing
//! is stored here.

use super::{MAX_JSON, is_handle};
use crate::capture::Session;
use crate::net::Fetched;
use crate::post::{Asset, Author, Counts, MediaItem, MediaKind, Post};
use serde::Deserialize;

/// What FxTwitter said about a post.
#[derive(Debug, Clone, PartialEq)]
pub enum Said {
    /// The post.
    Post(Box<Post>),
    /// `401 PRIVATE_TWEET`.
    Private,
    /// `404 NOT_FOUND`.
    NotFound,
    /// Anything else: why, one line.
    Failed(String),
}

/// The status URL for a tweet id (the handle is ignored by the API).
pub fn status_url(base: &str, id: u64) -> String {
    format!("{base}/i/status/{id}")
}

/// Asks FxTwitter for `id` at `base` (`https://api.fxtwitter.com`).
pub async fn ask(s: &Session<'_>, base: &str, id: u64) -> Said {
    match s.get_json(&status_url(base, id), MAX_JSON).await {
        Ok(f) => {
            let said = judge(&f, id);
            if matches!(said, Said::Post(_)) {
                s.answered_by(&f);
            }
            said
        }
        Err(e) => Said::Failed(crate::error::full_message(&e)),
    }
}

#[derive(Deserialize)]
struct Answer {
    code: u16,
    #[serde(default)]
    message: String,
    #[serde(default)]
    tweet: Option<Tweet>,
}

#[derive(Deserialize)]
struct Tweet {
    #[serde(default)]
    id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    author: Option<FxAuthor>,
    #[serde(default)]
    created_timestamp: Option<i64>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    likes: Option<u64>,
    #[serde(default)]
    replies: Option<u64>,
    #[serde(default)]
    retweets: Option<u64>,
    #[serde(default)]
    media: Option<FxMedia>,
}

#[derive(Deserialize)]
struct FxAuthor {
    #[serde(default)]
    name: String,
    #[serde(default)]
    screen_name: String,
    #[serde(default)]
    avatar_url: Option<String>,
}

#[derive(Deserialize, Default)]
struct FxMedia {
    #[serde(default)]
    photos: Vec<FxFile>,
    #[serde(default)]
    videos: Vec<FxFile>,
}

#[derive(Deserialize)]
struct FxFile {
    #[serde(default, rename = "type")]
    kind: String,
    url: String,
    #[serde(default)]
    thumbnail_url: Option<String>,
    #[serde(default)]
    width: Option<u64>,
    #[serde(default)]
    height: Option<u64>,
    #[serde(default, rename = "altText")]
    alt: Option<String>,
}

/// FxTwitter's answer, judged by the `code` inside it.
fn judge(f: &Fetched, id: u64) -> Said {
    let Some(body) = f.decoded_body(MAX_JSON) else {
        return Said::Failed("api.fxtwitter.com: body too large or badly compressed".into());
    };
    let Ok(a) = serde_json::from_slice::<Answer>(&body) else {
        return Said::Failed(format!(
            "api.fxtwitter.com answered HTTP {} without its JSON",
            f.status()
        ));
    };
    match (a.code, a.tweet) {
        (200, Some(t)) if t.id == id.to_string() => Said::Post(Box::new(to_post(t))),
        (200, Some(t)) => Said::Failed(format!(
            "api.fxtwitter.com answered another post ({})",
            t.id.chars().take(24).collect::<String>()
        )),
        (401, _) => Said::Private,
        (404, _) => Said::NotFound,
        (code, _) => Said::Failed(format!(
            "api.fxtwitter.com answered code {code} {}",
            a.message
                .chars()
                .filter(|c| !c.is_control())
                .take(60)
                .collect::<String>()
        )),
    }
}

fn to_post(t: Tweet) -> Post {
    let author = t.author.unwrap_or(FxAuthor {
        name: String::new(),
        screen_name: String::new(),
        avatar_url: None,
    });
    let handle = author.screen_name.trim_start_matches('@').to_string();
    let (avatar, fallbacks) = super::syndication::avatar_urls(author.avatar_url.as_deref());
    let mut media: Vec<MediaItem> = Vec::new();
    let fx = t.media.unwrap_or_default();
    for p in fx.photos {
        let (url, fallbacks) =
            super::syndication::photo_urls(&p.url).unwrap_or((p.url.clone(), Vec::new()));
        media.push(MediaItem {
            kind: MediaKind::Photo,
            file: Asset {
                url,
                fallbacks,
                ..Asset::default()
            },
            poster: None,
            alt: p.alt.filter(|a| !a.is_empty()),
            width: p.width,
            height: p.height,
        });
    }
    for v in fx.videos {
        media.push(MediaItem {
            kind: if v.kind == "gif" {
                MediaKind::Gif
            } else {
                MediaKind::Video
            },
            file: Asset::at(v.url),
            poster: v.thumbnail_url.map(Asset::at),
            alt: None,
            width: v.width,
            height: v.height,
        });
    }
    let created_at = t
        .created_timestamp
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|at| {
            at.format(&time::format_description::well_known::Rfc3339)
                .ok()
        });
    Post {
        url: (is_handle(&handle) && super::is_id(&t.id))
            .then(|| format!("https://twitter.com/{handle}/status/{}", t.id)),
        author: Author {
            name: author.name,
            url: is_handle(&handle).then(|| format!("https://x.com/{handle}")),
            handle: Some(handle).filter(|h| !h.is_empty()),
            avatar: avatar.map(|url| Asset {
                url,
                fallbacks,
                ..Asset::default()
            }),
            verified: None,
        },
        created_at,
        lang: t.lang.filter(|l| !l.is_empty()),
        text: t.text,
        media,
        counts: Counts {
            likes: t.likes,
            replies: t.replies,
            reposts: t.retweets,
        },
        ..Post::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(body: &[u8]) -> Fetched {
        Fetched {
            exchange: crate::net::Exchange {
                url: "https://api.fxtwitter.com/i/status/1".into(),
                via: None,
                method: "GET".into(),
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: None,
                body_bytes: body.len() as u64,
                started_at: time::OffsetDateTime::UNIX_EPOCH,
                duration_ms: 0,
                user_agent: None,
            },
            body: Some(body.to_vec()),
            attempts: 1,
            wait_refused: None,
        }
    }

    #[test]
    fn a_real_answer_becomes_the_post() {
        let body =
            include_bytes!("../../../tests/fixtures/responses/fxtwitter/1972284213232861204.json");
        let Said::Post(p) = judge(&fetched(body), 1972284213232861204) else {
            panic!("no post");
        };
        assert_eq!(p.author.name, "X Freeze");
        assert_eq!(p.author.handle.as_deref(), Some("amXFreeze"));
        assert!(p.text.starts_with("Grok Code leads with 57.6%"));
        assert_eq!(p.created_at.as_deref(), Some("2025-09-28T12:56:14Z"));
        assert_eq!(p.media.len(), 1);
        assert_eq!(
            p.media[0].file.url,
            "https://pbs.twimg.com/media/G170UHFWIAAVoHO?format=jpg&name=orig"
        );
        assert_eq!(
            p.author.avatar.as_ref().map(|a| a.url.as_str()),
            Some("https://pbs.twimg.com/profile_images/1876785200010539008/2_HFJjq9.jpg")
        );
        assert_eq!(p.counts.likes, Some(1194));
        // The code inside decides, whatever the status.
        assert_eq!(
            judge(
                &fetched(br#"{"code":404,"message":"NOT_FOUND","tweet":null}"#),
                1
            ),
            Said::NotFound
        );
        assert_eq!(
            judge(&fetched(br#"{"code":401,"message":"PRIVATE_TWEET"}"#), 1),
            Said::Private
        );
        assert!(matches!(
            judge(&fetched(b"<!DOCTYPE html><html></html>"), 1),
            Said::Failed(_)
        ));
        assert!(matches!(judge(&fetched(body), 2), Said::Failed(_)));
    }
}
