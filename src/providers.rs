//! The provider registry: one row per platform, holding every URL form and markup
//! marker detect needs. Adding a provider means adding one row here.
//!
//! Everything in this module is pure string work: no I/O, no allocation beyond the
//! returned values. Inputs are untrusted article text.

use crate::embed::Provider;

/// A post as a URL or an attribute identifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostUrl {
    /// The platform's id for the post (tweet id, video id, shortcode, rkey…).
    pub id: String,
    /// A canonical URL for the post.
    pub url: String,
    /// The author's handle when the URL names it (not authoritative).
    pub handle: Option<String>,
}

/// What a URL turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UrlMatch {
    /// A post of a known provider.
    Post(Provider, PostUrl),
    /// An X short link (`t.co/…`, `pic.twitter.com/…`, `pic.x.com/…`), given
    /// without scheme, as written.
    ShortLink(String),
}

/// One platform: how its posts are written in URLs and in markup.
pub struct ProviderSpec {
    /// Which provider this row describes.
    pub provider: Provider,
    /// Host names (lowercase) the provider owns; subdomains match too.
    pub hosts: &'static [&'static str],
    /// Parses a URL on one of `hosts` (or any host for Mastodon) into a post.
    pub parse: fn(&UrlParts<'_>) -> Option<PostUrl>,
    /// Builds a post from a bare id given by an attribute or shortcode.
    pub from_id: fn(&str) -> Option<PostUrl>,
    /// Classes that mark the provider's embed blockquote.
    pub blockquote_classes: &'static [&'static str],
    /// Attributes of that blockquote (or of an iframe) holding the post's URL or id.
    pub embed_attrs: &'static [&'static str],
    /// Classes of placeholder elements (`div.fb-post`), with the attribute holding the URL.
    pub widget_classes: &'static [(&'static str, &'static str)],
    /// Attributes holding a bare post id on any element (`data-tweet-id`).
    pub id_attrs: &'static [&'static str],
    /// AMP / Bento components and the attribute holding the id or URL.
    pub amp_tags: &'static [(&'static str, &'static str)],
    /// MDX / Astro components (lowercase tag name) and their id attribute.
    pub components: &'static [(&'static str, &'static str)],
    /// Hugo / Jekyll / Eleventy shortcode names.
    pub shortcodes: &'static [&'static str],
    /// WordPress `providerNameSlug` values and `wp-block-embed-*` suffixes.
    pub wordpress_slugs: &'static [&'static str],
    /// Classes that mark the provider's embed iframe when its `src` alone is ambiguous.
    pub iframe_classes: &'static [&'static str],
}

