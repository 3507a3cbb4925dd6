//! detect: article bytes + kind → every embed, with exact byte spans.
//!
//! Pure: no I/O, no global state but compiled patterns. The pipeline is
//! prefilter → decode (charset) → markup pass (HTML and Markdown), with the text
//! detectors reading the visible text as the pass makes it → resolve containers
//! → drop findings nested in other findings → map spans back to the original
//! bytes. Memory is the article and its findings plus a window of the visible
//! text, whatever the markup.
//!
//! Untrusted input must never panic this module or make it super-linear; the
//! fuzz target and property tests hold it to that.

mod encoding;
mod hit;
mod html;
mod offsets;
mod quote;
mod stream;
mod text;
pub mod tokenizer;

use crate::embed::{Embed, Form, Kind, Provider, Span};
use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
pub use encoding::Utf16;
use hit::Hit;
use std::borrow::Cow;
use std::sync::LazyLock;

/// Lowercase needles of which an article with any embed contains at least one.
/// Most articles have none and are skipped after one linear search. Each is a
/// piece every writing of some embed must contain (`twitt` for every Twitter
/// host and class, `x.com` for x.com, fixupx.com, pic.x.com…).
const PREFILTER_NEEDLES: &[&str] = &[
    "twitt", "x.com", "nitter", "xcancel", "t.co/", "tweet", "youtu", "instagr", "tiktok", "bsky",
    "bluesky", "threads.", "facebook", "fb.com", "reddit", "redd.it", "/users/", "at://", "{{<",
    "{{%", "/@", "(@",
];

static PREFILTER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(AhoCorasickKind::DFA))
        .build(PREFILTER_NEEDLES)
        .unwrap_or_else(|_| unreachable!("static patterns compile"))
});

/// The SIMD (Teddy) searcher for the needles of three bytes or more, run over
/// lowercased chunks; `None` where the CPU lacks the instructions.
static PACKED: LazyLock<Option<aho_corasick::packed::Searcher>> = LazyLock::new(|| {
    aho_corasick::packed::Config::new()
        .builder()
        .extend(PREFILTER_NEEDLES.iter().filter(|n| n.len() >= 3))
        .build()
});

/// Where the prefilter's needles occur (for benchmarks that build embed-free
/// inputs from real pages).
#[doc(hidden)]
pub fn prefilter_matches(input: &[u8]) -> Vec<std::ops::Range<usize>> {
    PREFILTER.find_iter(input).map(|m| m.range()).collect()
}

/// Whether `input` may contain an embed; `false` is definitive.
///
/// Markup-free text (no `<`) can only hold an embed as a URL (with a `/`), a
/// flattened post's `(@handle)` or a shortcode (`{`), so there the needles are
/// looked for only around those rare bytes, at close to memchr speed. Markup is
/// searched whole, lowercased chunk by chunk for the SIMD searcher.
pub fn might_contain_embeds(input: &[u8]) -> bool {
    // UTF-16 text hides ASCII needles between NUL bytes: look after decoding.
    if encoding::utf16(input).is_some() {
        return true;
    }
    if memchr::memchr(b'<', input).is_some() {
        return markup_might_contain(input);
    }
    // Every needle of a markup-free embed ends within BEFORE bytes before its
    // trigger byte (the longest host is 20 bytes) or starts within AFTER bytes
    // after it. Windows around nearby triggers are merged, so none is cut short.
    const BEFORE: usize = 64;
    const AFTER: usize = 48;
    let mut window: Option<(usize, usize)> = None;
    for p in memchr::memchr3_iter(b'/', b'@', b'{', input) {
        let (lo, hi) = (p.saturating_sub(BEFORE), (p + AFTER).min(input.len()));
        window = match window {
            Some((wlo, whi)) if lo <= whi => Some((wlo, hi)),
            Some((wlo, whi)) => {
                if PREFILTER.is_match(&input[wlo..whi]) {
                    return true;
                }
                Some((lo, hi))
            }
            None => Some((lo, hi)),
        };
    }
    window.is_some_and(|(lo, hi)| PREFILTER.is_match(&input[lo..hi]))
}

