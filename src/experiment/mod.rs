//! Experiments: a TOML config in, a directory of results out.
//!
//! `run` writes into the output directory:
//! - `results.csv` — one row per game of the sweep (or per (|A|, σ) for the designer study);
//! - `frontier.csv` — where Δ changes sign in every slice, by root finding (sweeps with `[frontier]`);
//! - the plots, each as SVG and PNG;
//! - `config.resolved.toml` — the config with every default filled in, to rerun exactly;
//! - `summary.md` — what was run, the frontier, the checks against the paper, and the files.
//!
//! Every file is written to a temporary name and renamed, so an interrupted run leaves no half-written file.

pub mod config;
pub mod designer;
pub mod figures;
pub mod plot;
pub mod studies;
pub mod sweep;
pub mod table;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::error::{Error, Result};
use config::{Check, Config};
use table::{Table, fmt_num};

/// Writes `bytes` to `path` atomically (temporary file in the same directory, then rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

/// The built-in reproductions: (name, config text).
pub const REPRODUCTIONS: [(&str, &str); 5] = [
    (
        "hm2017-fig2",
        include_str!("../../experiments/reproduce/hm2017/fig2.toml"),
    ),
    (
        "hm2017-fig2-contour",
        include_str!("../../experiments/reproduce/hm2017/fig2-contour.toml"),
    ),
    (
        "hm2017-fig3",
        include_str!("../../experiments/reproduce/hm2017/fig3.toml"),
    ),
    (
        "hm2017-fig4",
        include_str!("../../experiments/reproduce/hm2017/fig4.toml"),
    ),
    (
        "wangberg2017-p-star",
        include_str!("../../experiments/reproduce/wangberg2017/p-star.toml"),
    ),
];

