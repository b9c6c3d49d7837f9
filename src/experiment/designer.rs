//! The designer's problem (Hadfield-Menell et al. 2017, §4 and Fig. 4): how much uncertainty should a
//! designer tell the robot it has?
//!
//! The paper underspecifies the simulation; this is the model `cirl` uses (stated in the Fig. 4 config too):
//! - each of |A| candidate actions has a true utility U_a ~ N(0, prior_sd²), independent;
//! - the robot observes Û_a = U_a + ε_a with ε_a ~ N(0, noise_sd²), so its Bayes posterior is N(m_a, σ*²) with
//!   m_a = Û_a·prior_sd²/(prior_sd² + noise_sd²) and σ*² = prior_sd²·noise_sd²/(prior_sd² + noise_sd²);
//! - the designer tells the robot to use N(m_a, σ²) instead: σ < σ* is overconfident, σ > σ* underconfident;
//! - the robot plays one off-switch game: it picks the action and move (act / wait / off) with the highest
//!   value under its belief, against a Boltzmann human with temperature β who knows U;
//! - the game's true value is U (act), 0 (off) or E[πH(U)·U] (wait, the expectation over the human's noise).
//!
//! Reported per (|A|, σ): the mean true value V and the mean incentive to defer Δ of the chosen action, with
//! 95% confidence intervals, how often each move was chosen, and the paired drop V(σ*) − V(σ) against the
//! calibrated σ* (every game is also played at σ*, so the drop's interval is that of a paired difference, far
//! tighter than the two curves' bands). The same sampled worlds are used for every σ (common random numbers), so
//! the curves' shapes are not sampling noise.
//!
//! With `delta_targets`, the summary and the checks add the paper's Fig. 4 right claim: a designer who needs an
//! incentive to defer of at least Δ_min must tell the robot σ ≥ the first σ reaching it, and loses
//! min over those σ of V(σ*) − V(σ); "if R has more choices, then obtaining a minimum value of Δ will lead to a
//! larger decrease in V".

use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

use super::config::Designer;
use super::kind::Experiment;
use super::table::{Table, fmt_num};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::numerics::Z95;
use crate::offswitch::{Moments, moments};
use crate::rng::job_rng;

/// Games per parallel job (each job has its own random stream).
pub const CHUNK: u64 = 2048;

/// The columns of the designer's results.csv.
pub const COLUMNS: [&str; 17] = [
    "actions",
    "sigma",
    "beta",
    "games",
    "value",
    "value_ci_low",
    "value_ci_high",
    "delta",
    "delta_ci_low",
    "delta_ci_high",
    "p_act",
    "p_wait",
    "p_off",
    "calibrated_sigma",
    "value_drop",
    "value_drop_ci_low",
    "value_drop_ci_high",
];

/// The calibrated σ*: the robot's true posterior standard deviation, prior_sd·noise_sd/√(prior_sd² + noise_sd²),
/// computed without squaring (finite for every pair of finite positive deviations).
pub fn calibrated_sigma(d: &Designer) -> f64 {
    d.prior_sd / d.prior_sd.hypot(d.noise_sd) * d.noise_sd
}

/// The posterior's shrinkage prior_sd²/(prior_sd² + noise_sd²), without squaring either deviation.
fn shrinkage(d: &Designer) -> f64 {
    let r = d.noise_sd / d.prior_sd;
    if r > 1e150 {
        // r² overflows; 1/(1 + r²) is (1/r)² to within 1e-300.
        let q = d.prior_sd / d.noise_sd;
        q * q
    } else {
        1.0 / (1.0 + r * r)
    }
}

/// The unit in which the sums at σ are kept: values and Δ are of the order of the larger of the prior's and the
/// belief's deviations, so sums of squares in these units cannot overflow (Σ of up to 2^40 squares of O(1)).
pub fn unit(d: &Designer, sigma: f64) -> f64 {
    d.prior_sd.max(sigma)
}

/// Running sums of one (job, σ), values and Δ in the [`unit()`] of σ: games, Σ value, Σ value², Σ Δ, Σ Δ²,
/// moves chosen (act, wait, off), and Σ g, Σ g² of the paired drop g = value(σ*) − value(σ).
#[derive(Clone, Copy, Default, Debug, PartialEq)]
pub struct Acc {
    n: f64,
    v: f64,
    vv: f64,
    d: f64,
    dd: f64,
    moves: [f64; 3],
    g: f64,
    gg: f64,
}

