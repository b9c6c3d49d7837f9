//! The generalized Bellman backup for CIRL (Malik et al., ICML 2018), and its state-factored form for a fixed human.
//!
//! The world state is observed, so the value function is a set of alpha vectors over θ for every state. Because
//! the human knows θ (and the robot's belief), the maximisation over the human's decision rule δ: Θ → A^H moves
//! inside the backup and is taken separately for every θ:
//!
//! α'(θ) = max_{a^H} Q_{a^H}(θ),   Q_{a^H}(θ) = R(s, a^H, a^R; θ) + γ·Σ_{s'} T(s'|s, a^H, a^R)·α_{a^H, s'}(θ)
//!
//! for each robot action a^R and each choice of next vector α_{a^H, s'} ∈ V(s') per observation (a^H, s'). For a
//! fixed a^H the candidates Q_{a^H} are a plain cross sum over s' (pruned incrementally); the pointwise max over
//! a^H of one candidate per a^H is then formed incrementally, pruning by pointwise dominance (which the max
//! preserves) and finally by Lark's LP filter. Pruning the per-a^H sets is exact: the best Q_{a^H} for the
//! θ's where a^H is chosen is the best vector of that set at the restricted belief, which pruning keeps. The
//! coordinator POMDP needs |A^R|·|A^H|^|Θ| actions for the same values; here the work grows with |A^H| sets.
//!
//! **Boltzmann variant** ([`Human::CoordinatedBoltzmann`]): the human is the robot's partner (knows θ and the
//! plan) but picks a^H with probability ∝ exp(Q_{a^H}(θ)/β), so α'(θ) = Σ_{a^H} π(a^H|θ)·Q_{a^H}(θ) (log-sum-exp
//! form). This expectation is not monotone in Q (∂α'/∂Q_h = π_h·(1 + (Q_h − α')/β) is negative for a poor
//! enough Q_h), so no set may be pruned, not even by pointwise dominance: a continuation that is worse for every
//! θ can be the better one, because it changes what the human's softmax favours (a 2-state, horizon-2 random
//! game in tests/cirl.rs loses 2.4e-5 of value when the next stage is LP-pruned). The combinations are
//! therefore enumerated in full (up to [`MAX_COMBINATIONS`] per state and robot action), which limits this
//! variant to short horizons. The robot's belief update uses the same π (see [`Plan::human`]); β → 0 recovers
//! the max.
//!
//! **Fixed human** ([`Human::Policy`], e.g. the published environments' humans): the same state-factored value
//! function with α'(θ) = Σ_{a^H} π(a^H | θ, s, a^R)·Q_{a^H}(θ). The weights do not depend on the continuation, so
//! the candidates are a cross sum of the scaled sets {π_{a^H} ⊙ Q}, pruned incrementally — exact, and much
//! smaller than exact VI on the fixed-human reduction, whose hidden state (s, θ, last a^H) hides what the robot
//! in fact observes.
//!
//! Every vector carries its [`Plan`]: the robot's action, the human's rule per θ and, per observation (a^H, s'),
//! the index of the next vector, so the solution is a policy that can be executed and simulated
//! ([`crate::sim::cirl::simulate`]).

#![allow(clippy::needless_range_loop)] // tabular loops index several arrays by the same state

use rayon::prelude::*;

use super::exact::{dominated, prune_tagged};
use crate::error::{Error, Result};
use crate::model::cirl::{CirlGame, Human, Table4};
use crate::numerics::brief;

/// Largest number of per-(s, a^R) combinations the Boltzmann backup enumerates.
pub const MAX_COMBINATIONS: usize = 2_000_000;

/// No next vector (the observation has probability 0, or nothing remains).
pub const NONE: usize = usize::MAX;

/// The conditional plan behind an alpha vector.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Plan {
    /// The robot's action.
    pub robot: usize,
    /// human\[θ\]\[a^H\]: the human's action distribution for each θ (one-hot for the coordinated human).
    pub human: Vec<Vec<f64>>,
    /// next[a^H·|S| + s']: index of the next vector in stage t+1's set of state s' ([`NONE`] if unused).
    pub next: Vec<usize>,
}

