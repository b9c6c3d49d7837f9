//! Solving partially observable off-switch games ([`crate::model::posg::Posg`]).
//!
//! - [`solve`]: **exact**. Deterministic policies suffice in a common-payoff game, so the solver enumerates
//!   every deterministic assistant policy — a message per assistant observation and a move (act / wait / off) per
//!   (observation, human message) — and for each computes the human's best response, which decomposes per human
//!   observation: choose the message, then ON or OFF per assistant message. It returns the value, a reported
//!   optimal pair (the most deferential one: the largest probability of waiting), the number of optimal policy
//!   pairs in the full deterministic policy space (ties matter: a decision point nobody reaches, or where ON and
//!   OFF pay the same, doubles the count), and the range of P(wait) over optimal pairs. The enumeration has
//!   |M_A|^|O^A|·3^(|O^A|·|M_H|) assistant policies — finding an optimal pair is NP-hard (the paper's MAX-CUT
//!   reduction) — so it refuses games beyond [`MAX_ASSISTANT_POLICIES`].
//! - [`local_search`]: a **heuristic** for larger games: iterated best responses from random assistant policies
//!   (seeded restarts). Each step is exact, so it ends at a person-by-person optimal pair, not necessarily a
//!   global optimum.
//! - The **A-unaware** human plays a fixed policy, so the assistant's best response is exact per observation.

#![allow(clippy::needless_range_loop)] // policies are tables indexed by observation and message

use rand::RngExt;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::posg::{HumanKind, Posg};
use crate::offswitch::Move;
use crate::rng::job_rng;

/// A deterministic assistant policy: message\[o_A\], action\[o_A\]\[m_H\].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssistantPolicy {
    /// The message sent per assistant observation.
    pub message: Vec<usize>,
    /// The move per (assistant observation, human message).
    pub action: Vec<Vec<Move>>,
}

/// The human's response at one decision point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Response {
    /// Leave the assistant on.
    On,
    /// Switch it off.
    Off,
    /// ON and OFF pay the same here (including: the assistant never waits here).
    Either,
}

/// A human policy: message\[o_H\], response\[o_H\]\[m_A\].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HumanPolicy {
    /// The message sent per human observation.
    pub message: Vec<usize>,
    /// The response per (human observation, assistant message).
    pub response: Vec<Vec<Response>>,
}

/// What the solvers return.
#[derive(Debug, Clone, Serialize)]
pub struct Solution {
    /// The common payoff of the reported pair.
    pub value: f64,
    /// The reported assistant policy (the most deferential optimal one).
    pub assistant: AssistantPolicy,
    /// The human's best response to it.
    pub human: HumanPolicy,
    /// Optimal (assistant, human) pairs in the full deterministic policy space (`None` for the heuristic).
    pub optimal_pairs: Option<f64>,
    /// Optimal assistant policies (`None` for the heuristic).
    pub optimal_assistant_policies: Option<u64>,
    /// P(the assistant waits) under the reported pair.
    pub p_wait: f64,
    /// Its least value over all optimal pairs (`None` for the heuristic).
    pub p_wait_min: Option<f64>,
    /// Its largest value over all optimal pairs (`None` for the heuristic).
    pub p_wait_max: Option<f64>,
    /// The best value when the assistant always waits (and chooses its messages).
    pub always_wait_value: Option<f64>,
    /// The full-information bound (the human knows the state).
    pub full_information_value: f64,
    /// Assistant policies evaluated.
    pub evaluated: u64,
    /// What ran (exact enumeration or the heuristic).
    pub method: &'static str,
    /// Tie tolerance on values.
    pub tie_tol: f64,
}

/// One assistant observation's rule in a [`Report`]: the move alone where nobody talks, else the message it
/// sends and its move for each human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AssistantRule {
    /// The move (no messages in the game).
    Move(Move),
    /// The message and the move per human message.
    Talk {
        /// The message the assistant sends.
        message: usize,
        /// Its move after each human message.
        action_by_human_message: Vec<Move>,
    },
}

