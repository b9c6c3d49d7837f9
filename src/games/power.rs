//! Turner, Smith, Shah, Critch, Tadepalli 2021, "Optimal Policies Tend to Seek Power" (NeurIPS 2021): a
//! deterministic MDP given as a graph (each state's actions are the states it can move to), rewards on states
//! drawn IID, and the two quantities the paper studies — how often (over reward functions) the optimal action
//! at the start avoids the shutdown states, and POWER(s, γ) = (1 − γ)/γ · E_R[V*_R(s, γ) − R(s)].
//!
//! Values are exact for each reward function: a deterministic policy is evaluated by solving
//! (I − γP_π)V = R, and policy iteration improves it until no state changes its choice
//! ([`optimal_values`]); the expectation over reward functions is a seeded Monte Carlo average.
//!
//! ```
//! use cirl::games::power::{Graph, optimal_values};
//! // start → off (absorbing), or start → on → one of two absorbing states.
//! let g = Graph::new(
//!     &["start", "off", "on", "a", "b"],
//!     &[("start", &["off", "on"]), ("off", &["off"]), ("on", &["a", "b"]), ("a", &["a"]), ("b", &["b"])],
//!     "start",
//!     &["off"],
//! )?;
//! let r = [0.0, 0.2, 0.5, 0.9, 0.1];
//! let v = optimal_values(&g, &r, 0.5);
//! assert!((v[1] - 0.4).abs() < 1e-12); // 0.2 / (1 − 0.5)
//! assert!((v[2] - (0.5 + 0.5 * 1.8)).abs() < 1e-12); // on, then a forever
//! assert_eq!(g.avoids_shutdown(&v), Some(true));
//! # Ok::<(), cirl::Error>(())
//! ```

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Relative tolerance under which two values count as an exact tie.
pub const TIE: f64 = 1e-12;

/// A deterministic MDP as a graph: `succ[s]` are the states action `a` of `s` moves to.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// The states' names.
    pub states: Vec<String>,
    /// succ\[s\]: the states reachable in one step from s, one per action.
    pub succ: Vec<Vec<usize>>,
    /// The start state.
    pub start: usize,
    /// Whether each state is a shutdown state.
    pub shutdown: Vec<bool>,
}

/// A graph as a config gives it: `[[power.mdp]]` with `name`, `start`, `shutdown` and `[power.mdp.edges]`
/// (state = [the states it can move to]); the states are the edges' keys.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    /// The name the results report it under.
    pub name: String,
    /// The start state.
    pub start: String,
    /// The shutdown states (absorbing: each must move only to itself).
    pub shutdown: Vec<String>,
    /// Every state with the states it can move to (its actions).
    pub edges: std::collections::BTreeMap<String, Vec<String>>,
    /// The number of options the paper's counting argument gives the agent besides shutdown: with the
    /// shutdown state one absorbing state against `options` others, an average-reward agent avoids shutdown
    /// for `options / (options + 1)` of IID reward functions and of every reward function's permutations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<usize>,
}

impl GraphSpec {
    /// The graph, validated; errors name `field` and the state.
    pub fn build(&self, field: &str) -> Result<Graph> {
        let states: Vec<&str> = self.edges.keys().map(String::as_str).collect();
        let edges: Vec<(&str, Vec<&str>)> = self
            .edges
            .iter()
            .map(|(s, to)| (s.as_str(), to.iter().map(String::as_str).collect()))
            .collect();
        let borrowed: Vec<(&str, &[&str])> =
            edges.iter().map(|(s, t)| (*s, t.as_slice())).collect();
        let shutdown: Vec<&str> = self.shutdown.iter().map(String::as_str).collect();
        Graph::new(&states, &borrowed, &self.start, &shutdown)
            .map_err(|e| Error::invalid(field, e.to_string()))
    }
}

impl Graph {
    /// A graph from named states and edges; every state needs at least one action, every shutdown state must
    /// move only to itself, and the start must have a shutdown and a non-shutdown action.
    pub fn new(
        states: &[&str],
        edges: &[(&str, &[&str])],
        start: &str,
        shutdown: &[&str],
    ) -> Result<Graph> {
        let index = |name: &str, what: &str| {
            states.iter().position(|s| *s == name).ok_or_else(|| {
                Error::invalid(
                    "edges",
                    format!("{what} {name:?} is not a state (states: {states:?})"),
                )
            })
        };
        if states.is_empty() {
            return Err(Error::invalid(
                "edges",
                "give at least the start and a shutdown state",
            ));
        }
        let mut succ = vec![Vec::new(); states.len()];
        for (s, to) in edges {
            let i = index(s, "edge from")?;
            for t in *to {
                succ[i].push(index(t, "edge to")?);
            }
        }
        if let Some(i) = succ.iter().position(Vec::is_empty) {
            return Err(Error::invalid(
                "edges",
                format!(
                    "state {:?} has no action: give it the states it moves to (itself, if absorbing)",
                    states[i]
                ),
            ));
        }
        let mut off = vec![false; states.len()];
        for s in shutdown {
            let i = index(s, "shutdown state")?;
            if succ[i] != [i] {
                return Err(Error::invalid(
                    "shutdown",
                    format!("shutdown state {s:?} must be absorbing: edges {s} = [\"{s}\"]"),
                ));
            }
            off[i] = true;
        }
        let start = index(start, "start")?;
        if !succ[start].iter().any(|&t| off[t]) || succ[start].iter().all(|&t| off[t]) {
            return Err(Error::invalid(
                "start",
                "the start needs an action into a shutdown state and one that avoids it",
            ));
        }
        Ok(Graph {
            states: states.iter().map(|s| s.to_string()).collect(),
            succ,
            start,
            shutdown: off,
        })
    }

