//! Robustness on the axes engineers turn: flip points, "built under A, deployed under B", and a minimax-regret
//! policy over a stated uncertainty set.
//!
//! - **Flip points.** For every class and axis ([`super::axes`]), the values at which the class-level decision
//!   changes: each change of the best move is bracketed on a grid and located by Brent's method on the
//!   difference of the two moves' payoffs (to 1e-12 of the axis). For the agent's confidence (ECE, AUROC),
//!   which the class-level decision does not depend on, the flip is where the card's confidence routing —
//!   deployed with the card's thresholds in *reported* confidence — stops paying against the class's static
//!   decision, when the true ECE or AUROC differs from the one the card was built under.
//! - **Deployed under B.** The card's per-action and static policies, built under the scenario (A), evaluated on
//!   perturbed truths B: a more overconfident agent, a less discriminating confidence, a reviewer who catches
//!   less, a heavier or more severe tail, dearer asks. A policy in reported confidence moves with the truth:
//!   under B the reported threshold r means calibrated confidence σ(logit r − s_B).
//! - **Robust policy.** Among the rivals and the value-of-deferring policies of every truth in the set, the one
//!   whose worst regret over the set is least.

use rayon::prelude::*;
use serde::Serialize;

use super::Threshold;
use super::axes::{self, Axis};
use super::model::{Model, Move, Plan, Values, class_metrics};
use super::optimize::{self, Limits};
use super::scenario::{Discrimination, Scenario};
use crate::error::Result;
use crate::numerics::brent;

/// A class's flip points along one axis.
#[derive(Debug, Clone, Serialize)]
pub struct AxisFlips {
    /// The axis.
    pub axis: Axis,
    /// The scenario's value of the axis.
    pub now: f64,
    /// The range searched: its lower end.
    pub from: f64,
    /// The range's upper end.
    pub to: f64,
    /// Where the class-level decision changes (empty: no change in the range).
    pub flips: Vec<Threshold>,
}

/// Where confidence routing stops (or starts) paying against the static rule, along ECE or AUROC.
#[derive(Debug, Clone, Serialize)]
pub struct RoutingFlips {
    /// The axis (ECE or AUROC).
    pub axis: Axis,
    /// The scenario's value of the axis.
    pub now: f64,
    /// The range searched: its lower end.
    pub from: f64,
    /// The range's upper end.
    pub to: f64,
    /// The true values at which routing with the card's thresholds and the static decision are worth the same.
    pub at: Vec<f64>,
    /// What the card's routing gains per action of the class over the static decision at the scenario's value.
    pub gain_now: f64,
}

/// A class's flip points on every axis that applies.
#[derive(Debug, Clone, Serialize)]
pub struct ClassFlips {
    /// The class's name.
    pub class: String,
    /// Where its class-level decision changes, per axis.
    pub decision: Vec<AxisFlips>,
    /// Where its confidence routing stops (or starts) paying, along ECE and AUROC.
    pub routing: Vec<RoutingFlips>,
}

/// The grid of an axis's range (log or linear).
fn grid(lo: f64, hi: f64, log: bool, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let t = i as f64 / (n - 1) as f64;
            if log {
                (lo.ln() + (hi.ln() - lo.ln()) * t).exp()
            } else {
                lo + (hi - lo) * t
            }
        })
        .collect()
}

/// Brackets every change of the best move of `f` on the grid and locates it by Brent's method.
fn flips_along(
    f: &(dyn Fn(f64) -> Option<Values> + Sync),
    lo: f64,
    hi: f64,
    log: bool,
    n: usize,
) -> Vec<Threshold> {
    let xs = grid(lo, hi, log, n);
    let vals: Vec<Option<Values>> = xs.par_iter().map(|&x| f(x)).collect();
    let mut out = Vec::new();
    for i in 1..xs.len() {
        let (Some(v0), Some(v1)) = (vals[i - 1], vals[i]) else {
            continue;
        };
        let (m0, m1) = (v0.best().0, v1.best().0);
        if m0 == m1 {
            continue;
        }
        let to = |y: f64| if log { y.exp() } else { y };
        let g = |y: f64| f(to(y)).map_or(0.0, |v| v.get(m1) - v.get(m0));
        let (a, b) = if log {
            (xs[i - 1].ln(), xs[i].ln())
        } else {
            (xs[i - 1], xs[i])
        };
        let at = brent(g, a, b, 1e-13 * (b - a).abs().max(1e-300))
            .map(to)
            .unwrap_or(0.5 * (xs[i - 1] + xs[i]));
        // A third move may take over between the grid points: then report both changes.
        let mid = f(at).map(|v| v.best().0);
        out.push(Threshold {
            at,
            below: m0,
            above: m1,
        });
        if let Some(mm) = mid
            && mm != m0
            && mm != m1
        {
            out.last_mut().expect("pushed").above = mm;
        }
    }
    out
}

