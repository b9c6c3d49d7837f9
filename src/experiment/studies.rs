//! Reproductions that are not sweeps: each runs its own computation from configs in experiments/reproduce/,
//! writes `results.csv` and `summary.md` (and plots where the paper has figures) into the output directory, and
//! checks the values the paper (or the config) states.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::table::fmt_num;
use super::{RunOptions, write_atomic};
use crate::error::{Error, Result};

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
    name: "garber2025",
    title: "Partially observable off-switch games: File Deletion and the paper's claims (Garber et al. 2025)",
    run: garber2025,
}];

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
    let mut files = vec![p];
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
        rows: GARBER2025.len(),
        seconds: start.elapsed().as_secs_f64(),
    })
}
