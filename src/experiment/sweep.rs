//! Grids of off-switch games and the frontier where deferring stops paying.

use std::collections::BTreeMap;
use std::sync::Arc;

use rayon::prelude::*;

use super::config::{Axis, Sweep};
use super::kind::Experiment;
use super::table::{Cell, Table};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::Human;
use crate::numerics;
use crate::offswitch::{self, Move, Values};

/// The most games one sweep may hold. The grid is computed from the game's index and the rows stream from the
/// jobs to results.csv, so a run holds a batch of jobs, the frontier's 9 bytes a game and the checks, not the
/// table: the largest grid stays within [`crate::limits::MEMORY_BUDGET`] (see BENCHMARKS.md for the measured
/// peak).
pub const MAX_POINTS: usize = 10_000_000;

/// The most games whose results a run holds as a table in memory — for its plots, or for
/// [`crate::experiment::compute`] — about 1.2 KB a game (1.26 GB peak RSS measured for a 1000 × 1000 grid held
/// whole, `/usr/bin/time -f %M`).
pub const MAX_HELD_POINTS: usize = 1_000_000;

/// The numeric parameters a sweep can vary.
pub const PARAMS: [&str; 5] = ["mu", "sigma", "beta", "p", "cost"];

/// One game of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The prior kind (normal, uniform, two-point) or a fixed prior SPEC.
    pub prior: String,
    /// The human kind (rational, boltzmann, p-rational, chance) or a fixed human SPEC.
    pub human: String,
    /// The prior mean μ (a normal prior).
    pub mu: Option<f64>,
    /// The prior sd σ (a normal prior).
    pub sigma: Option<f64>,
    /// The Boltzmann human's β.
    pub beta: Option<f64>,
    /// The p-rational human's p.
    pub p: Option<f64>,
    /// The cost of asking c.
    pub cost: f64,
    /// A fixed prior SPEC, read once for the whole grid (a `csv:` prior may hold millions of samples).
    pub fixed: Option<Arc<Prior>>,
}

impl Point {
    /// The value of a numeric parameter.
    pub fn get(&self, name: &str) -> Option<f64> {
        match name {
            "mu" => self.mu,
            "sigma" => self.sigma,
            "beta" => self.beta,
            "p" => self.p,
            "cost" => Some(self.cost),
            _ => None,
        }
    }

    fn set(&mut self, name: &str, x: f64) {
        match name {
            "mu" => self.mu = Some(x),
            "sigma" => self.sigma = Some(x),
            "beta" => self.beta = Some(x),
            "p" => self.p = Some(x),
            _ => self.cost = x,
        }
    }

    /// The prior this point describes.
    pub fn build_prior(&self) -> Result<Arc<Prior>> {
        if let Some(p) = &self.fixed {
            return Ok(p.clone());
        }
        let (mu, sigma) = (self.mu.unwrap_or(0.0), self.sigma.unwrap_or(0.0));
        let r = match self.prior.as_str() {
            "normal" => Prior::normal(mu, sigma),
            "uniform" => Prior::uniform_mean_sd(mu, sigma),
            "two-point" => Prior::two_point(mu, sigma),
            spec => Prior::parse(spec),
        };
        r.map(Arc::new).map_err(|e| at_point(e, self))
    }

    /// The human this point describes.
    pub fn build_human(&self) -> Result<Human> {
        let r = match self.human.as_str() {
            "rational" => Ok(Human::Rational),
            "boltzmann" => Human::boltzmann(self.beta.unwrap_or(0.0)),
            "p-rational" => Human::p_rational(self.p.unwrap_or(1.0)),
            "chance" => Human::chance(self.p.unwrap_or(0.5)),
            spec => Human::parse(spec),
        };
        r.map_err(|e| at_point(e, self))
    }

    /// The game's values.
    pub fn values(&self) -> Result<Values> {
        offswitch::values(&*self.build_prior()?, &self.build_human()?, self.cost)
    }
}

