//! The escalation model: per action, the off-switch game with the agent's per-action confidence and four moves.
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
//! **Moves.** Given q, each move's expected payoff is linear in q:
//! - act (allow): q·E[U_eff | U ≥ 0] + (1 − q)·E[U_eff | U < 0];
//! - ask (offer the human a choice; the off-switch game's w(a)): q·E[πH·U_eff | U ≥ 0] + (1 − q)·E[πH·U_eff |
//!   U < 0] − c − d·P(no), the reviewer allowing with probability πH(U_eff) and a refusal costing d;
//! - block (don't do it and tell the agent why; the off-switch game's s): −b, the value of the action forgone
//!   (b = 0 by default: v_off = 0; regret counts the forgone U);
//! - hand over (a human takes the task): the human does it when it is worth doing, at cost h:
//!   q·E[U | U ≥ 0] − h.
//!
//! **Reviewer.** Any [`Human`]; reviewers given by their two error rates (approval on good actions, catch rate on
//! bad ones) and the other sign-only humans are evaluated in closed form. Optional **fatigue**: the catch rate
//! falls as the ask rate rises, logit catch(a) = logit catch₀ + ln(OR)·max(0, a·N − 1) for an ask rate a over a
//! session of N actions — the odds of heeding a prompt multiplied by OR for every further prompt in the session,
//! the form of Ancker et al. (2017), who measured OR ≈ 0.7 per additional reminder per encounter.
//!
//! So every policy that routes on (class, reported confidence, task length) is a partition of q ∈ [0, 1] per
//! class, and its expected utility, ask rate, harm rates … are sums of linear functions over intervals of a
//! Beta distribution — exact, by the regularized incomplete beta function. The value-of-deferring policy takes
//! the best move at every q (the upper envelope of four lines), so no policy that sees the same information
//! does better (without fatigue; with it, [`super::optimize`] searches the ask rate).

use crate::numerics::brief;
use serde::Serialize;
use statrs::function::beta::{beta_reg, ln_beta};

use super::scenario::{ActionClass, Confidence, Discrimination, Scenario};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::numerics::{brent, integrate, logistic};

/// One of the four moves of a deployed agent.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, PartialOrd, Ord,
)]
#[serde(rename_all = "kebab-case")]
pub enum Move {
    /// Offer the human a choice (the off-switch game's w(a); agent tools: ask).
    Ask,
    /// Don't do it, and tell the agent why (the off-switch game's s: worth 0; agent tools: a scoped deny).
    Block,
    /// A human takes the task (worth the task's value when it is worth doing, minus h).
    HandOver,
    /// Act (the off-switch game's a; agent tools: allow).
    Act,
}

impl Move {
    /// Every move, in the order ties are broken (ask, block, hand over, act: the off-switch engine's wait,
    /// off, act).
    pub const ALL: [Move; 4] = [Move::Ask, Move::Block, Move::HandOver, Move::Act];
    /// The one spelling of the move (card, console, exports, `--json`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Move::Act => "act",
            Move::Ask => "ask",
            Move::Block => "block",
            Move::HandOver => "hand-over",
        }
    }
    /// The permission vocabulary of agent tools (block and hand over are both a deny there; the reason
    /// tells them apart).
    pub fn permission(&self) -> &'static str {
        match self {
            Move::Act => "allow",
            Move::Ask => "ask",
            Move::Block | Move::HandOver => "deny",
        }
    }
    /// How strict the move is where several classes match one call: the strictest wins (as deny → ask →
    /// allow in Claude Code, priorities in Gemini CLI, forbidden > prompt > allow in Codex).
    pub fn strictness(&self) -> u8 {
        match self {
            Move::Act => 0,
            Move::Ask => 1,
            Move::HandOver => 2,
            Move::Block => 3,
        }
    }
    /// The move spelled `s` (as [`Move::as_str`] writes it); none for anything else.
    pub fn parse(s: &str) -> Option<Move> {
        Move::ALL.into_iter().find(|m| m.as_str() == s)
    }
    fn index(&self) -> usize {
        match self {
            Move::Ask => 0,
            Move::Block => 1,
            Move::HandOver => 2,
            Move::Act => 3,
        }
    }
}

/// a + b·q.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, serde::Deserialize)]
pub struct Line {
    /// The value at q = 0.
    pub a: f64,
    /// The slope in q.
    pub b: f64,
}

impl Line {
    /// The value at q.
    pub fn at(&self, q: f64) -> f64 {
        self.a + self.b * q
    }
    /// a + b·q from the values at q = 0 and q = 1.
    pub fn between(at0: f64, at1: f64) -> Line {
        Line {
            a: at0,
            b: at1 - at0,
        }
    }
    fn plus(self, o: Line, w: f64) -> Line {
        Line {
            a: self.a + w * o.a,
            b: self.b + w * o.b,
        }
    }
}

