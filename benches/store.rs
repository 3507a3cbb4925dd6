//! Archive throughput on ~1 GB of mixed objects: put (large objects streamed,
//! each fsynced; small objects in batches with one sync per batch), then verify
//! (re-hash) of the cached data on one core and on all cores, with peak memory.
//!
//! `cargo bench --bench store`; `EMBARC_BENCH_DIR` picks the folder (default
//! `target/bench-store`, on the project's disk: fsync cost is the point);
//! `EMBARC_BENCH_MB` scales the total. Targets (issue 3): verify ≥ 1 GB/s per
//! core on cached data; put ≥ 70% of the disk's fsync'd write speed for large
//! objects; memory flat.

use embarc::store::{Archive, Hasher, verify};
use std::io::Read;
use std::path::PathBuf;
use std::time::Instant;

/// Pseudo-random bytes generated on the fly: no object is ever held whole.
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

fn random_bytes(seed: u64, len: u64) -> Gen {
    Gen {
        state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        left: len,
    }
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    let total_mb: u64 = std::env::var("EMBARC_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let dir = std::env::var_os("EMBARC_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-store"));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = Archive::open_or_create(&dir).expect("archive");

    // 62.5% of the bytes in 32 MiB objects, the rest in objects of 1–31 KiB.
    let large_bytes = total_mb * 1_000_000 * 5 / 8;
    let large_n = (large_bytes / (32 << 20)).max(1);
    let t = Instant::now();
    let mut large_total = 0;
    for i in 0..large_n {
        let (_, n) = archive
            .put_reader(random_bytes(1000 + i, 32 << 20))
            .expect("put large");
        large_total += n;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "put large:  {large_n:>6} objects {:>8.1} MB in {secs:>6.2}s = {:>7.1} MB/s (each fsynced)",
        large_total as f64 / 1e6,
        large_total as f64 / 1e6 / secs
    );

    let small_budget = total_mb * 1_000_000 - large_total.min(total_mb * 1_000_000);
    let t = Instant::now();
    let (mut small_n, mut small_total, mut seed) = (0u64, 0u64, 0u64);
    let mut buf = vec![0u8; 32 << 10];
    while small_total < small_budget {
        let mut batch = archive.batch();
        for _ in 0..1000 {
            seed += 1;
            let len = 1024 + (seed * 7919 % (30 << 10)) as usize;
            random_bytes(seed, len as u64)
                .read_exact(&mut buf[..len])
                .expect("gen");
            batch.put_bytes(&buf[..len]).expect("put small");
            small_n += 1;
            small_total += len as u64;
        }
        batch.commit().expect("commit");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "put small:  {small_n:>6} objects {:>8.1} MB in {secs:>6.2}s = {:>7.1} MB/s, {:>7.0} objects/s (one sync per 1,000)",
        small_total as f64 / 1e6,
        small_total as f64 / 1e6 / secs,
        small_n as f64 / secs
    );

    // For comparison: small objects each with its own fsync.
    let t = Instant::now();
    for i in 0..2000u64 {
        let len = 1024 + (i * 7919 % (30 << 10)) as usize;
        random_bytes(u64::MAX - i, len as u64)
            .read_exact(&mut buf[..len])
            .expect("gen");
        archive.put_bytes(&buf[..len]).expect("put");
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "put small unbatched: 2000 objects in {secs:.2}s = {:.0} objects/s (one fsync each)",
        2000.0 / secs
    );

    let t = Instant::now();
    let listed = verify::list_objects(&archive).expect("list").len();
    println!(
        "list:       {listed:>6} objects in {:.2}s",
        t.elapsed().as_secs_f64()
    );
    for threads in [
        1,
        std::thread::available_parallelism().map_or(1, |n| n.get()),
    ] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        let t = Instant::now();
        let report = pool
            .install(|| verify::verify(&archive, 100.0, &|_| {}))
            .expect("verify");
        let secs = t.elapsed().as_secs_f64();
        assert!(report.problems.is_empty());
        println!(
            "verify {threads} thread(s): {:>6} objects {:>8.1} MB in {secs:>6.2}s = {:>7.1} MB/s, {:>7.0} objects/s",
            report.objects_checked,
            report.bytes_checked as f64 / 1e6,
            report.bytes_checked as f64 / 1e6 / secs,
            report.objects_checked as f64 / secs
        );
    }
    println!("peak memory of put and verify: {:.0} MB", peak_rss_mb());
    // Raw SHA-256 speed on this CPU, for reference.
    let mut sample = vec![0u8; 256 << 20];
    random_bytes(1, sample.len() as u64)
        .read_exact(&mut sample)
        .expect("gen");
    let t = Instant::now();
    let mut h = Hasher::new();
    h.update(&sample);
    let _ = h.finish();
    println!(
        "sha256 in memory: {:.0} MB/s",
        256.0 * 1.048576 / t.elapsed().as_secs_f64()
    );
    drop(sample);

    let _ = std::fs::remove_dir_all(&dir);
}
