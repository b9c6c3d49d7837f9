//! `cirl calibrate`: the value-of-deferring policy beats every rival, the rivals do what they say, the model
//! reproduces the off-switch game, exact figures agree with Monte Carlo, thresholds sit where the moves tie,
//! the numerical pieces (Beta expectations, AUROC, ECE) are right, and bad scenarios fail cleanly.

use assert_cmd::Command;
use cirl::belief::Prior;
use cirl::escalation::model::{self, Model, Move, Plan, Policy, QDist, beta_expect};
use cirl::escalation::optimize::{self, Limits};
use cirl::escalation::scenario::Scenario;
use cirl::escalation::{self, Options};
use cirl::human::Human;
use cirl::offswitch;
use rand::RngExt;
use serde_json::Value;

const SCENARIOS: [&str; 7] = [
    "coding-agent",
    "support-bot",
    "purchasing-agent",
    "confidence-trap-calibrated",
    "confidence-trap-overconfident",
    "devops-agent",
    "personal-assistant",
];

fn scenario_path(name: &str) -> String {
    format!(
        "{}/experiments/scenarios/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn load(name: &str) -> Scenario {
    Scenario::load(std::path::Path::new(&scenario_path(name))).unwrap()
}

/// A random scenario as TOML: 1–4 classes with normal, uniform, discrete or mixture (catastrophic-tail)
/// priors, reversible or not, any human, calibrated or overconfident confidence, with or without a task length.
fn random_scenario(rng: &mut impl rand::Rng) -> String {
    let humans = [
        "rational".to_string(),
        format!("boltzmann:{:.3}", rng.random_range(0.05..5.0)),
        format!("p-rational:{:.3}", rng.random_range(0.5..1.0)),
        format!("chance:{:.3}", rng.random_range(0.1..0.9)),
    ];
    let human = humans[rng.random_range(0..4usize)].clone();
    let n = rng.random_range(1..5usize);
    let mut w: Vec<f64> = (0..n).map(|_| rng.random_range(0.05..1.0)).collect();
    let z: f64 = w.iter().sum();
    w.iter_mut().for_each(|x| *x /= z);
    // Make the shares sum to exactly 1 in decimal.
    let mut shares: Vec<f64> = w.iter().map(|x| (x * 1e6).round() / 1e6).collect();
    let rest: f64 = shares[..n - 1].iter().sum();
    shares[n - 1] = ((1.0 - rest) * 1e6).round() / 1e6;
    let task = rng.random::<f64>() < 0.5;
    let mut t = format!(
        "name = \"random\"\n[human]\nresponse = \"{human}\"\nask_cost = {:.3}\nhandover_cost = {:.3}\ndecline_cost = {:.3}\n[agent]\n",
        rng.random_range(0.0..1.0),
        rng.random_range(0.0..5.0),
        if rng.random::<f64>() < 0.5 {
            0.0
        } else {
            rng.random_range(0.0..3.0)
        }
    );
    if rng.random::<f64>() < 0.5 {
        t += "confidence = \"overconfident\"\nece = 0.01\n";
    }
    let auroc = rng.random_range(0.5..0.9);
    t += &format!("auroc = {auroc:.3}\n");
    if task {
        t += "h50_minutes = 59\nh80_minutes = 15\n";
    }
    t += &format!(
        "[policies]\nconfidence_threshold = {:.3}\n",
        rng.random_range(0.3..0.95)
    );
    for (i, share) in shares.iter().enumerate() {
        let mu: f64 = rng.random_range(-3.0..3.0);
        let sd: f64 = rng.random_range(0.1..4.0);
        let prior = match rng.random_range(0..4u32) {
            0 => format!("\"normal:{mu:.3},{sd:.3}\""),
            1 => format!("\"uniform:{:.3},{:.3}\"", mu - sd, mu + sd),
            2 => format!("\"discrete:{:.3}@0.3,{:.3}@0.7\"", mu - sd, mu + 0.5 * sd),
            _ => format!(
                "{{ kind = \"mixture\", components = [{{ weight = 0.95, prior = \"normal:{mu:.3},{sd:.3}\" }}, {{ weight = 0.05, prior = \"normal:-30,10\" }}] }}"
            ),
        };
        t += &format!("[[class]]\nname = \"c{i}\"\nshare = {share}\nprior = {prior}\n");
        if rng.random::<f64>() < 0.5 {
            t += &format!(
                "reversible = true\nundo_cost = {:.3}\n",
                rng.random_range(0.0..3.0)
            );
        }
        if task && rng.random::<f64>() < 0.6 {
            t += &format!(
                "task_minutes = {:.2}\nfailure_prior = \"normal:-2,1\"\n",
                rng.random_range(1.0..300.0)
            );
        }
    }
    t
}

#[test]
fn value_of_deferring_beats_every_rival_on_random_scenarios() {
    let mut rng = cirl::rng::job_rng(44, 0);
    let mut checked = 0;
    for k in 0..60 {
        let text = random_scenario(&mut rng);
        let s = match Scenario::parse(&text, "random") {
            Ok(s) => s,
            Err(e) => panic!("scenario {k} is invalid: {e}\n{text}"),
        };
        let m = match Model::new(&s) {
            Ok(m) => m,
            // An ECE of 0.01 is impossible when the agent is right on more than 99% of its actions.
            Err(e) if e.to_string().contains("agent.ece") => continue,
            Err(e) => panic!("scenario {k}: {e}\n{text}"),
        };
        let vod = m.metrics(Policy::ValueOfDeferring);
        let scale = m.classes.iter().map(|c| c.scale()).fold(1.0f64, f64::max);
        for p in Policy::ALL {
            let x = m.metrics(p);
            assert!(
                vod.expected_utility >= x.expected_utility - 1e-9 * scale,
                "scenario {k}: {} {} > value of deferring {}\n{text}",
                p.name(),
                x.expected_utility,
                vod.expected_utility
            );
            // Rates are rates.
            let total = x.act_rate + x.ask_rate + x.block_rate + x.handover_rate;
            assert!((total - 1.0).abs() < 1e-9, "{k} {}: {total}", p.name());
        }
        // The static policy beats every policy that ignores confidence.
        let st = m.metrics(Policy::ValueOfDeferringStatic);
        for p in [
            Policy::NeverAsk,
            Policy::ApproveAll,
            Policy::IrreversibilityGate,
            Policy::TaskLengthGate,
        ] {
            assert!(st.expected_utility >= m.metrics(p).expected_utility - 1e-9 * scale);
        }
        checked += 1;
    }
    assert!(checked >= 40, "only {checked} scenarios checked");
}

#[test]
fn rivals_do_what_they_say() {
    for name in SCENARIOS {
        let s = load(name);
        let m = Model::new(&s).unwrap();
        let all = m.metrics(Policy::ApproveAll);
        assert_eq!(all.ask_rate, 1.0, "{name}");
        assert_eq!(all.act_rate + all.handover_rate + all.block_rate, 0.0);
        let never = m.metrics(Policy::NeverAsk);
        assert_eq!(never.act_rate, 1.0);
        assert_eq!(never.ask_rate, 0.0);
        assert_eq!(never.harms_prevented_rate, 0.0);
        let irr: f64 = s
            .classes
            .iter()
            .filter(|c| !c.reversible)
            .map(|c| c.share)
            .sum();
        let gate = m.metrics(Policy::IrreversibilityGate);
        assert!((gate.ask_rate - irr).abs() < 1e-12, "{name}");
        // Asking everywhere lets through exactly the bad irreversible actions the human allows.
        assert!(all.harm_rate <= never.harm_rate + 1e-15);
        // The confidence threshold asks exactly where reported confidence is below τ.
        let thr = m.metrics(Policy::ConfidenceThreshold);
        let want: f64 = m
            .classes
            .iter()
            .map(|c| c.share * c.q.cdf(model::calibrated(s.confidence_threshold, m.shift)))
            .sum();
        assert!((thr.ask_rate - want).abs() < 1e-12, "{name}");
    }
    // The coding agent's headline: approving everything asks 125× as often as needed (0.8% irreversible).
    let m = Model::new(&load("coding-agent")).unwrap();
    let ratio =
        m.metrics(Policy::ApproveAll).ask_rate / m.metrics(Policy::ValueOfDeferringStatic).ask_rate;
    assert!((ratio - 125.0).abs() < 1e-9, "{ratio}");
}

#[test]
fn a_calibrated_agent_with_a_rational_human_reproduces_the_offswitch_game() {
    let mut rng = cirl::rng::job_rng(45, 0);
    for k in 0..40 {
        let mu: f64 = rng.random_range(-2.0..2.0);
        let sigma: f64 = rng.random_range(0.1..3.0);
        let c: f64 = rng.random_range(0.0..0.5);
        let (human, hs) = if k % 2 == 0 {
            (Human::Rational, "rational".to_string())
        } else {
            let b: f64 = rng.random_range(0.1..2.0);
            (Human::Boltzmann { beta: b }, format!("boltzmann:{b}"))
        };
        let text = format!(
            "name = \"os\"\n[human]\nresponse = \"{hs}\"\nask_cost = {c}\nhandover_cost = 1e9\n[[class]]\nname = \"a\"\nshare = 1\nprior = \"normal:{mu},{sigma}\"\n"
        );
        let s = Scenario::parse(&text, "os").unwrap();
        let cal = escalation::calibrate(
            &s,
            &Options {
                mc_actions: 0,
                seed: 0,
            },
        )
        .unwrap();
        let v = offswitch::values(&Prior::Normal { mu, sigma }, &human, c).unwrap();
        let card = &cal.classes[0];
        let tol = 1e-9 * sigma.max(mu.abs());
        assert!((card.values.act - v.v_act).abs() < tol, "{k}");
        assert!(
            (card.values.ask - v.v_wait).abs() < tol,
            "{k}: {} vs {}",
            card.values.ask,
            v.v_wait
        );
        // Blocking is the off-switch game's s: worth 0.
        assert_eq!(card.values.block, v.v_off);
        let want = match v.decision {
            offswitch::Move::Act => Move::Act,
            offswitch::Move::Wait => Move::Ask,
            offswitch::Move::Off => Move::Block,
        };
        assert_eq!(card.mv, want, "{k}: {v:?}");
        assert_eq!(card.tie, v.tie);
    }
}

#[test]
fn monte_carlo_agrees_with_the_exact_figures() {
    for (i, name) in SCENARIOS.iter().enumerate() {
        let s = load(name);
        let m = Model::new(&s).unwrap();
        let plans: Vec<Plan> = Policy::ALL.iter().map(|p| m.plan(*p)).collect();
        let mc = escalation::monte_carlo(&m, &plans, 400_000, 17 + i as u64).unwrap();
        for (p, est) in Policy::ALL.iter().zip(&mc) {
            let x = m.metrics(*p);
            // 99.9% intervals (3.29 standard errors): with 5 scenarios × 7 policies × 6 figures a spurious failure
            // is unlikely, and the seed is fixed. Rates use the exact rate's binomial standard error (a rare
            // event may not occur at all in the sample, which makes the sample's own error 0), plus 4 events'
            // worth of slack for the normal approximation at small counts.
            let n = 400_000.0;
            for (what, exact, e, rate) in [
                ("utility", x.expected_utility, est.expected_utility, false),
                ("ask", x.ask_rate, est.ask_rate, true),
                ("hand over", x.handover_rate, est.handover_rate, true),
                ("block", x.block_rate, est.block_rate, true),
                ("harm loss", x.harm_loss, est.harm_loss, false),
                ("harm", x.harm_rate, est.harm_rate, true),
                (
                    "prevented",
                    x.harms_prevented_rate,
                    est.harms_prevented_rate,
                    true,
                ),
                (
                    "resolved",
                    x.resolved_by_agent_rate,
                    est.resolved_by_agent_rate,
                    true,
                ),
            ] {
                let half = if rate {
                    3.29 * (exact * (1.0 - exact) / n).sqrt().max(e.std_err) + 4.0 / n
                } else {
                    3.29 * e.std_err + 1e-12
                };
                assert!(
                    (e.mean - exact).abs() <= half,
                    "{name} {} {what}: exact {exact} vs Monte Carlo {} ± {half}",
                    p.name(),
                    e.mean
                );
            }
        }
    }
}

/// A class's own calibration map moves its thresholds, in reported confidence, to where its moves tie under the
/// map, and leaves the other classes' as they are; the gate's card routes on them.
#[test]
fn a_class_calibration_moves_only_its_own_thresholds() {
    let text = std::fs::read_to_string(scenario_path("coding-agent")).unwrap();
    let mapped = text.replacen(
        "undo_cost = 3.0",
        "undo_cost = 3.0\ncalibration = [[0.9, 0.4]]",
        1,
    );
    let opts = Options {
        mc_actions: 0,
        seed: 0,
    };
    let parse = |t: &str| escalation::scenario::Scenario::parse(t, "s").unwrap();
    let (a, b) = (parse(&text), parse(&mapped));
    let (ca, cb) = (
        escalation::calibrate(&a, &opts).unwrap(),
        escalation::calibrate(&b, &opts).unwrap(),
    );
    let mb = Model::new(&b).unwrap();
    for (k, (x, y)) in ca.classes.iter().zip(&cb.classes).enumerate() {
        let at = |c: &escalation::ClassCard| -> Vec<f64> {
            c.confidence_thresholds.iter().map(|t| t.at).collect()
        };
        if x.name == "edit-file" {
            assert!(!at(y).is_empty());
            // More overconfident than the agent's shift says: each threshold moves up in reported confidence.
            for (p, q) in at(x).iter().zip(&at(y)) {
                assert!(q > p, "{p} -> {q}");
            }
            let cm = &mb.classes[k];
            for t in &y.confidence_thresholds {
                let q = mb.calibrated_in(k, t.at);
                let (u, v) = (cm.line(t.below).at(q), cm.line(t.above).at(q));
                assert!((u - v).abs() < 1e-9 * cm.scale(), "{u} vs {v}");
            }
        } else {
            assert_eq!(at(x), at(y), "{}", x.name);
        }
    }
}

#[test]
fn thresholds_sit_where_the_moves_tie() {
    for name in SCENARIOS {
        let s = load(name);
        // Under fatigue or risk limits the regions tie on penalized lines (checked by the constraint tests).
        if s.reviewer.fatigue.is_some() || !s.risk.limits.is_empty() {
            continue;
        }
        let m = Model::new(&s).unwrap();
        let cal = escalation::calibrate(
            &s,
            &Options {
                mc_actions: 0,
                seed: 0,
            },
        )
        .unwrap();
        for (k, card) in cal.classes.iter().enumerate() {
            let cm = &m.classes[k];
            for t in &card.confidence_thresholds {
                let q = m.calibrated_in(k, t.at);
                let (a, b) = (cm.line(t.below).at(q), cm.line(t.above).at(q));
                assert!(
                    (a - b).abs() < 1e-9 * cm.scale(),
                    "{name}/{}: at confidence {}: {a} vs {b}",
                    card.name,
                    t.at
                );
                assert!(t.below != t.above);
            }
            // Regions cover [0, 1] and their fractions sum to 1.
            let f: f64 = card.regions.iter().map(|r| r.fraction).sum();
            assert!((f - 1.0).abs() < 1e-9, "{name}/{}: {f}", card.name);
            assert_eq!(card.regions.first().unwrap().calibrated_from, 0.0);
            assert_eq!(card.regions.last().unwrap().calibrated_to, 1.0);
        }
    }
    // The capability class of the confidence-trap pair asks because of its task length, and switches to acting
    // below a task length the card states.
    let s = load("confidence-trap-calibrated");
    let cal = escalation::calibrate(
        &s,
        &Options {
            mc_actions: 0,
            seed: 0,
        },
    )
    .unwrap();
    let r = cal
        .classes
        .iter()
        .find(|c| c.name == "long-refactor")
        .unwrap();
    assert_eq!(r.reason, escalation::Reason::Capability);
    let t = &r.task_minutes_thresholds;
    assert!(!t.is_empty(), "{t:?}");
    assert_eq!((t[0].below, t[0].above), (Move::Act, Move::Ask));
    assert!(t[0].at > 0.1 && t[0].at < 120.0);
    // Far past the horizon failures dominate and the task is not worth asking about: block.
    assert!(t.iter().skip(1).all(|x| x.at > 120.0), "{t:?}");
}

#[test]
fn overconfidence_springs_the_confidence_threshold_trap() {
    let cal = Model::new(&load("confidence-trap-calibrated")).unwrap();
    let over = Model::new(&load("confidence-trap-overconfident")).unwrap();
    let (a, b) = (
        cal.metrics(Policy::ConfidenceThreshold),
        over.metrics(Policy::ConfidenceThreshold),
    );
    assert!(b.harm_rate > a.harm_rate && b.expected_utility < a.expected_utility);
    assert!(b.ask_rate < a.ask_rate);
    // The value-of-deferring policy recalibrates: identical figures.
    let (x, y) = (
        cal.metrics(Policy::ValueOfDeferring),
        over.metrics(Policy::ValueOfDeferring),
    );
    assert!((x.expected_utility - y.expected_utility).abs() < 1e-9);
    assert!((x.ask_rate - y.ask_rate).abs() < 1e-9);
    // The stated ECE is what the shift produces: E[r − q] over all actions.
    let ece: f64 = over
        .classes
        .iter()
        .map(|c| c.share * (c.q.expect(&|q| model::reported(q, over.shift)) - c.q.mean()))
        .sum();
    assert!((ece - 0.03).abs() < 1e-9, "{ece}");
}

#[test]
fn beta_expectations_auroc_and_confidence_sampling_are_right() {
    // Moments in closed form, including tiny and huge shape parameters.
    for (a, b) in [
        (0.001, 0.5),
        (0.3, 0.02),
        (0.5, 0.5),
        (2.0, 3.0),
        (40.0, 0.2),
        (5e4, 1e3),
        (1.0, 1.0),
    ] {
        let m1 = a / (a + b);
        let m2 = m1 * (a + 1.0) / (a + b + 1.0);
        assert!(
            (beta_expect(a, b, &|_| 1.0) - 1.0).abs() < 1e-9,
            "({a}, {b})"
        );
        assert!((beta_expect(a, b, &|x| x) - m1).abs() < 1e-9, "({a}, {b})");
        assert!(
            (beta_expect(a, b, &|x| x * x) - m2).abs() < 1e-9,
            "({a}, {b})"
        );
    }
    // AUROC of a Beta confidence against sampling; the target AUROC is reached.
    let mut rng = cirl::rng::job_rng(46, 0);
    for (p, target) in [(0.9, 0.7), (0.5, 0.6), (0.99, 0.8), (0.2, 0.9)] {
        let d = model::q_dist(
            p,
            cirl::escalation::scenario::Discrimination::Auroc { auroc: target },
        )
        .unwrap();
        let QDist::Beta { a, b } = d else {
            panic!("{d:?}")
        };
        assert!((model::auroc(a, b) - target).abs() < 1e-8);
        // Monte Carlo AUROC: good actions' confidences vs bad actions'.
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        while good.len() < 3000 || bad.len() < 3000 {
            let q = d.sample(&mut rng);
            if rng.random::<f64>() < q {
                good.push(q)
            } else {
                bad.push(q)
            }
        }
        good.truncate(3000);
        bad.truncate(3000);
        bad.sort_by(f64::total_cmp);
        let wins: usize = good.iter().map(|g| bad.partition_point(|x| x < g)).sum();
        let mc = wins as f64 / (3000.0 * 3000.0);
        // Standard error of an AUROC estimate from 3000 + 3000 samples ≤ 0.0075: 4 of them.
        assert!((mc - target).abs() < 0.03, "p = {p}: {mc} vs {target}");
    }
}

fn cirl() -> Command {
    Command::cargo_bin("cirl").unwrap()
}

#[test]
fn every_shipped_scenario_writes_its_card_exports_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    for name in SCENARIOS {
        let out = dir.path().join(name);
        let o = cirl()
            .args([
                "calibrate",
                &scenario_path(name),
                "--json",
                "--mc",
                "20000",
                "--out",
            ])
            .arg(&out)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        let j: Value = serde_json::from_slice(&o).unwrap();
        for c in j["classes"].as_array().unwrap() {
            for key in ["name", "decision", "reason"] {
                assert!(c[key].is_string(), "{name}: class {key}");
            }
            assert!(["allow", "ask", "deny"].contains(&c["decision"].as_str().unwrap()));
        }
        let policies = j["policies"].as_array().unwrap();
        assert!(policies.len() >= 8, "{name}: {} policies", policies.len());
        for p in policies {
            for key in ["expected_utility", "ask_rate", "harm_rate"] {
                assert!(p[key].is_f64(), "{name}: policy {key}");
            }
            assert!(p["name"].is_string());
        }
        // The exports parse and carry every class's rules under its decision.
        let claude: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("claude-settings.json")).unwrap(),
        )
        .unwrap();
        let s = load(name);
        let cal: cirl::escalation::Calibration = {
            let s = load(name);
            escalation::calibrate(
                &s,
                &Options {
                    mc_actions: 0,
                    seed: 0,
                },
            )
            .unwrap()
        };
        for (k, c) in j["classes"].as_array().unwrap().iter().enumerate() {
            let decision = c["decision"].as_str().unwrap();
            let list = claude["permissions"][decision].as_array().unwrap();
            // Every rule the class can be given in Claude Code (what cannot be expressed is in the notes).
            for rule in cirl::escalation::export::claude_rules_at(&cal.classes[k]).0 {
                assert!(
                    list.iter().any(|r| r == &Value::from(rule.clone())),
                    "{name}: {rule} not in {decision}"
                );
            }
        }
        assert_eq!(claude["permissions"]["defaultMode"], "default");
        let gate: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("claude-settings-gate.json")).unwrap(),
        )
        .unwrap();
        let cmd = gate["hooks"]["PreToolUse"][0]["hooks"][0]["command"]
            .as_str()
            .unwrap();
        assert!(
            cmd.starts_with("cirl gate --card ") && cmd.contains("--format claude-hook"),
            "{cmd}"
        );
        let gemini: toml::Table =
            toml::from_str(&std::fs::read_to_string(out.join("gemini-policy.toml")).unwrap())
                .unwrap();
        let rules = gemini["rule"].as_array().unwrap();
        assert!(
            rules.len() >= s.classes.len(),
            "{name}: {} rules",
            rules.len()
        );
        for r in rules {
            assert!(["allow", "ask_user", "deny"].contains(&r["decision"].as_str().unwrap()));
            assert!(
                r.get("toolName").is_some(),
                "{name}: a rule without toolName"
            );
            if r.get("commandPrefix").is_some() {
                assert_eq!(r["toolName"].as_str(), Some("run_shell_command"));
                assert!(r.get("argsPattern").is_none());
            }
        }
        let hitl: Value = serde_json::from_str(
            &std::fs::read_to_string(out.join("langchain-hitl.json")).unwrap(),
        )
        .unwrap();
        assert!(hitl["interrupt_on"].is_object());
        assert!(out.join("codex.rules").exists());
        assert_eq!(
            j["gate"]["classes"].as_array().unwrap().len(),
            s.classes.len()
        );
        let card: toml::Table =
            toml::from_str(&std::fs::read_to_string(out.join("card.toml")).unwrap()).unwrap();
        assert_eq!(card["scenario"].as_str(), Some(name));
        for f in ["card.json", "rivals.csv", "summary.md"] {
            assert!(out.join(f).exists(), "{name}: {f}");
        }
        let plots = std::fs::read_dir(&out)
            .unwrap()
            .filter(|e| {
                let n = e.as_ref().unwrap().file_name();
                let n = n.to_string_lossy();
                n.starts_with("decision_") && (n.ends_with(".png") || n.ends_with(".svg"))
            })
            .count();
        assert!(plots >= 2, "{name}: {plots} plots");
        // Nothing half-written is left: the only dotfiles are the folder's lock and its record of outputs.
        for e in std::fs::read_dir(&out).unwrap() {
            let n = e.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                !n.starts_with('.') || n == ".cirl-lock" || n == ".cirl-outputs",
                "{name}: {n}"
            );
        }
    }
}