/// The distribution of calibrated confidence q within a class.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum QDist {
    /// Every action at one confidence.
    Point {
        /// The confidence.
        q: f64,
    },
    /// q ~ Beta(a, b).
    Beta {
        /// The first shape parameter.
        a: f64,
        /// The second shape parameter.
        b: f64,
    },
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
    /// The mean confidence E\[q\].
    pub fn mean(&self) -> f64 {
        self.partial_mean(1.0)
    }
    /// P(q ∈ I) and E[q·1{q ∈ I}] for the interval [lo, hi) (hi = 1 includes 1).
    pub fn mass(&self, lo: f64, hi: f64) -> (f64, f64) {
        match *self {
            QDist::Point { q } => {
                if q >= lo && (q < hi || hi >= 1.0) {
                    (1.0, q)
                } else {
                    (0.0, 0.0)
                }
            }
            _ => (
                self.cdf(hi) - self.cdf(lo),
                self.partial_mean(hi) - self.partial_mean(lo),
            ),
        }
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

/// A class's own calibration map: from the agent's reported confidence r to the probability q that its call is
/// good, given as knots (r_i, q_i) with r strictly and q weakly increasing, linear between them in logit r and
/// logit q and, beyond the outer knots, a constant logit shift (the outer knot's). One knot is a logit shift of the
/// class alone. Where a class has one, it replaces the agent's logit shift for that class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Calibration {
    /// The knots as (reported, calibrated) confidences.
    pub knots: Vec<(f64, f64)>,
    /// The same in logits.
    #[serde(skip)]
    logits: Vec<(f64, f64)>,
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

impl Calibration {
    /// Checks the knots: at least one, each in (0, 1), reported strictly and calibrated weakly increasing.
    pub fn new(knots: Vec<(f64, f64)>) -> std::result::Result<Calibration, String> {
        if knots.is_empty() {
            return Err("give at least one [reported, calibrated] pair, e.g. [[0.9, 0.7]]".into());
        }
        for (i, &(r, q)) in knots.iter().enumerate() {
            if !(r > 0.0 && r < 1.0 && q > 0.0 && q < 1.0) {
                return Err(format!(
                    "pair {}: [{r}, {q}] must hold two probabilities strictly between 0 and 1",
                    i + 1
                ));
            }
            if i > 0 && (r <= knots[i - 1].0 || q < knots[i - 1].1) {
                return Err(format!(
                    "pair {}: the reported confidences must increase and the calibrated ones must not fall ([{}, {}] then [{r}, {q}])",
                    i + 1,
                    knots[i - 1].0,
                    knots[i - 1].1
                ));
            }
        }
        let logits = knots.iter().map(|&(r, q)| (logit(r), logit(q))).collect();
        Ok(Calibration { knots, logits })
    }

    /// The calibrated confidence of reported confidence `r`.
    pub fn calibrated(&self, r: f64) -> f64 {
        if r <= 0.0 || r >= 1.0 {
            return r;
        }
        logistic(Self::through(&self.logits, logit(r)))
    }

    /// The reported confidence of calibrated confidence `q` (the least such, where the map is flat).
    pub fn reported(&self, q: f64) -> f64 {
        if q <= 0.0 || q >= 1.0 {
            return q;
        }
        let flipped: Vec<(f64, f64)> = self.logits.iter().map(|&(x, y)| (y, x)).collect();
        logistic(Self::through(&flipped, logit(q)))
    }

    /// The piecewise-linear map of x through `knots` (x weakly increasing; slope 1 beyond the ends), taking the
    /// first segment that holds x.
    fn through(knots: &[(f64, f64)], x: f64) -> f64 {
        let (x0, y0) = knots[0];
        if x <= x0 {
            return y0 + (x - x0);
        }
        for w in knots.windows(2) {
            let ((xa, ya), (xb, yb)) = (w[0], w[1]);
            if x <= xb {
                if xb - xa <= 0.0 {
                    return ya;
                }
                return ya + (yb - ya) * (x - xa) / (xb - xa);
            }
        }
        let (xn, yn) = knots[knots.len() - 1];
        yn + (x - xn)
    }
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

/// Reviewer fatigue: the catch rate falls with the share of actions that ask.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Fatigue {
    /// OR: the factor on the odds of catching a bad action for every further prompt in a session (Ancker et al.
    /// 2017 measured ≈ 0.7 per additional reminder per encounter).
    pub odds_ratio_per_ask: f64,
    /// N: how many agent actions one reviewer oversees in a sitting.
    pub actions_per_session: f64,
}

impl Fatigue {
    /// The catch rate at ask rate `a`: logit catch = logit catch₀ + ln(OR)·max(0, a·N − 1).
    pub fn catch_rate(&self, catch0: f64, ask_rate: f64) -> f64 {
        self.shifted(catch0, ask_rate, 1.0)
    }

    /// The inverse: the catch rate before fatigue, catch₀, that gives `catch` at ask rate `a`.
    pub fn catch_before(&self, catch: f64, ask_rate: f64) -> f64 {
        self.shifted(catch, ask_rate, -1.0)
    }

    /// logit c + sign·ln(OR)·max(0, a·N − 1), back to a rate (0 and 1 stay).
    fn shifted(&self, c: f64, ask_rate: f64, sign: f64) -> f64 {
        let extra = (ask_rate * self.actions_per_session - 1.0).max(0.0);
        if c <= 0.0 || c >= 1.0 || extra == 0.0 {
            return c;
        }
        logistic((c / (1.0 - c)).ln() + sign * self.odds_ratio_per_ask.ln() * extra)
    }
}

/// Who answers when the agent asks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reviewer {
    /// Its response model (πH).
    pub human: Human,
    /// How its catch rate falls as it is asked more often (none: it does not tire).
    pub fatigue: Option<Fatigue>,
}

