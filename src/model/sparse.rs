//! Sparse tabular POMDPs: the form `.pomdp` files are read into and the point-based solver
//! ([`crate::solvers::sarsop`]) works on.
//!
//! Classic models are sparse: a RockSample move reaches one state, a Tag step a handful, an observation row has
//! one or two non-zero entries. A [`Sparse`] model keeps per action a compressed-row table ([`Csr`]) of
//! T(s'|s, a) and one of O(o|s', a), so its size is the number of non-zero entries rather than |A|·|S|² — 12 bytes
//! an entry. [`Sparse::to_dense`] gives the dense [`Tabular`] the exact solvers, PBVI and the simulators use
//! (refused, naming the size, past [`crate::limits::MAX_TABLE_ENTRIES`]).

use super::Tabular;
use crate::error::Result;

/// A compressed-row table: row i's non-zero entries are `cols[start[i]..start[i + 1]]` with values `vals[..]`,
/// columns ascending.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Csr {
    start: Vec<usize>,
    cols: Vec<u32>,
    vals: Vec<f64>,
}

impl Csr {
    /// A table from its rows, each a list of (column, value) in any order; zeros are dropped and a repeated column
    /// keeps its last value.
    pub fn from_rows<I, R>(rows: I) -> Csr
    where
        I: IntoIterator<Item = R>,
        R: AsRef<[(u32, f64)]>,
    {
        let rows = rows.into_iter();
        let mut start = Vec::with_capacity(rows.size_hint().0 + 1);
        start.push(0);
        let mut t = Csr {
            start,
            ..Default::default()
        };
        let mut sorted = Vec::new();
        for row in rows {
            let mut row = row.as_ref();
            if !row.is_sorted_by_key(|e| e.0) {
                sorted.clear();
                sorted.extend_from_slice(row);
                sorted.sort_by_key(|e| e.0);
                row = &sorted;
            }
            for (i, &(c, v)) in row.iter().enumerate() {
                if row.get(i + 1).is_some_and(|n| n.0 == c) || v == 0.0 {
                    continue;
                }
                t.cols.push(c);
                t.vals.push(v);
            }
            t.start.push(t.cols.len());
        }
        t
    }

    /// A table from dense rows.
    pub fn from_dense(rows: &[Vec<f64>]) -> Csr {
        Csr::from_rows(rows.iter().map(|r| {
            r.iter()
                .enumerate()
                .filter(|(_, v)| **v != 0.0)
                .map(|(i, v)| (i as u32, *v))
                .collect::<Vec<_>>()
        }))
    }

    /// Row i: its columns and values.
    #[inline]
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.start[i], self.start[i + 1]);
        (&self.cols[a..b], &self.vals[a..b])
    }

    /// The number of rows.
    pub fn rows(&self) -> usize {
        self.start.len() - 1
    }

    /// The number of non-zero entries.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Row i as a dense vector of `n` entries.
    pub fn dense_row(&self, i: usize, n: usize) -> Vec<f64> {
        let mut v = vec![0.0; n];
        let (c, x) = self.row(i);
        for (j, p) in c.iter().zip(x) {
            v[*j as usize] = *p;
        }
        v
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.start.len() * 8 + self.cols.len() * 12
    }
}

/// An explicit POMDP with sparse tables (see the module docs); the fields mean what [`Tabular`]'s do.
#[derive(Debug, Clone, PartialEq)]
pub struct Sparse {
    /// The model's name.
    pub name: String,
    /// State names.
    pub states: Vec<String>,
    /// Action names.
    pub actions: Vec<String>,
    /// Observation names.
    pub observations: Vec<String>,
    /// `t[a].row(s)` = the states s' with P(s' | s, a) > 0.
    pub t: Vec<Csr>,
    /// `o[a].row(s')` = the observations o with P(o | s', a) > 0.
    pub o: Vec<Csr>,
    /// R\[a\]\[s\]: expected immediate reward of taking a in s.
    pub r: Vec<Vec<f64>>,
    /// The discount γ.
    pub discount: f64,
    /// Number of decisions for a finite-horizon problem (`None`: infinite horizon, needs γ < 1).
    pub horizon: Option<usize>,
    /// The initial belief over states.
    pub initial: Vec<f64>,
    /// What the reader changed to make the model valid.
    pub notes: Vec<String>,
}

impl From<&Tabular> for Sparse {
    fn from(m: &Tabular) -> Sparse {
        Sparse {
            name: m.name.clone(),
            states: m.states.clone(),
            actions: m.actions.clone(),
            observations: m.observations.clone(),
            t: m.t.iter().map(|rows| Csr::from_dense(rows)).collect(),
            o: m.o.iter().map(|rows| Csr::from_dense(rows)).collect(),
            r: m.r.clone(),
            discount: m.discount,
            horizon: m.horizon,
            initial: m.initial.clone(),
            notes: m.notes.clone(),
        }
    }
}

impl Sparse {
    /// |S|.
    pub fn n_states(&self) -> usize {
        self.states.len()
    }
    /// |A|.
    pub fn n_actions(&self) -> usize {
        self.actions.len()
    }
    /// |O|.
    pub fn n_observations(&self) -> usize {
        self.observations.len()
    }

