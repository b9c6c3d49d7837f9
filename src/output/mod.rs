//! Writing outputs, for every layer: atomic file writes and output folders, tables (CSV through the csv crate,
//! Markdown), plots (config-driven and the `Figure` trait, SVG and PNG) and the study figures.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub mod figures;
pub mod parquet;
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

/// A file written in pieces under its temporary name (see [`temporary_name`]) and renamed into place by
/// [`AtomicFile::commit`]; dropped uncommitted (an error on the way), its temporary is removed.
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<std::io::BufWriter<std::fs::File>>,
}

impl AtomicFile {
    /// Opens the temporary of `path` for writing.
    pub fn create(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(temporary_name(&name));
        let file = std::fs::File::create(&tmp).map_err(|source| Error::Io {
            path: tmp.clone(),
            source,
        })?;
        Ok(AtomicFile {
            path: path.to_path_buf(),
            tmp,
            file: Some(std::io::BufWriter::with_capacity(1 << 20, file)),
        })
    }

    /// Appends `bytes`.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let f = self.file.as_mut().expect("open until committed");
        f.write_all(bytes).map_err(|source| Error::Io {
            path: self.tmp.clone(),
            source,
        })
    }

    /// Flushes the file and renames it into place.
    pub fn commit(mut self) -> Result<PathBuf> {
        let f = self.file.take().expect("open until committed");
        let io = |source| Error::Io {
            path: self.tmp.clone(),
            source,
        };
        f.into_inner()
            .map_err(|e| io(e.into_error()))?
            .sync_data()
            .map_err(io)?;
        std::fs::rename(&self.tmp, &self.path).map_err(io)?;
        Ok(std::mem::take(&mut self.path))
    }
}

impl std::io::Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.as_mut().expect("open until committed").write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.as_mut().expect("open until committed").flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}
