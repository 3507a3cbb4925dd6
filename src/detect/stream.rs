//! The visible-text stream of an article: text nodes with entities decoded and
//! block boundaries turned into newlines, plus the map back to document offsets.
//!
//! Text detectors (bare URLs, shortcodes, flattened posts) run over this stream so
//! one implementation serves HTML, Markdown and plain text alike.

use super::offsets::OffsetMap;

/// Text in reading order with a map back to the document it came from.
#[derive(Default)]
pub struct Stream {
    /// The text (UTF-8 unless the document had invalid sequences).
    pub text: Vec<u8>,
    /// Stream offset → document offset.
    pub map: OffsetMap,
    /// Stream offsets where a cited post's markup ends (a link's `</a>`): a
    /// flattened post's words never reach back past one.
    pub barriers: Vec<usize>,
}

impl Stream {
    /// An empty stream.
    pub fn new() -> Self {
        Stream {
            text: Vec::new(),
            map: OffsetMap::new(),
            barriers: Vec::new(),
        }
    }

    /// Appends document bytes `doc[range]`, decoding HTML character references.
    pub fn push_text(&mut self, doc: &[u8], start: usize, end: usize, decode_entities: bool) {
        let bytes = &doc[start..end];
        if !decode_entities || memchr::memchr(b'&', bytes).is_none() {
            self.push_raw(bytes, start);
            return;
        }
        let mut i = 0;
        let mut run_start = 0;
        while let Some(off) = memchr::memchr(b'&', &bytes[i..]) {
            let amp = i + off;
            match entity_len(&bytes[amp..]) {
                Some(len) => {
                    let ent = &bytes[amp..amp + len];
                    let decoded = std::str::from_utf8(ent)
                        .ok()
                        .map(|s| htmlize::unescape(s).into_owned())
                        .filter(|d| d.as_bytes() != ent);
                    if let Some(d) = decoded {
                        self.push_raw(&bytes[run_start..amp], start + run_start);
                        let at = self.text.len();
                        self.text.extend_from_slice(d.as_bytes());
                        self.map.push(at, d.len(), start + amp, len);
                        run_start = amp + len;
                    }
                    i = amp + len;
                }
                None => i = amp + 1,
            }
        }
        self.push_raw(&bytes[run_start..], start + run_start);
    }

    fn push_raw(&mut self, bytes: &[u8], src: usize) {
        if bytes.is_empty() {
            return;
        }
        let at = self.text.len();
        self.text.extend_from_slice(bytes);
        self.map.push(at, bytes.len(), src, bytes.len());
    }

    /// Appends a synthetic line break (a block boundary at document offset `at`).
    pub fn push_break(&mut self, at: usize, blank_line: bool) {
        let n = if blank_line { 2 } else { 1 };
        let have = self
            .text
            .iter()
            .rev()
            .take(n)
            .take_while(|&&b| b == b'\n')
            .count();
        for _ in have..n {
            let pos = self.text.len();
            self.text.push(b'\n');
            self.map.push(pos, 1, at, 0);
        }
    }
}

/// Length of a character reference at the start of `s` (`&amp;`, `&#8212;`,
/// `&#x2014;`), or `None`.
fn entity_len(s: &[u8]) -> Option<usize> {
    let body = s.get(1..)?;
    let n = if let Some(num) = body.strip_prefix(b"#") {
        let (digits, skip) = match num.first() {
            Some(b'x' | b'X') => (
                num[1..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .take(8)
                    .count(),
                2,
            ),
            _ => (
                num.iter()
                    .take_while(|b| b.is_ascii_digit())
                    .take(8)
                    .count(),
                1,
            ),
        };
        if digits == 0 {
            return None;
        }
        1 + skip + digits
    } else {
        let name = body
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric())
            .take(32)
            .count();
        if name == 0 {
            return None;
        }
        1 + name
    };
    Some(if s.get(n) == Some(&b';') { n + 1 } else { n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_decode_and_map_back() {
        let doc = b"a &mdash; b &amp;c &bogus; &#8212;";
        let mut s = Stream::new();
        s.push_text(doc, 0, doc.len(), true);
        let text = String::from_utf8(s.text.clone()).unwrap();
        assert_eq!(text, "a \u{2014} b &c &bogus; \u{2014}");
        let b = text.find('b').unwrap();
        assert_eq!(doc[s.map.start(b)], b'b');
        let dash_end = text.find('\u{2014}').unwrap() + 3;
        assert_eq!(s.map.end(dash_end), 9);
    }

    #[test]
    fn breaks_do_not_pile_up() {
        let mut s = Stream::new();
        s.push_text(b"x", 0, 1, true);
        s.push_break(1, true);
        s.push_break(1, true);
        s.push_break(1, false);
        assert_eq!(s.text, b"x\n\n");
    }
}
