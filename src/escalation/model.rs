//! The escalation model: per action, the off-switch game with the agent's per-action confidence.
//!
//! **Utility.** An action of class k has utility U drawn from the class's utility prior (capability failures
//! mixed in by the METR curve when the class has a task length). A reversible action's loss is bounded by its
//! undo cost: the payoff is U_eff = max(U, −undo_cost). The action is *good* when U ≥ 0.
//!
//! **Confidence.** The agent's calibrated probability that the action is good, q, varies from action to action:
//! q ~ Beta(p⁺κ, (1 − p⁺)κ) with p⁺ = P(U ≥ 0), and given q the action is good with probability q, its utility
//! then drawn from the prior conditioned on its sign. So the marginal of U is the class prior for every κ; κ
//! sets how well confidence separates good from bad actions (κ → ∞: q = p⁺ always, AUROC 0.5; κ → 0: q ∈ {0, 1},
//! AUROC 1), and is found from the scenario's AUROC. Reported confidence is r = σ(logit q + s): s = 0 for a
//! calibrated agent; an overconfident agent's shift s makes the expected calibration error E[r − q] (over all
//! actions) equal to its stated ECE.
//!
//! **Moves.** Given q, each move's expected value is linear in q:
//! - act (allow): q·E[U_eff | U ≥ 0] + (1 − q)·E[U_eff | U < 0];
//! - offer a choice (ask): q·E[πH·U_eff | U ≥ 0] + (1 − q)·E[πH·U_eff | U < 0] − c, the human allowing with
//!   probability πH(U_eff) — the off-switch game's w(a);
//! - hand over / stop: −h.
//!
//! So every policy that routes on (class, reported confidence, task length) is a partition of q ∈ [0, 1] per
//! class, and its expected utility, ask rate, harm rates … are sums of linear functions over intervals of a
//! Beta distribution — exact, by the regularized incomplete beta function. The value-of-deferring policy takes
//! the best move at every q (the upper envelope of three lines), so no policy that sees the same information
//! does better.

use serde::Serialize;
use statrs::function::beta::{beta_reg, ln_beta};

use super::scenario::{ActionClass, Confidence, Discrimination, Scenario};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::numerics::{brent, integrate, logistic};

/// One of the three moves of a deployed agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
#[serde(rename_all = "kebab-case")]
pub enum Move {
    /// Offer the human a choice (the off-switch game's w(a); agent tools: ask).
    Ask,
    /// Hand over / stop (the off-switch game's s; agent tools: deny / escalate).
    HandOver,
    /// Act (the off-switch game's a; agent tools: allow).
    Act,
}

impl Move {
    pub const ALL: [Move; 3] = [Move::Ask, Move::HandOver, Move::Act];
    pub fn as_str(&self) -> &'static str {
        match self {
            Move::Act => "act",
            Move::Ask => "ask",
            Move::HandOver => "hand-over",
        }
    }
    /// The permission vocabulary of agent tools.
    pub fn permission(&self) -> &'static str {
        match self {
            Move::Act => "allow",
            Move::Ask => "ask",
            Move::HandOver => "deny",
        }
    }
}

/// a + b·q.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Line {
    pub a: f64,
    pub b: f64,
}

impl Line {
    fn at(&self, q: f64) -> f64 {
        self.a + self.b * q
    }
    /// a + b·q from the values at q = 0 and q = 1.
    fn between(at0: f64, at1: f64) -> Line {
        Line {
            a: at0,
            b: at1 - at0,
        }
    }
}

/// The distribution of calibrated confidence q within a class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum QDist {
    Point { q: f64 },
    Beta { a: f64, b: f64 },
}

