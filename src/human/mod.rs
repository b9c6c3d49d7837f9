//! Human response models: the probability πH(u) that the human lets the robot's action go ahead when its
//! utility is u.
//!
//! Any model that implements [`ResponseModel`] plugs into the off-switch engine's generic path (quadrature and
//! Monte Carlo); the built-in [`Human`] models also have closed forms there.
//!
//! ## References
//! - Hadfield-Menell, Dragan, Abbeel, Russell. *The Off-Switch Game*. IJCAI 2017 (Eq. 5, the noisy human).
//! - Wängberg, Böörs, Catt, Everitt, Hutter. *A Game-Theoretic Analysis of the Off-Switch Game*. AGI 2017
//!   (the p-rational human).
//! - Ancker et al. *Effects of workload, work complexity, and repeated alerts on alert fatigue in a clinical
//!   decision support system*. BMC Med. Inform. Decis. Mak. 17:36, 2017 (reviewers' error rates and fatigue,
//!   used by `cirl calibrate`).

use crate::error::{Error, Result};
use crate::numerics::{logistic, short};

/// What the off-switch engine needs of a human model.
pub trait ResponseModel: Send + Sync {
    /// Probability that the human allows an action of utility `u` (in [0, 1]).
    fn p_allow(&self, u: f64) -> f64;
    /// Points where `p_allow` jumps, has a kink, or changes fast (used as quadrature break points; a model whose
    /// response changes over a short width should give points at that width, or quadrature may step over it).
    fn breaks(&self) -> Vec<f64> {
        Vec::new()
    }
    /// A short label, e.g. `boltzmann:0.5`.
    fn label(&self) -> String;
    /// `Some(β)` if πH(u) is exactly the logistic 1/(1 + e^{−u/β}) with 0 < β < ∞ (enables the vectorized
    /// Monte Carlo loop).
    fn logistic_temperature(&self) -> Option<f64> {
        None
    }
}

/// The built-in human models.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Human {
    /// Allows iff U ≥ 0.
    Rational,
    /// πH(U) = 1/(1 + exp(−U/β)), β ≥ 0; β = 0 is rational, β → ∞ a coin flip.
    Boltzmann {
        /// The noise β (0: rational).
        beta: f64,
    },
    /// Takes the better of allow / switch-off with probability p (allows with p if U ≥ 0, with 1 − p if U < 0).
    PRational {
        /// The probability of the better choice.
        p: f64,
    },
    /// Allows with fixed probability p whatever U is.
    Chance {
        /// The probability of allowing.
        p: f64,
    },
    /// A reviewer given by its two error rates: approves a good action (U ≥ 0) with probability
    /// `approve_good` and rejects a bad one (U < 0) with probability `catch_bad` (p-rational:p is
    /// `approve_good = catch_bad = p`). Reviewers of real permission prompts approve most of what they see:
    /// Anthropic reports 93% of Claude Code's prompts approved.
    ErrorRates {
        /// P(approve | U ≥ 0).
        approve_good: f64,
        /// P(reject | U < 0).
        catch_bad: f64,
    },
}

impl Human {
    /// Boltzmann human with rationality β ≥ 0 (β = 0 is the rational human; +∞ is allowed, a coin flip).
    pub fn boltzmann(beta: f64) -> Result<Self> {
        if beta.is_nan() || beta < 0.0 {
            return Err(Error::invalid(
                "human.beta",
                format!("must be >= 0 (0 = rational), got {beta}"),
            ));
        }
        Ok(Human::Boltzmann { beta })
    }

