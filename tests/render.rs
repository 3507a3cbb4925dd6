//! `embarc render` end to end: posts captured by the real binary from the fake
//! X (real answers from the corpus, hostile and deleted posts), rendered, and
//! the HTML read back with an HTML5 parser as a browser would.

mod support;

use support::fake_x::{Env, env};

use assert_cmd::Command;
use scraper::{ElementRef, Html, Selector};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use support::fake_x::{self, DELETED_LATER_ID, HOSTILE_ID, TOMBSTONE_ID, hostile};

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

fn embarc(env: &Env, args: &[&str]) -> Run {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.current_dir(env.dir.path())
        .arg("--archive")
        .arg(&env.archive);
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    let out = cmd.args(args).output().expect("run");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn add(env: &Env, args: &[&str]) {
    let mut all = vec!["add"];
    all.extend_from_slice(args);
    let r = tokio::task::block_in_place(|| embarc(env, &all));
    assert_eq!(r.code, Some(0), "add {args:?}: {}", r.stderr);
}

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn text_of(e: ElementRef) -> String {
    e.text().collect::<String>()
}

/// What a user checks first: no script, no event handler, no link or source
/// with another scheme than http(s) or a relative media path.
fn assert_inert(html: &Html) {
    assert!(
        html.select(&sel("script")).next().is_none(),
        "a script element"
    );
    for e in html.select(&sel("*")) {
        for (name, value) in e.value().attrs() {
            assert!(
                !name.to_ascii_lowercase().starts_with("on"),
                "event handler {name}={value}"
            );
            if matches!(name, "href" | "src" | "poster" | "cite") {
                assert!(
                    value.starts_with("https://")
                        || value.starts_with("http://")
                        || value.starts_with("media/")
                        || value == "embarc.css",
                    "{name}={value}"
                );
            }
        }
    }
}

/// Every media file a card refers to exists under `out/` with a name that is
/// the SHA-256 of its bytes.
fn assert_media_published(out: &Path, html: &Html) -> usize {
    let mut n = 0;
    for e in html.select(&sel("img, video, source")) {
        for attr in ["src", "poster"] {
            if let Some(src) = e.value().attr(attr) {
                let bytes = std::fs::read(out.join(src)).unwrap_or_else(|e| panic!("{src}: {e}"));
                let hex = src
                    .trim_start_matches("media/")
                    .split('.')
                    .next()
                    .unwrap_or("");
                assert_eq!(hex::encode(Sha256::digest(&bytes)), hex, "{src}");
                n += 1;
            }
        }
    }
    n
}

fn card(env: &Env, post: &str, out: &Path) -> (Html, String) {
    let r = tokio::task::block_in_place(|| {
        embarc(
            env,
            &["render", "--post", post, "-o", out.to_str().expect("utf-8")],
        )
    });
    assert_eq!(r.code, Some(0), "render --post {post}: {}", r.stderr);
    (Html::parse_fragment(&r.stdout), r.stdout)
}

fn corpus_post(id: &str) -> Value {
    let p = fake_x::responses_dir().join(format!("syndication/{id}.json"));
    serde_json::from_slice(&std::fs::read(&p).expect("corpus answer")).expect("JSON")
}

#[tokio::test(flavor = "multi_thread")]
async fn real_captures_render_as_faithful_cards() {
    let env = env().await;
    let ids = [
        "1629262255744503809",
        "1641086480675225601",
        "1641895049427550208",
        "1684218600456876032",
        "2023357708301455483",
    ];
    let args: Vec<String> = ids.iter().map(|id| format!("twitter:{id}")).collect();
    add(&env, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let out = env.dir.path().join("out");
    for id in ids {
        let answer = corpus_post(id);
        let (html, raw) = card(&env, &format!("twitter:{id}"), &out);
        assert_inert(&html);
        assert!(
            !raw.contains("\n\n"),
            "no blank line, so Markdown keeps it one block"
        );
        let top = html
            .select(&sel("figure.embarc-post > blockquote"))
            .next()
            .expect("card");
        // Author.
        let name = text_of(
            top.select(&sel(".embarc-head .embarc-name > a"))
                .next()
                .expect("name"),
        );
        assert_eq!(
            name.trim(),
            answer["user"]["name"].as_str().unwrap_or(""),
            "{id}"
        );
        let handle = text_of(
            top.select(&sel(".embarc-head .embarc-handle"))
                .next()
                .expect("handle"),
        );
        assert_eq!(
            handle,
            format!("@{}", answer["user"]["screen_name"].as_str().unwrap_or(""))
        );
        // Links: each URL entity shows its display_url and goes to expanded_url.
        let text = top
            .select(&sel(":scope > .embarc-text"))
            .next()
            .expect("text");
        let links: Vec<(String, String)> = text
            .select(&sel("a"))
            .map(|a| (text_of(a), a.value().attr("href").unwrap_or("").to_string()))
            .collect();
        for u in answer["entities"]["urls"].as_array().into_iter().flatten() {
            let shown = u["display_url"].as_str().unwrap_or("");
            let target = u["expanded_url"].as_str().unwrap_or("");
            assert!(
                links
                    .iter()
                    .any(|(t, h)| t == shown
                        && url::Url::parse(h).ok() == url::Url::parse(target).ok()),
                "{id}: link {shown} → {target} in {links:?}"
            );
        }
        for a in text.select(&sel("a")) {
            assert_eq!(a.value().attr("rel"), Some("noopener noreferrer nofollow"));
        }
        for t in answer["entities"]["hashtags"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let tag = t["text"].as_str().unwrap_or("");
            assert!(
                links.contains(&(format!("#{tag}"), format!("https://x.com/hashtag/{tag}"))),
                "{id}: #{tag}"
            );
        }
        for m in answer["entities"]["user_mentions"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let sn = m["screen_name"].as_str().unwrap_or("");
            assert!(
                links.contains(&(format!("@{sn}"), format!("https://x.com/{sn}"))),
                "{id}: @{sn}"
            );
        }
        // The media t.co is dropped from the text.
        assert!(
            !text_of(text).contains("https://t.co/"),
            "{id}: {}",
            text_of(text)
        );
        // Media: as many as the answer has, photos as <img>, videos as <video>.
        let details = answer["mediaDetails"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let media = top.select(&sel(":scope > .embarc-media > *")).count();
        assert_eq!(media, details.len(), "{id}");
        let videos = details.iter().filter(|m| m["type"] != "photo").count();
        assert_eq!(
            top.select(&sel(
                ":scope > .embarc-media > video[controls][preload=none]"
            ))
            .count(),
            videos,
            "{id}"
        );
        for img in top.select(&sel(":scope > .embarc-media > img")) {
            assert!(
                img.value().attr("alt").is_some_and(|a| !a.is_empty()),
                "{id}: alt"
            );
        }
        assert!(
            assert_media_published(&out, &html) > details.len(),
            "{id}: avatar and media files"
        );
        // Time and likes.
        let time = top.select(&sel("footer time")).next().expect("time");
        let created = answer["created_at"].as_str().unwrap_or("");
        assert_eq!(
            &time.value().attr("datetime").unwrap_or("")[..19],
            &created[..19],
            "{id}"
        );
        let likes = text_of(top.select(&sel(".embarc-likes")).next().expect("likes"));
        let n = answer["favorite_count"].as_u64().unwrap_or(0);
        assert_eq!(
            likes.trim_start_matches("♥ "),
            if n > 999 {
                format!("{}.{}K", n / 1000, n % 1000 / 100).replace(".0K", "K")
            } else {
                n.to_string()
            },
            "{id}"
        );
        // The link to the original post.
        let more = top
            .select(&sel("a.embarc-more"))
            .next()
            .expect("link to the post");
        assert!(
            more.value()
                .attr("href")
                .unwrap_or("")
                .ends_with(&format!("/status/{id}"))
        );
        // The quoted post, nested.
        let quoted = top.select(&sel("blockquote.embarc-quoted")).next();
        assert_eq!(
            quoted.is_some(),
            answer.get("quoted_tweet").is_some(),
            "{id}"
        );
        if let Some(q) = quoted {
            let qa = &answer["quoted_tweet"];
            assert!(text_of(q).contains(qa["user"]["name"].as_str().unwrap_or("?")));
            assert_eq!(
                q.select(&sel(".embarc-media img")).count(),
                qa["mediaDetails"].as_array().map_or(0, Vec::len)
            );
        }
    }
    // The badge of a verified account.
    let (html, _) = card(&env, "twitter:1684218600456876032", &out);
    assert!(html.select(&sel(".embarc-badge")).next().is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_fields_never_become_markup() {
    let env = env().await;
    add(&env, &[&format!("twitter:{HOSTILE_ID}")]);
    let out = env.dir.path().join("out");
    let (html, raw) = card(&env, &format!("twitter:{HOSTILE_ID}"), &out);
    assert_inert(&html);
    assert!(!raw.contains("<script"), "{raw}");
    assert!(!raw.contains("javascript:"), "{raw}");
    let name = text_of(html.select(&sel(".embarc-name > a")).next().expect("name"));
    assert_eq!(name.trim(), hostile::NAME);
    let img = html
        .select(&sel(".embarc-media img"))
        .next()
        .expect("photo");
    assert_eq!(img.value().attr("alt"), Some(hostile::ALT));
    let text = text_of(html.select(&sel(".embarc-text")).next().expect("text"));
    // Flags and emoji before the entities do not shift them.
    assert!(text.starts_with(hostile::LEAD), "{text:?}");
    assert!(text.contains(hostile::BAD_LINK), "shown as text: {text:?}");
    assert!(text.contains("#tag1"), "{text:?}");
    let links: Vec<_> = html.select(&sel(".embarc-text a")).collect();
    assert!(
        links.iter().all(|a| text_of(*a) != hostile::BAD_LINK),
        "a javascript: link was made"
    );
    let odd = links
        .iter()
        .find(|a| text_of(**a) == "example.com/a…")
        .expect("odd link");
    let href = odd.value().attr("href").unwrap_or("");
    assert!(
        href.starts_with("https://example.com/a") && !href.contains('"') && !href.contains('<'),
        "{href}"
    );
    // The bad language code is not echoed into an attribute.
    assert!(
        html.select(&sel("[lang]"))
            .all(|e| e.value().attr("lang").is_some_and(|l| !l.contains('"')))
    );
    assert_eq!(
        html.select(&sel(".embarc-likes"))
            .next()
            .map(text_of)
            .as_deref(),
        Some("♥ 1.2K")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_post_renders_from_its_last_good_capture() {
    let env = env().await;
    let post = format!("twitter:{DELETED_LATER_ID}");
    add(&env, &[&post]);
    add(&env, &["--refresh", &post]);
    let out = env.dir.path().join("out");
    let (html, _) = card(&env, &post, &out);
    let card_text = text_of(html.root_element());
    assert!(card_text.contains("synthetic post"), "{card_text}");
    assert_eq!(html.select(&sel(".embarc-media img")).count(), 2);
    let gone = text_of(
        html.select(&sel(".embarc-gone"))
            .next()
            .expect("gone notice"),
    );
    assert!(
        gone.starts_with("No longer available on X since "),
        "{gone}"
    );
    assert_media_published(&out, &html);
}

fn write(env: &Env, name: &str, body: &str) -> PathBuf {
    let p = env.dir.path().join("articles").join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, body).expect("write");
    p
}

fn blockquote(id: &str, words: &str) -> String {
    format!(
        "<blockquote class=\"twitter-tweet\"><p lang=\"en\" dir=\"ltr\">{words}</p>&mdash; Someone (@someone) <a href=\"https://twitter.com/someone/status/{id}?ref_src=twsrc%5Etfw\">June 20, 2024</a></blockquote>\n<script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script>\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_article_keeps_every_byte_but_its_embeds() {
    let env = env().await;
    let head = "<!doctype html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Été</title></head>\n<body><p>Avant — « texte » &amp; <b>gras</b>.</p>\n";
    let first = blockquote("1641086480675225601", "first");
    let middle = "<p>Entre les deux.</p>\n";
    let second = blockquote(TOMBSTONE_ID, "Words the article kept of a deleted post");
    let tail = "<p>Après.</p>\n</body></html>\n";
    let article = write(
        &env,
        "story.html",
        &format!("{head}{first}{middle}{second}{tail}"),
    );
    let a = article.to_str().expect("utf-8");
    let r = tokio::task::block_in_place(|| embarc(&env, &["archive", a]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let out = env.dir.path().join("site");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &["render", a, "-o", out.to_str().expect("utf-8"), "--json"],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report: Value = serde_json::from_str(r.stdout.trim()).expect("one JSON line");
    assert_eq!(report["cards"], 1, "{report}");
    assert_eq!(report["article_quotes"], 1, "{report}");
    let page = std::fs::read_to_string(out.join("story.html")).expect("page");
    // Everything but the two embeds (and their widgets.js) is byte-identical;
    // the stylesheet is linked once in the head.
    let link = "<link rel=\"stylesheet\" href=\"embarc.css\">\n";
    let first_card =
        &page[page.find("<figure").expect("card")..page.find("</figure>").expect("end") + 9];
    let rest = &page[page.find("</figure>").expect("end") + 9..];
    let second_card =
        &rest[rest.find("<figure").expect("card 2")..rest.find("</figure>").expect("end 2") + 9];
    let expected = format!(
        "{}{link}{}{first_card}\n{middle}{second_card}\n{tail}",
        &head[..head.find("</head>").expect("head")],
        &head[head.find("</head>").expect("head")..]
    );
    assert_eq!(page, expected);
    assert!(!page.contains("widgets.js"));
    let html = Html::parse_document(&page);
    // The date is written in the page's language.
    let time = text_of(html.select(&sel("time")).next().expect("time"));
    assert!(time.contains("mars 2023"), "{time}");
    // The deleted post shows what the article quoted, and says so.
    let quoted = html.select(&sel("figure")).nth(1).expect("second card");
    assert!(text_of(quoted).contains("Words the article kept of a deleted post"));
    assert!(
        text_of(quoted).contains("no longer available on X since"),
        "{}",
        text_of(quoted)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("embarc.css")).expect("css"),
        embarc::render::STYLESHEET
    );
    assert_media_published(&out, &html);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_not_in_the_archive_keeps_its_markup_and_warns() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    let body = format!(
        "<p>x</p>\n{}",
        blockquote("1629262255744503809", "never archived")
    );
    let article = write(&env, "other.html", &body);
    let out = env.dir.path().join("site");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                article.to_str().expect("utf-8"),
                "-o",
                out.to_str().expect("utf-8"),
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("twitter:1629262255744503809") && r.stderr.contains("not in the archive"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("other.html:2"),
        "names the article and line: {}",
        r.stderr
    );
    assert_eq!(
        std::fs::read_to_string(out.join("other.html")).expect("page"),
        body,
        "untouched, widgets.js kept"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_and_text_articles_become_pages_with_cards() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    let md = write(
        &env,
        "posts/view.md",
        "---\ntitle: View flattening\nlang: de\n---\n# View flattening\n\nSee *this*:\n\n{{< tweet user=\"SamuelSusla\" id=\"1641086480675225601\" >}}\n\nThe end & more.\n",
    );
    let txt = write(
        &env,
        "posts/note.txt",
        "Intro <line>.\n\nhttps://twitter.com/SamuelSusla/status/1641086480675225601\n\nOutro.\n",
    );
    let out = env.dir.path().join("site");
    let folder = md.parent().expect("folder").parent().expect("articles");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                folder.to_str().expect("utf-8"),
                "-o",
                out.to_str().expect("utf-8"),
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let _ = (md, txt);
    // The folder's layout is kept; pages in a subfolder link ../ assets.
    let page = std::fs::read_to_string(out.join("posts/view.html")).expect("md page");
    let html = Html::parse_document(&page);
    assert_eq!(
        html.select(&sel("h1")).map(text_of).collect::<Vec<_>>(),
        ["View flattening"]
    );
    assert!(!page.contains("title: View"), "front matter is not shown");
    assert_eq!(html.select(&sel("figure.embarc-post")).count(), 1);
    assert!(page.contains("href=\"../embarc.css\""));
    assert!(html.select(&sel("figure img")).all(|i| {
        i.value()
            .attr("src")
            .is_some_and(|s| s.starts_with("../media/"))
    }));
    assert!(text_of(html.select(&sel("time")).next().expect("time")).contains("März 2023"));
    assert!(page.contains("The end &amp; more."));
    let page = std::fs::read_to_string(out.join("posts/note.html")).expect("text page");
    assert!(page.contains("<p>Intro &lt;line&gt;.</p>"), "{page}");
    assert_eq!(
        Html::parse_document(&page)
            .select(&sel("figure.embarc-post"))
            .count(),
        1
    );
    assert!(out.join("embarc.css").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn media_can_be_hard_linked_or_served_from_a_cdn() {
    use std::os::unix::fs::PermissionsExt;
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    let render_linked = |out: &Path| {
        tokio::task::block_in_place(|| {
            embarc(
                &env,
                &[
                    "render",
                    "--post",
                    "twitter:1641086480675225601",
                    "-o",
                    out.to_str().expect("utf-8"),
                    "--link",
                ],
            )
        })
    };
    // Objects only their owner may read are copied: a web server must read
    // what is published (a link would share the private mode).
    let copied = env.dir.path().join("copied");
    for f in walkdir::WalkDir::new(env.archive.join("objects"))
        .into_iter()
        .filter_map(Result::ok)
    {
        if f.file_type().is_file() {
            std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
    }
    assert_eq!(render_linked(&copied).code, Some(0));
    for f in std::fs::read_dir(copied.join("media"))
        .expect("media")
        .filter_map(Result::ok)
    {
        let meta = f.metadata().expect("meta");
        use std::os::unix::fs::MetadataExt;
        assert_eq!(meta.nlink(), 1, "copied");
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o644,
            "readable by a web server"
        );
    }
    for f in walkdir::WalkDir::new(env.archive.join("objects"))
        .into_iter()
        .filter_map(Result::ok)
    {
        if f.file_type().is_file() {
            std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
        }
    }
    let out = env.dir.path().join("linked");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                "--post",
                "twitter:1641086480675225601",
                "-o",
                out.to_str().expect("utf-8"),
                "--link",
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    use std::os::unix::fs::MetadataExt;
    let files: Vec<_> = std::fs::read_dir(out.join("media"))
        .expect("media")
        .filter_map(Result::ok)
        .collect();
    assert_eq!(files.len(), 2, "avatar and photo");
    for f in files {
        assert!(
            f.metadata().expect("meta").nlink() >= 2,
            "hard-linked to the archive"
        );
    }
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                "--post",
                "twitter:1641086480675225601",
                "--media-base",
                "https://cdn.example.org/m",
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let html = Html::parse_fragment(&r.stdout);
    let srcs: Vec<_> = html
        .select(&sel("img"))
        .filter_map(|i| i.value().attr("src"))
        .collect();
    assert_eq!(srcs.len(), 2);
    assert!(
        srcs.iter()
            .all(|s| s.starts_with("https://cdn.example.org/m/")),
        "{srcs:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_media_object_fails_by_name_and_publishes_nothing_partial() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    // Flip a byte of the largest object (the photo).
    let mut objects: Vec<_> = walkdir::WalkDir::new(env.archive.join("objects"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.metadata().map(|m| m.len()).unwrap_or(0), e.into_path()))
        .collect();
    objects.sort();
    let (_, victim) = objects.pop().expect("objects");
    let mut perms = std::fs::metadata(&victim).expect("meta").permissions();
    #[expect(
        clippy::permissions_set_readonly_false,
        reason = "the test corrupts an archive object on purpose"
    )]
    perms.set_readonly(false);
    std::fs::set_permissions(&victim, perms).expect("chmod");
    let mut bytes = std::fs::read(&victim).expect("read");
    bytes[100] ^= 1;
    std::fs::write(&victim, bytes).expect("write");
    let out = env.dir.path().join("site");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                "--post",
                "twitter:1641086480675225601",
                "-o",
                out.to_str().expect("utf-8"),
            ],
        )
    });
    assert_ne!(r.code, Some(0));
    assert!(r.stderr.contains("embarc verify"), "{}", r.stderr);
    let name = victim
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    for f in std::fs::read_dir(out.join("media"))
        .expect("media")
        .filter_map(Result::ok)
    {
        let f = f.file_name().to_string_lossy().into_owned();
        assert!(
            !f.starts_with(&name[..16]) && !f.starts_with('.'),
            "partial or corrupt file {f}"
        );
    }
}

/// Every file under `dir` with its size and modification time (nanoseconds).
fn listing(dir: &Path) -> Vec<(PathBuf, u64, u128)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let md = e.metadata().expect("metadata");
            if md.is_dir() {
                todo.push(e.path());
            }
            let mtime = md
                .modified()
                .expect("mtime")
                .duration_since(std::time::UNIX_EPOCH)
                .expect("after 1970")
                .as_nanos();
            out.push((e.path(), md.len(), mtime));
        }
    }
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn rendering_a_folder_into_itself_is_refused_before_anything_is_written() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    let html = format!("<p>x</p>\n{}", blockquote("1641086480675225601", "w"));
    let a = write(&env, "site/a.html", &html);
    let md = "# A\n\nhttps://twitter.com/SamuelSusla/status/1641086480675225601\n";
    let b = write(&env, "site/a.md", md);
    // `c.md` sorts after the conflicts and conflicts with nothing: its page
    // must not be written either.
    write(&env, "site/c.md", md);
    let site_dir = a.parent().expect("site").to_path_buf();
    let site = site_dir.to_str().expect("utf-8").to_string();
    let before = listing(&site_dir);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = tokio::task::block_in_place(|| embarc(&env, &["render", &site, "-o", &site]));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("a.md") && l.contains("would replace the article")),
        "a.md's page named: {}",
        r.stderr
    );
    assert!(
        r.stderr.lines().any(|l| l.contains("site/a.html: its page") && l.contains("would replace the article")),
        "a.html's page named: {}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing written"), "{}", r.stderr);
    assert_eq!(listing(&site_dir), before, "no file created or modified");
    assert_eq!(std::fs::read_to_string(&a).expect("a.html"), html);
    assert_eq!(std::fs::read_to_string(&b).expect("a.md"), md);

    // --no-clobber refuses an existing page too; without it, a page is
    // rendered again over its last version.
    let out = env.dir.path().join("out");
    let o = out.to_str().expect("utf-8");
    let c = env.dir.path().join("articles/site/c.md");
    let c = c.to_str().expect("utf-8");
    let r = tokio::task::block_in_place(|| embarc(&env, &["render", c, "-o", o]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let r = tokio::task::block_in_place(|| embarc(&env, &["render", c, "-o", o]));
    assert_eq!(r.code, Some(0), "rendered again: {}", r.stderr);
    let before = listing(&out);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let r = tokio::task::block_in_place(|| embarc(&env, &["render", c, "-o", o, "--no-clobber"]));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(
        r.stderr.contains("would overwrite an existing file"),
        "{}",
        r.stderr
    );
    assert_eq!(listing(&out), before, "nothing written");

    // --force writes anyway: each HTML article's page replaces it.
    let r =
        tokio::task::block_in_place(|| embarc(&env, &["render", &site, "-o", &site, "--force"]));
    assert!(r.code == Some(0) || r.code == Some(1), "{}", r.stderr);
    assert!(
        std::fs::read_to_string(&a)
            .expect("a.html")
            .contains("<figure")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn with_force_an_article_is_rendered_as_it_was_before_a_page_replaced_it() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    // `a.md` (planned first) writes `out/a.html`, which is itself an article
    // rendered later (to `out/out/a.html`): that page must come from the
    // article as it was, not from a.md's page.
    let md = "# A\n\nhttps://twitter.com/SamuelSusla/status/1641086480675225601\n";
    let a = write(&env, "forced/a.md", md);
    let inner = "<p>the inner article's own words</p>\n";
    write(&env, "forced/out/a.html", inner);
    let site = a.parent().expect("site").to_path_buf();
    let out = site.join("out");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                site.to_str().expect("utf-8"),
                "-o",
                out.to_str().expect("utf-8"),
                "--force",
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let replaced = std::fs::read_to_string(out.join("a.html")).expect("a.md's page");
    assert!(replaced.contains("<figure"), "{replaced}");
    let inner_page = std::fs::read_to_string(out.join("out/a.html")).expect("the inner page");
    assert!(
        inner_page.contains("the inner article's own words"),
        "{inner_page}"
    );
    assert!(!inner_page.contains("<figure"), "{inner_page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_comment_mentioning_the_head_end_does_not_get_the_stylesheet() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    let head = "<!doctype html><html><head><title>t</title>\n<!-- analytics used to go before </head> -->\n<script>document.write('</head>')</script>\n</head>\n<body>\n";
    let body = format!("{}</body></html>\n", blockquote("1641086480675225601", "w"));
    let a = write(&env, "c/story.html", &format!("{head}{body}"));
    let out = env.dir.path().join("out-c");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                a.to_str().expect("utf-8"),
                "-o",
                out.to_str().expect("utf-8"),
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let page = std::fs::read_to_string(out.join("story.html")).expect("page");
    let link = "<link rel=\"stylesheet\" href=\"embarc.css\">\n";
    assert_eq!(page.matches("embarc.css").count(), 1, "{page}");
    assert!(
        page.starts_with(&head.replace("\n</head>", &format!("\n{link}</head>"))),
        "the link goes before the real </head> only: {page}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn widgets_js_goes_when_only_buttons_are_left_and_the_report_says_so() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    let share = "<a href=\"https://twitter.com/share?ref_src=twsrc%5Etfw\" class=\"twitter-share-button\" data-show-count=\"false\">Tweet</a>";
    let html = format!(
        "<html><head></head><body>\n<p>{share}</p>\n{}</body></html>\n",
        blockquote("1641086480675225601", "w")
    );
    let a = write(&env, "w/story.html", &html);
    let a = a.to_str().expect("utf-8");
    let out = env.dir.path().join("out-w");
    let o = out.to_str().expect("utf-8");
    let r = tokio::task::block_in_place(|| embarc(&env, &["render", a, "-o", o, "--json"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let page = std::fs::read_to_string(out.join("story.html")).expect("page");
    assert!(!page.contains("widgets.js"), "{page}");
    assert!(
        page.contains(&format!("<p>{share}</p>")),
        "the share link stays: {page}"
    );
    let doc = Html::parse_document(&page);
    let link = doc
        .select(&sel("a.twitter-share-button"))
        .next()
        .expect("link");
    assert_eq!(
        link.value().attr("href"),
        Some("https://twitter.com/share?ref_src=twsrc%5Etfw")
    );
    assert_inert(&doc);
    let report: Value = serde_json::from_str(r.stdout.trim()).expect("one JSON line");
    assert_eq!(
        report["removed_scripts"],
        serde_json::json!(["https://platform.twitter.com/widgets.js"]),
        "{report}"
    );
    assert_eq!(report["plain_links"], 1, "{report}");
    assert!(
        r.stderr.contains("removed X's widgets.js") && r.stderr.contains("--keep-scripts"),
        "{}",
        r.stderr
    );

    // --keep-scripts keeps it.
    let out = env.dir.path().join("out-k");
    let o = out.to_str().expect("utf-8");
    let r = tokio::task::block_in_place(|| embarc(&env, &["render", a, "-o", o, "--keep-scripts"]));
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let page = std::fs::read_to_string(out.join("story.html")).expect("page");
    assert!(page.contains("widgets.js"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn keep_markdown_writes_the_source_back_with_its_front_matter_byte_identical() {
    let env = env().await;
    add(&env, &["twitter:1641086480675225601"]);
    // Hugo's TOML front matter (with a post URL in it, left alone) and a
    // Jekyll/Eleventy YAML one, CRLF line ends and all.
    let toml = "+++\r\ntitle = \"A post\"  \r\ndate = 2024-06-20T10:00:00+02:00\r\nsource = \"https://twitter.com/SamuelSusla/status/1641086480675225601\"\r\n+++\r\n";
    let toml_body = "\nIntro *text*.\n\n{{< tweet user=\"SamuelSusla\" id=\"1641086480675225601\" >}}\n\nEnd.\n";
    let yaml = "---\ntitle: 'Another: post'\nlang: en\ntags: [x, \"{braces}\"]\n---\n";
    let yaml_body =
        "\nSee:\n\nhttps://twitter.com/SamuelSusla/status/1641086480675225601\n\nEnd.\n";
    let a = write(
        &env,
        "blog/content/posts/a.md",
        &format!("{toml}{toml_body}"),
    );
    write(
        &env,
        "blog/content/posts/b.mdx",
        &format!("{yaml}{yaml_body}"),
    );
    let content = a.parent().expect("posts").parent().expect("content");
    let out = env.dir.path().join("out-md");
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                content.to_str().expect("utf-8"),
                "-o",
                out.to_str().expect("utf-8"),
                "--keep-markdown",
                "--media-base",
                "/embarc/media",
                "--json",
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains("pass --asset-base"),
        "relative links under pretty URLs are pointed out: {}",
        r.stderr
    );
    let md = std::fs::read_to_string(out.join("posts/a.md")).expect("a.md written as Markdown");
    assert!(!out.join("posts/a.html").exists(), "no HTML page");
    assert!(md.starts_with(toml), "front matter byte-identical: {md}");
    assert!(!md.contains("{{<"), "the shortcode is replaced: {md}");
    assert!(
        md.contains("Intro *text*.\n\n<link rel=\"stylesheet\" href=\"../embarc.css\">\n<figure"),
        "the card is an HTML block with the stylesheet, no blank line doubled: {md}"
    );
    assert!(md.contains("</figure>\n\nEnd.\n"), "{md}");
    assert!(
        md.contains("Intro *text*.") && md.ends_with("\n\nEnd.\n"),
        "{md}"
    );
    assert!(md.contains("src=\"/embarc/media/"), "{md}");
    // The card inside is the one an HTML page gets.
    let start = md.find("<figure").expect("card");
    let card = Html::parse_fragment(&md[start..md.rfind("</figure>").expect("end") + 9]);
    assert!(card.select(&sel("figure blockquote")).next().is_some());
    assert_inert(&Html::parse_fragment(
        &md[toml.len()..]
            .replace("/embarc/media/", "media/")
            .replace("../embarc.css", "embarc.css"),
    ));

    let mdx = std::fs::read_to_string(out.join("posts/b.mdx")).expect("b.mdx");
    assert!(mdx.starts_with(yaml), "front matter byte-identical: {mdx}");
    assert!(mdx.contains("<figure"), "{mdx}");
    assert!(
        !mdx[yaml.len()..].contains('{') && !mdx[yaml.len()..].contains('}'),
        "no JSX expression in the MDX body: {mdx}"
    );
    assert!(!mdx.contains("twitter.com/SamuelSusla/status/1641086480675225601\n\nEnd"));

    // With --asset-base the links are absolute, wherever the generator puts the page.
    let r = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "render",
                content.to_str().expect("utf-8"),
                "-o",
                out.to_str().expect("utf-8"),
                "--keep-markdown",
                "--asset-base",
                "/static/embarc/",
            ],
        )
    });
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(!r.stderr.contains("--asset-base"), "{}", r.stderr);
    let md = std::fs::read_to_string(out.join("posts/a.md")).expect("a.md");
    assert!(
        md.contains("<link rel=\"stylesheet\" href=\"/static/embarc/embarc.css\">"),
        "{md}"
    );
    assert!(md.contains("src=\"/static/embarc/media/"), "{md}");
    assert!(!md.contains("../"), "{md}");
    for tag in mdx
        .split('<')
        .skip(1)
        .filter(|t| t.starts_with("img ") || t.starts_with("source "))
    {
        assert!(
            tag.split('>').next().expect("tag").ends_with(" /"),
            "void tag closed: <{tag}"
        );
    }
}
