//! Render: archived posts back into pages as script-free, self-hosted cards.
//! Reads the archive only, never the network. [`view`] decides what a card
//! shows from a post's captures, [`card`] turns that into escaped HTML through
//! a template, [`page`] splices cards into an article in place of its embeds.
//! What is not archived keeps its original markup and is reported.

pub mod card;
pub mod facade;
pub mod page;
pub mod publish;
pub mod view;

use crate::capture::Target;
use crate::embed::{Embed, Form, Kind, Provider, Span};
use crate::store::Archive;
use crate::store::record::PostId;
use card::{CardOptions, MediaLinks};
use std::collections::HashMap;
use std::sync::Arc;
use view::Capture;

/// The stylesheet every rendered page links (light and dark schemes, mobile).
pub const STYLESHEET: &str = include_str!("embarc.css");
/// Its file name in the output folder.
pub const STYLESHEET_NAME: &str = "embarc.css";
/// The folder media are published under in the output folder.
pub const MEDIA_DIR: &str = "media";

/// What became of one embed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmbedResult {
    /// Replaced by a card from an archived capture.
    Card,
    /// Replaced by a card of the article's own quote (never captured OK).
    ArticleQuote,
    /// Left as it was, for this reason (not archived, a link in prose…).
    Kept(String),
    /// The archive could not be read for it.
    Failed(String),
}

/// One embed of a rendered article.
#[derive(Debug, Clone)]
pub struct EmbedReport {
    /// The embed as detected.
    pub embed: Embed,
    /// The post it was rendered as (`provider:id`).
    pub post: Option<String>,
    /// What happened.
    pub result: EmbedResult,
}

/// An article rendered.
#[derive(Debug, Clone)]
pub struct RenderedArticle {
    /// The page (HTML), in the article's charset for an HTML article, UTF-8 otherwise.
    pub html: Vec<u8>,
    /// Every embed found, in order.
    pub embeds: Vec<EmbedReport>,
    /// The scripts removed (X's `widgets.js` once no embed needs it) and the
    /// X buttons left as plain links.
    pub removed: page::Removed,
}

/// Where a page sits relative to the output folder's stylesheet and media.
#[derive(Debug, Clone)]
pub struct PageLinks {
    /// The stylesheet's href (`embarc.css`, `../embarc.css`).
    pub stylesheet: String,
    /// Prefix of media hrefs (`media/`, `../media/`, or a CDN base URL).
    pub media_base: String,
    /// Media referred to by a URL of their own instead of under `media_base`,
    /// by object: an export's page points at the original URLs its WARC
    /// holds the responses of.
    pub media_urls: Option<Arc<HashMap<crate::digest::Digest, String>>>,
}

impl Default for PageLinks {
    fn default() -> Self {
        PageLinks {
            stylesheet: STYLESHEET_NAME.into(),
            media_base: format!("{MEDIA_DIR}/"),
            media_urls: None,
        }
    }
}

/// Renders articles and cards from one archive, remembering the posts read
/// and the media files used (to publish them next to the pages).
pub struct Renderer<'a> {
    archive: &'a Archive,
    posts: HashMap<PostId, Arc<Vec<Capture>>>,
    shorts: HashMap<String, Option<PostId>>,
    used: std::collections::BTreeSet<view::MediaRef>,
    keep_scripts: bool,
    video_player: facade::VideoPlayer,
}

impl<'a> Renderer<'a> {
    /// A renderer over `archive`.
    pub fn new(archive: &'a Archive) -> Self {
        Renderer {
            archive,
            posts: HashMap::new(),
            shorts: HashMap::new(),
            used: Default::default(),
            keep_scripts: false,
            video_player: facade::VideoPlayer::default(),
        }
    }

    /// Keep X's `widgets.js` in every page even when no embed needs it (by
    /// default it is removed, and X's share and follow buttons and timelines
    /// stay as the plain links they are without it).
    pub fn keep_scripts(&mut self, keep: bool) -> &mut Self {
        self.keep_scripts = keep;
        self
    }

    /// What a YouTube facade does when clicked: link to the video (the
    /// default), or play it in place from `youtube-nocookie.com`.
    pub fn video_player(&mut self, player: facade::VideoPlayer) -> &mut Self {
        self.video_player = player;
        self
    }

    /// The media files the cards rendered so far refer to.
    pub fn used_media(&self) -> impl Iterator<Item = &view::MediaRef> {
        self.used.iter()
    }

