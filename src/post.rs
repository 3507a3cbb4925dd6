//! Posts as embarc keeps them, whatever the platform: the typed identity of a
//! post ([`PostId`]) and the neutral post a capture normalizes a platform's
//! answer into ([`Post`]), which is everything a card, an export or a server
//! needs. Provider modules fill it; render, export and serve read only it.
//!
//! Every string here came from the internet and is untrusted: consumers escape
//! it and check URLs before they become links.

use crate::digest::Digest;
use crate::embed::Provider;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// A post's identity: its platform and the platform's id for it. A URL is not
/// part of it (a post has many URLs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PostId {
    /// The platform.
    pub provider: Provider,
    /// The platform's id (tweet id, `DID/RKEY`, `HOST/ID`…).
    pub id: String,
}

impl PostId {
    /// A post of `provider` with `id`.
    pub fn new(provider: Provider, id: impl Into<String>) -> PostId {
        PostId {
            provider,
            id: id.into(),
        }
    }

    /// `provider:id`, the form `embarc show` accepts and JSON lines print.
    pub fn label(&self) -> String {
        self.to_string()
    }

    /// The post's canonical URL from its provider's row (`twitter:20` →
    /// `https://twitter.com/i/status/20`); empty when the row cannot build one.
    pub fn canonical_url(&self) -> String {
        (crate::providers::spec(self.provider).from_id)(&self.id)
            .map(|p| p.url)
            .unwrap_or_default()
    }

    /// Reads `provider:id` (`twitter:20`); `None` for anything else.
    pub fn parse_label(s: &str) -> Option<PostId> {
        let (name, id) = s.split_once(':')?;
        if id.is_empty() || id.starts_with("//") {
            return None;
        }
        let provider = Provider::from_name(name)?;
        PostId::is_valid_id(provider, id).then(|| PostId::new(provider, id))
    }

    /// Whether `id` can be a post id of `provider`: X ids are decimal
    /// numbers (at most 20 digits); Mastodon's are `HOST/ID` (the instance's
    /// host name and its decimal id); Bluesky's `ACTOR/RKEY`; others are at
    /// most 200 characters with no space or control character.
    pub fn is_valid_id(provider: Provider, id: &str) -> bool {
        match provider {
            Provider::Mastodon => crate::providers::split_mastodon_id(id).is_some(),
            Provider::Twitter => {
                (1..=20).contains(&id.len())
                    && id.bytes().all(|b| b.is_ascii_digit())
                    && id.parse::<u64>().is_ok()
            }
            // `DID/RKEY`, or `HANDLE/RKEY` until the handle is resolved.
            Provider::Bluesky => (crate::providers::spec(provider).from_id)(id).is_some(),
            _ => {
                !id.is_empty()
                    && id.chars().count() <= 200
                    && !id.chars().any(|c| c.is_whitespace() || c.is_control())
            }
        }
    }
}

/// Ordered by label (`instagram:…` before `twitter:…`), as listings print them.
impl Ord for PostId {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.provider.as_str(), &self.id).cmp(&(other.provider.as_str(), &other.id))
    }
}

impl PartialOrd for PostId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for PostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.provider, self.id)
    }
}

/// Where a post or one of its fields came from.
pub mod source {
    /// X's syndication endpoint (`cdn.syndication.twimg.com`).
    pub const SYNDICATION: &str = "syndication";
    /// The platform's oEmbed endpoint.
    pub const OEMBED: &str = "oembed";
    /// A platform's own public API.
    pub const API: &str = "api";
    /// Only the citing article's quote.
    pub const ARTICLE: &str = "article";
    /// The FxTwitter API (`api.fxtwitter.com`), for an X post.
    pub const FXTWITTER: &str = "fxtwitter";
    /// A web archive's copy of the platform's answer (the Wayback Machine).
    pub const WAYBACK: &str = "wayback";
}

