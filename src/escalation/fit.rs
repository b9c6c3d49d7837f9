//! Learning the escalation inputs from what the humans did: `cirl fit` turns a decision log into posteriors of
//! each class's bad-action rate, calibration map and loss tail, and of the reviewer's two error rates.
//!
//! ## The model
//!
//! Each logged call of class k is good or bad (its utility U ≥ 0 or not). With reported confidence r in bin b
//! (24 bins of width 0.5 in logit r, see [`BINS`], and one for calls without a confidence), P(good) = q_kb — the class's calibration
//! map, one value per bin — in the sampler, one per cell of a bin and the call's route ([`ROUTES`]: acted on,
//! asked, other), each with its share of the bin's prior, so that the card's routing by confidence within a bin
//! selects nothing the model does not see; a bin's reported map weights its cells by their calls. The reviewer, asked, approves a good call with probability A and rejects a bad one with
//! probability K (`edit` counts as a rejection of the call as proposed; `timeout` says nothing). A call's truth is
//! known when its outcome is logged (`fine` good; `undone` or `incident` bad) and latent otherwise. Whether an
//! outcome is logged may depend on what was observed — the move, the answer (approved calls run, so their outcome
//! is seen; rejected ones rarely are) — but not on the truth beyond that (missing at random), so the posterior is
//! the full-data one with the unknown truths integrated out: a rejected call without an outcome still counts, as
//! evidence that is bad with the probability the reviewer's answer implies. Fitting only the calls whose outcome
//! is known would overstate how good the asked calls are.
//!
//! **Priors, from the scenario**: q_kb ~ Beta(n₀·m_b, n₀·(1 − m_b)) with m_b the scenario's calibration at the
//! bin's centre, σ(logit r − s) for the agent's logit shift s or the class's own `calibration` (the class's P(U ≥ 0) for calls without a
//! confidence); A and K ~ Beta with n_r pseudo-answers at the scenario's reviewer (its error rates, or for other
//! humans the share-weighted chances of allowing good and bad actions). n₀ = 4 and n_r = 10 by default: the
//! scenario is a guess, worth a few calls.
//!
//! **Sampling**: Gibbs with data augmentation on counts — calls are tallied by (class, bin, answer, what is known),
//! so the unknown truths of a group are one binomial draw and a sweep costs the number of groups, whatever the
//! number of records; two chains (seeded streams 0 and 1, run in parallel: the result does not depend on the
//! thread count), with the split-R̂ of every reported quantity.
//!
//! **Derived**: P(bad) of class k = Σ_b w_kb (1 − q_kb), w the class's confidence distribution over the bins,
//! Dirichlet(calls in the bin + one pseudo-call spread over the bins) — the population rate of future calls, not only of the logged ones. The **loss tail**: losses of bad calls with a cost are lognormal, with a
//! conjugate normal-inverse-gamma prior on (μ, σ²) of the log loss centred on the scenario's mean loss of a bad
//! action (κ₀ = 1 pseudo-observation of μ; σ² inverse-gamma with α₀ = 3, β₀ = 2, so E\[σ²\] = 1); the posterior's mean loss exp(μ + σ²/2) is reported with its interval
//! (its predictive, a log-t, has no mean: the tail is heavy).
//!
//! **The calibration map the card routes on**: per class, the line logit P(good) = c + a·logit r through the
//! bins' posteriors ([`calibration_map`]), written into the re-issued scenario as the class's `calibration`; it
//! replaces the agent's one logit shift for the class.
//!
//! **The human's choices** between offered options, where the log has them, are fitted apart by the inverse model
//! of [`super::choices`] (a Boltzmann-rational chooser): [`ReviewerFit::boltzmann`] and [`Fit::preferences`].
//!
//! Intervals are 90% equal-tailed.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use rand::RngExt;
use rand_distr::{Beta, Binomial, Distribution, Gamma, StandardNormal};
use rayon::prelude::*;
use serde::Serialize;

use super::choices::{self, BoltzmannFit, Logged, Offer, PreferenceFit};
use super::model::Model;
use super::records::{self, Record};
use super::scenario::Scenario;
use crate::error::{Error, Result};
use crate::human::Human;
use crate::numerics::{Z90, logistic};

/// Confidence bins: [`BINS`] bins of width [`BIN_WIDTH`] in logit(confidence) over ±[`LOGIT_EDGE`] (the outer two
/// also hold everything beyond), so they are fine where agents report — near 1 — and where the card's thresholds
/// lie; bin [`BINS`] holds the calls without a confidence. The map is constant within a bin, so a card that routes
/// calls of one bin differently (observing some and blocking others) leaves a selection within the bin: narrow
/// bins keep it small.
pub const BINS: usize = 24;
/// The width of a confidence bin, in logit(confidence).
pub const BIN_WIDTH: f64 = 0.5;
/// The logit(confidence) beyond which the outer bins hold everything.
pub const LOGIT_EDGE: f64 = 6.0;

/// The bin of a reported confidence ([`BINS`] for none).
pub fn bin_of(confidence: Option<f64>) -> usize {
    match confidence {
        Some(c) => {
            let l = (c / (1.0 - c)).ln();
            if l.is_nan() {
                return BINS / 2;
            }
            (((l + LOGIT_EDGE) / BIN_WIDTH).floor().max(0.0) as usize).min(BINS - 1)
        }
        None => BINS,
    }
}

/// The reported-confidence range of bin `b` < [`BINS`].
pub fn bin_range(b: usize) -> (f64, f64) {
    let edge = |i: usize| match i {
        0 => 0.0,
        i if i >= BINS => 1.0,
        i => logistic(-LOGIT_EDGE + i as f64 * BIN_WIDTH),
    };
    (edge(b), edge(b + 1))
}

/// The reported confidence at the centre of bin `b` < [`BINS`] (in logit).
pub fn bin_center(b: usize) -> f64 {
    logistic(-LOGIT_EDGE + (b as f64 + 0.5) * BIN_WIDTH)
}

/// The routes a call can take from the card — acted on, asked, anything else (blocked, handed over, or no move
/// logged) — which split each bin into cells with a P(good) each: the card picks the move from the confidence, so
/// within a bin the calls it asks have lower confidence than those it acts on, and one P(good) for both would
/// carry the acted calls' (mostly labelled) quality over to the asked ones and bias the reviewer's rates.
pub const ROUTES: usize = 3;
const CELLS: usize = (BINS + 1) * ROUTES;

/// The route of a call (see [`ROUTES`]): 0 acted on, 1 asked (or answered), 2 anything else.
fn route_of(mv: Option<&str>, said: usize) -> usize {
    match mv {
        Some("act") => 0,
        Some("ask") => 1,
        _ if said != NOTHING => 1,
        _ => 2,
    }
}

/// What a call's answer says of it: approved, rejected (or edited), or nothing.
const APPROVE: usize = 0;
const REJECT: usize = 1;
const NOTHING: usize = 2;

/// What is known of a call's truth.
const GOOD: usize = 0;
const BAD: usize = 1;
const UNKNOWN: usize = 2;

/// The calls of one class, counted.
#[derive(Debug, Clone)]
pub struct Tally {
    /// [cell][answer][truth] → calls, cell = bin·[`ROUTES`] + route (see [`cell_of`]).
    n: Vec<[[u64; 3]; 3]>,
    /// Bad calls with a loss > 0: count, Σ ln loss, Σ (ln loss)².
    losses: (u64, f64, f64),
    /// Their ln losses, counted in [`LOSS_BINS`] bins of width [`LOSS_BIN_WIDTH`] from −[`LOSS_EDGE`] (the outer
    /// two also hold what lies beyond).
    log_losses: Vec<u64>,
}

/// The histogram of logged ln losses (see [`Tail::observed`]): bins of 0.05 in ln loss, 5% in loss, over
/// e^±12.
pub const LOSS_BINS: usize = 480;
/// The width of a loss bin, in ln loss.
pub const LOSS_BIN_WIDTH: f64 = 0.05;
/// The ln loss beyond which the outer loss bins hold everything.
pub const LOSS_EDGE: f64 = 12.0;

