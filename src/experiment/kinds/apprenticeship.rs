//! Hadfield-Menell et al. 2016, apprenticeship CIRL: a human who teaches (picks the demonstration that best
//! conveys θ, less η times the reward it gives up) against one who demonstrates as an expert, on the same θ and
//! features; the robot learns θ̂ by MaxEnt IRL and is deployed (the game is [`crate::games::apprenticeship`]).
//!
//! The settings are the configured η (with `instances` random θ per N_φ) and each η of `eta_sensitivity` (with
//! `sensitivity_instances`); job `j` is one (setting, N_φ, instance), seeded by N_φ and the instance as before.
//! The results are per (N_φ, η, metric) the means of both humans and their paired difference with 95%
//! intervals; `instances` holds every instance of the configured η.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::mean_ci;
use crate::error::Result;
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::games::apprenticeship::{
    Apprenticeship, Instance, Outcome, Teacher, demonstration, instance,
};
use crate::rng::derive_seed;

/// `[apprenticeship]`: the game's parameters, and the η of the sensitivity rows.
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
    /// Teaching's penalty weight η.
    pub eta: f64,
    /// Samples per MaxEnt temperature in the teaching candidate set.
    pub candidates: usize,
    /// Random θ per condition.
    pub instances: usize,
    /// Further η, each run on `sensitivity_instances` instances per N_φ.
    #[serde(default)]
    pub eta_sensitivity: Vec<f64>,
    /// Instances per N_φ of the sensitivity rows (default: `instances`).
    #[serde(default)]
    pub sensitivity_instances: Option<usize>,
}

impl ApprenticeshipStudy {
    /// The game at the configured η.
    pub fn base(&self) -> Apprenticeship {
        Apprenticeship {
            size: self.size,
            features: self.features.clone(),
            width: self.width,
            horizon: self.horizon,
            eta: self.eta,
            candidates: self.candidates,
            instances: self.instances,
        }
    }
}

const JOB_COLUMNS: [&str; 11] = [
    "setting",
    "features",
    "instance",
    "expert_regret",
    "teaching_regret",
    "expert_kl",
    "teaching_kl",
    "expert_theta_error",
    "teaching_theta_error",
    "expert_demonstration_return",
    "teaching_demonstration_return",
];

const COLUMNS: [&str; 10] = [
    "features",
    "eta",
    "metric",
    "expert",
    "expert_ci",
    "teaching",
    "teaching_ci",
    "difference",
    "difference_ci",
    "teaching_better",
];

const METRICS: [&str; 4] = ["regret", "kl", "theta_error", "demonstration_return"];

/// The paper's robot: MaxEnt IRL (prior N(0, I/3), 200 iterations) on the demonstration, then deployed on the
/// path optimal for its estimate.
fn robot(inst: &Instance, demo: Vec<usize>) -> Outcome {
    let m = &inst.mdp;
    let (theta_hat, _) = crate::learn::irl::maxent_irl(m, &m.features(&demo), 1.0, 1.0 / 3.0, 200);
    crate::games::apprenticeship::score(inst, demo, theta_hat)
}

/// Instances per job: each instance is seeded by its own index, so the grouping changes no result; a job of a
/// few IRL fits keeps the journal's per-file cost (a file per job) small against the compute.
const INSTANCES_PER_JOB: usize = 8;

/// An apprenticeship study laid out as jobs.
pub struct Plan {
    seed: u64,
    /// The games of the settings: the configured η first, then each sensitivity η.
    settings: Vec<Apprenticeship>,
    /// (setting, N_φ, first instance, end of instances) of every job.
    jobs: Vec<(usize, usize, usize, usize)>,
}

impl Plan {
    /// Validates the study.
    pub fn new(cfg: &ApprenticeshipStudy, seed: u64) -> Result<Self> {
        let base = cfg.base();
        base.check()?;
        let mut settings = vec![base.clone()];
        for &eta in &cfg.eta_sensitivity {
            let c = Apprenticeship {
                eta,
                instances: cfg.sensitivity_instances.unwrap_or(base.instances),
                ..base.clone()
            };
            c.check()?;
            settings.push(c);
        }
        // Every job runs soft value iteration (horizon/2 steps over size² states and 4 actions) for 3 × candidates
        // sampled paths and the IRL fit's iterations.
        let instances: usize = settings
            .iter()
            .map(|c| c.features.len() * c.instances)
            .sum();
        let per_job = (base.horizon * base.size * base.size * 4) as f64
            * (3.0 * base.candidates as f64 + 200.0);
        crate::limits::check_work(
            "apprenticeship",
            instances as f64 * per_job,
            "this apprenticeship study",
        )?;
        let jobs = settings
            .iter()
            .enumerate()
            .flat_map(|(s, c)| {
                c.features.iter().flat_map(move |&k| {
                    (0..c.instances)
                        .step_by(INSTANCES_PER_JOB)
                        .map(move |i| (s, k, i, (i + INSTANCES_PER_JOB).min(c.instances)))
                })
            })
            .collect();
        Ok(Plan {
            seed,
            settings,
            jobs,
        })
    }

