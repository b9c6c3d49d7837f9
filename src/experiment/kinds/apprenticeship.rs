//! Hadfield-Menell et al. 2016, apprenticeship CIRL: a human who teaches (picks the demonstration that best
//! conveys θ, less η times the reward it gives up) against one who demonstrates as an expert, on the same θ and
//! features; the robot learns θ̂ by MaxEnt IRL and is deployed (the game is [`crate::games::apprenticeship`]).
//!
//! The paper's protocol (§4.1): η "is set by cross-validation before the game begins" — with `eta_candidates`,
//! every candidate is run on `validation_instances` instances drawn apart from the test instances, and per N_φ
//! the candidate with the lowest mean deployment regret of the teaching human is the η reported (with a fixed
//! `eta` there is nothing to choose); the robot is deployed from a random start (the regret is the exact mean
//! over every start state; the regret from the demonstration's start is reported beside it). The paper's §4.3
//! panel — the teaching human's regret against the robot's assumed rationality λ (its MaxEnt model
//! P(τ) ∝ exp(λ·θᵀφ(τ))) — is `robot_rationality`, computed on the test instances of every candidate η and
//! reported at the chosen one.
//!
//! Job `j` is one (η setting, N_φ, split, block of instances); each instance is seeded by (N_φ, index), the
//! validation instances by indices past [`VALIDATION_INDEX`], so the grouping changes no result and the expert,
//! who does not depend on η, is the same in every setting. The results are, per (N_φ, η, metric) on the test
//! instances, the means of both humans and their paired difference with a 95% interval, the paired t-test's
//! F = t² and two-sided p; further tables hold every test instance at the chosen η, the validation means and the
//! λ panel.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, StudentsT};

use super::mean_ci;
use crate::error::{Error, Result};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::games::apprenticeship::{
    Apprenticeship, Instance, Outcome, Teacher, demonstration, instance, one_shot_best_responses,
};
use crate::rng::derive_seed;

/// `[apprenticeship]`: the game's parameters, how η is chosen, the η of the sensitivity rows and the robot
/// rationalities of the λ panel.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApprenticeshipStudy {
    /// Grid side.
    pub size: usize,
    /// The feature counts N_φ compared.
    pub features: Vec<usize>,
    /// Width w of the radial-basis features.
    pub width: f64,
    /// The whole horizon (learning phase = first half).
    pub horizon: usize,
    /// Teaching's penalty weight η, fixed (give this or `eta_candidates`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eta: Option<f64>,
    /// The η to choose from by cross-validation, per N_φ (give this or `eta`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub eta_candidates: Vec<f64>,
    /// Validation instances per (candidate η, N_φ), apart from the test instances (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_instances: Option<usize>,
    /// Samples per MaxEnt temperature in the teaching candidate set.
    pub candidates: usize,
    /// Random θ per N_φ (the test instances).
    pub instances: usize,
    /// Further η, each run on `sensitivity_instances` instances per N_φ.
    #[serde(default)]
    pub eta_sensitivity: Vec<f64>,
    /// Instances per N_φ of the sensitivity rows (default: `instances`).
    #[serde(default)]
    pub sensitivity_instances: Option<usize>,
    /// The robot rationalities λ of the regret-against-λ panel (empty: no panel).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub robot_rationality: Vec<f64>,
    /// The λ panel on the first this many test instances per N_φ (default: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rationality_instances: Option<usize>,
}

/// The first instance index of the validation instances (their θ and features are drawn apart from the test
/// instances').
pub const VALIDATION_INDEX: u64 = 1 << 40;

/// The metrics compared, in the order of the results.
const METRICS: [&str; 6] = [
    "regret",
    "regret_at_start",
    "kl",
    "reward_error",
    "theta_error",
    "demonstration_return",
];

const COLUMNS: [&str; 13] = [
    "features",
    "eta",
    "selected",
    "metric",
    "expert",
    "expert_ci",
    "teaching",
    "teaching_ci",
    "difference",
    "difference_ci",
    "teaching_better",
    "f_statistic",
    "p_value",
];

const VALIDATION_COLUMNS: [&str; 7] = [
    "features",
    "eta",
    "instances",
    "teaching_regret",
    "teaching_regret_ci",
    "expert_regret",
    "selected",
];

const RATIONALITY_COLUMNS: [&str; 11] = [
    "features",
    "eta",
    "lambda",
    "log10_lambda",
    "expert",
    "expert_ci_low",
    "expert_ci_high",
    "teaching",
    "teaching_ci_low",
    "teaching_ci_high",
    "teaching_better",
];

