//! YouTube: what an embed showed of one video, `youtube:ID` (the 11-character
//! id; `watch?v=`, `youtu.be/`, `/shorts/`, `/embed/`, `/live/` and
//! `youtube-nocookie.com` URLs all name it, see `providers.rs`). No account
//! and no API key: the capture asks
//! `GET https://www.youtube.com/oembed?url=https://www.youtube.com/watch?v=ID&format=json`
//! (stored as received) and decides from its answer:
//!
//! - 200 with JSON: the post (`source: oembed`): the title as its text, the
//!   channel as its author (`author_name`, `author_url`, the `@handle` that
//!   URL names), and the thumbnail as its one photo, at the best size that
//!   exists: `maxresdefault.jpg` (1280×720), else `sddefault.jpg`
//!   (640×480), else `hqdefault.jpg` (480×360, which every video has) on
//!   `i.ytimg.com`. A size a video lacks answers 404, or, at times, 200
//!   with YouTube's 120×90 grey "no thumbnail" picture: [`Youtube`] tells
//!   the shared code that picture is not the file ([`Platform::check_file`],
//!   by its dimensions read from the JPEG or PNG header), so the next size
//!   is tried. The thumbnail oEmbed names is tried last when it is another;
//! - 401 (`Unauthorized`: a private video, or one whose owner turned
//!   embedding off) and 403 (`Forbidden`), or a 200 whose body is only
//!   those words (what YouTube answered for private videos in 2020,
//!   ruby-oembed/ruby-oembed#79): `protected`. The video exists, YouTube
//!   will not show it to an embedder; it may come back, the capture says so;
//! - 404 (`Not Found`: the video was removed, or never existed): `not_found`;
//! - anything else, or no answer: `failed`, saying what YouTube did.
//!
//! Nothing here panics on any answer; every string kept is capped.

use super::{BoxFuture, Found, Platform, Session};
use crate::net::Fetched;
use crate::post::{self, Asset, Author, MediaItem, MediaKind, Post, PostId, clip};
use crate::store::record::CaptureOutcome;
use serde_json::Value;

/// Largest oEmbed answer parsed (decoded).
const MAX_JSON: u64 = 1024 * 1024;
/// Longest title or name kept.
const MAX_FIELD: usize = 4 * 1024;
/// The thumbnail sizes, best first.
pub const THUMBNAILS: &[&str] = &["maxresdefault.jpg", "sddefault.jpg", "hqdefault.jpg"];
/// YouTube's "no thumbnail" picture.
const PLACEHOLDER: (u32, u32) = (120, 90);

/// YouTube's capture.
#[derive(Debug, Clone, Default)]
pub struct Youtube;

impl Platform for Youtube {
    fn hosts(&self) -> &'static [&'static str] {
        &["www.youtube.com", "i.ytimg.com"]
    }

    fn fetch<'a>(&'a self, s: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
        Box::pin(fetch_video(s, post))
    }

    fn check_file(&self, url: &str, head: &dyn Fn() -> Vec<u8>) -> Result<(), String> {
        let on_ytimg = crate::providers::split_url(url).is_some_and(|u| u.host == "i.ytimg.com");
        if on_ytimg && image_size(&head()) == Some(PLACEHOLDER) {
            return Err("YouTube's 120×90 \"no thumbnail\" picture".into());
        }
        Ok(())
    }
}

/// The watch URL of a video.
pub fn watch_url(id: &str) -> String {
    format!("https://www.youtube.com/watch?v={id}")
}

/// The oEmbed URL of a video.
pub fn oembed_url(id: &str) -> String {
    let q: String = url::form_urlencoded::byte_serialize(watch_url(id).as_bytes()).collect();
    format!("https://www.youtube.com/oembed?url={q}&format=json")
}