    fn base(&self) -> &Apprenticeship {
        &self.settings[0]
    }

    /// The results' row of (N_φ `k`, the configured η, `metric`).
    fn find(t: &Table, k: usize, eta: f64, metric: &str) -> Option<usize> {
        (0..t.rows.len()).find(|&i| {
            t.num(i, "features") == Some(k as f64)
                && t.num(i, "eta") == Some(eta)
                && t.text(i, "metric") == metric
        })
    }
}

impl Experiment for Plan {
    fn jobs(&self) -> usize {
        self.jobs.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let (s, k, i0, i1) = self.jobs[j];
        let cfg = &self.settings[s];
        let mut out = Table::new(&JOB_COLUMNS);
        for i in i0..i1 {
            let inst = instance(cfg, k, self.seed, i as u64);
            let hseed = derive_seed(self.seed, 1000 + k as u64, i as u64);
            let e = robot(&inst, demonstration(cfg, &inst, Teacher::Expert, hseed));
            let t = robot(&inst, demonstration(cfg, &inst, Teacher::Teaching, hseed));
            out.push(vec![
                Cell::Num(s as f64),
                Cell::Num(k as f64),
                Cell::Num(i as f64),
                Cell::Num(e.regret),
                Cell::Num(t.regret),
                Cell::Num(e.kl),
                Cell::Num(t.kl),
                Cell::Num(e.theta_error),
                Cell::Num(t.theta_error),
                Cell::Num(e.demonstration_return),
                Cell::Num(t.demonstration_return),
            ]);
        }
        Ok(out)
    }