/// The registry. Order matters only for Mastodon, which matches any host and so
/// comes last.
pub static PROVIDERS: &[ProviderSpec] = &[
    ProviderSpec {
        provider: Provider::Twitter,
        hosts: &[
            "twitter.com",
            "x.com",
            "fxtwitter.com",
            "vxtwitter.com",
            "fixupx.com",
            "fixvx.com",
            "twittpr.com",
            "nitter.net",
            "xcancel.com",
        ],
        parse: twitter_url,
        from_id: twitter_id,
        blockquote_classes: &["twitter-tweet", "twitter-video"],
        embed_attrs: &[],
        widget_classes: &[],
        id_attrs: &["data-tweet-id"],
        amp_tags: &[
            ("amp-twitter", "data-tweetid"),
            ("bento-twitter", "data-tweetid"),
        ],
        components: &[("tweet", "id"), ("embeddedtweet", "id"), ("xembed", "url")],
        shortcodes: &["tweet", "twitter", "x", "twitter_simple"],
        wordpress_slugs: &["twitter", "x"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Youtube,
        hosts: &["youtube.com", "youtube-nocookie.com", "youtu.be"],
        parse: youtube_url,
        from_id: youtube_id,
        blockquote_classes: &[],
        embed_attrs: &[],
        widget_classes: &[],
        id_attrs: &[],
        amp_tags: &[("amp-youtube", "data-videoid"), ("lite-youtube", "videoid")],
        components: &[("youtube", "id")],
        shortcodes: &["youtube"],
        wordpress_slugs: &["youtube"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Instagram,
        hosts: &["instagram.com", "instagr.am"],
        parse: instagram_url,
        from_id: instagram_id,
        blockquote_classes: &["instagram-media"],
        embed_attrs: &["data-instgrm-permalink"],
        widget_classes: &[],
        id_attrs: &[],
        amp_tags: &[("amp-instagram", "data-shortcode")],
        components: &[("instagram", "id")],
        shortcodes: &["instagram"],
        wordpress_slugs: &["instagram"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Tiktok,
        hosts: &["tiktok.com"],
        parse: tiktok_url,
        from_id: tiktok_id,
        blockquote_classes: &["tiktok-embed"],
        embed_attrs: &["cite", "data-video-id"],
        widget_classes: &[],
        id_attrs: &[],
        amp_tags: &[("amp-tiktok", "data-src")],
        components: &[],
        shortcodes: &["tiktok"],
        wordpress_slugs: &["tiktok"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Bluesky,
        hosts: &["bsky.app"],
        parse: bluesky_url,
        from_id: bluesky_id,
        blockquote_classes: &["bluesky-embed"],
        embed_attrs: &["data-bluesky-uri"],
        widget_classes: &[],
        id_attrs: &[],
        amp_tags: &[("amp-bluesky", "data-src")],
        components: &[("bluesky", "post"), ("blueskypost", "id")],
        shortcodes: &["bluesky"],
        wordpress_slugs: &["bluesky"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Threads,
        hosts: &["threads.net", "threads.com"],
        parse: threads_url,
        from_id: threads_id,
        blockquote_classes: &["text-post-media"],
        embed_attrs: &["data-text-post-permalink"],
        widget_classes: &[],
        id_attrs: &[],
        amp_tags: &[],
        components: &[],
        shortcodes: &["threads"],
        wordpress_slugs: &["threads"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Facebook,
        hosts: &["facebook.com", "fb.com"],
        parse: facebook_url,
        from_id: no_id,
        blockquote_classes: &[],
        embed_attrs: &[],
        widget_classes: &[("fb-post", "data-href"), ("fb-video", "data-href")],
        id_attrs: &[],
        amp_tags: &[("amp-facebook", "data-href")],
        components: &[],
        shortcodes: &["facebook"],
        wordpress_slugs: &["facebook"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Reddit,
        hosts: &["reddit.com", "redd.it", "redditmedia.com"],
        parse: reddit_url,
        from_id: reddit_id,
        blockquote_classes: &["reddit-embed-bq", "reddit-card"],
        embed_attrs: &[],
        widget_classes: &[],
        id_attrs: &[],
        amp_tags: &[("amp-reddit", "data-src")],
        components: &[],
        shortcodes: &["reddit"],
        wordpress_slugs: &["reddit"],
        iframe_classes: &[],
    },
    ProviderSpec {
        provider: Provider::Mastodon,
        hosts: &[],
        parse: mastodon_url,
        from_id: mastodon_id,
        blockquote_classes: &["mastodon-embed"],
        embed_attrs: &["data-embed-url"],
        widget_classes: &[],
        id_attrs: &[],
        amp_tags: &[],
        components: &[],
        shortcodes: &["mastodon"],
        wordpress_slugs: &["mastodon"],
        iframe_classes: &["mastodon-embed"],
    },
];

/// The registry row of a provider.
pub fn spec(provider: Provider) -> &'static ProviderSpec {
    PROVIDERS
        .iter()
        .find(|s| s.provider == provider)
        .unwrap_or(&PROVIDERS[0])
}

/// Hosts of X short links: the whole path is a code, never a post.
const SHORT_LINK_HOSTS: &[&str] = &["t.co", "pic.twitter.com", "pic.x.com"];

/// A URL split into the parts detection looks at. The host is lowercased and
/// stripped of `www.`, userinfo, port and a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts<'a> {
    /// Lowercase host without `www.`.
    pub host: String,
    /// The path as written (starts with `/` or is empty).
    pub path: &'a str,
    /// The query without `?`.
    pub query: &'a str,
    /// The fragment without `#`.
    pub fragment: &'a str,
}

impl UrlParts<'_> {
    /// Non-empty path segments.
    pub fn segments(&self) -> Vec<&str> {
        self.path.split('/').filter(|s| !s.is_empty()).collect()
    }

    /// The first value of a query parameter, percent-decoded.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// Splits `http(s)://host/path?query#fragment`, `//host/…` or a scheme-less
/// `host/…`. Other schemes give `None`.
pub fn split_url(s: &str) -> Option<UrlParts<'_>> {
    let s = s.trim();
    let rest = if let Some(i) = s.find("://") {
        let scheme = &s[..i];
        if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
            return None;
        }
        &s[i + 3..]
    } else if let Some(r) = s.strip_prefix("//") {
        r
    } else {
        s
    };
    let auth_end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let after = &rest[auth_end..];
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
        _ => host,
    };
    let host = host.trim_end_matches('.');
    if host.is_empty()
        || !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_')
    {
        return None;
    }
    let mut host = host.to_ascii_lowercase();
    if let Some(h) = host.strip_prefix("www.") {
        host = h.to_string();
    }
    let (before_frag, fragment) = match after.find('#') {
        Some(i) => (&after[..i], &after[i + 1..]),
        None => (after, ""),
    };
    let (path, query) = match before_frag.find('?') {
        Some(i) => (&before_frag[..i], &before_frag[i + 1..]),
        None => (before_frag, ""),
    };
    Some(UrlParts {
        host,
        path,
        query,
        fragment,
    })
}

fn host_is(host: &str, owned: &str) -> bool {
    host == owned
        || (host.len() > owned.len()
            && host.ends_with(owned)
            && host.as_bytes()[host.len() - owned.len() - 1] == b'.')
}

/// Classifies any URL (or `at://` URI) an article contains.
pub fn classify_url(s: &str) -> Option<UrlMatch> {
    let s = s.trim();
    if s.len() > 4096 {
        return None;
    }
    if let Some(p) = twitter_app_link(s) {
        return Some(UrlMatch::Post(Provider::Twitter, p));
    }
    if let Some(p) = bluesky_at_uri(s) {
        return Some(UrlMatch::Post(Provider::Bluesky, p));
    }
    let parts = split_url(s)?;
    if SHORT_LINK_HOSTS.contains(&parts.host.as_str()) {
        let code = parts.path.trim_matches('/');
        if !code.is_empty() && code.len() <= 32 && code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some(UrlMatch::ShortLink(format!("{}/{}", parts.host, code)));
        }
        return None;
    }
    for spec in PROVIDERS {
        let owned = if spec.hosts.is_empty() {
            // Mastodon: any host that no other row owns.
            !PROVIDERS
                .iter()
                .any(|o| o.hosts.iter().any(|h| host_is(&parts.host, h)))
        } else {
            spec.hosts.iter().any(|h| host_is(&parts.host, h))
                || extra_host(spec.provider, &parts.host)
        };
        if owned {
            return (spec.parse)(&parts).map(|p| UrlMatch::Post(spec.provider, p));
        }
    }
    None
}

/// Nitter-style instances live on many hosts; their names say so.
fn extra_host(provider: Provider, host: &str) -> bool {
    provider == Provider::Twitter && host.split('.').any(|label| label.starts_with("nitter"))
}

fn digits(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
}

fn token(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A tweet id: decimal digits that fit a u64.
fn tweet_id(s: &str) -> Option<&str> {
    // `/status/123.jpg` (FixTweet direct media) names the same post.
    let s = s.split('.').next().unwrap_or(s);
    (digits(s, 20) && s.parse::<u64>().is_ok()).then_some(s)
}

/// A handle as X allows them today: 1–15 of `[A-Za-z0-9_]` (without `@`).
pub fn is_x_handle(h: &str) -> bool {
    !h.is_empty() && h.len() <= 15 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn valid_handle(s: &str) -> bool {
    !s.is_empty() && s.len() <= 50 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn twitter_post(handle: Option<&str>, id: &str) -> PostUrl {
    let handle = handle.filter(|h| valid_handle(h) && !h.eq_ignore_ascii_case("i"));
    PostUrl {
        id: id.to_string(),
        url: match handle {
            Some(h) => format!("https://twitter.com/{h}/status/{id}"),
            None => format!("https://twitter.com/i/status/{id}"),
        },
        handle: handle.map(str::to_string),
    }
}

/// `twitter://status?id=ID`, the app link.
fn twitter_app_link(s: &str) -> Option<PostUrl> {
    let rest = s
        .get(..10)
        .filter(|p| p.eq_ignore_ascii_case("twitter://"))
        .map(|_| &s[10..])?;
    let (host, query) = rest.split_once('?')?;
    if !host.eq_ignore_ascii_case("status") {
        return None;
    }
    let id = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "id")?
        .1;
    twitter_id(&id)
}

fn twitter_id(id: &str) -> Option<PostUrl> {
    tweet_id(id.trim()).map(|id| twitter_post(None, id))
}

fn twitter_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    // `/#!/user/status/id`: the path lives in the fragment.
    let path = if u.path.trim_matches('/').is_empty() {
        u.fragment.strip_prefix('!').unwrap_or("")
    } else {
        u.path
    };
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        [i, web, status, id, ..]
            if i.eq_ignore_ascii_case("i")
                && web.eq_ignore_ascii_case("web")
                && status.eq_ignore_ascii_case("status") =>
        {
            tweet_id(id).map(|id| twitter_post(None, id))
        }
        [i, status, id, ..]
            if i.eq_ignore_ascii_case("i") && status.eq_ignore_ascii_case("status") =>
        {
            tweet_id(id).map(|id| twitter_post(None, id))
        }
        [i, videos, tweet, id, ..]
            if i.eq_ignore_ascii_case("i")
                && videos.eq_ignore_ascii_case("videos")
                && tweet.eq_ignore_ascii_case("tweet") =>
        {
            tweet_id(id).map(|id| twitter_post(None, id))
        }
        [embed, page]
            if embed.eq_ignore_ascii_case("embed")
                && page.to_ascii_lowercase().ends_with(".html") =>
        {
            let id = u.query_param("id")?;
            tweet_id(&id).map(|id| twitter_post(None, id))
        }
        [user, status, id, ..]
            if status.eq_ignore_ascii_case("status") || status.eq_ignore_ascii_case("statuses") =>
        {
            let user = user.strip_prefix('@').unwrap_or(user);
            if !valid_handle(user) {
                return None;
            }
            tweet_id(id).map(|id| twitter_post(Some(user), id))
        }
        _ => None,
    }
}

fn youtube_id(id: &str) -> Option<PostUrl> {
    let id = id.trim();
    (id.len() == 11 && token(id, 11) && id != "videoseries").then(|| PostUrl {
        id: id.to_string(),
        url: format!("https://www.youtube.com/watch?v={id}"),
        handle: None,
    })
}

fn youtube_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    let segs = u.segments();
    if u.host == "youtu.be" {
        return youtube_id(segs.first()?);
    }
    match segs.as_slice() {
        [watch] if *watch == "watch" => youtube_id(&u.query_param("v")?),
        [kind, id, ..] if ["embed", "shorts", "v", "live", "e"].contains(kind) => youtube_id(id),
        _ => None,
    }
}

