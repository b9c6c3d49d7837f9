//! The condition dials every population family shares (the sequential chain of [`super::chain`] and the
//! assistance games of [`super::assist`]): the robot's prior, the human, the costs, irreversibility, presence and
//! the misspecification of the prior. A family adds its own shape (steps, states, the grid).

use crate::error::{Error, Result};
use crate::human::Human;

/// The shared dials of a population's condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dials {
    /// μ: the robot's prior mean (the chain's θ; the base utility's mean, per feature for the gridworld).
    pub mu: f64,
    /// σ: the robot's value uncertainty.
    pub sigma: f64,
    /// τ: the spread of what the robot knows (the chain's offsets, the assistance games' base utilities).
    pub spread: f64,
    /// f: P(an action is irreversible).
    pub irreversible: f64,
    /// d: what undoing a bad reversible action costs.
    pub undo_cost: f64,
    /// c: the cost of asking.
    pub ask_cost: f64,
    /// q: P(the human is present at a step).
    pub presence: f64,
    /// The human who answers.
    pub human: Human,
    /// The truth's mean minus the robot's (0: a well-centred prior).
    pub shift: f64,
    /// The truth's deviation over the robot's (1: calibrated; > 1: the robot is overconfident).
    pub scale: f64,
}

impl Dials {
    /// Checks the dials; an error names the field (under `prefix`).
    pub fn check(&self, prefix: &str) -> Result<()> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("{prefix}.{f}"), m));
        for (f, x) in [("mu", self.mu), ("shift", self.shift)] {
            if !x.is_finite() {
                return bad(f, format!("must be finite, got {x}"));
            }
        }
        for (f, x) in [
            ("sigma", self.sigma),
            ("spread", self.spread),
            ("undo_cost", self.undo_cost),
            ("ask_cost", self.ask_cost),
            ("scale", self.scale),
        ] {
            if !(x.is_finite() && x >= 0.0) {
                return bad(f, format!("must be finite and ≥ 0, got {x}"));
            }
        }
        for (f, x) in [
            ("irreversible", self.irreversible),
            ("presence", self.presence),
        ] {
            if !(0.0..=1.0).contains(&x) {
                return bad(f, format!("must be a probability in [0, 1], got {x}"));
            }
        }
        Ok(())
    }

    /// Whether the truth is the robot's belief (no misspecification).
    pub fn well_specified(&self) -> bool {
        self.shift == 0.0 && self.scale == 1.0
    }
}
