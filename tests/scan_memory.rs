//! Scan memory on a pathological page, through the real binary (issue 19): a
//! 100 MB article of unclosed embed blockquotes, each holding a paragraph with
//! a t.co link and an attribution line, is scanned in under 250 MB of peak
//! resident memory, and what it holds is found. (`scripts/scan-memory` measures
//! this page and others on a release build.)

use std::io::{BufWriter, Read, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

/// The article's size.
const PAGE_BYTES: usize = 100 * 1024 * 1024;

/// The bound on the scan's peak RSS (issue 19's "done when").
const PEAK_RSS_BOUND: u64 = 250_000_000;

/// One unclosed blockquote, as `scripts/scan-memory` writes it.
const UNIT: &str = r#"<blockquote class="twitter-tweet"><p lang="en">some words here https://t.co/abc</p>&mdash; A (@a) "#;

#[test]
fn a_100_mb_page_of_unclosed_blockquotes_is_scanned_in_under_250_mb() {
    // On a tmpfs where there is one: the page costs no disk, and its pages
    // are not the scan's (it reads the file, it does not map it).
    let shm = PathBuf::from("/dev/shm");
    let dir = if shm.is_dir() {
        tempfile::tempdir_in(&shm)
    } else {
        tempfile::tempdir()
    }
    .expect("tempdir");
    let page = dir.path().join("unclosed.html");
    let mut file = BufWriter::new(std::fs::File::create(&page).expect("create"));
    file.write_all(b"<html><body>").expect("write");
    for _ in 0..PAGE_BYTES / UNIT.len() {
        file.write_all(UNIT.as_bytes()).expect("write");
    }
    file.into_inner().expect("flush").sync_all().expect("sync");
    let size = std::fs::metadata(&page).expect("stat").len();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_embarc"))
        .args(["-q", "--json", "scan", "--max-size"])
        .arg((size + 1).to_string())
        .arg(&page)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run embarc");
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    // The child's own peak, from wait4's resource usage (VmHWM is gone once
    // it has exited, and polling it could miss the peak).
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain structs for the kernel to fill; `pid` is our child, not
    // waited for elsewhere (the `Child` is dropped without `wait`).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    let elapsed = started.elapsed();
    let peak = usage.ru_maxrss as u64 * 1024;
    eprintln!(
        "{size} bytes scanned in {:.1} s, peak RSS {:.1} MB",
        elapsed.as_secs_f64(),
        peak as f64 / 1e6
    );

    assert!(libc::WIFEXITED(status), "embarc died: status {status}");
    assert_eq!(libc::WEXITSTATUS(status), 0, "{err}");
    // Read as a browser reads it: the first blockquote holds all the others
    // and runs to the end of the page; its lead is the last t.co link in it.
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 1, "{out:.2000}");
    let embed = &lines[0];
    assert_eq!(embed["form"], "blockquote", "{embed}");
    assert_eq!(embed["short_link"], "t.co/abc", "{embed}");
    assert_eq!(embed["span"], serde_json::json!([12, size]), "{embed}");
    assert!(
        peak < PEAK_RSS_BOUND,
        "peak RSS {:.1} MB scanning a {:.1} MB page (bound {} MB)",
        peak as f64 / 1e6,
        size as f64 / 1e6,
        PEAK_RSS_BOUND / 1_000_000
    );
}
