//! The archive as a worried archivist tests it: names anyone can check with
//! `sha256sum`, a flipped byte found and named, a deleted index rebuilt to the
//! same listing, writers killed with SIGKILL mid-stream, and four processes
//! writing overlapping objects at once.
//!
//! The writer processes are this test binary re-run with `EMBARC_TEST_CHILD`
//! set (see `child_writer`), so they exercise the library exactly as embarc does.

use assert_cmd::Command;
use embarc::post::{Author, Post, PostId};
use embarc::store::record::{CaptureOutcome, CaptureRecord, Exchange, Media};
use embarc::store::{Archive, Digest, verify};
use predicates::prelude::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn embarc(archive: &Path) -> Command {
    let mut c = Command::cargo_bin("embarc").expect("binary");
    c.arg("--archive").arg(archive);
    c
}

/// Deterministic pseudo-random bytes.
fn bytes(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn capture(archive: &Archive, id: u64, at: time::OffsetDateTime, text: &str) -> Digest {
    let photo = archive.put_bytes(&bytes(id, 5000)).expect("photo");
    let body = archive
        .put_bytes(format!("{{\"id_str\":\"{id}\"}}").as_bytes())
        .expect("body");
    let mut r = CaptureRecord::new(
        PostId::new(embarc::Provider::Twitter, id.to_string()),
        format!("https://twitter.com/u/status/{id}"),
        at,
        CaptureOutcome::Ok,
    );
    r.normalized = Some(Post {
        author: Author {
            name: "User".into(),
            handle: Some("u".into()),
            ..Author::default()
        },
        text: text.into(),
        ..Post::default()
    });
    r.exchanges.push(Exchange {
        url: format!("https://cdn.syndication.twimg.com/tweet-result?id={id}"),
        via: None,
        method: "GET".into(),
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: Some(body),
        body_bytes: 20,
        started_at: at,
        duration_ms: 12,
        user_agent: None,
    });
    r.media.push(Media {
        role: "photo".into(),
        url: "https://pbs.twimg.com/media/x?format=jpg&name=orig".into(),
        digest: photo,
        bytes: 5000,
        content_type: Some("image/jpeg".into()),
    });
    archive.put_capture(&r).expect("capture")
}

fn sample_archive() -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Archive::open_or_create(dir.path().join("archive")).expect("create");
    let t0 = time::macros::datetime!(2026-06-20 10:00:00 UTC);
    capture(&archive, 1803679748007890964, t0, "first post");
    capture(
        &archive,
        1803679748007890964,
        t0 + time::Duration::hours(2),
        "first post, again",
    );
    capture(
        &archive,
        20,
        t0 + time::Duration::hours(1),
        "just setting up my twttr",
    );
    (dir, archive)
}

#[test]
fn object_names_are_their_sha256_for_coreutils() {
    let (_dir, archive) = sample_archive();
    let big = bytes(7, 3 << 20);
    let (d, n) = archive.put_reader(&big[..]).expect("put");
    assert_eq!(n, big.len() as u64);
    assert_eq!(
        archive.put_bytes(&big).expect("again"),
        d,
        "same bytes, same object"
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("sha256sum objects/sha256/*/*")
        .current_dir(archive.root())
        .output()
        .expect("sha256sum");
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = 0;
    for line in text.lines() {
        let (sum, file) = line.split_once("  ").expect("sha256sum line");
        assert_eq!(
            Path::new(file).file_name().and_then(|f| f.to_str()),
            Some(sum),
            "{line}"
        );
        lines += 1;
    }
    assert!(lines >= 8, "{text}");
    let mut back = Vec::new();
    archive
        .open_object(&d)
        .expect("open")
        .read_to_end(&mut back)
        .expect("read");
    assert_eq!(back, big);
}

#[test]
fn a_flipped_byte_is_named_by_verify_and_refused_by_reads() {
    let (dir, archive) = sample_archive();
    let archive_dir = dir.path().join("archive");
    embarc(&archive_dir)
        .arg("verify")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("all good"));

    let victim = archive.put_bytes(&bytes(99, 100_000)).expect("put");
    let path = archive.object_path(&victim);
    let mut content = std::fs::read(&path).expect("read");
    content[4242] ^= 0x01;
    // Objects are read-only: replace the file rather than write into it.
    std::fs::remove_file(&path).expect("rm");
    std::fs::write(&path, &content).expect("write");

    embarc(&archive_dir)
        .arg("verify")
        .assert()
        .code(1)
        .stdout(predicate::str::contains(victim.hex()).and(predicate::str::contains("corrupt")));
    let json = embarc(&archive_dir)
        .args(["verify", "--json"])
        .output()
        .expect("run");
    assert_eq!(json.status.code(), Some(1));
    let line: serde_json::Value =
        serde_json::from_slice(json.stdout.split(|b| *b == b'\n').next().expect("line"))
            .expect("JSON");
    assert_eq!(line["problem"], "corrupt");

    let err = archive
        .read_object(&victim, 1 << 20)
        .expect_err("corrupt object must not be returned");
    assert!(err.to_string().contains(&victim.hex()), "{err}");
    let mut sink = Vec::new();
    let streamed = archive
        .open_object(&victim)
        .expect("open")
        .read_to_end(&mut sink);
    assert!(
        streamed.is_err(),
        "the streaming reader must fail at the end"
    );

    // A ref to an object that is gone is named too.
    std::fs::remove_file(&path).expect("rm");
    archive
        .add_ref(&["short", "t.co", "abc"], &victim)
        .expect("ref");
    embarc(&archive_dir).arg("verify").assert().code(1).stdout(
        predicate::str::contains("missing").and(predicate::str::contains("refs/short/t.co/abc")),
    );
}

