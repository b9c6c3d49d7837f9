//! The `cirl` command line: values for every prior × human kind, bad input → exit 2, sweeps and reproductions
//! write their outputs, results do not depend on the thread count.

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

fn cirl() -> Command {
    Command::cargo_bin("cirl").unwrap()
}

fn json(args: &[&str]) -> Value {
    let out = cirl()
        .args(args)
        .arg("--json")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn offswitch_json_for_every_prior_and_human_kind() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("u.csv");
    std::fs::write(&csv, "id,utility\n1,-0.5\n2,0.25\n3,1.5\n4,-2\n").unwrap();
    let mix = dir.path().join("mix.toml");
    std::fs::write(
        &mix,
        "[prior]\nkind = \"mixture\"\ncomponents = [{ weight = 0.3, prior = \"normal:-1,0.5\" }, { weight = 0.7, prior = \"uniform:0,2\" }]\n",
    )
    .unwrap();
    let priors = [
        "normal:0.25,1".to_string(),
        "uniform:-1,2".to_string(),
        "discrete:-1@0.3,2@0.7".to_string(),
        "two-point:0.1,1".to_string(),
        format!("csv:{}#utility", csv.display()),
        mix.display().to_string(),
    ];
    let humans = [
        "rational",
        "boltzmann:0.5",
        "boltzmann:0",
        "p-rational:0.8",
        "chance:0.4",
    ];
    for p in &priors {
        for h in humans {
            let v = json(&["offswitch", "--prior", p, "--human", h, "--cost", "0.01"]);
            for k in ["v_act", "v_wait", "v_off", "delta"] {
                assert!(
                    v[k].as_f64().unwrap().is_finite(),
                    "{p} {h}: {k} = {}",
                    v[k]
                );
            }
            let d = v["decision"].as_str().unwrap();
            assert!(["act", "wait", "off"].contains(&d));
            assert!(v["tie"].is_boolean());
            let best = v["v_act"].as_f64().unwrap().max(0.0);
            let delta = v["v_wait"].as_f64().unwrap() - best;
            assert!((v["delta"].as_f64().unwrap() - delta).abs() < 1e-12);
            if p.starts_with("normal") {
                for k in ["e_pi", "e_pi_dot", "pr_correction"] {
                    assert!(v[k].as_f64().is_some(), "{p} {h}: {k}");
                }
            }
        }
    }
}

#[test]
fn offswitch_matches_the_paper_value_and_reports_ties() {
    let v = json(&["offswitch", "--prior", "normal:0,1", "--human", "rational"]);
    assert!((v["delta"].as_f64().unwrap() - 0.3989422804014327).abs() < 1e-15);
    assert_eq!(v["decision"], "wait");
    assert_eq!(v["tie"], false);
    // A certain robot facing a rational human is exactly indifferent between waiting and acting.
    let v = json(&[
        "offswitch",
        "--prior",
        "normal:0.5,0",
        "--human",
        "rational",
    ]);
    assert_eq!(v["tie"], true);
    assert_eq!(v["delta"].as_f64().unwrap(), 0.0);
}

#[test]
fn offswitch_table_output_and_monte_carlo() {
    cirl()
        .args([
            "offswitch",
            "--prior",
            "normal:-0.25,1",
            "--human",
            "boltzmann:0.5",
            "--mc",
            "100000",
        ])
        .assert()
        .success()
        .stdout(
            predicate::str::contains("decision: wait")
                .and(predicate::str::contains("Monte Carlo, 100000 games")),
        );
}

#[test]
fn bad_input_exits_2_with_a_message_naming_the_field() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["offswitch", "--prior", "normal:0,-1", "--human", "rational"],
            "sigma",
        ),
        (
            &["offswitch", "--prior", "gauss:0,1", "--human", "rational"],
            "prior",
        ),
        (
            &[
                "offswitch",
                "--prior",
                "discrete:1@0.5,2@0.4",
                "--human",
                "rational",
            ],
            "sum to 1",
        ),
        (
            &[
                "offswitch",
                "--prior",
                "normal:0,1",
                "--human",
                "boltzmann:-1",
            ],
            "beta",
        ),
        (
            &[
                "offswitch",
                "--prior",
                "normal:0,1",
                "--human",
                "p-rational:1.5",
            ],
            "p",
        ),
        (
            &[
                "offswitch",
                "--prior",
                "normal:0,1",
                "--human",
                "rational",
                "--cost",
                "-1",
            ],
            "cost",
        ),
        (
            &[
                "offswitch",
                "--prior",
                "csv:/nonexistent.csv#u",
                "--human",
                "rational",
            ],
            "nonexistent",
        ),
        (
            &[
                "offswitch",
                "--prior",
                "normal:0,1",
                "--human",
                "rational",
                "--mc",
                "0",
            ],
            "--mc",
        ),
        (&["reproduce", "no-such-figure"], "cirl list"),
        (&["run", "/nonexistent/config.toml"], "config.toml"),
        (&["run", "--threads", "0", "x.toml"], "--threads"),
        (&["offswitch", "--prior"], "--prior"),
    ];
    for (args, needle) in cases {
        cirl()
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*needle))
            .stderr(predicate::str::contains("panicked").not());
    }
}