fn markup_might_contain(input: &[u8]) -> bool {
    let Some(packed) = PACKED.as_ref() else {
        return PREFILTER.is_match(input);
    };
    // `/@` and `(@` are too short for the SIMD searcher: check each `@`.
    if memchr::memchr_iter(b'@', input).any(|i| i > 0 && matches!(input[i - 1], b'/' | b'(')) {
        return true;
    }
    const CHUNK: usize = 64 * 1024;
    // Longer than any needle, so none is cut in two between chunks.
    const OVERLAP: usize = 16;
    let mut buf = vec![0u8; CHUNK + OVERLAP];
    let mut start = 0;
    while start < input.len() {
        let lo = start.saturating_sub(OVERLAP);
        let hi = (start + CHUNK).min(input.len());
        let chunk = &mut buf[..hi - lo];
        for (d, s) in chunk.iter_mut().zip(&input[lo..hi]) {
            *d = s.to_ascii_lowercase();
        }
        if packed.find(&*chunk).is_some() {
            return true;
        }
        start = hi;
    }
    false
}

/// The quote an embed blockquote shows (text, author, handle, date), read the
/// way scan reads it; for oEmbed answers, whose `html` is such a blockquote.
pub fn quote_of_blockquote(markup: &[u8]) -> Option<crate::embed::Quote> {
    quote::from_blockquote(markup)
}

/// The charset an article is read in (a BOM, else for HTML a `<meta>`
/// declaration, else UTF-8) and the BOM's length, as detection reads it.
pub fn charset(input: &[u8], kind: Kind) -> (&'static encoding_rs::Encoding, usize) {
    encoding::sniff(input, kind)
}

/// Whether an article is UTF-16, with a byte-order mark or without one
/// (mostly ASCII text with a NUL byte beside each character, which would
/// otherwise look binary): its byte order and mark, as detection reads it.
pub fn utf16(input: &[u8]) -> Option<Utf16> {
    encoding::utf16(input)
}

/// Finds every embed in an article. Spans are byte offsets into `input`.
pub fn detect(input: &[u8], kind: Kind) -> Vec<Embed> {
    detect_each(input, kind, |embed| embed)
}

/// [`detect`], handing each embed in order of position to `each` as it is
/// made and keeping what that returns: a page of many embeds holds one list
/// of them, not the embeds and then the caller's own.
pub fn detect_each<T>(input: &[u8], kind: Kind, each: impl FnMut(Embed) -> T) -> Vec<T> {
    if !might_contain_embeds(input) {
        return Vec::new();
    }
    embeds(input, kind, each)
}

/// [`detect`] without the prefilter, for tests that hold the prefilter to being
/// a superset of what detection finds.
#[doc(hidden)]
pub fn detect_unfiltered(input: &[u8], kind: Kind) -> Vec<Embed> {
    embeds(input, kind, |embed| embed)
}

fn embeds<T>(input: &[u8], kind: Kind, each: impl FnMut(Embed) -> T) -> Vec<T> {
    let decoded = encoding::decode(input, kind);
    if !matches!(decoded.bytes, Cow::Borrowed(_)) && !PREFILTER.is_match(&decoded.bytes) {
        return Vec::new();
    }
    let doc: Cow<'_, [u8]> = if kind == Kind::Markdown {
        mask_markdown_code(&decoded.bytes)
    } else {
        Cow::Borrowed(&decoded.bytes[..])
    };

    let mut hits = match kind {
        Kind::Html | Kind::Markdown => {
            let markup = html::scan(&doc, kind == Kind::Markdown);
            // The markup's findings, then the text's (moved in place: the
            // text's are usually the many).
            let mut hits = markup.text_hits;
            hits.splice(0..0, markup.hits);
            hits
        }
        Kind::Text => {
            let mut hits = Vec::new();
            text::scan(&doc, kind, &mut hits, &[]);
            hits
        }
    };

    resolve(&doc, &mut hits);
    for h in &mut hits {
        (h.start, h.end) = (decoded.map.start(h.start), decoded.map.end(h.end));
    }
    hits.sort_by_key(|h| (h.start, h.end));
    hits.into_iter()
        .map(|h| {
            let short_link = if h.post.is_some() { None } else { h.short_link };
            Embed {
                provider: h.provider,
                form: h.form,
                url: h
                    .post
                    .as_ref()
                    .map(|p| p.url.clone())
                    .or_else(|| short_link.as_ref().map(|s| format!("https://{s}"))),
                id: h.post.map(|p| p.id),
                short_link,
                span: Span {
                    start: h.start,
                    end: h.end,
                },
                quote: h.quote.map(|q| *q),
            }
        })
        .map(each)
        .collect()
}