fn instagram_post(kind: &str, code: &str) -> Option<PostUrl> {
    token(code, 64).then(|| PostUrl {
        id: code.to_string(),
        url: format!("https://www.instagram.com/{kind}/{code}/"),
        handle: None,
    })
}

fn instagram_id(id: &str) -> Option<PostUrl> {
    instagram_post("p", id.trim())
}

fn instagram_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    let segs = u.segments();
    let kinds = ["p", "reel", "reels", "tv"];
    match segs.as_slice() {
        [kind, code, ..] if kinds.contains(kind) => {
            instagram_post(if *kind == "reels" { "reel" } else { kind }, code)
        }
        [_user, kind, code, ..] if kinds.contains(kind) => {
            instagram_post(if *kind == "reels" { "reel" } else { kind }, code)
        }
        _ => None,
    }
}

fn tiktok_id(id: &str) -> Option<PostUrl> {
    let id = id.trim();
    digits(id, 25).then(|| PostUrl {
        id: id.to_string(),
        url: format!("https://www.tiktok.com/embed/v2/{id}"),
        handle: None,
    })
}

fn tiktok_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    let segs = u.segments();
    match segs.as_slice() {
        [user, kind, id, ..] if user.starts_with('@') && (*kind == "video" || *kind == "photo") => {
            let handle = &user[1..];
            digits(id, 25).then(|| PostUrl {
                id: id.to_string(),
                url: format!("https://www.tiktok.com/{user}/video/{id}"),
                handle: Some(handle.to_string()),
            })
        }
        [embed, v2, id, ..] if *embed == "embed" && *v2 == "v2" => tiktok_id(id),
        [embed, id, ..] if *embed == "embed" => tiktok_id(id),
        _ => None,
    }
}

