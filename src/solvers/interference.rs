//! Partially observable off-switch games with **observation interference** and **Boltzmann humans** (Emmons,
//! Oesterheld, Conitzer & Russell, "Observation Interference in Partially Observable Assistance Games", ICML
//! 2025), solved exactly.
//!
//! The assistant's moves are a subset of act, off, wait and wait-hide ([`crate::model::posg::AssistantMove`]):
//! wait-hide defers to the human like wait, but the human sees [`HIDDEN`] instead of its observation. The human
//! decides at an information set (what it sees, the assistant's message) knowing the assistant's policy:
//! - the **optimal** human presses ON iff E[u_a − u_o | information set] > 0 — its best response, so an optimal
//!   assistant policy with it is an optimal policy pair of the common-payoff game;
//! - the **Boltzmann** human presses ON with probability σ(β·E[u_a − u_o | information set]).
//!
//! The solver enumerates every deterministic assistant policy — a message and a move per assistant observation —
//! and evaluates it against the human's response (in a common-payoff game deterministic policies suffice for the
//! optimal human; against the Boltzmann human the assistant's best deterministic policy is reported). It reports
//! the value, the best value without wait-hide, and, over every optimal assistant policy, the range of
//! P(the assistant interferes) and of P(it waits, hiding or not): "an optimal assistant must interfere" is
//! `p_interfere_min > 0`.
//!
//! ```
//! use cirl::model::posg::Posg;
//! use cirl::solvers::interference;
//! // The assistant sees x, the human sees y; acting is right iff x = y. Hiding is the only way to tell the
//! // human x, so every optimal assistant hides for one value of x.
//! let g = Posg::parse(include_str!("../../experiments/reproduce/emmons2025/must-interfere.toml"), "must-interfere")?;
//! let s = interference::solve(&g)?;
//! assert!((s.value - 0.25).abs() < 1e-12 && s.no_interference_value.abs() < 1e-12);
//! assert!(s.p_interfere_min > 0.0);
//! # Ok::<(), cirl::Error>(())
//! ```

use serde::Serialize;

use crate::error::{Error, Result};
use crate::model::posg::{AssistantMove, HIDDEN, HumanKind, Posg};
use crate::numerics::logistic;

/// The most assistant policies enumerated.
pub const MAX_POLICIES: f64 = 2e7;

/// The assistant's rule for one of its observations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssistantRule {
    /// The assistant's observation.
    pub observation: String,
    /// The message it sends (0 without talk).
    pub message: usize,
    /// Its move.
    #[serde(rename = "move")]
    pub mv: AssistantMove,
}

/// The human's response at one information set the reported policy reaches.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HumanRule {
    /// What the human sees (its observation, or `hidden`).
    pub observation: String,
    /// The assistant's message.
    pub message: usize,
    /// P(the human presses ON).
    pub p_on: f64,
    /// E[u_a − u_o | the information set].
    pub gain: f64,
}

/// The solution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Solution {
    /// The value of an optimal assistant policy (with the human's response).
    pub value: f64,
    /// The best value of a policy that never hides (equal to `value` when wait-hide is not a move).
    pub no_interference_value: f64,
    /// The value if the human knew the state and chose rightly: E[max(u_a, u_o)].
    pub full_information_value: f64,
    /// Optimal assistant policies (within the tie tolerance).
    pub optimal_assistant_policies: u64,
    /// The least P(the assistant hides) over the optimal assistant policies.
    pub p_interfere_min: f64,
    /// The largest.
    pub p_interfere_max: f64,
    /// The least P(the assistant waits, hiding or not) over the optimal assistant policies.
    pub p_wait_min: f64,
    /// The largest.
    pub p_wait_max: f64,
    /// The reported optimal policy: the one that interferes least (then waits most, then the first).
    pub assistant: Vec<AssistantRule>,
    /// The human's responses to it.
    pub human: Vec<HumanRule>,
    /// Assistant policies evaluated.
    pub evaluated: u64,
    /// Tie tolerance on values (relative to the game's payoff scale).
    pub tie_tol: f64,
}

/// One evaluated policy: value, P(hide), P(wait, hiding or not).
struct Eval {
    value: f64,
    hide: f64,
    wait: f64,
}

struct Game<'a> {
    g: &'a Posg,
    /// Information sets: (what the human sees — an observation index, or n_obs_h for hidden) × message.
    n_info: usize,
    tol: f64,
}

impl Game<'_> {
    fn info(&self, seen: usize, message: usize) -> usize {
        seen * self.g.messages_a + message
    }

    /// P(ON) at an information set with (Σ p·u_a, Σ p·u_o, Σ p).
    fn p_on(&self, on: f64, off: f64, mass: f64) -> f64 {
        match self.g.human {
            HumanKind::Boltzmann => logistic(self.g.beta * (on - off) / mass),
            // ON unless OFF pays more (where they pay the same, the human is indifferent: ON).
            _ => {
                if off - on > self.tol {
                    0.0
                } else {
                    1.0
                }
            }
        }
    }

    fn evaluate(&self, moves: &[AssistantMove], messages: &[usize], acc: &mut [[f64; 3]]) -> Eval {
        let g = self.g;
        acc.iter_mut().for_each(|a| *a = [0.0; 3]);
        let (mut value, mut hide, mut wait) = (0.0, 0.0, 0.0);
        for i in 0..g.n_states() {
            let oa = g.obs_a[i];
            match moves[oa] {
                AssistantMove::Act => value += g.p[i] * g.u_act[i],
                AssistantMove::Off => value += g.p[i] * g.u_off[i],
                mv => {
                    wait += g.p[i];
                    // What the human sees: its observation, or `hidden` (index n_obs_h) when the wait hides it.
                    let seen = if mv == AssistantMove::WaitHide {
                        hide += g.p[i];
                        g.n_obs_h()
                    } else {
                        g.obs_h[i]
                    };
                    let k = self.info(seen, messages[oa]);
                    acc[k][0] += g.p[i] * g.u_act[i];
                    acc[k][1] += g.p[i] * g.u_off[i];
                    acc[k][2] += g.p[i];
                }
            }
        }
        for a in acc.iter() {
            if a[2] > 0.0 {
                let p = self.p_on(a[0], a[1], a[2]);
                value += p * a[0] + (1.0 - p) * a[1];
            }
        }
        Eval { value, hide, wait }
    }
}

