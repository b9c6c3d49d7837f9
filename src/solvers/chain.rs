//! Agents for the sequential off-switch chain ([`crate::model::chain`]), each as a policy tree over the answers
//! it has heard, with its exact expected return under the robot's belief.
//!
//! The robot's belief after a history of answers is its prior times the likelihood of each answer, so a policy
//! is a tree: a node per history (step t, the answers so far), holding the move when the human is present and
//! when absent, and the children after no answer, an allow and a refusal. Values are kept unnormalized —
//! W(node) = P(history)·E[return from t | history] — so a node's payoffs are sums over the belief's quadrature
//! nodes weighted by prior × likelihood, with no division:
//!
//! - act: Σ wᵢ U_eff(θᵢ) + W(no answer); switch off: W(no answer);
//! - ask: Σ wᵢ πH(θᵢ)·U_eff(θᵢ) − c·Σ wᵢ + W(allow) + W(refusal), the children's weights w·πH and w·(1 − πH);
//! - W(node) = q·(best move with the human there) + (1 − q)·(best of act and off).
//!
//! The Bayes-optimal agent takes the best move at every node (backward induction over the full tree: exact,
//! up to the belief's quadrature, with 3^T nodes at most). The rivals take theirs from the posterior at the
//! node: act on the prior (never asks), always ask, ask when a confidence threshold fires, ask before
//! irreversible actions, and the one-shot off-switch rule applied step by step (myopic deferral: the best move
//! of the single step, blind to what an answer teaches about later steps). Each rival is scored on its own tree
//! by the same recursion, so the Bayes agent's value is at least every rival's by construction.

use serde::Serialize;

use crate::model::chain::{Belief, Chain};
use crate::offswitch::Move;

/// The agents compared.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Agent {
    /// Backward induction over the answer tree: the best move at every history.
    Bayes,
    /// Never asks: acts when the prior's E\[U_eff\] ≥ 0, else switches off.
    ActOnPrior,
    /// Asks whenever the human is there; otherwise acts on the posterior's E\[U_eff\].
    AlwaysAsk,
    /// Asks when the posterior's confidence max(P(U ≥ 0), P(U < 0)) is below the threshold; otherwise acts
    /// when P(U ≥ 0) ≥ ½, else switches off.
    Confidence(f64),
    /// Asks before irreversible actions; otherwise acts on the posterior's E\[U_eff\].
    IrreversibilityGate,
    /// The one-shot off-switch rule at every step on the current posterior: the best of E\[U_eff\],
    /// E\[πH·U_eff\] − c and 0, ignoring what an answer teaches about later steps.
    Myopic,
}

impl Agent {
    /// The agent's name (the results' `agent` column).
    pub fn name(&self) -> &'static str {
        match self {
            Agent::Bayes => "bayes",
            Agent::ActOnPrior => "act-on-prior",
            Agent::AlwaysAsk => "always-ask",
            Agent::Confidence(_) => "confidence-threshold",
            Agent::IrreversibilityGate => "irreversibility-gate",
            Agent::Myopic => "myopic",
        }
    }

    /// Every agent, the confidence rule at threshold `tau`.
    pub fn all(tau: f64) -> [Agent; 6] {
        [
            Agent::Bayes,
            Agent::ActOnPrior,
            Agent::AlwaysAsk,
            Agent::Confidence(tau),
            Agent::IrreversibilityGate,
            Agent::Myopic,
        ]
    }
}

/// A node of a policy tree.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node {
    /// The move with the human present.
    pub present: Move,
    /// The move with the human absent (act or off).
    pub absent: Move,
    /// The child after a step without an answer (none at the last step, or when no move reaches it).
    pub next: Option<usize>,
    /// The children after an allow and after a refusal (none unless the present move asks).
    pub answered: Option<(usize, usize)>,
    /// W: P(history) × the expected return from here, under the robot's belief.
    pub value: f64,
}

/// A policy tree: `nodes[0]` is the root (step 0, no answers).
#[derive(Debug, Clone, PartialEq)]
pub struct Tree {
    /// The nodes (children after their parent).
    pub nodes: Vec<Node>,
    /// At the root with the human present: Q(ask) − max(Q(act), Q(off)) — the incentive to defer at the first
    /// step, the sequential counterpart of the off-switch game's Δ (the Bayes agent's tree; 0 for the others).
    pub incentive: f64,
}

impl Tree {
    /// The expected return under the robot's belief.
    pub fn value(&self) -> f64 {
        self.nodes[0].value
    }
}

