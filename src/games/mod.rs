//! Registered problems, loaded by name (`cirl solve red-blue`) or from a `.pomdp` file, with `--set key=value`
//! overrides of their parameters.
//!
//! Every registered game is a TOML config in experiments/games/ (embedded in the binary), read into the
//! serde-tagged [`GameSpec`] (`game = "red-blue"`, …) whose fields are the game's documented parameters. An
//! override replaces one field before the config is validated, so an unknown key or a bad value gets the same
//! one-line error as a bad config file.
//!
//! ```
//! use cirl::games::{self, Model};
//! // Red-blue (Shah et al. 2020) with a Boltzmann human instead of the code's own.
//! let set = games::parse_set("human=boltzmann:0.5")?;
//! let game = games::load("red-blue", &[set])?;
//! game.check()?;
//! let Model::Cirl(g) = &game else { unreachable!("red-blue is a CIRL game") };
//! assert_eq!(g.thetas.len(), 2); // θ ∈ {red, blue}
//! assert!(games::load("red-blue", &[games::parse_set("horizon=-1")?]).is_err());
//! # Ok::<(), cirl::Error>(())
//! ```

pub mod apprenticeship;
pub mod assistance;
pub mod gridworld;
pub mod incorrigibility;
pub mod obedience;
pub mod power;

use std::path::Path;

use serde::Deserialize;

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::model::cirl::{CirlGame, offswitch_game, random_game};
use crate::model::sparse::Sparse;
use crate::model::{Tabular, pomdp_format};
use crate::numerics::{gauss_hermite_prob, gauss_legendre};
use assistance::HumanSpec;

/// A problem to solve: a plain POMDP or a CIRL game (which the solvers reduce or back up directly).
#[derive(Debug, Clone)]
pub enum Model {
    /// A plain POMDP, as read (sparse tables; [`Model::to_tabular`] gives the dense form).
    Pomdp(Sparse),
    /// A CIRL game.
    Cirl(CirlGame),
}

impl Model {
    /// The model's name.
    pub fn name(&self) -> &str {
        match self {
            Model::Pomdp(m) => &m.name,
            Model::Cirl(g) => &g.name,
        }
    }
    /// The tabular POMDP (a CIRL game's reduction).
    pub fn to_tabular(&self) -> Result<Tabular> {
        match self {
            Model::Pomdp(m) => m.to_dense(),
            Model::Cirl(g) => g.to_pomdp(),
        }
    }
    /// Runs the model checker.
    pub fn check(&self) -> Result<()> {
        match self {
            Model::Pomdp(m) => m.check(),
            Model::Cirl(g) => g.check(),
        }
    }
}

