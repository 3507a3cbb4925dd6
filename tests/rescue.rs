//! Rescuing posts X no longer serves, end to end: the real binary against
//! the fake X (`--mirror`) and its fake Wayback Machine (CDX JSON and `id_`
//! replay, with a 429 and a slow answer): a deleted post recovered with its
//! files from the archive's copies and rendered as recovered; a post whose
//! only trace is an archived oEmbed answer; `{}` from syndication answered
//! by FxTwitter; `recheck` telling live, edited and gone posts apart and
//! storing captures only when something changed; `--no-wayback` sending the
//! archive nothing.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use support::fake_wayback::{OEMBED_AT, RESCUED_AT};
use support::fake_x::{
    self, DELETED_LATER_ID, EDITED_ID, Env, FX_ID, OEMBED_ONLY_ID, RESCUED_ID, TOMBSTONE_ID,
};

/// `embarc ARGS… --archive DIR` with every fake host mirrored: exit code,
/// JSON lines (with `--json`), stdout, stderr.
fn embarc(env: &Env, args: &[&str]) -> (Option<i32>, Vec<Value>, String, String) {
    let mut cmd = Command::cargo_bin("embarc").expect("binary");
    cmd.current_dir(env.dir.path())
        .env_remove("EMBARC_CONFIG")
        .env("XDG_CONFIG_HOME", env.dir.path())
        .args(args)
        .arg("--archive")
        .arg(&env.archive);
    for m in fake_x::mirror_flags(&env.server.base) {
        cmd.arg("--mirror").arg(m);
    }
    let out = cmd.output().expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines = if args.contains(&"--json") {
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    } else {
        Vec::new()
    };
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), lines, stdout, stderr)
}

fn run(env: &Env, args: &[&str]) -> (Option<i32>, Vec<Value>, String, String) {
    tokio::task::block_in_place(|| embarc(env, args))
}

/// The capture record stored as object `sha256:HEX`.
fn record(env: &Env, digest: &str) -> Value {
    let hex = digest.trim_start_matches("sha256:");
    let path = env.archive.join("objects/sha256").join(&hex[..2]).join(hex);
    serde_json::from_slice(&std::fs::read(&path).expect("record object")).expect("record JSON")
}

/// Requests the fake Wayback Machine got.
fn wayback_requests(env: &Env) -> usize {
    env.server
        .arrivals_where(|p| p.starts_with("/wayback/"))
        .len()
}

