//! Assistance games as tabular CIRL games.
//!
//! `red-blue`, `wormy-apples` and `meal-choice` follow the environments of Shah et al. 2020 as specified in the
//! public HumanCompatibleAI/assistance-games code (envs/redblue.py, envs/wormy_apples.py, envs/meal_choice_graph.py,
//! read at commit 7b59ba1): the same states, actions, transitions, rewards, priors, horizons and discounts, and
//! the same human policy, which responds to the robot's current action ([`Timing::HumanResponds`]). Rewards
//! there depend on (s, a^H, a^R, s'); here R(s, a^H, a^R; θ) is their expectation over s'. `chef` is a recipe
//! world in the spirit of Malik et al. 2018's ChefWorld (its exact layout is not public; ours is documented in
//! experiments/games/chef.toml).

// Builders index several parallel tables by the same (θ, s, a^H, a^R) indices.
#![allow(clippy::needless_range_loop)]

use crate::error::{Error, Result};
use crate::model::cirl::{CirlGame, Human, Table4, Timing};
use crate::numerics::softmax;

/// How the human of a registered game behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HumanSpec {
    /// The game's own fixed policy (the published environment's human).
    Env,
    /// CIRL's optimal partner (coordinated decision rules).
    Coordinated,
    /// The partner, Boltzmann-rational with temperature β over the joint plan's Q-values (Malik et al. 2018).
    CoordinatedBoltzmann(f64),
    /// A fixed human, Boltzmann-rational with temperature β over the full-information team Q-values (β = 0:
    /// rational).
    Boltzmann(f64),
}

impl HumanSpec {
    /// Parses `env`, `coordinated`, `rational`, `boltzmann:β` or `coordinated-boltzmann:β`.
    pub fn parse(s: &str) -> Result<Self> {
        let bad = || {
            Error::invalid(
                "human",
                format!(
                    "'{s}' is not a human: use env, coordinated, rational, boltzmann:BETA or coordinated-boltzmann:BETA (BETA ≥ 0)"
                ),
            )
        };
        let beta = |x: &str| {
            x.trim()
                .parse::<f64>()
                .ok()
                .filter(|b| b.is_finite() && *b >= 0.0)
                .ok_or_else(bad)
        };
        Ok(match s.trim() {
            "env" => HumanSpec::Env,
            "coordinated" => HumanSpec::Coordinated,
            "rational" => HumanSpec::Boltzmann(0.0),
            other => match other.split_once(':') {
                Some(("boltzmann", b)) => HumanSpec::Boltzmann(beta(b)?),
                Some(("coordinated-boltzmann", b)) => HumanSpec::CoordinatedBoltzmann(beta(b)?),
                _ => return Err(bad()),
            },
        })
    }
}

/// A game's tables before the human is chosen.
pub struct Builder {
    /// The game's name.
    pub name: String,
    /// The world states' names.
    pub states: Vec<String>,
    /// The human's actions' names.
    pub human_actions: Vec<String>,
    /// The robot's actions' names.
    pub robot_actions: Vec<String>,
    /// The reward parameters' names.
    pub thetas: Vec<String>,
    /// The prior over θ.
    pub prior: Vec<f64>,
    /// The distribution of the initial state.
    pub initial_state: Vec<f64>,
    /// γ.
    pub discount: f64,
    /// The number of decisions (none: infinite horizon).
    pub horizon: Option<usize>,
}