fn at_point(e: Error, p: &Point) -> Error {
    match e {
        Error::Invalid { field, message } => {
            let key = field.rsplit('.').next().unwrap_or(&field).to_string();
            Error::invalid(
                format!("sweep.{key}"),
                format!("{message} (at {})", describe(p)),
            )
        }
        e => e,
    }
}

fn describe(p: &Point) -> String {
    let mut s = format!("prior={} human={}", p.prior, p.human);
    for n in PARAMS {
        if let Some(x) = p.get(n) {
            s += &format!(" {n}={x}");
        }
    }
    s
}

fn prior_params(kind: &str) -> bool {
    matches!(kind, "normal" | "uniform" | "two-point")
}

fn human_param(kind: &str) -> Option<&'static str> {
    match kind {
        "boltzmann" => Some("beta"),
        "p-rational" | "chance" => Some("p"),
        _ => None,
    }
}

/// The sweep's axes as value lists (missing axes are `None`).
pub fn axes(s: &Sweep) -> Result<BTreeMap<&'static str, Vec<f64>>> {
    let mut m = BTreeMap::new();
    let pairs: [(&'static str, &Option<Axis>); 5] = [
        ("mu", &s.mu),
        ("sigma", &s.sigma),
        ("beta", &s.beta),
        ("p", &s.p),
        ("cost", &s.cost),
    ];
    for (name, a) in pairs {
        if let Some(a) = a {
            m.insert(name, a.values(&format!("sweep.{name}"))?);
        }
    }
    Ok(m)
}

/// The number of games in a sweep's grid, counted without building it.
pub fn grid_size(s: &Sweep) -> Result<f64> {
    Ok(count(s, &axes(s)?))
}

/// The number of games of a sweep with these axis values.
fn count(s: &Sweep, ax: &BTreeMap<&'static str, Vec<f64>>) -> f64 {
    // In floating point: the product of five axes of up to 10^6 values each overflows an integer.
    let len = |name: &str| ax.get(name).map_or(1.0, |v| v.len() as f64);
    s.prior
        .to_vec()
        .iter()
        .map(|pk| {
            let prior = if prior_params(pk) {
                len("mu") * len("sigma")
            } else {
                1.0
            };
            s.human
                .to_vec()
                .iter()
                .map(|hk| prior * human_param(hk).map_or(1.0, len) * len("cost"))
                .sum::<f64>()
        })
        .sum()
}

/// Expands a sweep into its grid of games (validated: every point builds), in a fixed order.
pub fn expand(s: &Sweep) -> Result<Vec<Point>> {
    let g = Grid::new(s)?;
    Ok(g.points(0..g.len()))
}

/// One (prior kind, human kind) block of a grid: its axes, in the order the points run (μ, σ, the human's
/// parameter, cost; cost fastest).
#[derive(Debug, Clone)]
struct Block {
    prior: String,
    human: String,
    fixed: Option<Arc<Prior>>,
    /// A fixed prior's mean and sd (the `mu`, `sigma` columns of its rows).
    fixed_moments: Option<(f64, f64)>,
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    hparam: Option<&'static str>,
    hvals: Vec<f64>,
    /// The human's `beta` and `p` columns for each of `hvals`.
    hfill: Vec<(Option<f64>, Option<f64>)>,
    costs: Vec<f64>,
    start: usize,
}

impl Block {
    fn len(&self) -> usize {
        self.mus.len() * self.sigmas.len() * self.hvals.len() * self.costs.len()
    }

    /// The point at (μ, σ, human parameter, cost) indices, before the fixed prior's and the human's columns are
    /// filled in.
    fn raw(&self, m: usize, s: usize, h: usize, c: usize) -> Point {
        let (mu, sigma) = (self.mus[m], self.sigmas[s]);
        let mut pt = Point {
            prior: self.prior.clone(),
            human: self.human.clone(),
            mu: None,
            sigma: None,
            beta: None,
            p: None,
            cost: self.costs[c],
            fixed: self.fixed.clone(),
        };
        if !mu.is_nan() {
            pt.mu = Some(mu);
            pt.sigma = Some(sigma);
        }
        if let Some(name) = self.hparam {
            pt.set(name, self.hvals[h]);
        }
        pt
    }
}

