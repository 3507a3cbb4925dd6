//! X (Twitter): asking for one post. The syndication answer (with the exact
//! token) is the source; oEmbed is asked too, as a second witness and the
//! fallback when syndication answers `{}`. The answer becomes a neutral
//! [`Post`] whose files (photos `name=orig` with fallbacks, the best MP4 and its
//! poster, the avatar at full size, the card image, the quoted post's) the
//! shared capture code fetches. This module decides outcomes from X's answers;
//! it stores nothing itself.

pub mod syndication;
pub mod token;

use super::{BoxFuture, Found, Platform, Session};
use crate::net::Fetched;
use crate::post::{
    self, Asset, Author, Card, Counts, MediaItem, Post, PostId, QuotedPost, ReplyTo, TextSpan,
    Verified,
};
use crate::providers::is_x_handle as is_handle;
use crate::store::record::{CaptureOutcome, Media};
use syndication::{Answer, Segment, Tweet};
use token::syndication_token;

/// The `features` parameter react-tweet sends (providers.md §3a).
const FEATURES: &str = "tfw_timeline_list:;tfw_follower_count_sunset:true;tfw_tweet_edit_backend:on;tfw_refsrc_session:on;tfw_fosnr_soft_interventions_enabled:on;tfw_show_birdwatch_pivots_enabled:on;tfw_show_business_verified_badge:on;tfw_duplicate_scribes_to_settings:on;tfw_use_profile_image_shape_enabled:on;tfw_show_blue_verified_badge:on;tfw_legacy_timeline_sunset:true;tfw_show_gov_verified_badge:on;tfw_show_business_affiliate_badge:on;tfw_tweet_edit_frontend:on";

/// X's endpoints, as fields so tests and mirrors can see exactly what is asked.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `https://cdn.syndication.twimg.com/tweet-result`.
    pub syndication: String,
    /// `https://publish.twitter.com/oembed`.
    pub oembed: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            syndication: "https://cdn.syndication.twimg.com/tweet-result".into(),
            oembed: "https://publish.twitter.com/oembed".into(),
        }
    }
}

/// The syndication URL for a tweet id.
pub fn syndication_url(endpoints: &Endpoints, id: u64) -> String {
    let features: String = url::form_urlencoded::byte_serialize(FEATURES.as_bytes()).collect();
    format!(
        "{}?id={id}&lang=en&features={features}&token={}",
        endpoints.syndication,
        syndication_token(id)
    )
}

/// Largest JSON answer parsed (decoded).
const MAX_JSON: u64 = 8 * 1024 * 1024;

/// X's capture.
#[derive(Debug, Clone, Default)]
pub struct X {
    /// Where to ask.
    pub endpoints: Endpoints,
}

impl Platform for X {
    fn hosts(&self) -> &'static [&'static str] {
        &[
            "twitter.com",
            "x.com",
            "t.co",
            "twimg.com",
            "publish.twitter.com",
            "publish.x.com",
        ]
    }

    fn fetch<'a>(&'a self, s: &'a mut Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
        Box::pin(self.fetch_post(s, post))
    }

    fn upgrade_v1(&self, legacy: &serde_json::Value, media: &[Media]) -> Option<Post> {
        let tweet = <Tweet as serde::Deserialize>::deserialize(legacy.get("tweet")?).ok()?;
        let mut p = to_post(&tweet);
        attach_stored(&mut p, media, "");
        if let Some(q) = p.quoted.as_mut() {
            attach_stored(&mut q.post, media, "quoted_");
        }
        Some(p)
    }
}

