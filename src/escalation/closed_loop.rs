//! The closed loop: an agent with a known truth runs through the card's gate, the log is fitted every `every`
//! actions, and the card is re-issued from the fit — so that one can watch the posteriors converge on the truth,
//! the re-issued card's regret against the oracle card fall, and what each harm prevented costs in asks.
//!
//! **The truth** is a scenario (its classes' utility priors, its reviewer as error rates, the agent's calibration);
//! **the prior** is the scenario the first card was calibrated from. Each action: a class by its share; the
//! agent's calibrated confidence q from the truth's class model; good with probability q, its utility from the
//! truth's prior given its sign; reported confidence σ(logit q + s); the card's per-action move at the confidence
//! it reads back through its own calibration; asked, the truth's reviewer answers; an outcome is logged for
//! `seen_ran` of the calls that ran and `seen_rejected` of those rejected (none for blocks and hand-overs), with
//! the loss of a bad one (capped at the undo cost of a reversible class). The log is refitted from the prior
//! scenario every `every` actions and the card re-issued from the fit ([`reissue::scenario_text`]).
//!
//! **Regret**: the truth's expected utility per action of the oracle card (calibrated from the truth) less that of
//! the current card, both evaluated exactly under the truth.
//!
//! The re-issued card routes each class on its learnt calibration ([`fit::calibration_map`]), so an agent
//! overconfident on one class more than on the others is read as it is (`per_class_calibration = false` keeps
//! the prior's calibration, to price that). What the loop cannot learn stays a regret: the gain of a good call (a
//! log says a call was fine, not what it saved) keeps the prior's, and a calibration that is not a line in logits
//! is learnt as the nearest one; a truth that differs from the prior in those leaves a regret that does
//! not fall to 0.

use rand::RngExt;
use serde::Serialize;

use super::fit::{self, Data, Settings};
use super::model::{Model, Move, Policy};
use super::records::Record;
use super::reissue;
use super::scenario::Scenario;
use crate::error::{Error, Result};
use crate::human::Human;

/// Whose logit shift (overconfidence) the simulated agent has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AgentShift {
    /// The truth scenario's (its `[agent]`).
    #[default]
    Truth,
    /// The prior scenario's: the agent is as overconfident as the card assumes.
    Prior,
}

/// A closed-loop run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// The scenario the simulated agent really follows.
    pub truth: Scenario,
    /// The prior scenario (the re-issued scenarios are written from it).
    pub prior: Scenario,
    /// The prior scenario's TOML text.
    pub prior_text: String,
    /// Actions in all.
    pub actions: u64,
    /// Actions between refits.
    pub every: u64,
    /// The share of the calls that ran whose outcome is logged.
    pub seen_ran: f64,
    /// The share of the calls the reviewer rejected whose outcome is logged.
    pub seen_rejected: f64,
    /// Whose overconfidence the agent has.
    pub agent_shift: AgentShift,
    /// The settings of every fit.
    pub fit: Settings,
    /// A planted change: after this many actions the agent follows another truth (same classes).
    pub change: Option<Change>,
    /// Whether the re-issued card routes on each class's learnt calibration (else on the prior's: the agent's
    /// one logit shift), to price what learning it per class is worth.
    pub per_class_calibration: bool,
}

/// A change of the truth in the middle of a run, for the drift check to find.
#[derive(Debug, Clone)]
pub struct Change {
    /// The actions before the change.
    pub after: u64,
    /// The scenario the agent follows after it.
    pub truth: Scenario,
}

impl Spec {
    /// Refits per run.
    pub fn refits(&self) -> u64 {
        self.actions.div_ceil(self.every)
    }

    /// Actions logged by refit `round` (0 before any).
    pub fn logged_at(&self, round: u64) -> u64 {
        (round * self.every).min(self.actions)
    }

    /// The learnt quantities, in the order of [`Round::posteriors`]: `p_bad <class>` for the truth's classes,
    /// `approve_good`, `catch_bad`.
    pub fn quantities(&self) -> Vec<String> {
        self.truth
            .classes
            .iter()
            .map(|c| format!("p_bad {}", c.name))
            .chain(["approve_good".to_string(), "catch_bad".to_string()])
            .collect()
    }
}

