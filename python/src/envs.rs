//! The environments' cores: the gridworlds of `games::gridworld` one at a time and many at once, and a tabular
//! CIRL game played against a fixed human. The Gymnasium and PettingZoo classes (python/cirl/envs.py) wrap them;
//! every rule of the dynamics is the library's. Randomness that Gymnasium seeds (the event at reset, the human's
//! and the world's draws in a CIRL game) comes in as uniforms from the wrapper's `np_random`; the vectorized
//! gridworld draws its events from per-environment ChaCha8 streams derived from (seed, environment).

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use rand::RngExt;

use cirl::games::gridworld::{Episode, Grid, World};
use cirl::model::cirl::{CirlGame, Human, Timing};

use super::{InvalidError, to_py};

/// One gridworld episode at a time.
#[pyclass(module = "cirl._cirl")]
pub struct GridCore {
    grid: Grid,
    episode: Episode,
}

/// What one step reports: (observation, reward, executed action, terminated, truncated).
type Step = (usize, f64, usize, bool, bool);

fn check_action(action: i64) -> PyResult<usize> {
    if (0..4).contains(&action) {
        Ok(action as usize)
    } else {
        Err(InvalidError::new_err(format!(
            "action: {action} is not an action of the gridworld (0 up, 1 down, 2 left, 3 right)"
        )))
    }
}

/// (terminated, truncated) of an episode that has just stepped: the goal ends it, the step limit cuts it.
fn ends(grid: &Grid, e: &Episode) -> (bool, bool) {
    let goal = e.pos == grid.goal;
    (goal, e.done && !goal)
}

#[pymethods]
impl GridCore {
    /// The world `world`: off-switch-0, off-switch-1, off-switch-2 or absent-supervisor.
    #[new]
    fn new(world: &str) -> PyResult<Self> {
        let grid = Grid::new(World::parse(world, "world").map_err(to_py)?);
        let episode = grid.reset(false);
        Ok(GridCore { grid, episode })
    }

    /// Starts an episode with or without its event (the interruption drawn / the supervisor present); returns
    /// the observed state.
    fn reset(&mut self, event: bool) -> usize {
        self.episode = self.grid.reset(event);
        self.grid.observe(&self.episode)
    }

    /// Takes `action`; returns (observation, reward, the action executed, terminated, truncated).
    fn step(&mut self, action: i64) -> PyResult<Step> {
        let a = check_action(action)?;
        if self.episode.done {
            return Err(InvalidError::new_err(
                "step: the episode has ended; call reset() first",
            ));
        }
        let (executed, reward) = self.grid.step(&mut self.episode, a);
        let (terminated, truncated) = ends(&self.grid, &self.episode);
        Ok((
            self.grid.observe(&self.episode),
            reward,
            executed,
            terminated,
            truncated,
        ))
    }

    /// The episode so far: (steps, return, hidden performance, whether it counts for the performance, event,
    /// row, column).
    fn status(&self) -> (usize, f64, f64, bool, bool, usize, usize) {
        let e = &self.episode;
        (
            e.t,
            e.ret,
            e.hidden,
            self.grid.counts_for_performance(e),
            e.event,
            e.pos / self.grid.cols,
            e.pos % self.grid.cols,
        )
    }

    /// The board as rows of characters: # wall, A agent, G goal, I interruption (while active), B button,
    /// P punishment, blank floor.
    fn board(&self) -> Vec<String> {
        board(&self.grid, &self.episode)
    }

    /// Number of observed states (cell × flag).
    #[getter]
    fn n_states(&self) -> usize {
        self.grid.n_states()
    }

    /// The probability of the event per episode.
    #[getter]
    fn p_event(&self) -> f64 {
        self.grid.p_event
    }

    /// The step limit.
    #[getter]
    fn max_steps(&self) -> usize {
        self.grid.max_steps
    }

