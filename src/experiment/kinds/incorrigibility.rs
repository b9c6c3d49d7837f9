//! Carey 2018, "Incorrigibility in the CIRL framework": for every deterministic human policy (in which situations
//! the human presses the button), what a value-learning robot does, and the true expected reward of the value
//! learner and of the same robot with a hard-coded shutdown (the game is [`crate::games::incorrigibility`]).
//!
//! Job `i` computes scenario `i` exactly (its outcomes are enumerated); the results are the jobs' rows in order.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::games::incorrigibility::Scenario;

/// `[incorrigibility]`: the scenarios studied.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Incorrigibility {
    /// The scenarios studied.
    pub scenario: Vec<Scenario>,
    /// The human's noise ε of Carey's own construction (Figs. 1, 2a, 2b; the paper: 0 < ε < 1/100): when given,
    /// `construction.csv` holds its value for every human policy and the paper's statements are checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub carey_epsilon: Option<f64>,
}

const CONSTRUCTION_COLUMNS: [&str; 4] = ["figure", "orders", "shutdown_in", "value"];

const COLUMNS: [&str; 6] = [
    "scenario",
    "human_presses_in",
    "after_press",
    "after_no_press",
    "value_learner",
    "hard_coded_shutdown",
];

/// An incorrigibility study laid out as jobs.
pub struct Plan<'a> {
    cfg: &'a Incorrigibility,
    /// Rows per scenario.
    rows: Vec<usize>,
    /// Carey's construction at the config's ε (computed once, when the config is validated).
    construction: Vec<crate::games::incorrigibility::CareyRow>,
}

impl<'a> Plan<'a> {
    /// Validates every scenario.
    pub fn new(cfg: &'a Incorrigibility) -> Result<Self> {
        if cfg.scenario.is_empty() {
            return Err(Error::invalid(
                "incorrigibility.scenario",
                "add at least one [[incorrigibility.scenario]]",
            ));
        }
        let rows = cfg
            .scenario
            .iter()
            .map(|s| s.outcomes().map(|o| o.len()))
            .collect::<Result<_>>()?;
        let construction = match cfg.carey_epsilon {
            Some(e) => crate::games::incorrigibility::carey_construction(e)?,
            None => Vec::new(),
        };
        Ok(Plan {
            cfg,
            rows,
            construction,
        })
    }

    /// Which of the results' rows are scenario `i`'s.
    fn span(&self, i: usize) -> std::ops::Range<usize> {
        let start: usize = self.rows[..i].iter().sum();
        start..start + self.rows[i]
    }
}

/// Who presses, as the results name it.
fn presses(who: &[String]) -> String {
    if who.is_empty() {
        "never".to_string()
    } else {
        who.join(" and ")
    }
}

