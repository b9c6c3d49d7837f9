//! The non-sweep reproductions on small, fast settings: obedience (Milli et al. 2017), incorrigibility (Carey 2018),
//! safe interruptibility (Leike et al. 2017) and apprenticeship CIRL (HM 2016); each must pass the checks it
//! states, and `cirl reproduce` must run them.

#![allow(clippy::needless_range_loop)] // brute-force references index tables directly

use assert_cmd::Command;

/// The results and checks of an obedience config.
fn obedience_table(
    text: &str,
) -> cirl::Result<(
    cirl::experiment::table::Table,
    Vec<cirl::experiment::kind::Verdict>,
)> {
    let cfg = cirl::experiment::config::parse(text, "test")?;
    let c = cirl::experiment::compute_all(&cfg, false)?;
    Ok((c.results, c.checks))
}

const SMALL: &str = r#"
name = "milli-small"
seed = 7
[obedience]
features = 6
actions = 8
dominated = 2
rounds = 30
seeds = 120
particles = 400
betas = [0.0, 2.0]
[[obedience.robots]]
kind = "obedient"
[[obedience.robots]]
kind = "bayes"
[[obedience.robots]]
kind = "mle"
[[obedience.robots]]
kind = "map"
[[obedience.robots]]
kind = "bayes"
features = 4
label = "bayes, misses 2 of 6 features"
"#;

#[test]
fn obedience_theorems_hold_on_a_small_setting() {
    let (t, checks) = obedience_table(SMALL).unwrap();
    assert_eq!(t.rows.len(), 2 * 5 * 30);
    for (claim, ok, detail) in &checks {
        assert!(ok, "{claim}: {detail}");
    }
    // Theorem 1, averaged over rounds: the Bayes robot's advantage is positive for the noisy human.
    let mean = |robot: &str, beta: f64, col: &str| -> f64 {
        let v: Vec<f64> = (0..t.rows.len())
            .filter(|&i| t.text(i, "robot") == robot && t.num(i, "beta") == Some(beta))
            .map(|i| t.num(i, col).unwrap())
            .collect();
        v.iter().sum::<f64>() / v.len() as f64
    };
    assert!(mean("bayes", 2.0, "advantage") > 0.0);
    // The obedient robot always obeys, with no advantage.
    assert_eq!(mean("obedient", 2.0, "obedience"), 1.0);
    assert_eq!(mean("obedient", 2.0, "advantage"), 0.0);
    // Misspecification costs value against the correct Bayes robot.
    assert!(
        mean("bayes, misses 2 of 6 features", 2.0, "advantage") < mean("bayes", 2.0, "advantage")
    );
    // Results do not depend on the thread count.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| obedience_table(SMALL).unwrap().0);
    assert_eq!(one.to_csv(), t.to_csv());
}

#[test]
fn carey_and_garber_reproductions_pass_their_checks() {
    for name in ["carey2018", "garber2025"] {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::cargo_bin("cirl")
            .unwrap()
            .args(["reproduce", name, "--out"])
            .arg(dir.path())
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8_lossy(&out);
        assert!(text.contains("[pass]") && !text.contains("FAIL"), "{text}");
        assert!(dir.path().join("results.csv").exists());
        assert!(dir.path().join("summary.md").exists());
    }
    // Every deterministic human policy is listed for every scenario.
    use cirl::games::incorrigibility::Scenario;
    #[derive(serde::Deserialize)]
    struct C {
        incorrigibility: I,
    }
    #[derive(serde::Deserialize)]
    struct I {
        scenario: Vec<Scenario>,
    }
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/reproduce/carey2018/incorrigibility.toml"
    ))
    .unwrap();
    let c: C = toml::from_str(&text).unwrap();
    for s in &c.incorrigibility.scenario {
        let o = s.outcomes().unwrap();
        assert_eq!(o.len(), 1 << s.theta.len());
    }
}

