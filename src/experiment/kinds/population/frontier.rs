//! The frontier of a population: where deferring starts or stops beating acting along a condition axis.
//!
//! Two quantities, each the mean over the first N environments of a condition (the same environments in every
//! condition: common random numbers, so the mean is a continuous function of the axis):
//! - `delta`: Δ_seq, the Bayes agent's incentive to defer at the first step, Q(ask) − max(Q(act), Q(off)) under
//!   its belief (the off-switch game's Δ when T = 1);
//! - `advantage`: the deferring (Bayes) agent's expected return minus acting on the prior's, both valued under
//!   the truth — never negative when the prior is right, so its sign changes only with misspecification.
//!
//! In every slice of an axis (the other axes fixed) the quantity is evaluated at the grid's values; where it
//! changes sign between two neighbours, Brent's method finds the root (to 1e-6 of the axis range, 1e-10 when
//! the mean is over one environment — then every environment of a condition is the same game), with a
//! standard error from the spread of the environments' values at the root over the slope there (the delta
//! method) — `kind` = root. A grid point where the quantity is zero within the tie tolerance between
//! neighbours of opposite signs is a sign change on the grid (`grid`); other runs of zeros are `tie`s, never a
//! side. Each root or grid crossing comes with the sign of the quantity above it along the axis (`above`), the
//! same slice's crossing at T = 1 nearest to it (`one_shot`: the frontier of the first step alone, same
//! environments) and, where the one-shot game is the off-switch game of HM 2017 (no offsets, every step
//! irreversible, a Boltzmann human), the closed-form `law`: Δ = 0 at σ² = 2|μ|β with c = 0, and at
//! c = Δ(c = 0) along c.

use std::fmt::Write as _;

use super::setting::Setting;
use super::{
    Grid, Plan, PopulationStudy, beta_of, family_cells, frontier_columns, over_environments,
};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::experiment::kind::Verdict;
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::human::{Human, ResponseModel};
use crate::numerics;
use crate::offswitch;

/// The quantities whose sign the frontier tracks (the `quantity` column).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Quantity {
    Delta,
    Advantage,
}

impl Quantity {
    fn advantage(self) -> bool {
        self == Quantity::Advantage
    }

    fn name(self) -> &'static str {
        match self {
            Quantity::Delta => "delta",
            Quantity::Advantage => "advantage",
        }
    }
}

/// The axes a frontier can be found along, and their index in the grid ([`Grid`]'s order); `beta` runs along
/// the human axis, over its rational and Boltzmann humans.
const ALONG: [(&str, usize); 8] = [
    ("mu", 2),
    ("sigma", 3),
    ("beta", 1),
    ("ask_cost", 4),
    ("irreversible", 5),
    ("presence", 6),
    ("shift", 7),
    ("scale", 8),
];

/// One slice of the grid along an axis: its conditions, sorted by their value on the axis.
#[derive(Debug, Clone)]
pub(super) struct Slice {
    along: &'static str,
    /// What to locate: Δ_seq, which does not depend on the truth (so once per misspecification, along any
    /// other axis), and the advantage, which is never negative when the prior is right (so only where it is
    /// not, or along the misspecification axes).
    quantities: Vec<Quantity>,
    /// (value on the axis, condition index), ascending, distinct values.
    members: Vec<(f64, usize)>,
}

/// frontier.csv's columns after the condition's ([`super::frontier_columns`]).
pub(super) const CROSSING: [&str; 15] = [
    "quantity",
    "along",
    "kind",
    "value",
    "lo",
    "hi",
    "at_lo",
    "at_hi",
    "std_err",
    "value_ci_low",
    "value_ci_high",
    "one_shot",
    "law",
    "above",
    "environments",
];

/// The columns of thresholds.csv.
pub const THRESHOLDS_COLUMNS: [&str; 23] = [
    "profile",
    "along",
    "side",
    "boundary",
    "boundary_ci_low",
    "boundary_ci_high",
    "one_shot_boundary",
    "law",
    "boundary_over_abs_mu",
    "one_shot_over_abs_mu",
    "inflation",
    "steps",
    "mu",
    "sigma",
    "human",
    "beta",
    "ask_cost",
    "irreversible",
    "presence",
    "spread",
    "undo_cost",
    "environments",
    "family",
];

