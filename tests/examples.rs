//! The bundled example articles (the README's first command) report exactly
//! the embeds written into them, as listed by hand in `EXPECTED.jsonl`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn field(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_string)
}

#[test]
fn examples_report_exactly_what_they_contain() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/articles");
    let expected: Vec<Value> = std::fs::read_to_string(dir.join("EXPECTED.jsonl"))
        .expect("EXPECTED.jsonl")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let out = Command::cargo_bin("embarc")
        .expect("binary")
        .args(["scan", "--json", "-q"])
        .arg(&dir)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let found: Vec<Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON"))
        .collect();
    let key = |v: &Value, article: String| {
        (
            article,
            field(v, "provider"),
            field(v, "form"),
            field(v, "id"),
            field(v, "short_link"),
        )
    };
    let got: Vec<_> = found
        .iter()
        .map(|v| {
            let a = field(v, "article").expect("article");
            let name = Path::new(&a)
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            key(v, name)
        })
        .collect();
    let want: Vec<_> = expected
        .iter()
        .map(|v| key(v, field(v, "article").expect("article")))
        .collect();
    assert_eq!(got, want);
    // Where the article quotes the post, the quote names the expected author.
    for (f, e) in found.iter().zip(&expected) {
        if let Some(handle) = f
            .get("quote")
            .and_then(|q| q.get("handle"))
            .and_then(Value::as_str)
        {
            assert_eq!(Some(handle.to_string()), field(e, "handle"), "{f}");
        }
    }
}