#[test]
fn deleting_the_index_loses_nothing() {
    let (dir, archive) = sample_archive();
    let archive_dir = dir.path().join("archive");
    let before = embarc(&archive_dir)
        .args(["ls", "--json"])
        .output()
        .expect("ls");
    assert!(before.status.success());
    let listing: Vec<serde_json::Value> = String::from_utf8_lossy(&before.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(listing.len(), 2);
    assert_eq!(
        listing[0]["post"], "twitter:1803679748007890964",
        "newest capture first"
    );
    assert_eq!(listing[0]["captures"], 2);
    assert_eq!(listing[1]["post"], "twitter:20");

    std::fs::remove_file(archive.root().join("index.sqlite")).expect("rm index");
    for extra in ["index.sqlite-wal", "index.sqlite-shm"] {
        let _ = std::fs::remove_file(archive.root().join(extra));
    }
    embarc(&archive_dir)
        .arg("reindex")
        .assert()
        .code(0)
        .stderr(predicate::str::contains("indexed 3 captures"));
    let after = embarc(&archive_dir)
        .args(["ls", "--json"])
        .output()
        .expect("ls");
    assert_eq!(before.stdout, after.stdout);

    // ls alone rebuilds a missing index too.
    std::fs::remove_file(archive.root().join("index.sqlite")).expect("rm index");
    let again = embarc(&archive_dir)
        .args(["ls", "--json"])
        .output()
        .expect("ls");
    assert_eq!(before.stdout, again.stdout);
}

#[test]
fn show_reads_captures_by_url_or_id() {
    let (dir, _archive) = sample_archive();
    let archive_dir = dir.path().join("archive");
    let by_id = embarc(&archive_dir)
        .args(["show", "--json", "twitter:1803679748007890964"])
        .output()
        .expect("show");
    let by_url = embarc(&archive_dir)
        .args([
            "show",
            "--json",
            "https://x.com/whoever/status/1803679748007890964?s=20",
        ])
        .output()
        .expect("show");
    assert!(by_id.status.success());
    assert_eq!(by_id.stdout, by_url.stdout);
    let caps: Vec<serde_json::Value> = String::from_utf8_lossy(&by_id.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    assert_eq!(caps.len(), 2);
    assert_eq!(caps[0]["text"], "first post");
    assert_eq!(caps[1]["text"], "first post, again");
    assert_eq!(caps[0]["media"][0]["role"], "photo");
    embarc(&archive_dir)
        .args(["show", "twitter:20"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("just setting up my twttr")
                .and(predicate::str::contains("ok")),
        );
    embarc(&archive_dir)
        .args(["show", "twitter:21"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("twitter:21 is not archived"));
}

#[test]
fn refs_are_never_rewritten() {
    let (_dir, archive) = sample_archive();
    let a = archive.put_bytes(b"a").expect("a");
    let b = archive.put_bytes(b"b").expect("b");
    assert!(
        archive
            .add_ref(&["short", "t.co", "X1"], &a)
            .expect("first")
    );
    assert!(
        !archive
            .add_ref(&["short", "t.co", "X1"], &b)
            .expect("second")
    );
    let links = archive.short_links().expect("list");
    assert_eq!(links, vec![("t.co/X1".to_string(), a)]);
}

#[test]
fn a_folder_that_is_not_an_archive_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("thesis.docx"), b"precious").expect("write");
    let err = Archive::open_or_create(dir.path()).expect_err("must refuse");
    assert!(err.to_string().contains("not an embarc archive"), "{err}");
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("ls").count(),
        1,
        "nothing written"
    );
    embarc(dir.path())
        .arg("ls")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not an embarc archive"));
    // The repository's default folder (only .gitignore) lists as empty.
    let empty = tempfile::tempdir().expect("tempdir");
    std::fs::write(empty.path().join(".gitignore"), b"*\n").expect("write");
    embarc(empty.path())
        .arg("ls")
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty());
    assert!(Archive::open_or_create(empty.path()).is_ok());
}

