//! A fake Bluesky on one local port, playing the public AppView
//! (`getPostThread`, `resolveHandle`), plc.directory (a DID document per
//! DID, in the shape of a real one), one PDS (`getBlob`) and the AppView's
//! CDNs, from the answers in `tests/fixtures/responses/bluesky/` (their
//! provenance is in `PROVENANCE.tsv` there). Map each host to it with
//! [`mirror_flags`].
//!
//! The real answers name blobs nobody here has. Each blob CID in them
//! (`bafkrei…`) is replaced, everywhere in the answer, by the CID of small
//! bytes made for it (a JPEG or MP4 signature and the old CID), computed
//! with embarc's CID code, which `tests/bluesky.rs` checks against the AT
//! Protocol's interoperability vectors. The PDS serves those bytes; the CDN
//! serves other bytes (a re-encoded copy). With `corrupt` set, the third
//! image of the four-image post is served with one byte flipped.
//!
//! The account `did:plc:yfvwmnlztr4dwkb7hwz55r2g` has a DID document whose
//! PDS is `https://localhost`: a private address the client must refuse.
//! Any `did:web:` post is that account's post under the DID asked for.

use super::{Reply, Server, response};
use embarc::capture::bluesky::cid::{Cid, RAW};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// The four-image post's author and rkey.
pub const FOUR_DID: &str = "did:plc:z7ja7uhcr5is6uqmnsjyn3k7";
/// See [`FOUR_DID`].
pub const FOUR_RKEY: &str = "3lhmggpkbw22v";
/// Its author's handle.
pub const FOUR_HANDLE: &str = "danoleary.bsky.social";
/// The CID (as in the real answer) of the image served corrupt.
pub const CORRUPT_CID: &str = "bafkreihfr6l6jqoel6dfywj5f6vtcefwijl2wqu77zup2tps76h3tip7re";
/// The account whose PDS is on a private address.
pub const PRIVATE_PDS_DID: &str = "did:plc:yfvwmnlztr4dwkb7hwz55r2g";
/// The video's CID, as in its answer.
const VIDEO_CID: &str = "bafkreibd4kfwvwqc3ugbzc27ssm4gvnfrmjbyvaflu6rb4mqxh4f6mwuky";

/// Hosts and the path prefix each is played under.
pub const HOSTS: &[(&str, &str)] = &[
    ("public.api.bsky.app", "appview"),
    ("plc.directory", "plc"),
    ("pds.example.com", "pds"),
    ("cdn.bsky.app", "cdn"),
    ("video.bsky.app", "video"),
];

/// `--mirror` values pointing every host at `base`.
pub fn mirror_flags(base: &str) -> Vec<String> {
    HOSTS
        .iter()
        .map(|(h, p)| format!("{h}={base}/{p}"))
        .collect()
}

/// The answers folder.
pub fn responses_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/responses/bluesky")
}

/// The fake's blobs: the CID in the real answer → (the CID served now, bytes).
#[derive(Clone)]
pub struct Blobs(pub HashMap<String, (String, Vec<u8>)>);

impl Blobs {
    /// The bytes the PDS serves for a blob named by its real-answer CID.
    pub fn bytes(&self, old_cid: &str) -> &[u8] {
        &self.0[old_cid].1
    }
}

/// Every getPostThread answer by rkey, with CIDs rewritten, and the blobs.
pub fn answers() -> (HashMap<String, Vec<u8>>, Blobs) {
    let re = regex::Regex::new("bafkrei[a-z2-7]{52}").expect("regex");
    let mut blobs = HashMap::new();
    let mut threads = HashMap::new();
    for entry in std::fs::read_dir(responses_dir()).expect("responses") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let Some(rest) = name.strip_prefix("getPostThread-") else {
            continue;
        };
        let rkey = rest
            .split(['-', '.'])
            .next()
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(&path).expect("read");
        let text = re.replace_all(&text, |c: &regex::Captures<'_>| {
            let old = c[0].to_string();
            blobs
                .entry(old.clone())
                .or_insert_with(|| {
                    // A real picture (so a browser shows it), each its own colour.
                    let bytes = if old == VIDEO_CID {
                        let mut v = b"\x00\x00\x00\x18ftypmp42".to_vec();
                        v.extend_from_slice(format!(" embarc test blob for {old}").as_bytes());
                        v
                    } else {
                        super::fake_x::png(&old, 400, 300)
                    };
                    (Cid::of(RAW, &bytes).to_string(), bytes)
                })
                .0
                .clone()
        });
        threads.insert(rkey, text.into_owned().into_bytes());
    }
    (threads, Blobs(blobs))
}

