//! export: the archive as WARC 1.1 (`.warc.gz`, one gzip member per record)
//! and WACZ 1.1.1, for pywb, ReplayWeb.page and the Wayback Machine's tools.
//! It reads the archive only: what it selects (the whole archive, posts,
//! the posts articles cited), in which order records go, and how each stored
//! exchange, short-link hop and capture record becomes WARC records.
//!
//! It must write bodies exactly as they were received, streamed from the
//! archive's verifying reader (never a whole media body in memory), never
//! write bytes that fail verification, and never leave a partial file under
//! the final name: everything goes to a temp file beside it, renamed at the end.
//! An output that is not a regular file (`-` for standard output, a FIFO, a
//! character device) is never replaced: it is opened and written in place, as
//! the export goes (a failed export leaves it cut short, and says so).
//!
//! Records, in order: one `warcinfo`; then for each post (by provider and id)
//! and each of its captures (oldest first), every exchange not already
//! written as a `response` then its `request` (each `WARC-Concurrent-To` the
//! other), then the capture record itself as a `metadata` record whose target
//! is the post URL; then each short link's 3xx hops as `response`/`request`
//! pairs and its resolution record as `metadata`. Record ids are derived from
//! the content (`urn:uuid:` version 8 from a SHA-256), dates are the capture
//! times: two exports of one archive differ only in the warcinfo record's id
//! and date.

pub mod cdxj;
pub mod wacz;
pub mod warc;

use crate::capture::Target;
use crate::store::record::{ArticleRecord, CaptureRecord, Exchange, PostId, ShortLinkRecord};
use crate::store::{Archive, Digest};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use tempfile::NamedTempFile;
use time::OffsetDateTime;
use warc::{Fields, Packing, WarcWriter, record_id, warc_date};

/// Bodies up to this size are read (verified) in one go; larger ones are
/// streamed twice (see [`Exporter::body_record`]).
const SMALL_BODY: u64 = 1024 * 1024;
/// Posts whose records and small bodies are read ahead together (many
/// requests in flight on a bucket), and the most bytes of bodies read ahead.
const PREFETCH_POSTS: usize = 64;
/// Bodies to check in a bucket from which one listing beats a request each.
const LIST_FROM: usize = 256;
const PREFETCH_BYTES: u64 = 64 * 1024 * 1024;
/// Largest record object (capture or short-link JSON) read.
const MAX_RECORD: u64 = 64 * 1024 * 1024;
/// The largest article an export reads back (what `archive` reads of one).
const MAX_ARTICLE: u64 = 256 * 1024 * 1024;

/// Why an export failed. Nothing is written under the final name then.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// An object the export needs is missing or does not hash to its name.
    #[error(
        "{owner}: object {digest} is missing or corrupt ({reason}); run `embarc verify --repair` (or restore it from a copy), then export again"
    )]
    Object {
        /// The post or short link whose record needs it.
        owner: String,
        /// The object.
        digest: Digest,
        /// What went wrong.
        reason: String,
    },
    /// Reading the archive's refs or records failed.
    #[error(transparent)]
    Store(#[from] crate::Error),
    /// Writing an output file failed.
    #[error("{}", path.display())]
    Output {
        /// The file being written.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The selection holds no capture at all.
    #[error("nothing to export: {0}")]
    Empty(String),
}

/// What to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every post and every short link in the archive.
    All,
    /// These posts (and the short links that led to them), and the
    /// articles named (their pages).
    Posts(Vec<PostId>, Vec<String>),
}

/// An item named on the command line that the archive does not know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    /// The item as given.
    pub item: String,
    /// Why it selects nothing.
    pub reason: String,
}

/// Turns `--post` and `--article` values into a selection (`All` when both
/// are empty). Items the archive does not know are returned, not fatal.
pub fn select(
    archive: &Archive,
    posts: &[String],
    articles: &[String],
) -> crate::Result<(Selection, Vec<Unknown>)> {
    if posts.is_empty() && articles.is_empty() {
        return Ok((Selection::All, Vec::new()));
    }
    let mut chosen: Vec<PostId> = Vec::new();
    let mut named = Vec::new();
    let mut unknown = Vec::new();
    let add = |p: PostId, chosen: &mut Vec<PostId>| {
        if !chosen.contains(&p) {
            chosen.push(p);
        }
    };
    for item in posts {
        let post = match Target::parse(item) {
            Target::Post(p) => Some(p),
            Target::Short(s) => match archive.short_link(&s) {
                Ok(r) => r.and_then(|r| r.post),
                Err(e) => {
                    unknown.push(Unknown {
                        item: item.clone(),
                        reason: format!(
                            "its short-link record cannot be read ({}); run `embarc verify --repair`, or name the post",
                            e.full_message()
                        ),
                    });
                    continue;
                }
            },
            Target::Other(_) => {
                unknown.push(Unknown {
                    item: item.clone(),
                    reason: "not a post URL, short link or `provider:id` (e.g. twitter:20)".into(),
                });
                continue;
            }
        };
        match post {
            Some(p) if has_captures(archive, &p)? => add(p, &mut chosen),
            Some(p) => unknown.push(Unknown {
                item: item.clone(),
                reason: format!(
                    "{} is not archived; capture it with `embarc add`",
                    p.label()
                ),
            }),
            None => unknown.push(Unknown {
                item: item.clone(),
                reason: "this short link was never resolved to a post in this archive".into(),
            }),
        }
    }
    for name in articles {
        let records = archive.article(name)?;
        if records.is_empty() {
            unknown.push(Unknown {
                item: name.clone(),
                reason: "no article of that name in the archive (give it as `embarc archive` was given it: the path or URL)".into(),
            });
            continue;
        }
        named.push(name.clone());
        for record in records {
            for p in record.posts {
                if has_captures(archive, &p)? {
                    add(p, &mut chosen);
                }
            }
        }
    }
    Ok((Selection::Posts(chosen, named), unknown))
}

/// The newest record of each article that kept the article's bytes: every
/// article for the whole archive, the named ones otherwise. A record that
/// cannot be read is listed in `skipped`.
fn newest_articles(
    archive: &Archive,
    selection: &Selection,
    skipped: &mut Vec<Skipped>,
) -> crate::Result<Vec<ArticleRecord>> {
    let wanted: Option<HashSet<String>> = match selection {
        Selection::All => None,
        Selection::Posts(_, names) => {
            Some(names.iter().map(|n| crate::store::article_key(n)).collect())
        }
    };
    let refs: Vec<(String, Digest)> = archive
        .article_digests()?
        .into_iter()
        .filter(|(key, _)| wanted.as_ref().is_none_or(|w| w.contains(key)))
        .collect();
    let digests: Vec<Digest> = refs.iter().map(|(_, d)| *d).collect();
    // Oldest first within each article: the last one kept is the newest.
    let mut newest: BTreeMap<String, (Digest, ArticleRecord)> = BTreeMap::new();
    for ((key, d), r) in refs
        .iter()
        .zip(archive.read_json_each::<ArticleRecord>(&digests))
    {
        match r {
            Ok(r) if r.body.is_some() => {
                newest.insert(r.article.clone(), (*d, r));
            }
            Ok(_) => {}
            Err(e) => skipped.push(Skipped {
                post: format!("article {}", &key[..key.len().min(16)]),
                record: *d,
                digest: *d,
                reason: short_reason(archive, d, &e),
            }),
        }
    }
    let objects: Vec<Digest> = newest
        .values()
        .flat_map(|(_, r)| article_objects(r))
        .collect();
    let gone = absent(archive, &objects);
    let mut chosen = Vec::with_capacity(newest.len());
    for (d, r) in newest.into_values() {
        let missing = article_objects(&r).find(|o| gone.contains(o));
        match missing {
            None => chosen.push(r),
            Some(o) => skipped.push(Skipped {
                post: format!("article {}", r.article),
                record: d,
                digest: o,
                reason: "not in the archive".into(),
            }),
        }
    }
    Ok(chosen)
}

