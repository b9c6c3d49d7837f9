//! The off-switch game (Hadfield-Menell et al. 2017): the values of the robot's three moves and its incentive
//! to defer.
//!
//! The robot R can act (`a`, payoff U), switch itself off (`s`, payoff 0) or announce the action and wait
//! (`w(a)`): the human H then allows it with probability πH(U) (payoff U) or presses the switch (payoff 0).
//! Asking costs c ≥ 0 (Freedman & Gleave 2022), so
//!
//! ```text
//! v_act = E[U],  v_off = 0,  v_wait = E[πH(U)·U] − c,  Δ = v_wait − max(v_act, v_off).
//! ```
//!
//! For a normal belief N(μ, σ²) Theorem 2 decomposes the incentive (with c = 0) as
//! `Δ = σ²·E[π̇H] − |μ|·Pr(C)` where `Pr(C) = 1 − E[πH]` if μ ≥ 0 else `E[πH]`; [`Theorem2`] reports these terms.
//!
//! ## How values are computed, and to what accuracy
//! - Discrete priors and CSV samples: exact finite sums.
//! - Normal and uniform priors with rational, p-rational or chance humans: closed forms (Φ, φ).
//! - Normal prior × Boltzmann human: a dedicated rule. With s = σ/β ≤ [`SHARP_RATIO`] the logistic is smooth on
//!   the prior's scale and a 64-node Gauss–Hermite rule is used; above it, the rational (step) part is taken in
//!   closed form and the remainder, which decays like e^{−|u|/β}, by a fixed composite Gauss–Legendre rule;
//!   for β ≤ 1e-6·σ the rational values are used (the neglected terms are O((β/σ)²) ≤ 1e-12 relative).
//!   Tested against adaptive quadrature: |error| ≤ 1e-10 × max(σ, |μ|) for E\[πU\] and ≤ 1e-10 for E\[πH\].
//! - Anything else (uniform × Boltzmann, any [`ResponseModel`]): adaptive Gauss–Legendre quadrature with
//!   absolute error ≤ 1e-12 × the prior's scale.
//! - [`monte_carlo`] estimates the same values by sampling games, with 95% confidence intervals.
//!
//! Two moves are reported as tied when their values differ by at most [`TIE_RTOL`] × the prior's scale.

pub mod prational;
pub mod report;

/// The partially observable off-switch game (Garber et al. 2025), a tabular problem of [`crate::model`].
pub use crate::model::posg;

use std::sync::OnceLock;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};
use serde::Serialize;

use crate::belief::{NORMAL_SPAN, Prior};
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::numerics::{self, Rule, logistic, norm_cdf, norm_pdf};

/// Relative tolerance (× the prior's scale) within which two moves count as tied.
pub const TIE_RTOL: f64 = 1e-9;
/// Above this ratio σ/β the Normal × Boltzmann rule switches from Gauss–Hermite to step + correction.
pub const SHARP_RATIO: f64 = 1.0;
/// Below this ratio β/σ a Boltzmann human is treated as rational (error O((β/σ)²)).
pub const RATIONAL_RATIO: f64 = 1e-6;

/// One of the robot's three moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Move {
    /// `a`: take the action (deployed agents: allow).
    Act,
    /// `w(a)`: announce it and let the human decide (ask / offer a choice).
    Wait,
    /// `s`: switch off (hand over / stop / deny).
    Off,
}

impl Move {
    /// The three moves (the order the PO-OSG solvers enumerate them in).
    pub const ALL: [Move; 3] = [Move::Act, Move::Wait, Move::Off];

    /// "act", "wait" or "off".
    pub fn as_str(&self) -> &'static str {
        match self {
            Move::Act => "act",
            Move::Wait => "wait",
            Move::Off => "off",
        }
    }
}

/// Expectations under the prior that determine every value of the game.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Moments {
    /// E\[U\].
    pub mean: f64,
    /// E[πH(U)]: the probability that the human allows the action.
    pub e_pi: f64,
    /// E[πH(U)·U].
    pub e_u_pi: f64,
    /// E[(1 − πH(U))·U], computed on its own (not as E\[U\] − E[πH·U]) so that Δ has no cancellation.
    pub e_u_not_pi: f64,
    /// E[π̇H(U)] (normal priors only; `None` where it is a point mass at a jump).
    pub e_pi_dot: Option<f64>,
    /// How the values were computed.
    pub method: &'static str,
}

/// Theorem 2's terms for a normal belief.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Theorem2 {
    /// E\[πH\].
    pub e_pi: f64,
    /// E\[π̇H\] (`None` where the belief is a point mass at a jump of πH).
    pub e_pi_dot: Option<f64>,
    /// Pr(C): the probability that the human overrides the robot's prior choice.
    pub pr_correction: f64,
    /// σ²·E[π̇H] − |μ|·Pr(C) − c: equals Δ.
    pub delta: Option<f64>,
}

/// The values of one off-switch game and the robot's decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Values {
    /// Value of acting: E\[U\].
    pub v_act: f64,
    /// Value of waiting: E\[U·πH(U)\] − c.
    pub v_wait: f64,
    /// Value of switching off: 0.
    pub v_off: f64,
    /// Δ = v_wait − max(v_act, v_off): the incentive to defer.
    pub delta: f64,
    /// The best move; among tied moves the first of wait, off, act.
    pub decision: Move,
    /// Whether the best move is tied with another within the tie tolerance.
    pub tie: bool,
    /// The moves tied for best (one entry when there is no tie).
    pub tied: Vec<Move>,
    /// The tie tolerance used: TIE_RTOL × the prior's scale.
    pub tie_tol: f64,
    /// The cost c of asking.
    pub cost: f64,
    /// E\[πH\]: the probability the human allows the action when asked.
    pub p_allow: f64,
    /// Theorem 2's terms (a normal belief).
    pub theorem2: Option<Theorem2>,
    /// How the expectations were computed (closed form, quadrature, …).
    pub method: &'static str,
}

