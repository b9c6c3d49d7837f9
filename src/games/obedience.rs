//! Should robots be obedient? The supervision game of Milli, Hadfield-Menell, Dragan & Russell (IJCAI 2017).
//!
//! Every round n the robot faces a fresh set of actions with features φ(a) ∈ R^d; the human, who knows θ,
//! orders an action from a noisy (Boltzmann) policy π(a) ∝ exp(θᵀφ(a)/β) (β = 0: rational); the robot either
//! obeys or executes the action its inference of θ says is best. Obedience O_n = P(robot executes the order);
//! autonomy advantage Δ_n = E[θᵀφ(robot's action) − θᵀφ(order)].
//!
//! Robots: `obedient` (executes the order); `mle` and `map` (inverse RL: the maximum-likelihood θ̂, or the
//! maximum a posteriori θ̂ under the N(0, I) prior, from every order so far including the current one, by Newton's
//! method with backtracking on the concave log-likelihood, warm-started from the previous round; the MLE is kept in a ball of radius [`MLE_RADIUS`] since it diverges
//! while the orders are separable); `bayes` (the Bayes-optimal robot: the exact posterior over a fixed sample of
//! `particles` values of θ — the prior the world draws θ from — and the action best for the posterior mean).
//! Each robot has its own model of the human: the features it knows (`robot_features` ≤ `features`: a robot
//! missing features is misspecified) and the β it assumes.
//!
//! The action sets include `dominated` extra actions per round, each the midpoint of two others: such an action is
//! never the unique best for any θ (Lemma 1's dominated actions), though a noisy human may order it.

#![allow(clippy::needless_range_loop)] // per-robot, per-round tables indexed together

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::numerics::Z95;
use crate::rng::{derive_seed, job_rng};

/// Radius of the ball the MLE is kept in.
pub const MLE_RADIUS: f64 = 100.0;

/// One robot of the study.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RobotSpec {
    /// obedient, mle, map or bayes.
    pub kind: String,
    /// The human rationality the robot assumes (default: the true β).
    pub beta: Option<f64>,
    /// How many of the features the robot knows (default: all).
    pub features: Option<usize>,
    /// A label for plots (default: the kind, with its misspecification).
    pub label: Option<String>,
}

/// The study's parameters.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Obedience {
    /// d: features of an action.
    pub features: usize,
    /// Actions per round (before the dominated ones).
    pub actions: usize,
    /// Dominated (midpoint) actions added per round.
    #[serde(default)]
    pub dominated: usize,
    /// Rounds per run.
    pub rounds: usize,
    /// Independent runs (θ drawn afresh each).
    pub seeds: usize,
    /// The prior sample of θ the world and the Bayes robot share.
    pub particles: usize,
    /// The true human rationalities studied.
    pub betas: Vec<f64>,
    /// The robots compared.
    pub robots: Vec<RobotSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Obedient,
    Mle,
    Map,
    Bayes,
}

impl Obedience {
    /// Checks the parameters (an error names the field).
    pub fn check(&self) -> Result<()> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("obedience.{f}"), m));
        if self.features == 0 || self.features > 64 {
            return bad(
                "features",
                format!("must be in 1..=64, got {}", self.features),
            );
        }
        if self.actions < 2 {
            return bad("actions", format!("need at least 2, got {}", self.actions));
        }
        if self.rounds == 0 || self.seeds < 2 || self.particles == 0 {
            return bad(
                "rounds",
                "rounds, particles ≥ 1 and seeds ≥ 2 (for confidence intervals)".into(),
            );
        }
        if self.betas.is_empty() || self.betas.iter().any(|b| !(b.is_finite() && *b >= 0.0)) {
            return bad("betas", "a non-empty list of β ≥ 0".into());
        }
        if self.robots.is_empty() {
            return bad("robots", "add at least one robot".into());
        }
        for (i, r) in self.robots.iter().enumerate() {
            kind(&r.kind).map_err(|e| Error::invalid(format!("obedience.robots[{i}].kind"), e))?;
            if let Some(b) = r.beta
                && !(b.is_finite() && b >= 0.0)
            {
                return bad(
                    &format!("robots[{i}].beta"),
                    format!("must be ≥ 0, got {b}"),
                );
            }
            if let Some(f) = r.features
                && (f == 0 || f > self.features)
            {
                return bad(
                    &format!("robots[{i}].features"),
                    format!("must be in 1..={}, got {f}", self.features),
                );
            }
        }
        Ok(())
    }
}

fn kind(s: &str) -> std::result::Result<Kind, String> {
    match s {
        "obedient" => Ok(Kind::Obedient),
        "mle" => Ok(Kind::Mle),
        "map" => Ok(Kind::Map),
        "bayes" => Ok(Kind::Bayes),
        other => Err(format!("'{other}': use obedient, mle, map or bayes")),
    }
}

