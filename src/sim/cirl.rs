//! Rollouts of a CIRL game under the generalized backup's plans ([`crate::solvers::generalized`]): the true θ
//! drawn from the prior, the human acting by the plan's rule for it, the robot updating its belief over θ by
//! Bayes' rule with the same rule.

#![allow(clippy::needless_range_loop)] // beliefs indexed by θ beside the plan's rules

use super::Returns;
use crate::model::cirl::CirlGame;
use crate::rng::job_rng;
use crate::solvers::generalized::Solution;

/// One step of an episode, for histories: what happened and the robot's belief over θ afterwards.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    /// The world state.
    pub state: usize,
    /// The robot's action.
    pub robot: usize,
    /// The human's action.
    pub human: usize,
    /// The reward of the step.
    pub reward: f64,
    /// The robot's belief over θ after it.
    pub belief: Vec<f64>,
}

/// A simulated episode: the true θ, the discounted return and what happened at each decision.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Episode {
    /// The index of the true θ.
    pub theta: usize,
    /// The episode's discounted return.
    pub discounted_return: f64,
    /// Its decisions.
    pub steps: Vec<Step>,
}

/// One episode with true θ drawn from the prior: the robot starts with the best vector for the prior and
/// follows its plan; the human acts by the plan's rule for the true θ; the robot's belief is updated by Bayes'
/// rule with the same rule.
pub fn episode<R: rand::Rng + ?Sized>(g: &CirlGame, sol: &Solution, rng: &mut R) -> Episode {
    let ns = g.states.len();
    let theta = crate::rng::categorical(&g.prior, rng);
    let mut s = crate::rng::categorical(&g.initial_state, rng);
    let mut b = g.prior.clone();
    let mut idx = match sol.stages.first() {
        Some(st) => st.best(s, &b).1,
        None => {
            return Episode {
                theta,
                discounted_return: 0.0,
                steps: vec![],
            };
        }
    };
    let (mut ret, mut disc) = (0.0, 1.0);
    let mut history = Vec::with_capacity(sol.stages.len());
    for t in 0..sol.stages.len() {
        let plan = &sol.stages[t].sets[s][idx].1;
        let h = crate::rng::categorical(&plan.human[theta], rng);
        let reward = g.r[theta][s][h][plan.robot];
        ret += disc * reward;
        disc *= g.discount;
        // Bayes: b'(θ) ∝ b(θ)·π(h | θ).
        let z: f64 = (0..b.len()).map(|th| b[th] * plan.human[th][h]).sum();
        if z > 0.0 {
            for th in 0..b.len() {
                b[th] = b[th] * plan.human[th][h] / z;
            }
        }
        let sp = crate::rng::categorical(&g.t[s][h][plan.robot], rng);
        history.push(Step {
            state: s,
            robot: plan.robot,
            human: h,
            reward,
            belief: b.clone(),
        });
        idx = plan.next[h * ns + sp];
        s = sp;
    }
    Episode {
        theta,
        discounted_return: ret,
        steps: history,
    }
}

/// Mean discounted return of `episodes` simulated episodes with a 95% CI; episode i uses
/// [`job_rng`]`(seed, i)`, so results do not depend on the thread count.
pub fn simulate(g: &CirlGame, sol: &Solution, episodes: u64, seed: u64) -> Returns {
    super::summarize_stream(episodes, sol.stages.len(), |i| {
        episode(g, sol, &mut job_rng(seed, i)).discounted_return
    })
}
