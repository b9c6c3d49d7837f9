//! The best plan: the value-of-deferring policy, under reviewer fatigue and risk constraints.
//!
//! Without fatigue or constraints the best plan is the upper envelope of the moves' payoff lines in every class
//! ([`super::model::ClassModel::envelope`]). Two things break that:
//!
//! - **Fatigue.** The reviewer's catch rate depends on the plan's own ask rate a. For a fixed a, the best plan
//!   with that ask rate answered by the reviewer at catch(a) is the envelope with a price λ on asking (the ask
//!   rate is linear in the plan, so a Lagrange multiplier reaches every a a deterministic plan can); the search
//!   runs over a on a grid refined by golden sections, λ found by bisection for each a, and every candidate is
//!   scored honestly — with the reviewer at the candidate's own ask rate.
//! - **Constraints** (a budget of irreversible harms per 1,000 actions; P(loss > L) ≤ ε per class): they are
//!   linear in the plan as well, so the constrained optimum is the envelope of penalized lines, with the
//!   multipliers found by bisection — one per class for its catastrophe limit (inside), one for the harm budget
//!   (outside). The bisections stop on the feasible side, so the plan returned always meets the constraints
//!   (a class without confidence information may then be stricter than a randomized optimum would be).
//!   With fatigue *and* limits the search is lighter: the reviewer's fixed point (the best plan for the
//!   reviewer at the previous plan's ask rate, iterated), then a few ask prices around it.

use serde::Serialize;

use super::model::{Line, Model, Move, Partition, Plan, envelope, penalized, per_move};
use super::risk;
use crate::error::{Error, Result};

/// A penalty on asking: λ per ask.
fn ask_penalty(lambda: f64) -> (f64, [Line; 4]) {
    (
        lambda,
        per_move(|m| Line {
            a: (m == Move::Ask) as u8 as f64,
            b: 0.0,
        }),
    )
}

/// The risk limits a plan must meet.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Limits {
    /// At most this many bad irreversible actions per 1,000 actions.
    pub harms_per_1000: Option<f64>,
    /// In every class, P(loss > L) ≤ ε per action.
    pub catastrophe_probability: Option<f64>,
    /// L.
    pub catastrophe_loss: f64,
}

impl Limits {
    /// Whether no constraint is set.
    pub fn is_empty(&self) -> bool {
        self.harms_per_1000.is_none() && self.catastrophe_probability.is_none()
    }
}

/// The per-class lines a constraint adds: harm (irreversible bad actions through) and P(loss > L).
struct ClassPenalties {
    harm: [Line; 4],
    catastrophe: [Line; 4],
}

fn class_penalties(m: &Model, loss: f64) -> Vec<ClassPenalties> {
    m.classes
        .iter()
        .map(|c| ClassPenalties {
            harm: per_move(|mv| c.harm_lines(mv).0),
            catastrophe: risk::catastrophe_lines(c, loss),
        })
        .collect()
}

/// The value of a per-class line table under a partition: E over the class's q of the line of the move chosen.
fn class_rate(c: &super::model::ClassModel, p: &Partition, lines: &[Line; 4]) -> f64 {
    p.0.iter()
        .map(|&(lo, hi, mv)| {
            let (prob, eq) = c.q.mass(lo, hi);
            let l = lines[Move::ALL.iter().position(|x| *x == mv).expect("a move")];
            l.a * prob + l.b * eq
        })
        .sum()
}

/// Bisection for the smallest multiplier w ≥ 0 with `rate(w) ≤ limit` (rate non-increasing in w): returns
/// (w, its value), on the feasible side; `None` if even a huge multiplier does not meet the limit.
fn smallest_multiplier<T>(limit: f64, scale: f64, f: impl Fn(f64) -> (f64, T)) -> Option<(f64, T)> {
    let tol = 1e-12 * limit.abs().max(1e-300);
    let zero = f(0.0);
    if zero.0 <= limit + tol {
        return Some((0.0, zero.1));
    }
    let mut hi = scale.max(1e-300);
    let mut at_hi = f(hi);
    let mut tries = 0;
    while at_hi.0 > limit + tol {
        hi *= 10.0;
        at_hi = f(hi);
        tries += 1;
        if tries > 40 {
            return None;
        }
    }
    let mut lo = 0.0;
    for _ in 0..100 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        let x = f(mid);
        if x.0 <= limit + tol {
            hi = mid;
            at_hi = x;
        } else {
            lo = mid;
        }
        if hi - lo <= 1e-10 * hi {
            break;
        }
    }
    Some((hi, at_hi.1))
}

