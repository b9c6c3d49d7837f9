//! The closed loop as an experiment: one job per seed (an independent run of
//! [`crate::escalation::closed_loop::run`]), the results the seeds' rounds pooled per quantity.
//!
//! **Job files** hold a seed's rounds, a row per learnt quantity and one `card` row per round. **Results** hold,
//! per round and quantity (`p_bad <class>`, `approve_good`, `catch_bad`): its truth; the seeds' posterior means
//! and 90% interval ends averaged (`mean`, `mean_ci_low`, `mean_ci_high`, and the same less the truth as
//! `error…`); `coverage`, the share of the seeds' intervals that hold the truth, of `intervals`; `drifted`, the
//! share of the seeds whose drift check flagged the quantity in the round's window, of the `drift_checks` that
//! compared it. The `all` row pools the coverage and the drift checks of every quantity. The `card` row: the mean
//! regret per action against the oracle card with a 90% interval of that mean (±1.645 standard errors), the mean
//! ask and harm-prevented rates, asks per harm prevented (the ratio of those means), and `alarmed`, the share of
//! the seeds whose drift check has flagged anything by this round.

use super::config::{ClosedLoop, Config};
use super::kind::Experiment;
use super::table::{Cell, Table};
use crate::error::{Error, Result};
use crate::escalation::closed_loop::{self, Round, Spec};
use crate::escalation::fit::Settings;
use crate::escalation::scenario::Scenario;

const PART_COLUMNS: [&str; 12] = [
    "seed",
    "round",
    "calls",
    "quantity",
    "truth",
    "mean",
    "lo",
    "hi",
    "drifted",
    "regret",
    "ask_rate",
    "harms_prevented_rate",
];

const RESULT_COLUMNS: [&str; 21] = [
    "round",
    "calls",
    "quantity",
    "truth",
    "mean",
    "mean_ci_low",
    "mean_ci_high",
    "error",
    "error_ci_low",
    "error_ci_high",
    "coverage",
    "intervals",
    "drift_checks",
    "drifted",
    "alarmed",
    "regret",
    "regret_ci_low",
    "regret_ci_high",
    "ask_rate",
    "harms_prevented_rate",
    "asks_per_harm_prevented",
];

const TEXT_COLUMNS: [&str; 1] = ["quantity"];

/// Stream of the seeds' runs, apart from every other use of the master seed.
const STREAM: u64 = 0x436c_4c6f;

/// A closed-loop config laid out as jobs.
pub struct Plan {
    spec: Spec,
    seeds: u64,
    seed: u64,
    /// The learnt quantities, in order.
    quantities: Vec<String>,
}