    /// p-rational human, p ∈ [0, 1].
    pub fn p_rational(p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                "human.p",
                format!("must be in [0, 1], got {p}"),
            ));
        }
        Ok(Human::PRational { p })
    }

    /// Chance human allowing with probability p ∈ [0, 1].
    pub fn chance(p: f64) -> Result<Self> {
        if !(0.0..=1.0).contains(&p) {
            return Err(Error::invalid(
                "human.p",
                format!("must be in [0, 1], got {p}"),
            ));
        }
        Ok(Human::Chance { p })
    }

    /// A reviewer approving good actions with probability `approve_good` and rejecting bad ones with
    /// probability `catch_bad` (both in [0, 1]).
    pub fn error_rates(approve_good: f64, catch_bad: f64) -> Result<Self> {
        for (name, x) in [("approve_good", approve_good), ("catch_bad", catch_bad)] {
            if !(0.0..=1.0).contains(&x) {
                return Err(Error::invalid(
                    format!("human.{name}"),
                    format!("must be a probability in [0, 1], got {x}"),
                ));
            }
        }
        Ok(Human::ErrorRates {
            approve_good,
            catch_bad,
        })
    }

    /// `Some((P(allow | U ≥ 0), P(allow | U < 0)))` for the humans whose answer depends only on the sign of U.
    pub fn sign_rates(&self) -> Option<(f64, f64)> {
        match *self {
            Human::Rational | Human::Boltzmann { beta: 0.0 } => Some((1.0, 0.0)),
            Human::Boltzmann { beta } if beta.is_infinite() => Some((0.5, 0.5)),
            Human::Boltzmann { .. } => None,
            Human::PRational { p } => Some((p, 1.0 - p)),
            Human::Chance { p } => Some((p, p)),
            Human::ErrorRates {
                approve_good,
                catch_bad,
            } => Some((approve_good, 1.0 - catch_bad)),
        }
    }

    /// Parses `rational`, `boltzmann:BETA`, `p-rational:P`, `chance:P` or `error-rates:APPROVE,CATCH`.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        let (kind, arg) = spec
            .split_once(':')
            .map(|(k, a)| (k, Some(a)))
            .unwrap_or((spec, None));
        let num = |name: &str| -> Result<f64> {
            let a = arg.ok_or_else(|| {
                Error::invalid("human", format!("'{spec}': expected {kind}:{name}"))
            })?;
            a.trim().parse::<f64>().map_err(|_| {
                Error::invalid(
                    "human",
                    format!("'{spec}': '{a}' is not a number (expected {kind}:{name})"),
                )
            })
        };
        match kind {
            "rational" if arg.is_none() => Ok(Human::Rational),
            "rational" => Err(Error::invalid(
                "human",
                format!("'{spec}': rational takes no parameter"),
            )),
            "boltzmann" => Self::boltzmann(num("BETA")?),
            "p-rational" => Self::p_rational(num("P")?),
            "chance" => Self::chance(num("P")?),
            "error-rates" => {
                let usage = "expected error-rates:APPROVE,CATCH (the probabilities of approving a good action and of rejecting a bad one), e.g. error-rates:0.97,0.6";
                let a = arg.ok_or_else(|| Error::invalid("human", format!("'{spec}': {usage}")))?;
                let parts: Vec<&str> = a.split(',').map(str::trim).collect();
                let nums: Vec<f64> = parts.iter().filter_map(|x| x.parse().ok()).collect();
                if parts.len() != 2 || nums.len() != 2 {
                    return Err(Error::invalid("human", format!("'{spec}': {usage}")));
                }
                Self::error_rates(nums[0], nums[1])
            }
            other => Err(Error::invalid(
                "human",
                format!(
                    "unknown human kind '{other}'; use rational, boltzmann:BETA, p-rational:P, chance:P or error-rates:APPROVE,CATCH"
                ),
            )),
        }
    }

    /// The kind's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Human::Rational => "rational",
            Human::Boltzmann { .. } => "boltzmann",
            Human::PRational { .. } => "p-rational",
            Human::Chance { .. } => "chance",
            Human::ErrorRates { .. } => "error-rates",
        }
    }

    /// Whether πH(−u) = 1 − πH(u) for all u ≠ 0 (then Δ(μ) = Δ(−μ) for symmetric priors).
    pub fn is_symmetric(&self) -> bool {
        match self {
            Human::Chance { p } => *p == 0.5,
            Human::ErrorRates {
                approve_good,
                catch_bad,
            } => approve_good == catch_bad,
            _ => true,
        }
    }

    /// dπH/dU at u (0 away from the jump for rational and p-rational humans; their jump is handled as a point
    /// mass by the off-switch engine).
    pub fn p_allow_derivative(&self, u: f64) -> f64 {
        match self {
            Human::Boltzmann { beta } if *beta > 0.0 && beta.is_finite() => {
                let p = logistic(u / beta);
                p * (1.0 - p) / beta
            }
            _ => 0.0,
        }
    }
}

