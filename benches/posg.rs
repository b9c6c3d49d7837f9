//! PO-OSG solver scaling (issue 5): exact enumeration against local search as the assistant's observations grow.
//!
//! Random games (seeded): 2 states per assistant observation, 4 human observations, integer payoffs in [−6, 6],
//! no cheap talk; then with messages. Run: `cargo bench --bench posg`.

use std::time::Instant;

use cirl::offswitch::posg::{HumanKind, Posg};
use cirl::rng::job_rng;
use cirl::solvers::posg;
use rand::RngExt;

fn game(na: usize, nh: usize, mh: usize, ma: usize, seed: u64) -> Posg {
    let mut rng = job_rng(seed, na as u64);
    let n = 2 * na;
    let w: Vec<f64> = (0..n).map(|_| rng.random_range(1..6) as f64).collect();
    let z: f64 = w.iter().sum();
    Posg {
        name: format!("random-{na}"),
        human: HumanKind::Optimal,
        messages_h: mh,
        messages_a: ma,
        p: w.iter().map(|x| x / z).collect(),
        u_act: (0..n).map(|_| rng.random_range(-6..7) as f64).collect(),
        u_off: vec![0.0; n],
        obs_h: (0..n).map(|i| i % nh).collect(),
        obs_a: (0..n).map(|i| i / 2).collect(),
        obs_h_labels: (0..nh).map(|i| format!("h{i}")).collect(),
        obs_a_labels: (0..na).map(|i| format!("a{i}")).collect(),
        moves: cirl::offswitch::posg::CLASSIC_MOVES.to_vec(),
        beta: 0.0,
    }
}

fn fmt(t: f64) -> String {
    if t >= 1.0 {
        format!("{t:.2} s")
    } else if t >= 1e-3 {
        format!("{:.2} ms", t * 1e3)
    } else {
        format!("{:.1} µs", t * 1e6)
    }
}

fn main() {
    println!(
        "| \\|O^A\\| | messages (H × A) | assistant policies | exact | exact value | local search (64 restarts) | local-search value |"
    );
    println!("|---|---|---|---|---|---|---|");
    let cases: Vec<(usize, usize, usize)> = (2..=15)
        .map(|na| (na, 1, 1))
        .chain((2..=7).map(|na| (na, 2, 2)))
        .collect();
    for (na, mh, ma) in cases {
        let g = game(na, 4, mh, ma, 2025);
        let n_pol = posg::assistant_policies(&g);
        let t = Instant::now();
        let ls = posg::local_search(&g, 64, 7).expect("local search");
        let t_ls = t.elapsed().as_secs_f64();
        let (t_ex, v_ex) = if n_pol <= posg::MAX_ASSISTANT_POLICIES {
            let t = Instant::now();
            let s = posg::solve(&g).expect("exact");
            (fmt(t.elapsed().as_secs_f64()), format!("{:.6}", s.value))
        } else {
            ("— (over the limit)".into(), "—".into())
        };
        println!(
            "| {na} | {mh} × {ma} | {n_pol:.3e} | {t_ex} | {v_ex} | {} | {:.6} |",
            fmt(t_ls),
            ls.value
        );
    }
}
