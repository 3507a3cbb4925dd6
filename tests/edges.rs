//! Edge cases of issue 19, end to end through the real binary: exports to
//! streams (stdout, a FIFO, a device) that must never be replaced, render
//! inputs that are symlinks, article URLs that reach private addresses
//! through IPv6 forms or a mirror's host on another port, scan inputs that
//! are FIFOs or UTF-16 without a BOM. (Scan memory on pathological markup:
//! tests/scan_memory.rs.)
//!
//! The export checks need `warcio` on PATH (`pip install warcio`); without it
//! they fail, they do not skip.

mod support;

use std::io::Read;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_embarc"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn fixture() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/archive-v1")
}

/// A scratch folder holding a copy of the fixture archive at `archive/`.
fn with_archive() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    support::copy_tree(&fixture().join("archive"), &archive);
    (dir, archive)
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("run mkfifo")
        .success();
    assert!(ok, "mkfifo {}", path.display());
}

/// Checks a WARC with `warcio check` and returns its record count
/// (`warcio index` lines).
fn warcio_valid(path: &Path) -> usize {
    let out = Command::new("warcio")
        .args(["check", "-v"])
        .arg(path)
        .output()
        .expect("`warcio` is not on PATH: run `pip install warcio`");
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "warcio check failed:\n{said}");
    assert!(!said.contains("failed"), "{said}");
    let out = Command::new("warcio")
        .arg("index")
        .arg(path)
        .output()
        .expect("warcio index");
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout).lines().count()
}

/// The reference export: to a regular file.
fn export_to_file(dir: &Path, archive: &Path) -> Vec<u8> {
    let file = dir.join("ref.warc.gz");
    let out = Command::new(bin())
        .arg("--archive")
        .arg(archive)
        .args(["export", "--warc"])
        .arg(&file)
        .output()
        .expect("run embarc");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    std::fs::read(&file).expect("read WARC")
}

#[test]
fn export_to_stdout_streams_a_valid_warc_into_a_pipe() {
    let (dir, archive) = with_archive();
    let reference = export_to_file(dir.path(), &archive);
    let mut child = Command::new(bin())
        .arg("--archive")
        .arg(&archive)
        .args(["export", "--warc", "-"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run embarc");
    // Read as it is written (a pipe, not a file embarc could seek or rename).
    let mut got = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut got)
        .expect("read the pipe");
    let out = child.wait_with_output().expect("wait");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("wrote stdout"), "summary on stderr: {err}");
    let piped = dir.path().join("piped.warc.gz");
    std::fs::write(&piped, &got).expect("write");
    let records = warcio_valid(&piped);
    assert_eq!(records, warcio_valid(&dir.path().join("ref.warc.gz")));
    // Same records as the file export (only the warcinfo record differs).
    assert!(got.len() > 1000 && got.len().abs_diff(reference.len()) < 64);
}

#[test]
fn export_to_stdout_refuses_json_which_would_share_stdout() {
    let (_dir, archive) = with_archive();
    let out = Command::new(bin())
        .arg("--archive")
        .arg(&archive)
        .args(["--json", "export", "--warc", "-"])
        .output()
        .expect("run embarc");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--json"), "{err}");
    assert!(out.stdout.is_empty(), "nothing on stdout");
    // The same stdout by another name.
    let out = Command::new(bin())
        .arg("--archive")
        .arg(&archive)
        .args(["--json", "export", "--warc", "/dev/stdout"])
        .output()
        .expect("run embarc");
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("/dev/stdout") && err.contains("--json"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn export_to_a_fifo_writes_into_it_and_leaves_it_a_fifo() {
    let (dir, archive) = with_archive();
    export_to_file(dir.path(), &archive);
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(&fifo).expect("read the FIFO"))
    };
    let out = Command::new(bin())
        .arg("--archive")
        .arg(&archive)
        .args(["export", "--warc"])
        .arg(&fifo)
        .output()
        .expect("run embarc");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let got = reader.join().expect("reader");
    let meta = std::fs::symlink_metadata(&fifo).expect("still there");
    assert!(
        meta.file_type().is_fifo(),
        "the FIFO was replaced: {meta:?}"
    );
    let copy = dir.path().join("fifo.warc.gz");
    std::fs::write(&copy, &got).expect("write");
    assert_eq!(
        warcio_valid(&copy),
        warcio_valid(&dir.path().join("ref.warc.gz"))
    );
    let stray: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".embarc-export-"))
        .collect();
    assert!(stray.is_empty(), "temp files left: {stray:?}");
}

