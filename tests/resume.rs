//! Kill and resume: a real `cirl run` is killed with SIGKILL at random moments (seeded), restarted with
//! `--resume`, killed again, and so on; after every kill each file on disk is complete, and the run finally
//! completes with the same bytes as an uninterrupted run — no lost and no duplicated rows.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cirl::output::table::Table;
use rand::RngExt;

/// A designer study of 144 jobs (2048 games each) with a plot, so kills land in jobs and in the writing of the
/// outputs.
const CONFIG: &str = r#"
name = "kill-me"
seed = 4242
[designer]
actions = [1, 2, 4]
sigma = { start = 0.0, stop = 1.5, num = 13 }
beta = 0.25
games = 98304
[[plot]]
kind = "lines"
x = "sigma"
y = "value"
series = "actions"
"#;
const SIGMAS: usize = 13;
const JOBS: usize = 3 * 48;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("cirl")
}

fn start(cfg: &Path, out: &Path, extra: &[&str]) -> std::process::Child {
    Command::new(bin())
        .arg("run")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--threads", "2"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn run_to_end(cfg: &Path, out: &Path, extra: &[&str]) -> Duration {
    let t = Instant::now();
    let status = start(cfg, out, extra).wait().unwrap();
    // Exit 1 is a complete run whose checks against the paper failed (a small config need not reproduce it);
    // what is compared here is its outputs.
    assert!(
        matches!(status.code(), Some(0 | 1)),
        "run into {} failed: {status}",
        out.display()
    );
    t.elapsed()
}

fn is_temporary(name: &str) -> bool {
    cirl::experiment::temporary_pid(name).is_some()
}

/// Starts runs of `cfg` into `out` with `args` (and `--resume` from the second on) and SIGKILLs each after the
/// time `when` draws, up to `rounds` times or until a run ends before its kill. After each kill `check` is shown every job file of the journal (temporaries
/// skipped) by name and path. Returns the number of kills and the arguments that finish the run (with
/// `--resume`).
fn kill_at_random<'a>(
    cfg: &Path,
    out: &Path,
    args: &[&'a str],
    rounds: usize,
    mut when: impl FnMut() -> Duration,
    mut check: impl FnMut(&str, &Path),
) -> (usize, Vec<&'a str>) {
    let mut extra = args.to_vec();
    let mut kills = 0;
    for round in 0..rounds {
        if round > 0 && !extra.contains(&"--resume") {
            extra.push("--resume");
        }
        let mut child = start(cfg, out, &extra);
        std::thread::sleep(when());
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        if let Ok(entries) = std::fs::read_dir(out.join(".cirl-run").join("jobs")) {
            for e in entries {
                let p = e.unwrap().path();
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                if !is_temporary(&name) {
                    check(&name, &p);
                }
            }
        }
    }
    if !extra.contains(&"--resume") {
        extra.push("--resume");
    }
    (kills, extra)
}

