//! Calibrating an escalation scenario from Rust: the coding agent of experiments/scenarios/ becomes a card —
//! per tool class the move the deployed policy makes (act, ask, block, hand over) and why — and the rival rules
//! it is priced against. `cargo run --release --example calibrate_scenario`.

use cirl::escalation::{self, scenario::Scenario};

fn main() -> cirl::Result<()> {
    let text = include_str!("../experiments/scenarios/coding-agent.toml");
    let scenario = Scenario::parse(text, "coding-agent.toml")?;
    let card = escalation::calibrate(
        &scenario,
        &escalation::Options {
            mc_actions: 100_000, // the Monte Carlo check of the closed forms
            seed: 0,
        },
    )?;
    println!("{} ({})", card.scenario, card.units);
    println!(
        "deployed: {} (per action), {} (static rules)",
        card.deployed.per_action, card.deployed.static_rules
    );
    for c in &card.classes {
        println!(
            "  {:<24} share {:>6.3}  {:<6} {:?}",
            c.name, c.share, c.decision, c.mv
        );
    }
    println!("rival rules, expected utility per action:");
    let best = card
        .policies
        .iter()
        .map(|p| p.expected_utility)
        .fold(f64::NEG_INFINITY, f64::max);
    for p in &card.policies {
        println!(
            "  {:<28} {:>9.4}  regret {:.4}",
            p.name, p.expected_utility, p.regret
        );
    }
    let vod = card
        .policies
        .iter()
        .find(|p| p.name == "value-of-deferring")
        .expect("always priced");
    assert!(
        vod.expected_utility >= best - 1e-9,
        "the value-of-deferring policy is the best rule"
    );
    Ok(())
}
