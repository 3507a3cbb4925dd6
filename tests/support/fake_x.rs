//! A fake X on one local port, playing every host embarc talks to with the
//! real answers in `tests/fixtures/corpus/responses/` and X's behaviours:
//! redirects and browser-style t.co pages, tombstones, `{}` for a bad token,
//! 404, 403, 429 with `x-rate-limit-reset`, 503 bursts, a redirect to
//! 169.254.169.254, redirect loops, X's `200` HTML error page, and slow
//! answers. Map each host to it with the flags from [`mirror_flags`]. oEmbed
//! is answered only at `/oembed?url=…` with a post URL, as X does.
//!
//! It plays X as X does: syndication answers only at `/tweet-result` with
//! `id`, `lang`, `features` and a `token` checked against node's own tokens
//! (`tests/fixtures/syndication-tokens.tsv`) or, for ids not there, against
//! [`token`], a port of V8 written apart from embarc's and checked against
//! those vectors (`tests/syndication.rs`); compressible answers are gzipped
//! when the request allows it; oEmbed and photo answers come chunked; and a
//! request made before the `Retry-After` / `x-rate-limit-reset` a 429 named
//! gets another 429 and is a violation, which fails the test (see
//! [`super::Server`]). A request at a wrong path or without a required
//! parameter is a violation too.

use super::{Options, Reply, Server, Violations, response};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Ids with scripted behaviour.
pub const TOMBSTONE_ID: &str = "1111111111111111111";
/// Syndication 404 and oEmbed 404.
pub const GONE_ID: &str = "2222222222222222222";
/// Syndication `{}` and oEmbed 403.
pub const PROTECTED_ID: &str = "3333333333333333333";
/// First syndication request 429 (reset in 1 s), then the photo tweet.
pub const LIMITED_ID: &str = "4444444444444444444";
/// Syndication 503 for ever.
pub const DOWN_ID: &str = "5555555555555555555";
/// Syndication body reset mid-way on the first request, whole on the second.
pub const RESET_ID: &str = "7000000000000000005";
/// Syndication body cut short (promised length not sent) on the first request.
pub const TRUNCATED_ID: &str = "7000000000000000001";
/// Syndication body that never ends.
pub const ENDLESS_ID: &str = "7000000000000000002";
/// Syndication body gzip-compressed from 50 MB of JSON-ish zeros.
pub const BOMB_ID: &str = "7000000000000000003";
/// Syndication answers one byte, then nothing for ten seconds.
pub const TRICKLE_ID: &str = "7000000000000000004";
/// A post with one 300 MB video (streamed, never held).
pub const VIDEO_ID: &str = "7000000000000000009";
/// The size of that video.
pub const VIDEO_BYTES: u64 = 300 * 1000 * 1000;
/// A post with one 44 MiB video: over the 8 MiB above which an object goes
/// to a bucket by multipart upload, in six 8 MiB parts (more than the four
/// embarc keeps in flight, so it waits for one before sending the sixth).
pub const MID_VIDEO_ID: &str = "7000000000000000014";
/// The size of that video.
pub const MID_VIDEO_BYTES: u64 = 44 * 1024 * 1024;
/// A post with one photo whose every URL answers 503 to its first four
/// requests (one run's attempts), then the photo.
pub const FLAKY_MEDIA_ID: &str = "7000000000000000012";
/// A 429 whose `x-rate-limit-reset` is an hour away, every time: a client
/// whose `max_wait` is shorter must give up at once, by name.
pub const FAR_LIMITED_ID: &str = "7120000000000000010";
/// First syndication request 429 with `Retry-After: 1`, then the photo tweet.
pub const RETRY_AFTER_ID: &str = "7120000000000000011";
/// Syndication tombstones in each of X's shapes (the deleted one is the real
/// answer in `responses/syndication/tombstone-deleted.json`; the others are
/// that shape with the words X shows for them), oEmbed 404.
pub const SUSPENDED_ID: &str = "7120000000000000012";
/// See [`SUSPENDED_ID`]: withheld in a country.
pub const WITHHELD_ID: &str = "7120000000000000013";
/// See [`SUSPENDED_ID`]: age-restricted (sensitive) media, which logged-out
/// clients get as a tombstone.
pub const AGE_RESTRICTED_ID: &str = "7120000000000000014";
/// See [`SUSPENDED_ID`]: a post that broke X's rules.
pub const VIOLATED_ID: &str = "7120000000000000015";
/// A post with one photo whose `name=orig` is 404 (key `FallbackKey`): the
/// client must fall back to `4096x4096`.
pub const FALLBACK_ID: &str = "7120000000000000016";
/// A post with one photo whose `name=orig` and `name=4096x4096` are 404 (key
/// `FallbackLarge`): the client must fall back to `large`.
pub const FALLBACK_LARGE_ID: &str = "7120000000000000017";
/// A post with one photo whose every URL is 404 (deleted from the CDN).
pub const PHOTO_GONE_ID: &str = "7120000000000000018";
/// A post with one photo whose every URL is 500 (always, for every attempt).
pub const PHOTO_DOWN_ID: &str = "7120000000000000019";

