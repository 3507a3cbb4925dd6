//! `embarc add` and `embarc archive`: resolve and capture posts (with their
//! media) into the archive, reporting one line per post.

use super::output::clean;
use super::{Global, exit};
use anyhow::{Context, Result};
use embarc::capture::PostReport;
use embarc::capture::pipeline::{Archiver, InputProblem, Plan, RunOptions, Shard};
use embarc::input::Input;
use embarc::net::{Client, NetConfig};
use embarc::post::PostId;
use embarc::scan::ScanOptions;
use embarc::store::Archive;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::collections::BTreeMap;
use std::io::Write;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc add https://x.com/jack/status/20\n  \
    embarc add t.co/abc123 pic.twitter.com/N4ceb2ZWvV --json\n  \
    embarc add -i posts.txt --shard 1/3")]
pub struct AddArgs {
    /// Posts to capture: URLs in any form, short links included
    #[arg(value_name = "URL", required_unless_present = "input_file")]
    urls: Vec<String>,
    /// Read post URLs from FILE, one per line (`-` for stdin; `#` starts a comment)
    #[arg(short = 'i', long, value_name = "FILE")]
    input_file: Option<String>,
    #[command(flatten)]
    pub(super) limits: Limits,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc archive articles/\n  \
    embarc archive https://example.com/story.html --json\n  \
    embarc archive -i list.txt --dry-run\n  \
    embarc archive articles/ --shard 2/3 --archive s3://bucket/archive\n\n\
    A run that is stopped (Ctrl-C, a scheduler's timeout, no network) loses nothing:\n\
    run it again and it captures what is missing, failed or partial.")]
pub struct ArchiveArgs {
    /// Articles: files, folders (recursive), article URLs, or `-` for stdin
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,
    /// Read articles (paths, folders or URLs) from FILE, one per line (`-` for stdin)
    #[arg(short = 'i', long, value_name = "FILE")]
    input_file: Option<String>,
    /// Read every input as this kind instead of guessing
    #[arg(long, value_enum)]
    kind: Option<embarc::Kind>,
    #[command(flatten)]
    pub(super) limits: Limits,
}

/// How a run of captures behaves (options shared by `add` and `archive`).
#[derive(clap::Args, Debug)]
pub(super) struct Limits {
    /// Capture again posts already archived (a new capture; the old ones stay)
    #[arg(long)]
    refresh: bool,
    /// Say what would be captured and what is already archived; send no request, write nothing
    #[arg(long)]
    dry_run: bool,
    /// Capture only part K of N of the posts (a stable split by post id), e.g. 2/3
    #[arg(long, value_name = "K/N")]
    shard: Option<Shard>,
    /// Posts captured at once
    #[arg(short = 'j', long, visible_alias = "jobs", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// At most this many requests per second to any one host (default: no limit)
    #[arg(long, value_name = "PER_SECOND", value_parser = rate_value)]
    rate: Option<f64>,
    /// Give up on a response silent for this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = seconds_value)]
    read_timeout: f64,
    /// A JSON answer (syndication, oEmbed, a short link's hop) must arrive whole within this many seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 30.0, value_parser = seconds_value)]
    api_timeout: f64,
    /// A media file fails an attempt when it arrives slower than this over any 30 s (0: no floor)
    #[arg(long, value_name = "BYTES_PER_SECOND", default_value_t = 10_000)]
    min_rate: u64,
    /// Never ask the Wayback Machine (web.archive.org) for posts X no longer serves
    #[arg(long)]
    pub(super) no_wayback: bool,
}

/// `--rate`: a finite number of requests per second, 0.001 (one every
/// 1,000 s) to 10,000.
fn rate_value(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(r) if (0.001..=10_000.0).contains(&r) => Ok(r),
        _ => Err(format!(
            "{s}: a rate is a number from 0.001 to 10000 requests per second"
        )),
    }
}

/// A duration flag: a finite number of seconds, 0.1 to 3,600.
fn seconds_value(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(t) if (0.1..=3600.0).contains(&t) => Ok(t),
        _ => Err(format!(
            "{s}: a duration is a number of seconds from 0.1 to 3600"
        )),
    }
}

