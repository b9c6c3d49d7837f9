//! Sharded and resumable runs.
//!
//! An experiment is split into **jobs** by its kind ([`super::kind::Experiment`]: a chunk of grid points of a
//! sweep, a chunk of simulated games for one |A| of a designer study, a seed of a closed loop), numbered `0..J` in
//! a fixed order; a job's random stream is keyed on its number, never on a
//! thread or a shard. Shard `K/N` owns the jobs `j` with `j mod N = K − 1` (round robin, so slow regions of a grid
//! are spread over the shards).
//!
//! A run journals its jobs into a **work directory**: `shard.json` (the manifest: cirl version, the resolved
//! config, the seed, K/N, the number of jobs, the results format) and `jobs/NNNNNNNN.csv` (`.parquet` with
//! `--format parquet`), one file per finished job, each written to
//! a temporary name and renamed. A file is therefore either absent or complete, and a run killed at any moment
//! (SIGKILL included) resumes by running the jobs whose files are missing: no job is lost and none is counted
//! twice. `cirl run --shard K/N --out DIR` leaves its work directory in `DIR`; an unsharded run uses
//! `DIR/.cirl-run` and removes it once the outputs are written. [`verify`] checks that a set of work
//! directories is one run (same version, config and seed; every shard exactly once) and [`Shards::stream`]
//! that every job is present, and hands the jobs over in order to be collected (see [`super::collect`]) into
//! results that are identical, byte for byte, to an unsharded run's.
//!
//! The journal trusts nothing on disk. The manifest also holds the build of cirl that wrote it (a hash of the
//! executable) and the content hash of every file the config reads (`csv:` priors, prior files), so a resume or
//! merge over another build or over changed inputs is refused. Each job file ends with a trailer
//! `# cirl-job J rows R sha256 H` over the CSV before it (a Parquet job file has the job and its rows in its
//! footer, and the reader checks the file's structure); on resume and merge a job is accepted only if its trailer
//! holds, it has the job's number and rows, and its contents are this job's in shape (the grid points of a sweep
//! job; for a designer job, the games it plays and move counts that add up). A journal found without `--resume`
//! is refused rather than silently replaced, unless `--force`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::config::{self, Config};
use super::kind::Experiment;
use super::table::Table;
use super::{closed_loop, write_atomic};
use crate::error::{Error, Result};
use crate::output::parquet::{self, Format};

/// The work directory of an unsharded run, inside its output directory.
pub const WORK_DIR: &str = ".cirl-run";
const MANIFEST: &str = "shard.json";
const JOBS: &str = "jobs";
const FORMAT: u32 = 2;
const TRAILER: &str = "# cirl-job ";
/// The footer keys of a Parquet job file: its job number and row count.
const JOB_KEY: &str = "cirl-job";
const ROWS_KEY: &str = "cirl-rows";

/// Which slice of a run to compute: shard `index` of `count` (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// The shard's number, from 1.
    pub index: usize,
    /// How many shards the run is split into.
    pub count: usize,
}

impl Shard {
    /// The whole run.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 ≤ K ≤ N ≤ 100000.
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = || {
            Error::invalid(
                "--shard",
                format!("expected K/N with 1 <= K <= N <= 100000 (e.g. 3/8), got {s:?}"),
            )
        };
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (k, n): (usize, usize) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if k == 0 || k > n || n > 100_000 {
            return Err(bad());
        }
        Ok(Shard { index: k, count: n })
    }

    /// Whether job `j` belongs to this shard.
    pub fn owns(&self, j: usize) -> bool {
        j % self.count == self.index - 1
    }

    /// The jobs of this shard among `jobs`.
    pub fn jobs(&self, jobs: usize) -> impl Iterator<Item = usize> + '_ {
        (self.index - 1..jobs).step_by(self.count)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What a work directory holds a slice of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The manifest's format version.
    pub format: u32,
    /// The cirl version that wrote it.
    pub cirl_version: String,
    /// The build of cirl that wrote it: the first 16 hex digits of the SHA-256 of its executable.
    pub build: String,
    /// The config's name.
    pub name: String,
    /// The run's master seed.
    pub seed: u64,
    /// The shard this directory holds (from 1).
    pub shard: usize,
    /// How many shards the run is split into.
    pub shards: usize,
    /// The run's number of jobs.
    pub jobs: usize,
    /// The resolved config (every default filled in), as in config.resolved.toml.
    pub config: String,
    /// Every file the config reads, with the SHA-256 of its contents when the manifest was written.
    pub inputs: Vec<Input>,
    /// The format of the job files and of the results (`--format`; CSV in manifests that do not say).
    #[serde(default)]
    pub results: Format,
}

