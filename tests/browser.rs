//! A rendered article in a real browser: headless Chromium loads it through a
//! logging proxy on 127.0.0.1 that every request must cross (even loopback),
//! takes a screenshot, and the test checks that the page asked nothing of any
//! host but its own (Chromium's own calls to Google, which no flag stops, are
//! told apart: tunnels to hosts the page never names). Needs Debian's
//! `chromium` (scripts/test installs it).

mod support;

use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use support::{Reply, fake_x, response};

/// The page's host: only the proxy knows it, so nothing can reach it by DNS.
const SITE: &str = "http://embarc.test";

fn chromium() -> PathBuf {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join(name))
                    .find(|p| p.is_file())
            })
        });
    found.unwrap_or_else(|| {
        panic!("this test needs Chromium: `apt-get install chromium fonts-noto-color-emoji fonts-wqy-microhei` (scripts/test does it)")
    })
}

fn embarc(archive: &Path, mirror: &str, args: &[&str]) {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.arg("--archive").arg(archive);
    for m in fake_x::mirror_flags(mirror) {
        cmd.arg("--mirror").arg(m);
    }
    let out = cmd.args(args).output().expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("png") => "image/png",
        Some("jpg") => "image/jpeg",
        Some("mp4") => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rendered_page_loads_nothing_from_any_other_host() {
    let browser = chromium();
    let dir = tempfile::tempdir().expect("tempdir");
    let x = fake_x::start().await;
    let archive = dir.path().join("archive");
    let article = dir.path().join("story.html");
    std::fs::write(
        &article,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Flattening</title>\
         <style>body{margin:0 auto;padding:8px;max-width:600px;font-family:sans-serif}</style></head><body>\n\
         <h1>View flattening comes to iOS</h1>\n<p>Matt Carroll on the new renderer — 日本語 ✓:</p>\n\
         <blockquote class=\"twitter-tweet\"><p lang=\"en\" dir=\"ltr\">…</p>&mdash; Matt Carroll (@mattcarrollcode) <a href=\"https://twitter.com/mattcarrollcode/status/1641895049427550208\">March 31, 2023</a></blockquote>\n\
         <script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script>\n\
         <p>And a video:</p>\n<blockquote class=\"twitter-tweet\"><a href=\"https://twitter.com/Rainmaker1973/status/1684218600456876032\"></a></blockquote>\n\
         <script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script>\n</body></html>\n",
    )
    .expect("article");
    let a = article.to_str().expect("utf-8");
    let out = dir.path().join("site");
    tokio::task::block_in_place(|| {
        embarc(&archive, &x.base, &["archive", a]);
        embarc(
            &archive,
            &x.base,
            &["render", a, "-o", out.to_str().expect("utf-8")],
        );
    });

    let (shot, answered) = load(&browser, &out, "story.html").await;
    let served = |r: &str| answered.iter().any(|(t, s)| t == r && *s == 200);
    keep_screenshot(&shot, "EMBARC_SCREENSHOT");
    // The page, its stylesheet and its pictures came from the site...
    // (served: answered 200 from the output folder, not a 404 for a missing file)
    assert!(served(&format!("{SITE}/story.html")), "{answered:?}");
    assert!(served(&format!("{SITE}/embarc.css")), "{answered:?}");
    let pictures = assert_self_contained(&answered, &out, "story.html");
    assert!(
        pictures >= 3,
        "avatars, photos and the video poster, served: {answered:?}"
    );
    let page = std::fs::read_to_string(out.join("story.html")).expect("page");
    assert!(!page.contains("platform.twitter.com"), "widgets.js removed");
}

/// Loads `SITE/page` from the folder `out` in headless Chromium through a
/// logging proxy that every request crosses (even loopback): the proxy
/// serves `out` as SITE and refuses every other host. Returns the
/// screenshot and every request with the status it got.
async fn load(browser: &Path, out: &Path, page: &str) -> (PathBuf, Vec<(String, u16)>) {
    // The proxy: serves the output folder as SITE, refuses and logs the rest.
    // Each request is logged with the status it got.
    let log: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
    let (seen, root) = (log.clone(), out.to_path_buf());
    let proxy = support::start(Arc::new(move |target: String, _| {
        let logged = |status: u16| {
            if let Ok(mut l) = seen.lock() {
                l.push((target.clone(), status));
            }
        };
        let Some(path) = target.strip_prefix(SITE) else {
            logged(403);
            return Reply::Raw(response(403, &[], b"not this host"));
        };
        let path = path
            .split('?')
            .next()
            .unwrap_or("/")
            .trim_start_matches('/');
        match std::fs::read(root.join(path)) {
            Ok(body) if !path.contains("..") => {
                logged(200);
                Reply::Raw(response(
                    200,
                    &[("content-type", content_type(path))],
                    &body,
                ))
            }
            _ => {
                logged(404);
                Reply::Raw(response(404, &[], b""))
            }
        }
    }))
    .await;

    let shot = out.join("screenshot.png");
    let status = screenshot(browser, &proxy.base, &format!("{SITE}/{page}"), &shot);
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let png = std::fs::read(&shot).expect("png");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real picture"
    );
    let answered = log.lock().expect("log").clone();
    (shot, answered)
}

