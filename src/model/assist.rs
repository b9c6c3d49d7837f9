//! Tabular assistance games with a query move, and the two seeded families population experiments draw them
//! from: random assistance games and feature gridworlds.
//!
//! A [`Game`] is a finite-horizon MDP over observed states s whose utility is unknown to the robot: it holds a
//! prior over K hypotheses θ_k, each a table of utilities U_k(s, a) of doing a in s, and θ is the same at every
//! step (Hadfield-Menell et al. 2016's CIRL: the human knows θ, the robot does not). At each step the robot
//! **acts** (does a: payoff U(s, a), the state moves by T(·|s, a)), **switches off** (the no-op: payoff 0, the
//! state moves by T(·|s, no-op)) or — when the human is present, with probability q, which it learns at the step —
//! **asks** about an action at cost c: the human allows it with probability πH(U(s, a)) (a response model of
//! [`crate::human`], on the action's true utility) and it is done; refused, the no-op happens. An action is
//! irreversible, or undoable at cost d (then a bad one costs at most d: payoff max(U, −d)). An answer is evidence
//! about θ that carries over to every later step: asking early informs later actions.
//!
//! Families ([`Family`]), each a seeded distribution over games sharing one set of condition dials with the
//! sequential chain ([`crate::model::chain`]):
//! - **random assistance games** ([`Layout::Random`]): |S| states, |A| actions, transition rows drawn as
//!   normalised exponentials (as [`crate::model::cirl::random_game`]), the no-op one more row; a known base
//!   utility Ū(s, a) = μ + τ·z; hypotheses U_k = Ū + σ·ε_k (ε i.i.d. standard normal): σ is the robot's value
//!   uncertainty;
//! - **feature gridworlds** ([`Layout::Grid`]): a w × h grid, moves up/down/left/right (into the border: stay),
//!   the no-op stays; cell c has binary features φ(c) (each 1 with probability ½) and a known base b(c) = τ·z;
//!   entering c is worth b(c) + θᵀφ(c) with θ_k = μ·1 + σ·ε_k; a fraction f of cells have side effects
//!   (entering them is irreversible), the rest are undoable at cost d.
//!
//! In both, an (s, a) is irreversible with probability f (a cell, for the gridworld), the robot's prior is uniform
//! over the K hypotheses, and the truth is hypothesis k* drawn from the prior — or, misspecified, Ū + shift +
//! scale·σ·ε_k* (the truth's mean moved by `shift`, its deviation scaled by `scale`: < 1 the robot is more
//! uncertain than it should be, > 1 overconfident), continuous in both dials.
//!
//! The randomness of environment e comes from four streams of its seed (structure, hypotheses, truth, rollout),
//! each drawn in a fixed order, so two conditions that differ only in a dial (σ, μ, c, q, f, the human, the
//! misspecification, the horizon) share every draw: common random numbers.

use rand::{Rng, RngExt};
use rand_distr::StandardNormal;

use super::dials::Dials;
use crate::error::{Error, Result};
use crate::human::Human;
use crate::rng::job_rng;

/// One game: states, actions, transitions, the hypotheses over utilities, and the dials.
#[derive(Debug, Clone, PartialEq)]
pub struct Game {
    /// |S|.
    pub states: usize,
    /// |A| (the robot's actions, without the no-op).
    pub actions: usize,
    /// T: per state, per action (index `actions` is the no-op), the successors and their probabilities.
    pub t: Vec<Vec<Vec<(usize, f64)>>>,
    /// U_k(s, a): per hypothesis, the utility of doing a in s, indexed `s * actions + a`.
    pub hypotheses: Vec<Vec<f64>>,
    /// The robot's prior over the hypotheses.
    pub prior: Vec<f64>,
    /// Whether doing a in s cannot be undone, indexed `s * actions + a`.
    pub irreversible: Vec<bool>,
    /// d: what undoing a bad reversible action costs.
    pub undo_cost: f64,
    /// c: the cost of asking.
    pub ask_cost: f64,
    /// q: P(the human is present at a step).
    pub presence: f64,
    /// The human who answers.
    pub human: Human,
    /// The start state.
    pub start: usize,
    /// The number of steps.
    pub horizon: usize,
}

