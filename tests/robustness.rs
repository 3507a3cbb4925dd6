//! Hostile and broken input: huge pages, deep nesting, unterminated constructs,
//! NUL bytes, invalid UTF-8, legacy charsets. Nothing panics, every span stays
//! inside the article, and embeds around the damage are still found.
//! Timing only as ratios (`stays_linear` tests: 4× the input must take less
//! than 10× the time, measured in the same test); absolute speed lives in
//! `benches/scan.rs`.

use embarc::{Form, Kind, Provider, detect};

const TWEET: &str = r#"<blockquote class="twitter-tweet"><p>hi</p>&mdash; A (@a) <a href="https://twitter.com/a/status/1453110110599868418">October 26, 2021</a></blockquote>"#;

fn check_spans(input: &[u8], kind: Kind) -> Vec<embarc::Embed> {
    let found = detect(input, kind);
    for e in &found {
        assert!(
            e.span.start <= e.span.end && e.span.end <= input.len(),
            "{e:?}"
        );
    }
    found
}

fn ids(found: &[embarc::Embed]) -> Vec<&str> {
    found.iter().filter_map(|e| e.id.as_deref()).collect()
}

#[test]
fn a_50_mb_one_line_page() {
    let mut page = String::from("<html><body><p>");
    let filler = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, twitter users say. ";
    while page.len() < 50_000_000 {
        page.push_str(filler);
    }
    page.push_str(TWEET);
    page.push_str("</p></body></html>");
    assert!(!page.contains('\n'));
    let found = check_spans(page.as_bytes(), Kind::Html);
    assert_eq!(ids(&found), ["1453110110599868418"]);
}

#[test]
fn a_50_mb_text_with_one_flattened_post_at_the_end() {
    let mut text = "Paragraph with a / slash and an @ sign and (parens). ".repeat(1_000_000);
    text.push_str("\n\nWords pic.twitter.com/AbCdEf1234\n— Name (@handle) June 20, 2024\n");
    let found = check_spans(text.as_bytes(), Kind::Text);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].form, Form::PlainText);
}

#[test]
fn one_hundred_thousand_nested_elements() {
    let depth = 100_000;
    let page = format!(
        "{}{TWEET}{}",
        "<div><span>".repeat(depth),
        "</span></div>".repeat(depth)
    );
    assert_eq!(
        ids(&check_spans(page.as_bytes(), Kind::Html)),
        ["1453110110599868418"]
    );

    // Nested embed containers that never close: bounded work, nothing invented.
    let page = r#"<blockquote class="twitter-tweet">"#.repeat(depth);
    assert!(check_spans(page.as_bytes(), Kind::Html).is_empty());

    let page = format!(
        "{}{}",
        r#"<blockquote class="twitter-tweet">"#.repeat(depth),
        TWEET
    );
    assert!(ids(&check_spans(page.as_bytes(), Kind::Html)).contains(&"1453110110599868418"));

    let page = r#"<a href="https://twitter.com/a/status/1">"#.repeat(depth);
    assert_eq!(check_spans(page.as_bytes(), Kind::Html).len(), depth);
}

#[test]
fn unterminated_comment_script_and_tags() {
    // Like a browser: an unterminated comment hides the rest of the page.
    let page = format!("<p>{TWEET}</p><!-- never closed {TWEET}");
    assert_eq!(
        ids(&check_spans(page.as_bytes(), Kind::Html)),
        ["1453110110599868418"]
    );
    // After each cut-off construct, the one embed found is the whole post
    // before it (not a piece of the damage, nor something else of length 1).
    for page in [
        format!("{TWEET}<script>var a = '{TWEET}';"),
        format!("{TWEET}<a href=\"https://twitter.com/b/status/2"),
        format!("{TWEET}<blockquote class=\"twitter-tweet\"><p>cut off"),
    ] {
        let found = check_spans(page.as_bytes(), Kind::Html);
        assert_eq!(found.len(), 1, "{page}: {found:?}");
        assert_eq!(
            found[0].id.as_deref(),
            Some("1453110110599868418"),
            "{page}"
        );
        assert_eq!(found[0].form, Form::Blockquote, "{page}");
        assert_eq!(
            (found[0].span.start, found[0].span.end),
            (0, TWEET.len()),
            "{page}"
        );
    }
}

#[test]
fn nul_bytes_and_invalid_utf8_around_an_embed() {
    let mut page = b"<p>\x00\x00 \xff\xfe\xc3( broken \x80</p>".to_vec();
    let start = page.len();
    page.extend_from_slice(TWEET.as_bytes());
    let end = page.len();
    page.extend_from_slice(b"\x00\xed\xa0\x80 more");
    let found = check_spans(&page, Kind::Html);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].span.start, found[0].span.end), (start, end));
    let text = b"\xc3\x28\x00 Words \xc3 pic.twitter.com/AbCdEf1234 \xff\n\xe2\x80\x94 Name (@handle) June 20, 2024\n";
    assert_eq!(check_spans(text, Kind::Text).len(), 1);
}

