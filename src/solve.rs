//! `cirl solve`: one entry point for every model and solver, returning a serializable report.
//!
//! | solver   | POMDP / `.pomdp`                | CIRL game, coordinated human          | CIRL game, fixed human |
//! |----------|---------------------------------|---------------------------------------|------------------------|
//! | `exact`  | exact VI (incremental pruning)  | generalized backup (Malik et al.)     | state-factored backup  |
//! | `naive`  | exact VI                        | exact VI on the coordinator reduction | exact VI on the reduction |
//! | `pbvi`   | PBVI, lower and upper bounds    | PBVI on the reduction                 | PBVI on the reduction |
//! | `sarsop` | anytime point-based (HSVI2/SARSOP), sparse tables | on the POMDP reduction  | on the reduction |
//! | `mdp`    | VI with the state observed      | VI on the reduction (θ known)         | VI on the reduction |
//!
//! The seam is [`Solver::solve`]: a model and [`Settings`] in, a [`Solution`] (values, bounds and the [`Policy`])
//! out. [`run`] adds what `cirl solve` asks on top — rollouts of the policy by [`crate::sim`], recorded
//! histories — and returns a [`Report`], which the CLI prints as text or serializes as `--json`.
//!
//! ```
//! use cirl::solve::{Settings, Solver};
//!
//! let tiger = cirl::games::load("tiger", &[]).unwrap();
//! let exact = Solver::Exact.solve(&tiger, &Settings::default()).unwrap();
//! let pbvi = Solver::Pbvi.solve(&tiger, &Settings::default()).unwrap();
//! let (lo, hi) = (pbvi.lower.unwrap(), pbvi.upper.unwrap());
//! let tol = exact.error_bound + 1e-9;
//! assert!(lo - tol <= exact.value && exact.value <= hi + tol);
//! ```

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::games::Model;
use crate::model::Tabular;
use crate::model::cirl::{CirlGame, Human, ReductionSize};
use crate::model::sparse::Sparse;
use crate::sim::Returns;
use crate::solvers::{AlphaSet, exact, generalized, mdp, pbvi, sarsop};

/// The solvers `cirl solve` knows (a closed set: a new one is a variant, and every `match` on it says what it
/// needs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Solver {
    /// The generalized backup for a coordinated CIRL game, exact value iteration otherwise (the default).
    #[default]
    Exact,
    /// Exact value iteration on the coordinator reduction.
    Naive,
    /// Point-based value iteration with lower and upper bounds.
    Pbvi,
    /// Anytime point-based search (HSVI2 / SARSOP ideas) on sparse tables, discounted models.
    Sarsop,
    /// Value iteration with the state observed (the full-information value).
    Mdp,
}

/// How a solver runs: typed settings with documented defaults ([`Default`]), which `cirl solve`'s flags read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Discounted infinite-horizon models: stop when the error bound (exact, naive, mdp) or the bound gap (pbvi)
    /// is below it. Default 1e-6; PBVI stops at 1e-9 at the finest.
    pub tolerance: f64,
    /// PBVI: the number of belief points. Default 200.
    pub max_beliefs: usize,
    /// PBVI's belief expansion, and in [`run`] the simulated episodes (episode i uses the seed's stream i).
    /// Default 0.
    pub seed: u64,
    /// sarsop: stop after this many seconds with the bounds and policy reached (also on Ctrl-C, which sets
    /// [`sarsop::INTERRUPT`]). Default: none (until the tolerance).
    pub timeout: Option<f64>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tolerance: exact::ExactOptions::default().tolerance,
            max_beliefs: pbvi::PbviOptions::default().max_beliefs,
            seed: pbvi::PbviOptions::default().seed,
            timeout: None,
        }
    }
}

/// A computed policy, in the form its solver produced it.
#[derive(Debug, Clone)]
pub enum Policy {
    /// Alpha vectors per decision stage over a tabular model (the POMDP, or the CIRL game's reduction): act with
    /// the action of the vector maximising α·b.
    Alpha {
        /// The model the vectors are over.
        model: Tabular,
        /// `stages[t]` is used at decision t (a single stage: at every decision).
        stages: Vec<AlphaSet>,
    },
    /// The MDP solver's Q-values, one vector per action: a policy only where the state is observed, so it is
    /// exported but not simulated.
    Observed {
        /// The model the vectors are over.
        model: Tabular,
        /// One stage: a vector per action.
        stages: Vec<AlphaSet>,
    },
    /// Alpha vectors over a model too big for its dense form (sarsop on large sparse models): exported, not
    /// simulated.
    Sparse {
        /// The model the vectors are over.
        model: Sparse,
        /// One stationary stage.
        stages: Vec<AlphaSet>,
    },
    /// The generalized backup's conditional plans over θ (world state observed).
    Plans(generalized::Solution),
    /// No robot policy (the full-information team value of a coordinated game).
    None,
}

