//! Tabular CIRL / assistance games and their reductions to POMDPs.
//!
//! A game ⟨S, A^H, A^R, T(s'|s, a^H, a^R), Θ, R(s, a^H, a^R; θ), P0(s0), P0(θ), γ⟩ (Hadfield-Menell et al. 2016):
//! θ is static and known to the human only; the world state is seen by both; both receive R. Two timing
//! conventions:
//! - [`Timing::Simultaneous`] (CIRL 2016): both act at once;
//! - [`Timing::HumanResponds`] (assistance games, Shah et al. 2020): the human sees the robot's current action and
//!   responds to it.
//!
//! The human is either the robot's **coordinated** optimal partner ([`Human::Coordinated`]: the reduction lets a
//! coordinator choose a decision rule Θ → A^H, which is optimal for the team) or a **fixed** policy
//! ([`Human::Policy`], e.g. built by [`myopic_boltzmann`]).
//!
//! Reductions ([`CirlGame::to_pomdp`]): hidden state (s, θ, last a^H) — the last human action is part of the
//! hidden state so that the observation (s', a^H), the next world state and what the human did, is a function
//! of the state entered, as a tabular POMDP's O(o | s', a) requires. Coordinated human: actions (a^R, δ) with δ: Θ → A^H, |A^R|·|A^H|^|Θ| of
//! them (the exponential factor the generalized backup removes). Fixed human: actions a^R, the human's choice
//! drawn from its policy.

// Loops index several parallel tables (T, R, the human's policy) by the same (θ, s, a^H, a^R) indices.
#![allow(clippy::needless_range_loop)]

use super::Tabular;
use crate::error::{Error, Result};
use crate::numerics::logistic;

/// When the human moves relative to the robot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    /// Both move at once: the human's action cannot depend on the robot's.
    Simultaneous,
    /// The robot moves first and the human responds to its action.
    HumanResponds,
}

/// Who the human is.
#[derive(Debug, Clone, PartialEq)]
pub enum Human {
    /// The optimal partner of CIRL: the coordinator chooses its decision rule.
    Coordinated,
    /// The robot's partner (knows θ and the joint plan) but Boltzmann-rational with temperature β over the
    /// plan's Q-values (the "generalized" human of Malik et al. 2018; β → 0 is [`Human::Coordinated`]). Solved
    /// only by the generalized backup: its policy depends on the plan, so there is no fixed-action reduction.
    CoordinatedBoltzmann(f64),
    /// A fixed policy π\[θ\]\[s\][a^R]\[a^H\] (with simultaneous timing the a^R index must not matter).
    Policy(Table4),
}

/// A table indexed \[i\]\[j\]\[k\]\[l\].
pub type Table4 = Vec<Vec<Vec<Vec<f64>>>>;

/// One action of the reduced POMDP: the robot's action and, for every θ and s, the human's action distribution.
struct ReducedAction {
    robot: usize,
    rule: Vec<Vec<Vec<f64>>>,
    label: String,
}

/// A tabular CIRL game. Tables: T\[s\]\[h\]\[r\]\[s'\], R\[θ\]\[s\]\[h\]\[r\] (expected immediate reward).
#[derive(Debug, Clone, PartialEq)]
pub struct CirlGame {
    /// The game's name.
    pub name: String,
    /// World state names (observed by both).
    pub states: Vec<String>,
    /// The human's action names.
    pub human_actions: Vec<String>,
    /// The robot's action names.
    pub robot_actions: Vec<String>,
    /// Names of the reward parameters θ (known to the human only).
    pub thetas: Vec<String>,
    /// T\[s\]\[h\]\[r\]\[s'\] = P(s' | s, a^H = h, a^R = r).
    pub t: Table4,
    /// R\[θ\]\[s\]\[h\]\[r\]: the expected immediate reward.
    pub r: Table4,
    /// The prior over θ.
    pub prior: Vec<f64>,
    /// The initial distribution over world states.
    pub initial_state: Vec<f64>,
    /// The discount γ ∈ (0, 1].
    pub discount: f64,
    /// Number of decisions (`None`: infinite horizon, needs γ < 1).
    pub horizon: Option<usize>,
    /// When the human moves relative to the robot.
    pub timing: Timing,
    /// Who the human is.
    pub human: Human,
}