impl Acc {
    fn add(&mut self, o: &Acc) {
        self.n += o.n;
        self.v += o.v;
        self.vv += o.vv;
        self.d += o.d;
        self.dd += o.dd;
        for k in 0..3 {
            self.moves[k] += o.moves[k];
        }
        self.g += o.g;
        self.gg += o.gg;
    }
}

/// A validated designer study split into jobs: job `j` plays up to [`CHUNK`] games for one |A| on its own
/// random stream, for every σ on the same draws.
pub struct Plan<'a> {
    d: &'a Designer,
    seed: u64,
    sigmas: Vec<f64>,
    human: Human,
    shrink: f64,
    /// (index into `d.actions`, chunk) of each job, |A|-major.
    jobs: Vec<(usize, u64)>,
}

/// The accumulated sums of one job, one per σ.
pub type Part = Vec<Acc>;

/// The columns of a job's part as written to a job file (sums in the [`unit()`] of σ).
pub const PART_COLUMNS: [&str; 11] = [
    "sigma", "n", "zv", "zvv", "zd", "zdd", "act", "wait", "off", "zg", "zgg",
];

impl<'a> Plan<'a> {
    /// Validates the study and lays out its jobs.
    pub fn new(d: &'a Designer, seed: u64) -> Result<Self> {
        if d.actions.is_empty() || d.actions.iter().any(|&a| a == 0 || a > 10_000) {
            return Err(Error::invalid(
                "designer.actions",
                "give a list of action counts between 1 and 10000",
            ));
        }
        if !(d.beta.is_finite() && d.beta >= 0.0) {
            return Err(Error::invalid(
                "designer.beta",
                format!("must be a finite number >= 0, got {}", d.beta),
            ));
        }
        for (k, v) in [
            ("designer.prior_sd", d.prior_sd),
            ("designer.noise_sd", d.noise_sd),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    k,
                    format!("must be a finite number > 0, got {v}"),
                ));
            }
        }
        if d.games == 0 || d.games > 1 << 40 {
            return Err(Error::invalid(
                "designer.games",
                format!("must be between 1 and 2^40, got {}", d.games),
            ));
        }
        if let Some(t) = d.delta_targets.iter().find(|t| !t.is_finite()) {
            return Err(Error::invalid(
                "designer.delta_targets",
                format!("must be finite numbers, got {t}"),
            ));
        }
        let sigmas = d.sigma.values("designer.sigma")?;
        if let Some(s) = sigmas.iter().find(|s| **s < 0.0) {
            return Err(Error::invalid(
                "designer.sigma",
                format!("must be >= 0, got {s}"),
            ));
        }
        let human = Human::boltzmann(d.beta)?;
        let shrink = shrinkage(d);
        let chunks = d.games.div_ceil(CHUNK);
        if chunks as f64 * d.actions.len() as f64 > 1e7 {
            return Err(Error::invalid(
                "designer.games",
                format!(
                    "{} games for each of {} action counts is more than 10^7 jobs of {CHUNK}; use fewer games",
                    d.games,
                    d.actions.len()
                ),
            ));
        }
        let jobs = (0..d.actions.len())
            .flat_map(|a| (0..chunks).map(move |c| (a, c)))
            .collect();
        Ok(Plan {
            d,
            seed,
            sigmas,
            human,
            shrink,
            jobs,
        })
    }

    /// Plays job `j`'s games; its stream is keyed on (|A| index, chunk), never on the thread or shard.
    pub fn play_job(&self, j: usize) -> Part {
        let d = self.d;
        let (ai, c) = self.jobs[j];
        let mut rng = job_rng(self.seed, (ai as u64) << 32 | c);
        let n_a = d.actions[ai];
        let games = CHUNK.min(d.games - c * CHUNK);
        let mut acc = vec![Acc::default(); self.sigmas.len()];
        let mut u = vec![0.0; n_a];
        let mut m = vec![0.0; n_a];
        let star = calibrated_sigma(d);
        for _ in 0..games {
            for k in 0..n_a {
                let z1: f64 = StandardNormal.sample(&mut rng);
                let z2: f64 = StandardNormal.sample(&mut rng);
                u[k] = d.prior_sd * z1;
                m[k] = self.shrink * (u[k] + d.noise_sd * z2);
            }
            let (best, _, _) = play(&u, &m, star, &self.human);
            for (si, &sigma) in self.sigmas.iter().enumerate() {
                let (value, delta, mv) = play(&u, &m, sigma, &self.human);
                let k = unit(d, sigma);
                let gap = (best - value) / k;
                let (value, delta) = (value / k, delta / k);
                let a = &mut acc[si];
                a.n += 1.0;
                a.v += value;
                a.vv += value * value;
                a.d += delta;
                a.dd += delta * delta;
                a.moves[mv] += 1.0;
                a.g += gap;
                a.gg += gap * gap;
            }
        }
        acc
    }

    /// A job's part as a table (one row per σ; numbers round-trip exactly through CSV).
    pub fn part_table(&self, part: &Part) -> Table {
        let mut t = Table::new(&PART_COLUMNS);
        for (a, &s) in part.iter().zip(&self.sigmas) {
            t.push(vec![
                s.into(),
                a.n.into(),
                a.v.into(),
                a.vv.into(),
                a.d.into(),
                a.dd.into(),
                a.moves[0].into(),
                a.moves[1].into(),
                a.moves[2].into(),
                a.g.into(),
                a.gg.into(),
            ]);
        }
        t
    }

    /// Reads a job's part back from its table; `None` if the table is not one of this plan's parts.
    pub fn part_from_table(&self, t: &Table) -> Option<Part> {
        if t.columns != PART_COLUMNS || t.rows.len() != self.sigmas.len() {
            return None;
        }
        (0..t.rows.len())
            .map(|i| {
                let x = |c: &str| t.num(i, c);
                (x("sigma")?.to_bits() == self.sigmas[i].to_bits()).then_some(())?;
                Some(Acc {
                    n: x("n")?,
                    v: x("zv")?,
                    vv: x("zvv")?,
                    d: x("zd")?,
                    dd: x("zdd")?,
                    moves: [x("act")?, x("wait")?, x("off")?],
                    g: x("zg")?,
                    gg: x("zgg")?,
                })
            })
            .collect()
    }

    /// The results, one row per (|A|, σ), from every job's part (summed in job order, so the figures do not
    /// depend on how the jobs were scheduled).
    pub fn assemble_parts(&self, parts: &[Part]) -> Table {
        let d = self.d;
        let mut t = Table::new(&COLUMNS);
        let cal = calibrated_sigma(d);
        for (ai, &n_a) in d.actions.iter().enumerate() {
            let mut tot = vec![Acc::default(); self.sigmas.len()];
            for (j, (a, _)) in self.jobs.iter().enumerate() {
                if *a == ai {
                    for (s, p) in tot.iter_mut().zip(&parts[j]) {
                        s.add(p);
                    }
                }
            }
            for (si, s) in tot.iter().enumerate() {
                let k = unit(d, self.sigmas[si]);
                let (vm, vse) = mean_se(s.v, s.vv, s.n, k);
                let (dm, dse) = mean_se(s.d, s.dd, s.n, k);
                let (gm, gse) = mean_se(s.g, s.gg, s.n, k);
                t.push(vec![
                    (n_a as f64).into(),
                    self.sigmas[si].into(),
                    d.beta.into(),
                    s.n.into(),
                    vm.into(),
                    (vm - Z95 * vse).into(),
                    (vm + Z95 * vse).into(),
                    dm.into(),
                    (dm - Z95 * dse).into(),
                    (dm + Z95 * dse).into(),
                    (s.moves[0] / s.n).into(),
                    (s.moves[1] / s.n).into(),
                    (s.moves[2] / s.n).into(),
                    cal.into(),
                    gm.into(),
                    (gm - Z95 * gse).into(),
                    (gm + Z95 * gse).into(),
                ]);
            }
        }
        t
    }
}