impl Game {
    /// The payoff of doing (s, a) when its utility is `u`: u, or max(u, −d) if it can be undone.
    pub fn payoff(&self, sa: usize, u: f64) -> f64 {
        if self.irreversible[sa] {
            u
        } else {
            u.max(-self.undo_cost)
        }
    }

    /// The number of hypotheses K.
    pub fn thetas(&self) -> usize {
        self.hypotheses.len()
    }

    /// The scale of the game's payoffs (for tolerances).
    pub fn scale(&self) -> f64 {
        let u = self
            .hypotheses
            .iter()
            .flat_map(|h| h.iter())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        (1.0 + u + self.ask_cost) * self.horizon as f64
    }
}

/// What the truth is in one environment: the utility table the human answers by and the payoffs come from.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    /// U*(s, a), indexed `s * actions + a`.
    pub utility: Vec<f64>,
    /// The hypothesis it is (well specified), or none (misspecified).
    pub hypothesis: Option<usize>,
}

/// The layout of a family's games.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Layout {
    /// Random assistance games.
    Random {
        /// |S|.
        states: usize,
        /// |A|.
        actions: usize,
    },
    /// Feature gridworlds.
    Grid {
        /// Columns.
        width: usize,
        /// Rows.
        height: usize,
        /// Binary features per cell.
        features: usize,
    },
}

/// The seeded distribution over games a population draws from (see the module docs): the layout, K, the
/// number of steps and the shared dials (μ the base utility's mean — per feature for the gridworld —, σ the
/// hypotheses' spread around the base, τ the base's spread, f, d, c, q, the human, and the truth's `shift` and
/// `scale`).
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The layout.
    pub layout: Layout,
    /// K: the hypotheses of the robot's prior.
    pub thetas: usize,
    /// The number of steps.
    pub steps: usize,
    /// The dials.
    pub dials: Dials,
}

/// The largest number of states a family's game may have.
pub const MAX_STATES: usize = 400;
/// The largest number of actions of a random assistance game.
pub const MAX_ACTIONS: usize = 16;
/// The largest number of hypotheses.
pub const MAX_THETAS: usize = 256;
/// The largest horizon.
pub const MAX_STEPS: usize = 24;

const GRID_ACTIONS: usize = 4;

impl Family {
    /// Checks the parameters; an error names the field (under `prefix`).
    pub fn check(&self, prefix: &str) -> Result<()> {
        let bad = |f: &str, m: String| Err(Error::invalid(format!("{prefix}.{f}"), m));
        match self.layout {
            Layout::Random { states, actions } => {
                if !(1..=MAX_STATES).contains(&states) {
                    return bad("states", format!("must be 1–{MAX_STATES}, got {states}"));
                }
                if !(1..=MAX_ACTIONS).contains(&actions) {
                    return bad("actions", format!("must be 1–{MAX_ACTIONS}, got {actions}"));
                }
            }
            Layout::Grid {
                width,
                height,
                features,
            } => {
                if width == 0 || height == 0 || width * height > MAX_STATES {
                    return bad(
                        "width",
                        format!("the grid needs 1–{MAX_STATES} cells, got {width} × {height}"),
                    );
                }
                if !(1..=64).contains(&features) {
                    return bad("features", format!("must be 1–64, got {features}"));
                }
            }
        }
        if !(1..=MAX_THETAS).contains(&self.thetas) {
            return bad(
                "thetas",
                format!("must be 1–{MAX_THETAS}, got {}", self.thetas),
            );
        }
        if !(1..=MAX_STEPS).contains(&self.steps) {
            return bad(
                "steps",
                format!("must be 1–{MAX_STEPS} for this family, got {}", self.steps),
            );
        }
        self.dials.check(prefix)?;
        Ok(())
    }

