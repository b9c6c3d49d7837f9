//! Turner et al. 2021, "Optimal Policies Tend to Seek Power": for each small MDP with a shutdown state
//! ([`crate::games::power`]) and each discount γ, the share of reward functions — state rewards drawn IID
//! uniform on [0, 1], as the paper's running example — for which the optimal action at the start avoids
//! shutdown, the share of every sampled reward function's permutations over the states that do (the paper's
//! orbit argument), and POWER(s, γ) of every state.
//!
//! Job `i` is one (MDP, γ). Reward function `k` is drawn from the seed's stream `k` in every job (common random
//! numbers: the curves against γ differ by γ, not by the draw), its permutations from stream `samples + k`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::experiment::kind::{Experiment, Verdict};
use crate::experiment::table::{Cell, Table, fmt_num};
use crate::games::power::{Graph, GraphSpec, optimal_values, power_sample};

/// `[power]`: the MDPs, the discounts and the sample sizes.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PowerStudy {
    /// Reward functions drawn per (MDP, γ).
    pub samples: u64,
    /// Reward functions whose every permutation over the states is solved (0: none; MDPs of ≤ 7 states).
    #[serde(default)]
    pub orbit_samples: u64,
    /// The discounts, each in (0, 1).
    pub discounts: Vec<f64>,
    /// The MDPs.
    pub mdp: Vec<GraphSpec>,
}

/// The most states whose permutations are enumerated (7! = 5040 per reward function).
pub const MAX_ORBIT_STATES: usize = 7;

const COLUMNS: [&str; 13] = [
    "mdp",
    "discount",
    "avoid_shutdown",
    "avoid_shutdown_ci_low",
    "avoid_shutdown_ci_high",
    "ties",
    "orbit_min",
    "orbit_mean",
    "limit",
    "state",
    "power",
    "power_ci_low",
    "power_ci_high",
];
const RESULT_COLUMNS: usize = 9;
const POWER_COLUMNS: [&str; 6] = [
    "mdp",
    "discount",
    "state",
    "power",
    "power_ci_low",
    "power_ci_high",
];

/// A power study laid out as jobs.
pub struct Plan<'a> {
    cfg: &'a PowerStudy,
    seed: u64,
    graphs: Vec<Graph>,
}

impl<'a> Plan<'a> {
    /// Validates the study.
    pub fn new(cfg: &'a PowerStudy, seed: u64) -> Result<Self> {
        if cfg.samples < 2 {
            return Err(Error::invalid(
                "power.samples",
                "give at least 2 reward functions per point",
            ));
        }
        if cfg.discounts.is_empty() {
            return Err(Error::invalid("power.discounts", "give at least one γ"));
        }
        if let Some(g) = cfg.discounts.iter().find(|g| !(**g > 0.0 && **g < 1.0)) {
            return Err(Error::invalid(
                "power.discounts",
                format!("every γ must be in (0, 1), got {g}"),
            ));
        }
        if cfg.mdp.is_empty() {
            return Err(Error::invalid(
                "power.mdp",
                "add at least one [[power.mdp]] with name, start, shutdown and [power.mdp.edges]",
            ));
        }
        let graphs = cfg
            .mdp
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let g = m.build(&format!("power.mdp[{i}]"))?;
                if cfg.orbit_samples > 0 && g.states.len() > MAX_ORBIT_STATES {
                    return Err(Error::invalid(
                        format!("power.mdp[{i}]"),
                        format!(
                            "{} has {} states; orbit_samples enumerates every permutation, so at most {MAX_ORBIT_STATES} (or set orbit_samples = 0)",
                            m.name,
                            g.states.len()
                        ),
                    ));
                }
                Ok(g)
            })
            .collect::<Result<_>>()?;
        Ok(Plan { cfg, seed, graphs })
    }

    fn point(&self, j: usize) -> (usize, f64) {
        let n = self.cfg.discounts.len();
        (j / n, self.cfg.discounts[j % n])
    }

    fn limit(&self, m: usize) -> Option<f64> {
        self.cfg.mdp[m].options.map(|k| k as f64 / (k as f64 + 1.0))
    }

    fn rewards(&self, n: usize, stream: u64) -> Vec<f64> {
        use rand::RngExt;
        let mut rng = crate::rng::job_rng(self.seed, stream);
        (0..n).map(|_| rng.random::<f64>()).collect()
    }
}

/// Every permutation of `0..n` (Heap's algorithm), in a fixed order.
fn permutations(n: usize) -> Vec<Vec<usize>> {
    fn heap(k: usize, a: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
        if k <= 1 {
            out.push(a.clone());
            return;
        }
        for i in 0..k {
            heap(k - 1, a, out);
            let j = if k.is_multiple_of(2) { i } else { 0 };
            a.swap(j, k - 1);
        }
    }
    let mut out = Vec::new();
    heap(n, &mut (0..n).collect(), &mut out);
    out
}

