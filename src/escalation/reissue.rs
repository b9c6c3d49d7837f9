//! Re-issuing the card from a fit (`cirl fit --out DIR`): the scenario with the posterior's inputs, its card, and
//! what changed against the card of the scenario as it was.
//!
//! **The new scenario** is the old one with, for every class the log says something of (a call with an outcome),
//! its utility prior replaced by the posterior predictive: a discrete prior of [`ATOMS`] good atoms — the
//! scenario's own utility given U ≥ 0, at the midpoints of its quantiles (seeded draws) — weighted 1 − P(bad), and
//! [`ATOMS`] bad atoms — minus the posterior-predictive loss of a bad call, at its quantiles' midpoints (the
//! scenario's own utility given U < 0 where the log holds no loss) — weighted P(bad), P(bad) the posterior mean.
//! Capability failures are in the learned P(bad), so the class's `task_minutes` and `failure_prior` are dropped.
//! The reviewer becomes a Boltzmann-rational chooser, `boltzmann:β` at the β the logged choices between options
//! with values give ([`super::choices`]), when they support one and the scenario's reviewer is a Boltzmann (or
//! rational) one or [`ReviewerForm::Boltzmann`] asks for it; otherwise an error-rate reviewer at the posterior means
//! (once an asked call's outcome is logged); with
//! `[human.fatigue]` — the scenario's, or the one the log supports ([`super::fit::fatigue`]), which replaces it —
//! `catch_bad` is the catch rate before fatigue that the fatigue model turns into the learned one at the log's ask
//! rate. Every class with an outcome gets its own `calibration` (the line of
//! [`super::fit::calibration_map`]: logit P(good) = c + a·logit r, learnt from its calls), which replaces the
//! agent's one logit shift for it, so the card routes each class on how its confidence really reads; the agent's
//! ECE stays (re-expressed under the learnt classes) for the classes without one.

use std::fmt::Write as _;

use rand::RngExt;
use serde::Serialize;

use super::Calibration;
use super::fit::Fit;
use super::model::Model;
use super::scenario::Scenario;
use crate::belief::Prior;
use crate::error::{Error, Result};

/// Atoms of each part (good, bad) of a re-issued class prior.
pub const ATOMS: usize = 50;

/// Draws used to place the atoms.
const DRAWS: usize = 20_000;

/// The weight, in logged losses, of the scenario's own losses in the re-issued loss distribution.
pub const LOSS_PRIOR_WEIGHT: f64 = 4.0;

/// The form of the re-issued reviewer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewerForm {
    /// The scenario's: a Boltzmann (or rational) reviewer stays a Boltzmann one when the logged choices support
    /// it ([`super::choices::BoltzmannFit::supported`]); otherwise error rates.
    #[default]
    Auto,
    /// Error rates, learnt from the asked calls with an outcome.
    ErrorRates,
    /// The Boltzmann-rational chooser of the logged choices between options with values.
    Boltzmann,
}

impl ReviewerForm {
    /// `auto`, `error-rates` or `boltzmann` (the flag `flag` names it in an error).
    pub fn parse(v: &str, flag: &str) -> Result<ReviewerForm> {
        match v {
            "auto" => Ok(ReviewerForm::Auto),
            "error-rates" => Ok(ReviewerForm::ErrorRates),
            "boltzmann" => Ok(ReviewerForm::Boltzmann),
            _ => Err(Error::invalid(
                flag,
                format!("{v:?} is not a reviewer form; give auto, error-rates or boltzmann"),
            )),
        }
    }
}

/// The midpoints of `n` equal-probability slices of the sorted sample `v`.
fn midpoints(v: &mut [f64], n: usize) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    (0..n)
        .map(|i| v[(((i as f64 + 0.5) / n as f64) * v.len() as f64) as usize % v.len()])
        .collect()
}