impl Builder {
    /// Builds the game from T(s, a^H, a^R) as (s', p) pairs, a reward R(s, a^H, a^R, s'; θ), and the game's
    /// own human policy π(s, a^R, θ) → a^H (if it has one).
    pub fn build(
        self,
        trans: impl Fn(usize, usize, usize) -> Vec<(usize, f64)>,
        reward: impl Fn(usize, usize, usize, usize, usize) -> f64,
        env_human: Option<&dyn Fn(usize, usize, usize) -> usize>,
        human: HumanSpec,
    ) -> Result<CirlGame> {
        let (ns, nh, nr, nt) = (
            self.states.len(),
            self.human_actions.len(),
            self.robot_actions.len(),
            self.thetas.len(),
        );
        // The dense tables below, sized before they are allocated: a time-indexed game has a state per step, so
        // its transition table grows with the square of the horizon.
        let (s, h, a, th) = (ns as f64, nh as f64, nr as f64, nt as f64);
        crate::limits::check_table(
            if self.horizon.is_some() {
                "--set horizon"
            } else {
                "--set"
            },
            s * s * h * a + 2.0 * th * s * h * a,
            &format!(
                "`{}` with {ns} states ({nh} × {nr} actions, {nt} θ; a state per world and step)",
                self.name
            ),
        )?;
        let mut t = vec![vec![vec![vec![0.0; ns]; nr]; nh]; ns];
        let mut r = vec![vec![vec![vec![0.0; nr]; nh]; ns]; nt];
        for s in 0..ns {
            for h in 0..nh {
                for a in 0..nr {
                    for (sp, p) in trans(s, h, a) {
                        t[s][h][a][sp] += p;
                        for th in 0..nt {
                            r[th][s][h][a] += p * reward(s, h, a, sp, th);
                        }
                    }
                }
            }
        }
        let mut g = CirlGame {
            name: self.name,
            states: self.states,
            human_actions: self.human_actions,
            robot_actions: self.robot_actions,
            thetas: self.thetas,
            t,
            r,
            prior: self.prior,
            initial_state: self.initial_state,
            discount: self.discount,
            horizon: self.horizon,
            timing: Timing::HumanResponds,
            human: Human::Coordinated,
        };
        g.human = match human {
            HumanSpec::Coordinated => Human::Coordinated,
            HumanSpec::CoordinatedBoltzmann(b) => Human::CoordinatedBoltzmann(b),
            HumanSpec::Boltzmann(b) => Human::Policy(team_boltzmann(&g, b)),
            HumanSpec::Env => match env_human {
                Some(f) => {
                    let mut p = vec![vec![vec![vec![0.0; nh]; nr]; ns]; nt];
                    for th in 0..nt {
                        for s in 0..ns {
                            for a in 0..nr {
                                p[th][s][a][f(s, a, th)] = 1.0;
                            }
                        }
                    }
                    Human::Policy(p)
                }
                None => {
                    return Err(Error::invalid(
                        "human",
                        format!(
                            "{} has no published human policy; use coordinated, rational, boltzmann:BETA or coordinated-boltzmann:BETA",
                            g.name
                        ),
                    ));
                }
            },
        };
        g.check()?;
        Ok(g)
    }
}

/// A fixed human that is Boltzmann-rational (temperature β, β = 0 rational with ties split) over the team's
/// full-information Q-values Q(s, a^R, a^H; θ) = R + γ·Σ T·V_θ, where V_θ is the value of the fully observed
/// team MDP for θ with horizon − 1 steps left (or converged to 1e-12 without a horizon). With the human-responds
/// timing it responds to the robot's action; with simultaneous moves it maximises over a^R as well.
pub fn team_boltzmann(g: &CirlGame, beta: f64) -> Table4 {
    let (ns, nh, nr, nt) = (
        g.states.len(),
        g.human_actions.len(),
        g.robot_actions.len(),
        g.thetas.len(),
    );
    let q_of = |th: usize, v: &[f64], s: usize, h: usize, a: usize| {
        g.r[th][s][h][a] + g.discount * (0..ns).map(|sp| g.t[s][h][a][sp] * v[sp]).sum::<f64>()
    };
    let mut p = vec![vec![vec![vec![0.0; nh]; nr]; ns]; nt];
    for th in 0..nt {
        let mut v = vec![0.0; ns];
        let iters = match g.horizon {
            Some(h) => h.saturating_sub(1),
            None => 10_000,
        };
        for _ in 0..iters {
            let nv: Vec<f64> = (0..ns)
                .map(|s| {
                    (0..nh)
                        .flat_map(|h| (0..nr).map(move |a| (h, a)))
                        .map(|(h, a)| q_of(th, &v, s, h, a))
                        .fold(f64::NEG_INFINITY, f64::max)
                })
                .collect();
            let change = nv
                .iter()
                .zip(&v)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f64::max);
            v = nv;
            if g.horizon.is_none() && change < 1e-12 {
                break;
            }
        }
        for s in 0..ns {
            for a in 0..nr {
                let q: Vec<f64> = match g.timing {
                    Timing::HumanResponds => (0..nh).map(|h| q_of(th, &v, s, h, a)).collect(),
                    Timing::Simultaneous => (0..nh)
                        .map(|h| {
                            (0..nr)
                                .map(|b| q_of(th, &v, s, h, b))
                                .fold(f64::NEG_INFINITY, f64::max)
                        })
                        .collect(),
                };
                p[th][s][a] = softmax(&q, beta);
            }
        }
    }
    p
}