/// The robot: MaxEnt IRL with rationality λ (the MAP estimate under a N(0, I/3) prior, the variance of
/// U[−1, 1], 200 iterations) on the demonstration. The likelihood exp(λθᵀφ(τ))/Z(λθ) is the λ = 1 one in
/// θ' = λθ under the prior N(0, λ²/3·I), so θ̂ = θ̂'/λ.
fn fit(inst: &Instance, demo: &[usize], lambda: f64) -> Vec<f64> {
    let m = &inst.mdp;
    let (th, _) =
        crate::learn::irl::maxent_irl(m, &m.features(demo), 1.0, lambda * lambda / 3.0, 200);
    th.into_iter().map(|x| x / lambda).collect()
}

/// The paper's robot (λ = 1) deployed on the plan optimal for its estimate.
fn robot(inst: &Instance, demo: Vec<usize>) -> Outcome {
    let theta_hat = fit(inst, &demo, 1.0);
    crate::games::apprenticeship::score(inst, demo, theta_hat)
}

/// Instances per job: each instance is seeded by its own index, so the grouping changes no result; a job of a
/// few IRL fits keeps the journal's per-file cost (a file per job) small against the compute.
const INSTANCES_PER_JOB: usize = 8;

/// One η setting: its game, whether it is a cross-validation candidate (or the fixed η), its test and
/// validation instances.
struct Setting {
    game: Apprenticeship,
    /// A candidate (or the fixed η): the λ panel is computed on its test instances.
    primary: bool,
    validation: usize,
}

/// One job: (setting, N_φ, validation split, first instance, end of instances).
type Job = (usize, usize, bool, usize, usize);

/// An apprenticeship study laid out as jobs.
pub struct Plan {
    seed: u64,
    settings: Vec<Setting>,
    lambdas: Vec<f64>,
    /// The λ panel's test instances per N_φ.
    panel_instances: usize,
    cross_validated: bool,
    jobs: Vec<Job>,
    job_columns: Vec<String>,
}

