//! Rewriting an article around its cards: each replaced embed's byte span is
//! cut out and the card put in its place, every other byte of an HTML article
//! kept as it was on disk (in the article's own charset); X's `widgets.js`
//! removed once no embed needs it; the stylesheet linked once. `</head>` and
//! scripts are found with the detector's HTML tokenizer, so a comment, a
//! script or an attribute that mentions them is never taken for them.
//! Markdown and text articles become HTML pages with the cards as HTML blocks.

use crate::detect::tokenizer::{Token, Tokenizer};
use crate::embed::{Kind, Span};
use encoding_rs::{Encoding, UTF_8, UTF_16BE, UTF_16LE};

/// A card to put in place of `span`.
#[derive(Debug, Clone)]
pub struct Replacement {
    /// The bytes replaced (an embed's span).
    pub span: Span,
    /// The card's HTML (UTF-8, no blank line).
    pub html: String,
}

/// What the page needs besides the cards.
#[derive(Debug, Clone, Default)]
pub struct PageOptions {
    /// The stylesheet's href, relative to the page.
    pub stylesheet: String,
    /// Keep X's `widgets.js`: embeds the page still has (unrendered) need
    /// it, or the user asked to keep scripts.
    pub keep_widgets_js: bool,
    /// The page title for Markdown and text articles.
    pub title: String,
    /// The page language for Markdown and text articles.
    pub lang: Option<String>,
    /// Mastodon instances whose `https://HOST/embed.js` the page's cards
    /// replace (the hosts of its carded Mastodon embeds): removed like
    /// `widgets.js`.
    pub instance_hosts: Vec<String>,
    /// Providers whose loader stays: an embed of theirs is left in the page
    /// (not rendered as a card) and still needs it. Every other provider's
    /// loader goes once the cards replace its embeds.
    pub keep_loaders: Vec<crate::embed::Provider>,
}

/// What a rewrite removed from the article besides the embeds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removed {
    /// The `src` of every script element removed (X's `widgets.js`), in order.
    pub scripts: Vec<String>,
    /// X's buttons and timelines (`a.twitter-share-button`,
    /// `a.twitter-follow-button`, `a.twitter-timeline`…) left as plain links
    /// once their script was removed.
    pub plain_links: usize,
}

/// The article with the replacements applied. Replacements must not overlap
/// (later overlapping ones are skipped) and are applied in span order.
pub fn rewrite(
    input: &[u8],
    kind: Kind,
    replacements: &[Replacement],
    opts: &PageOptions,
) -> Vec<u8> {
    rewrite_reporting(input, kind, replacements, opts).0
}

/// [`rewrite`], also saying which scripts were removed.
pub fn rewrite_reporting(
    input: &[u8],
    kind: Kind,
    replacements: &[Replacement],
    opts: &PageOptions,
) -> (Vec<u8>, Removed) {
    match kind {
        Kind::Html => rewrite_html(input, replacements, opts),
        Kind::Markdown => markdown_page(input, replacements, opts),
        Kind::Text => (text_page(input, replacements, opts), Removed::default()),
    }
}

fn sorted(replacements: &[Replacement], len: usize) -> Vec<&Replacement> {
    let mut r: Vec<&Replacement> = replacements
        .iter()
        .filter(|r| r.span.start <= r.span.end && r.span.end <= len)
        .collect();
    r.sort_by_key(|r| (r.span.start, r.span.end));
    let mut out: Vec<&Replacement> = Vec::with_capacity(r.len());
    for x in r {
        if out.last().is_none_or(|p| p.span.end <= x.span.start) {
            out.push(x);
        }
    }
    out
}

/// Cuts: spans to replace with a string (cards, or nothing for scripts).
fn splice(input: &[u8], mut cuts: Vec<(usize, usize, Vec<u8>)>) -> Vec<u8> {
    cuts.sort_by_key(|c| (c.0, c.1));
    let extra: usize = cuts.iter().map(|c| c.2.len()).sum();
    let mut out = Vec::with_capacity(input.len() + extra);
    let mut at = 0;
    for (start, end, with) in cuts {
        if start < at {
            continue;
        }
        out.extend_from_slice(&input[at..start]);
        out.extend_from_slice(&with);
        at = end;
    }
    out.extend_from_slice(&input[at..]);
    out
}

