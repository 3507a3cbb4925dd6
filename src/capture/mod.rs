//! capture: turning a post reference into a capture record. This first part
//! holds the pure pieces of X capture: the syndication token and the parser of
//! syndication answers with its media rules. (The fetcher and the network rules
//! come with the rest of the capture issue.)

pub mod resolve;
pub mod syndication;
pub mod token;
pub mod twitter;

use crate::embed::Quote;
use crate::net::Client;
use crate::providers::{UrlMatch, classify_url};
use crate::store::Archive;
use crate::store::record::{CaptureOutcome, PostKey};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use time::OffsetDateTime;
use tokio::sync::OnceCell;

/// What to capture: a post, or a short link that should lead to one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Target {
    /// A post known by id.
    Post(PostKey),
    /// A short link as scan reports it (`t.co/abc`).
    Short(String),
    /// A URL that is not a post of a supported provider.
    Other(String),
}

impl Target {
    /// Reads a URL in any form (post URL, short link) or `provider:id`.
    pub fn parse(s: &str) -> Target {
        if let Some((name, id)) = s.split_once(':')
            && !id.is_empty()
            && !id.starts_with("//")
            && let Some(spec) = crate::providers::PROVIDERS
                .iter()
                .find(|p| p.provider.as_str() == name)
        {
            return Target::Post(PostKey {
                provider: spec.provider.as_str().into(),
                id: id.into(),
                url: String::new(),
            });
        }
        match classify_url(s) {
            Some(UrlMatch::Post(p, post)) => Target::Post(PostKey {
                provider: p.as_str().into(),
                id: post.id,
                url: post.url,
            }),
            Some(UrlMatch::ShortLink(link)) => Target::Short(link),
            None => Target::Other(s.to_string()),
        }
    }
}

/// One line of `archive --json` / `add --json` (docs/cli.md).
#[derive(Debug, Clone, Serialize)]
pub struct PostReport {
    /// `provider:id`, or null for a short link that led nowhere.
    pub post: Option<String>,
    /// The post's URL, or the short link.
    pub url: String,
    /// `archived`, `unchanged`, `tombstone`, `not_found`, `protected`, `skipped`, `failed`.
    pub outcome: &'static str,
    /// The capture record's digest.
    pub capture: Option<String>,
    /// Media files stored for the post.
    pub media: usize,
    /// Articles that cite the post.
    pub articles: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
}

impl PostReport {
    /// Whether this counts as a failure (exit code 1).
    pub fn failed(&self) -> bool {
        self.outcome == "failed"
    }
}

fn outcome_name(o: CaptureOutcome) -> &'static str {
    match o {
        CaptureOutcome::Ok => "archived",
        CaptureOutcome::Tombstone => "tombstone",
        CaptureOutcome::NotFound => "not_found",
        CaptureOutcome::Protected => "protected",
        CaptureOutcome::Failed => "failed",
    }
}

/// Everything one run of captures shares: the client, the archive, the
/// endpoints, and the posts in flight (a post reached twice, by URL and by a
/// short link, is captured once; the second caller shares the first's result).
#[derive(Clone)]
pub struct Capturer {
    /// The HTTP client.
    pub client: Client,
    /// Where captures go.
    pub archive: Archive,
    /// X's endpoints.
    pub endpoints: twitter::Endpoints,
    inflight: Arc<Mutex<HashMap<PostKey, Arc<OnceCell<PostReport>>>>>,
}

impl Capturer {
    /// A capturer writing into `archive`.
    pub fn new(client: Client, archive: Archive, endpoints: twitter::Endpoints) -> Self {
        Capturer {
            client,
            archive,
            endpoints,
            inflight: Arc::default(),
        }
    }

    fn cell(&self, post: &PostKey) -> Arc<OnceCell<PostReport>> {
        let key = PostKey {
            url: String::new(),
            ..post.clone()
        };
        let mut cells = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        cells.entry(key).or_default().clone()
    }

    /// Resolves (if needed) and captures one target. A post that already has
    /// a capture is `unchanged` and costs no request, unless `refresh`.
    pub async fn run(
        &self,
        target: &Target,
        quote: Option<Quote>,
        articles: Vec<String>,
        refresh: bool,
    ) -> PostReport {
        let report = |post: Option<&PostKey>, url: String, outcome, error| PostReport {
            post: post.map(PostKey::label),
            url,
            outcome,
            capture: None,
            media: 0,
            articles: articles.clone(),
            error,
        };
        let post = match target {
            Target::Post(p) => p.clone(),
            Target::Other(u) => {
                return report(
                    None,
                    u.clone(),
                    "skipped",
                    Some("not a post of a supported provider".into()),
                );
            }
            Target::Short(s) => {
                let r = resolve::resolve(&self.client, &self.archive, s).await;
                match r.post {
                    Some(p) => p,
                    None => return report(None, format!("https://{s}"), "failed", r.error),
                }
            }
        };
        if post.provider != "twitter" {
            return report(Some(&post), post.url.clone(), "skipped", None);
        }
        let cell = self.cell(&post);
        let shared = cell
            .get_or_init(|| async {
                if !refresh && let Ok(Some((digest, record))) = latest_capture(&self.archive, &post)
                {
                    let mut r = report(Some(&post), post.url.clone(), "unchanged", None);
                    r.capture = Some(digest.to_string());
                    r.media = record.media.len();
                    return r;
                }
                let now = OffsetDateTime::now_utc();
                match twitter::capture(
                    &self.client,
                    &self.archive,
                    &self.endpoints,
                    &post,
                    quote,
                    now,
                )
                .await
                {
                    Ok((digest, record)) => PostReport {
                        post: Some(post.label()),
                        url: post.url.clone(),
                        outcome: outcome_name(record.outcome),
                        capture: Some(digest.to_string()),
                        media: record.media.len(),
                        articles: Vec::new(),
                        error: record
                            .error
                            .clone()
                            .filter(|_| record.outcome == CaptureOutcome::Failed),
                    },
                    Err(e) => report(Some(&post), post.url.clone(), "failed", Some(e.to_string())),
                }
            })
            .await;
        PostReport {
            articles,
            ..shared.clone()
        }
    }
}

/// The newest capture of a post, from its refs (the archive's truth: another
/// process's or machine's capture counts even if this index has not seen it).
pub fn latest_capture(
    archive: &Archive,
    post: &PostKey,
) -> Result<Option<(crate::store::Digest, crate::store::record::CaptureRecord)>, crate::Error> {
    let Some(d) = archive.capture_digests(post)?.pop() else {
        return Ok(None);
    };
    Ok(Some((d, archive.read_json(&d)?)))
}