/// Sizes of a game's POMDP reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ReductionSize {
    /// States (world state × θ).
    pub states: usize,
    /// Actions (robot action × the human's decision rule).
    pub actions: usize,
    /// Observations.
    pub observations: usize,
}

/// Largest number of coordinator actions the naive reduction will build.
pub const MAX_COORDINATOR_ACTIONS: usize = 1 << 20;

/// Largest transition table (actions × states²) the reduction will build.
pub const MAX_TABLE_ENTRIES: f64 = 2e8;

impl CirlGame {
    /// The model checker: shapes, distributions, finiteness, discount.
    pub fn check(&self) -> Result<()> {
        let (ns, nh, nr, nt) = (
            self.states.len(),
            self.human_actions.len(),
            self.robot_actions.len(),
            self.thetas.len(),
        );
        let bad = |f: String, m: String| Err(Error::invalid(format!("{}: {f}", self.name), m));
        if ns * nh * nr * nt == 0 {
            return bad(
                "sizes".into(),
                "need at least one state, human action, robot action and θ".into(),
            );
        }
        super::check_horizon(&self.name, self.horizon)?;
        if !(0.0..=1.0).contains(&self.discount) || (self.discount == 1.0 && self.horizon.is_none())
        {
            return bad(
                "discount".into(),
                format!(
                    "must be in [0, 1) (or 1 with a horizon), got {}",
                    self.discount
                ),
            );
        }
        let dist = |f: String, p: &[f64], n: usize| -> Result<()> {
            let s: f64 = p.iter().sum();
            if p.len() != n
                || p.iter().any(|x| !x.is_finite() || *x < 0.0)
                || (s - 1.0).abs() > super::PROB_TOL
            {
                return bad(
                    f,
                    format!("must be {n} probabilities summing to 1 (sum {s})"),
                );
            }
            Ok(())
        };
        dist("prior".into(), &self.prior, nt)?;
        dist("initial_state".into(), &self.initial_state, ns)?;
        for s in 0..ns {
            for h in 0..nh {
                for r in 0..nr {
                    dist(
                        format!(
                            "T[{}][{}][{}]",
                            self.states[s], self.human_actions[h], self.robot_actions[r]
                        ),
                        &self.t[s][h][r],
                        ns,
                    )?;
                    for th in 0..nt {
                        if !self.r[th][s][h][r].is_finite() {
                            return bad(
                                format!("R[{}][{}]", self.thetas[th], self.states[s]),
                                "must be finite".into(),
                            );
                        }
                    }
                }
            }
        }
        super::check_value_bound(
            &self.name,
            self.max_abs_reward(),
            self.discount,
            self.horizon,
        )?;
        if let Human::CoordinatedBoltzmann(b) = self.human
            && !(b.is_finite() && b >= 0.0)
        {
            return bad("human".into(), format!("β must be finite and ≥ 0, got {b}"));
        }
        if let Human::Policy(p) = &self.human {
            if p.len() != nt
                || p.iter()
                    .any(|x| x.len() != ns || x.iter().any(|y| y.len() != nr))
            {
                return bad(
                    "human policy".into(),
                    format!("must be indexed [θ][s][a^R][a^H] with sizes {nt}×{ns}×{nr}×{nh}"),
                );
            }
            if self.timing == Timing::Simultaneous {
                for th in 0..nt {
                    for s in 0..ns {
                        if p[th][s].iter().any(|d| d != &p[th][s][0]) {
                            return bad(
                                format!("human policy[{}][{}]", self.thetas[th], self.states[s]),
                                "with simultaneous moves the human cannot respond to the robot's action: make the policy the same for every a^R, or use timing = human-responds".into(),
                            );
                        }
                    }
                }
            }
            for th in 0..nt {
                for s in 0..ns {
                    for r in 0..nr {
                        dist(
                            format!(
                                "human policy[{}][{}][{}]",
                                self.thetas[th], self.states[s], self.robot_actions[r]
                            ),
                            &p[th][s][r],
                            nh,
                        )?;
                    }
                }
            }
        }
        Ok(())
    }