#[test]
fn bad_scenarios_fail_with_one_clear_line_and_exit_2() {
    let good = std::fs::read_to_string(scenario_path("coding-agent")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str)> = vec![
        (good.replace("share = 0.55", "share = 0.6"), "sum to 1"),
        (
            good.replace("ask_cost = 0.5", "ask_cost = -1"),
            "human.ask_cost",
        ),
        (
            good.replace("response = \"error-rates\"", "response = \"oracle\""),
            "human.response",
        ),
        (
            good.replace("catch_bad = 0.5", "catch_bad = 1.5"),
            "human.catch_bad",
        ),
        (
            good.replace("approve_good = 0.97", "approval_rate = 0.999"),
            "human.approval_rate",
        ),
        (
            good.replace(
                "response = \"error-rates\"\napprove_good = 0.97\ncatch_bad = 0.5",
                "response = \"boltzmann:2\"\ncatch_bad = 0.5",
            ),
            "human.catch_bad",
        ),
        (
            good.replace(
                "[agent]",
                "[human.fatigue]\nodds_ratio_per_ask = 1.5\nactions_per_session = 10\n[agent]",
            ),
            "human.fatigue.odds_ratio_per_ask",
        ),
        (good.replace("undo_cost = 3.0", ""), "class[1].undo_cost"),
        (
            good.replace(
                "undo_cost = 3.0",
                "undo_cost = 3.0\ncalibration = [[0.9, 0.7], [0.8, 0.75]]",
            ),
            "class[1].calibration",
        ),
        (
            good.replace(
                "undo_cost = 3.0",
                "undo_cost = 3.0\ncalibration = [[1.0, 0.7]]",
            ),
            "class[1].calibration",
        ),
        (good.replace("normal:3,4", "normal:3,-4"), "class[1].prior"),
        (good.replace("ece = 0.10", "ece = 0.95"), "agent.ece"),
        (good.replace("auroc = 0.65", "auroc = 1.2"), "agent.auroc"),
        (
            good.replace("signal = \"verbalized\"", "signal = \"telepathy\""),
            "agent.signal",
        ),
        (
            good.replace(
                "name = \"edit-file\"",
                "name = \"edit-file\"\ntask_minutes = 30",
            ),
            "task_minutes",
        ),
        (
            good.replace("[policies]", "[policies]\ncolour = 1"),
            "colour",
        ),
        (good.replace("units =", "units = = "), "line"),
        (
            good.replace(
                "catastrophe_loss = 60",
                "catastrophe_loss = 60\ncvar_level = 1.5",
            ),
            "risk.cvar_level",
        ),
        (
            good.replace("[policies]", "[robustness]\nmoon_phase = [1.0]\n[policies]"),
            "robustness.moon_phase",
        ),
        (
            good.replace("tools = { read = [\"**\"] }", "claude = [\"Read(*)\"]"),
            "class[0].claude",
        ),
        (
            good.replace("read = [\"**\"]", "read = [\"/etc/**\"]"),
            "class[0].tools.read",
        ),
        (
            good.replace("read = [\"**\"]", "colour = [\"**\"]"),
            "class[0].tools",
        ),
        (
            good.replace("\"cargo check\",", "\"cargo check &&\","),
            "class[2].tools.shell",
        ),
        (
            good.replace("\"read: README.md\"", "\"README.md\""),
            "class[0].match[1]",
        ),
        (
            good.replace("\"read: README.md\"", "\"paint: README.md\""),
            "class[0].match[1]",
        ),
        // A stricter class decides an example of a looser one.
        (
            good.replace(
                "\"shell: make build\",",
                "\"shell: make build\", \"shell: cargo test && git push\",",
            ),
            "decided ask by class irreversible",
        ),
        // A narrow entry under a broader, stricter one is dead.
        (
            good.replace(
                "\"make test\", \"make build\"",
                "\"make test\", \"make build\", \"git push origin main\"",
            ),
            "is dead",
        ),
        // A stray example.
        (
            good.replace("\"shell: git pull\"", "\"shell: git push\""),
            "class.tools",
        ),
        (
            good.replace("[policies]", "[gate]\nunmatched = \"maybe\"\n[policies]"),
            "gate.unmatched",
        ),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        assert_ne!(text, &good, "case {i} did not change the scenario");
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = cirl()
            .args([
                "calibrate",
                path.to_str().unwrap(),
                "--mc",
                "0",
                "--no-plots",
                "--out",
            ])
            .arg(dir.path().join("out"))
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "case {i}: wanted '{needle}' in {err}");
        assert_eq!(err.trim().lines().count(), 1, "case {i}: {err}");
    }
    cirl()
        .args(["calibrate", "/no/such/scenario.toml"])
        .assert()
        .code(2);
}