/// The games of a sweep, computed from their index rather than held: a grid of 10⁶ games costs its axes, not
/// 10⁶ points. Every point is validated when the grid is built, in the order the points run, so the first
/// invalid one is reported as before anything is computed.
#[derive(Debug, Clone)]
pub struct Grid {
    blocks: Vec<Block>,
    len: usize,
}

impl Grid {
    /// Lays out and validates the grid of `s`.
    pub fn new(s: &Sweep) -> Result<Grid> {
        let ax = axes(s)?;
        let priors = s.prior.to_vec();
        let humans = s.human.to_vec();
        if priors.is_empty() || humans.is_empty() {
            return Err(Error::invalid(
                "sweep.prior",
                "give at least one prior and one human kind",
            ));
        }
        let need = |name: &'static str, why: &str| -> Result<Vec<f64>> {
            ax.get(name)
                .cloned()
                .ok_or_else(|| Error::invalid(format!("sweep.{name}"), format!("missing: {why}")))
        };
        // The grid's size before it is laid out: a config must not be able to exhaust memory.
        let total = count(s, &ax);
        if total > MAX_POINTS as f64 {
            return Err(Error::invalid(
                "sweep",
                format!(
                    "the grid has {total} games, more than the {MAX_POINTS} one run computes within its 2 GB; split it into several configs (e.g. one per prior or mu)"
                ),
            ));
        }
        let costs = ax.get("cost").cloned().unwrap_or_else(|| vec![0.0]);
        let mut blocks = Vec::new();
        let mut start = 0;
        for pk in &priors {
            let (mus, sigmas) = if prior_params(pk) {
                (
                    need("mu", &format!("prior \"{pk}\" needs `mu` (its mean)"))?,
                    need(
                        "sigma",
                        &format!("prior \"{pk}\" needs `sigma` (its standard deviation)"),
                    )?,
                )
            } else {
                (vec![f64::NAN], vec![f64::NAN])
            };
            // A fixed prior is read and checked once, then shared by every point.
            let mut fixed: Option<Arc<Prior>> = None;
            for hk in &humans {
                let hparam = human_param(hk);
                let hvals = match hparam {
                    Some(name) => need(name, &format!("human \"{hk}\" needs `{name}`"))?,
                    None => vec![f64::NAN],
                };
                let mut b = Block {
                    prior: pk.clone(),
                    human: hk.clone(),
                    fixed: fixed.clone(),
                    fixed_moments: None,
                    mus: mus.clone(),
                    sigmas: sigmas.clone(),
                    hparam,
                    hvals,
                    hfill: vec![],
                    costs: costs.clone(),
                    start,
                };
                // Validation in the points' order: the first game's prior, every human parameter and cost with
                // it, then the remaining priors (humans and costs do not depend on the prior).
                let mut first = true;
                for m in 0..b.mus.len() {
                    for si in 0..b.sigmas.len() {
                        let pt = b.raw(m, si, 0, 0);
                        let prior = pt.build_prior()?;
                        if !prior_params(pk) && b.fixed.is_none() {
                            fixed = Some(prior.clone());
                            b.fixed = fixed.clone();
                        }
                        if b.fixed.is_some() {
                            b.fixed_moments = Some((prior.mean(), prior.sd()));
                        }
                        if !first {
                            continue;
                        }
                        first = false;
                        for h in 0..b.hvals.len() {
                            let pt = b.raw(m, si, h, 0);
                            let fill = match pt.build_human()? {
                                Human::Boltzmann { beta } => (Some(beta), pt.p),
                                Human::PRational { p } | Human::Chance { p } => (pt.beta, Some(p)),
                                Human::Rational | Human::ErrorRates { .. } => (pt.beta, pt.p),
                            };
                            b.hfill.push(fill);
                            if h == 0 {
                                for &cost in &b.costs {
                                    if !(cost.is_finite() && cost >= 0.0) {
                                        return Err(Error::invalid(
                                            "sweep.cost",
                                            format!("must be >= 0, got {cost}"),
                                        ));
                                    }
                                }
                            }
                        }
                    }
                }
                // An empty block (an axis given as `[]`) holds no game; leaving it out keeps the starts distinct.
                if b.len() > 0 {
                    start += b.len();
                    blocks.push(b);
                }
            }
        }
        Ok(Grid { blocks, len: start })
    }

    /// The number of games.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the grid holds no game.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Game `i`, in grid order.
    pub fn point(&self, i: usize) -> Point {
        let b = match self.blocks.binary_search_by(|b| b.start.cmp(&i)) {
            Ok(k) => &self.blocks[k],
            Err(k) => &self.blocks[k - 1],
        };
        let mut k = i - b.start;
        let c = k % b.costs.len();
        k /= b.costs.len();
        let h = k % b.hvals.len();
        k /= b.hvals.len();
        let si = k % b.sigmas.len();
        let m = k / b.sigmas.len();
        let mut pt = b.raw(m, si, h, c);
        if pt.mu.is_none()
            && let Some((mean, sd)) = b.fixed_moments
        {
            pt.mu = Some(mean);
            pt.sigma = Some(sd);
        }
        (pt.beta, pt.p) = b.hfill[h];
        pt
    }

    /// Games `range` in grid order.
    pub fn points(&self, range: std::ops::Range<usize>) -> Vec<Point> {
        range.map(|i| self.point(i)).collect()
    }
}

