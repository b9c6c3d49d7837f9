//! The inverse model of the human's choices between offered options (a log's `options` and `chosen`, see
//! [`super::records`]): a Boltzmann-rational chooser, fitted by [`crate::learn::choice`].
//!
//! - **Options with values** (what each is worth, in the scenario's units): the human picks option i with
//!   probability ∝ exp(v_i / β) — the `boltzmann:β` human of the off-switch game, who, asked about an action of
//!   utility U against blocking it (worth 0), lets it run with probability σ(U/β). The fit learns the rationality
//!   λ = 1/β (normal prior: centred on the scenario's 1/β with that as its sd when the scenario's reviewer is a
//!   Boltzmann one, else normal(0, (10/s)²) with s the within-choice sd of the logged values — weak on the
//!   values' scale); β is reported as 1/λ at the mode with the interval [1/hi, 1/lo] of λ's (∞ above when λ's
//!   lies partly at or below 0: the choices do not show the human preferring the better option). The re-issued
//!   scenario's reviewer becomes `boltzmann:β` when the fit is [supported](BoltzmannFit::supported) and the
//!   scenario's reviewer is a Boltzmann (or rational) one, or when asked to (`cirl fit --reviewer boltzmann`).
//! - **Options with features**: the human picks option i with probability ∝ exp(wᵀx_i) — one-step MaxEnt IRL —
//!   and the fit reports w, what the human's choices weigh, each with its 90% interval (normal(0, (10/s_j)²)
//!   priors, s_j the feature's within-choice sd). The scenario has no place for them: they are reported.
//!
//! Both by the Laplace approximation at the posterior mode; intervals 90%.

use serde::Serialize;

use super::fit::Posterior;
use super::records::Offered;
use crate::error::{Error, Result};
use crate::human::Human;
use crate::learn::choice::{self, Choices};

/// Choices a fit needs before it is [supported](BoltzmannFit::supported).
pub const MIN_CHOICES: u64 = 20;

/// One record's choice as the fit reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    /// The feature names (`None`: the options have values).
    names: Option<Vec<String>>,
    x: Vec<f64>,
    chosen: usize,
}

impl Offer {
    /// The choice of a checked record (see [`super::records::Record::validate`]).
    pub fn of(options: &[Offered], chosen: &str) -> Offer {
        let names = options[0]
            .features
            .as_ref()
            .map(|f| f.keys().cloned().collect::<Vec<_>>());
        let x = options
            .iter()
            .flat_map(|o| match (&o.features, o.value) {
                (Some(f), _) => f.values().copied().collect::<Vec<_>>(),
                (None, v) => vec![v.unwrap_or(0.0)],
            })
            .collect();
        Offer {
            names,
            x,
            chosen: options.iter().position(|o| o.label == chosen).unwrap_or(0),
        }
    }
}

/// The choices of a log: those between options with values, and those with features (one set of names).
#[derive(Debug, Clone, Default)]
pub struct Logged {
    /// The choices between options with values.
    pub values: Choices,
    /// The choices between options with features.
    pub features: Choices,
    /// The feature names (those of the first record with features).
    pub names: Vec<String>,
    /// The first record whose feature names differ from the earlier ones': (its time in ms, its names).
    pub mismatch: Option<(i64, Vec<String>)>,
}

impl Logged {
    /// Adds one record's choice (logged at `time_ms`).
    pub fn add(&mut self, o: Offer, time_ms: i64) {
        match o.names {
            None => {
                if self.values.dim == 0 {
                    self.values = Choices::new(1);
                }
                self.values.push(&o.x, o.chosen);
            }
            Some(names) => {
                if self.features.dim == 0 {
                    self.features = Choices::new(names.len());
                    self.names = names.clone();
                }
                if names != self.names {
                    if self.mismatch.is_none() {
                        self.mismatch = Some((time_ms, names));
                    }
                    return;
                }
                self.features.push(&o.x, o.chosen);
            }
        }
    }

    /// The error for a log whose records offer different features.
    pub fn check(&self, log: &str) -> Result<()> {
        match &self.mismatch {
            None => Ok(()),
            Some((t, names)) => {
                let when = jiff::Timestamp::from_millisecond(*t)
                    .map(|t| format!("the record at {t}"))
                    .unwrap_or_else(|_| "a record".into());
                Err(Error::invalid(
                    log,
                    format!(
                        "options.features: {when} offers features {names:?}, the records before it {:?}; give every record's options the same features",
                        self.names
                    ),
                ))
            }
        }
    }
}