fn no_id(_: &str) -> Option<PostUrl> {
    None
}

fn bluesky_rkey(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 512
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'~' | b'-'))
}

fn bluesky_actor(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A Bluesky post's id is `ACTOR/RKEY`: the account's DID (`did:plc:…`) and
/// the record key, so two accounts' posts with one rkey stay apart. An id
/// whose actor is a handle (`alice.bsky.social/3k…`) names the post only
/// until the handle is resolved to its DID (`capture::bluesky`).
fn bluesky_post(actor: &str, rkey: &str) -> Option<PostUrl> {
    let actor = if actor.starts_with("did:") {
        actor.to_string()
    } else {
        actor.to_ascii_lowercase()
    };
    let actor = actor.as_str();
    (bluesky_actor(actor) && bluesky_rkey(rkey)).then(|| PostUrl {
        id: format!("{actor}/{rkey}"),
        url: format!("https://bsky.app/profile/{actor}/post/{rkey}"),
        handle: (!actor.starts_with("did:")).then(|| actor.to_string()),
    })
}

/// A Bluesky post id (`DID/RKEY`, or `HANDLE/RKEY` before resolution).
fn bluesky_id(id: &str) -> Option<PostUrl> {
    let (actor, rkey) = id.split_once('/')?;
    bluesky_post(actor, rkey)
}

/// `at://did:plc:…/app.bsky.feed.post/rkey`.
pub fn bluesky_at_uri(s: &str) -> Option<PostUrl> {
    let rest = s.strip_prefix("at://")?;
    let mut it = rest.split('/');
    let actor = it.next()?;
    let collection = it.next()?;
    let rkey = it.next()?.split(['?', '#']).next()?;
    (collection == "app.bsky.feed.post").then(|| bluesky_post(actor, rkey))?
}

fn bluesky_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    let segs = u.segments();
    match segs.as_slice() {
        [profile, actor, post, rkey, ..] if *profile == "profile" && *post == "post" => {
            bluesky_post(actor, rkey)
        }
        [embed, actor, coll, rkey, ..] if *embed == "embed" && *coll == "app.bsky.feed.post" => {
            bluesky_post(actor, rkey)
        }
        _ => None,
    }
}

