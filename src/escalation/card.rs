//! The policy card and its exports.
//!
//! - `card.json` / `card.toml`: per-class decisions, reasons, regions, flip points, risk, the rival table, the
//!   deployed-under-B table and the gate's section (`cirl gate --card card.json` reads it);
//! - `summary.md`: the card in words; `rivals.csv`: the rival table;
//! - the static rules ([`export`]): `claude-settings.json`, `gemini-policy.toml`, `codex.rules`,
//!   `langchain-hitl.json`; and `claude-settings-gate.json`, which deploys the per-action policy in Claude
//!   Code through `cirl gate` as a PreToolUse hook.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::{Calibration, ClassCard, export, fmt_conf};
use crate::error::Result;
use crate::output::table::fmt_num;
use crate::output::write_atomic;

/// The rival table as CSV.
pub fn rivals_csv(c: &Calibration) -> String {
    let mut out = String::from(
        "policy,expected_utility,act_rate,ask_rate,block_rate,handover_rate,harm_rate,harm_loss,harms_prevented_rate,asks_per_harm_prevented,undo_rate,good_blocked_rate,refusal_rate,resolved_by_agent_rate,regret,p_catastrophe,catastrophe_loss_rate,cvar,catch_rate,meets_limits,mc_expected_utility,mc_ci_low,mc_ci_high\n",
    );
    let opt = |x: Option<f64>| x.map_or(String::new(), |v| v.to_string());
    for p in &c.policies {
        let (m, lo, hi) =
            p.monte_carlo
                .as_ref()
                .map_or((String::new(), String::new(), String::new()), |x| {
                    (
                        x.expected_utility.mean.to_string(),
                        x.expected_utility.ci_low.to_string(),
                        x.expected_utility.ci_high.to_string(),
                    )
                });
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{m},{lo},{hi}",
            p.name,
            p.expected_utility,
            p.act_rate,
            p.ask_rate,
            p.block_rate,
            p.handover_rate,
            p.harm_rate,
            p.harm_loss,
            p.harms_prevented_rate,
            opt(p.asks_per_harm_prevented),
            p.undo_rate,
            p.good_blocked_rate,
            p.refusal_rate,
            p.resolved_by_agent_rate,
            p.regret,
            p.risk.p_catastrophe,
            p.risk.catastrophe_loss_rate,
            p.risk.cvar,
            opt(p.catch_rate),
            p.meets_limits.map_or(String::new(), |b| b.to_string()),
        );
    }
    out
}

/// A rate as a percentage with enough digits for rare events.
pub fn pct(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x < 1e-4 {
        format!("{:.2e}%", 100.0 * x)
    } else {
        format!("{:.3}%", 100.0 * x)
    }
}

