//! The closed loop as an experiment: one job per seed (an independent run of
//! [`crate::escalation::closed_loop::run`]), the results the seeds' rounds pooled per quantity.
//!
//! **Job files** hold a seed's rounds, a row per learnt quantity and one `card` row per round. **Results** hold,
//! per round and quantity (`p_bad <class>`, `approve_good`, `catch_bad`): its truth; the seeds' posterior means
//! and 90% interval ends averaged (`mean`, `mean_ci_low`, `mean_ci_high`, and the same less the truth as
//! `error…`); `coverage`, the share of the seeds' intervals that hold the truth, of `intervals`. The `all` row
//! pools the coverage of every quantity. The `card` row: the mean regret per action against the oracle card with
//! a 90% interval of that mean (±1.645 standard errors), the mean ask and harm-prevented rates, and asks per harm
//! prevented (the ratio of those means).

use super::config::{ClosedLoop, Config};
use super::table::{Cell, Table};
use crate::error::{Error, Result};
use crate::escalation::closed_loop::{self, Round, Spec};
use crate::escalation::fit::Settings;
use crate::escalation::scenario::Scenario;

pub const PART_COLUMNS: [&str; 11] = [
    "seed",
    "round",
    "calls",
    "quantity",
    "truth",
    "mean",
    "lo",
    "hi",
    "regret",
    "ask_rate",
    "harms_prevented_rate",
];

pub const RESULT_COLUMNS: [&str; 18] = [
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
    "regret",
    "regret_ci_low",
    "regret_ci_high",
    "ask_rate",
    "harms_prevented_rate",
    "asks_per_harm_prevented",
];

pub const TEXT_COLUMNS: [&str; 1] = ["quantity"];

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

    pub fn jobs(&self) -> usize {
        self.seeds as usize
    }

    fn rounds(&self) -> u64 {
        self.spec.refits() + 1
    }

    /// Rows of the results: a row per quantity, one `all` and one `card`, per round.
    pub fn rows(&self) -> usize {
        self.rounds() as usize * (self.quantities.len() + 2)
    }

    /// Runs seed `j`: its rounds as a job table.
    pub fn run_job(&self, j: usize) -> Result<Table> {
        let seed = crate::rng::derive_seed(self.seed, STREAM, j as u64);
        let rounds = closed_loop::run(&self.spec, seed)?;
        Ok(self.part_table(j, &rounds))
    }

    fn part_table(&self, j: usize, rounds: &[Round]) -> Table {
        let mut t = Table::new(&PART_COLUMNS);
        for r in rounds {
            let head = |q: &str| -> Vec<Cell> {
                vec![
                    (j as f64).into(),
                    (r.round as f64).into(),
                    (r.actions as f64).into(),
                    q.into(),
                ]
            };
            for p in &r.posteriors {
                let mut row = head(&p.quantity);
                row.push(p.truth.into());
                row.extend(
                    [
                        p.estimate.map(|e| e.mean),
                        p.estimate.map(|e| e.lo),
                        p.estimate.map(|e| e.hi),
                    ]
                    .map(Cell::from),
                );
                row.extend([Cell::Empty, Cell::Empty, Cell::Empty]);
                t.push(row);
            }
            let mut row = head("card");
            row.extend([Cell::Empty, Cell::Empty, Cell::Empty, Cell::Empty]);
            row.extend([r.regret, r.ask_rate, r.harms_prevented_rate].map(Cell::from));
            t.push(row);
        }
        t
    }

    /// Checks that a job file's table can be seed `j`'s: its columns, and its rows' seed, rounds and quantities.
    pub fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
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
    pub fn key_table(&self) -> Table {
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

    /// The results from every seed's job table, in seed order.
    pub fn assemble(&self, parts: &[Table]) -> Result<Table> {
        let per_round = self.quantities.len() + 1;
        let n = parts.len() as f64;
        let mut t = Table::new(&RESULT_COLUMNS);
        for round in 0..self.rounds() as usize {
            let actions = self.spec.logged_at(round as u64) as f64;
            let head =
                |q: &str| -> Vec<Cell> { vec![(round as f64).into(), actions.into(), q.into()] };
            let (mut pooled, mut pooled_n) = (0.0, 0.0);
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
                let covered = lo
                    .iter()
                    .zip(&hi)
                    .filter_map(|(l, h)| Some((*l)? <= truth && truth <= (*h)?))
                    .collect::<Vec<bool>>();
                let c = covered.iter().filter(|&&x| x).count() as f64;
                pooled += c;
                pooled_n += covered.len() as f64;
                let mut row = head(q);
                let (m, l, h) = (avg(&mean), avg(&lo), avg(&hi));
                row.extend(
                    [
                        Some(truth),
                        m,
                        l,
                        h,
                        m.map(|x| x - truth),
                        l.map(|x| x - truth),
                        h.map(|x| x - truth),
                    ]
                    .map(Cell::from),
                );
                row.push(
                    (!covered.is_empty())
                        .then(|| c / covered.len() as f64)
                        .into(),
                );
                row.push((covered.len() as f64).into());
                row.resize(RESULT_COLUMNS.len(), Cell::Empty);
                t.push(row);
            }
            let mut row = head("all");
            row.resize(10, Cell::Empty);
            row.push((pooled_n > 0.0).then(|| pooled / pooled_n).into());
            row.push(pooled_n.into());
            row.resize(RESULT_COLUMNS.len(), Cell::Empty);
            t.push(row);
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
            row.resize(12, Cell::Empty);
            row.extend([mean, mean - half, mean + half, ask, stopped].map(Cell::from));
            row.push((stopped > 0.0).then(|| ask / stopped).into());
            t.push(row);
        }
        Ok(t)
    }
}

/// The files a closed-loop config reads.
pub fn files(cfg: &Config) -> Vec<std::path::PathBuf> {
    cfg.closed_loop
        .iter()
        .flat_map(|c| [c.prior.clone().into(), c.truth.clone().into()])
        .collect()
}