#[test]
fn config_errors_name_the_key_in_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "name = \"x\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = 0.0\nsigma = 1.0\nsigmaa = 2.0\n",
            "sigmaa",
        ),
        (
            "name = \"x\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = \"zero\"\nsigma = 1.0\n",
            "mu",
        ),
        (
            "name = \"x\"\n[sweep]\nprior = \"normal\"\nhuman = \"boltzmann\"\nmu = 0.0\nsigma = 1.0\n",
            "sweep.beta",
        ),
        (
            "name = \"x\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = 0.0\nsigma = [1.0, -1.0]\n",
            "sweep.sigma",
        ),
        (
            "name = \"x\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = 0.0\nsigma = { start = 0, stop = 1, num = 0 }\n",
            "sweep.sigma.num",
        ),
        (
            "name = \"x\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = [0.0, 1.0]\nsigma = 1.0\n[frontier]\nalong = \"gamma\"\n",
            "frontier.along",
        ),
        (
            "name = \"x\"\n[[plot]]\nkind = \"pie\"\nx = \"mu\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = 0.0\nsigma = 1.0\n",
            "kind",
        ),
        (
            "name = \"x\"\n[[assistance.game]]\nlabel = \"rb\"\nparadigm = \"reward-learning\"\n[assistance.game.model]\ngame = \"red-blue\"\ndiscount = 0.9\nhorizon = 4\nhuman = \"env\"\n",
            "assistance.game[0].paradigm",
        ),
        (
            "name = \"x\"\n[[assistance.game]]\nlabel = \"w\"\nparadigm = \"assistance\"\n[assistance.game.model]\ngame = \"wormy-apples\"\ndiscount = 0.99\nhorizon = 4\ntwo_phase = false\nquery_cost = 0.1\nwormy_probability = 0.2\npie_reward = 2.0\nwrong_bin_cost = 2.0\nhuman = \"env\"\n[[assistance.game.expect]]\nclaim = \"c\"\nrobot = \"fly\"\nprobability = 1.0\n",
            "assistance.game[0].expect.robot",
        ),
        (
            "name = \"x\"\n[power]\nsamples = 10\ndiscounts = [1.0]\n[[power.mdp]]\nname = \"m\"\nstart = \"s\"\nshutdown = [\"off\"]\n[power.mdp.edges]\ns = [\"off\", \"on\"]\noff = [\"off\"]\non = [\"on\"]\n",
            "power.discounts",
        ),
        (
            "name = \"x\"\n[power]\nsamples = 10\ndiscounts = [0.5]\n[[power.mdp]]\nname = \"m\"\nstart = \"s\"\nshutdown = [\"off\"]\n[power.mdp.edges]\ns = [\"off\", \"on\"]\noff = [\"on\"]\non = [\"on\"]\n",
            "power.mdp[0]",
        ),
    ];
    for (i, (text, key)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = cirl()
            .args(["run", path.to_str().unwrap(), "--out"])
            .arg(dir.path().join(format!("o{i}")))
            .assert()
            .code(2);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(err.contains(key), "case {i}: {err}");
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "case {i}: not one line: {err}"
        );
        assert!(!dir.path().join(format!("o{i}/results.csv")).exists());
    }
}

#[test]
fn list_shows_every_reproduction() {
    cirl().arg("list").assert().success().stdout(
        predicate::str::contains("hm2017-fig2")
            .and(predicate::str::contains("hm2017-fig2-contour"))
            .and(predicate::str::contains("hm2017-fig3"))
            .and(predicate::str::contains("hm2017-fig4")),
    );
}

