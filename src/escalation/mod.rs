//! Escalation calibration (`cirl calibrate`): when should a deployed agent act, ask, block or hand over —
//! answered by the off-switch game rather than by a confidence cut-off.
//!
//! A [`scenario::Scenario`] describes the agent's action classes (share, utility prior, reversibility, task
//! length, the tools they cover), its reported confidence (calibrated or overconfident, and how well it separates
//! good from bad actions), the reviewer who answers its asks (a response model or two error rates, optionally
//! fatiguing) and the costs of asking, blocking and handing over. [`model`] turns each class into the four moves'
//! payoffs as functions of the agent's per-action confidence and evaluates every rival policy exactly;
//! [`optimize`] finds the best plan under fatigue and risk constraints; [`risk`] gives the loss distribution
//! (P(loss > L), CVaR); [`calibrate`] adds the thresholds an engineer can use, the reasons a class goes to a
//! human, the reviewer's implied approval rate, and a seeded Monte Carlo check of every figure; [`card`] writes
//! the policy card and its exports.
//!
//! ```
//! use cirl::escalation::{self, model::Move, scenario::Scenario};
//! // Two classes: edits the agent is fairly sure are good and can be undone, and irreversible deploys whose
//! // value it does not know; a rational reviewer answers asks at a cost of 0.1.
//! let s = Scenario::parse(r#"
//! name = "two-classes"
//! [human]
//! response = "rational"
//! ask_cost = 0.1
//! handover_cost = 5.0
//! [[class]]
//! name = "edit"
//! share = 0.9
//! prior = "normal:1,0.5"
//! reversible = true
//! undo_cost = 0.3
//! [[class]]
//! name = "deploy"
//! share = 0.1
//! prior = "normal:0,2"
//! "#, "two-classes.toml")?;
//! let card = escalation::calibrate(&s, &escalation::Options { mc_actions: 0, seed: 0 })?;
//! assert_eq!(card.classes[0].mv, Move::Act);
//! assert_eq!(card.classes[1].mv, Move::Ask); // uncertain and irreversible: defer
//! # Ok::<(), cirl::Error>(())
//! ```
//!
//! ## References
//! - Hadfield-Menell, Dragan, Abbeel, Russell. *The Off-Switch Game*. IJCAI 2017.
//! - Freedman & Gleave. *CIRL corrigibility is fragile*, 2022 (costly queries).
//! - METR. *Measuring AI ability to complete long tasks*, 2025 (the success curve over task length).
//! - Ancker et al. *Effects of workload, work complexity, and repeated alerts on alert fatigue in a clinical
//!   decision support system*. BMC Med. Inform. Decis. Mak. 17:36, 2017 (reviewer fatigue).
//! - Rockafellar & Uryasev. *Optimization of conditional value-at-risk*. J. Risk 2:21–41, 2000 (CVaR).

pub mod axes;
pub mod card;
pub mod choices;
pub mod closed_loop;
pub mod export;
pub mod fit;
pub mod gate;
pub mod log;
pub mod model;
pub mod optimize;
pub mod plot;
pub mod records;
pub mod reissue;
pub mod risk;
pub mod robust;
pub mod scenario;
pub mod tools;
pub mod voi;

use rayon::prelude::*;
use serde::Serialize;

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::numerics::brent;
use crate::rng::job_rng;
use model::{Model, Move, Partition, Plan, Policy, QDist, Values};
use scenario::{ActionClass, Scenario};

pub use crate::numerics::Estimate;

/// Monte Carlo estimates of a policy's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McMetrics {
    /// The number of simulated actions.
    pub actions: u64,
    /// Utility per action (asking, blocking and hand-over costs included).
    pub expected_utility: Estimate,
    /// Share of actions asked.
    pub ask_rate: Estimate,
    /// Share of actions blocked.
    pub block_rate: Estimate,
    /// Share of actions handed over.
    pub handover_rate: Estimate,
    /// Share of actions that are bad, irreversible and go through.
    pub harm_rate: Estimate,
    /// Loss per action from those harms (−U of each, 0 for every other action).
    pub harm_loss: Estimate,
    /// Share of actions that are bad, irreversible and stopped.
    pub harms_prevented_rate: Estimate,
    /// Share of actions that are bad, reversible and go through (undone at their cost).
    pub undo_rate: Estimate,
    /// Share of actions that are good and not done (refused or blocked).
    pub good_blocked_rate: Estimate,
    /// Share of actions that go through with no human decision against them and no hand-over.
    pub resolved_by_agent_rate: Estimate,
}

/// The per-action outcome sums of one Monte Carlo batch, for every plan: [plan][metric] of (Σx, Σx²).
const N_METRICS: usize = 10;
type Sums = Vec<[(f64, f64); N_METRICS]>;

/// Draws U from `prior` conditioned on its sign (good: U ≥ 0), by rejection.
fn sample_given_sign<R: rand::Rng + ?Sized>(prior: &Prior, good: bool, rng: &mut R) -> Result<f64> {
    for _ in 0..10_000_000 {
        let u = prior.sample(rng);
        if (u >= 0.0) == good {
            return Ok(u);
        }
    }
    Err(Error::invalid(
        "class.prior",
        "could not draw an action of the needed sign in 10⁷ tries: that sign has probability < 1e-7",
    ))
}

