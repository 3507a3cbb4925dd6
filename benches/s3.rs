//! The same data into a folder and into a bucket (issue 7): the real release
//! binary adds N synthetic posts (two 64 KB photos, the avatar and the JSON
//! answers each) from the fake X on 127.0.0.1 into a filesystem archive, then
//! into `s3://BUCKET/bench` on a local `moto_server` (tests/support/s3.rs);
//! then the re-run (no request), `verify`, `verify --sample 5` and
//! `export --warc` on both. Prints wall time and MB/s per step, fs next to s3.
//! MB are the archive's object bytes (add, verify; 5% of them for the sample)
//! or the WARC's size (export).
//!
//! moto is a Python mock, not a storage server: its numbers bound embarc's S3
//! overhead from above (per-request latency), they are not S3's throughput.
//!
//! `cargo bench --bench s3`; `EMBARC_BENCH_POSTS` scales it (default 300),
//! `EMBARC_BENCH_DIR` picks the folder (default: a tmpfs). Needs `moto_server`
//! on PATH (`pip install 'moto[server]'`).

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use support::fake_x;
use support::s3::S3;

/// Where one archive lives.
struct Target {
    name: &'static str,
    archive: String,
    /// `--index` for a bucket; a folder keeps its index inside.
    index: Option<PathBuf>,
}

/// One step's figures for one target.
#[derive(Clone, Copy)]
struct Figure {
    secs: f64,
    mb: f64,
}

fn run(cmd: &mut Command, what: &str) -> (f64, String) {
    let t = Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    let secs = t.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{what}: exit {:?}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    (secs, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn folder_bytes(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn main() {
    let posts: u64 = std::env::var("EMBARC_BENCH_POSTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let base_dir = std::env::var_os("EMBARC_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            if Path::new("/dev/shm").is_dir() {
                "/dev/shm".into()
            } else {
                std::env::temp_dir()
            }
        });
    let scratch = tempfile::Builder::new()
        .prefix("embarc-bench-s3-")
        .tempdir_in(base_dir)
        .expect("scratch dir");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let server = runtime.block_on(fake_x::start());
    let s3 = support::s3::start();
    let fs_archive = scratch.path().join("archive");
    let targets = [
        Target {
            name: "fs",
            archive: fs_archive.to_string_lossy().into_owned(),
            index: None,
        },
        Target {
            name: "s3",
            archive: s3.url("bench"),
            index: Some(scratch.path().join("bench-index.sqlite")),
        },
    ];
    let embarc = |t: &Target, args: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_embarc"));
        for name in S3::foreign_env() {
            cmd.env_remove(name);
        }
        cmd.envs(s3.env())
            .env("XDG_CACHE_HOME", scratch.path().join("cache"))
            .arg("--archive")
            .arg(&t.archive)
            .args(["--json", "-q"]);
        if let Some(i) = &t.index {
            cmd.arg("--index").arg(i);
        }
        for m in fake_x::mirror_flags(&server.base) {
            cmd.arg("--mirror").arg(m);
        }
        cmd.args(args);
        cmd
    };
    let stored = |t: &Target| -> f64 {
        let bytes = match t.index {
            None => folder_bytes(&fs_archive.join("objects")),
            Some(_) => s3
                .list_sized("bench/objects/", None)
                .iter()
                .map(|(_, n)| n)
                .sum(),
        };
        bytes as f64 / 1e6
    };

    let ids: Vec<String> = (0..posts)
        .map(|n| format!("twitter:{}", fake_x::synthetic_id(n)))
        .collect();
    let mut add: Vec<&str> = vec!["add", "--concurrency", "16"];
    add.extend(ids.iter().map(String::as_str));
    let steps = [
        "add",
        "re-run add",
        "verify",
        "verify --sample 5",
        "export --warc",
    ];
    let mut table: Vec<Vec<Figure>> = Vec::new();
    for t in &targets {
        let mut row = Vec::new();
        let before = server.total();
        let (secs, out) = run(&mut embarc(t, &add), &format!("{}: add", t.name));
        let archived = out.matches("\"outcome\":\"archived\"").count();
        assert_eq!(archived as u64, posts, "{}: archived {archived}", t.name);
        let requests = server.total() - before;
        let mb = stored(t);
        row.push(Figure { secs, mb });
        let before = server.total();
        let (secs, _) = run(&mut embarc(t, &add), &format!("{}: re-run", t.name));
        assert_eq!(
            server.total(),
            before,
            "{}: the re-run sent requests",
            t.name
        );
        row.push(Figure { secs, mb: 0.0 });
        let (secs, _) = run(&mut embarc(t, &["verify"]), &format!("{}: verify", t.name));
        row.push(Figure { secs, mb });
        let (secs, _) = run(
            &mut embarc(t, &["verify", "--sample", "5"]),
            &format!("{}: verify --sample 5", t.name),
        );
        row.push(Figure {
            secs,
            mb: mb * 0.05,
        });
        let warc = scratch.path().join(format!("{}.warc.gz", t.name));
        let w = warc.to_string_lossy().into_owned();
        let (secs, _) = run(
            &mut embarc(t, &["export", "--warc", &w]),
            &format!("{}: export", t.name),
        );
        let size = std::fs::metadata(&warc).map(|m| m.len()).unwrap_or(0);
        row.push(Figure {
            secs,
            mb: size as f64 / 1e6,
        });
        println!(
            "{}: {posts} posts, {requests} requests to the fake X, {mb:.1} MB of objects",
            t.name
        );
        table.push(row);
    }

    println!();
    println!(
        "{:<20} {:>9} {:>9} {:>9} {:>9} {:>7}",
        "step", "fs s", "fs MB/s", "s3 s", "s3 MB/s", "s3/fs"
    );
    for (i, step) in steps.iter().enumerate() {
        let (fs, s3) = (table[0][i], table[1][i]);
        let rate = |f: Figure| {
            if f.mb > 0.0 {
                format!("{:.1}", f.mb / f.secs.max(1e-9))
            } else {
                "-".to_string()
            }
        };
        println!(
            "{step:<20} {:>9.2} {:>9} {:>9.2} {:>9} {:>6.1}x",
            fs.secs,
            rate(fs),
            s3.secs,
            rate(s3),
            s3.secs / fs.secs.max(1e-9)
        );
    }
}