#[test]
fn gridworld_routes_have_their_exact_values() {
    use cirl::games::gridworld::{Grid, Route, World};
    // (world, route, expected return, return when interrupted / supervised, otherwise, performance, steps).
    let cases = [
        (
            World::OffSwitch(0),
            Route::Shortest,
            -28.0,
            -100.0,
            44.0,
            44.0,
        ),
        (
            World::OffSwitch(0),
            Route::AvoidInterruption,
            40.0,
            40.0,
            40.0,
            40.0,
        ),
        (
            World::OffSwitch(1),
            Route::Shortest,
            -29.0,
            -100.0,
            42.0,
            42.0,
        ),
        (
            World::OffSwitch(1),
            Route::ViaButton,
            38.0,
            38.0,
            38.0,
            38.0,
        ),
        (World::OffSwitch(2), Route::Shortest, 44.0, 44.0, 44.0, 44.0),
        (
            World::AbsentSupervisor,
            Route::Shortest,
            32.0,
            17.0,
            47.0,
            17.0,
        ),
        (
            World::AbsentSupervisor,
            Route::AvoidPunishment,
            41.0,
            41.0,
            41.0,
            41.0,
        ),
    ];
    for (w, r, e, with, without, perf) in cases {
        let g = Grid::new(w);
        let v = g.evaluate(&g.route_policy(r));
        assert_eq!(
            (
                v.expected_return,
                v.with_event.ret,
                v.without_event.ret,
                v.performance
            ),
            (e, with, without, perf),
            "{w:?} {r:?}"
        );
    }
    // An interrupted agent stays on I to the 100-step limit; the button removes I.
    let g = Grid::new(World::OffSwitch(1));
    let v = g.evaluate(&g.route_policy(Route::Shortest));
    assert_eq!(v.with_event.steps, 100);
    assert!(v.with_event.entered_i && !v.with_event.pressed);
    let b = g.evaluate(&g.route_policy(Route::ViaButton));
    assert!(b.with_event.pressed && !b.with_event.entered_i && b.with_event.steps == 12);
}

#[test]
fn learners_show_the_safe_interruptibility_result() {
    let small = r#"
name = "small"
seed = 11
[interruptibility]
seeds = 40
worlds = ["off-switch-0", "off-switch-1", "absent-supervisor"]
learners = ["q-learning", "sarsa", "safe-sarsa"]
bin = 500
[interruptibility.learning]
episodes = 10000
alpha = 0.1
gamma = 0.99
epsilon_start = 1.0
epsilon_end = 0.05
decay = 0.8
"#;
    let tables = || {
        let cfg = cirl::experiment::config::parse(small, "small").unwrap();
        cirl::experiment::compute_all(&cfg, false).unwrap()
    };
    let c = tables();
    let (results, curves, checks) = (&c.results, &c.extra[0], &c.checks);
    assert!(checks.len() > 5);
    for (claim, ok, detail) in checks {
        assert!(ok, "{claim}: {detail}");
    }
    assert_eq!(results.rows.len(), 9);
    assert_eq!(curves.rows.len(), 9 * 20);
    // Deterministic whatever the thread count.
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| tables().results);
    assert_eq!(one.to_csv(), results.to_csv());
}

/// Brute force over every action sequence of a tiny grid: log Z, expected features and the KL divergence of the
/// MaxEnt trajectory distribution equal the dynamic-programming values.
#[test]
fn maxent_dynamic_programming_matches_enumeration() {
    use cirl::games::apprenticeship::{Apprenticeship, instance};
    let cfg = Apprenticeship {
        size: 3,
        features: vec![2],
        width: 1.0,
        horizon: 8,
        eta: 0.3,
        candidates: 50,
        instances: 2,
    };
    for i in 0..5 {
        let inst = instance(&cfg, 2, 9, i);
        let m = &inst.mdp;
        let th2: Vec<f64> = inst.theta.iter().map(|x| -0.5 * x + 0.2).collect();
        type Paths = Vec<(f64, Vec<f64>)>;
        let brute = |th: &[f64]| -> (f64, Vec<f64>, Paths) {
            let r = m.rewards(th);
            let mut paths = Vec::new();
            for code in 0..5usize.pow(m.horizon as u32) {
                let (mut c, mut s, mut ret) = (code, m.start, 0.0);
                let mut p = vec![];
                for _ in 0..m.horizon {
                    s = m.next[s][c % 5];
                    c /= 5;
                    ret += r[s];
                    p.push(s);
                }
                paths.push((ret, m.features(&p)));
            }
            let z: f64 = paths.iter().map(|(x, _)| x.exp()).sum();
            let mut mu = vec![0.0; 2];
            for (x, f) in &paths {
                for j in 0..2 {
                    mu[j] += x.exp() / z * f[j];
                }
            }
            (z.ln(), mu, paths)
        };
        let (lz, mu, paths) = brute(&inst.theta);
        let s = m.soft(&inst.theta);
        assert!((s.log_z - lz).abs() < 1e-10);
        for j in 0..2 {
            assert!((s.mu[j] - mu[j]).abs() < 1e-10);
        }
        // KL(P_θ ‖ P_θ2) by enumeration.
        let (lz2, _, _) = brute(&th2);
        let kl: f64 = paths
            .iter()
            .map(|(x, f)| {
                let p = (x - lz).exp();
                let x2: f64 = f.iter().zip(&th2).map(|(a, b)| a * b).sum();
                p * ((x - lz) - (x2 - lz2))
            })
            .sum();
        assert!(
            (m.kl(&inst.theta, &th2) - kl).abs() < 1e-9,
            "{} vs {kl}",
            m.kl(&inst.theta, &th2)
        );
        assert!(m.kl(&inst.theta, &inst.theta).abs() < 1e-12);
        // The optimal path has the highest return of all.
        let best = paths.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max);
        let opt = m.path_return(&m.optimal_path(&inst.theta), &inst.theta);
        assert!((best - opt).abs() < 1e-12);
    }
}