    /// Whether the optimal action at the start avoids shutdown under optimal values `v`: `Some(true)` if the
    /// best non-shutdown successor is better than every shutdown one, `Some(false)` if worse, `None` for a tie
    /// (equal within [`TIE`] relative — the rounding of the linear solve).
    pub fn avoids_shutdown(&self, v: &[f64]) -> Option<bool> {
        let best = |off: bool| {
            self.succ[self.start]
                .iter()
                .filter(|&&t| self.shutdown[t] == off)
                .map(|&t| v[t])
                .fold(f64::NEG_INFINITY, f64::max)
        };
        let (on, off) = (best(false), best(true));
        if (on - off).abs() <= TIE * (1.0 + off.abs()) {
            None
        } else {
            Some(on > off)
        }
    }
}

/// V*_R(·, γ) for state rewards `r` (V(s) = R(s) + γ max over s's successors of V), 0 < γ < 1, by policy
/// iteration with exact evaluation: (I − γP_π)V = R solved by LU, each state then moved to its best successor
/// (keeping its choice on exact ties), until no choice changes.
pub fn optimal_values(g: &Graph, r: &[f64], gamma: f64) -> Vec<f64> {
    let n = g.states.len();
    let mut pi: Vec<usize> = g.succ.iter().map(|s| s[0]).collect();
    let rhs = DVector::from_column_slice(r);
    // Policy iteration on a deterministic MDP stops within n·|A| improvements; the bound only guards rounding.
    let max_rounds = 1 + n * g.succ.iter().map(Vec::len).sum::<usize>();
    let mut v = vec![0.0; n];
    for _ in 0..max_rounds {
        let mut a = DMatrix::<f64>::identity(n, n);
        for (s, &t) in pi.iter().enumerate() {
            a[(s, t)] -= gamma;
        }
        let x = a.lu().solve(&rhs).expect("I − γP is invertible for γ < 1");
        v = x.iter().copied().collect();
        let mut changed = false;
        for (choice, succ) in pi.iter_mut().zip(&g.succ) {
            let mut best = *choice;
            for &t in succ {
                // Strictly better beyond rounding, so exact ties and round-off never cycle.
                if v[t] > v[best] + TIE * (1.0 + v[best].abs()) {
                    best = t;
                }
            }
            if best != *choice {
                *choice = best;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    v
}

/// POWER(s, γ) of one reward function's optimal values: (1 − γ)/γ · (V*(s) − R(s)) (its mean over reward
/// functions is the paper's POWER).
pub fn power_sample(v: &[f64], r: &[f64], gamma: f64) -> Vec<f64> {
    v.iter()
        .zip(r)
        .map(|(v, r)| (1.0 - gamma) / gamma * (v - r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(k: usize) -> Graph {
        let names: Vec<String> = ["start", "off", "on"]
            .iter()
            .map(|s| s.to_string())
            .chain((0..k).map(|i| format!("t{i}")))
            .collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let ts: Vec<&str> = refs[3..].to_vec();
        let selfs: Vec<[&str; 1]> = refs.iter().map(|s| [*s]).collect();
        let mut edges: Vec<(&str, &[&str])> = vec![
            ("start", &["off", "on"][..]),
            ("off", &selfs[1][..]),
            ("on", &ts[..]),
        ];
        for i in 0..k {
            edges.push((refs[3 + i], &selfs[3 + i][..]));
        }
        Graph::new(&refs, &edges, "start", &["off"]).unwrap()
    }

    #[test]
    fn policy_iteration_equals_value_iteration() {
        let g = canonical(3);
        let mut rng = crate::rng::job_rng(21, 0);
        use rand::RngExt;
        for gamma in [0.1, 0.5, 0.9] {
            let r: Vec<f64> = (0..g.states.len()).map(|_| rng.random::<f64>()).collect();
            let v = optimal_values(&g, &r, gamma);
            let mut w = vec![0.0; r.len()];
            for _ in 0..2000 {
                w = (0..r.len())
                    .map(|s| {
                        r[s] + gamma
                            * g.succ[s]
                                .iter()
                                .map(|&t| w[t])
                                .fold(f64::NEG_INFINITY, f64::max)
                    })
                    .collect();
            }
            for (a, b) in v.iter().zip(&w) {
                assert!((a - b).abs() < 1e-9, "γ = {gamma}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn bad_graphs_are_refused_with_the_field() {
        let e = Graph::new(
            &["start", "off"],
            &[("start", &["off"]), ("off", &["off"])],
            "start",
            &["off"],
        );
        assert!(e.unwrap_err().to_string().contains("start"));
        let e = Graph::new(
            &["start", "off", "on"],
            &[("start", &["off", "on"]), ("off", &["on"]), ("on", &["on"])],
            "start",
            &["off"],
        );
        assert!(e.unwrap_err().to_string().contains("absorbing"));
        let e = Graph::new(
            &["start", "off"],
            &[("start", &["off", "nowhere"])],
            "start",
            &["off"],
        );
        assert!(e.unwrap_err().to_string().contains("nowhere"));
    }

    #[test]
    fn exact_ties_are_reported() {
        let g = canonical(1);
        let v = optimal_values(&g, &[0.0, 0.5, 0.5, 0.5], 0.9);
        assert_eq!(g.avoids_shutdown(&v), None);
    }
}