/// The expectations of a built-in human under a prior, by the most accurate method available.
pub fn moments(prior: &Prior, human: &Human) -> Moments {
    match prior {
        Prior::Normal { mu, sigma } => normal_moments(*mu, *sigma, human),
        Prior::Uniform { lo, hi } => uniform_moments(*lo, *hi, human),
        Prior::Discrete { .. } | Prior::Samples { .. } => Moments {
            method: "exact-sum",
            ..moments_generic(prior, human)
        },
        Prior::Mixture {
            weights,
            components,
        } => {
            let parts: Vec<Moments> = components.iter().map(|c| moments(c, human)).collect();
            let sum = |f: &dyn Fn(&Moments) -> f64| {
                weights
                    .iter()
                    .zip(&parts)
                    .map(|(w, m)| w * f(m))
                    .sum::<f64>()
            };
            let method = if parts.iter().all(|m| m.method == parts[0].method) {
                parts[0].method
            } else {
                "mixture"
            };
            Moments {
                mean: sum(&|m| m.mean),
                e_pi: sum(&|m| m.e_pi),
                e_u_pi: sum(&|m| m.e_u_pi),
                e_u_not_pi: sum(&|m| m.e_u_not_pi),
                e_pi_dot: None,
                method,
            }
        }
    }
}

/// The expectations of any response model, by quadrature (continuous priors) or exact sums (discrete ones).
pub fn moments_generic<M: ResponseModel + ?Sized>(prior: &Prior, model: &M) -> Moments {
    let breaks = model.breaks();
    let scale = prior.scale();
    let e_pi = prior.expect(&|u| model.p_allow(u), &breaks, 1e-13);
    let e_u_pi = prior.expect(&|u| u * model.p_allow(u), &breaks, 1e-12 * scale);
    let e_u_not_pi = prior.expect(&|u| u * (1.0 - model.p_allow(u)), &breaks, 1e-12 * scale);
    Moments {
        mean: prior.mean(),
        e_pi,
        e_u_pi,
        e_u_not_pi,
        e_pi_dot: None,
        method: "adaptive-quadrature",
    }
}

fn normal_moments(mu: f64, sigma: f64, human: &Human) -> Moments {
    let point = |p: f64, pd: Option<f64>| Moments {
        mean: mu,
        e_pi: p,
        e_u_pi: mu * p,
        e_u_not_pi: mu * (1.0 - p),
        e_pi_dot: pd,
        method: "closed-form",
    };
    let h = match human {
        Human::Boltzmann { beta }
            if *beta == 0.0 || (sigma > 0.0 && *beta <= RATIONAL_RATIO * sigma) =>
        {
            Human::Rational
        }
        Human::Boltzmann { beta } if beta.is_infinite() => Human::Chance { p: 0.5 },
        h => *h,
    };
    if sigma == 0.0 {
        // A point belief: π̇ at a jump is a point mass, reported as None.
        let pd = match h {
            Human::Rational => (mu != 0.0).then_some(0.0),
            Human::PRational { p } => (mu != 0.0 || p == 0.5).then_some(0.0),
            Human::ErrorRates {
                approve_good,
                catch_bad,
            } => (mu != 0.0 || approve_good + catch_bad == 1.0).then_some(0.0),
            _ => Some(h.p_allow_derivative(mu)),
        };
        return point(h.p_allow(mu), pd);
    }
    if let Human::Boltzmann { beta } = h {
        let nb = normal_boltzmann(mu, sigma, beta);
        return Moments {
            mean: mu,
            e_pi: nb.e_pi,
            e_u_pi: nb.e_u_pi,
            e_u_not_pi: nb.e_u_not_pi,
            e_pi_dot: Some(nb.e_pi_dot),
            method: nb.method,
        };
    }
    let t = mu / sigma;
    let (cdf, pdf) = (norm_cdf(t), norm_pdf(t));
    // E[U·1{U ≥ 0}] ≥ 0 and E[U·1{U < 0}] ≤ 0: clamped so rounding cannot flip the sign Theorem 1 is about.
    let pos_part = (mu * cdf + sigma * pdf).max(0.0);
    let neg_part = (mu * norm_cdf(-t) - sigma * pdf).min(0.0);
    match h {
        Human::Rational => Moments {
            mean: mu,
            e_pi: cdf,
            e_u_pi: pos_part,
            e_u_not_pi: neg_part,
            e_pi_dot: Some(pdf / sigma),
            method: "closed-form",
        },
        Human::PRational { p } => Moments {
            mean: mu,
            e_pi: p * cdf + (1.0 - p) * norm_cdf(-t),
            e_u_pi: p * pos_part + (1.0 - p) * neg_part,
            e_u_not_pi: p * neg_part + (1.0 - p) * pos_part,
            e_pi_dot: Some((2.0 * p - 1.0) * pdf / sigma),
            method: "closed-form",
        },
        Human::Chance { p } => Moments {
            mean: mu,
            e_pi: p,
            e_u_pi: p * mu,
            e_u_not_pi: (1.0 - p) * mu,
            e_pi_dot: Some(0.0),
            method: "closed-form",
        },
        Human::ErrorRates {
            approve_good: a,
            catch_bad: c,
        } => Moments {
            mean: mu,
            e_pi: a * cdf + (1.0 - c) * norm_cdf(-t),
            e_u_pi: a * pos_part + (1.0 - c) * neg_part,
            e_u_not_pi: (1.0 - a) * pos_part + c * neg_part,
            // The jump of πH at 0, a − (1 − c), times the density there.
            e_pi_dot: Some((a + c - 1.0) * pdf / sigma),
            method: "closed-form",
        },
        Human::Boltzmann { .. } => unreachable!("handled above"),
    }
}