impl Limits {
    /// Each option the user did not give (`given`), from the config file,
    /// checked as its flag is.
    pub(super) fn configure(
        &mut self,
        given: impl Fn(&str) -> bool,
        c: &super::config::Config,
    ) -> Result<(), String> {
        if let Some(n) = c.concurrency.filter(|_| !given("concurrency")) {
            if !(1..=64).contains(&n) {
                return Err(format!("concurrency: {n}: from 1 to 64"));
            }
            self.concurrency = n;
        }
        if let Some(r) = c.rate.filter(|_| !given("rate")) {
            self.rate = Some(rate_value(&r.to_string()).map_err(|e| format!("rate: {e}"))?);
        }
        if let Some(t) = c.read_timeout.filter(|_| !given("read_timeout")) {
            self.read_timeout =
                seconds_value(&t.to_string()).map_err(|e| format!("read_timeout: {e}"))?;
        }
        if let Some(t) = c.api_timeout.filter(|_| !given("api_timeout")) {
            self.api_timeout =
                seconds_value(&t.to_string()).map_err(|e| format!("api_timeout: {e}"))?;
        }
        if let Some(m) = c.min_rate.filter(|_| !given("min_rate")) {
            self.min_rate = m;
        }
        if let Some(off) = c.no_wayback.filter(|_| !given("no_wayback")) {
            self.no_wayback = off;
        }
        Ok(())
    }
}

/// Each entry of `-i FILE`, or none.
fn input_list(file: Option<&str>) -> Result<Vec<String>> {
    match file {
        Some(f) => Ok(embarc::input::read_list(f)?),
        None => Ok(Vec::new()),
    }
}

pub fn add(args: AddArgs, global: &Global) -> Result<u8> {
    let mut plan = Plan::new();
    for u in args
        .urls
        .iter()
        .cloned()
        .chain(input_list(args.input_file.as_deref())?)
    {
        // `twitter:abc` names a provider but no post: a typo, not a URL to skip.
        if let Some((name, _)) = u.split_once(':')
            && embarc::Provider::from_name(name).is_some()
            && PostId::parse_label(&u).is_none()
        {
            eprintln!(
                "embarc: {}: not a post id of {name} (X ids are digits, e.g. twitter:20); pass the post's URL or provider:id",
                clean(&u)
            );
            return Ok(exit::FATAL);
        }
        plan.add_url(&u);
    }
    run_plan(plan, &args.limits, global)
}

pub fn archive(args: ArchiveArgs, global: &Global) -> Result<u8> {
    let listed = input_list(args.input_file.as_deref())?;
    if args.input_file.as_deref() == Some("-") && args.inputs.iter().any(|a| a == "-") {
        eprintln!("embarc: `-i -` and the input `-` both read stdin; give one of them a file");
        return Ok(exit::FATAL);
    }
    let mut inputs: Vec<Input> = args
        .inputs
        .iter()
        .chain(&listed)
        .map(|a| Input::parse(a))
        .collect();
    if inputs.is_empty() && args.input_file.is_none() {
        inputs.push(Input::Stdin);
    }
    let opts = ScanOptions {
        kind: args.kind,
        ..ScanOptions::default()
    };
    let mut failed = 0usize;
    if args.limits.dry_run {
        // A dry run sends no request: article URLs are named, not fetched.
        inputs.retain(|i| match i {
            Input::Url(u) => {
                if !global.quiet {
                    eprintln!(
                        "embarc: dry run: would fetch the article {} (its posts are not listed)",
                        clean(u)
                    );
                }
                false
            }
            _ => true,
        });
    }
    let mut plan = Plan::new();
    let client = page_client(global)?;
    // Each article's own bytes are kept in the archive beside the posts it
    // cites (a dry run writes nothing).
    let archive = if args.limits.dry_run {
        None
    } else {
        Some(open_archive(global)?)
    };
    runtime()?.block_on(
        plan.add_inputs(
            &inputs,
            &opts,
            &client,
            archive.as_ref(),
            |problem| match problem {
                InputProblem::Skipped { name, reason } => {
                    if !global.quiet {
                        eprintln!("embarc: warning: skipped {}: {reason}", clean(&name));
                    }
                }
                InputProblem::Failed(e) => {
                    failed += 1;
                    eprintln!("embarc: {}", clean(&e.full_message()));
                }
            },
        ),
    );
    let code = run_plan_in(plan, archive, &args.limits, global)?;
    Ok(if failed > 0 { exit::SOME_FAILED } else { code })
}