/// The scenario text of `original` (the scenario `s`, as read) with the fit's inputs; `log` names the log in the
/// header.
pub fn scenario_text(
    original: &str,
    s: &Scenario,
    f: &Fit,
    log: &str,
    seed: u64,
    form: ReviewerForm,
) -> Result<String> {
    let mut t: toml::Table = toml::from_str(original)
        .map_err(|e| Error::invalid("--scenario", format!("not TOML: {}", e.message())))?;
    let model = Model::new(s)?;
    let mut changed = Vec::new();
    let asked: u64 = f.classes.iter().map(|c| c.asked).sum();
    let calls: u64 = f.classes.iter().map(|c| c.calls).sum();
    let chooser = f.reviewer.boltzmann.as_ref().filter(|b| b.supported);
    let boltzmann = match form {
        ReviewerForm::ErrorRates => None,
        ReviewerForm::Auto => {
            chooser.filter(|_| super::choices::auto_is_boltzmann(&s.reviewer.human))
        }
        ReviewerForm::Boltzmann => Some(chooser.ok_or_else(|| {
            let why = match &f.reviewer.boltzmann {
                None => "the log has no choices between options with values".to_string(),
                Some(b) => format!(
                    "its {} choices do not support one ({})",
                    b.choices,
                    b.shortfall()
                ),
            };
            Error::invalid(
                "--reviewer",
                format!("boltzmann: {why}; log the options offered and the one chosen, or give --reviewer auto"),
            )
        })?),
    };
    if let Some(b) = boltzmann {
        let Some(toml::Value::Table(h)) = t.get_mut("human") else {
            return Err(Error::invalid("--scenario", "has no [human]"));
        };
        h.insert(
            "response".into(),
            format!("boltzmann:{}", b.beta.median).into(),
        );
        for k in ["approve_good", "catch_bad", "approval_rate", "fatigue"] {
            h.remove(k);
        }
        changed.push(format!(
            "the reviewer: a Boltzmann-rational chooser, boltzmann:{:.4}, from {} logged choices",
            b.beta.median, b.choices
        ));
    }
    // Answers without outcomes hardly separate the reviewer's errors from the calls' quality: the reviewer is
    // re-issued once some asked call's outcome is known.
    else if f.classes.iter().any(|c| c.asked_labelled > 0)
        && let Some(toml::Value::Table(h)) = t.get_mut("human")
    {
        let mut catch = f.reviewer.catch_bad.mean;
        // Fatigue the log shows replaces the scenario's; either turns the learnt catch rate (at the log's ask
        // rate) into the rate before fatigue.
        let learnt = f
            .reviewer
            .fatigue
            .filter(|x| x.supported)
            .map(|x| super::model::Fatigue {
                odds_ratio_per_ask: x.odds_ratio_per_ask.mean,
                actions_per_session: x.actions_per_session.max(1.0),
            });
        if let Some(fat) = learnt {
            let mut ft = toml::Table::new();
            ft.insert("odds_ratio_per_ask".into(), fat.odds_ratio_per_ask.into());
            ft.insert("actions_per_session".into(), fat.actions_per_session.into());
            h.insert("fatigue".into(), toml::Value::Table(ft));
            changed.push(format!(
                "the reviewer's fatigue: odds of a catch × {:.3} per further prompt in a session of {:.0} calls",
                fat.odds_ratio_per_ask, fat.actions_per_session
            ));
        }
        if let Some(fat) = learnt.or(s.reviewer.fatigue) {
            catch = fat.catch_before(catch, asked as f64 / calls.max(1) as f64);
        }
        h.insert("response".into(), "error-rates".into());
        h.insert("approve_good".into(), f.reviewer.approve_good.mean.into());
        h.insert("catch_bad".into(), catch.into());
        h.remove("approval_rate");
        changed.push("the reviewer".to_string());
    }
    let Some(toml::Value::Array(classes)) = t.get_mut("class") else {
        return Err(Error::invalid("--scenario", "has no [[class]]"));
    };
    for (ki, (cf, c)) in f.classes.iter().zip(&s.classes).enumerate() {
        if cf.labelled == 0 {
            // A prior read from a population's thresholds goes in resolved: the re-issued scenario lives in
            // another folder, where the thresholds' relative path would not lead.
            if let (Some(_), Prior::Normal { mu, sigma }, Some(toml::Value::Table(ct))) =
                (&c.prior_source, &c.prior, classes.get_mut(ki))
            {
                ct.insert("prior".into(), format!("normal:{mu},{sigma}").into());
            }
            continue;
        }
        let utility = s.utility_prior(c)?;
        let mut rng = crate::rng::job_rng(seed, 100 + ki as u64);
        let (mut good, mut bad): (Vec<f64>, Vec<f64>) = (0..DRAWS)
            .map(|_| utility.sample(&mut rng))
            .partition(|&u| u >= 0.0);
        let stakes = &model.classes[ki].stakes;
        let good_atoms = if good.len() >= ATOMS {
            midpoints(&mut good, ATOMS)
        } else {
            vec![stakes.mean_good.max(0.0)]
        };
        // The losses of bad calls: the posterior predictive of a Dirichlet process whose base is the scenario's
        // own (its prior given U < 0) with weight LOSS_PRIOR_WEIGHT calls against the logged losses: it keeps the
        // scenario's tail while few losses are logged, and becomes what the log shows as they accumulate, whatever
        // its shape.
        let bad_atoms = if cf.tail.losses > 0 {
            let n = cf.tail.losses as f64;
            let w = if bad.is_empty() {
                0.0
            } else {
                LOSS_PRIOR_WEIGHT / (LOSS_PRIOR_WEIGHT + n)
            };
            let mut losses: Vec<f64> = (0..DRAWS)
                .map(|_| {
                    if rng.random::<f64>() < w {
                        bad[rng.random_range(0..bad.len())]
                    } else {
                        -cf.tail.observed_draw(&mut rng).expect("losses were logged")
                    }
                })
                .collect();
            midpoints(&mut losses, ATOMS)
        } else if bad.len() >= ATOMS {
            midpoints(&mut bad, ATOMS)
        } else {
            vec![stakes.mean_bad.min(-f64::MIN_POSITIVE)]
        };
        let p_bad = cf.p_bad.mean.clamp(1e-9, 1.0 - 1e-9);
        let mut spec = String::from("discrete:");
        let parts: Vec<String> = good_atoms
            .iter()
            .map(|v| (v, (1.0 - p_bad) / good_atoms.len() as f64))
            .chain(
                bad_atoms
                    .iter()
                    .map(|v| (v, p_bad / bad_atoms.len() as f64)),
            )
            .map(|(v, p)| format!("{v}@{p}"))
            .collect();
        spec += &parts.join(",");
        if let Some(toml::Value::Table(ct)) = classes.get_mut(ki) {
            ct.insert("prior".into(), spec.into());
            ct.remove("task_minutes");
            ct.remove("failure_prior");
            if !cf.map.is_empty() {
                let pairs: Vec<toml::Value> = cf
                    .map
                    .iter()
                    .map(|&(r, q)| toml::Value::Array(vec![r.into(), q.into()]))
                    .collect();
                ct.insert("calibration".into(), toml::Value::Array(pairs));
            }
        }
        changed.push(format!("class {}", c.name));
    }
    // The agent keeps its logit shift (how overconfident it is); its ECE, an average over the classes' actions,
    // is re-expressed under the learnt classes (the old ECE may be out of reach of a better-behaved agent).
    let rewritten = changed.iter().any(|c| c.starts_with("class "));
    if model.shift > 0.0
        && rewritten
        && let Some(toml::Value::Table(agent)) = t.get_mut("agent")
    {
        agent.insert("confidence".into(), "calibrated".into());
        agent.remove("ece");
        let text = toml::to_string(&t).map_err(|e| Error::invalid("--scenario", e.to_string()))?;
        let calibrated = Model::new(&Scenario::parse(&text, "the re-issued scenario")?)?;
        let ece = super::model::ece_at_shift(&calibrated.classes, model.shift);
        if let Some(toml::Value::Table(agent)) = t.get_mut("agent") {
            agent.insert("confidence".into(), "overconfident".into());
            agent.insert("ece".into(), ece.into());
        }
        changed.push(format!(
            "the agent's ECE, re-expressed at its logit shift {:.4}: {ece:.4}",
            model.shift
        ));
    }
    let body = toml::to_string(&t).map_err(|e| Error::invalid("--scenario", e.to_string()))?;
    let mut head = format!(
        "# Re-issued by `cirl fit` from the decision log {log} against scenario {}, with the\n\
         # posterior-predictive inputs (fit.json holds the posteriors and their intervals) of:\n",
        s.name
    );
    if changed.is_empty() {
        head += "#   nothing: the log has no outcome and no answer\n";
    }
    for c in &changed {
        head += &format!("#   {c}\n");
    }
    head += &format!(
        "# A re-issued class prior is a discrete prior of {ATOMS} good and {ATOMS} bad atoms; a class with an\n\
         # outcome reads its confidence through its learnt calibration, the others through the agent's logit shift.\n\n"
    );
    Ok(head + &body)
}