/// The payoff sums of a node's belief weights.
struct Sums {
    mass: f64,
    act: f64,
    ask: f64,
    good: f64,
}

fn sums(chain: &Chain, b: &Belief, w: &[f64], t: usize, pi: &[f64]) -> Sums {
    let mut s = Sums {
        mass: 0.0,
        act: 0.0,
        ask: 0.0,
        good: 0.0,
    };
    for ((th, wi), p) in b.theta.iter().zip(w).zip(pi) {
        let u = chain.payoff(t, *th);
        s.mass += wi;
        s.act += wi * u;
        s.ask += wi * p * u;
        if th + chain.steps[t].offset >= 0.0 {
            s.good += wi;
        }
    }
    s.ask -= chain.ask_cost * s.mass;
    s
}

/// The best of `moves` (value pairs) with the off-switch engine's tie rule: among values within `tol` of the
/// best, the first of wait, off, act.
fn best(moves: &[(Move, f64)], tol: f64) -> (Move, f64) {
    let top = moves.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max);
    for pref in [Move::Wait, Move::Off, Move::Act] {
        if let Some(m) = moves.iter().find(|m| m.0 == pref && m.1 >= top - tol) {
            return (m.0, top);
        }
    }
    unreachable!("moves is not empty")
}

struct Builder<'a> {
    chain: &'a Chain,
    belief: &'a Belief,
    agent: Agent,
    /// πH(θᵢ) per step.
    pi: Vec<Vec<f64>>,
    tol: f64,
    nodes: Vec<Node>,
    incentive: f64,
}

impl Builder<'_> {
    /// Builds the subtree of step `t` with belief weights `w`; its node index and W.
    fn build(&mut self, t: usize, w: Vec<f64>) -> (usize, f64) {
        let idx = self.nodes.len();
        self.nodes.push(Node {
            present: Move::Off,
            absent: Move::Off,
            next: None,
            answered: None,
            value: 0.0,
        });
        let last = t + 1 == self.chain.steps.len();
        let s = sums(self.chain, self.belief, &w, t, &self.pi[t]);
        let q = self.chain.presence;
        let tol = self.tol * s.mass.max(f64::MIN_POSITIVE);
        // The rivals' moves from the posterior (Bayes decides after its children are valued).
        let mean = if s.mass > 0.0 { s.act / s.mass } else { 0.0 };
        let p_good = if s.mass > 0.0 { s.good / s.mass } else { 0.0 };
        let act_or_off = |good: bool| if good { Move::Act } else { Move::Off };
        let rival = |present: bool| -> Option<Move> {
            let m = match self.agent {
                Agent::Bayes | Agent::Myopic => return None,
                Agent::ActOnPrior => act_or_off(mean >= 0.0),
                Agent::AlwaysAsk if present => Move::Wait,
                Agent::IrreversibilityGate if present && self.chain.steps[t].irreversible => {
                    Move::Wait
                }
                Agent::AlwaysAsk | Agent::IrreversibilityGate => act_or_off(mean >= 0.0),
                Agent::Confidence(tau) if present && p_good.max(1.0 - p_good) < tau => Move::Wait,
                Agent::Confidence(_) => act_or_off(p_good >= 0.5),
            };
            Some(m)
        };
        let myopic = |present: bool| -> Move {
            let mut m = vec![(Move::Act, s.act), (Move::Off, 0.0)];
            if present {
                m.push((Move::Wait, s.ask));
            }
            best(&m, tol).0
        };
        let (want_p, want_a) = match self.agent {
            Agent::Bayes => (None, None),
            Agent::Myopic => (Some(myopic(true)), Some(myopic(false))),
            _ => (rival(true), rival(false)),
        };
        let needs_next = match (want_p, want_a) {
            (None, _) | (_, None) => true,
            (Some(p), Some(a)) => (q > 0.0 && p != Move::Wait) || q < 1.0 && a != Move::Wait,
        };
        // The Bayes agent values asking even where the human is never there (for its incentive to defer).
        let needs_answers = match want_p {
            None => true,
            Some(m) => q > 0.0 && m == Move::Wait,
        };
        let (next, w_next) = if last || !needs_next {
            (None, 0.0)
        } else {
            let (i, v) = self.build(t + 1, w.clone());
            (Some(i), v)
        };
        let (answered, w_ans) = if !needs_answers || last {
            (None, 0.0)
        } else {
            let pi = &self.pi[t];
            let allow: Vec<f64> = w.iter().zip(pi).map(|(a, p)| a * p).collect();
            let deny: Vec<f64> = w.iter().zip(pi).map(|(a, p)| a * (1.0 - p)).collect();
            let (ia, va) = self.build(t + 1, allow);
            let (id, vd) = self.build(t + 1, deny);
            (Some((ia, id)), va + vd)
        };
        let q_act = s.act + w_next;
        let q_off = w_next;
        let q_ask = s.ask + w_ans;
        let value_of = |m: Move| match m {
            Move::Act => q_act,
            Move::Off => q_off,
            Move::Wait => q_ask,
        };
        let (present, absent) = match (want_p, want_a) {
            (Some(p), Some(a)) => (p, a),
            _ => {
                let p = best(
                    &[(Move::Act, q_act), (Move::Wait, q_ask), (Move::Off, q_off)],
                    tol,
                )
                .0;
                let a = best(&[(Move::Act, q_act), (Move::Off, q_off)], tol).0;
                (p, a)
            }
        };
        let mut value = 0.0;
        if q > 0.0 {
            value += q * value_of(present);
        }
        if q < 1.0 {
            value += (1.0 - q) * value_of(absent);
        }
        if idx == 0 && self.agent == Agent::Bayes {
            self.incentive = (q_ask - q_act.max(q_off)) / s.mass;
        }
        self.nodes[idx] = Node {
            present,
            absent,
            next,
            answered,
            value,
        };
        (idx, value)
    }
}

