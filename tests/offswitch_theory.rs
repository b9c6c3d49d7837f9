//! The off-switch game's theorems and limits (Hadfield-Menell et al. 2017; Wängberg et al. 2017), checked on
//! the engine. Tolerances are stated relative to the prior's scale max(σ, |μ|).

use approx::assert_abs_diff_eq;
use cirl::belief::Prior;
use cirl::human::{Human, ResponseModel};
use cirl::numerics::{INV_SQRT_2PI, logistic, norm_cdf, norm_pdf};
use cirl::offswitch::{self, Move, moments, moments_generic, values};
use proptest::prelude::*;
use proptest::test_runner::RngSeed;

/// Property tests run a fixed, seeded set of cases so CI is reproducible (set PROPTEST_CASES to run more).
fn cfg(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        rng_seed: RngSeed::Fixed(2017),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn delta(prior: &Prior, human: &Human) -> f64 {
    values(prior, human, 0.0).unwrap().delta
}

fn human_strategy() -> impl Strategy<Value = Human> {
    prop_oneof![
        Just(Human::Rational),
        (1e-3f64..5.0).prop_map(|beta| Human::Boltzmann { beta }),
        (0.0f64..=1.0).prop_map(|p| Human::PRational { p }),
        (0.0f64..=1.0).prop_map(|p| Human::Chance { p }),
        (0.0f64..=1.0, 0.0f64..=1.0).prop_map(|(approve_good, catch_bad)| Human::ErrorRates {
            approve_good,
            catch_bad
        }),
    ]
}

/// Humans with πH(−u) = 1 − πH(u).
fn symmetric_human_strategy() -> impl Strategy<Value = Human> {
    prop_oneof![
        Just(Human::Rational),
        Just(Human::Chance { p: 0.5 }),
        (1e-3f64..5.0).prop_map(|beta| Human::Boltzmann { beta }),
        (0.0f64..=1.0).prop_map(|p| Human::PRational { p }),
        (0.0f64..=1.0).prop_map(|p| Human::ErrorRates {
            approve_good: p,
            catch_bad: p
        }),
    ]
}

/// A discrete prior: 1–6 atoms with values in [lo, hi] and random positive weights.
fn discrete_strategy(lo: f64, hi: f64) -> impl Strategy<Value = Prior> {
    prop::collection::vec((lo..hi, 0.01f64..1.0), 1..6).prop_map(|atoms| {
        let total: f64 = atoms.iter().map(|a| a.1).sum();
        let (values, probs): (Vec<f64>, Vec<f64>) =
            atoms.iter().map(|(v, p)| (*v, p / total)).unzip();
        Prior::discrete(values, probs).unwrap()
    })
}

proptest! {
    #![proptest_config(cfg(400))]

    /// Theorem 1: a rational human and a belief with mass on both signs ⇒ Δ > 0.
    #[test]
    fn theorem1_both_signs_means_positive_incentive(
        neg in discrete_strategy(-10.0, -1e-3), pos in discrete_strategy(1e-3, 10.0), w in 0.01f64..0.99
    ) {
        let prior = Prior::mixture(vec![w, 1.0 - w], vec![neg, pos]).unwrap();
        let v = values(&prior, &Human::Rational, 0.0).unwrap();
        prop_assert!(v.delta > 0.0, "Δ = {}", v.delta);
        prop_assert_eq!(v.decision, Move::Wait);
        prop_assert!(!v.tie);
    }

    /// Theorem 1, the other half: a one-sided belief ⇒ Δ = 0 exactly, reported as a tie.
    #[test]
    fn theorem1_one_sided_means_zero_incentive(p in discrete_strategy(0.0, 10.0), flip in any::<bool>()) {
        let prior = if flip {
            let Prior::Discrete { values, probs } = p else { unreachable!() };
            Prior::discrete(values.iter().map(|v| -v).collect(), probs).unwrap()
        } else { p };
        let v = values(&prior, &Human::Rational, 0.0).unwrap();
        prop_assert_eq!(v.delta, 0.0);
        prop_assert!(v.tie);
        prop_assert_eq!(v.decision, Move::Wait);
    }

    /// Eq. 1: Δ = E[πU] − max(E[U], 0) = min{E[−U(1 − π)], E[Uπ]}, for any human and prior, with the second
    /// form computed independently by quadrature.
    #[test]
    fn eq1_two_forms_agree(mu in -3.0f64..3.0, sigma in 0.01f64..3.0, h in human_strategy(), uniform in any::<bool>()) {
        let prior = if uniform { Prior::uniform_mean_sd(mu, sigma).unwrap() } else { Prior::normal(mu, sigma).unwrap() };
        let v = values(&prior, &h, 0.0).unwrap();
        let scale = prior.scale();
        let first = v.v_wait - v.v_act.max(0.0);
        let b = h.breaks();
        let tol = 1e-13 * scale;
        let minus_u_not_pi = prior.expect(&|u| -u * (1.0 - h.p_allow(u)), &b, tol);
        let u_pi = prior.expect(&|u| u * h.p_allow(u), &b, tol);
        let second = minus_u_not_pi.min(u_pi);
        prop_assert!((first - second).abs() <= 1e-10 * scale, "{first} vs {second}");
        prop_assert!((v.delta - second).abs() <= 1e-10 * scale, "{} vs {second}", v.delta);
    }

    /// Theorem 2: Δ = σ²·E[π̇H] − |μ|·Pr(C) for a normal belief, for every human with a derivative.
    #[test]
    fn theorem2_decomposition(mu in -3.0f64..3.0, sigma in 0.01f64..3.0, h in human_strategy()) {
        let v = values(&Prior::normal(mu, sigma).unwrap(), &h, 0.0).unwrap();
        let t = v.theorem2.unwrap();
        let scale = sigma.max(mu.abs());
        prop_assert!((t.delta.unwrap() - v.delta).abs() <= 1e-10 * scale, "{:?} vs {}", t.delta, v.delta);
        let expect_pr = if mu >= 0.0 { 1.0 - t.e_pi } else { t.e_pi };
        prop_assert!((t.pr_correction - expect_pr).abs() < 1e-15);
        if let Human::Boltzmann { beta } = h {
            // For the logistic human E[π̇H] = E[πH(1 − πH)]/β.
            let p = Prior::normal(mu, sigma).unwrap();
            let e = p.expect(&|u| logistic(u / beta) * logistic(-u / beta), &h.breaks(), 1e-14) / beta;
            prop_assert!((t.e_pi_dot.unwrap() - e).abs() <= 1e-10 / sigma.min(beta).max(1e-3), "{:?} vs {e}", t.e_pi_dot);
        }
    }

    /// Δ(μ) = Δ(−μ) for humans with πH(−u) = 1 − πH(u).
    #[test]
    fn symmetric_humans_give_symmetric_incentive(mu in 0.0f64..5.0, sigma in 0.0f64..3.0, h in symmetric_human_strategy()) {
        prop_assert!(h.is_symmetric());
        for prior in [Prior::normal(mu, sigma).unwrap(), Prior::uniform_mean_sd(mu, sigma).unwrap()] {
            let neg = match &prior {
                Prior::Normal { mu, sigma } => Prior::normal(-mu, *sigma).unwrap(),
                Prior::Uniform { lo, hi } => Prior::uniform(-hi, -lo).unwrap(),
                _ => unreachable!(),
            };
            let (a, b) = (delta(&prior, &h), delta(&neg, &h));
            prop_assert!((a - b).abs() <= 1e-10 * prior.scale().max(1e-300), "{a} vs {b}");
        }
    }

    /// Δ(cμ, cσ, cβ) = c·Δ(μ, σ, β): utilities have no natural unit.
    #[test]
    fn incentive_scales_with_units(mu in -3.0f64..3.0, sigma in 0.01f64..3.0, beta in 1e-3f64..5.0, c in 1e-3f64..1e3) {
        let a = delta(&Prior::normal(c * mu, c * sigma).unwrap(), &Human::Boltzmann { beta: c * beta });
        let b = delta(&Prior::normal(mu, sigma).unwrap(), &Human::Boltzmann { beta });
        let scale = c * sigma.max(mu.abs());
        prop_assert!((a - c * b).abs() <= 2e-10 * scale, "{a} vs {}", c * b);
    }

    /// Wängberg et al. 2017, Theorem 9: E[U|w(a)] = p⁺·p·e⁺ + p⁻·(1 − p)·e⁻ for a p-rational human.
    #[test]
    fn wangberg_theorem9(prior in discrete_strategy(-5.0, 5.0), p in 0.0f64..=1.0) {
        let Prior::Discrete { values: vs, probs } = &prior else { unreachable!() };
        let (mut pp, mut pn, mut ep, mut en) = (0.0, 0.0, 0.0, 0.0);
        for (v, q) in vs.iter().zip(probs) {
            if *v >= 0.0 { pp += q; ep += q * v } else { pn += q; en += q * v }
        }
        let (ep, en) = (if pp > 0.0 { ep / pp } else { 0.0 }, if pn > 0.0 { en / pn } else { 0.0 });
        let v = values(&prior, &Human::PRational { p }, 0.0).unwrap();
        prop_assert!((v.v_wait - (pp * p * ep + pn * (1.0 - p) * en)).abs() < 1e-12);
        prop_assert!((v.v_act - (pp * ep + pn * en)).abs() < 1e-12);
    }
}

#[test]
fn fig2_rational_closed_form_values() {
    // Δ = μΦ(μ/σ) + σφ(μ/σ) − max(μ, 0) for a rational human (HM 2017 Fig. 2).
    for &(mu, sigma) in &[
        (0.0, 1.0),
        (-0.25, 0.5),
        (0.75, 1.0),
        (0.75, 2.0),
        (-1.0, 0.3),
    ] {
        let t: f64 = mu / sigma;
        let expect = mu * norm_cdf(t) + sigma * norm_pdf(t) - f64::max(mu, 0.0);
        assert_abs_diff_eq!(
            delta(&Prior::normal(mu, sigma).unwrap(), &Human::Rational),
            expect,
            epsilon = 1e-15
        );
    }
    assert_abs_diff_eq!(
        delta(&Prior::normal(0.0, 1.0).unwrap(), &Human::Rational),
        INV_SQRT_2PI,
        epsilon = 1e-16
    );
}

#[test]
fn beta_to_zero_is_the_rational_human() {
    for &(mu, sigma) in &[(0.3, 1.0), (-0.25, 0.5), (2.0, 0.7), (0.0, 1.0)] {
        let p = Prior::normal(mu, sigma).unwrap();
        let r = delta(&p, &Human::Rational);
        for beta in [1e-4, 1e-6, 1e-9, 0.0] {
            let b = delta(&p, &Human::Boltzmann { beta });
            // E[Uπ_β] − E[U·1{U ≥ 0}] = O(β²·φ(μ/σ)/σ).
            assert!(
                (b - r).abs() <= 2.0 * beta * beta / sigma + 1e-12,
                "beta={beta}: {b} vs {r}"
            );
        }
    }
}

#[test]
fn beta_to_infinity_gives_minus_half_abs_mu() {
    for &(mu, sigma) in &[(0.3, 1.0), (-0.25, 0.5), (2.0, 0.7), (-5.0, 2.0)] {
        let p = Prior::normal(mu, sigma).unwrap();
        for beta in [1e4, 1e6] {
            let b = delta(&p, &Human::Boltzmann { beta });
            // E[Uπ] = μ/2 + E[U²]/(4β) + O(1/β³), so Δ = −|μ|/2 + (σ² + μ²)/(4β) + …
            let second = (sigma * sigma + mu * mu) / (4.0 * beta);
            assert!(
                (b - (-mu.abs() / 2.0 + second)).abs() <= 1e-3 * second + 1e-12,
                "beta={beta}: {b}"
            );
        }
        assert_abs_diff_eq!(
            delta(
                &p,
                &Human::Boltzmann {
                    beta: f64::INFINITY
                }
            ),
            -mu.abs() / 2.0,
            epsilon = 1e-15
        );
    }
}

/// Point belief, derived from the definition: Δ = μ·π(μ) − max(μ, 0), i.e. −μ(1 − π(μ)) for μ ≥ 0 and μ·π(μ)
/// for μ < 0. (HM 2017's Eq. 4 prints the branches swapped; see PAPERS.md.)
#[test]
fn sigma_to_zero_is_the_point_belief() {
    for &mu in &[-1.0, -0.25, 0.25, 1.0] {
        for h in [
            Human::Boltzmann { beta: 0.5 },
            Human::PRational { p: 0.8 },
            Human::Chance { p: 0.3 },
        ] {
            let pi = h.p_allow(mu);
            let expect = if mu >= 0.0 { -mu * (1.0 - pi) } else { mu * pi };
            let at_zero = delta(&Prior::normal(mu, 0.0).unwrap(), &h);
            assert_abs_diff_eq!(at_zero, expect, epsilon = 1e-15);
            for sigma in [1e-6, 1e-9] {
                let near = delta(&Prior::normal(mu, sigma).unwrap(), &h);
                assert!(
                    (near - expect).abs() < 1e-5,
                    "{h:?} mu={mu} sigma={sigma}: {near} vs {expect}"
                );
            }
        }
        // Corollary 1: a certain robot finds waiting optimal iff the human is rational.
        let r = values(&Prior::normal(mu, 0.0).unwrap(), &Human::Rational, 0.0).unwrap();
        assert_eq!(r.delta, 0.0);
        assert!(r.tie && r.decision == Move::Wait);
        let b = values(
            &Prior::normal(mu, 0.0).unwrap(),
            &Human::Boltzmann { beta: 0.5 },
            0.0,
        )
        .unwrap();
        assert!(b.delta < 0.0 && b.decision != Move::Wait);
    }
}

#[test]
fn extremes_never_give_nan_or_infinity() {
    let mus = [-1e6, -1e3, -1.0, -1e-9, 0.0, 1e-9, 1.0, 1e3, 1e6];
    let sigmas = [0.0, 1e-300, 1e-12, 1e-6, 1.0, 1e3, 1e6];
    let humans = [
        Human::Rational,
        Human::Boltzmann { beta: 0.0 },
        Human::Boltzmann { beta: 1e-300 },
        Human::Boltzmann { beta: 1e-9 },
        Human::Boltzmann { beta: 1.0 },
        Human::Boltzmann { beta: 1e6 },
        Human::Boltzmann {
            beta: f64::INFINITY,
        },
        Human::PRational { p: 0.9 },
        Human::Chance { p: 0.5 },
    ];
    for &mu in &mus {
        for &sigma in &sigmas {
            for h in &humans {
                for prior in [
                    Prior::normal(mu, sigma).unwrap(),
                    Prior::uniform_mean_sd(mu, sigma).unwrap(),
                ] {
                    let v = values(&prior, h, 0.0).unwrap();
                    let all = [v.v_act, v.v_wait, v.delta, v.p_allow];
                    assert!(all.iter().all(|x| x.is_finite()), "{prior:?} {h:?}: {v:?}");
                    assert!((0.0..=1.0).contains(&v.p_allow));
                    // Δ ≤ 0 is impossible to beat by more than the belief's spread allows: |Δ| ≤ E|U|.
                    assert!(
                        v.delta.abs() <= mu.abs() + sigma * 1.0001 + 1e-12,
                        "{prior:?} {h:?}: {}",
                        v.delta
                    );
                }
            }
        }
    }
}

#[test]
fn closed_forms_match_generic_quadrature() {
    let humans = [
        Human::Rational,
        Human::Boltzmann { beta: 0.3 },
        Human::Boltzmann { beta: 0.01 },
        Human::PRational { p: 0.7 },
        Human::Chance { p: 0.4 },
        Human::ErrorRates {
            approve_good: 0.93,
            catch_bad: 0.55,
        },
    ];
    let priors = [
        Prior::normal(0.4, 1.3).unwrap(),
        Prior::normal(-2.0, 0.5).unwrap(),
        Prior::uniform(-1.0, 2.5).unwrap(),
        Prior::uniform(0.5, 2.0).unwrap(),
    ];
    for p in &priors {
        for h in &humans {
            let a = moments(p, h);
            let b = moments_generic(p, h);
            let s = p.scale();
            assert!(
                (a.e_u_pi - b.e_u_pi).abs() <= 1e-10 * s,
                "{p:?} {h:?}: {} vs {}",
                a.e_u_pi,
                b.e_u_pi
            );
            assert!(
                (a.e_u_not_pi - b.e_u_not_pi).abs() <= 1e-10 * s,
                "{p:?} {h:?}"
            );
            assert!((a.e_pi - b.e_pi).abs() <= 1e-10, "{p:?} {h:?}");
        }
    }
}

#[test]
fn monte_carlo_agrees_with_the_exact_values() {
    let priors = [
        Prior::normal(0.25, 1.0).unwrap(),
        Prior::uniform(-1.0, 0.5).unwrap(),
        Prior::parse("discrete:-1@0.3,0.5@0.5,2@0.2").unwrap(),
        Prior::mixture(
            vec![0.4, 0.6],
            vec![
                Prior::normal(-1.0, 0.5).unwrap(),
                Prior::normal(1.0, 0.3).unwrap(),
            ],
        )
        .unwrap(),
    ];
    let humans = [
        Human::Rational,
        Human::Boltzmann { beta: 0.5 },
        Human::PRational { p: 0.8 },
        Human::Chance { p: 0.3 },
    ];
    let mut covered = 0;
    let mut total = 0;
    for (i, p) in priors.iter().enumerate() {
        for (j, h) in humans.iter().enumerate() {
            let exact = values(p, h, 0.1).unwrap();
            let mc = offswitch::monte_carlo_par(p, h, 0.1, 400_000, 1000 + (i * 10 + j) as u64);
            for (e, x) in [
                (mc.v_act, exact.v_act),
                (mc.v_wait, exact.v_wait),
                (mc.delta, exact.delta),
                (mc.p_allow, exact.p_allow),
            ] {
                total += 1;
                // Within 4.5 standard errors (a miss has probability ~7e-6 per estimate).
                assert!(
                    e.covers(x, 4.5, 1e-12),
                    "{p:?} {h:?}: exact {x}, estimate {e:?}"
                );
                covered += (e.ci_low <= x && x <= e.ci_high) as usize;
            }
        }
    }
    // The 95% intervals should cover about 95% of the time.
    assert!(
        covered as f64 >= 0.8 * total as f64,
        "{covered}/{total} intervals covered the exact value"
    );
}

#[test]
fn monte_carlo_is_independent_of_thread_count() {
    let p = Prior::normal(0.1, 1.0).unwrap();
    let h = Human::Boltzmann { beta: 0.4 };
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| offswitch::monte_carlo_par(&p, &h, 0.0, 1_000_000, 7))
    };
    assert_eq!(run(1), run(2));
    assert_eq!(run(2), run(3));
}