/// A file a config reads, and its contents' hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    /// The path as the config gives it.
    pub path: String,
    /// The SHA-256 of its contents (hex).
    pub sha256: String,
}

/// The SHA-256 of `bytes` in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a file's contents in hex, read a block at a time.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    std::io::copy(&mut std::fs::File::open(path)?, &mut h)?;
    Ok(hex(&h.finalize()))
}

/// This build of cirl: the first 16 hex digits of the SHA-256 of the running executable (two builds of one
/// version differ here; the same binary on every node of a cluster agrees).
pub fn build_id() -> String {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        std::env::current_exe()
            .and_then(std::fs::read)
            .map(|b| sha256_hex(&b)[..16].to_string())
            .unwrap_or_else(|_| "unknown".into())
    })
    .clone()
}

/// The files `cfg` reads (its sweep's prior files), each with the hash of its contents now.
pub fn inputs(cfg: &Config) -> Result<Vec<Input>> {
    let mut files = Vec::new();
    if let Some(sw) = &cfg.sweep {
        for spec in sw.prior.to_vec() {
            for f in crate::belief::Prior::files(&spec) {
                if !files.contains(&f) {
                    files.push(f);
                }
            }
        }
    }
    files.extend(closed_loop::files(cfg));
    files
        .into_iter()
        .map(|f| {
            let bytes = crate::input::read_bytes(&f, crate::input::MAX_DATA_BYTES, "input")?;
            Ok(Input {
                path: f.display().to_string(),
                sha256: sha256_hex(&bytes),
            })
        })
        .collect()
}

/// The manifest of `shard` of `cfg`'s run, its results written as `results`.
pub fn manifest(cfg: &Config, plan: &Plan, shard: Shard, results: Format) -> Result<Manifest> {
    Ok(Manifest {
        format: FORMAT,
        cirl_version: env!("CARGO_PKG_VERSION").to_string(),
        build: build_id(),
        name: cfg.name.clone(),
        seed: cfg.seed,
        shard: shard.index,
        shards: shard.count,
        jobs: plan.jobs(),
        config: resolved(cfg)?,
        inputs: inputs(cfg)?,
        results,
    })
}

/// A config split into jobs: its kind's [`Experiment`] (see [`super::kind`]).
pub struct Plan<'a>(Box<dyn Experiment + 'a>);

impl<'a> Plan<'a> {
    /// Lays out the jobs of a config (validating it).
    pub fn new(cfg: &'a Config) -> Result<Self> {
        super::kind::plan(cfg).map(Plan)
    }
}

impl<'a> std::ops::Deref for Plan<'a> {
    type Target = dyn Experiment + 'a;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// The resolved text of a config: what the manifest and config.resolved.toml hold.
pub fn resolved(cfg: &Config) -> Result<String> {
    toml::to_string_pretty(cfg).map_err(|e| Error::invalid("config", e.to_string()))
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn job_path(work: &Path, j: usize, format: Format) -> PathBuf {
    work.join(JOBS)
        .join(format!("{j:08}.{}", format.extension()))
}

/// Removes the write temporaries (`.NAME.cirl-tmp.PID`, nothing else) that a killed writer left in `dir`.
pub fn remove_stale_temporaries(dir: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(pid) = super::temporary_pid(&name) else {
            continue;
        };
        // A temporary of a process still running is its write in progress, not debris.
        let alive = pid != std::process::id() && Path::new(&format!("/proc/{pid}")).exists();
        if !alive && e.file_type().is_ok_and(|t| t.is_file()) {
            std::fs::remove_file(e.path()).map_err(io(&e.path()))?;
        }
    }
    Ok(())
}

/// What [`execute`] did.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Jobs of the shard.
    pub owned: usize,
    /// Jobs found finished in the work directory (resumed).
    pub reused: usize,
    /// Jobs run now.
    pub ran: usize,
}

