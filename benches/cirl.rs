//! CIRL engine benchmark (issue 3).
//!
//! 1. One backup of the naive coordinator backup (every decision rule Θ → A^H enumerated) against the generalized
//!    backup of Malik et al. 2018, on random coordinated games with |A^H| = 4, |A^R| = 2, |S| = 2 and
//!    |Θ| = 2..8, from the same one-decision value function; both must give the same value function (checked at
//!    the prior and at random beliefs). Where the tabular coordinator POMDP can be built, exact VI's backup on it
//!    is timed too.
//! 2. A scaling table of the exact (generalized) solver and PBVI (on the reduction) versus |S|, |Θ| and the
//!    horizon.
//!
//! Run: `cargo bench --bench cirl` (prints markdown tables; writes target/bench/cirl.json). `bash benches/run.sh
//! cirl` adds the pomdp_py comparison.

use std::io::Write;
use std::time::Instant;

use cirl::model::cirl::{CirlGame, random_game};
use cirl::rng::job_rng;
use cirl::solvers::generalized::{self, Stage};
use cirl::solvers::{AlphaSet, exact, pbvi};
use rand::RngExt;
use serde_json::json;

/// Time `f` once, and again until at least `min_total` seconds have passed (at most `max_reps` runs); returns the
/// fastest run.
fn time<T>(min_total: f64, max_reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let start = Instant::now();
    let mut best = f64::INFINITY;
    let mut out;
    let mut reps = 0;
    loop {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed().as_secs_f64());
        reps += 1;
        if start.elapsed().as_secs_f64() >= min_total || reps >= max_reps {
            return (best, out);
        }
    }
}

fn game(ns: usize, nh: usize, nt: usize, horizon: usize, seed: u64) -> CirlGame {
    let mut g = random_game(ns, nh, 2, nt, 0.95, horizon, &mut job_rng(seed, nt as u64));
    // Start anywhere, so every state's set is computed at every stage.
    g.initial_state = vec![1.0 / ns as f64; ns];
    g
}

/// Largest difference between two stages' values over the prior and 200 random beliefs, in every state.
fn max_diff(a: &Stage, b: &Stage, prior: &[f64], seed: u64) -> f64 {
    let mut rng = job_rng(seed, 99);
    let nt = prior.len();
    let mut beliefs = vec![prior.to_vec()];
    for _ in 0..200 {
        let w: Vec<f64> = (0..nt).map(|_| -(1.0 - rng.random::<f64>()).ln()).collect();
        let z: f64 = w.iter().sum();
        beliefs.push(w.into_iter().map(|x| x / z).collect());
    }
    let mut d = 0.0f64;
    for s in 0..a.sets.len() {
        for bel in &beliefs {
            d = d.max((a.value(s, bel) - b.value(s, bel)).abs());
        }
    }
    d
}

