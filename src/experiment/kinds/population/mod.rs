//! Populations of sequential environments: when deferring beats acting once actions come in sequences.
//!
//! `[population]` names a family of environments — `chain`, the sequential off-switch chain
//! ([`crate::model::chain`]); `assistance`, random tabular assistance games with a query move, and `gridworld`,
//! feature gridworlds with side effects ([`crate::model::assist`]) — and the condition axes — steps T, the robot's uncertainty σ (and its prior mean μ), the human,
//! the ask cost c, the irreversible fraction f, the supervisor's presence q, and the misspecification of the
//! prior (`shift` of the truth's mean, `scale` of its sd) — and draws `environments` chains per condition. Every
//! agent ([`crate::solvers::chain`], [`crate::solvers::assist`]) plays every environment against the same human,
//! and is scored three ways:
//! exactly under the robot's belief (its tree's value), exactly under the truth (the same tree valued with θ
//! drawn from the truth: what misspecification changes), and by the realised return against one θ drawn from
//! the truth.
//!
//! **Common random numbers.** Environment e's randomness (the chain's [`crate::model::chain::Noise`]: the
//! offsets' normals, the irreversibility, presence and answer uniforms, the truth's normal; an assistance game's
//! four streams of structure, hypotheses, truth and rollout) comes from the seed (seed, e) and is shared by every
//! condition and every agent: two conditions differ in environment e only through their
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
//! same belief. `frontier.csv`: where Δ_seq and the advantage change sign along each `frontier`
//! axis, by Brent's method on the mean over the first `frontier_environments` environments, with the root's
//! standard error, the same slice's root with one step (the one-shot frontier) and the closed-form law where
//! it applies. `thresholds.csv`: the deferral boundaries per action profile, in the form `cirl calibrate`
//! reads as a class's prior source.

mod frontier;
mod setting;

use std::fmt::Write as _;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::experiment::config::{Axis, OneOrMany};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::human::Human;
use crate::model::assist::{self, Layout};
use crate::model::chain::{self, Chain};
use crate::model::dials::Dials;
use crate::numerics::Estimate;
use crate::offswitch;
use crate::rng::derive_seed;
use crate::solvers::chain::Agent;
use setting::{Numerics, Setting};

pub use frontier::THRESHOLDS_COLUMNS;

/// `[population]`: the family, the condition axes and the population size.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationStudy {
    /// The environment family: "chain" (the sequential off-switch chain), "assistance" (random assistance
    /// games) or "gridworld" (feature gridworlds).
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
    /// assistance: |S|, the world's states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub states: Option<usize>,
    /// assistance: |A|, the robot's actions (besides the no-op).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<usize>,
    /// gridworld: columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// gridworld: rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<usize>,
    /// gridworld: binary features per cell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<usize>,
    /// assistance and gridworld: K, the hypotheses of the robot's prior over θ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thetas: Option<usize>,
    /// assistance and gridworld: the largest graph of histories the Bayes agent is solved exactly on; beyond,
    /// it looks ahead as far as fits and reports bounds (default 200000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_histories: Option<usize>,
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
    exact: f64,
    bound_gap: f64,
}

/// The columns of [`Sums`] in a job's table, in the order of [`Sums::cells`].
const SUMS: [&str; 22] = [
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
    "exact",
    "bound_gap",
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
            self.exact,
            self.bound_gap,
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
            exact: c[20],
            bound_gap: c[21],
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
        self.exact += o.exact;
        self.bound_gap += o.bound_gap;
    }
}

/// The results' columns after the condition and agent.
const FIGURES: [&str; 22] = [
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
    "solved_exactly",
    "bound_gap",
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

/// Column lists joined in order (every table's columns are the condition's, then its own).
fn columns(parts: &[&[&'static str]]) -> Vec<&'static str> {
    parts.iter().flat_map(|p| p.iter().copied()).collect()
}

/// A job's columns for a block of environments: the condition and agent, then the block's sums.
fn part_columns() -> Vec<&'static str> {
    columns(&[&CONDITION, &["agent"], &SUMS])
}

/// The results' columns: the condition and agent, then the figures.
fn results_columns() -> Vec<&'static str> {
    columns(&[&CONDITION, &["agent"], &FIGURES])
}

/// The conditions table's columns.
fn condition_columns() -> Vec<&'static str> {
    columns(&[&CONDITION, &CONDITION_FIGURES])
}

/// frontier.csv's columns: the condition, then the crossing.
pub fn frontier_columns() -> Vec<&'static str> {
    columns(&[&CONDITION, &frontier::CROSSING])
}