fn threads_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    let segs = u.segments();
    match segs.as_slice() {
        [user, post, code, ..] if user.starts_with('@') && *post == "post" && token(code, 64) => {
            Some(PostUrl {
                id: code.to_string(),
                url: format!("https://www.threads.net/{user}/post/{code}"),
                handle: Some(user[1..].to_string()),
            })
        }
        [t, code, ..] if *t == "t" && token(code, 64) => Some(PostUrl {
            id: code.to_string(),
            url: format!("https://www.threads.net/t/{code}"),
            handle: None,
        }),
        _ => None,
    }
}

/// A Threads post by its code alone: `/t/CODE`, which Threads answers for any author.
fn threads_id(id: &str) -> Option<PostUrl> {
    let id = id.trim();
    token(id, 64).then(|| PostUrl {
        id: id.to_string(),
        url: format!("https://www.threads.net/t/{id}"),
        handle: None,
    })
}

/// A Reddit post by its base-36 id alone: `/comments/ID/`, which Reddit
/// answers without the subreddit.
fn reddit_id(id: &str) -> Option<PostUrl> {
    let id = id.trim();
    (!id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric())).then(|| {
        PostUrl {
            id: id.to_string(),
            url: format!("https://www.reddit.com/comments/{id}/"),
            handle: None,
        }
    })
}

fn facebook_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    let segs = u.segments();
    let fb = |id: String, url: String| {
        token(&id, 64).then_some(PostUrl {
            id,
            url,
            handle: None,
        })
    };
    match segs.as_slice() {
        [plugins, page]
            if *plugins == "plugins" && (*page == "post.php" || *page == "video.php") =>
        {
            let href = u.query_param("href")?;
            let inner = split_url(&href)?;
            if !host_is(&inner.host, "facebook.com") || inner.path.starts_with("/plugins") {
                return None;
            }
            facebook_url(&inner)
        }
        [page] if *page == "photo.php" || *page == "photo" => {
            let id = u.query_param("fbid")?;
            fb(
                id.clone(),
                format!("https://www.facebook.com/photo.php?fbid={id}"),
            )
        }
        [page] if *page == "permalink.php" || *page == "story.php" => {
            let id = u.query_param("story_fbid")?;
            let owner = u.query_param("id").unwrap_or_default();
            fb(
                id.clone(),
                format!("https://www.facebook.com/permalink.php?story_fbid={id}&id={owner}"),
            )
        }
        [watch] if *watch == "watch" => {
            let id = u.query_param("v")?;
            fb(
                id.clone(),
                format!("https://www.facebook.com/watch/?v={id}"),
            )
        }
        [owner, kind, rest @ ..]
            if ["posts", "videos", "photos"].contains(kind) && !rest.is_empty() =>
        {
            // `/page/videos/123/`, `/page/videos/title/123/`, `/page/photos/a.1/123/`
            let id = if *kind == "posts" {
                rest[0]
            } else {
                rest.iter().rev().find(|s| digits(s, 30))?
            };
            fb(
                id.to_string(),
                format!("https://www.facebook.com/{owner}/{kind}/{id}/"),
            )
        }
        _ => None,
    }
}