impl Reviewer {
    /// The reviewer as it answers when a share `ask_rate` of all actions ask.
    pub fn at(&self, ask_rate: f64) -> Human {
        match (self.fatigue, self.human) {
            (
                Some(f),
                Human::ErrorRates {
                    approve_good,
                    catch_bad,
                },
            ) => Human::ErrorRates {
                approve_good,
                catch_bad: f.catch_rate(catch_bad, ask_rate),
            },
            _ => self.human,
        }
    }
    /// The catch rate (P(reject | bad)) at an ask rate, for sign-only reviewers.
    pub fn catch_rate(&self, ask_rate: f64) -> Option<f64> {
        self.at(ask_rate).sign_rates().map(|(_, b)| 1.0 - b)
    }
}

/// What asking, blocking and handing over cost.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Costs {
    /// c: the cost of asking (human attention).
    pub ask: f64,
    /// h: the cost of a human taking the task over.
    pub handover: f64,
    /// d: the cost when the human, asked, says no (0: the action just does not happen; a support bot's
    /// declined offer, say, sends the customer to a human).
    pub decline: f64,
    /// b: the cost of not doing the action at all (0: the off-switch game's v_off).
    pub block: f64,
}

/// The moments of a class's payoff that the reviewer does not touch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stakes {
    /// P(U ≥ 0).
    pub p_good: f64,
    /// E[U | U ≥ 0] (= E[U_eff | U ≥ 0]).
    pub mean_good: f64,
    /// E[U_eff | U < 0].
    pub mean_bad: f64,
}

/// The reviewer's answers to a class's actions.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Answers {
    /// E[πH | U ≥ 0]: the human's chance of allowing a good action.
    pub allow_good: f64,
    /// E[πH | U < 0]: the human's chance of allowing a bad action.
    pub allow_bad: f64,
    /// E[πH·U_eff | U ≥ 0]: what asking yields of a good action.
    pub wait_good: f64,
    /// E[πH·U_eff | U < 0]: what asking yields of a bad action.
    pub wait_bad: f64,
}

/// The payoff U_eff = max(U, −undo).
fn effective(u: f64, undo: f64) -> f64 {
    if u < -undo { -undo } else { u }
}

/// Quadrature break points of a payoff max(U, −undo) answered by `human`: 0, −undo and the human's own breaks.
pub fn payoff_breaks(human: &Human, undo: f64) -> Vec<f64> {
    let mut breaks = vec![0.0];
    if undo.is_finite() {
        breaks.push(-undo);
    }
    breaks.extend(human.breaks().into_iter().filter(|b| *b > -undo));
    breaks
}

/// The unconditional moments behind a class's payoffs: P(good), E[U·1{good}], E[U_eff·1{bad}],
/// E[πH·1{good}], E[πH·1{bad}], E[πH·U·1{good}], E[πH·U_eff·1{bad}]. They are linear in a mixture's weights,
/// so a mixture's moments are the weighted sum of its components' (what the tail-weight axis uses).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct RawMoments(pub [f64; 7]);

impl RawMoments {
    /// The moments of a utility prior answered by `human`, with mistakes undone at cost `undo` (∞: irreversible).
    pub fn of(utility: &Prior, human: &Human, undo: f64) -> RawMoments {
        let st = stakes(utility, undo);
        let an = answers(utility, human, undo, &st);
        let (pg, pb) = (st.p_good, 1.0 - st.p_good);
        RawMoments([
            pg,
            pg * st.mean_good,
            pb * st.mean_bad,
            pg * an.allow_good,
            pb * an.allow_bad,
            pg * an.wait_good,
            pb * an.wait_bad,
        ])
    }
    /// The moments of a mixture: the weighted sum of its components' (weights w, moments m).
    pub fn mix(parts: &[(f64, RawMoments)]) -> RawMoments {
        let mut out = [0.0; 7];
        for (w, m) in parts {
            for (o, x) in out.iter_mut().zip(m.0) {
                *o += w * x;
            }
        }
        RawMoments(out)
    }
    /// The class-level payoffs these moments give.
    pub fn values(&self, costs: &Costs) -> Values {
        let [pg, ug, ub, ag, ab, wg, wb] = self.0;
        let pb = 1.0 - pg;
        let cond = |x: f64, p: f64| if p > 0.0 { x / p } else { 0.0 };
        let st = Stakes {
            p_good: pg,
            mean_good: cond(ug, pg),
            mean_bad: cond(ub, pb),
        };
        let an = Answers {
            allow_good: cond(ag, pg),
            allow_bad: cond(ab, pb),
            wait_good: cond(wg, pg),
            wait_bad: cond(wb, pb),
        };
        let l = Lines::new(&st, &an, costs);
        Values(Move::ALL.map(|m| l.get(m).at(pg)))
    }
}

/// The sign-conditional moments of U_eff under `utility`.
pub fn stakes(utility: &Prior, undo: f64) -> Stakes {
    let breaks: Vec<f64> = if undo.is_finite() {
        vec![0.0, -undo]
    } else {
        vec![0.0]
    };
    let e = |f: &dyn Fn(f64) -> f64| utility.expect(f, &breaks, 0.0);
    let good = |u: f64| (u >= 0.0) as u8 as f64;
    let p_good = e(&good).clamp(0.0, 1.0);
    let cond = |num: f64, p: f64| if p > 0.0 { num / p } else { 0.0 };
    Stakes {
        p_good,
        mean_good: cond(e(&|u| good(u) * u), p_good),
        mean_bad: cond(e(&|u| (1.0 - good(u)) * effective(u, undo)), 1.0 - p_good),
    }
}

