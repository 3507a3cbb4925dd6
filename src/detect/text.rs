//! Detectors that read the visible-text stream: post URLs and short links in
//! running text, static-site shortcodes, Markdown links, and flattened posts
//! (`words pic.twitter.com/X — Name (@handle) Date`).
//!
//! Each detector is anchored on a rare needle found with memchr/aho-corasick, so
//! text without those needles costs one linear search.

use super::hit::Hit;
use crate::embed::{Form, Kind, Provider, Quote};
use crate::providers::is_x_handle as twitter_handle;
use crate::providers::{self, PROVIDERS, UrlMatch};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex::bytes::Regex;
use std::sync::LazyLock;

static URL_FINDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(AhoCorasickKind::DFA))
        .build(providers::url_needles())
        .unwrap_or_else(|_| unreachable!("static patterns compile"))
});

/// Bytes that may appear inside a URL as written in text. `?`, `=` and `&` are
/// included so that a URL inside another URL's query (a share link) is read as
/// part of the outer one and not reported.
fn url_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#@!$&*+,;=%".contains(&b)
}

/// Runs every text detector over `text`.
/// `barriers` are offsets (ascending) where markup citing a post ends.
pub fn scan(text: &[u8], kind: Kind, hits: &mut Vec<Hit>, barriers: &[usize]) {
    scan_stretch(text, 0, 0, kind, hits, barriers, &mut Carry::default());
}

/// How far back a detector reads from a needle in its stretch: a flattened
/// post's words (twice [`MAX_WORDS`], for the blank lines skipped above an
/// attribution), a Markdown link's brackets, a URL's start.
pub const LOOKBEHIND: usize = 64 * 1024;

/// What the text detectors carry from one stretch of a stream to the next, in
/// stream offsets.
#[derive(Debug, Default)]
pub struct Carry {
    /// Where the last attribution taken ended: the next post's words start after it.
    previous_end: usize,
    /// The last barrier before the stretch.
    barrier: usize,
}

/// Runs every text detector over the stretch `window[from..]` of a stream
/// read piece by piece, finding exactly what one run over the whole stream
/// would find there. `window[0]` is at stream offset `base` and starts a line
/// (or the stream), at least [`LOOKBEHIND`] bytes before `from` (or at the
/// stream's start); `from` starts a line. The stretch ends after a newline
/// with no shortcode open across it ([`shortcode_open`]), or at the stream's end.
/// `barriers` are the stream offsets (ascending) where markup citing a post
/// ended up to the stretch's end; hits get stream offsets.
pub fn scan_stretch(
    window: &[u8],
    base: usize,
    from: usize,
    kind: Kind,
    hits: &mut Vec<Hit>,
    barriers: &[usize],
    carry: &mut Carry,
) {
    let first = hits.len();
    urls(window, from, kind, hits);
    shortcodes(window, from, hits);
    // Posts cited in the text itself are barriers too. Barriers before the
    // stretch matter only through the last of them.
    // (Offsets before `base` are read as `base`: no word reaches back there.)
    let mut all: Vec<usize> = Vec::with_capacity(barriers.len() + 1);
    all.push(carry.barrier.saturating_sub(base));
    all.extend(barriers.iter().map(|b| b.saturating_sub(base)));
    all.extend(
        hits[first..]
            .iter()
            .filter(|h| h.post.is_some())
            .map(|h| h.end),
    );
    all.sort_unstable();
    let carried = carry.previous_end.saturating_sub(base);
    let mut previous_end = carried;
    flattened(window, from, hits, &all, &mut previous_end);
    if previous_end != carried {
        carry.previous_end = base + previous_end;
    }
    let last = barriers.iter().copied().chain(
        hits[first..]
            .iter()
            .filter(|h| h.post.is_some())
            .map(|h| base + h.end),
    );
    carry.barrier = last.fold(carry.barrier, usize::max);
    for h in &mut hits[first..] {
        h.start += base;
        h.end += base;
    }
}