impl Plan {
    /// Validates the study.
    pub fn new(cfg: &ApprenticeshipStudy, seed: u64) -> Result<Self> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("apprenticeship.{f}"), m));
        let cross_validated = !cfg.eta_candidates.is_empty();
        let primary: Vec<f64> = match (cfg.eta, cross_validated) {
            (Some(_), true) => {
                return bad(
                    "eta",
                    "give either eta (fixed) or eta_candidates (chosen by cross-validation), not both".into(),
                );
            }
            (None, false) => {
                return bad(
                    "eta",
                    "missing: give eta (fixed) or eta_candidates (chosen by cross-validation)"
                        .into(),
                );
            }
            (Some(e), false) => vec![e],
            (None, true) => cfg.eta_candidates.clone(),
        };
        if !cross_validated && cfg.validation_instances.is_some() {
            return bad(
                "validation_instances",
                "only with eta_candidates (there is nothing to validate with a fixed eta)".into(),
            );
        }
        let validation = if cross_validated {
            cfg.validation_instances.unwrap_or(100)
        } else {
            0
        };
        if cross_validated && validation < 2 {
            return bad(
                "validation_instances",
                format!("need at least 2, got {validation}"),
            );
        }
        if primary
            .iter()
            .enumerate()
            .any(|(i, e)| primary[..i].contains(e))
        {
            return bad("eta_candidates", "a value is listed twice".into());
        }
        if cfg.robot_rationality.len() > 16
            || cfg
                .robot_rationality
                .iter()
                .any(|l| !(l.is_finite() && *l > 0.0 && (1e-6..=1e6).contains(l)))
        {
            return bad(
                "robot_rationality",
                "at most 16 values, each in 1e-6..=1e6".into(),
            );
        }
        let panel_instances = cfg.rationality_instances.unwrap_or(cfg.instances);
        if panel_instances < 2 || panel_instances > cfg.instances {
            return bad(
                "rationality_instances",
                format!(
                    "must be in 2..=instances ({}), got {panel_instances}",
                    cfg.instances
                ),
            );
        }
        let game = |eta: f64, instances: usize| Apprenticeship {
            size: cfg.size,
            features: cfg.features.clone(),
            width: cfg.width,
            horizon: cfg.horizon,
            eta,
            candidates: cfg.candidates,
            instances,
        };
        let mut settings = Vec::new();
        for &eta in &primary {
            let g = game(eta, cfg.instances);
            g.check().map_err(|e| {
                if cross_validated {
                    Error::invalid("apprenticeship.eta_candidates", format!("{eta}: {e}"))
                } else {
                    e
                }
            })?;
            settings.push(Setting {
                game: g,
                primary: true,
                validation,
            });
        }
        for &eta in &cfg.eta_sensitivity {
            if primary.contains(&eta) {
                continue; // already run on every test instance
            }
            let g = game(eta, cfg.sensitivity_instances.unwrap_or(cfg.instances));
            g.check()?;
            settings.push(Setting {
                game: g,
                primary: false,
                validation: 0,
            });
        }
        // Every instance runs soft value iteration (horizon/2 steps over size² states and 4 actions) for 3 ×
        // candidates sampled paths and an IRL fit per robot and rationality.
        let base = &settings[0].game;
        let instances: usize = settings
            .iter()
            .map(|s| s.game.features.len() * (s.game.instances + s.validation))
            .sum();
        let per_instance = (base.horizon * base.size * base.size * 4) as f64
            * (3.0 * base.candidates as f64
                + 200.0 * (2 + 2 * cfg.robot_rationality.len()) as f64 * panel_instances as f64
                    / cfg.instances as f64);
        // (An upper bound: the expert's panel is computed once, in the first setting.)
        crate::limits::check_work(
            "apprenticeship",
            instances as f64 * per_instance,
            "this apprenticeship study",
        )?;
        let mut jobs = Vec::new();
        for (s, st) in settings.iter().enumerate() {
            for &k in &st.game.features {
                for (validation, n) in [(false, st.game.instances), (true, st.validation)] {
                    for i in (0..n).step_by(INSTANCES_PER_JOB) {
                        jobs.push((s, k, validation, i, (i + INSTANCES_PER_JOB).min(n)));
                    }
                }
            }
        }
        let mut job_columns: Vec<String> = ["setting", "features", "validation", "instance"]
            .iter()
            .map(|c| c.to_string())
            .collect();
        for m in METRICS {
            job_columns.push(format!("expert_{m}"));
            job_columns.push(format!("teaching_{m}"));
        }
        for j in 0..cfg.robot_rationality.len() {
            job_columns.push(format!("expert_regret_lambda_{j}"));
            job_columns.push(format!("teaching_regret_lambda_{j}"));
        }
        Ok(Plan {
            seed,
            settings,
            lambdas: cfg.robot_rationality.clone(),
            panel_instances,
            cross_validated,
            jobs,
            job_columns,
        })
    }

    fn features(&self) -> &[usize] {
        &self.settings[0].game.features
    }

    /// The instance index of row `i` of a split.
    fn index(validation: bool, i: usize) -> u64 {
        if validation {
            VALIDATION_INDEX + i as u64
        } else {
            i as u64
        }
    }

    /// A column of the job outputs of setting `s`, N_φ `k` and a split, in instance order (empty cells — the
    /// λ panel past its instances — left out).
    fn column(
        &self,
        parts: &[Table],
        s: usize,
        k: usize,
        validation: bool,
        name: &str,
    ) -> Vec<f64> {
        self.jobs
            .iter()
            .zip(parts)
            .filter(|((js, jk, jv, _, _), _)| *js == s && *jk == k && *jv == validation)
            .flat_map(|(_, p)| (0..p.rows.len()).filter_map(|r| p.num(r, name)))
            .collect()
    }

    /// The chosen setting per N_φ: the candidate with the lowest mean validation regret of the teaching human
    /// (ties to the first listed), or the fixed η's.
    fn chosen(&self, parts: &[Table]) -> Vec<(usize, usize)> {
        self.features()
            .iter()
            .map(|&k| {
                if !self.cross_validated {
                    return (k, 0);
                }
                let mut best = (f64::INFINITY, 0);
                for (s, st) in self.settings.iter().enumerate() {
                    if st.primary {
                        let (m, _) = mean_ci(&self.column(parts, s, k, true, "teaching_regret"));
                        if m < best.0 {
                            best = (m, s);
                        }
                    }
                }
                (k, best.1)
            })
            .collect()
    }

    /// The results' selected row of (N_φ `k`, `metric`).
    fn selected(t: &Table, k: usize, metric: &str) -> Option<usize> {
        (0..t.rows.len()).find(|&i| {
            t.num(i, "features") == Some(k as f64)
                && t.text(i, "metric") == metric
                && t.num(i, "selected") == Some(1.0)
        })
    }
}