/// Gauss–Hermite orders by σ/β: the logistic's poles at u = ±iπβ limit how fast the rule converges, so the
/// order grows with s = σ/β. Each order is the smallest whose worst error over μ/β ∈ [−12, 12] at the bin's
/// upper end (errors grow with s) is ≤ 1e-12, 100× below the promised 1e-10 (`cargo run --release --example
/// ghstudy`): 2e-14 (8 nodes, s ≤ 0.2), 9e-14 (12, s ≤ 0.4), 8e-13 (16, s ≤ 0.6), 3e-13 (24, s ≤ 0.8),
/// 4e-13 (32, s ≤ 1).
const GH_ORDERS: [(f64, usize); 5] = [(0.2, 8), (0.4, 12), (0.6, 16), (0.8, 24), (SHARP_RATIO, 32)];

/// The positive half of a symmetric Gauss–Hermite rule: nodes z > 0 and their weights.
struct HalfRule {
    z: Vec<f64>,
    w: Vec<f64>,
}

fn gh_rule(s: f64) -> &'static HalfRule {
    static R: OnceLock<Vec<HalfRule>> = OnceLock::new();
    let rules = R.get_or_init(|| {
        GH_ORDERS
            .iter()
            .map(|&(_, n)| {
                let r: Rule = numerics::gauss_hermite_prob(n);
                // Symmetric rule of even order: pair node k (−z) with node n−1−k (+z).
                let half = n / 2;
                HalfRule {
                    z: (0..half).map(|k| r.nodes[n - 1 - k]).collect(),
                    w: (0..half)
                        .map(|k| 0.5 * (r.weights[k] + r.weights[n - 1 - k]))
                        .collect(),
                }
            })
            .collect()
    });
    let k = GH_ORDERS
        .iter()
        .position(|&(max_s, _)| s <= max_s)
        .unwrap_or(GH_ORDERS.len() - 1);
    &rules[k]
}

/// Panel edges of the sharp-regime rule: panels grow geometrically because r̃ has poles at ±iπ, so panels
/// near 0 stay short; e^{−40} < 5e-18.
const EDGES: [f64; 10] = [0.0, 0.75, 1.5, 2.5, 4.0, 6.0, 9.0, 13.0, 19.0, 40.0];
/// Gauss–Legendre nodes per panel: 8 gives a worst error of 1.2e-13 over s ∈ (1, 100], m ∈ [−3s, 3s]
/// (`examples/sharpstudy.rs`); 6 gives 1.9e-10, too close to the 1e-10 promise.
const SHARP_GL: usize = 8;
const SHARP_NODES: usize = (EDGES.len() - 1) * SHARP_GL;

/// Nodes x and weight triples (w·r̃(x), w·x·r̃(x), w·r̃(x)(1 − r̃(x))) on [0, 40] for the sharp regime,
/// with r̃(x) = 1/(1 + eˣ).
struct SharpRule {
    x: Vec<f64>,
    w_r: Vec<f64>,
    w_xr: Vec<f64>,
    w_d: Vec<f64>,
}

fn sharp_rule() -> &'static SharpRule {
    static R: OnceLock<SharpRule> = OnceLock::new();
    R.get_or_init(|| {
        let gl = numerics::gauss_legendre(SHARP_GL);
        let mut r = SharpRule {
            x: vec![],
            w_r: vec![],
            w_xr: vec![],
            w_d: vec![],
        };
        for e in EDGES.windows(2) {
            let (c, h) = (0.5 * (e[0] + e[1]), 0.5 * (e[1] - e[0]));
            for (t, w) in gl.nodes.iter().zip(&gl.weights) {
                let x = c + h * t;
                let rt = logistic(-x);
                r.x.push(x);
                r.w_r.push(h * w * rt);
                r.w_xr.push(h * w * x * rt);
                r.w_d.push(h * w * rt * (1.0 - rt));
            }
        }
        r
    })
}

/// The expectations of a Boltzmann human under a normal belief.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalBoltzmann {
    /// E\[πH\].
    pub e_pi: f64,
    /// E\[U·πH\].
    pub e_u_pi: f64,
    /// E\[U·(1 − πH)\].
    pub e_u_not_pi: f64,
    /// E\[π̇H\].
    pub e_pi_dot: f64,
    /// The quadrature or closed form used.
    pub method: &'static str,
}

/// E\[πH\], E[U·πH], E[U·(1 − πH)], E[π̇H] for U ~ N(μ, σ²), σ > 0, and a Boltzmann human with 0 < β < ∞.
///
/// The kernels are written as element-wise passes over small arrays followed by sums in four fixed lanes, so
/// the compiler vectorizes them; on x86-64 CPUs with AVX2 the same code is compiled a second time for AVX2 and
/// chosen at run time. The arithmetic and the order of every sum are fixed by the code (no FMA contraction), so
/// both versions return bit-identical results.
pub fn normal_boltzmann(mu: f64, sigma: f64, beta: f64) -> NormalBoltzmann {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU supports AVX2, checked just above.
            return unsafe { normal_boltzmann_avx2(mu, sigma, beta) };
        }
    }
    normal_boltzmann_body(mu, sigma, beta)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn normal_boltzmann_avx2(mu: f64, sigma: f64, beta: f64) -> NormalBoltzmann {
    normal_boltzmann_body(mu, sigma, beta)
}