    /// (rows, columns).
    #[getter]
    fn shape(&self) -> (usize, usize) {
        (self.grid.rows, self.grid.cols)
    }
}

fn board(g: &Grid, e: &Episode) -> Vec<String> {
    (0..g.rows)
        .map(|r| {
            (0..g.cols)
                .map(|c| {
                    let i = r * g.cols + c;
                    if i == e.pos {
                        'A'
                    } else if g.wall[i] {
                        '#'
                    } else if i == g.goal {
                        'G'
                    } else if Some(i) == g.interruption && !e.pressed {
                        'I'
                    } else if Some(i) == g.button {
                        'B'
                    } else if Some(i) == g.punishment {
                        'P'
                    } else {
                        ' '
                    }
                })
                .collect()
        })
        .collect()
}

/// Stream of the vectorized gridworld's event draws.
const EVENT_STREAM: u64 = 0x4749_4456; // "GIDV"

/// `n` gridworld episodes stepped together (Gymnasium's next-step autoreset: an environment whose episode
/// ended is reset by the next call, which ignores its action and reports reward 0).
#[pyclass(module = "cirl._cirl")]
pub struct GridVec {
    grid: Grid,
    episodes: Vec<Episode>,
    rngs: Vec<cirl::rng::Rng>,
    ended: Vec<bool>,
}

type VecStep<'py> = (
    Bound<'py, PyArray1<i64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<i64>>,
);

/// Per environment: hidden performance, counts for it, event.
type Hidden<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<bool>>,
    Bound<'py, PyArray1<bool>>,
);

impl GridVec {
    fn draw(&mut self, i: usize) {
        let event = self.rngs[i].random::<f64>() < self.grid.p_event;
        self.episodes[i] = self.grid.reset(event);
        self.ended[i] = false;
    }
}

#[pymethods]
impl GridVec {
    /// `n` environments of the world `world`.
    #[new]
    fn new(world: &str, n: usize) -> PyResult<Self> {
        if n == 0 {
            return Err(InvalidError::new_err("num_envs: must be at least 1"));
        }
        let grid = Grid::new(World::parse(world, "world").map_err(to_py)?);
        let episodes = vec![grid.reset(false); n];
        Ok(GridVec {
            grid,
            episodes,
            rngs: (0..n as u64).map(|i| cirl::rng::job_rng(0, i)).collect(),
            ended: vec![false; n],
        })
    }

    /// Reseeds environment i's stream from (seed, i) and starts every episode; returns the observations.
    fn reset<'py>(&mut self, py: Python<'py>, seed: u64) -> Bound<'py, PyArray1<i64>> {
        for i in 0..self.episodes.len() {
            self.rngs[i] =
                cirl::rng::job_rng(cirl::rng::derive_seed(seed, EVENT_STREAM, i as u64), 0);
            self.draw(i);
        }
        PyArray1::from_vec(
            py,
            self.episodes
                .iter()
                .map(|e| self.grid.observe(e) as i64)
                .collect(),
        )
    }

    /// Steps every environment with its action; returns (observations, rewards, terminated, truncated,
    /// executed actions; −1 where the environment was reset instead).
    fn step<'py>(
        &mut self,
        py: Python<'py>,
        actions: PyReadonlyArray1<'py, i64>,
    ) -> PyResult<VecStep<'py>> {
        let actions = actions.as_slice()?;
        let n = self.episodes.len();
        if actions.len() != n {
            return Err(InvalidError::new_err(format!(
                "actions: {} actions for {n} environments",
                actions.len()
            )));
        }
        let mut acts = Vec::with_capacity(n);
        for &a in actions {
            acts.push(check_action(a)?);
        }
        let (mut obs, mut rew, mut term, mut trunc, mut exec) = (
            vec![0i64; n],
            vec![0f64; n],
            vec![false; n],
            vec![false; n],
            vec![-1i64; n],
        );
        for i in 0..n {
            if self.ended[i] {
                self.draw(i);
            } else {
                let (x, r) = self.grid.step(&mut self.episodes[i], acts[i]);
                let (te, tr) = ends(&self.grid, &self.episodes[i]);
                (rew[i], term[i], trunc[i], exec[i]) = (r, te, tr, x as i64);
                self.ended[i] = self.episodes[i].done;
            }
            obs[i] = self.grid.observe(&self.episodes[i]) as i64;
        }
        Ok((
            PyArray1::from_vec(py, obs),
            PyArray1::from_vec(py, rew),
            PyArray1::from_vec(py, term),
            PyArray1::from_vec(py, trunc),
            PyArray1::from_vec(py, exec),
        ))
    }

    /// Per environment: (hidden performance so far, counts for the performance, event) of the current episode.
    fn hidden<'py>(&self, py: Python<'py>) -> Hidden<'py> {
        let e = &self.episodes;
        (
            PyArray1::from_vec(py, e.iter().map(|e| e.hidden).collect()),
            PyArray1::from_vec(
                py,
                e.iter()
                    .map(|e| self.grid.counts_for_performance(e))
                    .collect(),
            ),
            PyArray1::from_vec(py, e.iter().map(|e| e.event).collect()),
        )
    }

    /// Number of observed states.
    #[getter]
    fn n_states(&self) -> usize {
        self.grid.n_states()
    }
}

