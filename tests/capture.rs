//! `embarc add` and `embarc archive` end to end: the real binary against a fake
//! X on 127.0.0.1 (`--mirror`), with real answers and X's failure modes. Each
//! case ends archived or as a named outcome; a re-run sends no request.

mod support;

use support::fake_x::{Env, env};

use assert_cmd::Command;
use serde_json::Value;
use support::fake_x::{self, DOWN_ID, GONE_ID, LIMITED_ID, PROTECTED_ID, TOMBSTONE_ID};

fn embarc(env: &Env, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.arg("--archive").arg(&env.archive).arg("--json");
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    let out = cmd.args(args).output().expect("run");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `embarc show --json POST` on the test archive: its exit code and lines.
fn show(env: &Env, post: &str) -> (Option<i32>, Vec<Value>) {
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .arg("--archive")
        .arg(&env.archive)
        .args(["show", "--json", post])
        .output()
        .expect("show");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    (out.status.code(), lines)
}

/// `embarc verify` on the test archive exits 0 (every object intact, every ref whole).
fn assert_verifies(env: &Env) {
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .arg("--archive")
        .arg(&env.archive)
        .arg("verify")
        .output()
        .expect("verify");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn by_post<'a>(lines: &'a [Value], post: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["post"] == post)
        .unwrap_or_else(|| panic!("no line for {post}: {lines:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn add_captures_a_post_with_its_media_and_a_rerun_sends_nothing() {
    let env = env().await;
    let url = "https://twitter.com/SamuelSusla/status/1641086480675225601";
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &["add", url]));
    assert_eq!(code, Some(0), "{err}");
    let line = by_post(&lines, "twitter:1641086480675225601");
    assert_eq!(line["outcome"], "archived", "{line}");
    assert_eq!(line["media"], 2, "avatar and photo: {line}");
    assert!(
        line["capture"]
            .as_str()
            .expect("capture")
            .starts_with("sha256:")
    );
    let before = env.server.total();
    assert!(
        env.server
            .count("/pbs/profile_images/1042172116911697920/JkIt3onc.jpg")
            == 1,
        "avatar at full size"
    );

    let (code, lines, _) = tokio::task::block_in_place(|| embarc(&env, &["add", url]));
    assert_eq!(code, Some(0));
    assert_eq!(
        by_post(&lines, "twitter:1641086480675225601")["outcome"],
        "unchanged"
    );
    assert_eq!(env.server.total(), before, "a re-run sends no request");

    let (_, lines, _) = tokio::task::block_in_place(|| embarc(&env, &["add", "--refresh", url]));
    assert_eq!(
        by_post(&lines, "twitter:1641086480675225601")["outcome"],
        "archived"
    );
    assert_eq!(
        show(&env, "twitter:1641086480675225601").1.len(),
        2,
        "the old capture stays"
    );
    assert_verifies(&env);
}