/// How one class's card changed.
#[derive(Debug, Clone, Serialize)]
pub struct ClassChange {
    /// The class's name.
    pub name: String,
    /// P(bad action) in the scenario.
    pub p_bad_before: f64,
    /// P(bad action) in the re-issued scenario.
    pub p_bad_after: f64,
    /// The class-level move before.
    pub move_before: String,
    /// The class-level move after.
    pub move_after: String,
    /// The per-action policy before: (move, reported confidence from, to).
    pub regions_before: Vec<(String, f64, f64)>,
    /// The per-action policy after.
    pub regions_after: Vec<(String, f64, f64)>,
    /// Whether the class-level move or any region's move changed.
    pub decision_changed: bool,
    /// The largest shift of a region boundary in reported confidence, where the moves are the same.
    pub boundary_shift: Option<f64>,
}

/// What changed between the card of the scenario and the card of the re-issued one.
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    /// How each class's card changed.
    pub classes: Vec<ClassChange>,
    /// The per-action policy's expected utility per action before, under the scenario.
    pub value_before: f64,
    /// The re-issued card's, under the re-issued scenario.
    pub value_after: f64,
    /// The fit's notes (what the log cannot tell yet).
    pub notes: Vec<String>,
    /// What learning each re-issued class's bad-action rate is worth (see [`super::voi`]).
    pub voi: Vec<super::voi::Voi>,
}