/// Lanes of the vectorized sums.
const LANES: usize = 4;

/// Σ a[k]·b[k] over the first `n` entries, in LANES interleaved partial sums (a fixed order).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indexed loops over fixed arrays vectorize
fn dot(a: &[f64], b: &[f64], n: usize) -> f64 {
    let mut acc = [0.0f64; LANES];
    let (a, b) = (&a[..n], &b[..n]);
    let chunks = n / LANES;
    for c in 0..chunks {
        for l in 0..LANES {
            acc[l] += a[c * LANES + l] * b[c * LANES + l];
        }
    }
    for k in chunks * LANES..n {
        acc[k % LANES] += a[k] * b[k];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// The Gauss–Hermite kernel with H node pairs (see `normal_boltzmann_body`).
#[inline(always)]
#[allow(clippy::needless_range_loop)] // indexed loops over fixed arrays vectorize
fn gh_kernel<const H: usize>(
    mu: f64,
    sigma: f64,
    beta: f64,
    s: f64,
    r: &HalfRule,
) -> NormalBoltzmann {
    let z: &[f64; H] = r.z[..].try_into().expect("rule order matches the kernel");
    let w: &[f64; H] = r.w[..].try_into().expect("rule order matches the kernel");
    let m = mu / beta;
    let t = numerics::exp_nonpositive(-m.abs());
    let sign = if m >= 0.0 { 1.0 } else { -1.0 };
    let mut h = [0.0; H];
    for k in 0..H {
        h[k] = numerics::exp_nonpositive(-s * z[k]);
    }
    let (mut fb, mut fs, mut nb, mut ns) = ([0.0; H], [0.0; H], [0.0; H], [0.0; H]);
    let (mut uf, mut un) = ([0.0; H], [0.0; H]);
    for k in 0..H {
        let (a1, a2) = (1.0 + t * h[k], h[k] + t);
        let d = 1.0 / (a1 * a2);
        fb[k] = a2 * d;
        fs[k] = t * h[k] * a2 * d;
        nb[k] = h[k] * a1 * d;
        ns[k] = t * a1 * d;
        uf[k] = mu + sign * sigma * z[k];
        un[k] = mu - sign * sigma * z[k];
    }
    let (pf, qf, pn, qn) = if m >= 0.0 {
        (&fb, &fs, &nb, &ns)
    } else {
        (&fs, &fb, &ns, &nb)
    };
    let (mut a_p, mut a_up, mut a_uq, mut a_d) = ([0.0; H], [0.0; H], [0.0; H], [0.0; H]);
    for k in 0..H {
        a_p[k] = pf[k] + pn[k];
        a_up[k] = uf[k] * pf[k] + un[k] * pn[k];
        a_uq[k] = uf[k] * qf[k] + un[k] * qn[k];
        a_d[k] = pf[k] * qf[k] + pn[k] * qn[k];
    }
    NormalBoltzmann {
        e_pi: dot(w, &a_p, H),
        e_u_pi: dot(w, &a_up, H),
        e_u_not_pi: dot(w, &a_uq, H),
        e_pi_dot: dot(w, &a_d, H) / beta,
        method: "gauss-hermite",
    }
}

#[inline(always)]
#[allow(clippy::needless_range_loop)] // indexed loops over fixed arrays vectorize
fn normal_boltzmann_body(mu: f64, sigma: f64, beta: f64) -> NormalBoltzmann {
    let s = sigma / beta;
    if s <= SHARP_RATIO {
        // X = U/β ~ N(m, s²) at the nodes x = m ± s·z (the rule is symmetric). With t = e^{−|m|} ≤ 1 and
        // h = e^{−s·z} ≤ 1, the factor e^{−sign(m)·x} of the logistic is t·h at the node on m's side of zero
        // ("far") and t/h at the other ("near"): one exp and one division per pair, and nothing overflows.
        //   far:  big = 1/(1 + th),  small = th/(1 + th);   near: big = h/(h + t),  small = t/(h + t).
        // For m ≥ 0, far is u = μ + σz and π = big there; for m < 0, far is u = μ − σz and π = small.
        let r = gh_rule(s);
        // Fixed trip counts per order, so every loop is fully unrolled and vectorized.
        match r.z.len() {
            4 => gh_kernel::<4>(mu, sigma, beta, s, r),
            6 => gh_kernel::<6>(mu, sigma, beta, s, r),
            8 => gh_kernel::<8>(mu, sigma, beta, s, r),
            12 => gh_kernel::<12>(mu, sigma, beta, s, r),
            _ => gh_kernel::<16>(mu, sigma, beta, s, r),
        }
    } else {
        // U = βX with X ~ N(m, s²); σ(x) = 1{x ≥ 0} + r(x), r odd, r(x) = −r̃(x) for x > 0. The step part is
        // closed form; the correction is a fixed rule on [0, 40] whose weights carry r̃.
        const N: usize = SHARP_NODES;
        let m = mu / beta;
        let tt = mu / sigma;
        let (cdf, pdf) = (norm_cdf(tt), norm_pdf(tt));
        let r = sharp_rule();
        let inv = 1.0 / s;
        let (mut np, mut nm) = ([0.0; N], [0.0; N]);
        for k in 0..N {
            let x = r.x[k];
            let (a, b) = ((x - m) * inv, (x + m) * inv);
            // Densities of X at +x and −x, up to the factor 1/(s√(2π)) applied below.
            np[k] = numerics::exp_nonpositive(-0.5 * a * a);
            nm[k] = numerics::exp_nonpositive(-0.5 * b * b);
        }
        let (mut diff, mut sum) = ([0.0; N], [0.0; N]);
        for k in 0..N {
            diff[k] = nm[k] - np[k];
            sum[k] = nm[k] + np[k];
        }
        let c = inv * numerics::INV_SQRT_2PI;
        let d_pi = dot(&r.w_r, &diff, N) * c;
        let d_upi = -dot(&r.w_xr, &sum, N) * c;
        let e_d = dot(&r.w_d, &sum, N) * c;
        let e_pi = (cdf + d_pi).clamp(0.0, 1.0);
        // U·π = U·1{U ≥ 0} + β·X·r(X) and U·(1 − π) = U·1{U < 0} − β·X·r(X).
        let e_u_pi = mu * cdf + sigma * pdf + beta * d_upi;
        let e_u_not_pi = mu * norm_cdf(-tt) - sigma * pdf - beta * d_upi;
        NormalBoltzmann {
            e_pi,
            e_u_pi,
            e_u_not_pi,
            e_pi_dot: e_d / beta,
            method: "step+gauss-legendre",
        }
    }
}

fn uniform_moments(lo: f64, hi: f64, human: &Human) -> Moments {
    let w = hi - lo;
    let mean = 0.5 * (lo + hi);
    let (lp, hp) = (lo.max(0.0), hi.max(0.0));
    let p_pos = (hp - lp) / w; // Pr(U ≥ 0)
    // E[U·1{U ≥ 0}] = (hp² − lp²)/(2w), written as Pr × midpoint: the difference of squares cancels
    // catastrophically for a narrow interval far from 0 (|μ| = 1e6, σ = 1e-6 lost 16 units).
    let pos_part = p_pos * 0.5 * (hp + lp);
    let (ln, hn) = (lo.min(0.0), hi.min(0.0));
    let neg_part = (hn - ln) / w * 0.5 * (hn + ln); // E[U·1{U < 0}]
    let closed = |e_pi: f64, e_u_pi: f64, e_u_not_pi: f64| Moments {
        mean,
        e_pi,
        e_u_pi,
        e_u_not_pi,
        e_pi_dot: None,
        method: "closed-form",
    };
    match human {
        Human::Rational | Human::Boltzmann { beta: 0.0 } => closed(p_pos, pos_part, neg_part),
        Human::PRational { p } => closed(
            p * p_pos + (1.0 - p) * (1.0 - p_pos),
            p * pos_part + (1.0 - p) * neg_part,
            p * neg_part + (1.0 - p) * pos_part,
        ),
        Human::Chance { p } => closed(*p, p * mean, (1.0 - p) * mean),
        Human::ErrorRates {
            approve_good: a,
            catch_bad: c,
        } => closed(
            a * p_pos + (1.0 - c) * (1.0 - p_pos),
            a * pos_part + (1.0 - c) * neg_part,
            (1.0 - a) * pos_part + c * neg_part,
        ),
        Human::Boltzmann { beta } if beta.is_infinite() => closed(0.5, 0.5 * mean, 0.5 * mean),
        Human::Boltzmann { beta } => {
            // E[π] = β/w · [softplus(hi/β) − softplus(lo/β)] in closed form — but for an interval narrow
            // against β that difference cancels, so there the midpoint expansion: E[π] = ℓ(c) + (w/β)²/24·ℓ''(c)
            // + O((w/β)⁴), ℓ'' = ℓ(1 − ℓ)(1 − 2ℓ), at c = midpoint/β. E[Uπ] by adaptive quadrature.
            let r = w / beta;
            let e_pi = if r < 1e-3 {
                let l = logistic(mean / beta);
                (l + r * r / 24.0 * l * (1.0 - l) * (1.0 - 2.0 * l)).clamp(0.0, 1.0)
            } else {
                (beta / w * (numerics::softplus(hi / beta) - numerics::softplus(lo / beta)))
                    .clamp(0.0, 1.0)
            };
            let scale = (w / 12f64.sqrt()).max(mean.abs());
            let u = Prior::Uniform { lo, hi };
            let beta = *beta;
            let b = [
                0.0,
                -beta,
                beta,
                -5.0 * beta,
                5.0 * beta,
                -25.0 * beta,
                25.0 * beta,
            ];
            let e_u_pi = u.expect(&|x| x * logistic(x / beta), &b, 1e-12 * scale);
            let e_u_not_pi = u.expect(&|x| x * logistic(-x / beta), &b, 1e-12 * scale);
            Moments {
                mean,
                e_pi,
                e_u_pi,
                e_u_not_pi,
                e_pi_dot: None,
                method: "adaptive-quadrature",
            }
        }
    }
}

/// The values of the game for a built-in human. `cost` (the cost of asking) must be finite and ≥ 0.
pub fn values(prior: &Prior, human: &Human, cost: f64) -> Result<Values> {
    check_cost(cost)?;
    let m = moments(prior, human);
    let mut v = values_from_moments(&m, cost, prior.scale());
    check_finite(&v, prior)?;
    if let Prior::Normal { mu, sigma } = prior {
        let pr_correction = if *mu >= 0.0 { 1.0 - m.e_pi } else { m.e_pi };
        v.theorem2 = Some(Theorem2 {
            e_pi: m.e_pi,
            e_pi_dot: m.e_pi_dot,
            pr_correction,
            delta: m
                .e_pi_dot
                // σ·(σ·E[π̇]): σ² alone overflows for σ > 1.3e154 while the product is finite.
                .map(|d| sigma * (sigma * d) - mu.abs() * pr_correction - cost),
        });
    }
    Ok(v)
}

/// The values of the game for any response model (generic quadrature / exact sums).
pub fn values_generic<M: ResponseModel + ?Sized>(
    prior: &Prior,
    model: &M,
    cost: f64,
) -> Result<Values> {
    check_cost(cost)?;
    let v = values_from_moments(&moments_generic(prior, model), cost, prior.scale());
    check_finite(&v, prior)?;
    Ok(v)
}

/// Every value finite, or an error saying so: a NaN or an infinity is never returned as an answer.
fn check_finite(v: &Values, prior: &Prior) -> Result<()> {
    let all = [v.v_act, v.v_wait, v.delta, v.p_allow, v.tie_tol];
    if all.iter().all(|x| x.is_finite()) {
        return Ok(());
    }
    Err(Error::invalid(
        "prior",
        format!(
            "the game's values at {} overflow f64 (v_act = {}, v_wait = {}); the game is invariant to units: rescale U",
            prior.label(),
            crate::numerics::brief(v.v_act),
            crate::numerics::brief(v.v_wait)
        ),
    ))
}

fn check_cost(cost: f64) -> Result<()> {
    if !(cost.is_finite() && cost >= 0.0) {
        return Err(Error::invalid(
            "cost",
            format!("the cost of asking must be a finite number >= 0, got {cost}"),
        ));
    }
    Ok(())
}

/// The values and decision from the moments, with ties within `TIE_RTOL × scale` reported.
pub fn values_from_moments(m: &Moments, cost: f64, scale: f64) -> Values {
    let v_act = m.mean;
    let v_wait = m.e_u_pi - cost;
    let v_off = 0.0;
    // Eq. 1's second form, min{E[Uπ], −E[U(1 − π)]} − c: equal to v_wait − max(v_act, 0) but free of the
    // cancellation in E[Uπ] − E[U] when E[U] is large.
    let delta = m.e_u_pi.min(-m.e_u_not_pi) - cost;
    let tie_tol = TIE_RTOL * scale;
    let best = v_act.max(v_wait).max(v_off);
    // Preference among tied moves: defer first, then stop, then act.
    let tied: Vec<Move> = [(Move::Wait, v_wait), (Move::Off, v_off), (Move::Act, v_act)]
        .into_iter()
        .filter(|(_, v)| best - v <= tie_tol)
        .map(|(mv, _)| mv)
        .collect();
    Values {
        v_act,
        v_wait,
        v_off,
        delta,
        decision: tied[0],
        tie: tied.len() > 1,
        tied,
        tie_tol,
        cost,
        p_allow: m.e_pi,
        theorem2: None,
        method: m.method,
    }
}

pub use crate::numerics::Estimate;

/// Monte Carlo estimates of the game's values from sampled games.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct McValues {
    /// Games sampled.
    pub games: u64,
    /// The value of acting.
    pub v_act: Estimate,
    /// The value of waiting.
    pub v_wait: Estimate,
    /// Δ estimated as mean(W) − max(mean(U), 0), with the standard error of W − U or of W accordingly.
    pub delta: Estimate,
    /// The probability the human allows.
    pub p_allow: Estimate,
}

/// Running sums of a batch of sampled games (mergeable, so batches can run in parallel).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct McSums {
    /// Games summed.
    pub n: u64,
    /// The games are summed in standard units z = (U − m)/k, with m and k the prior's mean and spread (σ for a
    /// normal belief), so no sum overflows or cancels whatever the belief's magnitude.
    m: f64,
    k: f64,
    /// Σz, Σz², Σa, Σa·z, Σa·z² (a: the human allowed).
    sz: f64,
    szz: f64,
    sa: f64,
    saz: f64,
    sazz: f64,
}