    fn rows(&self) -> usize {
        self.settings.len() * self.base().features.len() * METRICS.len()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS);
        for c in &self.settings {
            for &k in &c.features {
                for m in METRICS {
                    let mut row = vec![Cell::Num(0.0); COLUMNS.len()];
                    row[0] = Cell::Num(k as f64);
                    row[1] = Cell::Num(c.eta);
                    row[2] = Cell::Text(m.into());
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
        super::check_columns(t, &JOB_COLUMNS)?;
        let (s, k, i0, i1) = self.jobs[j];
        let keys = |r: usize| [s as f64, k as f64, (i0 + r) as f64];
        if t.rows.len() != i1 - i0
            || (0..t.rows.len()).any(|r| {
                ["setting", "features", "instance"]
                    .iter()
                    .zip(keys(r))
                    .any(|(c, w)| t.num(r, c) != Some(w))
            })
        {
            return Err(format!(
                "not the rows of setting {s}, N_φ {k}, instances {i0}..{i1}"
            ));
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let mut summary = Table::new(&COLUMNS);
        for (s, c) in self.settings.iter().enumerate() {
            for &k in &c.features {
                let rows: Vec<&Table> = self
                    .jobs
                    .iter()
                    .zip(&parts)
                    .filter(|((js, jk, _, _), _)| *js == s && *jk == k)
                    .map(|(_, p)| p)
                    .collect();
                for m in METRICS {
                    let col = |who: &str| -> Vec<f64> {
                        let name = format!("{who}_{m}");
                        rows.iter()
                            .flat_map(|p| {
                                (0..p.rows.len()).map(|r| p.num(r, &name).unwrap_or(f64::NAN))
                            })
                            .collect()
                    };
                    let (e, t) = (col("expert"), col("teaching"));
                    let d: Vec<f64> = e.iter().zip(&t).map(|(a, b)| a - b).collect();
                    let better =
                        e.iter().zip(&t).filter(|(a, b)| b < a).count() as f64 / e.len() as f64;
                    let ((em, ec), (tm, tc), (dm, dc)) = (mean_ci(&e), mean_ci(&t), mean_ci(&d));
                    summary.push(vec![
                        Cell::Num(k as f64),
                        Cell::Num(c.eta),
                        Cell::Text(m.into()),
                        Cell::Num(em),
                        Cell::Num(ec),
                        Cell::Num(tm),
                        Cell::Num(tc),
                        Cell::Num(dm),
                        Cell::Num(dc),
                        Cell::Num(better),
                    ]);
                }
            }
        }
        Ok(summary)
    }

    fn extra_tables(&self) -> &'static [&'static str] {
        &["instances"]
    }

    fn assemble_extra(&self, parts: &[Table]) -> Result<Vec<Table>> {
        let mut per = Table::new(&JOB_COLUMNS[1..]);
        for ((s, _, _, _), p) in self.jobs.iter().zip(parts) {
            if *s == 0 {
                for row in &p.rows {
                    per.push(row[1..].to_vec());
                }
            }
        }
        Ok(vec![per])
    }

    fn claims(&self, summary: &Table, _extra: &[Table]) -> Vec<Verdict> {
        // The paper's claim, at the configured η: teaching beats expert demonstration (a paired difference whose
        // 95% interval excludes 0). Checked for what it reproduces; see the summary for every metric.
        let mut checks = Vec::new();
        let eta = self.base().eta;
        for &k in &self.base().features {
            for m in ["kl", "theta_error"] {
                if let Some(i) = Self::find(summary, k, eta, m) {
                    let (d, c) = (
                        summary.num(i, "difference").unwrap_or(0.0),
                        summary.num(i, "difference_ci").unwrap_or(0.0),
                    );
                    checks.push((
                        format!("N_φ = {k}: teaching lowers {m} against expert demonstration"),
                        d - c > 0.0,
                        format!("expert − teaching = {} ± {}", fmt_num(d), fmt_num(c)),
                    ));
                }
            }
            // The teacher gives up reward in the demonstration itself.
            if let Some(i) = Self::find(summary, k, eta, "demonstration_return") {
                let d = summary.num(i, "difference").unwrap_or(0.0);
                checks.push((
                    format!("N_φ = {k}: the teaching demonstration earns less than the expert's (it is not the best response to θ alone)"),
                    d > 0.0,
                    format!("expert − teaching = {}", fmt_num(d)),
                ));
            }
        }
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
        let base = self.base();
        let mut files = Vec::new();
        if !plots {
            return Ok(files);
        }
        // Figure 1: one instance with three features — the reward map, both demonstrations, the robot's paths.
        let inst = instance(base, 3, self.seed, 0);
        let hseed = derive_seed(self.seed, 1003, 0);
        let e = robot(&inst, demonstration(base, &inst, Teacher::Expert, hseed));
        let t = robot(&inst, demonstration(base, &inst, Teacher::Teaching, hseed));
        let reward = inst.mdp.rewards(&inst.theta);
        let panel = |title: &str, o: &Outcome| GridPanel {
            title: title.into(),
            size: base.size,
            reward: reward.clone(),
            paths: vec![
                ("human (learning phase)".into(), 0, o.demo.clone()),
                ("robot (deployment)".into(), 1, o.robot.clone()),
            ],
            start: inst.mdp.start,
            centres: inst.centres.clone(),
        };
        files.extend(trajectories(
            out,
            "hm2016_trajectories",
            "Apprenticeship CIRL: expert demonstration vs teaching (reward: red high, blue low)",
            &[
                panel(&format!("expert: regret {}", fmt_num(e.regret)), &e),
                panel(&format!("teaching: regret {}", fmt_num(t.regret)), &t),
            ],
        )?);
        // Results figure: per metric, expert vs teaching for each N_φ at the configured η.
        let panels: Vec<BarPanel> = ["regret", "kl", "theta_error"]
            .iter()
            .map(|m| BarPanel {
                title: m
                    .replace("theta_error", "‖θ − θ̂‖")
                    .replace("kl", "KL(θ ‖ θ̂)"),
                groups: base
                    .features
                    .iter()
                    .filter_map(|&k| {
                        let i = Self::find(summary, k, base.eta, m)?;
                        Some(BarGroup {
                            label: format!("N_φ = {k}"),
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
            &format!("Apprenticeship CIRL, η = {} (95% intervals)", base.eta),
            &panels,
        )?);
        Ok(files)
    }

    fn summary_section(
        &self,
        results: Option<&Table>,
        _frontier: Option<&Table>,
        _extra: &[Table],
    ) -> String {
        let Some(summary) = results else {
            return String::new();
        };
        format!(
            "## Expert demonstration against teaching\n\nOn the same θ and features ({} instances per N_φ; sensitivity rows at other η use fewer). difference = expert − teaching (positive: teaching better, except for demonstration_return, where positive means the teacher gave up reward).\n\n{}\n\n",
            self.base().instances,
            summary.to_markdown(
                &[
                    "features",
                    "eta",
                    "metric",
                    "expert",
                    "teaching",
                    "difference",
                    "difference_ci",
                    "teaching_better"
                ],
                &(0..summary.rows.len()).collect::<Vec<_>>()
            )
        )
    }
}