#[test]
fn batched_small_objects_are_durable_and_published_together() {
    let (_dir, archive) = sample_archive();
    let mut batch = archive.batch();
    let digests: Vec<Digest> = (0..50)
        .map(|i| batch.put_bytes(&bytes(i, 1000 + i as usize)).expect("put"))
        .collect();
    assert!(
        digests.iter().all(|d| !archive.contains(d)),
        "nothing visible before commit"
    );
    let committed = batch.commit().expect("commit");
    assert_eq!(committed, digests);
    assert!(digests.iter().all(|d| archive.contains(d)));
    let report = verify::verify(&archive, 100.0, &|_| {}).expect("verify");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

// ---- multi-process writers ----

/// Runs only as a child process: writes objects (streamed in small reads) and
/// captures into `EMBARC_TEST_ARCHIVE` until killed or `EMBARC_TEST_COUNT`
/// objects are written, in an order shuffled by `EMBARC_TEST_SEED`.
/// Ignored: not a test of its own, the writer process [`spawn_writer`] starts
/// (with `--ignored`).
#[test]
#[ignore = "a child process of the multi-process tests, started by them"]
fn child_writer() {
    let dir = std::env::var_os("EMBARC_TEST_CHILD")
        .expect("child_writer runs only as a child of the multi-process tests (EMBARC_TEST_CHILD)");
    let archive = Archive::open_or_create(PathBuf::from(dir)).expect("archive");
    let seed: u64 = std::env::var("EMBARC_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let count: u64 = std::env::var("EMBARC_TEST_COUNT")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(u64::MAX);
    let t0 = time::macros::datetime!(2026-06-20 10:00:00 UTC);
    for i in 0..count {
        // Overlapping across children: object k is the same bytes in every child.
        let k = (i.wrapping_mul(7919) ^ seed) % 400;
        let data = bytes(k, (k as usize * 7717) % 300_000);
        let slow = SlowReader { data: &data, at: 0 };
        let (d, _) = archive.put_reader(slow).expect("put");
        assert!(archive.contains(&d));
        if k.is_multiple_of(10) {
            capture(
                &archive,
                1_000 + k,
                t0 + time::Duration::seconds(k as i64),
                "post",
            );
        }
    }
}

/// Hands out data a few KB at a time, like a network body.
struct SlowReader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Read for SlowReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(4096).min(self.data.len() - self.at);
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

fn spawn_writer(archive: &Path, seed: u64, count: Option<u64>) -> Child {
    let mut cmd = std::process::Command::new(std::env::current_exe().expect("test binary"));
    cmd.args([
        "--exact",
        "child_writer",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env("EMBARC_TEST_CHILD", archive)
    .env("EMBARC_TEST_SEED", seed.to_string())
    .stdout(Stdio::null())
    .stderr(Stdio::null());
    if let Some(n) = count {
        cmd.env("EMBARC_TEST_COUNT", n.to_string());
    }
    cmd.spawn().expect("spawn writer")
}

fn files_under(dir: &Path) -> usize {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .count()
}

fn assert_clean(archive: &Archive) {
    let report = verify::verify(archive, 100.0, &|_| {}).expect("verify");
    assert!(report.problems.is_empty(), "{:#?}", report.problems);
    assert!(report.objects_checked > 0);
}

#[test]
fn sigkill_mid_write_never_leaves_a_partial_object() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("archive");
    Archive::open_or_create(&root).expect("create");
    for round in 0..12u64 {
        let before = files_under(&root.join("objects")) + files_under(&root.join("tmp"));
        let mut child = spawn_writer(&root, round, None);
        // Kill at a different point each round: after 1 to 12 new files appear.
        let want = before + 1 + (round as usize % 12);
        let deadline = Instant::now() + Duration::from_secs(60);
        while files_under(&root.join("objects")) + files_under(&root.join("tmp")) < want {
            assert!(Instant::now() < deadline, "writer made no progress");
            assert!(
                child.try_wait().expect("wait").is_none(),
                "writer exited early"
            );
            std::thread::yield_now();
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let archive = Archive::open(&root).expect("open");
    assert_clean(&archive);
    // Only garbage in tmp/, which a later cleaner removes.
    archive.clean_tmp(Duration::ZERO).expect("clean");
    assert_eq!(files_under(&root.join("tmp")), 0);
    assert_clean(&archive);
}

#[test]
fn four_processes_writing_overlapping_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("archive");
    Archive::open_or_create(&root).expect("create");
    let children: Vec<Child> = (0..4).map(|s| spawn_writer(&root, s, Some(400))).collect();
    for mut c in children {
        assert!(c.wait().expect("wait").success(), "a writer failed");
    }
    let archive = Archive::open(&root).expect("open");
    assert_clean(&archive);
    // Every distinct content is stored exactly once, under its own name.
    let objects = verify::list_objects(&archive).expect("list");
    let mut names: Vec<String> = objects
        .iter()
        .map(|(p, _)| p.file_name().expect("name").to_string_lossy().into())
        .collect();
    let total = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), total);
    // 400 contents at most (some sizes repeat as 0), plus records and their media.
    let data: std::collections::HashSet<Digest> = (0..400u64)
        .map(|k| Digest::of(&bytes(k, (k as usize * 7717) % 300_000)))
        .collect();
    assert!(data.iter().all(|d| archive.contains(d)));
    assert_eq!(
        files_under(&root.join("tmp")),
        0,
        "no temp file left by clean exits"
    );
    embarc(&root)
        .args(["ls", "--json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("twitter:1000"));
}

#[test]
fn captures_added_later_are_listed_without_a_reindex() {
    let (dir, archive) = sample_archive();
    let archive_dir = dir.path().join("archive");
    embarc(&archive_dir).arg("ls").assert().code(0);
    capture(
        &archive,
        42,
        time::macros::datetime!(2026-07-01 00:00:00 UTC),
        "later",
    );
    embarc(&archive_dir)
        .args(["ls", "--json"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("{\"post\":\"twitter:42\""));
}

/// The typed listings: every post with its captures oldest first, from refs
/// alone, and one post's captures the same.
#[test]
fn posts_and_their_captures_are_listed_oldest_first() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Archive::open_or_create(dir.path().join("archive")).expect("create");
    let t0 = time::macros::datetime!(2026-06-20 10:00:00 UTC);
    let later = capture(&archive, 7, t0 + time::Duration::hours(2), "later");
    let earlier = capture(&archive, 7, t0, "earlier");
    let other = capture(&archive, 20, t0 + time::Duration::hours(1), "other");
    let posts = archive.posts().expect("posts");
    let listed: Vec<(String, Vec<Digest>)> = posts
        .iter()
        .map(|(p, ds)| (p.label(), ds.clone()))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("twitter:20".to_string(), vec![other]),
            ("twitter:7".to_string(), vec![earlier, later]),
        ]
    );
    assert_eq!(
        archive.capture_digests(&posts[1].0).expect("captures"),
        vec![earlier, later]
    );
}

#[test]
fn async_streams_are_hashed_while_written() {
    let (_dir, archive) = sample_archive();
    let data = bytes(5, 5 << 20);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (digest, n) = runtime
        .block_on(archive.put_stream(std::io::Cursor::new(data.clone())))
        .expect("put_stream");
    assert_eq!((digest, n), (Digest::of(&data), data.len() as u64));
    assert_eq!(archive.read_object(&digest, 10 << 20).expect("read"), data);
    assert_eq!(files_under(&archive.root().join("tmp")), 0);
}

#[test]
fn article_and_short_link_records_are_found_by_their_refs() {
    use embarc::store::record::{
        ARTICLE_SCHEMA, ArticleRecord, Hop, SHORT_LINK_SCHEMA, ShortLinkRecord,
    };
    let (_dir, archive) = sample_archive();
    let at = time::macros::datetime!(2026-06-20 10:00:00 UTC);
    let post = PostId::new(embarc::Provider::Twitter, "20");
    let article = ArticleRecord {
        schema: ARTICLE_SCHEMA.into(),
        article: "news/story.html".into(),
        archived_at: at,
        posts: vec![post.clone()],
        short_links: vec![],
        body: None,
        exchanges: vec![],
    };
    let d = archive.put_article(&article).expect("article");
    let all = archive.articles().expect("articles");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].as_ref().expect("read"), &article);
    assert_eq!(
        archive.article("news/story.html").expect("by name"),
        vec![article.clone()]
    );
    assert!(archive.article("news/other.html").expect("none").is_empty());
    assert_eq!(
        archive.read_json::<ArticleRecord>(&d).expect("read"),
        article
    );

    let first = ShortLinkRecord {
        schema: SHORT_LINK_SCHEMA.into(),
        short_link: "t.co/AbC".into(),
        resolved_at: at,
        hops: vec![Hop {
            url: "https://t.co/AbC".into(),
            status: 301,
            location: Some("https://twitter.com/jack/status/20".into()),
            at,
            user_agent: None,
        }],
        post: Some(post),
    };
    let kept = archive.put_short_link(&first).expect("short");
    let mut second = first.clone();
    second.resolved_at = at + time::Duration::days(1);
    assert_eq!(
        archive.put_short_link(&second).expect("again"),
        kept,
        "the first resolution stays"
    );
}

