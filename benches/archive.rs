//! Capture throughput against `curl --parallel`: `embarc add` of 1,000 posts
//! with 2 photos each (plus avatar and oEmbed: 5 requests a post) from the fake
//! X on 127.0.0.1, next to curl fetching the same 5,000 URLs into files (no
//! hashing, no fsync); then one post with a 300 MB video, next to curl fetching
//! that video; then the re-run that must send no request. Reports wall time and
//! each process's peak RSS. Targets (issue 4): ≤ 1.5× curl's time; peak RSS ≤
//! 100 MB whatever the media size.
//!
//! `cargo bench --bench archive`; `EMBARC_BENCH_POSTS` scales it,
//! `EMBARC_BENCH_DIR` picks the folder (default: a tmpfs).

#[path = "../tests/support/mod.rs"]
mod support;

use std::process::Command;
use std::time::Instant;
use support::fake_x;

/// Runs a command, returning wall seconds, its own peak RSS in MB, and stdout.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped with wait4, which also gives its own rusage"
)]
fn measure(cmd: &mut Command) -> (f64, f64, String) {
    let t = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut stdout = child.stdout.expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    // SAFETY: wait4 on our own child; it writes only into the structs we pass.
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = t.elapsed().as_secs_f64();
    (
        secs,
        usage.ru_maxrss as f64 / 1024.0,
        reader.join().unwrap_or_default(),
    )
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
    let base = server.base.clone();
    let embarc = |args: &[String]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
        cmd.arg("--archive").arg(&archive).args(["--json", "-q"]);
        for m in fake_x::mirror_flags(&base) {
            cmd.arg("--mirror").arg(m);
        }
        cmd.args(["add", "--concurrency", "16"]).args(args);
        cmd
    };
    let curl = |urls: &[String], dir: &std::path::Path| {
        std::fs::create_dir_all(dir).expect("curl dir");
        let config: String = urls
            .iter()
            .enumerate()
            .map(|(i, u)| format!("url = \"{u}\"\noutput = \"{}/{i}\"\n", dir.display()))
            .collect();
        let path = dir.join("curl.cfg");
        std::fs::write(&path, config).expect("curl config");
        let mut cmd = Command::new("curl");
        cmd.args(["--parallel", "--parallel-max", "16", "-s", "-K"])
            .arg(&path);
        cmd
    };

    // 1,000 posts with two photos.
    let ids: Vec<String> = (0..posts).map(fake_x::synthetic_id).collect();
    let urls: Vec<String> = ids
        .iter()
        .map(|id| format!("https://twitter.com/synthetic/status/{id}"))
        .collect();
    let before = server.total();
    let (secs, rss, out) = measure(&mut embarc(&urls));
    let requests = server.total() - before;
    let archived = out.matches("\"outcome\":\"archived\"").count();
    println!(
        "embarc add  {posts} posts: {secs:>6.2}s, {requests} requests ({:>6.0}/s), peak RSS {rss:>5.0} MB, archived {archived}",
        f64::from(requests) / secs
    );
    let same: Vec<String> = ids
        .iter()
        .flat_map(|id| {
            let n: u64 = id.parse().unwrap_or(0);
            [
                // The request embarc sends (X's parameters, which the fake checks).
                embarc::capture::twitter::syndication_url(
                    &embarc::capture::twitter::Endpoints {
                        syndication: format!("{base}/syndication/tweet-result"),
                        ..Default::default()
                    },
                    n,
                ),
                format!("{base}/publish/oembed?url=https%3A%2F%2Ftwitter.com%2Fi%2Fstatus%2F{id}&omit_script=1&dnt=true"),
                format!("{base}/pbs/profile_images/1/synthetic.jpg"),
                format!("{base}/pbs/media/{id}a?format=jpg&name=orig"),
                format!("{base}/pbs/media/{id}b?format=jpg&name=orig"),
            ]
        })
        .collect();
    let (curl_secs, curl_rss, _) = measure(&mut curl(&same, &scratch.path().join("curl-posts")));
    println!(
        "curl        {} URLs:   {curl_secs:>6.2}s, peak RSS {curl_rss:>5.0} MB  -> embarc/curl = {:.2}x",
        same.len(),
        secs / curl_secs
    );

    // One 300 MB video.
    let video_post = format!("https://twitter.com/video/status/{}", fake_x::VIDEO_ID);
    let (secs, rss, out) = measure(&mut embarc(std::slice::from_ref(&video_post)));
    println!(
        "embarc add  1 post with a {} MB video: {secs:>6.2}s, peak RSS {rss:>5.0} MB, archived {}",
        fake_x::VIDEO_BYTES / 1_000_000,
        out.matches("\"outcome\":\"archived\"").count()
    );
    let video = format!(
        "{base}/video/ext_tw_video/{}/pu/vid/1280x720/big.mp4",
        fake_x::VIDEO_ID
    );
    let (curl_secs, curl_rss, _) = measure(&mut curl(&[video], &scratch.path().join("curl-video")));
    println!(
        "curl        the video:  {curl_secs:>6.2}s, peak RSS {curl_rss:>5.0} MB  -> embarc/curl = {:.2}x",
        secs / curl_secs
    );

    // The re-run: no request.
    let before = server.total();
    let (secs, rss, out) = measure(&mut embarc(&urls));
    println!(
        "re-run      {posts} posts: {secs:>6.2}s, {} requests, peak RSS {rss:>5.0} MB, unchanged {}",
        server.total() - before,
        out.matches("\"outcome\":\"unchanged\"").count()
    );
}