/// The regions of a class in words: "ask below 0.99973 (92.7% of the class), act above (7.3%)".
pub fn regions_text(k: &super::ClassCard) -> String {
    k.regions
        .iter()
        .map(|r| {
            format!(
                "{} on [{}, {}] ({})",
                r.mv.as_str(),
                fmt_conf(r.reported_from),
                fmt_conf(r.reported_to),
                pct(r.fraction)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// One class's flip points in words.
pub fn flips_text(k: &super::ClassCard) -> Vec<String> {
    let mut out = Vec::new();
    for a in &k.flips.decision {
        if a.flips.is_empty() {
            out.push(format!(
                "{} (now {}): {} throughout [{}, {}]",
                a.axis.as_str(),
                fmt_num(a.now),
                k.mv.as_str(),
                fmt_num(a.from),
                fmt_num(a.to)
            ));
        } else {
            let f: Vec<String> = a
                .flips
                .iter()
                .map(|t| {
                    format!(
                        "{} below {}, {} above",
                        t.below.as_str(),
                        fmt_num(t.at),
                        t.above.as_str()
                    )
                })
                .collect();
            out.push(format!(
                "{} (now {}): {}",
                a.axis.as_str(),
                fmt_num(a.now),
                f.join("; ")
            ));
        }
    }
    for r in &k.flips.routing {
        let at: Vec<String> = r.at.iter().map(|x| fmt_num(*x)).collect();
        out.push(format!(
            "true {} (card built at {}): routing on confidence gains {} per action of the class over the static rule; {}",
            r.axis.as_str(),
            fmt_num(r.now),
            fmt_num(r.gain_now),
            if at.is_empty() {
                format!(
                    "it never loses to it over [{}, {}]",
                    fmt_num(r.from),
                    fmt_num(r.to)
                )
            } else {
                format!("it breaks even with the static rule at {}", at.join(", "))
            }
        ));
    }
    out
}

/// The reviewer, as an engineer can check it against data.
fn reviewer_sentence(c: &Calibration) -> String {
    let r = &c.reviewer;
    let fatigue = match (r.fatigue, r.catch_bad_at_deployed_ask_rate) {
        (Some(f), Some(cb)) => format!(
            "; fatigue: the odds of a catch × {} per further prompt in a session of {} actions, so {:.1}% at the deployed ask rate",
            f.odds_ratio_per_ask,
            f.actions_per_session,
            100.0 * cb
        ),
        _ => String::new(),
    };
    format!(
        "{}: approves {:.1}% of good actions, catches {:.1}% of bad ones; if every action asked, {:.1}% of prompts would be refused (Anthropic reports ~7% of Claude Code's permission prompts refused){fatigue}",
        r.model,
        100.0 * r.approve_good,
        100.0 * r.catch_bad,
        100.0 * r.refusal_rate_if_every_action_asks,
    )
}

/// The card in words (markdown).
pub fn summary(c: &Calibration) -> String {
    let mut s = format!("# Policy card: {}\n\n", c.scenario);
    if !c.description.is_empty() {
        let _ = writeln!(s, "{}\n", c.description.trim());
    }
    if !c.units.is_empty() {
        let _ = writeln!(s, "Utilities are in {}.\n", c.units);
    }
    let loud: Vec<&String> = c
        .warnings
        .iter()
        .filter(|w| w.starts_with("ALLOW WITH NEGATIVE VALUE"))
        .collect();
    if !loud.is_empty() {
        s.push_str("## ⚠ Allowed although acting loses value\n\n");
        for w in loud {
            let _ = writeln!(s, "- **{w}**");
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "Deployed: the per-action gate (`cirl gate`) carries **{}**; the static permission rules carry **{}**.\n",
        c.deployed.per_action, c.deployed.static_rules
    );
    let _ = writeln!(s, "## Reviewer\n\n{}\n", reviewer_sentence(c));
    s.push_str("## Classes\n\n| class | share | decision | move | why | P(good) | act | ask | block | hand over | per-action regions (reported confidence, share of the class) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for k in &c.classes {
        let why: Vec<&str> = k.reasons.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {}{} | {} | {} | {:.4} | {} | {} | {} | {} | {} |",
            k.name,
            pct(k.share),
            k.decision,
            if k.tie { " (tie)" } else { "" },
            k.mv.as_str(),
            why.join(", "),
            k.p_good,
            fmt_num(k.values.act),
            fmt_num(k.values.ask),
            fmt_num(k.values.block),
            fmt_num(k.values.hand_over),
            regions_text(k)
        );
    }
    let grounded: Vec<&ClassCard> = c
        .classes
        .iter()
        .filter(|k| k.prior_source.is_some())
        .collect();
    if !grounded.is_empty() {
        s.push_str("\nPriors grounded in a simulated population (the class's σ inflated so that the one-shot game defers where the sequential one does):\n\n");
        for k in grounded {
            let _ = writeln!(
                s,
                "- {}: {}",
                k.name,
                k.prior_source.as_deref().unwrap_or("")
            );
        }
    }
    s.push_str("\n## Flip points\n\nWhere each class's decision changes on the axes an engineer turns (root-found); for ECE and AUROC, where the card's confidence routing, deployed with its thresholds, stops paying against the static rule.");
    if !c.constraints.is_empty() {
        s.push_str(" The flips are those of the class-level decision without the risk limits, which make the deployed decisions stricter.");
    }
    s.push_str("\n\n");
    for k in &c.classes {
        let _ = writeln!(s, "- **{}**", k.name);
        for line in flips_text(k) {
            let _ = writeln!(s, "  - {line}");
        }
        for t in &k.task_minutes_thresholds {
            let _ = writeln!(
                s,
                "  - task length: {} below {} min, {} above",
                t.below.as_str(),
                fmt_num(t.at),
                t.above.as_str()
            );
        }
    }
    let rk = c.policies.first().map(|p| p.risk);
    if let Some(rk) = rk {
        let _ = writeln!(
            s,
            "\n## Risk per class\n\nA catastrophe is a loss above L = {}; CVaR is the mean loss of the worst {}% of actions.\n\n| class | harm loss (static) | P(loss > L) (static) | CVaR (static) | harm loss (per action) | P(loss > L) (per action) | CVaR (per action) |\n|---|---|---|---|---|---|---|",
            fmt_num(rk.catastrophe_loss),
            fmt_num(100.0 * (1.0 - rk.cvar_level))
        );
        for k in &c.classes {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                k.name,
                fmt_num(k.risk_static.harm_loss),
                fmt_num(k.risk_static.p_catastrophe),
                fmt_num(k.risk_static.cvar),
                fmt_num(k.risk_per_action.harm_loss),
                fmt_num(k.risk_per_action.p_catastrophe),
                fmt_num(k.risk_per_action.cvar)
            );
        }
    }
    s.push_str("\n## Rival policies (per action)\n\n| policy | expected utility | regret | ask rate | block rate | hand-over rate | resolved by the agent | irreversible harms | harm loss | P(loss > L) | CVaR | asks per harm prevented | asks vs value-of-deferring | meets limits | Monte Carlo utility (95% CI) |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for p in &c.policies {
        let mc = p.monte_carlo.as_ref().map_or("—".to_string(), |m| {
            format!(
                "{} [{}, {}]",
                fmt_num(m.expected_utility.mean),
                fmt_num(m.expected_utility.ci_low),
                fmt_num(m.expected_utility.ci_high)
            )
        });
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {mc} |",
            p.name,
            fmt_num(p.expected_utility),
            fmt_num(p.regret),
            pct(p.ask_rate),
            pct(p.block_rate),
            pct(p.handover_rate),
            pct(p.resolved_by_agent_rate),
            pct(p.harm_rate),
            fmt_num(p.harm_loss),
            fmt_num(p.risk.p_catastrophe),
            fmt_num(p.risk.cvar),
            p.asks_per_harm_prevented.map_or("—".into(), fmt_num),
            p.asks_vs_value_of_deferring
                .map_or("—".into(), |x| format!("{}×", fmt_num(x))),
            p.meets_limits.map_or("—", |b| if b { "yes" } else { "no" }),
        );
    }
    if !c.constraints.is_empty() {
        s.push_str("\n## Risk limits and their price\n\n| constraint | limit | unconstrained | binding | utility lost per action (alone) | multiplier |\n|---|---|---|---|---|---|\n");
        for k in &c.constraints {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                k.name,
                fmt_num(k.limit),
                fmt_num(k.unconstrained),
                if k.binding { "yes" } else { "no" },
                fmt_num(k.price),
                fmt_num(k.multiplier)
            );
        }
    }
    s.push_str("\n## Built under the scenario, deployed under another truth\n\n| truth | best possible | per-action card: utility (regret) | static rules: utility (regret) | minimax-regret: utility (regret) | per-action harm loss | static harm loss |\n|---|---|---|---|---|---|---|\n");
    for d in &c.robustness.deployed_under {
        let _ = writeln!(
            s,
            "| {} | {} | {} ({}) | {} ({}) | {} ({}) | {} | {} |",
            d.truth,
            fmt_num(d.best),
            fmt_num(d.per_action.expected_utility),
            fmt_num(d.per_action.regret),
            fmt_num(d.static_rules.expected_utility),
            fmt_num(d.static_rules.regret),
            fmt_num(d.robust.expected_utility),
            fmt_num(d.robust.regret),
            fmt_num(d.per_action.harm_loss),
            fmt_num(d.static_rules.harm_loss),
        );
    }
    let rb = &c.robustness.robust;
    let _ = writeln!(
        s,
        "\nMinimax regret over these {} truths: **{}** (worst regret {}).",
        rb.set.len(),
        rb.name,
        fmt_num(rb.worst_regret)
    );
    let others: Vec<String> = rb
        .candidates
        .iter()
        .filter(|x| !x.0.contains(" under: "))
        .map(|(n, w)| format!("{n} {}", fmt_num(*w)))
        .collect();
    let _ = writeln!(s, "Worst regrets of the rivals: {}.", others.join(", "));
    s.push_str("\n## Exports\n\n");
    let _ = writeln!(
        s,
        "The static rules (`claude-settings.json`, `gemini-policy.toml`, `codex.rules`, `langchain-hitl.json`) carry **{}**, one decision per class; the gate (`cirl gate --card card.json`, and `claude-settings-gate.json`, which runs it as Claude Code's PreToolUse hook) carries **{}**, per call. Block and hand-over are both a deny in the static rules; the gate's deny reason tells the agent which (\"hand this task to a human\").",
        c.deployed.static_rules, c.deployed.per_action
    );
    for n in &c.export_notes {
        let _ = writeln!(s, "- {}: {}", n.runtime, n.note);
    }
    let other: Vec<&String> = c
        .warnings
        .iter()
        .filter(|w| !w.starts_with("ALLOW WITH NEGATIVE VALUE"))
        .collect();
    if !other.is_empty() {
        s.push_str("\n## Warnings\n\n");
        for w in other {
            let _ = writeln!(s, "- {w}");
        }
    }
    s.push_str("\n## Assumptions\n\n```json\n");
    s.push_str(&serde_json::to_string_pretty(&c.assumptions).expect("serializable"));
    s.push_str("\n```\n");
    s
}

/// A scenario name as a single safe path component (letters, digits, `-`, `_`, `.`; no leading dot).
pub fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_start_matches('.').to_string();
    if s.is_empty() { "scenario".into() } else { s }
}

