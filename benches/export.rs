//! Export throughput of the real binary: an archive of 1,000 posts (a JSON
//! answer and two 200 KB photos each, and a 16 MB video every 100 posts:
//! ~570 MB of bodies, all incompressible) is built with the library on a
//! tmpfs, then `embarc export --warc` and `--wacz` write to the tmpfs. Reports
//! wall time, MB/s of bodies exported, output size and each run's peak RSS.
//! Target (issue 6): memory flat whatever the archive's size.
//!
//! `cargo bench --bench export`; `EMBARC_BENCH_POSTS` scales it,
//! `EMBARC_BENCH_DIR` picks the folder (default: a tmpfs).

use embarc::post::PostId;
use embarc::store::Archive;
use embarc::store::record::{CaptureOutcome, CaptureRecord, Exchange, Media};
use std::io::Read;
use std::process::Command;
use std::time::Instant;

/// Pseudo-random bytes generated on the fly.
struct Gen {
    state: u64,
    left: u64,
}

impl Read for Gen {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let b = self.state.to_le_bytes();
            chunk.copy_from_slice(&b[..chunk.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn random(seed: u64, len: u64) -> Gen {
    Gen {
        state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        left: len,
    }
}

/// Runs a command, returning wall seconds and its own peak RSS in MB.
#[expect(
    clippy::zombie_processes,
    reason = "the child is reaped with wait4, which also gives its own rusage"
)]
fn measure(cmd: &mut Command) -> (f64, f64) {
    let t = Instant::now();
    let child = cmd
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: wait4 on our own child; it writes only into the structs we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(status, 0, "{cmd:?} failed");
    (t.elapsed().as_secs_f64(), usage.ru_maxrss as f64 / 1024.0)
}

fn main() {
    let posts: u64 = std::env::var("EMBARC_BENCH_POSTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let base = std::env::var_os("EMBARC_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("/dev/shm"));
    let dir = tempfile::Builder::new()
        .prefix("embarc-bench-export-")
        .tempdir_in(&base)
        .expect("bench dir");
    let archive = Archive::open_or_create(dir.path().join("archive")).expect("archive");
    let t = Instant::now();
    let when = time::OffsetDateTime::now_utc();
    let mut body_bytes = 0u64;
    for n in 0..posts {
        let id = format!("9{n:018}");
        let url = format!("https://twitter.com/bench/status/{id}");
        let mut record = CaptureRecord::new(
            PostId::new(embarc::Provider::Twitter, id.clone()),
            url,
            when,
            CaptureOutcome::Ok,
        );
        let json = format!(r#"{{"__typename":"Tweet","id_str":"{id}","text":"bench"}}"#).repeat(40);
        let jd = archive.put_bytes(json.as_bytes()).expect("json");
        let exchange = |url: String, ct: &str, body, bytes| Exchange {
            url,
            via: None,
            method: "GET".into(),
            status: 200,
            headers: vec![
                ("content-type".into(), ct.into()),
                ("content-length".into(), format!("{bytes}")),
            ],
            body: Some(body),
            body_bytes: bytes,
            started_at: when,
            duration_ms: 10,
            user_agent: None,
        };
        record.exchanges.push(exchange(
            format!("https://cdn.syndication.twimg.com/tweet-result?id={id}"),
            "application/json",
            jd,
            json.len() as u64,
        ));
        body_bytes += json.len() as u64;
        let mut media = vec![
            ("photo", "image/jpeg", 200_000u64, "a.jpg"),
            ("photo", "image/jpeg", 200_000, "b.jpg"),
        ];
        if n % 100 == 0 {
            media.push(("video", "video/mp4", 16_000_000, "v.mp4"));
        }
        for (i, (role, ct, size, name)) in media.into_iter().enumerate() {
            let (d, bytes) = archive
                .put_reader(random(n * 10 + i as u64 + 1, size))
                .expect("media");
            let url = format!("https://pbs.twimg.com/media/{id}{name}");
            record.exchanges.push(exchange(url.clone(), ct, d, bytes));
            record.media.push(Media {
                role: role.into(),
                url,
                digest: d,
                bytes,
                content_type: Some(ct.into()),
            });
            body_bytes += bytes;
        }
        archive.put_capture(&record).expect("capture");
    }
    println!(
        "archive: {posts} posts, {:.0} MB of bodies, built in {:.1}s in {}",
        body_bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        dir.path().display()
    );
    for (flag, name) in [("--warc", "out.warc.gz"), ("--wacz", "out.wacz")] {
        let out = dir.path().join(name);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
        cmd.arg("--archive")
            .arg(dir.path().join("archive"))
            .args(["--quiet", "export", flag])
            .arg(&out);
        let (secs, rss) = measure(&mut cmd);
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        println!(
            "export {flag}: {secs:.2}s, {:.0} MB/s of bodies, output {:.0} MB, peak RSS {rss:.1} MB",
            body_bytes as f64 / 1e6 / secs,
            size as f64 / 1e6
        );
        let _ = std::fs::remove_file(&out);
    }
}
