//! Population benchmark (issue 19): environments per second per family and agent, on one thread, and how the cost
//! grows with T, |Θ| and the grid's size. Also writes `target/bench/chains.json` — chains with `cirl`'s Bayes
//! values and incentives — for the NumPy reference `benches/reference/chain_numpy.py` to recompute side by side.
//! Run: `cargo bench --bench population` (or `bash benches/run.sh population`).

use std::hint::black_box;
use std::time::Instant;

use cirl::human::Human;
use cirl::model::assist::{self, Layout};
use cirl::model::chain::{Family, Noise};
use cirl::model::dials::Dials;
use cirl::rng::{derive_seed, job_rng};
use cirl::sim::chain::rollout;
use cirl::solvers::assist as assist_solver;
use cirl::solvers::chain::{Agent, Histories};
use rand::RngExt;

/// Runs `f` on environments 0, 1, … for at least `secs` seconds (and at least `min` environments); env/s.
fn rate(secs: f64, min: usize, mut f: impl FnMut(usize)) -> f64 {
    let t = Instant::now();
    let mut n = 0;
    while n < min || t.elapsed().as_secs_f64() < secs {
        f(n);
        n += 1;
    }
    n as f64 / t.elapsed().as_secs_f64()
}

/// The bench's dials (μ as given).
fn dials(mu: f64) -> Dials {
    Dials {
        mu,
        sigma: 1.0,
        spread: 0.5,
        irreversible: 0.3,
        undo_cost: 0.5,
        ask_cost: 0.05,
        presence: 0.8,
        human: Human::Boltzmann { beta: 0.5 },
        shift: 0.0,
        scale: 1.0,
    }
}

fn chain_family(steps: usize) -> Family {
    Family {
        steps,
        dials: dials(0.25),
    }
}

fn assist_family(layout: Layout, thetas: usize, steps: usize) -> assist::Family {
    assist::Family {
        layout,
        thetas,
        steps,
        dials: dials(0.0),
    }
}

fn seed(e: usize) -> u64 {
    derive_seed(19, 0x504f50, e as u64)
}