fn rewrite_html(
    input: &[u8],
    replacements: &[Replacement],
    opts: &PageOptions,
) -> (Vec<u8>, Removed) {
    let reps = sorted(replacements, input.len());
    let (encoding, _) = crate::detect::charset(input, Kind::Html);
    let utf16 = encoding == UTF_16LE || encoding == UTF_16BE;
    let mut cuts: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut removed = Removed::default();
    if !opts.keep_widgets_js && !utf16 {
        let spans;
        (spans, removed) = loaders_to_remove(input, false, &reps, opts, 0);
        cuts.extend(spans.into_iter().map(|(a, b)| (a, b, Vec::new())));
    }
    if reps.is_empty() {
        if cuts.is_empty() {
            return (input.to_vec(), removed);
        }
        return (splice(input, cuts), removed);
    }
    let link = format!(
        "<link rel=\"stylesheet\" href=\"{}\">",
        htmlize::escape_attribute(&opts.stylesheet)
    );
    // `</head>` itself (a tag, not a comment, a script's text or an
    // attribute), before the first card and outside every replaced span, or
    // the link goes with the first card.
    let head_end = if utf16 {
        None
    } else {
        head_end(input, reps[0].span.start)
    };
    match head_end {
        Some(at) => cuts.push((at, at, encode(&format!("{link}\n"), encoding))),
        None => {
            let first = reps[0].span.start;
            cuts.push((first, first, encode(&link, encoding)));
        }
    }
    for r in &reps {
        cuts.push((r.span.start, r.span.end, encode(&r.html, encoding)));
    }
    (splice(input, cuts), removed)
}

/// Where the first `</head>` end tag starts, if it starts before `limit`.
fn head_end(input: &[u8], limit: usize) -> Option<usize> {
    let mut t = Tokenizer::new(input, false);
    while let Some(tok) = t.next_token() {
        match tok {
            Token::End { name, span } if input[name.clone()].eq_ignore_ascii_case(b"head") => {
                return (span.start <= limit).then_some(span.start);
            }
            Token::Start { span, .. } | Token::End { span, .. } | Token::Comment { span, .. }
                if span.start > limit =>
            {
                return None;
            }
            Token::Text(r) if r.start > limit => return None,
            _ => {}
        }
    }
    None
}

/// The card in the article's charset: UTF-8 as is, UTF-16 re-encoded, any
/// other (ASCII-compatible) charset as ASCII with character references.
fn encode(html: &str, encoding: &'static Encoding) -> Vec<u8> {
    if encoding == UTF_8 {
        return html.as_bytes().to_vec();
    }
    if encoding == UTF_16LE || encoding == UTF_16BE {
        let le = encoding == UTF_16LE;
        return html
            .encode_utf16()
            .flat_map(|u| if le { u.to_le_bytes() } else { u.to_be_bytes() })
            .collect();
    }
    let mut out = Vec::with_capacity(html.len());
    for c in html.chars() {
        if c.is_ascii() {
            out.push(c as u8);
        } else {
            out.extend_from_slice(format!("&#x{:X};", u32::from(c)).as_bytes());
        }
    }
    out
}

#[cfg(test)]
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// How many of X's buttons and timelines (links with a class such as
/// `twitter-share-button`) the page has outside the replaced spans: without
/// `widgets.js` each is a plain link.
fn x_buttons(input: &[u8], reps: &[&Replacement]) -> usize {
    const CLASSES: &[&[u8]] = &[
        b"twitter-timeline",
        b"twitter-follow-button",
        b"twitter-share-button",
        b"twitter-mention-button",
        b"twitter-hashtag-button",
        b"twitter-grid",
        b"twitter-moment",
        b"twitter-dm-button",
    ];
    let mut t = Tokenizer::new(input, false);
    let mut n = 0;
    while let Some(tok) = t.next_token() {
        let Token::Start { name, span, .. } = tok else {
            continue;
        };
        if !input[name].eq_ignore_ascii_case(b"a")
            || reps
                .iter()
                .any(|r| r.span.start <= span.start && span.start < r.span.end)
        {
            continue;
        }
        let button = t.attrs().iter().any(|a| {
            input[a.name.clone()].eq_ignore_ascii_case(b"class")
                && input[a.value.clone()]
                    .split(|b| b.is_ascii_whitespace())
                    .any(|c| CLASSES.iter().any(|k| c.eq_ignore_ascii_case(k)))
        });
        n += usize::from(button);
    }
    n
}

