//! `cirl fit`: the posterior is checked by simulation-based calibration — logs drawn from the fit's own model
//! with the truth drawn from the scenario's prior, so that the 90% intervals must cover the truth 90% of the time
//! (Talts et al. 2018) — including the selection the model is built for: outcomes seen mostly for approved calls.
//! And the mess of real logs, through the binary.

use cirl::escalation::closed_loop;
use cirl::escalation::fit::{self, BINS, Data, Settings};
use cirl::escalation::records::Record;
use cirl::escalation::scenario::Scenario;
use rand::RngExt;
use rand_distr::{Beta, Distribution, Gamma, StandardNormal};

fn scenario() -> Scenario {
    Scenario::load(std::path::Path::new(SCENARIO)).unwrap()
}

/// The truth of one simulated log: per class P(bad), the median loss and σ of the log loss; the reviewer's rates.
struct Truth {
    p_bad: Vec<f64>,
    median_loss: Vec<f64>,
    sigma_log: Vec<f64>,
    approve_good: f64,
    catch_bad: f64,
}

fn beta(a: f64, b: f64, rng: &mut impl rand::Rng) -> f64 {
    Beta::new(a, b).unwrap().sample(rng)
}

/// A log of `calls` calls per class drawn from the model with its parameters drawn from the prior.
fn simulate(s: &Scenario, set: &Settings, calls: usize, rng: &mut impl rand::Rng) -> (Data, Truth) {
    let pri = fit::scenario_priors(s).unwrap();
    let (n0, nr) = (set.prior_strength, set.reviewer_strength);
    let a = beta(nr * pri.approve_good, nr * (1.0 - pri.approve_good), rng);
    let k = beta(nr * pri.catch_bad, nr * (1.0 - pri.catch_bad), rng);
    let mut data = Data::default();
    let mut truth = Truth {
        p_bad: vec![],
        median_loss: vec![],
        sigma_log: vec![],
        approve_good: a,
        catch_bad: k,
    };
    let mut id = 0u64;
    for (ci, class) in s.classes.iter().enumerate() {
        let q: Vec<f64> = pri.bins[ci]
            .iter()
            .map(|&m| beta(n0 * m, n0 * (1.0 - m), rng))
            .collect();
        // The loss tail: (μ, σ²) from the normal-inverse-gamma prior.
        let mu0 = pri.loss[ci].ln() - 0.5;
        let var: f64 = 1.0 / Gamma::new(3.0, 1.0 / 2.0).unwrap().sample(rng);
        let mu = mu0 + var.sqrt() * rng.sample::<f64, _>(StandardNormal);
        truth.median_loss.push(mu.exp());
        truth.sigma_log.push(var.sqrt());
        let mut in_bin = [0usize; BINS + 1];
        for _ in 0..calls {
            // Confidence skewed high, as agents report it; a tenth without one.
            let b = if rng.random::<f64>() < 0.1 {
                BINS
            } else {
                fit::bin_of(Some(rng.random::<f64>().sqrt()))
            };
            in_bin[b] += 1;
            let good = rng.random::<f64>() < q[b];
            let asked = rng.random::<f64>() < 0.4;
            let answer = asked.then(|| {
                let approve = if good {
                    rng.random::<f64>() < a
                } else {
                    rng.random::<f64>() >= k
                };
                if approve { "approve" } else { "reject" }
            });
            // Outcomes are seen for most calls that ran, rarely for rejected ones: missing at random given the
            // answer, not given the truth.
            let seen = match answer {
                Some("approve") => 0.8,
                Some(_) => 0.15,
                None => 0.5,
            };
            let outcome =
                (rng.random::<f64>() < seen).then_some(if good { "fine" } else { "incident" });
            let cost = (outcome == Some("incident"))
                .then(|| (mu + var.sqrt() * rng.sample::<f64, _>(StandardNormal)).exp());
            id += 1;
            let r = Record {
                time: "2026-12-01T00:00:00.000Z".into(),
                tool: "tool".into(),
                class: Some(class.name.clone()),
                confidence: (b < BINS).then(|| fit::bin_center(b)),
                mv: Some(if asked { "ask" } else { "act" }.into()),
                answer: answer.map(String::from),
                outcome: outcome.map(String::from),
                cost,
                tool_use_id: Some(id.to_string()),
                ..Default::default()
            };
            data.add(&r.validate().unwrap());
        }
        // The population rate: the bins' probabilities under the generator (10% without a confidence, the
        // rest √U), not the sample's shares.
        let _ = in_bin;
        let pi = |b: usize| {
            if b == BINS {
                0.1
            } else {
                let (lo, hi) = fit::bin_range(b);
                0.9 * (hi * hi - lo * lo)
            }
        };
        truth
            .p_bad
            .push((0..=BINS).map(|b| pi(b) * (1.0 - q[b])).sum());
    }
    (data, truth)
}

#[test]
fn ninety_percent_intervals_cover_the_truth_ninety_percent_of_the_time() {
    let s = scenario();
    let reps = std::env::var("CIRL_SBC_REPS").map_or(120, |v| v.parse().unwrap());
    let mut rng = cirl::rng::job_rng(20261201, 0);
    let (mut covered, mut total) = ([0usize; 3], [0usize; 3]);
    for rep in 0..reps {
        let set = Settings {
            samples: std::env::var("CIRL_SBC_SAMPLES").map_or(1500, |v| v.parse().unwrap()),
            seed: rep,
            ..Default::default()
        };
        let (data, truth) = simulate(&s, &set, 150, &mut rng);
        let f = fit::fit(&s, &data, &set).unwrap();
        let mut tally = |kind: usize, e: &fit::Posterior, x: f64| {
            total[kind] += 1;
            covered[kind] += usize::from(e.lo <= x && x <= e.hi);
        };
        for (ci, c) in f.classes.iter().enumerate() {
            tally(0, &c.p_bad, truth.p_bad[ci]);
            tally(2, &c.tail.median_loss, truth.median_loss[ci]);
            tally(2, &c.tail.sigma_log, truth.sigma_log[ci]);
        }
        tally(1, &f.reviewer.approve_good, truth.approve_good);
        tally(1, &f.reviewer.catch_bad, truth.catch_bad);
    }
    let names = ["P(bad) per class", "reviewer's two rates", "loss tail"];
    for i in 0..3 {
        let c = covered[i] as f64 / total[i] as f64;
        eprintln!(
            "{}: {:.3} of {} intervals cover the truth",
            names[i], c, total[i]
        );
        assert!(
            (0.85..=0.95).contains(&c),
            "{}: coverage {c:.3} of {}",
            names[i],
            total[i]
        );
    }
}

