//! Inputs: turning what the user names (files, folders, `-`, URLs) into a list
//! of articles, reading each one with a size cap, and deciding its kind.
//!
//! This is the only module of the scan path that touches the file system.

use crate::embed::Kind;
use crate::error::{Error, IoContext, Result};
use std::io::Read;
use std::path::{Path, PathBuf};

/// What the user named on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or folder.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
    /// An article URL.
    Url(String),
}

impl Input {
    /// Interprets a command-line argument.
    pub fn parse(arg: &str) -> Input {
        let lower = arg.get(..8).unwrap_or(arg).to_ascii_lowercase();
        if arg == "-" {
            Input::Stdin
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            Input::Url(arg.to_string())
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }
}

/// Reads a list of inputs (`-i FILE`): one per line; blank lines and lines
/// starting with `#` are skipped, surrounding spaces trimmed. `-` reads
/// standard input. A line may be a path, a folder or a URL.
pub fn read_list(from: &str) -> crate::Result<Vec<String>> {
    use std::io::Read;
    let mut text = String::new();
    let read = if from == "-" {
        std::io::stdin().lock().read_to_string(&mut text)
    } else {
        std::fs::File::open(from).and_then(|mut f| f.read_to_string(&mut text))
    };
    read.map_err(|e| crate::Error::Io {
        path: PathBuf::from(if from == "-" { "standard input" } else { from }),
        source: e,
    })?;
    Ok(list_lines(&text))
}

/// The entries of an input list's text (see [`read_list`]).
pub fn list_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// One article to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// How the article is named in reports: the path as given (or found under a
    /// folder given), `-` for stdin, the URL for a URL.
    pub name: String,
    /// Where its bytes come from.
    pub origin: Origin,
    /// The kind its extension says, if any.
    pub kind_hint: Option<Kind>,
}

/// Where an article's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A file.
    File(PathBuf),
    /// Standard input.
    Stdin,
    /// A URL (not fetched by this version).
    Url(String),
}

/// The kind an extension implies; `None` means "sniff the content".
pub fn kind_for_path(path: &Path) -> Option<Kind> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "html" | "htm" | "xhtml" | "shtml" => Some(Kind::Html),
        "md" | "markdown" | "mdx" | "mdown" | "mkd" => Some(Kind::Markdown),
        "txt" | "text" => Some(Kind::Text),
        _ => None,
    }
}

/// Whether a file found inside a folder is an article to scan: an article
/// extension, or none at all (sniffed later).
fn wanted_in_folder(path: &Path) -> bool {
    path.extension().is_none() || kind_for_path(path).is_some()
}

/// How [`expand_with`] treats symlinks found inside folders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Links {
    /// Follow every symlink wherever it points.
    Follow,
    /// A symlink (to a file or a folder) whose target is outside these
    /// folders (canonical paths, see [`folders`]) is returned as an error
    /// naming it, and not followed.
    Within(Vec<PathBuf>),
}

/// The folders among `inputs`, as canonical paths.
pub fn folders(inputs: &[Input]) -> Vec<PathBuf> {
    inputs
        .iter()
        .filter_map(|i| match i {
            Input::Path(p) if p.is_dir() => p.canonicalize().ok(),
            _ => None,
        })
        .collect()
}

/// Lists the articles the inputs name, folders walked recursively in name order
/// (hidden entries skipped), symlinks followed wherever they point. Problems
/// listing a path are returned in place, so one unreadable folder does not
/// hide the others.
pub fn expand(inputs: &[Input]) -> Vec<Result<Source>> {
    expand_with(inputs, &Links::Follow)
}

