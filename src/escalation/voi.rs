//! The value of asking to learn: for a class whose best policy is uncertain under the posterior, what learning
//! it better is worth, against what it costs to learn by asking.
//!
//! The off-switch game's point — an agent uncertain about the human's values should let the human decide, because
//! the answer is information — applied to the card itself. For class k, J joint draws θ_j from the fit's posterior
//! (its P(bad), its loss tail's (μ, σ²), the reviewer's two rates; Beta distributions of the fit's means and sds,
//! and the tail's normal-inverse-gamma posterior) each give a model of the re-issued scenario, the class's bad
//! atoms at the lognormal's quantiles and weighted P(bad). The policy best under each draw is found and every such
//! policy evaluated under every draw: U\[h\]\[j\], per class-k action.
//!
//! - **EVPI**: mean_j max_h U\[h\]\[j\] − mean_j U\[now\]\[j\], the policy chosen now being the one best at the
//!   posterior-predictive scenario: an upper bound on what any learning is worth, per call.
//! - **Exploring n calls**: asking every one of the class's next n calls yields about ρ·n outcomes (ρ, the share
//!   of its asked calls whose outcome the log holds) and as many answers. EVSI(n) is found by preposterior
//!   simulation: for each draw as the truth, data sets of that size are simulated (bad outcomes, the reviewer's
//!   answers to them, the bad ones' losses), the draws reweighted by their likelihood, and the policy best under
//!   the reweighted posterior is scored under the truth. The cost: n × (the policy chosen now − asking every
//!   call), per call, at the posterior-predictive scenario.
//! - **Verdict**: over the class's next `future` calls, the n that maximises future·EVSI(n) − n·cost among 0, 10,
//!   30, 100, 300, 1,000, 3,000 (0: decide now).
//!
//! Both deployment paths are scored: the per-action policy (the gate) and the class-level move (static rules).
//! Under this model a class's P(bad) alone does not move the per-action policy — that routes on calibrated
//! confidence, whose map the card takes from the scenario — but it moves the static rules; the loss tail and the
//! reviewer move both.

use serde::Serialize;
use statrs::distribution::ContinuousCDF;

use super::model::{Model, Move, Partition, Plan, Policy};
use super::scenario::{Confidence, Scenario};
use crate::belief::Prior;
use crate::error::{Error, Result};

/// The explore budgets compared.
pub const BUDGETS: [u64; 7] = [0, 10, 30, 100, 300, 1000, 3000];

/// What learning one deployment path's inputs is worth for a class.
#[derive(Debug, Clone, Serialize)]
pub struct PathVoi {
    /// EVPI per call of the class, in the scenario's units.
    pub evpi: f64,
    /// The posterior probability that the policy chosen now loses more than 1% of one ask (the scenario's
    /// ask cost) per call against the best one (thresholds that move a hair are not counted).
    pub p_regret: f64,
    /// What asking a call costs against the policy chosen now, per call.
    pub ask_cost: f64,
    /// (n, EVSI(n) per future call, net value future·EVSI − n·cost) for each budget.
    pub budgets: Vec<(u64, f64, f64)>,
    /// The best budget (0: decide now).
    pub explore: u64,
}

/// What learning a class is worth.
#[derive(Debug, Clone, Serialize)]
pub struct Voi {
    /// The class.
    pub class: String,
    /// The gate's per-action policy.
    pub per_action: PathVoi,
    /// The class-level move of the static exports.
    pub static_rules: PathVoi,
    /// ρ: outcomes learnt per asked call.
    pub outcomes_per_ask: f64,
    /// The calls of the class still to come over which the learning pays.
    pub future_calls: u64,
    /// Joint posterior draws the value is averaged over.
    pub draws: usize,
}

/// Joint posterior draws.
const DRAWS: usize = 32;
/// Simulated data sets per draw in the preposterior.
const DATASETS: usize = 4;

/// A draw of class k's inputs.
#[derive(Debug, Clone, Copy)]
struct Theta {
    p: f64,
    mu: f64,
    sigma: f64,
    approve: f64,
    catch: f64,
}

fn beta_of<R: rand::Rng>(e: &super::fit::Posterior, rng: &mut R) -> f64 {
    let m = e.mean.clamp(1e-6, 1.0 - 1e-6);
    let sd = e.normal_sd().max(1e-9);
    let c = (m * (1.0 - m) / (sd * sd) - 1.0).max(1e-3);
    use rand_distr::Distribution;
    rand_distr::Beta::new(m * c, (1.0 - m) * c)
        .expect("positive")
        .sample(rng)
        .clamp(1e-9, 1.0 - 1e-9)
}

