//! Fixity checking: re-hash objects (all, or a random sample) on every core,
//! check that every ref and every record's references lead to stored objects,
//! and report each problem by name.

use super::backend::Oddity;
use super::record::CaptureRecord;
use super::{Archive, Digest};
use crate::error::{Error, Result};
use rayon::prelude::*;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// What is wrong with an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// An object whose bytes do not hash to its name.
    Corrupt {
        /// The object file.
        path: PathBuf,
        /// What its bytes hash to.
        actual: String,
    },
    /// A file under `objects/` whose name is not a digest, or that lies
    /// where no object belongs.
    Stray {
        /// The file.
        path: PathBuf,
    },
    /// A folder under `objects/` where none belongs (below a fan-out
    /// folder, or not named by two hex digits).
    StrayFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A symlink in `objects/`, `refs/` or in place of `tmp/`: embarc never
    /// makes one, and never reads, writes or cleans through one.
    Symlink {
        /// The link.
        path: PathBuf,
        /// Where it points.
        target: String,
    },
    /// A FIFO, socket or device file in `objects/` or `refs/`.
    Special {
        /// The file.
        path: PathBuf,
        /// `FIFO`, `socket` or `device`.
        kind: String,
    },
    /// A referenced object that is not there.
    Missing {
        /// The object.
        digest: String,
        /// The ref or record that points at it.
        referrer: String,
    },
    /// A ref whose content is not one line `sha256:HEX` (garbage in it).
    BadRef {
        /// The ref.
        path: PathBuf,
        /// Why it cannot be read.
        error: String,
    },
    /// A file that could not be read.
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The error.
        error: String,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Corrupt { path, actual } => {
                write!(
                    f,
                    "corrupt: {} (its bytes hash to {actual})",
                    path.display()
                )
            }
            Problem::Stray { path } => write!(
                f,
                "stray file: {} (not named by its digest)",
                path.display()
            ),
            Problem::StrayFolder { path } => write!(
                f,
                "stray folder: {} (no folder belongs there)",
                path.display()
            ),
            Problem::Symlink { path, target } => write!(
                f,
                "symlink: {} -> {target} (embarc never follows one inside the archive)",
                path.display()
            ),
            Problem::Special { path, kind } => {
                write!(f, "{kind}: {} (not a file embarc wrote)", path.display())
            }
            Problem::Missing { digest, referrer } => {
                write!(f, "missing: {digest} (referred to by {referrer})")
            }
            Problem::BadRef { path, error } => {
                write!(f, "bad ref: {}: {error}", path.display())
            }
            Problem::Unreadable { path, error } => {
                write!(f, "unreadable: {}: {error}", path.display())
            }
        }
    }
}

/// A file that could not be read, with why: the error's message and causes,
/// without the path it starts with (the problem names the path once).
fn unreadable(path: PathBuf, e: &Error) -> Problem {
    let message = e.full_message();
    let prefix = format!("{}: ", path.display());
    let error = message
        .strip_prefix(&prefix)
        .unwrap_or(&message)
        .to_string();
    Problem::Unreadable { path, error }
}

/// The result of a verification.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Report {
    /// Objects in the archive.
    pub objects_total: u64,
    /// Objects re-hashed.
    pub objects_checked: u64,
    /// Bytes re-hashed.
    pub bytes_checked: u64,
    /// Refs followed.
    pub refs_checked: u64,
    /// Everything wrong, in name order.
    pub problems: Vec<Problem>,
}

/// Lists every object file with the digest its name claims (None if the name is
/// not a digest, or not in the folder named by its first two hex digits), in
/// name order. No file is opened or stat'ed.
pub fn list_objects(archive: &Archive) -> Result<Vec<(PathBuf, Option<Digest>)>> {
    Ok(archive
        .backend
        .list_objects()?
        .into_iter()
        .map(|(path, key)| {
            let mut parts = key.rsplit('/');
            let name = parts.next().unwrap_or("");
            let parent = parts.next().unwrap_or("");
            let digest = Digest::parse(name)
                .filter(|d| d.hex() == name && name.starts_with(parent) && parent.len() == 2);
            (path, digest)
        })
        .collect())
}