    /// Gives the renderer a post's captures (oldest first) that the caller
    /// has already read, so a card of it reads nothing again (an export
    /// renders each post's page from the records it has just written).
    pub fn remember(&mut self, key: PostId, captures: Vec<crate::store::record::PostCapture>) {
        self.posts.insert(key, Arc::new(captures));
    }

    /// Forgets the captures read so far (a long export keeps memory flat).
    pub fn forget_posts(&mut self) {
        self.posts.clear();
        self.shorts.clear();
    }

    /// Every capture of a post, oldest first (cached).
    fn captures(&mut self, key: &PostId) -> crate::Result<Arc<Vec<Capture>>> {
        if let Some(c) = self.posts.get(key) {
            return Ok(c.clone());
        }
        let records = Arc::new(read_captures(self.archive, key)?);
        self.posts.insert(key.clone(), records.clone());
        Ok(records)
    }

    /// Reads the captures of many posts in parallel into the cache; errors
    /// are left for the per-embed read to report.
    fn prefetch(&mut self, keys: impl Iterator<Item = PostId>) {
        use rayon::prelude::*;
        let mut wanted: Vec<PostId> = keys.filter(|k| !self.posts.contains_key(k)).collect();
        wanted.sort();
        wanted.dedup();
        let archive = self.archive;
        let read_all = move || -> Vec<(PostId, Vec<Capture>)> {
            wanted
                .into_par_iter()
                .filter_map(|k| {
                    let records = read_captures(archive, &k).ok()?;
                    Some((k, records))
                })
                .collect()
        };
        let read = match rayon::ThreadPoolBuilder::new()
            .num_threads(archive.io_threads())
            .build()
        {
            Ok(pool) => pool.install(read_all),
            Err(_) => read_all(),
        };
        for (k, r) in read {
            self.posts.insert(k, Arc::new(r));
        }
    }

    /// The post a short link was resolved to, if it was.
    fn short_link(&mut self, link: &str) -> crate::Result<Option<PostId>> {
        if let Some(p) = self.shorts.get(link) {
            return Ok(p.clone());
        }
        let post = self.archive.short_link(link)?.and_then(|r| r.post);
        self.shorts.insert(link.to_string(), post.clone());
        Ok(post)
    }

    /// One post's card as an HTML fragment, or `None` when the archive has no
    /// capture of it.
    pub fn post_card(
        &mut self,
        key: &PostId,
        opts: &CardOptions,
        links: &PageLinks,
    ) -> crate::Result<Option<String>> {
        let captures = self.captures(key)?;
        if captures.is_empty() {
            return Ok(None);
        }
        let v = view::post_view(&key.label(), &captures, None).or_else(|| {
            facade::is_video(key.provider)
                .then(|| facade::gone_view(&key.label(), &captures))
                .flatten()
        });
        let Some(v) = v else {
            return Ok(None);
        };
        Ok(Some(self.card(&v, opts, links)))
    }

    fn card(&mut self, v: &view::PostView, opts: &CardOptions, links: &PageLinks) -> String {
        let mut media = MediaLinks::new(&links.media_base);
        media.urls = links.media_urls.clone();
        let video = PostId::parse_label(&v.label).is_some_and(|p| facade::is_video(p.provider));
        let html = if video {
            facade::facade_html(v, self.video_player, opts, &mut media)
        } else {
            card::card_html(v, opts, &mut media)
        };
        self.used.extend(media.used);
        html
    }

    /// Renders an article: every embed of an archived post replaced by its card.
    /// `title` names the page of a Markdown or text article.
    pub fn article(
        &mut self,
        input: &[u8],
        kind: Kind,
        title: &str,
        links: &PageLinks,
    ) -> RenderedArticle {
        let (replacements, embeds, page_opts) = self.cards(input, kind, title, links);
        let (html, removed) = page::rewrite_reporting(input, kind, &replacements, &page_opts);
        RenderedArticle {
            html,
            embeds,
            removed,
        }
    }

    /// Renders a Markdown or MDX article as Markdown again: every embed of an
    /// archived post replaced by its card as an HTML block, every other byte
    /// (front matter included) kept, for a static-site generator to build.
    /// `mdx` writes the cards as JSX-safe markup (void elements closed,
    /// braces as character references).
    pub fn markdown_source(
        &mut self,
        input: &[u8],
        mdx: bool,
        links: &PageLinks,
    ) -> RenderedArticle {
        let (replacements, embeds, page_opts) = self.cards(input, Kind::Markdown, "", links);
        let (html, removed) = page::markdown_source(input, &replacements, &page_opts, mdx);
        RenderedArticle {
            html,
            embeds,
            removed,
        }
    }

