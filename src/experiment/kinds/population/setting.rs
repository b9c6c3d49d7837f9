//! One condition of a population, whatever its family: the sequential chain, or a tabular assistance game
//! (random or gridworld). The condition dials are shared (steps, μ, σ, the human, c, f, q, shift, scale); how an
//! environment is drawn, solved and scored is the family's.

use crate::error::Result;
use crate::human::Human;
use crate::model::assist;
use crate::model::chain::{self, Chain, Noise};
use crate::model::dials::Dials;
use crate::rng::job_rng;
use crate::sim::chain::rollout;
use crate::solvers::assist as assist_solver;
use crate::solvers::chain::{Agent, Histories, evaluate};

/// The family-specific part of a condition.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Setting {
    /// The sequential off-switch chain.
    Chain(chain::Family),
    /// A tabular assistance game (random or gridworld).
    Assist(assist::Family),
}

/// What every agent scored in one environment.
#[derive(Debug, Clone)]
pub(super) struct EnvScores {
    /// Per agent: exact value under the belief, under the truth, and the rollout (return, asks, harms).
    pub value: Vec<f64>,
    pub truth: Vec<f64>,
    pub rolls: Vec<(f64, u32, u32)>,
    /// The Bayes agent's incentive to defer at the first step.
    pub incentive: f64,
    /// The chain's: the one-shot off-switch value (T = 1, irreversible) and the first step's incentive alone.
    pub one_shot: Option<f64>,
    pub alone: Option<f64>,
    /// Whether the Bayes agent was solved exactly, and the gap between its bounds.
    pub exact: bool,
    pub gap: f64,
    /// The Bayes value's upper bound (= its value when exact).
    pub upper: f64,
    /// The tie tolerance of this environment's values.
    pub tol: f64,
}

/// Quadrature and budget settings the families need.
#[derive(Debug, Clone, Copy)]
pub(super) struct Numerics {
    pub panels: usize,
    pub order: usize,
    pub max_histories: usize,
}

impl Setting {
    pub fn steps(&self) -> usize {
        match self {
            Setting::Chain(f) => f.steps,
            Setting::Assist(f) => f.steps,
        }
    }

    /// The value of a condition dial.
    pub fn get(&self, dial: &str) -> f64 {
        macro_rules! pick {
            ($f:expr) => {
                match dial {
                    "mu" => $f.dials.mu,
                    "sigma" => $f.dials.sigma,
                    "ask_cost" => $f.dials.ask_cost,
                    "irreversible" => $f.dials.irreversible,
                    "presence" => $f.dials.presence,
                    "shift" => $f.dials.shift,
                    "scale" => $f.dials.scale,
                    "steps" => $f.steps as f64,
                    _ => f64::NAN,
                }
            };
        }
        match self {
            Setting::Chain(f) => pick!(f),
            Setting::Assist(f) => pick!(f),
        }
    }

    /// The shared dials.
    pub fn dials(&self) -> &Dials {
        match self {
            Setting::Chain(f) => &f.dials,
            Setting::Assist(f) => &f.dials,
        }
    }

    pub fn human(&self) -> Human {
        self.dials().human
    }

    /// The setting with a dial set to `x` (`beta` sets a Boltzmann human; 0 the rational one).
    pub fn with(&self, dial: &str, x: f64) -> Setting {
        macro_rules! set {
            ($f:expr) => {{
                let mut f = $f.clone();
                let d = &mut f.dials;
                match dial {
                    "mu" => d.mu = x,
                    "sigma" => d.sigma = x,
                    "beta" if x == 0.0 => d.human = Human::Rational,
                    "beta" => d.human = Human::Boltzmann { beta: x },
                    "ask_cost" => d.ask_cost = x,
                    "irreversible" => d.irreversible = x,
                    "presence" => d.presence = x,
                    "shift" => d.shift = x,
                    "scale" => d.scale = x,
                    "steps" => f.steps = x as usize,
                    _ => unreachable!("the dials are checked when the plan is made"),
                }
                f
            }};
        }
        match self {
            Setting::Chain(f) => Setting::Chain(set!(f)),
            Setting::Assist(f) => Setting::Assist(set!(f)),
        }
    }

    pub fn check(&self, prefix: &str) -> Result<()> {
        match self {
            Setting::Chain(f) => f.check(prefix),
            Setting::Assist(f) => f.check(prefix),
        }
    }

    /// Whether the truth is the robot's belief (no misspecification).
    pub fn well_specified(&self) -> bool {
        self.dials().well_specified()
    }

    /// Whether this is the sequential chain (whose one-shot facts the claims check).
    pub fn is_chain(&self) -> bool {
        matches!(self, Setting::Chain(_))
    }

