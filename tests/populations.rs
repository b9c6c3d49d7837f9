//! Populations of sequential environments (`[population]`): the frontier against the one-shot law, common random
//! numbers across conditions, carry-over, misspecification, the thresholds table and `cirl calibrate` reading it,
//! and bad configs.

use assert_cmd::Command;
use cirl::experiment::table::Table;
use cirl::experiment::{self, Computed, config};

fn compute(text: &str) -> Computed {
    let cfg = config::parse(text, "test").unwrap();
    experiment::compute_all(&cfg, false).unwrap()
}

fn extra<'a>(c: &'a Computed, name: &str) -> &'a Table {
    let i = ["conditions", "frontier", "thresholds"]
        .iter()
        .position(|n| *n == name)
        .unwrap();
    &c.extra[i]
}

fn all_pass(c: &Computed) {
    for (claim, ok, detail) in &c.checks {
        assert!(ok, "{claim}: {detail}");
    }
}

/// The off-switch game's frontier with one step (τ = 0, irreversible, c = 0, a Boltzmann human): Δ = 0 at
/// σ = √(2|μ|β), found by root finding on random (μ, β); and carry-over lowers the boundary for T > 1.
#[test]
fn the_one_step_frontier_is_the_law_and_carry_over_lowers_it() {
    let mut rng = cirl::rng::job_rng(2026, 12);
    for _ in 0..4 {
        use rand::RngExt;
        let mu: f64 = rng.random_range(-1.0..1.0);
        let beta: f64 = rng.random_range(0.1..2.0);
        let law = (2.0 * mu.abs() * beta).sqrt();
        let text = format!(
            r#"
name = "law"
[population]
family = "chain"
steps = [1, 3]
mu = {mu}
sigma = [{lo}, {hi}]
human = "boltzmann:{beta}"
ask_cost = 0
irreversible = 1
presence = 1
spread = 0
undo_cost = 1
environments = 20
block = 20
frontier = ["sigma"]
frontier_environments = 1
"#,
            lo = 0.05 * law,
            hi = 3.0 * law,
        );
        let c = compute(&text);
        all_pass(&c);
        let f = extra(&c, "frontier");
        let root = |t: f64| {
            (0..f.rows.len())
                .find(|&i| {
                    f.num(i, "steps") == Some(t)
                        && f.text(i, "quantity") == "delta"
                        && f.text(i, "kind") != "tie"
                })
                .map(|i| f.num(i, "value").unwrap())
                .unwrap_or_else(|| panic!("no root at T = {t} for μ = {mu}, β = {beta}"))
        };
        let (one, three) = (root(1.0), root(3.0));
        assert!((one - law).abs() <= 1e-8 * law.max(1.0), "{one} vs {law}");
        assert!(three < one, "T = 3: {three} is not below {one}");
        // The thresholds table carries both boundaries and their ratio.
        let t = extra(&c, "thresholds");
        let i = (0..t.rows.len())
            .find(|&i| t.num(i, "steps") == Some(3.0))
            .unwrap();
        let inflation = t.num(i, "inflation").unwrap();
        assert!((inflation - one / three).abs() < 1e-12, "{inflation}");
        assert!((t.num(i, "law").unwrap() - law).abs() < 1e-12);
    }
}

/// Environment e is the same draw in every condition: conditions that differ only in the truth have the same
/// exact values under the robot's belief, and different values under the truth.
#[test]
fn conditions_share_their_environments_and_misspecification_moves_only_the_truth() {
    let c = compute(
        r#"
name = "crn"
seed = 5
[population]
family = "chain"
steps = 3
mu = 0.25
sigma = 1.0
human = "boltzmann:0.5"
ask_cost = 0.05
irreversible = 0.5
presence = 0.7
shift = [0.0, -0.75]
scale = [1.0, 2.0]
spread = 0.5
undo_cost = 0.5
environments = 60
block = 20
frontier = ["shift"]
frontier_environments = 30
"#,
    );
    all_pass(&c);
    let r = &c.results;
    let agents = 6;
    for i in 0..agents {
        let v: Vec<f64> = (0..4)
            .map(|k| r.num(k * agents + i, "value").unwrap())
            .collect();
        assert!(v.iter().all(|x| *x == v[0]), "{v:?}");
        let tv: Vec<f64> = (0..4)
            .map(|k| r.num(k * agents + i, "truth_value").unwrap())
            .collect();
        assert_eq!(tv[0], v[0], "well specified: the truth is the belief");
        assert!(tv[1] != tv[0] && tv[2] != tv[0]);
    }
    // The frontier of the advantage along shift is where the deferring agent stops beating acting.
    let f = extra(&c, "frontier");
    assert!((0..f.rows.len()).all(|i| f.text(i, "quantity") == "advantage"));
}

