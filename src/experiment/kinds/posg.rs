//! Garber et al. 2025, partially observable off-switch games: each example's optimal value, the value of always
//! waiting, the number of optimal policy pairs and P(wait) over them, solved exactly
//! ([`crate::solvers::posg::solve`]) and checked against the values the example states. Games with observation
//! interference or a Boltzmann human (Emmons et al. 2025) are solved by [`crate::solvers::interference::solve`],
//! which adds the best value without interference and the range of P(the assistant interferes) over the optimal
//! assistant policies (for the other games: their value, and 0).
//!
//! A config lists the examples inline, each the keys of a PO-OSG file (see experiments/reproduce/garber2025/)
//! plus `file`, the name it is reported under, an optional `[expect]` table and an optional `betas` list (one
//! example per β, the human `boltzmann:β`, reported as `FILE β=…`); a PO-OSG file given to `cirl run` by itself
//! is a study of that one example. Job `i` solves example `i`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::model::posg::Posg;

/// `[posg]`: the examples, each a table of a PO-OSG file's keys with `file` and an optional `[expect]`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PosgStudy {
    /// The examples, each a table of a PO-OSG file's keys with `file` and an optional `[expect]`.
    pub example: Vec<toml::Table>,
}

/// What an example states about its solution, checked within [`TOL`].
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The common payoff of the reported pair.
    pub value: Option<f64>,
    /// The best value when the assistant always waits.
    pub always_wait_value: Option<f64>,
    /// Optimal (assistant, human) pairs in the full deterministic policy space.
    pub optimal_pairs: Option<f64>,
    /// The least P(the assistant waits) over all optimal pairs.
    pub p_wait_min: Option<f64>,
    /// The largest P(the assistant waits) over all optimal pairs.
    pub p_wait_max: Option<f64>,
    /// The best value when the assistant never hides the human's observation.
    pub no_interference_value: Option<f64>,
    /// The least P(the assistant interferes) over the optimal assistant policies.
    pub p_interfere_min: Option<f64>,
    /// The largest P(the assistant interferes) over the optimal assistant policies.
    pub p_interfere_max: Option<f64>,
}

/// Absolute tolerance of the checks of an example's stated values.
pub const TOL: f64 = 1e-9;

const COLUMNS: [&str; 16] = [
    "example",
    "human",
    "beta",
    "messages_h",
    "messages_a",
    "value",
    "always_wait_value",
    "full_information_value",
    "optimal_pairs",
    "optimal_assistant_policies",
    "p_wait_min",
    "p_wait_max",
    "no_interference_value",
    "interference_gain",
    "p_interfere_min",
    "p_interfere_max",
];

/// One example: the name it is reported under, the game and what it states.
pub struct Example {
    /// The name it is reported under (its file's stem).
    pub file: String,
    /// The game.
    pub game: Posg,
    /// What it states about its solution.
    pub expect: Expect,
}

impl PosgStudy {
    /// A study of the one PO-OSG file `table` (its keys), reported as `file`.
    pub fn of_file(mut table: toml::Table, file: &str) -> PosgStudy {
        table.insert("file".into(), toml::Value::String(file.into()));
        PosgStudy {
            example: vec![table],
        }
    }

    /// Every example, validated.
    pub fn examples(&self) -> Result<Vec<Example>> {
        if self.example.is_empty() {
            return Err(Error::invalid(
                "posg.example",
                "add at least one [[posg.example]] (the keys of a PO-OSG file)",
            ));
        }
        let mut out = Vec::new();
        for (i, t) in self.example.iter().enumerate() {
            let field = |k: &str| format!("posg.example[{i}].{k}");
            let mut t = t.clone();
            let betas = match t.remove("betas") {
                None => None,
                Some(toml::Value::Array(a)) if !a.is_empty() => Some(
                    a.iter()
                        .map(|v| match v {
                            toml::Value::Float(x) => Ok(*x),
                            toml::Value::Integer(x) => Ok(*x as f64),
                            _ => Err(Error::invalid(field("betas"), "must be numbers")),
                        })
                        .collect::<Result<Vec<f64>>>()?,
                ),
                Some(_) => {
                    return Err(Error::invalid(
                        field("betas"),
                        "must be a non-empty list of β (each a Boltzmann human)",
                    ));
                }
            };
            let file = match t.remove("file") {
                Some(toml::Value::String(f)) => f,
                None => format!("example-{i}"),
                Some(_) => return Err(Error::invalid(field("file"), "must be a string")),
            };
            let expect = match t.remove("expect") {
                Some(v) => Expect::deserialize(v).map_err(|e| {
                    Error::invalid(field("expect"), crate::error::one_line(e.message()))
                })?,
                None => Expect::default(),
            };
            t.entry("kind")
                .or_insert_with(|| toml::Value::String("po-osg".into()));
            match betas {
                None => out.push(Example {
                    game: Posg::from_table(t, &file)?,
                    file,
                    expect,
                }),
                Some(betas) => {
                    for b in betas {
                        let mut t = t.clone();
                        t.insert(
                            "human".into(),
                            toml::Value::String(format!("boltzmann:{b}")),
                        );
                        let file = format!("{file} β={b}");
                        out.push(Example {
                            game: Posg::from_table(t, &file)?,
                            file,
                            expect: expect.clone(),
                        });
                    }
                }
            }
        }
        Ok(out)
    }
}

