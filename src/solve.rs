//! `cirl solve`: one entry point for every model and solver, returning a serializable report.
//!
//! | solver   | POMDP / `.pomdp`                | CIRL game, coordinated human          | CIRL game, fixed human |
//! |----------|---------------------------------|---------------------------------------|------------------------|
//! | `exact`  | exact VI (incremental pruning)  | generalized backup (Malik et al.)     | state-factored backup  |
//! | `naive`  | exact VI                        | exact VI on the coordinator reduction | exact VI on the reduction |
//! | `pbvi`   | PBVI, lower and upper bounds    | PBVI on the reduction                 | PBVI on the reduction |
//! | `mdp`    | VI with the state observed      | VI on the reduction (θ known)         | VI on the reduction |

use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use serde_json::json;

use crate::error::{Error, Result};
use crate::games::Model;
use crate::model::Tabular;
use crate::model::cirl::{CirlGame, Human, ReductionSize};
use crate::sim::Returns;
use crate::solvers::{AlphaSet, exact, generalized, mdp, pbvi};

/// The solvers `cirl solve` knows (a closed set: a new one is a variant, and every `match` on it says what it
/// needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Solver {
    /// The generalized backup for a coordinated CIRL game, exact value iteration otherwise.
    Exact,
    /// Exact value iteration on the coordinator reduction.
    Naive,
    /// Point-based value iteration with lower and upper bounds.
    Pbvi,
    /// Value iteration with the state observed (the full-information value).
    Mdp,
}

impl Solver {
    pub const ALL: [Solver; 4] = [Solver::Exact, Solver::Naive, Solver::Pbvi, Solver::Mdp];

    pub fn name(self) -> &'static str {
        match self {
            Solver::Exact => "exact",
            Solver::Naive => "naive",
            Solver::Pbvi => "pbvi",
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
}

impl std::fmt::Display for Solver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What to run. Its [`Default`] is `cirl solve`'s defaults (the CLI reads them from here).
#[derive(Debug, Clone)]
pub struct Request {
    pub solver: Solver,
    /// Discounted infinite-horizon models: stop when the error bound (exact, mdp) or the gap (pbvi) is below it.
    pub tolerance: f64,
    pub simulate: Option<u64>,
    pub seed: u64,
    pub max_beliefs: usize,
    /// Record this many simulated episodes step by step (episode i uses the seed's stream i, as `simulate`).
    pub histories: usize,
}

impl Default for Request {
    /// The exact solver to 1e-6, no simulation, seed 0, PBVI's 200 belief points.
    fn default() -> Self {
        Request {
            solver: Solver::Exact,
            tolerance: exact::ExactOptions::default().tolerance,
            simulate: None,
            seed: pbvi::PbviOptions::default().seed,
            max_beliefs: pbvi::PbviOptions::default().max_beliefs,
            histories: 0,
        }
    }
}

/// Sizes of a CIRL game and its reduction.
#[derive(Debug, Clone, Serialize)]
pub struct GameSizes {
    pub states: usize,
    pub human_actions: usize,
    pub robot_actions: usize,
    pub thetas: usize,
    pub reduction: ReductionSize,
}

/// The result of `cirl solve`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub model: String,
    pub solver: Solver,
    /// What actually ran.
    pub method: String,
    /// Optimal expected discounted return from the initial belief (for pbvi: the lower bound; for mdp: the
    /// fully observed value).
    pub value: f64,
    pub lower: Option<f64>,
    pub upper: Option<f64>,
    /// Bound on the distance to the infinite-horizon value (0 for finite horizons).
    pub error_bound: f64,
    pub seconds: f64,
    pub discount: f64,
    pub horizon: Option<usize>,
    /// Backups or iterations.
    pub iterations: usize,
    /// Alpha vectors of the first decision's value function.
    pub vectors: usize,
    pub pomdp_states: Option<usize>,
    pub pomdp_actions: Option<usize>,
    pub pomdp_observations: Option<usize>,
    pub game: Option<GameSizes>,
    /// The first decision at the initial belief.
    pub initial_action: String,
    pub simulation: Option<Returns>,
    /// Recorded episodes (`--histories N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histories: Option<Vec<serde_json::Value>>,
    /// Whether `error_bound` is within the requested tolerance (always for finite horizons).
    pub tolerance_met: bool,
    /// What the reader changed in the model, and any tolerance not reached — also printed as warnings.
    pub notes: Vec<String>,
    #[serde(skip)]
    policy: serde_json::Value,
}