/// The video's thumbnail: every size, best first.
pub fn thumbnail(id: &str, named: Option<&str>) -> Asset {
    let mut urls: Vec<String> = THUMBNAILS
        .iter()
        .map(|n| format!("https://i.ytimg.com/vi/{id}/{n}"))
        .collect();
    if let Some(u) = named
        .filter(|u| crate::providers::split_url(u).is_some_and(|p| p.host == "i.ytimg.com"))
        .filter(|u| u.starts_with("https://"))
        .filter(|u| !urls.iter().any(|x| x == u))
    {
        urls.push(u.to_string());
    }
    let url = urls.remove(0);
    Asset {
        url,
        fallbacks: urls,
        ..Asset::default()
    }
}

async fn fetch_video(s: &Session<'_>, post: &PostId) -> Found {
    let id = post.id.as_str();
    if !is_video_id(id) {
        return Found::failed(format!(
            "{id} is not a YouTube video id (11 of A-Z a-z 0-9 _ -)"
        ));
    }
    let url = oembed_url(id);
    let f = match s.get_json(&url, MAX_JSON).await {
        Ok(f) => f,
        Err(e) => return Found::net_failed(&e),
    };
    let words = words(&f);
    let protected = |words: Option<String>| Found {
        error: Some(format!(
            "YouTube will not show this video to an embedder (private, or embedding turned off): {}",
            words.unwrap_or_else(|| format!("HTTP {}", f.status()))
        )),
        ..Found::outcome(CaptureOutcome::Protected)
    };
    let failed = |why: String| Found {
        error_url: Some(url.clone()),
        ..Found::failed(why)
    };
    match f.status() {
        200 => {
            let json = f
                .decoded_body(MAX_JSON)
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .filter(Value::is_object);
            match json {
                Some(v) => {
                    let mut p = to_post(id, &v);
                    p.set_sources(post::source::OEMBED);
                    Found::post(p, post::source::OEMBED)
                }
                None if matches!(words.as_deref(), Some("Forbidden" | "Unauthorized")) => {
                    protected(words)
                }
                None => {
                    failed("www.youtube.com answered oEmbed with something that is not JSON".into())
                }
            }
        }
        401 | 403 => protected(words),
        404 => Found {
            error: words,
            ..Found::outcome(CaptureOutcome::NotFound)
        },
        code => failed(format!(
            "www.youtube.com answered oEmbed with HTTP {code}{}",
            words.map(|w| format!(" ({w})")).unwrap_or_default()
        )),
    }
}

/// YouTube's words in a short text answer (`Unauthorized`, `Not Found`), on
/// one line; `None` for anything long or binary.
fn words(f: &Fetched) -> Option<String> {
    let body = f.decoded_body(4096)?;
    let text = std::str::from_utf8(&body).ok()?.trim();
    (!text.is_empty() && text.len() <= 200 && !text.starts_with(['{', '<'])).then(|| {
        text.chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect()
    })
}

/// Whether `id` can be a video id: 11 of `[A-Za-z0-9_-]`.
pub fn is_video_id(id: &str) -> bool {
    id.len() == 11
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The neutral post of an oEmbed answer.
pub fn to_post(id: &str, v: &Value) -> Post {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .map(|t| clip(t.trim(), MAX_FIELD))
            .filter(|t| !t.is_empty())
    };
    let title = s("title").unwrap_or_default();
    let author_url =
        s("author_url").filter(|u| u.starts_with("https://") || u.starts_with("http://"));
    let handle = author_url
        .as_deref()
        .and_then(crate::providers::split_url)
        .and_then(|u| {
            let h = u.path.trim_matches('/').strip_prefix('@')?.to_string();
            crate::providers::is_handle(crate::embed::Provider::Youtube, &h).then_some(h)
        });
    let thumb = thumbnail(id, s("thumbnail_url").as_deref());
    Post {
        url: Some(watch_url(id)),
        author: Author {
            name: s("author_name").unwrap_or_default(),
            handle,
            url: author_url,
            ..Author::default()
        },
        text: title.clone(),
        media: vec![MediaItem {
            kind: MediaKind::Photo,
            file: thumb,
            poster: None,
            alt: Some(title).filter(|t| !t.is_empty()),
            width: None,
            height: None,
        }],
        ..Post::default()
    }
}

