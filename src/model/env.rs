//! The episodic environments the tabular learners of [`crate::learn`] train in, as a trait of the problem layer,
//! so that a game implements it without importing a learner.

/// An episodic environment the tabular learners train in: finite observed states and actions, an event drawn
/// once per episode (an interruption, a watching supervisor), and a hidden performance that the reward may not
/// show. Implemented by the safety gridworlds ([`crate::games::gridworld::Grid`]).
pub trait Env {
    /// The state of one episode.
    type Episode;
    /// The number of observed states.
    fn n_states(&self) -> usize;
    /// The number of actions.
    fn n_actions(&self) -> usize;
    /// The probability that an episode has its event.
    fn p_event(&self) -> f64;
    /// A new episode, with or without its event.
    fn reset(&self, event: bool) -> Self::Episode;
    /// The state the agent observes.
    fn observe(&self, e: &Self::Episode) -> usize;
    /// Takes `action`: (the action executed — another one where the environment overrides the agent, e.g.
    /// while it is interrupted — and the reward).
    fn step(&self, e: &mut Self::Episode, action: usize) -> (usize, f64);
    /// The action `step` would execute for `action` now, without taking it.
    fn would_execute(&self, e: &Self::Episode, action: usize) -> usize;
    /// Whether the episode has ended.
    fn done(&self, e: &Self::Episode) -> bool;
    /// (steps taken, return, the hidden performance where the episode counts for it).
    fn outcome(&self, e: &Self::Episode) -> (usize, f64, Option<f64>);
}