/// One human observation's rule in a [`Report`]: the response alone where nobody talks, else the message it
/// sends and its response for each assistant message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum HumanRule {
    /// The response (no messages in the game).
    Response(Response),
    /// The message and the response per assistant message.
    Talk {
        /// The message the human sends.
        message: usize,
        /// Its response after each assistant message.
        response_by_assistant_message: Vec<Response>,
    },
}

/// What `cirl posg` reports: the solution with its policies keyed by observation label (`--json` is this,
/// serialized).
///
/// ```
/// use cirl::model::posg::Posg;
/// use cirl::solvers::posg::{self, Report};
///
/// let g = Posg::parse(include_str!("../../experiments/reproduce/garber2025/cheap-talk.toml"), "cheap-talk.toml").unwrap();
/// let r = Report::new(&g, &posg::solve(&g).unwrap(), 0.0);
/// assert_eq!(r.value, 2.3125);
/// assert_eq!(r.assistant.len(), 2);
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The game's name.
    pub game: String,
    /// The human's kind.
    pub human_kind: HumanKind,
    /// Human messages (1: no talk).
    pub messages_h: usize,
    /// Assistant messages (1: no talk).
    pub messages_a: usize,
    /// States, human observations and assistant observations.
    #[serde(skip)]
    pub sizes: (usize, usize, usize),
    /// The common payoff of the reported pair.
    pub value: f64,
    /// The reported assistant policy by observation label.
    pub assistant: std::collections::BTreeMap<String, AssistantRule>,
    /// The reported human policy by observation label.
    pub human: std::collections::BTreeMap<String, HumanRule>,
    /// See [`Solution::optimal_pairs`].
    pub optimal_pairs: Option<f64>,
    /// See [`Solution::optimal_assistant_policies`].
    pub optimal_assistant_policies: Option<u64>,
    /// P(the assistant waits) under the reported pair.
    pub p_wait: f64,
    /// Its least value over optimal pairs.
    pub p_wait_min: Option<f64>,
    /// Its largest value over optimal pairs.
    pub p_wait_max: Option<f64>,
    /// The best value when the assistant always waits.
    pub always_wait_value: Option<f64>,
    /// The full-information bound.
    pub full_information_value: f64,
    /// What ran.
    pub method: &'static str,
    /// Assistant policies evaluated.
    pub evaluated: u64,
    /// Tie tolerance on values.
    pub tie_tol: f64,
    /// Wall-clock seconds of the solve.
    pub seconds: f64,
}

impl Report {
    /// The report of a solved game (`seconds`: how long the solve took).
    pub fn new(g: &Posg, sol: &Solution, seconds: f64) -> Report {
        let talk = g.messages_h > 1 || g.messages_a > 1;
        let assistant = g
            .obs_a_labels
            .iter()
            .enumerate()
            .map(|(o, l)| {
                let rule = if talk {
                    AssistantRule::Talk {
                        message: sol.assistant.message[o],
                        action_by_human_message: sol.assistant.action[o].clone(),
                    }
                } else {
                    AssistantRule::Move(sol.assistant.action[o][0])
                };
                (l.clone(), rule)
            })
            .collect();
        let human = g
            .obs_h_labels
            .iter()
            .enumerate()
            .map(|(o, l)| {
                let rule = if talk {
                    HumanRule::Talk {
                        message: sol.human.message[o],
                        response_by_assistant_message: sol.human.response[o].clone(),
                    }
                } else {
                    HumanRule::Response(sol.human.response[o][0])
                };
                (l.clone(), rule)
            })
            .collect();
        Report {
            game: g.name.clone(),
            human_kind: g.human,
            messages_h: g.messages_h,
            messages_a: g.messages_a,
            sizes: (g.n_states(), g.n_obs_h(), g.n_obs_a()),
            value: sol.value,
            assistant,
            human,
            optimal_pairs: sol.optimal_pairs,
            optimal_assistant_policies: sol.optimal_assistant_policies,
            p_wait: sol.p_wait,
            p_wait_min: sol.p_wait_min,
            p_wait_max: sol.p_wait_max,
            always_wait_value: sol.always_wait_value,
            full_information_value: sol.full_information_value,
            method: sol.method,
            evaluated: sol.evaluated,
            tie_tol: sol.tie_tol,
            seconds,
        }
    }
}

