//! The `embarc scan` command line as scripts and people use it: the JSON lines
//! contract of docs/cli.md, inputs of every kind, warnings, errors and exit codes.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

const TWEET: &str = r#"<blockquote class="twitter-tweet"><p lang="en" dir="ltr">Owl bet you&#39;ll lose this staring contest 🦉 <a href="https://t.co/eJh4f2zncC">pic.twitter.com/eJh4f2zncC</a></p>&mdash; San Diego Zoo Wildlife Alliance (@sandiegozoo) <a href="https://twitter.com/sandiegozoo/status/1453110110599868418?ref_src=twsrc%5Etfw">October 26, 2021</a></blockquote>"#;

fn embarc() -> Command {
    Command::cargo_bin("embarc").expect("binary built")
}

fn lines(out: &[u8]) -> Vec<Value> {
    String::from_utf8(out.to_vec())
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> String {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, bytes).expect("write");
    p.display().to_string()
}

#[test]
fn json_lines_follow_the_contract() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = format!(
        "<html><head><meta charset=utf-8></head><body><p>Intro</p>\n{TWEET}\n</body></html>"
    );
    let path = write(dir.path(), "news/zoo.html", &page);
    let out = embarc()
        .args(["scan", "--json", &path])
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = lines(&out.stdout);
    assert_eq!(found.len(), 1);
    let e = &found[0];
    let mut keys: Vec<&str> = e
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "article",
            "form",
            "id",
            "line",
            "provider",
            "quote",
            "short_link",
            "span",
            "url"
        ]
    );
    assert_eq!(e["article"], path.as_str());
    assert_eq!(e["provider"], "twitter");
    assert_eq!(e["form"], "blockquote");
    assert_eq!(e["id"], "1453110110599868418");
    assert_eq!(
        e["url"],
        "https://twitter.com/sandiegozoo/status/1453110110599868418"
    );
    assert_eq!(e["short_link"], Value::Null);
    assert_eq!(e["line"], 2);
    let quote = &e["quote"];
    assert_eq!(quote["handle"], "sandiegozoo");
    assert_eq!(quote["author"], "San Diego Zoo Wildlife Alliance");
    assert_eq!(quote["date"], "October 26, 2021");
    assert_eq!(
        quote["text"],
        "Owl bet you'll lose this staring contest 🦉 pic.twitter.com/eJh4f2zncC"
    );
    // The span splices out exactly the embed, in the bytes on disk.
    let span: Vec<usize> = serde_json::from_value(e["span"].clone()).expect("span");
    assert_eq!(&page.as_bytes()[span[0]..span[1]], TWEET.as_bytes());
}

#[test]
fn global_options_work_before_or_after_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "a.html", TWEET);
    let before = embarc()
        .args(["--json", "scan", &path])
        .output()
        .expect("run");
    let after = embarc()
        .args(["scan", &path, "--json"])
        .output()
        .expect("run");
    assert!(before.status.success() && after.status.success());
    assert_eq!(before.stdout, after.stdout);
    assert_eq!(lines(&before.stdout).len(), 1);
}

#[test]
fn folders_are_walked_in_order_with_kinds_from_extension_or_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        "b/post.md",
        "# Post\n\n{{< tweet user=\"jack\" id=\"20\" >}}\n",
    );
    write(root, "a.html", TWEET);
    write(
        root,
        "c.txt",
        "Words pic.twitter.com/AbCdEf1234 — Jack (@jack) March 21, 2006\n",
    );
    write(
        root,
        "d",
        "<!doctype html><p>See <a href=\"https://x.com/jack/status/20\">this</a></p>",
    );
    write(
        root,
        "e.json",
        r#"{"url":"https://twitter.com/jack/status/20"}"#,
    );
    write(root, ".hidden/f.html", TWEET);
    let out = embarc()
        .args(["scan", "--json"])
        .arg(root)
        .output()
        .expect("run");
    assert!(out.status.success());
    let found = lines(&out.stdout);
    let got: Vec<(String, String)> = found
        .iter()
        .map(|e| {
            let a = e["article"].as_str().expect("article");
            let name = Path::new(a)
                .strip_prefix(root)
                .expect("under root")
                .display()
                .to_string();
            (name, e["form"].as_str().expect("form").to_string())
        })
        .collect();
    let want = [
        ("a.html", "blockquote"),
        ("b/post.md", "shortcode"),
        ("c.txt", "plain_text"),
        ("d", "link"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, f)| (a.to_string(), f.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn stdin_is_the_default_input_and_kind_can_be_forced() {
    let out = embarc()
        .args(["scan", "--json"])
        .write_stdin(TWEET)
        .output()
        .expect("run");
    assert!(out.status.success());
    let found = lines(&out.stdout);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["article"], "-");
    assert_eq!(found[0]["form"], "blockquote");

    // Read as plain text, the same bytes are a flattened post, not markup.
    let out = embarc()
        .args(["scan", "--json", "--kind", "text", "-"])
        .write_stdin(TWEET)
        .output()
        .expect("run");
    assert!(out.status.success(), "{out:?}");
    let found = lines(&out.stdout);
    // The post is still found (an empty list would pass an `all`), as a link.
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["form"], "link", "{found:?}");
    assert_eq!(found[0]["id"], "1453110110599868418", "{found:?}");
}

