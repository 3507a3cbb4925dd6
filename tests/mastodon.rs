//! Mastodon end to end: the real binary archives an article with Mastodon
//! embeds (blockquote, iframe, links, a remote status as another instance
//! shows it) and `add`s statuses by URL, against a fake fediverse playing
//! the instances from real answers (`--mirror`); then `show`, `ls`,
//! `render` and `export` read what it stored.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::io::Read;
use std::path::{Path, PathBuf};
use support::fake_mastodon::{
    self, API_DOWN, CARD, DELETED, EDITED, EDITED_FIRST_TEXT, GIFV, HOSTILE, PROTECTED, QUOTED_ID,
    QUOTING, REMOTE, REMOTE_ORIGIN_ID,
};
use support::{Reply, Server, response};

struct Env {
    dir: tempfile::TempDir,
    archive: PathBuf,
    fake: Server,
    trap: Server,
}

/// A scratch folder, a trap server that must see no request, and the fake
/// fediverse (whose hostile status names the trap).
async fn env() -> Env {
    let trap = support::start(std::sync::Arc::new(|_: String, _: u32| {
        Reply::Raw(response(200, &[("content-type", "image/png")], b"secret"))
    }))
    .await;
    let fake = fake_mastodon::start(&trap.base).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    Env {
        dir,
        archive,
        fake,
        trap,
    }
}

struct Run {
    code: Option<i32>,
    lines: Vec<Value>,
    stdout: String,
    stderr: String,
}

/// `embarc ARGS… --archive DIR` (with the fake's mirrors for `archive`/`add`).
fn embarc(env: &Env, args: &[&str]) -> Run {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.current_dir(env.dir.path())
        .args(args)
        .arg("--archive")
        .arg(&env.archive);
    if matches!(args.first(), Some(&"archive" | &"add")) {
        for m in fake_mastodon::mirror_flags(&env.fake.base) {
            cmd.arg("--mirror").arg(m);
        }
    }
    let out = cmd.output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines = if args.contains(&"--json") {
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    } else {
        Vec::new()
    };
    Run {
        code: out.status.code(),
        lines,
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn label((host, id): (&str, &str)) -> String {
    format!("mastodon:{host}/{id}")
}

fn line<'a>(lines: &'a [Value], post: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["post"] == post)
        .unwrap_or_else(|| panic!("no line for {post}: {lines:#?}"))
}

fn api_path((host, id): (&str, &str)) -> String {
    format!("/{host}/api/v1/statuses/{id}")
}

const ARTICLE: &str = r#"<!doctype html><html lang="fr"><head><title>Fediverse</title></head><body>
<p>Un message avec une carte :</p>
<blockquote class="mastodon-embed" data-embed-url="https://mastodon.social/@austinkocher/109294719267373593/embed" style="max-width: 540px"><a href="https://mastodon.social/@austinkocher/109294719267373593" target="_blank">Post by @austinkocher@mastodon.social</a></blockquote>
<p>Un message modifié :</p>
<iframe src="https://fosstodon.org/@MisterHW/114870341462245939/embed" class="mastodon-embed" style="max-width: 100%; border: 0" width="400" allowfullscreen="allowfullscreen"></iframe>
<p>Vu depuis une autre instance :</p>
<blockquote class="mastodon-embed" data-embed-url="https://fosstodon.org/@simonpcouch@rstats.me/114870142263126875/embed"><a href="https://fosstodon.org/@simonpcouch@rstats.me/114870142263126875">Post by @simonpcouch@rstats.me</a></blockquote>
<p>Effacé, puis verrouillé :</p>
<blockquote class="mastodon-embed" data-embed-url="https://mastodon.social/@gone/404404/embed"></blockquote>
<iframe src="https://mastodon.social/@locked/401401/embed" class="mastodon-embed"></iframe>
<p>Une citation :</p>
<blockquote class="mastodon-embed" data-embed-url="https://mastodon.social/@Gargron/111111/embed"></blockquote>
<p>Hostile, puis privé :</p>
<blockquote class="mastodon-embed" data-embed-url="https://hostile.example/@x/1/embed"></blockquote>
<blockquote class="mastodon-embed" data-embed-url="https://127.0.0.1/@a/1/embed"></blockquote>
<p>Un lien dans le texte n'est pas capturé : <a href="https://mastodon.social/@cybertrapped/114870361509088779">ce message</a>.</p>
</body></html>
"#;

