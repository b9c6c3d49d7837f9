//! Rollouts of a policy tree ([`crate::solvers::chain`]) on a chain with a true θ: the human's presence and
//! answers come from uniforms drawn once per chain, so every agent meets the same human (common random numbers).

use rand::{Rng, RngExt};

use crate::model::chain::Chain;
use crate::offswitch::Move;
use crate::solvers::chain::Tree;

/// The uniforms one chain's rollouts share: per step, the human's presence and answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Draws {
    /// Per step: present iff the uniform is below q.
    pub presence: Vec<f64>,
    /// Per step: the human allows iff the uniform is below πH(U_t).
    pub answer: Vec<f64>,
}

impl Draws {
    /// The uniforms of a chain of `steps` steps.
    pub fn new<R: Rng + ?Sized>(steps: usize, rng: &mut R) -> Draws {
        let presence = (0..steps).map(|_| rng.random()).collect();
        let answer = (0..steps).map(|_| rng.random()).collect();
        Draws { presence, answer }
    }
}

/// What one rollout did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rollout {
    /// The realised return: Σ U_eff of the actions done, minus c per ask.
    pub ret: f64,
    /// Questions asked.
    pub asks: u32,
    /// Bad irreversible actions done (acted on, or allowed by the human).
    pub harms: u32,
}

/// Plays `tree` on `chain` with true value `theta`.
pub fn rollout(chain: &Chain, tree: &Tree, theta: f64, draws: &Draws) -> Rollout {
    let mut out = Rollout::default();
    let mut node = Some(0);
    for t in 0..chain.steps.len() {
        let Some(i) = node else { break };
        let n = tree.nodes[i];
        let present = draws.presence[t] < chain.presence;
        let mv = if present { n.present } else { n.absent };
        let u = chain.payoff(t, theta);
        let harm = chain.steps[t].irreversible && theta + chain.steps[t].offset < 0.0;
        match mv {
            Move::Act => {
                out.ret += u;
                out.harms += harm as u32;
                node = n.next;
            }
            Move::Off => node = n.next,
            Move::Wait => {
                out.asks += 1;
                out.ret -= chain.ask_cost;
                let allow = draws.answer[t] < chain.p_allow(t, theta);
                if allow {
                    out.ret += u;
                    out.harms += harm as u32;
                }
                node = n.answered.map(|(a, d)| if allow { a } else { d });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::human::Human;
    use crate::model::chain::Family;
    use crate::rng::job_rng;
    use crate::solvers::chain::{Agent, solve};

    #[test]
    fn the_mean_rollout_return_is_the_exact_value() {
        let f = Family {
            steps: 3,
            mu: 0.2,
            sigma: 1.0,
            spread: 0.5,
            irreversible: 0.5,
            undo_cost: 0.4,
            ask_cost: 0.1,
            presence: 0.7,
            human: Human::Boltzmann { beta: 0.4 },
            shift: 0.0,
            scale: 1.0,
        };
        let mut rng = job_rng(3, 0);
        let (chain, _) = f.draw(&mut rng);
        let b = chain.belief(40, 12);
        for agent in Agent::all(0.8) {
            let tree = solve(&chain, &b, agent);
            // θ from the robot's own belief: the mean return is the tree's value.
            let n = 200_000;
            let (mut s, mut s2) = (0.0, 0.0);
            let mut r = job_rng(4, 1);
            for _ in 0..n {
                let z: f64 = r.sample(rand_distr::StandardNormal);
                let d = Draws::new(3, &mut r);
                let x = rollout(&chain, &tree, chain.mu + chain.sigma * z, &d).ret;
                s += x;
                s2 += x * x;
            }
            let m = s / n as f64;
            let se = ((s2 / n as f64 - m * m) / n as f64).sqrt();
            assert!(
                (m - tree.value()).abs() < 4.0 * se,
                "{agent:?}: {m} ± {se} vs {}",
                tree.value()
            );
        }
    }
}
