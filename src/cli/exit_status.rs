//! How a command ends when it does not succeed: one line on stderr and an exit code — 2 for a
//! usage error (a bad flag or a combination of flags), 1 for everything else (a missing or
//! malformed file, a diverged run), 128 + the signal number when interrupted (130 for SIGINT,
//! 143 for SIGTERM). Never a panic or a backtrace.

use std::process::ExitCode;

/// The exit code of a usage error.
pub const USAGE_EXIT_CODE: u8 = 2;

/// The exit code of any other failure.
pub const FAILURE_EXIT_CODE: u8 = 1;

/// A command line that cannot be run as given (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Training stopped on a signal after saving its state; `message` says where and how to
/// continue, and the process exits with `exit_code`.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Interrupted {
    /// What happened and how to resume.
    pub message: String,
    /// 128 + the signal number.
    pub exit_code: u8,
}

/// Prints `error` as one line on stderr and gives the exit code that fits it.
pub fn report_failure(error: &anyhow::Error) -> ExitCode {
    if let Some(interrupted) = error.downcast_ref::<Interrupted>() {
        eprintln!("{}", interrupted.message);
        return ExitCode::from(interrupted.exit_code);
    }
    eprintln!(
        "error: {}",
        shorten(&one_line(&chain_text(error)), MAX_MESSAGE_CHARS)
    );
    if error.downcast_ref::<UsageError>().is_some() {
        ExitCode::from(USAGE_EXIT_CODE)
    } else {
        ExitCode::from(FAILURE_EXIT_CODE)
    }
}

/// Ends the process for a command line clap rejected: help and version print as usual; an
/// error prints as one line (with clap's tips) and exits 2.
pub fn report_clap_error(error: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if !error.use_stderr() || error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        error.exit();
    }
    eprintln!("{}", clap_error_line(&error.render().to_string()));
    ExitCode::from(USAGE_EXIT_CODE)
}

/// Clap's rendered error as one line: the `error:` line with the lines that complete it
/// (for example the names of missing arguments), then its tips in parentheses, then where to
/// find help.
pub fn clap_error_line(rendered: &str) -> String {
    let mut lines = rendered.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut line = lines
        .next()
        .unwrap_or("error: invalid command line")
        .to_string();
    let mut details = Vec::new();
    let mut tips = Vec::new();
    for next in lines {
        if next.starts_with("Usage:") || next.starts_with("For more information") {
            break;
        }
        if next.starts_with("tip:") {
            tips.push(next);
        } else {
            details.push(next);
        }
    }
    if !details.is_empty() {
        line.push(' ');
        line.push_str(&details.join(", "));
    }
    if !tips.is_empty() {
        line.push_str(&format!(" ({})", tips.join("; ")));
    }
    line.push_str("; see --help");
    line
}

/// The longest error line printed, in characters: an error that echoes a huge value (a
/// metadata entry, a path) is cut in the middle.
pub const MAX_MESSAGE_CHARS: usize = 600;

/// An error and its causes joined with ": ", each cause once: a cause whose text its
/// context already shows (an error type that prints its source and also returns it as
/// `source()`) is not repeated.
fn chain_text(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// `text` cut to at most `limit` characters: its start, `…`, and its end.
pub fn shorten(text: &str, limit: usize) -> String {
    let count = text.chars().count();
    if count <= limit {
        return text.to_string();
    }
    let head = (limit - 1) / 2;
    let tail = limit - 1 - head;
    let start: String = text.chars().take(head).collect();
    let end: String = text.chars().skip(count - tail).collect();
    format!("{start}…{end}")
}

/// Joins the lines of a message with "; " so that it stays on one line.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clap_errors_become_one_line_with_their_tips() {
        let rendered = "error: unexpected argument '--epoch' found\n\n  tip: a similar argument exists: '--epochs'\n\nUsage: backprop train [OPTIONS]\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_error_line(rendered),
            "error: unexpected argument '--epoch' found (tip: a similar argument exists: '--epochs'); see --help"
        );
    }

    #[test]
    fn an_os_error_is_printed_once() {
        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Wrapper(#[source] std::io::Error);
        let io = std::io::Error::from_raw_os_error(21);
        let error = anyhow::Error::new(Wrapper(io)).context("cannot write out.svg");
        let text = chain_text(&error);
        assert_eq!(text.matches("os error 21").count(), 1, "{text}");
        assert!(text.starts_with("cannot write out.svg: "), "{text}");
    }

    #[test]
    fn long_text_is_cut_in_the_middle() {
        let long = "a".repeat(100) + &"b".repeat(100);
        let short = shorten(&long, 21);
        assert_eq!(short.chars().count(), 21);
        assert!(short.starts_with("aaaaaaaaaa…"));
        assert!(short.ends_with("bbbbbbbbbb"));
        assert_eq!(shorten("short", 21), "short");
    }

    #[test]
    fn multi_line_messages_are_joined() {
        assert_eq!(one_line("a\n  b\n\nc"), "a; b; c");
    }
}