fn json(status: u16, body: &[u8]) -> Reply {
    Reply::Raw(response(
        status,
        &[("content-type", "application/json; charset=utf-8")],
        body,
    ))
}

/// A query parameter, percent-decoded.
fn param(path: &str, key: &str) -> Option<String> {
    let q = path.split_once('?')?.1;
    url::form_urlencoded::parse(q.as_bytes())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Starts the fake; with `corrupt`, one image is served with a flipped byte.
pub async fn start(corrupt: bool) -> (Server, Blobs) {
    let (threads, blobs) = answers();
    let by_new: HashMap<String, (String, Vec<u8>)> = blobs
        .0
        .iter()
        .map(|(old, (new, bytes))| (new.clone(), (old.clone(), bytes.clone())))
        .collect();
    let dir = responses_dir();
    let did_doc = std::fs::read_to_string(dir.join("plc-did-doc-sugyan.json")).expect("did doc");
    let resolved =
        std::fs::read(dir.join(format!("resolveHandle-{FOUR_HANDLE}.json"))).expect("handle");
    let not_found = std::fs::read(dir.join("getPostThread-400-NotFound.json")).expect("404");
    let blocked = std::fs::read(dir.join("getPostThread-blockedPost.json")).expect("blocked");
    let handler = Arc::new(move |path: String, _n: u32| -> Reply {
        if let Some(rest) = path.strip_prefix("/appview/xrpc/app.bsky.feed.getPostThread") {
            let uri = param(rest, "uri").unwrap_or_default();
            let rkey = uri.rsplit('/').next().unwrap_or_default();
            // A did:web account: the private-PDS post, under the DID asked for.
            if let Some(web) = uri
                .strip_prefix("at://")
                .and_then(|u| u.split('/').next())
                .filter(|d| d.starts_with("did:web:"))
            {
                let body = String::from_utf8_lossy(&threads["3kosdondcpl2i"])
                    .replace(PRIVATE_PDS_DID, web);
                return json(200, body.as_bytes());
            }
            return match threads.get(rkey) {
                Some(body) => json(200, body),
                None if rkey == "3lblocked2222" => json(200, &blocked),
                None => json(400, &not_found),
            };
        }
        if let Some(rest) = path.strip_prefix("/appview/xrpc/com.atproto.identity.resolveHandle") {
            return match param(rest, "handle").as_deref() {
                Some(FOUR_HANDLE) => json(200, &resolved),
                _ => json(
                    400,
                    br#"{"error":"InvalidRequest","message":"Unable to resolve handle"}"#,
                ),
            };
        }
        if let Some(did) = path.strip_prefix("/plc/") {
            let pds = if did == PRIVATE_PDS_DID {
                "https://localhost"
            } else {
                "https://pds.example.com"
            };
            let doc = did_doc
                .replace("did:plc:4ee6oesrsbtmuln4gqsqf6fp", did)
                .replace("https://puffball.us-east.host.bsky.network", pds);
            return json(200, doc.as_bytes());
        }
        if let Some(rest) = path.strip_prefix("/pds/xrpc/com.atproto.sync.getBlob") {
            let cid = param(rest, "cid").unwrap_or_default();
            return match by_new.get(&cid) {
                Some((old, bytes)) => {
                    let mut bytes = bytes.clone();
                    if corrupt && old == CORRUPT_CID {
                        bytes[20] ^= 1;
                    }
                    let mime = if old == VIDEO_CID {
                        "video/mp4"
                    } else {
                        "image/png"
                    };
                    Reply::Raw(response(200, &[("content-type", mime)], &bytes))
                }
                None => json(
                    400,
                    br#"{"error":"BlobNotFound","message":"Blob not found"}"#,
                ),
            };
        }
        if path.starts_with("/cdn/") || path.starts_with("/video/") {
            let body = format!("\u{ff}re-encoded copy of {path}");
            return Reply::Raw(response(
                200,
                &[("content-type", "image/jpeg")],
                body.as_bytes(),
            ));
        }
        Reply::Raw(response(404, &[], b"not here"))
    });
    (super::start(handler).await, blobs)
}
