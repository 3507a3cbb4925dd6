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