/// The config of a built-in reproduction.
pub fn reproduction(name: &str) -> Result<Config> {
    match REPRODUCTIONS.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => config::parse(text, &format!("reproduction {n}")),
        None => Err(Error::invalid(
            "NAME",
            format!(
                "no reproduction named {name:?}; `cirl list` shows them: {}",
                REPRODUCTIONS
                    .iter()
                    .map(|r| r.0)
                    .chain(studies::STUDIES.iter().map(|s| s.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// Reads and parses a config file.
pub fn load(path: &Path) -> Result<Config> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    config::parse(&text, &path.display().to_string())
}

/// Options of a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Show a progress bar.
    pub progress: bool,
    /// Skip the plots (for quick checks).
    pub no_plots: bool,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub results: Table,
    pub frontier: Option<Table>,
    /// (claim, passed, detail) for each `[[check]]`.
    pub checks: Vec<(String, bool, String)>,
    pub files: Vec<PathBuf>,
    pub seconds: f64,
}

/// Runs an experiment and writes its outputs into `out`.
pub fn run(cfg: &Config, out: &Path, opts: &RunOptions) -> Result<Outcome> {
    let start = Instant::now();
    let (results, frontier) = compute(cfg, opts.progress)?;
    std::fs::create_dir_all(out).map_err(|source| Error::Io {
        path: out.to_path_buf(),
        source,
    })?;
    let mut files = Vec::new();
    let p = out.join("results.csv");
    results.write_csv(&p)?;
    files.push(p);
    if let Some(f) = &frontier {
        let p = out.join("frontier.csv");
        f.write_csv(&p)?;
        files.push(p);
    }
    if !opts.no_plots {
        let title = if cfg.title.is_empty() {
            cfg.name.clone()
        } else {
            cfg.title.clone()
        };
        for pl in &cfg.plot {
            files.extend(plot::draw(out, pl, &results, frontier.as_ref(), &title)?);
        }
    }
    let resolved =
        toml::to_string_pretty(cfg).map_err(|e| Error::invalid("config", e.to_string()))?;
    let p = out.join("config.resolved.toml");
    write_atomic(&p, resolved.as_bytes())?;
    files.push(p);
    let checks = cfg
        .check
        .iter()
        .map(|c| check(c, &results))
        .collect::<Vec<_>>();
    let seconds = start.elapsed().as_secs_f64();
    let mut outcome = Outcome {
        results,
        frontier,
        checks,
        files,
        seconds,
    };
    let p = out.join("summary.md");
    outcome.files.push(p.clone());
    write_atomic(&p, summary(cfg, &outcome).as_bytes())?;
    Ok(outcome)
}

/// Computes the results (and frontier) without writing anything.
pub fn compute(cfg: &Config, progress: bool) -> Result<(Table, Option<Table>)> {
    if let Some(s) = &cfg.sweep {
        let points = sweep::expand(s)?;
        let (table, vals) = sweep::evaluate(&points, progress)?;
        let frontier = match &cfg.frontier {
            Some(f) => Some(sweep::frontier(&points, &vals, &f.along)?),
            None => None,
        };
        Ok((table, frontier))
    } else if let Some(d) = &cfg.designer {
        Ok((designer::run(d, cfg.seed)?, None))
    } else {
        Err(Error::invalid(
            "config",
            "needs a [sweep] or [designer] table",
        ))
    }
}

/// Evaluates one `[[check]]` against the results.
pub fn check(c: &Check, t: &Table) -> (String, bool, String) {
    let rows: Vec<usize> = (0..t.rows.len())
        .filter(|&i| {
            c.at.iter().all(|(k, v)| {
                t.num(i, k)
                    .is_some_and(|x| (x - v).abs() <= 1e-9 * v.abs().max(1.0))
            })
        })
        .collect();
    if rows.is_empty() {
        return (c.claim.clone(), false, format!("no row matches {:?}", c.at));
    }
    let mut ok = true;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &i in &rows {
        let Some(x) = t.num(i, &c.column) else {
            return (
                c.claim.clone(),
                false,
                format!("column {:?} is empty or missing", c.column),
            );
        };
        let mut good = true;
        if let Some(v) = c.value {
            good &= (x - v).abs() <= c.tol;
        }
        if let Some(m) = c.min {
            good &= x >= m;
        }
        if let Some(m) = c.max {
            good &= x <= m;
        }
        ok &= good;
        lo = lo.min(x);
        hi = hi.max(x);
    }
    let worst = if lo == hi {
        format!("{} = {}", c.column, fmt_num(lo))
    } else {
        format!("{} in [{}, {}]", c.column, fmt_num(lo), fmt_num(hi))
    };
    let expect = match (c.value, c.min, c.max) {
        (Some(v), _, _) => format!("expected {} ± {}", fmt_num(v), fmt_num(c.tol)),
        (None, Some(a), Some(b)) => format!("expected in [{}, {}]", fmt_num(a), fmt_num(b)),
        (None, Some(a), None) => format!("expected ≥ {}", fmt_num(a)),
        (None, None, Some(b)) => format!("expected ≤ {}", fmt_num(b)),
        _ => "no bound given".into(),
    };
    (
        c.claim.clone(),
        ok,
        format!("{worst} over {} row(s); {expect}", rows.len()),
    )
}

fn summary(cfg: &Config, o: &Outcome) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {}\n",
        if cfg.title.is_empty() {
            &cfg.name
        } else {
            &cfg.title
        }
    );
    if !cfg.paper.is_empty() {
        let _ = writeln!(s, "Reproduces: {}\n", cfg.paper);
    }
    if !cfg.description.is_empty() {
        let _ = writeln!(s, "{}\n", cfg.description.trim());
    }
    let _ = writeln!(
        s,
        "Run `{}` in {:.2} s: {} rows in results.csv.\n",
        cfg.name,
        o.seconds,
        o.results.rows.len()
    );
    if let Some(f) = &o.frontier {
        let roots: Vec<usize> = (0..f.rows.len())
            .filter(|&i| f.text(i, "kind") == "root")
            .collect();
        let ties = f.rows.len() - roots.len();
        let _ = writeln!(
            s,
            "## Frontier (where Δ changes sign, along `{}`)\n\n{} roots by Brent's method, {} tie stretches (|Δ| within tolerance).\n",
            cfg.frontier
                .as_ref()
                .map(|f| f.along.as_str())
                .unwrap_or(""),
            roots.len(),
            ties
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
    }
    if cfg.designer.is_some() {
        let _ = writeln!(
            s,
            "## Value and incentive to defer by the σ the robot is told\n"
        );
        let t = &o.results;
        for a in t.distinct("actions") {
            let rows: Vec<usize> = (0..t.rows.len())
                .filter(|&i| t.text(i, "actions") == a)
                .collect();
            if let Some(&best) = rows.iter().max_by(|&&x, &&y| {
                t.num(x, "value")
                    .unwrap()
                    .total_cmp(&t.num(y, "value").unwrap())
            }) {
                let _ = writeln!(
                    s,
                    "- |A| = {a}: V is highest at σ = {} (V = {}, 95% CI [{}, {}]); calibrated σ* = {}.",
                    fmt_num(t.num(best, "sigma").unwrap()),
                    fmt_num(t.num(best, "value").unwrap()),
                    fmt_num(t.num(best, "value_ci_low").unwrap()),
                    fmt_num(t.num(best, "value_ci_high").unwrap()),
                    fmt_num(t.num(best, "calibrated_sigma").unwrap()),
                );
            }
        }
        s += "\n";
    }
    if !o.checks.is_empty() {
        let _ = writeln!(
            s,
            "## Checks against the paper\n\n| claim | result | detail |\n|---|---|---|"
        );
        for (claim, ok, detail) in &o.checks {
            let _ = writeln!(
                s,
                "| {claim} | {} | {detail} |",
                if *ok { "pass" } else { "FAIL" }
            );
        }
        s += "\n";
    }
    let _ = writeln!(s, "## Files\n");
    for f in &o.files {
        let _ = writeln!(
            s,
            "- {}",
            f.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        );
    }
    s
}
