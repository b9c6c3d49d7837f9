//! POMDP models: the explicit (tabular) form every exact and point-based solver works on.
//!
//! A [`Tabular`] POMDP has finite states, actions and observations, transition probabilities T(s'|s, a),
//! observation probabilities O(o|s', a) (the observation is emitted by the state entered), the expected immediate
//! reward R(s, a), a discount γ ∈ [0, 1], an optional horizon and an initial belief. [`Tabular::check`] is the
//! model checker: every distribution sums to 1, nothing is NaN or infinite, γ is in [0, 1], and an undiscounted
//! model has a horizon.
//!
//! Cassandra's `.pomdp` text format is read and written by [`pomdp_format`].

pub mod assist;
pub mod chain;
pub mod cirl;
pub mod dials;
pub mod env;
pub mod feature_mdp;
pub mod pomdp_format;
pub mod posg;
pub mod sparse;

use crate::error::{Error, Result};

/// Tolerance on a probability distribution's sum.
pub const PROB_TOL: f64 = 1e-9;

/// An explicit POMDP. Tables are dense and indexed `[a][s][s']`, `[a][s'][o]`, `[a][s]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Tabular {
    /// The model's name.
    pub name: String,
    /// State names.
    pub states: Vec<String>,
    /// Action names.
    pub actions: Vec<String>,
    /// Observation names.
    pub observations: Vec<String>,
    /// T\[a\]\[s\][s'] = P(s' | s, a).
    pub t: Vec<Vec<Vec<f64>>>,
    /// O\[a\]\[s'\]\[o\] = P(o | s', a).
    pub o: Vec<Vec<Vec<f64>>>,
    /// R\[a\]\[s\]: expected immediate reward of taking a in s.
    pub r: Vec<Vec<f64>>,
    /// The discount γ ∈ (0, 1].
    pub discount: f64,
    /// Number of decisions for a finite-horizon problem (`None`: infinite horizon, needs γ < 1).
    pub horizon: Option<usize>,
    /// The initial belief over states.
    pub initial: Vec<f64>,
    /// What the reader changed to make the model valid (e.g. rows renormalised after rounding), for the caller
    /// to show; empty for models built in code.
    pub notes: Vec<String>,
}

impl Tabular {
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

    /// The model checker: shapes agree, probabilities are in [0, 1] and sum to 1 within [`PROB_TOL`], no NaN or
    /// infinity, γ ∈ [0, 1], and γ = 1 only with a horizon. The error names the offending entry.
    pub fn check(&self) -> Result<()> {
        let (ns, na, no) = (self.n_states(), self.n_actions(), self.n_observations());
        check_header(&self.name, [ns, na, no], self.discount, self.horizon)?;
        let bad = |field: String, msg: String| Err(invalid_in(&self.name, field, msg));
        let dist = |field: String, p: &[f64], n: usize| {
            check_distribution(&self.name, &|| field.clone(), None, p, n)
        };
        dist("initial".into(), &self.initial, ns)?;
        if self.t.len() != na || self.o.len() != na || self.r.len() != na {
            return bad(
                "tables".into(),
                format!("T, O and R need one entry per action ({na})"),
            );
        }
        for a in 0..na {
            let an = &self.actions[a];
            if self.t[a].len() != ns || self.o[a].len() != ns || self.r[a].len() != ns {
                return bad(
                    format!("action {an}"),
                    format!("T, O and R need one row per state ({ns})"),
                );
            }
            for s in 0..ns {
                dist(format!("T[{an}][{}]", self.states[s]), &self.t[a][s], ns)?;
                dist(format!("O[{an}][{}]", self.states[s]), &self.o[a][s], no)?;
                if !self.r[a][s].is_finite() {
                    return bad(
                        format!("R[{an}][{}]", self.states[s]),
                        format!("must be finite, got {}", self.r[a][s]),
                    );
                }
            }
        }
        check_value_bound(
            &self.name,
            self.max_abs_reward(),
            self.discount,
            self.horizon,
        )
    }

    /// The Bayes update of belief `b` after action `a` and observation `o`; `None` if o has probability 0.
    pub fn update(&self, b: &[f64], a: usize, o: usize) -> Option<Vec<f64>> {
        let ns = self.n_states();
        let mut next = vec![0.0; ns];
        for (s, &bs) in b.iter().enumerate() {
            if bs == 0.0 {
                continue;
            }
            for (sp, n) in next.iter_mut().enumerate() {
                *n += bs * self.t[a][s][sp];
            }
        }
        for (sp, n) in next.iter_mut().enumerate() {
            *n *= self.o[a][sp][o];
        }
        let z: f64 = next.iter().sum();
        if z <= 0.0 {
            return None;
        }
        next.iter_mut().for_each(|x| *x /= z);
        Some(next)
    }

    /// The largest |R(s, a)|.
    pub fn max_abs_reward(&self) -> f64 {
        self.r.iter().flatten().fold(0.0, |m, x| m.max(x.abs()))
    }
}

