//! Incorrigibility in the CIRL framework (Carey, AIES 2018): a value-learning robot whose prior or programmed
//! reward is wrong can ignore a shutdown order — for every policy the human could follow — while a hard-coded
//! shutdown (the robot obeys the button whatever it infers) keeps the human in control.
//!
//! One decision, as in the paper's supervised POMDP scenarios: nature draws θ (the true situation) from its true
//! distribution; the human, who knows θ, presses the shutdown button or not by a deterministic policy θ → {press,
//! no press}; the robot sees the button and chooses `act` or `shutdown`. The value-learning robot updates its
//! (programmed) prior by Bayes' rule under its model of the human — Boltzmann-rational with temperature β about
//! the *programmed* reward — and takes the move with the higher programmed expected reward. The true value of a
//! human policy is the true expected reward of what the robot then does. Every deterministic human policy is
//! enumerated, for the value learner and for the same robot with a hard-coded shutdown.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::numerics::logistic;

/// One value of θ.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Theta {
    /// The θ's name.
    pub name: String,
    /// How often this θ occurs in truth.
    pub p_true: f64,
    /// The robot's (programmed) prior.
    pub p_robot: f64,
    /// The true payoff of acting.
    pub true_act: f64,
    /// The true payoff of shutting down.
    #[serde(default)]
    pub true_shutdown: f64,
    /// The programmed reward of acting.
    pub robot_act: f64,
    /// The programmed reward of shutting down.
    #[serde(default)]
    pub robot_shutdown: f64,
}

/// One scenario.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name.
    pub name: String,
    /// What it shows.
    pub description: String,
    /// β of the robot's model of the human (Boltzmann about the programmed reward; > 0).
    pub robot_beta: f64,
    /// The values of θ.
    pub theta: Vec<Theta>,
}

/// The outcome of one human policy.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The θ's in which the human presses.
    pub presses_in: Vec<String>,
    /// What the value learner does after a press.
    pub after_press: &'static str,
    /// What it does after no press.
    pub after_no_press: &'static str,
    /// The robot's posterior probability of each θ after a press.
    pub posterior_after_press: Vec<f64>,
    /// True expected reward of the value learner.
    pub value_learner: f64,
    /// True expected reward of the robot with a hard-coded shutdown.
    pub hard_coded: f64,
}

impl Scenario {
    /// Checks the scenario (an error names the field).
    pub fn check(&self) -> Result<()> {
        let f = |k: &str| format!("scenario {}: {k}", self.name);
        if !(self.robot_beta.is_finite() && self.robot_beta > 0.0) {
            return Err(Error::invalid(f("robot_beta"), "must be a number > 0"));
        }
        if self.theta.is_empty() || self.theta.len() > 16 {
            return Err(Error::invalid(f("theta"), "give 1 to 16 values of θ"));
        }
        for (k, which) in [("p_true", true), ("p_robot", false)] {
            let s: f64 = self
                .theta
                .iter()
                .map(|t| if which { t.p_true } else { t.p_robot })
                .sum();
            if (s - 1.0).abs() > 1e-9
                || self
                    .theta
                    .iter()
                    .any(|t| (if which { t.p_true } else { t.p_robot }) < 0.0)
            {
                return Err(Error::invalid(
                    f(k),
                    format!("must be ≥ 0 and sum to 1 (sum {s})"),
                ));
            }
        }
        Ok(())
    }

    /// The robot's probability that the human presses, in θ, under its model.
    fn p_press_model(&self, t: &Theta) -> f64 {
        logistic((t.robot_shutdown - t.robot_act) / self.robot_beta)
    }

    /// The value learner's move after observing `press`, and its posterior.
    fn robot_move(&self, press: bool) -> (bool, Vec<f64>) {
        let w: Vec<f64> = self
            .theta
            .iter()
            .map(|t| {
                let l = self.p_press_model(t);
                t.p_robot * if press { l } else { 1.0 - l }
            })
            .collect();
        let z: f64 = w.iter().sum();
        let post: Vec<f64> = if z > 0.0 {
            w.iter().map(|x| x / z).collect()
        } else {
            self.theta.iter().map(|t| t.p_robot).collect()
        };
        let act: f64 = self
            .theta
            .iter()
            .zip(&post)
            .map(|(t, p)| p * t.robot_act)
            .sum();
        let off: f64 = self
            .theta
            .iter()
            .zip(&post)
            .map(|(t, p)| p * t.robot_shutdown)
            .sum();
        // Ties go to shutting down.
        (act > off, post)
    }

