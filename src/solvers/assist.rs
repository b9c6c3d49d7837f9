//! Agents for tabular assistance games with a query move ([`crate::model::assist`]): the Bayes-optimal deferring
//! agent, exact where the game is small and with certified bounds beyond, and the rivals of
//! [`crate::solvers::chain`], each with its exact expected return under the robot's belief and under the truth.
//!
//! **Histories.** θ is static and the human's answers are independent given θ, so the robot's belief after a
//! history is its prior times the likelihoods of the answers heard, whatever their order: a history is
//! identified by (step, state, the multiset of answers), and the histories form a graph in which every path to a
//! node carries the same belief weights w. As in the chain, values are kept unnormalized — W(node) = Σ_k w_k ·
//! E_k[return from here] — so a move's value is a sum with no division:
//! - act a: Σ_k w_k U_k(s, a) + Σ_s' T(s'|s, a)·W(t + 1, s', same answers);
//! - switch off: Σ_s' T(s'|s, no-op)·W(t + 1, s', same answers);
//! - ask about a: Σ_k w_k πH(U_k)·U_k − c·Σ_k w_k + Σ_s' T(s'|s, a)·W(after an allow) + Σ_s' T(s'|s, no-op)·W(after
//!   a refusal), the children's weights w·πH and w·(1 − πH);
//! - W(node) = q·(the move with the human there) + (1 − q)·(the move without: act or off).
//!
//! Nodes are built lazily: the Bayes agent expands every move, a rival only the moves it takes.
//!
//! **The Bayes agent** takes the best move at every node (backward induction, exact). When the graph would pass
//! `max_nodes` it looks ahead exactly for as many steps D as fit and then continues as the certainty-equivalent
//! agent; that policy's exact value is a **lower bound** on the optimum, and the same lookahead with every
//! continuation valued by the clairvoyant (who knows θ: Σ_k w_k V*_k(t, s), each V*_k the optimum of the MDP of
//! hypothesis k) is an **upper bound**. [`Solution`] says which and the gap.
//!
//! **The rivals**, each deciding from the posterior at its node: act on the prior — the certainty-equivalent
//! agent, which plans with the posterior's mean utilities and never asks (it never learns, so it plans once);
//! always ask (about the action its plan rates best); a confidence threshold (ask when max(P(U ≥ 0), P(U < 0))
//! of that action is below τ); an irreversibility gate (ask before its plan's irreversible actions); and the
//! one-shot rule applied step by step (myopic: the best move of this step, its continuation valued by the
//! certainty-equivalent plan under the current belief — blind to what an answer teaches). An answer the belief
//! gives probability 0 is ignored (the robot keeps the belief it had).

use std::collections::HashMap;

use crate::human::ResponseModel;
use crate::model::assist::{Game, Truth};
use crate::solvers::chain::Agent;

/// A robot's move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// Do action a.
    Act(usize),
    /// Ask the human about action a.
    Ask(usize),
    /// Switch off (the no-op).
    Off,
}

/// A successor: (node, probability, whether the belief gives it mass — a contradicted answer's fallback does not).
#[derive(Debug, Clone, Copy)]
struct Edge {
    node: u32,
    p: f64,
    live: bool,
}

/// A belief: the weights after a multiset of answers, shared by every node that has heard them.
#[derive(Debug, Clone)]
struct Belief {
    w: Vec<f64>,
    mass: f64,
    /// The beliefs after one more answer: (answer id, the belief, whether it has mass).
    after: Vec<(u32, u32, bool)>,
    /// Its nodes, by t·|S| + s (u32::MAX: not built).
    nodes: Vec<u32>,
    /// Its certainty-equivalent plan (built when a rival needs it).
    plan: Option<u32>,
}

/// A node: its step, state and belief. Its sums live in `Solver::sums` at 4·|A|·i — per action Σ_k w_k U_k(s, a)
/// (payoffs), Σ_k w_k πH U_k − c·mass, Σ_k w_k πH and Σ_k w_k [U_k ≥ 0] — and its successors' ranges of the edge
/// arena in `Solver::slots` at (3·|A| + 1)·i, one per move slot (acts 0..|A|, off |A|, allows |A|+1.., refusals
/// 2|A|+1..), (u32::MAX, 0) until built.
#[derive(Debug, Clone, Copy)]
struct Node {
    t: usize,
    s: usize,
    belief: u32,
}

