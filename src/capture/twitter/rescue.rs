//! Recovering an X post X no longer serves from the Wayback Machine's
//! copies: its syndication answer (`cdn.syndication.twimg.com/tweet-result?id=ID*`,
//! the richest), else its status page (`twitter.com/HANDLE/status/ID`, read
//! from its `og:` tags) and its oEmbed answer
//! (`publish.twitter.com/oembed?url=https://twitter.com/HANDLE/status/ID*`),
//! each the newest copy that holds the post (a copy of a tombstone or of
//! `{}` is passed over); fields one lacks come from the next. The post's
//! files then get their archived copies as last fallbacks, found by the
//! CDX API under their `pbs.twimg.com` / `video.twimg.com` URLs and fetched
//! in the `id_` form. The handle, needed for the status page and oEmbed,
//! comes from the cited URL or the citing article's quote.

use super::syndication::{self, Answer};
use super::{MAX_JSON, X, fill, from_oembed_body, is_handle, to_post};
use crate::capture::wayback::{Match, Wayback};
use crate::capture::{Found, Session};
use crate::post::{self, Asset, Author, MediaItem, MediaKind, Post};

/// Largest archived status page read.
const MAX_PAGE: u64 = 4 * 1024 * 1024;
/// At most this many of a post's files are looked up in the archive.
const MAX_FILES: usize = 8;

/// The post recovered from the archive's copies, or `None` when it kept
/// none that holds it (or could not be asked).
pub(super) async fn recover(x: &X, s: &Session<'_>, id: u64) -> Option<Found> {
    let w = &x.wayback;
    let mut post = from_syndication(w, s, id).await;
    if post.is_none() {
        let handle = handle_hint(s, id);
        if let Some(h) = &handle {
            post = from_status_page(w, s, id, h).await;
        }
        if let Some(h) = &handle {
            let oembed = from_oembed(w, s, id, h).await;
            post = match (post, oembed) {
                (Some(mut p), Some(o)) => {
                    fill(&mut p, &o, post::source::WAYBACK);
                    Some(p)
                }
                (p, o) => p.or(o),
            };
        }
    }
    let mut p = post?;
    p.set_sources(post::source::WAYBACK);
    archived_files(w, s, &mut p).await;
    Some(Found::post(p, post::source::WAYBACK))
}

/// The author's handle, from the cited URL (`twitter.com/HANDLE/status/ID`)
/// or the citing article's quote.
fn handle_hint(s: &Session<'_>, id: u64) -> Option<String> {
    let cited = s.cited();
    let from_url = cited.url.as_deref().and_then(|u| {
        let u = url::Url::parse(u).ok()?;
        let mut seg = u.path_segments()?;
        let (h, status, sid) = (seg.next()?, seg.next()?, seg.next()?);
        (status == "status" && sid == id.to_string() && h != "i" && is_handle(h))
            .then(|| h.to_string())
    });
    from_url.or_else(|| {
        cited
            .handle
            .as_deref()
            .map(|h| h.trim_start_matches('@').to_string())
            .filter(|h| is_handle(h))
    })
}

/// The newest archived syndication answer that holds the tweet.
async fn from_syndication(w: &Wayback, s: &Session<'_>, id: u64) -> Option<Post> {
    let key = format!("cdn.syndication.twimg.com/tweet-result?id={id}");
    let snaps = w.lookup(s, &key, Match::Prefix).await.ok()?;
    let id = id.to_string();
    // The prefix also matches longer ids: only this one's copies.
    let own = snaps.iter().filter(|snap| {
        url::Url::parse(&snap.original).is_ok_and(|u| {
            u.query_pairs()
                .any(|(k, v)| k == "id" && v.as_ref() == id.as_str())
        })
    });
    for snap in own.take(3) {
        let Ok(f) = w.fetch_small(s, snap, MAX_JSON).await else {
            continue;
        };
        let Some(body) = f.decoded_body(MAX_JSON).filter(|_| f.status() == 200) else {
            continue;
        };
        if let Ok(Answer::Tweet(t)) = syndication::parse(&body)
            && t.id == id
        {
            s.answered_by(&f);
            return Some(to_post(&t));
        }
    }
    None
}

