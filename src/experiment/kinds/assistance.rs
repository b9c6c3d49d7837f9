//! Shah et al. 2020, "Benefits of Assistance over Reward Learning": the same game solved as an assistance game
//! (the human answers whenever the game lets it) and as reward learning (every answer comes before the robot
//! acts in the world: the game's `two_phase`), exactly ([`crate::solvers::generalized`]), with the robot's
//! behaviour under the optimal plans computed exactly ([`crate::sim::cirl::behaviour`]) and checked against what
//! the paper describes (e.g. the assistant asks only on the branch where the answer matters).
//!
//! Each `[[assistance.game]]` is one game (`[assistance.game.model]`: the keys of a game file of
//! experiments/games/) under a label and a paradigm, optionally solved at several values of one of its keys
//! (`vary`, `values`). Job `i` solves row `i`; a job's table holds the row's value and its behaviour rows
//! (`behaviour.csv`).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::games::Model;
use crate::model::cirl::CirlGame;
use crate::solve::{Policy, Solver};

/// `[assistance]`: the games.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssistanceStudy {
    /// The games, each under a label and a paradigm.
    pub game: Vec<GameEntry>,
}

/// The two paradigms the paper compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Paradigm {
    /// The human answers whenever the game lets it; one policy learns and acts.
    Assistance,
    /// Every answer comes before the robot acts in the world (the game's `two_phase = true`).
    RewardLearning,
}

impl Paradigm {
    fn name(self) -> &'static str {
        match self {
            Paradigm::Assistance => "assistance",
            Paradigm::RewardLearning => "reward-learning",
        }
    }
}

/// One game of the study.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GameEntry {
    /// The name the results report it under (the same label under both paradigms pairs them).
    pub label: String,
    /// Assistance, or reward learning (which sets the game's `two_phase = true`).
    pub paradigm: Paradigm,
    /// The keys of a game file (`game = "wormy-apples"`, its parameters).
    pub model: toml::Table,
    /// A key of the model solved at each of `values` (the results' `x`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vary: Option<String>,
    /// The values of `vary`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f64>,
    /// What the paper says the robot does, checked exactly on the behaviour (not with `vary`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub expect: Vec<Behaviour>,
}

/// A statement about the robot's behaviour: the probability (over θ, chance and the human) that it takes
/// `robot` — in `state` and at `decision` when given, summed over the others — is `probability`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// What the paper says (shown with the check).
    pub claim: String,
    /// The robot's action.
    pub robot: String,
    /// The world state (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// The decision, 0 first (any when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<usize>,
    /// The probability (summed over the decisions and states left open: the expected number of times).
    pub probability: f64,
}

/// Absolute tolerance of the behaviour checks and of the paired comparison.
pub const TOL: f64 = 1e-9;

const COLUMNS: [&str; 9] = [
    "label",
    "paradigm",
    "x",
    "value",
    "initial_action",
    "decision",
    "state",
    "robot",
    "probability",
];
const RESULT_COLUMNS: [&str; 5] = ["label", "paradigm", "x", "value", "initial_action"];
const BEHAVIOUR_COLUMNS: [&str; 7] = [
    "label",
    "paradigm",
    "x",
    "decision",
    "state",
    "robot",
    "probability",
];

/// One row of the results: an entry at one value of its `vary`.
struct Row {
    entry: usize,
    x: Option<f64>,
    game: CirlGame,
}

/// An assistance study laid out as jobs.
pub struct Plan<'a> {
    cfg: &'a AssistanceStudy,
    rows: Vec<Row>,
}

