//! Apprenticeship CIRL (Hadfield-Menell, Russell, Abbeel & Dragan, NeurIPS 2016, §5): does the human do better
//! by teaching than by demonstrating as an expert?
//!
//! A `size`×`size` grid; actions north, south, east, west and stay (walls keep the agent in place); N_φ radial-basis
//! features φ_i(s) = exp(−‖s − c_i‖²/(2w²)) with known centres c_i drawn uniformly on the grid; the reward is
//! r_θ(s) = θᵀφ(s), θ ~ U[−1, 1]^N_φ; everyone starts in the middle. In the learning phase (the first half of the
//! horizon, T steps) the human moves and the robot watches; in deployment (the second half, T steps from the
//! start again) the robot acts for its estimate θ̂.
//!
//! - **Expert demonstration (DBE):** the human walks the return-maximising T-step path for θ.
//! - **Teaching:** the human picks τ maximising φ(τ)ᵀθ − η‖φ_θ − φ(τ)‖², with φ_θ the expected feature counts of
//!   the MaxEnt trajectory distribution for θ — the counts a MaxEnt-IRL learner matches, so such a τ points the
//!   learner at θ itself. The maximisation is over a candidate set (the expert path and samples from the MaxEnt
//!   distributions of θ, 2θ and 4θ): a heuristic, as in the paper.
//! - **Robot:** MaxEnt IRL on the human's path (MAP with a N(0, 1/3·I) prior, the variance of U[−1, 1]), then
//!   the optimal T-step path for θ̂.
//!
//! Metrics: regret (the best T-step return for θ minus the return of the robot's path, under θ), the KL
//! divergence between the MaxEnt trajectory distributions of θ and θ̂ (exact), and ‖θ − θ̂‖.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::feature_mdp::Mdp;
use crate::rng::{derive_seed, job_rng};

/// The study's parameters.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Apprenticeship {
    /// Grid side.
    pub size: usize,
    /// The feature counts N_φ compared.
    pub features: Vec<usize>,
    /// Width w of the radial-basis features.
    pub width: f64,
    /// The whole horizon (learning phase = first half).
    pub horizon: usize,
    /// Teaching's penalty weight η.
    pub eta: f64,
    /// Samples per MaxEnt temperature in the teaching candidate set.
    pub candidates: usize,
    /// Random θ per condition.
    pub instances: usize,
}

impl Apprenticeship {
    /// Checks the parameters (an error names the field).
    pub fn check(&self) -> Result<()> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("apprenticeship.{f}"), m));
        if self.size < 2 || self.size > 64 {
            return bad("size", format!("must be in 2..=64, got {}", self.size));
        }
        if self.features.is_empty() || self.features.iter().any(|&k| k == 0 || k > 32) {
            return bad("features", "a list of feature counts in 1..=32".into());
        }
        if !(self.width.is_finite() && self.width > 0.0) {
            return bad("width", format!("must be > 0, got {}", self.width));
        }
        if self.horizon < 2 || !self.horizon.is_multiple_of(2) {
            return bad(
                "horizon",
                format!("must be even and ≥ 2, got {}", self.horizon),
            );
        }
        if !(self.eta.is_finite() && self.eta >= 0.0) {
            return bad("eta", format!("must be ≥ 0, got {}", self.eta));
        }
        if self.instances < 2 {
            return bad(
                "instances",
                "need at least 2 for confidence intervals".into(),
            );
        }
        Ok(())
    }
}

/// One random instance: centres, θ, and the MDP of a phase (T = horizon/2 steps).
#[derive(Debug, Clone)]
pub struct Instance {
    /// The feature centres on the grid.
    pub centres: Vec<(f64, f64)>,
    /// The true reward weights θ.
    pub theta: Vec<f64>,
    /// The MDP of one phase.
    pub mdp: Mdp,
}