#[test]
fn costly_queries_shift_the_frontier() {
    // Freedman & Gleave 2022: asking costs c, so v_wait drops by exactly c.
    let p = Prior::normal(0.25, 1.0).unwrap();
    let h = Human::Boltzmann { beta: 0.5 };
    let free = values(&p, &h, 0.0).unwrap();
    let costly = values(&p, &h, 0.5).unwrap();
    assert_abs_diff_eq!(free.v_wait - costly.v_wait, 0.5, epsilon = 1e-15);
    assert_abs_diff_eq!(free.delta - costly.delta, 0.5, epsilon = 1e-15);
    assert_eq!(costly.decision, Move::Act);
    assert!(values(&p, &h, -0.1).is_err());
}

proptest! {
    #![proptest_config(cfg(300))]

    /// The exact frontier for a normal belief and a Boltzmann human: Δ = 0 at β* = σ²/(2|μ|), Δ > 0 below it
    /// and Δ < 0 above it. (Derivation, μ < 0: with 1/β = −2μ/σ², φ(u; μ, σ)·e^{u/β} = φ(u; −μ, σ), so
    /// E_μ[U·πβ(U)] = −E_μ[U·πβ(U)] = 0; μ > 0 follows by symmetry.)
    #[test]
    fn boltzmann_frontier_is_sigma_squared_over_two_abs_mu(mu in 0.01f64..3.0, sigma in 0.05f64..3.0, neg in any::<bool>()) {
        let mu = if neg { -mu } else { mu };
        // Beyond ~4 standard deviations Δ near β* is below 1e-12 of the scale: its sign is not resolvable in f64.
        prop_assume!(mu.abs() / sigma <= 4.0);
        let p = Prior::normal(mu, sigma).unwrap();
        let star = sigma * sigma / (2.0 * mu.abs());
        let scale = sigma.max(mu.abs());
        let at = delta(&p, &Human::Boltzmann { beta: star });
        prop_assert!(at.abs() <= 1e-10 * scale, "Δ(β*) = {at}");
        let (below, above) = (Human::Boltzmann { beta: 0.8 * star }, Human::Boltzmann { beta: 1.25 * star });
        prop_assert!(delta(&p, &below) > 0.0, "Δ below β* should be > 0");
        prop_assert!(delta(&p, &above) < 0.0, "Δ above β* should be < 0");
    }
}