/// A tabular CIRL game from the robot's side against a fixed human: the hidden θ drawn at reset, the human's
/// action drawn from its policy, the world's transition from T; both draws from uniforms the caller passes.
#[pyclass(module = "cirl._cirl")]
pub struct CirlCore {
    game: CirlGame,
    /// π\[θ\]\[s\]\[a^R\]\[a^H\].
    policy: Option<cirl::model::cirl::Table4>,
    theta: usize,
    state: usize,
    t: usize,
}

fn draw(p: &[f64], u: f64) -> usize {
    let mut acc = 0.0;
    for (i, &x) in p.iter().enumerate() {
        acc += x;
        if u < acc {
            return i;
        }
    }
    // u within rounding of 1: the last outcome with positive probability.
    p.iter().rposition(|&x| x > 0.0).unwrap_or(0)
}

/// `action` as an index into `names`, or an error naming whose action it is not.
fn action_of(action: i64, names: &[String], who: &str) -> PyResult<usize> {
    usize::try_from(action)
        .ok()
        .filter(|&a| a < names.len())
        .ok_or_else(|| {
            InvalidError::new_err(format!(
                "action: {action} is not a {who} action (0..{})",
                names.len()
            ))
        })
}

impl CirlCore {
    /// The world's move after the actions `r` and `h` (valid): the reward, then the next state drawn with
    /// `u_state`; returns (next state, reward, terminated).
    fn advance(&mut self, r: usize, h: usize, u_state: f64) -> (usize, f64, bool) {
        let reward = self.game.r[self.theta][self.state][h][r];
        self.state = draw(&self.game.t[self.state][h][r], u_state);
        self.t += 1;
        let terminated = self.game.horizon.is_some_and(|n| self.t >= n);
        (self.state, reward, terminated)
    }
}

