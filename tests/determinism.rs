//! Determinism: the same config and seed give the same output bytes at 1, 2 and 4 threads and under any
//! sharding; merging refuses shards that are not one complete run; value-stability pins catch an accidental
//! change in how random numbers are drawn.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn cirl() -> Command {
    Command::cargo_bin("cirl").unwrap()
}

/// A sweep with a frontier (Brent roots and tie stretches), several priors and humans, and costs.
const SWEEP: &str = r#"
name = "det-sweep"
[sweep]
prior = ["normal", "uniform"]
human = ["boltzmann", "rational"]
mu = [-0.25, 0.0, 0.3]
sigma = { start = 0.0, stop = 2.0, num = 41 }
beta = { start = 0.0, stop = 1.5, num = 31 }
cost = [0.0, 0.05]
[frontier]
along = "beta"
"#;

/// A seeded Monte Carlo study whose jobs are summed in order.
const DESIGNER: &str = r#"
name = "det-designer"
seed = 99
[designer]
actions = [1, 3]
sigma = { start = 0.0, stop = 1.5, num = 7 }
beta = 0.25
games = 9000
"#;

/// Milli et al. 2017's obedience study, small: one job per (β, run).
const OBEDIENCE: &str = r#"
name = "det-obedience"
seed = 5
[obedience]
features = 4
actions = 5
dominated = 1
rounds = 6
seeds = 9
particles = 50
betas = [0.0, 1.0]
[[obedience.robots]]
kind = "bayes"
[[obedience.robots]]
kind = "mle"
[[obedience.robots]]
kind = "obedient"
"#;

/// A population of sequential off-switch chains with its three further tables (conditions, frontier along two
/// axes, thresholds), an absent supervisor and a misspecified prior among the conditions.
const POPULATION: &str = r#"
name = "det-population"
seed = 11
[population]
family = "chain"
steps = [1, 3]
mu = 0.25
sigma = [0.5, 1.5]
human = ["boltzmann:0.5"]
ask_cost = 0.1
irreversible = 0.4
presence = [1.0, 0.6]
shift = [0.0, -0.5]
spread = 0.5
undo_cost = 0.5
environments = 120
block = 25
frontier = ["sigma", "shift"]
frontier_environments = 40
"#;

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn run(cfg: &Path, out: &Path, extra: &[&str]) {
    cirl()
        .arg("run")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--no-plots"])
        .args(extra)
        .assert()
        .success();
}

fn bytes(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{}: {e}", dir.join(file).display()))
}

/// A run that may fail its checks (exit 1: a small config need not reproduce the paper), but not its input.
fn run_any(cfg: &Path, out: &Path, extra: &[&str]) {
    cirl()
        .arg("run")
        .arg(cfg)
        .arg("--out")
        .arg(out)
        .args(["--quiet", "--no-plots"])
        .args(extra)
        .assert()
        .code(predicates::ord::lt(2));
}

fn same_bytes_everywhere(text: &str, files: &[&str]) {
    same_bytes_everywhere_as(text, files, "csv")
}

/// [`same_bytes_everywhere`] with the results in `format` (`--format`).
fn same_bytes_everywhere_as(text: &str, files: &[&str], format: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "c.toml", text);
    let reference = tmp.path().join("t1");
    let run_any = |cfg: &Path, out: &Path, extra: &[&str]| {
        run_any(cfg, out, &[extra, &["--format", format]].concat())
    };
    run_any(&cfg, &reference, &["--threads", "1"]);
    assert!(
        !reference.join(".cirl-run").exists(),
        "the journal is removed"
    );
    let mut outs = vec![];
    for t in ["2", "4"] {
        let o = tmp.path().join(format!("t{t}"));
        run_any(&cfg, &o, &["--threads", t]);
        outs.push(o);
    }
    for (n, threads) in [(2usize, "1"), (3, "4"), (7, "2")] {
        let mut dirs = vec![];
        for k in 1..=n {
            let d = tmp.path().join(format!("n{n}-s{k}"));
            run_any(
                &cfg,
                &d,
                &["--shard", &format!("{k}/{n}"), "--threads", threads],
            );
            dirs.push(d);
        }
        dirs.reverse(); // order of the arguments does not matter
        let merged = tmp.path().join(format!("merged{n}"));
        cirl()
            .arg("merge")
            .args(&dirs)
            .arg("--out")
            .arg(&merged)
            .arg("--no-plots")
            .assert()
            .code(predicates::ord::lt(2));
        outs.push(merged);
    }
    for o in &outs {
        for f in files {
            assert!(
                bytes(&reference, f) == bytes(o, f),
                "{f} differs between {} and {}",
                reference.display(),
                o.display()
            );
        }
        assert_eq!(
            bytes(&reference, "config.resolved.toml"),
            bytes(o, "config.resolved.toml")
        );
    }
}