/// A class grounded in a population: `cirl calibrate` reads the profile's boundary from thresholds.csv and
/// inflates the class's σ by the one-shot over the sequential boundary; bad references name the field.
#[test]
fn calibrate_reads_a_class_prior_from_a_population() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("pop.toml");
    std::fs::write(
        &cfg,
        r#"
name = "bridge"
[population]
family = "chain"
steps = 6
mu = 0.5
sigma = { start = 0.1, stop = 2.0, num = 8 }
human = "boltzmann:0.5"
ask_cost = 0
irreversible = 1
presence = 1
spread = 0
undo_cost = 1
environments = 10
block = 10
frontier = ["sigma"]
frontier_environments = 1
"#,
    )
    .unwrap();
    let out = dir.path().join("run");
    Command::cargo_bin("cirl")
        .unwrap()
        .args([
            "run",
            cfg.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .assert()
        .success();
    let thresholds = Table::from_csv(
        &std::fs::read_to_string(out.join("thresholds.csv")).unwrap(),
        &["profile", "along", "side", "human", "family"],
    )
    .unwrap();
    assert_eq!(thresholds.rows.len(), 1, "one profile along σ");
    let profile = thresholds.text(0, "profile");
    let inflation = thresholds.num(0, "inflation").unwrap();
    assert!(inflation > 1.0, "carry-over: {inflation}");
    // σ = 0.6 is below the one-shot boundary √(2·0.5·0.5) = 0.707 but above the six-step one.
    let boundary = thresholds.num(0, "boundary").unwrap();
    assert!(boundary < 0.6 && 0.6 < 0.5f64.sqrt(), "{boundary}");
    let scenario = |prior: &str| {
        format!(
            r#"
name = "grounded"
[human]
response = "boltzmann:0.5"
ask_cost = 0
handover_cost = 10
[[class]]
name = "deploy"
share = 1.0
prior = {prior}
"#
        )
    };
    let s_path = dir.path().join("s.toml");
    let grounded = format!(
        "{{ population = \"run/thresholds.csv\", profile = \"{profile}\", mu = 0.5, sigma = 0.6 }}"
    );
    std::fs::write(&s_path, scenario(&grounded)).unwrap();
    let s = cirl::escalation::scenario::Scenario::load(&s_path).unwrap();
    match s.classes[0].prior {
        cirl::belief::Prior::Normal { mu, sigma } => {
            assert_eq!(mu, 0.5);
            assert!((sigma - 0.6 * inflation).abs() < 1e-12, "{sigma}");
        }
        ref p => panic!("{p:?}"),
    }
    assert!(
        s.classes[0]
            .prior_source
            .as_deref()
            .unwrap()
            .contains(&profile)
    );
    // The card asks; the same class with the typed-in prior acts (the one-shot game alone).
    let card = |path: &std::path::Path| {
        let o = Command::cargo_bin("cirl")
            .unwrap()
            .args(["calibrate", path.to_str().unwrap(), "--json"])
            .arg("--out")
            .arg(dir.path().join("card"))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["classes"][0]["move"].as_str().unwrap().to_string()
    };
    assert_eq!(card(&s_path), "ask");
    let typed = dir.path().join("typed.toml");
    std::fs::write(&typed, scenario("\"normal:0.5,0.6\"")).unwrap();
    assert_eq!(card(&typed), "act");
    // Bad references: one line naming the field, exit 2.
    for (prior, field) in [
        (
            "{ population = \"run/thresholds.csv\", profile = \"nope\", mu = 0.5, sigma = 0.4 }",
            "class[0].prior.profile",
        ),
        (
            "{ population = \"missing.csv\", profile = \"x\", mu = 0.5, sigma = 0.4 }",
            "class[0].prior.population",
        ),
        (
            "{ population = \"run/thresholds.csv\", profile = \"x\", mu = 0.5 }",
            "class[0].prior.sigma",
        ),
        (
            "{ population = \"run/results.csv\", profile = \"x\", mu = 0.5, sigma = 0.4 }",
            "class[0].prior.population",
        ),
    ] {
        std::fs::write(&s_path, scenario(prior)).unwrap();
        let o = Command::cargo_bin("cirl")
            .unwrap()
            .args(["calibrate", s_path.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{prior}: {err}");
        assert!(err.contains(field), "{prior}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

/// A bad frontier axis is refused before anything runs, naming the field.
#[test]
fn a_bad_frontier_is_refused_naming_the_field() {
    let base = r#"
name = "bad"
[population]
family = "chain"
steps = 2
mu = 0.25
sigma = [0.5, 1.0]
human = "boltzmann:0.5"
ask_cost = 0
irreversible = 1
presence = 1
spread = 0
undo_cost = 1
environments = 10
"#;
    // A family's own keys: required by it, refused by the others.
    for (family, extra, field) in [
        (
            "assistance",
            "actions = 2\nthetas = 3\n",
            "population.states",
        ),
        (
            "gridworld",
            "width = 3\nheight = 3\nthetas = 3\n",
            "population.features",
        ),
        ("chain", "states = 3\n", "population.states"),
        (
            "assistance",
            "states = 2\nactions = 2\nthetas = 3\nwidth = 2\n",
            "population.width",
        ),
        ("maze", "", "population.family"),
    ] {
        let text = base.replace(
            "family = \"chain\"",
            &format!("family = \"{family}\"\n{extra}"),
        );
        let cfg = config::parse(&text, "test").unwrap();
        let e = experiment::shard::Plan::new(&cfg)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains(field), "{family} {extra:?}: {e}");
    }
    for (line, want) in [
        ("frontier = [\"tau\"]", "unknown axis"),
        ("frontier = [\"ask_cost\"]", "at least two values"),
        (
            "frontier = [\"beta\"]",
            "two or more rational or Boltzmann humans",
        ),
        ("frontier = [\"sigma\", \"sigma\"]", "named twice"),
        (
            "frontier = [\"sigma\"]\nfrontier_environments = 11",
            "frontier_environments",
        ),
    ] {
        let cfg = config::parse(&format!("{base}{line}\n"), "test").unwrap();
        let e = experiment::shard::Plan::new(&cfg)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("population.frontier") && e.contains(want),
            "{line}: {e}"
        );
    }
}

/// The assistance-game solver's Bayes value equals the exact solver of `cirl solve` on the same game written as
/// a CIRL game (a fixed human who answers queries; the reduction to a POMDP solved by value iteration).
#[test]
#[allow(clippy::needless_range_loop)] // the tables are indexed [θ][s][h][r] as the CIRL game's docs write them
fn the_assistance_solver_agrees_with_the_exact_cirl_solver() {
    use cirl::human::{Human, ResponseModel};
    use cirl::model::assist::{Family, Layout};
    use cirl::model::cirl::{CirlGame, Human as CirlHuman, Timing};
    use cirl::model::dials::Dials;
    use cirl::solvers::assist;
    use cirl::solvers::chain::Agent;
    for (layout, seed) in [
        (
            Layout::Random {
                states: 3,
                actions: 2,
            },
            1,
        ),
        (
            Layout::Grid {
                width: 2,
                height: 2,
                features: 2,
            },
            2,
        ),
    ] {
        let f = Family {
            layout,
            thetas: 3,
            steps: 3,
            dials: Dials {
                mu: 0.1,
                sigma: 1.0,
                spread: 0.5,
                irreversible: 0.5,
                undo_cost: 0.4,
                ask_cost: 0.1,
                presence: 1.0,
                human: Human::Boltzmann { beta: 0.7 },
                shift: 0.0,
                scale: 1.0,
            },
        };
        let (g, truth) = f.realise(seed);
        let (ns, na, nt) = (g.states, g.actions, g.thetas());
        let nr = 2 * na + 1; // act a, ask a, off
        let dense = |s: usize, a: usize| {
            let mut row = vec![0.0; ns];
            for &(s2, p) in &g.t[s][a] {
                row[s2] += p;
            }
            row
        };
        // Human actions: 0 nothing, 1 allow, 2 refuse.
        let mut t = vec![vec![vec![vec![0.0; ns]; nr]; 3]; ns];
        let mut r = vec![vec![vec![vec![0.0; nr]; 3]; ns]; nt];
        let mut policy = vec![vec![vec![vec![1.0, 0.0, 0.0]; nr]; ns]; nt];
        for s in 0..ns {
            for h in 0..3 {
                for a in 0..na {
                    t[s][h][a] = dense(s, a);
                    t[s][h][na + a] = if h == 1 { dense(s, a) } else { dense(s, na) };
                    for k in 0..nt {
                        let sa = s * na + a;
                        let u = g.payoff(sa, g.hypotheses[k][sa]);
                        r[k][s][h][a] = u;
                        r[k][s][h][na + a] = if h == 1 { u } else { 0.0 } - g.ask_cost;
                    }
                }
                t[s][h][2 * na] = dense(s, na);
            }
            for k in 0..nt {
                for a in 0..na {
                    let p = g.human.p_allow(g.hypotheses[k][s * na + a]);
                    policy[k][s][na + a] = vec![0.0, p, 1.0 - p];
                }
            }
        }
        let mut initial_state = vec![0.0; ns];
        initial_state[g.start] = 1.0;
        let game = CirlGame {
            name: "assist".into(),
            states: (0..ns).map(|i| format!("s{i}")).collect(),
            human_actions: vec!["nothing".into(), "allow".into(), "refuse".into()],
            robot_actions: (0..nr).map(|i| format!("r{i}")).collect(),
            thetas: (0..nt).map(|i| format!("θ{i}")).collect(),
            t,
            r,
            prior: g.prior.clone(),
            initial_state,
            discount: 1.0,
            horizon: Some(g.horizon),
            timing: Timing::HumanResponds,
            human: CirlHuman::Policy(policy),
        };
        game.check().unwrap();
        let model = cirl::games::Model::Cirl(game);
        let exact = cirl::solve::run(
            &model,
            &cirl::solve::Request {
                solver: cirl::solve::Solver::Exact,
                ..cirl::solve::Request::default()
            },
        )
        .unwrap();
        let (scores, _) = assist::solve(&g, &[Agent::Bayes], &truth, &[0.5; 9], 1_000_000);
        let ours = scores.agents[0].value;
        assert!(
            (ours - exact.value).abs() < 1e-9 * exact.value.abs().max(1.0),
            "{layout:?}: {ours} vs the exact solver's {}",
            exact.value
        );
    }
}
