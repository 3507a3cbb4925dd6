//! The markup pass: walks the token stream of an HTML (or Markdown-with-HTML)
//! document, recognises every embed element of the provider registry, and feeds
//! the visible-text stream, which the text detectors read as it grows.
//!
//! Only a bounded stack of open embed containers is kept, never a DOM, so the
//! pass is linear and its memory does not depend on nesting depth.

use super::hit::Hit;
use super::stream::Stream;
use super::tokenizer::{Token, Tokenizer};
use crate::embed::{Form, Kind, Provider};
use crate::providers::{self, PROVIDERS, PostUrl, UrlMatch};
use std::borrow::Cow;

/// At most this many embed containers open at once; deeper ones are ignored.
const MAX_OPEN: usize = 64;

/// Elements that end a line of visible text.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
    "td",
    "th",
    "table",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "nav",
    "figure",
    "figcaption",
    "pre",
    "hr",
    "dd",
    "dt",
    "dl",
    "main",
    "form",
    "address",
    "details",
    "summary",
    "center",
    "tbody",
    "thead",
];

/// Elements that never have content or an end tag.
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param",
];

/// End tags that close an element left open inside them (a container's
/// ancestor ending closes the container too, as in a browser's tree).
const CLOSERS: &[&str] = &[
    "div", "section", "article", "main", "aside", "figure", "body", "html", "td", "th", "tr",
    "table", "li", "ul", "ol", "header", "footer", "nav", "details", "dd", "dl",
];

struct Open {
    /// Lowercase tag name, or `!wp` for a WordPress block comment.
    tag: String,
    /// Same-tag elements open inside it, plus itself.
    depth: usize,
    /// Other elements open inside it, by name (bounded).
    inner: Vec<(String, u32)>,
    hit: usize,
}

impl Open {
    fn new(tag: String, hit: usize) -> Self {
        Open {
            tag,
            depth: 1,
            inner: Vec::new(),
            hit,
        }
    }
}

/// A start tag inside the innermost container: count it so its end tag is
/// matched to it and not to the container.
fn open_inside(open: &mut [Open], name: &str) {
    let Some(o) = open.last_mut() else { return };
    if o.tag == name {
        o.depth += 1;
    } else if let Some(entry) = o.inner.iter_mut().find(|(n, _)| n == name) {
        entry.1 += 1;
    } else if o.inner.len() < 64 {
        o.inner.push((name.to_string(), 1));
    }
}

/// An end tag: closes the innermost container it belongs to, or an element
/// inside it; an ancestor's end tag closes the containers left open inside it.
fn close(
    open: &mut Vec<Open>,
    hits: &mut [Hit],
    stream: &mut Stream,
    name: &str,
    span: &std::ops::Range<usize>,
) {
    while let Some(o) = open.last_mut() {
        if o.tag == name {
            o.depth -= 1;
            if o.depth == 0 {
                hits[o.hit].end = span.end;
                open.pop();
                stream.push_break(span.end, true);
            }
            return;
        }
        if let Some(entry) = o.inner.iter_mut().find(|(n, c)| n == name && *c > 0) {
            entry.1 -= 1;
            return;
        }
        if !CLOSERS.contains(&name) {
            return; // a stray end tag
        }
        hits[o.hit].end = span.start;
        open.pop();
        stream.push_break(span.start, true);
    }
}

/// What the markup pass found.
pub struct Markup {
    /// Embed elements and links, in document order of their start.
    pub hits: Vec<Hit>,
    /// What the text detectors found in the visible text, in document offsets.
    pub text_hits: Vec<Hit>,
}

fn lower(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) if !s.bytes().any(|c| c.is_ascii_uppercase()) => Cow::Borrowed(s),
        _ => Cow::Owned(String::from_utf8_lossy(b).to_ascii_lowercase()),
    }
}

/// An attribute value with character references decoded.
fn attr_value(doc: &[u8], r: std::ops::Range<usize>) -> String {
    let raw = String::from_utf8_lossy(&doc[r]);
    if raw.contains('&') {
        htmlize::unescape_attribute(&*raw).into_owned()
    } else {
        raw.into_owned()
    }
}

