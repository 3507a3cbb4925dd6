//! An archive written by embarc 0.1.0 (`embarc.capture.v1` records, in
//! `tests/fixtures/archive-v1/`) reads, verifies, renders and exports exactly
//! as that release did, and takes new (v2) captures beside the old ones.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/archive-v1")
}

/// A writable copy of the fixture's archive and articles.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for sub in ["archive", "articles"] {
        support::copy_tree(&fixture().join(sub), &dir.path().join(sub));
    }
    dir
}

/// Runs embarc in `dir/articles` on `dir/archive`: exit code, stdout, stderr.
fn embarc(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .current_dir(dir.join("articles"))
        .arg("--archive")
        .arg(dir.join("archive"))
        .args(args)
        .output()
        .expect("run");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn expected(name: &str) -> String {
    std::fs::read_to_string(fixture().join("expected").join(name)).expect("expected file")
}

fn json_lines(s: &str) -> Vec<Value> {
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

#[test]
fn v1_archive_lists_shows_and_verifies_as_before() {
    let dir = copy();
    let (code, out, err) = embarc(dir.path(), &["--json", "ls"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(json_lines(&out), json_lines(&expected("ls.jsonl")));
    assert_eq!(json_lines(&out).len(), 8, "eight posts have captures");

    let posts = [
        "twitter:1641086480675225601",
        "twitter:1641895049427550208",
        "twitter:1684218600456876032",
        "twitter:1629262255744503809",
        "twitter:1111111111111111111",
        "twitter:6666666666666666666",
        "twitter:3333333333333333333",
    ];
    let mut shown = Vec::new();
    for p in posts {
        let (code, out, err) = embarc(dir.path(), &["--json", "show", p]);
        assert_eq!(code, Some(0), "{p}: {err}");
        shown.extend(json_lines(&out));
    }
    let before = json_lines(&expected("show.jsonl"));
    assert_eq!(shown.len(), before.len());
    for (mut now, then) in shown.into_iter().zip(before) {
        // `source` is new in v2 (extended, not changed): a v1 record's post
        // came from syndication when it has the tweet's data, else oEmbed.
        let source = now.as_object_mut().and_then(|o| o.remove("source"));
        let expect = match (then["outcome"].as_str(), then["post"].as_str()) {
            (Some("ok"), Some("twitter:6666666666666666666")) => Value::from("oembed"),
            (Some("ok"), _) => Value::from("syndication"),
            _ => Value::Null,
        };
        assert_eq!(source, Some(expect), "{then}");
        assert_eq!(now, then);
    }

    let (code, _, err) = embarc(dir.path(), &["verify"]);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("34 of 34 objects re-hashed"), "{err}");
    assert!(err.contains("all good"), "{err}");
}

#[test]
fn v1_archive_renders_byte_for_byte_as_before() {
    let dir = copy();
    let out_dir = dir.path().join("expected/render");
    let (code, out, err) = embarc(
        dir.path(),
        &[
            "--json",
            "render",
            "story.html",
            "notes.md",
            "-o",
            "../expected/render",
        ],
    );
    assert_eq!(code, Some(0), "{err}");
    // Only the reason a YouTube embed is kept is worded anew (it named "X
    // posts only"; YouTube videos are captured now, so it says how to
    // capture this one).
    let mut now = json_lines(&out);
    let youtube = &mut now[0]["embeds"][7];
    assert_eq!(youtube["provider"], "youtube");
    assert_eq!(
        youtube["reason"],
        "not in the archive; run `embarc archive` on this article"
    );
    youtube["reason"] = "not in the archive (embarc captures X posts only so far)".into();
    // Fields added since (what render removed from the page) are extra, and
    // say nothing was removed from these articles.
    for line in &mut now {
        let fields = line.as_object_mut().expect("object");
        assert_eq!(fields.remove("plain_links"), Some(0.into()), "{fields:?}");
        assert_eq!(
            fields.remove("removed_scripts"),
            Some(serde_json::Value::Array(Vec::new())),
            "{fields:?}"
        );
    }
    assert_eq!(now, json_lines(&expected("render.jsonl")));
    let then = fixture().join("expected/render");
    let mut files = 0;
    for entry in walkdir::WalkDir::new(&then) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(&then).expect("under");
            let now = std::fs::read(out_dir.join(rel))
                .unwrap_or_else(|e| panic!("{} not written: {e}", rel.display()));
            let then = std::fs::read(entry.path()).expect("read");
            if rel == Path::new("embarc.css") {
                // The stylesheet grows with new providers' cards; every rule
                // the old pages use is still there, unchanged.
                let now = String::from_utf8_lossy(&now).into_owned();
                for line in String::from_utf8_lossy(&then).lines() {
                    assert!(now.lines().any(|l| l == line), "embarc.css lost {line:?}");
                }
            } else {
                assert!(
                    now == then,
                    "{} differs from what embarc 0.1.0 rendered",
                    rel.display()
                );
            }
            files += 1;
        }
    }
    // Two pages, the stylesheet and six media files.
    assert_eq!(files, 9);
}

/// The WARC's records after `warcinfo` (which names the export's time).
fn records_after_warcinfo(path: &Path) -> Vec<Vec<u8>> {
    use std::io::Read;
    let mut all = Vec::new();
    flate2::read::MultiGzDecoder::new(std::fs::File::open(path).expect("warc"))
        .read_to_end(&mut all)
        .expect("gunzip");
    let marker = b"WARC/1.1\r\n";
    let starts: Vec<usize> = (0..all.len())
        .filter(|&i| all[i..].starts_with(marker))
        .collect();
    let mut records: Vec<Vec<u8>> = starts
        .windows(2)
        .map(|w| all[w[0]..w[1]].to_vec())
        .collect();
    if let Some(&last) = starts.last() {
        records.push(all[last..].to_vec());
    }
    assert!(
        records
            .first()
            .is_some_and(|r| r.windows(17).any(|w| w == b"WARC-Type: warcin")),
        "the first record is warcinfo"
    );
    records.remove(0);
    records
}

#[test]
fn v1_archive_exports_the_same_records() {
    let dir = copy();
    let (code, out, err) = embarc(
        dir.path(),
        &["--json", "export", "--warc", "../all.warc.gz"],
    );
    assert_eq!(code, Some(0), "{err}");
    let now = json_lines(&out).remove(0);
    let then = json_lines(&expected("export.jsonl")).remove(0);
    for field in ["posts", "captures", "format"] {
        assert_eq!(now[field], then[field], "{field}");
    }
    // Since 0.2 each post also has its page (a `resource` record, HTML):
    // one per post, and every record embarc 0.1 wrote is still there, byte
    // for byte, in the same order.
    assert_eq!(now["records"], then["records"].as_u64().expect("count") + 8);
    let all = records_after_warcinfo(&dir.path().join("all.warc.gz"));
    let is_page = |r: &Vec<u8>| {
        let head = String::from_utf8_lossy(&r[..r.len().min(600)]).into_owned();
        head.contains("WARC-Type: resource") && head.contains("Content-Type: text/html")
    };
    let pages = all.iter().filter(|r| is_page(r)).count();
    assert_eq!(pages, 8, "a page per post");
    let now: Vec<Vec<u8>> = all.into_iter().filter(|r| !is_page(r)).collect();
    let then = records_after_warcinfo(&fixture().join("expected/all.warc.gz"));
    assert_eq!(now.len(), 73);
    assert!(
        now == then,
        "the exported records differ from embarc 0.1.0's"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_capture_beside_v1_ones_renders_the_same_card() {
    let dir = copy();
    let server = support::fake_x::start().await;
    let mut args = vec!["--json".to_string()];
    for m in support::fake_x::mirror_flags(&server.base) {
        args.push("--mirror".into());
        args.push(m);
    }
    args.extend(
        [
            "add",
            "--refresh",
            "https://twitter.com/SamuelSusla/status/1641086480675225601",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, out, err) = embarc(dir.path(), &args);
    assert_eq!(code, Some(0), "{err}");
    let line = json_lines(&out).remove(0);
    assert_eq!(line["outcome"], "archived");
    assert_eq!(line["media"], 2);

    // The new record is v2, with the neutral post and its files.
    let (_, out, _) = embarc(
        dir.path(),
        &["--json", "show", "twitter:1641086480675225601"],
    );
    let captures = json_lines(&out);
    // Three v1 captures (the article cited it by URL and by short link, then
    // `add --refresh`), and the new one, last.
    assert_eq!(captures.len(), 4);
    let digest = captures[3]["capture"].as_str().expect("digest");
    let hex = digest.trim_start_matches("sha256:");
    let object = dir
        .path()
        .join("archive/objects/sha256")
        .join(&hex[..2])
        .join(hex);
    let record: Value =
        serde_json::from_slice(&std::fs::read(object).expect("record object")).expect("JSON");
    assert_eq!(record["schema"], "embarc.capture.v2");
    assert_eq!(record["source"], "syndication");
    assert_eq!(record["normalized"]["author"]["handle"], "SamuelSusla");
    let photo = &record["normalized"]["media"][0];
    assert_eq!(photo["kind"], "photo");
    assert!(
        photo["file"]["stored"]["digest"]
            .as_str()
            .is_some_and(|d| d.starts_with("sha256:"))
    );

    // The page renders from the new capture exactly as from the old ones.
    let (code, _, err) = embarc(dir.path(), &["render", "story.html", "-o", "../now"]);
    assert_eq!(code, Some(0), "{err}");
    let now = std::fs::read(dir.path().join("now/story.html")).expect("page");
    let then = std::fs::read(fixture().join("expected/render/story.html")).expect("page");
    assert!(
        now == then,
        "the card from a v2 capture differs from the v1 one"
    );
}