/// The class-level payoffs of class k in scenario `t` (the reviewer as given, without fatigue).
fn class_values_in(t: &Scenario, k: usize) -> Option<Values> {
    let c = &t.classes[k];
    let u = t.utility_prior(c).ok()?;
    Some(super::model::class_values(
        &u,
        &t.reviewer.human,
        c.undo_cost,
        &t.costs(c),
    ))
}

/// The scenario with its reviewer fixed at the state it answers the deployed policy in (fatigue folded in).
pub fn at_state(s: &Scenario, m: &Model, plan: &Plan) -> Scenario {
    let mut t = s.clone();
    t.reviewer.human = m.reviewer.at(m.ask_rate(plan));
    t.reviewer.fatigue = None;
    t
}

/// Flip points of every class on every axis that applies. `s` carries the reviewer at its deployed state;
/// `per_action` and `static_plan` are the card's policies built in model `m` of `s`.
pub fn flips(s: &Scenario, m: &Model, per_action: &Plan, static_plan: &Plan) -> Vec<ClassFlips> {
    let scale = m
        .classes
        .iter()
        .map(|c| c.scale())
        .fold(1e-300f64, f64::max);
    let mut axes_all = vec![Axis::AskCost, Axis::HandoverCost];
    axes_all.extend(Axis::reviewer_axes(&s.reviewer.human));
    let routing = routing_flips(s, m, per_action, static_plan);
    (0..s.classes.len())
        .map(|k| {
            let mut list = axes_all.clone();
            if axes::tail_index(&s.classes[k].prior).is_some() {
                list.extend([Axis::TailWeight, Axis::TailSeverity]);
            }
            let decision = list
                .into_iter()
                .filter_map(|axis| {
                    let now = axes::value(s, k, axis)?;
                    let (lo, hi, log) = axis.range(now, scale);
                    let cm = &m.classes[k];
                    let undo = cm.undo_cost.unwrap_or(f64::INFINITY);
                    let tail_w = if axis == Axis::TailWeight {
                        axes::tail_weight_values(s, k)
                    } else {
                        None
                    };
                    // Costs and sign-only reviewers change only the lines; β the answers; a tail everything.
                    let f = |x: f64| -> Option<Values> {
                        if let Some(f) = &tail_w {
                            return Some(f(x));
                        }
                        let t = axes::set(s, Some(k), axis, x).ok()?;
                        let costs = t.costs(&t.classes[k]);
                        let ans = match axis {
                            Axis::AskCost | Axis::HandoverCost => cm.answers,
                            Axis::TailWeight | Axis::TailSeverity => return class_values_in(&t, k),
                            _ => super::model::answers(
                                &cm.utility,
                                &t.reviewer.human,
                                undo,
                                &cm.stakes,
                            ),
                        };
                        let l = super::model::Lines::new(&cm.stakes, &ans, &costs);
                        Some(Values(Move::ALL.map(|mv| l.get(mv).at(cm.p_good))))
                    };
                    let n = match axis {
                        Axis::TailWeight | Axis::TailSeverity | Axis::Beta => 81,
                        _ => 161,
                    };
                    Some(AxisFlips {
                        axis,
                        now,
                        from: lo,
                        to: hi,
                        flips: flips_along(&f, lo, hi, log, n),
                    })
                })
                .collect();
            ClassFlips {
                class: s.classes[k].name.clone(),
                decision,
                routing: routing[k].clone(),
            }
        })
        .collect()
}

/// Class k's expected utility per action of the class under a plan deployed in model `b` (plan built in a
/// model with logit shift `from`).
fn class_eu(b: &Model, plan: &Plan, from: f64, k: usize) -> f64 {
    let p = b.carried_part_from_shift(k, &plan.0[k], from);
    class_metrics(&b.classes[k], &p).expected_utility
}

