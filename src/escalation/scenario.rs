//! The scenario file of `cirl calibrate`: an agent's action classes and the humans it can ask.
//!
//! ```toml
//! name = "coding-agent"
//! description = "..."                 # optional
//! units = "minutes of engineer time"  # what one unit of utility is (optional, for the card)
//!
//! [human]
//! response = "error-rates"            # how the reviewer answers when asked: error-rates (below), rational,
//!                                     # boltzmann:β, p-rational:p, chance:p, error-rates:APPROVE,CATCH
//! approve_good = 0.97                 # error-rates: P(approve | good action) …
//! catch_bad = 0.6                     # … and P(reject | bad action); instead of approve_good, approval_rate =
//!                                     # 0.93 states the share of prompts approved when every action asks
//! ask_cost = 0.5                      # c: the cost of asking (human attention), in utility units
//! handover_cost = 4.0                 # h: the cost of a human taking the task over (who then does it when
//!                                     # it is worth doing)
//! decline_cost = 0.0                  # d: the cost when the human, asked, says no (default 0)
//! [human.fatigue]                     # optional, error-rate reviewers: the catch rate falls with the ask rate
//! odds_ratio_per_ask = 0.7            # odds of a catch × OR per further prompt in a session (Ancker et al. 2017)
//! actions_per_session = 40            # agent actions one reviewer oversees in a sitting
//!
//! [moves]
//! block_cost = 0.0                    # b: what not doing an action costs (default 0, the off-switch game's
//!                                     # v_off; a class may set its own block_cost)
//!
//! [agent]
//! confidence = "calibrated"           # or "overconfident" (then `ece`)
//! ece = 0.0                           # expected calibration error of the reported confidence
//! auroc = 0.7                         # how well confidence separates good from bad actions (0.5: not at all;
//!                                     # 0.5–0.999, below 0.505 taken as 0.5)
//! signal = "verbalized"               # where confidence comes from: verbalized (steps of 0.05), logprob
//!                                     # (0.001), verifier (0.01); or resolution = 0.02 to state the step
//! h50_minutes = 59.0                  # METR-style capability curve (needed by classes with task_minutes)
//! slope = 0.70                        # P(success) = σ(slope·(log2 h50 − log2 t)); or h80_minutes instead
//!
//! [risk]                              # optional
//! catastrophe_loss = 100.0            # L: a loss above this is a catastrophe (default 10 × handover_cost)
//! cvar_level = 0.99                   # α of the CVaR reported per class and policy
//! harm_budget_per_1000 = 0.5          # constraint: at most this many bad irreversible actions per 1,000
//! max_catastrophe_probability = 1e-4  # constraint: in every class, P(loss > L) ≤ this per action
//!
//! [robustness]                        # optional: the uncertainty set of the minimax-regret policy — every
//!                                     # combination of these values (default: one perturbation at a time)
//! ece = [0.0, 0.05]                   # the agent's true ECE
//! catch_bad = [0.4, 0.6]              # also approve_good, beta, p, auroc, ask_cost
//! tail_weight_scale = [1.0, 2.0]      # every class's loss tail this many times as likely
//! tail_severity = [1.0, 1.5]          # and this many times as severe
//!
//! [policies]                          # the rivals' parameters (all optional)
//! confidence_threshold = 0.8          # ask when reported confidence < τ
//! task_length_gate_minutes = 15.0     # ask when the task takes longer (default: the agent's 80% horizon)
//! reference_undo_cost = 4.0           # for "why": an irreversible class re-run as reversible at this undo cost
//!
//! [[class]]
//! name = "edit-file"
//! share = 0.7                         # fraction of all actions (shares sum to 1)
//! prior = "normal:1,0.5"              # the utility U of one action (any prior spec, or a mixture table; or
//!                                     # a population's boundary, below)
//! reversible = true
//! undo_cost = 0.3                     # a reversible action's loss is at most this
//! block_cost = 1.0                    # optional: what blocking this class costs (default: moves.block_cost)
//! task_minutes = 5.0                  # optional: capability failures by the METR curve
//! failure_prior = "normal:-2,1"       # the utility when the task fails (needed with task_minutes)
//! tools = { edit = ["src/**"] }       # the tools the class covers: shell, edit, read, mcp, fetch, agent,
//!                                     # tool, annotations (see `tools`); one spec drives every export
//! match = ["edit: src/main.rs"]       # example calls that must get this class's decision in every export
//! not_match = ["edit: infra/main.tf"] # and calls that must not fall in this class
//! calibration = [[0.8, 0.6], [0.95, 0.7]]  # optional: this class's own map from reported confidence to P(good)
//!                                     # (linear in logits between the pairs, a constant logit shift beyond);
//!                                     # replaces the agent's ECE for the class — `cirl fit` writes one
//!
//! [gate]
//! unmatched = "ask"                   # what the gate answers for a call no class covers: allow, ask, deny,
//!                                     # or defer (no opinion: the runtime's own rules decide)
//! ```
//!
//! **A class grounded in a simulated population.** Instead of a hand-typed normal prior, a class may take its
//! belief from a population run's `thresholds.csv` (`cirl run experiments/populations/….toml`, the
//! `[population]` kind):
//!
//! ```toml
//! prior = { population = "runs/population-frontier/thresholds.csv", profile = "steps=8,human=boltzmann:0.5,mu=0.25,ask_cost=0,irreversible=1,presence=1", mu = 3, sigma = 2 }
//! ```
//!
//! The profile's row along σ gives the sequential deferral boundary σ*_T and the one-shot boundary σ*_1 of the
//! same population; the class's prior is N(mu, (sigma · σ*_1/σ*_T)²): its uncertainty inflated by the factor
//! that makes the one-shot game the card solves defer exactly where the sequential game does (at σ/|μ| equal
//! to the profile's; an approximation elsewhere, and for a reviewer or costs other than the profile's). The
//! path is relative to the scenario file's folder. The card records where the prior came from.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::{Costs, Fatigue, Reviewer};
use super::optimize::Limits;
use super::tools::{Call, Examples, Tools};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::numerics::logistic;