    /// The scale of a per-episode quantity (for tie tolerances): 1e-9 of it is a tie.
    pub fn scale(&self) -> f64 {
        let d = self.dials();
        let extra = d.spread + d.undo_cost.min(1e6);
        (1.0 + self.get("mu").abs()
            + self.get("sigma") * self.get("scale").max(1.0)
            + self.get("shift").abs()
            + self.get("ask_cost")
            + extra)
            * self.steps() as f64
    }

    /// Every agent's scores in the environment seeded with `seed`.
    pub fn score(&self, seed: u64, agents: &[Agent], num: Numerics) -> EnvScores {
        match self {
            Setting::Chain(f) => {
                let noise = Noise::draw(&mut job_rng(seed, 0));
                let (chain, theta) = f.realise(&noise);
                let belief = chain.belief(num.panels, num.order);
                let truth =
                    (!self.well_specified()).then(|| f.truth(&chain).belief(num.panels, num.order));
                let histories = Histories::new(&chain, &belief);
                let trees: Vec<_> = agents.iter().map(|a| histories.solve(&chain, *a)).collect();
                let value: Vec<f64> = trees.iter().map(|t| t.value()).collect();
                let truth_values = trees
                    .iter()
                    .map(|t| match &truth {
                        Some(tb) => evaluate(&chain, t, tb),
                        None => t.value(),
                    })
                    .collect();
                let rolls = trees
                    .iter()
                    .map(|t| {
                        let r = rollout(&chain, t, theta, &noise);
                        (r.ret, r.asks, r.harms)
                    })
                    .collect();
                let incentive = trees[0].incentive;
                let alone = (chain.steps.len() > 1).then(|| {
                    let first = Chain {
                        steps: vec![chain.steps[0]],
                        ..chain.clone()
                    };
                    let b1 = first.belief(num.panels, num.order);
                    Histories::new(&first, &b1)
                        .solve(&first, Agent::Bayes)
                        .incentive
                });
                EnvScores {
                    upper: value[0],
                    value,
                    truth: truth_values,
                    rolls,
                    incentive,
                    one_shot: super::one_shot(&chain),
                    alone,
                    exact: true,
                    gap: 0.0,
                    tol: 1e-9 * (1.0 + chain.scale() * chain.steps.len() as f64),
                }
            }
            Setting::Assist(f) => {
                let (game, truth) = f.realise(seed);
                let mut rng = job_rng(seed, 3);
                let u: Vec<f64> = (0..3 * game.horizon)
                    .map(|_| rand::RngExt::random(&mut rng))
                    .collect();
                let (scores, rolls) =
                    assist_solver::solve(&game, agents, &truth, &u, num.max_histories);
                EnvScores {
                    value: scores.agents.iter().map(|s| s.value).collect(),
                    truth: scores.agents.iter().map(|s| s.truth).collect(),
                    rolls: rolls.iter().map(|r| (r.ret, r.asks, r.harms)).collect(),
                    incentive: scores.incentive,
                    one_shot: None,
                    alone: None,
                    exact: scores.solution.exact,
                    gap: scores.solution.upper - scores.solution.lower,
                    upper: scores.solution.upper,
                    tol: 1e-9 * game.scale(),
                }
            }
        }
    }

    /// The Bayes agent's first-step incentive to defer (`advantage` false), or the deferring agent's advantage
    /// over acting on the prior under the truth (`advantage` true), in the environment seeded with `seed`.
    pub fn figure(&self, seed: u64, advantage: bool, num: Numerics) -> f64 {
        let agents: &[Agent] = if advantage {
            &[Agent::Bayes, Agent::ActOnPrior]
        } else {
            &[Agent::Bayes]
        };
        match self {
            Setting::Chain(f) => {
                let noise = Noise::draw(&mut job_rng(seed, 0));
                let (chain, _) = f.realise(&noise);
                let b = chain.belief(num.panels, num.order);
                let h = Histories::new(&chain, &b);
                let bayes = h.solve(&chain, Agent::Bayes);
                if !advantage {
                    return bayes.incentive;
                }
                let act = h.solve(&chain, Agent::ActOnPrior);
                if self.well_specified() {
                    bayes.value() - act.value()
                } else {
                    let truth = f.truth(&chain).belief(num.panels, num.order);
                    evaluate(&chain, &bayes, &truth) - evaluate(&chain, &act, &truth)
                }
            }
            Setting::Assist(_) => {
                let s = self.score(seed, agents, num);
                if advantage {
                    s.truth[0] - s.truth[1]
                } else {
                    s.incentive
                }
            }
        }
    }
}
