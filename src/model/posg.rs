//! The partially observable off-switch game (PO-OSG; Garber, Subramani, Luu, Bedaywi, Russell & Emmons, AAAI
//! 2025).
//!
//! Nature draws a state S from a prior. The human H observes O^H(S), the assistant A observes O^A(S) (here a
//! deterministic label per state; a stochastic observation is written as several states). With cheap talk, H
//! first sends a message from a set of `messages_h` and A one from a set of `messages_a`, each a function of its
//! own observation. A then acts (`a`, payoff u_a(S)), switches off (`off`, payoff u_o(S)) or waits (`w(a)`); after
//! `w(a)` H presses ON (payoff u_a(S)) or OFF (payoff u_o(S)), knowing its observation and A's message. The payoff
//! is common. An **A-unaware** human (the paper's §6) ignores what A's waiting reveals: it plays ON iff
//! E[u_a − u_o | O^H] > 0 under the prior. A **Boltzmann** human (`human = "boltzmann:β"`) presses ON with
//! probability σ(β·E[u_a − u_o | what it knows]), the expectation taken under the assistant's policy.
//!
//! **Observation interference** (Emmons, Oesterheld, Conitzer & Russell, ICML 2025): `assistant_moves` lists the
//! assistant's moves, from `act`, `off`, `wait` and `wait-hide` — a wait that hides the human's observation (the
//! human then sees the label `hidden`, so it knows its view was blocked; otherwise the move is the same as `wait`).
//! Games with `wait-hide` or a Boltzmann human are solved by [`crate::solvers::interference`].
//!
//! The file format (TOML):
//! ```toml
//! kind = "po-osg"
//! human = "optimal"        # or "a-unaware"
//! messages_h = 1           # size of the human's message set (1 = no communication)
//! messages_a = 1
//! assistant_moves = ["act", "off", "wait"]   # the default; "wait-hide" adds observation interference
//! [[state]]
//! p = 0.25                 # prior probability (≥ 0, summing to 1)
//! u_act = 3.0              # payoff if the action goes through
//! u_off = 0.0              # payoff otherwise (default 0)
//! obs_h = "1.0"            # what the human observes in this state
//! obs_a = "L"              # what the assistant observes
//! ```

use serde::Deserialize;
use std::collections::HashMap;

use crate::error::{Error, Result};

/// Tolerance on the sum of the state probabilities.
pub const PROB_TOL: f64 = 1e-9;

/// Who the human is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HumanKind {
    /// Plays the best response to the assistant's policy (optimal policy pairs).
    Optimal,
    /// Plays ON iff E[u_a − u_o | its observation] > 0 under the prior.
    AUnaware,
    /// Plays ON with probability σ(β·E[u_a − u_o | its information]) (β in [`Posg::beta`]).
    Boltzmann,
}

/// What the assistant can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssistantMove {
    /// `a`: act.
    Act,
    /// `off`: switch itself off.
    Off,
    /// `w(a)`: wait for the human, who sees its observation.
    Wait,
    /// Wait while hiding the human's observation: the human sees [`HIDDEN`] instead.
    WaitHide,
}

impl AssistantMove {
    /// Every move, in the order a game lists them.
    pub const ALL: [AssistantMove; 4] = [
        AssistantMove::Act,
        AssistantMove::Off,
        AssistantMove::Wait,
        AssistantMove::WaitHide,
    ];

    /// The move's name in a config (`wait-hide`, …).
    pub fn name(self) -> &'static str {
        match self {
            AssistantMove::Act => "act",
            AssistantMove::Off => "off",
            AssistantMove::Wait => "wait",
            AssistantMove::WaitHide => "wait-hide",
        }
    }
}

/// The moves of the PO-OSG of Garber et al. (the default `assistant_moves`).
pub const CLASSIC_MOVES: [AssistantMove; 3] =
    [AssistantMove::Act, AssistantMove::Off, AssistantMove::Wait];

/// What the human observes when the assistant hides its observation.
pub const HIDDEN: &str = "hidden";