/// `--archive` naming a file: the OS error is printed once (not once in the
/// message and again as its cause), and the path given is named.
#[cfg(unix)]
#[test]
fn an_archive_that_is_a_file_prints_its_cause_once() {
    let out = embarc(Path::new("/etc/passwd"))
        .arg("ls")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("os error 20").count(), 1, "{err}");
    assert!(err.contains("/etc/passwd"), "{err}");
}

#[test]
fn verify_can_sample() {
    let (dir, archive) = sample_archive();
    let mut batch = archive.batch();
    for i in 0..1000 {
        batch.put_bytes(&bytes(1000 + i, 100)).expect("put");
    }
    batch.commit().expect("commit");
    // "embarc: CHECKED of TOTAL objects re-hashed …"
    let run = |percent: &str| -> (u64, u64) {
        let out = embarc(&dir.path().join("archive"))
            .args(["verify", "--sample", percent])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{err}");
        let words: Vec<&str> = err.split_whitespace().collect();
        let n = |i: usize| words.get(i).and_then(|w| w.parse().ok()).expect(&err);
        assert_eq!(words.get(2), Some(&"of"), "{err}");
        (n(1), n(3))
    };
    let (all, total) = run("100");
    assert!(total > 1000, "{total}");
    assert_eq!(all, total, "--sample 100 re-hashes every object");
    // Each object is drawn with probability 10%: of ~1,006 objects about 100
    // (standard deviation 9.5), so 50..=160 fails by chance about once in
    // ten million runs, while a sample of 1% or 20% fails it.
    let (checked, total) = run("10");
    assert!(
        (50..=160).contains(&checked),
        "{checked} of {total} for a 10% sample"
    );
    embarc(&dir.path().join("archive"))
        .args(["verify", "--sample", "0"])
        .assert()
        .code(2);
}

