//! Milli et al. 2017, "Should robots be obedient?": obedience O_n and autonomy advantage Δ_n over rounds, per
//! true human rationality β and robot (the game is [`crate::games::obedience`]).
//!
//! Job `bi · seeds + s` plays run `s` of the `bi`-th β; its output is what every robot did in every round. The
//! results are the per-(β, robot, round) means over the runs with 95% intervals, summed in run order.

use std::fmt::Write as _;

use crate::error::Result;
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::games::obedience::{self, Acc, Obedience, Row};

/// The columns of a job's output.
const JOB_COLUMNS: [&str; 6] = [
    "robot_index",
    "round_index",
    "obey",
    "adv",
    "adv2",
    "dominated",
];

/// The columns of the results.
const COLUMNS: [&str; 10] = [
    "beta",
    "robot",
    "round",
    "obedience",
    "obedience_ci_low",
    "obedience_ci_high",
    "advantage",
    "advantage_ci_low",
    "advantage_ci_high",
    "dominated",
];

/// An obedience study laid out as jobs.
pub struct Plan<'a> {
    cfg: &'a Obedience,
    seed: u64,
    /// The prior sample of θ per β (shared by every run of that β).
    particles: Vec<Vec<Vec<f64>>>,
}

impl<'a> Plan<'a> {
    /// Validates the study and draws its prior samples.
    pub fn new(cfg: &'a Obedience, seed: u64) -> Result<Self> {
        cfg.check()?;
        // The Bayes robots weigh every particle by every order: betas × seeds × rounds × robots × particles ×
        // actions × features; the prior samples are held (betas × particles × features numbers).
        let c = cfg;
        let work = [
            c.betas.len(),
            c.seeds,
            c.rounds,
            c.robots.len(),
            c.particles,
            c.actions + c.dominated,
            c.features,
        ]
        .iter()
        .map(|&x| x as f64)
        .product::<f64>();
        crate::limits::check_work("obedience", work, "this obedience study")?;
        crate::limits::check_table(
            "obedience.particles",
            (c.betas.len() * c.particles * c.features) as f64,
            "the prior samples of θ",
        )?;
        let particles = (0..cfg.betas.len())
            .map(|bi| obedience::prior_sample(cfg, seed, bi))
            .collect();
        Ok(Plan {
            cfg,
            seed,
            particles,
        })
    }

    fn cells(r: &Row) -> Vec<Cell> {
        vec![
            Cell::Num(r.beta),
            Cell::Text(r.robot.clone()),
            Cell::Num(r.round as f64),
            Cell::Num(r.obedience),
            Cell::Num(r.obedience_ci_low),
            Cell::Num(r.obedience_ci_high),
            Cell::Num(r.advantage),
            Cell::Num(r.advantage_ci_low),
            Cell::Num(r.advantage_ci_high),
            Cell::Num(r.dominated),
        ]
    }
}

