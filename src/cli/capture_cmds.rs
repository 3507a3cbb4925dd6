//! `embarc add` and `embarc archive`: resolve and capture posts (with their
//! media) into the archive, reporting one line per post.

use super::output::clean;
use super::{Global, exit};
use anyhow::{Context, Result};
use embarc::capture::PostReport;
use embarc::capture::pipeline::{Archiver, InputProblem, Plan, RunOptions};
use embarc::input::Input;
use embarc::net::{Client, NetConfig};
use embarc::post::PostId;
use embarc::scan::ScanOptions;
use embarc::store::Archive;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::Write;

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

pub fn add(args: AddArgs, global: &Global) -> Result<u8> {
    let mut plan = Plan::new();
    for u in &args.urls {
        plan.add_url(u);
    }
    run_plan(plan, &args.limits, global)
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
    let mut plan = Plan::new();
    let client = page_client(global)?;
    runtime()?.block_on(
        plan.add_inputs(&inputs, &opts, &client, |problem| match problem {
            InputProblem::Skipped { name, reason } => {
                if !global.quiet {
                    eprintln!("embarc: warning: skipped {}: {reason}", clean(&name));
                }
            }
            InputProblem::Failed(e) => {
                failed += 1;
                eprintln!("embarc: {}", clean(&e.full_message()));
            }
        }),
    );
    let code = run_plan(plan, &args.limits, global)?;
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
        ..embarc::capture::net_config()
    }
}

/// A client for article pages: any public host, same caps and timeouts.
fn page_client(global: &Global) -> Result<Client> {
    let mut cfg = net_config(global, None, 30.0);
    cfg.allowed_hosts = None;
    cfg.max_body = embarc::capture::pipeline::MAX_PAGE;
    Ok(Client::new(cfg)?)
}

/// Fetches article pages for `embarc scan URL…`: one client for every URL
/// of a run (its per-host limits hold across them), made at the first.
#[derive(Default)]
pub struct PageFetcher(Option<(tokio::runtime::Runtime, Client)>);

impl PageFetcher {
    /// The page at `url`, decoded.
    pub fn fetch(&mut self, url: &str, global: &Global) -> Result<embarc::Result<Vec<u8>>> {
        let (rt, client) = match &mut self.0 {
            Some(f) => f,
            None => self.0.insert((runtime()?, page_client(global)?)),
        };
        Ok(rt
            .block_on(client.get_page(url, embarc::capture::pipeline::MAX_PAGE))
            .map_err(|e| embarc::Error::Fetch(Box::new(e))))
    }
}

fn run_plan(plan: Plan, limits: &Limits, global: &Global) -> Result<u8> {
    let archive = Archive::open_or_create(&global.archive)?.with_index(global.index.clone());
    let client = Client::new(net_config(global, limits.rate, limits.read_timeout))?;
    let options = RunOptions {
        refresh: limits.refresh,
        concurrency: usize::from(limits.concurrency),
    };
    let bar = if global.quiet || plan.len() < 2 {
        ProgressBar::hidden()
    } else {
        let bar =
            ProgressBar::with_draw_target(Some(plan.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} capturing {pos}/{len} posts [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar
    };
    let archiver = Archiver::new(archive, client, options);
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let run = runtime()?.block_on(archiver.run(plan, stop, |_: &PostReport| {
        bar.inc(1);
        bar.set_message(format!(
            "{:.1} MB received",
            archiver.client().bytes_received() as f64 / 1e6
        ));
    }))?;
    bar.finish_and_clear();
    if run.unfinished > 0 {
        eprintln!("embarc: interrupted; finished captures are kept");
    }

    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, r) in &run.posts {
        *counts.entry(r.outcome).or_default() += 1;
        if global.json {
            serde_json::to_writer(&mut out, r)?;
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "{:<32} {:<10} {:>2} media  {}",
                clean(&r.post.as_ref().map_or("-".into(), PostId::label)),
                r.outcome,
                r.media,
                clean(r.error.as_deref().unwrap_or(&r.url))
            )?;
        }
    }
    out.flush()?;
    if !global.quiet {
        let n = run.posts.len();
        let summary: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
        eprintln!(
            "embarc: {} post{}: {}",
            n,
            if n == 1 { "" } else { "s" },
            if summary.is_empty() {
                "none".into()
            } else {
                summary.join(", ")
            }
        );
    }
    Ok(if run.any_failed() {
        exit::SOME_FAILED
    } else {
        exit::OK
    })
}
