//! `GET /media/<sha256>[.ext]`: an archive object, immutable. The name is
//! the only input and must be a digest, so no request can name a path. The
//! bytes are verified before any is sent: the first answer of an object
//! hashes it whole (a mismatch is a 500 naming the object, and nothing of it
//! is served); the file's size, inode and modification time are then
//! remembered, and a small object is hashed again on every answer, a large
//! one as it streams (a mismatch cuts the answer short). `Range` (one
//! range), `If-None-Match` (304), `If-Range` and `HEAD` are honoured.
//! Content-Type comes from the bytes (image and video signatures); only for
//! bytes of no known signature from the extension asked for, and then only
//! an image, video or audio type.

use super::{AppState, blocking, failure, plain};
use crate::store::{Digest, Hasher};
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};

/// Objects up to this size are read whole and hashed on every answer.
const WHOLE: u64 = 2 * 1024 * 1024;
/// Chunks of a streamed object.
const CHUNK: usize = 256 * 1024;

/// What was verified of an object file: its size, inode and mtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Seen {
    len: u64,
    ino: u64,
    mtime: (i64, i64),
}

impl Seen {
    fn of(m: &std::fs::Metadata) -> Seen {
        Seen {
            len: m.len(),
            ino: m.ino(),
            mtime: (m.mtime(), m.mtime_nsec()),
        }
    }
}

/// `HEX` or `HEX.EXT` (an extension of letters and digits, as render names
/// files) to the digest.
pub(crate) fn parse_name(name: &str) -> Option<Digest> {
    let (hex, ext) = name.split_once('.').unwrap_or((name, ""));
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if ext.len() > 8 || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    Digest::parse(&hex.to_ascii_lowercase())
}

/// The media type of the bytes, from their signature.
pub(crate) fn sniff(head: &[u8]) -> &'static str {
    let starts = |p: &[u8]| head.starts_with(p);
    if starts(b"\xFF\xD8\xFF") {
        "image/jpeg"
    } else if starts(b"\x89PNG\r\n\x1a\n") {
        "image/png"
    } else if starts(b"GIF87a") || starts(b"GIF89a") {
        "image/gif"
    } else if head.len() >= 12 && &head[..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        "image/webp"
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        match &head[8..12] {
            b"avif" | b"avis" => "image/avif",
            b"heic" | b"heix" | b"mif1" => "image/heic",
            b"qt  " => "video/quicktime",
            b"M4A " => "audio/mp4",
            _ => "video/mp4",
        }
    } else if starts(b"\x1A\x45\xDF\xA3") {
        "video/webm"
    } else if starts(b"ID3") || starts(b"\xFF\xFB") {
        "audio/mpeg"
    } else {
        "application/octet-stream"
    }
}

/// The media type of a name's extension, for bytes whose signature is not
/// known: only the image, video and audio types render names files with
/// (from the capture's record), none a browser would run.
fn by_extension(name: &str) -> &'static str {
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("mp4" | "m4v") => "video/mp4",
        Some("webm") => "video/webm",
        Some("m4a") => "audio/mp4",
        Some("mp3") => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// A byte range asked for, resolved against the object's length.
#[derive(Debug, PartialEq, Eq)]
enum Wanted {
    All,
    Part(u64, u64),
    Unsatisfiable,
}

/// One `bytes=` range (several ranges, or another unit, are answered whole,
/// as RFC 9110 allows).
fn range(value: Option<&str>, len: u64) -> Wanted {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Wanted::All;
    };
    if spec.contains(',') {
        return Wanted::All;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Wanted::All;
    };
    let (a, b) = (a.trim(), b.trim());
    let (start, end) = if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return Wanted::All;
        };
        if n == 0 || len == 0 {
            return Wanted::Unsatisfiable;
        }
        (len.saturating_sub(n), len - 1)
    } else {
        let Ok(start) = a.parse::<u64>() else {
            return Wanted::All;
        };
        let end = if b.is_empty() {
            len.saturating_sub(1)
        } else {
            match b.parse::<u64>() {
                Ok(e) if e >= start => e.min(len.saturating_sub(1)),
                _ => return Wanted::All,
            }
        };
        if start >= len {
            return Wanted::Unsatisfiable;
        }
        (start, end)
    };
    Wanted::Part(start, end)
}