/// A random model for tests and benchmarks: Dirichlet(1)-like rows (normalised uniforms), rewards uniform in
/// [−1, 1], uniform initial belief.
pub fn random<R: rand::Rng + ?Sized>(
    ns: usize,
    na: usize,
    no: usize,
    discount: f64,
    rng: &mut R,
) -> Tabular {
    use rand::RngExt;
    let mut row = |n: usize| {
        let v: Vec<f64> = (0..n).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
        let s: f64 = v.iter().sum();
        v.into_iter().map(|x| x / s).collect::<Vec<f64>>()
    };
    let t = (0..na)
        .map(|_| (0..ns).map(|_| row(ns)).collect())
        .collect();
    let o = (0..na)
        .map(|_| (0..ns).map(|_| row(no)).collect())
        .collect();
    let r = (0..na)
        .map(|_| (0..ns).map(|_| 2.0 * rng.random::<f64>() - 1.0).collect())
        .collect();
    Tabular {
        name: format!("random-{ns}x{na}x{no}"),
        states: (0..ns).map(|i| format!("s{i}")).collect(),
        actions: (0..na).map(|i| format!("a{i}")).collect(),
        observations: (0..no).map(|i| format!("o{i}")).collect(),
        t,
        o,
        r,
        discount,
        horizon: None,
        initial: vec![1.0 / ns as f64; ns],
        notes: vec![],
    }
}

/// An [`Error::Invalid`] about `field` of the model `name` (the name first when it has one).
pub(crate) fn invalid_in(name: &str, field: String, message: String) -> Error {
    if name.is_empty() {
        Error::invalid(field, message)
    } else {
        Error::invalid(format!("{name}: {field}"), message)
    }
}

/// The checks of a model's sizes (|S|, |A|, |O|), discount and horizon that [`Tabular::check`] and
/// [`sparse::Sparse::check`] share: at least one of each, γ ∈ [0, 1], γ = 1 only with a horizon.
pub(crate) fn check_header(
    name: &str,
    [ns, na, no]: [usize; 3],
    discount: f64,
    horizon: Option<usize>,
) -> Result<()> {
    let bad = |field: &str, msg: String| Err(invalid_in(name, field.into(), msg));
    if ns == 0 || na == 0 || no == 0 {
        return bad(
            "sizes",
            format!("need at least one state, action and observation ({ns}, {na}, {no})"),
        );
    }
    if !(0.0..=1.0).contains(&discount) {
        return bad("discount", format!("must be in [0, 1], got {discount}"));
    }
    if discount == 1.0 && horizon.is_none() {
        return bad(
            "horizon",
            "an undiscounted model (discount = 1) needs a finite horizon".into(),
        );
    }
    check_horizon(name, horizon)
}

/// Checks one probability row of `n` columns: dense (`cols` is `None`: `p` has one entry per column) or sparse
/// (`p[i]` is column `cols[i]`). Its entries are probabilities and they sum to 1 within [`PROB_TOL`]; `field`
/// names the row in the error.
pub(crate) fn check_distribution(
    name: &str,
    field: &dyn Fn() -> String,
    cols: Option<&[u32]>,
    p: &[f64],
    n: usize,
) -> Result<()> {
    let bad = |field: String, msg: String| Err(invalid_in(name, field, msg));
    match cols {
        None if p.len() != n => {
            return bad(field(), format!("has {} entries, expected {n}", p.len()));
        }
        Some(cols) => {
            if let Some(c) = cols.iter().find(|c| **c as usize >= n) {
                return bad(field(), format!("entry {c} past the {n} there are"));
            }
        }
        None => {}
    }
    if let Some((i, x)) = p
        .iter()
        .enumerate()
        .find(|(_, x)| !x.is_finite() || **x < 0.0 || **x > 1.0 + PROB_TOL)
    {
        let col = cols.map_or(i, |c| c[i] as usize);
        return bad(
            format!("{}[{col}]", field()),
            format!("must be a probability, got {x}"),
        );
    }
    let s: f64 = p.iter().sum();
    if (s - 1.0).abs() > PROB_TOL {
        return bad(
            field(),
            format!("sums to {}, not 1", crate::numerics::brief(s)),
        );
    }
    Ok(())
}

/// Refuses a horizon of 0 or one longer than [`crate::limits::MAX_HORIZON`].
pub fn check_horizon(name: &str, horizon: Option<usize>) -> Result<()> {
    match horizon {
        Some(0) => Err(Error::invalid(
            format!("{name}: horizon"),
            "must be at least 1 decision (or absent: infinite, with discount < 1)",
        )),
        Some(h) if h > crate::limits::MAX_HORIZON => Err(Error::invalid(
            format!("{name}: horizon"),
            format!(
                "{h} decisions is more than the {} this solves; for a long horizon drop it and use a discount < 1",
                crate::limits::MAX_HORIZON
            ),
        )),
        _ => Ok(()),
    }
}

/// Refuses rewards whose value bound max|R|·(horizon, or 1/(1 − γ)) overflows f64.
pub fn check_value_bound(
    name: &str,
    rmax: f64,
    discount: f64,
    horizon: Option<usize>,
) -> Result<()> {
    let bound = match horizon {
        Some(h) => rmax * h as f64,
        None => rmax / (1.0 - discount),
    };
    if !bound.is_finite() || bound > 1e300 {
        return Err(Error::invalid(
            if name.is_empty() {
                "rewards".to_string()
            } else {
                format!("{name}: rewards")
            },
            format!(
                "rewards up to {} make values up to {} with this discount and horizon, past what f64 holds; rescale the rewards",
                crate::numerics::brief(rmax),
                crate::numerics::brief(bound)
            ),
        ));
    }
    Ok(())
}
