//! Reproductions that are not sweeps: each runs its own computation from configs in experiments/reproduce/,
//! writes `results.csv` and `summary.md` (and plots where the paper has figures) into the output directory, and
//! checks the values the paper (or the config) states.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::kinds::mean_ci;
use super::table::fmt_num;
use super::{RunOptions, write_atomic};
use crate::error::{Error, Result};

/// (claim, passed, detail) of one check.
pub type Check = (String, bool, String);

/// What a study produced.
#[derive(Debug, Clone)]
pub struct StudyOutcome {
    /// (claim, passed, detail).
    pub checks: Vec<(String, bool, String)>,
    pub files: Vec<PathBuf>,
    pub rows: usize,
    pub seconds: f64,
}

/// A named study.
pub struct Study {
    pub name: &'static str,
    pub title: &'static str,
    pub run: fn(&Path, &RunOptions) -> Result<StudyOutcome>,
}

/// The built-in studies.
pub const STUDIES: [Study; 1] = [Study {
    name: "hm2016",
    title: "Apprenticeship CIRL: teaching beats expert demonstration (Hadfield-Menell et al. 2016)",
    run: hm2016,
}];

/// The study named `name`.
pub fn study(name: &str) -> Option<&'static Study> {
    STUDIES.iter().find(|s| s.name == name)
}