#[test]
fn export_to_dev_null_leaves_it_a_character_device() {
    let (dir, archive) = with_archive();
    // The WACZ needs the WARC too: a temp file, beside the WACZ.
    let wacz = dir.path().join("out.wacz");
    let out = Command::new(bin())
        .arg("--archive")
        .arg(&archive)
        .args(["export", "--warc", "/dev/null", "--wacz"])
        .arg(&wacz)
        .output()
        .expect("run embarc");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let meta = std::fs::symlink_metadata("/dev/null").expect("/dev/null");
    assert!(meta.file_type().is_char_device(), "/dev/null: {meta:?}");
    assert!(std::fs::metadata(&wacz).expect("WACZ").len() > 1000);
    let out = Command::new(bin())
        .arg("--archive")
        .arg(&archive)
        .args(["export", "--wacz", "/dev/null"])
        .output()
        .expect("run embarc");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let meta = std::fs::symlink_metadata("/dev/null").expect("/dev/null");
    assert!(meta.file_type().is_char_device(), "/dev/null: {meta:?}");
}

/// Every file under `dir`, as relative paths, with their contents.
fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("walk"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).expect("under");
            (
                rel.display().to_string(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect()
}

#[test]
fn render_keeps_to_its_input_folders_unless_told_to_follow_links() {
    use std::os::unix::fs::symlink;
    let (dir, archive) = with_archive();
    let input = dir.path().join("in");
    let outside = dir.path().join("private");
    std::fs::create_dir_all(input.join("sub")).expect("mkdir");
    std::fs::create_dir_all(outside.join("docs")).expect("mkdir");
    std::fs::write(input.join("a.html"), "<p>an article</p>").expect("write");
    std::fs::write(input.join("README"), "plain notes, not an article\n").expect("write");
    std::fs::write(outside.join("hostname"), "SECRET-HOST\n").expect("write");
    std::fs::write(outside.join("page.html"), "<p>SECRET-PAGE</p>").expect("write");
    std::fs::write(outside.join("docs/b.html"), "<p>SECRET-DIR</p>").expect("write");
    symlink(outside.join("hostname"), input.join("host")).expect("symlink");
    symlink("/etc/hostname", input.join("etc-host")).expect("symlink");
    symlink(outside.join("page.html"), input.join("page.html")).expect("symlink");
    symlink(outside.join("docs"), input.join("docs")).expect("symlink");
    // A link that stays inside is an article like any other.
    symlink(input.join("a.html"), input.join("sub/again.html")).expect("symlink");

    let render = |out: &Path, extra: &[&str]| {
        Command::new(bin())
            .arg("--archive")
            .arg(&archive)
            .arg("render")
            .args(extra)
            .arg(&input)
            .arg("-o")
            .arg(out)
            .output()
            .expect("run embarc")
    };
    let out = dir.path().join("out");
    let run = render(&out, &[]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{err}");
    for name in ["host", "etc-host", "page.html", "docs"] {
        assert!(
            err.lines()
                .any(|l| l.contains(&format!("in/{name}:")) && l.contains("--follow-links")),
            "{name} named: {err}"
        );
    }
    assert!(
        err.contains("skipped") && err.contains("README"),
        "README skipped: {err}"
    );
    let files = tree(&out);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"a.html"), "{names:?}");
    assert!(names.contains(&"sub/again.html"), "{names:?}");
    for (name, bytes) in &files {
        let t = text(bytes);
        assert!(!t.contains("SECRET"), "{name} publishes a secret: {t}");
        assert!(!name.contains("README") && !name.contains("host"), "{name}");
        assert!(!name.starts_with("docs"), "{name}");
    }

    // --follow-links publishes the linked articles, still not plain text.
    let out = dir.path().join("followed");
    let run = render(&out, &["--follow-links"]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{err}");
    let files = tree(&out);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"page.html"), "{names:?}");
    assert!(names.contains(&"docs/b.html"), "{names:?}");
    assert!(
        !names
            .iter()
            .any(|n| n.contains("host") || n.contains("README")),
        "plain-text files are not articles: {names:?}"
    );
}

/// A tiny HTTP server on 127.0.0.1 (std only): answers each request with
/// `reply(path)` and counts the connections it accepts.
struct Trap {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Trap {
    fn start(reply: fn(&str, u16) -> String) -> Trap {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = first.split_whitespace().nth(1).unwrap_or("/").to_string();
                let _ = stream.write_all(reply(&path, port).as_bytes());
            }
        });
        Trap { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(std::sync::atomic::Ordering::SeqCst)
    }
}