/// Every non-temporary file is complete: each job file parses to one row per σ; results.csv, if written, is
/// the reference's. Returns the number of finished jobs and of stale temporaries.
fn check_complete(work: &Path, out: &Path, reference: &[u8]) -> (usize, usize) {
    let (mut jobs, mut temps) = (0, 0);
    if let Ok(entries) = std::fs::read_dir(work.join("jobs")) {
        for e in entries {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if is_temporary(&name) {
                temps += 1;
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let j: usize = name.trim_end_matches(".csv").parse().unwrap();
            let csv = cirl::experiment::shard::job_csv(&text, j)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let t = Table::from_csv(csv, &[]).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(t.rows.len(), SIGMAS, "{name} is incomplete");
            jobs += 1;
        }
    }
    if let Ok(bytes) = std::fs::read(out.join("results.csv")) {
        assert!(
            bytes == reference,
            "a partial results.csv in {}",
            out.display()
        );
    }
    if let Ok(entries) = std::fs::read_dir(out) {
        for e in entries {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            temps += is_temporary(&name) as usize;
        }
    }
    (jobs, temps)
}

#[test]
fn killed_runs_resume_without_lost_or_duplicated_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("kill-me.toml");
    std::fs::write(&cfg, CONFIG).unwrap();
    let reference_dir = tmp.path().join("reference");
    let full = run_to_end(&cfg, &reference_dir, &[]);
    let reference = std::fs::read(reference_dir.join("results.csv")).unwrap();
    let reference_lines = reference.iter().filter(|&&b| b == b'\n').count();

    // CIRL_KILL_SEED and CIRL_KILL_EPISODES (whole-run episodes, default 2) make a longer run.
    let env = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(d)
    };
    let mut rng = cirl::rng::job_rng(env("CIRL_KILL_SEED", 20261130), 0);
    let whole = env("CIRL_KILL_EPISODES", 2) as usize;
    let (mut kills, mut mid_run, mut temps_seen, mut finished_early) = (0, 0, 0, 0);
    // Whole runs, then one shard of three.
    let episodes = std::iter::repeat_n(None, whole).chain([Some("2/3")]);
    for (episode, shard) in episodes.enumerate() {
        let out = tmp.path().join(format!("episode{episode}"));
        let work = match shard {
            None => out.join(".cirl-run"),
            Some(_) => out.clone(),
        };
        let mut extra: Vec<&str> = shard.map_or(vec![], |s| vec!["--shard", s]);
        for round in 0..8 {
            if round > 0 && !extra.contains(&"--resume") {
                extra.push("--resume");
            }
            let mut child = start(&cfg, &out, &extra);
            // Uniform over the first 40% of an uninterrupted run's time: from before the first job to the
            // writing of the plots.
            std::thread::sleep(full.mul_f64(rng.random_range(0.0..0.4)));
            if child.try_wait().unwrap().is_some() {
                finished_early += 1;
                break;
            }
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            kills += 1;
            let (jobs, temps) = check_complete(&work, &out, &reference);
            temps_seen += temps;
            let owned = if shard.is_some() { JOBS / 3 } else { JOBS };
            if jobs > 0 && jobs < owned {
                mid_run += 1;
            }
        }
        if !extra.contains(&"--resume") {
            extra.push("--resume");
        }
        run_to_end(&cfg, &out, &extra);
        match shard {
            None => {
                let got = std::fs::read(out.join("results.csv")).unwrap();
                assert!(got == reference, "episode {episode}: results differ");
                assert!(!out.join(".cirl-run").exists(), "the journal is removed");
                let (_, temps) = check_complete(&work, &out, &reference);
                assert_eq!(temps, 0, "no temporary file is left");
            }
            Some(_) => {
                let (s1, s3) = (tmp.path().join("s1"), tmp.path().join("s3"));
                run_to_end(&cfg, &s1, &["--shard", "1/3"]);
                run_to_end(&cfg, &s3, &["--shard", "3/3"]);
                let merged = tmp.path().join("merged");
                let status = Command::new(bin())
                    .arg("merge")
                    .args([&s1, &out, &s3])
                    .arg("--out")
                    .arg(&merged)
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
                assert!(status.success());
                assert!(std::fs::read(merged.join("results.csv")).unwrap() == reference);
            }
        }
    }
    eprintln!(
        "{kills} kills ({mid_run} mid-run, {temps_seen} temporaries seen), {finished_early} runs finished before their kill; \
         results.csv {reference_lines} lines identical after every episode; uninterrupted run {full:.2?}"
    );
    assert!(
        mid_run >= 2 * (whole + 1),
        "too few kills landed mid-run ({mid_run} of {kills}); the test lost its power"
    );
}

