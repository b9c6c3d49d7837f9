//! What `cirl offswitch` reports about one game: its values and decision, Theorem 2's terms for a normal belief,
//! the p-rational analysis (Wängberg et al. 2017) for a p-rational human, and an optional Monte Carlo check.
//! The CLI prints it as text or serializes it as `--json`.
//!
//! ```
//! use cirl::belief::Prior;
//! use cirl::human::Human;
//! use cirl::offswitch::{Move, report::Report};
//!
//! let prior = Prior::parse("normal:0,1").unwrap();
//! let human = Human::parse("rational").unwrap();
//! let values = cirl::offswitch::values(&prior, &human, 0.0).unwrap();
//! let r = Report::new(&prior, &human, values, Some(20_000), 1).unwrap();
//! assert_eq!(r.decision, Move::Wait);
//! let mc = r.monte_carlo.unwrap();
//! assert!(mc.v_wait.ci_low <= r.v_wait && r.v_wait <= mc.v_wait.ci_high);
//! ```

use serde::Serialize;

use super::{McValues, Move, Values, prational};
use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};

/// One off-switch game's report (`cirl offswitch`).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The robot's belief about the action's utility.
    pub prior: String,
    /// The human's response model.
    pub human: String,
    /// The cost of asking.
    pub cost: f64,
    /// Value of acting without asking.
    pub v_act: f64,
    /// Value of announcing and letting the human decide.
    pub v_wait: f64,
    /// Value of switching off.
    pub v_off: f64,
    /// Δ = v_wait − max(v_act, v_off): the incentive to defer.
    pub delta: f64,
    /// The best move.
    pub decision: Move,
    /// Whether moves tie within `tie_tol`.
    pub tie: bool,
    /// The tied moves.
    pub tied: Vec<Move>,
    /// Tolerance of the tie.
    pub tie_tol: f64,
    /// Probability the human allows the action.
    pub p_allow: f64,
    /// How the values were computed.
    pub method: &'static str,
    /// Theorem 2's terms (a normal belief).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub theorem2: Option<Theorem2Terms>,
    /// The p-rational analysis (a p-rational human).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub prational: Option<PRationalTerms>,
    /// The Monte Carlo check (`--mc N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monte_carlo: Option<McValues>,
}

/// Theorem 2 (Hadfield-Menell et al. 2017) for a normal belief: Δ = σ²·E\[π̇H\] − |μ|·Pr(C) − c.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Theorem2Terms {
    /// E\[πH\].
    pub e_pi: f64,
    /// E\[π̇H\]; none where the belief is a point mass at a jump of πH.
    pub e_pi_dot: Option<f64>,
    /// Pr(C): the probability that the human overrides the robot's prior choice.
    pub pr_correction: f64,
    /// Δ by the theorem's formula.
    #[serde(rename = "theorem2_delta")]
    pub delta: Option<f64>,
}

/// Theorem 9 (Wängberg et al. 2017) for a p-rational human.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct PRationalTerms {
    /// Waiting is optimal iff p ≥ p* (none: U = 0 surely and every move ties; above 1: never optimal).
    pub p_star: Option<f64>,
    /// The threshold against acting.
    pub p_star_vs_act: Option<f64>,
    /// The threshold against switching off.
    pub p_star_vs_off: Option<f64>,
    /// The theorem's terms.
    pub theorem9: Theorem9,
}

/// Theorem 9's terms: P(U ≥ 0), P(U < 0), the conditional means of each sign and the expected utilities of acting
/// and waiting.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Theorem9 {
    /// P(U ≥ 0).
    pub p_plus: f64,
    /// P(U < 0).
    pub p_minus: f64,
    /// E\[U | U ≥ 0\].
    pub e_plus: f64,
    /// E\[U | U < 0\].
    pub e_minus: f64,
    /// E\[U\] of acting.
    pub e_u_act: f64,
    /// E\[U\] of waiting at the human's p.
    pub e_u_wait: f64,
}

impl Report {
    /// The report of one game from its [`super::values`]; `mc` sampled games (seeded by `seed`, any thread
    /// count) check them.
    pub fn new(
        prior: &Prior,
        human: &Human,
        v: Values,
        mc: Option<u64>,
        seed: u64,
    ) -> Result<Report> {
        let cost = v.cost;
        let monte_carlo = match mc {
            Some(0) => {
                return Err(Error::invalid(
                    "--mc",
                    "the number of sampled games must be at least 1",
                ));
            }
            Some(n) => {
                crate::limits::check_count(
                    "--mc",
                    n,
                    crate::limits::MAX_OFFSWITCH_MC,
                    "sampled games",
                    crate::limits::SPLIT_BY_SEEDS,
                )?;
                Some(super::monte_carlo_par(prior, human, cost, n, seed))
            }
            None => None,
        };
        let prational = match *human {
            Human::PRational { p } => {
                let a = prational::analyse(prior, cost);
                Some(PRationalTerms {
                    p_star: a.p_star,
                    p_star_vs_act: a.p_star_vs_act,
                    p_star_vs_off: a.p_star_vs_off,
                    theorem9: Theorem9 {
                        p_plus: a.p_plus,
                        p_minus: a.p_minus,
                        e_plus: a.e_plus,
                        e_minus: a.e_minus,
                        e_u_act: a.e_u_act(),
                        e_u_wait: a.e_u_wait(p),
                    },
                })
            }
            _ => None,
        };
        Ok(Report {
            prior: prior.label(),
            human: ResponseModel::label(human),
            cost,
            v_act: v.v_act,
            v_wait: v.v_wait,
            v_off: v.v_off,
            delta: v.delta,
            decision: v.decision,
            tie: v.tie,
            tied: v.tied,
            tie_tol: v.tie_tol,
            p_allow: v.p_allow,
            method: v.method,
            theorem2: v.theorem2.map(|t| Theorem2Terms {
                e_pi: t.e_pi,
                e_pi_dot: t.e_pi_dot,
                pr_correction: t.pr_correction,
                delta: t.delta,
            }),
            prational,
            monte_carlo,
        })
    }
}