impl Default for Tally {
    fn default() -> Self {
        Tally {
            n: vec![[[0; 3]; 3]; CELLS],
            losses: (0, 0.0, 0.0),
            log_losses: vec![0; LOSS_BINS],
        }
    }
}

impl Tally {
    fn add(&mut self, c: &Call) {
        self.n[c.bin * ROUTES + c.route][c.said][c.truth] += 1;
        if c.truth == BAD
            && let Some(x) = c.cost.filter(|&x| x > 0.0)
        {
            let l = x.ln();
            self.losses.0 += 1;
            self.losses.1 += l;
            self.losses.2 += l * l;
            let b = ((l + LOSS_EDGE) / LOSS_BIN_WIDTH)
                .floor()
                .clamp(0.0, (LOSS_BINS - 1) as f64);
            self.log_losses[b as usize] += 1;
        }
    }

    fn merge(&mut self, o: &Tally) {
        for (a, b) in self
            .n
            .iter_mut()
            .flatten()
            .flatten()
            .zip(o.n.iter().flatten().flatten())
        {
            *a += b;
        }
        self.losses.0 += o.losses.0;
        self.losses.1 += o.losses.1;
        self.losses.2 += o.losses.2;
        for (a, b) in self.log_losses.iter_mut().zip(&o.log_losses) {
            *a += b;
        }
    }

    fn calls(&self) -> u64 {
        self.n.iter().flatten().flatten().sum()
    }
    fn in_cell(&self, cell: usize) -> u64 {
        self.n[cell].iter().flatten().sum()
    }
    fn in_bin(&self, b: usize) -> u64 {
        (b * ROUTES..(b + 1) * ROUTES)
            .map(|c| self.in_cell(c))
            .sum()
    }
    fn labelled_in_bin(&self, b: usize) -> u64 {
        self.n[b * ROUTES..(b + 1) * ROUTES]
            .iter()
            .flatten()
            .map(|x| x[GOOD] + x[BAD])
            .sum()
    }
    fn asked(&self) -> u64 {
        self.n
            .iter()
            .map(|bin| bin[APPROVE].iter().chain(&bin[REJECT]).sum::<u64>())
            .sum()
    }
    /// Calls routed to ask (or answered).
    fn asked_or_routed(&self) -> u64 {
        self.n
            .iter()
            .enumerate()
            .filter(|(cell, _)| cell % ROUTES == 1)
            .map(|(_, c)| c.iter().flatten().sum::<u64>())
            .sum()
    }
    fn asked_labelled(&self) -> u64 {
        self.n
            .iter()
            .map(|bin| {
                bin[APPROVE][GOOD] + bin[APPROVE][BAD] + bin[REJECT][GOOD] + bin[REJECT][BAD]
            })
            .sum()
    }
    fn labelled(&self) -> u64 {
        self.n.iter().flatten().map(|t| t[GOOD] + t[BAD]).sum()
    }
}

/// A decision log, counted for fitting.
#[derive(Debug, Clone, Default)]
pub struct Data {
    /// Each class's tallies, by name.
    pub classes: BTreeMap<String, Tally>,
    /// Records read (before duplicates are dropped).
    pub records: u64,
    /// Records dropped as repeats of an earlier one (the same call).
    pub duplicates: u64,
    /// Calls no class decided.
    pub unclassified: u64,
    seen: HashSet<u128, foldhash::fast::FixedState>,
    /// Whether every record is known to be a distinct call (a SQLite log: one row per call), so none is checked.
    unique: bool,
    /// With a drift window: its width in milliseconds.
    pub window_ms: Option<i64>,
    /// Each window's tallies by class: window k holds the calls with time in [k·width, (k + 1)·width) since the
    /// Unix epoch.
    pub windows: BTreeMap<i64, BTreeMap<String, Tally>>,
    /// The asked calls of a session (for reviewer fatigue, [`fatigue`]).
    pub prompts: Vec<Prompt>,
    /// The choices between offered options (for the inverse model of the human's choices, [`super::choices`]).
    pub choices: Logged,
}

/// One asked call of a session: its session (hashed), time, and what it says of the reviewer's catch rate.
#[derive(Debug, Clone, Copy)]
pub struct Prompt {
    session: u64,
    time_ms: i64,
    /// A bad call with a known outcome: rejected (`Some(true)`) or approved; `None` otherwise.
    caught: Option<bool>,
}

/// The ranges of decision ids a SQLite log is read in (in parallel).
const READ_PARTS: i64 = 8;

/// What the fit reads of one record.
#[derive(Debug, Clone)]
pub struct Call {
    identity: u128,
    time_ms: i64,
    class: Option<String>,
    bin: usize,
    route: usize,
    said: usize,
    truth: usize,
    cost: Option<f64>,
    /// The session, hashed (0: none).
    session: u64,
    /// A choice between offered options.
    choice: Option<Box<Offer>>,
}

fn session_of(s: Option<&[u8]>) -> u64 {
    use std::hash::BuildHasher;
    s.map_or(0, |s| {
        foldhash::fast::FixedState::default().hash_one(s).max(1)
    })
}

fn said_of(answer: Option<&str>) -> usize {
    match answer {
        Some("approve") => APPROVE,
        Some("reject" | "edit") => REJECT,
        _ => NOTHING,
    }
}

fn truth_of(outcome: Option<&str>) -> usize {
    match outcome {
        Some("fine") => GOOD,
        Some(_) => BAD,
        None => UNKNOWN,
    }
}

impl Call {
    /// The fit's view of a record (already checked; see [`records::Record::validate`]).
    pub fn of(r: Record) -> Call {
        let choice = match (&r.options, &r.chosen) {
            (Some(o), Some(c)) => Some(Box::new(Offer::of(o, c))),
            _ => None,
        };
        Call {
            choice,
            identity: r.identity(),
            time_ms: r
                .time
                .parse::<jiff::Timestamp>()
                .map_or(0, |t| t.as_millisecond()),
            bin: bin_of(r.confidence),
            route: route_of(r.mv.as_deref(), said_of(r.answer.as_deref())),
            said: said_of(r.answer.as_deref()),
            truth: truth_of(r.outcome.as_deref()),
            cost: r.cost,
            session: session_of(r.session.as_deref().map(str::as_bytes)),
            class: r.class,
        }
    }
}

impl Data {
    /// Counts one record (already checked; see [`records::Record::validate`]).
    pub fn add(&mut self, r: &Record) {
        self.add_call(Call::of(r.clone()));
    }

    /// Counts one call.
    pub fn add_call(&mut self, mut c: Call) {
        self.records += 1;
        if !self.unique && !self.seen.insert(c.identity) {
            self.duplicates += 1;
            return;
        }
        if let Some(o) = c.choice.take() {
            self.choices.add(*o, c.time_ms);
        }
        if c.session != 0 && c.route == 1 {
            self.prompts.push(Prompt {
                session: c.session,
                time_ms: c.time_ms,
                caught: (c.truth == BAD && c.said != NOTHING).then_some(c.said == REJECT),
            });
        }
        let Some(class) = c.class.take() else {
            self.unclassified += 1;
            return;
        };
        if let Some(w) = self.window_ms {
            self.windows
                .entry(c.time_ms.div_euclid(w))
                .or_default()
                .entry(class.clone())
                .or_default()
                .add(&c);
        }
        self.classes.entry(class).or_default().add(&c);
    }

