//! The visible-text stream of an article: text nodes with entities decoded and
//! block boundaries turned into newlines, plus the map back to document offsets.
//!
//! Text detectors (bare URLs, shortcodes, flattened posts) run over this stream so
//! one implementation serves HTML, Markdown and plain text alike. They run on it
//! stretch by stretch while the markup pass fills it, so only a window of it is
//! ever held (the stretch not yet read, and what the detectors read back from
//! it): a page's memory is its own bytes and its findings, not a second copy.

use super::hit::Hit;
use super::offsets::OffsetMap;
use super::text::{self, Carry, LOOKBEHIND};
use crate::embed::Kind;

/// Text not yet read by the detectors before a stretch is cut off for them.
const STRETCH: usize = 1024 * 1024;

/// The visible text in reading order, read by the text detectors as it grows.
pub struct Stream {
    kind: Kind,
    /// The window: stream bytes from `base` on (UTF-8 unless the document had
    /// invalid sequences). `base` starts a line.
    text: Vec<u8>,
    base: usize,
    /// Where the text not yet read by the detectors starts (a line start).
    from: usize,
    /// Unread text that makes a try at cutting a stretch worth it ([`STRETCH`]).
    stretch: usize,
    /// Unread text that makes the next try worth it.
    next_try: usize,
    /// Text to forget that makes moving the window worth it ([`LOOKBEHIND`]).
    slack: usize,
    /// Stream offset → document offset, from the window's start on.
    map: OffsetMap,
    /// Stream offsets (ascending, from `from` on) where a cited post's markup
    /// ends (a link's `</a>`): a flattened post's words never reach back past one.
    barriers: Vec<usize>,
    carry: Carry,
    /// What the detectors found, in document offsets.
    hits: Vec<Hit>,
}

impl Stream {
    /// An empty stream of a document of this kind.
    pub fn new(kind: Kind) -> Self {
        Stream {
            kind,
            text: Vec::new(),
            base: 0,
            from: 0,
            stretch: STRETCH,
            next_try: STRETCH,
            slack: LOOKBEHIND,
            map: OffsetMap::new(),
            barriers: Vec::new(),
            carry: Carry::default(),
            hits: Vec::new(),
        }
    }

    /// The stream's length so far.
    pub fn len(&self) -> usize {
        self.base + self.text.len()
    }

    /// Marks the end of markup citing a post here.
    pub fn barrier(&mut self) {
        self.barriers.push(self.len());
    }

    /// Appends document bytes `doc[range]`, decoding HTML character references.
    pub fn push_text(&mut self, doc: &[u8], start: usize, end: usize, decode_entities: bool) {
        self.push_decoded(doc, start, end, decode_entities);
        if self.len() - self.from >= self.next_try {
            self.try_stretch();
        }
    }

