//! `embarc render`: articles rewritten with static cards, or one card on stdout.

use super::output::{article_error, clean};
use super::{Global, exit};
use anyhow::{Context, Result, bail};
use embarc::input::{self, Input, Origin, Source};
use embarc::render::card::CardOptions;
use embarc::render::facade::VideoPlayer;
use embarc::render::publish::{self, MediaMode};
use embarc::render::{EmbedResult, PageLinks, Renderer};
use embarc::store::Archive;
use embarc::{Form, Kind};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc render site/ -o public/\n  \
    embarc render story.html -o out/ --media-base /embarc/media\n  \
    embarc render --post twitter:20 > card.html\n  \
    embarc render content/posts/ -o content/posts/ --keep-markdown --force")]
pub struct RenderArgs {
    /// Articles: files, folders (recursive, layout kept), or `-` for stdin
    #[arg(value_name = "INPUT")]
    inputs: Vec<String>,
    /// The output folder: pages, `embarc.css` and `media/`
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: Option<PathBuf>,
    /// Print one post's card (a URL in any form or `twitter:ID`) to stdout
    #[arg(long, value_name = "POST", conflicts_with = "inputs")]
    post: Option<String>,
    /// Hard-link media files from the archive instead of copying them
    #[arg(long)]
    link: bool,
    /// Refer to media as URL/HEX.EXT (a CDN you upload `DIR/media/` to)
    #[arg(long, value_name = "URL")]
    media_base: Option<String>,
    /// Refer to the stylesheet as URL/embarc.css and (unless --media-base)
    /// media as URL/media/HEX.EXT: where the output folder's embarc.css and
    /// media/ are served (`/embarc/`), for sites whose pretty URLs move pages
    /// away from their sources (Hugo's posts/a.md at /posts/a/)
    #[arg(long, value_name = "URL")]
    asset_base: Option<String>,
    /// Read every input as this kind instead of guessing from extension and content
    #[arg(long, value_enum)]
    kind: Option<Kind>,
    /// Language of dates in a `--post` card (articles use their own `lang`)
    #[arg(long, value_name = "LANG")]
    lang: Option<String>,
    /// Follow symlinks in input folders that point outside them (by default
    /// they are named and skipped: a page publishes what its article holds)
    #[arg(long)]
    follow_links: bool,
    /// Skip articles larger than this many bytes
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024)]
    max_size: u64,
    /// Write even when a page would replace an article being rendered or
    /// two articles would share a page (the last one is skipped)
    #[arg(long, conflicts_with = "no_clobber")]
    force: bool,
    /// Refuse the run when any page would overwrite an existing file
    #[arg(long)]
    no_clobber: bool,
    /// Keep X's widgets.js even where no embed needs it (by default it is
    /// removed and X's share and follow buttons stay plain links)
    #[arg(long)]
    keep_scripts: bool,
    /// What a YouTube facade does when clicked: `link` opens the video on
    /// YouTube; `nocookie` plays it in place from youtube-nocookie.com (an
    /// iframe whose srcdoc is the facade: nothing is asked of YouTube
    /// before the click)
    #[arg(long, value_enum, value_name = "PLAYER", default_value = "link")]
    video_player: VideoPlayer,
    /// Write Markdown and MDX articles back as Markdown under their own
    /// names (cards as HTML blocks, front matter byte-identical) for a
    /// static-site generator to build, instead of as HTML pages
    #[arg(long)]
    keep_markdown: bool,
}

/// An article whose page is settled, waiting to be written.
struct Planned<'a> {
    source: &'a Source,
    kind: Kind,
    rel: PathBuf,
    dest: PathBuf,
    /// The bytes of a source that cannot be read twice (stdin, a FIFO).
    bytes: Option<Vec<u8>>,
}

/// One `render --json` line per article.
#[derive(Serialize)]
struct ArticleLine<'a> {
    article: &'a str,
    output: Option<String>,
    cards: usize,
    article_quotes: usize,
    kept: usize,
    failed: usize,
    embeds: Vec<EmbedLine<'a>>,
    /// The `src` of each script removed (X's `widgets.js`).
    removed_scripts: Vec<String>,
    /// X buttons and timelines left as plain links without the script.
    plain_links: usize,
    error: Option<String>,
}

impl<'a> ArticleLine<'a> {
    /// The line of an article with no page, for `error`.
    fn failed(article: &'a str, error: String) -> Self {
        ArticleLine {
            error: Some(error),
            ..ArticleLine::new(article)
        }
    }