/// One stage's value function: per state, vectors over θ with their plans.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// sets\[s\]: the vectors over θ of world state s, each with its plan.
    pub sets: Vec<Vec<(Vec<f64>, Plan)>>,
}

impl Stage {
    /// max_α α·b in state `s`, and the index of the maximizing vector (the first among exact ties).
    pub fn best(&self, s: usize, b: &[f64]) -> (f64, usize) {
        let mut best = (f64::NEG_INFINITY, 0);
        for (i, (a, _)) in self.sets[s].iter().enumerate() {
            let x: f64 = a.iter().zip(b).map(|(x, p)| x * p).sum();
            if x > best.0 {
                best = (x, i);
            }
        }
        best
    }
    /// The value in state `s` at belief `b` over θ.
    pub fn value(&self, s: usize, b: &[f64]) -> f64 {
        self.best(s, b).0
    }
    /// Vectors summed over states.
    pub fn total(&self) -> usize {
        self.sets.iter().map(Vec::len).sum()
    }
}

/// The solution: stages\[0\] is the first decision; stages\[t\] has horizon − t decisions left.
#[derive(Debug, Clone)]
pub struct Solution {
    /// The stages, first decision first.
    pub stages: Vec<Stage>,
    /// Value from the initial state distribution and the prior.
    pub value: f64,
    /// Bound on the distance to the infinite-horizon value (0 for a finite horizon).
    pub error_bound: f64,
    /// Vectors (summed over states) after each backup, first backup first.
    pub sizes: Vec<usize>,
    /// The pruning tolerance the backups used.
    pub eps: f64,
}

impl Solution {
    /// The Q-values of the robot's actions at decision `t` (0 first) in state `s` at belief `b` over θ: for each
    /// robot action, the best expected discounted return of taking it now and following the optimal plan
    /// afterwards ([`q_values`] against stage t + 1, or against nothing after the last decision). Their maximum
    /// is `stages[t].value(s, b)` within [`Solution::eps`].
    pub fn q_values(&self, g: &CirlGame, t: usize, s: usize, b: &[f64]) -> Result<Vec<f64>> {
        match self.stages.get(t + 1) {
            Some(next) => q_values(g, next, s, b, self.eps),
            None => q_values(g, &zero_stage(g), s, b, self.eps),
        }
    }
}

/// The value function after the last decision: one zero vector per state.
fn zero_stage(g: &CirlGame) -> Stage {
    Stage {
        sets: vec![
            vec![(
                vec![0.0; g.thetas.len()],
                Plan {
                    robot: 0,
                    human: vec![],
                    next: vec![],
                }
            )];
            g.states.len()
        ],
    }
}

/// A deterministic human rule as distributions: rule[θ] = e_{choice[θ]} over `nh` actions.
fn one_hot(choice: &[usize], nh: usize) -> Vec<Vec<f64>> {
    choice
        .iter()
        .map(|&h| {
            let mut d = vec![0.0; nh];
            d[h] = 1.0;
            d
        })
        .collect()
}

fn pointwise_prune<T>(w: Vec<(Vec<f64>, T)>, eps: f64) -> Vec<(Vec<f64>, T)> {
    let mut kept: Vec<(Vec<f64>, T)> = Vec::with_capacity(w.len());
    for x in w {
        if kept.iter().any(|k| dominated(&x.0, &k.0, eps)) {
            continue;
        }
        kept.retain(|k| !dominated(&k.0, &x.0, eps));
        kept.push(x);
    }
    kept
}

/// Q candidates for a fixed (s, a^R, a^H): R + γ·Σ_{s'} T·α_{s'} for every choice of α_{s'}, with the choice.
fn q_candidates(
    g: &CirlGame,
    next: &Stage,
    s: usize,
    h: usize,
    r: usize,
    prune: bool,
    eps: f64,
) -> Result<Vec<(Vec<f64>, Vec<usize>)>> {
    let (ns, nt) = (g.states.len(), g.thetas.len());
    let mut acc: Vec<(Vec<f64>, Vec<usize>)> =
        vec![((0..nt).map(|th| g.r[th][s][h][r]).collect(), vec![NONE; ns])];
    for sp in 0..ns {
        let p = g.t[s][h][r][sp];
        if p == 0.0 {
            continue;
        }
        let mut out = Vec::with_capacity(acc.len() * next.sets[sp].len());
        for (x, choice) in &acc {
            for (j, (a, _)) in next.sets[sp].iter().enumerate() {
                let mut c = choice.clone();
                c[sp] = j;
                out.push((
                    x.iter()
                        .zip(a)
                        .map(|(u, v)| u + g.discount * p * v)
                        .collect(),
                    c,
                ));
            }
        }
        acc = if prune { prune_tagged(out, eps)? } else { out };
    }
    Ok(acc)
}