/// The reviewer's answers: closed form for sign-only humans, quadrature otherwise.
pub fn answers(utility: &Prior, human: &Human, undo: f64, st: &Stakes) -> Answers {
    if let Some((g, b)) = human.sign_rates() {
        return Answers {
            allow_good: g,
            allow_bad: b,
            wait_good: g * st.mean_good,
            wait_bad: b * st.mean_bad,
        };
    }
    let breaks = payoff_breaks(human, undo);
    let e = |f: &dyn Fn(f64) -> f64| utility.expect(f, &breaks, 0.0);
    let good = |u: f64| (u >= 0.0) as u8 as f64;
    let pi = |u: f64| human.p_allow(effective(u, undo));
    let cond = |num: f64, p: f64| if p > 0.0 { num / p } else { 0.0 };
    let (pg, pb) = (st.p_good, 1.0 - st.p_good);
    Answers {
        allow_good: cond(e(&|u| good(u) * pi(u)), pg),
        allow_bad: cond(e(&|u| (1.0 - good(u)) * pi(u)), pb),
        wait_good: cond(e(&|u| good(u) * pi(u) * effective(u, undo)), pg),
        wait_bad: cond(e(&|u| (1.0 - good(u)) * pi(u) * effective(u, undo)), pb),
    }
}

/// Each move's payoff line in q.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Lines {
    /// Acting: E[U_eff | bad] + (E[U | good] − E[U_eff | bad])·q.
    pub act: Line,
    /// Asking: the human's answer, minus its refusals' cost d and the ask's cost c.
    pub ask: Line,
    /// Blocking: −b, whatever q.
    pub block: Line,
    /// Handing over: −h + E[U | good]·q (the human does the task when it is worth doing).
    pub hand_over: Line,
}

impl Lines {
    /// The lines of a class's stakes, the reviewer's answers and the costs.
    pub fn new(st: &Stakes, ans: &Answers, costs: &Costs) -> Lines {
        let d = costs.decline;
        Lines {
            act: Line::between(st.mean_bad, st.mean_good),
            ask: Line::between(
                ans.wait_bad - (1.0 - ans.allow_bad) * d - costs.ask,
                ans.wait_good - (1.0 - ans.allow_good) * d - costs.ask,
            ),
            block: Line {
                a: -costs.block,
                b: 0.0,
            },
            hand_over: Line {
                a: -costs.handover,
                b: st.mean_good,
            },
        }
    }
    /// The line of move `m`.
    pub fn get(&self, m: Move) -> Line {
        match m {
            Move::Act => self.act,
            Move::Ask => self.ask,
            Move::Block => self.block,
            Move::HandOver => self.hand_over,
        }
    }
}

/// The class-level payoffs of the moves, in [`Move::ALL`] order … as a map: value of `m` at P(good).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Values(pub [f64; 4]);

impl Values {
    /// The value of move `m`.
    pub fn get(&self, m: Move) -> f64 {
        self.0[m.index()]
    }
    /// The best move with the engine's tie rule (relative tolerance [`TIE_RTOL`] of the values compared),
    /// and every move tied with it.
    pub fn best(&self) -> (Move, Vec<Move>) {
        best_of(Move::ALL.map(|m| (m, self.get(m))))
    }
}

/// Whether `x` is within the tie tolerance of `best` (relative to the larger magnitude of the two).
pub fn ties(best: f64, x: f64) -> bool {
    best - x <= TIE_RTOL * best.abs().max(x.abs()) + f64::MIN_POSITIVE
}

fn best_of(v: [(Move, f64); 4]) -> (Move, Vec<Move>) {
    let best = v.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let tied: Vec<Move> = v
        .iter()
        .filter(|(_, x)| ties(best, *x))
        .map(|(m, _)| *m)
        .collect();
    (tied[0], tied)
}

/// The class-level payoffs of the four moves for a utility prior (confidence at its mean, P(good)).
pub fn class_values(utility: &Prior, human: &Human, undo: f64, costs: &Costs) -> Values {
    let st = stakes(utility, undo);
    let ans = answers(utility, human, undo, &st);
    let l = Lines::new(&st, &ans, costs);
    Values(Move::ALL.map(|m| l.get(m).at(st.p_good)))
}

/// Everything the model needs of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassModel {
    /// The class's name.
    pub name: String,
    /// Its share of the agent's actions.
    pub share: f64,
    /// Whether its mistakes can be undone.
    pub reversible: bool,
    /// The cost of undoing a mistake (reversible classes).
    pub undo_cost: Option<f64>,
    /// The task length in minutes (when the scenario has a capability curve).
    pub task_minutes: Option<f64>,
    /// P(U ≥ 0): the class's mean calibrated confidence.
    pub p_good: f64,
    /// P(success) of the capability curve at the class's task length.
    pub p_capability: Option<f64>,
    /// How calibrated confidence is spread within the class.
    pub q: QDist,
    /// The moments of the payoff the reviewer does not touch.
    pub stakes: Stakes,
    /// The reviewer's answers to the class's actions.
    pub answers: Answers,
    /// What asking, blocking and handing over cost for the class.
    pub costs: Costs,
    /// Expected payoff of each move as a function of q.
    pub lines: Lines,
    /// The class's own calibration map (none: the agent's logit shift).
    pub calibration: Option<Calibration>,
    /// The utility prior (capability failures mixed in).
    #[serde(skip)]
    pub utility: Prior,
    /// Who answers the class's asks.
    #[serde(skip)]
    pub human: Human,
}