/// Appends the checks to the summary, writes it, and returns the outcome.
fn finish(
    out: &Path,
    mut md: String,
    checks: Vec<Check>,
    mut files: Vec<PathBuf>,
    rows: usize,
    start: Instant,
) -> Result<StudyOutcome> {
    md.push_str("\n## Checks\n\n");
    for (c, ok, d) in &checks {
        let _ = writeln!(md, "- [{}] {c}: {d}", if *ok { "pass" } else { "FAIL" });
    }
    let p = out.join("summary.md");
    write_atomic(&p, md.as_bytes())?;
    files.push(p);
    super::outdir::record(out, &files)?;
    Ok(StudyOutcome {
        checks,
        files,
        rows,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// Refuses a study `name` that cannot name its output folder by itself.
fn check_name(name: &str) -> Result<()> {
    crate::input::check_identifier(name).map_err(|m| Error::invalid("name", m))
}

fn parse_hm2016(text: &str) -> Result<Hm2016Config> {
    // `flatten` and `deny_unknown_fields` do not mix in serde: check the keys by hand.
    let table: toml::Table =
        toml::from_str(text).map_err(|e| crate::error::toml_error("hm2016", text, &e))?;
    if let Some(toml::Value::Table(a)) = table.get("apprenticeship") {
        for k in a.keys() {
            if ![
                "size",
                "features",
                "width",
                "horizon",
                "eta",
                "candidates",
                "instances",
                "eta_sensitivity",
                "sensitivity_instances",
            ]
            .contains(&k.as_str())
            {
                return Err(Error::invalid(
                    format!("apprenticeship.{k}"),
                    "unknown key; see experiments/reproduce/hm2016/apprenticeship.toml",
                ));
            }
        }
    }
    let cfg: Hm2016Config =
        toml::from_str(text).map_err(|e| crate::error::toml_error("hm2016", text, &e))?;
    check_name(&cfg.name)?;
    cfg.apprenticeship.base.check()?;
    Ok(cfg)
}

/// Validates a study config (`[learning]` or `[apprenticeship]`) without running it, for
/// `cirl run --dry-run`; returns the study's name and kind.
pub fn check_study(text: &str) -> Result<(String, &'static str)> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| crate::error::toml_error("config", text, &e))?;
    let _ = table;
    Ok((parse_hm2016(text)?.name, "apprenticeship study"))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Hm2016Config {
    name: String,
    seed: u64,
    apprenticeship: Hm2016Params,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Hm2016Params {
    #[serde(flatten)]
    base: crate::games::apprenticeship::Apprenticeship,
    #[serde(default)]
    eta_sensitivity: Vec<f64>,
    #[serde(default)]
    sensitivity_instances: Option<usize>,
}

/// The apprenticeship study's config.
pub const HM2016: &str = include_str!("../../experiments/reproduce/hm2016/apprenticeship.toml");

/// Paired statistics of expert demonstration against teaching: per (N_φ, η) and metric, the two means and the
/// mean paired difference (expert − teaching), each with its 95% half-width.
pub fn apprenticeship_tables(
    text: &str,
) -> Result<(
    super::table::Table,
    super::table::Table,
    Vec<crate::games::apprenticeship::Row>,
    Vec<Check>,
)> {
    use super::table::{Cell, Table};
    use crate::games::apprenticeship::{Apprenticeship, Row, run};
    let cfg = parse_hm2016(text)?;
    let base = cfg.apprenticeship.base.clone();
    let rows = run(&base, cfg.seed)?;
    let mut summary = Table::new(&[
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
    ]);
    type Metric = fn(&crate::games::apprenticeship::Outcome) -> f64;
    let metrics: [(&str, Metric); 4] = [
        ("regret", |o| o.regret),
        ("kl", |o| o.kl),
        ("theta_error", |o| o.theta_error),
        ("demonstration_return", |o| o.demonstration_return),
    ];
    let add = |rows: &[Row], eta: f64, summary: &mut Table| {
        for &k in &base.features {
            let rr: Vec<&Row> = rows.iter().filter(|r| r.features == k).collect();
            for (name, f) in metrics {
                let e: Vec<f64> = rr.iter().map(|r| f(&r.expert)).collect();
                let t: Vec<f64> = rr.iter().map(|r| f(&r.teaching)).collect();
                let d: Vec<f64> = e.iter().zip(&t).map(|(a, b)| a - b).collect();
                let better =
                    e.iter().zip(&t).filter(|(a, b)| b < a).count() as f64 / e.len() as f64;
                let ((em, ec), (tm, tc), (dm, dc)) = (mean_ci(&e), mean_ci(&t), mean_ci(&d));
                summary.push(vec![
                    Cell::Num(k as f64),
                    Cell::Num(eta),
                    Cell::Text(name.into()),
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
    };
    add(&rows, base.eta, &mut summary);
    for &eta in &cfg.apprenticeship.eta_sensitivity {
        let c = Apprenticeship {
            eta,
            instances: cfg
                .apprenticeship
                .sensitivity_instances
                .unwrap_or(base.instances),
            ..base.clone()
        };
        add(&run(&c, cfg.seed)?, eta, &mut summary);
    }
    let mut per = Table::new(&[
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
    ]);
    for r in &rows {
        per.push(vec![
            Cell::Num(r.features as f64),
            Cell::Num(r.instance as f64),
            Cell::Num(r.expert.regret),
            Cell::Num(r.teaching.regret),
            Cell::Num(r.expert.kl),
            Cell::Num(r.teaching.kl),
            Cell::Num(r.expert.theta_error),
            Cell::Num(r.teaching.theta_error),
            Cell::Num(r.expert.demonstration_return),
            Cell::Num(r.teaching.demonstration_return),
        ]);
    }
    // The paper's claim, at the configured η: teaching beats expert demonstration (a paired difference whose 95%
    // interval excludes 0). Checked for what it reproduces; see the summary for every metric.
    let mut checks = Vec::new();
    let find = |k: usize, m: &str| {
        (0..summary.rows.len()).find(|&i| {
            summary.num(i, "features") == Some(k as f64)
                && summary.num(i, "eta") == Some(base.eta)
                && summary.text(i, "metric") == m
        })
    };
    for &k in &base.features {
        for m in ["kl", "theta_error"] {
            if let Some(i) = find(k, m) {
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
        if let Some(i) = find(k, "demonstration_return") {
            let d = summary.num(i, "difference").unwrap_or(0.0);
            checks.push((
                format!("N_φ = {k}: the teaching demonstration earns less than the expert's (it is not the best response to θ alone)"),
                d > 0.0,
                format!("expert − teaching = {}", fmt_num(d)),
            ));
        }
    }
    Ok((summary, per, rows, checks))
}

fn hm2016(out: &Path, opts: &RunOptions) -> Result<StudyOutcome> {
    apprenticeship_study(HM2016, out, opts)
}

/// Runs an apprenticeship study from its config text (`cirl run` on a config with an `[apprenticeship]` table).
pub fn apprenticeship_study(text: &str, out: &Path, opts: &RunOptions) -> Result<StudyOutcome> {
    use super::figures::{BarGroup, BarPanel, GridPanel, bars, trajectories};
    use crate::games::apprenticeship::{Teacher, demonstration, instance, score};
    let start = Instant::now();
    let _lock = super::outdir::lock(out)?;
    let (summary, per, _rows, checks) = apprenticeship_tables(text)?;
    let cfg = parse_hm2016(text)?;
    let base = &cfg.apprenticeship.base;
    let mut files = Vec::new();
    for (name, t) in [("results.csv", &summary), ("instances.csv", &per)] {
        let p = out.join(name);
        t.write_csv(&p)?;
        files.push(p);
    }
    if !opts.no_plots {
        // Figure 1: one instance with three features — the reward map, both demonstrations, the robot's paths.
        let inst = instance(base, 3, cfg.seed, 0);
        let hseed = crate::rng::derive_seed(cfg.seed, 1003, 0);
        let e = score(&inst, demonstration(base, &inst, Teacher::Expert, hseed));
        let t = score(&inst, demonstration(base, &inst, Teacher::Teaching, hseed));
        let reward = inst.mdp.rewards(&inst.theta);
        let panel = |title: &str, o: &crate::games::apprenticeship::Outcome| GridPanel {
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
                        let i = (0..summary.rows.len()).find(|&i| {
                            summary.num(i, "features") == Some(k as f64)
                                && summary.num(i, "eta") == Some(base.eta)
                                && summary.text(i, "metric") == *m
                        })?;
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
    }
    let rows_idx: Vec<usize> = (0..summary.rows.len()).collect();
    let md = format!(
        "# Hadfield-Menell et al. 2016: apprenticeship CIRL\n\nExpert demonstration against teaching on the same θ and features ({} instances per N_φ; sensitivity rows at other η use fewer). difference = expert − teaching (positive: teaching better, except for demonstration_return, where positive means the teacher gave up reward).\n\n{}\n",
        base.instances,
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
            &rows_idx
        )
    );
    finish(out, md, checks, files, per.rows.len(), start)
}