/// One learnt quantity at one refit: its truth and its posterior (none before the first fit).
#[derive(Debug, Clone, Serialize)]
pub struct Posterior {
    /// `p_bad <class>`, `approve_good` or `catch_bad`.
    pub quantity: String,
    /// Its true value.
    pub truth: f64,
    /// Its posterior (none before the first fit).
    pub estimate: Option<fit::Posterior>,
    /// The drift check of the calls since the last refit against those before them ([`fit::compare`]): whether
    /// it moved this quantity (none when it was not compared: the first two rounds, or too few outcomes).
    pub drifted: Option<bool>,
}

impl Posterior {
    /// Whether its 90% interval holds the truth.
    pub fn covers(&self) -> Option<bool> {
        self.estimate
            .map(|e| e.lo <= self.truth && self.truth <= e.hi)
    }
}

/// The loop at one refit (round 0: the prior's card, before any data): the card in use and what it was
/// issued from.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    /// The run's seed (its index).
    pub seed: u64,
    /// The refit's number (0: the prior's card).
    pub round: u64,
    /// Actions logged so far.
    pub actions: u64,
    /// The card's regret per action against the oracle card, both evaluated exactly under the truth.
    pub regret: f64,
    /// Under the truth, per action: asks.
    pub ask_rate: f64,
    /// Under the truth, per action: bad irreversible actions stopped.
    pub harms_prevented_rate: f64,
    /// Every learnt quantity, in the order of [`Spec::quantities`].
    pub posteriors: Vec<Posterior>,
}

/// The truth's reviewer rates.
fn reviewer(s: &Scenario) -> Result<(f64, f64)> {
    match s.reviewer.human {
        Human::ErrorRates {
            approve_good,
            catch_bad,
        } => Ok((approve_good, catch_bad)),
        _ => Err(Error::invalid(
            "truth.human",
            "the closed loop's truth needs an error-rate reviewer (response = \"error-rates\")",
        )),
    }
}

/// Checks a loop before it runs: its sizes, the truths' reviewers and that the truths and the prior share their
/// classes.
pub fn check(spec: &Spec) -> Result<()> {
    if spec.every == 0 || spec.actions == 0 {
        return Err(Error::invalid("loop.every", "give a number of actions > 0"));
    }
    let same = |t: &Scenario, field: &str| -> Result<()> {
        let (t, p) = (&t.classes, &spec.prior.classes);
        if t.len() != p.len() || t.iter().zip(p).any(|(a, b)| a.name != b.name) {
            return Err(Error::invalid(
                field,
                "the truth and the prior must have the same classes, in the same order",
            ));
        }
        Ok(())
    };
    same(&spec.truth, "loop.truth")?;
    reviewer(&spec.truth)?;
    if let Some(c) = &spec.change {
        same(&c.truth, "loop.change.truth")?;
        reviewer(&c.truth)?;
        if c.after == 0 || c.after >= spec.actions {
            return Err(Error::invalid(
                "loop.change.after",
                format!(
                    "give a number of actions in 1 to {} (the run's actions less one), not {}",
                    spec.actions - 1,
                    c.after
                ),
            ));
        }
    }
    Ok(())
}

/// What the simulated agent follows: a truth as its class models, reviewer and the oracle card's value.
struct World {
    model: Model,
    approve: f64,
    catch: f64,
    oracle: f64,
    utilities: Vec<crate::belief::Prior>,
    /// The classes' cumulative shares.
    cum: Vec<f64>,
    /// A reversible class's undo cost (none: irreversible).
    undo: Vec<Option<f64>>,
}