/// How a constrained plan was found: the multipliers (utility per unit of each constraint at the optimum).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Multipliers {
    /// Per irreversible harm per action.
    pub harm: f64,
    /// Per unit of P(loss > L), class by class (per action of the class).
    pub catastrophe: Vec<f64>,
}

/// The best move per class from penalized lines: the envelope over q, or (static) the best single move at the
/// class's mean confidence (the lines' expectation over q is the line at the mean).
fn choose(c: &super::model::ClassModel, lines: &[(Move, Line); 4], static_only: bool) -> Partition {
    if static_only {
        let q = c.q.mean();
        let best = lines
            .iter()
            .map(|x| x.1.at(q))
            .fold(f64::NEG_INFINITY, f64::max);
        let m = lines
            .iter()
            .find(|x| super::model::ties(best, x.1.at(q)))
            .map_or(Move::Act, |x| x.0);
        Partition::constant(m)
    } else {
        envelope(lines)
    }
}

/// The best plan for the model's classes as they are (no fatigue), with an ask price, subject to limits.
fn best_fixed(
    m: &Model,
    ask_price: f64,
    limits: &Limits,
    static_only: bool,
) -> Result<(Plan, Multipliers)> {
    let scale = m
        .classes
        .iter()
        .map(|c| c.scale())
        .fold(1e-300f64, f64::max);
    if limits.is_empty() {
        let plan = Plan(
            m.classes
                .iter()
                .map(|c| {
                    choose(
                        c,
                        &penalized(&c.lines, &[ask_penalty(ask_price)]),
                        static_only,
                    )
                })
                .collect(),
        );
        return Ok((
            plan,
            Multipliers {
                harm: 0.0,
                catastrophe: vec![0.0; m.classes.len()],
            },
        ));
    }
    let pens = class_penalties(m, limits.catastrophe_loss);
    // One class given the harm multiplier: the smallest catastrophe multiplier meeting its limit.
    let class_plan = |k: usize, harm_w: f64| -> Result<(Partition, f64)> {
        let c = &m.classes[k];
        let base = [ask_penalty(ask_price), (harm_w, pens[k].harm)];
        let part = |cat_w: f64| {
            let mut p = base.to_vec();
            p.push((cat_w, pens[k].catastrophe));
            let arr: [(f64, [Line; 4]); 3] = [p[0], p[1], p[2]];
            choose(c, &penalized(&c.lines, &arr), static_only)
        };
        match limits.catastrophe_probability {
            None => Ok((part(0.0), 0.0)),
            Some(eps) => {
                let r = smallest_multiplier(eps, c.scale() * 1e3, |w| {
                    let p = part(w);
                    (class_rate(c, &p, &pens[k].catastrophe), p)
                });
                match r {
                    Some((w, p)) => Ok((p, w)),
                    None => {
                        let least = Move::ALL
                            .iter()
                            .map(|mv| {
                                class_rate(c, &Partition::constant(*mv), &pens[k].catastrophe)
                            })
                            .fold(f64::INFINITY, f64::min);
                        Err(Error::invalid(
                            "risk.max_catastrophe_probability",
                            format!(
                                "class {} cannot keep P(loss > {}) ≤ {eps}: no move gets it below {least:.3e} (a block or hand-over cost above the loss threshold counts as a loss too)",
                                c.name, limits.catastrophe_loss
                            ),
                        ))
                    }
                }
            }
        }
    };
    let plan_at = |harm_w: f64| -> Result<(Plan, Vec<f64>)> {
        let mut parts = Vec::with_capacity(m.classes.len());
        let mut ws = Vec::with_capacity(m.classes.len());
        for k in 0..m.classes.len() {
            let (p, w) = class_plan(k, harm_w)?;
            parts.push(p);
            ws.push(w);
        }
        Ok((Plan(parts), ws))
    };
    match limits.harms_per_1000 {
        None => {
            let (plan, ws) = plan_at(0.0)?;
            Ok((
                plan,
                Multipliers {
                    harm: 0.0,
                    catastrophe: ws,
                },
            ))
        }
        Some(budget) => {
            let limit = budget / 1000.0;
            let harm = |p: &Plan| -> f64 {
                m.classes
                    .iter()
                    .zip(&p.0)
                    .zip(&pens)
                    .map(|((c, part), pen)| c.share * class_rate(c, part, &pen.harm))
                    .sum()
            };
            // Errors inside the search (a class's catastrophe limit unreachable) surface before it.
            plan_at(0.0)?;
            let found = smallest_multiplier(limit, scale * 1e3, |w| match plan_at(w) {
                Ok((p, ws)) => (harm(&p), Some((p, ws))),
                Err(_) => (f64::INFINITY, None),
            });
            match found {
                Some((w, Some((plan, ws)))) => Ok((
                    plan,
                    Multipliers {
                        harm: w,
                        catastrophe: ws,
                    },
                )),
                _ => Err(Error::invalid(
                    "risk.harm_budget_per_1000",
                    format!(
                        "no plan keeps the irreversible harms at or below {budget} per 1,000 actions (blocking or handing over every irreversible action would)"
                    ),
                )),
            }
        }
    }
}