/// A JSX attribute written as an expression (`id={"20"}`, `id={`20`}`, `id={20}`)
/// holding a literal: the literal.
fn jsx_literal(v: &str) -> &str {
    let v = v.trim();
    let v = v
        .strip_prefix('{')
        .and_then(|v| v.strip_suffix('}'))
        .unwrap_or(v)
        .trim();
    v.trim_matches(|c| c == '"' || c == '\'' || c == '`')
}

/// Classifies an attribute value that is either a post URL or a bare id.
fn post_from_value(provider: Provider, value: &str) -> Option<PostUrl> {
    let value = value.trim();
    match providers::classify_url(value) {
        Some(UrlMatch::Post(p, post)) if p == provider => Some(post),
        _ => (providers::spec(provider).from_id)(value),
    }
}

/// Runs the markup pass over `doc`.
/// MDX imports that rename a component (`import { Tweet as PostEmbed } from
/// 'react-tweet'`): each alias, lowercase, with the name it stands for.
fn import_aliases(doc: &[u8]) -> Vec<(String, String)> {
    static IMPORT: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(r#"(?m)^\s*import\s*\{([^}]{0,2000})\}\s*from\s*['"]"#)
            .unwrap_or_else(|_| unreachable!())
    });
    let mut aliases = Vec::new();
    for caps in IMPORT.captures_iter(doc).take(100) {
        let Some(list) = caps.get(1) else { continue };
        for item in String::from_utf8_lossy(list.as_bytes()).split(',') {
            let words: Vec<&str> = item.split_whitespace().collect();
            if let [original, "as", alias] = words[..] {
                aliases.push((alias.to_ascii_lowercase(), original.to_ascii_lowercase()));
            }
        }
    }
    aliases
}

pub fn scan(doc: &[u8], markdown: bool) -> Markup {
    let aliases = if markdown {
        import_aliases(doc)
    } else {
        Vec::new()
    };
    let mut tok = Tokenizer::new(doc, markdown);
    let mut hits: Vec<Hit> = Vec::new();
    let mut stream = Stream::new(if markdown { Kind::Markdown } else { Kind::Html });
    let mut open: Vec<Open> = Vec::new();
    // The open `<a>` that is a finding: its index and where its content starts.
    let mut anchor: Option<(usize, usize)> = None;
    let mut in_code = 0usize;

    while let Some(token) = tok.next_token() {
        match token {
            // Text shown as code (`<pre>`, `<code>`) is an example, not a citation.
            Token::Text(r) if in_code == 0 => stream.push_text(doc, r.start, r.end, true),
            Token::Text(_) => {}
            Token::Comment { body, span } => {
                wordpress_comment(doc, body, span, &mut hits, &mut open, &mut stream);
            }
            Token::End { name, span } => {
                let name = lower(&doc[name]);
                if name == "a"
                    && let Some((i, content)) = anchor.take()
                {
                    close_anchor(doc, &mut hits[i], content, span.start, span.end);
                    if hits[i].post.is_some() {
                        stream.barrier();
                    }
                }
                if name == "pre" || name == "code" {
                    in_code = in_code.saturating_sub(1);
                }
                close(&mut open, &mut hits, &mut stream, &name, &span);
                if BLOCKS.contains(&&*name) {
                    stream.push_break(span.start, name != "br");
                }
            }
            Token::Start {
                name,
                span,
                self_closing,
            } => {
                // A JSX component (`<PostCard …>` in MDX) or a custom element
                // (`<my-embed …>`): its attributes may hold a post's URL.
                let component = (markdown
                    && doc.get(name.start).is_some_and(u8::is_ascii_uppercase))
                    || doc[name.clone()].contains(&b'-');
                let name = lower(&doc[name]);
                if BLOCKS.contains(&&*name) {
                    stream.push_break(span.start, name != "br" && name != "li");
                }
                let closes = !self_closing && !VOID.contains(&&*name);
                if closes && (name == "pre" || name == "code") {
                    in_code += 1;
                }
                if name == "a" {
                    if let Some((i, content)) = anchor.take() {
                        close_anchor(doc, &mut hits[i], content, span.start, span.start);
                        if hits[i].post.is_some() {
                            stream.barrier();
                        }
                    }
                    if let Some(hit) = anchor_hit(doc, tok.attrs(), span.clone()) {
                        if !hit.reference {
                            anchor = Some((hits.len(), span.end));
                        }
                        hits.push(hit);
                    }
                    continue;
                }
                // A component imported under another name is read as the original.
                let component_name = aliases
                    .iter()
                    .find(|(alias, _)| *alias == name)
                    .map_or(&*name, |(_, original)| original.as_str());
                let found =
                    element_hit(doc, component_name, tok.attrs(), span.clone()).or_else(|| {
                        component
                            .then(|| url_attr_hit(doc, tok.attrs(), span.clone()))
                            .flatten()
                    });
                let Some(hit) = found else {
                    if closes {
                        open_inside(&mut open, &name);
                    }
                    continue;
                };
                if closes && open.len() >= MAX_OPEN {
                    // Nested too deep: ignored (a page of unclosed embed
                    // blockquotes must not cost a finding each; the
                    // containers around it take what is inside).
                    open_inside(&mut open, &name);
                    continue;
                }
                if closes {
                    open.push(Open::new(name.into_owned(), hits.len()));
                }
                stream.push_break(span.start, true);
                hits.push(hit);
            }
        }
    }
    // A container never closed keeps the span of its start tag when it already
    // knows its post (an unclosed `<div>` must not swallow the page); one still
    // looking for its status link runs to the end, as a browser would read it.
    for o in open {
        let h = &mut hits[o.hit];
        if h.post.is_none() {
            h.end = doc.len();
        }
    }
    Markup {
        hits,
        text_hits: stream.finish(),
    }
}