impl X {
    async fn fetch_post(&self, s: &mut Session<'_>, post: &PostId) -> Found {
        let Ok(id) = post.id.parse::<u64>() else {
            return Found::failed(format!("{} is not a tweet id", post.id));
        };
        let syn = s
            .get_json(&syndication_url(&self.endpoints, id), MAX_JSON)
            .await;
        let answer = match &syn {
            Ok(f) => judge_syndication(f),
            Err(e) => return Found::net_failed(e),
        };
        let oembed_url = format!(
            "{}?url={}&omit_script=1&dnt=true",
            self.endpoints.oembed,
            url::form_urlencoded::byte_serialize(
                format!("https://twitter.com/i/status/{id}").as_bytes()
            )
            .collect::<String>()
        );
        let oembed = s.get_json(&oembed_url, MAX_JSON).await;
        let oembed_status = oembed.as_ref().ok().map(Fetched::status);
        match answer {
            Judged::Tweet(tweet) => {
                let mut p = to_post(&tweet);
                p.set_sources(post::source::SYNDICATION);
                Found::post(p, post::source::SYNDICATION)
            }
            Judged::Tombstone(text) => Found {
                error: text,
                ..Found::outcome(CaptureOutcome::Tombstone)
            },
            Judged::NotFound if oembed_status == Some(403) => {
                Found::outcome(CaptureOutcome::Protected)
            }
            Judged::NotFound => Found::outcome(CaptureOutcome::NotFound),
            // An empty answer (a bad token, or nothing there): oEmbed decides.
            Judged::Empty => match oembed_status {
                Some(403) => Found::outcome(CaptureOutcome::Protected),
                Some(404) => Found::outcome(CaptureOutcome::NotFound),
                Some(200) => match oembed.as_ref().ok().and_then(from_oembed) {
                    Some(mut p) => {
                        p.set_sources(post::source::OEMBED);
                        Found::post(p, post::source::OEMBED)
                    }
                    None => Found::failed(
                        "syndication answered an empty object and oEmbed could not be read",
                    ),
                },
                other => Found::failed(format!(
                    "syndication answered an empty object and oEmbed {}",
                    other.map_or("did not answer".to_string(), |s| format!(
                        "answered HTTP {s}"
                    ))
                )),
            },
            Judged::Failed(reason) => Found::failed(reason),
        }
    }
}

enum Judged {
    Tweet(Box<Tweet>),
    Tombstone(Option<String>),
    NotFound,
    Empty,
    Failed(String),
}

fn judge_syndication(f: &Fetched) -> Judged {
    match f.status() {
        200..=299 => {}
        404 => return Judged::NotFound,
        s => return Judged::Failed(format!("syndication answered HTTP {s}")),
    }
    let is_json = f
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let Some(body) = f.decoded_body(MAX_JSON) else {
        return Judged::Failed("syndication body too large or badly compressed".into());
    };
    if !is_json {
        return Judged::Failed("syndication did not answer JSON".into());
    }
    match syndication::parse(&body) {
        Ok(Answer::Tweet(t)) => Judged::Tweet(t),
        Ok(Answer::Tombstone(text)) => Judged::Tombstone(text),
        Ok(Answer::Empty) => Judged::Empty,
        Err(e) => Judged::Failed(e.to_string()),
    }
}

