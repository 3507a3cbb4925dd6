//! Bluesky capture end to end: the real binary against a local server that
//! plays the public AppView, plc.directory, a PDS and the CDNs
//! (`support::fake_bluesky`, `--mirror`), from real answers. An article
//! with Bluesky embeds is archived (four images with their CIDs checked, a
//! video, a quote captured as its own post, a reply, a deleted post), a
//! handle URL, a DID URL and an `at://` URI name one post, a corrupted blob
//! and a PDS on a private address fail by name, and the archive renders,
//! exports, lists and shows them. The CID code is checked against the AT
//! Protocol's interoperability vectors first.

mod support;

use assert_cmd::Command;
use embarc::capture::bluesky::cid::{Cid, DAG_CBOR, RAW};
use serde_json::Value;
use std::path::Path;
use support::fake_bluesky::{self, CORRUPT_CID, FOUR_DID, FOUR_HANDLE, FOUR_RKEY, PRIVATE_PDS_DID};

fn four_label() -> String {
    format!("bluesky:{FOUR_DID}/{FOUR_RKEY}")
}

/// Runs embarc with the fake's mirrors: exit code, JSON lines, stderr.
fn embarc(base: &str, archive: &Path, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.arg("--archive").arg(archive).args(args);
    for m in fake_bluesky::mirror_flags(base) {
        cmd.arg("--mirror").arg(m);
    }
    let out = cmd.output().expect("run");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn line<'a>(lines: &'a [Value], post: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["post"] == post)
        .unwrap_or_else(|| panic!("no line for {post}: {lines:#?}"))
}