    /// Adds the counts of another part of the same log (read apart from this one).
    fn merge(&mut self, o: &Data) {
        self.records += o.records;
        self.duplicates += o.duplicates;
        self.unclassified += o.unclassified;
        for (k, t) in &o.classes {
            self.classes.entry(k.clone()).or_default().merge(t);
        }
        self.prompts.extend_from_slice(&o.prompts);
        // The choices of a log are few and read in one pass of their own (see `read`), not in parts.
        debug_assert!(o.choices.values.is_empty() && o.choices.features.is_empty());
        for (w, classes) in &o.windows {
            let into = self.windows.entry(*w).or_default();
            for (k, t) in classes {
                into.entry(k.clone()).or_default().merge(t);
            }
        }
    }

    /// Reads a decision log: the gate's SQLite store, or a JSON Lines file (schema cirl-log/1); with
    /// `window_ms`, also counted by time window (for [`drift`]).
    pub fn read(path: &Path, window_ms: Option<i64>) -> Result<Data> {
        let mut d = Data {
            window_ms,
            ..Data::default()
        };
        let mut head = [0u8; 16];
        let is_sqlite = std::fs::File::open(path)
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head))
            .is_ok()
            && &head == b"SQLite format 3\0";
        if is_sqlite {
            // Only what the fit reads, unordered; a row of the log is one call (its id is its identity). The
            // decisions are read in READ_PARTS ranges of ids, in parallel, each on its own connection, and counted
            // in range order (a fixed split: the sums, and so the fit, do not depend on the number of threads).
            let log = super::log::Log::open(path)?;
            log.ensure_read_indexes();
            let Some((lo, hi)) = log.id_range()? else {
                return Ok(d);
            };
            let parts = READ_PARTS;
            let step = (hi - lo) / parts + 1;
            let read_range = |p: i64| -> Result<Data> {
                let mut part = Data {
                    window_ms,
                    unique: true,
                    ..Data::default()
                };
                let (from, to) = (lo + p * step, (lo + (p + 1) * step - 1).min(hi));
                if from > to {
                    return Ok(part);
                }
                super::log::Log::open(path)?.query_with(
                    "SELECT d.id, d.time, d.class, d.confidence, \
                     (SELECT answer FROM answers WHERE decision_id = d.id ORDER BY id DESC LIMIT 1), \
                     o.label, o.cost, d.move, d.session \
                     FROM decisions d \
                     LEFT JOIN outcomes o ON o.id = (SELECT max(id) FROM outcomes WHERE decision_id = d.id) \
                     WHERE d.id BETWEEN ?1 AND ?2",
                    [from, to],
                    |row| {
                        let time: String = row.get(1)?;
                        let answer: Option<String> = row.get(4)?;
                        let label: Option<String> = row.get(5)?;
                        let mv: Option<String> = row.get(7)?;
                        let said = said_of(answer.as_deref());
                        let route = route_of(mv.as_deref(), said);
                        Ok(Call {
                            identity: row.get::<_, i64>(0)? as u128,
                            time_ms: time
                                .parse::<jiff::Timestamp>()
                                .map_or(0, |t| t.as_millisecond()),
                            class: row.get(2)?,
                            bin: bin_of(row.get(3)?),
                            route,
                            said,
                            truth: truth_of(label.as_deref()),
                            cost: row.get(6)?,
                            // Only an asked call's session is read (the fatigue fit counts prompts).
                            session: if route == 1 {
                                session_of(row.get_ref(8)?.as_bytes_or_null()?)
                            } else {
                                0
                            },
                            choice: None,
                        })
                    },
                    &mut |c| {
                        part.add_call(c);
                        Ok(())
                    },
                )?;
                Ok(part)
            };
            let parts: Vec<Data> = (0..parts)
                .into_par_iter()
                .map(read_range)
                .collect::<Result<_>>()?;
            d.unique = true;
            for mut p in parts {
                let prompts = std::mem::take(&mut p.prompts);
                d.merge(&p);
                d.prompts.extend(prompts);
            }
            // The choices (few: a table of their own), each call's latest, in id order.
            if log.has_choices() {
                let file = path.display().to_string();
                log.query(
                    "SELECT d.time, c.options, c.chosen FROM choices c JOIN decisions d ON d.id = c.decision_id \
                     WHERE c.id = (SELECT max(id) FROM choices WHERE decision_id = c.decision_id) \
                     ORDER BY c.decision_id",
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, String>(2)?,
                        ))
                    },
                    &mut |(time, options, chosen): (String, String, String)| {
                        let options: Vec<records::Offered> = serde_json::from_str(&options)
                            .map_err(|e| {
                                Error::invalid(
                                    &file,
                                    format!("choices.options of the call at {time} is not a list of options ({e}); the log is damaged"),
                                )
                            })?;
                        let t = time
                            .parse::<jiff::Timestamp>()
                            .map_or(0, |t| t.as_millisecond());
                        d.choices.add(Offer::of(&options, &chosen), t);
                        Ok(())
                    },
                )?;
            }
        } else {
            records::read_jsonl_par(path, Call::of, |c| d.add_call(c))?;
        }
        d.choices.check(&path.display().to_string())?;
        Ok(d)
    }
}

/// Settings of a fit.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Settings {
    /// Pseudo-calls of the scenario's calibration per bin (n₀).
    pub prior_strength: f64,
    /// Pseudo-answers of the scenario's reviewer (n_r).
    pub reviewer_strength: f64,
    /// Draws kept per chain, after as many again discarded as burn-in.
    pub samples: usize,
    /// Seed of the sampler's chains.
    pub seed: u64,
}

impl Settings {
    /// Checks the settings (before any log is read).
    pub fn check(&self) -> Result<()> {
        let set = self;
        if set.samples < 10 {
            return Err(Error::invalid(
                "--samples",
                format!(
                    "{} draws per chain are too few to summarize; give at least 10",
                    set.samples
                ),
            ));
        }
        crate::limits::check_count(
            "--samples",
            set.samples as u64,
            1_000_000,
            "draws per chain",
            "10⁴ already summarize a posterior to three digits",
        )?;
        for (name, v) in [
            ("--prior-strength", set.prior_strength),
            ("--reviewer-strength", set.reviewer_strength),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::invalid(
                    name,
                    format!("must be a number of pseudo-observations > 0, got {v}"),
                ));
            }
        }
        Ok(())
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            prior_strength: 4.0,
            reviewer_strength: 10.0,
            samples: 2000,
            seed: 1,
        }
    }
}

/// A posterior summary: the scenario's value, the posterior mean, median and 90% interval, and split-R̂ over the
/// chains.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Posterior {
    /// The scenario's value.
    pub prior: f64,
    /// The posterior mean.
    pub mean: f64,
    /// The posterior median.
    pub median: f64,
    /// The 90% interval's lower end.
    pub lo: f64,
    /// The 90% interval's upper end.
    pub hi: f64,
    /// Split-R̂ over the chains (1 for a closed form).
    pub rhat: f64,
}

impl Posterior {
    /// A normal posterior's (the Laplace approximation's) summary: `mode` ± [`Z90`] `sd`; `rhat` 1 (not sampled).
    pub fn laplace(prior: f64, mode: f64, sd: f64) -> Posterior {
        Posterior {
            prior,
            mean: mode,
            median: mode,
            lo: mode - Z90 * sd,
            hi: mode + Z90 * sd,
            rhat: 1.0,
        }
    }

    /// The summary of f(x) for a monotone f: every value mapped, the interval's ends swapped when f decreases.
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Posterior {
        let (lo, hi) = (f(self.lo), f(self.hi));
        Posterior {
            prior: f(self.prior),
            mean: f(self.mean),
            median: f(self.median),
            lo: lo.min(hi),
            hi: lo.max(hi),
            rhat: self.rhat,
        }
    }

    /// The standard deviation of the normal whose 90% interval this is.
    pub fn normal_sd(&self) -> f64 {
        (self.hi - self.lo) / (2.0 * Z90)
    }
}

/// One confidence bin of a class's calibration map.
#[derive(Debug, Clone, Serialize)]
pub struct Bin {
    /// The reported-confidence range (`None` for the calls without a confidence).
    pub range: Option<(f64, f64)>,
    /// Calls in the bin.
    pub calls: u64,
    /// Calls in the bin with a logged outcome.
    pub labelled: u64,
    /// P(good | reported confidence in the bin).
    pub p_good: Posterior,
}