fn is_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The neutral post of a parsed syndication answer: X's links for mentions,
/// hashtags and cashtags; the permalink with the author's handle.
pub(crate) fn to_post(t: &Tweet) -> Post {
    let handle = t.author.handle.trim_start_matches('@');
    let avatar = t.author.avatar.as_ref().map(|u| Asset {
        url: u.clone(),
        fallbacks: t.author.avatar_fallbacks.clone(),
        stored: None,
    });
    let verified = match t.author.verified_type.as_deref() {
        Some("Business") => Some(Verified::Business),
        Some("Government") => Some(Verified::Government),
        _ if t.author.verified => Some(Verified::Blue),
        _ => None,
    };
    let media = t
        .media
        .iter()
        .map(|m| MediaItem {
            kind: m.kind,
            file: Asset {
                url: m.url.clone(),
                fallbacks: m.fallbacks.clone(),
                stored: None,
            },
            poster: m.poster.clone().map(Asset::at),
            alt: m.alt.clone(),
            width: m.width,
            height: m.height,
        })
        .collect();
    Post {
        url: (is_handle(handle) && is_id(&t.id))
            .then(|| format!("https://twitter.com/{handle}/status/{}", t.id)),
        author: Author {
            name: t.author.name.clone(),
            handle: Some(handle.to_string()).filter(|h| !h.is_empty()),
            url: is_handle(handle).then(|| format!("https://x.com/{handle}")),
            avatar,
            verified,
        },
        created_at: t.created_at.clone(),
        edited_at: None,
        lang: t.lang.clone(),
        text: t.text.clone(),
        spans: t.segments.iter().map(span).collect(),
        media,
        card: t.card.as_ref().map(|c| Card {
            url: c.url.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
            domain: c.domain.clone(),
            image: c.image.clone().map(Asset::at),
        }),
        quoted: t.quoted.as_ref().map(|q| {
            Box::new(QuotedPost {
                id: PostId::new(crate::embed::Provider::Twitter, q.id.clone()),
                post: to_post(q),
            })
        }),
        reply_to: t.reply_to.as_ref().map(|r| {
            let h = r.handle.trim_start_matches('@');
            ReplyTo {
                handle: h.to_string(),
                url: r
                    .id
                    .as_deref()
                    .filter(|id| is_handle(h) && is_id(id))
                    .map(|id| format!("https://x.com/{h}/status/{id}")),
            }
        }),
        counts: Counts {
            likes: t.favorite_count,
            replies: t.conversation_count,
            reposts: None,
        },
        sources: Default::default(),
    }
}

fn span(s: &Segment) -> TextSpan {
    match s {
        Segment::Text { text } => TextSpan::Text { text: text.clone() },
        Segment::Link { display, href } => TextSpan::Link {
            text: display.clone(),
            href: href.clone(),
        },
        Segment::Hashtag { tag } => TextSpan::Tag {
            text: format!("#{tag}"),
            tag: tag.clone(),
            href: Some(format!("https://x.com/hashtag/{}", encode(tag))),
        },
        Segment::Mention { handle } => TextSpan::Mention {
            text: format!("@{handle}"),
            handle: handle.clone(),
            href: is_handle(handle).then(|| format!("https://x.com/{handle}")),
        },
        Segment::Cashtag { symbol } => TextSpan::Cashtag {
            text: format!("${symbol}"),
            symbol: symbol.clone(),
            href: Some(format!("https://x.com/search?q=%24{}", encode(symbol))),
        },
    }
}

/// Links a v1 record's stored files (found by URL, roles with `prefix`) to
/// the post's assets.
fn attach_stored(p: &mut Post, media: &[Media], prefix: &str) {
    for (role, asset) in p.assets_mut() {
        let wanted = format!("{prefix}{role}");
        let hit = asset.candidates().find_map(|u| {
            media
                .iter()
                .find(|m| &m.url == u && m.role == wanted)
                .or_else(|| media.iter().find(|m| &m.url == u))
        });
        asset.stored = hit.map(Media::stored_file);
    }
}

/// Author and text from an oEmbed answer (its blockquote).
fn from_oembed(f: &Fetched) -> Option<Post> {
    let body = f.decoded_body(MAX_JSON)?;
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let html = v.get("html")?.as_str()?;
    let quote = crate::detect::quote_of_blockquote(html.as_bytes());
    let handle = v
        .get("author_url")
        .and_then(|u| u.as_str())
        .and_then(|u| u.rsplit('/').next())
        .map(str::to_string);
    Some(Post {
        author: Author {
            name: v
                .get("author_name")
                .and_then(|a| a.as_str())
                .unwrap_or_default()
                .to_string(),
            handle,
            ..Author::default()
        },
        text: quote.and_then(|q| q.text).unwrap_or_default(),
        ..Post::default()
    })
}
