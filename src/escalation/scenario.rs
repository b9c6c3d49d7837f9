//! The scenario file of `cirl calibrate`: an agent's action classes and the humans it can ask.
//!
//! ```toml
//! name = "coding-agent"
//! description = "..."                 # optional
//! units = "minutes of engineer time"  # what one unit of utility is (optional, for the card)
//!
//! [human]
//! response = "boltzmann:0.3"          # how the human answers when asked: rational, boltzmann:β, p-rational:p, chance:p
//! ask_cost = 0.5                      # c: the cost of asking (human attention), in utility units
//! handover_cost = 4.0                 # h: the cost of handing the action over / stopping
//! decline_cost = 0.0                  # d: the cost when the human, asked, says no (default 0)
//!
//! [agent]
//! confidence = "calibrated"           # or "overconfident" (then `ece`)
//! ece = 0.0                           # expected calibration error of the reported confidence
//! auroc = 0.7                         # how well confidence separates good from bad actions (0.5: not at all;
//!                                     # 0.5–0.999, below 0.505 taken as 0.5)
//! h50_minutes = 59.0                  # METR-style capability curve (needed by classes with task_minutes)
//! slope = 0.70                        # P(success) = σ(slope·(log2 h50 − log2 t)); or h80_minutes instead
//!
//! [policies]                          # the rivals' parameters (all optional)
//! confidence_threshold = 0.8          # ask when reported confidence < τ
//! task_length_gate_minutes = 15.0     # ask when the task takes longer (default: the agent's 80% horizon)
//! reference_undo_cost = 4.0           # for "why": an irreversible class re-run as reversible at this undo cost
//!
//! [[class]]
//! name = "edit-file"
//! share = 0.7                         # fraction of all actions (shares sum to 1)
//! prior = "normal:1,0.5"              # the utility U of one action (any prior spec, or a mixture table)
//! reversible = true
//! undo_cost = 0.3                     # a reversible action's loss is at most this
//! task_minutes = 5.0                  # optional: capability failures by the METR curve
//! failure_prior = "normal:-2,1"       # the utility when the task fails (needed with task_minutes)
//! claude = ["Edit(*)"]                # Claude Code permission patterns for this class
//! gemini = { toolName = "replace" }   # Gemini CLI policy rule conditions for this class
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::Human;
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
    task_minutes: Option<f64>,
    failure_prior: Option<toml::Value>,
    #[serde(default)]
    claude: OneOrMany,
    #[serde(default)]
    gemini: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(untagged)]
enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

/// The agent's capability curve (METR 2025): P(success at a task of t minutes) = σ(slope·(log2 h50 − log2 t)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Capability {
    pub h50_minutes: f64,
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
    Calibrated,
    /// Reported confidence is inflated by an expected calibration error `ece`.
    Overconfident {
        ece: f64,
    },
}

/// How well per-action confidence separates good from bad actions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Discrimination {
    /// Area under the ROC curve of the calibrated confidence as a predictor of success (0.5: none).
    Auroc { auroc: f64 },
    /// The concentration κ of the Beta distribution of calibrated confidence (∞: none).
    Concentration { kappa: f64 },
}

/// One class of actions.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionClass {
    pub name: String,
    pub share: f64,
    /// The utility of one action (before capability failures and undo).
    pub prior: Prior,
    pub reversible: bool,
    /// A reversible action's loss is at most this.
    pub undo_cost: f64,
    pub task_minutes: Option<f64>,
    pub failure_prior: Option<Prior>,
    /// Claude Code permission patterns (e.g. `Bash(git push:*)`).
    pub claude: Vec<String>,
    /// Gemini CLI policy rule conditions (e.g. toolName, commandPrefix, argsPattern).
    pub gemini: BTreeMap<String, toml::Value>,
}

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub units: String,
    pub human: Human,
    pub ask_cost: f64,
    pub handover_cost: f64,
    /// The cost when the human, asked, says no.
    pub decline_cost: f64,
    pub confidence: Confidence,
    pub discrimination: Discrimination,
    pub capability: Option<Capability>,
    pub confidence_threshold: f64,
    pub task_length_gate_minutes: Option<f64>,
    pub reference_undo_cost: f64,
    pub classes: Vec<ActionClass>,
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

impl Scenario {
    /// Parses and validates a scenario; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Scenario> {
        let raw: Raw =
            toml::from_str(text).map_err(|e| crate::error::toml_error(origin, text, &e))?;
        if raw.name.trim().is_empty() {
            return Err(bad("name", "give the scenario a name"));
        }
        let human = Human::parse(&raw.human.response).map_err(|e| within("human.response", e))?;
        let ask_cost = finite_nonneg("human.ask_cost", raw.human.ask_cost)?;
        let handover_cost = finite_nonneg("human.handover_cost", raw.human.handover_cost)?;
        let decline_cost = finite_nonneg("human.decline_cost", raw.human.decline_cost)?;
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
        for (i, c) in raw.classes.iter().enumerate() {
            let f = |k: &str| format!("class[{i}].{k}");
            if c.name.trim().is_empty() || !names.insert(c.name.clone()) {
                return Err(bad(f("name"), format!("'{}' is empty or repeated", c.name)));
            }
            let share = c.share;
            if !(share.is_finite() && share > 0.0 && share <= 1.0) {
                return Err(bad(f("share"), format!("must be in (0, 1], got {share}")));
            }
            let prior = prior_of(&c.prior, &f("prior"))?;
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
            let claude = match &c.claude {
                OneOrMany::None => vec![],
                OneOrMany::One(s) => vec![s.clone()],
                OneOrMany::Many(v) => v.clone(),
            };
            for k in c.gemini.keys() {
                if ![
                    "toolName",
                    "commandPrefix",
                    "argsPattern",
                    "mcpName",
                    "commandRegex",
                ]
                .contains(&k.as_str())
                {
                    return Err(bad(
                        f("gemini"),
                        format!(
                            "unknown rule condition '{k}'; use toolName, commandPrefix, commandRegex, argsPattern or mcpName"
                        ),
                    ));
                }
            }
            classes.push(ActionClass {
                name: c.name.clone(),
                share,
                prior,
                reversible: c.reversible,
                undo_cost,
                task_minutes,
                failure_prior,
                claude,
                gemini: c.gemini.clone(),
            });
        }
        let total: f64 = classes.iter().map(|c| c.share).sum();
        if (total - 1.0).abs() > SHARE_TOL {
            return Err(bad(
                "class.share",
                format!("the shares must sum to 1, they sum to {total}"),
            ));
        }
        Ok(Scenario {
            name: raw.name,
            description: raw.description,
            units: raw.units,
            human,
            ask_cost,
            handover_cost,
            decline_cost,
            confidence,
            discrimination,
            capability,
            confidence_threshold,
            task_length_gate_minutes,
            reference_undo_cost,
            classes,
        })
    }

    /// Reads and validates a scenario file.
    pub fn load(path: &std::path::Path) -> Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// The costs of asking, handing over and a declined ask.
    pub fn costs(&self) -> crate::escalation::model::Costs {
        crate::escalation::model::Costs {
            ask: self.ask_cost,
            handover: self.handover_cost,
            decline: self.decline_cost,
        }
    }

    /// The utility distribution of one action of class `c`, with capability failures mixed in (before undo).
    pub fn utility_prior(&self, c: &ActionClass) -> Result<Prior> {
        match (c.task_minutes, &c.failure_prior, self.capability) {
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
}