/// Simulates `actions` actions of the scenario (seeded; batches of 65 536 on streams keyed by batch, so the
/// result does not depend on the thread count) and scores every plan on the same actions, each with the
/// reviewer as it answers that plan (under fatigue, at the plan's own ask rate). It simulates the model the
/// exact figures come from: it checks their arithmetic, not the model.
pub fn monte_carlo(m: &Model, plans: &[Plan], actions: u64, seed: u64) -> Result<Vec<McMetrics>> {
    const BATCH: u64 = 65_536;
    let batches = actions.div_ceil(BATCH);
    let humans: Vec<Human> = plans.iter().map(|p| m.reviewer.at(m.ask_rate(p))).collect();
    let shares: Vec<f64> = m.classes.iter().map(|c| c.share).collect();
    let results: Vec<Result<Sums>> = (0..batches)
        .into_par_iter()
        .map(|b| {
            use rand::RngExt;
            let mut rng = job_rng(seed, b);
            let n = BATCH.min(actions - b * BATCH);
            let mut sums: Sums = vec![[(0.0, 0.0); N_METRICS]; plans.len()];
            for _ in 0..n {
                let x: f64 = rng.random();
                let mut k = 0;
                let mut acc = shares[0];
                while x >= acc && k + 1 < shares.len() {
                    k += 1;
                    acc += shares[k];
                }
                let c = &m.classes[k];
                let q = c.q.sample(&mut rng);
                let good = rng.random::<f64>() < q;
                let u = sample_given_sign(&c.utility, good, &mut rng)?;
                let ueff = match c.undo_cost {
                    Some(d) if u < -d => -d,
                    _ => u,
                };
                let v: f64 = rng.random();
                let k_ = c.costs;
                for (pi, plan) in plans.iter().enumerate() {
                    let allow = v < humans[pi].p_allow(ueff);
                    let mv = plan.0[k].at(q);
                    let (util, ask, block, hand, through, stopped, blocked, resolved) = match mv {
                        Move::Act => (ueff, 0.0, 0.0, 0.0, !good, false, false, true),
                        Move::Ask => (
                            if allow { ueff } else { -k_.decline } - k_.ask,
                            1.0,
                            0.0,
                            0.0,
                            !good && allow,
                            !good && !allow,
                            good && !allow,
                            allow,
                        ),
                        Move::Block => (-k_.block, 0.0, 1.0, 0.0, false, !good, good, false),
                        Move::HandOver => (
                            if good { u } else { 0.0 } - k_.handover,
                            0.0,
                            0.0,
                            1.0,
                            false,
                            !good,
                            false,
                            false,
                        ),
                    };
                    let harm = (through && !c.reversible) as u8 as f64;
                    let vals = [
                        util,
                        ask,
                        block,
                        hand,
                        harm,
                        harm * (-ueff).max(0.0),
                        (stopped && !c.reversible) as u8 as f64,
                        (through && c.reversible) as u8 as f64,
                        blocked as u8 as f64,
                        resolved as u8 as f64,
                    ];
                    for (j, v) in vals.iter().enumerate() {
                        sums[pi][j].0 += v;
                        sums[pi][j].1 += v * v;
                    }
                }
            }
            Ok(sums)
        })
        .collect();
    let mut total: Sums = vec![[(0.0, 0.0); N_METRICS]; plans.len()];
    for r in results {
        let r = r?;
        for (t, x) in total.iter_mut().zip(&r) {
            for j in 0..N_METRICS {
                t[j].0 += x[j].0;
                t[j].1 += x[j].1;
            }
        }
    }
    let n = actions as f64;
    let est = |(s1, s2): (f64, f64)| {
        let mean = s1 / n;
        let var = ((s2 / n - mean * mean) * n / (n - 1.0).max(1.0)).max(0.0);
        Estimate::normal(mean, (var / n).sqrt())
    };
    Ok(total
        .into_iter()
        .map(|t| McMetrics {
            actions,
            expected_utility: est(t[0]),
            ask_rate: est(t[1]),
            block_rate: est(t[2]),
            handover_rate: est(t[3]),
            harm_rate: est(t[4]),
            harm_loss: est(t[5]),
            harms_prevented_rate: est(t[6]),
            undo_rate: est(t[7]),
            good_blocked_rate: est(t[8]),
            resolved_by_agent_rate: est(t[9]),
        })
        .collect())
}

/// A boundary between two moves along one of the engineer's axes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// Where the move changes (in the axis's units).
    pub at: f64,
    /// The move below it.
    pub below: Move,
    /// The move above it.
    pub above: Move,
}

/// One interval of a per-action policy over the agent's confidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    /// The move in the interval.
    #[serde(rename = "move")]
    pub mv: Move,
    /// Its permission-rule spelling (allow, ask or deny).
    pub decision: &'static str,
    /// Reported confidence (what the agent says) where the interval starts.
    pub reported_from: f64,
    /// Reported confidence where it ends.
    pub reported_to: f64,
    /// Calibrated confidence where the interval starts.
    pub calibrated_from: f64,
    /// Calibrated confidence where it ends.
    pub calibrated_to: f64,
    /// The fraction of this class's actions in the interval.
    pub fraction: f64,
}

/// The class-level payoffs of the moves for a utility prior.
fn class_level(s: &Scenario, c: &ActionClass, utility: &Prior, undo: f64) -> Values {
    model::class_values(utility, &s.reviewer.human, undo, &s.costs(c))
}