/// One condition of the grid.
#[derive(Debug, Clone)]
struct Condition {
    setting: Setting,
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
    layout: Option<Layout>,
    seed: u64,
}

impl Plan {
    /// Validates the study and expands its condition grid.
    pub fn new(cfg: &PopulationStudy, seed: u64) -> Result<Plan> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("population.{f}"), m));
        let layout = layout_of(cfg)?;
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
            let dials = Dials {
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
            let steps = v(0) as usize;
            let setting = match layout {
                None => Setting::Chain(chain::Family { steps, dials }),
                Some(layout) => Setting::Assist(assist::Family {
                    layout,
                    thetas: cfg.thetas.unwrap_or(0),
                    steps,
                    dials,
                }),
            };
            setting.check("population")?;
            conditions.push(Condition {
                setting,
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
            layout,
            seed,
        })
    }

    /// Condition k's columns.
    fn condition_cells(&self, k: usize) -> Vec<Cell> {
        let c = &self.conditions[k];
        family_cells(&c.setting, &c.human)
    }

    fn key_cells(&self, k: usize, agent: Agent) -> Vec<Cell> {
        let mut row = self.condition_cells(k);
        row.push(Cell::Text(agent.name().into()));
        row
    }

    /// Environment e's seed: the same for every condition (common random numbers).
    fn env_seed(&self, e: usize) -> u64 {
        derive_seed(self.seed, NOISE_STREAM, e as u64)
    }

    fn numerics(&self) -> Numerics {
        Numerics {
            panels: self.cfg.panels,
            order: self.cfg.order,
            max_histories: self.cfg.max_histories.unwrap_or(MAX_HISTORIES),
        }
    }

    fn agent_index(&self, a: Agent) -> usize {
        self.agents
            .iter()
            .position(|x| *x == a)
            .expect("every agent is compared")
    }

    fn block_job(&self, k: usize, b: usize) -> Table {
        let setting = &self.conditions[k].setting;
        let start = b * self.cfg.block;
        let end = (start + self.cfg.block).min(self.cfg.environments);
        let acting = self.agent_index(Agent::ActOnPrior);
        let mut s = vec![Sums::default(); self.agents.len()];
        let num = self.numerics();
        for e in start..end {
            let env = setting.score(self.env_seed(e), &self.agents, num);
            let tol = env.tol;
            // Optimal by construction: no rival above the Bayes value (its upper bound, where it is bounded).
            let ceiling = if env.exact { env.value[0] } else { env.upper };
            let bayes_ret = env.rolls[0].0;
            for (i, row) in s.iter_mut().enumerate() {
                let (v, (ret, asks, harms)) = (env.value[i], env.rolls[i]);
                row.n += 1.0;
                row.value.add(v);
                row.truth.add(env.truth[i]);
                row.ret.add(ret);
                row.gap.add(bayes_ret - ret);
                row.asks += asks as f64;
                row.harms += harms as f64;
                row.beats_acting += (ret > env.rolls[acting].0) as u8 as f64;
                row.above_bayes += (i > 0 && v > ceiling + tol) as u8 as f64;
            }
            // The condition's figures, in the Bayes agent's row.
            let inc = env.incentive;
            let row = &mut s[0];
            row.incentive.add(inc);
            row.defers += (inc > tol) as u8 as f64;
            row.advantage.add(env.truth[0] - env.truth[acting]);
            if let Some(w) = env.one_shot {
                row.one_shot_error = row.one_shot_error.max((env.value[0] - w).abs());
            }
            // Carry-over: the first step's incentive with the later steps at least the first step's alone.
            if let Some(alone) = env.alone {
                row.carry_over_below += (inc < alone - tol) as u8 as f64;
            }
            row.exact += env.exact as u8 as f64;
            row.bound_gap += env.gap;
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

/// A condition's columns.
fn family_cells(f: &Setting, human: &str) -> Vec<Cell> {
    vec![
        Cell::Num(f.steps() as f64),
        Cell::Num(f.get("mu")),
        Cell::Num(f.get("sigma")),
        Cell::Text(human.to_string()),
        Cell::Num(beta_of(&f.human())),
        Cell::Num(f.get("ask_cost")),
        Cell::Num(f.get("irreversible")),
        Cell::Num(f.get("presence")),
        Cell::Num(f.get("shift")),
        Cell::Num(f.get("scale")),
    ]
}

/// The one-shot off-switch game's value of a one-step chain (irreversible), or none.
pub(super) fn one_shot(chain: &Chain) -> Option<f64> {
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

/// The one-shot off-switch game's Δ at the condition's belief N(μ, σ²), its human and ask cost (the chain's;
/// NaN for the other families).
fn one_shot_delta(f: &Setting) -> f64 {
    if !f.is_chain() {
        return f64::NAN;
    }
    offswitch::values(
        &Prior::Normal {
            mu: f.get("mu"),
            sigma: f.get("sigma"),
        },
        &f.human(),
        f.get("ask_cost"),
    )
    .map(|v| v.delta)
    .unwrap_or(f64::NAN)
}

/// The default of `max_histories`.
const MAX_HISTORIES: usize = 200_000;

/// The layout of an assistance family (none for the chain), with the family-specific keys checked.
fn layout_of(cfg: &PopulationStudy) -> Result<Option<Layout>> {
    let bad = |f: &str, m: String| Err(Error::invalid(format!("population.{f}"), m));
    let given: Vec<(&str, bool)> = vec![
        ("states", cfg.states.is_some()),
        ("actions", cfg.actions.is_some()),
        ("width", cfg.width.is_some()),
        ("height", cfg.height.is_some()),
        ("features", cfg.features.is_some()),
        ("thetas", cfg.thetas.is_some()),
        ("max_histories", cfg.max_histories.is_some()),
    ];
    let (layout, keys): (Option<Layout>, &[&str]) = match cfg.family.as_str() {
        "chain" => (None, &[]),
        "assistance" => (
            Some(Layout::Random {
                states: cfg.states.unwrap_or(0),
                actions: cfg.actions.unwrap_or(0),
            }),
            &["states", "actions", "thetas", "max_histories"],
        ),
        "gridworld" => (
            Some(Layout::Grid {
                width: cfg.width.unwrap_or(0),
                height: cfg.height.unwrap_or(0),
                features: cfg.features.unwrap_or(0),
            }),
            &["width", "height", "features", "thetas", "max_histories"],
        ),
        other => {
            return bad(
                "family",
                format!(
                    "unknown family {other:?}; the families: chain (the sequential off-switch chain), assistance (random assistance games), gridworld (feature gridworlds)"
                ),
            );
        }
    };
    if let Some((k, _)) = given.iter().find(|(k, set)| *set && !keys.contains(k)) {
        return bad(
            k,
            format!("is not a parameter of the {} family; remove it", cfg.family),
        );
    }
    if let Some(k) = keys
        .iter()
        .find(|k| **k != "max_histories" && !given.iter().any(|(g, set)| g == *k && *set))
    {
        return bad(
            k,
            format!(
                "the {} family needs it (its keys: {})",
                cfg.family,
                keys.join(", ")
            ),
        );
    }
    if cfg.max_histories == Some(0) {
        return bad("max_histories", "must be ≥ 1".into());
    }
    Ok(layout)
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
                        if bayes
                            && self.conditions[k].setting.is_chain()
                            && self.conditions[k].setting.steps() == 1
                        {
                            s.one_shot_error
                        } else {
                            f64::NAN
                        },
                        if bayes && self.conditions[k].setting.is_chain() {
                            s.carry_over_below
                        } else {
                            f64::NAN
                        },
                        if bayes { s.exact / n } else { f64::NAN },
                        if bayes { s.bound_gap / n } else { f64::NAN },
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
                    one_shot_delta(&self.conditions[k].setting),
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
            "frontier" => Some(Table::new(&frontier_columns())),
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
            "The Bayes agent's exact value is at least every rival's in every environment (optimal by construction; where it is solved with bounds, no rival is above the upper bound)".to_string(),
            above == 0.0,
            format!("{} (environment, rival) pairs above it", fmt_num(above)),
        ));
        // 2. Well-specified conditions: its mean return ≥ every rival's within the paired interval, the intervals
        // widened for the number of comparisons (Bonferroni: a failure is significant at 5% family-wise, where
        // unadjusted 95% intervals would exclude 0 in 2.5% of the comparisons of agents worth the same).
        let gaps: Vec<(f64, f64)> = (0..self.conditions.len())
            .filter(|&k| {
                self.conditions[k].setting.well_specified() && col(k * na, "solved_exactly") == 1.0
            })
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
                // The chain's: in an assistance game a rational human may refuse an action whose immediate
                // utility is negative but whose successor state is worth more, so asking can lose there.
                let f = &self.conditions[k].setting;
                f.is_chain() && f.human() == Human::Rational && f.get("ask_cost") == 0.0
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
            .filter(|&k| self.conditions[k].setting.get("sigma") == 0.0)
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
        // (The chain's: in an assistance game asking also changes where the world goes, so it can lose value.)
        let multi: Vec<usize> = (0..self.conditions.len())
            .filter(|&k| {
                let f = &self.conditions[k].setting;
                f.is_chain() && f.steps() > 1
            })
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
        let what = match self.layout {
            None => "the sequential off-switch chain".to_string(),
            Some(Layout::Random { states, actions }) => format!(
                "random assistance games ({states} states, {actions} actions, {} hypotheses over θ)",
                self.cfg.thetas.unwrap_or(0)
            ),
            Some(Layout::Grid {
                width,
                height,
                features,
            }) => format!(
                "feature gridworlds ({width} × {height}, {features} features, {} hypotheses over θ)",
                self.cfg.thetas.unwrap_or(0)
            ),
        };
        let bounded: Vec<usize> = (0..self.conditions.len())
            .filter(|&k| t.num(k * na, "solved_exactly").unwrap_or(1.0) < 1.0)
            .collect();
        let mut md = format!(
            "## The population\n\n{} condition(s) × {} environments of {what} (spread τ = {}, undo cost d = {}); every agent plays every environment against the same human, and environment e is the same draw in every condition (common random numbers). The Bayes agent is solved exactly{}.\n\n| T | σ | human | c | f | q | shift | scale | Bayes return | act-on-prior | myopic | always ask | Bayes asks/episode | Δ_seq (first step) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
            self.conditions.len(),
            self.cfg.environments,
            fmt_num(self.cfg.spread),
            fmt_num(self.cfg.undo_cost),
            if bounded.is_empty() {
                " in every environment".to_string()
            } else {
                format!(
                    " except in {} condition(s), where its graph of histories passed max_histories: there it looks ahead as far as fits and then acts on its posterior mean, bounded above by the clairvoyant — largest mean gap between the bounds {} (results.csv: solved_exactly, bound_gap)",
                    bounded.len(),
                    fmt_num(
                        bounded
                            .iter()
                            .map(|&k| t.num(k * na, "bound_gap").unwrap_or(f64::NAN))
                            .fold(0.0, f64::max)
                    )
                )
            }
        );
        let shown = self.conditions.len().min(64);
        for (k, c) in self.conditions.iter().enumerate().take(shown) {
            let f = &c.setting;
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
                f.steps(),
                fmt_num(f.get("sigma")),
                c.human,
                fmt_num(f.get("ask_cost")),
                fmt_num(f.get("irreversible")),
                fmt_num(f.get("presence")),
                fmt_num(f.get("shift")),
                fmt_num(f.get("scale")),
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

/// The mean over the first `n` environments of condition `f`'s Δ_seq (`advantage` false) or advantage of
/// deferring under the truth (true), in environment order (computed in parallel: the same sum at any thread
/// count), and the per-environment figures.
fn over_environments(plan: &Plan, f: &Setting, n: usize, advantage: bool) -> (f64, Vec<f64>) {
    let num = plan.numerics();
    let xs: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|e| f.figure(plan.env_seed(e), advantage, num))
        .collect();
    let mean = xs.iter().sum::<f64>() / n as f64;
    (mean, xs)
}