/// Largest number of assistant policies the exact solver enumerates.
pub const MAX_ASSISTANT_POLICIES: f64 = 5e7;

/// Per-state data, prob-weighted.
struct Game<'a> {
    g: &'a Posg,
    pa: Vec<f64>,
    po: Vec<f64>,
    tol: f64,
    /// States by human observation.
    by_h: Vec<Vec<usize>>,
}

impl<'a> Game<'a> {
    fn new(g: &'a Posg) -> Self {
        let n = g.n_states();
        let mut by_h = vec![vec![]; g.n_obs_h()];
        for i in 0..n {
            by_h[g.obs_h[i]].push(i);
        }
        Game {
            g,
            pa: (0..n).map(|i| g.p[i] * g.u_act[i]).collect(),
            po: (0..n).map(|i| g.p[i] * g.u_off[i]).collect(),
            tol: 1e-10 * g.scale(),
            by_h,
        }
    }

    /// A human policy of the game's shape, to be filled by [`Self::best_response`].
    fn human_policy(&self) -> HumanPolicy {
        HumanPolicy {
            message: vec![0; self.g.n_obs_h()],
            response: vec![vec![Response::Either; self.g.messages_a]; self.g.n_obs_h()],
        }
    }

    /// The human's best response to `a`: value, number of best responses and P(wait) range over them, with one
    /// best response written into `hp` (ties reported as `Either`, the message the first optimal one; every entry
    /// overwritten, so that a search over many assistant policies allocates one human policy, not one per policy).
    fn best_response(&self, a: &AssistantPolicy, hp: &mut HumanPolicy) -> (f64, f64, f64, f64) {
        let (mh, ma) = (self.g.messages_h, self.g.messages_a);
        let mut total = 0.0;
        let mut count = 1.0;
        let (mut wmin, mut wmax) = (0.0, 0.0);
        let mut on = vec![0.0; ma];
        let mut off = vec![0.0; ma];
        // (m, value, ties, wait), reused across observations: a game with many human observations would
        // otherwise spend its time in the allocator.
        let mut cands: Vec<(usize, f64, f64, f64)> = Vec::with_capacity(mh);
        for (oh, states) in self.by_h.iter().enumerate() {
            let mut best = f64::NEG_INFINITY;
            cands.clear();
            for m in 0..mh {
                on.iter_mut().for_each(|x| *x = 0.0);
                off.iter_mut().for_each(|x| *x = 0.0);
                let (mut fixed, mut wait) = (0.0, 0.0);
                for &i in states {
                    let oa = self.g.obs_a[i];
                    match a.action[oa][m] {
                        Move::Act => fixed += self.pa[i],
                        Move::Off => fixed += self.po[i],
                        Move::Wait => {
                            on[a.message[oa]] += self.pa[i];
                            off[a.message[oa]] += self.po[i];
                            wait += self.g.p[i];
                        }
                    }
                }
                let mut v = fixed;
                let mut ties = 1.0;
                for k in 0..ma {
                    v += on[k].max(off[k]);
                    if (on[k] - off[k]).abs() <= self.tol {
                        ties *= 2.0;
                    }
                }
                best = best.max(v);
                cands.push((m, v, ties, wait));
            }
            let opt = || cands.iter().filter(|c| best - c.1 <= self.tol);
            total += best;
            count *= opt().map(|c| c.2).sum::<f64>();
            wmin += opt().map(|c| c.3).fold(f64::INFINITY, f64::min);
            wmax += opt().map(|c| c.3).fold(f64::NEG_INFINITY, f64::max);
            // One best response: the optimal message with the most waiting, its responses.
            let chosen = *opt()
                .max_by(|x, y| x.3.total_cmp(&y.3).then(y.0.cmp(&x.0)))
                .expect("a message");
            hp.message[oh] = chosen.0;
            on.iter_mut().for_each(|x| *x = 0.0);
            off.iter_mut().for_each(|x| *x = 0.0);
            for &i in states {
                let oa = self.g.obs_a[i];
                if a.action[oa][chosen.0] == Move::Wait {
                    on[a.message[oa]] += self.pa[i];
                    off[a.message[oa]] += self.po[i];
                }
            }
            for k in 0..ma {
                hp.response[oh][k] = if (on[k] - off[k]).abs() <= self.tol {
                    Response::Either
                } else if on[k] > off[k] {
                    Response::On
                } else {
                    Response::Off
                };
            }
        }
        (total, count, wmin, wmax)
    }