/// Whether an `If-None-Match` value names this ETag (or is `*`).
fn matches_etag(value: &str, etag: &str) -> bool {
    value
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

pub(crate) async fn object(
    State(s): State<AppState>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let Some(digest) = parse_name(&name) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "a media name is the SHA-256 of the file in hex (64 digits), with an optional extension",
        );
    };
    let etag = format!("\"{}\"", digest.hex());
    let fresh_headers = |h: &mut HeaderMap| {
        if let Ok(v) = HeaderValue::from_str(&etag) {
            h.insert(header::ETAG, v);
        }
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        );
    };
    let head = method == Method::HEAD;
    let ranged = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let if_range_ok = headers
        .get(header::IF_RANGE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| v.trim() == etag);
    let not_modified = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| matches_etag(v, &etag));

    let s2 = s.clone();
    let opened = blocking(move || open(&s2, &digest)).await;
    let (file, len, was_known) = match opened {
        Err(r) => return r,
        Ok(Err(e)) => return failure(&e),
        Ok(Ok(o)) => o,
    };
    // The object exists and is intact (or known to be): conditional answers.
    if not_modified {
        let mut r = StatusCode::NOT_MODIFIED.into_response();
        fresh_headers(r.headers_mut());
        return r;
    }
    let mut head_bytes = [0u8; 16];
    let n = file.read_at(&mut head_bytes, 0).unwrap_or(0);
    let ctype = match sniff(&head_bytes[..n]) {
        "application/octet-stream" => by_extension(&name),
        t => t,
    };
    let wanted = if if_range_ok {
        range(ranged.as_deref(), len)
    } else {
        Wanted::All
    };
    let (status, start, count) = match wanted {
        Wanted::All => (StatusCode::OK, 0, len),
        Wanted::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b - a + 1),
        Wanted::Unsatisfiable => {
            let mut r = plain(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable");
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
                r.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            fresh_headers(r.headers_mut());
            return r;
        }
    };
    let mut h = HeaderMap::new();
    fresh_headers(&mut h);
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(count));
    if status == StatusCode::PARTIAL_CONTENT
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{len}", start + count - 1))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    if head {
        return (status, h).into_response();
    }
    let body = if len <= WHOLE {
        // Small: read whole, hash again if it was not hashed just now.
        let s3 = s.clone();
        let read = blocking(move || -> Result<Vec<u8>, String> {
            let mut buf = vec![0u8; len as usize];
            file.read_exact_at(&mut buf, 0).map_err(|e| e.to_string())?;
            if was_known && Digest::of(&buf) != digest {
                forget(&s3, &digest);
                return Err(corrupt_message(&s3, &digest));
            }
            Ok(buf)
        })
        .await;
        match read {
            Err(r) => return r,
            Ok(Err(msg)) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &msg),
            Ok(Ok(buf)) => {
                Body::from(Bytes::from(buf).slice(start as usize..(start + count) as usize))
            }
        }
    } else {
        // Large: streamed; a whole answer is hashed as it goes.
        let check = (status == StatusCode::OK && was_known).then(Hasher::new);
        stream(s.clone(), digest, file, start, count, check)
    };
    (status, h, body).into_response()
}

/// Opens and verifies (or recalls verifying) an object: the file, its
/// length, and whether it was known rather than hashed now.
fn open(s: &super::Shared, d: &Digest) -> crate::Result<(File, u64, bool)> {
    let known = s.verified.lock().ok().and_then(|v| v.get(d).copied());
    let mut was_known = false;
    let (file, meta) = s.archive.open_object_verified(d, |m| {
        was_known = known == Some(Seen::of(m));
        was_known
    })?;
    if !was_known && let Ok(mut v) = s.verified.lock() {
        if v.len() >= super::VERIFIED_CACHE {
            v.clear();
        }
        v.insert(*d, Seen::of(&meta));
    }
    Ok((file, meta.len(), was_known))
}

