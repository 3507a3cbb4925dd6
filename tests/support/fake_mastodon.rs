//! A fake fediverse on one local port: the Mastodon instances of the real
//! answers in `tests/fixtures/responses/mastodon/` (mastodon.social,
//! fosstodon.org, and rstats.me, the origin of a remote status fosstodon.org
//! shows), their file hosts, and one hostile instance. Each host is served
//! under `/HOST/…`; map each with the flags of [`mirror_flags`]. Statuses
//! are answered only at `/api/v1/statuses/:id` and oEmbed only at
//! `/api/oembed?url=`, as Mastodon does; any other path of an instance is a
//! violation, and so is a request for a photo's `small` preview (the
//! original must be asked, never the preview).

use super::fake_x::png;
use super::{Reply, Server, Violations, response};
use serde_json::{Value, json};
use std::path::PathBuf;

/// Hosts the fake plays.
pub const HOSTS: &[&str] = &[
    "mastodon.social",
    "files.mastodon.social",
    "fosstodon.org",
    "cdn.fosstodon.org",
    "rstats.me",
    "cdn.masto.host",
    "hostile.example",
];

/// A status with a link card (image on files.mastodon.social), mentions, a
/// hashtag: the real answer in `status-card.json`.
pub const CARD: (&str, &str) = ("mastodon.social", "109294719267373593");
/// A status with one photo, edited: the first request gets an earlier
/// version (the real answer with other words and no `edited_at`), every
/// later one the real answer (`status-edited-image.json`).
pub const EDITED: (&str, &str) = ("fosstodon.org", "114870341462245939");
/// The words of the earlier version of [`EDITED`].
pub const EDITED_FIRST_TEXT: &str = "First version, before the edit.";
/// A remote status as fosstodon.org shows it (`status-remote-image.json`):
/// its origin is rstats.me, where its id is [`REMOTE_ORIGIN_ID`].
pub const REMOTE: (&str, &str) = ("fosstodon.org", "114870142263126875");
/// The remote status's id on its origin.
pub const REMOTE_ORIGIN_ID: &str = "114870142137562212";
/// A gifv (`status-gifv.json`).
pub const GIFV: (&str, &str) = ("mastodon.social", "114870361509088779");
/// A status quoting another (4.4+): the docs' Status example with this id
/// and the docs' Quote example as its `quote`.
pub const QUOTING: (&str, &str) = ("mastodon.social", "111111");
/// The status [`QUOTING`] quotes.
pub const QUOTED_ID: &str = "103270115826048975";
/// 404 with the docs' body.
pub const DELETED: (&str, &str) = ("mastodon.social", "404404");
/// 401 with the docs' body ("This API requires an authenticated user").
pub const PROTECTED: (&str, &str) = ("mastodon.social", "401401");
/// API 500, oEmbed 200 (the shelf's real oEmbed answer).
pub const API_DOWN: (&str, &str) = ("mastodon.social", "500500");
/// The hostile instance's status (see [`hostile`]).
pub const HOSTILE: (&str, &str) = ("hostile.example", "1");

/// What the hostile status says and names.
pub mod hostile {
    /// Its author's display name.
    pub const NAME: &str = "<img src=x onerror=alert(1)>";
    /// Its content: a script, `onclick`, a `javascript:` link, a good link.
    pub const CONTENT: &str = r#"<p>hello <script>alert(2)</script><a href="javascript:alert(3)" onclick="alert(4)">click</a> <a href="https://ok.example/page" onclick="alert(5)">ok.example/page</a><iframe src="https://evil.example/"></iframe></p>"#;
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/responses/mastodon")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    serde_json::to_vec(&fixture(name)).unwrap_or_default()
}

fn json_reply(status: u16, body: &[u8]) -> Reply {
    Reply::Raw(response(
        status,
        &[("content-type", "application/json; charset=utf-8")],
        body,
    ))
}

/// The remote status as its origin would answer it: the fosstodon.org copy
/// with rstats.me's id, the account local there, and the files at the
/// origin's own URLs (the copy's `remote_url`s). Derived, since no recorded
/// answer of rstats.me exists.
fn origin_answer() -> Value {
    let mut v = fixture("status-remote-image.json");
    v["id"] = json!(REMOTE_ORIGIN_ID);
    v["account"]["acct"] = json!("simonpcouch");
    let avatar = "https://cdn.masto.host/rstatsme/accounts/avatars/114/377/281/268/186/618/original/44358f3b9fad00ec.png";
    v["account"]["avatar"] = json!(avatar);
    v["account"]["avatar_static"] = json!(avatar);
    if let Some(ms) = v["media_attachments"].as_array_mut() {
        for m in ms {
            let original = m["remote_url"].clone();
            m["preview_url"] = json!(
                original
                    .as_str()
                    .unwrap_or_default()
                    .replace("/original/", "/small/")
            );
            m["url"] = original;
            m["remote_url"] = Value::Null;
        }
    }
    v
}

fn quoting() -> Value {
    let mut v = fixture("status-docs-card.json");
    let (host, id) = QUOTING;
    v["id"] = json!(id);
    v["uri"] = json!(format!("https://{host}/users/Gargron/statuses/{id}"));
    v["url"] = json!(format!("https://{host}/@Gargron/{id}"));
    v["quote"] = fixture("quote-docs.json");
    v
}

