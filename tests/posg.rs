//! Partially observable off-switch games (Garber et al. 2025): the File Deletion example, the exact solver
//! against brute force over both players' policies, the paper's propositions on random small games, the A-unaware
//! human, the local-search heuristic, and bad input.

use assert_cmd::Command;
use cirl::offswitch::Move;
use cirl::offswitch::posg::{HumanKind, Posg};
use cirl::solvers::posg::{self, HumanPolicy, Response};
use rand::RngExt;
use serde_json::Value;

fn cirl() -> Command {
    Command::cargo_bin("cirl").unwrap()
}

fn example(name: &str) -> String {
    format!(
        "{}/experiments/reproduce/garber2025/{name}.toml",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A random game: `n` states with random probabilities and integer payoffs, observations with at most `nh`, `na`
/// labels (relabelled so every label occurs).
fn random_game(
    rng: &mut impl rand::Rng,
    n: usize,
    nh: usize,
    na: usize,
    mh: usize,
    ma: usize,
) -> Posg {
    let w: Vec<f64> = (0..n).map(|_| rng.random_range(1..6) as f64).collect();
    let z: f64 = w.iter().sum();
    let relabel = |v: Vec<usize>| -> Vec<usize> {
        let mut seen: Vec<usize> = vec![];
        v.into_iter()
            .map(|x| match seen.iter().position(|y| *y == x) {
                Some(k) => k,
                None => {
                    seen.push(x);
                    seen.len() - 1
                }
            })
            .collect()
    };
    let obs_h = relabel((0..n).map(|_| rng.random_range(0..nh)).collect());
    let obs_a = relabel((0..n).map(|_| rng.random_range(0..na)).collect());
    let labels = |v: &[usize]| -> Vec<String> {
        (0..=*v.iter().max().unwrap())
            .map(|k| format!("o{k}"))
            .collect()
    };
    Posg {
        name: "random".into(),
        human: HumanKind::Optimal,
        messages_h: mh,
        messages_a: ma,
        p: w.iter().map(|x| x / z).collect(),
        u_act: (0..n).map(|_| rng.random_range(-6..7) as f64).collect(),
        u_off: (0..n)
            .map(|_| {
                if rng.random::<f64>() < 0.7 {
                    0.0
                } else {
                    rng.random_range(-3..4) as f64
                }
            })
            .collect(),
        obs_h_labels: labels(&obs_h),
        obs_a_labels: labels(&obs_a),
        obs_h,
        obs_a,
        moves: cirl::offswitch::posg::CLASSIC_MOVES.to_vec(),
        beta: 0.0,
    }
}

#[test]
fn file_deletion_has_the_papers_optimal_pair_and_value() {
    let out = cirl()
        .args(["posg", &example("file-deletion"), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let j: Value = serde_json::from_slice(&out).unwrap();
    assert!((j["value"].as_f64().unwrap() - 1.75).abs() < 1e-12);
    assert_eq!(j["assistant"]["L"], "act");
    assert_eq!(j["assistant"]["M"], "wait");
    assert_eq!(j["human"]["1.0"], "off");
    assert_eq!(j["human"]["2.0"], "on");
    assert_eq!(j["optimal_pairs"], 1.0);
    assert!((j["always_wait_value"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    // Every shipped example reproduces what its config states.
    cirl()
        .args(["reproduce", "garber2025", "--out"])
        .arg(tempfile::tempdir().unwrap().path())
        .assert()
        .success();
}

/// Brute force: every assistant policy against every human policy (messages and responses), values and the
/// number of optimal pairs computed directly.
fn brute_force(g: &Posg) -> (f64, f64) {
    let (nh, mh, ma) = (g.n_obs_h(), g.messages_h, g.messages_a);
    let n_a = posg::assistant_policies(g) as u64;
    let n_h = (mh as u64).pow(nh as u32) * 2u64.pow((nh * ma) as u32);
    let tol = 1e-10 * g.scale();
    let mut best = f64::NEG_INFINITY;
    let mut count = 0.0;
    for ca in 0..n_a {
        let a = posg::assistant_policy(g, ca);
        for ch in 0..n_h {
            let mut c = ch;
            let message: Vec<usize> = (0..nh)
                .map(|_| {
                    let m = (c % mh as u64) as usize;
                    c /= mh as u64;
                    m
                })
                .collect();
            let response: Vec<Vec<Response>> = (0..nh)
                .map(|_| {
                    (0..ma)
                        .map(|_| {
                            let r = if c % 2 == 0 {
                                Response::On
                            } else {
                                Response::Off
                            };
                            c /= 2;
                            r
                        })
                        .collect()
                })
                .collect();
            let v = posg::pair_value(g, &a, &HumanPolicy { message, response });
            if v > best + tol {
                best = v;
                count = 0.0;
            }
            if (v - best).abs() <= tol {
                count += 1.0;
            }
        }
    }
    (best, count)
}

#[test]
fn exact_solver_matches_brute_force_over_both_policies() {
    let mut rng = cirl::rng::job_rng(2025, 0);
    for k in 0..60 {
        let (mh, ma) = [(1, 1), (2, 1), (1, 2), (2, 2)][k % 4];
        let n = 2 + k % 3;
        let g = random_game(&mut rng, n, 2, 2, mh, ma);
        let s = posg::solve(&g).unwrap();
        let (v, count) = brute_force(&g);
        assert!((s.value - v).abs() < 1e-9, "game {k}: {} vs {v}", s.value);
        assert_eq!(s.optimal_pairs.unwrap(), count, "game {k}: {g:?}");
        // The reported pair achieves the value.
        let hv = posg::pair_value(&g, &s.assistant, &s.human);
        assert!((hv - s.value).abs() < 1e-9, "game {k}");
        assert!(s.value <= s.full_information_value + 1e-12);
    }
}

#[test]
fn some_optimal_pair_always_waits_when_the_assistant_sees_a_garbling_of_the_human() {
    let mut rng = cirl::rng::job_rng(2025, 1);
    for k in 0..200 {
        let mut g = random_game(&mut rng, 3 + k % 4, 4, 3, 1, 1);
        // The assistant's observation is a function of the human's (relabelled so every label occurs).
        let f: Vec<usize> = (0..g.n_obs_h()).map(|_| rng.random_range(0..3)).collect();
        let mut seen: Vec<usize> = vec![];
        g.obs_a = g
            .obs_h
            .iter()
            .map(|&o| match seen.iter().position(|x| *x == f[o]) {
                Some(j) => j,
                None => {
                    seen.push(f[o]);
                    seen.len() - 1
                }
            })
            .collect();
        g.obs_a_labels = (0..seen.len()).map(|j| format!("a{j}")).collect();
        let s = posg::solve(&g).unwrap();
        assert!(
            (s.always_wait_value.unwrap() - s.value).abs() <= 1e-9,
            "game {k}: always waiting {:?} < optimal {}",
            s.always_wait_value,
            s.value
        );
        assert!((s.p_wait_max.unwrap() - 1.0).abs() < 1e-12, "game {k}");
    }
    // Without the garbling condition, waiting can be strictly worse (File Deletion: 1 < 7/4).
    let fd = Posg::load(std::path::Path::new(&example("file-deletion"))).unwrap();
    let s = posg::solve(&fd).unwrap();
    assert!(s.always_wait_value.unwrap() < s.value - 0.5);
}

#[test]
fn coordinated_garbling_never_raises_the_value_and_talk_never_lowers_it() {
    let mut rng = cirl::rng::job_rng(2025, 2);
    for k in 0..120 {
        let g = random_game(&mut rng, 3 + k % 3, 3, 3, 1, 1);
        let v = posg::solve(&g).unwrap().value;
        // Merge observation labels on either side or both.
        let fh: Vec<usize> = (0..g.n_obs_h())
            .map(|o| if k % 3 != 1 { o.min(1) } else { o })
            .collect();
        let fa: Vec<usize> = (0..g.n_obs_a())
            .map(|o| if k % 3 != 0 { o / 2 } else { o })
            .collect();
        let vg = posg::solve(&g.garbled(&fh, &fa)).unwrap().value;
        assert!(vg <= v + 1e-9, "game {k}: garbled {vg} > {v}");
        // Messages: (1, 1) ≤ (2, 1) ≤ (2, 2) and (1, 1) ≤ (1, 2) ≤ (2, 2).
        let with = |mh: usize, ma: usize| {
            let mut x = g.clone();
            x.messages_h = mh;
            x.messages_a = ma;
            posg::solve(&x).unwrap().value
        };
        let (v21, v12, v22) = (with(2, 1), with(1, 2), with(2, 2));
        assert!(v <= v21 + 1e-9 && v <= v12 + 1e-9, "game {k}");
        assert!(v21 <= v22 + 1e-9 && v12 <= v22 + 1e-9, "game {k}");
        // A human who sees the state: the fully observable game, E[max(u_a, u_o)], and waiting is optimal.
        let mut full = g.clone();
        full.obs_h = (0..g.n_states()).collect();
        full.obs_h_labels = (0..g.n_states()).map(|i| format!("s{i}")).collect();
        let s = posg::solve(&full).unwrap();
        assert!((s.value - g.full_information_value()).abs() < 1e-9);
        assert!((s.p_wait_max.unwrap() - 1.0).abs() < 1e-12);
    }
}

#[test]
fn the_a_unaware_human_never_beats_the_best_response() {
    let mut rng = cirl::rng::job_rng(2025, 3);
    let mut strictly = 0;
    for k in 0..200 {
        let g = random_game(&mut rng, 3 + k % 4, 3, 3, 1, 1);
        let v = posg::solve(&g).unwrap().value;
        let mut u = g.clone();
        u.human = HumanKind::AUnaware;
        let s = posg::solve(&u).unwrap();
        assert!(s.value <= v + 1e-9, "game {k}");
        strictly += (s.value < v - 1e-9) as usize;
        // Its ON/OFF rule is E[u_a − u_o | o_H] > 0.
        for oh in 0..u.n_obs_h() {
            let d: f64 = (0..u.n_states())
                .filter(|&i| u.obs_h[i] == oh)
                .map(|i| u.p[i] * (u.u_act[i] - u.u_off[i]))
                .sum();
            let want = if d > 1e-10 * u.scale() {
                Response::On
            } else {
                Response::Off
            };
            assert_eq!(s.human.response[oh][0], want);
        }
    }
    eprintln!("A-unaware strictly worse in {strictly} of 200 games");
    assert!(
        strictly > 10,
        "the A-unaware human lost value in {strictly} games"
    );
}

#[test]
fn local_search_is_never_above_the_exact_value_and_usually_finds_it() {
    let mut rng = cirl::rng::job_rng(2025, 4);
    let mut hits = 0;
    for k in 0..80 {
        let g = random_game(&mut rng, 6, 4, 5, 1 + k % 2, 1);
        let exact = posg::solve(&g).unwrap();
        let ls = posg::local_search(&g, 16, k as u64).unwrap();
        assert!(ls.value <= exact.value + 1e-9, "game {k}");
        let pv = posg::pair_value(&g, &ls.assistant, &ls.human);
        assert!(
            (pv - ls.value).abs() < 1e-9,
            "game {k}: reported pair {pv} vs {}",
            ls.value
        );
        hits += ((ls.value - exact.value).abs() < 1e-9) as usize;
        assert!(ls.optimal_pairs.is_none() && ls.method.starts_with("heuristic"));
    }
    assert!(
        hits >= 72,
        "local search found the optimum in {hits} of 80 games"
    );
    // Moves are what they say.
    let fd = Posg::load(std::path::Path::new(&example("file-deletion"))).unwrap();
    let s = posg::local_search(&fd, 8, 1).unwrap();
    assert!((s.value - 1.75).abs() < 1e-12);
    assert_eq!(s.assistant.action[0][0], Move::Act);
}

#[test]
fn bad_po_osg_files_fail_with_one_line_and_exit_2() {
    let good = std::fs::read_to_string(example("file-deletion")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(String, &str)> = vec![
        (good.replacen("p = 0.25", "p = 0.5", 1), "sum to 1"),
        (good.replacen("p = 0.25", "p = -0.25", 1), "state[0].p"),
        (good.replace("kind = \"po-osg\"", "kind = \"osg\""), "kind"),
        (
            good.replace("human = \"optimal\"", "human = \"oracle\""),
            "human",
        ),
        (
            good.replace("messages_h = 1", "messages_h = 0"),
            "messages_h",
        ),
        (
            good.replace("human = \"optimal\"", "human = \"a-unaware\"")
                .replace("messages_a = 1", "messages_a = 2"),
            "A-unaware",
        ),
        (good.replacen("u_act = 3.0", "u_act = \"big\"", 1), "u_act"),
        (
            good.replacen("obs_a = \"L\"", "obs_a = [1]", 1),
            "state[0].obs_a",
        ),
        (good.replace("[[state]]", "[[state]]\nweight = 1"), "weight"),
    ];
    for (i, (text, needle)) in cases.iter().enumerate() {
        assert_ne!(text, &good, "case {i}");
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = cirl()
            .args(["posg", path.to_str().unwrap()])
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "case {i}: wanted '{needle}' in {err}");
        assert_eq!(err.trim().lines().count(), 1, "case {i}: {err}");
    }
}

#[test]
fn local_search_does_not_stall_where_acting_ties_waiting() {
    // E[u_act] = 0, so acting ties switching off, and while the assistant acts the human's answer is never asked
    // for: without resolving the human's indifference, every restart that starts by acting stays there (value 0),
    // though waiting is worth E[max(u_act, 0)].
    let mut text = String::from("kind = \"po-osg\"\nhuman = \"optimal\"\n");
    let n = 70;
    for i in 0..n {
        text += &format!(
            "[[state]]\np = {}\nu_act = {}\nobs_h = \"h{i}\"\nobs_a = \"x\"\n",
            1.0 / n as f64,
            (i % 7) as f64 / 3.0 - 1.0
        );
    }
    let g = Posg::parse(&text, "ties.toml").unwrap();
    let exact = posg::solve(&g).unwrap();
    assert!((exact.value - 2.0 / 7.0).abs() < 1e-9, "{}", exact.value);
    for seed in 0..8 {
        let ls = posg::local_search(&g, 1, seed).unwrap();
        assert!(
            (ls.value - exact.value).abs() < 1e-9,
            "seed {seed}: {}",
            ls.value
        );
        assert!((posg::pair_value(&g, &ls.assistant, &ls.human) - ls.value).abs() < 1e-9);
    }
}

// ---- Observation interference (Emmons et al. 2025): solvers::interference ----

use cirl::offswitch::posg::AssistantMove;
use cirl::solvers::interference;

/// The best pair by brute force over both players' deterministic policies: the assistant's move per
/// observation, the human's ON/OFF per information set (what it sees — its observation or `hidden` — and the
/// assistant's message).
fn interference_brute_force(g: &Posg) -> f64 {
    let (na, nm, ma, nh) = (g.n_obs_a(), g.moves.len(), g.messages_a, g.n_obs_h() + 1);
    let mut best = f64::NEG_INFINITY;
    for a in 0..(nm * ma).pow(na as u32) {
        let rule = |o: usize| {
            let x = a / (nm * ma).pow(o as u32) % (nm * ma);
            (g.moves[x / ma], x % ma)
        };
        for h in 0..1u64 << (nh * ma) {
            let on = |seen: usize, m: usize| h >> (seen * ma + m) & 1 == 1;
            let v: f64 = (0..g.n_states())
                .map(|i| {
                    let (mv, m) = rule(g.obs_a[i]);
                    let ua = g.p[i] * g.u_act[i];
                    let uo = g.p[i] * g.u_off[i];
                    let pressed = |seen| if on(seen, m) { ua } else { uo };
                    match mv {
                        AssistantMove::Act => ua,
                        AssistantMove::Off => uo,
                        AssistantMove::Wait => pressed(g.obs_h[i]),
                        AssistantMove::WaitHide => pressed(nh - 1),
                    }
                })
                .sum();
            best = best.max(v);
        }
    }
    best
}

#[test]
fn the_interference_solver_is_the_best_pair_and_agrees_with_the_posg_solver() {
    let mut rng = cirl::rng::job_rng(2025, 7);
    for k in 0..150 {
        let n = rng.random_range(2..7);
        let ma = 1 + (k % 3 == 0) as usize;
        let mut g = random_game(&mut rng, n, 3, 3, 1, ma);
        // The classic moves: the same value, optimal policy count and P(wait) range as the PO-OSG solver.
        let s = interference::solve(&g).unwrap();
        let c = posg::solve(&g).unwrap();
        assert!(
            (s.value - c.value).abs() < 1e-9,
            "{k}: {} vs {}",
            s.value,
            c.value
        );
        assert_eq!(
            Some(s.optimal_assistant_policies),
            c.optimal_assistant_policies,
            "{k}"
        );
        assert!((s.p_wait_min - c.p_wait_min.unwrap()).abs() < 1e-12, "{k}");
        assert!((s.p_wait_max - c.p_wait_max.unwrap()).abs() < 1e-12, "{k}");
        assert_eq!(s.p_interfere_max, 0.0);
        // With wait-hide: the brute-force optimum over both players' policies, never below the classic value.
        g.moves.push(AssistantMove::WaitHide);
        let s = interference::solve(&g).unwrap();
        let b = interference_brute_force(&g);
        assert!(
            (s.value - b).abs() < 1e-9,
            "{k}: solver {} vs brute force {b}",
            s.value
        );
        assert!(
            s.value >= c.value - 1e-12 && (s.no_interference_value - c.value).abs() < 1e-9,
            "{k}"
        );
        assert!(s.p_interfere_min <= s.p_interfere_max && s.p_interfere_min >= 0.0);
        if s.value > c.value + 1e-9 {
            assert!(
                s.p_interfere_min > 0.0,
                "{k}: interference gains but some optimal policy does not hide"
            );
        }
    }
}

/// With no private information the assistant has nothing to tell, and hiding only takes information from an
/// optimal human (the value of information is not negative): no gain from interfering. A Boltzmann human is
/// different (the reproduction's example), and as β grows its value tends to the optimal human's.
#[test]
fn without_private_information_interference_never_helps_an_optimal_human() {
    let mut rng = cirl::rng::job_rng(2025, 8);
    for k in 0..100 {
        let n = rng.random_range(2..8);
        let mut g = random_game(&mut rng, n, 4, 1, 1, 1);
        g.moves = vec![
            AssistantMove::Act,
            AssistantMove::Off,
            AssistantMove::Wait,
            AssistantMove::WaitHide,
        ];
        let s = interference::solve(&g).unwrap();
        assert!(
            (s.value - s.no_interference_value).abs() < 1e-9 && s.p_interfere_min == 0.0,
            "{k}: {s:?}"
        );
        g.human = HumanKind::Boltzmann;
        g.beta = 1e4;
        let b = interference::solve(&g).unwrap();
        assert!(
            b.value <= s.value + 1e-9,
            "{k}: a Boltzmann human beats the optimal one"
        );
        assert!(
            s.value - b.value < 1e-2,
            "{k}: β = 1e4 is {} below the optimal human's {}",
            b.value,
            s.value
        );
    }
}

#[test]
fn interference_games_report_through_the_cli_and_refuse_what_they_cannot_solve() {
    let file = format!(
        "{}/experiments/reproduce/emmons2025/must-interfere.toml",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = cirl().args(["posg", &file, "--json"]).assert().success();
    let v: Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["value"], 0.25);
    assert_eq!(v["p_interfere_min"], 0.5);
    let hidden = v["human"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["observation"] == "hidden");
    assert!(hidden, "{v}");
    cirl()
        .args(["posg", &file, "--heuristic"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("--heuristic"));
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        (
            "kind = \"po-osg\"\nassistant_moves = [\"wait\", \"peek\"]\n[[state]]\np = 1.0\nu_act = 1.0\nobs_h = \"a\"\nobs_a = \"b\"\n",
            "assistant_moves",
        ),
        (
            "kind = \"po-osg\"\nhuman = \"boltzmann:-1\"\n[[state]]\np = 1.0\nu_act = 1.0\nobs_h = \"a\"\nobs_a = \"b\"\n",
            "human",
        ),
        (
            "kind = \"po-osg\"\nassistant_moves = [\"wait-hide\"]\nmessages_h = 2\n[[state]]\np = 1.0\nu_act = 1.0\nobs_h = \"a\"\nobs_a = \"b\"\n",
            "messages_h",
        ),
        (
            "kind = \"po-osg\"\nassistant_moves = [\"wait-hide\"]\n[[state]]\np = 1.0\nu_act = 1.0\nobs_h = \"hidden\"\nobs_a = \"b\"\n",
            "obs_h",
        ),
    ] {
        let path = dir.path().join("g.toml");
        std::fs::write(&path, text).unwrap();
        let out = cirl()
            .args(["posg", path.to_str().unwrap()])
            .assert()
            .code(2);
        let err = String::from_utf8(out.get_output().stderr.clone()).unwrap();
        assert!(
            err.contains(key) && err.trim_end().lines().count() == 1,
            "{key}: {err}"
        );
    }
}