impl Experiment for Plan<'_> {
    fn jobs(&self) -> usize {
        self.cfg.betas.len() * self.cfg.seeds
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let (bi, s) = (j / self.cfg.seeds, j % self.cfg.seeds);
        let acc = obedience::play(self.cfg, self.seed, bi, s, &self.particles[bi]);
        let mut t = Table::new(&JOB_COLUMNS);
        for (k, rounds) in acc.iter().enumerate() {
            for (n, a) in rounds.iter().enumerate() {
                t.push(vec![
                    Cell::Num(k as f64),
                    Cell::Num(n as f64),
                    Cell::Num(a.obey),
                    Cell::Num(a.adv),
                    Cell::Num(a.adv2),
                    Cell::Num(a.dominated),
                ]);
            }
        }
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.cfg.betas.len() * self.cfg.robots.len() * self.cfg.rounds
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS);
        for &beta in &self.cfg.betas {
            for r in &self.cfg.robots {
                for n in 1..=self.cfg.rounds {
                    let mut row = vec![Cell::Num(0.0); COLUMNS.len()];
                    row[0] = Cell::Num(beta);
                    row[1] = Cell::Text(r.name(self.cfg.features));
                    row[2] = Cell::Num(n as f64);
                    t.push(row);
                }
            }
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &["robot"]
    }

    fn check_part(&self, _j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &JOB_COLUMNS)?;
        let (nr, nn) = (self.cfg.robots.len(), self.cfg.rounds);
        if t.rows.len() != nr * nn {
            return Err(format!("{} rows, not {}", t.rows.len(), nr * nn));
        }
        for (i, _) in t.rows.iter().enumerate() {
            let (k, n) = (t.num(i, "robot_index"), t.num(i, "round_index"));
            if k != Some((i / nn) as f64) || n != Some((i % nn) as f64) {
                return Err(format!("row {i} is not robot {}, round {}", i / nn, i % nn));
            }
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        let (nr, nn, ns) = (self.cfg.robots.len(), self.cfg.rounds, self.cfg.seeds);
        let mut results = Table::new(&COLUMNS);
        for bi in 0..self.cfg.betas.len() {
            let per_seed: Vec<Vec<Vec<Acc>>> = parts[bi * ns..(bi + 1) * ns]
                .iter()
                .map(|t| {
                    let get = |i: usize, c: &str| t.num(i, c).unwrap_or(f64::NAN);
                    (0..nr)
                        .map(|k| {
                            (0..nn)
                                .map(|n| {
                                    let i = k * nn + n;
                                    Acc {
                                        obey: get(i, "obey"),
                                        adv: get(i, "adv"),
                                        adv2: get(i, "adv2"),
                                        dominated: get(i, "dominated"),
                                    }
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            for r in obedience::summarize(self.cfg, bi, &per_seed) {
                results.push(Self::cells(&r));
            }
        }
        Ok(results)
    }

    fn claims(&self, t: &Table, _extra: &[Table]) -> Vec<Verdict> {
        let rows_of = |robot: &str, beta: f64| -> Vec<usize> {
            (0..t.rows.len())
                .filter(|&i| t.text(i, "robot") == robot && t.num(i, "beta") == Some(beta))
                .collect()
        };
        let num = |i: usize, c: &str| t.num(i, c).unwrap_or(f64::NAN);
        let mut checks = Vec::new();
        for &beta in &self.cfg.betas {
            let b = rows_of("bayes", beta);
            if b.is_empty() {
                continue;
            }
            // Theorem 1: Δ_n ≥ 0 for the Bayes-optimal robot (every round, within its 99.9% interval).
            let worst = b
                .iter()
                .map(|&i| {
                    num(i, "advantage")
                        + 3.29 / crate::numerics::Z95
                            * (num(i, "advantage") - num(i, "advantage_ci_low"))
                })
                .fold(f64::INFINITY, f64::min);
            checks.push((
                format!(
                    "β = {beta}: the Bayes-optimal robot's autonomy advantage Δ_n ≥ 0 (Theorem 1)"
                ),
                worst >= 0.0,
                format!(
                    "smallest upper 99.9% bound over {} rounds: {}; mean over rounds {}",
                    b.len(),
                    fmt_num(worst),
                    fmt_num(b.iter().map(|&i| num(i, "advantage")).sum::<f64>() / b.len() as f64)
                ),
            ));
            let min_o = b
                .iter()
                .map(|&i| num(i, "obedience"))
                .fold(f64::INFINITY, f64::min);
            if beta == 0.0 {
                checks.push((
                    "β = 0: the Bayes-optimal robot obeys every order (Theorem 3, rational ⇒ blindly obedient)".into(),
                    min_o == 1.0,
                    format!("lowest O_n {}", fmt_num(min_o)),
                ));
            } else {
                checks.push((
                    format!("β = {beta}: the Bayes-optimal robot disobeys sometimes (Theorem 3, not rational ⇒ not blindly obedient)"),
                    min_o < 1.0,
                    format!("lowest O_n {}", fmt_num(min_o)),
                ));
            }
            for robot in ["mle", "map", "bayes"] {
                let rr = rows_of(robot, beta);
                if !rr.is_empty() {
                    let dm: f64 = rr.iter().map(|&i| num(i, "dominated")).sum();
                    checks.push((
                        format!(
                            "β = {beta}: the {robot} robot never executes a dominated action (Lemma 1)"
                        ),
                        dm == 0.0,
                        format!("dominated executions {dm}"),
                    ));
                }
            }
            let ob = rows_of("obedient", beta);
            if beta > 0.0 && !ob.is_empty() {
                let dm: f64 =
                    ob.iter().map(|&i| num(i, "dominated")).sum::<f64>() / ob.len() as f64;
                checks.push((
                    format!("β = {beta}: the obedient robot does execute dominated orders"),
                    dm > 0.0,
                    format!("in {:.2}% of rounds", 100.0 * dm),
                ));
            }
        }
        checks
    }

    fn summary_section(
        &self,
        results: Option<&Table>,
        _frontier: Option<&Table>,
        _extra: &[Table],
    ) -> String {
        let Some(t) = results else {
            return String::new();
        };
        let last = self.cfg.rounds;
        let mut md = format!(
            "## The last round\n\nCurves in results.csv and the plots; the last round of each (β, robot):\n\n| β | robot | O_{last} | Δ_{last} (95% CI) | dominated executions (share of rounds) |\n|---|---|---|---|---|\n",
        );
        let last = last as f64;
        for i in (0..t.rows.len()).filter(|&i| t.num(i, "round") == Some(last)) {
            let num = |c: &str| fmt_num(t.num(i, c).unwrap_or(0.0));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} [{}, {}] | {} |",
                num("beta"),
                t.text(i, "robot"),
                num("obedience"),
                num("advantage"),
                num("advantage_ci_low"),
                num("advantage_ci_high"),
                num("dominated")
            );
        }
        md.push('\n');
        md
    }
}
