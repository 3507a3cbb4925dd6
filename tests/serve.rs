//! `embarc serve` end to end: an archive filled by the real binary from the
//! fake X (real answers from the corpus, a post deleted after its first
//! capture, a short link), served by the real binary on 127.0.0.1, and read
//! by real clients: micawber (an oEmbed consumer library) through a provider
//! registration, memento-client (the Memento project's Python client)
//! through the TimeGate, and a raw socket for the HTTP details (Range,
//! ETag, 304, HEAD, traversal attempts written as sent). Needs python3 with
//! micawber and memento-client (scripts/test installs them).

mod support;

#[path = "support/serve.rs"]
mod serve_proc;

use assert_cmd::Command;
use serde_json::Value;
use serve_proc::{Serve, get, request};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use support::fake_x::{self, DELETED_LATER_ID, Env, env};

/// The short link the fake X redirects to SamuelSusla's photo post.
const SHORT: &str = "https://t.co/rQd6FIwZ0U";
const SHORT_TARGET: &str = "1641086480675225601";
/// Matt Carroll's post, cited by the article.
const CITED: &str = "1641895049427550208";
/// A post with a video.
const VIDEO: &str = "1684218600456876032";
/// A post added while the server runs.
const LATER: &str = "1629262255744503809";

fn embarc(env: &Env, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.current_dir(env.dir.path())
        .arg("--archive")
        .arg(&env.archive);
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    tokio::task::block_in_place(|| cmd.args(args).output()).expect("run")
}