impl Plan {
    /// The plan of a closed-loop config (checked; an error names the field).
    pub fn new(c: &ClosedLoop, seed: u64) -> Result<Plan> {
        // Read here rather than with Scenario::load, so that an unreadable file names its key; the prior's text
        // is kept, the re-issued scenarios being written from it.
        let read = |path: &str, field: &str| -> Result<(String, Scenario)> {
            let text = crate::input::read_text(
                std::path::Path::new(path),
                crate::input::MAX_TOML_BYTES,
                field,
            )?;
            let s = Scenario::parse(&text, path)?;
            Ok((text, s))
        };
        let (prior_text, prior) = read(&c.prior, "closed_loop.prior")?;
        let (_, truth) = read(&c.truth, "closed_loop.truth")?;
        let change = match &c.change {
            Some(ch) => Some(closed_loop::Change {
                after: ch.after,
                truth: read(&ch.truth, "closed_loop.change.truth")?.1,
            }),
            None => None,
        };
        let fields = [
            ("closed_loop.actions", c.actions, 10_000_000),
            ("closed_loop.seeds", c.seeds, 100_000),
        ];
        for (field, v, max) in fields {
            if v == 0 || v > max {
                return Err(Error::invalid(field, format!("give 1 to {max}, not {v}")));
            }
        }
        if c.every == 0 || c.every > c.actions {
            return Err(Error::invalid(
                "closed_loop.every",
                format!("give 1 to `actions` ({}), not {}", c.actions, c.every),
            ));
        }
        if c.actions / c.every > 1_000 {
            return Err(Error::invalid(
                "closed_loop.every",
                format!(
                    "{} refits per run; at most 1000 (raise `every`)",
                    c.actions / c.every
                ),
            ));
        }
        for (field, v) in [
            ("closed_loop.seen_ran", c.seen_ran),
            ("closed_loop.seen_rejected", c.seen_rejected),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(Error::invalid(field, format!("a share in [0, 1], not {v}")));
            }
        }
        let fit = Settings {
            samples: c.samples,
            ..Default::default()
        };
        fit.check()
            .map_err(|e| Error::invalid("closed_loop.samples", e.to_string()))?;
        let spec = Spec {
            truth,
            prior,
            prior_text,
            actions: c.actions,
            every: c.every,
            seen_ran: c.seen_ran,
            seen_rejected: c.seen_rejected,
            agent_shift: c.agent_shift,
            fit,
            change,
            per_class_calibration: c.calibration == super::config::LoopCalibration::PerClass,
        };
        let quantities = spec.quantities();
        closed_loop::check(&spec)?;
        Ok(Plan {
            spec,
            seeds: c.seeds,
            seed,
            quantities,
        })
    }

    fn rounds(&self) -> u64 {
        self.spec.refits() + 1
    }

    fn part_table(&self, j: usize, rounds: &[Round]) -> Table {
        let mut t = Table::new(&PART_COLUMNS);
        for r in rounds {
            let head = |q: &str| -> [(&str, Cell); 4] {
                [
                    ("seed", (j as f64).into()),
                    ("round", (r.round as f64).into()),
                    ("calls", (r.actions as f64).into()),
                    ("quantity", q.into()),
                ]
            };
            for p in &r.posteriors {
                let e =
                    |f: fn(&crate::escalation::fit::Posterior) -> f64| p.estimate.as_ref().map(f);
                let mut row = head(&p.quantity).to_vec();
                row.extend([
                    ("truth", p.truth.into()),
                    ("mean", e(|e| e.mean).into()),
                    ("lo", e(|e| e.lo).into()),
                    ("hi", e(|e| e.hi).into()),
                    ("drifted", p.drifted.map(|d| f64::from(u8::from(d))).into()),
                ]);
                t.push_named(&row);
            }
            let mut row = head("card").to_vec();
            row.extend([
                ("regret", r.regret.into()),
                ("ask_rate", r.ask_rate.into()),
                ("harms_prevented_rate", r.harms_prevented_rate.into()),
            ]);
            t.push_named(&row);
        }
        t
    }
}

impl Experiment for Plan {
    fn jobs(&self) -> usize {
        self.seeds as usize
    }

    /// Rows of the results: a row per quantity, one `all` and one `card`, per round.
    fn rows(&self) -> usize {
        self.rounds() as usize * (self.quantities.len() + 2)
    }

    /// Runs seed `j`: its rounds as a job table.
    fn run_job(&self, j: usize) -> Result<Table> {
        let seed = crate::rng::derive_seed(self.seed, STREAM, j as u64);
        let rounds = closed_loop::run(&self.spec, seed)?;
        Ok(self.part_table(j, &rounds))
    }