/// The loss tail of a class. Its posterior means are dominated by the draws of a large σ (exp(σ²/2) has no
/// finite posterior mean under an inverse-gamma σ²): read the medians.
#[derive(Debug, Clone, Serialize)]
pub struct Tail {
    /// Bad calls with a logged loss.
    pub losses: u64,
    /// The mean loss of a bad call, exp(μ + σ²/2).
    pub mean_loss: Posterior,
    /// The median loss, exp(μ).
    pub median_loss: Posterior,
    /// σ of the log loss (how heavy the tail is).
    pub sigma_log: Posterior,
    /// The normal-inverse-gamma posterior of (μ, σ²) of the log loss: (μ, κ, α, β).
    pub posterior: [f64; 4],
    /// The logged losses as they are: (loss at the centre of a bin 5% wide, calls), for the bins that hold some.
    /// The re-issued scenario draws its losses from these and the scenario's own (see
    /// [`super::reissue::scenario_text`]), not from the lognormal: a class with a rare catastrophe has losses of
    /// two sizes, which one lognormal cannot hold.
    pub observed: Vec<(f64, u64)>,
}

impl Tail {
    /// A draw from the logged losses (uniform in ln loss within its bin); None without any.
    pub fn observed_draw<R: rand::Rng>(&self, rng: &mut R) -> Option<f64> {
        let n: u64 = self.observed.iter().map(|x| x.1).sum();
        if n == 0 {
            return None;
        }
        let mut k = rng.random_range(0..n);
        for &(loss, c) in &self.observed {
            if k < c {
                let l = loss.ln() + (rng.random::<f64>() - 0.5) * LOSS_BIN_WIDTH;
                return Some(l.exp());
            }
            k -= c;
        }
        None
    }

    /// A draw of a bad call's loss from the posterior predictive.
    pub fn predictive<R: rand::Rng>(&self, rng: &mut R) -> f64 {
        let [mu, kappa, alpha, beta] = self.posterior;
        let var = 1.0
            / Gamma::new(alpha, 1.0 / beta)
                .expect("positive shape and rate")
                .sample(rng);
        let m = mu + rng.sample::<f64, _>(StandardNormal) * (var / kappa).sqrt();
        (m + rng.sample::<f64, _>(StandardNormal) * var.sqrt()).exp()
    }
}

/// What the log says of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassFit {
    /// The class's name.
    pub name: String,
    /// Calls the class decided.
    pub calls: u64,
    /// Calls of the class that asked the reviewer.
    pub asked: u64,
    /// Calls of the class with a logged outcome.
    pub labelled: u64,
    /// Asked calls whose outcome is known (what teaches the reviewer's error rates).
    pub asked_labelled: u64,
    /// P(bad action) of the class.
    pub p_bad: Posterior,
    /// The calibration map's bins (the last one: the calls without a confidence).
    pub calibration: Vec<Bin>,
    /// The calibration map the re-issued scenario routes on ([`calibration_map`]): (reported, P(good)) knots;
    /// empty for a class without an outcome (the scenario's calibration stays).
    pub map: Vec<(f64, f64)>,
    /// The map's line in logits, (c, a): logit P(good) = c + a·logit r (none without an outcome).
    pub map_line: Option<[f64; 2]>,
    /// The standard errors of (c, a).
    pub map_line_sd: Option<[f64; 2]>,
    /// The loss tail of its bad calls.
    pub tail: Tail,
}

/// A class's calibration map from its bins: logistic calibration in logit space (Platt scaling of logit r; the
/// a = b case of the Beta calibration of Kull et al. 2017), logit P(good) = c + a·logit r with a ≥ 0. Fitted by
/// weighted least squares in logits, one iteration of logistic regression's IRLS on the binned calls: each bin
/// holding calls with an outcome at its posterior mean P(good) q̄_b, weighted by its Fisher information
/// n_b·q̄_b(1 − q̄_b) (n_b its calls with an outcome), and the scenario's calibration `prior` as n₀ =
/// `prior_calls` pseudo-calls in every bin (as in the bins' own priors), so a class with few outcomes keeps nearly
/// the scenario's map and a sparse region of confidence follows the line the data draw elsewhere. Two parameters
/// rather than a value per bin: a binned or isotonic map is noisy where the card's thresholds lie (re-issued
/// cards routing on one lost 4 to 20 times the regret of the true calibration in the closed loop), while a logit
/// shift alone (a = 1) cannot hold an agent whose confidence says little (a near 0). Returned as knots
/// (reported, P(good)) at the two outer bins' centres ([`super::model::Calibration`]: linear in logits between
/// them, a constant logit shift beyond), with (c, a); `None` when no bin holds an outcome.
pub fn calibration_map(
    bins: &[Bin],
    prior: impl Fn(f64) -> f64,
    prior_calls: f64,
) -> Option<LearntMap> {
    let logit = |p: f64| (p.clamp(1e-9, 1.0 - 1e-9) / (1.0 - p.clamp(1e-9, 1.0 - 1e-9))).ln();
    // (logit centre, logit P(good), weight).
    let mut pts: Vec<(f64, f64, f64)> = Vec::new();
    for (i, b) in bins.iter().enumerate() {
        if b.range.is_none() {
            continue;
        }
        let x = logit(bin_center(i));
        let q0 = prior(bin_center(i)).clamp(1e-9, 1.0 - 1e-9);
        pts.push((x, logit(q0), prior_calls * q0 * (1.0 - q0)));
        if b.labelled > 0 {
            let m = b.p_good.mean.clamp(1e-6, 1.0 - 1e-6);
            pts.push((x, logit(m), b.labelled as f64 * m * (1.0 - m)));
        }
    }
    if bins.iter().all(|b| b.range.is_none() || b.labelled == 0) {
        return None;
    }
    let sw: f64 = pts.iter().map(|p| p.2).sum();
    let mx = pts.iter().map(|p| p.2 * p.0).sum::<f64>() / sw;
    let my = pts.iter().map(|p| p.2 * p.1).sum::<f64>() / sw;
    let sxx: f64 = pts.iter().map(|p| p.2 * (p.0 - mx).powi(2)).sum();
    let sxy: f64 = pts.iter().map(|p| p.2 * (p.0 - mx) * (p.1 - my)).sum();
    let a = if sxx > 0.0 { (sxy / sxx).max(0.0) } else { 1.0 };
    let c = my - a * mx;
    let ends = [logit(bin_center(0)), logit(bin_center(BINS - 1))];
    Some(LearntMap {
        knots: ends
            .iter()
            .map(|&x| (logistic(x), logistic(c + a * x).clamp(1e-12, 1.0 - 1e-12)))
            .collect(),
        line: [c, a],
        // (XᵀWX)⁻¹ with the bins' information as the weights: the line's uncertainty from the binned calls.
        line_sd: [(1.0 / sw + mx * mx / sxx).sqrt(), sxx.recip().sqrt()],
    })
}

/// A class's learnt calibration map ([`calibration_map`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LearntMap {
    /// (reported, P(good)) knots of a [`super::model::Calibration`].
    pub knots: Vec<(f64, f64)>,
    /// (c, a) of logit P(good) = c + a·logit r.
    pub line: [f64; 2],
    /// Their standard errors.
    pub line_sd: [f64; 2],
}

/// The reviewer's error rates.
#[derive(Debug, Clone, Serialize)]
pub struct ReviewerFit {
    /// P(approve | good call).
    pub approve_good: Posterior,
    /// P(reject | bad call).
    pub catch_bad: Posterior,
    /// Fatigue: how the catch rate falls with the prompts before it in a session (none: the log has no asked
    /// bad call with an outcome in a session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatigue: Option<FatigueFit>,
    /// The reviewer as a Boltzmann-rational chooser, from the logged choices between options with values
    /// ([`super::choices`]; none: the log has none).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boltzmann: Option<BoltzmannFit>,
}

