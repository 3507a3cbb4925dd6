//! A fake Reddit on one local port, playing www.reddit.com and its image
//! host (preview.redd.it) from the real answers in
//! `tests/fixtures/social/` (see PROVENANCE.tsv there). Each host is served
//! under `/HOST/…`; map each with [`mirror_flags`]. Posts are answered only
//! at `/r/SUB/comments/ID/.json` and `/comments/ID/.json`, as Reddit does;
//! any other path is a violation, and so is asking for a small preview of
//! an image (`width=108`): the full size (`s`, `source`) must be asked.

use super::fake_x::png;
use super::{Reply, Server, Violations, response};
use std::path::PathBuf;

/// Hosts the fake plays.
pub const HOSTS: &[&str] = &["www.reddit.com", "preview.redd.it", "i.redd.it"];

/// A self post (r/TwoSentenceHorror): the first request gets the real post,
/// every later one the same post deleted by its author.
pub const SELF: (&str, &str) = ("TwoSentenceHorror", "16jkswy");
/// An image link post with a preview (r/madlads).
pub const LINK: (&str, &str) = ("madlads", "16k14ld");
/// A gallery of two images (r/csharp).
pub const GALLERY: (&str, &str) = ("csharp", "16jkh1e");
/// A post Reddit does not know: 404.
pub const GONE: (&str, &str) = ("pics", "zz404zz");
/// A post in a private subreddit: 403 `private`.
pub const PRIVATE: (&str, &str) = ("secretclub", "zz403zz");

/// The fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/social")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn json_reply(status: u16, body: &[u8]) -> Reply {
    Reply::Raw(response(
        status,
        &[("content-type", "application/json; charset=UTF-8")],
        body,
    ))
}

/// The id a post path asks about: `/r/SUB/comments/ID/.json` or `/comments/ID/.json`.
fn asked_id(rest: &str) -> Option<&str> {
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["r", _, "comments", id, ".json"] | ["comments", id, ".json"] => Some(id),
        _ => None,
    }
}

/// Starts the fake.
pub async fn start() -> Server {
    let violations = Violations::default();
    let seen = violations.clone();
    let handler = move |path: String, nth: u32| -> Reply {
        let violation = |what: String| {
            if let Ok(mut v) = seen.lock() {
                v.push(what);
            }
            json_reply(404, &fixture("reddit-404.json"))
        };
        let Some((host, rest)) = path.trim_start_matches('/').split_once('/') else {
            return violation(format!("no host in {path}"));
        };
        let rest = format!("/{rest}");
        if host == "preview.redd.it" || host == "i.redd.it" {
            if rest.contains("width=108") {
                return violation(format!("a small preview was asked: {path}"));
            }
            return Reply::Raw(response(
                200,
                &[("content-type", "image/png")],
                &png(&rest, 8, 6),
            ));
        }
        if host != "www.reddit.com" {
            return violation(format!("not a host Reddit serves: {path}"));
        }
        let Some(id) = asked_id(&rest) else {
            return violation(format!("not a path Reddit answers: {path}"));
        };
        match id {
            i if i == SELF.1 && nth == 1 => json_reply(200, &fixture("reddit-self-16jkswy.json")),
            i if i == SELF.1 => json_reply(200, &fixture("reddit-deleted-16jkswy.json")),
            i if i == LINK.1 => json_reply(200, &fixture("reddit-link-preview-16k14ld.json")),
            i if i == GALLERY.1 => json_reply(200, &fixture("reddit-gallery-16jkh1e.json")),
            i if i == PRIVATE.1 => json_reply(403, &fixture("reddit-403-private.json")),
            _ => json_reply(404, &fixture("reddit-404.json")),
        }
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

/// The path the fake sees for a post's JSON under its subreddit.
pub fn json_path((sub, id): (&str, &str)) -> String {
    format!("/www.reddit.com/r/{sub}/comments/{id}/.json")
}
