//! Apprenticeship CIRL (Hadfield-Menell, Russell, Abbeel & Dragan, NeurIPS 2016, §5): does the human do better
//! by teaching than by demonstrating as an expert?
//!
//! A `size`×`size` grid; actions north, south, east, west and stay (walls keep the agent in place); N_φ radial-basis
//! features φ_i(s) = exp(−‖s − c_i‖²/(2w²)) with known centres c_i drawn uniformly on the grid; the reward is
//! r_θ(s) = θᵀφ(s), θ ~ U[−1, 1]^N_φ. In the learning phase (the first half of the horizon, T steps, from the
//! middle of the grid) the human moves and the robot watches; in deployment (the second half, T steps) "R is placed
//! in a random state and given control of the robot" (the paper, §4.1): the robot follows the T-step plan optimal
//! for its estimate θ̂.
//!
//! - **Expert demonstration (DBE):** the human walks the return-maximising T-step path for θ.
//! - **Teaching:** the human picks τ maximising φ(τ)ᵀθ − η‖φ_θ − φ(τ)‖², with φ_θ the expected feature counts of
//!   the MaxEnt trajectory distribution for θ — the counts a MaxEnt-IRL learner matches, so such a τ points the
//!   learner at θ itself. The maximisation is over a candidate set (the expert path and samples from the MaxEnt
//!   distributions of θ, 2θ and 4θ): a heuristic, as in the paper.
//! - **Robot:** MaxEnt IRL on the human's path (MAP with a N(0, 1/3·I) prior, the variance of U[−1, 1]), then
//!   the optimal T-step path for θ̂.
//!
//! Metrics: regret (the best T-step return for θ minus the return of the robot's plan, under θ, in expectation
//! over a uniformly random deployment start — exactly, as the mean over every start state), the same from the
//! demonstration's start only (where the expert's path is optimal by construction, so any θ̂ that repeats it has
//! regret 0 however wrong it is elsewhere), the KL divergence between the MaxEnt trajectory distributions of θ and
//! θ̂ (exact), the paper's ℓ2 measure ‖Φθ − Φθ̂‖₂ between the reward vectors over all states, and ‖θ − θ̂‖₂.

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
    /// The true return the robot loses against the optimal plan in the deployment phase, in expectation over a
    /// uniformly random start state (the paper's protocol).
    pub regret: f64,
    /// The same, deployed from the demonstration's start.
    pub regret_at_start: f64,
    /// KL(P_θ ‖ P_θ̂) between the true and the learnt MaxEnt trajectory distributions (see [`Mdp::kl`]).
    pub kl: f64,
    /// ‖θ − θ̂‖₂.
    pub theta_error: f64,
    /// ‖Φθ − Φθ̂‖₂, the distance between the reward vectors over all states (the paper's ℓ2 measure).
    pub reward_error: f64,
    /// The demonstration's true return.
    pub demonstration_return: f64,
    /// The weights the robot learnt.
    pub theta_hat: Vec<f64>,
    /// The demonstration's path (states).
    pub demo: Vec<usize>,
    /// The robot's deployment path from the demonstration's start (states).
    pub robot: Vec<usize>,
}

/// Deployment regret of the plan optimal for `theta_hat`, under the instance's θ: (the mean over uniformly
/// random start states, from the demonstration's start).
pub fn regret(inst: &Instance, theta_hat: &[f64]) -> (f64, f64) {
    let m = &inst.mdp;
    let (_, best) = m.plan(&inst.theta);
    let (plan, _) = m.plan(theta_hat);
    let got = m.plan_returns(&plan, &inst.theta);
    let mean = best.iter().zip(&got).map(|(b, g)| b - g).sum::<f64>() / best.len() as f64;
    (mean, best[m.start] - got[m.start])
}