/// Where a shortcode that may be open across the end of `stretch` (which ends
/// with a newline) starts: its `{{<`/`{%` opener, name and arguments so far,
/// then the whitespace running to the end. A stream is never cut there, so no
/// shortcode is cut in two.
pub fn shortcode_open(stretch: &[u8]) -> Option<usize> {
    static OPEN: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r#"\A(?:\{\{[<%]-?\s*(?:[A-Za-z_]+\s+(?:[^\n{}]{0,400}\s*)?)?|\{%-?\s*(?:[A-Za-z_]+\s+(?:[^\n{}%]{0,400}\s*)?)?)\z"#,
        )
        .unwrap_or_else(|_| unreachable!())
    });
    // After its opener a shortcode has no brace: only the last one can open it.
    let q = memchr::memrchr2(b'{', b'}', stretch)?;
    if stretch[q] == b'}' {
        return None;
    }
    [q.checked_sub(1), Some(q)]
        .into_iter()
        .flatten()
        .find(|&s| OPEN.is_match(&stretch[s..]))
}

fn urls(text: &[u8], from: usize, kind: Kind, hits: &mut Vec<Hit>) {
    let mut consumed = 0;
    for m in URL_FINDER.find_iter(&text[from..]) {
        let (m_start, m_end) = (from + m.start(), from + m.end());
        if m_start < consumed {
            continue;
        }
        let mut l = m_start;
        let floor = m_start.saturating_sub(2048);
        while l > floor && url_byte(text[l - 1]) {
            l -= 1;
        }
        let mut r = m_start;
        let ceil = (m_start + 4096).min(text.len());
        while r < ceil && url_byte(text[r]) {
            r += 1;
        }
        while r > l && b".,;:!?'\"*".contains(&text[r - 1]) {
            r -= 1;
        }
        consumed = r.max(m_end);
        let Ok(candidate) = std::str::from_utf8(&text[l..r]) else {
            continue;
        };
        let Some(found) = providers::classify_url(candidate) else {
            continue;
        };
        let (mut start, mut end) = (l, r);
        let mut form = Form::Link;
        if kind == Kind::Markdown {
            if let Some((s, e)) = markdown_link(text, l, r) {
                (start, end) = (s, e);
            } else if alone_on_line(text, l, r) {
                form = Form::Shortcode;
            }
        }
        hits.push(match found {
            UrlMatch::Post(p, post) => Hit::post(p, form, start, end, post),
            UrlMatch::ShortLink(s) => Hit::short_link(start, end, s),
        });
    }
}

/// `[text](url)` or `[text](<url> "title")` around `text[l..r]`: the whole
/// link, brackets matched so `[![alt](img)](url)` and `[a [b] c](url)` work.
fn markdown_link(text: &[u8], l: usize, r: usize) -> Option<(usize, usize)> {
    let before = &text[..l];
    let open = before
        .strip_suffix(b"](")
        .or_else(|| before.strip_suffix(b"](<"))?;
    let close = memchr::memchr(b')', &text[r..(r + 300).min(text.len())])? + r + 1;
    if text[r..close].contains(&b'\n') {
        return None;
    }
    // `open.len()` is the index of the `]`; walk back to its `[`.
    let floor = open.len().saturating_sub(1000);
    let mut depth = 0usize;
    let mut i = open.len();
    let bracket = loop {
        if i == floor {
            return None;
        }
        i -= 1;
        match text[i] {
            b']' => depth += 1,
            b'[' if depth == 0 => break i,
            b'[' => depth -= 1,
            b'\n' if i > 0 && text[i - 1] == b'\n' => return None,
            _ => {}
        }
    };
    // `![alt](…)` is an image; keep the `!` with it.
    let start = if bracket > 0 && text[bracket - 1] == b'!' {
        bracket - 1
    } else {
        bracket
    };
    Some((start, close))
}