/// The columns of results.csv.
pub const RESULT_COLUMNS: [&str; 18] = [
    "prior",
    "human",
    "mu",
    "sigma",
    "beta",
    "p",
    "cost",
    "v_act",
    "v_wait",
    "v_off",
    "delta",
    "decision",
    "tie",
    "tied",
    "p_allow",
    "e_pi_dot",
    "pr_correction",
    "method",
];

/// The number of a point's own columns, the first of results.csv.
pub const KEY_COLUMNS: usize = 7;

/// The point's own columns: the first [`KEY_COLUMNS`] of results.csv.
pub fn key_cells(p: &Point) -> Vec<Cell> {
    vec![
        p.prior.clone().into(),
        p.human.clone().into(),
        p.mu.into(),
        p.sigma.into(),
        p.beta.into(),
        p.p.into(),
        p.cost.into(),
    ]
}

fn result_row(p: &Point, v: &Values) -> Vec<Cell> {
    let t2 = v.theorem2.as_ref();
    let mut row = key_cells(p);
    row.extend([
        v.v_act.into(),
        v.v_wait.into(),
        v.v_off.into(),
        v.delta.into(),
        v.decision.as_str().into(),
        v.tie.into(),
        v.tied
            .iter()
            .map(Move::as_str)
            .collect::<Vec<_>>()
            .join("|")
            .into(),
        v.p_allow.into(),
        t2.and_then(|t| t.e_pi_dot).into(),
        t2.map(|t| t.pr_correction).into(),
        v.method.into(),
    ]);
    row
}

/// The results table's shape before anything is computed: one row per point with the swept parameters filled
/// in and every computed column 0 — what a `[[plot]]` entry can be checked against before the run.
pub fn key_table(grid: &Grid) -> Table {
    let mut t = Table::new(&RESULT_COLUMNS);
    for i in 0..grid.len() {
        let mut row = key_cells(&grid.point(i));
        row.resize(RESULT_COLUMNS.len(), Cell::Num(0.0));
        t.push(row);
    }
    t
}

/// Points per job of a sweep: the unit of sharding and of resuming a killed run.
pub const CHUNK: usize = 512;

