//! Numerical extremes give finite and correct values: a grid over σ → 0, β → 0 and β up to 1e6, |μ| up to 1e6
//! and costs from 1e-300 to 1e300, for normal and uniform beliefs and every human kind. Each value is checked
//! against a reference computed another way:
//! - rational human (and β = 0): v_wait = E[U⁺] in closed form;
//! - p-rational: Wängberg et al. Theorem 9, v_wait = p·E[U⁺] + (1 − p)·(E[U] − E[U⁺]); chance: v_wait = p·E[U];
//! - Boltzmann with small β: |v_wait − E[U⁺]| ≤ β·max_x x/(1 + eˣ) = 0.2785·β (a bound that holds for every
//!   belief); with β ≫ |U|: v_wait = μ/2 + (σ² + μ²)/(4β) + O(E[U⁴]/β³); and for every β, generic adaptive
//!   quadrature through a response model the closed forms do not recognise;
//! - the cost of asking shifts v_wait and Δ by exactly c; the decision is the best move up to the tie tolerance;
//!   a rational human gives Δ ≥ 0 at c = 0 (Theorem 1).
//!
//! Tolerances: 1e-9 × the belief's scale max(σ, |μ|) unless stated.

use cirl::belief::Prior;
use cirl::human::{Human, ResponseModel};
use cirl::offswitch::{Move, values, values_generic};

const SQRT3: f64 = 1.732_050_807_568_877_2;

/// E[U⁺] for a normal or uniform belief with mean μ and sd σ.
fn e_pos(uniform: bool, mu: f64, sigma: f64) -> f64 {
    if sigma == 0.0 {
        return mu.max(0.0);
    }
    if uniform {
        let (lo, hi) = (mu - SQRT3 * sigma, mu + SQRT3 * sigma);
        if lo >= 0.0 {
            mu
        } else if hi <= 0.0 {
            0.0
        } else {
            hi * hi / (2.0 * (hi - lo))
        }
    } else {
        let z = mu / sigma;
        let phi = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let cdf = 0.5 * libm::erfc(-z / std::f64::consts::SQRT_2);
        mu * cdf + sigma * phi
    }
}

/// The logistic human, unknown to the closed forms: values go through generic adaptive quadrature.
struct Logistic(f64);

impl ResponseModel for Logistic {
    fn p_allow(&self, u: f64) -> f64 {
        let x = u / self.0;
        if x >= 0.0 {
            1.0 / (1.0 + (-x).exp())
        } else {
            let e = x.exp();
            e / (1.0 + e)
        }
    }
    fn breaks(&self) -> Vec<f64> {
        (-40..=40).map(|k| k as f64 * self.0).collect()
    }
    fn label(&self) -> String {
        format!("logistic:{}", self.0)
    }
}