fn alone_on_line(text: &[u8], l: usize, r: usize) -> bool {
    // Look a short way only: a URL far from both line ends is not alone.
    const NEAR: usize = 256;
    let floor = l.saturating_sub(NEAR);
    let line_start = match memchr::memrchr(b'\n', &text[floor..l]) {
        Some(i) => floor + i + 1,
        None if floor == 0 => 0,
        None => return false,
    };
    let ceil = (r + NEAR).min(text.len());
    let line_end = match memchr::memchr(b'\n', &text[r..ceil]) {
        Some(i) => r + i,
        None if ceil == text.len() => ceil,
        None => return false,
    };
    let blank = |s: &[u8]| {
        s.iter()
            .all(|b| b.is_ascii_whitespace() || *b == b'<' || *b == b'>')
    };
    blank(&text[line_start..l]) && blank(&text[r..line_end])
}

static SHORTCODE: LazyLock<Regex> = LazyLock::new(|| {
    // Hugo `{{< name args >}}` / `{{% name args %}}`, Liquid/Nunjucks `{% name args %}`.
    Regex::new(r#"\{\{[<%]-?\s*([A-Za-z_]+)\s+([^\n{}]{0,400}?)\s*-?[>%]\}\}|\{%-?\s*([A-Za-z_]+)\s+([^\n{}%]{0,400}?)\s*-?%\}"#)
        .unwrap_or_else(|_| unreachable!())
});

static SC_ARG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:([A-Za-z_]+)\s*=\s*)?(?:"([^"]*)"|'([^']*)'|([^\s"']+))"#)
        .unwrap_or_else(|_| unreachable!())
});

fn shortcodes(window: &[u8], from: usize, hits: &mut Vec<Hit>) {
    let text = &window[from..];
    if memchr::memmem::find(text, b"{{").is_none() && memchr::memmem::find(text, b"{%").is_none() {
        return;
    }
    let first = hits.len();
    for c in SHORTCODE.captures_iter(text) {
        let (Some(name), Some(args)) = (c.get(1).or(c.get(3)), c.get(2).or(c.get(4))) else {
            continue;
        };
        let name = String::from_utf8_lossy(name.as_bytes()).to_ascii_lowercase();
        let Some(spec) = PROVIDERS
            .iter()
            .find(|s| s.shortcodes.contains(&name.as_str()))
        else {
            continue;
        };
        let mut user = None;
        let mut id = None;
        let mut url = None;
        for a in SC_ARG.captures_iter(args.as_bytes()) {
            let key = a
                .get(1)
                .map(|k| String::from_utf8_lossy(k.as_bytes()).to_ascii_lowercase());
            let Some(v) = a.get(2).or(a.get(3)).or(a.get(4)) else {
                continue;
            };
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            match key.as_deref() {
                Some("user" | "username" | "handle") => user = Some(v),
                Some("id" | "tweet" | "status") => id = Some(v),
                Some("url" | "href" | "link") => url = Some(v),
                Some(_) => {}
                None if v.contains('/') || v.contains('.') => url = url.or(Some(v)),
                None if v.bytes().all(|b| b.is_ascii_digit()) => id = id.or(Some(v)),
                None => {
                    if id.is_none() && spec.provider != Provider::Twitter {
                        id = Some(v);
                    } else {
                        user = user.or(Some(v));
                    }
                }
            }
        }
        let post = url
            .as_deref()
            .and_then(|u| match providers::classify_url(u) {
                Some(UrlMatch::Post(p, post)) if p == spec.provider => Some(post),
                _ => None,
            })
            .or_else(|| {
                let mut post = (spec.from_id)(id.as_deref()?)?;
                if spec.provider == Provider::Twitter
                    && let Some(u) = user.as_deref()
                    && let Some(UrlMatch::Post(_, p)) = providers::classify_url(&format!(
                        "https://twitter.com/{u}/status/{}",
                        post.id
                    ))
                {
                    post = p;
                }
                Some(post)
            });
        if let (Some(post), Some(m)) = (post, c.get(0)) {
            hits.push(Hit::post(
                spec.provider,
                Form::Shortcode,
                m.start(),
                m.end(),
                post,
            ));
        }
    }
    for h in &mut hits[first..] {
        h.start += from;
        h.end += from;
    }
}

