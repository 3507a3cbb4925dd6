//! Bluesky (the AT Protocol): asking for one post, `bluesky:DID/RKEY`.
//!
//! - The post: `app.bsky.feed.getPostThread` on the public AppView (no
//!   account), `depth=0&parentHeight=1` (the parent only, for the
//!   "Replying to @handle" line), stored as received. Side by side, the
//!   author's DID document (`plc.directory/DID` for `did:plc`,
//!   `https://HOST/.well-known/did.json` for `did:web`) names the account's
//!   PDS, which this capture is then allowed to reach ([`Session::admit`]).
//! - Outcomes: a `threadViewPost` is the post; HTTP 400 `NotFound` (what the
//!   AppView answers for a deleted post; see archive/FORMAT.md) or a
//!   `notFoundPost` is `not_found`; a `blockedPost` is `protected` (the post
//!   exists, the AppView will not show it); a post or author carrying a
//!   moderation label that hides it (`!takedown`, `!suspend`, `!hide`) is a
//!   `tombstone`, with the label and its source as the error.
//! - Files at original quality: every blob (images, the video, the avatar,
//!   a link card's thumbnail) from the author's PDS
//!   (`com.atproto.sync.getBlob`), with the SHA-256 its CID carries, so the
//!   shared code stores only the exact bytes the author uploaded; the
//!   AppView CDN's re-encoded copy is the fallback, recorded as such.
//! - A quoted post (`app.bsky.embed.record`, or the record half of
//!   `recordWithMedia`) becomes a [`QuotedPost`] with its own files from its
//!   own author's PDS, and the shared code captures it as a post of its own.
//!
//! Handle URLs (`bsky.app/profile/HANDLE/post/RKEY`) are resolved to a DID
//! before capture, by [`resolve_handle`], recorded like a short link's hops.
//! Every answer is untrusted: nothing here panics on any JSON, every string
//! is capped, and no URL is built from a DID or host that failed its syntax.

pub mod cid;

use super::{BoxFuture, Found, Platform, Session};
use crate::embed::Provider;
use crate::net::{Client, Fetched};
use crate::post::{
    self, Asset, Author, Card, Counts, MediaItem, MediaKind, Post, PostId, QuotedPost, ReplyTo,
    TextSpan, clip,
};
use crate::store::Archive;
use crate::store::record::{CaptureOutcome, Hop, SHORT_LINK_SCHEMA, ShortLinkRecord};
use cid::Cid;
use serde_json::Value;
use time::OffsetDateTime;

/// Largest JSON answer parsed (decoded).
const MAX_JSON: u64 = 4 * 1024 * 1024;
/// Longest post text kept (Bluesky allows 300 graphemes; a hostile AppView
/// may send anything).
const MAX_TEXT: usize = 64 * 1024;
/// Longest name, alt text, title or description kept.
const MAX_FIELD: usize = 8 * 1024;
/// Most facets read, and most images per post.
const MAX_FACETS: usize = 256;
const MAX_IMAGES: usize = 10;
/// Moderation labels under which the platform itself hides a post.
const HIDING_LABELS: &[&str] = &["!takedown", "!suspend", "!hide"];

/// Bluesky's endpoints, as fields so tests and mirrors can see exactly what
/// is asked.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// The public AppView, `https://public.api.bsky.app`.
    pub appview: String,
    /// The PLC directory, `https://plc.directory`.
    pub plc: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            appview: "https://public.api.bsky.app".into(),
            plc: "https://plc.directory".into(),
        }
    }
}

/// Bluesky's capture.
#[derive(Debug, Clone, Default)]
pub struct Bluesky {
    /// Where to ask.
    pub endpoints: Endpoints,
}

impl Platform for Bluesky {
    fn hosts(&self) -> &'static [&'static str] {
        // The PDS of each account is admitted per capture.
        &[
            "public.api.bsky.app",
            "plc.directory",
            "cdn.bsky.app",
            "video.bsky.app",
        ]
    }

    fn fetch<'a>(&'a self, s: &'a Session<'_>, post: &'a PostId) -> BoxFuture<'a, Found> {
        Box::pin(self.fetch_post(s, post))
    }
}

