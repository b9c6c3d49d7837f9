//! Text renderings of the library's report types, and `--json` (serde of the same types).

use std::fmt::Write;
use std::path::Path;

use cirl::error::{Error, Result};
use cirl::experiment::{self, table::fmt_num};
use serde::Serialize;

/// Prints a report as pretty JSON, fields in their declared order.
pub(crate) fn json<T: Serialize>(r: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(r).expect("serializable"));
    Ok(())
}

/// Prints a report as pretty JSON with every object's keys sorted (the order `cirl offswitch` and `cirl posg`
/// have always printed).
pub(crate) fn json_sorted<T: Serialize>(r: &T) -> Result<()> {
    json(&serde_json::to_value(r).expect("serializable"))
}

/// `cirl solve`'s text report.
pub(crate) fn solve(r: &cirl::solve::Report, policy: Option<&Path>) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "model    {}", r.model);
    if let Some(g) = &r.game {
        let _ = writeln!(
            o,
            "game     {} states, {} human actions, {} robot actions, |Θ| = {}; reduction: {} states, {} actions, {} observations",
            g.states,
            g.human_actions,
            g.robot_actions,
            g.thetas,
            g.reduction.states,
            g.reduction.actions,
            g.reduction.observations
        );
    }
    if let (Some(s), Some(a), Some(ob)) = (r.pomdp_states, r.pomdp_actions, r.pomdp_observations) {
        let _ = writeln!(o, "pomdp    {s} states, {a} actions, {ob} observations");
    }
    let horizon = r.horizon.map_or("infinite".to_string(), |h| h.to_string());
    let _ = writeln!(o, "discount {}   horizon {horizon}", r.discount);
    let _ = writeln!(
        o,
        "solver   {}: {}; {} iterations, {} vectors, {:.3} s",
        r.solver, r.method, r.iterations, r.vectors, r.seconds
    );
    let first = if r.initial_action.is_empty() {
        String::new()
    } else {
        format!("   first action: {}", r.initial_action)
    };
    let _ = match (r.lower, r.upper) {
        (Some(lo), Some(up)) => {
            writeln!(o, "value    in [{}, {}]{first}", fmt_num(lo), fmt_num(up))
        }
        _ => writeln!(
            o,
            "value    {} (± {:.1e}){first}",
            fmt_num(r.value),
            r.error_bound
        ),
    };
    if let Some(a) = &r.anytime {
        let times: Vec<String> = [
            ("0.1", &a.gap_0_1),
            ("0.01", &a.gap_0_01),
            ("0.001", &a.gap_0_001),
        ]
        .iter()
        .map(|(g, p)| match p {
            Some(p) => format!("gap {g} at {:.3} s", p.seconds),
            None => format!("gap {g} not reached"),
        })
        .collect();
        let stop = match a.stop {
            cirl::solvers::sarsop::Stop::Precision => "the tolerance was reached",
            cirl::solvers::sarsop::Stop::Timeout => "--timeout ended it",
            cirl::solvers::sarsop::Stop::Trials => "its trial budget ended it",
            cirl::solvers::sarsop::Stop::Interrupted => "interrupted (Ctrl-C)",
        };
        let _ = writeln!(
            o,
            "search   {}; {} trials, {} beliefs, {} upper points, start bounds in {:.3} s; {stop}",
            times.join(", "),
            a.trials,
            a.beliefs,
            a.upper_points,
            a.init_seconds
        );
    }
    if let Some(s) = &r.simulation {
        let _ = writeln!(
            o,
            "simulated {} episodes × {} steps: {} [{}, {}]",
            s.episodes,
            s.steps,
            fmt_num(s.estimate.mean),
            fmt_num(s.estimate.ci_low),
            fmt_num(s.estimate.ci_high)
        );
    }
    if let Some(p) = policy {
        let _ = writeln!(o, "policy   {}", p.display());
    }
    o
}