/// Wängberg et al. 2017: waiting is optimal iff p ≥ p*; the root-found frontier of the reproduction lands on the
/// closed form, and Theorem 9's statistics reproduce the values, for normal and non-normal beliefs and costs.
#[test]
fn wangberg_p_star_is_the_frontier() {
    use cirl::offswitch::prational::analyse;
    let cfg = cirl::experiment::reproduction("wangberg2017-p-star").unwrap();
    let (_, frontier) = cirl::experiment::compute(&cfg, false).unwrap();
    let f = frontier.unwrap();
    assert_eq!(f.rows.len(), 9);
    for i in 0..f.rows.len() {
        let (mu, sigma) = (f.num(i, "mu").unwrap(), f.num(i, "sigma").unwrap());
        let ps = analyse(&Prior::normal(mu, sigma).unwrap(), 0.0)
            .p_star
            .unwrap();
        let root = f.num(i, "value").unwrap();
        assert!(
            (root - ps).abs() < 1e-9,
            "μ = {mu}, σ = {sigma}: {root} vs {ps}"
        );
        assert!((0.5..=1.0).contains(&ps));
    }
    let mut rng = cirl::rng::job_rng(2017, 9);
    use rand::RngExt;
    for k in 0..300 {
        let prior = match k % 3 {
            0 => Prior::normal(rng.random_range(-2.0..2.0), rng.random_range(0.05..3.0)).unwrap(),
            1 => {
                let lo: f64 = rng.random_range(-3.0..1.0);
                Prior::uniform(lo, lo + rng.random_range(0.1..4.0)).unwrap()
            }
            _ => Prior::discrete(
                vec![rng.random_range(-3.0..0.0), rng.random_range(0.0..3.0)],
                vec![0.4, 0.6],
            )
            .unwrap(),
        };
        let c: f64 = if k % 2 == 0 {
            0.0
        } else {
            rng.random_range(0.0..0.3)
        };
        let a = analyse(&prior, c);
        let ps = a.p_star.unwrap();
        let scale = prior.scale();
        for p in [0.5, 0.6, 0.75, 0.9, 0.99, 1.0] {
            let v = values(&prior, &Human::PRational { p }, c).unwrap();
            assert!((a.e_u_wait(p) - c - v.v_wait).abs() < 1e-9 * scale, "{k}");
            assert!((a.e_u_act() - v.v_act).abs() < 1e-9 * scale, "{k}");
            // Decision: wait iff p ≥ p* (away from the threshold, where rounding could pick either).
            if (p - ps).abs() > 1e-6 {
                assert_eq!(
                    v.decision == Move::Wait,
                    p > ps,
                    "{k}: p = {p}, p* = {ps}, {v:?}"
                );
            }
        }
    }
}