    /// The game and its truth for the environment seeded with `seed` (see the module docs for the streams).
    pub fn realise(&self, seed: u64) -> (Game, Truth) {
        let d = &self.dials;
        let mut structure = job_rng(seed, 0);
        let mut hyp = job_rng(seed, 1);
        let mut truth_rng = job_rng(seed, 2);
        let k = self.thetas;
        let (states, actions, t, base, irreversible, directions) = match self.layout {
            Layout::Random { states, actions } => {
                let t: Vec<Vec<Vec<(usize, f64)>>> = (0..states)
                    .map(|_| {
                        (0..=actions)
                            .map(|_| exponential_row(states, &mut structure))
                            .collect()
                    })
                    .collect();
                let base: Vec<f64> = (0..states * actions)
                    .map(|_| d.mu + d.spread * normal(&mut structure))
                    .collect();
                let irr: Vec<bool> = (0..states * actions)
                    .map(|_| structure.random::<f64>() < d.irreversible)
                    .collect();
                (states, actions, t, base, irr, None)
            }
            Layout::Grid {
                width,
                height,
                features,
            } => {
                let n = width * height;
                let phi: Vec<Vec<f64>> = (0..n)
                    .map(|_| {
                        (0..features)
                            .map(|_| (structure.random::<f64>() < 0.5) as u8 as f64)
                            .collect()
                    })
                    .collect();
                let cell_base: Vec<f64> =
                    (0..n).map(|_| d.spread * normal(&mut structure)).collect();
                let side_effect: Vec<bool> = (0..n)
                    .map(|_| structure.random::<f64>() < d.irreversible)
                    .collect();
                let next = |s: usize, a: usize| -> usize {
                    let (r, c) = (s / width, s % width);
                    match a {
                        0 if r > 0 => s - width,
                        1 if r + 1 < height => s + width,
                        2 if c > 0 => s - 1,
                        3 if c + 1 < width => s + 1,
                        _ => s,
                    }
                };
                let t: Vec<Vec<Vec<(usize, f64)>>> = (0..n)
                    .map(|s| {
                        (0..=GRID_ACTIONS)
                            .map(|a| {
                                if a == GRID_ACTIONS {
                                    vec![(s, 1.0)]
                                } else {
                                    vec![(next(s, a), 1.0)]
                                }
                            })
                            .collect()
                    })
                    .collect();
                // The base of (s, a): the entered cell's base plus μ per feature it has.
                let mut base = vec![0.0; n * GRID_ACTIONS];
                let mut irr = vec![false; n * GRID_ACTIONS];
                for s in 0..n {
                    for a in 0..GRID_ACTIONS {
                        let c = next(s, a);
                        let ones: f64 = phi[c].iter().sum();
                        base[s * GRID_ACTIONS + a] = cell_base[c] + d.mu * ones;
                        irr[s * GRID_ACTIONS + a] = side_effect[c];
                    }
                }
                let dirs: Vec<Vec<f64>> = (0..n * GRID_ACTIONS)
                    .map(|sa| phi[next(sa / GRID_ACTIONS, sa % GRID_ACTIONS)].clone())
                    .collect();
                (n, GRID_ACTIONS, t, base, irr, Some((dirs, features)))
            }
        };
        // The hypotheses' deviations from the base: ε_k per entry (random), θ-deviation·φ (gridworld).
        let deviation = |rng: &mut crate::rng::Rng| -> Vec<f64> {
            match &directions {
                None => (0..states * actions).map(|_| normal(rng)).collect(),
                Some((dirs, f)) => {
                    let eps: Vec<f64> = (0..*f).map(|_| normal(rng)).collect();
                    dirs.iter()
                        .map(|phi| phi.iter().zip(&eps).map(|(p, e)| p * e).sum())
                        .collect()
                }
            }
        };
        let devs: Vec<Vec<f64>> = (0..k).map(|_| deviation(&mut hyp)).collect();
        let hypotheses: Vec<Vec<f64>> = devs
            .iter()
            .map(|dev| base.iter().zip(dev).map(|(b, e)| b + d.sigma * e).collect())
            .collect();
        let kstar = ((truth_rng.random::<f64>() * k as f64) as usize).min(k - 1);
        let well = d.shift == 0.0 && d.scale == 1.0;
        let truth = Truth {
            utility: base
                .iter()
                .zip(&devs[kstar])
                .map(|(b, e)| b + d.shift + d.scale * d.sigma * e)
                .collect(),
            hypothesis: well.then_some(kstar),
        };
        let game = Game {
            states,
            actions,
            t,
            hypotheses,
            prior: vec![1.0 / k as f64; k],
            irreversible,
            undo_cost: d.undo_cost,
            ask_cost: d.ask_cost,
            presence: d.presence,
            human: d.human,
            start: 0,
            horizon: self.steps,
        };
        (game, truth)
    }
}