/// RFC 4648 base64 (the interop file's `cbor_base64`, unpadded).
fn base64(s: &str) -> Vec<u8> {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let (mut out, mut buf, mut bits) = (Vec::new(), 0u32, 0);
    for c in s.bytes().filter(|c| *c != b'=') {
        buf = (buf << 6) | A.iter().position(|a| *a == c).expect("base64") as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    out
}

#[test]
fn cids_match_the_atproto_interop_vectors() {
    let path = fake_bluesky::responses_dir().join("interop-data-model-fixtures.json");
    let fixtures: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("JSON");
    assert!(fixtures.len() >= 3);
    for f in &fixtures {
        let bytes = base64(f["cbor_base64"].as_str().expect("cbor"));
        let want = f["cid"].as_str().expect("cid");
        assert_eq!(Cid::of(DAG_CBOR, &bytes).to_string(), want);
        assert_eq!(Cid::parse(want), Some(Cid::of(DAG_CBOR, &bytes)));
    }
    // The blob link in the second vector: its CBOR carries the CID's binary
    // form (tag 42: 0x00, then 0x01 0x55 0x12 0x20 and the digest).
    let blob = "bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity";
    let cbor = base64(fixtures[1]["cbor_base64"].as_str().expect("cbor"));
    let at = cbor
        .windows(5)
        .position(|w| w == [0x00, 0x01, 0x55, 0x12, 0x20])
        .expect("a raw CID in the CBOR");
    let cid = Cid::parse(blob).expect("parses");
    assert_eq!(cid.codec, RAW);
    assert_eq!(&cid.sha256[..], &cbor[at + 5..at + 37]);
}

fn article() -> String {
    let bq = |did: &str, rkey: &str| {
        format!(
            r#"<blockquote class="bluesky-embed" data-bluesky-uri="at://{did}/app.bsky.feed.post/{rkey}"><p>quoted here</p>&mdash; Someone (<a href="https://bsky.app/profile/{did}">@someone</a>) <a href="https://bsky.app/profile/{did}/post/{rkey}?ref_src=embed">February 7, 2025</a></blockquote>"#
        )
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sky</title></head><body><h1>Sky</h1>\n{}\n{}\n{}\n{}\n{}\n<script async src=\"https://embed.bsky.app/static/embed.js\" charset=\"utf-8\"></script></body></html>\n",
        bq(FOUR_DID, FOUR_RKEY),
        bq("did:plc:oio4hkxaop4ao4wz2pp3f4cr", "3lhlu3l65522g"),
        bq("did:plc:z72i7hdynmk6r22z27h6tvur", "3l6oveex3ii2l"),
        bq("did:plc:uy7ehrx332p6dow5sk32hxzq", "3k7rmyigapw2y"),
        bq("did:plc:z72i7hdynmk6r22z27h6tvur", "3lgone2deleted"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_with_bluesky_embeds_is_archived_rendered_and_exported() {
    let (server, blobs) = fake_bluesky::start(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let story = dir.path().join("story.html");
    std::fs::write(&story, article()).expect("write");
    let story_arg = story.to_str().expect("utf-8");

    let (code, lines, err) = embarc(&server.base, &archive, &["archive", story_arg, "--json"]);
    // A deleted post is an answer, not a failure: exit 0.
    assert_eq!(code, Some(0), "{err} {lines:#?}");
    let four = line(&lines, &four_label());
    assert_eq!(four["outcome"], "archived", "{four}");
    // Four photos and the avatar, each from the PDS.
    assert_eq!(four["media"], 5, "{four}");
    let quote = line(
        &lines,
        "bluesky:did:plc:oio4hkxaop4ao4wz2pp3f4cr/3lhlu3l65522g",
    );
    assert_eq!(quote["outcome"], "archived", "{quote}");
    let video = line(
        &lines,
        "bluesky:did:plc:z72i7hdynmk6r22z27h6tvur/3l6oveex3ii2l",
    );
    assert_eq!(video["outcome"], "archived", "{video}");
    let reply = line(
        &lines,
        "bluesky:did:plc:uy7ehrx332p6dow5sk32hxzq/3k7rmyigapw2y",
    );
    assert_eq!(reply["outcome"], "archived", "{reply}");
    let gone = line(
        &lines,
        "bluesky:did:plc:z72i7hdynmk6r22z27h6tvur/3lgone2deleted",
    );
    assert_eq!(gone["outcome"], "not_found", "{gone}");

    // The stored photos are the PDS's bytes, whose sha256 each CID carries.
    let (code, shown, err) = embarc(&server.base, &archive, &["show", "--json", &four_label()]);
    assert_eq!(code, Some(0), "{err}");
    let capture = &shown[0];
    let media = capture["media"].as_array().expect("media");
    let photos: Vec<&Value> = media.iter().filter(|m| m["role"] == "photo").collect();
    assert_eq!(photos.len(), 4, "{capture:#}");
    for (m, old) in photos.iter().zip([
        "bafkreicjr5ezdgwv6z4zcxv2egqjmaox6ocplsrhvubmmfqyuh6dybhfma",
        "bafkreicjcy7iknl2tqviybl62yzvcfz7apwz7ft4neuilvsmd5pya747du",
        CORRUPT_CID,
        "bafkreigpvz3d2jh46oeadhlraczhz46kajrtsrztcekf44f7ih3amgziby",
    ]) {
        let url = m["url"].as_str().expect("url");
        assert!(
            url.starts_with("https://pds.example.com/xrpc/com.atproto.sync.getBlob?did="),
            "{url}"
        );
        let digest = embarc::store::Digest::of(blobs.bytes(old));
        assert_eq!(
            m["digest"].as_str(),
            Some(digest.to_string().as_str()),
            "{m}"
        );
    }

    // The quoted post was captured as a post of its own, from the same answer.
    let (code, q, err) = embarc(
        &server.base,
        &archive,
        &[
            "show",
            "--json",
            "bluesky:did:plc:7exlcsle4mjfhu3wnhcgizz6/3lhljcua7lv2e",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(q[0]["outcome"], "ok", "{q:#?}");

    // A handle URL, an at:// URI and the DID URL name the same post.
    for u in [
        format!("https://bsky.app/profile/{FOUR_HANDLE}/post/{FOUR_RKEY}"),
        format!("at://{FOUR_DID}/app.bsky.feed.post/{FOUR_RKEY}"),
        format!("https://bsky.app/profile/{FOUR_DID}/post/{FOUR_RKEY}"),
    ] {
        let (code, lines, err) = embarc(&server.base, &archive, &["add", &u, "--json"]);
        assert_eq!(code, Some(0), "{u}: {err}");
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert_eq!(lines[0]["post"], four_label(), "{u}");
        assert_eq!(lines[0]["outcome"], "unchanged", "{u}");
    }
    // Asked once, with depth 0 and the parent only, however often it is named.
    assert_eq!(
        server.count(&format!(
            "/appview/xrpc/app.bsky.feed.getPostThread?uri=at%3A%2F%2F{}%2Fapp.bsky.feed.post%2F{FOUR_RKEY}&depth=0&parentHeight=1",
            FOUR_DID.replace(':', "%3A")
        )),
        1
    );
    // show finds it by its handle URL too, from the archived resolution.
    let by_handle = format!("https://bsky.app/profile/{FOUR_HANDLE}/post/{FOUR_RKEY}");
    let (code, shown, err) = embarc(&server.base, &archive, &["show", "--json", &by_handle]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(shown[0]["post"], four_label(), "{shown:#?}");
    assert_eq!(
        server.count(&format!(
            "/appview/xrpc/com.atproto.identity.resolveHandle?handle={FOUR_HANDLE}"
        )),
        1,
        "the handle is resolved once"
    );

    // render: the card, script-free, with the stored media.
    let out = dir.path().join("out");
    let (code, _, err) = embarc(
        &server.base,
        &archive,
        &["render", story_arg, "-o", out.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(0), "{err}");
    let html = std::fs::read_to_string(out.join("story.html")).expect("rendered");
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("Dan O’Leary"), "{html}");
    assert!(html.contains("@danoleary.bsky.social"), "{html}");
    assert!(
        html.contains(r#"href="https://bsky.app/profile/danoleary.bsky.social""#),
        "{html}"
    );
    // The link after an emoji (facets count bytes) and the hashtag.
    assert!(html.contains(r#"<a href="https://www.apple.com/mac/" rel="noopener noreferrer nofollow">apple.com/mac</a>"#), "{html}");
    assert!(
        html.contains(r#"href="https://bsky.app/hashtag/Mac""#),
        "{html}"
    );
    // Post text and alt text escaped.
    assert!(html.contains("#Mac</a> &#60;script&#62;</p>"), "{html}");
    assert!(
        html.contains(r#"alt="The new M4 &#60;b&#62;&#38;amp;&#60;/b&#62;""#),
        "{html}"
    );
    for m in &photos {
        let hex = m["digest"]
            .as_str()
            .expect("digest")
            .trim_start_matches("sha256:");
        assert!(
            html.contains(&format!("media/{hex}.png")),
            "{hex} in {html}"
        );
        assert!(out.join("media").join(format!("{hex}.png")).is_file());
    }
    assert!(html.contains("Read on Bluesky"), "{html}");
    assert!(
        html.contains("Apple ordered to open encrypted user accounts"),
        "the quote: {html}"
    );
    assert!(html.contains("<video"), "the video: {html}");
    assert!(html.contains("Replying to"), "the reply: {html}");

    // export: the AppView's answer and the blobs are in the WARC.
    let warc = dir.path().join("all.warc.gz");
    let (code, _, err) = embarc(
        &server.base,
        &archive,
        &["export", "--warc", warc.to_str().expect("utf-8")],
    );
    assert_eq!(code, Some(0), "{err}");
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&warc).expect("warc")),
        &mut raw,
    )
    .expect("gunzip");
    let text = String::from_utf8_lossy(&raw);
    let targets: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("WARC-Target-URI"))
        .collect();
    assert!(text.contains("WARC-Target-URI: https://public.api.bsky.app/xrpc/app.bsky.feed.getPostThread?uri=at%3A%2F%2Fdid%3Aplc%3Az7ja7uhcr5is6uqmnsjyn3k7"), "getPostThread in the WARC: {targets:#?}");
    assert!(
        text.contains("WARC-Target-URI: https://pds.example.com/xrpc/com.atproto.sync.getBlob"),
        "getBlob in the WARC"
    );
    assert!(
        text.contains("WARC-Target-URI: https://plc.directory/did:plc:z7ja7uhcr5is6uqmnsjyn3k7"),
        "the DID document in the WARC"
    );

    // The handle's resolution, as a metadata record naming the handle URL.
    assert!(
        text.contains(&format!(
            "WARC-Target-URI: https://bsky.app/profile/{FOUR_HANDLE}/post/{FOUR_RKEY}"
        )),
        "the handle resolution in the WARC: {targets:#?}"
    );

    // ls lists them.
    let (code, listed, err) = embarc(&server.base, &archive, &["ls", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let labels: Vec<&str> = listed.iter().filter_map(|l| l["post"].as_str()).collect();
    assert!(labels.contains(&four_label().as_str()), "{labels:?}");
    assert!(
        labels.contains(&"bluesky:did:plc:z72i7hdynmk6r22z27h6tvur/3l6oveex3ii2l"),
        "{labels:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blob_that_does_not_match_its_cid_fails_by_name() {
    let (server, _) = fake_bluesky::start(true).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let url = format!("https://bsky.app/profile/{FOUR_DID}/post/{FOUR_RKEY}");
    let (code, lines, err) = embarc(&server.base, &archive, &["add", &url, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    let l = line(&lines, &four_label());
    assert_eq!(l["outcome"], "partial", "{l}");
    let error = l["error"].as_str().unwrap_or_default();
    assert!(error.contains("photo (its bytes"), "{error}");
    assert!(error.contains("do not match"), "{error}");
    // The three good photos and the avatar are kept; no CDN copy stands in.
    assert_eq!(l["media"], 4, "{l}");
    assert!(
        l["error_url"]
            .as_str()
            .unwrap_or_default()
            .contains("getBlob"),
        "{l}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pds_on_a_private_address_is_refused_by_name() {
    let (server, _) = fake_bluesky::start(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let url = format!("at://{PRIVATE_PDS_DID}/app.bsky.feed.post/3kosdondcpl2i");
    let (code, lines, err) = embarc(&server.base, &archive, &["add", &url, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    let l = line(&lines, &format!("bluesky:{PRIVATE_PDS_DID}/3kosdondcpl2i"));
    assert_eq!(l["outcome"], "partial", "{l}");
    let error = l["error"].as_str().unwrap_or_default();
    assert!(error.contains("avatar (localhost: refused"), "{error}");
    // The AppView CDN's copy of the avatar stands in, named as unchecked.
    assert!(
        error.contains("an unchecked copy from cdn.bsky.app stands in"),
        "{error}"
    );
    assert_eq!(l["media"], 1, "{l}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_post_is_protected_and_an_unknown_handle_fails() {
    let (server, _) = fake_bluesky::start(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let blocked = "at://did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3lblocked2222";
    let nobody = "https://bsky.app/profile/nobody.example.com/post/3lhmggpkbw22v";
    let (code, lines, err) = embarc(&server.base, &archive, &["add", blocked, nobody, "--json"]);
    assert_eq!(code, Some(1), "{err}");
    let l = line(
        &lines,
        "bluesky:did:plc:z72i7hdynmk6r22z27h6tvur/3lblocked2222",
    );
    assert_eq!(l["outcome"], "protected", "{l}");
    let failed = lines
        .iter()
        .find(|l| l["outcome"] == "failed")
        .expect("the handle fails");
    let error = failed["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("could not resolve nobody.example.com"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_did_web_host_on_a_private_address_is_refused_by_name() {
    let (server, _) = fake_bluesky::start(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let url = "at://did:web:localhost/app.bsky.feed.post/3kosdondcpl2i";
    let (code, lines, err) = embarc(&server.base, &archive, &["add", url, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let l = line(&lines, "bluesky:did:web:localhost/3kosdondcpl2i");
    // The post is the AppView's; its files are the CDN's copies, said so.
    assert_eq!(l["outcome"], "archived", "{l}");
    let error = l["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("DID document: localhost: refused"),
        "{error}"
    );
    assert!(error.contains("not checked against their CIDs"), "{error}");
}