/// A PO-OSG study laid out as jobs.
pub struct Plan {
    examples: Vec<Example>,
}

impl Plan {
    /// Validates every example.
    pub fn new(cfg: &PosgStudy) -> Result<Self> {
        Ok(Plan {
            examples: cfg.examples()?,
        })
    }
}

impl Experiment for Plan {
    fn jobs(&self) -> usize {
        self.examples.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let Example { file, game: g, .. } = &self.examples[j];
        let mut t = Table::new(&COLUMNS);
        let beta = if g.human == crate::model::posg::HumanKind::Boltzmann {
            Cell::Num(g.beta)
        } else {
            Cell::Empty
        };
        let keys = [
            Cell::Text(file.clone()),
            Cell::Text(g.human_name()),
            beta,
            Cell::Num(g.messages_h as f64),
            Cell::Num(g.messages_a as f64),
        ];
        let mut row = keys.to_vec();
        if g.is_general() {
            let s = crate::solvers::interference::solve(g)?;
            row.extend([
                Cell::Num(s.value),
                Cell::Empty,
                Cell::Num(s.full_information_value),
                Cell::Empty,
                Cell::Num(s.optimal_assistant_policies as f64),
                Cell::Num(s.p_wait_min),
                Cell::Num(s.p_wait_max),
                Cell::Num(s.no_interference_value),
                Cell::Num(s.value - s.no_interference_value),
                Cell::Num(s.p_interfere_min),
                Cell::Num(s.p_interfere_max),
            ]);
        } else {
            let s = crate::solvers::posg::solve(g)?;
            row.extend([
                Cell::Num(s.value),
                s.always_wait_value.into(),
                Cell::Num(s.full_information_value),
                s.optimal_pairs.into(),
                Cell::Num(s.optimal_assistant_policies.unwrap_or(0) as f64),
                s.p_wait_min.into(),
                s.p_wait_max.into(),
                // No move interferes: the value is its own value without interference.
                Cell::Num(s.value),
                Cell::Num(0.0),
                Cell::Num(0.0),
                Cell::Num(0.0),
            ]);
        }
        t.push(row);
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.examples.len()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS);
        for e in &self.examples {
            let mut row = vec![Cell::Num(0.0); COLUMNS.len()];
            row[0] = Cell::Text(e.file.clone());
            row[1] = Cell::Text(e.game.human_name());
            row[2] = if e.game.human == crate::model::posg::HumanKind::Boltzmann {
                Cell::Num(e.game.beta)
            } else {
                Cell::Empty
            };
            t.push(row);
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &COLUMNS[..2]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &COLUMNS)?;
        let file = &self.examples[j].file;
        if t.rows.len() != 1 || t.text(0, "example") != *file {
            return Err(format!("not the one row of example {file:?}"));
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        Ok(super::concatenate(parts, &COLUMNS))
    }

    fn claims(&self, t: &Table, _extra: &[Table]) -> Vec<Verdict> {
        let mut checks = Vec::new();
        for (i, e) in self.examples.iter().enumerate() {
            let x = &e.expect;
            for (what, want) in [
                ("value", x.value),
                ("always_wait_value", x.always_wait_value),
                ("optimal_pairs", x.optimal_pairs),
                ("p_wait_min", x.p_wait_min),
                ("p_wait_max", x.p_wait_max),
                ("no_interference_value", x.no_interference_value),
                ("p_interfere_min", x.p_interfere_min),
                ("p_interfere_max", x.p_interfere_max),
            ] {
                if let Some(w) = want {
                    let got = t.num(i, what);
                    checks.push((
                        format!("{}: {what} = {w}", e.file),
                        got.is_some_and(|x| (x - w).abs() <= TOL),
                        format!("computed {}", got.map_or(String::new(), |v| format!("{v}"))),
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
            "## The examples\n\nSolved by exact enumeration.\n\n| example | human | messages | value | always waiting | optimal pairs | P(wait) over optimal pairs |\n|---|---|---|---|---|---|---|\n",
        );
        let num = |i: usize, c: &str| t.num(i, c).map_or("—".into(), fmt_num);
        for i in 0..t.rows.len() {
            let _ = writeln!(
                md,
                "| {} | {} | {} × {} | {} | {} | {} | {} – {} |",
                t.text(i, "example"),
                t.text(i, "human"),
                t.text(i, "messages_h"),
                t.text(i, "messages_a"),
                num(i, "value"),
                num(i, "always_wait_value"),
                num(i, "optimal_pairs"),
                num(i, "p_wait_min"),
                num(i, "p_wait_max")
            );
        }
        md.push('\n');
        md
    }
}
