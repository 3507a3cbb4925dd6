//! The card's HTML: a [`PostView`] through the askama template
//! `templates/card.html`, which escapes every value it prints. This module
//! prepares display strings (dates in the article's language, like counts,
//! media hrefs) and must not build markup from untrusted text itself.

use super::view::{Badge, MediaRef, MediaView, PostView, Run, State};
use askama::Template;
use std::collections::BTreeSet;
use time::OffsetDateTime;

/// How cards refer to archived media: `BASE` + `HEX.EXT`, each file used
/// remembered so the caller can publish it.
#[derive(Debug, Clone, Default)]
pub struct MediaLinks {
    /// Prefix of every media href (`media/` or a CDN URL ending in `/`).
    pub base: String,
    /// The files the rendered cards refer to.
    pub used: BTreeSet<MediaRef>,
    /// Files referred to by their own URL (see [`super::PageLinks::media_urls`]).
    pub urls: Option<std::sync::Arc<std::collections::HashMap<crate::digest::Digest, String>>>,
}

impl MediaLinks {
    /// Links under `base` (a `/` is added if missing).
    pub fn new(base: &str) -> Self {
        let mut base = base.to_string();
        if !base.is_empty() && !base.ends_with('/') {
            base.push('/');
        }
        MediaLinks {
            base,
            used: BTreeSet::new(),
            urls: None,
        }
    }

    /// The file name a media file is published under: `HEX.EXT`.
    pub fn file_name(m: &MediaRef) -> String {
        format!("{}.{}", m.digest.hex(), m.ext)
    }

    pub(crate) fn href(&mut self, m: &MediaRef) -> String {
        if let Some(url) = self.urls.as_ref().and_then(|u| u.get(&m.digest)) {
            return url.clone();
        }
        self.used.insert(*m);
        format!("{}{}", self.base, Self::file_name(m))
    }
}

/// Display options of a card.
#[derive(Debug, Clone, Default)]
pub struct CardOptions {
    /// The language of the page the card goes into (dates are written in it).
    pub lang: Option<String>,
}

struct MediaOut {
    src: String,
    alt: String,
    poster: Option<String>,
    width: Option<u64>,
    height: Option<u64>,
    video: bool,
    gif: bool,
}

#[derive(Template)]
#[template(path = "card.html")]
struct CardTemplate<'a> {
    post: &'a PostView,
    nested: bool,
    avatar: Option<String>,
    profile: Option<String>,
    badge: Option<(&'static str, &'static str)>,
    media: Vec<MediaOut>,
    grid: usize,
    quoted: Option<String>,
    time_iso: Option<String>,
    time_text: Option<String>,
    likes: Option<String>,
    notice: Option<String>,
    lang: Option<&'a str>,
}

/// The card of one post, as an HTML fragment with no blank line in it (so it
/// can sit in Markdown as one HTML block).
pub fn card_html(post: &PostView, opts: &CardOptions, links: &mut MediaLinks) -> String {
    let html = render(post, opts, links, false);
    // Askama keeps template indentation; drop empty lines so no blank line
    // (which ends a Markdown HTML block) is ever produced.
    let mut out = String::with_capacity(html.len());
    for line in html.split(['\r', '\n']) {
        let line = line.trim();
        if !line.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(line);
        }
    }
    out
}

fn render(post: &PostView, opts: &CardOptions, links: &mut MediaLinks, nested: bool) -> String {
    let media = post
        .media
        .iter()
        .map(|m| match m {
            MediaView::Photo { file, alt, size } => MediaOut {
                src: links.href(file),
                alt: alt.clone().unwrap_or_else(|| "Image".into()),
                poster: None,
                width: size.map(|s| s.0),
                height: size.map(|s| s.1),
                video: false,
                gif: false,
            },
            MediaView::Video {
                file,
                poster,
                size,
                gif,
            } => MediaOut {
                src: links.href(file),
                alt: String::new(),
                poster: poster.as_ref().map(|p| links.href(p)),
                width: size.map(|s| s.0),
                height: size.map(|s| s.1),
                video: true,
                gif: *gif,
            },
        })
        .collect::<Vec<_>>();
    let quoted = post.quoted.as_ref().map(|q| render(q, opts, links, true));
    let lang = opts.lang.as_deref();
    let site = &post.site.0;
    let notice = match &post.state {
        State::Live => None,
        State::GoneSince(at, _) => Some(format!(
            "No longer available on {site} since {}.",
            date_text(*at, lang)
        )),
        State::ArticleQuote(Some((at, _))) => Some(format!(
            "As quoted by this article; no longer available on {site} since {}.",
            date_text(*at, lang)
        )),
        State::ArticleQuote(None) => Some(format!(
            "As quoted by this article; not archived from {site}."
        )),
    };
    let notice = match (post.recovered, notice) {
        (Some(at), notice) => Some(format!(
            "No longer available on {site}; recovered from the Wayback Machine, captured {}.{}",
            date_text(at, lang),
            notice.map(|n| format!(" {n}")).unwrap_or_default()
        )),
        (None, notice) => notice,
    };
    let t = CardTemplate {
        post,
        nested,
        avatar: post.avatar.as_ref().map(|a| links.href(a)),
        profile: post.profile.clone(),
        badge: post.badge.map(|b| match b {
            Badge::Blue => ("embarc-badge-blue", "Verified account"),
            Badge::Business => ("embarc-badge-business", "Verified organization"),
            Badge::Government => ("embarc-badge-government", "Government account"),
        }),
        grid: media.len().min(4),
        media,
        quoted,
        time_iso: post.created_at.and_then(|t| {
            t.to_offset(time::UtcOffset::UTC)
                .format(&time::format_description::well_known::Rfc3339)
                .ok()
        }),
        time_text: post.created_at.map(|t| time_text(t, lang)),
        likes: post.likes.map(compact_count),
        notice,
        lang: post.lang.as_deref(),
    };
    // Rendering our own template into a String cannot fail (no fallible
    // filters are used); keep a visible marker rather than panic if it does.
    t.render()
        .unwrap_or_else(|_| String::from("<!-- embarc: card could not be rendered -->"))
}