impl ResponseModel for Human {
    fn p_allow(&self, u: f64) -> f64 {
        match self {
            Human::Rational => (u >= 0.0) as u8 as f64,
            Human::Boltzmann { beta } => {
                if *beta == 0.0 {
                    (u >= 0.0) as u8 as f64
                } else if beta.is_infinite() {
                    0.5
                } else {
                    logistic(u / beta)
                }
            }
            Human::PRational { p } => {
                if u >= 0.0 {
                    *p
                } else {
                    1.0 - p
                }
            }
            Human::Chance { p } => *p,
            Human::ErrorRates {
                approve_good,
                catch_bad,
            } => {
                if u >= 0.0 {
                    *approve_good
                } else {
                    1.0 - catch_bad
                }
            }
        }
    }

    fn breaks(&self) -> Vec<f64> {
        match self {
            Human::Chance { .. } => vec![],
            // The logistic changes over a width of a few β around 0: break there so that no quadrature panel
            // can step over the transition.
            Human::Boltzmann { beta } if *beta > 0.0 && beta.is_finite() => {
                [-25.0, -5.0, -1.0, 0.0, 1.0, 5.0, 25.0]
                    .iter()
                    .map(|k| k * beta)
                    .collect()
            }
            _ => vec![0.0],
        }
    }

    fn logistic_temperature(&self) -> Option<f64> {
        match self {
            Human::Boltzmann { beta } if *beta > 0.0 && beta.is_finite() => Some(*beta),
            _ => None,
        }
    }

    fn label(&self) -> String {
        match self {
            Human::Rational => "rational".into(),
            Human::Boltzmann { beta } => format!("boltzmann:{}", short(*beta)),
            Human::PRational { p } => format!("p-rational:{}", short(*p)),
            Human::Chance { p } => format!("chance:{}", short(*p)),
            Human::ErrorRates {
                approve_good,
                catch_bad,
            } => format!("error-rates:{},{}", short(*approve_good), short(*catch_bad)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_and_validate() {
        assert_eq!(Human::parse("rational").unwrap(), Human::Rational);
        assert_eq!(
            Human::parse("boltzmann:0.5").unwrap(),
            Human::Boltzmann { beta: 0.5 }
        );
        assert_eq!(
            Human::parse("p-rational:0.9").unwrap(),
            Human::PRational { p: 0.9 }
        );
        assert_eq!(
            Human::parse("chance:0.25").unwrap(),
            Human::Chance { p: 0.25 }
        );
        assert_eq!(
            Human::parse("error-rates:0.97, 0.6").unwrap(),
            Human::ErrorRates {
                approve_good: 0.97,
                catch_bad: 0.6
            }
        );
        let h = Human::parse("error-rates:0.97,0.6").unwrap();
        assert_eq!(Human::parse(&h.label()).unwrap(), h);
        assert_eq!((h.p_allow(0.0), h.p_allow(-1e-9)), (0.97, 1.0 - 0.6));
        for bad in [
            "boltzmann:-1",
            "boltzmann",
            "p-rational:1.5",
            "chance:x",
            "error-rates:0.9",
            "error-rates:0.9,1.2",
            "error-rates:a,b",
            "rational:1",
            "oracle",
        ] {
            assert!(Human::parse(bad).unwrap_err().is_input_error(), "{bad}");
        }
    }

    #[test]
    fn limits() {
        assert_eq!(Human::Boltzmann { beta: 0.0 }.p_allow(-1e-300), 0.0);
        assert_eq!(Human::Boltzmann { beta: 0.0 }.p_allow(0.0), 1.0);
        assert_eq!(
            Human::Boltzmann {
                beta: f64::INFINITY
            }
            .p_allow(1e300),
            0.5
        );
        assert!((Human::Boltzmann { beta: 1e6 }.p_allow(1.0) - 0.5).abs() < 1e-6);
        assert_eq!(Human::Boltzmann { beta: 1e-6 }.p_allow(1e6), 1.0);
    }
}