impl QDist {
    /// P(q < t) (P(q ≤ 1) = 1).
    pub fn cdf(&self, t: f64) -> f64 {
        if t >= 1.0 {
            return 1.0;
        }
        if t <= 0.0 {
            return 0.0;
        }
        match *self {
            QDist::Point { q } => (q < t) as u8 as f64,
            QDist::Beta { a, b } => beta_reg(a, b, t),
        }
    }
    /// E[q·1{q < t}].
    pub fn partial_mean(&self, t: f64) -> f64 {
        match *self {
            QDist::Point { q } => {
                if q < t || t >= 1.0 {
                    q
                } else {
                    0.0
                }
            }
            QDist::Beta { a, b } => {
                if t >= 1.0 {
                    a / (a + b)
                } else if t <= 0.0 {
                    0.0
                } else {
                    a / (a + b) * beta_reg(a + 1.0, b, t)
                }
            }
        }
    }
    pub fn mean(&self) -> f64 {
        self.partial_mean(1.0)
    }
    /// E[f(q)].
    pub fn expect(&self, f: &dyn Fn(f64) -> f64) -> f64 {
        match *self {
            QDist::Point { q } => f(q),
            QDist::Beta { a, b } => beta_expect(a, b, f),
        }
    }
    /// A draw of q.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        use rand_distr::Distribution;
        match *self {
            QDist::Point { q } => q,
            QDist::Beta { a, b } => rand_distr::Beta::new(a, b)
                .expect("validated shape parameters")
                .sample(rng),
        }
    }
}

/// E[f(X)] for X ~ Beta(a, b), by adaptive quadrature with the endpoint singularities removed: on [0, ½] with
/// a < 1 the substitution u = x^a, on [½, 1] with b < 1 the substitution v = (1 − x)^b, so every integrand is
/// bounded; concentrated densities get break points at the mean ± multiples of the standard deviation.
/// Absolute error ≈ 1e-12 × max|f|.
pub fn beta_expect(a: f64, b: f64, f: &dyn Fn(f64) -> f64) -> f64 {
    let lnb = ln_beta(a, b);
    let mean = a / (a + b);
    let sd = (a * b / ((a + b) * (a + b) * (a + b + 1.0))).sqrt();
    let mut breaks: Vec<f64> = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0]
        .iter()
        .flat_map(|k| [mean - k * sd, mean + k * sd])
        .chain([mean])
        .filter(|x| *x > 0.0 && *x < 1.0)
        .collect();
    breaks.sort_by(f64::total_cmp);
    let tol = 1e-12;
    let pdf = |x: f64| ((a - 1.0) * x.ln() + (b - 1.0) * (-x).ln_1p() - lnb).exp();
    let left = if a < 1.0 {
        // u = x^a: dx·x^(a−1) = du/a.
        let hi = 0.5f64.powf(a);
        let ub: Vec<f64> = breaks
            .iter()
            .filter(|x| **x < 0.5)
            .map(|x| x.powf(a))
            .collect();
        integrate(
            |u: f64| {
                let x = u.powf(1.0 / a);
                f(x) * ((b - 1.0) * (-x).ln_1p() - lnb).exp() / a
            },
            0.0,
            hi,
            &ub,
            tol,
        )
    } else {
        let xb: Vec<f64> = breaks.iter().copied().filter(|x| *x < 0.5).collect();
        integrate(|x: f64| f(x) * pdf(x), 0.0, 0.5, &xb, tol)
    };
    let right = if b < 1.0 {
        // v = (1 − x)^b: dx·(1 − x)^(b−1) = −dv/b.
        let hi = 0.5f64.powf(b);
        let vb: Vec<f64> = breaks
            .iter()
            .filter(|x| **x > 0.5)
            .map(|x| (1.0 - x).powf(b))
            .collect();
        integrate(
            |v: f64| {
                let x = 1.0 - v.powf(1.0 / b);
                f(x) * ((a - 1.0) * x.ln() - lnb).exp() / b
            },
            0.0,
            hi,
            &vb,
            tol,
        )
    } else {
        let xb: Vec<f64> = breaks.iter().copied().filter(|x| *x > 0.5).collect();
        integrate(|x: f64| f(x) * pdf(x), 0.5, 1.0, &xb, tol)
    };
    left + right
}

/// The AUROC of calibrated confidence as a predictor of a good action, for a Beta(a, b) confidence:
/// P(q of a good action > q of a bad one), good ~ Beta(a + 1, b), bad ~ Beta(a, b + 1).
pub fn auroc(a: f64, b: f64) -> f64 {
    beta_expect(a + 1.0, b, &|x| beta_reg(a, b + 1.0, x))
}

/// The range of ln(κ·min(p, 1 − p)) searched for a stated AUROC (AUROC ≈ 0.99999 … 0.503 across it).
const LN_SMALL_SHAPE: (f64, f64) = (-6.9, 9.2);

/// Below this AUROC confidence is taken to carry no information about an action (q = P(good)).
pub const MIN_AUROC: f64 = 0.505;

