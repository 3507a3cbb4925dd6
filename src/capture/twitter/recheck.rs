//! `embarc recheck`: asking X whether archived posts are still there, one
//! syndication request per post (under the client's per-host limits), and
//! comparing its answer with the post's last good capture. A post is `live`
//! (nothing changed: nothing stored), `edited` (its normalized text or its
//! media differ: a new capture is stored, reusing the files already
//! archived), `gone` (X now says deleted or not found: a tombstone capture
//! is added the first time; the old captures stay), or `failed` (no answer
//! to judge: nothing stored). Posts of other platforms are `skipped`.

use super::{Judged, X, syndication_url, to_post};
use crate::capture::{Capturer, Cited, Found, Session, store_found};
use crate::embed::Provider;
use crate::post::{self, Post, PostId};
use crate::store::Archive;
use crate::store::record::{CaptureOutcome, CaptureRecord};
use serde::Serialize;
use std::sync::Arc;
use time::OffsetDateTime;

/// One line of `recheck --json` (docs/cli.md).
#[derive(Debug, Clone, Serialize)]
pub struct RecheckReport {
    /// The post, `provider:id`.
    #[serde(serialize_with = "label")]
    pub post: PostId,
    /// Its URL as last captured.
    pub url: String,
    /// `live`, `edited`, `gone`, `failed` or `skipped`.
    pub outcome: &'static str,
    /// What changed, for `edited`: `text`, `media`.
    pub changed: Vec<&'static str>,
    /// The capture stored by this recheck (`sha256:…`), or null.
    pub capture: Option<String>,
    /// The capture it was compared with (the last good one, else the latest).
    pub previous: Option<String>,
    /// Why it failed or was skipped; X's words for a tombstone.
    pub error: Option<String>,
    /// The full URL of the request that failed, when one did.
    pub error_url: Option<String>,
}

impl RecheckReport {
    /// Whether this counts as a failure (exit code 1).
    pub fn failed(&self) -> bool {
        self.outcome == "failed"
    }
}

fn label<S: serde::Serializer>(post: &PostId, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(post)
}

/// Which archived posts to recheck: `posts` as given, the posts `articles`
/// cited (named as `archive` was given them), or with `all` every post;
/// with `older_than`, only those whose latest capture is older. Sorted,
/// each once. An article the archive does not know is returned apart.
pub fn select(
    archive: &Archive,
    posts: &[PostId],
    articles: &[String],
    all: bool,
    older_than: Option<std::time::Duration>,
    now: OffsetDateTime,
) -> Result<(Vec<PostId>, Vec<String>), crate::Error> {
    let mut chosen: Vec<PostId> = posts.to_vec();
    let mut unknown = Vec::new();
    for a in articles {
        let records = archive.article(a)?;
        if records.is_empty() {
            unknown.push(a.clone());
        }
        chosen.extend(records.into_iter().flat_map(|r| r.posts));
    }
    if all {
        chosen.extend(archive.posts()?.into_iter().map(|(p, _)| p));
    }
    chosen.sort();
    chosen.dedup();
    if let Some(age) = older_than {
        let cutoff = now - age;
        let mut kept = Vec::new();
        for p in chosen {
            let newest = archive.capture_digests(&p)?.pop();
            let old_enough = match newest {
                Some(d) => !archive
                    .read_json::<crate::store::record::PostCapture>(&d)
                    .is_ok_and(|c| c.captured_at >= cutoff),
                None => true,
            };
            if old_enough {
                kept.push(p);
            }
        }
        chosen = kept;
    }
    Ok((chosen, unknown))
}

