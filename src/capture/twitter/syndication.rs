//! Parsing X's syndication answer (`cdn.syndication.twimg.com/tweet-result`)
//! into a normalized post: text with entities expanded by **code-point**
//! indices over the HTML-escaped text as delivered (emoji and flags before an
//! entity must not shift it), media at the quality to archive (photos
//! `name=orig` with fallbacks, the highest-bitrate MP4, posters), the avatar at
//! its largest size, the quoted post, reply-to, counts and card.
//!
//! Untrusted input: out-of-range or overlapping entity indices are skipped,
//! missing lists are empty (X sends `{}` for an empty list), nothing panics.

use serde::de::Deserializer;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the endpoint answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A post.
    Tweet(Box<Tweet>),
    /// `TweetTombstone`: deleted, suspended, withheld, or sensitive for
    /// logged-out readers; the platform's message.
    Tombstone(Option<String>),
    /// `{}`: nothing (a bad token or a post that does not exist).
    Empty,
}

/// A normalized post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tweet {
    /// The tweet id.
    pub id: String,
    /// Its author.
    pub author: Author,
    /// The text as displayed: entities expanded (links to their full URL),
    /// media links dropped, HTML entities decoded.
    pub text: String,
    /// The same text as runs, for rendering.
    pub segments: Vec<Segment>,
    /// ISO 8601 creation time, as sent.
    pub created_at: Option<String>,
    /// Language code.
    pub lang: Option<String>,
    /// Photos, videos and GIFs in order.
    pub media: Vec<MediaItem>,
    /// The quoted post.
    pub quoted: Option<Box<Tweet>>,
    /// The post this one replies to.
    pub reply_to: Option<ReplyTo>,
    /// Likes.
    pub favorite_count: Option<u64>,
    /// Replies in the conversation.
    pub conversation_count: Option<u64>,
    /// The link card, if any.
    pub card: Option<Card>,
}

/// Who wrote a post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    /// Display name.
    pub name: String,
    /// Screen name without `@`.
    pub handle: String,
    /// The avatar at its original size (the `_normal` suffix removed).
    pub avatar: Option<String>,
    /// Smaller sizes to fall back to, best first.
    pub avatar_fallbacks: Vec<String>,
    /// Legacy verification, blue or organisation badge.
    pub verified: bool,
    /// `Business`, `Government`…
    pub verified_type: Option<String>,
}

/// A run of a post's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Segment {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// A link: shows `display`, goes to `href`.
    Link {
        /// What is shown.
        display: String,
        /// Where it goes.
        href: String,
    },
    /// `#tag`.
    Hashtag {
        /// Without `#`.
        tag: String,
    },
    /// `@handle`.
    Mention {
        /// Without `@`.
        handle: String,
    },
    /// `$TICKER`.
    Cashtag {
        /// Without `$`.
        symbol: String,
    },
}

/// Kind of media: the neutral post's.
pub use crate::post::MediaKind;

/// One photo, video or GIF, with the URLs to archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaItem {
    /// Photo, video or GIF.
    pub kind: MediaKind,
    /// The best file: `name=orig` photo, highest-bitrate MP4.
    pub url: String,
    /// What to try if `url` fails, best first.
    pub fallbacks: Vec<String>,
    /// The still shown before a video plays.
    pub poster: Option<String>,
    /// Alt text.
    pub alt: Option<String>,
    /// Original width.
    pub width: Option<u64>,
    /// Original height.
    pub height: Option<u64>,
}

/// The post replied to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyTo {
    /// Its author's handle.
    pub handle: String,
    /// Its id.
    pub id: Option<String>,
}

/// A link card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// `summary_large_image`, `poll2choice_text_only`…
    pub name: String,
    /// The card's URL (a t.co link).
    pub url: Option<String>,
    /// Title.
    pub title: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Domain shown.
    pub domain: Option<String>,
    /// The largest image.
    pub image: Option<String>,
}