/// Ends an anchor finding at `end`. A short link whose visible text names
/// another site (`<a href="https://t.co/x">example.com/story…</a>`) is a link
/// out of a post's text, not a lead to a post: it is turned into a mere reference.
fn close_anchor(doc: &[u8], hit: &mut Hit, content_start: usize, content_end: usize, end: usize) {
    hit.end = end;
    if hit.form != Form::ShortLink {
        return;
    }
    let raw = String::from_utf8_lossy(&doc[content_start.min(content_end)..content_end]);
    let mut text = String::new();
    let mut in_tag = false;
    for c in raw.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    // Display URLs are often cut short with an ellipsis.
    let text = htmlize::unescape(text.trim())
        .trim()
        .trim_end_matches(['…', '.'])
        .trim()
        .to_ascii_lowercase();
    let bare = text
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("www.");
    let host = bare.split('/').next().unwrap_or("");
    let names_a_site =
        !text.contains(char::is_whitespace) && host.contains('.') && bare.len() > host.len();
    let x_host = [
        "t.co",
        "pic.twitter.com",
        "pic.x.com",
        "twitter.com",
        "x.com",
    ]
    .contains(&host);
    if names_a_site && !x_host {
        hit.reference = true;
        hit.short_link = None;
    }
}

fn anchor_hit(
    doc: &[u8],
    attrs: &[super::tokenizer::Attr],
    span: std::ops::Range<usize>,
) -> Option<Hit> {
    let href = attrs
        .iter()
        .find(|a| doc[a.name.clone()].eq_ignore_ascii_case(b"href"))?;
    let raw = &doc[href.value.clone()];
    if raw.len() > 4096 {
        return None;
    }
    let href = attr_value(doc, href.value.clone());
    if let Some(id) = intent_tweet_id(&href) {
        let mut hit = Hit::post(Provider::Twitter, Form::Link, span.start, span.end, id);
        hit.reference = true;
        return Some(hit);
    }
    // `end` is fixed when `</a>` (or the next `<a>`) arrives; until then the
    // anchor covers its start tag only.
    match providers::classify_url(&href)? {
        UrlMatch::Post(p, post) => Some(Hit::post(p, Form::Link, span.start, span.end, post)),
        UrlMatch::ShortLink(s) => Some(Hit::short_link(span.start, span.end, s)),
    }
}

