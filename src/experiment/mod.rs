//! Experiments: a TOML config in, a directory of results out.
//!
//! `run` writes into the output directory:
//! - `results.csv` — one row per game of the sweep (or per (|A|, σ) for the designer study);
//! - `frontier.csv` — where Δ changes sign in every slice, by root finding (sweeps with `[frontier]`);
//! - the plots, each as SVG and PNG;
//! - `config.resolved.toml` — the config with every default filled in, to rerun exactly;
//! - `summary.md` — what was run, the frontier, the checks against the paper, and the files.
//!
//! Every file is written to a temporary name and renamed, so an interrupted run leaves no half-written file.
//!
//! A config computed in memory, with its checks (what [`run`] also writes out):
//! ```
//! use cirl::experiment::{compute_all, config};
//! let cfg = config::parse(r#"
//! name = "rational-peak"
//! [sweep]
//! prior = "normal"
//! human = "rational"
//! mu = [0.0, 0.5]
//! sigma = { start = 0.5, stop = 2.0, num = 4 }
//! [[check]]
//! claim = "Theorem 1: Δ ≥ 0 for a rational human"
//! column = "delta"
//! min = 0.0
//! [[check]]
//! claim = "Δ = σ/√(2π) at μ = 0"
//! at = { mu = 0.0, sigma = 2.0 }
//! column = "delta"
//! value = 0.7978845608028654
//! tol = 1e-12
//! "#, "rational-peak.toml")?;
//! let c = compute_all(&cfg, false)?;
//! assert_eq!(c.results.rows.len(), 8);
//! assert!(c.checks.iter().all(|(_, passed, _)| *passed));
//! # Ok::<(), cirl::Error>(())
//! ```

pub mod closed_loop;
pub mod collect;
pub mod config;
pub mod designer;
pub mod kind;
pub mod kinds;
pub mod outdir;
pub mod registry;
pub mod shard;
pub mod sweep;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::output::parquet;
pub use crate::output::parquet::Format;
use config::{Check, Config};
use table::Table;

// The output helpers, at their old paths too.
pub use crate::output::{figures, mkdir, plot, table, temporary_name, temporary_pid, write_atomic};

/// A progress bar over `len` jobs (hidden unless `show`).
pub fn progress_bar(len: u64, show: bool) -> indicatif::ProgressBar {
    let bar = if show {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} jobs  {elapsed_precise} (eta {eta})",
        )
        .expect("valid template"),
    );
    bar
}

pub use registry::{REPRODUCTIONS, reproduction};

/// Reads and parses a config file.
pub fn load(path: &Path) -> Result<Config> {
    let text = crate::input::read_text(path, crate::input::MAX_TOML_BYTES, "config")?;
    config::parse(&text, &path.display().to_string())
}

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Show a progress bar.
    pub progress: bool,
    /// Skip the plots (for quick checks).
    pub no_plots: bool,
    /// Keep the finished jobs of a killed run in the same output directory and run only the rest.
    pub resume: bool,
    /// Discard the journal of another run found in the output directory (otherwise refused).
    pub force: bool,
    /// The format of the results tables and job files (`--format`): results.csv or results.parquet.
    pub format: Format,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The number of rows in results.csv.
    pub rows: usize,
    /// The results table, where the run held it: for its plots, or a designer study's. A sweep's rows otherwise
    /// stream from its jobs to results.csv without being held (see [`collect`]).
    pub results: Option<Table>,
    /// The kind's further tables (see [`kind::Experiment::extra_tables`]), in the order of their names.
    pub extra: Vec<Table>,
    /// The sweep's frontier table (with `[frontier]`).
    pub frontier: Option<Table>,
    /// (claim, passed, detail) for each of the kind's claims, then each `[[check]]`.
    pub checks: Vec<(String, bool, String)>,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Jobs run now.
    pub jobs_run: usize,
    /// Jobs reused from an interrupted run (`--resume`).
    pub jobs_reused: usize,
}

