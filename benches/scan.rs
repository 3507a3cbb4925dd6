//! Scan throughput: the corpus repeated to ≥ 200 MB, and an embed-free text of
//! the same size, through `embarc::detect`, on one core and on all cores.
//!
//! Run with `cargo bench --bench scan` (set `EMBARC_CORPUS` to the articles folder
//! if it is not at `tests/fixtures/corpus/articles`, `EMBARC_BENCH_MB` to change size).
//! Targets (issue 2): ≥ 1 GB/s per core on embed-free input, ≥ 100 MB/s per core
//! on the corpus.

use embarc::{Kind, detect, input};
use rayon::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

fn corpus_dir() -> PathBuf {
    std::env::var_os("EMBARC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/articles")
        })
}

fn load_corpus() -> Vec<(Vec<u8>, Kind)> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(corpus_dir())
        .expect("corpus folder (set EMBARC_CORPUS)")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if let Some(kind) = input::kind_for_path(&p) {
            out.push((std::fs::read(&p).expect("read article"), kind));
        }
    }
    out
}

/// Real words from the corpus' text articles with every word that could hint at
/// an embed removed, cut into 20 KB articles.
fn embed_free(corpus: &[(Vec<u8>, Kind)], target: usize) -> Vec<(Vec<u8>, Kind)> {
    let mut words: Vec<&[u8]> = Vec::new();
    for (bytes, kind) in corpus {
        if *kind == Kind::Text {
            words.extend(
                bytes
                    .split(|b| b.is_ascii_whitespace())
                    .filter(|w| !w.is_empty()),
            );
        }
    }
    let mut articles = Vec::new();
    let mut total = 0;
    let mut i = 0;
    while total < target {
        let mut a = Vec::with_capacity(20_500);
        while a.len() < 20_000 {
            let w = words[i % words.len()];
            i += 1;
            let candidate = [w, b" "].concat();
            if !detect::might_contain_embeds(&candidate) {
                a.extend_from_slice(&candidate);
                if i % 17 == 0 {
                    a.push(b'\n');
                }
            }
        }
        assert!(!detect::might_contain_embeds(&a));
        total += a.len();
        articles.push((a, Kind::Text));
    }
    articles
}

/// The corpus' HTML pages with every needle overwritten: real markup with
/// nothing to find, which the prefilter must search whole.
fn html_without_needles(corpus: &[(Vec<u8>, Kind)], target: usize) -> Vec<(Vec<u8>, Kind)> {
    let pages: Vec<(Vec<u8>, Kind)> = corpus
        .iter()
        .filter(|(_, k)| *k == Kind::Html)
        .map(|(b, k)| {
            let mut b = b.clone();
            for r in detect::prefilter_matches(&b.clone()) {
                b[r].fill(b'q');
            }
            assert!(!detect::might_contain_embeds(&b));
            (b, *k)
        })
        .collect();
    repeat_to(&pages, target)
}

fn repeat_to(corpus: &[(Vec<u8>, Kind)], target: usize) -> Vec<(Vec<u8>, Kind)> {
    let mut out = Vec::new();
    let mut total = 0;
    while total < target {
        for (b, k) in corpus {
            total += b.len();
            out.push((b.clone(), *k));
        }
    }
    out
}

fn measure(name: &str, set: &[(Vec<u8>, Kind)]) {
    let bytes: usize = set.iter().map(|(b, _)| b.len()).sum();
    let mb = bytes as f64 / 1e6;
    // Warm up (compiles the lazy patterns, faults the pages in).
    let _ = detect(&set[0].0, set[0].1);
    let mut best_one = f64::MAX;
    let mut best_all = f64::MAX;
    let mut embeds = 0;
    for _ in 0..3 {
        let t = Instant::now();
        embeds = set.iter().map(|(b, k)| detect(b, *k).len()).sum::<usize>();
        best_one = best_one.min(t.elapsed().as_secs_f64());
        let t = Instant::now();
        let n: usize = set.par_iter().map(|(b, k)| detect(b, *k).len()).sum();
        best_all = best_all.min(t.elapsed().as_secs_f64());
        assert_eq!(n, embeds);
    }
    let cores = rayon::current_num_threads();
    println!(
        "{name:<12} {mb:>8.1} MB {:>7} articles {embeds:>7} embeds | 1 core: {:>8.1} MB/s | {cores} cores: {:>8.1} MB/s",
        set.len(),
        mb / best_one,
        mb / best_all
    );
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes nothing useful.
    let target_mb: usize = std::env::var("EMBARC_BENCH_MB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let target = target_mb * 1_000_000;
    let corpus = load_corpus();
    let free = embed_free(&corpus, target);
    let repeated = repeat_to(&corpus, target);
    measure("embed-free", &free);
    measure("html, none", &html_without_needles(&corpus, target));
    measure("corpus", &repeated);
}