/// Builds instance `index` with `k` features (seeded by (seed, k, index)).
pub fn instance(cfg: &Apprenticeship, k: usize, seed: u64, index: u64) -> Instance {
    let mut rng = job_rng(derive_seed(seed, k as u64, index), 0);
    let n = cfg.size;
    let centres: Vec<(f64, f64)> = (0..k)
        .map(|_| (rng.random_range(0..n) as f64, rng.random_range(0..n) as f64))
        .collect();
    let theta: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
    let mut next = vec![vec![0; 5]; n * n];
    let mut phi = vec![vec![0.0; k]; n * n];
    for y in 0..n {
        for x in 0..n {
            let s = y * n + x;
            next[s] = vec![
                if y + 1 < n { s + n } else { s }, // north
                if y > 0 { s - n } else { s },     // south
                if x + 1 < n { s + 1 } else { s }, // east
                if x > 0 { s - 1 } else { s },     // west
                s,                                 // stay
            ];
            for (j, c) in centres.iter().enumerate() {
                let d2 = (x as f64 - c.0).powi(2) + (y as f64 - c.1).powi(2);
                phi[s][j] = (-d2 / (2.0 * cfg.width * cfg.width)).exp();
            }
        }
    }
    Instance {
        centres,
        theta,
        mdp: Mdp {
            next,
            phi,
            start: (n / 2) * n + n / 2,
            horizon: cfg.horizon / 2,
        },
    }
}

/// How the human acts in the learning phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Teacher {
    /// The expert: the optimal path for θ.
    Expert,
    /// The teacher: the path that best trades return for how well it shows θ (best-response teaching).
    Teaching,
}

/// The human's learning-phase path.
pub fn demonstration(cfg: &Apprenticeship, inst: &Instance, who: Teacher, seed: u64) -> Vec<usize> {
    let m = &inst.mdp;
    let expert = m.optimal_path(&inst.theta);
    if who == Teacher::Expert {
        return expert;
    }
    let target = m.soft(&inst.theta).mu;
    let score = |p: &[usize]| -> f64 {
        let f = m.features(p);
        let ret: f64 = f.iter().zip(&inst.theta).map(|(a, b)| a * b).sum();
        let dist: f64 = f.iter().zip(&target).map(|(a, b)| (a - b).powi(2)).sum();
        ret - cfg.eta * dist
    };
    let mut best = (score(&expert), expert);
    let mut rng = job_rng(seed, 7);
    for scale in [1.0, 2.0, 4.0] {
        let th: Vec<f64> = inst.theta.iter().map(|x| scale * x).collect();
        let sol = m.soft(&th);
        for _ in 0..cfg.candidates {
            let p = m.sample_path(&sol, &mut rng);
            let s = score(&p);
            if s > best.0 {
                best = (s, p);
            }
        }
    }
    best.1
}

/// The outcome of one (instance, human) pair.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// The true return the robot loses against the optimal policy in the deployment phase.
    pub regret: f64,
    /// KL(P_θ ‖ P_θ̂) between the true and the learnt MaxEnt trajectory distributions (see [`Mdp::kl`]).
    pub kl: f64,
    /// ‖θ − θ̂‖₂.
    pub theta_error: f64,
    /// The demonstration's true return.
    pub demonstration_return: f64,
    /// The weights the robot learnt.
    pub theta_hat: Vec<f64>,
    /// The demonstration's path (states).
    pub demo: Vec<usize>,
    /// The robot's deployment path (states).
    pub robot: Vec<usize>,
}

/// Scores a robot that learnt `theta_hat` from the demonstration `demo` (by the learner of the experiment's
/// choice; [`crate::learn::irl::maxent_irl`] in the paper's): it is deployed on the path optimal for θ̂.
pub fn score(inst: &Instance, demo: Vec<usize>, theta_hat: Vec<f64>) -> Outcome {
    let m = &inst.mdp;
    let robot = m.optimal_path(&theta_hat);
    let best = m.path_return(&m.optimal_path(&inst.theta), &inst.theta);
    Outcome {
        regret: best - m.path_return(&robot, &inst.theta),
        kl: m.kl(&inst.theta, &theta_hat),
        theta_error: inst
            .theta
            .iter()
            .zip(&theta_hat)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt(),
        demonstration_return: m.path_return(&demo, &inst.theta),
        theta_hat,
        demo,
        robot,
    }
}