/// The smaller Beta shape s with I_½(s, s + 1) = `target`: the AUROC of the confidence model in the limit of a
/// rare outcome.
fn limit_small_shape(target: f64) -> Result<f64> {
    brent(
        |x: f64| {
            let s = x.exp();
            beta_reg(s, s + 1.0, 0.5) - target
        },
        -14.0,
        14.0,
        1e-12,
    )
    .map(f64::exp)
    .ok_or_else(|| Error::invalid("agent.auroc", format!("AUROC {target} is out of reach")))
}

/// The confidence distribution of a class with P(good) = `p_good` under the scenario's discrimination.
pub fn q_dist(p_good: f64, d: Discrimination) -> Result<QDist> {
    // Within 1e-9 of certainty there is nothing for confidence to separate (and the Beta's shape parameters
    // would underflow): the confidence is the class's P(good).
    if p_good <= 1e-9 || p_good >= 1.0 - 1e-9 {
        return Ok(QDist::Point {
            q: p_good.clamp(0.0, 1.0),
        });
    }
    let kappa = match d {
        Discrimination::Concentration { kappa } => kappa,
        Discrimination::Auroc { auroc: target } => {
            if target < MIN_AUROC {
                return Ok(QDist::Point { q: p_good });
            }
            // AUROC falls from 1 (κ → 0) to 0.5 (κ → ∞) and depends mostly on the smaller shape parameter
            // s = κ·min(p, 1 − p): as min(p, 1 − p) → 0 the rarer outcome's 1 − q (or q) is Gamma(s)/κ for a
            // good action against Gamma(s + 1)/κ for a bad one, so AUROC → P(Gamma(s) < Gamma(s + 1)) =
            // I_½(s, s + 1). Start from that limit and solve the exact AUROC in x = ln s nearby.
            let m = p_good.min(1.0 - p_good);
            let s0 = limit_small_shape(target)?;
            // Below 1e-4 the limit is within 2e-4 of the exact shape (the AUROC within ~1e-5); so it is, near
            // AUROC 0.5, when the other shape parameter would be huge (where the incomplete beta is slow).
            if m < 1e-4 || s0 / m > 1e6 {
                return Ok(QDist::Beta {
                    a: p_good * s0 / m,
                    b: (1.0 - p_good) * s0 / m,
                });
            }
            let f = |x: f64| {
                let k = x.exp() / m;
                auroc(p_good * k, (1.0 - p_good) * k) - target
            };
            let (mut lo, mut hi) = (s0.ln() - 1.0, s0.ln() + 1.0);
            while f(lo) < 0.0 && lo > LN_SMALL_SHAPE.0 {
                lo -= 1.5;
            }
            while f(hi) > 0.0 && hi < LN_SMALL_SHAPE.1 {
                hi += 1.5;
            }
            let x = brent(f, lo.max(LN_SMALL_SHAPE.0), hi.min(LN_SMALL_SHAPE.1), 1e-9)
                .ok_or_else(|| {
                    Error::invalid(
                        "agent.auroc",
                        format!(
                            "no confidence distribution reaches AUROC {target} for P(good) = {p_good}"
                        ),
                    )
                })?;
            x.exp() / m
        }
    };
    Ok(QDist::Beta {
        a: p_good * kappa,
        b: (1.0 - p_good) * kappa,
    })
}

/// Reported confidence for calibrated confidence q and logit shift s.
pub fn reported(q: f64, shift: f64) -> f64 {
    if shift == 0.0 || q <= 0.0 || q >= 1.0 {
        return q;
    }
    logistic((q / (1.0 - q)).ln() + shift)
}

/// The calibrated confidence behind reported confidence r.
pub fn calibrated(r: f64, shift: f64) -> f64 {
    reported(r, -shift)
}

/// Everything the model needs of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassModel {
    pub name: String,
    pub share: f64,
    pub reversible: bool,
    pub undo_cost: Option<f64>,
    pub task_minutes: Option<f64>,
    /// P(U ≥ 0): the probability the action is good.
    pub p_good: f64,
    /// P(success) of the capability curve at the class's task length.
    pub p_capability: Option<f64>,
    pub q: QDist,
    /// Expected payoff of each move as a function of q.
    pub act: Line,
    pub ask: Line,
    pub hand_over: Line,
    /// E[πH | U ≥ 0], E[πH | U < 0]: the human's chance of allowing a good / a bad action.
    pub allow_good: f64,
    pub allow_bad: f64,
    /// E[U_eff | U ≥ 0], E[U_eff | U < 0].
    pub mean_good: f64,
    pub mean_bad: f64,
    #[serde(skip)]
    pub utility: Prior,
}

