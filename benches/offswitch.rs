//! Off-switch benchmark (issue 2): the 10⁶-point (μ, σ, β) Boltzmann grid, and Monte Carlo throughput.
//!
//! Run: `cargo bench --bench offswitch` (then `bash benches/run.sh` for the side-by-side comparison with the
//! SciPy and NumPy references). Writes target/bench/grid_sample.csv: a deterministic sample of the grid with
//! cirl's values, which the Python references compare against (accuracy) and time themselves on.

use std::hint::black_box;
use std::io::Write;
use std::time::Instant;

use cirl::belief::Prior;
use cirl::human::Human;
use cirl::offswitch::{self, moments, normal_reference};
use rayon::prelude::*;

/// The grid: μ ∈ [−2, 2], σ ∈ [0.05, 2], β ∈ [0.05, 2], 100 values each (10⁶ points).
pub fn grid(n: usize) -> Vec<(f64, f64, f64)> {
    let lin = |a: f64, b: f64, i: usize| a + (b - a) * i as f64 / (n - 1) as f64;
    let mut g = Vec::with_capacity(n * n * n);
    for i in 0..n {
        for j in 0..n {
            for k in 0..n {
                g.push((lin(-2.0, 2.0, i), lin(0.05, 2.0, j), lin(0.05, 2.0, k)));
            }
        }
    }
    g
}

fn delta(mu: f64, sigma: f64, beta: f64) -> f64 {
    let m = moments(&Prior::Normal { mu, sigma }, &Human::Boltzmann { beta });
    m.e_u_pi.min(-m.e_u_not_pi)
}

fn best_of<F: FnMut() -> f64>(reps: usize, mut f: F) -> f64 {
    (0..reps).map(|_| f()).fold(f64::INFINITY, f64::min)
}

fn main() {
    let g = grid(100);
    let n = g.len();
    // Warm the cached rules.
    black_box(delta(0.1, 1.0, 0.5));

    let serial = best_of(3, || {
        let t = Instant::now();
        let s: f64 = g.iter().map(|&(m, s, b)| delta(m, s, b)).sum();
        black_box(s);
        t.elapsed().as_secs_f64()
    });
    let parallel = best_of(3, || {
        let t = Instant::now();
        let s: f64 = g.par_iter().map(|&(m, s, b)| delta(m, s, b)).sum();
        black_box(s);
        t.elapsed().as_secs_f64()
    });
    // The smooth half (sigma <= beta), where NumPy's Gauss-Hermite reaches 1e-9, timed on its own.
    let smooth: Vec<(f64, f64, f64)> = g.iter().copied().filter(|p| p.1 <= p.2).collect();
    let smooth_serial = best_of(3, || {
        let t = Instant::now();
        let s: f64 = smooth.iter().map(|&(m, s, b)| delta(m, s, b)).sum();
        black_box(s);
        t.elapsed().as_secs_f64()
    });
    let smooth_parallel = best_of(3, || {
        let t = Instant::now();
        let s: f64 = smooth.par_iter().map(|&(m, s, b)| delta(m, s, b)).sum();
        black_box(s);
        t.elapsed().as_secs_f64()
    });
    println!("grid: {n} points (mu, sigma, beta), Boltzmann human, normal belief");
    println!(
        "  cirl 1 thread, smooth part (sigma <= beta, {} points): {:.1} ns/point",
        smooth.len(),
        smooth_serial / smooth.len() as f64 * 1e9
    );
    println!(
        "  cirl 1 thread : {:.3} s  = {:.1} ns/point",
        serial,
        serial / n as f64 * 1e9
    );
    println!(
        "  cirl {} threads: {:.3} s  = {:.1} ns/point",
        rayon::current_num_threads(),
        parallel,
        parallel / n as f64 * 1e9
    );

    // Accuracy on a deterministic sample (every 499th point) against adaptive quadrature at 1e-13.
    let sample: Vec<(f64, f64, f64)> = g.iter().copied().step_by(499).collect();
    let rows: Vec<(f64, f64, f64, f64, f64, f64, f64)> = sample
        .par_iter()
        .map(|&(mu, sigma, beta)| {
            let m = moments(&Prior::Normal { mu, sigma }, &Human::Boltzmann { beta });
            let scale = sigma.max(mu.abs());
            let (rp, ru) = normal_reference(mu, sigma, &Human::Boltzmann { beta }, 1e-13 * scale);
            let err = ((m.e_u_pi - ru).abs() / scale).max((m.e_pi - rp).abs());
            (
                mu,
                sigma,
                beta,
                m.e_pi,
                m.e_u_pi,
                delta(mu, sigma, beta),
                err,
            )
        })
        .collect();
    let worst = rows.iter().map(|r| r.6).fold(0.0, f64::max);
    println!(
        "  accuracy: max error {worst:.2e} (relative to max(sigma, |mu|)) on {} sampled points vs adaptive quadrature",
        rows.len()
    );
    std::fs::create_dir_all("target/bench").unwrap();
    let mut f = std::fs::File::create("target/bench/grid_sample.csv").unwrap();
    writeln!(f, "mu,sigma,beta,e_pi,e_u_pi,delta").unwrap();
    for r in &rows {
        writeln!(
            f,
            "{:?},{:?},{:?},{:?},{:?},{:?}",
            r.0, r.1, r.2, r.3, r.4, r.5
        )
        .unwrap();
    }

    // Monte Carlo throughput: sampled games per second, on all cores.
    let prior = Prior::normal(0.1, 1.0).unwrap();
    let human = Human::Boltzmann { beta: 0.5 };
    let games: u64 = 200_000_000;
    let t = best_of(2, || {
        let t = Instant::now();
        black_box(offswitch::monte_carlo_par(&prior, &human, 0.0, games, 1));
        t.elapsed().as_secs_f64()
    });
    println!(
        "monte carlo: {games} games in {t:.3} s = {:.3e} games/s on {} threads",
        games as f64 / t,
        rayon::current_num_threads()
    );
    let mut f = std::fs::File::create("target/bench/rust.json").unwrap();
    writeln!(
        f,
        "{{\"points\": {n}, \"smooth_serial_ns_per_point\": {}, \"smooth_parallel_ns_per_point\": {}, \"serial_ns_per_point\": {}, \"parallel_ns_per_point\": {}, \"threads\": {}, \"max_error\": {worst}, \"mc_games_per_s\": {}}}",
        smooth_serial / smooth.len() as f64 * 1e9,
        smooth_parallel / smooth.len() as f64 * 1e9,
        serial / n as f64 * 1e9,
        parallel / n as f64 * 1e9,
        rayon::current_num_threads(),
        games as f64 / t
    )
    .unwrap();
}