    fn push_decoded(&mut self, doc: &[u8], start: usize, end: usize, decode_entities: bool) {
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
                        let at = self.len();
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
        let at = self.len();
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
            let pos = self.len();
            self.text.push(b'\n');
            self.map.push(pos, 1, at, 0);
        }
    }

    /// Hands the detectors the unread text up to its last newline before
    /// which no shortcode is open; without one, waits for twice as much text
    /// (so a page that never allows a cut costs linear time, not quadratic).
    fn try_stretch(&mut self) {
        let from = self.from - self.base;
        let mut limit = self.text.len();
        while let Some(nl) = memchr::memrchr(b'\n', &self.text[from..limit]) {
            let cut = from + nl + 1;
            match text::shortcode_open(&self.text[from..cut]) {
                Some(open) => limit = from + open,
                None => {
                    self.detect(cut);
                    self.next_try = self.stretch;
                    self.forget();
                    return;
                }
            }
        }
        self.next_try = 2 * (self.len() - self.from);
    }

    /// Runs the detectors over the window's unread text up to `cut`.
    fn detect(&mut self, cut: usize) {
        let upto = self.base + cut;
        let known = self.barriers.partition_point(|&b| b <= upto);
        let first = self.hits.len();
        text::scan_stretch(
            &self.text[..cut],
            self.base,
            self.from - self.base,
            self.kind,
            &mut self.hits,
            &self.barriers[..known],
            &mut self.carry,
        );
        self.barriers.drain(..known);
        for h in &mut self.hits[first..] {
            h.start = self.map.start(h.start);
            h.end = self.map.end(h.end);
        }
        self.from = upto;
    }

    /// Drops the text the detectors will not read again: all but the line
    /// starting at least [`LOOKBEHIND`] bytes before the unread text.
    fn forget(&mut self) {
        let keep = (self.from - self.base).saturating_sub(LOOKBEHIND);
        if keep < self.slack.max(1) {
            return; // not worth moving the window yet
        }
        let Some(nl) = memchr::memrchr(b'\n', &self.text[..keep]) else {
            return;
        };
        self.text.drain(..=nl);
        self.base += nl + 1;
        self.map.forget_before(self.base);
    }

    /// Reads the rest of the stream; every text finding, in document offsets.
    pub fn finish(mut self) -> Vec<Hit> {
        self.detect(self.text.len());
        self.hits
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
        let mut s = Stream::new(Kind::Html);
        s.push_text(doc, 0, doc.len(), true);
        let text = String::from_utf8(s.text.clone()).unwrap();
        assert_eq!(text, "a \u{2014} b &c &bogus; \u{2014}");
        let b = text.find('b').unwrap();
        assert_eq!(doc[s.map.start(b)], b'b');
        let dash_end = text.find('\u{2014}').unwrap() + 3;
        assert_eq!(s.map.end(dash_end), 9);
    }

    /// A text of every kind of finding, with blank lines, long lines, stray
    /// needles and shortcodes written across lines, `n` pieces long.
    fn mixed_text(n: usize) -> Vec<u8> {
        let pieces: &[&str] = &[
            "words pic.twitter.com/AbC123 \u{2014} Name (@handle) June 1, 2024\n",
            "Owl bet you'll lose pic.twitter.com/eJh4f2zncC\n\n\n\u{2014} San Diego Zoo (@sandiegozoo) October 26, 2021\n",
            "see https://twitter.com/a/status/123 and https://t.co/xyz then\n",
            "[a link](https://x.com/b/status/9) and ![i](/p.png)\n",
            "\nhttps://twitter.com/jack/status/20\n\n",
            "{{< tweet user=\"a\" id=\"1453110110599868418\" >}}\n",
            "{{<\n\n  tweet\n   1453110110599868419   \n\n >}}\n",
            "{% twitter https://twitter.com/rubygems/status/518821243320287232 %}\n",
            "stray {{ and {% open and (@nobody) here\n",
            "\n\n",
            "- Jane Doe (@janedoe) keynote at 10:00\n",
            "> quoted words https://t.co/AbCdEfGh12\n> \u{2014} A (@a) May 2, 2022\n",
            "[a link written across\ntwo lines](https://x.com/b/status/10)\n",
            "first line of a post\nsecond with pic.twitter.com/Multi123\nthird line\n\n\u{2014} Multi Line (@multi) June 2, 2024\n",
        ];
        let mut out = Vec::new();
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..n {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let k = (seed % (pieces.len() as u64 + 3)) as usize;
            match pieces.get(k) {
                Some(p) => out.extend_from_slice(p.as_bytes()),
                // A long line of words, a long blank stretch, a long space run
                // inside an open shortcode.
                None if k == pieces.len() => out.extend(b"word ".repeat(600)),
                None if k == pieces.len() + 1 => out.extend(b" \n".repeat(3000)),
                None => {
                    out.extend_from_slice(b"{{< tweet ");
                    out.extend(b"\n ".repeat(5000));
                    out.extend_from_slice(b"1453110110599868420 >}}\n");
                }
            }
        }
        out
    }

    #[test]
    fn stretches_find_what_the_whole_stream_finds() {
        let text = mixed_text(800);
        assert!(text.len() > 8 * LOOKBEHIND);
        let barriers: Vec<usize> = (0..text.len()).step_by(7919).collect();
        for kind in [Kind::Html, Kind::Markdown] {
            let mut whole = Vec::new();
            text::scan(&text, kind, &mut whole, &barriers);
            for stretch in [1, 4096, 100_000] {
                let mut s = Stream::new(kind);
                (s.stretch, s.next_try) = (stretch, stretch);
                // The window moves at every stretch.
                s.slack = 0;
                let mut at = 0;
                let mut next_barrier = barriers.iter().peekable();
                while at < text.len() {
                    // A barrier is marked when the stream reaches it.
                    while next_barrier.next_if(|&&b| b == at).is_some() {
                        s.barrier();
                    }
                    let upto = next_barrier.peek().map_or(text.len(), |&&b| b);
                    let end = (at + [61, 997, 4099][at % 3]).min(upto);
                    s.push_text(&text, at, end, false);
                    at = end;
                }
                assert!(s.base > 0, "the window moved");
                let mut found = s.finish();
                let key = |h: &Hit| (h.start, h.end, format!("{h:?}"));
                found.sort_by_key(key);
                whole.sort_by_key(key);
                assert_eq!(found.len(), whole.len(), "{kind:?} {stretch}");
                for (a, b) in found.iter().zip(&whole) {
                    assert_eq!(format!("{a:?}"), format!("{b:?}"), "{kind:?} {stretch}");
                }
            }
        }
    }

    #[test]
    fn breaks_do_not_pile_up() {
        let mut s = Stream::new(Kind::Html);
        s.push_text(b"x", 0, 1, true);
        s.push_break(1, true);
        s.push_break(1, true);
        s.push_break(1, false);
        assert_eq!(s.text, b"x\n\n");
    }
}
