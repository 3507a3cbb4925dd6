//! What a card shows, decided from a post's captures: the latest good capture's
//! author, text runs, media (as archive objects), quoted post, time and likes,
//! plus whether the post has since gone. Pure: no I/O, no HTML. Every string
//! here is untrusted text; only [`safe_url`] decides what may become a link.

use crate::embed::{Provider, Quote};
use crate::post::{Asset, MediaKind, Post, PostId, StoredFile, TextSpan, Verified};
use crate::store::Digest;
use crate::store::record::CaptureOutcome;
use time::OffsetDateTime;

/// A post as a card shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PostView {
    /// `provider:id`.
    pub label: String,
    /// The original post, when its URL is http(s).
    pub url: Option<String>,
    /// Author's display name (may be empty when unknown).
    pub name: String,
    /// Author's handle without `@`, when it is a valid handle of the provider.
    pub handle: Option<String>,
    /// Author's profile page, when its URL is http(s).
    pub profile: Option<String>,
    /// The site the post is on, as the card names it (`X`, a Mastodon
    /// instance's host), and its home page.
    pub site: (String, Option<String>),
    /// The avatar object.
    pub avatar: Option<MediaRef>,
    /// The verification badge.
    pub badge: Option<Badge>,
    /// "Replying to @handle" and the replied post's URL.
    pub reply_to: Option<(String, Option<String>)>,
    /// The text as runs.
    pub runs: Vec<Run>,
    /// Media stored, in the post's order.
    pub media: Vec<MediaView>,
    /// Media the post had that the archive does not hold.
    pub missing_media: usize,
    /// The quoted post.
    pub quoted: Option<Box<PostView>>,
    /// When it was posted.
    pub created_at: Option<OffsetDateTime>,
    /// Whether the author edited it (before this capture).
    pub edited: bool,
    /// The post's language code.
    pub lang: Option<String>,
    /// Likes.
    pub likes: Option<u64>,
    /// Where the card's content comes from and whether the post is still up.
    pub state: State,
    /// When the web archive captured the copy the post was recovered from
    /// (a capture with `source: wayback`).
    pub recovered: Option<OffsetDateTime>,
}

/// Whether the post is still on its platform, as far as the archive knows.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// The latest capture found it.
    Live,
    /// A later capture found it gone (deleted, missing or protected) at this time.
    GoneSince(OffsetDateTime, CaptureOutcome),
    /// Never captured; the card shows what the citing article quoted. Carries
    /// the time the platform was found to refuse it, if it was.
    ArticleQuote(Option<(OffsetDateTime, CaptureOutcome)>),
}

/// A verification badge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Badge {
    /// Blue or legacy verification.
    Blue,
    /// A verified organisation.
    Business,
    /// A government account.
    Government,
}

/// One run of a post's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Run {
    /// Plain text (no newlines).
    Text(String),
    /// A line break.
    Break,
    /// A link: shown text and an http(s) target.
    Link(String, String),
}

/// An archived file a card shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaRef {
    /// Its object.
    pub digest: Digest,
    /// The file extension to publish it under (from a fixed list).
    pub ext: &'static str,
}

/// A photo, video or GIF of a post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaView {
    /// A photo with its alt text.
    Photo {
        /// The file.
        file: MediaRef,
        /// Alt text, when the author wrote one.
        alt: Option<String>,
        /// Original size.
        size: Option<(u64, u64)>,
    },
    /// A video or a GIF (an MP4 on X).
    Video {
        /// The MP4.
        file: MediaRef,
        /// The still.
        poster: Option<MediaRef>,
        /// Original size.
        size: Option<(u64, u64)>,
        /// A GIF: loops muted, no controls needed.
        gif: bool,
    },
}

/// What render reads of a capture record: the neutral post, not the exchanges.
pub use crate::store::record::PostCapture as Capture;