/// [`expand`], with symlinks inside folders treated as `links` says (render
/// publishes what it reads, so it keeps to the folders it was given). A file
/// named directly is taken whatever it is.
pub fn expand_with(inputs: &[Input], links: &Links) -> Vec<Result<Source>> {
    let mut out = Vec::new();
    for input in inputs {
        match input {
            Input::Stdin => out.push(Ok(Source {
                name: "-".into(),
                origin: Origin::Stdin,
                kind_hint: None,
            })),
            Input::Url(u) => out.push(Ok(Source {
                name: u.clone(),
                origin: Origin::Url(u.clone()),
                kind_hint: None,
            })),
            Input::Path(p) => match std::fs::metadata(p) {
                Err(e) => out.push(Err(Error::Io {
                    path: p.clone(),
                    source: e,
                })),
                Ok(m) if m.is_dir() => walk(p, links, &mut out),
                Ok(_) => out.push(Ok(file_source(p))),
            },
        }
    }
    out
}

fn file_source(p: &Path) -> Source {
    Source {
        name: p.display().to_string(),
        origin: Origin::File(p.to_path_buf()),
        kind_hint: kind_for_path(p),
    }
}

/// Walks a folder. Symlinks are followed (walkdir detects loops); a link to an
/// article is an article. With [`Links::Within`], a symlink whose target is
/// outside those folders is an error, not followed.
fn walk(root: &Path, links: &Links, out: &mut Vec<Result<Source>>) {
    let mut walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    while let Some(entry) = walker.next() {
        if let (Links::Within(roots), Ok(e)) = (links, &entry)
            && e.depth() > 0
            && e.path_is_symlink()
        {
            let target = e.path().canonicalize();
            let inside = target
                .as_ref()
                .is_ok_and(|t| roots.iter().any(|r| t.starts_with(r)));
            if !inside {
                let shown = match &target {
                    Ok(t) => t.display().to_string(),
                    Err(_) => "a missing file".into(),
                };
                out.push(Err(Error::Io {
                    path: e.path().to_path_buf(),
                    source: std::io::Error::other(format!(
                        "a symlink to {shown}, outside the folders given: skipped (pass --follow-links to follow it)"
                    )),
                }));
                if e.file_type().is_dir() {
                    walker.skip_current_dir();
                }
                continue;
            }
        }
        match entry {
            Ok(e) if e.file_type().is_file() && wanted_in_folder(e.path()) => {
                out.push(Ok(file_source(e.path())))
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let source = e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("filesystem loop"));
                out.push(Err(Error::Io { path, source }));
            }
        }
    }
}

/// Reads an article, refusing more than `limit` bytes.
pub fn read(source: &Source, limit: u64) -> Result<Vec<u8>> {
    match &source.origin {
        Origin::Url(url) => Err(Error::UrlNotSupported { url: url.clone() }),
        Origin::File(path) => {
            use std::os::unix::fs::FileTypeExt;
            if std::fs::metadata(path)
                .with_path(path)?
                .file_type()
                .is_fifo()
            {
                return read_fifo(path, limit);
            }
            let file = std::fs::File::open(path).with_path(path)?;
            let size = file.metadata().with_path(path)?.len();
            if size > limit {
                return Err(Error::TooLarge {
                    path: path.clone(),
                    size,
                    limit,
                });
            }
            read_capped(file, limit, path, size)
        }
        Origin::Stdin => read_capped(std::io::stdin().lock(), limit, Path::new("-"), 0),
    }
}

/// Reads a FIFO (`mkfifo`, or `<(command)` in bash) as a stream, as standard
/// input is read: up to `limit` bytes. Opening it does not wait for a writer;
/// when none has written after 2 seconds, says so on stderr once (naming the
/// FIFO, so a forgotten one is not a silent hang), then keeps waiting.
fn read_fifo(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .with_path(path)?;
    let fd = file.as_raw_fd();
    let mut waited = false;
    loop {
        let mut pfd = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd, for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, if waited { -1 } else { 2000 }) };
        if n > 0 {
            break;
        }
        if n == 0 {
            eprintln!(
                "embarc: {}: a FIFO nothing has written into yet; waiting for a writer (Ctrl-C to stop)",
                path.display()
            );
            waited = true;
            continue;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e).with_path(path);
        }
    }
    // Back to blocking reads: the end is when every writer has closed it.
    // SAFETY: fcntl on a descriptor this function owns.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error()).with_path(path);
    }
    read_capped(file, limit, path, 0)
}