/// The policy tree of `agent` on `chain`, valued under the robot's belief `belief` (see the module docs).
pub fn solve(chain: &Chain, belief: &Belief, agent: Agent) -> Tree {
    let pi: Vec<Vec<f64>> = (0..chain.steps.len())
        .map(|t| {
            belief
                .theta
                .iter()
                .map(|th| chain.p_allow(t, *th))
                .collect()
        })
        .collect();
    let mut b = Builder {
        chain,
        belief,
        agent,
        pi,
        tol: crate::offswitch::TIE_RTOL * chain.scale(),
        nodes: Vec::new(),
        incentive: 0.0,
    };
    b.build(0, belief.weight.clone());
    Tree {
        nodes: b.nodes,
        incentive: b.incentive,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::belief::Prior;
    use crate::human::Human;
    use crate::model::chain::Step;

    fn chain(steps: Vec<Step>, sigma: f64, human: Human, c: f64, q: f64) -> Chain {
        Chain {
            steps,
            mu: 0.25,
            sigma,
            human,
            ask_cost: c,
            undo_cost: 0.5,
            presence: q,
        }
    }

    const IRR: Step = Step {
        offset: 0.0,
        irreversible: true,
    };

    #[test]
    fn one_step_is_the_offswitch_game() {
        for human in [
            Human::Rational,
            Human::Boltzmann { beta: 0.5 },
            Human::Boltzmann { beta: 0.05 },
            Human::PRational { p: 0.8 },
        ] {
            for (sigma, c, q) in [(1.0, 0.0, 1.0), (0.3, 0.1, 1.0), (2.0, 0.2, 0.6)] {
                let ch = chain(vec![IRR], sigma, human, c, q);
                let t = solve(&ch, &ch.belief(40, 12), Agent::Bayes);
                let v = crate::offswitch::values(&Prior::Normal { mu: 0.25, sigma }, &human, c)
                    .unwrap();
                let want = q * v.v_act.max(v.v_wait).max(0.0) + (1.0 - q) * v.v_act.max(0.0);
                assert!(
                    (t.value() - want).abs() < 1e-10,
                    "{human:?} {sigma} {c}: {} {want}",
                    t.value()
                );
                assert!(
                    (t.incentive - v.delta).abs() < 1e-10,
                    "{} {}",
                    t.incentive,
                    v.delta
                );
            }
        }
    }

    #[test]
    fn bayes_is_at_least_every_rival_and_carry_over_pays() {
        let steps = vec![
            IRR,
            Step {
                offset: -0.4,
                irreversible: false,
            },
            Step {
                offset: 0.7,
                irreversible: true,
            },
            IRR,
        ];
        let ch = chain(steps, 1.0, Human::Boltzmann { beta: 0.3 }, 0.15, 0.7);
        let b = ch.belief(40, 12);
        let bayes = solve(&ch, &b, Agent::Bayes).value();
        for a in Agent::all(0.8) {
            let v = solve(&ch, &b, a).value();
            assert!(v <= bayes + 1e-12, "{a:?}: {v} > {bayes}");
        }
        assert!(bayes > solve(&ch, &b, Agent::Myopic).value() + 1e-6);
    }
}