fn edited_first() -> Value {
    let mut v = fixture("status-edited-image.json");
    v["content"] = json!(format!("<p>{EDITED_FIRST_TEXT}</p>"));
    v["edited_at"] = Value::Null;
    v
}

/// The hostile status: markup everywhere, a `javascript:` profile, and
/// files on a private address (`trap`, a server that must see nothing), on
/// a name that resolves to loopback (`localhost`), and on 10.0.0.1.
fn hostile_status(trap: &str) -> Value {
    let (host, id) = HOSTILE;
    json!({
        "id": id,
        "created_at": "2024-06-20T15:04:00.000Z",
        "uri": format!("https://{host}/users/x/statuses/{id}"),
        "url": format!("https://{host}/@x/{id}"),
        "content": hostile::CONTENT,
        "spoiler_text": "<b>cw</b>",
        "account": {
            "id": "9", "username": "x", "acct": "x",
            "display_name": hostile::NAME,
            "url": "javascript:alert(6)",
            "avatar": format!("{trap}/avatar.png"),
        },
        "media_attachments": [
            {"type": "image", "url": "https://localhost/b.png", "description": "\"><script>alert(7)</script>"},
        ],
        "card": {"url": "https://ok.example/page", "title": "<script>alert(8)</script>", "image": "http://10.0.0.1/c.png"},
        "mentions": [], "tags": [], "emojis": [],
    })
}

/// Starts the fake. `trap` is the base URL of a server that must see no
/// request (the hostile status names it as its avatar's host).
pub async fn start(trap: &str) -> Server {
    let violations = Violations::default();
    let seen = violations.clone();
    let hostile_json = serde_json::to_vec(&hostile_status(trap)).unwrap_or_default();
    let handler = move |path: String, nth: u32| -> Reply {
        let violation = |what: String| {
            if let Ok(mut v) = seen.lock() {
                v.push(what);
            }
            json_reply(404, br#"{"error":"Not Found"}"#)
        };
        let Some((host, rest)) = path.trim_start_matches('/').split_once('/') else {
            return violation(format!("no host in {path}"));
        };
        let rest = format!("/{rest}");
        if matches!(
            host,
            "files.mastodon.social" | "cdn.fosstodon.org" | "cdn.masto.host"
        ) {
            // Photos live on these two; a `small` file there is a preview.
            if rest.contains("/small/") && host != "files.mastodon.social" {
                return violation(format!("a photo's preview was asked: {path}"));
            }
            let ctype = match rest.rsplit('.').next() {
                Some("mp4") => "video/mp4",
                Some("jpeg" | "jpg") => "image/jpeg",
                _ => "image/png",
            };
            let body = if ctype == "video/mp4" {
                format!("fake mp4 {rest}").into_bytes()
            } else {
                png(&rest, 8, 6)
            };
            return Reply::Raw(response(200, &[("content-type", ctype)], &body));
        }
        // An account without an avatar shows the instance's own default.
        if rest == "/avatars/original/missing.png" {
            return Reply::Raw(response(
                200,
                &[("content-type", "image/png")],
                &png(host, 4, 4),
            ));
        }
        if let Some(id) = rest.strip_prefix("/api/v1/statuses/") {
            let answer = match (host, id) {
                h if h == CARD => (200, fixture_bytes("status-card.json")),
                h if h == EDITED && nth == 1 => {
                    (200, serde_json::to_vec(&edited_first()).unwrap_or_default())
                }
                h if h == EDITED => (200, fixture_bytes("status-edited-image.json")),
                h if h == REMOTE => (200, fixture_bytes("status-remote-image.json")),
                ("rstats.me", REMOTE_ORIGIN_ID) => (
                    200,
                    serde_json::to_vec(&origin_answer()).unwrap_or_default(),
                ),
                h if h == GIFV => (200, fixture_bytes("status-gifv.json")),
                h if h == QUOTING => (200, serde_json::to_vec(&quoting()).unwrap_or_default()),
                h if h == PROTECTED => (401, fixture_bytes("status-401.json")),
                h if h == API_DOWN => (500, br#"{"error":"boom"}"#.to_vec()),
                h if h == HOSTILE => (200, hostile_json.clone()),
                _ => (404, fixture_bytes("status-404.json")),
            };
            return json_reply(answer.0, &answer.1);
        }
        if rest.starts_with("/api/oembed?url=") {
            if host == API_DOWN.0 && rest.contains(API_DOWN.1) {
                return json_reply(200, &fixture_bytes("mastodon-99664077509711321.json"));
            }
            return json_reply(404, &fixture_bytes("mastodon-404-record-not-found.json"));
        }
        violation(format!("not a path Mastodon answers: {path}"))
    };
    super::start_with(
        std::sync::Arc::new(handler),
        super::Options::default(),
        violations,
    )
    .await
}

/// `--mirror` values mapping every host the fake plays to it.
pub fn mirror_flags(base: &str) -> Vec<String> {
    HOSTS.iter().map(|h| format!("{h}={base}/{h}")).collect()
}
