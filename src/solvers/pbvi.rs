//! Point-based value iteration (Pineau, Gordon & Thrun 2003) with a lower and an upper bound on the value.
//!
//! - **Beliefs**: every belief reachable from the initial one when there are at most `max_beliefs` (then the
//!   finite-horizon lower bound is exact); otherwise B starts at the initial belief and grows by stochastic
//!   simulation (for every belief and action one sampled successor; the successor farthest in L1 from B is
//!   added), seeded, up to `max_beliefs`.
//! - **Lower bound**: point-based backups of an alpha-vector set over B. Every vector is the value of a
//!   conditional plan (continued, in the discounted case, by the worst constant max_a min_s R(s, a)/(1 − γ)), so
//!   max_α α·b0 never exceeds the optimal value.
//! - **Upper bound**: the fast informed bound (Hauskrecht 2000) gives corner values; point values at B are
//!   lowered by Bellman backups of the sawtooth interpolation (the HSVI upper bound of Smith & Simmons 2004).
//!   Both operators are monotone and start above V*, so they stay above it.
//!
//! A finite-horizon model gets one lower set and one upper point set per stage; a discounted model without a
//! horizon is iterated until upper − lower at b0 ≤ `tolerance`, until both bounds stop moving on B (the gap then
//! needs more beliefs, not more backups), `max_iterations` or `max_seconds`.

#![allow(clippy::needless_range_loop)] // tabular loops index several arrays by the same state

use std::time::Instant;

use super::AlphaSet;
use crate::error::{Error, Result};
use crate::model::Tabular;
use crate::rng::job_rng;

/// Options of PBVI.
#[derive(Debug, Clone)]
pub struct PbviOptions {
    /// Belief points to expand to.
    pub max_beliefs: usize,
    /// Stop when the gap between the bounds at the initial belief is below it (discounted models).
    pub tolerance: f64,
    /// Most backup rounds.
    pub max_iterations: usize,
    /// Most wall-clock seconds.
    pub max_seconds: f64,
    /// The seed of the belief expansion.
    pub seed: u64,
}

impl Default for PbviOptions {
    /// `cirl solve --solver pbvi`'s: 200 beliefs, a bound gap of 1e-6 on discounted models, seed 0.
    fn default() -> Self {
        PbviOptions {
            max_beliefs: 200,
            tolerance: 1e-6,
            max_iterations: 10_000,
            max_seconds: 300.0,
            seed: 0,
        }
    }
}

/// What PBVI returns.
#[derive(Debug, Clone)]
pub struct PbviSolution {
    /// The lower-bound policy (first stage for a finite horizon).
    pub alphas: AlphaSet,
    /// Per-decision lower-bound sets, first decision first (one stationary set without a horizon).
    pub stages: Vec<AlphaSet>,
    /// The lower bound on the value at the initial belief (the policy's value).
    pub lower: f64,
    /// The upper bound (FIB + sawtooth).
    pub upper: f64,
    /// Belief points used.
    pub beliefs: usize,
    /// Backup rounds.
    pub iterations: usize,
}

/// An upper bound: corner values plus (belief, value) points, evaluated by sawtooth interpolation.
#[derive(Debug, Clone)]
struct Upper {
    corners: Vec<f64>,
    points: Vec<(Vec<f64>, f64)>,
}

