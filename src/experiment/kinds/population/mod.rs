//! Populations of sequential environments: when deferring beats acting once actions come in sequences.
//!
//! `[population]` names a family of environments ([`crate::model::chain::Family`]: the sequential off-switch
//! chain) and the condition axes — steps T, the robot's uncertainty σ (and its prior mean μ), the human,
//! the ask cost c, the irreversible fraction f, the supervisor's presence q, and the misspecification of the
//! prior (`shift` of the truth's mean, `scale` of its sd) — and draws `environments` chains per condition. Every
//! agent of [`crate::solvers::chain`] plays every chain against the same human, and is scored three ways:
//! exactly under the robot's belief (its tree's value), exactly under the truth (the same tree valued with θ
//! drawn from the truth: what misspecification changes), and by the realised return against one θ drawn from
//! the truth.
//!
//! **Common random numbers.** Environment e's randomness ([`Noise`]: the offsets' normals, the
//! irreversibility, presence and answer uniforms, the truth's normal) is drawn once from the stream (seed, e)
//! and shared by every condition and every agent: two conditions differ in environment e only through their
//! parameters, so differences between conditions and between agents are paired, and the frontier below is the
//! root of a continuous function of the axis. Every figure is the same at any thread count or sharding.
//!
//! **Jobs.** Condition k's environments in blocks of `block` (a job's table holds, per agent, the block's
//! sums; the results add the blocks up), then one job per slice of every `frontier` axis (its roots).
//!
//! **Outputs.** `results.csv`, per (condition, agent): the exact value, the exact value under the truth and the
//! mean realised return with 95% intervals, the paired gap to the Bayes agent, the share of environments where
//! the agent's return beats acting on the prior, asks and irreversible harms per episode. `conditions.csv`, per
//! condition: the Bayes agent's incentive to defer at the first step, Δ_seq = Q(ask) − max(Q(act), Q(off)) (the
//! off-switch game's Δ when T = 1) with its interval and the share of environments where it is positive; the
//! deferring agent's advantage over acting on the prior under the truth; the one-shot off-switch game's Δ at the
//! same belief. `frontier.csv` ([`frontier`]): where Δ_seq and the advantage change sign along each `frontier`
//! axis, by Brent's method on the mean over the first `frontier_environments` environments, with the root's
//! standard error, the same slice's root with one step (the one-shot frontier) and the closed-form law where
//! it applies. `thresholds.csv`: the deferral boundaries per action profile, in the form `cirl calibrate`
//! reads as a class's prior source.

mod frontier;

use std::fmt::Write as _;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::experiment::config::{Axis, OneOrMany};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::human::Human;
use crate::model::chain::{Chain, Family, Noise};
use crate::numerics::Estimate;
use crate::offswitch;
use crate::rng::{derive_seed, job_rng};
use crate::sim::chain::rollout;
use crate::solvers::chain::{Agent, Histories, evaluate, solve};

pub use frontier::{FRONTIER_COLUMNS, THRESHOLDS_COLUMNS};

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
    /// The axes along which to locate the frontier (any of mu, sigma, beta, ask_cost, irreversible, presence,
    /// shift, scale; each needs two or more values). None by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frontier: Vec<String>,
    /// The environments (the first N of every condition's) each evaluation of the frontier's root finding
    /// averages over; default min(environments, 1000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frontier_environments: Option<usize>,
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

/// The stream tag of the environments' noise in [`derive_seed`].
const NOISE_STREAM: u64 = 0x504f50; // "POP"

/// A condition's columns (results, conditions, frontier): the axes, with the human's β beside its name.
const CONDITION: [&str; 10] = [
    "steps",
    "mu",
    "sigma",
    "human",
    "beta",
    "ask_cost",
    "irreversible",
    "presence",
    "shift",
    "scale",
];

/// Sums of a value and its square over environments.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Moments {
    sum: f64,
    sq: f64,
}

impl Moments {
    fn add(&mut self, x: f64) {
        self.sum += x;
        self.sq += x * x;
    }

    /// The mean and its 95% interval over `n` environments.
    fn estimate(&self, n: f64) -> Estimate {
        let m = self.sum / n;
        let var = if n > 1.0 {
            ((self.sq - n * m * m) / (n - 1.0)).max(0.0)
        } else {
            0.0
        };
        Estimate::normal(m, (var / n).sqrt())
    }
}