/// A random scenario like [`random_scenario`], sometimes with an error-rate reviewer (and fatigue), block costs
/// and, with `limits`, risk limits.
fn random_scenario_ext(rng: &mut impl rand::Rng, limits: bool) -> String {
    let mut t = random_scenario(rng);
    if rng.random::<f64>() < 0.5 {
        let a: f64 = rng.random_range(0.6..1.0);
        let c: f64 = rng.random_range(0.2..0.95);
        let start = t.find("response = ").unwrap();
        let end = start + t[start..].find('\n').unwrap();
        t.replace_range(
            start..end,
            &format!("response = \"error-rates\"\napprove_good = {a:.3}\ncatch_bad = {c:.3}"),
        );
        if rng.random::<f64>() < 0.4 {
            t = t.replacen(
                "[agent]",
                &format!(
                    "[human.fatigue]\nodds_ratio_per_ask = {:.3}\nactions_per_session = {:.1}\n[agent]",
                    rng.random_range(0.5..1.0),
                    rng.random_range(2.0..60.0)
                ),
                1,
            );
        }
    }
    if rng.random::<f64>() < 0.4 {
        t = t.replacen(
            "[agent]",
            &format!(
                "[moves]\nblock_cost = {:.3}\n[agent]",
                rng.random_range(0.0..3.0)
            ),
            1,
        );
    }
    if limits {
        let mut r = String::from("[risk]\ncatastrophe_loss = 20\n");
        if rng.random::<f64>() < 0.7 {
            r += &format!(
                "harm_budget_per_1000 = {:.4}\n",
                rng.random_range(0.0..50.0)
            );
        }
        if rng.random::<f64>() < 0.7 {
            r += &format!(
                "max_catastrophe_probability = {:.5}\n",
                rng.random_range(0.0..0.05)
            );
        }
        t = t.replacen("[agent]", &format!("{r}[agent]"), 1);
    }
    t
}

