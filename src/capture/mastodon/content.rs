//! A status's `content` (the HTML an instance renders a post into) as text
//! and typed spans. Nothing of the HTML is kept but its text and the hrefs
//! of its links: scripts, styles, attributes and markup are dropped here, and
//! render escapes what is left and checks every href again. Iterative (no
//! recursion on deep markup) and capped, since any instance may send anything.

use crate::post::TextSpan;
use scraper::{Html, Node};

/// Content larger than this is cut before parsing (a status is a few KB;
/// Mastodon's default limit is 500 characters).
const MAX_HTML: usize = 256 * 1024;

/// Nor is content with more tags than this parsed as HTML (an HTML5 tree
/// builder's cost grows with the square of unclosed formatting tags): its
/// tags are stripped as text instead.
const MAX_TAGS: usize = 4096;

/// How a link in the content is written: a mention (`u-url mention`), a
/// hashtag (`mention hashtag`), or any other link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkKind {
    Mention,
    Tag,
    Link,
}

/// A mention the status names (`mentions[]`): its profile URL and `acct`.
pub struct Mention {
    /// The profile URL.
    pub url: String,
    /// `user` or `user@host`.
    pub acct: String,
}

/// The content's text (paragraphs apart by a blank line, `<br>` as a line
/// break, a link shown as the instance shows it: the hidden parts of a long
/// URL dropped, `…` where it was cut) and the same text as spans. `mentions`
/// gives a mention link its full handle; `host` completes a local one.
pub fn to_spans(html: &str, mentions: &[Mention], host: &str) -> (String, Vec<TextSpan>) {
    let mut html = html;
    if html.len() > MAX_HTML {
        let mut end = MAX_HTML;
        while !html.is_char_boundary(end) {
            end -= 1;
        }
        html = &html[..end];
    }
    let mut out = Spans::default();
    if memchr::memchr_iter(b'<', html.as_bytes())
        .nth(MAX_TAGS)
        .is_some()
    {
        out.text(&strip_tags(html));
        return out.finish();
    }
    let fragment = Html::parse_fragment(html);
    // The link being read: its kind, href, and shown text so far.
    let mut link: Option<(LinkKind, String, String)> = None;
    // Elements whose text is not shown (`span.invisible`, scripts), by depth.
    let mut hidden = 0usize;
    for edge in fragment.root_element().traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => match node.value() {
                Node::Text(t) if hidden == 0 => match link.as_mut() {
                    Some((_, _, shown)) => shown.push_str(t),
                    None => out.text(t),
                },
                Node::Element(e) => {
                    let classes: Vec<&str> = e.classes().collect();
                    if hidden > 0
                        || matches!(
                            e.name(),
                            "script" | "style" | "template" | "noscript" | "iframe" | "object"
                        )
                        || classes.contains(&"invisible")
                    {
                        hidden += 1;
                        continue;
                    }
                    match e.name() {
                        "br" => match link.as_mut() {
                            Some((_, _, shown)) => shown.push(' '),
                            None => out.text("\n"),
                        },
                        "p" if !out.text.is_empty() => out.paragraph(),
                        "a" if link.is_none() => {
                            let kind = if classes.contains(&"hashtag") {
                                LinkKind::Tag
                            } else if classes.contains(&"mention") {
                                LinkKind::Mention
                            } else {
                                LinkKind::Link
                            };
                            let href = e.attr("href").unwrap_or_default().trim().to_string();
                            link = Some((kind, href, String::new()));
                        }
                        _ => {}
                    }
                }
                _ => {}
            },
            ego_tree::iter::Edge::Close(node) => {
                let Node::Element(e) = node.value() else {
                    continue;
                };
                if hidden > 0 {
                    hidden -= 1;
                    continue;
                }
                if e.classes().any(|c| c == "ellipsis")
                    && let Some((_, _, shown)) = link.as_mut()
                {
                    shown.push('…');
                }
                if e.name() == "a"
                    && let Some((kind, href, shown)) = link.take()
                {
                    out.link(kind, href, shown, mentions, host);
                }
            }
        }
    }
    out.finish()
}

/// Text and spans being built.
#[derive(Default)]
struct Spans {
    text: String,
    spans: Vec<TextSpan>,
}

impl Spans {
    fn text(&mut self, t: &str) {
        if t.is_empty() {
            return;
        }
        self.text.push_str(t);
        match self.spans.last_mut() {
            Some(TextSpan::Text { text }) => text.push_str(t),
            _ => self.spans.push(TextSpan::Text { text: t.into() }),
        }
    }

