//! The crate's error type. Every message says what was wrong and what to change.

use std::path::PathBuf;

/// Errors from parsing inputs, validating parameters and writing outputs.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A value that breaks a documented rule: `field` names what to change.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A file that could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A configuration file that is not valid TOML or has unknown or mistyped keys.
    #[error("{path}: {message}")]
    Config { path: String, message: String },
    /// A run whose results fail the checks its config states (e.g. a paper's values).
    #[error("{path}: {message}")]
    Check { path: String, message: String },
    /// A plot that could not be drawn.
    #[error("plot {path}: {message}")]
    Plot { path: String, message: String },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }

    /// Whether this error is the caller's input (exit code 2) rather than the environment (exit code 1).
    pub fn is_input_error(&self) -> bool {
        matches!(self, Error::Invalid { .. } | Error::Config { .. })
            || matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

/// A TOML parse or type error as a one-line [`Error::Config`]: the message, the line number and the line itself
/// (which names the key when serde's message does not).
pub fn toml_error(origin: &str, text: &str, e: &toml::de::Error) -> Error {
    let at = e
        .span()
        .map(|s| {
            let line_no = text[..s.start.min(text.len())].matches('\n').count() + 1;
            let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
            format!(" (line {line_no}: `{line}`)")
        })
        .unwrap_or_default();
    Error::Config {
        path: origin.to_string(),
        message: e.message().trim().replace('\n', " ") + &at,
    }
}