/// The embed loaders (`widgets.js`…) to cut from `input`: those at or after
/// `from` that no replacement covers, with what their removal leaves (their
/// `src`, and X's buttons that stay as plain links).
fn loaders_to_remove(
    input: &[u8],
    markdown: bool,
    reps: &[&Replacement],
    opts: &PageOptions,
    from: usize,
) -> (Vec<(usize, usize)>, Removed) {
    let mut spans = Vec::new();
    let mut removed = Removed::default();
    let mut facebook_sdk = false;
    for w in widget_scripts_in(input, markdown, &opts.instance_hosts) {
        let covered = reps
            .iter()
            .any(|r| r.span.start < w.span.end && w.span.start < r.span.end);
        if w.span.start >= from && !covered && !opts.keep_loaders.contains(&w.provider) {
            facebook_sdk |= w.provider == crate::embed::Provider::Facebook;
            spans.push((w.span.start, w.span.end));
            removed.scripts.push(w.src);
        }
    }
    if facebook_sdk {
        // The SDK's mount point (`<div id="fb-root"></div>`) goes with it.
        for (start, end) in fb_roots(input, markdown) {
            let covered = reps
                .iter()
                .any(|r| r.span.start < end && start < r.span.end);
            if start >= from && !covered {
                spans.push((start, end));
            }
        }
        spans.sort_unstable();
    }
    if !removed.scripts.is_empty() {
        removed.plain_links = x_buttons(input, reps);
    }
    (spans, removed)
}

/// A script element of an embed loader (X's `widgets.js`, Instagram's
/// `embed.js`…).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WidgetScript {
    /// The element, `<script` to `</script>` and the line break after it.
    pub span: Span,
    /// Its `src` as written.
    pub src: String,
    /// The provider whose embeds it renders.
    pub provider: crate::embed::Provider,
}

/// Empty `<div id="fb-root"></div>` elements (Facebook's SDK mounts
/// itself there), with the line break after each.
fn fb_roots(input: &[u8], markdown: bool) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    if memchr::memmem::find(input, b"fb-root").is_none() {
        return out;
    }
    let mut t = Tokenizer::new(input, markdown);
    let mut open: Option<usize> = None;
    while let Some(tok) = t.next_token() {
        match tok {
            Token::Start { name, span, .. } if input[name.clone()].eq_ignore_ascii_case(b"div") => {
                open = t
                    .attrs()
                    .iter()
                    .any(|a| {
                        input[a.name.clone()].eq_ignore_ascii_case(b"id")
                            && input[a.value.clone()].trim_ascii() == b"fb-root"
                    })
                    .then_some(span.start);
            }
            Token::End { name, span } if input[name.clone()].eq_ignore_ascii_case(b"div") => {
                if let Some(start) = open.take() {
                    let mut end = span.end;
                    if input.get(end) == Some(&b'\r') {
                        end += 1;
                    }
                    if input.get(end) == Some(&b'\n') {
                        end += 1;
                    }
                    out.push((start, end));
                }
            }
            _ => open = None,
        }
    }
    out
}

/// Byte ranges of `<script … src="…/widgets.js" …></script>` elements (X's
/// embed script under either host), with the line break after each. Found
/// with the tokenizer: a comment, another script's text or an attribute
/// that mentions the script is not one.
pub fn widget_scripts(input: &[u8]) -> Vec<(usize, usize)> {
    widget_scripts_in(input, false, &[])
        .into_iter()
        .map(|w| (w.span.start, w.span.end))
        .collect()
}

