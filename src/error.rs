//! The crate's error type. Every message says what was wrong and what to change.

use std::path::PathBuf;

/// Errors from parsing inputs, validating parameters and writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value that breaks a documented rule: `field` names what to change.
    #[error("{}: {}", one_line(.field), one_line(.message))]
    Invalid {
        /// The field, flag or key at fault.
        field: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A file that could not be read or written.
    #[error("{}: {}", one_line(&.path.display().to_string()), one_line(&.source.to_string()))]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// A configuration file that is not valid TOML or has unknown or mistyped keys.
    #[error("{}: {}", one_line(.path), one_line(.message))]
    Config {
        /// The file (and where in it).
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A run whose results fail the checks its config states (e.g. a paper's values).
    #[error("{}: {}", one_line(.path), one_line(.message))]
    Check {
        /// The run's output folder.
        path: String,
        /// Which checks failed.
        message: String,
    },
    /// A durable store (the decision log) that could not be opened, read or written.
    #[error("decision log {}: {}", one_line(.path), one_line(.message))]
    Store {
        /// The store's file.
        path: String,
        /// What failed.
        message: String,
    },
    /// A plot that could not be drawn.
    #[error("plot {}: {}", one_line(.path), one_line(.message))]
    Plot {
        /// The plot's file.
        path: String,
        /// What failed.
        message: String,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Whether this error is the caller's input (exit code 2) rather than the environment (exit code 1): a bad
    /// value or config, or a path the caller named that is missing, not a file, not readable or not UTF-8.
    pub fn is_input_error(&self) -> bool {
        use std::io::ErrorKind::*;
        // ELOOP: a symbolic-link loop the caller named (its ErrorKind is not stable yet).
        #[cfg(unix)]
        const ELOOP: i32 = libc::ELOOP;
        #[cfg(not(unix))]
        const ELOOP: i32 = i32::MIN;
        matches!(self, Error::Invalid { .. } | Error::Config { .. })
            || matches!(self, Error::Io { source, .. } if matches!(
                source.kind(),
                NotFound | PermissionDenied | IsADirectory | NotADirectory | InvalidData | InvalidFilename
            ) || source.raw_os_error() == Some(ELOOP))
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// A TOML parse or type error as a one-line [`Error::Config`] — the one formatter of every TOML input (configs,
/// scenarios, PO-OSG and game files): `line N, key `k`: message` where the line assigns a key, else
/// `line N (`the line`): message`; the message alone where serde gives no position.
pub fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> Error {
    let mut message = one_line(e.message());
    if let Some(span) = e.span() {
        let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
        let src = text.lines().nth(line_no - 1).unwrap_or("").trim();
        let key = snippet(src.split('=').next().unwrap_or(""));
        message = if !key.is_empty() && !key.starts_with('[') && src.contains('=') {
            format!("line {line_no}, key `{key}`: {message}")
        } else {
            format!("line {line_no} (`{}`): {message}", snippet(src))
        };
    }
    Error::Config {
        path: origin.to_string(),
        message,
    }
}

/// Input text quoted in a message: trimmed, control characters (line breaks, carriage returns, escapes)
/// written as escapes so the message stays one line, and cut to 80 characters.
pub fn snippet(s: &str) -> String {
    let s = one_line(s);
    if s.chars().count() > 80 {
        s.chars().take(79).collect::<String>() + "…"
    } else {
        s
    }
}

/// A message made one line: trimmed, line breaks as spaces, other control characters as escapes, and numbers
/// written with more than 20 digits (an f64 printed in full) shortened to scientific notation.
pub fn one_line(s: &str) -> String {
    static LONG: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let long = LONG.get_or_init(|| regex::Regex::new(r"-?\d[\d.]{20,}").expect("a valid pattern"));
    let s = long.replace_all(s, |c: &regex::Captures| {
        c[0].parse::<f64>()
            .map(crate::numerics::brief)
            .unwrap_or_else(|_| c[0].to_string())
    });
    s.trim()
        .chars()
        .map(|c| match c {
            '\n' => " ".to_string(),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                c.escape_debug().to_string()
            }
            c => c.to_string(),
        })
        .collect()
}