/// The card for a post from its captures (oldest first), or from the citing
/// article's quote; `None` when there is nothing to show.
pub fn post_view(
    label: &str,
    captures: &[Capture],
    article_quote: Option<&Quote>,
) -> Option<PostView> {
    let good = captures
        .iter()
        .rposition(|c| c.outcome == CaptureOutcome::Ok && c.normalized.is_some());
    // The first refusal after the last good capture (failures are not facts).
    let after = good.map_or(0, |i| i + 1);
    let gone = captures[after..]
        .iter()
        .find(|c| {
            matches!(
                c.outcome,
                CaptureOutcome::Tombstone | CaptureOutcome::NotFound | CaptureOutcome::Protected
            )
        })
        .map(|c| (c.captured_at, c.outcome));
    if let Some(i) = good {
        let record = &captures[i];
        let mut view = from_capture(label, record)?;
        if let Some((at, outcome)) = gone {
            view.state = State::GoneSince(at, outcome);
        }
        return Some(view);
    }
    let quote = article_quote
        .or_else(|| captures.iter().rev().find_map(|c| c.article_quote.as_ref()))
        .filter(|q| !q.is_empty())?;
    let url = captures
        .last()
        .and_then(|c| safe_url(&c.url))
        .filter(|u| !u.is_empty());
    let provider = provider_of(label);
    let handle = quote
        .handle
        .as_deref()
        .and_then(|h| valid_handle(provider, h));
    Some(PostView {
        label: label.to_string(),
        site: crate::providers::site(provider, url.as_deref()),
        profile: handle.as_deref().and_then(|h| profile_of(provider, h)),
        url,
        name: one_line(quote.author.as_deref().unwrap_or_default()),
        handle,
        avatar: None,
        badge: None,
        reply_to: None,
        runs: text_runs(quote.text.as_deref().unwrap_or("")),
        media: Vec::new(),
        missing_media: 0,
        quoted: None,
        created_at: None,
        edited: false,
        lang: None,
        likes: None,
        state: State::ArticleQuote(gone),
        recovered: None,
    })
}

/// The card of one good capture.
fn from_capture(label: &str, record: &Capture) -> Option<PostView> {
    let p = record.normalized.as_ref()?;
    let mut card = post_card(label, safe_url(&record.url), p, true);
    if record.source.as_deref() == Some(crate::post::source::ARTICLE) {
        // Kept as the citing article quoted it: the platform gave nothing.
        card.state = State::ArticleQuote(None);
    }
    if record.source.as_deref() == Some(crate::post::source::WAYBACK) {
        card.recovered = record.recovered_at.or(Some(record.captured_at));
    }
    Some(card)
}

fn post_card(label: &str, fallback_url: Option<String>, p: &Post, with_quoted: bool) -> PostView {
    let avatar = p.author.avatar.as_ref().and_then(|a| stored(a, true));
    let mut media = Vec::new();
    let mut missing_media = 0;
    for item in &p.media {
        let size = item.width.zip(item.height);
        let shown = match item.kind {
            MediaKind::Photo => stored(&item.file, true).map(|file| MediaView::Photo {
                file,
                alt: item
                    .alt
                    .as_deref()
                    .map(one_line)
                    .filter(|a| !a.trim().is_empty()),
                size,
            }),
            // Cards play no sound files yet: the file is archived, not shown.
            MediaKind::Audio => continue,
            MediaKind::Video | MediaKind::Gif => {
                stored(&item.file, false).map(|file| MediaView::Video {
                    file,
                    poster: item.poster.as_ref().and_then(|p| stored(p, true)),
                    size,
                    gif: item.kind == MediaKind::Gif,
                })
            }
        };
        match shown {
            Some(v) => media.push(v),
            None => missing_media += 1,
        }
    }
    let badge = p.author.verified.map(|v| match v {
        Verified::Blue => Badge::Blue,
        Verified::Business => Badge::Business,
        Verified::Government => Badge::Government,
    });
    let provider = provider_of(label);
    let reply_to = p.reply_to.as_ref().and_then(|r| {
        let handle = valid_handle(provider, &r.handle)?;
        Some((handle, r.url.as_deref().and_then(safe_url)))
    });
    let quoted = p
        .quoted
        .as_ref()
        .filter(|_| with_quoted)
        .map(|q| Box::new(post_card(&q.id.label(), None, &q.post, false)));
    let runs = if p.spans.is_empty() {
        text_runs(&p.text)
    } else {
        span_runs(&p.spans)
    };
    let url = p.url.as_deref().and_then(safe_url).or(fallback_url);
    let handle = p
        .author
        .handle
        .as_deref()
        .and_then(|h| valid_handle(provider, h));
    PostView {
        label: label.to_string(),
        site: crate::providers::site(provider, url.as_deref()),
        profile: p
            .author
            .url
            .as_deref()
            .and_then(safe_url)
            .or_else(|| profile_of(provider, handle.as_deref()?)),
        url,
        name: one_line(&p.author.name),
        handle,
        avatar,
        badge,
        reply_to,
        runs,
        media,
        missing_media,
        quoted,
        created_at: p.created_at.as_deref().and_then(parse_time),
        edited: p.edited_at.is_some(),
        lang: p.lang.clone().filter(|l| valid_lang(l)),
        likes: p.counts.likes,
        state: State::Live,
        recovered: None,
    }
}

