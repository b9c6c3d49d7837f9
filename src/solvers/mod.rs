//! Solvers for tabular POMDPs. Solvers take a [`crate::model::Tabular`] model, never a concrete game.
//!
//! - [`exact`]: exact value iteration over alpha vectors (incremental pruning with Lark's LP filter), finite
//!   horizon, or to a stated tolerance for discounted problems.

pub mod exact;

/// A value function as a set of alpha vectors, each with the action that starts its conditional plan.
#[derive(Debug, Clone, PartialEq)]
pub struct AlphaSet {
    pub vectors: Vec<Vec<f64>>,
    pub actions: Vec<usize>,
}

impl AlphaSet {
    /// max_α α·b and the index of the maximizing vector (the first among exact ties).
    pub fn best(&self, b: &[f64]) -> (f64, usize) {
        let mut best = (f64::NEG_INFINITY, 0);
        for (i, v) in self.vectors.iter().enumerate() {
            let x: f64 = v.iter().zip(b).map(|(a, p)| a * p).sum();
            if x > best.0 {
                best = (x, i);
            }
        }
        best
    }

    /// The value at belief `b`.
    pub fn value(&self, b: &[f64]) -> f64 {
        self.best(b).0
    }

    /// The action the policy takes at belief `b`.
    pub fn action(&self, b: &[f64]) -> usize {
        self.actions[self.best(b).1]
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}