/// The text columns of results.csv (the rest are numbers, booleans or empty).
pub const TEXT_COLUMNS: [&str; 5] = ["prior", "human", "decision", "tied", "method"];

/// The number of jobs a grid of `n` points splits into.
pub fn job_count(n: usize) -> usize {
    n.div_ceil(CHUNK)
}

/// The results rows of job `j`: points `j·CHUNK ..` in grid order.
pub fn run_job(grid: &Grid, j: usize) -> Result<Table> {
    let mut t = Table::new(&RESULT_COLUMNS);
    for p in &grid.points(j * CHUNK..((j + 1) * CHUNK).min(grid.len())) {
        t.push(result_row(p, &p.values()?));
    }
    Ok(t)
}

/// A sweep as an [`Experiment`]: its grid in jobs of [`CHUNK`] points, and the axis its frontier is found along
/// (with a `[frontier]` table).
pub struct SweepKind {
    grid: Grid,
    along: Option<String>,
}

impl SweepKind {
    /// Lays out the grid of `s` (validating it).
    pub fn new(s: &Sweep, along: Option<String>) -> Result<SweepKind> {
        Ok(SweepKind {
            grid: Grid::new(s)?,
            along,
        })
    }
}

impl Experiment for SweepKind {
    fn jobs(&self) -> usize {
        job_count(self.grid.len())
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        run_job(&self.grid, j)
    }

    fn rows(&self) -> usize {
        self.grid.len()
    }

    fn key_table(&self) -> Table {
        key_table(&self.grid)
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &TEXT_COLUMNS
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let mut t = Table::new(&RESULT_COLUMNS);
        t.rows = parts.into_iter().flat_map(|p| p.rows).collect();
        Ok(t)
    }

    fn streams(&self) -> bool {
        true
    }

    /// A few jobs per thread: a sweep's jobs cost about the same.
    fn batch(&self) -> usize {
        16 * rayon::current_num_threads().max(1)
    }

    /// Its columns and rows: the grid points of the job, in order.
    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        let columns = &RESULT_COLUMNS;
        if t.columns != columns {
            return Err(format!("columns {:?}, expected {columns:?}", t.columns));
        }
        let mine = self
            .grid
            .points(j * CHUNK..((j + 1) * CHUNK).min(self.grid.len()));
        if t.rows.len() != mine.len() {
            return Err(format!("{} rows, expected {}", t.rows.len(), mine.len()));
        }
        for (i, (row, want)) in t.rows.iter().zip(&mine).enumerate() {
            if row[..KEY_COLUMNS] != key_cells(want)[..] {
                return Err(format!(
                    "row {} is not grid point {} of this run",
                    i + 1,
                    j * CHUNK + i + 1
                ));
            }
        }
        Ok(())
    }

    fn frontier(&self, probes: Option<&Probes>) -> Result<Option<Table>> {
        match (&self.along, probes) {
            (Some(along), Some(p)) => Ok(Some(frontier(&self.grid, p, along)?)),
            _ => Ok(None),
        }
    }

    /// The frontier's roots and ties (the first 40 rows).
    fn summary_section(
        &self,
        _results: Option<&Table>,
        frontier: Option<&Table>,
        _extra: &[Table],
    ) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let Some(f) = frontier else {
            return s;
        };
        let roots = (0..f.rows.len())
            .filter(|&i| f.text(i, "kind") == "root")
            .count();
        let ties = f.rows.len() - roots;
        let _ = writeln!(
            s,
            "## Frontier (where Δ changes sign, along `{}`)\n\n{roots} roots by Brent's method, {ties} tie stretches (|Δ| within tolerance).\n",
            self.along.as_deref().unwrap_or(""),
        );
        let shown: Vec<usize> = (0..f.rows.len()).take(40).collect();
        s += &f.to_markdown(
            &[
                "prior", "human", "mu", "sigma", "beta", "p", "cost", "kind", "value", "left",
                "right",
            ],
            &shown,
        );
        if f.rows.len() > shown.len() {
            let _ = writeln!(
                s,
                "\n… {} more rows in frontier.csv.",
                f.rows.len() - shown.len()
            );
        }
        s += "\n";
        s
    }
}