/// A class's payoff lines and the human's answer rates, for a utility prior.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Payoffs {
    pub p_good: f64,
    pub act: Line,
    pub ask: Line,
    pub hand_over: Line,
    pub allow_good: f64,
    pub allow_bad: f64,
    pub mean_good: f64,
    pub mean_bad: f64,
}

impl Payoffs {
    /// The class-level payoffs [act, ask, hand over] (confidence at its mean, P(good)).
    pub fn at_mean(&self) -> [f64; 3] {
        let q = self.p_good;
        [self.act.at(q), self.ask.at(q), self.hand_over.at(q)]
    }
}

/// What asking and handing over cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Costs {
    /// c: the cost of asking (human attention).
    pub ask: f64,
    /// h: the cost of handing over / stopping.
    pub handover: f64,
    /// d: the cost when the human, asked, says no (0: the action just does not happen; a support bot's
    /// declined offer, say, sends the customer to a human).
    pub decline: f64,
}

/// Quadrature break points of a payoff max(U, −undo) answered by `human`: 0, −undo and the human's own breaks.
fn payoff_breaks(human: &Human, undo: f64) -> Vec<f64> {
    let mut breaks = vec![0.0];
    if undo.is_finite() {
        breaks.push(-undo);
    }
    breaks.extend(human.breaks().into_iter().filter(|b| *b > -undo));
    breaks
}

/// The class-level payoffs [act, ask, hand over] alone (two expectations instead of the seven of
/// [`payoffs`]; used by scans and region maps).
pub fn class_values(utility: &Prior, human: &Human, undo: f64, costs: Costs) -> [f64; 3] {
    let eff = move |u: f64| if u < -undo { -undo } else { u };
    let breaks = payoff_breaks(human, undo);
    let act = utility.expect(&eff, &breaks, 0.0);
    let wait = utility.expect(
        &|u| {
            let p = human.p_allow(eff(u));
            p * eff(u) - (1.0 - p) * costs.decline
        },
        &breaks,
        0.0,
    );
    [act, wait - costs.ask, -costs.handover]
}

/// The expectations behind a class's payoffs: U from `utility`, payoff U_eff = max(U, −undo), the human
/// allowing with probability πH(U_eff).
pub fn payoffs(utility: &Prior, human: &Human, undo: f64, costs: Costs) -> Payoffs {
    let eff = move |u: f64| if u < -undo { -undo } else { u };
    let pi = |u: f64| human.p_allow(eff(u));
    let breaks = payoff_breaks(human, undo);
    let e = |f: &dyn Fn(f64) -> f64| utility.expect(f, &breaks, 0.0);
    let good = |u: f64| (u >= 0.0) as u8 as f64;
    let p_good = e(&good).clamp(0.0, 1.0);
    let p_bad = 1.0 - p_good;
    let cond = |num: f64, p: f64| if p > 0.0 { num / p } else { 0.0 };
    let mean_good = cond(e(&|u| good(u) * eff(u)), p_good);
    let mean_bad = cond(e(&|u| (1.0 - good(u)) * eff(u)), p_bad);
    let wait_good = cond(e(&|u| good(u) * pi(u) * eff(u)), p_good);
    let wait_bad = cond(e(&|u| (1.0 - good(u)) * pi(u) * eff(u)), p_bad);
    let allow_good = cond(e(&|u| good(u) * pi(u)), p_good);
    let allow_bad = cond(e(&|u| (1.0 - good(u)) * pi(u)), p_bad);
    let d = costs.decline;
    Payoffs {
        p_good,
        act: Line::between(mean_bad, mean_good),
        ask: Line::between(
            wait_bad - (1.0 - allow_bad) * d - costs.ask,
            wait_good - (1.0 - allow_good) * d - costs.ask,
        ),
        hand_over: Line {
            a: -costs.handover,
            b: 0.0,
        },
        allow_good,
        allow_bad,
        mean_good,
        mean_bad,
    }
}