/// Deleted on X (syndication's tombstone, oEmbed 404), its syndication
/// answer, photo and avatar kept by the fake Wayback Machine
/// ([`super::fake_wayback`]); its files are gone from X's CDN (404).
pub const RESCUED_ID: &str = "7170000000000000001";
/// Not found on X (syndication and oEmbed 404); the fake Wayback Machine
/// kept only its oEmbed answer, under `twitter.com/alleyco/status/ID`.
pub const OEMBED_ONLY_ID: &str = "7170000000000000002";
/// A real post (`responses/fxtwitter/1972284213232861204.json`): syndication
/// answers `{}`, oEmbed 404, FxTwitter its real answer.
pub const FX_ID: &str = "1972284213232861204";
/// The first syndication request gives the post, later ones the same post
/// with other words (edited).
pub const EDITED_ID: &str = "7170000000000000004";

/// The words of each tombstone, by id.
pub fn tombstone_words(id: &str) -> Option<&'static str> {
    Some(match id {
        SUSPENDED_ID => "This Post is from a suspended account. Learn more",
        WITHHELD_ID => {
            "This Post has been withheld in Germany in response to a legal demand. Learn more"
        }
        AGE_RESTRICTED_ID => {
            "Age-restricted adult content. This content might not be appropriate for people under 18 years old. To view this media, you need to log in to X. Learn more"
        }
        VIOLATED_ID => "This Post violated the X Rules. Learn more",
        _ => return None,
    })
}

/// The deleted tombstone's shape with other words (the "Learn more" link
/// entity still covering the last ten characters).
fn tombstone(words: &str) -> Vec<u8> {
    let len = words.encode_utf16().count();
    serde_json::to_vec(&serde_json::json!({
        "__typename": "TweetTombstone",
        "tombstone": {"text": {"text": words, "entities": [{
            "from_index": len - 10, "to_index": len,
            "ref": {"__typename": "TimelineUrl", "url": "https://help.twitter.com/rules-and-policies/notices-on-twitter", "url_type": "ExternalUrl"}
        }], "rtl": false}}
    }))
    .unwrap_or_default()
}

/// A post with one photo at `https://pbs.twimg.com/media/{key}.jpg`.
fn one_photo_post(id: &str, key: &str) -> Vec<u8> {
    format!(
        r#"{{"__typename":"Tweet","id_str":"{id}","text":"one photo","display_text_range":[0,9],"entities":{{}},
        "user":{{"name":"P","screen_name":"photo"}},
        "mediaDetails":[{{"type":"photo","media_url_https":"https://pbs.twimg.com/media/{key}.jpg","original_info":{{"width":600,"height":338}}}}]}}"#
    )
    .into_bytes()
}

/// The syndication token for `id`, as react-tweet computes it in a browser:
/// `((Number(id) / 1e15) * Math.PI).toString(36).replace(/(0+|\.)/g, '')`.
/// V8's `DoubleToRadixCString` written out over a digit buffer with a cursor,
/// as V8 does (not embarc's code); checked against node's answers in
/// `tests/fixtures/syndication-tokens.tsv` by `tests/syndication.rs`.
pub fn token(id: u64) -> String {
    const CHARS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let next_double = |x: f64| f64::from_bits(x.to_bits() + 1);
    let value = id as f64 / 1e15 * std::f64::consts::PI;
    let mut buffer = [0u8; 2200];
    let half = 1100;
    let mut integer = value.floor();
    let mut fraction = value - integer;
    let mut delta = (0.5 * (next_double(value) - value)).max(next_double(0.0));
    let mut cursor = half;
    if fraction >= delta {
        buffer[cursor] = b'.';
        cursor += 1;
        loop {
            fraction *= 36.0;
            delta *= 36.0;
            let digit = fraction as usize;
            buffer[cursor] = CHARS[digit];
            cursor += 1;
            fraction -= digit as f64;
            if (fraction > 0.5 || (fraction == 0.5 && digit % 2 == 1)) && fraction + delta > 1.0 {
                loop {
                    cursor -= 1;
                    if cursor == half {
                        integer += 1.0;
                        break;
                    }
                    let c = buffer[cursor];
                    let d = usize::from(if c > b'9' { c - b'a' + 10 } else { c - b'0' });
                    if d + 1 < 36 {
                        buffer[cursor] = CHARS[d + 1];
                        cursor += 1;
                        break;
                    }
                }
                break;
            }
            if fraction < delta {
                break;
            }
        }
    }
    let mut start = half;
    loop {
        let remainder = integer % 36.0;
        start -= 1;
        buffer[start] = CHARS[remainder as usize];
        integer = (integer - remainder) / 36.0;
        if integer <= 0.0 {
            break;
        }
    }
    buffer[start..cursor]
        .iter()
        .filter(|&&c| c != b'0' && c != b'.')
        .map(|&c| char::from(c))
        .collect()
}

