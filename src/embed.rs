//! The values detect produces: what an article embeds, where, and what it shows.
//!
//! These types are untrusted and fuzzy by design (an `Embed` is what an article
//! *says*); resolution into canonical post references happens in a later stage.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A social platform whose posts embarc recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Provider {
    /// X, formerly Twitter.
    Twitter,
    /// YouTube videos.
    Youtube,
    /// Instagram posts and reels.
    Instagram,
    /// TikTok videos.
    Tiktok,
    /// Bluesky posts.
    Bluesky,
    /// Mastodon (any instance) statuses.
    Mastodon,
    /// Threads posts.
    Threads,
    /// Facebook posts, photos and videos.
    Facebook,
    /// Reddit threads.
    Reddit,
}

impl Provider {
    /// The stable lowercase name used in JSON output and `provider:id` references.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Twitter => "twitter",
            Provider::Youtube => "youtube",
            Provider::Instagram => "instagram",
            Provider::Tiktok => "tiktok",
            Provider::Bluesky => "bluesky",
            Provider::Mastodon => "mastodon",
            Provider::Threads => "threads",
            Provider::Facebook => "facebook",
            Provider::Reddit => "reddit",
        }
    }

    /// The platform's name as readers know it (`X`, `Bluesky`), for cards.
    pub fn display_name(self) -> &'static str {
        match self {
            Provider::Twitter => "X",
            Provider::Youtube => "YouTube",
            Provider::Instagram => "Instagram",
            Provider::Tiktok => "TikTok",
            Provider::Bluesky => "Bluesky",
            Provider::Mastodon => "Mastodon",
            Provider::Threads => "Threads",
            Provider::Facebook => "Facebook",
            Provider::Reddit => "Reddit",
        }
    }

    /// Every provider, in the registry's order of names.
    pub const ALL: [Provider; 9] = [
        Provider::Twitter,
        Provider::Youtube,
        Provider::Instagram,
        Provider::Tiktok,
        Provider::Bluesky,
        Provider::Mastodon,
        Provider::Threads,
        Provider::Facebook,
        Provider::Reddit,
    ];

    /// The provider named `name` ([`Provider::as_str`]).
    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.into_iter().find(|p| p.as_str() == name)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an embed is written in the article (the `form` field of `scan --json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// A provider's embed blockquote (`blockquote.twitter-tweet`, `twitter-video`,
    /// `instagram-media`, `bluesky-embed`…).
    Blockquote,
    /// An iframe or a rendered widget iframe (`twitterwidget`, `Tweet.html?id=`).
    Iframe,
    /// An AMP or Bento component (`amp-twitter`, `bento-twitter`, `amp-instagram`…).
    Amp,
    /// A placeholder element such as `div.fb-post` or a rendered `div` carrying
    /// `data-tweet-id`.
    Widget,
    /// A WordPress embed block (`wp:embed` comment and its figure).
    Wordpress,
    /// A static-site or component syntax: Hugo, Jekyll, Eleventy, MDX, Astro, or a
    /// bare post URL alone on a Markdown line.
    Shortcode,
    /// A post URL cited in running text.
    Link,
    /// A t.co / pic.twitter.com / pic.x.com link with no post URL beside it.
    ShortLink,
    /// A flattened embed: the post's words, then `— Name (@handle) Date`.
    PlainText,
}

impl Form {
    /// The stable snake_case name used in JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Blockquote => "blockquote",
            Form::Iframe => "iframe",
            Form::Amp => "amp",
            Form::Widget => "widget",
            Form::Wordpress => "wordpress",
            Form::Shortcode => "shortcode",
            Form::Link => "link",
            Form::ShortLink => "short_link",
            Form::PlainText => "plain_text",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What kind of document an article is; decides which syntaxes are looked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// HTML or XHTML.
    Html,
    /// Markdown, MDX and friends (raw HTML inside is understood too).
    Markdown,
    /// Plain text, e.g. an article flattened by a text extractor.
    Text,
}

/// A byte range `[start, end)` in the article exactly as read from disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte of the embed.
    pub start: usize,
    /// One past the last byte of the embed.
    pub end: usize,
}

impl Span {
    /// Whether `other` lies entirely within `self`.
    pub fn contains(&self, other: &Span) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The span as a range, for slicing the article's bytes.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

impl Serialize for Span {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        [self.start, self.end].serialize(s)
    }
}

/// What the article itself shows of a post: evidence kept beside the capture.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    /// The post's words as the article shows them (line breaks kept).
    pub text: Option<String>,
    /// The author's display name.
    pub author: Option<String>,
    /// The author's handle, without `@`.
    pub handle: Option<String>,
    /// The date exactly as written (may be localized).
    pub date: Option<String>,
}

impl Quote {
    /// True when no field is known.
    pub fn is_empty(&self) -> bool {
        self.text.is_none() && self.author.is_none() && self.handle.is_none() && self.date.is_none()
    }
}

/// One embed occurrence found in an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Embed {
    /// The platform the post lives on.
    pub provider: Provider,
    /// How the article writes it.
    pub form: Form,
    /// The post's URL (canonical form), or the short link with its scheme when
    /// that is the only lead.
    pub url: Option<String>,
    /// The post id when the article alone gives it.
    pub id: Option<String>,
    /// The short link (without scheme) when the post is only reachable through it.
    pub short_link: Option<String>,
    /// Where the embed is, in the article's original bytes.
    pub span: Span,
    /// What the article shows of the post, when it shows anything.
    pub quote: Option<Quote>,
}