/// The slices of every axis in `axes` (the config's `frontier`), in the order of the axes, each axis's slices
/// in grid order.
pub(super) fn slices(axes: &[String], grid: &Grid, humans: &[Human]) -> Result<Vec<Slice>> {
    let bad = |m: String| Err(Error::invalid("population.frontier", m));
    let mut out = Vec::new();
    for (i, name) in axes.iter().enumerate() {
        let Some(&(along, a)) = ALONG.iter().find(|(n, _)| n == name) else {
            let names: Vec<&str> = ALONG.iter().map(|x| x.0).collect();
            return bad(format!(
                "unknown axis {name:?}; the axes: {}",
                names.join(", ")
            ));
        };
        if axes[..i].contains(name) {
            return bad(format!("the axis {name:?} is named twice"));
        }
        // The axis's values: the grid's, or the β of the logistic humans.
        let xs: Vec<(usize, f64)> = if along == "beta" {
            humans
                .iter()
                .enumerate()
                .map(|(i, h)| (i, beta_of(h)))
                .filter(|(_, b)| b.is_finite())
                .collect()
        } else {
            grid.values[a].iter().copied().enumerate().collect()
        };
        let mut distinct: Vec<f64> = xs.iter().map(|x| x.1).collect();
        distinct.sort_by(f64::total_cmp);
        distinct.dedup();
        if distinct.len() < 2 {
            return bad(if along == "beta" {
                "the axis \"beta\" needs two or more rational or Boltzmann humans with different β in population.human".to_string()
            } else {
                format!(
                    "the axis {name:?} needs at least two values in population.{name} to locate a frontier"
                )
            });
        }
        let first = xs[0].0;
        for k in 0..grid.len() {
            let at = grid.decode(k);
            if at[a] != first {
                continue;
            }
            let mut members: Vec<(f64, usize)> = xs
                .iter()
                .map(|&(i, x)| {
                    let mut b = at;
                    b[a] = i;
                    (x, grid.encode(&b))
                })
                .collect();
            members.sort_by(|p, q| p.0.total_cmp(&q.0));
            members.dedup_by(|p, q| p.0 == q.0);
            let truth_axis = along == "shift" || along == "scale";
            let first_truth = at[7] == 0 && at[8] == 0;
            let misspecified = members.iter().any(|&(_, k)| {
                let b = grid.decode(k);
                grid.values[7][b[7]] != 0.0 || grid.values[8][b[8]] != 1.0
            });
            let mut quantities = Vec::new();
            if !truth_axis && first_truth {
                quantities.push(Quantity::Delta);
            }
            if truth_axis || misspecified {
                quantities.push(Quantity::Advantage);
            }
            if !quantities.is_empty() {
                out.push(Slice {
                    along,
                    quantities,
                    members,
                });
            }
        }
    }
    Ok(out)
}

/// `template` with its value on the axis `along` set to `x`.
fn at(template: &Setting, along: &str, x: f64) -> Setting {
    template.with(along, x)
}

/// The tie tolerance of a quantity of condition `f`: 1e-9 of its payoffs' scale over T steps.
fn tolerance(f: &Setting) -> f64 {
    offswitch::TIE_RTOL * f.scale()
}

fn sign(y: f64, tol: f64) -> i8 {
    if y.abs() <= tol {
        0
    } else if y > 0.0 {
        1
    } else {
        -1
    }
}

/// Where the mean of `q` crosses zero along the slice's values for the families `fams` (with `ys` its values
/// there): Brent roots between grid points of opposite signs, and runs of grid points where it is zero within
/// tolerance (ties).
fn crossings(
    plan: &Plan,
    q: Quantity,
    along: &str,
    fams: &[Setting],
    xs: &[f64],
    ys: &[f64],
) -> Vec<Crossing> {
    let n = plan.frontier_environments;
    let range = xs[xs.len() - 1] - xs[0];
    let signs: Vec<i8> = ys
        .iter()
        .zip(fams)
        .map(|(y, f)| sign(*y, tolerance(f)))
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < xs.len() {
        if signs[i] == 0 {
            let start = i;
            while i + 1 < xs.len() && signs[i + 1] == 0 {
                i += 1;
            }
            // A single grid point between opposite signs is where the quantity changes sign, on the grid.
            let point = start == i
                && start > 0
                && i + 1 < xs.len()
                && signs[start - 1] != 0
                && signs[i + 1] == -signs[start - 1];
            out.push(Crossing {
                tie: !point,
                x: 0.5 * (xs[start] + xs[i]),
                lo: start,
                hi: i,
            });
        } else if i + 1 < xs.len() && signs[i + 1] == -signs[i] {
            let g = |x: f64| over_environments(plan, &at(&fams[i], along, x), n, q.advantage()).0;
            // Averaged over several environments the root is an estimate whose standard error is far above
            // 1e-6 of the range; over one (every environment the same game) it is exact.
            let rel = if n == 1 { 1e-10 } else { 1e-6 };
            if let Some(r) = numerics::brent(g, xs[i], xs[i + 1], rel * range) {
                out.push(Crossing {
                    tie: false,
                    x: r,
                    lo: i,
                    hi: i + 1,
                });
            }
        }
        i += 1;
    }
    out
}