fn normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    rng.sample(StandardNormal)
}

/// A transition row over `n` states drawn as a normalised exponential, as sparse (state, probability) pairs.
fn exponential_row<R: Rng + ?Sized>(n: usize, rng: &mut R) -> Vec<(usize, f64)> {
    let v: Vec<f64> = (0..n).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
    let s: f64 = v.iter().sum();
    v.into_iter()
        .enumerate()
        .map(|(i, x)| (i, x / s))
        .filter(|(_, p)| *p > 0.0)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn family(layout: Layout) -> Family {
        Family {
            layout,
            thetas: 4,
            steps: 3,
            dials: Dials {
                mu: 0.2,
                sigma: 1.0,
                spread: 0.5,
                irreversible: 0.3,
                undo_cost: 0.5,
                ask_cost: 0.1,
                presence: 0.8,
                human: Human::Boltzmann { beta: 0.5 },
                shift: 0.0,
                scale: 1.0,
            },
        }
    }

    #[test]
    fn games_are_well_formed_and_share_their_draws_across_dials() {
        for layout in [
            Layout::Random {
                states: 4,
                actions: 3,
            },
            Layout::Grid {
                width: 3,
                height: 2,
                features: 3,
            },
        ] {
            let f = family(layout);
            f.check("population").unwrap();
            let (g, truth) = f.realise(7);
            for row in g.t.iter().flat_map(|r| r.iter()) {
                let s: f64 = row.iter().map(|x| x.1).sum();
                assert!((s - 1.0).abs() < 1e-12);
            }
            assert_eq!(g.hypotheses.len(), 4);
            assert_eq!(
                truth.hypothesis.map(|k| &g.hypotheses[k]),
                Some(&truth.utility)
            );
            // σ = 0: every hypothesis is the base; a larger σ moves them, the structure stays.
            let (g0, _) = Family {
                dials: Dials {
                    sigma: 0.0,
                    ..f.dials
                },
                ..f.clone()
            }
            .realise(7);
            assert!(g0.hypotheses.iter().all(|h| h == &g0.hypotheses[0]));
            let (g2, t2) = Family {
                dials: Dials {
                    sigma: 2.0,
                    ..f.dials
                },
                ..f.clone()
            }
            .realise(7);
            assert_eq!(g2.t, g.t);
            assert_eq!(g2.irreversible, g.irreversible);
            for (h2, h1) in g2.hypotheses.iter().zip(&g.hypotheses) {
                for ((a, b), base) in h2.iter().zip(h1).zip(&g0.hypotheses[0]) {
                    assert!(((a - base) - 2.0 * (b - base)).abs() < 1e-12);
                }
            }
            assert_eq!(t2.hypothesis, truth.hypothesis);
            // Misspecified: the truth moves continuously away from the hypothesis it was.
            let (_, tm) = Family {
                dials: Dials {
                    shift: 1e-9,
                    ..f.dials
                },
                ..f.clone()
            }
            .realise(7);
            assert!(tm.hypothesis.is_none());
            assert!(
                tm.utility
                    .iter()
                    .zip(&truth.utility)
                    .all(|(a, b)| (a - b - 1e-9).abs() < 1e-12)
            );
        }
    }

    #[test]
    fn a_bad_family_names_its_field() {
        let f = Family {
            thetas: 0,
            ..family(Layout::Random {
                states: 2,
                actions: 2,
            })
        };
        assert!(
            f.check("population")
                .unwrap_err()
                .to_string()
                .contains("population.thetas")
        );
        let f = Family {
            layout: Layout::Grid {
                width: 30,
                height: 30,
                features: 2,
            },
            ..family(Layout::Random {
                states: 2,
                actions: 2,
            })
        };
        assert!(
            f.check("population")
                .unwrap_err()
                .to_string()
                .contains("population.width")
        );
    }
}
