//! The axes an engineer turns: one input of a scenario set to another value.
//!
//! - `ask-cost` (c) and `handover-cost` (h);
//! - the reviewer: `approve-good` and `catch-bad` for an error-rate reviewer, `beta` for a Boltzmann one, `p`
//!   for a p-rational one;
//! - the loss tail of a class whose prior is a mixture — the component with the lowest mean is the *tail*:
//!   `tail-weight` (its probability; the other components keep their relative weights) and `tail-severity`
//!   (the tail scaled about 0: N(−200, 80) at severity 1.5 is N(−300, 120));
//! - the agent's confidence: `ece` (the expected calibration error, E[r − q]) and `auroc`.

use serde::Serialize;

use super::scenario::{ActionClass, Confidence, Discrimination, Scenario};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::Human;

/// One input of a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Axis {
    /// c, the cost of asking.
    AskCost,
    /// h, the cost of a hand-over.
    HandoverCost,
    /// The reviewer's P(approve | good action).
    ApproveGood,
    /// The reviewer's P(reject | bad action).
    CatchBad,
    /// The Boltzmann reviewer's β.
    Beta,
    /// The error-rate reviewer's p.
    P,
    /// How many times as likely every class's loss tail is.
    TailWeight,
    /// How many times as severe every class's loss tail is.
    TailSeverity,
    /// The agent's expected calibration error.
    Ece,
    /// How well the agent's confidence separates good from bad actions.
    Auroc,
}

impl Axis {
    /// The one spelling of the axis (card, `--axis`, `[robustness]`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Axis::AskCost => "ask-cost",
            Axis::HandoverCost => "handover-cost",
            Axis::ApproveGood => "approve-good",
            Axis::CatchBad => "catch-bad",
            Axis::Beta => "beta",
            Axis::P => "p",
            Axis::TailWeight => "tail-weight",
            Axis::TailSeverity => "tail-severity",
            Axis::Ece => "ece",
            Axis::Auroc => "auroc",
        }
    }
    /// The reviewer axes that apply to a human model.
    pub fn reviewer_axes(h: &Human) -> Vec<Axis> {
        match h {
            Human::ErrorRates { .. } => vec![Axis::ApproveGood, Axis::CatchBad],
            Human::Boltzmann { beta } if *beta > 0.0 && beta.is_finite() => vec![Axis::Beta],
            Human::PRational { .. } => vec![Axis::P],
            _ => vec![],
        }
    }
    /// The range searched for a flip, and whether it is searched on a log scale.
    pub fn range(&self, now: f64, scale: f64) -> (f64, f64, bool) {
        match self {
            Axis::AskCost | Axis::HandoverCost => (1e-4 * scale, 1e3 * scale, true),
            Axis::ApproveGood | Axis::CatchBad | Axis::P => (0.0, 1.0, false),
            Axis::Beta => (1e-3 * scale, 1e3 * scale, true),
            Axis::TailWeight => (1e-6, 0.5_f64.max(now), true),
            Axis::TailSeverity => (1e-2, 1e2, true),
            Axis::Ece => (0.0, 1.0, false),
            Axis::Auroc => (0.5, 0.999, false),
        }
    }
}

/// The index of a mixture's tail: the component with the lowest mean.
pub fn tail_index(p: &Prior) -> Option<usize> {
    match p {
        Prior::Mixture { components, .. } if components.len() > 1 => components
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.mean().total_cmp(&b.1.mean()))
            .map(|x| x.0),
        _ => None,
    }
}

/// The class-level payoffs of class `k` of `s` along the tail-weight axis, cheaply: the moments of the tail and
/// of the rest are computed once and mixed at each weight. `None` if the class has no tail.
pub fn tail_weight_values(s: &Scenario, k: usize) -> Option<impl Fn(f64) -> super::model::Values> {
    use super::model::RawMoments;
    let c = &s.classes[k];
    let t = tail_index(&c.prior)?;
    let Prior::Mixture {
        weights,
        components,
    } = &c.prior
    else {
        return None;
    };
    let rest_w: f64 = 1.0 - weights[t];
    let human = s.reviewer.human;
    let undo = c.undo_cost;
    let tail = RawMoments::of(&components[t], &human, undo);
    let rest_parts: Vec<(f64, RawMoments)> = components
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != t)
        .map(|(i, comp)| {
            let w = if rest_w > 0.0 {
                weights[i] / rest_w
            } else {
                1.0 / (components.len() - 1) as f64
            };
            (w, RawMoments::of(comp, &human, undo))
        })
        .collect();
    let rest = RawMoments::mix(&rest_parts);
    // Capability failures mix in after the tail (the class's utility is success·prior + failure·failure_prior).
    let fail = match (c.task_minutes, &c.failure_prior, s.capability) {
        (Some(tm), Some(fp), Some(cap)) => {
            let p = cap.p_success(tm);
            Some((p, RawMoments::of(fp, &human, undo)))
        }
        _ => None,
    };
    let costs = s.costs(c);
    Some(move |w: f64| {
        let w = w.clamp(0.0, 1.0);
        let prior = RawMoments::mix(&[(w, tail), (1.0 - w, rest)]);
        let m = match fail {
            Some((p, f)) => RawMoments::mix(&[(p, prior), (1.0 - p, f)]),
            None => prior,
        };
        m.values(&costs)
    })
}