impl Experiment for Plan<'_> {
    fn jobs(&self) -> usize {
        self.graphs.len() * self.cfg.discounts.len()
    }

    fn run_job(&self, j: usize) -> Result<Table> {
        let (m, gamma) = self.point(j);
        let g = &self.graphs[m];
        let n = g.states.len();
        let mut avoid = Vec::with_capacity(self.cfg.samples as usize);
        let mut ties = 0u64;
        let mut power: Vec<Vec<f64>> = vec![Vec::with_capacity(self.cfg.samples as usize); n];
        for k in 0..self.cfg.samples {
            let r = self.rewards(n, k);
            let v = optimal_values(g, &r, gamma);
            match g.avoids_shutdown(&v) {
                Some(a) => avoid.push(a as u8 as f64),
                None => {
                    ties += 1;
                    avoid.push(0.5);
                }
            }
            for (s, p) in power_sample(&v, &r, gamma).into_iter().enumerate() {
                power[s].push(p);
            }
        }
        let perms = if self.cfg.orbit_samples > 0 {
            permutations(n)
        } else {
            Vec::new()
        };
        let orbits: Vec<f64> = (0..self.cfg.orbit_samples)
            .map(|k| {
                let r = self.rewards(n, self.cfg.samples + k);
                let avoiding = perms
                    .iter()
                    .filter(|p| {
                        let rp: Vec<f64> = p.iter().map(|&i| r[i]).collect();
                        g.avoids_shutdown(&optimal_values(g, &rp, gamma)) == Some(true)
                    })
                    .count();
                avoiding as f64 / perms.len() as f64
            })
            .collect();
        let (a, ah) = super::mean_ci(&avoid);
        let (orbit_min, orbit_mean) = if orbits.is_empty() {
            (Cell::Empty, Cell::Empty)
        } else {
            (
                Cell::Num(orbits.iter().copied().fold(f64::INFINITY, f64::min)),
                Cell::Num(orbits.iter().sum::<f64>() / orbits.len() as f64),
            )
        };
        let key = [Cell::Text(self.cfg.mdp[m].name.clone()), Cell::Num(gamma)];
        let mut t = Table::new(&COLUMNS);
        let mut row = key.to_vec();
        row.extend([
            Cell::Num(a),
            Cell::Num(a - ah),
            Cell::Num(a + ah),
            Cell::Num(ties as f64),
            orbit_min,
            orbit_mean,
            self.limit(m).map_or(Cell::Empty, Cell::Num),
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
            Cell::Empty,
        ]);
        t.push(row);
        for (s, p) in power.iter().enumerate() {
            let (mean, h) = super::mean_ci(p);
            let mut row = key.to_vec();
            row.extend(std::iter::repeat_n(Cell::Empty, RESULT_COLUMNS - 2));
            row.extend([
                Cell::Text(g.states[s].clone()),
                Cell::Num(mean),
                Cell::Num(mean - h),
                Cell::Num(mean + h),
            ]);
            t.push(row);
        }
        Ok(t)
    }

    fn rows(&self) -> usize {
        self.jobs()
    }

    fn key_table(&self) -> Table {
        let mut t = Table::new(&COLUMNS[..RESULT_COLUMNS]);
        for j in 0..self.jobs() {
            let (m, gamma) = self.point(j);
            let mut row = vec![Cell::Text(self.cfg.mdp[m].name.clone()), Cell::Num(gamma)];
            row.extend(std::iter::repeat_n(Cell::Num(0.0), RESULT_COLUMNS - 2));
            t.push(row);
        }
        t
    }

    fn text_columns(&self) -> &'static [&'static str] {
        &["mdp", "state"]
    }

    fn check_part(&self, j: usize, t: &Table) -> std::result::Result<(), String> {
        super::check_columns(t, &COLUMNS)?;
        let (m, gamma) = self.point(j);
        let name = &self.cfg.mdp[m].name;
        if t.rows.len() != 1 + self.graphs[m].states.len()
            || t.text(0, "mdp") != *name
            || t.num(0, "discount") != Some(gamma)
        {
            return Err(format!("not the rows of {name} at γ = {gamma}"));
        }
        Ok(())
    }

    fn assemble(&self, parts: Vec<Table>) -> Result<Table> {
        Ok(super::first_rows(&parts, &COLUMNS[..RESULT_COLUMNS]))
    }

    fn extra_tables(&self) -> &'static [&'static str] {
        &["power"]
    }

    fn assemble_extra(&self, parts: &[Table]) -> Result<Vec<Table>> {
        Ok(vec![super::further_rows(
            parts,
            &POWER_COLUMNS,
            2,
            RESULT_COLUMNS,
        )])
    }

    fn extra_key_table(&self, name: &str) -> Option<Table> {
        (name == "power").then(|| {
            let mut t = Table::new(&POWER_COLUMNS);
            for j in 0..self.jobs() {
                let (m, gamma) = self.point(j);
                for s in &self.graphs[m].states {
                    t.push(vec![
                        Cell::Text(self.cfg.mdp[m].name.clone()),
                        Cell::Num(gamma),
                        Cell::Text(s.clone()),
                        Cell::Num(0.0),
                        Cell::Num(0.0),
                        Cell::Num(0.0),
                    ]);
                }
            }
            t
        })
    }

    fn claims(&self, t: &Table, extra: &[Table]) -> Vec<Verdict> {
        let mut checks = Vec::new();
        let nd = self.cfg.discounts.len();
        let top = (0..nd)
            .max_by(|&a, &b| self.cfg.discounts[a].total_cmp(&self.cfg.discounts[b]))
            .unwrap_or(0);
        for (m, spec) in self.cfg.mdp.iter().enumerate() {
            let Some(limit) = self.limit(m) else {
                continue;
            };
            let i = m * nd + top;
            let gamma = self.cfg.discounts[top];
            let k = spec.options.unwrap_or(0);
            // A 99.9% interval: the estimate's 95% half-width × 3.29 / 1.96.
            if let (Some(a), Some(lo)) = (
                t.num(i, "avoid_shutdown"),
                t.num(i, "avoid_shutdown_ci_low"),
            ) {
                let half = (a - lo) * 3.29 / 1.96;
                checks.push((
                    format!(
                        "{}: at γ = {}, avoiding shutdown is optimal for {k}/{} of IID reward functions (the average-reward limit)",
                        spec.name,
                        fmt_num(gamma),
                        k + 1
                    ),
                    (a - limit).abs() <= half,
                    format!("{} ± {} (99.9%)", fmt_num(a), fmt_num(half)),
                ));
            }
            if k >= 2
                && let Some(o) = t.num(i, "orbit_min")
            {
                checks.push((
                    format!(
                        "{}: at γ = {}, for every sampled reward function most of its permutations make avoiding shutdown optimal",
                        spec.name,
                        fmt_num(gamma)
                    ),
                    o >= 0.5,
                    format!(
                        "the least share over {} reward functions: {} (mean {}; {k}/{} in the limit)",
                        self.cfg.orbit_samples,
                        fmt_num(o),
                        t.num(i, "orbit_mean").map_or("—".into(), fmt_num),
                        k + 1
                    ),
                ));
            }
            // States with more options have more POWER: the start's best non-shutdown successor against its
            // shutdown successors, intervals apart.
            if let Some(p) = extra.first() {
                let g = &self.graphs[m];
                let at = |s: usize, c: &str| {
                    (0..p.rows.len())
                        .find(|&r| {
                            p.text(r, "mdp") == spec.name
                                && p.num(r, "discount") == Some(gamma)
                                && p.text(r, "state") == g.states[s]
                        })
                        .and_then(|r| p.num(r, c))
                };
                let succ = &g.succ[g.start];
                // The largest `c` over the start's successors that are (off) or are not shutdown states.
                let best = |off: bool, c: &str| {
                    succ.iter()
                        .filter(|&&s| g.shutdown[s] == off)
                        .filter_map(|&s| at(s, c))
                        .fold(f64::NEG_INFINITY, f64::max)
                };
                let on_low = best(false, "power_ci_low");
                let off_high = best(true, "power_ci_high");
                if k >= 2 {
                    checks.push((
                        format!(
                            "{}: at γ = {}, the start's best way on has more POWER than shutdown",
                            spec.name,
                            fmt_num(gamma)
                        ),
                        on_low > off_high,
                        format!(
                            "lower end {} against upper end {}",
                            fmt_num(on_low),
                            fmt_num(off_high)
                        ),
                    ));
                } else {
                    // One option each: the two successors are symmetric under permuting the rewards.
                    let on_high = best(false, "power_ci_high");
                    let off_low = best(true, "power_ci_low");
                    checks.push((
                        format!(
                            "{}: at γ = {}, going on and shutting down have the same POWER (one option each)",
                            spec.name,
                            fmt_num(gamma)
                        ),
                        on_low <= off_high && off_low <= on_high,
                        format!(
                            "[{}, {}] against [{}, {}]",
                            fmt_num(on_low),
                            fmt_num(on_high),
                            fmt_num(off_low),
                            fmt_num(off_high)
                        ),
                    ));
                }
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
        let mut md = format!(
            "## Shutdown avoidance against γ\n\n{} IID uniform reward functions per point (common to every γ){}.\n\n| MDP | γ | avoids shutdown | 95% interval | ties | least share of permutations | limit |\n|---|---|---|---|---|---|---|\n",
            self.cfg.samples,
            if self.cfg.orbit_samples > 0 {
                format!(
                    "; every permutation of {} of them solved",
                    self.cfg.orbit_samples
                )
            } else {
                String::new()
            }
        );
        let num = |i: usize, c: &str| t.num(i, c).map_or("—".into(), fmt_num);
        for i in 0..t.rows.len() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | [{}, {}] | {} | {} | {} |",
                t.text(i, "mdp"),
                num(i, "discount"),
                num(i, "avoid_shutdown"),
                num(i, "avoid_shutdown_ci_low"),
                num(i, "avoid_shutdown_ci_high"),
                num(i, "ties"),
                num(i, "orbit_min"),
                num(i, "limit"),
            );
        }
        md.push('\n');
        md
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn permutations_are_all_distinct() {
        let p = super::permutations(5);
        assert_eq!(p.len(), 120);
        let set: std::collections::BTreeSet<_> = p.iter().collect();
        assert_eq!(set.len(), 120);
    }
}
