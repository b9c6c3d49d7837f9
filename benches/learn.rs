//! Learning benchmark (issue 6): gridworld environment steps per second, tabular learning steps per second, and
//! MaxEnt-IRL iterations (one soft value iteration + forward pass + gradient) per second.
//! Run: `cargo bench --bench learn`.

use std::hint::black_box;
use std::time::Instant;

use cirl::games::apprenticeship::{Apprenticeship, instance};
use cirl::games::gridworld::{Grid, World};
use cirl::learn::irl::maxent_irl;
use cirl::learn::{Learner, Schedule, train};
use cirl::rng::job_rng;
use rand::RngExt;

fn main() {
    println!("| what | setting | rate |");
    println!("|---|---|---|");
    for world in [World::OffSwitch(1), World::AbsentSupervisor] {
        let g = Grid::new(world);
        let mut rng = job_rng(1, 0);
        let t = Instant::now();
        let mut steps = 0u64;
        while t.elapsed().as_secs_f64() < 1.0 {
            let mut e = g.reset(rng.random::<f64>() < 0.5);
            while !e.done {
                g.step(&mut e, rng.random_range(0..4));
                steps += 1;
            }
            black_box(e.ret);
        }
        println!(
            "| environment steps (random actions) | {world:?} | {:.3e} steps/s |",
            steps as f64 / t.elapsed().as_secs_f64()
        );
    }
    let g = Grid::new(World::OffSwitch(1));
    let s = Schedule {
        episodes: 3000,
        alpha: 0.1,
        gamma: 0.99,
        epsilon_start: 1.0,
        epsilon_end: 0.05,
        decay: 0.8,
    };
    for learner in [Learner::QLearning, Learner::Sarsa, Learner::SafeSarsa] {
        let t = Instant::now();
        let mut steps = 0usize;
        let mut k = 0;
        while t.elapsed().as_secs_f64() < 1.0 {
            let tr = train(&g, learner, &s, &mut job_rng(2, k));
            k += 1;
            steps += tr.steps;
        }
        println!(
            "| learning steps (ε-greedy action, environment step, update) | {}, off-switch level 1, 3000 episodes per agent | {:.3e} steps/s ({} agents/s, one thread) |",
            learner.name(),
            steps as f64 / t.elapsed().as_secs_f64(),
            (k as f64 / t.elapsed().as_secs_f64()).round()
        );
    }
    for (size, horizon, k) in [(10, 20, 3), (10, 20, 10), (10, 40, 10), (20, 40, 10)] {
        let cfg = Apprenticeship {
            size,
            features: vec![k],
            width: 2.0,
            horizon,
            eta: 0.3,
            candidates: 100,
            instances: 2,
        };
        let inst = instance(&cfg, k, 3, 0);
        let t = Instant::now();
        let mut n = 0;
        while t.elapsed().as_secs_f64() < 1.0 {
            black_box(inst.mdp.soft(&inst.theta));
            n += 1;
        }
        let per = t.elapsed().as_secs_f64() / n as f64;
        let demo = inst.mdp.optimal_path(&inst.theta);
        let t = Instant::now();
        let (_, iters) = maxent_irl(&inst.mdp, &inst.mdp.features(&demo), 1.0, 1.0 / 3.0, 200);
        let fit = t.elapsed().as_secs_f64();
        println!(
            "| MaxEnt IRL | {size}×{size} grid, horizon {horizon} (phase {}), N_φ = {k} | {:.0} soft-VI iterations/s; one fit: {iters} BFGS steps in {:.2} ms |",
            horizon / 2,
            1.0 / per,
            fit * 1e3
        );
    }
}
