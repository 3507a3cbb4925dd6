//! Laws that hold for every input: detect never panics and keeps spans inside
//! the article; the prefilter never hides an embed detection would find;
//! canonical post URLs are fixed points.

use embarc::detect::{detect_unfiltered, might_contain_embeds};
use embarc::providers::{UrlMatch, classify_url};
use embarc::{Kind, detect};
use proptest::prelude::*;

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![Just(Kind::Html), Just(Kind::Markdown), Just(Kind::Text)]
}

/// Pieces of real embeds and of the constructs around them, glued at random and
/// with random ASCII case, so generated inputs reach deep into the detectors.
fn piece() -> impl Strategy<Value = String> {
    let vocab = prop::sample::select(vec![
        "<blockquote class=\"twitter-tweet\">",
        "</blockquote>",
        "<p lang=\"en\">",
        "</p>",
        "&mdash; Name (@handle) ",
        "— नाम (@h_1) 20 जून 2024\n",
        "<a href=\"https://twitter.com/u/status/1453110110599868418?ref_src=twsrc%5Etfw\">",
        "https://x.com/i/web/status/20",
        "</a>",
        "pic.twitter.com/AbCdEf1234",
        "https://t.co/AbCdEf1234",
        "<!--",
        "-->",
        "<!-- wp:embed {\"url\":\"https://twitter.com/a/status/5\",\"providerNameSlug\":\"twitter\"} -->",
        "<!-- /wp:embed -->",
        "<figure class=\"wp-block-embed-twitter\">",
        "<script>",
        "</script>",
        "<amp-twitter data-tweetid=\"885634330868850689\">",
        "<iframe data-tweet-id=\"7\" src=\"https://platform.twitter.com/embed/Tweet.html?id=7\">",
        "</iframe>",
        "<div class=\"fb-post\" data-href=\"https://www.facebook.com/p/posts/12\">",
        "</div>",
        "<blockquote class=\"bluesky-embed\" data-bluesky-uri=\"at://did:plc:x/app.bsky.feed.post/3abc\">",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://fosstodon.org/@u/111725444131565682",
        "{{< tweet user=\"u\" id=\"20\" >}}",
        "{% twitter https://twitter.com/u/status/21 %}",
        "<Tweet id=\"22\" />",
        "```\n",
        "`",
        "[t](https://bsky.app/profile/a.b/post/3x)",
        "\n\n",
        "\n",
        " ",
        "&amp;",
        "&#x2014;",
        "\u{0}",
        "\u{feff}",
        "日本語",
        "<",
        ">",
        "\"",
        "'",
    ]);
    (vocab, any::<u64>()).prop_map(|(s, seed)| {
        s.chars()
            .enumerate()
            .map(|(i, c)| {
                if seed >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    })
}

fn shaped() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop_oneof![4 => piece().prop_map(String::into_bytes), 1 => prop::collection::vec(any::<u8>(), 0..8)], 0..40)
        .prop_map(|parts| parts.concat())
}

fn spans_inside(input: &[u8], kind: Kind) {
    for e in detect(input, kind) {
        assert!(
            e.span.start <= e.span.end && e.span.end <= input.len(),
            "{e:?}"
        );
        assert!(
            e.id.is_some() || e.short_link.is_some() || e.quote.is_some(),
            "{e:?}"
        );
    }
}

/// Embed-shaped input with a few bytes deleted, replaced or doubled: near
/// misses, which the prefilter should sometimes turn away and detection must
/// then find nothing in.
fn near_miss() -> impl Strategy<Value = Vec<u8>> {
    let edit = (any::<prop::sample::Index>(), 0u8..3, any::<u8>());
    (
        prop::collection::vec(piece(), 1..5),
        prop::collection::vec(edit, 1..4),
    )
        .prop_map(|(parts, edits)| {
            let mut bytes = parts.concat().into_bytes();
            for (at, op, b) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at.index(bytes.len());
                match op {
                    0 => {
                        bytes.remove(i);
                    }
                    1 => bytes[i] = b,
                    _ => bytes.insert(i, bytes[i]),
                }
            }
            bytes
        })
}