/// The objects an article's page needs: its bytes and its fetch's bodies.
fn article_objects(r: &ArticleRecord) -> impl Iterator<Item = Digest> + '_ {
    r.body
        .iter()
        .map(|b| b.digest)
        .chain(r.exchanges.iter().filter_map(|e| e.body))
}

/// Where an export puts the rendered page of the article named `name`:
/// under `embarc.invalid` (a name that never resolves, RFC 6761), by the
/// article's key, so it can never be mistaken for, or collide with, a live
/// page.
pub fn rendered_article_url(name: &str) -> String {
    format!(
        "{RENDERED_BASE}articles/{}.html",
        crate::store::article_key(name)
    )
}

/// The base of the URLs an export invents (see [`rendered_article_url`]).
const RENDERED_BASE: &str = "https://embarc.invalid/";

fn has_captures(archive: &Archive, p: &PostId) -> crate::Result<bool> {
    Ok(!archive.capture_digests(p)?.is_empty())
}

/// A capture or short link left out of an export because its record, or an
/// object its record names, cannot be read (one item of `export --json`'s
/// `skipped`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The post (`provider:id`) or the short link (`HOST/CODE`).
    pub post: String,
    /// The capture (or short-link) record left out.
    pub record: Digest,
    /// The object that cannot be read: the record itself, or a body it names.
    pub digest: Digest,
    /// Why.
    pub reason: String,
}

/// The records an export will write, found before anything is written.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Each post with its capture records' digests, oldest first.
    posts: Vec<(PostId, Vec<Digest>)>,
    /// The newest record of each article whose page goes in (one that kept
    /// the article's bytes), by name.
    articles: Vec<ArticleRecord>,
    /// Short-link records to include (`HOST/CODE`, digest), by host and code.
    short_links: Vec<(String, Digest)>,
    /// Captures and short links left out: their record cannot be read, or
    /// (exporting the whole archive) a body their record names is missing.
    skipped: Vec<Skipped>,
    /// A body missing from a capture the user named (`--post`, `--article`):
    /// that export fails rather than leave it out.
    fatal: Option<Skipped>,
    /// Said in the warcinfo record.
    description: String,
}

impl Plan {
    /// Lists what `selection` covers in `archive`, reading every capture and
    /// short-link record it names once (verified): a capture whose record
    /// cannot be read is left out and listed in [`Plan::skipped`], and so is,
    /// for the whole archive, one whose record names a body object the
    /// archive lacks. For named posts such a body fails the export instead
    /// (the user asked for that post: a WARC without it would not be it).
    pub fn new(archive: &Archive, selection: &Selection) -> crate::Result<Plan> {
        let posts: Vec<(PostId, Vec<Digest>)> = match selection {
            Selection::All => archive.posts()?,
            Selection::Posts(list, _) => {
                let mut posts: BTreeMap<PostId, Vec<Digest>> = BTreeMap::new();
                for p in list {
                    posts
                        .entry(p.clone())
                        .or_default()
                        .extend(archive.capture_digests(p)?);
                }
                posts.into_iter().collect()
            }
        };
        let strict = matches!(selection, Selection::Posts(..));
        let mut skipped = Vec::new();
        let mut fatal = None;
        let all: Vec<Digest> = posts.iter().flat_map(|(_, v)| v.iter().copied()).collect();
        // A bucket answers one listing of a thousand keys faster than a
        // request per body: past a few hundred bodies, the objects are listed.
        let list_from = if archive.is_remote() {
            LIST_FROM
        } else {
            usize::MAX
        };
        let mut checks = check_captures(archive, &all, list_from).into_iter();
        let mut kept = Vec::with_capacity(posts.len());
        for (post, digests) in posts {
            let mut good = Vec::with_capacity(digests.len());
            for d in digests {
                let check = checks.next().unwrap_or(Check::Ok);
                let (digest, reason) = match check {
                    Check::Ok => {
                        good.push(d);
                        continue;
                    }
                    Check::Record(reason) => (d, reason),
                    Check::Body(body, reason) if strict => {
                        fatal.get_or_insert(Skipped {
                            post: post.label(),
                            record: d,
                            digest: body,
                            reason,
                        });
                        continue;
                    }
                    Check::Body(body, reason) => (body, reason),
                };
                skipped.push(Skipped {
                    post: post.label(),
                    record: d,
                    digest,
                    reason,
                });
            }
            if !good.is_empty() {
                kept.push((post, good));
            }
        }
        let posts = kept;
        let mut short_links = archive.short_links()?;
        let digests: Vec<Digest> = short_links.iter().map(|(_, d)| *d).collect();
        let mut records = archive
            .read_json_each::<ShortLinkRecord>(&digests)
            .into_iter();
        let chosen: std::collections::BTreeSet<&PostId> = posts.iter().map(|(p, _)| p).collect();
        short_links.retain(|(name, d)| match records.next() {
            Some(Ok(r)) => !strict || r.post.is_some_and(|p| chosen.contains(&p)),
            Some(Err(e)) => {
                skipped.push(Skipped {
                    post: name.clone(),
                    record: *d,
                    digest: *d,
                    reason: short_reason(archive, d, &e),
                });
                false
            }
            None => false,
        });
        let description = match selection {
            Selection::All => "the whole archive".to_string(),
            Selection::Posts(..) => count(posts.len(), "selected post", "selected posts"),
        };
        let articles = newest_articles(archive, selection, &mut skipped)?;
        Ok(Plan {
            posts,
            articles,
            short_links,
            skipped,
            fatal,
            description,
        })
    }

    /// Captures and short links left out, each with the object that cannot
    /// be read and why.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Posts covered.
    pub fn posts(&self) -> usize {
        self.posts.len()
    }

    /// Capture records covered.
    pub fn captures(&self) -> usize {
        self.posts.iter().map(|(_, v)| v.len()).sum()
    }

    /// Short-link resolutions covered.
    pub fn short_links(&self) -> usize {
        self.short_links.len()
    }
}

/// Where to write, and the facts the warcinfo record states.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `.warc.gz` to write.
    pub warc: Option<PathBuf>,
    /// The `.wacz` to write.
    pub wacz: Option<PathBuf>,
    /// The export's time (warcinfo date, WACZ `created`).
    pub now: OffsetDateTime,
}

/// One file written (one JSON line of `export --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The file.
    pub file: String,
    /// `warc` or `wacz`.
    pub format: &'static str,
    /// WARC records written (inside the WACZ for `wacz`).
    pub records: u64,
    /// Posts exported.
    pub posts: usize,
    /// Capture records exported.
    pub captures: usize,
    /// Size of the file.
    pub bytes: u64,
    /// `sha256:HEX` of the file.
    pub sha256: String,
}

/// Progress as records are written: captures done, WARC bytes written.
pub type Progress<'a> = &'a mut dyn FnMut(usize, u64);