/// Scans `f` (x → payoffs) over a log grid of `x` to bracket every change of the best move, then refines it
/// by Brent's method on the difference of the two moves' payoffs.
fn scan(f: &(dyn Fn(f64) -> Values + Sync), lo: f64, hi: f64) -> Vec<Threshold> {
    let n = 121;
    let xs: Vec<f64> = (0..n)
        .map(|i| (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / (n - 1) as f64).exp())
        .collect();
    let vals: Vec<Values> = xs.par_iter().map(|&x| f(x)).collect();
    let mut out = Vec::new();
    for i in 1..n {
        let (m0, m1) = (vals[i - 1].best().0, vals[i].best().0);
        if m0 != m1 {
            let g = |lx: f64| {
                let v = f(lx.exp());
                v.get(m1) - v.get(m0)
            };
            let at = brent(g, xs[i - 1].ln(), xs[i].ln(), 1e-12)
                .map(f64::exp)
                .unwrap_or(0.5 * (xs[i - 1] + xs[i]));
            out.push(Threshold {
                at,
                below: m0,
                above: m1,
            });
        }
    }
    out
}

/// Why a class does not simply act.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The agent acts: no other move is worth more.
    ActingIsBest,
    /// The task is beyond the agent's reliable horizon: without capability failures it would act.
    Capability,
    /// Mistakes cannot be undone: were they undoable at the reference undo cost, it would act.
    Irreversibility,
    /// Acting is worth less than nothing in expectation.
    NegativeValue,
    /// The agent does not know whether the action is good, and the reviewer's answer is worth more than c.
    ValueUncertainty,
    /// Blocking or handing over beats asking: the review costs more (c, the reviewer's errors) than it saves.
    AskingCostsMore,
}

impl Reason {
    /// The one spelling used in the card, the console and the exports.
    pub fn as_str(&self) -> &'static str {
        match self {
            Reason::ActingIsBest => "acting-is-best",
            Reason::Capability => "capability",
            Reason::Irreversibility => "irreversibility",
            Reason::NegativeValue => "negative-value",
            Reason::ValueUncertainty => "value-uncertainty",
            Reason::AskingCostsMore => "asking-costs-more",
        }
    }
}

/// The class-level payoffs of the four moves.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MoveValues {
    /// Acting without asking.
    pub act: f64,
    /// Asking the reviewer first.
    pub ask: f64,
    /// Blocking the action.
    pub block: f64,
    /// Handing the task over to a human.
    pub hand_over: f64,
}

impl From<Values> for MoveValues {
    fn from(v: Values) -> Self {
        MoveValues {
            act: v.get(Move::Act),
            ask: v.get(Move::Ask),
            block: v.get(Move::Block),
            hand_over: v.get(Move::HandOver),
        }
    }
}

/// What the card says about one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassCard {
    /// The class's name in the scenario.
    pub name: String,
    /// Where the class's prior came from when it was not typed in (a population's thresholds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prior_source: Option<String>,
    /// Its share of the agent's actions.
    pub share: f64,
    /// allow / ask / deny: the class-level (static) decision, for permission rules.
    pub decision: &'static str,
    /// The class-level move (act, ask, block, hand-over) the static exports carry.
    #[serde(rename = "move")]
    pub mv: Move,
    /// Why the class does not simply act (the first of `reasons`).
    pub reason: Reason,
    /// Every reason that applies (the first is `reason`).
    pub reasons: Vec<Reason>,
    /// Whether the best class-level move is tied with another (within the tie tolerance).
    pub tie: bool,
    /// The moves tied with the best one (empty without a tie).
    pub tied: Vec<Move>,
    /// Whether the class's mistakes can be undone.
    pub reversible: bool,
    /// The cost of undoing a mistake (reversible classes).
    pub undo_cost: Option<f64>,
    /// The cost of blocking one of its actions.
    pub block_cost: f64,
    /// The task length in minutes (when the scenario's capability curve applies).
    pub task_minutes: Option<f64>,
    /// P(U ≥ 0).
    pub p_good: f64,
    /// The capability curve's P(success) at the task length (when it applies).
    pub p_capability: Option<f64>,
    /// Class-level payoffs of the moves (the agent's confidence at its mean).
    pub values: MoveValues,
    /// Each move's expected payoff as a + b·q in the agent's calibrated confidence q.
    pub lines: std::collections::BTreeMap<&'static str, model::Line>,
    /// The per-action policy over the agent's confidence (what the gate deploys).
    pub regions: Vec<Region>,
    /// Thresholds over the agent's reported confidence.
    pub confidence_thresholds: Vec<Threshold>,
    /// Thresholds over the task length in minutes (where the capability curve applies).
    pub task_minutes_thresholds: Vec<Threshold>,
    /// Risk per action of the class under the static decision.
    pub risk_static: risk::Risk,
    /// Risk per action of the class under the per-action policy.
    pub risk_per_action: risk::Risk,
    /// Where the decision changes on the axes an engineer turns.
    pub flips: robust::ClassFlips,
    /// The tools the class covers.
    pub tools: tools::Tools,
    /// Its example calls.
    pub examples: tools::Examples,
}

