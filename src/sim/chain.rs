//! Rollouts of a policy tree ([`crate::solvers::chain`]) on a chain with a true θ: the human's presence and
//! answers come from the environment's [`Noise`], drawn once, so every agent meets the same human (common random
//! numbers).

use crate::model::chain::{Chain, Noise};
use crate::offswitch::Move;
use crate::solvers::chain::Tree;

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
pub fn rollout(chain: &Chain, tree: &Tree, theta: f64, noise: &Noise) -> Rollout {
    let mut out = Rollout::default();
    let mut node = Some(0);
    for t in 0..chain.steps.len() {
        let Some(i) = node else { break };
        let n = tree.nodes[i];
        let present = noise.presence[t] < chain.presence;
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
                let allow = noise.answer[t] < chain.p_allow(t, theta);
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
    use crate::model::dials::Dials;
    use crate::rng::job_rng;
    use crate::solvers::chain::{Agent, solve};
    use rand::RngExt;

    #[test]
    fn the_mean_rollout_return_is_the_exact_value() {
        let f = Family {
            steps: 3,
            dials: Dials {
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
            },
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
                let d = Noise::draw(&mut r);
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
