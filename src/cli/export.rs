//! `embarc export --warc FILE` / `--wacz FILE`: the archive (or some posts of
//! it) as WARC 1.1 and/or WACZ. Parses the flags, reports unknown items,
//! shows progress, prints one summary per file written and picks the exit code.

use super::output::clean;
use super::{Global, exit};
use anyhow::Result;
use embarc::export::{self, ExportError, Options, Plan, Selection};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc export --wacz embeds.wacz\n  \
    embarc export --warc posts.warc.gz --post twitter:20\n  \
    embarc export --wacz story.wacz --article news/story.html\n  \
    embarc export --warc - | warcio index -")]
pub struct ExportArgs {
    /// Write a WARC 1.1 file, one gzip member per record (name it `.warc.gz`)
    #[arg(long, value_name = "FILE", required_unless_present = "wacz")]
    warc: Option<PathBuf>,
    /// Write a WACZ 1.1.1 file (may be given with --warc: both are written)
    #[arg(long, value_name = "FILE")]
    wacz: Option<PathBuf>,
    /// Export only this post (repeatable): a URL in any form, a short link, or `provider:id`
    #[arg(long = "post", value_name = "POST")]
    posts: Vec<String>,
    /// Export the posts this article cited (repeatable): its name as `embarc archive` was given it
    #[arg(long = "article", value_name = "INPUT")]
    articles: Vec<String>,
}

pub fn run(args: ExportArgs, global: &Global) -> Result<u8> {
    if let (Some(a), Some(b)) = (&args.warc, &args.wacz)
        && a == b
    {
        eprintln!("embarc: --warc and --wacz name the same file; give two names");
        return Ok(exit::FATAL);
    }
    let to_stdout = [&args.warc, &args.wacz]
        .into_iter()
        .flatten()
        .find(|p| export::is_stdout(p) || is_our_stdout(p));
    if let Some(p) = to_stdout {
        use std::io::IsTerminal;
        let flag = if Some(p) == args.warc.as_ref() {
            "--warc"
        } else {
            "--wacz"
        };
        if global.json {
            eprintln!(
                "embarc: {flag} {} writes the export to stdout, where --json would write its report too; drop --json (the summary goes to stderr) or name a file",
                p.display()
            );
            return Ok(exit::FATAL);
        }
        if std::io::stdout().is_terminal() {
            eprintln!(
                "embarc: {flag} {} would write binary data to the terminal; pipe stdout into a program or redirect it (`> export.warc.gz`)",
                p.display()
            );
            return Ok(exit::FATAL);
        }
    }
    let Some(archive) = super::store_cmds::open_for_reading(global)? else {
        eprintln!(
            "embarc: the archive at {} is empty: nothing to export",
            global.archive.display()
        );
        return Ok(exit::FATAL);
    };
    let (selection, unknown) = export::select(&archive, &args.posts, &args.articles)?;
    for u in &unknown {
        eprintln!("embarc: {}: {}", clean(&u.item), u.reason);
    }
    if matches!(&selection, Selection::Posts(p, a) if p.is_empty() && a.is_empty()) {
        eprintln!("embarc: nothing to export: no named post or article is in the archive");
        return Ok(exit::FATAL);
    }
    let plan = Plan::new(&archive, &selection)?;
    for s in plan.skipped() {
        let what = if s.digest == s.record {
            format!("its record {} cannot be read", s.record)
        } else {
            format!("its record {} needs object {}", s.record, s.digest)
        };
        eprintln!(
            "embarc: {}: left out of the export: {what} ({}); run `embarc verify --repair`, then export again",
            clean(&s.post),
            clean(&s.reason)
        );
    }
    let opts = Options {
        warc: args.warc.clone(),
        wacz: args.wacz.clone(),
        now: time::OffsetDateTime::now_utc(),
    };
    let bar = if global.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(
            Some(plan.captures().max(1) as u64),
            ProgressDrawTarget::stderr(),
        );
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} exporting [{bar:30}] {pos}/{len} captures, {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    };
    let started = std::time::Instant::now();
    let result = export::export(&archive, &plan, &opts, &mut |done, bytes| {
        bar.set_position(done as u64);
        bar.set_message(format!("{:.1} MB written", bytes as f64 / 1e6));
    });
    bar.finish_and_clear();
    // A stream cannot be taken back: say what it holds.
    let failed = if [&args.warc, &args.wacz]
        .into_iter()
        .flatten()
        .any(|p| export::is_stream(p))
    {
        "export failed, the stream got a cut-short export (no regular file written)"
    } else {
        "export failed, no file written"
    };
    let summaries = match result {
        Ok(s) => s,
        Err(e @ ExportError::Object { .. }) => {
            eprintln!("embarc: {failed}: {}", clean(&e.to_string()));
            return Ok(exit::SOME_FAILED);
        }
        Err(ExportError::Empty(why)) => {
            eprintln!("embarc: nothing to export: {why}");
            return Ok(exit::FATAL);
        }
        Err(e) => return Err(anyhow::Error::new(e).context(failed)),
    };
    let secs = started.elapsed().as_secs_f64();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for s in &summaries {
        if global.json {
            let mut line = serde_json::to_value(s)?;
            line["unknown"] = json!(unknown);
            line["skipped"] = json!(plan.skipped());
            super::output::json_line(&mut out, &line)?;
        }
        if !global.quiet {
            eprintln!(
                "embarc: wrote {}: {} {}, {} ({}), {:.1} MB in {:.2}s, {}",
                if export::is_stdout(Path::new(&s.file)) {
                    "stdout".to_string()
                } else {
                    clean(&s.file)
                },
                s.format.to_uppercase(),
                export::count(s.records as usize, "record", "records"),
                export::count(s.posts, "post", "posts"),
                export::count(s.captures, "capture", "captures"),
                s.bytes as f64 / 1e6,
                secs,
                s.sha256
            );
        }
    }
    out.flush()?;
    Ok(if unknown.is_empty() && plan.skipped().is_empty() {
        exit::OK
    } else {
        exit::SOME_FAILED
    })
}

/// Whether `path` is this process's standard output under another name
/// (`/dev/stdout`, `/proc/self/fd/1`, the file stdout is redirected to).
fn is_our_stdout(path: &Path) -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let Ok(target) = std::fs::metadata(path) else {
        return false;
    };
    let Ok(fd) = std::io::stdout().as_fd().try_clone_to_owned() else {
        return false;
    };
    std::fs::File::from(fd)
        .metadata()
        .is_ok_and(|out| out.dev() == target.dev() && out.ino() == target.ino())
}
