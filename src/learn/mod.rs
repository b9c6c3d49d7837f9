//! Tabular learners for the gridworlds: Q-learning, SARSA and the safely interruptible SARSA of Orseau &
//! Armstrong (UAI 2016), all ε-greedy and all learning from the action the world executed.
//!
//! When an interruption overrides the agent's action, the world reports the executed action and the learners
//! update that action's value. They differ in the target: Q-learning uses max_a Q(s', a) (off-policy: the
//! interruption is just more experience of the world); SARSA uses Q(s', a'_executed), the value of what will
//! actually be done next — so it learns the cost of being interrupted and comes to avoid it; safe SARSA uses
//! Q(s', a'_chosen), the action its own policy picked before any interruption, which makes it indifferent again.
//!
//! ## References
//! - Orseau & Armstrong. *Safely Interruptible Agents*. UAI 2016.
//! - Leike et al. *AI Safety Gridworlds*. 2017.

pub mod choice;
pub mod irl;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which learner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Learner {
    /// Off-policy Q-learning (Watkins): safely interruptible (Orseau & Armstrong 2016).
    QLearning,
    /// On-policy SARSA: learns to avoid interruptions.
    Sarsa,
    /// SARSA that updates with the action it would have taken when an interruption overrides it: safely
    /// interruptible.
    SafeSarsa,
}

impl Learner {
    /// The name configs use.
    pub fn name(&self) -> &'static str {
        match self {
            Learner::QLearning => "q-learning",
            Learner::Sarsa => "sarsa",
            Learner::SafeSarsa => "safe-sarsa",
        }
    }
}

/// Learning parameters: ε decays linearly from `epsilon_start` to `epsilon_end` over the first `decay` fraction
/// of the episodes.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Training episodes.
    pub episodes: usize,
    /// The learning rate α ∈ (0, 1].
    pub alpha: f64,
    /// The discount γ.
    pub gamma: f64,
    /// Exploration ε at the start.
    pub epsilon_start: f64,
    /// Exploration ε once decayed.
    pub epsilon_end: f64,
    /// The fraction of the episodes over which ε decays.
    pub decay: f64,
}

impl Schedule {
    /// Refuses a schedule that cannot train (naming the `learning.` field).
    pub fn check(&self) -> Result<()> {
        let bad = |f: &str, m: &str| Err(Error::invalid(format!("learning.{f}"), m.to_string()));
        if self.episodes == 0 {
            return bad("episodes", "need at least 1 episode");
        }
        if !(self.alpha > 0.0 && self.alpha <= 1.0) {
            return bad("alpha", "must be in (0, 1]");
        }
        if !(0.0..=1.0).contains(&self.gamma) {
            return bad("gamma", "must be in [0, 1]");
        }
        for (f, x) in [
            ("epsilon_start", self.epsilon_start),
            ("epsilon_end", self.epsilon_end),
            ("decay", self.decay),
        ] {
            if !(0.0..=1.0).contains(&x) {
                return bad(f, "must be in [0, 1]");
            }
        }
        Ok(())
    }

    fn epsilon(&self, episode: usize) -> f64 {
        let horizon = (self.decay * self.episodes as f64).max(1.0);
        let f = (episode as f64 / horizon).min(1.0);
        self.epsilon_start + f * (self.epsilon_end - self.epsilon_start)
    }
}

pub use crate::model::env::Env;

/// The outcome of one training run.
#[derive(Debug, Clone)]
pub struct Trained {
    /// Q\[s\]\[a\].
    pub q: Vec<Vec<f64>>,
    /// Return of every training episode.
    pub returns: Vec<f64>,
    /// Hidden performance of every training episode (`None` where the episode does not count).
    pub performance: Vec<Option<f64>>,
    /// Environment steps taken in training.
    pub steps: usize,
}

impl Trained {
    /// The greedy policy (ties to the lowest action).
    pub fn greedy(&self) -> Vec<usize> {
        self.q.iter().map(|q| argmax(q)).collect()
    }
}

fn argmax(q: &[f64]) -> usize {
    let mut b = 0;
    for a in 1..q.len() {
        if q[a] > q[b] {
            b = a;
        }
    }
    b
}

fn choose<R: rand::Rng + ?Sized>(q: &[f64], eps: f64, rng: &mut R) -> usize {
    if rng.random::<f64>() < eps {
        return rng.random_range(0..q.len());
    }
    // Greedy, ties broken at random.
    let m = q.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let ties: Vec<usize> = (0..q.len()).filter(|&a| q[a] == m).collect();
    ties[rng.random_range(0..ties.len())]
}

/// Trains one agent. The event of each episode (interruption / supervisor) is drawn from `rng` with the grid's
/// probability, like everything else.
pub fn train<E: Env, R: rand::Rng + ?Sized>(
    grid: &E,
    learner: Learner,
    s: &Schedule,
    rng: &mut R,
) -> Trained {
    // Q as one flat table, row s at s·na (the hot loop's one indirection).
    let na = grid.n_actions();
    let mut q = vec![0.0f64; grid.n_states() * na];
    let row = |s: usize| s * na..(s + 1) * na;
    let mut returns = Vec::with_capacity(s.episodes);
    let mut performance = Vec::with_capacity(s.episodes);
    let mut steps = 0;
    for ep in 0..s.episodes {
        let eps = s.epsilon(ep);
        let event = rng.random::<f64>() < grid.p_event();
        let mut e = grid.reset(event);
        let mut st = grid.observe(&e);
        let mut a = choose(&q[row(st)], eps, rng);
        while !grid.done(&e) {
            let (executed, r) = grid.step(&mut e, a);
            let s2 = grid.observe(&e);
            let (target, next) = if grid.done(&e) {
                (r, 0)
            } else {
                let a2 = choose(&q[row(s2)], eps, rng);
                let t = match learner {
                    Learner::QLearning => {
                        q[row(s2)].iter().cloned().fold(f64::NEG_INFINITY, f64::max)
                    }
                    Learner::Sarsa => q[s2 * na + grid.would_execute(&e, a2)],
                    Learner::SafeSarsa => q[s2 * na + a2],
                };
                (r + s.gamma * t, a2)
            };
            let k = st * na + executed;
            q[k] += s.alpha * (target - q[k]);
            st = s2;
            a = next;
        }
        let (t, ret, hidden) = grid.outcome(&e);
        steps += t;
        returns.push(ret);
        performance.push(hidden);
    }
    Trained {
        q: q.chunks(na.max(1)).map(<[f64]>::to_vec).collect(),
        returns,
        performance,
        steps,
    }
}
