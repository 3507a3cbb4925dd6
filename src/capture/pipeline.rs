//! The archiving pipeline a command line or a build script calls: a [`Plan`]
//! gathers targets (embeds found in articles, post URLs, short links) with who
//! cites them; an [`Archiver`] runs it with bounded concurrency, hands each
//! post's report to the caller as it finishes, and records which article cited
//! which post. It prints nothing and never exits: the caller decides.

use super::{Capturer, PostReport, Target};
use crate::embed::{Embed, Form, Provider, Quote};
use crate::input::{self, Input, Origin};
use crate::net::Client;
use crate::net::Exchange;
use crate::post::PostId;
use crate::scan::{Outcome, ScanOptions};
use crate::store::Archive;
use crate::store::record::{ARTICLE_SCHEMA, ArticleBody, ArticleRecord};
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
    /// The articles' own bytes stored in the archive, by article name, and
    /// the requests that fetched those that came from a URL.
    kept: BTreeMap<String, (ArticleBody, Vec<Exchange>)>,
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
        self.job(Target::post(post), None);
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
                (Some(id), _) => Target::post(PostId::new(e.provider, id.clone())),
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
    /// `client`) and adds each article's embeds. With `keep`, each article's
    /// own bytes go into that archive (and a fetched one's requests are
    /// recorded), for its record to name. Inputs that cannot be read are
    /// handed to `problem` and the rest go on.
    pub async fn add_inputs(
        &mut self,
        inputs: &[Input],
        opts: &ScanOptions,
        client: &Client,
        keep: Option<&Archive>,
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
            let read = match (&source.origin, keep) {
                (Origin::Url(url), Some(archive)) => client
                    .get_page_into(url, archive, MAX_PAGE)
                    .await
                    .map(|(bytes, hops)| (bytes, hops, Some(crate::Kind::Html))),
                (Origin::Url(url), None) => client
                    .get_page(url, MAX_PAGE)
                    .await
                    .map(|bytes| (bytes, Vec::new(), Some(crate::Kind::Html))),
                _ => match input::read(&source, opts.max_bytes) {
                    Ok(bytes) => Ok((bytes, Vec::new(), source.kind_hint)),
                    Err(e) => {
                        problem(InputProblem::Failed(e));
                        continue;
                    }
                },
            };
            let (bytes, hops, hint) = match read {
                Ok(r) => r,
                Err(e) => {
                    problem(InputProblem::Failed(crate::Error::Fetch(Box::new(e))));
                    continue;
                }
            };
            match crate::scan::scan_bytes(&bytes, hint, opts) {
                Outcome::Scanned { embeds, kind, .. } => {
                    self.add_article(&source.name, embeds.iter().map(|f| &f.embed));
                    if let Some(archive) = keep {
                        match archive.put_bytes(&bytes) {
                            Ok(digest) => {
                                let body = ArticleBody {
                                    digest,
                                    bytes: bytes.len() as u64,
                                    kind,
                                };
                                self.kept.insert(source.name.clone(), (body, hops));
                            }
                            Err(e) => problem(InputProblem::Failed(e)),
                        }
                    }
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

/// Unreachable requests, with none answered, after which a run stops as
/// offline.
pub const OFFLINE_AFTER: u64 = 3;

/// One part of a job split across machines (`--shard K/N`): the posts whose
/// label (`provider:id`) hashes, by SHA-256, to `K-1` modulo `N`. The split
/// depends only on the post, so N runs over the same inputs, one per shard,
/// capture every post exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// Which part, from 1.
    pub index: u32,
    /// How many parts.
    pub count: u32,
}

impl Shard {
    /// Whether `post` belongs to this part.
    pub fn owns(&self, post: &PostId) -> bool {
        use sha2::Digest as _;
        let hash = sha2::Sha256::digest(post.label().as_bytes());
        let mut first = [0u8; 8];
        first.copy_from_slice(&hash[..8]);
        u64::from_be_bytes(first) % u64::from(self.count.max(1)) == u64::from(self.index - 1)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s}: a shard is K/N with 1 <= K <= N, e.g. 2/3");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How a run behaves.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Capture again posts already archived (a new capture; the old ones stay).
    pub refresh: bool,
    /// Posts captured at once.
    pub concurrency: usize,
    /// Capture only this part of the posts.
    pub shard: Option<Shard>,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            refresh: false,
            concurrency: 4,
            shard: None,
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Default)]
pub struct RunReport {
    /// Each post's report, in the order they finished, one per post.
    pub posts: Vec<PostReport>,
    /// Targets left unfinished (the run was stopped, or found itself offline).
    pub unfinished: usize,
    /// Article records written.
    pub articles: usize,
    /// Set when the run stopped early because no host could be reached: the
    /// last failure (`host: reason`).
    pub offline: Option<String>,
}

impl RunReport {
    /// Whether any post failed, is partial, or was left unfinished (exit code 1).
    pub fn any_failed(&self) -> bool {
        self.unfinished > 0 || self.offline.is_some() || self.posts.iter().any(|r| r.failed())
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

/// Which articles are still waiting for targets, so each is recorded as
/// soon as its last target finishes.
struct Articles {
    /// Each article: its targets, and how many have not finished.
    waiting: Vec<(String, Vec<Target>, usize)>,
    /// Articles citing each target (indexes into `waiting`).
    by_target: BTreeMap<Target, Vec<usize>>,
    /// The post each finished target led to.
    resolved: BTreeMap<Target, Option<PostId>>,
    /// The articles' own bytes, by name (see [`Plan`]).
    kept: BTreeMap<String, (ArticleBody, Vec<Exchange>)>,
}

impl Articles {
    fn new(
        cited: Vec<(String, Vec<Target>)>,
        kept: BTreeMap<String, (ArticleBody, Vec<Exchange>)>,
    ) -> Articles {
        let mut by_target: BTreeMap<Target, Vec<usize>> = BTreeMap::new();
        let mut waiting = Vec::new();
        for (i, (article, mut targets)) in cited.into_iter().enumerate() {
            targets.sort();
            targets.dedup();
            for t in &targets {
                by_target.entry(t.clone()).or_default().push(i);
            }
            let n = targets.len();
            waiting.push((article, targets, n));
        }
        Articles {
            waiting,
            by_target,
            resolved: BTreeMap::new(),
            kept,
        }
    }

    /// Notes that `target` finished (leading to `post`); returns the
    /// articles whose every target has now finished.
    fn finish(&mut self, target: &Target, post: Option<PostId>) -> Vec<usize> {
        if self.resolved.insert(target.clone(), post).is_some() {
            return Vec::new();
        }
        let mut ready = Vec::new();
        for &i in self.by_target.get(target).into_iter().flatten() {
            let w = &mut self.waiting[i];
            w.2 -= 1;
            if w.2 == 0 {
                ready.push(i);
            }
        }
        ready
    }

    /// Articles with no target at all are ready at once.
    fn empty(&self) -> Vec<usize> {
        (0..self.waiting.len())
            .filter(|&i| self.waiting[i].2 == 0)
            .collect()
    }

    fn record(&self, i: usize) -> ArticleRecord {
        let (article, targets, _) = &self.waiting[i];
        let mut posts = Vec::new();
        let mut short_links = Vec::new();
        for t in targets {
            match (self.resolved.get(t).cloned().flatten(), t) {
                (Some(post), _) if !posts.contains(&post) => posts.push(post),
                (None, Target::Short(s)) => short_links.push(s.clone()),
                _ => {}
            }
        }
        let (body, exchanges) = match self.kept.get(article) {
            Some((body, hops)) => (Some(body.clone()), hops.clone()),
            None => (None, Vec::new()),
        };
        ArticleRecord {
            schema: ARTICLE_SCHEMA.into(),
            article: article.clone(),
            archived_at: time::OffsetDateTime::now_utc(),
            posts,
            short_links,
            body,
            exchanges,
        }
    }
}

impl Archiver {
    /// An archiver writing into `archive`.
    pub fn new(archive: Archive, client: Client, options: RunOptions) -> Archiver {
        Archiver {
            capturer: Capturer::new(client, archive),
            options,
        }
    }

    /// The same archiver, asking Meta's oEmbed (Instagram, Threads,
    /// Facebook) with this app token.
    pub fn with_meta_token(mut self, token: Option<super::meta::MetaToken>) -> Archiver {
        self.capturer.meta_token = token;
        self
    }

    /// The client (for its byte counter).
    pub fn client(&self) -> &Client {
        &self.capturer.client
    }

    /// Captures every target of `plan` (of this shard), at most
    /// `concurrency` at once, calling `on_post` once per post as soon as it
    /// finishes (with every article citing the post, in this run and
    /// before), and recording each article as soon as its last target
    /// finishes. Short links the archive has not resolved yet are resolved
    /// first, so a post cited both by URL and by short link is one target.
    /// When `stop` completes (Ctrl-C), or when the first requests all fail to
    /// reach their hosts ([`OFFLINE_AFTER`]), unfinished captures are dropped
    /// (nothing partial is kept) and finished ones stay.
    pub async fn run(
        &self,
        plan: Plan,
        stop: impl Future<Output = ()>,
        mut on_post: impl FnMut(&PostReport),
    ) -> crate::Result<RunReport> {
        let archive = &self.capturer.archive;
        let mut plan = known_short_links(archive, plan);
        // Build the index cache now if it is missing, once, before captures
        // run side by side and each add to it.
        crate::store::index::Index::open(archive)?;
        let earlier = earlier_citations(archive);
        let shard = self.options.shard;
        let width = self.options.concurrency.max(1);
        let mut report = RunReport::default();
        let mut reported: std::collections::HashSet<PostId> = Default::default();
        let mut emit = |mut r: PostReport, report: &mut RunReport| {
            // A post reached twice is reported once.
            if r.post.as_ref().is_none_or(|p| reported.insert(p.clone())) {
                add_earlier(&mut r, &earlier);
                on_post(&r);
                report.posts.push(r);
            }
        };
        tokio::pin!(stop);

        // 1. Short links not resolved yet.
        let shorts: Vec<Target> = plan
            .jobs
            .keys()
            .filter(|t| matches!(t, Target::Short(_)))
            .cloned()
            .collect();
        let mut set = Pool::new(width);
        for short in &shorts {
            let Target::Short(s) = short.clone() else {
                continue;
            };
            let capturer = self.capturer.clone();
            set.push(async move {
                let r = super::resolve::resolve(&capturer.client, &capturer.archive, &s).await;
                (Target::Short(s), r)
            });
        }
        let mut unresolved = Vec::new();
        let mut left = shorts.len();
        let mut ended = false;
        while !ended {
            let (short, resolution) = match next(&mut set, stop.as_mut()).await {
                Next::Item(x) => x,
                Next::Lost => {
                    left -= 1;
                    continue;
                }
                Next::Empty => break,
                Next::Stopped => break,
            };
            left -= 1;
            match resolution.post {
                Some((post, url)) => merge(&mut plan, &short, post, Some(url)),
                None => {
                    let job = plan.jobs.remove(&short);
                    let Target::Short(s) = &short else { continue };
                    emit(
                        PostReport {
                            error: resolution.error,
                            error_url: resolution.error_url,
                            ..PostReport::new(
                                None,
                                format!("https://{s}"),
                                "failed",
                                job.map(|j| j.articles).unwrap_or_default(),
                            )
                        },
                        &mut report,
                    );
                    unresolved.push(short);
                }
            }
            if let Some(why) = self.offline() {
                report.offline = Some(why);
                ended = true;
            }
        }
        if left > 0 || report.offline.is_some() {
            set.abort();
            report.unfinished = plan.jobs.keys().filter(|t| needs_network(t)).count();
            return Ok(report);
        }

        // 2. Posts; each article is recorded once its last target finished.
        let mut articles = Articles::new(plan.cited, plan.kept);
        let mut ready = articles.empty();
        for short in unresolved {
            ready.extend(articles.finish(&short, None));
        }
        let mut set = Pool::new(width);
        let mut total = 0;
        for (target, job) in plan.jobs {
            if let (Target::Post(p), Some(shard)) = (&target, shard)
                && !shard.owns(p)
            {
                // Another shard captures it; its articles still list it.
                ready.extend(articles.finish(&target, Some(p.clone())));
                continue;
            }
            if !needs_network(&target) {
                // Skipped at once, whatever happens to the rest.
                let r = self
                    .capturer
                    .run(&target, job.url.as_deref(), None, job.articles, false)
                    .await;
                ready.extend(articles.finish(&target, r.post.clone()));
                emit(r, &mut report);
                continue;
            }
            total += 1;
            let (capturer, refresh) = (self.capturer.clone(), self.options.refresh);
            set.push(async move {
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
        for i in ready {
            archive.put_article(&articles.record(i))?;
            report.articles += 1;
        }
        let mut done = 0;
        loop {
            let (target, r) = match next(&mut set, stop.as_mut()).await {
                Next::Item(x) => x,
                Next::Lost => {
                    done += 1;
                    continue;
                }
                Next::Empty | Next::Stopped => break,
            };
            done += 1;
            for i in articles.finish(&target, r.post.clone()) {
                archive.put_article(&articles.record(i))?;
                report.articles += 1;
            }
            emit(r, &mut report);
            if done < total
                && let Some(why) = self.offline()
            {
                report.offline = Some(why);
                break;
            }
        }
        // Unfinished captures are dropped: their temp files go with them,
        // and nothing partial gets a ref.
        set.abort();
        report.unfinished = total - done;
        Ok(report)
    }

    /// Why the run looks offline: its first requests all failed to reach
    /// their hosts, and none was answered.
    fn offline(&self) -> Option<String> {
        let health = self.capturer.client.health();
        (health.answered == 0 && health.unreachable >= OFFLINE_AFTER).then(|| {
            health
                .last_unreachable
                .unwrap_or_else(|| "no host answered".into())
        })
    }
}

/// Whether capturing `target` sends requests (a post embarc captures, or a
/// short link), as opposed to reporting it `skipped`.
fn needs_network(target: &Target) -> bool {
    match target {
        Target::Post(p) => super::platform(p.provider).is_some(),
        Target::Short(_) => true,
        Target::Other(_) => false,
    }
}

/// What waiting on a set of tasks gave.
enum Next<T> {
    /// A task's result.
    Item(T),
    /// A task that panicked or was cancelled.
    Lost,
    /// No task is left.
    Empty,
    /// The run was stopped.
    Stopped,
}

/// Tasks run at most `width` at once, started in the order they were
/// pushed (a queue, not a crowd of tasks waiting on a semaphore in whatever
/// order the runtime wakes them).
struct Pool<T> {
    set: tokio::task::JoinSet<T>,
    queue: std::collections::VecDeque<super::BoxFuture<'static, T>>,
    width: usize,
}

impl<T: Send + 'static> Pool<T> {
    fn new(width: usize) -> Self {
        Pool {
            set: tokio::task::JoinSet::new(),
            queue: std::collections::VecDeque::new(),
            width: width.max(1),
        }
    }

    /// Queues a task.
    fn push(&mut self, task: impl Future<Output = T> + Send + 'static) {
        self.queue.push_back(Box::pin(task));
    }

    /// Starts queued tasks while fewer than `width` run.
    fn fill(&mut self) {
        while self.set.len() < self.width {
            let Some(task) = self.queue.pop_front() else {
                break;
            };
            self.set.spawn(task);
        }
    }

    /// Drops every task, running or queued.
    fn abort(&mut self) {
        self.queue.clear();
        self.set.abort_all();
    }
}

/// The next task of `pool` to finish, unless `stop` completes first.
async fn next<T: Send + 'static>(
    pool: &mut Pool<T>,
    stop: std::pin::Pin<&mut impl Future<Output = ()>>,
) -> Next<T> {
    pool.fill();
    tokio::select! {
        n = pool.set.join_next() => match n {
            Some(Ok(x)) => Next::Item(x),
            Some(Err(_)) => Next::Lost,
            None => Next::Empty,
        },
        _ = stop => Next::Stopped,
    }
}

/// Moves a resolved short link's job into its post's (one target, the
/// articles of both), and makes the articles citing it cite the post.
fn merge(plan: &mut Plan, short: &Target, post: PostId, url: Option<String>) {
    let Some(job) = plan.jobs.remove(short) else {
        return;
    };
    let into = Target::Post(post);
    let merged = plan.job(into.clone(), url);
    if merged.quote.is_none() {
        merged.quote = job.quote;
    }
    for a in job.articles {
        if !merged.articles.contains(&a) {
            merged.articles.push(a);
        }
    }
    for (_, targets) in &mut plan.cited {
        for t in targets.iter_mut() {
            if t == short {
                *t = into.clone();
            }
        }
    }
}

/// What a run of `plan` would do, from the archive alone (`None` when there
/// is none yet): each target once, as `unchanged` (archived already),
/// `would_retry` (its latest capture failed or is partial), `would_capture`,
/// `would_resolve` (a short link not resolved yet) or `skipped`. No request
/// is sent and nothing is written.
pub fn preview(
    plan: Plan,
    archive: Option<&Archive>,
    options: &RunOptions,
    mut on_post: impl FnMut(&PostReport),
) -> RunReport {
    let plan = match archive {
        Some(a) => known_short_links(a, plan),
        None => plan,
    };
    let earlier = archive.map(earlier_citations).unwrap_or_default();
    let mut posts = Vec::new();
    for (target, job) in plan.jobs {
        if let (Target::Post(p), Some(shard)) = (&target, options.shard)
            && !shard.owns(p)
        {
            continue;
        }
        let mut r = dry(archive, options.refresh, &target, job);
        add_earlier(&mut r, &earlier);
        on_post(&r);
        posts.push(r);
    }
    RunReport {
        posts,
        ..RunReport::default()
    }
}

/// Adds the articles that cited the post in earlier runs.
fn add_earlier(r: &mut PostReport, earlier: &BTreeMap<PostId, Vec<String>>) {
    if let Some(before) = r.post.as_ref().and_then(|p| earlier.get(p)) {
        for a in before {
            if !r.articles.contains(a) {
                r.articles.push(a.clone());
            }
        }
    }
}

/// The plan with each short link the archive already resolved replaced
/// by its post (so a post cited both ways is one target).
fn known_short_links(archive: &Archive, mut plan: Plan) -> Plan {
    let shorts: Vec<Target> = plan
        .jobs
        .keys()
        .filter(|t| matches!(t, Target::Short(_)))
        .cloned()
        .collect();
    for short in shorts {
        let Target::Short(s) = &short else { continue };
        if let Ok(Some(record)) = archive.short_link(s)
            && let Some(post) = record.post.clone()
        {
            merge(&mut plan, &short, post, record.post_url());
        }
    }
    plan
}

/// What a run would do for one target, from the archive alone.
fn dry(archive: Option<&Archive>, refresh: bool, target: &Target, job: Job) -> PostReport {
    let mut r = PostReport::new(
        None,
        job.url.clone().unwrap_or_default(),
        "would_capture",
        job.articles,
    );
    match target {
        Target::Other(u) => {
            r.url = u.clone();
            r.outcome = "skipped";
            r.error = Some("not a post of a supported provider".into());
        }
        Target::Short(s) => {
            r.url = format!("https://{s}");
            r.outcome = "would_resolve";
        }
        Target::Post(p) => {
            r.post = Some(p.clone());
            if r.url.is_empty() {
                r.url = p.canonical_url();
            }
            if super::platform(p.provider).is_none() {
                r.outcome = "skipped";
            } else if let Some(Ok(Some((digest, record)))) =
                archive.map(|a| super::latest_capture(a, p))
            {
                r.capture = Some(digest.to_string());
                r.media = record.media.len();
                r.source = record.source.clone();
                r.outcome = if refresh {
                    "would_capture"
                } else if super::is_settled(&record) {
                    "unchanged"
                } else {
                    "would_retry"
                };
            }
        }
    }
    r
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
