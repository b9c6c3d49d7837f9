//! A game solved by one or more solvers (`cirl solve` as an experiment): the game is inline, the keys of a
//! game file of experiments/games/; a game file given to `cirl run` by itself is a study of that game with the
//! default solver. Job `i` runs solver `i` on the game ([`crate::solve::run`], settings
//! [`crate::solve::Request::default`]); the results are one row per solver.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::kind::Experiment;
use crate::experiment::table::{Cell, Table};
use crate::games::Model;
use crate::solve::{Request, Solver};

/// `[solve]`: the game and the solvers.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SolveStudy {
    /// The keys of a game file (`game = "tiger"`, its parameters).
    pub game: toml::Table,
    /// The solvers, each run from its default settings (default: the exact solver).
    #[serde(default = "default_solvers")]
    pub solvers: Vec<Solver>,
}

fn default_solvers() -> Vec<Solver> {
    vec![Request::default().solver]
}

impl SolveStudy {
    /// A study of the game file `table` with the default solver.
    pub fn of_file(table: toml::Table) -> SolveStudy {
        SolveStudy {
            game: table,
            solvers: default_solvers(),
        }
    }
}

const COLUMNS: [&str; 11] = [
    "model",
    "solver",
    "method",
    "value",
    "lower",
    "upper",
    "error_bound",
    "iterations",
    "vectors",
    "initial_action",
    "tolerance_met",
];

/// A solve study laid out as jobs.
pub struct Plan<'a> {
    cfg: &'a SolveStudy,
    model: Model,
}

impl<'a> Plan<'a> {
    /// Builds and checks the game.
    pub fn new(cfg: &'a SolveStudy, origin: &str) -> Result<Self> {
        if cfg.solvers.is_empty() {
            return Err(Error::invalid(
                "solve.solvers",
                format!(
                    "give at least one of {}",
                    Solver::ALL.map(|s| s.name()).join(", ")
                ),
            ));
        }
        let text =
            toml::to_string(&cfg.game).map_err(|e| Error::invalid("solve.game", e.to_string()))?;
        let model = crate::games::spec_from_toml(origin, &text, &[])?.build()?;
        Ok(Plan { cfg, model })
    }
}

impl Experiment for Plan<'_> {
    fn jobs(&self) -> usize {
        self.cfg.solvers.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let req = Request {
            solver: self.cfg.solvers[j],
            ..Request::default()
        };
        let r = crate::solve::run(&self.model, &req)?;
        let mut t = Table::new(&COLUMNS);
        t.push(vec![
            Cell::Text(r.model.clone()),
            Cell::Text(r.solver.name().into()),
            Cell::Text(r.method.clone()),
            Cell::Num(r.value),
            r.lower.into(),
            r.upper.into(),
            Cell::Num(r.error_bound),
            Cell::Num(r.iterations as f64),
            Cell::Num(r.vectors as f64),
            Cell::Text(r.initial_action.clone()),
            Cell::Bool(r.tolerance_met),
        ]);
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.cfg.solvers.len()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS);
        for s in &self.cfg.solvers {
            let mut row = vec![Cell::Num(0.0); COLUMNS.len()];
            row[1] = Cell::Text(s.name().into());
            t.push(row);
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &["model", "solver", "method", "initial_action"]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &COLUMNS)?;
        let s = self.cfg.solvers[j].name();
        if t.rows.len() != 1 || t.text(0, "solver") != s {
            return Err(format!("not the one row of solver {s}"));
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        Ok(super::concatenate(parts, &COLUMNS))
    }

    fn summary_section(
        &self,
        results: Option<&Table>,
        _frontier: Option<&Table>,
        _extra: &[Table],
    ) -> String {
        let Some(t) = results else {
            return String::new();
        };
        format!(
            "## Solutions\n\n{}\n\n",
            t.to_markdown(
                &[
                    "solver",
                    "method",
                    "value",
                    "lower",
                    "upper",
                    "error_bound",
                    "initial_action"
                ],
                &(0..t.rows.len()).collect::<Vec<_>>()
            )
        )
    }
}