/// Why an answer could not be read.
#[derive(Debug, thiserror::Error)]
#[error("syndication answer is not a tweet: {0}")]
pub struct ParseError(String);

/// Parses an answer body.
pub fn parse(body: &[u8]) -> Result<Answer, ParseError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| ParseError(e.to_string()))?;
    let Some(obj) = value.as_object() else {
        return Err(ParseError("not a JSON object".into()));
    };
    if obj.is_empty() {
        return Ok(Answer::Empty);
    }
    match obj.get("__typename").and_then(Value::as_str) {
        Some("TweetTombstone") => Ok(Answer::Tombstone(
            value
                .pointer("/tombstone/text/text")
                .and_then(Value::as_str)
                .map(str::to_string),
        )),
        Some("Tweet") | None if obj.contains_key("id_str") => {
            let raw: RawTweet =
                serde_json::from_value(value).map_err(|e| ParseError(e.to_string()))?;
            Ok(Answer::Tweet(Box::new(raw.normalize(0))))
        }
        Some(other) => Err(ParseError(format!("unknown __typename {other}"))),
        None => Err(ParseError("no __typename and no id_str".into())),
    }
}

/// X sends empty lists as `{}`: accept both, and anything else as empty.
fn list<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    let v = Value::deserialize(d)?;
    match v {
        Value::Array(items) => Ok(items
            .into_iter()
            .filter_map(|i| serde_json::from_value(i).ok())
            .collect()),
        _ => Ok(Vec::new()),
    }
}

fn opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

#[derive(Deserialize, Default)]
struct RawEntities {
    #[serde(default, deserialize_with = "list")]
    hashtags: Vec<RawTagEntity>,
    #[serde(default, deserialize_with = "list")]
    urls: Vec<RawUrlEntity>,
    #[serde(default, deserialize_with = "list")]
    user_mentions: Vec<RawMention>,
    #[serde(default, deserialize_with = "list")]
    symbols: Vec<RawTagEntity>,
    #[serde(default, deserialize_with = "list")]
    media: Vec<RawUrlEntity>,
}

#[derive(Deserialize)]
struct RawTagEntity {
    indices: [usize; 2],
    text: String,
}

#[derive(Deserialize)]
struct RawUrlEntity {
    indices: [usize; 2],
    #[serde(default)]
    display_url: String,
    #[serde(default)]
    expanded_url: String,
}

#[derive(Deserialize)]
struct RawMention {
    indices: [usize; 2],
    screen_name: String,
}

#[derive(Deserialize, Default)]
struct RawUser {
    #[serde(default)]
    name: String,
    #[serde(default)]
    screen_name: String,
    #[serde(default)]
    profile_image_url_https: Option<String>,
    #[serde(default)]
    verified: bool,
    #[serde(default)]
    is_blue_verified: bool,
    #[serde(default)]
    verified_type: Option<String>,
}

#[derive(Deserialize)]
struct RawVariant {
    #[serde(default, deserialize_with = "opt_u64")]
    bitrate: Option<u64>,
    #[serde(default)]
    content_type: String,
    url: String,
}

#[derive(Deserialize, Default)]
struct RawVideoInfo {
    #[serde(default, deserialize_with = "list")]
    variants: Vec<RawVariant>,
}

#[derive(Deserialize)]
struct RawOriginalInfo {
    #[serde(default)]
    width: Option<u64>,
    #[serde(default)]
    height: Option<u64>,
}