/// The paired t-test of a sample of differences: (F = t², two-sided p); F is infinite (p = 0) when every
/// difference is equal and non-zero, 0 (p = 1) when they are all 0.
fn paired_test(d: &[f64]) -> (f64, f64) {
    let e = crate::numerics::Estimate::of_sample(d);
    if e.std_err == 0.0 {
        return if e.mean == 0.0 {
            (0.0, 1.0)
        } else {
            (f64::INFINITY, 0.0)
        };
    }
    let t = e.mean / e.std_err;
    let p = StudentsT::new(0.0, 1.0, d.len() as f64 - 1.0)
        .map(|dist| 2.0 * dist.cdf(-t.abs()))
        .unwrap_or(f64::NAN);
    (t * t, p)
}

/// The share of instances where the teaching human's figure is below the expert's.
fn teaching_better(expert: &[f64], teaching: &[f64]) -> f64 {
    expert.iter().zip(teaching).filter(|(a, b)| b < a).count() as f64 / expert.len() as f64
}

impl Experiment for Plan {
    fn jobs(&self) -> usize {
        self.jobs.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let (s, k, validation, i0, i1) = self.jobs[j];
        let st = &self.settings[s];
        let cfg = &st.game;
        let cols: Vec<&str> = self.job_columns.iter().map(String::as_str).collect();
        let mut out = Table::new(&cols);
        for i in i0..i1 {
            let panel = st.primary && !validation && i < self.panel_instances;
            let index = Self::index(validation, i);
            let inst = instance(cfg, k, self.seed, index);
            let hseed = derive_seed(self.seed, 1000 + k as u64, index);
            let demos = [
                demonstration(cfg, &inst, Teacher::Expert, hseed),
                demonstration(cfg, &inst, Teacher::Teaching, hseed),
            ];
            let [e, t] = demos.clone().map(|d| robot(&inst, d));
            let mut row = vec![
                Cell::Num(s as f64),
                Cell::Num(k as f64),
                Cell::Bool(validation),
                Cell::Num(i as f64),
            ];
            for m in METRICS {
                for o in [&e, &t] {
                    row.push(Cell::Num(match m {
                        "regret" => o.regret,
                        "regret_at_start" => o.regret_at_start,
                        "kl" => o.kl,
                        "reward_error" => o.reward_error,
                        "theta_error" => o.theta_error,
                        _ => o.demonstration_return,
                    }));
                }
            }
            for &lambda in &self.lambdas {
                for (who, (d, o)) in demos.iter().zip([&e, &t]).enumerate() {
                    // The expert does not depend on η: its panel is computed in the first setting only.
                    row.push(if !panel || (who == 0 && s != 0) {
                        Cell::Empty
                    } else if lambda == 1.0 {
                        Cell::Num(o.regret) // the paper's robot, already fitted
                    } else {
                        Cell::Num(
                            crate::games::apprenticeship::regret(&inst, &fit(&inst, d, lambda)).0,
                        )
                    });
                }
            }
            out.push(row);
        }
        Ok(out)
    }