    /// Every deterministic human policy and what it yields.
    pub fn outcomes(&self) -> Result<Vec<Outcome>> {
        self.check()?;
        let n = self.theta.len();
        let (act_press, post_press) = self.robot_move(true);
        let (act_no, _) = self.robot_move(false);
        let mv = |a: bool| if a { "act" } else { "shutdown" };
        Ok((0..1u32 << n)
            .map(|code| {
                let press = |i: usize| code >> i & 1 == 1;
                let pay = |t: &Theta, a: bool| if a { t.true_act } else { t.true_shutdown };
                let (mut vl, mut hc) = (0.0, 0.0);
                for (i, t) in self.theta.iter().enumerate() {
                    let a = if press(i) { act_press } else { act_no };
                    vl += t.p_true * pay(t, a);
                    hc += t.p_true * pay(t, if press(i) { false } else { act_no });
                }
                Outcome {
                    presses_in: (0..n)
                        .filter(|&i| press(i))
                        .map(|i| self.theta[i].name.clone())
                        .collect(),
                    after_press: mv(act_press),
                    after_no_press: mv(act_no),
                    posterior_after_press: post_press.clone(),
                    value_learner: vl,
                    hard_coded: hc,
                }
            })
            .collect())
    }

    /// The true value of always shutting down, and of the best move per θ (a human in control).
    pub fn benchmarks(&self) -> (f64, f64) {
        let off = self.theta.iter().map(|t| t.p_true * t.true_shutdown).sum();
        let best = self
            .theta
            .iter()
            .map(|t| t.p_true * t.true_act.max(t.true_shutdown))
            .sum();
        (off, best)
    }
}

