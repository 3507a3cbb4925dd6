//! X (Twitter): asking for one post. Syndication (with the exact token) and
//! oEmbed are asked side by side, so a slow endpoint costs its own time once;
//! their exchanges are recorded as syndication, oEmbed, then syndication's
//! retries. Syndication is the source; oEmbed is the second witness and
//! decides when syndication has no post:
//!
//! - a tweet: the post (`source: syndication`);
//! - a tombstone: `protected` if oEmbed answers 403 (an account gone private
//!   shows a tombstone), else `tombstone`, with X's words as the error;
//! - 404: `protected` if oEmbed answers 403, else `not_found`;
//! - `{}`, or X's transient `200` HTML error page (any 2xx that is not JSON,
//!   or an HTML document), the page asked again first ([`Retry`]: 3 requests
//!   about 1 s then 2 s apart): oEmbed 200 gives the post (`source: oembed`),
//!   403 `protected`, 404 `not_found`, anything else `failed`, saying what
//!   both did;
//! - no answer at all (a network error): oEmbed's post if it answered 200,
//!   else `failed` with syndication's error;
//! - any other status: `failed`.
//!
//! The answer becomes a neutral [`Post`] whose files (photos `name=orig` with
//! fallbacks, the best MP4 and its poster, the avatar at full size, the card
//! image, the quoted post's) the shared capture code fetches. This module
//! decides outcomes from X's answers; it stores nothing itself.

pub mod fxtwitter;
pub mod recheck;
mod rescue;
pub mod syndication;
pub mod token;

use super::{BoxFuture, Found, Platform, Session};
use crate::net::{Fetched, NetError};
use crate::post::{
    self, Asset, Author, Card, Counts, MediaItem, Post, PostId, QuotedPost, ReplyTo, TextSpan,
    Verified,
};
use crate::providers::is_x_handle as is_handle;
use crate::store::record::{CaptureOutcome, Media};
use std::time::Duration;
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
    /// `https://api.fxtwitter.com`.
    pub fxtwitter: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            syndication: "https://cdn.syndication.twimg.com/tweet-result".into(),
            oembed: "https://publish.twitter.com/oembed".into(),
            fxtwitter: "https://api.fxtwitter.com".into(),
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
pub(crate) const MAX_JSON: u64 = 8 * 1024 * 1024;

/// How often syndication is asked again when it answers X's transient error
/// page (a `200` HTML page instead of JSON), and how long to wait between.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// Requests in all (1: never ask again).
    pub tries: u32,
    /// The wait before the second request; each later wait doubles, and up
    /// to half as much again is added at random.
    pub first_wait: Duration,
}

impl Default for Retry {
    /// Three requests, about 1 s then 2 s apart (at most 4.5 s of waiting).
    fn default() -> Self {
        Retry {
            tries: 3,
            first_wait: Duration::from_secs(1),
        }
    }
}

impl Retry {
    /// The wait after request number `done` (1-based): `first_wait`
    /// doubled `done - 1` times, plus up to half of it at random.
    pub fn wait(&self, done: u32) -> Duration {
        let base = self
            .first_wait
            .saturating_mul(1 << done.saturating_sub(1).min(6));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
    }
}

/// X's capture.
#[derive(Debug, Clone, Default)]
pub struct X {
    /// Where to ask.
    pub endpoints: Endpoints,
    /// How syndication's transient error page is retried.
    pub retry: Retry,
    /// Where posts X no longer serves are looked for.
    pub wayback: crate::capture::wayback::Wayback,
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
            "api.fxtwitter.com",
            crate::capture::wayback::HOST,
        ]
    }

    fn fetch<'a>(&'a self, s: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
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

/// The oEmbed URL for a tweet id (`?url=` the post's canonical URL).
pub fn oembed_url(endpoints: &Endpoints, id: u64) -> String {
    format!(
        "{}?url={}&omit_script=1&dnt=true",
        endpoints.oembed,
        encode(&format!("https://twitter.com/i/status/{id}"))
    )
}

