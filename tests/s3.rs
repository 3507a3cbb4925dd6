//! An archive in S3-compatible object storage (issue 7) end to end: the real
//! binary with `--archive s3://BUCKET/PREFIX` against a real `moto_server` on
//! 127.0.0.1 (tests/support/s3.rs) and the fake X (`--mirror`). Every command
//! that works on a folder works on the bucket: add, archive, ls, show, render,
//! export, verify, reindex; two processes archiving into one bucket at once
//! lose nothing. The tests look at the bucket itself the way a user would:
//! every key under `objects/` is the SHA-256 of its bytes, every ref names an
//! object that is there.
//!
//! These tests need `moto_server` (`pip install 'moto[server]'`), and the export
//! test `warcio` and `wacz` (`pip install warcio wacz`), on PATH; without them
//! they fail, they do not skip. The index is always a file in the test's own
//! folder (`--index`, or `XDG_CACHE_HOME`/`HOME` pointed there): no test
//! touches the user's cache or credentials.

mod support;

use scraper::{Html, Selector};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::bucket::{Bucket, Kind};
use support::fake_x;
use support::s3::{self, S3};

/// A post with a photo (avatar and photo: 2 media).
const PHOTO: &str = "1641086480675225601";
/// A post quoting another (the quoted post gets its own capture).
const QUOTES: &str = "1641895049427550208";
/// A post with a video.
const VIDEO: &str = "1684218600456876032";
/// The prefix most tests archive under.
const PREFIX: &str = "news";

struct Env {
    dir: tempfile::TempDir,
    bucket: Bucket,
    server: support::Server,
}

/// A test on moto's S3.
async fn env() -> Env {
    env_on(Kind::S3).await
}

/// A test on a store of `kind`, with the fake X.
async fn env_on(kind: Kind) -> Env {
    let server = fake_x::start().await;
    let bucket = tokio::task::block_in_place(|| Bucket::start(kind));
    Env {
        dir: tempfile::tempdir().expect("tempdir"),
        bucket,
        server,
    }
}

/// Runs each named test body (an `async fn(Kind)`) once per store, as the
/// tests `NAME::s3` and `NAME::azure`: one body, every backend.
macro_rules! on_each_store {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn s3() {
                super::$name(super::Kind::S3).await
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn azure() {
                super::$name(super::Kind::Azure).await
            }
        }
    )*};
}

on_each_store!(
    posts_added_to_a_bucket_are_listed_shown_and_verified,
    an_article_renders_from_the_bucket_with_its_media_local,
    warc_and_wacz_exported_from_the_bucket_pass_the_archivists_tools,
    a_corrupt_object_in_the_bucket_is_named_by_verify,
    a_prefix_holding_other_files_is_refused,
    two_machines_archiving_overlapping_articles_at_once_lose_nothing,
    a_missing_bucket_is_named,
);

impl Env {
    /// `s3://BUCKET/news` (or `az://CONTAINER/news`).
    fn archive(&self) -> String {
        self.bucket.url(PREFIX)
    }

    /// The moto server of an S3-only test.
    fn s3(&self) -> &std::sync::Arc<S3> {
        match &self.bucket {
            Bucket::S3(s3) => s3,
            _ => panic!("an S3-only test on another store"),
        }
    }

    /// The index file of one "machine", in the test's folder.
    fn index(&self, machine: &str) -> PathBuf {
        self.dir.path().join(format!("{machine}.sqlite"))
    }
}

/// What a run of the binary gave.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// stdout as JSON lines.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    /// Asserts exit 0 and returns self.
    fn ok(self, what: &str) -> Run {
        assert_eq!(
            self.code,
            Some(0),
            "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
}

/// The binary with this test's S3 environment and fake X, in the test's
/// folder, with `--archive`/`--index` when given. The default index location
/// (`XDG_CACHE_HOME`, `HOME`) points into the test's folder too, so even a
/// binary that ignored `--index` could not touch the user's cache.
fn command(env: &Env, archive: Option<&str>, index: Option<&Path>) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
    for name in Bucket::foreign_env() {
        cmd.env_remove(name);
    }
    cmd.envs(env.bucket.env())
        .env("XDG_CACHE_HOME", env.dir.path().join("cache"))
        .env("HOME", env.dir.path().join("home"))
        .current_dir(env.dir.path());
    if let Some(a) = archive {
        cmd.arg("--archive").arg(a);
    }
    if let Some(i) = index {
        cmd.arg("--index").arg(i);
    }
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    cmd
}

/// `embarc --archive s3://BUCKET/news --index DIR/MACHINE.sqlite ARGS…`.
fn embarc_on(env: &Env, machine: &str, args: &[&str]) -> Run {
    let out = command(env, Some(&env.archive()), Some(&env.index(machine)))
        .args(args)
        .output()
        .expect("run embarc");
    Run::from(out)
}

/// [`embarc_on`] from machine "a".
fn embarc(env: &Env, args: &[&str]) -> Run {
    embarc_on(env, "a", args)
}