/// The largest β of a Boltzmann human.
pub const MAX_BETA: f64 = 1e6;

/// A PO-OSG with observation labels mapped to indices.
#[derive(Debug, Clone, PartialEq)]
pub struct Posg {
    /// The game's name.
    pub name: String,
    /// Who the human is.
    pub human: HumanKind,
    /// Size of the human's message set (1: no talk).
    pub messages_h: usize,
    /// Size of the assistant's message set (1: no talk).
    pub messages_a: usize,
    /// The prior over states.
    pub p: Vec<f64>,
    /// The common payoff if the action goes through, per state.
    pub u_act: Vec<f64>,
    /// The common payoff otherwise, per state.
    pub u_off: Vec<f64>,
    /// The human's observation (an index into `obs_h_labels`) in every state.
    pub obs_h: Vec<usize>,
    /// The assistant's observation (an index into `obs_a_labels`) in every state.
    pub obs_a: Vec<usize>,
    /// The human's observation labels.
    pub obs_h_labels: Vec<String>,
    /// The assistant's observation labels.
    pub obs_a_labels: Vec<String>,
    /// The assistant's moves (default [`CLASSIC_MOVES`]; with [`AssistantMove::WaitHide`] it can interfere).
    pub moves: Vec<AssistantMove>,
    /// β of a Boltzmann human (0 for the others).
    pub beta: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "optimal")]
    human: String,
    #[serde(default = "one")]
    messages_h: usize,
    #[serde(default = "one")]
    messages_a: usize,
    #[serde(default)]
    assistant_moves: Option<Vec<String>>,
    #[serde(rename = "state")]
    states: Vec<RawState>,
    /// Values the file's solution is checked against when it runs as an experiment (read there, by
    /// `crate::experiment::kinds::posg`, not here).
    #[serde(default)]
    expect: Option<toml::Value>,
}