    /// max |R| over every θ, state and action pair.
    pub fn max_abs_reward(&self) -> f64 {
        self.r
            .iter()
            .flatten()
            .flatten()
            .flatten()
            .fold(0.0f64, |m, x| m.max(x.abs()))
    }

    /// The sizes of the POMDP reduction (without building it).
    pub fn reduction_size(&self) -> ReductionSize {
        let (ns, nh, nr, nt) = (
            self.states.len(),
            self.human_actions.len(),
            self.robot_actions.len(),
            self.thetas.len(),
        );
        let actions = match self.human {
            Human::Coordinated | Human::CoordinatedBoltzmann(_) => {
                (nh as f64).powi(nt as i32) * nr as f64
            }
            Human::Policy(_) => nr as f64,
        };
        ReductionSize {
            states: ns * nt * nh,
            actions: actions.min(usize::MAX as f64) as usize,
            observations: ns * nh,
        }
    }

    /// The POMDP reduction: hidden (s, θ, last a^H) indexed (s·|Θ| + θ)·|A^H| + a^H; observation (s', a^H)
    /// indexed s'·|A^H| + a^H. A tabular POMDP's first observation comes after the first action, so the robot
    /// of the reduction does not see the initial world state: the reduction is the game only when P0(s0) is a
    /// point mass (`cirl solve` refuses the reduction-based solvers otherwise; for any initial state s the
    /// value is the reduction's value at the initial belief conditioned on s).
    pub fn to_pomdp(&self) -> Result<Tabular> {
        self.check()?;
        let (ns, nh, nr, nt) = (
            self.states.len(),
            self.human_actions.len(),
            self.robot_actions.len(),
            self.thetas.len(),
        );
        let size = self.reduction_size();
        if size.actions > MAX_COORDINATOR_ACTIONS
            || (size.actions as f64) * (size.states as f64).powi(2) > MAX_TABLE_ENTRIES
        {
            return Err(Error::invalid(
                "reduction",
                format!(
                    "{} actions × {} states (|A^R|·|A^H|^|Θ| coordinator actions) is too large to build; use the generalized backup (--solver exact)",
                    size.actions, size.states
                ),
            ));
        }
        // Each POMDP action: a robot action and, per θ, the human's action distribution.
        let mut acts: Vec<ReducedAction> = Vec::new();
        match &self.human {
            Human::CoordinatedBoltzmann(_) => {
                return Err(Error::invalid(
                    "human",
                    "a coordinated Boltzmann human's policy depends on the joint plan, so it has no POMDP reduction; solve it with the generalized backup (--solver exact)",
                ));
            }
            Human::Coordinated => {
                for r in 0..nr {
                    for code in 0..size.actions / nr {
                        let mut c = code;
                        let mut rule = Vec::with_capacity(nt);
                        let mut label = format!("{}|", self.robot_actions[r]);
                        for th in 0..nt {
                            let h = c % nh;
                            c /= nh;
                            let mut d = vec![0.0; nh];
                            d[h] = 1.0;
                            rule.push(vec![d; ns]);
                            label += &format!(
                                "{}{}",
                                if th > 0 { "," } else { "" },
                                self.human_actions[h]
                            );
                        }
                        acts.push(ReducedAction {
                            robot: r,
                            rule,
                            label,
                        });
                    }
                }
            }
            Human::Policy(p) => {
                for r in 0..nr {
                    let rule = (0..nt)
                        .map(|th| (0..ns).map(|s| p[th][s][r].clone()).collect())
                        .collect();
                    acts.push(ReducedAction {
                        robot: r,
                        rule,
                        label: self.robot_actions[r].clone(),
                    });
                }
            }
        }
        self.to_pomdp_with_last_action(&acts)
    }