/// One generalized backup of every state's vector set.
pub fn backup(g: &CirlGame, next: &Stage, active: &[bool], eps: f64) -> Result<Stage> {
    let (ns, nr) = (g.states.len(), g.robot_actions.len());
    let sets: Result<Vec<_>> = (0..ns)
        .into_par_iter()
        .map(|s| {
            if !active[s] {
                return Ok(Vec::new());
            }
            let mut all: Vec<(Vec<f64>, Plan)> = Vec::new();
            for r in 0..nr {
                all.extend(candidates(g, next, s, r, eps)?);
            }
            match g.human {
                // No pruning at all: a continuation that is worse for every θ can still be the better one with a
                // Boltzmann partner (it changes which actions the human's softmax favours).
                Human::CoordinatedBoltzmann(_) => Ok(all),
                _ => prune_tagged(all, eps),
            }
        })
        .collect();
    Ok(Stage { sets: sets? })
}

/// The backup's vectors for one state `s` and robot action `r` before the max over robot actions: the values
/// over θ of taking `r` now and following a plan from `next` afterwards, each with its plan.
fn candidates(
    g: &CirlGame,
    next: &Stage,
    s: usize,
    r: usize,
    eps: f64,
) -> Result<Vec<(Vec<f64>, Plan)>> {
    let (ns, nh, nt) = (g.states.len(), g.human_actions.len(), g.thetas.len());
    if let Human::Policy(p) = &g.human {
        return candidates_fixed(g, p, next, s, r, eps);
    }
    // The Boltzmann partner's sets are not pruned (see the module's notes); the coordinated partner's are.
    let beta = match g.human {
        Human::CoordinatedBoltzmann(b) => Some(b),
        _ => None,
    };
    let per_h: Vec<_> = (0..nh)
        .map(|h| q_candidates(g, next, s, h, r, beta.is_none(), eps))
        .collect::<Result<_>>()?;
    match beta {
        Some(b) => combine_boltzmann(&per_h, r, ns, nt, b),
        None => Ok(combine_max(&per_h, r, ns, nt, eps)),
    }
}

/// The Q-values of the robot's actions in state `s` at belief `b` over θ, one decision before `next`: for each
/// robot action, the best expected return of taking it now and following a plan from `next` afterwards (the
/// human as the game has it: the coordinated partner's best rule, or its fixed policy). The largest of them is
/// the value of the stage `next` backs up to (within the pruning tolerance `eps`).
pub fn q_values(g: &CirlGame, next: &Stage, s: usize, b: &[f64], eps: f64) -> Result<Vec<f64>> {
    (0..g.robot_actions.len())
        .map(|r| {
            Ok(candidates(g, next, s, r, eps)?
                .iter()
                .map(|(a, _)| a.iter().zip(b).map(|(x, p)| x * p).sum::<f64>())
                .fold(f64::NEG_INFINITY, f64::max))
        })
        .collect()
}