/// What a block of environments adds up, per agent (the condition-level figures in the Bayes agent's row).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Sums {
    n: f64,
    value: Moments,
    truth: Moments,
    ret: Moments,
    gap: Moments,
    asks: f64,
    harms: f64,
    beats_acting: f64,
    above_bayes: f64,
    incentive: Moments,
    defers: f64,
    advantage: Moments,
    one_shot_error: f64,
    carry_over_below: f64,
}

/// The columns of [`Sums`] in a job's table, in the order of [`Sums::cells`].
const SUMS: [&str; 20] = [
    "n",
    "value_sum",
    "value_sq",
    "truth_sum",
    "truth_sq",
    "return_sum",
    "return_sq",
    "gap_sum",
    "gap_sq",
    "asks",
    "harms",
    "beats_acting",
    "above_bayes",
    "incentive_sum",
    "incentive_sq",
    "defers",
    "advantage_sum",
    "advantage_sq",
    "one_shot_error",
    "carry_over_below",
];

impl Sums {
    fn cells(&self) -> [f64; SUMS.len()] {
        [
            self.n,
            self.value.sum,
            self.value.sq,
            self.truth.sum,
            self.truth.sq,
            self.ret.sum,
            self.ret.sq,
            self.gap.sum,
            self.gap.sq,
            self.asks,
            self.harms,
            self.beats_acting,
            self.above_bayes,
            self.incentive.sum,
            self.incentive.sq,
            self.defers,
            self.advantage.sum,
            self.advantage.sq,
            self.one_shot_error,
            self.carry_over_below,
        ]
    }

    fn from_cells(c: &[f64]) -> Sums {
        let m = |i: usize| Moments {
            sum: c[i],
            sq: c[i + 1],
        };
        Sums {
            n: c[0],
            value: m(1),
            truth: m(3),
            ret: m(5),
            gap: m(7),
            asks: c[9],
            harms: c[10],
            beats_acting: c[11],
            above_bayes: c[12],
            incentive: m(13),
            defers: c[15],
            advantage: m(16),
            one_shot_error: c[18],
            carry_over_below: c[19],
        }
    }

    /// Adds another block's sums (the largest one-shot error is a maximum, not a sum).
    fn merge(&mut self, o: &Sums) {
        let add = |a: &mut Moments, b: &Moments| {
            a.sum += b.sum;
            a.sq += b.sq;
        };
        self.n += o.n;
        add(&mut self.value, &o.value);
        add(&mut self.truth, &o.truth);
        add(&mut self.ret, &o.ret);
        add(&mut self.gap, &o.gap);
        self.asks += o.asks;
        self.harms += o.harms;
        self.beats_acting += o.beats_acting;
        self.above_bayes += o.above_bayes;
        add(&mut self.incentive, &o.incentive);
        self.defers += o.defers;
        add(&mut self.advantage, &o.advantage);
        self.one_shot_error = self.one_shot_error.max(o.one_shot_error);
        self.carry_over_below += o.carry_over_below;
    }
}

/// The results' columns after the condition and agent.
const FIGURES: [&str; 20] = [
    "environments",
    "value",
    "value_ci_low",
    "value_ci_high",
    "truth_value",
    "truth_value_ci_low",
    "truth_value_ci_high",
    "mean_return",
    "mean_return_ci_low",
    "mean_return_ci_high",
    "gap_to_bayes",
    "gap_to_bayes_ci_low",
    "gap_to_bayes_ci_high",
    "beats_acting",
    "asks_per_episode",
    "harms_per_episode",
    "above_bayes",
    "defer_incentive",
    "one_shot_error",
    "carry_over_below",
];

/// The conditions table's columns after the condition.
const CONDITION_FIGURES: [&str; 11] = [
    "environments",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "defers",
    "advantage",
    "advantage_ci_low",
    "advantage_ci_high",
    "one_shot_delta",
    "bayes_asks",
    "carry_over_below",
];

/// A job's columns for a block of environments: the condition and agent, then the block's sums.
fn part_columns() -> Vec<&'static str> {
    CONDITION
        .iter()
        .chain(&["agent"])
        .chain(&SUMS)
        .copied()
        .collect()
}

