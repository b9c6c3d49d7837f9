//! CIRL games: the off-switch game solved as a one-step CIRL game reproduces the closed-form incentive to defer,
//! and the reductions have the sizes the theory says.

#![allow(clippy::needless_range_loop)] // brute-force references index tables directly

use cirl::belief::Prior;
use cirl::human::Human as OsHuman;
use cirl::model::cirl::{CirlGame, Human, offswitch_game};
use cirl::numerics::gauss_hermite_prob;
use cirl::offswitch;
use cirl::solvers::{exact, q_values};

/// Δ of the reduced POMDP at its initial belief: best "wait" Q minus the best of "act" and "off" Q's.
fn cirl_delta(values: &[f64], probs: &[f64], beta: Option<f64>) -> (f64, f64) {
    let g = offswitch_game(values, probs, beta);
    let m = g.to_pomdp().unwrap();
    let q = q_values(&m, None, &m.initial);
    let best = |prefix: &str| {
        m.actions
            .iter()
            .zip(&q)
            .filter(|(a, _)| a.split('|').next() == Some(prefix))
            .map(|(_, q)| *q)
            .fold(f64::NEG_INFINITY, f64::max)
    };
    let solved = exact::solve(&m, &exact::ExactOptions::default()).unwrap();
    (best("wait") - best("act").max(best("off")), solved.value)
}

#[test]
fn offswitch_as_cirl_matches_the_closed_form() {
    let mut rng = cirl::rng::job_rng(5, 0);
    use rand::RngExt;
    for _ in 0..40 {
        let n = rng.random_range(1..6usize);
        let values: Vec<f64> = (0..n).map(|_| rng.random_range(-3.0..3.0)).collect();
        let w: Vec<f64> = (0..n).map(|_| rng.random_range(0.05..1.0)).collect();
        let z: f64 = w.iter().sum();
        let probs: Vec<f64> = w.iter().map(|x| x / z).collect();
        let prior = Prior::discrete(values.clone(), probs.clone()).unwrap();
        // The coordinated (optimal) human is the rational human of the off-switch game.
        for (beta, human) in [
            (None, OsHuman::Rational),
            (Some(0.0), OsHuman::Rational),
            (Some(0.7), OsHuman::Boltzmann { beta: 0.7 }),
        ] {
            let exact_v = offswitch::values(&prior, &human, 0.0).unwrap();
            let (delta, value) = cirl_delta(&values, &probs, beta);
            assert!(
                (delta - exact_v.delta).abs() < 1e-12,
                "{values:?} {probs:?} {beta:?}: {delta} vs {}",
                exact_v.delta
            );
            let best = exact_v.v_act.max(exact_v.v_wait).max(0.0);
            assert!((value - best).abs() < 1e-12, "value {value} vs {best}");
        }
    }
}

#[test]
fn offswitch_as_cirl_with_a_discretised_normal_prior() {
    // U ~ N(0.25, 1) discretised by a 48-node Gauss–Hermite rule: for σ/β = 1 its error is ~1e-15
    // (examples/ghstudy.rs; at σ/β = 2 it would be 4e-9).
    let rule = gauss_hermite_prob(48);
    let values: Vec<f64> = rule.nodes.iter().map(|z| 0.25 + z).collect();
    let (delta, _) = cirl_delta(&values, &rule.weights, Some(1.0));
    let closed = offswitch::values(
        &Prior::normal(0.25, 1.0).unwrap(),
        &OsHuman::Boltzmann { beta: 1.0 },
        0.0,
    )
    .unwrap();
    assert!(
        (delta - closed.delta).abs() < 1e-9,
        "{delta} vs {}",
        closed.delta
    );
}

#[test]
fn reduction_sizes() {
    let g = offswitch_game(&[-1.0, 0.5, 2.0], &[0.2, 0.3, 0.5], None);
    let size = g.reduction_size();
    // |A^R|·|A^H|^|Θ| = 3·2³ coordinator actions; hidden (s, θ, last a^H); observations (s', a^H).
    assert_eq!(
        (size.states, size.actions, size.observations),
        (2 * 3 * 2, 3 * 8, 2 * 2)
    );
    let m = g.to_pomdp().unwrap();
    assert_eq!(
        (m.n_states(), m.n_actions(), m.n_observations()),
        (12, 24, 4)
    );
    let fixed = offswitch_game(&[-1.0, 0.5, 2.0], &[0.2, 0.3, 0.5], Some(0.5));
    assert_eq!(fixed.reduction_size().actions, 3);
    assert!(matches!(fixed.human, Human::Policy(_)));
    // Too many coordinator actions is refused with a pointer to the generalized backup.
    let big: Vec<f64> = (0..30).map(|i| i as f64 - 15.0).collect();
    let e = offswitch_game(&big, &vec![1.0 / 30.0; 30], None)
        .to_pomdp()
        .unwrap_err();
    assert!(e.to_string().contains("generalized backup"), "{e}");
}

