//! The generalized Bellman backup for CIRL with a coordinated human (Malik et al., ICML 2018).
//!
//! The world state is observed, so the value function is a set of alpha vectors over θ for every state. Because
//! the human knows θ (and the robot's belief), the maximisation over the human's decision rule δ: Θ → A^H moves
//! inside the backup and is taken separately for every θ:
//!
//! α'(θ) = max_{a^H} [ R(s, a^H, a^R; θ) + γ·Σ_{s'} T(s'|s, a^H, a^R)·α_{a^H, s'}(θ) ]
//!
//! for each robot action a^R and each choice of next vector α_{a^H, s'} ∈ V(s') per observation (a^H, s'). For a
//! fixed a^H the inner term is a plain cross sum over s' (pruned incrementally); the pointwise max over a^H of
//! one vector per a^H is then formed incrementally, pruning by pointwise dominance (which the max preserves) and
//! finally by Lark's LP filter. The coordinator POMDP needs |A^R|·|A^H|^|Θ| actions for the same values; here
//! the work grows with |A^H| sets, not with |A^H|^|Θ|.

use super::exact::prune;
use crate::error::{Error, Result};
use crate::model::cirl::{CirlGame, Human};

/// Value functions per state: vectors over θ with the robot action that starts each plan.
#[derive(Debug, Clone, PartialEq)]
pub struct StateAlphas {
    /// sets[s] = vectors over θ.
    pub sets: Vec<Vec<Vec<f64>>>,
}

impl StateAlphas {
    /// The value in state `s` at belief `b` over θ.
    pub fn value(&self, s: usize, b: &[f64]) -> f64 {
        self.sets[s]
            .iter()
            .map(|a| a.iter().zip(b).map(|(x, p)| x * p).sum::<f64>())
            .fold(f64::NEG_INFINITY, f64::max)
    }
    /// Vectors summed over states.
    pub fn total(&self) -> usize {
        self.sets.iter().map(Vec::len).sum()
    }
}

fn dominated(x: &[f64], y: &[f64], eps: f64) -> bool {
    x.iter().zip(y).all(|(a, b)| *a <= *b + eps)
}

fn pointwise_prune(w: Vec<Vec<f64>>, eps: f64) -> Vec<Vec<f64>> {
    let mut kept: Vec<Vec<f64>> = Vec::with_capacity(w.len());
    for x in w {
        if kept.iter().any(|k| dominated(&x, k, eps)) {
            continue;
        }
        kept.retain(|k| !dominated(k, &x, eps));
        kept.push(x);
    }
    kept
}

/// One generalized backup of every state's vector set.
pub fn backup(g: &CirlGame, v: &StateAlphas, eps: f64) -> Result<StateAlphas> {
    let (ns, nh, nr, nt) = (
        g.states.len(),
        g.human_actions.len(),
        g.robot_actions.len(),
        g.thetas.len(),
    );
    let mut sets = Vec::with_capacity(ns);
    for s in 0..ns {
        let mut all: Vec<Vec<f64>> = Vec::new();
        for r in 0..nr {
            // W[h]: R(s, h, r; ·) + γ·Σ_{s'} T(s'|s, h, r)·α_{s'} for every choice of α_{s'} ∈ V(s').
            let mut per_h: Vec<Vec<Vec<f64>>> = Vec::with_capacity(nh);
            for h in 0..nh {
                let mut acc: Vec<Vec<f64>> = vec![(0..nt).map(|th| g.r[th][s][h][r]).collect()];
                for sp in 0..ns {
                    let p = g.t[s][h][r][sp];
                    if p == 0.0 {
                        continue;
                    }
                    let proj: Vec<Vec<f64>> = v.sets[sp]
                        .iter()
                        .map(|a| a.iter().map(|x| g.discount * p * x).collect())
                        .collect();
                    let mut next = Vec::with_capacity(acc.len() * proj.len());
                    for x in &acc {
                        for y in &proj {
                            next.push(x.iter().zip(y).map(|(a, b)| a + b).collect());
                        }
                    }
                    acc = prune(next, eps)?;
                }
                per_h.push(acc);
            }
            // Pointwise max over h of one vector per h.
            let mut acc = per_h[0].clone();
            for w in &per_h[1..] {
                let mut next = Vec::with_capacity(acc.len() * w.len());
                for x in &acc {
                    for y in w {
                        next.push(x.iter().zip(y).map(|(a, b)| a.max(*b)).collect());
                    }
                }
                acc = pointwise_prune(next, eps);
            }
            all.extend(acc);
        }
        sets.push(prune(all, eps)?);
    }
    Ok(StateAlphas { sets })
}

/// Solves a finite-horizon game with a coordinated human; returns the value function and the value from the
/// initial state distribution and prior.
pub fn solve(g: &CirlGame) -> Result<(StateAlphas, f64)> {
    g.check()?;
    if g.human != Human::Coordinated {
        return Err(Error::invalid(
            "human",
            "the generalized backup needs the coordinated human",
        ));
    }
    let h = g.horizon.ok_or_else(|| {
        Error::invalid(
            "horizon",
            "the generalized exact solver needs a finite horizon",
        )
    })?;
    let rmax =
        g.r.iter()
            .flatten()
            .flatten()
            .flatten()
            .fold(0.0f64, |m, x| m.max(x.abs()))
            .max(1.0);
    let eps = 1e-10 * rmax * h.max(1) as f64;
    let mut v = StateAlphas {
        sets: vec![vec![vec![0.0; g.thetas.len()]]; g.states.len()],
    };
    for _ in 0..h {
        v = backup(g, &v, eps)?;
    }
    let value = (0..g.states.len())
        .map(|s| g.initial_state[s] * v.value(s, &g.prior))
        .sum();
    Ok((v, value))
}