    /// Replaces each `Either` of `hp` by what the human would prefer if the assistant waited on every state of
    /// the observation that sends that message (or on every state of the observation, if none does): the
    /// response stays a best response to the assistant's policy (it was indifferent), but local search no longer
    /// stalls where acting and waiting tie only because the human's answer was never asked for.
    fn resolve_ties(&self, a: &AssistantPolicy, hp: &mut HumanPolicy) {
        for (oh, states) in self.by_h.iter().enumerate() {
            for k in 0..self.g.messages_a {
                if hp.response[oh][k] != Response::Either {
                    continue;
                }
                let (mut sent, mut any, mut all) = (0.0, false, 0.0);
                for &i in states {
                    let g = self.pa[i] - self.po[i];
                    all += g;
                    if a.message[self.g.obs_a[i]] == k {
                        sent += g;
                        any = true;
                    }
                }
                let gain = if any { sent } else { all };
                if gain > self.tol {
                    hp.response[oh][k] = Response::On;
                } else if gain < -self.tol {
                    hp.response[oh][k] = Response::Off;
                }
            }
        }
    }

    /// The value of a pair (responses `Either` count as ON).
    fn value(&self, a: &AssistantPolicy, h: &HumanPolicy) -> (f64, f64) {
        let (mut v, mut wait) = (0.0, 0.0);
        for i in 0..self.g.n_states() {
            let (oh, oa) = (self.g.obs_h[i], self.g.obs_a[i]);
            let mv = a.action[oa][h.message[oh]];
            v += match mv {
                Move::Act => self.pa[i],
                Move::Off => self.po[i],
                Move::Wait => {
                    wait += self.g.p[i];
                    match h.response[oh][a.message[oa]] {
                        Response::Off => self.po[i],
                        _ => self.pa[i],
                    }
                }
            };
        }
        (v, wait)
    }

    /// The assistant's best response to a human policy (ties: act before wait before off, lowest message).
    fn assistant_best_response(&self, h: &HumanPolicy) -> AssistantPolicy {
        let (mh, ma, na) = (self.g.messages_h, self.g.messages_a, self.g.n_obs_a());
        let mut out = AssistantPolicy {
            message: vec![0; na],
            action: vec![vec![Move::Act; mh]; na],
        };
        for oa in 0..na {
            let states: Vec<usize> = (0..self.g.n_states())
                .filter(|&i| self.g.obs_a[i] == oa)
                .collect();
            let mut best = (f64::NEG_INFINITY, 0, vec![Move::Act; mh]);
            for msg in 0..ma {
                let mut total = 0.0;
                let mut acts = Vec::with_capacity(mh);
                for m in 0..mh {
                    let payoff = |mv: Move| -> f64 {
                        states
                            .iter()
                            .filter(|&&i| h.message[self.g.obs_h[i]] == m)
                            .map(|&i| match mv {
                                Move::Act => self.pa[i],
                                Move::Off => self.po[i],
                                Move::Wait => match h.response[self.g.obs_h[i]][msg] {
                                    Response::Off => self.po[i],
                                    _ => self.pa[i],
                                },
                            })
                            .sum()
                    };
                    let (mv, v) = Move::ALL.iter().map(|&mv| (mv, payoff(mv))).fold(
                        (Move::Act, f64::NEG_INFINITY),
                        |b, x| {
                            if x.1 > b.1 + self.tol { x } else { b }
                        },
                    );
                    total += v;
                    acts.push(mv);
                }
                if total > best.0 + self.tol {
                    best = (total, msg, acts);
                }
            }
            out.message[oa] = best.1;
            out.action[oa] = best.2;
        }
        out
    }
}

