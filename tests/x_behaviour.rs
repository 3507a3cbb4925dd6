//! How X's capture answers X's moods: the transient `200` HTML error page
//! from syndication is asked again, then answered by oEmbed; a tombstone whose
//! oEmbed says 403 is a protected post; syndication and oEmbed are asked side
//! by side. The real binary against the fake X (`--mirror`), plus the library
//! with short retry waits against scripted answers for the whole outcome table.

mod support;

use support::fake_x::{Env, env};

use assert_cmd::Command;
use embarc::capture::twitter::{Endpoints, Retry, X, oembed_url, syndication_url};
use embarc::capture::{Found, Platform, Session};
use embarc::net::{Client, NetConfig};
use embarc::post::PostId;
use embarc::store::Archive;
use embarc::store::record::CaptureOutcome;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::fake_x::{
    self, HTML_ALWAYS_ID, HTML_ERROR_ID, PRIVATE_TOMBSTONE_ID, SLOW_BOTH_ID, SLOW_BOTH_MS,
    TOMBSTONE_ID,
};
use support::{Reply, response};

/// `embarc add URL… --json --archive DIR` with the fake X's mirrors: exit
/// code, JSON lines, stderr.
fn add(env: &Env, urls: &[String]) -> (Option<i32>, Vec<Value>, String) {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.arg("add")
        .args(urls)
        .arg("--json")
        .arg("--archive")
        .arg(&env.archive);
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    let out = cmd.output().expect("run");
    let lines = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    (
        out.status.code(),
        lines,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `embarc show --json twitter:ID`: the post's captures.
fn show(env: &Env, id: &str) -> Vec<Value> {
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .arg("--archive")
        .arg(&env.archive)
        .args(["show", "--json", &format!("twitter:{id}")])
        .output()
        .expect("show");
    assert_eq!(out.status.code(), Some(0), "show twitter:{id}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect()
}

fn url(id: &str) -> String {
    format!("https://twitter.com/someone/status/{id}")
}

fn line<'a>(lines: &'a [Value], id: &str) -> &'a Value {
    lines
        .iter()
        .find(|l| l["post"] == format!("twitter:{id}"))
        .unwrap_or_else(|| panic!("no line for {id}: {lines:?}"))
}

/// The paths (query included) the fake X sees for a post's syndication and
/// oEmbed requests.
fn fake_paths(id: &str) -> (String, String) {
    let endpoints = Endpoints {
        syndication: "/syndication/tweet-result".into(),
        oembed: "/publish/oembed".into(),
        ..Endpoints::default()
    };
    let n = id.parse().expect("id");
    (syndication_url(&endpoints, n), oembed_url(&endpoints, n))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_page_from_syndication_is_asked_again_until_the_post_comes() {
    let env = env().await;
    let (code, lines, err) = tokio::task::block_in_place(|| add(&env, &[url(HTML_ERROR_ID)]));
    assert_eq!(code, Some(0), "{err}");
    let l = line(&lines, HTML_ERROR_ID);
    assert_eq!(l["outcome"], "archived", "{l}");
    assert_eq!(l["source"], "syndication", "{l}");
    assert_eq!(l["error"], Value::Null, "{l}");
    assert_eq!(l["media"], 2, "avatar and photo: {l}");
    let (syndication, oembed) = fake_paths(HTML_ERROR_ID);
    let arrivals = env.server.arrivals(&syndication);
    assert_eq!(arrivals.len(), 3, "two error pages, then the post");
    // Backoff: about 1 s, then about 2 s (jitter adds up to half).
    let gaps: Vec<Duration> = arrivals.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps[0] >= Duration::from_millis(950), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(1950), "{gaps:?}");
    assert!(gaps.iter().all(|g| *g < Duration::from_secs(4)), "{gaps:?}");
    assert_eq!(env.server.count(&oembed), 1, "oEmbed asked once");
    let capture = &show(&env, HTML_ERROR_ID)[0];
    assert_eq!(capture["handle"], "SamuelSusla", "{capture}");
    // Every request is kept: 3 syndication, 1 oEmbed, 2 files.
    assert_eq!(capture["exchanges"], 6, "{capture}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_page_for_ever_is_answered_by_oembed() {
    let env = env().await;
    let (code, lines, err) = tokio::task::block_in_place(|| add(&env, &[url(HTML_ALWAYS_ID)]));
    assert_eq!(code, Some(0), "{err}");
    let l = line(&lines, HTML_ALWAYS_ID);
    assert_eq!(l["outcome"], "archived", "{l}");
    assert_eq!(l["source"], "oembed", "{l}");
    let (syndication, _) = fake_paths(HTML_ALWAYS_ID);
    assert_eq!(env.server.count(&syndication), 3, "three tries in all");
    let capture = &show(&env, HTML_ALWAYS_ID)[0];
    assert_eq!(capture["source"], "oembed", "{capture}");
    assert_eq!(capture["author"], "Alley", "{capture}");
    assert_eq!(capture["handle"], "alleyco", "{capture}");
    assert!(
        capture["text"]
            .as_str()
            .expect("text")
            .starts_with("We’re a full-service digital agency"),
        "{capture}"
    );
    assert_eq!(
        capture["exchanges"], 5,
        "3 syndication, 1 oEmbed, 1 FxTwitter (which knows nothing of it): {capture}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tombstone_is_protected_when_oembed_says_403_and_stays_a_tombstone_otherwise() {
    let env = env().await;
    let urls = [url(PRIVATE_TOMBSTONE_ID), url(TOMBSTONE_ID)];
    let (code, lines, err) = tokio::task::block_in_place(|| add(&env, &urls));
    assert_eq!(code, Some(0), "neither is a failure: {err}");
    let private = line(&lines, PRIVATE_TOMBSTONE_ID);
    assert_eq!(private["outcome"], "protected", "{private}");
    assert_eq!(private["source"], Value::Null, "{private}");
    let gone = line(&lines, TOMBSTONE_ID);
    assert_eq!(gone["outcome"], "tombstone", "{gone}");
    // X's own words for the tombstone stay on the record.
    let capture = &show(&env, TOMBSTONE_ID)[0];
    assert_eq!(capture["outcome"], "tombstone");
    assert!(
        capture["error"]
            .as_str()
            .expect("tombstone words")
            .contains("deleted by the Post author"),
        "{capture}"
    );
    assert_eq!(show(&env, PRIVATE_TOMBSTONE_ID)[0]["outcome"], "protected");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_syndication_and_a_slow_oembed_overlap() {
    let env = env().await;
    let started = Instant::now();
    let (code, lines, err) = tokio::task::block_in_place(|| add(&env, &[url(SLOW_BOTH_ID)]));
    let took = started.elapsed();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(line(&lines, SLOW_BOTH_ID)["outcome"], "archived");
    let (syndication, oembed) = fake_paths(SLOW_BOTH_ID);
    let (s, o) = (
        env.server.arrivals(&syndication)[0],
        env.server.arrivals(&oembed)[0],
    );
    let apart = if o > s { o - s } else { s - o };
    // Asked one after the other, oEmbed would arrive only once syndication's
    // answer came, SLOW_BOTH_MS later: the arrivals prove the overlap
    // whatever the machine's load (no bound on the total time).
    assert!(
        apart < Duration::from_millis(SLOW_BOTH_MS / 2),
        "oEmbed asked {apart:?} after syndication"
    );
    assert!(
        took >= Duration::from_millis(SLOW_BOTH_MS),
        "the {SLOW_BOTH_MS} ms answers were not waited for: {took:?}"
    );
}

// The library, with short retry waits, against scripted answers: every cell
// of the outcome table, and the order the exchanges are recorded in.

/// Syndication answers by the id's last digit: `1` the error page, `4` the
/// error page labelled JSON, `2` a reset connection, `3` the error page then
/// a tweet, else a tweet. oEmbed answers by the digit before it: `0` 200,
/// `1` 403, `2` 404, else 500.
fn scripted(path: String, nth: u32) -> Reply {
    let q: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(path.split_once('?').map_or("", |(_, q)| q).as_bytes())
            .into_owned()
            .collect();
    if path.starts_with("/syn/") {
        let id = q.get("id").cloned().unwrap_or_default();
        return match id.as_bytes()[id.len() - 1] {
            b'1' => Reply::Raw(response(
                200,
                &[("content-type", "text/html; charset=utf-8")],
                fake_x::ERROR_PAGE,
            )),
            // A JSON label does not make an HTML page JSON.
            b'4' => Reply::Raw(response(
                200,
                &[("content-type", "application/json")],
                fake_x::ERROR_PAGE,
            )),
            b'2' => Reply::Reset(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{".to_vec()),
            b'3' if nth == 1 => Reply::Raw(response(
                200,
                &[("content-type", "text/html")],
                fake_x::ERROR_PAGE,
            )),
            _ => Reply::Raw(response(
                200,
                &[("content-type", "application/json")],
                format!(
                    r#"{{"__typename":"Tweet","id_str":"{id}","text":"hello","user":{{"name":"N","screen_name":"n"}}}}"#
                )
                .as_bytes(),
            )),
        };
    }
    let post = q.get("url").cloned().unwrap_or_default();
    let digit = post.as_bytes()[post.len() - 2];
    let id = post.rsplit('/').next().unwrap_or_default().to_string();
    let json = [("content-type", "application/json")];
    match digit {
        b'0' => Reply::Raw(response(
            200,
            &json,
            format!(
                r#"{{"author_name":"O","author_url":"https://twitter.com/o","html":"<blockquote class=\"twitter-tweet\"><p>from oembed {id}</p>&mdash; O (@o) <a href=\"https://twitter.com/o/status/{id}\">June 1, 2023</a></blockquote>"}}"#
            )
            .as_bytes(),
        )),
        b'1' => Reply::Raw(response(403, &json, br#"{"error":"Sorry, you are not authorized to see this status."}"#)),
        b'2' => Reply::Raw(response(404, &[("content-type", "text/html")], b"")),
        _ => Reply::Raw(response(500, &[("content-type", "text/html")], b"oops")),
    }
}

/// Asks the scripted server about `id` through X with 3 tries 20 ms apart:
/// what X found, and the recorded exchanges' URLs (`syn` or `oembed`).
async fn fetch(server: &support::Server, id: &str) -> (Found, Vec<&'static str>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = Archive::open_or_create(dir.path().join("a")).expect("archive");
    let client = Client::new(NetConfig {
        mirrors: vec![
            format!("cdn.syndication.twimg.com={}/syn", server.base)
                .parse()
                .expect("mirror"),
            format!("publish.twitter.com={}/pub", server.base)
                .parse()
                .expect("mirror"),
        ],
        max_attempts: 1,
        ..embarc::capture::net_config()
    })
    .expect("client");
    let x = X {
        retry: Retry {
            tries: 3,
            first_wait: Duration::from_millis(20),
        },
        ..X::default()
    };
    let session = Session::new(&client, &archive);
    let found = x
        .fetch(
            &session,
            &PostId::new(embarc::Provider::Twitter, id.to_string()),
        )
        .await;
    let order = session
        .exchanges()
        .iter()
        .map(|e| {
            if e.url.starts_with("https://cdn.syndication.twimg.com/") {
                "syn"
            } else {
                "oembed"
            }
        })
        .collect();
    (found, order)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_error_page_then_oembed_decides_every_outcome() {
    let server = support::start(Arc::new(scripted)).await;
    let all = vec!["syn", "oembed", "syn", "syn"];
    // oEmbed 200: the post from oEmbed.
    let (found, order) = fetch(&server, "1000000000000000001").await;
    assert_eq!(found.outcome, CaptureOutcome::Ok, "{found:?}");
    assert_eq!(found.source, Some("oembed"));
    assert_eq!(
        found.post.as_ref().map(|p| p.text.as_str()),
        Some("from oembed 1000000000000000001")
    );
    assert_eq!(order, all, "syndication, oEmbed, then the retries");
    // oEmbed 403: protected; 404: not found.
    let (found, order) = fetch(&server, "1000000000000000011").await;
    assert_eq!(found.outcome, CaptureOutcome::Protected, "{found:?}");
    assert_eq!(order, all);
    let (found, _) = fetch(&server, "1000000000000000021").await;
    assert_eq!(found.outcome, CaptureOutcome::NotFound, "{found:?}");
    // oEmbed 500: failed, saying what both did, on one line.
    let (found, _) = fetch(&server, "1000000000000000031").await;
    assert_eq!(found.outcome, CaptureOutcome::Failed);
    let error = found.error.expect("error");
    assert!(
        error.contains("error page (text/html) 3 times")
            && error.contains("oEmbed answered HTTP 500"),
        "{error}"
    );
    assert!(!error.contains('\n'), "{error}");
    assert!(
        found
            .error_url
            .expect("error_url")
            .starts_with("https://cdn.syndication.twimg.com/tweet-result?id=1000000000000000031&")
    );
    // An HTML document labelled JSON is the error page too.
    let (found, order) = fetch(&server, "1000000000000000024").await;
    assert_eq!(found.outcome, CaptureOutcome::NotFound, "{found:?}");
    assert_eq!(order, all);
}

#[tokio::test(flavor = "multi_thread")]
async fn one_error_page_then_the_post_keeps_the_post_from_syndication() {
    let server = support::start(Arc::new(scripted)).await;
    let (found, order) = fetch(&server, "1000000000000000033").await;
    assert_eq!(found.outcome, CaptureOutcome::Ok, "{found:?}");
    assert_eq!(found.source, Some("syndication"));
    assert_eq!(order, vec!["syn", "oembed", "syn"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_syndication_that_does_not_answer_gives_way_to_oembed_only_with_a_post() {
    let server = support::start(Arc::new(scripted)).await;
    let (found, order) = fetch(&server, "1000000000000000002").await;
    assert_eq!(found.outcome, CaptureOutcome::Ok, "{found:?}");
    assert_eq!(found.source, Some("oembed"));
    assert_eq!(order, vec!["oembed"], "the failed request has no exchange");
    let (found, _) = fetch(&server, "1000000000000000012").await;
    assert_eq!(found.outcome, CaptureOutcome::Failed, "{found:?}");
    assert!(
        found
            .error_url
            .expect("error_url")
            .contains("tweet-result?id=1000000000000000012&"),
    );
}
