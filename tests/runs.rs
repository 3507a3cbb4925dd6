//! Archive runs an archivist can trust, end to end with the real binary
//! against the fake X: a run that failed offline is completed by the next
//! one, lines stream as posts finish (one per post), a run killed midway
//! keeps what it finished, a partial capture is said and completed later,
//! offline runs stop early, dry runs send nothing, and shards split a job
//! with no overlap.

mod support;

use support::fake_x::{Env, env};

use serde_json::Value;
use std::collections::BTreeSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::fake_x::{self, FLAKY_MEDIA_ID, QUOTED_ID, QUOTING_ID};

const SAMMY: &str = "1641086480675225601";

/// Every X, Bluesky and Mastodon host mapped to a local port where nothing
/// listens: each connection is refused at once, as when offline (the examples
/// embed a Bluesky post and a mastodon.social status too; no test may reach
/// the real AppView or instance).
fn offline_mirrors() -> Vec<String> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let base = format!("http://127.0.0.1:{port}");
    let mut flags = fake_x::mirror_flags(&base);
    flags.extend(support::fake_bluesky::mirror_flags(&base));
    flags.extend(support::fake_mastodon::mirror_flags(&base));
    flags
}

fn command(env: &Env, mirrors: &[String], args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
    cmd.arg("--archive").arg(&env.archive);
    for m in mirrors {
        cmd.arg("--mirror").arg(m);
    }
    cmd.args(args);
    cmd
}