/// What a solver returns: the value from the initial belief, its bounds and the policy.
#[derive(Debug, Clone)]
pub struct Solution {
    /// What actually ran.
    pub method: String,
    /// Optimal expected discounted return from the initial belief (for pbvi: the lower bound; for mdp: the fully
    /// observed value).
    pub value: f64,
    /// A lower bound on the value, where the solver has one apart from `value`.
    pub lower: Option<f64>,
    /// An upper bound on the value, where the solver has one.
    pub upper: Option<f64>,
    /// Bound on the distance to the infinite-horizon value (0 for finite horizons).
    pub error_bound: f64,
    /// Backups or iterations.
    pub iterations: usize,
    /// Wall-clock seconds of the solve.
    pub seconds: f64,
    /// The anytime solver's run: times to gaps, the bounds over time, why it stopped.
    pub anytime: Option<Anytime>,
    /// The policy.
    pub policy: Policy,
}

/// How an anytime solve went.
#[derive(Debug, Clone, Serialize)]
pub struct Anytime {
    /// Why it stopped: precision, timeout, trials or interrupted.
    pub stop: sarsop::Stop,
    /// The first moment (seconds, trials, bounds) the gap at the initial belief was at most 0.1, 0.01, 0.001.
    pub gap_0_1: Option<sarsop::Progress>,
    /// See `gap_0_1`.
    pub gap_0_01: Option<sarsop::Progress>,
    /// See `gap_0_1`.
    pub gap_0_001: Option<sarsop::Progress>,
    /// The bounds after initialisation and whenever the gap shrank by 1% or more.
    pub trace: Vec<sarsop::Progress>,
    /// Seconds spent on the starting bounds (FIB and blind policies).
    pub init_seconds: f64,
    /// Trials run.
    pub trials: u64,
    /// Beliefs in the search graph.
    pub beliefs: usize,
    /// Points of the upper bound.
    pub upper_points: usize,
}

impl Solution {
    /// Alpha vectors (or plans) of the first decision's value function.
    pub fn vectors(&self) -> usize {
        match &self.policy {
            Policy::Alpha { stages, .. }
            | Policy::Observed { stages, .. }
            | Policy::Sparse { stages, .. } => stages.first().map_or(0, AlphaSet::len),
            Policy::Plans(sol) => sol.stages.first().map_or(0, |s| s.total()),
            Policy::None => 0,
        }
    }

    /// The first decision at the initial belief (for plans: in the most likely initial state); empty when the
    /// solution has no robot policy.
    pub fn initial_action(&self, model: &Model) -> String {
        match (&self.policy, model) {
            (Policy::Alpha { model: m, stages } | Policy::Observed { model: m, stages }, _) => {
                stages
                    .first()
                    .map(|s| m.actions[s.action(&m.initial)].clone())
                    .unwrap_or_default()
            }
            (Policy::Sparse { model: m, stages }, _) => stages
                .first()
                .map(|s| m.actions[s.action(&m.initial)].clone())
                .unwrap_or_default(),
            (Policy::Plans(sol), Model::Cirl(g)) => sol
                .stages
                .first()
                .map(|st| {
                    let s = (0..g.states.len())
                        .max_by(|&a, &b| g.initial_state[a].total_cmp(&g.initial_state[b]))
                        .unwrap_or(0);
                    g.robot_actions[st.sets[s][st.best(s, &g.prior).1].1.robot].clone()
                })
                .unwrap_or_default(),
            _ => String::new(),
        }
    }
}

impl Solver {
    /// Every solver, in `--solver`'s order.
    pub const ALL: [Solver; 5] = [
        Solver::Exact,
        Solver::Naive,
        Solver::Pbvi,
        Solver::Sarsop,
        Solver::Mdp,
    ];