/// Routing flips along ECE and AUROC for every class whose per-action policy routes on confidence.
fn routing_flips(
    s: &Scenario,
    m: &Model,
    per_action: &Plan,
    static_plan: &Plan,
) -> Vec<Vec<RoutingFlips>> {
    let n = s.classes.len();
    // A class routes on confidence when at least two of its regions hold a noticeable share of its actions.
    let routes: Vec<bool> = per_action
        .0
        .iter()
        .zip(&m.classes)
        .map(|(p, c)| {
            p.0.iter()
                .filter(|&&(lo, hi, _)| c.q.mass(lo, hi).0 > 1e-6)
                .count()
                >= 2
        })
        .collect();
    let mut out = vec![Vec::new(); n];
    if !routes.iter().any(|x| *x) {
        return out;
    }
    for axis in [Axis::Ece, Axis::Auroc] {
        let Some(now) = axes::value(s, 0, axis) else {
            continue;
        };
        let ece_now = axes::value(s, 0, Axis::Ece).unwrap_or(0.0);
        let model_at = |x: f64| -> Option<Model> {
            match axis {
                Axis::Ece => m.with_confidence(None, x).ok(),
                _ => m
                    .with_confidence(Some(Discrimination::Auroc { auroc: x }), ece_now)
                    .ok(),
            }
        };
        // The range: ECE up to what the mix allows, AUROC over [0.5, 0.99].
        let (lo, hi) = match axis {
            Axis::Ece => {
                let max_gap: f64 = m.classes.iter().map(|c| c.share * (1.0 - c.q.mean())).sum();
                (0.0, 0.98 * max_gap)
            }
            _ => (0.5, 0.99),
        };
        if hi <= lo {
            continue;
        }
        let xs = grid(lo, hi, false, if axis == Axis::Ece { 41 } else { 17 });
        let models: Vec<Option<Model>> = xs.par_iter().map(|&x| model_at(x)).collect();
        for k in 0..n {
            if !routes[k] {
                continue;
            }
            let gain = |b: &Model| {
                class_eu(b, per_action, m.shift, k) - class_eu(b, static_plan, m.shift, k)
            };
            let gain_now = gain(m);
            let g: Vec<Option<f64>> = models.iter().map(|b| b.as_ref().map(gain)).collect();
            let mut at = Vec::new();
            for i in 1..xs.len() {
                let (Some(a), Some(b)) = (g[i - 1], g[i]) else {
                    continue;
                };
                let tol = 1e-12 * m.classes[k].scale();
                if (a > tol) != (b > tol) {
                    let f = |x: f64| model_at(x).map_or(0.0, |bm| gain(&bm) - tol);
                    let x = brent(f, xs[i - 1], xs[i], 1e-6 * (hi - lo))
                        .unwrap_or(0.5 * (xs[i - 1] + xs[i]));
                    at.push(x);
                }
            }
            out[k].push(RoutingFlips {
                axis,
                now,
                from: lo,
                to: hi,
                at,
                gain_now,
            });
        }
    }
    out
}

/// A perturbed truth.
#[derive(Debug, Clone)]
pub struct Truth {
    /// A name for the perturbation (e.g. "reviewer catches 20% less").
    pub name: String,
    /// The scenario under it.
    pub scenario: Scenario,
}

/// The default perturbations: one axis at a time.
pub fn default_truths(s: &Scenario) -> Vec<Truth> {
    let mut out = vec![Truth {
        name: "as stated".into(),
        scenario: s.clone(),
    }];
    let mut push = |name: String, r: Result<Scenario>| {
        if let Ok(t) = r
            && Model::new(&t).is_ok()
        {
            out.push(Truth { name, scenario: t });
        }
    };
    let ece = axes::value(s, 0, Axis::Ece).unwrap_or(0.0);
    // Five points more overconfident, or as overconfident as this mix allows.
    let max_gap: f64 = Model::new(s).map_or(0.0, |m| {
        m.classes.iter().map(|c| c.share * (1.0 - c.q.mean())).sum()
    });
    let target = (ece + 0.05).min(ece + 0.9 * (max_gap - ece));
    if target > ece {
        push(
            format!(
                "agent {:.1} points more overconfident (ECE {})",
                100.0 * (target - ece),
                crate::output::table::fmt_num(target)
            ),
            axes::set(s, None, Axis::Ece, target),
        );
    }
    if let Some(a) = axes::value(s, 0, Axis::Auroc)
        && a > 0.55
    {
        let b = 0.5 + 0.5 * (a - 0.5);
        push(
            format!("confidence discriminates half as well (AUROC {b:.3})"),
            axes::set(s, None, Axis::Auroc, b),
        );
    }
    match s.reviewer.human {
        crate::human::Human::ErrorRates { catch_bad, .. } => push(
            format!(
                "reviewer catches 20% fewer bad actions (catch rate {:.3})",
                0.8 * catch_bad
            ),
            axes::set(s, None, Axis::CatchBad, 0.8 * catch_bad),
        ),
        crate::human::Human::Boltzmann { beta } if beta > 0.0 => push(
            format!("reviewer three times noisier (β = {})", 3.0 * beta),
            axes::set(s, None, Axis::Beta, 3.0 * beta),
        ),
        crate::human::Human::PRational { p } => push(
            format!("reviewer less reliable (p = {:.3})", 0.5 + 0.8 * (p - 0.5)),
            axes::set(s, None, Axis::P, 0.5 + 0.8 * (p - 0.5)),
        ),
        _ => {}
    }
    if s.classes
        .iter()
        .any(|c| axes::tail_index(&c.prior).is_some())
    {
        push(
            "loss tails twice as likely".into(),
            Ok(axes::scale_tails(s, 2.0)),
        );
        push(
            "loss tails 1.5× as severe".into(),
            axes::set(s, None, Axis::TailSeverity, 1.5),
        );
    }
    push(
        format!("asking costs twice as much (c = {})", 2.0 * s.ask_cost),
        axes::set(s, None, Axis::AskCost, 2.0 * s.ask_cost),
    );
    out
}