fn names(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|x| x.to_string()).collect()
}

fn one_hot(n: usize, i: usize) -> Vec<f64> {
    let mut v = vec![0.0; n];
    v[i] = 1.0;
    v
}

/// Red-blue (Shah et al. 2020): the human walks to a junction and then to the red or the blue door; the robot
/// can go to the red or the blue button at once or wait. Each of them scores 1 by choosing θ's colour. The
/// robot's best plan waits, watches the human's choice, then follows it.
/// States (human position h ∈ 0..4, robot position r ∈ 0..3) indexed 3h + r.
pub fn red_blue(discount: f64, horizon: usize, human: HumanSpec) -> Result<CirlGame> {
    let states = (0..4)
        .flat_map(|h| {
            let hp = ["start", "junction", "at-red", "at-blue"][h];
            (0..3).map(move |r| format!("H:{hp},R:{}", ["start", "at-red", "at-blue"][r]))
        })
        .collect();
    let b = Builder {
        name: "red-blue".into(),
        states,
        human_actions: names(&["red", "blue"]),
        robot_actions: names(&["red", "blue", "wait"]),
        thetas: names(&["red", "blue"]),
        prior: vec![0.5, 0.5],
        initial_state: one_hot(12, 0),
        discount,
        horizon: Some(horizon),
    };
    let trans = |s: usize, ah: usize, ar: usize| {
        let (h, r) = (s / 3, s % 3);
        let nh = match h {
            0 => 1,
            1 => ah + 2,
            _ => h,
        };
        let nr = if r >= 1 { r } else { (ar + 1) % 3 };
        vec![(nh * 3 + nr, 1.0)]
    };
    let reward = |s: usize, ah: usize, ar: usize, _sp: usize, th: usize| {
        let (h, r) = (s / 3, s % 3);
        (h == 1 && ah == th) as u8 as f64 + (r == 0 && ar == th) as u8 as f64
    };
    // The published human: at the junction, the colour θ; elsewhere action 0.
    let env = |s: usize, _ar: usize, th: usize| if s / 3 == 1 { th } else { 0 };
    b.build(trans, reward, Some(&env), human)
}

/// Parameters of wormy-apples.
#[derive(Debug, Clone, Copy)]
pub struct WormyApples {
    /// γ.
    pub discount: f64,
    /// The number of decisions.
    pub horizon: usize,
    /// Whether the human answers queries only in the start state (reward learning, not assistance).
    pub two_phase: bool,
    /// The cost of a query.
    pub query_cost: f64,
    /// P(wormy apples) after get-apple.
    pub wormy_probability: f64,
    /// The reward for making the pie.
    pub pie_reward: f64,
    /// The cost of putting the worms in the bin the human does not want.
    pub wrong_bin_cost: f64,
}

/// Wormy apples (Shah et al. 2020): get apples (wormy with probability 0.2), dispose of wormy ones in the bin
/// the human prefers (compost or trash, θ), make pie. The robot may query (cost 0.1); the human answers only a
/// query, and with `two_phase` only in the initial state (reward learning before acting) — so the assistance
/// robot can query only when it needs to.
pub fn wormy_apples(p: WormyApples, human: HumanSpec) -> Result<CirlGame> {
    const INIT: usize = 0;
    const CLEAN: usize = 1;
    const WORMY: usize = 2;
    const COMPOST: usize = 3;
    const TRASH: usize = 4;
    const PIE: usize = 5;
    // Robot actions: noop, get-apple, toss-compost, toss-trash, make-pie, query. Human: noop, compost, trash.
    let b = Builder {
        name: "wormy-apples".into(),
        states: names(&[
            "start",
            "clean-apples",
            "wormy-apples",
            "worms-in-compost",
            "worms-in-trash",
            "pie",
        ]),
        human_actions: names(&["noop", "compost", "trash"]),
        robot_actions: names(&[
            "noop",
            "get-apple",
            "toss-compost",
            "toss-trash",
            "make-pie",
            "query",
        ]),
        thetas: names(&["compost", "trash"]),
        prior: vec![0.5, 0.5],
        initial_state: one_hot(6, INIT),
        discount: p.discount,
        horizon: Some(p.horizon),
    };
    let q = p.wormy_probability;
    let trans = move |s: usize, _ah: usize, ar: usize| match (s, ar) {
        (INIT, 1) => vec![(CLEAN, 1.0 - q), (WORMY, q)],
        (CLEAN, 4) | (COMPOST, 4) | (TRASH, 4) => vec![(PIE, 1.0)],
        (WORMY, 2) => vec![(COMPOST, 1.0)],
        (WORMY, 3) => vec![(TRASH, 1.0)],
        _ => vec![(s, 1.0)],
    };
    let reward = move |s: usize, _ah: usize, ar: usize, sp: usize, th: usize| {
        let mut x = 0.0;
        if s != sp {
            if (sp == COMPOST && th != 0) || (sp == TRASH && th != 1) {
                x -= p.wrong_bin_cost;
            } else if sp == PIE {
                x += p.pie_reward;
            }
        }
        if ar == 5 {
            x -= p.query_cost;
        }
        x
    };
    let two_phase = p.two_phase;
    let env = move |s: usize, ar: usize, th: usize| {
        if ar == 5 && !(two_phase && s != INIT) {
            th + 1
        } else {
            0
        }
    };
    b.build(trans, reward, Some(&env), human)
}