/// The number of deterministic assistant policies of `g`.
pub fn assistant_policies(g: &Posg) -> f64 {
    ((g.moves.len() * g.messages_a) as f64).powi(g.n_obs_a() as i32)
}

/// Solves the game exactly (see the module docs).
pub fn solve(g: &Posg) -> Result<Solution> {
    if g.human == HumanKind::AUnaware || g.messages_h > 1 {
        return Err(Error::invalid(
            "human",
            "the interference solver takes an optimal or Boltzmann human without human talk (messages_h = 1)",
        ));
    }
    let total = assistant_policies(g);
    if total > MAX_POLICIES {
        return Err(Error::invalid(
            "state",
            format!(
                "{total:.3e} assistant policies ({} observations, {} moves, {} messages) are too many to enumerate (limit {MAX_POLICIES:.0e})",
                g.n_obs_a(),
                g.moves.len(),
                g.messages_a
            ),
        ));
    }
    let game = Game {
        g,
        n_info: (g.n_obs_h() + 1) * g.messages_a,
        tol: 1e-10 * g.scale(),
    };
    let (na, nm, ma) = (g.n_obs_a(), g.moves.len(), g.messages_a);
    let mut acc = vec![[0.0; 3]; game.n_info];
    let mut moves = vec![g.moves[0]; na];
    let mut messages = vec![0usize; na];
    let mut best = f64::NEG_INFINITY;
    let mut best_clean = f64::NEG_INFINITY;
    // Over the optimal policies so far: how many, the ranges of P(hide) and P(wait), and the one reported (the
    // least interfering, then the most waiting, then the first).
    let mut count = 0u64;
    let (mut hide_lo, mut hide_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let (mut wait_lo, mut wait_hi) = (f64::INFINITY, f64::NEG_INFINITY);
    let mut reported = (0u64, f64::INFINITY, f64::NEG_INFINITY);
    let decode = |code: u64, moves: &mut [AssistantMove], messages: &mut [usize]| {
        let mut c = code;
        for o in 0..na {
            messages[o] = (c % ma as u64) as usize;
            c /= ma as u64;
            moves[o] = g.moves[(c % nm as u64) as usize];
            c /= nm as u64;
        }
    };
    for code in 0..total as u64 {
        decode(code, &mut moves, &mut messages);
        let e = game.evaluate(&moves, &messages, &mut acc);
        if !moves.contains(&AssistantMove::WaitHide) {
            best_clean = best_clean.max(e.value);
        }
        if e.value > best + game.tol {
            best = e.value;
            count = 0;
            (hide_lo, hide_hi) = (f64::INFINITY, f64::NEG_INFINITY);
            (wait_lo, wait_hi) = (f64::INFINITY, f64::NEG_INFINITY);
            reported = (code, f64::INFINITY, f64::NEG_INFINITY);
        }
        if best - e.value <= game.tol {
            count += 1;
            (hide_lo, hide_hi) = (hide_lo.min(e.hide), hide_hi.max(e.hide));
            (wait_lo, wait_hi) = (wait_lo.min(e.wait), wait_hi.max(e.wait));
            if e.hide < reported.1 || (e.hide == reported.1 && e.wait > reported.2) {
                reported = (code, e.hide, e.wait);
            }
        }
    }
    decode(reported.0, &mut moves, &mut messages);
    game.evaluate(&moves, &messages, &mut acc);
    let assistant = (0..na)
        .map(|o| AssistantRule {
            observation: g.obs_a_labels[o].clone(),
            message: messages[o],
            mv: moves[o],
        })
        .collect();
    let human = (0..game.n_info)
        .filter(|&k| acc[k][2] > 0.0)
        .map(|k| {
            let (seen, message) = (k / ma, k % ma);
            HumanRule {
                observation: g
                    .obs_h_labels
                    .get(seen)
                    .cloned()
                    .unwrap_or_else(|| HIDDEN.to_string()),
                message,
                p_on: game.p_on(acc[k][0], acc[k][1], acc[k][2]),
                gain: (acc[k][0] - acc[k][1]) / acc[k][2],
            }
        })
        .collect();
    Ok(Solution {
        value: best,
        no_interference_value: best_clean,
        full_information_value: g.full_information_value(),
        optimal_assistant_policies: count,
        p_interfere_min: hide_lo,
        p_interfere_max: hide_hi,
        p_wait_min: wait_lo,
        p_wait_max: wait_hi,
        assistant,
        human,
        evaluated: total as u64,
        tie_tol: game.tol,
    })
}