/// The truths of the scenario's `[robustness]` set (every combination of the listed values), or the default
/// perturbations when it states none. The first truth is always the scenario as stated.
pub fn truths(s: &Scenario) -> Result<Vec<Truth>> {
    if s.robustness.is_empty() {
        return Ok(default_truths(s));
    }
    let mut out = vec![Truth {
        name: "as stated".into(),
        scenario: s.clone(),
    }];
    let mut combos: Vec<(String, Scenario)> = vec![(String::new(), s.clone())];
    for (key, values) in &s.robustness {
        let mut next = Vec::new();
        for (name, t) in &combos {
            for &v in values {
                let u = match key.as_str() {
                    "ece" => axes::set(t, None, Axis::Ece, v)?,
                    "auroc" => axes::set(t, None, Axis::Auroc, v)?,
                    "approve_good" => axes::set(t, None, Axis::ApproveGood, v)?,
                    "catch_bad" => axes::set(t, None, Axis::CatchBad, v)?,
                    "beta" => axes::set(t, None, Axis::Beta, v)?,
                    "p" => axes::set(t, None, Axis::P, v)?,
                    "ask_cost" => axes::set(t, None, Axis::AskCost, v)?,
                    "tail_weight_scale" => axes::scale_tails(t, v),
                    "tail_severity" => axes::set(t, None, Axis::TailSeverity, v)?,
                    _ => unreachable!("validated keys"),
                };
                let sep = if name.is_empty() { "" } else { ", " };
                next.push((format!("{name}{sep}{key} = {v}"), u));
            }
        }
        combos = next;
    }
    for (name, t) in combos {
        Model::new(&t).map_err(|e| {
            crate::error::Error::invalid(
                "robustness",
                format!("the truth {name} is not a valid scenario: {e}"),
            )
        })?;
        out.push(Truth { name, scenario: t });
    }
    Ok(out)
}

/// A candidate policy: a plan and the logit shift of the model it was built in.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The candidate's name.
    pub name: String,
    /// Its moves per class and confidence.
    pub plan: Plan,
    /// The logit shift of reported confidence in the model it was built in.
    pub shift: f64,
}

/// One policy's figures under one truth.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Outcome {
    /// Expected utility per action under the truth.
    pub expected_utility: f64,
    /// Expected utility lost per action against the truth's own best policy.
    pub regret: f64,
    /// Share of actions asked.
    pub ask_rate: f64,
    /// Share of actions that are bad, irreversible and go through.
    pub harm_rate: f64,
    /// Severity-weighted loss per action from those harms.
    pub harm_loss: f64,
}

/// One row of the "built under A, deployed under B" table.
#[derive(Debug, Clone, Serialize)]
pub struct DeployedRow {
    /// The truth's name.
    pub truth: String,
    /// The best expected utility under this truth (its own value-of-deferring policy).
    pub best: f64,
    /// The card's per-action policy under it.
    pub per_action: Outcome,
    /// The card's static rules under it.
    pub static_rules: Outcome,
    /// The minimax-regret policy under it.
    pub robust: Outcome,
}