impl ClassModel {
    /// The model of class `c` of scenario `s`, with `utility` overriding its utility prior.
    pub fn new(s: &Scenario, c: &ActionClass, utility: Prior) -> Result<ClassModel> {
        let undo = c.undo_cost;
        let st = stakes(&utility, undo);
        let ans = answers(&utility, &s.reviewer.human, undo, &st);
        let costs = s.costs(c);
        Ok(ClassModel {
            name: c.name.clone(),
            share: c.share,
            reversible: undo.is_finite(),
            undo_cost: undo.is_finite().then_some(undo),
            task_minutes: c.task_minutes,
            p_good: st.p_good,
            p_capability: match (c.task_minutes, s.capability) {
                (Some(t), Some(cap)) => Some(cap.p_success(t)),
                _ => None,
            },
            q: q_dist(st.p_good, s.discrimination)?,
            lines: Lines::new(&st, &ans, &costs),
            stakes: st,
            answers: ans,
            costs,
            calibration: c.calibration.clone(),
            utility,
            human: s.reviewer.human,
        })
    }

    /// The class as the scenario describes it.
    pub fn of(s: &Scenario, c: &ActionClass) -> Result<ClassModel> {
        Self::new(s, c, s.utility_prior(c)?)
    }

    /// The same class answered by another human.
    pub fn with_human(&self, human: &Human) -> ClassModel {
        let undo = self.undo_cost.unwrap_or(f64::INFINITY);
        let ans = answers(&self.utility, human, undo, &self.stakes);
        ClassModel {
            answers: ans,
            lines: Lines::new(&self.stakes, &ans, &self.costs),
            human: *human,
            ..self.clone()
        }
    }

    /// The payoff line of move `m` in q.
    pub fn line(&self, m: Move) -> Line {
        self.lines.get(m)
    }

    /// The class-level payoffs (confidence at its mean).
    pub fn values(&self) -> Values {
        Values(Move::ALL.map(|m| self.line(m).at(self.p_good)))
    }

    /// The best move at confidence q (ties go to ask, block, hand over, act) and the moves tied with it.
    pub fn best_at(&self, q: f64) -> (Move, Vec<Move>) {
        best_of(Move::ALL.map(|m| (m, self.line(m).at(q))))
    }

    /// The scale of the payoffs (for tolerances of figures derived from them).
    pub fn scale(&self) -> f64 {
        Move::ALL
            .iter()
            .flat_map(|m| {
                let l = self.line(*m);
                [l.a, l.a + l.b]
            })
            .fold(0.0f64, |m, x| m.max(x.abs()))
            .max(1e-300)
    }

    /// The value-of-deferring policy for this class: the best move on each interval of q.
    pub fn envelope(&self) -> Partition {
        envelope(&Move::ALL.map(|m| (m, self.line(m))))
    }

    /// The per-q harm line of a move (irreversible bad actions that go through), and the harm's expected
    /// severity line (loss from them).
    pub fn harm_lines(&self, m: Move) -> (Line, Line) {
        if self.reversible {
            return (Line::default(), Line::default());
        }
        let (through, loss) = match m {
            Move::Act => (1.0, -self.stakes.mean_bad),
            Move::Ask => (self.answers.allow_bad, -self.answers.wait_bad),
            Move::Block | Move::HandOver => (0.0, 0.0),
        };
        (Line::between(through, 0.0), Line::between(loss, 0.0))
    }
}

