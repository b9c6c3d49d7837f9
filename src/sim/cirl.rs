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

/// One episode with true θ `theta` (an index into the game's θ's), or drawn from the prior when `None`: the
/// robot starts with the best vector for the prior and follows its plan; the human acts by the plan's rule for
/// the true θ; the robot's belief is updated by Bayes' rule with the same rule.
pub fn episode<R: rand::Rng + ?Sized>(
    g: &CirlGame,
    sol: &Solution,
    theta: Option<usize>,
    rng: &mut R,
) -> Episode {
    let ns = g.states.len();
    let theta = theta.unwrap_or_else(|| crate::rng::categorical(&g.prior, rng));
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

/// Mean discounted return of `episodes` simulated episodes (the human holding `theta`, or θ drawn from the prior
/// in each) with a 95% CI; episode i uses [`job_rng`]`(seed, i)`, so results do not depend on the thread count.
pub fn simulate(
    g: &CirlGame,
    sol: &Solution,
    theta: Option<usize>,
    episodes: u64,
    seed: u64,
) -> Returns {
    super::summarize_stream(episodes, sol.stages.len(), |i| {
        episode(g, sol, theta, &mut job_rng(seed, i)).discounted_return
    })
}

/// How often the robot takes an action in a state at a decision, over every θ (weighted by the prior), chance
/// outcome and human action the plans allow: computed exactly, not sampled.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Visit {
    /// The decision (0 first).
    pub decision: usize,
    /// The world state.
    pub state: usize,
    /// The robot's action.
    pub robot: usize,
    /// P(the robot takes `robot` in `state` at `decision`).
    pub probability: f64,
}

/// The robot's behaviour under the plans, exactly: for every decision, state and robot action the probability
/// that the game is in that state at that decision and the robot takes that action (rows with probability 0
/// left out; ordered by decision, state, action). The plans are followed as [`episode`] follows them: the best
/// vector for the prior at the start, then the vector each plan names for the human's action and the next state.
pub fn behaviour(g: &CirlGame, sol: &Solution) -> Vec<Visit> {
    use std::collections::BTreeMap;
    let ns = g.states.len();
    let nr = g.robot_actions.len();
    let mut out = Vec::new();
    let Some(first) = sol.stages.first() else {
        return out;
    };
    // Per θ, the probability of each (state, vector index) at the current decision.
    let mut at: Vec<BTreeMap<(usize, usize), f64>> = (0..g.thetas.len())
        .map(|th| {
            let mut m = BTreeMap::new();
            if g.prior[th] > 0.0 {
                for (s, &p) in g.initial_state.iter().enumerate() {
                    if p > 0.0 {
                        // The robot starts from the best vector for the prior, as in an episode.
                        *m.entry((s, first.best(s, &g.prior).1)).or_insert(0.0) += g.prior[th] * p;
                    }
                }
            }
            m
        })
        .collect();
    for t in 0..sol.stages.len() {
        let mut taken = vec![0.0; ns * nr];
        let mut next: Vec<BTreeMap<(usize, usize), f64>> = vec![BTreeMap::new(); at.len()];
        for (th, m) in at.iter().enumerate() {
            for (&(s, idx), &p) in m {
                let plan = &sol.stages[t].sets[s][idx].1;
                taken[s * nr + plan.robot] += p;
                if t + 1 == sol.stages.len() {
                    continue;
                }
                for (h, &ph) in plan.human[th].iter().enumerate() {
                    if ph <= 0.0 {
                        continue;
                    }
                    for (sp, &pt) in g.t[s][h][plan.robot].iter().enumerate() {
                        if pt > 0.0 {
                            *next[th].entry((sp, plan.next[h * ns + sp])).or_insert(0.0) +=
                                p * ph * pt;
                        }
                    }
                }
            }
        }
        for (i, &p) in taken.iter().enumerate() {
            if p > 0.0 {
                out.push(Visit {
                    decision: t,
                    state: i / nr,
                    robot: i % nr,
                    probability: p,
                });
            }
        }
        at = next;
    }
    out
}