/// The minimax-regret choice.
#[derive(Debug, Clone, Serialize)]
pub struct RobustChoice {
    /// The candidate chosen.
    pub name: String,
    /// Its worst regret over the set.
    pub worst_regret: f64,
    /// Every candidate's worst regret over the set.
    pub candidates: Vec<(String, f64)>,
    /// The truths of the set.
    pub set: Vec<String>,
    /// Its moves per class and confidence (not serialized).
    #[serde(skip)]
    pub plan: Plan,
}

/// The robustness section of the card.
#[derive(Debug, Clone, Serialize)]
pub struct Robustness {
    /// The card's policies under each truth, the scenario first.
    pub deployed_under: Vec<DeployedRow>,
    /// The minimax-regret choice.
    pub robust: RobustChoice,
}

/// Evaluates the candidates on every truth, picks the minimax-regret one and tabulates the card's policies.
/// `truths[0]` must be the scenario itself.
pub fn robustness(
    truths: &[Truth],
    rivals: &[Candidate],
    per_action: usize,
    static_rules: usize,
    limits: &Limits,
) -> Result<Robustness> {
    struct Built {
        model: Model,
        best: f64,
        vod: Candidate,
        vod_static: Candidate,
    }
    let built: Vec<Built> = truths
        .par_iter()
        .map(|t| -> Result<Built> {
            let model = Model::new(&t.scenario)?;
            let vod = optimize::best(&model, &Limits::default(), false)?.plan;
            let vs = optimize::best(&model, &Limits::default(), true)?.plan;
            let best = model.evaluate(&vod).metrics.expected_utility;
            let shift = model.shift;
            Ok(Built {
                vod: Candidate {
                    name: format!("value-of-deferring under: {}", t.name),
                    plan: vod,
                    shift,
                },
                vod_static: Candidate {
                    name: format!("value-of-deferring-static under: {}", t.name),
                    plan: vs,
                    shift,
                },
                model,
                best,
            })
        })
        .collect::<Result<_>>()?;
    let mut cands: Vec<Candidate> = rivals.to_vec();
    for b in &built[1..] {
        cands.push(b.vod.clone());
        cands.push(b.vod_static.clone());
    }
    // With risk limits, only policies that meet them as the scenario states it are candidates.
    if !limits.is_empty() {
        let a = &built[0].model;
        cands.retain(|c| {
            let p = a.carried_from_shift(&c.plan, c.shift);
            super::risk::meets(a, &p, limits)
        });
    }
    let outcome = |c: &Candidate, b: &Built| -> Outcome {
        let p = b.model.carried_from_shift(&c.plan, c.shift);
        let e = b.model.evaluate(&p).metrics;
        Outcome {
            expected_utility: e.expected_utility,
            regret: (b.best - e.expected_utility).max(0.0),
            ask_rate: e.ask_rate,
            harm_rate: e.harm_rate,
            harm_loss: e.harm_loss,
        }
    };
    let table: Vec<Vec<Outcome>> = cands
        .par_iter()
        .map(|c| built.iter().map(|b| outcome(c, b)).collect())
        .collect();
    let worst: Vec<f64> = table
        .iter()
        .map(|row| row.iter().map(|o| o.regret).fold(0.0f64, f64::max))
        .collect();
    let r = worst
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(b.1))
        .map_or(0, |x| x.0);
    // The card's own policies, found among the candidates (they meet the limits by construction).
    let index_of = |name: &str| cands.iter().position(|c| c.name == name);
    let (per_action, static_rules) = (
        index_of(&rivals[per_action].name).unwrap_or(r),
        index_of(&rivals[static_rules].name).unwrap_or(r),
    );
    // The robust plan, expressed in the scenario's own frame.
    let robust_plan = built[0]
        .model
        .carried_from_shift(&cands[r].plan, cands[r].shift);
    let deployed_under = built
        .iter()
        .enumerate()
        .map(|(j, b)| DeployedRow {
            truth: truths[j].name.clone(),
            best: b.best,
            per_action: table[per_action][j],
            static_rules: table[static_rules][j],
            robust: table[r][j],
        })
        .collect();
    Ok(Robustness {
        deployed_under,
        robust: RobustChoice {
            name: cands[r].name.clone(),
            worst_regret: worst[r],
            candidates: cands
                .iter()
                .zip(&worst)
                .map(|(c, w)| (c.name.clone(), *w))
                .collect(),
            set: truths.iter().map(|t| t.name.clone()).collect(),
            plan: robust_plan,
        },
    })
}

/// Whether a move appears in any class of a plan.
pub fn uses(plan: &Plan, mv: Move) -> bool {
    plan.0.iter().any(|p| p.0.iter().any(|x| x.2 == mv))
}