/// Verifies the archive: re-hashes `sample_percent` of the objects (100 = all,
/// chosen at random otherwise), follows every ref, and checks that every
/// capture record's bodies and media are present. `progress` is called once per
/// object re-hashed, with its size.
pub fn verify(
    archive: &Archive,
    sample_percent: f64,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Report> {
    let objects = list_objects(archive)?;
    let mut report = Report {
        objects_total: objects.len() as u64,
        ..Report::default()
    };
    let salt = random_salt();
    let chosen: Vec<&(PathBuf, Option<Digest>)> = objects
        .iter()
        .filter(|(path, _)| sample_percent >= 100.0 || sampled(path, salt, sample_percent))
        .collect();
    let bytes = AtomicU64::new(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(archive.io_threads())
        .build()
        .map_err(|e| Error::Io {
            path: archive.root().to_path_buf(),
            source: std::io::Error::other(e),
        })?;
    let mut problems: Vec<Problem> = pool.install(|| {
        chosen
            .par_iter()
            .filter_map(|(path, claimed)| {
                let Some(claimed) = claimed else {
                    return Some(Problem::Stray { path: path.clone() });
                };
                match archive.backend.hash(&Archive::object_rel(claimed)) {
                    Ok((actual, n)) => {
                        bytes.fetch_add(n, Ordering::Relaxed);
                        progress(n);
                        (actual != *claimed).then(|| Problem::Corrupt {
                            path: path.clone(),
                            actual: actual.to_string(),
                        })
                    }
                    Err(e) => Some(unreadable(path.clone(), &e)),
                }
            })
            .collect()
    });
    report.objects_checked = chosen.len() as u64;
    report.bytes_checked = bytes.into_inner();
    for oddity in archive.backend.oddities()? {
        problems.push(match oddity {
            Oddity::Symlink(path) => Problem::Symlink {
                target: std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default(),
                path,
            },
            Oddity::StrayFile(path) => Problem::Stray { path },
            Oddity::StrayFolder(path) => Problem::StrayFolder { path },
            Oddity::Special(path, kind) => Problem::Special {
                path,
                kind: kind.to_string(),
            },
        });
    }

    // Every ref must lead to an object, and every capture to its bodies and media.
    let refs = archive.list_refs(&[])?;
    report.refs_checked = refs.len() as u64;
    let corrupt: std::collections::HashSet<PathBuf> = problems
        .iter()
        .filter_map(|p| match p {
            Problem::Corrupt { path, .. } => Some(path.clone()),
            _ => None,
        })
        .collect();
    // Presence from the listing (no request per ref); records read several
    // at a time (a sample of them when sampling).
    let present: std::collections::HashSet<Digest> =
        objects.iter().filter_map(|(_, d)| *d).collect();
    let mut records = Vec::new();
    for (segments, target) in refs {
        let referrer = format!("refs/{}", segments.join("/"));
        let target = match target {
            Ok(target) => target,
            Err(e) => {
                // The error names the ref as stored (its segments are
                // percent-encoded on disk); rebuild it only if it does not.
                let named = match &e {
                    Error::BadRecord { path, .. } | Error::Io { path, .. } => Some(path.clone()),
                    _ => None,
                };
                let path = named
                    .unwrap_or_else(|| PathBuf::from(format!("{}/{referrer}", archive.location())));
                problems.push(match e {
                    Error::BadRecord { reason, .. } => Problem::BadRef {
                        path,
                        error: reason,
                    },
                    e => unreadable(path, &e),
                });
                continue;
            }
        };
        // Not in the listing taken at the start: maybe written since (by
        // another process or machine); ask before calling it missing.
        if !present.contains(&target) && !archive.contains(&target) {
            problems.push(Problem::Missing {
                digest: target.to_string(),
                referrer,
            });
            continue;
        }
        // Capture and article refs are named after their target (readers
        // list them by name): a name that says another digest is a problem.
        if let Some(named) = super::digest_in_name(&referrer)
            && named != target
        {
            problems.push(Problem::Unreadable {
                path: PathBuf::from(format!("{}/{referrer}", archive.location())),
                error: format!(
                    "the ref is named after {named} but holds {target}; restore it from a copy"
                ),
            });
        }
        if segments.first().map(String::as_str) != Some("posts")
            || corrupt.contains(&archive.object_path(&target))
        {
            continue;
        }
        if sample_percent >= 100.0 || sampled(Path::new(&referrer), salt, sample_percent) {
            records.push((referrer, target));
        }
    }
    let digests: Vec<Digest> = records.iter().map(|(_, d)| *d).collect();
    for ((referrer, target), record) in records
        .iter()
        .zip(archive.read_json_each::<CaptureRecord>(&digests))
    {
        match record {
            Ok(record) => {
                for d in record.objects() {
                    if !present.contains(&d) && !archive.contains(&d) {
                        problems.push(Problem::Missing {
                            digest: d.to_string(),
                            referrer: format!("{target} ({referrer})"),
                        });
                    }
                }
            }
            Err(e) => problems.push(unreadable(archive.object_path(target), &e)),
        }
    }
    problems.sort_by_key(|p| p.to_string());
    problems.dedup();
    report.problems = problems;
    Ok(report)
}

fn random_salt() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// A stable pseudo-random choice per path for one run (splitmix64 of the
/// path's bytes and the run's salt).
fn sampled(path: &Path, salt: u64, percent: f64) -> bool {
    let mut h = salt;
    for b in path.as_os_str().as_encoded_bytes() {
        h = (h ^ u64::from(*b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        h ^= h >> 29;
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^= h >> 31;
    (h % 1_000_000) as f64 / 10_000.0 < percent
}
