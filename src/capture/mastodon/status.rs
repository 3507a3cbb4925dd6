//! A Mastodon `Status` (the answer of `GET /api/v1/statuses/:id`) as a
//! neutral [`Post`]. Read field by field from untyped JSON, so one field of
//! an unexpected type (any instance, any fork, any version may answer) costs
//! that field, not the post. Nothing here fetches or decides outcomes.

use super::content::{self, Mention};
use crate::embed::Provider;
use crate::post::{
    Asset, Author, Card, Counts, MediaItem, MediaKind, Post, PostId, QuotedPost, ReplyTo,
};
use crate::providers::{UrlMatch, classify_url, is_instance_host};
use serde_json::Value;

/// Longest string field kept (a display name, a description, an alt text).
const MAX_FIELD: usize = 8 * 1024;

/// Most media attachments read (Mastodon allows 4).
const MAX_MEDIA: usize = 16;

fn text(v: &Value, key: &str) -> Option<String> {
    let s = v.get(key)?.as_str()?.trim();
    if s.is_empty() {
        return None;
    }
    Some(cap(s))
}

fn cap(s: &str) -> String {
    crate::post::clip(s, MAX_FIELD)
}

fn number(v: &Value, key: &str) -> Option<u64> {
    let n = v.get(key)?;
    n.as_u64().or_else(|| n.as_str()?.parse().ok())
}

/// An http(s) URL field (anything else is not a file to fetch or a link).
fn url(v: &Value, key: &str) -> Option<String> {
    text(v, key).filter(|u| {
        url::Url::parse(u)
            .ok()
            .is_some_and(|p| matches!(p.scheme(), "http" | "https") && p.host_str().is_some())
    })
}

/// Whether `v` looks like a status at all: an object with an `id` and an `account`.
pub fn is_status(v: &Value) -> bool {
    v.get("id").is_some_and(|id| id.is_string() || id.is_u64())
        && v.get("account").is_some_and(Value::is_object)
}

/// The status's own id on the instance that answered.
pub fn id(v: &Value) -> Option<String> {
    let id = v.get("id")?;
    let id = id
        .as_str()
        .map(str::to_string)
        .or_else(|| id.as_u64().map(|n| n.to_string()))?;
    (!id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit())).then_some(id)
}

/// The Mastodon post the status's `uri` (its ActivityPub id) or `url` names,
/// as `HOST/ID`: for a remote status, its origin; `None` when neither is a
/// Mastodon status URL (another server's software, or nothing).
pub fn origin(v: &Value) -> Option<String> {
    ["uri", "url"]
        .iter()
        .find_map(|k| match classify_url(&text(v, k)?)? {
            UrlMatch::Post(Provider::Mastodon, p) => Some(p.id),
            _ => None,
        })
}

/// The neutral post of a status that `host` answered. Its quoted post (4.4+
/// `quote.quoted_status`) is read too, one level deep.
pub fn to_post(v: &Value, host: &str) -> Post {
    to_post_at(v, host, 0)
}