    fn rows(&self) -> usize {
        self.settings
            .iter()
            .map(|s| s.game.features.len())
            .sum::<usize>()
            * METRICS.len()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS);
        for st in &self.settings {
            for &k in &st.game.features {
                for m in METRICS {
                    let mut row = vec![Cell::Num(0.0); COLUMNS.len()];
                    row[0] = Cell::Num(k as f64);
                    row[1] = Cell::Num(st.game.eta);
                    row[2] = Cell::Bool(false);
                    row[3] = Cell::Text(m.into());
                    t.push(row);
                }
            }
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &["metric"]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        let want: Vec<&str> = self.job_columns.iter().map(String::as_str).collect();
        super::check_columns(t, &want)?;
        let (s, k, validation, i0, i1) = self.jobs[j];
        let keys = |r: usize| [s as f64, k as f64, validation as u8 as f64, (i0 + r) as f64];
        if t.rows.len() != i1 - i0
            || (0..t.rows.len()).any(|r| {
                ["setting", "features", "validation", "instance"]
                    .iter()
                    .zip(keys(r))
                    .any(|(c, w)| t.num(r, c) != Some(w))
            })
        {
            return Err(format!(
                "not the rows of setting {s}, N_φ {k}, {} instances {i0}..{i1}",
                if validation { "validation" } else { "test" }
            ));
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let chosen = self.chosen(&parts);
        let mut summary = Table::new(&COLUMNS);
        for (s, st) in self.settings.iter().enumerate() {
            for &k in &st.game.features {
                let selected = chosen.contains(&(k, s));
                for m in METRICS {
                    let e = self.column(&parts, s, k, false, &format!("expert_{m}"));
                    let t = self.column(&parts, s, k, false, &format!("teaching_{m}"));
                    let d: Vec<f64> = e.iter().zip(&t).map(|(a, b)| a - b).collect();
                    let better = teaching_better(&e, &t);
                    let ((em, ec), (tm, tc), (dm, dc)) = (mean_ci(&e), mean_ci(&t), mean_ci(&d));
                    let (f, p) = paired_test(&d);
                    summary.push(vec![
                        Cell::Num(k as f64),
                        Cell::Num(st.game.eta),
                        Cell::Bool(selected),
                        Cell::Text(m.into()),
                        Cell::Num(em),
                        Cell::Num(ec),
                        Cell::Num(tm),
                        Cell::Num(tc),
                        Cell::Num(dm),
                        Cell::Num(dc),
                        Cell::Num(better),
                        Cell::Num(f),
                        Cell::Num(p),
                    ]);
                }
            }
        }
        Ok(summary)
    }

    fn extra_tables(&self) -> &'static [&'static str] {
        &["instances", "validation", "rationality"]
    }

    fn assemble_extra(&self, parts: &[Table]) -> Result<Vec<Table>> {
        let chosen = self.chosen(parts);
        // Every test instance of the chosen η, per N_φ.
        let mut per_cols = vec!["features".to_string(), "eta".into(), "instance".into()];
        per_cols.extend(self.job_columns[4..4 + 2 * METRICS.len()].iter().cloned());
        let per_cols: Vec<&str> = per_cols.iter().map(String::as_str).collect();
        let mut per = Table::new(&per_cols);
        for &(k, s) in &chosen {
            for ((js, jk, jv, _, _), p) in self.jobs.iter().zip(parts) {
                if *js == s && *jk == k && !*jv {
                    for row in &p.rows {
                        let mut r = vec![row[1].clone(), Cell::Num(self.settings[s].game.eta)];
                        r.push(row[3].clone());
                        r.extend(row[4..4 + 2 * METRICS.len()].iter().cloned());
                        per.push(r);
                    }
                }
            }
        }
        let mut validation = Table::new(&VALIDATION_COLUMNS);
        for (s, st) in self.settings.iter().enumerate() {
            if st.validation == 0 {
                continue;
            }
            for &k in &st.game.features {
                let (tm, tc) = mean_ci(&self.column(parts, s, k, true, "teaching_regret"));
                let (em, _) = mean_ci(&self.column(parts, s, k, true, "expert_regret"));
                validation.push(vec![
                    Cell::Num(k as f64),
                    Cell::Num(st.game.eta),
                    Cell::Num(st.validation as f64),
                    Cell::Num(tm),
                    Cell::Num(tc),
                    Cell::Num(em),
                    Cell::Bool(chosen.contains(&(k, s))),
                ]);
            }
        }
        let mut rationality = Table::new(&RATIONALITY_COLUMNS);
        for &(k, s) in &chosen {
            for (j, &lambda) in self.lambdas.iter().enumerate() {
                let e = self.column(parts, 0, k, false, &format!("expert_regret_lambda_{j}"));
                let t = self.column(parts, s, k, false, &format!("teaching_regret_lambda_{j}"));
                let better = teaching_better(&e, &t);
                let ((em, ec), (tm, tc)) = (mean_ci(&e), mean_ci(&t));
                rationality.push(vec![
                    Cell::Num(k as f64),
                    Cell::Num(self.settings[s].game.eta),
                    Cell::Num(lambda),
                    Cell::Num(lambda.log10()),
                    Cell::Num(em),
                    Cell::Num(em - ec),
                    Cell::Num(em + ec),
                    Cell::Num(tm),
                    Cell::Num(tm - tc),
                    Cell::Num(tm + tc),
                    Cell::Num(better),
                ]);
            }
        }
        Ok(vec![per, validation, rationality])
    }