/// The upper envelope of lines over q ∈ [0, 1] with the tie rule of [`Move::ALL`].
pub fn envelope(lines: &[(Move, Line); 4]) -> Partition {
    let mut cuts = vec![0.0, 1.0];
    for i in 0..4 {
        for j in i + 1..4 {
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
        let m = best_of(lines.map(|(m, l)| (m, l.at(mid)))).0;
        match parts.last_mut() {
            Some(last) if last.2 == m => last.1 = w[1],
            _ => parts.push((w[0], w[1], m)),
        }
    }
    Partition(parts)
}

/// Relative tolerance for ties between moves (as in the off-switch engine).
pub const TIE_RTOL: f64 = 1e-9;

/// A policy for one class: [lo, hi) → move, covering [0, 1] (the last interval includes 1).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Partition(pub Vec<(f64, f64, Move)>);

impl Partition {
    /// Move `m` for every confidence.
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
    /// The same cut points moved by a logit shift (a partition of calibrated confidence under one shift
    /// read as reported confidence and recalibrated under another: logit q' = logit q + from − to).
    pub fn reshifted(&self, from: f64, to: f64) -> Partition {
        self.mapped(|q| calibrated(reported(q, from), to))
    }
    /// The same cut points carried through `f`, an increasing map of [0, 1] onto itself.
    pub fn mapped(&self, f: impl Fn(f64) -> f64) -> Partition {
        Partition(
            self.0
                .iter()
                .map(|&(lo, hi, m)| (f(lo), f(hi), m))
                .collect(),
        )
    }
    /// Whether every q gets the same move.
    pub fn is_constant(&self) -> bool {
        self.0.iter().all(|x| x.2 == self.0[0].2)
    }
}

/// Per-action rates of a policy (every figure is per action of the whole mix, or of one class).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Metrics {
    /// Expected utility per action (asking, blocking and hand-over costs included).
    pub expected_utility: f64,
    /// Share of actions acted on.
    pub act_rate: f64,
    /// Share of actions asked.
    pub ask_rate: f64,
    /// Share of actions blocked.
    pub block_rate: f64,
    /// Share of actions handed over.
    pub handover_rate: f64,
    /// Bad irreversible actions that go through (acted on, or allowed by the human when asked).
    pub harm_rate: f64,
    /// The loss from them (severity-weighted: E[−U·1{bad irreversible action goes through}]).
    pub harm_loss: f64,
    /// Bad irreversible actions stopped (by the human's answer, a block or a hand-over).
    pub harms_prevented_rate: f64,
    /// Bad reversible actions that go through (and are undone at their undo cost).
    pub undo_rate: f64,
    /// Good actions not done (the human says no, or the agent blocks them).
    pub good_blocked_rate: f64,
    /// Asks answered "no".
    pub refusal_rate: f64,
    /// Actions that go through with no human decision against them and no hand-over (acted on, or asked and
    /// allowed): for a support bot, conversations resolved without a human.
    pub resolved_by_agent_rate: f64,
}

impl Metrics {
    /// Adds `w` times `o` (for a mix of classes weighted by their shares).
    pub fn add(&mut self, o: &Metrics, w: f64) {
        self.expected_utility += w * o.expected_utility;
        self.act_rate += w * o.act_rate;
        self.ask_rate += w * o.ask_rate;
        self.block_rate += w * o.block_rate;
        self.handover_rate += w * o.handover_rate;
        self.harm_rate += w * o.harm_rate;
        self.harm_loss += w * o.harm_loss;
        self.harms_prevented_rate += w * o.harms_prevented_rate;
        self.undo_rate += w * o.undo_rate;
        self.good_blocked_rate += w * o.good_blocked_rate;
        self.refusal_rate += w * o.refusal_rate;
        self.resolved_by_agent_rate += w * o.resolved_by_agent_rate;
    }
    /// Asks per irreversible harm prevented: `None` when asking prevents (practically) no harm — less than one
    /// harm per 10⁹ actions, or more than 10⁶ asks per harm prevented, where the ratio says nothing useful.
    pub fn asks_per_harm_prevented(&self) -> Option<f64> {
        let r = self.ask_rate / self.harms_prevented_rate;
        (self.ask_rate > 0.0 && self.harms_prevented_rate > 1e-9 && r <= 1e6).then_some(r)
    }
}

/// The exact per-action metrics of a class under a partition of q.
pub fn class_metrics(c: &ClassModel, p: &Partition) -> Metrics {
    let mut out = Metrics::default();
    for &(lo, hi, m) in &p.0 {
        let (prob, eq) = c.q.mass(lo, hi);
        if prob <= 0.0 {
            continue;
        }
        let ebad = prob - eq; // E[(1 − q)·1{q ∈ I}]
        let l = c.line(m);
        let a = &c.answers;
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
                x.resolved_by_agent_rate = eq * a.allow_good + ebad * a.allow_bad;
                x.refusal_rate = prob - x.resolved_by_agent_rate;
                (
                    ebad * a.allow_bad,
                    ebad * (1.0 - a.allow_bad),
                    eq * (1.0 - a.allow_good),
                )
            }
            Move::Block => {
                x.block_rate = prob;
                (0.0, ebad, eq)
            }
            Move::HandOver => {
                x.handover_rate = prob;
                (0.0, ebad, 0.0)
            }
        };
        if c.reversible {
            x.undo_rate = through_bad;
        } else {
            x.harm_rate = through_bad;
            x.harm_loss = c.harm_lines(m).1.at(0.0) * ebad;
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
    /// Every rival policy, in the card's order.
    pub const ALL: [Policy; 7] = [
        Policy::NeverAsk,
        Policy::ApproveAll,
        Policy::ConfidenceThreshold,
        Policy::IrreversibilityGate,
        Policy::TaskLengthGate,
        Policy::ValueOfDeferringStatic,
        Policy::ValueOfDeferring,
    ];
    /// The policy's name (as `--policy` and the card spell it).
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

/// A policy over the whole mix: one partition per class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan(pub Vec<Partition>);

impl Plan {
    /// Every class at one move.
    pub fn is_static(&self) -> bool {
        self.0.iter().all(Partition::is_constant)
    }
}

/// A scenario turned into its class models and the agent's confidence shift.
#[derive(Debug, Clone)]
pub struct Model {
    /// One model per class, in scenario order.
    pub classes: Vec<ClassModel>,
    /// The logit shift of reported confidence (0 when calibrated).
    pub shift: f64,
    /// τ of the confidence-threshold rival: ask when reported confidence < τ.
    pub confidence_threshold: f64,
    /// The task-length gate of its rival, in minutes (none without a capability curve).
    pub task_gate: Option<f64>,
    /// Who answers the asks.
    pub reviewer: Reviewer,
}

/// A plan's exact figures, with the reviewer as it answered (under fatigue, at the plan's own ask rate).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Evaluation {
    /// The per-action rates.
    pub metrics: Metrics,
    /// P(reject | bad action) of the reviewer at this plan's ask rate (sign-only reviewers).
    pub catch_rate: Option<f64>,
}