/// Decodes assistant policy number `code` (messages first, then moves).
fn decode(code: u64, na: usize, mh: usize, ma: usize) -> AssistantPolicy {
    let mut c = code;
    let message = (0..na)
        .map(|_| {
            let m = (c % ma as u64) as usize;
            c /= ma as u64;
            m
        })
        .collect();
    let action = (0..na)
        .map(|_| {
            (0..mh)
                .map(|_| {
                    let k = (c % 3) as usize;
                    c /= 3;
                    Move::ALL[k]
                })
                .collect()
        })
        .collect();
    AssistantPolicy { message, action }
}

/// The number of deterministic assistant policies.
pub fn assistant_policies(g: &Posg) -> f64 {
    (g.messages_a as f64).powi(g.n_obs_a() as i32) * 3f64.powi((g.n_obs_a() * g.messages_h) as i32)
}

/// The best value when the assistant always waits (choosing its messages).
fn always_wait(game: &Game) -> Option<f64> {
    let g = game.g;
    let count = (g.messages_a as f64).powi(g.n_obs_a() as i32);
    if count > 1e6 {
        return None;
    }
    let mut best = f64::NEG_INFINITY;
    let mut hp = game.human_policy();
    for code in 0..count as u64 {
        let mut a = decode(code, g.n_obs_a(), g.messages_h, g.messages_a);
        a.action = vec![vec![Move::Wait; g.messages_h]; g.n_obs_a()];
        best = best.max(game.best_response(&a, &mut hp).0);
    }
    Some(best)
}

/// This module solves the classic moves (act, off, wait) with an optimal or A-unaware human; anything else would
/// be silently misread, so it is refused.
fn refuse_general(g: &Posg) -> Result<()> {
    if g.is_general() {
        return Err(Error::invalid(
            "assistant_moves",
            "this game has wait-hide or a Boltzmann human: solve it with solvers::interference::solve (cirl posg does)",
        ));
    }
    Ok(())
}

/// Solves a PO-OSG exactly (see the module docs).
pub fn solve(g: &Posg) -> Result<Solution> {
    refuse_general(g)?;
    let game = Game::new(g);
    if g.human == HumanKind::AUnaware {
        return Ok(solve_a_unaware(&game));
    }
    let total = assistant_policies(g);
    if total > MAX_ASSISTANT_POLICIES {
        return Err(Error::invalid(
            "state",
            format!(
                "{total:.3e} assistant policies ({} assistant observations, {} × {} messages) are too many to enumerate exactly (limit {MAX_ASSISTANT_POLICIES:.0e}); use --heuristic",
                g.n_obs_a(),
                g.messages_h,
                g.messages_a
            ),
        ));
    }
    let (na, mh, ma) = (g.n_obs_a(), g.messages_h, g.messages_a);
    let mut best = f64::NEG_INFINITY;
    let mut n_opt: u64 = 0;
    let mut pairs = 0.0;
    let (mut wmin, mut wmax) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut reported: Option<(AssistantPolicy, HumanPolicy, f64)> = None;
    let mut hp = game.human_policy();
    for code in 0..total as u64 {
        let a = decode(code, na, mh, ma);
        let (v, count, lo, hi) = game.best_response(&a, &mut hp);
        if v > best + game.tol {
            best = v;
            n_opt = 0;
            pairs = 0.0;
            wmin = f64::INFINITY;
            wmax = f64::NEG_INFINITY;
            reported = None;
        }
        if best - v <= game.tol {
            n_opt += 1;
            pairs += count;
            wmin = wmin.min(lo);
            wmax = wmax.max(hi);
            if reported.as_ref().is_none_or(|r| hi > r.2 + 1e-12) {
                reported = Some((a, hp.clone(), hi));
            }
        }
    }
    let (assistant, human, p_wait) = reported.expect("at least one policy");
    Ok(Solution {
        value: best,
        assistant,
        human,
        optimal_pairs: Some(pairs),
        optimal_assistant_policies: Some(n_opt),
        p_wait,
        p_wait_min: Some(wmin),
        p_wait_max: Some(wmax),
        always_wait_value: always_wait(&game),
        full_information_value: g.full_information_value(),
        evaluated: total as u64,
        method: "exact: every deterministic assistant policy against the human's best response",
        tie_tol: game.tol,
    })
}