/// The factored candidates for a fixed human policy π(a^H | θ, s, a^R): α'(θ) = Σ_{a^H} π(a^H|θ)·Q_{a^H}(θ).
/// The weights do not depend on the continuation, so the candidates are a cross sum over a^H of the sets
/// {π_{a^H} ⊙ Q : Q ∈ Q_{a^H}}, pruned incrementally (exact: each summand is linear in its own choice).
fn candidates_fixed(
    g: &CirlGame,
    p: &Table4,
    next: &Stage,
    s: usize,
    r: usize,
    eps: f64,
) -> Result<Vec<(Vec<f64>, Plan)>> {
    let (ns, nh, nt) = (g.states.len(), g.human_actions.len(), g.thetas.len());
    let human: Vec<Vec<f64>> = (0..nt).map(|th| p[th][s][r].clone()).collect();
    // Partial sums over the human actions seen so far, tagged with next indices per (a^H, s').
    let mut acc: Vec<(Vec<f64>, Vec<usize>)> = vec![(vec![0.0; nt], vec![NONE; nh * ns])];
    for h in 0..nh {
        if (0..nt).all(|th| human[th][h] == 0.0) {
            continue;
        }
        let scaled: Vec<(Vec<f64>, Vec<usize>)> = q_candidates(g, next, s, h, r, true, eps)?
            .into_iter()
            .map(|(q, c)| ((0..nt).map(|th| human[th][h] * q[th]).collect(), c))
            .collect();
        let scaled = prune_tagged(scaled, eps)?;
        let mut out = Vec::with_capacity(acc.len() * scaled.len());
        for (x, tag) in &acc {
            for (y, c) in &scaled {
                let mut t = tag.clone();
                t[h * ns..(h + 1) * ns].copy_from_slice(c);
                out.push((x.iter().zip(y).map(|(a, b)| a + b).collect(), t));
            }
        }
        acc = prune_tagged(out, eps)?;
    }
    Ok(acc
        .into_iter()
        .map(|(v, next)| {
            (
                v,
                Plan {
                    robot: r,
                    human: human.clone(),
                    next,
                },
            )
        })
        .collect())
}

/// The naive coordinator backup on the same state-factored value function, for comparison and benchmarks: it
/// enumerates all |A^H|^|Θ| decision rules δ: Θ → A^H for every robot action and, for each, forms
/// α'(θ) = R(s, δ(θ), a^R; θ) + γ·Σ_{s'} T(s'|s, δ(θ), a^R)·α_{δ(θ), s'}(θ) over every choice of next vectors
/// (a cross sum over the observations (a^H, s') the rule can produce, pruned incrementally). This is the
/// backup of exact VI on the coordinator POMDP, without materialising that POMDP's tables; it gives the same
/// value function as [`backup`] at exponentially greater cost. Coordinated human only.
pub fn coordinator_backup(g: &CirlGame, next: &Stage, active: &[bool], eps: f64) -> Result<Stage> {
    let (ns, nh, nr, nt) = (
        g.states.len(),
        g.human_actions.len(),
        g.robot_actions.len(),
        g.thetas.len(),
    );
    if g.human != Human::Coordinated {
        return Err(Error::invalid(
            "human",
            "the coordinator backup enumerates a coordinated human's decision rules",
        ));
    }
    let rules = (nh as f64).powi(nt as i32);
    if rules > MAX_COMBINATIONS as f64 {
        return Err(Error::invalid(
            "thetas",
            format!("{rules} decision rules per robot action is too many to enumerate"),
        ));
    }
    let rules = rules as usize;
    let sets: Result<Vec<_>> = (0..ns)
        .into_par_iter()
        .map(|s| {
            if !active[s] {
                return Ok(Vec::new());
            }
            let mut all: Vec<(Vec<f64>, Plan)> = Vec::new();
            for r in 0..nr {
                for code in 0..rules {
                    let delta: Vec<usize> = (0..nt)
                        .scan(code, |c, _| {
                            let h = *c % nh;
                            *c /= nh;
                            Some(h)
                        })
                        .collect();
                    let mut acc: Vec<(Vec<f64>, Vec<usize>)> = vec![(
                        (0..nt).map(|th| g.r[th][s][delta[th]][r]).collect(),
                        vec![NONE; nh * ns],
                    )];
                    for h in 0..nh {
                        if !delta.contains(&h) {
                            continue;
                        }
                        for sp in 0..ns {
                            if g.t[s][h][r][sp] == 0.0 {
                                continue;
                            }
                            let mut out = Vec::with_capacity(acc.len() * next.sets[sp].len());
                            for (x, tag) in &acc {
                                for (j, (a, _)) in next.sets[sp].iter().enumerate() {
                                    let mut t = tag.clone();
                                    t[h * ns + sp] = j;
                                    let v = (0..nt)
                                        .map(|th| {
                                            if delta[th] == h {
                                                x[th] + g.discount * g.t[s][h][r][sp] * a[th]
                                            } else {
                                                x[th]
                                            }
                                        })
                                        .collect();
                                    out.push((v, t));
                                }
                            }
                            acc = prune_tagged(out, eps)?;
                        }
                    }
                    all.extend(acc.into_iter().map(|(v, next)| {
                        (
                            v,
                            Plan {
                                robot: r,
                                human: one_hot(&delta, nh),
                                next,
                            },
                        )
                    }));
                    // Keep the working set small: prune as rules accumulate.
                    if all.len() > 256 {
                        all = prune_tagged(all, eps)?;
                    }
                }
            }
            prune_tagged(all, eps)
        })
        .collect();
    Ok(Stage { sets: sets? })
}