/// What the frontier needs of every evaluated point, read from the results as they stream past (as written to
/// results.csv, so a merged sharded run finds the same frontier): Δ and the decision, 9 bytes a game.
#[derive(Debug, Default)]
pub struct Probes {
    delta: Vec<f64>,
    decision: Vec<u8>,
    /// The distinct decisions, in the order first seen.
    names: Vec<String>,
}

impl Probes {
    /// Appends the rows of a results table (the next rows of the grid, in order).
    pub fn add(&mut self, t: &Table) -> Result<()> {
        let (Some(d), Some(m)) = (t.col("delta"), t.col("decision")) else {
            return Err(Error::invalid(
                "results",
                "no delta or decision column to find a frontier from",
            ));
        };
        for row in &t.rows {
            let delta = row[d].num().ok_or_else(|| {
                Error::invalid(
                    "results",
                    format!("row {} has no delta", self.delta.len() + 1),
                )
            })?;
            let name = row[m].render();
            let k = match self.names.iter().position(|n| *n == name) {
                Some(k) => k,
                None if self.names.len() < usize::from(u8::MAX) => {
                    self.names.push(name);
                    self.names.len() - 1
                }
                None => {
                    return Err(Error::invalid(
                        "results",
                        "more than 255 distinct decisions",
                    ));
                }
            };
            self.delta.push(delta);
            self.decision.push(k as u8);
        }
        Ok(())
    }

    /// The number of points read.
    pub fn len(&self) -> usize {
        self.delta.len()
    }

    /// Whether no point was read.
    pub fn is_empty(&self) -> bool {
        self.delta.is_empty()
    }

    fn decision(&self, i: usize) -> &str {
        &self.names[usize::from(self.decision[i])]
    }
}

/// The points of one block of a grid that differ only in one parameter, `count` such slices of `len` points: slice
/// `k` is points `first(k) + i·stride`, `i < len` (see [`Grid::slices`]).
#[derive(Debug, Clone, Copy)]
pub struct Slices {
    start: usize,
    count: usize,
    len: usize,
    stride: usize,
}

impl Slices {
    /// The number of slices.
    pub fn count(&self) -> usize {
        self.count
    }

    /// The number of points in each slice.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the slices are empty (never, for a block of a grid).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The grid indices of slice `k`, in grid order.
    pub fn slice(&self, k: usize) -> impl Iterator<Item = usize> + use<> {
        let (stride, first) = (
            self.stride,
            self.start + (k / self.stride) * self.len * self.stride + k % self.stride,
        );
        (0..self.len).map(move |i| first + i * stride)
    }
}

impl Grid {
    /// The grid's slices along `along`: in each (prior, human) block, the sets of points that differ only in
    /// `along`, in the order their first points run. Where the block's prior or human fixes `along` (a fixed
    /// prior's mean, a `boltzmann:2` human's β) every point is a slice of its own; where its points have no such
    /// parameter (β of a rational human) the block has none.
    pub fn slices(&self, along: &str) -> Vec<Slices> {
        self.blocks
            .iter()
            .filter_map(|b| {
                let dims = [b.mus.len(), b.sigmas.len(), b.hvals.len(), b.costs.len()];
                let varying = match along {
                    "mu" | "sigma" if b.mus[0].is_nan() => b.fixed_moments.map(|_| None),
                    "mu" => Some(Some(0)),
                    "sigma" => Some(Some(1)),
                    "beta" | "p" if b.hparam == Some(along) => Some(Some(2)),
                    "beta" => b.hfill[0].0.map(|_| None),
                    "p" => b.hfill[0].1.map(|_| None),
                    _ => Some(Some(3)),
                };
                let (len, stride) = match varying? {
                    Some(d) => (dims[d], dims[d + 1..].iter().product()),
                    None => (1, 1),
                };
                Some(Slices {
                    start: b.start,
                    count: b.len() / len,
                    len,
                    stride,
                })
            })
            .collect()
    }
}