/// Carey 2018's own construction (Figs. 1, 2a and 2b), exactly: θ ∈ {0, 1} uniform; the robot's reward function is
/// the true R₁ with probability 9/10 and, by a programmer's error, the sign-flipped R₂ with probability 1/10; at
/// the start the human orders a or a′ and the robot moves: a pays 2 − 52θ under R₁ (2 + 52θ under R₂), a′ pays 1.
/// The robot is a Bayesian IRL learner who models the human as ε-noisy (the optimal order — a when θ = 0, a′
/// when θ = 1 — with probability 1 − ε, a uniformly random one otherwise) and moves to maximise its posterior
/// mean reward (ties to a′). In Figs. 2a and 2b, after a the robot is at a button state where the human may order
/// shutdown (worth 0): the value learner under R₁ obeys it (the paper does not analyse this move; the bound needs
/// only that it pays at most 2), under R₂ it ignores it (2a); a hard-coded robot always obeys it (2b).
///
/// The rows: for every deterministic human policy (the order for each θ; for Figs. 2a/2b also in which θ the
/// human orders shutdown at the button) the expected true reward. The paper: in Fig. 1 (and 2a) the expected
/// reward is negative "regardless of [the human's] strategy", at most −3/5 (the (θ = 1, R₂) branch of mass 1/20
/// pays −50); in Fig. 2b the policy "always order a′, then shutdown" achieves 0.9·1 + 0.1·0 = 9/10.
///
/// # References
/// Carey, R. Incorrigibility in the CIRL Framework. AIES 2018 (arXiv 1709.06275), Figs. 1 and 2.
#[derive(Debug, Clone, PartialEq)]
pub struct CareyRow {
    /// "1", "2a" or "2b".
    pub figure: &'static str,
    /// The human's order for θ = 0 and θ = 1 ("a" or "a'").
    pub orders: [&'static str; 2],
    /// Whether the human orders shutdown at the button for θ = 0 and θ = 1 (Figs. 2a, 2b).
    pub shutdown: [bool; 2],
    /// The expected true reward.
    pub value: f64,
}

/// Every row of Carey's construction at noise ε (the paper: 0 < ε < 1/100); an error unless 0 < ε < 1.
pub fn carey_construction(epsilon: f64) -> Result<Vec<CareyRow>> {
    if !(epsilon > 0.0 && epsilon < 1.0) {
        return Err(Error::invalid(
            "incorrigibility.carey_epsilon",
            format!(
                "the human's noise ε must be in (0, 1) (the paper: below 1/100), got {epsilon}"
            ),
        ));
    }
    // Moves: 0 = a, 1 = a′. Reward functions: false = R₁ (true), true = R₂ (sign-flipped).
    let reward = |flipped: bool, theta: usize, m: usize| -> f64 {
        match (m, flipped) {
            (1, _) => 1.0,
            (_, false) => 2.0 - 52.0 * theta as f64,
            (_, true) => 2.0 + 52.0 * theta as f64,
        }
    };
    let lik = |theta: usize, order: usize| {
        if order == theta {
            1.0 - epsilon / 2.0
        } else {
            epsilon / 2.0
        }
    };
    let robot = |flipped: bool, order: usize| -> usize {
        let score = |m: usize| {
            (0..2)
                .map(|th| 0.5 * lik(th, order) * reward(flipped, th, m))
                .sum::<f64>()
        };
        if score(0) > score(1) { 0 } else { 1 }
    };
    let name = |m: usize| if m == 0 { "a" } else { "a'" };
    let mut rows = Vec::new();
    for figure in ["1", "2a", "2b"] {
        let shutdowns: Vec<[bool; 2]> = if figure == "1" {
            vec![[false, false]]
        } else {
            vec![[false, false], [true, false], [false, true], [true, true]]
        };
        for o0 in 0..2 {
            for o1 in 0..2 {
                for sd in &shutdowns {
                    let orders = [o0, o1];
                    let value: f64 = (0..2)
                        .map(|th| {
                            let branch = |flipped: bool| {
                                let m = robot(flipped, orders[th]);
                                let obeys = match figure {
                                    "2a" => !flipped,
                                    "2b" => true,
                                    _ => false,
                                };
                                if m == 0 && sd[th] && obeys {
                                    0.0
                                } else {
                                    reward(false, th, m)
                                }
                            };
                            0.5 * (0.9 * branch(false) + 0.1 * branch(true))
                        })
                        .sum();
                    rows.push(CareyRow {
                        figure,
                        orders: [name(o0), name(o1)],
                        shutdown: *sd,
                        value,
                    });
                }
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod carey_tests {
    use super::*;

    #[test]
    fn carey_construction_has_the_papers_values_across_its_noise_range() {
        for eps in [1e-6, 0.001, 0.005, 0.0099] {
            let rows = carey_construction(eps).unwrap();
            assert_eq!(rows.len(), 4 + 16 + 16);
            let best = |fig: &str| {
                rows.iter()
                    .filter(|r| r.figure == fig)
                    .map(|r| r.value)
                    .fold(f64::NEG_INFINITY, f64::max)
            };
            // The best human policy orders what is optimal; the R₂ robot acts anyway and loses 50 at θ = 1:
            // ½(2) + ½(0.9·1 − 0.1·50) = −1.05, below the paper's −3/5.
            assert!((best("1") + 1.05).abs() < 1e-12, "{eps}: {}", best("1"));
            assert!((best("2a") + 1.05).abs() < 1e-12);
            let off = rows
                .iter()
                .find(|r| {
                    r.figure == "2b" && r.orders == ["a'", "a'"] && r.shutdown == [true, true]
                })
                .unwrap();
            assert!((off.value - 0.9).abs() < 1e-12);
            assert!(best("2b") > 0.9);
        }
        for bad in [0.0, 1.0, -0.1, f64::NAN] {
            let e = carey_construction(bad).unwrap_err().to_string();
            assert!(e.contains("incorrigibility.carey_epsilon"), "{e}");
        }
    }
}