/// The reviewer as a Boltzmann-rational chooser between options with values.
#[derive(Debug, Clone, Serialize)]
pub struct BoltzmannFit {
    /// The choices fitted.
    pub choices: u64,
    /// Options offered, over all choices.
    pub options: u64,
    /// λ = 1/β, the rationality, per utility unit (`rhat` 1: not sampled).
    pub rationality: Posterior,
    /// β, the temperature of `boltzmann:β`: 1/λ at the mode, the interval from λ's (`hi` null: unbounded).
    pub beta: Posterior,
    /// The prior, in words.
    pub prior: String,
    /// The share of choices where the human chose the option the fit ranks first.
    pub hit_rate: f64,
    /// McFadden's pseudo-R², 1 − ln L / ln L(chance).
    pub pseudo_r2: f64,
    /// At least [`MIN_CHOICES`] choices and λ's interval above 0.
    pub supported: bool,
}

impl BoltzmannFit {
    /// Why an unsupported fit is not taken: its interval and what support needs.
    pub fn shortfall(&self) -> String {
        format!(
            "1/β 90%: [{:.4}, {:.4}]; at least {MIN_CHOICES} choices and an interval above 0 are needed",
            self.rationality.lo, self.rationality.hi
        )
    }
}

/// Whether `cirl fit --reviewer auto` re-issues the scenario's reviewer `human` as the Boltzmann chooser the
/// choices support: when it is a Boltzmann (or rational, β = 0) one already.
pub fn auto_is_boltzmann(human: &Human) -> bool {
    matches!(human, Human::Boltzmann { .. } | Human::Rational)
}

/// One feature's weight in the human's choices.
#[derive(Debug, Clone, Serialize)]
pub struct Weight {
    /// The feature's name.
    pub feature: String,
    /// Its weight's posterior (Laplace approximation).
    pub weight: Posterior,
}

/// What the human's choices between options with features weigh.
#[derive(Debug, Clone, Serialize)]
pub struct PreferenceFit {
    /// The choices fitted.
    pub choices: u64,
    /// Options offered, over all choices.
    pub options: u64,
    /// Each feature's weight.
    pub weights: Vec<Weight>,
    /// The prior, in words.
    pub prior: String,
    /// The share of choices where the human chose the option the fit ranks first.
    pub hit_rate: f64,
    /// McFadden's pseudo-R², 1 − ln L / ln L(chance).
    pub pseudo_r2: f64,
}

/// The sd of a weak prior on a weight of a feature whose within-choice sd is `s`: 10 over s (over 1 when the
/// feature never varies within a choice).
fn weak_sd(s: f64) -> f64 {
    10.0 / if s > 0.0 { s } else { 1.0 }
}

fn r2(f: &choice::Laplace) -> f64 {
    if f.log_lik_random < 0.0 {
        1.0 - f.log_lik / f.log_lik_random
    } else {
        0.0
    }
}

/// The Boltzmann fit of the choices with values; `human` is the scenario's reviewer (its prior). None without
/// such choices.
pub fn fit_values(l: &Logged, human: &Human) -> Option<BoltzmannFit> {
    let c = &l.values;
    if c.is_empty() {
        return None;
    }
    let s = c.within_sd()[0];
    let (m, sd, prior) = match human {
        Human::Boltzmann { beta } if *beta > 0.0 && beta.is_finite() => (
            1.0 / beta,
            1.0 / beta,
            format!(
                "1/β ~ normal({0:.4}, {0:.4}²): the scenario's boltzmann:{beta}",
                1.0 / beta
            ),
        ),
        _ => {
            let sd = weak_sd(s);
            (
                0.0,
                sd,
                format!("1/β ~ normal(0, {sd:.4}²): 10 over the within-choice sd of the values"),
            )
        }
    };
    let f = choice::fit(c, &[m], &[sd]);
    let lam = Posterior::laplace(m, f.mode[0], f.sd(0));
    let beta = lam.map(|x| if x > 0.0 { 1.0 / x } else { f64::INFINITY });
    Some(BoltzmannFit {
        choices: c.len() as u64,
        options: c.options() as u64,
        supported: c.len() as u64 >= MIN_CHOICES && lam.lo > 0.0,
        rationality: lam,
        beta,
        prior,
        hit_rate: c.hit_rate(&f.mode),
        pseudo_r2: r2(&f),
    })
}

/// The weights of the choices with features; None without such choices.
pub fn fit_features(l: &Logged) -> Option<PreferenceFit> {
    let c = &l.features;
    if c.is_empty() {
        return None;
    }
    let sd: Vec<f64> = c.within_sd().iter().map(|&s| weak_sd(s)).collect();
    let f = choice::fit(c, &vec![0.0; c.dim], &sd);
    Some(PreferenceFit {
        choices: c.len() as u64,
        options: c.options() as u64,
        weights: l
            .names
            .iter()
            .enumerate()
            .map(|(j, n)| Weight {
                feature: n.clone(),
                weight: Posterior::laplace(0.0, f.mode[j], f.sd(j)),
            })
            .collect(),
        prior: "each weight ~ normal(0, (10/s)²), s the feature's within-choice sd".into(),
        hit_rate: c.hit_rate(&f.mode),
        pseudo_r2: r2(&f),
    })
}