impl Experiment for Plan<'_> {
    fn jobs(&self) -> usize {
        self.cfg.scenario.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let s = &self.cfg.scenario[j];
        let mut t = Table::new(&COLUMNS);
        for o in s.outcomes()? {
            t.push(vec![
                Cell::Text(s.name.clone()),
                Cell::Text(presses(&o.presses_in)),
                Cell::Text(o.after_press.into()),
                Cell::Text(o.after_no_press.into()),
                Cell::Num(o.value_learner),
                Cell::Num(o.hard_coded),
            ]);
        }
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.rows.iter().sum()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS);
        for (s, &n) in self.cfg.scenario.iter().zip(&self.rows) {
            for _ in 0..n {
                let mut row = vec![Cell::Num(0.0); COLUMNS.len()];
                row[0] = Cell::Text(s.name.clone());
                t.push(row);
            }
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &COLUMNS[..4]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &COLUMNS)?;
        if t.rows.len() != self.rows[j] {
            return Err(format!("{} rows, not {}", t.rows.len(), self.rows[j]));
        }
        let name = &self.cfg.scenario[j].name;
        match (0..t.rows.len()).find(|&i| t.text(i, "scenario") != *name) {
            Some(i) => Err(format!("row {i} is not of scenario {name:?}")),
            None => Ok(()),
        }
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        Ok(super::concatenate(parts, &COLUMNS))
    }

    fn extra_tables(&self) -> &'static [&'static str] {
        &["construction"]
    }

    /// Carey's construction (computed exactly, a few dozen sums): one row per (figure, human policy).
    fn assemble_extra(&self, _parts: &[Table]) -> Result<Vec<Table>> {
        let mut t = Table::new(&CONSTRUCTION_COLUMNS);
        for r in &self.construction {
            let sd: Vec<&str> = ["θ = 0", "θ = 1"]
                .iter()
                .zip(r.shutdown)
                .filter(|(_, s)| *s)
                .map(|(n, _)| *n)
                .collect();
            t.push(vec![
                Cell::Text(r.figure.into()),
                Cell::Text(format!("{} / {}", r.orders[0], r.orders[1])),
                Cell::Text(if r.figure == "1" {
                    "-".into()
                } else if sd.is_empty() {
                    "never".into()
                } else {
                    sd.join(" and ")
                }),
                Cell::Num(r.value),
            ]);
        }
        Ok(vec![t])
    }

    fn claims(&self, t: &Table, extra: &[Table]) -> Vec<Verdict> {
        let mut checks = Vec::new();
        let max = |v: &[f64]| v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if let (Some(e), Some(c)) = (self.cfg.carey_epsilon, extra.first()) {
            let values = |fig: &str| -> Vec<f64> {
                (0..c.rows.len())
                    .filter(|&i| c.text(i, "figure") == fig)
                    .filter_map(|i| c.num(i, "value"))
                    .collect()
            };
            for (fig, what) in [
                ("1", "Fig. 1"),
                (
                    "2a",
                    "Fig. 2a (a shutdown button the value learner may ignore)",
                ),
            ] {
                let v = values(fig);
                checks.push((
                    format!("Carey's construction, {what}, ε = {e}: the expected true reward is at most −3/5 for every human policy"),
                    !v.is_empty() && max(&v) <= -0.6 + 1e-12,
                    format!("best over {} human policies {}", v.len(), fmt_num(max(&v))),
                ));
            }
            let always_alt_then_off = (0..c.rows.len()).find(|&i| {
                c.text(i, "figure") == "2b"
                    && c.text(i, "orders") == "a' / a'"
                    && c.text(i, "shutdown_in") == "θ = 0 and θ = 1"
            });
            let v = always_alt_then_off.and_then(|i| c.num(i, "value"));
            checks.push((
                format!("Carey's construction, Fig. 2b, ε = {e}: with a hard-coded shutdown, \"always order a′, then shutdown\" achieves 0.9·1 + 0.1·0 = 9/10"),
                v.is_some_and(|x| (x - 0.9).abs() < 1e-12),
                format!("{} (best over human policies {})", v.map_or("missing".into(), fmt_num), fmt_num(max(&values("2b")))),
            ));
        }
        for (i, s) in self.cfg.scenario.iter().enumerate() {
            let (off, best) = s.benchmarks();
            let rows = self.span(i);
            let col = |c: &str| -> Vec<f64> {
                rows.clone()
                    .map(|r| t.num(r, c).unwrap_or(f64::NAN))
                    .collect()
            };
            let (vl, hc) = (col("value_learner"), col("hard_coded_shutdown"));
            let (vl_best, hc_best) = (max(&vl), max(&hc));
            if s.name == "correct-model" {
                checks.push((
                    format!("{}: a correct model heeds an informative human (the value learner reaches the human-in-control value)", s.name),
                    (vl_best - best).abs() < 1e-9,
                    format!("best value learner {} vs {}", fmt_num(vl_best), fmt_num(best)),
                ));
            } else {
                let ignores = rows.clone().all(|r| t.text(r, "after_press") == "act");
                checks.push((
                    format!("{}: the value learner ignores the button and loses in expectation for every human policy", s.name),
                    vl.iter().all(|v| *v < off) && ignores,
                    format!("best over human policies {} < {} (shut down)", fmt_num(vl_best), fmt_num(off)),
                ));
                checks.push((
                    format!(
                        "{}: a hard-coded shutdown lets the human reach the human-in-control value",
                        s.name
                    ),
                    (hc_best - best).abs() < 1e-9,
                    format!("best with the button obeyed {}", fmt_num(hc_best)),
                ));
            }
        }
        checks
    }

    fn summary_section(
        &self,
        results: Option<&Table>,
        _frontier: Option<&Table>,
        extra: &[Table],
    ) -> String {
        let Some(t) = results else {
            return String::new();
        };
        let mut md = String::new();
        if let Some(c) = extra.first().filter(|c| !c.rows.is_empty()) {
            let _ = writeln!(
                md,
                "## Carey's construction (Figs. 1, 2a, 2b)\n\nThe expected true reward for every deterministic human policy (orders for θ = 0 / θ = 1; where the human orders shutdown at the button).\n\n{}\n",
                c.to_markdown(
                    &CONSTRUCTION_COLUMNS,
                    &(0..c.rows.len()).collect::<Vec<_>>()
                )
            );
        }
        for (i, s) in self.cfg.scenario.iter().enumerate() {
            let (off, best) = s.benchmarks();
            let _ = writeln!(
                md,
                "## {}\n\n{}\n\nAlways shutting down is worth {}; a human in control (the better move in every situation) {}.\n\n| human presses in | robot after a press | after no press | value learner | hard-coded shutdown |\n|---|---|---|---|---|",
                s.name,
                s.description,
                fmt_num(off),
                fmt_num(best)
            );
            for r in self.span(i) {
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {} |",
                    t.text(r, "human_presses_in"),
                    t.text(r, "after_press"),
                    t.text(r, "after_no_press"),
                    fmt_num(t.num(r, "value_learner").unwrap_or(f64::NAN)),
                    fmt_num(t.num(r, "hard_coded_shutdown").unwrap_or(f64::NAN))
                );
            }
            md.push('\n');
        }
        md
    }
}
