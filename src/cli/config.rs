//! The configuration file (`$XDG_CONFIG_HOME/embarc/config.toml`, or
//! `--config FILE`): defaults for the options a user would otherwise repeat on
//! every run. A flag or an environment variable always wins over the file, the
//! file over the built-in default; `embarc config` prints what is in force and
//! where each value came from.

use super::{Global, exit};
use anyhow::Result;
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What the file may set. Unknown keys are refused, so a typo is named
/// instead of silently ignored.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `--archive`.
    pub archive: Option<PathBuf>,
    /// `--index`.
    pub index: Option<PathBuf>,
    /// `--mirror`, each `HOST=BASE_URL`.
    pub mirror: Option<Vec<String>>,
    /// `--user-agent`.
    pub user_agent: Option<String>,
    /// `--contact`.
    pub contact: Option<String>,
    /// `--concurrency` of `archive` and `add`.
    pub concurrency: Option<u16>,
    /// `--rate` of `archive` and `add`.
    pub rate: Option<f64>,
    /// `--read-timeout` of `archive` and `add`.
    pub read_timeout: Option<f64>,
    /// `--api-timeout` of `archive` and `add`.
    pub api_timeout: Option<f64>,
    /// `--min-rate` of `archive` and `add`.
    pub min_rate: Option<u64>,
    /// `--meta-token`: a secret, shown only redacted.
    pub meta_token: Option<String>,
    /// `--no-wayback` of `archive` and `add`.
    pub no_wayback: Option<bool>,
}

/// The file read when no `--config` is given.
pub fn default_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("embarc").join("config.toml"))
}

/// Reads the configuration: `explicit` must exist; the default file may be
/// absent (no configuration). Returns it with the path it came from.
pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), String> {
    let (path, required) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => match default_path() {
            Some(p) => (p, false),
            None => return Ok((Config::default(), None)),
        },
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        // The default file may be absent, or behind a home folder this user
        // may not enter (`sudo -u` keeping HOME): no configuration then.
        Err(e)
            if !required
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                ) =>
        {
            return Ok((Config::default(), None));
        }
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let config: Config = toml::from_str(&text).map_err(|e| {
        let msg = e.message().replace('\n', " ");
        format!(
            "{}: {msg}; see `embarc config --help` for the keys",
            path.display()
        )
    })?;
    Ok((config, Some(path)))
}

/// Whether the user gave this argument (on the command line or through its
/// environment variable), in the top-level or the subcommand's matches.
pub fn given(matches: &ArgMatches, id: &str) -> bool {
    let explicit = |m: &ArgMatches| {
        matches!(
            source_of(m, id),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        )
    };
    explicit(matches) || matches.subcommand().is_some_and(|(_, sub)| explicit(sub))
}

/// Where an argument's value came from, `None` when `m` has no such argument.
fn source_of(m: &ArgMatches, id: &str) -> Option<ValueSource> {
    m.try_get_raw(id).ok().flatten()?;
    m.value_source(id)
}

/// Fills the global options the user did not give from the file.
pub fn apply_global(
    global: &mut Global,
    matches: &ArgMatches,
    config: &Config,
    from: &Path,
) -> Result<(), String> {
    let bad = |key: &str, why: String| format!("{}: {key}: {why}", from.display());
    if let Some(a) = &config.archive
        && !given(matches, "archive")
    {
        global.archive = a.clone();
    }
    if let Some(i) = &config.index
        && !given(matches, "index")
    {
        global.index = Some(i.clone());
    }
    if let Some(list) = &config.mirror
        && !given(matches, "mirror")
    {
        global.mirror = list
            .iter()
            .map(|m| m.parse().map_err(|e: String| bad("mirror", e)))
            .collect::<Result<_, _>>()?;
    }
    if let Some(ua) = &config.user_agent
        && !given(matches, "user_agent")
    {
        global.user_agent = Some(super::user_agent_value(ua).map_err(|e| bad("user_agent", e))?);
    }
    if let Some(c) = &config.contact
        && !given(matches, "contact")
    {
        global.contact = Some(super::user_agent_value(c).map_err(|e| bad("contact", e))?);
    }
    if let Some(t) = &config.meta_token
        && !given(matches, "meta_token")
    {
        global.meta_token = Some(super::meta_token_value(t).map_err(|e| bad("meta_token", e))?);
    }
    Ok(())
}