/// node's tokens: `(id, token)` from `tests/fixtures/syndication-tokens.tsv`.
pub fn node_tokens() -> Vec<(u64, String)> {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/syndication-tokens.tsv");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (id, token) = l.split_once('\t')?;
            Some((id.trim().parse().ok()?, token.trim().to_string()))
        })
        .collect()
}

/// A post quoting the synthetic post [`QUOTED_ID`] (which sorts after it).
pub const QUOTING_ID: &str = "7000000000000000013";
/// The post [`QUOTING_ID`] quotes.
pub const QUOTED_ID: &str = "9000000000000000013";

fn flaky_media_post(id: &str) -> Vec<u8> {
    format!(
        r#"{{"__typename":"Tweet","id_str":"{id}","text":"one photo","display_text_range":[0,9],"entities":{{}},
        "user":{{"name":"F","screen_name":"flaky"}},
        "mediaDetails":[{{"type":"photo","media_url_https":"https://pbs.twimg.com/media/FlakyPhoto.jpg","original_info":{{"width":600,"height":338}}}}]}}"#
    )
    .into_bytes()
}

fn quoting_post(id: &str, quoted: &str) -> Vec<u8> {
    let mut post: serde_json::Value = serde_json::from_slice(&synthetic(id)).unwrap_or_default();
    post["quoted_tweet"] = serde_json::from_slice(&synthetic(quoted)).unwrap_or_default();
    serde_json::to_vec(&post).unwrap_or_default()
}

fn video_post(id: &str) -> Vec<u8> {
    format!(
        r#"{{"__typename":"Tweet","id_str":"{id}","text":"a long video","display_text_range":[0,12],"entities":{{}},
        "user":{{"name":"V","screen_name":"video"}},
        "mediaDetails":[{{"type":"video","media_url_https":"https://pbs.twimg.com/ext_tw_video_thumb/{id}/pu/img/poster.jpg",
          "video_info":{{"variants":[{{"bitrate":832000,"content_type":"video/mp4","url":"https://video.twimg.com/ext_tw_video/{id}/pu/vid/640x360/small.mp4"}},
          {{"bitrate":2176000,"content_type":"video/mp4","url":"https://video.twimg.com/ext_tw_video/{id}/pu/vid/1280x720/big.mp4"}}]}}}}]}}"#
    )
    .into_bytes()
}

/// A post whose every field is hostile: markup, quotes, `javascript:` links,
/// `onerror=`, flags and emoji before entities (see [`hostile_post`]).
pub const HOSTILE_ID: &str = "7000000000000000007";
/// A synthetic post with two photos on the first request, a tombstone after.
pub const DELETED_LATER_ID: &str = "7000000000000000008";

/// What the hostile post's fields say, for tests to compare with.
pub mod hostile {
    /// The author's name.
    pub const NAME: &str = "<img src=x onerror=alert(1)>\"'&amp;";
    /// The photo's alt text.
    pub const ALT: &str = "\"><script>alert(4)</script>";
    /// The text before the first entity (flags and emoji shift code points).
    pub const LEAD: &str = "🇺🇦👍🏽 <script>alert(2)</script> & \"q\" 'a' onerror=alert(3) ";
    /// Display text of a link whose target is `javascript:`.
    pub const BAD_LINK: &str = "<b>click</b>";
    /// A link target with quotes and markup in it.
    pub const ODD_HREF: &str = "https://example.com/a\"><script>alert(5)</script>";
}

/// The hostile post's syndication JSON: indices in code points over the
/// HTML-escaped text, as X sends it.
pub fn hostile_post(id: &str) -> Vec<u8> {
    fn esc(s: &str) -> String {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    }
    let lead = esc(hostile::LEAD);
    let mut text = lead.clone();
    let cp = |s: &str| s.chars().count();
    let bad = (cp(&text), cp(&text) + 23);
    text.push_str("https://t.co/bad0000000 ");
    let odd = (cp(&text), cp(&text) + 23);
    text.push_str("https://t.co/odd0000000 ");
    let tag = (cp(&text), cp(&text) + 5);
    text.push_str("#tag1 ");
    let media = (cp(&text), cp(&text) + 23);
    text.push_str("https://t.co/pic0000000");
    let end = cp(&text);
    let body = serde_json::json!({
        "__typename": "Tweet", "id_str": id, "lang": "en\"><x", "created_at": "2024-06-20T10:00:00.000Z",
        "text": text, "display_text_range": [0, media.0],
        "entities": {
            "urls": [
                {"indices": [bad.0, bad.1], "url": "https://t.co/bad0000000", "display_url": hostile::BAD_LINK, "expanded_url": "javascript:alert(6)"},
                {"indices": [odd.0, odd.1], "url": "https://t.co/odd0000000", "display_url": "example.com/a…", "expanded_url": hostile::ODD_HREF}
            ],
            "hashtags": [{"indices": [tag.0, tag.1], "text": "tag1"}],
            "media": [{"indices": [media.0, end], "url": "https://t.co/pic0000000", "display_url": "pic.twitter.com/pic0000000", "expanded_url": "https://twitter.com/evil/status/1/photo/1"}]
        },
        "user": {"id_str": "9", "name": hostile::NAME, "screen_name": "evil_user", "is_blue_verified": true,
                 "profile_image_url_https": "https://pbs.twimg.com/profile_images/9/evil_normal.jpg"},
        "mediaDetails": [{"type": "photo", "media_url_https": "https://pbs.twimg.com/media/Hostile.jpg", "ext_alt_text": hostile::ALT,
                          "original_info": {"width": 600, "height": 300}}],
        "favorite_count": 1234, "conversation_count": 0
    });
    serde_json::to_vec(&body).unwrap_or_default()
}