#[tokio::test(flavor = "multi_thread")]
async fn outcomes_of_a_vanished_post_are_facts_not_failures() {
    let env = env().await;
    let urls: Vec<String> = [TOMBSTONE_ID, GONE_ID, PROTECTED_ID]
        .iter()
        .map(|id| format!("https://x.com/someone/status/{id}"))
        .collect();
    let mut args = vec!["add"];
    args.extend(urls.iter().map(String::as_str));
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &args));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        by_post(&lines, &format!("twitter:{TOMBSTONE_ID}"))["outcome"],
        "tombstone"
    );
    assert_eq!(
        by_post(&lines, &format!("twitter:{GONE_ID}"))["outcome"],
        "not_found"
    );
    assert_eq!(
        by_post(&lines, &format!("twitter:{PROTECTED_ID}"))["outcome"],
        "protected"
    );
    // Recorded, so a re-run asks nothing.
    let before = env.server.total();
    let (_, lines, _) = tokio::task::block_in_place(|| embarc(&env, &args));
    assert!(
        lines.iter().all(|l| l["outcome"] == "unchanged"),
        "{lines:?}"
    );
    assert_eq!(env.server.total(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_are_waited_out_and_outages_fail_by_name() {
    let env = env().await;
    let limited = format!("https://twitter.com/a/status/{LIMITED_ID}");
    let down = format!("https://twitter.com/a/status/{DOWN_ID}");
    let (code, lines, _) = tokio::task::block_in_place(|| embarc(&env, &["add", &limited, &down]));
    assert_eq!(code, Some(1), "one post failed");
    assert_eq!(
        by_post(&lines, &format!("twitter:{LIMITED_ID}"))["outcome"],
        "archived"
    );
    let failed = by_post(&lines, &format!("twitter:{DOWN_ID}"));
    assert_eq!(failed["outcome"], "failed");
    assert!(
        failed["error"].as_str().expect("error").contains("503"),
        "{failed}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn short_links_resolve_hop_by_hop_and_are_remembered() {
    let env = env().await;
    let (code, lines, err) = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "add",
                "https://t.co/rQd6FIwZ0U",
                "pic.twitter.com/Br0wser123",
                "https://t.co/L00pA",
                "https://t.co/Meta169",
                "https://t.co/Ext3rnal",
            ],
        )
    });
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(
        by_post(&lines, "twitter:1641086480675225601")["outcome"],
        "archived"
    );
    // The browser page's meta refresh leads to jack's first post (not in the fake: not found).
    assert!(lines.iter().any(|l| l["post"] == "twitter:20"), "{lines:?}");
    let failures: Vec<&Value> = lines.iter().filter(|l| l["post"].is_null()).collect();
    assert_eq!(failures.len(), 3, "{lines:?}");
    let text = serde_json::to_string(&failures).expect("json");
    assert!(text.contains("loop"), "{text}");
    assert!(text.contains("refused"), "{text}");
    assert!(text.contains("leads to no post"), "{text}");
    // The resolution is kept: no request to t.co the second time.
    let before = env.server.count("/t.co/rQd6FIwZ0U");
    tokio::task::block_in_place(|| embarc(&env, &["add", "https://t.co/rQd6FIwZ0U"]));
    assert_eq!(env.server.count("/t.co/rQd6FIwZ0U"), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn archive_records_which_article_cites_which_post() {
    let env = env().await;
    let articles = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        articles.path().join("a.html"),
        r#"<blockquote class="twitter-tweet"><p>x</p>&mdash; S (@SamuelSusla) <a href="https://twitter.com/SamuelSusla/status/1641086480675225601">March 29, 2023</a></blockquote>"#,
    )
    .expect("write");
    std::fs::write(articles.path().join("b.txt"), "If you are interested... pic.twitter.com/rQd6FIwZ0U\n— sammy (@SamuelSusla) March 29, 2023\n").expect("write");
    let dir = articles.path().to_string_lossy().into_owned();
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &["archive", &dir]));
    assert_eq!(code, Some(0), "{err}");
    // One line for the post, cited by URL in a.html and by short link in b.txt.
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = by_post(&lines, "twitter:1641086480675225601");
    let mut cited: Vec<&str> = line["articles"]
        .as_array()
        .expect("articles")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    cited.sort();
    assert_eq!(cited.len(), 2, "{line}");
    assert!(
        cited[0].ends_with("a.html") && cited[1].ends_with("b.txt"),
        "{line}"
    );
    let refs = std::fs::read_dir(env.archive.join("refs/articles"))
        .expect("article refs")
        .count();
    assert_eq!(refs, 2);
    // Each article file is kept as it was on disk, read as what it is.
    let archive = embarc::store::Archive::open(&env.archive).expect("archive");
    for (name, kind) in [
        ("a.html", embarc::Kind::Html),
        ("b.txt", embarc::Kind::Text),
    ] {
        let path = articles.path().join(name);
        let record = archive
            .article(&path.to_string_lossy())
            .expect("record")
            .pop()
            .unwrap_or_else(|| panic!("no record of {name}"));
        let body = record.body.expect("kept");
        assert_eq!(body.kind, kind);
        assert_eq!(
            archive.read_object(&body.digest, 1 << 20).expect("object"),
            std::fs::read(&path).expect("file"),
            "{name}"
        );
        assert!(record.exchanges.is_empty(), "a file was not fetched");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_reached_by_url_and_by_short_link_is_captured_once() {
    let env = env().await;
    let (code, lines, err) = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "add",
                "https://twitter.com/SamuelSusla/status/1641086480675225601",
                "pic.twitter.com/rQd6FIwZ0U",
            ],
        )
    });
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines.len(), 1, "one line per post: {lines:?}");
    assert_eq!(lines[0]["outcome"], "archived", "{lines:?}");
    assert_eq!(
        show(&env, "twitter:1641086480675225601").1.len(),
        1,
        "one capture"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_cleanly_keeping_what_finished() {
    let env = env().await;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("embarc"));
    cmd.arg("--archive").arg(&env.archive).arg("--json");
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    // One quick post, then slow ones (their answers take three seconds).
    cmd.args([
        "add",
        "--concurrency",
        "4",
        "https://twitter.com/SamuelSusla/status/1641086480675225601",
    ]);
    for n in 0..12 {
        cmd.arg(format!("https://twitter.com/s/status/8{n:018}"));
    }
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let finished = env.archive.join("refs/posts/twitter/1641086480675225601");
    while !(finished.is_dir()
        && std::fs::read_dir(&finished).map(|d| d.count()).unwrap_or(0) > 0
        && env.server.total() >= 6)
    {
        assert!(std::time::Instant::now() < deadline, "no progress");
        tokio::task::yield_now().await;
    }
    // SAFETY: sends SIGINT to our own child process.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = tokio::task::block_in_place(|| child.wait_with_output()).expect("wait");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
    // What finished is kept.
    let ls = Command::cargo_bin("embarc")
        .expect("binary")
        .arg("--archive")
        .arg(&env.archive)
        .args(["ls", "--json"])
        .output()
        .expect("ls");
    assert!(String::from_utf8_lossy(&ls.stdout).contains("twitter:1641086480675225601"));
    // Nothing partial: the archive verifies and tmp/ is empty.
    assert_verifies(&env);
    assert_eq!(
        std::fs::read_dir(env.archive.join("tmp"))
            .expect("tmp")
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn article_urls_are_fetched_and_archived() {
    let env = env().await;
    let news = format!("news.example={}/articles", env.server.base);
    let (code, lines, err) = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "--mirror",
                &news,
                "archive",
                "https://news.example/2024/story.html",
            ],
        )
    });
    assert_eq!(code, Some(0), "{err}");
    let line = by_post(&lines, "twitter:1641086480675225601");
    assert_eq!(line["outcome"], "archived");
    assert_eq!(line["articles"][0], "https://news.example/2024/story.html");
    assert_eq!(env.server.count("/articles/2024/story.html"), 1);
    // The article itself is kept: the bytes the site sent (gzipped on the
    // wire, decoded in `body`) and the exchange that fetched them.
    let archive = embarc::store::Archive::open(&env.archive).expect("archive");
    let records = archive
        .article("https://news.example/2024/story.html")
        .expect("article record");
    let body = records[0]
        .body
        .as_ref()
        .expect("the article's bytes are kept");
    let kept = archive.read_object(&body.digest, 1 << 20).expect("object");
    assert!(
        String::from_utf8_lossy(&kept).contains("<p>Story.</p>"),
        "{}",
        String::from_utf8_lossy(&kept)
    );
    assert_eq!(body.kind, embarc::Kind::Html);
    let fetched = &records[0].exchanges;
    assert_eq!(fetched.len(), 1, "{fetched:?}");
    assert_eq!(fetched[0].url, "https://news.example/2024/story.html");
    assert_eq!(fetched[0].status, 200);
    assert!(archive.contains(&fetched[0].body.expect("body digest")));
    // Without a mirror, a private address is refused by name.
    let (code, _, err) =
        tokio::task::block_in_place(|| embarc(&env, &["archive", "http://127.0.0.1:9/story.html"]));
    assert_eq!(code, Some(1));
    assert!(err.contains("refused"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_syndication_answer_falls_back_to_oembed() {
    let env = env().await;
    let id = fake_x::EMPTY_ID;
    let (code, lines, err) = tokio::task::block_in_place(|| {
        embarc(
            &env,
            &["add", &format!("https://twitter.com/a/status/{id}")],
        )
    });
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        by_post(&lines, &format!("twitter:{id}"))["outcome"],
        "archived"
    );
    let (_, captures) = show(&env, &format!("twitter:{id}"));
    let capture = &captures[0];
    assert_eq!(capture["text"], format!("post {id}"));
    assert_eq!(capture["handle"], "a");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_quoted_post_gets_its_own_capture_and_earlier_articles_are_listed() {
    let env = env().await;
    let articles = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        articles.path().join("q.html"),
        r#"<a href="https://twitter.com/x/status/1641895049427550208">quote tweet</a>"#,
    )
    .expect("write");
    let dir = articles.path().to_string_lossy().into_owned();
    let (code, _, err) = tokio::task::block_in_place(|| embarc(&env, &["archive", &dir]));
    assert_eq!(code, Some(0), "{err}");
    let raw: Value = serde_json::from_slice(
        &std::fs::read(fake_x::responses_dir().join("syndication/1641895049427550208.json"))
            .expect("read"),
    )
    .expect("json");
    let quoted_id = raw["quoted_tweet"]["id_str"].as_str().expect("quoted id");
    let (code, captures) = show(&env, &format!("twitter:{quoted_id}"));
    assert_eq!(
        code,
        Some(0),
        "the quoted post is archived under its own id"
    );
    let capture = &captures[0];
    assert!(
        capture["media"]
            .as_array()
            .expect("media")
            .iter()
            .any(|m| m["role"] == "photo"),
        "{capture}"
    );
    // `add` later still lists the article that cited the post.
    let (_, lines, _) = tokio::task::block_in_place(|| {
        embarc(&env, &["add", "https://x.com/x/status/1641895049427550208"])
    });
    let line = by_post(&lines, "twitter:1641895049427550208");
    assert_eq!(line["outcome"], "unchanged");
    assert!(
        line["articles"][0]
            .as_str()
            .expect("article")
            .ends_with("q.html"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_answers_end_archived_or_as_named_failures() {
    use fake_x::{BOMB_ID, ENDLESS_ID, RESET_ID, TRICKLE_ID, TRUNCATED_ID};
    let env = env().await;
    let urls: Vec<String> = [RESET_ID, TRUNCATED_ID, ENDLESS_ID, BOMB_ID, TRICKLE_ID]
        .iter()
        .map(|id| format!("https://twitter.com/a/status/{id}"))
        .collect();
    let mut args = vec!["add", "--read-timeout", "1", "--concurrency", "5"];
    args.extend(urls.iter().map(String::as_str));
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &args));
    assert_eq!(code, Some(1), "{err}");
    let outcome = |id: &str| by_post(&lines, &format!("twitter:{id}")).clone();
    assert_eq!(
        outcome(RESET_ID)["outcome"],
        "archived",
        "a reset is retried"
    );
    assert_eq!(
        outcome(TRUNCATED_ID)["outcome"],
        "archived",
        "a truncated body is retried"
    );
    for (id, why) in [
        (ENDLESS_ID, "larger than"),
        (BOMB_ID, "too large"),
        (TRICKLE_ID, "timed out"),
    ] {
        let line = outcome(id);
        assert_eq!(line["outcome"], "failed", "{line}");
        assert!(
            line["error"].as_str().expect("error").contains(why),
            "{id}: {line}"
        );
    }
    assert_eq!(
        std::fs::read_dir(env.archive.join("tmp"))
            .expect("tmp")
            .count(),
        0,
        "nothing partial left"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scan_fetches_article_urls_too() {
    let env = env().await;
    let news = format!("news.example={}/articles", env.server.base);
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .args([
            "--mirror",
            &news,
            "scan",
            "--json",
            "https://news.example/story.html",
        ])
        .output()
        .expect("scan");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().expect("line"))
            .expect("json");
    assert_eq!(line["article"], "https://news.example/story.html");
    assert_eq!(line["form"], "blockquote");
    assert_eq!(line["id"], "1641086480675225601");
}

#[test]
fn show_and_add_accept_provider_colon_id() {
    use embarc::capture::Target;
    match Target::parse("twitter:20") {
        Target::Post(p) => assert_eq!((p.provider.as_str(), p.id.as_str()), ("twitter", "20")),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        Target::parse("https://x.com/jack/status/20"),
        Target::Post(_)
    ));
    assert!(matches!(
        Target::parse("pic.twitter.com/AbC"),
        Target::Short(_)
    ));
    assert!(matches!(Target::parse("nope:20"), Target::Other(_)));
}

/// The capture record a JSON line names, as stored.
fn record(env: &Env, line: &Value) -> Value {
    let digest = line["capture"]
        .as_str()
        .and_then(|c| c.strip_prefix("sha256:"))
        .and_then(embarc::digest::Digest::parse)
        .unwrap_or_else(|| panic!("no capture: {line}"));
    embarc::store::Archive::open(&env.archive)
        .expect("archive")
        .read_json(&digest)
        .expect("capture record")
}

#[tokio::test(flavor = "multi_thread")]
async fn each_shape_of_tombstone_is_a_tombstone_with_its_words() {
    use fake_x::{AGE_RESTRICTED_ID, SUSPENDED_ID, VIOLATED_ID, WITHHELD_ID};
    let env = env().await;
    let ids = [
        TOMBSTONE_ID,
        SUSPENDED_ID,
        WITHHELD_ID,
        AGE_RESTRICTED_ID,
        VIOLATED_ID,
    ];
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("https://x.com/someone/status/{id}"))
        .collect();
    let mut args = vec!["add"];
    args.extend(urls.iter().map(String::as_str));
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &args));
    assert_eq!(code, Some(0), "{err}");
    for id in ids {
        let line = by_post(&lines, &format!("twitter:{id}"));
        assert_eq!(line["outcome"], "tombstone", "{line}");
        let words = fake_x::tombstone_words(id)
            .unwrap_or("This Post was deleted by the Post author. Learn more");
        let (_, shown) = show(&env, &format!("twitter:{id}"));
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert_eq!(shown[0]["outcome"], "tombstone", "{shown:?}");
        assert_eq!(shown[0]["error"], words, "X's own words are kept");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_come_gzipped_and_chunked_and_are_stored_as_sent() {
    let env = env().await;
    let url = "https://twitter.com/SamuelSusla/status/1641086480675225601";
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &["add", url]));
    assert_eq!(code, Some(0), "{err}");
    let line = by_post(&lines, "twitter:1641086480675225601");
    assert_eq!(line["source"], "syndication", "{line}");
    let rec = record(&env, line);
    let exchanges = rec["exchanges"].as_array().expect("exchanges");
    let header = |x: &Value, name: &str| -> Option<String> {
        x["headers"].as_array()?.iter().find_map(|h| {
            (h[0].as_str()? == name).then(|| h[1].as_str().unwrap_or_default().to_string())
        })
    };
    let syndication = exchanges
        .iter()
        .find(|x| {
            x["url"]
                .as_str()
                .is_some_and(|u| u.contains("/tweet-result?"))
        })
        .expect("a syndication exchange");
    assert_eq!(
        header(syndication, "content-encoding").as_deref(),
        Some("gzip"),
        "the fake gzips when asked: {syndication}"
    );
    let oembed = exchanges
        .iter()
        .find(|x| x["url"].as_str().is_some_and(|u| u.contains("/oembed?")))
        .expect("an oEmbed exchange");
    assert_eq!(
        header(oembed, "transfer-encoding").as_deref(),
        Some("chunked"),
        "{oembed}"
    );
    // Decoded for the card all the same.
    let (_, shown) = show(&env, "twitter:1641086480675225601");
    assert_eq!(shown[0]["handle"], "SamuelSusla", "{shown:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limit_resets_are_honoured_to_the_second() {
    use fake_x::RETRY_AFTER_ID;
    let env = env().await;
    let urls: Vec<String> = [LIMITED_ID, RETRY_AFTER_ID]
        .iter()
        .map(|id| format!("https://x.com/a/status/{id}"))
        .collect();
    let (code, lines, err) =
        tokio::task::block_in_place(|| embarc(&env, &["add", &urls[0], &urls[1]]));
    assert_eq!(code, Some(0), "{err}");
    for id in [LIMITED_ID, RETRY_AFTER_ID] {
        assert_eq!(
            by_post(&lines, &format!("twitter:{id}"))["outcome"],
            "archived"
        );
    }
    // Each asked twice, the second time after the reset (the fake answers an
    // early request with another 429 and fails the test when dropped).
    let asked = |id: &str| -> Vec<std::time::Instant> {
        let prefix = format!("/syndication/tweet-result?id={id}&");
        env.server.arrivals_where(|p| p.starts_with(&prefix))
    };
    let t = asked(RETRY_AFTER_ID);
    assert_eq!(t.len(), 2, "{t:?}");
    assert!(t[1] - t[0] >= std::time::Duration::from_secs(1), "{t:?}");
    assert_eq!(asked(LIMITED_ID).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_beyond_the_longest_wait_fails_at_once_by_name() {
    use fake_x::FAR_LIMITED_ID;
    let env = env().await;
    let url = format!("https://x.com/a/status/{FAR_LIMITED_ID}");
    let started = std::time::Instant::now();
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &["add", &url]));
    assert_eq!(code, Some(1), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "no waiting an hour, nor the 120 s max_wait: {:?}",
        started.elapsed()
    );
    let line = by_post(&lines, &format!("twitter:{FAR_LIMITED_ID}"));
    assert_eq!(line["outcome"], "failed", "{line}");
    let error = line["error"].as_str().expect("error");
    assert!(
        error.contains("syndication") && error.contains("429"),
        "{line}"
    );
    // It says when the limit resets (the fake's hour), that this is beyond
    // the longest wait, and what to do: one line.
    let reset = time::OffsetDateTime::now_utc() + time::Duration::seconds(3600);
    let at = format!("{:02}:{:02}", reset.hour(), reset.minute());
    let before = reset - time::Duration::minutes(1);
    let at_before = format!("{:02}:{:02}", before.hour(), before.minute());
    assert!(
        error.contains("rate limit resets at")
            && (error.contains(&at) || error.contains(&at_before))
            && error.contains("UTC (in 3")
            && error.contains("beyond the longest wait of 120 s")
            && error.contains("run again after that time")
            && !error.contains('\n'),
        "{error}"
    );
    let prefix = format!("/syndication/tweet-result?id={FAR_LIMITED_ID}&");
    assert_eq!(
        env.server.arrivals_where(|p| p.starts_with(&prefix)).len(),
        1,
        "asked once: the reset is too far to wait for"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_fall_back_from_orig_to_4096_then_large() {
    use fake_x::{FALLBACK_ID, FALLBACK_LARGE_ID};
    let env = env().await;
    for (id, key, got) in [
        (FALLBACK_ID, "FallbackKey", "4096x4096"),
        (FALLBACK_LARGE_ID, "FallbackLarge", "large"),
    ] {
        let url = format!("https://x.com/a/status/{id}");
        let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &["add", &url]));
        assert_eq!(code, Some(0), "{err}");
        let line = by_post(&lines, &format!("twitter:{id}"));
        assert_eq!(line["outcome"], "archived", "{line}");
        assert_eq!(line["media"], 1, "{line}");
        let (_, shown) = show(&env, &format!("twitter:{id}"));
        assert_eq!(
            shown[0]["media"][0]["url"],
            format!("https://pbs.twimg.com/media/{key}?format=jpg&name={got}"),
            "{shown:?}"
        );
        // Asked in order, each once, and no further than needed.
        let asked = |name: &str| {
            env.server
                .count(&format!("/pbs/media/{key}?format=jpg&name={name}"))
        };
        assert_eq!(asked("orig"), 1, "{key}");
        assert_eq!(asked("4096x4096"), 1, "{key}");
        assert_eq!(asked("large"), u32::from(got == "large"), "{key}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_gone_everywhere_is_missing_and_a_failing_one_is_partial() {
    use fake_x::{PHOTO_DOWN_ID, PHOTO_GONE_ID};
    let env = env().await;
    // 404 at every size: the post is archived, the photo listed as missing
    // for good.
    let url = format!("https://x.com/a/status/{PHOTO_GONE_ID}");
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &["add", &url]));
    assert_eq!(code, Some(0), "{err}");
    let line = by_post(&lines, &format!("twitter:{PHOTO_GONE_ID}"));
    assert_eq!(line["outcome"], "archived", "{line}");
    assert_eq!(line["media"], 0, "{line}");
    let rec = record(&env, line);
    assert_eq!(rec["outcome"], "ok", "{rec}");
    let missing = rec["missing"].as_array().expect("missing");
    assert_eq!(missing.len(), 1, "{rec}");
    assert_eq!(missing[0]["role"], "photo");
    assert_eq!(missing[0]["retry"], false, "{}", missing[0]);
    assert!(
        missing[0]["url"]
            .as_str()
            .expect("url")
            .contains("GonePhoto")
    );
    // Settled: a re-run asks nothing.
    let before = env.server.total();
    let (_, lines, _) = tokio::task::block_in_place(|| embarc(&env, &["add", &url]));
    assert_eq!(
        by_post(&lines, &format!("twitter:{PHOTO_GONE_ID}"))["outcome"],
        "unchanged"
    );
    assert_eq!(env.server.total(), before);

    // 500 at every size and attempt: partial, exit 1, retried next run.
    let url = format!("https://x.com/a/status/{PHOTO_DOWN_ID}");
    let (code, lines, err) = tokio::task::block_in_place(|| embarc(&env, &["add", &url]));
    assert_eq!(code, Some(1), "{err}");
    let line = by_post(&lines, &format!("twitter:{PHOTO_DOWN_ID}"));
    assert_eq!(line["outcome"], "partial", "{line}");
    assert!(
        line["error"].as_str().expect("error").contains("photo"),
        "{line}"
    );
    let missing = record(&env, line)["missing"].clone();
    assert_eq!(missing[0]["retry"], true, "{missing}");
    let (_, lines, _) = tokio::task::block_in_place(|| embarc(&env, &["add", &url]));
    assert_eq!(
        by_post(&lines, &format!("twitter:{PHOTO_DOWN_ID}"))["outcome"],
        "partial",
        "captured again"
    );
}