/// One policy's row of the rival table.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRow {
    /// The policy's name (as `--policy` spells it).
    pub name: String,
    /// What the policy does, in a line.
    pub description: String,
    /// Expected utility per action.
    pub expected_utility: f64,
    /// Share of actions acted on.
    pub act_rate: f64,
    /// Share of actions asked.
    pub ask_rate: f64,
    /// Share of actions blocked.
    pub block_rate: f64,
    /// Share of actions handed over.
    pub handover_rate: f64,
    /// Share of actions that are bad, irreversible and go through.
    pub harm_rate: f64,
    /// Severity-weighted loss per action from those harms.
    pub harm_loss: f64,
    /// Share of actions that are bad, irreversible and stopped.
    pub harms_prevented_rate: f64,
    /// Asks per harm prevented (`None` when the policy never asks or prevents none).
    pub asks_per_harm_prevented: Option<f64>,
    /// Share of actions that are bad, reversible and go through.
    pub undo_rate: f64,
    /// Share of actions that are good and not done.
    pub good_blocked_rate: f64,
    /// Share of actions asked and answered "no".
    pub refusal_rate: f64,
    /// Share of actions that go through with no human decision against them and no hand-over.
    pub resolved_by_agent_rate: f64,
    /// Expected utility lost per action against the value-of-deferring policy.
    pub regret: f64,
    /// Asks per ask of the value-of-deferring policy (`None` when that policy never asks).
    pub asks_vs_value_of_deferring: Option<f64>,
    /// The reviewer's catch rate as it answers this policy (under fatigue, at its own ask rate).
    pub catch_rate: Option<f64>,
    /// Its loss distribution per action (P(loss > L), CVaR).
    pub risk: risk::Risk,
    /// Whether the policy meets the scenario's risk limits (`None` without limits).
    pub meets_limits: Option<bool>,
    /// The Monte Carlo check of the figures above (with `mc_actions` > 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monte_carlo: Option<McMetrics>,
    /// The policy's move per class and confidence (not serialized).
    #[serde(skip)]
    pub plan: Plan,
}

/// A risk constraint and what it costs.
#[derive(Debug, Clone, Serialize)]
pub struct ConstraintRow {
    /// The constraint's name (as the scenario's `[limits]` spell it).
    pub name: &'static str,
    /// The limit, in the constraint's units.
    pub limit: f64,
    /// The unconstrained per-action policy's value of the constrained quantity (the worst class for a
    /// per-class limit).
    pub unconstrained: f64,
    /// Whether the unconstrained policy breaks it.
    pub binding: bool,
    /// Expected utility per action lost by imposing this constraint alone.
    pub price: f64,
    /// The Lagrange multiplier at the optimum with every constraint: utility per unit of the constrained
    /// quantity (the largest over classes for a per-class limit).
    pub multiplier: f64,
}

/// The reviewer, as the card lets an engineer sanity-check it.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewerCard {
    /// The reviewer's response model, as the scenario spells it.
    pub model: String,
    /// P(approve | good action), averaged over this mix of actions.
    pub approve_good: f64,
    /// P(reject | bad action), averaged over this mix of actions.
    pub catch_bad: f64,
    /// If every action asked: the share of prompts approved.
    pub approval_rate_if_every_action_asks: f64,
    /// If every action asked: the share refused.
    pub refusal_rate_if_every_action_asks: f64,
    /// The reviewer's fatigue (none when it does not tire).
    pub fatigue: Option<model::Fatigue>,
    /// The catch rate at the deployed per-action policy's ask rate (with fatigue).
    pub catch_bad_at_deployed_ask_rate: Option<f64>,
}

/// The result of `cirl calibrate`.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    /// The scenario's name.
    pub scenario: String,
    /// Its description.
    pub description: String,
    /// The unit of utility (e.g. "USD").
    pub units: String,
    /// The scenario's stated assumptions, as it gives them.
    pub assumptions: serde_json::Value,
    /// The reviewer, for a sanity check.
    pub reviewer: ReviewerCard,
    /// The policy the per-action gate deploys and the one the static exports carry.
    pub deployed: Deployed,
    /// What the card says about each class, in scenario order.
    pub classes: Vec<ClassCard>,
    /// The rival policies, each evaluated exactly.
    pub policies: Vec<PolicyRow>,
    /// Each risk limit and what it costs.
    pub constraints: Vec<ConstraintRow>,
    /// The card's policies deployed under perturbed truths, and the minimax-regret policy.
    pub robustness: robust::Robustness,
    /// Where confidence comes from and how finely it resolves.
    pub signal: scenario::Signal,
    /// Loud warnings (a negative-value allow) and things the exports cannot express.
    pub warnings: Vec<String>,
    /// The decision maps not drawn, and why (filled by [`plot_all`]).
    pub plot_notes: Vec<String>,
    /// What `cirl gate` reads.
    pub gate: export::GateCard,
    /// Every example call and the decision the static rules give it (what the runtime tests check).
    pub examples: Vec<export::ExampleDecision>,
    /// What each export cannot express.
    pub export_notes: Vec<export::ExportNote>,
}

/// Which policy each deployment path carries.
#[derive(Debug, Clone, Serialize)]
pub struct Deployed {
    /// The per-action policy (the gate, SDK adapters).
    pub per_action: String,
    /// The class-level policy (static permission rules: Claude Code, Gemini CLI, Codex, LangChain).
    pub static_rules: String,
}

/// Options of [`calibrate`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Monte Carlo actions (0: none).
    pub mc_actions: u64,
    /// Seed of the Monte Carlo check.
    pub seed: u64,
}