#[test]
fn more_data_narrows_the_posterior_onto_the_truth() {
    let s = scenario();
    let set = Settings {
        samples: 1000,
        ..Default::default()
    };
    let mut rng = cirl::rng::job_rng(7, 0);
    let mut widths = vec![];
    for calls in [100, 1000, 10_000] {
        let (data, truth) = simulate(&s, &set, calls, &mut rng);
        let f = fit::fit(&s, &data, &set).unwrap();
        let w: f64 = f
            .classes
            .iter()
            .map(|c| c.p_bad.hi - c.p_bad.lo)
            .sum::<f64>()
            / 4.0;
        let err: f64 = f
            .classes
            .iter()
            .zip(&truth.p_bad)
            .map(|(c, t)| (c.p_bad.mean - t).abs())
            .fold(0.0, f64::max);
        eprintln!("{calls} calls a class: mean 90% width {w:.4}, worst |mean − truth| {err:.4}");
        widths.push((w, err));
        for c in &f.classes {
            assert!(c.p_bad.rhat < 1.05, "{}: R̂ {}", c.name, c.p_bad.rhat);
        }
    }
    assert!(
        widths[2].0 < widths[1].0 && widths[1].0 < widths[0].0,
        "{widths:?}"
    );
    assert!(widths[2].1 < 0.03, "{widths:?}");
}

fn cirl() -> assert_cmd::Command {
    assert_cmd::Command::new(assert_cmd::cargo::cargo_bin("cirl"))
}

const SCENARIO: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/experiments/scenarios/coding-agent.toml"
);

