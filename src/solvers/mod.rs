//! Solvers for tabular POMDPs. Solvers take a [`crate::model::Tabular`] model, never a concrete game.
//!
//! - [`exact`]: exact value iteration over alpha vectors (incremental pruning with Lark's LP filter), finite
//!   horizon, or to a stated tolerance for discounted problems.
//! - [`generalized`]: the generalized backup for CIRL games with a coordinated human (Malik et al. 2018), and
//!   its Boltzmann variant; works on the game itself, not on its reduction.
//! - [`pbvi`]: point-based value iteration with lower and upper bounds.
//! - [`mdp`]: value iteration with the state observed (the full-information value, an upper bound).

pub mod assist;
pub mod chain;
pub mod exact;
pub mod generalized;
pub mod interference;
pub mod mdp;
pub mod pbvi;
pub mod posg;
pub mod sarsop;

use crate::error::{Error, Result};

/// The backups that bring a discounted infinite-horizon value to within `tolerance` (γᵏ·max|R|/(1 − γ) ≤
/// `tolerance`), and the bound they leave: one backup at discount 0 (the future is worth nothing), and a refusal
/// past [`crate::limits::MAX_EXACT_BACKUPS`] (a discount near 1 with a tight tolerance).
pub fn backups_to_tolerance(rmax: f64, discount: f64, tolerance: f64) -> Result<(usize, f64)> {
    let tail = rmax / (1.0 - discount);
    let k = if tail <= tolerance {
        0
    } else if discount == 0.0 {
        1
    } else {
        let k = ((tolerance / tail).ln() / discount.ln()).ceil();
        if k.is_nan() || k > crate::limits::MAX_EXACT_BACKUPS as f64 {
            return Err(Error::invalid(
                "--tolerance",
                format!(
                    "exact value iteration at discount {discount} needs {} backups to reach {} (more than {}): raise --tolerance or use --solver pbvi",
                    crate::numerics::brief(k),
                    crate::numerics::brief(tolerance),
                    crate::limits::MAX_EXACT_BACKUPS
                ),
            ));
        }
        (k as usize).max(1)
    };
    Ok((k, discount.powi(k as i32) * tail))
}

/// A value function as a set of alpha vectors, each with the action that starts its conditional plan.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaSet {
    /// The vectors, one value per state.
    pub vectors: Vec<Vec<f64>>,
    /// The action that starts each vector's plan.
    pub actions: Vec<usize>,
}

impl AlphaSet {
    /// max_α α·b and the index of the maximizing vector (the first among exact ties).
    pub fn best(&self, b: &[f64]) -> (f64, usize) {
        let mut best = (f64::NEG_INFINITY, 0);
        for (i, v) in self.vectors.iter().enumerate() {
            let x: f64 = v.iter().zip(b).map(|(a, p)| a * p).sum();
            if x > best.0 {
                best = (x, i);
            }
        }
        best
    }

    /// The value at belief `b`.
    pub fn value(&self, b: &[f64]) -> f64 {
        self.best(b).0
    }

    /// The action the policy takes at belief `b`.
    pub fn action(&self, b: &[f64]) -> usize {
        self.actions[self.best(b).1]
    }

    /// The number of vectors.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}

/// One-step lookahead: Q(b, a) = Σ_s b(s)·R(s, a) + γ·Σ_o P(o | b, a)·V(b'ₐₒ) for every action, with `next` the
/// value function of the remaining steps (`None`: nothing remains).
pub fn q_values(m: &crate::model::Tabular, next: Option<&AlphaSet>, b: &[f64]) -> Vec<f64> {
    let ns = m.n_states();
    (0..m.n_actions())
        .map(|a| {
            let mut q: f64 = (0..ns).map(|s| b[s] * m.r[a][s]).sum();
            if let Some(v) = next {
                for o in 0..m.n_observations() {
                    let p: f64 = (0..ns)
                        .map(|s| {
                            b[s] * (0..ns).map(|sp| m.t[a][s][sp] * m.o[a][sp][o]).sum::<f64>()
                        })
                        .sum();
                    if p > 0.0
                        && let Some(nb) = m.update(b, a, o)
                    {
                        q += m.discount * p * v.value(&nb);
                    }
                }
            }
            q
        })
        .collect()
}