/// Tolerance on the sum of the class shares.
pub const SHARE_TOL: f64 = 1e-9;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    units: String,
    human: RawHuman,
    #[serde(default)]
    agent: RawAgent,
    #[serde(default)]
    policies: RawPolicies,
    #[serde(default)]
    moves: RawMoves,
    #[serde(default)]
    risk: RawRisk,
    #[serde(default)]
    robustness: BTreeMap<String, Vec<f64>>,
    #[serde(default)]
    gate: RawGate,
    #[serde(rename = "class")]
    classes: Vec<RawClass>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHuman {
    response: String,
    ask_cost: f64,
    handover_cost: f64,
    #[serde(default)]
    decline_cost: f64,
    approve_good: Option<f64>,
    catch_bad: Option<f64>,
    approval_rate: Option<f64>,
    fatigue: Option<RawFatigue>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFatigue {
    odds_ratio_per_ask: f64,
    actions_per_session: f64,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGate {
    unmatched: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRisk {
    catastrophe_loss: Option<f64>,
    cvar_level: Option<f64>,
    harm_budget_per_1000: Option<f64>,
    max_catastrophe_probability: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMoves {
    block_cost: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAgent {
    confidence: Option<String>,
    ece: Option<f64>,
    auroc: Option<f64>,
    concentration: Option<f64>,
    h50_minutes: Option<f64>,
    slope: Option<f64>,
    h80_minutes: Option<f64>,
    signal: Option<String>,
    resolution: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPolicies {
    confidence_threshold: Option<f64>,
    task_length_gate_minutes: Option<f64>,
    reference_undo_cost: Option<f64>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    name: String,
    share: f64,
    prior: toml::Value,
    #[serde(default)]
    reversible: bool,
    undo_cost: Option<f64>,
    block_cost: Option<f64>,
    task_minutes: Option<f64>,
    failure_prior: Option<toml::Value>,
    #[serde(default)]
    tools: Option<toml::Value>,
    #[serde(default, rename = "match")]
    matching: Vec<String>,
    #[serde(default)]
    not_match: Vec<String>,
    claude: Option<toml::Value>,
    gemini: Option<toml::Value>,
    calibration: Option<Vec<[f64; 2]>>,
}

/// The agent's capability curve (METR 2025): P(success at a task of t minutes) = σ(slope·(log2 h50 − log2 t)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Capability {
    /// h50: the task length (minutes) at which P(success) = 0.5.
    pub h50_minutes: f64,
    /// The slope of the curve in log2 minutes.
    pub slope: f64,
}

impl Capability {
    /// P(success) for a task of `minutes`.
    pub fn p_success(&self, minutes: f64) -> f64 {
        logistic(self.slope * (self.h50_minutes.log2() - minutes.log2()))
    }
    /// The task length at which P(success) = p.
    pub fn horizon(&self, p: f64) -> f64 {
        let logit = (p / (1.0 - p)).ln();
        2f64.powf(self.h50_minutes.log2() - logit / self.slope)
    }
}

/// How the agent's reported confidence relates to its calibrated probability of success.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Confidence {
    /// Reported confidence is the calibrated probability.
    Calibrated,
    /// Reported confidence is inflated by an expected calibration error `ece`.
    Overconfident {
        /// The expected calibration error.
        ece: f64,
    },
}

/// How well per-action confidence separates good from bad actions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Discrimination {
    /// Area under the ROC curve of the calibrated confidence as a predictor of success (0.5: none).
    Auroc {
        /// The AUROC (0.5–0.999).
        auroc: f64,
    },
    /// The concentration κ of the Beta distribution of calibrated confidence (∞: none).
    Concentration {
        /// κ.
        kappa: f64,
    },
}

/// Where the agent's confidence comes from, and the finest difference it can express.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    /// verbalized | logprob | verifier | unstated.
    pub source: String,
    /// The step of the signal: thresholds closer than this to 0 or 1, or regions narrower, cannot be resolved.
    pub resolution: f64,
}

/// One class of actions.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionClass {
    /// The class's name.
    pub name: String,
    /// Its fraction of all actions (shares sum to 1).
    pub share: f64,
    /// The utility of one action (before capability failures and undo).
    pub prior: Prior,
    /// Whether its mistakes can be undone (at `undo_cost`).
    pub reversible: bool,
    /// A reversible action's loss is at most this.
    pub undo_cost: f64,
    /// What blocking an action of this class costs.
    pub block_cost: f64,
    /// The task length in minutes (capability failures by the scenario's curve).
    pub task_minutes: Option<f64>,
    /// The utility when the task fails (needed with `task_minutes`).
    pub failure_prior: Option<Prior>,
    /// The tools the class covers (every export is built from them).
    pub tools: Tools,
    /// Calls that must (and must not) fall in this class.
    pub examples: Examples,
    /// The class's own calibration map, replacing the agent's logit shift for it (`cirl fit` writes one).
    pub calibration: Option<super::model::Calibration>,
    /// Where the prior came from when it is not typed in: a population's thresholds (see the module docs).
    pub prior_source: Option<String>,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// The scenario's name.
    pub name: String,
    /// What it describes.
    pub description: String,
    /// The unit of utility (e.g. "USD").
    pub units: String,
    /// Who answers when the agent asks (the human model and its fatigue).
    pub reviewer: Reviewer,
    /// c: the cost of asking.
    pub ask_cost: f64,
    /// h: the cost of a human taking the task over.
    pub handover_cost: f64,
    /// The cost when the human, asked, says no.
    pub decline_cost: f64,
    /// How reported confidence relates to the calibrated probability.
    pub confidence: Confidence,
    /// How well confidence separates good from bad actions.
    pub discrimination: Discrimination,
    /// Where confidence comes from and how finely it resolves.
    pub signal: Signal,
    /// The agent's capability curve (needed by classes with `task_minutes`).
    pub capability: Option<Capability>,
    /// τ of the confidence-threshold rival: ask when reported confidence < τ.
    pub confidence_threshold: f64,
    /// The task-length gate of its rival, in minutes (default: the agent's 80% horizon).
    pub task_length_gate_minutes: Option<f64>,
    /// The undo cost an irreversible class is re-run at, to say whether irreversibility is why it does not act.
    pub reference_undo_cost: f64,
    /// L, α and the constraints of `[risk]`.
    pub risk: RiskSpec,
    /// The uncertainty set of `[robustness]`: each axis and its values (empty: the default perturbations).
    pub robustness: Vec<(String, Vec<f64>)>,
    /// What the gate answers for a call no class covers (`None`: defer to the runtime).
    pub unmatched: Option<super::model::Move>,
    /// The action classes.
    pub classes: Vec<ActionClass>,
}

/// The scenario's `[risk]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RiskSpec {
    /// L: a loss above this is a catastrophe.
    pub catastrophe_loss: f64,
    /// Whether L was stated (else the default, 10 × h).
    pub catastrophe_loss_stated: bool,
    /// α of the CVaR reported per class and policy.
    pub cvar_level: f64,
    /// The risk constraints.
    pub limits: Limits,
}

