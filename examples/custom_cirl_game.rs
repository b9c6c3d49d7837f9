//! A tabular CIRL game built in code and solved exactly: the human knows whether θ = tea or coffee (even odds);
//! the robot does not. In each of two rounds the human may point at a drink (cost 0.05) and the robot may make
//! one (+1 if it is the liked drink, −1 if not) or wait. Acting blind is worth 0 a round. The optimal joint
//! policy is a code the two agree on, which CIRL's coordinated human allows: the human points only when θ = tea
//! (silence means coffee), so in round 2 the robot makes the right drink for half the pointing cost — worth
//! 1 − 0.05/2 = 0.975 (making coffee in round 1 instead of waiting is worth the same: +1 or −1 at even odds).
//! `cargo run --example custom_cirl_game`.

use cirl::games::Model;
use cirl::model::cirl::{CirlGame, Human, Timing};
use cirl::solve::{self, Request, Solver};

fn main() -> cirl::Result<()> {
    let (human, robot) = (
        ["nothing", "point-tea", "point-coffee"],
        ["wait", "make-tea", "make-coffee"],
    );
    // R[θ][s][aH][aR]: the drink's value to θ, less what pointing costs the human.
    let r = (0..2)
        .map(|theta| {
            vec![
                (0..3)
                    .map(|h| {
                        (0..3)
                            .map(|a| {
                                let drink = match a {
                                    0 => 0.0,
                                    a if a - 1 == theta => 1.0,
                                    _ => -1.0,
                                };
                                drink - if h > 0 { 0.05 } else { 0.0 }
                            })
                            .collect()
                    })
                    .collect(),
            ]
        })
        .collect();
    let game = CirlGame {
        name: "tea-or-coffee".into(),
        states: vec!["kitchen".into()],
        human_actions: human.map(String::from).to_vec(),
        robot_actions: robot.map(String::from).to_vec(),
        thetas: vec!["tea".into(), "coffee".into()],
        t: vec![vec![vec![vec![1.0]; 3]; 3]], // one state: T[s][aH][aR][s'] = 1
        r,
        prior: vec![0.5, 0.5],
        initial_state: vec![1.0],
        discount: 1.0,
        horizon: Some(2),
        timing: Timing::Simultaneous,
        human: Human::Coordinated,
    };
    game.check()?;
    let model = Model::Cirl(game);
    let report = solve::run(
        &model,
        &Request {
            solver: Solver::Exact,
            simulate: Some(1000),
            ..Request::default()
        },
    )?;
    println!(
        "{}: value {:.4} by {} (first move: {})",
        report.model, report.value, report.method, report.initial_action
    );
    if let Some(s) = &report.simulation {
        println!(
            "simulated over {} episodes: {:.4} ± {:.4}",
            s.episodes, s.estimate.mean, s.estimate.std_err
        );
    }
    assert!(
        (report.value - 0.975).abs() < 1e-9,
        "the value is 0.975, not {}",
        report.value
    );
    Ok(())
}
