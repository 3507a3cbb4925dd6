//! `embarc completions SHELL` and `embarc man`: shell completion scripts and
//! man pages, generated from the command line's own definition.

use super::exit;
use anyhow::{Context, Result};
use clap::CommandFactory;
use std::io::Write;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc completions bash > ~/.local/share/bash-completion/completions/embarc\n  \
    embarc completions zsh > \"${fpath[1]}/_embarc\"\n  \
    embarc completions fish > ~/.config/fish/completions/embarc.fish")]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:\n  \
    embarc man | man -l -\n  \
    embarc man --dir /usr/local/share/man/man1")]
pub struct ManArgs {
    /// Write embarc.1 and one page per command (embarc-archive.1…) into DIR
    /// instead of embarc.1 to stdout
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub fn completions(args: CompletionsArgs) -> Result<u8> {
    let mut cmd = super::Cli::command();
    let mut out = std::io::stdout().lock();
    clap_complete::generate(args.shell, &mut cmd, "embarc", &mut out);
    out.flush()?;
    Ok(exit::OK)
}

pub fn man(args: ManArgs) -> Result<u8> {
    let mut cmd = super::Cli::command();
    // Builds the tree, so each command's page lists the global options too.
    cmd.build();
    let Some(dir) = args.dir else {
        let mut out = std::io::stdout().lock();
        clap_mangen::Man::new(cmd).render(&mut out)?;
        out.flush()?;
        return Ok(exit::OK);
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut pages = vec![("embarc".to_string(), cmd.clone())];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("embarc-{}", sub.get_name());
        // A page names its command as typed; clap keeps names as &'static str,
        // and this process ends after a dozen pages.
        let shown: &'static str = Box::leak(format!("embarc {}", sub.get_name()).into_boxed_str());
        pages.push((name, sub.clone().name(shown)));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut bytes = Vec::new();
        clap_mangen::Man::new(page)
            .title(name.to_uppercase())
            .render(&mut bytes)?;
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(exit::OK)
}