#[test]
fn extreme_parameters_give_finite_correct_values() {
    let mus = [-1e6, -1.0, -1e-9, 0.0, 1e-9, 0.25, 1.0, 1e6];
    let sigmas = [0.0, 1e-12, 1e-6, 1.0, 1e6];
    let humans = [
        Human::Rational,
        Human::Boltzmann { beta: 0.0 },
        Human::Boltzmann { beta: 1e-12 },
        Human::Boltzmann { beta: 1e-6 },
        Human::Boltzmann { beta: 1.0 },
        Human::Boltzmann { beta: 1e6 },
        Human::PRational { p: 0.0 },
        Human::PRational { p: 0.5 },
        Human::PRational { p: 1.0 },
        Human::Chance { p: 0.0 },
        Human::Chance { p: 1.0 },
        Human::ErrorRates {
            approve_good: 0.97,
            catch_bad: 0.3,
        },
    ];
    let costs = [0.0, 1e-300, 1e-12, 1.0, 1e12, 1e300];
    let mut checked = 0;
    let mut generic = 0;
    for &mu in &mus {
        for &sigma in &sigmas {
            for uniform in [false, true] {
                let prior = if uniform {
                    Prior::uniform_mean_sd(mu, sigma).unwrap()
                } else {
                    Prior::normal(mu, sigma).unwrap()
                };
                let scale = prior.scale();
                let tol = 1e-9 * scale;
                let pos = e_pos(uniform, mu, sigma);
                for h in &humans {
                    let base = values(&prior, h, 0.0).unwrap();
                    let what = format!("{prior:?} {h:?}");
                    // The reference for v_wait at c = 0.
                    match *h {
                        Human::Rational | Human::Boltzmann { beta: 0.0 } => {
                            assert!(
                                (base.v_wait - pos).abs() <= tol,
                                "{what}: {} vs E[U+] {pos}",
                                base.v_wait
                            );
                            assert!(base.delta >= 0.0, "{what}: Theorem 1, Δ = {}", base.delta);
                        }
                        Human::PRational { p } => {
                            let r = p * pos + (1.0 - p) * (mu - pos);
                            assert!(
                                (base.v_wait - r).abs() <= tol,
                                "{what}: {} vs {r}",
                                base.v_wait
                            );
                        }
                        Human::Chance { p } => {
                            assert!((base.v_wait - p * mu).abs() <= tol, "{what}");
                        }
                        Human::ErrorRates {
                            approve_good: a,
                            catch_bad: c,
                        } => {
                            let r = a * pos + (1.0 - c) * (mu - pos);
                            assert!(
                                (base.v_wait - r).abs() <= tol,
                                "{what}: {} vs {r}",
                                base.v_wait
                            );
                        }
                        Human::Boltzmann { beta } => {
                            assert!(
                                (base.v_wait - pos).abs() <= 0.2785 * beta + tol,
                                "{what}: {} vs E[U+] {pos}",
                                base.v_wait
                            );
                            if beta >= 1e6 && mu.abs() <= 1.0 && sigma <= 1.0 {
                                let r = mu / 2.0 + (sigma * sigma + mu * mu) / (4.0 * beta);
                                assert!(
                                    (base.v_wait - r).abs() <= 1e-12,
                                    "{what}: {} vs {r}",
                                    base.v_wait
                                );
                            }
                            // Generic quadrature wherever the belief is wider than the human's noise scale
                            // allows an adaptive rule to resolve (σ/β ≤ 1e6).
                            if sigma == 0.0 || sigma / beta <= 1e6 {
                                let g = values_generic(&prior, &Logistic(beta), 0.0).unwrap();
                                assert!(
                                    (base.v_wait - g.v_wait).abs()
                                        <= 1e-9 * scale.max(beta.min(1.0)),
                                    "{what}: {} vs generic {}",
                                    base.v_wait,
                                    g.v_wait
                                );
                                generic += 1;
                            }
                        }
                    }
                    for &c in &costs {
                        let v = values(&prior, h, c).unwrap();
                        let what = format!("{what} cost {c}");
                        for x in [v.v_act, v.v_wait, v.v_off, v.delta, v.p_allow, v.tie_tol] {
                            assert!(x.is_finite(), "{what}: {v:?}");
                        }
                        assert!((0.0..=1.0).contains(&v.p_allow), "{what}");
                        assert_eq!(v.v_act, base.v_act, "{what}: acting does not pay the cost");
                        assert_eq!(v.v_wait, base.v_wait - c, "{what}: v_wait shifts by c");
                        assert_eq!(v.delta, base.delta - c, "{what}: Δ shifts by c");
                        let value = |m: Move| match m {
                            Move::Act => v.v_act,
                            Move::Wait => v.v_wait,
                            Move::Off => v.v_off,
                        };
                        let best = v.v_act.max(v.v_wait).max(v.v_off);
                        assert!(best - value(v.decision) <= v.tie_tol, "{what}: {v:?}");
                        assert_eq!(v.tie, v.tied.len() > 1, "{what}");
                        if c >= 1e12 && c > 1e3 * scale {
                            assert_ne!(v.decision, Move::Wait, "{what}: asking at that cost");
                        }
                        checked += 1;
                    }
                }
            }
        }
    }
    eprintln!(
        "{checked} (belief, human, cost) points checked; {generic} against generic quadrature"
    );
    assert_eq!(checked, 8 * 5 * 2 * 12 * 6);
}