fn describe(p: Policy, s: &Scenario) -> String {
    match p {
        Policy::NeverAsk => "act on every action".into(),
        Policy::ApproveAll => "ask before every action".into(),
        Policy::ConfidenceThreshold => format!(
            "ask when reported confidence < {}, otherwise act",
            s.confidence_threshold
        ),
        Policy::IrreversibilityGate => "ask before irreversible actions, act otherwise".into(),
        Policy::TaskLengthGate => match s.task_length_gate_minutes {
            Some(g) => format!("ask when the task takes longer than {g:.1} min, act otherwise"),
            None => {
                "ask when the task is long (no capability curve given: acts on everything)".into()
            }
        },
        Policy::ValueOfDeferringStatic => {
            "the best move per class, ignoring confidence (static allow/ask/deny rules)".into()
        }
        Policy::ValueOfDeferring => {
            "the best move per action from its class and recalibrated confidence".into()
        }
    }
}

/// The rows of the rival table: the seven rivals, and with risk limits the constrained policies.
struct Candidates {
    rows: Vec<(String, String, Plan)>,
    /// Indices of the deployed per-action and static plans.
    per_action: usize,
    static_rules: usize,
}

fn candidates(s: &Scenario, m: &Model) -> Result<Candidates> {
    let no_limits = optimize::Limits::default();
    let mut rows: Vec<(String, String, Plan)> = Vec::new();
    for p in Policy::ALL {
        let plan = match p {
            Policy::ValueOfDeferringStatic => optimize::best(m, &no_limits, true)?.plan,
            Policy::ValueOfDeferring => optimize::best(m, &no_limits, false)?.plan,
            _ => m.plan(p),
        };
        rows.push((p.name().to_string(), describe(p, s), plan));
    }
    let (mut per_action, mut static_rules) = (rows.len() - 1, rows.len() - 2);
    let limits = &s.risk.limits;
    if !limits.is_empty() {
        let st = optimize::best(m, limits, true)?.plan;
        let pa = optimize::best(m, limits, false)?.plan;
        // Under fatigue both searches are heuristic: a feasible constrained plan is a candidate of the
        // unconstrained problem too, so the unconstrained row is never worse than the constrained one.
        let u = |p: &Plan| m.evaluate(p).metrics.expected_utility;
        for (i, cp) in [(rows.len() - 2, &st), (rows.len() - 1, &pa)] {
            if u(cp) > u(&rows[i].2) {
                rows[i].2 = cp.clone();
            }
        }
        rows.push((
            "constrained-static".into(),
            "the best move per class subject to the risk limits".into(),
            st,
        ));
        rows.push((
            "constrained".into(),
            "the best move per action subject to the risk limits".into(),
            pa,
        ));
        static_rules = rows.len() - 2;
        per_action = rows.len() - 1;
    }
    Ok(Candidates {
        rows,
        per_action,
        static_rules,
    })
}

/// The constraints' rows: each one's price alone, and the multipliers with all of them.
fn constraint_rows(
    s: &Scenario,
    m: &Model,
    best_u: f64,
    constrained: &Plan,
) -> Result<Vec<ConstraintRow>> {
    let limits = &s.risk.limits;
    if limits.is_empty() {
        return Ok(vec![]);
    }
    let all = optimize::multipliers(m, constrained, limits)?;
    let vod = optimize::best(m, &optimize::Limits::default(), false)?.plan;
    let (vm, _) = m.answering(&vod);
    let mut out = Vec::new();
    if let Some(b) = limits.harms_per_1000 {
        let alone = optimize::Limits {
            catastrophe_probability: None,
            ..limits.clone()
        };
        let p = optimize::best(m, &alone, false)?.plan;
        let un = vm.metrics_as_is(&vod).harm_rate * 1000.0;
        out.push(ConstraintRow {
            name: "harm_budget_per_1000",
            limit: b,
            unconstrained: un,
            binding: un > b * (1.0 + 1e-9),
            price: best_u - m.evaluate(&p).metrics.expected_utility,
            multiplier: all.harm,
        });
    }
    if let Some(eps) = limits.catastrophe_probability {
        let alone = optimize::Limits {
            harms_per_1000: None,
            ..limits.clone()
        };
        let p = optimize::best(m, &alone, false)?.plan;
        let un = risk::catastrophe_by_class(&vm, &vod, limits.catastrophe_loss)
            .into_iter()
            .fold(0.0f64, f64::max);
        out.push(ConstraintRow {
            name: "max_catastrophe_probability",
            limit: eps,
            unconstrained: un,
            binding: un > eps * (1.0 + 1e-9),
            price: best_u - m.evaluate(&p).metrics.expected_utility,
            multiplier: all
                .catastrophe
                .iter()
                .zip(&m.classes)
                .map(|(w, c)| w / c.share)
                .fold(0.0f64, f64::max),
        });
    }
    Ok(out)
}

/// The reviewer's card: its error rates over this mix, and what approve-all would look like.
fn reviewer_card(m: &Model, deployed_ask_rate: f64) -> ReviewerCard {
    let (mut good, mut bad, mut ag, mut ab) = (0.0, 0.0, 0.0, 0.0);
    for c in &m.classes {
        let pg = c.p_good;
        good += c.share * pg;
        bad += c.share * (1.0 - pg);
        ag += c.share * pg * c.answers.allow_good;
        ab += c.share * (1.0 - pg) * c.answers.allow_bad;
    }
    let approve = if good > 0.0 { ag / good } else { 0.0 };
    let catch = if bad > 0.0 { 1.0 - ab / bad } else { 0.0 };
    let approval = ag + ab;
    ReviewerCard {
        model: m.reviewer.human.label(),
        approve_good: approve,
        catch_bad: catch,
        approval_rate_if_every_action_asks: approval,
        refusal_rate_if_every_action_asks: 1.0 - approval,
        fatigue: m.reviewer.fatigue,
        catch_bad_at_deployed_ask_rate: m
            .reviewer
            .fatigue
            .and(m.reviewer.catch_rate(deployed_ask_rate)),
    }
}