fn bad(field: impl Into<String>, msg: impl Into<String>) -> Error {
    Error::invalid(field, msg)
}

/// Renames the field of an input error (e.g. `prior.sigma` becomes `class[2].prior (prior.sigma)`).
fn within(field: &str, e: Error) -> Error {
    match e {
        Error::Invalid { field: f, message } => Error::invalid(format!("{field} ({f})"), message),
        Error::Config { message, .. } => Error::invalid(field, message),
        other => other,
    }
}

fn finite_nonneg(field: &str, x: f64) -> Result<f64> {
    if x.is_finite() && x >= 0.0 {
        Ok(x)
    } else {
        Err(bad(field, format!("must be a finite number ≥ 0, got {x}")))
    }
}

fn positive(field: &str, x: f64) -> Result<f64> {
    if x.is_finite() && x > 0.0 {
        Ok(x)
    } else {
        Err(bad(field, format!("must be a finite number > 0, got {x}")))
    }
}

fn prior_of(v: &toml::Value, field: &str) -> Result<Prior> {
    match v {
        toml::Value::String(s) => Prior::parse(s),
        other => Prior::from_toml(other, field),
    }
    .map_err(|e| within(field, e))
}

/// The class prior's table when it names a population (`prior = { population = …, … }`).
fn population_table(v: &toml::Value) -> Option<&toml::Table> {
    match v {
        toml::Value::Table(t) if t.contains_key("population") => Some(t),
        _ => None,
    }
}