#[test]
fn random_extended_scenarios_parse() {
    let mut rng = cirl::rng::job_rng(50, 0);
    for k in 0..200 {
        let text = random_scenario_ext(&mut rng, k % 2 == 0);
        if let Err(e) = Scenario::parse(&text, "random") {
            panic!("{k}: {e}\n{text}");
        }
    }
}

#[test]
fn block_is_chosen_over_allow_whenever_acting_loses_and_the_other_moves_are_worse() {
    let mut rng = cirl::rng::job_rng(51, 0);
    let mut blocked = 0;
    for k in 0..80 {
        let text = random_scenario_ext(&mut rng, false);
        let s = Scenario::parse(&text, "random").unwrap();
        let m = match Model::new(&s) {
            Ok(m) => m,
            Err(e) if e.to_string().contains("agent.ece") => continue,
            Err(e) => panic!("{k}: {e}"),
        };
        for c in &m.classes {
            let v = c.values();
            let (best, tied) = v.best();
            let others = [Move::Ask, Move::HandOver]
                .iter()
                .map(|mv| v.get(*mv))
                .fold(f64::NEG_INFINITY, f64::max);
            if v.get(Move::Act) < v.get(Move::Block) && v.get(Move::Block) > others {
                assert_eq!(best, Move::Block, "{k} {}: {v:?}", c.name);
                blocked += 1;
            }
            // Never act where acting is worth less than blocking, at any confidence.
            if best == Move::Act {
                assert!(
                    tied.len() > 1 || v.get(Move::Act) >= v.get(Move::Block),
                    "{k}"
                );
            }
            for &(lo, hi, mv) in &c.envelope().0 {
                if mv == Move::Act {
                    for q in [lo, 0.5 * (lo + hi), hi] {
                        let (a, b) = (c.line(Move::Act).at(q), c.line(Move::Block).at(q));
                        assert!(
                            a >= b - 1e-9 * c.scale(),
                            "{k} {}: act {a} < block {b} at {q}",
                            c.name
                        );
                    }
                }
            }
        }
    }
    assert!(blocked >= 5, "only {blocked} classes were worth blocking");
    // The review's case: kubectl delete on prod (v_act ≈ −13 min) once asking costs 20 min is blocked, not
    // allowed.
    let text = std::fs::read_to_string(scenario_path("devops-agent"))
        .unwrap()
        .replace("ask_cost = 2.0", "ask_cost = 20.0");
    let s = Scenario::parse(&text, "devops").unwrap();
    let cal = escalation::calibrate(
        &s,
        &Options {
            mc_actions: 0,
            seed: 0,
        },
    )
    .unwrap();
    let k = cal
        .classes
        .iter()
        .find(|c| c.name == "kubectl-delete-prod")
        .unwrap();
    assert!(k.values.act < 0.0, "{:?}", k.values);
    assert_ne!(k.mv, Move::Act, "{:?}", k.values);
    assert_eq!(k.decision, "deny");
}

