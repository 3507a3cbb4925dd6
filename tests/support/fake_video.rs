//! A fake YouTube and TikTok on one local port, from real oEmbed answers
//! (`tests/fixtures/video/`, provenance in `PROVENANCE.tsv` there). Map each
//! host to it with [`mirror_flags`].
//!
//! YouTube (`www.youtube.com/oembed`, `i.ytimg.com/vi/ID/…`):
//! - [`VIDEO`] (`dQw4w9WgXcQ`) answers the real oEmbed body. Its thumbnail
//!   has no `maxresdefault.jpg` (404 whose body is YouTube's 120×90 grey
//!   picture, as i.ytimg.com sends), its `sddefault.jpg` is that 120×90
//!   picture with 200, and its `hqdefault.jpg` is a real 480×360 JPEG;
//! - [`REMOVED`] answers 404 `Not Found`, [`PRIVATE`] 401 `Unauthorized`
//!   (YouTube's bodies are those words alone);
//! - oEmbed asked without `format=json`, or about a URL that is not a
//!   YouTube video, is a violation.
//!
//! TikTok (`www.tiktok.com/oembed`, its signed CDN):
//! - [`TIKTOK`] answers the real oEmbed body. TikTok signs a thumbnail URL
//!   afresh in every answer: with `expired` false the fake moves the
//!   answer's `x-expires` a day ahead; with `expired` true it serves the
//!   body as recorded, whose URL expired in 2024. The CDN answers a URL
//!   past its `x-expires` with 403 `Access Denied`, else a 576×1024 JPEG;
//! - oEmbed asked about anything but `tiktok.com/@USER/video/ID` is a
//!   violation (TikTok's own oEmbed wants that form).

use super::{Reply, Server, Violations, response};
use std::path::PathBuf;
use std::sync::Arc;

/// The video of the real YouTube answer.
pub const VIDEO: &str = "dQw4w9WgXcQ";
/// A removed video (oEmbed 404).
pub const REMOVED: &str = "rEm0vEdVid1";
/// A private video (oEmbed 401).
pub const PRIVATE: &str = "pR1vateVid1";
/// The video of the real TikTok answer.
pub const TIKTOK: &str = "7348705314746699054";
/// Its author.
pub const TIKTOK_USER: &str = "atribecalledval";
/// The CDN host of its thumbnail.
pub const TIKTOK_CDN: &str = "p19-pu-sign-useast8.tiktokcdn-us.com";

/// Hosts and the path prefix each is played under.
pub const HOSTS: &[(&str, &str)] = &[
    ("www.youtube.com", "yt"),
    ("i.ytimg.com", "ytimg"),
    ("www.tiktok.com", "tt"),
    (TIKTOK_CDN, "ttcdn"),
];

/// `--mirror` values pointing every host at `base`.
pub fn mirror_flags(base: &str) -> Vec<String> {
    HOSTS
        .iter()
        .map(|(h, p)| format!("{h}={base}/{p}"))
        .collect()
}

/// The fixtures folder.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/video")
}

