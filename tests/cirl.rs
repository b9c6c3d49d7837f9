//! CIRL games: the off-switch game solved as a one-step CIRL game reproduces the closed-form incentive to defer,
//! and the reductions have the sizes the theory says.

use cirl::belief::Prior;
use cirl::human::Human as OsHuman;
use cirl::model::cirl::{Human, offswitch_game};
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
        let g = cirl::model::cirl::random_game(ns, nh, nr, nt, 0.9, horizon, &mut rng);
        let m = g.to_pomdp().unwrap();
        let naive = exact::solve(&m, &exact::ExactOptions::default()).unwrap();
        let (gen_v, gen_value) = cirl::solvers::generalized::solve(&g).unwrap();
        assert!(
            (naive.value - gen_value).abs() < 1e-9,
            "game {k}: naive {} vs generalized {gen_value}",
            naive.value
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
                let (x, y) = (naive.alphas.value(&rb), gen_v.value(s, &b));
                assert!((x - y).abs() < 1e-9, "game {k} s={s}: {x} vs {y}");
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 200);
}