fn main() {
    let eps = 1e-9;
    let mut rows = Vec::new();
    println!("## Naive coordinator backup vs generalized backup (|S| = 2, |A^R| = 2, |A^H| = 4)\n");
    println!(
        "| \\|Θ\\| | decision rules per a^R | naive backup | exact VI backup on the coordinator POMDP | generalized backup | speed-up (naive / generalized) | vectors | max \\|ΔV\\| |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for nt in 2..=8usize {
        let g = game(2, 4, nt, 1, 2018);
        let one = generalized::solve(&g, 1e-9).expect("solvable");
        let next = &one.stages[0];
        let active = vec![true; g.states.len()];
        let (t_gen, gen_stage) = time(1.0, 1000, || {
            generalized::backup(&g, next, &active, eps).expect("backup")
        });
        let (t_naive, naive_stage) = time(0.0, 1, || {
            generalized::coordinator_backup(&g, next, &active, eps).expect("backup")
        });
        let diff = max_diff(&naive_stage, &gen_stage, &g.prior, nt as u64);
        // Exact VI's backup on the materialised coordinator POMDP, from the same one-decision value function.
        let pomdp = if nt <= 5 {
            let m = g.to_pomdp().expect("reduction");
            let mut g1 = g.clone();
            g1.horizon = Some(1);
            let m1 = g1.to_pomdp().expect("reduction");
            let v = exact::solve(
                &m1,
                &exact::ExactOptions {
                    reachable_only: false,
                    ..Default::default()
                },
            )
            .expect("solve")
            .alphas;
            let (t, _): (f64, AlphaSet) =
                time(0.5, 100, || exact::backup(&m, &v, eps).expect("backup"));
            Some(t)
        } else {
            None
        };
        let speedup = t_naive / t_gen;
        println!(
            "| {nt} | {} | {} | {} | {} | {:.0}× | {} | {:.1e} |",
            4usize.pow(nt as u32),
            fmt_s(t_naive),
            pomdp.map_or("— (not built)".into(), fmt_s),
            fmt_s(t_gen),
            speedup,
            gen_stage.total(),
            diff
        );
        rows.push(
            json!({"thetas": nt, "rules": 4usize.pow(nt as u32), "naive_s": t_naive,
            "pomdp_backup_s": pomdp, "generalized_s": t_gen, "speedup": speedup,
            "vectors": gen_stage.total(), "max_diff": diff}),
        );
    }

    println!("\n## Scaling: exact (generalized backup) and PBVI (200 beliefs, on the reduction)\n");
    println!(
        "| \\|S\\| | \\|Θ\\| | horizon | coordinator POMDP (states × actions) | exact value | exact time | vectors (first stage) | PBVI lower | PBVI upper | PBVI time |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut scaling = Vec::new();
    let cases: Vec<(usize, usize, usize)> = vec![
        (2, 2, 3),
        (4, 2, 3),
        (8, 2, 3),
        (16, 2, 3),
        (4, 3, 3),
        (4, 4, 3),
        (4, 5, 3),
        (4, 4, 2),
        (4, 6, 2),
        (4, 8, 2),
        (4, 2, 2),
        (4, 2, 4),
        (4, 2, 6),
        (4, 2, 8),
        (4, 2, 10),
    ];
    for (ns, nt, h) in cases {
        let mut g = random_game(
            ns,
            2,
            2,
            nt,
            0.95,
            h,
            &mut job_rng(7, (ns * 100 + nt * 10 + h) as u64),
        );
        g.initial_state = vec![0.0; ns];
        g.initial_state[0] = 1.0;
        let (t_ex, sol) = time(0.5, 20, || generalized::solve(&g, 1e-9).expect("solve"));
        let size = g.reduction_size();
        let pb = g.to_pomdp().ok().map(|m| {
            time(0.0, 1, || {
                pbvi::solve(
                    &m,
                    &pbvi::PbviOptions {
                        max_beliefs: 200,
                        // What BENCHMARKS.md measured (the defaults before they became `cirl solve`'s).
                        tolerance: 1e-3,
                        seed: 1,
                        ..Default::default()
                    },
                )
                .expect("pbvi")
            })
        });
        let (lo, up, tp) = match &pb {
            Some((t, p)) => (
                format!("{:.6}", p.lower),
                format!("{:.6}", p.upper),
                fmt_s(*t),
            ),
            None => ("—".into(), "—".into(), "—".into()),
        };
        println!(
            "| {ns} | {nt} | {h} | {} × {} | {:.6} | {} | {} | {lo} | {up} | {tp} |",
            size.states,
            size.actions,
            sol.value,
            fmt_s(t_ex),
            sol.stages[0].total()
        );
        scaling.push(
            json!({"states": ns, "thetas": nt, "horizon": h, "exact_value": sol.value,
            "exact_s": t_ex, "vectors": sol.stages[0].total(),
            "pbvi": pb.map(|(t, p)| json!({"lower": p.lower, "upper": p.upper, "seconds": t}))}),
        );
    }
    std::fs::create_dir_all("target/bench").expect("target/bench");
    let mut f = std::fs::File::create("target/bench/cirl.json").expect("write");
    writeln!(
        f,
        "{}",
        json!({"backup": rows, "scaling": scaling, "threads": rayon::current_num_threads()})
    )
    .expect("write");
}

fn fmt_s(t: f64) -> String {
    if t >= 1.0 {
        format!("{t:.2} s")
    } else if t >= 1e-3 {
        format!("{:.2} ms", t * 1e3)
    } else {
        format!("{:.1} µs", t * 1e6)
    }
}
