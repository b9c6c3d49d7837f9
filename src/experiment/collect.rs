//! A run's results, collected as they stream past in job order.
//!
//! A sweep's rows are its jobs' rows in order, so they need not be held: each job's CSV goes straight on to
//! results.csv (as it was rendered for its job file, so the bytes are those of an unsharded run), the `[[check]]`
//! rows and the frontier's probes (9 bytes a game) are folded in, and the table itself is kept only where the
//! plots need it. A designer study's results are computed from all its jobs at once (they are small).

use std::path::Path;

use super::config::{AtValue, Check, Config};
use super::shard::{Part, Plan};
use super::sweep::Probes;
use super::table::{Table, fmt_num};
use crate::error::{Error, Result};
use crate::output::{AtomicFile, parquet};

/// Folds the rows of a results table, as they stream past, into one `[[check]]`'s verdict.
#[derive(Debug, Clone)]
pub struct CheckTally<'c> {
    check: &'c Check,
    rows: usize,
    ok: bool,
    lo: f64,
    hi: f64,
    /// A matching row without the checked column (the check fails, whatever follows).
    missing: bool,
}

impl<'c> CheckTally<'c> {
    /// A tally of `check` over no rows yet.
    pub fn new(check: &'c Check) -> Self {
        CheckTally {
            check,
            rows: 0,
            ok: true,
            lo: f64::INFINITY,
            hi: f64::NEG_INFINITY,
            missing: false,
        }
    }

    /// Adds the rows of `t` that the check's `at` selects.
    pub fn add(&mut self, t: &Table) {
        let c = self.check;
        for i in 0..t.rows.len() {
            if self.missing {
                return;
            }
            let at = c.at.iter().all(|(k, v)| match v {
                AtValue::Num(v) => t
                    .num(i, k)
                    .is_some_and(|x| (x - v).abs() <= 1e-9 * v.abs().max(1.0)),
                AtValue::Text(v) => t.col(k).is_some() && t.text(i, k) == *v,
            });
            if !at {
                continue;
            }
            self.rows += 1;
            let Some(x) = t.num(i, &c.column) else {
                self.missing = true;
                return;
            };
            let mut good = true;
            if let Some(v) = c.value {
                good &= (x - v).abs() <= c.tol;
            }
            if let Some(m) = c.min {
                good &= x >= m;
            }
            if let Some(m) = c.max {
                good &= x <= m;
            }
            self.ok &= good;
            self.lo = self.lo.min(x);
            self.hi = self.hi.max(x);
        }
    }