/// Runs an experiment and writes its outputs into `out`.
///
/// The jobs are journaled in `out/.cirl-run` (see [`shard`]) until the outputs are written, so a killed run
/// restarted with `resume` loses and repeats nothing; with `resume` and a run already complete in `out`, the
/// outputs are rewritten from its results.csv.
pub fn run(cfg: &Config, out: &Path, opts: &RunOptions) -> Result<Outcome> {
    let start = Instant::now();
    let plan = shard::Plan::new(cfg)?;
    if !opts.no_plots {
        check_plots(cfg, &plan)?;
    }
    let _lock = outdir::lock(out)?;
    shard::remove_stale_temporaries(out)?;
    let work = out.join(shard::WORK_DIR);
    let done = out.join(format!("{}.done", shard::WORK_DIR));
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(|source| Error::Io {
            path: done.clone(),
            source,
        })?;
    }
    let keep = keeps_table(cfg, &plan, opts);
    if opts.resume
        && !work.exists()
        && let Some(results) = completed_results(cfg, &plan, out, keep, opts.format)?
    {
        return finish(cfg, &plan, results, out, opts, start, (0, plan.jobs()));
    }
    let file = out.join(results_name(opts.format));
    let mut collector = collect::Collector::new(cfg, &plan, Some((&file, opts.format)), keep)?;
    let p = shard::execute_plan(
        cfg,
        &plan,
        &work,
        shard::Shard::WHOLE,
        opts,
        Some(&mut |part| collector.job(part)),
    )?;
    let results = collector.finish()?;
    let outcome = finish(cfg, &plan, results, out, opts, start, (p.ran, p.reused))?;
    // Retire the journal in one atomic step, then delete it.
    let io = |source| Error::Io {
        path: work.clone(),
        source,
    };
    std::fs::rename(&work, &done).map_err(io)?;
    std::fs::remove_dir_all(&done).map_err(io)?;
    Ok(outcome)
}

/// Whether a run holds its results table: to draw its plots, or a designer study's (small, computed whole).
fn keeps_table(cfg: &Config, plan: &shard::Plan, opts: &RunOptions) -> bool {
    !plan.streams() || (!opts.no_plots && !cfg.plot.is_empty())
}

/// The results of a run already complete in `out` with this very config (its journal retired), if any: its
/// results file, checked against the hash the run recorded and read back a chunk of rows at a time.
fn completed_results(
    cfg: &Config,
    plan: &shard::Plan,
    out: &Path,
    keep: bool,
    format: Format,
) -> Result<Option<collect::Collected>> {
    let name = results_name(format);
    let path = out.join(&name);
    // A kind's further tables are computed from its jobs, which a retired journal no longer holds.
    if !plan.extra_tables().is_empty() {
        return Ok(None);
    }
    let Ok(resolved) = std::fs::read_to_string(out.join("config.resolved.toml")) else {
        return Ok(None);
    };
    if !path.is_file() || !out.join("summary.md").is_file() || resolved != shard::resolved(cfg)? {
        return Ok(None);
    }
    // The results file this run wrote, whole: its recorded hash and the row count the plan gives.
    let damaged = |why: String| {
        Error::invalid(
            "--resume",
            format!(
                "{} is not the {name} this run wrote ({why}); rerun without --resume to compute it again",
                path.display()
            ),
        )
    };
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    match outdir::recorded_hash(out, &name) {
        Some(h) if h == shard::sha256_file(&path).map_err(io)? => {}
        Some(_) => return Err(damaged("it was edited or truncated since".into())),
        None => return Ok(None),
    }
    let mut collector = collect::Collector::new(cfg, plan, None, keep)?;
    match format {
        Format::Parquet => {
            let bytes = std::fs::read(&path).map_err(io)?;
            parquet::read(bytes.into(), sweep::CHUNK, |t| collector.rows(t, ""))
                .map_err(&damaged)?;
        }
        Format::Csv => {
            let mut lines = std::io::BufRead::lines(std::io::BufReader::new(
                std::fs::File::open(&path).map_err(io)?,
            ));
            let header = lines.next().transpose().map_err(io)?.unwrap_or_default() + "\n";
            let mut chunk = header.clone();
            let mut n = 0;
            let mut end = false;
            while !end {
                match lines.next().transpose().map_err(io)? {
                    Some(line) => {
                        chunk += &line;
                        chunk += "\n";
                        n += 1;
                    }
                    None => end = true,
                }
                if n == sweep::CHUNK || (end && n > 0) {
                    let t = Table::from_csv(&chunk, plan.text_columns()).map_err(&damaged)?;
                    collector.rows(t, "")?;
                    chunk.truncate(header.len());
                    n = 0;
                }
            }
        }
    }
    collector.finish().map(Some).map_err(|e| match e {
        Error::Invalid { message, .. } => damaged(message),
        e => e,
    })
}