    fn extra_key_table(&self, name: &str) -> Option<Table> {
        if name != "rationality" {
            return None;
        }
        let mut t = Table::new(&RATIONALITY_COLUMNS);
        for &k in self.features() {
            for &lambda in &self.lambdas {
                let mut row = vec![Cell::Num(0.0); RATIONALITY_COLUMNS.len()];
                row[0] = Cell::Num(k as f64);
                row[2] = Cell::Num(lambda);
                row[3] = Cell::Num(lambda.log10());
                t.push(row);
            }
        }
        Some(t)
    }

    fn claims(&self, summary: &Table, extra: &[Table]) -> Vec<Verdict> {
        let mut checks = Vec::new();
        let ks = self.features();
        // §4.2: "br outperforming π^E on all measures" — regret (from a random deployment start), the KL
        // divergence and the ℓ2 distance between the reward vectors — each a paired difference whose 95%
        // interval excludes 0, at the chosen η.
        for &k in ks {
            for (m, name) in [
                ("regret", "deployment regret (random start)"),
                ("kl", "KL(P_θ ‖ P_θ̂)"),
                ("reward_error", "‖Φθ − Φθ̂‖ (the ℓ2 measure)"),
            ] {
                if let Some(i) = Self::selected(summary, k, m) {
                    let num = |c: &str| summary.num(i, c).unwrap_or(f64::NAN);
                    checks.push((
                        format!("N_φ = {k}: teaching (br) lowers {name} against expert demonstration (π^E)"),
                        num("difference") - num("difference_ci") > 0.0,
                        format!(
                            "η = {}: π^E − br = {} ± {}, F = {}, p = {}",
                            fmt_num(num("eta")),
                            fmt_num(num("difference")),
                            fmt_num(num("difference_ci")),
                            fmt_num(num("f_statistic")),
                            fmt_num(num("p_value"))
                        ),
                    ));
                }
            }
            // The teacher gives up reward in the demonstration itself.
            if let Some(i) = Self::selected(summary, k, "demonstration_return") {
                let d = summary.num(i, "difference").unwrap_or(0.0);
                checks.push((
                    format!("N_φ = {k}: the teaching demonstration earns less than the expert's (it is not the best response to θ alone)"),
                    d > 0.0,
                    format!("expert − teaching = {}", fmt_num(d)),
                ));
            }
        }
        // "the gap between the two levels of H-policy is larger with fewer reward parameters" (ℓ2).
        if let (Some(&lo), Some(&hi)) = (ks.iter().min(), ks.iter().max())
            && lo != hi
            && let (Some(a), Some(b)) = (
                Self::selected(summary, lo, "reward_error"),
                Self::selected(summary, hi, "reward_error"),
            )
        {
            let (ga, gb) = (
                summary.num(a, "difference").unwrap_or(f64::NAN),
                summary.num(b, "difference").unwrap_or(f64::NAN),
            );
            checks.push((
                format!("the ℓ2 gap between π^E and br is larger with fewer features (N_φ = {lo} than {hi})"),
                ga > gb,
                format!("{} against {}", fmt_num(ga), fmt_num(gb)),
            ));
        }
        // §4.3: the teaching human's regret against the robot's λ is lowest at an intermediate λ.
        if self.lambdas.len() >= 3
            && let Some(r) = extra.get(2)
        {
            for &k in ks {
                let curve: Vec<(f64, f64)> = (0..r.rows.len())
                    .filter(|&i| r.num(i, "features") == Some(k as f64))
                    .filter_map(|i| Some((r.num(i, "lambda")?, r.num(i, "teaching")?)))
                    .collect();
                let Some(arg) = (0..curve.len()).min_by(|&a, &b| curve[a].1.total_cmp(&curve[b].1))
                else {
                    continue;
                };
                let lambdas: Vec<f64> = curve.iter().map(|c| c.0).collect();
                let (lo, hi) = (
                    lambdas.iter().cloned().fold(f64::INFINITY, f64::min),
                    lambdas.iter().cloned().fold(f64::NEG_INFINITY, f64::max),
                );
                let at = curve[arg].0;
                checks.push((
                    format!("N_φ = {k}: the teaching human's regret is lowest at an intermediate robot rationality λ (U-shaped, §4.3)"),
                    at > lo && at < hi,
                    format!(
                        "lowest {} at λ = {} (λ from {} to {}; {} at λ = {}, {} at λ = {})",
                        fmt_num(curve[arg].1),
                        fmt_num(at),
                        fmt_num(lo),
                        fmt_num(hi),
                        fmt_num(curve.iter().find(|c| c.0 == lo).map_or(f64::NAN, |c| c.1)),
                        fmt_num(lo),
                        fmt_num(curve.iter().find(|c| c.0 == hi).map_or(f64::NAN, |c| c.1)),
                        fmt_num(hi)
                    ),
                ));
            }
        }
        // The supplementary material's example of Theorem 3: after two rounds of best response from the
        // expert, the human makes (1, 1) exactly for θ ∈ [41/92, 51/92] (the expert does only at θ = ½).
        let sets = one_shot_best_responses(
            &[(0.0, 2.0), (1.0, 1.0), (2.0, 0.0)],
            &[(0.0, 90.0), (50.0, 50.0), (90.0, 0.0)],
        );
        let ok = sets[1].is_some_and(|(lo, hi)| {
            (lo - 41.0 / 92.0).abs() < 1e-12 && (hi - 51.0 / 92.0).abs() < 1e-12
        });
        checks.push((
            "supplementary example (Theorem 3): br(br(π^E)) makes (1, 1) iff θ ∈ [41/92, 51/92]"
                .into(),
            ok,
            match sets[1] {
                Some((lo, hi)) => format!("[{}, {}]", fmt_num(lo), fmt_num(hi)),
                None => "never".into(),
            },
        ));
        checks
    }