#[test]
fn adding_a_constraint_never_raises_expected_utility_and_the_plan_meets_it() {
    let mut rng = cirl::rng::job_rng(52, 0);
    let mut binding = 0;
    let mut checked = 0;
    for k in 0..60 {
        let text = random_scenario_ext(&mut rng, true);
        let s = Scenario::parse(&text, "random").unwrap();
        let m = match Model::new(&s) {
            Ok(m) => m,
            Err(e) if e.to_string().contains("agent.ece") => continue,
            Err(e) => panic!("{k}: {e}"),
        };
        let free = optimize::best(&m, &Limits::default(), false).unwrap();
        let free_u = m.evaluate(&free.plan).metrics.expected_utility;
        let limits = &s.risk.limits;
        for static_only in [false, true] {
            let c = match optimize::best(&m, limits, static_only) {
                Ok(c) => c,
                // An unreachable limit is an input error, reported as such.
                Err(e) => {
                    assert!(e.is_input_error(), "{k}: {e}");
                    continue;
                }
            };
            let u = m.evaluate(&c.plan).metrics.expected_utility;
            let scale = m.classes.iter().map(|c| c.scale()).fold(1.0f64, f64::max);
            assert!(
                u <= free_u + 1e-9 * scale,
                "{k}: constrained {u} > free {free_u}\n{text}"
            );
            assert!(
                cirl::escalation::risk::meets(&m, &c.plan, limits),
                "{k}: the constrained plan breaks its limits\n{text}"
            );
            if u < free_u - 1e-9 * scale {
                binding += 1;
            }
            checked += 1;
        }
        // One limit more never helps.
        if let (Some(_), Some(_)) = (limits.harms_per_1000, limits.catastrophe_probability) {
            let one = Limits {
                catastrophe_probability: None,
                ..limits.clone()
            };
            if let (Ok(a), Ok(b)) = (
                optimize::best(&m, &one, false),
                optimize::best(&m, limits, false),
            ) {
                let (ua, ub) = (
                    m.evaluate(&a.plan).metrics.expected_utility,
                    m.evaluate(&b.plan).metrics.expected_utility,
                );
                assert!(ub <= ua + 1e-9 * ua.abs().max(1.0), "{k}: {ub} > {ua}");
            }
        }
    }
    assert!(
        checked >= 40 && binding >= 10,
        "{checked} checked, {binding} binding"
    );
}