fn to_post_at(v: &Value, host: &str, depth: usize) -> Post {
    let account = v.get("account").cloned().unwrap_or_default();
    let mentions: Vec<Mention> = v
        .get("mentions")
        .and_then(Value::as_array)
        .map(|ms| {
            ms.iter()
                .take(100)
                .filter_map(|m| {
                    Some(Mention {
                        url: text(m, "url")?,
                        acct: text(m, "acct")?,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let (mut body, mut spans) = content::to_spans(
        v.get("content").and_then(Value::as_str).unwrap_or_default(),
        &mentions,
        host,
    );
    // A content warning is shown before the text, as the instance shows it
    // above the collapsed post: the words stay with the post they warn of.
    if let Some(cw) = text(v, "spoiler_text") {
        let lead = format!("CW: {cw}\n\n");
        body.insert_str(0, &lead);
        spans.insert(0, crate::post::TextSpan::Text { text: lead });
    }
    let media = v
        .get("media_attachments")
        .and_then(Value::as_array)
        .map(|ms| ms.iter().take(MAX_MEDIA).filter_map(media_item).collect())
        .unwrap_or_default();
    let reply_to = text(v, "in_reply_to_id")
        .or_else(|| number(v, "in_reply_to_id").map(|n| n.to_string()))
        .filter(|id| id.bytes().all(|b| b.is_ascii_digit()) && id.len() <= 20)
        .map(|id| {
            let to_account = text(v, "in_reply_to_account_id");
            let handle = to_account
                .and_then(|a| {
                    let own = text(&account, "id").filter(|own| *own == a);
                    own.map(|_| handle(&account, host)).or_else(|| {
                        v.get("mentions")?
                            .as_array()?
                            .iter()
                            .find(|m| text(m, "id").as_deref() == Some(a.as_str()))
                            .and_then(|m| text(m, "acct"))
                            .map(|acct| full_handle(&acct, host))
                    })
                })
                .unwrap_or_default();
            ReplyTo {
                handle,
                url: Some(PostId::new(Provider::Mastodon, format!("{host}/{id}")).canonical_url()),
            }
        });
    let quoted = (depth == 0)
        .then(|| quoted(v, host))
        .flatten()
        .map(Box::new);
    Post {
        url: url(v, "url").or_else(|| url(v, "uri")),
        author: Author {
            name: text(&account, "display_name")
                .or_else(|| text(&account, "username"))
                .unwrap_or_default(),
            handle: Some(handle(&account, host)).filter(|h| !h.is_empty()),
            url: url(&account, "url"),
            avatar: url(&account, "avatar").map(|a| Asset {
                fallbacks: url(&account, "avatar_static")
                    .filter(|s| *s != a)
                    .into_iter()
                    .collect(),
                url: a,
                sha256: None,
                stored: None,
            }),
            verified: None,
        },
        created_at: text(v, "created_at"),
        edited_at: text(v, "edited_at"),
        lang: text(v, "language"),
        text: body,
        spans,
        media,
        card: v.get("card").and_then(card),
        quoted,
        reply_to,
        counts: Counts {
            likes: number(v, "favourites_count"),
            replies: number(v, "replies_count"),
            reposts: number(v, "reblogs_count"),
        },
        sources: Default::default(),
    }
}

/// `user@host`: a local account's `acct` is its bare username.
fn handle(account: &Value, host: &str) -> String {
    text(account, "acct")
        .map(|a| full_handle(&a, host))
        .unwrap_or_default()
}

fn full_handle(acct: &str, host: &str) -> String {
    let acct = acct.trim_start_matches('@');
    if acct.contains('@') {
        acct.to_string()
    } else {
        format!("{acct}@{host}")
    }
}

/// The quoted status of a 4.4+ `quote` (a `Quote` with `quoted_status`; a
/// `ShallowQuote` names only an id, and is not followed).
fn quoted(v: &Value, host: &str) -> Option<QuotedPost> {
    let q = v.get("quote")?.get("quoted_status")?;
    if !is_status(q) {
        return None;
    }
    let id = id(q)?;
    Some(QuotedPost {
        id: PostId::new(Provider::Mastodon, format!("{host}/{id}")),
        post: to_post_at(q, host, 1),
    })
}

/// A media attachment at its original `url` (the instance's copy; for a
/// remote one, the origin's `remote_url` after it), `preview_url` as a
/// video's still, `description` as alt, `meta.original` sizes.
fn media_item(m: &Value) -> Option<MediaItem> {
    let kind = match m.get("type")?.as_str()? {
        "image" => MediaKind::Photo,
        "gifv" => MediaKind::Gif,
        "video" => MediaKind::Video,
        "audio" => MediaKind::Audio,
        _ => return None,
    };
    let original = url(m, "url")?;
    let still = url(m, "preview_url").filter(|_| kind != MediaKind::Photo);
    let size = m.get("meta").and_then(|meta| meta.get("original"));
    Some(MediaItem {
        kind,
        file: Asset {
            fallbacks: url(m, "remote_url")
                .filter(|r| *r != original)
                .into_iter()
                .collect(),
            url: original,
            sha256: None,
            stored: None,
        },
        poster: still.map(Asset::at),
        alt: text(m, "description"),
        width: size.and_then(|s| number(s, "width")),
        height: size.and_then(|s| number(s, "height")),
    })
}

fn card(c: &Value) -> Option<Card> {
    let link = url(c, "url");
    let card = Card {
        domain: link
            .as_deref()
            .and_then(crate::providers::split_url)
            .map(|u| u.host)
            .filter(|h| is_instance_host(h)),
        url: link,
        title: text(c, "title"),
        description: text(c, "description"),
        image: url(c, "image").map(Asset::at),
    };
    (card.url.is_some() || card.title.is_some()).then_some(card)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = format!(
            "{}/tests/fixtures/responses/mastodon/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    }

    #[test]
    fn a_status_with_a_card_mentions_and_a_tag() {
        let v = fixture("status-card.json");
        let p = to_post(&v, "mastodon.social");
        assert_eq!(
            p.author.handle.as_deref(),
            Some("austinkocher@mastodon.social")
        );
        assert_eq!(p.author.name, "Austin Kocher, PhD 🌎");
        assert!(p.text.starts_with("Mastodon will update to 4.0 soon!"));
        assert!(
            p.text
                .contains("See all changes here: github.com/mastodon/mastodon/r…")
        );
        assert!(p.spans.iter().any(|s| matches!(s,
            crate::post::TextSpan::Mention { handle, .. } if handle == "Gargron@mastodon.social")));
        let card = p.card.unwrap();
        assert_eq!(card.domain.as_deref(), Some("github.com"));
        assert!(
            card.image
                .unwrap()
                .url
                .starts_with("https://files.mastodon.social/cache/preview_cards/")
        );
        assert_eq!(p.counts.likes, Some(3130));
        assert_eq!(p.lang.as_deref(), Some("en"));
        assert_eq!(
            origin(&v).as_deref(),
            Some("mastodon.social/109294719267373593")
        );
    }

    #[test]
    fn media_at_the_original_url_with_alt_and_size() {
        let v = fixture("status-edited-image.json");
        let p = to_post(&v, "fosstodon.org");
        assert_eq!(p.edited_at.as_deref(), Some("2025-07-17T19:59:33.295Z"));
        let m = &p.media[0];
        assert_eq!(m.kind, MediaKind::Photo);
        assert!(m.file.url.contains("/original/"), "{}", m.file.url);
        assert!(m.width.is_some() && m.height.is_some());
        let gif = to_post(&fixture("status-gifv.json"), "mastodon.social");
        assert_eq!(gif.media[0].kind, MediaKind::Gif);
        assert!(gif.media[0].file.url.ends_with(".mp4"));
        assert!(
            gif.media[0]
                .poster
                .as_ref()
                .unwrap()
                .url
                .contains("/small/")
        );
    }

    #[test]
    fn a_remote_status_names_its_origin() {
        let v = fixture("status-remote-image.json");
        assert_eq!(origin(&v).as_deref(), Some("rstats.me/114870142137562212"));
        let p = to_post(&v, "fosstodon.org");
        assert_eq!(p.author.handle.as_deref(), Some("simonpcouch@rstats.me"));
    }

    #[test]
    fn a_quote_is_read_one_level_deep() {
        let mut v = fixture("status-docs-card.json");
        v["quote"] = fixture("quote-docs.json");
        v["quote"]["quoted_status"]["quote"] = fixture("quote-docs.json");
        let p = to_post(&v, "mastodon.social");
        let q = p.quoted.unwrap();
        assert_eq!(q.id.label(), "mastodon:mastodon.social/103270115826048975");
        assert!(q.post.quoted.is_none());
    }

    #[test]
    fn custom_emoji_stay_shortcodes_and_a_content_warning_leads() {
        let v = serde_json::json!({
            "id": "7", "account": {"display_name": ":blobcat: Alice", "acct": "alice@origin.example",
                "avatar": "https://files.example/a/original/x.png",
                "avatar_static": "https://files.example/a/static/x.png"},
            "content": "<p>hi :blobcat:</p>", "spoiler_text": "spoilers",
            "in_reply_to_id": "6", "in_reply_to_account_id": "3",
            "mentions": [{"id": "3", "acct": "bob", "url": "https://h.example/@bob"}],
        });
        let p = to_post(&v, "h.example");
        assert_eq!(p.author.name, ":blobcat: Alice");
        assert_eq!(p.author.handle.as_deref(), Some("alice@origin.example"));
        let avatar = p.author.avatar.unwrap();
        assert!(avatar.url.contains("/original/"));
        assert_eq!(avatar.fallbacks, ["https://files.example/a/static/x.png"]);
        assert_eq!(p.text, "CW: spoilers\n\nhi :blobcat:");
        let reply = p.reply_to.unwrap();
        assert_eq!(reply.handle, "bob@h.example");
        assert_eq!(
            reply.url.as_deref(),
            Some("https://h.example/web/statuses/6")
        );
    }

    #[test]
    fn hostile_fields_cost_only_themselves() {
        let v: Value = serde_json::json!({
            "id": "1", "account": {"display_name": 5, "acct": ["x"]},
            "content": 7, "media_attachments": [{"type": "image", "url": "javascript:alert(1)"},
                {"type": "image", "url": "https://e.example/a.png", "meta": {"original": {"width": "x"}}}],
            "card": {"url": "data:x"}, "in_reply_to_id": "1/../2", "spoiler_text": "",
        });
        let p = to_post(&v, "h.example");
        assert_eq!(p.media.len(), 1);
        assert!(p.card.is_none() && p.reply_to.is_none());
        assert_eq!(p.author.name, "");
    }
}
