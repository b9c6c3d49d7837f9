//! Populations of sequential environments: when deferring beats acting once actions come in sequences.
//!
//! `[population]` names a family of environments ([`crate::model::chain::Family`]: the sequential off-switch
//! chain) and the condition axes — steps T, the robot's uncertainty σ (and its prior mean μ), the human,
//! the ask cost c, the irreversible fraction f, the supervisor's presence q, and the misspecification of the
//! prior (`shift` of the truth's mean, `scale` of its sd) — and draws `environments` chains per condition. Every
//! agent of [`crate::solvers::chain`] plays every chain against the same human (common random numbers), and is
//! scored twice: exactly, by its tree's value under the robot's belief, and by the realised return against a θ
//! drawn from the truth (what misspecification changes).
//!
//! Job layout: condition k's environments in blocks of `block`; environment e of condition k is drawn from the
//! stream (seed, k, e) and the truth and answers from its next draws, so every figure is the same at any thread
//! count or sharding. A job's table holds, per agent, the block's sums; the results add the blocks up.
//!
//! The results, per (condition, agent): the exact value and the mean return with 95% intervals, the gap to the
//! Bayes agent (paired), the share of environments where the agent's return beats acting on the prior, asks
//! and irreversible harms per episode; for the Bayes agent the incentive to defer at the first step
//! (Q(ask) − max(Q(act), Q(off)), the sequential Δ) and, with T = 1, the largest difference from the one-shot
//! off-switch game's values.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::experiment::config::{Axis, OneOrMany};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::human::Human;
use crate::model::chain::{Chain, Family};
use crate::numerics::Estimate;
use crate::offswitch;
use crate::rng::{derive_seed, job_rng};
use crate::sim::chain::{Draws, rollout};
use crate::solvers::chain::{Agent, solve};

/// `[population]`: the family, the condition axes and the population size.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationStudy {
    /// The environment family: "chain" (the sequential off-switch chain).
    pub family: String,
    /// T: steps per environment.
    pub steps: Axis,
    /// μ of the robot's belief over θ.
    pub mu: Axis,
    /// σ of the robot's belief (the value-uncertainty dial).
    pub sigma: Axis,
    /// The human models (`rational`, `boltzmann:BETA`, `p-rational:P`, …).
    pub human: OneOrMany,
    /// c: the cost of asking.
    pub ask_cost: Axis,
    /// f: P(a step is irreversible).
    pub irreversible: Axis,
    /// q: P(the human is present at a step).
    pub presence: Axis,
    /// The truth's mean minus μ (0: a well-centred prior).
    #[serde(default = "zero")]
    pub shift: Axis,
    /// The truth's sd over σ (1: calibrated; > 1: the robot is overconfident).
    #[serde(default = "one")]
    pub scale: Axis,
    /// τ: the sd of the per-step offsets δ_t.
    pub spread: f64,
    /// d: the undo cost of a reversible step.
    pub undo_cost: f64,
    /// Environments per condition.
    pub environments: usize,
    /// Environments per job.
    #[serde(default = "block")]
    pub block: usize,
    /// The confidence rule's threshold.
    #[serde(default = "tau")]
    pub confidence_threshold: f64,
    /// Panels of the belief's quadrature over μ ± 12σ (see [`Chain::belief`]).
    #[serde(default = "panels")]
    pub panels: usize,
    /// Gauss–Legendre points per panel.
    #[serde(default = "order")]
    pub order: usize,
}

fn zero() -> Axis {
    Axis::Value(0.0)
}
fn one() -> Axis {
    Axis::Value(1.0)
}
fn block() -> usize {
    500
}
fn tau() -> f64 {
    0.8
}
fn panels() -> usize {
    24
}
fn order() -> usize {
    8
}

/// The condition columns, then the agent, then the per-block sums (a job's table).
const KEYS: [&str; 10] = [
    "steps",
    "mu",
    "sigma",
    "human",
    "ask_cost",
    "irreversible",
    "presence",
    "shift",
    "scale",
    "agent",
];

const SUMS: [&str; 13] = [
    "n",
    "value_sum",
    "value_sq",
    "return_sum",
    "return_sq",
    "gap_sum",
    "gap_sq",
    "asks",
    "harms",
    "beats_acting",
    "above_bayes",
    "incentive_sum",
    "one_shot_error",
];

