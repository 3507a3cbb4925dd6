//! `embarc serve`: flags into a [`embarc::serve::Config`], the socket bound,
//! the access log printed (a JSON line per request on stdout with `--json`,
//! else a text line on stderr), until SIGINT or SIGTERM.

use super::output::{clean, json_line};
use super::{Global, exit};
use anyhow::{Context, Result, bail};
use embarc::serve::{AccessLine, Config, Observer, Server};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
#[command(
    after_help = "Examples:\n  embarc serve\n  embarc serve --addr 0.0.0.0:8080 --base-url https://archive.example.org\n  curl 'http://127.0.0.1:8080/oembed?url=https://x.com/jack/status/20'"
)]
pub struct ServeArgs {
    /// The address to listen on (loopback unless you say otherwise)
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// The URL clients reach this server at (behind a proxy, its public URL);
    /// oEmbed answers and Memento links are absolute under it [default: http://ADDR]
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Where oEmbed cards refer to media (a CDN holding HEX.EXT files, as
    /// `render --media-base`) [default: BASE_URL/media/]
    #[arg(long, value_name = "URL")]
    pub media_base: Option<String>,
    /// Read new captures from the archive every SECONDS (0: only on SIGHUP)
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub refresh: u64,
    /// Posts per browse page
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub page_size: u16,
    /// The cache_age of oEmbed answers (and their Cache-Control max-age)
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    pub cache_age: u64,
}

struct Log {
    json: bool,
    quiet: bool,
}

impl Observer for Log {
    fn request(&self, line: &AccessLine) {
        if self.json {
            let mut out = std::io::stdout().lock();
            let _ = json_line(&mut out, line);
            let _ = out.flush();
        } else if !self.quiet {
            eprintln!(
                "{} {} {} {} {} {}ms",
                line.time,
                line.remote,
                line.method,
                clean(&line.target),
                line.status,
                line.ms
            );
        }
    }

    fn catalog(&self, posts: usize, captures: usize, problems: &[String]) {
        if self.quiet {
            return;
        }
        eprintln!("embarc: serving {posts} posts ({captures} captures)");
        for p in problems.iter().take(10) {
            eprintln!("embarc: warning: {}", clean(p));
        }
        if problems.len() > 10 {
            eprintln!(
                "embarc: warning: {} more records cannot be read; run `embarc verify`",
                problems.len() - 10
            );
        }
    }

    fn refresh_failed(&self, error: &embarc::Error) {
        eprintln!(
            "embarc: warning: the archive could not be read again ({}); still serving what was read before",
            clean(&error.full_message())
        );
    }
}

/// `http://…` or `https://…` with a host, without the trailing `/`.
fn base_url(s: &str, what: &str) -> Result<String> {
    let u = url::Url::parse(s).with_context(|| format!("{what} {s}: not a URL"))?;
    if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
        bail!("{what} {s}: an http:// or https:// URL is needed");
    }
    if u.query().is_some() || u.fragment().is_some() {
        bail!("{what} {s}: no query or fragment, please");
    }
    Ok(s.trim_end_matches('/').to_string())
}

pub fn run(args: ServeArgs, global: &Global) -> Result<u8> {
    let archive = match super::store_cmds::open_for_reading(global)? {
        Some(a) => a,
        None => bail!(
            "the archive at {} is empty: nothing to serve (fill it with `embarc archive` or `embarc add`)",
            global.archive.display()
        ),
    };
    let media_base = args
        .media_base
        .as_deref()
        .map(|m| base_url(m, "--media-base").map(|m| format!("{m}/")))
        .transpose()?;
    let given_base = args
        .base_url
        .as_deref()
        .map(|b| base_url(b, "--base-url"))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(args.addr))
        .with_context(|| format!("--addr {}: cannot listen there", args.addr))?;
    let local = listener.local_addr().context("the bound address")?;
    let base = given_base.unwrap_or_else(|| format!("http://{local}"));
    if !local.ip().is_loopback() && !global.quiet {
        eprintln!(
            "embarc: listening on {local}, reachable from other machines (the default, 127.0.0.1, is not)"
        );
    }
    let config = Config {
        base_url: base.clone(),
        media_base,
        page_size: args.page_size.into(),
        cache_age: args.cache_age,
        refresh: (args.refresh > 0).then(|| Duration::from_secs(args.refresh)),
    };
    let log = Arc::new(Log {
        json: global.json,
        quiet: global.quiet,
    });
    let server = Server::new(archive, config, log)?;
    if global.json {
        let mut out = std::io::stdout().lock();
        json_line(
            &mut out,
            &serde_json::json!({ "listening": base, "addr": local.to_string() }),
        )?;
        out.flush()?;
    }
    if !global.quiet {
        eprintln!("embarc: listening at {base}/ (Ctrl-C to stop)");
    }
    runtime.block_on(server.run(listener, embarc::serve::shutdown_signal()))?;
    if !global.quiet {
        eprintln!("embarc: stopped");
    }
    Ok(exit::OK)
}
