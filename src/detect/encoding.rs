//! Character encodings: find an article's charset (BOM, `<meta charset>`,
//! `http-equiv`), decode it to UTF-8 with encoding_rs, and keep a map back to the
//! original bytes so spans stay exact.
//!
//! UTF-8 input (the common case) is never copied: detection runs on the bytes as
//! read, invalid sequences included.

use super::offsets::OffsetMap;
use crate::embed::Kind;
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};
use std::borrow::Cow;

/// An article as UTF-8 bytes, with the way back to its original bytes.
pub struct Decoded<'a> {
    /// UTF-8 text (possibly with invalid sequences when the input had them).
    pub bytes: Cow<'a, [u8]>,
    /// Maps offsets in `bytes` to offsets in the original input.
    pub map: OffsetMap,
}

/// Finds the encoding: a BOM wins, then (for HTML) a `<meta>` declaration in the
/// first 1024 bytes, else UTF-8. A declared legacy charset on bytes that are valid
/// UTF-8 with non-ASCII content is treated as mislabelled UTF-8 (a re-saved page;
/// real legacy text is practically never valid UTF-8).
pub fn sniff(input: &[u8], kind: Kind) -> (&'static Encoding, usize) {
    if let Some((enc, bom_len)) = Encoding::for_bom(input) {
        return (enc, bom_len);
    }
    if let Some(u) = utf16(input) {
        return (if u.big_endian { UTF_16BE } else { UTF_16LE }, 0);
    }
    if kind != Kind::Html {
        return (UTF_8, 0);
    }
    match meta_charset(&input[..input.len().min(1024)]) {
        Some(enc) if enc != UTF_8 && enc != UTF_16LE && enc != UTF_16BE => {
            let has_non_ascii = input.iter().any(|&b| b >= 0x80);
            if has_non_ascii && std::str::from_utf8(input).is_ok() {
                (UTF_8, 0)
            } else {
                (enc, 0)
            }
        }
        // A page that reached us as bytes and claims UTF-16 without a BOM is
        // ASCII-compatible in practice (the HTML standard says the same).
        _ => (UTF_8, 0),
    }
}

/// A text in UTF-16: its byte order and the length of its byte-order mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf16 {
    /// Big-endian (else little-endian).
    pub big_endian: bool,
    /// The byte-order mark's length: 2, or 0 without one.
    pub bom: usize,
}