    /// Builds the reduction with hidden state (s, θ, last a^H), so the observation (s', a^H) is a function of
    /// the state entered. Index: (s·|Θ| + θ)·|A^H| + h.
    fn to_pomdp_with_last_action(&self, acts: &[ReducedAction]) -> Result<Tabular> {
        let (ns, nh, nt) = (
            self.states.len(),
            self.human_actions.len(),
            self.thetas.len(),
        );
        let hs = ns * nt * nh;
        let idx = |s: usize, th: usize, h: usize| (s * nt + th) * nh + h;
        let na = acts.len();
        let mut t = vec![vec![vec![0.0; hs]; hs]; na];
        let mut o = vec![vec![vec![0.0; ns * nh]; hs]; na];
        let mut rew = vec![vec![0.0; hs]; na];
        for (a, ReducedAction { robot: r, rule, .. }) in acts.iter().enumerate() {
            for s in 0..ns {
                for th in 0..nt {
                    let dist = &rule[th][s];
                    for last in 0..nh {
                        let from = idx(s, th, last);
                        let mut reward = 0.0;
                        for (h, &ph) in dist.iter().enumerate() {
                            if ph == 0.0 {
                                continue;
                            }
                            reward += ph * self.r[th][s][h][*r];
                            for (sp, &pt) in self.t[s][h][*r].iter().enumerate() {
                                t[a][from][idx(sp, th, h)] += ph * pt;
                            }
                        }
                        rew[a][from] = reward;
                    }
                }
            }
            for sp in 0..ns {
                for th in 0..nt {
                    for h in 0..nh {
                        o[a][idx(sp, th, h)][sp * nh + h] = 1.0;
                    }
                }
            }
        }
        let mut initial = vec![0.0; hs];
        for s in 0..ns {
            for th in 0..nt {
                // The "last human action" of the first state is a placeholder: index 0.
                initial[idx(s, th, 0)] = self.initial_state[s] * self.prior[th];
            }
        }
        let m = Tabular {
            name: format!("{}-reduced", self.name),
            states: (0..ns)
                .flat_map(|s| (0..nt).flat_map(move |th| (0..nh).map(move |h| (s, th, h))))
                .map(|(s, th, h)| {
                    format!(
                        "{}|{}|{}",
                        self.states[s], self.thetas[th], self.human_actions[h]
                    )
                })
                .collect(),
            actions: acts.iter().map(|x| x.label.clone()).collect(),
            observations: (0..ns)
                .flat_map(|s| (0..nh).map(move |h| (s, h)))
                .map(|(s, h)| format!("{}|{}", self.states[s], self.human_actions[h]))
                .collect(),
            t,
            o,
            r: rew,
            discount: self.discount,
            horizon: self.horizon,
            initial,
            notes: vec![],
        };
        m.check()?;
        Ok(m)
    }
}

/// A human that is Boltzmann-rational over the immediate reward given the robot's action (β = 0: rational,
/// ties split evenly). Log-sum-exp form, so no overflow for any β ≥ 0.
pub fn myopic_boltzmann(g: &CirlGame, beta: f64) -> Table4 {
    let (ns, nh, nr, nt) = (
        g.states.len(),
        g.human_actions.len(),
        g.robot_actions.len(),
        g.thetas.len(),
    );
    let mut p = vec![vec![vec![vec![0.0; nh]; nr]; ns]; nt];
    for th in 0..nt {
        for s in 0..ns {
            for r in 0..nr {
                let q: Vec<f64> = (0..nh).map(|h| g.r[th][s][h][r]).collect();
                let qmax = q.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let w: Vec<f64> = if beta == 0.0 {
                    q.iter().map(|x| (*x == qmax) as u8 as f64).collect()
                } else {
                    q.iter().map(|x| ((x - qmax) / beta).exp()).collect()
                };
                let z: f64 = w.iter().sum();
                p[th][s][r] = w.iter().map(|x| x / z).collect();
            }
        }
    }
    p
}