    /// Non-zero entries of the transition and observation tables.
    pub fn nnz(&self) -> usize {
        self.t.iter().chain(&self.o).map(Csr::nnz).sum()
    }

    /// Bytes the tables hold.
    pub fn bytes(&self) -> usize {
        self.t.iter().chain(&self.o).map(Csr::bytes).sum::<usize>()
            + 8 * (self.r.len() * self.n_states() + self.initial.len())
    }

    /// The dense form, refused (naming the size) when its tables would pass
    /// [`crate::limits::MAX_TABLE_ENTRIES`].
    pub fn to_dense(&self) -> Result<Tabular> {
        let (ns, na, no) = (
            self.n_states() as f64,
            self.n_actions() as f64,
            self.n_observations() as f64,
        );
        let what = format!(
            "the dense form of {} ({} states, {} actions, {} observations; the point-based solver --solver sarsop works on the sparse tables)",
            if self.name.is_empty() {
                "the model"
            } else {
                &self.name
            },
            self.n_states(),
            self.n_actions(),
            self.n_observations()
        );
        crate::limits::check_table("MODEL", na * ns * ns, &what)?;
        crate::limits::check_table("MODEL", na * ns * no, &what)?;
        let (ns, no) = (self.n_states(), self.n_observations());
        Ok(Tabular {
            name: self.name.clone(),
            states: self.states.clone(),
            actions: self.actions.clone(),
            observations: self.observations.clone(),
            t: self
                .t
                .iter()
                .map(|c| (0..ns).map(|s| c.dense_row(s, ns)).collect())
                .collect(),
            o: self
                .o
                .iter()
                .map(|c| (0..ns).map(|s| c.dense_row(s, no)).collect())
                .collect(),
            r: self.r.clone(),
            discount: self.discount,
            horizon: self.horizon,
            initial: self.initial.clone(),
            notes: self.notes.clone(),
        })
    }

    /// The model checker of [`Tabular::check`], on the sparse tables: shapes, probabilities in [0, 1] summing to 1
    /// within [`PROB_TOL`](super::PROB_TOL), finite rewards, γ ∈ [0, 1] (γ = 1 only with a horizon), values within f64.
    pub fn check(&self) -> Result<()> {
        let (ns, na, no) = (self.n_states(), self.n_actions(), self.n_observations());
        super::check_header(&self.name, [ns, na, no], self.discount, self.horizon)?;
        let bad = |field: String, msg: String| Err(super::invalid_in(&self.name, field, msg));
        let dist = |field: &dyn Fn() -> String, cols: &[u32], p: &[f64], n: usize| {
            super::check_distribution(&self.name, field, Some(cols), p, n)
        };
        super::check_distribution(&self.name, &|| "initial".into(), None, &self.initial, ns)?;
        if self.t.len() != na || self.o.len() != na || self.r.len() != na {
            return bad(
                "tables".into(),
                format!("T, O and R need one entry per action ({na})"),
            );
        }
        for a in 0..na {
            let an = &self.actions[a];
            if self.t[a].rows() != ns || self.o[a].rows() != ns || self.r[a].len() != ns {
                return bad(
                    format!("action {an}"),
                    format!("T, O and R need one row per state ({ns})"),
                );
            }
            for s in 0..ns {
                let (c, p) = self.t[a].row(s);
                dist(&|| format!("T[{an}][{}]", self.states[s]), c, p, ns)?;
                let (c, p) = self.o[a].row(s);
                dist(&|| format!("O[{an}][{}]", self.states[s]), c, p, no)?;
                if !self.r[a][s].is_finite() {
                    return bad(
                        format!("R[{an}][{}]", self.states[s]),
                        format!("must be finite, got {}", self.r[a][s]),
                    );
                }
            }
        }
        let rmax = self.r.iter().flatten().fold(0.0f64, |m, x| m.max(x.abs()));
        super::check_value_bound(&self.name, rmax, self.discount, self.horizon)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_round_trip_and_sizes() {
        let mut rng = crate::rng::job_rng(3, 0);
        let m = super::super::random(5, 3, 4, 0.9, &mut rng);
        let s = Sparse::from(&m);
        s.check().unwrap();
        assert_eq!(s.to_dense().unwrap(), m);
        assert_eq!(s.nnz(), 3 * 5 * 5 + 3 * 5 * 4);
        let c = Csr::from_rows(vec![vec![(2, 0.5), (0, 0.0), (1, 0.25), (2, 0.75)], vec![]]);
        assert_eq!(c.row(0), (&[1u32, 2][..], &[0.25, 0.75][..]));
        assert_eq!(c.row(1).0.len(), 0);
        assert_eq!(c.dense_row(0, 3), vec![0.0, 0.25, 0.75]);
    }

    #[test]
    fn check_names_the_row() {
        let mut rng = crate::rng::job_rng(4, 0);
        let mut m = super::super::random(3, 2, 2, 0.9, &mut rng);
        m.t[1][2] = vec![0.5, 0.25, 0.0];
        let e = Sparse::from(&m).check().unwrap_err().to_string();
        assert!(e.contains("T[a1][s2]") && e.contains("sums to 0.75"), "{e}");
    }
}
