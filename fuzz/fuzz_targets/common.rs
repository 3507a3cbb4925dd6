//! Shared by the fuzz targets: the kind selector and the span invariants.

use embarc::{Embed, Kind};

/// The `detect` target's body: byte 0 picks the kind ([`kind_of`]), the rest
/// is the article.
#[allow(dead_code)] // used by `detect` only
pub fn run_detect(data: &[u8]) {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    detect_and_check(input, kind_of(selector));
}

/// The document kind chosen by a selector byte (`b % 3`: 0 Html, 1 Markdown, 2 Text).
#[allow(dead_code)] // used by `detect` only
pub fn kind_of(b: u8) -> Kind {
    match b % 3 {
        0 => Kind::Html,
        1 => Kind::Markdown,
        _ => Kind::Text,
    }
}

/// Runs `embarc::detect` and checks every span against `input`:
/// `start <= end <= input.len()`, the byte slice exists, and when the input is
/// valid UTF-8 the span does not cut a character in two.
pub fn detect_and_check(input: &[u8], kind: Kind) -> Vec<Embed> {
    let embeds = embarc::detect(input, kind);
    let utf8 = std::str::from_utf8(input).ok();
    for e in &embeds {
        let s = e.span;
        assert!(
            s.start <= s.end && s.end <= input.len(),
            "span {}..{} out of bounds (input len {}) for {:?}",
            s.start,
            s.end,
            input.len(),
            e
        );
        assert!(
            input.get(s.range()).is_some(),
            "span {}..{} not sliceable",
            s.start,
            s.end
        );
        if let Some(text) = utf8 {
            assert!(
                text.get(s.range()).is_some(),
                "span {}..{} splits a UTF-8 character of a valid UTF-8 input for {:?}",
                s.start,
                s.end,
                e
            );
        }
    }
    embeds
}