fn read_warc(path: &Path) -> String {
    let mut out = Vec::new();
    let f = std::fs::File::open(path).expect("warc");
    flate2::read::MultiGzDecoder::new(f)
        .read_to_end(&mut out)
        .expect("gunzip warc");
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_article_with_mastodon_embeds_is_archived_rendered_and_exported() {
    let env = env().await;
    let article = env.dir.path().join("article.html");
    std::fs::write(&article, ARTICLE).expect("write article");

    // Archive: every form found, every outcome as the instance says.
    let run = embarc(&env, &["archive", "article.html", "--json"]);
    assert_eq!(
        run.code,
        Some(1),
        "a private-address instance fails: {}",
        run.stderr
    );
    let l = &run.lines;
    let card = line(l, &label(CARD));
    assert_eq!(card["outcome"], "archived", "{card}");
    assert_eq!(card["source"], "api");
    assert_eq!(card["media"], 2, "avatar and card image: {card}");
    assert_eq!(line(l, &label(EDITED))["outcome"], "archived");
    let remote = line(l, &label(REMOTE));
    assert_eq!(remote["outcome"], "archived", "{remote}");
    assert_eq!(
        remote["url"],
        "https://fosstodon.org/@simonpcouch@rstats.me/114870142263126875"
    );
    assert_eq!(line(l, &label(DELETED))["outcome"], "not_found");
    let locked = line(l, &label(PROTECTED));
    assert_eq!(locked["outcome"], "protected");
    assert_eq!(line(l, &label(QUOTING))["outcome"], "archived");
    // A link in prose to a Mastodon post is scan's, not archive's (as for
    // every provider but X).
    assert!(l.iter().all(|x| x["post"] != label(GIFV)), "{l:#?}");
    assert_eq!(l.len(), 8, "{l:#?}");
    let private = line(l, "mastodon:127.0.0.1/1");
    assert_eq!(private["outcome"], "failed");
    let why = private["error"].as_str().unwrap_or_default();
    assert!(
        why.contains("127.0.0.1") && why.contains("not a public address"),
        "{why}"
    );
    // The hostile instance's files on private addresses are refused by name
    // (an address literal, and a name that resolves to loopback); the trap
    // behind one of them saw nothing.
    let bad = line(l, &label(HOSTILE));
    assert!(
        matches!(bad["outcome"].as_str(), Some("archived" | "partial")),
        "{bad}"
    );
    let why = bad["error"].as_str().unwrap_or_default();
    assert!(why.contains("avatar (127.0.0.1"), "{why}");
    assert!(why.contains("photo (localhost"), "{why}");
    assert!(why.contains("card_image (10.0.0.1"), "{why}");
    assert_eq!(env.trap.total(), 0, "the trap was reached");
    // The remote status was asked of its instance, then of its origin, once each.
    assert_eq!(env.fake.count(&api_path(REMOTE)), 1);
    assert_eq!(
        env.fake.count(&api_path(("rstats.me", REMOTE_ORIGIN_ID))),
        1
    );
    // No photo's preview was asked (the fake counts that as a violation).

    // show: the remote status from its origin, both answers recorded.
    let shown = embarc(&env, &["show", "--json", &label(REMOTE)]);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    let c = &shown.lines[0];
    assert_eq!(c["handle"], "simonpcouch@rstats.me");
    assert_eq!(c["source"], "api");
    let media: Vec<&str> = c["media"]
        .as_array()
        .expect("media")
        .iter()
        .filter_map(|m| m["url"].as_str())
        .collect();
    assert!(
        media.iter().any(
            |u| u.starts_with("https://cdn.masto.host/rstatsme/media_attachments/")
                && u.contains("/original/")
        ),
        "the origin's original file: {media:?}"
    );
    assert!(c["exchanges"].as_u64().unwrap_or(0) >= 4, "{c}");
    // The same capture is found under the origin's identity too.
    let origin = format!("mastodon:rstats.me/{REMOTE_ORIGIN_ID}");
    let at_origin = embarc(&env, &["show", "--json", &origin]);
    assert_eq!(at_origin.code, Some(0), "{}", at_origin.stderr);
    assert_eq!(at_origin.lines.len(), 1);
    assert_eq!(at_origin.lines[0]["text"], c["text"]);
    assert_eq!(
        at_origin.lines[0]["url"],
        "https://rstats.me/@simonpcouch/114870142137562212"
    );
    let before = env.fake.total();
    let cited_at_origin = embarc(
        &env,
        &[
            "add",
            "https://rstats.me/@simonpcouch/114870142137562212",
            "--json",
        ],
    );
    assert_eq!(cited_at_origin.lines[0]["outcome"], "unchanged");
    assert_eq!(
        env.fake.total(),
        before,
        "no request for a post already archived"
    );
    // The protected status keeps the instance's words.
    let shown = embarc(&env, &["show", "--json", &label(PROTECTED)]);
    assert_eq!(
        shown.lines[0]["error"],
        "This API requires an authenticated user"
    );
    // The quoted post is a post of its own.
    let quoted = format!("mastodon:mastodon.social/{QUOTED_ID}");
    let shown = embarc(&env, &["show", "--json", &quoted]);
    assert_eq!(shown.code, Some(0), "{}", shown.stderr);
    assert_eq!(shown.lines[0]["handle"], "Gargron@mastodon.social");

    // An edit: a second capture keeps both texts.
    let url = "https://fosstodon.org/@MisterHW/114870341462245939";
    let again = embarc(&env, &["add", url, "--refresh", "--json"]);
    assert_eq!(again.lines[0]["outcome"], "archived", "{}", again.stderr);
    let shown = embarc(&env, &["show", "--json", &label(EDITED)]);
    let texts: Vec<&str> = shown
        .lines
        .iter()
        .filter_map(|c| c["text"].as_str())
        .collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    assert_eq!(texts[0], EDITED_FIRST_TEXT);
    assert!(
        texts[1].starts_with("Know how many transistors"),
        "{texts:?}"
    );

    // ls lists them with their handles.
    let ls = embarc(&env, &["ls", "--json"]);
    assert_eq!(ls.code, Some(0), "{}", ls.stderr);
    let listed = line(&ls.lines, &label(CARD));
    assert_eq!(listed["handle"], "austinkocher@mastodon.social");
    assert_eq!(line(&ls.lines, &label(EDITED))["captures"], 2);

    // render: script-free cards, everything escaped, media from the archive.
    let out = env.dir.path().join("out");
    let render = embarc(
        &env,
        &[
            "render",
            "article.html",
            "-o",
            out.to_str().unwrap_or("out"),
        ],
    );
    assert!(matches!(render.code, Some(0 | 1)), "{}", render.stderr);
    let page = std::fs::read_to_string(out.join("article.html")).expect("page");
    for want in [
        "Austin Kocher, PhD",
        "@austinkocher@mastodon.social",
        "Mastodon will update to 4.0 soon!",
        r#"href="https://github.com/mastodon/mastodon/releases/tag/v4.0.0rc1""#,
        r#"href="https://mastodon.social/@Gargron""#,
        r#"href="https://mastodon.social/@austinkocher/109294719267373593""#,
        "Read on mastodon.social",
        r#"<a class="embarc-site" href="https://mastodon.social/""#,
        "6 nov. 2022",
        "Know how many transistors",
        "Edited",
        "@simonpcouch@rstats.me",
        "Read on rstats.me",
        "ok.example/page",
    ] {
        assert!(page.contains(want), "the page lacks {want:?}:\n{page}");
    }
    assert!(
        !page.contains(EDITED_FIRST_TEXT),
        "the card shows the latest text"
    );
    // The quoting status's card holds the quoted one, nested.
    let quoting = page
        .split(r#"data-embarc-post="mastodon:mastodon.social/111111""#)
        .nth(1)
        .and_then(|rest| rest.split("</figure>").next())
        .expect("the quoting card");
    assert!(quoting.contains("embarc-quoted"), "{quoting}");
    assert!(
        quoting.contains("I lost my inheritance with one wrong digit"),
        "{quoting}"
    );
    for never in [
        "<script",
        "onclick",
        "javascript:",
        "<img src=x",
        "alert(2)",
        "evil.example",
        "embed.js",
    ] {
        assert!(!page.contains(never), "the page holds {never:?}:\n{page}");
    }
    // The only iframe left is the article's own embed of the post that was
    // never captured (protected): nothing to show in its place.
    assert_eq!(page.matches("<iframe").count(), 1, "{page}");
    assert!(page.contains(r#"<iframe src="https://mastodon.social/@locked/401401/embed""#));
    // Every image of a card is a stored file under media/.
    let imgs: Vec<&str> = page
        .split("<img ")
        .skip(1)
        .filter_map(|t| t.split("src=\"").nth(1)?.split('"').next())
        .collect();
    assert!(imgs.len() >= 4, "{imgs:?}");
    for src in &imgs {
        assert!(src.starts_with("media/"), "{src}");
        assert!(out.join(src).is_file(), "{src} not published");
    }

    // export: the exchanges of both instances are in the WARC.
    let warc = env.dir.path().join("all.warc.gz");
    let export = embarc(
        &env,
        &["export", "--warc", warc.to_str().unwrap_or("all.warc.gz")],
    );
    assert_eq!(export.code, Some(0), "{}", export.stderr);
    let records = read_warc(&warc);
    for uri in [
        "WARC-Target-URI: https://fosstodon.org/api/v1/statuses/114870142263126875",
        "WARC-Target-URI: https://rstats.me/api/v1/statuses/114870142137562212",
        "WARC-Target-URI: https://mastodon.social/api/v1/statuses/401401",
        "WARC-Target-URI: https://files.mastodon.social/cache/preview_cards/images/047/056/323/original/947c0207471b17fb.png",
    ] {
        assert!(records.contains(uri), "the WARC lacks {uri}");
    }
    let _ = run.stdout;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_stores_a_gifv_at_its_original_url_and_falls_back_to_oembed() {
    let env = env().await;
    let gifv = "https://mastodon.social/@cybertrapped/114870361509088779";
    let down = "https://mastodon.social/@trwnh/500500";
    let run = embarc(&env, &["add", gifv, down, "--json"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let g = line(&run.lines, &label(GIFV));
    assert_eq!(g["outcome"], "archived");
    assert_eq!(g["media"], 3, "avatar, the MP4 and its still: {g}");
    let shown = embarc(&env, &["show", "--json", &label(GIFV)]);
    let roles: Vec<(&str, &str)> = shown.lines[0]["media"]
        .as_array()
        .expect("media")
        .iter()
        .filter_map(|m| Some((m["role"].as_str()?, m["url"].as_str()?)))
        .collect();
    assert!(
        roles
            .iter()
            .any(|(r, u)| *r == "gif" && u.contains("/original/") && u.ends_with(".mp4")),
        "{roles:?}"
    );
    // The API failed (500, retried by the client); oEmbed gave the author.
    let d = line(&run.lines, &label(API_DOWN));
    assert_eq!(d["outcome"], "archived", "{d}");
    assert_eq!(d["source"], "oembed");
    let shown = embarc(&env, &["show", "--json", &label(API_DOWN)]);
    assert_eq!(shown.lines[0]["author"], "infinite love ⴳ");
    assert_eq!(shown.lines[0]["handle"], "trwnh@mastodon.social");
    // A label works as input too, and a settled post costs no request.
    let before = env.fake.total();
    let again = embarc(&env, &["add", &label(GIFV), "--json"]);
    assert_eq!(again.lines[0]["outcome"], "unchanged");
    assert_eq!(env.fake.total(), before);
}
