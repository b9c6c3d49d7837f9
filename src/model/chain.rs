//! The sequential off-switch chain: the off-switch game played T times with one shared unknown.
//!
//! The human's value θ is unknown to the robot, which holds a normal belief N(μ, σ²) over it. At step t the robot
//! proposes an action worth U_t = θ + δ_t to the human, where the offset δ_t is known to it (one action is
//! plainly better than another; how much any of them is worth is what it does not know). An action is
//! irreversible, or undoable at cost d: then a bad one costs at most d, U_eff = max(U, −d). The human is present
//! at a step with probability q, which the robot learns at the step; when present, the robot may ask at cost c,
//! and the human allows the action with probability πH(U_t) (a response model of [`crate::human`]). The robot
//! acts, asks (when the human is there) or switches off (0).
//!
//! What an answer says about θ carries over to every later step: asking early informs later actions. With T = 1,
//! δ = 0, an irreversible action and q = 1 this is the off-switch game of [`crate::offswitch`].
//!
//! A [`Family`] is the seeded distribution over chains that a population experiment draws from: δ_t ~ N(0, τ²)
//! and each step irreversible with probability f. The truth θ may be drawn from a different normal than the
//! robot's belief (a misspecified prior: centred away from the truth, or overconfident).

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::dials::Dials;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::numerics::gauss_legendre;

/// One step of a chain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// δ_t: the action's value is θ + δ_t.
    pub offset: f64,
    /// Whether a bad action cannot be undone.
    pub irreversible: bool,
}

/// One chain: its steps and what the robot believes.
#[derive(Debug, Clone, PartialEq)]
pub struct Chain {
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// μ of the robot's belief N(μ, σ²) over θ.
    pub mu: f64,
    /// σ of the robot's belief (0: it knows θ = μ).
    pub sigma: f64,
    /// The human who answers, as the robot models it (and as it answers).
    pub human: Human,
    /// c: the cost of asking.
    pub ask_cost: f64,
    /// d: what undoing a bad reversible action costs.
    pub undo_cost: f64,
    /// q: P(the human is present at a step).
    pub presence: f64,
}

impl Chain {
    /// U_eff of step `t` at value θ: U, or max(U, −d) for a reversible step.
    pub fn payoff(&self, t: usize, theta: f64) -> f64 {
        let s = self.steps[t];
        let u = theta + s.offset;
        if s.irreversible {
            u
        } else {
            u.max(-self.undo_cost)
        }
    }

    /// The quadrature of the robot's belief over θ: nodes and weights summing to 1. Composite Gauss–Legendre of
    /// `order` points per panel over μ ± 12σ in `panels` equal panels, split further at every point where a
    /// step's payoff or the human's response bends or jumps (θ = −δ_t, −δ_t − d and the human's own breaks
    /// shifted by −δ_t), so that every panel integrates a smooth function. σ = 0 gives the one node θ = μ.
    pub fn belief(&self, panels: usize, order: usize) -> Belief {
        if self.sigma == 0.0 {
            return Belief {
                theta: vec![self.mu],
                weight: vec![1.0],
            };
        }
        let (lo, hi) = (self.mu - 12.0 * self.sigma, self.mu + 12.0 * self.sigma);
        let mut cuts: Vec<f64> = (0..=panels)
            .map(|i| lo + (hi - lo) * i as f64 / panels as f64)
            .collect();
        let human_breaks = self.human.breaks();
        for s in &self.steps {
            cuts.push(-s.offset);
            if !s.irreversible {
                cuts.push(-s.offset - self.undo_cost);
            }
            cuts.extend(human_breaks.iter().map(|b| b - s.offset));
        }
        cuts.retain(|x| *x >= lo && *x <= hi);
        cuts.sort_by(f64::total_cmp);
        cuts.dedup_by(|a, b| (*a - *b).abs() <= 1e-12 * self.sigma);
        let rule = gauss_legendre(order);
        let mut theta = Vec::with_capacity(cuts.len() * order);
        let mut weight = Vec::with_capacity(cuts.len() * order);
        for w in cuts.windows(2) {
            let (m, h) = (0.5 * (w[0] + w[1]), 0.5 * (w[1] - w[0]));
            for (x, wx) in rule.nodes.iter().zip(&rule.weights) {
                let th = m + h * x;
                let z = (th - self.mu) / self.sigma;
                theta.push(th);
                weight.push(h * wx * (-0.5 * z * z).exp());
            }
        }
        let total: f64 = weight.iter().sum();
        weight.iter_mut().for_each(|w| *w /= total);
        Belief { theta, weight }
    }

