//! `embarc export` end to end: an archive filled by the real binary against
//! the fake X (`--mirror`), exported as WARC and WACZ, then checked with the
//! archivists' own tools (`warcio check`, `warcio index`, `wacz validate`)
//! and read back with a small WARC reader of our own: every media body must
//! be byte-identical to the archive's object, under its original URL.
//!
//! These tests need `warcio` and `wacz` on PATH (`pip install warcio wacz`);
//! without them they fail, they do not skip.

mod support;

use assert_cmd::Command;
use flate2::bufread::GzDecoder;
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use support::fake_x::{self, TOMBSTONE_ID};

const PHOTO_POST: &str = "1641086480675225601";
const PHOTO_URL: &str = "https://twitter.com/SamuelSusla/status/1641086480675225601";
const SHORT_LINK: &str = "https://t.co/rQd6FIwZ0U";

struct Env {
    dir: tempfile::TempDir,
    archive: PathBuf,
    server: support::Server,
    /// The article file as `embarc archive` was given it.
    article: String,
    synthetic: String,
}

/// Runs the real binary with the test archive and the fake X's mirrors.
fn embarc(env: &Env, args: &[&str]) -> std::process::Output {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.arg("--archive").arg(&env.archive);
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    cmd.args(args).output().expect("run embarc")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// An archive holding a post with photos (also reached by a short link), a
/// tombstone, and a synthetic post cited by an article.
async fn filled() -> Env {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let server = fake_x::start().await;
    let article_path = dir.path().join("story.html");
    let synthetic = fake_x::synthetic_id(1);
    std::fs::write(
        &article_path,
        format!(r#"<blockquote class="twitter-tweet"><p>x</p>&mdash; S (@synthetic) <a href="https://twitter.com/synthetic/status/{synthetic}">June 20, 2024</a></blockquote>"#),
    )
    .expect("write article");
    let env = Env {
        article: article_path.to_string_lossy().into_owned(),
        dir,
        archive,
        server,
        synthetic,
    };
    tokio::task::block_in_place(|| {
        let tomb = format!("https://x.com/someone/status/{TOMBSTONE_ID}");
        let out = embarc(&env, &["add", PHOTO_URL, SHORT_LINK, &tomb]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let out = embarc(&env, &["archive", &env.article]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    });
    env
}

/// Fails (never skips) when the archivists' tools are missing.
fn require(tool: &str) {
    let ok = std::process::Command::new(tool)
        .arg("--help")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "`{tool}` is not on PATH: these tests check exports with the archivists' tools; run `pip install warcio wacz`"
    );
}

fn tool(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}; run `pip install warcio wacz`", args[0]));
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// Exports with `args` (plus `--json`); returns exit code, JSON lines, stderr.
fn export(env: &Env, args: &[&str]) -> (Option<i32>, Vec<Value>, String) {
    let mut all = vec!["export", "--json"];
    all.extend_from_slice(args);
    let out = tokio::task::block_in_place(|| embarc(env, &all));
    let lines = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (out.status.code(), lines, text(&out.stderr))
}

/// One WARC record read back: its gzip member's offset, header fields, block.
#[derive(Debug, Clone)]
struct Record {
    offset: usize,
    member: Vec<u8>,
    fields: Vec<(String, String)>,
    block: Vec<u8>,
}

impl Record {
    fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn kind(&self) -> &str {
        self.get("WARC-Type").unwrap_or("")
    }

    fn target(&self) -> &str {
        self.get("WARC-Target-URI").unwrap_or("")
    }

    /// The HTTP payload of a response (after the head's blank line).
    fn payload(&self) -> &[u8] {
        let end = self
            .block
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("HTTP head");
        &self.block[end + 4..]
    }

    fn status(&self) -> u16 {
        text(&self.block)
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// Our own small reader: one gzip member per record, each a whole record
/// (`WARC/1.1`, fields, blank line, Content-Length bytes, `\r\n\r\n`).
fn read_warc(path: &Path) -> Vec<Record> {
    let bytes = std::fs::read(path).expect("read WARC");
    let mut rest: &[u8] = &bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let offset = bytes.len() - rest.len();
        let mut gz = GzDecoder::new(rest);
        let mut record = Vec::new();
        gz.read_to_end(&mut record).expect("gzip member");
        rest = gz.into_inner();
        let member = bytes[offset..bytes.len() - rest.len()].to_vec();
        let split = record
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("header end")
            + 4;
        let head = text(&record[..split]);
        let mut lines = head.split("\r\n");
        assert_eq!(lines.next(), Some("WARC/1.1"), "at offset {offset}");
        let fields: Vec<(String, String)> = lines
            .filter(|l| !l.is_empty())
            .map(|l| {
                let (k, v) = l.split_once(": ").expect("field");
                (k.to_string(), v.to_string())
            })
            .collect();
        let len: usize = fields
            .iter()
            .find(|(k, _)| k == "Content-Length")
            .and_then(|(_, v)| v.parse().ok())
            .expect("Content-Length");
        assert_eq!(
            record.len(),
            split + len + 4,
            "Content-Length exact at offset {offset}"
        );
        assert_eq!(&record[split + len..], b"\r\n\r\n");
        out.push(Record {
            offset,
            member,
            fields,
            block: record[split..split + len].to_vec(),
        });
    }
    out
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `show --json POST`: the post's captures.
fn show(env: &Env, post: &str) -> Vec<Value> {
    let out = tokio::task::block_in_place(|| embarc(env, &["show", "--json", post]));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

fn object_path(env: &Env, digest: &str) -> PathBuf {
    let hex = digest.trim_start_matches("sha256:");
    env.archive.join("objects/sha256").join(&hex[..2]).join(hex)
}

#[tokio::test(flavor = "multi_thread")]
async fn warc_passes_warcio_check_and_its_index_lists_original_urls() {
    require("warcio");
    let env = filled().await;
    let file = env.dir.path().join("out/all.warc.gz");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
    let f = file.to_string_lossy().into_owned();
    let (code, lines, err) = export(&env, &["--warc", &f]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines.len(), 1, "one summary: {lines:?}");
    let s = &lines[0];
    assert_eq!(s["format"], "warc");
    assert_eq!(s["file"], f.as_str());
    assert_eq!(s["posts"], 3, "{s}");
    let bytes = std::fs::read(&file).expect("WARC");
    assert_eq!(s["bytes"], bytes.len() as u64);
    assert_eq!(s["sha256"], format!("sha256:{}", sha256_hex(&bytes)));
    assert!(err.contains("wrote"), "one-line summary: {err}");

    let (ok, out) = tool(&["warcio", "check", "-v", &f]);
    println!("warcio check -v:\n{out}");
    assert!(ok, "warcio check failed:\n{out}");
    assert!(out.contains("digest pass"), "{out}");
    assert!(!out.contains("failed"), "{out}");

    let (ok, index) = tool(&[
        "warcio",
        "index",
        "-f",
        "warc-type,warc-target-uri,http:status,offset,length",
        &f,
    ]);
    println!("warcio index:\n{index}");
    assert!(ok, "{index}");
    let entries: Vec<Value> = index
        .lines()
        .map(|l| serde_json::from_str(l).expect("index line"))
        .collect();
    let responses: Vec<&str> = entries
        .iter()
        .filter(|e| e["warc-type"] == "response")
        .filter_map(|e| e["warc-target-uri"].as_str())
        .collect();
    assert!(
        responses.iter().any(|u| u.starts_with(&format!(
            "https://cdn.syndication.twimg.com/tweet-result?id={PHOTO_POST}"
        ))),
        "syndication URL under its original host: {responses:?}"
    );
    for line in show(&env, &format!("twitter:{PHOTO_POST}")) {
        for m in line["media"].as_array().expect("media") {
            let url = m["url"].as_str().expect("url");
            assert!(url.starts_with("https://pbs.twimg.com/"), "{url}");
            assert!(
                responses.contains(&url),
                "media {url} indexed: {responses:?}"
            );
        }
    }
    assert!(
        !index.contains("127.0.0.1"),
        "no mirror URL in the index:\n{index}"
    );
    assert!(entries.iter().any(|e| e["warc-type"] == "warcinfo"));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_media_body_reads_back_byte_identical_to_its_object() {
    let env = filled().await;
    let file = env.dir.path().join("all.warc.gz");
    let f = file.to_string_lossy().into_owned();
    let (code, lines, err) = export(&env, &["--warc", &f]);
    assert_eq!(code, Some(0), "{err}");
    let records = read_warc(&file);
    assert_eq!(lines[0]["records"], records.len() as u64);
    assert_eq!(records[0].kind(), "warcinfo");
    let mut checked = 0;
    for post in [
        format!("twitter:{PHOTO_POST}"),
        format!("twitter:{}", env.synthetic),
    ] {
        for capture in show(&env, &post) {
            for m in capture["media"].as_array().expect("media") {
                let url = m["url"].as_str().expect("url");
                let digest = m["digest"].as_str().expect("digest");
                let r = records
                    .iter()
                    .find(|r| r.kind() == "response" && r.target() == url)
                    .unwrap_or_else(|| panic!("no response record for {url}"));
                let body = r.payload();
                assert_eq!(format!("sha256:{}", sha256_hex(body)), digest, "{url}");
                assert_eq!(
                    body,
                    std::fs::read(object_path(&env, digest)).expect("object")
                );
                assert_eq!(r.get("WARC-Payload-Digest"), Some(digest));
                assert_eq!(
                    r.get("WARC-Block-Digest"),
                    Some(format!("sha256:{}", sha256_hex(&r.block)).as_str())
                );
                checked += 1;
            }
        }
    }
    assert!(
        checked >= 4,
        "avatar, photo and two synthetic photos: {checked}"
    );
    // Every response has its request, each pointing at the other.
    for r in records.iter().filter(|r| r.kind() == "response") {
        let req = records
            .iter()
            .find(|q| q.get("WARC-Record-ID") == r.get("WARC-Concurrent-To"))
            .unwrap_or_else(|| panic!("no request for {}", r.target()));
        assert_eq!(req.kind(), "request");
        assert_eq!(req.get("WARC-Concurrent-To"), r.get("WARC-Record-ID"));
        assert_eq!(req.target(), r.target());
        assert!(
            text(&req.block).starts_with("GET /"),
            "{}",
            text(&req.block)
        );
        assert!(!text(&req.block).contains("127.0.0.1"));
        assert!(!r.target().contains("127.0.0.1"));
    }
    // Short-link hops are their own 3xx responses; the tombstone capture is
    // there as a metadata record pointing at its post.
    let hop = records
        .iter()
        .find(|r| r.kind() == "response" && r.target() == SHORT_LINK)
        .expect("the short link's hop");
    assert_eq!(hop.status(), 301);
    assert!(text(&hop.block).contains(&format!("location: {PHOTO_URL}/photo/1\r\n")));
    let tomb = records
        .iter()
        .find(|r| r.kind() == "metadata" && r.target().ends_with(TOMBSTONE_ID))
        .expect("tombstone capture as metadata");
    let record: Value = serde_json::from_slice(&tomb.block).expect("capture JSON");
    assert_eq!(record["outcome"], "tombstone");
    assert_eq!(
        tomb.get("WARC-Block-Digest"),
        Some(format!("sha256:{}", sha256_hex(&tomb.block)).as_str())
    );
    // The metadata target is the post's URL, never a mirror.
    for m in records.iter().filter(|r| r.kind() == "metadata") {
        assert!(m.target().starts_with("https://"), "{}", m.target());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn two_exports_differ_only_in_the_warcinfo_id_and_date() {
    let env = filled().await;
    let (a, b) = (env.dir.path().join("a"), env.dir.path().join("b"));
    for d in [&a, &b] {
        std::fs::create_dir_all(d).expect("mkdir");
        let f = d.join("x.warc.gz").to_string_lossy().into_owned();
        let (code, _, err) = export(&env, &["--warc", &f]);
        assert_eq!(code, Some(0), "{err}");
    }
    let (ra, rb) = (
        read_warc(&a.join("x.warc.gz")),
        read_warc(&b.join("x.warc.gz")),
    );
    assert_eq!(ra.len(), rb.len());
    let strip = |r: &Record| -> Vec<(String, String)> {
        r.fields
            .iter()
            .filter(|(k, _)| k != "WARC-Record-ID" && k != "WARC-Date")
            .cloned()
            .collect()
    };
    assert_eq!(strip(&ra[0]), strip(&rb[0]));
    assert_eq!(ra[0].block, rb[0].block);
    assert_ne!(ra[0].get("WARC-Record-ID"), rb[0].get("WARC-Record-ID"));
    for (x, y) in ra.iter().zip(&rb).skip(1) {
        assert_eq!(x.member, y.member, "record at {} differs", x.offset);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn wacz_passes_wacz_validate() {
    require("wacz");
    let env = filled().await;
    let file = env.dir.path().join("all.wacz");
    let w = file.to_string_lossy().into_owned();
    let warc = env.dir.path().join("also.warc.gz");
    let f = warc.to_string_lossy().into_owned();
    let (code, lines, err) = export(&env, &["--wacz", &w, "--warc", &f]);
    assert_eq!(code, Some(0), "{err}");
    let formats: Vec<&str> = lines.iter().filter_map(|l| l["format"].as_str()).collect();
    assert_eq!(formats, ["warc", "wacz"]);
    let (ok, out) = tool(&["wacz", "validate", "-f", &w]);
    println!("wacz validate:\n{out}");
    assert!(
        ok && out.contains("is valid"),
        "wacz validate failed:\n{out}"
    );
    // The WACZ's index and pages, read with Python's zipfile.
    let script = "import sys, zipfile, json\n\
z = zipfile.ZipFile(sys.argv[1])\n\
assert z.getinfo('archive/data.warc.gz').compress_type == zipfile.ZIP_STORED\n\
import gzip\nprint(gzip.decompress(z.read('indexes/index.cdx.gz')).decode())\n\
print(z.read('pages/pages.jsonl').decode())\n";
    let (ok, listing) = tool(&["python3", "-c", script, &w]);
    assert!(ok, "{listing}");
    assert!(listing.contains("com,twimg,pbs)/"), "{listing}");
    assert!(
        listing.contains("\"format\": \"json-pages-1.0\"")
            || listing.contains("\"format\":\"json-pages-1.0\""),
        "{listing}"
    );
    assert!(listing.contains(PHOTO_URL), "a page per post: {listing}");
    assert!(!listing.contains("127.0.0.1"), "{listing}");
}

#[tokio::test(flavor = "multi_thread")]
async fn post_and_article_filters_export_only_what_they_name() {
    let env = filled().await;
    let file = env.dir.path().join("one.warc.gz");
    let f = file.to_string_lossy().into_owned();
    let (code, lines, err) = export(&env, &["--warc", &f, "--post", SHORT_LINK]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines[0]["posts"], 1);
    assert_eq!(lines[0]["captures"], 1);
    // Counts take the number they count, on stderr (JSON keeps its keys).
    assert!(err.contains(", 1 post (1 capture), "), "singular: {err}");
    assert!(
        !err.contains("1 posts") && !err.contains("1 captures"),
        "{err}"
    );
    let records = read_warc(&file);
    assert!(
        records.iter().any(|r| r.target() == SHORT_LINK),
        "its short link"
    );
    assert!(!records.iter().any(|r| r.target().contains(TOMBSTONE_ID)));
    assert!(!records.iter().any(|r| r.target().contains(&env.synthetic)));

    let (code, lines, err) = export(&env, &["--warc", &f, "--article", &env.article]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines[0]["posts"], 1);
    let records = read_warc(&file);
    assert!(records.iter().any(|r| r.target().contains(&env.synthetic)));
    assert!(!records.iter().any(|r| r.target().contains(PHOTO_POST)));

    // Some named items unknown: the rest is exported, exit 1, each named.
    let (code, lines, err) = export(
        &env,
        &[
            "--warc",
            &f,
            "--post",
            "twitter:42",
            "--post",
            PHOTO_URL,
            "--article",
            "nope.html",
        ],
    );
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("twitter:42") && err.contains("nope.html"),
        "{err}"
    );
    assert_eq!(lines[0]["posts"], 1);
    assert_eq!(lines[0]["unknown"].as_array().map(Vec::len), Some(2));

    // Nothing known: exit 2 and no file.
    let none = env.dir.path().join("none.warc.gz");
    let n = none.to_string_lossy().into_owned();
    let (code, _, err) = export(&env, &["--warc", &n, "--post", "twitter:42"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("twitter:42"), "{err}");
    assert!(!none.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_corrupt_object_fails_the_export_and_writes_no_file() {
    let env = filled().await;
    let capture = &show(&env, &format!("twitter:{PHOTO_POST}"))[0];
    let digest = capture["media"][0]["digest"].as_str().expect("digest");
    let path = object_path(&env, digest);
    let mut bytes = std::fs::read(&path).expect("object");
    bytes[0] ^= 0xff;
    // Objects are read-only: replace the file rather than write into it.
    std::fs::remove_file(&path).expect("rm");
    std::fs::write(&path, bytes).expect("corrupt");
    let out_dir = env.dir.path().join("out");
    std::fs::create_dir_all(&out_dir).expect("mkdir");
    let f = out_dir.join("x.warc.gz").to_string_lossy().into_owned();
    let w = out_dir.join("x.wacz").to_string_lossy().into_owned();
    let (code, lines, err) = export(&env, &["--warc", &f, "--wacz", &w]);
    assert_eq!(code, Some(1), "{err}");
    assert!(lines.is_empty());
    assert!(err.contains("embarc verify"), "{err}");
    assert!(err.contains(&digest[7..]), "names the object: {err}");
    let left: Vec<_> = std::fs::read_dir(&out_dir).expect("dir").collect();
    assert!(left.is_empty(), "no file, no temp file: {left:?}");
}

/// A capture record deleted (a partial restore): that post is left out and
/// named, every other one is exported, exit 1.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_capture_record_leaves_out_its_post_only() {
    require("warcio");
    let env = filled().await;
    let tomb = format!("twitter:{TOMBSTONE_ID}");
    let record = show(&env, &tomb)[0]["capture"]
        .as_str()
        .expect("capture")
        .to_string();
    std::fs::remove_file(object_path(&env, &record)).expect("rm record");
    let file = env.dir.path().join("all.warc.gz");
    let f = file.to_string_lossy().into_owned();
    let w = env
        .dir
        .path()
        .join("all.wacz")
        .to_string_lossy()
        .into_owned();
    let (code, lines, err) = export(&env, &["--warc", &f, "--wacz", &w]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(lines.len(), 2, "both files written: {lines:?}");
    for line in &lines {
        assert_eq!(line["posts"], 2, "{line}");
        let skipped = line["skipped"].as_array().expect("skipped");
        assert_eq!(skipped.len(), 1, "{line}");
        assert_eq!(skipped[0]["post"], tomb.as_str());
        assert_eq!(skipped[0]["record"], record.as_str());
        assert_eq!(skipped[0]["digest"], record.as_str());
        assert!(skipped[0]["reason"].as_str().is_some_and(|r| !r.is_empty()));
    }
    println!("stderr:\n{err}");
    let named: Vec<&str> = err.lines().filter(|l| l.contains(&tomb)).collect();
    assert_eq!(named.len(), 1, "one line names it: {err}");
    assert!(named[0].contains(&record[7..]), "{err}");
    assert!(named[0].contains("embarc verify --repair"), "{err}");

    let (ok, out) = tool(&["warcio", "check", "-v", &f]);
    assert!(ok && !out.contains("failed"), "warcio check:\n{out}");
    let records = read_warc(&file);
    assert!(records.iter().any(|r| r.target().contains(PHOTO_POST)));
    assert!(records.iter().any(|r| r.target().contains(&env.synthetic)));
    assert!(!records.iter().any(|r| r.target().contains(TOMBSTONE_ID)));
    let (ok, out) = tool(&["wacz", "validate", "-f", &w]);
    assert!(ok, "wacz validate:\n{out}");

    // A short link's record gone too: it is left out and named the same way.
    let link = std::fs::read_to_string(env.archive.join("refs/short/t.co/rQd6FIwZ0U"))
        .expect("short-link ref");
    let link = link.trim();
    let link = if link.starts_with("sha256:") {
        link.to_string()
    } else {
        format!("sha256:{link}")
    };
    std::fs::remove_file(object_path(&env, &link)).expect("rm short-link record");
    let (code, lines, err) = export(&env, &["--warc", &f]);
    assert_eq!(code, Some(1), "{err}");
    let skipped = lines[0]["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 2, "{}", lines[0]);
    assert!(
        skipped
            .iter()
            .any(|s| s["post"] == "t.co/rQd6FIwZ0U" && s["digest"] == link.as_str()),
        "{}",
        lines[0]
    );
    assert!(err.contains("t.co/rQd6FIwZ0U"), "{err}");
    let records = read_warc(&file);
    assert!(!records.iter().any(|r| r.target() == SHORT_LINK));
    assert!(records.iter().any(|r| r.target().contains(PHOTO_POST)));
    // Named by that short link, the post is an item the export cannot find.
    let (code, _, err) = export(&env, &["--warc", &f, "--post", SHORT_LINK]);
    assert_eq!(code, Some(2), "nothing left: {err}");
    assert!(
        err.contains(SHORT_LINK) && err.contains("embarc verify --repair"),
        "{err}"
    );
}

/// A body object missing: the whole archive's export leaves out that capture
/// (none of its records) and names it; an export of that post fails.
#[tokio::test(flavor = "multi_thread")]
async fn a_missing_body_leaves_out_its_capture_but_fails_a_named_post() {
    let env = filled().await;
    let capture = &show(&env, &format!("twitter:{PHOTO_POST}"))[0];
    let record = capture["capture"].as_str().expect("capture").to_string();
    let media = capture["media"][0]["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    let media_url = capture["media"][0]["url"]
        .as_str()
        .expect("url")
        .to_string();
    std::fs::remove_file(object_path(&env, &media)).expect("rm body");
    let file = env.dir.path().join("all.warc.gz");
    let f = file.to_string_lossy().into_owned();
    let (code, lines, err) = export(&env, &["--warc", &f]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(lines[0]["posts"], 2, "{}", lines[0]);
    let skipped = lines[0]["skipped"].as_array().expect("skipped");
    assert_eq!(skipped.len(), 1, "{}", lines[0]);
    assert_eq!(skipped[0]["post"], format!("twitter:{PHOTO_POST}"));
    assert_eq!(skipped[0]["record"], record.as_str());
    assert_eq!(skipped[0]["digest"], media.as_str());
    println!("stderr:\n{err}");
    assert!(
        err.contains(&media[7..]) && err.contains("embarc verify --repair"),
        "{err}"
    );
    let records = read_warc(&file);
    assert!(
        !records.iter().any(|r| r.target() == media_url),
        "no record of it"
    );
    assert!(!records.iter().any(|r| r.target().contains(PHOTO_POST)));
    assert!(records.iter().any(|r| r.target().contains(TOMBSTONE_ID)));

    let one = env.dir.path().join("one.warc.gz");
    let o = one.to_string_lossy().into_owned();
    let (code, lines, err) = export(&env, &["--warc", &o, "--post", PHOTO_URL]);
    assert_eq!(code, Some(1), "{err}");
    assert!(lines.is_empty(), "{lines:?}");
    assert!(
        err.contains("no file written") && err.contains(&media[7..]),
        "{err}"
    );
    assert!(!one.exists());
}

#[test]
fn an_empty_archive_has_nothing_to_export() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A folder with no archive in it yet reads as an empty archive (a
    // missing one is an error: tests/permissions.rs).
    std::fs::create_dir(dir.path().join("archive")).expect("mkdir");
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .arg("--archive")
        .arg(dir.path().join("archive"))
        .args(["export", "--warc"])
        .arg(dir.path().join("x.warc.gz"))
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("nothing to export"));
    assert!(!dir.path().join("x.warc.gz").exists());

    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .args(["export"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2), "--warc or --wacz is required");
}

/// The fake X gzips its JSON answers (as X does for a client that accepts
/// gzip) and embarc stores bodies as received: a WARC reader (pywb, warcio)
/// decodes them only if the record's HTTP head still says `content-encoding`.
#[tokio::test(flavor = "multi_thread")]
async fn compressed_answers_keep_their_content_encoding_in_the_warc() {
    let env = filled().await;
    let file = env.dir.path().join("enc.warc.gz");
    let f = file.to_string_lossy().into_owned();
    let (code, _, err) = export(&env, &["--warc", &f]);
    assert_eq!(code, Some(0), "{err}");
    let mut gzipped = 0;
    for r in read_warc(&file).iter().filter(|r| r.kind() == "response") {
        let head = text(&r.block[..r.block.len() - r.payload().len()]).to_ascii_lowercase();
        let says_gzip = head.contains("\r\ncontent-encoding: gzip\r\n");
        let is_gzip = r.payload().starts_with(&[0x1f, 0x8b]);
        let is_json = head.contains("\r\ncontent-type: application/json");
        if is_json {
            assert_eq!(
                says_gzip,
                is_gzip,
                "{}: the head does not describe the body:\n{head}",
                r.target()
            );
        }
        if says_gzip && is_json {
            let mut json = Vec::new();
            GzDecoder::new(r.payload())
                .read_to_end(&mut json)
                .expect("gunzip");
            serde_json::from_slice::<Value>(&json)
                .unwrap_or_else(|e| panic!("{}: {e}", r.target()));
            gzipped += 1;
        }
    }
    assert!(gzipped >= 2, "syndication and oEmbed answers came gzipped");
}