    /// The name `--solver` and configs use.
    pub fn name(self) -> &'static str {
        match self {
            Solver::Exact => "exact",
            Solver::Naive => "naive",
            Solver::Pbvi => "pbvi",
            Solver::Sarsop => "sarsop",
            Solver::Mdp => "mdp",
        }
    }

    /// A solver by name (`--solver`).
    pub fn parse(s: &str) -> Result<Solver> {
        Solver::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                Error::invalid(
                    "--solver",
                    format!(
                        "unknown solver '{s}'; use one of {}",
                        Solver::ALL.map(Solver::name).join(", ")
                    ),
                )
            })
    }

    /// Whether this solver works on the game's own terms (the generalized backup, or the full-information team
    /// value) rather than on its POMDP reduction.
    fn native(self, g: &CirlGame) -> bool {
        self == Solver::Exact || (self == Solver::Mdp && g.human == Human::Coordinated)
    }

    /// Refuses a game this solver would solve differently from what it is: a CIRL game that starts in a random
    /// world state (which the robot observes) cannot go through the POMDP reduction.
    pub fn check_model(self, model: &Model) -> Result<()> {
        match model {
            Model::Cirl(g)
                if !self.native(g) && g.initial_state.iter().filter(|p| **p > 0.0).count() > 1 =>
            {
                Err(Error::invalid(
                    "initial_state",
                    format!(
                        "{} starts in a random world state, which the robot observes; the POMDP reduction cannot show it before the first action, so --solver {self} would solve a different game: use --solver exact, or start in one state",
                        g.name
                    ),
                ))
            }
            _ => Ok(()),
        }
    }

    /// Solves a model (see the module's table for what runs).
    pub fn solve(self, model: &Model, s: &Settings) -> Result<Solution> {
        check_settings(s)?;
        self.check_model(model)?;
        let start = Instant::now();
        let mut sol = match model {
            Model::Cirl(g) if self.native(g) => self.solve_game(g, s)?,
            Model::Cirl(_) if self == Solver::Sarsop => solve_sparse(
                &Sparse::from(&model.to_tabular()?),
                " on the POMDP reduction",
                s,
            )?,
            Model::Cirl(_) => {
                self.solve_tabular(model.to_tabular()?, " on the POMDP reduction", s)?
            }
            Model::Pomdp(m) if self == Solver::Sarsop => solve_sparse(m, "", s)?,
            Model::Pomdp(_) => self.solve_tabular(model.to_tabular()?, "", s)?,
        };
        sol.seconds = start.elapsed().as_secs_f64();
        Ok(sol)
    }

    fn solve_game(self, g: &CirlGame, s: &Settings) -> Result<Solution> {
        if self == Solver::Mdp {
            let (value, iterations, error_bound) = mdp::solve_team(g, s.tolerance)?;
            return Ok(Solution {
                method:
                    "team value iteration with θ observed (full-information value, an upper bound)"
                        .into(),
                value,
                lower: None,
                upper: Some(value),
                error_bound,
                iterations,
                seconds: 0.0,
                anytime: None,
                policy: Policy::None,
            });
        }
        let sol = generalized::solve(g, s.tolerance)?;
        let method = match g.human {
            Human::CoordinatedBoltzmann(b) => {
                format!("generalized backup, Boltzmann partner β = {b} (Malik et al. 2018)")
            }
            Human::Policy(_) => {
                "state-factored exact backup over θ, fixed human (world state observed)".into()
            }
            Human::Coordinated => "generalized backup (Malik et al. 2018)".into(),
        };
        Ok(Solution {
            method,
            value: sol.value,
            lower: None,
            upper: None,
            error_bound: sol.error_bound,
            iterations: sol.sizes.len(),
            seconds: 0.0,
            anytime: None,
            policy: Policy::Plans(sol),
        })
    }

    fn solve_tabular(self, m: Tabular, reduced: &str, s: &Settings) -> Result<Solution> {
        match self {
            Solver::Exact | Solver::Naive => {
                let sol = exact::solve(
                    &m,
                    &exact::ExactOptions {
                        tolerance: s.tolerance,
                        ..Default::default()
                    },
                )?;
                Ok(Solution {
                    method: format!("exact value iteration with incremental pruning{reduced}"),
                    value: sol.value,
                    lower: None,
                    upper: None,
                    error_bound: sol.error_bound,
                    iterations: sol.backups,
                    seconds: 0.0,
                    anytime: None,
                    policy: Policy::Alpha {
                        model: m,
                        stages: sol.stages,
                    },
                })
            }
            Solver::Pbvi => {
                let sol = pbvi::solve(
                    &m,
                    &pbvi::PbviOptions {
                        tolerance: s.tolerance.max(1e-9),
                        max_beliefs: s.max_beliefs,
                        seed: s.seed,
                        ..Default::default()
                    },
                )?;
                Ok(Solution {
                    method: format!(
                        "PBVI over {} beliefs with FIB + sawtooth upper bound{reduced}",
                        sol.beliefs
                    ),
                    value: sol.lower,
                    lower: Some(sol.lower),
                    upper: Some(sol.upper),
                    error_bound: if m.horizon.is_some() {
                        0.0
                    } else {
                        sol.upper - sol.lower
                    },
                    iterations: sol.iterations,
                    seconds: 0.0,
                    anytime: None,
                    policy: Policy::Alpha {
                        model: m,
                        stages: sol.stages,
                    },
                })
            }
            Solver::Sarsop => solve_sparse(&Sparse::from(&m), reduced, s),
            Solver::Mdp => {
                let sol = mdp::solve(&m, s.tolerance)?;
                // The greedy MDP policy as one vector per action (Q-values).
                let alphas = AlphaSet {
                    vectors: sol.q,
                    actions: (0..m.n_actions()).collect(),
                };
                Ok(Solution {
                    method: format!(
                        "value iteration with the state observed{reduced} (full-information value, an upper bound)"
                    ),
                    value: sol.value,
                    lower: None,
                    upper: Some(sol.value),
                    error_bound: sol.error_bound,
                    iterations: sol.iterations,
                    seconds: 0.0,
                    anytime: None,
                    policy: Policy::Observed {
                        model: m,
                        stages: vec![alphas],
                    },
                })
            }
        }
    }
}