/// Solves a coordinated game with [`coordinator_backup`] (the naive exponential backup); see [`solve`].
pub fn solve_coordinator(g: &CirlGame, tolerance: f64) -> Result<Solution> {
    solve_with(g, tolerance, coordinator_backup)
}

/// A partial combination's tag: the chosen a^H per θ and the next indices per (a^H, s').
type Partial = (Vec<usize>, Vec<usize>);

/// Pointwise max over a^H of one candidate per a^H, built incrementally with dominance pruning.
fn combine_max(
    per_h: &[Vec<(Vec<f64>, Vec<usize>)>],
    r: usize,
    ns: usize,
    nt: usize,
    eps: f64,
) -> Vec<(Vec<f64>, Plan)> {
    let nh = per_h.len();
    // Partial combination: (vector, chosen a^H per θ, next indices per (a^H, s')).
    let mut acc: Vec<(Vec<f64>, Partial)> = per_h[0]
        .iter()
        .map(|(v, c)| {
            let mut next = vec![NONE; nh * ns];
            next[..ns].copy_from_slice(c);
            (v.clone(), (vec![0; nt], next))
        })
        .collect();
    for (h, w) in per_h.iter().enumerate().skip(1) {
        let mut out = Vec::with_capacity(acc.len() * w.len());
        for (x, (choice, next)) in &acc {
            for (y, c) in w {
                let mut ch = choice.clone();
                let v: Vec<f64> = (0..nt)
                    .map(|th| {
                        // Strictly better only: exact ties keep the lower-numbered human action.
                        if y[th] > x[th] {
                            ch[th] = h;
                            y[th]
                        } else {
                            x[th]
                        }
                    })
                    .collect();
                let mut nx = next.clone();
                nx[h * ns..(h + 1) * ns].copy_from_slice(c);
                out.push((v, (ch, nx)));
            }
        }
        acc = pointwise_prune(out, eps);
    }
    acc.into_iter()
        .map(|(v, (choice, next))| {
            (
                v,
                Plan {
                    robot: r,
                    human: one_hot(&choice, nh),
                    next,
                },
            )
        })
        .collect()
}

/// Boltzmann expectation over a^H for every combination of one candidate per a^H.
fn combine_boltzmann(
    per_h: &[Vec<(Vec<f64>, Vec<usize>)>],
    r: usize,
    ns: usize,
    nt: usize,
    beta: f64,
) -> Result<Vec<(Vec<f64>, Plan)>> {
    let nh = per_h.len();
    let count = per_h
        .iter()
        .try_fold(1usize, |acc, w| acc.checked_mul(w.len()))
        .filter(|c| *c <= MAX_COMBINATIONS)
        .ok_or_else(|| {
            Error::invalid(
                "human",
                format!(
                    "the Boltzmann backup would enumerate more than {MAX_COMBINATIONS} combinations per (state, robot action); shorten the horizon or use the coordinated (β = 0) human"
                ),
            )
        })?;
    let mut out = Vec::with_capacity(count);
    let mut idx = vec![0usize; nh];
    for _ in 0..count {
        let mut v = vec![0.0; nt];
        let mut human = vec![vec![0.0; nh]; nt];
        for th in 0..nt {
            let q: Vec<f64> = (0..nh).map(|h| per_h[h][idx[h]].0[th]).collect();
            let p = crate::numerics::softmax(&q, beta);
            v[th] = p.iter().zip(&q).map(|(a, b)| a * b).sum();
            human[th] = p;
        }
        let mut next = vec![NONE; nh * ns];
        for h in 0..nh {
            next[h * ns..(h + 1) * ns].copy_from_slice(&per_h[h][idx[h]].1);
        }
        out.push((
            v,
            Plan {
                robot: r,
                human,
                next,
            },
        ));
        // Odometer over the candidate indices.
        for h in 0..nh {
            idx[h] += 1;
            if idx[h] < per_h[h].len() {
                break;
            }
            idx[h] = 0;
        }
    }
    Ok(out)
}