/// Writes the export `plan` describes into the files `opts` names. On error
/// no final file is created (an existing file of that name is left as it was).
pub fn export(
    archive: &Archive,
    plan: &Plan,
    opts: &Options,
    progress: Progress<'_>,
) -> Result<Vec<Summary>, ExportError> {
    if let Some(s) = &plan.fatal {
        return Err(ExportError::Object {
            owner: s.post.clone(),
            digest: s.digest,
            reason: s.reason.clone(),
        });
    }
    if plan.captures() == 0 && plan.short_links() == 0 && plan.articles.is_empty() {
        return Err(ExportError::Empty(if plan.skipped.is_empty() {
            format!("{} holds no capture", plan.description)
        } else {
            format!(
                "every capture of {} was left out (named above)",
                plan.description
            )
        }));
    }
    let Some(first) = opts.warc.as_ref().or(opts.wacz.as_ref()) else {
        return Err(ExportError::Empty("no output file named".into()));
    };
    let warc_name = match &opts.warc {
        Some(p) if is_stdout(p) => "stdout.warc.gz".to_string(),
        Some(p) => file_name(p),
        None => wacz::WARC_NAME.to_string(),
    };
    let warc_dest = match &opts.warc {
        Some(p) => Some(Dest::of(p)?),
        None => None,
    };
    let wacz_dest = match &opts.wacz {
        Some(p) => Some(Dest::of(p)?),
        None => None,
    };
    // The WARC goes to a temp file unless it streams and no WACZ needs it:
    // beside its final name, else beside the WACZ's, else in the temp folder.
    let stream_only = matches!(warc_dest, Some(Dest::Stream { .. })) && wacz_dest.is_none();
    let tmp = if stream_only {
        None
    } else {
        let dir = match (&warc_dest, &wacz_dest) {
            (Some(Dest::Replace(p)), _) | (_, Some(Dest::Replace(p))) => parent_dir(p),
            _ => std::env::temp_dir(),
        };
        Some(temp_in(&dir)?)
    };
    let tmp_path = match &tmp {
        Some(t) => t.path().to_path_buf(),
        None => first.clone(),
    };
    let out = |source| ExportError::Output {
        path: tmp_path.clone(),
        source,
    };
    let sink = Tee {
        file: tmp.as_ref().map(|t| t.reopen()).transpose().map_err(out)?,
        stream: match &warc_dest {
            Some(Dest::Stream { file, name }) => {
                Some(file.try_clone().map_err(|source| ExportError::Output {
                    path: name.clone(),
                    source,
                })?)
            }
            _ => None,
        },
    };
    let tally = wacz::Tally::new(BufWriter::with_capacity(1 << 20, sink));
    let mut ex = Exporter {
        archive,
        warc: WarcWriter::new(tally),
        seen: HashSet::new(),
        cdx: opts.wacz.as_ref().map(|_| Vec::new()),
        pages: Vec::new(),
        tmp_path: tmp_path.clone(),
        user_agent: crate::net::NetConfig::default().user_agent,
        renderer: crate::render::Renderer::new(archive),
        cache: HashMap::new(),
        media_urls: (!plan.articles.is_empty()).then(HashMap::new),
    };
    ex.warcinfo(archive, plan, &warc_name, opts.now)?;
    let mut done = 0usize;
    for window in plan.posts.chunks(PREFETCH_POSTS) {
        ex.prefetch(window);
        for (post, captures) in window {
            ex.post(post, captures, &mut done, &mut *progress)?;
        }
        ex.cache.clear();
        ex.renderer.forget_posts();
    }
    for (name, d) in &plan.short_links {
        let record: ShortLinkRecord = archive.read_json(d).map_err(|e| object_err(name, d, e))?;
        ex.short_link(name, d, &record)?;
    }
    ex.articles(&plan.articles)?;
    let records = ex.warc.records();
    let (cdx, pages) = (ex.cdx.take(), std::mem::take(&mut ex.pages));
    let tally = ex.warc.into_inner().map_err(out)?;
    let (buffered, sha, crc, bytes) = tally.finish();
    let sink = buffered.into_inner().map_err(|e| out(e.into_error()))?;
    sink.sync().map_err(out)?;
    drop(sink);

    let mut summaries = Vec::new();
    let mut finished_wacz = None;
    if let (Some(wacz_path), Some(dest), Some(tmp)) = (&opts.wacz, &wacz_dest, &tmp) {
        let (ztmp, zpath, zfile) = match dest {
            Dest::Replace(p) => {
                let t = temp_in(&parent_dir(p))?;
                let path = t.path().to_path_buf();
                let f = t.reopen().map_err(|source| ExportError::Output {
                    path: path.clone(),
                    source,
                })?;
                (Some((t, p.clone())), path, f)
            }
            Dest::Stream { file, name } => (
                None,
                name.clone(),
                file.try_clone().map_err(|source| ExportError::Output {
                    path: name.clone(),
                    source,
                })?,
            ),
        };
        let zerr = |source| ExportError::Output {
            path: zpath.clone(),
            source,
        };
        let mut warc_file = tmp.reopen().map_err(out)?;
        warc_file.rewind().map_err(out)?;
        let title = format!(
            "embarc export of {} ({})",
            archive.location(),
            plan.description
        );
        let written = wacz::write(
            wacz::Tally::new(BufWriter::with_capacity(1 << 20, zfile)),
            wacz::Contents {
                warc: &mut warc_file,
                warc_bytes: bytes,
                warc_crc: crc,
                warc_sha256: sha,
                cdxj: cdxj::index(cdx.as_deref().unwrap_or_default()),
                pages,
                created: opts.now,
                title,
            },
        )
        .map_err(zerr)?;
        let (buffered, zsha, _, zbytes) = written.finish();
        let zf = buffered.into_inner().map_err(|e| zerr(e.into_error()))?;
        if ztmp.is_some() {
            zf.sync_all().map_err(zerr)?;
        }
        summaries.push(Summary {
            file: wacz_path.display().to_string(),
            format: "wacz",
            records,
            posts: plan.posts(),
            captures: plan.captures(),
            bytes: zbytes,
            sha256: zsha.to_string(),
        });
        finished_wacz = ztmp;
    }
    // Every file is complete and flushed: only now do they get their names.
    if let Some((ztmp, path)) = finished_wacz {
        persist(ztmp, &path)?;
    }
    if let Some(warc_path) = &opts.warc {
        if let (Some(tmp), Some(Dest::Replace(dest))) = (tmp, &warc_dest) {
            persist(tmp, dest)?;
        }
        summaries.insert(
            0,
            Summary {
                file: warc_path.display().to_string(),
                format: "warc",
                records,
                posts: plan.posts(),
                captures: plan.captures(),
                bytes,
                sha256: sha.to_string(),
            },
        );
    }
    Ok(summaries)
}

/// `1 post`, `2 posts`: a count with its noun in the number it takes.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Whether `path` names standard output (`-`).
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Whether an output named `path` is written in place as a stream (`-`, a
/// FIFO, a character device, a socket) rather than replaced by a renamed
/// temp file: anything that exists and is not a regular file or a folder.
pub fn is_stream(path: &Path) -> bool {
    is_stdout(path) || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// Where one output file goes.
enum Dest {
    /// A regular file (new or replaced; a symlink's target when it names
    /// one): a temp file beside it is renamed over it at the end.
    Replace(PathBuf),
    /// Standard output, a FIFO, a device: written in place, never replaced.
    Stream {
        /// Open for writing.
        file: File,
        /// As named.
        name: PathBuf,
    },
}

impl Dest {
    fn of(path: &Path) -> Result<Dest, ExportError> {
        let err = |source| ExportError::Output {
            path: path.to_path_buf(),
            source,
        };
        if is_stdout(path) {
            use std::os::fd::AsFd;
            let fd = io::stdout().as_fd().try_clone_to_owned().map_err(err)?;
            return Ok(Dest::Stream {
                file: File::from(fd),
                name: path.to_path_buf(),
            });
        }
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => Err(err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a folder; name a file inside it",
            ))),
            Ok(m) if m.is_file() => {
                // Through a symlink: replace the file it names, keep the link.
                let real = if std::fs::symlink_metadata(path).is_ok_and(|l| l.is_symlink()) {
                    std::fs::canonicalize(path).map_err(err)?
                } else {
                    path.to_path_buf()
                };
                Ok(Dest::Replace(real))
            }
            Ok(_) => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(err)?;
                Ok(Dest::Stream {
                    file,
                    name: path.to_path_buf(),
                })
            }
            Err(_) => Ok(Dest::Replace(path.to_path_buf())),
        }
    }
}

/// The WARC's writer: its temp file, its stream, or both.
struct Tee {
    file: Option<File>,
    stream: Option<File>,
}