/// The shift and scale of the standard units for a prior: (mean, spread), the spread 1 for a point.
fn units(prior: &Prior) -> (f64, f64) {
    match *prior {
        Prior::Normal { mu, sigma } => (mu, if sigma > 0.0 { sigma } else { 1.0 }),
        _ => {
            let sd = prior.sd();
            (
                prior.mean(),
                if sd > 0.0 && sd.is_finite() { sd } else { 1.0 },
            )
        }
    }
}

impl McSums {
    /// Plays `n` games: U from the prior, the human's choice from πH(U); the robot's payoffs are recorded for
    /// all three moves on the same draw (common random numbers).
    pub fn sample<M: ResponseModel + ?Sized, R: rand::Rng + ?Sized>(
        prior: &Prior,
        model: &M,
        n: u64,
        rng: &mut R,
    ) -> Self {
        let (m, k) = units(prior);
        // The normal prior's draw is inlined (no per-draw dispatch): it is the hot path of the benchmarks.
        match *prior {
            Prior::Normal { mu, sigma } if model.logistic_temperature().is_some() => {
                Self::sample_normal_logistic(
                    mu,
                    sigma,
                    model.logistic_temperature().unwrap(),
                    n,
                    rng,
                )
            }
            Prior::Normal { mu, sigma } => Self::sample_with(n, rng, model, m, k, |r| {
                let z: f64 = StandardNormal.sample(r);
                (mu + sigma * z, if sigma > 0.0 { z } else { 0.0 })
            }),
            _ => Self::sample_with(n, rng, model, m, k, |r| {
                let u = prior.sample(r);
                (u, u / k - m / k)
            }),
        }
    }