    /// The scale of the chain's payoffs (for tolerances): |μ| + σ + the largest |δ_t| + d.
    pub fn scale(&self) -> f64 {
        let off = self.steps.iter().fold(0.0f64, |m, s| m.max(s.offset.abs()));
        self.mu.abs() + self.sigma + off + self.undo_cost.min(1e6) + self.ask_cost
    }

    /// πH of step `t` at value θ.
    pub fn p_allow(&self, t: usize, theta: f64) -> f64 {
        self.human.p_allow(theta + self.steps[t].offset)
    }
}

/// The robot's belief over θ as quadrature nodes and weights (see [`Chain::belief`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Belief {
    /// The nodes θ_i.
    pub theta: Vec<f64>,
    /// Their weights (summing to 1).
    pub weight: Vec<f64>,
}

/// The seeded distribution over chains a population draws from: T and the shared dials (μ and σ of the robot's
/// belief, τ the sd of the offsets δ_t, f, d, c, q, the human, and the truth's `shift` and `scale`).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// T: steps per chain.
    pub steps: usize,
    /// The dials.
    pub dials: Dials,
}

/// The largest number of steps of a chain (the exact solver's tree has up to 3^T nodes).
pub const MAX_STEPS: usize = 12;

impl Family {
    /// Checks the parameters; an error names the field (under `prefix`).
    pub fn check(&self, prefix: &str) -> Result<()> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("{prefix}.{f}"), m));
        if self.steps == 0 || self.steps > MAX_STEPS {
            return bad(
                "steps",
                format!(
                    "must be 1–{MAX_STEPS} (the exact solver's tree has 3^T nodes), got {}",
                    self.steps
                ),
            );
        }
        self.dials.check(prefix)?;
        Ok(())
    }

    /// The chain and its true θ that `noise` gives under this family: δ_t = τ·z_t, step t irreversible iff its
    /// uniform is below f, θ = μ + shift + scale·σ·z_θ. The same noise under two families gives coupled
    /// environments (common random numbers): a condition's environment e differs from another's only through
    /// the parameters.
    pub fn realise(&self, noise: &Noise) -> (Chain, f64) {
        let d = &self.dials;
        let steps = (0..self.steps)
            .map(|t| Step {
                offset: d.spread * noise.offset[t],
                irreversible: noise.irreversible[t] < d.irreversible,
            })
            .collect();
        let theta = d.mu + d.shift + d.scale * d.sigma * noise.theta;
        let chain = Chain {
            steps,
            mu: d.mu,
            sigma: d.sigma,
            human: d.human,
            ask_cost: d.ask_cost,
            undo_cost: d.undo_cost,
            presence: d.presence,
        };
        (chain, theta)
    }

    /// Draws one chain and its true θ from `rng` (a fresh [`Noise`]).
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> (Chain, f64) {
        self.realise(&Noise::draw(rng))
    }

    /// The robot's belief as it would be if it were the truth: the chain's prior moved by `shift` and its sd
    /// scaled by `scale` (the truth's distribution of θ, for exact values under misspecification).
    pub fn truth(&self, chain: &Chain) -> Chain {
        Chain {
            mu: chain.mu + self.dials.shift,
            sigma: chain.sigma * self.dials.scale,
            ..chain.clone()
        }
    }
}

