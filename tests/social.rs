//! Reddit, Instagram, Threads and Facebook end to end: the real binary
//! archives articles embedding their posts against local fakes playing the
//! platforms from real answers (`tests/fixtures/social/`, `--mirror`), then
//! `show` and `render` read what it stored. Meta's oEmbed is asked with an
//! app token, without one, and with one Meta refuses; the token must never
//! reach the output or the archive.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use support::fake_meta::{self, FACEBOOK_URL, INSTAGRAM_URL, THREADS_URL, TOKEN, UNAPPROVED_TOKEN};
use support::fake_reddit::{self, GALLERY, GONE, LINK, PRIVATE, SELF};

struct Run {
    code: Option<i32>,
    lines: Vec<Value>,
    stdout: String,
    stderr: String,
}

/// `embarc ARGS… --archive ARCHIVE` in `dir`, with `mirrors`, and `env`.
fn embarc(
    dir: &Path,
    archive: &Path,
    mirrors: &[String],
    env: &[(&str, &str)],
    args: &[&str],
) -> Run {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.current_dir(dir)
        .env_remove("EMBARC_META_TOKEN")
        .env("XDG_CONFIG_HOME", dir.join("no-config"))
        .args(args)
        .arg("--archive")
        .arg(archive);
    for (k, v) in env {
        cmd.env(k, v);
    }
    for m in mirrors {
        cmd.arg("--mirror").arg(m);
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

fn line<'a>(lines: &'a [Value], post: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["post"] == post)
        .unwrap_or_else(|| panic!("no line for {post}: {lines:#?}"))
}

/// Every file under `dir`, as bytes, with its path.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

