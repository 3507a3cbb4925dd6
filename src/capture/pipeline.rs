//! The archiving pipeline a command line or a build script calls: a [`Plan`]
//! gathers targets (embeds found in articles, post URLs, short links) with who
//! cites them; an [`Archiver`] runs it with bounded concurrency, hands each
//! post's report to the caller as it finishes, and records which article cited
//! which post. It prints nothing and never exits: the caller decides.

use super::{Capturer, PostReport, Target};
use crate::embed::{Embed, Form, Provider, Quote};
use crate::input::{self, Input, Origin};
use crate::net::Client;
use crate::post::PostId;
use crate::scan::{Outcome, ScanOptions};
use crate::store::Archive;
use crate::store::record::{ARTICLE_SCHEMA, ArticleRecord};
use std::collections::BTreeMap;
use std::future::Future;

/// One post (or short link) to capture, with who cites it.
#[derive(Debug, Clone)]
struct Job {
    url: Option<String>,
    quote: Option<Quote>,
    articles: Vec<String>,
}

/// What a run will capture: each target once, the first quote an article
/// gives of it, and the articles citing it.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    jobs: BTreeMap<Target, Job>,
    cited: Vec<(String, Vec<Target>)>,
}

/// An input that could not be planned.
#[derive(Debug)]
pub enum InputProblem {
    /// Read or fetched, and not an article (binary, too large…): a warning.
    Skipped {
        /// The input's name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Could not be read or fetched: a failure.
    Failed(crate::Error),
}

impl Plan {
    /// An empty plan.
    pub fn new() -> Plan {
        Plan::default()
    }

    /// Adds a post URL (any form), a short link or `provider:id`.
    pub fn add_url(&mut self, s: &str) {
        let (target, url) = Target::parse_with_url(s);
        self.job(target, url);
    }

    /// Adds a post by identity.
    pub fn add_post(&mut self, post: PostId) {
        self.job(Target::Post(post), None);
    }

    fn job(&mut self, target: Target, url: Option<String>) -> &mut Job {
        let job = self.jobs.entry(target).or_insert_with(|| Job {
            url: None,
            quote: None,
            articles: Vec::new(),
        });
        if job.url.is_none() {
            job.url = url;
        }
        job
    }

    /// Adds what `article` embeds: each post by id, X short links to
    /// resolve; a link in prose to another platform's post is reported by
    /// scan, not captured. The article is recorded as citing them.
    pub fn add_article<'e>(&mut self, article: &str, embeds: impl IntoIterator<Item = &'e Embed>) {
        let mut targets = Vec::new();
        for e in embeds {
            let target = match (&e.id, &e.short_link) {
                (Some(id), _) => Target::Post(PostId::new(e.provider, id.clone())),
                (None, Some(s)) if e.provider == Provider::Twitter => Target::Short(s.clone()),
                _ => continue,
            };
            if e.form == Form::Link && e.provider != Provider::Twitter {
                continue;
            }
            let job = self.job(target.clone(), e.url.clone());
            if job.quote.is_none() {
                job.quote = e.quote.clone();
            }
            if !job.articles.iter().any(|a| a == article) {
                job.articles.push(article.to_string());
            }
            targets.push(target);
        }
        self.cited.push((article.to_string(), targets));
    }

    /// Scans `inputs` (files, folders, stdin, article URLs fetched with
    /// `client`) and adds each article's embeds. Inputs that cannot be read are
    /// handed to `problem` and the rest go on.
    pub async fn add_inputs(
        &mut self,
        inputs: &[Input],
        opts: &ScanOptions,
        client: &Client,
        mut problem: impl FnMut(InputProblem),
    ) {
        for item in input::expand(inputs) {
            let source = match item {
                Ok(s) => s,
                Err(e) => {
                    problem(InputProblem::Failed(e));
                    continue;
                }
            };
            let outcome = match &source.origin {
                Origin::Url(url) => match client.get_page(url, MAX_PAGE).await {
                    Ok(bytes) => crate::scan::scan_bytes(&bytes, Some(crate::Kind::Html), opts),
                    Err(e) => Outcome::Failed(crate::Error::Fetch(Box::new(e))),
                },
                _ => crate::scan::scan_one(&source, opts).outcome,
            };
            match outcome {
                Outcome::Scanned { embeds, .. } => {
                    self.add_article(&source.name, embeds.iter().map(|f| &f.embed));
                }
                Outcome::Skipped { reason } => problem(InputProblem::Skipped {
                    name: source.name.clone(),
                    reason,
                }),
                Outcome::Failed(e) => problem(InputProblem::Failed(e)),
            }
        }
    }

    /// Targets to capture.
    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    /// Whether there is nothing to capture.
    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

/// Largest article page fetched.
pub const MAX_PAGE: u64 = 64 * 1024 * 1024;

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Capture again posts already archived (a new capture; the old ones stay).
    pub refresh: bool,
    /// Posts captured at once.
    pub concurrency: usize,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            refresh: false,
            concurrency: 4,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Each target's report, in the plan's order.
    pub posts: Vec<(Target, PostReport)>,
    /// Targets left unfinished (the run was stopped).
    pub unfinished: usize,
    /// Article records written.
    pub articles: usize,
}

