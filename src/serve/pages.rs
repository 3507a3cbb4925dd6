//! The browse pages: `/` (posts newest capture first, filtered and paginated,
//! and the articles), `/post/PROVIDER/ID` (the card, every capture with its
//! record's digest and source, the citing articles, Memento links) and
//! `/article?name=` (an article's posts). Plain HTML through askama
//! templates, which escape every value; no script; the stylesheet is
//! render's. Each post page names its oEmbed answer for discovery.

use super::catalog::{CaptureEntry, Filter, PostEntry};
use super::{AppState, blocking, encode, memento};
use crate::embed::Provider;
use crate::post::PostId;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;

/// What a page may load: itself, its stylesheet and its media; no script.
const PAGE_CSP: &str = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'self'; base-uri 'none'";

const OUTCOMES: &[&str] = &["ok", "tombstone", "not_found", "protected", "failed"];

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>{{ title }} · embarc archive</title>
<link rel="stylesheet" href="/embarc.css">
{% if let Some(o) = oembed %}<link rel="alternate" type="application/json+oembed" href="{{ o }}" title="{{ title }}">
{% endif %}{% if let Some(t) = timemap %}<link rel="timemap" type="application/link-format" href="{{ t }}">
{% endif %}<style>
body{margin:0 auto;padding:12px 16px;max-width:980px;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
nav.top{display:flex;gap:1em;align-items:baseline;border-bottom:1px solid #8884;padding-bottom:6px}
nav.top a{font-weight:600;text-decoration:none}
table{border-collapse:collapse;width:100%;margin:.5em 0 1em}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #8883;vertical-align:top;overflow-wrap:anywhere}
td time{white-space:nowrap}
td.n{text-align:right}
code{font-size:12px;word-break:break-all}
form.filters{display:flex;flex-wrap:wrap;gap:.5em 1em;align-items:end;margin:.8em 0}
form.filters label{display:flex;flex-direction:column;font-size:13px}
.o-ok{color:#1a7f37}.o-tombstone,.o-not_found,.o-protected{color:#b35900}.o-failed{color:#cf222e}
.pager{display:flex;gap:1em}
.notice{padding:8px 12px;border:1px solid #8886;border-radius:8px}
</style></head>
<body><nav class="top"><a href="/">embarc archive</a><span>{{ posts_total }} post{% if posts_total != 1 %}s{% endif %} · {{ articles_total }} article{% if articles_total != 1 %}s{% endif %}</span></nav>
<main>{{ main|safe }}</main></body></html>
"#
)]
struct Layout<'a> {
    title: &'a str,
    oembed: Option<String>,
    timemap: Option<String>,
    posts_total: usize,
    articles_total: usize,
    main: String,
}

struct PostRow {
    href: String,
    label: String,
    handle: Option<String>,
    author: Option<String>,
    latest: String,
    outcome: &'static str,
    captures: usize,
}

struct ArticleRow {
    href: String,
    name: String,
    posts: usize,
    archived: String,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<h1>Posts</h1>
<form class="filters" method="get" action="/">
<label>Platform<select name="provider"><option value="">any</option>{% for (p, on) in providers %}<option value="{{ p }}"{% if *on %} selected{% endif %}>{{ p }}</option>{% endfor %}</select></label>
<label>Handle<input name="handle" value="{{ handle }}" size="16"></label>
<label>Article<input name="article" value="{{ article }}" size="28"></label>
<label>Latest outcome<select name="outcome"><option value="">any</option>{% for (o, on) in outcomes %}<option value="{{ o }}"{% if *on %} selected{% endif %}>{{ o }}</option>{% endfor %}</select></label>
<button type="submit">Filter</button>{% if filtered %} <a href="/">clear</a>{% endif %}
</form>
<p>{{ matched }} post{% if matched != 1 %}s{% endif %}{% if pages > 1 %}, page {{ page }} of {{ pages }}{% endif %}.</p>
{% if !rows.is_empty() %}<table class="posts"><thead><tr><th>Post</th><th>Author</th><th>Latest capture</th><th>Outcome</th><th class="n">Captures</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="{{ r.href }}">{{ r.label }}</a></td><td>{% if let Some(a) = r.author %}{{ a }} {% endif %}{% if let Some(h) = r.handle %}@{{ h }}{% endif %}</td><td><time>{{ r.latest }}</time></td><td class="o-{{ r.outcome }}">{{ r.outcome }}</td><td class="n">{{ r.captures }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
<p class="pager">{% if let Some(p) = prev %}<a href="{{ p }}" rel="prev">← newer</a>{% endif %}{% if let Some(n) = next %}<a href="{{ n }}" rel="next">older →</a>{% endif %}</p>
<h2>Articles</h2>
{% if articles.is_empty() %}<p>No article recorded.</p>{% else %}<table class="articles"><thead><tr><th>Article</th><th class="n">Posts</th><th>Last archived</th></tr></thead><tbody>
{% for a in articles %}<tr><td><a href="{{ a.href }}">{{ a.name }}</a></td><td class="n">{{ a.posts }}</td><td>{{ a.archived }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
<p class="pager">{% if let Some(p) = aprev %}<a href="{{ p }}">← previous articles</a>{% endif %}{% if let Some(n) = anext %}<a href="{{ n }}">more articles →</a>{% endif %}</p>
"#
)]
struct IndexPage {
    providers: Vec<(&'static str, bool)>,
    outcomes: Vec<(&'static str, bool)>,
    handle: String,
    article: String,
    filtered: bool,
    matched: usize,
    page: usize,
    pages: usize,
    rows: Vec<PostRow>,
    prev: Option<String>,
    next: Option<String>,
    articles: Vec<ArticleRow>,
    aprev: Option<String>,
    anext: Option<String>,
}

struct CaptureRow {
    when: String,
    iso: String,
    outcome: &'static str,
    source: String,
    digest: String,
    memento: Option<String>,
    current: bool,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<h1>{{ label }}</h1>
{% if let Some(n) = notice %}<p class="notice">{{ n }}{% for (text, href) in nav %} · <a href="{{ href }}">{{ text }}</a>{% endfor %}</p>{% endif %}
<p>Original: <a href="{{ original }}" rel="noopener noreferrer nofollow">{{ original }}</a></p>
{% if let Some(c) = card %}{{ c|safe }}{% else %}<p class="notice">No capture up to this one holds the post's content.</p>{% endif %}
<h2>Captures</h2>
<table class="captures"><thead><tr><th>Captured</th><th>Outcome</th><th>Source</th><th>Record (SHA-256)</th></tr></thead><tbody>
{% for c in captures %}<tr{% if c.current %} aria-current="true"{% endif %}><td>{% if let Some(m) = c.memento %}<a href="{{ m }}"><time datetime="{{ c.iso }}">{{ c.when }}</time></a>{% else %}<time datetime="{{ c.iso }}">{{ c.when }}</time>{% endif %}</td><td class="o-{{ c.outcome }}">{{ c.outcome }}</td><td>{{ c.source }}</td><td><code>{{ c.digest }}</code></td></tr>
{% endfor %}</tbody></table>
{% if !articles.is_empty() %}<h2>Cited by</h2><ul>{% for a in articles %}<li><a href="{{ a.href }}">{{ a.name }}</a></li>{% endfor %}</ul>{% endif %}
<h2>Over time</h2>
<p><a href="{{ timemap }}" type="application/link-format">TimeMap</a> · <a href="{{ timegate }}">TimeGate</a> (Memento, RFC 7089) · <a href="{{ oembed }}">oEmbed</a></p>
"#
)]
struct PostPage {
    label: String,
    original: String,
    notice: Option<String>,
    nav: Vec<(String, String)>,
    card: Option<String>,
    captures: Vec<CaptureRow>,
    articles: Vec<ArticleRow>,
    timemap: String,
    timegate: String,
    oembed: String,
}

#[derive(Template)]
#[template(
    ext = "html",
    source = r#"<h1>{{ name }}</h1>
<p>Archived {{ archivings }} time{% if archivings != 1 %}s{% endif %}, last {{ archived }}; it cites {{ rows.len() }} post{% if rows.len() != 1 %}s{% endif %}.</p>
<table class="posts"><thead><tr><th>Post</th><th>Author</th><th>Latest capture</th><th>Outcome</th><th class="n">Captures</th></tr></thead><tbody>
{% for r in rows %}<tr><td>{% if r.href.is_empty() %}{{ r.label }}{% else %}<a href="{{ r.href }}">{{ r.label }}</a>{% endif %}</td><td>{% if let Some(a) = r.author %}{{ a }} {% endif %}{% if let Some(h) = r.handle %}@{{ h }}{% endif %}</td><td><time>{{ r.latest }}</time></td><td class="o-{{ r.outcome }}">{{ r.outcome }}</td><td class="n">{{ r.captures }}</td></tr>
{% endfor %}</tbody></table>
"#
)]
struct ArticlePage {
    name: String,
    archivings: usize,
    archived: String,
    rows: Vec<PostRow>,
}

/// `2023-03-31 18:05 UTC`.
fn when(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

fn iso(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// `/post/PROVIDER/ID`, the id's characters outside the URL-safe set escaped.
pub(crate) fn post_href(id: &PostId) -> String {
    let mut out = format!("/post/{}/", id.provider.as_str());
    for b in id.id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn article_href(name: &str) -> String {
    format!("/article?name={}", encode(name))
}

fn row(p: &PostEntry) -> PostRow {
    let latest = p.latest();
    PostRow {
        href: post_href(&p.id),
        label: p.id.label(),
        handle: p.handle.clone(),
        author: p.author.clone(),
        latest: latest.map(|c| when(c.at)).unwrap_or_default(),
        outcome: latest.map_or("", |c| c.outcome.as_str()),
        captures: p.captures.len(),
    }
}

fn page(
    s: &super::Shared,
    title: &str,
    oembed: Option<String>,
    timemap: Option<String>,
    main: String,
) -> Response {
    let catalog = s.catalog();
    let html = Layout {
        title,
        oembed,
        timemap,
        posts_total: catalog.len(),
        articles_total: catalog.articles().len(),
        main,
    }
    .render();
    html_response(html)
}

fn html_response(html: askama::Result<String>) -> Response {
    match html {
        Ok(h) => {
            let mut r = (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                h,
            )
                .into_response();
            r.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(PAGE_CSP),
            );
            r
        }
        Err(e) => super::plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[derive(Template)]
#[template(ext = "html", source = "<h1>Not found</h1>\n<p>{{ what }}</p>\n")]
struct NotFoundPage<'a> {
    what: &'a str,
}

fn not_found_page(s: &super::Shared, what: &str) -> Response {
    let main = NotFoundPage { what }.render().unwrap_or_default();
    let mut r = page(s, "Not found", None, None, main);
    *r.status_mut() = StatusCode::NOT_FOUND;
    r
}

/// The query of `/`.
#[derive(Debug, Deserialize, Default)]
pub(crate) struct IndexQuery {
    provider: Option<String>,
    handle: Option<String>,
    article: Option<String>,
    outcome: Option<String>,
    page: Option<usize>,
    apage: Option<usize>,
}

fn some(v: &Option<String>) -> Option<String> {
    v.as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

pub(crate) async fn index(State(s): State<AppState>, Query(q): Query<IndexQuery>) -> Response {
    let catalog = s.catalog();
    let filter = Filter {
        provider: some(&q.provider),
        handle: some(&q.handle),
        article: some(&q.article),
        outcome: some(&q.outcome),
    };
    let size = s.config.page_size.max(1);
    let matched = catalog.select(&filter).count();
    let pages = matched.div_ceil(size).max(1);
    let page_no = q.page.unwrap_or(1).clamp(1, pages);
    let rows: Vec<PostRow> = catalog
        .select(&filter)
        .skip((page_no - 1) * size)
        .take(size)
        .map(row)
        .collect();
    let link = |p: usize, ap: usize| {
        let mut parts = Vec::new();
        for (k, v) in [
            ("provider", &filter.provider),
            ("handle", &filter.handle),
            ("article", &filter.article),
            ("outcome", &filter.outcome),
        ] {
            if let Some(v) = v {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if p > 1 {
            parts.push(format!("page={p}"));
        }
        if ap > 1 {
            parts.push(format!("apage={ap}"));
        }
        if parts.is_empty() {
            "/".to_string()
        } else {
            format!("/?{}", parts.join("&"))
        }
    };
    let a_total = catalog.articles().len();
    let a_pages = a_total.div_ceil(size).max(1);
    let a_page = q.apage.unwrap_or(1).clamp(1, a_pages);
    let articles = catalog
        .articles()
        .skip((a_page - 1) * size)
        .take(size)
        .map(|a| ArticleRow {
            href: article_href(&a.name),
            name: a.name.clone(),
            posts: a.posts.len(),
            archived: when(a.archived_at),
        })
        .collect();
    let main = IndexPage {
        providers: catalog
            .providers()
            .into_iter()
            .map(|p| (p, filter.provider.as_deref() == Some(p)))
            .collect(),
        outcomes: OUTCOMES
            .iter()
            .map(|o| (*o, filter.outcome.as_deref() == Some(*o)))
            .collect(),
        handle: filter.handle.clone().unwrap_or_default(),
        article: filter.article.clone().unwrap_or_default(),
        filtered: filter.provider.is_some()
            || filter.handle.is_some()
            || filter.article.is_some()
            || filter.outcome.is_some(),
        matched,
        page: page_no,
        pages,
        rows,
        prev: (page_no > 1).then(|| link(page_no - 1, a_page)),
        next: (page_no < pages).then(|| link(page_no + 1, a_page)),
        articles,
        aprev: (a_page > 1).then(|| link(page_no, a_page - 1)),
        anext: (a_page < a_pages).then(|| link(page_no, a_page + 1)),
    }
    .render();
    match main {
        Ok(m) => page(&s, "Posts", None, None, m),
        Err(e) => super::plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

pub(crate) async fn stylesheet() -> Response {
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        crate::render::STYLESHEET,
    )
        .into_response();
    r.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

fn oembed_href(base: &str, id: &PostId) -> String {
    format!(
        "{base}/oembed?url={}&format=json",
        encode(&memento::original(id))
    )
}

/// The post page, or a memento page when `at` names one of its captures.
fn post_page(
    s: &super::Shared,
    entry: &PostEntry,
    card: Option<&super::Card>,
    at: Option<(&CaptureEntry, &[&CaptureEntry], usize)>,
) -> Response {
    let id = &entry.id;
    let base = &s.config.base_url;
    let captures = entry
        .captures
        .iter()
        .map(|c| CaptureRow {
            when: when(c.at),
            iso: iso(c.at),
            outcome: c.outcome.as_str(),
            source: c.source.clone().unwrap_or_default(),
            digest: c.digest.hex(),
            memento: c.observed().then(|| memento::memento_url("", id, c.at)),
            current: at.is_some_and(|(m, _, _)| m.digest == c.digest),
        })
        .collect();
    let (notice, nav) = match at {
        None => (None, Vec::new()),
        Some((m, ms, i)) => {
            let mut nav = Vec::new();
            if i > 0 {
                nav.push((
                    "previous".to_string(),
                    memento::memento_url("", id, ms[i - 1].at),
                ));
            }
            if i + 1 < ms.len() {
                nav.push((
                    "next".to_string(),
                    memento::memento_url("", id, ms[i + 1].at),
                ));
            }
            nav.push(("latest".to_string(), post_href(id)));
            (
                Some(format!(
                    "The post as this archive held it after its capture of {} ({}).",
                    when(m.at),
                    m.outcome.as_str()
                )),
                nav,
            )
        }
    };
    let main = PostPage {
        label: id.label(),
        original: memento::original(id),
        notice,
        nav,
        card: card.map(|c| c.html.clone()),
        captures,
        articles: entry
            .articles
            .iter()
            .map(|a| ArticleRow {
                href: article_href(a),
                name: a.clone(),
                posts: 0,
                archived: String::new(),
            })
            .collect(),
        timemap: memento::timemap_url("", id),
        timegate: memento::timegate_url("", id),
        oembed: oembed_href("", id),
    }
    .render();
    let title = match (&entry.author, &entry.handle) {
        (Some(a), _) => format!("{a} · {}", id.label()),
        (None, Some(h)) => format!("@{h} · {}", id.label()),
        _ => id.label(),
    };
    match main {
        Ok(m) => {
            let mut r = page(
                s,
                &title,
                Some(oembed_href(base, id)),
                Some(memento::timemap_url(base, id)),
                m,
            );
            if at.is_none()
                && let Ok(v) = HeaderValue::from_str(&memento::post_links(base, id).join(", "))
            {
                r.headers_mut().insert(header::LINK, v);
            }
            r
        }
        Err(e) => super::plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

pub(crate) fn memento_page(
    s: &super::Shared,
    entry: &PostEntry,
    at: &CaptureEntry,
    card: Option<&super::Card>,
    ms: &[&CaptureEntry],
    i: usize,
) -> Response {
    post_page(s, entry, card, Some((at, ms, i)))
}

pub(crate) async fn post(
    State(s): State<AppState>,
    Path((provider, id)): Path<(String, String)>,
) -> Response {
    let Some(provider) = Provider::from_name(&provider) else {
        return not_found_page(&s, &format!("{provider} is not a platform embarc knows"));
    };
    let id = PostId::new(provider, id.trim_matches('/'));
    let catalog = s.catalog();
    let Some(entry) = catalog.post(&id).cloned() else {
        return not_found_page(&s, &format!("{} is not in this archive", id.label()));
    };
    let s2 = s.clone();
    let id2 = id.clone();
    let card = match blocking(move || s2.card(&id2, None, false)).await {
        Err(r) => return r,
        Ok(Err(e)) => return super::failure(&e),
        Ok(Ok(c)) => c,
    };
    post_page(&s, &entry, card.as_deref(), None)
}

/// The query of `/article`.
#[derive(Debug, Deserialize)]
pub(crate) struct ArticleQuery {
    name: Option<String>,
}

pub(crate) async fn article(State(s): State<AppState>, Query(q): Query<ArticleQuery>) -> Response {
    let catalog = s.catalog();
    let Some(name) = q.name.filter(|n| !n.is_empty()) else {
        return not_found_page(&s, "which article? /article?name=NAME");
    };
    let Some(a) = catalog.article(&name) else {
        return not_found_page(&s, &format!("{name} was never archived"));
    };
    let rows = a
        .posts
        .iter()
        .map(|p| match catalog.post(p) {
            Some(e) => row(e),
            None => PostRow {
                href: String::new(),
                label: p.label(),
                handle: None,
                author: None,
                latest: "never captured".into(),
                outcome: "",
                captures: 0,
            },
        })
        .collect();
    let main = ArticlePage {
        name: a.name.clone(),
        archivings: a.archivings,
        archived: when(a.archived_at),
        rows,
    }
    .render();
    match main {
        Ok(m) => page(&s, &a.name, None, None, m),
        Err(e) => super::plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_links_escape_odd_ids() {
        let id = PostId::new(Provider::Mastodon, "mastodon.social/1");
        assert_eq!(post_href(&id), "/post/mastodon/mastodon.social/1");
        let id = PostId::new(Provider::Bluesky, "did:plc:x y/3k");
        assert_eq!(post_href(&id), "/post/bluesky/did:plc:x%20y/3k");
    }
}