/// The results' columns after the condition and agent ([`KEYS`]).
const FIGURES: [&str; 16] = [
    "environments",
    "value",
    "value_ci_low",
    "value_ci_high",
    "mean_return",
    "return_ci_low",
    "return_ci_high",
    "gap_to_bayes",
    "gap_ci_low",
    "gap_ci_high",
    "beats_acting",
    "asks_per_episode",
    "harms_per_episode",
    "above_bayes",
    "defer_incentive",
    "one_shot_error",
];

/// A job's columns: the condition and agent, then the block's sums.
fn part_columns() -> Vec<&'static str> {
    KEYS.iter().chain(&SUMS).copied().collect()
}

/// The results' columns: the condition and agent, then the figures.
fn results_columns() -> Vec<&'static str> {
    KEYS.iter().chain(&FIGURES).copied().collect()
}

/// One condition of the grid.
#[derive(Debug, Clone)]
struct Condition {
    family: Family,
    human: String,
}

/// A population study laid out as jobs.
pub struct Plan {
    cfg: PopulationStudy,
    conditions: Vec<Condition>,
    agents: Vec<Agent>,
    blocks: usize,
    seed: u64,
}

impl Plan {
    /// Validates the study and expands its condition grid.
    pub fn new(cfg: &PopulationStudy, seed: u64) -> Result<Plan> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("population.{f}"), m));
        if cfg.family != "chain" {
            return bad(
                "family",
                format!(
                    "unknown family {:?}; the families: chain (the sequential off-switch chain)",
                    cfg.family
                ),
            );
        }
        if cfg.environments == 0 || cfg.environments > 100_000_000 {
            return bad(
                "environments",
                format!("must be 1–100000000, got {}", cfg.environments),
            );
        }
        if cfg.block == 0 {
            return bad("block", "must be ≥ 1".into());
        }
        if !(cfg.confidence_threshold > 0.5 && cfg.confidence_threshold <= 1.0) {
            return bad(
                "confidence_threshold",
                format!("must be in (0.5, 1], got {}", cfg.confidence_threshold),
            );
        }
        if !(1..=400).contains(&cfg.panels) || !(2..=64).contains(&cfg.order) {
            return bad(
                "panels",
                format!(
                    "panels must be 1–400 and order 2–64, got {} and {}",
                    cfg.panels, cfg.order
                ),
            );
        }
        let ax = |a: &Axis, f: &str| a.values(&format!("population.{f}"));
        let steps = ax(&cfg.steps, "steps")?;
        let (mus, sigmas) = (ax(&cfg.mu, "mu")?, ax(&cfg.sigma, "sigma")?);
        let costs = ax(&cfg.ask_cost, "ask_cost")?;
        let (irrs, pres) = (
            ax(&cfg.irreversible, "irreversible")?,
            ax(&cfg.presence, "presence")?,
        );
        let (shifts, scales) = (ax(&cfg.shift, "shift")?, ax(&cfg.scale, "scale")?);
        if let Some(t) = steps.iter().find(|t| t.fract() != 0.0 || **t < 1.0) {
            return bad("steps", format!("must be whole numbers ≥ 1, got {t}"));
        }
        let names = cfg.human.to_vec();
        let humans = names
            .iter()
            .map(|h| {
                Human::parse(h).map_err(|e| match e {
                    Error::Invalid { message, .. } => Error::invalid("population.human", message),
                    e => e,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        // The grid in the order of the axes below, the last fastest: condition k's index along axis a is
        // k / (the product of the later axes' lengths) mod its own length.
        let humans_axis: Vec<f64> = (0..humans.len()).map(|i| i as f64).collect();
        let axes = [
            &steps,
            &humans_axis,
            &mus,
            &sigmas,
            &costs,
            &irrs,
            &pres,
            &shifts,
            &scales,
        ];
        let total = axes.iter().try_fold(1usize, |n, a| n.checked_mul(a.len()));
        if total.is_none_or(|n| n > 100_000) {
            let n = axes.iter().map(|a| a.len() as f64).product::<f64>();
            return bad(
                "sigma",
                format!("the grid has {n} conditions; at most 100000"),
            );
        }
        let mut conditions = Vec::new();
        for k in 0..total.unwrap_or(0) {
            let mut at = [0.0; 9];
            let mut rest = k;
            for (x, a) in at.iter_mut().zip(&axes).rev() {
                *x = a[rest % a.len()];
                rest /= a.len();
            }
            let [
                t,
                h,
                mu,
                sigma,
                ask_cost,
                irreversible,
                presence,
                shift,
                scale,
            ] = at;
            let family = Family {
                steps: t as usize,
                mu,
                sigma,
                spread: cfg.spread,
                irreversible,
                undo_cost: cfg.undo_cost,
                ask_cost,
                presence,
                human: humans[h as usize],
                shift,
                scale,
            };
            family.check("population")?;
            conditions.push(Condition {
                family,
                human: names[h as usize].clone(),
            });
        }
        Ok(Plan {
            cfg: cfg.clone(),
            conditions,
            agents: Agent::all(cfg.confidence_threshold).to_vec(),
            blocks: cfg.environments.div_ceil(cfg.block),
            seed,
        })
    }

    fn key_cells(&self, k: usize, agent: Agent) -> Vec<Cell> {
        let c = &self.conditions[k];
        let f = &c.family;
        vec![
            Cell::Num(f.steps as f64),
            Cell::Num(f.mu),
            Cell::Num(f.sigma),
            Cell::Text(c.human.clone()),
            Cell::Num(f.ask_cost),
            Cell::Num(f.irreversible),
            Cell::Num(f.presence),
            Cell::Num(f.shift),
            Cell::Num(f.scale),
            Cell::Text(agent.name().into()),
        ]
    }

    /// Whether the condition's truth is the robot's belief (no misspecification).
    fn well_specified(f: &Family) -> bool {
        f.shift == 0.0 && f.scale == 1.0
    }
}

/// The one-shot off-switch game's value of a one-step chain (irreversible), or none.
fn one_shot(chain: &Chain) -> Option<f64> {
    if chain.steps.len() != 1 || !chain.steps[0].irreversible {
        return None;
    }
    let prior = Prior::Normal {
        mu: chain.mu + chain.steps[0].offset,
        sigma: chain.sigma,
    };
    let v = offswitch::values(&prior, &chain.human, chain.ask_cost).ok()?;
    let q = chain.presence;
    Some(q * v.v_act.max(v.v_wait).max(0.0) + (1.0 - q) * v.v_act.max(0.0))
}

impl Experiment for Plan {
    fn jobs(&self) -> usize {
        self.conditions.len() * self.blocks
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let (k, b) = (j / self.blocks, j % self.blocks);
        let f = &self.conditions[k].family;
        let start = b * self.cfg.block;
        let end = (start + self.cfg.block).min(self.cfg.environments);
        let na = self.agents.len();
        let mut s = vec![[0.0f64; SUMS.len()]; na];
        let acting = self
            .agents
            .iter()
            .position(|a| *a == Agent::ActOnPrior)
            .expect("always compared");
        for e in start..end {
            let mut rng = job_rng(derive_seed(self.seed, k as u64, e as u64), 0);
            let (chain, theta) = f.draw(&mut rng);
            let draws = Draws::new(chain.steps.len(), &mut rng);
            let belief = chain.belief(self.cfg.panels, self.cfg.order);
            let tol = 1e-9 * (1.0 + chain.scale() * chain.steps.len() as f64);
            let trees: Vec<_> = self
                .agents
                .iter()
                .map(|a| solve(&chain, &belief, *a))
                .collect();
            let rolls: Vec<_> = trees
                .iter()
                .map(|t| rollout(&chain, t, theta, &draws))
                .collect();
            let bayes_value = trees[0].value();
            let one = one_shot(&chain);
            for (i, (tree, r)) in trees.iter().zip(&rolls).enumerate() {
                let v = tree.value();
                let gap = rolls[0].ret - r.ret;
                let row = &mut s[i];
                row[0] += 1.0;
                row[1] += v;
                row[2] += v * v;
                row[3] += r.ret;
                row[4] += r.ret * r.ret;
                row[5] += gap;
                row[6] += gap * gap;
                row[7] += r.asks as f64;
                row[8] += r.harms as f64;
                row[9] += (r.ret > rolls[acting].ret) as u8 as f64;
                row[10] += (v > bayes_value + tol) as u8 as f64;
                if i == 0 {
                    row[11] += tree.incentive;
                    if let Some(w) = one {
                        row[12] = row[12].max((v - w).abs());
                    }
                }
            }
        }
        let mut t = Table::new(&part_columns());
        for (i, a) in self.agents.iter().enumerate() {
            let mut row = self.key_cells(k, *a);
            row.extend(s[i].iter().map(|x| Cell::Num(*x)));
            t.push(row);
        }
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.conditions.len() * self.agents.len()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&results_columns());
        for k in 0..self.conditions.len() {
            for a in &self.agents {
                let mut row = self.key_cells(k, *a);
                row.resize(KEYS.len() + FIGURES.len(), Cell::Num(0.0));
                t.push(row);
            }
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &["human", "agent"]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &part_columns())?;
        if t.rows.len() != self.agents.len() {
            return Err(format!("{} rows, not {}", t.rows.len(), self.agents.len()));
        }
        let k = j / self.blocks;
        for (i, a) in self.agents.iter().enumerate() {
            let want = self.key_cells(k, *a);
            if t.rows[i][..KEYS.len()] != want[..] {
                return Err(format!("row {i} is not condition {k}'s {}", a.name()));
            }
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let mut t = Table::new(&results_columns());
        let na = self.agents.len();
        for k in 0..self.conditions.len() {
            for (i, a) in self.agents.iter().enumerate() {
                let mut s = [0.0f64; SUMS.len()];
                for p in &parts[k * self.blocks..(k + 1) * self.blocks] {
                    debug_assert_eq!(p.rows.len(), na);
                    for (c, x) in s.iter_mut().enumerate() {
                        let v = p.rows[i][KEYS.len() + c].num().unwrap_or(f64::NAN);
                        if c == 12 {
                            *x = x.max(v);
                        } else {
                            *x += v;
                        }
                    }
                }
                let n = s[0];
                let est = |sum: f64, sq: f64| {
                    let m = sum / n;
                    let var = if n > 1.0 {
                        ((sq - n * m * m) / (n - 1.0)).max(0.0)
                    } else {
                        0.0
                    };
                    Estimate::normal(m, (var / n).sqrt())
                };
                let (v, r, g) = (est(s[1], s[2]), est(s[3], s[4]), est(s[5], s[6]));
                let bayes = i == 0;
                let mut row = self.key_cells(k, *a);
                row.extend(
                    [
                        n,
                        v.mean,
                        v.ci_low,
                        v.ci_high,
                        r.mean,
                        r.ci_low,
                        r.ci_high,
                        g.mean,
                        g.ci_low,
                        g.ci_high,
                        s[9] / n,
                        s[7] / n,
                        s[8] / n,
                        s[10],
                        if bayes { s[11] / n } else { f64::NAN },
                        if bayes && self.conditions[k].family.steps == 1 {
                            s[12]
                        } else {
                            f64::NAN
                        },
                    ]
                    .map(Cell::Num),
                );
                t.push(row);
            }
        }
        Ok(t)
    }

    fn claims(&self, t: &Table, _extra: &[Table]) -> Vec<Verdict> {
        let na = self.agents.len();
        let col = |r: usize, c: &str| t.num(r, c).unwrap_or(f64::NAN);
        let mut out = Vec::new();
        // 1. Bayes-optimal by construction: no rival's exact value above its own, in any environment.
        let above: f64 = (0..t.rows.len()).map(|r| col(r, "above_bayes")).sum();
        out.push((
            "The Bayes agent's exact value is at least every rival's in every environment (optimal by construction)".to_string(),
            above == 0.0,
            format!("{} (environment, rival) pairs above it", fmt_num(above)),
        ));
        // 2. Well-specified conditions: its mean return ≥ every rival's within the paired CI.
        let mut worst = f64::INFINITY;
        let mut any = false;
        for (k, c) in self.conditions.iter().enumerate() {
            if !Plan::well_specified(&c.family) {
                continue;
            }
            for i in 1..na {
                let r = k * na + i;
                any = true;
                worst = worst.min(col(r, "gap_ci_high"));
            }
        }
        if any {
            out.push((
                "Where the prior is right, the Bayes agent's mean return is at least every rival's within the 95% interval of the paired difference".to_string(),
                worst >= 0.0,
                format!("the least upper end of (Bayes − rival)'s interval: {}", fmt_num(worst)),
            ));
        }
        // 3. T = 1: the one-shot off-switch game.
        let errs: Vec<f64> = (0..self.conditions.len())
            .map(|k| col(k * na, "one_shot_error"))
            .filter(|x| !x.is_nan())
            .collect();
        if !errs.is_empty() {
            let e = errs.iter().copied().fold(0.0, f64::max);
            out.push((
                "With T = 1 (an irreversible action) the chain is the off-switch game: the Bayes agent's value is max(v_act, v_wait, 0) (with presence q: q·that + (1 − q)·max(v_act, 0))".to_string(),
                e <= 1e-9,
                format!("largest difference {} over the one-step conditions", fmt_num(e)),
            ));
        }
        // 4. A rational human and free questions: asking never loses (Theorem 1 generalised).
        let mut gaps = Vec::new();
        for (k, c) in self.conditions.iter().enumerate() {
            if c.family.human == Human::Rational && c.family.ask_cost == 0.0 {
                let ask = self
                    .agents
                    .iter()
                    .position(|a| *a == Agent::AlwaysAsk)
                    .unwrap();
                let act = self
                    .agents
                    .iter()
                    .position(|a| *a == Agent::ActOnPrior)
                    .unwrap();
                gaps.push(col(k * na + ask, "value") - col(k * na + act, "value"));
            }
        }
        if !gaps.is_empty() {
            let least = gaps.iter().copied().fold(f64::INFINITY, f64::min);
            out.push((
                "With a rational human and c = 0, always asking is worth at least acting on the prior (Theorem 1 generalised)".to_string(),
                least >= -1e-9,
                format!("least mean exact advantage {} over {} condition(s)", fmt_num(least), gaps.len()),
            ));
        }
        // 5. σ = 0: nothing to learn, so the Bayes, myopic and act-on-prior agents coincide.
        let mut gap0 = Vec::new();
        for (k, c) in self.conditions.iter().enumerate() {
            if c.family.sigma == 0.0 {
                let v = |a: Agent| {
                    let i = self.agents.iter().position(|x| *x == a).unwrap();
                    col(k * na + i, "value")
                };
                let b = v(Agent::Bayes);
                gap0.push(
                    (b - v(Agent::Myopic))
                        .abs()
                        .max((b - v(Agent::ActOnPrior)).abs()),
                );
            }
        }
        if !gap0.is_empty() {
            let g = gap0.iter().copied().fold(0.0, f64::max);
            out.push((
                "With σ = 0 the Bayes, myopic and act-on-prior agents have the same value"
                    .to_string(),
                g <= 1e-9,
                format!("largest difference {}", fmt_num(g)),
            ));
        }
        out
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
        let na = self.agents.len();
        let mut md = format!(
            "## The population\n\n{} condition(s) × {} environments of the sequential off-switch chain (spread τ = {}, undo cost d = {}); every agent plays every environment against the same human.\n\n| T | σ | human | c | f | q | shift | scale | Bayes return | act-on-prior | myopic | always ask | Bayes asks/episode | defer incentive |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            self.conditions.len(),
            self.cfg.environments,
            fmt_num(self.cfg.spread),
            fmt_num(self.cfg.undo_cost)
        );
        let idx = |a: Agent| self.agents.iter().position(|x| *x == a).unwrap();
        for (k, c) in self.conditions.iter().enumerate() {
            let f = &c.family;
            let ret = |a: Agent| {
                let r = k * na + idx(a);
                format!(
                    "{} ± {}",
                    fmt4(t.num(r, "mean_return").unwrap_or(f64::NAN)),
                    fmt4(
                        0.5 * (t.num(r, "return_ci_high").unwrap_or(f64::NAN)
                            - t.num(r, "return_ci_low").unwrap_or(f64::NAN))
                    )
                )
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
                f.steps,
                fmt_num(f.sigma),
                c.human,
                fmt_num(f.ask_cost),
                fmt_num(f.irreversible),
                fmt_num(f.presence),
                fmt_num(f.shift),
                fmt_num(f.scale),
                ret(Agent::Bayes),
                ret(Agent::ActOnPrior),
                ret(Agent::Myopic),
                ret(Agent::AlwaysAsk),
                fmt4(t.num(k * na, "asks_per_episode").unwrap_or(f64::NAN)),
                fmt4(t.num(k * na, "defer_incentive").unwrap_or(f64::NAN)),
            );
        }
        md.push('\n');
        md
    }
}

fn fmt4(x: f64) -> String {
    format!("{x:.4}")
}