impl Tee {
    /// Flushes the temp file to disk (a stream has nothing to sync).
    fn sync(&self) -> io::Result<()> {
        match &self.file {
            Some(f) => f.sync_all(),
            None => Ok(()),
        }
    }
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Some(f) = &mut self.file {
            f.write_all(buf)?;
        }
        if let Some(s) = &mut self.stream {
            s.write_all(buf)?;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// A temp file in `dir` (the destination's folder, so the final rename is
/// atomic), created as any file a Unix tool writes (`0666` less the umask, so
/// a web server may publish it), not with a temp file's private mode.
fn temp_in(dir: &Path) -> Result<NamedTempFile, ExportError> {
    crate::store::mode::temp_file(dir, ".embarc-export-", crate::store::mode::SHARED).map_err(
        |source| ExportError::Output {
            path: dir.to_path_buf(),
            source,
        },
    )
}

fn persist(tmp: NamedTempFile, dest: &Path) -> Result<(), ExportError> {
    tmp.persist(dest).map_err(|e| ExportError::Output {
        path: dest.to_path_buf(),
        source: e.error,
    })?;
    let dir = parent_dir(dest);
    File::open(&dir)
        .and_then(|f| f.sync_all())
        .map_err(|source| ExportError::Output { path: dir, source })
}

/// The URL a capture is filed under: the one it was captured as, else the
/// post's canonical URL, else its label.
fn record_url(r: &CaptureRecord) -> String {
    [r.url.clone(), r.post.canonical_url()]
        .into_iter()
        .find(|u| !u.is_empty())
        .unwrap_or_else(|| r.post.label())
}

fn page(post: &PostId, r: &CaptureRecord) -> wacz::Page {
    let n = r.normalized.as_ref();
    let who = n
        .and_then(|n| n.author.handle.as_deref())
        .map(|h| format!("@{h}"))
        .unwrap_or_else(|| post.label());
    let text: String = n
        .map(|n| n.text.as_str())
        .unwrap_or(r.outcome.as_str())
        .chars()
        .take(100)
        .collect();
    wacz::Page {
        url: record_url(r),
        ts: cdx_iso(r.captured_at),
        title: format!("{who}: {text}"),
    }
}

/// An HTML article's `<title>` (entities decoded, spaces collapsed, at most
/// 200 characters), looked for in its first 64 KiB.
fn article_title(bytes: &[u8], kind: crate::Kind) -> Option<String> {
    if kind != crate::Kind::Html {
        return None;
    }
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let find = |hay: &[u8], needle: &[u8]| {
        hay.windows(needle.len())
            .position(|w| w.eq_ignore_ascii_case(needle))
    };
    let open = find(head, b"<title")?;
    let start = open + head[open..].iter().position(|&b| b == b'>')? + 1;
    let end = start + find(&head[start..], b"</title")?;
    let raw = String::from_utf8_lossy(&head[start..end]);
    let text = htmlize::unescape(raw.as_ref());
    let words: Vec<&str> = text.split_whitespace().collect();
    let title: String = words.join(" ").chars().take(200).collect();
    (!title.is_empty()).then_some(title)
}

/// `YYYY-MM-DDThh:mm:ssZ`.
fn cdx_iso(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// A reader that remembers whether it (rather than the output) failed.
struct Watched<'r> {
    inner: &'r mut dyn Read,
    failed: Option<String>,
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).inspect_err(|e| {
            self.failed = Some(e.to_string());
        })
    }
}

/// Writes one export's records.
struct Exporter<'a, W: Write> {
    archive: &'a Archive,
    warc: WarcWriter<W>,
    /// Exchanges already written (a quoted post's capture repeats its
    /// quoting post's exchange): 32 bytes each.
    seen: HashSet<[u8; 32]>,
    /// CDXJ entries, for a WACZ (about 300 bytes per response record).
    cdx: Option<Vec<cdxj::Entry>>,
    pages: Vec<wacz::Page>,
    tmp_path: PathBuf,
    user_agent: String,
    /// Builds each post's page.
    renderer: crate::render::Renderer<'a>,
    /// Objects read ahead (verified), taken as they are written.
    cache: HashMap<Digest, Vec<u8>>,
    /// Every file the exported captures stored, by object, with the URL
    /// whose response the WARC holds: kept only when article pages follow.
    media_urls: Option<HashMap<Digest, String>>,
}

