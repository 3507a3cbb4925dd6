//! Regression tests, each named after what broke (found in review or by the
//! fuzzer): the input a user would have seen go wrong, and what they expect.

use embarc::scan::{Outcome, ScanOptions, scan_bytes};
use embarc::{Form, Kind, Provider, detect};

fn ids(src: &[u8], kind: Kind) -> Vec<(Form, String)> {
    detect(src, kind)
        .into_iter()
        .map(|e| (e.form, e.id.or(e.short_link).unwrap_or_default()))
        .collect()
}

fn tq(id: &str) -> String {
    format!(
        r#"<blockquote class="twitter-tweet"><p>t{id}</p>&mdash; N (@n{id}) <a href="https://twitter.com/n{id}/status/{id}">June 1, 2020</a></blockquote>"#
    )
}

#[test]
fn a_blockquote_nested_in_another_does_not_swallow_the_page() {
    let page = format!(
        r#"<blockquote class="twitter-tweet"><p>outer</p>{}&mdash; A (@a) <a href="https://twitter.com/a/status/1">June 1, 2020</a></blockquote>
<p><a href="https://twitter.com/c/status/3">three</a></p>
<blockquote class="instagram-media" data-instgrm-permalink="https://www.instagram.com/p/Cabc/"></blockquote>"#,
        tq("2")
    );
    assert_eq!(
        ids(page.as_bytes(), Kind::Html),
        [
            (Form::Blockquote, "1".into()),
            (Form::Link, "3".into()),
            (Form::Blockquote, "Cabc".into())
        ]
    );
}

#[test]
fn a_blockquote_closed_by_its_parent_ends_there() {
    let page = r#"<div><blockquote class="twitter-tweet"><p>x</p><a href="https://twitter.com/a/status/1">d</a></div><p><a href="https://twitter.com/b/status/2">two</a></p>"#;
    let found = detect(page.as_bytes(), Kind::Html);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(found[0].id.as_deref(), Some("1"));
    assert!(page[found[0].span.range()].ends_with("d</a>"));
    assert_eq!(
        (found[1].form, found[1].id.as_deref()),
        (Form::Link, Some("2"))
    );
}

#[test]
fn a_quote_with_thousands_of_unclosed_tags_is_not_parsed() {
    let mut page = String::from(r#"<blockquote class="twitter-tweet">"#);
    for i in 0..20_000 {
        page.push_str(&format!("<b id={i}>x"));
    }
    page.push_str(r#"<a href="https://twitter.com/a/status/1">June 1, 2020</a></blockquote>"#);
    let found = detect(page.as_bytes(), Kind::Html);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].quote, None);
}

#[test]
fn utf16_html_without_extension_is_sniffed_as_html() {
    let text = "<!doctype html>\n<p>上</p>\n<blockquote class=\"twitter-tweet\"><a href=\"https://twitter.com/a/status/401\">x</a></blockquote>";
    let mut bytes = vec![0xFF, 0xFE];
    for u in text.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let Outcome::Scanned { kind, embeds, .. } = scan_bytes(&bytes, None, &ScanOptions::default())
    else {
        panic!("not scanned")
    };
    assert_eq!(kind, Kind::Html);
    assert_eq!(embeds.len(), 1);
    assert_eq!(embeds[0].embed.form, Form::Blockquote);
    // `上` is U+4E0A: its low byte is not a newline.
    assert_eq!(embeds[0].line, 3);
}

#[test]
fn prose_lines_with_a_handle_are_not_flattened_posts() {
    let text =
        "- Jane Doe (@janedoe) keynote at 10:00\nThe author - Jane Smith (@jsmith) 3 min read\n";
    assert!(detect(text.as_bytes(), Kind::Text).is_empty());
    let md = "[ref]: https://x.com/a/status/321\n- Jane Doe (@janedoe) 12 talks\n";
    assert_eq!(
        ids(md.as_bytes(), Kind::Markdown),
        [(Form::Link, "321".into())]
    );
}

#[test]
fn a_flattened_post_does_not_swallow_a_link_before_it() {
    let page = r#"<p>Earlier: <a href="https://twitter.com/a/status/1">this</a><br>Words pic.twitter.com/AbCdEf1234<br>&mdash; Name (@name) June 20, 2024</p>"#;
    let found = detect(page.as_bytes(), Kind::Html);
    assert_eq!(found.len(), 2, "{found:?}");
    assert_eq!(
        (found[0].form, found[0].id.as_deref()),
        (Form::Link, Some("1"))
    );
    assert_eq!(found[1].form, Form::PlainText);
    assert!(page[found[1].span.range()].starts_with("Words"));
    let quote = found[1].quote.as_ref().expect("quote");
    assert_eq!(
        quote.text.as_deref(),
        Some("Words pic.twitter.com/AbCdEf1234")
    );
}