impl<'a> Plan<'a> {
    /// Builds and checks every game.
    pub fn new(cfg: &'a AssistanceStudy, origin: &str) -> Result<Self> {
        if cfg.game.is_empty() {
            return Err(Error::invalid(
                "assistance.game",
                "add at least one [[assistance.game]] with a label, a paradigm and a [assistance.game.model]",
            ));
        }
        let mut rows = Vec::new();
        for (i, e) in cfg.game.iter().enumerate() {
            let field = |k: &str| format!("assistance.game[{i}].{k}");
            let mut model = e.model.clone();
            if e.paradigm == Paradigm::RewardLearning {
                if !model.contains_key("two_phase") {
                    return Err(Error::invalid(
                        field("paradigm"),
                        "reward learning sets the game's two_phase = true; give the model's two_phase key (wormy-apples and meal-choice have one)",
                    ));
                }
                model.insert("two_phase".into(), toml::Value::Boolean(true));
            }
            let xs: Vec<Option<f64>> = match &e.vary {
                None if e.values.is_empty() => vec![None],
                None => {
                    return Err(Error::invalid(
                        field("values"),
                        "give `vary`, the model key these values are for",
                    ));
                }
                Some(_) if e.values.is_empty() => {
                    return Err(Error::invalid(
                        field("values"),
                        "give at least one value of `vary`",
                    ));
                }
                Some(_) if !e.expect.is_empty() => {
                    return Err(Error::invalid(
                        field("expect"),
                        "behaviour checks are for one game: drop `vary` or the [[expect]]s",
                    ));
                }
                Some(_) => e.values.iter().map(|&v| Some(v)).collect(),
            };
            for x in xs {
                let mut m = model.clone();
                if let (Some(k), Some(v)) = (&e.vary, x) {
                    let old = m.get(k).ok_or_else(|| {
                        Error::invalid(field("vary"), format!("the model has no key {k:?}"))
                    })?;
                    let value = if old.is_integer() {
                        if v.fract() != 0.0 || v < 0.0 {
                            return Err(Error::invalid(
                                field("values"),
                                format!("{k} takes whole numbers ≥ 0, got {v}"),
                            ));
                        }
                        toml::Value::Integer(v as i64)
                    } else {
                        toml::Value::Float(v)
                    };
                    m.insert(k.clone(), value);
                }
                let text = toml::to_string(&m)
                    .map_err(|err| Error::invalid(field("model"), err.to_string()))?;
                let Model::Cirl(game) =
                    crate::games::spec_from_toml(origin, &text, &[])?.build()?
                else {
                    return Err(Error::invalid(
                        field("model"),
                        "must be a CIRL game (red-blue, wormy-apples, meal-choice, chef, …), not a plain POMDP",
                    ));
                };
                game.check()?;
                if game.horizon.is_none() {
                    return Err(Error::invalid(
                        field("model"),
                        "give the game a horizon: the behaviour is computed decision by decision",
                    ));
                }
                for b in &e.expect {
                    if !game.robot_actions.contains(&b.robot) {
                        return Err(Error::invalid(
                            field("expect.robot"),
                            format!(
                                "{:?} is not a robot action of {} ({:?})",
                                b.robot, game.name, game.robot_actions
                            ),
                        ));
                    }
                    if let Some(s) = &b.state
                        && !game.states.contains(s)
                    {
                        return Err(Error::invalid(
                            field("expect.state"),
                            format!("{s:?} is not a state of {}", game.name),
                        ));
                    }
                }
                rows.push(Row { entry: i, x, game });
            }
        }
        Ok(Plan { cfg, rows })
    }

    fn keys(&self, j: usize) -> [Cell; 3] {
        let r = &self.rows[j];
        let e = &self.cfg.game[r.entry];
        [
            Cell::Text(e.label.clone()),
            Cell::Text(e.paradigm.name().into()),
            r.x.map_or(Cell::Empty, Cell::Num),
        ]
    }
}