/// The most of a blockquote its quote is read from (a real one is a few KB;
/// a longer one is cut, as it would be in any reader).
const QUOTE_MAX: usize = 64 * 1024;

/// How close (in bytes) a cited post must be to a short link to claim it.
const NEARBY: usize = 1024;

/// Gives containers their post, reads blockquote quotes, and drops findings that
/// are part of another finding (the status link inside a blockquote, the URL text
/// of a link) or that identify nothing.
fn resolve(doc: &[u8], hits: &mut Vec<Hit>) {
    hits.sort_by(|a, b| {
        a.start
            .cmp(&b.start)
            .then(b.end.cmp(&a.end))
            .then(b.container.cmp(&a.container))
    });
    for i in 0..hits.len() {
        if !hits[i].container {
            continue;
        }
        let (end, provider) = (hits[i].end, hits[i].provider);
        if hits[i].post.is_none() {
            let mut post = None;
            let mut short = None;
            for inner in hits[i + 1..].iter().take_while(|h| h.start < end) {
                if inner.end > end {
                    continue;
                }
                if inner.provider == provider && inner.post.is_some() {
                    post = inner.post.clone();
                } else if inner.form == Form::ShortLink && provider == Provider::Twitter {
                    short = inner.short_link.clone();
                }
            }
            hits[i].short_link = if post.is_none() { short } else { None };
            hits[i].post = post;
        }
    }
    hits.retain(|h| {
        h.post.is_some() || h.short_link.is_some() || h.form == Form::PlainText || h.reference
    });

    // A rendered WordPress figure around a real embed element is just a wrapper.
    let mut drop = vec![false; hits.len()];
    for i in 0..hits.len() {
        if hits[i].weak {
            let end = hits[i].end;
            drop[i] = hits[i + 1..]
                .iter()
                .take_while(|h| h.start < end)
                .any(|h| h.end <= end && h.container && !h.weak);
        }
    }
    // A short link is a lead only where no post is cited next to it (a sidebar
    // tweet's t.co link sits beside that tweet's status or intent links).
    let cited: Vec<usize> = hits
        .iter()
        .filter(|h| h.provider == Provider::Twitter && h.post.is_some())
        .map(|h| h.start)
        .collect();
    for (i, h) in hits.iter().enumerate() {
        if h.form == Form::ShortLink && !h.container {
            // The post it belongs to follows it (its status or intent links).
            let lo = cited.partition_point(|&s| s < h.end);
            drop[i] |= cited.get(lo).is_some_and(|&s| s <= h.end + NEARBY);
        }
    }
    let mut keep = drop.into_iter().map(|d| !d);
    hits.retain(|_| keep.next().unwrap_or(true));

    // Sweep: a finding inside a kept finding is part of it (in place: a
    // second list would double the findings' memory).
    let mut stack: Vec<usize> = Vec::new();
    hits.retain(|h| {
        while stack.last().is_some_and(|&e| e <= h.start) {
            stack.pop();
        }
        if stack.last().is_some_and(|&e| e >= h.end) {
            return false;
        }
        stack.push(h.end);
        !h.reference
    });

    // The article's quote, read only from blockquotes that are reported (nested
    // unclosed ones are not, and must not each cost a parse), and from their
    // first QUOTE_MAX bytes only: an unclosed one runs to the end of the page,
    // whose DOM would take many times its size.
    for h in hits.iter_mut() {
        let start = h.start.min(doc.len());
        let end = h.end.min(doc.len()).min(start.saturating_add(QUOTE_MAX));
        // Meta's embeds hold their caption and author in their own shape.
        let meta = matches!(
            (h.provider, h.form),
            (Provider::Instagram | Provider::Threads, Form::Blockquote)
                | (Provider::Facebook, Form::Widget)
        );
        let read = if meta {
            quote::from_meta_embed(&doc[start..end])
        } else if h.form == Form::Blockquote
            && matches!(h.provider, Provider::Twitter | Provider::Bluesky)
        {
            quote::from_blockquote(&doc[start..end])
        } else {
            None
        };
        if let Some(mut q) = read {
            if q.handle.is_none() {
                q.handle = h.post.as_ref().and_then(|p| p.handle.clone());
            }
            h.quote = Some(Box::new(q));
        }
    }
}