/// The tail's weight and the class prior with the tail at weight `w`.
fn with_tail_weight(p: &Prior, w: f64) -> Option<Prior> {
    let t = tail_index(p)?;
    let Prior::Mixture {
        weights,
        components,
    } = p
    else {
        return None;
    };
    let rest: f64 = 1.0 - weights[t];
    let w = w.clamp(0.0, 1.0);
    let weights = weights
        .iter()
        .enumerate()
        .map(|(i, x)| {
            if i == t {
                w
            } else if rest > 0.0 {
                x * (1.0 - w) / rest
            } else {
                (1.0 - w) / (weights.len() - 1) as f64
            }
        })
        .collect();
    Some(Prior::Mixture {
        weights,
        components: components.clone(),
    })
}

fn with_tail_severity(p: &Prior, s: f64) -> Option<Prior> {
    let t = tail_index(p)?;
    let Prior::Mixture {
        weights,
        components,
    } = p
    else {
        return None;
    };
    let mut components = components.clone();
    components[t] = components[t].affine(0.0, s);
    Some(Prior::Mixture {
        weights: weights.clone(),
        components,
    })
}

/// The current value of an axis (for a class's tail axes, class `k`).
pub fn value(s: &Scenario, k: usize, axis: Axis) -> Option<f64> {
    match axis {
        Axis::AskCost => Some(s.ask_cost),
        Axis::HandoverCost => Some(s.handover_cost),
        Axis::ApproveGood | Axis::CatchBad => match s.reviewer.human {
            Human::ErrorRates {
                approve_good,
                catch_bad,
            } => Some(if axis == Axis::ApproveGood {
                approve_good
            } else {
                catch_bad
            }),
            _ => None,
        },
        Axis::Beta => match s.reviewer.human {
            Human::Boltzmann { beta } => Some(beta),
            _ => None,
        },
        Axis::P => match s.reviewer.human {
            Human::PRational { p } => Some(p),
            _ => None,
        },
        Axis::TailWeight => {
            let p = &s.classes[k].prior;
            let t = tail_index(p)?;
            match p {
                Prior::Mixture { weights, .. } => Some(weights[t]),
                _ => None,
            }
        }
        Axis::TailSeverity => tail_index(&s.classes[k].prior).map(|_| 1.0),
        Axis::Ece => Some(match s.confidence {
            Confidence::Calibrated => 0.0,
            Confidence::Overconfident { ece } => ece,
        }),
        Axis::Auroc => match s.discrimination {
            Discrimination::Auroc { auroc } => Some(auroc),
            Discrimination::Concentration { .. } => None,
        },
    }
}

/// The scenario with `axis` set to `x` (tail axes on class `k`; `None`: every mixture class).
pub fn set(s: &Scenario, k: Option<usize>, axis: Axis, x: f64) -> Result<Scenario> {
    let mut t = s.clone();
    let bad = |msg: String| Error::invalid(axis.as_str(), msg);
    match axis {
        Axis::AskCost => t.ask_cost = x.max(0.0),
        Axis::HandoverCost => t.handover_cost = x.max(0.0),
        Axis::ApproveGood | Axis::CatchBad => match s.reviewer.human {
            Human::ErrorRates {
                approve_good,
                catch_bad,
            } => {
                let x = x.clamp(0.0, 1.0);
                t.reviewer.human = if axis == Axis::ApproveGood {
                    Human::ErrorRates {
                        approve_good: x,
                        catch_bad,
                    }
                } else {
                    Human::ErrorRates {
                        approve_good,
                        catch_bad: x,
                    }
                };
            }
            _ => return Err(bad("the reviewer has no error rates".into())),
        },
        Axis::Beta => t.reviewer.human = Human::Boltzmann { beta: x.max(0.0) },
        Axis::P => {
            t.reviewer.human = Human::PRational {
                p: x.clamp(0.0, 1.0),
            }
        }
        Axis::TailWeight | Axis::TailSeverity => {
            let apply = |c: &mut ActionClass| -> bool {
                let p = if axis == Axis::TailWeight {
                    with_tail_weight(&c.prior, x)
                } else {
                    with_tail_severity(&c.prior, x)
                };
                match p {
                    Some(p) => {
                        c.prior = p;
                        true
                    }
                    None => false,
                }
            };
            match k {
                Some(k) => {
                    if !apply(&mut t.classes[k]) {
                        return Err(bad(format!(
                            "class {} has no loss tail (its prior is not a mixture)",
                            s.classes[k].name
                        )));
                    }
                }
                None => {
                    for c in &mut t.classes {
                        apply(c);
                    }
                }
            }
        }
        Axis::Ece => {
            t.confidence = if x <= 0.0 {
                Confidence::Calibrated
            } else {
                Confidence::Overconfident { ece: x }
            }
        }
        Axis::Auroc => t.discrimination = Discrimination::Auroc { auroc: x },
    }
    Ok(t)
}

/// Scales the tail weight of every mixture class by `f` (capped at 0.5).
pub fn scale_tails(s: &Scenario, f: f64) -> Scenario {
    let mut t = s.clone();
    for c in &mut t.classes {
        if let Some(i) = tail_index(&c.prior)
            && let Prior::Mixture { weights, .. } = &c.prior
            && let Some(p) = with_tail_weight(&c.prior, (weights[i] * f).min(0.5))
        {
            c.prior = p;
        }
    }
    t
}