/// `cirl offswitch`'s text report.
pub(crate) fn offswitch(r: &cirl::offswitch::report::Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "prior  {}", r.prior);
    let _ = writeln!(o, "human  {}", r.human);
    let _ = writeln!(o, "cost   {}", fmt_num(r.cost));
    let _ = writeln!(o);
    let _ = writeln!(o, "{:<10} {:>14}", "move", "value");
    let _ = writeln!(o, "{:<10} {:>14}", "act", fmt_num(r.v_act));
    let _ = writeln!(o, "{:<10} {:>14}", "wait", fmt_num(r.v_wait));
    let _ = writeln!(o, "{:<10} {:>14}", "off", fmt_num(r.v_off));
    let _ = writeln!(o);
    let _ = writeln!(o, "Δ = v_wait − max(v_act, v_off) = {}", fmt_num(r.delta));
    let tie = if r.tie {
        format!(
            " (tie within {}: {})",
            fmt_num(r.tie_tol),
            r.tied
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    let _ = writeln!(o, "decision: {}{tie}", r.decision.as_str());
    if let Some(a) = &r.prational
        && let Some(ps) = a.p_star
    {
        let _ = writeln!(
            o,
            "p-rational human: waiting is optimal iff p ≥ p* = {} (Wängberg et al. 2017, Theorem 9: p⁺ = {}, e⁺ = {}, e⁻ = {})",
            fmt_num(ps),
            fmt_num(a.theorem9.p_plus),
            fmt_num(a.theorem9.e_plus),
            fmt_num(a.theorem9.e_minus)
        );
    }
    let _ = writeln!(o, "P(human allows) = {}", fmt_num(r.p_allow));
    if let Some(t) = &r.theorem2 {
        let d = t
            .e_pi_dot
            .map_or("undefined (point mass at a jump)".into(), fmt_num);
        let _ = writeln!(
            o,
            "Theorem 2: E[πH] = {}, E[π̇H] = {d}, Pr(C) = {}",
            fmt_num(t.e_pi),
            fmt_num(t.pr_correction)
        );
    }
    let _ = writeln!(o, "method: {}", r.method);
    if let Some(m) = &r.monte_carlo {
        let _ = writeln!(o);
        let _ = writeln!(o, "Monte Carlo, {} games (95% intervals):", m.games);
        for (name, e) in [
            ("v_act", m.v_act),
            ("v_wait", m.v_wait),
            ("delta", m.delta),
            ("p_allow", m.p_allow),
        ] {
            let _ = writeln!(
                o,
                "  {name:<8} {} [{}, {}]",
                fmt_num(e.mean),
                fmt_num(e.ci_low),
                fmt_num(e.ci_high)
            );
        }
    }
    o
}

/// `cirl posg`'s text report.
pub(crate) fn posg(r: &cirl::solvers::posg::Report) -> String {
    let mut o = String::new();
    let (states, obs_h, obs_a) = r.sizes;
    let _ = writeln!(
        o,
        "game     {} ({states} states, {obs_h} human and {obs_a} assistant observations, messages {} × {})",
        r.game, r.messages_h, r.messages_a
    );
    let _ = writeln!(
        o,
        "method   {} ({} assistant policies, {:.3} s)",
        r.method, r.evaluated, r.seconds
    );
    let _ = writeln!(o, "value    {}", fmt_num(r.value));
    if let Some(v) = r.always_wait_value {
        let _ = writeln!(
            o,
            "         always waiting: {}; human knows the state: {}",
            fmt_num(v),
            fmt_num(r.full_information_value)
        );
    }
    let _ = match (r.optimal_pairs, r.p_wait_min, r.p_wait_max) {
        (Some(n), Some(lo), Some(hi)) => writeln!(
            o,
            "optimal  {n} pairs ({} assistant policies); P(wait) from {} to {} across them",
            r.optimal_assistant_policies.unwrap_or(0),
            fmt_num(lo),
            fmt_num(hi)
        ),
        _ => writeln!(o, "optimal  unknown (heuristic)"),
    };
    let _ = writeln!(
        o,
        "assistant (the most deferential optimal pair; P(wait) = {}):",
        fmt_num(r.p_wait)
    );
    for (k, v) in &r.assistant {
        let _ = writeln!(o, "  {k:<12} {}", compact(v));
    }
    let _ = writeln!(o, "human:");
    for (k, v) in &r.human {
        let _ = writeln!(o, "  {k:<12} {}", compact(v));
    }
    o
}

/// `cirl posg`'s text report for a game with observation interference or a Boltzmann human.
pub(crate) fn interference(
    g: &cirl::model::posg::Posg,
    s: &cirl::solvers::interference::Solution,
) -> String {
    let mut o = String::new();
    let moves: Vec<&str> = g.moves.iter().map(|m| m.name()).collect();
    let _ = writeln!(
        o,
        "game     {} ({} states; assistant moves {}; human {}; messages from the assistant {})",
        g.name,
        g.n_states(),
        moves.join(", "),
        g.human_name(),
        g.messages_a
    );
    let _ = writeln!(
        o,
        "method   exact: every deterministic assistant policy against the human's response ({} policies)",
        s.evaluated
    );
    let _ = writeln!(o, "value    {}", fmt_num(s.value));
    let _ = writeln!(
        o,
        "         never interfering: {}; human knows the state: {}",
        fmt_num(s.no_interference_value),
        fmt_num(s.full_information_value)
    );
    let _ = writeln!(
        o,
        "optimal  {} assistant policies; P(interfere) from {} to {}, P(wait) from {} to {} across them",
        s.optimal_assistant_policies,
        fmt_num(s.p_interfere_min),
        fmt_num(s.p_interfere_max),
        fmt_num(s.p_wait_min),
        fmt_num(s.p_wait_max)
    );
    let _ = writeln!(o, "assistant (the optimal policy that interferes least):");
    for r in &s.assistant {
        let msg = if g.messages_a > 1 {
            format!(", message {}", r.message)
        } else {
            String::new()
        };
        let _ = writeln!(o, "  {:<12} {}{msg}", r.observation, r.mv.name());
    }
    let _ = writeln!(o, "human (P(ON) where it is asked):");
    for r in &s.human {
        let msg = if g.messages_a > 1 {
            format!(" after message {}", r.message)
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "  {:<12} {}{msg} (E[u_a − u_o] = {})",
            r.observation,
            fmt_num(r.p_on),
            fmt_num(r.gain)
        );
    }
    o
}

/// One rule as compact JSON with sorted keys (as the JSON output has it).
fn compact<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).expect("serializable").to_string()
}

