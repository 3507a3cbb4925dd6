//! `GET /oembed?url=…`: the oEmbed 1.0 provider endpoint (oembed.com §2).
//! A post URL in any form the scanner accepts (short links through the
//! archive's resolutions) is answered with a `rich` response whose `html` is
//! the card `render` makes; 400 for what is not a post URL, 404 for a post
//! not archived (or never captured with content), 501 for any format but
//! JSON.

use super::{AppState, blocking, failure, plain};
use crate::render::view::{MediaView, PostView, Run, State as ViewState};
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// The card's widest rendering (embarc.css: `max-width:550px`).
const CARD_WIDTH: u64 = 550;

/// The query of an oEmbed request.
#[derive(Debug, Deserialize)]
pub(crate) struct Params {
    url: Option<String>,
    maxwidth: Option<String>,
    maxheight: Option<String>,
    format: Option<String>,
}

/// An oEmbed `rich` response.
#[derive(Debug, Serialize)]
struct Answer {
    #[serde(rename = "type")]
    kind: &'static str,
    version: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    author_url: Option<String>,
    provider_name: String,
    provider_url: String,
    cache_age: u64,
    html: String,
    width: u64,
    height: u64,
}

pub(crate) async fn answer(State(s): State<AppState>, Query(p): Query<Params>) -> Response {
    match p.format.as_deref() {
        None | Some("json") => {}
        Some(other) => {
            return plain(
                StatusCode::NOT_IMPLEMENTED,
                &format!("format {other:?} is not served: this provider answers JSON only"),
            );
        }
    }
    let Some(url) = p.url.filter(|u| !u.trim().is_empty()) else {
        return plain(StatusCode::BAD_REQUEST, "the url parameter is required");
    };
    // A bound that is not a positive whole number: the name of the parameter.
    let bound = |v: &Option<String>, name: &'static str| -> Result<Option<u64>, &'static str> {
        match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(name),
            },
        }
    };
    let (maxwidth, maxheight) = match (
        bound(&p.maxwidth, "maxwidth"),
        bound(&p.maxheight, "maxheight"),
    ) {
        (Ok(w), Ok(h)) => (w, h),
        (Err(name), _) | (_, Err(name)) => {
            return plain(
                StatusCode::BAD_REQUEST,
                &format!("{name} must be a positive whole number of pixels"),
            );
        }
    };
    if !super::is_post_url(url.trim()) {
        return plain(
            StatusCode::BAD_REQUEST,
            &format!("{url} is not the URL of a post this archive could hold"),
        );
    }
    let s2 = s.clone();
    let made = blocking(
        move || -> crate::Result<Result<std::sync::Arc<super::Card>, String>> {
            let id = match super::post_of(&s2.archive, url.trim()) {
                Ok(Some(id)) => id,
                Ok(None) => {
                    return Ok(Err(format!(
                        "{url} was never resolved to a post in this archive"
                    )));
                }
                Err(e) => return Err(e),
            };
            match s2.card(&id, None, true)? {
                Some(card) => Ok(Ok(card)),
                None if s2.catalog().post(&id).is_some() => Ok(Err(format!(
                    "{} is archived, but no capture holds its content",
                    id.label()
                ))),
                None => Ok(Err(format!("{} is not in this archive", id.label()))),
            }
        },
    )
    .await;
    let card = match made {
        Err(r) => return r,
        Ok(Err(e)) => return failure(&e),
        Ok(Ok(Err(why))) => return plain(StatusCode::NOT_FOUND, &why),
        Ok(Ok(Ok(card))) => card,
    };
    let width = maxwidth.map_or(CARD_WIDTH, |m| m.min(CARD_WIDTH));
    let height = estimate_height(&card.view, width);
    let height = maxheight.map_or(height, |m| m.min(height));
    let v = &card.view;
    let stylesheet = format!("{}/embarc.css", s.config.base_url);
    let html = format!(
        "<link rel=\"stylesheet\" href=\"{}\">\n{}",
        html_attr(&stylesheet),
        card.html
    );
    let a = Answer {
        kind: "rich",
        version: "1.0",
        title: title(v),
        author_name: author_name(v),
        author_url: v.profile.clone(),
        provider_name: "embarc archive".into(),
        provider_url: format!("{}/", s.config.base_url),
        cache_age: s.config.cache_age,
        html,
        width,
        height,
    };
    let body = match serde_json::to_vec(&a) {
        Ok(b) => b,
        Err(e) => return plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    };
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        body,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={}", s.config.cache_age)) {
        r.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// Escapes a value for a double-quoted attribute.
fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn author_name(v: &PostView) -> Option<String> {
    match (v.name.trim(), &v.handle) {
        ("", Some(h)) => Some(format!("@{h}")),
        ("", None) => None,
        (n, Some(h)) => Some(format!("{n} (@{h})")),
        (n, None) => Some(n.to_string()),
    }
}

/// The post's first words, as a title.
fn title(v: &PostView) -> Option<String> {
    let mut t = String::new();
    for r in &v.runs {
        match r {
            Run::Text(s) | Run::Link(s, _) => t.push_str(s),
            Run::Break => t.push(' '),
        }
        if t.chars().count() > 120 {
            break;
        }
    }
    let t = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        return None;
    }
    if t.chars().count() > 100 {
        let cut: String = t.chars().take(99).collect();
        return Some(format!("{}…", cut.trim_end()));
    }
    Some(t)
}

/// The card's height at `width`, estimated (no script measures it): the
/// header, the text at about 8 px a character and 21 px a line, the media
/// at their aspect ratio (a grid of two rows for three or four), a quoted
/// post, the notices and the footer.
pub(crate) fn estimate_height(v: &PostView, width: u64) -> u64 {
    let inner = width.saturating_sub(34).max(100);
    let chars_per_line = (inner / 8).max(10);
    let mut lines = 0u64;
    let mut current = 0u64;
    for r in &v.runs {
        match r {
            Run::Text(s) | Run::Link(s, _) => current += s.chars().count() as u64,
            Run::Break => {
                lines += 1 + current / chars_per_line;
                current = 0;
            }
        }
    }
    lines += 1 + current / chars_per_line;
    let mut h = 26 + 60 + lines * 21 + 44;
    if let Some(first) = v.media.first() {
        let size = match first {
            MediaView::Photo { size, .. } | MediaView::Video { size, .. } => *size,
        };
        let one = match size {
            Some((w, hh)) if w > 0 => (hh * inner / w).min(inner),
            _ => inner * 9 / 16,
        };
        h += if v.media.len() > 2 {
            inner * 9 / 16
        } else {
            one
        } + 12;
    }
    if v.quoted.is_some() {
        h += 140;
    }
    if v.reply_to.is_some() {
        h += 22;
    }
    if !matches!(v.state, ViewState::Live) {
        h += 30;
    }
    h
}