fn widget_scripts_in(input: &[u8], markdown: bool, hosts: &[String]) -> Vec<WidgetScript> {
    let mut out = Vec::new();
    // Cheap first: most pages never mention one.
    if !LOADER_FILES
        .iter()
        .any(|f| memchr::memmem::find(input, f).is_some())
    {
        return out;
    }
    let mut t = Tokenizer::new(input, markdown);
    let mut open: Option<(usize, String, crate::embed::Provider)> = None;
    while let Some(tok) = t.next_token() {
        match tok {
            Token::Start { name, span, .. }
                if input[name.clone()].eq_ignore_ascii_case(b"script") =>
            {
                open = t
                    .attrs()
                    .iter()
                    .find(|a| input[a.name.clone()].eq_ignore_ascii_case(b"src"))
                    .map(|a| &input[a.value.clone()])
                    .and_then(|src| Some((src, loader_of(src, hosts)?)))
                    .map(|(src, p)| (span.start, String::from_utf8_lossy(src).into_owned(), p));
            }
            Token::End { name, span } if input[name.clone()].eq_ignore_ascii_case(b"script") => {
                if let Some((start, src, provider)) = open.take() {
                    let mut end = span.end;
                    if input.get(end) == Some(&b'\r') {
                        end += 1;
                    }
                    if input.get(end) == Some(&b'\n') {
                        end += 1;
                    }
                    out.push(WidgetScript {
                        span: Span { start, end },
                        src,
                        provider,
                    });
                }
            }
            _ => open = None,
        }
    }
    out
}

/// The provider whose embed loader a script's `src` is, if it is one the
/// cards replace: X's `widgets.js` (either host), Bluesky's `embed.js`,
/// `/embed.js` of one of the Mastodon instances `hosts` (any scheme),
/// Instagram's and Threads' `embed.js`, Reddit's `widgets.js`, Facebook's
/// SDK, TikTok's `embed.js`, YouTube's iframe API (`iframe_api`, the older
/// `player_api`).
fn loader_of(src: &[u8], hosts: &[String]) -> Option<crate::embed::Provider> {
    let src = src.trim_ascii().to_ascii_lowercase();
    let path = src.split(|&b| b == b'?' || b == b'#').next().unwrap_or(&[]);
    let rest = path
        .strip_prefix(b"https:")
        .or_else(|| path.strip_prefix(b"http:"))
        .unwrap_or(path);
    LOADERS
        .iter()
        .find(|(_, host, file)| rest.starts_with(host) && path.ends_with(file))
        .map(|(p, _, _)| *p)
        .or_else(|| {
            hosts
                .iter()
                .any(|h| rest == format!("//{}/embed.js", h.to_ascii_lowercase()).as_bytes())
                .then_some(crate::embed::Provider::Mastodon)
        })
}

/// The embed scripts cards replace, by provider, host and file.
const LOADERS: &[(crate::embed::Provider, &[u8], &[u8])] = {
    use crate::embed::Provider::*;
    &[
        (Twitter, b"//platform.twitter.com/", b"/widgets.js"),
        (Twitter, b"//platform.x.com/", b"/widgets.js"),
        (Bluesky, b"//embed.bsky.app/", b"/static/embed.js"),
        (Instagram, b"//www.instagram.com/", b"/embed.js"),
        (Instagram, b"//instagram.com/", b"/embed.js"),
        (Instagram, b"//platform.instagram.com/", b"/embeds.js"),
        (Threads, b"//www.threads.net/", b"/embed.js"),
        (Threads, b"//threads.net/", b"/embed.js"),
        (Threads, b"//www.threads.com/", b"/embed.js"),
        (Threads, b"//threads.com/", b"/embed.js"),
        (Reddit, b"//embed.reddit.com/", b"/widgets.js"),
        (Reddit, b"//embed.redditmedia.com/", b"/platform.js"),
        (Facebook, b"//connect.facebook.net/", b"/sdk.js"),
        (Facebook, b"//connect.facebook.net/", b"/all.js"),
        (Tiktok, b"//www.tiktok.com/", b"/embed.js"),
        (Tiktok, b"//tiktok.com/", b"/embed.js"),
        (Youtube, b"//www.youtube.com/", b"/iframe_api"),
        (Youtube, b"//www.youtube.com/", b"/player_api"),
    ]
};

/// The file names of [`LOADERS`] (and Mastodon's `embed.js`), for a cheap
/// first look.
const LOADER_FILES: &[&[u8]] = &[
    b"widgets.js",
    b"embed.js",
    b"embeds.js",
    b"platform.js",
    b"sdk.js",
    b"all.js",
    b"iframe_api",
    b"player_api",
];

fn page(body: &str, opts: &PageOptions) -> Vec<u8> {
    let title = htmlize::escape_text(&opts.title);
    let lang = opts
        .lang
        .as_deref()
        .filter(|l| super::view::valid_lang(l))
        .map(|l| format!(" lang=\"{l}\""))
        .unwrap_or_default();
    format!(
        "<!DOCTYPE html>\n<html{lang}>\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<link rel=\"stylesheet\" href=\"{}\">\n</head>\n<body>\n<main>\n{body}</main>\n</body>\n</html>\n",
        htmlize::escape_attribute(&opts.stylesheet)
    )
    .into_bytes()
}