impl X {
    /// The live sources, then (when X says the post is gone, or every live
    /// source failed) the Wayback Machine's copies; a post recovered there is
    /// `source: wayback`, else the outcome stays what X said.
    async fn fetch_post(&self, s: &Session<'_>, post: &PostId) -> Found {
        let Ok(id) = post.id.parse::<u64>() else {
            return Found::failed(format!("{} is not a tweet id", post.id));
        };
        let live = self.live(s, id).await;
        let gone_or_failed = matches!(
            live.outcome,
            CaptureOutcome::Tombstone | CaptureOutcome::NotFound | CaptureOutcome::Failed
        );
        if !gone_or_failed || !self.wayback.allowed(s) {
            return live;
        }
        rescue::recover(self, s, id).await.unwrap_or(live)
    }

    /// Syndication and oEmbed side by side, then FxTwitter when syndication
    /// has no post and no verdict of its own.
    async fn live(&self, s: &Session<'_>, id: u64) -> Found {
        let syndication = syndication_url(&self.endpoints, id);
        let oembed_at = oembed_url(&self.endpoints, id);
        // Side by side, so a slow endpoint costs its own time once; `biased`
        // starts syndication first, so the exchanges are recorded as
        // syndication, oEmbed, then syndication's retries.
        let (syn, oembed) = tokio::join!(
            biased;
            self.ask_syndication(s, &syndication),
            s.get_json(&oembed_at, MAX_JSON),
        );
        let oembed_status = oembed.as_ref().ok().map(Fetched::status);
        let oembed_post = oembed
            .as_ref()
            .ok()
            .filter(|f| f.status() == 200)
            .and_then(from_oembed);
        let (answer, tries) = match syn {
            Ok((f, judged, tries)) => {
                if matches!(judged, Judged::Tweet(_)) {
                    s.answered_by(&f);
                }
                (judged, tries)
            }
            // Syndication did not answer at all: oEmbed's post, if it has one.
            Err(e) => {
                return self
                    .next_sources(s, id, oembed_post, Found::net_failed(&e))
                    .await;
            }
        };
        match answer {
            Judged::Tweet(tweet) => {
                let mut p = to_post(&tweet);
                p.set_sources(post::source::SYNDICATION);
                Found::post(p, post::source::SYNDICATION)
            }
            // An account gone private shows a tombstone too; oEmbed tells.
            Judged::Tombstone(text) => Found {
                error: text,
                ..Found::outcome(if oembed_status == Some(403) {
                    CaptureOutcome::Protected
                } else {
                    CaptureOutcome::Tombstone
                })
            },
            Judged::NotFound if oembed_status == Some(403) => {
                Found::outcome(CaptureOutcome::Protected)
            }
            Judged::NotFound => Found::outcome(CaptureOutcome::NotFound),
            // An empty answer (a bad token, or nothing there), or X's error
            // page however often asked: oEmbed decides, FxTwitter may know.
            Judged::Empty | Judged::ErrorPage(_) => {
                let said = match &answer {
                    Judged::ErrorPage(page) => format!(
                        "syndication answered an error page ({page}) {}",
                        match tries {
                            1 => "once".to_string(),
                            n => format!("{n} times"),
                        }
                    ),
                    _ => "syndication answered an empty object".to_string(),
                };
                let failed = |why: String| Found {
                    error_url: Some(syndication.clone()),
                    ..Found::failed(why)
                };
                let otherwise = match &oembed {
                    Ok(f) if f.status() == 403 => return Found::outcome(CaptureOutcome::Protected),
                    Ok(f) if f.status() == 404 => Found::outcome(CaptureOutcome::NotFound),
                    Ok(f) if f.status() == 200 => {
                        failed(format!("{said} and oEmbed's answer could not be read"))
                    }
                    Ok(f) => failed(format!("{said} and oEmbed answered HTTP {}", f.status())),
                    Err(e) => failed(format!(
                        "{said} and oEmbed did not answer: {}",
                        crate::error::full_message(e)
                    )),
                };
                self.next_sources(s, id, oembed_post, otherwise).await
            }
            Judged::Failed(reason) if oembed_status == Some(403) => Found::failed(reason),
            Judged::Failed(reason) => {
                self.next_sources(s, id, oembed_post, Found::failed(reason))
                    .await
            }
        }
    }