/// The bound on embarc's peak resident memory while it stores a 300 MB video:
/// the video is streamed to disk and hashed on the way, never held, so the
/// peak is the program's own (tens of MB), far under the video's size.
const VIDEO_PEAK_RSS_BYTES: u64 = 100 * 1024 * 1024;

/// The peak resident set (`VmHWM`) of a running process, if it still runs.
fn peak_rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_300_mb_video_is_streamed_in_bounded_memory() {
    use fake_x::{VIDEO_BYTES, VIDEO_ID};
    let env = env().await;
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("embarc"));
    cmd.arg("--archive").arg(&env.archive).arg("--json");
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    let mut child = cmd
        .args(["add", &format!("https://x.com/v/status/{VIDEO_ID}")])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id();
    // VmHWM is the high-water mark: the last reading before exit is the peak.
    let mut peak = 0;
    let out = tokio::task::block_in_place(|| {
        while child.try_wait().expect("wait").is_none() {
            if let Some(p) = peak_rss(pid) {
                peak = peak.max(p);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.wait_with_output().expect("output")
    });
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(peak > 0, "VmHWM never read");
    assert!(
        peak < VIDEO_PEAK_RSS_BYTES,
        "peak RSS {} MB while storing a {} MB video (bound {} MB)",
        peak >> 20,
        VIDEO_BYTES / 1_000_000,
        VIDEO_PEAK_RSS_BYTES >> 20
    );
    eprintln!("peak RSS {} MB", peak >> 20);
    let line: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(line["outcome"], "archived", "{line}");
    let (_, shown) = show(&env, &format!("twitter:{VIDEO_ID}"));
    let video = shown[0]["media"]
        .as_array()
        .expect("media")
        .iter()
        .find(|m| m["url"].as_str().is_some_and(|u| u.ends_with("big.mp4")))
        .unwrap_or_else(|| panic!("the top-bitrate variant is stored: {shown:?}"))
        .clone();
    assert_eq!(video["bytes"], VIDEO_BYTES, "{video}");
}