/// A small real PNG (a gradient whose colours come from `seed`), so pages
/// rendered from the fake X show pictures in a browser.
pub fn png(seed: &str, width: u32, height: u32) -> Vec<u8> {
    use std::io::Write;
    let h = seed.bytes().fold(2166136261u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(16777619)
    });
    let [r, g, b, _] = h.to_le_bytes();
    let mut raw = Vec::with_capacity((width as usize * 3 + 1) * height as usize);
    for y in 0..height {
        raw.push(0);
        for x in 0..width {
            let t = ((x + y) * 255 / (width + height).max(1)) as u8;
            raw.extend_from_slice(&[r / 2 + t / 2, g / 2 + t / 3, b / 2 + (255 - t) / 2]);
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let _ = z.write_all(&raw);
    let idat = z.finish().unwrap_or_default();
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    };
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IDAT", &idat);
    chunk(b"IEND", &[]);
    out
}

/// Syndication `{}` (as for a token it dislikes), oEmbed 200.
pub const EMPTY_ID: &str = "6666666666666666666";
/// Syndication answers X's `200` HTML error page ([`ERROR_PAGE`]) twice,
/// then the photo tweet; oEmbed 200.
pub const HTML_ERROR_ID: &str = "7120000000000000001";
/// Syndication answers X's `200` HTML error page for ever; oEmbed answers a
/// real oEmbed body (`responses/oembed/twitter-1679189879086018562.json`,
/// @alleyco; provenance in `responses/PROVENANCE.tsv`).
pub const HTML_ALWAYS_ID: &str = "7120000000000000002";
/// The post whose oEmbed answer [`HTML_ALWAYS_ID`] gets.
pub const HTML_ALWAYS_OEMBED: &str = "1679189879086018562";
/// Syndication a tombstone (an account gone private shows one), oEmbed 403.
pub const PRIVATE_TOMBSTONE_ID: &str = "7120000000000000003";
/// Syndication and oEmbed each answer after [`SLOW_BOTH_MS`] (a synthetic
/// post with two photos).
pub const SLOW_BOTH_ID: &str = "7120000000000000004";
/// How long [`SLOW_BOTH_ID`]'s syndication and oEmbed each take.
pub const SLOW_BOTH_MS: u64 = 2000;

/// X's transient error page: a short stand-in, with X's own words, for the
/// HTML page X serves with status 200 when its backend hiccups.
pub const ERROR_PAGE: &[u8] = "<!DOCTYPE html><html dir=\"ltr\" lang=\"en\"><head><meta charset=\"utf-8\"><title>X</title></head><body><div role=\"alert\"><span>Something went wrong, but don\u{2019}t fret \u{2014} let\u{2019}s give it another shot.</span><div role=\"button\"><span>Try again</span></div></div></body></html>".as_bytes();

fn error_page() -> Reply {
    Reply::Raw(response(
        200,
        &[("content-type", "text/html; charset=utf-8")],
        ERROR_PAGE,
    ))
}

/// A 200 JSON answer whose body comes `ms` milliseconds after its head.
fn slow_json(ms: u64, body: Vec<u8>) -> Reply {
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    Reply::Slow(head.into_bytes(), vec![(ms, body)])
}