/// Merges the output directories of every shard of a run (`cirl run --shard K/N`) into `out`: the same files
/// as one unsharded run, with a byte-identical results file (in the format the shards were run with).
pub fn merge(dirs: &[PathBuf], out: &Path, opts: &RunOptions) -> Result<(Config, Outcome)> {
    let start = Instant::now();
    let shards = shard::verify(dirs)?;
    let cfg = shards.config()?;
    let plan = shard::Plan::new(&cfg)?;
    // The grid is rebuilt from the inputs as they are now: they must be what the shards computed from.
    if shard::inputs(&cfg)? != shards.manifest.inputs {
        return Err(Error::invalid(
            "merge",
            "an input file of the run changed since its shards were computed (see the shards' shard.json); \
             restore it, or recompute the shards with --force",
        ));
    }
    if !opts.no_plots {
        check_plots(&cfg, &plan)?;
    }
    let _lock = outdir::lock(out)?;
    shard::remove_stale_temporaries(out)?;
    let keep = keeps_table(&cfg, &plan, opts);
    let opts = &RunOptions {
        format: shards.manifest.results,
        ..opts.clone()
    };
    let file = out.join(results_name(opts.format));
    let mut collector = collect::Collector::new(&cfg, &plan, Some((&file, opts.format)), keep)?;
    shards.stream(&plan, |part| collector.job(part))?;
    let results = collector.finish()?;
    let o = finish(&cfg, &plan, results, out, opts, start, (0, plan.jobs()))?;
    drop(plan); // it borrows `cfg`, which is returned
    Ok((cfg, o))
}

/// The name of a run's results file in `format`: results.csv or results.parquet.
pub fn results_name(format: Format) -> String {
    format!("results.{}", format.extension())
}

/// A further table of a run (frontier.csv, a kind's own) in the run's format.
fn write_table(
    plan: &shard::Plan,
    t: &Table,
    out: &Path,
    name: &str,
    format: Format,
) -> Result<PathBuf> {
    let p = out.join(format!("{name}.{}", format.extension()));
    match format {
        Format::Csv => t.write_csv(&p)?,
        Format::Parquet => {
            let bytes = parquet::to_bytes(
                t,
                plan.text_columns(),
                Vec::new(),
                parquet::Encoding::Compact,
            )?;
            write_atomic(&p, &bytes)?
        }
    }
    Ok(p)
}