pub(super) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

pub(super) fn net_config(global: &Global, limits: Option<&Limits>) -> Result<NetConfig> {
    let defaults = embarc::capture::net_config();
    let base = NetConfig {
        mirrors: global.mirror.clone(),
        user_agent: global.user_agent(),
        on_request: request_log(global)?,
        ..defaults
    };
    let Some(limits) = limits else {
        return Ok(base);
    };
    let secs = std::time::Duration::from_secs_f64;
    let cfg = NetConfig {
        read_timeout: secs(limits.read_timeout),
        api_timeout: secs(limits.api_timeout),
        min_rate: limits.min_rate,
        min_interval: limits
            .rate
            .map_or(std::time::Duration::ZERO, |r| secs(1.0 / r)),
        ..base
    };
    Ok(if limits.no_wayback {
        without_wayback(cfg)
    } else {
        cfg
    })
}

/// `--no-wayback`: the Wayback Machine taken out of the hosts a capture
/// fetches, its `--mirror` too, so no request can reach it.
pub(super) fn without_wayback(mut cfg: NetConfig) -> NetConfig {
    let host = embarc::capture::wayback::HOST;
    if let Some(allowed) = cfg.allowed_hosts.as_mut() {
        allowed.retain(|h| h != host);
    }
    cfg.mirrors.retain(|m| m.host != host);
    cfg
}

/// Where each request's line goes: stderr under `-vv`, appended to `--log FILE`.
fn request_log(global: &Global) -> Result<Option<embarc::net::RequestLog>> {
    let file = match &global.log {
        Some(path) => Some(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .with_context(|| format!("opening the log {}", path.display()))?,
        )),
        None => None,
    };
    let to_stderr = global.verbose >= 2;
    if file.is_none() && !to_stderr {
        return Ok(None);
    }
    Ok(Some(embarc::net::RequestLog(std::sync::Arc::new(
        move |line: &str| {
            let line = clean(line);
            if to_stderr {
                eprintln!("embarc: {line}");
            }
            if let Some(f) = &file {
                let stamp = time::OffsetDateTime::now_utc()
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default();
                let mut f = f.lock().unwrap_or_else(|e| e.into_inner());
                let _ = writeln!(f, "{stamp} {line}");
            }
        },
    ))))
}

/// A client for article pages: any public host, same caps and timeouts.
fn page_client(global: &Global) -> Result<Client> {
    let mut cfg = net_config(global, None)?;
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
    run_plan_in(plan, None, limits, global)
}

fn open_archive(global: &Global) -> Result<Archive> {
    Ok(Archive::open_or_create(&global.archive)?.with_index(global.index.clone()))
}