fn reddit_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    let segs = u.segments();
    let ok = |id: &str| {
        !id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric())
    };
    if u.host == "redd.it" {
        let id = segs.first()?;
        return ok(id).then(|| PostUrl {
            id: id.to_string(),
            url: format!("https://www.reddit.com/comments/{id}/"),
            handle: None,
        });
    }
    match segs.as_slice() {
        [r, sub, comments, id, ..]
            if *r == "r" && *comments == "comments" && ok(id) && token(sub, 64) =>
        {
            Some(PostUrl {
                id: id.to_string(),
                url: format!("https://www.reddit.com/r/{sub}/comments/{id}/"),
                handle: None,
            })
        }
        _ => None,
    }
}

/// A Mastodon status URL: `https://HOST/@user/ID`, `https://HOST/users/user/statuses/ID`,
/// or a remote status as another instance shows it, `https://HOST/@user@origin.example/ID`.
/// The post is `HOST/ID`: the id is HOST's own (a remote status has another id
/// on its origin, which only HOST's answer gives).
fn mastodon_url(u: &UrlParts<'_>) -> Option<PostUrl> {
    if !u.host.contains('.') {
        return None;
    }
    let segs = u.segments();
    let (user, raw_id) = match segs.as_slice() {
        [user, id, ..] if user.len() > 1 && user.starts_with('@') => (&user[1..], *id),
        [users, user, statuses, id, ..] if *users == "users" && *statuses == "statuses" => {
            (*user, *id)
        }
        _ => return None,
    };
    // Tolerate junk glued to the id, as in the wild `…/111725444131565682>/embed`.
    let end = raw_id
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(raw_id.len());
    let (id, junk) = raw_id.split_at(end);
    // Only a stray `>` may follow the id; `-slug` means a blog post (Medium…).
    if !digits(id, 20) || !(junk.is_empty() || junk.starts_with('>')) {
        return None;
    }
    // `user` or, for a remote account, `user@origin.example`.
    let (name, origin) = match user.split_once('@') {
        Some((name, origin)) => (name, Some(origin)),
        None => (user, None),
    };
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    };
    if !name_ok(name) || !origin.is_none_or(is_instance_host) {
        return None;
    }
    let origin = origin.map(str::to_ascii_lowercase);
    Some(PostUrl {
        id: format!("{}/{id}", u.host),
        url: format!("https://{}/@{user}/{id}", u.host),
        handle: Some(format!("{name}@{}", origin.as_deref().unwrap_or(&u.host))),
    })
}

/// A Mastodon post from its label's id, `HOST/ID`.
fn mastodon_id(s: &str) -> Option<PostUrl> {
    let (host, id) = split_mastodon_id(s)?;
    Some(PostUrl {
        id: format!("{host}/{id}"),
        // Mastodon's web app shows any status by id there (no user needed).
        url: format!("https://{host}/web/statuses/{id}"),
        handle: None,
    })
}

/// `HOST/ID` of a Mastodon post: a host name (letters, digits, `-`, `.`,
/// with a dot) and the instance's decimal id.
pub fn split_mastodon_id(s: &str) -> Option<(&str, &str)> {
    let (host, id) = s.split_once('/')?;
    (is_instance_host(host) && digits(id, 20)).then_some((host, id))
}

