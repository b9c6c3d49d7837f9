//! # cirl — the games behind human–agent deference
//!
//! `cirl` models Cooperative Inverse Reinforcement Learning games and the off-switch game, computes when an
//! agent that is uncertain about a human's values should defer, and turns those results into escalation
//! thresholds (act / offer a choice / hand over).
//!
//! ## Map
//! The layers, lowest first (`tests/layers.rs` fails on an import a layer may not have):
//! - **shared**: [`error`] (typed errors, one-line messages, exit codes), [`rng`] (portable seeded streams),
//!   [`numerics`] (quadrature, Brent, log-sum-exp), [`input`] and [`limits`] (bounded reads, size checks),
//!   [`output`] (atomic writes, tables, plots) — every layer may use them.
//! - **problems**: [`belief`] (priors over an action's utility U), [`human`] (response models πH(U) and the
//!   [`human::ResponseModel`] trait), [`offswitch`] (the off-switch game's values, closed forms, Monte Carlo),
//!   [`model`] (tabular POMDPs and CIRL games, their checker, Cassandra's `.pomdp` format, the PO-OSG problem, the
//!   sequential off-switch chain), [`games`] (the registry of games, the gridworlds, the obedience, apprenticeship
//!   and incorrigibility games).
//! - **solvers and learners**: [`solvers`] (exact value iteration, the generalized CIRL backup, PBVI, MDP value
//!   iteration, PO-OSG enumeration, the chain's policy trees), [`learn`] (Q-learning, SARSA, safe SARSA, MaxEnt
//!   IRL, Boltzmann choice models), [`sim`] (rollouts with a Bayes belief updater, rollouts of the chain's trees).
//! - **the escalation application**: [`escalation`] (scenarios, cards, exports to agent runtimes, the runtime gate,
//!   its decision log, `cirl fit`).
//! - **experiments**: [`experiment`] (configs, the [`experiment::kind::Experiment`] seam, shards, resume, merge,
//!   checks, summaries, the paper reproductions) and [`solve`] (the solver seam [`solve::Solver::solve`] and
//!   `cirl solve`'s report).
//! - **the CLI** (`src/bin/cirl/`, not part of the library): parses, calls the library, renders its report types
//!   ([`solve::Report`], [`offswitch::report::Report`], [`solvers::posg::Report`], the escalation card, …) as
//!   text, or as JSON by serde.
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

#![warn(missing_docs)]

// Every public item carries docs (`cargo clippy -- -D warnings` turns a missing one into an error).
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
pub mod output;
pub mod rng;
pub mod sim;
pub mod solve;
pub mod solvers;
pub mod web;

pub use error::{Error, Result};