/// The randomness of one environment, drawn once and shared by every condition and every agent (common random
/// numbers): per step (up to [`MAX_STEPS`]) the offset's standard normal, the irreversibility uniform, and the
/// human's presence and answer uniforms; and the truth's standard normal. Drawn in a fixed order, all
/// [`MAX_STEPS`] steps whatever T is, so environment e of a T = 4 condition is the first four steps of the
/// same environment at T = 8.
#[derive(Debug, Clone, PartialEq)]
pub struct Noise {
    /// z_t of the offsets δ_t = τ·z_t.
    pub offset: [f64; MAX_STEPS],
    /// Step t is irreversible iff this uniform is below f.
    pub irreversible: [f64; MAX_STEPS],
    /// The human is present at step t iff this uniform is below q.
    pub presence: [f64; MAX_STEPS],
    /// The human allows at step t iff this uniform is below πH(U_t).
    pub answer: [f64; MAX_STEPS],
    /// z_θ of the true θ.
    pub theta: f64,
}

impl Noise {
    /// Draws an environment's noise from `rng`.
    pub fn draw<R: Rng + ?Sized>(rng: &mut R) -> Noise {
        let mut n = Noise {
            offset: [0.0; MAX_STEPS],
            irreversible: [0.0; MAX_STEPS],
            presence: [0.0; MAX_STEPS],
            answer: [0.0; MAX_STEPS],
            theta: rng.sample(StandardNormal),
        };
        for t in 0..MAX_STEPS {
            n.offset[t] = rng.sample(StandardNormal);
            n.irreversible[t] = rng.random();
            n.presence[t] = rng.random();
            n.answer[t] = rng.random();
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_belief_integrates_the_normal_prior_exactly_enough() {
        let c = Chain {
            steps: vec![Step {
                offset: 0.3,
                irreversible: false,
            }],
            mu: 0.25,
            sigma: 1.5,
            human: Human::Boltzmann { beta: 0.1 },
            ask_cost: 0.0,
            undo_cost: 0.5,
            presence: 1.0,
        };
        let b = c.belief(40, 12);
        let m: f64 = b.theta.iter().zip(&b.weight).map(|(t, w)| t * w).sum();
        let v: f64 = b
            .theta
            .iter()
            .zip(&b.weight)
            .map(|(t, w)| (t - m).powi(2) * w)
            .sum();
        assert!((m - 0.25).abs() < 1e-13, "{m}");
        assert!((v - 2.25).abs() < 1e-12, "{v}");
        // E[max(θ + δ, −d)] in closed form: E[max(X, a)] = a + (μ' − a)Φ(k) + σφ(k), k = (μ' − a)/σ.
        let (mp, a, s) = (0.55, -0.5, 1.5);
        let k = (mp - a) / s;
        let want = a + (mp - a) * crate::numerics::norm_cdf(k) + s * crate::numerics::norm_pdf(k);
        let got: f64 = b
            .theta
            .iter()
            .zip(&b.weight)
            .map(|(t, w)| c.payoff(0, *t) * w)
            .sum();
        assert!((got - want).abs() < 1e-12, "{got} {want}");
    }

    #[test]
    fn a_bad_family_names_its_field() {
        let f = Family {
            steps: 0,
            dials: Dials {
                mu: 0.0,
                sigma: 1.0,
                spread: 0.0,
                irreversible: 0.5,
                undo_cost: 1.0,
                ask_cost: 0.0,
                presence: 1.0,
                human: Human::Rational,
                shift: 0.0,
                scale: 1.0,
            },
        };
        assert!(
            f.check("population")
                .unwrap_err()
                .to_string()
                .contains("population.steps")
        );
        let f = Family {
            steps: 2,
            dials: Dials {
                presence: 1.5,
                ..f.dials
            },
        };
        assert!(
            f.check("population")
                .unwrap_err()
                .to_string()
                .contains("population.presence")
        );
    }
}
