//! `embarc scan`: find embeds and report them as a table or JSON lines.

use super::output::{article_error, clean};
use super::{Global, exit};
use anyhow::{Context, Result};
use embarc::input::{self, Input, Origin, Source};
use embarc::scan::{self, Outcome, Report, ScanOptions};
use embarc::{Embed, Kind, Provider};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::ops::ControlFlow;
use std::time::Instant;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc scan articles/\n  \
    embarc scan https://example.com/story.html --json\n  \
    curl -s https://example.com/story.html | embarc scan -\n  \
    embarc scan -j 8 site/ --json | jq -r .url")]
pub struct ScanArgs {
    /// Articles: files, folders (recursive), article URLs, or `-` for stdin (the default)
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,
    /// Read every input as this kind instead of guessing from extension and content
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Skip articles larger than this many bytes
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    max_size: u64,
    /// Articles scanned at once (default: one per core)
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

/// One `scan --json` line (docs/cli.md), plus `line` for people.
#[derive(Serialize)]
struct JsonLine<'a> {
    article: &'a str,
    #[serde(flatten)]
    embed: &'a Embed,
    line: usize,
}

#[derive(Default)]
struct Tally {
    articles: usize,
    bytes: u64,
    embeds: usize,
    with_embeds: usize,
    skipped: usize,
    failed: usize,
    by_provider: BTreeMap<Provider, usize>,
}

pub fn run(args: ScanArgs, global: &Global) -> Result<u8> {
    let mut inputs: Vec<Input> = args.inputs.iter().map(|a| Input::parse(a)).collect();
    if inputs.is_empty() {
        if std::io::stdin().is_terminal() {
            eprintln!(
                "embarc: no input: pass files or folders to scan, or pipe an article into `embarc scan -`"
            );
            return Ok(exit::FATAL);
        }
        inputs.push(Input::Stdin);
    }
    let defaults = ScanOptions::default();
    let opts = ScanOptions {
        kind: args.kind,
        max_bytes: args.max_size,
        threads: args.threads.map_or(defaults.threads, usize::from),
    };
    let started = Instant::now();
    let mut tally = Tally::default();
    let mut sources = Vec::new();
    for item in input::expand(&inputs) {
        match item {
            Ok(s) => sources.push(s),
            Err(e) => {
                tally.failed += 1;
                eprintln!("embarc: {}", clean(&e.full_message()));
            }
        }
    }

    let progress = if global.quiet || sources.len() < 2 {
        ProgressBar::hidden()
    } else {
        let bar =
            ProgressBar::with_draw_target(Some(sources.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} scanning {pos}/{len} articles [{bar:30}] eta {eta} {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    };

    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let table = !global.json;
    let mut first_error: Option<anyhow::Error> = None;
    // Runs of files go to the parallel scanner; article URLs are fetched in
    // their place (any public host, with the capture's caps and timeouts).
    let mut rest: &[Source] = &sources;
    let mut pages = super::capture_cmds::PageFetcher::default();
    while !rest.is_empty() && first_error.is_none() {
        let files = rest
            .iter()
            .take_while(|s| !matches!(s.origin, Origin::Url(_)))
            .count();
        let (batch, after) = rest.split_at(files.max(1));
        rest = after;
        if files == 0 {
            let source = &batch[0];
            let Origin::Url(url) = &source.origin else {
                continue;
            };
            let outcome = match pages.fetch(url, global)? {
                Ok(bytes) => scan::scan_bytes(
                    &bytes,
                    Some(Kind::Html).filter(|_| opts.kind.is_none()),
                    &opts,
                ),
                Err(e) => scan::Outcome::Failed(e),
            };
            let report = scan::Report {
                article: source.name.clone(),
                outcome,
            };
            progress.inc(1);
            if let Err(e) = print_report(&report, table, global, &mut tally, &mut out, &progress) {
                first_error = Some(e);
            }
            continue;
        }
        scan::scan_all(batch, &opts, |report| {
            progress.inc(1);
            match print_report(&report, table, global, &mut tally, &mut out, &progress) {
                Ok(()) => ControlFlow::Continue(()),
                Err(e) => {
                    first_error = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
    }
    progress.finish_and_clear();
    if let Some(e) = first_error {
        return Err(e);
    }
    out.flush().context("writing results")?;

    if !global.quiet {
        let elapsed = started.elapsed().as_secs_f64();
        let providers: Vec<String> = tally
            .by_provider
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        eprintln!(
            "embarc: {} embed{} in {} of {} article{} ({}){}{}; {:.1} MB in {:.2}s",
            tally.embeds,
            if tally.embeds == 1 { "" } else { "s" },
            tally.with_embeds,
            tally.articles,
            if tally.articles == 1 { "" } else { "s" },
            if providers.is_empty() {
                "none".to_string()
            } else {
                providers.join(", ")
            },
            if tally.skipped > 0 {
                format!(", {} skipped", tally.skipped)
            } else {
                String::new()
            },
            if tally.failed > 0 {
                format!(", {} failed", tally.failed)
            } else {
                String::new()
            },
            tally.bytes as f64 / 1e6,
            elapsed,
        );
    }
    Ok(if tally.failed > 0 {
        exit::SOME_FAILED
    } else {
        exit::OK
    })
}

fn print_report(
    report: &Report,
    table: bool,
    global: &Global,
    tally: &mut Tally,
    out: &mut impl Write,
    progress: &ProgressBar,
) -> Result<()> {
    match &report.outcome {
        Outcome::Failed(e) => {
            tally.failed += 1;
            progress.suspend(|| eprintln!("embarc: {}", clean(&article_error(e))));
        }
        Outcome::Skipped { reason } => {
            tally.skipped += 1;
            if !global.quiet {
                progress.suspend(|| {
                    eprintln!(
                        "embarc: warning: skipped {}: {reason}",
                        clean(&report.article)
                    )
                });
            }
        }
        Outcome::Scanned {
            kind,
            bytes,
            embeds,
        } => {
            tally.articles += 1;
            tally.bytes += bytes;
            tally.embeds += embeds.len();
            tally.with_embeds += usize::from(!embeds.is_empty());
            if global.verbose > 0 {
                progress.suspend(|| {
                    eprintln!(
                        "embarc: {} ({kind:?}, {bytes} bytes): {} embeds",
                        clean(&report.article),
                        embeds.len()
                    )
                });
            }
            for f in embeds {
                *tally.by_provider.entry(f.embed.provider).or_default() += 1;
                if table {
                    let e = &f.embed;
                    let post = e.id.as_deref().or(e.short_link.as_deref()).unwrap_or("-");
                    let who = e
                        .quote
                        .as_ref()
                        .and_then(|q| q.handle.as_deref())
                        .map(|h| format!("@{h}"))
                        .unwrap_or_default();
                    let place = format!("{}:{}", report.article, f.line);
                    writeln!(
                        out,
                        "{:<40} {:<9} {:<10} {:<22} {}",
                        clean(&place),
                        e.provider.as_str(),
                        e.form.as_str(),
                        clean(post),
                        clean(&who)
                    )?;
                } else {
                    serde_json::to_writer(
                        &mut *out,
                        &JsonLine {
                            article: &report.article,
                            embed: &f.embed,
                            line: f.line,
                        },
                    )?;
                    out.write_all(b"\n")?;
                }
            }
        }
    }
    Ok(())
}