/// The reviewer's fatigue, from the asked bad calls with an outcome in sessions: logit P(reject | bad, k) = α + β·k
/// for the k-th prompt of its session (counted from 0, in time order), the form of the scenario's
/// `[human.fatigue]` (Ancker et al. 2017): OR = e^β per further prompt. Fitted by Newton's method with a
/// normal(0, 1) prior on β (and normal(0, 10²) on α), its posterior read by the Laplace approximation. Outcomes
/// logged more often for approved than for rejected calls change α, not β (the odds of a rejection among the
/// logged calls are scaled by the same factor at every k), so β needs no correction for them.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FatigueFit {
    /// OR per further prompt in a session: `mean` and `median` are e^β̂, the interval e^(β̂ ± 1.645 sd).
    pub odds_ratio_per_ask: Posterior,
    /// The prompts (asked calls in sessions).
    pub prompts: u64,
    /// The asked bad calls with an outcome among the prompts.
    pub labelled_bad: u64,
    /// N of `[human.fatigue]`: the prompts per session (of the sessions with one) over the log's ask rate, so
    /// that the scenario's a·N prompts a session at the log's ask rate a are the log's.
    pub actions_per_session: f64,
    /// Whether the data support fatigue: the 90% interval of OR lies below 1.
    pub supported: bool,
}

/// The reviewer's fatigue from a log's prompts (see [`FatigueFit`]); none without a labelled bad prompt.
pub fn fatigue(data: &Data) -> Option<FatigueFit> {
    if data.prompts.is_empty() {
        return None;
    }
    let mut p = data.prompts.clone();
    p.par_sort_unstable_by_key(|x| (x.session, x.time_ms));
    // Per prompt index k (capped): rejected and approved bad calls.
    const K: usize = 256;
    let mut counts = vec![(0u64, 0u64); K];
    let mut k = 0usize;
    let mut sessions = 0u64;
    for (i, x) in p.iter().enumerate() {
        k = if i > 0 && p[i - 1].session == x.session {
            k + 1
        } else {
            sessions += 1;
            0
        };
        if let Some(caught) = x.caught {
            let c = &mut counts[k.min(K - 1)];
            if caught {
                c.0 += 1;
            } else {
                c.1 += 1;
            }
        }
    }
    let labelled_bad: u64 = counts.iter().map(|c| c.0 + c.1).sum();
    if labelled_bad == 0 {
        return None;
    }
    // Newton's method on the log posterior of (α, β).
    let (mut a, mut b) = (0.0f64, 0.0f64);
    let mut var_b = 1.0;
    for _ in 0..100 {
        let (mut ga, mut gb) = (-a / 100.0, -b);
        let (mut haa, mut hab, mut hbb) = (-1.0 / 100.0, 0.0, -1.0);
        for (k, &(r, n)) in counts.iter().enumerate() {
            let m = (r + n) as f64;
            if m == 0.0 {
                continue;
            }
            let x = k as f64;
            let pr = logistic(a + b * x);
            let resid = r as f64 - m * pr;
            ga += resid;
            gb += resid * x;
            let w = m * pr * (1.0 - pr);
            haa -= w;
            hab -= w * x;
            hbb -= w * x * x;
        }
        let det = haa * hbb - hab * hab;
        if !(det.is_finite() && det > 0.0) {
            break;
        }
        let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
        a -= da;
        b -= db;
        var_b = -haa / det;
        if da.abs() + db.abs() < 1e-10 {
            break;
        }
    }
    let est = Posterior::laplace(0.0, b, var_b.max(0.0).sqrt()).map(f64::exp);
    let calls: u64 = data.classes.values().map(Tally::calls).sum::<u64>() + data.unclassified;
    let asked: u64 = data.classes.values().map(Tally::asked_or_routed).sum();
    let ask_rate = asked as f64 / calls.max(1) as f64;
    Some(FatigueFit {
        odds_ratio_per_ask: est,
        prompts: p.len() as u64,
        labelled_bad,
        actions_per_session: p.len() as f64 / sessions as f64 / ask_rate.max(f64::MIN_POSITIVE),
        supported: est.hi < 1.0,
    })
}

/// The fit of a log against a scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    /// The scenario fitted against (its name).
    pub scenario: String,
    /// Records read (before duplicates are dropped).
    pub records: u64,
    /// Records dropped as repeats of an earlier one.
    pub duplicates: u64,
    /// Calls no class decided.
    pub unclassified: u64,
    /// Classes in the log that the scenario does not have (not fitted).
    pub unknown_classes: Vec<(String, u64)>,
    /// What the log says of each class, in scenario order.
    pub classes: Vec<ClassFit>,
    /// What the log says of the reviewer.
    pub reviewer: ReviewerFit,
    /// What the log cannot tell, and what to collect.
    pub notes: Vec<String>,
    /// The settings the fit ran with.
    pub settings: Settings,
    /// What the human's choices between options with features weigh ([`super::choices`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferences: Option<PreferenceFit>,
    /// The drift check, window by window (with `--window`; see [`drift`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<Window>,
}

/// The prior means a scenario gives (see the module docs), in the scenario's class order.
#[derive(Debug, Clone)]
pub struct Priors {
    /// Per class: each bin's prior P(good).
    pub bins: Vec<[f64; BINS + 1]>,
    /// Per class: the mean loss of a bad action.
    pub loss: Vec<f64>,
    /// The reviewer's P(approve | good action).
    pub approve_good: f64,
    /// The reviewer's P(reject | bad action).
    pub catch_bad: f64,
}

/// The prior means of `s`.
pub fn scenario_priors(s: &Scenario) -> Result<Priors> {
    Ok(priors(s, &Model::new(s)?))
}

fn priors(s: &Scenario, m: &Model) -> Priors {
    let bins = m
        .classes
        .iter()
        .enumerate()
        .map(|(k, c)| {
            let mut b = [c.p_good; BINS + 1];
            for (i, v) in b.iter_mut().take(BINS).enumerate() {
                *v = m.calibrated_in(k, bin_center(i));
            }
            b
        })
        .collect();
    let loss = m
        .classes
        .iter()
        .map(|c| (-c.stakes.mean_bad).max(f64::MIN_POSITIVE))
        .collect();
    let (approve_good, catch_bad) = match s.reviewer.human {
        Human::ErrorRates {
            approve_good,
            catch_bad,
        } => (approve_good, catch_bad),
        _ => {
            let w: f64 = m.classes.iter().map(|c| c.share).sum();
            let a = m
                .classes
                .iter()
                .map(|c| c.share * c.answers.allow_good)
                .sum::<f64>()
                / w;
            let k = m
                .classes
                .iter()
                .map(|c| c.share * (1.0 - c.answers.allow_bad))
                .sum::<f64>()
                / w;
            (a, k)
        }
    };
    // A reviewer who never errs leaves no room in a Beta prior: keep the prior inside (0, 1).
    let inside = |x: f64| x.clamp(1e-3, 1.0 - 1e-3);
    Priors {
        bins,
        loss,
        approve_good: inside(approve_good),
        catch_bad: inside(catch_bad),
    }
}

/// One chain's draws: per class P(bad) and bins, the reviewer's rates.
struct Draws {
    p_bad: Vec<Vec<f64>>,
    q: Vec<Vec<Vec<f64>>>,
    approve_good: Vec<f64>,
    catch_bad: Vec<f64>,
}

fn beta<R: rand::Rng>(a: f64, b: f64, rng: &mut R) -> f64 {
    Beta::new(a.max(1e-12), b.max(1e-12))
        .expect("positive parameters")
        .sample(rng)
        .clamp(0.0, 1.0)
}