/// Run by hand (not through `proptest!`) to count both sides of the law: a
/// law checked only when the prefilter says no passes vacuously on inputs it
/// always lets through, so the test also demands that many inputs were turned
/// away (and checked) and many had embeds (and were let through).
#[test]
fn the_prefilter_never_hides_an_embed() {
    use proptest::test_runner::{Config, TestRunner};
    use std::sync::atomic::{AtomicU32, Ordering};
    let (turned_away, let_through) = (AtomicU32::new(0), AtomicU32::new(0));
    let mut runner = TestRunner::new(Config {
        cases: 3000,
        failure_persistence: None,
        ..Config::default()
    });
    let inputs = (prop_oneof![shaped(), near_miss()], kind());
    let result = runner.run(&inputs, |(input, kind)| {
        let found = detect_unfiltered(&input, kind);
        if might_contain_embeds(&input) {
            if !found.is_empty() {
                let_through.fetch_add(1, Ordering::Relaxed);
            }
        } else {
            turned_away.fetch_add(1, Ordering::Relaxed);
            prop_assert!(
                found.is_empty(),
                "the prefilter hides {found:?} in {:?}",
                String::from_utf8_lossy(&input)
            );
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (no, yes) = (turned_away.into_inner(), let_through.into_inner());
    assert!(
        no >= 150 && yes >= 1000,
        "too few inputs reach the law: {no} turned away, {yes} with embeds let through"
    );
    eprintln!("prefilter: {no} turned away, {yes} with embeds let through");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn detect_never_panics_on_any_bytes(input in prop::collection::vec(any::<u8>(), 0..4096), kind in kind()) {
        spans_inside(&input, kind);
    }

    #[test]
    fn detect_never_panics_on_embed_shaped_input(input in shaped(), kind in kind()) {
        spans_inside(&input, kind);
    }

    #[test]
    fn canonical_urls_are_fixed_points(
        host in prop::sample::select(vec!["twitter.com", "www.twitter.com", "mobile.twitter.com", "x.com", "fxtwitter.com", "vxtwitter.com", "fixupx.com", "nitter.net"]),
        user in "[A-Za-z0-9_]{1,15}",
        id in 1u64..u64::MAX,
        path in prop::sample::select(vec!["status", "statuses"]),
        tail in prop::sample::select(vec!["", "/photo/1", "/video/2", "?s=20&t=abc", "#frag", "?ref_src=twsrc%5Etfw"]),
    ) {
        let url = format!("https://{host}/{user}/{path}/{id}{tail}");
        let Some(UrlMatch::Post(p, post)) = classify_url(&url) else { panic!("not a post: {url}") };
        prop_assert_eq!(&post.id, &id.to_string());
        let Some(UrlMatch::Post(p2, again)) = classify_url(&post.url) else { panic!("canonical not a post: {}", post.url) };
        prop_assert_eq!(p, p2);
        prop_assert_eq!(again, post);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Whatever indices an answer carries, parsing never panics and the text
    /// stays made of the tweet's own characters.
    #[test]
    fn syndication_entities_never_panic(
        text in "\\PC{0,40}",
        a in 0usize..60, b in 0usize..60, c in 0usize..60, d in 0usize..60, lo in 0usize..50, hi in 0usize..80,
    ) {
        let body = serde_json::json!({
            "__typename": "Tweet", "id_str": "1", "text": text, "display_text_range": [lo, hi],
            "entities": {
                "hashtags": [{"indices": [a, b], "text": "t"}],
                "urls": [{"indices": [c, d], "url": "https://t.co/x", "display_url": "x.y", "expanded_url": "https://x.y/"}],
                "media": [{"indices": [b, c]}],
                "user_mentions": {},
            },
            "user": {"name": "n", "screen_name": "s"},
        });
        let parsed = embarc::capture::twitter::syndication::parse(body.to_string().as_bytes());
        prop_assert!(parsed.is_ok());
    }

    #[test]
    fn syndication_parse_never_panics(body in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = embarc::capture::twitter::syndication::parse(&body);
    }
}

/// Text with the pieces an attacker would put in a post: markup, quotes,
/// `javascript:`, event handlers, entities, emoji and flags.
fn hostile_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        prop::sample::select(vec![
            "<",
            ">",
            "\"",
            "'",
            "&",
            "&amp;",
            "&lt;b&gt;",
            "javascript:alert(1)",
            " onerror=alert(1) ",
            "<script>alert(1)</script>",
            "</p></figure>",
            "<img src=x onerror=y>",
            "🇺🇦",
            "👍🏽",
            "\u{202E}",
            "https://",
            "\n",
            "`",
            "=",
            "{{",
            "\r",
            "\r\n",
            "\t",
            "\u{0}",
            "[x](javascript:alert(1))",
            "![i](https://evil.example/p.png)",
            "<!--",
            "}}",
            "{%",
        ])
        .prop_map(str::to_string),
        "\\PC{0,6}",
    ];
    prop::collection::vec(piece, 0..12).prop_map(|v| v.concat())
}

fn card_of(
    name: &str,
    text: &str,
    link: &str,
    href: &str,
    alt: &str,
    handle: &str,
    url: &str,
) -> String {
    use embarc::post::{
        Asset, Author, Counts, MediaItem, MediaKind, Post, PostId, ReplyTo, StoredFile, TextSpan,
    };
    use embarc::render::{card, view};
    use embarc::store::record::{CaptureOutcome, CaptureRecord, Media};
    let photo = "https://pbs.twimg.com/media/P.jpg?name=orig";
    let digest = embarc::store::Digest::of(b"p");
    let stored = StoredFile {
        digest,
        url: photo.into(),
        bytes: 1,
        mime: Some("image/jpeg".into()),
    };
    let post = Post {
        url: Some(url.into()),
        author: Author {
            name: name.into(),
            handle: Some(handle.into()),
            url: Some(format!("https://x.com/{handle}")),
            ..Author::default()
        },
        created_at: Some("2024-06-20T10:00:00Z".into()),
        lang: Some(handle.into()),
        text: format!("{text}{link}@{handle}#{link}"),
        spans: vec![
            TextSpan::Text { text: text.into() },
            TextSpan::Link {
                text: link.into(),
                href: href.into(),
            },
            TextSpan::Mention {
                text: format!("@{handle}"),
                handle: handle.into(),
                href: Some(format!("https://x.com/{handle}")),
            },
            TextSpan::Tag {
                text: format!("#{link}"),
                tag: link.into(),
                href: Some(format!("https://x.com/hashtag/{link}")),
            },
        ],
        media: vec![MediaItem {
            kind: MediaKind::Photo,
            file: Asset {
                url: photo.into(),
                fallbacks: Vec::new(),
                sha256: None,
                stored: Some(stored),
            },
            poster: None,
            alt: Some(alt.into()),
            width: Some(4),
            height: Some(3),
        }],
        reply_to: Some(ReplyTo {
            handle: handle.into(),
            url: Some(link.into()),
        }),
        counts: Counts {
            likes: Some(5),
            replies: Some(0),
            reposts: None,
        },
        ..Post::default()
    };
    let key = PostId::new(embarc::Provider::Twitter, "1");
    let mut record = CaptureRecord::new(
        key,
        url.into(),
        time::OffsetDateTime::UNIX_EPOCH,
        CaptureOutcome::Ok,
    );
    record.normalized = Some(post);
    record.media.push(Media {
        role: "photo".into(),
        url: photo.into(),
        digest,
        bytes: 1,
        content_type: Some("image/jpeg".into()),
    });
    record.exchanges.push(embarc::net::Exchange {
        url: href.into(),
        via: None,
        method: "GET".into(),
        status: 200,
        headers: vec![("x-note".into(), text.into())],
        body: Some(digest),
        body_bytes: 1,
        started_at: time::OffsetDateTime::UNIX_EPOCH,
        duration_ms: 1,
        user_agent: None,
    });
    // Through the record's JSON: whole, and as render reads it (without the
    // exchanges); both readers see the same post.
    let json = serde_json::to_vec(&record).expect("JSON");
    let read: CaptureRecord = serde_json::from_slice(&json).expect("readable");
    assert_eq!(read, record);
    let capture: view::Capture = serde_json::from_slice(&json).expect("readable by render");
    assert_eq!(capture, view::Capture::from(read));
    let v = view::post_view("twitter:1", &[capture], None).expect("a view");
    card::card_html(
        &v,
        &card::CardOptions::default(),
        &mut card::MediaLinks::new("media/"),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    /// Whatever a post's name, text, link, alt text, handle and URL say, the
    /// card is only the elements the template writes, with no handler and no
    /// link but http(s), and every string reads back as the text it was.
    #[test]
    fn post_fields_never_become_markup(
        name in hostile_text(), text in hostile_text(), link in hostile_text(),
        href in hostile_text(), alt in hostile_text(), handle in hostile_text(), url in hostile_text(),
    ) {
        use scraper::{Html, Selector};
        let html = card_of(&name, &text, &link, &href, &alt, &handle, &url);
        let doc = Html::parse_fragment(&html);
        let allowed = ["html", "figure", "blockquote", "header", "img", "span", "a", "svg", "title", "path",
                       "p", "br", "div", "footer", "time"];
        for e in doc.select(&Selector::parse("*").expect("sel")) {
            prop_assert!(allowed.contains(&e.value().name()), "element {} in {}", e.value().name(), html);
            for (k, v) in e.value().attrs() {
                prop_assert!(!k.starts_with("on"), "{}={} in {}", k, v, html);
                if matches!(k, "href" | "src" | "cite") {
                    prop_assert!(v.starts_with("https://") || v.starts_with("http://") || v.starts_with("media/"), "{}={}", k, v);
                }
            }
        }
        let img = doc.select(&Selector::parse(".embarc-media img").expect("sel")).next().expect("photo");
        let one_line = |s: &str| -> String {
            s.replace(['\r', '\n'], " ")
                .chars()
                .filter(|c| !c.is_control() || *c == '\t')
                .map(|c| if c == '\t' { ' ' } else { c })
                .collect()
        };
        let want_alt = Some(one_line(&alt)).filter(|a| !a.trim().is_empty()).unwrap_or_else(|| "Image".into());
        prop_assert_eq!(img.value().attr("alt").map(str::to_string), Some(want_alt));
        let shown: String = doc
            .select(&Selector::parse(".embarc-text").expect("sel"))
            .next()
            .expect("text")
            .text()
            .collect();
        let text_part: String = text
            .replace("\r\n", "\n")
            .chars()
            .filter(|c| !c.is_control() || *c == '\t')
            .map(|c| if c == '\t' { ' ' } else { c })
            .collect();
        prop_assert!(shown.starts_with(&text_part), "{:?} vs {:?}", shown, text_part);
        // In a Markdown page the card stays one HTML block: nothing in it is
        // read as Markdown (no link or image made from a post's text).
        {
            use embarc::render::page::{self, PageOptions, Replacement};
            let md = b"Intro.\n\n{{< tweet id=\"1\" >}}\n\nEnd.\n";
            let span = embarc::Span { start: 8, end: 28 };
            let out = page::rewrite(md, embarc::Kind::Markdown, &[Replacement { span, html: html.clone() }], &PageOptions::default());
            let out = String::from_utf8(out).expect("UTF-8 page");
            let page_doc = Html::parse_document(&out);
            for e in page_doc.select(&Selector::parse("a, img").expect("sel")) {
                for k in ["href", "src"] {
                    if let Some(v) = e.value().attr(k) {
                        prop_assert!(v.starts_with("https://") || v.starts_with("http://") || v.starts_with("media/"), "{}={} in {}", k, v, out);
                        // Pictures are only the archived media (never a Markdown image).
                        prop_assert!(k != "src" || v.starts_with("media/"), "{}={} in {}", k, v, out);
                    }
                }
            }
            prop_assert!(out.contains("<p>End.</p>"), "{}", out);
        }
        let name_shown: String = doc
            .select(&Selector::parse(".embarc-name").expect("sel"))
            .next()
            .expect("name")
            .text()
            .collect();
        let want = one_line(&name);
        prop_assert_eq!(name_shown.trim(), want.trim());
    }
}