fn solve_a_unaware(game: &Game) -> Solution {
    let g = game.g;
    // ON iff E[u_a − u_o | o_H] > 0 (beyond the tie tolerance).
    let response: Vec<Vec<Response>> = game
        .by_h
        .iter()
        .map(|states| {
            let d: f64 = states.iter().map(|&i| game.pa[i] - game.po[i]).sum();
            vec![if d > game.tol {
                Response::On
            } else {
                Response::Off
            }]
        })
        .collect();
    let human = HumanPolicy {
        message: vec![0; g.n_obs_h()],
        response,
    };
    let mut value = 0.0;
    let mut count: u64 = 1;
    let mut action = vec![vec![Move::Act]; g.n_obs_a()];
    let (mut wait, mut wmin, mut wmax) = (0.0, 0.0, 0.0);
    for oa in 0..g.n_obs_a() {
        let states: Vec<usize> = (0..g.n_states()).filter(|&i| g.obs_a[i] == oa).collect();
        let pay = |mv: Move| -> f64 {
            states
                .iter()
                .map(|&i| match mv {
                    Move::Act => game.pa[i],
                    Move::Off => game.po[i],
                    Move::Wait => match human.response[g.obs_h[i]][0] {
                        Response::On => game.pa[i],
                        _ => game.po[i],
                    },
                })
                .sum()
        };
        let vals: Vec<(Move, f64)> = Move::ALL.iter().map(|&m| (m, pay(m))).collect();
        let b = vals.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
        let tied: Vec<Move> = vals
            .iter()
            .filter(|x| b - x.1 <= game.tol)
            .map(|x| x.0)
            .collect();
        count *= tied.len() as u64;
        value += b;
        let mass: f64 = states.iter().map(|&i| g.p[i]).sum();
        // Report the most deferential optimal move.
        let mv = if tied.contains(&Move::Wait) {
            Move::Wait
        } else {
            tied[0]
        };
        action[oa] = vec![mv];
        if mv == Move::Wait {
            wait += mass;
            wmax += mass;
        }
        if tied == [Move::Wait] {
            wmin += mass;
        }
    }
    Solution {
        value,
        assistant: AssistantPolicy {
            message: vec![0; g.n_obs_a()],
            action,
        },
        human,
        optimal_pairs: Some(count as f64),
        optimal_assistant_policies: Some(count),
        p_wait: wait,
        p_wait_min: Some(wmin),
        p_wait_max: Some(wmax),
        always_wait_value: None,
        full_information_value: g.full_information_value(),
        evaluated: 3 * g.n_obs_a() as u64,
        method: "exact: the A-unaware human's fixed policy, the assistant's best response per observation",
        tie_tol: game.tol,
    }
}

/// What `cirl posg` answers for a game (its `--json`, and the Python package's `offswitch.posg`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Answer {
    /// The classic moves: [`solve`]'s or [`local_search`]'s report.
    Classic(Report),
    /// Wait-hide or a Boltzmann human: [`crate::solvers::interference::solve`]'s solution.
    Interference(crate::solvers::interference::Solution),
}