/// `cirl fit LOG --scenario coding-agent --json` with `extra` flags, which must succeed.
fn fit_cli(log: &std::path::Path, extra: &[&str]) -> serde_json::Value {
    let out = cirl()
        .arg("fit")
        .arg(log)
        .args(["--scenario", SCENARIO, "--json"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `cirl fit LOG --samples N --out DIR` against the coding agent; its fit.json.
fn fit_out(log: &std::path::Path, samples: &str, out: &std::path::Path) -> serde_json::Value {
    cirl()
        .arg("fit")
        .arg(log)
        .args(["--scenario", SCENARIO, "--samples", samples, "--out"])
        .arg(out)
        .assert()
        .success();
    serde_json::from_str(&std::fs::read_to_string(out.join("fit.json")).unwrap()).unwrap()
}

fn fit_json(log: &std::path::Path) -> serde_json::Value {
    fit_cli(log, &["--samples", "300"])
}

#[test]
fn a_messy_log_says_what_it_cannot_learn() {
    let dir = tempfile::tempdir().unwrap();
    // No outcomes, a class the scenario lacks, classes with no calls, one never asked, repeated records, out of
    // order, calls no class decided.
    let lines = [
        r#"{"time":"2026-12-01T10:00:00Z","tool":"Edit","class":"edit-file","confidence":0.9,"move":"act","tool_use_id":"1"}"#,
        r#"{"time":"2026-12-01T09:00:00Z","tool":"Edit","class":"edit-file","confidence":0.7,"move":"act","tool_use_id":"2"}"#,
        r#"{"time":"2026-12-01T10:00:00Z","tool":"Edit","class":"edit-file","confidence":0.9,"move":"act","tool_use_id":"1"}"#,
        r#"{"time":"2026-12-01T11:00:00Z","tool":"Bash","class":"deploy","confidence":0.9,"move":"ask","answer":"approve","tool_use_id":"3"}"#,
        r#"{"time":"2026-12-01T11:30:00Z","tool":"Bash","class":null,"move":"ask","answer":"reject","tool_use_id":"4"}"#,
    ];
    let file = dir.path().join("log.jsonl");
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    for log in [file.clone(), dir.path().join("log.sqlite")] {
        if log.extension().is_some_and(|e| e == "sqlite") {
            cirl()
                .args(["log", "import"])
                .arg(&file)
                .arg("--log")
                .arg(&log)
                .assert()
                .success();
        }
        let f = fit_json(&log);
        let notes: Vec<String> = f["notes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string())
            .collect();
        let has = |s: &str| notes.iter().any(|n| n.contains(s));
        assert!(has("no call in the log has an outcome"), "{notes:?}");
        assert!(
            has("class deploy (1 calls) is not in the scenario"),
            "{notes:?}"
        );
        assert!(has("class irreversible: no calls in the log"), "{notes:?}");
        assert!(has("class edit-file: never asked"), "{notes:?}");
        assert_eq!(f["unclassified"], 1);
        let edit = f["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "edit-file")
            .unwrap();
        assert_eq!(edit["calls"], 2);
        // The importer dropped the repeat; read directly, the fit does.
        let expect_dup = if log == file { 1 } else { 0 };
        assert_eq!(f["duplicates"], expect_dup);
        // A class with no calls keeps its prior (to the sampler's precision).
        let irr = f["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "irreversible")
            .unwrap();
        let (prior, mean) = (
            irr["p_bad"]["prior"].as_f64().unwrap(),
            irr["p_bad"]["mean"].as_f64().unwrap(),
        );
        assert!((prior - mean).abs() < 0.02, "{prior} vs {mean}");
    }
    // A bad record is named, as on import.
    std::fs::write(&file, r#"{"time":"x","tool":"Edit"}"#).unwrap();
    let out = cirl()
        .arg("fit")
        .arg(&file)
        .args(["--scenario", SCENARIO])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("log.jsonl:1: time:"));
    // Bad flags are named.
    for (flag, value) in [
        ("--window", "5x"),
        ("--window", "0s"),
        ("--window", "d"),
        ("--samples", "3"),
        ("--prior-strength", "-1"),
    ] {
        let out = cirl()
            .arg("fit")
            .arg(&file)
            .args(["--scenario", SCENARIO])
            .args([flag, value])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(flag), "{flag} {value}: {err}");
    }
}

/// A log of `calls` calls per class of the coding agent in which the irreversible class is bad `p_irr` of the
/// time, with losses lognormal around `median` (the scenario says 7.6%, −200 on average); other classes bad 10%.
fn planted(dir: &std::path::Path, calls: usize, p_irr: f64, median: f64) -> std::path::PathBuf {
    let mut rng = cirl::rng::job_rng(99, 0);
    let mut text = String::new();
    let (a, k) = (0.95, 0.7);
    let mut id = 0;
    for class in [
        "read-search",
        "edit-file",
        "run-tests-build",
        "irreversible",
    ] {
        let p_bad = if class == "irreversible" { p_irr } else { 0.1 };
        for _ in 0..calls {
            id += 1;
            let good = rng.random::<f64>() >= p_bad;
            let conf: f64 = rng.random();
            let asked = rng.random::<f64>() < 0.4;
            let mut line = format!(
                r#"{{"time":"2026-12-01T00:00:00.000Z","tool":"t","class":"{class}","confidence":{conf},"move":"{}","tool_use_id":"{id}""#,
                if asked { "ask" } else { "act" }
            );
            let mut ran = !asked;
            if asked {
                let approve = if good {
                    rng.random::<f64>() < a
                } else {
                    rng.random::<f64>() >= k
                };
                ran = approve;
                line += &format!(
                    r#","answer":"{}""#,
                    if approve { "approve" } else { "reject" }
                );
            }
            if rng.random::<f64>() < if ran { 0.9 } else { 0.1 } {
                if good {
                    line += r#","outcome":"fine""#;
                } else {
                    let z: f64 = rng.sample(StandardNormal);
                    line += &format!(
                        r#","outcome":"incident","cost":{}"#,
                        median * (0.5 * z).exp()
                    );
                }
            }
            text += &line;
            text += "}\n";
        }
    }
    let p = dir.join("planted.jsonl");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn a_planted_truth_reissues_a_card_that_moves_towards_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = planted(dir.path(), 5000, 0.3, 200.0);
    let out = dir.path().join("fit");
    let fit = fit_out(&log, "500", &out);
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("diff.json")).unwrap()).unwrap();
    let class = |v: &serde_json::Value, name: &str| {
        v["classes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap()
            .clone()
    };
    let irr = class(&fit, "irreversible");
    // The log's confidence says nothing of the truth: the learnt calibration line is nearly flat, and its
    // standard errors are given.
    let (slope, sd) = (
        irr["map_line"][1].as_f64().unwrap(),
        irr["map_line_sd"][1].as_f64().unwrap(),
    );
    assert!(slope < 0.3 && sd > 0.0 && sd < 0.2, "slope {slope} ± {sd}");
    let (lo, hi) = (
        irr["p_bad"]["lo"].as_f64().unwrap(),
        irr["p_bad"]["hi"].as_f64().unwrap(),
    );
    assert!(lo < 0.3 && 0.3 < hi + 0.01, "P(bad) [{lo}, {hi}]");
    let median = irr["tail"]["median_loss"]["median"].as_f64().unwrap();
    assert!((median / 200.0 - 1.0).abs() < 0.1, "median loss {median}");
    let rev = &fit["reviewer"];
    assert!(
        (rev["approve_good"]["mean"].as_f64().unwrap() - 0.95).abs() < 0.02,
        "{rev}"
    );
    assert!(
        (rev["catch_bad"]["mean"].as_f64().unwrap() - 0.7).abs() < 0.03,
        "{rev}"
    );
    // The re-issued scenario reads back, its class carries the learned rate, and the card's irreversible class
    // changed: bad 30% of the time with 200-minute losses, acting is no longer worth it at any confidence.
    let s = Scenario::load(&out.join("scenario.toml")).unwrap();
    let model = cirl::escalation::model::Model::new(&s).unwrap();
    let c = model
        .classes
        .iter()
        .find(|c| c.name == "irreversible")
        .unwrap();
    assert!((1.0 - c.p_good - irr["p_bad"]["mean"].as_f64().unwrap()).abs() < 1e-6);
    let d = class(&diff, "irreversible");
    assert!(
        (d["p_bad_after"].as_f64().unwrap() - 0.3).abs() < 0.02,
        "{d}"
    );
    // Asked before, blocked now; and the block region reaches further up the reported confidence (the log's
    // confidence says nothing of the truth, and the learnt calibration is nearly flat).
    assert_eq!(
        (&d["move_before"], &d["move_after"]),
        (&"ask".into(), &"block".into()),
        "{d}"
    );
    assert_eq!(d["decision_changed"], true, "{d}");
    let block_to = |k: &str| {
        d[k].as_array()
            .unwrap()
            .iter()
            .find(|r| r[0] == "block")
            .unwrap()[2]
            .as_f64()
            .unwrap()
    };
    assert!(
        block_to("regions_after") > block_to("regions_before") + 0.005,
        "{d}"
    );
    assert!(
        std::fs::read_to_string(out.join("diff.md"))
            .unwrap()
            .contains("**changed**")
    );
    // The re-issued card is what the gate loads: a push at reported confidence 0.98, asked about under the old
    // card, is blocked.
    let o = cirl()
        .args(["gate", "--format", "jsonl", "--no-log", "--card"])
        .arg(out.join("card/card.json"))
        .write_stdin(
            "{\"tool\":\"Bash\",\"input\":{\"command\":\"git push\"},\"confidence\":0.98}\n",
        )
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let answer: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        (&answer["class"], &answer["move"]),
        (&"irreversible".into(), &"block".into()),
        "{answer}"
    );
}

#[test]
fn a_log_without_outcomes_or_answers_reissues_the_same_card() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("quiet.jsonl");
    let lines: String = (0..200)
        .map(|i| {
            format!(
                "{{\"time\":\"2026-12-01T00:00:00.000Z\",\"tool\":\"t\",\"class\":\"edit-file\",\"confidence\":0.9,\"move\":\"act\",\"tool_use_id\":\"{i}\"}}\n"
            )
        })
        .collect();
    std::fs::write(&log, lines).unwrap();
    let out = dir.path().join("fit");
    fit_out(&log, "200", &out);
    let diff: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("diff.json")).unwrap()).unwrap();
    assert_eq!(diff["value_before"], diff["value_after"], "{diff}");
    assert!(
        diff["classes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["decision_changed"] == false)
    );
    assert!(
        std::fs::read_to_string(out.join("scenario.toml"))
            .unwrap()
            .contains("nothing: the log has no outcome")
    );
}

/// A log over `days` days, `per_day` calls of each class a day, edit-file bad with probability `p(day)` and the
/// other classes 10%; the reviewer catches `catch(day)` of bad calls.
fn windowed(
    dir: &std::path::Path,
    days: usize,
    per_day: usize,
    p: impl Fn(usize) -> f64,
    catch: impl Fn(usize) -> f64,
    seed: u64,
) -> std::path::PathBuf {
    let mut rng = cirl::rng::job_rng(seed, 0);
    let mut text = String::new();
    let mut id = 0;
    for day in 0..days {
        for class in [
            "read-search",
            "edit-file",
            "run-tests-build",
            "irreversible",
        ] {
            let p_bad = if class == "edit-file" { p(day) } else { 0.1 };
            for i in 0..per_day {
                id += 1;
                let good = rng.random::<f64>() >= p_bad;
                let asked = rng.random::<f64>() < 0.4;
                let time = format!("2026-11-{:02}T{:02}:00:00.000Z", day + 1, i % 24);
                let mut line = format!(
                    r#"{{"time":"{time}","tool":"t","class":"{class}","confidence":0.8,"move":"{}","tool_use_id":"{id}""#,
                    if asked { "ask" } else { "act" }
                );
                let mut ran = !asked;
                if asked {
                    let approve = if good {
                        rng.random::<f64>() < 0.95
                    } else {
                        rng.random::<f64>() >= catch(day)
                    };
                    ran = approve;
                    line += &format!(
                        r#","answer":"{}""#,
                        if approve { "approve" } else { "reject" }
                    );
                }
                if rng.random::<f64>() < if ran { 0.9 } else { 0.2 } {
                    line += if good {
                        r#","outcome":"fine""#
                    } else {
                        r#","outcome":"undone","cost":1.5"#
                    };
                }
                text += &line;
                text += "}\n";
            }
        }
    }
    let path = dir.join(format!("windowed-{seed}.jsonl"));
    std::fs::write(&path, text).unwrap();
    path
}

fn drift_of(log: &std::path::Path) -> Vec<serde_json::Value> {
    fit_cli(log, &["--window", "1d", "--samples", "400"])["drift"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn drift_fires_on_a_planted_change_and_rarely_on_a_stationary_log() {
    let dir = tempfile::tempdir().unwrap();
    // The agent gets worse on edits from day 10, and the reviewer starts rubber-stamping from day 15.
    let log = windowed(
        dir.path(),
        20,
        400,
        |d| if d < 10 { 0.1 } else { 0.3 },
        |d| if d < 15 { 0.7 } else { 0.2 },
        1,
    );
    let w = drift_of(&log);
    assert_eq!(w.len(), 20);
    let flagged = |i: usize, what: &str| {
        w[i]["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["what"].as_str().unwrap().contains(what))
    };
    for (i, win) in w.iter().enumerate().take(10) {
        assert!(
            win["flags"].as_array().unwrap().is_empty(),
            "false alarm in window {i}: {win}"
        );
    }
    assert!(flagged(10, "class edit-file: P(bad)"), "{}", w[10]);
    assert!(flagged(15, "reviewer: P(reject | bad)"), "{}", w[15]);
    assert_eq!(w[10]["start"], "2026-11-11T00:00:00.000Z");
    // Stationary logs: the share of comparisons that fire (6 per window: 4 classes, 2 reviewer rates).
    let (mut fired, mut compared) = (0usize, 0usize);
    for seed in 2..5 {
        let log = windowed(dir.path(), 25, 200, |_| 0.1, |_| 0.7, seed);
        for win in drift_of(&log).iter().skip(1) {
            fired += win["flags"].as_array().unwrap().len();
            compared += 6;
        }
    }
    let rate = fired as f64 / compared as f64;
    eprintln!("stationary logs: {fired} of {compared} comparisons fired ({rate:.4})");
    assert!(rate <= 0.01, "false-alarm rate {rate}");
}

#[test]
fn learning_is_worth_less_the_more_the_log_holds() {
    let dir = tempfile::tempdir().unwrap();
    let mut evpi_total = vec![];
    for calls in [60, 20_000] {
        let log = planted(dir.path(), calls, 0.3, 200.0);
        let out = dir.path().join(format!("fit-{calls}"));
        cirl()
            .arg("fit")
            .arg(&log)
            .args([
                "--scenario",
                SCENARIO,
                "--samples",
                "400",
                "--future-calls",
                "10000",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success();
        let diff: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(out.join("diff.json")).unwrap()).unwrap();
        let voi = diff["voi"].as_array().unwrap();
        assert_eq!(voi.len(), 4);
        let mut total = 0.0;
        for v in voi {
            for path in ["per_action", "static_rules"] {
                let p = &v[path];
                let evpi = p["evpi"].as_f64().unwrap();
                total += evpi;
                // No sample is worth more than perfect information; deciding now is worth nothing extra.
                for b in p["budgets"].as_array().unwrap() {
                    assert!(b[1].as_f64().unwrap() <= evpi + 1e-12, "{v}");
                }
                assert_eq!(p["budgets"][0][1].as_f64().unwrap(), 0.0, "{v}");
            }
        }
        evpi_total.push(total);
        assert!(
            std::fs::read_to_string(out.join("diff.md"))
                .unwrap()
                .contains("## Asking to learn")
        );
    }
    eprintln!("EVPI summed over classes and paths: {evpi_total:?}");
    assert!(evpi_total[0] > 0.0, "{evpi_total:?}");
    assert!(evpi_total[1] < 0.2 * evpi_total[0], "{evpi_total:?}");
}

const TRUTH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/experiments/closed-loop/coding-agent-truth.toml"
);

fn loop_spec(actions: u64, every: u64) -> closed_loop::Spec {
    let prior_text = std::fs::read_to_string(SCENARIO).unwrap();
    closed_loop::Spec {
        truth: Scenario::load(std::path::Path::new(TRUTH)).unwrap(),
        prior: Scenario::parse(&prior_text, "prior").unwrap(),
        prior_text,
        actions,
        every,
        seen_ran: 0.9,
        seen_rejected: 0.1,
        agent_shift: closed_loop::AgentShift::Prior,
        fit: Settings {
            samples: 300,
            ..Default::default()
        },
        change: None,
        per_class_calibration: true,
    }
}

/// The coding agent's edits go wrong more often than its scenario says and its reviewer is better: over 40
/// seeds of 30,000 actions refitted every 3,000, the posteriors converge on the truth and cover it, and the card's
/// regret against the oracle falls towards 0.
#[test]
fn the_closed_loop_learns_the_truth_and_its_regret_falls() {
    use rayon::prelude::*;
    let spec = loop_spec(30_000, 3_000);
    let seeds: u64 = std::env::var("CIRL_LOOP_SEEDS").map_or(40, |v| v.parse().unwrap());
    let runs: Vec<Vec<closed_loop::Round>> = (0..seeds)
        .into_par_iter()
        .map(|seed| closed_loop::run(&spec, seed).unwrap())
        .collect();
    let rounds = runs[0].len();
    let mut regret = vec![];
    let mut coverage = vec![];
    for r in 0..rounds {
        let at: Vec<&closed_loop::Round> = runs.iter().map(|run| &run[r]).collect();
        regret.push(at.iter().map(|x| x.regret).sum::<f64>() / seeds as f64);
        let covers: Vec<bool> = at
            .iter()
            .flat_map(|x| &x.posteriors)
            .filter_map(|p| p.covers())
            .collect();
        coverage.push(covers.iter().filter(|&&c| c).count() as f64 / covers.len().max(1) as f64);
        eprintln!(
            "round {r:>2}: regret {:.5}, coverage {:.3} of {}",
            regret[r],
            coverage[r],
            covers.len()
        );
    }
    let last = rounds - 1;
    for (q, p) in runs[0][last].posteriors.iter().enumerate() {
        let err = runs
            .iter()
            .map(|run| run[last].posteriors[q].estimate.unwrap().mean - p.truth)
            .sum::<f64>()
            / seeds as f64;
        let cov = runs
            .iter()
            .filter(|run| run[last].posteriors[q].covers() == Some(true))
            .count() as f64
            / seeds as f64;
        eprintln!(
            "  {}: truth {:.4}, mean error {err:+.4}, coverage {cov:.3}",
            p.quantity, p.truth
        );
        if p.quantity == "p_bad edit-file" || p.quantity == "catch_bad" {
            assert!(err.abs() < 0.01, "{}: mean error {err}", p.quantity);
        }
    }
    assert!((0.85..=0.95).contains(&coverage[last]), "{coverage:?}");
    assert!(regret[0] > 0.01, "{regret:?}");
    assert!(regret[last] < 0.15 * regret[0], "{regret:?}");
}

/// The closed loop as an experiment (`cirl run experiments/closed-loop/coding-agent.toml`): its checks pass —
/// 90% intervals covering 85–95% over 100 seeds, the card's regret under a tenth of the prior card's.
#[test]
fn the_closed_loop_experiment_passes_its_checks() {
    let dir = tempfile::tempdir().unwrap();
    cirl()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "run",
            "experiments/closed-loop/coding-agent.toml",
            "--no-plots",
            "--out",
        ])
        .arg(dir.path())
        .assert()
        .success();
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.contains("coverage"), "{summary}");
}

/// A planted change half way through the loop (the edits get worse, the reviewer starts rubber-stamping) is
/// flagged by the drift check of the first window after it, and almost never before (the config's checks, on
/// 30 of its 100 seeds).
#[test]
fn the_drift_check_finds_the_change_planted_in_the_loop() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!(
        "{root}/experiments/closed-loop/coding-agent-drift.toml"
    ))
    .unwrap()
    .replace("seeds = 100", "seeds = 30")
    .replace("experiments/", &format!("{root}/experiments/"));
    let path = dir.path().join("drift.toml");
    std::fs::write(&path, text).unwrap();
    let out = dir.path().join("out");
    cirl()
        .args(["run", "--no-plots", "--out"])
        .arg(&out)
        .arg(&path)
        .assert()
        .success();
    let results = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let rows: Vec<&str> = results.lines().collect();
    let head: Vec<&str> = rows[0].split(',').collect();
    let col = |name: &str| head.iter().position(|c| *c == name).unwrap();
    let value = |round: &str, q: &str, c: &str| -> f64 {
        let r = rows
            .iter()
            .map(|r| r.split(',').collect::<Vec<_>>())
            .find(|r| r[col("round")] == round && r[col("quantity")] == q)
            .unwrap();
        r[col(c)].parse().unwrap()
    };
    // Before the change the posteriors are set against the first truth, after it against the second.
    assert_eq!(value("5", "catch_bad", "truth"), 0.8);
    assert_eq!(value("6", "catch_bad", "truth"), 0.3);
    assert!(value("6", "catch_bad", "drifted") >= 0.9);
    assert!(value("5", "card", "alarmed") <= 0.05);
}

