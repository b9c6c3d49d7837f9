//! Risk, not only expectation: the distribution of the loss per action under a plan.
//!
//! The loss of an action is minus its payoff (asking, blocking and hand-over costs included): −U_eff when it
//! goes through, c (+ d when refused) for an ask, b for a block, h − U⁺ for a hand-over. Given the class and the
//! move, the loss depends only on U (and the reviewer's answer), and U given the agent's confidence q is the
//! prior conditioned on the action's sign, good with probability q. So every expectation of a function of the
//! loss is exact: per class and move, two quadratures over the utility prior (good and bad actions), weighted
//! by E[q·1{q ∈ I}] and E[(1 − q)·1{q ∈ I}] over the plan's confidence intervals.
//!
//! - P(loss > L): the probability that one action loses more than L (a *catastrophe* for the scenario);
//! - the expected catastrophe loss E[loss·1{loss > L}] and the severity-weighted irreversible harm;
//! - CVaR_α: the mean loss of the worst (1 − α) of actions, by Rockafellar & Uryasev (2000): CVaR =
//!   VaR + E[(loss − VaR)⁺]/(1 − α), with VaR_α = inf{v: P(loss > v) ≤ 1 − α} found by bisection (exact at
//!   the atoms that costs put in the loss distribution).

use serde::Serialize;

use super::model::{
    ClassModel, Line, Metrics, Model, Move, Partition, Plan, payoff_breaks, per_move,
};
use super::optimize::Limits;
use crate::human::ResponseModel;

/// E[G(U)·1{U good / bad}] / P(good / bad) for the class, where G is the expectation of `g(payoff)` given U
/// under move `m`: the conditional expectations of g(payoff) for a good and for a bad action.
fn conditional(
    c: &ClassModel,
    m: Move,
    g: &dyn Fn(f64) -> f64,
    extra_breaks: &[f64],
) -> (f64, f64) {
    let undo = c.undo_cost.unwrap_or(f64::INFINITY);
    let eff = |u: f64| if u < -undo { -undo } else { u };
    let k = c.costs;
    let kernel = |u: f64| -> f64 {
        match m {
            Move::Act => g(eff(u)),
            Move::Ask => {
                let p = c.human.p_allow(eff(u));
                p * g(eff(u) - k.ask) + (1.0 - p) * g(-k.decline - k.ask)
            }
            Move::Block => g(-k.block),
            Move::HandOver => {
                if u >= 0.0 {
                    g(u - k.handover)
                } else {
                    g(-k.handover)
                }
            }
        }
    };
    let mut breaks = payoff_breaks(&c.human, undo);
    breaks.extend_from_slice(extra_breaks);
    let pg = c.stakes.p_good;
    let good = if pg > 0.0 {
        c.utility
            .expect(&|u| if u >= 0.0 { kernel(u) } else { 0.0 }, &breaks, 0.0)
            / pg
    } else {
        0.0
    };
    let bad = if pg < 1.0 {
        c.utility
            .expect(&|u| if u < 0.0 { kernel(u) } else { 0.0 }, &breaks, 0.0)
            / (1.0 - pg)
    } else {
        0.0
    };
    (good, bad)
}

/// The break points of a function of the loss with a kink or jump at loss = v, mapped back to U.
fn loss_breaks(c: &ClassModel, v: f64) -> Vec<f64> {
    vec![-v, c.costs.ask - v, c.costs.handover - v]
}

/// E[g(loss)] per action of class `c` under partition `p`.
pub fn class_expect(c: &ClassModel, p: &Partition, g: &dyn Fn(f64) -> f64, breaks: &[f64]) -> f64 {
    let mut cache: Vec<(Move, (f64, f64))> = Vec::new();
    let mut total = 0.0;
    for &(lo, hi, m) in &p.0 {
        let (prob, eq) = c.q.mass(lo, hi);
        if prob <= 0.0 {
            continue;
        }
        let (eg, eb) = match cache.iter().find(|x| x.0 == m) {
            Some(x) => x.1,
            None => {
                let v = conditional(c, m, &|x| g(-x), breaks);
                cache.push((m, v));
                v
            }
        };
        total += eq * eg + (prob - eq) * eb;
    }
    total
}

/// P(loss > L | q) for each move, as lines in q: per action, the chance of a catastrophe.
pub fn catastrophe_lines(c: &ClassModel, loss: f64) -> [Line; 4] {
    let b = loss_breaks(c, loss);
    per_move(|m| {
        let (g, bad) = conditional(c, m, &|x| (-x > loss) as u8 as f64, &b);
        Line::between(bad, g)
    })
}

/// A plan's P(loss > L) per class (per action of the class).
pub fn catastrophe_by_class(m: &Model, plan: &Plan, loss: f64) -> Vec<f64> {
    m.classes
        .iter()
        .zip(&plan.0)
        .map(|(c, p)| class_expect(c, p, &|x| (x > loss) as u8 as f64, &loss_breaks(c, loss)))
        .collect()
}

/// Whether a plan meets the limits (with the reviewer as it answers the plan).
pub fn meets(m: &Model, plan: &Plan, limits: &Limits) -> bool {
    let (mm, _) = m.answering(plan);
    if let Some(b) = limits.harms_per_1000
        && mm.metrics_as_is(plan).harm_rate > b / 1000.0 * (1.0 + 1e-9)
    {
        return false;
    }
    if let Some(eps) = limits.catastrophe_probability {
        return catastrophe_by_class(&mm, plan, limits.catastrophe_loss)
            .iter()
            .all(|p| *p <= eps * (1.0 + 1e-9) + 1e-15);
    }
    true
}