/// The attribution line of a flattened post: `— Name (@handle) Date` at the end of
/// a line. Groups: dash, name, handle, date.
static ATTRIBUTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?m)(?:^|[\s>])(—|―|–|&mdash;|&#8212;|--|-)[ \t\u{a0}]*([^—–―\n]{1,100}?)[ \t\u{a0}]*\(@([A-Za-z0-9_][A-Za-z0-9_.\-]{0,252})\)[ \t\u{a0}]*([^\n]{1,80}?)[ \t\u{a0}\r]*$",
    )
    .unwrap_or_else(|_| unreachable!())
});

/// A parsed attribution line.
pub struct Attribution {
    /// Where the dash starts.
    pub dash: usize,
    /// Where the date ends.
    pub end: usize,
    /// Display name.
    pub author: String,
    /// Handle without `@`.
    pub handle: String,
    /// Date as written.
    pub date: String,
}

/// Finds attribution lines in `text` (any handle syntax; callers check it).
pub fn attributions(text: &[u8]) -> Vec<Attribution> {
    attributions_from(text, 0).collect()
}

/// Attribution lines whose `(@` is at or after `from`, a line start, one at a
/// time (a page of them is never held as a list).
fn attributions_from(text: &[u8], from: usize) -> impl Iterator<Item = Attribution> + '_ {
    let mut from = from;
    std::iter::from_fn(move || {
        while let Some(i) = memchr::memmem::find(&text[from..], b"(@") {
            let at = from + i;
            let line_start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
            let line_end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p);
            from = line_end.max(at + 2);
            // Long lines are prose or minified markup, not an attribution.
            let window_start = line_start.max(at.saturating_sub(600));
            let line = &text[window_start..line_end];
            let Some(c) = ATTRIBUTION.captures_iter(line).last() else {
                continue;
            };
            let (Some(dash), Some(name), Some(handle), Some(date)) =
                (c.get(1), c.get(2), c.get(3), c.get(4))
            else {
                continue;
            };
            let date_s = String::from_utf8_lossy(date.as_bytes()).trim().to_string();
            let hyphen = matches!(dash.as_bytes(), b"-" | b"--");
            if !plausible_date(&date_s, hyphen) {
                continue;
            }
            let mut name_bytes = name.as_bytes();
            let mut dash_at = window_start + dash.start();
            // A hyphen dash may have matched inside the post's words: keep the last
            // ` - ` segment as the name (offsets in bytes, so the dash stays exact).
            // After a real em dash, a ` - ` belongs to the name ("PM - Official").
            if hyphen && let Some(p) = memchr::memmem::rfind(name_bytes, b" - ") {
                dash_at = window_start + name.start() + p + 1;
                name_bytes = &name_bytes[p + 3..];
            }
            let author = String::from_utf8_lossy(name_bytes).trim().to_string();
            return Some(Attribution {
                dash: dash_at,
                end: window_start + date.end(),
                author,
                handle: String::from_utf8_lossy(handle.as_bytes()).into_owned(),
                date: date_s,
            });
        }
        None
    })
}

/// A date as written, in any language: short, no link, and with a year (four
/// digits in any script; 2006 or later in ASCII). After a mere hyphen, which
/// prose uses too, an ASCII date must also read like one (`June 20, 2024`,
/// `20 June 2024`).
fn plausible_date(s: &str, hyphen: bool) -> bool {
    let chars = s.chars().count();
    if !(4..=60).contains(&chars) || s.contains("http") || s.contains("://") || s.contains('(') {
        return false;
    }
    let has_year = YEAR
        .captures_iter(s.as_bytes())
        .filter_map(|c| c.get(1))
        .any(|m| {
            let y = String::from_utf8_lossy(m.as_bytes());
            match y.parse::<u32>() {
                Ok(v) => (2006..=2100).contains(&v),
                Err(_) => true, // digits of another script
            }
        });
    has_year && (!hyphen || !s.is_ascii() || ENGLISH_DATE.is_match(s.as_bytes()))
}

static YEAR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^\p{Nd}])(\p{Nd}{4})(?:$|[^\p{Nd}])").unwrap_or_else(|_| unreachable!())
});