/// An agent overconfident on its edits more than on the rest: the card routing each class on its learnt
/// calibration sheds the regret, the card keeping the prior's one shift keeps most of it (20 seeds each, the same
/// calls: common random numbers).
#[test]
fn a_calibration_learnt_per_class_reads_an_agent_overconfident_on_one_class() {
    use rayon::prelude::*;
    let truth = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/closed-loop/coding-agent-truth-calibration.toml"
    );
    let regret = |per_class: bool| {
        let mut spec = loop_spec(30_000, 6_000);
        spec.truth = Scenario::load(std::path::Path::new(truth)).unwrap();
        spec.per_class_calibration = per_class;
        let last: Vec<f64> = (0..20u64)
            .into_par_iter()
            .map(|seed| {
                closed_loop::run(&spec, seed)
                    .unwrap()
                    .last()
                    .unwrap()
                    .regret
            })
            .collect();
        last.iter().sum::<f64>() / last.len() as f64
    };
    let (learnt, prior) = (regret(true), regret(false));
    eprintln!(
        "regret after 30,000 calls: per-class calibration {learnt:.5}, the prior's one shift {prior:.5}"
    );
    assert!(prior > 0.006, "{prior}");
    assert!(learnt < prior / 4.0, "{learnt} vs {prior}");
}

