//! The command line's habits, as users of ripgrep, gallery-dl or yt-dlp
//! expect them: shell completions that parse, a man page that renders,
//! `--version` naming the build, `-j`, and `-vv` / `--log FILE` request lines.

mod support;

use std::process::{Command, Stdio};
use support::fake_x;

fn embarc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_embarc"))
}

#[test]
fn bash_completions_parse_and_offer_the_commands() {
    let out = embarc()
        .args(["completions", "bash"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let script = String::from_utf8(out.stdout).expect("utf-8");
    for word in ["archive", "render", "--shard", "--dry-run", "--input-file"] {
        assert!(script.contains(word), "{word} missing from the completions");
    }
    let mut bash = Command::new("bash")
        .arg("-n")
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("bash");
    use std::io::Write;
    bash.stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("write");
    let checked = bash.wait_with_output().expect("bash -n");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // zsh and fish check the syntax of their scripts without running them.
    let dir = tempfile::tempdir().expect("tempdir");
    for (shell, check) in [("zsh", &["-n"][..]), ("fish", &["--no-execute"][..])] {
        let out = embarc().args(["completions", shell]).output().expect("run");
        assert_eq!(out.status.code(), Some(0));
        let script = dir.path().join(format!("embarc.{shell}"));
        std::fs::write(&script, &out.stdout).expect("write");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("dry-run"),
            "{shell}"
        );
        let checked = Command::new(shell)
            .args(check)
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("{shell} (scripts/test installs it): {e}"));
        assert!(
            checked.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&checked.stderr)
        );
    }
}

#[test]
fn every_command_shows_examples_in_its_help() {
    for cmd in [
        "scan",
        "archive",
        "add",
        "ls",
        "show",
        "verify",
        "reindex",
        "render",
        "export",
        "completions",
        "man",
        "config",
    ] {
        let out = embarc().args([cmd, "--help"]).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{cmd}");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Example"), "{cmd} --help has no example");
    }
}

#[test]
fn the_man_pages_render() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = embarc()
        .args(["man", "--dir"])
        .arg(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    for page in ["embarc.1", "embarc-archive.1", "embarc-render.1"] {
        let shown = Command::new("man")
            .arg("-l")
            .arg(dir.path().join(page))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .output()
            .expect("man -l");
        let text = String::from_utf8_lossy(&shown.stdout);
        assert!(shown.status.success(), "{page}");
        assert!(
            text.contains("NAME") && text.contains("OPTIONS"),
            "{page}: {text}"
        );
    }
    let archive = Command::new("man")
        .arg("-l")
        .arg(dir.path().join("embarc-archive.1"))
        .env("MANPAGER", "cat")
        .output()
        .expect("man -l");
    let text = String::from_utf8_lossy(&archive.stdout);
    assert!(
        text.contains("--shard") && text.contains("--archive"),
        "{text}"
    );
}