    /// A new paragraph: a blank line after what came before.
    fn paragraph(&mut self) {
        let trailing = self.text.len() - self.text.trim_end_matches('\n').len();
        if trailing < 2 {
            self.text(&"\n".repeat(2 - trailing));
        }
    }

    fn link(
        &mut self,
        kind: LinkKind,
        href: String,
        shown: String,
        mentions: &[Mention],
        host: &str,
    ) {
        let shown = shown.trim().to_string();
        if shown.is_empty() {
            return;
        }
        if href.is_empty() {
            self.text(&shown);
            return;
        }
        self.text.push_str(&shown);
        let span = match kind {
            LinkKind::Tag => TextSpan::Tag {
                tag: shown.trim_start_matches('#').to_string(),
                text: shown,
                href: Some(href),
            },
            LinkKind::Mention => {
                let handle = mentions
                    .iter()
                    .find(|m| m.url == href)
                    .map(|m| m.acct.clone())
                    .unwrap_or_else(|| shown.trim_start_matches('@').to_string());
                let handle = if handle.contains('@') {
                    handle
                } else {
                    format!("{handle}@{host}")
                };
                TextSpan::Mention {
                    text: shown,
                    handle,
                    href: Some(href),
                }
            }
            LinkKind::Link => TextSpan::Link { text: shown, href },
        };
        self.spans.push(span);
    }

    fn finish(mut self) -> (String, Vec<TextSpan>) {
        let trimmed = self.text.trim_end_matches('\n').len();
        self.text.truncate(trimmed);
        if let Some(TextSpan::Text { text }) = self.spans.last_mut() {
            let t = text.trim_end_matches('\n').len();
            text.truncate(t);
            if text.is_empty() {
                self.spans.pop();
            }
        }
        (self.text, self.spans)
    }
}

/// Markup too heavy to parse, as text: tags dropped, character references decoded.
fn strip_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match (c, in_tag) {
            ('<', _) => in_tag = true,
            ('>', true) => in_tag = false,
            (c, false) => out.push(c),
            _ => {}
        }
    }
    htmlize::unescape(out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(html: &str) -> (String, Vec<TextSpan>) {
        let mentions = [Mention {
            url: "https://mastodon.social/@Gargron".into(),
            acct: "Gargron".into(),
        }];
        to_spans(html, &mentions, "mastodon.social")
    }

    #[test]
    fn links_mentions_and_tags_as_the_instance_shows_them() {
        let (text, s) = spans(
            r#"<p>&quot;Hi&quot; &amp; bye</p><p>See <a href="https://www.theguardian.com/money/2019/dec/07/x" rel="nofollow"><span class="invisible">https://www.</span><span class="ellipsis">theguardian.com/money/2019/dec</span><span class="invisible">/07/x</span></a><br />Thanks <span class="h-card"><a href="https://mastodon.social/@Gargron" class="u-url mention">@<span>Gargron</span></a></span> <a href="https://mastodon.social/tags/Mastodon4" class="mention hashtag" rel="tag">#<span>Mastodon4</span></a></p>"#,
        );
        assert_eq!(
            text,
            "\"Hi\" & bye\n\nSee theguardian.com/money/2019/dec…\nThanks @Gargron #Mastodon4"
        );
        assert_eq!(
            s[1],
            TextSpan::Link {
                text: "theguardian.com/money/2019/dec…".into(),
                href: "https://www.theguardian.com/money/2019/dec/07/x".into()
            }
        );
        assert_eq!(
            s[3],
            TextSpan::Mention {
                text: "@Gargron".into(),
                handle: "Gargron@mastodon.social".into(),
                href: Some("https://mastodon.social/@Gargron".into())
            }
        );
        assert!(matches!(&s[5], TextSpan::Tag { tag, .. } if tag == "Mastodon4"));
        let joined: String = s.iter().map(TextSpan::text).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn scripts_and_attributes_do_not_survive() {
        let (text, s) = spans(
            r#"<p onclick="alert(1)">a<script>alert(2)</script><style>p{}</style> <a href="javascript:alert(3)" onclick="x">b</a> <img src=x onerror=alert(4)>c</p>"#,
        );
        assert_eq!(text, "a b c");
        assert!(!format!("{s:?}").contains("alert(1)"));
        assert!(!format!("{s:?}").contains("alert(2)"));
        assert!(!format!("{s:?}").contains("onerror"));
    }

    #[test]
    fn heavy_markup_is_stripped_not_parsed() {
        let html = format!("{}x &lt;y&gt;", "<b>".repeat(MAX_TAGS + 10));
        let (text, _) = spans(&html);
        assert_eq!(text, "x <y>");
        let (text, _) = spans(&"é".repeat(MAX_HTML));
        assert!(text.len() <= MAX_HTML);
    }
}