    /// An article's line before it is rendered.
    fn new(article: &'a str) -> Self {
        ArticleLine {
            article,
            output: None,
            cards: 0,
            article_quotes: 0,
            kept: 0,
            failed: 0,
            embeds: Vec::new(),
            removed_scripts: Vec::new(),
            plain_links: 0,
            error: None,
        }
    }
}

#[derive(Serialize)]
struct EmbedLine<'a> {
    provider: &'static str,
    form: &'static str,
    post: Option<&'a str>,
    span: [usize; 2],
    line: usize,
    result: &'static str,
    reason: Option<&'a str>,
}

pub fn run(args: RenderArgs, global: &Global) -> Result<u8> {
    let archive = match super::store_cmds::open_for_reading(global)? {
        Some(a) => a,
        None => bail!(
            "{}: the archive is empty; run `embarc archive ARTICLE…` first (or pass --archive)",
            global.archive.display()
        ),
    };
    let media_mode = if args.link {
        MediaMode::Link
    } else {
        MediaMode::Copy
    };
    if let Some(post) = &args.post {
        return one_card(&archive, post, &args, media_mode);
    }
    let Some(out) = args.out.clone() else {
        eprintln!(
            "embarc: render needs an output folder: `embarc render ARTICLE… -o DIR` (or `--post POST` for one card)"
        );
        return Ok(exit::FATAL);
    };
    let mut inputs: Vec<Input> = args.inputs.iter().map(|a| Input::parse(a)).collect();
    if inputs.is_empty() {
        if std::io::stdin().is_terminal() {
            eprintln!(
                "embarc: no input: pass articles or folders to render, or pipe one into `embarc render - -o DIR`"
            );
            return Ok(exit::FATAL);
        }
        inputs.push(Input::Stdin);
    }
    // Each source with the path its page takes under DIR.
    let mut failed = 0usize;
    let mut jobs: Vec<(Source, PathBuf, bool)> = Vec::new();
    // Symlinks stay within the folders given (any of them).
    let links = if args.follow_links {
        input::Links::Follow
    } else {
        input::Links::Within(input::folders(&inputs))
    };
    for i in &inputs {
        let root = match i {
            Input::Path(p) if p.is_dir() => Some(p.clone()),
            _ => None,
        };
        for item in input::expand_with(std::slice::from_ref(i), &links) {
            match item {
                Ok(s) => {
                    let rel = relative_output(&s, root.as_deref());
                    jobs.push((s, rel, root.is_some()));
                }
                Err(e) => {
                    failed += 1;
                    eprintln!("embarc: {}", clean(&e.full_message()));
                }
            }
        }
    }
    // Every page's path is settled before the first is written: a run that
    // would replace an article (`render site/ -o site/` turns `a.md` into
    // `a.html` over the article `a.html`), write two articles to one page,
    // or (with `--no-clobber`) overwrite any file is refused whole.
    let inputs_on_disk: HashMap<PathBuf, String> = jobs
        .iter()
        .filter_map(|(s, _, _)| match &s.origin {
            Origin::File(p) => p.canonicalize().ok().map(|c| (c, s.name.clone())),
            _ => None,
        })
        .collect();
    let mut planned: Vec<Planned> = Vec::with_capacity(jobs.len());
    let mut conflicts: Vec<String> = Vec::new();
    let mut pages_of: HashMap<PathBuf, String> = HashMap::new();
    // Inputs a page will replace (with --force): read before anything is written.
    let mut replaced: std::collections::HashSet<PathBuf> = std::collections::HashSet::new();
    let stdout = std::io::stdout();
    let mut json = std::io::BufWriter::new(stdout.lock());
    for (source, rel, in_folder) in &jobs {
        let bytes = match read(source, args.max_size) {
            Ok(b) => b,
            Err(e) => {
                failed += 1;
                eprintln!("embarc: {}", clean(&article_error(&e)));
                print_line(
                    global,
                    &mut json,
                    &ArticleLine::failed(&source.name, article_error(&e)),
                )?;
                continue;
            }
        };
        let Some(bytes) = bytes else {
            if !global.quiet {
                eprintln!(
                    "embarc: warning: skipped {}: binary file, not an article",
                    clean(&source.name)
                );
            }
            continue;
        };
        // In a folder, a file without an article extension is an article
        // only if it reads as HTML or Markdown: never plain text (README,
        // hostname, a config file) that a page would publish.
        if *in_folder
            && args.kind.is_none()
            && source.kind_hint.is_none()
            && input::sniff_kind(&bytes) == Kind::Text
        {
            if !global.quiet {
                eprintln!(
                    "embarc: warning: skipped {}: no article extension and not HTML or Markdown (name it to render it as text)",
                    clean(&source.name)
                );
            }
            continue;
        }
        let kind = args
            .kind
            .or(source.kind_hint)
            .unwrap_or_else(|| input::sniff_kind(&bytes));
        let rel = if kind == Kind::Html || (kind == Kind::Markdown && args.keep_markdown) {
            rel.clone()
        } else {
            rel.with_extension("html")
        };
        let dest = out.join(&rel);
        let canonical = dest.canonicalize().ok();
        if let Some(c) = canonical
            .as_ref()
            .filter(|c| inputs_on_disk.contains_key(*c))
        {
            replaced.insert(c.clone());
        }
        if !args.force {
            if let Some(article) = canonical.as_ref().and_then(|d| inputs_on_disk.get(d)) {
                conflicts.push(format!(
                    "{}: its page {} would replace the article {article}; choose another -o folder (or pass --force)",
                    source.name,
                    dest.display()
                ));
            } else if let Some(first) = pages_of.get(&dest) {
                conflicts.push(format!(
                    "{}: its page {} is also the page of {first}; render them into separate folders (or pass --force to skip the second)",
                    source.name,
                    dest.display()
                ));
            } else if args.no_clobber && std::fs::symlink_metadata(&dest).is_ok() {
                conflicts.push(format!(
                    "{}: its page {} would overwrite an existing file; move it away or drop --no-clobber",
                    source.name,
                    dest.display()
                ));
            }
            pages_of
                .entry(dest.clone())
                .or_insert_with(|| source.name.clone());
        }
        // A file is read again when written (no site held in memory); stdin
        // and FIFOs cannot be, so their bytes are kept.
        let regular = matches!(&source.origin, Origin::File(p) if p.is_file());
        planned.push(Planned {
            source,
            kind,
            rel,
            dest,
            bytes: (!regular).then_some(bytes),
        });
    }
    if !conflicts.is_empty() {
        for c in &conflicts {
            eprintln!("embarc: {}", clean(c));
        }
        eprintln!(
            "embarc: render refused: {} conflict{} above, nothing written",
            conflicts.len(),
            plural(conflicts.len())
        );
        json.flush()?;
        return Ok(exit::FATAL);
    }
    // An article that some page replaces (--force) is read now, before the
    // first page is written, so it is rendered as it was, not as the page
    // that replaced it.
    for p in planned.iter_mut().filter(|p| p.bytes.is_none()) {
        let Origin::File(path) = &p.source.origin else {
            continue;
        };
        if path.canonicalize().is_ok_and(|c| replaced.contains(&c)) {
            p.bytes = read(p.source, args.max_size).ok().flatten();
        }
    }
    if args.keep_markdown
        && args.asset_base.is_none()
        && !global.quiet
        && planned.iter().any(|p| p.kind == Kind::Markdown)
    {
        eprintln!(
            "embarc: note: the Markdown pages link embarc.css{} relative to each source file; a site generator with pretty URLs (Hugo, Jekyll permalinks) serves pages elsewhere: pass --asset-base with the path where {} is served",
            if args.media_base.is_none() {
                " and media/"
            } else {
                ""
            },
            out.display()
        );
    }
    std::fs::create_dir_all(&out)
        .with_context(|| format!("{}: cannot create the output folder", out.display()))?;
    let progress = if global.quiet || planned.len() < 2 {
        ProgressBar::hidden()
    } else {
        let bar =
            ProgressBar::with_draw_target(Some(planned.len() as u64), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} rendering {pos}/{len} articles [{bar:30}] {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        bar
    };
    let mut renderer = Renderer::new(&archive);
    renderer.keep_scripts(args.keep_scripts);
    renderer.video_player(args.video_player);
    let (mut scripts_removed, mut script_pages, mut plain_links) = (0usize, 0usize, 0usize);
    let mut written: HashMap<PathBuf, String> = HashMap::new();
    let (mut pages, mut cards, mut quotes, mut kept) = (0usize, 0usize, 0usize, 0usize);
    for plan in planned {
        let Planned {
            source,
            kind,
            rel,
            dest,
            bytes,
        } = plan;
        progress.inc(1);
        let mut line = ArticleLine::new(&source.name);
        let bytes = match bytes {
            Some(b) => b,
            None => match read(source, args.max_size) {
                Ok(Some(b)) => b,
                Ok(None) => continue,
                Err(e) => {
                    failed += 1;
                    line.error = Some(article_error(&e));
                    progress.suspend(|| eprintln!("embarc: {}", clean(&article_error(&e))));
                    print_line(global, &mut json, &line)?;
                    continue;
                }
            },
        };
        if let Some(first) = written.get(&dest) {
            failed += 1;
            let msg = format!(
                "{}: its page {} was already written from {}; render them into separate folders",
                source.name,
                dest.display(),
                first
            );
            progress.suspend(|| eprintln!("embarc: {}", clean(&msg)));
            line.error = Some(msg);
            print_line(global, &mut json, &line)?;
            continue;
        }
        let up = match &args.asset_base {
            Some(base) => format!("{}/", base.trim_end_matches('/')),
            None => "../".repeat(rel.components().count().saturating_sub(1)),
        };
        let links = PageLinks {
            stylesheet: format!("{up}{}", embarc::render::STYLESHEET_NAME),
            media_base: args
                .media_base
                .clone()
                .unwrap_or_else(|| format!("{up}{}/", embarc::render::MEDIA_DIR)),
            media_urls: None,
        };
        let title = Path::new(&source.name)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| source.name.clone());
        let rendered = if kind == Kind::Markdown && args.keep_markdown {
            let mdx = Path::new(&source.name)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("mdx"));
            renderer.markdown_source(&bytes, mdx, &links)
        } else {
            renderer.article(&bytes, kind, &title, &links)
        };
        for r in &rendered.embeds {
            let (result, reason) = match &r.result {
                EmbedResult::Card => {
                    line.cards += 1;
                    ("card", None)
                }
                EmbedResult::ArticleQuote => {
                    line.article_quotes += 1;
                    ("article_quote", None)
                }
                EmbedResult::Kept(why) => {
                    line.kept += 1;
                    ("kept", Some(why.as_str()))
                }
                EmbedResult::Failed(why) => {
                    line.failed += 1;
                    ("failed", Some(why.as_str()))
                }
            };
            let at = line_of(&bytes, r.embed.span.start);
            let is_link = matches!(r.embed.form, Form::Link | Form::ShortLink);
            match &r.result {
                EmbedResult::Failed(why) => progress.suspend(|| {
                    eprintln!(
                        "embarc: {}:{at}: {}: {}",
                        clean(&source.name),
                        r.post.as_deref().unwrap_or("embed"),
                        clean(why)
                    )
                }),
                EmbedResult::Kept(why) if !is_link && !global.quiet => progress.suspend(|| {
                    eprintln!(
                        "embarc: warning: {}:{at}: {} {} kept as it was: {}",
                        clean(&source.name),
                        r.embed.provider.as_str(),
                        r.post.as_deref().unwrap_or(r.embed.form.as_str()),
                        clean(why)
                    )
                }),
                _ => {}
            }
            line.embeds.push(EmbedLine {
                provider: r.embed.provider.as_str(),
                form: r.embed.form.as_str(),
                post: r.post.as_deref(),
                span: [r.embed.span.start, r.embed.span.end],
                line: at,
                result,
                reason,
            });
        }
        line.removed_scripts = rendered.removed.scripts.clone();
        line.plain_links = rendered.removed.plain_links;
        if let Err(e) = publish::write_file(&dest, &rendered.html) {
            failed += 1;
            line.error = Some(e.full_message());
            progress.suspend(|| eprintln!("embarc: {}", clean(&e.full_message())));
        } else {
            pages += 1;
            if !line.removed_scripts.is_empty() {
                script_pages += 1;
                scripts_removed += line.removed_scripts.len();
                plain_links += line.plain_links;
            }
            written.insert(dest.clone(), source.name.clone());
            line.output = Some(dest.display().to_string());
            if global.verbose > 0 {
                progress.suspend(|| {
                    eprintln!(
                        "embarc: {} → {} ({} cards, {} kept)",
                        clean(&source.name),
                        dest.display(),
                        line.cards + line.article_quotes,
                        line.kept
                    )
                });
            }
        }
        failed += line.failed;
        cards += line.cards;
        quotes += line.article_quotes;
        kept += line.kept;
        print_line(global, &mut json, &line)?;
    }
    progress.finish_and_clear();
    json.flush()?;
    let media = renderer.used_media().copied().collect::<Vec<_>>();
    let mut published = publish::Published::default();
    if pages > 0 {
        publish::write_file(
            &out.join(embarc::render::STYLESHEET_NAME),
            embarc::render::STYLESHEET.as_bytes(),
        )?;
        match publish::media(
            &archive,
            media.iter().copied(),
            &out.join(embarc::render::MEDIA_DIR),
            media_mode,
        ) {
            Ok(p) => published = p,
            Err(e) => {
                failed += 1;
                eprintln!("embarc: {}", clean(&e.full_message()));
            }
        }
    }
    if !global.quiet {
        eprintln!(
            "embarc: rendered {pages} page{} into {}: {} card{}{}, {kept} embed{} kept as {}, {} media file{} ({} new, {:.1} MB){}",
            plural(pages),
            out.display(),
            cards + quotes,
            plural(cards + quotes),
            if quotes > 0 {
                format!(" ({quotes} from the article's own quote)")
            } else {
                String::new()
            },
            plural(kept),
            if kept == 1 { "it was" } else { "they were" },
            media.len(),
            plural(media.len()),
            published.written,
            published.bytes as f64 / 1e6,
            if failed > 0 {
                format!("; {failed} failed")
            } else {
                String::new()
            },
        );
        if scripts_removed > 0 {
            eprintln!(
                "embarc: removed X's widgets.js ({scripts_removed} script{}) from {script_pages} page{} where no embed needed it{}; --keep-scripts keeps it",
                plural(scripts_removed),
                plural(script_pages),
                if plain_links > 0 {
                    format!(
                        "; {plain_links} X button{} or timeline{} left as plain links",
                        plural(plain_links),
                        plural(plain_links)
                    )
                } else {
                    String::new()
                },
            );
        }
    }
    Ok(if failed > 0 {
        exit::SOME_FAILED
    } else {
        exit::OK
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn print_line(global: &Global, out: &mut impl Write, line: &ArticleLine) -> Result<()> {
    if global.json {
        super::output::json_line(&mut *out, line)?;
    }
    Ok(())
}

/// The article's bytes, `None` for a binary file.
fn read(source: &Source, max: u64) -> embarc::Result<Option<Vec<u8>>> {
    if let Origin::Url(url) = &source.origin {
        return Err(embarc::Error::BadRecord {
            path: PathBuf::from(url),
            reason: "render reads local files only (it never touches the network); save the page and render the file".into(),
        });
    }
    let bytes = input::read(source, max)?;
    Ok((!input::looks_binary(&bytes)).then_some(bytes))
}

/// Where a source's page goes under the output folder: its path under the
/// folder given (layout kept), its file name for a file, `stdin` for stdin.
fn relative_output(s: &Source, root: Option<&Path>) -> PathBuf {
    match &s.origin {
        Origin::File(p) => root
            .and_then(|r| p.strip_prefix(r).ok())
            .filter(|rel| !rel.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .or_else(|| p.file_name().map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("article.html")),
        _ => PathBuf::from("stdin.html"),
    }
}

fn line_of(bytes: &[u8], at: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &bytes[..at.min(bytes.len())]).count()
}

fn one_card(archive: &Archive, post: &str, args: &RenderArgs, mode: MediaMode) -> Result<u8> {
    let Some(key) = embarc::render::post_key(archive, post)? else {
        eprintln!(
            "embarc: {}: not a post URL, short link or PROVIDER:ID",
            clean(post)
        );
        return Ok(exit::FATAL);
    };
    let base = args
        .asset_base
        .as_ref()
        .map_or(String::new(), |b| format!("{}/", b.trim_end_matches('/')));
    let links = PageLinks {
        stylesheet: format!("{base}{}", embarc::render::STYLESHEET_NAME),
        media_base: args
            .media_base
            .clone()
            .unwrap_or_else(|| format!("{base}{}/", embarc::render::MEDIA_DIR)),
        media_urls: None,
    };
    let opts = CardOptions {
        lang: args.lang.clone(),
    };
    let mut renderer = Renderer::new(archive);
    renderer.video_player(args.video_player);
    let Some(html) = renderer.post_card(&key, &opts, &links)? else {
        eprintln!(
            "embarc: {} is not in the archive; capture it with `embarc add {}`",
            key.label(),
            clean(post)
        );
        return Ok(exit::SOME_FAILED);
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(html.as_bytes())?;
    stdout.write_all(b"\n")?;
    stdout.flush()?;
    if let Some(out) = &args.out {
        let media = renderer.used_media().copied().collect::<Vec<_>>();
        publish::media(archive, media, &out.join(embarc::render::MEDIA_DIR), mode)?;
        publish::write_file(
            &out.join(embarc::render::STYLESHEET_NAME),
            embarc::render::STYLESHEET.as_bytes(),
        )?;
    }
    Ok(exit::OK)
}
