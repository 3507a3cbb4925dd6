//! Printing helpers: terminal-safe text, broken-pipe detection, and library
//! errors with the advice only the command line can give (which flag to pass).

/// Whether an error is a closed stdout (`embarc scan … | head`): not a failure.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || e.downcast_ref::<serde_json::Error>()
                .is_some_and(|j| j.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}

/// A fatal error's line (without the `embarc: ` prefix): the chain, each
/// cause once, then what to do next when a library error in it calls for a
/// flag of ours.
pub fn fatal_line(err: &anyhow::Error) -> String {
    let advice = err
        .chain()
        .find_map(|e| e.downcast_ref::<embarc::Error>())
        .and_then(archive_advice);
    match advice {
        Some(a) => format!("{err:#}; {a}"),
        None => format!("{err:#}"),
    }
}

/// An article's failure on one line: what failed and where, each cause once,
/// then what to do next (a cap is raised with `--max-size`).
pub fn article_error(err: &embarc::Error) -> String {
    let advice = match err {
        embarc::Error::TooLarge { .. } => Some("split the file or raise the limit with --max-size"),
        e => archive_advice(e),
    };
    match advice {
        Some(a) => format!("{}; {a}", err.full_message()),
        None => err.full_message(),
    }
}

/// What to do about an archive the library refused, in our flags.
fn archive_advice(err: &embarc::Error) -> Option<&'static str> {
    match err {
        embarc::Error::NotAnArchive { .. } => {
            Some("pass --archive with an archive or an empty folder")
        }
        embarc::Error::NoArchive { .. } => Some(
            "create one with `embarc add URL…` or `embarc archive ARTICLE…`, or pass --archive (or set EMBARC_ARCHIVE) to name an existing one",
        ),
        _ => None,
    }
}

/// Writes `value` as one line of JSON (the `--json` output of every command).
pub fn json_line(
    out: &mut impl std::io::Write,
    value: &impl serde::Serialize,
) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

/// `--color`: when outcome words and clap's help and errors are coloured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless `NO_COLOR` is set (to anything but "").
    Auto,
    /// Always, even into a pipe or a file.
    Always,
    /// Never.
    Never,
}

static COLOR: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

/// Decides colour for this run from `--color` (or `EMBARC_COLOR`) as written
/// in `args`, before clap parses them (so clap's own errors follow it too),
/// and `NO_COLOR`. Returns clap's choice.
pub fn init_color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut when = std::env::var("EMBARC_COLOR").ok();
    let mut it = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(a) = it.next() {
        if a == "--" {
            break;
        } else if a == "--color" {
            when = it.next().map(|v| v.into_owned());
        } else if let Some(v) = a.strip_prefix("--color=") {
            when = Some(v.to_string());
        }
    }
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let (choice, stdout) = match when.as_deref() {
        Some("always") => (clap::ColorChoice::Always, true),
        Some("never") => (clap::ColorChoice::Never, false),
        _ if no_color => (clap::ColorChoice::Never, false),
        _ => (
            clap::ColorChoice::Auto,
            std::io::IsTerminal::is_terminal(&std::io::stdout()),
        ),
    };
    COLOR.store(u8::from(stdout), std::sync::atomic::Ordering::Relaxed);
    choice
}

/// An outcome word padded to `width`, coloured when stdout takes colour:
/// green for a kept post, yellow for a post kept in part or gone at the
/// source, red for a failure.
pub fn outcome(word: &str, width: usize) -> String {
    let padded = format!("{word:<width$}");
    if COLOR.load(std::sync::atomic::Ordering::Relaxed) == 0 {
        return padded;
    }
    let code = match word {
        "archived" | "unchanged" | "ok" => "32",
        "failed" | "error" => "31",
        "skipped" => "2",
        _ => "33",
    };
    // The padding stays outside the escape so columns line up.
    format!("\x1b[{code}m{word}\x1b[0m{}", &padded[word.len()..])
}

/// Text from an article made safe for a terminal: control characters (escape
/// sequences, carriage returns, bidi overrides) become visible escapes.
pub fn clean(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_terminal_controls() {
        assert_eq!(clean("a\u{1b}[31mb\r"), "a\\u{1b}[31mb\\r");
        assert_eq!(clean("日本 ok"), "日本 ok");
    }
}
