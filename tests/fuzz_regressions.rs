//! Every input in `fuzz/regressions/` (the crashes and hangs the fuzzers
//! found, minimized) replayed on every `cargo test` through its fuzz target's
//! own body (the same files `cargo fuzz` builds), with the target's
//! invariants and libFuzzer's 10 s per-input timeout, so a fixed bug that
//! comes back fails CI without nightly or cargo-fuzz.

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;
#[path = "../fuzz/fuzz_targets/html_shaped.rs"]
mod html_shaped;

use std::path::PathBuf;
use std::time::{Duration, Instant};

#[test]
fn every_fuzz_regression_replays_clean() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "bin"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no regressions in {}", dir.display());
    for path in files {
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        // `<target>-<short name>.bin`
        let target = name.split_once('-').map_or("", |(t, _)| t);
        let run: fn(&[u8]) = match target {
            "detect" => common::run_detect,
            "detect_html_shaped" => html_shaped::run,
            other => panic!("{name}: no fuzz target {other:?}"),
        };
        let data = std::fs::read(&path).expect("read");
        let started = Instant::now();
        run(&data);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(10),
            "{name} took {took:?} (libFuzzer's timeout is 10 s)"
        );
    }
}