impl World {
    fn new(s: &Scenario, spec: &Spec, prior_shift: f64) -> Result<World> {
        let mut model = Model::new(s)?;
        if spec.agent_shift == AgentShift::Prior {
            model.shift = prior_shift;
        }
        let (approve, catch) = reviewer(s)?;
        let oracle = model
            .evaluate(&model.plan(Policy::ValueOfDeferring))
            .metrics
            .expected_utility;
        let utilities = s
            .classes
            .iter()
            .map(|c| s.utility_prior(c))
            .collect::<Result<_>>()?;
        let cum = model
            .classes
            .iter()
            .scan(0.0, |acc, c| {
                *acc += c.share;
                Some(*acc)
            })
            .collect();
        Ok(World {
            model,
            approve,
            catch,
            oracle,
            utilities,
            cum,
            undo: s
                .classes
                .iter()
                .map(|c| c.reversible.then_some(c.undo_cost))
                .collect(),
        })
    }

    /// The learnt quantities' truths, in the order of [`Spec::quantities`].
    fn truths(&self) -> impl Iterator<Item = f64> + '_ {
        self.model
            .classes
            .iter()
            .map(|c| 1.0 - c.p_good)
            .chain([self.approve, self.catch])
    }
}

/// Runs the loop for one seed: its rounds, the first (round 0) the prior's card before any data. With a planted
/// change, a round's posteriors are set against the truth its last logged call followed, and its card's regret
/// is reckoned under the truth the next calls follow.
pub fn run(spec: &Spec, seed: u64) -> Result<Vec<Round>> {
    check(spec)?;
    let prior = Model::new(&spec.prior)?;
    let before = World::new(&spec.truth, spec, prior.shift)?;
    let after = match &spec.change {
        Some(c) => Some((c.after, World::new(&c.truth, spec, prior.shift)?)),
        None => None,
    };
    let world_at = |call: u64| match &after {
        Some((at, w)) if call > *at => w,
        _ => &before,
    };
    let mut rng = crate::rng::job_rng(seed, 0);
    let mut data = Data::default();
    let mut window = Data::default();
    let mut card = prior.plan(Policy::ValueOfDeferring);
    // The model the card was calibrated from (its calibration reads the agent's confidence).
    let mut card_model = prior.clone();
    let mut rounds_out = Vec::new();
    let mut fit_result: Option<fit::Fit> = None;
    // The last window's drift flags, and the quantities it compared.
    let mut drifted: Option<(Vec<fit::DriftFlag>, Vec<String>)> = None;
    let mut id = 0u64;
    let rounds = spec.refits();
    let quantities = spec.quantities();
    for round in 0..=rounds {
        // Score the current card (and the fit behind it) under the truth the next calls follow: its cut points,
        // in the card's calibrated confidence, read as the truth's.
        let world = world_at(spec.logged_at(round) + 1);
        // The posteriors' truth: the one the last logged call followed.
        let logged = world_at(spec.logged_at(round).max(1));
        let in_truth = world.model.carried(&card, &card_model);
        let m = world.model.evaluate(&in_truth).metrics;
        let estimates: Vec<Option<fit::Posterior>> = match &fit_result {
            Some(f) => f
                .classes
                .iter()
                .map(|c| Some(c.p_bad))
                .chain([Some(f.reviewer.approve_good), Some(f.reviewer.catch_bad)])
                .collect(),
            None => vec![None; quantities.len()],
        };
        let compared = |q: &str| -> Option<bool> {
            let (flags, compared) = drifted.as_ref()?;
            compared
                .iter()
                .any(|c| c == q)
                .then(|| flags.iter().any(|f| f.quantity == q))
        };
        let posteriors = quantities
            .iter()
            .zip(logged.truths())
            .zip(estimates)
            .map(|((q, truth), estimate)| Posterior {
                quantity: q.clone(),
                truth,
                estimate,
                drifted: compared(q),
            })
            .collect();
        rounds_out.push(Round {
            seed,
            round,
            actions: spec.logged_at(round),
            regret: world.oracle - m.expected_utility,
            ask_rate: m.ask_rate,
            harms_prevented_rate: m.harms_prevented_rate,
            posteriors,
        });
        if round == rounds {
            break;
        }
        let n = spec.every.min(spec.actions - round * spec.every);
        // The log before this round's calls (what the drift check compares them with).
        let earlier = data.classes.clone();
        for _ in 0..n {
            id += 1;
            let w = world_at(id);
            let truth = &w.model;
            let u01: f64 = rng.random();
            let k = w
                .cum
                .iter()
                .position(|&x| u01 < x)
                .unwrap_or(w.cum.len() - 1);
            let q = truth.classes[k].q.sample(&mut rng);
            let good = rng.random::<f64>() < q;
            let reported = truth.reported_in(k, q);
            // The card reads the reported confidence back through its own calibration.
            let mv = card.0[k].at(card_model.calibrated_in(k, reported));
            let mut r = Record {
                // One call a minute from 2026-12-01, so that windows of the log are windows of the run.
                time: jiff::Timestamp::from_second(1_796_083_200 + 60 * id as i64)
                    .map_err(|e| Error::invalid("loop.actions", e.to_string()))?
                    .to_string(),
                tool: "tool".into(),
                class: Some(truth.classes[k].name.clone()),
                confidence: Some(reported),
                mv: Some(mv.as_str().into()),
                tool_use_id: Some(id.to_string()),
                ..Default::default()
            };
            let ran = match mv {
                Move::Act => true,
                Move::Ask => {
                    let yes = if good {
                        rng.random::<f64>() < w.approve
                    } else {
                        rng.random::<f64>() >= w.catch
                    };
                    r.answer = Some(if yes { "approve" } else { "reject" }.into());
                    yes
                }
                _ => false,
            };
            let seen = match (mv, ran) {
                (Move::Act | Move::Ask, true) => spec.seen_ran,
                (Move::Ask, false) => spec.seen_rejected,
                _ => 0.0,
            };
            if rng.random::<f64>() < seen {
                if good {
                    r.outcome = Some("fine".into());
                } else {
                    // The loss: −U given U < 0 (bounded by the undo cost of a reversible class).
                    let mut u = -1.0;
                    for _ in 0..10_000 {
                        u = w.utilities[k].sample(&mut rng);
                        if u < 0.0 {
                            break;
                        }
                    }
                    let loss = match w.undo[k] {
                        Some(cost) => (-u).min(cost),
                        None => -u,
                    };
                    r.outcome = Some(
                        if w.undo[k].is_some() {
                            "undone"
                        } else {
                            "incident"
                        }
                        .into(),
                    );
                    r.cost = Some(loss.max(0.0));
                }
            }
            let r = r.validate().map_err(|e| Error::invalid("loop", e))?;
            data.add(&r);
            window.add(&r);
        }
        // Refit and re-issue the card.
        let mut set = spec.fit;
        set.seed = crate::rng::derive_seed(seed, 0x4c4f_4f50, round);
        let f = fit::fit(&spec.prior, &data, &set)?;
        // The drift check: the calls since the last refit against those before them (whose fit is the last).
        if let Some(then) = &fit_result {
            let mut set = set;
            set.seed = crate::rng::derive_seed(seed, 0x4452, round);
            let now = fit::fit(&spec.prior, &window, &set)?;
            let flags = fit::compare(&now, then, &window.classes, &earlier);
            let compared = quantities
                .iter()
                .filter(|q| match q.strip_prefix("p_bad ") {
                    Some(class) => fit::compared_class(&window.classes, &earlier, class),
                    None => fit::compared_reviewer(&window.classes, &earlier),
                })
                .cloned()
                .collect();
            drifted = Some((flags, compared));
        }
        window = Data::default();
        let text = reissue::scenario_text(
            &spec.prior_text,
            &spec.prior,
            &f,
            "the closed loop",
            set.seed,
            reissue::ReviewerForm::Auto,
        )?;
        let mut next = Scenario::parse(&text, "the re-issued scenario")?;
        if !spec.per_class_calibration {
            for (c, p) in next.classes.iter_mut().zip(&spec.prior.classes) {
                c.calibration = p.calibration.clone();
            }
        }
        let next = Model::new(&next)?;
        card = next.plan(Policy::ValueOfDeferring);
        card_model = next;
        fit_result = Some(f);
    }
    Ok(rounds_out)
}
