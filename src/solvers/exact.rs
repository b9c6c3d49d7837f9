//! Exact value iteration over alpha vectors with incremental pruning (Cassandra, Littman & Zhang 1997).
//!
//! One backup builds, for every action a and observation o, the projected set
//! Γ(a,o) = { R(·,a)/|O| + γ·Σ_{s'} T(s'|·,a)·O(o|s',a)·α(s') : α ∈ V }, takes the cross sum over o one observation
//! at a time, pruning after each step, and prunes the union over actions. Pruning removes pointwise-dominated
//! vectors and then runs Lark's filter: a vector stays only if a linear program finds a belief where it beats
//! every kept vector by more than the tolerance. The result is the exact (up to that tolerance) value function.
//!
//! Pruning is done on the beliefs the model can reach: a vector that wins only on beliefs putting mass on states
//! that cannot occur at that stage (from the initial belief, under any actions) is never used, so the filter
//! works on the coordinates of the stage's reachable states ([`reachable_supports`]). For models whose states
//! carry the time (the assistance games) this is what keeps the value functions small. Vectors stay defined on
//! every state (their other coordinates are the values of the same conditional plans there).
//!
//! A finite-horizon model is solved for its horizon. A discounted model without a horizon is iterated until
//! γᵏ·max|R|/(1 − γ) (the distance left to the infinite-horizon value, starting from V₀ = 0) is below the
//! requested tolerance.

use std::time::Instant;

use microlp::{ComparisonOp, OptimizationDirection, Problem};

use super::AlphaSet;
use crate::error::{Error, Result};
use crate::model::Tabular;

/// Options of the exact solver.
#[derive(Debug, Clone)]
pub struct ExactOptions {
    /// Stop a discounted infinite-horizon problem when the remaining error bound is below this.
    pub tolerance: f64,
    /// Stop (with an error) if a value function grows beyond this many vectors.
    pub max_vectors: usize,
    /// Stop (with an error) after this many seconds.
    pub max_seconds: f64,
    /// Prune for the beliefs reachable from the initial belief only (the default). `false` keeps every vector
    /// that is best somewhere on the whole simplex, so the value function is optimal at any belief.
    pub reachable_only: bool,
}

impl Default for ExactOptions {
    fn default() -> Self {
        ExactOptions {
            tolerance: 1e-6,
            max_vectors: 20_000,
            max_seconds: 600.0,
            reachable_only: true,
        }
    }
}

/// What the exact solver returns.
#[derive(Debug, Clone)]
pub struct ExactSolution {
    /// The value function with all decisions left (the first decision's).
    pub alphas: AlphaSet,
    /// A finite horizon's value functions, first decision first (stages\[t\] has horizon − t decisions left);
    /// for a discounted infinite-horizon model just the converged one.
    pub stages: Vec<AlphaSet>,
    /// Backups performed (= decisions of the horizon).
    pub backups: usize,
    /// Value at the initial belief.
    pub value: f64,
    /// Bound on |value − the infinite-horizon value| (0 for a finite-horizon model).
    pub error_bound: f64,
    /// Vectors after each backup.
    pub sizes: Vec<usize>,
}

/// Solves a model exactly: for its horizon, or to `opts.tolerance` if it is discounted with no horizon.
pub fn solve(m: &Tabular, opts: &ExactOptions) -> Result<ExactSolution> {
    m.check()?;
    let start = Instant::now();
    let rmax = m.max_abs_reward();
    let (steps, bound_after) = match m.horizon {
        Some(h) => (h, 0.0),
        None => {
            if m.discount >= 1.0 {
                return Err(Error::invalid(
                    "horizon",
                    "an undiscounted model needs a horizon",
                ));
            }
            super::backups_to_tolerance(rmax, m.discount, opts.tolerance)?
        }
    };
    let scale = rmax.max(1.0) / (1.0 - m.discount).max(1.0 / (steps.max(1) as f64));
    let eps = 1e-9 * scale;
    let mut v = AlphaSet {
        vectors: vec![vec![0.0; m.n_states()]],
        actions: vec![0],
    };
    let mut sizes = Vec::with_capacity(steps);
    let mut stages = Vec::new();
    let supports = if opts.reachable_only {
        reachable_supports(m, steps)
    } else {
        vec![(0..m.n_states()).collect(); steps.max(1) + 1]
    };
    for k in 0..steps {
        // The k-th backup builds the value function of decision steps − 1 − k.
        let support = match m.horizon {
            Some(_) => &supports[steps - 1 - k],
            None => supports.last().expect("at least one support"),
        };
        v = backup_on(m, &v, support, eps)?;
        if m.horizon.is_some() {
            stages.push(v.clone());
        }
        sizes.push(v.len());
        if v.len() > opts.max_vectors {
            return Err(Error::invalid(
                "max_vectors",
                format!(
                    "the value function grew to {} vectors; use PBVI for this model",
                    v.len()
                ),
            ));
        }
        if start.elapsed().as_secs_f64() > opts.max_seconds {
            return Err(Error::invalid(
                "max_seconds",
                format!("exact VI exceeded {} s", opts.max_seconds),
            ));
        }
    }
    let value = v.value(&m.initial);
    if m.horizon.is_none() || stages.is_empty() {
        stages = vec![v.clone()];
    } else {
        stages.reverse();
    }
    Ok(ExactSolution {
        stages,
        alphas: v,
        backups: steps,
        value,
        error_bound: bound_after,
        sizes,
    })
}

