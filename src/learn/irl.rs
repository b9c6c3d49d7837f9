//! Maximum-entropy inverse reinforcement learning (Ziebart et al. 2008) on a deterministic finite-horizon MDP
//! whose reward is linear in state features, r_θ(s) = θᵀφ(s).
//!
//! Trajectories are the action sequences a_1..a_T from a fixed start; their states s_1..s_T earn the reward, and
//! P_θ(τ) ∝ exp(Σ_t r_θ(s_t)). Soft value iteration gives log Z_θ and the per-step policy, a forward pass the
//! state visitation and so the expected feature counts μ_θ = E_θ[Σ_t φ(s_t)] (all exact). The robot's estimate
//! maximises the log-likelihood of the observed trajectories minus a Gaussian prior's ‖θ‖²/(2σ²) — a concave
//! objective, climbed by BFGS with a backtracking line search.

#![allow(clippy::needless_range_loop)] // value tables indexed by state, action and feature together

use nalgebra::{DMatrix, DVector};

/// A deterministic tabular MDP with state features.
#[derive(Debug, Clone)]
pub struct Mdp {
    /// next\[s\]\[a\].
    pub next: Vec<Vec<usize>>,
    /// phi\[s\]: the features of state s.
    pub phi: Vec<Vec<f64>>,
    pub start: usize,
    pub horizon: usize,
}

/// The exact quantities of the MaxEnt trajectory distribution for a reward vector.
#[derive(Debug, Clone)]
pub struct SoftSolution {
    pub log_z: f64,
    /// Expected feature counts.
    pub mu: Vec<f64>,
    /// State visitation D\[t\]\[s\], t = 0..=T (D\[0\] is the start).
    pub visits: Vec<Vec<f64>>,
    /// Per-step policy π\[t\]\[s\]\[a\].
    pub policy: Vec<Vec<Vec<f64>>>,
}

fn logsumexp(x: &[f64]) -> f64 {
    let m = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + x.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
}

impl Mdp {
    pub fn n_states(&self) -> usize {
        self.next.len()
    }
    pub fn n_features(&self) -> usize {
        self.phi.first().map_or(0, Vec::len)
    }

    /// Rewards of every state for θ.
    pub fn rewards(&self, theta: &[f64]) -> Vec<f64> {
        self.phi
            .iter()
            .map(|f| f.iter().zip(theta).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// Soft value iteration and the forward pass for θ.
    pub fn soft(&self, theta: &[f64]) -> SoftSolution {
        let (ns, na, t_max) = (self.n_states(), self.next[0].len(), self.horizon);
        let r = self.rewards(theta);
        let mut v = vec![0.0; ns];
        let mut policy = vec![vec![vec![0.0; na]; ns]; t_max];
        let mut q = vec![0.0; na];
        for t in (0..t_max).rev() {
            let mut nv = vec![0.0; ns];
            for s in 0..ns {
                for a in 0..na {
                    let sp = self.next[s][a];
                    q[a] = r[sp] + v[sp];
                }
                let lse = logsumexp(&q);
                nv[s] = lse;
                for a in 0..na {
                    policy[t][s][a] = (q[a] - lse).exp();
                }
            }
            v = nv;
        }
        let log_z = v[self.start];
        let mut visits = vec![vec![0.0; ns]; t_max + 1];
        visits[0][self.start] = 1.0;
        for t in 0..t_max {
            for s in 0..ns {
                let d = visits[t][s];
                if d == 0.0 {
                    continue;
                }
                for a in 0..na {
                    visits[t + 1][self.next[s][a]] += d * policy[t][s][a];
                }
            }
        }
        let k = self.n_features();
        let mut mu = vec![0.0; k];
        for row in visits.iter().skip(1) {
            for (s, d) in row.iter().enumerate() {
                if *d != 0.0 {
                    for j in 0..k {
                        mu[j] += d * self.phi[s][j];
                    }
                }
            }
        }
        SoftSolution {
            log_z,
            mu,
            visits,
            policy,
        }
    }

    /// The optimal (highest-return) trajectory's states s_1..s_T for θ; ties go to the lowest action.
    pub fn optimal_path(&self, theta: &[f64]) -> Vec<usize> {
        let (ns, na, t_max) = (self.n_states(), self.next[0].len(), self.horizon);
        let r = self.rewards(theta);
        let mut v = vec![0.0; ns];
        let mut best = vec![vec![0usize; ns]; t_max];
        for t in (0..t_max).rev() {
            let mut nv = vec![0.0; ns];
            for s in 0..ns {
                let mut b = (f64::NEG_INFINITY, 0);
                for a in 0..na {
                    let sp = self.next[s][a];
                    let x = r[sp] + v[sp];
                    if x > b.0 {
                        b = (x, a);
                    }
                }
                nv[s] = b.0;
                best[t][s] = b.1;
            }
            v = nv;
        }
        let mut s = self.start;
        (0..t_max)
            .map(|t| {
                s = self.next[s][best[t][s]];
                s
            })
            .collect()
    }

    /// The feature counts of a path.
    pub fn features(&self, path: &[usize]) -> Vec<f64> {
        let mut f = vec![0.0; self.n_features()];
        for &s in path {
            for (x, p) in f.iter_mut().zip(&self.phi[s]) {
                *x += p;
            }
        }
        f
    }

    /// The return of a path under θ.
    pub fn path_return(&self, path: &[usize], theta: &[f64]) -> f64 {
        let r = self.rewards(theta);
        path.iter().map(|&s| r[s]).sum()
    }

    /// Samples a path from the MaxEnt distribution of a soft solution.
    pub fn sample_path<R: rand::Rng + ?Sized>(
        &self,
        sol: &SoftSolution,
        rng: &mut R,
    ) -> Vec<usize> {
        use rand::RngExt;
        let mut s = self.start;
        (0..self.horizon)
            .map(|t| {
                let u: f64 = rng.random();
                let mut acc = 0.0;
                let p = &sol.policy[t][s];
                let mut a = p.len() - 1;
                for (i, x) in p.iter().enumerate() {
                    acc += x;
                    if u < acc {
                        a = i;
                        break;
                    }
                }
                s = self.next[s][a];
                s
            })
            .collect()
    }

    /// KL(P_θ ‖ P_θ̂) between the two MaxEnt trajectory distributions:
    /// (θ − θ̂)ᵀμ_θ − log Z_θ + log Z_θ̂ (exact).
    pub fn kl(&self, theta: &[f64], theta_hat: &[f64]) -> f64 {
        let a = self.soft(theta);
        let b = self.soft(theta_hat);
        let d: f64 = theta
            .iter()
            .zip(theta_hat)
            .zip(&a.mu)
            .map(|((x, y), m)| (x - y) * m)
            .sum();
        (d - a.log_z + b.log_z).max(0.0)
    }
}

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