    /// When syndication gave no post: oEmbed's post (author and text) with
    /// what FxTwitter adds (date, media, counts, avatar), or FxTwitter's post
    /// alone, or FxTwitter's word that the post is private; else `otherwise`.
    async fn next_sources(
        &self,
        s: &Session<'_>,
        id: u64,
        oembed_post: Option<Post>,
        otherwise: Found,
    ) -> Found {
        let fx = fxtwitter::ask(s, &self.endpoints.fxtwitter, id).await;
        match (oembed_post, fx) {
            (Some(mut p), said) => {
                p.set_sources(post::source::OEMBED);
                if let fxtwitter::Said::Post(more) = said {
                    fill(&mut p, &more, post::source::FXTWITTER);
                }
                Found::post(p, post::source::OEMBED)
            }
            (None, fxtwitter::Said::Post(p)) => {
                let mut p = *p;
                p.set_sources(post::source::FXTWITTER);
                Found::post(p, post::source::FXTWITTER)
            }
            (None, fxtwitter::Said::Private) if otherwise.outcome != CaptureOutcome::Ok => {
                Found::outcome(CaptureOutcome::Protected)
            }
            (None, _) => otherwise,
        }
    }

    /// Asks syndication, again (after a wait) while it answers X's transient
    /// error page, up to [`Retry::tries`] requests: the last answer, judged,
    /// and how many requests it took.
    async fn ask_syndication(
        &self,
        s: &Session<'_>,
        url: &str,
    ) -> Result<(Fetched, Judged, u32), NetError> {
        let mut tries = 1;
        loop {
            let f = s.get_json(url, MAX_JSON).await?;
            let judged = judge_syndication(&f);
            if !matches!(judged, Judged::ErrorPage(_)) || tries >= self.retry.tries {
                return Ok((f, judged, tries));
            }
            tokio::time::sleep(self.retry.wait(tries)).await;
            tries += 1;
        }
    }
}

enum Judged {
    Tweet(Box<Tweet>),
    Tombstone(Option<String>),
    NotFound,
    Empty,
    /// A 2xx page that is not JSON (X's "Something went wrong" page): its
    /// content type, or `HTML` when a JSON-labelled body is an HTML document.
    ErrorPage(String),
    Failed(String),
}

fn judge_syndication(f: &Fetched) -> Judged {
    match f.status() {
        200..=299 => {}
        404 => return Judged::NotFound,
        s => {
            return Judged::Failed(match &f.wait_refused {
                Some(w) if s == 429 => {
                    format!("syndication answered HTTP 429: its rate limit resets at {w}")
                }
                Some(w) => {
                    format!("syndication answered HTTP {s}: it asks to be asked again at {w}")
                }
                None => format!("syndication answered HTTP {s}"),
            });
        }
    }
    let ctype = f.header("content-type").unwrap_or_default();
    let is_json = ctype.to_ascii_lowercase().contains("json");
    let Some(body) = f.decoded_body(MAX_JSON) else {
        return Judged::Failed("syndication body too large or badly compressed".into());
    };
    if !is_json {
        let ctype = ctype.split(';').next().unwrap_or_default().trim();
        return Judged::ErrorPage(if ctype.is_empty() {
            "no content type".into()
        } else {
            ctype.chars().filter(|c| !c.is_control()).take(64).collect()
        });
    }
    if is_html(&body) {
        return Judged::ErrorPage("HTML".into());
    }
    match syndication::parse(&body) {
        Ok(Answer::Tweet(t)) => Judged::Tweet(t),
        Ok(Answer::Tombstone(text)) => Judged::Tombstone(text),
        Ok(Answer::Empty) => Judged::Empty,
        Err(e) => Judged::Failed(e.to_string()),
    }
}

/// Whether a body is an HTML document (`<!DOCTYPE html`, `<html`), past any
/// BOM and leading white space.
fn is_html(body: &[u8]) -> bool {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let start = body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(body.len());
    let head: Vec<u8> = body[start..]
        .iter()
        .take(14)
        .map(u8::to_ascii_lowercase)
        .collect();
    head.starts_with(b"<!doctype html") || head.starts_with(b"<html")
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
        sha256: None,
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
                sha256: None,
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
    from_oembed_body(&f.decoded_body(MAX_JSON)?)
}

/// Author and text from an oEmbed answer's body.
fn from_oembed_body(body: &[u8]) -> Option<Post> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
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

