//! # cirl — the games behind human–agent deference
//!
//! `cirl` models Cooperative Inverse Reinforcement Learning games and the off-switch game, computes when an
//! agent that is uncertain about a human's values should defer, and turns those results into escalation
//! thresholds (act / offer a choice / hand over).
//!
//! ## Map
//! - [`belief`]: priors over the utility U of an action (normal, uniform, discrete, mixtures, CSV samples).
//! - [`human`]: human response models πH(U) (rational, Boltzmann, p-rational, chance) and the
//!   [`human::ResponseModel`] trait for new ones.
//! - [`offswitch`]: the values of the off-switch game (v_act, v_wait, v_off, Δ), Theorem 2's terms,
//!   Monte Carlo.
//! - [`model`]: tabular POMDPs, their model checker, Cassandra's `.pomdp` format.
//! - [`solvers`]: exact finite-horizon value iteration over alpha vectors with pruning.
//! - [`games`]: registered models (`tiger`) and `.pomdp` files, with `--set` overrides.
//! - [`sim`]: rollouts with a Bayes belief updater.
//! - [`experiment`]: sweep configs, the frontier where deferring stops paying, outputs, plots, reproductions.
//! - [`numerics`], [`rng`], [`error`]: shared building blocks.
//!
//! ## Quick start
//! ```
//! use cirl::{belief::Prior, human::Human, offswitch};
//! let prior = Prior::parse("normal:0.25,1").unwrap();
//! let human = Human::parse("boltzmann:0.5").unwrap();
//! let v = offswitch::values(&prior, &human, 0.0).unwrap();
//! assert!(v.delta > 0.0); // uncertain enough, and the human is reliable enough: deferring pays
//! assert_eq!(v.decision, offswitch::Move::Wait);
//! ```

pub mod belief;
pub mod error;
pub mod escalation;
pub mod experiment;
pub mod games;
pub mod human;
pub mod input;
pub mod learn;
pub mod limits;
pub mod model;
pub mod numerics;
pub mod offswitch;
pub mod rng;
pub mod sim;
pub mod solve;
pub mod solvers;

pub use error::{Error, Result};
