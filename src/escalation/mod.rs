//! Escalation calibration (`cirl calibrate`): when should a deployed agent act, offer the human a choice, or
//! hand over — answered by the off-switch game rather than by a confidence cut-off.
//!
//! A [`scenario::Scenario`] describes the agent's action classes (share, utility prior, reversibility, task
//! length, tool patterns), its reported confidence (calibrated or overconfident, and how well it separates good
//! from bad actions) and the human (response model, cost of asking c, cost of a hand-over h). [`model`] turns
//! each class into the three moves' payoffs as functions of the agent's per-action confidence and evaluates
//! every rival policy exactly; [`calibrate`] adds the thresholds an engineer can use (reported confidence, σ
//! relative to |μ|, task length), the reasons a class goes to a human, a seeded Monte Carlo check of every
//! figure, and the policy card with its exports to Claude Code and Gemini CLI permission rules.
//!
//! ## References
//! - Hadfield-Menell, Dragan, Abbeel, Russell. *The Off-Switch Game*. IJCAI 2017.
//! - Freedman & Gleave. *CIRL corrigibility is fragile*, 2022 (costly queries).
//! - METR. *Measuring AI ability to complete long tasks*, 2025 (the success curve over task length).

pub mod card;
pub mod model;
pub mod plot;
pub mod scenario;

use rayon::prelude::*;
use serde::Serialize;

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::ResponseModel;
use crate::numerics::brent;
use crate::rng::job_rng;
use model::{Metrics, Model, Move, Policy, QDist, reported};
use scenario::{ActionClass, Scenario};

/// A Monte Carlo estimate: mean, standard error, 95% interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub mean: f64,
    pub std_err: f64,
    pub ci_low: f64,
    pub ci_high: f64,
}

/// Monte Carlo estimates of a policy's metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct McMetrics {
    pub actions: u64,
    pub expected_utility: Estimate,
    pub ask_rate: Estimate,
    pub handover_rate: Estimate,
    pub harm_rate: Estimate,
    pub harms_prevented_rate: Estimate,
    pub undo_rate: Estimate,
    pub good_blocked_rate: Estimate,
    pub resolved_by_agent_rate: Estimate,
}

