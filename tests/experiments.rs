//! The experiment layer: every reproduction passes its own checks against the paper, and the designer study
//! (HM 2017 Fig. 4) shows what the theory says it must.

use cirl::experiment::{self, config, designer};

mod common;

#[test]
fn every_reproduction_passes_its_checks() {
    for name in experiment::REPRODUCTIONS.iter().map(|b| b.name) {
        let cfg = experiment::reproduction(name).unwrap();
        let c = experiment::compute_all(&cfg, false).unwrap();
        assert!(!c.results.rows.is_empty());
        assert!(
            cfg.sweep.is_none() || c.frontier.is_some(),
            "{name}: sweeps in the reproductions locate their frontier"
        );
        assert!(!c.checks.is_empty(), "{name}: checks nothing");
        for (claim, ok, detail) in &c.checks {
            assert!(ok, "{name}: {claim}: {detail}");
        }
    }
}

/// With σ = σ* the robot's belief is its true posterior, so its choice is Bayes optimal: no other σ can have a
/// higher expected true value. Overconfidence (σ → 0) must cost value; Δ must grow with σ.
#[test]
fn designer_value_peaks_at_the_calibrated_sigma() {
    let star = std::f64::consts::FRAC_1_SQRT_2;
    let d = config::Designer {
        actions: vec![1, 4],
        sigma: config::Axis::List(vec![0.0, 0.2, 0.4, star, 1.0, 1.5, 3.0]),
        beta: 0.25,
        prior_sd: 1.0,
        noise_sd: 1.0,
        games: 40_000,
        delta_targets: vec![],
        check_inverted_u: false,
    };
    assert!((designer::calibrated_sigma(&d) - star).abs() < 1e-15);
    let t = designer::run(&d, 11).unwrap();
    for a in ["1", "4"] {
        let rows: Vec<usize> = (0..t.rows.len())
            .filter(|&i| t.text(i, "actions") == a)
            .collect();
        let at = |s: f64| {
            *rows
                .iter()
                .find(|&&i| (t.num(i, "sigma").unwrap() - s).abs() < 1e-12)
                .unwrap()
        };
        let v = |i: usize| t.num(i, "value").unwrap();
        let se = |i: usize| {
            (t.num(i, "value_ci_high").unwrap() - t.num(i, "value").unwrap()) / cirl::numerics::Z95
        };
        let best = at(star);
        for &i in &rows {
            assert!(
                v(best) >= v(i) - 3.0 * se(i),
                "|A|={a}: V(σ*)={} < V(σ={})={}",
                v(best),
                t.num(i, "sigma").unwrap(),
                v(i)
            );
        }
        assert!(
            v(best) - v(at(0.0)) > 5.0 * se(best),
            "overconfidence should cost value"
        );
        let deltas: Vec<f64> = rows.iter().map(|&i| t.num(i, "delta").unwrap()).collect();
        assert!(
            deltas.windows(2).all(|w| w[1] >= w[0] - 1e-3),
            "Δ should grow with σ: {deltas:?}"
        );
    }
}

/// Every config under experiments/ — experiment configs, PO-OSG files, game files and escalation scenarios — is
/// accepted by `cirl run` (checked with --dry-run: laid out as jobs, nothing written).
#[test]
fn cirl_run_accepts_every_config_in_experiments() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = common::experiment_configs();
    assert!(files.len() >= 38, "{} configs", files.len());
    for f in &files {
        let dir = tempfile::tempdir().unwrap();
        let o = assert_cmd::Command::cargo_bin("cirl")
            .unwrap()
            .current_dir(root)
            .arg("run")
            .arg(f)
            .arg("--out")
            .arg(dir.path().join("o"))
            .arg("--dry-run")
            .output()
            .unwrap();
        assert!(
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains("valid"),
            "{}: {}",
            f.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            !dir.path().join("o").exists(),
            "{}: wrote files",
            f.display()
        );
    }
}

/// A game file and a scenario file run as experiments: the game's value (the tiger problem's published 19.37)
/// and the card `cirl calibrate` writes, byte for byte.
#[test]
fn game_and_scenario_files_run_as_experiments() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let run = |file: &str, out: &str| {
        assert_cmd::Command::cargo_bin("cirl")
            .unwrap()
            .current_dir(root)
            .args(["run", file, "--quiet", "--out"])
            .arg(dir.path().join(out))
            .assert()
            .success();
    };
    run("experiments/games/tiger.toml", "tiger");
    let t = cirl::output::table::Table::from_csv(
        &std::fs::read_to_string(dir.path().join("tiger/results.csv")).unwrap(),
        &["model", "solver", "method", "initial_action"],
    )
    .unwrap();
    assert!((t.num(0, "value").unwrap() - 19.3713).abs() < 1e-4);
    assert_eq!(t.text(0, "initial_action"), "listen");
    run("experiments/scenarios/support-bot.toml", "card");
    assert_cmd::Command::cargo_bin("cirl")
        .unwrap()
        .current_dir(root)
        .args([
            "calibrate",
            "experiments/scenarios/support-bot.toml",
            "--out",
        ])
        .arg(dir.path().join("calibrated"))
        .assert()
        .success();
    for f in ["card.json", "card.toml", "gemini-policy.toml", "rivals.csv"] {
        assert_eq!(
            std::fs::read(dir.path().join("card").join(f)).unwrap(),
            std::fs::read(dir.path().join("calibrated").join(f)).unwrap(),
            "{f}"
        );
    }
}
