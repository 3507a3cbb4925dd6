//! `embarc ls`, `show`, `verify`, `reindex`: reading and checking the archive.

use super::output::clean;
use super::{Global, exit};
use anyhow::Result;
use embarc::capture::Target;
use embarc::store::index::Index;
use embarc::store::record::{CaptureRecord, PostId};
use embarc::store::{Archive, repair, verify};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;
use std::io::Write;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc show twitter:20\n  \
    embarc show https://x.com/jack/status/20 --json")]
pub struct ShowArgs {
    /// The post: a URL in any form, or `provider:id` (e.g. `twitter:20`)
    post: String,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc verify\n  \
    embarc verify --sample 5 --json\n  \
    embarc verify --repair\n  \
    embarc verify --repair --from /backup/archive")]
pub struct VerifyArgs {
    /// Re-hash only this percentage of objects, chosen at random (refs are always all checked)
    #[arg(long, value_name = "PERCENT", value_parser = parse_percent)]
    sample: Option<f64>,
    /// Restore corrupt or missing objects: fetch media again from the URLs their captures recorded (through --mirror), or with --from copy them from another archive
    #[arg(long)]
    repair: bool,
    /// With --repair: copy the objects from this archive (a backup, a clone) instead of fetching them
    #[arg(long, value_name = "ARCHIVE", requires = "repair")]
    from: Option<std::path::PathBuf>,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("not a number: {s}"))?;
    if v > 0.0 && v <= 100.0 {
        Ok(v)
    } else {
        Err("must be more than 0 and at most 100".into())
    }
}