/// Writes a run's outputs from its results: results file, frontier, plots, resolved config, checks and summary.
fn finish(
    cfg: &Config,
    plan: &shard::Plan,
    results: collect::Collected,
    out: &Path,
    opts: &RunOptions,
    start: Instant,
    (jobs_run, jobs_reused): (usize, usize),
) -> Result<Outcome> {
    let frontier = plan.frontier(results.probes.as_ref())?;
    let mut files = Vec::new();
    if let Some(file) = results.file {
        file.commit()?;
    }
    files.push(out.join(results_name(opts.format)));
    for (name, t) in plan.extra_tables().iter().zip(&results.extra) {
        files.push(write_table(plan, t, out, name, opts.format)?);
    }
    if let Some(f) = &frontier {
        files.push(write_table(plan, f, out, "frontier", opts.format)?);
    }
    let mut checks = results.checks;
    if let Some(t) = &results.table {
        let mut claims = plan.claims(t, &results.extra);
        claims.append(&mut checks);
        checks = claims;
    }
    if !opts.no_plots && !cfg.plot.is_empty() {
        let title = if cfg.title.is_empty() {
            cfg.name.clone()
        } else {
            cfg.title.clone()
        };
        let table = results.table.as_ref().expect("kept for the plots");
        // A sweep's frontier, or the kind's own further table of that name (a population's).
        let drawn_frontier = frontier
            .as_ref()
            .or_else(|| extra_table(plan, &results.extra, "frontier").ok());
        for pl in &cfg.plot {
            let t = match &pl.table {
                Some(name) => extra_table(plan, &results.extra, name)?,
                None => table,
            };
            files.extend(plot::draw(out, pl, t, drawn_frontier, &title)?);
        }
    }
    if let Some(t) = &results.table {
        files.extend(plan.outputs(out, t, &results.extra, !opts.no_plots)?);
    }
    let p = out.join("config.resolved.toml");
    write_atomic(&p, shard::resolved(cfg)?.as_bytes())?;
    files.push(p);
    let seconds = start.elapsed().as_secs_f64();
    let mut outcome = Outcome {
        rows: results.rows,
        results: results.table,
        extra: results.extra,
        frontier,
        checks,
        files,
        seconds,
        jobs_run,
        jobs_reused,
    };
    let p = out.join("summary.md");
    outcome.files.push(p.clone());
    write_atomic(&p, summary(cfg, plan, &outcome).as_bytes())?;
    outdir::record(out, &outcome.files)?;
    Ok(outcome)
}

/// The further table `name` of a run's kind.
fn extra_table<'t>(plan: &shard::Plan, extra: &'t [Table], name: &str) -> Result<&'t Table> {
    plan.extra_tables()
        .iter()
        .position(|n| *n == name)
        .and_then(|i| extra.get(i))
        .ok_or_else(|| no_table(plan, name))
}

fn no_table(plan: &shard::Plan, name: &str) -> Error {
    let names = plan.extra_tables();
    Error::invalid(
        "plot.table",
        if names.is_empty() {
            format!(
                "{name:?}: this kind of experiment has no further tables; remove `table` to plot the results"
            )
        } else {
            format!(
                "{name:?}: this kind's further tables are {}; remove `table` to plot the results",
                names.join(", ")
            )
        },
    )
}

/// Refuses a run whose results table is too big to hold in memory for `who` (what needs it).
fn held(plan: &shard::Plan, field: &str, who: &str, fix: &str) -> Result<()> {
    if plan.rows() <= sweep::MAX_HELD_POINTS {
        return Ok(());
    }
    Err(Error::invalid(
        field,
        format!(
            "{who} the results held in memory, at most {} rows, and this run has {}; {fix}",
            sweep::MAX_HELD_POINTS,
            plan.rows()
        ),
    ))
}

/// Checks every `[[plot]]` of a config against the shape of its results, before anything is computed.
pub fn check_plots(cfg: &Config, plan: &shard::Plan) -> Result<()> {
    if cfg.plot.is_empty() {
        return Ok(());
    }
    held(
        plan,
        "plot",
        "the plots draw from",
        "run it with --no-plots (results.csv and frontier.csv stream), or plot a coarser grid",
    )?;
    let keys = plan.key_table();
    for (i, pl) in cfg.plot.iter().enumerate() {
        let checked = match &pl.table {
            Some(name) => match plan.extra_key_table(name) {
                Some(extra) => plot::check(pl, &extra),
                None => Err(no_table(plan, name)),
            },
            None => plot::check(pl, &keys),
        };
        checked.map_err(|e| match e {
            Error::Invalid { field, message } => {
                Error::invalid(field.replacen("plot", &format!("plot[{i}]"), 1), message)
            }
            e => e,
        })?;
    }
    Ok(())
}