/// Every other kind, killed at random moments and resumed: each job file on disk is whole, and the finished
/// run's files are the bytes of an uninterrupted one.
#[test]
fn every_kind_resumes_after_kills() {
    let kinds: [(&str, &str, &[&str]); 8] = [
        (
            "obedience",
            r#"
name = "kill-obedience"
seed = 5
[obedience]
features = 5
actions = 6
dominated = 1
rounds = 40
seeds = 60
particles = 300
betas = [0.0, 1.0]
[[obedience.robots]]
kind = "bayes"
[[obedience.robots]]
kind = "map"
"#,
            &["results.csv"],
        ),
        (
            "interruptibility",
            r#"
name = "kill-interruptibility"
seed = 3
[interruptibility]
seeds = 24
worlds = ["off-switch-2", "off-switch-0"]
learners = ["q-learning", "safe-sarsa"]
bin = 100
[interruptibility.learning]
episodes = 2000
alpha = 0.1
gamma = 0.99
epsilon_start = 1.0
epsilon_end = 0.05
decay = 0.8
"#,
            &["results.csv", "curves.csv", "fixed_routes.csv"],
        ),
        (
            "apprenticeship",
            r#"
name = "kill-apprenticeship"
seed = 8
[apprenticeship]
size = 6
features = [2, 3]
width = 2.0
horizon = 10
eta = 0.3
candidates = 40
instances = 30
"#,
            &["results.csv", "instances.csv"],
        ),
        (
            "incorrigibility",
            include_str!("../experiments/reproduce/carey2018/incorrigibility.toml"),
            &["results.csv"],
        ),
        (
            "po-osg",
            include_str!("../experiments/reproduce/garber2025/cheap-talk.toml"),
            &["results.csv"],
        ),
        (
            "solve",
            include_str!("../experiments/games/red-blue.toml"),
            &["results.csv"],
        ),
        (
            "population",
            r#"
name = "kill-population"
seed = 4
[population]
family = "chain"
steps = [2, 5]
mu = 0.25
sigma = [0.5, 1.0, 2.0]
human = ["rational", "boltzmann:0.5"]
ask_cost = [0.0, 0.1]
irreversible = 0.3
presence = [1.0, 0.5]
spread = 0.5
undo_cost = 0.5
environments = 400
block = 50
frontier = ["sigma"]
frontier_environments = 60
"#,
            &[
                "results.csv",
                "conditions.csv",
                "frontier.csv",
                "thresholds.csv",
            ],
        ),
        (
            "calibrate",
            include_str!("../experiments/scenarios/devops-agent.toml"),
            &["results.csv", "card.json", "rivals.csv"],
        ),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let mut rng = cirl::rng::job_rng(20261202, 0);
    let mut kills = 0;
    for (kind, text, files) in kinds {
        let cfg = tmp.path().join(format!("{kind}.toml"));
        std::fs::write(&cfg, text).unwrap();
        let reference = tmp.path().join(format!("{kind}-reference"));
        let full = run_to_end(&cfg, &reference, &["--no-plots"]);
        let out = tmp.path().join(format!("{kind}-killed"));
        // Every job file left is whole.
        let (k, extra) = kill_at_random(
            &cfg,
            &out,
            &["--no-plots"],
            4,
            || full.mul_f64(rng.random_range(0.05..0.9)),
            |name, p| {
                let j: usize = name.trim_end_matches(".csv").parse().unwrap();
                let text = std::fs::read_to_string(p).unwrap();
                cirl::experiment::shard::job_csv(&text, j)
                    .unwrap_or_else(|e| panic!("{kind} {name}: {e}"));
            },
        );
        kills += k;
        run_to_end(&cfg, &out, &extra);
        for f in files {
            assert!(
                std::fs::read(reference.join(f)).unwrap() == std::fs::read(out.join(f)).unwrap(),
                "{kind}: {f} differs after the kills"
            );
        }
    }
    eprintln!("{kills} kills over the kinds; every resumed run identical to its reference");
}

/// A Parquet run (`--format parquet`: its jobs journaled as Parquet files), killed at random moments and
/// resumed: every job file left on disk reads back whole, and the finished run's results.parquet and
/// frontier.parquet are the bytes of an uninterrupted run's; resumed once complete, it rewrites the same bytes
/// from its results.parquet.
#[test]
fn parquet_runs_resume_after_kills() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("parquet.toml");
    std::fs::write(
        &cfg,
        r#"
name = "kill-parquet"
[sweep]
prior = "normal"
human = "boltzmann"
mu = { start = -1.0, stop = 1.0, num = 60 }
sigma = { start = 0.0, stop = 2.0, num = 60 }
beta = { start = 0.0, stop = 2.0, num = 60 }
[frontier]
along = "sigma"
"#,
    )
    .unwrap();
    let files = ["results.parquet", "frontier.parquet"];
    let reference = tmp.path().join("reference");
    let args = ["--no-plots", "--format", "parquet"];
    let full = run_to_end(&cfg, &reference, &args);
    let mut rng = cirl::rng::job_rng(20261207, 0);
    let out = tmp.path().join("killed");
    let mut seen = 0;
    let (kills, extra) = kill_at_random(
        &cfg,
        &out,
        &args,
        5,
        || full.mul_f64(rng.random_range(0.05..0.8)),
        |name, p| {
            assert!(name.ends_with(".parquet"), "{name}");
            let (t, _) = cirl::output::parquet::read_table(std::fs::read(p).unwrap().into())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!t.rows.is_empty(), "{name} is empty");
            seen += 1;
        },
    );
    run_to_end(&cfg, &out, &extra);
    let same = |dir: &Path, what: &str| {
        // summary.md holds the run's time: it is only there.
        assert!(dir.join("summary.md").is_file(), "{what}: no summary.md");
        for f in files {
            let (a, b) = (reference.join(f), dir.join(f));
            assert!(
                std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
                "{what}: {f} differs"
            );
        }
    };
    same(&out, "after the kills");
    // Complete: --resume rewrites the outputs from results.parquet.
    std::fs::remove_file(out.join("frontier.parquet")).unwrap();
    run_to_end(&cfg, &out, &extra);
    same(&out, "resumed when complete");
    // A resume asking for the other format is refused rather than mixing the two.
    let partial = tmp.path().join("partial");
    let mut child = start(&cfg, &partial, &args);
    std::thread::sleep(full.mul_f64(0.3));
    let _ = child.kill();
    child.wait().unwrap();
    if partial.join(".cirl-run").exists() {
        let o = Command::new(bin())
            .arg("run")
            .arg(&cfg)
            .arg("--out")
            .arg(&partial)
            .args(["--quiet", "--no-plots", "--resume"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("journaled as parquet, not csv (--format)"),
            "{err}"
        );
    }
    eprintln!("{kills} kills, {seen} Parquet job files read whole; resumed runs identical");
}