fn binomial<R: rand::Rng>(n: u64, p: f64, rng: &mut R) -> u64 {
    if n == 0 {
        return 0;
    }
    Binomial::new(n, p.clamp(0.0, 1.0))
        .expect("a probability")
        .sample(rng)
}

/// Runs one Gibbs chain over the tallies of the scenario's classes.
fn chain<R: rand::Rng>(tallies: &[Tally], pri: &Priors, set: &Settings, rng: &mut R) -> Draws {
    let k = tallies.len();
    let n0 = set.prior_strength;
    let nr = set.reviewer_strength;
    // Start at the prior means.
    let mut q: Vec<Vec<f64>> = pri
        .bins
        .iter()
        .map(|b| (0..CELLS).map(|cell| b[cell / ROUTES]).collect())
        .collect();
    let (mut a, mut c) = (pri.approve_good, pri.catch_bad);
    let mut d = Draws {
        p_bad: (0..k).map(|_| Vec::with_capacity(set.samples)).collect(),
        q: (0..k)
            .map(|_| {
                (0..=BINS)
                    .map(|_| Vec::with_capacity(set.samples))
                    .collect()
            })
            .collect(),
        approve_good: Vec::with_capacity(set.samples),
        catch_bad: Vec::with_capacity(set.samples),
    };
    // The class's confidence distribution over the bins: Dirichlet(calls + 1/(BINS + 1)), one pseudo-call in all
    // (more, spread evenly, would pull a small class towards its extreme bins) — the population P(bad) that the
    // card needs averages over where future calls fall, not only where the logged ones fell. A class with no
    // calls keeps the scenario's P(bad) (its no-confidence bin, whose prior is the class's P(U ≥ 0)).
    let counts: Vec<Option<Vec<f64>>> = tallies
        .iter()
        .map(|t| {
            (t.calls() > 0).then(|| {
                (0..CELLS)
                    .map(|cell| t.in_cell(cell) as f64 + 1.0 / CELLS as f64)
                    .collect()
            })
        })
        .collect();
    // The scenario is worth n₀ calls per bin, shared among the bin's cells by their calls (a route the card
    // never takes keeps its share ⅓ of the prior when the bin has no calls at all).
    let strength: Vec<Vec<f64>> = tallies
        .iter()
        .map(|t| {
            (0..CELLS)
                .map(|cell| {
                    (t.in_cell(cell) as f64 + 1.0 / ROUTES as f64)
                        / (t.in_bin(cell / ROUTES) as f64 + 1.0)
                })
                .collect()
        })
        .collect();
    for it in 0..2 * set.samples {
        // Likelihood of each answer given good and bad.
        let like = [[a, 1.0 - c], [1.0 - a, c], [1.0, 1.0]];
        let mut said = [[0u64; 2]; 2]; // [approve/reject][good/bad]
        for (ki, t) in tallies.iter().enumerate() {
            for (cell, qb) in q[ki].iter_mut().enumerate() {
                let (mut good, mut bad) = (0u64, 0u64);
                for s in [APPROVE, REJECT, NOTHING] {
                    let [g, x, u] = t.n[cell][s];
                    let pg = *qb * like[s][0];
                    let pb = (1.0 - *qb) * like[s][1];
                    let p = if pg + pb > 0.0 { pg / (pg + pb) } else { 0.5 };
                    let gu = binomial(u, p, rng);
                    let (sg, sb) = (g + gu, x + u - gu);
                    good += sg;
                    bad += sb;
                    if s != NOTHING {
                        said[s][0] += sg;
                        said[s][1] += sb;
                    }
                }
                let m = pri.bins[ki][cell / ROUTES];
                let n0 = n0 * strength[ki][cell];
                *qb = beta(n0 * m + good as f64, n0 * (1.0 - m) + bad as f64, rng);
            }
        }
        a = beta(
            nr * pri.approve_good + said[APPROVE][0] as f64,
            nr * (1.0 - pri.approve_good) + said[REJECT][0] as f64,
            rng,
        );
        c = beta(
            nr * pri.catch_bad + said[REJECT][1] as f64,
            nr * (1.0 - pri.catch_bad) + said[APPROVE][1] as f64,
            rng,
        );
        if it >= set.samples {
            for ki in 0..k {
                // The cells' weights (a draw of the confidence distribution); a class without calls, the
                // no-confidence bin's (its prior is the class's P(U ≥ 0)).
                let g: Vec<f64> = match &counts[ki] {
                    None => (0..CELLS)
                        .map(|cell| (cell / ROUTES == BINS) as u8 as f64)
                        .collect(),
                    Some(alpha) => alpha
                        .iter()
                        .map(|&x| Gamma::new(x, 1.0).expect("positive").sample(rng))
                        .collect(),
                };
                let total: f64 = g.iter().sum();
                d.p_bad[ki].push((0..CELLS).map(|c| g[c] / total * (1.0 - q[ki][c])).sum());
                // A bin's calibration: its cells' P(good) weighted alike.
                for (b, draws) in d.q[ki].iter_mut().enumerate() {
                    let cells = b * ROUTES..(b + 1) * ROUTES;
                    let w: f64 = g[cells.clone()].iter().sum();
                    let x = if w > 0.0 {
                        cells.map(|c| g[c] * q[ki][c]).sum::<f64>() / w
                    } else {
                        q[ki][b * ROUTES]
                    };
                    draws.push(x);
                }
            }
            d.approve_good.push(a);
            d.catch_bad.push(c);
        }
    }
    d
}