/// Blanks out Markdown code (fenced blocks and inline code spans) with spaces,
/// keeping every offset: an embed shown as code is an example, not an embed.
fn mask_markdown_code(src: &[u8]) -> Cow<'_, [u8]> {
    let indented = memchr::memmem::find(src, b"\n    ").is_some()
        || memchr::memmem::find(src, b"\n\t").is_some();
    if memchr::memchr2(b'`', b'~', src).is_none() && !indented {
        return Cow::Borrowed(src);
    }
    let mut out = src.to_vec();
    let mut fence: Option<(u8, usize)> = None;
    // Indented code: four spaces (or a tab) after a blank line, outside lists.
    let mut prev_blank = true;
    let mut in_indented = false;
    let mut in_list = false;
    let mut pos = 0;
    while pos < src.len() {
        let line_end = memchr::memchr(b'\n', &src[pos..]).map_or(src.len(), |i| pos + i + 1);
        let line = &src[pos..line_end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        let body = &line[indent.min(line.len())..];
        let blank_line = body.trim_ascii().is_empty();
        let run = |c: u8| body.iter().take_while(|&&b| b == c).count();
        match fence {
            Some((c, n)) => {
                let closing = indent < 4 && run(c) >= n && body[run(c)..].trim_ascii().is_empty();
                blank(&mut out[pos..line_end]);
                if closing {
                    fence = None;
                }
            }
            None => {
                let indented = indent >= 4 || line.first() == Some(&b'\t');
                let (c, n) = if run(b'`') >= 3 {
                    (b'`', run(b'`'))
                } else if run(b'~') >= 3 {
                    (b'~', run(b'~'))
                } else {
                    (0, 0)
                };
                if !blank_line && indented && !in_list && (prev_blank || in_indented) {
                    in_indented = true;
                    blank(&mut out[pos..line_end]);
                } else if indent < 4 && n >= 3 {
                    fence = Some((c, n));
                    blank(&mut out[pos..line_end]);
                } else {
                    if !blank_line {
                        in_indented = false;
                        if indent < 4 {
                            in_list = is_list_item(body);
                        }
                    }
                    mask_inline_code(&src[pos..line_end], &mut out[pos..line_end]);
                }
            }
        }
        prev_blank = blank_line;
        pos = line_end;
    }
    Cow::Owned(out)
}

/// `- x`, `* x`, `+ x`, `1. x`, `1) x`.
fn is_list_item(body: &[u8]) -> bool {
    let digits = body.iter().take_while(|b| b.is_ascii_digit()).count();
    let rest = &body[digits..];
    let marker = if digits > 0 {
        rest.first().is_some_and(|&b| b == b'.' || b == b')')
    } else {
        rest.first()
            .is_some_and(|&b| matches!(b, b'-' | b'*' | b'+'))
    };
    marker && rest.get(1).is_none_or(|b| b.is_ascii_whitespace())
}

/// Inline code spans on one line: a run of N backticks up to the next run of
/// exactly N. Runs are indexed first so a line of unmatched runs stays linear.
fn mask_inline_code(line: &[u8], out: &mut [u8]) {
    if memchr::memchr(b'`', line).is_none() {
        return;
    }
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'`', &line[i..]) {
        let at = i + off;
        let n = line[at..].iter().take_while(|&&b| b == b'`').count();
        runs.push((at, n));
        i = at + n;
    }
    // For each run, the index of the next run of the same length.
    let mut next_same = vec![usize::MAX; runs.len()];
    let mut last_of_len: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (k, &(_, n)) in runs.iter().enumerate().rev() {
        if let Some(&j) = last_of_len.get(&n) {
            next_same[k] = j;
        }
        last_of_len.insert(n, k);
    }
    let mut k = 0;
    while k < runs.len() {
        let (open, n) = runs[k];
        match next_same[k] {
            usize::MAX => k += 1,
            j => {
                let (close, _) = runs[j];
                blank(&mut out[open..close + n]);
                k = j + 1;
            }
        }
    }
}