/// The width and height a JPEG (its first SOF segment) or PNG (its IHDR)
/// header gives, from the file's first bytes; `None` for anything else.
pub fn image_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.starts_with(b"\x89PNG\r\n\x1a\n") && b.get(12..16) == Some(b"IHDR") {
        let w = u32::from_be_bytes(b.get(16..20)?.try_into().ok()?);
        let h = u32::from_be_bytes(b.get(20..24)?.try_into().ok()?);
        return Some((w, h));
    }
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut at = 2;
    loop {
        // Fill bytes (0xFF) may come before a marker.
        while *b.get(at)? == 0xFF && *b.get(at + 1)? == 0xFF {
            at += 1;
        }
        if *b.get(at)? != 0xFF {
            return None;
        }
        let marker = *b.get(at + 1)?;
        at += 2;
        if marker == 0x01 || (0xD0..=0xD9).contains(&marker) {
            continue;
        }
        let len = usize::from(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]));
        if len < 2 {
            return None;
        }
        let sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if sof {
            let h = u16::from_be_bytes([*b.get(at + 3)?, *b.get(at + 4)?]);
            let w = u16::from_be_bytes([*b.get(at + 5)?, *b.get(at + 6)?]);
            return Some((u32::from(w), u32::from(h)));
        }
        at += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_of_a_video() {
        assert_eq!(
            oembed_url("dQw4w9WgXcQ"),
            "https://www.youtube.com/oembed?url=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3DdQw4w9WgXcQ&format=json"
        );
        let t = thumbnail(
            "dQw4w9WgXcQ",
            Some("https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"),
        );
        assert_eq!(
            t.url,
            "https://i.ytimg.com/vi/dQw4w9WgXcQ/maxresdefault.jpg"
        );
        assert_eq!(t.fallbacks.len(), 2, "{t:?}");
        let t = thumbnail(
            "dQw4w9WgXcQ",
            Some("https://i.ytimg.com/vi/dQw4w9WgXcQ/hq2.jpg"),
        );
        assert_eq!(
            t.fallbacks.last().map(String::as_str),
            Some("https://i.ytimg.com/vi/dQw4w9WgXcQ/hq2.jpg")
        );
        // A thumbnail elsewhere is not fetched.
        let t = thumbnail("dQw4w9WgXcQ", Some("https://evil.example/x.jpg"));
        assert_eq!(t.fallbacks.len(), 2);
    }

    #[test]
    fn jpeg_and_png_sizes() {
        // SOI, an APP0 segment, then SOF0 of 90 rows × 120 columns.
        let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        jpeg.extend_from_slice(&[
            0xFF, 0xC0, 0x00, 0x0B, 0x08, 0x00, 90, 0x00, 120, 0x01, 0x01, 0x11, 0x00,
        ]);
        assert_eq!(image_size(&jpeg), Some((120, 90)));
        assert_eq!(image_size(&jpeg[..12]), None);
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend_from_slice(&480u32.to_be_bytes());
        png.extend_from_slice(&360u32.to_be_bytes());
        assert_eq!(image_size(&png), Some((480, 360)));
        for junk in [
            &b""[..],
            b"\xFF\xD8",
            b"\xFF\xD8\xFF\xE0\x00\x00",
            b"GIF89a",
        ] {
            assert_eq!(image_size(junk), None);
        }
    }

    #[test]
    fn the_real_answer_is_a_post() {
        let v: Value = serde_json::from_str(
            r#"{"title":"T","author_name":"Rick Astley","author_url":"https://www.youtube.com/@RickAstleyYT","thumbnail_url":"https://i.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg"}"#,
        )
        .unwrap();
        let p = to_post("dQw4w9WgXcQ", &v);
        assert_eq!(p.text, "T");
        assert_eq!(p.author.handle.as_deref(), Some("RickAstleyYT"));
        assert_eq!(
            p.url.as_deref(),
            Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ")
        );
        for junk in [
            Value::Null,
            serde_json::json!({"title": 5, "author_url": "javascript:x"}),
        ] {
            let p = to_post("dQw4w9WgXcQ", &junk);
            assert_eq!(p.author.url, None);
        }
    }
}
