//! Video facades: a YouTube or TikTok embed as plain HTML and CSS that asks
//! nothing of any platform until the reader clicks: the archived thumbnail
//! (published with the page like every card's media), the title, the
//! channel or author, a play button, linking to the video. With
//! [`VideoPlayer::Nocookie`], a YouTube facade sits in an `<iframe
//! srcdoc>` whose play link opens `youtube-nocookie.com/embed/ID?autoplay=1`
//! in that same frame: the player arrives on the click, in place, with no
//! script of ours and none of YouTube's before it. Markup comes from the
//! askama templates `templates/facade.html` and `facade_player.html`,
//! which escape every value (the player document twice: once inside, once
//! as the `srcdoc` attribute). Like [`super::card`], this module builds no
//! markup from untrusted text itself.

use super::card::{CardOptions, MediaLinks};
use super::view::{MediaView, PostView, Run, State};
use crate::embed::Provider;
use askama::Template;

/// What a YouTube facade does when clicked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum VideoPlayer {
    /// A link to the video on its platform (the default).
    #[default]
    Link,
    /// YouTube's player from `youtube-nocookie.com`, in place, on the click.
    Nocookie,
}

/// Whether embeds of `provider` render as video facades.
pub fn is_video(provider: Provider) -> bool {
    matches!(provider, Provider::Youtube | Provider::Tiktok)
}

/// The style of the player document (`srcdoc` has no page stylesheet).
const PLAYER_CSS: &str = "html,body{margin:0;height:100%;background:#000;overflow:hidden}\
a{position:relative;display:block;width:100%;height:100%}\
img{display:block;width:100%;height:100%;object-fit:cover}\
span{position:absolute;left:50%;top:50%;width:68px;height:48px;margin:-24px 0 0 -34px;border-radius:14px;background:#212121cc}\
a:hover span,a:focus span{background:#f00}\
span::after{content:\"\";position:absolute;left:27px;top:14px;border-style:solid;border-width:10px 0 10px 17px;border-color:transparent transparent transparent #fff}";

#[derive(Template)]
#[template(path = "facade_player.html")]
struct PlayerTemplate<'a> {
    player: &'a str,
    thumb: Option<&'a str>,
    play_label: &'a str,
    css: &'static str,
}

#[derive(Template)]
#[template(path = "facade.html")]
struct FacadeTemplate<'a> {
    post: &'a PostView,
    provider: &'static str,
    title: &'a str,
    thumb: Option<String>,
    play_label: String,
    srcdoc: Option<String>,
    notice: Option<String>,
}

