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
//! Every history's sums depend on the history alone, not on the agent, so they are computed once per chain
//! ([`Histories`]: (3^T − 1)/2 histories, each a pass over the quadrature nodes) and every agent's tree is a
//! backward pass over them. The Bayes-optimal agent takes the best move at every node (backward induction:
//! exact, up to the belief's quadrature). The rivals take theirs from the posterior at the node: act on the
//! prior (never asks), always ask, ask when a confidence threshold fires, ask before irreversible actions, and
//! the one-shot off-switch rule applied step by step (myopic deferral: the best move of the single step, blind
//! to what an answer teaches about later steps). Each rival is scored by the same recursion, so the Bayes
//! agent's value is at least every rival's by construction. An answer the belief gives probability 0 (a point
//! belief or a sure human contradicted) is ignored: the robot keeps the belief it had before it.

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
    /// W: P(history) × the expected return from here, under the robot's belief (below a history the belief
    /// gives probability 0, the value under the belief before the impossible answer, which the robot ignores).
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

/// The payoff sums of a history's belief weights.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Sums {
    mass: f64,
    act: f64,
    ask: f64,
    good: f64,
}

/// A belief's quadrature nodes evaluated at every step: U_eff, πH and whether U ≥ 0.
struct Tables {
    u: Vec<Vec<f64>>,
    pi: Vec<Vec<f64>>,
    good: Vec<Vec<bool>>,
}

impl Tables {
    fn new(chain: &Chain, b: &Belief) -> Tables {
        let steps = 0..chain.steps.len();
        Tables {
            u: steps
                .clone()
                .map(|t| b.theta.iter().map(|th| chain.payoff(t, *th)).collect())
                .collect(),
            pi: steps
                .clone()
                .map(|t| b.theta.iter().map(|th| chain.p_allow(t, *th)).collect())
                .collect(),
            good: steps
                .map(|t| {
                    b.theta
                        .iter()
                        .map(|th| th + chain.steps[t].offset >= 0.0)
                        .collect()
                })
                .collect(),
        }
    }

    /// The sums of weights `w` at step `t`.
    fn sums(&self, c: f64, w: &[f64], t: usize) -> Sums {
        let mut s = Sums {
            mass: 0.0,
            act: 0.0,
            ask: 0.0,
            good: 0.0,
        };
        for (((wi, u), p), g) in w.iter().zip(&self.u[t]).zip(&self.pi[t]).zip(&self.good[t]) {
            s.mass += wi;
            s.act += wi * u;
            s.ask += wi * p * u;
            if *g {
                s.good += wi;
            }
        }
        s.ask -= c * s.mass;
        s
    }
}

/// One history of a chain: the step, what has been heard, and the sums of the belief weights it leaves.
#[derive(Debug, Clone, Copy, PartialEq)]
struct History {
    t: usize,
    sums: Sums,
    /// After the step without an answer, after an allow, after a refusal (none at the last step).
    next: Option<usize>,
    answered: Option<(usize, usize)>,
    /// An answer the belief before it gives probability 0: its subtree carries the belief before it and adds
    /// nothing to the value under the belief.
    impossible: bool,
}

/// Every history of a chain — after each step, no answer, an allow or a refusal: (3^T − 1)/2 — with its sums,
/// computed once and shared by every agent's policy (which differ only in the moves they take at them).
pub struct Histories {
    nodes: Vec<History>,
    /// The tie tolerance per unit of belief mass.
    tol: f64,
    presence: f64,
}

impl Histories {
    /// The histories of `chain` under the robot's belief `belief`.
    pub fn new(chain: &Chain, belief: &Belief) -> Histories {
        let tables = Tables::new(chain, belief);
        let mut h = Histories {
            nodes: Vec::with_capacity((3usize.pow(chain.steps.len() as u32) - 1) / 2),
            tol: crate::offswitch::TIE_RTOL * chain.scale(),
            presence: chain.presence,
        };
        h.build(chain, &tables, 0, &belief.weight, false);
        h
    }