    /// Normal belief × logistic human, in blocks: the draws are serial, the rest is branch-free arithmetic
    /// on arrays (4 accumulator lanes) that the compiler vectorizes. Same games as the generic loop, summed in a
    /// different order.
    #[allow(clippy::needless_range_loop)] // indexed loops over fixed arrays vectorize
    fn sample_normal_logistic<R: rand::Rng + ?Sized>(
        mu: f64,
        sigma: f64,
        beta: f64,
        n: u64,
        rng: &mut R,
    ) -> Self {
        const B: usize = 64;
        const L: usize = 4;
        let inv_beta = 1.0 / beta;
        let zs = if sigma > 0.0 { 1.0 } else { 0.0 };
        let (mut z, mut v) = ([0.0f64; B], [0.0f64; B]);
        let mut acc = [[0.0f64; L]; 5];
        let blocks = n / B as u64;
        for _ in 0..blocks {
            for i in 0..B {
                z[i] = StandardNormal.sample(rng);
                v[i] = rng.random::<f64>();
            }
            for j in 0..B / L {
                for l in 0..L {
                    let i = j * L + l;
                    let u = mu + sigma * z[i];
                    let x = u * inv_beta;
                    let e = numerics::exp_nonpositive(-x.abs());
                    let r = 1.0 / (1.0 + e);
                    let p = if x >= 0.0 { r } else { e * r };
                    let a = (v[i] < p) as u8 as f64;
                    let zz = zs * z[i];
                    acc[0][l] += zz;
                    acc[1][l] += zz * zz;
                    acc[2][l] += a;
                    acc[3][l] += a * zz;
                    acc[4][l] += a * zz * zz;
                }
            }
        }
        let rest = n - blocks * B as u64;
        let human = Human::Boltzmann { beta };
        let (m, k) = (mu, if sigma > 0.0 { sigma } else { 1.0 });
        let mut s = Self::sample_with(rest, rng, &human, m, k, |r| {
            let z: f64 = StandardNormal.sample(r);
            (mu + sigma * z, zs * z)
        });
        s.n = n;
        let lanes = |k: usize| acc[k].iter().sum::<f64>();
        s.sz += lanes(0);
        s.szz += lanes(1);
        s.sa += lanes(2);
        s.saz += lanes(3);
        s.sazz += lanes(4);
        s
    }