fn by_post<'a>(lines: &'a [Value], post: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["post"] == post)
        .unwrap_or_else(|| panic!("no line for {post}: {lines:?}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// `PREFIX/objects/sha256/ab/ab…` for a hex digest or `sha256:…`.
fn object_key(prefix: &str, digest: &str) -> String {
    let hex = digest.trim_start_matches("sha256:");
    format!("{prefix}/objects/sha256/{}/{hex}", &hex[..2])
}

/// What `sha256sum` would say of the bucket: every key under
/// `PREFIX/objects/` is `objects/sha256/<first two hex>/<64 hex>` and its bytes
/// hash to that name. Returns the digests.
fn assert_objects_named_by_content(s3: &Bucket, prefix: &str) -> BTreeSet<String> {
    let mut digests = BTreeSet::new();
    for key in s3.list(&format!("{prefix}/objects/")) {
        let rest = key
            .strip_prefix(&format!("{prefix}/objects/sha256/"))
            .unwrap_or_else(|| panic!("{key}: not under objects/sha256/"));
        let (fan, hex) = rest
            .split_once('/')
            .unwrap_or_else(|| panic!("{key}: not objects/sha256/ab/<hex>"));
        assert!(
            hex.len() == 64
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{key}: not a lower-case sha256 name"
        );
        assert_eq!(fan, &hex[..2], "{key}: fan-out folder");
        let bytes = s3
            .get(&key)
            .unwrap_or_else(|| panic!("{key} listed but gone"));
        assert_eq!(sha256_hex(&bytes), hex, "{key}: its bytes hash elsewhere");
        digests.insert(hex.to_string());
    }
    assert!(!digests.is_empty(), "no object under {prefix}/objects/");
    digests
}

/// Every key under `PREFIX/refs/` holds `sha256:<hex>\n` naming an object
/// in the bucket; capture refs are `posts/twitter/<ID>/<STAMP>-<hex>` with
/// the same hex. Returns the capture digests of each post id.
fn assert_refs_point_at_objects(
    s3: &Bucket,
    prefix: &str,
    objects: &BTreeSet<String>,
) -> BTreeMap<String, Vec<String>> {
    let mut posts: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let refs = s3.list(&format!("{prefix}/refs/"));
    assert!(!refs.is_empty(), "no ref under {prefix}/refs/");
    for key in refs {
        let body = s3
            .get(&key)
            .unwrap_or_else(|| panic!("{key} listed but gone"));
        let body = String::from_utf8(body).unwrap_or_else(|_| panic!("{key}: not UTF-8"));
        let hex = body
            .strip_prefix("sha256:")
            .and_then(|b| b.strip_suffix('\n'))
            .unwrap_or_else(|| panic!("{key}: {body:?} is not `sha256:<hex>\\n`"));
        assert!(
            objects.contains(hex),
            "{key} points at sha256:{hex}, which is not in the bucket"
        );
        if let Some(rest) = key.strip_prefix(&format!("{prefix}/refs/posts/twitter/")) {
            let (id, name) = rest
                .split_once('/')
                .unwrap_or_else(|| panic!("{key}: not posts/twitter/<ID>/<STAMP>-<hex>"));
            assert!(
                name.ends_with(&format!("-{hex}")),
                "{key}: the name does not end with its target {hex}"
            );
            posts
                .entry(id.to_string())
                .or_default()
                .push(hex.to_string());
        }
    }
    posts
}

/// No write left in flight under `PREFIX/tmp/`, no index in the bucket.
fn assert_nothing_stray(s3: &Bucket, prefix: &str) {
    let tmp = s3.list(&format!("{prefix}/tmp/"));
    assert!(tmp.is_empty(), "writes left in flight: {tmp:?}");
    let all = s3.list(&format!("{prefix}/"));
    assert!(
        !all.iter().any(|k| k.contains(".sqlite")),
        "the index is a local cache, not a bucket key: {all:?}"
    );
}

fn ls(env: &Env, machine: &str) -> String {
    embarc_on(env, machine, &["ls", "--json"]).ok("ls").stdout
}

fn posts_listed(listing: &str) -> BTreeSet<String> {
    listing
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
            v["post"].as_str().unwrap_or_default().to_string()
        })
        .collect()
}

fn write(env: &Env, name: &str, body: &str) -> String {
    let p = env.dir.path().join("articles").join(name);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(&p, body).expect("write article");
    p.to_string_lossy().into_owned()
}

fn blockquote(id: &str) -> String {
    format!(
        "<blockquote class=\"twitter-tweet\"><p lang=\"en\" dir=\"ltr\">post {id}</p>&mdash; Someone (@someone) <a href=\"https://twitter.com/someone/status/{id}?ref_src=twsrc%5Etfw\">June 20, 2024</a></blockquote>\n"
    )
}

fn article(ids: &[String]) -> String {
    let quotes: String = ids.iter().map(|id| blockquote(id)).collect();
    format!("<!doctype html>\n<html><body><p>Story.</p>\n{quotes}</body></html>\n")
}

