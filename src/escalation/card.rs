//! The policy card and its exports to agent tools' permission rules.
//!
//! - `card.json` / `card.toml`: per-class decisions, reasons, thresholds, assumptions and the rival table;
//! - `claude-settings.json`: a Claude Code `permissions` block (allow / ask / deny lists of the classes'
//!   tool patterns), to merge into `.claude/settings.json`;
//! - `gemini-policy.toml`: Gemini CLI policy-engine `[[rule]]` entries (decision allow / ask_user / deny);
//! - `rivals.csv`: the rival-policy table; `summary.md`: the card in words.
//!
//! Permission rules are static per tool pattern, so the exports carry the class-level decision; the
//! per-confidence regions (for agents that can route on confidence) are in the card.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Calibration, model::Move};
use crate::error::Result;
use crate::experiment::table::fmt_num;
use crate::experiment::write_atomic;

/// The Claude Code `permissions` block.
pub fn claude_settings(c: &Calibration) -> serde_json::Value {
    let list = |mv: Move| -> Vec<String> {
        c.classes
            .iter()
            .filter(|k| k.mv == mv)
            .flat_map(|k| k.claude.iter().cloned())
            .collect()
    };
    json!({
        "permissions": {
            "allow": list(Move::Act),
            "ask": list(Move::Ask),
            "deny": list(Move::HandOver),
        }
    })
}

fn toml_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// Gemini CLI policy-engine rules, one per class with rule conditions.
pub fn gemini_policy(c: &Calibration) -> String {
    let mut out = format!(
        "# Gemini CLI policy rules from `cirl calibrate` (scenario {}).\n# Copy into ~/.gemini/policies/ or .gemini/policies/. Decisions: act → allow, offer a choice → ask_user,\n# hand over → deny.\n",
        c.scenario
    );
    for k in &c.classes {
        if k.gemini.is_empty() {
            continue;
        }
        // Stricter rules outrank looser ones where patterns overlap.
        let (decision, priority) = match k.mv {
            Move::Act => ("allow", 100),
            Move::Ask => ("ask_user", 200),
            Move::HandOver => ("deny", 300),
        };
        let _ = writeln!(
            out,
            "\n# {} ({:.2}% of actions): {} — {:?}",
            k.name,
            100.0 * k.share,
            k.mv.as_str(),
            k.reason
        );
        out.push_str("[[rule]]\n");
        for (key, v) in &k.gemini {
            let _ = writeln!(out, "{key} = {}", toml_value(v));
        }
        let _ = writeln!(out, "decision = \"{decision}\"\npriority = {priority}");
    }
    out
}

/// The rival table as CSV.
pub fn rivals_csv(c: &Calibration) -> String {
    let mut out = String::from(
        "policy,expected_utility,act_rate,ask_rate,handover_rate,harm_rate,harms_prevented_rate,asks_per_harm_prevented,undo_rate,good_blocked_rate,resolved_by_agent_rate,regret,mc_expected_utility,mc_ci_low,mc_ci_high\n",
    );
    for p in &c.policies {
        let (m, lo, hi) =
            p.monte_carlo
                .as_ref()
                .map_or((String::new(), String::new(), String::new()), |x| {
                    (
                        format!("{}", x.expected_utility.mean),
                        format!("{}", x.expected_utility.ci_low),
                        format!("{}", x.expected_utility.ci_high),
                    )
                });
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{m},{lo},{hi}",
            p.name,
            p.expected_utility,
            p.act_rate,
            p.ask_rate,
            p.handover_rate,
            p.harm_rate,
            p.harms_prevented_rate,
            p.asks_per_harm_prevented
                .map_or(String::new(), |x| x.to_string()),
            p.undo_rate,
            p.good_blocked_rate,
            p.resolved_by_agent_rate,
            p.regret
        );
    }
    out
}