impl RobotSpec {
    /// The label of the robot in tables and plots.
    pub fn name(&self, d: usize) -> String {
        if let Some(l) = &self.label {
            return l.clone();
        }
        let mut s = self.kind.clone();
        if let Some(b) = self.beta {
            s += &format!(" (assumes β = {b})");
        }
        if let Some(f) = self.features
            && f < d
        {
            s += &format!(" ({f} of {d} features)");
        }
        s
    }
}

/// Log-probabilities of a Boltzmann human with temperature β over actions with utilities `u` (β = 0: uniform over
/// the maximisers, −∞ elsewhere).
fn log_policy(u: &[f64], beta: f64, out: &mut [f64]) {
    let m = u.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if beta == 0.0 {
        let ties = u
            .iter()
            .filter(|x| **x >= m - 1e-12 * m.abs().max(1.0))
            .count() as f64;
        for (o, x) in out.iter_mut().zip(u) {
            *o = if *x >= m - 1e-12 * m.abs().max(1.0) {
                -ties.ln()
            } else {
                f64::NEG_INFINITY
            };
        }
        return;
    }
    let z: f64 = u.iter().map(|x| ((x - m) / beta).exp()).sum();
    let lz = z.ln();
    for (o, x) in out.iter_mut().zip(u) {
        *o = (x - m) / beta - lz;
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn argmax(u: &[f64]) -> usize {
    let mut best = 0;
    for (i, x) in u.iter().enumerate() {
        if *x > u[best] {
            best = i;
        }
    }
    best
}

/// One round's data: features of every action and the order.
struct Round {
    phi: Vec<Vec<f64>>,
    order: usize,
}

/// The objective Σ log π(order | θ) (− ½‖θ‖² for MAP) over the first θ.len() features.
fn objective(theta: &[f64], rounds: &[Round], beta: f64, map: bool) -> f64 {
    let d = theta.len();
    let mut lp = Vec::new();
    let mut total = 0.0;
    for r in rounds {
        let u: Vec<f64> = r.phi.iter().map(|f| dot(&f[..d], theta)).collect();
        lp.resize(u.len(), 0.0);
        log_policy(&u, beta, &mut lp);
        total += lp[r.order];
    }
    if map {
        total -= 0.5 * dot(theta, theta);
    }
    total
}

/// Newton ascent with backtracking of the concave log-likelihood (log-posterior for MAP) from `theta`, kept in
/// the ball of radius [`MLE_RADIUS`], until the step is below 1e-8 or `max_steps` steps.
fn newton(theta: &mut [f64], rounds: &[Round], beta: f64, map: bool, max_steps: usize) {
    let d = theta.len();
    if beta == 0.0 {
        return; // the rational likelihood is flat or zero: no gradient
    }
    let mut grad = vec![0.0; d];
    let mut hess = nalgebra::DMatrix::<f64>::zeros(d, d);
    let mut p = Vec::new();
    let mut f0 = objective(theta, rounds, beta, map);
    for _ in 0..max_steps {
        grad.iter_mut().for_each(|g| *g = 0.0);
        hess.fill(0.0);
        for r in rounds {
            let u: Vec<f64> = r.phi.iter().map(|f| dot(&f[..d], theta)).collect();
            p.resize(u.len(), 0.0);
            log_policy(&u, beta, &mut p);
            p.iter_mut().for_each(|x| *x = x.exp());
            let mut mean = vec![0.0; d];
            for (f, w) in r.phi.iter().zip(&p) {
                for j in 0..d {
                    mean[j] += w * f[j];
                }
            }
            for j in 0..d {
                grad[j] += (r.phi[r.order][j] - mean[j]) / beta;
            }
            // Hessian: −Cov_π(φ)/β².
            for (f, w) in r.phi.iter().zip(&p) {
                for j in 0..d {
                    let dj = f[j] - mean[j];
                    for k in 0..=j {
                        hess[(j, k)] -= w * dj * (f[k] - mean[k]) / (beta * beta);
                    }
                }
            }
        }
        for j in 0..d {
            for k in 0..j {
                hess[(k, j)] = hess[(j, k)];
            }
        }
        if map {
            for j in 0..d {
                grad[j] -= theta[j];
                hess[(j, j)] -= 1.0;
            }
        }
        let mut neg = -hess.clone();
        for j in 0..d {
            neg[(j, j)] += 1e-9 * (1.0 + neg[(j, j)].abs());
        }
        let g = nalgebra::DVector::from_column_slice(&grad);
        let step = match neg.cholesky() {
            Some(c) => c.solve(&g),
            None => g.clone(),
        };
        // Backtracking: halve the step until the objective rises (it is concave, so this ends).
        let mut t = 1.0;
        let mut accepted = false;
        let mut trial = vec![0.0; d];
        for _ in 0..40 {
            for j in 0..d {
                trial[j] = theta[j] + t * step[j];
            }
            let norm = dot(&trial, &trial).sqrt();
            if norm > MLE_RADIUS {
                trial.iter_mut().for_each(|x| *x *= MLE_RADIUS / norm);
            }
            let f1 = objective(&trial, rounds, beta, map);
            if f1 >= f0 {
                theta.copy_from_slice(&trial);
                f0 = f1;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted || t * step.norm() < 1e-8 {
            break;
        }
    }
}

/// What one run (one seed) records per robot and round: whether it obeyed (0/1), its autonomy advantage and
/// its square, and whether it executed a dominated action (0/1). Summed over seeds by [`summarize`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Acc {
    /// Obeyed (0/1), summed.
    pub obey: f64,
    /// The autonomy advantage, summed.
    pub adv: f64,
    /// Its square, summed.
    pub adv2: f64,
    /// Executed a dominated action (0/1), summed.
    pub dominated: f64,
}

/// One row of the study's results.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// The true human's rationality β.
    pub beta: f64,
    /// The robot's name.
    pub robot: String,
    /// The round (from 1).
    pub round: usize,
    /// Fraction of runs in which the robot obeyed.
    pub obedience: f64,
    /// Its 95% interval's lower end.
    pub obedience_ci_low: f64,
    /// Its 95% interval's upper end.
    pub obedience_ci_high: f64,
    /// The mean autonomy advantage: the true value of the robot's action minus the human's order's.
    pub advantage: f64,
    /// Its 95% interval's lower end.
    pub advantage_ci_low: f64,
    /// Its 95% interval's upper end.
    pub advantage_ci_high: f64,
    /// Fraction of runs in which the robot executed a dominated action this round.
    pub dominated: f64,
}

/// The prior sample of θ for the `bi`-th β (shared by the world and the Bayes robots), from its own stream.
pub fn prior_sample(cfg: &Obedience, seed: u64, bi: usize) -> Vec<Vec<f64>> {
    let mut prng = job_rng(derive_seed(seed, 1 + bi as u64, 0), 0);
    (0..cfg.particles)
        .map(|_| {
            (0..cfg.features)
                .map(|_| StandardNormal.sample(&mut prng))
                .collect()
        })
        .collect()
}

/// Plays run `s` of the `bi`-th β (its stream keyed by (seed, β index, run)): per robot and round, what it did.
pub fn play(
    cfg: &Obedience,
    seed: u64,
    bi: usize,
    s: usize,
    particles: &[Vec<f64>],
) -> Vec<Vec<Acc>> {
    let d = cfg.features;
    let beta = cfg.betas[bi];
    let kinds: Vec<Kind> = cfg
        .robots
        .iter()
        .map(|r| kind(&r.kind).expect("checked"))
        .collect();
    let nr = cfg.robots.len();
    let mut rng = job_rng(derive_seed(seed, 1 + bi as u64, 1 + s as u64), 0);
    let theta = particles[rng.random_range(0..cfg.particles)].clone();
    let mut hist: Vec<Round> = Vec::with_capacity(cfg.rounds);
    // Robot state: log-weights over particles (Bayes), θ̂ (MLE / MAP).
    let mut logw: Vec<Vec<f64>> = vec![vec![0.0; cfg.particles]; nr];
    let mut est: Vec<Vec<f64>> = cfg
        .robots
        .iter()
        .map(|r| vec![0.0; r.features.unwrap_or(d)])
        .collect();
    let mut out = vec![vec![Acc::default(); cfg.rounds]; nr];
    let mut lp = Vec::new();
    for n in 0..cfg.rounds {
        // Actions: random features, then dominated midpoints of random pairs.
        let mut phi: Vec<Vec<f64>> = (0..cfg.actions)
            .map(|_| (0..d).map(|_| StandardNormal.sample(&mut rng)).collect())
            .collect();
        for _ in 0..cfg.dominated {
            let i = rng.random_range(0..cfg.actions);
            let mut j = rng.random_range(0..cfg.actions - 1);
            if j >= i {
                j += 1;
            }
            let mid = (0..d).map(|k| 0.5 * (phi[i][k] + phi[j][k])).collect();
            phi.push(mid);
        }
        let na = phi.len();
        let u: Vec<f64> = phi.iter().map(|f| dot(f, &theta)).collect();
        // The human's order.
        lp.resize(na, 0.0);
        log_policy(&u, beta, &mut lp);
        let x: f64 = rng.random();
        let mut acc = 0.0;
        let mut order = na - 1;
        for (a, l) in lp.iter().enumerate() {
            acc += l.exp();
            if x < acc {
                order = a;
                break;
            }
        }
        hist.push(Round { phi, order });
        let r = hist.last().expect("pushed");
        for (k, spec) in cfg.robots.iter().enumerate() {
            let dk = spec.features.unwrap_or(d);
            let bk = spec.beta.unwrap_or(beta);
            let act = match kinds[k] {
                Kind::Obedient => r.order,
                Kind::Bayes => {
                    // Update with this round's order, then act for the posterior mean.
                    let mut lpk = vec![0.0; na];
                    for (w, th) in logw[k].iter_mut().zip(particles) {
                        let uk: Vec<f64> = r.phi.iter().map(|f| dot(&f[..dk], &th[..dk])).collect();
                        log_policy(&uk, bk, &mut lpk);
                        *w += lpk[r.order];
                    }
                    let m = logw[k].iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    if m == f64::NEG_INFINITY {
                        // The robot's model gives the observed orders probability 0 (a misspecified
                        // rational model): it falls back to obeying.
                        r.order
                    } else {
                        let mut mean = vec![0.0; dk];
                        let mut z = 0.0;
                        for (w, th) in logw[k].iter().zip(particles) {
                            let e = (w - m).exp();
                            z += e;
                            for j in 0..dk {
                                mean[j] += e * th[j];
                            }
                        }
                        mean.iter_mut().for_each(|x| *x /= z);
                        let uk: Vec<f64> = r.phi.iter().map(|f| dot(&f[..dk], &mean)).collect();
                        // Ties go to the order.
                        let b = argmax(&uk);
                        if uk[r.order] >= uk[b] - 1e-12 * uk[b].abs().max(1.0) {
                            r.order
                        } else {
                            b
                        }
                    }
                }
                Kind::Mle | Kind::Map => {
                    let trunc: Vec<Round> = hist
                        .iter()
                        .map(|h| Round {
                            phi: h.phi.iter().map(|f| f[..dk].to_vec()).collect(),
                            order: h.order,
                        })
                        .collect();
                    newton(&mut est[k], &trunc, bk, kinds[k] == Kind::Map, 30);
                    if est[k].iter().all(|x| *x == 0.0) {
                        r.order
                    } else {
                        let uk: Vec<f64> = r.phi.iter().map(|f| dot(&f[..dk], &est[k])).collect();
                        // Obey only on an exact tie: the MLE of a dominated order drives θ̂ to where
                        // the order ties with the actions it is the midpoint of, and never past.
                        let b = argmax(&uk);
                        if uk[r.order] >= uk[b] { r.order } else { b }
                    }
                }
            };
            let a = &mut out[k][n];
            a.obey = (act == r.order) as u8 as f64;
            let adv = u[act] - u[r.order];
            a.adv = adv;
            a.adv2 = adv * adv;
            a.dominated = (act >= cfg.actions) as u8 as f64;
        }
    }
    out
}

/// The rows of the `bi`-th β from its runs' records, in seed order (the sums run over the seeds in order).
pub fn summarize(cfg: &Obedience, bi: usize, per_seed: &[Vec<Vec<Acc>>]) -> Vec<Row> {
    let d = cfg.features;
    let beta = cfg.betas[bi];
    let mut rows = Vec::new();
    let ns = cfg.seeds as f64;
    for (k, spec) in cfg.robots.iter().enumerate() {
        for n in 0..cfg.rounds {
            let (mut o, mut a, mut a2, mut dm) = (0.0, 0.0, 0.0, 0.0);
            for s in per_seed {
                o += s[k][n].obey;
                a += s[k][n].adv;
                a2 += s[k][n].adv2;
                dm += s[k][n].dominated;
            }
            let (om, am) = (o / ns, a / ns);
            let ose = (om * (1.0 - om) / ns).sqrt();
            let ase = ((a2 / ns - am * am).max(0.0) / (ns - 1.0)).sqrt();
            rows.push(Row {
                beta,
                robot: spec.name(d),
                round: n + 1,
                obedience: om,
                obedience_ci_low: om - Z95 * ose,
                obedience_ci_high: om + Z95 * ose,
                advantage: am,
                advantage_ci_low: am - Z95 * ase,
                advantage_ci_high: am + Z95 * ase,
                dominated: dm / ns,
            });
        }
    }
    rows
}

/// Runs the study: every (β, seed) is one run with streams keyed by (seed, β index, run), so the results do not
/// depend on the thread count.
pub fn run(cfg: &Obedience, seed: u64) -> Result<Vec<Row>> {
    cfg.check()?;
    let mut rows = Vec::new();
    for bi in 0..cfg.betas.len() {
        let particles = prior_sample(cfg, seed, bi);
        let per_seed: Vec<Vec<Vec<Acc>>> = (0..cfg.seeds)
            .into_par_iter()
            .map(|s| play(cfg, seed, bi, s, &particles))
            .collect();
        rows.extend(summarize(cfg, bi, &per_seed));
    }
    Ok(rows)
}