/// The columns of frontier.csv.
pub const FRONTIER_COLUMNS: [&str; 16] = [
    "prior", "human", "mu", "sigma", "beta", "p", "cost", "along", "kind", "value", "lo", "hi",
    "left", "right", "delta_lo", "delta_hi",
];

/// Finds, in every slice of the grid along `along` (see [`Grid::slices`]), where Δ changes sign: brackets from
/// the grid, then Brent's method on the exact Δ (to 1e-12 of the axis range). Stretches where |Δ| is within the
/// tie tolerance are reported as `tie` intervals rather than a root, so rounding never picks a side.
pub fn frontier(grid: &Grid, probes: &Probes, along: &str) -> Result<Table> {
    if !PARAMS.contains(&along) {
        return Err(Error::invalid(
            "frontier.along",
            format!("must be one of {PARAMS:?}, got {along:?}"),
        ));
    }
    if probes.len() != grid.len() {
        return Err(Error::invalid(
            "results",
            format!("{} rows for a grid of {} points", probes.len(), grid.len()),
        ));
    }
    let sets = grid.slices(along);
    if sets.iter().all(|s| s.len() < 2) {
        return Err(Error::invalid(
            "frontier.along",
            format!(
                "the axis `{along}` needs at least two values in the sweep to locate a frontier"
            ),
        ));
    }
    // Slices in parallel, keeping only those with a row (a grid of 10⁷ single-point slices holds no 10⁷ lists).
    let found: Vec<Vec<Vec<Cell>>> = sets
        .par_iter()
        .flat_map(|s| {
            (0..s.count())
                .into_par_iter()
                .map(move |k| slice_frontier(grid, probes, s.slice(k).collect(), along))
        })
        .filter(|r| !matches!(r, Ok(rows) if rows.is_empty()))
        .collect::<Result<_>>()?;
    let mut t = Table::new(&FRONTIER_COLUMNS);
    found.into_iter().flatten().for_each(|r| t.push(r));
    Ok(t)
}

/// The sign of Δ at point `p`, 0 where |Δ| is within the point's tie tolerance.
fn sign(delta: f64, p: &Point) -> Result<i8> {
    let tie_tol = offswitch::TIE_RTOL * p.build_prior()?.scale();
    Ok(if delta.abs() <= tie_tol {
        0
    } else if delta > 0.0 {
        1
    } else {
        -1
    })
}