/// `embarc config`: the options in force and where each came from.
#[derive(clap::Args, Debug)]
#[command(
    after_help = "The file (TOML) may set: archive, index, mirror (a list of \
    HOST=BASE_URL), user_agent, contact, meta_token, and for archive/add: concurrency, rate, read_timeout, \
    api_timeout, min_rate, no_wayback. Flags and environment variables win over it.\n\n\
    Example config.toml:\n  \
    archive = \"s3://newsroom/embeds\"\n  \
    contact = \"archive@example.org\"\n  \
    concurrency = 8\n  \
    rate = 2.0"
)]
pub struct ConfigArgs {}

/// One line of `embarc config --json`.
#[derive(Serialize)]
struct Setting<'a> {
    key: &'a str,
    value: serde_json::Value,
    source: String,
}

pub fn show(
    global: &Global,
    matches: &ArgMatches,
    loaded: &(Config, Option<PathBuf>),
) -> Result<u8> {
    let (config, path) = loaded;
    let file = path
        .as_ref()
        .map_or("config".to_string(), |p| format!("config {}", p.display()));
    let source = |id: &str, in_file: bool| {
        if given(matches, id) {
            let env = matches!(source_of(matches, id), Some(ValueSource::EnvVariable))
                || matches.subcommand().is_some_and(|(_, s)| {
                    matches!(source_of(s, id), Some(ValueSource::EnvVariable))
                });
            if env { "environment" } else { "flag" }.to_string()
        } else if in_file {
            file.clone()
        } else {
            "default".to_string()
        }
    };
    let mut settings = vec![
        Setting {
            key: "config",
            value: serde_json::json!(path.as_ref().map(|p| p.display().to_string())),
            source: if path.is_some() { "found" } else { "none" }.into(),
        },
        Setting {
            key: "archive",
            value: serde_json::json!(global.archive.display().to_string()),
            source: source("archive", config.archive.is_some()),
        },
        Setting {
            key: "index",
            value: serde_json::json!(global.index.as_ref().map(|p| p.display().to_string())),
            source: source("index", config.index.is_some()),
        },
        Setting {
            key: "mirror",
            value: serde_json::json!(
                global
                    .mirror
                    .iter()
                    .map(|m| format!("{}={}", m.host, m.base))
                    .collect::<Vec<_>>()
            ),
            source: source("mirror", config.mirror.is_some()),
        },
        Setting {
            key: "user_agent",
            value: serde_json::json!(global.user_agent()),
            source: source("user_agent", config.user_agent.is_some()),
        },
        Setting {
            key: "contact",
            value: serde_json::json!(global.contact),
            source: source("contact", config.contact.is_some()),
        },
        Setting {
            key: "meta_token",
            // A secret: whether one is set, never its value.
            value: serde_json::json!(
                global
                    .meta_token()
                    .map(|_| embarc::capture::meta::MetaToken::REDACTED)
            ),
            source: source("meta_token", config.meta_token.is_some()),
        },
    ];
    // The capture limits (per command; shown as `archive`/`add` would take them).
    let capture = [
        (
            "concurrency",
            serde_json::json!(config.concurrency.unwrap_or(4)),
            config.concurrency.is_some(),
        ),
        (
            "rate",
            serde_json::json!(config.rate),
            config.rate.is_some(),
        ),
        (
            "read_timeout",
            serde_json::json!(config.read_timeout.unwrap_or(30.0)),
            config.read_timeout.is_some(),
        ),
        (
            "api_timeout",
            serde_json::json!(config.api_timeout.unwrap_or(30.0)),
            config.api_timeout.is_some(),
        ),
        (
            "min_rate",
            serde_json::json!(config.min_rate.unwrap_or(10_000)),
            config.min_rate.is_some(),
        ),
        (
            "no_wayback",
            serde_json::json!(config.no_wayback.unwrap_or(false)),
            config.no_wayback.is_some(),
        ),
    ];
    settings.extend(capture.into_iter().map(|(key, value, set)| Setting {
        key,
        value,
        source: if set { file.clone() } else { "default".into() },
    }));
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for s in &settings {
        if global.json {
            super::output::json_line(&mut out, s)?;
        } else {
            writeln!(out, "{} = {}  # {}", s.key, s.value, s.source)?;
        }
    }
    Ok(exit::OK)
}