    /// (claim, passed, detail).
    pub fn verdict(&self) -> (String, bool, String) {
        let c = self.check;
        if self.rows == 0 {
            return (
                c.claim.clone(),
                false,
                format!(
                    "no row matches {{ {} }}",
                    c.at.iter()
                        .map(|(k, v)| format!("{k} = {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        if self.missing {
            return (
                c.claim.clone(),
                false,
                format!("column {:?} is empty or missing", c.column),
            );
        }
        let worst = if self.lo == self.hi {
            format!("{} = {}", c.column, fmt_num(self.lo))
        } else {
            format!(
                "{} in [{}, {}]",
                c.column,
                fmt_num(self.lo),
                fmt_num(self.hi)
            )
        };
        let expect = match (c.value, c.min, c.max) {
            (Some(v), _, _) => format!("expected {} ± {}", fmt_num(v), fmt_num(c.tol)),
            (None, Some(a), Some(b)) => format!("expected in [{}, {}]", fmt_num(a), fmt_num(b)),
            (None, Some(a), None) => format!("expected ≥ {}", fmt_num(a)),
            (None, None, Some(b)) => format!("expected ≤ {}", fmt_num(b)),
            _ => "no bound given".into(),
        };
        (
            c.claim.clone(),
            self.ok,
            format!("{worst} over {} row(s); {expect}", self.rows),
        )
    }
}

/// Where a run's results file is written as the rows pass.
enum Sink {
    /// Nothing is written (the results are read back).
    None,
    /// results.csv: the jobs' CSV texts concatenated under one header.
    Csv(AtomicFile),
    /// results.parquet, a row group at a time.
    Parquet(Box<parquet::Writer<AtomicFile>>),
}

/// Collects a run's results from its jobs (in job order) or from its results file (in row order).
pub struct Collector<'a> {
    plan: &'a Plan<'a>,
    sink: Sink,
    header: Option<String>,
    rows: usize,
    checks: Vec<CheckTally<'a>>,
    probes: Option<Probes>,
    table: Option<Table>,
    /// A designer study's jobs, until all are in.
    pending: Vec<Table>,
}

/// What a [`Collector`] gathered.
pub struct Collected {
    /// The number of result rows.
    pub rows: usize,
    /// The results table, where it was kept.
    pub table: Option<Table>,
    /// The kind's further tables (computed from all its jobs; none for a kind whose rows stream).
    pub extra: Vec<Table>,
    /// (claim, passed, detail) for each `[[check]]`.
    pub checks: Vec<(String, bool, String)>,
    /// Δ and the decision of every point, for a sweep with a `[frontier]`.
    pub probes: Option<Probes>,
    /// The results file, written and not yet renamed into place (none where it was only read).
    pub file: Option<AtomicFile>,
}

impl<'a> Collector<'a> {
    /// A collector for `cfg`'s results, writing them (if given) to a file in a format, and keeping the table
    /// in memory with `keep`.
    pub fn new(
        cfg: &'a Config,
        plan: &'a Plan<'a>,
        file: Option<(&Path, parquet::Format)>,
        keep: bool,
    ) -> Result<Self> {
        let sink = match file {
            None => Sink::None,
            // The columns are the first job's.
            Some((p, parquet::Format::Parquet)) => Sink::Parquet(Box::new(parquet::Writer::new(
                AtomicFile::create(p)?,
                &[],
                plan.text_columns(),
                "results.parquet",
                Vec::new(),
                parquet::Encoding::Compact,
            ))),
            Some((p, parquet::Format::Csv)) => Sink::Csv(AtomicFile::create(p)?),
        };
        Ok(Collector {
            plan,
            sink,
            header: None,
            rows: 0,
            checks: cfg.check.iter().map(CheckTally::new).collect(),
            probes: (plan.streams() && cfg.frontier.is_some()).then(Probes::default),
            table: keep.then(|| Table::new(&[])),
            pending: Vec::new(),
        })
    }

    /// Takes the output of the next job.
    pub fn job(&mut self, part: Part) -> Result<()> {
        if self.plan.streams() {
            self.rows(part.table, &part.csv)
        } else {
            self.pending.push(part.table);
            Ok(())
        }
    }

    /// Takes the next rows of the results, `t`, and their CSV text `csv` (with its header line; used only when
    /// results.csv is written).
    pub fn rows(&mut self, t: Table, csv: &str) -> Result<()> {
        if let Sink::Csv(out) = &mut self.sink {
            let body = match &self.header {
                None => {
                    let end = csv.find('\n').map_or(csv.len(), |k| k + 1);
                    self.header = Some(csv[..end].to_string());
                    csv
                }
                Some(h) => csv.strip_prefix(h.as_str()).ok_or_else(|| {
                    Error::invalid("results", "a job's columns are not those of the run")
                })?,
            };
            out.write(body.as_bytes())?;
        }
        self.rows += t.rows.len();
        self.checks.iter_mut().for_each(|c| c.add(&t));
        if let Some(p) = &mut self.probes {
            p.add(&t)?;
        }
        // The Parquet writer takes the rows (a copy only where the table is also kept, for plots).
        let t = match (&mut self.sink, &self.table) {
            (Sink::Parquet(w), Some(_)) => {
                w.push_table(t.clone())?;
                t
            }
            (Sink::Parquet(w), None) => return w.push_table(t),
            _ => t,
        };
        if let Some(kept) = &mut self.table {
            if kept.columns.is_empty() {
                *kept = t;
            } else {
                kept.rows.extend(t.rows);
            }
        }
        Ok(())
    }

    /// The rows taken so far.
    pub fn count(&self) -> usize {
        self.rows
    }

    /// Ends the collection: every row of the run must be in.
    pub fn finish(mut self) -> Result<Collected> {
        let mut extra = Vec::new();
        if !self.pending.is_empty() {
            extra = self.plan.assemble_extra(&self.pending)?;
            let t = self.plan.assemble(std::mem::take(&mut self.pending))?;
            let csv = if matches!(self.sink, Sink::Csv(_)) {
                t.to_csv()
            } else {
                String::new()
            };
            self.rows(t, &csv)?;
        }
        let want = self.plan.rows();
        if self.rows != want {
            return Err(Error::invalid(
                "results",
                format!("{} rows where the run has {want}", self.rows),
            ));
        }
        Ok(Collected {
            rows: self.rows,
            table: self.table.take(),
            extra,
            checks: self.checks.iter().map(CheckTally::verdict).collect(),
            probes: self.probes.take(),
            file: match std::mem::replace(&mut self.sink, Sink::None) {
                Sink::None => None,
                Sink::Csv(f) => Some(f),
                Sink::Parquet(w) => Some(w.finish()?),
            },
        })
    }
}