fn main() {
    let secs = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let agents = Agent::all(0.8);

    println!(
        "## The chain: environments per second on one thread (quadrature 24 panels × 8 points)\n"
    );
    println!(
        "| T | histories | Bayes (histories + backward pass) | each rival on the shared histories | all six agents, rollouts and checks |"
    );
    println!("|---|---|---|---|---|");
    for steps in [1, 2, 4, 6, 8, 10, 12] {
        let f = chain_family(steps);
        let draw = |e: usize| {
            let noise = Noise::draw(&mut job_rng(seed(e), 0));
            let (chain, theta) = f.realise(&noise);
            let belief = chain.belief(24, 8);
            (noise, chain, theta, belief)
        };
        let min = if steps >= 10 { 3 } else { 20 };
        let bayes = rate(secs, min, |e| {
            let (_, chain, _, belief) = draw(e);
            let h = Histories::new(&chain, &belief);
            black_box(h.solve(&chain, Agent::Bayes).value());
        });
        let (_, chain, _, belief) = draw(0);
        let h = Histories::new(&chain, &belief);
        let rival = rate(secs, min, |_| {
            black_box(h.solve(&chain, Agent::Myopic).value());
        });
        let all = rate(secs, min, |e| {
            let (noise, chain, theta, belief) = draw(e);
            let h = Histories::new(&chain, &belief);
            for a in agents {
                let t = h.solve(&chain, a);
                black_box(rollout(&chain, &t, theta, &noise));
            }
        });
        println!(
            "| {steps} | {} | {:.3e} | {:.3e} | {:.3e} |",
            (3usize.pow(steps as u32) - 1) / 2,
            bayes,
            rival,
            all
        );
    }

    println!(
        "\n## Assistance games: environments per second on one thread (all six agents exact, truth = a hypothesis)\n"
    );
    println!("| layout | K | T | histories (mean) | Bayes only | all six agents and rollouts |");
    println!("|---|---|---|---|---|---|");
    let layouts = [
        (
            "random 4 states × 3 actions",
            Layout::Random {
                states: 4,
                actions: 3,
            },
            vec![(6, 1), (6, 2), (6, 4), (6, 6), (2, 4), (12, 4), (24, 4)],
        ),
        (
            "random 8 states × 3 actions",
            Layout::Random {
                states: 8,
                actions: 3,
            },
            vec![(6, 4)],
        ),
        (
            "gridworld 3 × 3, 4 features",
            Layout::Grid {
                width: 3,
                height: 3,
                features: 4,
            },
            vec![(8, 4)],
        ),
        (
            "gridworld 4 × 4, 4 features",
            Layout::Grid {
                width: 4,
                height: 4,
                features: 4,
            },
            vec![(8, 2), (8, 4), (8, 6), (16, 4)],
        ),
        (
            "gridworld 6 × 6, 4 features",
            Layout::Grid {
                width: 6,
                height: 6,
                features: 4,
            },
            vec![(8, 4)],
        ),
    ];
    for (name, layout, runs) in layouts {
        for (k, steps) in runs {
            let f = assist_family(layout, k, steps);
            let uniforms = |e: usize| -> Vec<f64> {
                let mut r = job_rng(seed(e), 3);
                (0..3 * steps).map(|_| r.random()).collect()
            };
            let mut nodes = 0usize;
            let mut count = 0usize;
            let min = 5;
            let bayes = rate(secs, min, |e| {
                let (g, truth) = f.realise(seed(e));
                let (sc, _) =
                    assist_solver::solve(&g, &[Agent::Bayes], &truth, &uniforms(e), 200_000);
                nodes += sc.solution.histories;
                count += 1;
                black_box(sc.agents[0].value);
            });
            let all = rate(secs, min, |e| {
                let (g, truth) = f.realise(seed(e));
                black_box(assist_solver::solve(
                    &g,
                    &agents,
                    &truth,
                    &uniforms(e),
                    200_000,
                ));
            });
            println!(
                "| {name} | {k} | {steps} | {} | {:.3e} | {:.3e} |",
                nodes / count.max(1),
                bayes,
                all
            );
        }
    }

    // Chains for the NumPy reference: T = 4, the bench's family, 200 environments, with cirl's values.
    let f = chain_family(4);
    let mut rows = Vec::new();
    let t = Instant::now();
    for e in 0..200 {
        let noise = Noise::draw(&mut job_rng(seed(e), 0));
        let (chain, _) = f.realise(&noise);
        let belief = chain.belief(24, 8);
        let tree = Histories::new(&chain, &belief).solve(&chain, Agent::Bayes);
        rows.push(serde_json::json!({
            "offsets": chain.steps.iter().map(|s| s.offset).collect::<Vec<_>>(),
            "irreversible": chain.steps.iter().map(|s| s.irreversible).collect::<Vec<_>>(),
            "mu": chain.mu, "sigma": chain.sigma, "beta": 0.5, "ask_cost": chain.ask_cost,
            "undo_cost": chain.undo_cost, "presence": chain.presence,
            "value": tree.value(), "incentive": tree.incentive,
        }));
    }
    let cirl_seconds = t.elapsed().as_secs_f64();
    std::fs::create_dir_all("target/bench").expect("target/bench");
    std::fs::write(
        "target/bench/chains.json",
        serde_json::to_string(&serde_json::json!({"chains": rows, "cirl_seconds": cirl_seconds}))
            .expect("JSON"),
    )
    .expect("write target/bench/chains.json");
    println!(
        "\n(target/bench/chains.json: 200 chains at T = 4, cirl's Bayes solve {:.3e} environments/s on one thread)",
        200.0 / cirl_seconds
    );
}
