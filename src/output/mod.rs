//! Writing outputs, for every layer: atomic file writes and output folders, tables (CSV through the csv crate,
//! Markdown), plots (config-driven and the `Figure` trait, SVG and PNG) and the study figures.

use std::path::Path;

use crate::error::{Error, Result};

pub mod figures;
pub mod plot;
pub mod table;

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = match path.file_name() {
        Some(n) if !path.is_dir() => n.to_string_lossy().into_owned(),
        _ => {
            return Err(Error::invalid(
                path.display().to_string(),
                "is a folder, not a file name: give the file to write, e.g. DIR/name.ext",
            ));
        }
    };
    let tmp = path.with_file_name(temporary_name(&name));
    // A failed write (disk full) or rename leaves no temporary behind.
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// The temporary a write of file `name` goes through: `.NAME.cirl-tmp.PID` (plots add their extension,
/// `.NAME.cirl-tmp.PID.png`). [`temporary_pid`] recognises exactly these; they are the only files cirl ever
/// removes as its own.
pub fn temporary_name(name: &str) -> String {
    format!(".{name}.cirl-tmp.{}", std::process::id())
}

/// The writer's process id if `file_name` is one of cirl's write temporaries (see [`temporary_name`]).
pub fn temporary_pid(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix('.')?;
    let (head, tail) = rest.rsplit_once(".cirl-tmp.")?;
    if head.is_empty() {
        return None;
    }
    let (pid, ext) = tail.split_once('.').unwrap_or((tail, "a"));
    let ext_ok = !ext.is_empty() && ext.bytes().all(|b| b.is_ascii_alphanumeric());
    (ext_ok && !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
        .then(|| pid.parse().ok())
        .flatten()
}

/// Creates an output folder and its parents; a path that names a file (or runs through one) is the caller's
/// mistake, reported as such (exit 2) rather than as an I/O failure.
pub fn mkdir(dir: &Path) -> Result<()> {
    let not_a_folder = || {
        Error::invalid(
            "--out",
            format!(
                "{} is a file, or inside one, not a folder: give a folder for the outputs",
                dir.display()
            ),
        )
    };
    if dir.exists() && !dir.is_dir() {
        return Err(not_a_folder());
    }
    std::fs::create_dir_all(dir).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotADirectory | std::io::ErrorKind::AlreadyExists => not_a_folder(),
        _ => Error::Io {
            path: dir.to_path_buf(),
            source,
        },
    })
}