/// A class prior from a population's thresholds.csv (see the module docs): N(mu, (sigma · inflation)²) and a
/// line saying where it came from.
fn population_prior(
    t: &toml::Table,
    field: &str,
    base: Option<&std::path::Path>,
) -> Result<(Prior, String)> {
    const USAGE: &str =
        "prior = { population = \"runs/NAME/thresholds.csv\", profile = \"…\", mu = M, sigma = S }";
    if let Some(k) = t
        .keys()
        .find(|k| !["population", "profile", "mu", "sigma"].contains(&k.as_str()))
    {
        return Err(bad(
            format!("{field}.{k}"),
            format!("unknown key; a population prior is {USAGE}"),
        ));
    }
    let text_of = |k: &str| match t.get(k) {
        Some(toml::Value::String(s)) => Ok(s.clone()),
        _ => Err(bad(
            format!("{field}.{k}"),
            format!("must be a string; a population prior is {USAGE}"),
        )),
    };
    let num_of = |k: &str| match t.get(k) {
        Some(toml::Value::Float(x)) => Ok(*x),
        Some(toml::Value::Integer(i)) => Ok(*i as f64),
        _ => Err(bad(
            format!("{field}.{k}"),
            format!("must be a number; a population prior is {USAGE}"),
        )),
    };
    let (file, profile) = (text_of("population")?, text_of("profile")?);
    let (mu, sigma) = (num_of("mu")?, num_of("sigma")?);
    if !mu.is_finite() {
        return Err(bad(
            format!("{field}.mu"),
            format!("must be finite, got {mu}"),
        ));
    }
    let sigma = finite_nonneg(&format!("{field}.sigma"), sigma)?;
    let path = match base {
        Some(b) if std::path::Path::new(&file).is_relative() => b.join(&file),
        _ => std::path::PathBuf::from(&file),
    };
    let csv = crate::input::read_text(&path, crate::input::MAX_TOML_BYTES, "population thresholds")
        .map_err(|e| within(&format!("{field}.population"), e))?;
    let table = crate::output::table::Table::from_csv(
        &csv,
        &["profile", "along", "side", "human", "family"],
    )
    .map_err(|m| {
        bad(
            format!("{field}.population"),
            format!(
                "{} is not a population's thresholds.csv: {m}",
                path.display()
            ),
        )
    })?;
    for c in [
        "profile",
        "along",
        "boundary",
        "one_shot_boundary",
        "inflation",
        "steps",
    ] {
        if table.col(c).is_none() {
            return Err(bad(
                format!("{field}.population"),
                format!(
                    "{} has no column {c:?}: it is not a population's thresholds.csv",
                    path.display()
                ),
            ));
        }
    }
    let rows: Vec<usize> = (0..table.rows.len())
        .filter(|&i| table.text(i, "along") == "sigma")
        .collect();
    let Some(&i) = rows.iter().find(|&&i| table.text(i, "profile") == profile) else {
        let known: Vec<String> = rows
            .iter()
            .take(4)
            .map(|&i| table.text(i, "profile"))
            .collect();
        return Err(bad(
            format!("{field}.profile"),
            if known.is_empty() {
                format!(
                    "{} has no boundary along sigma: run the population with frontier = [\"sigma\"]",
                    path.display()
                )
            } else {
                format!(
                    "no profile {profile:?} along sigma in {}; it has {} such as {}",
                    path.display(),
                    rows.len(),
                    known.join(" | ")
                )
            },
        ));
    };
    let num = |c: &str| table.num(i, c).unwrap_or(f64::NAN);
    let inflation = num("inflation");
    if !(inflation.is_finite() && inflation > 0.0) {
        return Err(bad(
            format!("{field}.profile"),
            format!(
                "the profile {profile:?} has no one-shot boundary within its grid (inflation {inflation}); widen the population's sigma axis"
            ),
        ));
    }
    let source = format!(
        "population {} ({profile}): σ {} × {} (the deferral boundary σ*/|μ| is {} with {} steps, {} for one step)",
        path.display(),
        crate::numerics::brief(sigma),
        crate::numerics::brief(inflation),
        crate::numerics::brief(num("boundary_over_abs_mu")),
        num("steps"),
        crate::numerics::brief(num("one_shot_over_abs_mu")),
    );
    Ok((
        Prior::Normal {
            mu,
            sigma: sigma * inflation,
        },
        source,
    ))
}

impl Scenario {
    /// Parses and validates a scenario; `origin` names the file in errors. A population prior's path is taken
    /// relative to the working directory (see [`Scenario::parse_at`]).
    pub fn parse(text: &str, origin: &str) -> Result<Scenario> {
        Self::parse_at(text, origin, None)
    }