/// A component's attribute whose value is a post's URL (`<PostCard
/// url="https://x.com/a/status/1">`, `link={"…"}`): at least a link to it.
fn url_attr_hit(
    doc: &[u8],
    attrs: &[super::tokenizer::Attr],
    span: std::ops::Range<usize>,
) -> Option<Hit> {
    attrs.iter().find_map(|a| {
        if a.value.len() > 4096 || a.value.is_empty() {
            return None;
        }
        let value = attr_value(doc, a.value.clone());
        match providers::classify_url(jsx_literal(&value))? {
            UrlMatch::Post(p, post) => Some(Hit::post(p, Form::Link, span.start, span.end, post)),
            UrlMatch::ShortLink(_) => None,
        }
    })
}

/// `twitter.com/intent/retweet?tweet_id=…`, `intent/tweet?in_reply_to=…`,
/// `intent/like?tweet_id=…`: not embeds, but they say which post is near.
fn intent_tweet_id(href: &str) -> Option<PostUrl> {
    let parts = providers::split_url(href)?;
    if !(parts.host == "twitter.com" || parts.host == "x.com")
        || !parts.path.starts_with("/intent/")
    {
        return None;
    }
    let id = parts
        .query_param("tweet_id")
        .or_else(|| parts.query_param("in_reply_to"))?;
    (providers::spec(Provider::Twitter).from_id)(&id)
}

fn get_attr(doc: &[u8], attrs: &[super::tokenizer::Attr], name: &str) -> Option<String> {
    attrs
        .iter()
        .find(|a| doc[a.name.clone()].eq_ignore_ascii_case(name.as_bytes()))
        .map(|a| attr_value(doc, a.value.clone()))
}

fn has_class(class: &str, wanted: &str) -> bool {
    class
        .split_ascii_whitespace()
        .any(|c| c.eq_ignore_ascii_case(wanted))
}

/// Recognises an embed element by tag, class and attributes.
fn element_hit(
    doc: &[u8],
    name: &str,
    attrs: &[super::tokenizer::Attr],
    span: std::ops::Range<usize>,
) -> Option<Hit> {
    let (start, end) = (span.start, span.end);
    if attrs.is_empty() {
        return None;
    }
    let class = get_attr(doc, attrs, "class").unwrap_or_default();

    if name == "blockquote" {
        for spec in PROVIDERS {
            if spec.blockquote_classes.iter().any(|c| has_class(&class, c)) {
                let post = spec
                    .embed_attrs
                    .iter()
                    .filter_map(|a| get_attr(doc, attrs, a))
                    .find_map(|v| post_from_value(spec.provider, &v));
                return Some(Hit::container(
                    spec.provider,
                    Form::Blockquote,
                    start,
                    end,
                    post,
                ));
            }
        }
        return None;
    }

    if name == "figure" {
        for spec in PROVIDERS {
            for slug in spec.wordpress_slugs {
                let block = format!("wp-block-embed-{slug}");
                let provider = format!("is-provider-{slug}");
                if has_class(&class, &block) || has_class(&class, &provider) {
                    let mut hit = Hit::container(spec.provider, Form::Wordpress, start, end, None);
                    hit.weak = true;
                    return Some(hit);
                }
            }
        }
        return None;
    }

    for spec in PROVIDERS {
        for (tag, attr) in spec.amp_tags {
            if name == *tag {
                let post =
                    get_attr(doc, attrs, attr).and_then(|v| post_from_value(spec.provider, &v));
                return Some(Hit::container(spec.provider, Form::Amp, start, end, post));
            }
        }
        for (tag, attr) in spec.components {
            if name == *tag
                && let Some(post) = get_attr(doc, attrs, attr)
                    .and_then(|v| post_from_value(spec.provider, jsx_literal(&v)))
            {
                return Some(Hit::post(spec.provider, Form::Shortcode, start, end, post));
            }
        }
        for attr in spec.id_attrs {
            if let Some(post) = get_attr(doc, attrs, attr).and_then(|v| (spec.from_id)(&v)) {
                let form = if name == "div" || name == "span" {
                    Form::Widget
                } else {
                    Form::Iframe
                };
                return Some(Hit::container(spec.provider, form, start, end, Some(post)));
            }
        }
        for (widget_class, attr) in spec.widget_classes {
            if has_class(&class, widget_class)
                && let Some(post) =
                    get_attr(doc, attrs, attr).and_then(|v| post_from_value(spec.provider, &v))
            {
                return Some(Hit::container(
                    spec.provider,
                    Form::Widget,
                    start,
                    end,
                    Some(post),
                ));
            }
        }
    }

    if name == "iframe" || name == "amp-iframe" {
        for attr in ["src", "data-src", "data-lazy-src"] {
            let Some(src) = get_attr(doc, attrs, attr) else {
                continue;
            };
            if let Some(UrlMatch::Post(p, post)) = providers::classify_url(&src) {
                // An iframe on an arbitrary host is a Mastodon post only when it
                // says so (class or the `/embed` path Mastodon serves).
                if p == Provider::Mastodon
                    && !PROVIDERS
                        .iter()
                        .any(|s| s.iframe_classes.iter().any(|c| has_class(&class, c)))
                    && !src.trim_end_matches('/').ends_with("/embed")
                {
                    continue;
                }
                return Some(Hit::container(p, Form::Iframe, start, end, Some(post)));
            }
        }
    }
    None
}