static ENGLISH_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:[A-Za-z]{3,9}\.? \d{1,2},? \d{4}|\d{1,2} [A-Za-z]{3,9}\.? \d{4})$")
        .unwrap_or_else(|_| unreachable!())
});

/// A line's content without Markdown blockquote markers and surrounding space.
fn content(line: &[u8]) -> &[u8] {
    let mut l = line.trim_ascii();
    while let Some(rest) = l.strip_prefix(b">") {
        l = rest.trim_ascii_start();
    }
    l
}

/// The longest stretch of words taken for one flattened post (a long post is
/// 4,000 characters; its words are rarely more than this many bytes).
const MAX_WORDS: usize = 16 * 1024;

/// Start of the line before the one starting at `pos`, looking no further
/// back than `floor`.
fn prev_line_start(text: &[u8], pos: usize, floor: usize) -> usize {
    let upto = pos.saturating_sub(1).max(floor);
    memchr::memrchr(b'\n', &text[floor..upto]).map_or(floor, |p| floor + p + 1)
}

/// Flattened posts whose attribution is at or after `from`; `previous_end` is
/// where the last attribution taken ended (a post's words never reach back
/// past it).
fn flattened(
    text: &[u8],
    from: usize,
    hits: &mut Vec<Hit>,
    barriers: &[usize],
    previous_end: &mut usize,
) {
    for a in attributions_from(text, from) {
        if !twitter_handle(&a.handle) || a.dash < *previous_end {
            continue;
        }
        let cited = barriers.partition_point(|&b| b <= a.dash);
        let barrier = (*previous_end).max(cited.checked_sub(1).map_or(0, |i| barriers[i]));
        *previous_end = a.end;
        let line_start = memchr::memrchr(b'\n', &text[..a.dash]).map_or(0, |p| p + 1);
        let before_on_line = content(&text[line_start..a.dash]);
        // The post's words: the paragraph that ends at the dash, or, when the
        // attribution has a line of its own, the paragraph above it. Never more
        // than MAX_WORDS bytes back, so the work per attribution is bounded.
        let own_line = before_on_line.is_empty();
        let mut end = if own_line { line_start } else { a.dash };
        if own_line {
            // Skip blank lines above the attribution.
            let floor = end.saturating_sub(MAX_WORDS).max(barrier);
            while end > floor {
                let prev = prev_line_start(text, end, floor);
                if !content(&text[prev..end]).is_empty() {
                    break;
                }
                end = prev;
            }
        }
        let floor = end.saturating_sub(MAX_WORDS).max(barrier);
        let mut start = if own_line { end } else { line_start.max(floor) };
        let mut lines = 0;
        while start > floor && lines < 40 {
            let prev = prev_line_start(text, start, floor);
            if content(&text[prev..start]).is_empty() {
                break;
            }
            start = prev;
            lines += 1;
        }
        // Start on a character boundary.
        while start < end && (text[start] & 0xC0) == 0x80 {
            start += 1;
        }
        let words: Vec<String> = text[start.min(end)..end]
            .split(|&b| b == b'\n')
            .map(|l| String::from_utf8_lossy(content(l)).into_owned())
            .collect();
        let words = words.join("\n").trim().to_string();
        // Skip leading whitespace so the span starts at the first word.
        while start < end && text[start].is_ascii_whitespace() {
            start += 1;
        }
        let span_start = if words.is_empty() {
            a.dash
        } else {
            start.min(a.dash)
        };
        let short_link = last_short_link(&words);
        hits.push(Hit {
            provider: Provider::Twitter,
            form: Form::PlainText,
            start: span_start,
            end: a.end,
            post: None,
            short_link,
            quote: Some(Box::new(Quote {
                text: (!words.is_empty()).then_some(words),
                author: (!a.author.is_empty()).then_some(a.author),
                handle: Some(a.handle),
                date: Some(a.date),
            })),
            container: false,
            weak: false,
            reference: false,
        });
    }
}