    /// Parses and validates a scenario whose relative paths (a population prior's thresholds) are relative to
    /// `base` (the scenario file's folder).
    pub fn parse_at(text: &str, origin: &str, base: Option<&std::path::Path>) -> Result<Scenario> {
        let raw: Raw =
            toml::from_str(text).map_err(|e| crate::error::toml_error(origin, text, &e))?;
        if raw.name.trim().is_empty() {
            return Err(bad("name", "give the scenario a name"));
        }
        let rh = &raw.human;
        let ask_cost = finite_nonneg("human.ask_cost", raw.human.ask_cost)?;
        let handover_cost = finite_nonneg("human.handover_cost", raw.human.handover_cost)?;
        let decline_cost = finite_nonneg("human.decline_cost", raw.human.decline_cost)?;
        let default_block = match raw.moves.block_cost {
            Some(b) => finite_nonneg("moves.block_cost", b)?,
            None => 0.0,
        };
        let a = &raw.agent;
        let confidence = match a.confidence.as_deref().unwrap_or("calibrated") {
            "calibrated" => {
                if a.ece.is_some_and(|e| e != 0.0) {
                    return Err(bad(
                        "agent.ece",
                        "a calibrated agent has ece = 0; set confidence = \"overconfident\" to use an ece",
                    ));
                }
                Confidence::Calibrated
            }
            "overconfident" => {
                let ece = a.ece.ok_or_else(|| {
                    bad(
                        "agent.ece",
                        "an overconfident agent needs its expected calibration error, e.g. ece = 0.15",
                    )
                })?;
                if !(ece > 0.0 && ece < 1.0) {
                    return Err(bad("agent.ece", format!("must be in (0, 1), got {ece}")));
                }
                Confidence::Overconfident { ece }
            }
            other => {
                return Err(bad(
                    "agent.confidence",
                    format!("'{other}': use \"calibrated\" or \"overconfident\""),
                ));
            }
        };
        let discrimination = match (a.auroc, a.concentration) {
            (Some(_), Some(_)) => {
                return Err(bad(
                    "agent.auroc",
                    "give either auroc or concentration, not both",
                ));
            }
            (Some(x), None) => {
                if !(0.5..=0.999).contains(&x) {
                    return Err(bad(
                        "agent.auroc",
                        format!(
                            "must be in [0.5, 0.999] (0.5: confidence says nothing about an action; below 0.505 it is treated as 0.5), got {x}"
                        ),
                    ));
                }
                Discrimination::Auroc { auroc: x }
            }
            (None, Some(k)) => Discrimination::Concentration {
                kappa: positive("agent.concentration", k)?,
            },
            (None, None) => Discrimination::Auroc { auroc: 0.5 },
        };
        let signal = {
            let source = a.signal.clone().unwrap_or_else(|| "unstated".into());
            let default = match source.as_str() {
                // Verbalized confidence clusters at multiples of 5% (Xiong et al., ICLR 2024).
                "verbalized" => 0.05,
                "logprob" => 0.001,
                "verifier" => 0.01,
                "unstated" => 0.01,
                other => {
                    return Err(bad(
                        "agent.signal",
                        format!(
                            "'{other}': use verbalized, logprob or verifier (or state agent.resolution)"
                        ),
                    ));
                }
            };
            let resolution = match a.resolution {
                Some(r) if r > 0.0 && r < 0.5 => r,
                Some(r) => {
                    return Err(bad(
                        "agent.resolution",
                        format!(
                            "must be in (0, 0.5), e.g. 0.05 for confidences stated in steps of 5%, got {r}"
                        ),
                    ));
                }
                None => default,
            };
            Signal { source, resolution }
        };
        let capability = match (a.h50_minutes, a.slope, a.h80_minutes) {
            (None, None, None) => None,
            (Some(h50), Some(slope), None) => Some(Capability {
                h50_minutes: positive("agent.h50_minutes", h50)?,
                slope: positive("agent.slope", slope)?,
            }),
            (Some(h50), None, Some(h80)) => {
                let h50 = positive("agent.h50_minutes", h50)?;
                let h80 = positive("agent.h80_minutes", h80)?;
                if h80 >= h50 {
                    return Err(bad(
                        "agent.h80_minutes",
                        format!("must be shorter than h50_minutes ({h50}), got {h80}"),
                    ));
                }
                // σ(slope·log2(h50/h80)) = 0.8.
                Some(Capability {
                    h50_minutes: h50,
                    slope: 4f64.ln() / (h50 / h80).log2(),
                })
            }
            (None, _, _) => {
                return Err(bad(
                    "agent.h50_minutes",
                    "the capability curve needs h50_minutes and either slope or h80_minutes",
                ));
            }
            (Some(_), None, None) => {
                return Err(bad(
                    "agent.slope",
                    "the capability curve needs slope (or h80_minutes) with h50_minutes",
                ));
            }
            (Some(_), Some(_), Some(_)) => {
                return Err(bad(
                    "agent.h80_minutes",
                    "give slope or h80_minutes, not both",
                ));
            }
        };
        let p = &raw.policies;
        let confidence_threshold = p.confidence_threshold.unwrap_or(0.8);
        if !(0.0..=1.0).contains(&confidence_threshold) {
            return Err(bad(
                "policies.confidence_threshold",
                format!("must be in [0, 1], got {confidence_threshold}"),
            ));
        }
        let task_length_gate_minutes = match p.task_length_gate_minutes {
            Some(x) => Some(positive("policies.task_length_gate_minutes", x)?),
            None => capability.map(|c| c.horizon(0.8)),
        };
        let reference_undo_cost = match p.reference_undo_cost {
            Some(x) => finite_nonneg("policies.reference_undo_cost", x)?,
            None => handover_cost,
        };
        if raw.classes.is_empty() {
            return Err(bad(
                "class",
                "add at least one [[class]] with name, share and prior",
            ));
        }
        let mut classes = Vec::with_capacity(raw.classes.len());
        let mut names = std::collections::HashSet::new();
        let mut slugs = std::collections::HashMap::new();
        for (i, c) in raw.classes.iter().enumerate() {
            let f = |k: &str| format!("class[{i}].{k}");
            if c.name.trim().is_empty() || !names.insert(c.name.clone()) {
                return Err(bad(f("name"), format!("'{}' is empty or repeated", c.name)));
            }
            // Plot files are named by the slug, so two classes must not share one.
            let slug = super::card::slug(&c.name);
            if let Some(other) = slugs.insert(slug.clone(), c.name.clone()) {
                return Err(bad(
                    f("name"),
                    format!(
                        "'{}' and '{other}' both give the file name '{slug}'; rename one",
                        c.name
                    ),
                ));
            }
            let share = c.share;
            if !(share.is_finite() && share > 0.0 && share <= 1.0) {
                return Err(bad(f("share"), format!("must be in (0, 1], got {share}")));
            }
            let (prior, prior_source) = match population_table(&c.prior) {
                Some(t) => {
                    let (p, source) = population_prior(t, &f("prior"), base)?;
                    (p, Some(source))
                }
                None => (prior_of(&c.prior, &f("prior"))?, None),
            };
            let undo_cost = match (c.reversible, c.undo_cost) {
                (true, Some(u)) => finite_nonneg(&f("undo_cost"), u)?,
                (true, None) => {
                    return Err(bad(
                        f("undo_cost"),
                        "a reversible class needs the cost of undoing a bad action",
                    ));
                }
                (false, Some(_)) => {
                    return Err(bad(
                        f("undo_cost"),
                        "only a reversible class has an undo cost; set reversible = true or remove it",
                    ));
                }
                (false, None) => f64::INFINITY,
            };
            let block_cost = match c.block_cost {
                Some(b) => finite_nonneg(&f("block_cost"), b)?,
                None => default_block,
            };
            let (task_minutes, failure_prior) = match (c.task_minutes, &c.failure_prior) {
                (None, None) => (None, None),
                (Some(t), Some(fp)) => {
                    if capability.is_none() {
                        return Err(bad(
                            f("task_minutes"),
                            "a task length needs the agent's capability curve: set agent.h50_minutes and agent.slope",
                        ));
                    }
                    (
                        Some(positive(&f("task_minutes"), t)?),
                        Some(prior_of(fp, &f("failure_prior"))?),
                    )
                }
                (Some(_), None) => {
                    return Err(bad(
                        f("failure_prior"),
                        "a class with task_minutes needs the utility of a failed task, e.g. failure_prior = \"normal:-2,1\"",
                    ));
                }
                (None, Some(_)) => {
                    return Err(bad(
                        f("task_minutes"),
                        "failure_prior is used only with task_minutes",
                    ));
                }
            };
            if c.claude.is_some() || c.gemini.is_some() {
                let which = if c.claude.is_some() {
                    "claude"
                } else {
                    "gemini"
                };
                return Err(bad(
                    f(which),
                    "per-runtime patterns are replaced by one spec that drives every export: list the class's tools as tools = { shell = [\"git push --force\"], edit = [\"src/**\"], mcp = [\"server/tool\"] } with match/not_match example calls",
                ));
            }
            let tools: Tools = match &c.tools {
                None => Tools::default(),
                Some(v) => v.clone().try_into().map_err(|e: toml::de::Error| {
                    bad(f("tools"), e.message().replace('\n', " "))
                })?,
            };
            tools.validate(&format!("class[{i}]"))?;
            let parse_calls = |list: &[String], key: &str| -> Result<Vec<Call>> {
                list.iter()
                    .enumerate()
                    .map(|(j, t)| {
                        Call::parse(t).map_err(|m| bad(format!("class[{i}].{key}[{j}]"), m))
                    })
                    .collect()
            };
            let examples = Examples {
                matching: parse_calls(&c.matching, "match")?,
                not_match: parse_calls(&c.not_match, "not_match")?,
            };
            if tools.is_empty() && !examples.matching.is_empty() {
                return Err(bad(
                    f("match"),
                    "the class lists example calls but no tools; add tools = { … }",
                ));
            }
            let calibration = match &c.calibration {
                None => None,
                Some(pairs) => Some(
                    super::model::Calibration::new(pairs.iter().map(|p| (p[0], p[1])).collect())
                        .map_err(|m| bad(f("calibration"), m))?,
                ),
            };
            classes.push(ActionClass {
                name: c.name.clone(),
                share,
                prior,
                reversible: c.reversible,
                undo_cost,
                block_cost,
                task_minutes,
                failure_prior,
                tools,
                examples,
                calibration,
                prior_source,
            });
        }
        let total: f64 = classes.iter().map(|c| c.share).sum();
        if (total - 1.0).abs() > SHARE_TOL {
            return Err(bad(
                "class.share",
                format!("the shares must sum to 1, they sum to {total}"),
            ));
        }
        let r = &raw.risk;
        let catastrophe_loss = match r.catastrophe_loss {
            Some(l) => positive("risk.catastrophe_loss", l)?,
            None => {
                let h = 10.0 * handover_cost;
                if h > 0.0 { h } else { 10.0 * ask_cost.max(0.1) }
            }
        };
        let cvar_level = r.cvar_level.unwrap_or(0.99);
        if !(cvar_level > 0.0 && cvar_level < 1.0) {
            return Err(bad(
                "risk.cvar_level",
                format!("must be in (0, 1), e.g. 0.99 (the worst 1% of actions), got {cvar_level}"),
            ));
        }
        let harms_per_1000 = match r.harm_budget_per_1000 {
            Some(b) => Some(finite_nonneg("risk.harm_budget_per_1000", b)?),
            None => None,
        };
        let catastrophe_probability = match r.max_catastrophe_probability {
            Some(e) if (0.0..1.0).contains(&e) => Some(e),
            Some(e) => {
                return Err(bad(
                    "risk.max_catastrophe_probability",
                    format!("must be a probability in [0, 1), got {e}"),
                ));
            }
            None => None,
        };
        let risk = RiskSpec {
            catastrophe_loss,
            catastrophe_loss_stated: r.catastrophe_loss.is_some(),
            cvar_level,
            limits: Limits {
                harms_per_1000,
                catastrophe_probability,
                catastrophe_loss,
            },
        };
        let mut robustness = Vec::new();
        let mut points = 1usize;
        for (key, values) in &raw.robustness {
            const KEYS: [&str; 9] = [
                "ece",
                "auroc",
                "approve_good",
                "catch_bad",
                "beta",
                "p",
                "ask_cost",
                "tail_weight_scale",
                "tail_severity",
            ];
            if !KEYS.contains(&key.as_str()) {
                return Err(bad(
                    format!("robustness.{key}"),
                    format!("unknown axis; use {}", KEYS.join(", ")),
                ));
            }
            if values.is_empty() || values.iter().any(|v| !v.is_finite() || *v < 0.0) {
                return Err(bad(
                    format!("robustness.{key}"),
                    "give a list of finite values ≥ 0, e.g. [1.0, 2.0]",
                ));
            }
            points = points.saturating_mul(values.len());
            robustness.push((key.clone(), values.clone()));
        }
        if points > 64 {
            return Err(bad(
                "robustness",
                format!("the uncertainty set has {points} combinations; keep it to at most 64"),
            ));
        }
        let unmatched = match raw.gate.unmatched.as_deref().unwrap_or("ask") {
            "allow" => Some(super::model::Move::Act),
            "ask" => Some(super::model::Move::Ask),
            "deny" => Some(super::model::Move::Block),
            "defer" => None,
            other => {
                return Err(bad(
                    "gate.unmatched",
                    format!("'{other}': use allow, ask, deny or defer"),
                ));
            }
        };
        let human = parse_reviewer(rh, &classes, capability)?;
        let fatigue = match &rh.fatigue {
            None => None,
            Some(f) => {
                if !matches!(human, Human::ErrorRates { .. }) {
                    return Err(bad(
                        "human.fatigue",
                        "fatigue lowers a reviewer's catch rate: give the reviewer as response = \"error-rates\" with approve_good and catch_bad",
                    ));
                }
                if !(f.odds_ratio_per_ask > 0.0 && f.odds_ratio_per_ask <= 1.0) {
                    return Err(bad(
                        "human.fatigue.odds_ratio_per_ask",
                        format!(
                            "must be in (0, 1] (1: no fatigue; Ancker et al. 2017 measured about 0.7), got {}",
                            f.odds_ratio_per_ask
                        ),
                    ));
                }
                Some(Fatigue {
                    odds_ratio_per_ask: f.odds_ratio_per_ask,
                    actions_per_session: positive(
                        "human.fatigue.actions_per_session",
                        f.actions_per_session,
                    )?,
                })
            }
        };
        Ok(Scenario {
            name: raw.name,
            description: raw.description,
            units: raw.units,
            reviewer: Reviewer { human, fatigue },
            ask_cost,
            handover_cost,
            decline_cost,
            confidence,
            discrimination,
            signal,
            capability,
            confidence_threshold,
            task_length_gate_minutes,
            reference_undo_cost,
            risk,
            robustness,
            unmatched,
            classes,
        })
    }

