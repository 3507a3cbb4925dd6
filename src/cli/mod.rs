//! Command line: parse arguments into a resolved config, call the library, print,
//! and choose the exit code (0 done, 1 some items failed, 2 usage or fatal).

mod capture_cmds;
mod config;
mod export;
mod meta;
mod output;
mod recheck;
mod render;
mod scan;
mod serve;
mod store_cmds;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes scripts rely on (docs/cli.md).
pub mod exit {
    /// Everything done.
    pub const OK: u8 = 0;
    /// Some items failed; each is named in the output.
    pub const SOME_FAILED: u8 = 1;
    /// Usage error or fatal error.
    pub const FATAL: u8 = 2;
}

/// `embarc --version`: the version, the commit and the features built in.
#[cfg(feature = "cloud")]
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("EMBARC_COMMIT"),
    ")\nfeatures: cloud (s3://, gs://, az://)"
);
/// `embarc --version`: the version, the commit and the features built in.
#[cfg(not(feature = "cloud"))]
const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("EMBARC_COMMIT"),
    ")\nfeatures: none (no bucket archives)"
);

#[derive(Parser, Debug)]
#[command(
    name = "embarc",
    version,
    long_version = LONG_VERSION,
    about = "Find, archive and re-render the social-media posts articles embed",
    long_about = "embarc rescues social-media embeds from link rot.\n\n\
        `embarc scan` finds every embedded post (X/Twitter, YouTube, Instagram, TikTok, \
        Bluesky, Mastodon, Threads, Facebook, Reddit) in HTML, Markdown and plain-text articles."
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options valid before or after the subcommand.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// Machine output: one JSON object per line on stdout
    #[arg(long, global = true)]
    pub json: bool,
    /// Print less on stderr (no progress, no summary, no warnings)
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more on stderr: -v the full URL of each failed request, -vv a
    /// line for every request (method, URL, status, bytes, time)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// The configuration file (default: $XDG_CONFIG_HOME/embarc/config.toml, if present)
    #[arg(long, global = true, env = "EMBARC_CONFIG", value_name = "FILE")]
    pub config: Option<std::path::PathBuf>,
    /// Append a line for every request to FILE (as -vv prints them)
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<std::path::PathBuf>,
    /// The archive: a folder, or a bucket prefix (s3://BUCKET/PREFIX, gs://…, az://…)
    #[arg(
        long,
        global = true,
        env = "EMBARC_ARCHIVE",
        value_name = "DIR",
        default_value = "archive"
    )]
    pub archive: std::path::PathBuf,
    /// The index cache (default: index.sqlite in the archive folder; for an
    /// archive in a bucket, under ~/.cache/embarc keyed by its URL)
    #[arg(long, global = true, env = "EMBARC_INDEX", value_name = "PATH")]
    pub index: Option<std::path::PathBuf>,
    /// Send requests for HOST to BASE_URL + the original path and query (repeatable)
    #[arg(
        long,
        global = true,
        env = "EMBARC_MIRROR",
        value_name = "HOST=BASE_URL",
        value_delimiter = ','
    )]
    pub mirror: Vec<embarc::net::Mirror>,
    /// The User-Agent sent with every request (say who you are and how to
    /// reach you, as archives and platforms ask of crawlers)
    #[arg(long, global = true, env = "EMBARC_USER_AGENT", value_name = "UA", value_parser = user_agent_value)]
    pub user_agent: Option<String>,
    /// Your e-mail or URL, added to the default User-Agent so the sites asked
    /// can reach you (ignored with --user-agent)
    #[arg(long, global = true, env = "EMBARC_CONTACT", value_name = "EMAIL_OR_URL", value_parser = user_agent_value)]
    pub contact: Option<String>,
    /// Meta's app token (APP_ID|CLIENT_TOKEN) for Instagram, Threads and
    /// Facebook oEmbed; without one their posts are kept as articles quote them
    #[arg(
        long,
        global = true,
        env = "EMBARC_META_TOKEN",
        value_name = "TOKEN",
        hide_env_values = true,
        value_parser = meta_token_value
    )]
    pub meta_token: Option<String>,
    /// Colour outcome words, help and errors: auto (on a terminal, unless
    /// NO_COLOR is set), always, never
    #[arg(
        long,
        global = true,
        env = "EMBARC_COLOR",
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: output::ColorWhen,
}

impl Global {
    /// Meta's app token, when one was given.
    pub fn meta_token(&self) -> Option<embarc::capture::meta::MetaToken> {
        self.meta_token
            .as_deref()
            .and_then(embarc::capture::meta::MetaToken::new)
    }