static SHORT_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(pic\.twitter\.com|pic\.x\.com|t\.co)/([A-Za-z0-9]{1,32})\b")
        .unwrap_or_else(|_| unreachable!())
});

/// The lead to a flattened post: its last `pic.twitter.com`/`pic.x.com` link, or
/// failing that its last `t.co` link.
fn last_short_link(words: &str) -> Option<String> {
    let mut pic = None;
    let mut tco = None;
    for c in SHORT_LINK.captures_iter(words.as_bytes()) {
        let Some(UrlMatch::ShortLink(s)) = c
            .get(0)
            .and_then(|m| std::str::from_utf8(m.as_bytes()).ok())
            .and_then(providers::classify_url)
        else {
            continue;
        };
        if s.starts_with("t.co/") {
            tco = Some(s);
        } else {
            pic = Some(s);
        }
    }
    pic.or(tco)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str, kind: Kind) -> Vec<Hit> {
        let mut hits = Vec::new();
        scan(text.as_bytes(), kind, &mut hits, &[]);
        hits
    }

    #[test]
    fn flattened_post_on_one_line() {
        let t = "Intro.\n\nOwl bet you'll lose this staring contest 🦉 pic.twitter.com/eJh4f2zncC — San Diego Zoo Wildlife Alliance (@sandiegozoo) October 26, 2021\n\nMore.";
        let hits: Vec<Hit> = run(t, Kind::Text)
            .into_iter()
            .filter(|h| h.form == Form::PlainText)
            .collect();
        assert_eq!(hits.len(), 1);
        let h = &hits[0];
        assert_eq!(h.short_link.as_deref(), Some("pic.twitter.com/eJh4f2zncC"));
        let q = h.quote.as_ref().unwrap();
        assert_eq!(q.handle.as_deref(), Some("sandiegozoo"));
        assert_eq!(q.author.as_deref(), Some("San Diego Zoo Wildlife Alliance"));
        assert_eq!(q.date.as_deref(), Some("October 26, 2021"));
        assert!(q.text.as_deref().unwrap().starts_with("Owl bet"));
        assert!(t[h.start..h.end].starts_with("Owl bet") && t[h.start..h.end].ends_with("2021"));
    }

    #[test]
    fn flattened_post_with_attribution_below() {
        let t = "यह ट्वीट है pic.twitter.com/AbCdEf1234\n\n— नाम (@handle_1) 20 जून 2024\n";
        let hits: Vec<Hit> = run(t, Kind::Text)
            .into_iter()
            .filter(|h| h.form == Form::PlainText)
            .collect();
        assert_eq!(hits.len(), 1);
        let q = hits[0].quote.as_ref().unwrap();
        assert_eq!(q.date.as_deref(), Some("20 जून 2024"));
        assert_eq!(q.author.as_deref(), Some("नाम"));
        assert_eq!(
            q.text.as_deref(),
            Some("यह ट्वीट है pic.twitter.com/AbCdEf1234")
        );
    }

    #[test]
    fn prose_mentions_are_not_posts() {
        for t in [
            "Follow me (@someone) for more.",
            "The site x.com is popular.",
            "— A dash (@handle) and then a long sentence that goes on without any date at all",
            "- Jane Doe (@janedoe) keynote at 10:00",
            "The author - Jane Smith (@jsmith) 3 min read",
            "- Jane Doe (@janedoe) 12 talks",
            "- Jane Doe (@janedoe) talk of 2024 spring",
            "— Jane Doe (@janedoe) 1999",
        ] {
            assert!(run(t, Kind::Text).is_empty(), "{t}");
        }
    }

    #[test]
    fn an_em_dash_keeps_a_hyphenated_name_whole() {
        let t = "Words here\n— UK Prime Minister - Official (@10DowningStreet) July 5, 2024\n";
        let a = attributions(t.as_bytes());
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].author, "UK Prime Minister - Official");
        let t = "Great game - go team - Jack Smith (@jsmith) June 3, 2020\n";
        let a = attributions(t.as_bytes());
        assert_eq!(a[0].author, "Jack Smith");
        assert_eq!(&t[a[0].dash..a[0].dash + 2], "- ");
    }

    #[test]
    fn localized_dates_have_years() {
        for d in [
            "June 20, 2024",
            "20 जून 2024",
            "2024年6月20日",
            "٢٠ يونيو ٢٠٢٤",
            "20. Juni 2024",
        ] {
            assert!(plausible_date(d, false), "{d}");
        }
        assert!(plausible_date("June 20, 2024", true));
        assert!(!plausible_date("at 10:00 in 2024 room", true));
    }

    #[test]
    fn markdown_link_span_covers_the_link() {
        let t = "See [this post](https://bsky.app/profile/a.bsky.social/post/3lj45bgmgek2j) now";
        let hits = run(t, Kind::Markdown);
        assert_eq!(hits.len(), 1);
        assert_eq!(
            &t[hits[0].start..hits[0].end],
            "[this post](https://bsky.app/profile/a.bsky.social/post/3lj45bgmgek2j)"
        );
    }

    #[test]
    fn markdown_links_around_images_and_brackets() {
        for (t, want) in [
            (
                "x [![Screenshot](/img/tweet.png)](https://twitter.com/jack/status/20) y",
                "[![Screenshot](/img/tweet.png)](https://twitter.com/jack/status/20)",
            ),
            (
                "x [see [this] tweet](https://twitter.com/jack/status/501) y",
                "[see [this] tweet](https://twitter.com/jack/status/501)",
            ),
        ] {
            let hits = run(t, Kind::Markdown);
            assert_eq!(hits.len(), 1, "{t}");
            assert_eq!(&t[hits[0].start..hits[0].end], want);
        }
    }

    #[test]
    fn bare_url_on_its_own_line_is_an_embed() {
        let hits = run(
            "Intro\n\nhttps://twitter.com/jack/status/20\n\nOutro",
            Kind::Markdown,
        );
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].form, Form::Shortcode);
        let hits = run("As https://twitter.com/jack/status/20 said", Kind::Markdown);
        assert_eq!(hits[0].form, Form::Link);
    }

    #[test]
    fn shortcodes_of_every_generator() {
        for (t, id) in [
            (
                r#"{{< tweet user="SanDiegoZoo" id="1453110110599868418" >}}"#,
                "1453110110599868418",
            ),
            (
                r#"{{< tweet 1453110110599868418 >}}"#,
                "1453110110599868418",
            ),
            (
                r#"{{< x user="SanDiegoZoo" id="1453110110599868418" >}}"#,
                "1453110110599868418",
            ),
            (
                r#"{{% tweet id="1453110110599868418" %}}"#,
                "1453110110599868418",
            ),
            (
                "{% twitter https://twitter.com/rubygems/status/518821243320287232 maxwidth=500 %}",
                "518821243320287232",
            ),
            (
                "{% tweet https://twitter.com/rubygems/status/518821243320287232 %}",
                "518821243320287232",
            ),
            (r#"{% twitter "20" %}"#, "20"),
            ("{{< youtube dQw4w9WgXcQ >}}", "dQw4w9WgXcQ"),
        ] {
            let hits: Vec<Hit> = run(t, Kind::Markdown)
                .into_iter()
                .filter(|h| h.form == Form::Shortcode)
                .collect();
            assert_eq!(hits.len(), 1, "{t}");
            assert_eq!(hits[0].post.as_ref().unwrap().id, id, "{t}");
            assert_eq!(hits[0].form, Form::Shortcode, "{t}");
        }
        let hits = run(
            r#"{{< tweet user="SanDiegoZoo" id="1453110110599868418" >}}"#,
            Kind::Markdown,
        );
        assert_eq!(
            hits[0].post.as_ref().unwrap().handle.as_deref(),
            Some("SanDiegoZoo")
        );
    }

    #[test]
    fn urls_inside_share_links_are_not_posts() {
        let t = "https://twitter.com/intent/tweet?url=https://x.com/a/status/123";
        assert!(run(t, Kind::Text).is_empty());
    }
}