/// What [`compute_all`] computes: a run's tables and checks, held in memory.
#[derive(Debug, Clone)]
pub struct Computed {
    /// The results table.
    pub results: Table,
    /// The sweep's frontier table (with `[frontier]`).
    pub frontier: Option<Table>,
    /// The kind's further tables, in the order of [`kind::Experiment::extra_tables`].
    pub extra: Vec<Table>,
    /// (claim, passed, detail) for each of the kind's claims, then each `[[check]]`.
    pub checks: Vec<(String, bool, String)>,
}

/// Computes the results (and frontier) without writing anything: the same jobs as a run, held in memory (at
/// most [`sweep::MAX_HELD_POINTS`] rows; a larger sweep streams to results.csv with [`run`]).
pub fn compute(cfg: &Config, progress: bool) -> Result<(Table, Option<Table>)> {
    let c = compute_all(cfg, progress)?;
    Ok((c.results, c.frontier))
}

/// Computes everything a run writes as tables, and its checks, without writing anything (see [`compute`]).
pub fn compute_all(cfg: &Config, progress: bool) -> Result<Computed> {
    let plan = shard::Plan::new(cfg)?;
    held(
        &plan,
        "sweep",
        "compute returns",
        "write them with `cirl run` instead",
    )?;
    let mut collector = collect::Collector::new(cfg, &plan, None, true)?;
    let bar = progress_bar(plan.jobs() as u64, progress);
    let jobs: Vec<usize> = (0..plan.jobs()).collect();
    let run = |j| {
        let table = plan.run_job(j)?;
        bar.inc(1);
        Ok(shard::Part {
            table,
            csv: String::new(),
        })
    };
    shard::stream(&plan, &jobs, run, |part| collector.job(part))?;
    bar.finish_and_clear();
    let c = collector.finish()?;
    let frontier = plan.frontier(c.probes.as_ref())?;
    let results = c.table.expect("kept");
    let mut checks = plan.claims(&results, &c.extra);
    checks.extend(c.checks);
    Ok(Computed {
        results,
        frontier,
        extra: c.extra,
        checks,
    })
}

/// Evaluates one `[[check]]` against the results.
pub fn check(c: &Check, t: &Table) -> (String, bool, String) {
    let mut tally = collect::CheckTally::new(c);
    tally.add(t);
    tally.verdict()
}

fn summary(cfg: &Config, plan: &shard::Plan, o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}\n",
        if cfg.title.is_empty() {
            &cfg.name
        } else {
            &cfg.title
        }
    );
    if !cfg.paper.is_empty() {
        let _ = writeln!(s, "Reproduces: {}\n", cfg.paper);
    }
    if !cfg.description.is_empty() {
        let _ = writeln!(s, "{}\n", cfg.description.trim());
    }
    let _ = writeln!(
        s,
        "Run `{}` in {:.2} s: {} rows in {}.\n",
        cfg.name,
        o.seconds,
        o.rows,
        o.files[0]
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    );
    s += &plan.summary_section(o.results.as_ref(), o.frontier.as_ref(), &o.extra);
    if !o.checks.is_empty() {
        let _ = writeln!(
            s,
            "## Checks against the paper\n\n| claim | result | detail |\n|---|---|---|"
        );
        // A claim's own bars (|A|, ‖θ‖) would split the Markdown cell.
        let cell = |x: &str| x.replace('|', "\\|");
        for (claim, ok, detail) in &o.checks {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                cell(claim),
                if *ok { "pass" } else { "FAIL" },
                cell(detail)
            );
        }
        s += "\n";
    }
    let _ = writeln!(s, "## Files\n");
    for f in &o.files {
        let _ = writeln!(
            s,
            "- {}",
            f.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
    }
    s
}