    /// The User-Agent to send: `--user-agent`, else the default with `--contact`.
    pub fn user_agent(&self) -> String {
        self.user_agent
            .clone()
            .unwrap_or_else(|| embarc::net::default_user_agent(self.contact.as_deref()))
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Find embeds in articles (files, folders, `-` for stdin)
    Scan(scan::ScanArgs),
    /// Scan articles, then resolve, capture and store every embedded post
    Archive(capture_cmds::ArchiveArgs),
    /// Capture posts given by URL (any form, short links included)
    Add(capture_cmds::AddArgs),
    /// List archived posts, newest capture first
    #[command(
        after_help = "Examples:\n  embarc ls\n  embarc ls --json | jq -r 'select(.latest_outcome != \"ok\") | .post'"
    )]
    Ls,
    /// Show one post's captures: outcome, time, text, media digests
    Show(store_cmds::ShowArgs),
    /// Ask X whether archived posts are still there: live, edited, gone
    Recheck(recheck::RecheckArgs),
    /// Re-hash objects and follow every ref; exit 1 on any missing or corrupt object
    Verify(store_cmds::VerifyArgs),
    /// Rebuild index.sqlite from objects and refs
    #[command(
        after_help = "Examples:\n  embarc reindex\n  embarc reindex --index /tmp/embarc-index.sqlite   # a read-only archive"
    )]
    Reindex,
    /// Write articles with their embeds replaced by static cards from the archive
    Render(render::RenderArgs),
    /// Write the archive (or some posts of it) as WARC 1.1 and/or WACZ
    Export(export::ExportArgs),
    /// Serve the archive read-only: oEmbed, media, Memento, browse pages
    Serve(serve::ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(meta::CompletionsArgs),
    /// Print the man page (or write one per command with --dir)
    Man(meta::ManArgs),
    /// Print the options in force (flags, environment, config file, defaults) and where each came from
    Config(config::ConfigArgs),
}

/// `--user-agent`: printable ASCII, as an HTTP header value must be.
pub(crate) fn user_agent_value(s: &str) -> Result<String, String> {
    if !s.trim().is_empty() && s.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(s.trim().to_string())
    } else {
        Err(format!(
            "{}: a User-Agent is printable ASCII, e.g. \"embarc (+mailto:archive@example.org)\"",
            s.escape_default()
        ))
    }
}

/// `--meta-token`: printable ASCII without spaces (it goes in a header).
/// The error never repeats the value: it is a secret.
pub(crate) fn meta_token_value(s: &str) -> Result<String, String> {
    embarc::capture::meta::MetaToken::new(s)
        .map(|_| s.trim().to_string())
        .ok_or_else(|| {
            "a Meta app token is printable ASCII without spaces (APP_ID|CLIENT_TOKEN)".to_string()
        })
}

/// Runs the command line and returns the process exit code.
pub fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let color = output::init_color(&args);
    let parsed = Cli::command()
        .color(color)
        .try_get_matches_from(args)
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (mut cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                exit::FATAL
            } else {
                exit::OK
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let loaded = match config::load(cli.global.config.as_deref()) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("embarc: {}", output::clean(&e));
            return ExitCode::from(exit::FATAL);
        }
    };
    if let (c, Some(from)) = &loaded {
        let given = |id: &str| config::given(&matches, id);
        let applied = config::apply_global(&mut cli.global, &matches, c, from).and_then(|()| {
            match &mut cli.command {
                Command::Add(a) => a.limits.configure(given, c),
                Command::Archive(a) => a.limits.configure(given, c),
                _ => Ok(()),
            }
            .map_err(|e| format!("{}: {e}", from.display()))
        });
        if let Err(e) = applied {
            eprintln!("embarc: {}", output::clean(&e));
            return ExitCode::from(exit::FATAL);
        }
    }
    // A location no command can use (`ftp://…`) is a usage error for every
    // command, rather than a folder named `ftp:`.
    if let Err(e) = embarc::store::check_location(&cli.global.archive) {
        eprintln!("embarc: {}", output::clean(&e.to_string()));
        return ExitCode::from(exit::FATAL);
    }
    let result = match cli.command {
        Command::Scan(args) => scan::run(args, &cli.global),
        Command::Archive(args) => capture_cmds::archive(args, &cli.global),
        Command::Add(args) => capture_cmds::add(args, &cli.global),
        Command::Ls => store_cmds::ls(&cli.global),
        Command::Show(args) => store_cmds::show(args, &cli.global),
        Command::Recheck(args) => recheck::run(args, &cli.global),
        Command::Verify(args) => store_cmds::verify(args, &cli.global),
        Command::Reindex => store_cmds::reindex(&cli.global),
        Command::Render(args) => render::run(args, &cli.global),
        Command::Export(args) => export::run(args, &cli.global),
        Command::Serve(args) => serve::run(args, &cli.global),
        Command::Completions(args) => meta::completions(args),
        Command::Man(args) => meta::man(args),
        Command::Config(_) => config::show(&cli.global, &matches, &loaded),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            if output::is_broken_pipe(&err) {
                return ExitCode::from(exit::OK);
            }
            eprintln!("embarc: {}", output::fatal_line(&err));
            ExitCode::from(exit::FATAL)
        }
    }
}