fn decode_piece(piece: &[u8], encoding: &'static Encoding) -> String {
    encoding.decode_without_bom_handling(piece).0.into_owned()
}

/// A Markdown article as an HTML page: each card becomes an HTML block of its
/// own, then CommonMark (with tables, footnotes, strikethrough and front
/// matter skipped) renders the whole.
fn markdown_page(
    input: &[u8],
    replacements: &[Replacement],
    opts: &PageOptions,
) -> (Vec<u8>, Removed) {
    let (encoding, bom) = crate::detect::charset(input, Kind::Markdown);
    let reps = sorted(replacements, input.len());
    let mut removed = Removed::default();
    let mut widgets = Vec::new();
    if !opts.keep_widgets_js {
        (widgets, removed) = loaders_to_remove(input, true, &reps, opts, 0);
    }
    let mut source = String::with_capacity(input.len() + reps.len() * 2048);
    let mut at = bom.min(input.len());
    let mut cuts: Vec<(usize, usize, Option<&str>)> = reps
        .iter()
        .map(|r| (r.span.start, r.span.end, Some(r.html.as_str())))
        .collect();
    cuts.extend(widgets.into_iter().map(|(s, e)| (s, e, None)));
    cuts.sort_by_key(|c| (c.0, c.1));
    for (start, end, html) in cuts {
        if start < at {
            continue;
        }
        source.push_str(&decode_piece(&input[at..start], encoding));
        if let Some(html) = html {
            source.push_str("\n\n");
            source.push_str(html);
            source.push_str("\n\n");
        }
        at = end;
    }
    source.push_str(&decode_piece(&input[at..], encoding));
    let mut options = pulldown_cmark::Options::empty();
    options.insert(pulldown_cmark::Options::ENABLE_TABLES);
    options.insert(pulldown_cmark::Options::ENABLE_FOOTNOTES);
    options.insert(pulldown_cmark::Options::ENABLE_STRIKETHROUGH);
    options.insert(pulldown_cmark::Options::ENABLE_YAML_STYLE_METADATA_BLOCKS);
    options.insert(pulldown_cmark::Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS);
    let parser = pulldown_cmark::Parser::new_ext(&source, options);
    let mut body = String::with_capacity(source.len() * 2);
    pulldown_cmark::html::push_html(&mut body, parser);
    (page(&body, opts), removed)
}

/// Where a Markdown article's front matter ends (after its closing line):
/// YAML between `---` lines (closed by `---` or `...`) or TOML between `+++`
/// lines, at the very start (after a byte-order mark); 0 when it has none.
pub fn front_matter_end(input: &[u8]) -> usize {
    let bom = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let rest = &input[bom..];
    let fence: &[u8] = if rest.starts_with(b"---") {
        b"---"
    } else if rest.starts_with(b"+++") {
        b"+++"
    } else {
        return 0;
    };
    let line_end = |from: usize| memchr::memchr(b'\n', &input[from..]).map(|i| from + i + 1);
    let trimmed = |a: usize, b: usize| input[a..b].trim_ascii_end();
    let Some(mut at) = line_end(bom) else {
        return 0;
    };
    if trimmed(bom, at) != fence {
        return 0;
    }
    while at < input.len() {
        let end = line_end(at).unwrap_or(input.len());
        let line = trimmed(at, end);
        if line == fence || (fence == b"---" && line == b"...") {
            return end;
        }
        at = end;
    }
    0
}