/// Runs embarc with `--json`: exit code, lines, stderr.
fn run(env: &Env, mirrors: &[String], args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let out = command(env, mirrors, args)
        .arg("--json")
        .output()
        .expect("run embarc");
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

fn online(env: &Env) -> Vec<String> {
    fake_x::mirror_flags(&env.server.base)
}

fn posts(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter_map(|l| l["post"].as_str().map(str::to_string))
        .collect()
}

/// Two articles: one cites two posts (one by short link), one a third.
fn articles(dir: &Path) -> PathBuf {
    let root = dir.join("articles");
    std::fs::create_dir_all(&root).expect("mkdir");
    std::fs::write(
        root.join("a.html"),
        format!(
            r#"<blockquote class="twitter-tweet"><p>x</p>&mdash; S (@SamuelSusla) <a href="https://twitter.com/SamuelSusla/status/{SAMMY}">March 29, 2023</a></blockquote>
<p>More: <a href="https://twitter.com/s/status/{}">a post</a></p>"#,
            fake_x::synthetic_id(1)
        ),
    )
    .expect("write");
    std::fs::write(
        root.join("b.txt"),
        format!(
            "Photos here. pic.twitter.com/rQd6FIwZ0U\n— sammy (@SamuelSusla) March 29, 2023\n\nhttps://x.com/s/status/{}\n",
            fake_x::synthetic_id(2)
        ),
    )
    .expect("write");
    root
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_that_failed_offline_is_completed_by_the_next() {
    let env = env().await;
    let dir = articles(env.dir.path());
    let dir = dir.to_string_lossy().into_owned();
    let (code, _, err) = tokio::task::block_in_place(|| {
        run(
            &env,
            &offline_mirrors(),
            &["archive", &dir, "--concurrency", "1"],
        )
    });
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("cannot be reached"), "{err}");
    assert!(err.contains("nothing was lost"), "{err}");
    assert!(err.contains("left for the next run"), "{err}");

    let (code, lines, err) =
        tokio::task::block_in_place(|| run(&env, &online(&env), &["archive", &dir]));
    assert_eq!(code, Some(0), "{err}");
    let mut got = posts(&lines);
    got.sort();
    let want = [
        format!("twitter:{SAMMY}"),
        format!("twitter:{}", fake_x::synthetic_id(1)),
        format!("twitter:{}", fake_x::synthetic_id(2)),
    ];
    assert_eq!(got, want, "one line per post: {lines:?}");
    for l in &lines {
        assert_eq!(l["outcome"], "archived", "{l}");
        assert!(l["media"].as_u64().unwrap_or(0) >= 1, "{l}");
    }
    // Both articles are recorded, and `ls` shows no failed post.
    let refs = std::fs::read_dir(env.archive.join("refs/articles"))
        .expect("article refs")
        .count();
    assert_eq!(refs, 2);
    let ls = command(&env, &[], &["ls", "--json"]).output().expect("ls");
    let ls = String::from_utf8_lossy(&ls.stdout).into_owned();
    assert_eq!(ls.lines().count(), 3, "{ls}");
    assert!(!ls.contains("\"failed\""), "{ls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_capture_is_tried_again_and_a_settled_one_is_not() {
    let env = env().await;
    let url = format!("https://twitter.com/s/status/{}", fake_x::synthetic_id(3));
    let (code, lines, _) =
        tokio::task::block_in_place(|| run(&env, &offline_mirrors(), &["add", &url]));
    assert_eq!(code, Some(1));
    assert_eq!(lines[0]["outcome"], "failed", "{lines:?}");
    // The error line names the host and why, in one short line; the full
    // URL is a field of its own.
    let error = lines[0]["error"].as_str().expect("error");
    assert!(error.contains("cdn.syndication.twimg.com"), "{error}");
    assert!(!error.contains("features="), "{error}");
    assert!(!error.contains('\n'), "{error}");
    assert!(
        lines[0]["error_url"]
            .as_str()
            .is_some_and(|u| u.contains("features=")),
        "{lines:?}"
    );
    let (code, lines, _) = tokio::task::block_in_place(|| run(&env, &online(&env), &["add", &url]));
    assert_eq!(code, Some(0));
    assert_eq!(lines[0]["outcome"], "archived", "{lines:?}");
    let (code, lines, _) = tokio::task::block_in_place(|| run(&env, &online(&env), &["add", &url]));
    assert_eq!(code, Some(0));
    assert_eq!(lines[0]["outcome"], "unchanged", "{lines:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capture_missing_a_file_is_partial_and_completed_next_time() {
    let env = env().await;
    let url = format!("https://twitter.com/flaky/status/{FLAKY_MEDIA_ID}");
    let (code, lines, err) =
        tokio::task::block_in_place(|| run(&env, &online(&env), &["add", &url]));
    assert_eq!(code, Some(1), "a partial capture exits 1: {err}");
    assert_eq!(lines[0]["outcome"], "partial", "{lines:?}");
    let error = lines[0]["error"].as_str().expect("error");
    assert!(error.contains("photo") && error.contains("503"), "{error}");
    // `show` and `ls` say so too.
    let ls = command(&env, &[], &["ls", "--json"]).output().expect("ls");
    assert!(
        String::from_utf8_lossy(&ls.stdout).contains("\"partial\""),
        "{}",
        String::from_utf8_lossy(&ls.stdout)
    );

    let (code, lines, err) =
        tokio::task::block_in_place(|| run(&env, &online(&env), &["add", &url]));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines[0]["outcome"], "archived", "{lines:?}");
    let (_, shown, _) = tokio::task::block_in_place(|| {
        run(&env, &[], &["show", &format!("twitter:{FLAKY_MEDIA_ID}")])
    });
    // Oldest first: the partial capture, then the whole one.
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert_eq!(shown[0]["outcome"], "partial", "{shown:?}");
    assert_eq!(shown[1]["outcome"], "ok", "{shown:?}");
    let media = shown[1]["media"].as_array().expect("media");
    assert!(
        media.iter().any(|m| m.to_string().contains("FlakyPhoto")),
        "{media:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn lines_stream_as_posts_finish_and_a_killed_run_keeps_them() {
    let env = env().await;
    let root = env.dir.path().join("articles");
    std::fs::create_dir_all(&root).expect("mkdir");
    // Slow posts (ids starting with 8) answer after three seconds.
    let slow = format!("8{}", &fake_x::synthetic_id(7)[1..]);
    std::fs::write(
        root.join("fast.md"),
        format!("https://x.com/s/status/{}\n", fake_x::synthetic_id(5)),
    )
    .expect("write");
    std::fs::write(
        root.join("slow.md"),
        format!("https://x.com/s/status/{slow}\n"),
    )
    .expect("write");
    let mut child = command(&env, &online(&env), &["archive", "--json"])
        .arg(&root)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    tokio::task::block_in_place(|| out.read_line(&mut first)).expect("first line");
    let first_at = Instant::now();
    let line: Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(
        line["post"],
        format!("twitter:{}", fake_x::synthetic_id(5)),
        "{line}"
    );
    // The slow post's answer leaves the fake 3 s after its request arrived:
    // the fast post's line came before it (measured from that arrival, not
    // from the start, so a slow start on a loaded machine does not count).
    let slow_request = embarc::capture::twitter::syndication_url(
        &embarc::capture::twitter::Endpoints {
            syndication: "/syndication/tweet-result".into(),
            ..Default::default()
        },
        slow.parse().expect("id"),
    );
    let arrived = env.server.arrivals(&slow_request);
    assert_eq!(arrived.len(), 1, "{slow_request}");
    assert!(
        first_at < arrived[0] + Duration::from_millis(3000),
        "the fast post's line came only {:?} after the slow post was asked, with its answer",
        first_at - arrived[0]
    );
    // Killed while the slow post is pending: the fast post's article is kept.
    child.kill().expect("kill");
    let _ = child.wait();
    let articles: Vec<String> = std::fs::read_dir(env.archive.join("refs/articles"))
        .expect("article refs")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(articles.len(), 1, "{articles:?}");

    // The rerun completes the rest: the fast post is unchanged, the slow one archived.
    let (code, lines, err) = tokio::task::block_in_place(|| {
        run(&env, &online(&env), &["archive", &root.to_string_lossy()])
    });
    assert_eq!(code, Some(0), "{err}");
    let outcome = |id: &str| {
        lines
            .iter()
            .find(|l| l["post"] == format!("twitter:{id}"))
            .map(|l| l["outcome"].clone())
    };
    assert_eq!(outcome(&fake_x::synthetic_id(5)), Some("unchanged".into()));
    assert_eq!(outcome(&slow), Some("archived".into()));
    assert_eq!(
        std::fs::read_dir(env.archive.join("refs/articles"))
            .expect("refs")
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_captured_as_a_quote_earlier_in_the_run_reports_archived() {
    let env = env().await;
    let (code, lines, err) = tokio::task::block_in_place(|| {
        run(
            &env,
            &online(&env),
            &[
                "add",
                "--concurrency",
                "1",
                &format!("twitter:{QUOTING_ID}"),
                &format!("twitter:{QUOTED_ID}"),
            ],
        )
    });
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["post"], format!("twitter:{QUOTING_ID}"));
    for l in &lines {
        assert_eq!(l["outcome"], "archived", "{l}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn offline_the_examples_stop_early_and_lose_nothing() {
    let env = env().await;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let started = Instant::now();
    let (code, lines, err) = tokio::task::block_in_place(|| {
        run(
            &env,
            &offline_mirrors(),
            &["archive", &examples.to_string_lossy()],
        )
    });
    let took = started.elapsed();
    assert_eq!(code, Some(1), "{err}");
    // One line says why and what to do; the run does not try every post.
    let said: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("cannot be reached"))
        .collect();
    assert_eq!(said.len(), 1, "{err}");
    assert!(said[0].contains("--mirror"), "{err}");
    assert!(lines.len() < 10, "{} lines: {lines:?}", lines.len());
    assert!(took < Duration::from_secs(10), "took {took:?}");
    // Every line is one short line, whatever the URL.
    for l in &lines {
        let e = l["error"].as_str().unwrap_or("");
        assert!(e.len() < 200, "{e}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_sends_nothing_and_writes_nothing() {
    let env = env().await;
    let dir = articles(env.dir.path());
    let dir = dir.to_string_lossy().into_owned();
    let (code, lines, err) =
        tokio::task::block_in_place(|| run(&env, &online(&env), &["archive", &dir, "--dry-run"]));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(env.server.total(), 0, "a dry run sent requests");
    assert!(!env.archive.exists(), "a dry run created the archive");
    let outcomes: BTreeSet<String> = lines
        .iter()
        .map(|l| l["outcome"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        outcomes,
        BTreeSet::from(["would_capture".to_string(), "would_resolve".to_string()]),
        "{lines:?}"
    );

    // After a run in which one post failed, the dry run says which are
    // archived and which would be tried again.
    let gone = format!("twitter:{}", fake_x::DOWN_ID);
    tokio::task::block_in_place(|| run(&env, &online(&env), &["archive", &dir]));
    tokio::task::block_in_place(|| run(&env, &online(&env), &["add", &gone]));
    let before = env.server.total();
    let list = env.dir.path().join("list.txt");
    std::fs::write(&list, format!("# posts\n{dir}\n\n")).expect("write");
    let (code, lines, _) = tokio::task::block_in_place(|| {
        run(
            &env,
            &online(&env),
            &["archive", "-i", &list.to_string_lossy(), "--dry-run"],
        )
    });
    assert_eq!(code, Some(0));
    assert_eq!(env.server.total(), before, "a dry run sent requests");
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().all(|l| l["outcome"] == "unchanged"),
        "{lines:?}"
    );
    let (code, lines, _) =
        tokio::task::block_in_place(|| run(&env, &online(&env), &["add", &gone, "--dry-run"]));
    assert_eq!(code, Some(0));
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["outcome"], "would_retry", "{lines:?}");
    assert_eq!(env.server.total(), before, "a dry run sent requests");
}

#[tokio::test(flavor = "multi_thread")]
async fn three_shards_capture_every_post_exactly_once() {
    let env = env().await;
    let ids: Vec<String> = (100..130).map(fake_x::synthetic_id).collect();
    let list = env.dir.path().join("posts.txt");
    std::fs::write(
        &list,
        ids.iter()
            .map(|id| format!("https://x.com/s/status/{id}\n"))
            .collect::<String>(),
    )
    .expect("write");
    let list = list.to_string_lossy().into_owned();
    let mut seen: Vec<String> = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let (code, lines, err) = tokio::task::block_in_place(|| {
            run(
                &env,
                &online(&env),
                &["add", "-i", &list, "--shard", &shard],
            )
        });
        assert_eq!(code, Some(0), "{err}");
        assert!(!lines.is_empty(), "shard {shard} got no post");
        assert!(
            lines.iter().all(|l| l["outcome"] == "archived"),
            "{lines:?}"
        );
        seen.extend(posts(&lines));
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a post in two shards: {seen:?}");
    let want: BTreeSet<String> = ids.iter().map(|id| format!("twitter:{id}")).collect();
    assert_eq!(unique.into_iter().cloned().collect::<BTreeSet<_>>(), want);
    // The whole job again: nothing left to do.
    let (code, lines, err) =
        tokio::task::block_in_place(|| run(&env, &online(&env), &["add", "-i", &list]));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines.len(), ids.len(), "{lines:?}");
    assert!(
        lines.iter().all(|l| l["outcome"] == "unchanged"),
        "{lines:?}"
    );
    // A bad shard is a usage error.
    let (code, _, err) = tokio::task::block_in_place(|| {
        run(&env, &online(&env), &["add", "-i", &list, "--shard", "4/3"])
    });
    assert_eq!(code, Some(2), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_input_list_can_come_from_stdin() {
    let env = env().await;
    let mut child = command(&env, &online(&env), &["add", "--json", "-i", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(
            stdin,
            "# two posts\nhttps://x.com/s/status/{}\n\n  twitter:{}  ",
            fake_x::synthetic_id(40),
            fake_x::synthetic_id(41)
        )
        .expect("write");
    }
    let out = tokio::task::block_in_place(|| child.wait_with_output()).expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    got.sort_by_key(|l| l["post"].to_string());
    let posts: Vec<&str> = got.iter().filter_map(|l| l["post"].as_str()).collect();
    assert_eq!(
        posts,
        [
            format!("twitter:{}", fake_x::synthetic_id(40)),
            format!("twitter:{}", fake_x::synthetic_id(41))
        ]
    );
    assert!(got.iter().all(|l| l["outcome"] == "archived"), "{got:?}");
}