/// `at://DID/app.bsky.feed.post/RKEY` for a post id `DID/RKEY`.
pub fn at_uri(did: &str, rkey: &str) -> String {
    format!("at://{did}/app.bsky.feed.post/{rkey}")
}

/// The getPostThread URL for a post.
pub fn thread_url(endpoints: &Endpoints, did: &str, rkey: &str) -> String {
    format!(
        "{}/xrpc/app.bsky.feed.getPostThread?uri={}&depth=0&parentHeight=1",
        endpoints.appview,
        encode(&at_uri(did, rkey))
    )
}

/// Where a DID's document is: plc.directory for `did:plc`, the host's
/// `/.well-known/did.json` for `did:web` (a bare host, no port or path).
pub fn did_doc_url(endpoints: &Endpoints, did: &str) -> Option<String> {
    if let Some(id) = did.strip_prefix("did:plc:") {
        let ok = id.len() == 24 && id.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'));
        return ok.then(|| format!("{}/{did}", endpoints.plc));
    }
    let host = did.strip_prefix("did:web:")?;
    is_host(host).then(|| format!("https://{host}/.well-known/did.json"))
}

/// A DNS name as a did:web or a PDS may use: labels of letters, digits and
/// hyphens, a dot between, at most 253 characters.
fn is_host(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// Whether `s` is a DID embarc captures (`did:plc:…`, `did:web:HOST`).
pub fn is_did(s: &str) -> bool {
    did_doc_url(&Endpoints::default(), s).is_some()
}

/// A handle as Bluesky allows them: a DNS name with at least two labels.
pub fn is_handle(h: &str) -> bool {
    is_host(h) && h.contains('.')
}

impl Bluesky {
    async fn fetch_post(&self, s: &Session<'_>, post: &PostId) -> Found {
        let Some((did, rkey)) = post.id.split_once('/') else {
            return Found::failed(format!("{} is not a Bluesky post id (DID/RKEY)", post.id));
        };
        if !is_did(did) {
            return Found::failed(format!(
                "{did} is not a DID embarc resolves: resolve the handle first (give its bsky.app URL)"
            ));
        }
        let thread_at = thread_url(&self.endpoints, did, rkey);
        // Side by side; `biased` starts the thread first, so the exchanges
        // are recorded as thread, then DID document.
        let (thread, pds) = tokio::join!(
            biased;
            s.get_json(&thread_at, MAX_JSON),
            self.pds(s, did),
        );
        let f = match thread {
            Ok(f) => f,
            Err(e) => return Found::net_failed(&e),
        };
        s.answered_by(&f);
        let view = match judge_thread(&f) {
            Judged::Post(v) => v,
            Judged::Outcome(outcome, why) => {
                return Found {
                    error: why,
                    ..Found::outcome(outcome)
                };
            }
            Judged::Failed(why) => {
                return Found {
                    error_url: Some(thread_at),
                    ..Found::failed(why)
                };
            }
        };
        // The answer must be about the post asked for (a mirror or a
        // confused AppView could send another).
        let asked = at_uri(did, rkey);
        if view.get("uri").and_then(Value::as_str) != Some(asked.as_str()) {
            return Found {
                error_url: Some(thread_at),
                ..Found::failed(format!(
                    "the AppView answered about another post than {asked}"
                ))
            };
        }
        if let Some(label) = hiding_label(&view) {
            return Found {
                error: Some(label),
                ..Found::outcome(CaptureOutcome::Tombstone)
            };
        }
        let quoted_did = quoted_view(&view)
            .and_then(|q| q.pointer("/author/did"))
            .and_then(Value::as_str)
            .filter(|d| *d != did && is_did(d));
        let quoted_pds = match quoted_did {
            Some(d) => self.pds(s, d).await,
            None => Err(String::new()),
        };
        let pds_of = |author: &str| {
            if author == did {
                pds.as_ref().ok().cloned()
            } else if Some(author) == quoted_did {
                quoted_pds.as_ref().ok().cloned()
            } else {
                None
            }
        };
        let parent = f
            .decoded_body(MAX_JSON)
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v.pointer("/thread/parent/post").cloned());
        let mut p = to_post(&view, parent.as_ref(), &pds_of);
        p.set_sources(post::source::API);
        let mut found = Found::post(p, post::source::API);
        if let Err(why) = &pds {
            // Without the PDS, files come from the CDN only, unchecked.
            found.error = Some(format!(
                "the author's PDS is unknown ({why}): files are the AppView CDN's copies, not checked against their CIDs"
            ));
        }
        found
    }

    /// The account's PDS base URL from its DID document, admitted for this
    /// capture; or why not.
    async fn pds(&self, s: &Session<'_>, did: &str) -> Result<String, String> {
        let url = did_doc_url(&self.endpoints, did).ok_or_else(|| format!("{did}: not a DID"))?;
        if let Some(host) = did.strip_prefix("did:web:") {
            s.admit(host);
        }
        let f = s
            .get_json(&url, MAX_JSON)
            .await
            .map_err(|e| format!("DID document: {}", crate::error::full_message(&e)))?;
        if f.status() != 200 {
            return Err(format!("DID document: HTTP {}", f.status()));
        }
        let doc: Value = f
            .decoded_body(MAX_JSON)
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("DID document: not JSON")?;
        let pds = pds_of_doc(&doc, did)?;
        if let Some(host) = url::Url::parse(&pds)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
        {
            s.admit(&host);
        }
        Ok(pds)
    }
}