/// The world states reachable at each decision t = 0..steps from the initial state distribution (under any
/// actions): only their vector sets are computed.
pub fn reachable_states(g: &CirlGame, steps: usize) -> Vec<Vec<bool>> {
    let ns = g.states.len();
    let mut out = Vec::with_capacity(steps);
    let mut cur: Vec<bool> = g.initial_state.iter().map(|p| *p > 0.0).collect();
    for _ in 0..steps {
        let mut next = vec![false; ns];
        for s in (0..ns).filter(|&s| cur[s]) {
            for row in g.t[s].iter().flatten() {
                for (sp, p) in row.iter().enumerate() {
                    next[sp] |= *p > 0.0;
                }
            }
        }
        out.push(std::mem::replace(&mut cur, next));
    }
    out
}

/// Solves a CIRL game (coordinated human, Boltzmann partner or fixed human): for its horizon, or, when it is
/// discounted with no horizon, for enough backups that γᵏ·max|R|/(1 − γ) ≤ `tolerance`.
pub fn solve(g: &CirlGame, tolerance: f64) -> Result<Solution> {
    solve_with(g, tolerance, backup)
}

fn solve_with(
    g: &CirlGame,
    tolerance: f64,
    backup: fn(&CirlGame, &Stage, &[bool], f64) -> Result<Stage>,
) -> Result<Solution> {
    g.check()?;
    let rmax = g.max_abs_reward();
    let (steps, error_bound) = match g.horizon {
        Some(h) => (h, 0.0),
        None => super::backups_to_tolerance(rmax, g.discount, tolerance)?,
    };
    let eps = 1e-10 * rmax.max(1.0) * steps.max(1) as f64;
    let zero = zero_stage(g);
    let mut stages = Vec::with_capacity(steps);
    let mut sizes = Vec::with_capacity(steps);
    let mut v = zero;
    let reach = reachable_states(g, steps);
    // The plans kept for every decision: each vector holds its values over θ, the human's rule and a next
    // index per (a^H, s'). A time-indexed game has a state per step, so this grows with the square of the
    // horizon: a floor (one vector per reachable state and decision) is checked first, the real count after
    // each backup.
    let (ns, nh, nt) = (g.states.len(), g.human_actions.len(), g.thetas.len());
    let per_vector = (8 * nt + 8 * nh * ns + nt * (24 + 8 * nh) + 128) as f64;
    let (field, hint) = match g.horizon {
        Some(_) => ("--set horizon", "shorten the horizon"),
        None => (
            "--tolerance",
            "ask for a larger --tolerance (fewer backups)",
        ),
    };
    let floor: f64 = reach
        .iter()
        .map(|r| r.iter().filter(|&&x| x).count() as f64)
        .sum::<f64>()
        * per_vector
        + (steps * ns * 24) as f64;
    let what = |n: f64| {
        format!(
            "keeping the plans of {steps} decisions ({} vectors)",
            brief(n)
        )
    };
    crate::limits::check_memory(field, floor, &what(floor / per_vector), hint)?;
    let mut kept = 0.0;
    for i in 0..steps {
        v = backup(g, &v, &reach[steps - 1 - i], eps)?;
        kept += v.total() as f64;
        crate::limits::check_memory(field, kept * per_vector, &what(kept), hint)?;
        sizes.push(v.total());
        stages.push(v.clone());
    }
    stages.reverse();
    let value = match stages.first() {
        Some(first) => (0..g.states.len())
            .filter(|&s| g.initial_state[s] > 0.0)
            .map(|s| g.initial_state[s] * first.value(s, &g.prior))
            .sum(),
        None => 0.0,
    };
    Ok(Solution {
        stages,
        value,
        error_bound,
        sizes,
        eps,
    })
}