fn ok(env: &Env, args: &[&str]) -> String {
    let out = embarc(env, args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An archive with: a post captured through a short link, a post cited by
/// an article, a video post, and a post captured, then found deleted.
async fn filled() -> Env {
    let env = env().await;
    let article = env.dir.path().join("story.html");
    std::fs::write(
        &article,
        format!(
            "<!doctype html><html lang=\"en\"><body><h1>Flattening</h1>\n\
             <blockquote class=\"twitter-tweet\"><a href=\"https://twitter.com/mattcarrollcode/status/{CITED}\">March 31, 2023</a></blockquote>\n</body></html>\n"
        ),
    )
    .expect("article");
    ok(&env, &["archive", article.to_str().expect("utf-8")]);
    ok(&env, &["add", SHORT, &format!("twitter:{VIDEO}")]);
    let gone = format!("twitter:{DELETED_LATER_ID}");
    ok(&env, &["add", &gone]);
    ok(&env, &["add", "--refresh", &gone]);
    env
}

fn start(env: &Env, args: &[&str]) -> Serve {
    tokio::task::block_in_place(|| Serve::start(&env.archive, args))
}

fn python() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/venv/bin/python3");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("python3")
}

/// Runs tests/support/serve_clients.py and parses its JSON.
fn client(args: &[&str]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/serve_clients.py");
    let out = tokio::task::block_in_place(|| {
        std::process::Command::new(python())
            .arg(script)
            .args(args)
            .output()
    })
    .expect("python3 runs (scripts/test installs micawber and memento-client)");
    assert!(
        out.status.success(),
        "serve_clients.py {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn micawber_embeds_our_card_for_every_url_form() {
    let env = filled().await;
    let srv = start(&env, &[]);
    let endpoint = format!("{}/oembed", srv.base);

    // The card `render` makes, media under this server.
    let card = |post: &str| {
        ok(
            &env,
            &[
                "render",
                "--post",
                post,
                "--media-base",
                &format!("{}/media/", srv.base),
            ],
        )
        .trim_end()
        .to_string()
    };
    let stylesheet = format!(
        "<link rel=\"stylesheet\" href=\"{}/embarc.css\">\n",
        srv.base
    );

    // A status URL on x.com, its card as micawber embeds it.
    let url = format!("https://x.com/mattcarrollcode/status/{CITED}");
    let got = client(&["oembed", &endpoint, &url]);
    let data = &got["data"];
    assert_eq!(data["type"], "rich", "{got}");
    assert_eq!(data["version"], "1.0");
    assert_eq!(
        data["html"],
        format!("{stylesheet}{}", card(&format!("twitter:{CITED}")))
    );
    assert_eq!(data["author_name"], "Matt Carroll (@mattcarrollcode)");
    assert!(
        data["author_url"]
            .as_str()
            .is_some_and(|u| u.starts_with("https://") && u.ends_with("/mattcarrollcode")),
        "{data}"
    );
    assert_eq!(data["provider_name"], "embarc archive");
    assert_eq!(data["provider_url"], format!("{}/", srv.base));
    assert_eq!(data["cache_age"], 3600);
    assert_eq!(data["width"], 550);
    assert!(data["height"].as_u64().is_some_and(|h| h > 100), "{data}");
    let parsed = got["parsed"].as_str().expect("parsed");
    assert!(
        parsed.starts_with("Before\n<link rel=\"stylesheet\"")
            && parsed.ends_with("</figure>\nAfter"),
        "micawber put the card in place of the URL: {parsed}"
    );
    assert!(!parsed.contains("<script"), "{parsed}");

    // A short link, through the archive's stored resolution; maxwidth.
    let got = client(&["oembed", &endpoint, SHORT, "400"]);
    let data = &got["data"];
    assert_eq!(
        data["html"],
        format!("{stylesheet}{}", card(&format!("twitter:{SHORT_TARGET}")))
    );
    assert_eq!(data["width"], 400);
    // micawber asks maxheight = maxwidth * 16 / 9 with maxwidth.
    assert!(data["height"].as_u64().is_some_and(|h| h <= 711), "{data}");
    // Every media URL of the card is served by this server, intact.
    let html = data["html"].as_str().expect("html");
    let prefix = format!("{}/media/", srv.base);
    let mut media = 0;
    for piece in html.split(&prefix).skip(1) {
        let name: String = piece.chars().take_while(|c| *c != '"').collect();
        let a = get(&srv.addr, &format!("/media/{name}"));
        assert_eq!(a.status, 200, "{name}");
        assert_eq!(hex::encode(Sha256::digest(&a.body)), &name[..64]);
        media += 1;
    }
    assert!(media >= 2, "avatar and photo: {html}");

    // A post deleted after its first capture: the card of its last good
    // capture, with the notice render shows.
    let url = format!("https://twitter.com/someone/status/{DELETED_LATER_ID}");
    let got = client(&["oembed", &endpoint, &url]);
    let html = got["data"]["html"].as_str().expect("html");
    assert!(html.contains("synthetic post"), "{html}");
    assert!(html.contains("No longer available on X since "), "{html}");
    assert_eq!(
        got["data"]["html"],
        format!(
            "{stylesheet}{}",
            card(&format!("twitter:{DELETED_LATER_ID}"))
        )
    );

    // What is not served, as the spec says.
    let not_archived = "https://x.com/jack/status/20".to_string();
    let a = get(&srv.addr, &format!("/oembed?url={}", enc(&not_archived)));
    assert_eq!(a.status, 404, "{}", a.text());
    assert!(
        a.text().contains("twitter:20 is not in this archive"),
        "{}",
        a.text()
    );
    let got = client(&["oembed", &endpoint, &not_archived]);
    assert!(
        got["error"].as_str().is_some(),
        "micawber reports the 404: {got}"
    );
    let a = get(&srv.addr, &format!("/oembed?url={}&format=xml", enc(&url)));
    assert_eq!(a.status, 501);
    let a = get(
        &srv.addr,
        &format!("/oembed?url={}", enc("https://example.com/story")),
    );
    assert_eq!(a.status, 400, "{}", a.text());
    assert_eq!(get(&srv.addr, "/oembed").status, 400);
    assert_eq!(
        get(
            &srv.addr,
            &format!("/oembed?url={}&maxwidth=wide", enc(&url))
        )
        .status,
        400
    );
    // A short link never resolved.
    let a = get(
        &srv.addr,
        &format!("/oembed?url={}", enc("https://t.co/Never00000")),
    );
    assert_eq!(a.status, 404, "{}", a.text());

    // The post page names its oEmbed answer for discovery.
    let page = get(&srv.addr, &format!("/post/twitter/{CITED}"));
    assert_eq!(page.status, 200);
    let discovery = format!(
        "<link rel=\"alternate\" type=\"application/json+oembed\" href=\"{}/oembed?url={}&#38;format=json\"",
        srv.base,
        enc(&format!("https://twitter.com/i/status/{CITED}"))
    );
    assert!(page.text().contains(&discovery), "{}", page.text());
}

/// The datetimes of a TimeMap's mementos, in order.
fn timemap_mementos(body: &str) -> Vec<(String, String, String)> {
    body.split(",\n")
        .filter(|l| l.contains("memento\""))
        .map(|l| {
            let url = l[1..l.find('>').expect(">")].to_string();
            let rel = l
                .split("rel=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string();
            let dt = l
                .split("datetime=\"")
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string();
            (url, rel, dt)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn memento_client_finds_a_posts_captures_over_time() {
    let env = filled().await;
    let srv = start(&env, &[]);
    let original = format!("https://twitter.com/i/status/{DELETED_LATER_ID}");

    // The TimeMap lists both captures (the good one, then the tombstone).
    let tm = get(
        &srv.addr,
        &format!("/timemap/link/https://x.com/s/status/{DELETED_LATER_ID}"),
    );
    assert_eq!(tm.status, 200, "{}", tm.text());
    assert_eq!(tm.header("content-type"), Some("application/link-format"));
    let body = tm.text();
    assert!(
        body.starts_with(&format!("<{original}>; rel=\"original\"")),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "<{}/timegate/{original}>; rel=\"timegate\"",
            srv.base
        )),
        "{body}"
    );
    let ms = timemap_mementos(&body);
    assert_eq!(ms.len(), 2, "{body}");
    assert_eq!(ms[0].1, "first memento");
    assert_eq!(ms[1].1, "last memento");

    // memento-client, starting from the first memento (it finds the
    // original through rel="original"), asking for a time after both.
    let later = (time::OffsetDateTime::now_utc() + time::Duration::days(1))
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .expect("format");
    let stem = format!("{}/timegate/", srv.base);
    let info = client(&["memento", &stem, &ms[0].0, &later]);
    assert_eq!(info["original_uri"], original, "{info}");
    assert_eq!(info["timegate_uri"], format!("{stem}{original}"));
    let m = &info["mementos"];
    assert_eq!(m["closest"]["uri"][0], ms[1].0, "{info}");
    assert_eq!(m["closest"]["http_status_code"], 200);
    assert_eq!(m["first"]["uri"][0], ms[0].0);
    assert_eq!(m["last"]["uri"][0], ms[1].0);
    assert_eq!(m["prev"]["uri"][0], ms[0].0);
    // Its datetimes are the TimeMap's.
    let http = |iso: &str| {
        let t = time::PrimitiveDateTime::parse(
            iso,
            &time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .expect("iso")
        .assume_utc();
        httpdate::fmt_http_date(std::time::SystemTime::from(t))
    };
    assert_eq!(
        http(m["closest"]["datetime"].as_str().expect("dt")),
        ms[1].2
    );
    assert_eq!(http(m["first"]["datetime"].as_str().expect("dt")), ms[0].2);

    // A time long before, starting from the last memento: the first.
    let info = client(&["memento", &stem, &ms[1].0, "2001-01-01T00:00:00"]);
    assert_eq!(info["mementos"]["closest"]["uri"][0], ms[0].0, "{info}");

    // The TimeGate itself, as RFC 7089 §4.1 has it.
    let tg = request(
        &srv.addr,
        "HEAD",
        &format!("/timegate/{original}"),
        &[("Accept-Datetime", "Sat, 01 Jan 2000 00:00:00 GMT")],
    );
    assert_eq!(tg.status, 302);
    assert_eq!(tg.header("vary"), Some("accept-datetime"));
    assert_eq!(tg.header("location"), Some(ms[0].0.as_str()));
    let bad = request(
        &srv.addr,
        "GET",
        &format!("/timegate/{original}"),
        &[("Accept-Datetime", "yesterday")],
    );
    assert_eq!(bad.status, 400);

    // Each memento: Memento-Datetime and its links; the tombstone's page
    // shows the last good capture with the notice.
    let path = ms[1].0.strip_prefix(&srv.base).expect("under base");
    let page = get(&srv.addr, path);
    assert_eq!(page.status, 200);
    assert_eq!(page.header("memento-datetime"), Some(ms[1].2.as_str()));
    let link = page.header("link").expect("link");
    for rel in [
        "original",
        "timegate",
        "timemap",
        "first prev memento",
        "last memento",
    ] {
        assert!(link.contains(&format!("rel=\"{rel}\"")), "{rel}: {link}");
    }
    assert!(
        page.text().contains("No longer available on X since"),
        "{}",
        page.text()
    );
    let first = get(
        &srv.addr,
        ms[0].0.strip_prefix(&srv.base).expect("under base"),
    );
    assert!(
        !first.text().contains("No longer available"),
        "the first capture saw it live"
    );
    assert!(first.text().contains("synthetic post"));

    // A post not archived has no TimeMap.
    assert_eq!(
        get(&srv.addr, "/timemap/link/https://x.com/jack/status/20").status,
        404
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn media_answers_ranges_etags_and_304_to_curl() {
    let env = filled().await;
    let srv = start(&env, &[]);
    // The largest media file of the video post and the photo post (the
    // fake X's video is a few bytes; its photos are real PNG/JPEG).
    let mut files: Vec<(u64, String)> = Vec::new();
    for post in [VIDEO, SHORT_TARGET] {
        let card = ok(
            &env,
            &[
                "render",
                "--post",
                &format!("twitter:{post}"),
                "--media-base",
                "/media/",
            ],
        );
        for n in card.split("/media/").skip(1) {
            let n: String = n.chars().take_while(|c| *c != '"').collect();
            let object = env
                .archive
                .join("objects/sha256")
                .join(&n[..2])
                .join(&n[..64]);
            let len = std::fs::metadata(&object).expect("object").len();
            files.push((len, n));
        }
    }
    files.sort();
    assert!(files.iter().any(|(_, n)| n.ends_with(".mp4")), "{files:?}");
    let video = files
        .iter()
        .find(|(_, n)| n.ends_with(".mp4"))
        .expect("mp4")
        .1
        .clone();
    let v = get(&srv.addr, &format!("/media/{video}"));
    assert_eq!(v.header("content-type"), Some("video/mp4"));
    let mp4 = files.last().expect("media").1.clone();
    let ctype = match mp4.rsplit('.').next() {
        Some("png") => "image/png",
        Some("mp4") => "video/mp4",
        _ => "image/jpeg",
    };
    let hex = &mp4[..64];
    let url = format!("{}/media/{mp4}", srv.base);
    let curl = |args: &[&str]| -> (String, Vec<u8>) {
        let dir = tempfile::tempdir().expect("tmp");
        let head = dir.path().join("head");
        let body = dir.path().join("body");
        let out = std::process::Command::new("curl")
            .args(["-s", "-D"])
            .arg(&head)
            .arg("-o")
            .arg(&body)
            .args(args)
            .arg(&url)
            .output()
            .expect("curl runs");
        assert!(out.status.success(), "curl {args:?}");
        (
            std::fs::read_to_string(&head).expect("head"),
            std::fs::read(&body).unwrap_or_default(),
        )
    };
    let (head, whole) = curl(&[]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let lower = head.to_ascii_lowercase();
    assert!(lower.contains(&format!("content-type: {ctype}")), "{head}");
    assert!(lower.contains(&format!("etag: \"{hex}\"")), "{head}");
    assert!(
        lower.contains("cache-control: public, max-age=31536000, immutable"),
        "{head}"
    );
    assert!(lower.contains("accept-ranges: bytes"), "{head}");
    assert_eq!(hex::encode(Sha256::digest(&whole)), hex);
    let len = whole.len();

    // A seek: bytes 100-199.
    let (head, part) = curl(&["-r", "100-199"]);
    assert!(head.starts_with("HTTP/1.1 206"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-range: bytes 100-199/{len}")),
        "{head}"
    );
    assert_eq!(part, whole[100..200]);
    // The last 50 bytes.
    let (_, tail) = curl(&["-r", "-50"]);
    assert_eq!(tail, whole[len - 50..]);
    // Past the end.
    let (head, _) = curl(&["-r", &format!("{}-", len + 10)]);
    assert!(head.starts_with("HTTP/1.1 416"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-range: bytes */{len}")),
        "{head}"
    );
    // Revalidation.
    let (head, body) = curl(&["-H", &format!("If-None-Match: \"{hex}\"")]);
    assert!(head.starts_with("HTTP/1.1 304"), "{head}");
    assert!(body.is_empty());
    let (head, _) = curl(&["-H", "If-None-Match: \"0000\""]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    // HEAD: the length, no body.
    let (head, _) = curl(&["-I"]);
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains(&format!("content-length: {len}")),
        "{head}"
    );
    // (curl -I writes the head as the body too: the bytes, read raw.)
    let raw = request(&srv.addr, "HEAD", &format!("/media/{mp4}"), &[]);
    assert_eq!(raw.status, 200);
    assert!(raw.body.is_empty(), "no body after a HEAD");
    // The same object by bare digest.
    let a = get(&srv.addr, &format!("/media/{hex}"));
    assert_eq!(a.status, 200);
    assert_eq!(a.body, whole);
    // Nothing else is accepted.
    assert_eq!(
        request(
            &srv.addr,
            "POST",
            &format!("/media/{hex}"),
            &[("Content-Length", "0")]
        )
        .status,
        405
    );
    let missing = "ab".repeat(32);
    assert_eq!(get(&srv.addr, &format!("/media/{missing}")).status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_object_is_a_500_naming_it_and_never_served() {
    let env = filled().await;
    let card = ok(
        &env,
        &[
            "render",
            "--post",
            &format!("twitter:{SHORT_TARGET}"),
            "--media-base",
            "/media/",
        ],
    );
    let name = card
        .split("src=\"/media/")
        .nth(1)
        .and_then(|p| p.split('"').next())
        .expect("a picture")
        .to_string();
    let hex = name[..64].to_string();
    let object = env
        .archive
        .join("objects/sha256")
        .join(&hex[..2])
        .join(&hex);
    let srv = start(&env, &[]);
    // Served once intact (so the server has seen it)...
    let good = get(&srv.addr, &format!("/media/{name}"));
    assert_eq!(good.status, 200);
    // ...then a byte flips on disk, size unchanged.
    let mut bytes = std::fs::read(&object).expect("object");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    let mut perms = std::fs::metadata(&object).expect("meta").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&object, perms).expect("writable");
    std::fs::write(&object, &bytes).expect("corrupt it");
    for target in [format!("/media/{name}"), format!("/media/{hex}")] {
        let a = get(&srv.addr, &target);
        assert_eq!(a.status, 500, "{target}: {}", a.text());
        assert!(a.text().contains(&hex), "names the object: {}", a.text());
        assert!(a.text().contains("corrupt"), "{}", a.text());
        assert!(
            !a.body
                .windows(64)
                .any(|w| bytes.windows(64).next() == Some(w)),
            "none of its bytes"
        );
    }
    let ranged = request(
        &srv.addr,
        "GET",
        &format!("/media/{hex}"),
        &[("Range", "bytes=0-9")],
    );
    assert_eq!(ranged.status, 500);
    // A fresh server, which never saw it intact, refuses it too.
    drop(srv);
    let srv = start(&env, &[]);
    let a = get(&srv.addr, &format!("/media/{hex}"));
    assert_eq!(a.status, 500);
    assert!(a.text().contains(&hex), "{}", a.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_request_reads_outside_the_archive() {
    let env = filled().await;
    // A file beside the archive that a traversal would reach.
    std::fs::write(
        env.dir.path().join("secret.txt"),
        "SECRET-BESIDE-THE-ARCHIVE",
    )
    .expect("secret");
    let srv = start(&env, &[]);
    let attempts = [
        "/media/../secret.txt",
        "/media/../../secret.txt",
        "/media/..%2fsecret.txt",
        "/media/..%2F..%2Fsecret.txt",
        "/media/%2e%2e/%2e%2e/secret.txt",
        "/media/%2e%2e%2f%2e%2e%2fsecret.txt",
        "/media/%252e%252e%252fsecret.txt",
        "/media/..%5csecret.txt",
        "/media/....//secret.txt",
        "/media/%00",
        "/media/EMBARC-ARCHIVE",
        "/media/../EMBARC-ARCHIVE",
        "/%2e%2e/secret.txt",
        "/post/twitter/..%2f..%2fsecret.txt",
        "/article?name=../secret.txt",
        "/timemap/link/..%2F..%2Fsecret.txt",
        "/memento/2023/..%2fsecret.txt",
    ];
    for t in attempts {
        let a = get(&srv.addr, t);
        assert!(
            matches!(a.status, 400 | 404),
            "{t}: {} {}",
            a.status,
            a.text()
        );
        let body = a.text();
        assert!(!body.contains("SECRET-BESIDE"), "{t}: {body}");
        assert!(!body.contains("embarc archive format"), "{t}: {body}");
    }
    // A very long target and a request body are refused before routing.
    let long = format!("/oembed?url={}", "a".repeat(9000));
    assert_eq!(get(&srv.addr, &long).status, 414);
    assert_eq!(
        request(&srv.addr, "GET", "/", &[("Content-Length", "5")]).status,
        413
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn browse_pages_list_filter_and_link_posts_and_articles() {
    let env = filled().await;
    let srv = start(&env, &["--page-size", "2"]);
    let index = get(&srv.addr, "/");
    assert_eq!(index.status, 200);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let csp = index.header("content-security-policy").expect("csp");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    let html = index.text();
    assert!(!html.contains("<script"), "{html}");
    assert!(html.contains("4 posts, page 1 of 2"), "{html}");
    // Newest capture first: the post captured last (its tombstone) heads the list.
    let first_row = html.split("<tbody>").nth(1).expect("rows");
    assert!(
        first_row.find(DELETED_LATER_ID) < first_row.find("</tr>"),
        "{first_row}"
    );
    assert!(html.contains("href=\"/?page=2\""), "{html}");
    let story = env.dir.path().join("story.html");
    let story = story.to_str().expect("utf-8");
    assert!(
        html.contains(&format!("href=\"/article?name={}\"", enc(story))),
        "{html}"
    );
    // Page 2 holds the rest.
    let p2 = get(&srv.addr, "/?page=2").text();
    let listed = |h: &str, id: &str| h.contains(&format!("href=\"/post/twitter/{id}\""));
    let ids = [CITED, VIDEO, SHORT_TARGET, DELETED_LATER_ID];
    assert_eq!(
        ids.iter()
            .filter(|id| listed(&html, id) || listed(&p2, id))
            .count(),
        4,
        "{html}\n{p2}"
    );
    // Filters: outcome, handle, article, provider.
    let gone = get(&srv.addr, "/?outcome=tombstone").text();
    assert!(gone.contains("1 post."), "{gone}");
    assert!(listed(&gone, DELETED_LATER_ID));
    let by_handle = get(&srv.addr, "/?handle=%40MattCarrollCode").text();
    assert!(
        by_handle.contains("1 post.") && listed(&by_handle, CITED),
        "{by_handle}"
    );
    let cited = get(&srv.addr, &format!("/?article={}", enc(story))).text();
    assert!(
        cited.contains("1 post.") && listed(&cited, CITED),
        "{cited}"
    );
    assert!(
        get(&srv.addr, "/?provider=bluesky")
            .text()
            .contains("0 posts.")
    );
    // A post page: its card, its captures with digests and sources.
    let post = get(&srv.addr, &format!("/post/twitter/{DELETED_LATER_ID}")).text();
    assert!(post.contains("class=\"embarc-card\""), "{post}");
    assert!(post.contains("href=\"/embarc.css\""), "{post}");
    assert_eq!(post.matches("<tr").count() - 1, 2, "two captures: {post}");
    assert!(
        post.contains(">ok<") && post.contains(">tombstone<"),
        "{post}"
    );
    assert!(post.contains(">syndication<"), "{post}");
    let caps = ok(
        &env,
        &["--json", "show", &format!("twitter:{DELETED_LATER_ID}")],
    );
    for line in caps.lines() {
        let v: Value = serde_json::from_str(line).expect("json");
        if let Some(d) = v["capture"].as_str().or(v["digest"].as_str()) {
            assert!(
                post.contains(d.trim_start_matches("sha256:")),
                "{d}: {post}"
            );
        }
    }
    // An article page lists its posts.
    let a = get(&srv.addr, &format!("/article?name={}", enc(story)));
    assert_eq!(a.status, 200);
    assert!(listed(&a.text(), CITED), "{}", a.text());
    assert_eq!(get(&srv.addr, "/article?name=nowhere.html").status, 404);
    assert_eq!(get(&srv.addr, "/post/twitter/20").status, 404);
    // The stylesheet is render's.
    let css = get(&srv.addr, "/embarc.css");
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(css.text().contains(".embarc-card"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_log_is_json_lines_and_sigterm_stops_cleanly() {
    let env = filled().await;
    let mut srv = start(&env, &[]);
    let a = get(&srv.addr, "/?outcome=ok");
    assert_eq!(a.status, 200);
    assert_eq!(get(&srv.addr, "/nothing-here").status, 404);
    // Many requests at once are all answered.
    let addr = srv.addr.clone();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let addr = addr.clone();
            std::thread::spawn(move || get(&addr, "/").status)
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().expect("thread"), 200);
    }
    // A new capture appears after SIGHUP.
    ok(&env, &["add", &format!("twitter:{}", LATER)]);
    srv.hangup();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        if get(&srv.addr, &format!("/post/twitter/{}", LATER)).status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "SIGHUP did not refresh: {}",
            srv.stderr()
        );
        std::thread::yield_now();
    }
    let code = srv.stop_with(15);
    assert_eq!(code, Some(0), "{}", srv.stderr());
    let log = srv.log();
    let line = log
        .iter()
        .find(|l| l["target"] == "/?outcome=ok")
        .unwrap_or_else(|| panic!("{log:?}"));
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], 200);
    assert!(
        line["remote"]
            .as_str()
            .is_some_and(|r| r.starts_with("127.0.0.1:"))
    );
    assert!(line["ms"].as_f64().is_some());
    assert!(line["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert!(
        log.iter()
            .any(|l| l["target"] == "/nothing-here" && l["status"] == 404)
    );
    assert!(log.len() >= 19, "{log:?}");
}
