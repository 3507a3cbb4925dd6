//! `embarc add` and `embarc archive`: resolve and capture posts (with their
//! media) into the archive, reporting one line per post.

use super::output::clean;
use super::{Global, exit};
use anyhow::{Context, Result};
use embarc::capture::twitter::Endpoints;
use embarc::capture::{Capturer, PostReport, Target};
use embarc::embed::{Form, Provider, Quote};
use embarc::input::{self, Input};
use embarc::net::{Client, NetConfig};
use embarc::scan::{Outcome, ScanOptions};
use embarc::store::Archive;
use embarc::store::record::{ARTICLE_SCHEMA, ArticleRecord, PostKey};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// Posts to capture: URLs in any form, short links included
    #[arg(value_name = "URL", required = true)]
    urls: Vec<String>,
    #[command(flatten)]
    limits: Limits,
}

#[derive(clap::Args, Debug)]
pub struct ArchiveArgs {
    /// Articles: files, folders (recursive), article URLs, or `-` for stdin
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,
    /// Read every input as this kind instead of guessing
    #[arg(long, value_enum)]
    kind: Option<embarc::Kind>,
    #[command(flatten)]
    limits: Limits,
}

/// How a run of captures behaves (options shared by `add` and `archive`).
#[derive(clap::Args, Debug)]
struct Limits {
    /// Capture again posts already archived (a new capture; the old ones stay)
    #[arg(long)]
    refresh: bool,
    /// Posts captured at once
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// At most this many requests per second to any one host (default: no limit)
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// Give up on a response silent for this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0)]
    read_timeout: f64,
}

/// One post to capture, with who cites it.
struct Job {
    target: Target,
    quote: Option<Quote>,
    articles: Vec<String>,
}

pub fn add(args: AddArgs, global: &Global) -> Result<u8> {
    let mut jobs: BTreeMap<Target, Job> = BTreeMap::new();
    for u in &args.urls {
        let target = Target::parse(u);
        jobs.entry(target.clone()).or_insert(Job {
            target,
            quote: None,
            articles: Vec::new(),
        });
    }
    run_jobs(
        jobs.into_values().collect(),
        &args.limits,
        global,
        Vec::new(),
    )
}