fn optimal() -> String {
    "optimal".into()
}
fn one() -> usize {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawState {
    p: f64,
    u_act: f64,
    #[serde(default)]
    u_off: f64,
    obs_h: toml::Value,
    obs_a: toml::Value,
}

fn label(v: &toml::Value, field: &str) -> Result<String> {
    match v {
        toml::Value::String(s) => Ok(s.clone()),
        toml::Value::Integer(i) => Ok(i.to_string()),
        toml::Value::Float(f) => Ok(f.to_string()),
        toml::Value::Boolean(b) => Ok(b.to_string()),
        _ => Err(Error::invalid(
            field,
            "an observation is a label: a string or a number",
        )),
    }
}

/// Largest message set accepted (the policy spaces grow as |M|^|O|).
pub const MAX_MESSAGES: usize = 8;

impl Posg {
    /// Parses and validates a PO-OSG file; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Posg> {
        let raw: Raw =
            toml::from_str(text).map_err(|e| crate::error::toml_error(origin, text, &e))?;
        Self::from_raw(raw, origin)
    }

    /// Validates a PO-OSG given as a TOML table (the keys of a PO-OSG file); `origin` names it in errors.
    pub fn from_table(table: toml::Table, origin: &str) -> Result<Posg> {
        use serde::Deserialize as _;
        let raw = Raw::deserialize(toml::Value::Table(table)).map_err(|e| Error::Config {
            path: origin.to_string(),
            message: crate::error::one_line(e.message()),
        })?;
        Self::from_raw(raw, origin)
    }

    fn from_raw(raw: Raw, origin: &str) -> Result<Posg> {
        let _ = (raw.description, raw.expect);
        if raw.kind != "po-osg" {
            return Err(Error::invalid(
                "kind",
                format!("'{}': a PO-OSG file has kind = \"po-osg\"", raw.kind),
            ));
        }
        let (human, beta) = match raw.human.as_str() {
            "optimal" => (HumanKind::Optimal, 0.0),
            "a-unaware" => (HumanKind::AUnaware, 0.0),
            other => match other.strip_prefix("boltzmann:").map(str::parse::<f64>) {
                Some(Ok(b)) if b.is_finite() && b > 0.0 && b <= MAX_BETA => {
                    (HumanKind::Boltzmann, b)
                }
                Some(_) => {
                    return Err(Error::invalid(
                        "human",
                        format!(
                            "'{other}': β of boltzmann:β must be a number in (0, {MAX_BETA:e}]"
                        ),
                    ));
                }
                None => {
                    return Err(Error::invalid(
                        "human",
                        format!(
                            "'{other}': use \"optimal\", \"a-unaware\" or \"boltzmann:β\" (e.g. boltzmann:2)"
                        ),
                    ));
                }
            },
        };
        let moves = match &raw.assistant_moves {
            None => CLASSIC_MOVES.to_vec(),
            Some(names) => {
                let mut moves = Vec::new();
                for n in names {
                    let m = AssistantMove::ALL
                        .into_iter()
                        .find(|m| m.name() == n)
                        .ok_or_else(|| {
                            Error::invalid(
                                "assistant_moves",
                                format!("'{n}': the moves are act, off, wait and wait-hide"),
                            )
                        })?;
                    if moves.contains(&m) {
                        return Err(Error::invalid(
                            "assistant_moves",
                            format!("'{n}' is listed twice"),
                        ));
                    }
                    moves.push(m);
                }
                if moves.is_empty() {
                    return Err(Error::invalid(
                        "assistant_moves",
                        "give at least one of act, off, wait, wait-hide",
                    ));
                }
                moves.sort();
                moves
            }
        };
        for (f, m) in [
            ("messages_h", raw.messages_h),
            ("messages_a", raw.messages_a),
        ] {
            if m == 0 || m > MAX_MESSAGES {
                return Err(Error::invalid(
                    f,
                    format!("must be between 1 (no communication) and {MAX_MESSAGES}, got {m}"),
                ));
            }
        }
        if human == HumanKind::AUnaware && (raw.messages_h > 1 || raw.messages_a > 1) {
            return Err(Error::invalid(
                "human",
                "the A-unaware human is defined without cheap talk: set messages_h = messages_a = 1",
            ));
        }
        if raw.states.is_empty() {
            return Err(Error::invalid(
                "state",
                "add at least one [[state]] with p, u_act, obs_h and obs_a",
            ));
        }
        let mut g = Posg {
            name: raw.name.unwrap_or_else(|| origin.to_string()),
            human,
            messages_h: raw.messages_h,
            messages_a: raw.messages_a,
            p: vec![],
            u_act: vec![],
            u_off: vec![],
            obs_h: vec![],
            obs_a: vec![],
            obs_h_labels: vec![],
            obs_a_labels: vec![],
            moves,
            beta,
        };
        if g.is_general() && g.human == HumanKind::AUnaware {
            return Err(Error::invalid(
                "human",
                "the A-unaware human is defined for the classic moves: drop assistant_moves or use optimal / boltzmann:β",
            ));
        }
        if g.is_general() && g.messages_h > 1 {
            return Err(Error::invalid(
                "messages_h",
                "human cheap talk is not modelled with assistant_moves or a Boltzmann human: set messages_h = 1",
            ));
        }
        // Label → index maps, so that reading n states is O(n) and not a linear search per state.
        let (mut seen_h, mut seen_a) = (HashMap::new(), HashMap::new());
        for (i, s) in raw.states.iter().enumerate() {
            let f = |k: &str| format!("state[{i}].{k}");
            if !(s.p.is_finite() && s.p >= 0.0) {
                return Err(Error::invalid(f("p"), format!("must be ≥ 0, got {}", s.p)));
            }
            for (k, x) in [("u_act", s.u_act), ("u_off", s.u_off)] {
                if !x.is_finite() {
                    return Err(Error::invalid(f(k), format!("must be finite, got {x}")));
                }
            }
            let oh = label(&s.obs_h, &f("obs_h"))?;
            let oa = label(&s.obs_a, &f("obs_a"))?;
            g.p.push(s.p);
            g.u_act.push(s.u_act);
            g.u_off.push(s.u_off);
            g.obs_h.push(index_of(&mut seen_h, &mut g.obs_h_labels, oh));
            g.obs_a.push(index_of(&mut seen_a, &mut g.obs_a_labels, oa));
        }
        if g.obs_h_labels.iter().any(|l| l == HIDDEN) && g.moves.contains(&AssistantMove::WaitHide)
        {
            return Err(Error::invalid(
                "state.obs_h",
                format!(
                    "'{HIDDEN}' is what the human sees when its observation is hidden: rename that label"
                ),
            ));
        }
        let total: f64 = g.p.iter().sum();
        if (total - 1.0).abs() > PROB_TOL {
            return Err(Error::invalid(
                "state.p",
                format!("the state probabilities must sum to 1, they sum to {total}"),
            ));
        }
        Ok(g)
    }

    /// Reads a PO-OSG file.
    pub fn load(path: &std::path::Path) -> Result<Posg> {
        let text = crate::input::read_text(path, crate::input::MAX_TOML_BYTES, "game")?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Whether the game needs [`crate::solvers::interference`] (moves other than act / off / wait, or a
    /// Boltzmann human) rather than [`crate::solvers::posg`].
    pub fn is_general(&self) -> bool {
        self.moves != CLASSIC_MOVES || self.human == HumanKind::Boltzmann
    }

    /// The human's model as the results name it.
    pub fn human_name(&self) -> String {
        match self.human {
            HumanKind::Boltzmann => format!("Boltzmann({})", self.beta),
            h => format!("{h:?}"),
        }
    }

    /// The number of states.
    pub fn n_states(&self) -> usize {
        self.p.len()
    }
    /// The number of human observations.
    pub fn n_obs_h(&self) -> usize {
        self.obs_h_labels.len()
    }
    /// The number of assistant observations.
    pub fn n_obs_a(&self) -> usize {
        self.obs_a_labels.len()
    }

    /// The payoff scale Σ p·max(|u_a|, |u_o|) against which ties are judged.
    pub fn scale(&self) -> f64 {
        (0..self.n_states())
            .map(|i| self.p[i] * self.u_act[i].abs().max(self.u_off[i].abs()))
            .sum::<f64>()
            .max(1e-300)
    }

    /// The value if the human knew the state: E[max(u_a, u_o)] (an upper bound on every pair's value).
    pub fn full_information_value(&self) -> f64 {
        (0..self.n_states())
            .map(|i| self.p[i] * self.u_act[i].max(self.u_off[i]))
            .sum()
    }

    /// The game with observations relabelled by `fh` (human) and `fa` (assistant): a deterministic
    /// (coordinated) garbling when the maps merge labels.
    pub fn garbled(&self, fh: &[usize], fa: &[usize]) -> Posg {
        let mut g = self.clone();
        g.obs_h = self.obs_h.iter().map(|&o| fh[o]).collect();
        g.obs_a = self.obs_a.iter().map(|&o| fa[o]).collect();
        let relabel = |obs: &mut Vec<usize>, labels: &mut Vec<String>| {
            let mut seen: Vec<usize> = Vec::new();
            for o in obs.iter_mut() {
                let k = match seen.iter().position(|x| x == o) {
                    Some(k) => k,
                    None => {
                        seen.push(*o);
                        seen.len() - 1
                    }
                };
                *o = k;
            }
            *labels = seen.iter().map(|k| format!("g{k}")).collect();
        };
        relabel(&mut g.obs_h, &mut g.obs_h_labels);
        relabel(&mut g.obs_a, &mut g.obs_a_labels);
        g
    }
}

fn index_of(seen: &mut HashMap<String, usize>, labels: &mut Vec<String>, l: String) -> usize {
    *seen.entry(l).or_insert_with_key(|l| {
        labels.push(l.clone());
        labels.len() - 1
    })
}