/// A zero of a quantity along a slice: where it changes sign, between grid points `lo` and `hi` (a root) or at
/// the grid point `lo` = `hi` between opposite signs; or a tie, a run of grid points `lo..=hi` where it is zero
/// within tolerance without changing sign across them.
#[derive(Debug, Clone, Copy)]
struct Crossing {
    tie: bool,
    x: f64,
    lo: usize,
    hi: usize,
}

impl Crossing {
    /// Whether the quantity changes sign here.
    fn is_point(&self) -> bool {
        !self.tie
    }

    /// The frontier's `kind`: root (found by Brent's method), grid (a sign change at a grid point), or tie.
    fn kind(&self) -> &'static str {
        match (self.tie, self.lo == self.hi) {
            (true, _) => "tie",
            (false, true) => "grid",
            (false, false) => "root",
        }
    }
}

/// The closed-form one-shot frontier of HM 2017 for Δ, where the one-step game is the off-switch game (no
/// offsets, irreversible, a Boltzmann human): Δ = 0 at σ² = 2|μ|β when c = 0, and at c = Δ(c = 0) along c;
/// NaN elsewhere. `f` is the family at the root.
fn law(along: &str, f: &Setting, root: f64) -> f64 {
    let Setting::Chain(chain) = f else {
        return f64::NAN;
    };
    let f = &chain.dials;
    if f.spread != 0.0 || f.irreversible < 1.0 {
        return f64::NAN;
    }
    let beta = match f.human {
        Human::Boltzmann { beta } if beta > 0.0 && beta.is_finite() => beta,
        _ => return f64::NAN,
    };
    match along {
        "sigma" if f.ask_cost == 0.0 && f.mu != 0.0 => (2.0 * f.mu.abs() * beta).sqrt(),
        "beta" if f.ask_cost == 0.0 && f.mu != 0.0 => f.sigma * f.sigma / (2.0 * f.mu.abs()),
        "mu" if f.ask_cost == 0.0 => f.sigma * f.sigma / (2.0 * beta) * root.signum(),
        "ask_cost" => offswitch::values(
            &Prior::Normal {
                mu: f.mu,
                sigma: f.sigma,
            },
            &f.human,
            0.0,
        )
        .map(|v| v.delta)
        .unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// The frontier rows of one slice (a job's output).
pub(super) fn run(plan: &Plan, s: &Slice) -> Result<Table> {
    let n = plan.frontier_environments;
    let along = s.along;
    let xs: Vec<f64> = s.members.iter().map(|m| m.0).collect();
    let fams: Vec<Setting> = s
        .members
        .iter()
        .map(|&(_, k)| plan.conditions[k].setting.clone())
        .collect();
    let human_of = |f: &Setting, k: usize| {
        if along == "beta" {
            f.human().label()
        } else {
            plan.conditions[k].human.clone()
        }
    };
    let mut t = Table::new(&frontier_columns());
    for &q in &s.quantities {
        let mean = |f: &Setting| over_environments(plan, f, n, q.advantage()).0;
        let ys: Vec<f64> = fams.iter().map(mean).collect();
        // The same slice with the first step alone: its zeros, for the one-shot column (computed once).
        let mut one_step: Option<Vec<f64>> = None;
        for c in crossings(plan, q, along, &fams, &xs, &ys) {
            let f = at(&fams[c.lo], along, c.x);
            let nan = f64::NAN;
            let (mut se, mut one_shot, mut law_x) = (nan, nan, nan);
            if c.kind() == "root" {
                // The root's standard error: the environments' spread at the root over the slope there.
                let (_, vals) = over_environments(plan, &f, n, q.advantage());
                let se_mean = numerics::Estimate::of_sample(&vals).std_err;
                let h = 1e-4 * (xs[c.hi] - xs[c.lo]);
                let (x1, x2) = ((c.x - h).max(xs[c.lo]), (c.x + h).min(xs[c.hi]));
                let slope = (mean(&at(&fams[c.lo], along, x2)) - mean(&at(&fams[c.lo], along, x1)))
                    / (x2 - x1);
                se = if slope != 0.0 {
                    se_mean / slope.abs()
                } else {
                    f64::INFINITY
                };
            }
            if c.is_point() {
                one_shot = if f.steps() == 1 {
                    c.x
                } else {
                    let zeros = one_step.get_or_insert_with(|| {
                        let ones: Vec<Setting> =
                            fams.iter().map(|f| f.with("steps", 1.0)).collect();
                        let ys1: Vec<f64> = ones.iter().map(mean).collect();
                        crossings(plan, q, along, &ones, &xs, &ys1)
                            .into_iter()
                            .filter(Crossing::is_point)
                            .map(|c| c.x)
                            .collect()
                    });
                    zeros
                        .iter()
                        .copied()
                        .min_by(|a, b| (a - c.x).abs().total_cmp(&(b - c.x).abs()))
                        .unwrap_or(nan)
                };
                if q == Quantity::Delta {
                    law_x = law(along, &f, c.x);
                }
            }
            // The quantity's sign just above the crossing along the axis (NaN when the grid has no such point).
            let sign_at = |i: usize| sign(ys[i], tolerance(&fams[i])) as f64;
            let above = match c.kind() {
                "root" => sign_at(c.hi),
                "grid" => sign_at(c.hi + 1),
                _ => nan,
            };
            let z = numerics::Z95;
            let mut r = family_cells(&f, &human_of(&f, s.members[c.lo].1));
            r.extend([
                Cell::Text(q.name().into()),
                Cell::Text(along.into()),
                Cell::Text(c.kind().into()),
            ]);
            r.extend(
                [
                    c.x,
                    xs[c.lo],
                    xs[c.hi],
                    ys[c.lo],
                    ys[c.hi],
                    se,
                    c.x - z * se,
                    c.x + z * se,
                    one_shot,
                    law_x,
                    above,
                    n as f64,
                ]
                .map(Cell::Num),
            );
            t.push(r);
        }
    }
    Ok(t)
}

/// Refuses a frontier job's table that is not slice `s`'s.
pub(super) fn check_part(s: &Slice, t: &Table) -> std::result::Result<(), String> {
    super::super::check_columns(t, &frontier_columns())?;
    for i in 0..t.rows.len() {
        if t.text(i, "along") != s.along {
            return Err(format!(
                "row {i} is along {}, not {}",
                t.text(i, "along"),
                s.along
            ));
        }
    }
    Ok(())
}

/// The frontier jobs' rows, in job order.
pub(super) fn concatenate(parts: &[Table], _environments: usize) -> Table {
    let mut t = Table::new(&frontier_columns());
    for p in parts {
        t.rows.extend(p.rows.iter().cloned());
    }
    t
}

/// An action profile's name: the slice's fixed conditions, e.g. `steps=4,human=boltzmann:0.5,mu=0.25,…` (Δ_seq
/// does not depend on the truth, so a `delta` row leaves shift and scale out).
fn profile(f: &Table, i: usize, along: &str) -> String {
    let mut parts = Vec::new();
    let truth = f.text(i, "quantity") != "delta";
    for c in [
        "steps",
        "human",
        "mu",
        "sigma",
        "ask_cost",
        "irreversible",
        "presence",
        "shift",
        "scale",
    ] {
        if c == along
            || (along == "beta" && c == "human")
            || (!truth && (c == "shift" || c == "scale"))
        {
            continue;
        }
        let v = match f.num(i, c) {
            Some(x) if c != "human" => fmt_num(x),
            _ => f.text(i, c),
        };
        parts.push(format!("{c}={v}"));
    }
    parts.join(",")
}

/// thresholds.csv: the deferral boundaries (roots of Δ_seq) per action profile and axis, with the one-shot
/// boundary and, along σ, both as multiples of |μ| and their ratio (the inflation of σ that makes the one-shot
/// game defer where the sequential one does).
pub(super) fn thresholds(f: &Table, cfg: &PopulationStudy) -> Table {
    let mut t = Table::new(&THRESHOLDS_COLUMNS);
    let mut seen = std::collections::HashSet::new();
    for i in 0..f.rows.len() {
        if f.text(i, "quantity") != "delta" || f.text(i, "kind") == "tie" {
            continue;
        }
        let along = f.text(i, "along");
        let p = profile(f, i, &along);
        if !seen.insert((p.clone(), along.clone())) {
            continue;
        }
        let num = |c: &str| f.num(i, c).unwrap_or(f64::NAN);
        let (b, one) = (num("value"), num("one_shot"));
        let mu = num("mu").abs();
        let (over, one_over, inflation) = if along == "sigma" && mu > 0.0 {
            (b / mu, one / mu, one / b)
        } else {
            (f64::NAN, f64::NAN, f64::NAN)
        };
        let side = match num("above") {
            x if x > 0.0 => "defer above",
            x if x < 0.0 => "defer below",
            _ => "unknown",
        };
        let mut row: Vec<Cell> = vec![p.into(), along.clone().into(), side.into()];
        row.extend(
            [
                b,
                num("value_ci_low"),
                num("value_ci_high"),
                one,
                num("law"),
                over,
                one_over,
                inflation,
                num("steps"),
                num("mu"),
                num("sigma"),
            ]
            .map(Cell::Num),
        );
        row.push(f.text(i, "human").into());
        row.extend(
            [
                num("beta"),
                num("ask_cost"),
                num("irreversible"),
                num("presence"),
                cfg.spread,
                cfg.undo_cost,
                num("environments"),
            ]
            .map(Cell::Num),
        );
        row.push(cfg.family.clone().into());
        t.push(row);
    }
    t
}

/// The frontier's claims: with one step, the roots land on the closed-form law where it applies.
pub(super) fn claims(f: &Table) -> Vec<Verdict> {
    let mut worst: f64 = 0.0;
    let mut count = 0;
    for i in 0..f.rows.len() {
        let law = f.num(i, "law").unwrap_or(f64::NAN);
        if !law.is_finite() {
            continue;
        }
        // The one-step root of the slice (none when the law lies outside the grid's range).
        let one = f.num(i, "one_shot").unwrap_or(f64::NAN);
        if one.is_nan() {
            continue;
        }
        worst = worst.max((one - law).abs() / law.abs().max(1.0));
        count += 1;
    }
    if count == 0 {
        return Vec::new();
    }
    vec![(
        "With one step the frontier found by root finding is the off-switch game's closed form (Δ = 0 at σ² = 2|μ|β with c = 0; at c = Δ(c = 0) along c)".to_string(),
        worst <= 1e-6,
        format!("largest relative difference {} over {count} crossing(s)", fmt_num(worst)),
    )]
}

/// summary.md's frontier section: every root (the first 40), with its one-shot counterpart and the law.
pub(super) fn summary(f: &Table, axes: &[String]) -> String {
    if axes.is_empty() {
        return String::new();
    }
    let roots: Vec<usize> = (0..f.rows.len())
        .filter(|&i| f.text(i, "kind") != "tie")
        .collect();
    let mut md = format!(
        "## The frontier\n\nWhere the mean over the first {} environments of Δ_seq (the Bayes agent's first-step incentive to defer) or of the deferring agent's advantage over acting (under the truth) changes sign, along {}: {} root(s) (frontier.csv; ties within tolerance are listed there too). `one-shot` is the same slice's root with the first step alone; `law` the closed form where the one-step game is HM 2017's; `moved` is (root − one-shot)/one-shot.\n\n| quantity | along | T | slice | root ± 95% | one-shot | law | moved |\n|---|---|---|---|---|---|---|---|\n",
        f.rows
            .first()
            .and_then(|_| f.num(0, "environments"))
            .map(fmt_num)
            .unwrap_or_default(),
        axes.join(", "),
        roots.len()
    );
    for &i in roots.iter().take(40) {
        let along = f.text(i, "along");
        let num = |c: &str| f.num(i, c).unwrap_or(f64::NAN);
        let (r, one) = (num("value"), num("one_shot"));
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} ± {} | {} | {} | {} |",
            f.text(i, "quantity"),
            along,
            fmt_num(num("steps")),
            profile(f, i, &along),
            fmt_num(r),
            fmt_num(numerics::Z95 * num("std_err")),
            fmt_num(one),
            fmt_num(num("law")),
            if one.is_finite() && one != 0.0 {
                format!("{:+.1}%", 100.0 * (r - one) / one)
            } else {
                "—".into()
            }
        );
    }
    if roots.len() > 40 {
        let _ = writeln!(md, "\n… {} more roots in frontier.csv.", roots.len() - 40);
    }
    md.push('\n');
    md
}