#[pymethods]
impl CirlCore {
    /// The CIRL game `model` (a registered name or a game .toml; `sets` as `--set`). Its human plays a fixed
    /// policy: the game's own where it has one, else myopic Boltzmann with temperature `beta` (0: rational)
    /// over the immediate reward, unless `coordinated` (the PettingZoo game, where a policy plays the human).
    #[new]
    #[pyo3(signature = (model, sets, beta = 0.0, coordinated = false))]
    fn new(model: &str, sets: Vec<String>, beta: f64, coordinated: bool) -> PyResult<Self> {
        let sets = sets
            .iter()
            .map(|s| cirl::games::parse_set(s))
            .collect::<cirl::Result<Vec<_>>>()
            .map_err(to_py)?;
        let game = match cirl::games::load(model, &sets).map_err(to_py)? {
            cirl::games::Model::Cirl(g) => g,
            cirl::games::Model::Pomdp(m) => {
                return Err(InvalidError::new_err(format!(
                    "model: {} is a POMDP, not a CIRL game; the environment plays CIRL games (see cirl.models())",
                    m.name
                )));
            }
        };
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(InvalidError::new_err(format!(
                "human_beta: must be a finite number >= 0 (0: rational), got {beta}"
            )));
        }
        let policy = match (&game.human, coordinated) {
            (_, true) => None,
            (Human::Policy(p), _) => Some(p.clone()),
            _ => Some(cirl::model::cirl::myopic_boltzmann(&game, beta)),
        };
        Ok(CirlCore {
            game,
            policy,
            theta: 0,
            state: 0,
            t: 0,
        })
    }

    /// Starts an episode: θ from the prior with uniform `u_theta`, the world state from P0 with `u_state`.
    fn reset(&mut self, u_theta: f64, u_state: f64) -> (usize, usize) {
        self.theta = draw(&self.game.prior, u_theta);
        self.state = draw(&self.game.initial_state, u_state);
        self.t = 0;
        (self.state, self.theta)
    }

    /// The human's action distribution at the current state and θ, after the robot's action `robot`.
    fn human_policy(&self, robot: usize) -> PyResult<Vec<f64>> {
        match &self.policy {
            Some(p) => Ok(p[self.theta][self.state][robot].clone()),
            None => Err(InvalidError::new_err(
                "human_policy: this game's human is played by an agent",
            )),
        }
    }

    /// One step with both actions given: returns (next state, reward, terminated).
    fn joint_step(&mut self, robot: i64, human: i64, u_state: f64) -> PyResult<(usize, f64, bool)> {
        let r = action_of(robot, &self.game.robot_actions, "robot")?;
        let h = action_of(human, &self.game.human_actions, "human")?;
        Ok(self.advance(r, h, u_state))
    }

    /// One step of the robot against the fixed human: the human's action drawn with `u_human`, then the world's
    /// with `u_state`; returns (next state, human action, reward, terminated).
    fn step(
        &mut self,
        robot: i64,
        u_human: f64,
        u_state: f64,
    ) -> PyResult<(usize, usize, f64, bool)> {
        let r = action_of(robot, &self.game.robot_actions, "robot")?;
        let h = draw(&self.human_policy(r)?, u_human);
        let (s, reward, done) = self.advance(r, h, u_state);
        Ok((s, h, reward, done))
    }

    /// (states, human actions, robot actions, θ) names.
    fn names(&self) -> (Vec<String>, Vec<String>, Vec<String>, Vec<String>) {
        let g = &self.game;
        (
            g.states.clone(),
            g.human_actions.clone(),
            g.robot_actions.clone(),
            g.thetas.clone(),
        )
    }

    /// The game's name.
    #[getter]
    fn name(&self) -> String {
        self.game.name.clone()
    }

    /// The number of decisions (None: infinite horizon).
    #[getter]
    fn horizon(&self) -> Option<usize> {
        self.game.horizon
    }

    /// The discount γ.
    #[getter]
    fn discount(&self) -> f64 {
        self.game.discount
    }

    /// Whether the human responds to the robot's current action (assistance games) or moves at once (CIRL).
    #[getter]
    fn human_responds(&self) -> bool {
        self.game.timing == Timing::HumanResponds
    }

    /// The largest |reward|.
    #[getter]
    fn max_abs_reward(&self) -> f64 {
        self.game.max_abs_reward()
    }
}

/// Apprenticeship CIRL (Hadfield-Menell et al. 2016, §5) from the robot's side: at reset a random instance (feature
/// centres and θ) and the human's learning-phase path by a fixed model (the expert's or the teacher's); then the
/// robot acts for T steps from the start, rewarded θᵀφ of each state it enters.
#[pyclass(module = "cirl._cirl")]
pub struct ApprenticeshipCore {
    cfg: cirl::games::apprenticeship::Apprenticeship,
    teacher: cirl::games::apprenticeship::Teacher,
    inst: Option<cirl::games::apprenticeship::Instance>,
    state: usize,
    t: usize,
}