/// Parameters of meal-choice.
#[derive(Debug, Clone, Copy)]
pub struct MealChoice {
    /// γ.
    pub discount: f64,
    /// The number of decisions.
    pub horizon: usize,
    /// The first step at which the human answers a query.
    pub feedback_time: usize,
    /// Whether the human answers queries only while the robot has not started cooking (the flour is untouched):
    /// reward learning — all feedback before any control — not assistance.
    pub two_phase: bool,
    /// P(θ = apple).
    pub prior_apple: f64,
    /// The cost of a query.
    pub query_cost: f64,
    /// The reward for serving θ's pie.
    pub right_pie: f64,
    /// The reward for serving the other pie.
    pub wrong_pie: f64,
}

/// Meal choice (Shah et al. 2020): flour → dough → apple or blueberry pie → served. The human (θ: which pie) is
/// away until `feedback_time` and answers a query only after that; the robot must decide whether to wait and ask
/// or to guess; with `two_phase` (reward learning) it must also ask before it starts cooking. States (world, time)
/// with time 0..=horizon, indexed time·5 + world.
pub fn meal_choice(p: MealChoice, human: HumanSpec) -> Result<CirlGame> {
    const WORLDS: [&str; 5] = ["flour", "dough", "apple", "blueberry", "end"];
    let nw = WORLDS.len();
    let ns = nw * (p.horizon + 1);
    let b = Builder {
        name: "meal-choice".into(),
        states: (0..ns)
            .map(|i| format!("{}@t{}", WORLDS[i % nw], i / nw))
            .collect(),
        human_actions: names(&["noop", "apple", "blueberry"]),
        robot_actions: names(&["noop", "create1", "create2", "query"]),
        thetas: names(&["apple", "blueberry"]),
        prior: vec![p.prior_apple, 1.0 - p.prior_apple],
        initial_state: one_hot(ns, 0),
        discount: p.discount,
        horizon: Some(p.horizon),
    };
    let horizon = p.horizon;
    let trans = move |s: usize, _ah: usize, ar: usize| {
        let (w, t) = (s % nw, s / nw);
        if t >= horizon {
            return vec![(s, 1.0)];
        }
        let nw2 = match (ar, w) {
            (0, _) | (3, _) => w,
            (1, 1) => 2,
            (2, 1) => 3,
            (_, 0) => 1,
            (_, 2) | (_, 3) | (_, 4) => 4,
            _ => w,
        };
        vec![((t + 1) * nw + nw2, 1.0)]
    };
    let reward = move |s: usize, _ah: usize, ar: usize, sp: usize, th: usize| {
        let mut x = 0.0;
        if ar == 3 {
            x -= p.query_cost;
        }
        let (w, w2) = (s % nw, sp % nw);
        if w2 == 4 && w != 4 {
            // Serving the pie the human wanted (world apple = 2 ↔ θ apple = 0).
            x += if w == th + 2 {
                p.right_pie
            } else {
                p.wrong_pie
            };
        }
        x
    };
    let (ft, two_phase) = (p.feedback_time, p.two_phase);
    let env = move |s: usize, ar: usize, th: usize| {
        const FLOUR: usize = 0;
        let cooking = s % nw != FLOUR;
        if s / nw >= ft && ar == 3 && !(two_phase && cooking) {
            th + 1
        } else {
            0
        }
    };
    b.build(trans, reward, Some(&env), human)
}

