//! An escalation scenario calibrated (`cirl calibrate` as an experiment): the scenario is inline, the keys of a
//! scenario file of experiments/scenarios/; a scenario file given to `cirl run` by itself is a study of that
//! scenario. One job calibrates it ([`crate::escalation::calibrate`], its Monte Carlo check seeded by the
//! config's seed); the results are the card's policies, one row each, and the run writes the card, its exports
//! and its plots as `cirl calibrate --out` does.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::escalation::{self, Calibration, scenario::Scenario};
use crate::experiment::kind::Experiment;
use crate::experiment::table::{Cell, Table};

/// `[calibrate]`: the scenario and the size of its Monte Carlo check.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CalibrateStudy {
    /// The keys of a scenario file.
    pub scenario: toml::Table,
    /// Simulated actions of the Monte Carlo check (`cirl calibrate --mc`; 0: none).
    #[serde(default = "default_mc")]
    pub mc: u64,
}

/// `cirl calibrate`'s default `--mc`.
pub const DEFAULT_MC: u64 = 1_000_000;

fn default_mc() -> u64 {
    DEFAULT_MC
}

impl CalibrateStudy {
    /// A study of the scenario file `table` with the default Monte Carlo check.
    pub fn of_file(table: toml::Table) -> CalibrateStudy {
        CalibrateStudy {
            scenario: table,
            mc: DEFAULT_MC,
        }
    }
}

const COLUMNS: [&str; 10] = [
    "policy",
    "expected_utility",
    "regret",
    "act_rate",
    "ask_rate",
    "block_rate",
    "handover_rate",
    "harm_rate",
    "harms_prevented_rate",
    "meets_limits",
];

/// A calibration laid out as one job.
pub struct Plan {
    scenario: Scenario,
    options: escalation::Options,
    /// The calibration, once computed in this process (the card and plots are written from it).
    done: OnceLock<Calibration>,
}

impl Plan {
    /// Validates the scenario.
    pub fn new(cfg: &CalibrateStudy, seed: u64, origin: &str) -> Result<Self> {
        crate::limits::check_count(
            "calibrate.mc",
            cfg.mc,
            crate::limits::MAX_CALIBRATE_MC,
            "simulated actions",
            "ask for fewer (10^6 gives intervals of about ±0.1% of a class's value)",
        )?;
        let text = toml::to_string(&cfg.scenario)
            .map_err(|e| Error::invalid("calibrate.scenario", e.to_string()))?;
        Ok(Plan {
            scenario: Scenario::parse(&text, origin)?,
            options: escalation::Options {
                mc_actions: cfg.mc,
                seed,
            },
            done: OnceLock::new(),
        })
    }

    fn calibration(&self) -> Result<&Calibration> {
        if let Some(c) = self.done.get() {
            return Ok(c);
        }
        let c = escalation::calibrate(&self.scenario, &self.options)?;
        Ok(self.done.get_or_init(|| c))
    }
}

impl Experiment for Plan {
    fn jobs(&self) -> usize {
        1
    }

    fn run_job(&self, _j: usize) -> Result<Table> {
        let c = self.calibration()?;
        let mut t = Table::new(&COLUMNS);
        for p in &c.policies {
            t.push(vec![
                Cell::Text(p.name.clone()),
                Cell::Num(p.expected_utility),
                Cell::Num(p.regret),
                Cell::Num(p.act_rate),
                Cell::Num(p.ask_rate),
                Cell::Num(p.block_rate),
                Cell::Num(p.handover_rate),
                Cell::Num(p.harm_rate),
                Cell::Num(p.harms_prevented_rate),
                p.meets_limits.map_or(Cell::Empty, Cell::Bool),
            ]);
        }
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.calibration().map_or(0, |c| c.policies.len())
    }

    fn key_table(&self) -> Table {
        Table::new(&COLUMNS)
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &["policy"]
    }

    fn check_part(&self, _j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &COLUMNS)?;
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        Ok(super::concatenate(parts, &COLUMNS))
    }

    fn outputs(
        &self,
        out: &Path,
        _results: &Table,
        _extra: &[Table],
        plots: bool,
    ) -> Result<Vec<PathBuf>> {
        let mut c = self.calibration()?.clone();
        let mut files = Vec::new();
        if plots {
            let (f, notes) = escalation::plot_all(&self.scenario, &c, out)?;
            files = f;
            c.plot_notes = notes;
        }
        // The card's summary.md becomes the kind's section of the run's (see `summary_section`).
        files.extend(
            escalation::card::write(&c, out)?
                .into_iter()
                .filter(|f| !f.ends_with("summary.md")),
        );
        Ok(files)
    }

    fn summary_section(
        &self,
        _results: Option<&Table>,
        _frontier: Option<&Table>,
        _extra: &[Table],
    ) -> String {
        // The card in words, its headings one level down under the run's title.
        let Ok(c) = self.calibration() else {
            return String::new();
        };
        let mut md = String::new();
        for line in escalation::card::summary(c).lines() {
            if line.starts_with('#') {
                md.push('#');
            }
            md.push_str(line);
            md.push('\n');
        }
        md.push('\n');
        md
    }
}