fn regions(c: &super::ClassCard) -> Vec<(String, f64, f64)> {
    c.regions
        .iter()
        .map(|r| (r.mv.as_str().to_string(), r.reported_from, r.reported_to))
        .collect()
}

/// Compares the cards.
pub fn diff(before: &Calibration, after: &Calibration, f: &Fit) -> Diff {
    let classes = before
        .classes
        .iter()
        .zip(&after.classes)
        .map(|(b, a)| {
            let (rb, ra) = (regions(b), regions(a));
            let same_moves = rb.len() == ra.len() && rb.iter().zip(&ra).all(|(x, y)| x.0 == y.0);
            let boundary_shift = same_moves.then(|| {
                rb.iter()
                    .zip(&ra)
                    .map(|(x, y)| (x.1 - y.1).abs().max((x.2 - y.2).abs()))
                    .fold(0.0, f64::max)
            });
            ClassChange {
                name: b.name.clone(),
                p_bad_before: 1.0 - b.p_good,
                p_bad_after: 1.0 - a.p_good,
                move_before: b.mv.as_str().into(),
                move_after: a.mv.as_str().into(),
                decision_changed: b.mv != a.mv || !same_moves,
                regions_before: rb,
                regions_after: ra,
                boundary_shift,
            }
        })
        .collect();
    let value = |c: &Calibration| {
        c.policies
            .iter()
            .find(|p| p.name == c.deployed.per_action)
            .map_or(f64::NAN, |p| p.expected_utility)
    };
    Diff {
        classes,
        value_before: value(before),
        value_after: value(after),
        notes: f.notes.clone(),
        voi: Vec::new(),
    }
}