/// The anytime solver on a sparse model; the policy keeps the dense model when it fits (so it can be simulated).
fn solve_sparse(m: &Sparse, reduced: &str, s: &Settings) -> Result<Solution> {
    let sol = sarsop::solve(
        m,
        &sarsop::SarsopOptions {
            precision: s.tolerance,
            max_seconds: s.timeout.unwrap_or(f64::INFINITY),
            interrupt: Some(&sarsop::INTERRUPT),
            ..Default::default()
        },
    )?;
    let [gap_0_1, gap_0_01, gap_0_001] = sol.gap_times;
    let stages = vec![sol.alphas];
    Ok(Solution {
        method: format!(
            "anytime point-based search (HSVI2/SARSOP) over {} beliefs, {} trials{reduced}",
            sol.beliefs, sol.trials
        ),
        value: sol.lower,
        lower: Some(sol.lower),
        upper: Some(sol.upper),
        error_bound: sol.upper - sol.lower,
        iterations: sol.backups as usize,
        seconds: 0.0,
        anytime: Some(Anytime {
            stop: sol.stop,
            gap_0_1,
            gap_0_01,
            gap_0_001,
            trace: sol.trace,
            init_seconds: sol.init_seconds,
            trials: sol.trials,
            beliefs: sol.beliefs,
            upper_points: sol.upper_points,
        }),
        policy: match m.to_dense() {
            Ok(model) => Policy::Alpha { model, stages },
            Err(_) => Policy::Sparse {
                model: m.clone(),
                stages,
            },
        },
    })
}

impl std::fmt::Display for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What `cirl solve` runs. Its [`Default`] is `cirl solve`'s defaults (the CLI reads them from here): the exact
/// solver with [`Settings::default`], no simulation, no histories.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The solver.
    pub solver: Solver,
    /// Its settings; `settings.seed` also seeds the simulation.
    pub settings: Settings,
    /// Also simulate this many episodes of the policy (mean return with its 95% interval).
    pub simulate: Option<u64>,
    /// Record this many simulated episodes step by step (episode i uses the seed's stream i, as `simulate`).
    pub histories: usize,
    /// CIRL games solved for plans: the θ the human holds in the simulated and recorded episodes (by name;
    /// `None`: drawn from the prior in each episode).
    pub theta: Option<String>,
}

/// Sizes of a CIRL game and its reduction.
#[derive(Debug, Clone, Serialize)]
pub struct GameSizes {
    /// World states.
    pub states: usize,
    /// Human actions.
    pub human_actions: usize,
    /// Robot actions.
    pub robot_actions: usize,
    /// Reward parameters θ.
    pub thetas: usize,
    /// Sizes of the POMDP reduction.
    pub reduction: ReductionSize,
}

/// One decision of a recorded CIRL episode (names, not indices).
#[derive(Debug, Clone, Serialize)]
pub struct CirlStep {
    /// The robot's belief over θ after the step.
    pub belief: Vec<f64>,
    /// The human's action.
    pub human: String,
    /// What the plan has the human do at this step for each θ: P(a^H | θ) by θ's name, then the action's name
    /// (the robot's belief update divides by these).
    pub human_rule: std::collections::BTreeMap<String, std::collections::BTreeMap<String, f64>>,
    /// The Q-value of each robot action at the belief before the step, in the game's order of robot actions:
    /// the expected discounted return (from this decision on) of taking it and then following the optimal plan.
    pub q: Vec<ActionValue>,
    /// The reward of the step.
    pub reward: f64,
    /// The robot's action.
    pub robot: String,
    /// The world state the step started in.
    pub state: String,
}

/// An action's name and value.
#[derive(Debug, Clone, Serialize)]
pub struct ActionValue {
    /// The action.
    pub action: String,
    /// Its value.
    pub value: f64,
}