fn secret(_path: &str, _port: u16) -> String {
    let body = "<p>SECRET from an internal service</p>";
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

fn scan_url(url: &str, mirrors: &[String]) -> std::process::Output {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut cmd = Command::new(bin());
    cmd.arg("--archive").arg(dir.path().join("archive"));
    for m in mirrors {
        cmd.arg("--mirror").arg(m);
    }
    cmd.args(["scan", url]).output().expect("run embarc")
}

#[test]
fn article_urls_on_ipv6_forms_of_private_addresses_are_refused() {
    let trap = Trap::start(secret);
    let p = trap.port;
    for host in [
        "[64:ff9b::7f00:1]",
        "[64:ff9b::127.0.0.1]",
        "[64:ff9b:1::7f00:1]",
        "[::127.0.0.1]",
        "[::ffff:127.0.0.1]",
        "[2002:7f00:1::1]",
        "[2001:0:7f00:1::1]",
        "[fec0::1]",
        "[fd00::1]",
        "[100::1]",
    ] {
        let url = format!("http://{host}:{p}/article");
        let out = scan_url(&url, &[]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{url}: {err}");
        assert!(err.contains("not a public address"), "{url}: {err}");
        assert!(!text(&out.stdout).contains("SECRET"), "{url}");
    }
    assert_eq!(trap.hits(), 0, "the trap server was reached");
}

#[test]
fn a_mirror_trusts_its_own_host_and_port_only() {
    // The mirror's server: a page there redirects to the same host name on
    // the trap's port.
    fn mirror(path: &str, _port: u16) -> String {
        let to = path.strip_prefix("/go/").unwrap_or("0");
        format!(
            "HTTP/1.1 302 Found\r\nlocation: http://localhost:{to}/internal\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        )
    }
    let trap = Trap::start(secret);
    let base = Trap::start(mirror);
    let flag = format!("t.co=http://localhost:{}/t.co", base.port);
    // Straight to the trap, by the mirror's host name on another port.
    let url = format!("http://localhost:{}/internal", trap.port);
    let out = scan_url(&url, std::slice::from_ref(&flag));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("loopback, private"), "{err}");
    assert_eq!(trap.hits(), 0, "fetched through the mirror's trust: {err}");
    // Through a redirect from the mirror's own host and port.
    let url = format!("http://localhost:{}/go/{}", base.port, trap.port);
    let out = scan_url(&url, std::slice::from_ref(&flag));
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        base.hits() >= 1,
        "the mirror's own host and port is trusted: {err}"
    );
    assert_eq!(trap.hits(), 0, "a redirect reached the trap: {err}");
}

const TWEET: &str = r#"<blockquote class="twitter-tweet"><p>words</p>&mdash; A (@a) <a href="https://twitter.com/a/status/20">June 1, 2024</a></blockquote>"#;

fn scan_json(args: &[&str]) -> (Option<i32>, Vec<serde_json::Value>, String) {
    let out = Command::new(bin())
        .arg("--json")
        .arg("scan")
        .args(args)
        .output()
        .expect("run embarc");
    let lines = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (out.status.code(), lines, text(&out.stderr))
}

#[test]
fn scan_reads_a_fifo_as_a_stream_with_the_size_cap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = dir.path().join("article");
    mkfifo(&fifo);
    let f = fifo.to_string_lossy().into_owned();
    // The writer comes late: scan waits for it (and says so), then reads.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            // Well after scan's 2 s notice, even on a loaded machine.
            std::thread::sleep(std::time::Duration::from_millis(5000));
            std::fs::write(&fifo, format!("<html><body>{TWEET}</body></html>")).expect("write");
        })
    };
    let (code, lines, err) = scan_json(&[&f]);
    writer.join().expect("writer");
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("waiting for a writer"), "{err}");
    assert_eq!(lines.len(), 1, "one embed: {lines:?}");
    assert_eq!(lines[0]["id"], "20", "{lines:?}");

    // More than --max-size is refused by name, whatever keeps writing.
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut w = std::fs::OpenOptions::new()
                .write(true)
                .open(&fifo)
                .expect("open");
            let chunk = vec![b'a'; 64 * 1024];
            // Stops when the reader goes away (EPIPE).
            while w.write_all(&chunk).is_ok() {}
        })
    };
    let (code, lines, err) = scan_json(&["--max-size", "100000", &f]);
    writer.join().expect("writer");
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains(&f) && err.contains("--max-size"), "{err}");
    assert!(lines.iter().all(|l| l["id"].is_null()), "{lines:?}");
}

#[test]
fn scan_decodes_utf16_without_a_byte_order_mark() {
    let dir = tempfile::tempdir().expect("tempdir");
    let page = format!("<html><body>\n<p>Text, «ça va»</p>\n{TWEET}\n</body></html>\n");
    let le: Vec<u8> = page.encode_utf16().flat_map(u16::to_le_bytes).collect();
    let be: Vec<u8> = page.encode_utf16().flat_map(u16::to_be_bytes).collect();
    for (name, bytes) in [("le", le), ("be", be)] {
        // No extension: the kind is sniffed too.
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).expect("write");
        let (code, lines, err) = scan_json(&[&path.to_string_lossy()]);
        assert_eq!(code, Some(0), "{name}: {err}");
        assert_eq!(lines.len(), 1, "{name}: one embed: {lines:?}");
        let line = &lines[0];
        assert_eq!(line["form"], "blockquote", "{name}: read as HTML: {line}");
        assert_eq!(line["id"], "20", "{name}: {line}");
        assert_eq!(line["line"], 3, "{name}: {line}");
        // The span is in the file's own bytes: it starts at `<blockquote`.
        let start = line["span"][0].as_u64().expect("span") as usize;
        let expect: Vec<u8> = if name == "le" {
            "<b".encode_utf16().flat_map(u16::to_le_bytes).collect()
        } else {
            "<b".encode_utf16().flat_map(u16::to_be_bytes).collect()
        };
        assert_eq!(&bytes[start..start + 4], &expect[..], "{name}: {line}");
    }
}
