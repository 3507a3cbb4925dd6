//! YouTube and TikTok end to end: the real binary against a local server
//! playing both platforms from real oEmbed answers
//! (`support::fake_video`, `--mirror`). An article with YouTube embeds in
//! several forms (iframe, nocookie iframe, WordPress `youtu.be` block) and
//! a TikTok blockquote is archived: the thumbnail falls back from a missing
//! `maxresdefault` (404) past YouTube's 120×90 placeholder (`sddefault`,
//! 200) to the real `hqdefault`; a removed video is `not_found`, a private
//! one `protected`; a Shorts URL is the same video; a TikTok whose signed
//! thumbnail has expired (403) is `partial`, naming it, and the next run
//! completes it. The archive then renders as facades that ask nothing of
//! either platform, the platforms' scripts removed.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;
use support::fake_video::{self, PRIVATE, REMOVED, TIKTOK, TIKTOK_USER, VIDEO};

/// Runs embarc with the fake's mirrors: exit code, JSON lines, stderr.
fn embarc(base: &str, archive: &Path, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.arg("--archive").arg(archive).args(args);
    for m in fake_video::mirror_flags(base) {
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

fn tiktok_blockquote() -> String {
    format!(
        "<blockquote class=\"tiktok-embed\" cite=\"https://www.tiktok.com/@{TIKTOK_USER}/video/{TIKTOK}\" data-video-id=\"{TIKTOK}\" data-embed-from=\"oembed\" style=\"max-width:605px; min-width:325px;\"> <section> <a target=\"_blank\" title=\"@{TIKTOK_USER}\" href=\"https://www.tiktok.com/@{TIKTOK_USER}?refer=embed\">@{TIKTOK_USER}</a> <p>Andre 3000 performing at Luna Luna</p> </section> </blockquote> <script async src=\"https://www.tiktok.com/embed.js\"></script>"
    )
}

/// An article embedding the video three ways, a removed and a private
/// video, and a TikTok.
pub fn article() -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Videos</title></head><body>\n<h1>Videos</h1>\n\
         <p>The iframe:</p>\n<iframe width=\"500\" height=\"281\" src=\"https://www.youtube.com/embed/{VIDEO}?feature=oembed\" frameborder=\"0\" allowfullscreen title=\"Rick\"></iframe>\n\
         <p>Without cookies:</p>\n<iframe src=\"https://www.youtube-nocookie.com/embed/{VIDEO}?rel=0\" allowfullscreen></iframe>\n\
         <!-- wp:embed {{\"url\":\"https://youtu.be/{VIDEO}\",\"type\":\"video\",\"providerNameSlug\":\"youtube\"}} -->\n\
         <figure class=\"wp-block-embed is-type-video is-provider-youtube wp-block-embed-youtube\"><div class=\"wp-block-embed__wrapper\">\nhttps://youtu.be/{VIDEO}\n</div></figure>\n<!-- /wp:embed -->\n\
         <p>Gone:</p>\n<iframe src=\"https://www.youtube.com/embed/{REMOVED}\"></iframe>\n<iframe src=\"https://www.youtube.com/embed/{PRIVATE}\"></iframe>\n\
         <p>TikTok:</p>\n{}\n<script src=\"https://www.youtube.com/iframe_api\"></script>\n</body></html>\n",
        tiktok_blockquote()
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_with_videos_is_archived_with_the_best_thumbnails_and_rendered_as_facades() {
    let server = fake_video::start(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let story = dir.path().join("videos.html");
    std::fs::write(&story, article()).expect("write");
    let story_arg = story.to_str().expect("utf-8");

    let (code, lines, err) = embarc(&server.base, &archive, &["archive", story_arg, "--json"]);
    // A removed or private video is an answer, not a failure: exit 0.
    assert_eq!(code, Some(0), "{err} {lines:#?}");
    // Three embeds of one video: one line, one capture, one oEmbed request.
    let video = format!("youtube:{VIDEO}");
    assert_eq!(
        lines.iter().filter(|l| l["post"] == video.as_str()).count(),
        1,
        "{lines:#?}"
    );
    let v = line(&lines, &video);
    assert_eq!(v["outcome"], "archived", "{v}");
    assert_eq!(v["source"], "oembed", "{v}");
    assert_eq!(v["media"], 1, "{v}");
    assert_eq!(
        v["url"],
        format!("https://www.youtube.com/watch?v={VIDEO}"),
        "{v}"
    );
    let oembed =
        format!("/yt/oembed?url=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3D{VIDEO}&format=json");
    assert_eq!(server.count(&oembed), 1);
    // The fallback chain: each size asked once, best first.
    for size in ["maxresdefault", "sddefault", "hqdefault"] {
        assert_eq!(
            server.count(&format!("/ytimg/vi/{VIDEO}/{size}.jpg")),
            1,
            "{size}"
        );
    }
    let removed = line(&lines, &format!("youtube:{REMOVED}"));
    assert_eq!(removed["outcome"], "not_found", "{removed}");
    assert_eq!(removed["source"], Value::Null, "{removed}");
    let private = line(&lines, &format!("youtube:{PRIVATE}"));
    assert_eq!(private["outcome"], "protected", "{private}");
    let tiktok = line(&lines, &format!("tiktok:{TIKTOK}"));
    assert_eq!(tiktok["outcome"], "archived", "{tiktok}");
    assert_eq!(tiktok["source"], "oembed", "{tiktok}");
    assert_eq!(tiktok["media"], 1, "{tiktok}");

    // The stored thumbnail is the real 480×360 one, not the placeholder.
    let (code, shown, err) = embarc(&server.base, &archive, &["show", "--json", &video]);
    assert_eq!(code, Some(0), "{err}");
    let capture = shown.last().expect("a capture");
    assert_eq!(capture["author"], "Rick Astley", "{capture:#}");
    assert_eq!(capture["handle"], "RickAstleyYT", "{capture:#}");
    assert_eq!(
        capture["text"],
        "Rick Astley - Never Gonna Give You Up (Official Music Video)"
    );
    let media = capture["media"].as_array().expect("media");
    assert_eq!(media.len(), 1, "{capture:#}");
    assert_eq!(
        media[0]["url"],
        format!("https://i.ytimg.com/vi/{VIDEO}/hqdefault.jpg")
    );
    let hq = fake_video::jpeg_picture(480, 360, 1);
    assert_eq!(media[0]["bytes"], hq.len() as u64, "{capture:#}");
    let (code, shown, _) = embarc(
        &server.base,
        &archive,
        &["show", "--json", &format!("youtube:{PRIVATE}")],
    );
    assert_eq!(code, Some(0));
    let words = shown[0]["error"].as_str().unwrap_or_default();
    assert!(words.contains("Unauthorized"), "{:#}", shown[0]);

    // Rendered: facades with the archived thumbnails, no platform script,
    // no platform frame, the gone videos said so.
    let out = dir.path().join("site");
    let (code, rendered, err) = embarc(
        &server.base,
        &archive,
        &[
            "render",
            story_arg,
            "-o",
            out.to_str().expect("utf-8"),
            "--json",
        ],
    );
    assert_eq!(code, Some(0), "{err} {rendered:#?}");
    let page = std::fs::read_to_string(out.join("videos.html")).expect("page");
    for gone in [
        "youtube.com/embed",
        "youtube-nocookie.com",
        "tiktok.com/embed.js",
        "iframe_api",
        "<iframe",
        "<script",
    ] {
        assert!(!page.contains(gone), "{gone} left in {page}");
    }
    assert_eq!(
        page.matches("class=\"embarc-post embarc-video embarc-video-youtube\"")
            .count(),
        5,
        "{page}"
    );
    assert_eq!(page.matches("embarc-video-tiktok").count(), 1, "{page}");
    assert!(
        page.contains("Rick Astley - Never Gonna Give You Up (Official Music Video)"),
        "{page}"
    );
    assert!(
        page.contains(&format!("href=\"https://www.youtube.com/watch?v={VIDEO}\"")),
        "{page}"
    );
    assert!(
        page.contains("No longer available on YouTube since"),
        "{page}"
    );
    let removed_scripts = rendered[0]["removed_scripts"].as_array().expect("scripts");
    assert!(
        removed_scripts
            .iter()
            .any(|s| s == "https://www.tiktok.com/embed.js"),
        "{:#}",
        rendered[0]
    );
    assert!(
        removed_scripts
            .iter()
            .any(|s| s == "https://www.youtube.com/iframe_api"),
        "{:#}",
        rendered[0]
    );
    // The published thumbnail is the hqdefault picture.
    let published: Vec<Vec<u8>> = std::fs::read_dir(out.join("media"))
        .expect("media")
        .map(|e| std::fs::read(e.expect("entry").path()).expect("read"))
        .collect();
    assert!(published.contains(&hq), "the hq thumbnail is published");
    assert!(!published.contains(&fake_video::placeholder()));
    assert!(published.contains(&fake_video::jpeg_picture(576, 1024, 2)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shorts_url_is_the_same_video() {
    let server = fake_video::start(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let shorts = format!("https://www.youtube.com/shorts/{VIDEO}");
    let (code, lines, err) = embarc(&server.base, &archive, &["add", &shorts, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let v = line(&lines, &format!("youtube:{VIDEO}"));
    assert_eq!(v["outcome"], "archived", "{v}");
    assert_eq!(v["url"], format!("https://www.youtube.com/watch?v={VIDEO}"));
    // Asked about the video by its watch URL, which oEmbed knows.
    let oembed =
        format!("/yt/oembed?url=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3D{VIDEO}&format=json");
    assert_eq!(server.count(&oembed), 1);
    // Every other URL of it is the post already archived: no request.
    let before = server.total();
    for u in [
        format!("https://youtu.be/{VIDEO}"),
        format!("https://www.youtube.com/watch?v={VIDEO}&t=42"),
        format!("https://www.youtube-nocookie.com/embed/{VIDEO}"),
        format!("youtube:{VIDEO}"),
    ] {
        let (code, lines, err) = embarc(&server.base, &archive, &["add", &u, "--json"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            line(&lines, &format!("youtube:{VIDEO}"))["outcome"],
            "unchanged",
            "{u}"
        );
    }
    assert_eq!(server.total(), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tiktok_whose_thumbnail_expired_is_partial_and_the_next_run_completes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let url = format!("https://www.tiktok.com/@{TIKTOK_USER}/video/{TIKTOK}");
    let label = format!("tiktok:{TIKTOK}");
    {
        // TikTok's answer as recorded: its thumbnail URL expired in 2024.
        let server = fake_video::start(true).await;
        let (code, lines, err) = embarc(&server.base, &archive, &["add", &url, "--json"]);
        assert_eq!(code, Some(1), "a partial capture fails the run: {err}");
        let t = line(&lines, &label);
        assert_eq!(t["outcome"], "partial", "{t}");
        assert_eq!(t["media"], 0, "{t}");
        assert_eq!(
            t["error"],
            "media not stored: photo (HTTP 403: its signed URL expired at 2024-07-27T20:00:00Z; the next run asks TikTok for a fresh one)"
        );
        let failed = t["error_url"].as_str().unwrap_or_default();
        assert!(
            failed.starts_with(&format!("https://{}/obj/", fake_video::TIKTOK_CDN)),
            "{t}"
        );
        // The post itself is kept.
        let (_, shown, _) = embarc(&server.base, &archive, &["show", "--json", &label]);
        assert_eq!(shown[0]["author"], "Valeria Cardona", "{:#}", shown[0]);
        assert_eq!(shown[0]["handle"], TIKTOK_USER);
    }
    // The next run asks oEmbed again, gets a URL signed afresh, and the file.
    let server = fake_video::start(false).await;
    let (code, lines, err) = embarc(&server.base, &archive, &["add", &url, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let t = line(&lines, &label);
    assert_eq!(t["outcome"], "archived", "{t}");
    assert_eq!(t["media"], 1, "{t}");
    let asked = format!(
        "/tt/oembed?url=https%3A%2F%2Fwww.tiktok.com%2F%40{TIKTOK_USER}%2Fvideo%2F{TIKTOK}"
    );
    assert_eq!(server.count(&asked), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nocookie_player_asks_youtube_nothing_before_the_click() {
    let server = fake_video::start(false).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let (code, _, err) = embarc(
        &server.base,
        &archive,
        &["add", &format!("https://youtu.be/{VIDEO}")],
    );
    assert_eq!(code, Some(0), "{err}");
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .arg("--archive")
        .arg(&archive)
        .args([
            "render",
            "--post",
            &format!("youtube:{VIDEO}"),
            "--video-player",
            "nocookie",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let card = String::from_utf8(out.stdout).expect("utf-8");
    // The only markup outside the frame's srcdoc is ours: the player's URL
    // is inside it, escaped, where the browser asks nothing until a click.
    let start = card.find("srcdoc=\"").expect("srcdoc") + 8;
    let end = start + card[start..].find('"').expect("end");
    let outside = format!("{}{}", &card[..start], &card[end..]);
    assert!(!outside.contains("youtube-nocookie.com"), "{card}");
    assert!(
        card[start..end].contains(&format!(
            "https://www.youtube-nocookie.com/embed/{VIDEO}?autoplay=1"
        )),
        "{card}"
    );
    assert!(!card.contains("<script"), "{card}");
}