/// The off-switch game as a one-step CIRL game (timing: the human responds). θ is the action's utility U,
/// with atoms `values` and probabilities `probs`; robot actions act / wait / off; human actions allow / press
/// (they matter only after wait). `beta`: `None` for the coordinated (optimal) human, `Some(β)` for a human that
/// allows with probability 1/(1 + e^{−U/β}) (β = 0: rational).
pub fn offswitch_game(values: &[f64], probs: &[f64], beta: Option<f64>) -> CirlGame {
    let nt = values.len();
    // States: 0 = the decision, 1 = done (absorbing, reward 0).
    let mut t = vec![vec![vec![vec![0.0; 2]; 3]; 2]; 2];
    for s in 0..2 {
        for h in 0..2 {
            for r in 0..3 {
                t[s][h][r][1] = 1.0;
            }
        }
    }
    // R[θ][s][h][r]: act → U; off → 0; wait → U if allowed, 0 if pressed.
    let mut rew = vec![vec![vec![vec![0.0; 3]; 2]; 2]; nt];
    for (th, &u) in values.iter().enumerate() {
        rew[th][0][0][0] = u; // allow, act
        rew[th][0][1][0] = u; // press, act (the switch is disabled: act ignores the human)
        rew[th][0][0][1] = u; // allow, wait
    }
    let mut g = CirlGame {
        name: "offswitch".into(),
        states: vec!["decide".into(), "done".into()],
        human_actions: vec!["allow".into(), "press".into()],
        robot_actions: vec!["act".into(), "wait".into(), "off".into()],
        thetas: values.iter().map(|u| format!("U={u}")).collect(),
        t,
        r: rew,
        prior: probs.to_vec(),
        initial_state: vec![1.0, 0.0],
        discount: 1.0,
        horizon: Some(1),
        timing: Timing::HumanResponds,
        human: Human::Coordinated,
    };
    if let Some(beta) = beta {
        let mut p = vec![vec![vec![vec![0.5, 0.5]; 3]; 2]; nt];
        for (th, &u) in values.iter().enumerate() {
            let allow = if beta == 0.0 {
                (u >= 0.0) as u8 as f64
            } else {
                logistic(u / beta)
            };
            for r in 0..3 {
                p[th][0][r] = vec![allow, 1.0 - allow];
            }
        }
        g.human = Human::Policy(p);
    }
    g
}

/// A random game for tests and benchmarks: normalised-exponential transition rows, rewards uniform in [−1, 1],
/// uniform prior over θ, start in state 0, coordinated human, simultaneous timing.
pub fn random_game<R: rand::Rng + ?Sized>(
    ns: usize,
    nh: usize,
    nr: usize,
    nt: usize,
    discount: f64,
    horizon: usize,
    rng: &mut R,
) -> CirlGame {
    use rand::RngExt;
    let mut row = |n: usize| {
        let v: Vec<f64> = (0..n).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
        let s: f64 = v.iter().sum();
        v.into_iter().map(|x| x / s).collect::<Vec<f64>>()
    };
    let t = (0..ns)
        .map(|_| {
            (0..nh)
                .map(|_| (0..nr).map(|_| row(ns)).collect())
                .collect()
        })
        .collect();
    let r = (0..nt)
        .map(|_| {
            (0..ns)
                .map(|_| {
                    (0..nh)
                        .map(|_| (0..nr).map(|_| 2.0 * rng.random::<f64>() - 1.0).collect())
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut initial_state = vec![0.0; ns];
    initial_state[0] = 1.0;
    CirlGame {
        name: format!("random-cirl-{ns}x{nh}x{nr}x{nt}"),
        states: (0..ns).map(|i| format!("s{i}")).collect(),
        human_actions: (0..nh).map(|i| format!("h{i}")).collect(),
        robot_actions: (0..nr).map(|i| format!("r{i}")).collect(),
        thetas: (0..nt).map(|i| format!("θ{i}")).collect(),
        t,
        r,
        prior: vec![1.0 / nt as f64; nt],
        initial_state,
        discount,
        horizon: Some(horizon),
        timing: Timing::Simultaneous,
        human: Human::Coordinated,
    }
}
