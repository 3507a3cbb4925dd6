//! Capture throughput: `embarc add` of 1,000 posts with 2 photos each (plus
//! avatar) from the fake X on 127.0.0.1, then the re-run that must send no
//! request. Reports wall time, posts/s, requests/s and the embarc process's
//! peak memory. `cargo bench --bench archive`; `EMBARC_BENCH_POSTS` scales it,
//! `EMBARC_BENCH_DIR` picks the archive folder (default: a tmpfs).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::Instant;
use support::fake_x;

fn child_peak_rss_mb() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and reads nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    if rc == 0 {
        usage.ru_maxrss as f64 / 1024.0
    } else {
        f64::NAN
    }
}

fn main() {
    let posts: u64 = std::env::var("EMBARC_BENCH_POSTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let base_dir = std::env::var_os("EMBARC_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            if std::path::Path::new("/dev/shm").is_dir() {
                "/dev/shm".into()
            } else {
                std::env::temp_dir()
            }
        });
    let scratch = tempfile::tempdir_in(base_dir).expect("scratch dir");
    let archive = scratch.path().join("archive");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(fake_x::start());
    let urls: Vec<String> = (0..posts)
        .map(|n| {
            format!(
                "https://twitter.com/synthetic/status/{}",
                fake_x::synthetic_id(n)
            )
        })
        .collect();
    let run = |label: &str| {
        let before = server.total();
        let t = Instant::now();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
        cmd.arg("--archive").arg(&archive).args(["--json", "-q"]);
        for m in fake_x::mirror_flags(&server.base) {
            cmd.arg("--mirror").arg(m);
        }
        let out = cmd
            .args(["add", "--concurrency", "16"])
            .args(&urls)
            .output()
            .expect("embarc");
        let secs = t.elapsed().as_secs_f64();
        let requests = server.total() - before;
        let text = String::from_utf8_lossy(&out.stdout);
        let archived = text.matches("\"outcome\":\"archived\"").count();
        let unchanged = text.matches("\"outcome\":\"unchanged\"").count();
        println!(
            "{label:<8} {posts} posts in {secs:>6.2}s = {:>7.1} posts/s, {requests:>5} requests ({:>7.1}/s); archived {archived}, unchanged {unchanged}; exit {:?}",
            posts as f64 / secs,
            f64::from(requests) / secs,
            out.status.code()
        );
    };
    run("first");
    run("re-run");
    println!(
        "peak memory of the embarc processes: {:.0} MB",
        child_peak_rss_mb()
    );
}