    /// Reads and validates a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario> {
        let text = crate::input::read_text(path, crate::input::MAX_TOML_BYTES, "scenario")?;
        Self::parse_at(&text, &path.display().to_string(), path.parent())
    }

    /// The costs of asking, handing over, a declined ask and blocking, for class `c`.
    pub fn costs(&self, c: &ActionClass) -> Costs {
        Costs {
            ask: self.ask_cost,
            handover: self.handover_cost,
            decline: self.decline_cost,
            block: c.block_cost,
        }
    }

    /// The utility distribution of one action of class `c`, with capability failures mixed in (before undo).
    pub fn utility_prior(&self, c: &ActionClass) -> Result<Prior> {
        utility_prior(c, self.capability)
    }
}

/// The utility distribution of one action of class `c` under a capability curve.
fn utility_prior(c: &ActionClass, capability: Option<Capability>) -> Result<Prior> {
    match (c.task_minutes, &c.failure_prior, capability) {
        (Some(t), Some(fp), Some(cap)) => {
            let p = cap.p_success(t);
            if p >= 1.0 {
                Ok(c.prior.clone())
            } else if p <= 0.0 {
                Ok(fp.clone())
            } else {
                Prior::mixture(vec![p, 1.0 - p], vec![c.prior.clone(), fp.clone()])
            }
        }
        _ => Ok(c.prior.clone()),
    }
}