/// Opens the archive for a command that only reads it, writing nothing into
/// it (no `tmp/`, no marker; the index is opened with
/// [`Index::open_for_reading`]). `None` when the place exists but holds no
/// archive yet: a folder with nothing in it, or only `.gitignore`,
/// `FORMAT.md`… (a project may keep the folder before its first capture), or
/// an empty prefix of a bucket; that reads as an empty archive. A folder that
/// is not there is an error (as a missing bucket is): only `add` and
/// `archive` create an archive, and a mistyped `--archive` must not read as
/// an empty one.
pub(crate) fn open_for_reading(global: &Global) -> Result<Option<Archive>> {
    let dir = &global.archive;
    match Archive::open(dir) {
        Ok(a) => Ok(Some(a.with_index(global.index.clone()))),
        Err(embarc::Error::NoArchive { .. })
            if embarc::store::is_remote_location(dir) || dir.is_dir() =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

pub fn ls(global: &Global) -> Result<u8> {
    let Some(archive) = open_for_reading(global)? else {
        if !global.quiet {
            eprintln!(
                "embarc: the archive at {} is empty",
                global.archive.display()
            );
        }
        return Ok(exit::OK);
    };
    let index = Index::open_for_reading(&archive)?;
    if let Some(why) = index.replaced()
        && !global.quiet
    {
        eprintln!(
            "embarc: {} could not be read ({}); rebuilt it from the refs",
            archive.index_path().display(),
            clean(why)
        );
    }
    let posts = index.posts()?;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for p in &posts {
        if global.json {
            super::output::json_line(&mut out, p)?;
        } else {
            let who = p
                .handle
                .as_deref()
                .map(|h| format!("@{h}"))
                .unwrap_or_default();
            writeln!(
                out,
                "{:<32} {} {:<27} {:>3} capture{} {}",
                clean(&p.post),
                super::output::outcome(&p.latest_outcome, 10),
                p.latest_at,
                p.captures,
                if p.captures == 1 { " " } else { "s" },
                clean(&who)
            )?;
            if let Some(problem) = &p.problem {
                writeln!(out, "  problem: {}", clean(problem))?;
            }
        }
    }
    out.flush()?;
    let broken = posts.iter().filter(|p| p.problem.is_some()).count();
    if broken > 0 && !global.quiet {
        eprintln!(
            "embarc: {broken} post{} with captures that cannot be read; run `embarc verify` (and `embarc verify --repair`)",
            if broken == 1 { "" } else { "s" }
        );
    }
    if !global.quiet && !global.json {
        eprintln!(
            "embarc: {} post{} in {}",
            posts.len(),
            if posts.len() == 1 { "" } else { "s" },
            global.archive.display()
        );
    }
    Ok(exit::OK)
}

/// The post a short link or a Bluesky handle URL led to, as the archive
/// resolved it (no request is sent).
fn resolved(s: &str, global: &Global) -> Option<PostId> {
    let Target::Short(link) = Target::parse(s) else {
        return None;
    };
    let archive = open_for_reading(global).ok().flatten()?;
    archive.short_link(&link).ok().flatten()?.post
}

/// Reads `provider:id` or a post URL in any form.
pub fn parse_post(s: &str) -> Option<PostId> {
    match Target::parse(s) {
        Target::Post(post) => Some(post),
        Target::Short(_) | Target::Other(_) => None,
    }
}

pub fn show(args: ShowArgs, global: &Global) -> Result<u8> {
    let Some(post) = parse_post(&args.post).or_else(|| resolved(&args.post, global)) else {
        eprintln!(
            "embarc: {}: not a post URL or `provider:id` (e.g. twitter:20); short links and Bluesky handle URLs are resolved by `embarc add`",
            clean(&args.post)
        );
        return Ok(exit::FATAL);
    };
    let Some(archive) = open_for_reading(global)? else {
        eprintln!(
            "embarc: {} is not archived: the archive at {} is empty",
            post.label(),
            global.archive.display()
        );
        return Ok(exit::SOME_FAILED);
    };
    let index = Index::open_for_reading(&archive)?;
    let digests = index.captures_of(&post)?;
    let mut problems = index.problems_of(&post)?;
    if digests.is_empty() && problems.is_empty() {
        eprintln!(
            "embarc: {} is not archived in {}",
            post.label(),
            global.archive.display()
        );
        return Ok(exit::SOME_FAILED);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for d in digests {
        let r: CaptureRecord = match archive.read_json(&d) {
            Ok(r) => r,
            Err(e) => {
                problems.push(format!("{d}: {}", e.full_message()));
                continue;
            }
        };
        let n = r.normalized.as_ref();
        let author = n.map(|n| n.author.name.as_str()).filter(|a| !a.is_empty());
        let handle = n.and_then(|n| n.author.handle.as_deref());
        let when = r
            .captured_at
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        if global.json {
            let line = json!({
                "post": r.post.label(),
                "url": r.url,
                "capture": d.to_string(),
                "captured_at": when,
                "outcome": r.state(),
                "error": r.error,
                "author": author,
                "handle": handle,
                "text": n.map(|n| &n.text),
                "created_at": n.and_then(|n| n.created_at.as_deref()),
                "source": r.source,
                "media": r.media.iter().map(|m| json!({"role": m.role, "url": m.url, "digest": m.digest.to_string(), "bytes": m.bytes})).collect::<Vec<_>>(),
                "exchanges": r.exchanges.len(),
                "article_quote": r.article_quote,
            });
            super::output::json_line(&mut out, &line)?;
        } else {
            writeln!(out, "{}  {}  {}", when, r.state(), d)?;
            writeln!(out, "  post: {}  {}", r.post.label(), clean(&r.url))?;
            if let Some(e) = &r.error {
                writeln!(out, "  error: {}", clean(e))?;
            }
            if author.is_some() || handle.is_some() {
                writeln!(
                    out,
                    "  by: {} (@{})",
                    clean(author.unwrap_or("?")),
                    clean(handle.unwrap_or("?"))
                )?;
            }
            if let Some(t) = n.map(|n| &n.text) {
                for line in t.lines() {
                    writeln!(out, "  | {}", clean(line))?;
                }
            }
            for m in &r.media {
                writeln!(
                    out,
                    "  {} {} ({} bytes) {}",
                    m.role,
                    m.digest,
                    m.bytes,
                    clean(&m.url)
                )?;
            }
        }
    }
    out.flush()?;
    problems.sort();
    problems.dedup();
    for p in &problems {
        let advice = if p.contains("embarc verify") {
            ""
        } else {
            "; run `embarc verify` (and `embarc verify --repair`)"
        };
        eprintln!(
            "embarc: {}: a capture cannot be read: {}{advice}",
            post.label(),
            clean(p)
        );
    }
    Ok(if problems.is_empty() {
        exit::OK
    } else {
        exit::SOME_FAILED
    })
}

pub fn verify(args: VerifyArgs, global: &Global) -> Result<u8> {
    let Some(archive) = open_for_reading(global)? else {
        if !global.quiet {
            eprintln!(
                "embarc: the archive at {} is empty: nothing to verify",
                global.archive.display()
            );
        }
        return Ok(exit::OK);
    };
    let sample = args.sample.unwrap_or(100.0);
    let bar = if global.quiet {
        ProgressBar::hidden()
    } else {
        let objects = verify::list_objects(&archive)?.len() as f64;
        let expected = (objects * sample / 100.0).ceil() as u64;
        let bar =
            ProgressBar::with_draw_target(Some(expected.max(1)), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} verifying [{bar:30}] {pos}/{len} objects, {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    };
    let hashed = std::sync::atomic::AtomicU64::new(0);
    let started = std::time::Instant::now();
    let report = verify::verify(&archive, sample, &|n| {
        let total = hashed.fetch_add(n, std::sync::atomic::Ordering::Relaxed) + n;
        bar.inc(1);
        bar.set_message(format!("{:.0} MB", total as f64 / 1e6));
    })?;
    bar.finish_and_clear();
    let report = if args.repair {
        let repaired = repair(&archive, &report, args.from.as_deref(), global)?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for r in &repaired {
            if global.json {
                super::output::json_line(&mut out, r)?;
            } else {
                writeln!(
                    out,
                    "repaired: {} ({}) from {}",
                    clean(&r.path),
                    r.repaired,
                    clean(&r.source)
                )?;
            }
        }
        out.flush()?;
        if repaired.is_empty() {
            report
        } else {
            // Records restored: the index no longer marks their posts (a
            // read-only archive keeps its index as it is).
            if let Ok(mut index) = Index::open(&archive) {
                let _ = index.rebuild(&archive);
            }
            // What stays broken: the archive checked again.
            verify::verify(&archive, sample, &|_| {})?
        }
    } else {
        report
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for p in &report.problems {
        if global.json {
            super::output::json_line(&mut out, p)?;
        } else {
            writeln!(out, "{}", clean(&p.to_string()))?;
        }
    }
    out.flush()?;
    if !global.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "embarc: {} of {} objects re-hashed ({:.1} MB in {:.2}s, {:.0} MB/s), {} refs followed: {}",
            report.objects_checked,
            report.objects_total,
            report.bytes_checked as f64 / 1e6,
            secs,
            report.bytes_checked as f64 / 1e6 / secs.max(1e-9),
            report.refs_checked,
            if report.problems.is_empty() {
                "all good".to_string()
            } else {
                format!(
                    "{} problem{}",
                    report.problems.len(),
                    if report.problems.len() == 1 { "" } else { "s" }
                )
            }
        );
    }
    Ok(if report.problems.is_empty() {
        exit::OK
    } else {
        exit::SOME_FAILED
    })
}

/// Restores what `report` found corrupt or missing: from the archive `from`,
/// or fetched again from the URLs the captures recorded (through the same
/// client rules as a capture, and `--mirror`). Returns what was restored.
fn repair(
    archive: &Archive,
    report: &verify::Report,
    from: Option<&std::path::Path>,
    global: &Global,
) -> Result<Vec<repair::Repaired>> {
    let wanted = repair::wanted(archive, report);
    let mut done = Vec::new();
    if wanted.is_empty() {
        return Ok(done);
    }
    let healed = |w: &repair::Wanted, source: String| repair::Repaired {
        repaired: w.digest.to_string(),
        path: w.path.clone(),
        source,
    };
    if let Some(from) = from {
        let other = Archive::open(from)?;
        for w in &wanted {
            if repair::from_archive(archive, &other, w) {
                done.push(healed(w, other.location()));
            }
        }
        return Ok(done);
    }
    // The captures' client: their hosts, --mirror, --user-agent, --log, -vv.
    let client = embarc::net::Client::new(super::capture_cmds::net_config(global, None)?)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        for w in &wanted {
            if let Some(url) = repair::from_network(archive, &client, w).await {
                done.push(healed(w, url));
            }
        }
    });
    Ok(done)
}

pub fn reindex(global: &Global) -> Result<u8> {
    let Some(archive) = open_for_reading(global)? else {
        if !global.quiet {
            eprintln!(
                "embarc: the archive at {} is empty: nothing to index",
                global.archive.display()
            );
        }
        return Ok(exit::OK);
    };
    let mut index = match Index::open(&archive) {
        Ok(index) => index,
        Err(e) if e.is_read_only() => {
            eprintln!(
                "embarc: {}; the index cannot be written here: pass --index PATH to build it elsewhere (ls and show read a read-only archive without one)",
                clean(&e.full_message())
            );
            return Ok(exit::FATAL);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(why) = index.replaced()
        && !global.quiet
    {
        eprintln!(
            "embarc: {} could not be read ({}); built a fresh one",
            archive.index_path().display(),
            clean(why)
        );
    }
    let rebuilt = index.rebuild_checked(&archive)?;
    let n = rebuilt.indexed;
    for skipped in &rebuilt.skipped {
        eprintln!("embarc: skipped {}", clean(skipped));
    }
    if !global.quiet {
        eprintln!(
            "embarc: indexed {n} capture{} in {}{}",
            if n == 1 { "" } else { "s" },
            archive.index_path().display(),
            if rebuilt.skipped.is_empty() {
                String::new()
            } else {
                format!(
                    "; skipped {} that cannot be read (run `embarc verify`)",
                    rebuilt.skipped.len()
                )
            }
        );
    }
    Ok(if rebuilt.skipped.is_empty() {
        exit::OK
    } else {
        exit::SOME_FAILED
    })
}