#[derive(Deserialize)]
struct RawMedia {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    media_url_https: String,
    #[serde(default)]
    ext_alt_text: Option<String>,
    #[serde(default)]
    video_info: Option<RawVideoInfo>,
    #[serde(default)]
    original_info: Option<RawOriginalInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
struct RawTweet {
    id_str: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    display_text_range: Option<[usize; 2]>,
    #[serde(default, deserialize_with = "entities")]
    entities: RawEntities,
    #[serde(default)]
    user: RawUser,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default, deserialize_with = "opt_u64")]
    favorite_count: Option<u64>,
    #[serde(default, deserialize_with = "opt_u64")]
    conversation_count: Option<u64>,
    #[serde(default, rename = "mediaDetails", deserialize_with = "list")]
    media_details: Vec<RawMedia>,
    #[serde(default)]
    quoted_tweet: Option<Box<Value>>,
    #[serde(default)]
    in_reply_to_screen_name: Option<String>,
    #[serde(default)]
    in_reply_to_status_id_str: Option<String>,
    #[serde(default)]
    card: Option<Value>,
}

fn entities<'de, D: Deserializer<'de>>(d: D) -> Result<RawEntities, D::Error> {
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

/// How deep quoted posts are followed (a quote of a quote…).
const MAX_QUOTE_DEPTH: usize = 2;

impl RawTweet {
    fn normalize(self, depth: usize) -> Tweet {
        let segments = segments(&self.text, self.display_text_range, &self.entities);
        let text = segments
            .iter()
            .map(|s| match s {
                Segment::Text { text } => text.clone(),
                Segment::Link { href, .. } => href.clone(),
                Segment::Hashtag { tag } => format!("#{tag}"),
                Segment::Mention { handle } => format!("@{handle}"),
                Segment::Cashtag { symbol } => format!("${symbol}"),
            })
            .collect::<String>();
        let (avatar, avatar_fallbacks) = avatar_urls(self.user.profile_image_url_https.as_deref());
        let quoted = (depth < MAX_QUOTE_DEPTH)
            .then_some(self.quoted_tweet)
            .flatten()
            .and_then(|v| serde_json::from_value::<RawTweet>(*v).ok())
            .map(|q| Box::new(q.normalize(depth + 1)));
        Tweet {
            id: self.id_str,
            author: Author {
                name: self.user.name,
                handle: self.user.screen_name,
                avatar,
                avatar_fallbacks,
                verified: self.user.verified
                    || self.user.is_blue_verified
                    || self.user.verified_type.is_some(),
                verified_type: self.user.verified_type,
            },
            text: text.trim().to_string(),
            segments,
            created_at: self.created_at,
            lang: self.lang,
            media: self.media_details.iter().filter_map(media_item).collect(),
            quoted,
            reply_to: self.in_reply_to_screen_name.map(|handle| ReplyTo {
                handle,
                id: self.in_reply_to_status_id_str,
            }),
            favorite_count: self.favorite_count,
            conversation_count: self.conversation_count,
            card: self.card.as_ref().and_then(card),
        }
    }
}

/// Splits the displayed part of `text` (code-point range) into runs. Indices
/// count code points of the text as delivered (HTML-escaped); each run is
/// unescaped only after slicing.
fn segments(text: &str, range: Option<[usize; 2]>, e: &RawEntities) -> Vec<Segment> {
    let chars: Vec<char> = text.chars().collect();
    let [lo, hi] = range.unwrap_or([0, chars.len()]);
    let (lo, hi) = (
        lo.min(chars.len()),
        hi.min(chars.len()).max(lo.min(chars.len())),
    );
    let mut marks: Vec<(usize, usize, Option<Segment>)> = Vec::new();
    for h in &e.hashtags {
        marks.push((
            h.indices[0],
            h.indices[1],
            Some(Segment::Hashtag {
                tag: h.text.clone(),
            }),
        ));
    }
    for s in &e.symbols {
        marks.push((
            s.indices[0],
            s.indices[1],
            Some(Segment::Cashtag {
                symbol: s.text.clone(),
            }),
        ));
    }
    for m in &e.user_mentions {
        marks.push((
            m.indices[0],
            m.indices[1],
            Some(Segment::Mention {
                handle: m.screen_name.clone(),
            }),
        ));
    }
    for u in &e.urls {
        let href = if u.expanded_url.is_empty() {
            continue;
        } else {
            u.expanded_url.clone()
        };
        let display = if u.display_url.is_empty() {
            href.clone()
        } else {
            u.display_url.clone()
        };
        marks.push((
            u.indices[0],
            u.indices[1],
            Some(Segment::Link { display, href }),
        ));
    }
    // Media links are shown as media, not as text.
    for m in &e.media {
        marks.push((m.indices[0], m.indices[1], None));
    }
    marks.sort_by_key(|m| (m.0, m.1));
    let mut out = Vec::new();
    let mut at = lo;
    for (start, end, seg) in marks {
        // Skip entities outside the displayed range, reversed, or overlapping.
        if start < at || end > hi || start >= end {
            continue;
        }
        push_text(&mut out, &chars[at..start]);
        if let Some(seg) = seg {
            out.push(seg);
        }
        at = end;
    }
    push_text(&mut out, &chars[at..hi]);
    out
}

fn push_text(out: &mut Vec<Segment>, chars: &[char]) {
    if chars.is_empty() {
        return;
    }
    let raw: String = chars.iter().collect();
    let text = htmlize::unescape(&raw).into_owned();
    match out.last_mut() {
        Some(Segment::Text { text: prev }) => prev.push_str(&text),
        _ => out.push(Segment::Text { text }),
    }
}

/// `…/profile_images/1/abc_normal.jpg` → original, then 400x400.
pub(crate) fn avatar_urls(url: Option<&str>) -> (Option<String>, Vec<String>) {
    let Some(url) = url else {
        return (None, Vec::new());
    };
    for size in ["_normal", "_bigger", "_mini", "_200x200", "_400x400"] {
        if let Some(i) = url.rfind(size) {
            let (head, tail) = (&url[..i], &url[i + size.len()..]);
            return (
                Some(format!("{head}{tail}")),
                vec![format!("{head}_400x400{tail}"), url.to_string()],
            );
        }
    }
    (Some(url.to_string()), Vec::new())
}

fn media_item(m: &RawMedia) -> Option<MediaItem> {
    let (width, height) = m
        .original_info
        .as_ref()
        .map_or((None, None), |o| (o.width, o.height));
    match m.kind.as_str() {
        "photo" => {
            let (orig, fallbacks) = photo_urls(&m.media_url_https)?;
            Some(MediaItem {
                kind: MediaKind::Photo,
                url: orig,
                fallbacks,
                poster: None,
                alt: m.ext_alt_text.clone(),
                width,
                height,
            })
        }
        "video" | "animated_gif" => {
            let mut mp4: Vec<&RawVariant> = m
                .video_info
                .as_ref()?
                .variants
                .iter()
                .filter(|v| v.content_type == "video/mp4")
                .collect();
            mp4.sort_by_key(|v| std::cmp::Reverse(v.bitrate.unwrap_or(0)));
            let best = mp4.first()?;
            Some(MediaItem {
                kind: if m.kind == "video" {
                    MediaKind::Video
                } else {
                    MediaKind::Gif
                },
                url: best.url.clone(),
                fallbacks: mp4[1..].iter().map(|v| v.url.clone()).collect(),
                poster: (!m.media_url_https.is_empty()).then(|| m.media_url_https.clone()),
                alt: m.ext_alt_text.clone(),
                width,
                height,
            })
        }
        _ => None,
    }
}

/// `https://pbs.twimg.com/media/KEY.jpg` → `…/media/KEY?format=jpg&name=orig`,
/// falling back to `4096x4096`, then `large`.
pub(crate) fn photo_urls(url: &str) -> Option<(String, Vec<String>)> {
    let (base, ext) = url
        .rsplit_once('.')
        .filter(|(b, e)| b.contains("/media/") && !e.contains('/'))?;
    let ext = ext.split([':', '?']).next().unwrap_or(ext);
    let at = |name: &str| format!("{base}?format={ext}&name={name}");
    Some((at("orig"), vec![at("4096x4096"), at("large")]))
}

fn card(v: &Value) -> Option<Card> {
    let name = v.get("name")?.as_str()?.to_string();
    let b = v.get("binding_values")?;
    let string = |k: &str| {
        b.pointer(&format!("/{k}/string_value"))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let image = [
        "photo_image_full_size_original",
        "thumbnail_image_original",
        "summary_photo_image_original",
        "player_image_original",
        "photo_image_full_size_large",
        "thumbnail_image_large",
        "thumbnail_image",
    ]
    .iter()
    .find_map(|k| {
        b.pointer(&format!("/{k}/image_value/url"))
            .and_then(Value::as_str)
    })
    .map(str::to_string);
    Some(Card {
        name,
        url: v
            .get("url")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| string("card_url")),
        title: string("title"),
        description: string("description"),
        domain: string("domain").or_else(|| string("vanity_url")),
        image,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tweet(json: &str) -> Tweet {
        match parse(json.as_bytes()).expect("parse") {
            Answer::Tweet(t) => *t,
            other => panic!("not a tweet: {other:?}"),
        }
    }

    #[test]
    fn emoji_and_flags_before_entities_do_not_shift_them() {
        // 🇺🇸 is 2 code points (4 UTF-16 units), 👨‍👩‍👧 is 5 code points.
        let text = "🇺🇸👨‍👩‍👧 &amp; #rust by @jack https://t.co/abc";
        let n = |s: &str| s.chars().count();
        let tag = n("🇺🇸👨‍👩‍👧 &amp; ");
        let mention = tag + n("#rust by ");
        let link = mention + n("@jack ");
        let json = format!(
            r##"{{"__typename":"Tweet","id_str":"1","text":"{text}","display_text_range":[0,{end}],
            "entities":{{"hashtags":[{{"indices":[{tag},{tag_end}],"text":"rust"}}],
            "user_mentions":[{{"indices":[{mention},{mention_end}],"screen_name":"jack","name":"j","id_str":"2"}}],
            "urls":[{{"indices":[{link},{link_end}],"url":"https://t.co/abc","display_url":"example.com/a","expanded_url":"https://example.com/a"}}],
            "symbols":[]}},"user":{{"name":"N","screen_name":"n"}}}}"##,
            end = n(text),
            tag_end = tag + 5,
            mention_end = mention + 5,
            link_end = link + n("https://t.co/abc"),
        );
        let t = tweet(&json);
        assert_eq!(t.text, "🇺🇸👨‍👩‍👧 & #rust by @jack https://example.com/a");
        assert_eq!(
            t.segments,
            vec![
                Segment::Text {
                    text: "🇺🇸👨‍👩‍👧 & ".into()
                },
                Segment::Hashtag { tag: "rust".into() },
                Segment::Text {
                    text: " by ".into()
                },
                Segment::Mention {
                    handle: "jack".into()
                },
                Segment::Text { text: " ".into() },
                Segment::Link {
                    display: "example.com/a".into(),
                    href: "https://example.com/a".into()
                },
            ]
        );
    }

    #[test]
    fn hostile_indices_are_skipped() {
        let t = tweet(
            r#"{"id_str":"1","text":"short","display_text_range":[0,999],
            "entities":{"hashtags":[{"indices":[3,2],"text":"x"},{"indices":[2,900],"text":"y"}],"urls":{}},"user":{}}"#,
        );
        assert_eq!(t.text, "short");
    }

    #[test]
    fn empty_and_tombstone_answers() {
        assert_eq!(parse(b"{}").expect("parse"), Answer::Empty);
        assert!(matches!(
            parse(br#"{"__typename":"TweetTombstone","tombstone":{"text":{"text":"gone"}}}"#).expect("parse"),
            Answer::Tombstone(Some(t)) if t == "gone"
        ));
        assert!(parse(b"<html>").is_err());
        assert!(parse(b"[]").is_err());
    }
}
