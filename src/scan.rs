//! Scanning many articles: read each (capped), skip binaries, pick the kind,
//! detect, and hand back one report per article in input order while the work
//! runs in parallel. One bad article never stops the others.

use crate::embed::{Embed, Kind};
use crate::error::Error;
use crate::input::{self, Source};
use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

/// How to scan.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Forces the kind of every article (else extension, then content sniffing).
    pub kind: Option<Kind>,
    /// The largest article read, in bytes.
    pub max_bytes: u64,
    /// Worker threads (at least 1).
    pub threads: usize,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            kind: None,
            max_bytes: 256 * 1024 * 1024,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// An embed with the line it starts on, for people reading the report.
#[derive(Debug, Clone)]
pub struct Found {
    /// The embed.
    pub embed: Embed,
    /// 1-based line of the span's start.
    pub line: usize,
}

/// What happened to one article.
#[derive(Debug)]
pub enum Outcome {
    /// Scanned; the embeds found (possibly none).
    Scanned {
        /// The kind it was read as.
        kind: Kind,
        /// Its size in bytes.
        bytes: u64,
        /// Every embed, in order of position.
        embeds: Vec<Found>,
    },
    /// Not an article (a binary file); a warning, not a failure.
    Skipped {
        /// Why.
        reason: String,
    },
    /// Could not be read.
    Failed(Error),
}

/// The report for one article.
#[derive(Debug)]
pub struct Report {
    /// The article's name as given.
    pub article: String,
    /// What happened.
    pub outcome: Outcome,
}

/// Detects embeds in bytes already read, choosing the kind as `scan_one` does.
pub fn scan_bytes(bytes: &[u8], kind_hint: Option<Kind>, opts: &ScanOptions) -> Outcome {
    if input::looks_binary(bytes) {
        return Outcome::Skipped {
            reason: "binary file, not an article".into(),
        };
    }
    let utf16 = crate::detect::utf16(bytes);
    let kind = opts.kind.or(kind_hint).unwrap_or_else(|| match utf16 {
        // Sniff UTF-16 on its decoded start, not on bytes interleaved with NULs.
        Some(u) => input::sniff_kind(u.head(bytes).as_bytes()),
        None => input::sniff_kind(bytes),
    });
    let mut line = 1;
    let mut at = 0;
    let embeds = crate::detect::detect_each(bytes, kind, |embed| {
        let to = embed.span.start.min(bytes.len());
        if to >= at {
            line += match utf16 {
                Some(u) => utf16_newlines(bytes, at, to, u.big_endian),
                None => memchr::memchr_iter(b'\n', &bytes[at..to]).count(),
            };
            at = to;
        }
        Found { embed, line }
    });
    Outcome::Scanned {
        kind,
        bytes: bytes.len() as u64,
        embeds,
    }
}

/// Newlines (the code unit U+000A) in `bytes[from..to]` of a UTF-16 text.
fn utf16_newlines(bytes: &[u8], from: usize, to: usize, big_endian: bool) -> usize {
    // Code units start at even offsets (after the 2-byte mark, if any).
    let from = from + (from % 2);
    (from..to.saturating_sub(1))
        .step_by(2)
        .filter(|&i| {
            let unit = if big_endian {
                [bytes[i], bytes[i + 1]]
            } else {
                [bytes[i + 1], bytes[i]]
            };
            unit == [0x00, 0x0A]
        })
        .count()
}

/// Reads and scans one article.
pub fn scan_one(source: &Source, opts: &ScanOptions) -> Report {
    let outcome = match input::read(source, opts.max_bytes) {
        Ok(bytes) => scan_bytes(&bytes, source.kind_hint, opts),
        Err(e) => Outcome::Failed(e),
    };
    Report {
        article: source.name.clone(),
        outcome,
    }
}

/// Scans every source on `opts.threads` workers, calling `each` with reports
/// in input order as soon as they are ready. Workers take articles in order from
/// a shared counter, so results arrive nearly in order and few wait to be
/// printed. `each` may return `ControlFlow::Break` (a closed stdout) to stop.
pub fn scan_all(
    sources: &[Source],
    opts: &ScanOptions,
    mut each: impl FnMut(Report) -> ControlFlow<()>,
) {
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let threads = opts.threads.clamp(1, sources.len().max(1));
    let (tx, rx) = mpsc::sync_channel::<(usize, Report)>(threads * 4);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(source) = sources.get(i) else { break };
                    if tx.send((i, scan_one(source, opts))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut want = 0;
        for (i, report) in rx {
            pending.insert(i, report);
            while let Some(report) = pending.remove(&want) {
                want += 1;
                if each(report).is_break() {
                    stop.store(true, Ordering::Relaxed);
                    return;
                }
            }
        }
    });
}
