//! The p-rational human of Wängberg, Böörs, Catt, Everitt & Hutter (AGI 2017): with probability p it takes the
//! better of allow and switch-off (allows w.p. p if U ≥ 0, w.p. 1 − p if U < 0).
//!
//! With p⁺ = P(U ≥ 0), p⁻ = P(U < 0), e± = E[U | U ≥ 0 / U < 0] (Theorem 9):
//! E[U | a] = p⁺e⁺ + p⁻e⁻ and E[U | w(a)] = p⁺·p·e⁺ + p⁻·(1 − p)·e⁻. Writing A = p⁺e⁺ ≥ 0 and B = −p⁻e⁻ ≥ 0,
//! waiting (at cost c) beats acting iff p ≥ (A + c)/(A + B) and beats switching off iff p ≥ (B + c)/(A + B), so
//! waiting is optimal exactly when p ≥ p* = (max(A, B) + c)/(A + B) ∈ [½, ∞) (above 1: never). For a normal
//! belief N(μ, σ²), A = μΦ(μ/σ) + σφ(μ/σ) and B = σφ(μ/σ) − μΦ(−μ/σ).

use serde::Serialize;

use crate::belief::Prior;
use crate::numerics::{norm_cdf, norm_pdf};

/// Theorem 9's statistics and the threshold p*.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PRational {
    /// P(U ≥ 0).
    pub p_plus: f64,
    /// P(U < 0).
    pub p_minus: f64,
    /// E\[U | U ≥ 0\] (0 where the sign has no mass).
    pub e_plus: f64,
    /// E\[U | U < 0\] (0 where the sign has no mass).
    pub e_minus: f64,
    /// The threshold of p above which waiting beats acting.
    pub p_star_vs_act: Option<f64>,
    /// The threshold of p above which waiting beats switching off.
    pub p_star_vs_off: Option<f64>,
    /// Waiting is optimal iff p ≥ p_star (`None`: U = 0 surely, every move ties; above 1: never optimal).
    pub p_star: Option<f64>,
}

impl PRational {
    /// E[U | w(a)] for a p-rational human (Theorem 9), without the cost of asking.
    pub fn e_u_wait(&self, p: f64) -> f64 {
        self.p_plus * p * self.e_plus + self.p_minus * (1.0 - p) * self.e_minus
    }
    /// E[U | a].
    pub fn e_u_act(&self) -> f64 {
        self.p_plus * self.e_plus + self.p_minus * self.e_minus
    }
}

/// Theorem 9's statistics of a belief and p* at asking cost `cost`.
pub fn analyse(prior: &Prior, cost: f64) -> PRational {
    // Partial expectations A = E[U·1{U ≥ 0}], −B = E[U·1{U < 0}], and P(U ≥ 0).
    let (a, b, p_plus) = match prior {
        Prior::Normal { mu, sigma } if *sigma > 0.0 => {
            let z = mu / sigma;
            (
                mu * norm_cdf(z) + sigma * norm_pdf(z),
                sigma * norm_pdf(z) - mu * norm_cdf(-z),
                norm_cdf(z),
            )
        }
        Prior::Normal { mu, .. } => (mu.max(0.0), (-mu).max(0.0), (*mu >= 0.0) as u8 as f64),
        _ => (
            prior.expect(&|u| if u >= 0.0 { u } else { 0.0 }, &[0.0], 0.0),
            -prior.expect(&|u| if u < 0.0 { u } else { 0.0 }, &[0.0], 0.0),
            prior.expect(&|u| (u >= 0.0) as u8 as f64, &[0.0], 0.0),
        ),
    };
    let (a, b) = (a.max(0.0), b.max(0.0));
    let p_minus = 1.0 - p_plus;
    let cond = |x: f64, p: f64| if p > 0.0 { x / p } else { 0.0 };
    let total = a + b;
    let (vs_act, vs_off) = if total > 0.0 {
        (Some((a + cost) / total), Some((b + cost) / total))
    } else {
        (None, None)
    };
    PRational {
        p_plus,
        p_minus,
        e_plus: cond(a, p_plus),
        e_minus: -cond(b, p_minus),
        p_star_vs_act: vs_act,
        p_star_vs_off: vs_off,
        p_star: vs_act.zip(vs_off).map(|(x, y)| x.max(y)),
    }
}
