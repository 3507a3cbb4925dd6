//! Repair: the objects `verify` found corrupt or missing, restored from a
//! copy in another archive or fetched again from the URLs their capture
//! records name, each written only when its bytes hash to the name.

use super::record::CaptureRecord;
use super::verify::{Problem, Report};
use super::{Archive, Digest};
use std::collections::BTreeMap;

/// An object to restore, with the URLs the archive's capture records fetched
/// it from (none for an answer's body or a record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    /// The object.
    pub digest: Digest,
    /// Where it lives (a path, or a bucket URL), to name it.
    pub path: String,
    /// The URLs a capture stored it from, first seen first.
    pub urls: Vec<String>,
}

/// What a repair did with one object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Repaired {
    /// The object, `sha256:HEX`.
    pub repaired: String,
    /// Where it lives.
    pub path: String,
    /// Where the good bytes came from: a URL, or the other archive.
    pub source: String,
}

/// The objects of `report`'s problems that a repair can restore: each
/// corrupt object and each missing one, with the URLs from which the capture
/// records stored it (records that cannot be read are passed over).
pub fn wanted(archive: &Archive, report: &Report) -> Vec<Wanted> {
    let mut want: BTreeMap<Digest, Vec<String>> = BTreeMap::new();
    for problem in &report.problems {
        let digest = match problem {
            Problem::Corrupt { path, .. } => path
                .file_name()
                .and_then(|n| Digest::parse(&n.to_string_lossy())),
            Problem::Missing { digest, .. } => Digest::parse(digest),
            _ => None,
        };
        if let Some(d) = digest {
            want.entry(d).or_default();
        }
    }
    if want.is_empty() {
        return Vec::new();
    }
    let digests: Vec<Digest> = archive
        .posts()
        .unwrap_or_default()
        .into_iter()
        .flat_map(|(_, captures)| captures)
        .collect();
    for record in archive
        .read_json_each::<CaptureRecord>(&digests)
        .into_iter()
        .flatten()
    {
        for m in &record.media {
            if let Some(urls) = want.get_mut(&m.digest)
                && !urls.contains(&m.url)
            {
                urls.push(m.url.clone());
            }
        }
    }
    want.into_iter()
        .map(|(digest, urls)| Wanted {
            path: archive.object_path(&digest).display().to_string(),
            digest,
            urls,
        })
        .collect()
}

/// Restores `wanted` from the archive `from` when it holds an intact copy;
/// says whether it did. A copy that is corrupt there too is not used.
pub fn from_archive(archive: &Archive, from: &Archive, wanted: &Wanted) -> bool {
    if !from.contains(&wanted.digest) {
        return false;
    }
    let Ok(reader) = from.open_object(&wanted.digest) else {
        return false;
    };
    archive
        .restore(&wanted.digest, reader)
        .is_ok_and(|actual| actual == wanted.digest)
}

/// Fetches `wanted` again from its URLs, in order, through `client` (its
/// mirrors, allowed hosts and limits), until one answers with the same bytes;
/// returns that URL. Bytes that differ (the platform re-encoded the file)
/// are stored under their own name and heal nothing.
pub async fn from_network(
    archive: &Archive,
    client: &crate::net::Client,
    wanted: &Wanted,
) -> Option<String> {
    let store = archive.restoring();
    for url in &wanted.urls {
        if let Ok(f) = client.get(url, &store, 0).await
            && (200..300).contains(&f.status())
            && f.exchange.body == Some(wanted.digest)
        {
            return Some(url.clone());
        }
    }
    None
}
