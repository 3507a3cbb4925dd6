//! The JSON records an archive holds as objects (archive/FORMAT.md): captures of
//! posts, articles' citations, and short-link resolutions. Typed, versioned by
//! their `schema` field, and tolerant of fields a later version adds.

use crate::digest::Digest;
use crate::embed::Quote;
use crate::post::Post;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use time::OffsetDateTime;

/// Schema name of a capture record written by this version.
pub const CAPTURE_SCHEMA: &str = "embarc.capture.v2";
/// Schema name of the capture records of embarc 0.1 (still read, upgraded).
pub const CAPTURE_SCHEMA_V1: &str = "embarc.capture.v1";
/// Schema name of an article record.
pub const ARTICLE_SCHEMA: &str = "embarc.article.v1";
/// Schema name of a short-link record.
pub const SHORT_LINK_SCHEMA: &str = "embarc.shortlink.v1";

pub use crate::post::PostId;

/// What a capture found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureOutcome {
    /// The post was captured.
    Ok,
    /// The platform says deleted, suspended or withheld.
    Tombstone,
    /// The platform says it does not exist.
    NotFound,
    /// The post or account is private.
    Protected,
    /// Capturing failed (see `error`).
    Failed,
}

impl CaptureOutcome {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaptureOutcome::Ok => "ok",
            CaptureOutcome::Tombstone => "tombstone",
            CaptureOutcome::NotFound => "not_found",
            CaptureOutcome::Protected => "protected",
            CaptureOutcome::Failed => "failed",
        }
    }
}

pub use crate::net::Exchange;

/// A stored media file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Media {
    /// `avatar`, `photo`, `video`, `gif`, `poster`, `card_image`, `quoted_…`.
    pub role: String,
    /// Where it was fetched from.
    pub url: String,
    /// Its object.
    pub digest: Digest,
    /// Its size.
    pub bytes: u64,
    /// The Content-Type received.
    #[serde(default)]
    pub content_type: Option<String>,
}

impl Media {
    /// The file as a post's asset records it.
    pub fn stored_file(&self) -> crate::post::StoredFile {
        crate::post::StoredFile {
            digest: self.digest,
            url: self.url.clone(),
            bytes: self.bytes,
            mime: self.content_type.clone(),
        }
    }
}

/// A file of the post a capture could not store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MissingFile {
    /// Its role, as in [`Media::role`].
    pub role: String,
    /// Its best URL.
    pub url: String,
    /// Why, one line (`pbs.twimg.com: too slow`, `HTTP 404`).
    pub reason: String,
    /// Whether another run may store it (a network, disk or deadline
    /// failure); `false` when every URL answered that the file is not there.
    pub retry: bool,
}

/// A copy of a URL that a web archive kept (a memento, RFC 7089), as a
/// capture fetched it: recovered answers and files name theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Memento {
    /// The memento's URL, as the exchange that fetched it names it
    /// (`https://web.archive.org/web/20240620101500id_/https://…`).
    pub url: String,
    /// The URL the archive captured.
    pub original: String,
    /// When the archive captured it (its `Memento-Datetime`, else the
    /// timestamp in its URL), UTC.
    #[serde(with = "time::serde::rfc3339")]
    pub datetime: OffsetDateTime,
    /// Whether the post was read from it (`false` for a file of the post).
    #[serde(default)]
    pub answer: bool,
}

/// Name and version of the tool that wrote a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// `embarc`.
    pub name: String,
    /// The crate version.
    pub version: String,
}

impl Tool {
    /// This build of embarc.
    pub fn current() -> Tool {
        Tool {
            name: "embarc".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        }
    }
}

/// `embarc.capture.v2`: one capture of one post. Records of embarc 0.1
/// (`embarc.capture.v1`) are read too, and upgraded as they are read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaptureRecord {
    /// [`CAPTURE_SCHEMA`] (or [`CAPTURE_SCHEMA_V1`] for a record read from an
    /// older archive).
    pub schema: String,
    /// The post.
    pub post: PostId,
    /// The post's URL as captured.
    pub url: String,
    /// When the capture was made (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub captured_at: OffsetDateTime,
    /// What it found.
    pub outcome: CaptureOutcome,
    /// Where the post came from (`syndication`, `oembed`, `api`…), when found.
    pub source: Option<String>,
    /// Why it failed, for `failed`; what is missing, for a partial capture.
    pub error: Option<String>,
    /// The post, normalized: everything a card needs.
    pub normalized: Option<Post>,
    /// Every HTTP exchange made.
    pub exchanges: Vec<Exchange>,
    /// Every media file stored.
    pub media: Vec<Media>,
    /// Files of the post that could not be stored (absent in records that
    /// miss nothing, and in those of embarc before 0.2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingFile>,
    /// What the citing article showed of the post.
    pub article_quote: Option<Quote>,
    /// The web archives' copies this capture fetched (absent when none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mementos: Vec<Memento>,
    /// The writer.
    pub tool: Tool,
}

