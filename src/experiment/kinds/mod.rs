//! The experiment kinds that reproduce one paper's study each, one file per kind (the sweep, designer and closed
//! loop kinds live beside the runner, in [`super::sweep`], [`super::designer`] and [`super::closed_loop`]).

pub mod incorrigibility;
pub mod obedience;
pub mod posg;
