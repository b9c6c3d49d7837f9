//! An output folder that one cirl writes at a time, and that describes one run.
//!
//! - **Lock**: a writer holds an advisory lock (`flock`) on `DIR/.cirl-lock` for as long as it writes into
//!   `DIR`; a second writer is refused with one line naming the holder's process id. The kernel drops the lock
//!   when its holder exits, SIGKILL included, so a killed run leaves no stale lock to clear: the next writer
//!   simply takes it.
//! - **Outputs**: `DIR/.cirl-outputs` lists the files the last run wrote, with the SHA-256 of each. Once a new run has written its own, the
//!   files the previous one listed and this one did not write (a frontier, plots, cards of classes that no longer
//!   exist) are removed, so the folder never mixes two runs. Nothing else in the folder is ever touched.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The lock file inside an output folder.
pub const LOCK: &str = ".cirl-lock";
/// The record of the files the last run wrote.
pub const RECORD: &str = ".cirl-outputs";

/// The lock on an output folder, held until dropped.
#[derive(Debug)]
pub struct OutLock {
    _file: File,
}

/// Creates `dir` if needed and takes its lock; refuses (exit 2) while another process holds it.
pub fn lock(dir: &Path) -> Result<OutLock> {
    super::mkdir(dir)?;
    let path = dir.join(LOCK);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {
            file.set_len(0).map_err(io)?;
            file.rewind().map_err(io)?;
            writeln!(file, "{}", std::process::id()).map_err(io)?;
            Ok(OutLock { _file: file })
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another cirl".to_string()
            } else {
                format!("another cirl (pid {holder})")
            };
            Err(Error::invalid(
                "--out",
                format!(
                    "{} is being written by {who}; wait for it to finish, or choose another --out",
                    dir.display()
                ),
            ))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Records `files` (written into `dir` by this run) and removes the files the previous run into `dir` recorded
/// but this one did not write. Returns the files removed.
pub fn record(dir: &Path, files: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let names: Vec<String> = files
        .iter()
        .filter(|f| f.parent() == Some(dir))
        .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    let previous = std::fs::read_to_string(dir.join(RECORD)).unwrap_or_default();
    let mut removed = Vec::new();
    for old in previous.lines().filter_map(|l| l.split('\t').next()) {
        // Only names cirl itself writes (plain names, no separators): the record cannot point outside `dir`.
        if crate::input::check_identifier(old).is_err() || names.iter().any(|n| n == old) {
            continue;
        }
        let p = dir.join(old);
        if p.is_file() {
            std::fs::remove_file(&p).map_err(|source| Error::Io {
                path: p.clone(),
                source,
            })?;
            removed.push(p);
        }
    }
    let mut text = String::new();
    for n in &names {
        let p = dir.join(n);
        let hash = super::shard::sha256_file(&p).map_err(|source| Error::Io {
            path: p.clone(),
            source,
        })?;
        text += &format!("{n}\t{hash}\n");
    }
    super::write_atomic(&dir.join(RECORD), text.as_bytes())?;
    Ok(removed)
}

/// The SHA-256 the last run into `dir` recorded for its file `name`, if any.
pub fn recorded_hash(dir: &Path, name: &str) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(RECORD)).ok()?;
    text.lines().find_map(|l| {
        let (n, h) = l.split_once('\t')?;
        (n == name).then(|| h.to_string())
    })
}