impl CaptureRecord {
    /// A record with no exchanges or media yet.
    pub fn new(
        post: PostId,
        url: String,
        captured_at: OffsetDateTime,
        outcome: CaptureOutcome,
    ) -> Self {
        CaptureRecord {
            schema: CAPTURE_SCHEMA.into(),
            post,
            url,
            captured_at,
            outcome,
            source: None,
            error: None,
            normalized: None,
            exchanges: Vec::new(),
            media: Vec::new(),
            missing: Vec::new(),
            article_quote: None,
            mementos: Vec::new(),
            tool: Tool::current(),
        }
    }

    /// Whether this capture found the post but could not store some of its
    /// files for a reason that may pass (network, disk, deadline): `partial`,
    /// captured again by the next run.
    pub fn is_partial(&self) -> bool {
        self.outcome == CaptureOutcome::Ok && self.missing.iter().any(|m| m.retry)
    }

    /// The outcome as `ls` shows it: [`CaptureOutcome::as_str`], or `partial`.
    pub fn state(&self) -> &'static str {
        if self.is_partial() {
            "partial"
        } else {
            self.outcome.as_str()
        }
    }

    /// Every object the record refers to (bodies and media).
    pub fn objects(&self) -> impl Iterator<Item = Digest> + '_ {
        self.exchanges
            .iter()
            .filter_map(|e| e.body)
            .chain(self.media.iter().map(|m| m.digest))
    }
}

/// What a reader that shows the post needs of a capture record: everything
/// but the exchanges (which most of a record's bytes are), read from either
/// version as [`CaptureRecord`] reads it. Render reads this.
#[derive(Debug, Clone, PartialEq)]
pub struct PostCapture {
    /// The post.
    pub post: PostId,
    /// The post's URL as captured.
    pub url: String,
    /// When the capture was made (UTC).
    pub captured_at: OffsetDateTime,
    /// What it found.
    pub outcome: CaptureOutcome,
    /// Where the post came from.
    pub source: Option<String>,
    /// The post, normalized.
    pub normalized: Option<Post>,
    /// What the citing article showed of the post.
    pub article_quote: Option<Quote>,
    /// When the web archive captured the answer the post was read from, for
    /// a post recovered from one ([`Memento::answer`]).
    pub recovered_at: Option<OffsetDateTime>,
}

/// When the answer of a recovered post was captured.
fn recovered_at(mementos: &[Memento]) -> Option<OffsetDateTime> {
    mementos.iter().find(|m| m.answer).map(|m| m.datetime)
}

impl From<CaptureRecord> for PostCapture {
    fn from(r: CaptureRecord) -> Self {
        PostCapture {
            post: r.post,
            url: r.url,
            captured_at: r.captured_at,
            outcome: r.outcome,
            source: r.source,
            normalized: r.normalized,
            recovered_at: recovered_at(&r.mementos),
            article_quote: r.article_quote,
        }
    }
}

/// The record as stored, either version, with its exchanges read as `E`
/// (skipped by [`PostCapture`]); the post is read once the schema is known.
#[derive(Deserialize)]
struct WireCapture<E> {
    schema: String,
    post: WirePost,
    #[serde(default)]
    url: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    captured_at: OffsetDateTime,
    outcome: CaptureOutcome,
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    normalized: Option<Box<RawValue>>,
    #[serde(default)]
    exchanges: E,
    #[serde(default)]
    media: Vec<Media>,
    #[serde(default)]
    missing: Vec<MissingFile>,
    #[serde(default)]
    article_quote: Option<Quote>,
    #[serde(default)]
    mementos: Vec<Memento>,
    tool: Tool,
}

/// `post` of either version (v1 carried the URL in it).
#[derive(Deserialize)]
struct WirePost {
    provider: crate::embed::Provider,
    id: String,
    #[serde(default)]
    url: String,
}

