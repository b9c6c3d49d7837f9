//! Reading the files a caller names: only regular files, never more than a stated size, always UTF-8.
//!
//! A FIFO or a character device (`/dev/zero`) named as a config, a model or a data file would block or read
//! without end; a huge file would exhaust memory before a parser could refuse it. Every input goes through
//! [`read_text`] (or [`open_regular`] for streamed data), which refuses what is not a regular file and what is
//! larger than its limit with one line naming the path and the limit, as an input error (exit code 2).

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The largest `.pomdp` model read (its reader holds little more than the tables it builds).
pub const MAX_TEXT_BYTES: u64 = 256 << 20;
/// The largest TOML file read: a config, scenario, prior file, PO-OSG game or game spec. The TOML parser holds
/// about 37 bytes per byte of input while it reads (measured: 581 MB peak for a 15.9 MB PO-OSG file of 200,000
/// states, `/usr/bin/time -f %M cirl posg`), so 32 MB keeps a parse near 1.2 GB.
pub const MAX_TOML_BYTES: u64 = 32 << 20;
/// The largest data file (a `csv:` prior) read.
pub const MAX_DATA_BYTES: u64 = 1 << 30;

/// An I/O error on a path the caller named.
pub fn io_error(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checks that `path` is a regular file of at most `limit` bytes.
pub fn check_regular(path: &Path, limit: u64, what: &str) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(Error::invalid(what, "names no file: give a path"));
    }
    let meta = std::fs::metadata(path)
        .map_err(|e| Error::invalid(what, format!("{}: {e}", path.display())))?;
    if !meta.is_file() {
        let kind = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(Error::invalid(
            what,
            format!("{} is {kind}: give a file", path.display()),
        ));
    }
    if meta.len() > limit {
        return Err(Error::invalid(
            what,
            format!(
                "{} is {} MB, larger than the {} MB this reads",
                path.display(),
                meta.len() >> 20,
                limit >> 20
            ),
        ));
    }
    Ok(())
}

/// Opens a regular file of at most `limit` bytes for streaming.
pub fn open_regular(path: &Path, limit: u64, what: &str) -> Result<impl Read> {
    check_regular(path, limit, what)?;
    Ok(std::fs::File::open(path)
        .map_err(io_error(path))?
        .take(limit + 1))
}

/// Reads a regular file of at most `limit` bytes (one that grows past it while read is refused too).
pub fn read_bytes(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open_regular(path, limit, what)?
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > limit {
        return Err(Error::invalid(
            what,
            format!(
                "{} grew past the {} MB this reads",
                path.display(),
                limit >> 20
            ),
        ));
    }
    Ok(bytes)
}

/// Reads a regular UTF-8 text file of at most `limit` bytes (a leading byte-order mark removed).
pub fn read_text(path: &Path, limit: u64, what: &str) -> Result<String> {
    let bytes = read_bytes(path, limit, what)?;
    let mut text = String::from_utf8(bytes).map_err(|e| {
        Error::invalid(
            what,
            format!(
                "{} is not UTF-8 text (byte {} is invalid)",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    if text.starts_with('\u{feff}') {
        text.drain(..3);
    }
    Ok(text)
}

/// Checks that `s` can name a file inside an output folder by itself: 1–100 characters from letters, digits,
/// `-`, `_` and `.`, not starting with `.` (so no `..`, no separators, no hidden files). Returns why not.
pub fn check_identifier(s: &str) -> std::result::Result<(), String> {
    if s.is_empty() || s.len() > 100 {
        return Err(format!(
            "'{s}' must be 1 to 100 characters long (letters, digits, '-', '_', '.')"
        ));
    }
    if s.starts_with('.') {
        return Err(format!(
            "'{s}' must not start with '.' (it names a file inside the output folder)"
        ));
    }
    if let Some(c) = s
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "'{s}' contains {c:?}; use letters, digits, '-', '_' and '.' only (it names a file inside the output folder)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.toml");
        std::fs::write(&f, "\u{feff}x = 1\n").unwrap();
        assert_eq!(read_text(&f, 100, "config").unwrap(), "x = 1\n");
        let e = read_text(&f, 3, "config").unwrap_err();
        assert!(
            e.is_input_error() && e.to_string().contains("larger"),
            "{e}"
        );
        let e = read_text(dir.path(), 100, "config").unwrap_err();
        assert!(
            e.is_input_error() && e.to_string().contains("directory"),
            "{e}"
        );
        let e = read_text(Path::new("/dev/zero"), 100, "config").unwrap_err();
        assert!(
            e.is_input_error() && e.to_string().contains("not a regular file"),
            "{e}"
        );
        std::fs::write(&f, [0x66, 0xff, 0x66]).unwrap();
        let e = read_text(&f, 100, "config").unwrap_err();
        assert!(e.is_input_error() && e.to_string().contains("UTF-8"), "{e}");
        #[cfg(unix)]
        {
            let fifo = dir.path().join("f");
            let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
            // SAFETY: a valid C string naming a new path in a temporary folder.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            let e = read_text(&fifo, 100, "config").unwrap_err();
            assert!(e.is_input_error() && e.to_string().contains("FIFO"), "{e}");
            let (l1, l2) = (dir.path().join("l1"), dir.path().join("l2"));
            std::os::unix::fs::symlink(&l2, &l1).unwrap();
            std::os::unix::fs::symlink(&l1, &l2).unwrap();
            let e = read_text(&l1, 100, "config").unwrap_err();
            assert!(e.is_input_error(), "a symlink loop the caller named: {e}");
        }
    }
}