fn assert_nowhere(dir: &Path, secret: &str) {
    for (path, bytes) in files_under(dir) {
        assert!(
            memchr_find(&bytes, secret.as_bytes()).is_none(),
            "{} holds the token",
            path.display()
        );
    }
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn reddit_embed((sub, id): (&str, &str), title: &str) -> String {
    format!(
        "<blockquote class=\"reddit-embed-bq\" data-embed-height=\"500\"><a href=\"https://www.reddit.com/r/{sub}/comments/{id}/a_post/\">{title}</a><br> by <a href=\"https://www.reddit.com/user/someone/\">u/someone</a> in <a href=\"https://www.reddit.com/r/{sub}/\">{sub}</a></blockquote><script async=\"\" src=\"https://embed.reddit.com/widgets.js\" charset=\"UTF-8\"></script>\n"
    )
}

fn reddit_article() -> String {
    let mut a =
        String::from("<!doctype html><html lang=\"en\"><head><title>Reddit</title></head><body>\n");
    a += &reddit_embed(SELF, "You won't get any secrets out of me");
    a += &reddit_embed(LINK, "Meanwhile in Baune, France");
    a += &reddit_embed(GALLERY, "I will PayPal you 20 bucks to help me");
    a += &reddit_embed(GONE, "Gone");
    a += &reddit_embed(PRIVATE, "Private");
    a += "</body></html>\n";
    a
}

fn label((_, id): (&str, &str)) -> String {
    format!("reddit:{id}")
}

#[tokio::test(flavor = "multi_thread")]
async fn reddit_posts_are_archived_from_their_json_and_rendered_as_cards() {
    let fake = fake_reddit::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let mirrors = fake_reddit::mirror_flags(&fake.base);
    std::fs::write(dir.path().join("reddit.html"), reddit_article()).expect("write");

    let run = embarc(
        dir.path(),
        &archive,
        &mirrors,
        &[],
        &["archive", "reddit.html", "--json"],
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let self_post = line(&run.lines, &label(SELF));
    assert_eq!(self_post["outcome"], "archived");
    assert_eq!(self_post["source"], "api");
    let link = line(&run.lines, &label(LINK));
    assert_eq!(
        (link["outcome"].as_str(), link["media"].as_u64()),
        (Some("archived"), Some(1))
    );
    let gallery = line(&run.lines, &label(GALLERY));
    assert_eq!(
        (gallery["outcome"].as_str(), gallery["media"].as_u64()),
        (Some("archived"), Some(2))
    );
    assert_eq!(line(&run.lines, &label(GONE))["outcome"], "not_found");
    let private = line(&run.lines, &label(PRIVATE));
    assert_eq!(private["outcome"], "protected");
    assert!(private["source"].is_null());
    // The JSON was asked under its subreddit, once each.
    assert_eq!(fake.count(&fake_reddit::json_path(GALLERY)), 1);

    // The gallery's images, in gallery order, at full size, `&amp;` decoded.
    let show = embarc(
        dir.path(),
        &archive,
        &[],
        &[],
        &["show", &label(GALLERY), "--json"],
    );
    assert_eq!(show.code, Some(0), "{}", show.stderr);
    let media = show.lines[0]["media"].as_array().expect("media");
    let urls: Vec<&str> = media.iter().filter_map(|m| m["url"].as_str()).collect();
    assert_eq!(
        urls,
        [
            "https://preview.redd.it/k1lxp0ygmgob1.jpg?width=2296&format=pjpg&auto=webp&s=5ad57f601b7ab667b510ba98866deb3f52152e1f",
            "https://preview.redd.it/m7iqcz8hmgob1.jpg?width=2296&format=pjpg&auto=webp&s=7f0aa8cab53c2888eb89a0d454a7efd532b02cfb",
        ]
    );
    assert_eq!(show.lines[0]["author"], "u/Glittering-Ad-3246 in r/csharp");
    assert!(
        show.lines[0]["text"].as_str().is_some_and(
            |t| t.starts_with("I will PayPal you 20 bucks to help me\n\nhttps://youtu.be/")
        ),
        "{}",
        show.lines[0]["text"]
    );
    let self_show = embarc(
        dir.path(),
        &archive,
        &[],
        &[],
        &["show", &label(SELF), "--json"],
    );
    assert_eq!(self_show.lines[0]["created_at"], "2023-09-15T18:22:41Z");
    let link_show = embarc(
        dir.path(),
        &archive,
        &[],
        &[],
        &["show", &label(LINK), "--json"],
    );
    assert_eq!(
        link_show.lines[0]["media"][0]["url"],
        "https://preview.redd.it/7xiyoecbkkob1.png?auto=webp&s=016ae9560e9b03c0bb45870731bae5f3733598af"
    );

    // The author deletes the self post: captured again, a tombstone saying why.
    let again = embarc(
        dir.path(),
        &archive,
        &mirrors,
        &[],
        &[
            "add",
            "https://www.reddit.com/r/TwoSentenceHorror/comments/16jkswy/x/",
            "--refresh",
            "--json",
        ],
    );
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert_eq!(again.lines[0]["outcome"], "tombstone");
    assert_eq!(
        again.lines[0]["error"],
        "deleted by its author (removed_by_category: deleted)"
    );

    // Rendered: cards with the words and images, Reddit's script gone.
    let out = dir.path().join("out");
    let render = embarc(
        dir.path(),
        &archive,
        &[],
        &[],
        &[
            "render",
            "reddit.html",
            "-o",
            out.to_str().unwrap_or_default(),
            "--json",
        ],
    );
    assert_eq!(render.code, Some(0), "{}\n{}", render.stdout, render.stderr);
    assert_eq!(render.lines[0]["cards"], 3, "{:#?}", render.lines);
    // Two embeds are left as written (nothing archived of them): they still
    // need Reddit's script.
    assert_eq!(render.lines[0]["removed_scripts"], serde_json::json!([]));
    let page = std::fs::read_to_string(out.join("reddit.html")).expect("page");
    assert!(page.contains("embed.reddit.com/widgets.js"), "{page}");
    assert!(page.contains("I will PayPal you 20 bucks to help me"));
    assert!(page.contains("Meanwhile in Baune, France"));
    assert!(
        page.contains("No longer available on Reddit since"),
        "{page}"
    );
    // The link post's preview and the gallery's two images.
    assert_eq!(page.matches("<img").count(), 3, "{page}");
    // The two embeds with nothing archived stay as they were.
    assert_eq!(page.matches("reddit-embed-bq").count(), 2, "{page}");

    // A page whose every Reddit embed became a card loses the script.
    let mut only = String::from("<html><body>\n");
    only += &reddit_embed(GALLERY, "I will PayPal you 20 bucks to help me");
    only += &reddit_embed(LINK, "Meanwhile in Baune, France");
    only += "</body></html>\n";
    std::fs::write(dir.path().join("cards.html"), only).expect("write");
    let render = embarc(
        dir.path(),
        &archive,
        &[],
        &[],
        &[
            "render",
            "cards.html",
            "-o",
            out.to_str().unwrap_or_default(),
            "--json",
        ],
    );
    assert_eq!(render.code, Some(0), "{}", render.stderr);
    assert_eq!(
        render.lines[0]["removed_scripts"],
        serde_json::json!([
            "https://embed.reddit.com/widgets.js",
            "https://embed.reddit.com/widgets.js"
        ])
    );
    let page = std::fs::read_to_string(out.join("cards.html")).expect("page");
    assert!(!page.contains("embed.reddit.com"), "{page}");
    assert!(!page.contains("reddit-embed-bq"), "{page}");
}

fn meta_article() -> String {
    let html = |name: &str| -> String {
        let v: Value = serde_json::from_slice(&fake_reddit::fixture(name)).expect("fixture");
        v["html"].as_str().unwrap_or_default().to_string()
    };
    format!(
        "<!doctype html><html lang=\"en\"><head><title>Meta</title></head><body>\n<p>Instagram:</p>\n{}\n<p>Facebook:</p>\n{}\n<p>Threads:</p>\n{}\n</body></html>\n",
        html("instagram-BMokmydjG-M.json"),
        html("facebook-10102593740125791.json"),
        html("threads-DWjTI0cgH5O.json")
            .replace("https://www.threads.com/t/DWjTI0cgH5O", THREADS_URL),
    )
}

struct MetaEnv {
    fake: fake_meta::MetaServer,
    dir: tempfile::TempDir,
    archive: PathBuf,
    mirrors: Vec<String>,
}

async fn meta_env() -> MetaEnv {
    let fake = fake_meta::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let mirrors = fake_meta::mirror_flags(&fake.base);
    std::fs::write(dir.path().join("meta.html"), meta_article()).expect("write");
    MetaEnv {
        fake,
        dir,
        archive,
        mirrors,
    }
}

fn labels(lines: &[Value]) -> (Value, Value, Value) {
    let find = |p: &str| {
        lines
            .iter()
            .find(|l| l["post"].as_str().is_some_and(|s| s.starts_with(p)))
            .cloned()
            .unwrap_or_else(|| panic!("no {p} line: {lines:#?}"))
    };
    (find("instagram:"), find("facebook:"), find("threads:"))
}

#[tokio::test(flavor = "multi_thread")]
async fn meta_posts_with_a_token_are_archived_from_oembed_and_the_token_stays_secret() {
    let env = meta_env().await;
    let run = embarc(
        env.dir.path(),
        &env.archive,
        &env.mirrors,
        &[],
        &[
            "archive",
            "meta.html",
            "--json",
            "--meta-token",
            TOKEN,
            "-vv",
        ],
    );
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    let (ig, fb, th) = labels(&run.lines);
    for l in [&ig, &fb, &th] {
        assert_eq!(l["outcome"], "archived", "{l}");
        assert_eq!(l["source"], "oembed", "{l}");
    }
    // Instagram's thumbnail was stored with the post.
    assert_eq!(ig["media"], 1);
    // Every oEmbed request carried the token in its header, none in its URL.
    let asked = env.fake.requests("/graph.");
    assert_eq!(asked.len(), 3, "{asked:#?}");
    assert!(
        asked
            .iter()
            .all(|(_, auth)| auth.as_deref() == Some(&*format!("Bearer {TOKEN}")))
    );
    assert!(
        asked.iter().any(
            |(p, _)| p.contains("/oembed_post?url=") && p.contains(&*url_encoded(FACEBOOK_URL))
        )
    );
    assert!(
        asked
            .iter()
            .any(|(p, _)| p.contains("/instagram_oembed?url=")
                && p.contains(&*url_encoded(INSTAGRAM_URL)))
    );

    let show = embarc(
        env.dir.path(),
        &env.archive,
        &[],
        &[],
        &["show", fb["post"].as_str().unwrap_or_default(), "--json"],
    );
    assert_eq!(show.lines[0]["author"], "Mark");
    assert!(
        show.lines[0]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("February 4 is Facebook\u{2019}s 12th birthday!")),
        "{}",
        show.lines[0]["text"]
    );

    let out = env.dir.path().join("out");
    let render = embarc(
        env.dir.path(),
        &env.archive,
        &[],
        &[],
        &[
            "render",
            "meta.html",
            "-o",
            out.to_str().unwrap_or_default(),
            "--json",
        ],
    );
    assert_eq!(render.code, Some(0), "{}\n{}", render.stdout, render.stderr);
    assert_eq!(render.lines[0]["cards"], 3, "{:#?}", render.lines);
    let page = std::fs::read_to_string(out.join("meta.html")).expect("page");
    for gone in [
        "platform.instagram.com",
        "connect.facebook.net",
        "fb-root",
        "threads.net/embed.js",
        "instagram-media",
        "fb-post",
        "text-post-media",
    ] {
        assert!(!page.contains(gone), "{gone} is still in the page:\n{page}");
    }
    assert!(page.contains("Boomerang"), "{page}");
    assert!(page.contains("12th birthday"), "{page}");
    assert!(page.contains("<img"), "{page}");

    for text in [&run.stdout, &run.stderr, &render.stdout, &render.stderr] {
        assert!(!text.contains(TOKEN), "the token was printed:\n{text}");
    }
    assert_nowhere(&env.archive, TOKEN);
    assert_nowhere(&out, TOKEN);
}

fn url_encoded(u: &str) -> String {
    url::form_urlencoded::byte_serialize(u.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_token_meta_posts_are_kept_as_the_article_quotes_them() {
    let env = meta_env().await;
    let run = embarc(
        env.dir.path(),
        &env.archive,
        &env.mirrors,
        &[],
        &["archive", "meta.html", "--json"],
    );
    // Exit 1: the Threads post could not be kept at all (below).
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let (ig, fb, th) = labels(&run.lines);
    for l in [&ig, &fb] {
        assert_eq!(l["outcome"], "archived", "{l}");
        assert_eq!(l["source"], "article", "{l}");
        assert!(
            l["error"]
                .as_str()
                .is_some_and(|e| e.contains("--meta-token")),
            "{l}"
        );
    }
    // Threads' embed holds no words of the post: nothing to keep, said so.
    assert_eq!(th["outcome"], "failed", "{th}");
    assert!(
        th["error"]
            .as_str()
            .is_some_and(|e| e.contains("quotes nothing"))
    );
    // Meta was not asked without a token.
    assert!(env.fake.requests("/").is_empty());

    let show = embarc(
        env.dir.path(),
        &env.archive,
        &[],
        &[],
        &["show", ig["post"].as_str().unwrap_or_default(), "--json"],
    );
    assert_eq!(show.lines[0]["source"], "article");
    assert!(
        show.lines[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Boomerang")),
        "{}",
        show.lines[0]
    );

    let out = env.dir.path().join("out");
    let render = embarc(
        env.dir.path(),
        &env.archive,
        &[],
        &[],
        &[
            "render",
            "meta.html",
            "-o",
            out.to_str().unwrap_or_default(),
            "--json",
        ],
    );
    let page = std::fs::read_to_string(out.join("meta.html")).expect("page");
    assert_eq!(
        page.matches("As quoted by this article").count(),
        2,
        "{page}"
    );
    assert!(page.contains("12th birthday"), "{page}");
    // The Threads embed is left as written, so its script stays; the others go.
    assert!(page.contains("threads.net/embed.js"), "{page}");
    assert!(!page.contains("connect.facebook.net"), "{page}");
    assert!(!page.contains("platform.instagram.com"), "{page}");
    assert_eq!(render.code, Some(0), "{}", render.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_meta_refuses_falls_back_to_the_article_and_says_why() {
    let env = meta_env().await;
    let run = embarc(
        env.dir.path(),
        &env.archive,
        &env.mirrors,
        &[("EMBARC_META_TOKEN", UNAPPROVED_TOKEN)],
        &["archive", "meta.html", "--json"],
    );
    // Exit 1: the Threads embed quotes nothing, so nothing of it is kept.
    assert_eq!(run.code, Some(1), "{}\n{}", run.stdout, run.stderr);
    let (ig, fb, th) = labels(&run.lines);
    assert_eq!(th["outcome"], "failed");
    assert!(
        th["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("graph.threads.net refused oEmbed (HTTP 403")),
        "{th}"
    );
    for l in [&ig, &fb] {
        assert_eq!(l["outcome"], "archived", "{l}");
        assert_eq!(l["source"], "article", "{l}");
        let e = l["error"].as_str().unwrap_or_default();
        assert!(
            e.starts_with(
                "graph.facebook.com refused oEmbed (HTTP 403: (#10) To use 'Meta oEmbed Read'"
            ),
            "{e}"
        );
    }
    assert!(!env.fake.requests("/graph.facebook.com/").is_empty());
    for text in [&run.stdout, &run.stderr] {
        assert!(
            !text.contains(UNAPPROVED_TOKEN),
            "the token was printed:\n{text}"
        );
    }
    assert_nowhere(&env.archive, UNAPPROVED_TOKEN);
}

#[test]
fn config_shows_the_meta_token_redacted_wherever_it_comes_from() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let file = dir.path().join("embarc.toml");
    std::fs::write(&file, format!("meta_token = \"{TOKEN}\"\n")).expect("write");
    let from_file = embarc(
        dir.path(),
        &archive,
        &[],
        &[],
        &[
            "config",
            "--json",
            "--config",
            file.to_str().unwrap_or_default(),
        ],
    );
    let from_env = embarc(
        dir.path(),
        &archive,
        &[],
        &[("EMBARC_META_TOKEN", TOKEN)],
        &["config", "--json"],
    );
    let none = embarc(dir.path(), &archive, &[], &[], &["config", "--json"]);
    for (run, source) in [(&from_file, "config"), (&from_env, "environment")] {
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        assert!(!run.stdout.contains(TOKEN), "{}", run.stdout);
        let l = run
            .lines
            .iter()
            .find(|l| l["key"] == "meta_token")
            .expect("meta_token line");
        assert_eq!(l["value"], "(set, redacted)");
        assert!(
            l["source"].as_str().is_some_and(|s| s.starts_with(source)),
            "{l}"
        );
    }
    let l = none
        .lines
        .iter()
        .find(|l| l["key"] == "meta_token")
        .expect("line");
    assert!(l["value"].is_null());
    // A token that cannot be one (a space in it) is a usage error.
    let bad = embarc(
        dir.path(),
        &archive,
        &[],
        &[],
        &["config", "--meta-token", "has a space"],
    );
    assert_eq!(bad.code, Some(2));
}