#[test]
fn sweep_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(SWEEP, &["results.csv", "frontier.csv"]);
}

/// Parquet results: the same rows give the same bytes (row groups of a fixed size, a fixed writer), whether
/// the jobs ran on 1, 2 or 4 threads, in shards merged, streamed (a sweep) or assembled (a designer study), and
/// for a kind's further tables (a population's).
#[test]
fn parquet_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere_as(SWEEP, &["results.parquet", "frontier.parquet"], "parquet");
    same_bytes_everywhere_as(DESIGNER, &["results.parquet"], "parquet");
    same_bytes_everywhere_as(
        POPULATION,
        &[
            "results.parquet",
            "conditions.parquet",
            "frontier.parquet",
            "thresholds.parquet",
        ],
        "parquet",
    );
}

#[test]
fn designer_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(DESIGNER, &["results.csv"]);
}

#[test]
fn obedience_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(OBEDIENCE, &["results.csv"]);
}

#[test]
fn incorrigibility_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        include_str!("../experiments/reproduce/carey2018/incorrigibility.toml"),
        &["results.csv"],
    );
}

#[test]
fn posg_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        include_str!("../experiments/reproduce/garber2025/cheap-talk.toml"),
        &["results.csv"],
    );
}

#[test]
fn interference_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        include_str!("../experiments/reproduce/emmons2025/channel.toml"),
        &["results.csv"],
    );
}

#[test]
fn assistance_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        include_str!("../experiments/reproduce/shah2020/assistance.toml"),
        &["results.csv", "behaviour.csv"],
    );
}

/// Reward function k comes from stream k in every job, whichever thread or shard runs it.
#[test]
fn power_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        include_str!("../experiments/reproduce/turner2021/shutdown.toml"),
        &["results.csv", "power.csv"],
    );
}

#[test]
fn interruptibility_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        r#"
name = "det-interruptibility"
seed = 3
[interruptibility]
seeds = 4
worlds = ["off-switch-2", "off-switch-0"]
learners = ["q-learning", "safe-sarsa"]
bin = 50
[interruptibility.learning]
episodes = 300
alpha = 0.1
gamma = 0.99
epsilon_start = 1.0
epsilon_end = 0.05
decay = 0.8
"#,
        &["results.csv", "curves.csv", "fixed_routes.csv"],
    );
}

#[test]
fn population_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        POPULATION,
        &[
            "results.csv",
            "conditions.csv",
            "frontier.csv",
            "thresholds.csv",
        ],
    );
}

#[test]
fn assistance_population_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        r#"
name = "det-assistance"
seed = 12
[population]
family = "assistance"
states = 3
actions = 2
thetas = 4
steps = [1, 3]
mu = 0.0
sigma = [0.5, 1.5]
human = ["boltzmann:0.5"]
ask_cost = 0.05
irreversible = 0.4
presence = [1.0, 0.6]
shift = [0.0, 0.5]
spread = 0.5
undo_cost = 0.5
environments = 40
block = 15
max_histories = 400
frontier = ["sigma"]
frontier_environments = 20
"#,
        &[
            "results.csv",
            "conditions.csv",
            "frontier.csv",
            "thresholds.csv",
        ],
    );
}