/// A Markdown (or MDX) article as Markdown again, for a static-site generator:
/// each card an HTML block of its own (blank lines around it) in place of its
/// embed, the stylesheet linked before the first card, `widgets.js` removed
/// as in a page, and every other byte kept, the front matter byte-identical
/// (an embed found inside it is left alone). With `mdx`, the cards' void
/// elements are closed and braces written as character references, as JSX
/// needs.
pub fn markdown_source(
    input: &[u8],
    replacements: &[Replacement],
    opts: &PageOptions,
    mdx: bool,
) -> (Vec<u8>, Removed) {
    let (encoding, _) = crate::detect::charset(input, Kind::Markdown);
    let front = front_matter_end(input);
    let reps: Vec<&Replacement> = sorted(replacements, input.len())
        .into_iter()
        .filter(|r| r.span.start >= front)
        .collect();
    let mut cuts: Vec<(usize, usize, Vec<u8>)> = Vec::new();
    let mut removed = Removed::default();
    if !opts.keep_widgets_js {
        let spans;
        (spans, removed) = loaders_to_remove(input, true, &reps, opts, front);
        cuts.extend(spans.into_iter().map(|(a, b)| (a, b, Vec::new())));
    }
    // A block has a blank line before and after it: the article's own line
    // breaks around the embed count, so none is doubled.
    let block = |start: usize, end: usize, html: &str| {
        let html = if mdx {
            jsx_safe(html)
        } else {
            html.to_string()
        };
        let breaks = |b: &mut dyn Iterator<Item = &u8>| {
            b.take_while(|&&c| c == b'\n' || c == b'\r')
                .filter(|&&c| c == b'\n')
                .count()
        };
        let before = if start == 0 {
            2
        } else {
            breaks(&mut input[..start].iter().rev())
        };
        let after = breaks(&mut input[end..].iter());
        let mut text = "\n".repeat(2usize.saturating_sub(before));
        text.push_str(&html);
        text.push_str(&"\n".repeat(2usize.saturating_sub(after)));
        encode(&text, encoding)
    };
    for (i, r) in reps.iter().enumerate() {
        let html = if i == 0 {
            // The stylesheet, once, with the first card.
            format!(
                "<link rel=\"stylesheet\" href=\"{}\"{}>\n{}",
                htmlize::escape_attribute(&opts.stylesheet),
                if mdx { " /" } else { "" },
                r.html
            )
        } else {
            r.html.clone()
        };
        cuts.push((
            r.span.start,
            r.span.end,
            block(r.span.start, r.span.end, &html),
        ));
    }
    (splice(input, cuts), removed)
}

/// Card markup JSX accepts: void elements closed (`<img … />`), `{` and `}`
/// as character references, comments dropped.
fn jsx_safe(html: &str) -> String {
    const VOID: &[&[u8]] = &[
        b"area", b"base", b"br", b"col", b"embed", b"hr", b"img", b"input", b"link", b"meta",
        b"source", b"track", b"wbr",
    ];
    let src = html.as_bytes();
    let mut out = String::with_capacity(html.len() + 64);
    let mut at = 0;
    let mut t = Tokenizer::new(src, false);
    while let Some(tok) = t.next_token() {
        match tok {
            Token::Start {
                name,
                span,
                self_closing: false,
            } if VOID
                .iter()
                .any(|v| src[name.clone()].eq_ignore_ascii_case(v)) =>
            {
                out.push_str(&html[at..span.end - 1]);
                out.push_str(" />");
                at = span.end;
            }
            Token::Comment { span, .. } => {
                out.push_str(&html[at..span.start]);
                at = span.end;
            }
            _ => {}
        }
    }
    out.push_str(&html[at..]);
    out.replace('{', "&#123;").replace('}', "&#125;")
}

/// A text article as an HTML page: paragraphs at blank lines, line breaks
/// kept, every character escaped, the cards as blocks between paragraphs.
fn text_page(input: &[u8], replacements: &[Replacement], opts: &PageOptions) -> Vec<u8> {
    let (encoding, bom) = crate::detect::charset(input, Kind::Text);
    let reps = sorted(replacements, input.len());
    let mut body = String::with_capacity(input.len() * 2);
    let mut at = bom.min(input.len());
    for r in reps {
        if r.span.start < at {
            continue;
        }
        paragraphs(&decode_piece(&input[at..r.span.start], encoding), &mut body);
        body.push_str(&r.html);
        body.push('\n');
        at = r.span.end;
    }
    paragraphs(&decode_piece(&input[at..], encoding), &mut body);
    page(&body, opts)
}