/// A small closed loop gives byte-identical results whole, on one thread, and as two shards merged.
#[test]
fn the_closed_loop_is_seeded_shardable_and_thread_count_independent() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{root}/experiments/closed-loop/coding-agent.toml"))
        .unwrap()
        .replace("actions = 30000", "actions = 4000")
        .replace("every = 3000", "every = 2000")
        .replace("seeds = 100", "seeds = 4")
        .replace("experiments/", &format!("{root}/experiments/"));
    let mut cfg: toml::Table = toml::from_str(&text).unwrap();
    cfg.remove("check");
    cfg.remove("plot");
    let path = dir.path().join("small.toml");
    std::fs::write(&path, toml::to_string(&cfg).unwrap()).unwrap();
    let run = |out: &str, extra: &[&str]| {
        cirl()
            .arg("run")
            .arg(&path)
            .args(extra)
            .arg("--out")
            .arg(dir.path().join(out))
            .assert()
            .success();
    };
    run("whole", &[]);
    run("one-thread", &["--threads", "1"]);
    run("s1", &["--shard", "1/2"]);
    run("s2", &["--shard", "2/2"]);
    cirl()
        .arg("merge")
        .args([dir.path().join("s1"), dir.path().join("s2")])
        .arg("--out")
        .arg(dir.path().join("merged"))
        .assert()
        .success();
    let read = |d: &str| std::fs::read(dir.path().join(d).join("results.csv")).unwrap();
    let whole = read("whole");
    assert_eq!(whole, read("one-thread"));
    assert_eq!(whole, read("merged"));
    // 3 rounds × (4 classes + 2 reviewer rates + all + card) rows and a header.
    assert_eq!(String::from_utf8(whole).unwrap().lines().count(), 1 + 3 * 8);
}

