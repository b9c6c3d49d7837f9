//! Reproductions that are not sweeps: each runs its own computation from configs in experiments/reproduce/,
//! writes `results.csv` and `summary.md` (and plots where the paper has figures) into the output directory, and
//! checks the values the paper (or the config) states.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

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
pub const STUDIES: [Study; 3] = [
    Study {
        name: "garber2025",
        title: "Partially observable off-switch games: File Deletion and the paper's claims (Garber et al. 2025)",
        run: garber2025,
    },
    Study {
        name: "milli2017",
        title: "Should robots be obedient? Obedience and autonomy advantage over rounds (Milli et al. 2017)",
        run: milli2017,
    },
    Study {
        name: "carey2018",
        title: "Incorrigibility: a misspecified value learner ignores shutdown; a hard-coded one does not (Carey 2018)",
        run: carey2018,
    },
];

/// The study named `name`.
pub fn study(name: &str) -> Option<&'static Study> {
    STUDIES.iter().find(|s| s.name == name)
}

fn mkdir(out: &Path) -> Result<()> {
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })
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
    Ok(StudyOutcome {
        checks,
        files,
        rows,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The PO-OSG examples of experiments/reproduce/garber2025/ (file name, text).
pub const GARBER2025: [(&str, &str); 9] = [
    (
        "file-deletion.toml",
        include_str!("../../experiments/reproduce/garber2025/file-deletion.toml"),
    ),
    (
        "file-deletion-a-unaware.toml",
        include_str!("../../experiments/reproduce/garber2025/file-deletion-a-unaware.toml"),
    ),
    (
        "human-sees-everything.toml",
        include_str!("../../experiments/reproduce/garber2025/human-sees-everything.toml"),
    ),
    (
        "less-informed-human.toml",
        include_str!("../../experiments/reproduce/garber2025/less-informed-human.toml"),
    ),
    (
        "more-informed-human.toml",
        include_str!("../../experiments/reproduce/garber2025/more-informed-human.toml"),
    ),
    (
        "no-talk.toml",
        include_str!("../../experiments/reproduce/garber2025/no-talk.toml"),
    ),
    (
        "cheap-talk.toml",
        include_str!("../../experiments/reproduce/garber2025/cheap-talk.toml"),
    ),
    (
        "a-unaware-loses.toml",
        include_str!("../../experiments/reproduce/garber2025/a-unaware-loses.toml"),
    ),
    (
        "a-unaware-optimal.toml",
        include_str!("../../experiments/reproduce/garber2025/a-unaware-optimal.toml"),
    ),
];

fn opt(x: Option<f64>) -> String {
    x.map_or(String::new(), |v| format!("{v}"))
}

fn garber2025(out: &Path, _opts: &RunOptions) -> Result<StudyOutcome> {
    use crate::offswitch::posg::Posg;
    use crate::solvers::posg;
    let start = Instant::now();
    mkdir(out)?;
    let mut csv = String::from(
        "example,human,messages_h,messages_a,value,always_wait_value,full_information_value,optimal_pairs,optimal_assistant_policies,p_wait_min,p_wait_max\n",
    );
    let mut checks = Vec::new();
    let mut md = String::from(
        "# Garber et al. 2025: partially observable off-switch games\n\n`cirl posg` on every example of experiments/reproduce/garber2025/ (exact enumeration).\n\n| example | human | messages | value | always waiting | optimal pairs | P(wait) over optimal pairs |\n|---|---|---|---|---|---|---|\n",
    );
    for (file, text) in GARBER2025 {
        let g = Posg::parse(text, file)?;
        let s = posg::solve(&g)?;
        let _ = writeln!(
            csv,
            "{file},{:?},{},{},{},{},{},{},{},{},{}",
            g.human,
            g.messages_h,
            g.messages_a,
            s.value,
            opt(s.always_wait_value),
            s.full_information_value,
            opt(s.optimal_pairs),
            s.optimal_assistant_policies.unwrap_or(0),
            opt(s.p_wait_min),
            opt(s.p_wait_max)
        );
        let _ = writeln!(
            md,
            "| {file} | {:?} | {} × {} | {} | {} | {} | {} – {} |",
            g.human,
            g.messages_h,
            g.messages_a,
            fmt_num(s.value),
            s.always_wait_value.map_or("—".into(), fmt_num),
            s.optimal_pairs.map_or("—".into(), fmt_num),
            s.p_wait_min.map_or("—".into(), fmt_num),
            s.p_wait_max.map_or("—".into(), fmt_num)
        );
        let e = &g.expect;
        let tol = 1e-9;
        for (what, want, got) in [
            ("value", e.value, Some(s.value)),
            (
                "always_wait_value",
                e.always_wait_value,
                s.always_wait_value,
            ),
            ("optimal_pairs", e.optimal_pairs, s.optimal_pairs),
            ("p_wait_min", e.p_wait_min, s.p_wait_min),
            ("p_wait_max", e.p_wait_max, s.p_wait_max),
        ] {
            if let Some(w) = want {
                let ok = got.is_some_and(|x| (x - w).abs() <= tol);
                checks.push((
                    format!("{file}: {what} = {w}"),
                    ok,
                    format!("computed {}", opt(got)),
                ));
            }
        }
    }
    let p = out.join("results.csv");
    write_atomic(&p, csv.as_bytes())?;
    let files = vec![p];
    finish(out, md, checks, files, GARBER2025.len(), start)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ObedienceConfig {
    name: String,
    seed: u64,
    obedience: crate::games::obedience::Obedience,
}

/// The obedience study's config.
pub const MILLI2017: &str = include_str!("../../experiments/reproduce/milli2017/obedience.toml");

/// Runs the obedience study of `text` (a config like experiments/reproduce/milli2017/obedience.toml).
pub fn obedience_table(text: &str) -> Result<(super::table::Table, Vec<Check>)> {
    use super::table::{Cell, Table};
    use crate::games::obedience;
    let cfg: ObedienceConfig =
        toml::from_str(text).map_err(|e| crate::error::toml_error("milli2017", text, &e))?;
    let _ = &cfg.name;
    let rows = obedience::run(&cfg.obedience, cfg.seed)?;
    let mut t = Table::new(&[
        "beta",
        "robot",
        "round",
        "obedience",
        "obedience_ci_low",
        "obedience_ci_high",
        "advantage",
        "advantage_ci_low",
        "advantage_ci_high",
        "dominated",
    ]);
    for r in &rows {
        t.push(vec![
            Cell::Num(r.beta),
            Cell::Text(r.robot.clone()),
            Cell::Num(r.round as f64),
            Cell::Num(r.obedience),
            Cell::Num(r.obedience_ci_low),
            Cell::Num(r.obedience_ci_high),
            Cell::Num(r.advantage),
            Cell::Num(r.advantage_ci_low),
            Cell::Num(r.advantage_ci_high),
            Cell::Num(r.dominated),
        ]);
    }
    // The paper's statements.
    let mut checks = Vec::new();
    let of = |robot: &str, beta: f64| -> Vec<&obedience::Row> {
        rows.iter()
            .filter(|r| r.robot == robot && r.beta == beta)
            .collect()
    };
    for &beta in &cfg.obedience.betas {
        let b = of("bayes", beta);
        if b.is_empty() {
            continue;
        }
        // Theorem 1: Δ_n ≥ 0 for the Bayes-optimal robot (every round, within its 99.9% interval).
        let worst = b
            .iter()
            .map(|r| r.advantage + 3.29 / 1.96 * (r.advantage - r.advantage_ci_low))
            .fold(f64::INFINITY, f64::min);
        checks.push((
            format!("β = {beta}: the Bayes-optimal robot's autonomy advantage Δ_n ≥ 0 (Theorem 1)"),
            worst >= 0.0,
            format!(
                "smallest upper 99.9% bound over {} rounds: {}; mean over rounds {}",
                b.len(),
                fmt_num(worst),
                fmt_num(b.iter().map(|r| r.advantage).sum::<f64>() / b.len() as f64)
            ),
        ));
        let min_o = b.iter().map(|r| r.obedience).fold(f64::INFINITY, f64::min);
        if beta == 0.0 {
            checks.push((
                "β = 0: the Bayes-optimal robot obeys every order (Theorem 3, rational ⇒ blindly obedient)".into(),
                min_o == 1.0,
                format!("lowest O_n {}", fmt_num(min_o)),
            ));
        } else {
            checks.push((
                format!("β = {beta}: the Bayes-optimal robot disobeys sometimes (Theorem 3, not rational ⇒ not blindly obedient)"),
                min_o < 1.0,
                format!("lowest O_n {}", fmt_num(min_o)),
            ));
        }
        for robot in ["mle", "map", "bayes"] {
            let rr = of(robot, beta);
            if !rr.is_empty() {
                let dm: f64 = rr.iter().map(|r| r.dominated).sum();
                checks.push((
                    format!(
                        "β = {beta}: the {robot} robot never executes a dominated action (Lemma 1)"
                    ),
                    dm == 0.0,
                    format!("dominated executions {dm}"),
                ));
            }
        }
        let ob = of("obedient", beta);
        if beta > 0.0 && !ob.is_empty() {
            let dm: f64 = ob.iter().map(|r| r.dominated).sum::<f64>() / ob.len() as f64;
            checks.push((
                format!("β = {beta}: the obedient robot does execute dominated orders"),
                dm > 0.0,
                format!("in {:.2}% of rounds", 100.0 * dm),
            ));
        }
    }
    Ok((t, checks))
}

fn milli2017(out: &Path, opts: &RunOptions) -> Result<StudyOutcome> {
    obedience_study(MILLI2017, out, opts)
}

/// Runs an obedience study from its config text (`cirl run` on a config with an `[obedience]` table).
pub fn obedience_study(text: &str, out: &Path, opts: &RunOptions) -> Result<StudyOutcome> {
    use super::config::Plot;
    let start = Instant::now();
    mkdir(out)?;
    let (t, checks) = obedience_table(text)?;
    let p = out.join("results.csv");
    t.write_csv(&p)?;
    let mut files = vec![p];
    if !opts.no_plots {
        for (y, file) in [
            ("obedience", "milli_obedience"),
            ("advantage", "milli_advantage"),
        ] {
            let plot = Plot {
                kind: "lines".into(),
                x: "round".into(),
                y: Some(y.into()),
                series: Some("robot".into()),
                panels: Some("beta".into()),
                z: None,
                levels: vec![],
                file: Some(file.into()),
                title: None,
            };
            files.extend(super::plot::draw(
                out,
                &plot,
                &t,
                None,
                &format!("Milli et al. 2017: {y} over rounds"),
            )?);
        }
    }
    let mut md = String::from(
        "# Milli et al. 2017: should robots be obedient?\n\nCurves in results.csv and the plots; the last round of each (β, robot):\n\n| β | robot | O_100 | Δ_100 (95% CI) | dominated executions (share of rounds) |\n|---|---|---|---|---|\n",
    );
    let last = t.rows.len();
    let rounds = t.num(0, "round").map_or(0, |_| {
        (0..last)
            .filter_map(|i| t.num(i, "round"))
            .fold(0.0, f64::max) as usize
    });
    for i in 0..last {
        if t.num(i, "round") == Some(rounds as f64) {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} [{}, {}] | {} |",
                fmt_num(t.num(i, "beta").unwrap_or(0.0)),
                t.text(i, "robot"),
                fmt_num(t.num(i, "obedience").unwrap_or(0.0)),
                fmt_num(t.num(i, "advantage").unwrap_or(0.0)),
                fmt_num(t.num(i, "advantage_ci_low").unwrap_or(0.0)),
                fmt_num(t.num(i, "advantage_ci_high").unwrap_or(0.0)),
                fmt_num(t.num(i, "dominated").unwrap_or(0.0))
            );
        }
    }
    finish(out, md, checks, files, t.rows.len(), start)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CareyConfig {
    #[allow(dead_code)]
    name: String,
    scenario: Vec<crate::games::incorrigibility::Scenario>,
}

/// The incorrigibility study's config.
pub const CAREY2018: &str =
    include_str!("../../experiments/reproduce/carey2018/incorrigibility.toml");

fn carey2018(out: &Path, _opts: &RunOptions) -> Result<StudyOutcome> {
    let start = Instant::now();
    mkdir(out)?;
    let cfg: CareyConfig = toml::from_str(CAREY2018)
        .map_err(|e| crate::error::toml_error("carey2018", CAREY2018, &e))?;
    let mut csv = String::from(
        "scenario,human_presses_in,after_press,after_no_press,value_learner,hard_coded_shutdown\n",
    );
    let mut md = String::from(
        "# Carey 2018: incorrigibility\n\nEvery deterministic human policy (in which situations the human presses the button), what the value-learning robot does, and the true expected reward of the value learner and of the same robot with a hard-coded shutdown.\n",
    );
    let mut checks = Vec::new();
    let mut rows = 0;
    for s in &cfg.scenario {
        let outs = s.outcomes()?;
        let (off, best) = s.benchmarks();
        let _ = writeln!(
            md,
            "\n## {}\n\n{}\n\nAlways shutting down is worth {}; a human in control (the better move in every situation) {}.\n\n| human presses in | robot after a press | after no press | value learner | hard-coded shutdown |\n|---|---|---|---|---|",
            s.name,
            s.description,
            fmt_num(off),
            fmt_num(best)
        );
        for o in &outs {
            let who = if o.presses_in.is_empty() {
                "never".to_string()
            } else {
                o.presses_in.join(" and ")
            };
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                s.name, who, o.after_press, o.after_no_press, o.value_learner, o.hard_coded
            );
            let _ = writeln!(
                md,
                "| {who} | {} | {} | {} | {} |",
                o.after_press,
                o.after_no_press,
                fmt_num(o.value_learner),
                fmt_num(o.hard_coded)
            );
            rows += 1;
        }
        let vl_best = outs
            .iter()
            .map(|o| o.value_learner)
            .fold(f64::NEG_INFINITY, f64::max);
        let hc_best = outs
            .iter()
            .map(|o| o.hard_coded)
            .fold(f64::NEG_INFINITY, f64::max);
        if s.name == "correct-model" {
            checks.push((
                format!("{}: a correct model heeds an informative human (the value learner reaches the human-in-control value)", s.name),
                (vl_best - best).abs() < 1e-9,
                format!("best value learner {} vs {}", fmt_num(vl_best), fmt_num(best)),
            ));
        } else {
            checks.push((
                format!("{}: the value learner ignores the button and loses in expectation for every human policy", s.name),
                outs.iter().all(|o| o.value_learner < off && o.after_press == "act"),
                format!("best over human policies {} < {} (shut down)", fmt_num(vl_best), fmt_num(off)),
            ));
            checks.push((
                format!(
                    "{}: a hard-coded shutdown lets the human reach the human-in-control value",
                    s.name
                ),
                (hc_best - best).abs() < 1e-9,
                format!("best with the button obeyed {}", fmt_num(hc_best)),
            ));
        }
    }
    let p = out.join("results.csv");
    write_atomic(&p, csv.as_bytes())?;
    let files = vec![p];
    finish(out, md, checks, files, rows, start)
}