/// The card as the console prints it.
pub fn console(c: &Calibration) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "scenario {}", c.scenario);
    for w in c
        .warnings
        .iter()
        .filter(|w| w.starts_with("ALLOW WITH NEGATIVE VALUE"))
    {
        let _ = writeln!(s, "WARNING: {w}");
    }
    let _ = writeln!(
        s,
        "deployed: gate = {}, static rules = {}",
        c.deployed.per_action, c.deployed.static_rules
    );
    let _ = writeln!(s, "reviewer {}", reviewer_sentence(c));
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<24} {:>9} {:>9} {:>10} {:<34} per-action regions (reported confidence, share of the class)",
        "class", "share", "decision", "move", "why"
    );
    for k in &c.classes {
        let why: Vec<&str> = k.reasons.iter().map(|r| r.as_str()).collect();
        let _ = writeln!(
            s,
            "{:<24} {:>8.3}% {:>9} {:>10} {:<34} {}",
            k.name,
            100.0 * k.share,
            k.decision,
            k.mv.as_str(),
            why.join(","),
            regions_text(k)
        );
        if let Some(src) = &k.prior_source {
            let _ = writeln!(s, "{:<24} prior from {src}", "");
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<26} {:>12} {:>10} {:>9} {:>9} {:>10} {:>10} {:>11} {:>11} {:>11} {:>26}",
        "policy",
        "E[utility]",
        "regret",
        "ask rate",
        "stop rate",
        "harm rate",
        "harm loss",
        "P(loss>L)",
        "CVaR",
        "asks/harm",
        "Monte Carlo E[utility]"
    );
    for p in &c.policies {
        let _ = writeln!(
            s,
            "{:<26} {:>12} {:>10} {:>8.3}% {:>8.3}% {:>10} {:>10} {:>11} {:>11} {:>11} {:>26}",
            p.name,
            fmt_num(p.expected_utility),
            fmt_num(p.regret),
            100.0 * p.ask_rate,
            100.0 * (p.block_rate + p.handover_rate),
            format!("{:.3e}", p.harm_rate),
            format!("{:.3e}", p.harm_loss),
            format!("{:.3e}", p.risk.p_catastrophe),
            fmt_num(p.risk.cvar),
            p.asks_per_harm_prevented.map_or("—".into(), fmt_num),
            p.monte_carlo.as_ref().map_or("—".into(), |m| format!(
                "{} ± {}",
                fmt_num(m.expected_utility.mean),
                fmt_num(m.expected_utility.half_width())
            ))
        );
    }
    if let Some(p) = c.policies.first() {
        let _ = writeln!(
            s,
            "(stop rate: blocks and hand-overs; L = {}; CVaR of the worst {}% of actions)",
            fmt_num(p.risk.catastrophe_loss),
            fmt_num(100.0 * (1.0 - p.risk.cvar_level))
        );
    }
    if !c.constraints.is_empty() {
        let _ = writeln!(s);
        for k in &c.constraints {
            let _ = writeln!(
                s,
                "limit {} ≤ {}: unconstrained {} ({}); costs {} per action alone; multiplier {}",
                k.name,
                fmt_num(k.limit),
                fmt_num(k.unconstrained),
                if k.binding { "binding" } else { "not binding" },
                fmt_num(k.price),
                fmt_num(k.multiplier)
            );
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "flip points{}:",
        if c.constraints.is_empty() {
            ""
        } else {
            " (of the class-level decision without the risk limits)"
        }
    );
    for k in &c.classes {
        let _ = writeln!(s, "  {}:", k.name);
        for line in flips_text(k) {
            let _ = writeln!(s, "    {line}");
        }
    }
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "{:<58} {:>12} {:>22} {:>22} {:>22}",
        "deployed under", "best", "per-action (regret)", "static (regret)", "minimax (regret)"
    );
    for d in &c.robustness.deployed_under {
        let cell = |o: &super::robust::Outcome| {
            format!("{} ({})", fmt_num(o.expected_utility), fmt_num(o.regret))
        };
        let _ = writeln!(
            s,
            "{:<58} {:>12} {:>22} {:>22} {:>22}",
            d.truth,
            fmt_num(d.best),
            cell(&d.per_action),
            cell(&d.static_rules),
            cell(&d.robust)
        );
    }
    let _ = writeln!(
        s,
        "minimax regret: {} (worst regret {})",
        c.robustness.robust.name,
        fmt_num(c.robustness.robust.worst_regret)
    );
    for w in c
        .warnings
        .iter()
        .filter(|w| !w.starts_with("ALLOW WITH NEGATIVE VALUE"))
    {
        let _ = writeln!(s, "warning: {w}");
    }
    for n in &c.export_notes {
        let _ = writeln!(s, "note ({}): {}", n.runtime, n.note);
    }
    for n in &c.plot_notes {
        let _ = writeln!(s, "note: {n}");
    }
    s
}