/// Readers list capture and article refs by name (`STAMP-HEX`) without
/// opening them, so a ref whose name says another digest than it holds must
/// be caught by `verify`, whichever kind of ref it is.
#[test]
fn a_ref_named_after_another_digest_is_named_by_verify() {
    let (dir, archive) = sample_archive();
    let archive_dir = dir.path().join("archive");
    let t0 = time::macros::datetime!(2026-06-20 10:00:00 UTC);
    let held = capture(&archive, 42, t0, "held");
    let other = capture(&archive, 43, t0, "other");
    let name = format!("20260620T100000.000000Z-{}", other.hex());
    archive
        .add_ref(&["articles", "0000", &name], &held)
        .expect("ref");
    embarc(&archive_dir).arg("verify").assert().code(1).stdout(
        predicate::str::contains(format!("named after {other} but holds {held}")).and(
            predicate::str::contains(format!("refs/articles/0000/{name}")),
        ),
    );
}

/// A capture ref to an object that is no record: `verify` names the object
/// once and says why, on one line.
#[test]
fn an_unreadable_record_is_named_once() {
    let (dir, archive) = sample_archive();
    let archive_dir = dir.path().join("archive");
    let junk = archive.put_bytes(b"not a record").expect("junk");
    let name = format!("20260620T100000.000000Z-{}", junk.hex());
    archive
        .add_ref(&["posts", "twitter", "99", &name], &junk)
        .expect("ref");
    let out = embarc(&archive_dir).arg("verify").output().expect("verify");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains(&junk.hex()))
        .unwrap_or_else(|| panic!("the object is named: {stdout}"));
    assert!(line.starts_with("unreadable: "), "{line}");
    assert_eq!(line.matches(&junk.hex()).count(), 1, "{line}");
    assert!(line.contains("unreadable record"), "{line}");
}