fn paragraphs(text: &str, out: &mut String) {
    let text = text.replace("\r\n", "\n");
    for para in text.split("\n\n") {
        let para = para.trim_matches('\n');
        if para.trim().is_empty() {
            continue;
        }
        out.push_str("<p>");
        for (i, line) in para.split('\n').enumerate() {
            if i > 0 {
                out.push_str("<br>\n");
            }
            out.push_str(&htmlize::escape_text(line));
        }
        out.push_str("</p>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rep(start: usize, end: usize, html: &str) -> Replacement {
        Replacement {
            span: Span { start, end },
            html: html.into(),
        }
    }

    fn opts() -> PageOptions {
        PageOptions {
            stylesheet: "embarc.css".into(),
            title: "t".into(),
            ..PageOptions::default()
        }
    }

    #[test]
    fn html_keeps_every_other_byte() {
        let page = b"<html><head><title>x</title></head><body>\n<p>before</p>\n<blockquote class=\"twitter-tweet\">x</blockquote>\n<script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script>\n<p>after</p></body></html>";
        let s = find_ci(page, b"<blockquote").unwrap();
        let e = find_ci(page, b"</blockquote>").unwrap() + 13;
        let out = rewrite(
            page,
            Kind::Html,
            &[rep(s, e, "<figure>card</figure>")],
            &opts(),
        );
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "<html><head><title>x</title><link rel=\"stylesheet\" href=\"embarc.css\">\n</head><body>\n<p>before</p>\n<figure>card</figure>\n<p>after</p></body></html>"
        );
    }

    #[test]
    fn the_stylesheet_goes_in_the_head_not_a_header() {
        let page = b"<body><header>h</header><blockquote>x</blockquote></body>";
        let s = find_ci(page, b"<blockquote").unwrap();
        let out = rewrite(
            page,
            Kind::Html,
            &[rep(s, page.len() - 7, "<figure>c</figure>")],
            &opts(),
        );
        let out = String::from_utf8(out).unwrap();
        assert_eq!(
            out,
            "<body><header>h</header><link rel=\"stylesheet\" href=\"embarc.css\"><figure>c</figure></body>"
        );
    }

    #[test]
    fn widgets_js_goes_even_with_a_timeline_which_stays_a_link() {
        let page = b"<blockquote class=\"twitter-tweet\">x</blockquote><a class=\"twitter-timeline\" href=\"https://twitter.com/a\">T</a><script src=\"https://platform.twitter.com/widgets.js\"></script>";
        let end = find_ci(page, b"</blockquote>").unwrap() + 13;
        let (out, removed) = rewrite_reporting(
            page,
            Kind::Html,
            &[rep(0, end, "<figure>c</figure>")],
            &opts(),
        );
        let out = String::from_utf8(out).unwrap();
        assert!(!out.contains("widgets.js"), "{out}");
        assert!(out.contains("<a class=\"twitter-timeline\" href=\"https://twitter.com/a\">T</a>"));
        assert_eq!(removed.scripts, ["https://platform.twitter.com/widgets.js"]);
        assert_eq!(removed.plain_links, 1);
    }

    #[test]
    fn head_and_scripts_are_tags_not_mentions() {
        let page = b"<html><head><!-- moved before </head> in 2019 --><script>var s = '</head>'; // <script src=\"https://platform.twitter.com/widgets.js\"></script></script><meta name=\"x\" content=\"</head> <script src='//platform.twitter.com/widgets.js'></script>\"></head><body><!-- <script src=\"https://platform.twitter.com/widgets.js\"></script> --><blockquote>x</blockquote></body></html>";
        let s = find_ci(page, b"<blockquote").unwrap();
        let e = find_ci(page, b"</blockquote>").unwrap() + 13;
        let (out, removed) = rewrite_reporting(
            page,
            Kind::Html,
            &[rep(s, e, "<figure>c</figure>")],
            &opts(),
        );
        let out = String::from_utf8(out).unwrap();
        let expected = String::from_utf8(page.to_vec())
            .unwrap()
            .replace(
                "\"></head>",
                "\"><link rel=\"stylesheet\" href=\"embarc.css\">\n</head>",
            )
            .replace("<blockquote>x</blockquote>", "<figure>c</figure>");
        assert_eq!(out, expected);
        assert!(removed.scripts.is_empty(), "{removed:?}");
    }

    #[test]
    fn widgets_js_stays_when_an_embed_still_needs_it() {
        let page = b"<p>x</p><script src=\"//platform.twitter.com/widgets.js\"></script>";
        let o = PageOptions {
            keep_widgets_js: true,
            ..opts()
        };
        let out = rewrite(page, Kind::Html, &[rep(0, 8, "<b>c</b>")], &o);
        assert!(String::from_utf8(out).unwrap().contains("widgets.js"));
    }

    #[test]
    fn a_video_loader_goes_unless_an_embed_of_its_own_stays() {
        let page = b"<p>x</p><script async src=\"https://www.tiktok.com/embed.js\"></script><script src=\"https://www.youtube.com/iframe_api\"></script>";
        let (out, removed) = rewrite_reporting(page, Kind::Html, &[rep(0, 8, "<b>c</b>")], &opts());
        assert!(!String::from_utf8(out).unwrap().contains("<script"));
        assert_eq!(
            removed.scripts,
            [
                "https://www.tiktok.com/embed.js",
                "https://www.youtube.com/iframe_api"
            ]
        );
        let o = PageOptions {
            keep_loaders: vec![crate::embed::Provider::Tiktok],
            ..opts()
        };
        let (out, removed) = rewrite_reporting(page, Kind::Html, &[rep(0, 8, "<b>c</b>")], &o);
        assert!(
            String::from_utf8(out)
                .unwrap()
                .contains("tiktok.com/embed.js")
        );
        assert_eq!(removed.scripts, ["https://www.youtube.com/iframe_api"]);
    }

    #[test]
    fn legacy_charsets_get_character_references() {
        let page = b"<meta charset=\"shift_jis\"><p>\x82\xa0</p>XX";
        let len = page.len();
        let out = rewrite(
            page,
            Kind::Html,
            &[rep(len - 2, len, "<p>é😀</p>")],
            &opts(),
        );
        assert!(out.ends_with(b"<p>&#xE9;&#x1F600;</p>"));
        assert!(out.windows(2).any(|w| w == b"\x82\xa0"));
    }

    #[test]
    fn markdown_cards_are_html_blocks() {
        let md = b"# Title\n\nSome *text*.\n\n{{< tweet user=\"a\" id=\"1\" >}}\n\nEnd.\n";
        let s = find_ci(md, b"{{<").unwrap();
        let e = find_ci(md, b">}}").unwrap() + 3;
        let out = rewrite(
            md,
            Kind::Markdown,
            &[rep(s, e, "<figure class=\"c\">\n<p>card</p>\n</figure>")],
            &opts(),
        );
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("<h1>Title</h1>"));
        assert!(out.contains("<figure class=\"c\">\n<p>card</p>\n</figure>"));
        assert!(out.contains("<p>End.</p>"));
        assert!(!out.contains("{{&lt;"));
    }

    #[test]
    fn front_matter_is_found_and_kept() {
        assert_eq!(front_matter_end(b"---\na: 1\n---\n# x"), 13);
        assert_eq!(
            front_matter_end(b"\xEF\xBB\xBF+++\r\na = 1\r\n+++\r\nx"),
            20
        );
        assert_eq!(front_matter_end(b"---\na: 1\n...\nx"), 13);
        assert_eq!(front_matter_end(b"----\n# x"), 0);
        assert_eq!(front_matter_end(b"---\nnever closed\n"), 0);
        let md = b"---\nsrc: https://x.com/a/status/1\n---\ntext\nhttps://x.com/a/status/1\n";
        let url = md.len() - 25;
        let (out, _) = markdown_source(
            md,
            &[
                rep(4, 28, "<b>no</b>"),
                rep(url, md.len() - 1, "<figure>c</figure>"),
            ],
            &opts(),
            false,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "---\nsrc: https://x.com/a/status/1\n---\ntext\n\n<link rel=\"stylesheet\" href=\"embarc.css\">\n<figure>c</figure>\n\n"
        );
    }

    #[test]
    fn mdx_cards_are_jsx() {
        assert_eq!(
            jsx_safe("<p>a {b}<br><img src=\"x\" alt=\"}\"><!-- c --><br/></p>"),
            "<p>a &#123;b&#125;<br /><img src=\"x\" alt=\"&#125;\" /><br/></p>"
        );
    }

    #[test]
    fn text_is_escaped() {
        let out = rewrite(
            b"a <b> & c\n\nPOST",
            Kind::Text,
            &[rep(11, 15, "<figure></figure>")],
            &opts(),
        );
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("<p>a &lt;b&gt; &amp; c</p>\n<figure></figure>"));
    }
}