/// The results' columns: the condition and agent, then the figures.
fn results_columns() -> Vec<&'static str> {
    CONDITION
        .iter()
        .chain(&["agent"])
        .chain(&FIGURES)
        .copied()
        .collect()
}

/// The conditions table's columns.
fn condition_columns() -> Vec<&'static str> {
    CONDITION
        .iter()
        .chain(&CONDITION_FIGURES)
        .copied()
        .collect()
}

/// One condition of the grid.
#[derive(Debug, Clone)]
struct Condition {
    family: Family,
    /// The human as the config names it.
    human: String,
}

/// β of a human whose answers are logistic in U (rational: 0); NaN for the others.
fn beta_of(h: &Human) -> f64 {
    match h {
        Human::Rational => 0.0,
        Human::Boltzmann { beta } => *beta,
        _ => f64::NAN,
    }
}

/// The condition grid: each axis's values in grid order — steps, human (indices into the study's humans), mu,
/// sigma, ask_cost, irreversible, presence, shift, scale — the last fastest.
#[derive(Debug, Clone)]
struct Grid {
    values: [Vec<f64>; 9],
}

impl Grid {
    fn len(&self) -> usize {
        self.values.iter().map(Vec::len).product()
    }

    /// Condition k's index along every axis (mixed radix, the last axis fastest).
    fn decode(&self, k: usize) -> [usize; 9] {
        let mut at = [0; 9];
        let mut rest = k;
        for (x, a) in at.iter_mut().zip(&self.values).rev() {
            *x = rest % a.len();
            rest /= a.len();
        }
        at
    }

    fn encode(&self, at: &[usize; 9]) -> usize {
        at.iter()
            .zip(&self.values)
            .fold(0, |k, (i, a)| k * a.len() + i)
    }
}