impl Experiment for Plan<'_> {
    /// The number of rows of the results: one per (|A|, σ).
    fn rows(&self) -> usize {
        self.d.actions.len() * self.sigmas.len()
    }

    /// The number of jobs.
    fn jobs(&self) -> usize {
        self.jobs.len()
    }

    /// The results table's shape before anything is computed (one row per (|A|, σ), computed columns 0), for
    /// checking `[[plot]]` entries before the run.
    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS);
        for &n_a in &self.d.actions {
            for &s in &self.sigmas {
                let mut row: Vec<super::table::Cell> =
                    vec![(n_a as f64).into(), s.into(), self.d.beta.into()];
                row.resize(COLUMNS.len(), 0.0.into());
                t.push(row);
            }
        }
        t
    }

    /// Checks that a job file's table can be job `j`'s part: this plan's σ values in order, in every row the
    /// number of games job `j` plays, move counts that are whole and add up to them, and finite sums.
    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        let part = self
            .part_from_table(t)
            .ok_or("not a designer job of this run (its columns or σ values differ)")?;
        let (_, c) = self.jobs[j];
        let games = CHUNK.min(self.d.games - c * CHUNK) as f64;
        for (i, a) in part.iter().enumerate() {
            let row = i + 1;
            if a.n != games {
                return Err(format!(
                    "row {row}: {} games, but job {j} plays {games}",
                    a.n
                ));
            }
            if a.moves.iter().any(|m| *m < 0.0 || m.fract() != 0.0)
                || a.moves.iter().sum::<f64>() != games
            {
                return Err(format!(
                    "row {row}: move counts {:?} do not add up to its {games} games",
                    a.moves
                ));
            }
            if ![a.v, a.vv, a.d, a.dd, a.g, a.gg]
                .iter()
                .all(|x| x.is_finite())
                || a.vv < 0.0
                || a.dd < 0.0
                || a.gg < 0.0
            {
                return Err(format!("row {row}: sums that no {games} games give"));
            }
        }
        Ok(())
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        Ok(self.part_table(&self.play_job(j)))
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let parts = parts
            .iter()
            .map(|t| {
                self.part_from_table(t)
                    .ok_or_else(|| Error::invalid("job", "not a designer job of this run"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.assemble_parts(&parts))
    }

    /// Per |A|: the paired drops from σ* at both ends of the σ axis, and the losses of the Δ targets.
    fn summary_section(
        &self,
        results: Option<&Table>,
        _frontier: Option<&Table>,
        _extra: &[Table],
    ) -> String {
        use std::fmt::Write as _;
        let mut s = String::new();
        let Some(t) = results else {
            return s;
        };
        let _ = writeln!(
            s,
            "## Value and incentive to defer by the σ the robot is told\n\nThe drop V(σ*) − V(σ) is paired: every game is also played at the calibrated σ* = {}.\n",
            fmt_num(calibrated_sigma(self.d))
        );
        for &n_a in &self.d.actions {
            let rows = rows_of(t, n_a);
            let (Some(&lo), Some(&hi)) = (rows.first(), rows.last()) else {
                continue;
            };
            let drop = |i: usize| {
                format!(
                    "{} [{}, {}]",
                    fmt_num(t.num(i, "value_drop").unwrap_or(f64::NAN)),
                    fmt_num(t.num(i, "value_drop_ci_low").unwrap_or(f64::NAN)),
                    fmt_num(t.num(i, "value_drop_ci_high").unwrap_or(f64::NAN))
                )
            };
            let sig = |i: usize| fmt_num(t.num(i, "sigma").unwrap_or(f64::NAN));
            let _ = writeln!(
                s,
                "- |A| = {n_a}: V(σ*) − V(σ = {}) = {}; V(σ*) − V(σ = {}) = {}.",
                sig(lo),
                drop(lo),
                sig(hi),
                drop(hi)
            );
        }
        for &target in &self.d.delta_targets {
            let _ = writeln!(
                s,
                "- To have Δ ≥ {}: value lost {}.",
                fmt_num(target),
                self.d
                    .actions
                    .iter()
                    .map(|&n_a| format!(
                        "{} at |A| = {n_a}",
                        target_loss(t, n_a, target).map_or(
                            "(not reached)".into(),
                            |(l, sg)| format!("{} (σ = {})", fmt_num(l), fmt_num(sg))
                        )
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        s += "\n";
        s
    }

    /// HM 2017 §4 / Fig. 4 with common random numbers and paired drops: the calibrated σ* is never beaten and Δ
    /// grows with σ; with `check_inverted_u`, both overconfidence and underconfidence cost value and the right end
    /// falls below the left; per Δ target, the value lost grows with |A|.
    fn claims(&self, t: &Table, _extra: &[Table]) -> Vec<super::kind::Verdict> {
        let mut out = Vec::new();
        let star = calibrated_sigma(self.d);
        let num = |i: usize, c: &str| t.num(i, c).unwrap_or(f64::NAN);
        for &n_a in &self.d.actions {
            let rows = rows_of(t, n_a);
            let (Some(&lo), Some(&hi)) = (rows.first(), rows.last()) else {
                continue;
            };
            let worst = rows.iter().copied().min_by(|&a, &b| {
                num(a, "value_drop_ci_high").total_cmp(&num(b, "value_drop_ci_high"))
            });
            if let Some(w) = worst {
                out.push((
                    format!("|A| = {n_a}: no σ beats the calibrated σ* = {} (the true posterior's choice is Bayes optimal; paired drops V(σ*) − V(σ) ≥ 0)", fmt_num(star)),
                    num(w, "value_drop_ci_high") >= 0.0,
                    format!(
                        "smallest upper 95% bound {} at σ = {}",
                        fmt_num(num(w, "value_drop_ci_high")),
                        fmt_num(num(w, "sigma"))
                    ),
                ));
            }
            let shape = if self.d.check_inverted_u {
                vec![(lo, "overconfidence"), (hi, "underconfidence")]
            } else {
                Vec::new()
            };
            for (i, side) in shape {
                let sg = num(i, "sigma");
                if (side == "overconfidence" && sg < star)
                    || (side == "underconfidence" && sg > star)
                {
                    out.push((
                        format!("|A| = {n_a}: {side} costs value — V falls from σ* to σ = {} (the {} side of the paper's inverted U)", fmt_num(sg), if sg < star { "left" } else { "right" }),
                        num(i, "value_drop_ci_low") > 0.0,
                        format!(
                            "V(σ*) − V(σ = {}) = {} [{}, {}] (paired)",
                            fmt_num(sg),
                            fmt_num(num(i, "value_drop")),
                            fmt_num(num(i, "value_drop_ci_low")),
                            fmt_num(num(i, "value_drop_ci_high"))
                        ),
                    ));
                }
            }
            if self.d.check_inverted_u && num(lo, "sigma") < star && num(hi, "sigma") > star {
                out.push((
                    format!("|A| = {n_a}: the right end falls below the left — V(σ = {}) < V(σ = {}), as in the paper's curve", fmt_num(num(hi, "sigma")), fmt_num(num(lo, "sigma"))),
                    num(hi, "value_drop_ci_low") > num(lo, "value_drop_ci_high"),
                    format!(
                        "drops from σ*: {} [{}, {}] against {} [{}, {}] (intervals apart)",
                        fmt_num(num(hi, "value_drop")),
                        fmt_num(num(hi, "value_drop_ci_low")),
                        fmt_num(num(hi, "value_drop_ci_high")),
                        fmt_num(num(lo, "value_drop")),
                        fmt_num(num(lo, "value_drop_ci_low")),
                        fmt_num(num(lo, "value_drop_ci_high"))
                    ),
                ));
            }
            // No step down in Δ beyond the two points' 95% half-widths and rounding (1e-12 of the values' unit).
            let deltas: Vec<f64> = rows.iter().map(|&i| num(i, "delta")).collect();
            let half = |i: usize| {
                0.5 * (num(i, "delta_ci_high") - num(i, "delta_ci_low"))
                    + 1e-12 * unit(self.d, num(i, "sigma"))
            };
            let (dip, slack) = rows
                .windows(2)
                .map(|w| {
                    (
                        num(w[0], "delta") - num(w[1], "delta"),
                        half(w[0]) + half(w[1]),
                    )
                })
                .fold((0.0f64, 0.0f64), |acc, (d, h)| {
                    if d - h > acc.0 - acc.1 { (d, h) } else { acc }
                });
            out.push((
                format!("|A| = {n_a}: Δ grows with σ (Fig. 4 middle)"),
                dip <= slack,
                format!(
                    "Δ from {} to {}; largest step down {} (95% half-widths {})",
                    fmt_num(deltas[0]),
                    fmt_num(deltas[deltas.len() - 1]),
                    fmt_num(dip),
                    fmt_num(slack)
                ),
            ));
        }
        let mut counts = self.d.actions.clone();
        counts.sort_unstable();
        counts.dedup();
        for &target in &self.d.delta_targets {
            let losses: Vec<Option<(f64, f64)>> =
                counts.iter().map(|&n| target_loss(t, n, target)).collect();
            let ok = losses.iter().all(Option::is_some)
                && losses
                    .windows(2)
                    .all(|w| matches!((w[0], w[1]), (Some(a), Some(b)) if b.0 > a.0));
            out.push((
                format!(
                    "Fig. 4 right: with more actions, requiring Δ ≥ {} costs more value",
                    fmt_num(target)
                ),
                counts.len() >= 2 && ok,
                counts
                    .iter()
                    .zip(&losses)
                    .map(|(n, l)| {
                        format!(
                            "|A| = {n}: {}",
                            l.map_or("not reached".into(), |(x, _)| fmt_num(x))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        out
    }
}

/// The results' rows of |A| = `n_a`, in σ order.
fn rows_of(t: &Table, n_a: usize) -> Vec<usize> {
    let mut rows: Vec<usize> = (0..t.rows.len())
        .filter(|&i| t.num(i, "actions") == Some(n_a as f64))
        .collect();
    rows.sort_by(|&a, &b| {
        t.num(a, "sigma")
            .unwrap_or(f64::NAN)
            .total_cmp(&t.num(b, "sigma").unwrap_or(f64::NAN))
    });
    rows
}

/// The value a designer loses to have Δ ≥ `target` with |A| = `n_a`: the least paired drop V(σ*) − V(σ) over the
/// σ whose Δ reaches the target, with that σ; `None` if no σ does.
fn target_loss(t: &Table, n_a: usize, target: f64) -> Option<(f64, f64)> {
    rows_of(t, n_a)
        .into_iter()
        .filter(|&i| t.num(i, "delta").is_some_and(|d| d >= target))
        .filter_map(|i| Some((t.num(i, "value_drop")?, t.num(i, "sigma")?)))
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

/// Runs the designer study in memory: one row per (|A|, σ).
pub fn run(d: &Designer, seed: u64) -> Result<Table> {
    let plan = Plan::new(d, seed)?;
    let parts: Vec<Part> = (0..plan.jobs())
        .into_par_iter()
        .map(|j| plan.play_job(j))
        .collect();
    Ok(plan.assemble_parts(&parts))
}

/// Mean and standard error from sums kept in units of `k`, returned in the caller's units.
fn mean_se(s: f64, ss: f64, n: f64, k: f64) -> (f64, f64) {
    let m = s / n;
    let var = if n > 1.0 {
        ((ss / n - m * m) * (n / (n - 1.0))).max(0.0)
    } else {
        0.0
    };
    (m * k, (var / n).sqrt() * k)
}

/// One game: the robot's choice under belief N(m_a, σ²) for every action; returns (true value, Δ of the chosen
/// action, move index 0 = act, 1 = wait, 2 = off). Ties prefer wait, then off, then act (as in `offswitch`).
fn play(u: &[f64], m: &[f64], sigma: f64, human: &Human) -> (f64, f64, usize) {
    let mut best = (f64::NEG_INFINITY, 0usize, 2usize, 0.0f64); // (belief value, action, move, Δ)
    for (k, &mk) in m.iter().enumerate() {
        let mo: Moments = moments(&Prior::Normal { mu: mk, sigma }, human);
        let (v_act, v_wait) = (mo.mean, mo.e_u_pi);
        let delta = v_wait - v_act.max(0.0);
        // Candidate moves in preference order.
        for (mv, v) in [(1usize, v_wait), (2, 0.0), (0, v_act)] {
            if v > best.0 {
                best = (v, k, mv, delta);
            }
        }
    }
    let (_, k, mv, delta) = best;
    let value = match mv {
        0 => u[k],
        1 => human.p_allow(u[k]) * u[k],
        _ => 0.0,
    };
    (value, delta, mv)
}
