//! A deterministic tabular MDP whose reward is linear in state features, r_θ(s) = θᵀφ(s), with the exact
//! quantities of the maximum-entropy trajectory distribution P_θ(τ) ∝ exp(Σ_t r_θ(s_t)) over its action
//! sequences from a fixed start: soft value iteration gives log Z_θ and the per-step policy, a forward pass the
//! state visitation and so the expected feature counts μ_θ. The problem of apprenticeship CIRL
//! ([`crate::games::apprenticeship`]); [`crate::learn::irl`] fits θ to demonstrations of it.

#![allow(clippy::needless_range_loop)] // value tables indexed by state, action and feature together

/// A deterministic tabular MDP with state features.
#[derive(Debug, Clone)]
pub struct Mdp {
    /// next\[s\]\[a\].
    pub next: Vec<Vec<usize>>,
    /// phi\[s\]: the features of state s.
    pub phi: Vec<Vec<f64>>,
    /// The start state.
    pub start: usize,
    /// Steps per trajectory.
    pub horizon: usize,
}

/// The exact quantities of the MaxEnt trajectory distribution for a reward vector.
#[derive(Debug, Clone)]
pub struct SoftSolution {
    /// The log partition function over trajectories.
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
    /// The number of states.
    pub fn n_states(&self) -> usize {
        self.next.len()
    }
    /// The number of features.
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

    /// The optimal T-step plan for θ: `best[t][s]`, the action at step t in state s (ties go to the lowest
    /// action), and the optimal T-step return from every start state.
    pub fn plan(&self, theta: &[f64]) -> (Vec<Vec<usize>>, Vec<f64>) {
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
        (best, v)
    }

    /// The states s_1..s_T a plan visits from `start`.
    pub fn follow(&self, best: &[Vec<usize>], start: usize) -> Vec<usize> {
        let mut s = start;
        best.iter()
            .map(|b| {
                s = self.next[s][b[s]];
                s
            })
            .collect()
    }

    /// The T-step return under θ of following `best` (a [`Mdp::plan`]) from every start state.
    pub fn plan_returns(&self, best: &[Vec<usize>], theta: &[f64]) -> Vec<f64> {
        let r = self.rewards(theta);
        let mut v = vec![0.0; self.n_states()];
        for b in best.iter().rev() {
            v = (0..v.len())
                .map(|s| {
                    let sp = self.next[s][b[s]];
                    r[sp] + v[sp]
                })
                .collect();
        }
        v
    }

    /// The optimal (highest-return) trajectory's states s_1..s_T for θ from the start; ties go to the lowest
    /// action.
    pub fn optimal_path(&self, theta: &[f64]) -> Vec<usize> {
        self.follow(&self.plan(theta).0, self.start)
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