/// Which of a node's sums.
#[derive(Debug, Clone, Copy)]
enum Sum {
    Act = 0,
    Ask = 1,
    Allow = 2,
    Good = 3,
}

/// The certainty-equivalent plan of one belief: per step and state, its value and move (act or off).
#[derive(Debug, Clone)]
struct Plan {
    value: Vec<Vec<f64>>,
    best: Vec<Vec<Move>>,
}

/// One agent's decisions: per node, (move present, move absent, W).
type Decisions = Vec<Option<(Move, Move, f64)>>;

/// How the Bayes agent was solved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Solution {
    /// The steps looked ahead exactly (= the horizon: exact).
    pub depth: usize,
    /// Whether the solution is exact.
    pub exact: bool,
    /// Lower and upper bounds on the Bayes-optimal value under the belief (equal when exact).
    pub lower: f64,
    /// The upper bound.
    pub upper: f64,
    /// The histories (nodes of the graph) the Bayes agent was solved on.
    pub histories: usize,
}

/// The game's histories and every agent's decisions on them.
pub struct Solver<'g> {
    game: &'g Game,
    /// Per hypothesis and (s, a): payoff, πH.
    payoff: Vec<Vec<f64>>,
    pi: Vec<Vec<f64>>,
    nodes: Vec<Node>,
    sums: Vec<f64>,
    slots: Vec<(u32, u32)>,
    edges: Vec<Edge>,
    beliefs: Vec<Belief>,
    belief_index: HashMap<Vec<u32>, u32>,
    answers: Vec<Vec<u32>>,
    plans: Vec<Plan>,
    /// The clairvoyant's values V*_k(t, s).
    clairvoyant: Vec<Vec<Vec<f64>>>,
    tol: f64,
    max_nodes: usize,
    /// Steps the Bayes agent looks ahead exactly.
    depth: usize,
    agents: Vec<Agent>,
    decisions: Vec<Decisions>,
    too_big: bool,
}

/// What one agent scored on one game.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Its exact expected return under the robot's belief.
    pub value: f64,
    /// Its exact expected return under the truth.
    pub truth: f64,
}

/// Every agent's scores on one game, and how the Bayes agent was solved.
#[derive(Debug, Clone)]
pub struct Scores {
    /// Per agent, in the order asked for.
    pub agents: Vec<Score>,
    /// The Bayes agent's incentive to defer at the first step with the human there:
    /// Q(best ask) − max(Q(best act), Q(off)), per unit of belief.
    pub incentive: f64,
    /// How the Bayes agent was solved.
    pub solution: Solution,
}

const UNBUILT: u32 = u32::MAX;