/// Mean, 90% interval and split-R̂ of a quantity's draws over the chains.
fn summarize(prior: f64, chains: &[&[f64]]) -> Posterior {
    let mut all: Vec<f64> = chains.iter().flat_map(|c| c.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    let n = all.len();
    let at = |p: f64| all[((p * (n - 1) as f64).round() as usize).min(n - 1)];
    Posterior {
        prior,
        mean: all.iter().sum::<f64>() / n as f64,
        median: at(0.5),
        lo: at(0.05),
        hi: at(0.95),
        rhat: split_rhat(chains),
    }
}

/// The split-R̂ of Gelman et al. (2013, BDA3 §11.4): each chain halved, between- against within-half variance.
fn split_rhat(chains: &[&[f64]]) -> f64 {
    let halves: Vec<&[f64]> = chains
        .iter()
        .flat_map(|c| {
            let h = c.len() / 2;
            [&c[..h], &c[h..2 * h]]
        })
        .collect();
    let m = halves.len() as f64;
    let n = halves[0].len() as f64;
    if n < 2.0 {
        return f64::NAN;
    }
    let means: Vec<f64> = halves.iter().map(|h| h.iter().sum::<f64>() / n).collect();
    let grand = means.iter().sum::<f64>() / m;
    let b = n / (m - 1.0) * means.iter().map(|x| (x - grand).powi(2)).sum::<f64>();
    let w = halves
        .iter()
        .zip(&means)
        .map(|(h, mu)| h.iter().map(|x| (x - mu).powi(2)).sum::<f64>() / (n - 1.0))
        .sum::<f64>()
        / m;
    if w == 0.0 {
        return 1.0;
    }
    (((n - 1.0) / n * w + b / n) / w).sqrt()
}

/// The loss tail's posterior, from the normal-inverse-gamma conjugate update of the log losses.
fn tail<R: rand::Rng>(t: &Tally, prior_loss: f64, samples: usize, rng: &mut R) -> Tail {
    let sigma0: f64 = 1.0;
    // E[σ²] = β₀/(α₀ − 1) = σ₀², with finite prior variance.
    let (mu0, kappa0, alpha0, beta0) = (prior_loss.ln() - sigma0 * sigma0 / 2.0, 1.0, 3.0, 2.0);
    let (n, s1, s2) = t.losses;
    let nf = n as f64;
    let mean = if n > 0 { s1 / nf } else { 0.0 };
    let ss = (s2 - nf * mean * mean).max(0.0);
    let kappa = kappa0 + nf;
    let mu = (kappa0 * mu0 + nf * mean) / kappa;
    let alpha = alpha0 + nf / 2.0;
    let beta = beta0 + 0.5 * ss + kappa0 * nf * (mean - mu0).powi(2) / (2.0 * kappa);
    let gamma = Gamma::new(alpha, 1.0 / beta).expect("positive shape and rate");
    let (mut means, mut medians, mut sigmas) = (vec![], vec![], vec![]);
    for _ in 0..samples {
        let var = 1.0 / gamma.sample(rng);
        let z: f64 = rng.sample(StandardNormal);
        let m = mu + z * (var / kappa).sqrt();
        means.push((m + var / 2.0).exp());
        medians.push(m.exp());
        sigmas.push(var.sqrt());
    }
    let half = samples / 2;
    let est = |prior: f64, v: &[f64]| summarize(prior, &[&v[..half], &v[half..]]);
    Tail {
        losses: n,
        mean_loss: est(prior_loss, &means),
        median_loss: est((mu0).exp(), &medians),
        sigma_log: est(sigma0, &sigmas),
        posterior: [mu, kappa, alpha, beta],
        observed: t
            .log_losses
            .iter()
            .enumerate()
            .filter(|x| *x.1 > 0)
            .map(|(b, &c)| ((-LOSS_EDGE + (b as f64 + 0.5) * LOSS_BIN_WIDTH).exp(), c))
            .collect(),
    }
}

/// Fits the counted log `data` against `scenario`.
pub fn fit(scenario: &Scenario, data: &Data, set: &Settings) -> Result<Fit> {
    set.check()?;
    let model = Model::new(scenario)?;
    let pri = priors(scenario, &model);
    let tallies: Vec<Tally> = model
        .classes
        .iter()
        .map(|c| data.classes.get(&c.name).cloned().unwrap_or_default())
        .collect();
    let chains: Vec<Draws> = (0..2u64)
        .into_par_iter()
        .map(|i| chain(&tallies, &pri, set, &mut crate::rng::job_rng(set.seed, i)))
        .collect();
    let mut tail_rng = crate::rng::job_rng(set.seed, 2);
    let mut classes = Vec::new();
    let mut notes = Vec::new();
    let labelled_total: u64 = tallies.iter().map(Tally::labelled).sum();
    if labelled_total == 0 {
        notes.push(
            "no call in the log has an outcome: the bad-action rates, calibration maps and the reviewer's error \
             rates cannot be told apart from the answers alone, and stay near the scenario's priors; record \
             outcomes (`cirl gate record --outcome`)"
                .to_string(),
        );
    }
    for (ki, (c, t)) in model.classes.iter().zip(&tallies).enumerate() {
        let p_bad = summarize(
            1.0 - c.p_good,
            &[&chains[0].p_bad[ki], &chains[1].p_bad[ki]],
        );
        let calibration: Vec<Bin> = (0..=BINS)
            .map(|b| Bin {
                range: (b < BINS).then(|| bin_range(b)),
                calls: t.in_bin(b),
                labelled: t.labelled_in_bin(b),
                p_good: summarize(pri.bins[ki][b], &[&chains[0].q[ki][b], &chains[1].q[ki][b]]),
            })
            .collect();
        let (calls, asked, labelled) = (t.calls(), t.asked(), t.labelled());
        if calls == 0 {
            notes.push(format!(
                "class {}: no calls in the log; its inputs stay at the scenario's",
                c.name
            ));
        } else if labelled_total > 0 {
            let half = (p_bad.hi - p_bad.lo) / 2.0;
            if half > 0.05 {
                let p = p_bad.mean.clamp(0.01, 0.99);
                let need = (1.645f64.powi(2) * p * (1.0 - p) / 0.05f64.powi(2)).ceil() as u64;
                notes.push(format!(
                    "class {}: P(bad) is only known to ±{:.3} (90%: [{:.3}, {:.3}]) from {labelled} calls with an outcome; about {} with an outcome would narrow it to ±0.05",
                    c.name,
                    half,
                    p_bad.lo,
                    p_bad.hi,
                    need.saturating_sub(labelled).max(1) + labelled
                ));
            }
        }
        if calls > 0 && asked == 0 {
            notes.push(format!(
                "class {}: never asked, so it says nothing of the reviewer",
                c.name
            ));
        }
        let (map, map_line) = match calibration_map(
            &calibration,
            |r| model.calibrated_in(ki, r),
            set.prior_strength,
        ) {
            Some(m) if labelled > 0 => (m.knots, Some((m.line, m.line_sd))),
            _ => (Vec::new(), None),
        };
        classes.push(ClassFit {
            name: c.name.clone(),
            calls,
            asked,
            labelled,
            asked_labelled: t.asked_labelled(),
            p_bad,
            map,
            map_line: map_line.map(|x| x.0),
            map_line_sd: map_line.map(|x| x.1),
            calibration,
            tail: tail(t, pri.loss[ki], 2 * set.samples, &mut tail_rng),
        });
    }
    let reviewer = ReviewerFit {
        approve_good: summarize(
            pri.approve_good,
            &[&chains[0].approve_good, &chains[1].approve_good],
        ),
        catch_bad: summarize(pri.catch_bad, &[&chains[0].catch_bad, &chains[1].catch_bad]),
        fatigue: fatigue(data),
        boltzmann: choices::fit_values(&data.choices, &scenario.reviewer.human),
    };
    let preferences = choices::fit_features(&data.choices);
    if let Some(b) = &reviewer.boltzmann {
        let beta = &b.beta;
        notes.push(if b.supported {
            format!(
                "the reviewer's {} choices between options with values fit a Boltzmann-rational chooser, boltzmann:{:.4} (90%: [{:.4}, {:.4}]), who chose the option worth most in {:.0}% of them (pseudo-R² {:.3}); {}",
                b.choices,
                beta.median,
                beta.lo,
                beta.hi,
                100.0 * b.hit_rate,
                b.pseudo_r2,
                if choices::auto_is_boltzmann(&scenario.reviewer.human) {
                    "the re-issued scenario's reviewer is that chooser"
                } else {
                    "the re-issued reviewer keeps the scenario's form (error rates); `--reviewer boltzmann` makes it that chooser"
                }
            )
        } else {
            format!(
                "the reviewer's {} logged choices do not show a Boltzmann-rational chooser preferring the options worth more ({}): the reviewer stays as it is",
                b.choices,
                b.shortfall()
            )
        });
    }
    if let Some(p) = &preferences {
        let w: Vec<String> = p
            .weights
            .iter()
            .map(|w| {
                format!(
                    "{} {:.4} [{:.4}, {:.4}]",
                    w.feature, w.weight.mean, w.weight.lo, w.weight.hi
                )
            })
            .collect();
        notes.push(format!(
            "the human's {} choices between options with features weigh them (per unit, over the human's noise): {}",
            p.choices,
            w.join(", ")
        ));
    }
    if let Some(f) = &reviewer.fatigue {
        let or = &f.odds_ratio_per_ask;
        notes.push(if f.supported {
            format!(
                "the reviewer tires: the odds of catching a bad call fall by a factor {:.3} (90%: [{:.3}, {:.3}]) with every earlier prompt in its session, from {} bad asked calls with an outcome; the re-issued scenario has [human.fatigue]",
                or.mean, or.lo, or.hi, f.labelled_bad
            )
        } else {
            format!(
                "no sign of reviewer fatigue: the odds of catching a bad call change by a factor {:.3} (90%: [{:.3}, {:.3}]) per earlier prompt in its session, from {} bad asked calls with an outcome",
                or.mean, or.lo, or.hi, f.labelled_bad
            )
        });
    }

    let asked_total: u64 = tallies.iter().map(Tally::asked).sum();
    if asked_total == 0 {
        notes.push(
            "no call was asked (or none was answered): the reviewer's error rates stay at the scenario's".into(),
        );
    }
    let unknown_classes: Vec<(String, u64)> = data
        .classes
        .iter()
        .filter(|(n, _)| !model.classes.iter().any(|c| &c.name == *n))
        .map(|(n, t)| (n.clone(), t.calls()))
        .collect();
    for (n, k) in &unknown_classes {
        notes.push(format!(
            "class {n} ({k} calls) is not in the scenario: not fitted; add it to the scenario or check the card the gate ran"
        ));
    }
    let worst = classes
        .iter()
        .map(|c| c.p_bad.rhat)
        .chain([reviewer.approve_good.rhat, reviewer.catch_bad.rhat])
        .fold(1.0f64, |m, r| if r.is_nan() { m } else { m.max(r) });
    if worst > 1.05 {
        notes.push(format!(
            "the chains disagree (split-R̂ up to {worst:.3} > 1.05): rerun with more --samples"
        ));
    }
    Ok(Fit {
        scenario: scenario.name.clone(),
        records: data.records,
        duplicates: data.duplicates,
        unclassified: data.unclassified,
        unknown_classes,
        classes,
        reviewer,
        notes,
        settings: *set,
        preferences,
        drift: Vec::new(),
    })
}

/// A quantity whose posterior in one window left the posterior of all the windows before it.
#[derive(Debug, Clone, Serialize)]
pub struct DriftFlag {
    /// `p_bad NAME`, `approve_good` or `catch_bad` (the closed loop's names).
    pub quantity: String,
    /// "class NAME: P(bad)", "reviewer: P(reject | bad)", …
    pub what: String,
    /// Its posterior in the window.
    pub window: Posterior,
    /// Its posterior over every window before it, pooled.
    pub before: Posterior,
    /// The difference of the posterior means in standard deviations of the difference.
    pub z: f64,
}

/// The |z| above which a window is flagged: a two-sided false-alarm rate of 0.1% per comparison on a stationary
/// log (under a normal approximation of both posteriors).
pub const DRIFT_Z: f64 = 3.2905;

/// One time window of a drift check.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// The window's start (RFC 3339, UTC).
    pub start: String,
    /// Calls in the window.
    pub calls: u64,
    /// The quantities flagged in it.
    pub flags: Vec<DriftFlag>,
}