/// The class prior with the good atoms of `prior` and bad atoms at the lognormal's quantiles, at P(bad) = p.
fn class_prior(prior: &Prior, t: &Theta, undo: Option<f64>) -> Result<Prior> {
    let Prior::Discrete { values, probs } = prior else {
        return Err(Error::invalid(
            "class.prior",
            "the value of information needs the re-issued (discrete) class prior",
        ));
    };
    let good: Vec<(f64, f64)> = values
        .iter()
        .zip(probs)
        .filter(|(v, _)| **v >= 0.0)
        .map(|(v, w)| (*v, *w))
        .collect();
    let g: f64 = good.iter().map(|x| x.1).sum();
    if g <= 0.0 {
        return Err(Error::invalid(
            "class.prior",
            "the re-issued class prior has no good atoms",
        ));
    }
    let n = super::reissue::ATOMS;
    let normal = statrs::distribution::Normal::new(0.0, 1.0).expect("standard");
    let mut v: Vec<f64> = good.iter().map(|x| x.0).collect();
    let mut w: Vec<f64> = good.iter().map(|x| x.1 * (1.0 - t.p) / g).collect();
    for i in 0..n {
        let z = normal.inverse_cdf((i as f64 + 0.5) / n as f64);
        let loss = (t.mu + t.sigma * z).exp();
        v.push(-undo.map_or(loss, |u| loss.min(u)).max(f64::MIN_POSITIVE));
        w.push(t.p / n as f64);
    }
    Prior::discrete(v, w)
}

/// The model of `s` with class `k` at the draw `t`, the agent's logit shift held at `shift`.
fn model_at(s: &Scenario, k: usize, t: &Theta, shift: f64, reviewer: bool) -> Result<Model> {
    let mut s = s.clone();
    let undo = s.classes[k].reversible.then_some(s.classes[k].undo_cost);
    s.classes[k].prior = class_prior(&s.classes[k].prior, t, undo)?;
    s.classes[k].task_minutes = None;
    if reviewer {
        s.reviewer.human = crate::human::Human::ErrorRates {
            approve_good: t.approve,
            catch_bad: t.catch,
        };
    }
    s.confidence = Confidence::Calibrated;
    let mut m = Model::new(&s)?;
    m.shift = shift;
    Ok(m)
}