/// A synthetic oEmbed answer for `id` (author @a, text `post ID`).
fn synthetic_oembed(id: &str) -> Vec<u8> {
    format!(r#"{{"url":"https://twitter.com/i/status/{id}","author_name":"A","author_url":"https://twitter.com/a","html":"<blockquote class=\"twitter-tweet\"><p>post {id}</p>&mdash; A (@a) <a href=\"https://twitter.com/a/status/{id}\">June 1, 2023</a></blockquote>","type":"rich","version":"1.0"}}"#).into_bytes()
}

/// Ids of 19 digits starting with 9 not in the corpus are synthetic posts with
/// two photos each (for load tests).
pub fn synthetic_id(n: u64) -> String {
    format!("9{n:018}")
}

fn synthetic(id: &str) -> Vec<u8> {
    let text = format!("synthetic post {id} https://t.co/aaaaaaaaaa https://t.co/bbbbbbbbbb");
    let a = text.find("https://t.co/a").unwrap_or(0);
    let b = text.find("https://t.co/b").unwrap_or(0);
    format!(
        r#"{{"__typename":"Tweet","id_str":"{id}","lang":"en","created_at":"2024-06-20T10:00:00.000Z","text":"{text}","display_text_range":[0,{a}],
        "entities":{{"hashtags":[],"urls":[],"user_mentions":[],"symbols":[],"media":[
          {{"indices":[{a},{a_end}],"display_url":"pic.twitter.com/aaaaaaaaaa","expanded_url":"https://twitter.com/s/status/{id}/photo/1","url":"https://t.co/aaaaaaaaaa"}},
          {{"indices":[{b},{b_end}],"display_url":"pic.twitter.com/bbbbbbbbbb","expanded_url":"https://twitter.com/s/status/{id}/photo/2","url":"https://t.co/bbbbbbbbbb"}}]}},
        "user":{{"id_str":"1","name":"Synthetic","screen_name":"synthetic","profile_image_url_https":"https://pbs.twimg.com/profile_images/1/synthetic_normal.jpg"}},
        "mediaDetails":[
          {{"type":"photo","media_url_https":"https://pbs.twimg.com/media/{id}a.jpg","original_info":{{"width":1200,"height":800}}}},
          {{"type":"photo","media_url_https":"https://pbs.twimg.com/media/{id}b.jpg","original_info":{{"width":1200,"height":800}}}}],
        "favorite_count":1,"conversation_count":0}}"#,
        a_end = a + 23,
        b_end = b + 23,
    )
    .into_bytes()
}

/// Hosts and the path prefixes they get on the fake server.
pub const HOSTS: &[(&str, &str)] = &[
    ("cdn.syndication.twimg.com", "syndication"),
    ("publish.twitter.com", "publish"),
    ("t.co", "t.co"),
    ("pbs.twimg.com", "pbs"),
    ("video.twimg.com", "video"),
    ("twitter.com", "twitter"),
    ("api.fxtwitter.com", "fxtwitter"),
    ("web.archive.org", "wayback"),
];

/// `--mirror` values pointing every host at `base`.
pub fn mirror_flags(base: &str) -> Vec<String> {
    HOSTS
        .iter()
        .map(|(h, p)| format!("{h}={base}/{p}"))
        .collect()
}

/// The responses folder (`EMBARC_RESPONSES`, default `tests/fixtures/corpus/responses`).
pub fn responses_dir() -> PathBuf {
    std::env::var_os("EMBARC_RESPONSES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/responses")
        })
}

fn query(path: &str) -> HashMap<String, String> {
    let q = path.split_once('?').map_or("", |(_, q)| q);
    url::form_urlencoded::parse(q.as_bytes())
        .into_owned()
        .collect()
}

fn json(status: u16, body: &[u8]) -> Reply {
    Reply::Raw(response(
        status,
        &[("content-type", "application/json;charset=utf-8")],
        body,
    ))
}

/// A test's scratch folder with an archive path in it, and the fake X.
pub struct Env {
    /// The scratch folder (removed when dropped).
    pub dir: tempfile::TempDir,
    /// `DIR/archive` (not created).
    pub archive: PathBuf,
    /// The fake X.
    pub server: Server,
}

/// A fresh [`Env`].
pub async fn env() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    Env {
        dir,
        archive,
        server: start().await,
    }
}

