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

/// Reads the quote out of a Meta embed (Instagram's `blockquote.instagram-media`,
/// Threads' `blockquote.text-post-media`, Facebook's `div.fb-post` with its
/// `blockquote`): the caption or post text from its paragraphs (without
/// Meta's own "View this post on Instagram" / "View on Threads" links), the
/// author and handle from Instagram's "A photo posted by NAME (@handle) on
/// DATE" line or Facebook's "Posted by NAME on DATE".
pub fn from_meta_embed(markup: &[u8]) -> Option<Quote> {
    if markup.len() > MAX_FRAGMENT || memchr::memchr_iter(b'<', markup).nth(MAX_TAGS).is_some() {
        return None;
    }
    let html = String::from_utf8_lossy(markup);
    let fragment = Html::parse_fragment(&html);
    let block = fragment
        .root_element()
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "blockquote")?;
    let mut words: Vec<String> = Vec::new();
    let mut quote = Quote::default();
    for p in block
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "p")
    {
        let mut text = String::new();
        visible_text(p, &mut text);
        let text = text.trim();
        if let Some((author, handle, date)) = instagram_attribution(p, text) {
            quote.author = Some(author);
            quote.handle = handle;
            quote.date = date;
        } else if !(text.is_empty()
            || text.starts_with("View this post on Instagram")
            || text == "View on Threads")
        {
            words.push(text.to_string());
        }
    }
    // Facebook: `Posted by <a>NAME</a> on <a>DATE</a>` right in the blockquote.
    let direct: Vec<ElementRef<'_>> = block
        .children()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "a")
        .collect();
    let own_text: String = block
        .children()
        .filter_map(|n| n.value().as_text().map(|t| t.to_string()))
        .collect();
    if quote.author.is_none() && own_text.contains("Posted by") && !direct.is_empty() {
        let text_of = |e: &ElementRef<'_>| e.text().collect::<String>().trim().to_string();
        quote.author = Some(text_of(&direct[0])).filter(|a| !a.is_empty());
        if direct.len() > 1 {
            quote.date = direct.last().map(text_of).filter(|d| !d.is_empty());
        }
    }
    let words = words.join("\n\n");
    quote.text = (!words.is_empty()).then_some(words);
    (!quote.is_empty()).then_some(quote)
}

/// `A photo posted by NAME (@handle) on DATE` (and `A video posted by`,
/// `A post shared by`): the name, the handle, and the date (its `<time>`).
fn instagram_attribution(
    p: ElementRef<'_>,
    text: &str,
) -> Option<(String, Option<String>, Option<String>)> {
    let rest = [
        "A photo posted by ",
        "A video posted by ",
        "A post shared by ",
    ]
    .iter()
    .find_map(|lead| text.strip_prefix(lead))?;
    let (name, handle) = match rest.split_once(" (@") {
        Some((name, after)) => (name, after.split_once(')').map(|(h, _)| h.to_string())),
        None => (rest.split(" on ").next().unwrap_or(rest), None),
    };
    let date = p
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "time")
        .map(|t| t.text().collect::<String>().trim().to_string())
        .filter(|d| !d.is_empty());
    Some((name.trim().to_string(), handle, date))
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
    fn reads_meta_embeds() {
        let ig = r#"<blockquote class="instagram-media" data-instgrm-captioned data-instgrm-version="7"><div><p><a href="https://www.instagram.com/p/BMokmydjG-M/">Today, we&#39;re introducing Boomerang.</a></p> <p>A photo posted by Instagram (@instagram) on <time datetime="2016-11-10T15:02:28+00:00">Nov 10, 2016 at 7:02am PST</time></p></div></blockquote>"#;
        let q = from_meta_embed(ig.as_bytes()).unwrap();
        assert_eq!(
            q.text.as_deref(),
            Some("Today, we're introducing Boomerang.")
        );
        assert_eq!(q.author.as_deref(), Some("Instagram"));
        assert_eq!(q.handle.as_deref(), Some("instagram"));
        assert_eq!(q.date.as_deref(), Some("Nov 10, 2016 at 7:02am PST"));
        let fb = r#"<div class="fb-post"><blockquote cite="x" class="fb-xfbml-parse-ignore"><p>Birthday!</p>Posted by <a href="https://www.facebook.com/zuck">Mark Zuckerberg</a> on&nbsp;<a href="https://www.facebook.com/zuck/posts/1">Tuesday, January 12, 2016</a></blockquote></div>"#;
        let q = from_meta_embed(fb.as_bytes()).unwrap();
        assert_eq!(q.text.as_deref(), Some("Birthday!"));
        assert_eq!(q.author.as_deref(), Some("Mark Zuckerberg"));
        assert_eq!(q.date.as_deref(), Some("Tuesday, January 12, 2016"));
        let th = r#"<blockquote class="text-post-media"><a href="https://www.threads.com/t/X">View on Threads</a></blockquote>"#;
        assert_eq!(from_meta_embed(th.as_bytes()), None);
    }

    #[test]
    fn localized_dates_are_kept_as_written() {
        let html = r#"<blockquote class="twitter-tweet" data-lang="ja"><p>こんにちは</p>&mdash; 名前 (@namae) <a href="https://twitter.com/namae/status/1">2018年3月21日</a></blockquote>"#;
        let q = from_blockquote(html.as_bytes()).unwrap();
        assert_eq!(q.date.as_deref(), Some("2018年3月21日"));
        assert_eq!(q.author.as_deref(), Some("名前"));
    }
}