/// The registered games' parameters. `game` is the tag; every other key is a parameter documented in the
/// game's config under experiments/games/.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "game", rename_all = "kebab-case", deny_unknown_fields)]
pub enum GameSpec {
    /// The tiger POMDP (experiments/models/tiger.pomdp).
    Tiger {
        /// γ.
        discount: f64,
        /// The number of decisions (none: infinite horizon, discounted).
        horizon: Option<usize>,
    },
    /// The off-switch game as a one-step CIRL game with a discretised prior over U.
    Offswitch {
        /// The robot's belief over U: normal:MU,SIGMA, uniform:LO,HI or discrete:V@P,….
        prior: String,
        /// Nodes of the discretisation (Gauss–Hermite for normal, Gauss–Legendre for uniform).
        points: usize,
        /// The human: coordinated, rational or boltzmann:BETA.
        human: String,
    },
    /// Red-blue (Shah et al. 2020): the robot waits, watches the human and follows.
    RedBlue {
        /// γ.
        discount: f64,
        /// The number of decisions.
        horizon: usize,
        /// The human: env (the code's), coordinated, rational or boltzmann:BETA.
        human: String,
    },
    /// Wormy apples (Shah et al. 2020): query about the bin only when the apples are wormy.
    WormyApples {
        /// γ.
        discount: f64,
        /// The number of decisions.
        horizon: usize,
        /// Whether the human answers queries only in the start state (reward learning, not assistance).
        two_phase: bool,
        /// The cost of a query.
        query_cost: f64,
        /// P(wormy apples) after get-apple.
        wormy_probability: f64,
        /// The reward for making the pie.
        pie_reward: f64,
        /// The cost of putting the worms in the bin the human does not want.
        wrong_bin_cost: f64,
        /// The human: env (the code's), coordinated, rational or boltzmann:BETA.
        human: String,
    },
    /// Meal choice (Shah et al. 2020): the human answers only from `feedback_time` on.
    MealChoice {
        /// γ.
        discount: f64,
        /// The number of decisions.
        horizon: usize,
        /// The first step at which the human answers a query.
        feedback_time: usize,
        /// Whether the human answers queries only before the robot's first step of cooking (reward learning,
        /// not assistance).
        two_phase: bool,
        /// P(θ = apple).
        prior_apple: f64,
        /// The cost of a query.
        query_cost: f64,
        /// The reward for serving θ's pie.
        right_pie: f64,
        /// The reward for serving the other pie.
        wrong_pie: f64,
        /// The human: env (the code's), coordinated, rational or boltzmann:BETA.
        human: String,
    },
    /// A recipe world after Malik et al. 2018's ChefWorld: θ is the recipe the human wants.
    Chef {
        /// The number of ingredients (≤ 8).
        ingredients: usize,
        /// Ingredients per recipe.
        recipe_size: usize,
        /// γ.
        discount: f64,
        /// The number of decisions.
        horizon: usize,
        /// The reward for completing θ's recipe.
        serve_reward: f64,
        /// The cost of preparing an ingredient θ does not use.
        waste_cost: f64,
        /// The cost of each step before the dish is complete.
        step_cost: f64,
        /// The human: coordinated, coordinated-boltzmann:BETA, rational or boltzmann:BETA.
        human: String,
    },
    /// A seeded random CIRL game (coordinated human, simultaneous moves).
    Random {
        /// The number of world states.
        states: usize,
        /// The number of human actions.
        human_actions: usize,
        /// The number of robot actions.
        robot_actions: usize,
        /// The number of reward parameters θ (uniform prior).
        thetas: usize,
        /// γ.
        discount: f64,
        /// The number of decisions.
        horizon: usize,
        /// The generator's seed.
        seed: u64,
    },
}

/// Registered games: (name, description, config text).
pub const REGISTERED: [(&str, &str, &str); 7] = [
    (
        "tiger",
        "The tiger problem (Kaelbling, Littman & Cassandra 1998), discount 0.95",
        include_str!("../../experiments/games/tiger.toml"),
    ),
    (
        "offswitch",
        "The off-switch game (Hadfield-Menell et al. 2017) as a one-step CIRL game, prior discretised",
        include_str!("../../experiments/games/offswitch.toml"),
    ),
    (
        "red-blue",
        "Red-blue (Shah et al. 2020): wait, watch the human choose a colour, follow",
        include_str!("../../experiments/games/red-blue.toml"),
    ),
    (
        "wormy-apples",
        "Wormy apples (Shah et al. 2020): query about the bin only if the apples are wormy (two_phase: ask first)",
        include_str!("../../experiments/games/wormy-apples.toml"),
    ),
    (
        "meal-choice",
        "Meal choice (Shah et al. 2020): wait for the human's return to ask, or guess the pie",
        include_str!("../../experiments/games/meal-choice.toml"),
    ),
    (
        "chef",
        "A recipe world after Malik et al. 2018: learn the recipe from the human's first ingredients",
        include_str!("../../experiments/games/chef.toml"),
    ),
    (
        "random",
        "A seeded random small CIRL game (coordinated human) for tests and benchmarks",
        include_str!("../../experiments/games/random.toml"),
    ),
];