/// The states reachable before each decision, from the initial belief under any actions: entry t lists the
/// states with positive probability at decision t (t < steps, in increasing order). For `steps` = 0 or an
/// infinite horizon the last entry is the closure (every state ever reachable), which is returned as entry 0
/// when `steps` is 0.
pub fn reachable_supports(m: &Tabular, steps: usize) -> Vec<Vec<usize>> {
    let ns = m.n_states();
    let mut cur: Vec<bool> = m.initial.iter().map(|&p| p > 0.0).collect();
    let mut ever = cur.clone();
    let list = |mask: &[bool]| (0..ns).filter(|&s| mask[s]).collect::<Vec<_>>();
    let mut out = Vec::with_capacity(steps.max(1));
    for _ in 0..steps {
        out.push(list(&cur));
        let mut next = vec![false; ns];
        for s in (0..ns).filter(|&s| cur[s]) {
            for ta in &m.t {
                for (sp, &p) in ta[s].iter().enumerate() {
                    if p > 0.0 {
                        next[sp] = true;
                    }
                }
            }
        }
        for s in 0..ns {
            ever[s] |= next[s];
        }
        cur = next;
    }
    if m.horizon.is_none() || steps == 0 {
        // The closure: iterate until nothing new is reached.
        loop {
            let mut grew = false;
            for s in 0..ns {
                if !ever[s] {
                    continue;
                }
                for ta in &m.t {
                    for (sp, &p) in ta[s].iter().enumerate() {
                        if p > 0.0 && !ever[sp] {
                            ever[sp] = true;
                            grew = true;
                        }
                    }
                }
            }
            if !grew {
                break;
            }
        }
        out.push(list(&ever));
    }
    out
}

/// One exact Bellman backup with incremental pruning over the whole belief simplex.
pub fn backup(m: &Tabular, v: &AlphaSet, eps: f64) -> Result<AlphaSet> {
    let all: Vec<usize> = (0..m.n_states()).collect();
    backup_on(m, v, &all, eps)
}