/// Runs the jobs of `shard` that are not yet in `work`, each into its own job file.
///
/// With `resume`, an existing work directory must hold the same run (version, config, seed, shard), and its
/// finished jobs are kept; without it, an existing work directory is started afresh.
pub fn execute(
    cfg: &Config,
    work: &Path,
    shard: Shard,
    resume: bool,
    progress: bool,
    force: bool,
    format: Format,
) -> Result<Progress> {
    let plan = Plan::new(cfg)?;
    let _lock = super::outdir::lock(work)?;
    let opts = super::RunOptions {
        progress,
        resume,
        force,
        format,
        ..Default::default()
    };
    execute_plan(cfg, &plan, work, shard, &opts, None)
}

/// Makes the outputs of `jobs` with `make`, a batch at a time in parallel, and hands them to `take` in the order
/// of `jobs`: at most one batch of job outputs is in memory, whatever the number of jobs.
pub fn stream(
    plan: &Plan,
    jobs: &[usize],
    make: impl Fn(usize) -> Result<Part> + Sync,
    mut take: impl FnMut(Part) -> Result<()>,
) -> Result<()> {
    for batch in jobs.chunks(plan.batch().min(jobs.len().max(1))) {
        let parts: Vec<Part> = batch
            .par_iter()
            .with_max_len(1)
            .map(|&j| make(j))
            .collect::<Result<_>>()?;
        parts.into_iter().try_for_each(&mut take)?;
    }
    Ok(())
}

/// [`execute`] with `cfg`'s plan already laid out. With `take`, every job of the shard is also handed to it in
/// job order as it is run or, finished by an earlier run, read back and checked (see [`stream`]).
pub fn execute_plan(
    cfg: &Config,
    plan: &Plan,
    work: &Path,
    shard: Shard,
    opts: &super::RunOptions,
    take: Option<&mut dyn FnMut(Part) -> Result<()>>,
) -> Result<Progress> {
    let (resume, progress, force, format) = (opts.resume, opts.progress, opts.force, opts.format);
    let manifest = manifest(cfg, plan, shard, format)?;
    let mpath = work.join(MANIFEST);
    let jobs_dir = work.join(JOBS);
    let finished = std::fs::read_dir(&jobs_dir).map_or(0, |d| {
        d.flatten()
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.ends_with(".csv") || n.ends_with(".parquet")
            })
            .count()
    });
    // A manifest that cannot be read is not a journal of this run: with --force it is discarded.
    let old = match read_manifest(work) {
        Err(_) if force => None,
        other => other?,
    };
    match (resume, old) {
        (true, Some(old)) => {
            if let Some(why) = differs(&old, &manifest) {
                return Err(Error::invalid(
                    "--resume",
                    format!(
                        "{} holds {why}; rerun without --resume (and with --force) to start afresh, or choose another --out",
                        work.display()
                    ),
                ));
            }
        }
        (false, Some(old)) if !force && finished > 0 => {
            return Err(Error::invalid(
                "--resume",
                format!(
                    "{} holds {} finished jobs of shard {}/{} of `{}` (seed {}); add --resume to continue it, or --force to discard them",
                    work.display(),
                    finished,
                    old.shard,
                    old.shards,
                    old.name,
                    old.seed
                ),
            ));
        }
        _ => {
            if jobs_dir.exists() {
                std::fs::remove_dir_all(&jobs_dir).map_err(io(&jobs_dir))?;
            }
        }
    }
    std::fs::create_dir_all(&jobs_dir).map_err(io(&jobs_dir))?;
    remove_stale_temporaries(work)?;
    remove_stale_temporaries(&jobs_dir)?;
    let text = serde_json::to_string_pretty(&manifest).expect("serializable") + "\n";
    write_atomic(&mpath, text.as_bytes())?;
    let owned: Vec<usize> = shard.jobs(plan.jobs()).collect();
    let todo: Vec<usize> = owned
        .iter()
        .copied()
        .filter(|&j| !job_path(work, j, format).is_file())
        .collect();
    let mut missing = vec![false; plan.jobs()];
    todo.iter().for_each(|&j| missing[j] = true);
    let bar = super::progress_bar(todo.len() as u64, progress);
    let run = |j: usize| -> Result<Part> {
        if !missing[j] {
            return read_job(plan, work, j, format);
        }
        let table = plan.run_job(j)?;
        let part = match format {
            Format::Csv => {
                let csv = table.to_csv();
                let trailer = format!(
                    "{TRAILER}{j} rows {} sha256 {}\n",
                    table.rows.len(),
                    sha256_hex(csv.as_bytes())
                );
                write_atomic(
                    &job_path(work, j, format),
                    (csv.clone() + &trailer).as_bytes(),
                )?;
                Part { table, csv }
            }
            Format::Parquet => {
                let meta = vec![
                    (JOB_KEY.to_string(), j.to_string()),
                    (ROWS_KEY.to_string(), table.rows.len().to_string()),
                ];
                let bytes =
                    parquet::to_bytes(&table, plan.text_columns(), meta, parquet::Encoding::Fast)?;
                write_atomic(&job_path(work, j, format), &bytes)?;
                Part {
                    table,
                    csv: String::new(),
                }
            }
        };
        bar.inc(1);
        Ok(part)
    };
    match take {
        Some(take) => stream(plan, &owned, run, take)?,
        None => stream(plan, &todo, run, |_| Ok(()))?,
    }
    bar.finish_and_clear();
    // An input that changed while the jobs ran would mix two versions of it in one run.
    let now = inputs(cfg)?;
    if now != manifest.inputs {
        return Err(Error::invalid(
            "inputs",
            format!(
                "{} changed while the run was going; rerun it with --force when the file stays put",
                changed_input(&manifest.inputs, &now)
            ),
        ));
    }
    Ok(Progress {
        owned: owned.len(),
        reused: owned.len() - todo.len(),
        ran: todo.len(),
    })
}

