//! The syndication parser on real answers captured from X
//! (`tests/fixtures/corpus/responses/syndication/`): what a reader of the archive
//! would check — the text as displayed, the media to fetch at full quality, the
//! quoted post, the card, tombstones and X's `{}` for empty lists; and the fake
//! X's own token function against node's tokens, so the fake checks embarc's
//! tokens with an independent witness.

mod support;

use embarc::capture::twitter::syndication::{Answer, MediaKind, Segment, Tweet, parse};
use std::path::PathBuf;

fn response(name: &str) -> Vec<u8> {
    let dir = std::env::var_os("EMBARC_RESPONSES")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/responses")
        });
    let path = dir.join("syndication").join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set EMBARC_RESPONSES)", path.display()))
}

fn tweet(name: &str) -> Tweet {
    match parse(&response(name)).expect("parse") {
        Answer::Tweet(t) => *t,
        other => panic!("{name}: not a tweet: {other:?}"),
    }
}

#[test]
fn photo_tweet_text_links_and_media() {
    let t = tweet("1641086480675225601.json");
    assert_eq!(t.id, "1641086480675225601");
    assert_eq!(t.author.handle, "SamuelSusla");
    assert_eq!(t.author.name, "sammy");
    assert_eq!(
        t.author.avatar.as_deref(),
        Some("https://pbs.twimg.com/profile_images/1042172116911697920/JkIt3onc.jpg")
    );
    assert_eq!(
        t.text,
        "If you are interested about View Flattening in React Native, I wrote a short post about it: \
         https://github.com/reactwg/react-native-new-architecture/discussions/110\n\nLet me know what you think!"
    );
    assert!(t.segments.contains(&Segment::Link {
        display: "github.com/reactwg/react-…".into(),
        href: "https://github.com/reactwg/react-native-new-architecture/discussions/110".into()
    }));
    assert!(!t.text.contains("t.co"), "the media link is not text");
    assert_eq!(t.media.len(), 1);
    let photo = &t.media[0];
    assert_eq!(photo.kind, MediaKind::Photo);
    assert!(
        photo.url.starts_with("https://pbs.twimg.com/media/") && photo.url.ends_with("&name=orig"),
        "{}",
        photo.url
    );
    assert!(
        photo.fallbacks[0].ends_with("name=4096x4096")
            && photo.fallbacks[1].ends_with("name=large")
    );
    assert_eq!(t.created_at.as_deref(), Some("2023-03-29T14:34:41.000Z"));
}

#[test]
fn video_takes_the_highest_bitrate_mp4_and_its_poster() {
    let t = tweet("1684218600456876032.json");
    let video = t
        .media
        .iter()
        .find(|m| m.kind == MediaKind::Video)
        .expect("video");
    assert!(video.url.contains(".mp4"), "{}", video.url);
    assert!(!video.url.contains("m3u8"));
    assert_eq!(video.fallbacks.len(), 2, "the other two MP4 variants");
    assert_eq!(
        video.poster.as_deref(),
        Some(
            "https://pbs.twimg.com/amplify_video_thumb/1684020091854225408/img/xtWb477NwDzZ1VvG.jpg"
        )
    );
    // The 2,176 kbit/s variant is the best of 288, 832 and 2176.
    let raw: serde_json::Value =
        serde_json::from_slice(&response("1684218600456876032.json")).expect("json");
    let best = raw["mediaDetails"][0]["video_info"]["variants"]
        .as_array()
        .expect("variants")
        .iter()
        .find(|v| v["bitrate"] == 2176000)
        .expect("2176000");
    assert_eq!(video.url, best["url"].as_str().expect("url"));
}

#[test]
fn quoted_post_is_parsed_with_its_media() {
    let t = tweet("1641895049427550208.json");
    let q = t.quoted.as_ref().expect("quoted post");
    assert_ne!(q.id, t.id);
    assert!(!q.author.handle.is_empty());
    assert!(
        !q.media.is_empty(),
        "the quoted post's media are archived too"
    );
}

#[test]
fn card_gives_title_and_largest_image() {
    let t = tweet("1629262255744503809.json");
    let card = t.card.as_ref().expect("card");
    assert_eq!(card.name, "summary_large_image");
    assert_eq!(card.title.as_deref(), Some("Tutorial: Tic-Tac-Toe – React"));
    assert_eq!(card.domain.as_deref(), Some("react.dev"));
    assert!(
        card.image
            .as_deref()
            .expect("image")
            .starts_with("https://pbs.twimg.com/card_img/")
    );
}

#[test]
fn empty_entity_lists_sent_as_objects_are_tolerated() {
    let t = tweet("2023357708301455483.json");
    assert!(
        t.text.starts_with("Underdocumented: `bun build --compile`"),
        "{}",
        t.text
    );
    assert!(t.segments.iter().all(|s| matches!(s, Segment::Text { .. })));
}

#[test]
fn tombstones_say_the_post_is_gone() {
    match parse(&response("tombstone-deleted.json")).expect("parse") {
        Answer::Tombstone(Some(text)) => assert!(text.contains("deleted"), "{text}"),
        other => panic!("not a tombstone: {other:?}"),
    }
}

#[test]
fn an_elided_document_is_an_error_not_a_panic() {
    assert!(parse(&response("2023205364368351634.elided.txt")).is_err());
}

/// The fake X checks tokens with its own port of V8, never embarc's: it must
/// agree with node on every committed vector and on providers.md's table.
#[test]
fn the_fake_x_computes_tokens_as_node_does() {
    let vectors = support::fake_x::node_tokens();
    assert!(vectors.len() >= 3000, "{}", vectors.len());
    let wrong: Vec<_> = vectors
        .iter()
        .filter(|(id, token)| support::fake_x::token(*id) != *token)
        .map(|(id, token)| (id, token, support::fake_x::token(*id)))
        .collect();
    assert!(wrong.is_empty(), "id, node, fake: {wrong:?}");
    for (id, token) in [
        (20, "6dq1a2xwd93"),
        (1629307668568633344, "3y6mctgwzxo"),
        (1641086480675225601, "3z7miaszni8"),
        (1684218600456876032, "42z4mwgp9h8"),
        (1859009181009924354, "4i88zgool6"),
    ] {
        assert_eq!(support::fake_x::token(id), token, "{id}");
    }
}