/// One decision of a recorded POMDP episode (names, not indices).
#[derive(Debug, Clone, Serialize)]
pub struct PomdpStep {
    /// The action.
    pub action: String,
    /// The belief after the update.
    pub belief: Vec<f64>,
    /// The observation.
    pub observation: String,
    /// The reward of the step.
    pub reward: f64,
    /// The hidden state the step started in.
    pub state: String,
}

/// A recorded episode (`--histories N`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum History {
    /// A CIRL game followed by its plans.
    Cirl {
        /// The episode's discounted return.
        discounted_return: f64,
        /// Its decisions.
        steps: Vec<CirlStep>,
        /// The θ the human held.
        theta: String,
    },
    /// A POMDP (or reduction) followed by its alpha vectors.
    Pomdp {
        /// The episode's discounted return.
        discounted_return: f64,
        /// Its decisions.
        steps: Vec<PomdpStep>,
    },
}

/// The result of `cirl solve`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The model's name.
    pub model: String,
    /// The solver asked for.
    pub solver: Solver,
    /// What actually ran.
    pub method: String,
    /// Optimal expected discounted return from the initial belief (for pbvi: the lower bound; for mdp: the
    /// fully observed value).
    pub value: f64,
    /// A lower bound, where the solver has one apart from `value`.
    pub lower: Option<f64>,
    /// An upper bound, where the solver has one.
    pub upper: Option<f64>,
    /// Bound on the distance to the infinite-horizon value (0 for finite horizons).
    pub error_bound: f64,
    /// Wall-clock seconds of the solve.
    pub seconds: f64,
    /// The model's discount.
    pub discount: f64,
    /// Its horizon (none: infinite).
    pub horizon: Option<usize>,
    /// Backups or iterations.
    pub iterations: usize,
    /// Alpha vectors of the first decision's value function.
    pub vectors: usize,
    /// States of the tabular model solved (none when the game was solved on its own terms).
    pub pomdp_states: Option<usize>,
    /// Its actions.
    pub pomdp_actions: Option<usize>,
    /// Its observations.
    pub pomdp_observations: Option<usize>,
    /// Sizes of the CIRL game, for a game.
    pub game: Option<GameSizes>,
    /// The first decision at the initial belief.
    pub initial_action: String,
    /// The simulated returns (`--simulate N`).
    pub simulation: Option<Returns>,
    /// Recorded episodes (`--histories N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histories: Option<Vec<History>>,
    /// Whether `error_bound` is within the requested tolerance (always for finite horizons).
    pub tolerance_met: bool,
    /// What the reader changed in the model, and any tolerance not reached — also printed as warnings.
    pub notes: Vec<String>,
    /// The anytime solver's run (sarsop): why it stopped, the times to gaps 0.1, 0.01 and 0.001, the bounds
    /// over time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub anytime: Option<Anytime>,
    #[serde(skip)]
    solution: Solution,
    #[serde(skip)]
    game_names: Option<GameNames>,
}

/// The CIRL game's names, which the export of its plans needs (alpha vectors take theirs from their model).
#[derive(Debug, Clone)]
struct GameNames {
    model: String,
    thetas: Vec<String>,
    states: Vec<String>,
    human_actions: Vec<String>,
    robot_actions: Vec<String>,
}

impl Report {
    /// The solution behind the report (values and the policy).
    pub fn solution(&self) -> &Solution {
        &self.solution
    }

    /// The policy as its JSON export (alpha vectors with actions, per stage; or plans for the generalized
    /// solver).
    pub fn policy(&self) -> PolicyExport<'_> {
        PolicyExport(self)
    }
}

/// Checks solver settings (exit 2 naming the flag otherwise).
pub fn check_settings(s: &Settings) -> Result<()> {
    if !(s.tolerance.is_finite() && s.tolerance > 0.0) {
        return Err(Error::invalid(
            "--tolerance",
            format!("must be a number > 0, got {}", s.tolerance),
        ));
    }
    if s.max_beliefs == 0 {
        return Err(Error::invalid("--max-beliefs", "must be at least 1"));
    }
    if let Some(t) = s.timeout
        && !(t.is_finite() && t > 0.0)
    {
        return Err(Error::invalid(
            "--timeout",
            format!("must be a number of seconds > 0, got {t}"),
        ));
    }
    crate::limits::check_count(
        "--max-beliefs",
        s.max_beliefs as u64,
        100_000,
        "belief points",
        "ask for fewer",
    )
}