/// A job's output: its table and that table as CSV text (what its job file holds; empty in a Parquet run).
pub struct Part {
    /// The job's table.
    pub table: Table,
    /// The table as CSV text (a CSV run's).
    pub csv: String,
}

/// The manifest in `work`, if there is one.
pub fn read_manifest(work: &Path) -> Result<Option<Manifest>> {
    let p = work.join(MANIFEST);
    let text = match std::fs::read_to_string(&p) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&p)(e)),
    };
    let m: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(
            p.display().to_string(),
            format!(
                "not a cirl shard manifest of this version ({e}); rerun the shard with --force"
            ),
        )
    })?;
    let bad = |why: String| {
        Error::invalid(
            p.display().to_string(),
            format!(
                "{why}; this manifest was not written by this cirl: rerun the shard with --force"
            ),
        )
    };
    crate::input::check_identifier(&m.name).map_err(|why| bad(format!("name: {why}")))?;
    // Everything later code indexes or divides by, checked here (a hand-edited manifest must not panic).
    if m.format != FORMAT {
        return Err(bad(format!(
            "format {} (this cirl writes {FORMAT})",
            m.format
        )));
    }
    if !(1..=m.shards).contains(&m.shard) || m.shards > 100_000 {
        return Err(bad(format!(
            "shard {}/{} (1 <= K <= N <= 100000)",
            m.shard, m.shards
        )));
    }
    let hex = |h: &str, n: usize| h.len() == n && h.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(i) = m.inputs.iter().find(|i| !hex(&i.sha256, 64)) {
        return Err(bad(format!(
            "input {}: sha256 is not 64 hex digits",
            i.path
        )));
    }
    if !(m.build == "unknown" || hex(&m.build, 16)) {
        return Err(bad("build: not a cirl build id".to_string()));
    }
    Ok(Some(m))
}

/// Which input differs between two lists, for messages.
fn changed_input(a: &[Input], b: &[Input]) -> String {
    for x in a {
        match b.iter().find(|y| y.path == x.path) {
            Some(y) if y.sha256 != x.sha256 => {
                return format!(
                    "input {} (sha256 {}… then {}…)",
                    x.path,
                    &x.sha256[..12],
                    &y.sha256[..12]
                );
            }
            None => return format!("input {} (read by one, not the other)", x.path),
            _ => {}
        }
    }
    b.iter()
        .find(|y| !a.iter().any(|x| x.path == y.path))
        .map_or("an input".to_string(), |y| {
            format!("input {} (read by one, not the other)", y.path)
        })
}