/// The post of a v1 record: a few neutral fields, and the platform's parsed
/// answer beside them (`tweet` for X), which the provider upgrades.
#[derive(Deserialize)]
struct NormalizedV1 {
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    author_handle: Option<String>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

/// The parts every reader takes from a stored record, whatever its version.
struct Read {
    post: PostId,
    url: String,
    source: Option<String>,
    normalized: Option<Post>,
}

impl<E> WireCapture<E> {
    /// The post's identity, URL, normalized post and source. A v1 post is
    /// upgraded by its platform from the answer it kept; v1 kept no source,
    /// so a post the platform upgrades came from that answer (syndication for
    /// X) and the rest, which only held oEmbed's author and text, from oEmbed.
    fn read(&self) -> Result<Read, serde_json::Error> {
        let post = PostId::new(self.post.provider, self.post.id.clone());
        let url = self.url.clone().unwrap_or_else(|| self.post.url.clone());
        let Some(raw) = &self.normalized else {
            return Ok(Read {
                post,
                url,
                source: self.source.clone(),
                normalized: None,
            });
        };
        if self.schema != CAPTURE_SCHEMA_V1 {
            let normalized = Some(serde_json::from_str(raw.get())?);
            return Ok(Read {
                post,
                url,
                source: self.source.clone(),
                normalized,
            });
        }
        let v1: NormalizedV1 = serde_json::from_str(raw.get())?;
        let legacy = serde_json::Value::Object(v1.extra);
        let (mut p, source) = match crate::capture::upgrade_v1(&post, &legacy, &self.media) {
            Some(p) => (p, crate::post::source::SYNDICATION),
            None => (
                Post {
                    author: crate::post::Author {
                        name: v1.author_name.unwrap_or_default(),
                        handle: v1.author_handle,
                        ..Default::default()
                    },
                    text: v1.text.unwrap_or_default(),
                    created_at: v1.created_at,
                    lang: v1.lang,
                    ..Post::default()
                },
                crate::post::source::OEMBED,
            ),
        };
        p.set_sources(source);
        Ok(Read {
            post,
            url,
            source: Some(source.to_string()),
            normalized: Some(p),
        })
    }
}

impl<'de> Deserialize<'de> for CaptureRecord {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireCapture::<Vec<Exchange>>::deserialize(d)?;
        let r = w.read().map_err(serde::de::Error::custom)?;
        Ok(CaptureRecord {
            schema: w.schema,
            post: r.post,
            url: r.url,
            captured_at: w.captured_at,
            outcome: w.outcome,
            source: r.source,
            error: w.error,
            normalized: r.normalized,
            exchanges: w.exchanges,
            media: w.media,
            missing: w.missing,
            article_quote: w.article_quote,
            mementos: w.mementos,
            tool: w.tool,
        })
    }
}

impl<'de> Deserialize<'de> for PostCapture {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireCapture::<serde::de::IgnoredAny>::deserialize(d)?;
        let r = w.read().map_err(serde::de::Error::custom)?;
        Ok(PostCapture {
            post: r.post,
            url: r.url,
            captured_at: w.captured_at,
            outcome: w.outcome,
            source: r.source,
            normalized: r.normalized,
            recovered_at: recovered_at(&w.mementos),
            article_quote: w.article_quote,
        })
    }
}

/// `embarc.article.v1`: which posts an article cited when it was archived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleRecord {
    /// Always [`ARTICLE_SCHEMA`].
    pub schema: String,
    /// The article's name (path as given, or URL).
    pub article: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub archived_at: OffsetDateTime,
    /// The posts cited.
    pub posts: Vec<PostId>,
    /// Short links cited that led nowhere.
    #[serde(default)]
    pub short_links: Vec<String>,
    /// The article itself as embarc read it (absent in records written
    /// before embarc kept articles, and for an article that could not be
    /// stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<ArticleBody>,
    /// For an article fetched from its URL, the requests that fetched it,
    /// redirects included, each body stored as received.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exchanges: Vec<crate::net::Exchange>,
}

/// An article's own bytes, kept in the archive: a file as it was on disk,
/// a page as its server sent it (decoded from any Content-Encoding).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleBody {
    /// Its object.
    pub digest: Digest,
    /// Its size.
    pub bytes: u64,
    /// What it was read as (`html`, `markdown`, `text`).
    pub kind: crate::embed::Kind,
}

/// One hop of a short link's redirect chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    /// The URL requested.
    pub url: String,
    /// The status answered.
    pub status: u16,
    /// Where it pointed (Location, meta refresh or `location.replace`).
    #[serde(default)]
    pub location: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The User-Agent the request carried (absent before embarc recorded it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

/// `embarc.shortlink.v1`: a short link's resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShortLinkRecord {
    /// Always [`SHORT_LINK_SCHEMA`].
    pub schema: String,
    /// `t.co/abc`, as written without scheme.
    pub short_link: String,
    /// When it was resolved.
    #[serde(with = "time::serde::rfc3339")]
    pub resolved_at: OffsetDateTime,
    /// Every hop.
    pub hops: Vec<Hop>,
    /// The post it led to, if any.
    pub post: Option<PostId>,
}

impl ShortLinkRecord {
    /// The URL of the post the link led to: the last hop's target, canonical.
    pub fn post_url(&self) -> Option<String> {
        self.post.as_ref()?;
        let last = self.hops.last()?.location.as_deref()?;
        match crate::providers::classify_url(last)? {
            crate::providers::UrlMatch::Post(_, p) => Some(p.url),
            crate::providers::UrlMatch::ShortLink(_) => None,
        }
    }
}