/// A post normalized from a platform's answer. Fields stay empty when the
/// platform did not say: nothing is invented.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// The post's permalink on its platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Who wrote it.
    #[serde(default)]
    pub author: Author,
    /// When it was posted (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
    /// When it was last edited (RFC 3339), if the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edited_at: Option<String>,
    /// Its language (BCP 47), if the platform says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// The text as displayed: links expanded, media links dropped, entities decoded.
    #[serde(default)]
    pub text: String,
    /// The same text as typed spans, in order; their texts concatenate to `text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<TextSpan>,
    /// Photos, videos and GIFs, in the post's order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<MediaItem>,
    /// A link preview card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<Card>,
    /// The post it quotes (captured as a post of its own too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quoted: Option<Box<QuotedPost>>,
    /// The post it replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// Public counts.
    #[serde(default)]
    pub counts: Counts,
    /// Which source gave each field (`author`, `text`, `media`…), e.g. `syndication`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sources: BTreeMap<String, String>,
}

/// A quoted post: its identity and its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuotedPost {
    /// Which post.
    pub id: PostId,
    /// What it says.
    pub post: Post,
}

impl Post {
    /// Marks every field this post has as coming from `source`.
    pub fn set_sources(&mut self, source: &str) {
        let mut fields = vec!["author", "text"];
        if self.created_at.is_some() {
            fields.push("created_at");
        }
        if !self.media.is_empty() {
            fields.push("media");
        }
        if self.card.is_some() {
            fields.push("card");
        }
        if self.quoted.is_some() {
            fields.push("quoted");
        }
        if self.counts != Counts::default() {
            fields.push("counts");
        }
        for f in fields {
            self.sources.insert(f.into(), source.into());
        }
    }

    /// Every file of this post (not of its quoted post) with its role, in
    /// order: the avatar, each medium and its poster, the card image.
    pub fn assets_mut(&mut self) -> Vec<(&'static str, &mut Asset)> {
        let mut out: Vec<(&'static str, &mut Asset)> = Vec::new();
        if let Some(a) = self.author.avatar.as_mut() {
            out.push(("avatar", a));
        }
        for m in &mut self.media {
            out.push((m.kind.as_str(), &mut m.file));
            if let Some(p) = m.poster.as_mut() {
                out.push(("poster", p));
            }
        }
        if let Some(img) = self.card.as_mut().and_then(|c| c.image.as_mut()) {
            out.push(("card_image", img));
        }
        out
    }
}

/// Who wrote a post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Handle without `@` (`jack`, `alice.bsky.social`, `user@host`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Profile page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The avatar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<Asset>,
    /// The platform's verification mark, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verified>,
}

/// A platform's verification mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verified {
    /// A person (blue check, legacy verification).
    Blue,
    /// A verified organisation.
    Business,
    /// A government account.
    Government,
}

/// One run of a post's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TextSpan {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A link: shows `text`, goes to `href`.
    Link {
        /// What is shown (`example.com/a…`).
        text: String,
        /// Where it goes.
        href: String,
    },
    /// A mention of an account.
    Mention {
        /// What is shown (`@jack`).
        text: String,
        /// The account's handle without `@`.
        handle: String,
        /// Its profile.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        href: Option<String>,
    },
    /// A hashtag.
    Tag {
        /// What is shown (`#rust`).
        text: String,
        /// The tag without `#`.
        tag: String,
        /// The platform's page for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        href: Option<String>,
    },
    /// A cashtag.
    Cashtag {
        /// What is shown (`$TSLA`).
        text: String,
        /// The symbol without `$`.
        symbol: String,
        /// The platform's page for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        href: Option<String>,
    },
}

impl TextSpan {
    /// The text shown.
    pub fn text(&self) -> &str {
        match self {
            TextSpan::Text { text }
            | TextSpan::Link { text, .. }
            | TextSpan::Mention { text, .. }
            | TextSpan::Tag { text, .. }
            | TextSpan::Cashtag { text, .. } => text,
        }
    }