/// Scores a robot that learnt `theta_hat` from the demonstration `demo` (by the learner of the experiment's
/// choice; [`crate::learn::irl::maxent_irl`] in the paper's): it is deployed on the plan optimal for θ̂.
pub fn score(inst: &Instance, demo: Vec<usize>, theta_hat: Vec<f64>) -> Outcome {
    let m = &inst.mdp;
    let robot = m.optimal_path(&theta_hat);
    let (regret, regret_at_start) = regret(inst, &theta_hat);
    let norm = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    Outcome {
        regret,
        regret_at_start,
        kl: m.kl(&inst.theta, &theta_hat),
        theta_error: norm(&inst.theta, &theta_hat),
        reward_error: norm(&m.rewards(&inst.theta), &m.rewards(&theta_hat)),
        demonstration_return: m.path_return(&demo, &inst.theta),
        theta_hat,
        demo,
        robot,
    }
}

/// The one-shot apprenticeship game of the paper's supplementary material (the example after Theorem 3): two
/// goods, θ ~ U\[0, 1\] weighs them (the reward of making (x, y) is θx + (1 − θ)y), the human makes one of
/// `human`, the robot sees it and makes one of `robot`, and both earn the sum. Returns, for every human action,
/// the set of θ on which the human plays it as an interval (lo, hi) after two rounds of best response starting
/// from the expert: the robot's best response to the expert human (who makes what is best for θ alone), then the
/// human's best response to that robot; `None` for an action the human never plays.
///
/// The robot's posterior after an action is uniform on the θ where the human plays it; for an action the expert
/// plays at one θ only (a tie, as (1, 1) at θ = ½ in the paper's example) it is that point, and for one the
/// expert never plays, the prior. The robot then makes what is best for the posterior mean (rewards are linear
/// in θ); ties go to the first action. Interval ends are crossings of the best responses' lines, exact but for
/// rounding (1e-15).
///
/// # Example
/// ```
/// use cirl::games::apprenticeship::one_shot_best_responses;
/// let human = [(0.0, 2.0), (1.0, 1.0), (2.0, 0.0)];
/// let robot = [(0.0, 90.0), (50.0, 50.0), (90.0, 0.0)];
/// let (lo, hi) = one_shot_best_responses(&human, &robot)[1].unwrap();
/// assert!((lo - 41.0 / 92.0).abs() < 1e-12 && (hi - 51.0 / 92.0).abs() < 1e-12);
/// ```
pub fn one_shot_best_responses(
    human: &[(f64, f64)],
    robot: &[(f64, f64)],
) -> Vec<Option<(f64, f64)>> {
    // A good's value as a line in θ: (value at θ = 0, slope).
    let line = |(x, y): (f64, f64)| (y, x - y);
    let expert: Vec<(f64, f64)> = human.iter().map(|&g| line(g)).collect();
    let expert_sets = envelope_sets(&expert);
    // The robot's response to each human action: best for the posterior mean.
    let respond = |mean: f64| -> (f64, f64) {
        let mut best = (f64::NEG_INFINITY, (0.0, 0.0));
        for &g in robot {
            let (b, m) = line(g);
            if b + m * mean > best.0 {
                best = (b + m * mean, (b, m));
            }
        }
        best.1
    };
    let joint: Vec<(f64, f64)> = expert
        .iter()
        .zip(&expert_sets)
        .map(|(&(b, m), set)| {
            let mean = set.map_or(0.5, |(lo, hi)| 0.5 * (lo + hi));
            let (rb, rm) = respond(mean);
            (b + rb, m + rm)
        })
        .collect();
    envelope_sets(&joint)
}