/// The per-action outcome sums of one Monte Carlo batch, for every policy: [policy][metric] of (Σx, Σx²).
const N_METRICS: usize = 8;
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
/// result does not depend on the thread count) and scores every policy on the same actions.
pub fn monte_carlo(s: &Scenario, m: &Model, actions: u64, seed: u64) -> Result<Vec<McMetrics>> {
    const BATCH: u64 = 65_536;
    let batches = actions.div_ceil(BATCH);
    let partitions: Vec<Vec<model::Partition>> = Policy::ALL
        .iter()
        .map(|&p| (0..m.classes.len()).map(|k| m.partition(k, p)).collect())
        .collect();
    let shares: Vec<f64> = m.classes.iter().map(|c| c.share).collect();
    let results: Vec<Result<Sums>> = (0..batches)
        .into_par_iter()
        .map(|b| {
            use rand::RngExt;
            let mut rng = job_rng(seed, b);
            let n = BATCH.min(actions - b * BATCH);
            let mut sums: Sums = vec![[(0.0, 0.0); N_METRICS]; Policy::ALL.len()];
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
                let allow = rng.random::<f64>() < s.human.p_allow(ueff);
                for (pi, parts) in partitions.iter().enumerate() {
                    let mv = parts[k].at(q);
                    let (util, ask, hand, through, stopped, blocked, resolved) = match mv {
                        Move::Act => (ueff, 0.0, 0.0, !good, false, false, true),
                        Move::Ask => (
                            if allow { ueff } else { -s.decline_cost } - s.ask_cost,
                            1.0,
                            0.0,
                            !good && allow,
                            !good && !allow,
                            good && !allow,
                            allow,
                        ),
                        Move::HandOver => (-s.handover_cost, 0.0, 1.0, false, !good, good, false),
                    };
                    let harm = (through && !c.reversible) as u8 as f64;
                    let prevented = (stopped && !c.reversible) as u8 as f64;
                    let undone = (through && c.reversible) as u8 as f64;
                    let vals = [
                        util,
                        ask,
                        hand,
                        harm,
                        prevented,
                        undone,
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
    let mut total: Sums = vec![[(0.0, 0.0); N_METRICS]; Policy::ALL.len()];
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
        let se = (var / n).sqrt();
        Estimate {
            mean,
            std_err: se,
            ci_low: mean - 1.96 * se,
            ci_high: mean + 1.96 * se,
        }
    };
    Ok(total
        .into_iter()
        .map(|t| McMetrics {
            actions,
            expected_utility: est(t[0]),
            ask_rate: est(t[1]),
            handover_rate: est(t[2]),
            harm_rate: est(t[3]),
            harms_prevented_rate: est(t[4]),
            undo_rate: est(t[5]),
            good_blocked_rate: est(t[6]),
            resolved_by_agent_rate: est(t[7]),
        })
        .collect())
}

/// A boundary between two moves along one of the engineer's axes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Threshold {
    /// Where the move changes (in the axis's units).
    pub at: f64,
    /// The move below and above it.
    pub below: Move,
    pub above: Move,
}

/// One interval of the value-of-deferring policy over the agent's confidence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Region {
    #[serde(rename = "move")]
    pub mv: Move,
    pub decision: &'static str,
    /// Reported confidence from / to (what the agent says).
    pub reported_from: f64,
    pub reported_to: f64,
    /// Calibrated confidence from / to.
    pub calibrated_from: f64,
    pub calibrated_to: f64,
    /// The fraction of this class's actions in the interval.
    pub fraction: f64,
}

/// The class-level payoffs [act, ask, hand over] (confidence at its mean) for a utility prior.
fn class_level(s: &Scenario, utility: &Prior, undo: f64) -> [f64; 3] {
    model::class_values(utility, &s.human, undo, s.costs())
}

/// The best move of a payoff triple [act, ask, off] with the engine's tie rule (ask, hand over, act).
fn best(v: [f64; 3], scale: f64) -> Move {
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let tol = model::TIE_RTOL * scale.max(1e-300);
    if m - v[1] <= tol {
        Move::Ask
    } else if m - v[2] <= tol {
        Move::HandOver
    } else {
        Move::Act
    }
}

fn payoff(v: [f64; 3], mv: Move) -> f64 {
    match mv {
        Move::Act => v[0],
        Move::Ask => v[1],
        Move::HandOver => v[2],
    }
}

/// Scans `f` (x → payoffs) over a log grid of `x` and refines every change of the best move by Brent's method.
fn scan(f: &(dyn Fn(f64) -> [f64; 3] + Sync), lo: f64, hi: f64, scale: f64) -> Vec<Threshold> {
    let n = 121;
    let xs: Vec<f64> = (0..n)
        .map(|i| (lo.ln() + (hi.ln() - lo.ln()) * i as f64 / (n - 1) as f64).exp())
        .collect();
    let vals: Vec<[f64; 3]> = xs.par_iter().map(|&x| f(x)).collect();
    let mut out = Vec::new();
    for i in 1..n {
        let (m0, m1) = (best(vals[i - 1], scale), best(vals[i], scale));
        if m0 != m1 {
            let g = |lx: f64| {
                let v = f(lx.exp());
                payoff(v, m1) - payoff(v, m0)
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

/// Why a class goes to a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// The agent acts: asking is not worth its cost here.
    ActingIsBest,
    /// The task is beyond the agent's reliable horizon: without capability failures it would act.
    Capability,
    /// Mistakes cannot be undone: were it reversible (at the reference undo cost), it would act.
    Irreversibility,
    /// The agent does not know whether the action is good, and the human's answer is worth more than c.
    ValueUncertainty,
}

/// What the card says about one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassCard {
    pub name: String,
    pub share: f64,
    /// allow / ask / deny: the class-level (static) decision, for permission rules.
    pub decision: &'static str,
    #[serde(rename = "move")]
    pub mv: Move,
    pub reason: Reason,
    /// Every reason that applies (the first is `reason`).
    pub reasons: Vec<Reason>,
    pub tie: bool,
    pub tied: Vec<Move>,
    pub reversible: bool,
    pub undo_cost: Option<f64>,
    pub task_minutes: Option<f64>,
    /// P(U ≥ 0), and the capability curve's P(success) at the task length.
    pub p_good: f64,
    pub p_capability: Option<f64>,
    /// Class-level payoffs of the moves: act, ask, hand over.
    pub v_act: f64,
    pub v_ask: f64,
    pub v_hand_over: f64,
    /// Each move's expected payoff as a + b·q in the agent's calibrated confidence q.
    pub lines: std::collections::BTreeMap<&'static str, model::Line>,
    /// The value-of-deferring policy over the agent's confidence.
    pub regions: Vec<Region>,
    /// Thresholds in the engineer's units.
    pub confidence_thresholds: Vec<Threshold>,
    pub sigma: f64,
    pub mean: f64,
    pub sigma_thresholds: Vec<Threshold>,
    pub task_minutes_thresholds: Vec<Threshold>,
    pub claude: Vec<String>,
    pub gemini: std::collections::BTreeMap<String, toml::Value>,
}

/// One policy's row of the rival table.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyRow {
    pub name: &'static str,
    pub description: String,
    pub expected_utility: f64,
    pub act_rate: f64,
    pub ask_rate: f64,
    pub handover_rate: f64,
    pub harm_rate: f64,
    pub harms_prevented_rate: f64,
    pub asks_per_harm_prevented: Option<f64>,
    pub undo_rate: f64,
    pub good_blocked_rate: f64,
    pub resolved_by_agent_rate: f64,
    /// Expected utility lost per action against the value-of-deferring policy.
    pub regret: f64,
    /// Asks per ask of the value-of-deferring policy (`None` when that policy never asks).
    pub asks_vs_value_of_deferring: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monte_carlo: Option<McMetrics>,
}

/// The result of `cirl calibrate`.
#[derive(Debug, Clone, Serialize)]
pub struct Calibration {
    pub scenario: String,
    pub description: String,
    pub units: String,
    pub assumptions: serde_json::Value,
    pub classes: Vec<ClassCard>,
    pub policies: Vec<PolicyRow>,
    /// Things the exports cannot express (e.g. one tool pattern in classes with different decisions).
    pub warnings: Vec<String>,
}

/// Options of [`calibrate`].
#[derive(Debug, Clone)]
pub struct Options {
    /// Monte Carlo actions (0: none).
    pub mc_actions: u64,
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

/// Calibrates a scenario: class decisions, reasons and thresholds, and the rival policies' figures.
pub fn calibrate(s: &Scenario, opts: &Options) -> Result<Calibration> {
    let m = Model::new(s)?;
    let mut classes = Vec::with_capacity(s.classes.len());
    for (k, c) in s.classes.iter().enumerate() {
        classes.push(class_card(s, &m, k, c)?);
    }
    let exact: Vec<Metrics> = Policy::ALL.iter().map(|&p| m.metrics(p)).collect();
    let mc = if opts.mc_actions > 0 {
        Some(monte_carlo(s, &m, opts.mc_actions, opts.seed)?)
    } else {
        None
    };
    let vod = exact[Policy::ALL.len() - 1];
    let policies = Policy::ALL
        .iter()
        .enumerate()
        .map(|(i, &p)| {
            let x = exact[i];
            PolicyRow {
                name: p.name(),
                description: describe(p, s),
                expected_utility: x.expected_utility,
                act_rate: x.act_rate,
                ask_rate: x.ask_rate,
                handover_rate: x.handover_rate,
                harm_rate: x.harm_rate,
                harms_prevented_rate: x.harms_prevented_rate,
                asks_per_harm_prevented: x.asks_per_harm_prevented(),
                undo_rate: x.undo_rate,
                good_blocked_rate: x.good_blocked_rate,
                resolved_by_agent_rate: x.resolved_by_agent_rate,
                regret: vod.expected_utility - x.expected_utility,
                asks_vs_value_of_deferring: (vod.ask_rate > 0.0).then(|| x.ask_rate / vod.ask_rate),
                monte_carlo: mc.as_ref().map(|v| v[i].clone()),
            }
        })
        .collect();
    let assumptions = serde_json::json!({
        "human": s.human.label(),
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
        "monte_carlo": if opts.mc_actions > 0 { serde_json::json!({"actions": opts.mc_actions, "seed": opts.seed}) } else { serde_json::Value::Null },
        "model": "per action: U from the class prior (capability failures mixed in by the METR curve), payoff max(U, −undo) if reversible; the agent's calibrated confidence q ~ Beta(p⁺κ, (1 − p⁺)κ) sets P(U ≥ 0); act pays U, ask pays U if the human allows (πH) minus c, hand over pays −h; reported confidence σ(logit q + shift)",
    });
    let mut warnings = Vec::new();
    for (i, a) in classes.iter().enumerate() {
        for b in &classes[i + 1..] {
            for pat in a.claude.iter().filter(|p| b.claude.contains(p)) {
                if a.decision != b.decision {
                    warnings.push(format!(
                        "Claude pattern {pat} is in {} ({}) and {} ({}): a permission rule cannot tell them apart; give the classes distinct patterns (Claude Code applies deny, then ask, then allow)",
                        a.name, a.decision, b.name, b.decision
                    ));
                }
            }
        }
    }
    Ok(Calibration {
        warnings,
        scenario: s.name.clone(),
        description: s.description.clone(),
        units: s.units.clone(),
        assumptions,
        classes,
        policies,
    })
}

fn class_card(s: &Scenario, m: &Model, k: usize, c: &ActionClass) -> Result<ClassCard> {
    let cm = &m.classes[k];
    let q = cm.q.mean();
    let (mv, tied) = cm.best_at(q);
    let utility = s.utility_prior(c)?;
    let scale = cm.scale();
    // Reasons, by counterfactual: what would the class-level decision be without the factor?
    let mut reasons = Vec::new();
    if mv == Move::Act {
        reasons.push(Reason::ActingIsBest);
    } else {
        if c.task_minutes.is_some() {
            let v = class_level(s, &c.prior, c.undo_cost);
            if best(v, scale) == Move::Act {
                reasons.push(Reason::Capability);
            }
        }
        if !c.reversible {
            let v = class_level(s, &utility, s.reference_undo_cost);
            if best(v, scale) == Move::Act {
                reasons.push(Reason::Irreversibility);
            }
        }
        let pg = cm.p_good;
        if (pg > 0.0 && pg < 1.0) || reasons.is_empty() {
            reasons.push(Reason::ValueUncertainty);
        }
    }
    // Regions of the value-of-deferring policy over confidence.
    let env = cm.envelope();
    let regions: Vec<Region> = env
        .0
        .iter()
        .map(|&(lo, hi, mv)| Region {
            mv,
            decision: mv.permission(),
            reported_from: reported(lo, m.shift),
            reported_to: reported(hi, m.shift),
            calibrated_from: lo,
            calibrated_to: hi,
            fraction: match cm.q {
                QDist::Point { q } => {
                    (env.at(q) == mv && q >= lo && (q < hi || hi >= 1.0)) as u8 as f64
                }
                _ => cm.q.cdf(hi) - cm.q.cdf(lo),
            },
        })
        .collect();
    let confidence_thresholds = env
        .0
        .windows(2)
        .map(|w| Threshold {
            at: reported(w[0].1, m.shift),
            below: w[0].2,
            above: w[1].2,
        })
        .collect();
    // σ relative to |μ|: scale the spread of the utility prior around its mean.
    let mean = utility.mean();
    let sd = utility.sd();
    let sigma_thresholds = if sd > 0.0 {
        let f = |mult: f64| class_level(s, &utility.affine(mean, mult), c.undo_cost);
        scan(&f, 1e-3, 1e3, scale)
            .into_iter()
            .map(|t| Threshold { at: t.at * sd, ..t })
            .collect()
    } else {
        vec![]
    };
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
                class_level(s, &u, c.undo_cost)
            };
            scan(&f, 0.1, 1e5, scale)
        }
        _ => vec![],
    };
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
        task_minutes: c.task_minutes,
        p_good: cm.p_good,
        p_capability: cm.p_capability,
        v_act: cm.act.a + cm.act.b * q,
        v_ask: cm.ask.a + cm.ask.b * q,
        v_hand_over: cm.hand_over.a,
        lines: Move::ALL
            .iter()
            .map(|m| (m.as_str(), cm.line(*m)))
            .collect(),
        regions,
        confidence_thresholds,
        sigma: sd,
        mean,
        sigma_thresholds,
        task_minutes_thresholds,
        claude: c.claude.clone(),
        gemini: c.gemini.clone(),
    })
}