/// Fills the fields `base` lacks from `more` (the next source), marking
/// each one taken as coming from `source`: the permalink, the author's
/// handle, profile, avatar and badge, the date, language, media, card,
/// quoted post, reply and counts. Text and name stay the first source's.
pub(crate) fn fill(base: &mut Post, more: &Post, source: &str) {
    let mut took = Vec::new();
    let a = &mut base.author;
    if a.name.is_empty() && !more.author.name.is_empty() {
        a.name = more.author.name.clone();
        took.push("author");
    }
    if a.handle.is_none() {
        a.handle = more.author.handle.clone();
    }
    if a.url.is_none() {
        a.url = more.author.url.clone();
    }
    if a.avatar.is_none() && more.author.avatar.is_some() {
        a.avatar = more.author.avatar.clone();
        took.push("avatar");
    }
    if a.verified.is_none() {
        a.verified = more.author.verified;
    }
    if base.url.is_none() {
        base.url = more.url.clone();
    }
    if base.text.is_empty() && !more.text.is_empty() {
        base.text = more.text.clone();
        base.spans = more.spans.clone();
        took.push("text");
    }
    if base.created_at.is_none() && more.created_at.is_some() {
        base.created_at = more.created_at.clone();
        took.push("created_at");
    }
    if base.lang.is_none() {
        base.lang = more.lang.clone();
    }
    if base.media.is_empty() && !more.media.is_empty() {
        base.media = more.media.clone();
        took.push("media");
    }
    if base.card.is_none() && more.card.is_some() {
        base.card = more.card.clone();
        took.push("card");
    }
    if base.quoted.is_none() && more.quoted.is_some() {
        base.quoted = more.quoted.clone();
        took.push("quoted");
    }
    if base.reply_to.is_none() {
        base.reply_to = more.reply_to.clone();
    }
    if base.counts == crate::post::Counts::default() && more.counts != base.counts {
        base.counts = more.counts;
        took.push("counts");
    }
    for f in took {
        base.sources.insert(f.into(), source.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_waits_double_with_at_most_half_again_of_jitter() {
        let r = Retry::default();
        for (done, base) in [(1, 1000), (2, 2000)] {
            let w = r.wait(done).as_millis();
            assert!((base..=base * 3 / 2).contains(&w), "{done}: {w} ms");
        }
    }

    #[test]
    fn the_next_source_fills_only_what_the_first_lacks() {
        let mut first = Post {
            author: Author {
                name: "Alley".into(),
                handle: Some("alleyco".into()),
                ..Author::default()
            },
            text: "from oEmbed".into(),
            ..Post::default()
        };
        first.set_sources(post::source::OEMBED);
        let more = Post {
            author: Author {
                name: "Other".into(),
                avatar: Some(Asset::at("https://pbs.twimg.com/profile_images/1/a.jpg")),
                ..Author::default()
            },
            text: "from FxTwitter".into(),
            created_at: Some("2025-09-28T12:56:14Z".into()),
            media: vec![MediaItem {
                kind: crate::post::MediaKind::Photo,
                file: Asset::at("https://pbs.twimg.com/media/A?format=jpg&name=orig"),
                poster: None,
                alt: None,
                width: None,
                height: None,
            }],
            ..Post::default()
        };
        fill(&mut first, &more, post::source::FXTWITTER);
        assert_eq!(first.text, "from oEmbed");
        assert_eq!(first.author.name, "Alley");
        assert_eq!(first.media.len(), 1);
        assert_eq!(first.created_at.as_deref(), Some("2025-09-28T12:56:14Z"));
        let src = |f: &str| first.sources.get(f).map(String::as_str);
        assert_eq!(src("text"), Some("oembed"));
        assert_eq!(src("media"), Some("fxtwitter"));
        assert_eq!(src("created_at"), Some("fxtwitter"));
        assert_eq!(src("avatar"), Some("fxtwitter"));
    }

    #[test]
    fn html_documents_are_told_from_json() {
        assert!(is_html(b"<!DOCTYPE html><html>"));
        assert!(is_html(b"\xEF\xBB\xBF\n  <HTML lang=\"en\">"));
        assert!(!is_html(b"{\"html\":\"<html>\"}"));
        assert!(!is_html(b""));
    }
}