impl Report {
    /// The policy as JSON (alpha vectors with actions, per stage; or plans for the generalized solver).
    pub fn policy(&self) -> &serde_json::Value {
        &self.policy
    }
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

fn alpha_policy(m: &Tabular, stages: &[AlphaSet]) -> serde_json::Value {
    json!({
        "kind": "alpha-vectors",
        "model": m.name,
        "states": m.states,
        "note": "stages[t] is used at decision t (a single stage: at every decision); act with the action of the vector maximising α·b",
        "stages": stages.iter().map(|st| st.vectors.iter().zip(&st.actions).map(|(v, a)| json!({
            "action": m.actions[*a], "alpha": v
        })).collect::<Vec<_>>()).collect::<Vec<_>>(),
    })
}

fn plan_policy(g: &CirlGame, sol: &generalized::Solution) -> serde_json::Value {
    json!({
        "kind": "cirl-plans",
        "model": g.name,
        "thetas": g.thetas,
        "note": "stages[t] lists, for each world state reachable at decision t, its vectors over θ (states nothing reaches are left out, so a time-indexed game's plans grow with its horizon, not its square); start with the vector maximising α·prior, take its robot action; the human plays human[θ]; when the human played h and the world moved to s', continue with the vector next[] names for (h, s') in stage t+1's set of s' (only the pairs the plan can reach are listed)",
        "stages": sol.stages.iter().map(|st| st.sets.iter().enumerate().filter(|(_, set)| !set.is_empty()).map(|(s, set)| json!({
            "state": g.states[s],
            "vectors": set.iter().map(|(v, p)| json!({
                "alpha": v,
                "robot": g.robot_actions[p.robot],
                "human": p.human,
                // Sparse: a dense table would hold |A^H|·|S| entries per vector, nearly all unused.
                "next": p.next.iter().enumerate().filter(|(_, i)| **i != generalized::NONE).map(|(k, &i)| json!({
                    "human": g.human_actions[k / g.states.len()],
                    "state": g.states[k % g.states.len()],
                    "vector": i,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>()).collect::<Vec<_>>(),
    })
}

/// Checks a request against the size model before anything is solved (exit 2 naming the flag otherwise).
pub fn check_request(r: &Request) -> Result<()> {
    if !(r.tolerance.is_finite() && r.tolerance > 0.0) {
        return Err(Error::invalid(
            "--tolerance",
            format!("must be a number > 0, got {}", r.tolerance),
        ));
    }
    if r.simulate == Some(0) {
        return Err(Error::invalid(
            "--simulate",
            "the number of episodes must be at least 1",
        ));
    }
    if r.max_beliefs == 0 {
        return Err(Error::invalid("--max-beliefs", "must be at least 1"));
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
    )?;
    crate::limits::check_count(
        "--max-beliefs",
        r.max_beliefs as u64,
        100_000,
        "belief points",
        "ask for fewer",
    )?;
    Ok(())
}

/// Solves a model as requested; the report says whether the tolerance was reached.
pub fn run(model: &Model, req: &Request) -> Result<Report> {
    let mut r = solve(model, req)?;
    r.tolerance_met = r.error_bound <= req.tolerance;
    if let Model::Pomdp(m) = model {
        r.notes.extend(m.notes.iter().cloned());
    }
    if !r.tolerance_met {
        let hint = if r.solver == Solver::Pbvi {
            "raise --max-beliefs, or ask for a tolerance PBVI can reach (it stops at 1e-9)"
        } else {
            "raise --tolerance"
        };
        r.notes.push(format!(
            "--tolerance {} not reached: the error bound is {} after {} iterations; {hint}",
            crate::numerics::brief(req.tolerance),
            crate::numerics::brief(r.error_bound),
            r.iterations
        ));
    }
    Ok(r)
}

fn solve(model: &Model, req: &Request) -> Result<Report> {
    check_request(req)?;
    let start = Instant::now();
    let game = match model {
        Model::Cirl(g) => Some(g),
        Model::Pomdp(_) => None,
    };
    // The generalized backup (coordinated human) or its state-factored form (fixed human).
    if let Some(g) = game
        && req.solver == Solver::Exact
    {
        let sol = generalized::solve(g, req.tolerance)?;
        let seconds = start.elapsed().as_secs_f64();
        let simulation = req
            .simulate
            .map(|n| crate::sim::cirl::simulate(g, &sol, n, req.seed));
        let histories = (req.histories > 0).then(|| {
            (0..req.histories as u64)
                .map(|i| {
                    let e =
                        crate::sim::cirl::episode(g, &sol, &mut crate::rng::job_rng(req.seed, i));
                    json!({
                        "theta": g.thetas[e.theta],
                        "discounted_return": e.discounted_return,
                        "steps": e.steps.iter().map(|st| json!({
                            "state": g.states[st.state],
                            "robot": g.robot_actions[st.robot],
                            "human": g.human_actions[st.human],
                            "reward": st.reward,
                            "belief": st.belief,
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect()
        });
        let initial_action = sol
            .stages
            .first()
            .map(|st| {
                // The most likely initial state's first robot action.
                let s = (0..g.states.len())
                    .max_by(|&a, &b| g.initial_state[a].total_cmp(&g.initial_state[b]))
                    .unwrap_or(0);
                g.robot_actions[st.sets[s][st.best(s, &g.prior).1].1.robot].clone()
            })
            .unwrap_or_default();
        let method = match g.human {
            Human::CoordinatedBoltzmann(b) => {
                format!("generalized backup, Boltzmann partner β = {b} (Malik et al. 2018)")
            }
            Human::Policy(_) => {
                "state-factored exact backup over θ, fixed human (world state observed)".into()
            }
            Human::Coordinated => "generalized backup (Malik et al. 2018)".into(),
        };
        return Ok(Report {
            model: g.name.clone(),
            solver: req.solver,
            method,
            value: sol.value,
            lower: None,
            upper: None,
            error_bound: sol.error_bound,
            seconds,
            discount: g.discount,
            horizon: g.horizon,
            iterations: sol.sizes.len(),
            vectors: sol.stages.first().map_or(0, |s| s.total()),
            pomdp_states: None,
            pomdp_actions: None,
            pomdp_observations: None,
            game: Some(game_sizes(g)),
            initial_action,
            simulation,
            histories,
            tolerance_met: true,
            notes: vec![],
            policy: plan_policy(g, &sol),
        });
    }
    // The full-information team value of a coordinated game, without the reduction.
    if let Some(g) = game
        && req.solver == Solver::Mdp
        && g.human == Human::Coordinated
    {
        if req.simulate.is_some() || req.histories > 0 {
            return Err(Error::invalid(
                if req.histories > 0 {
                    "--histories"
                } else {
                    "--simulate"
                },
                "the MDP solver's policy needs θ observed; simulate with --solver exact",
            ));
        }
        let (value, iterations, error_bound) = mdp::solve_team(g, req.tolerance)?;
        return Ok(Report {
            model: g.name.clone(),
            solver: req.solver,
            method: "team value iteration with θ observed (full-information value, an upper bound)"
                .into(),
            value,
            lower: None,
            upper: Some(value),
            error_bound,
            seconds: start.elapsed().as_secs_f64(),
            discount: g.discount,
            horizon: g.horizon,
            iterations,
            vectors: 0,
            pomdp_states: None,
            pomdp_actions: None,
            pomdp_observations: None,
            game: Some(game_sizes(g)),
            initial_action: String::new(),
            simulation: None,
            histories: None,
            tolerance_met: true,
            notes: vec![],
            policy: json!({"kind": "none", "note": "the full-information solver has no robot policy to export"}),
        });
    }
    if let Some(g) = game
        && g.initial_state.iter().filter(|p| **p > 0.0).count() > 1
    {
        return Err(Error::invalid(
            "initial_state",
            format!(
                "{} starts in a random world state, which the robot observes; the POMDP reduction cannot show it before the first action, so --solver {} would solve a different game: use --solver exact, or start in one state",
                g.name, req.solver
            ),
        ));
    }
    let m = model.to_tabular()?;
    let reduced = if game.is_some() {
        " on the POMDP reduction"
    } else {
        ""
    };
    let (method, value, lower, upper, error_bound, iterations, stages) = match req.solver {
        Solver::Exact | Solver::Naive => {
            let sol = exact::solve(
                &m,
                &exact::ExactOptions {
                    tolerance: req.tolerance,
                    ..Default::default()
                },
            )?;
            (
                format!("exact value iteration with incremental pruning{reduced}"),
                sol.value,
                None,
                None,
                sol.error_bound,
                sol.backups,
                sol.stages,
            )
        }
        Solver::Pbvi => {
            let sol = pbvi::solve(
                &m,
                &pbvi::PbviOptions {
                    tolerance: req.tolerance.max(1e-9),
                    max_beliefs: req.max_beliefs,
                    seed: req.seed,
                    ..Default::default()
                },
            )?;
            (
                format!(
                    "PBVI over {} beliefs with FIB + sawtooth upper bound{reduced}",
                    sol.beliefs
                ),
                sol.lower,
                Some(sol.lower),
                Some(sol.upper),
                if m.horizon.is_some() {
                    0.0
                } else {
                    sol.upper - sol.lower
                },
                sol.iterations,
                sol.stages,
            )
        }
        Solver::Mdp => {
            let sol = mdp::solve(&m, req.tolerance)?;
            // The greedy MDP policy as one vector per action (Q-values), so it runs like any alpha policy on
            // a fully observed model.
            let alphas = AlphaSet {
                vectors: sol.q.clone(),
                actions: (0..m.n_actions()).collect(),
            };
            (
                format!(
                    "value iteration with the state observed{reduced} (full-information value, an upper bound)"
                ),
                sol.value,
                None,
                Some(sol.value),
                sol.error_bound,
                sol.iterations,
                vec![alphas],
            )
        }
    };
    let seconds = start.elapsed().as_secs_f64();
    let simulation = match (req.simulate, req.solver) {
        (Some(_), Solver::Mdp) => {
            return Err(Error::invalid(
                "--simulate",
                "the MDP solver's policy needs the state observed; simulate with --solver exact or pbvi",
            ));
        }
        (Some(n), _) => Some(crate::sim::simulate(
            &m,
            &stages,
            n,
            req.seed,
            req.tolerance,
        )),
        (None, _) => None,
    };
    if req.histories > 0 && req.solver == Solver::Mdp {
        return Err(Error::invalid(
            "--histories",
            "the MDP solver's policy needs the state observed; record histories with --solver exact or pbvi",
        ));
    }
    let histories = (req.histories > 0).then(|| {
        let steps = crate::sim::steps_for(&m, req.tolerance);
        (0..req.histories as u64)
            .map(|i| {
                let (ret, h) =
                    crate::sim::history(&m, &stages, steps, &mut crate::rng::job_rng(req.seed, i));
                json!({
                    "discounted_return": ret,
                    "steps": h.iter().map(|st| json!({
                        "state": m.states[st.state],
                        "action": m.actions[st.action],
                        "observation": m.observations[st.observation],
                        "reward": st.reward,
                        "belief": st.belief,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect()
    });
    Ok(Report {
        model: model.name().to_string(),
        solver: req.solver,
        method,
        value,
        lower,
        upper,
        error_bound,
        seconds,
        discount: m.discount,
        horizon: m.horizon,
        iterations,
        vectors: stages.first().map_or(0, AlphaSet::len),
        pomdp_states: Some(m.n_states()),
        pomdp_actions: Some(m.n_actions()),
        pomdp_observations: Some(m.n_observations()),
        game: game.map(game_sizes),
        initial_action: stages
            .first()
            .map(|s| m.actions[s.action(&m.initial)].clone())
            .unwrap_or_default(),
        simulation,
        histories,
        tolerance_met: true,
        notes: vec![],
        policy: alpha_policy(&m, &stages),
    })
}

/// Writes the report's policy as JSON, atomically.
pub fn write_policy(report: &Report, path: &Path) -> Result<()> {
    let text = serde_json::to_string_pretty(report.policy()).expect("serializable");
    crate::output::write_atomic(path, text.as_bytes())
}