#[test]
fn charsets_keep_spans_in_the_original_bytes() {
    // windows-1252 (é = 0xE9), declared by http-equiv.
    let mut page = b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"><p>caf\xe9 \xe9t\xe9</p>".to_vec();
    let start = page.len();
    page.extend_from_slice(b"<blockquote class=\"twitter-tweet\"><p>d\xe9j\xe0 vu</p>&mdash; R\xe9mi (@remi) <a href=\"https://twitter.com/remi/status/20\">June 1, 2020</a></blockquote>");
    let end = page.len();
    page.extend_from_slice(b"<p>fin</p>");
    let found = check_spans(&page, Kind::Html);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].span.start, found[0].span.end), (start, end));
    let quote = found[0].quote.as_ref().expect("quote");
    assert_eq!(quote.text.as_deref(), Some("déjà vu"));
    assert_eq!(quote.author.as_deref(), Some("Rémi"));

    // UTF-8 with a BOM.
    let mut page = b"\xef\xbb\xbf".to_vec();
    page.extend_from_slice(TWEET.as_bytes());
    let found = check_spans(&page, Kind::Html);
    assert_eq!((found[0].span.start, found[0].span.end), (3, page.len()));

    // UTF-16BE with a BOM.
    let mut page = vec![0xFE, 0xFF];
    for u in TWEET.encode_utf16() {
        page.extend_from_slice(&u.to_be_bytes());
    }
    let found = check_spans(&page, Kind::Html);
    assert_eq!(found.len(), 1);
    assert_eq!((found[0].span.start, found[0].span.end), (2, page.len()));
    assert_eq!(found[0].provider, Provider::Twitter);
}

/// Builds the input at scale 1 and at scale 4 (`make(1)`, `make(4)`: the
/// second four times the size), times `run` on each (best of two runs, so a
/// busy machine's hiccup does not count), and asserts the larger took less
/// than 10× the smaller: linear work takes about 4×, quadratic 16×. The
/// small input is large enough (tens of ms) to be well above timer noise.
fn assert_linear<T>(what: &str, make: impl Fn(usize) -> T, run: impl Fn(&T, usize)) {
    let time = |input: &T, scale: usize| {
        (0..2)
            .map(|_| {
                let started = std::time::Instant::now();
                run(input, scale);
                started.elapsed()
            })
            .min()
            .unwrap_or_default()
    };
    let small = time(&make(1), 1);
    let large = time(&make(4), 4);
    let ratio = large.as_secs_f64() / small.as_secs_f64().max(1e-6);
    eprintln!("{what}: {small:?}, then {large:?} ({ratio:.1}x)");
    assert!(
        ratio < 10.0,
        "{what}: 4x the input took {ratio:.1}x the time ({small:?}, then {large:?})"
    );
}

#[test]
fn many_candidates_on_one_line_stay_linear() {
    // A page of nothing but near-misses: every detector's needle, no embed.
    let junk = "(@ /@ {{< {% t.co/ x.com twitter.com/ — - (@x) &mdash; <a href=x> ";
    for kind in [Kind::Html, Kind::Markdown, Kind::Text] {
        assert_linear(
            &format!("near-misses as {kind:?}"),
            |scale| junk.repeat(50_000 * scale),
            |page, _| assert!(check_spans(page.as_bytes(), kind).is_empty(), "{kind:?}"),
        );
    }
}

#[test]
fn adversarial_lines_stay_linear() {
    // Backtick runs of every length up to 3,000 (then 6,000: four times the
    // bytes) on one Markdown line, none matched.
    assert_linear(
        "backtick runs",
        |scale| {
            let mut line = String::new();
            for n in 1..3000 * scale.isqrt() {
                line.push_str(&"`".repeat(n));
                line.push_str(" x ");
            }
            line.push_str("https://twitter.com/a/status/1\n");
            line
        },
        |line, _| assert_eq!(check_spans(line.as_bytes(), Kind::Markdown).len(), 1),
    );

    // 50,000 (then 200,000) post URLs on one Markdown line.
    assert_linear(
        "post URLs on one line",
        |scale| "https://x.com/a/status/7 ".repeat(50_000 * scale),
        |urls, scale| {
            assert_eq!(
                check_spans(urls.as_bytes(), Kind::Markdown).len(),
                50_000 * scale
            )
        },
    );

    // A 5 MB line followed by 12,500 attribution lines (then 20 MB, 50,000).
    assert_linear(
        "a long line, then attributions",
        |scale| {
            let mut text = "w".repeat(5_000_000 * scale);
            for _ in 0..12_500 * scale {
                text.push_str("\nwords pic.twitter.com/AbCdEf1234 — Name (@handle) June 20, 2024");
            }
            text
        },
        |text, scale| {
            assert_eq!(
                check_spans(text.as_bytes(), Kind::Text).len(),
                12_500 * scale
            )
        },
    );
}
