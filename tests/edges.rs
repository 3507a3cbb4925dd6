//! Edge cases of issue 19, end to end through the real binary: exports to
//! streams (stdout, a FIFO, a device) that must never be replaced, render
//! inputs that are symlinks, article URLs that reach private addresses
//! through IPv6 forms or a mirror's host on another port, scan inputs that
//! are FIFOs or UTF-16 without a BOM, and scan memory on pathological markup.
//!
//! The export checks need `warcio` on PATH (`pip install warcio`); without it
//! they fail, they do not skip.

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

fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let dest = to.join(entry.path().strip_prefix(from).expect("under"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

/// A scratch folder holding a copy of the fixture archive at `archive/`.
fn with_archive() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    copy_tree(&fixture().join("archive"), &archive);
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