impl<W: Write> Exporter<'_, W> {
    fn output_err(&self, source: io::Error) -> ExportError {
        ExportError::Output {
            path: self.tmp_path.clone(),
            source,
        }
    }

    fn warcinfo(
        &mut self,
        archive: &Archive,
        plan: &Plan,
        filename: &str,
        now: OffsetDateTime,
    ) -> Result<(), ExportError> {
        // The one record whose id must differ between exports: seeded by the
        // time, the process and the output name.
        let seed = format!(
            "warcinfo\n{}\n{}\n{filename}",
            now.unix_timestamp_nanos(),
            std::process::id()
        );
        let mut f = Fields::new("warcinfo", &record_id(seed.as_bytes()), &warc_date(now));
        f.push("WARC-Filename", filename);
        f.push("Content-Type", "application/warc-fields");
        let net = crate::net::NetConfig::default();
        let block = format!(
            "software: embarc/{version}\r\n\
format: WARC File Format 1.1\r\n\
conformsTo: https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n\
description: embarc export of {what}: {posts}, {captures}, {shorts}{skipped}\r\n\
isPartOf: {archive}\r\n\
http-header-user-agent: {ua}\r\n\
embarc-request-headers: reconstructed (embarc records response headers and the User-Agent; every request it sends carries the same Accept and Accept-Encoding; captures from before embarc recorded the User-Agent were sent with embarc 0.1's)\r\n\
embarc-limits: max-body={max_body} bytes; max-attempts={attempts}; per-host={per_host}\r\n",
            version = env!("CARGO_PKG_VERSION"),
            what = plan.description,
            posts = count(plan.posts(), "post", "posts"),
            captures = count(plan.captures(), "capture", "captures"),
            shorts = count(plan.short_links(), "short link", "short links"),
            skipped = match plan.skipped.len() {
                0 => String::new(),
                n => format!(
                    " ({} left out: record or object unreadable)",
                    count(n, "capture or short link", "captures or short links")
                ),
            },
            archive = clean_value(&archive.location()),
            ua = clean_value(&self.user_agent),
            max_body = net.max_body,
            attempts = net.max_attempts,
            per_host = net.per_host,
        );
        self.warc
            .write_record(&f, block.as_bytes(), &mut io::empty(), 0, Packing::Deflate)
            .map_err(|e| self.output_err(e))?;
        Ok(())
    }

    /// Reads the capture records of `posts` and their small bodies ahead,
    /// many at once, into the cache (what fails to read is left for the
    /// one-by-one read to report by name).
    fn prefetch(&mut self, posts: &[(PostId, Vec<Digest>)]) {
        let records: Vec<Digest> = posts.iter().flat_map(|(_, d)| d.iter().copied()).collect();
        let mut bodies = Vec::new();
        let mut budget = PREFETCH_BYTES;
        for (d, bytes) in records
            .iter()
            .zip(self.archive.read_objects(&records, MAX_RECORD))
        {
            let Ok(bytes) = bytes else { continue };
            if let Ok(r) = serde_json::from_slice::<CaptureRecord>(&bytes) {
                for ex in &r.exchanges {
                    if let Some(b) = ex.body
                        && ex.body_bytes <= SMALL_BODY
                        && ex.body_bytes <= budget
                        && !bodies.contains(&b)
                    {
                        budget -= ex.body_bytes;
                        bodies.push(b);
                    }
                }
            }
            self.cache.insert(*d, bytes);
        }
        for (d, bytes) in bodies
            .iter()
            .zip(self.archive.read_objects(&bodies, SMALL_BODY))
        {
            if let Ok(bytes) = bytes {
                self.cache.insert(*d, bytes);
            }
        }
    }

    /// One post: its captures, then its page.
    fn post(
        &mut self,
        post: &PostId,
        captures: &[Digest],
        done: &mut usize,
        progress: Progress<'_>,
    ) -> Result<(), ExportError> {
        let mut latest: Option<CaptureRecord> = None;
        // Every file the post's captures stored, by object: its page refers
        // to each by the URL whose response this WARC holds.
        let mut media: HashMap<Digest, String> = HashMap::new();
        // The same records as the page's card reads them (read once here).
        let mut shown = Vec::with_capacity(captures.len());
        for d in captures {
            let bytes = match self.cache.remove(d) {
                Some(b) => b,
                None => self
                    .archive
                    .read_object(d, MAX_RECORD)
                    .map_err(|e| object_err(&post.label(), d, e))?,
            };
            let bad = |e: serde_json::Error| ExportError::Object {
                owner: post.label(),
                digest: *d,
                reason: e.to_string(),
            };
            let record: CaptureRecord = serde_json::from_slice(&bytes).map_err(bad)?;
            shown.push(serde_json::from_slice(&bytes).map_err(bad)?);
            self.capture(d, &record, &bytes)?;
            *done += 1;
            progress(*done, self.warc.offset());
            for m in &record.media {
                media.entry(m.digest).or_insert_with(|| m.url.clone());
                if let Some(all) = self.media_urls.as_mut() {
                    all.entry(m.digest).or_insert_with(|| m.url.clone());
                }
            }
            latest = Some(record);
        }
        self.renderer.remember(post.clone(), shown);
        if let Some(r) = latest {
            let page = page(post, &r);
            self.post_page(post, &r, &page, media)?;
            self.pages.push(page);
        }
        Ok(())
    }

    /// The post's page: the script-free card `render` makes (a tombstone
    /// shows what the last good capture kept), with its media pointing at
    /// the original URLs this WARC holds the responses of and the stylesheet
    /// inline, as a `resource` record at the post's URL and the newest
    /// capture's time, so a replay tool opening the post's URL shows the post.
    fn post_page(
        &mut self,
        post: &PostId,
        latest: &CaptureRecord,
        page: &wacz::Page,
        media: HashMap<Digest, String>,
    ) -> Result<(), ExportError> {
        let links = crate::render::PageLinks {
            media_urls: Some(std::sync::Arc::new(media)),
            ..crate::render::PageLinks::default()
        };
        let opts = crate::render::card::CardOptions::default();
        let card = match self.renderer.post_card(post, &opts, &links) {
            Ok(Some(card)) => card,
            // A capture the card cannot read (a quoted post's record lost):
            // the page names it rather than pretend nothing was kept.
            Err(e) => format!(
                "<p class=\"embarc-gone\">The card of {label} could not be made from the archive: {reason}.</p>",
                label = htmlize::escape_text(post.label()),
                reason = htmlize::escape_text(e.full_message()),
            ),
            // No capture kept the post's content (not found, protected, or
            // failed from the start): the page says so.
            Ok(None) => format!(
                "<p class=\"embarc-gone\">No content of {label} was kept: its capture of {when} ended <code>{outcome}</code>. <a href=\"{url}\" rel=\"noopener noreferrer nofollow\">{url_text}</a></p>",
                label = htmlize::escape_text(post.label()),
                when = cdx_iso(latest.captured_at),
                outcome = latest.outcome.as_str(),
                url = htmlize::escape_attribute(&page.url),
                url_text = htmlize::escape_text(&page.url),
            ),
        };
        let lang = latest
            .normalized
            .as_ref()
            .and_then(|n| n.lang.as_deref())
            .filter(|l| l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .unwrap_or("und");
        let html = format!(
            "<!DOCTYPE html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>\n{css}</style>\n</head>\n<body>\n<main>\n{card}\n</main>\n</body>\n</html>\n",
            title = htmlize::escape_text(&page.title),
            css = crate::render::STYLESHEET,
        );
        self.resource(
            &page.url,
            latest.captured_at,
            "text/html; charset=utf-8",
            html.as_bytes(),
            post.label().as_bytes(),
        )
    }

    /// A page embarc made (`block`, of `content_type`) as a `resource`
    /// record at `url` dated `when`, indexed for a WACZ; `seed` tells apart
    /// records of the same bytes.
    fn resource(
        &mut self,
        url: &str,
        when: OffsetDateTime,
        content_type: &str,
        block: &[u8],
        seed: &[u8],
    ) -> Result<(), ExportError> {
        let digest = Digest::of(block);
        let mut f = Fields::new(
            "resource",
            &record_id(&[b"page\n".as_slice(), &digest.0, seed].concat()),
            &warc_date(when),
        );
        f.push("WARC-Target-URI", clean_value(url));
        f.push("Content-Type", content_type.to_string());
        f.push("WARC-Block-Digest", format!("sha256:{}", digest.hex()));
        f.push("WARC-Payload-Digest", format!("sha256:{}", digest.hex()));
        let placed = self
            .warc
            .write_record(&f, block, &mut io::empty(), 0, Packing::Deflate)
            .map_err(|e| self.output_err(e))?;
        if let Some(cdx) = self.cdx.as_mut() {
            let mime = content_type.split(';').next().unwrap_or_default().trim();
            cdx.push(cdxj::Entry {
                url: url.to_string(),
                mime: Some(mime.to_string()),
                status: None,
                digest: format!("sha256:{}", digest.hex()),
                length: placed.length.to_string(),
                offset: placed.offset.to_string(),
                filename: wacz::WARC_NAME.into(),
                timestamp: cdxj::timestamp(when),
            });
        }
        Ok(())
    }

    /// Each article's pages, after every post they cite: the article as
    /// fetched (its responses, when it came from a URL) and the article
    /// rendered with its cards in place (a `resource` at
    /// [`rendered_article_url`], its media at the original URLs this WARC
    /// holds), both listed as pages.
    fn articles(&mut self, list: &[ArticleRecord]) -> Result<(), ExportError> {
        let Some(first) = list.first() else {
            return Ok(());
        };
        let stylesheet = format!("{RENDERED_BASE}{}", crate::render::STYLESHEET_NAME);
        self.resource(
            &stylesheet,
            first.archived_at,
            "text/css; charset=utf-8",
            crate::render::STYLESHEET.as_bytes(),
            b"stylesheet",
        )?;
        let links = crate::render::PageLinks {
            stylesheet,
            media_urls: Some(std::sync::Arc::new(
                self.media_urls.take().unwrap_or_default(),
            )),
            ..crate::render::PageLinks::default()
        };
        for record in list {
            self.article(record, &links)?;
            self.renderer.forget_posts();
        }
        Ok(())
    }

    fn article(
        &mut self,
        record: &ArticleRecord,
        links: &crate::render::PageLinks,
    ) -> Result<(), ExportError> {
        let Some(body) = &record.body else {
            return Ok(());
        };
        let owner = format!("article {}", record.article);
        let bytes = self
            .archive
            .read_object(&body.digest, MAX_ARTICLE)
            .map_err(|e| object_err(&owner, &body.digest, e))?;
        let title = article_title(&bytes, body.kind).unwrap_or_else(|| record.article.clone());
        for ex in &record.exchanges {
            self.exchange(ex, &owner)?;
        }
        if let Some(fetched) = record.exchanges.last() {
            self.pages.push(wacz::Page {
                url: fetched.url.clone(),
                ts: cdx_iso(fetched.started_at),
                title: title.clone(),
            });
        }
        let rendered = self.renderer.article(&bytes, body.kind, &title, links);
        // An HTML article keeps its own charset (its meta tag says which);
        // Markdown and text become UTF-8 pages.
        let content_type = match body.kind {
            crate::Kind::Html => "text/html",
            _ => "text/html; charset=utf-8",
        };
        let url = rendered_article_url(&record.article);
        self.resource(
            &url,
            record.archived_at,
            content_type,
            &rendered.html,
            record.article.as_bytes(),
        )?;
        self.pages.push(wacz::Page {
            url,
            ts: cdx_iso(record.archived_at),
            title: format!("{title} (embeds rendered by embarc)"),
        });
        Ok(())
    }

    /// A capture's exchanges, then the record itself (`bytes`, the object
    /// `digest`) as `metadata`.
    fn capture(
        &mut self,
        digest: &Digest,
        record: &CaptureRecord,
        bytes: &[u8],
    ) -> Result<(), ExportError> {
        let owner = record.post.label();
        for ex in &record.exchanges {
            self.exchange(ex, &owner)?;
        }
        let mut f = Fields::new(
            "metadata",
            &record_id(&[b"metadata\n".as_slice(), &digest.0].concat()),
            &warc_date(record.captured_at),
        );
        f.push("WARC-Target-URI", clean_value(&record_url(record)));
        if let Some(first) = record.exchanges.first() {
            f.push(
                "WARC-Refers-To",
                record_id(&exchange_seed("response", first)),
            );
        }
        f.push("Content-Type", "application/json");
        // The block is the capture record object: its digest is its name.
        f.push("WARC-Block-Digest", format!("sha256:{}", digest.hex()));
        self.warc
            .write_record(&f, bytes, &mut io::empty(), 0, Packing::Deflate)
            .map_err(|e| self.output_err(e))?;
        Ok(())
    }

    /// A stored exchange as a `response` then its `request`.
    fn exchange(&mut self, ex: &Exchange, owner: &str) -> Result<(), ExportError> {
        let key = Digest::of(&exchange_seed("exchange", ex)).0;
        if !self.seen.insert(key) {
            return Ok(());
        }
        let resp_id = record_id(&exchange_seed("response", ex));
        let req_id = record_id(&exchange_seed("request", ex));
        let date = warc_date(ex.started_at);
        let url = clean_value(&ex.url);
        let head = response_head(ex.status, &ex.headers);
        let mut f = Fields::new("response", &resp_id, &date);
        f.push("WARC-Target-URI", url.clone());
        f.push("WARC-Concurrent-To", req_id.clone());
        f.push("Content-Type", "application/http;msgtype=response");
        let packing = packing(&ex.headers);
        let (payload, placed) = self.body_record(f, &head, ex.body.as_ref(), owner, packing)?;
        if let Some(cdx) = self.cdx.as_mut() {
            let mime = header(&ex.headers, "content-type")
                .and_then(|v| v.split(';').next())
                .map(|v| v.trim().to_ascii_lowercase())
                .filter(|v| !v.is_empty());
            cdx.push(cdxj::Entry {
                url: ex.url.clone(),
                mime,
                status: Some(ex.status.to_string()),
                digest: format!("sha256:{}", payload.hex()),
                length: placed.length.to_string(),
                offset: placed.offset.to_string(),
                filename: wacz::WARC_NAME.into(),
                timestamp: cdxj::timestamp(ex.started_at),
            });
        }
        let ua = ex
            .user_agent
            .as_deref()
            .unwrap_or(crate::net::LEGACY_USER_AGENT);
        self.request(&req_id, &resp_id, &date, &ex.method, &ex.url, ua)
    }

    /// The reconstructed request (see [`request_head`]).
    fn request(
        &mut self,
        id: &str,
        concurrent: &str,
        date: &str,
        method: &str,
        url: &str,
        user_agent: &str,
    ) -> Result<(), ExportError> {
        let head = request_head(method, url, user_agent);
        let mut f = Fields::new("request", id, date);
        f.push("WARC-Target-URI", clean_value(url));
        f.push("WARC-Concurrent-To", concurrent);
        f.push("Content-Type", "application/http;msgtype=request");
        f.push(
            "WARC-Block-Digest",
            format!("sha256:{}", Digest::of(&head).hex()),
        );
        self.warc
            .write_record(&f, &head, &mut io::empty(), 0, Packing::Deflate)
            .map_err(|e| self.output_err(e))?;
        Ok(())
    }

    /// Writes a record whose block is `head` + the body object, adding
    /// `WARC-Block-Digest` and `WARC-Payload-Digest`; returns the payload
    /// digest and where the record landed.
    ///
    /// Both digests go in the header, before the block. The payload digest
    /// is free: it is the archive's own name for the body (the SHA-256 of the
    /// exact bytes). The block digest covers the HTTP head too, and SHA-256
    /// cannot be combined from parts, so the body is hashed before it is
    /// written: a body up to [`SMALL_BODY`] is read once into memory
    /// (verified) and used for both; a larger one is streamed twice through
    /// the verifying reader — once hashed with the head, once copied into
    /// the gzip member (which checks the object again at its end). Memory
    /// stays at two copy buffers whatever the size; a corrupt object fails
    /// either pass, and the export with it.
    ///
    /// Digests are written `sha256:` + lowercase hex, as the archive names
    /// objects (so `sha256sum` checks them too); `warcio check` accepts hex as
    /// well as base32 for SHA-256 (it tells them apart by length).
    fn body_record(
        &mut self,
        mut f: Fields,
        head: &[u8],
        body: Option<&Digest>,
        owner: &str,
        packing: Packing,
    ) -> Result<(Digest, warc::Placed), ExportError> {
        let Some(d) = body else {
            let payload = Digest::of(b"");
            f.push(
                "WARC-Block-Digest",
                format!("sha256:{}", Digest::of(head).hex()),
            );
            f.push("WARC-Payload-Digest", format!("sha256:{}", payload.hex()));
            let placed = self
                .warc
                .write_record(&f, head, &mut io::empty(), 0, packing)
                .map_err(|e| self.output_err(e))?;
            return Ok((payload, placed));
        };
        let cached = self.cache.remove(d);
        let size = match &cached {
            Some(b) => b.len() as u64,
            None => self
                .archive
                .object_size(d)
                .map_err(|e| object_err(owner, d, e))?,
        };
        if size <= SMALL_BODY {
            let bytes = match cached {
                Some(b) => b,
                None => self
                    .archive
                    .read_object(d, SMALL_BODY)
                    .map_err(|e| object_err(owner, d, e))?,
            };
            let mut h = crate::store::Hasher::new();
            h.update(head);
            h.update(&bytes);
            f.push("WARC-Block-Digest", format!("sha256:{}", h.finish().hex()));
            f.push("WARC-Payload-Digest", format!("sha256:{}", d.hex()));
            let placed = self
                .warc
                .write_record(&f, head, &mut &bytes[..], bytes.len() as u64, packing)
                .map_err(|e| self.output_err(e))?;
            return Ok((*d, placed));
        }
        let mut first = self
            .archive
            .open_object(d)
            .map_err(|e| object_err(owner, d, e))?;
        let (block, len) =
            warc::block_digest(head, &mut first).map_err(|e| ExportError::Object {
                owner: owner.to_string(),
                digest: *d,
                reason: e.to_string(),
            })?;
        f.push("WARC-Block-Digest", format!("sha256:{}", block.hex()));
        f.push("WARC-Payload-Digest", format!("sha256:{}", d.hex()));
        let mut second = self
            .archive
            .open_object(d)
            .map_err(|e| object_err(owner, d, e))?;
        let mut watched = Watched {
            inner: &mut second,
            failed: None,
        };
        match self.warc.write_record(&f, head, &mut watched, len, packing) {
            Ok(placed) => Ok((*d, placed)),
            Err(e) => Err(match watched.failed {
                Some(reason) => ExportError::Object {
                    owner: owner.to_string(),
                    digest: *d,
                    reason,
                },
                None if e.kind() == io::ErrorKind::InvalidData => ExportError::Object {
                    owner: owner.to_string(),
                    digest: *d,
                    reason: e.to_string(),
                },
                None => self.output_err(e),
            }),
        }
    }

    /// A short link's 3xx hops as `response`/`request` pairs (the Location is
    /// the absolute URL the resolver followed; other headers were not kept),
    /// then its resolution record as `metadata` (which keeps every hop,
    /// including a browser-style 200 page's, whose body was not recorded).
    fn short_link(
        &mut self,
        name: &str,
        digest: &Digest,
        record: &ShortLinkRecord,
    ) -> Result<(), ExportError> {
        for (i, hop) in record.hops.iter().enumerate() {
            let Some(location) = hop
                .location
                .as_deref()
                .filter(|_| (300..400).contains(&hop.status))
            else {
                continue;
            };
            let seed = |kind: &str| {
                let mut s = format!("{kind}\nhop\n{i}\n").into_bytes();
                s.extend_from_slice(&digest.0);
                s
            };
            let (resp_id, req_id) = (record_id(&seed("response")), record_id(&seed("request")));
            let date = warc_date(hop.at);
            let headers = vec![("location".to_string(), location.to_string())];
            let head = response_head(hop.status, &headers);
            let mut f = Fields::new("response", &resp_id, &date);
            f.push("WARC-Target-URI", clean_value(&hop.url));
            f.push("WARC-Concurrent-To", req_id.clone());
            f.push("Content-Type", "application/http;msgtype=response");
            let (payload, placed) = self.body_record(f, &head, None, name, Packing::Deflate)?;
            if let Some(cdx) = self.cdx.as_mut() {
                cdx.push(cdxj::Entry {
                    url: hop.url.clone(),
                    mime: None,
                    status: Some(hop.status.to_string()),
                    digest: format!("sha256:{}", payload.hex()),
                    length: placed.length.to_string(),
                    offset: placed.offset.to_string(),
                    filename: wacz::WARC_NAME.into(),
                    timestamp: cdxj::timestamp(hop.at),
                });
            }
            let ua = hop
                .user_agent
                .as_deref()
                .unwrap_or(crate::net::LEGACY_USER_AGENT);
            self.request(&req_id, &resp_id, &date, "GET", &hop.url, ua)?;
        }
        let bytes = self
            .archive
            .read_object(digest, MAX_RECORD)
            .map_err(|e| object_err(name, digest, e))?;
        let mut f = Fields::new(
            "metadata",
            &record_id(&[b"metadata\n".as_slice(), &digest.0].concat()),
            &warc_date(record.resolved_at),
        );
        f.push(
            "WARC-Target-URI",
            clean_value(&format!("https://{}", record.short_link)),
        );
        f.push("Content-Type", "application/json");
        f.push("WARC-Block-Digest", format!("sha256:{}", digest.hex()));
        self.warc
            .write_record(&f, &bytes, &mut io::empty(), 0, Packing::Deflate)
            .map_err(|e| self.output_err(e))?;
        Ok(())
    }
}