/// Starts the fake X.
pub async fn start() -> Server {
    let node: HashMap<u64, String> = node_tokens().into_iter().collect();
    let violations = Violations::default();
    let seen = violations.clone();
    let violation = move |what: String| {
        if let Ok(mut v) = seen.lock() {
            v.push(what);
        }
    };
    // When each rate-limited id may be asked again (epoch seconds).
    let resets: Arc<Mutex<HashMap<String, f64>>> = Arc::default();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    let dir = responses_dir();
    let syndication: HashMap<String, Vec<u8>> = std::fs::read_dir(dir.join("syndication"))
        .expect("responses/syndication")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name.strip_suffix(".json")?.to_string();
            Some((id, std::fs::read(e.path()).ok()?))
        })
        .collect();
    let oembed: HashMap<String, Vec<u8>> = std::fs::read_dir(dir.join("oembed"))
        .expect("responses/oembed")
        .filter_map(Result::ok)
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let id = name
                .strip_prefix("twitter-")?
                .strip_suffix(".json")?
                .to_string();
            Some((id, std::fs::read(e.path()).ok()?))
        })
        .collect();
    let wayback = Arc::new(super::fake_wayback::Archive::new(violations.clone()));
    let fx_answer = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/responses/fxtwitter/1972284213232861204.json"),
    )
    .expect("responses/fxtwitter");
    let handler = move |path: String, nth: u32| -> Reply {
        let (prefix, rest) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or(("", ""));
        match prefix {
            "syndication" => {
                if rest.split('?').next() != Some("tweet-result") {
                    violation(format!("syndication asked at {path}, not /tweet-result"));
                    return Reply::Raw(response(404, &[("content-type", "text/html")], b""));
                }
                let q = query(&path);
                let id = q.get("id").cloned().unwrap_or_default();
                let missing: Vec<&str> = ["id", "lang", "features", "token"]
                    .into_iter()
                    .filter(|k| q.get(*k).is_none_or(String::is_empty))
                    .collect();
                if !missing.is_empty()
                    || id.len() > 40
                    || !id.bytes().all(|b| b.is_ascii_digit())
                {
                    violation(format!("syndication asked without {missing:?} or with a bad id: {path}"));
                    return json(400, b"{}");
                }
                let token_ok = id.parse::<u64>().is_ok_and(|n| {
                    let want = node.get(&n).cloned().unwrap_or_else(|| token(n));
                    q.get("token") == Some(&want)
                });
                if !token_ok {
                    return json(200, b"{}");
                }
                // A 429 named a time: asking before it is punished again.
                let reset = resets.lock().ok().and_then(|r| r.get(&id).copied());
                if let Some(reset) = reset {
                    let at = now();
                    if at < reset {
                        violation(format!(
                            "{id} asked {:.2} s before the reset its 429 named",
                            reset - at
                        ));
                        return Reply::Raw(response(
                            429,
                            &[("x-rate-limit-reset", &format!("{}", reset.ceil() as i64))],
                            b"{}",
                        ));
                    }
                }
                let limit = |until: f64, header: (&str, String)| {
                    if let Ok(mut r) = resets.lock() {
                        r.insert(id.clone(), until);
                    }
                    Reply::Raw(response(
                        429,
                        &[(header.0, &header.1), ("content-type", "application/json")],
                        br#"{"errors":[{"code":88,"message":"Rate limit exceeded"}]}"#,
                    ))
                };
                if let Some(words) = tombstone_words(&id) {
                    return json(200, &tombstone(words));
                }
                match id.as_str() {
                    RESCUED_ID => json(200, &syndication["tombstone-deleted"]),
                    FX_ID => json(200, b"{}"),
                    EDITED_ID => {
                        let words = if nth == 1 { "the first words" } else { "the words, edited" };
                        let mut post: serde_json::Value =
                            serde_json::from_slice(&one_photo_post(&id, "EditedPhoto")).unwrap_or_default();
                        post["text"] = words.into();
                        post["display_text_range"] = serde_json::json!([0, words.chars().count()]);
                        json(200, &serde_json::to_vec(&post).unwrap_or_default())
                    }
                    FAR_LIMITED_ID => {
                        let reset = now().floor() + 3600.0;
                        limit(reset, ("x-rate-limit-reset", format!("{}", reset as i64)))
                    }
                    RETRY_AFTER_ID if nth == 1 => limit(now() + 1.0, ("retry-after", "1".into())),
                    RETRY_AFTER_ID => json(200, &syndication["1641086480675225601"]),
                    FALLBACK_ID => json(200, &one_photo_post(&id, "FallbackKey")),
                    FALLBACK_LARGE_ID => json(200, &one_photo_post(&id, "FallbackLarge")),
                    PHOTO_GONE_ID => json(200, &one_photo_post(&id, "GonePhoto")),
                    PHOTO_DOWN_ID => json(200, &one_photo_post(&id, "DownPhoto")),
                    TOMBSTONE_ID => json(200, &syndication["tombstone-deleted"]),
                    GONE_ID => Reply::Raw(response(404, &[("content-type", "text/html")], b"<html>not found</html>")),
                    PROTECTED_ID | EMPTY_ID => json(200, b"{}"),
                    VIDEO_ID => json(200, &video_post(VIDEO_ID)),
                    MID_VIDEO_ID => json(200, &String::from_utf8_lossy(&video_post(MID_VIDEO_ID)).replace("big.mp4", "mid.mp4").into_bytes()),
                    FLAKY_MEDIA_ID => json(200, &flaky_media_post(FLAKY_MEDIA_ID)),
                    QUOTING_ID => json(200, &quoting_post(QUOTING_ID, QUOTED_ID)),
                    HOSTILE_ID => json(200, &hostile_post(HOSTILE_ID)),
                    DELETED_LATER_ID if nth == 1 => json(200, &synthetic(DELETED_LATER_ID)),
                    DELETED_LATER_ID => json(200, &syndication["tombstone-deleted"]),
                    RESET_ID if nth == 1 => Reply::Reset(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\n\r\n{\"__typename\"".to_vec(),
                    ),
                    RESET_ID => json(200, &synthetic(&format!("9{}", &id[1..]))),
                    TRUNCATED_ID if nth == 1 => Reply::Raw(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4000\r\nconnection: close\r\n\r\n{\"__typename\":\"Tweet\"".to_vec(),
                    ),
                    TRUNCATED_ID => json(200, &synthetic(&format!("9{}", &id[1..]))),
                    ENDLESS_ID => Reply::Endless(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_vec(),
                    ),
                    BOMB_ID => {
                        use std::io::Write;
                        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                        let _ = gz.write_all(&vec![b' '; 50 << 20]);
                        let body = gz.finish().unwrap_or_default();
                        Reply::Raw(response(
                            200,
                            &[("content-type", "application/json"), ("content-encoding", "gzip")],
                            &body,
                        ))
                    }
                    TRICKLE_ID => Reply::Slow(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n".to_vec(),
                        vec![(0, b"{".to_vec()), (10_000, b"}".to_vec())],
                    ),
                    LIMITED_ID if nth == 1 => {
                        let reset = now().floor() + 1.0;
                        limit(reset, ("x-rate-limit-reset", format!("{}", reset as i64)))
                    }
                    LIMITED_ID => json(200, &syndication["1641086480675225601"]),
                    DOWN_ID => Reply::Raw(response(503, &[("retry-after", "0")], b"busy")),
                    HTML_ERROR_ID if nth <= 2 => error_page(),
                    HTML_ERROR_ID => json(200, &syndication["1641086480675225601"]),
                    HTML_ALWAYS_ID => error_page(),
                    PRIVATE_TOMBSTONE_ID => json(200, &syndication["tombstone-deleted"]),
                    SLOW_BOTH_ID => slow_json(SLOW_BOTH_MS, synthetic(&format!("9{}", &id[1..]))),
                    // Slow posts: the answer comes after three seconds.
                    other if other.len() == 19 && other.starts_with('8') => {
                        let body = synthetic(&format!("9{}", &other[1..]));
                        let head = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        );
                        Reply::Slow(head.into_bytes(), vec![(3000, body)])
                    }
                    other => match syndication.get(other) {
                        Some(body) => json(200, body),
                        None if other.len() == 19 && other.starts_with('9') => json(200, &synthetic(other)),
                        None => Reply::Raw(response(404, &[], b"")),
                    },
                }
            }
            "publish" => {
                // X answers oEmbed only at /oembed, and 400 without a post URL.
                if rest.split('?').next() != Some("oembed") {
                    return Reply::Raw(response(404, &[("content-type", "text/html")], b""));
                }
                let url = query(&path).get("url").cloned().unwrap_or_default();
                let post_url = url::Url::parse(&url).ok().filter(|u| {
                    matches!(u.host_str(), Some("twitter.com" | "x.com"))
                        && u.path_segments().is_some_and(|mut s| s.any(|p| p == "status"))
                });
                if post_url.is_none() {
                    return json(
                        400,
                        br#"{"errors":[{"code":357,"message":"url: queryParam is required"}]}"#,
                    );
                }
                let id = url.rsplit('/').next().unwrap_or("").to_string();
                match id.as_str() {
                    PRIVATE_TOMBSTONE_ID => json(
                        403,
                        br#"{"error":"Sorry, you are not authorized to see this status.","request":"/oembed"}"#,
                    ),
                    HTML_ERROR_ID => json(200, &synthetic_oembed(&id)),
                    HTML_ALWAYS_ID => json(200, &oembed[HTML_ALWAYS_OEMBED]),
                    SLOW_BOTH_ID => slow_json(SLOW_BOTH_MS, synthetic_oembed(&id)),
                    PROTECTED_ID => json(
                        403,
                        br#"{"error":"Sorry, you are not authorized to see this status.","request":"/oembed"}"#,
                    ),
                    _ => match oembed.get(&id) {
                        Some(body) => json(200, body),
                        None if syndication.contains_key(&id)
                            || id == LIMITED_ID
                            || id == EMPTY_ID
                            || (id.len() == 19 && id.starts_with('9')) =>
                        {
                            json(
                            200,
                            format!(r#"{{"url":"https://twitter.com/i/status/{id}","author_name":"A","author_url":"https://twitter.com/a","html":"<blockquote class=\"twitter-tweet\"><p>post {id}</p>&mdash; A (@a) <a href=\"https://twitter.com/a/status/{id}\">June 1, 2023</a></blockquote>","type":"rich","version":"1.0"}}"#).as_bytes(),
                            )
                        }
                        None => Reply::Raw(response(404, &[("content-type", "text/html")], b"")),
                    },
                }
            }
            "t.co" => match rest {
                // 301 as to curl.
                "rQd6FIwZ0U" => Reply::Raw(response(
                    301,
                    &[("location", "https://twitter.com/SamuelSusla/status/1641086480675225601/photo/1")],
                    b"",
                )),
                // The page browsers get.
                "Br0wser123" => Reply::Raw(response(
                    200,
                    &[("content-type", "text/html; charset=utf-8")],
                    br#"<head><meta name="referrer" content="always"><noscript><META http-equiv="refresh" content="0;URL=https://twitter.com/jack/status/20"></noscript><title>https://twitter.com/jack/status/20</title></head><script>window.opener = null; location.replace("https:\/\/twitter.com\/jack\/status\/20")</script>"#,
                )),
                "L00pA" => Reply::Raw(response(301, &[("location", "https://t.co/L00pB")], b"")),
                "L00pB" => Reply::Raw(response(301, &[("location", "https://t.co/L00pA")], b"")),
                "Meta169" => Reply::Raw(response(302, &[("location", "http://169.254.169.254/latest/meta-data/")], b"")),
                "Ext3rnal" => Reply::Raw(response(301, &[("location", "https://example.com/story")], b"")),
                _ => Reply::Raw(response(404, &[], b"")),
            },
            "video" if rest.ends_with("/mid.mp4") => Reply::Sized(
                format!("HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: {MID_VIDEO_BYTES}\r\nconnection: close\r\n\r\n").into_bytes(),
                MID_VIDEO_BYTES,
            ),
            "video" if rest.ends_with("/big.mp4") => Reply::Sized(
                format!("HTTP/1.1 200 OK\r\ncontent-type: video/mp4\r\ncontent-length: {VIDEO_BYTES}\r\nconnection: close\r\n\r\n").into_bytes(),
                VIDEO_BYTES,
            ),
            "pbs" if rest.contains("FlakyPhoto") && nth <= 4 => {
                Reply::Raw(response(503, &[("retry-after", "0")], b"busy"))
            }
            "pbs" if rest.contains("GonePhoto") => Reply::Raw(response(404, &[], b"")),
            // The rescued post's files are gone from X's CDN.
            "pbs" if rest.contains("RescuedPhoto") || rest.contains("/rescued") => {
                Reply::Raw(response(404, &[], b""))
            }
            "wayback" => wayback.answer(&format!("/{rest}")),
            "fxtwitter" => {
                // FxTwitter answers `/{name}/status/{id}`; its code is in the JSON.
                let mut seg = rest.split('?').next().unwrap_or_default().split('/');
                let (_, status, id) = (seg.next(), seg.next(), seg.next().unwrap_or_default());
                if status != Some("status") || id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    violation(format!("FxTwitter asked at {path}, not /NAME/status/ID"));
                    return json(404, br#"{"code":404,"message":"NOT_FOUND","tweet":null}"#);
                }
                if id == FX_ID {
                    json(200, &fx_answer)
                } else {
                    json(404, br#"{"code":404,"message":"NOT_FOUND","tweet":null}"#)
                }
            }
            "pbs" if rest.contains("DownPhoto") => {
                Reply::Raw(response(500, &[("retry-after", "0")], b"error"))
            }
            "pbs" | "video" => {
                // name=orig missing for one photo key, orig and 4096x4096 for
                // another, to exercise the fallbacks.
                if rest.contains("FallbackKey") && rest.contains("name=orig") {
                    return Reply::Raw(response(404, &[], b""));
                }
                if rest.contains("FallbackLarge")
                    && (rest.contains("name=orig") || rest.contains("name=4096x4096"))
                {
                    return Reply::Raw(response(404, &[], b""));
                }
                if !rest.contains(".mp4") && !rest.starts_with("media/9") {
                    let (w, h) = if rest.starts_with("profile_images") { (96, 96) } else { (600, 338) };
                    return Reply::Raw(response(200, &[("content-type", "image/png")], &png(rest, w, h)));
                }
                let ctype = if rest.contains(".mp4") { "video/mp4" } else { "image/jpeg" };
                // Synthetic posts' photos weigh 64 KB, like small real JPEGs.
                let mut body = format!("{prefix}/{rest}").into_bytes();
                if rest.starts_with("media/9") {
                    body.resize(64 * 1024, b'.');
                }
                Reply::Raw(response(200, &[("content-type", ctype)], &body))
            }
            // An article page on a news site (map a host to BASE/articles).
            "articles" => Reply::Raw(response(
                200,
                &[("content-type", "text/html; charset=utf-8")],
                br#"<html><body><p>Story.</p><blockquote class="twitter-tweet"><p>x</p>&mdash; sammy (@SamuelSusla) <a href="https://twitter.com/SamuelSusla/status/1641086480675225601">March 29, 2023</a></blockquote></body></html>"#,
            )),
            _ => Reply::Raw(response(404, &[], b"")),
        }
    };
    let options = Options {
        gzip: true,
        chunked: |path| path.starts_with("/publish/") || path.starts_with("/pbs/"),
    };
    super::start_with(Arc::new(handler), options, violations).await
}