/// The parameters a `.pomdp` file accepts in `--set`.
pub const POMDP_KEYS: [&str; 2] = ["discount", "horizon"];

/// A game spec's error without a position (from a table, after the overrides): its message on one line.
fn config_error(name: &str, e: impl std::fmt::Display) -> Error {
    Error::Config {
        path: format!("game {name}"),
        message: crate::error::one_line(&e.to_string()),
    }
}

/// Parses a `--set` value as a TOML scalar (number, bool), falling back to a string.
fn toml_scalar(v: &str) -> toml::Value {
    match toml::from_str::<toml::Table>(&format!("x = {v}")) {
        Ok(t) => t
            .get("x")
            .cloned()
            .unwrap_or_else(|| toml::Value::String(v.into())),
        Err(_) => toml::Value::String(v.into()),
    }
}

/// Reads a game config (TOML with a `game` tag) with overrides applied.
pub fn spec_from_toml(name: &str, text: &str, sets: &[(String, String)]) -> Result<GameSpec> {
    let base: toml::Table = toml::from_str(text)
        .map_err(|e| crate::error::toml_error(&format!("game {name}"), text, &e))?;
    let result = apply_sets(base.clone(), sets).and_then(|t| {
        GameSpec::deserialize(toml::Value::Table(t)).map_err(|e| config_error(name, e))
    });
    let Err(err) = result else { return result };
    // Serde's message does not say which key was wrong: find the override without which the spec is valid.
    for (i, (k, v)) in sets.iter().enumerate() {
        let others: Vec<(String, String)> = sets
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, x)| x.clone())
            .collect();
        if let Ok(t) = apply_sets(base.clone(), &others)
            && GameSpec::deserialize(toml::Value::Table(t)).is_ok()
        {
            let message = match &err {
                Error::Config { message, .. } => message.clone(),
                other => other.to_string(),
            };
            if !base.contains_key(k) && message.contains(&format!("unknown field `{k}`")) {
                let known: Vec<&str> = base
                    .keys()
                    .map(String::as_str)
                    .filter(|x| *x != "game")
                    .collect();
                return Err(Error::invalid(
                    format!("--set {k}"),
                    format!(
                        "game {name} has no parameter '{k}'; its parameters: {}",
                        known.join(", ")
                    ),
                ));
            }
            let has = base
                .get(k)
                .map(|x| format!(" (the config has {x})"))
                .unwrap_or_default();
            return Err(Error::invalid(
                format!("--set {k}"),
                format!("'{v}' rejected: {message}{has}"),
            ));
        }
    }
    Err(err)
}

fn apply_sets(mut table: toml::Table, sets: &[(String, String)]) -> Result<toml::Table> {
    for (k, v) in sets {
        if k == "game" {
            return Err(Error::invalid(
                "--set game",
                "the game is chosen by MODEL, not by --set",
            ));
        }
        if v == "none" {
            table.remove(k);
        } else {
            table.insert(k.clone(), toml_scalar(v));
        }
    }
    Ok(table)
}

fn human_kind(s: &str) -> Result<HumanSpec> {
    HumanSpec::parse(s)
}

/// Discretises a prior over U for the off-switch game: normal by a Gauss–Hermite rule, uniform by
/// Gauss–Legendre (`points` nodes each), discrete as is.
pub fn discretise(prior: &Prior, points: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    crate::limits::check_count(
        "--set points",
        points as u64,
        crate::limits::MAX_DISCRETISATION_POINTS as u64,
        "discretisation points",
        "use fewer (the quadrature is exact for smooth beliefs long before that)",
    )?;
    if points == 0 {
        return Err(Error::invalid("points", "need at least one point"));
    }
    Ok(match prior {
        Prior::Normal { mu, sigma } => {
            let r = gauss_hermite_prob(points);
            (r.nodes.iter().map(|z| mu + sigma * z).collect(), r.weights)
        }
        Prior::Uniform { lo, hi } => {
            let r = gauss_legendre(points);
            (
                r.nodes
                    .iter()
                    .map(|x| lo + (hi - lo) * (x + 1.0) / 2.0)
                    .collect(),
                r.weights.iter().map(|w| w / 2.0).collect(),
            )
        }
        Prior::Discrete { values, probs } => (values.clone(), probs.clone()),
        other => {
            return Err(Error::invalid(
                "prior",
                format!(
                    "a {} prior cannot be discretised here; use normal, uniform or discrete",
                    other.kind()
                ),
            ));
        }
    })
}