/// Checks a request against the size model before anything is solved (exit 2 naming the flag otherwise).
pub fn check_request(r: &Request) -> Result<()> {
    check_settings(&r.settings)?;
    if r.simulate == Some(0) {
        return Err(Error::invalid(
            "--simulate",
            "the number of episodes must be at least 1",
        ));
    }
    if let Some(n) = r.simulate {
        crate::limits::check_count(
            "--simulate",
            n,
            crate::limits::MAX_SIMULATE,
            "episodes",
            crate::limits::SPLIT_BY_SEEDS,
        )?;
    }
    crate::limits::check_count(
        "--histories",
        r.histories as u64,
        crate::limits::MAX_HISTORIES as u64,
        "recorded episodes",
        "record fewer; --simulate estimates the value from many more",
    )
}

/// Refuses rollouts of a policy that cannot be rolled out, before anything is solved.
fn check_rollouts(model: &Model, r: &Request) -> Result<()> {
    if let Some(name) = &r.theta {
        let Model::Cirl(g) = model else {
            return Err(Error::invalid(
                "--theta",
                "fixes the human's θ in a CIRL game; a .pomdp model has no θ",
            ));
        };
        if r.solver != Solver::Exact {
            return Err(Error::invalid(
                "--theta",
                "needs the exact solver's plans (--solver exact); the other solvers' policies see θ only as part of a hidden state",
            ));
        }
        if !g.thetas.iter().any(|t| t == name) {
            return Err(Error::invalid(
                "--theta",
                format!(
                    "'{}' is not a θ of {}: use one of {}",
                    name.chars().take(64).collect::<String>(),
                    g.name,
                    g.thetas.join(", ")
                ),
            ));
        }
        if r.simulate.is_none() && r.histories == 0 {
            return Err(Error::invalid(
                "--theta",
                "fixes θ in simulated or recorded episodes: add --simulate N or --histories N",
            ));
        }
    }
    if r.solver != Solver::Mdp || (r.simulate.is_none() && r.histories == 0) {
        return Ok(());
    }
    let flag = if r.simulate.is_some() {
        "--simulate"
    } else {
        "--histories"
    };
    match model {
        Model::Cirl(g) if r.solver.native(g) => Err(Error::invalid(
            if r.histories > 0 {
                "--histories"
            } else {
                "--simulate"
            },
            "the MDP solver's policy needs θ observed; simulate with --solver exact",
        )),
        _ if flag == "--simulate" => Err(Error::invalid(
            flag,
            "the MDP solver's policy needs the state observed; simulate with --solver exact or pbvi",
        )),
        _ => Err(Error::invalid(
            flag,
            "the MDP solver's policy needs the state observed; record histories with --solver exact or pbvi",
        )),
    }
}

/// Solves a model as requested, simulates its policy if asked; the report says whether the tolerance was
/// reached.
pub fn run(model: &Model, req: &Request) -> Result<Report> {
    check_request(req)?;
    req.solver.check_model(model)?;
    check_rollouts(model, req)?;
    let sol = req.solver.solve(model, &req.settings)?;
    let seed = req.settings.seed;
    let tolerance = req.settings.tolerance;
    let (simulation, histories) = match &sol.policy {
        Policy::Plans(plans) => {
            let Model::Cirl(g) = model else {
                unreachable!("plans come from a CIRL game")
            };
            let theta = req
                .theta
                .as_ref()
                .and_then(|t| g.thetas.iter().position(|x| x == t));
            (
                req.simulate
                    .map(|n| crate::sim::cirl::simulate(g, plans, theta, n, seed)),
                match req.histories {
                    0 => None,
                    n => Some(cirl_histories(g, plans, theta, n, seed)?),
                },
            )
        }
        Policy::Alpha { model: m, stages } => (
            req.simulate
                .map(|n| crate::sim::simulate(m, stages, n, seed, tolerance)),
            (req.histories > 0).then(|| pomdp_histories(m, stages, req.histories, seed, tolerance)),
        ),
        Policy::Observed { .. } | Policy::Sparse { .. } | Policy::None => (None, None),
    };
    let tabular = match &sol.policy {
        Policy::Alpha { model, .. } | Policy::Observed { model, .. } => Some((
            model.n_states(),
            model.n_actions(),
            model.n_observations(),
            model.discount,
            model.horizon,
        )),
        Policy::Sparse { model, .. } => Some((
            model.n_states(),
            model.n_actions(),
            model.n_observations(),
            model.discount,
            model.horizon,
        )),
        _ => None,
    };
    let game = match model {
        Model::Cirl(g) => Some(g),
        Model::Pomdp(_) => None,
    };
    let mut notes = vec![];
    if let Model::Pomdp(m) = model {
        notes.extend(m.notes.iter().cloned());
    }
    let tolerance_met = sol.error_bound <= tolerance;
    if !tolerance_met {
        let hint = match (req.solver, sol.anytime.as_ref().map(|a| a.stop)) {
            (Solver::Pbvi, _) => {
                "raise --max-beliefs, or ask for a tolerance PBVI can reach (it stops at 1e-9)"
            }
            (_, Some(sarsop::Stop::Interrupted)) => {
                "interrupted: these are the bounds and policy reached so far"
            }
            (_, Some(_)) => "give it more time (--timeout), or raise --tolerance",
            _ => "raise --tolerance",
        };
        notes.push(format!(
            "--tolerance {} not reached: the error bound is {} after {} iterations; {hint}",
            crate::numerics::brief(tolerance),
            crate::numerics::brief(sol.error_bound),
            sol.iterations
        ));
    }
    let game_names = match (&sol.policy, game) {
        (Policy::Plans(_), Some(g)) => Some(GameNames {
            model: g.name.clone(),
            thetas: g.thetas.clone(),
            states: g.states.clone(),
            human_actions: g.human_actions.clone(),
            robot_actions: g.robot_actions.clone(),
        }),
        _ => None,
    };
    Ok(Report {
        model: model.name().to_string(),
        solver: req.solver,
        method: sol.method.clone(),
        value: sol.value,
        lower: sol.lower,
        upper: sol.upper,
        error_bound: sol.error_bound,
        seconds: sol.seconds,
        discount: tabular.map_or_else(|| game.map_or(0.0, |g| g.discount), |m| m.3),
        horizon: tabular.map_or_else(|| game.and_then(|g| g.horizon), |m| m.4),
        iterations: sol.iterations,
        vectors: sol.vectors(),
        pomdp_states: tabular.map(|m| m.0),
        pomdp_actions: tabular.map(|m| m.1),
        pomdp_observations: tabular.map(|m| m.2),
        anytime: sol.anytime.clone(),
        game: game.map(game_sizes),
        initial_action: sol.initial_action(model),
        simulation,
        histories,
        tolerance_met,
        notes,
        solution: sol,
        game_names,
    })
}