impl<'g> Solver<'g> {
    /// The solver of `game` for `agents`, the Bayes agent looking ahead at most `depth` steps and the graph of
    /// histories held to `max_nodes`.
    fn new(game: &'g Game, agents: &[Agent], depth: usize, max_nodes: usize) -> Solver<'g> {
        let sa = game.states * game.actions;
        let payoff: Vec<Vec<f64>> = game
            .hypotheses
            .iter()
            .map(|h| (0..sa).map(|i| game.payoff(i, h[i])).collect())
            .collect();
        let pi: Vec<Vec<f64>> = game
            .hypotheses
            .iter()
            .map(|h| h.iter().map(|u| game.human.p_allow(*u)).collect())
            .collect();
        let mut s = Solver {
            game,
            payoff,
            pi,
            nodes: Vec::new(),
            sums: Vec::new(),
            slots: Vec::new(),
            edges: Vec::new(),
            beliefs: Vec::new(),
            belief_index: HashMap::new(),
            answers: Vec::new(),
            plans: Vec::new(),
            clairvoyant: Vec::new(),
            tol: crate::offswitch::TIE_RTOL * game.scale(),
            max_nodes,
            depth,
            agents: agents.to_vec(),
            decisions: vec![Vec::new(); agents.len()],
            too_big: false,
        };
        s.clairvoyant = (0..game.thetas())
            .map(|k| {
                let u = s.payoff[k].clone();
                s.plan_of(&u).value
            })
            .collect();
        let b = s.belief(Vec::new(), game.prior.clone());
        s.node(0, game.start, b);
        s
    }

    /// The optimal plan (act or off at every step, no asks) for utilities `u` (per (s, a), already payoffs).
    fn plan_of(&self, u: &[f64]) -> Plan {
        let g = self.game;
        let (ns, na, h) = (g.states, g.actions, g.horizon);
        let mut value = vec![vec![0.0; ns]; h + 1];
        let mut best = vec![vec![Move::Off; ns]; h];
        for t in (0..h).rev() {
            for s in 0..ns {
                let next = |a: usize| -> f64 {
                    g.t[s][a].iter().map(|&(s2, p)| p * value[t + 1][s2]).sum()
                };
                let off = next(na);
                let mut top = (Move::Off, off);
                for a in 0..na {
                    let v = u[s * na + a] + next(a);
                    if v > top.1 + self.tol {
                        top = (Move::Act(a), v);
                    }
                }
                value[t][s] = top.1;
                best[t][s] = top.0;
            }
        }
        Plan { value, best }
    }

    /// The belief after the answers `answers` (sorted), with weights `w` if new.
    fn belief(&mut self, answers: Vec<u32>, w: Vec<f64>) -> u32 {
        if let Some(&b) = self.belief_index.get(&answers) {
            return b;
        }
        let g = self.game;
        let b = self.beliefs.len() as u32;
        self.beliefs.push(Belief {
            mass: w.iter().sum(),
            w,
            after: Vec::new(),
            nodes: vec![UNBUILT; g.horizon * g.states],
            plan: None,
        });
        self.answers.push(answers.clone());
        self.belief_index.insert(answers, b);
        b
    }

    /// The belief after belief `b` hears answer `id` ((s·|A| + a)·2 + refused), and whether it has mass (an
    /// answer the belief calls impossible is ignored: the belief stays `b`).
    fn after(&mut self, b: u32, id: u32) -> (u32, bool) {
        if let Some(&(_, c, live)) = self.beliefs[b as usize].after.iter().find(|x| x.0 == id) {
            return (c, live);
        }
        let (sa, refused) = ((id / 2) as usize, id % 2 == 1);
        let w: Vec<f64> = self.beliefs[b as usize]
            .w
            .iter()
            .enumerate()
            .map(|(k, wk)| {
                let p = self.pi[k][sa];
                wk * if refused { 1.0 - p } else { p }
            })
            .collect();
        let (c, live) = if w.iter().any(|x| *x > 0.0) {
            let mut ans = self.answers[b as usize].clone();
            let at = ans.partition_point(|x| *x <= id);
            ans.insert(at, id);
            (self.belief(ans, w), true)
        } else {
            (b, false)
        };
        self.beliefs[b as usize].after.push((id, c, live));
        (c, live)
    }

    /// The plan of belief `b` (built on first use).
    fn plan(&mut self, b: u32) -> u32 {
        if let Some(p) = self.beliefs[b as usize].plan {
            return p;
        }
        let g = self.game;
        let bel = &self.beliefs[b as usize];
        let u: Vec<f64> = (0..g.states * g.actions)
            .map(|sa| {
                if bel.mass > 0.0 {
                    bel.w
                        .iter()
                        .enumerate()
                        .map(|(k, wk)| wk * self.payoff[k][sa])
                        .sum::<f64>()
                        / bel.mass
                } else {
                    0.0
                }
            })
            .collect();
        let plan = self.plan_of(&u);
        self.plans.push(plan);
        let p = (self.plans.len() - 1) as u32;
        self.beliefs[b as usize].plan = Some(p);
        p
    }

    /// The node (t, s, belief b), built if new.
    fn node(&mut self, t: usize, s: usize, b: u32) -> u32 {
        let g = self.game;
        let key = t * g.states + s;
        let found = self.beliefs[b as usize].nodes[key];
        if found != UNBUILT {
            return found;
        }
        let na = g.actions;
        let bel = &self.beliefs[b as usize];
        for a in 0..na {
            let sa = s * na + a;
            let (mut act, mut ask, mut allow, mut good) = (0.0, 0.0, 0.0, 0.0);
            for (k, wk) in bel.w.iter().enumerate() {
                let (u, p) = (self.payoff[k][sa], self.pi[k][sa]);
                act += wk * u;
                ask += wk * p * u;
                allow += wk * p;
                if g.hypotheses[k][sa] >= 0.0 {
                    good += wk;
                }
            }
            ask -= g.ask_cost * bel.mass;
            self.sums.extend([act, ask, allow, good]);
        }
        self.slots
            .extend(std::iter::repeat_n((UNBUILT, 0), 3 * na + 1));
        let i = self.nodes.len() as u32;
        self.nodes.push(Node { t, s, belief: b });
        self.beliefs[b as usize].nodes[key] = i;
        if self.nodes.len() > self.max_nodes {
            self.too_big = true;
        }
        i
    }

    fn mass(&self, i: usize) -> f64 {
        self.beliefs[self.nodes[i].belief as usize].mass
    }

    /// Node `i`'s sum `which` for action `a`.
    fn sum(&self, i: usize, a: usize, which: Sum) -> f64 {
        self.sums[4 * (self.game.actions * i + a) + which as usize]
    }

    /// The successors of node `i` in move slot `slot` (acts 0..|A|, off |A|, allows |A|+1.., refusals
    /// 2|A|+1..), as a range of the edge arena.
    fn slot(&mut self, i: usize, slot: usize) -> std::ops::Range<usize> {
        let at = (3 * self.game.actions + 1) * i + slot;
        let (start, len) = self.slots[at];
        if start != UNBUILT {
            return start as usize..(start + len) as usize;
        }
        let g = self.game;
        let na = g.actions;
        let (t, s, b) = (self.nodes[i].t, self.nodes[i].s, self.nodes[i].belief);
        let first = self.edges.len();
        if t + 1 < g.horizon {
            let (moved, child, live) = if slot <= na {
                (slot, b, true)
            } else {
                let (a, refused) = if slot <= 2 * na {
                    (slot - na - 1, false)
                } else {
                    (slot - 2 * na - 1, true)
                };
                let id = ((s * na + a) as u32) * 2 + refused as u32;
                let (c, live) = self.after(b, id);
                (if refused { na } else { a }, c, live)
            };
            for k in 0..g.t[s][moved].len() {
                let (s2, p) = g.t[s][moved][k];
                let j = self.node(t + 1, s2, child);
                self.edges.push(Edge { node: j, p, live });
            }
        }
        let len = self.edges.len() - first;
        self.slots[at] = (first as u32, len as u32);
        first..first + len
    }

    /// The value of the successors in `slot` of node `i` for agent slot `ag` (live ones only).
    fn successors(&mut self, ag: usize, i: usize, slot: usize) -> f64 {
        let mut v = 0.0;
        for k in self.slot(i, slot) {
            let e = self.edges[k];
            let w = self.value(ag, e.node as usize);
            if e.live {
                v += e.p * w;
            }
        }
        v
    }

    /// The value of move `m` at node `i` for agent slot `ag` (its successors valued by that agent).
    fn move_value(&mut self, ag: usize, i: usize, m: Move) -> f64 {
        let na = self.game.actions;
        match m {
            Move::Act(a) => self.sum(i, a, Sum::Act) + self.successors(ag, i, a),
            Move::Off => self.successors(ag, i, na),
            Move::Ask(a) => {
                self.sum(i, a, Sum::Ask)
                    + self.successors(ag, i, na + 1 + a)
                    + self.successors(ag, i, 2 * na + 1 + a)
            }
        }
    }

    /// W of node `i` for agent slot `ag`, deciding (and recording) its moves.
    fn value(&mut self, ag: usize, i: usize) -> f64 {
        if let Some(Some((_, _, v))) = self.decisions[ag].get(i) {
            return *v;
        }
        if self.too_big {
            return 0.0; // abandoned: the caller retries with a shorter lookahead
        }
        let agent = self.agents[ag];
        let t = self.nodes[i].t;
        let q = self.game.presence;
        let na = self.game.actions;
        let tol = self.tol * self.mass(i).max(f64::MIN_POSITIVE);
        let bounded = agent == Agent::Bayes && t >= self.depth;
        let (present, absent, v) = if agent == Agent::Bayes && !bounded {
            let mut moves: Vec<(Move, f64)> = Vec::with_capacity(2 * na + 1);
            for a in 0..na {
                moves.push((Move::Act(a), self.move_value(ag, i, Move::Act(a))));
            }
            moves.push((Move::Off, self.move_value(ag, i, Move::Off)));
            let without = best(&moves, tol);
            if q > 0.0 {
                for a in 0..na {
                    moves.push((Move::Ask(a), self.move_value(ag, i, Move::Ask(a))));
                }
            }
            let with = best(&moves, tol);
            let of = |m: Move| moves.iter().find(|x| x.0 == m).map_or(0.0, |x| x.1);
            let mut v = 0.0;
            if q > 0.0 {
                v += q * of(with);
            }
            if q < 1.0 {
                v += (1.0 - q) * of(without);
            }
            (with, without, v)
        } else {
            let (present, absent) =
                self.rival(if bounded { Agent::ActOnPrior } else { agent }, i, tol);
            let mut v = 0.0;
            if q > 0.0 {
                v += q * self.move_value(ag, i, present);
            }
            if q < 1.0 {
                v += (1.0 - q) * self.move_value(ag, i, absent);
            }
            (present, absent, v)
        };
        if self.decisions[ag].len() <= i {
            self.decisions[ag].resize(self.nodes.len().max(i + 1), None);
        }
        self.decisions[ag][i] = Some((present, absent, v));
        v
    }

    /// A rival's moves (present, absent) at node `i`, from the posterior there.
    fn rival(&mut self, agent: Agent, i: usize, tol: f64) -> (Move, Move) {
        let b = self.nodes[i].belief;
        let p = self.plan(b) as usize;
        let n = self.nodes[i];
        let sum = |a: usize, w: Sum| self.sum(i, a, w);
        let g = self.game;
        let na = g.actions;
        let plan = &self.plans[p];
        let ce = plan.best[n.t][n.s];
        let mass = self.beliefs[b as usize].mass;
        let cont = |a: usize| -> f64 {
            g.t[n.s][a]
                .iter()
                .map(|&(s2, p)| p * plan.value[n.t + 1][s2])
                .sum()
        };
        let mean = |x: f64| if mass > 0.0 { x / mass } else { 0.0 };
        // The plan's best action (even where it would switch off): what the rivals ask about.
        let mut top = (0usize, f64::NEG_INFINITY);
        for a in 0..na {
            let v = mean(sum(a, Sum::Act)) + cont(a);
            if v > top.1 + self.tol {
                top = (a, v);
            }
        }
        let a = top.0;
        let p_good = mean(sum(a, Sum::Good));
        match agent {
            Agent::Bayes | Agent::ActOnPrior => (ce, ce),
            Agent::AlwaysAsk => (Move::Ask(a), ce),
            Agent::IrreversibilityGate => match ce {
                Move::Act(b) if g.irreversible[n.s * na + b] => (Move::Ask(b), ce),
                _ => (ce, ce),
            },
            Agent::Confidence(tau) => {
                let sure = if p_good >= 0.5 {
                    Move::Act(a)
                } else {
                    Move::Off
                };
                let present = if p_good.max(1.0 - p_good) < tau {
                    Move::Ask(a)
                } else {
                    sure
                };
                (present, sure)
            }
            Agent::Myopic => {
                // One step's moves, continued by the plan of the current belief (no information gained).
                let mut moves: Vec<(Move, f64)> = (0..na)
                    .map(|b| (Move::Act(b), sum(b, Sum::Act) + mass * cont(b)))
                    .collect();
                moves.push((Move::Off, mass * cont(na)));
                let without = best(&moves, tol);
                for b in 0..na {
                    let p = sum(b, Sum::Allow);
                    moves.push((
                        Move::Ask(b),
                        sum(b, Sum::Ask) + p * cont(b) + (mass - p) * cont(na),
                    ));
                }
                (best(&moves, tol), without)
            }
        }
    }

    /// The upper bound on W at node `i`: exact moves for the first `depth` steps, the clairvoyant's value after.
    fn upper(&mut self, i: usize, memo: &mut HashMap<usize, f64>) -> f64 {
        if let Some(v) = memo.get(&i) {
            return *v;
        }
        let (t, s) = (self.nodes[i].t, self.nodes[i].s);
        let v = if t >= self.depth {
            self.beliefs[self.nodes[i].belief as usize]
                .w
                .iter()
                .enumerate()
                .map(|(k, wk)| wk * self.clairvoyant[k][t][s])
                .sum()
        } else {
            let na = self.game.actions;
            let q = self.game.presence;
            let mut without = f64::NEG_INFINITY;
            for m in (0..na).map(Move::Act).chain([Move::Off]) {
                without = without.max(self.upper_move(i, m, memo));
            }
            let mut with = without;
            if q > 0.0 {
                for a in 0..na {
                    with = with.max(self.upper_move(i, Move::Ask(a), memo));
                }
            }
            let mut v = 0.0;
            if q > 0.0 {
                v += q * with;
            }
            if q < 1.0 {
                v += (1.0 - q) * without;
            }
            v
        };
        memo.insert(i, v);
        v
    }

    fn upper_move(&mut self, i: usize, m: Move, memo: &mut HashMap<usize, f64>) -> f64 {
        let na = self.game.actions;
        let (imm, slots) = match m {
            Move::Act(a) => (self.sum(i, a, Sum::Act), vec![a]),
            Move::Off => (0.0, vec![na]),
            Move::Ask(a) => (self.sum(i, a, Sum::Ask), vec![na + 1 + a, 2 * na + 1 + a]),
        };
        let mut v = imm;
        for slot in slots {
            for k in self.slot(i, slot) {
                let e = self.edges[k];
                if e.live {
                    v += e.p * self.upper(e.node as usize, memo);
                }
            }
        }
        v
    }

    /// The exact expected return of agent slot `ag`'s policy under the truth (utilities U*, answers by πH(U*)).
    fn truth_value(&mut self, ag: usize, truth: &Truth) -> f64 {
        let mut memo: HashMap<usize, f64> = HashMap::new();
        self.truth_at(ag, 0, truth, &mut memo)
    }

    fn truth_at(
        &mut self,
        ag: usize,
        i: usize,
        truth: &Truth,
        memo: &mut HashMap<usize, f64>,
    ) -> f64 {
        if let Some(v) = memo.get(&i) {
            return *v;
        }
        self.value(ag, i);
        let (present, absent, _) = self.decisions[ag][i].expect("just decided");
        let q = self.game.presence;
        let mut v = 0.0;
        if q > 0.0 {
            v += q * self.truth_move(ag, i, present, truth, memo);
        }
        if q < 1.0 {
            v += (1.0 - q) * self.truth_move(ag, i, absent, truth, memo);
        }
        memo.insert(i, v);
        v
    }

    fn truth_move(
        &mut self,
        ag: usize,
        i: usize,
        m: Move,
        truth: &Truth,
        memo: &mut HashMap<usize, f64>,
    ) -> f64 {
        let g = self.game;
        let na = g.actions;
        let s = self.nodes[i].s;
        let next = |this: &mut Self, slot: usize, memo: &mut HashMap<usize, f64>| -> f64 {
            let mut v = 0.0;
            for k in this.slot(i, slot) {
                let e = this.edges[k];
                v += e.p * this.truth_at(ag, e.node as usize, truth, memo);
            }
            v
        };
        match m {
            Move::Act(a) => g.payoff(s * na + a, truth.utility[s * na + a]) + next(self, a, memo),
            Move::Off => next(self, na, memo),
            Move::Ask(a) => {
                let sa = s * na + a;
                let p = g.human.p_allow(truth.utility[sa]);
                let u = g.payoff(sa, truth.utility[sa]);
                let allow = next(self, na + 1 + a, memo);
                let deny = next(self, 2 * na + 1 + a, memo);
                p * (u + allow) + (1.0 - p) * deny - g.ask_cost
            }
        }
    }

    /// The Bayes agent's incentive to defer at the root, with the human there, per unit of belief.
    fn incentive(&mut self, ag: usize) -> f64 {
        let na = self.game.actions;
        let mass = self.mass(0);
        let acts = (0..na)
            .map(Move::Act)
            .chain([Move::Off])
            .map(|m| self.move_value(ag, 0, m))
            .fold(f64::NEG_INFINITY, f64::max);
        let asks = (0..na)
            .map(|a| self.move_value(ag, 0, Move::Ask(a)))
            .fold(f64::NEG_INFINITY, f64::max);
        (asks - acts) / mass
    }

    /// Plays agent slot `ag`'s policy once against the truth with the uniforms `u` (three per step: presence,
    /// answer, transition); the realised return, asks, and bad irreversible actions done.
    fn rollout(&mut self, ag: usize, truth: &Truth, u: &[f64]) -> Rollout {
        let g = self.game;
        let na = g.actions;
        let mut out = Rollout::default();
        let mut i = 0;
        let mut s = g.start;
        for t in 0..g.horizon {
            self.value(ag, i);
            let (present, absent, _) = self.decisions[ag][i].expect("just decided");
            let here = u[3 * t] < g.presence;
            let m = if here { present } else { absent };
            let (moved, slot) = match m {
                Move::Act(a) => {
                    let sa = s * na + a;
                    out.ret += g.payoff(sa, truth.utility[sa]);
                    out.harms += (g.irreversible[sa] && truth.utility[sa] < 0.0) as u32;
                    (a, a)
                }
                Move::Off => (na, na),
                Move::Ask(a) => {
                    let sa = s * na + a;
                    out.asks += 1;
                    out.ret -= g.ask_cost;
                    if u[3 * t + 1] < g.human.p_allow(truth.utility[sa]) {
                        out.ret += g.payoff(sa, truth.utility[sa]);
                        out.harms += (g.irreversible[sa] && truth.utility[sa] < 0.0) as u32;
                        (a, na + 1 + a)
                    } else {
                        (na, 2 * na + 1 + a)
                    }
                }
            };
            // The successor state by inversion of the transition row.
            let row = &g.t[s][moved];
            let mut acc = 0.0;
            let mut next = row[row.len() - 1].0;
            for &(s2, p) in row {
                acc += p;
                if u[3 * t + 2] < acc {
                    next = s2;
                    break;
                }
            }
            if t + 1 < g.horizon {
                let range = self.slot(i, slot);
                i = range
                    .map(|k| self.edges[k].node as usize)
                    .find(|&j| self.nodes[j].s == next)
                    .expect("every successor state has a node");
            }
            s = next;
        }
        out
    }
}

/// What one rollout did.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Rollout {
    /// The realised return.
    pub ret: f64,
    /// Questions asked.
    pub asks: u32,
    /// Bad irreversible actions done.
    pub harms: u32,
}