fn slice_frontier(
    grid: &Grid,
    probes: &Probes,
    mut idx: Vec<usize>,
    along: &str,
) -> Result<Vec<Vec<Cell>>> {
    let points: Vec<Point> = idx.iter().map(|&i| grid.point(i)).collect();
    let x = |p: &Point| p.get(along).expect("a slice's points have the parameter");
    // Sorted along the axis, ties in grid order.
    let mut order: Vec<usize> = (0..idx.len()).collect();
    order.sort_by(|&a, &b| x(&points[a]).total_cmp(&x(&points[b])));
    let points: Vec<Point> = order.iter().map(|&k| points[k].clone()).collect();
    idx = order.iter().map(|&k| idx[k]).collect();
    let xs: Vec<f64> = points.iter().map(x).collect();
    let range = xs.last().unwrap() - xs[0];
    let row = |kind: &str, value: f64, a: usize, b: usize| -> Vec<Cell> {
        let mut p = points[a].clone();
        p.set(along, value);
        let (ia, ib) = (idx[a], idx[b]);
        vec![
            p.prior.clone().into(),
            p.human.clone().into(),
            p.mu.into(),
            p.sigma.into(),
            p.beta.into(),
            p.p.into(),
            p.cost.into(),
            along.into(),
            kind.into(),
            value.into(),
            xs[a].into(),
            xs[b].into(),
            probes.decision(ia).into(),
            probes.decision(ib).into(),
            probes.delta[ia].into(),
            probes.delta[ib].into(),
        ]
    };
    let signs: Vec<i8> = idx
        .iter()
        .zip(&points)
        .map(|(&i, p)| sign(probes.delta[i], p))
        .collect::<Result<_>>()?;
    let mut rows = Vec::new();
    let mut k = 0;
    while k < idx.len() {
        if signs[k] == 0 {
            // A maximal run of ties.
            let start = k;
            while k + 1 < idx.len() && signs[k + 1] == 0 {
                k += 1;
            }
            rows.push(row("tie", 0.5 * (xs[start] + xs[k]), start, k));
        } else if k + 1 < idx.len() && signs[k + 1] == -signs[k] {
            let template = points[k].clone();
            let f = |x: f64| {
                let mut p = template.clone();
                p.set(along, x);
                p.values().map(|v| v.delta).unwrap_or(f64::NAN)
            };
            let tol = 1e-12 * range.abs().max(1e-300);
            match numerics::brent(f, xs[k], xs[k + 1], tol) {
                Some(r) => rows.push(row("root", r, k, k + 1)),
                None => {
                    return Err(Error::invalid(
                        "frontier",
                        "Δ could not be evaluated inside a bracket",
                    ));
                }
            }
        }
        k += 1;
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_points_run_in_order_with_cost_fastest() {
        let text = "name = \"g\"\n[sweep]\nprior = [\"normal\", \"discrete:-1@0.5,3@0.5\"]\nhuman = [\"rational\", \"boltzmann\"]\nmu = [0, 1]\nsigma = [0.5]\nbeta = [0.5, 2]\ncost = [0, 1]\n[frontier]\nalong = \"mu\"\n";
        let cfg = crate::experiment::config::parse(text, "g.toml").unwrap();
        let g = Grid::new(cfg.sweep.as_ref().unwrap()).unwrap();
        // normal × rational: 2 μ × 2 costs; normal × boltzmann: 2 μ × 2 β × 2 costs; the fixed prior has one
        // (μ, σ): × rational 2 costs, × boltzmann 2 β × 2 costs.
        assert_eq!(g.len(), 4 + 8 + 2 + 4);
        let key = |i: usize| {
            let p = g.point(i);
            (p.prior, p.human, p.mu, p.beta, p.cost)
        };
        assert_eq!(
            key(0),
            ("normal".into(), "rational".into(), Some(0.0), None, 0.0)
        );
        assert_eq!(
            key(1),
            ("normal".into(), "rational".into(), Some(0.0), None, 1.0)
        );
        assert_eq!(
            key(2),
            ("normal".into(), "rational".into(), Some(1.0), None, 0.0)
        );
        assert_eq!(
            key(5),
            (
                "normal".into(),
                "boltzmann".into(),
                Some(0.0),
                Some(0.5),
                1.0
            )
        );
        assert_eq!(
            key(6),
            (
                "normal".into(),
                "boltzmann".into(),
                Some(0.0),
                Some(2.0),
                0.0
            )
        );
        // The fixed prior's rows carry its mean and sd, and share one parsed prior.
        let p = g.point(12);
        assert_eq!(
            (p.prior.as_str(), p.mu, p.sigma),
            ("discrete:-1@0.5,3@0.5", Some(1.0), Some(2.0))
        );
        assert!(Arc::ptr_eq(
            &p.build_prior().unwrap(),
            &g.point(17).build_prior().unwrap()
        ));
        assert_eq!(key(17).3, Some(2.0));
        // An empty axis is refused (so no block is empty).
        let empty = text.replace("beta = [0.5, 2]", "beta = []");
        let cfg = crate::experiment::config::parse(&empty, "g.toml").unwrap();
        assert!(Grid::new(cfg.sweep.as_ref().unwrap()).is_err());
    }
}