fn game_sizes(g: &CirlGame) -> GameSizes {
    GameSizes {
        states: g.states.len(),
        human_actions: g.human_actions.len(),
        robot_actions: g.robot_actions.len(),
        thetas: g.thetas.len(),
        reduction: g.reduction_size(),
    }
}

fn cirl_histories(
    g: &CirlGame,
    plans: &generalized::Solution,
    theta: Option<usize>,
    n: usize,
    seed: u64,
) -> Result<Vec<History>> {
    (0..n as u64)
        .map(|i| {
            let e = crate::sim::cirl::episode(g, plans, theta, &mut crate::rng::job_rng(seed, i));
            let mut before = g.prior.clone();
            let mut idx = match plans.stages.first() {
                Some(st) => st.best(e.steps.first().map_or(0, |x| x.state), &before).1,
                None => 0,
            };
            let ns = g.states.len();
            let mut steps = Vec::with_capacity(e.steps.len());
            for (t, st) in e.steps.iter().enumerate() {
                let q = plans.q_values(g, t, st.state, &before)?;
                let plan = &plans.stages[t].sets[st.state][idx].1;
                let human_rule = g
                    .thetas
                    .iter()
                    .zip(&plan.human)
                    .map(|(name, p)| {
                        (
                            name.clone(),
                            g.human_actions
                                .iter()
                                .cloned()
                                .zip(p.iter().copied())
                                .collect(),
                        )
                    })
                    .collect();
                steps.push(CirlStep {
                    belief: st.belief.clone(),
                    human: g.human_actions[st.human].clone(),
                    human_rule,
                    q: g.robot_actions
                        .iter()
                        .zip(q)
                        .map(|(a, v)| ActionValue {
                            action: a.clone(),
                            value: v,
                        })
                        .collect(),
                    reward: st.reward,
                    robot: g.robot_actions[st.robot].clone(),
                    state: g.states[st.state].clone(),
                });
                if let Some(nx) = e.steps.get(t + 1) {
                    idx = plan.next[st.human * ns + nx.state];
                }
                before.clone_from(&st.belief);
            }
            Ok(History::Cirl {
                discounted_return: e.discounted_return,
                steps,
                theta: g.thetas[e.theta].clone(),
            })
        })
        .collect()
}