    fn outputs(
        &self,
        out: &Path,
        summary: &Table,
        _extra: &[Table],
        plots: bool,
    ) -> Result<Vec<PathBuf>> {
        use crate::experiment::figures::{BarGroup, BarPanel, GridPanel, bars, trajectories};
        let mut files = Vec::new();
        if !plots {
            return Ok(files);
        }
        let eta_of = |k: usize| {
            Self::selected(summary, k, "regret")
                .and_then(|i| summary.num(i, "eta"))
                .unwrap_or(self.settings[0].game.eta)
        };
        // Figure 1: one instance with the fewest features at its chosen η — the reward map, both
        // demonstrations, the robot's paths from the demonstration's start.
        let k = self.features().iter().copied().min().unwrap_or(3);
        let game = Apprenticeship {
            eta: eta_of(k),
            ..self.settings[0].game.clone()
        };
        let inst = instance(&game, k, self.seed, 0);
        let hseed = derive_seed(self.seed, 1000 + k as u64, 0);
        let e = robot(&inst, demonstration(&game, &inst, Teacher::Expert, hseed));
        let t = robot(&inst, demonstration(&game, &inst, Teacher::Teaching, hseed));
        let reward = inst.mdp.rewards(&inst.theta);
        let panel = |title: &str, o: &Outcome| GridPanel {
            title: title.into(),
            size: game.size,
            reward: reward.clone(),
            paths: vec![
                ("human (learning phase)".into(), 0, o.demo.clone()),
                (
                    "robot (deployment from the same start)".into(),
                    1,
                    o.robot.clone(),
                ),
            ],
            start: inst.mdp.start,
            centres: inst.centres.clone(),
        };
        files.extend(trajectories(
            out,
            "hm2016_trajectories",
            "Apprenticeship CIRL: expert demonstration vs teaching (true reward: red high, blue low)",
            &[
                panel(
                    &format!("expert: regret {} (random start)", fmt_num(e.regret)),
                    &e,
                ),
                panel(
                    &format!("teaching: regret {} (random start)", fmt_num(t.regret)),
                    &t,
                ),
            ],
        )?);
        // Results figure: per metric, expert vs teaching for each N_φ at its chosen η.
        let panels: Vec<BarPanel> = ["regret", "kl", "reward_error"]
            .iter()
            .map(|m| BarPanel {
                title: match *m {
                    "regret" => "regret (random start)".into(),
                    // Figure text has no combining marks (the bitmap backend cannot stack θ̂'s hat):
                    // θ_est is the robot's estimate θ̂.
                    "kl" => "KL(θ ‖ θ_est)".into(),
                    _ => "‖Φθ − Φθ_est‖".into(),
                },
                groups: self
                    .features()
                    .iter()
                    .filter_map(|&k| {
                        let i = Self::selected(summary, k, m)?;
                        Some(BarGroup {
                            label: format!("N_φ = {k}, η = {}", fmt_num(eta_of(k))),
                            bars: vec![
                                (
                                    "expert demonstration".into(),
                                    summary.num(i, "expert")?,
                                    summary.num(i, "expert_ci")?,
                                ),
                                (
                                    "teaching".into(),
                                    summary.num(i, "teaching")?,
                                    summary.num(i, "teaching_ci")?,
                                ),
                            ],
                        })
                    })
                    .collect(),
            })
            .collect();
        files.extend(bars(
            out,
            "hm2016_results",
            "Apprenticeship CIRL (95% intervals)",
            &panels,
        )?);
        Ok(files)
    }