fn pct(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x < 1e-4 {
        format!("{:.2e}%", 100.0 * x)
    } else {
        format!("{:.3}%", 100.0 * x)
    }
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
    s.push_str("## Classes\n\n| class | share | decision | move | why | P(good) | act | ask | hand over | confidence regions (reported) |\n|---|---|---|---|---|---|---|---|---|---|\n");
    for k in &c.classes {
        let regions: Vec<String> = k
            .regions
            .iter()
            .map(|r| {
                format!(
                    "{} on [{:.3}, {:.3}] ({:.1}% of the class)",
                    r.mv.as_str(),
                    r.reported_from,
                    r.reported_to,
                    100.0 * r.fraction
                )
            })
            .collect();
        let why: Vec<String> = k.reasons.iter().map(|r| format!("{r:?}")).collect();
        let _ = writeln!(
            s,
            "| {} | {} | {}{} | {} | {} | {:.4} | {} | {} | {} | {} |",
            k.name,
            pct(k.share),
            k.decision,
            if k.tie { " (tie)" } else { "" },
            k.mv.as_str(),
            why.join(", "),
            k.p_good,
            fmt_num(k.v_act),
            fmt_num(k.v_ask),
            fmt_num(k.v_hand_over),
            regions.join("; ")
        );
    }
    s.push_str("\n## Thresholds\n\n");
    for k in &c.classes {
        let mut parts = Vec::new();
        for t in &k.sigma_thresholds {
            parts.push(format!(
                "σ = {} (σ/|μ| = {}): {} below, {} above",
                fmt_num(t.at),
                if k.mean != 0.0 {
                    fmt_num(t.at / k.mean.abs())
                } else {
                    "∞".into()
                },
                t.below.as_str(),
                t.above.as_str()
            ));
        }
        for t in &k.confidence_thresholds {
            parts.push(format!(
                "reported confidence {:.4}: {} below, {} above",
                t.at,
                t.below.as_str(),
                t.above.as_str()
            ));
        }
        for t in &k.task_minutes_thresholds {
            parts.push(format!(
                "task length {} min: {} below, {} above",
                fmt_num(t.at),
                t.below.as_str(),
                t.above.as_str()
            ));
        }
        let _ = writeln!(
            s,
            "- **{}** (σ = {}, μ = {}): {}",
            k.name,
            fmt_num(k.sigma),
            fmt_num(k.mean),
            if parts.is_empty() {
                "no change of move on any axis".into()
            } else {
                parts.join("; ")
            }
        );
    }
    s.push_str("\n## Rival policies (per action)\n\n| policy | expected utility | regret | ask rate | hand-over rate | resolved by the agent | irreversible harms | harms prevented | asks per harm prevented | asks vs value-of-deferring | Monte Carlo utility (95% CI) |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
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
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {mc} |",
            p.name,
            fmt_num(p.expected_utility),
            fmt_num(p.regret),
            pct(p.ask_rate),
            pct(p.handover_rate),
            pct(p.resolved_by_agent_rate),
            pct(p.harm_rate),
            pct(p.harms_prevented_rate),
            p.asks_per_harm_prevented.map_or("—".into(), fmt_num),
            p.asks_vs_value_of_deferring
                .map_or("—".into(), |x| format!("{}×", fmt_num(x)))
        );
    }
    if !c.warnings.is_empty() {
        s.push_str("\n## Warnings\n\n");
        for w in &c.warnings {
            let _ = writeln!(s, "- {w}");
        }
    }
    s.push_str("\n## Assumptions\n\n```json\n");
    s.push_str(&serde_json::to_string_pretty(&c.assumptions).expect("serializable"));
    s.push_str("\n```\n");
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
    std::fs::create_dir_all(dir).map_err(|source| crate::error::Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
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
            serde_json::to_string_pretty(&claude_settings(c)).expect("serializable") + "\n",
        ),
        ("gemini-policy.toml", gemini_policy(c)),
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