/// One exact Bellman backup, pruned for beliefs supported on `support` (a sorted list of states).
pub fn backup_on(m: &Tabular, v: &AlphaSet, support: &[usize], eps: f64) -> Result<AlphaSet> {
    let (ns, na, no) = (m.n_states(), m.n_actions(), m.n_observations());
    let prune = |w: Vec<Vec<f64>>, eps: f64| -> Result<Vec<Vec<f64>>> {
        Ok(
            prune_tagged_on(w.into_iter().map(|x| (x, ())).collect(), support, eps)?
                .into_iter()
                .map(|x| x.0)
                .collect(),
        )
    };
    let mut all: Vec<(Vec<f64>, usize)> = Vec::new();
    let project = |a: usize, o: usize, alpha: &[f64]| -> Vec<f64> {
        (0..ns)
            .map(|s| {
                let future: f64 = (0..ns)
                    .map(|sp| m.t[a][s][sp] * m.o[a][sp][o] * alpha[sp])
                    .sum();
                m.r[a][s] / no as f64 + m.discount * future
            })
            .collect()
    };
    for a in 0..na {
        // Observations that cannot follow `a` from the support add the same vector on the support whatever
        // the continuation: take the first vector's plan for them (so every coordinate stays the value of a
        // definite conditional plan) and add it to the result without pruning.
        let possible = |o: usize| {
            support
                .iter()
                .any(|&s| (0..ns).any(|sp| m.t[a][s][sp] > 0.0 && m.o[a][sp][o] > 0.0))
        };
        let mut fixed = vec![0.0; ns];
        let mut acc: Option<Vec<Vec<f64>>> = None;
        for o in 0..no {
            if !possible(o) {
                for (f, x) in fixed.iter_mut().zip(project(a, o, &v.vectors[0])) {
                    *f += x;
                }
                continue;
            }
            let proj: Vec<Vec<f64>> = v.vectors.iter().map(|alpha| project(a, o, alpha)).collect();
            let proj = prune(proj, eps)?;
            acc = Some(match acc {
                None => proj,
                Some(prev) => {
                    let mut sum = Vec::with_capacity(prev.len() * proj.len());
                    for x in &prev {
                        for y in &proj {
                            sum.push(x.iter().zip(y).map(|(p, q)| p + q).collect());
                        }
                    }
                    prune(sum, eps)?
                }
            });
        }
        let acc = acc.unwrap_or_else(|| vec![vec![0.0; ns]]);
        all.extend(acc.into_iter().map(|x| {
            let x: Vec<f64> = x.iter().zip(&fixed).map(|(p, q)| p + q).collect();
            (x, a)
        }));
    }
    let (vectors, actions): (Vec<_>, Vec<_>) =
        prune_tagged_on(all, support, eps)?.into_iter().unzip();
    Ok(AlphaSet { vectors, actions })
}

/// Prunes a set of vectors to those that are maximal somewhere on the belief simplex.
pub fn prune(w: Vec<Vec<f64>>, eps: f64) -> Result<Vec<Vec<f64>>> {
    Ok(prune_tagged(w.into_iter().map(|x| (x, 0)).collect(), eps)?
        .into_iter()
        .map(|x| x.0)
        .collect())
}

/// Whether `x ≤ y + eps` in every coordinate.
pub fn dominated(x: &[f64], y: &[f64], eps: f64) -> bool {
    x.iter().zip(y).all(|(a, b)| *a <= *b + eps)
}

/// Pointwise-dominance removal, then Lark's filter. Tags (actions, plans) travel with their vectors.
pub fn prune_tagged<T>(w: Vec<(Vec<f64>, T)>, eps: f64) -> Result<Vec<(Vec<f64>, T)>> {
    let n = w.first().map_or(0, |x| x.0.len());
    let all: Vec<usize> = (0..n).collect();
    prune_tagged_on(w, &all, eps)
}

/// [`prune_tagged`] for beliefs supported on `support` (a list of coordinates): a vector is kept only if it is
/// maximal at some belief that puts all its mass on those coordinates.
pub fn prune_tagged_on<T>(
    w: Vec<(Vec<f64>, T)>,
    support: &[usize],
    eps: f64,
) -> Result<Vec<(Vec<f64>, T)>> {
    let full = w.first().is_none_or(|x| support.len() == x.0.len());
    if full {
        return prune_projected(w, eps);
    }
    // Prune the projections onto the support, carrying the full vectors along as tags.
    let projected: Vec<_> = w
        .into_iter()
        .map(|(x, t)| (support.iter().map(|&s| x[s]).collect(), (x, t)))
        .collect();
    Ok(prune_projected(projected, eps)?
        .into_iter()
        .map(|(_, full)| full)
        .collect())
}

fn prune_projected<T>(w: Vec<(Vec<f64>, T)>, eps: f64) -> Result<Vec<(Vec<f64>, T)>> {
    // Pointwise dominance (and duplicates): keep x unless some other kept vector is ≥ it everywhere.
    let mut cand: Vec<(Vec<f64>, T)> = Vec::with_capacity(w.len());
    for x in w {
        if cand.iter().any(|c| dominated(&x.0, &c.0, eps)) {
            continue;
        }
        cand.retain(|c| !dominated(&c.0, &x.0, eps));
        cand.push(x);
    }
    if cand.len() <= 1 {
        return Ok(cand);
    }
    // Lark's filter.
    let mut kept: Vec<(Vec<f64>, T)> = Vec::new();
    while !cand.is_empty() {
        let b = if kept.is_empty() {
            let x = &cand[0].0;
            let k = (0..x.len())
                .max_by(|&i, &j| x[i].total_cmp(&x[j]))
                .unwrap_or(0);
            let mut b = vec![0.0; x.len()];
            b[k] = 1.0;
            Some(b)
        } else {
            witness(&cand[0].0, &kept, eps)?
        };
        match b {
            None => {
                cand.swap_remove(0);
            }
            Some(b) => {
                // The best candidate at the witness (lexicographic tie-break) is certainly useful.
                let dot = |x: &[f64]| x.iter().zip(&b).map(|(p, q)| p * q).sum::<f64>();
                let mut best = 0;
                for i in 1..cand.len() {
                    let (di, db) = (dot(&cand[i].0), dot(&cand[best].0));
                    if di > db + eps
                        || ((di - db).abs() <= eps && lex_greater(&cand[i].0, &cand[best].0))
                    {
                        best = i;
                    }
                }
                kept.push(cand.swap_remove(best));
            }
        }
    }
    Ok(kept)
}