/// Prints what a run wrote and its checks; fails (exit 1) if a check failed.
pub(crate) fn run(
    cfg: &experiment::config::Config,
    o: &experiment::Outcome,
    out: &Path,
) -> Result<()> {
    let reused = if o.jobs_reused > 0 {
        format!(
            " ({} of {} jobs reused)",
            o.jobs_reused,
            o.jobs_reused + o.jobs_run
        )
    } else {
        String::new()
    };
    println!(
        "{}: {} rows in {:.2} s{reused} -> {}",
        cfg.name,
        o.rows,
        o.seconds,
        out.display()
    );
    if let Some(f) = &o.frontier {
        let roots = (0..f.rows.len())
            .filter(|&i| f.text(i, "kind") == "root")
            .count();
        println!(
            "  frontier: {roots} roots, {} tie stretches",
            f.rows.len() - roots
        );
    }
    checks(&o.checks, &o.files, out)
}

/// Prints the checks and files of a run; fails (exit 1) if a check failed.
fn checks(
    checks: &[(String, bool, String)],
    files: &[std::path::PathBuf],
    out: &Path,
) -> Result<()> {
    let mut failed = 0;
    for (claim, ok, detail) in checks {
        println!(
            "  [{}] {claim}: {detail}",
            if *ok { "pass" } else { "FAIL" }
        );
        failed += !ok as usize;
    }
    for f in files {
        println!("  {}", f.display());
    }
    if failed > 0 {
        return Err(Error::Check {
            path: out.display().to_string(),
            message: format!("{failed} check(s) against the paper failed; see summary.md"),
        });
    }
    Ok(())
}