/// Whether `h` can be a Mastodon instance's host name: lowercase-insensitive
/// letters, digits, `-` and `.`, with a dot, at most 253 characters, no empty label.
pub fn is_instance_host(h: &str) -> bool {
    h.len() <= 253
        && h.contains('.')
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// A handle as its platform writes it, checked: X's `[A-Za-z0-9_]{1,15}`;
/// Mastodon's `user@host`; for other platforms letters, digits and `_.-`
/// (a Bluesky handle is a host name), at most 100 characters.
pub fn is_handle(provider: Provider, h: &str) -> bool {
    match provider {
        Provider::Twitter => is_x_handle(h),
        Provider::Mastodon => h.split_once('@').is_some_and(|(name, host)| {
            !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
                && is_instance_host(host)
        }),
        _ => {
            !h.is_empty()
                && h.len() <= 100
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        }
    }
}

/// The site a card names and links for a post: X for X; for Mastodon the
/// instance the post lives on (its permalink's host). One place, so cards
/// of every provider say "Read on …" the same way.
pub fn site(provider: Provider, post_url: Option<&str>) -> (String, Option<String>) {
    match provider {
        Provider::Twitter => ("X".into(), Some("https://x.com/".into())),
        Provider::Mastodon => match post_url.and_then(split_url).map(|u| u.host) {
            Some(host) if is_instance_host(&host) => {
                let link = format!("https://{host}/");
                (host, Some(link))
            }
            _ => ("Mastodon".into(), None),
        },
        Provider::Bluesky => ("Bluesky".into(), Some("https://bsky.app/".into())),
        Provider::Instagram => (
            "Instagram".into(),
            Some("https://www.instagram.com/".into()),
        ),
        Provider::Threads => ("Threads".into(), Some("https://www.threads.net/".into())),
        Provider::Facebook => ("Facebook".into(), Some("https://www.facebook.com/".into())),
        Provider::Reddit => ("Reddit".into(), Some("https://www.reddit.com/".into())),
        p => (p.display_name().to_string(), None),
    }
}

/// Needles that locate URLs of known providers in running text (matched
/// ASCII-case-insensitively). A match is then widened to the whole URL.
pub fn url_needles() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = PROVIDERS
        .iter()
        .flat_map(|s| s.hosts.iter().copied())
        .collect();
    v.extend(["t.co/", "/@", "/users/", "at://", "nitter", "twitter://"]);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn post(s: &str) -> Option<(Provider, String)> {
        match classify_url(s)? {
            UrlMatch::Post(p, u) => Some((p, u.id)),
            UrlMatch::ShortLink(_) => None,
        }
    }

    fn tw(s: &str) -> Option<String> {
        post(s)
            .filter(|(p, _)| *p == Provider::Twitter)
            .map(|(_, id)| id)
    }

    #[test]
    fn twitter_forms() {
        let id = Some("1453110110599868418".to_string());
        for u in [
            "https://twitter.com/SanDiegoZoo/status/1453110110599868418",
            "http://www.twitter.com/SanDiegoZoo/statuses/1453110110599868418",
            "https://mobile.twitter.com/SanDiegoZoo/status/1453110110599868418?s=20&t=abc",
            "https://x.com/SanDiegoZoo/status/1453110110599868418/photo/1",
            "https://x.com/SanDiegoZoo/status/1453110110599868418/video/2#frag",
            "twitter.com/i/web/status/1453110110599868418",
            "https://x.com/i/status/1453110110599868418",
            "https://twitter.com/#!/SanDiegoZoo/status/1453110110599868418",
            "https://fxtwitter.com/SanDiegoZoo/status/1453110110599868418",
            "https://d.fxtwitter.com/SanDiegoZoo/status/1453110110599868418.jpg",
            "https://vxtwitter.com/SanDiegoZoo/status/1453110110599868418",
            "https://fixupx.com/SanDiegoZoo/status/1453110110599868418",
            "https://fixvx.com/SanDiegoZoo/status/1453110110599868418",
            "https://twittpr.com/SanDiegoZoo/status/1453110110599868418",
            "https://nitter.net/SanDiegoZoo/status/1453110110599868418#m",
            "https://nitter.poast.org/SanDiegoZoo/status/1453110110599868418",
            "https://twitter.com/@SanDiegoZoo/status/1453110110599868418",
            "https://platform.twitter.com/embed/Tweet.html?dnt=true&id=1453110110599868418&lang=en",
            "HTTPS://TWITTER.COM/SanDiegoZoo/STATUS/1453110110599868418",
        ] {
            assert_eq!(tw(u), id, "{u}");
        }
    }

    #[test]
    fn twitter_non_posts() {
        for u in [
            "https://twitter.com/intent/tweet?text=hi&url=https://x.com/a/status/1",
            "https://twitter.com/intent/retweet?tweet_id=1453110110599868418",
            "https://twitter.com/intent/like?tweet_id=1453110110599868418",
            "https://twitter.com/share?url=x",
            "https://twitter.com/SanDiegoZoo",
            "https://twitter.com/hashtag/zoo?src=hash",
            "https://twitter.com/search?q=zoo",
            "https://twitter.com/i/lists/123",
            "https://platform.twitter.com/widgets.js",
            "https://netflix.com/a/status/123",
            "https://twitter.com/a/status/99999999999999999999999",
        ] {
            assert_eq!(tw(u), None, "{u}");
        }
    }

    #[test]
    fn short_links() {
        assert_eq!(
            classify_url("https://t.co/jv62WkI9lr"),
            Some(UrlMatch::ShortLink("t.co/jv62WkI9lr".into()))
        );
        assert_eq!(
            classify_url("pic.twitter.com/4ZECodSK78"),
            Some(UrlMatch::ShortLink("pic.twitter.com/4ZECodSK78".into()))
        );
        assert_eq!(
            classify_url("https://pic.x.com/AbC123"),
            Some(UrlMatch::ShortLink("pic.x.com/AbC123".into()))
        );
        assert_eq!(classify_url("https://t.co/"), None);
    }

    #[test]
    fn other_providers() {
        let cases = [
            (
                "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=1",
                Provider::Youtube,
                "dQw4w9WgXcQ",
            ),
            (
                "https://youtu.be/dQw4w9WgXcQ",
                Provider::Youtube,
                "dQw4w9WgXcQ",
            ),
            (
                "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?rel=0",
                Provider::Youtube,
                "dQw4w9WgXcQ",
            ),
            (
                "https://youtube.com/shorts/dQw4w9WgXcQ",
                Provider::Youtube,
                "dQw4w9WgXcQ",
            ),
            (
                "https://www.instagram.com/p/BMokmydjG-M/?utm_source=ig_embed",
                Provider::Instagram,
                "BMokmydjG-M",
            ),
            (
                "http://instagr.am/p/xBDah_AR2M/",
                Provider::Instagram,
                "xBDah_AR2M",
            ),
            (
                "https://www.instagram.com/reel/Cabc123/",
                Provider::Instagram,
                "Cabc123",
            ),
            (
                "https://www.tiktok.com/@scout2015/video/6718335390845095173",
                Provider::Tiktok,
                "6718335390845095173",
            ),
            (
                "https://bsky.app/profile/did:plc:abc/post/3lawelexzwk2w",
                Provider::Bluesky,
                "did:plc:abc/3lawelexzwk2w",
            ),
            (
                "at://did:plc:abc/app.bsky.feed.post/3lawelexzwk2w",
                Provider::Bluesky,
                "did:plc:abc/3lawelexzwk2w",
            ),
            (
                "https://fosstodon.org/@HeidiSeibold/111725444131565682>/embed",
                Provider::Mastodon,
                "fosstodon.org/111725444131565682",
            ),
            (
                "https://mastodon.social/users/Gargron/statuses/99664077509711321",
                Provider::Mastodon,
                "mastodon.social/99664077509711321",
            ),
            (
                "https://fosstodon.org/@simonpcouch@rstats.me/114870142263126875",
                Provider::Mastodon,
                "fosstodon.org/114870142263126875",
            ),
            (
                "https://www.threads.net/@zuck/post/C1abcDEF",
                Provider::Threads,
                "C1abcDEF",
            ),
            (
                "https://www.facebook.com/Sozialdemokratie/posts/928812574504508/",
                Provider::Facebook,
                "928812574504508",
            ),
            (
                "https://www.facebook.com/plugins/post.php?href=https%3A%2F%2Fwww.facebook.com%2Fphoto.php%3Ffbid%3D10207393772231779%26set%3Da.1%26type%3D3&width=500",
                Provider::Facebook,
                "10207393772231779",
            ),
            (
                "https://www.reddit.com/r/rust/comments/abc123/some_title/",
                Provider::Reddit,
                "abc123",
            ),
        ];
        for (u, p, id) in cases {
            assert_eq!(post(u), Some((p, id.to_string())), "{u}");
        }
        assert_eq!(
            post("https://medium.com/@johncwelch/samantha-d146a92473a1"),
            None
        );
        assert_eq!(
            post("https://www.youtube.com/embed/videoseries?list=PL1"),
            None
        );
        assert_eq!(post("https://www.instagram.com/natgeo/"), None);
    }
}