    /// Checks that a job file's table can be seed `j`'s: its columns, and its rows' seed, rounds and quantities.
    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        if t.columns != PART_COLUMNS {
            return Err(format!(
                "columns {:?}, expected {PART_COLUMNS:?}",
                t.columns
            ));
        }
        let per_round = self.quantities.len() + 1;
        let want = self.rounds() as usize * per_round;
        if t.rows.len() != want {
            return Err(format!("{} rows, expected {want}", t.rows.len()));
        }
        for i in 0..t.rows.len() {
            let (round, k) = (i / per_round, i % per_round);
            let q = self.quantities.get(k).map_or("card", String::as_str);
            if t.num(i, "seed") != Some(j as f64)
                || t.num(i, "round") != Some(round as f64)
                || t.text(i, "quantity") != q
            {
                return Err(format!(
                    "row {} is not seed {j}, round {round}, {q} of this run",
                    i + 1
                ));
            }
        }
        Ok(())
    }

    /// The results' shape: their key columns filled, the rest 0.
    fn key_table(&self) -> Table {
        let mut t = Table::new(&RESULT_COLUMNS);
        for round in 0..self.rounds() {
            let actions = self.spec.logged_at(round);
            for q in self
                .quantities
                .iter()
                .map(String::as_str)
                .chain(["all", "card"])
            {
                let mut row: Vec<Cell> =
                    vec![(round as f64).into(), (actions as f64).into(), q.into()];
                row.resize(RESULT_COLUMNS.len(), 0.0.into());
                t.push(row);
            }
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &TEXT_COLUMNS
    }

    /// The results from every seed's job table, in seed order.
    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let per_round = self.quantities.len() + 1;
        let n = parts.len() as f64;
        let mut t = Table::new(&RESULT_COLUMNS);
        let share = |k: f64, of: f64| -> Cell { (of > 0.0).then(|| k / of).into() };
        // Seeds whose drift check has fired in any round so far.
        let mut alarmed = vec![false; parts.len()];
        for round in 0..self.rounds() as usize {
            let actions = self.spec.logged_at(round as u64) as f64;
            let head = |q: &str| -> Vec<(&'static str, Cell)> {
                vec![
                    ("round", (round as f64).into()),
                    ("calls", actions.into()),
                    ("quantity", q.into()),
                ]
            };
            let (mut covered_all, mut intervals_all) = (0.0, 0.0);
            let (mut fired_all, mut checks_all) = (0.0, 0.0);
            for (k, q) in self.quantities.iter().enumerate() {
                let i = round * per_round + k;
                let col =
                    |c: &str| -> Vec<Option<f64>> { parts.iter().map(|p| p.num(i, c)).collect() };
                let truth = parts[0].num(i, "truth").unwrap_or(f64::NAN);
                let (mean, lo, hi) = (col("mean"), col("lo"), col("hi"));
                let avg = |v: &[Option<f64>]| -> Option<f64> {
                    let xs: Vec<f64> = v.iter().flatten().copied().collect();
                    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
                };
                let covered: Vec<bool> = lo
                    .iter()
                    .zip(&hi)
                    .filter_map(|(l, h)| Some((*l)? <= truth && truth <= (*h)?))
                    .collect();
                let c = covered.iter().filter(|&&x| x).count() as f64;
                let drifted: Vec<(usize, f64)> = col("drifted")
                    .into_iter()
                    .enumerate()
                    .filter_map(|(s, d)| Some((s, d?)))
                    .collect();
                let fired = drifted.iter().filter(|(_, d)| *d > 0.0).count() as f64;
                for &(s, d) in &drifted {
                    alarmed[s] |= d > 0.0;
                }
                covered_all += c;
                intervals_all += covered.len() as f64;
                fired_all += fired;
                checks_all += drifted.len() as f64;
                let (m, l, h) = (avg(&mean), avg(&lo), avg(&hi));
                let less = |x: Option<f64>| -> Cell { x.map(|x| x - truth).into() };
                let mut row = head(q);
                row.extend([
                    ("truth", truth.into()),
                    ("mean", m.into()),
                    ("mean_ci_low", l.into()),
                    ("mean_ci_high", h.into()),
                    ("error", less(m)),
                    ("error_ci_low", less(l)),
                    ("error_ci_high", less(h)),
                    ("coverage", share(c, covered.len() as f64)),
                    ("intervals", (covered.len() as f64).into()),
                    ("drift_checks", (drifted.len() as f64).into()),
                    ("drifted", share(fired, drifted.len() as f64)),
                ]);
                t.push_named(&row);
            }
            let mut row = head("all");
            row.extend([
                ("coverage", share(covered_all, intervals_all)),
                ("intervals", intervals_all.into()),
                ("drift_checks", checks_all.into()),
                ("drifted", share(fired_all, checks_all)),
            ]);
            t.push_named(&row);
            let i = round * per_round + self.quantities.len();
            let col = |c: &str| -> Result<Vec<f64>> {
                parts
                    .iter()
                    .map(|p| {
                        p.num(i, c)
                            .ok_or_else(|| Error::invalid("job", format!("a card row without {c}")))
                    })
                    .collect()
            };
            let regret = col("regret")?;
            let mean = regret.iter().sum::<f64>() / n;
            let sd = if n > 1.0 {
                (regret.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
            } else {
                0.0
            };
            let half = 1.645 * sd / n.sqrt();
            let ask = col("ask_rate")?.iter().sum::<f64>() / n;
            let stopped = col("harms_prevented_rate")?.iter().sum::<f64>() / n;
            let mut row = head("card");
            row.extend([
                (
                    "alarmed",
                    share(alarmed.iter().filter(|&&a| a).count() as f64, n),
                ),
                ("regret", mean.into()),
                ("regret_ci_low", (mean - half).into()),
                ("regret_ci_high", (mean + half).into()),
                ("ask_rate", ask.into()),
                ("harms_prevented_rate", stopped.into()),
                ("asks_per_harm_prevented", share(ask, stopped)),
            ]);
            t.push_named(&row);
        }
        Ok(t)
    }
}

/// The files a closed-loop config reads.
pub fn files(cfg: &Config) -> Vec<std::path::PathBuf> {
    cfg.closed_loop
        .iter()
        .flat_map(|c| {
            [c.prior.clone(), c.truth.clone()]
                .into_iter()
                .chain(c.change.iter().map(|ch| ch.truth.clone()))
                .map(Into::into)
        })
        .collect()
}