/// The facade of a video post, as an HTML fragment with no blank line in it
/// (so it can sit in Markdown as one HTML block).
pub fn facade_html(
    post: &PostView,
    player: VideoPlayer,
    opts: &CardOptions,
    links: &mut MediaLinks,
) -> String {
    let provider = crate::post::PostId::parse_label(&post.label)
        .map(|p| p.provider)
        .unwrap_or(Provider::Youtube);
    let mut title = String::new();
    for run in &post.runs {
        match run {
            Run::Text(t) | Run::Link(t, _) => title.push_str(t),
            Run::Break => title.push(' '),
        }
    }
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    let site = post.site.0.as_str();
    let title = if title.is_empty() {
        format!("{site} video")
    } else {
        title
    };
    let thumb = post.media.iter().find_map(|m| match m {
        MediaView::Photo { file, .. } => Some(links.href(file)),
        MediaView::Video { poster, .. } => poster.as_ref().map(|p| links.href(p)),
    });
    let play_label = format!("Play on {site}: {title}");
    let video_id = post
        .label
        .strip_prefix("youtube:")
        .filter(|id| crate::capture::youtube::is_video_id(id));
    let srcdoc = match (player, provider, video_id) {
        (VideoPlayer::Nocookie, Provider::Youtube, Some(id)) => {
            let url = format!("https://www.youtube-nocookie.com/embed/{id}?autoplay=1");
            PlayerTemplate {
                player: &url,
                thumb: thumb.as_deref(),
                play_label: &play_label,
                css: PLAYER_CSS,
            }
            .render()
            .ok()
        }
        _ => None,
    };
    let lang = opts.lang.as_deref();
    let notice = match &post.state {
        State::Live => None,
        State::GoneSince(at, _) => Some(format!(
            "No longer available on {site} since {}.",
            super::card::date_text(*at, lang)
        )),
        State::ArticleQuote(_) => Some(format!(
            "As quoted by this article; not archived from {site}."
        )),
    };
    let t = FacadeTemplate {
        post,
        provider: provider.as_str(),
        title: &title,
        thumb,
        play_label,
        srcdoc,
        notice,
    };
    let html = t
        .render()
        .unwrap_or_else(|_| String::from("<!-- embarc: facade could not be rendered -->"));
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

/// The facade of a video never captured OK whose latest capture found it
/// gone (removed, private, taken down): no thumbnail, no title, the notice
/// of when; `None` when the latest capture says nothing of the sort.
pub fn gone_view(label: &str, captures: &[super::view::Capture]) -> Option<PostView> {
    use crate::store::record::CaptureOutcome;
    let last = captures.last()?;
    let gone = matches!(
        last.outcome,
        CaptureOutcome::NotFound | CaptureOutcome::Protected | CaptureOutcome::Tombstone
    );
    if !gone || captures.iter().any(|c| c.outcome == CaptureOutcome::Ok) {
        return None;
    }
    let provider = crate::post::PostId::parse_label(label)?.provider;
    let url = super::view::safe_url(&last.url);
    Some(PostView {
        label: label.to_string(),
        site: crate::providers::site(provider, url.as_deref()),
        url,
        name: String::new(),
        handle: None,
        profile: None,
        avatar: None,
        badge: None,
        reply_to: None,
        runs: Vec::new(),
        media: Vec::new(),
        missing_media: 0,
        recovered: None,
        quoted: None,
        created_at: None,
        edited: false,
        lang: None,
        likes: None,
        state: State::GoneSince(last.captured_at, last.outcome),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::view::MediaRef;
    use crate::store::Digest;

    fn view(label: &str, title: &str) -> PostView {
        PostView {
            label: label.into(),
            url: Some("https://www.youtube.com/watch?v=dQw4w9WgXcQ".into()),
            name: "Rick \"<b>\" Astley".into(),
            handle: None,
            profile: Some("https://www.youtube.com/@RickAstleyYT".into()),
            site: ("YouTube".into(), None),
            avatar: None,
            badge: None,
            reply_to: None,
            runs: vec![Run::Text(title.into())],
            media: vec![MediaView::Photo {
                file: MediaRef {
                    digest: Digest([7; 32]),
                    ext: "jpg",
                },
                alt: None,
                size: None,
            }],
            missing_media: 0,
            recovered: None,
            quoted: None,
            created_at: None,
            edited: false,
            lang: None,
            likes: None,
            state: State::Live,
        }
    }

    #[test]
    fn a_facade_links_to_the_video_and_escapes_everything() {
        let v = view(
            "youtube:dQw4w9WgXcQ",
            "Never <script>alert(1)</script> & \"you\"",
        );
        let mut links = MediaLinks::new("media/");
        let html = facade_html(&v, VideoPlayer::Link, &CardOptions::default(), &mut links);
        assert!(
            html.contains("href=\"https://www.youtube.com/watch?v=dQw4w9WgXcQ\""),
            "{html}"
        );
        assert!(html.contains("src=\"media/0707"), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(!html.contains("iframe"), "{html}");
        assert_eq!(links.used.len(), 1);
        assert!(!html.contains("\n\n"));
    }

    #[test]
    fn the_nocookie_player_is_a_srcdoc_frame_with_nothing_raw_inside() {
        let v = view("youtube:dQw4w9WgXcQ", "A \"quoted\" <title> & more");
        let mut links = MediaLinks::new("media/");
        let html = facade_html(
            &v,
            VideoPlayer::Nocookie,
            &CardOptions::default(),
            &mut links,
        );
        let start = html.find("srcdoc=\"").expect("srcdoc") + 8;
        let end = start + html[start..].find('"').expect("end");
        let doc = &html[start..end];
        assert!(
            !doc.contains('<'),
            "the document is one escaped attribute: {doc}"
        );
        let inner = htmlize::unescape_attribute(doc);
        assert!(
            inner
                .contains("href=\"https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?autoplay=1\""),
            "{inner}"
        );
        assert!(!inner.contains("<title>"), "{inner}");
        assert!(inner.contains("&#60;title&#62;"), "{inner}");
        // TikTok has no nocookie player: its facade is a link.
        let t = view("tiktok:7348705314746699054", "x");
        let html = facade_html(
            &t,
            VideoPlayer::Nocookie,
            &CardOptions::default(),
            &mut links,
        );
        assert!(!html.contains("srcdoc"), "{html}");
    }
}