/// Headless Chromium loads `url` through the HTTP proxy at `proxy` (every
/// request, loopback included) and writes a screenshot to `shot`.
fn screenshot(browser: &Path, proxy: &str, url: &str, shot: &Path) -> std::process::Output {
    let profile = tempfile::tempdir().expect("profile");
    tokio::task::block_in_place(|| {
        std::process::Command::new(browser)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                // The browser's own calls home (time, sign-in, variations,
                // safe browsing…), which are not the page's requests.
                "--disable-breakpad",
                "--disable-client-side-phishing-detection",
                "--disable-component-extensions-with-background-pages",
                "--disable-domain-reliability",
                "--disable-features=NetworkTimeServiceQuerying,Translate,OptimizationHints,MediaRouter,AutofillServerCommunication,CertificateTransparencyComponentUpdater,SafeBrowsing,InterestFeedContentSuggestions,PrivacySandboxSettings4",
                "--metrics-recording-only",
                "--no-default-browser-check",
                "--no-pings",
                "--password-store=basic",
                "--use-mock-keychain",
                "--allow-browser-signin=false",
                "--disable-search-engine-choice-screen",
                "--disable-field-trial-config",
                "--variations-server-url=http://embarc.test/none",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--window-size=640,1500",
                "--virtual-time-budget=5000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--proxy-server={proxy}"))
            // Loopback is not exempt: every request crosses the proxy.
            .arg("--proxy-bypass-list=<-loopback>")
            .arg(format!("--screenshot={}", shot.display()))
            .arg(url)
            .output()
            .expect("chromium runs")
    })
}

