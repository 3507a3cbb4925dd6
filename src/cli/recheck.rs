//! `embarc recheck`: which archived posts X still serves. Turns the flags
//! into the posts to ask about and prints one line per post; the asking,
//! comparing and storing is `embarc::capture::twitter::recheck`.

use super::output::clean;
use super::{Global, exit};
use anyhow::Result;
use embarc::capture::twitter::recheck::{self as lib, RecheckReport};
use embarc::capture::{Capturer, Target};
use embarc::net::Client;
use embarc::store::Archive;
use std::io::Write;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc recheck --all --older-than 7\n  \
    embarc recheck --article news/story.html --json\n  \
    embarc recheck https://x.com/jack/status/20\n\n\
    Each post costs one request to X's syndication endpoint. A post is live (unchanged:\n\
    nothing stored), edited (a new capture is stored), gone (a tombstone capture is added\n\
    the first time; the old captures stay) or failed.")]
pub struct RecheckArgs {
    /// Posts to recheck: URLs in any form or provider:id
    #[arg(value_name = "POST", conflicts_with = "all")]
    posts: Vec<String>,
    /// Recheck the posts this article cited (named as `embarc archive` was given it; repeatable)
    #[arg(long, value_name = "INPUT", conflicts_with = "all")]
    article: Vec<String>,
    /// Recheck every post in the archive
    #[arg(long)]
    all: bool,
    /// Only posts whose latest capture is older than this many days
    #[arg(long, value_name = "DAYS", value_parser = days_value)]
    older_than: Option<f64>,
    /// Posts rechecked at once
    #[arg(short = 'j', long, visible_alias = "jobs", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    concurrency: u16,
    /// At most this many requests per second to X (default: no limit beyond the client's)
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
}

/// `--older-than`: a number of days, 0 to 36,500.
fn days_value(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(d) if (0.0..=36_500.0).contains(&d) => Ok(d),
        _ => Err(format!("{s}: a number of days from 0 to 36500")),
    }
}

pub fn run(args: RecheckArgs, global: &Global) -> Result<u8> {
    if args.posts.is_empty() && args.article.is_empty() && !args.all {
        eprintln!(
            "embarc: recheck what? name posts, pass --article INPUT, or --all for every archived post"
        );
        return Ok(exit::FATAL);
    }
    if let Some(r) = args.rate
        && !(0.001..=10_000.0).contains(&r)
    {
        eprintln!("embarc: {r}: a rate is a number from 0.001 to 10000 requests per second");
        return Ok(exit::FATAL);
    }
    let archive = Archive::open(&global.archive)?.with_index(global.index.clone());
    let mut posts = Vec::new();
    let mut failed = 0usize;
    for given in &args.posts {
        match Target::parse(given) {
            Target::Post(p) => posts.push(p),
            Target::Short(link) => match archive.short_link(&link)?.and_then(|r| r.post) {
                Some(p) => posts.push(p),
                None => {
                    failed += 1;
                    eprintln!(
                        "embarc: {}: a short link this archive has not resolved; run `embarc add {}` first",
                        clean(given),
                        clean(given)
                    );
                }
            },
            Target::Other(_) => {
                eprintln!(
                    "embarc: {}: not a post URL or provider:id (e.g. twitter:20)",
                    clean(given)
                );
                return Ok(exit::FATAL);
            }
        }
    }
    let older = args
        .older_than
        .map(|d| std::time::Duration::from_secs_f64(d * 86_400.0));
    let (posts, unknown) = lib::select(
        &archive,
        &posts,
        &args.article,
        args.all,
        older,
        time::OffsetDateTime::now_utc(),
    )?;
    for a in &unknown {
        failed += 1;
        eprintln!(
            "embarc: {}: no article of that name in the archive (name it as `embarc archive` was given it)",
            clean(a)
        );
    }
    let mut cfg = super::capture_cmds::net_config(global, None)?;
    if let Some(r) = args.rate {
        cfg.min_interval = std::time::Duration::from_secs_f64(1.0 / r);
    }
    let capturer = Capturer::new(Client::new(cfg)?, archive);
    let n = posts.len();
    let mut reports: Vec<RecheckReport> = Vec::new();
    let mut printed: std::io::Result<()> = Ok(());
    super::capture_cmds::runtime()?.block_on(lib::recheck_all(
        &capturer,
        posts,
        usize::from(args.concurrency),
        |r| {
            if printed.is_ok() {
                printed = print_line(&r, global);
            }
            reports.push(r);
        },
    ));
    if let Some(code) = super::capture_cmds::stopped_printing(printed)? {
        return Ok(code);
    }
    if !global.quiet {
        let count = |w: &str| reports.iter().filter(|r| r.outcome == w).count();
        eprintln!(
            "embarc: {n} post{} rechecked: {} live, {} edited, {} gone, {} failed{}",
            if n == 1 { "" } else { "s" },
            count("live"),
            count("edited"),
            count("gone"),
            count("failed"),
            match count("skipped") {
                0 => String::new(),
                k => format!(", {k} skipped"),
            }
        );
    }
    Ok(if failed > 0 || reports.iter().any(RecheckReport::failed) {
        exit::SOME_FAILED
    } else {
        exit::OK
    })
}

/// One post's line: a JSON object, or `post outcome capture-or-error`.
fn print_line(r: &RecheckReport, global: &Global) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if global.json {
        super::output::json_line(&mut out, r)?;
    } else {
        let what = match (&r.error, &r.capture) {
            (Some(e), _) if r.outcome != "gone" => e.clone(),
            (_, Some(c)) if !r.changed.is_empty() => {
                format!("{} changed; new capture {c}", r.changed.join(" and "))
            }
            (_, Some(c)) => format!("new capture {c}"),
            _ => r.url.clone(),
        };
        writeln!(
            out,
            "{:<32} {} {}",
            clean(&r.post.label()),
            super::output::outcome(r.outcome, 8),
            clean(&what)
        )?;
        if global.verbose > 0
            && let Some(u) = &r.error_url
        {
            eprintln!("    {}", clean(u));
        }
    }
    out.flush()
}