    /// `draw` gives a game's U and its standard units z = (U − m)/k.
    #[inline(always)]
    fn sample_with<M: ResponseModel + ?Sized, R: rand::Rng + ?Sized>(
        n: u64,
        rng: &mut R,
        model: &M,
        m: f64,
        k: f64,
        draw: impl Fn(&mut R) -> (f64, f64),
    ) -> Self {
        let mut s = McSums {
            n,
            m,
            k,
            ..Default::default()
        };
        for _ in 0..n {
            let (u, z) = draw(rng);
            // Branch-free: the human's choice is a coin flip the CPU cannot predict.
            let a = (rng.random::<f64>() < model.p_allow(u)) as u8 as f64;
            s.sz += z;
            s.szz += z * z;
            s.sa += a;
            s.saz += a * z;
            s.sazz += a * z * z;
        }
        s
    }

    /// Adds another batch's sums (of the same prior).
    pub fn merge(&mut self, o: &McSums) {
        if self.n == 0 {
            self.m = o.m;
            self.k = o.k;
        }
        self.n += o.n;
        self.sz += o.sz;
        self.szz += o.szz;
        self.sa += o.sa;
        self.saz += o.saz;
        self.sazz += o.sazz;
    }

    /// The estimates, for a cost of asking `cost`.
    pub fn estimates(&self, cost: f64) -> McValues {
        let n = self.n as f64;
        let d = n.max(2.0) - 1.0;
        let c = n / d; // the unbiased correction of a sample variance
        let (m, k) = (self.m, self.k);
        let (z, zz, a, az, azz) = (
            self.sz / n,
            self.szz / n,
            self.sa / n,
            self.saz / n,
            self.sazz / n,
        );
        // Moments in standard units: U = m + k·z, W = U·a = m·a + k·(a·z).
        let var_z = (zz - z * z).max(0.0) * c;
        let var_a = (a - a * a).max(0.0) * c;
        let var_az = (azz - az * az).max(0.0) * c;
        let cov_a_az = (az - a * az) * c;
        let cov_z_az = (azz - z * az) * c;
        let cov_a_z = (az - a * z) * c;
        // sd of m·X + k·Y from Var X, Var Y and Cov(X, Y), scaled so that nothing overflows.
        let sd_lin = |vx: f64, vy: f64, cxy: f64| -> f64 {
            let s = m.abs().max(k);
            if s == 0.0 {
                return 0.0;
            }
            let (p, q) = (m / s, k / s);
            s * (p * p * vx + q * q * vy + 2.0 * p * q * cxy)
                .max(0.0)
                .sqrt()
        };
        let mean_u = m + k * z;
        let mean_w = m * a + k * az;
        let sd_u = k * var_z.sqrt();
        let sd_w = sd_lin(var_a, var_az, cov_a_az);
        // W − U = m·(a − 1) + k·(a·z − z).
        let sd_w_minus_u = sd_lin(var_a, var_az + var_z - 2.0 * cov_z_az, cov_a_az - cov_a_z);
        let delta = if mean_u > 0.0 {
            Estimate::normal(mean_w - cost - mean_u, sd_w_minus_u / n.sqrt())
        } else {
            Estimate::normal(mean_w - cost, sd_w / n.sqrt())
        };
        McValues {
            games: self.n,
            v_act: Estimate::normal(mean_u, sd_u / n.sqrt()),
            v_wait: Estimate::normal(mean_w - cost, sd_w / n.sqrt()),
            delta,
            p_allow: Estimate::normal(a, var_a.sqrt() / n.sqrt()),
        }
    }
}