/// Calibrates a scenario: class decisions, reasons and thresholds, and the rival policies' figures.
pub fn calibrate(s: &Scenario, opts: &Options) -> Result<Calibration> {
    let m = Model::new(s)?;
    let mut cand = candidates(s, &m)?;
    let rivals: Vec<robust::Candidate> = cand
        .rows
        .iter()
        .map(|r| robust::Candidate {
            name: r.0.clone(),
            plan: r.2.clone(),
            shift: m.shift,
        })
        .collect();
    let robustness = robust::robustness(
        &robust::truths(s)?,
        &rivals,
        cand.per_action,
        cand.static_rules,
        &s.risk.limits,
    )?;
    cand.rows.push((
        "minimax-regret".into(),
        format!(
            "the policy with the least worst-case regret over the uncertainty set ({} truths): {}",
            robustness.robust.set.len(),
            robustness.robust.name
        ),
        robustness.robust.plan.clone(),
    ));
    let evals: Vec<model::Evaluation> = cand.rows.iter().map(|r| m.evaluate(&r.2)).collect();
    let mc = if opts.mc_actions > 0 {
        let plans: Vec<Plan> = cand.rows.iter().map(|r| r.2.clone()).collect();
        Some(monte_carlo(&m, &plans, opts.mc_actions, opts.seed)?)
    } else {
        None
    };
    let vod_index = Policy::ALL.len() - 1;
    let vod = evals[vod_index].metrics;
    let loss = s.risk.catastrophe_loss;
    let alpha = s.risk.cvar_level;
    let limits = &s.risk.limits;
    // Each row's risk integrates its loss distribution: the rows are independent, so they run in parallel
    // (collected in order, with the same numbers whatever the thread count).
    let policies: Vec<PolicyRow> = cand
        .rows
        .par_iter()
        .enumerate()
        .map(|(i, (name, description, plan))| {
            let x = evals[i].metrics;
            PolicyRow {
                name: name.clone(),
                description: description.clone(),
                expected_utility: x.expected_utility,
                act_rate: x.act_rate,
                ask_rate: x.ask_rate,
                block_rate: x.block_rate,
                handover_rate: x.handover_rate,
                harm_rate: x.harm_rate,
                harm_loss: x.harm_loss,
                harms_prevented_rate: x.harms_prevented_rate,
                asks_per_harm_prevented: x.asks_per_harm_prevented(),
                undo_rate: x.undo_rate,
                good_blocked_rate: x.good_blocked_rate,
                refusal_rate: x.refusal_rate,
                resolved_by_agent_rate: x.resolved_by_agent_rate,
                regret: vod.expected_utility - x.expected_utility,
                asks_vs_value_of_deferring: (vod.ask_rate > 0.0).then(|| x.ask_rate / vod.ask_rate),
                catch_rate: evals[i].catch_rate,
                risk: risk::plan_risk(&m, plan, loss, alpha),
                meets_limits: (!limits.is_empty()).then(|| risk::meets(&m, plan, limits)),
                monte_carlo: mc.as_ref().map(|v| v[i].clone()),
                plan: plan.clone(),
            }
        })
        .collect();
    let per_action = &cand.rows[cand.per_action].2;
    let static_plan = &cand.rows[cand.static_rules].2;
    let (pm, _) = m.answering(per_action);
    let (sm, _) = m.answering(static_plan);
    let state = robust::at_state(s, &m, per_action);
    let state_model = Model::new(&state)?;
    let mut flips = robust::flips(&state, &state_model, per_action, static_plan);
    let mut classes = Vec::with_capacity(s.classes.len());
    for (k, c) in s.classes.iter().enumerate() {
        let f = std::mem::replace(
            &mut flips[k],
            robust::ClassFlips {
                class: String::new(),
                decision: vec![],
                routing: vec![],
            },
        );
        classes.push(class_card(
            s,
            &m,
            &sm,
            &pm,
            k,
            c,
            static_plan,
            per_action,
            f,
        )?);
    }
    let mut warnings = Vec::new();
    for (k, card) in classes.iter().enumerate() {
        if card.mv == Move::Act && card.values.act < 0.0 {
            warnings.push(format!(
                "ALLOW WITH NEGATIVE VALUE: class {} is allowed although acting is worth {} per action, because every other move is worth less (ask {}, block {}, hand over {}); check the block cost and the reviewer, or add a risk limit",
                card.name,
                crate::output::table::fmt_num(card.values.act),
                crate::output::table::fmt_num(card.values.ask),
                crate::output::table::fmt_num(card.values.block),
                crate::output::table::fmt_num(card.values.hand_over),
            ));
        }
        // The per-action policy may act where acting loses value (every other move losing more): say so when
        // that part of the class is not negligible.
        let cm = &pm.classes[k];
        let act = cm.line(Move::Act);
        for &(lo, hi, mv) in &per_action.0[k].0 {
            if mv != Move::Act {
                continue;
            }
            let zero = if act.b > 0.0 {
                -act.a / act.b
            } else {
                f64::INFINITY
            };
            let top = if act.a + act.b * hi < 0.0 {
                hi
            } else {
                zero.min(hi)
            };
            if top <= lo {
                continue;
            }
            let (mass, eq) = cm.q.mass(lo, top);
            if mass > 1e-3 {
                warnings.push(format!(
                    "ALLOW WITH NEGATIVE VALUE: the per-action policy allows {:.2}% of class {} (reported confidence {} to {}) where acting is worth {} on average, because every other move is worth less there",
                    100.0 * mass,
                    card.name,
                    fmt_conf(m.reported_in(k, lo)),
                    fmt_conf(m.reported_in(k, top)),
                    crate::output::table::fmt_num((act.a * mass + act.b * eq) / mass),
                ));
            }
        }
    }
    // A region the agent can never report a confidence in (its signal has steps of `res`) is never used.
    let res = s.signal.resolution;
    let steps = (1.0 / res).round().max(1.0) as usize;
    for card in &classes {
        if card.regions.len() < 2 {
            continue;
        }
        let grid = |k: usize| (k as f64 * res).min(1.0);
        let holds = |r: &Region| {
            (0..=steps).any(|k| {
                let x = grid(k);
                x >= r.reported_from && (x < r.reported_to || r.reported_to >= 1.0)
            })
        };
        for r in card
            .regions
            .iter()
            .filter(|r| r.fraction > 1e-6 && !holds(r))
        {
            let usable: Vec<String> = card
                .regions
                .iter()
                .filter(|r| holds(r))
                .map(|r| {
                    format!(
                        "{} [{}, {}]",
                        r.mv.as_str(),
                        fmt_conf(r.reported_from),
                        fmt_conf(r.reported_to)
                    )
                })
                .collect();
            warnings.push(format!(
                "class {}: the {} region [{}, {}] ({:.1}% of the class) holds no confidence a {} signal can report (steps of {res}): the gate never uses it; what the agent can reach: {}",
                card.name,
                r.mv.as_str(),
                fmt_conf(r.reported_from),
                fmt_conf(r.reported_to),
                100.0 * r.fraction,
                s.signal.source,
                usable.join(", ")
            ));
        }
    }
    let constraints = constraint_rows(s, &m, vod.expected_utility, per_action)?;
    let assumptions = serde_json::json!({
        "reviewer": s.reviewer.human.label(),
        "fatigue": s.reviewer.fatigue,
        "ask_cost": s.ask_cost,
        "handover_cost": s.handover_cost,
        "decline_cost": s.decline_cost,
        "confidence": s.confidence,
        "discrimination": s.discrimination,
        "confidence_logit_shift": m.shift,
        "capability": s.capability,
        "confidence_threshold": s.confidence_threshold,
        "task_length_gate_minutes": s.task_length_gate_minutes,
        "reference_undo_cost": s.reference_undo_cost,
        "risk": s.risk,
        "monte_carlo": if opts.mc_actions > 0 { serde_json::json!({"actions": opts.mc_actions, "seed": opts.seed}) } else { serde_json::Value::Null },
        "model": "per action: U from the class prior (capability failures mixed in by the METR curve), payoff max(U, −undo) if reversible; the agent's calibrated confidence q ~ Beta(p⁺κ, (1 − p⁺)κ) sets P(U ≥ 0); act pays U, ask pays U if the reviewer allows (πH) minus c (minus d when refused), block pays −b, hand over pays U⁺ − h (a human does the task when it is worth doing); reported confidence σ(logit q + shift), or through the class's own calibration map where it has one",
        "class_calibration": m.classes.iter().filter_map(|c| c.calibration.as_ref().map(|x| (c.name.clone(), x.knots.clone()))).collect::<std::collections::BTreeMap<_, _>>(),
    });
    let class_tools: Vec<tools::ClassTools> = s
        .classes
        .iter()
        .map(|c| tools::ClassTools {
            name: c.name.clone(),
            tools: c.tools.clone(),
        })
        .collect();
    let examples: Vec<tools::Examples> = s.classes.iter().map(|c| c.examples.clone()).collect();
    warnings.extend(tools::unexercised(&class_tools, &examples));
    let mut c = Calibration {
        gate: export::GateCard {
            version: 1,
            scenario: String::new(),
            policy: String::new(),
            unmatched: None,
            signal: s.signal.clone(),
            classes: vec![],
        },
        examples: vec![],
        export_notes: vec![],
        reviewer: reviewer_card(&m, pm.ask_rate(per_action)),
        deployed: Deployed {
            per_action: cand.rows[cand.per_action].0.clone(),
            static_rules: cand.rows[cand.static_rules].0.clone(),
        },
        warnings,
        plot_notes: vec![],
        constraints,
        robustness,
        signal: s.signal.clone(),
        scenario: s.name.clone(),
        description: s.description.clone(),
        units: s.units.clone(),
        assumptions,
        classes,
        policies,
    };
    // The exported rules must mean what the card says: no dead entry, no swallowed or stray example.
    let problems = export::problems(&c);
    if let Some(first) = problems.first() {
        return Err(Error::invalid(
            "class.tools",
            if problems.len() > 1 {
                format!("{first} (and {} more problems)", problems.len() - 1)
            } else {
                first.clone()
            },
        ));
    }
    c.gate = export::gate_card(&c, s.unmatched);
    c.examples = export::example_decisions(&c);
    c.export_notes = export::export_notes(&c);
    Ok(c)
}