/// `<!-- wp:embed {"url":…,"providerNameSlug":"twitter"} -->` opens a block and
/// `<!-- /wp:embed -->` closes it; `wp:core-embed/twitter` is the pre-5.6 form.
fn wordpress_comment(
    doc: &[u8],
    body: std::ops::Range<usize>,
    span: std::ops::Range<usize>,
    hits: &mut Vec<Hit>,
    open: &mut Vec<Open>,
    stream: &mut Stream,
) {
    let text = String::from_utf8_lossy(&doc[body.clone()]);
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('/') {
        if (rest.starts_with("wp:embed") || rest.starts_with("wp:core-embed"))
            && let Some(k) = open.iter().rposition(|o| o.tag == "!wp")
        {
            for o in open.drain(k..) {
                hits[o.hit].end = span.end;
            }
            stream.push_break(span.end, true);
        }
        return;
    }
    let (slug_from_name, json) = if let Some(rest) = text.strip_prefix("wp:core-embed/") {
        let slug_end = rest.find(|c: char| c.is_whitespace()).unwrap_or(rest.len());
        (Some(rest[..slug_end].to_string()), &rest[slug_end..])
    } else if let Some(rest) = text.strip_prefix("wp:embed") {
        (None, rest)
    } else {
        return;
    };
    let attrs: serde_json::Value =
        serde_json::from_str(json.trim()).unwrap_or(serde_json::Value::Null);
    let url = attrs.get("url").and_then(|u| u.as_str()).unwrap_or("");
    let slug = slug_from_name
        .or_else(|| {
            attrs
                .get("providerNameSlug")
                .and_then(|s| s.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let (provider, post) = match providers::classify_url(url) {
        Some(UrlMatch::Post(p, post)) => (Some(p), Some(post)),
        _ => (
            PROVIDERS
                .iter()
                .find(|s| s.wordpress_slugs.contains(&slug.as_str()))
                .map(|s| s.provider),
            None,
        ),
    };
    let Some(provider) = provider else { return };
    if open.len() < MAX_OPEN {
        open.push(Open::new("!wp".into(), hits.len()));
    }
    stream.push_break(span.start, true);
    hits.push(Hit::container(
        provider,
        Form::Wordpress,
        span.start,
        span.end,
        post,
    ));
}
