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
    embarc_via(archive, &fake_x::mirror_flags(mirror), args);
}

/// Runs embarc on `archive` with these `--mirror`s; it must succeed.
/// Returns its stdout.
fn embarc_via(archive: &Path, mirrors: &[String], args: &[&str]) -> String {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.arg("--archive").arg(archive);
    for m in mirrors {
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
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next() {
        Some("html") => "text/html; charset=utf-8",
        Some("css") => "text/css",
        Some("png") => "image/png",
        Some("jpg") => "image/jpeg",
        Some("mp4") => "video/mp4",
        Some("js") => "text/javascript",
        Some("wacz") => "application/wacz",
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
    load_with(browser, out, page, &["--virtual-time-budget=5000"]).await
}

/// [`load`] with these Chromium flags (how long to wait, above all).
async fn load_with(
    browser: &Path,
    out: &Path,
    page: &str,
    flags: &[&str],
) -> (PathBuf, Vec<(String, u16)>) {
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
        if path == "wait" {
            // A pause in real time: while the page waits for it, Chromium's
            // virtual time stands still (a page that polls this way gives
            // a service worker the real time it needs).
            logged(200);
            return Reply::Slow(
                b"HTTP/1.1 200 X\r\ncontent-length: 2\r\nconnection: close\r\n\r\n".to_vec(),
                vec![(300, b"ok".to_vec())],
            );
        }
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
    screenshot(
        browser,
        &proxy.base,
        &format!("{SITE}/{page}"),
        &shot,
        flags,
    );
    let answered = log.lock().expect("log").clone();
    (shot, answered)
}

/// Headless Chromium loads `url` through the HTTP proxy at `proxy` (every
/// request, loopback included) and writes a screenshot to `shot`, which
/// must be a real picture.
fn screenshot(browser: &Path, proxy: &str, url: &str, shot: &Path, flags: &[&str]) {
    let profile = tempfile::tempdir().expect("profile");
    let status = tokio::task::block_in_place(|| {
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
            ])
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg(format!("--proxy-server={proxy}"))
            // Loopback is not exempt: every request crosses the proxy.
            .arg("--proxy-bypass-list=<-loopback>")
            .arg(format!("--screenshot={}", shot.display()))
            .arg(url)
            .output()
            .expect("chromium runs")
    });
    assert!(
        shot.is_file(),
        "no screenshot: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    let png = std::fs::read(shot).expect("png");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 20_000,
        "a real picture"
    );
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
    let run = |args: &[&str]| embarc_via(&archive, &mirrors, args);
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

/// Whether a request the proxy saw is one of Chromium's calls home (a
/// tunnel to a Google host that the page's `text` never names), which no
/// flag stops and which are not the page's.
fn chromium_own_call(request: &str, text: &str) -> bool {
    request.strip_suffix(":443").is_some_and(|host| {
        (host.ends_with(".google.com")
            || host.ends_with(".googleapis.com")
            || host.ends_with(".gstatic.com"))
            && !text.contains(host)
    })
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
    let foreign: Vec<_> = answered
        .iter()
        .map(|(r, _)| r)
        .filter(|r| !r.starts_with(SITE) && !chromium_own_call(r, &text))
        .collect();
    assert!(foreign.is_empty(), "requests to other hosts: {foreign:?}");
    answered
        .iter()
        .filter(|(r, s)| r.starts_with(&format!("{SITE}/media/")) && *s == 200)
        .count()
}

/// ReplayWeb.page, the replay tool archivists open WACZ files in (npm
/// `replaywebpage`, unpacked by scripts/test into
/// target/test-tools/replaywebpage), loads an export's WACZ from the site and
/// shows a post's page: the harness page's script walks into the replay
/// frame and reports its text back to the site, and the screenshot is the
/// README's. Nothing is asked of any host but the site.
#[tokio::test(flavor = "multi_thread")]
async fn replaywebpage_shows_a_post_page_from_the_wacz() {
    let browser = chromium();
    let rwp = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/replaywebpage");
    assert!(
        rwp.join("sw.js").is_file() && rwp.join("ui.js").is_file(),
        "this test needs ReplayWeb.page in {}: run scripts/test, which unpacks npm's replaywebpage there",
        rwp.display()
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let x = fake_x::start().await;
    let archive = dir.path().join("archive");
    let article = dir.path().join("story.html");
    let post = "https://twitter.com/mattcarrollcode/status/1641895049427550208";
    std::fs::write(
        &article,
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Flattening</title></head><body>\n\
             <blockquote class=\"twitter-tweet\"><p>…</p>&mdash; Matt Carroll (@mattcarrollcode) <a href=\"{post}\">March 31, 2023</a></blockquote>\n</body></html>\n"
        ),
    )
    .expect("article");
    let site = dir.path().join("site");
    std::fs::create_dir_all(site.join("replay")).expect("mkdir");
    let wacz = site.join("archive.wacz");
    tokio::task::block_in_place(|| {
        embarc(
            &archive,
            &x.base,
            &["archive", article.to_str().expect("utf-8")],
        );
        embarc(
            &archive,
            &x.base,
            &["export", "--wacz", wacz.to_str().expect("utf-8")],
        );
    });
    // ReplayWeb.page's files where its docs put them: both under `replay/`.
    std::fs::copy(rwp.join("ui.js"), site.join("replay/ui.js")).expect("ui.js");
    std::fs::copy(rwp.join("sw.js"), site.join("replay/sw.js")).expect("sw.js");
    // The harness: ReplayWeb.page's own element, as its docs embed it, and a
    // script that reports the replayed frame's text (walking the shadow
    // roots and same-origin frames of ReplayWeb.page) once it has some,
    // polling in real time through the site's `wait`.
    std::fs::write(
        site.join("index.html"),
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>replay</title>\n\
             <script src=\"replay/ui.js\"></script>\n\
             <style>html,body{{margin:0;height:100%}}replay-web-page{{display:block;height:100vh}}</style></head><body>\n\
             <replay-web-page source=\"archive.wacz\" url=\"{post}\" replayBase=\"replay/\"></replay-web-page>\n\
             <script>\n\
             function texts(root, out) {{\n\
               for (const el of root.querySelectorAll('*')) {{\n\
                 if (el.shadowRoot) texts(el.shadowRoot, out);\n\
                 if (el.tagName === 'IFRAME') {{\n\
                   try {{ const d = el.contentDocument; if (d) {{ out.push([d.location.href, d.body ? d.body.innerText : '']); texts(d, out); }} }} catch (e) {{}}\n\
                 }}\n\
               }}\n\
               return out;\n\
             }}\n\
             (async () => {{\n\
               let found = [];\n\
               for (let i = 0; i < 100 && !found.length; i++) {{\n\
                 await (await fetch('wait?' + i)).text();\n\
                 found = texts(document, []).filter(([u, t]) => u.includes('mp_/') && t.trim());\n\
               }}\n\
               await fetch('report?' + encodeURIComponent(JSON.stringify(found).slice(0, 4000)));\n\
             }})();\n\
             </script></body></html>\n"
        ),
    )
    .expect("harness");

    let (shot, answered) = load_with(
        &browser,
        &site,
        "index.html",
        &[
            "--virtual-time-budget=5000",
            "--window-size=800,900",
            // A service worker needs a secure origin; the site is plain http.
            &format!("--unsafely-treat-insecure-origin-as-secure={SITE}"),
        ],
    )
    .await;
    keep_screenshot(&shot, "EMBARC_SCREENSHOT_REPLAY");
    let report = answered
        .iter()
        .find_map(|(r, _)| r.strip_prefix(&format!("{SITE}/report?")))
        .unwrap_or_else(|| panic!("the harness never reported: {answered:?}"));
    let decoded: String = url::form_urlencoded::parse(report.as_bytes())
        .map(|(k, v)| format!("{k}{v}"))
        .collect();
    let frames: Vec<(String, String)> = serde_json::from_str(&decoded).expect("report JSON");
    let shown = frames
        .iter()
        .find(|(u, _)| u.ends_with(post))
        .unwrap_or_else(|| panic!("no replayed frame of {post}: {frames:?}"));
    assert!(
        shown.1.contains("mattcarrollcode") && shown.1.contains("Read on X"),
        "the replayed page shows the post's card: {shown:?}"
    );
    assert!(
        answered
            .iter()
            .any(|(r, s)| r == &format!("{SITE}/archive.wacz") && *s == 200),
        "ReplayWeb.page read the WACZ: {answered:?}"
    );
    // A Google host that ReplayWeb.page itself names would be its request.
    let named = std::fs::read_to_string(site.join("replay/ui.js")).expect("ui.js")
        + &std::fs::read_to_string(site.join("replay/sw.js")).expect("sw.js");
    let foreign: Vec<_> = answered
        .iter()
        .filter(|(r, _)| !r.starts_with(SITE) && !chromium_own_call(r, &named))
        .collect();
    assert!(foreign.is_empty(), "requests to other hosts: {foreign:?}");
}