pub fn archive(args: ArchiveArgs, global: &Global) -> Result<u8> {
    let inputs: Vec<Input> = if args.inputs.is_empty() {
        vec![Input::Stdin]
    } else {
        args.inputs.iter().map(|a| Input::parse(a)).collect()
    };
    let opts = ScanOptions {
        kind: args.kind,
        ..ScanOptions::default()
    };
    let mut failed = 0usize;
    let mut jobs: BTreeMap<Target, Job> = BTreeMap::new();
    let mut cited: Vec<(String, Vec<Target>)> = Vec::new();
    let runtime = runtime()?;
    for item in input::expand(&inputs) {
        let source = match item {
            Ok(s) => s,
            Err(e) => {
                failed += 1;
                eprintln!("embarc: {}", clean(&e.full_message()));
                continue;
            }
        };
        let outcome = match &source.origin {
            input::Origin::Url(url) => match runtime.block_on(fetch_article(url, global)) {
                Ok(bytes) => embarc::scan::scan_bytes(&bytes, Some(embarc::Kind::Html), &opts),
                Err(e) => Outcome::Failed(embarc::Error::Io {
                    path: url.into(),
                    source: std::io::Error::other(e),
                }),
            },
            _ => embarc::scan::scan_one(&source, &opts).outcome,
        };
        let embeds = match outcome {
            Outcome::Scanned { embeds, .. } => embeds,
            Outcome::Skipped { reason } => {
                if !global.quiet {
                    eprintln!("embarc: warning: skipped {}: {reason}", clean(&source.name));
                }
                continue;
            }
            Outcome::Failed(e) => {
                failed += 1;
                eprintln!("embarc: {}", clean(&e.full_message()));
                continue;
            }
        };
        let mut targets = Vec::new();
        for found in embeds {
            let e = found.embed;
            let target = match (&e.id, &e.short_link) {
                (Some(id), _) => Target::Post(PostKey {
                    provider: e.provider.as_str().into(),
                    id: id.clone(),
                    url: e.url.clone().unwrap_or_default(),
                }),
                (None, Some(s)) if e.provider == Provider::Twitter => Target::Short(s.clone()),
                _ => continue,
            };
            // A link in prose to a non-X post is reported, not captured.
            if e.form == Form::Link && e.provider != Provider::Twitter {
                continue;
            }
            let job = jobs.entry(target.clone()).or_insert_with(|| Job {
                target: target.clone(),
                quote: None,
                articles: Vec::new(),
            });
            if job.quote.is_none() {
                job.quote = e.quote.clone();
            }
            if !job.articles.contains(&source.name) {
                job.articles.push(source.name.clone());
            }
            targets.push(target);
        }
        cited.push((source.name.clone(), targets));
    }
    let code = run_jobs(jobs.into_values().collect(), &args.limits, global, cited)?;
    Ok(if failed > 0 { exit::SOME_FAILED } else { code })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn net_config(global: &Global, rate: Option<f64>, read_timeout: f64) -> NetConfig {
    NetConfig {
        mirrors: global.mirror.clone(),
        read_timeout: std::time::Duration::from_secs_f64(read_timeout.clamp(0.1, 3600.0)),
        min_interval: rate
            .filter(|r| r.is_finite() && *r > 0.0)
            .map_or(std::time::Duration::ZERO, |r| {
                std::time::Duration::from_secs_f64(1.0 / r)
            }),
        ..NetConfig::default()
    }
}

/// [`fetch_article`] for synchronous callers (`embarc scan URL`).
pub fn fetch_article_blocking(url: &str, global: &Global) -> Result<Vec<u8>, String> {
    runtime()
        .map_err(|e| e.to_string())?
        .block_on(fetch_article(url, global))
}

/// Fetches an article page (any public host; same caps and timeouts).
async fn fetch_article(url: &str, global: &Global) -> Result<Vec<u8>, String> {
    let mut cfg = net_config(global, None, 30.0);
    cfg.allowed_hosts = None;
    cfg.max_body = 64 * 1024 * 1024;
    let client = Client::new(cfg).map_err(|e| e.to_string())?;
    let scratch = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store = Archive::open_or_create(scratch.path().join("a")).map_err(|e| e.to_string())?;
    let mut url = url.to_string();
    for _ in 0..10 {
        let f = client
            .get(&url, &store, 64 * 1024 * 1024)
            .await
            .map_err(|e| e.to_string())?;
        match (f.status(), f.header("location")) {
            (300..=399, Some(loc)) => {
                url = url::Url::parse(&url)
                    .and_then(|b| b.join(loc))
                    .map_err(|e| e.to_string())?
                    .to_string();
            }
            (200..=299, _) => {
                return f
                    .decoded_body(64 * 1024 * 1024)
                    .ok_or_else(|| format!("{url}: body could not be decoded"));
            }
            (s, _) => return Err(format!("{url}: HTTP {s}")),
        }
    }
    Err(format!("{url}: too many redirects"))
}

/// Every article the archive already records as citing each post.
fn earlier_citations(archive: &Archive) -> BTreeMap<String, Vec<String>> {
    let mut by_post: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (_, digest) in archive.list_refs(&["articles"]).unwrap_or_default() {
        let Ok(record) = archive.read_json::<ArticleRecord>(&digest) else {
            continue;
        };
        for p in record.posts {
            let list = by_post.entry(p.label()).or_default();
            if !list.contains(&record.article) {
                list.push(record.article.clone());
            }
        }
    }
    by_post
}

fn run_jobs(
    jobs: Vec<Job>,
    limits: &Limits,
    global: &Global,
    cited: Vec<(String, Vec<Target>)>,
) -> Result<u8> {
    let (refresh, concurrency) = (limits.refresh, limits.concurrency);
    let archive = Archive::open_or_create(&global.archive)?.with_index(global.index.clone());
    // Build the index cache now if it is missing, once, before captures run
    // side by side and each add to it.
    embarc::store::index::Index::open(&archive)?;
    let earlier = earlier_citations(&archive);
    let runtime = runtime()?;
    let client = Client::new(net_config(global, limits.rate, limits.read_timeout))?;
    let endpoints = Endpoints::default();
    let bar = if global.quiet || jobs.len() < 2 {
        ProgressBar::hidden()
    } else {
        let bar =
            ProgressBar::with_draw_target(Some(jobs.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} capturing {pos}/{len} posts [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    };
    let total = jobs.len();
    let reports: Vec<(Target, PostReport)> = runtime.block_on(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(usize::from(concurrency)));
        let capturer = Capturer::new(client.clone(), archive.clone(), endpoints);
        let mut set = tokio::task::JoinSet::new();
        for job in jobs {
            let (capturer, gate) = (capturer.clone(), gate.clone());
            set.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let r = capturer
                    .run(&job.target, job.quote, job.articles, refresh)
                    .await;
                (job.target, r)
            });
        }
        let mut out = Vec::with_capacity(total);
        let stop = tokio::signal::ctrl_c();
        tokio::pin!(stop);
        loop {
            tokio::select! {
                next = set.join_next() => match next {
                    Some(Ok(r)) => {
                        bar.inc(1);
                        bar.set_message(format!("{:.1} MB received", client.bytes_received() as f64 / 1e6));
                        out.push(r);
                    }
                    Some(Err(_)) => bar.inc(1),
                    None => break,
                },
                _ = &mut stop => {
                    // Unfinished captures are dropped: their temp files go
                    // with them, and nothing partial gets a ref.
                    set.abort_all();
                    bar.suspend(|| eprintln!("embarc: interrupted; finished captures are kept"));
                    break;
                }
            }
        }
        out
    });
    bar.finish_and_clear();

    // Which post each short link led to, for the article records.
    let resolved: BTreeMap<&Target, Option<String>> =
        reports.iter().map(|(t, r)| (t, r.post.clone())).collect();
    for (article, targets) in &cited {
        let mut posts = Vec::new();
        let mut short_links = Vec::new();
        for t in targets {
            match (resolved.get(t).cloned().flatten(), t) {
                (Some(label), _) => {
                    if let Some((provider, id)) = label.split_once(':') {
                        let key = PostKey {
                            provider: provider.into(),
                            id: id.into(),
                            url: String::new(),
                        };
                        if !posts.contains(&key) {
                            posts.push(key);
                        }
                    }
                }
                (None, Target::Short(s)) => short_links.push(s.clone()),
                _ => {}
            }
        }
        let record = ArticleRecord {
            schema: ARTICLE_SCHEMA.into(),
            article: article.clone(),
            archived_at: time::OffsetDateTime::now_utc(),
            posts,
            short_links,
        };
        archive.put_article(&record)?;
    }

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    let mut sorted = reports;
    // `articles`: every article citing the post, in this run and before.
    for (_, r) in &mut sorted {
        if let Some(before) = r.post.as_ref().and_then(|p| earlier.get(p)) {
            for a in before {
                if !r.articles.contains(a) {
                    r.articles.push(a.clone());
                }
            }
        }
    }
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, r) in &sorted {
        *counts.entry(r.outcome).or_default() += 1;
        if global.json {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:<32} {:<10} {:>2} media  {}",
                clean(r.post.as_deref().unwrap_or("-")),
                r.outcome,
                r.media,
                clean(r.error.as_deref().unwrap_or(&r.url))
            )?;
        }
    }
    out.flush()?;
    if !global.quiet {
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        eprintln!(
            "embarc: {} post{}: {}",
            sorted.len(),
            if sorted.len() == 1 { "" } else { "s" },
            if summary.is_empty() {
                "none".into()
            } else {
                summary.join(", ")
            }
        );
    }
    Ok(
        if sorted.iter().any(|(_, r)| r.failed()) || sorted.len() < total {
            exit::SOME_FAILED
        } else {
            exit::OK
        },
    )
}