impl ClassModel {
    /// The model of class `c` of scenario `s`, with `undo` overriding the class's undo cost (for counterfactuals)
    /// and `utility` overriding its utility prior.
    pub fn new(s: &Scenario, c: &ActionClass, utility: Prior, undo: f64) -> Result<ClassModel> {
        let Payoffs {
            p_good,
            act,
            ask,
            hand_over,
            allow_good,
            allow_bad,
            mean_good,
            mean_bad,
        } = payoffs(&utility, &s.human, undo, s.costs());
        let q = q_dist(p_good, s.discrimination)?;
        Ok(ClassModel {
            name: c.name.clone(),
            share: c.share,
            reversible: undo.is_finite(),
            undo_cost: undo.is_finite().then_some(undo),
            task_minutes: c.task_minutes,
            p_good,
            p_capability: match (c.task_minutes, s.capability) {
                (Some(t), Some(cap)) => Some(cap.p_success(t)),
                _ => None,
            },
            q,
            act,
            ask,
            hand_over,
            allow_good,
            allow_bad,
            mean_good,
            mean_bad,
            utility,
        })
    }

    /// The class as the scenario describes it.
    pub fn of(s: &Scenario, c: &ActionClass) -> Result<ClassModel> {
        Self::new(s, c, s.utility_prior(c)?, c.undo_cost)
    }

    pub fn line(&self, m: Move) -> Line {
        match m {
            Move::Act => self.act,
            Move::Ask => self.ask,
            Move::HandOver => self.hand_over,
        }
    }

    /// The payoffs of the three moves at confidence q.
    pub fn values_at(&self, q: f64) -> [(Move, f64); 3] {
        Move::ALL.map(|m| (m, self.line(m).at(q)))
    }

    /// The best move at confidence q; ties (within `TIE_RTOL` × the payoff scale) go to ask, then hand over,
    /// then act, as in the off-switch engine. Returns the move and the moves tied with it.
    pub fn best_at(&self, q: f64) -> (Move, Vec<Move>) {
        let v = self.values_at(q);
        let best = v.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
        let tol = TIE_RTOL * self.scale();
        let tied: Vec<Move> = v
            .iter()
            .filter(|(_, x)| best - x <= tol)
            .map(|(m, _)| *m)
            .collect();
        (tied[0], tied)
    }

    /// The scale of the payoffs (for tie tolerances).
    pub fn scale(&self) -> f64 {
        [
            self.act.a,
            self.act.a + self.act.b,
            self.ask.a,
            self.ask.a + self.ask.b,
            self.hand_over.a,
        ]
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()))
        .max(1e-300)
    }

    /// The value-of-deferring policy for this class: the best move on each interval of q.
    pub fn envelope(&self) -> Partition {
        let lines: Vec<(Move, Line)> = Move::ALL.iter().map(|&m| (m, self.line(m))).collect();
        let mut cuts = vec![0.0, 1.0];
        for i in 0..3 {
            for j in i + 1..3 {
                let (l1, l2) = (lines[i].1, lines[j].1);
                let db = l1.b - l2.b;
                if db != 0.0 {
                    let t = (l2.a - l1.a) / db;
                    if t > 0.0 && t < 1.0 {
                        cuts.push(t);
                    }
                }
            }
        }
        cuts.sort_by(f64::total_cmp);
        cuts.dedup();
        let mut parts: Vec<(f64, f64, Move)> = Vec::new();
        for w in cuts.windows(2) {
            let mid = 0.5 * (w[0] + w[1]);
            let m = self.best_at(mid).0;
            match parts.last_mut() {
                Some(last) if last.2 == m => last.1 = w[1],
                _ => parts.push((w[0], w[1], m)),
            }
        }
        Partition(parts)
    }
}

/// Relative tolerance for ties between moves (as in the off-switch engine).
pub const TIE_RTOL: f64 = 1e-9;

/// A policy for one class: [lo, hi) → move, covering [0, 1] (the last interval includes 1).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Partition(pub Vec<(f64, f64, Move)>);