/// Rechecks `posts`, `concurrency` at a time; `each` gets every post's line
/// as soon as it is done.
pub async fn recheck_all(
    capturer: &Capturer,
    posts: Vec<PostId>,
    concurrency: usize,
    mut each: impl FnMut(RecheckReport),
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut running = tokio::task::JoinSet::new();
    for p in posts {
        let (c, slots) = (capturer.clone(), slots.clone());
        running.spawn(async move {
            let _slot = slots.acquire_owned().await;
            recheck(&c, &p).await
        });
    }
    while let Some(done) = running.join_next().await {
        match done {
            Ok(r) => each(r),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
    }
}

/// Rechecks one post against its captures.
pub async fn recheck(capturer: &Capturer, post: &PostId) -> RecheckReport {
    let mut r = RecheckReport {
        post: post.clone(),
        url: post.canonical_url(),
        outcome: "failed",
        changed: Vec::new(),
        capture: None,
        previous: None,
        error: None,
        error_url: None,
    };
    let captures = match capturer.archive.captures(post) {
        Ok(c) => c,
        Err(e) => {
            r.error = Some(e.full_message());
            return r;
        }
    };
    let Some((latest_digest, latest)) = captures.last() else {
        r.error = Some("not in the archive; capture it first with `embarc add`".into());
        return r;
    };
    r.url = latest.url.clone();
    if post.provider != Provider::Twitter {
        r.outcome = "skipped";
        r.error = Some("recheck asks X only".into());
        return r;
    }
    let good = captures
        .iter()
        .rev()
        .find(|(_, c)| c.outcome == CaptureOutcome::Ok && c.normalized.is_some());
    r.previous = Some(good.map_or(latest_digest, |(d, _)| d).to_string());
    let Ok(id) = post.id.parse::<u64>() else {
        r.error = Some(format!("{} is not a tweet id", post.id));
        return r;
    };
    let x = X::default();
    let session = Session::new(&capturer.client, &capturer.archive).citing(Cited {
        url: Some(latest.url.clone()),
        handle: None,
    });
    let at = syndication_url(&x.endpoints, id);
    let judged = match x.ask_syndication(&session, &at).await {
        Ok((f, judged, _)) => {
            if matches!(judged, Judged::Tweet(_)) {
                session.answered_by(&f);
            }
            judged
        }
        Err(e) => {
            r.error = Some(crate::error::full_message(&e));
            r.error_url = e.url().map(str::to_string);
            return r;
        }
    };
    let now = OffsetDateTime::now_utc();
    let (found, outcome) = match judged {
        Judged::Tweet(t) => {
            let mut p = to_post(&t);
            p.set_sources(post::source::SYNDICATION);
            let changed = good.map_or(vec!["text", "media"], |(_, c)| {
                changes(c.normalized.as_ref(), &p)
            });
            if changed.is_empty() {
                r.outcome = "live";
                return r;
            }
            r.changed = if good.is_some() { changed } else { Vec::new() };
            let outcome = if good.is_some() { "edited" } else { "live" };
            (Found::post(p, post::source::SYNDICATION), outcome)
        }
        Judged::Tombstone(words) => {
            r.error = words.clone();
            if is_gone(latest) {
                r.outcome = "gone";
                return r;
            }
            (
                Found {
                    error: words,
                    ..Found::outcome(CaptureOutcome::Tombstone)
                },
                "gone",
            )
        }
        Judged::NotFound => {
            if is_gone(latest) {
                r.outcome = "gone";
                return r;
            }
            (Found::outcome(CaptureOutcome::NotFound), "gone")
        }
        Judged::Empty => {
            r.error = Some(
                "syndication answered an empty object; `embarc add --refresh` asks every source"
                    .into(),
            );
            r.error_url = Some(at);
            return r;
        }
        Judged::ErrorPage(page) => {
            r.error = Some(format!("syndication answered an error page ({page})"));
            r.error_url = Some(at);
            return r;
        }
        Judged::Failed(why) => {
            r.error = Some(why);
            r.error_url = Some(at);
            return r;
        }
    };
    let reuse = good.map(|(_, c)| c.media.clone()).unwrap_or_default();
    let url = latest.url.clone();
    match store_found(capturer, &x, &session, found, post, &url, None, &reuse, now).await {
        Ok((d, _, _)) => {
            r.outcome = outcome;
            r.capture = Some(d.to_string());
        }
        Err(e) => r.error = Some(e.full_message()),
    }
    r
}

/// Whether a capture says the post is gone (deleted, missing, private).
fn is_gone(c: &CaptureRecord) -> bool {
    matches!(
        c.outcome,
        CaptureOutcome::Tombstone | CaptureOutcome::NotFound | CaptureOutcome::Protected
    )
}

/// What differs between the last good capture's post and X's answer now:
/// `text` (its white space normalized) and `media` (the files, whatever
/// their size or format).
pub fn changes(before: Option<&Post>, now: &Post) -> Vec<&'static str> {
    let Some(before) = before else {
        return vec!["text", "media"];
    };
    let mut out = Vec::new();
    if normalize(&before.text) != normalize(&now.text) {
        out.push("text");
    }
    if media_keys(before) != media_keys(now) {
        out.push("media");
    }
    out
}

fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Each medium's file by host and path without extension (a photo's
/// `KEY.jpg` and `KEY?format=jpg&name=orig` are one file).
fn media_keys(p: &Post) -> Vec<String> {
    p.media
        .iter()
        .map(|m| {
            let u = url::Url::parse(&m.file.url);
            match u {
                Ok(u) => {
                    let path = u.path();
                    let path = path.rsplit_once('.').map_or(path, |(b, _)| b);
                    format!("{}{path}", u.host_str().unwrap_or_default())
                }
                Err(_) => m.file.url.clone(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::post::{Asset, MediaItem, MediaKind};

    fn with(text: &str, photo: &str) -> Post {
        Post {
            text: text.into(),
            media: vec![MediaItem {
                kind: MediaKind::Photo,
                file: Asset::at(photo),
                poster: None,
                alt: None,
                width: None,
                height: None,
            }],
            ..Post::default()
        }
    }

    #[test]
    fn only_text_or_files_count_as_an_edit() {
        let a = with("hello  world\n", "https://pbs.twimg.com/media/K.jpg");
        let same = with(
            "hello world",
            "https://pbs.twimg.com/media/K?format=jpg&name=orig",
        );
        assert!(changes(Some(&a), &same).is_empty());
        let edited = with("hello there", "https://pbs.twimg.com/media/K.jpg");
        assert_eq!(changes(Some(&a), &edited), ["text"]);
        let other = with("hello world", "https://pbs.twimg.com/media/L.jpg");
        assert_eq!(changes(Some(&a), &other), ["media"]);
    }
}
