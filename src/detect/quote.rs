//! The article's own quote of a post, read from an embed blockquote with scraper:
//! the words, the author's name and handle, and the date as written.

use super::text::attributions;
use crate::embed::Quote;
use scraper::{ElementRef, Html, Node};

/// Blockquotes larger than this are not parsed for a quote (a real one is a few KB).
const MAX_FRAGMENT: usize = 32 * 1024;

/// Nor are blockquotes with more tags than this: a real one has a few dozen, and
/// an HTML5 tree builder's cost grows with the square of unclosed formatting tags.
const MAX_TAGS: usize = 256;

/// Reads the quote out of a blockquote's markup.
pub fn from_blockquote(markup: &[u8]) -> Option<Quote> {
    if markup.len() > MAX_FRAGMENT || memchr::memchr_iter(b'<', markup).nth(MAX_TAGS).is_some() {
        return None;
    }
    let html = String::from_utf8_lossy(markup);
    let fragment = Html::parse_fragment(&html);
    let root = fragment.root_element();
    let block = root
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "blockquote")
        .unwrap_or(root);
    let mut text = String::new();
    visible_text(block, &mut text);
    let attribution = attributions(text.as_bytes()).pop();
    let words_end = attribution.as_ref().map_or(text.len(), |a| a.dash);
    let words = text[..words_end].trim().to_string();
    // The date is the text of the last link (the status link) when there is one.
    let date = block
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a")
        .last()
        .map(|a| a.text().collect::<String>().trim().to_string())
        .filter(|d| {
            !d.is_empty()
                && attribution
                    .as_ref()
                    .is_some_and(|a| a.date.contains(d.as_str()))
        });
    let quote = Quote {
        text: (!words.is_empty()).then_some(words),
        author: attribution
            .as_ref()
            .map(|a| a.author.clone())
            .filter(|a| !a.is_empty()),
        handle: attribution.as_ref().map(|a| a.handle.clone()),
        date: date.or_else(|| attribution.map(|a| a.date)),
    };
    (!quote.is_empty()).then_some(quote)
}

/// Text with `<br>` and paragraph ends as newlines. Iterative: no recursion on
/// deeply nested markup.
fn visible_text(root: ElementRef<'_>, out: &mut String) {
    for edge in root.traverse() {
        match edge {
            ego_tree::iter::Edge::Open(node) => match node.value() {
                Node::Text(t) => out.push_str(t),
                Node::Element(e) if e.name() == "br" => out.push('\n'),
                _ => {}
            },
            ego_tree::iter::Edge::Close(node) => {
                if let Node::Element(e) = node.value()
                    && matches!(e.name(), "p" | "div" | "li")
                    && !out.ends_with('\n')
                {
                    out.push('\n');
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_oembed_blockquote() {
        let html = r#"<blockquote class="twitter-tweet" data-width="500"><p lang="en" dir="ltr">Celebrate &amp; enjoy<br>two lines <a href="https://t.co/4ZECodSK78">pic.twitter.com/4ZECodSK78</a></p>&mdash; WordPress (@WordPress) <a href="https://twitter.com/WordPress/status/987437752164737025?ref_src=twsrc%5Etfw">April 20, 2018</a></blockquote>"#;
        let q = from_blockquote(html.as_bytes()).unwrap();
        assert_eq!(
            q.text.as_deref(),
            Some("Celebrate & enjoy\ntwo lines pic.twitter.com/4ZECodSK78")
        );
        assert_eq!(q.author.as_deref(), Some("WordPress"));
        assert_eq!(q.handle.as_deref(), Some("WordPress"));
        assert_eq!(q.date.as_deref(), Some("April 20, 2018"));
    }

    #[test]
    fn localized_dates_are_kept_as_written() {
        let html = r#"<blockquote class="twitter-tweet" data-lang="ja"><p>こんにちは</p>&mdash; 名前 (@namae) <a href="https://twitter.com/namae/status/1">2018年3月21日</a></blockquote>"#;
        let q = from_blockquote(html.as_bytes()).unwrap();
        assert_eq!(q.date.as_deref(), Some("2018年3月21日"));
        assert_eq!(q.author.as_deref(), Some("名前"));
    }
}