/// A log of sessions of 30 asked edits each, bad 40% of the time, whose reviewer catches 90% of bad calls at the
/// first prompt of a session and the odds of a catch fall by `or` with every further prompt.
fn tiring(dir: &std::path::Path, or: f64, seed: u64) -> std::path::PathBuf {
    let mut rng = cirl::rng::job_rng(seed, 0);
    let mut text = String::new();
    let mut id = 0;
    for session in 0..400 {
        for k in 0..30 {
            id += 1;
            let bad = rng.random::<f64>() < 0.4;
            let catch = 1.0 / (1.0 + (-((0.9f64 / 0.1).ln() + or.ln() * k as f64)).exp());
            let approve = if bad {
                rng.random::<f64>() >= catch
            } else {
                rng.random::<f64>() < 0.95
            };
            // Two records a session out of time order: the prompts are counted in time order.
            let second = if k == 0 {
                1
            } else if k == 1 {
                0
            } else {
                k
            };
            let mut line = format!(
                r#"{{"time":"2026-12-01T{:02}:{:02}:{:02}Z","tool":"t","class":"edit-file","confidence":{},"move":"ask","session":"s{session}","tool_use_id":"{id}","answer":"{}""#,
                session / 60 % 24,
                session % 60,
                second,
                rng.random::<f64>(),
                if approve { "approve" } else { "reject" }
            );
            if rng.random::<f64>() < if approve { 0.9 } else { 0.3 } {
                line += if bad {
                    r#","outcome":"undone","cost":1.0"#
                } else {
                    r#","outcome":"fine""#
                };
            }
            text += &line;
            text += "}\n";
        }
    }
    let p = dir.join(format!("tiring-{or}.jsonl"));
    std::fs::write(&p, text).unwrap();
    p
}