#[test]
fn binary_files_are_skipped_with_a_warning_naming_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let png = write(
        dir.path(),
        "photo.html",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR twitter.com/a/status/1",
    );
    let good = write(dir.path(), "good.html", TWEET);
    embarc()
        .args(["scan", "--json", &png, &good])
        .assert()
        .code(0)
        .stderr(predicate::str::contains("skipped").and(predicate::str::contains("photo.html")))
        .stdout(predicate::str::contains("1453110110599868418"));
}

#[test]
fn a_missing_file_fails_alone_and_sets_exit_code_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = write(dir.path(), "good.html", TWEET);
    let missing = dir.path().join("missing.html");
    embarc()
        .args(["scan", "--json"])
        .arg(&missing)
        .arg(&good)
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.html"))
        .stdout(predicate::str::contains("1453110110599868418"));
}

#[test]
fn article_urls_at_private_addresses_are_refused_by_name() {
    embarc()
        .args([
            "scan",
            "http://127.0.0.1:9/story.html",
            "http://169.254.169.254/latest/",
        ])
        .assert()
        .code(1)
        .stderr(
            predicate::str::contains("http://127.0.0.1:9/story.html")
                .and(predicate::str::contains("169.254.169.254"))
                .and(predicate::str::contains("refused")),
        );
}

#[test]
fn usage_errors_exit_2() {
    embarc()
        .args(["scan", "--kind", "pdf", "x"])
        .assert()
        .code(2);
    embarc().args(["frobnicate"]).assert().code(2);
}

#[test]
fn the_table_names_place_provider_form_and_post_and_a_summary_follows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(dir.path(), "zoo.html", format!("<p>x</p>\n\n{TWEET}"));
    embarc()
        .args(["scan", &path])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains(format!("{path}:3"))
                .and(predicate::str::contains("twitter"))
                .and(predicate::str::contains("blockquote"))
                .and(predicate::str::contains("1453110110599868418"))
                .and(predicate::str::contains("@sandiegozoo")),
        )
        .stderr(predicate::str::contains("1 embed in 1 of 1 article"));
    embarc()
        .args(["scan", "-q", &path])
        .assert()
        .code(0)
        .stderr(predicate::str::is_empty());
}

#[test]
fn terminal_control_characters_from_articles_are_not_printed_raw() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = write(
        dir.path(),
        "evil.txt",
        "Words pic.twitter.com/AbCdEf1234 — Evil\u{1b}[2J Name (@evil) March 21, 2006\n",
    );
    let out = embarc().args(["scan", &path]).output().expect("run");
    // The embed is printed (empty output or a crash would print no escape either).
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("pic.twitter.com/AbCdEf1234"), "{stdout}");
    assert!(
        !out.stdout.contains(&0x1b),
        "raw escape printed: {stdout:?}"
    );
    assert!(!out.stderr.contains(&0x1b), "raw escape on stderr");
}

#[test]
fn a_closed_pipe_ends_the_scan_quietly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let many: String = (0..20_000)
        .map(|i| format!("<a href=\"https://x.com/a/status/{i}\">p</a>\n"))
        .collect();
    let path = write(dir.path(), "many.html", many);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("embarc"))
        .args(["scan", "--json", &path])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read");
    assert!(first.contains("\"id\":\"0\""));
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Broken pipe"));
}

#[test]
fn bad_post_ids_and_numbers_are_usage_errors_that_store_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    for args in [
        &["add", "twitter:abc"][..],
        &["add", "twitter:123456789012345678901234"],
        &["add", "--rate", "1e-300", "twitter:20"],
        &["add", "--rate", "NaN", "twitter:20"],
        &["add", "--read-timeout", "NaN", "twitter:20"],
        &["archive", "--read-timeout", "-1", "x.html"],
        &["add", "--shard", "0/3", "twitter:20"],
    ] {
        let out = embarc()
            .arg("--archive")
            .arg(&archive)
            .args(args)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err.trim().lines().next().map(|l| l.len() < 200),
            Some(true),
            "{err}"
        );
        assert!(!archive.exists(), "{args:?} created the archive");
    }
}