    /// Where the span links to, if anywhere.
    pub fn href(&self) -> Option<&str> {
        match self {
            TextSpan::Text { .. } => None,
            TextSpan::Link { href, .. } => Some(href),
            TextSpan::Mention { href, .. }
            | TextSpan::Tag { href, .. }
            | TextSpan::Cashtag { href, .. } => href.as_deref(),
        }
    }
}

/// Kind of medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaKind {
    /// A photo.
    Photo,
    /// A video.
    Video,
    /// An animated GIF (often an MP4).
    Gif,
    /// A sound file (Mastodon's `audio` attachments).
    Audio,
}

impl MediaKind {
    /// `photo`, `video`, `gif`, `audio`: the role its file has in a capture's media list.
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Photo => "photo",
            MediaKind::Video => "video",
            MediaKind::Gif => "gif",
            MediaKind::Audio => "audio",
        }
    }
}

/// A photo, video or GIF of a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaItem {
    /// Photo, video or GIF.
    pub kind: MediaKind,
    /// The file (for a video, the best MP4).
    pub file: Asset,
    /// The still shown before a video plays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poster: Option<Asset>,
    /// Alt text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
    /// Original width.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u64>,
    /// Original height.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
}

/// A file of a post (avatar, photo, video, poster, card image): where to get
/// it, best first, and the archived object once it is stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// The best URL (original quality).
    pub url: String,
    /// What to try when `url` fails, best first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fallbacks: Vec<String>,
    /// The SHA-256 the platform vouches for the file at `url` (a Bluesky
    /// blob's CID): bytes from `url` that do not match are not stored, and
    /// no fallback (a copy the platform re-encoded) is tried in their place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Digest>,
    /// The archived file, when one of the URLs gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored: Option<StoredFile>,
}

impl Asset {
    /// A file at `url`, with no fallbacks.
    pub fn at(url: impl Into<String>) -> Asset {
        Asset {
            url: url.into(),
            ..Asset::default()
        }
    }

    /// Every URL to try, best first.
    pub fn candidates(&self) -> impl Iterator<Item = &String> {
        std::iter::once(&self.url).chain(self.fallbacks.iter())
    }
}

/// An archived file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// Its object.
    pub digest: Digest,
    /// The URL that gave it.
    pub url: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The Content-Type received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
}

/// A link preview card.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// The link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Domain shown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    /// Its image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<Asset>,
}

/// The post replied to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// Its author's handle.
    pub handle: String,
    /// Its permalink, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// Public counts, as the platform gave them when captured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Likes / favourites.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likes: Option<u64>,
    /// Replies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replies: Option<u64>,
    /// Reposts / retweets / boosts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reposts: Option<u64>,
}

/// At most `max` bytes of `s`, cut at a character boundary: a field of an
/// untrusted answer kept within its cap.
pub fn clip(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip() {
        let p = PostId::new(Provider::Twitter, "20");
        assert_eq!(p.label(), "twitter:20");
        assert_eq!(PostId::parse_label("twitter:20"), Some(p));
        assert_eq!(PostId::parse_label("https://x.com/a/status/1"), None);
        assert_eq!(PostId::parse_label("nope:1"), None);
        assert_eq!(PostId::parse_label("twitter:"), None);
        let m = PostId::parse_label("mastodon:mastodon.social/109294719267373593");
        assert_eq!(
            m.as_ref().map(PostId::canonical_url).as_deref(),
            Some("https://mastodon.social/web/statuses/109294719267373593")
        );
        for bad in [
            "mastodon:109294719267373593",
            "mastodon:localhost/1",
            "mastodon:a.b/x1",
        ] {
            assert_eq!(PostId::parse_label(bad), None, "{bad}");
        }
        assert!(PostId::parse_label("bluesky:did:plc:abc/3k").is_some());
        assert_eq!(PostId::parse_label("bluesky:did:plc:abc"), None);
    }
}