/// Monte Carlo estimate of the game's values from `n` sampled games, on the caller's generator.
pub fn monte_carlo<M: ResponseModel + ?Sized, R: rand::Rng + ?Sized>(
    prior: &Prior,
    model: &M,
    cost: f64,
    n: u64,
    rng: &mut R,
) -> McValues {
    McSums::sample(prior, model, n, rng).estimates(cost)
}

/// Games per parallel batch in [`monte_carlo_par`].
pub const MC_BATCH: u64 = 1 << 16;

/// Parallel Monte Carlo: batch `i` uses [`crate::rng::fast_job_rng`]`(seed, i)` and batches are merged in
/// index order, so the result is identical for every thread count.
pub fn monte_carlo_par<M: ResponseModel + ?Sized>(
    prior: &Prior,
    model: &M,
    cost: f64,
    n: u64,
    seed: u64,
) -> McValues {
    use rayon::prelude::*;
    let batches = n.div_ceil(MC_BATCH);
    let sums: Vec<McSums> = (0..batches)
        .into_par_iter()
        .map(|i| {
            let k = MC_BATCH.min(n - i * MC_BATCH);
            McSums::sample(prior, model, k, &mut crate::rng::fast_job_rng(seed, i))
        })
        .collect();
    let mut total = McSums::default();
    sums.iter().for_each(|s| total.merge(s));
    total.estimates(cost)
}

/// The reference value of E[U·πH] for a normal prior by adaptive quadrature (for tests and benchmarks).
pub fn normal_reference(mu: f64, sigma: f64, human: &Human, abs_tol: f64) -> (f64, f64) {
    let p = Prior::Normal { mu, sigma };
    let b = human.breaks();
    let _ = NORMAL_SPAN;
    (
        p.expect(&|u| human.p_allow(u), &b, abs_tol),
        p.expect(&|u| u * human.p_allow(u), &b, abs_tol),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn rational_normal_closed_form() {
        let v = values(&Prior::normal(0.0, 1.0).unwrap(), &Human::Rational, 0.0).unwrap();
        assert_abs_diff_eq!(v.v_wait, numerics::INV_SQRT_2PI, epsilon = 1e-15);
        assert_eq!(v.decision, Move::Wait);
        assert!(!v.tie);
    }

    #[test]
    fn chance_human_at_zero_mean_ties_everything() {
        let v = values(
            &Prior::normal(0.0, 1.0).unwrap(),
            &Human::Chance { p: 0.3 },
            0.0,
        )
        .unwrap();
        assert!(v.tie);
        assert_eq!(v.tied, vec![Move::Wait, Move::Off, Move::Act]);
    }

    #[test]
    fn boltzmann_fast_path_matches_adaptive_quadrature() {
        let mut worst: f64 = 0.0;
        for &mu in &[-3.0, -0.25, 0.0, 0.1, 0.25, 2.0, 40.0] {
            for &sigma in &[0.01, 0.1, 0.5, 1.0, 3.0] {
                for &beta in &[1e-5, 1e-3, 0.01, 0.05, 0.2, 0.7, 1.0, 1.3, 3.0, 10.0, 1e3] {
                    let h = Human::Boltzmann { beta };
                    let m = moments(&Prior::Normal { mu, sigma }, &h);
                    let scale = sigma.max(mu.abs());
                    let (rp, ru) = normal_reference(mu, sigma, &h, 1e-13 * scale);
                    let err = ((m.e_u_pi - ru).abs() / scale).max((m.e_pi - rp).abs());
                    worst = worst.max(err);
                    assert!(
                        err < 1e-10,
                        "mu={mu} sigma={sigma} beta={beta}: {} vs {ru}, {} vs {rp}",
                        m.e_u_pi,
                        m.e_pi
                    );
                }
            }
        }
        eprintln!("worst relative error {worst:e}");
    }

    #[test]
    fn dispatched_and_portable_kernels_agree_bit_for_bit() {
        for &mu in &[-30.0, -1.0, -0.1, 0.0, 0.3, 2.0, 700.0] {
            for &sigma in &[0.01, 0.3, 0.9, 1.5, 10.0] {
                for &beta in &[0.02, 0.5, 1.0, 3.0] {
                    assert_eq!(
                        normal_boltzmann(mu, sigma, beta),
                        normal_boltzmann_body(mu, sigma, beta)
                    );
                }
            }
        }
    }

    #[test]
    fn e_pi_dot_matches_quadrature() {
        for &(mu, sigma, beta) in &[
            (0.3, 1.0, 0.5),
            (-0.2, 2.0, 0.1),
            (1.0, 0.5, 2.0),
            (0.0, 1.0, 0.01),
        ] {
            let h = Human::Boltzmann { beta };
            let m = moments(&Prior::Normal { mu, sigma }, &h);
            let r = Prior::Normal { mu, sigma }.expect(
                &|u| h.p_allow_derivative(u),
                &h.breaks(),
                1e-13,
            );
            assert_abs_diff_eq!(m.e_pi_dot.unwrap(), r, epsilon = 1e-10 / sigma);
        }
    }
}