/// The diff as Markdown.
pub fn markdown(d: &Diff, units: &str) -> String {
    let mut s = String::from("# What the log changed\n\n");
    let _ = writeln!(
        s,
        "The per-action policy is worth {:.4} per action under the new scenario (it was {:.4} under the old){}.\n",
        d.value_after,
        d.value_before,
        if units.is_empty() {
            String::new()
        } else {
            format!(", in {units}")
        }
    );
    s += "| class | P(bad) before | after | move before | after | per-action policy | largest boundary shift |\n|---|---|---|---|---|---|---|\n";
    for c in &d.classes {
        let policy = |r: &[(String, f64, f64)]| {
            r.iter()
                .map(|(m, a, b)| format!("{m} [{a:.3}, {b:.3}]"))
                .collect::<Vec<_>>()
                .join(" · ")
        };
        let _ = writeln!(
            s,
            "| {} | {:.4} | {:.4} | {} | {} | {} | {} |",
            c.name,
            c.p_bad_before,
            c.p_bad_after,
            c.move_before,
            c.move_after,
            if c.decision_changed {
                format!(
                    "**changed**: {} → {}",
                    policy(&c.regions_before),
                    policy(&c.regions_after)
                )
            } else {
                policy(&c.regions_after)
            },
            c.boundary_shift
                .map_or("—".into(), |x| format!("{x:.3} in reported confidence"))
        );
    }
    if !d.voi.is_empty() {
        s += "\n## Asking to learn\n\nFor each deployment path, what knowing the class's inputs exactly would be worth (EVPI, per call), the posterior probability that the policy chosen now loses more than 1% of an ask per call, and the number of the class's next calls worth asking about to learn, net of what asking costs, over its next calls (see `src/escalation/voi.rs`):\n\n| class | path | EVPI per call | P(regret > 1% of an ask) | asking costs per call | outcomes per ask | ask the next | net value |\n|---|---|---|---|---|---|---|---|\n";
        for v in &d.voi {
            for (path, p) in [("per-action", &v.per_action), ("static", &v.static_rules)] {
                let net = p
                    .budgets
                    .iter()
                    .find(|b| b.0 == p.explore)
                    .map_or(0.0, |b| b.2);
                let _ = writeln!(
                    s,
                    "| {} | {path} | {:.3e} | {:.2} | {:.3e} | {:.2} | {} | {:.3e} over {} calls |",
                    v.class,
                    p.evpi,
                    p.p_regret,
                    p.ask_cost,
                    v.outcomes_per_ask,
                    if p.explore == 0 {
                        "0 (decide now)".to_string()
                    } else {
                        format!("{} calls", p.explore)
                    },
                    net,
                    v.future_calls
                );
            }
        }
    }
    if !d.notes.is_empty() {
        s += "\n## What the log cannot tell yet\n\n";
        for n in &d.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

/// What [`refit`] produced.
#[derive(Debug, Clone)]
pub struct Refit {
    /// The fit of the log (with its drift windows).
    pub fit: Fit,
    /// What changed against the scenario's own card (when a card was re-issued).
    pub diff: Option<Diff>,
    /// The files written (when a card was re-issued).
    pub files: Vec<std::path::PathBuf>,
}

/// `cirl fit LOG --scenario SCENARIO [--window W] [--out DIR]`: reads the decision log (JSON Lines or SQLite),
/// fits the scenario's inputs to it with their drift windows, and with `out` re-issues the card there —
/// fit.json, scenario.toml (the scenario with the posterior's inputs), card/ (its card and exports), diff.json
/// and diff.md (what changed, and the value of asking to learn more; `future_calls` per class, by default as
/// many as the log holds). The caller holds `out`'s lock.
pub fn refit(
    log: &std::path::Path,
    scenario: &std::path::Path,
    out: Option<(&std::path::Path, ReviewerForm)>,
    window: Option<&str>,
    future_calls: Option<u64>,
    settings: &super::fit::Settings,
) -> Result<Refit> {
    use super::{card, fit, voi};
    let s = Scenario::load(scenario)?;
    crate::input::check_regular(log, super::records::MAX_LOG_BYTES, "LOG")?;
    settings.check()?;
    let window = window.map(fit::parse_window).transpose()?;
    let data = fit::Data::read(log, window)?;
    let mut f = fit::fit(&s, &data, settings)?;
    f.drift = fit::drift(&s, &data, settings)?;
    let Some((dir, form)) = out else {
        return Ok(Refit {
            fit: f,
            diff: None,
            files: Vec::new(),
        });
    };
    let original = crate::input::read_text(scenario, crate::input::MAX_TOML_BYTES, "--scenario")?;
    let new_text = scenario_text(
        &original,
        &s,
        &f,
        &log.display().to_string(),
        settings.seed,
        form,
    )?;
    let new = Scenario::parse(&new_text, "the re-issued scenario")?;
    let opts = super::Options {
        mc_actions: 0,
        seed: settings.seed,
    };
    let before = super::calibrate(&s, &opts)?;
    let after = super::calibrate(&new, &opts)?;
    let mut d = diff(&before, &after, &f);
    for (k, cf) in f.classes.iter().enumerate() {
        if cf.labelled > 0 {
            let future = future_calls.unwrap_or(cf.calls);
            d.voi.push(voi::voi(&new, k, &f, future, settings.seed)?);
        }
    }
    let text = serde_json::to_string_pretty(&f).expect("serializable") + "\n";
    let mut files = vec![dir.join("fit.json"), dir.join("scenario.toml")];
    crate::output::write_atomic(&files[0], text.as_bytes())?;
    crate::output::write_atomic(&files[1], new_text.as_bytes())?;
    files.extend(card::write(&after, &dir.join("card"))?);
    let p = dir.join("diff.json");
    crate::output::write_atomic(
        &p,
        (serde_json::to_string_pretty(&d).expect("serializable") + "\n").as_bytes(),
    )?;
    files.push(p);
    let p = dir.join("diff.md");
    crate::output::write_atomic(&p, markdown(&d, &s.units).as_bytes())?;
    files.push(p);
    Ok(Refit {
        fit: f,
        diff: Some(d),
        files,
    })
}