impl GameSpec {
    /// The spec's horizon, if it has one.
    fn horizon(&self) -> Option<usize> {
        match self {
            GameSpec::Tiger { horizon, .. } => *horizon,
            GameSpec::Offswitch { .. } => None,
            GameSpec::RedBlue { horizon, .. }
            | GameSpec::WormyApples { horizon, .. }
            | GameSpec::MealChoice { horizon, .. }
            | GameSpec::Chef { horizon, .. }
            | GameSpec::Random { horizon, .. } => Some(*horizon),
        }
    }

    /// Builds the model.
    pub fn build(&self) -> Result<Model> {
        use assistance::*;
        // Before anything is built: a time-indexed game allocates a state per step.
        crate::model::check_horizon("--set horizon", self.horizon())?;
        let unit = |field: &str, x: f64| -> Result<f64> {
            if (0.0..=1.0).contains(&x) {
                Ok(x)
            } else {
                Err(Error::invalid(field, format!("must be in [0, 1], got {x}")))
            }
        };
        Ok(match self {
            GameSpec::Tiger { discount, horizon } => {
                let mut m = pomdp_format::parse(
                    include_str!("../../experiments/models/tiger.pomdp"),
                    "tiger",
                )?;
                m.name = "tiger".into();
                m.discount = unit("discount", *discount)?;
                m.horizon = *horizon;
                m.check()?;
                Model::Pomdp(m)
            }
            GameSpec::Offswitch {
                prior,
                points,
                human,
            } => {
                let p = Prior::parse(prior)?;
                let (values, probs) = discretise(&p, *points)?;
                let beta = match human_kind(human)? {
                    HumanSpec::Coordinated => None,
                    HumanSpec::Boltzmann(b) | HumanSpec::CoordinatedBoltzmann(b) => Some(b),
                    HumanSpec::Env => Some(0.0),
                };
                let g = offswitch_game(&values, &probs, beta);
                g.check()?;
                Model::Cirl(g)
            }
            GameSpec::RedBlue {
                discount,
                horizon,
                human,
            } => Model::Cirl(red_blue(
                unit("discount", *discount)?,
                *horizon,
                human_kind(human)?,
            )?),
            GameSpec::WormyApples {
                discount,
                horizon,
                two_phase,
                query_cost,
                wormy_probability,
                pie_reward,
                wrong_bin_cost,
                human,
            } => Model::Cirl(wormy_apples(
                WormyApples {
                    discount: unit("discount", *discount)?,
                    horizon: *horizon,
                    two_phase: *two_phase,
                    query_cost: *query_cost,
                    wormy_probability: unit("wormy_probability", *wormy_probability)?,
                    pie_reward: *pie_reward,
                    wrong_bin_cost: *wrong_bin_cost,
                },
                human_kind(human)?,
            )?),
            GameSpec::MealChoice {
                discount,
                horizon,
                feedback_time,
                two_phase,
                prior_apple,
                query_cost,
                right_pie,
                wrong_pie,
                human,
            } => Model::Cirl(meal_choice(
                MealChoice {
                    discount: unit("discount", *discount)?,
                    horizon: *horizon,
                    feedback_time: *feedback_time,
                    two_phase: *two_phase,
                    prior_apple: unit("prior_apple", *prior_apple)?,
                    query_cost: *query_cost,
                    right_pie: *right_pie,
                    wrong_pie: *wrong_pie,
                },
                human_kind(human)?,
            )?),
            GameSpec::Chef {
                ingredients,
                recipe_size,
                discount,
                horizon,
                serve_reward,
                waste_cost,
                step_cost,
                human,
            } => Model::Cirl(chef(
                Chef {
                    ingredients: *ingredients,
                    recipe_size: *recipe_size,
                    discount: unit("discount", *discount)?,
                    horizon: *horizon,
                    serve_reward: *serve_reward,
                    waste_cost: *waste_cost,
                    step_cost: *step_cost,
                },
                human_kind(human)?,
            )?),
            GameSpec::Random {
                states,
                human_actions,
                robot_actions,
                thetas,
                discount,
                horizon,
                seed,
            } => {
                if [*states, *human_actions, *robot_actions, *thetas].contains(&0) {
                    return Err(Error::invalid(
                        "states",
                        "states, human_actions, robot_actions and thetas must be ≥ 1",
                    ));
                }
                let (s, h, r, t) = (
                    *states as f64,
                    *human_actions as f64,
                    *robot_actions as f64,
                    *thetas as f64,
                );
                crate::limits::check_table(
                    "--set states",
                    s * s * h * r + t * s * h * r,
                    &format!(
                        "a random game of {states} states, {human_actions} × {robot_actions} actions and {thetas} θ"
                    ),
                )?;
                crate::limits::check_count(
                    "--set thetas",
                    *thetas as u64,
                    64,
                    "reward parameters θ",
                    "use fewer",
                )?;
                let mut rng = crate::rng::job_rng(*seed, 0);
                let g = random_game(
                    *states,
                    *human_actions,
                    *robot_actions,
                    *thetas,
                    unit("discount", *discount)?,
                    *horizon,
                    &mut rng,
                );
                g.check()?;
                Model::Cirl(g)
            }
        })
    }
}