    fn summary_section(
        &self,
        results: Option<&Table>,
        _frontier: Option<&Table>,
        extra: &[Table],
    ) -> String {
        let Some(summary) = results else {
            return String::new();
        };
        let mut s = format!(
            "## Expert demonstration against teaching\n\nOn the same θ and features ({} test instances per N_φ; sensitivity rows at other η may use fewer). difference = expert − teaching (positive: teaching better, except for demonstration_return, where positive means the teacher gave up reward); F = t² and p of the paired t-test; `selected` marks the η {}.\n\n{}\n\n",
            self.settings[0].game.instances,
            if self.cross_validated {
                "chosen by cross-validation"
            } else {
                "configured"
            },
            summary.to_markdown(
                &[
                    "features",
                    "eta",
                    "selected",
                    "metric",
                    "expert",
                    "teaching",
                    "difference",
                    "difference_ci",
                    "f_statistic",
                    "p_value"
                ],
                &(0..summary.rows.len()).collect::<Vec<_>>()
            )
        );
        if let Some(v) = extra.get(1).filter(|v| !v.rows.is_empty()) {
            s.push_str(&format!(
                "## Cross-validation of η\n\nMean deployment regret of the teaching human on the validation instances.\n\n{}\n\n",
                v.to_markdown(&VALIDATION_COLUMNS, &(0..v.rows.len()).collect::<Vec<_>>())
            ));
        }
        if let Some(r) = extra.get(2).filter(|r| !r.rows.is_empty()) {
            s.push_str(&format!(
                "## Regret against the robot's rationality λ\n\nAt the chosen η, deployment regret (random start) of a robot fitting θ with MaxEnt rationality λ.\n\n{}\n\n",
                r.to_markdown(
                    &["features", "eta", "lambda", "expert", "teaching", "teaching_better"],
                    &(0..r.rows.len()).collect::<Vec<_>>()
                )
            ));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_paired_test_matches_a_hand_computed_one() {
        // d = 1, 2, 3, 4: mean 2.5, sd √(5/3), t = 2.5/√(5/12) = 3.8730, df 3, two-sided p = 0.030466.
        let (f, p) = paired_test(&[1.0, 2.0, 3.0, 4.0]);
        assert!((f - 15.0).abs() < 1e-12);
        assert!((p - 0.030466).abs() < 1e-5, "{p}");
        assert_eq!(paired_test(&[0.0, 0.0]), (0.0, 1.0));
        assert_eq!(paired_test(&[0.5, 0.5]), (f64::INFINITY, 0.0));
    }

    fn study(extra: &str) -> Result<Plan> {
        let cfg: ApprenticeshipStudy = toml::from_str(&format!(
            "size = 6\nfeatures = [2]\nwidth = 2.0\nhorizon = 8\ncandidates = 5\ninstances = 4\n{extra}"
        ))
        .unwrap();
        Plan::new(&cfg, 1)
    }

    #[test]
    fn eta_is_fixed_or_cross_validated_never_both() {
        assert!(study("eta = 0.3").is_ok());
        assert!(study("eta_candidates = [0.1, 1.0]").is_ok());
        for (bad, field) in [
            ("", "apprenticeship.eta"),
            ("eta = 0.3\neta_candidates = [0.1]", "apprenticeship.eta"),
            (
                "eta = 0.3\nvalidation_instances = 10",
                "apprenticeship.validation_instances",
            ),
            (
                "eta_candidates = [0.1, 0.1]",
                "apprenticeship.eta_candidates",
            ),
            ("eta_candidates = [-1.0]", "apprenticeship.eta_candidates"),
            (
                "eta = 0.3\nrobot_rationality = [0.0]",
                "apprenticeship.robot_rationality",
            ),
            (
                "eta = 0.3\nrationality_instances = 9",
                "apprenticeship.rationality_instances",
            ),
        ] {
            let e = study(bad).err().unwrap_or_else(|| panic!("{bad} accepted"));
            assert!(e.to_string().contains(field), "{bad}: {e}");
        }
    }
}
