//! The experiment seam: what every kind of experiment tells the runner, so that sharding, resuming, merging,
//! checks, plots and the summary are the same code for all of them.
//!
//! A kind lays its config out as **jobs** `0..J` in a fixed order, each run from its own seeded stream (never a
//! thread's or a shard's), whose output is a table (what its job file holds); the runner journals the jobs (see
//! [`super::shard`]), and the kind assembles the results from every job's output, in job order. Implemented by
//! [`super::sweep::SweepKind`], [`super::designer::Plan`] and [`super::closed_loop::Plan`]; [`plan`] picks the
//! config's.

use std::path::{Path, PathBuf};

use super::config::Config;
use super::config::Kind;
use super::sweep::Probes;
use super::table::Table;
use super::{closed_loop, designer, kinds, sweep};
use crate::error::{Error, Result};

/// One kind of experiment, laid out as jobs (see the module docs).
pub trait Experiment: Sync {
    /// The number of jobs.
    fn jobs(&self) -> usize;

    /// Runs job `j`; its output as a table (what its job file holds).
    fn run_job(&self, j: usize) -> Result<Table>;

    /// The number of rows of the results.
    fn rows(&self) -> usize;

    /// The results table's shape: its key columns filled, the computed ones 0 (what plots are checked against
    /// before anything runs).
    fn key_table(&self) -> Table;

    /// The columns of its job files (and results.csv) that hold text.
    fn text_columns(&self) -> &'static [&'static str] {
        &[]
    }

    /// The results from every job's output, in job order.
    fn assemble(&self, parts: Vec<Table>) -> Result<Table>;

    /// Whether the results are the jobs' rows in job order, so that they can stream to results.csv as the jobs
    /// finish (otherwise they are computed from all the jobs at once).
    fn streams(&self) -> bool {
        false
    }

    /// How many jobs run in parallel before their outputs are handed over in order: every job by default (jobs
    /// of different costs); a few per thread for jobs that cost about the same and stream.
    fn batch(&self) -> usize {
        usize::MAX
    }

    /// Checks that a job file's table can be job `j`'s output (its columns, rows and keys), so that a resume or
    /// merge never takes another run's job.
    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String>;

    /// An extra results table computed from the streamed rows' probes (a sweep's frontier); none by default.
    fn frontier(&self, _probes: Option<&Probes>) -> Result<Option<Table>> {
        Ok(None)
    }

    /// The names of the further tables the kind computes from its jobs besides the results (each written as
    /// `NAME.csv`, and what a `[[plot]]` with `table = "NAME"` draws); none by default.
    fn extra_tables(&self) -> &'static [&'static str] {
        &[]
    }

    /// The further tables, one per [`Experiment::extra_tables`] name, from every job's output in job order.
    fn assemble_extra(&self, _parts: &[Table]) -> Result<Vec<Table>> {
        Ok(Vec::new())
    }

    /// The shape of the further table `name` (as [`Experiment::key_table`] is the results'), for the plots.
    fn extra_key_table(&self, _name: &str) -> Option<Table> {
        None
    }

    /// The paper's own statements, checked on the results and the further tables (in addition to the
    /// config's `[[check]]`s); none by default.
    fn claims(&self, _results: &Table, _extra: &[Table]) -> Vec<Verdict> {
        Vec::new()
    }

    /// Files of the kind's own (figures beyond the config's `[[plot]]`s with `plots`, other outputs always),
    /// written into `out`; none by default.
    fn outputs(
        &self,
        _out: &Path,
        _results: &Table,
        _extra: &[Table],
        _plots: bool,
    ) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }

    /// The kind's own section of summary.md, from the results (when held), the frontier and the further
    /// tables; none by default.
    fn summary_section(
        &self,
        _results: Option<&Table>,
        _frontier: Option<&Table>,
        _extra: &[Table],
    ) -> String {
        String::new()
    }
}

/// A checked claim: (claim, passed, detail).
pub type Verdict = (String, bool, String);

/// The experiment a config describes (validating it).
pub fn plan(cfg: &Config) -> Result<Box<dyn Experiment + '_>> {
    let missing = || Error::invalid("config", "needs an experiment body table, e.g. [sweep]");
    match cfg.bodies().first().ok_or_else(missing)? {
        Kind::Sweep => Ok(Box::new(sweep::SweepKind::new(
            cfg.sweep.as_ref().ok_or_else(missing)?,
            cfg.frontier.as_ref().map(|f| f.along.clone()),
        )?)),
        Kind::Designer => Ok(Box::new(designer::Plan::new(
            cfg.designer.as_ref().ok_or_else(missing)?,
            cfg.seed,
        )?)),
        Kind::ClosedLoop => Ok(Box::new(closed_loop::Plan::new(
            cfg.closed_loop.as_ref().ok_or_else(missing)?,
            cfg.seed,
        )?)),
        Kind::Obedience => Ok(Box::new(kinds::obedience::Plan::new(
            cfg.obedience.as_ref().ok_or_else(missing)?,
            cfg.seed,
        )?)),
        Kind::Incorrigibility => Ok(Box::new(kinds::incorrigibility::Plan::new(
            cfg.incorrigibility.as_ref().ok_or_else(missing)?,
        )?)),
        Kind::Posg => Ok(Box::new(kinds::posg::Plan::new(
            cfg.posg.as_ref().ok_or_else(missing)?,
        )?)),
        Kind::Interruptibility => Ok(Box::new(kinds::interruptibility::Plan::new(
            cfg.interruptibility.as_ref().ok_or_else(missing)?,
            cfg.seed,
        )?)),
        Kind::Apprenticeship => Ok(Box::new(kinds::apprenticeship::Plan::new(
            cfg.apprenticeship.as_ref().ok_or_else(missing)?,
            cfg.seed,
        )?)),
        Kind::Solve => Ok(Box::new(kinds::solve::Plan::new(
            cfg.solve.as_ref().ok_or_else(missing)?,
            &cfg.name,
        )?)),
        Kind::Calibrate => Ok(Box::new(kinds::calibrate::Plan::new(
            cfg.calibrate.as_ref().ok_or_else(missing)?,
            cfg.seed,
            &cfg.name,
        )?)),
        Kind::Population => Ok(Box::new(kinds::population::Plan::new(
            cfg.population.as_ref().ok_or_else(missing)?,
            cfg.seed,
        )?)),
        Kind::Assistance => Ok(Box::new(kinds::assistance::Plan::new(
            cfg.assistance.as_ref().ok_or_else(missing)?,
            &cfg.name,
        )?)),
        Kind::Power => Ok(Box::new(kinds::power::Plan::new(
            cfg.power.as_ref().ok_or_else(missing)?,
            cfg.seed,
        )?)),
    }
}