/// Fatigue is learnt where the log shows it (the odds of a catch × 0.9 per further prompt: found, and written into
/// the re-issued scenario) and not where it does not (the same log with a tireless reviewer).
#[test]
fn the_reviewers_fatigue_is_learnt_when_the_log_shows_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = tiring(dir.path(), 0.9, 5);
    let out = dir.path().join("fit");
    let fit = fit_out(&log, "300", &out);
    let f = &fit["reviewer"]["fatigue"];
    let or = &f["odds_ratio_per_ask"];
    let (lo, hi) = (or["lo"].as_f64().unwrap(), or["hi"].as_f64().unwrap());
    assert!(lo < 0.9 && 0.9 < hi && hi < 1.0, "{f}");
    assert_eq!(f["supported"], true);
    assert_eq!(f["actions_per_session"], 30.0);
    let s = Scenario::load(&out.join("scenario.toml")).unwrap();
    let fat = s
        .reviewer
        .fatigue
        .expect("the re-issued scenario has fatigue");
    assert!((fat.odds_ratio_per_ask - or["mean"].as_f64().unwrap()).abs() < 1e-9);
    assert_eq!(fat.actions_per_session, 30.0);
    // A tireless reviewer: no fatigue is claimed, and the note says so.
    let fit = fit_cli(&tiring(dir.path(), 1.0, 6), &["--samples", "300"]);
    let f = &fit["reviewer"]["fatigue"];
    assert_eq!(f["supported"], false, "{f}");
    assert!(
        fit["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("no sign of reviewer fatigue")),
        "{}",
        fit["notes"]
    );
}

const SUPPORT_BOT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/experiments/scenarios/support-bot.toml"
);

/// A log of `n` asked FAQ answers, each offering its reviewer a choice: approve (worth the answer's utility U ~
/// normal(0.5, 2²)) or reject (worth 0), and every third also "edit" (worth U/2 + 0.3); a Boltzmann reviewer with
/// temperature `beta` chooses, P(option) ∝ exp(value/β). Outcomes are logged for the approved.
fn choosing(dir: &std::path::Path, beta: f64, n: usize, seed: u64) -> std::path::PathBuf {
    let mut rng = cirl::rng::job_rng(seed, 0);
    let mut text = String::new();
    for i in 0..n {
        let u = 0.5 + 2.0 * rng.sample::<f64, _>(StandardNormal);
        let mut options = vec![("approve", u), ("reject", 0.0)];
        if i % 3 == 0 {
            options.push(("edit", u / 2.0 + 0.3));
        }
        let values: Vec<f64> = options.iter().map(|o| o.1).collect();
        let k = cirl::rng::categorical(&cirl::numerics::softmax(&values, beta), &mut rng);
        let chosen = options[k].0;
        let offered: Vec<String> = options
            .iter()
            .map(|(l, v)| format!(r#"{{"label":"{l}","value":{v}}}"#))
            .collect();
        let mut line = format!(
            r#"{{"time":"2026-12-01T10:{:02}:{:02}Z","tool":"reply","class":"faq","move":"ask","tool_use_id":"c{i}","answer":"{}","options":[{}],"chosen":"{chosen}""#,
            i / 60 % 60,
            i % 60,
            if chosen == "reject" {
                "reject"
            } else if chosen == "edit" {
                "edit"
            } else {
                "approve"
            },
            offered.join(",")
        );
        if chosen == "approve" {
            line += if u >= 0.0 {
                r#","outcome":"fine""#
            } else {
                r#","outcome":"undone","cost":1.0"#
            };
        }
        text += &line;
        text += "}\n";
    }
    let p = dir.join(format!("choosing-{beta}-{seed}.jsonl"));
    std::fs::write(&p, text).unwrap();
    p
}

/// The reviewer's logged choices between options with values teach its Boltzmann temperature: a reviewer of β =
/// 0.6 against the scenario's 1.5 is found (the 90% interval holds 0.6 and not 1.5), the re-issued scenario's
/// reviewer is that chooser, and the SQLite log the file imports into gives the same fit (and exports the choices
/// back as they were).
#[test]
fn the_reviewers_choices_teach_a_boltzmann_reviewer() {
    let dir = tempfile::tempdir().unwrap();
    let log = choosing(dir.path(), 0.6, 800, 7);
    let out = dir.path().join("fit");
    cirl()
        .arg("fit")
        .arg(&log)
        .args(["--scenario", SUPPORT_BOT, "--samples", "300", "--out"])
        .arg(&out)
        .assert()
        .success();
    let fit: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("fit.json")).unwrap()).unwrap();
    let b = &fit["reviewer"]["boltzmann"];
    let beta = &b["beta"];
    // 1/β within 3.3 posterior sd of the truth (a 0.1% miss), the scenario's β well outside the interval.
    let lam = &b["rationality"];
    let (m, sd) = (
        lam["mean"].as_f64().unwrap(),
        (lam["hi"].as_f64().unwrap() - lam["lo"].as_f64().unwrap()) / (2.0 * 1.644_854),
    );
    assert!((m - 1.0 / 0.6).abs() < 3.3 * sd && sd < 0.15, "{b}");
    assert!(beta["hi"].as_f64().unwrap() < 1.0, "{b}");
    assert_eq!(b["supported"], true);
    assert_eq!(b["choices"], 800);
    assert_eq!(b["options"], 800 * 2 + 267);
    assert!(
        b["prior"].as_str().unwrap().contains("boltzmann:1.5"),
        "{b}"
    );
    let s = Scenario::load(&out.join("scenario.toml")).unwrap();
    match s.reviewer.human {
        cirl::human::Human::Boltzmann { beta: got } => {
            assert!(
                (got - beta["median"].as_f64().unwrap()).abs() < 1e-12,
                "{got}"
            )
        }
        h => panic!("the re-issued reviewer is {h:?}"),
    }
    // The same log through the SQLite store: the same choices, the same fit, and back out unchanged.
    let db = dir.path().join("log.db");
    cirl()
        .args(["log", "import"])
        .arg(&log)
        .arg("--log")
        .arg(&db)
        .assert()
        .success();
    let from_db = cirl()
        .arg("fit")
        .arg(&db)
        .args(["--scenario", SUPPORT_BOT, "--samples", "300", "--json"])
        .output()
        .unwrap();
    let from_db: serde_json::Value = serde_json::from_slice(&from_db.stdout).unwrap();
    assert_eq!(from_db["reviewer"]["boltzmann"], *b);
    let exported = cirl()
        .args(["log", "export", "--log"])
        .arg(&db)
        .output()
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&exported.stdout)
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let original: serde_json::Value = serde_json::from_str(
        std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let offered = |v: &serde_json::Value| -> Vec<cirl::escalation::records::Offered> {
        serde_json::from_value(v["options"].clone()).unwrap()
    };
    assert_eq!(offered(&first), offered(&original));
    assert_eq!(first["chosen"], original["chosen"]);
}

