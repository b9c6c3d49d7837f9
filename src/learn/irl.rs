//! Maximum-entropy inverse reinforcement learning (Ziebart et al. 2008) on a deterministic finite-horizon MDP
//! whose reward is linear in state features, r_θ(s) = θᵀφ(s).
//!
//! Trajectories are the action sequences a_1..a_T from a fixed start; their states s_1..s_T earn the reward, and
//! P_θ(τ) ∝ exp(Σ_t r_θ(s_t)); the MDP and its exact soft solution (log Z_θ, the expected feature counts
//! μ_θ = E_θ[Σ_t φ(s_t)]) are [`crate::model::feature_mdp`]'s. The robot's estimate
//! maximises the log-likelihood of the observed trajectories minus a Gaussian prior's ‖θ‖²/(2σ²) — a concave
//! objective, climbed by BFGS with a backtracking line search.

#![allow(clippy::needless_range_loop)] // value tables indexed by state, action and feature together

use nalgebra::{DMatrix, DVector};

pub use crate::model::feature_mdp::{Mdp, SoftSolution};

/// The MAP estimate of θ from observed feature counts `counts` (summed over `n` trajectories) under a N(0, σ²I)
/// prior: maximises θᵀcounts − n·log Z_θ − ‖θ‖²/(2σ²). Returns θ̂ and the iterations used.
pub fn maxent_irl(
    mdp: &Mdp,
    counts: &[f64],
    n: f64,
    prior_var: f64,
    max_iter: usize,
) -> (Vec<f64>, usize) {
    let k = mdp.n_features();
    let objective = |th: &[f64]| -> (f64, Vec<f64>) {
        let s = mdp.soft(th);
        let mut f = -n * s.log_z;
        let mut g = vec![0.0; k];
        for j in 0..k {
            f += th[j] * counts[j] - th[j] * th[j] / (2.0 * prior_var);
            g[j] = counts[j] - n * s.mu[j] - th[j] / prior_var;
        }
        (f, g)
    };
    let mut th = vec![0.0; k];
    let (mut f, mut g) = objective(&th);
    // BFGS on −f with the inverse-Hessian approximation H.
    let mut h = DMatrix::<f64>::identity(k, k) * prior_var.min(1.0);
    let mut iters = 0;
    for it in 0..max_iter {
        iters = it + 1;
        let gn: f64 = g.iter().map(|x| x * x).sum::<f64>().sqrt();
        if gn < 1e-8 {
            break;
        }
        let gv = DVector::from_column_slice(&g);
        let mut dir = &h * &gv; // ascent direction
        if dir.dot(&gv) <= 0.0 {
            h = DMatrix::identity(k, k) * prior_var.min(1.0);
            dir = &h * &gv;
        }
        let mut step = 1.0;
        let slope = dir.dot(&gv);
        let mut accepted = None;
        for _ in 0..50 {
            let trial: Vec<f64> = (0..k).map(|j| th[j] + step * dir[j]).collect();
            let (f1, g1) = objective(&trial);
            if f1 >= f + 1e-4 * step * slope {
                accepted = Some((trial, f1, g1));
                break;
            }
            step *= 0.5;
        }
        let Some((nt, nf, ng)) = accepted else { break };
        let s = DVector::from_iterator(k, (0..k).map(|j| nt[j] - th[j]));
        // y = ∇(−f)(new) − ∇(−f)(old) = g_old − g_new.
        let y = DVector::from_iterator(k, (0..k).map(|j| g[j] - ng[j]));
        let sy = s.dot(&y);
        if sy > 1e-12 {
            let rho = 1.0 / sy;
            let i = DMatrix::<f64>::identity(k, k);
            let a = &i - rho * &s * y.transpose();
            let b = &i - rho * &y * s.transpose();
            h = &a * &h * &b + rho * &s * s.transpose();
        }
        let improvement = nf - f;
        th = nt;
        f = nf;
        g = ng;
        if improvement.abs() < 1e-13 * f.abs().max(1.0) {
            break;
        }
    }
    (th, iters)
}