/// What reading a capture record before the export found.
enum Check {
    /// The record reads, and every body it names is present.
    Ok,
    /// The record cannot be read: why.
    Record(String),
    /// A body it names is missing: which, and why.
    Body(Digest, String),
}

/// Records checked per round: the records of a round are in memory at once
/// (the export itself holds one at a time).
const CHECK_ROUND: usize = 1024;

/// Reads each capture record (verified, on all cores) and looks for every
/// body it names (a stat in a folder, a HEAD request in a bucket: up to
/// [`Archive::io_threads`] at once), a round at a time. Present but corrupt
/// is found as it is written: the export fails then.
fn check_captures(archive: &Archive, digests: &[Digest], list_from: usize) -> Vec<Check> {
    let mut out = Vec::with_capacity(digests.len());
    // Once a round has `list_from` bodies, the archive's objects are listed
    // once and the bodies looked up in the listing.
    let mut listed: Option<HashSet<Digest>> = None;
    for round in digests.chunks(CHECK_ROUND) {
        let records = archive.read_json_each::<CaptureRecord>(round);
        let bodies: Vec<Digest> = records
            .iter()
            .flatten()
            .flat_map(|r| r.exchanges.iter().filter_map(|ex| ex.body))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        if listed.is_none() && bodies.len() >= list_from {
            listed = crate::store::verify::list_objects(archive)
                .ok()
                .map(|all| all.into_iter().filter_map(|(_, d)| d).collect());
        }
        let absent = match &listed {
            Some(present) => bodies
                .iter()
                .filter(|b| !present.contains(b))
                .copied()
                .collect(),
            None => absent(archive, &bodies),
        };
        out.extend(round.iter().zip(records).map(|(d, r)| {
            match r {
                Err(e) => Check::Record(short_reason(archive, d, &e)),
                Ok(r) => r
                    .exchanges
                    .iter()
                    .filter_map(|ex| ex.body)
                    .find(|b| absent.contains(b))
                    .map_or(Check::Ok, |b| {
                        Check::Body(b, "object missing from the archive".into())
                    }),
            }
        }));
    }
    out
}