    /// Every embed's card (or why none) and what the page needs besides.
    fn cards(
        &mut self,
        input: &[u8],
        kind: Kind,
        title: &str,
        links: &PageLinks,
    ) -> (Vec<page::Replacement>, Vec<EmbedReport>, page::PageOptions) {
        let embeds = crate::detect(input, kind);
        // Read every cited post's captures on all cores first (the archive
        // reads dominate); the cards are then built in order.
        self.prefetch(
            embeds
                .iter()
                .filter_map(|e| e.id.as_ref().map(|id| PostId::new(e.provider, id.clone()))),
        );
        let lang = page_lang(input, kind);
        let opts = CardOptions { lang: lang.clone() };
        let mut replacements = Vec::new();
        let mut reports = Vec::with_capacity(embeds.len());
        let keep_widgets_js = self.keep_scripts;
        let mut keep_loaders = Vec::new();
        let mut instance_hosts: Vec<String> = Vec::new();
        for embed in embeds {
            let (post, result, html) = self.one(&embed, input, kind, &opts, links);
            if let Some(html) = html {
                if embed.provider == Provider::Mastodon
                    && let Some((host, _)) = embed.id.as_deref().and_then(|id| id.split_once('/'))
                    && !instance_hosts.iter().any(|h| h == host)
                {
                    instance_hosts.push(host.to_string());
                }
                replacements.push(page::Replacement {
                    span: embed.span,
                    html,
                });
            } else if !matches!(embed.form, Form::Link | Form::ShortLink | Form::PlainText)
                && !keep_loaders.contains(&embed.provider)
            {
                // An embed left as it was still needs its platform's loader.
                keep_loaders.push(embed.provider);
            }
            reports.push(EmbedReport {
                embed,
                post,
                result,
            });
        }
        let page_opts = page::PageOptions {
            stylesheet: links.stylesheet.clone(),
            keep_widgets_js,
            keep_loaders,
            title: title.to_string(),
            lang,
            instance_hosts,
        };
        (replacements, reports, page_opts)
    }

    fn one(
        &mut self,
        embed: &Embed,
        input: &[u8],
        kind: Kind,
        opts: &CardOptions,
        links: &PageLinks,
    ) -> (Option<String>, EmbedResult, Option<String>) {
        if matches!(embed.form, Form::Link | Form::ShortLink)
            && (kind == Kind::Html || !alone_on_line(input, embed.span))
        {
            return (
                None,
                EmbedResult::Kept("a link in the text, not an embed".into()),
                None,
            );
        }
        let key = match (&embed.id, &embed.short_link) {
            (Some(id), _) => Some(PostId::new(embed.provider, id.clone())),
            (None, Some(link)) => match self.short_link(link) {
                Ok(p) => p,
                Err(e) => return (None, EmbedResult::Failed(unreadable(&e)), None),
            },
            _ => None,
        };
        let Some(key) = key else {
            let what = embed
                .short_link
                .as_deref()
                .map(|l| format!("{l} was not resolved to a post in the archive"))
                .unwrap_or_else(|| "the article does not say which post this is".into());
            return (None, EmbedResult::Kept(what), None);
        };
        let label = key.label();
        let captures = match self.captures(&key) {
            Ok(c) => c,
            Err(e) => return (Some(label), EmbedResult::Failed(unreadable(&e)), None),
        };
        if captures.is_empty() {
            let why = if crate::capture::platform(embed.provider).is_some() {
                "not in the archive; run `embarc archive` on this article".to_string()
            } else {
                format!(
                    "not in the archive (embarc does not capture {} posts yet)",
                    embed.provider
                )
            };
            return (Some(label), EmbedResult::Kept(why), None);
        }
        match view::post_view(&label, &captures, embed.quote.as_ref()) {
            Some(v) => {
                let result = if matches!(v.state, view::State::ArticleQuote(_)) {
                    EmbedResult::ArticleQuote
                } else {
                    EmbedResult::Card
                };
                let html = self.card(&v, opts, links);
                (Some(label), result, Some(html))
            }
            None => {
                if facade::is_video(embed.provider)
                    && let Some(v) = facade::gone_view(&label, &captures)
                {
                    // A video never captured OK that its platform says is
                    // gone: a facade saying so, rather than a frame that
                    // would load the platform's player to say the same.
                    let html = self.card(&v, opts, links);
                    return (Some(label), EmbedResult::Card, Some(html));
                }
                let why = match captures.last() {
                    Some(c) => format!(
                        "never captured OK (the latest capture, {}, says {}) and the article quotes nothing of it",
                        crate::store::stamp(c.captured_at),
                        c.outcome.as_str()
                    ),
                    None => "never captured".into(),
                };
                (Some(label), EmbedResult::Kept(why), None)
            }
        }
    }
}