/// Parameters of the chef world.
#[derive(Debug, Clone, Copy)]
pub struct Chef {
    /// The number of ingredients (≤ 8).
    pub ingredients: usize,
    /// Ingredients per recipe.
    pub recipe_size: usize,
    /// γ.
    pub discount: f64,
    /// The number of decisions.
    pub horizon: usize,
    /// The reward for completing θ's recipe.
    pub serve_reward: f64,
    /// The cost of preparing an ingredient θ does not use.
    pub waste_cost: f64,
    /// The cost of each step before the dish is complete.
    pub step_cost: f64,
}

/// A recipe world after Malik et al. 2018's ChefWorld. There are `ingredients` ingredients; θ is the recipe the
/// human wants, one of the C(ingredients, recipe_size) sets (uniform prior). Each step the human and the robot
/// each prepare one ingredient or wait (simultaneously in effect: both act on the current kitchen). Preparing an
/// ingredient not in θ costs `waste_cost`; every step before the dish is served costs `step_cost`; when the
/// prepared set contains θ the dish is served (`serve_reward`) and nothing more happens (no further rewards
/// for that θ). The human's first moves show the robot which recipe it is making. States: the set of prepared
/// ingredients (a bitmask, 2^ingredients states).
pub fn chef(p: Chef, human: HumanSpec) -> Result<CirlGame> {
    let k = p.ingredients;
    if !(1..=8).contains(&k) || p.recipe_size == 0 || p.recipe_size > k {
        return Err(Error::invalid(
            "ingredients",
            format!(
                "need 1 ≤ recipe_size ≤ ingredients ≤ 8, got recipe_size {} and ingredients {k}",
                p.recipe_size
            ),
        ));
    }
    let letters: Vec<char> = "ABCDEFGH".chars().collect();
    let recipes: Vec<usize> = (0..1usize << k)
        .filter(|m| m.count_ones() as usize == p.recipe_size)
        .collect();
    let set_name = |m: usize| -> String {
        let s: String = (0..k)
            .filter(|i| m >> i & 1 == 1)
            .map(|i| letters[i])
            .collect();
        if s.is_empty() { "∅".into() } else { s }
    };
    let ns = 1usize << k;
    let mut actions = vec!["wait".to_string()];
    actions.extend((0..k).map(|i| format!("prep-{}", letters[i])));
    let states: Vec<String> = (0..ns)
        .map(|m| format!("prepared:{}", set_name(m)))
        .collect();
    let nt = recipes.len();
    let b = Builder {
        name: "chef".into(),
        states,
        human_actions: actions.clone(),
        robot_actions: actions,
        thetas: recipes
            .iter()
            .map(|&m| format!("recipe:{}", set_name(m)))
            .collect(),
        prior: vec![1.0 / nt as f64; nt],
        initial_state: one_hot(ns, 0),
        discount: p.discount,
        horizon: Some(p.horizon),
    };
    let recipes2 = recipes.clone();
    // T cannot depend on θ, so "served" is not a state: R pays serve_reward on the step that completes θ's
    // recipe and nothing afterwards (a completed recipe stays complete).
    let trans = move |s: usize, ah: usize, ar: usize| {
        let mut m = s;
        if ah > 0 {
            m |= 1 << (ah - 1);
        }
        if ar > 0 {
            m |= 1 << (ar - 1);
        }
        vec![(m, 1.0)]
    };
    let reward = move |s: usize, ah: usize, ar: usize, sp: usize, th: usize| {
        let want = recipes2[th];
        if s & want == want {
            // Already served for this θ: nothing more happens.
            return 0.0;
        }
        let mut x = -p.step_cost;
        for a in [ah, ar] {
            if a > 0 && (want >> (a - 1) & 1) == 0 && (s >> (a - 1) & 1) == 0 {
                x -= p.waste_cost;
            }
        }
        if ah > 0 && ar > 0 && ah == ar && (want >> (ah - 1) & 1) == 0 && (s >> (ah - 1) & 1) == 0 {
            // Both prepared the same unwanted ingredient: it is wasted once.
            x += p.waste_cost;
        }
        if sp & want == want {
            x += p.serve_reward;
        }
        x
    };
    b.build(trans, reward, None, human)
}