/// The PDS endpoint a DID document names (`service` entry `#atproto_pds`
/// of type `AtprotoPersonalDataServer`): an https origin (no path, query,
/// user, port or plain-http downgrade).
pub fn pds_of_doc(doc: &Value, did: &str) -> Result<String, String> {
    if doc.get("id").and_then(Value::as_str) != Some(did) {
        return Err(format!("the DID document is not {did}'s"));
    }
    let services = doc.get("service").and_then(Value::as_array);
    let endpoint = services
        .into_iter()
        .flatten()
        .find(|s| {
            let id = s.get("id").and_then(Value::as_str).unwrap_or_default();
            (id == "#atproto_pds" || id == format!("{did}#atproto_pds"))
                && s.get("type").and_then(Value::as_str) == Some("AtprotoPersonalDataServer")
        })
        .and_then(|s| s.get("serviceEndpoint"))
        .and_then(Value::as_str)
        .ok_or("the DID document names no PDS")?;
    let u = url::Url::parse(endpoint).map_err(|_| "the PDS endpoint is not a URL".to_string())?;
    let host = u.host_str().unwrap_or_default();
    let origin_only = matches!(u.path(), "" | "/")
        && u.query().is_none()
        && u.fragment().is_none()
        && u.username().is_empty()
        && u.password().is_none()
        && u.port().is_none();
    if u.scheme() != "https" || !origin_only || host.is_empty() {
        return Err(format!(
            "the PDS endpoint is not an https origin: {}",
            clip(endpoint, 200)
        ));
    }
    Ok(format!("https://{host}"))
}

enum Judged {
    Post(Value),
    Outcome(CaptureOutcome, Option<String>),
    Failed(String),
}

/// What getPostThread's answer says about the post.
fn judge_thread(f: &Fetched) -> Judged {
    let body: Option<Value> = f
        .decoded_body(MAX_JSON)
        .and_then(|b| serde_json::from_slice(&b).ok());
    let field = |k: &str| {
        body.as_ref()
            .and_then(|b| b.get(k))
            .and_then(Value::as_str)
            .map(|s| clip(s, 300))
    };
    match f.status() {
        200 => {}
        400 if field("error").as_deref() == Some("NotFound") => {
            return Judged::Outcome(CaptureOutcome::NotFound, field("message"));
        }
        s => {
            let said = match (field("error"), field("message")) {
                (Some(e), Some(m)) => format!(": {e}: {m}"),
                (Some(e), None) => format!(": {e}"),
                _ => String::new(),
            };
            return Judged::Failed(format!("the AppView answered HTTP {s}{said}"));
        }
    }
    let Some(thread) = body.as_ref().and_then(|b| b.get("thread")) else {
        return Judged::Failed("the AppView's answer has no thread".into());
    };
    match thread.get("$type").and_then(Value::as_str) {
        Some("app.bsky.feed.defs#threadViewPost") => match thread.get("post") {
            Some(p) if p.is_object() => Judged::Post(p.clone()),
            _ => Judged::Failed("the AppView's thread has no post".into()),
        },
        Some("app.bsky.feed.defs#notFoundPost") => Judged::Outcome(CaptureOutcome::NotFound, None),
        Some("app.bsky.feed.defs#blockedPost") => Judged::Outcome(
            CaptureOutcome::Protected,
            Some("the AppView answers blockedPost".into()),
        ),
        other => Judged::Failed(format!(
            "the AppView's thread is {}",
            other.map_or("untyped".to_string(), |t| clip(t, 100))
        )),
    }
}