fn read_capped(r: impl Read, limit: u64, path: &Path, size_hint: u64) -> Result<Vec<u8>> {
    // One allocation for a file whose size is known (plus one byte to see EOF).
    let mut buf = Vec::with_capacity(
        usize::try_from(size_hint.min(limit))
            .unwrap_or(0)
            .saturating_add(1),
    );
    r.take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .with_path(path)?;
    if buf.len() as u64 > limit {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            size: buf.len() as u64,
            limit,
        });
    }
    Ok(buf)
}

/// Whether bytes are a binary file rather than an article: a known binary
/// signature, or mostly control bytes. A few NULs in a text do not make it binary.
pub fn looks_binary(bytes: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"%PDF-",
        b"\x89PNG",
        b"\xFF\xD8\xFF",
        b"GIF8",
        b"PK\x03\x04",
        b"\x1F\x8B",
        b"\x7FELF",
        b"RIFF",
        b"OggS",
        b"ID3",
        b"fLaC",
        b"BZh",
        b"7z\xBC\xAF",
        b"\xFD7zXZ\x00",
        b"\x00asm",
        b"SQLite format 3\x00",
        b"\x28\xB5\x2F\xFD",
    ];
    if bytes.starts_with(&[0xFF, 0xFE])
        || bytes.starts_with(&[0xFE, 0xFF])
        || bytes.starts_with(&[0xEF, 0xBB, 0xBF])
    {
        return false;
    }
    if MAGIC.iter().any(|m| bytes.starts_with(m)) || bytes.get(4..8) == Some(b"ftyp") {
        return true;
    }
    if crate::detect::utf16(bytes).is_some() {
        return false;
    }
    let sample = &bytes[..bytes.len().min(8192)];
    if sample.is_empty() {
        return false;
    }
    let control = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    control * 10 > sample.len()
}

/// Guesses the kind of an article from its first bytes.
pub fn sniff_kind(bytes: &[u8]) -> Kind {
    let head = &bytes[..bytes.len().min(4096)];
    let lower = head.to_ascii_lowercase();
    let trimmed = lower
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(&lower)
        .trim_ascii_start();
    let html_markers: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<meta",
        b"<div",
        b"<p>",
        b"<article",
    ];
    if trimmed.starts_with(b"<")
        || html_markers
            .iter()
            .any(|m| memchr::memmem::find(&lower, m).is_some())
    {
        return Kind::Html;
    }
    let md_markers: &[&[u8]] = &[
        b"\n# ", b"\n## ", b"](", b"\n```", b"{{<", b"{%", b"\n---\n",
    ];
    if trimmed.starts_with(b"# ")
        || trimmed.starts_with(b"---\n")
        || md_markers
            .iter()
            .any(|m| memchr::memmem::find(&lower, m).is_some())
    {
        return Kind::Markdown;
    }
    Kind::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_parse() {
        assert_eq!(Input::parse("-"), Input::Stdin);
        assert_eq!(
            list_lines("a.html\n\n  # note\n  https://x.y/z  \r\nb/\n"),
            ["a.html", "https://x.y/z", "b/"]
        );
        assert_eq!(
            Input::parse("HTTPS://a.b/c"),
            Input::Url("HTTPS://a.b/c".into())
        );
        assert_eq!(Input::parse("x.html"), Input::Path("x.html".into()));
    }

    #[test]
    fn binary_and_text() {
        assert!(looks_binary(b"\x89PNG\r\n\x1a\n...."));
        assert!(looks_binary(&[0u8; 100]));
        assert!(!looks_binary(
            b"<p>a\x00b</p> plenty of ordinary text around one NUL byte"
        ));
        assert!(!looks_binary(b""));
    }

    #[test]
    fn kinds_sniff() {
        assert_eq!(sniff_kind(b"  <!DOCTYPE html><p>x"), Kind::Html);
        assert_eq!(
            sniff_kind(b"---\ntitle: x\n---\n\nHello [a](b)"),
            Kind::Markdown
        );
        assert_eq!(sniff_kind(b"Just words.\nMore words."), Kind::Text);
    }
}