/// A population study laid out as jobs.
pub struct Plan {
    cfg: PopulationStudy,
    conditions: Vec<Condition>,
    agents: Vec<Agent>,
    blocks: usize,
    slices: Vec<frontier::Slice>,
    frontier_environments: usize,
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
        let frontier_environments = cfg
            .frontier_environments
            .unwrap_or(cfg.environments.min(1000));
        if frontier_environments == 0 || frontier_environments > cfg.environments {
            return bad(
                "frontier_environments",
                format!(
                    "must be 1–{} (the environments of a condition), got {frontier_environments}",
                    cfg.environments
                ),
            );
        }
        let ax = |a: &Axis, f: &str| a.values(&format!("population.{f}"));
        let steps = ax(&cfg.steps, "steps")?;
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
        let grid = Grid {
            values: [
                steps,
                (0..humans.len()).map(|i| i as f64).collect(),
                ax(&cfg.mu, "mu")?,
                ax(&cfg.sigma, "sigma")?,
                ax(&cfg.ask_cost, "ask_cost")?,
                ax(&cfg.irreversible, "irreversible")?,
                ax(&cfg.presence, "presence")?,
                ax(&cfg.shift, "shift")?,
                ax(&cfg.scale, "scale")?,
            ],
        };
        let total = grid
            .values
            .iter()
            .try_fold(1usize, |n, a| n.checked_mul(a.len()));
        if total.is_none_or(|n| n > 100_000) {
            let n = grid.values.iter().map(|a| a.len() as f64).product::<f64>();
            return bad(
                "sigma",
                format!("the grid has {n} conditions; at most 100000"),
            );
        }
        let mut conditions = Vec::with_capacity(grid.len());
        for k in 0..grid.len() {
            let at = grid.decode(k);
            let v = |a: usize| grid.values[a][at[a]];
            let family = Family {
                steps: v(0) as usize,
                mu: v(2),
                sigma: v(3),
                spread: cfg.spread,
                irreversible: v(5),
                undo_cost: cfg.undo_cost,
                ask_cost: v(4),
                presence: v(6),
                human: humans[at[1]],
                shift: v(7),
                scale: v(8),
            };
            family.check("population")?;
            conditions.push(Condition {
                family,
                human: names[at[1]].clone(),
            });
        }
        let slices = frontier::slices(&cfg.frontier, &grid, &humans)?;
        Ok(Plan {
            cfg: cfg.clone(),
            conditions,
            agents: Agent::all(cfg.confidence_threshold).to_vec(),
            blocks: cfg.environments.div_ceil(cfg.block),
            slices,
            frontier_environments,
            seed,
        })
    }

    /// Condition k's columns.
    fn condition_cells(&self, k: usize) -> Vec<Cell> {
        let c = &self.conditions[k];
        family_cells(&c.family, &c.human)
    }

    fn key_cells(&self, k: usize, agent: Agent) -> Vec<Cell> {
        let mut row = self.condition_cells(k);
        row.push(Cell::Text(agent.name().into()));
        row
    }

    /// Environment e's noise: the same for every condition (common random numbers).
    fn noise(&self, e: usize) -> Noise {
        Noise::draw(&mut job_rng(
            derive_seed(self.seed, NOISE_STREAM, e as u64),
            0,
        ))
    }

    fn agent_index(&self, a: Agent) -> usize {
        self.agents
            .iter()
            .position(|x| *x == a)
            .expect("every agent is compared")
    }

    fn block_job(&self, k: usize, b: usize) -> Table {
        let f = &self.conditions[k].family;
        let start = b * self.cfg.block;
        let end = (start + self.cfg.block).min(self.cfg.environments);
        let acting = self.agent_index(Agent::ActOnPrior);
        let mut s = vec![Sums::default(); self.agents.len()];
        let well = well_specified(f);
        for e in start..end {
            let noise = self.noise(e);
            let (chain, theta) = f.realise(&noise);
            let belief = chain.belief(self.cfg.panels, self.cfg.order);
            let truth = (!well).then(|| f.truth(&chain).belief(self.cfg.panels, self.cfg.order));
            let tol = 1e-9 * (1.0 + chain.scale() * chain.steps.len() as f64);
            let histories = Histories::new(&chain, &belief);
            let trees: Vec<_> = self
                .agents
                .iter()
                .map(|a| histories.solve(&chain, *a))
                .collect();
            let truth_values: Vec<f64> = trees
                .iter()
                .map(|t| match &truth {
                    Some(tb) => evaluate(&chain, t, tb),
                    None => t.value(),
                })
                .collect();
            let rolls: Vec<_> = trees
                .iter()
                .map(|t| rollout(&chain, t, theta, &noise))
                .collect();
            let bayes_value = trees[0].value();
            for (i, (tree, r)) in trees.iter().zip(&rolls).enumerate() {
                let v = tree.value();
                let row = &mut s[i];
                row.n += 1.0;
                row.value.add(v);
                row.truth.add(truth_values[i]);
                row.ret.add(r.ret);
                row.gap.add(rolls[0].ret - r.ret);
                row.asks += r.asks as f64;
                row.harms += r.harms as f64;
                row.beats_acting += (r.ret > rolls[acting].ret) as u8 as f64;
                row.above_bayes += (v > bayes_value + tol) as u8 as f64;
            }
            // The condition's figures, in the Bayes agent's row.
            let inc = trees[0].incentive;
            let row = &mut s[0];
            row.incentive.add(inc);
            row.defers += (inc > tol) as u8 as f64;
            row.advantage.add(truth_values[0] - truth_values[acting]);
            if let Some(w) = one_shot(&chain) {
                row.one_shot_error = row.one_shot_error.max((bayes_value - w).abs());
            }
            // Carry-over: the first step's incentive with the later steps at least the first step's alone.
            if chain.steps.len() > 1 {
                let first = Chain {
                    steps: vec![chain.steps[0]],
                    ..chain.clone()
                };
                let b1 = first.belief(self.cfg.panels, self.cfg.order);
                let alone = solve(&first, &b1, Agent::Bayes).incentive;
                row.carry_over_below += (inc < alone - tol) as u8 as f64;
            }
        }
        let mut t = Table::new(&part_columns());
        for (i, a) in self.agents.iter().enumerate() {
            let mut row = self.key_cells(k, *a);
            row.extend(s[i].cells().iter().map(|x| Cell::Num(*x)));
            t.push(row);
        }
        t
    }

    /// Every block's sums, added up per (condition, agent).
    fn totals(&self, parts: &[Table]) -> Vec<Vec<Sums>> {
        let na = self.agents.len();
        let off = CONDITION.len() + 1;
        (0..self.conditions.len())
            .map(|k| {
                (0..na)
                    .map(|i| {
                        let mut s = Sums::default();
                        for p in &parts[k * self.blocks..(k + 1) * self.blocks] {
                            let c: Vec<f64> = p.rows[i][off..]
                                .iter()
                                .map(|c| c.num().unwrap_or(f64::NAN))
                                .collect();
                            s.merge(&Sums::from_cells(&c));
                        }
                        s
                    })
                    .collect()
            })
            .collect()
    }

    fn condition_jobs(&self) -> usize {
        self.conditions.len() * self.blocks
    }
}

