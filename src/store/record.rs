//! The JSON records an archive holds as objects (archive/FORMAT.md): captures of
//! posts, articles' citations, and short-link resolutions. Typed, versioned by
//! their `schema` field, and tolerant of fields a later version adds.

use super::digest::Digest;
use crate::embed::Quote;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Schema name of a capture record.
pub const CAPTURE_SCHEMA: &str = "embarc.capture.v1";
/// Schema name of an article record.
pub const ARTICLE_SCHEMA: &str = "embarc.article.v1";
/// Schema name of a short-link record.
pub const SHORT_LINK_SCHEMA: &str = "embarc.shortlink.v1";

/// A post as the archive names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PostKey {
    /// `twitter`, `youtube`, …
    pub provider: String,
    /// The platform's id.
    pub id: String,
    /// The canonical URL.
    #[serde(default)]
    pub url: String,
}

impl PostKey {
    /// `provider:id`, the form `embarc show` accepts.
    pub fn label(&self) -> String {
        format!("{}:{}", self.provider, self.id)
    }
}

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

/// One HTTP request and its response, with the body stored as an object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// The original URL (never the mirror's).
    pub url: String,
    /// The mirror base URL the request actually went to, if any.
    #[serde(default)]
    pub via: Option<String>,
    /// `GET`, …
    pub method: String,
    /// The response status.
    pub status: u16,
    /// Response headers in order, names lowercase.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// The body exactly as received.
    pub body: Option<Digest>,
    /// Its size.
    #[serde(default)]
    pub body_bytes: u64,
    /// When the request started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// How long until the body was complete.
    #[serde(default)]
    pub duration_ms: u64,
}

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

/// The post as parsed from the platform's answer. Fields stay optional: what a
/// platform does not say is not invented.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NormalizedPost {
    /// Author's display name.
    #[serde(default)]
    pub author_name: Option<String>,
    /// Author's handle without `@`.
    #[serde(default)]
    pub author_handle: Option<String>,
    /// The text with entities expanded.
    #[serde(default)]
    pub text: Option<String>,
    /// Creation time as the platform gives it (ISO 8601).
    #[serde(default)]
    pub created_at: Option<String>,
    /// Language code.
    #[serde(default)]
    pub lang: Option<String>,
    /// Anything else the parser keeps (media list, quoted post, counts, card…).
    #[serde(default, flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
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

/// `embarc.capture.v1`: one capture of one post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureRecord {
    /// Always [`CAPTURE_SCHEMA`].
    pub schema: String,
    /// The post.
    pub post: PostKey,
    /// When the capture was made (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub captured_at: OffsetDateTime,
    /// What it found.
    pub outcome: CaptureOutcome,
    /// Why it failed, for `failed`.
    #[serde(default)]
    pub error: Option<String>,
    /// The parsed post, when there is one.
    #[serde(default)]
    pub normalized: Option<NormalizedPost>,
    /// Every HTTP exchange made.
    #[serde(default)]
    pub exchanges: Vec<Exchange>,
    /// Every media file stored.
    #[serde(default)]
    pub media: Vec<Media>,
    /// What the citing article showed of the post.
    #[serde(default)]
    pub article_quote: Option<Quote>,
    /// The writer.
    pub tool: Tool,
}

impl CaptureRecord {
    /// A record with no exchanges or media yet.
    pub fn new(post: PostKey, captured_at: OffsetDateTime, outcome: CaptureOutcome) -> Self {
        CaptureRecord {
            schema: CAPTURE_SCHEMA.into(),
            post,
            captured_at,
            outcome,
            error: None,
            normalized: None,
            exchanges: Vec::new(),
            media: Vec::new(),
            article_quote: None,
            tool: Tool::current(),
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
    pub posts: Vec<PostKey>,
    /// Short links cited that led nowhere.
    #[serde(default)]
    pub short_links: Vec<String>,
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
    pub post: Option<PostKey>,
}