/// The good bytes of an object heal it: a corrupt file (a flipped byte, or
/// cut short) or a symlink in its place is replaced, atomically, by the next
/// writer of those bytes, through `put_bytes` and a batch alike.
#[test]
fn writing_an_objects_bytes_again_heals_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Archive::open_or_create(dir.path().join("a")).expect("archive");
    let good = bytes(7, 4000);
    let d = archive.put_bytes(&good).expect("put");
    let path = archive.object_path(&d);
    let damage: [&dyn Fn(&Path); 3] = [
        &|p| {
            let mut b = std::fs::read(p).expect("read");
            b[5] ^= 1;
            std::fs::write(p, b).expect("write");
        },
        &|p| std::fs::write(p, b"short").expect("write"),
        &|p| {
            std::fs::remove_file(p).expect("rm");
            std::os::unix::fs::symlink("/etc/hostname", p).expect("symlink");
        },
    ];
    for (i, spoil) in damage.iter().enumerate() {
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644));
        spoil(&path);
        assert!(!archive.is_intact(&d, good.len() as u64), "case {i}");
        if i % 2 == 0 {
            archive.put_bytes(&good).expect("put again");
        } else {
            let mut batch = archive.batch();
            batch.put_bytes(&good).expect("batch");
            batch.commit().expect("commit");
        }
        let meta = std::fs::symlink_metadata(&path).expect("object");
        assert!(meta.is_file(), "case {i}: still a link");
        assert_eq!(std::fs::read(&path).expect("read"), good, "case {i}");
    }
}

/// Cleaning `tmp/` removes only embarc's own stale temp files, and nothing
/// at all through a `tmp/` that is a symlink.
#[test]
fn cleaning_tmp_removes_only_embarcs_own_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("a");
    let archive = Archive::open_or_create(&root).expect("archive");
    let tmp = root.join("tmp");
    let old = |p: &Path| {
        std::fs::write(p, b"x").expect("plant");
        assert!(
            std::process::Command::new("touch")
                .args(["-d", "3 hours ago"])
                .arg(p)
                .status()
                .expect("touch")
                .success()
        );
    };
    for name in [".put-aaaaaa", ".ref-bbbbbb", "mine.txt"] {
        old(&tmp.join(name));
    }
    assert_eq!(archive.clean_tmp(store_stale()).expect("clean"), 2);
    assert!(tmp.join("mine.txt").exists());
    // tmp/ pointing out of the archive: nothing there is touched.
    std::fs::remove_dir_all(&tmp).expect("rm tmp");
    std::os::unix::fs::symlink("..", &tmp).expect("symlink");
    for name in [".put-cccccc", "notes.txt"] {
        old(&dir.path().join(name));
    }
    assert_eq!(archive.clean_tmp(store_stale()).expect("clean"), 0);
    assert!(dir.path().join(".put-cccccc").exists());
    assert!(dir.path().join("notes.txt").exists());
    // And a writer refuses the archive, naming the link.
    let err = Archive::open_or_create(&root).expect_err("refused");
    assert!(
        err.full_message().contains("symlink"),
        "{}",
        err.full_message()
    );
}

fn store_stale() -> Duration {
    embarc::store::STALE_TMP
}