#[test]
fn version_names_the_build() {
    let out = embarc().arg("--version").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text.starts_with(&format!("embarc {}", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    assert!(text.contains("commit "), "{text}");
    assert!(text.contains("features: "), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn very_verbose_runs_print_and_log_every_request() {
    let server = fake_x::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("requests.log");
    let mut cmd = embarc();
    cmd.arg("--archive").arg(dir.path().join("archive"));
    for m in fake_x::mirror_flags(&server.base) {
        cmd.arg("--mirror").arg(m);
    }
    let out = tokio::task::block_in_place(|| {
        cmd.args(["-vv", "add", "-j", "2", "--log"])
            .arg(&log)
            .arg("twitter:1641086480675225601")
            .output()
    })
    .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let requests: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("embarc: GET "))
        .collect();
    assert!(
        requests.iter().any(|l| l
            .contains("cdn.syndication.twimg.com/tweet-result?id=1641086480675225601")
            && l.contains("-> 200")),
        "{stderr}"
    );
    assert!(
        requests.iter().any(|l| l.contains("pbs.twimg.com")),
        "{stderr}"
    );
    assert!(requests.iter().all(|l| l.contains(" ms")), "{stderr}");
    let logged = std::fs::read_to_string(&log).expect("log");
    assert_eq!(logged.lines().count(), requests.len(), "{logged}");
    assert!(
        logged.lines().all(|l| l.contains(" GET https://")),
        "{logged}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_config_file_sets_defaults_that_flags_and_environment_override() {
    let server = fake_x::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("from-config");
    let config = dir.path().join("config.toml");
    let mirrors: Vec<String> = fake_x::mirror_flags(&server.base)
        .iter()
        .map(|m| format!("{m:?}"))
        .collect();
    std::fs::write(
        &config,
        format!(
            "archive = {:?}\nmirror = [{}]\nconcurrency = 3\nuser_agent = \"embarc-test (+mailto:test@example.org)\"\n",
            archive.display().to_string(),
            mirrors.join(", ")
        ),
    )
    .expect("write");
    // No flag: the file's archive and mirrors are used.
    let out = tokio::task::block_in_place(|| {
        embarc()
            .arg("--config")
            .arg(&config)
            .env_remove("EMBARC_ARCHIVE")
            .env_remove("EMBARC_MIRROR")
            .args(["add", "--json", "twitter:1641086480675225601"])
            .output()
    })
    .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"archived\""));
    assert!(archive.join("objects").is_dir());

    // `embarc config` says where each value came from: flag > environment > file.
    let settings = |extra: &[&str], env: Option<&str>| {
        let mut cmd = embarc();
        cmd.arg("--config")
            .arg(&config)
            .env_remove("EMBARC_ARCHIVE");
        if let Some(e) = env {
            cmd.env("EMBARC_ARCHIVE", e);
        }
        let out = cmd
            .args(extra)
            .args(["config", "--json"])
            .output()
            .expect("config");
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("JSON"))
            .map(|v| (v["key"].as_str().unwrap_or("").to_string(), v))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let s = settings(&[], None);
    assert_eq!(s["archive"]["value"], archive.display().to_string());
    assert!(
        s["archive"]["source"]
            .as_str()
            .unwrap_or("")
            .starts_with("config ")
    );
    assert_eq!(s["concurrency"]["value"], 3);
    assert_eq!(
        s["user_agent"]["value"],
        "embarc-test (+mailto:test@example.org)"
    );
    let s = settings(&[], Some("/tmp/from-env"));
    assert_eq!(s["archive"]["value"], "/tmp/from-env");
    assert_eq!(s["archive"]["source"], "environment");
    let s = settings(&["--archive", "/tmp/from-flag"], Some("/tmp/from-env"));
    assert_eq!(s["archive"]["value"], "/tmp/from-flag");
    assert_eq!(s["archive"]["source"], "flag");

    // A typo in the file, a bad value, or a --config that does not exist: exit 2, named.
    for (text, word) in [
        ("archve = \"x\"\n", "archve"),
        ("concurrency = 99\n", "concurrency"),
    ] {
        std::fs::write(&config, text).expect("write");
        let out = embarc()
            .arg("--config")
            .arg(&config)
            .args(["add", "twitter:20"])
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(word) && err.contains("config.toml"), "{err}");
    }
    let out = embarc()
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .arg("ls")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_user_agent_names_the_operator_and_each_capture_keeps_the_one_it_sent() {
    let server = fake_x::start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    let run = |extra: &[&str]| {
        let mut cmd = embarc();
        cmd.arg("--archive").arg(&archive);
        for m in fake_x::mirror_flags(&server.base) {
            cmd.arg("--mirror").arg(m);
        }
        cmd.env_remove("EMBARC_USER_AGENT")
            .env_remove("EMBARC_CONTACT");
        let out = tokio::task::block_in_place(|| cmd.args(extra).output()).expect("run");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{extra:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    run(&[
        "--contact",
        "desk@example.org",
        "add",
        "twitter:1641086480675225601",
    ]);
    let sent = server.user_agents();
    assert!(!sent.is_empty());
    let version = env!("CARGO_PKG_VERSION");
    let expected =
        format!("embarc/{version} (archiving embedded posts; contact: desk@example.org)");
    assert!(sent.iter().all(|ua| *ua == expected), "{sent:?}");
    // No placeholder address in the default.
    assert!(sent.iter().all(|ua| !ua.contains("github.com/embarc")));

    // A second capture sent with --user-agent; the export's request records
    // carry what each capture sent, not today's setting.
    let out = run(&[
        "--user-agent",
        "newsroom-bot/2 (+mailto:ops@example.org)",
        "--color",
        "always",
        "add",
        "--refresh",
        "twitter:1641086480675225601",
    ]);
    // The outcome word is coloured on request, and the columns still line up.
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(line.contains("\x1b[32marchived\x1b[0m      "), "{line:?}");
    let warc = dir.path().join("out.warc.gz");
    run(&["export", "--warc", warc.to_str().expect("utf-8 path")]);
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::MultiGzDecoder::new(std::fs::File::open(&warc).expect("warc")),
        &mut bytes,
    )
    .expect("gunzip");
    let text = String::from_utf8_lossy(&bytes);
    let agents: std::collections::BTreeSet<&str> = text
        .split("WARC/1.1\r\n")
        .filter(|r| r.contains("WARC-Type: request"))
        .filter_map(|r| r.lines().find_map(|l| l.strip_prefix("user-agent: ")))
        .collect();
    assert_eq!(
        agents,
        [
            expected.as_str(),
            "newsroom-bot/2 (+mailto:ops@example.org)"
        ]
        .into_iter()
        .collect(),
        "{text:.2000}"
    );
}

#[test]
fn colour_follows_the_flag_then_no_color_and_never_goes_into_a_pipe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let help = |args: &[&str], no_color: bool| {
        let mut cmd = embarc();
        cmd.env_remove("EMBARC_COLOR").env_remove("NO_COLOR");
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // Into a pipe: plain, unless asked; --color always wins over NO_COLOR
    // (a flag beats the environment, as no-color.org says).
    assert!(!help(&["--help"], false).contains('\x1b'));
    assert!(help(&["--color", "always", "--help"], false).contains("\x1b["));
    assert!(help(&["--color=always", "--help"], true).contains("\x1b["));
    assert!(!help(&["--color", "never", "--help"], false).contains('\x1b'));
    // Outcome words in `ls` on an empty-but-real archive print nothing; a
    // bad value is a usage error naming the choices.
    let out = embarc()
        .arg("--archive")
        .arg(dir.path().join("a"))
        .args(["--color", "sometimes", "ls"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("sometimes") && err.contains("always"), "{err}");
}