impl Partition {
    pub fn constant(m: Move) -> Partition {
        Partition(vec![(0.0, 1.0, m)])
    }
    /// Ask below `t`, act from `t`.
    pub fn ask_below(t: f64) -> Partition {
        let t = t.clamp(0.0, 1.0);
        let mut v = Vec::new();
        if t > 0.0 {
            v.push((0.0, t, Move::Ask));
        }
        if t < 1.0 {
            v.push((t, 1.0, Move::Act));
        }
        if v.is_empty() {
            v.push((0.0, 1.0, Move::Ask));
        }
        Partition(v)
    }
    /// The move at q.
    pub fn at(&self, q: f64) -> Move {
        for &(lo, hi, m) in &self.0 {
            if q >= lo && (q < hi || hi >= 1.0) {
                return m;
            }
        }
        self.0.last().expect("non-empty").2
    }
}

/// Per-action rates of a policy (every figure is per action of the whole mix).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Metrics {
    /// Expected utility per action (asking and hand-over costs included).
    pub expected_utility: f64,
    pub act_rate: f64,
    pub ask_rate: f64,
    pub handover_rate: f64,
    /// Bad irreversible actions that go through (acted on, or allowed by the human when asked).
    pub harm_rate: f64,
    /// Bad irreversible actions stopped (by the human's answer or by handing over).
    pub harms_prevented_rate: f64,
    /// Bad reversible actions that go through (and are undone at their undo cost).
    pub undo_rate: f64,
    /// Good actions stopped (the human says no, or the agent hands over).
    pub good_blocked_rate: f64,
    /// Actions that go through with no human decision against them and no hand-over (acted on, or asked and
    /// allowed): for a support bot, conversations resolved without a human.
    pub resolved_by_agent_rate: f64,
}

impl Metrics {
    fn add(&mut self, o: &Metrics, w: f64) {
        self.expected_utility += w * o.expected_utility;
        self.act_rate += w * o.act_rate;
        self.ask_rate += w * o.ask_rate;
        self.handover_rate += w * o.handover_rate;
        self.harm_rate += w * o.harm_rate;
        self.harms_prevented_rate += w * o.harms_prevented_rate;
        self.undo_rate += w * o.undo_rate;
        self.good_blocked_rate += w * o.good_blocked_rate;
        self.resolved_by_agent_rate += w * o.resolved_by_agent_rate;
    }
    /// Asks per irreversible harm prevented (`None` if none is prevented).
    pub fn asks_per_harm_prevented(&self) -> Option<f64> {
        (self.harms_prevented_rate > 0.0).then(|| self.ask_rate / self.harms_prevented_rate)
    }
}

/// The exact per-action metrics of a class under a partition of q.
pub fn class_metrics(c: &ClassModel, p: &Partition) -> Metrics {
    let mut out = Metrics::default();
    for &(lo, hi, m) in &p.0 {
        let (prob, eq) = match c.q {
            QDist::Point { q } => {
                if p.at(q) == m && q >= lo && (q < hi || hi >= 1.0) {
                    (1.0, q)
                } else {
                    (0.0, 0.0)
                }
            }
            _ => (
                c.q.cdf(hi) - c.q.cdf(lo),
                c.q.partial_mean(hi) - c.q.partial_mean(lo),
            ),
        };
        if prob <= 0.0 {
            continue;
        }
        let ebad = prob - eq; // E[(1 − q)·1{q ∈ I}]
        let l = c.line(m);
        let mut x = Metrics {
            expected_utility: l.a * prob + l.b * eq,
            ..Default::default()
        };
        let (through_bad, stopped_bad, blocked_good) = match m {
            Move::Act => {
                x.act_rate = prob;
                x.resolved_by_agent_rate = prob;
                (ebad, 0.0, 0.0)
            }
            Move::Ask => {
                x.ask_rate = prob;
                x.resolved_by_agent_rate = eq * c.allow_good + ebad * c.allow_bad;
                (
                    ebad * c.allow_bad,
                    ebad * (1.0 - c.allow_bad),
                    eq * (1.0 - c.allow_good),
                )
            }
            Move::HandOver => {
                x.handover_rate = prob;
                (0.0, ebad, eq)
            }
        };
        if c.reversible {
            x.undo_rate = through_bad;
        } else {
            x.harm_rate = through_bad;
            x.harms_prevented_rate = stopped_bad;
        }
        x.good_blocked_rate = blocked_good;
        out.add(&x, 1.0);
    }
    out
}