#[test]
fn reproduce_fig3_writes_every_output_and_the_frontier_is_root_found() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig3");
    cirl()
        .args(["reproduce", "hm2017-fig3", "--quiet", "--out"])
        .arg(&out)
        .assert()
        .success();
    for f in [
        "results.csv",
        "frontier.csv",
        "fig3_delta_sigma_beta.svg",
        "fig3_delta_sigma_beta.png",
        "config.resolved.toml",
        "summary.md",
    ] {
        let p = out.join(f);
        assert!(
            p.metadata().map(|m| m.len() > 100).unwrap_or(false),
            "{f} missing or empty"
        );
    }
    // No temporary files are left behind: the only dotfiles are the folder's lock and its record of outputs.
    for e in std::fs::read_dir(&out).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.starts_with('.') || name == ".cirl-lock" || name == ".cirl-outputs",
            "{name}"
        );
    }
    let png = std::fs::read(out.join("fig3_delta_sigma_beta.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let svg = std::fs::read_to_string(out.join("fig3_delta_sigma_beta.svg")).unwrap();
    assert!(
        svg.contains("σ (the robot") && svg.contains("β (human noise"),
        "axis labels missing from the SVG"
    );

    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let header = results.lines().next().unwrap();
    for c in [
        "mu", "sigma", "beta", "cost", "v_act", "v_wait", "v_off", "delta", "decision",
    ] {
        assert!(header.split(',').any(|h| h == c), "results.csv lacks {c}");
    }
    assert_eq!(results.lines().count(), 1 + 3 * 101 * 101);

    // Every root in frontier.csv lies strictly between grid points and makes Δ vanish there.
    let mut rdr = csv::Reader::from_path(out.join("frontier.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let mut roots = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        if &rec[col("kind")] != "root" {
            continue;
        }
        roots += 1;
        let num = |n: &str| rec[col(n)].parse::<f64>().unwrap();
        let (lo, hi, beta) = (num("lo"), num("hi"), num("beta"));
        assert!(lo < beta && beta < hi);
        let v = json(&[
            "offswitch",
            "--prior",
            &format!("normal:{},{}", &rec[col("mu")], &rec[col("sigma")]),
            "--human",
            &format!("boltzmann:{beta}"),
        ]);
        assert!(
            v["delta"].as_f64().unwrap().abs() < 1e-9,
            "Δ at the root = {}",
            v["delta"]
        );
        assert!(num("delta_lo") * num("delta_hi") < 0.0);
    }
    assert!(roots > 50, "only {roots} roots");
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("| pass |") && !summary.contains("FAIL"));
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        r#"name = "threads"
seed = 5
[designer]
actions = [1, 3]
sigma = [0.2, 0.7, 1.5]
beta = 0.3
games = 5000
"#,
    )
    .unwrap();
    let run = |threads: &str| {
        let out = dir.path().join(format!("t{threads}"));
        cirl()
            .args([
                "run",
                cfg.to_str().unwrap(),
                "--quiet",
                "--no-plots",
                "--threads",
                threads,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        std::fs::read(out.join("results.csv")).unwrap()
    };
    assert_eq!(run("1"), run("2"));
    let sweep = dir.path().join("s.toml");
    std::fs::write(
        &sweep,
        "name = \"s\"\n[sweep]\nprior = [\"normal\", \"uniform\", \"two-point\"]\nhuman = [\"boltzmann\", \"p-rational\"]\nmu = [-0.5, 0.5]\nsigma = { start = 0.0, stop = 2.0, num = 9 }\nbeta = [0.1, 1.0]\np = [0.6, 0.9]\ncost = [0.0, 0.1]\n[frontier]\nalong = \"sigma\"\n",
    )
    .unwrap();
    let run = |threads: &str| {
        let out = dir.path().join(format!("s{threads}"));
        cirl()
            .args([
                "run",
                sweep.to_str().unwrap(),
                "--quiet",
                "--threads",
                threads,
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        (
            std::fs::read(out.join("results.csv")).unwrap(),
            std::fs::read(out.join("frontier.csv")).unwrap(),
        )
    };
    let (a, b) = (run("1"), run("2"));
    assert_eq!(a, b);
    // 3 priors × (2 betas + 2 ps) × 2 μ × 9 σ × 2 costs.
    assert_eq!(
        String::from_utf8(a.0).unwrap().lines().count(),
        1 + 3 * 4 * 2 * 9 * 2
    );
}

#[test]
fn fig3_frontier_matches_the_exact_boundary() {
    // Every root of HM 2017 Fig. 3 lies on β* = σ²/(2|μ|) (see tests/offswitch_theory.rs for the derivation).
    let dir = tempfile::tempdir().unwrap();
    cirl()
        .args(["reproduce", "hm2017-fig3", "--quiet", "--no-plots", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    let mut rdr = csv::Reader::from_path(dir.path().join("frontier.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |name: &str| h.iter().position(|x| x == name).unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let rec = rec.unwrap();
        let num = |c: &str| rec[col(c)].parse::<f64>().unwrap();
        if &rec[col("kind")] == "root" {
            let star = num("sigma").powi(2) / (2.0 * num("mu").abs());
            assert!(
                (num("beta") - star).abs() < 1e-9,
                "root {} vs exact {star}",
                num("beta")
            );
            n += 1;
        }
    }
    assert!(n > 50);
}
