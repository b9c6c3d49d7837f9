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