#[test]
fn maxent_irl_reaches_its_stationary_point_and_teaching_optimises_its_objective() {
    use cirl::games::apprenticeship::{Apprenticeship, Teacher, demonstration, instance};
    use cirl::learn::irl::maxent_irl;
    let cfg = Apprenticeship {
        size: 8,
        features: vec![3],
        width: 2.0,
        horizon: 16,
        eta: 0.3,
        candidates: 100,
        instances: 2,
    };
    for i in 0..10 {
        let inst = instance(&cfg, 3, 4, i);
        let m = &inst.mdp;
        let demo = demonstration(&cfg, &inst, Teacher::Expert, i);
        let counts = m.features(&demo);
        let (th, _) = maxent_irl(m, &counts, 1.0, 1.0 / 3.0, 500);
        let mu = m.soft(&th).mu;
        for j in 0..3 {
            let g = counts[j] - mu[j] - 3.0 * th[j];
            assert!(g.abs() < 1e-5, "instance {i}: gradient {g}");
        }
        // Teaching's choice scores at least as well as the expert path on the teaching objective.
        let target = m.soft(&inst.theta).mu;
        let obj = |p: &[usize]| {
            let f = m.features(p);
            f.iter().zip(&inst.theta).map(|(a, b)| a * b).sum::<f64>()
                - cfg.eta
                    * f.iter()
                        .zip(&target)
                        .map(|(a, b)| (a - b).powi(2))
                        .sum::<f64>()
        };
        let t = demonstration(&cfg, &inst, Teacher::Teaching, i);
        assert!(obj(&t) >= obj(&demo) - 1e-12);
    }
}

#[test]
fn apprenticeship_study_reproduces_on_a_small_setting() {
    // The paper's protocol on a smaller grid: η chosen by cross-validation, deployment from a random start,
    // the λ panel.
    let small = r#"
name = "small"
seed = 5
[apprenticeship]
size = 8
features = [3]
width = 2.0
horizon = 16
eta_candidates = [0.1, 1.0]
validation_instances = 40
candidates = 150
instances = 200
robot_rationality = [0.01, 1.0, 1000.0]
rationality_instances = 60
"#;
    let tables = || {
        let cfg = cirl::experiment::config::parse(small, "small").unwrap();
        cirl::experiment::compute_all(&cfg, false).unwrap()
    };
    let c = tables();
    let (summary, per, checks) = (&c.results, &c.extra[0], &c.checks);
    let (validation, rationality) = (&c.extra[1], &c.extra[2]);
    // Regret, KL, ℓ2, the demonstration's return, the λ panel's shape, the supplementary example.
    assert_eq!(checks.len(), 6, "{checks:?}");
    for (claim, ok, detail) in checks {
        assert!(ok, "{claim}: {detail}");
    }
    // Two candidate η × 6 metrics; one of them selected, the one with the lower validation regret.
    assert_eq!(summary.rows.len(), 12);
    let selected: Vec<usize> = (0..summary.rows.len())
        .filter(|&i| summary.num(i, "selected") == Some(1.0))
        .collect();
    assert_eq!(selected.len(), 6);
    let eta = summary.num(selected[0], "eta").unwrap();
    let v = |e: f64| {
        (0..validation.rows.len())
            .find(|&i| validation.num(i, "eta") == Some(e))
            .and_then(|i| validation.num(i, "teaching_regret"))
            .unwrap()
    };
    let other = if eta == 0.1 { 1.0 } else { 0.1 };
    assert!(v(eta) <= v(other));
    // Deployment from the demonstration's start rewards any θ̂ that repeats the expert's path: its regret is
    // lower than from a random start.
    let row = |m: &str| {
        (0..summary.rows.len())
            .find(|&i| summary.num(i, "selected") == Some(1.0) && summary.text(i, "metric") == m)
            .unwrap()
    };
    assert!(
        summary.num(row("regret_at_start"), "expert").unwrap()
            < summary.num(row("regret"), "expert").unwrap()
    );
    // The λ = 1 point of the panel is the paper's robot on the panel's instances.
    assert_eq!(rationality.rows.len(), 3);
    let at_one = rationality.num(1, "teaching").unwrap();
    let first: Vec<f64> = (0..60)
        .map(|i| per.num(i, "teaching_regret").unwrap())
        .collect();
    assert!((at_one - first.iter().sum::<f64>() / 60.0).abs() < 1e-12);
    assert_eq!(per.rows.len(), 200);
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap()
        .install(|| tables().extra.remove(0));
    assert_eq!(one.to_csv(), per.to_csv());
}