#[test]
fn apprenticeship_bytes_do_not_depend_on_threads_or_shards() {
    same_bytes_everywhere(
        r#"
name = "det-apprenticeship"
seed = 8
[apprenticeship]
size = 6
features = [2, 3]
width = 2.0
horizon = 10
eta = 0.3
candidates = 20
instances = 5
eta_sensitivity = [1.0]
sensitivity_instances = 3
"#,
        &["results.csv", "instances.csv"],
    );
}

/// A shard run into `dir`.
fn shard(cfg: &Path, dir: &Path, spec: &str) {
    run(cfg, dir, &["--shard", spec]);
}

fn merge_fails(dirs: &[&Path], expect: &str) {
    let out = cirl()
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(dirs[0].with_extension("merged"))
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains(expect), "expected {expect:?} in: {err}");
}

#[test]
fn merge_refuses_what_is_not_one_complete_run() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let cfg = write_config(t, "a.toml", DESIGNER);
    let other_seed = write_config(t, "b.toml", &DESIGNER.replace("seed = 99", "seed = 100"));
    let other_cfg = write_config(
        t,
        "c.toml",
        &DESIGNER.replace("games = 9000", "games = 9001"),
    );
    let (a1, a2, a3) = (t.join("a1"), t.join("a2"), t.join("a3"));
    shard(&cfg, &a1, "1/3");
    shard(&cfg, &a2, "2/3");
    shard(&cfg, &a3, "3/3");
    let b2 = t.join("b2");
    shard(&other_seed, &b2, "2/3");
    let c2 = t.join("c2");
    shard(&other_cfg, &c2, "2/3");
    let d2 = t.join("d2");
    shard(&cfg, &d2, "2/4");

    merge_fails(&[&a1, &b2, &a3], "seed");
    merge_fails(&[&a1, &c2, &a3], "different config");
    merge_fails(&[&a1, &a3], "incomplete set: shard(s) 2 of 3 missing");
    merge_fails(&[&a1, &a2, &a2, &a3], "given twice");
    merge_fails(&[&a1, &d2, &a3], "shard of 4");
    merge_fails(&[&a1, &t.join("nowhere"), &a3], "not a shard output");

    // A shard with a lost job file is incomplete, and --resume completes it.
    let jobs = a2.join("jobs");
    let first = std::fs::read_dir(&jobs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::remove_file(&first).unwrap();
    merge_fails(&[&a1, &a2, &a3], "incomplete");
    run(&cfg, &a2, &["--shard", "2/3", "--resume"]);
    // A corrupted job file is named.
    let text = std::fs::read_to_string(&first).unwrap();
    std::fs::write(&first, text.replacen(',', ",x", 1)).unwrap();
    merge_fails(
        &[&a1, &a2, &a3],
        first.file_name().unwrap().to_str().unwrap(),
    );
    std::fs::write(&first, text).unwrap();

    // Resuming a shard with another config is refused.
    let out = cirl()
        .args(["run"])
        .arg(&other_seed)
        .arg("--out")
        .arg(&a2)
        .args(["--shard", "2/3", "--resume", "--quiet"])
        .assert()
        .code(2)
        .get_output()
        .clone();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("error: --resume:") && err.contains("seed 99"),
        "{err}"
    );

    // The complete set merges, in any order, to the unsharded bytes.
    let whole = t.join("whole");
    run(&cfg, &whole, &[]);
    let merged = t.join("merged");
    cirl()
        .arg("merge")
        .args([&a3, &a1, &a2])
        .arg("--out")
        .arg(&merged)
        .assert()
        .success();
    assert_eq!(bytes(&whole, "results.csv"), bytes(&merged, "results.csv"));
}

// ---- value stability: seeded numbers that change only if the use of random numbers changes ----