/// The rival policies `cirl calibrate` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Act on everything.
    NeverAsk,
    /// Ask before every action.
    ApproveAll,
    /// Ask when reported confidence < τ.
    ConfidenceThreshold,
    /// Ask before irreversible actions only.
    IrreversibilityGate,
    /// Ask when the task is longer than the gate.
    TaskLengthGate,
    /// The best move per class, ignoring confidence (what static allow/ask/deny rules can express).
    ValueOfDeferringStatic,
    /// The best move per action, given the class and the (recalibrated) confidence.
    ValueOfDeferring,
}

impl Policy {
    pub const ALL: [Policy; 7] = [
        Policy::NeverAsk,
        Policy::ApproveAll,
        Policy::ConfidenceThreshold,
        Policy::IrreversibilityGate,
        Policy::TaskLengthGate,
        Policy::ValueOfDeferringStatic,
        Policy::ValueOfDeferring,
    ];
    pub fn name(&self) -> &'static str {
        match self {
            Policy::NeverAsk => "never-ask",
            Policy::ApproveAll => "approve-all",
            Policy::ConfidenceThreshold => "confidence-threshold",
            Policy::IrreversibilityGate => "irreversibility-gate",
            Policy::TaskLengthGate => "task-length-gate",
            Policy::ValueOfDeferringStatic => "value-of-deferring-static",
            Policy::ValueOfDeferring => "value-of-deferring",
        }
    }
}

/// A scenario turned into its class models and the agent's confidence shift.
#[derive(Debug, Clone)]
pub struct Model {
    pub classes: Vec<ClassModel>,
    /// The logit shift of reported confidence (0 when calibrated).
    pub shift: f64,
    pub confidence_threshold: f64,
    pub task_gate: Option<f64>,
}

impl Model {
    pub fn new(s: &Scenario) -> Result<Model> {
        let classes: Vec<ClassModel> = s
            .classes
            .iter()
            .map(|c| ClassModel::of(s, c))
            .collect::<Result<_>>()?;
        let shift = match s.confidence {
            Confidence::Calibrated => 0.0,
            Confidence::Overconfident { ece } => overconfidence_shift(&classes, ece)?,
        };
        Ok(Model {
            classes,
            shift,
            confidence_threshold: s.confidence_threshold,
            task_gate: s.task_length_gate_minutes,
        })
    }

    /// Class k's partition under a policy.
    pub fn partition(&self, k: usize, p: Policy) -> Partition {
        let c = &self.classes[k];
        match p {
            Policy::NeverAsk => Partition::constant(Move::Act),
            Policy::ApproveAll => Partition::constant(Move::Ask),
            Policy::ConfidenceThreshold => {
                Partition::ask_below(calibrated(self.confidence_threshold, self.shift))
            }
            Policy::IrreversibilityGate => {
                Partition::constant(if c.reversible { Move::Act } else { Move::Ask })
            }
            Policy::TaskLengthGate => Partition::constant(match (c.task_minutes, self.task_gate) {
                (Some(t), Some(g)) if t > g => Move::Ask,
                _ => Move::Act,
            }),
            Policy::ValueOfDeferringStatic => Partition::constant(c.best_at(c.q.mean()).0),
            Policy::ValueOfDeferring => c.envelope(),
        }
    }

    /// The exact metrics of a policy over the whole mix of actions.
    pub fn metrics(&self, p: Policy) -> Metrics {
        let mut out = Metrics::default();
        for (k, c) in self.classes.iter().enumerate() {
            out.add(&class_metrics(c, &self.partition(k, p)), c.share);
        }
        out
    }
}

/// The logit shift s ≥ 0 that makes Σ_k share_k·E_k[σ(logit q + s) − q] equal `ece`.
fn overconfidence_shift(classes: &[ClassModel], ece: f64) -> Result<f64> {
    let gap = |s: f64| -> f64 {
        classes
            .iter()
            .map(|c| c.share * (c.q.expect(&|q| reported(q, s)) - c.q.mean()))
            .sum::<f64>()
    };
    let max_gap: f64 = classes.iter().map(|c| c.share * (1.0 - c.q.mean())).sum();
    if ece >= max_gap {
        return Err(Error::invalid(
            "agent.ece",
            format!(
                "an ECE of {ece} is impossible: the agent is right on all but {max_gap:.4} of its actions, so reported confidence can be off by less than that on average"
            ),
        ));
    }
    brent(|s| gap(s) - ece, 0.0, 60.0, 1e-12)
        .ok_or_else(|| Error::invalid("agent.ece", format!("no confidence shift gives ECE {ece}")))
}