    fn build(
        &mut self,
        chain: &Chain,
        tables: &Tables,
        t: usize,
        w: &[f64],
        impossible: bool,
    ) -> usize {
        let idx = self.nodes.len();
        self.nodes.push(History {
            t,
            sums: tables.sums(chain.ask_cost, w, t),
            next: None,
            answered: None,
            impossible,
        });
        if t + 1 < chain.steps.len() {
            let next = self.build(chain, tables, t + 1, w, false);
            let pi = &tables.pi[t];
            let allow: Vec<f64> = w.iter().zip(pi).map(|(a, p)| a * p).collect();
            let deny: Vec<f64> = w.iter().zip(pi).map(|(a, p)| a * (1.0 - p)).collect();
            let mut child = |v: &[f64]| {
                if v.iter().any(|x| *x > 0.0) {
                    self.build(chain, tables, t + 1, v, false)
                } else {
                    self.build(chain, tables, t + 1, w, true)
                }
            };
            let a = child(&allow);
            let d = child(&deny);
            self.nodes[idx].next = Some(next);
            self.nodes[idx].answered = Some((a, d));
        }
        idx
    }

    /// The policy tree of `agent` on these histories (see the module docs).
    pub fn solve(&self, chain: &Chain, agent: Agent) -> Tree {
        let q = self.presence;
        let n = self.nodes.len();
        let mut nodes = vec![
            Node {
                present: Move::Off,
                absent: Move::Off,
                next: None,
                answered: None,
                value: 0.0,
            };
            n
        ];
        let mut incentive = 0.0;
        // Children come after their parent: backward over the indices is bottom-up.
        for idx in (0..n).rev() {
            let h = &self.nodes[idx];
            let s = h.sums;
            let tol = self.tol * s.mass.max(f64::MIN_POSITIVE);
            let w = |c: Option<usize>| match c {
                Some(c) if !self.nodes[c].impossible => nodes[c].value,
                _ => 0.0,
            };
            let w_next = w(h.next);
            let w_ans = h.answered.map_or(0.0, |(a, d)| w(Some(a)) + w(Some(d)));
            let q_act = s.act + w_next;
            let q_off = w_next;
            let q_ask = s.ask + w_ans;
            let mean = if s.mass > 0.0 { s.act / s.mass } else { 0.0 };
            let p_good = if s.mass > 0.0 { s.good / s.mass } else { 0.0 };
            let act_or_off = |good: bool| if good { Move::Act } else { Move::Off };
            let myopic = |present: bool| {
                let mut m = vec![(Move::Act, s.act), (Move::Off, 0.0)];
                if present {
                    m.push((Move::Wait, s.ask));
                }
                best(&m, tol).0
            };
            let irreversible = chain.steps[h.t].irreversible;
            let (present, absent) = match agent {
                Agent::Bayes => (
                    best(
                        &[(Move::Act, q_act), (Move::Wait, q_ask), (Move::Off, q_off)],
                        tol,
                    )
                    .0,
                    best(&[(Move::Act, q_act), (Move::Off, q_off)], tol).0,
                ),
                Agent::Myopic => (myopic(true), myopic(false)),
                Agent::ActOnPrior => (act_or_off(mean >= 0.0), act_or_off(mean >= 0.0)),
                Agent::AlwaysAsk => (Move::Wait, act_or_off(mean >= 0.0)),
                Agent::IrreversibilityGate if irreversible => (Move::Wait, act_or_off(mean >= 0.0)),
                Agent::IrreversibilityGate => (act_or_off(mean >= 0.0), act_or_off(mean >= 0.0)),
                Agent::Confidence(tau) => {
                    let sure = act_or_off(p_good >= 0.5);
                    let present = if p_good.max(1.0 - p_good) < tau {
                        Move::Wait
                    } else {
                        sure
                    };
                    (present, sure)
                }
            };
            let value_of = |m: Move| match m {
                Move::Act => q_act,
                Move::Off => q_off,
                Move::Wait => q_ask,
            };
            let mut value = 0.0;
            if q > 0.0 {
                value += q * value_of(present);
            }
            if q < 1.0 {
                value += (1.0 - q) * value_of(absent);
            }
            if idx == 0 && agent == Agent::Bayes {
                incentive = (q_ask - q_act.max(q_off)) / s.mass;
            }
            nodes[idx] = Node {
                present,
                absent,
                next: h.next,
                answered: h.answered,
                value,
            };
        }
        Tree { nodes, incentive }
    }
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

/// The policy tree of `agent` on `chain`, valued under the robot's belief `belief` (see the module docs). To
/// solve several agents on one chain, build its [`Histories`] once and call [`Histories::solve`].
pub fn solve(chain: &Chain, belief: &Belief, agent: Agent) -> Tree {
    Histories::new(chain, belief).solve(chain, agent)
}

/// The expected return of `tree`'s moves when θ is distributed as `theta` (quadrature nodes and weights summing
/// to 1): the tree's value under another belief than the one it was built for — the truth's, when the robot's
/// prior is misspecified. Under the belief the tree was built for it is [`Tree::value`].
pub fn evaluate(chain: &Chain, tree: &Tree, theta: &Belief) -> f64 {
    let tables = Tables::new(chain, theta);
    walk(chain, tree, &tables, 0, 0, &theta.weight)
}

/// W of node `i` (at step `t`) of `tree` with unnormalized weights `w` over the nodes of `tables`' belief.
fn walk(chain: &Chain, tree: &Tree, tables: &Tables, i: usize, t: usize, w: &[f64]) -> f64 {
    let n = tree.nodes[i];
    let q = chain.presence;
    let s = tables.sums(chain.ask_cost, w, t);
    let needs_next = (q > 0.0 && n.present != Move::Wait) || (q < 1.0 && n.absent != Move::Wait);
    let w_next = match n.next {
        Some(c) if needs_next => walk(chain, tree, tables, c, t + 1, w),
        _ => 0.0,
    };
    let w_ans = match n.answered {
        Some((a, d)) if q > 0.0 && n.present == Move::Wait => {
            let pi = &tables.pi[t];
            let allow: Vec<f64> = w.iter().zip(pi).map(|(x, p)| x * p).collect();
            let deny: Vec<f64> = w.iter().zip(pi).map(|(x, p)| x * (1.0 - p)).collect();
            walk(chain, tree, tables, a, t + 1, &allow) + walk(chain, tree, tables, d, t + 1, &deny)
        }
        _ => 0.0,
    };
    let value_of = |m: Move| match m {
        Move::Act => s.act + w_next,
        Move::Off => w_next,
        Move::Wait => s.ask + w_ans,
    };
    let mut value = 0.0;
    if q > 0.0 {
        value += q * value_of(n.present);
    }
    if q < 1.0 {
        value += (1.0 - q) * value_of(n.absent);
    }
    value
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

    #[test]
    fn an_answer_the_belief_calls_impossible_is_ignored() {
        // A point belief θ = 0.25 and a rational human: at a step worth −0.25 the robot asks (a free question is
        // worth as much as switching off); if the truth is θ = 1.25 the human allows — impossible under the
        // belief. The robot then keeps its belief, and under the truth it does at least as well as acting on it.
        let steps = vec![
            Step {
                offset: -0.5,
                irreversible: true,
            },
            IRR,
            IRR,
        ];
        let ch = chain(steps, 0.0, Human::Rational, 0.0, 0.5);
        let b = ch.belief(40, 12);
        let truth = Chain {
            mu: 1.25,
            ..ch.clone()
        };
        let bt = truth.belief(40, 12);
        let bayes = solve(&ch, &b, Agent::Bayes);
        let act = solve(&ch, &b, Agent::ActOnPrior);
        assert_eq!(bayes.value(), act.value());
        let (vb, va) = (evaluate(&ch, &bayes, &bt), evaluate(&ch, &act, &bt));
        assert!(vb >= va - 1e-12, "{vb} < {va}");
        // After the impossible allow, the absent human's steps are acted on as before the answer.
        let (allow, _) = bayes.nodes[0].answered.unwrap();
        assert_eq!(bayes.nodes[allow].absent, Move::Act);
    }

    #[test]
    fn a_tree_evaluated_under_its_own_belief_has_its_value_and_misspecification_costs() {
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
        ];
        let ch = chain(steps, 1.0, Human::Boltzmann { beta: 0.3 }, 0.1, 0.8);
        let b = ch.belief(40, 12);
        for a in Agent::all(0.8) {
            let t = solve(&ch, &b, a);
            let v = evaluate(&ch, &t, &b);
            assert!((v - t.value()).abs() < 1e-12, "{a:?}: {v} {}", t.value());
        }
        // Under a truth centred elsewhere, the tree built for the truth is worth at least the robot's.
        let truth = Chain {
            mu: -0.75,
            sigma: 0.5,
            ..ch.clone()
        };
        let bt = truth.belief(40, 12);
        let own = evaluate(&ch, &solve(&ch, &b, Agent::Bayes), &bt);
        let best = solve(&truth, &bt, Agent::Bayes).value();
        assert!(own < best - 1e-6, "{own} {best}");
    }
}