/// `N of M objects re-hashed` from verify's summary.
fn rehashed(stderr: &str) -> (u64, u64) {
    let line = stderr
        .lines()
        .find(|l| l.contains("objects re-hashed"))
        .unwrap_or_else(|| panic!("no summary: {stderr}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    let at = words
        .iter()
        .position(|w| *w == "of")
        .unwrap_or_else(|| panic!("{line}"));
    let n = |i: usize| -> u64 {
        words
            .get(i)
            .and_then(|w| w.parse().ok())
            .unwrap_or_else(|| panic!("{line}"))
    };
    (n(at - 1), n(at + 1))
}

#[test]
fn moto_log_lines_coloured_by_werkzeug_are_read_plain() {
    assert_eq!(
        s3::without_colours(
            "127.0.0.1 - - [01/Dec/2026 14:29:49] \"\x1b[33mHEAD /b/.embarc-test-mark-0 HTTP/1.1\x1b[0m\" 404 -"
        ),
        "127.0.0.1 - - [01/Dec/2026 14:29:49] \"HEAD /b/.embarc-test-mark-0 HTTP/1.1\" 404 -"
    );
    assert_eq!(
        s3::without_colours("\x1b[31m\x1b[1mPUT /b HTTP/1.1\x1b[0m"),
        "PUT /b HTTP/1.1"
    );
}

#[test]
fn moto_harness_serves_a_bucket() {
    let s3 = s3::start();
    assert!(
        s3.endpoint.starts_with("http://127.0.0.1:"),
        "{}",
        s3.endpoint
    );
    assert_eq!(s3.get("a/one"), None);
    s3.put("a/one", b"first");
    s3.put("a/two words & more", b"\x00\xffbinary");
    s3.put("b/three", b"3");
    assert_eq!(s3.get("a/one").as_deref(), Some(&b"first"[..]));
    assert_eq!(
        s3.get("a/two words & more").as_deref(),
        Some(&b"\x00\xffbinary"[..])
    );
    assert_eq!(s3.list("a/"), ["a/one", "a/two words & more"]);
    assert_eq!(s3.list(""), ["a/one", "a/two words & more", "b/three"]);
    // Listing follows continuation tokens.
    for i in 0..5 {
        s3.put(&format!("c/{i}"), &[i]);
    }
    let paged = s3.list_sized("c/", Some(2));
    assert_eq!(
        paged,
        (0..5).map(|i| (format!("c/{i}"), 1)).collect::<Vec<_>>()
    );
    // An overwrite replaces the bytes (that is how the tests corrupt objects).
    s3.put("a/one", b"second");
    assert_eq!(s3.get("a/one").as_deref(), Some(&b"second"[..]));
    // Conditional put: moto refuses to overwrite with `If-None-Match: *`, the
    // way S3 does, and creates a new key with it.
    let r = s3.request(
        "PUT",
        &s3.key_path("a/one"),
        &[("if-none-match", "*")],
        b"third",
    );
    assert_eq!(r.status, 412, "{}", r.text());
    assert!(r.text().contains("PreconditionFailed"), "{}", r.text());
    assert_eq!(s3.get("a/one").as_deref(), Some(&b"second"[..]));
    let r = s3.request(
        "PUT",
        &s3.key_path("a/new"),
        &[("if-none-match", "*")],
        b"new",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    // The request log shows what was asked, in order.
    let log = s3.requests();
    assert!(
        log.contains(&format!("PUT /{}/a/one", s3.bucket)),
        "{log:?}"
    );
    assert!(
        log.contains(&format!("GET /{}/a/one", s3.bucket)),
        "{log:?}"
    );
    // The environment embarc gets names this server.
    let env: BTreeMap<String, String> = s3.env().into_iter().collect();
    assert_eq!(env["AWS_ENDPOINT_URL"], s3.endpoint);
    assert_eq!(env["AWS_ALLOW_HTTP"], "true");
    assert_eq!(s3.url("news"), format!("s3://{}/news", s3.bucket));
}

async fn posts_added_to_a_bucket_are_listed_shown_and_verified(kind: Kind) {
    let env = env_on(kind).await;
    tokio::task::block_in_place(|| {
        let urls = [
            format!("https://twitter.com/SamuelSusla/status/{PHOTO}"),
            format!("https://x.com/someone/status/{QUOTES}"),
            format!("twitter:{VIDEO}"),
        ];
        let mut args = vec!["add", "--json"];
        args.extend(urls.iter().map(String::as_str));
        let added = embarc(&env, &args).ok("add");
        let lines = added.lines();
        for id in [PHOTO, QUOTES, VIDEO] {
            assert_eq!(
                by_post(&lines, &format!("twitter:{id}"))["outcome"],
                "archived",
                "{}",
                added.stdout
            );
        }
        assert_eq!(by_post(&lines, &format!("twitter:{PHOTO}"))["media"], 2);

        // The bucket is an archive a user can check without embarc.
        for key in ["EMBARC-ARCHIVE", "FORMAT.md"] {
            assert!(
                env.bucket.get(&format!("{PREFIX}/{key}")).is_some(),
                "{PREFIX}/{key} is missing"
            );
        }
        let format = String::from_utf8(
            env.bucket
                .get(&format!("{PREFIX}/FORMAT.md"))
                .expect("FORMAT.md"),
        )
        .expect("FORMAT.md is text");
        assert!(format.contains("objects/sha256/"), "{format}");
        let objects = assert_objects_named_by_content(&env.bucket, PREFIX);
        let captures = assert_refs_point_at_objects(&env.bucket, PREFIX, &objects);
        assert_nothing_stray(&env.bucket, PREFIX);
        for id in [PHOTO, QUOTES, VIDEO] {
            let capture = by_post(&lines, &format!("twitter:{id}"))["capture"]
                .as_str()
                .expect("capture")
                .trim_start_matches("sha256:")
                .to_string();
            assert!(
                captures.get(id).is_some_and(|c| c.contains(&capture)),
                "a capture ref for {id} names {capture}: {captures:?}"
            );
        }

        // ls lists them; show gives the capture add reported, with its media in
        // the bucket.
        let listed = posts_listed(&ls(&env, "a"));
        for id in [PHOTO, QUOTES, VIDEO] {
            assert!(listed.contains(&format!("twitter:{id}")), "{listed:?}");
        }
        for id in [PHOTO, QUOTES, VIDEO] {
            let shown = embarc(&env, &["show", "--json", &format!("twitter:{id}")]).ok("show");
            let shown = shown.lines();
            let added = &by_post(&lines, &format!("twitter:{id}"))["capture"];
            let capture = shown
                .iter()
                .find(|l| &l["capture"] == added)
                .unwrap_or_else(|| panic!("show {id} lacks {added}: {shown:?}"));
            assert_eq!(capture["outcome"], "ok", "{capture}");
            if id == PHOTO {
                assert_eq!(capture["media"].as_array().map(Vec::len), Some(2));
            }
            for line in &shown {
                for m in line["media"].as_array().expect("media") {
                    let digest = m["digest"].as_str().expect("digest");
                    assert!(
                        objects.contains(digest.trim_start_matches("sha256:")),
                        "{id}: media {m} not in the bucket"
                    );
                }
            }
        }

        let verified = embarc(&env, &["verify"]).ok("verify");
        assert!(verified.stderr.contains("all good"), "{}", verified.stderr);
        let (checked, total) = rehashed(&verified.stderr);
        assert_eq!(
            (checked, total),
            (objects.len() as u64, objects.len() as u64),
            "verify re-hashes every object in the bucket"
        );
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_into_the_bucket_sends_no_request_and_uploads_nothing() {
    let env = env().await;
    tokio::task::block_in_place(|| {
        let ids = [
            format!("twitter:{PHOTO}"),
            format!("twitter:{QUOTES}"),
            format!("twitter:{VIDEO}"),
        ];
        let mut args = vec!["add", "--json"];
        args.extend(ids.iter().map(String::as_str));
        embarc(&env, &args).ok("first add");
        let keys = env.s3().list("");
        let before = env.server.total();
        let log_before = env.s3().requests().len();

        let again = embarc(&env, &args).ok("re-run");
        for id in &ids {
            assert_eq!(
                by_post(&again.lines(), id)["outcome"],
                "unchanged",
                "{}",
                again.stdout
            );
        }
        assert_eq!(env.server.total(), before, "a re-run sends no request to X");
        let writes: Vec<String> = env.s3().requests()[log_before..]
            .iter()
            .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
            .filter(|r| r.contains("/objects/"))
            .cloned()
            .collect();
        assert!(writes.is_empty(), "a re-run uploads no object: {writes:?}");
        assert_eq!(env.s3().list(""), keys, "nothing new in the bucket");

        // From another machine (a fresh index) too.
        let again = embarc_on(&env, "b", &args).ok("re-run from machine b");
        for id in &ids {
            assert_eq!(
                by_post(&again.lines(), id)["outcome"],
                "unchanged",
                "{}",
                again.stdout
            );
        }
        assert_eq!(
            env.server.total(),
            before,
            "the bucket's refs are what counts"
        );
    });
}

/// Every media file a card refers to exists under `out/` named by the SHA-256
/// of its bytes, and is byte-identical to the bucket's object.
fn assert_media_published(env: &Env, out: &Path, html: &Html) -> usize {
    let mut n = 0;
    let sel = Selector::parse("img, video, source").expect("selector");
    for e in html.select(&sel) {
        for attr in ["src", "poster"] {
            if let Some(src) = e.value().attr(attr) {
                let bytes = std::fs::read(out.join(src)).unwrap_or_else(|e| panic!("{src}: {e}"));
                let hex = src
                    .trim_start_matches("media/")
                    .split('.')
                    .next()
                    .unwrap_or("");
                assert_eq!(sha256_hex(&bytes), hex, "{src}");
                assert_eq!(
                    env.bucket.get(&object_key(PREFIX, hex)).as_deref(),
                    Some(&bytes[..]),
                    "{src} is the bucket's object"
                );
                n += 1;
            }
        }
    }
    n
}

async fn an_article_renders_from_the_bucket_with_its_media_local(kind: Kind) {
    let env = env_on(kind).await;
    tokio::task::block_in_place(|| {
        let story = write(
            &env,
            "story.html",
            &format!(
                "<!doctype html>\n<html><head><title>t</title></head><body><p>Before.</p>\n{}<p>After.</p>\n</body></html>\n",
                blockquote(PHOTO)
            ),
        );
        embarc(&env, &["archive", &story]).ok("archive");
        let site = env.dir.path().join("site");
        let site_arg = site.to_string_lossy().into_owned();
        let r = embarc(&env, &["render", &story, "-o", &site_arg, "--json"]).ok("render");
        let report: Value = serde_json::from_str(r.stdout.trim()).expect("one JSON line");
        assert_eq!(report["cards"], 1, "{report}");
        let page = std::fs::read_to_string(site.join("story.html")).expect("rendered page");
        assert!(page.contains("<p>Before.</p>") && page.contains("<p>After.</p>"));
        assert!(
            !page.contains("twitter-tweet"),
            "the blockquote is replaced: {page}"
        );
        let html = Html::parse_document(&page);
        let card = Selector::parse("figure.embarc-post").expect("selector");
        assert_eq!(html.select(&card).count(), 1, "{page}");
        assert!(
            assert_media_published(&env, &site, &html) >= 2,
            "avatar and photo: {page}"
        );

        let cards = env.dir.path().join("cards");
        let cards_arg = cards.to_string_lossy().into_owned();
        let r = embarc(
            &env,
            &[
                "render",
                "--post",
                &format!("twitter:{PHOTO}"),
                "-o",
                &cards_arg,
            ],
        )
        .ok("render --post");
        let fragment = Html::parse_fragment(&r.stdout);
        assert_eq!(fragment.select(&card).count(), 1, "{}", r.stdout);
        assert!(assert_media_published(&env, &cards, &fragment) >= 2);
        // Rendering reads the bucket only.
        let fetched = env.server.total();
        embarc(&env, &["render", &story, "-o", &site_arg]).ok("render again");
        assert_eq!(env.server.total(), fetched, "render never touches X");
    });
}

/// Fails (never skips) when an archivists' tool is missing.
fn tool(args: &[&str]) -> (bool, String) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "`{}` is not on PATH ({e}): the export test checks files with the archivists' tools; run `pip install warcio wacz`",
                args[0]
            )
        });
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

async fn warc_and_wacz_exported_from_the_bucket_pass_the_archivists_tools(kind: Kind) {
    let env = env_on(kind).await;
    tokio::task::block_in_place(|| {
        tool(&["warcio", "--help"]);
        tool(&["wacz", "--help"]);
        embarc(&env, &["add", &format!("twitter:{PHOTO}")]).ok("add");
        let story = write(&env, "story.html", &article(&[fake_x::synthetic_id(1)]));
        embarc(&env, &["archive", &story]).ok("archive");

        let warc = env.dir.path().join("out/all.warc.gz");
        std::fs::create_dir_all(warc.parent().expect("parent")).expect("mkdir");
        let wacz = env.dir.path().join("out/all.wacz");
        let (w, z) = (
            warc.to_string_lossy().into_owned(),
            wacz.to_string_lossy().into_owned(),
        );
        let r = embarc(&env, &["export", "--json", "--warc", &w, "--wacz", &z]).ok("export");
        let lines = r.lines();
        let formats: Vec<&str> = lines.iter().filter_map(|l| l["format"].as_str()).collect();
        assert_eq!(formats, ["warc", "wacz"], "{}", r.stdout);
        let bytes = std::fs::read(&warc).expect("WARC");
        assert_eq!(lines[0]["posts"], 2, "{}", lines[0]);
        assert_eq!(lines[0]["bytes"], bytes.len() as u64);
        assert_eq!(lines[0]["sha256"], format!("sha256:{}", sha256_hex(&bytes)));

        let (ok, out) = tool(&["warcio", "check", "-v", &w]);
        assert!(ok, "warcio check failed:\n{out}");
        assert!(
            out.contains("digest pass") && !out.contains("failed"),
            "{out}"
        );
        let (ok, index) = tool(&["warcio", "index", "-f", "warc-target-uri", &w]);
        assert!(ok, "{index}");
        assert!(
            index.contains("https://pbs.twimg.com/"),
            "media under their original URLs: {index}"
        );
        let (ok, out) = tool(&["wacz", "validate", "-f", &z]);
        assert!(
            ok && out.contains("is valid"),
            "wacz validate failed:\n{out}"
        );

        // The WARC alone, and --post.
        let one = env.dir.path().join("out/one.warc.gz");
        let o = one.to_string_lossy().into_owned();
        let r = embarc(
            &env,
            &[
                "export",
                "--json",
                "--warc",
                &o,
                "--post",
                &format!("twitter:{PHOTO}"),
            ],
        )
        .ok("export --post");
        assert_eq!(r.lines()[0]["posts"], 1, "{}", r.stdout);
        let (ok, out) = tool(&["warcio", "check", &o]);
        assert!(ok, "warcio check failed:\n{out}");
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn the_index_is_a_local_cache_rebuilt_from_the_bucket() {
    let env = env().await;
    tokio::task::block_in_place(|| {
        embarc(
            &env,
            &[
                "add",
                &format!("twitter:{PHOTO}"),
                &format!("twitter:{VIDEO}"),
            ],
        )
        .ok("add");
        let listing = ls(&env, "a");
        assert_eq!(
            posts_listed(&listing),
            BTreeSet::from([format!("twitter:{PHOTO}"), format!("twitter:{VIDEO}")])
        );
        assert!(env.index("a").is_file(), "--index is where the cache lives");

        // Deleting the index loses nothing: ls rebuilds it from refs/.
        for ext in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{ext}", env.index("a").display()));
        }
        assert_eq!(ls(&env, "a"), listing, "rebuilt from the bucket's refs");
        let r = embarc(&env, &["reindex"]).ok("reindex");
        assert!(r.stderr.contains("indexed"), "{}", r.stderr);
        assert_eq!(ls(&env, "a"), listing);

        // Another machine: its own index, the same bucket.
        assert_eq!(ls(&env, "b"), listing, "a fresh index sees the bucket");
        // Machine a archives more; machine b picks it up with reindex.
        embarc(&env, &["add", &format!("twitter:{QUOTES}")]).ok("add on a");
        let on_a = ls(&env, "a");
        assert!(posts_listed(&on_a).contains(&format!("twitter:{QUOTES}")));
        embarc_on(&env, "b", &["reindex"]).ok("reindex on b");
        assert_eq!(ls(&env, "b"), on_a, "b sees a's captures after reindex");
        let shown =
            embarc_on(&env, "b", &["show", "--json", &format!("twitter:{QUOTES}")]).ok("show on b");
        assert_eq!(shown.lines().len(), 1);

        // EMBARC_ARCHIVE and EMBARC_INDEX say the same as the flags.
        let out = command(&env, None, None)
            .env("EMBARC_ARCHIVE", env.archive())
            .env("EMBARC_INDEX", env.index("a"))
            .args(["ls", "--json"])
            .output()
            .expect("run");
        assert_eq!(Run::from(out).ok("ls from env").stdout, on_a);
    });
}

/// The `.sqlite` files under `dir` (recursively).
fn sqlite_files(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| p.extension().is_some_and(|e| e == "sqlite"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_index_the_cache_lives_under_the_users_cache_folder_per_archive() {
    let env = env().await;
    tokio::task::block_in_place(|| {
        let (cache, home) = (env.dir.path().join("cache"), env.dir.path().join("home"));
        let run = |archive: &str, args: &[&str]| {
            Run::from(
                command(&env, Some(archive), None)
                    .args(args)
                    .output()
                    .expect("run"),
            )
        };
        let news = env.archive();
        run(&news, &["add", &format!("twitter:{PHOTO}")]).ok("add");
        let first = sqlite_files(&cache);
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(
            first[0].starts_with(cache.join("embarc/remote")),
            "{first:?}"
        );
        let listing = run(&news, &["ls", "--json"]).ok("ls").stdout;
        assert_eq!(sqlite_files(&cache), first, "the same URL, the same index");
        // Another prefix is another archive: another index.
        let other = env.s3().url("other");
        run(&other, &["add", &format!("twitter:{PHOTO}")]).ok("add other");
        assert_eq!(sqlite_files(&cache).len(), 2);
        assert!(sqlite_files(&home).is_empty(), "XDG_CACHE_HOME wins");
        // Without XDG_CACHE_HOME: ~/.cache/embarc/remote/.
        let out = command(&env, Some(&news), None)
            .env_remove("XDG_CACHE_HOME")
            .args(["ls", "--json"])
            .output()
            .expect("run");
        assert_eq!(Run::from(out).ok("ls with HOME").stdout, listing);
        let in_home = sqlite_files(&home);
        assert_eq!(in_home.len(), 1, "{in_home:?}");
        assert!(
            in_home[0].starts_with(home.join(".cache/embarc/remote")),
            "{in_home:?}"
        );
    });
}

async fn two_machines_archiving_overlapping_articles_at_once_lose_nothing(kind: Kind) {
    let env = env_on(kind).await;
    tokio::task::block_in_place(|| {
        // A cites posts 1-12, B 5-16: eight posts (and the avatar all share)
        // are written by both at the same time.
        let ids: Vec<String> = (1..=16).map(fake_x::synthetic_id).collect();
        let a = write(&env, "a.html", &article(&ids[..12]));
        let b = write(&env, "b.html", &article(&ids[4..]));
        let spawn = |machine: &str, story: &str| {
            command(&env, Some(&env.archive()), Some(&env.index(machine)))
                .args(["archive", "--json", "--concurrency", "8", story])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn embarc")
        };
        let (first, second) = (spawn("a", &a), spawn("b", &b));
        let (first, second) = (
            Run::from(first.wait_with_output().expect("wait a")).ok("archive on a"),
            Run::from(second.wait_with_output().expect("wait b")).ok("archive on b"),
        );
        for (run, cited) in [(&first, &ids[..12]), (&second, &ids[4..])] {
            let lines = run.lines();
            for id in cited {
                let outcome = &by_post(&lines, &format!("twitter:{id}"))["outcome"];
                assert!(
                    outcome == "archived" || outcome == "unchanged",
                    "{id}: {outcome}\n{}",
                    run.stdout
                );
            }
        }

        // A third machine sees every post; the bucket verifies.
        let listed = posts_listed(&ls(&env, "c"));
        let expected: BTreeSet<String> = ids.iter().map(|id| format!("twitter:{id}")).collect();
        assert_eq!(listed, expected);
        embarc_on(&env, "c", &["verify"]).ok("verify");
        let objects = assert_objects_named_by_content(&env.bucket, PREFIX);
        let captures = assert_refs_point_at_objects(&env.bucket, PREFIX, &objects);
        for id in &ids {
            assert!(captures.contains_key(id), "no capture ref for {id}");
        }
        assert_nothing_stray(&env.bucket, PREFIX);
        // Both articles are recorded.
        let articles: BTreeSet<String> = env
            .bucket
            .list(&format!("{PREFIX}/refs/articles/"))
            .iter()
            .filter_map(|k| k.split('/').nth(3).map(str::to_string))
            .collect();
        assert_eq!(articles.len(), 2, "{articles:?}");
        // Every photo of every post is in the bucket, once (keys are digests).
        for id in &ids {
            let shown =
                embarc_on(&env, "c", &["show", "--json", &format!("twitter:{id}")]).ok("show");
            for line in shown.lines() {
                for m in line["media"].as_array().expect("media") {
                    let d = m["digest"].as_str().expect("digest");
                    assert!(
                        objects.contains(d.trim_start_matches("sha256:")),
                        "{id}: {m}"
                    );
                }
            }
        }
    });
}

async fn a_corrupt_object_in_the_bucket_is_named_by_verify(kind: Kind) {
    let env = env_on(kind).await;
    tokio::task::block_in_place(|| {
        embarc(&env, &["add", &format!("twitter:{PHOTO}")]).ok("add");
        embarc(&env, &["verify"]).ok("verify before");
        let shown = embarc(&env, &["show", "--json", &format!("twitter:{PHOTO}")]).lines();
        let victim = shown[0]["media"]
            .as_array()
            .expect("media")
            .iter()
            .max_by_key(|m| m["bytes"].as_u64().unwrap_or(0))
            .and_then(|m| m["digest"].as_str())
            .expect("a media digest")
            .trim_start_matches("sha256:")
            .to_string();
        // Someone overwrites the photo's key behind embarc's back.
        let key = object_key(PREFIX, &victim);
        let mut bytes = env.bucket.get(&key).expect("the photo is in the bucket");
        bytes[100] ^= 1;
        env.bucket.put(&key, &bytes);

        for args in [&["verify"][..], &["verify", "--sample", "100"][..]] {
            let r = embarc(&env, args);
            assert_eq!(r.code, Some(1), "{args:?}: {}{}", r.stdout, r.stderr);
            assert!(
                r.stdout.contains(&victim) && r.stdout.contains("corrupt"),
                "{args:?} names the object: {}",
                r.stdout
            );
        }
        let r = embarc(&env, &["verify", "--json"]);
        assert_eq!(r.code, Some(1));
        let problems = r.lines();
        assert_eq!(problems.len(), 1, "{}", r.stdout);
        assert_eq!(problems[0]["problem"], "corrupt");
        // Reads verify: the corrupt photo is not published.
        let out = env.dir.path().join("cards");
        let r = embarc(
            &env,
            &[
                "render",
                "--post",
                &format!("twitter:{PHOTO}"),
                "-o",
                &out.to_string_lossy(),
            ],
        );
        assert_ne!(r.code, Some(0), "render of a corrupt photo: {}", r.stdout);
        assert!(
            r.stderr.contains(&victim[..16]) && r.stderr.contains("embarc verify"),
            "names the corrupt object {victim} and the command to list the damage: {}",
            r.stderr
        );
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn verify_sample_reads_only_a_sample_of_the_bucket() {
    let env = env().await;
    tokio::task::block_in_place(|| {
        let ids: Vec<String> = (1..=30)
            .map(|n| format!("twitter:{}", fake_x::synthetic_id(n)))
            .collect();
        let mut args = vec!["add", "--concurrency", "8"];
        args.extend(ids.iter().map(String::as_str));
        embarc(&env, &args).ok("add");
        let objects = assert_objects_named_by_content(&env.bucket, PREFIX);
        let capture_refs = env.s3().list(&format!("{PREFIX}/refs/posts/")).len();
        let log_before = env.s3().requests().len();

        let r = embarc(&env, &["verify", "--sample", "5"]).ok("verify --sample 5");
        let (checked, total) = rehashed(&r.stderr);
        assert_eq!(total, objects.len() as u64, "{}", r.stderr);
        // A random 5% (each object drawn alone, so the count varies, and may
        // even be 0): far fewer than all.
        assert!(checked < total / 4, "{}", r.stderr);
        let read: BTreeSet<String> = env.s3().requests()[log_before..]
            .iter()
            .filter_map(|r| r.strip_prefix("GET "))
            .filter(|p| p.contains("/objects/sha256/"))
            .map(|p| p.split('?').next().unwrap_or(p).to_string())
            .collect();
        // The sample, plus the capture records that refs lead to.
        assert!(
            read.len() as u64 <= checked + capture_refs as u64,
            "{} objects read for a sample of {checked} and {capture_refs} capture refs",
            read.len()
        );
        assert!(
            (read.len() as u64) < total / 2,
            "{} of {total} objects read",
            read.len()
        );
    });
}

async fn a_prefix_holding_other_files_is_refused(kind: Kind) {
    let env = env_on(kind).await;
    tokio::task::block_in_place(|| {
        env.bucket.put("other/readme.txt", b"not an archive");
        let url = env.bucket.url("other");
        for args in [&["add", "twitter:1641086480675225601"][..], &["ls"][..]] {
            let out = command(&env, Some(&url), Some(&env.index("a")))
                .args(args)
                .output()
                .expect("run");
            let r = Run::from(out);
            assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
            assert!(
                r.stderr.contains(&url),
                "{args:?} names the URL: {}",
                r.stderr
            );
        }
        assert_eq!(
            env.bucket.list("other/"),
            ["other/readme.txt"],
            "nothing written"
        );
        assert_eq!(env.server.total(), 0, "refused before any capture");
        // An empty prefix is a new archive: it lists as empty.
        let out = command(&env, Some(&env.bucket.url("empty")), Some(&env.index("a")))
            .args(["ls", "--json"])
            .output()
            .expect("run");
        assert_eq!(Run::from(out).ok("ls of an empty prefix").stdout, "");
    });
}

async fn a_missing_bucket_is_named(kind: Kind) {
    let env = env_on(kind).await;
    tokio::task::block_in_place(|| {
        // The test's bucket URL with another bucket (container) name.
        let ours = env.bucket.url("news");
        let (scheme, rest) = ours.split_once("://").expect("a URL");
        let bucket = format!("{}-missing", rest.split('/').next().expect("a bucket"));
        let url = format!("{scheme}://{bucket}/news");
        for args in [
            &["add", "twitter:1641086480675225601"][..],
            &["ls"][..],
            &["verify"][..],
        ] {
            let out = command(&env, Some(&url), Some(&env.index("a")))
                .args(args)
                .output()
                .expect("run");
            let r = Run::from(out);
            assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
            assert!(
                r.stderr.contains(&bucket) && r.stderr.contains("create it first"),
                "{args:?} names the bucket and says to create it: {}",
                r.stderr
            );
            assert_eq!(r.stderr.lines().count(), 1, "one line: {}", r.stderr);
        }
        assert_eq!(env.server.total(), 0, "refused before any capture");
    });
}

#[tokio::test(flavor = "multi_thread")]
async fn a_short_link_is_resolved_once_and_found_again_in_the_bucket() {
    let env = env().await;
    tokio::task::block_in_place(|| {
        let short = "https://t.co/rQd6FIwZ0U";
        let first = embarc(&env, &["add", "--json", short]).ok("add a short link");
        assert_eq!(
            by_post(&first.lines(), &format!("twitter:{PHOTO}"))["outcome"],
            "archived"
        );
        assert!(
            env.s3()
                .list("news/refs/short/")
                .iter()
                .any(|k| k.ends_with("/t.co/rQd6FIwZ0U")),
            "the resolution is kept in the bucket"
        );
        let hops = env.server.count("/t.co/rQd6FIwZ0U");
        assert_eq!(hops, 1);
        // Again, from this machine and from a fresh one: the stored
        // resolution is found, t.co is not asked again.
        embarc(&env, &["add", short]).ok("again");
        embarc_on(&env, "b", &["add", short]).ok("again from machine b");
        assert_eq!(env.server.count("/t.co/rQd6FIwZ0U"), hops);
        // The same code under pic.twitter.com, and render by short link.
        let card = embarc(
            &env,
            &["render", "--post", "https://pic.twitter.com/rQd6FIwZ0U"],
        )
        .ok("render by short link");
        assert!(
            card.stdout
                .contains(&format!("data-embarc-post=\"twitter:{PHOTO}\"")),
            "{}",
            card.stdout
        );
    });
}

/// A video over the 8 MiB multipart threshold goes up in parts and lands
/// whole; an upload refused mid-way (S3 says 403 to its first part, which
/// embarc learns while waiting to send the sixth) is aborted, so no partial
/// object is visible and no parts are left billed.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_video_goes_up_in_parts_and_a_broken_upload_is_aborted() {
    use fake_x::{MID_VIDEO_BYTES, MID_VIDEO_ID};
    let env = env().await;
    let url = format!("https://x.com/v/status/{MID_VIDEO_ID}");
    let video_keys = |prefix: &str| -> Vec<String> {
        env.s3()
            .list_sized(&format!("{prefix}/objects/"), None)
            .into_iter()
            .filter(|(_, size)| *size == MID_VIDEO_BYTES)
            .map(|(k, _)| k)
            .collect()
    };
    tokio::task::block_in_place(|| {
        // Broken: through a proxy that refuses the first part.
        let proxy = env
            .s3()
            .failing_proxy(|method, path| method == "PUT" && path.contains("partNumber=1&"));
        let before = env.s3().requests().len();
        let out = command(
            &env,
            Some(&env.s3().url("broken")),
            Some(&env.index("broken")),
        )
        .env("AWS_ENDPOINT_URL", &proxy.endpoint)
        .args(["add", "--json", &url])
        .output()
        .expect("run embarc");
        let r = Run::from(out);
        // (the post itself may still be archived with a smaller variant:
        // what matters is what the bucket holds)
        assert!(r.stderr.contains("1 post"), "{}{}", r.stdout, r.stderr);
        assert!(
            !proxy.refused.lock().expect("refused").is_empty(),
            "the second part was never sent"
        );
        assert!(
            video_keys("broken").is_empty(),
            "a partial object is visible"
        );
        // Nothing refers to the video that is not there.
        let v = Run::from(
            command(
                &env,
                Some(&env.s3().url("broken")),
                Some(&env.index("broken")),
            )
            .arg("verify")
            .output()
            .expect("verify"),
        );
        assert_eq!(v.code, Some(0), "{}{}", v.stdout, v.stderr);
        let log = env.s3().requests()[before..].to_vec();
        assert!(
            log.iter()
                .any(|r| r.starts_with("POST ") && r.contains("?uploads")),
            "a multipart upload was started: {log:?}"
        );
        assert!(
            log.iter()
                .any(|r| r.starts_with("DELETE ") && r.contains("uploadId=")),
            "the upload was not aborted: {log:?}"
        );
        let pending = env
            .s3()
            .request("GET", &format!("/{}?uploads", env.s3().bucket), &[], &[]);
        assert!(
            !pending.text().contains("<Upload>"),
            "uploads left in progress: {}",
            pending.text()
        );

        // Whole: straight to the bucket.
        let before = env.s3().requests().len();
        let r = embarc(&env, &["add", "--json", &url]).ok("add");
        assert_eq!(r.lines()[0]["outcome"], "archived", "{}", r.stdout);
        let keys = video_keys(PREFIX);
        assert_eq!(keys.len(), 1, "{keys:?}");
        let bytes = env.s3().get(&keys[0]).expect("the video");
        assert!(
            keys[0].ends_with(&sha256_hex(&bytes)),
            "{} holds other bytes",
            keys[0]
        );
        let log = env.s3().requests()[before..].to_vec();
        let parts = log
            .iter()
            .filter(|r| r.starts_with("PUT ") && r.contains("partNumber="))
            .count();
        assert_eq!(parts, 6, "44 MiB in 8 MiB parts: {log:?}");
        assert!(
            log.iter()
                .any(|r| r.starts_with("POST ") && r.contains("uploadId=")),
            "the upload was completed: {log:?}"
        );
    });
}

/// Issue 19 on a bucket: an object overwritten behind embarc's back with
/// other bytes of the same size (a size check cannot see it) is replaced by
/// the next capture that fetches its bytes, here the post's syndication
/// answer on `add --refresh`; `verify` is clean again.
#[tokio::test(flavor = "multi_thread")]
async fn a_same_size_corrupt_object_in_the_bucket_is_healed_by_the_next_capture() {
    let env = env().await;
    tokio::task::block_in_place(|| {
        let post = format!("twitter:{PHOTO}");
        let added = embarc(&env, &["add", "--json", &post]).ok("add");
        let capture = by_post(&added.lines(), &post)["capture"]
            .as_str()
            .expect("capture")
            .to_string();
        let record: Value = serde_json::from_slice(
            &env.s3()
                .get(&object_key(PREFIX, &capture))
                .expect("the capture record is in the bucket"),
        )
        .expect("the capture record is JSON");
        let answer = record["exchanges"]
            .as_array()
            .expect("exchanges")
            .iter()
            .find(|x| {
                x["url"]
                    .as_str()
                    .is_some_and(|u| u.contains("/tweet-result?"))
            })
            .and_then(|x| x["body"].as_str())
            .unwrap_or_else(|| panic!("no syndication answer in {record}"))
            .to_string();
        let key = object_key(PREFIX, &answer);
        let good = env.s3().get(&key).expect("the answer is in the bucket");
        let mut bad = good.clone();
        bad[good.len() / 2] ^= 1;
        env.s3().put(&key, &bad);
        let r = embarc(&env, &["verify", "--json"]);
        assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains("corrupt"), "{}", r.stdout);

        let again = embarc(&env, &["add", "--json", "--refresh", &post]).ok("add --refresh");
        assert_eq!(by_post(&again.lines(), &post)["outcome"], "archived");
        assert!(
            env.s3().get(&key) == Some(good),
            "{key} still holds the corrupt bytes"
        );
        let verified = embarc(&env, &["verify"]).ok("verify after the heal");
        assert!(verified.stderr.contains("all good"), "{}", verified.stderr);
    });
}

/// Issue 20: against a server that checks SigV4 signatures and IAM policy
/// (moto with auth on, tests/support/s3.rs `start_signed`), embarc's requests
/// are signed right: add, ls, verify and render work with the IAM user's
/// key. With a wrong secret every command fails by name (exit 2, one line
/// naming the bucket and the variables to check) before any capture, and
/// nothing is written.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_checks_signatures_accepts_embarcs_and_refuses_a_wrong_secret() {
    let server = fake_x::start().await;
    let s3 = std::sync::Arc::new(tokio::task::block_in_place(s3::start_signed));
    let env = Env {
        dir: tempfile::tempdir().expect("tempdir"),
        bucket: Bucket::S3(s3),
        server,
    };
    tokio::task::block_in_place(|| {
        let post = format!("twitter:{PHOTO}");
        let added = embarc(&env, &["add", "--json", &post]).ok("add, signed");
        assert_eq!(by_post(&added.lines(), &post)["outcome"], "archived");
        assert_eq!(posts_listed(&ls(&env, "b")), BTreeSet::from([post.clone()]));
        let verified = embarc(&env, &["verify"]).ok("verify, signed");
        assert!(verified.stderr.contains("all good"), "{}", verified.stderr);
        let card = embarc(&env, &["render", "--post", &post]).ok("render, signed");
        assert!(card.stdout.contains("data-embarc-post"), "{}", card.stdout);

        let video = format!("twitter:{VIDEO}");
        for args in [&["add", &video][..], &["ls"][..], &["verify"][..]] {
            let out = command(&env, Some(&env.archive()), Some(&env.index("c")))
                .env("AWS_SECRET_ACCESS_KEY", "not-the-secret")
                .args(args)
                .output()
                .expect("run embarc");
            let r = Run::from(out);
            assert_eq!(r.code, Some(2), "{args:?}: {}{}", r.stdout, r.stderr);
            let said: Vec<&str> = r.stderr.lines().collect();
            assert_eq!(said.len(), 1, "{args:?}: one line: {}", r.stderr);
            assert!(
                said[0].contains(&env.archive())
                    && said[0].contains("access refused")
                    && said[0].contains("AWS_SECRET_ACCESS_KEY"),
                "{args:?} names the bucket and what to check: {}",
                said[0]
            );
        }
        let id = format!("id={VIDEO}");
        assert_eq!(
            env.server.arrivals_where(|p| p.contains(&id)).len(),
            0,
            "refused before any capture"
        );
        assert_eq!(
            posts_listed(&ls(&env, "d")),
            BTreeSet::from([post]),
            "nothing written with the wrong secret"
        );
    });
}

#[test]
fn azurite_harness_serves_a_container() {
    let az = support::azurite::start();
    assert_eq!(az.get("a/one"), None);
    az.put("a/one", b"first");
    az.put("a/two words & more", b"\x00\xffbinary");
    az.put("b/three", b"3");
    assert_eq!(az.get("a/one").as_deref(), Some(&b"first"[..]));
    assert_eq!(
        az.get("a/two words & more").as_deref(),
        Some(&b"\x00\xffbinary"[..])
    );
    let listed: Vec<String> = az.list_sized("a/").into_iter().map(|(k, _)| k).collect();
    assert_eq!(listed, ["a/one", "a/two words & more"]);
    az.put("a/one", b"second");
    assert_eq!(az.list_sized("a/one"), [("a/one".to_string(), 6)]);
    let env: BTreeMap<String, String> = az.env().into_iter().collect();
    assert_eq!(env["AZURITE_BLOB_STORAGE_URL"], az.endpoint);
    assert!(az.url("news").starts_with("az://embarc-test-"));
}