/// A query parameter, percent-decoded.
fn param(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Starts the fake; `expired` serves TikTok's answer with its recorded,
/// expired thumbnail URL.
pub async fn start(expired: bool) -> Server {
    let dir = fixtures_dir();
    let youtube = std::fs::read(dir.join(format!("youtube-{VIDEO}.json"))).expect("youtube");
    let tiktok =
        std::fs::read_to_string(dir.join(format!("tiktok-{TIKTOK}.json"))).expect("tiktok");
    let violations = Violations::default();
    let seen = violations.clone();
    let handler = Arc::new(move |path: String, _n: u32| -> Reply {
        let violation = |what: String| {
            if let Ok(mut v) = seen.lock() {
                v.push(what);
            }
            Reply::Raw(response(
                400,
                &[("content-type", "text/html")],
                b"Bad Request",
            ))
        };
        if let Some(rest) = path.strip_prefix("/yt/oembed") {
            if param(rest, "format").as_deref() != Some("json") {
                return violation(format!("YouTube oEmbed without format=json: {path}"));
            }
            let asked = param(rest, "url").unwrap_or_default();
            let id = asked.split_once("watch?v=").map(|(_, id)| id.to_string());
            return match id.as_deref() {
                Some(VIDEO) => Reply::Raw(response(
                    200,
                    &[("content-type", "application/json")],
                    &youtube,
                )),
                Some(REMOVED) => Reply::Raw(response(
                    404,
                    &[("content-type", "text/html; charset=utf-8")],
                    b"Not Found",
                )),
                Some(PRIVATE) => Reply::Raw(response(
                    401,
                    &[("content-type", "text/html; charset=utf-8")],
                    b"Unauthorized",
                )),
                _ => violation(format!("YouTube oEmbed about no video here: {path}")),
            };
        }
        if let Some(rest) = path.strip_prefix(&format!("/ytimg/vi/{VIDEO}/")) {
            let jpeg = |status: u16, bytes: Vec<u8>| {
                Reply::Raw(response(status, &[("content-type", "image/jpeg")], &bytes))
            };
            return match rest {
                "maxresdefault.jpg" => jpeg(404, placeholder()),
                "sddefault.jpg" => jpeg(200, placeholder()),
                "hqdefault.jpg" => jpeg(200, jpeg_picture(480, 360, 1)),
                _ => jpeg(404, placeholder()),
            };
        }
        if let Some(rest) = path.strip_prefix("/tt/oembed") {
            let asked = param(rest, "url").unwrap_or_default();
            let ok_form = asked
                .strip_prefix("https://www.tiktok.com/@")
                .and_then(|r| r.split_once("/video/"))
                .is_some_and(|(user, id)| !user.is_empty() && id == TIKTOK);
            if !ok_form {
                return violation(format!("TikTok oEmbed about {asked:?}"));
            }
            let body = if expired {
                tiktok.clone()
            } else {
                tiktok.replace(
                    "x-expires=1722110400",
                    &format!("x-expires={}", now() + 86400),
                )
            };
            return Reply::Raw(response(
                200,
                &[("content-type", "application/json")],
                body.as_bytes(),
            ));
        }
        if let Some(rest) = path.strip_prefix("/ttcdn/obj/") {
            let expires = param(rest, "x-expires")
                .and_then(|e| e.parse::<u64>().ok())
                .unwrap_or(0);
            if expires <= now() {
                return Reply::Raw(response(
                    403,
                    &[("content-type", "text/html")],
                    b"<html><body><h1>Access Denied</h1></body></html>",
                ));
            }
            return Reply::Raw(response(
                200,
                &[("content-type", "image/jpeg")],
                &jpeg_picture(576, 1024, 2),
            ));
        }
        Reply::Raw(response(404, &[], b"not here"))
    });
    super::start_with(handler, super::Options::default(), violations).await
}

/// YouTube's 120×90 grey "no thumbnail" picture.
pub fn placeholder() -> Vec<u8> {
    jpeg(120, 90, &|_, _| 0xCC - 128)
}

/// A real JPEG of `width`×`height`: a grey gradient, darker to the right
/// and down, its tone set by `seed`.
pub fn jpeg_picture(width: u16, height: u16, seed: i16) -> Vec<u8> {
    let (bw, bh) = (i32::from(width.div_ceil(8)), i32::from(height.div_ceil(8)));
    let f = move |bx: i32, by: i32| -> i16 {
        (40 + 20 * seed as i32 + bx * 100 / bw.max(1) - by * 60 / bh.max(1)).clamp(-120, 120) as i16
    };
    jpeg(width, height, &f)
}

/// A baseline greyscale JPEG whose every 8×8 block is one flat tone,
/// `tone(block x, block y)` (-128…127 from mid grey): the standard
/// luminance DC Huffman table, and an AC table holding only end-of-block.
fn jpeg(width: u16, height: u16, tone: &dyn Fn(i32, i32) -> i16) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8];
    let mut segment = |marker: u8, data: &[u8]| {
        out.extend_from_slice(&[0xFF, marker]);
        out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(data);
    };
    let mut dqt = vec![0u8];
    dqt.extend_from_slice(&[8u8; 64]);
    segment(0xDB, &dqt);
    let [hh, hl] = height.to_be_bytes();
    let [wh, wl] = width.to_be_bytes();
    segment(0xC0, &[8, hh, hl, wh, wl, 1, 1, 0x11, 0]);
    const DC_BITS: [u8; 16] = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0];
    let mut dht = vec![0x00];
    dht.extend_from_slice(&DC_BITS);
    dht.extend(0u8..12);
    segment(0xC4, &dht);
    let mut ac = vec![0x10, 1];
    ac.extend_from_slice(&[0; 15]);
    ac.push(0x00);
    segment(0xC4, &ac);
    segment(0xDA, &[1, 1, 0x00, 0, 63, 0]);
    // Canonical codes of the DC table, by category.
    let mut codes = Vec::new();
    let mut code = 0u16;
    for (len, n) in DC_BITS.iter().enumerate() {
        for _ in 0..*n {
            codes.push((code, len as u8 + 1));
            code += 1;
        }
        code <<= 1;
    }
    let mut bits = Bits::default();
    let mut prev = 0i16;
    for by in 0..i32::from(height.div_ceil(8)) {
        for bx in 0..i32::from(width.div_ceil(8)) {
            let dc = tone(bx, by).clamp(-128, 127);
            let diff = dc - prev;
            prev = dc;
            let cat = 16 - diff.unsigned_abs().leading_zeros() as u8;
            let (c, l) = codes[usize::from(cat)];
            bits.put(u32::from(c), l);
            if cat > 0 {
                let v = if diff >= 0 {
                    diff as u32
                } else {
                    (i32::from(diff) + (1 << cat) - 1) as u32
                };
                bits.put(v, cat);
            }
            bits.put(0, 1); // end of block
        }
    }
    out.extend(bits.finish());
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

/// An entropy-coded segment being written: bits MSB first, 0xFF stuffed.
#[derive(Default)]
struct Bits {
    out: Vec<u8>,
    acc: u32,
    n: u8,
}

impl Bits {
    fn put(&mut self, v: u32, len: u8) {
        for i in (0..len).rev() {
            self.acc = (self.acc << 1) | ((v >> i) & 1);
            self.n += 1;
            if self.n == 8 {
                let b = self.acc as u8;
                self.out.push(b);
                if b == 0xFF {
                    self.out.push(0);
                }
                self.acc = 0;
                self.n = 0;
            }
        }
    }

    fn finish(mut self) -> Vec<u8> {
        while self.n != 0 {
            self.put(1, 1);
        }
        self.out
    }
}