/// An error-rate scenario keeps its form unless asked (`--reviewer boltzmann`), which a log without choices
/// refuses with one line naming the flag; too few choices are not taken as support.
#[test]
fn the_reviewers_form_follows_the_scenario_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let log = choosing(dir.path(), 0.6, 300, 8);
    let scenario_of = |extra: &[&str], name: &str| {
        let out = dir.path().join(name);
        cirl()
            .arg("fit")
            .arg(&log)
            .args(["--scenario", SUPPORT_BOT, "--samples", "100", "--out"])
            .arg(&out)
            .args(extra)
            .assert()
            .success();
        Scenario::load(&out.join("scenario.toml"))
            .unwrap()
            .reviewer
            .human
    };
    assert!(matches!(
        scenario_of(&["--reviewer", "error-rates"], "e"),
        cirl::human::Human::ErrorRates { .. }
    ));
    assert!(matches!(
        scenario_of(&["--reviewer", "boltzmann"], "b"),
        cirl::human::Human::Boltzmann { .. }
    ));
    // The coding agent's error-rate reviewer stays one in auto; its log of 5 choices supports nothing.
    let few = choosing(dir.path(), 0.6, 5, 9);
    let few = {
        let t = std::fs::read_to_string(&few)
            .unwrap()
            .replace("\"faq\"", "\"edit-file\"");
        let p = dir.path().join("few.jsonl");
        std::fs::write(&p, t).unwrap();
        p
    };
    let out = dir.path().join("few");
    let fit = fit_out(&few, "100", &out);
    assert_eq!(fit["reviewer"]["boltzmann"]["supported"], false);
    let err = cirl()
        .arg("fit")
        .arg(&few)
        .args([
            "--scenario",
            SCENARIO,
            "--samples",
            "100",
            "--reviewer",
            "boltzmann",
            "--out",
        ])
        .arg(dir.path().join("refused"))
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&err.stderr);
    assert!(
        msg.contains("--reviewer") && msg.contains("5 choices"),
        "{msg}"
    );
    assert_eq!(msg.trim().lines().count(), 1, "{msg}");
}

/// Choices between options with features teach what the human weighs (one-step MaxEnt IRL): planted weights
/// minutes_saved 0.8 and risk −2.0 lie within 3.3 posterior sd (a 0.1% miss each) of the fit, and the fit is
/// sharp; records whose features differ are refused.
#[test]
fn choices_with_features_teach_what_the_human_weighs() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = cirl::rng::job_rng(12, 0);
    let w = [0.8, -2.0];
    let mut text = String::new();
    for i in 0..1500 {
        let m = 2 + i % 3;
        let x: Vec<[f64; 2]> = (0..m)
            .map(|_| {
                [
                    rng.random::<f64>() * 4.0,
                    (rng.random::<f64>() < 0.3) as u8 as f64,
                ]
            })
            .collect();
        let u: Vec<f64> = x.iter().map(|f| f[0] * w[0] + f[1] * w[1]).collect();
        let k = cirl::rng::categorical(&cirl::numerics::softmax(&u, 1.0), &mut rng);
        let opts: Vec<String> = x
            .iter()
            .enumerate()
            .map(|(j, f)| {
                format!(
                    r#"{{"label":"plan {j}","features":{{"minutes_saved":{},"risk":{}}}}}"#,
                    f[0], f[1]
                )
            })
            .collect();
        text += &format!(
            r#"{{"time":"2026-12-01T11:{:02}:{:02}Z","tool":"plan","class":"edit-file","move":"ask","tool_use_id":"p{i}","options":[{}],"chosen":"plan {k}"}}"#,
            i / 60 % 60,
            i % 60,
            opts.join(",")
        );
        text += "\n";
    }
    let log = dir.path().join("plans.jsonl");
    std::fs::write(&log, &text).unwrap();
    let fit = fit_json(&log);
    let p = &fit["preferences"];
    assert_eq!(p["choices"], 1500);
    for (name, truth) in [("minutes_saved", 0.8), ("risk", -2.0)] {
        let wj = p["weights"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["feature"] == name)
            .unwrap();
        let (lo, hi) = (
            wj["weight"]["lo"].as_f64().unwrap(),
            wj["weight"]["hi"].as_f64().unwrap(),
        );
        let (m, sd) = ((lo + hi) / 2.0, (hi - lo) / (2.0 * 1.644_854));
        assert!((m - truth).abs() < 3.3 * sd && sd < 0.15, "{name}: {wj}");
    }
    assert!(fit["reviewer"].get("boltzmann").is_none());
    // A record offering other features: one line naming the field, exit 2.
    text += r#"{"time":"2026-12-01T12:00:00Z","tool":"plan","class":"edit-file","move":"ask","options":[{"label":"a","features":{"minutes":1}},{"label":"b","features":{"minutes":2}}],"chosen":"a"}"#;
    text += "\n";
    std::fs::write(&log, &text).unwrap();
    let out = cirl()
        .arg("fit")
        .arg(&log)
        .args(["--scenario", SCENARIO])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("options.features") && msg.contains("2026-12-01T12:00:00Z"),
        "{msg}"
    );
}