/// For lines (intercept, slope) over θ ∈ \[0, 1\], the interval of θ where each attains the upper envelope
/// (ties go to the first line; a line that is best only at a tie point gets that point).
fn envelope_sets(lines: &[(f64, f64)]) -> Vec<Option<(f64, f64)>> {
    let value = |i: usize, t: f64| lines[i].0 + lines[i].1 * t;
    let mut cuts = vec![0.0, 1.0];
    for i in 0..lines.len() {
        for j in i + 1..lines.len() {
            let dm = lines[i].1 - lines[j].1;
            if dm != 0.0 {
                let t = (lines[j].0 - lines[i].0) / dm;
                if (0.0..=1.0).contains(&t) {
                    cuts.push(t);
                }
            }
        }
    }
    cuts.sort_by(f64::total_cmp);
    cuts.dedup();
    let best_at = |t: f64| -> f64 {
        (0..lines.len())
            .map(|i| value(i, t))
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let mut sets: Vec<Option<(f64, f64)>> = vec![None; lines.len()];
    let mut widen = |i: usize, lo: f64, hi: f64| {
        sets[i] = Some(match sets[i] {
            None => (lo, hi),
            Some((a, b)) => (a.min(lo), b.max(hi)),
        });
    };
    // Open segments: the first best line at the midpoint holds the whole segment (lines cross only at cuts).
    for w in cuts.windows(2) {
        let mid = 0.5 * (w[0] + w[1]);
        let top = best_at(mid);
        if let Some(i) = (0..lines.len()).find(|&i| value(i, mid) >= top) {
            widen(i, w[0], w[1]);
        }
    }
    // Lines best at a tie point only.
    for &t in &cuts {
        let top = best_at(t);
        for (i, set) in sets.iter_mut().enumerate() {
            if set.is_none() && (value(i, t) - top).abs() <= 1e-12 * top.abs().max(1.0) {
                *set = Some((t, t));
            }
        }
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn game() -> Apprenticeship {
        Apprenticeship {
            size: 7,
            features: vec![3],
            width: 1.5,
            horizon: 12,
            eta: 0.3,
            candidates: 20,
            instances: 2,
        }
    }

    #[test]
    fn a_plan_earns_its_own_values_and_regret_is_zero_for_the_truth() {
        for i in 0..20 {
            let inst = instance(&game(), 3, 11, i);
            let m = &inst.mdp;
            let (plan, best) = m.plan(&inst.theta);
            let got = m.plan_returns(&plan, &inst.theta);
            for (a, b) in best.iter().zip(&got) {
                assert!((a - b).abs() < 1e-12);
            }
            assert_eq!(m.follow(&plan, m.start), m.optimal_path(&inst.theta));
            assert_eq!(regret(&inst, &inst.theta), (0.0, 0.0));
            // A plan depends on the reward's direction only; any other θ̂ loses something, never gains.
            let scaled: Vec<f64> = inst.theta.iter().map(|x| 3.0 * x).collect();
            assert_eq!(regret(&inst, &scaled), (0.0, 0.0));
            let flipped: Vec<f64> = inst.theta.iter().map(|x| -x).collect();
            let (r, r0) = regret(&inst, &flipped);
            assert!(r > 0.0 && r0 >= 0.0);
        }
    }

    #[test]
    fn scores_measure_the_reward_vectors_distance() {
        let inst = instance(&game(), 3, 4, 0);
        let hat = vec![0.0; 3];
        let o = score(&inst, inst.mdp.optimal_path(&inst.theta), hat);
        let r = inst.mdp.rewards(&inst.theta);
        let want = r.iter().map(|x| x * x).sum::<f64>().sqrt();
        assert!((o.reward_error - want).abs() < 1e-12);
        assert!(o.regret >= o.regret_at_start.min(o.regret) && o.regret > 0.0);
    }

    #[test]
    fn one_shot_example_without_ties() {
        // A human whose three goods are each best somewhere: the robot learns the interval, and a generous
        // robot response widens the middle good's interval.
        let human = [(0.0, 3.0), (2.0, 2.0), (3.0, 0.0)];
        let robot = [(0.0, 10.0), (10.0, 0.0)];
        let sets = one_shot_best_responses(&human, &robot);
        let (lo, hi) = sets[1].unwrap();
        assert!(lo > 0.0 && hi < 1.0 && lo < hi);
        assert_eq!(
            envelope_sets(&[(0.0, 1.0), (1.0, -1.0)]),
            vec![Some((0.5, 1.0)), Some((0.0, 0.5))]
        );
        // A line that is never best.
        assert_eq!(envelope_sets(&[(0.0, 0.0), (1.0, 0.0)])[0], None);
    }
}