/// A family's condition columns.
fn family_cells(f: &Family, human: &str) -> Vec<Cell> {
    vec![
        Cell::Num(f.steps as f64),
        Cell::Num(f.mu),
        Cell::Num(f.sigma),
        Cell::Text(human.to_string()),
        Cell::Num(beta_of(&f.human)),
        Cell::Num(f.ask_cost),
        Cell::Num(f.irreversible),
        Cell::Num(f.presence),
        Cell::Num(f.shift),
        Cell::Num(f.scale),
    ]
}

/// Whether the condition's truth is the robot's belief (no misspecification).
fn well_specified(f: &Family) -> bool {
    f.shift == 0.0 && f.scale == 1.0
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

/// The one-shot off-switch game's Δ at the family's belief N(μ, σ²), its human and ask cost.
fn one_shot_delta(f: &Family) -> f64 {
    offswitch::values(
        &Prior::Normal {
            mu: f.mu,
            sigma: f.sigma,
        },
        &f.human,
        f.ask_cost,
    )
    .map(|v| v.delta)
    .unwrap_or(f64::NAN)
}

impl Experiment for Plan {
    fn jobs(&self) -> usize {
        self.condition_jobs() + self.slices.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        if j < self.condition_jobs() {
            Ok(self.block_job(j / self.blocks, j % self.blocks))
        } else {
            frontier::run(self, &self.slices[j - self.condition_jobs()])
        }
    }

    fn rows(&self) -> usize {
        self.conditions.len() * self.agents.len()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&results_columns());
        for k in 0..self.conditions.len() {
            for a in &self.agents {
                let mut row = self.key_cells(k, *a);
                row.resize(CONDITION.len() + 1 + FIGURES.len(), Cell::Num(0.0));
                t.push(row);
            }
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &[
            "human", "agent", "quantity", "along", "kind", "profile", "side",
        ]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        if j >= self.condition_jobs() {
            return frontier::check_part(&self.slices[j - self.condition_jobs()], t);
        }
        super::check_columns(t, &part_columns())?;
        if t.rows.len() != self.agents.len() {
            return Err(format!("{} rows, not {}", t.rows.len(), self.agents.len()));
        }
        let k = j / self.blocks;
        for (i, a) in self.agents.iter().enumerate() {
            let want = self.key_cells(k, *a);
            if t.rows[i][..want.len()] != want[..] {
                return Err(format!("row {i} is not condition {k}'s {}", a.name()));
            }
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let mut t = Table::new(&results_columns());
        let totals = self.totals(&parts);
        for (k, per_agent) in totals.iter().enumerate() {
            for (i, a) in self.agents.iter().enumerate() {
                let s = &per_agent[i];
                let n = s.n;
                let (v, tv, r, g) = (
                    s.value.estimate(n),
                    s.truth.estimate(n),
                    s.ret.estimate(n),
                    s.gap.estimate(n),
                );
                let bayes = i == 0;
                let mut row = self.key_cells(k, *a);
                row.extend(
                    [
                        n,
                        v.mean,
                        v.ci_low,
                        v.ci_high,
                        tv.mean,
                        tv.ci_low,
                        tv.ci_high,
                        r.mean,
                        r.ci_low,
                        r.ci_high,
                        g.mean,
                        g.ci_low,
                        g.ci_high,
                        s.beats_acting / n,
                        s.asks / n,
                        s.harms / n,
                        s.above_bayes,
                        if bayes { s.incentive.sum / n } else { f64::NAN },
                        if bayes && self.conditions[k].family.steps == 1 {
                            s.one_shot_error
                        } else {
                            f64::NAN
                        },
                        if bayes { s.carry_over_below } else { f64::NAN },
                    ]
                    .map(Cell::Num),
                );
                t.push(row);
            }
        }
        Ok(t)
    }

    fn extra_tables(&self) -> &'static [&'static str] {
        &["conditions", "frontier", "thresholds"]
    }

    fn assemble_extra(&self, parts: &[Table]) -> Result<Vec<Table>> {
        let totals = self.totals(parts);
        let mut conditions = Table::new(&condition_columns());
        for (k, per_agent) in totals.iter().enumerate() {
            let s = &per_agent[0];
            let n = s.n;
            let (d, a) = (s.incentive.estimate(n), s.advantage.estimate(n));
            let mut row = self.condition_cells(k);
            row.extend(
                [
                    n,
                    d.mean,
                    d.ci_low,
                    d.ci_high,
                    s.defers / n,
                    a.mean,
                    a.ci_low,
                    a.ci_high,
                    one_shot_delta(&self.conditions[k].family),
                    s.asks / n,
                    s.carry_over_below,
                ]
                .map(Cell::Num),
            );
            conditions.push(row);
        }
        let frontier =
            frontier::concatenate(&parts[self.condition_jobs()..], self.frontier_environments);
        let thresholds = frontier::thresholds(&frontier, &self.cfg);
        Ok(vec![conditions, frontier, thresholds])
    }

    fn extra_key_table(&self, name: &str) -> Option<Table> {
        match name {
            "conditions" => {
                let mut t = Table::new(&condition_columns());
                for k in 0..self.conditions.len() {
                    let mut row = self.condition_cells(k);
                    row.resize(CONDITION.len() + CONDITION_FIGURES.len(), Cell::Num(0.0));
                    t.push(row);
                }
                Some(t)
            }
            "frontier" => Some(Table::new(&FRONTIER_COLUMNS)),
            "thresholds" => Some(Table::new(&THRESHOLDS_COLUMNS)),
            _ => None,
        }
    }

    fn claims(&self, t: &Table, extra: &[Table]) -> Vec<Verdict> {
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
        // 2. Well-specified conditions: its mean return ≥ every rival's within the paired interval, the intervals
        // widened for the number of comparisons (Bonferroni: a failure is significant at 5% family-wise, where
        // unadjusted 95% intervals would exclude 0 in 2.5% of the comparisons of agents worth the same).
        let gaps: Vec<(f64, f64)> = (0..self.conditions.len())
            .filter(|&k| well_specified(&self.conditions[k].family))
            .flat_map(|k| (1..na).map(move |i| k * na + i))
            .map(|r| {
                let half = 0.5 * (col(r, "gap_to_bayes_ci_high") - col(r, "gap_to_bayes_ci_low"));
                (col(r, "gap_to_bayes"), half / crate::numerics::Z95)
            })
            .collect();
        if !gaps.is_empty() {
            let m = gaps.len() as f64;
            let z = bonferroni_z(0.025 / m);
            let least = gaps
                .iter()
                .map(|(g, se)| g + z * se)
                .fold(f64::INFINITY, f64::min);
            let unadjusted = gaps
                .iter()
                .filter(|(g, se)| g + crate::numerics::Z95 * se < 0.0)
                .count();
            out.push((
                "Where the prior is right, the Bayes agent's mean return is at least every rival's within the paired interval (Bonferroni-adjusted over the comparisons: 5% family-wise)".to_string(),
                least >= 0.0,
                format!(
                    "least upper end of (Bayes − rival) over {} comparisons at z = {}: {}; unadjusted 95% intervals below 0: {}",
                    gaps.len(),
                    fmt_num(z),
                    fmt_num(least),
                    unadjusted
                ),
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
        let (ask, act) = (
            self.agent_index(Agent::AlwaysAsk),
            self.agent_index(Agent::ActOnPrior),
        );
        let gaps: Vec<f64> = (0..self.conditions.len())
            .filter(|&k| {
                let f = &self.conditions[k].family;
                f.human == Human::Rational && f.ask_cost == 0.0
            })
            .map(|k| col(k * na + ask, "value") - col(k * na + act, "value"))
            .collect();
        if !gaps.is_empty() {
            let least = gaps.iter().copied().fold(f64::INFINITY, f64::min);
            out.push((
                "With a rational human and c = 0, always asking is worth at least acting on the prior (Theorem 1 generalised)".to_string(),
                least >= -1e-9,
                format!("least mean exact advantage {} over {} condition(s)", fmt_num(least), gaps.len()),
            ));
        }
        // 5. σ = 0: nothing to learn, so the Bayes, myopic and act-on-prior agents coincide.
        let my = self.agent_index(Agent::Myopic);
        let gap0: Vec<f64> = (0..self.conditions.len())
            .filter(|&k| self.conditions[k].family.sigma == 0.0)
            .map(|k| {
                let b = col(k * na, "value");
                (b - col(k * na + my, "value"))
                    .abs()
                    .max((b - col(k * na + act, "value")).abs())
            })
            .collect();
        if !gap0.is_empty() {
            let g = gap0.iter().copied().fold(0.0, f64::max);
            out.push((
                "With σ = 0 the Bayes, myopic and act-on-prior agents have the same value"
                    .to_string(),
                g <= 1e-9,
                format!("largest difference {}", fmt_num(g)),
            ));
        }
        // 6. Carry-over: what an answer teaches later steps only adds to the first question's worth.
        let multi: Vec<usize> = (0..self.conditions.len())
            .filter(|&k| self.conditions[k].family.steps > 1)
            .collect();
        if !multi.is_empty() {
            let below: f64 = multi.iter().map(|&k| col(k * na, "carry_over_below")).sum();
            out.push((
                "Carry-over never lowers the incentive to defer: in every environment the first step's Q(ask) − max(Q(act), Q(off)) with later steps is at least the first step's alone (the value of information is ≥ 0)".to_string(),
                below == 0.0,
                format!(
                    "{} environment(s) below, over {} multi-step condition(s)",
                    fmt_num(below),
                    multi.len()
                ),
            ));
        }
        // 7. The frontier with one step lands on the closed-form law where it applies.
        if let Some(f) = extra.get(1) {
            out.extend(frontier::claims(f));
        }
        out
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
        let na = self.agents.len();
        let mut md = format!(
            "## The population\n\n{} condition(s) × {} environments of the sequential off-switch chain (spread τ = {}, undo cost d = {}); every agent plays every environment against the same human, and environment e is the same draw in every condition (common random numbers).\n\n| T | σ | human | c | f | q | shift | scale | Bayes return | act-on-prior | myopic | always ask | Bayes asks/episode | Δ_seq (first step) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            self.conditions.len(),
            self.cfg.environments,
            fmt_num(self.cfg.spread),
            fmt_num(self.cfg.undo_cost)
        );
        let shown = self.conditions.len().min(64);
        for (k, c) in self.conditions.iter().enumerate().take(shown) {
            let f = &c.family;
            let ret = |a: Agent| {
                let r = k * na + self.agent_index(a);
                format!(
                    "{} ± {}",
                    fmt4(t.num(r, "mean_return").unwrap_or(f64::NAN)),
                    fmt4(
                        0.5 * (t.num(r, "mean_return_ci_high").unwrap_or(f64::NAN)
                            - t.num(r, "mean_return_ci_low").unwrap_or(f64::NAN))
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
        if shown < self.conditions.len() {
            let _ = writeln!(
                md,
                "\n… {} more conditions in results.csv and conditions.csv.",
                self.conditions.len() - shown
            );
        }
        md.push('\n');
        if let Some(f) = extra.get(1) {
            md += &frontier::summary(f, &self.cfg.frontier);
        }
        md
    }
}

/// z with P(Z > z) = `p` for a standard normal Z.
fn bonferroni_z(p: f64) -> f64 {
    use statrs::distribution::ContinuousCDF;
    statrs::distribution::Normal::new(0.0, 1.0)
        .expect("the standard normal")
        .inverse_cdf(1.0 - p)
}

fn fmt4(x: f64) -> String {
    format!("{x:.4}")
}

/// The mean over the first `n` environments of a per-environment figure of family `f` (in environment order,
/// computed in parallel: the same sum at any thread count), and the figures.
fn over_environments(
    plan: &Plan,
    f: &Family,
    n: usize,
    figure: impl Fn(&Family, &Noise) -> f64 + Sync,
) -> (f64, Vec<f64>) {
    let xs: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|e| figure(f, &plan.noise(e)))
        .collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    (mean, xs)
}