/// `1234` → `1.2K`, `1234567` → `1.2M` (react-tweet's rule).
pub fn compact_count(n: u64) -> String {
    fn one_decimal(n: u64, unit: u64, suffix: &str) -> String {
        let tenths = n / (unit / 10);
        if tenths.is_multiple_of(10) || tenths >= 1000 {
            format!("{}{suffix}", tenths / 10)
        } else {
            format!("{}.{}{suffix}", tenths / 10, tenths % 10)
        }
    }
    match n {
        0..=999 => n.to_string(),
        1000..=999_999 => one_decimal(n, 1000, "K"),
        _ => one_decimal(n, 1_000_000, "M"),
    }
}

/// Month names and date shapes per language; English otherwise.
fn months(lang: &str) -> Option<[&'static str; 12]> {
    Some(match lang {
        "fr" => [
            "janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
            "nov.", "déc.",
        ],
        "de" => [
            "Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sept.", "Okt.", "Nov.",
            "Dez.",
        ],
        "es" => [
            "ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic",
        ],
        "it" => [
            "gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic",
        ],
        "pt" => [
            "jan.", "fev.", "mar.", "abr.", "mai.", "jun.", "jul.", "ago.", "set.", "out.", "nov.",
            "dez.",
        ],
        "nl" => [
            "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
        ],
        "en" => [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ],
        _ => return None,
    })
}

fn primary(lang: Option<&str>) -> String {
    lang.unwrap_or("en")
        .split(['-', '_'])
        .next()
        .unwrap_or("en")
        .to_ascii_lowercase()
}

/// A date in the page's language: `Jun 20, 2024`, `20 juin 2024`, `2024年6月20日`.
pub(crate) fn date_text(t: OffsetDateTime, lang: Option<&str>) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    let lang = primary(lang);
    match lang.as_str() {
        "ja" | "zh" => format!("{y}年{m}月{d}日"),
        "ko" => format!("{y}년 {m}월 {d}일"),
        "de" => format!(
            "{d}. {} {y}",
            months("de").unwrap_or_default()[usize::from(m) - 1]
        ),
        "es" | "pt" => format!(
            "{d} de {} de {y}",
            months(&lang).unwrap_or_default()[usize::from(m) - 1]
        ),
        "fr" | "it" | "nl" => format!(
            "{d} {} {y}",
            months(&lang).unwrap_or_default()[usize::from(m) - 1]
        ),
        _ => format!(
            "{} {d}, {y}",
            months("en").unwrap_or_default()[usize::from(m) - 1]
        ),
    }
}

/// Time and date, in UTC since a static page cannot know the reader's zone.
fn time_text(t: OffsetDateTime, lang: Option<&str>) -> String {
    let u = t.to_offset(time::UtcOffset::UTC);
    let (h, min) = (u.hour(), u.minute());
    let date = date_text(u, lang);
    let localized = matches!(
        primary(lang).as_str(),
        "fr" | "de" | "es" | "it" | "pt" | "nl" | "ja" | "zh" | "ko"
    );
    if !localized {
        let (h12, ampm) = match h {
            0 => (12, "AM"),
            1..=11 => (h, "AM"),
            12 => (12, "PM"),
            _ => (h - 12, "PM"),
        };
        format!("{h12}:{min:02} {ampm} UTC · {date}")
    } else {
        format!("{date} · {h:02}:{min:02} UTC")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn counts_are_compact() {
        assert_eq!(compact_count(999), "999");
        assert_eq!(compact_count(1000), "1K");
        assert_eq!(compact_count(1234), "1.2K");
        assert_eq!(compact_count(999_999), "999K");
        assert_eq!(compact_count(1_250_000), "1.2M");
        assert_eq!(compact_count(u64::MAX), "18446744073709M");
    }

    #[test]
    fn dates_follow_the_page_language() {
        let t = datetime!(2024-06-20 15:04 UTC);
        assert_eq!(time_text(t, None), "3:04 PM UTC · Jun 20, 2024");
        assert_eq!(time_text(t, Some("fr-FR")), "20 juin 2024 · 15:04 UTC");
        assert_eq!(time_text(t, Some("de")), "20. Juni 2024 · 15:04 UTC");
        assert_eq!(time_text(t, Some("ja")), "2024年6月20日 · 15:04 UTC");
        assert_eq!(time_text(t, Some("xx")), "3:04 PM UTC · Jun 20, 2024");
        assert_eq!(
            date_text(datetime!(2024-01-01 0:00 UTC), Some("es")),
            "1 de ene de 2024"
        );
    }
}