/// The value of information of class `k` of the re-issued scenario `s`, from the fit `f`.
pub fn voi(s: &Scenario, k: usize, f: &super::fit::Fit, future: u64, seed: u64) -> Result<Voi> {
    use rand::RngExt;
    use rand_distr::Distribution;
    let cf = &f.classes[k];
    let base = Model::new(s)?;
    let share = base.classes[k].share;
    let mut rng = crate::rng::job_rng(seed, 0x564f_4900 + k as u64);
    let reviewer = matches!(s.reviewer.human, crate::human::Human::ErrorRates { .. })
        && f.classes.iter().any(|c| c.asked_labelled > 0);
    let [mu0, kappa, alpha, beta] = cf.tail.posterior;
    let gamma = rand_distr::Gamma::new(alpha, 1.0 / beta).expect("positive");
    let thetas: Vec<Theta> = (0..DRAWS)
        .map(|_| {
            let var = 1.0 / gamma.sample(&mut rng);
            let z: f64 = rng.sample(rand_distr::StandardNormal);
            Theta {
                p: beta_of(&cf.p_bad, &mut rng),
                mu: mu0 + z * (var / kappa).sqrt(),
                sigma: var.sqrt(),
                approve: beta_of(&f.reviewer.approve_good, &mut rng),
                catch: beta_of(&f.reviewer.catch_bad, &mut rng),
            }
        })
        .collect();
    let models: Vec<Model> = thetas
        .iter()
        .map(|t| model_at(s, k, t, base.shift, reviewer))
        .collect::<Result<_>>()?;
    let value = |m: &Model, plan: &Plan| m.evaluate(plan).metrics.expected_utility / share;
    let rho = if cf.asked > 0 {
        cf.asked_labelled as f64 / cf.asked as f64
    } else {
        0.0
    };
    // Simulated data sets: for each truth j and set d, per budget, the log-likelihood of each draw i.
    let data: Vec<Vec<[u64; 5]>> = BUDGETS
        .iter()
        .map(|&n| {
            let m = (rho * n as f64).round() as u64;
            (0..DRAWS * DATASETS)
                .map(|jd| {
                    let t = &thetas[jd / DATASETS];
                    // bad outcomes, approvals of good, rejections of bad (answers to the labelled calls).
                    let bad = (0..m).filter(|_| rng.random::<f64>() < t.p).count() as u64;
                    let good = m - bad;
                    let approved_good = (0..good)
                        .filter(|_| rng.random::<f64>() < t.approve)
                        .count() as u64;
                    let caught = (0..bad).filter(|_| rng.random::<f64>() < t.catch).count() as u64;
                    [m, bad, approved_good, caught, jd as u64]
                })
                .collect()
        })
        .collect();
    let loglik = |t: &Theta, d: &[u64; 5]| -> f64 {
        let [m, bad, ag, caught, _] = *d;
        let good = m - bad;
        let mut l = bad as f64 * t.p.ln() + good as f64 * (1.0 - t.p).ln();
        if reviewer {
            l += ag as f64 * t.approve.ln() + (good - ag) as f64 * (1.0 - t.approve).ln();
            l += caught as f64 * t.catch.ln() + (bad - caught) as f64 * (1.0 - t.catch).ln();
        }
        l
    };
    let path = |policy: Policy| -> PathVoi {
        let now = base.plan(policy);
        let mut plans = vec![now.clone()];
        for m in &models {
            let mut p = now.clone();
            p.0[k] = m.plan(policy).0[k].clone();
            plans.push(p);
        }
        let u: Vec<Vec<f64>> = plans
            .iter()
            .map(|plan| models.iter().map(|m| value(m, plan)).collect())
            .collect();
        let j = DRAWS as f64;
        let v_now: f64 = u[0].iter().sum::<f64>() / j;
        let best_at = |g: usize| u.iter().map(|row| row[g]).fold(f64::NEG_INFINITY, f64::max);
        let v_perfect: f64 = (0..DRAWS).map(best_at).sum::<f64>() / j;
        let material = 0.01 * s.ask_cost.max(f64::MIN_POSITIVE);
        let p_regret = (0..DRAWS)
            .filter(|&g| best_at(g) - u[0][g] > material)
            .count() as f64
            / j;
        let mut ask_all = now.clone();
        ask_all.0[k] = Partition::constant(Move::Ask);
        let ask_cost = (value(&base, &now) - value(&base, &ask_all)).max(0.0);
        let budgets: Vec<(u64, f64, f64)> = BUDGETS
            .iter()
            .zip(&data)
            .map(|(&n, sets)| {
                let evsi = if sets.first().is_some_and(|d| d[0] > 0) {
                    let total: f64 = sets
                        .iter()
                        .map(|d| {
                            let truth = d[4] as usize / DATASETS;
                            let ls: Vec<f64> = thetas.iter().map(|t| loglik(t, d)).collect();
                            let top = ls.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                            let w: Vec<f64> = ls.iter().map(|l| (l - top).exp()).collect();
                            let h = (0..plans.len())
                                .max_by(|&a, &b| {
                                    let s = |h: usize| {
                                        u[h].iter().zip(&w).map(|(v, w)| v * w).sum::<f64>()
                                    };
                                    s(a).total_cmp(&s(b))
                                })
                                .expect("a plan");
                            u[h][truth]
                        })
                        .sum();
                    (total / sets.len() as f64 - v_now).max(0.0)
                } else {
                    0.0
                };
                (n, evsi, future as f64 * evsi - n as f64 * ask_cost)
            })
            .collect();
        let explore = budgets
            .iter()
            .fold(
                (0u64, 0.0f64),
                |best, &(n, _, net)| if net > best.1 { (n, net) } else { best },
            )
            .0;
        PathVoi {
            evpi: (v_perfect - v_now).max(0.0),
            p_regret,
            ask_cost,
            budgets,
            explore,
        }
    };
    let per_action = path(Policy::ValueOfDeferring);
    let static_rules = path(Policy::ValueOfDeferringStatic);
    Ok(Voi {
        class: cf.name.clone(),
        per_action,
        static_rules,
        outcomes_per_ask: rho,
        future_calls: future,
        draws: DRAWS,
    })
}