/// A page with a YouTube and a TikTok embed, archived from the fake
/// platforms of `support::fake_video` and rendered as facades, loads
/// nothing from any other host; with `--video-player nocookie`, nothing
/// before a click, and after a click on the play button (in a frame of the
/// page, by a harness page on the same site) exactly the player's host,
/// `www.youtube-nocookie.com`: the proxy sees the browser's CONNECT to it
/// (and refuses it: no internet here), which is the navigation's request.
#[tokio::test(flavor = "multi_thread")]
async fn video_facades_load_nothing_until_the_click_and_then_only_the_player() {
    use support::fake_video::{self, TIKTOK, TIKTOK_USER, VIDEO};
    let browser = chromium();
    let dir = tempfile::tempdir().expect("tempdir");
    let videos = fake_video::start(false).await;
    let mirrors = fake_video::mirror_flags(&videos.base);
    let archive = dir.path().join("archive");
    let article = dir.path().join("videos.html");
    std::fs::write(
        &article,
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Videos</title>\
             <style>body{{margin:0 auto;padding:8px;max-width:600px;font-family:sans-serif}}</style></head><body>\n\
             <h1>Watch this</h1>\n<p>On YouTube:</p>\n\
             <iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/{VIDEO}?feature=oembed\" frameborder=\"0\" allowfullscreen></iframe>\n\
             <p>On TikTok:</p>\n\
             <blockquote class=\"tiktok-embed\" cite=\"https://www.tiktok.com/@{TIKTOK_USER}/video/{TIKTOK}\" data-video-id=\"{TIKTOK}\"><section><a href=\"https://www.tiktok.com/@{TIKTOK_USER}\">@{TIKTOK_USER}</a></section></blockquote>\n\
             <script async src=\"https://www.tiktok.com/embed.js\"></script>\n</body></html>\n"
        ),
    )
    .expect("article");
    let a = article.to_str().expect("utf-8");
    let run = |args: &[&str]| embarc_via(&archive, &mirrors, args);
    run(&["archive", a]);
    let plain = dir.path().join("plain");
    let nocookie = dir.path().join("nocookie");
    run(&["render", a, "-o", plain.to_str().expect("utf-8")]);
    run(&[
        "render",
        a,
        "-o",
        nocookie.to_str().expect("utf-8"),
        "--video-player",
        "nocookie",
    ]);

    // The facades: both thumbnails from the site, nothing from elsewhere.
    let (shot, answered) = load(&browser, &plain, "videos.html").await;
    keep_screenshot(&shot, "EMBARC_SCREENSHOT_VIDEO");
    let page = std::fs::read_to_string(plain.join("videos.html")).expect("page");
    assert!(
        !page.contains("<script") && !page.contains("<iframe"),
        "{page}"
    );
    assert_eq!(
        assert_self_contained(&answered, &plain, "videos.html"),
        2,
        "{answered:?}"
    );

    // The nocookie player before a click: the same.
    let (_, answered) = load(&browser, &nocookie, "videos.html").await;
    assert_eq!(
        assert_self_contained(&answered, &nocookie, "videos.html"),
        2,
        "{answered:?}"
    );

    // After a click on its play link: the player's host, and no other.
    std::fs::write(
        nocookie.join("click.html"),
        "<!doctype html><html><body style=\"margin:0\"><iframe id=\"page\" src=\"videos.html\" style=\"width:620px;height:1400px;border:0\"></iframe><script>\
         document.getElementById('page').addEventListener('load', function () {\
           var page = this.contentDocument;\
           (function play() {\
             var frame = page.querySelector('iframe.embarc-video-frame');\
             var link = frame && frame.contentDocument && frame.contentDocument.querySelector('a');\
             if (link) { link.click(); } else { setTimeout(play, 50); }\
           })();\
         });\
         </script></body></html>",
    )
    .expect("harness");
    let (_, answered) = load(&browser, &nocookie, "click.html").await;
    let google = |r: &str| {
        r.strip_suffix(":443").is_some_and(|h| {
            h.ends_with(".google.com")
                || h.ends_with(".googleapis.com")
                || h.ends_with(".gstatic.com")
        })
    };
    let foreign: Vec<&String> = answered
        .iter()
        .map(|(r, _)| r)
        .filter(|r| !r.starts_with(SITE) && !google(r))
        .collect();
    assert!(
        !foreign.is_empty() && foreign.iter().all(|r| *r == "www.youtube-nocookie.com:443"),
        "after the click, only the player's host: {answered:?}"
    );
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
        screenshot(
            &browser,
            &proxy.base,
            &format!("{SITE}{page}"),
            &shot,
            &["--virtual-time-budget=5000"],
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

/// One page citing a post of every provider embarc captures (X, Bluesky,
/// Mastodon, YouTube, TikTok, Reddit, Instagram, Threads, Facebook), each
/// archived from its fake platform and rendered: every embed becomes a card
/// or a facade, every platform's script goes, and the page asks nothing of
/// any host but its own site. The screenshot is the README's.
#[tokio::test(flavor = "multi_thread")]
async fn a_page_citing_every_provider_loads_nothing_from_any_other_host() {
    use support::{fake_bluesky, fake_mastodon, fake_meta, fake_reddit, fake_video};
    let browser = chromium();
    let dir = tempfile::tempdir().expect("tempdir");
    let x = fake_x::start().await;
    let (bluesky, _) = fake_bluesky::start(false).await;
    let mastodon = fake_mastodon::start("http://127.0.0.1:9").await;
    let videos = fake_video::start(false).await;
    let reddit = fake_reddit::start().await;
    let meta = fake_meta::start().await;
    let mut mirrors = fake_x::mirror_flags(&x.base);
    mirrors.extend(fake_bluesky::mirror_flags(&bluesky.base));
    mirrors.extend(fake_mastodon::mirror_flags(&mastodon.base));
    mirrors.extend(fake_video::mirror_flags(&videos.base));
    mirrors.extend(fake_reddit::mirror_flags(&reddit.base));
    mirrors.extend(fake_meta::mirror_flags(&meta.base));
    let (did, rkey) = (fake_bluesky::FOUR_DID, fake_bluesky::FOUR_RKEY);
    let (host, status) = fake_mastodon::CARD;
    let (video, tiktok, tiktok_user) = (
        fake_video::VIDEO,
        fake_video::TIKTOK,
        fake_video::TIKTOK_USER,
    );
    let (sub, reddit_id) = fake_reddit::SELF;
    // Meta's own embed markup, from the recorded oEmbed answers.
    let meta_html = |name: &str| -> String {
        let v: serde_json::Value =
            serde_json::from_slice(&fake_reddit::fixture(name)).expect("fixture");
        v["html"].as_str().unwrap_or_default().to_string()
    };
    let article = dir.path().join("every.html");
    std::fs::write(
        &article,
        format!(
            "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>Every platform</title>\
             <style>body{{margin:0 auto;padding:8px;max-width:600px;font-family:sans-serif}}</style></head><body>\n\
             <h1>One story, nine platforms</h1>\n\
             <blockquote class=\"twitter-tweet\"><p lang=\"en\" dir=\"ltr\">…</p>&mdash; Matt Carroll (@mattcarrollcode) <a href=\"https://twitter.com/mattcarrollcode/status/1641895049427550208\">March 31, 2023</a></blockquote>\n\
             <script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script>\n\
             <blockquote class=\"bluesky-embed\" data-bluesky-uri=\"at://{did}/app.bsky.feed.post/{rkey}\"><p>…</p>&mdash; (<a href=\"https://bsky.app/profile/{did}\">@someone</a>) <a href=\"https://bsky.app/profile/{did}/post/{rkey}?ref_src=embed\">February 7, 2025</a></blockquote>\n\
             <script async src=\"https://embed.bsky.app/static/embed.js\" charset=\"utf-8\"></script>\n\
             <blockquote class=\"mastodon-embed\" data-embed-url=\"https://{host}/@austinkocher/{status}/embed\"><a href=\"https://{host}/@austinkocher/{status}\">Post by @austinkocher@{host}</a></blockquote>\n\
             <script data-allowed-prefixes=\"https://{host}/\" async src=\"https://{host}/embed.js\"></script>\n\
             <iframe width=\"560\" height=\"315\" src=\"https://www.youtube.com/embed/{video}?feature=oembed\" frameborder=\"0\" allowfullscreen></iframe>\n\
             <blockquote class=\"tiktok-embed\" cite=\"https://www.tiktok.com/@{tiktok_user}/video/{tiktok}\" data-video-id=\"{tiktok}\"><section><a href=\"https://www.tiktok.com/@{tiktok_user}\">@{tiktok_user}</a></section></blockquote>\n\
             <script async src=\"https://www.tiktok.com/embed.js\"></script>\n\
             <blockquote class=\"reddit-embed-bq\" data-embed-height=\"500\"><a href=\"https://www.reddit.com/r/{sub}/comments/{reddit_id}/a_post/\">You won't get any secrets out of me</a><br> by <a href=\"https://www.reddit.com/user/someone/\">u/someone</a> in <a href=\"https://www.reddit.com/r/{sub}/\">{sub}</a></blockquote><script async=\"\" src=\"https://embed.reddit.com/widgets.js\" charset=\"UTF-8\"></script>\n\
             {instagram}\n{facebook}\n{threads}\n</body></html>\n",
            instagram = meta_html("instagram-BMokmydjG-M.json"),
            facebook = meta_html("facebook-10102593740125791.json"),
            threads = meta_html("threads-DWjTI0cgH5O.json")
                .replace("https://www.threads.com/t/DWjTI0cgH5O", fake_meta::THREADS_URL),
        ),
    )
    .expect("article");
    let a = article.to_str().expect("utf-8");
    let out = dir.path().join("site");
    let archive = dir.path().join("archive");
    let run = |args: &[&str]| embarc_via(&archive, &mirrors, args);
    let lines = run(&["--json", "archive", a, "--meta-token", fake_meta::TOKEN]);
    let archived: Vec<&str> = lines
        .lines()
        .filter(|l| l.contains("\"outcome\":\"archived\""))
        .collect();
    assert_eq!(archived.len(), 9, "one post of each provider: {lines}");
    run(&["render", a, "-o", out.to_str().expect("utf-8")]);
    let page = std::fs::read_to_string(out.join("every.html")).expect("page");
    assert!(
        !page.contains("<script"),
        "every platform's script removed: {page}"
    );
    assert!(!page.contains("<iframe"), "no player loaded: {page}");
    assert_eq!(
        page.matches("data-embarc-post=\"").count(),
        9,
        "a card or facade for each embed: {page}"
    );

    let (shot, answered) = load_with(
        &browser,
        &out,
        "every.html",
        &["--virtual-time-budget=5000", "--window-size=640,4200"],
    )
    .await;
    keep_screenshot(&shot, "EMBARC_SCREENSHOT_EVERY");
    let pictures = assert_self_contained(&answered, &out, "every.html");
    assert!(
        pictures >= 9,
        "avatars, photos and thumbnails served: {answered:?}"
    );
}