/// The objects among `ds` the archive lacks, looked for on
/// [`Archive::io_threads`] threads.
fn absent(archive: &Archive, ds: &[Digest]) -> HashSet<Digest> {
    if ds.is_empty() {
        return HashSet::new();
    }
    let per_thread = ds.len().div_ceil(archive.io_threads().max(1));
    std::thread::scope(|s| {
        let handles: Vec<_> = ds
            .chunks(per_thread)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter(|d| !archive.contains(d))
                        .copied()
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

/// Why an object cannot be read, without its path or the store's advice (a
/// skipped item's line names the object and says what to do).
fn short_reason(archive: &Archive, d: &Digest, e: &crate::Error) -> String {
    let full = e.full_message();
    let path = format!("{}: ", archive.object_path(d).display());
    let reason = full.strip_prefix(&path).unwrap_or(&full);
    let reason = reason
        .split("; run `embarc verify")
        .next()
        .unwrap_or(reason);
    reason.trim_end_matches(['.', ';', ' ']).to_string()
}

fn object_err(owner: &str, digest: &Digest, e: crate::Error) -> ExportError {
    ExportError::Object {
        owner: owner.to_string(),
        digest: *digest,
        reason: e.full_message(),
    }
}

/// What identifies one stored exchange: same URL, time, status and body.
fn exchange_seed(kind: &str, ex: &Exchange) -> Vec<u8> {
    let mut s = format!(
        "{kind}\n{}\n{}\n{}\n{}\n",
        ex.url,
        ex.started_at.unix_timestamp_nanos(),
        ex.status,
        ex.method
    )
    .into_bytes();
    if let Some(d) = ex.body {
        s.extend_from_slice(&d.0);
    }
    s
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// A field or header value on one line: CR, LF and other controls become spaces.
fn clean_value(v: &str) -> String {
    v.chars()
        .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
        .collect()
}

/// The response head as embarc received it, as far as it was recorded: the
/// status line (`HTTP/1.1`, the status, its standard reason phrase — the
/// version and phrase were not recorded) and every header in order, with
/// names lowercase as the HTTP client gives them.
///
/// The body is stored de-chunked, so a `transfer-encoding` header would lie
/// about the bytes that follow and make readers (warcio, pywb) try to
/// de-chunk them again: it is kept as `x-archive-orig-transfer-encoding`
/// (pywb's convention for headers that no longer apply). `content-encoding`
/// stays: the body is stored compressed exactly as received.
pub fn response_head(status: u16, headers: &[(String, String)]) -> Vec<u8> {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n").into_bytes();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let name = if name == "transfer-encoding" {
            "x-archive-orig-transfer-encoding".to_string()
        } else {
            name
        };
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic() || b == b':') {
            continue;
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(clean_value(value).as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// The request embarc sent for `url`, reconstructed: capture records keep the
/// response headers only, but embarc's one HTTP client sends the same request
/// every time — the method, the original URL's path and query over HTTP/1.1,
/// then `accept-encoding: gzip, deflate, identity` ([`crate::net`]),
/// `accept: */*` (reqwest's default), `user-agent` (the one the exchange
/// recorded, else [`crate::net::LEGACY_USER_AGENT`]) and `host` (the original host, not
/// a mirror's), in the order and case the client writes them (checked on the
/// wire against reqwest 0.13).
pub fn request_head(method: &str, url: &str, user_agent: &str) -> Vec<u8> {
    let (target, host) = match url::Url::parse(url) {
        Ok(u) => {
            let mut target = u.path().to_string();
            if let Some(q) = u.query() {
                target.push('?');
                target.push_str(q);
            }
            let mut host = u.host_str().unwrap_or("").to_string();
            if let Some(port) = u.port() {
                host.push_str(&format!(":{port}"));
            }
            (target, host)
        }
        Err(_) => (url.to_string(), String::new()),
    };
    format!(
        "{method} {target} HTTP/1.1\r\naccept-encoding: gzip, deflate, identity\r\naccept: */*\r\nuser-agent: {ua}\r\nhost: {host}\r\n\r\n",
        target = clean_value(&target).replace(' ', "%20"),
        ua = clean_value(user_agent),
        host = clean_value(&host),
    )
    .into_bytes()
}

/// Media and already-compressed bodies go in stored blocks: deflate would
/// cost time and gain nothing.
fn packing(headers: &[(String, String)]) -> Packing {
    if header(headers, "content-encoding")
        .is_some_and(|v| !v.trim().eq_ignore_ascii_case("identity"))
    {
        return Packing::Store;
    }
    let ct = header(headers, "content-type")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let compressed = (ct.starts_with("image/") && !ct.starts_with("image/svg"))
        || ct.starts_with("video/")
        || ct.starts_with("audio/")
        || ct.starts_with("font/woff")
        || ct.starts_with("application/zip")
        || ct.starts_with("application/gzip")
        || ct.starts_with("application/octet-stream");
    if compressed {
        Packing::Store
    } else {
        Packing::Deflate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_responses_keep_the_header_under_another_name() {
        let head = response_head(
            200,
            &[
                ("content-type".into(), "application/json".into()),
                ("transfer-encoding".into(), "chunked".into()),
                ("content-encoding".into(), "gzip".into()),
            ],
        );
        let text = String::from_utf8_lossy(&head);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"));
        assert!(text.contains("x-archive-orig-transfer-encoding: chunked\r\n"));
        assert!(!text.contains("\ntransfer-encoding"));
        assert!(text.contains("content-encoding: gzip\r\n"));
        assert!(text.ends_with("\r\n\r\n"));
    }

    #[test]
    fn requests_name_the_original_host_and_path() {
        let head = request_head(
            "GET",
            "https://cdn.syndication.twimg.com/tweet-result?id=1&token=a",
            "embarc/0",
        );
        let text = String::from_utf8_lossy(&head);
        assert!(text.starts_with("GET /tweet-result?id=1&token=a HTTP/1.1\r\n"));
        assert_eq!(
            text,
            "GET /tweet-result?id=1&token=a HTTP/1.1\r\naccept-encoding: gzip, deflate, identity\r\naccept: */*\r\nuser-agent: embarc/0\r\nhost: cdn.syndication.twimg.com\r\n\r\n"
        );
    }

    #[test]
    fn media_is_stored_and_text_deflated() {
        let h = |ct: &str| vec![("content-type".to_string(), ct.to_string())];
        assert_eq!(packing(&h("image/jpeg")), Packing::Store);
        assert_eq!(packing(&h("video/mp4")), Packing::Store);
        assert_eq!(packing(&h("application/json")), Packing::Deflate);
        assert_eq!(packing(&h("image/svg+xml")), Packing::Deflate);
    }

    /// A missing body is found the same way by a request per body and by
    /// one listing of the objects (what a bucket export of many posts does).
    #[test]
    fn a_missing_body_is_found_by_lookups_and_by_listing_alike() {
        use crate::store::record::CaptureOutcome;
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = Archive::open_or_create(dir.path().join("a")).expect("archive");
        let at = time::macros::datetime!(2024-06-20 10:00:00 UTC);
        let kept = archive.put_bytes(b"kept body").expect("body");
        // Stored, then lost (as after a partial restore).
        let lost = archive.put_bytes(b"a body lost since").expect("body");
        let record = |id: &str, body: Digest| {
            let mut r = CaptureRecord::new(
                PostId::new(crate::embed::Provider::Twitter, id),
                format!("https://twitter.com/i/status/{id}"),
                at,
                CaptureOutcome::Ok,
            );
            r.exchanges.push(Exchange {
                url: format!("https://cdn.syndication.twimg.com/tweet-result?id={id}"),
                via: None,
                method: "GET".into(),
                status: 200,
                headers: Vec::new(),
                body: Some(body),
                body_bytes: 9,
                started_at: at,
                duration_ms: 1,
                user_agent: None,
            });
            archive.put_capture(&r).expect("capture")
        };
        let digests = [record("1", kept), record("2", lost)];
        let hex = lost.hex();
        std::fs::remove_file(
            dir.path()
                .join("a/objects/sha256")
                .join(&hex[..2])
                .join(&hex),
        )
        .expect("remove the body");
        for list_from in [usize::MAX, 0] {
            let checks = check_captures(&archive, &digests, list_from);
            assert!(matches!(checks[0], Check::Ok), "{list_from}");
            assert!(
                matches!(&checks[1], Check::Body(b, _) if *b == lost),
                "{list_from}"
            );
        }
    }

    /// A body over [`SMALL_BODY`] takes the two-pass streaming path: it must
    /// come out byte-identical, with both digests right; corrupted, it must
    /// fail the export by name and leave no file.
    #[test]
    fn large_bodies_stream_through_and_corruption_stops_the_export() {
        use crate::store::record::{CaptureOutcome, Exchange};
        use flate2::read::MultiGzDecoder;
        let dir = tempfile::tempdir().expect("tempdir");
        let archive = Archive::open_or_create(dir.path().join("a")).expect("archive");
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let d = archive.put_bytes(&body).expect("body");
        let at = time::macros::datetime!(2024-06-20 10:00:00 UTC);
        let mut record = CaptureRecord::new(
            PostId::new(crate::embed::Provider::Twitter, "20"),
            "https://twitter.com/jack/status/20".into(),
            at,
            CaptureOutcome::Ok,
        );
        record.exchanges.push(Exchange {
            url: "https://video.twimg.com/v.mp4".into(),
            via: Some("http://127.0.0.1:1/video".into()),
            method: "GET".into(),
            status: 200,
            headers: vec![("content-type".into(), "video/mp4".into())],
            body: Some(d),
            body_bytes: body.len() as u64,
            started_at: at,
            duration_ms: 1,
            user_agent: None,
        });
        archive.put_capture(&record).expect("capture");
        let plan = Plan::new(&archive, &Selection::All).expect("plan");
        let out = dir.path().join("x.warc.gz");
        let opts = Options {
            warc: Some(out.clone()),
            wacz: None,
            now: at,
        };
        let s = export(&archive, &plan, &opts, &mut |_, _| {}).expect("export");
        assert_eq!(
            s[0].records, 5,
            "warcinfo, response, request, metadata, page"
        );
        let mut all = Vec::new();
        MultiGzDecoder::new(std::fs::File::open(&out).expect("open"))
            .read_to_end(&mut all)
            .expect("gunzip");
        let text = String::from_utf8_lossy(&all);
        assert!(text.contains(&format!("WARC-Payload-Digest: sha256:{}\r\n", d.hex())));
        let head = response_head(200, &record.exchanges[0].headers);
        let mut block = head.clone();
        block.extend_from_slice(&body);
        assert!(text.contains(&format!(
            "WARC-Block-Digest: sha256:{}\r\n",
            Digest::of(&block).hex()
        )));
        assert!(text.contains(&format!("Content-Length: {}\r\n\r\n", block.len())));
        let at_block = all
            .windows(head.len())
            .position(|w| w == head.as_slice())
            .expect("the response block");
        assert_eq!(&all[at_block + head.len()..][..body.len()], &body[..]);

        // Flip one byte near the end: only the end of a pass can tell.
        let path = archive.object_path(&d);
        let mut bytes = std::fs::read(&path).expect("object");
        let last = bytes.len() - 10;
        bytes[last] ^= 1;
        std::fs::write(&path, bytes).expect("corrupt");
        let out2 = dir.path().join("y.warc.gz");
        let opts = Options {
            warc: Some(out2.clone()),
            ..opts
        };
        let err = export(&archive, &plan, &opts, &mut |_, _| {}).expect_err("corrupt");
        assert!(matches!(err, ExportError::Object { .. }), "{err}");
        assert!(err.to_string().contains("embarc verify"), "{err}");
        assert!(err.to_string().contains("twitter:20"), "{err}");
        assert!(!out2.exists());
        let temps = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(".embarc-export-")
            })
            .count();
        assert_eq!(temps, 0, "no temp file left");
    }
}