/// The drift check of a log counted with a window (see [`Data::read`]): each window's posteriors against those of
/// every window before it pooled. A quantity is flagged when its window's posterior mean lies outside the earlier
/// 90% interval and the two posteriors differ by more than [`DRIFT_Z`] standard deviations of their difference
/// (each posterior's sd read from its 90% interval): the agent got worse, the reviewer started rubber-stamping.
/// Non-overlap of the intervals alone fires on ~10% of a stationary log's windows once the earlier posterior is
/// narrow. A window is compared on a class only where both hold an outcome of it, and on the reviewer only where
/// both hold an asked call's outcome.
pub fn drift(scenario: &Scenario, data: &Data, set: &Settings) -> Result<Vec<Window>> {
    let Some(width) = data.window_ms else {
        return Ok(Vec::new());
    };
    let mut before: BTreeMap<String, Tally> = BTreeMap::new();
    let windows: Vec<(&i64, &BTreeMap<String, Tally>)> = data.windows.iter().collect();
    // Each window's fit and the fit of everything before it, in parallel; seeded per window.
    let mut pooled = Vec::with_capacity(windows.len());
    for (_, w) in &windows {
        pooled.push(before.clone());
        for (k, t) in w.iter() {
            before.entry(k.clone()).or_default().merge(t);
        }
    }
    let as_data = |classes: &BTreeMap<String, Tally>| Data {
        classes: classes.clone(),
        ..Data::default()
    };
    windows
        .par_iter()
        .zip(&pooled)
        .enumerate()
        .map(|(i, ((k, w), earlier))| {
            let k = **k;
            let start = jiff::Timestamp::from_millisecond(k * width).map_or_else(
                |_| String::new(),
                |t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            );
            let calls = w.values().map(Tally::calls).sum();
            let mut flags = Vec::new();
            if i > 0 {
                let seeded = |j: u64| Settings {
                    seed: crate::rng::derive_seed(set.seed, 0x4452, 2 * i as u64 + j),
                    ..*set
                };
                let now = fit(scenario, &as_data(w), &seeded(0))?;
                let then = fit(scenario, &as_data(earlier), &seeded(1))?;
                flags = compare(&now, &then, w, earlier);
            }
            Ok(Window {
                start,
                calls,
                flags,
            })
        })
        .collect()
}

/// The drift check of one window's fit (`now`, from the tallies `window`) against the fit of everything before
/// it (`then`, from `earlier`), as [`drift`] makes it: the quantities whose posteriors moved apart.
pub fn compare(
    now: &Fit,
    then: &Fit,
    window: &BTreeMap<String, Tally>,
    earlier: &BTreeMap<String, Tally>,
) -> Vec<DriftFlag> {
    let z = |a: &Posterior, b: &Posterior| {
        (a.mean - b.mean)
            / (a.normal_sd().powi(2) + b.normal_sd().powi(2))
                .sqrt()
                .max(f64::MIN_POSITIVE)
    };
    let apart =
        |a: &Posterior, b: &Posterior| (a.mean < b.lo || a.mean > b.hi) && z(a, b).abs() > DRIFT_Z;
    let flag = |quantity: String, what: String, a: &Posterior, b: &Posterior| DriftFlag {
        quantity,
        what,
        window: *a,
        before: *b,
        z: z(a, b),
    };
    let mut flags = Vec::new();
    for (cn, ct) in now.classes.iter().zip(&then.classes) {
        if compared_class(window, earlier, &cn.name) && apart(&cn.p_bad, &ct.p_bad) {
            flags.push(flag(
                format!("p_bad {}", cn.name),
                format!("class {}: P(bad)", cn.name),
                &cn.p_bad,
                &ct.p_bad,
            ));
        }
    }
    if compared_reviewer(window, earlier) {
        for (quantity, what, a, b) in [
            (
                "approve_good",
                "reviewer: P(approve | good)",
                &now.reviewer.approve_good,
                &then.reviewer.approve_good,
            ),
            (
                "catch_bad",
                "reviewer: P(reject | bad)",
                &now.reviewer.catch_bad,
                &then.reviewer.catch_bad,
            ),
        ] {
            if apart(a, b) {
                flags.push(flag(quantity.into(), what.into(), a, b));
            }
        }
    }
    flags
}

/// Whether [`compare`] compares a class: both tallies hold an outcome of it.
pub fn compared_class(
    window: &BTreeMap<String, Tally>,
    earlier: &BTreeMap<String, Tally>,
    name: &str,
) -> bool {
    let labelled = |m: &BTreeMap<String, Tally>| m.get(name).map_or(0, Tally::labelled) > 0;
    labelled(window) && labelled(earlier)
}

/// Whether [`compare`] compares the reviewer: both tallies hold an asked call's outcome.
pub fn compared_reviewer(
    window: &BTreeMap<String, Tally>,
    earlier: &BTreeMap<String, Tally>,
) -> bool {
    let asked =
        |m: &BTreeMap<String, Tally>| m.values().map(Tally::asked_labelled).sum::<u64>() > 0;
    asked(window) && asked(earlier)
}

/// A window width such as `12h`, `7d`, `30m` or `90s`, in milliseconds.
pub fn parse_window(s: &str) -> Result<i64> {
    let bad = || {
        Error::invalid(
            "--window",
            format!("{s:?} is not a duration such as 90s, 30m, 12h or 7d"),
        )
    };
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .ok_or_else(bad)?,
    );
    let x: f64 = num.parse().map_err(|_| bad())?;
    let ms = match unit {
        "s" => 1e3,
        "m" => 6e4,
        "h" => 3.6e6,
        "d" => 8.64e7,
        _ => return Err(bad()),
    } * x;
    if !(1.0..1e15).contains(&ms) {
        return Err(bad());
    }
    Ok(ms as i64)
}