/// Why two manifests are not the same run (or the same shard), if they are not.
fn differs(a: &Manifest, b: &Manifest) -> Option<String> {
    if a.format != b.format || a.cirl_version != b.cirl_version {
        Some(format!(
            "a run of cirl {} (format {}), not {} (format {})",
            a.cirl_version, a.format, b.cirl_version, b.format
        ))
    } else if a.build != b.build {
        Some(format!(
            "a run of another build of cirl {} (build {}, not {})",
            a.cirl_version, a.build, b.build
        ))
    } else if a.inputs != b.inputs {
        Some(format!(
            "a run over other contents of {}",
            changed_input(&a.inputs, &b.inputs)
        ))
    } else if a.seed != b.seed {
        Some(format!("a run with seed {}, not {}", a.seed, b.seed))
    } else if a.config != b.config || a.jobs != b.jobs {
        Some(format!(
            "a run of a different config (`{}`, {} jobs)",
            a.name, a.jobs
        ))
    } else if a.results != b.results {
        Some(format!(
            "a run journaled as {}, not {} (--format)",
            a.results.extension(),
            b.results.extension()
        ))
    } else if a.shard != b.shard || a.shards != b.shards {
        Some(format!(
            "shard {}/{}, not {}/{}",
            a.shard, a.shards, b.shard, b.shards
        ))
    } else {
        None
    }
}

/// The work directories of every shard of one run, checked to agree (version, config, seed, split) and to
/// cover every shard exactly once; [`Shards::stream`] then checks that every job is there.
pub struct Shards {
    /// The manifest every shard agrees on.
    pub manifest: Manifest,
    by_shard: BTreeMap<usize, PathBuf>,
}

/// Checks that `dirs` are the work directories of every shard of one run.
pub fn verify(dirs: &[PathBuf]) -> Result<Shards> {
    if dirs.is_empty() {
        return Err(Error::invalid(
            "DIR",
            "give the output directories of every shard",
        ));
    }
    let mut manifests = Vec::new();
    for d in dirs {
        let m = read_manifest(d)?.ok_or_else(|| {
            Error::invalid(
                d.display().to_string(),
                "not a shard output (no shard.json); create it with `cirl run CONFIG --shard K/N --out DIR`",
            )
        })?;
        manifests.push(m);
    }
    let first = &manifests[0];
    for (d, m) in dirs.iter().zip(&manifests).skip(1) {
        let same = Manifest {
            shard: first.shard,
            shards: first.shards,
            ..m.clone()
        };
        if let Some(why) = differs(first, &same) {
            return Err(Error::invalid(
                "merge",
                format!(
                    "{} holds {why} — {} and {} are not shards of one run",
                    dirs[0].display(),
                    dirs[0].display(),
                    d.display()
                ),
            ));
        }
        if m.shards != first.shards {
            return Err(Error::invalid(
                "merge",
                format!(
                    "{} is a shard of {} but {} of {}; merge shards of one split",
                    d.display(),
                    m.shards,
                    dirs[0].display(),
                    first.shards
                ),
            ));
        }
    }
    let mut by_shard: BTreeMap<usize, PathBuf> = BTreeMap::new();
    for (d, m) in dirs.iter().zip(&manifests) {
        if let Some(other) = by_shard.insert(m.shard, d.clone()) {
            return Err(Error::invalid(
                "merge",
                format!(
                    "shard {}/{} given twice ({} and {})",
                    m.shard,
                    m.shards,
                    other.display(),
                    d.display()
                ),
            ));
        }
    }
    let missing: Vec<String> = (1..=first.shards)
        .filter(|k| !by_shard.contains_key(k))
        .map(|k| k.to_string())
        .collect();
    if !missing.is_empty() {
        return Err(Error::invalid(
            "merge",
            format!(
                "incomplete set: shard(s) {} of {} missing",
                missing.join(", "),
                first.shards
            ),
        ));
    }
    let manifest = manifests.swap_remove(0);
    Ok(Shards { manifest, by_shard })
}

impl Shards {
    /// The run's config, as resolved in the manifest.
    pub fn config(&self) -> Result<Config> {
        let (k, d) = self.by_shard.iter().next().expect("at least one shard");
        config::parse(
            &self.manifest.config,
            &format!("{}/{MANIFEST} (shard {k})", d.display()),
        )
    }

