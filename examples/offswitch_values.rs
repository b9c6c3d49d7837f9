//! One off-switch game's values from the library: a robot believes its action's utility U ~ N(0.25, 1) and
//! asks a Boltzmann-rational human. As the human gets noisier (β up), the incentive to defer Δ shrinks and
//! finally the robot should act on its own (HM 2017, Theorem 3). `cargo run --example offswitch_values`.

use cirl::{belief::Prior, human::Human, offswitch};

fn main() -> cirl::Result<()> {
    let prior = Prior::parse("normal:0.25,1")?;
    println!("U ~ N(0.25, 1), no cost of asking");
    println!(
        "{:>6}  {:>9}  {:>9}  {:>9}  decision",
        "β", "v_act", "v_wait", "Δ"
    );
    let mut last = f64::INFINITY;
    for beta in [0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0] {
        let human = Human::parse(&format!("boltzmann:{beta}"))?;
        let v = offswitch::values(&prior, &human, 0.0)?;
        println!(
            "{beta:>6}  {:>9.5}  {:>9.5}  {:>9.5}  {:?}",
            v.v_act, v.v_wait, v.delta, v.decision
        );
        assert!(v.delta <= last + 1e-12, "Δ grows with the human's noise");
        last = v.delta;
    }
    // A rational human: deferring is never worse (Theorem 1).
    let rational = offswitch::values(&prior, &Human::parse("rational")?, 0.0)?;
    assert!(rational.delta > 0.0);
    Ok(())
}