/// A post's captures, oldest first, each verified and read as render needs it.
fn read_captures(archive: &Archive, key: &PostId) -> crate::Result<Vec<Capture>> {
    // One post's few records, read in turn: `prefetch` already reads many
    // posts side by side.
    archive
        .capture_digests(key)?
        .iter()
        .map(|d| archive.read_json(d))
        .collect()
}

fn unreadable(e: &crate::Error) -> String {
    format!("{}; run `embarc verify`", e.full_message())
}

/// Whether a span is alone on its line(s) (whitespace around it), as a post
/// URL pasted on a line of its own to be embedded.
fn alone_on_line(input: &[u8], span: Span) -> bool {
    let line_start =
        memchr::memrchr(b'\n', &input[..span.start.min(input.len())]).map_or(0, |p| p + 1);
    let end = span.end.min(input.len());
    let line_end = memchr::memchr(b'\n', &input[end..]).map_or(input.len(), |p| end + p);
    let blank = |b: &[u8]| {
        b.iter()
            .all(|c| c.is_ascii_whitespace() || matches!(c, b'<' | b'>'))
    };
    blank(&input[line_start..span.start.min(input.len())]) && blank(&input[end..line_end])
}

/// The page's language: `<html lang>` for HTML, `lang:` in Markdown front matter.
pub fn page_lang(input: &[u8], kind: Kind) -> Option<String> {
    let head = &input[..input.len().min(16 * 1024)];
    let lower = head.to_ascii_lowercase();
    let value = match kind {
        Kind::Html => {
            let at = memchr::memmem::find(&lower, b"<html")?;
            let end = at + memchr::memchr(b'>', &lower[at..])?;
            let tag = &head[at..end];
            let l = memchr::memmem::find(&tag.to_ascii_lowercase(), b" lang=")
                .or_else(|| memchr::memmem::find(&tag.to_ascii_lowercase(), b"\nlang="))?;
            let v = &tag[l + 6..];
            let v = v
                .strip_prefix(b"\"")
                .or_else(|| v.strip_prefix(b"'"))
                .unwrap_or(v);
            let stop = v
                .iter()
                .position(|&b| matches!(b, b'"' | b'\'' | b' ' | b'>' | b'/'))
                .unwrap_or(v.len());
            &v[..stop]
        }
        Kind::Markdown => {
            let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
            if !head.starts_with(b"---") {
                return None;
            }
            let text = String::from_utf8_lossy(head);
            let line = text
                .lines()
                .skip(1)
                .take_while(|l| l.trim() != "---")
                .find_map(|l| l.strip_prefix("lang:"))?;
            return Some(line.trim().trim_matches(['"', '\'']).to_string())
                .filter(|l| view::valid_lang(l));
        }
        Kind::Text => return None,
    };
    let v = std::str::from_utf8(value).ok()?.trim().to_string();
    view::valid_lang(&v).then_some(v)
}

/// Parses `--post` arguments: a URL in any form or `provider:id`; a short link
/// is looked up among the archive's resolutions.
pub fn post_key(archive: &Archive, s: &str) -> crate::Result<Option<PostId>> {
    match Target::parse(s) {
        Target::Post(p) => Ok(Some(p)),
        Target::Short(link) => Ok(archive.short_link(&link)?.and_then(|r| r.post)),
        Target::Other(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_language() {
        assert_eq!(
            page_lang(b"<!doctype html><html class=x lang=\"fr-FR\">", Kind::Html).as_deref(),
            Some("fr-FR")
        );
        assert_eq!(page_lang(b"<html>", Kind::Html), None);
        assert_eq!(page_lang(b"<html lang='\"><script>'>", Kind::Html), None);
        assert_eq!(
            page_lang(b"---\ntitle: x\nlang: de\n---\n# x", Kind::Markdown).as_deref(),
            Some("de")
        );
    }

    #[test]
    fn bare_lines() {
        let t = b"intro\nhttps://x.com/a/status/1\nmore https://x.com/a/status/2 text";
        assert!(alone_on_line(t, Span { start: 6, end: 30 }));
        assert!(!alone_on_line(t, Span { start: 36, end: 60 }));
    }
}