fn lex_greater(x: &[f64], y: &[f64]) -> bool {
    for (a, b) in x.iter().zip(y) {
        if a != b {
            return a > b;
        }
    }
    false
}

/// A belief where `x` beats every vector of `kept` by more than `eps`, if one exists (an LP: maximise δ
/// subject to b·(x − u) ≥ δ for every u, b in the simplex).
fn witness<T>(x: &[f64], kept: &[(Vec<f64>, T)], eps: f64) -> Result<Option<Vec<f64>>> {
    let n = x.len();
    let mut lp = Problem::new(OptimizationDirection::Maximize);
    let b: Vec<_> = (0..n).map(|_| lp.add_var(0.0, (0.0, 1.0))).collect();
    let delta = lp.add_var(1.0, (f64::NEG_INFINITY, f64::INFINITY));
    lp.add_constraint(
        b.iter().map(|&v| (v, 1.0)).collect::<Vec<_>>(),
        ComparisonOp::Eq,
        1.0,
    );
    // Differences below this are rounding noise; dropping them keeps the LP's coefficients in a range the
    // simplex can verify (a difference of 1e-16 next to one of 1 otherwise spans 16 orders of magnitude).
    let scale = x.iter().fold(1.0f64, |m, v| m.max(v.abs()));
    let noise = 1e-13 * scale;
    for (u, _) in kept {
        let mut row: Vec<_> = (0..n)
            .map(|s| (b[s], x[s] - u[s]))
            .filter(|(_, d)| d.abs() > noise)
            .collect();
        row.push((delta, -1.0));
        lp.add_constraint(row, ComparisonOp::Ge, 0.0);
    }
    let sol = lp
        .solve()
        .map_err(|e| Error::invalid("exact solver", format!("pruning LP failed: {e}")))?
        .into_solution()
        .map_err(|e| Error::invalid("exact solver", format!("pruning LP failed: {e:?}")))?;
    if sol.var_value(delta) > eps {
        Ok(Some(b.iter().map(|&v| sol.var_value(v).max(0.0)).collect()))
    } else {
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::pomdp_format;

    fn tiger() -> Tabular {
        pomdp_format::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/models/tiger.pomdp"
        )))
        .unwrap()
        .to_dense()
        .unwrap()
    }

    #[test]
    fn tiger_horizon_one_and_two() {
        let mut m = tiger();
        m.horizon = Some(1);
        let s = solve(&m, &ExactOptions::default()).unwrap();
        // One decision from the uniform belief: listening (−1) beats opening (−45).
        assert!((s.value + 1.0).abs() < 1e-12);
        m.horizon = Some(2);
        let s = solve(&m, &ExactOptions::default()).unwrap();
        assert!((s.value + 1.95).abs() < 1e-9, "{}", s.value);
    }
}

#[cfg(test)]
mod tiger_infinite {
    use super::*;

    #[test]
    fn tiger_discounted_value() {
        let m = crate::model::pomdp_format::read(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/experiments/models/tiger.pomdp"
        )))
        .unwrap()
        .to_dense()
        .unwrap();
        let t = std::time::Instant::now();
        let s = solve(
            &m,
            &ExactOptions {
                tolerance: 1e-4,
                ..Default::default()
            },
        )
        .unwrap();
        eprintln!(
            "value {} after {} backups, {} vectors, bound {:e}, {:?}",
            s.value,
            s.backups,
            s.alphas.len(),
            s.error_bound,
            t.elapsed()
        );
        assert!((s.value - 19.3711).abs() < 1e-3, "{}", s.value);
    }
}