/// The newest archived copy of the oEmbed answer for the post's URL.
async fn from_oembed(w: &Wayback, s: &Session<'_>, id: u64, handle: &str) -> Option<Post> {
    let key = format!("publish.twitter.com/oembed?url=https://twitter.com/{handle}/status/{id}");
    let snaps = w.lookup(s, &key, Match::Prefix).await.ok()?;
    for snap in snaps.iter().take(2) {
        let Ok(f) = w.fetch_small(s, snap, MAX_JSON).await else {
            continue;
        };
        if f.status() != 200 {
            continue;
        }
        if let Some(p) = f.decoded_body(MAX_JSON).and_then(|b| from_oembed_body(&b)) {
            s.answered_by(&f);
            return Some(p);
        }
    }
    None
}

/// The newest archived status page, read from its `og:` tags: the author's
/// name (`NAME on Twitter`, `NAME (@handle) on X`), the text (`“…”`), the
/// photo.
async fn from_status_page(w: &Wayback, s: &Session<'_>, id: u64, handle: &str) -> Option<Post> {
    let key = format!("twitter.com/{handle}/status/{id}");
    let snaps = w.lookup(s, &key, Match::Exact).await.ok()?;
    let snap = snaps.iter().find(|c| c.mimetype.contains("html"))?;
    let f = w.fetch_small(s, snap, MAX_PAGE).await.ok()?;
    if f.status() != 200 {
        return None;
    }
    let body = f.decoded_body(MAX_PAGE)?;
    let p = from_page(&String::from_utf8_lossy(&body), handle)?;
    s.answered_by(&f);
    Some(p)
}

/// A post from a status page's `og:title`, `og:description`, `og:image`.
fn from_page(html: &str, handle: &str) -> Option<Post> {
    let doc = scraper::Html::parse_document(html);
    let sel = scraper::Selector::parse("meta[property], meta[name]").ok()?;
    let mut og = std::collections::HashMap::new();
    for m in doc.select(&sel) {
        let key = m
            .value()
            .attr("property")
            .or_else(|| m.value().attr("name"))
            .unwrap_or_default();
        if let Some(c) = m.value().attr("content") {
            og.entry(key.to_ascii_lowercase())
                .or_insert_with(|| c.to_string());
        }
    }
    let text = og.get("og:description")?.trim();
    let text = text
        .strip_prefix('“')
        .and_then(|t| t.strip_suffix('”'))
        .unwrap_or(text)
        .to_string();
    let title = og.get("og:title").map(String::as_str).unwrap_or_default();
    let name = title
        .strip_suffix(" on Twitter")
        .or_else(|| title.strip_suffix(" on X"))
        .unwrap_or(title);
    let name = name
        .strip_suffix(&format!(" (@{handle})"))
        .unwrap_or(name)
        .to_string();
    let media = og
        .get("og:image")
        .filter(|u| u.starts_with("https://pbs.twimg.com/media/"))
        .and_then(|u| syndication::photo_urls(u))
        .map(|(url, fallbacks)| MediaItem {
            kind: MediaKind::Photo,
            file: Asset {
                url,
                fallbacks,
                ..Asset::default()
            },
            poster: None,
            alt: None,
            width: None,
            height: None,
        });
    Some(Post {
        author: Author {
            name,
            handle: Some(handle.to_string()),
            url: Some(format!("https://x.com/{handle}")),
            ..Author::default()
        },
        text,
        media: media.into_iter().collect(),
        ..Post::default()
    })
}

/// Gives each file of the post (and of its quoted post) the archive's best
/// copy as its last fallback: the live URLs are still tried first.
async fn archived_files(w: &Wayback, s: &Session<'_>, p: &mut Post) {
    let mut budget = MAX_FILES;
    let own: Vec<&mut Asset> = p.assets_mut().into_iter().map(|(_, a)| a).collect();
    archived_copies(w, s, own, &mut budget).await;
    if let Some(q) = p.quoted.as_mut() {
        let quoted: Vec<&mut Asset> = q.post.assets_mut().into_iter().map(|(_, a)| a).collect();
        archived_copies(w, s, quoted, &mut budget).await;
    }
}