/// Draws every class's decision maps into `dir`, with the reviewer at the state it answers the deployed
/// per-action policy in; returns the files written and a note per map not drawn.
pub fn plot_all(
    s: &Scenario,
    c: &Calibration,
    dir: &std::path::Path,
) -> Result<(Vec<std::path::PathBuf>, Vec<String>)> {
    crate::output::mkdir(dir)?;
    let m = Model::new(s)?;
    let plan = &c
        .policies
        .iter()
        .find(|p| p.name == c.deployed.per_action)
        .expect("the deployed policy is a row")
        .plan;
    let state = robust::at_state(s, &m, plan);
    let mut files = Vec::new();
    let mut notes = Vec::new();
    for (k, card) in c.classes.iter().enumerate() {
        let (f, n) = plot::draw_class(&state, k, &card.flips, dir)?;
        files.extend(f);
        notes.extend(n);
    }
    Ok((files, notes))
}

/// A confidence with enough digits that distinct thresholds near 0 or 1 read as distinct (0.99973, not 1.000).
pub fn fmt_conf(x: f64) -> String {
    if x <= 0.0 || x >= 1.0 {
        return format!("{x:.0}");
    }
    let gap = x.min(1.0 - x);
    let digits = ((-gap.log10()).ceil() as usize + 2).clamp(3, 12);
    format!("{x:.digits$}")
}