/// Solves a game as `cirl posg` does: with wait-hide or a Boltzmann human by the interference solver (exact;
/// a local search is refused), otherwise exactly or, with `heuristic = Some((restarts, seed))`, by
/// [`local_search`].
pub fn answer(g: &Posg, heuristic: Option<(usize, u64)>) -> Result<Answer> {
    if g.is_general() {
        if heuristic.is_some() {
            return Err(Error::invalid(
                "heuristic",
                "the local search (cirl posg --heuristic) is for the classic moves and humans; games with wait-hide or a Boltzmann human are solved exactly",
            ));
        }
        return crate::solvers::interference::solve(g).map(Answer::Interference);
    }
    let start = std::time::Instant::now();
    let sol = match heuristic {
        Some((restarts, seed)) => local_search(g, restarts, seed)?,
        None => solve(g)?,
    };
    Ok(Answer::Classic(Report::new(
        g,
        &sol,
        start.elapsed().as_secs_f64(),
    )))
}

/// Local search (heuristic): `restarts` random assistant policies (seeded by `seed`), each improved by
/// alternating exact best responses until neither side changes. Returns the best pair found.
pub fn local_search(g: &Posg, restarts: usize, seed: u64) -> Result<Solution> {
    refuse_general(g)?;
    if g.human == HumanKind::AUnaware {
        return solve(g);
    }
    if restarts == 0 {
        return Err(Error::invalid("--restarts", "must be at least 1"));
    }
    let game = Game::new(g);
    let (na, mh, ma) = (g.n_obs_a(), g.messages_h, g.messages_a);
    let mut best: Option<(f64, AssistantPolicy, HumanPolicy)> = None;
    let mut evaluated = 0u64;
    let (mut h, mut h2) = (game.human_policy(), game.human_policy());
    for r in 0..restarts {
        let mut rng = job_rng(seed, r as u64);
        let mut a = AssistantPolicy {
            message: (0..na).map(|_| rng.random_range(0..ma)).collect(),
            action: (0..na)
                .map(|_| {
                    (0..mh)
                        .map(|_| Move::ALL[rng.random_range(0..3usize)])
                        .collect()
                })
                .collect(),
        };
        let mut v_prev = f64::NEG_INFINITY;
        loop {
            game.best_response(&a, &mut h);
            game.resolve_ties(&a, &mut h);
            let a2 = game.assistant_best_response(&h);
            let (v, _) = game.value(&a2, &h);
            evaluated += 1;
            let (v2, ..) = game.best_response(&a2, &mut h2);
            let v = v.max(v2);
            if v <= v_prev + game.tol {
                if best.as_ref().is_none_or(|b| v > b.0 + game.tol) {
                    best = Some((v, a2, h2.clone()));
                }
                break;
            }
            v_prev = v;
            a = a2;
        }
    }
    let (value, assistant, human) = best.expect("one restart");
    let (_, p_wait) = game.value(&assistant, &human);
    Ok(Solution {
        value,
        assistant,
        human,
        optimal_pairs: None,
        optimal_assistant_policies: None,
        p_wait,
        p_wait_min: None,
        p_wait_max: None,
        always_wait_value: always_wait(&game),
        full_information_value: g.full_information_value(),
        evaluated,
        method: "heuristic: local search by iterated best responses from random restarts (no optimality guarantee)",
        tie_tol: game.tol,
    })
}

/// The value of a given pair (for tests and brute force).
pub fn pair_value(g: &Posg, a: &AssistantPolicy, h: &HumanPolicy) -> f64 {
    Game::new(g).value(a, h).0
}

/// Assistant policy number `code` (for brute force).
pub fn assistant_policy(g: &Posg, code: u64) -> AssistantPolicy {
    decode(code, g.n_obs_a(), g.messages_h, g.messages_a)
}
