//! Detection against real third-party articles: `tests/fixtures/corpus/articles/`
//! with `truth.jsonl`, the embeds a person found in each. Runs the real binary
//! over the whole folder, as an archivist would.
//!
//! A result matches a truth row when article and provider agree and the id (or,
//! for a row without id, the short link; for a row with neither, handle and
//! date) agrees. Every required row must be reported with its form; everything
//! reported must match a row; a post a row lists once (all rows required) must not
//! be reported more often than the rows say.

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;

fn corpus() -> PathBuf {
    let dir = std::env::var_os("EMBARC_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/corpus/articles")
        });
    assert!(
        dir.join("truth.jsonl").is_file(),
        "corpus not found at {} (set EMBARC_CORPUS)",
        dir.display()
    );
    dir
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    article: String,
    provider: String,
    lead: String,
}

fn truth_key(row: &Value) -> Key {
    let lead = s(row, "id")
        .map(|i| format!("id:{i}"))
        .or_else(|| s(row, "short_link").map(|l| format!("short:{l}")))
        .unwrap_or_else(|| {
            format!(
                "who:{}|{}",
                s(row, "handle").unwrap_or_default().to_lowercase(),
                s(row, "date").unwrap_or_default()
            )
        });
    Key {
        article: s(row, "article").unwrap_or_default(),
        provider: s(row, "provider").unwrap_or_default(),
        lead,
    }
}

/// The keys a reported embed could match (by id, by short link, by handle+date).
fn found_keys(article: &str, e: &Value) -> Vec<Key> {
    let provider = s(e, "provider").unwrap_or_default();
    let mut leads = Vec::new();
    if let Some(i) = s(e, "id") {
        leads.push(format!("id:{i}"));
    }
    if let Some(l) = s(e, "short_link") {
        leads.push(format!("short:{l}"));
    }
    if let Some(q) = e.get("quote").filter(|q| !q.is_null()) {
        leads.push(format!(
            "who:{}|{}",
            s(q, "handle").unwrap_or_default().to_lowercase(),
            s(q, "date").unwrap_or_default()
        ));
    }
    leads
        .into_iter()
        .map(|lead| Key {
            article: article.to_string(),
            provider: provider.clone(),
            lead,
        })
        .collect()
}

#[test]
fn scan_matches_the_hand_made_truth() {
    let dir = corpus();
    let truth: Vec<Value> = std::fs::read_to_string(dir.join("truth.jsonl"))
        .expect("read truth.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("truth row is JSON"))
        .collect();

    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .args(["scan", "--json", "-q"])
        .arg(&dir)
        .output()
        .expect("run embarc");
    assert!(
        out.status.success(),
        "scan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let prefix = format!("{}/", dir.display());
    let found: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is JSON"))
        .collect();

    // rows per key
    let mut rows: BTreeMap<Key, Vec<&Value>> = BTreeMap::new();
    for r in &truth {
        rows.entry(truth_key(r)).or_default().push(r);
    }
    let mut reported: BTreeMap<Key, Vec<&Value>> = BTreeMap::new();
    let mut problems = Vec::new();
    for e in &found {
        let path = s(e, "article").unwrap_or_default();
        let article = path.strip_prefix(&prefix).unwrap_or(&path).to_string();
        match found_keys(&article, e)
            .into_iter()
            .find(|k| rows.contains_key(k))
        {
            Some(k) => reported.entry(k).or_default().push(e),
            None => problems.push(format!("reported but not in truth: {article}: {e}")),
        }
    }
    for (key, rs) in &rows {
        let required: Vec<&&Value> = rs
            .iter()
            .filter(|r| r["required"] == Value::Bool(true))
            .collect();
        let got = reported.get(key).map(Vec::as_slice).unwrap_or(&[]);
        if got.len() < required.len() {
            problems.push(format!(
                "missing {key:?}: want {} got {}",
                required.len(),
                got.len()
            ));
            continue;
        }
        if required.len() == rs.len() && got.len() > rs.len() {
            problems.push(format!(
                "reported {key:?} {} times, truth has {}",
                got.len(),
                rs.len()
            ));
        }
        // Forms of required rows must all be reported.
        let mut forms: Vec<String> = got.iter().filter_map(|e| s(e, "form")).collect();
        for r in required {
            let want = s(r, "form").unwrap_or_default();
            match forms.iter().position(|f| *f == want) {
                Some(i) => {
                    forms.remove(i);
                }
                None => problems.push(format!("{key:?}: form {want} not reported (got {forms:?})")),
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
