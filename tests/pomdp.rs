//! Tabular POMDPs: the exact solver against exhaustive policy-tree search, the .pomdp round trip through the CLI,
//! and simulated returns against computed values.

use assert_cmd::Command;
use cirl::model::{self, Tabular};
use cirl::solvers::exact::{self, ExactOptions};

/// The value at belief `b` of the best policy tree with `h` decisions, by exhaustive search (recursion over
/// observations, maximising over actions at every node: the best tree is the best action followed by the best
/// subtree for each observation, evaluated on the belief it reaches).
fn tree_value(m: &Tabular, b: &[f64], h: usize) -> f64 {
    if h == 0 {
        return 0.0;
    }
    let mut best = f64::NEG_INFINITY;
    for a in 0..m.n_actions() {
        let mut v: f64 = (0..m.n_states()).map(|s| b[s] * m.r[a][s]).sum();
        for o in 0..m.n_observations() {
            // P(o | b, a).
            let p: f64 = (0..m.n_states())
                .map(|s| {
                    b[s] * (0..m.n_states())
                        .map(|sp| m.t[a][s][sp] * m.o[a][sp][o])
                        .sum::<f64>()
                })
                .sum();
            if p > 0.0 {
                let nb = m.update(b, a, o).unwrap();
                v += m.discount * p * tree_value(m, &nb, h - 1);
            }
        }
        best = best.max(v);
    }
    best
}

#[test]
fn exact_vi_equals_exhaustive_search_on_random_models() {
    let mut rng = cirl::rng::job_rng(99, 0);
    for k in 0..60 {
        let (ns, na, no) = (2 + k % 3, 2 + k % 2, 2 + (k / 3) % 2);
        let mut m = model::random(ns, na, no, 0.9, &mut rng);
        for h in 1..=3 {
            m.horizon = Some(h);
            let s = exact::solve(&m, &ExactOptions::default()).unwrap();
            let brute = tree_value(&m, &m.initial, h);
            assert!(
                (s.value - brute).abs() < 1e-9,
                "model {k} h={h}: VI {} vs search {brute}",
                s.value
            );
            // Everywhere, not just at the initial belief.
            for b0 in [0.1, 0.5, 0.9] {
                let mut b = vec![(1.0 - b0) / (ns - 1) as f64; ns];
                b[0] = b0;
                assert!((s.alphas.value(&b) - tree_value(&m, &b, h)).abs() < 1e-9);
            }
        }
    }
}

#[test]
fn solve_and_export_round_trip_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiger.pomdp");
    Command::cargo_bin("cirl")
        .unwrap()
        .args(["export", "tiger", "--set", "discount=0.9"])
        .arg(&out)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("discount: 0.9") && !text.contains("e-"));
    let json = |args: &[&str]| -> serde_json::Value {
        let o = Command::cargo_bin("cirl")
            .unwrap()
            .args(args)
            .arg("--json")
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&o).unwrap()
    };
    let a = json(&[
        "solve",
        "tiger",
        "--set",
        "discount=0.9",
        "--set",
        "horizon=8",
    ]);
    let b = json(&["solve", out.to_str().unwrap(), "--set", "horizon=8"]);
    assert_eq!(a["value"], b["value"]);
    assert_eq!(a["solver"], "exact");
    assert!(a["seconds"].as_f64().unwrap() >= 0.0);
    // Bad input: exit 2 naming the problem.
    for (args, needle) in [
        (vec!["solve", "no-such-model"], "registered"),
        (vec!["solve", "tiger", "--set", "gamma=0.5"], "gamma"),
        (vec!["solve", "tiger", "--set", "discount=2"], "discount"),
        (vec!["solve", "tiger", "--solver", "magic"], "--solver"),
    ] {
        Command::cargo_bin("cirl")
            .unwrap()
            .args(&args)
            .assert()
            .code(2)
            .stderr(predicates::str::contains(needle));
    }
}

#[test]
fn simulated_returns_match_the_computed_value() {
    let cirl::games::Model::Pomdp(m) = cirl::games::load("tiger", &[]).unwrap() else {
        panic!("tiger is a POMDP")
    };
    let mut m = m.to_dense().unwrap();
    m.horizon = Some(30);
    let s = exact::solve(&m, &ExactOptions::default()).unwrap();
    let r = cirl::sim::simulate(&m, &s.stages, 40_000, 7, 1e-6);
    assert!(
        (r.estimate.mean - s.value).abs() <= 4.0 * r.estimate.std_err,
        "simulated {r:?} vs value {}",
        s.value
    );
}