impl RunReport {
    /// Whether any post failed or was left unfinished (exit code 1).
    pub fn any_failed(&self) -> bool {
        self.unfinished > 0 || self.posts.iter().any(|(_, r)| r.failed())
    }
}

/// Runs plans: captures into one archive through one client.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use embarc::capture::pipeline::{Archiver, Plan, RunOptions};
/// let archive = embarc::store::Archive::open_or_create("archive")?;
/// let client = embarc::net::Client::new(embarc::capture::net_config())?;
/// let mut plan = Plan::new();
/// plan.add_url("https://twitter.com/jack/status/20");
/// let run = Archiver::new(archive, client, RunOptions::default())
///     .run(plan, std::future::pending(), |r| println!("{} {}", r.url, r.outcome))
///     .await?;
/// assert!(!run.any_failed());
/// # Ok(()) }
/// ```
pub struct Archiver {
    capturer: Capturer,
    options: RunOptions,
}

impl Archiver {
    /// An archiver writing into `archive`.
    pub fn new(archive: Archive, client: Client, options: RunOptions) -> Archiver {
        Archiver {
            capturer: Capturer::new(client, archive),
            options,
        }
    }

    /// The client (for its byte counter).
    pub fn client(&self) -> &Client {
        &self.capturer.client
    }

    /// Captures every target of `plan`, at most `concurrency` at once, calling
    /// `on_post` with each report as it finishes (with every article citing the
    /// post, in this run and before); then records each article whose targets
    /// all finished. When `stop` completes (Ctrl-C), unfinished captures are
    /// dropped (nothing partial is kept) and finished ones stay.
    pub async fn run(
        &self,
        plan: Plan,
        stop: impl Future<Output = ()>,
        mut on_post: impl FnMut(&PostReport),
    ) -> crate::Result<RunReport> {
        let archive = &self.capturer.archive;
        // Build the index cache now if it is missing, once, before captures
        // run side by side and each add to it.
        crate::store::index::Index::open(archive)?;
        let earlier = earlier_citations(archive);
        let gate =
            std::sync::Arc::new(tokio::sync::Semaphore::new(self.options.concurrency.max(1)));
        let mut set = tokio::task::JoinSet::new();
        let total = plan.jobs.len();
        for (target, job) in plan.jobs {
            let (capturer, gate, refresh) =
                (self.capturer.clone(), gate.clone(), self.options.refresh);
            set.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let r = capturer
                    .run(
                        &target,
                        job.url.as_deref(),
                        job.quote,
                        job.articles,
                        refresh,
                    )
                    .await;
                (target, r)
            });
        }
        let mut done: Vec<(Target, PostReport)> = Vec::with_capacity(total);
        tokio::pin!(stop);
        loop {
            tokio::select! {
                next = set.join_next() => match next {
                    Some(Ok((target, mut r))) => {
                        if let Some(before) = r.post.as_ref().and_then(|p| earlier.get(p)) {
                            for a in before {
                                if !r.articles.contains(a) {
                                    r.articles.push(a.clone());
                                }
                            }
                        }
                        on_post(&r);
                        done.push((target, r));
                    }
                    Some(Err(_)) => {}
                    None => break,
                },
                _ = &mut stop => {
                    // Unfinished captures are dropped: their temp files go
                    // with them, and nothing partial gets a ref.
                    set.abort_all();
                    break;
                }
            }
        }
        done.sort_by(|a, b| a.0.cmp(&b.0));
        let articles = record_articles(archive, &plan.cited, &done)?;
        Ok(RunReport {
            unfinished: total - done.len(),
            posts: done,
            articles,
        })
    }
}

/// Writes an article record for each article whose targets all finished.
fn record_articles(
    archive: &Archive,
    cited: &[(String, Vec<Target>)],
    done: &[(Target, PostReport)],
) -> crate::Result<usize> {
    let resolved: BTreeMap<&Target, Option<&PostId>> =
        done.iter().map(|(t, r)| (t, r.post.as_ref())).collect();
    let mut written = 0;
    for (article, targets) in cited {
        if targets.iter().any(|t| !resolved.contains_key(t)) {
            continue;
        }
        let mut posts = Vec::new();
        let mut short_links = Vec::new();
        for t in targets {
            match (resolved.get(t).copied().flatten(), t) {
                (Some(post), _) if !posts.contains(post) => posts.push(post.clone()),
                (None, Target::Short(s)) => short_links.push(s.clone()),
                _ => {}
            }
        }
        archive.put_article(&ArticleRecord {
            schema: ARTICLE_SCHEMA.into(),
            article: article.clone(),
            archived_at: time::OffsetDateTime::now_utc(),
            posts,
            short_links,
        })?;
        written += 1;
    }
    Ok(written)
}

/// Every article the archive already records as citing each post.
fn earlier_citations(archive: &Archive) -> BTreeMap<PostId, Vec<String>> {
    let mut by_post: BTreeMap<PostId, Vec<String>> = BTreeMap::new();
    for record in archive.articles().unwrap_or_default().into_iter().flatten() {
        for p in record.posts {
            let list = by_post.entry(p).or_default();
            if !list.contains(&record.article) {
                list.push(record.article.clone());
            }
        }
    }
    by_post
}