impl Utf16 {
    /// Decodes the first 8 KiB (after the mark), unpaired surrogates as U+FFFD.
    pub fn head(self, input: &[u8]) -> String {
        let head = input
            .get(self.bom..input.len().min(8192))
            .unwrap_or_default();
        let units = head.chunks_exact(2).map(|c| {
            if self.big_endian {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from_le_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect()
    }
}

/// Whether `input` is UTF-16: with a byte-order mark, or without one
/// ([`utf16_without_bom`]). The one test of it, for detection and scanning.
pub fn utf16(input: &[u8]) -> Option<Utf16> {
    let (encoding, bom) = match Encoding::for_bom(input) {
        Some((encoding, bom)) => (encoding, bom),
        None => (utf16_without_bom(input)?, 0),
    };
    (encoding != UTF_8).then_some(Utf16 {
        big_endian: encoding == UTF_16BE,
        bom,
    })
}

/// UTF-16 without a byte-order mark, recognised by its ASCII characters: in
/// the first 8 KiB (at least 8 bytes), at least 40% of the code units are
/// ASCII with their zero byte on one side (odd offsets for little-endian, even
/// for big-endian) and at most 5% have a zero byte on the other side. Text in
/// any 8-bit charset or UTF-8 has no such pattern of NULs.
pub fn utf16_without_bom(input: &[u8]) -> Option<&'static Encoding> {
    let sample = &input[..input.len().min(8192) & !1];
    if sample.len() < 8 {
        return None;
    }
    let units = sample.len() / 2;
    let (mut le, mut be, mut zero_even, mut zero_odd) = (0usize, 0usize, 0usize, 0usize);
    for c in sample.chunks_exact(2) {
        match (c[0], c[1]) {
            (0, 0) => {
                zero_even += 1;
                zero_odd += 1;
            }
            (b, 0) => {
                zero_odd += 1;
                le += usize::from(b < 0x80);
            }
            (0, b) => {
                zero_even += 1;
                be += usize::from(b < 0x80);
            }
            _ => {}
        }
    }
    if le * 10 >= units * 4 && zero_even * 20 <= units {
        Some(UTF_16LE)
    } else if be * 10 >= units * 4 && zero_odd * 20 <= units {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// Looks for `<meta charset=…>` or `<meta http-equiv=Content-Type content="…charset=…">`.
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = memchr::memmem::find(&lower[from..], b"<meta") {
        let start = from + i;
        let end = memchr::memchr(b'>', &lower[start..]).map_or(lower.len(), |e| start + e);
        let tag = &lower[start..end];
        if let Some(c) = memchr::memmem::find(tag, b"charset") {
            let rest = &tag[c + 7..];
            let rest = rest.trim_ascii_start();
            if let Some(rest) = rest.strip_prefix(b"=") {
                let rest = rest.trim_ascii_start();
                let rest = rest
                    .strip_prefix(b"\"")
                    .or_else(|| rest.strip_prefix(b"'"))
                    .unwrap_or(rest);
                let label_end = rest
                    .iter()
                    .position(|&b| {
                        b == b'"' || b == b'\'' || b == b';' || b == b'/' || b.is_ascii_whitespace()
                    })
                    .unwrap_or(rest.len());
                if let Some(enc) = Encoding::for_label(&rest[..label_end]) {
                    return Some(enc);
                }
            }
        }
        from = end.max(start + 5);
    }
    None
}

/// Decodes `input` to UTF-8 for detection.
pub fn decode(input: &[u8], kind: Kind) -> Decoded<'_> {
    let (encoding, bom) = sniff(input, kind);
    if encoding == UTF_8 {
        let mut map = OffsetMap::new();
        if bom == 0 {
            return Decoded {
                bytes: Cow::Borrowed(input),
                map: OffsetMap::identity(),
            };
        }
        map.push(0, input.len() - bom, bom, input.len() - bom);
        return Decoded {
            bytes: Cow::Borrowed(&input[bom..]),
            map,
        };
    }
    let (bytes, map) = transcode(input, bom, encoding);
    Decoded {
        bytes: Cow::Owned(bytes),
        map,
    }
}

/// Decodes a legacy or UTF-16 document, recording where each character came from.
/// ASCII runs of ASCII-compatible encodings are copied in bulk; everything else
/// goes through the decoder one byte at a time so each character's source bytes
/// are known exactly.
fn transcode(input: &[u8], bom: usize, encoding: &'static Encoding) -> (Vec<u8>, OffsetMap) {
    let ascii_compatible = encoding.is_ascii_compatible() && encoding != encoding_rs::ISO_2022_JP;
    // Encodings where an ASCII character is one byte (all but UTF-16).
    let byte_per_ascii = encoding != UTF_16LE && encoding != UTF_16BE;
    let mut decoder = encoding.new_decoder_without_bom_handling();
    let mut out: Vec<u8> = Vec::with_capacity(input.len() + input.len() / 2);
    // One byte is fed at a time, decoded into this and then appended:
    // `decode_to_string` would zero the whole spare capacity of `out` on
    // every call, quadratic on a large article.
    let mut scratch = vec![0u8; 64];
    let mut feed =
        |decoder: &mut encoding_rs::Decoder, src: &[u8], last: bool, out: &mut Vec<u8>| {
            let needed = decoder.max_utf8_buffer_length(src.len()).unwrap_or(64);
            if scratch.len() < needed {
                scratch.resize(needed, 0);
            }
            let (_, _, written, _) = decoder.decode_to_utf8(src, &mut scratch, last);
            out.extend_from_slice(&scratch[..written]);
        };
    let mut map = OffsetMap::new();
    let mut i = bom;
    let mut char_start = bom;
    let mut pending = false;
    while i < input.len() {
        if ascii_compatible && !pending {
            let run = input[i..]
                .iter()
                .position(|&b| b >= 0x80)
                .unwrap_or(input.len() - i);
            if run > 0 {
                // Safe: the run is ASCII.
                out.extend_from_slice(&input[i..i + run]);
                map.push(out.len() - run, run, i, run);
                i += run;
                char_start = i;
                continue;
            }
        }
        let before = out.len();
        feed(&mut decoder, &input[i..i + 1], false, &mut out);
        i += 1;
        if out.len() > before {
            // A decoder may emit several characters at once (U+FFFD for a
            // stray lead byte, then the ASCII byte that ended it) or swallow an
            // escape sequence before one: an ASCII character that is the byte
            // just fed maps to that byte alone.
            let fed = input[i - 1];
            let last_is_fed = byte_per_ascii && fed < 0x80 && out.last() == Some(&fed);
            if last_is_fed && (out.len() - before > 1 || i - char_start > 1) {
                if out.len() - before > 1 {
                    map.push(
                        before,
                        out.len() - before - 1,
                        char_start,
                        i - 1 - char_start,
                    );
                }
                map.push(out.len() - 1, 1, i - 1, 1);
            } else {
                map.push(before, out.len() - before, char_start, i - char_start);
            }
            char_start = i;
            pending = false;
        } else {
            pending = true;
        }
    }
    let before = out.len();
    feed(&mut decoder, &[], true, &mut out);
    if out.len() > before {
        map.push(
            before,
            out.len() - before,
            char_start,
            input.len() - char_start,
        );
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_borrowed() {
        let d = decode(b"<p>hi</p>", Kind::Html);
        assert!(matches!(d.bytes, Cow::Borrowed(_)));
    }

    #[test]
    fn meta_charset_is_honoured() {
        let src = b"<meta charset=\"windows-1252\"><p>caf\xe9 x</p>";
        assert_eq!(sniff(src, Kind::Html).0.name(), "windows-1252");
        let d = decode(src, Kind::Html);
        let text = std::str::from_utf8(&d.bytes).unwrap();
        let x = text.find(" x").unwrap() + 1;
        assert_eq!(src[d.map.start(x)], b'x');
    }

    #[test]
    fn http_equiv_is_honoured() {
        let src = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=Shift_JIS\">\x82\xa0<a>";
        assert_eq!(sniff(src, Kind::Html).0.name(), "Shift_JIS");
        let d = decode(src, Kind::Html);
        let text = std::str::from_utf8(&d.bytes).unwrap();
        assert!(text.contains('あ'));
        let a = text.find("<a>").unwrap();
        assert_eq!(d.map.start(a), src.len() - 3);
    }

    #[test]
    fn mislabelled_utf8_stays_utf8() {
        let src = "<meta charset=EUC-JP><p>日本</p>".as_bytes();
        assert_eq!(sniff(src, Kind::Html).0, UTF_8);
    }

    #[test]
    fn utf16_without_bom_is_recognised() {
        let text = "<p>Hello, world: a UTF-16 page with no mark, «ça va» ✓</p>\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(utf16_without_bom(&le), Some(UTF_16LE));
        assert_eq!(utf16_without_bom(&be), Some(UTF_16BE));
        assert_eq!(sniff(&le, Kind::Text), (UTF_16LE, 0));
        let bom = |big_endian, bom| Some(Utf16 { big_endian, bom });
        assert_eq!(utf16(&le), bom(false, 0));
        assert_eq!(utf16(&[&[0xFE, 0xFF][..], &be].concat()), bom(true, 2));
        assert_eq!(utf16(&[&[0xFF, 0xFE][..], &le].concat()), bom(false, 2));
        assert_eq!(
            Utf16 {
                big_endian: true,
                bom: 0
            }
            .head(&be),
            text
        );
        assert_eq!(utf16("\u{feff}<p>hi</p>".as_bytes()), None);
        let d = decode(&be, Kind::Html);
        assert_eq!(std::str::from_utf8(&d.bytes).ok(), Some(text));
        for not in [
            text.as_bytes(),
            b"<p>a\x00b</p> plenty of ordinary text around one NUL byte".as_slice(),
            &[0u8; 64],
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        ] {
            assert_eq!(utf16_without_bom(not), None, "{not:?}");
        }
    }

    #[test]
    fn utf16_with_bom_maps_back() {
        let mut src = vec![0xFF, 0xFE];
        for c in "ab<x>".encode_utf16() {
            src.extend_from_slice(&c.to_le_bytes());
        }
        let d = decode(&src, Kind::Html);
        assert_eq!(&*d.bytes, b"ab<x>");
        assert_eq!(d.map.start(2), 6);
        assert_eq!(d.map.end(5), 12);
    }
}