/// Copies the screenshot where the environment variable `var` says (how the
/// README's pictures are made), if it is set.
fn keep_screenshot(shot: &Path, var: &str) {
    if let Some(keep) = std::env::var_os(var) {
        std::fs::copy(shot, keep).expect("copy screenshot");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn bluesky_and_mastodon_cards_load_nothing_from_any_other_host() {
    let browser = chromium();
    let dir = tempfile::tempdir().expect("tempdir");
    let (bluesky, _) = support::fake_bluesky::start(false).await;
    // No status of this page names the trap; a closed port stands in.
    let mastodon = support::fake_mastodon::start("http://127.0.0.1:9").await;
    let mut mirrors = support::fake_bluesky::mirror_flags(&bluesky.base);
    mirrors.extend(support::fake_mastodon::mirror_flags(&mastodon.base));
    let archive = dir.path().join("archive");
    let article = dir.path().join("social.html");
    let (did, rkey) = (
        support::fake_bluesky::FOUR_DID,
        support::fake_bluesky::FOUR_RKEY,
    );
    let (host, id) = support::fake_mastodon::CARD;
    std::fs::write(
        &article,
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Elsewhere</title>\
             <style>body{{margin:0 auto;padding:8px;max-width:600px;font-family:sans-serif}}</style></head><body>\n\
             <h1>The same story, elsewhere</h1>\n<p>On Bluesky:</p>\n\
             <blockquote class=\"bluesky-embed\" data-bluesky-uri=\"at://{did}/app.bsky.feed.post/{rkey}\"><p>…</p>&mdash; (<a href=\"https://bsky.app/profile/{did}\">@someone</a>) <a href=\"https://bsky.app/profile/{did}/post/{rkey}?ref_src=embed\">February 7, 2025</a></blockquote>\n\
             <script async src=\"https://embed.bsky.app/static/embed.js\" charset=\"utf-8\"></script>\n\
             <p>On Mastodon:</p>\n\
             <blockquote class=\"mastodon-embed\" data-embed-url=\"https://{host}/@austinkocher/{id}/embed\"><a href=\"https://{host}/@austinkocher/{id}\">Post by @austinkocher@{host}</a></blockquote>\n\
             <script data-allowed-prefixes=\"https://{host}/\" async src=\"https://{host}/embed.js\"></script>\n</body></html>\n"
        ),
    )
    .expect("article");
    let a = article.to_str().expect("utf-8");
    let out = dir.path().join("site");
    let run = |args: &[&str]| {
        let mut cmd = Command::cargo_bin("embarc").expect("binary");
        cmd.arg("--archive").arg(&archive);
        for m in &mirrors {
            cmd.arg("--mirror").arg(m);
        }
        let out = tokio::task::block_in_place(|| cmd.args(args).output()).expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let lines = run(&["--json", "archive", a]);
    assert_eq!(
        lines.lines().filter(|l| l.contains("\"archived\"")).count(),
        2,
        "{lines}"
    );
    run(&["render", a, "-o", out.to_str().expect("utf-8")]);

    let (shot, answered) = load(&browser, &out, "social.html").await;
    keep_screenshot(&shot, "EMBARC_SCREENSHOT_SOCIAL");
    let page = std::fs::read_to_string(out.join("social.html")).expect("page");
    assert!(page.contains("Read on Bluesky"), "{page}");
    assert!(page.contains(&format!("Read on {host}")), "{page}");
    assert!(!page.contains("<script"), "no embed script left: {page}");
    // Four photos and an avatar on Bluesky, the avatar (and any media) on Mastodon.
    let pictures = assert_self_contained(&answered, &out, "social.html");
    assert!(pictures >= 6, "{answered:?}");
}

/// Checks that the page asked only its own site for files, each found (the
/// browser's own favicon request aside), and nothing of any other host: the
/// calls home Chromium makes whatever the flags (tunnels to Google hosts the
/// page and stylesheet never name) are told apart. Returns the media served.
fn assert_self_contained(answered: &[(String, u16)], out: &Path, page: &str) -> usize {
    let missing: Vec<_> = answered
        .iter()
        .filter(|(r, s)| r.starts_with(SITE) && *s != 200 && r != &format!("{SITE}/favicon.ico"))
        .collect();
    assert!(
        missing.is_empty(),
        "the page asks for files it lacks: {missing:?}"
    );
    let text = std::fs::read_to_string(out.join(page)).expect("page")
        + &std::fs::read_to_string(out.join("embarc.css")).expect("css");
    let browser_own = |r: &str| {
        r.strip_suffix(":443").is_some_and(|host| {
            (host.ends_with(".google.com")
                || host.ends_with(".googleapis.com")
                || host.ends_with(".gstatic.com"))
                && !text.contains(host)
        })
    };
    let foreign: Vec<_> = answered
        .iter()
        .map(|(r, _)| r)
        .filter(|r| !r.starts_with(SITE) && !browser_own(r))
        .collect();
    assert!(foreign.is_empty(), "requests to other hosts: {foreign:?}");
    answered
        .iter()
        .filter(|(r, s)| r.starts_with(&format!("{SITE}/media/")) && *s == 200)
        .count()
}

#[path = "support/serve.rs"]
mod serve_proc;

/// `embarc serve`'s browse pages in Chromium: the list of posts and a post
/// page (its card, its captures over time), every request crossing a proxy
/// that forwards the site to the real server and refuses every other host.
#[tokio::test(flavor = "multi_thread")]
async fn served_browse_pages_load_nothing_from_any_other_host() {
    let browser = chromium();
    let dir = tempfile::tempdir().expect("tempdir");
    let x = fake_x::start().await;
    let archive = dir.path().join("archive");
    let article = dir.path().join("story.html");
    std::fs::write(
        &article,
        "<!doctype html>\n<html lang=\"en\"><head><title>Flattening</title></head><body>\n\
         <blockquote class=\"twitter-tweet\"><a href=\"https://twitter.com/mattcarrollcode/status/1641895049427550208\">March 31, 2023</a></blockquote>\n\
         <blockquote class=\"twitter-tweet\"><a href=\"https://twitter.com/Rainmaker1973/status/1684218600456876032\"></a></blockquote>\n\
         </body></html>\n",
    )
    .expect("article");
    let a = article.to_str().expect("utf-8");
    tokio::task::block_in_place(|| {
        embarc(&archive, &x.base, &["archive", a]);
        embarc(&archive, &x.base, &["add", "https://t.co/rQd6FIwZ0U"]);
    });
    let srv =
        tokio::task::block_in_place(|| serve_proc::Serve::start(&archive, &["--base-url", SITE]));

    // The proxy: the site is the server; anything else is refused. Each
    // request is logged with the status it got.
    let log: Arc<Mutex<Vec<(String, u16)>>> = Arc::default();
    let (seen, addr) = (log.clone(), srv.addr.clone());
    let proxy = support::start(Arc::new(move |target: String, _| {
        let Some(path) = target.strip_prefix(SITE) else {
            if let Ok(mut l) = seen.lock() {
                l.push((target.clone(), 403));
            }
            return Reply::Raw(response(403, &[], b"not this host"));
        };
        let path = if path.is_empty() { "/" } else { path };
        let answer = serve_proc::get(&addr, path);
        if let Ok(mut l) = seen.lock() {
            l.push((target.clone(), answer.status));
        }
        let ctype = answer
            .header("content-type")
            .unwrap_or("application/octet-stream")
            .to_string();
        Reply::Raw(response(
            answer.status,
            &[("content-type", ctype.as_str())],
            &answer.body,
        ))
    }))
    .await;

    let out = dir.path().join("site");
    std::fs::create_dir_all(&out).expect("out");
    // The stylesheet the pages link, for telling the browser's own calls apart.
    std::fs::write(
        out.join("embarc.css"),
        serve_proc::get(&srv.addr, "/embarc.css").body,
    )
    .expect("css");
    let post = "/post/twitter/1641895049427550208";
    for (page, name, var) in [
        ("/", "index.html", "EMBARC_SCREENSHOT_SERVE"),
        (post, "post.html", "EMBARC_SCREENSHOT_SERVE_POST"),
    ] {
        let html = serve_proc::get(&srv.addr, page);
        assert_eq!(html.status, 200, "{page}");
        assert!(!html.text().contains("<script"), "{page}: no script");
        std::fs::write(out.join(name), &html.body).expect("page");
        log.lock().expect("log").clear();
        let shot = out.join(format!("{name}.png"));
        let status = screenshot(&browser, &proxy.base, &format!("{SITE}{page}"), &shot);
        assert!(
            shot.is_file(),
            "no screenshot: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let png = std::fs::read(&shot).expect("png");
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "a real picture"
        );
        keep_screenshot(&shot, var);
        let answered = log.lock().expect("log").clone();
        let served = |r: &str| answered.iter().any(|(t, s)| t == r && *s == 200);
        assert!(served(&format!("{SITE}{page}")), "{answered:?}");
        assert!(served(&format!("{SITE}/embarc.css")), "{answered:?}");
        let pictures = assert_self_contained(&answered, &out, name);
        if page == post {
            assert!(pictures >= 2, "the avatar and the photo: {answered:?}");
        }
    }
}