/// The card without null fields (TOML has no null).
fn strip_nulls(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(
            m.into_iter()
                .filter(|(_, x)| !x.is_null())
                .map(|(k, x)| (k, strip_nulls(x)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// Writes the card, its exports and the summary into `dir` (atomically); returns the files written.
pub fn write(c: &Calibration, dir: &Path) -> Result<Vec<PathBuf>> {
    crate::output::mkdir(dir)?;
    let card_path = std::fs::canonicalize(dir)
        .unwrap_or_else(|_| dir.to_path_buf())
        .join("card.json");
    let value = serde_json::to_value(c).expect("serializable");
    let files: Vec<(&str, String)> = vec![
        (
            "card.json",
            serde_json::to_string_pretty(&value).expect("serializable") + "\n",
        ),
        (
            "card.toml",
            toml::to_string(&strip_nulls(value.clone()))
                .unwrap_or_else(|e| format!("# not representable in TOML: {e}\n")),
        ),
        (
            "claude-settings.json",
            serde_json::to_string_pretty(&export::claude_settings(c)).expect("serializable") + "\n",
        ),
        (
            "claude-settings-gate.json",
            serde_json::to_string_pretty(&export::claude_gate_settings(
                c,
                &card_path.display().to_string(),
                &card_path
                    .with_file_name("decisions.sqlite")
                    .display()
                    .to_string(),
            ))
            .expect("serializable")
                + "\n",
        ),
        ("gemini-policy.toml", export::gemini_policy(c)),
        ("codex.rules", export::codex_rules(c)),
        (
            "langchain-hitl.json",
            serde_json::to_string_pretty(&export::langchain_hitl(c)).expect("serializable") + "\n",
        ),
        ("rivals.csv", rivals_csv(c)),
        ("summary.md", summary(c)),
    ];
    let mut out = Vec::new();
    for (name, text) in files {
        let path = dir.join(name);
        write_atomic(&path, text.as_bytes())?;
        out.push(path);
    }
    Ok(out)
}