/// The class-level move of class `k` of `s` with `axis` at `x`.
fn move_at(s: &Scenario, k: usize, axis: cirl::escalation::axes::Axis, x: f64) -> Move {
    let t = cirl::escalation::axes::set(s, Some(k), axis, x).unwrap();
    let c = &t.classes[k];
    model::class_values(
        &t.utility_prior(c).unwrap(),
        &t.reviewer.human,
        c.undo_cost,
        &t.costs(c),
    )
    .best()
    .0
}

#[test]
fn flip_points_are_where_the_decision_really_changes() {
    let mut checked = 0;
    for name in SCENARIOS
        .iter()
        .chain(&["devops-agent", "personal-assistant"])
    {
        let s = load(name);
        let cal = escalation::calibrate(
            &s,
            &Options {
                mc_actions: 0,
                seed: 0,
            },
        )
        .unwrap();
        let m = Model::new(&s).unwrap();
        let plan = &cal
            .policies
            .iter()
            .find(|p| p.name == cal.deployed.per_action)
            .unwrap()
            .plan;
        let state = escalation::robust::at_state(&s, &m, plan);
        for (k, card) in cal.classes.iter().enumerate() {
            for a in &card.flips.decision {
                // The decision at the scenario's own value is the card's (fatigue and risk limits aside).
                if s.reviewer.fatigue.is_none() && s.risk.limits.is_empty() {
                    assert_eq!(
                        move_at(&state, k, a.axis, a.now),
                        card.mv,
                        "{name}/{}",
                        card.name
                    );
                }
                for t in &a.flips {
                    let d = 1e-6 * t.at.abs().max(1e-3);
                    let below = move_at(&state, k, a.axis, t.at - d);
                    let above = move_at(&state, k, a.axis, t.at + d);
                    assert_eq!(
                        below, t.below,
                        "{name}/{} {:?} at {}",
                        card.name, a.axis, t.at
                    );
                    assert_eq!(
                        above, t.above,
                        "{name}/{} {:?} at {}",
                        card.name, a.axis, t.at
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 20, "only {checked} flips checked");
}

#[test]
fn the_robust_policy_has_the_least_worst_case_regret_over_the_set() {
    for name in ["coding-agent", "support-bot", "personal-assistant"] {
        let s = load(name);
        let cal = escalation::calibrate(
            &s,
            &Options {
                mc_actions: 0,
                seed: 0,
            },
        )
        .unwrap();
        let m = Model::new(&s).unwrap();
        let truths = escalation::robust::truths(&s).unwrap();
        assert_eq!(truths.len(), cal.robustness.robust.set.len());
        // Each rival's worst regret over the set, recomputed here from the truths.
        let worst = |plan: &Plan| -> f64 {
            truths
                .iter()
                .map(|t| {
                    let b = Model::new(&t.scenario).unwrap();
                    let best = b
                        .evaluate(&optimize::best(&b, &Limits::default(), false).unwrap().plan)
                        .metrics
                        .expected_utility;
                    let p = Plan(
                        plan.0
                            .iter()
                            .map(|x| x.reshifted(m.shift, b.shift))
                            .collect(),
                    );
                    (best - b.evaluate(&p).metrics.expected_utility).max(0.0)
                })
                .fold(0.0f64, f64::max)
        };
        let robust = cal.robustness.robust.worst_regret;
        let scale = m.classes.iter().map(|c| c.scale()).fold(1.0f64, f64::max);
        for p in cal.policies.iter().filter(|p| p.name != "minimax-regret") {
            let w = worst(&p.plan);
            assert!(
                robust <= w + 1e-9 * scale,
                "{name}: robust {robust} > {} {w}",
                p.name
            );
        }
        let r = cal
            .policies
            .iter()
            .find(|p| p.name == "minimax-regret")
            .unwrap();
        assert!((worst(&r.plan) - robust).abs() <= 1e-9 * scale, "{name}");
    }
}

#[test]
fn an_error_rate_reviewer_reproduces_its_stated_approval_rate() {
    let text = std::fs::read_to_string(scenario_path("coding-agent"))
        .unwrap()
        .replace("approve_good = 0.97", "approval_rate = 0.88");
    let s = Scenario::parse(&text, "coding").unwrap();
    let cal = escalation::calibrate(
        &s,
        &Options {
            mc_actions: 0,
            seed: 0,
        },
    )
    .unwrap();
    let r = &cal.reviewer;
    assert!(
        (r.approval_rate_if_every_action_asks - 0.88).abs() < 1e-9,
        "{r:?}"
    );
    assert!((r.catch_bad - 0.5).abs() < 1e-12);
    let all = cal
        .policies
        .iter()
        .find(|p| p.name == "approve-all")
        .unwrap();
    assert!(
        (all.refusal_rate - 0.12).abs() < 1e-9,
        "{}",
        all.refusal_rate
    );
    // Fatigue lowers the catch rate with the ask rate, in the stated form.
    let f = model::Fatigue {
        odds_ratio_per_ask: 0.7,
        actions_per_session: 40.0,
    };
    assert_eq!(f.catch_rate(0.8, 0.0), 0.8);
    assert_eq!(
        f.catch_rate(0.8, 1.0 / 40.0),
        0.8,
        "the first prompt of a session is heeded fully"
    );
    let c = f.catch_rate(0.8, 3.0 / 40.0);
    let odds = 4.0 * 0.7f64.powi(2);
    assert!((c - odds / (1.0 + odds)).abs() < 1e-12, "{c}");
}

#[test]
fn risk_figures_agree_with_simulated_losses() {
    use rand::RngExt;
    for name in ["coding-agent", "devops-agent"] {
        let s = load(name);
        let m = Model::new(&s).unwrap();
        let plan = optimize::best(&m, &Limits::default(), false).unwrap().plan;
        let (mm, _) = m.answering(&plan);
        let (l, alpha) = (s.risk.catastrophe_loss, 0.99);
        let exact = cirl::escalation::risk::plan_risk(&m, &plan, l, alpha);
        // Simulated losses: the same model, action by action.
        let mut rng = cirl::rng::job_rng(53, 0);
        let n = 400_000;
        let mut losses = Vec::with_capacity(n);
        for _ in 0..n {
            let x: f64 = rng.random();
            let mut k = 0;
            let mut acc = mm.classes[0].share;
            while x >= acc && k + 1 < mm.classes.len() {
                k += 1;
                acc += mm.classes[k].share;
            }
            let c = &mm.classes[k];
            let q = c.q.sample(&mut rng);
            let good = rng.random::<f64>() < q;
            let u = loop {
                let u = c.utility.sample(&mut rng);
                if (u >= 0.0) == good {
                    break u;
                }
            };
            let ueff = c.undo_cost.map_or(u, |d| u.max(-d));
            use cirl::human::ResponseModel;
            let allow = rng.random::<f64>() < c.human.p_allow(ueff);
            let k_ = c.costs;
            let payoff = match plan.0[k].at(q) {
                Move::Act => ueff,
                Move::Ask => (if allow { ueff } else { -k_.decline }) - k_.ask,
                Move::Block => -k_.block,
                Move::HandOver => (if good { u } else { 0.0 }) - k_.handover,
            };
            losses.push(-payoff);
        }
        let p = losses.iter().filter(|x| **x > l).count() as f64 / n as f64;
        let se = (exact.p_catastrophe * (1.0 - exact.p_catastrophe) / n as f64).sqrt();
        assert!(
            (p - exact.p_catastrophe).abs() <= 4.0 * se + 5.0 / n as f64,
            "{name}: P(loss > L) exact {} simulated {p}",
            exact.p_catastrophe
        );
        losses.sort_by(f64::total_cmp);
        let tail = &losses[(alpha * n as f64) as usize..];
        let cvar = tail.iter().sum::<f64>() / tail.len() as f64;
        let sd = (tail.iter().map(|x| (x - cvar).powi(2)).sum::<f64>() / tail.len() as f64).sqrt();
        assert!(
            (cvar - exact.cvar).abs()
                <= 5.0 * sd / (tail.len() as f64).sqrt() + 1e-3 * exact.cvar.abs(),
            "{name}: CVaR exact {} simulated {cvar}",
            exact.cvar
        );
    }
}

#[test]
fn json_alone_writes_nothing_and_a_name_cannot_leave_the_output_root() {
    let dir = tempfile::tempdir().unwrap();
    cirl()
        .current_dir(dir.path())
        .args([
            "calibrate",
            &scenario_path("coding-agent"),
            "--json",
            "--mc",
            "0",
        ])
        .assert()
        .success();
    assert!(
        std::fs::read_dir(dir.path()).unwrap().next().is_none(),
        "--json wrote files"
    );
    let text = std::fs::read_to_string(scenario_path("coding-agent"))
        .unwrap()
        .replace("name = \"coding-agent\"", "name = \"../../escaped\"");
    let p = dir.path().join("s.toml");
    std::fs::write(&p, text).unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    cirl()
        .current_dir(&work)
        .args(["calibrate", p.to_str().unwrap(), "--mc", "0", "--no-plots"])
        .assert()
        .success();
    let runs: Vec<_> = std::fs::read_dir(work.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    let name = runs[0].to_string_lossy().to_string();
    assert!(
        name.starts_with("calibrate-") && !name.contains('/'),
        "{name}"
    );
    assert!(work.join("runs").join(&name).join("card.json").exists());
    assert!(!dir.path().join("escaped").exists() && !work.join("escaped").exists());
}