/// The multipliers of a plan found by [`best`] with limits (recomputed for the reviewer as it answers the plan).
pub fn multipliers(m: &Model, plan: &Plan, limits: &Limits) -> Result<Multipliers> {
    let (fixed, _) = m.answering(plan);
    Ok(best_fixed(&fixed, 0.0, limits, false)?.1)
}

/// The best plan found, its figures and how it was found.
#[derive(Debug, Clone)]
pub struct Best {
    /// The plan.
    pub plan: Plan,
    /// The multipliers at the optimum (utility per unit of each constraint).
    pub multipliers: Multipliers,
    /// The ask price the search settled on (0 without fatigue).
    pub ask_price: f64,
}

/// The best plan subject to `limits`: exact without fatigue (the envelope of penalized lines); under fatigue,
/// the best of a search over the ask rate, every candidate scored with the reviewer at its own ask rate.
/// `static_only`: one move per class (what static permission rules can express).
pub fn best(m: &Model, limits: &Limits, static_only: bool) -> Result<Best> {
    let (plan, mult) = best_fixed(m, 0.0, limits, static_only)?;
    if m.reviewer.fatigue.is_none() {
        return Ok(Best {
            plan,
            multipliers: mult,
            ask_price: 0.0,
        });
    }
    let feasible = |p: &Plan| -> bool { limits.is_empty() || risk::meets(m, p, limits) };
    let score = |p: &Plan| m.evaluate(p).metrics.expected_utility;
    let mut best = Best {
        plan,
        multipliers: mult,
        ask_price: 0.0,
    };
    let mut best_u = if feasible(&best.plan) {
        score(&best.plan)
    } else {
        f64::NEG_INFINITY
    };
    let scale = m
        .classes
        .iter()
        .map(|c| c.scale())
        .fold(1e-300f64, f64::max);
    if !limits.is_empty() {
        // With limits every plan costs nested bisections: iterate to the reviewer's fixed point instead (the
        // plan best for the reviewer at the last plan's ask rate), then try ask prices around it.
        let mut plan = best.plan.clone();
        let mut seen: Vec<f64> = Vec::new();
        for _ in 0..12 {
            let a = m.ask_rate(&plan);
            if seen.iter().any(|x| (x - a).abs() <= 1e-12) {
                break;
            }
            seen.push(a);
            let fixed = m.with_human(&m.reviewer.at(a));
            let (p, w) = best_fixed(&fixed, 0.0, limits, static_only)?;
            if feasible(&p) {
                let u = score(&p);
                if u > best_u {
                    best_u = u;
                    best = Best {
                        plan: p.clone(),
                        multipliers: w,
                        ask_price: 0.0,
                    };
                }
            }
            plan = p;
        }
        let a = m.ask_rate(&best.plan);
        let fixed = m.with_human(&m.reviewer.at(a));
        let c = m
            .classes
            .iter()
            .map(|k| k.costs.ask)
            .fold(0.0f64, f64::max)
            .max(1e-3 * scale);
        for f in [-1.0, -0.5, -0.25, 0.25, 0.5, 1.0, 2.0, 4.0] {
            let lambda = f * c;
            if let Ok((p, w)) = best_fixed(&fixed, lambda, limits, static_only)
                && feasible(&p)
            {
                let u = score(&p);
                if u > best_u {
                    best_u = u;
                    best = Best {
                        plan: p,
                        multipliers: w,
                        ask_price: lambda,
                    };
                }
            }
        }
        if best_u == f64::NEG_INFINITY {
            return Err(Error::invalid(
                "risk",
                "no plan found that meets the risk limits with the reviewer's fatigue",
            ));
        }
        return Ok(best);
    }
    // For a target ask rate a: the reviewer at catch(a), and the ask price that makes the plan ask about a.
    let at_rate = |a: f64| -> Option<(Plan, Multipliers, f64)> {
        let fixed = m.with_human(&m.reviewer.at(a));
        let plan_for = |lambda: f64| best_fixed(&fixed, lambda, limits, static_only).ok();
        let (mut lo, mut hi) = (-10.0 * scale, 10.0 * scale);
        let mut pick = plan_for(0.0)?;
        let mut pick_lambda = 0.0;
        for _ in 0..50 {
            let mid = 0.5 * (lo + hi);
            let (p, w) = plan_for(mid)?;
            let r = m.ask_rate(&p);
            if (r - a).abs() < (m.ask_rate(&pick.0) - a).abs() {
                pick = (p, w);
                pick_lambda = mid;
            }
            if r > a {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo <= 1e-12 * scale {
                break;
            }
        }
        Some((pick.0, pick.1, pick_lambda))
    };
    let consider = |a: f64, best: &mut Best, best_u: &mut f64| -> f64 {
        match at_rate(a) {
            Some((p, w, lambda)) if feasible(&p) => {
                let u = score(&p);
                if u > *best_u {
                    *best_u = u;
                    *best = Best {
                        plan: p,
                        multipliers: w,
                        ask_price: lambda,
                    };
                }
                u
            }
            _ => f64::NEG_INFINITY,
        }
    };
    let grid: Vec<f64> = (0..=32).map(|i| (i as f64 / 32.0).powi(2)).collect();
    let vals: Vec<f64> = grid
        .iter()
        .map(|&a| consider(a, &mut best, &mut best_u))
        .collect();
    let i = vals
        .iter()
        .enumerate()
        .max_by(|x, y| x.1.total_cmp(y.1))
        .map_or(0, |x| x.0);
    // Golden sections on the best grid interval.
    let (mut lo, mut hi) = (grid[i.saturating_sub(1)], grid[(i + 1).min(grid.len() - 1)]);
    let g = 0.5 * (5f64.sqrt() - 1.0);
    for _ in 0..20 {
        let x1 = hi - g * (hi - lo);
        let x2 = lo + g * (hi - lo);
        let (f1, f2) = (
            consider(x1, &mut best, &mut best_u),
            consider(x2, &mut best, &mut best_u),
        );
        if f1 >= f2 {
            hi = x2;
        } else {
            lo = x1;
        }
    }
    if best_u == f64::NEG_INFINITY {
        return Err(Error::invalid(
            "risk",
            "no plan found that meets the risk limits with the reviewer's fatigue",
        ));
    }
    Ok(best)
}