/// The reviewer of `[human]`: a spec, or `error-rates` with approve_good (or approval_rate) and catch_bad.
fn parse_reviewer(
    rh: &RawHuman,
    classes: &[ActionClass],
    capability: Option<Capability>,
) -> Result<Human> {
    let fields = [
        ("approve_good", rh.approve_good),
        ("catch_bad", rh.catch_bad),
        ("approval_rate", rh.approval_rate),
    ];
    if rh.response.trim() != "error-rates" {
        let human = Human::parse(&rh.response).map_err(|e| within("human.response", e))?;
        if let Some((name, _)) = fields.iter().find(|f| f.1.is_some()) {
            return Err(bad(
                format!("human.{name}"),
                format!(
                    "only an error-rate reviewer has {name}: set response = \"error-rates\" (the reviewer here is {})",
                    human.label()
                ),
            ));
        }
        return Ok(human);
    }
    let catch = rh.catch_bad.ok_or_else(|| {
        bad(
            "human.catch_bad",
            "an error-rate reviewer needs catch_bad, the probability of rejecting a bad action, e.g. catch_bad = 0.6",
        )
    })?;
    let approve = match (rh.approve_good, rh.approval_rate) {
        (Some(a), None) => a,
        (None, Some(rate)) => {
            if !(0.0..=1.0).contains(&rate) {
                return Err(bad(
                    "human.approval_rate",
                    format!("must be a probability in [0, 1], got {rate}"),
                ));
            }
            if !(0.0..=1.0).contains(&catch) {
                return Err(bad(
                    "human.catch_bad",
                    format!("must be a probability in [0, 1], got {catch}"),
                ));
            }
            // Asking about every action: rate = Σ share·(P(good)·a + P(bad)·(1 − catch)), solved for a.
            let mut good = 0.0;
            let mut bad_allowed = 0.0;
            for c in classes {
                let p = super::model::stakes(&utility_prior(c, capability)?, c.undo_cost).p_good;
                good += c.share * p;
                bad_allowed += c.share * (1.0 - p) * (1.0 - catch);
            }
            let a = if good > 0.0 {
                (rate - bad_allowed) / good
            } else {
                f64::NAN
            };
            if !(0.0..=1.0).contains(&a) {
                return Err(bad(
                    "human.approval_rate",
                    format!(
                        "{rate} of prompts approved cannot come from a reviewer who catches {catch} of the bad actions in this mix (it needs an approval rate on good actions of {a:.4}); give approve_good instead"
                    ),
                ));
            }
            a
        }
        (Some(_), Some(_)) => {
            return Err(bad(
                "human.approval_rate",
                "give approve_good or approval_rate, not both",
            ));
        }
        (None, None) => {
            return Err(bad(
                "human.approve_good",
                "an error-rate reviewer needs approve_good, the probability of approving a good action (or approval_rate, the share of prompts approved when every action asks)",
            ));
        }
    };
    Human::error_rates(approve, catch)
}