/// The designer study's first rows at seed 99 (ChaCha8 streams keyed on (|A| index, chunk)).
#[test]
fn designer_values_are_pinned() {
    let cfg = cirl::experiment::config::parse(DESIGNER, "pinned").unwrap();
    let (t, _) = cirl::experiment::compute(&cfg, false).unwrap();
    let got: Vec<String> = (0..3)
        .map(|i| format!("{:?}", t.num(i, "value").unwrap()))
        .collect();
    assert_eq!(got, PINNED_DESIGNER, "designer values moved");
}
const PINNED_DESIGNER: [&str; 3] = [
    "0.285484841242425",
    "0.31294296114667786",
    "0.3542174558799471",
];

/// The off-switch Monte Carlo (PCG-64 batches keyed on (seed, batch)). Summing in standardised
/// units (so that payoffs near 1e308 cannot overflow) moved the last two digits in issue 16; the
/// random streams are unchanged.
#[test]
fn offswitch_monte_carlo_is_pinned() {
    use cirl::belief::Prior;
    use cirl::human::Human;
    let m = cirl::offswitch::monte_carlo_par(
        &Prior::normal(0.25, 1.0).unwrap(),
        &Human::Boltzmann { beta: 0.5 },
        0.0,
        200_000,
        7,
    );
    assert_eq!(
        [
            format!("{:?}", m.v_wait.mean),
            format!("{:?}", m.delta.mean)
        ],
        PINNED_MC,
        "Monte Carlo estimates moved"
    );
}
const PINNED_MC: [&str; 2] = ["0.4414394424151949", "0.19125636945163127"];

/// Simulated returns of a solved POMDP (episode i on stream i of the seed).
#[test]
fn simulated_returns_are_pinned() {
    let out = cirl()
        .args([
            "solve",
            "tiger",
            "--simulate",
            "2000",
            "--seed",
            "5",
            "--tolerance",
            "1e-3",
            "--json",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let mean = v["simulation"]["mean"].as_f64().unwrap();
    assert_eq!(format!("{mean:?}"), PINNED_TIGER, "simulated mean moved");
}
const PINNED_TIGER: &str = "19.77223733639888";

/// Every other seeded command prints the same JSON at 1, 2 and 4 threads (timings removed).
#[test]
fn seeded_commands_do_not_depend_on_threads() {
    let cases: [&[&str]; 4] = [
        &[
            "offswitch",
            "--prior",
            "normal:0.1,1",
            "--human",
            "boltzmann:0.4",
            "--mc",
            "300000",
            "--seed",
            "3",
            "--json",
        ],
        &[
            "solve",
            "wormy-apples",
            "--simulate",
            "3000",
            "--seed",
            "2",
            "--json",
        ],
        &[
            "posg",
            "experiments/reproduce/garber2025/cheap-talk.toml",
            "--heuristic",
            "--restarts",
            "40",
            "--seed",
            "9",
            "--json",
        ],
        &[
            "calibrate",
            "experiments/scenarios/support-bot.toml",
            "--mc",
            "200000",
            "--seed",
            "4",
            "--no-plots",
            "--json",
        ],
    ];
    let tmp = tempfile::tempdir().unwrap();
    for args in cases {
        let outputs: Vec<serde_json::Value> = ["1", "2", "4"]
            .iter()
            .map(|threads| {
                let mut cmd = cirl();
                cmd.args(args);
                // `--threads` is a flag of the commands that run parallel jobs; the others follow rayon's
                // pool size.
                cmd.env("RAYON_NUM_THREADS", threads);
                if args[0] == "calibrate" {
                    cmd.args(["--threads", threads, "--out"])
                        .arg(tmp.path().join(format!("cal{threads}")));
                }
                let out = cmd.assert().success().get_output().stdout.clone();
                let mut v: serde_json::Value = serde_json::from_slice(&out).unwrap();
                strip_timings(&mut v);
                v
            })
            .collect();
        assert_eq!(outputs[0], outputs[1], "{args:?}: 1 vs 2 threads");
        assert_eq!(outputs[0], outputs[2], "{args:?}: 1 vs 4 threads");
    }
}

fn strip_timings(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| k != "seconds" && !k.ends_with("_seconds"));
            m.values_mut().for_each(strip_timings);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_timings),
        _ => {}
    }
}