/// The best of `moves` with the off-switch engine's tie rule: among values within `tol` of the best, asks first,
/// then off, then acts (the first of each).
fn best(moves: &[(Move, f64)], tol: f64) -> Move {
    let top = moves.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max);
    let near = |m: &&(Move, f64)| m.1 >= top - tol;
    moves
        .iter()
        .filter(near)
        .find(|m| matches!(m.0, Move::Ask(_)))
        .or_else(|| moves.iter().filter(near).find(|m| m.0 == Move::Off))
        .or_else(|| moves.iter().find(near))
        .map(|m| m.0)
        .expect("moves is not empty")
}

/// Solves `game` for `agents` (the Bayes agent first): every agent's exact value under the belief and under the
/// truth, its rollout with the uniforms `u` (three per step), the Bayes agent's incentive to defer and how it was
/// solved — exactly when the graph of histories stays within `max_nodes`, else by the deepest lookahead that does
/// (see the module docs).
pub fn solve(
    game: &Game,
    agents: &[Agent],
    truth: &Truth,
    u: &[f64],
    max_nodes: usize,
) -> (Scores, Vec<Rollout>) {
    let mut depth = game.horizon;
    loop {
        let mut s = Solver::new(game, agents, depth, max_nodes);
        let lower = s.value(0, 0);
        if s.too_big && depth > 1 {
            depth -= 1;
            continue;
        }
        // The rivals' graphs are no larger than the Bayes agent's; the budget was for it.
        s.too_big = false;
        s.max_nodes = usize::MAX;
        let upper = if depth >= game.horizon {
            lower
        } else {
            let mut memo = HashMap::new();
            s.upper(0, &mut memo).max(lower)
        };
        let incentive = s.incentive(0);
        let histories = s.nodes.len();
        let mut scores = Vec::with_capacity(agents.len());
        let mut rolls = Vec::with_capacity(agents.len());
        for ag in 0..agents.len() {
            let value = s.value(ag, 0);
            let t = if truth.hypothesis.is_some() {
                value
            } else {
                s.truth_value(ag, truth)
            };
            scores.push(Score { value, truth: t });
            rolls.push(s.rollout(ag, truth, u));
        }
        return (
            Scores {
                agents: scores,
                incentive,
                solution: Solution {
                    depth,
                    exact: depth >= game.horizon,
                    lower,
                    upper,
                    histories,
                },
            },
            rolls,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::human::Human;
    use crate::model::assist::{Family, Layout};
    use crate::model::dials::Dials;

    fn family(layout: Layout, steps: usize) -> Family {
        Family {
            layout,
            thetas: 4,
            steps,
            dials: Dials {
                mu: 0.2,
                sigma: 1.0,
                spread: 0.5,
                irreversible: 0.4,
                undo_cost: 0.5,
                ask_cost: 0.05,
                presence: 0.8,
                human: Human::Boltzmann { beta: 0.5 },
                shift: 0.0,
                scale: 1.0,
            },
        }
    }

    #[test]
    fn bayes_is_at_least_every_rival_and_the_bounds_bracket_it() {
        for layout in [
            Layout::Random {
                states: 3,
                actions: 2,
            },
            Layout::Grid {
                width: 3,
                height: 2,
                features: 3,
            },
        ] {
            for seed in 0..6 {
                let (g, truth) = family(layout, 3).realise(seed);
                let agents = Agent::all(0.8);
                let u = vec![0.5; 9];
                let (sc, _) = solve(&g, &agents, &truth, &u, 1_000_000);
                assert!(sc.solution.exact);
                let bayes = sc.agents[0].value;
                for (a, s) in agents.iter().zip(&sc.agents) {
                    assert!(s.value <= bayes + 1e-9, "{a:?}: {} > {bayes}", s.value);
                }
                // A lookahead of one step: its bounds bracket the exact value.
                let mut s = Solver::new(&g, &agents, 1, usize::MAX);
                let lower = s.value(0, 0);
                let upper = s.upper(0, &mut HashMap::new());
                assert!(
                    lower <= bayes + 1e-9 && bayes <= upper + 1e-9,
                    "{lower} {bayes} {upper}"
                );
            }
        }
    }

    #[test]
    fn the_mean_rollout_return_is_the_exact_value() {
        let f = family(
            Layout::Random {
                states: 3,
                actions: 2,
            },
            3,
        );
        let (g, _) = f.realise(11);
        let agents = Agent::all(0.8);
        let mut s = Solver::new(&g, &agents, g.horizon, usize::MAX);
        let exact: Vec<f64> = (0..agents.len()).map(|ag| s.value(ag, 0)).collect();
        // θ drawn from the robot's own prior: the mean return is the exact value under the belief.
        use rand::RngExt;
        let mut rng = crate::rng::job_rng(5, 0);
        let n = 200_000;
        let truths: Vec<Truth> = (0..g.thetas())
            .map(|k| Truth {
                utility: g.hypotheses[k].clone(),
                hypothesis: Some(k),
            })
            .collect();
        for (ag, a) in agents.iter().enumerate() {
            let (mut sum, mut sq) = (0.0, 0.0);
            for _ in 0..n {
                let k = rng.random_range(0..g.thetas());
                let u: Vec<f64> = (0..9).map(|_| rng.random()).collect();
                let r = s.rollout(ag, &truths[k], &u).ret;
                sum += r;
                sq += r * r;
            }
            let m = sum / n as f64;
            let se = ((sq / n as f64 - m * m) / n as f64).sqrt();
            assert!(
                (m - exact[ag]).abs() < 4.0 * se,
                "{a:?}: {m} ± {se} vs {}",
                exact[ag]
            );
        }
    }

    #[test]
    fn a_misspecified_truth_is_valued_exactly() {
        // Under a truth that is one of the hypotheses, the truth value is that hypothesis's share of the value.
        let f = family(
            Layout::Grid {
                width: 2,
                height: 2,
                features: 2,
            },
            3,
        );
        let (g, _) = f.realise(3);
        let agents = Agent::all(0.8);
        let u = vec![0.5; 9];
        let mut total = vec![0.0; agents.len()];
        for k in 0..g.thetas() {
            let truth = Truth {
                utility: g.hypotheses[k].clone(),
                hypothesis: None,
            };
            let (sc, _) = solve(&g, &agents, &truth, &u, 1_000_000);
            for (i, s) in sc.agents.iter().enumerate() {
                total[i] += g.prior[k] * s.truth;
            }
        }
        let (sc, _) = solve(
            &g,
            &agents,
            &Truth {
                utility: g.hypotheses[0].clone(),
                hypothesis: Some(0),
            },
            &u,
            1_000_000,
        );
        for (i, s) in sc.agents.iter().enumerate() {
            assert!(
                (total[i] - s.value).abs() < 1e-10,
                "{}: {} {}",
                i,
                total[i],
                s.value
            );
        }
    }
}