#[test]
fn model_checker_accepts_registered_models_and_names_broken_entries() {
    // Conformance: every registered game, and every reduction small enough to build, passes the checker.
    for (name, _, _) in cirl::games::REGISTERED {
        let model = cirl::games::load(name, &[]).unwrap();
        model.check().unwrap();
        match model.to_tabular() {
            Ok(m) => m.check().unwrap(),
            Err(e) => assert!(e.to_string().contains("generalized"), "{name}: {e}"),
        }
    }
    let tiger = || match cirl::games::load("tiger", &[]).unwrap() {
        cirl::games::Model::Pomdp(m) => m.to_dense().unwrap(),
        _ => unreachable!(),
    };
    let mut m = tiger();
    m.t[1][0][0] = 0.7;
    let e = m.check().unwrap_err().to_string();
    assert!(
        e.contains("T[open-left][tiger-left]") && e.contains("sums to"),
        "{e}"
    );
    let mut m = tiger();
    m.r[0][1] = f64::NAN;
    assert!(
        m.check()
            .unwrap_err()
            .to_string()
            .contains("R[listen][tiger-right]")
    );
    let mut m = tiger();
    m.discount = 1.0;
    assert!(m.check().unwrap_err().to_string().contains("horizon"));
}

/// The classic public `.pomdp` files (tests/data/pomdp/SOURCES.md): each parses, solves (PBVI's bounds bracket
/// each other and sit below the fully observed value), and is written and read back to the same tables.
#[test]
fn classic_pomdp_files_parse_solve_and_round_trip() {
    use cirl::model::pomdp_format;
    use cirl::solvers::{mdp, pbvi};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pomdp");
    // (file, states, actions, observations, renormalised?, solve with PBVI?)
    let files = [
        ("tiger.95.POMDP", 2, 3, 2, false, true),
        ("4x3.95.POMDP", 11, 4, 6, false, true),
        ("4x4.95.POMDP", 16, 4, 2, true, true),
        ("4x5x2.95.POMDP", 39, 4, 4, true, true),
        ("cheese.95.POMDP", 11, 4, 7, false, true),
        ("hallway.POMDP", 60, 5, 21, false, true),
        ("hallway2.POMDP", 92, 5, 17, false, true),
        ("network.POMDP", 7, 4, 2, false, true),
        ("shuttle.95.POMDP", 8, 3, 5, false, true),
        ("mini-hall2.pomdp", 13, 3, 9, false, true),
        ("RockSample_4_4.pomdp", 257, 9, 2, false, false),
        ("TagAvoid.pomdp", 870, 5, 30, true, false),
    ];
    for (f, ns, na, no, renormalised, with_pbvi) in files {
        let sparse = pomdp_format::read(&dir.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        let m = sparse.to_dense().unwrap();
        assert_eq!(cirl::model::sparse::Sparse::from(&m), sparse, "{f}");
        assert_eq!(
            (m.n_states(), m.n_actions(), m.n_observations()),
            (ns, na, no),
            "{f}"
        );
        assert_eq!(!m.notes.is_empty(), renormalised, "{f}: {:?}", m.notes);
        // Written and read back: the same numbers, bit for bit.
        let back = pomdp_format::parse(&pomdp_format::write(&m), f)
            .unwrap()
            .to_dense()
            .unwrap();
        assert!(back.notes.is_empty(), "{f}: {:?}", back.notes);
        assert_eq!(back.initial, m.initial, "{f}");
        assert_eq!(back.t, m.t, "{f}");
        assert_eq!(back.o, m.o, "{f}");
        assert_eq!(back.r, m.r, "{f}");
        assert_eq!(back.discount, m.discount, "{f}");
        let full = mdp::solve(&m, 1e-6).unwrap().value;
        assert!(full.is_finite(), "{f}");
        if with_pbvi {
            let s = pbvi::solve(
                &m,
                &pbvi::PbviOptions {
                    max_beliefs: 16,
                    tolerance: 1e-2,
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(s.lower <= s.upper + 1e-9, "{f}: {} > {}", s.lower, s.upper);
            assert!(s.upper <= full + 1e-6, "{f}: {} > MDP {full}", s.upper);
        }
    }
}