impl Experiment for Plan<'_> {
    fn jobs(&self) -> usize {
        self.rows.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let g = &self.rows[j].game;
        let model = Model::Cirl(g.clone());
        let sol = Solver::Exact.solve(&model, &crate::solve::Settings::default())?;
        let Policy::Plans(plans) = &sol.policy else {
            return Err(Error::invalid(
                "assistance.game",
                "the exact solver gave no plans for this game",
            ));
        };
        let mut t = Table::new(&COLUMNS);
        let keys = self.keys(j);
        let mut row: Vec<Cell> = keys.to_vec();
        row.extend([
            Cell::Num(sol.value),
            Cell::Text(sol.initial_action(&model)),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]);
        t.push(row);
        for v in crate::sim::cirl::behaviour(g, plans) {
            let mut row: Vec<Cell> = keys.to_vec();
            row.extend([
                Cell::Empty,
                Cell::Empty,
                Cell::Num(v.decision as f64),
                Cell::Text(g.states[v.state].clone()),
                Cell::Text(g.robot_actions[v.robot].clone()),
                Cell::Num(v.probability),
            ]);
            t.push(row);
        }
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.rows.len()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&RESULT_COLUMNS);
        for j in 0..self.rows.len() {
            let mut row = self.keys(j).to_vec();
            row.extend([Cell::Num(0.0), Cell::Text(String::new())]);
            t.push(row);
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &["label", "paradigm", "initial_action", "state", "robot"]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &COLUMNS)?;
        let keys = self.keys(j).map(|c| c.render());
        let first = t.rows.first().map(|r| [0, 1, 2].map(|c| r[c].render()));
        if first.as_ref() != Some(&keys) || t.num(0, "value").is_none() {
            return Err(format!("not the rows of {}", keys.join(" / ")));
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        Ok(super::first_rows(&parts, &RESULT_COLUMNS))
    }

    fn extra_tables(&self) -> &'static [&'static str] {
        &["behaviour"]
    }

    fn assemble_extra(&self, parts: &[Table]) -> Result<Vec<Table>> {
        Ok(vec![super::further_rows(parts, &BEHAVIOUR_COLUMNS, 3, 5)])
    }

    fn extra_key_table(&self, name: &str) -> Option<Table> {
        (name == "behaviour").then(|| Table::new(&BEHAVIOUR_COLUMNS))
    }

    fn claims(&self, t: &Table, extra: &[Table]) -> Vec<Verdict> {
        let mut checks = Vec::new();
        let Some(beh) = extra.first() else {
            return checks;
        };
        for (j, row) in self.rows.iter().enumerate() {
            let e = &self.cfg.game[row.entry];
            for b in &e.expect {
                let got: f64 = (0..beh.rows.len())
                    .filter(|&i| {
                        beh.text(i, "label") == e.label
                            && beh.text(i, "paradigm") == e.paradigm.name()
                            && beh.num(i, "x") == row.x
                            && beh.text(i, "robot") == b.robot
                            && b.state.as_ref().is_none_or(|s| beh.text(i, "state") == *s)
                            && b.decision
                                .is_none_or(|d| beh.num(i, "decision") == Some(d as f64))
                    })
                    .filter_map(|i| beh.num(i, "probability"))
                    .sum();
                let place = match (&b.state, b.decision) {
                    (Some(s), Some(d)) => format!(" in {s} at decision {d}"),
                    (Some(s), None) => format!(" in {s}"),
                    (None, Some(d)) => format!(" at decision {d}"),
                    (None, None) => String::new(),
                };
                checks.push((
                    format!(
                        "{} ({}): {} — P({}{place}) = {}",
                        e.label,
                        e.paradigm.name(),
                        b.claim,
                        b.robot,
                        fmt_num(b.probability)
                    ),
                    (got - b.probability).abs() <= TOL,
                    format!("computed {}", fmt_num(got)),
                ));
            }
            // Reward learning restricts when the human answers, so assistance can never do worse.
            if e.paradigm == Paradigm::Assistance {
                let partner = (0..t.rows.len()).find(|&i| {
                    let r = &self.rows[i];
                    let pe = &self.cfg.game[r.entry];
                    pe.label == e.label && pe.paradigm == Paradigm::RewardLearning && r.x == row.x
                });
                if let Some(i) = partner
                    && let (Some(va), Some(vr)) = (t.num(j, "value"), t.num(i, "value"))
                {
                    let at = row.x.map_or(String::new(), |x| {
                        format!(" at {} = {}", e.vary.as_deref().unwrap_or("x"), fmt_num(x))
                    });
                    checks.push((
                        format!(
                            "{}{at}: assistance is worth at least reward learning",
                            e.label
                        ),
                        va >= vr - TOL,
                        format!(
                            "{} against {} (gain {})",
                            fmt_num(va),
                            fmt_num(vr),
                            fmt_num(va - vr)
                        ),
                    ));
                }
            }
        }
        checks
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
        let mut md = String::from(
            "## Assistance and reward learning\n\nEach game solved exactly; the robot's behaviour under the optimal plans is in behaviour.csv.\n\n| game | paradigm | x | value | first action |\n|---|---|---|---|---|\n",
        );
        for i in 0..t.rows.len() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                t.text(i, "label"),
                t.text(i, "paradigm"),
                t.num(i, "x").map_or("—".into(), fmt_num),
                t.num(i, "value").map_or("—".into(), fmt_num),
                t.text(i, "initial_action"),
            );
        }
        md.push('\n');
        md
    }
}