impl Model {
    /// The model of scenario `s` (checked; an error names what cannot be modelled).
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
            reviewer: s.reviewer,
        })
    }

    /// The model with the agent's confidence changed: its discrimination and (for `Some`) its ECE; the payoff
    /// lines stay as they are.
    pub fn with_confidence(&self, d: Option<Discrimination>, ece: f64) -> Result<Model> {
        let mut classes = self.classes.clone();
        if let Some(d) = d {
            for c in &mut classes {
                c.q = q_dist(c.p_good, d)?;
            }
        }
        let shift = if ece > 0.0 {
            overconfidence_shift(&classes, ece)?
        } else {
            0.0
        };
        Ok(Model {
            classes,
            shift,
            ..self.clone()
        })
    }

    /// The model with every class answered by `human`.
    pub fn with_human(&self, human: &Human) -> Model {
        Model {
            classes: self.classes.iter().map(|c| c.with_human(human)).collect(),
            ..self.clone()
        }
    }

    /// Class k's partition under a rival policy (the value-of-deferring ones for this model's reviewer as it
    /// answers without fatigue).
    pub fn partition(&self, k: usize, p: Policy) -> Partition {
        let c = &self.classes[k];
        match p {
            Policy::NeverAsk => Partition::constant(Move::Act),
            Policy::ApproveAll => Partition::constant(Move::Ask),
            Policy::ConfidenceThreshold => {
                Partition::ask_below(self.calibrated_in(k, self.confidence_threshold))
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

    /// The reported confidence of class k's calibrated confidence q: through the class's calibration map, or
    /// the agent's logit shift.
    pub fn reported_in(&self, k: usize, q: f64) -> f64 {
        match &self.classes[k].calibration {
            Some(c) => c.reported(q),
            None => reported(q, self.shift),
        }
    }

    /// The calibrated confidence of class k's reported confidence r (the inverse of [`Model::reported_in`]).
    pub fn calibrated_in(&self, k: usize, r: f64) -> f64 {
        match &self.classes[k].calibration {
            Some(c) => c.calibrated(r),
            None => calibrated(r, self.shift),
        }
    }

    /// A plan made in model `from` read in this one: each cut point, a calibrated confidence of `from`, taken to
    /// the confidence the agent reports there and recalibrated by this model.
    pub fn carried(&self, plan: &Plan, from: &Model) -> Plan {
        Plan(
            plan.0
                .iter()
                .enumerate()
                .map(|(k, p)| p.mapped(|q| self.calibrated_in(k, from.reported_in(k, q))))
                .collect(),
        )
    }

    /// A plan made in a model whose calibration is the logit shift `from` read in this one; a class with its own
    /// calibration map (the same in both: it does not depend on the agent's ECE) keeps its cut points.
    pub fn carried_from_shift(&self, plan: &Plan, from: f64) -> Plan {
        Plan(
            plan.0
                .iter()
                .enumerate()
                .map(|(k, p)| self.carried_part_from_shift(k, p, from))
                .collect(),
        )
    }

    /// Class k's partition of [`Model::carried_from_shift`].
    pub fn carried_part_from_shift(&self, k: usize, p: &Partition, from: f64) -> Partition {
        if self.classes[k].calibration.is_some() {
            p.clone()
        } else {
            p.reshifted(from, self.shift)
        }
    }

    /// A rival policy's plan.
    pub fn plan(&self, p: Policy) -> Plan {
        Plan(
            (0..self.classes.len())
                .map(|k| self.partition(k, p))
                .collect(),
        )
    }

    /// The share of all actions a plan asks about (it does not depend on the reviewer).
    pub fn ask_rate(&self, plan: &Plan) -> f64 {
        self.classes
            .iter()
            .zip(&plan.0)
            .map(|(c, p)| {
                c.share
                    * p.0
                        .iter()
                        .filter(|x| x.2 == Move::Ask)
                        .map(|&(lo, hi, _)| c.q.mass(lo, hi).0)
                        .sum::<f64>()
            })
            .sum()
    }

    /// The exact figures of a plan with this model's classes as they are (no fatigue adjustment).
    pub fn metrics_as_is(&self, plan: &Plan) -> Metrics {
        let mut out = Metrics::default();
        for (c, p) in self.classes.iter().zip(&plan.0) {
            out.add(&class_metrics(c, p), c.share);
        }
        out
    }

    /// The model as the reviewer answers a plan: under fatigue, at the plan's own ask rate.
    pub fn answering(&self, plan: &Plan) -> (Model, Option<f64>) {
        match self.reviewer.fatigue {
            Some(_) => {
                let a = self.ask_rate(plan);
                let h = self.reviewer.at(a);
                (self.with_human(&h), self.reviewer.catch_rate(a))
            }
            None => (self.clone(), self.reviewer.catch_rate(0.0)),
        }
    }

    /// The exact figures of a plan (under fatigue, with the reviewer at the plan's ask rate).
    pub fn evaluate(&self, plan: &Plan) -> Evaluation {
        let (m, catch_rate) = self.answering(plan);
        Evaluation {
            metrics: m.metrics_as_is(plan),
            catch_rate,
        }
    }

    /// The exact metrics of a rival policy over the whole mix of actions.
    pub fn metrics(&self, p: Policy) -> Metrics {
        self.evaluate(&self.plan(p)).metrics
    }
}

/// The expected calibration error Σ_k share_k·E_k[σ(logit q + s) − q] of the logit shift `s`.
pub fn ece_at_shift(classes: &[ClassModel], s: f64) -> f64 {
    classes
        .iter()
        .map(|c| c.share * (c.q.expect(&|q| reported(q, s)) - c.q.mean()))
        .sum()
}

/// The logit shift s ≥ 0 that makes Σ_k share_k·E_k[σ(logit q + s) − q] equal `ece`.
pub fn overconfidence_shift(classes: &[ClassModel], ece: f64) -> Result<f64> {
    let gap = |s: f64| ece_at_shift(classes, s);
    let max_gap: f64 = classes.iter().map(|c| c.share * (1.0 - c.q.mean())).sum();
    if ece >= max_gap {
        return Err(Error::invalid(
            "agent.ece",
            format!(
                "an ECE of {ece} is impossible: the agent is right on all but {max_gap:.4} of its actions, so reported confidence can be off by less than that on average"
            ),
        ));
    }
    // Confidence on an action that is surely bad (q = 0) or surely good (q = 1) cannot be shifted, so the
    // reachable ECE can fall short of the bound above: say which classes hold it back.
    let reach = gap(60.0);
    if ece >= reach {
        let stuck: Vec<String> = classes
            .iter()
            .enumerate()
            .filter(|(_, c)| {
                c.share > 0.0 && c.q.expect(&|q| reported(q, 60.0)) - c.q.mean() < 1e-3
            })
            .map(|(i, c)| format!("class[{i}] `{}` (P(good) {})", c.name, brief(c.p_good)))
            .collect();
        let why = if stuck.is_empty() {
            String::new()
        } else {
            format!(
                ": the confidence of {} cannot be shifted, its actions being surely bad or surely good — check its prior",
                stuck.join(", ")
            )
        };
        return Err(Error::invalid(
            "agent.ece",
            format!(
                "an ECE of {} is out of reach; no confidence shift makes it more than {}{why}",
                brief(ece),
                brief(reach)
            ),
        ));
    }
    brent(|s| gap(s) - ece, 0.0, 60.0, 1e-12).ok_or_else(|| {
        Error::invalid(
            "agent.ece",
            format!("no confidence shift gives ECE {}", brief(ece)),
        )
    })
}

/// Lines plus penalties: `line(m) − Σ w·penalty(m)` (the Lagrangian of a constrained problem).
pub fn penalized(base: &Lines, penalties: &[(f64, [Line; 4])]) -> [(Move, Line); 4] {
    Move::ALL.map(|m| {
        let mut l = base.get(m);
        for (w, pen) in penalties {
            l = l.plus(pen[m.index()], -w);
        }
        (m, l)
    })
}

/// A per-move table of lines, in [`Move::ALL`] order.
pub fn per_move(f: impl Fn(Move) -> Line) -> [Line; 4] {
    Move::ALL.map(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A class's calibration map: its inverse undoes it, it is increasing, a single knot is a logit shift, and a
    /// flat stretch maps back to its least reported confidence.
    #[test]
    fn a_calibration_map_and_its_inverse() {
        let one = Calibration::new(vec![(0.5, 0.3)]).unwrap();
        let s = (0.5f64 / 0.5).ln() - (0.3f64 / 0.7).ln();
        for r in [0.01, 0.2, 0.5, 0.9, 0.999] {
            assert!((one.calibrated(r) - calibrated(r, s)).abs() < 1e-12, "{r}");
            assert!((one.reported(one.calibrated(r)) - r).abs() < 1e-12, "{r}");
        }
        let m = Calibration::new(vec![(0.3, 0.2), (0.6, 0.5), (0.8, 0.5), (0.95, 0.9)]).unwrap();
        let mut last = 0.0;
        for i in 1..1000 {
            let r = i as f64 / 1000.0;
            let q = m.calibrated(r);
            assert!(q >= last - 1e-15, "not increasing at {r}");
            last = q;
            if !(0.6..=0.8).contains(&r) {
                assert!(
                    (m.reported(q) - r).abs() < 1e-9,
                    "{r}: {q} -> {}",
                    m.reported(q)
                );
            }
        }
        assert!((m.reported(0.5) - 0.6).abs() < 1e-12);
        assert_eq!((m.calibrated(0.0), m.calibrated(1.0)), (0.0, 1.0));
        assert_eq!((m.reported(0.0), m.reported(1.0)), (0.0, 1.0));
        assert!(Calibration::new(vec![]).is_err());
        assert!(Calibration::new(vec![(0.5, 0.5), (0.5, 0.6)]).is_err());
        assert!(Calibration::new(vec![(0.5, 0.5), (0.6, 0.4)]).is_err());
    }
}