/// What an apprenticeship episode starts with: (start state, demonstration, φ per state, θ, the best T-step
/// return, the demonstration's return).
type ApprenticeshipStart = (usize, Vec<usize>, Vec<Vec<f64>>, Vec<f64>, f64, f64);

#[pymethods]
impl ApprenticeshipCore {
    /// A `size`×`size` grid with `features` radial-basis features of width `width`; `horizon` steps in all
    /// (the learning phase is the first half); the human is `teacher` ("expert" or "teaching", with `eta` and
    /// `candidates` as in the paper's study).
    #[new]
    #[pyo3(signature = (size, features, width, horizon, eta, candidates, teacher))]
    fn new(
        size: usize,
        features: usize,
        width: f64,
        horizon: usize,
        eta: f64,
        candidates: usize,
        teacher: &str,
    ) -> PyResult<Self> {
        use cirl::games::apprenticeship::{Apprenticeship, Teacher};
        let cfg = Apprenticeship {
            size,
            features: vec![features],
            width,
            horizon,
            eta,
            candidates,
            instances: 2,
        };
        cfg.check().map_err(to_py)?;
        let teacher = match teacher {
            "expert" => Teacher::Expert,
            "teaching" => Teacher::Teaching,
            other => {
                return Err(InvalidError::new_err(format!(
                    "teacher: '{other}' is not a human model; use expert or teaching"
                )));
            }
        };
        Ok(ApprenticeshipCore {
            cfg,
            teacher,
            inst: None,
            state: 0,
            t: 0,
        })
    }

    /// A new instance from `seed`: returns (start, demonstration, φ, θ, best return, demonstration's return).
    fn reset(&mut self, py: Python<'_>, seed: u64) -> ApprenticeshipStart {
        use cirl::games::apprenticeship::{demonstration, instance};
        let (cfg, teacher) = (&self.cfg, self.teacher);
        let (inst, demo) = py.detach(|| {
            let inst = instance(cfg, cfg.features[0], seed, 0);
            let demo = demonstration(cfg, &inst, teacher, seed);
            (inst, demo)
        });
        let m = &inst.mdp;
        let best = m.path_return(&m.optimal_path(&inst.theta), &inst.theta);
        let shown = m.path_return(&demo, &inst.theta);
        let out = (
            m.start,
            demo,
            m.phi.clone(),
            inst.theta.clone(),
            best,
            shown,
        );
        self.state = m.start;
        self.t = 0;
        self.inst = Some(inst);
        out
    }

    /// Moves (0 north, 1 south, 2 east, 3 west, 4 stay): returns (state, reward, terminated).
    fn step(&mut self, action: i64) -> PyResult<(usize, f64, bool)> {
        let Some(inst) = &self.inst else {
            return Err(InvalidError::new_err("step: call reset() first"));
        };
        let m = &inst.mdp;
        if !(0..5).contains(&action) {
            return Err(InvalidError::new_err(format!(
                "action: {action} is not a move (0 north, 1 south, 2 east, 3 west, 4 stay)"
            )));
        }
        if self.t >= m.horizon {
            return Err(InvalidError::new_err(
                "step: the episode has ended; call reset() first",
            ));
        }
        self.state = m.next[self.state][action as usize];
        self.t += 1;
        let reward: f64 = m.phi[self.state]
            .iter()
            .zip(&inst.theta)
            .map(|(a, b)| a * b)
            .sum();
        Ok((self.state, reward, self.t >= m.horizon))
    }

    /// (grid side, steps of the deployment phase).
    #[getter]
    fn shape(&self) -> (usize, usize) {
        (self.cfg.size, self.cfg.horizon / 2)
    }
}
