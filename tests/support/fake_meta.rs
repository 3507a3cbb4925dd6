//! A fake of Meta's oEmbed endpoints on one local port: graph.facebook.com
//! (`/v…/instagram_oembed`, `/v…/oembed_post`, `/v…/oembed_video`),
//! graph.threads.net (`/v1.0/oembed`) and the Instagram CDN, playing the
//! real answers in `tests/fixtures/social/`. Each host is served under
//! `/HOST/…`; map each with [`mirror_flags`].
//!
//! Meta's answer depends on the app token, which the shared test server
//! cannot see, so this fake reads requests itself: with `Authorization:
//! Bearer` [`TOKEN`] the post's answer; with [`UNAPPROVED_TOKEN`] Graph's
//! 403 (`(#10) … must be reviewed and approved`); with no token Graph's 400
//! (`An access token is required…`). A token in a URL (`access_token=`) is
//! a violation: it would be recorded in the archive.

use super::response;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Hosts the fake plays.
pub const HOSTS: &[&str] = &[
    "graph.facebook.com",
    "graph.threads.net",
    "scontent-amt2-1.cdninstagram.com",
];

/// The token Meta accepts.
pub const TOKEN: &str = "1234567890|s3cr3tClientTokenValue";
/// A token of an app whose oEmbed access is not approved: 403.
pub const UNAPPROVED_TOKEN: &str = "999|unapprovedAppToken";

/// The Instagram post of the real answer.
pub const INSTAGRAM_URL: &str = "https://www.instagram.com/p/BMokmydjG-M/";
/// The Facebook post of the real answer.
pub const FACEBOOK_URL: &str = "https://www.facebook.com/zuck/posts/10102593740125791";
/// The Threads post of the (derived) answer.
pub const THREADS_URL: &str = "https://www.threads.net/@threads/post/DWjTI0cgH5O";

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/social")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every request seen: its path and its `Authorization` header.
pub type Log = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A running fake.
pub struct MetaServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Every request: its path and the `Authorization` header it carried.
    pub log: Log,
    violations: Arc<Mutex<Vec<String>>>,
}

impl MetaServer {
    /// Requests whose path starts with `prefix`.
    pub fn requests(&self, prefix: &str) -> Vec<(String, Option<String>)> {
        self.log
            .lock()
            .map(|l| {
                l.iter()
                    .filter(|(p, _)| p.starts_with(prefix))
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for MetaServer {
    fn drop(&mut self) {
        let seen = self
            .violations
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default();
        if !seen.is_empty() && !std::thread::panicking() {
            panic!(
                "the fake Meta saw requests it would punish:\n{}",
                seen.join("\n")
            );
        }
    }
}

fn json(status: u16, body: &[u8]) -> Vec<u8> {
    response(
        status,
        &[("content-type", "application/json; charset=UTF-8")],
        body,
    )
}

/// The answer to `path` with `auth`, and a violation if the request was one.
fn answer(path: &str, auth: Option<&str>) -> (Vec<u8>, Option<String>) {
    if path.contains("access_token=") {
        return (
            json(400, &fixture("graph-400-token-required.json")),
            Some(format!("a token in the URL: {path}")),
        );
    }
    let Some((host, rest)) = path.trim_start_matches('/').split_once('/') else {
        return (json(404, b"{}"), Some(format!("no host in {path}")));
    };
    if host.ends_with("cdninstagram.com") {
        return (
            response(
                200,
                &[("content-type", "image/jpeg")],
                b"\xff\xd8\xff\xe0fake jpeg",
            ),
            None,
        );
    }
    let (endpoint, query) = rest.split_once('?').unwrap_or((rest, ""));
    let asked: String = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "url")
        .map(|(_, v)| v.trim_end_matches('/').to_string())
        .unwrap_or_default();
    let asked = asked.as_str();
    let known = match (host, endpoint) {
        ("graph.facebook.com", e) if e.ends_with("/instagram_oembed") => {
            (asked == INSTAGRAM_URL.trim_end_matches('/')).then_some("instagram-BMokmydjG-M.json")
        }
        ("graph.facebook.com", e) if e.ends_with("/oembed_post") => {
            (asked == FACEBOOK_URL).then_some("facebook-10102593740125791.json")
        }
        ("graph.threads.net", "v1.0/oembed") => {
            (asked == THREADS_URL).then_some("threads-DWjTI0cgH5O.json")
        }
        _ => {
            return (
                json(404, b"{}"),
                Some(format!("not an oEmbed endpoint Meta serves: {path}")),
            );
        }
    };
    match auth {
        None => (json(400, &fixture("graph-400-token-required.json")), None),
        Some(a) if a == format!("Bearer {UNAPPROVED_TOKEN}") => {
            (json(403, &fixture("graph-403-review.json")), None)
        }
        Some(a) if a == format!("Bearer {TOKEN}") => match known {
            Some(f) => (json(200, &fixture(f)), None),
            None => (
                json(404, br#"{"error":{"message":"Unsupported get request.","type":"GraphMethodException","code":100}}"#),
                None,
            ),
        },
        Some(_) => (
            json(400, br#"{"error":{"message":"Invalid OAuth access token - Cannot parse access token","type":"OAuthException","code":190}}"#),
            None,
        ),
    }
}

/// Starts the fake.
pub async fn start() -> MetaServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let log: Log = Arc::default();
    let violations: Arc<Mutex<Vec<String>>> = Arc::default();
    let (l, v) = (log.clone(), violations.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let (log, violations) = (l.clone(), v.clone());
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&buf).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let auth = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                    .map(|(_, v)| v.trim().to_string());
                let (bytes, violation) = answer(&path, auth.as_deref());
                if let Ok(mut l) = log.lock() {
                    l.push((path, auth));
                }
                if let (Some(what), Ok(mut v)) = (violation, violations.lock()) {
                    v.push(what);
                }
                let _ = stream.write_all(&bytes).await;
            });
        }
    });
    MetaServer {
        base,
        log,
        violations,
    }
}

/// `--mirror` values mapping every host the fake plays to it.
pub fn mirror_flags(base: &str) -> Vec<String> {
    HOSTS.iter().map(|h| format!("{h}={base}/{h}")).collect()
}