/// A label under which the platform hides the post or its author, as
/// `LABEL (by SOURCE)`.
fn hiding_label(view: &Value) -> Option<String> {
    let labels = [view.get("labels"), view.pointer("/author/labels")];
    labels
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .find_map(|l| {
            let val = l.get("val").and_then(Value::as_str)?;
            if !HIDING_LABELS.contains(&val) || l.get("neg").and_then(Value::as_bool) == Some(true)
            {
                return None;
            }
            let src = l.get("src").and_then(Value::as_str).unwrap_or("?");
            Some(format!("labelled {val} by {}", clip(src, 100)))
        })
}

/// The quoted post's view record, if the post quotes one that is there.
fn quoted_view(view: &Value) -> Option<&Value> {
    let embed = view.get("embed")?;
    let record = match embed.get("$type").and_then(Value::as_str)? {
        "app.bsky.embed.record#view" => embed.get("record")?,
        "app.bsky.embed.recordWithMedia#view" => embed.pointer("/record/record")?,
        _ => return None,
    };
    (record.get("$type").and_then(Value::as_str) == Some("app.bsky.embed.record#viewRecord"))
        .then_some(record)
}

/// The neutral post of a post view (`postView`, or a quote's `viewRecord`
/// whose record is `value` and whose embed views are `embeds`). `pds_of`
/// gives an author's PDS when known.
fn to_post(view: &Value, parent: Option<&Value>, pds_of: &dyn Fn(&str) -> Option<String>) -> Post {
    let str_at = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    let did = str_at(view, "/author/did")
        .filter(|d| is_did(d))
        .unwrap_or_default();
    let handle = str_at(view, "/author/handle").filter(|h| is_handle(h));
    let record = view
        .get("record")
        .or_else(|| view.get("value"))
        .unwrap_or(&Value::Null);
    let embed_view = view
        .get("embed")
        .or_else(|| view.pointer("/embeds/0"))
        .unwrap_or(&Value::Null);
    let pds = pds_of(&did);
    let blob = |cid: Option<Cid>, cdn: Option<String>| -> Option<Asset> {
        blob_asset(pds.as_deref(), &did, cid, cdn)
    };
    let rkey = str_at(view, "/uri")
        .as_deref()
        .and_then(crate::providers::bluesky_at_uri)
        .and_then(|p| p.id.split_once('/').map(|(_, r)| r.to_string()));
    let text = clip(&str_at(record, "/text").unwrap_or_default(), MAX_TEXT);
    let avatar_cdn = str_at(view, "/author/avatar").filter(|u| u.starts_with("https://"));
    let avatar_cid = avatar_cdn.as_deref().and_then(cid_in_cdn_url);
    let mut media = Vec::new();
    let mut card = None;
    // The record says what the author uploaded (CIDs); the view, where the
    // AppView's copies are. Media of recordWithMedia sit one level down.
    let (rec_embed, view_embed) = match record.pointer("/embed/$type").and_then(Value::as_str) {
        Some("app.bsky.embed.recordWithMedia") => (
            record.pointer("/embed/media").unwrap_or(&Value::Null),
            embed_view.get("media").unwrap_or(&Value::Null),
        ),
        _ => (record.get("embed").unwrap_or(&Value::Null), embed_view),
    };
    match rec_embed.get("$type").and_then(Value::as_str) {
        Some("app.bsky.embed.images") => {
            let images = rec_embed.get("images").and_then(Value::as_array);
            for (i, img) in images.into_iter().flatten().take(MAX_IMAGES).enumerate() {
                let cid = blob_cid(img.get("image"));
                let cdn = view_embed
                    .pointer(&format!("/images/{i}/fullsize"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let Some(file) = blob(cid, cdn) else { continue };
                let (width, height) = aspect(img.get("aspectRatio"));
                media.push(MediaItem {
                    kind: MediaKind::Photo,
                    file,
                    poster: None,
                    alt: str_at(img, "/alt")
                        .map(|a| clip(&a, MAX_FIELD))
                        .filter(|a| !a.is_empty()),
                    width,
                    height,
                });
            }
        }
        Some("app.bsky.embed.video") => {
            // The CDN has the video only as HLS: the PDS blob or nothing.
            if let Some(file) = blob(blob_cid(rec_embed.get("video")), None) {
                let (width, height) = aspect(rec_embed.get("aspectRatio"));
                media.push(MediaItem {
                    kind: MediaKind::Video,
                    file,
                    poster: str_at(view_embed, "/thumbnail")
                        .filter(|u| u.starts_with("https://"))
                        .map(Asset::at),
                    alt: str_at(rec_embed, "/alt")
                        .map(|a| clip(&a, MAX_FIELD))
                        .filter(|a| !a.is_empty()),
                    width,
                    height,
                });
            }
        }
        Some("app.bsky.embed.external") => {
            let ext = rec_embed.get("external").unwrap_or(&Value::Null);
            let uri = str_at(ext, "/uri").filter(|u| crate::render::view::safe_url(u).is_some());
            card = Some(Card {
                domain: uri
                    .as_deref()
                    .and_then(|u| url::Url::parse(u).ok())
                    .and_then(|u| {
                        u.host_str()
                            .map(|h| h.trim_start_matches("www.").to_string())
                    }),
                url: uri,
                title: str_at(ext, "/title").map(|t| clip(&t, MAX_FIELD)),
                description: str_at(ext, "/description").map(|t| clip(&t, MAX_FIELD)),
                image: blob(
                    blob_cid(ext.get("thumb")),
                    str_at(view_embed, "/external/thumb").filter(|u| u.starts_with("https://")),
                ),
            });
        }
        _ => {}
    }
    let quoted = quoted_view(view).and_then(|q| {
        let uri = str_at(q, "/uri")?;
        let id = crate::providers::bluesky_at_uri(&uri)?.id;
        Some(Box::new(QuotedPost {
            id: PostId::new(Provider::Bluesky, id),
            post: to_post(q, None, pds_of),
        }))
    });
    let reply_to = str_at(record, "/reply/parent/uri")
        .as_deref()
        .and_then(crate::providers::bluesky_at_uri)
        .map(|p| {
            let parent_handle = parent
                .and_then(|v| str_at(v, "/author/handle"))
                .filter(|h| is_handle(h));
            ReplyTo {
                handle: parent_handle
                    .unwrap_or_else(|| p.id.split('/').next().unwrap_or_default().to_string()),
                url: Some(p.url),
            }
        });
    let count = |k: &str| view.get(k).and_then(Value::as_u64);
    let profile = handle
        .clone()
        .or_else(|| Some(did.clone()).filter(|d| !d.is_empty()));
    Post {
        url: rkey
            .filter(|_| !did.is_empty())
            .map(|r| format!("https://bsky.app/profile/{did}/post/{r}")),
        author: Author {
            name: clip(
                &str_at(view, "/author/displayName").unwrap_or_default(),
                MAX_FIELD,
            ),
            handle,
            url: profile.map(|p| format!("https://bsky.app/profile/{p}")),
            avatar: blob(avatar_cid, avatar_cdn),
            verified: None,
        },
        created_at: str_at(record, "/createdAt").filter(|t| t.len() <= 64),
        edited_at: None,
        lang: record
            .pointer("/langs/0")
            .and_then(Value::as_str)
            .filter(|l| crate::render::view::valid_lang(l))
            .map(str::to_string),
        spans: spans(&text, record.get("facets")),
        text,
        media,
        card,
        quoted,
        reply_to,
        counts: Counts {
            likes: count("likeCount"),
            replies: count("replyCount"),
            reposts: count("repostCount"),
        },
        sources: Default::default(),
    }
}

/// A blob's file: from the PDS with its CID's SHA-256 (the CDN copy as the
/// fallback), or the CDN copy alone, unchecked, when the PDS is unknown.
fn blob_asset(
    pds: Option<&str>,
    did: &str,
    cid: Option<Cid>,
    cdn: Option<String>,
) -> Option<Asset> {
    match (pds, cid.filter(Cid::is_blob)) {
        (Some(pds), Some(cid)) if !did.is_empty() => Some(Asset {
            url: format!(
                "{pds}/xrpc/com.atproto.sync.getBlob?did={}&cid={cid}",
                encode(did)
            ),
            fallbacks: cdn.into_iter().collect(),
            sha256: Some(crate::digest::Digest(cid.sha256)),
            stored: None,
        }),
        _ => cdn.map(Asset::at),
    }
}

/// The CID of a blob reference (`{"$type":"blob","ref":{"$link":CID},…}`,
/// or the legacy `{"cid":CID,"mimeType":…}`).
fn blob_cid(b: Option<&Value>) -> Option<Cid> {
    let b = b?;
    let s = b
        .pointer("/ref/$link")
        .or_else(|| b.get("cid"))
        .and_then(Value::as_str)?;
    Cid::parse(s)
}

/// The CID in an AppView CDN URL (`…/plain/DID/CID@jpeg`).
fn cid_in_cdn_url(u: &str) -> Option<Cid> {
    let last = u.split(['?', '#']).next()?.rsplit('/').next()?;
    Cid::parse(last.split('@').next()?)
}

fn aspect(a: Option<&Value>) -> (Option<u64>, Option<u64>) {
    let get = |k| {
        a.and_then(|a| a.get(k))
            .and_then(Value::as_u64)
            .filter(|n| *n > 0)
    };
    (get("width"), get("height"))
}

/// The text as spans from its facets, whose indexes count UTF-8 bytes. A
/// facet out of range, overlapping the one before, or cutting a character
/// is left as text.
fn spans(text: &str, facets: Option<&Value>) -> Vec<TextSpan> {
    let mut found: Vec<(usize, usize, &Value)> = facets
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .take(MAX_FACETS)
        .filter_map(|f| {
            let start = usize::try_from(f.pointer("/index/byteStart")?.as_u64()?).ok()?;
            let end = usize::try_from(f.pointer("/index/byteEnd")?.as_u64()?).ok()?;
            let feature = f.pointer("/features/0")?;
            (start < end && text.get(start..end).is_some()).then_some((start, end, feature))
        })
        .collect();
    if found.is_empty() {
        return Vec::new();
    }
    found.sort_by_key(|f| f.0);
    let mut out = Vec::new();
    let mut at = 0;
    for (start, end, feature) in found {
        if start < at {
            continue;
        }
        let shown = &text[start..end];
        let val = |k: &str| feature.get(k).and_then(Value::as_str);
        let span = match feature.get("$type").and_then(Value::as_str) {
            Some("app.bsky.richtext.facet#link") => val("uri").map(|u| TextSpan::Link {
                text: shown.to_string(),
                href: clip(u, 4096),
            }),
            Some("app.bsky.richtext.facet#mention") => {
                val("did").filter(|d| is_did(d)).map(|d| TextSpan::Mention {
                    text: shown.to_string(),
                    handle: shown.trim_start_matches('@').to_string(),
                    href: Some(format!("https://bsky.app/profile/{d}")),
                })
            }
            Some("app.bsky.richtext.facet#tag") => val("tag").map(|t| TextSpan::Tag {
                text: shown.to_string(),
                tag: clip(t, 640),
                href: Some(format!("https://bsky.app/hashtag/{}", path_encode(t))),
            }),
            _ => None,
        };
        let Some(span) = span else { continue };
        if start > at {
            out.push(TextSpan::Text {
                text: text[at..start].to_string(),
            });
        }
        out.push(span);
        at = end;
    }
    if at < text.len() {
        out.push(TextSpan::Text {
            text: text[at..].to_string(),
        });
    }
    out
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn path_encode(s: &str) -> String {
    encode(s).replace('+', "%20")
}

/// `bsky.app/profile/HANDLE/post/RKEY`: how a post known by its author's
/// handle is handed to [`resolve_handle`] (as a short link is to
/// `resolve`), or `None` when the post's id already names a DID.
pub fn handle_link(post: &PostId) -> Option<String> {
    if post.provider != Provider::Bluesky {
        return None;
    }
    let (actor, rkey) = post.id.split_once('/')?;
    (!actor.starts_with("did:")).then(|| format!("bsky.app/profile/{actor}/post/{rkey}"))
}

/// Resolves the handle of a `bsky.app/profile/HANDLE/post/RKEY` link to its
/// DID with `com.atproto.identity.resolveHandle` on the AppView: one hop,
/// whose status is the AppView's and whose location is the post's AT-URI,
/// kept in the archive like a short link's resolution, so a handle later
/// given to another account still leads to the post the article cited.
pub async fn resolve_handle(
    client: &Client,
    archive: &Archive,
    link: &str,
) -> super::resolve::Resolution {
    let failed = |error: String, error_url: Option<String>| super::resolve::Resolution {
        post: None,
        error: Some(format!("{link}: {error}")),
        error_url,
        cached: false,
    };
    let parts: Vec<&str> = link.split('/').collect();
    let (handle, rkey) = match parts.as_slice() {
        ["bsky.app", "profile", h, "post", r] if is_handle(h) => (h.to_ascii_lowercase(), *r),
        _ => return failed("not a Bluesky handle link".into(), None),
    };
    let url = format!(
        "{}/xrpc/com.atproto.identity.resolveHandle?handle={}",
        Endpoints::default().appview,
        encode(&handle)
    );
    let f = match client.get_small(&url, archive, 64 * 1024).await {
        Ok(f) => f,
        Err(e) => return failed(crate::error::full_message(&e), e.url().map(str::to_string)),
    };
    let body: Option<Value> = f
        .decoded_body(64 * 1024)
        .and_then(|b| serde_json::from_slice(&b).ok());
    let did = body
        .as_ref()
        .and_then(|b| b.get("did"))
        .and_then(Value::as_str)
        .filter(|d| f.status() == 200 && is_did(d));
    let post = did.map(|d| PostId::new(Provider::Bluesky, format!("{d}/{rkey}")));
    let record = ShortLinkRecord {
        schema: SHORT_LINK_SCHEMA.into(),
        short_link: link.to_string(),
        resolved_at: OffsetDateTime::now_utc(),
        hops: vec![Hop {
            url: url.clone(),
            status: f.status(),
            location: did.map(|d| at_uri(d, rkey)),
            at: f.exchange.started_at,
            user_agent: f.exchange.user_agent.clone(),
        }],
        post: post.clone(),
    };
    match post {
        Some(p) => {
            let _ = archive.put_short_link(&record);
            let url = p.canonical_url();
            super::resolve::Resolution {
                post: Some((p, url)),
                error: None,
                error_url: None,
                cached: false,
            }
        }
        None => {
            let said = body
                .as_ref()
                .and_then(|b| b.get("message"))
                .and_then(Value::as_str)
                .map(|m| format!(": {}", clip(m, 200)))
                .unwrap_or_default();
            // A handle nobody holds is an answer (kept); anything else is not.
            if f.status() == 400 {
                let _ = archive.put_short_link(&record);
            }
            failed(
                format!(
                    "the AppView could not resolve {handle} (HTTP {}{said})",
                    f.status()
                ),
                Some(url),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn facets_index_bytes_not_chars() {
        // "😀 " is 5 bytes; the link starts at byte 5.
        let text = "😀 example.com ok";
        let facets = json!([{"index": {"byteStart": 5, "byteEnd": 16},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/"}]}]);
        let s = spans(text, Some(&facets));
        assert_eq!(
            s,
            vec![
                TextSpan::Text {
                    text: "😀 ".into()
                },
                TextSpan::Link {
                    text: "example.com".into(),
                    href: "https://example.com/".into()
                },
                TextSpan::Text { text: " ok".into() },
            ]
        );
        // A facet cutting the emoji, out of range or reversed is text.
        for (a, b) in [(1, 3), (5, 99), (9, 5)] {
            let f = json!([{"index": {"byteStart": a, "byteEnd": b},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://e.com/"}]}]);
            assert!(spans(text, Some(&f)).is_empty(), "{a}..{b}");
        }
    }

    proptest::proptest! {
        /// The spans' texts concatenate to the text (as `Post::spans`
        /// promises), whatever byte ranges the facets claim.
        #[test]
        fn spans_concatenate_to_the_text(
            text in "\\PC{0,40}",
            ranges in proptest::collection::vec((0u64..200, 0u64..200), 0..6),
        ) {
            let facets: Vec<Value> = ranges
                .iter()
                .map(|(a, b)| json!({"index": {"byteStart": a, "byteEnd": b},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "t"}]}))
                .collect();
            let s = spans(&text, Some(&Value::Array(facets)));
            if !s.is_empty() {
                let joined: String = s.iter().map(TextSpan::text).collect();
                proptest::prop_assert_eq!(joined, text);
            }
        }
    }

    #[test]
    fn did_documents_name_an_origin_or_nothing() {
        let did = "did:plc:ewvi7nxzyoun6zhxrhs64oiz";
        let doc = |ep: &str| {
            json!({"id": did, "service": [{"id": "#atproto_pds",
                "type": "AtprotoPersonalDataServer", "serviceEndpoint": ep}]})
        };
        assert_eq!(
            pds_of_doc(&doc("https://pds.example.com/"), did).as_deref(),
            Ok("https://pds.example.com")
        );
        for bad in [
            "javascript:alert(1)",
            "https://x.com/path",
            "http://pds.example.com",
            "https://pds.example.com@10.0.0.1/",
            "https://pds.example.com:8443",
            "ftp://x.com",
            "nope",
        ] {
            assert!(pds_of_doc(&doc(bad), did).is_err(), "{bad}");
        }
        assert!(pds_of_doc(&doc("https://pds.example.com"), "did:plc:other").is_err());
    }

    #[test]
    fn dids_are_checked_before_urls_are_built() {
        let e = Endpoints::default();
        assert_eq!(
            did_doc_url(&e, "did:plc:ewvi7nxzyoun6zhxrhs64oiz").as_deref(),
            Some("https://plc.directory/did:plc:ewvi7nxzyoun6zhxrhs64oiz")
        );
        assert_eq!(
            did_doc_url(&e, "did:web:example.com").as_deref(),
            Some("https://example.com/.well-known/did.json")
        );
        for bad in [
            "did:plc:short",
            "did:web:a/b",
            "did:web:h%3A8080",
            "did:key:z6Mk",
            "x",
        ] {
            assert_eq!(did_doc_url(&e, bad), None, "{bad}");
        }
    }

    #[test]
    fn hiding_labels_make_a_tombstone_and_others_do_not() {
        let mod_service = "did:plc:ar7c4by46qjdydhdevvrndac";
        let label = |val: &str, neg: bool| {
            json!({"labels": [{"src": mod_service, "val": val, "neg": neg,
                "uri": "at://x", "cts": "2025-01-01T00:00:00Z"}]})
        };
        assert_eq!(
            hiding_label(&label("!takedown", false)).as_deref(),
            Some("labelled !takedown by did:plc:ar7c4by46qjdydhdevvrndac")
        );
        assert_eq!(hiding_label(&label("!takedown", true)), None);
        assert_eq!(hiding_label(&label("!no-unauthenticated", false)), None);
        assert_eq!(hiding_label(&label("porn", false)), None);
        let author = json!({"author": {"labels": [{"src": mod_service, "val": "!suspend"}]}});
        assert!(hiding_label(&author).is_some());
    }

    #[test]
    fn garbage_answers_do_not_panic() {
        for v in [
            json!(null),
            json!([]),
            json!({"author": 5, "record": {"facets": "x"}}),
            json!({"embed": {"$type": "app.bsky.embed.recordWithMedia#view"}, "record": {"embed": {"$type": "app.bsky.embed.images", "images": [{"image": 1}]}}}),
        ] {
            let _ = to_post(&v, None, &|_| None);
            let _ = hiding_label(&v);
        }
    }
}