/// Runs from typed spans: a span with an http(s) target becomes a link
/// showing its text; anything else stays text.
fn span_runs(spans: &[TextSpan]) -> Vec<Run> {
    let mut runs = Vec::new();
    for s in spans {
        match (s, s.href().and_then(safe_url)) {
            (TextSpan::Text { text }, _) => runs.extend(text_runs(text)),
            (_, Some(href)) => runs.push(Run::Link(one_line(s.text()), href)),
            (_, None) => runs.extend(text_runs(s.text())),
        }
    }
    runs
}

/// Plain text as runs, line breaks (`\n`, `\r\n`, a lone `\r`) as breaks,
/// other control characters dropped: a card never holds a raw line break
/// (which could end a Markdown HTML block and let the rest be read as
/// Markdown).
fn text_runs(text: &str) -> Vec<Run> {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut runs = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            runs.push(Run::Break);
        }
        let line = without_controls(line);
        if !line.is_empty() {
            runs.push(Run::Text(line));
        }
    }
    runs
}

/// The text without control characters (tabs become spaces).
fn without_controls(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .collect()
}

/// Names, alt texts and link texts on one line: the card has no blank line
/// (a Markdown HTML block ends at one), and an attribute keeps its meaning.
fn one_line(s: &str) -> String {
    without_controls(&s.replace(['\r', '\n'], " "))
}

/// The URL if it is absolute http(s), normalized (so no scheme trick such as
/// `javascript:`, `data:` or a control character survives); else `None`.
pub fn safe_url(s: &str) -> Option<String> {
    let u = url::Url::parse(s.trim()).ok()?;
    matches!(u.scheme(), "http" | "https")
        .then(|| u.host_str().is_some_and(|h| !h.is_empty()))
        .filter(|ok| *ok)
        .map(|_| u.to_string())
}

/// A handle as its provider allows them (X: 1–15 of `[A-Za-z0-9_]`;
/// Mastodon: `user@host`).
fn valid_handle(provider: Provider, h: &str) -> Option<String> {
    let h = h.trim_start_matches('@');
    crate::providers::is_handle(provider, h).then(|| h.to_string())
}

/// The provider of a `provider:id` label (X when it names none).
fn provider_of(label: &str) -> Provider {
    PostId::parse_label(label).map_or(Provider::Twitter, |p| p.provider)
}