/// Looks up each of `assets` (while `budget` lasts) and adds its best copy.
async fn archived_copies(
    w: &Wayback,
    s: &Session<'_>,
    assets: Vec<&mut Asset>,
    budget: &mut usize,
) {
    for asset in assets {
        if *budget == 0 {
            return;
        }
        let Some((stem, kind)) = stem(&asset.url) else {
            continue;
        };
        *budget -= 1;
        let Ok(snaps) = w.lookup(s, &stem, Match::Prefix).await else {
            continue;
        };
        let best = snaps
            .iter()
            .filter(|snap| snap.mimetype.starts_with(kind))
            .min_by_key(|snap| {
                (
                    rank(&snap.original),
                    std::cmp::Reverse(snap.timestamp.clone()),
                )
            });
        if let Some(snap) = best {
            asset.fallbacks.push(w.replay_url(snap));
        }
    }
}

/// The prefix a file's copies are found under (its URL without size,
/// extension or query), and the content type they must have.
fn stem(url: &str) -> Option<(String, &'static str)> {
    let u = url::Url::parse(url).ok()?;
    let host = u.host_str()?;
    let path = u.path();
    let (kind, path) = match host {
        "pbs.twimg.com" => {
            let no_ext = path.rsplit_once('.').map_or(path, |(b, _)| b);
            let no_size = ["_normal", "_bigger", "_mini", "_200x200", "_400x400"]
                .iter()
                .find_map(|sz| no_ext.strip_suffix(*sz))
                .unwrap_or(no_ext);
            ("image/", no_size)
        }
        "video.twimg.com" => ("video/", path),
        _ => return None,
    };
    Some((format!("{host}{path}"), kind))
}

/// How good an archived copy of a file is, by its URL (lower is better):
/// the original size first.
fn rank(original: &str) -> u8 {
    let o = original.to_ascii_lowercase();
    let tail = o.split_once("://").map_or(o.as_str(), |(_, t)| t);
    let sized =
        |name: &str| o.contains(&format!("name={name}")) || o.ends_with(&format!(":{name}"));
    if sized("orig") {
        0
    } else if sized("4096x4096") {
        1
    } else if sized("large") || o.contains("_400x400") {
        2
    } else if !tail.contains("name=") && !tail.contains(':') {
        // The URL as the post names it, with no size.
        3
    } else if sized("medium") || o.contains("_200x200") {
        4
    } else {
        5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_page_is_read_from_its_og_tags() {
        let html = r#"<html><head><meta property="og:title" content="BRICS News on Twitter"><meta property="og:description" content="“JUST IN: 🇮🇳 India hello”"><meta property="og:image" content="https://pbs.twimg.com/media/GQeX1.jpg:large"></head></html>"#;
        let p = from_page(html, "BRICSinfo").expect("post");
        assert_eq!(p.author.name, "BRICS News");
        assert_eq!(p.text, "JUST IN: 🇮🇳 India hello");
        assert_eq!(
            p.media[0].file.url,
            "https://pbs.twimg.com/media/GQeX1?format=jpg&name=orig"
        );
        let x = r#"<meta property="og:title" content="BRICS News (@BRICSinfo) on X"><meta property="og:description" content="hi">"#;
        assert_eq!(
            from_page(x, "BRICSinfo").expect("x").author.name,
            "BRICS News"
        );
        assert!(from_page("<html></html>", "a").is_none());
    }

    #[test]
    fn archived_copies_are_ranked_original_size_first() {
        assert!(
            rank("https://pbs.twimg.com/media/A?format=jpg&name=orig")
                < rank("https://pbs.twimg.com/media/A.jpg")
        );
        assert!(
            rank("https://pbs.twimg.com/media/A.jpg")
                < rank("https://pbs.twimg.com/media/A?format=jpg&name=small")
        );
        assert!(
            rank("https://pbs.twimg.com/media/A.jpg:large")
                < rank("https://pbs.twimg.com/media/A.jpg")
        );
        assert_eq!(
            stem("https://pbs.twimg.com/profile_images/1/abc_normal.jpg"),
            Some(("pbs.twimg.com/profile_images/1/abc".into(), "image/"))
        );
        assert_eq!(
            stem("https://pbs.twimg.com/media/A?format=jpg&name=orig"),
            Some(("pbs.twimg.com/media/A".into(), "image/"))
        );
        assert_eq!(stem("https://example.com/a.jpg"), None);
    }
}