#[test]
fn a_short_link_after_another_post_is_still_reported() {
    let md = "Jack wrote https://x.com/jack/status/20 long ago.\n\nHere is the photo: https://t.co/AbCd123XyZ\n";
    assert_eq!(
        ids(md.as_bytes(), Kind::Markdown),
        [
            (Form::Link, "20".into()),
            (Form::ShortLink, "t.co/AbCd123XyZ".into())
        ]
    );
}

#[test]
fn a_remote_mastodon_status_is_found_in_every_form() {
    // A status of rstats.me as fosstodon.org shows it: the post is
    // fosstodon.org's (its id there), the handle the origin's.
    let url = "https://fosstodon.org/@simonpcouch@rstats.me/114870142263126875";
    let id = "fosstodon.org/114870142263126875";
    let html = format!(
        r#"<p>See <a href="{url}">this</a></p><blockquote class="mastodon-embed" data-embed-url="{url}/embed"><a href="{url}">x</a></blockquote><iframe src="{url}/embed" class="mastodon-embed"></iframe>"#
    );
    let found = detect(html.as_bytes(), Kind::Html);
    assert_eq!(found.len(), 3, "{found:?}");
    for e in &found {
        assert_eq!(e.provider, Provider::Mastodon);
        assert_eq!(e.id.as_deref(), Some(id));
    }
    assert_eq!(
        ids(format!("Text: {url} end").as_bytes(), Kind::Text),
        [(Form::Link, id.to_string())]
    );
    // A bare origin that is no host name is not a remote status.
    assert!(detect(b"https://fosstodon.org/@a@b/1", Kind::Text).is_empty());
}

#[test]
fn medium_style_slugs_are_not_mastodon_posts() {
    let page = r#"<a href="https://medium.com/@jane/10-tips-for-writing-rust-3f2a1b">x</a> <a href="https://blog.example/@team/2023-year-in-review">y</a>"#;
    assert!(detect(page.as_bytes(), Kind::Html).is_empty());
}

#[test]
fn the_prefilter_sees_a_shortcode_just_after_a_slash() {
    assert_eq!(
        ids(br#"Part 1/3 below {% twitter "20" %}"#, Kind::Markdown),
        [(Form::Shortcode, "20".into())]
    );
}

#[test]
fn hugo_shortcodes_without_spaces_span_the_braces() {
    let md = r#"See {{<tweet user="SanDiegoZoo" id="325">}} now"#;
    let found = detect(md.as_bytes(), Kind::Markdown);
    assert_eq!(found.len(), 1);
    assert_eq!(
        &md[found[0].span.range()],
        r#"{{<tweet user="SanDiegoZoo" id="325">}}"#
    );
}

#[test]
fn jsx_expression_ids_and_app_links() {
    assert_eq!(
        ids(br#"<Tweet id={"311"} />"#, Kind::Markdown),
        [(Form::Shortcode, "311".into())]
    );
    assert_eq!(
        ids(br#"<a href="twitter://status?id=115">app</a>"#, Kind::Html),
        [(Form::Link, "115".into())]
    );
}

#[test]
fn code_shown_in_html_is_not_an_embed() {
    let page = "<pre><code>&lt;a href=\"https://twitter.com/a/status/19\"&gt;</code></pre> and <code>https://x.com/a/status/20</code>";
    assert!(detect(page.as_bytes(), Kind::Html).is_empty());
}

#[test]
fn legacy_decoders_do_not_shift_spans() {
    // ISO-2022-JP: an escape sequence right before the link.
    let mut page = b"<meta charset=\"iso-2022-jp\"><p>\x1b$B$\"\x1b(B".to_vec();
    let at = page.len();
    page.extend_from_slice(b"<a href=\"https://twitter.com/a/status/4\">x</a>");
    let found = detect(&page, Kind::Html);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].span.start, at);
    // Shift_JIS: a stray lead byte just before the link.
    let mut page = b"<meta charset=\"shift_jis\"><p>\x82".to_vec();
    let at = page.len();
    page.extend_from_slice(b"<a href=\"https://twitter.com/a/status/5\">x</a>");
    let found = detect(&page, Kind::Html);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].span.start, at);
    assert_eq!(found[0].provider, Provider::Twitter);
}