fn forget(s: &super::Shared, d: &Digest) {
    if let Ok(mut v) = s.verified.lock() {
        v.remove(d);
    }
}

fn corrupt_message(s: &super::Shared, d: &Digest) -> String {
    format!(
        "{} is corrupt: its bytes do not hash to its name; run `embarc verify`",
        s.archive.object_path(d).display()
    )
}

/// Streams `count` bytes from `start`, hashing them when `check` is given
/// (the whole object): a mismatch at the end fails the body, so the client
/// sees a cut answer, never a complete corrupt one.
fn stream(
    s: AppState,
    digest: Digest,
    file: File,
    start: u64,
    count: u64,
    check: Option<Hasher>,
) -> Body {
    let file = std::sync::Arc::new(file);
    let state = (file, start, count, check, s, false);
    let chunks =
        futures_util::stream::unfold(state, move |(file, at, left, check, s, done)| async move {
            if done {
                return None;
            }
            if left == 0 {
                if let Some(h) = check
                    && h.finish() != digest
                {
                    forget(&s, &digest);
                    let msg = corrupt_message(&s, &digest);
                    return Some((
                        Err(std::io::Error::other(msg)),
                        (file, at, 0, None, s, true),
                    ));
                }
                return None;
            }
            let want = left.min(CHUNK as u64) as usize;
            let f = file.clone();
            let read = tokio::task::spawn_blocking(move || {
                let mut buf = vec![0u8; want];
                f.read_exact_at(&mut buf, at).map(|()| buf)
            })
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)));
            match read {
                Ok(buf) => {
                    let mut check = check;
                    if let Some(h) = check.as_mut() {
                        h.update(&buf);
                    }
                    let n = buf.len() as u64;
                    Some((
                        Ok(Bytes::from(buf)),
                        (file, at + n, left - n, check, s, false),
                    ))
                }
                Err(e) => Some((Err(e), (file, at, 0, None, s, true))),
            }
        });
    Body::from_stream(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(range(None, 10), Wanted::All);
        assert_eq!(range(Some("bytes=0-3"), 10), Wanted::Part(0, 3));
        assert_eq!(range(Some("bytes=5-"), 10), Wanted::Part(5, 9));
        assert_eq!(range(Some("bytes=-4"), 10), Wanted::Part(6, 9));
        assert_eq!(range(Some("bytes=-40"), 10), Wanted::Part(0, 9));
        assert_eq!(range(Some("bytes=8-100"), 10), Wanted::Part(8, 9));
        assert_eq!(range(Some("bytes=10-"), 10), Wanted::Unsatisfiable);
        assert_eq!(range(Some("bytes=0-1,4-5"), 10), Wanted::All);
        assert_eq!(range(Some("items=0-1"), 10), Wanted::All);
        assert_eq!(range(Some("bytes=4-2"), 10), Wanted::All);
    }

    #[test]
    fn names_are_digests_only() {
        let hex = "a".repeat(64);
        assert!(parse_name(&hex).is_some());
        assert!(parse_name(&format!("{hex}.jpg")).is_some());
        assert!(parse_name(&format!("{}.jpg", "A".repeat(64))).is_some());
        for bad in [
            "..",
            "../etc/passwd",
            &format!("{hex}/x"),
            &format!("{hex}.j/g"),
            &"a".repeat(63),
        ] {
            assert!(parse_name(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn types_from_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"), "image/jpeg");
        assert_eq!(sniff(b"\0\0\0\x20ftypisom\0\0\0\0"), "video/mp4");
        assert_eq!(sniff(b"<html><script>"), "application/octet-stream");
    }

    #[test]
    fn etags() {
        assert!(matches_etag("\"ab\"", "\"ab\""));
        assert!(matches_etag("W/\"ab\", \"cd\"", "\"ab\""));
        assert!(matches_etag("*", "\"ab\""));
        assert!(!matches_etag("\"cd\"", "\"ab\""));
    }
}
