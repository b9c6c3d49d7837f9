//! Value iteration for the fully observed case: the POMDP's states are treated as seen by the agent. For a CIRL
//! reduction that means the robot knows θ (and the world state), so the value is the full-information team value
//! — an upper bound on the POMDP value (the QMDP bound at the initial belief), and the exact value when the
//! model is in fact fully observed.

#![allow(clippy::needless_range_loop)] // tabular loops index several arrays by the same state

use crate::error::{Error, Result};
use crate::model::Tabular;
use crate::model::cirl::CirlGame;

/// What MDP value iteration returns.
#[derive(Debug, Clone)]
pub struct MdpSolution {
    /// V(s) with all decisions left (the first stage).
    pub values: Vec<f64>,
    /// Q\[a\]\[s\] at the first stage.
    pub q: Vec<Vec<f64>>,
    /// The greedy first-stage action per state (the lowest index among exact ties).
    pub policy: Vec<usize>,
    /// Σ_s b0(s)·V(s).
    pub value: f64,
    /// Value-iteration sweeps.
    pub iterations: usize,
    /// Bound on |value − the infinite-horizon value| (0 for a finite horizon).
    pub error_bound: f64,
}

/// Value iteration: `horizon` backups, or for a discounted infinite-horizon model until the Bellman residual
/// r satisfies γ·r/(1 − γ) ≤ `tolerance` (the standard bound on the distance to V*).
pub fn solve(m: &Tabular, tolerance: f64) -> Result<MdpSolution> {
    m.check()?;
    let (ns, na) = (m.n_states(), m.n_actions());
    if m.horizon.is_none() && m.discount >= 1.0 {
        return Err(Error::invalid(
            "horizon",
            "an undiscounted model needs a horizon",
        ));
    }
    let mut v = vec![0.0; ns];
    let mut q = vec![vec![0.0; ns]; na];
    let mut iterations = 0;
    let mut error_bound = 0.0;
    while m.horizon != Some(0) {
        for a in 0..na {
            for s in 0..ns {
                q[a][s] = m.r[a][s]
                    + m.discount * m.t[a][s].iter().zip(&v).map(|(p, x)| p * x).sum::<f64>();
            }
        }
        let nv: Vec<f64> = (0..ns)
            .map(|s| (0..na).map(|a| q[a][s]).fold(f64::NEG_INFINITY, f64::max))
            .collect();
        let residual = nv
            .iter()
            .zip(&v)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        v = nv;
        iterations += 1;
        match m.horizon {
            Some(h) if iterations >= h => break,
            Some(_) => {}
            None => {
                error_bound = m.discount * residual / (1.0 - m.discount);
                if error_bound <= tolerance || iterations >= 1_000_000 {
                    break;
                }
            }
        }
    }
    let policy = (0..ns)
        .map(|s| {
            let mut best = 0;
            for a in 1..na {
                if q[a][s] > q[best][s] {
                    best = a;
                }
            }
            best
        })
        .collect();
    let value = m.initial.iter().zip(&v).map(|(p, x)| p * x).sum();
    Ok(MdpSolution {
        values: v,
        q,
        policy,
        value,
        iterations,
        error_bound,
    })
}

/// The full-information team value of a CIRL game with a coordinated human: for every θ, value iteration over
/// the world states with the joint action (a^H, a^R) chosen by the team that knows θ; the value is
/// Σ_θ P(θ)·Σ_s P0(s)·V_θ(s). It equals the `mdp` solver on the coordinator reduction (where the robot observes
/// θ) without building that reduction's |A^R|·|A^H|^|Θ| actions, and bounds the CIRL value from above.
/// Returns (value, backups, error bound).
pub fn solve_team(g: &CirlGame, tolerance: f64) -> Result<(f64, usize, f64)> {
    g.check()?;
    if g.horizon.is_none() && g.discount >= 1.0 {
        return Err(Error::invalid(
            "horizon",
            "an undiscounted model needs a horizon",
        ));
    }
    let (ns, nh, nr) = (g.states.len(), g.human_actions.len(), g.robot_actions.len());
    let mut total = 0.0;
    let (mut backups, mut bound) = (0, 0.0f64);
    for (th, &p) in g.prior.iter().enumerate() {
        let mut v = vec![0.0; ns];
        let mut k = 0;
        let mut err = 0.0;
        while g.horizon != Some(0) {
            let nv: Vec<f64> = (0..ns)
                .map(|s| {
                    let mut best = f64::NEG_INFINITY;
                    for h in 0..nh {
                        for r in 0..nr {
                            let future: f64 = g.t[s][h][r].iter().zip(&v).map(|(q, x)| q * x).sum();
                            best = best.max(g.r[th][s][h][r] + g.discount * future);
                        }
                    }
                    best
                })
                .collect();
            let residual = nv
                .iter()
                .zip(&v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            v = nv;
            k += 1;
            match g.horizon {
                Some(h) if k >= h => break,
                Some(_) => {}
                None => {
                    err = g.discount * residual / (1.0 - g.discount);
                    if err <= tolerance || k >= 1_000_000 {
                        break;
                    }
                }
            }
        }
        total += p * g
            .initial_state
            .iter()
            .zip(&v)
            .map(|(q, x)| q * x)
            .sum::<f64>();
        backups = backups.max(k);
        bound = bound.max(err);
    }
    Ok((total, backups, bound))
}
