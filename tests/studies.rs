//! The non-sweep reproductions: obedience (Milli et al. 2017) on a small, fast setting, and incorrigibility
//! (Carey 2018); each must pass the checks it states, and `cirl reproduce` must run them.

use assert_cmd::Command;
use cirl::experiment::studies::obedience_table;

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
        scenario: Vec<Scenario>,
    }
    let c: C = toml::from_str(cirl::experiment::studies::CAREY2018).unwrap();
    for s in &c.scenario {
        let o = s.outcomes().unwrap();
        assert_eq!(o.len(), 1 << s.theta.len());
    }
}