impl Upper {
    fn value(&self, b: &[f64]) -> f64 {
        let base: f64 = b.iter().zip(&self.corners).map(|(p, c)| p * c).sum();
        let mut best = base;
        for (bi, vi) in &self.points {
            let bi_base: f64 = bi.iter().zip(&self.corners).map(|(p, c)| p * c).sum();
            let mut phi = f64::INFINITY;
            for (x, y) in b.iter().zip(bi) {
                if *y > 0.0 {
                    phi = phi.min(x / y);
                }
            }
            if phi.is_finite() {
                best = best.min(base + phi * (vi - bi_base));
            }
        }
        best
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// P(o | b, a) and the successor belief for every observation.
fn successors(m: &Tabular, b: &[f64], a: usize) -> Vec<(f64, Option<Vec<f64>>)> {
    let (ns, no) = (m.n_states(), m.n_observations());
    let mut pred = vec![0.0; ns];
    for s in 0..ns {
        if b[s] > 0.0 {
            for sp in 0..ns {
                pred[sp] += b[s] * m.t[a][s][sp];
            }
        }
    }
    (0..no)
        .map(|o| {
            let nb: Vec<f64> = (0..ns).map(|sp| pred[sp] * m.o[a][sp][o]).collect();
            let p: f64 = nb.iter().sum();
            if p > 0.0 {
                (p, Some(nb.into_iter().map(|x| x / p).collect()))
            } else {
                (0.0, None)
            }
        })
        .collect()
}

/// Every belief reachable from b0 (breadth first, within the horizon, duplicates within 1e-9 in L1 merged), if
/// there are at most `max_beliefs` of them.
fn reachable_beliefs(m: &Tabular, max_beliefs: usize) -> Option<Vec<Vec<f64>>> {
    let l1 = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>();
    let mut set = vec![m.initial.clone()];
    let mut layer = vec![m.initial.clone()];
    let mut depth = 0;
    while !layer.is_empty() {
        depth += 1;
        if m.horizon.is_some_and(|h| depth >= h) {
            break;
        }
        let mut next = Vec::new();
        for b in &layer {
            for a in 0..m.n_actions() {
                for (_, nb) in successors(m, b, a) {
                    let Some(nb) = nb else { continue };
                    if set.iter().any(|x| l1(x, &nb) <= 1e-9) {
                        continue;
                    }
                    if set.len() >= max_beliefs {
                        return None;
                    }
                    set.push(nb.clone());
                    next.push(nb);
                }
            }
        }
        layer = next;
    }
    Some(set)
}

/// The belief set: every reachable belief if there are at most `max_beliefs` (PBVI is then exact on a finite
/// horizon); otherwise b0 and simulated successors, farthest-first (Pineau et al.'s stochastic expansion).
pub fn expand_beliefs(m: &Tabular, max_beliefs: usize, seed: u64) -> Vec<Vec<f64>> {
    if let Some(all) = reachable_beliefs(m, max_beliefs) {
        return all;
    }
    let mut rng = job_rng(seed, 0);
    let mut set = vec![m.initial.clone()];
    let l1 = |x: &[f64], y: &[f64]| x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>();
    loop {
        let before = set.len();
        let frontier = set.clone();
        for b in &frontier {
            if set.len() >= max_beliefs {
                break;
            }
            let mut best: Option<(f64, Vec<f64>)> = None;
            for a in 0..m.n_actions() {
                let s = crate::rng::categorical(b, &mut rng);
                let sp = crate::rng::categorical(&m.t[a][s], &mut rng);
                let o = crate::rng::categorical(&m.o[a][sp], &mut rng);
                if let Some(nb) = m.update(b, a, o) {
                    let d = set.iter().map(|x| l1(x, &nb)).fold(f64::INFINITY, f64::min);
                    if d > 1e-9 && best.as_ref().is_none_or(|(bd, _)| d > *bd) {
                        best = Some((d, nb));
                    }
                }
            }
            if let Some((_, nb)) = best {
                set.push(nb);
            }
        }
        if set.len() == before || set.len() >= max_beliefs {
            return set;
        }
    }
}

/// One point-based backup of `next` at every belief of B. With `keep_better` (the stationary case) a belief keeps
/// its previous vector when the backup is worse there: that vector is still the value of a plan, so the set stays
/// a lower bound, and the values on B rise monotonically (plain PBVI can cycle — hallway with two beliefs does).
fn backup_lower(m: &Tabular, next: &AlphaSet, beliefs: &[Vec<f64>], keep_better: bool) -> AlphaSet {
    let (ns, na, no) = (m.n_states(), m.n_actions(), m.n_observations());
    // g[a][o][i](s) = Σ_{s'} T(s'|s,a)·O(o|s',a)·α_i(s').
    let g: Vec<Vec<Vec<Vec<f64>>>> = (0..na)
        .map(|a| {
            (0..no)
                .map(|o| {
                    next.vectors
                        .iter()
                        .map(|alpha| {
                            (0..ns)
                                .map(|s| {
                                    (0..ns)
                                        .map(|sp| m.t[a][s][sp] * m.o[a][sp][o] * alpha[sp])
                                        .sum()
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut out = AlphaSet {
        vectors: vec![],
        actions: vec![],
    };
    for b in beliefs {
        let mut best: Option<(f64, Vec<f64>, usize)> = None;
        for a in 0..na {
            let mut alpha = m.r[a].clone();
            for o in 0..no {
                let gi = g[a][o]
                    .iter()
                    .max_by(|x, y| dot(x, b).total_cmp(&dot(y, b)))
                    .expect("a non-empty set");
                for s in 0..ns {
                    alpha[s] += m.discount * gi[s];
                }
            }
            let v = dot(&alpha, b);
            if best.as_ref().is_none_or(|(bv, _, _)| v > *bv) {
                best = Some((v, alpha, a));
            }
        }
        let best = match (best, keep_better) {
            (Some((v, alpha, a)), true) => {
                let (kept, i) = next.best(b);
                Some(if kept > v {
                    (kept, next.vectors[i].clone(), next.actions[i])
                } else {
                    (v, alpha, a)
                })
            }
            (other, _) => other,
        };
        if let Some((_, alpha, a)) = best
            && !out.vectors.contains(&alpha)
        {
            out.vectors.push(alpha);
            out.actions.push(a);
        }
    }
    out
}

/// One FIB backup of per-action upper Q vectors.
fn fib_backup(m: &Tabular, q: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (ns, na, no) = (m.n_states(), m.n_actions(), m.n_observations());
    (0..na)
        .map(|a| {
            (0..ns)
                .map(|s| {
                    let mut x = m.r[a][s];
                    for o in 0..no {
                        let best = (0..na)
                            .map(|a2| {
                                (0..ns)
                                    .map(|sp| m.t[a][s][sp] * m.o[a][sp][o] * q[a2][sp])
                                    .sum::<f64>()
                            })
                            .fold(f64::NEG_INFINITY, f64::max);
                        x += m.discount * best;
                    }
                    x
                })
                .collect()
        })
        .collect()
}

fn corners(q: &[Vec<f64>]) -> Vec<f64> {
    (0..q[0].len())
        .map(|s| q.iter().map(|qa| qa[s]).fold(f64::NEG_INFINITY, f64::max))
        .collect()
}

/// Bellman backup of the sawtooth upper bound at b.
fn upper_at(m: &Tabular, next: &Upper, b: &[f64]) -> f64 {
    (0..m.n_actions())
        .map(|a| {
            let r = dot(&m.r[a], b);
            let future: f64 = successors(m, b, a)
                .into_iter()
                .filter_map(|(p, nb)| nb.map(|nb| p * next.value(&nb)))
                .sum();
            r + m.discount * future
        })
        .fold(f64::NEG_INFINITY, f64::max)
}

/// Lowers the corner values of `upper` by Bellman backups of `prev` at the corner beliefs of the `reach`
/// states (a valid upper bound at a corner stays valid in the sawtooth, which only needs every point and corner
/// value to be above V* there).
fn lower_corners(m: &Tabular, prev: &Upper, upper: &mut Upper, reach: &[usize]) {
    let ns = m.n_states();
    for &s in reach {
        let mut e = vec![0.0; ns];
        e[s] = 1.0;
        let v = upper_at(m, prev, &e);
        if v < upper.corners[s] {
            upper.corners[s] = v;
        }
    }
}

/// Solves a model with PBVI and returns lower and upper bounds on the value at the initial belief.
pub fn solve(m: &Tabular, opts: &PbviOptions) -> Result<PbviSolution> {
    m.check()?;
    let start = Instant::now();
    let ns = m.n_states();
    let beliefs = expand_beliefs(m, opts.max_beliefs.max(1), opts.seed);
    // Corners worth backing up: the states the model can ever reach.
    let reach = super::exact::reachable_supports(m, 0)
        .pop()
        .unwrap_or_default();
    match m.horizon {
        Some(h) => {
            let mut lower = AlphaSet {
                vectors: vec![vec![0.0; ns]],
                actions: vec![0],
            };
            let mut q = vec![vec![0.0; ns]; m.n_actions()];
            let mut upper = Upper {
                corners: vec![0.0; ns],
                points: vec![],
            };
            let mut stages = Vec::with_capacity(h);
            for _ in 0..h {
                lower = backup_lower(m, &lower, &beliefs, false);
                stages.push(lower.clone());
                q = fib_backup(m, &q);
                let c = corners(&q);
                let points = beliefs
                    .iter()
                    .map(|b| {
                        let fib = dot(&c, b);
                        (b.clone(), upper_at(m, &upper, b).min(fib))
                    })
                    .collect();
                let mut next = Upper { corners: c, points };
                lower_corners(m, &upper, &mut next, &reach);
                upper = next;
                if start.elapsed().as_secs_f64() > opts.max_seconds {
                    return Err(Error::invalid(
                        "max_seconds",
                        format!("PBVI exceeded {} s", opts.max_seconds),
                    ));
                }
            }
            let (lo, up) = (lower.value(&m.initial), upper.value(&m.initial));
            stages.reverse();
            if stages.is_empty() {
                stages.push(lower.clone());
            }
            Ok(PbviSolution {
                stages,
                alphas: lower,
                lower: lo,
                upper: up.max(lo),
                beliefs: beliefs.len(),
                iterations: h,
            })
        }
        None => {
            if m.discount >= 1.0 {
                return Err(Error::invalid(
                    "horizon",
                    "an undiscounted model needs a horizon",
                ));
            }
            let rmax = m.max_abs_reward();
            let worst = (0..m.n_actions())
                .map(|a| m.r[a].iter().cloned().fold(f64::INFINITY, f64::min))
                .fold(f64::NEG_INFINITY, f64::max)
                / (1.0 - m.discount);
            let mut lower = AlphaSet {
                vectors: vec![vec![worst; ns]],
                actions: vec![0],
            };
            // FIB from the trivial upper bound max|R|/(1 − γ), to convergence.
            let mut q = vec![vec![rmax / (1.0 - m.discount); ns]; m.n_actions()];
            for _ in 0..100_000 {
                let nq = fib_backup(m, &q);
                let change = nq
                    .iter()
                    .flatten()
                    .zip(q.iter().flatten())
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                q = nq;
                if change * m.discount / (1.0 - m.discount) < opts.tolerance * 1e-3 {
                    break;
                }
            }
            // FIB is monotone and its first step from the constant max|R|/(1 − γ) goes down, so every iterate is
            // above the FIB fixed point, which is above V*: the corners are an upper bound whenever we stop.
            let c = corners(&q);
            let mut upper = Upper {
                points: beliefs.iter().map(|b| (b.clone(), dot(&c, b))).collect(),
                corners: c,
            };
            let mut iterations = 0;
            let at_beliefs = |lower: &AlphaSet, upper: &Upper| -> Vec<f64> {
                beliefs
                    .iter()
                    .map(|b| lower.value(b))
                    .chain(upper.points.iter().map(|p| p.1))
                    .collect()
            };
            let mut before = at_beliefs(&lower, &upper);
            loop {
                lower = backup_lower(m, &lower, &beliefs, true);
                let values: Vec<f64> = beliefs.iter().map(|b| upper_at(m, &upper, b)).collect();
                for (p, v) in upper.points.iter_mut().zip(values) {
                    p.1 = p.1.min(v);
                }
                let prev = upper.clone();
                lower_corners(m, &prev, &mut upper, &reach);
                iterations += 1;
                let (lo, up) = (lower.value(&m.initial), upper.value(&m.initial));
                // Stalled: both bounds have stopped moving on B (what further backups can still change is at
                // most the last change times γ/(1 − γ)), so the gap cannot close without more beliefs.
                let now = at_beliefs(&lower, &upper);
                let change = now
                    .iter()
                    .zip(&before)
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0, f64::max);
                before = now;
                let stalled = change * m.discount / (1.0 - m.discount)
                    <= (opts.tolerance * 1e-3).max(1e-12 * rmax / (1.0 - m.discount));
                if up - lo <= opts.tolerance
                    || stalled
                    || iterations >= opts.max_iterations
                    || start.elapsed().as_secs_f64() > opts.max_seconds
                {
                    return Ok(PbviSolution {
                        stages: vec![lower.clone()],
                        alphas: lower,
                        lower: lo,
                        upper: up.max(lo),
                        beliefs: beliefs.len(),
                        iterations,
                    });
                }
            }
        }
    }
}