    /// Checks that every shard holds all its jobs, then reads and checks them and hands them to `take` in job
    /// order (see [`stream`]), for `plan`, the plan of [`Shards::config`].
    pub fn stream(&self, plan: &Plan, take: impl FnMut(Part) -> Result<()>) -> Result<()> {
        let first = &self.manifest;
        let by_shard = &self.by_shard;
        if plan.jobs() != first.jobs {
            return Err(Error::invalid(
                "merge",
                format!(
                    "the manifest counts {} jobs but this cirl splits the config into {}",
                    first.jobs,
                    plan.jobs()
                ),
            ));
        }
        // Every shard complete before anything is read.
        for (&k, d) in by_shard {
            let shard = Shard {
                index: k,
                count: first.shards,
            };
            let owned: Vec<usize> = shard.jobs(plan.jobs()).collect();
            let done = owned
                .iter()
                .filter(|&&j| job_path(d, j, first.results).is_file())
                .count();
            if done < owned.len() {
                return Err(Error::invalid(
                    "merge",
                    format!(
                        "shard {shard} in {} is incomplete: {done} of {} jobs done; finish it with `cirl run CONFIG --shard {shard} --out {} --resume`",
                        d.display(),
                        owned.len(),
                        d.display()
                    ),
                ));
            }
        }
        let jobs: Vec<usize> = (0..plan.jobs()).collect();
        let read = |j: usize| read_job(plan, &by_shard[&(j % first.shards + 1)], j, first.results);
        stream(plan, &jobs, read, take)
    }
}

/// The CSV of a job file without its trailer, if the trailer is there and holds (job `j`, its row count and the
/// SHA-256 of the CSV before it).
pub fn job_csv(text: &str, j: usize) -> std::result::Result<&str, String> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    let (csv, trailer) = match body.rfind('\n') {
        Some(k) => (&text[..k + 1], &body[k + 1..]),
        None => return Err("no trailer (an unfinished or foreign file)".into()),
    };
    let fields: Vec<&str> = trailer
        .strip_prefix(TRAILER)
        .ok_or("no trailer (an unfinished or foreign file)")?
        .split(' ')
        .collect();
    let [job, "rows", rows, "sha256", hash] = fields[..] else {
        return Err(format!("a malformed trailer {trailer:?}"));
    };
    if job != j.to_string() {
        return Err(format!("the trailer names job {job}"));
    }
    if sha256_hex(csv.as_bytes()) != hash {
        return Err("its contents do not match its checksum (edited or damaged)".into());
    }
    let n = csv.lines().count().saturating_sub(1);
    if rows != n.to_string() {
        return Err(format!("{n} rows where its trailer says {rows}"));
    }
    Ok(csv)
}

/// Reads and checks job `j`'s file in `work`.
fn read_job(plan: &Plan, work: &Path, j: usize, format: Format) -> Result<Part> {
    let p = job_path(work, j, format);
    let bad = |e: String| {
        Error::invalid(
            p.display().to_string(),
            format!("not job {j} of this run ({e}); delete it and rerun with --resume"),
        )
    };
    if format == Format::Parquet {
        let bytes = std::fs::read(&p).map_err(io(&p))?;
        let (table, meta) = parquet::read_table(bytes.into()).map_err(&bad)?;
        let said = |k: &str| {
            meta.iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        };
        if said(JOB_KEY) != Some(j.to_string()) {
            return Err(bad(format!("its footer names job {:?}", said(JOB_KEY))));
        }
        if said(ROWS_KEY) != Some(table.rows.len().to_string()) {
            return Err(bad(format!(
                "{} rows where its footer says {:?}",
                table.rows.len(),
                said(ROWS_KEY)
            )));
        }
        plan.check_part(j, &table).map_err(&bad)?;
        return Ok(Part {
            table,
            csv: String::new(),
        });
    }
    let text = std::fs::read_to_string(&p).map_err(io(&p))?;
    let csv = job_csv(&text, j).map_err(bad)?;
    let table = Table::from_csv(csv, plan.text_columns())
        .and_then(|t| plan.check_part(j, &t).map(|_| t))
        .map_err(bad)?;
    Ok(Part {
        table,
        csv: csv.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_jobs() {
        for n in 1..7 {
            let mut seen = vec![0; 23];
            for k in 1..=n {
                let s = Shard { index: k, count: n };
                for j in s.jobs(23) {
                    assert!(s.owns(j));
                    seen[j] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "n = {n}: {seen:?}");
        }
    }

    #[test]
    fn shard_specs_are_checked() {
        assert_eq!(Shard::parse("3/8").unwrap(), Shard { index: 3, count: 8 });
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "", "1/200000", "-1/2"] {
            let e = Shard::parse(bad).unwrap_err().to_string();
            assert!(e.starts_with("--shard:"), "{bad}: {e}");
        }
    }
}