fn show(env: &Env, post: &str) -> Vec<Value> {
    let (code, lines, _, err) = run(env, &["show", post, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    lines
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_post_is_recovered_from_the_wayback_machine_with_its_files() {
    let env = fake_x::env().await;
    let url = format!("https://twitter.com/BRICSinfo/status/{RESCUED_ID}");
    let (code, lines, _, err) = run(&env, &["add", &url, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let l = &lines[0];
    assert_eq!(l["outcome"], "archived", "{l}");
    assert_eq!(l["source"], "wayback", "{l}");
    assert_eq!(l["media"], 2, "the avatar and the photo: {l}");
    // The first lookup was answered 429; the client asked again, later.
    let syndication_lookups = env.server.arrivals_where(|p| {
        p.starts_with("/wayback/cdx/search/cdx?")
            && p.contains("tweet-result%3Fid%3D7170000000000000001")
    });
    assert_eq!(syndication_lookups.len(), 2, "a 429, then the answer");

    let captures = show(&env, &format!("twitter:{RESCUED_ID}"));
    assert_eq!(captures.len(), 1);
    let c = &captures[0];
    assert_eq!(c["source"], "wayback", "{c}");
    assert_eq!(c["author"], "BRICS News", "{c}");
    assert_eq!(c["handle"], "BRICSinfo", "{c}");
    assert!(
        c["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("JUST IN: the archive keeps"),
        "{c}"
    );
    let media = c["media"].as_array().expect("media");
    let photo = media.iter().find(|m| m["role"] == "photo").expect("photo");
    // X's CDN no longer has it: the archived copy (the bare URL, better than
    // the `name=small` one) stands in.
    assert_eq!(
        photo["url"],
        "https://web.archive.org/web/20240620101507id_/https://pbs.twimg.com/media/RescuedPhoto.jpg"
    );
    let avatar = media
        .iter()
        .find(|m| m["role"] == "avatar")
        .expect("avatar");
    assert!(
        avatar["url"].as_str().unwrap_or_default().starts_with(
            "https://web.archive.org/web/20240620101508id_/https://pbs.twimg.com/profile_images/77/"
        ),
        "{avatar}"
    );

    // The record names every memento it fetched, and the answer's.
    let rec = record(&env, l["capture"].as_str().expect("capture"));
    let mementos = rec["mementos"].as_array().expect("mementos");
    let answer: Vec<&Value> = mementos.iter().filter(|m| m["answer"] == true).collect();
    assert_eq!(answer.len(), 1, "{mementos:?}");
    assert_eq!(answer[0]["datetime"], "2024-06-20T10:15:00Z");
    assert_eq!(
        answer[0]["url"],
        format!(
            "https://web.archive.org/web/{RESCUED_AT}id_/https://cdn.syndication.twimg.com/tweet-result?id={RESCUED_ID}&lang=en&token=4m4ew7hhvxq"
        )
    );
    assert!(
        mementos.iter().any(
            |m| m["original"] == "https://pbs.twimg.com/media/RescuedPhoto.jpg"
                && m["datetime"] == "2024-06-20T10:15:07Z"
        ),
        "{mementos:?}"
    );
    // The newest copy (a tombstone, captured after the deletion) was read
    // and passed over.
    let exchanges = rec["exchanges"].as_array().expect("exchanges");
    assert!(exchanges.iter().any(|e| {
        e["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with("https://web.archive.org/web/20250105120000id_/")
    }));

    // The card says where it came from.
    let (code, _, card, err) = run(
        &env,
        &["render", "--post", &format!("twitter:{RESCUED_ID}")],
    );
    assert_eq!(code, Some(0), "{err}");
    assert!(
        card.contains("recovered from the Wayback Machine, captured Jun 20, 2024"),
        "{card}"
    );
    assert!(card.contains("JUST IN: the archive keeps"), "{card}");
    assert!(card.contains("<img"), "{card}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_whose_only_trace_is_an_archived_oembed_answer_is_recovered_from_it() {
    let env = fake_x::env().await;
    let url = format!("https://twitter.com/alleyco/status/{OEMBED_ONLY_ID}");
    let (code, lines, _, err) = run(&env, &["add", &url, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let l = &lines[0];
    assert_eq!(l["outcome"], "archived", "{l}");
    assert_eq!(l["source"], "wayback", "{l}");
    let c = &show(&env, &format!("twitter:{OEMBED_ONLY_ID}"))[0];
    assert_eq!(c["author"], "Alley", "{c}");
    assert_eq!(c["handle"], "alleyco", "{c}");
    assert!(
        c["text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("We’re a full-service digital agency"),
        "{c}"
    );
    let rec = record(&env, l["capture"].as_str().expect("capture"));
    let answer = rec["mementos"]
        .as_array()
        .expect("mementos")
        .iter()
        .find(|m| m["answer"] == true)
        .cloned()
        .expect("the answer's memento");
    assert_eq!(answer["datetime"], "2023-07-12T08:09:10Z");
    assert!(
        answer["url"]
            .as_str()
            .unwrap_or_default()
            .starts_with(&format!(
                "https://web.archive.org/web/{OEMBED_AT}id_/https://publish.twitter.com/oembed?url="
            )),
        "{answer}"
    );
    // Syndication's and the status page's copies were asked for first.
    let lookups = env
        .server
        .arrivals_where(|p| p.starts_with("/wayback/cdx/search/cdx?"));
    assert!(lookups.len() >= 3, "{}", lookups.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_answer_from_syndication_is_answered_by_fxtwitter() {
    let env = fake_x::env().await;
    let url = format!("https://x.com/amXFreeze/status/{FX_ID}");
    let (code, lines, _, err) = run(&env, &["add", &url, "--json"]);
    assert_eq!(code, Some(0), "{err}");
    let l = &lines[0];
    assert_eq!(l["outcome"], "archived", "{l}");
    assert_eq!(l["source"], "fxtwitter", "{l}");
    assert_eq!(l["media"], 2, "the avatar and the photo: {l}");
    let c = &show(&env, &format!("twitter:{FX_ID}"))[0];
    assert_eq!(c["author"], "X Freeze", "{c}");
    assert_eq!(c["created_at"], "2025-09-28T12:56:14Z", "{c}");
    let rec = record(&env, l["capture"].as_str().expect("capture"));
    assert_eq!(rec["normalized"]["sources"]["media"], "fxtwitter", "{rec}");
    assert_eq!(
        env.server
            .arrivals_where(|p| p.starts_with("/fxtwitter/"))
            .len(),
        1
    );
    assert_eq!(wayback_requests(&env), 0, "a live source answered");
}

#[tokio::test(flavor = "multi_thread")]
async fn recheck_tells_live_edited_and_gone_apart_and_stores_only_changes() {
    let env = fake_x::env().await;
    let live = "1641086480675225601";
    let posts: Vec<String> = [live, EDITED_ID, DELETED_LATER_ID]
        .iter()
        .map(|id| format!("twitter:{id}"))
        .collect();
    let mut args = vec!["add", "--json"];
    args.extend(posts.iter().map(String::as_str));
    let (code, lines, _, err) = run(&env, &args);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        lines.iter().all(|l| l["outcome"] == "archived"),
        "{lines:?}"
    );

    let mut args = vec!["recheck", "--json"];
    args.extend(posts.iter().map(String::as_str));
    let (code, lines, _, err) = run(&env, &args);
    assert_eq!(code, Some(0), "{err}");
    let outcome = |lines: &[Value], id: &str| {
        lines
            .iter()
            .find(|l| l["post"] == format!("twitter:{id}"))
            .cloned()
            .unwrap_or_else(|| panic!("no line for {id}: {lines:?}"))
    };
    let l = outcome(&lines, live);
    assert_eq!(l["outcome"], "live", "{l}");
    assert_eq!(l["capture"], Value::Null, "{l}");
    let e = outcome(&lines, EDITED_ID);
    assert_eq!(e["outcome"], "edited", "{e}");
    assert_eq!(e["changed"], serde_json::json!(["text"]), "{e}");
    let g = outcome(&lines, DELETED_LATER_ID);
    assert_eq!(g["outcome"], "gone", "{g}");
    assert!(g["capture"].is_string(), "{g}");
    assert!(err.contains("1 live, 1 edited, 1 gone, 0 failed"), "{err}");

    let count = |id: &str| show(&env, &format!("twitter:{id}")).len();
    assert_eq!(count(live), 1, "nothing changed: nothing stored");
    assert_eq!(count(EDITED_ID), 2);
    let edited = show(&env, &format!("twitter:{EDITED_ID}"));
    assert_eq!(edited[1]["text"], "the words, edited");
    let gone = show(&env, &format!("twitter:{DELETED_LATER_ID}"));
    assert_eq!(gone.len(), 2, "the old capture stays");
    assert_eq!(gone[0]["outcome"], "ok");
    assert_eq!(gone[1]["outcome"], "tombstone");

    // One syndication request per post per run.
    for id in [live, EDITED_ID, DELETED_LATER_ID] {
        let asked = env
            .server
            .arrivals_where(|p| p.starts_with("/syndication/") && p.contains(&format!("id={id}&")));
        assert_eq!(asked.len(), 2, "{id}: one for add, one for recheck");
    }

    // Again: nothing new to store (the edit is the latest capture now, the
    // tombstone is already recorded).
    let (code, lines, _, err) = run(&env, &["recheck", "--all", "--json"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(outcome(&lines, EDITED_ID)["outcome"], "live");
    let g = outcome(&lines, DELETED_LATER_ID);
    assert_eq!(g["outcome"], "gone");
    assert_eq!(g["capture"], Value::Null, "{g}");
    assert_eq!(count(EDITED_ID), 2);
    assert_eq!(count(DELETED_LATER_ID), 2);
    // Nothing was asked of the archives by a recheck.
    assert_eq!(wayback_requests(&env), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_wayback_sends_the_archive_nothing() {
    let env = fake_x::env().await;
    let rescued = format!("https://twitter.com/BRICSinfo/status/{RESCUED_ID}");
    let tombstone = format!("twitter:{TOMBSTONE_ID}");
    let (code, lines, _, err) = run(
        &env,
        &["add", "--no-wayback", "--json", &rescued, &tombstone],
    );
    assert_eq!(code, Some(0), "{err}");
    for l in &lines {
        assert_eq!(l["outcome"], "tombstone", "what X said stays: {l}");
    }
    assert_eq!(
        wayback_requests(&env),
        0,
        "--no-wayback, even with a --mirror for it"
    );

    // Without it, the archive is asked; finding nothing, X's word stays.
    let (code, lines, _, err) = run(&env, &["add", "--refresh", "--json", &tombstone]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines[0]["outcome"], "tombstone", "{}", lines[0]);
    assert!(wayback_requests(&env) >= 1);
}