/// Runs `plan` into `archive` (opened here when `None`).
fn run_plan_in(
    plan: Plan,
    archive: Option<Archive>,
    limits: &Limits,
    global: &Global,
) -> Result<u8> {
    let options = RunOptions {
        refresh: limits.refresh,
        concurrency: usize::from(limits.concurrency),
        shard: limits.shard,
    };
    if limits.dry_run {
        return dry_run(plan, &options, global);
    }
    let archive = match archive {
        Some(a) => a,
        None => open_archive(global)?,
    };
    let client = Client::new(net_config(global, Some(limits))?)?;
    let bar = if global.quiet || global.verbose >= 2 || plan.len() < 2 {
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
    let archiver = Archiver::new(archive, client, options).with_meta_token(global.meta_token());
    let stop = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    // Each post's line is printed (and flushed) as soon as it finishes, so a
    // run killed at any moment has reported every post it finished.
    let mut printed: std::io::Result<()> = Ok(());
    let run = runtime()?.block_on(archiver.run(plan, stop, |r: &PostReport| {
        bar.inc(1);
        bar.set_message(format!(
            "{:.1} MB received",
            archiver.client().bytes_received() as f64 / 1e6
        ));
        if printed.is_ok() {
            printed = bar.suspend(|| print_line(r, global));
        }
    }))?;
    bar.finish_and_clear();
    if let Some(code) = stopped_printing(printed)? {
        return Ok(code);
    }
    if let Some(reason) = &run.offline {
        let hint = if global.mirror.is_empty() {
            "offline? behind a firewall? pass --mirror HOST=URL to use a mirror"
        } else {
            "is the --mirror server running?"
        };
        eprintln!(
            "embarc: {}: the platforms' servers cannot be reached ({hint}); \
             nothing was lost, {} left for the next run",
            clean(reason),
            posts_are(run.unfinished)
        );
    } else if run.unfinished > 0 {
        eprintln!(
            "embarc: interrupted; finished captures are kept, {} left for the next run",
            posts_are(run.unfinished)
        );
    }
    if !global.quiet {
        let n = run.posts.len();
        eprintln!(
            "embarc: {} post{}{}: {}",
            n,
            if n == 1 { "" } else { "s" },
            limits
                .shard
                .map_or(String::new(), |s| format!(" (shard {s})")),
            tally(&run.posts, "none")
        );
    }
    Ok(if run.any_failed() {
        exit::SOME_FAILED
    } else {
        exit::OK
    })
}

/// `--dry-run`: each target's line from the archive alone (none yet is fine),
/// then a summary; exit 0.
fn dry_run(plan: Plan, options: &RunOptions, global: &Global) -> Result<u8> {
    let archive = match Archive::open(&global.archive) {
        Ok(a) => Some(a),
        Err(embarc::Error::NoArchive { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let mut printed: std::io::Result<()> = Ok(());
    let run = embarc::capture::pipeline::preview(plan, archive.as_ref(), options, |r| {
        if printed.is_ok() {
            printed = print_line(r, global);
        }
    });
    if let Some(code) = stopped_printing(printed)? {
        return Ok(code);
    }
    if !global.quiet {
        eprintln!(
            "embarc: dry run, nothing sent or written{}: {}",
            if archive.is_none() {
                format!(" (no archive at {} yet)", global.archive.display())
            } else {
                String::new()
            },
            tally(&run.posts, "no posts")
        );
    }
    Ok(exit::OK)
}

/// How many posts ended each way (`3 archived, 1 failed`), or `none`.
fn tally(posts: &[PostReport], none: &str) -> String {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for r in posts {
        *counts.entry(r.outcome).or_default() += 1;
    }
    if counts.is_empty() {
        return none.to_string();
    }
    let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    parts.join(", ")
}

/// `1 post is` / `3 posts are`.
fn posts_are(n: usize) -> String {
    if n == 1 {
        "1 post is".into()
    } else {
        format!("{n} posts are")
    }
}

/// After printing lines: a closed stdout (`| head`) ends the command with
/// success (`Some(0)`); another write error is an error.
pub(super) fn stopped_printing(printed: std::io::Result<()>) -> Result<Option<u8>> {
    match printed {
        Ok(()) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Some(exit::OK)),
        Err(e) => Err(e.into()),
    }
}

/// One post's line: a JSON object, or `post outcome media error-or-url` (and,
/// under `-v`, the full URL of a failed request on stderr).
fn print_line(r: &PostReport, global: &Global) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if global.json {
        super::output::json_line(&mut out, r)?;
    } else {
        writeln!(
            out,
            "{:<32} {} {:>2} media  {}",
            clean(&r.post.as_ref().map_or("-".into(), PostId::label)),
            super::output::outcome(r.outcome, 13),
            r.media,
            clean(r.error.as_deref().unwrap_or(&r.url))
        )?;
        if global.verbose > 0
            && let Some(u) = &r.error_url
        {
            eprintln!("    {}", clean(u));
        }
    }
    out.flush()
}