fn blank(bytes: &mut [u8]) {
    for b in bytes {
        if *b != b'\n' {
            *b = b' ';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(src: &str, kind: Kind) -> Vec<(Provider, Form, Option<String>)> {
        detect(src.as_bytes(), kind)
            .into_iter()
            .map(|e| (e.provider, e.form, e.id.or(e.short_link)))
            .collect()
    }

    fn one(p: Provider, f: Form, id: &str) -> Vec<(Provider, Form, Option<String>)> {
        vec![(p, f, Some(id.to_string()))]
    }

    #[test]
    fn blockquote_takes_its_last_status_link() {
        let src = r#"<p>x</p><blockquote class="twitter-tweet"><p>see https://twitter.com/other/status/1 <a href="https://t.co/abc">pic.twitter.com/abc</a></p>&mdash; N (@h) <a href="https://twitter.com/h/status/22?ref_src=twsrc%5Etfw">June 1, 2020</a></blockquote><script async src="https://platform.twitter.com/widgets.js"></script>"#;
        let found = detect(src.as_bytes(), Kind::Html);
        assert_eq!(found.len(), 1);
        let e = &found[0];
        assert_eq!((e.form, e.id.as_deref()), (Form::Blockquote, Some("22")));
        assert!(
            src[e.span.range()].starts_with("<blockquote")
                && src[e.span.range()].ends_with("</blockquote>")
        );
        assert_eq!(e.quote.as_ref().unwrap().handle.as_deref(), Some("h"));
    }

    #[test]
    fn markup_forms() {
        use Form::*;
        use Provider::*;
        let cases: &[(&str, Provider, Form, &str)] = &[
            (
                r#"<blockquote class="twitter-video" data-lang="en"><a href="https://twitter.com/u/status/5"></a></blockquote>"#,
                Twitter,
                Blockquote,
                "5",
            ),
            (
                r#"<iframe id="twitter-widget-0" data-tweet-id="7" src="https://platform.twitter.com/embed/Tweet.html?id=7"></iframe>"#,
                Twitter,
                Iframe,
                "7",
            ),
            (
                r#"<twitterwidget class="twitter-tweet twitter-tweet-rendered" data-tweet-id="8"></twitterwidget>"#,
                Twitter,
                Iframe,
                "8",
            ),
            (
                r#"<div class="twitter-tweet twitter-tweet-rendered" data-tweet-id="9"><p>hi</p></div>"#,
                Twitter,
                Widget,
                "9",
            ),
            (
                r#"<iframe src="https://platform.twitter.com/embed/Tweet.html?dnt=true&amp;id=10&amp;lang=en"></iframe>"#,
                Twitter,
                Iframe,
                "10",
            ),
            (
                r#"<amp-twitter width="375" height="472" layout="responsive" data-tweetid="885634330868850689"><blockquote placeholder class="twitter-tweet"></blockquote></amp-twitter>"#,
                Twitter,
                Amp,
                "885634330868850689",
            ),
            (
                r#"<bento-twitter data-tweetid="11"></bento-twitter>"#,
                Twitter,
                Amp,
                "11",
            ),
            (
                "<!-- wp:embed {\"url\":\"https://twitter.com/alleyco/status/1679189879086018562\",\"type\":\"rich\",\"providerNameSlug\":\"twitter\"} -->\n<figure class=\"wp-block-embed is-type-rich is-provider-twitter wp-block-embed-twitter\"><div class=\"wp-block-embed__wrapper\">\nhttps://twitter.com/alleyco/status/1679189879086018562\n</div></figure>\n<!-- /wp:embed -->",
                Twitter,
                Wordpress,
                "1679189879086018562",
            ),
            (
                "<figure class=\"wp-block-embed is-provider-x wp-block-embed-x\"><div class=\"wp-block-embed__wrapper\">\nhttps://x.com/alleyco/status/12\n</div></figure>",
                Twitter,
                Wordpress,
                "12",
            ),
            (
                r#"<iframe width="560" src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?feature=oembed"></iframe>"#,
                Youtube,
                Iframe,
                "dQw4w9WgXcQ",
            ),
            (
                r#"<blockquote class="instagram-media" data-instgrm-permalink="https://www.instagram.com/p/BMokmydjG-M/?utm_source=ig_embed&amp;utm_campaign=loading"><a href="https://www.instagram.com/p/BMokmydjG-M/">x</a></blockquote>"#,
                Instagram,
                Blockquote,
                "BMokmydjG-M",
            ),
            (
                r#"<amp-instagram data-shortcode="B1mHd6sHGXK" width="1" height="1"></amp-instagram>"#,
                Instagram,
                Amp,
                "B1mHd6sHGXK",
            ),
            (
                r#"<blockquote class="tiktok-embed" cite="https://www.tiktok.com/@scout2015/video/6718335390845095173" data-video-id="6718335390845095173"><section></section></blockquote>"#,
                Tiktok,
                Blockquote,
                "6718335390845095173",
            ),
            (
                r#"<blockquote class="bluesky-embed" data-bluesky-uri="at://did:plc:abc/app.bsky.feed.post/3lawelexzwk2w"><p>hi</p>&mdash; H (<a href="https://bsky.app/profile/did:plc:abc">@h.bsky.social</a>) <a href="https://bsky.app/profile/did:plc:abc/post/3lawelexzwk2w?ref_src=embed">November 17, 2024</a></blockquote>"#,
                Bluesky,
                Blockquote,
                "did:plc:abc/3lawelexzwk2w",
            ),
            (
                r#"<blockquote class="mastodon-embed" data-embed-url="https://mastodon.social/@Gargron/99664077509711321/embed"><a href="https://mastodon.social/@Gargron/99664077509711321">x</a></blockquote>"#,
                Mastodon,
                Blockquote,
                "mastodon.social/99664077509711321",
            ),
            (
                r#"<iframe src="https://fosstodon.org/@HeidiSeibold/111725444131565682>/embed" class="mastodon-embed"></iframe>"#,
                Mastodon,
                Iframe,
                "fosstodon.org/111725444131565682",
            ),
            (
                r#"<blockquote class="text-post-media" data-text-post-permalink="https://www.threads.net/@zuck/post/C1abc" data-text-post-version="0"></blockquote>"#,
                Threads,
                Blockquote,
                "C1abc",
            ),
            (
                r#"<div class="fb-post" data-href="https://www.facebook.com/Sozialdemokratie/posts/928812574504508/" data-width="600"><blockquote cite="https://graph.facebook.com/1/posts/2/" class="fb-xfbml-parse-ignore"></blockquote></div>"#,
                Facebook,
                Widget,
                "928812574504508",
            ),
            (
                r#"<blockquote class="reddit-embed-bq" data-embed-height="500"><a href="https://www.reddit.com/r/rust/comments/abc123/title/">t</a></blockquote>"#,
                Reddit,
                Blockquote,
                "abc123",
            ),
        ];
        for (src, p, f, id) in cases {
            assert_eq!(ids(src, Kind::Html), one(*p, *f, id), "{src}");
        }
    }

    #[test]
    fn markdown_components_and_code() {
        assert_eq!(
            ids(
                "import { Tweet } from 'react-tweet'\n\n<Tweet id=\"1629307668568633344\" />\n",
                Kind::Markdown
            ),
            one(Provider::Twitter, Form::Shortcode, "1629307668568633344")
        );
        assert_eq!(
            ids(
                "<Tweet id=\"https://twitter.com/astrodotbuild/status/1511750228428435457\" />",
                Kind::Markdown
            ),
            one(Provider::Twitter, Form::Shortcode, "1511750228428435457")
        );
        // Imported under another name (one or several per import).
        assert_eq!(
            ids(
                "import { Tweet as PostEmbed, Other } from 'react-tweet'\n\n<PostEmbed id=\"1629307668568633344\" />\n",
                Kind::Markdown
            ),
            one(Provider::Twitter, Form::Shortcode, "1629307668568633344")
        );
        // A post URL in any attribute of a component or custom element: a link.
        assert_eq!(
            ids(
                "<PostCard url=\"https://twitter.com/a/status/1629307668568633344\" />\n",
                Kind::Markdown
            ),
            one(Provider::Twitter, Form::Link, "1629307668568633344")
        );
        assert_eq!(
            ids(
                "<p>x</p><news-embed data-src=\"https://x.com/a/status/1629307668568633345\"></news-embed>",
                Kind::Html
            ),
            one(Provider::Twitter, Form::Link, "1629307668568633345")
        );
        let indented = "Intro\n\n    <blockquote class=\"twitter-tweet\"><a href=\"https://twitter.com/a/status/314\"></a></blockquote>\n\nText";
        assert!(ids(indented, Kind::Markdown).is_empty());
        let in_list = "- item\n\n    https://twitter.com/a/status/315\n";
        assert_eq!(ids(in_list, Kind::Markdown).len(), 1);
        let code = "```html\n<blockquote class=\"twitter-tweet\"><a href=\"https://twitter.com/a/status/1\"></a></blockquote>\n```\nand `https://twitter.com/a/status/2` inline";
        assert!(ids(code, Kind::Markdown).is_empty());
    }

    #[test]
    fn comments_and_intents_are_not_embeds() {
        let src = r#"<!-- <blockquote class="twitter-tweet"><a href="https://twitter.com/a/status/1"></a></blockquote> -->
<a href="https://twitter.com/intent/retweet?tweet_id=2">RT</a> <a href="https://twitter.com/share">share</a>
<a href="https://twitter.com/jack">@jack</a> <a href="https://twitter.com/hashtag/x?src=hash">#x</a>
<a class="twitter-follow-button" href="https://twitter.com/jack">Follow</a>
<script async src="https://platform.twitter.com/widgets.js"></script> x.com is a site."#;
        assert!(ids(src, Kind::Html).is_empty());
    }

    #[test]
    fn same_post_twice_is_two_embeds() {
        let src = r#"<a href="https://x.com/a/status/3">one</a> and <a href="https://x.com/a/status/3">again</a>"#;
        assert_eq!(ids(src, Kind::Html).len(), 2);
    }

    #[test]
    fn link_span_is_the_whole_anchor() {
        let src =
            r#"Read <a href="https://twitter.com/a/status/3">https://twitter.com/a/status/3</a>."#;
        let found = detect(src.as_bytes(), Kind::Html);
        assert_eq!(found.len(), 1);
        assert_eq!(
            &src[found[0].span.range()],
            r#"<a href="https://twitter.com/a/status/3">https://twitter.com/a/status/3</a>"#
        );
    }

    #[test]
    fn spans_point_into_legacy_encoded_bytes() {
        let mut src = b"<meta charset=\"shift_jis\"><p>\x82\xa0\x82\xa2</p>".to_vec();
        let at = src.len();
        src.extend_from_slice(b"<a href=\"https://twitter.com/a/status/4\">\x82\xa0</a>");
        let found = detect(&src, Kind::Html);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].span,
            Span {
                start: at,
                end: src.len()
            }
        );
    }

    #[test]
    fn utf16_articles_are_read() {
        let text = "<p>hi</p><a href=\"https://twitter.com/a/status/4\">x</a>";
        let mut src = vec![0xFF, 0xFE];
        for c in text.encode_utf16() {
            src.extend_from_slice(&c.to_le_bytes());
        }
        let found = detect(&src, Kind::Html);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].span.start, 2 + 2 * text.find("<a").unwrap());
        assert_eq!(found[0].span.end, src.len());
    }

    #[test]
    fn short_link_alone_is_reported() {
        let found = detect(b"Look: https://t.co/AbCdEfGh12 wow", Kind::Text);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].form, Form::ShortLink);
        assert_eq!(found[0].short_link.as_deref(), Some("t.co/AbCdEfGh12"));
        assert_eq!(found[0].id, None);
    }
}