/// Loads a registered game or a `.pomdp` file and applies `key=value` overrides.
pub fn load(spec: &str, sets: &[(String, String)]) -> Result<Model> {
    if let Some((name, _, text)) = REGISTERED.iter().find(|r| r.0 == spec) {
        return spec_from_toml(name, text, sets)?.build();
    }
    if spec.ends_with(".toml") {
        let text = crate::input::read_text(
            std::path::Path::new(spec),
            crate::input::MAX_TOML_BYTES,
            "model",
        )?;
        return spec_from_toml(spec, &text, sets)?.build();
    }
    if !(spec.ends_with(".pomdp") || Path::new(spec).exists()) {
        return Err(Error::invalid(
            "MODEL",
            format!(
                "'{spec}' is neither a registered game ({}) nor a .pomdp or game .toml file",
                REGISTERED
                    .iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let mut m = pomdp_format::read(Path::new(spec))?;
    for (k, v) in sets {
        match k.as_str() {
            "discount" => {
                m.discount = v
                    .parse::<f64>()
                    .ok()
                    .filter(|d| (0.0..=1.0).contains(d))
                    .ok_or_else(|| {
                        Error::invalid(
                            "--set discount",
                            format!("must be a number in [0, 1], got '{v}'"),
                        )
                    })?;
            }
            "horizon" => {
                m.horizon = match v.as_str() {
                    "none" | "inf" => None,
                    _ => Some(v.parse::<usize>().map_err(|_| {
                        Error::invalid(
                            "--set horizon",
                            format!("must be a whole number of decisions or 'none', got '{v}'"),
                        )
                    })?),
                }
            }
            other => {
                return Err(Error::invalid(
                    format!("--set {other}"),
                    format!(
                        "unknown parameter for a .pomdp file; it takes {}",
                        POMDP_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    m.check()?;
    Ok(Model::Pomdp(m))
}

/// Parses `key=value`.
pub fn parse_set(s: &str) -> Result<(String, String)> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Error::invalid("--set", format!("expected key=value, got '{s}'")))
}
