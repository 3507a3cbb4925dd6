//! Exports replay in the archivists' own tools: the archive of
//! `tests/fixtures/archive-v1` (every outcome, a short link, video, a quote),
//! plus a fresh capture from the fake X, exported as WARC and WACZ; the WACZ
//! unpacked into a pywb collection (`wb-manager add --unpack-wacz`) and
//! served by `wayback` on loopback; `tests/support/replay_check.py` then
//! compares the WACZ index with `cdxj-indexer`'s and replays every record
//! and every page (see its docstring).
//!
//! Needs pywb, cdxj-indexer and warcio on PATH (scripts/test installs them);
//! without them it fails, it does not skip.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use support::fake_x;

fn tool(dir: &Path, args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e}; run scripts/test to install pywb and cdxj-indexer",
                args[0]
            )
        });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{args:?} failed:\n{text}");
    text
}

/// `wayback` serving `dir`'s collections; killed when dropped.
struct Wayback(std::process::Child);

impl Drop for Wayback {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pywb_replays_every_record_and_page_of_the_wacz() {
    let server = fake_x::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    support::copy_tree(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/archive-v1/archive"),
        &archive,
    );
    let embarc = |args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
        cmd.arg("--archive").arg(&archive);
        for m in fake_x::mirror_flags(&server.base) {
            cmd.arg("--mirror").arg(m);
        }
        let out = tokio::task::block_in_place(|| cmd.args(args).output()).expect("run embarc");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // A v2 capture beside the v1 ones.
    embarc(&["add", "--refresh", "twitter:1641086480675225601"]);
    // Two articles: a file and a page fetched from a news site (the fake's
    // `/articles` page), each citing a post.
    let story = dir.path().join("story.html");
    std::fs::write(
        &story,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>A story &amp; its post</title></head><body>\n\
         <p>Matt Carroll wrote:</p>\n<blockquote class=\"twitter-tweet\"><p>…</p>&mdash; Matt Carroll (@mattcarrollcode) \
         <a href=\"https://twitter.com/mattcarrollcode/status/1641895049427550208\">March 31, 2023</a></blockquote>\n\
         <script async src=\"https://platform.twitter.com/widgets.js\"></script>\n</body></html>\n",
    )
    .expect("article");
    embarc(&["archive", story.to_str().expect("utf-8")]);
    let news = format!("news.example={}/articles", server.base);
    embarc(&[
        "--mirror",
        &news,
        "archive",
        "https://news.example/2024/story.html",
    ]);
    let warc = dir.path().join("out.warc.gz");
    let wacz = dir.path().join("out.wacz");
    embarc(&[
        "export",
        "--warc",
        warc.to_str().expect("utf-8"),
        "--wacz",
        wacz.to_str().expect("utf-8"),
    ]);

    let replay = dir.path().join("pywb");
    std::fs::create_dir_all(&replay).expect("mkdir");
    tool(&replay, &["wb-manager", "init", "c"]);
    let added = tool(
        &replay,
        &[
            "wb-manager",
            "add",
            "--unpack-wacz",
            "c",
            wacz.to_str().expect("utf-8"),
        ],
    );
    assert!(!added.contains("does not contain any indices"), "{added}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let _wayback = Wayback(
        Command::new("wayback")
            .args(["-p", &port.to_string(), "-b", "127.0.0.1"])
            .current_dir(&replay)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wayback: run scripts/test to install pywb"),
    );
    let base = format!("http://127.0.0.1:{port}/c/");
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "wayback did not listen on {port} within 60 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let check = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/replay_check.py");
    let report = tokio::task::block_in_place(|| {
        tool(
            dir.path(),
            &[
                "python3",
                check.to_str().expect("utf-8"),
                warc.to_str().expect("utf-8"),
                wacz.to_str().expect("utf-8"),
                &base,
            ],
        )
    });
    println!("{report}");
    // Every post has its page (the fixture's 8, the file article's post
    // among them); the fetched article its page as fetched; both articles
    // their rendered page with the cards in place.
    assert!(
        report.contains("pages: 11 open as HTML") && report.contains("2 articles with their cards"),
        "{report}"
    );
    assert!(report.contains(" 1 redirects"), "{report}");
}