/// The regions of a partition, with reported confidence (`reported` of calibrated) and the share of the class in
/// each.
fn regions(cm: &model::ClassModel, p: &Partition, reported: impl Fn(f64) -> f64) -> Vec<Region> {
    p.0.iter()
        .map(|&(lo, hi, mv)| Region {
            mv,
            decision: mv.permission(),
            reported_from: reported(lo),
            reported_to: reported(hi),
            calibrated_from: lo,
            calibrated_to: hi,
            fraction: match cm.q {
                QDist::Point { q } => {
                    (p.at(q) == mv && q >= lo && (q < hi || hi >= 1.0)) as u8 as f64
                }
                _ => cm.q.cdf(hi) - cm.q.cdf(lo),
            },
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn class_card(
    s: &Scenario,
    m: &Model,
    sm: &Model,
    pm: &Model,
    k: usize,
    c: &ActionClass,
    static_plan: &Plan,
    per_action: &Plan,
    flips: robust::ClassFlips,
) -> Result<ClassCard> {
    let cm = &sm.classes[k];
    let values = cm.values();
    let mv = static_plan.0[k].at(cm.q.mean());
    let (_, tied) = values.best();
    let utility = s.utility_prior(c)?;
    // Reasons, by counterfactual: what would the class-level decision be without the factor?
    let mut reasons = Vec::new();
    if mv == Move::Act {
        reasons.push(Reason::ActingIsBest);
    } else {
        if c.task_minutes.is_some() {
            let v = class_level(s, c, &c.prior, c.undo_cost);
            if v.best().0 == Move::Act {
                reasons.push(Reason::Capability);
            }
        }
        if !c.reversible {
            let v = class_level(s, c, &utility, s.reference_undo_cost);
            if v.best().0 == Move::Act {
                reasons.push(Reason::Irreversibility);
            }
        }
        if values.get(Move::Act) < 0.0 {
            reasons.push(Reason::NegativeValue);
        }
        let pg = cm.p_good;
        if mv == Move::Ask && ((pg > 0.0 && pg < 1.0) || reasons.is_empty()) {
            reasons.push(Reason::ValueUncertainty);
        }
        if matches!(mv, Move::Block | Move::HandOver) && values.get(Move::Ask) < values.get(mv) {
            reasons.push(Reason::AskingCostsMore);
        }
        if reasons.is_empty() {
            reasons.push(Reason::ValueUncertainty);
        }
    }
    let pcm = &pm.classes[k];
    let part = &per_action.0[k];
    let regions = regions(pcm, part, |q| m.reported_in(k, q));
    let confidence_thresholds = part
        .0
        .windows(2)
        .map(|w| Threshold {
            at: m.reported_in(k, w[0].1),
            below: w[0].2,
            above: w[1].2,
        })
        .collect();
    let task_minutes_thresholds = match (c.task_minutes, &c.failure_prior, s.capability) {
        (Some(_), Some(fp), Some(cap)) => {
            let f = |t: f64| {
                let p = cap.p_success(t);
                let u = if p >= 1.0 {
                    c.prior.clone()
                } else if p <= 0.0 {
                    fp.clone()
                } else {
                    Prior::Mixture {
                        weights: vec![p, 1.0 - p],
                        components: vec![c.prior.clone(), fp.clone()],
                    }
                };
                class_level(s, c, &u, c.undo_cost)
            };
            scan(&f, 0.1, 1e5)
        }
        _ => vec![],
    };
    let loss = s.risk.catastrophe_loss;
    let alpha = s.risk.cvar_level;
    Ok(ClassCard {
        name: c.name.clone(),
        share: c.share,
        decision: mv.permission(),
        mv,
        reason: reasons[0],
        reasons,
        tie: tied.len() > 1,
        tied,
        reversible: c.reversible,
        undo_cost: cm.undo_cost,
        block_cost: c.block_cost,
        task_minutes: c.task_minutes,
        p_good: cm.p_good,
        p_capability: cm.p_capability,
        values: values.into(),
        lines: Move::ALL
            .iter()
            .map(|m| (m.as_str(), cm.line(*m)))
            .collect(),
        regions,
        confidence_thresholds,
        task_minutes_thresholds,
        risk_static: risk::class_risk(cm, &static_plan.0[k], loss, alpha),
        risk_per_action: risk::class_risk(pcm, part, loss, alpha),
        flips,
        tools: c.tools.clone(),
        examples: c.examples.clone(),
        prior_source: c.prior_source.clone(),
    })
}