/// The risk figures of a plan, over the whole mix or one class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Risk {
    /// L: a loss above this is a catastrophe.
    pub catastrophe_loss: f64,
    /// P(loss > L) per action.
    pub p_catastrophe: f64,
    /// E[loss·1{loss > L}] per action: what catastrophes cost on average.
    pub catastrophe_loss_rate: f64,
    /// The severity-weighted irreversible harm per action (E[−U·1{bad irreversible action goes through}]).
    pub harm_loss: f64,
    /// α of the CVaR.
    pub cvar_level: f64,
    /// VaR_α: the loss exceeded by only (1 − α) of actions.
    pub value_at_risk: f64,
    /// CVaR_α: the mean loss of the worst (1 − α) of actions.
    pub cvar: f64,
}

/// The loss distribution of a mix of classes (weights, partitions).
struct Mix<'a> {
    parts: Vec<(f64, &'a ClassModel, &'a Partition)>,
}

impl Mix<'_> {
    fn expect(&self, g: &dyn Fn(f64) -> f64, v: f64) -> f64 {
        self.parts
            .iter()
            .map(|(w, c, p)| w * class_expect(c, p, g, &loss_breaks(c, v)))
            .sum()
    }
    /// A range that holds every loss but a negligible tail: [−max gain, max loss].
    fn range(&self) -> (f64, f64) {
        let mut lo = 0.0f64;
        let mut hi = 0.0f64;
        for (_, c, _) in &self.parts {
            let u = &c.utility;
            let spread = u.mean().abs() + 40.0 * u.sd();
            let k = c.costs;
            let costs = k.ask + k.decline + k.handover + k.block;
            lo = lo.min(-spread - costs);
            hi = hi.max(spread + costs);
        }
        (lo - 1.0, hi + 1.0)
    }
    /// The losses the mix puts point mass on: an undone mistake (the undo cost), an ask (its cost plus an undone
    /// mistake, or plus the cost of a refusal), a block, a hand-over of a bad action — ascending, each once.
    fn atoms(&self) -> Vec<f64> {
        let mut out = Vec::new();
        for (w, c, p) in &self.parts {
            if *w <= 0.0 {
                continue;
            }
            let k = c.costs;
            let undo = c.undo_cost.filter(|u| u.is_finite());
            for &(lo, hi, m) in &p.0 {
                if c.q.mass(lo, hi).0 <= 0.0 {
                    continue;
                }
                match m {
                    Move::Act => out.extend(undo),
                    Move::Ask => {
                        out.extend(undo.map(|u| u + k.ask));
                        out.push(k.decline + k.ask);
                    }
                    Move::Block => out.push(k.block),
                    Move::HandOver => out.push(k.handover),
                }
            }
        }
        out.retain(|x| x.is_finite());
        out.sort_by(f64::total_cmp);
        out.dedup();
        out
    }
    fn risk(&self, metrics: &Metrics, loss: f64, alpha: f64) -> Risk {
        let exceed = |v: f64| self.expect(&|x| (x > v) as u8 as f64, v);
        let p_cat = exceed(loss);
        let (mut lo, mut hi) = self.range();
        let tol = |lo: f64, hi: f64| 1e-10 * hi.abs().max(lo.abs()).max(1e-12);
        // VaR: the smallest v with P(loss > v) ≤ 1 − α. P(loss > v) falls as v grows, and most often the VaR is
        // one of the loss's atoms (an undo or ask cost): the atoms bracket it first, and when it is an atom (the
        // mass above falls past 1 − α only at it) that is the answer, which bisection would only approach.
        let mut at_atom = false;
        for a in self.atoms() {
            if a <= lo || a >= hi {
                continue;
            }
            if exceed(a) > 1.0 - alpha {
                lo = a;
            } else {
                hi = a;
                let below = a - tol(lo, a);
                if below > lo {
                    if exceed(below) > 1.0 - alpha {
                        at_atom = true;
                    } else {
                        hi = below;
                    }
                }
                break;
            }
        }
        for _ in 0..if at_atom { 0 } else { 80 } {
            let mid = 0.5 * (lo + hi);
            if exceed(mid) <= 1.0 - alpha {
                hi = mid;
            } else {
                lo = mid;
            }
            if hi - lo <= tol(lo, hi) {
                break;
            }
        }
        let var = hi;
        let over = self.expect(&|x| (x - var).max(0.0), var);
        Risk {
            catastrophe_loss: loss,
            p_catastrophe: p_cat,
            catastrophe_loss_rate: self.expect(&|x| if x > loss { x } else { 0.0 }, loss),
            harm_loss: metrics.harm_loss,
            cvar_level: alpha,
            value_at_risk: var,
            cvar: var + over / (1.0 - alpha),
        }
    }
}

/// A plan's risk over the whole mix (the reviewer as it answers the plan).
pub fn plan_risk(m: &Model, plan: &Plan, loss: f64, alpha: f64) -> Risk {
    let (mm, _) = m.answering(plan);
    let metrics = mm.metrics_as_is(plan);
    let mix = Mix {
        parts: mm
            .classes
            .iter()
            .zip(&plan.0)
            .map(|(c, p)| (c.share, c, p))
            .collect(),
    };
    mix.risk(&metrics, loss, alpha)
}

/// One class's risk under its partition (per action of the class).
pub fn class_risk(c: &ClassModel, p: &Partition, loss: f64, alpha: f64) -> Risk {
    let metrics = super::model::class_metrics(c, p);
    Mix {
        parts: vec![(1.0, c, p)],
    }
    .risk(&metrics, loss, alpha)
}