#[test]
fn naive_and_generalized_backups_agree_on_random_games() {
    let mut rng = cirl::rng::job_rng(2018, 0);
    let mut checked = 0;
    for k in 0..200 {
        // |S| ∈ {1, 2, 3}, |Θ| ∈ {2, 3, 4}, horizon ∈ {1, 2, 3}; the naive solver works over the whole simplex of
        // (s, θ, last a^H), so three states go only to horizon 2 to keep the test quick.
        let ns = 1 + k % 3;
        let nt = 2 + (k / 3) % 3;
        let nh = 2;
        let nr = 2;
        let horizon = if ns == 3 {
            1 + (k / 9) % 2
        } else {
            1 + (k / 9) % 3
        };
        let mut g = cirl::model::cirl::random_game(ns, nh, nr, nt, 0.9, horizon, &mut rng);
        // Start anywhere, so that the first decision's value function is computed in every state.
        g.initial_state = vec![1.0 / ns as f64; ns];
        let m = g.to_pomdp().unwrap();
        // Over the whole simplex, so that the values at other beliefs below are optimal too.
        let whole = exact::ExactOptions {
            reachable_only: false,
            ..Default::default()
        };
        let naive = exact::solve(&m, &whole).unwrap();
        let reach = exact::solve(&m, &exact::ExactOptions::default()).unwrap();
        assert!(
            (naive.value - reach.value).abs() < 1e-9,
            "game {k}: reachable-only pruning changed the value"
        );
        let sol = cirl::solvers::generalized::solve(&g, 1e-9).unwrap();
        let gen_value = sol.value;
        // The robot sees the initial state: in the reduction, that is the belief conditioned on it.
        let naive_value: f64 = (0..ns)
            .map(|s| {
                let mut rb = vec![0.0; m.n_states()];
                for th in 0..nt {
                    rb[(s * nt + th) * nh] = g.prior[th];
                }
                g.initial_state[s] * naive.alphas.value(&rb)
            })
            .sum();
        assert!(
            (naive_value - gen_value).abs() < 1e-9,
            "game {k}: naive {naive_value} vs generalized {gen_value}"
        );
        // Also at other beliefs over θ in every state.
        for s in 0..ns {
            for j in 0..nt {
                let mut b = vec![0.1 / (nt - 1) as f64; nt];
                b[j] = 0.9;
                // The reduced POMDP's belief: mass on (s, θ, last a^H = 0).
                let mut rb = vec![0.0; m.n_states()];
                for th in 0..nt {
                    rb[(s * nt + th) * nh] = b[th];
                }
                let (x, y) = (naive.alphas.value(&rb), sol.stages[0].value(s, &b));
                assert!((x - y).abs() < 1e-9, "game {k} s={s}: {x} vs {y}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 200);
}

#[test]
fn factored_backup_equals_exact_vi_on_the_fixed_human_reduction() {
    use cirl::model::cirl::{Timing, myopic_boltzmann};
    let mut rng = cirl::rng::job_rng(2018, 3);
    for k in 0..120 {
        // Exact VI on the reduction grows fast with the horizon: three decisions only for the smaller games.
        let ns = 1 + k % 3;
        let nt = 2 + (k / 3) % 3;
        let horizon = if ns <= 2 && nt <= 3 {
            1 + (k / 9) % 3
        } else {
            1 + (k / 9) % 2
        };
        let mut g = cirl::model::cirl::random_game(ns, 2, 2, nt, 0.9, horizon, &mut rng);
        // A human that responds to the robot's action, Boltzmann over the immediate reward; every fourth game a
        // rational one (deterministic, with ties split), so some actions have probability 0.
        g.timing = Timing::HumanResponds;
        g.human = Human::Policy(myopic_boltzmann(&g, if k % 4 == 0 { 0.0 } else { 0.3 }));
        let m = g.to_pomdp().unwrap();
        // Over the whole simplex (so the values at other beliefs are optimal too) up to two decisions.
        let whole = exact::ExactOptions {
            reachable_only: horizon == 3,
            ..Default::default()
        };
        let reduced = exact::solve(&m, &whole).unwrap();
        let sol = cirl::solvers::generalized::solve(&g, 1e-9).unwrap();
        assert!(
            (reduced.value - sol.value).abs() < 1e-9,
            "game {k}: reduction {} vs factored {}",
            reduced.value,
            sol.value
        );
        if horizon == 3 {
            continue;
        }
        // Stage 0 has sets for the initial state only; compare in state 0.
        for s in 0..1 {
            for j in 0..nt {
                let mut b = vec![0.2 / (nt - 1) as f64; nt];
                b[j] = 0.8;
                let mut rb = vec![0.0; m.n_states()];
                for th in 0..nt {
                    rb[(s * nt + th) * 2] = b[th];
                }
                let (x, y) = (reduced.alphas.value(&rb), sol.stages[0].value(s, &b));
                assert!((x - y).abs() < 1e-9, "game {k} s={s}: {x} vs {y}");
            }
        }
    }
}

/// Brute force for the Boltzmann variant, written independently of the backup: enumerate every conditional
/// plan (robot action, then a sub-plan per observation (a^H, s')), evaluate it per θ with the human's Boltzmann
/// rule over the plan's own Q-values, and take the best plan at the belief.
fn boltzmann_plan_values(g: &CirlGame, beta: f64, steps: usize) -> Vec<Vec<Vec<f64>>> {
    // out[s] = list of per-θ value vectors of every plan starting in s with `steps` decisions.
    let (ns, nh, nr, nt) = (
        g.states.len(),
        g.human_actions.len(),
        g.robot_actions.len(),
        g.thetas.len(),
    );
    if steps == 0 {
        return vec![vec![vec![0.0; nt]]; ns];
    }
    let sub = boltzmann_plan_values(g, beta, steps - 1);
    let mut out = vec![Vec::new(); ns];
    for s in 0..ns {
        for r in 0..nr {
            // A sub-plan index for every (h, s').
            let slots: Vec<(usize, usize)> = (0..nh)
                .flat_map(|h| (0..ns).map(move |sp| (h, sp)))
                .collect();
            let mut idx = vec![0usize; slots.len()];
            loop {
                let mut v = vec![0.0; nt];
                for th in 0..nt {
                    let q: Vec<f64> = (0..nh)
                        .map(|h| {
                            g.r[th][s][h][r]
                                + g.discount
                                    * (0..ns)
                                        .map(|sp| g.t[s][h][r][sp] * sub[sp][idx[h * ns + sp]][th])
                                        .sum::<f64>()
                        })
                        .collect();
                    let m = q.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                    let w: Vec<f64> = q.iter().map(|x| ((x - m) / beta).exp()).collect();
                    let z: f64 = w.iter().sum();
                    v[th] = w.iter().zip(&q).map(|(a, b)| a * b).sum::<f64>() / z;
                }
                out[s].push(v);
                let mut k = 0;
                loop {
                    if k == slots.len() {
                        break;
                    }
                    idx[k] += 1;
                    if idx[k] < sub[slots[k].1].len() {
                        break;
                    }
                    idx[k] = 0;
                    k += 1;
                }
                if k == slots.len() {
                    break;
                }
            }
        }
    }
    out
}

#[test]
fn boltzmann_generalized_backup_matches_plan_enumeration_and_limits() {
    use cirl::solvers::generalized;
    let mut rng = cirl::rng::job_rng(2018, 1);
    for k in 0..40 {
        let ns = 1 + k % 2;
        let nt = 2 + k % 3;
        let horizon = 1 + (k / 6) % 2;
        let mut g = cirl::model::cirl::random_game(ns, 2, 2, nt, 0.9, horizon, &mut rng);
        let beta = [0.05, 0.3, 1.0, 5.0][k % 4];
        g.human = Human::CoordinatedBoltzmann(beta);
        let sol = generalized::solve(&g, 1e-9).unwrap();
        let plans = boltzmann_plan_values(&g, beta, horizon);
        let brute = plans[0]
            .iter()
            .map(|v| v.iter().zip(&g.prior).map(|(a, b)| a * b).sum::<f64>())
            .fold(f64::NEG_INFINITY, f64::max);
        assert!(
            (sol.value - brute).abs() < 1e-9,
            "game {k}: {} vs brute force {brute}",
            sol.value
        );
        // Horizon one: the partner's Q-values are the immediate rewards, so this is the fixed myopic Boltzmann
        // human, solved through the POMDP reduction.
        if horizon == 1 {
            let mut fixed = g.clone();
            fixed.timing = cirl::model::cirl::Timing::HumanResponds;
            fixed.human = Human::Policy(cirl::model::cirl::myopic_boltzmann(&g, beta));
            let m = fixed.to_pomdp().unwrap();
            let v = exact::solve(&m, &exact::ExactOptions::default())
                .unwrap()
                .value;
            assert!(
                (v - sol.value).abs() < 1e-9,
                "game {k}: reduction {v} vs {}",
                sol.value
            );
        }
        // β → 0 is the coordinated (max) human.
        let mut cold = g.clone();
        cold.human = Human::CoordinatedBoltzmann(1e-12);
        let mut coord = g.clone();
        coord.human = Human::Coordinated;
        let (a, b) = (
            generalized::solve(&cold, 1e-9).unwrap().value,
            generalized::solve(&coord, 1e-9).unwrap().value,
        );
        assert!((a - b).abs() < 1e-9, "game {k}: β→0 {a} vs coordinated {b}");
    }
}

/// Three random games from (seed, stream), one per kind of partner (coordinated, coordinated Boltzmann, a fixed
/// myopic Boltzmann policy), each with its generalized-backup solution and horizon. The Boltzmann partner's backup enumerates
/// every combination, so it gets the shorter horizon.
fn solved_random_games(
    seed: u64,
    stream: u64,
    discount: f64,
) -> Vec<(CirlGame, cirl::solvers::generalized::Solution, usize)> {
    let mut rng = cirl::rng::job_rng(seed, stream);
    [
        (Some(Human::Coordinated), 3),
        (Some(Human::CoordinatedBoltzmann(0.5)), 2),
        (None, 3),
    ]
    .into_iter()
    .map(|(human, horizon)| {
        let mut g = cirl::model::cirl::random_game(3, 2, 2, 3, discount, horizon, &mut rng);
        g.human = human.unwrap_or_else(|| {
            g.timing = cirl::model::cirl::Timing::HumanResponds;
            Human::Policy(cirl::model::cirl::myopic_boltzmann(&g, 0.5))
        });
        let sol = cirl::solvers::generalized::solve(&g, 1e-9).unwrap();
        (g, sol, horizon)
    })
    .collect()
}

#[test]
fn generalized_policy_simulates_to_its_value() {
    for (k, (g, sol, _)) in solved_random_games(2018, 2, 0.95).into_iter().enumerate() {
        let sim = cirl::sim::cirl::simulate(&g, &sol, None, 40_000, 7 + k as u64);
        // 99.9% interval: a failure here is a 1-in-1000 event for a correct solver (fixed seed, so it is stable).
        let half = 3.29 * sim.estimate.std_err;
        assert!(
            (sim.estimate.mean - sol.value).abs() < half,
            "{k}: simulated {} ± {half} vs {}",
            sim.estimate.mean,
            sol.value
        );
    }
}

/// The exact behaviour under the plans (`sim::cirl::behaviour`): at every decision its probabilities sum to 1,
/// and episodes visit each (decision, state, robot action) as often as it says, and nothing else.
#[test]
fn exact_behaviour_is_what_episodes_do() {
    for (k, (g, sol, horizon)) in solved_random_games(2020, 3, 0.9).into_iter().enumerate() {
        let b = cirl::sim::cirl::behaviour(&g, &sol);
        for t in 0..horizon {
            let total: f64 = b
                .iter()
                .filter(|v| v.decision == t)
                .map(|v| v.probability)
                .sum();
            assert!(
                (total - 1.0).abs() < 1e-12,
                "{k}: decision {t} sums to {total}"
            );
        }
        let n = 40_000u64;
        let mut counts = std::collections::BTreeMap::new();
        for i in 0..n {
            let e =
                cirl::sim::cirl::episode(&g, &sol, None, &mut cirl::rng::job_rng(11 + k as u64, i));
            for (t, st) in e.steps.iter().enumerate() {
                *counts.entry((t, st.state, st.robot)).or_insert(0u64) += 1;
            }
        }
        for v in &b {
            let f = counts.remove(&(v.decision, v.state, v.robot)).unwrap_or(0) as f64 / n as f64;
            // 99.9% interval of a binomial frequency (fixed seed, so the test is stable).
            let half = 3.29 * (v.probability * (1.0 - v.probability) / n as f64).sqrt() + 1e-12;
            assert!(
                (f - v.probability).abs() <= half,
                "{k}: {v:?}: simulated {f}"
            );
        }
        assert!(
            counts.is_empty(),
            "{k}: episodes visited {counts:?}, which the behaviour leaves out"
        );
    }
}