fn pomdp_histories(
    m: &Tabular,
    stages: &[AlphaSet],
    n: usize,
    seed: u64,
    tolerance: f64,
) -> Vec<History> {
    let steps = crate::sim::steps_for(m, tolerance);
    (0..n as u64)
        .map(|i| {
            let (ret, h) = crate::sim::history(m, stages, steps, &mut crate::rng::job_rng(seed, i));
            History::Pomdp {
                discounted_return: ret,
                steps: h
                    .iter()
                    .map(|st| PomdpStep {
                        action: m.actions[st.action].clone(),
                        belief: st.belief.clone(),
                        observation: m.observations[st.observation].clone(),
                        reward: st.reward,
                        state: m.states[st.state].clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// A report's policy in its JSON export format (`cirl solve --policy FILE`), serialized from the solution.
pub struct PolicyExport<'a>(&'a Report);

const ALPHA_NOTE: &str = "stages[t] is used at decision t (a single stage: at every decision); act with the action of the vector maximising α·b";
const PLANS_NOTE: &str = "stages[t] lists, for each world state reachable at decision t, its vectors over θ (states nothing reaches are left out, so a time-indexed game's plans grow with its horizon, not its square); start with the vector maximising α·prior, take its robot action; the human plays human[θ]; when the human played h and the world moved to s', continue with the vector next[] names for (h, s') in stage t+1's set of s' (only the pairs the plan can reach are listed)";

/// The exported forms; fields in alphabetical order, as the export has always listed them.
#[derive(Serialize)]
#[serde(untagged)]
enum Export<'a> {
    Alpha {
        kind: &'static str,
        model: &'a str,
        note: &'static str,
        stages: Vec<Vec<AlphaEntry<'a>>>,
        states: &'a [String],
    },
    Plans {
        kind: &'static str,
        model: &'a str,
        note: &'static str,
        stages: Vec<Vec<StatePlans<'a>>>,
        thetas: &'a [String],
    },
    None {
        kind: &'static str,
        note: &'static str,
    },
}

#[derive(Serialize)]
struct AlphaEntry<'a> {
    action: &'a str,
    alpha: &'a [f64],
}

#[derive(Serialize)]
struct StatePlans<'a> {
    state: &'a str,
    vectors: Vec<PlanEntry<'a>>,
}

#[derive(Serialize)]
struct PlanEntry<'a> {
    alpha: &'a [f64],
    human: &'a [Vec<f64>],
    next: Vec<NextEntry<'a>>,
    robot: &'a str,
}

#[derive(Serialize)]
struct NextEntry<'a> {
    human: &'a str,
    state: &'a str,
    vector: usize,
}

fn alpha_export<'a>(
    (name, actions, states): (&'a str, &'a [String], &'a [String]),
    stages: &'a [AlphaSet],
) -> Export<'a> {
    Export::Alpha {
        kind: "alpha-vectors",
        model: name,
        note: ALPHA_NOTE,
        stages: stages
            .iter()
            .map(|st| {
                st.vectors
                    .iter()
                    .zip(&st.actions)
                    .map(|(v, a)| AlphaEntry {
                        action: &actions[*a],
                        alpha: v,
                    })
                    .collect()
            })
            .collect(),
        states,
    }
}

impl Serialize for PolicyExport<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let r = self.0;
        let export = match &r.solution.policy {
            Policy::Alpha { model: m, stages } | Policy::Observed { model: m, stages } => {
                alpha_export((&m.name, &m.actions, &m.states), stages)
            }
            Policy::Sparse { model: m, stages } => {
                alpha_export((&m.name, &m.actions, &m.states), stages)
            }
            Policy::Plans(sol) => {
                let n = r
                    .game_names
                    .as_ref()
                    .expect("plans come from a CIRL game, whose names run() keeps");
                Export::Plans {
                    kind: "cirl-plans",
                    model: &n.model,
                    note: PLANS_NOTE,
                    stages: sol
                        .stages
                        .iter()
                        .map(|st| {
                            st.sets
                                .iter()
                                .enumerate()
                                .filter(|(_, set)| !set.is_empty())
                                .map(|(s, set)| StatePlans {
                                    state: &n.states[s],
                                    vectors: set
                                        .iter()
                                        .map(|(v, p)| PlanEntry {
                                            alpha: v,
                                            human: &p.human,
                                            // Sparse: a dense table would hold |A^H|·|S| entries per vector,
                                            // nearly all unused.
                                            next: p
                                                .next
                                                .iter()
                                                .enumerate()
                                                .filter(|(_, i)| **i != generalized::NONE)
                                                .map(|(k, &i)| NextEntry {
                                                    human: &n.human_actions[k / n.states.len()],
                                                    state: &n.states[k % n.states.len()],
                                                    vector: i,
                                                })
                                                .collect(),
                                            robot: &n.robot_actions[p.robot],
                                        })
                                        .collect(),
                                })
                                .collect()
                        })
                        .collect(),
                    thetas: &n.thetas,
                }
            }
            Policy::None => Export::None {
                kind: "none",
                note: "the full-information solver has no robot policy to export",
            },
        };
        export.serialize(s)
    }
}

/// Writes the report's policy as JSON, atomically.
pub fn write_policy(report: &Report, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(&report.policy()).expect("serializable");
    crate::output::write_atomic(path, text.as_bytes())
}