/// A profile URL built from a checked handle, where the provider has one
/// form for it (X's `x.com/HANDLE`).
fn profile_of(provider: Provider, handle: &str) -> Option<String> {
    match provider {
        Provider::Twitter => Some(format!("https://x.com/{handle}")),
        Provider::Instagram => Some(format!("https://www.instagram.com/{handle}/")),
        Provider::Threads => Some(format!("https://www.threads.net/@{handle}")),
        Provider::Reddit => Some(format!("https://www.reddit.com/user/{handle}/")),
        _ => None,
    }
}

/// A BCP 47-shaped language tag (letters, digits, hyphens; short).
pub fn valid_lang(l: &str) -> bool {
    !l.is_empty()
        && l.len() <= 35
        && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && l.as_bytes()[0].is_ascii_alphabetic()
}

fn parse_time(s: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
}

/// The archived file of an asset as the card needs it (`image`: `<img>`,
/// else `<video>`), if it was stored.
fn stored(a: &Asset, image: bool) -> Option<MediaRef> {
    a.stored.as_ref().and_then(|f| media_ref(f, image))
}

/// The archived file as the page may use it: an extension from a fixed list by
/// its Content-Type, so a file that claims to be HTML is never published as
/// `.html`. `image` says what the card needs (`<img>` or `<video>`).
fn media_ref(m: &StoredFile, image: bool) -> Option<MediaRef> {
    let ct = m
        .mime
        .as_deref()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let from_type = match ct.as_str() {
        "image/jpeg" | "image/jpg" => Some("jpg"),
        "image/png" => Some("png"),
        "image/gif" => Some("gif"),
        "image/webp" => Some("webp"),
        "video/mp4" => Some("mp4"),
        _ => None,
    };
    // X's CDN sometimes answers `application/octet-stream`: trust the path then.
    let from_path = || {
        let path = m.url.split(['?', '#']).next().unwrap_or("");
        let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        let format = crate::providers::split_url(&m.url).and_then(|p| p.query_param("format"));
        match ext.as_deref().or(format.as_deref()) {
            Some("jpg" | "jpeg") => Some("jpg"),
            Some("png") => Some("png"),
            Some("gif") => Some("gif"),
            Some("webp") => Some("webp"),
            Some("mp4") => Some("mp4"),
            _ => None,
        }
    };
    let ext = from_type.or_else(from_path)?;
    (image == (ext != "mp4")).then_some(MediaRef {
        digest: m.digest,
        ext,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_become_links() {
        assert_eq!(
            safe_url("https://example.com/a?b#c").as_deref(),
            Some("https://example.com/a?b#c")
        );
        for bad in [
            "javascript:alert(1)",
            "JAVASCRIPT:alert(1)",
            "data:text/html,x",
            "//x.com",
            "vbscript:x",
            "",
            "http://",
        ] {
            assert_eq!(safe_url(bad), None, "{bad}");
        }
        // Quotes and brackets are percent-encoded by normalization.
        assert!(!safe_url("https://e.com/\"><script>").unwrap().contains('"'));
    }

    #[test]
    fn handles_are_checked() {
        let x = Provider::Twitter;
        assert_eq!(valid_handle(x, "@jack").as_deref(), Some("jack"));
        assert_eq!(valid_handle(x, "a\"b"), None);
        assert_eq!(valid_handle(x, "sixteen_chars_xx"), None);
        let m = Provider::Mastodon;
        assert_eq!(
            valid_handle(m, "@Gargron@mastodon.social").as_deref(),
            Some("Gargron@mastodon.social")
        );
        assert_eq!(valid_handle(m, "a@b\"c.d"), None);
        assert_eq!(valid_handle(m, "jack"), None);
        let b = Provider::Bluesky;
        assert_eq!(
            valid_handle(b, "alice.bsky.social").as_deref(),
            Some("alice.bsky.social")
        );
        assert_eq!(valid_handle(b, "a<b"), None);
    }

    #[test]
    fn text_keeps_lines_as_breaks() {
        assert_eq!(
            text_runs("a\n\nb"),
            vec![
                Run::Text("a".into()),
                Run::Break,
                Run::Break,
                Run::Text("b".into())
            ]
        );
    }
}
