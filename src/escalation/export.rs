//! Exports of the card to agent runtimes, every one built from the classes' single tool spec
//! ([`super::tools`]) and checked against the runtime's documented format.
//!
//! - **Claude Code** `permissions` (`claude-settings.json`): `Bash(prefix *)`, `Edit(glob)`, `Read(glob)`,
//!   `WebFetch(domain:d)`, `Agent(name)`, `mcp__server__tool` / `mcp__server`, bare tool names — the rule forms
//!   Claude Code consults (no `Write(…)`/`Glob(…)`/`Grep(…)` path rules, no legacy `:*`). Claude applies deny,
//!   then ask, then allow, whatever the specificity; block and hand-over are both a deny there. The gate
//!   settings (`claude-settings-gate.json`) instead send every tool call through `cirl gate` as a PreToolUse
//!   hook, which routes on confidence and tells the agent why it was denied — "hand this to a human".
//! - **Gemini CLI** policy (`gemini-policy.toml`): `[[rule]]`s with `toolName`, `commandPrefix` (only with
//!   `toolName = "run_shell_command"`, never with `argsPattern`), `mcpName` + the tool's simple name,
//!   `argsPattern` over the stable-JSON arguments (screened by Gemini's ReDoS heuristic), `toolAnnotations`;
//!   allow 100 < ask_user 200 < hand-over deny 300 < block deny 310, so the stricter rule wins where rules
//!   overlap; the reason travels in `denyMessage`.
//! - **Codex** exec policy (`codex.rules`): `prefix_rule(pattern, decision = allow | prompt | forbidden,
//!   justification, match, not_match)` for the shell entries (Codex checks the examples when it loads the file).
//! - **LangChain** `HumanInTheLoopMiddleware` (`langchain-hitl.json`): `interrupt_on` per function tool —
//!   `false` to allow, `allowed_decisions` to ask (no `edit` for irreversible classes; `respond` only for a
//!   hand-over: the human does the task and answers for the tool); blocked tools listed to be left out.
//!   Per-call routing (the `when` predicate) and the OpenAI Agents SDK's `needs_approval` go through the
//!   Python adapters in `adapters/python/`, which ask `cirl gate`.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Calibration;
use super::model::Move;
use super::tools::{self, Call, ClassTools, Tools};

/// A Claude Code rule for each entry of a class's tools (annotations have none).
pub fn claude_rules(t: &Tools) -> Vec<String> {
    let mut out = Vec::new();
    out.extend(t.shell.iter().map(|p| format!("Bash({p} *)")));
    out.extend(t.edit.iter().map(|g| format!("Edit({g})")));
    out.extend(t.read.iter().map(|g| format!("Read({g})")));
    out.extend(t.fetch.iter().map(|d| format!("WebFetch(domain:{d})")));
    out.extend(t.agent.iter().map(|a| format!("Agent({a})")));
    out.extend(t.mcp.iter().map(|m| {
        let (s, tool) = m.split_once('/').expect("validated server/tool");
        if tool == "*" {
            format!("mcp__{s}")
        } else {
            format!("mcp__{s}__{tool}")
        }
    }));
    out.extend(t.tool.iter().cloned());
    out
}

/// A class's Claude Code rules at its move, and notes on what they cannot express (with whether the rules
/// still decide the class's calls as the card says).
pub fn claude_rules_at(k: &super::ClassCard) -> (Vec<String>, Vec<(String, bool)>) {
    let mut t = k.tools.clone();
    let mut notes = Vec::new();
    if k.mv == Move::Ask && !t.agent.is_empty() {
        notes.push((
            format!(
                "class {}: Claude Code does not consult Agent(name) in ask rules (only in deny and allow): its subagents {} ask only through the gate (claude-settings-gate.json)",
                k.name,
                t.agent.join(", ")
            ),
            false,
        ));
        t.agent.clear();
    }
    if matches!(k.mv, Move::Block | Move::HandOver) && !(t.mcp.is_empty() && t.tool.is_empty()) {
        notes.push((
            format!(
                "class {}: a deny rule on a whole tool removes it from the agent's tools (MCP and bare tool rules take no narrower form), so the agent is not told why; the gate (claude-settings-gate.json) denies each call with the reason instead",
                k.name
            ),
            true,
        ));
    }
    if !t.annotations.is_empty() {
        notes.push((
            format!(
                "class {}: Claude Code's rules cannot see MCP tool annotations: its tools reach Claude only through the gate (claude-settings-gate.json)",
                k.name
            ),
            false,
        ));
    }
    (claude_rules(&t), notes)
}

/// What each export cannot express, class by class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportNote {
    /// The runtime whose export it concerns.
    pub runtime: String,
    /// The class.
    pub class: String,
    /// What the export cannot express, and what it does instead.
    pub note: String,
    /// Whether the export still decides the class's calls as the card says (the note only explains how).
    pub decides: bool,
}

/// The notes of every export.
pub fn export_notes(c: &Calibration) -> Vec<ExportNote> {
    let mut out = Vec::new();
    for k in &c.classes {
        for (note, decides) in claude_rules_at(k).1 {
            out.push(ExportNote {
                runtime: "claude-code".into(),
                class: k.name.clone(),
                note,
                decides,
            });
        }
        let t = &k.tools;
        if !(t.edit.is_empty()
            && t.read.is_empty()
            && t.mcp.is_empty()
            && t.fetch.is_empty()
            && t.agent.is_empty()
            && t.tool.is_empty()
            && t.annotations.is_empty())
        {
            out.push(ExportNote {
                runtime: "codex".into(),
                class: k.name.clone(),
                note: format!(
                    "class {}: Codex exec-policy rules cover shell commands only; its other tools are not in codex.rules",
                    k.name
                ),
                decides: false,
            });
        }
    }
    out
}

/// One example call and the decision the exported rules give it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExampleDecision {
    /// The class the example belongs to.
    pub class: String,
    /// `match` or `not_match`.
    pub kind: String,
    /// The call.
    pub call: Call,
    /// The call as the scenario writes it (`kind: value`).
    pub text: String,
    /// allow | ask | deny, or `None` when no class covers (part of) it and the runtime decides.
    pub decision: Option<String>,
    /// The class whose move decides it (none: the runtime or the default decides).
    pub deciding_class: Option<String>,
}

/// Every example call with its decision under the static rules.
pub fn example_decisions(c: &Calibration) -> Vec<ExampleDecision> {
    let classes = class_tools(c);
    let moves: Vec<Move> = c.classes.iter().map(|k| k.mv).collect();
    let mut out = Vec::new();
    for k in &c.classes {
        for (kind, list) in [
            ("match", &k.examples.matching),
            ("not_match", &k.examples.not_match),
        ] {
            for call in list {
                let r = tools::classify(&classes, &moves, call, None, None);
                out.push(ExampleDecision {
                    class: k.name.clone(),
                    kind: kind.into(),
                    call: call.clone(),
                    text: call.text(),
                    decision: r.mv.map(|m| m.permission().to_string()),
                    deciding_class: r.deciding.map(|i| c.classes[i].name.clone()),
                });
            }
        }
    }
    out
}

/// The Claude Code settings of the static rules: `permissions` with allow / ask / deny lists and the default
/// mode, to merge into `.claude/settings.json` (or load with `claude --settings FILE`).
pub fn claude_settings(c: &Calibration) -> serde_json::Value {
    json!({
        "$schema": "https://json.schemastore.org/claude-code-settings.json",
        "permissions": claude_permissions(c, |_| true),
    })
}

/// The `permissions` block of the classes `keep` selects: each class's rules under its decision.
fn claude_permissions(
    c: &Calibration,
    keep: impl Fn(&super::ClassCard) -> bool,
) -> serde_json::Value {
    let list = |perm: &str| -> Vec<String> {
        c.classes
            .iter()
            .filter(|k| k.decision == perm && keep(k))
            .flat_map(|k| claude_rules_at(k).0)
            .collect()
    };
    json!({
        "allow": list("allow"),
        "ask": list("ask"),
        "deny": list("deny"),
        "defaultMode": "default",
    })
}

/// Whether the gate decides a class at run time (it routes on confidence, or hands over).
pub fn gate_routed(k: &super::ClassCard) -> bool {
    k.regions.iter().filter(|r| r.fraction > 1e-6).count() >= 2 || k.mv == Move::HandOver
}

/// The Claude Code settings that deploy the per-action policy: every tool call goes to `cirl gate` as a
/// PreToolUse hook; static rules stay only for classes the gate would decide the same way every time (a hook's
/// allow does not skip ask or deny rules, so routed classes must not have one).
pub fn claude_gate_settings(c: &Calibration, card_path: &str, log_path: &str) -> serde_json::Value {
    json!({
        "$schema": "https://json.schemastore.org/claude-code-settings.json",
        "permissions": claude_permissions(c, |k| !gate_routed(k)),
        "hooks": {
            "PreToolUse": [{
                "matcher": "*",
                "hooks": [{
                    "type": "command",
                    "command": format!(
                        "cirl gate --card {} --format claude-hook --log {}",
                        shell_quote(card_path),
                        shell_quote(log_path)
                    ),
                    "timeout": 10,
                }],
            }],
        }
    })
}

/// A word for a POSIX shell command line.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:=@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// A glob as a regular expression over a path (`*` within a segment, `**` across; no groups with inner
/// quantifiers, so Gemini's ReDoS screen passes it).
fn glob_regex(glob: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = glob.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '*' if chars.get(i + 1) == Some(&'*') => {
                // "**/" matches any run of directories; a final "**" anything.
                if chars.get(i + 2) == Some(&'/') {
                    out.push_str("(?:|[^\"]*/)");
                    i += 3;
                } else {
                    out.push_str("[^\"]*");
                    i += 2;
                }
                continue;
            }
            '*' => out.push_str("[^\"/]*"),
            '?' => out.push_str("[^\"/]"),
            c => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    out
}

/// The Gemini CLI argsPattern for a path argument matching a glob: the path is matched at any depth, since the
/// tools see absolute paths and the export does not know the workspace root.
fn gemini_path_pattern(param: &str, glob: &str) -> String {
    let g = glob.trim_end_matches('/').trim_start_matches("**/");
    format!("\\0\"{param}\":\"(?:|[^\"]*/){}\"\\0", glob_regex(g))
}

/// The read tools of Gemini CLI.
pub const GEMINI_READ_TOOLS: [&str; 5] = [
    "read_file",
    "read_many_files",
    "glob",
    "grep_search",
    "list_directory",
];

/// One Gemini rule's conditions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GeminiRule {
    /// `toolName`: one tool name or a list.
    pub tool_name: toml::Value,
    /// `mcpName`: the MCP server (with `toolName` its tool).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp_name: Option<String>,
    /// `commandPrefix`: shell command prefixes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_prefix: Option<Vec<String>>,
    /// `argsPattern`: a regular expression over the call's JSON arguments.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub args_pattern: Option<String>,
    /// `toolAnnotations`: annotations the tool must declare.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool_annotations: Option<toml::Table>,
    /// `decision`: allow, ask_user or deny.
    pub decision: String,
    /// `priority`: the higher wins where rules overlap.
    pub priority: u32,
    /// `denyMessage`: what the agent is told when denied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_message: Option<String>,
}

/// The Gemini rules of one class at a move.
pub fn gemini_rules(t: &Tools, mv: Move, deny_message: &str) -> Vec<GeminiRule> {
    let (decision, priority) = match mv {
        Move::Act => ("allow", 100),
        Move::Ask => ("ask_user", 200),
        Move::HandOver => ("deny", 300),
        Move::Block => ("deny", 310),
    };
    let base = |tool: toml::Value| GeminiRule {
        tool_name: tool,
        mcp_name: None,
        command_prefix: None,
        args_pattern: None,
        tool_annotations: None,
        decision: decision.into(),
        priority,
        deny_message: (decision == "deny").then(|| deny_message.to_string()),
    };
    let names = |v: &[&str]| toml::Value::Array(v.iter().map(|x| toml::Value::from(*x)).collect());
    let mut out = Vec::new();
    if !t.shell.is_empty() {
        out.push(GeminiRule {
            command_prefix: Some(t.shell.clone()),
            ..base("run_shell_command".into())
        });
    }
    for g in &t.edit {
        out.push(GeminiRule {
            args_pattern: Some(gemini_path_pattern("file_path", g)),
            ..base(names(&["replace", "write_file"]))
        });
    }
    for g in &t.read {
        if g == "**" {
            out.push(base(names(&GEMINI_READ_TOOLS)));
        } else {
            out.push(GeminiRule {
                args_pattern: Some(gemini_path_pattern("file_path", g)),
                ..base("read_file".into())
            });
        }
    }
    for m in &t.mcp {
        let (s, tool) = m.split_once('/').expect("validated server/tool");
        out.push(GeminiRule {
            mcp_name: Some(s.into()),
            ..base(tool.into())
        });
    }
    for d in &t.fetch {
        out.push(GeminiRule {
            args_pattern: Some(format!(
                "\"prompt\":\"[^\"]*https?://(?:|[^\"/]*\\.){}(?:[/\"\\s]|\\\\\")",
                regex::escape(d)
            )),
            ..base("web_fetch".into())
        });
    }
    for a in &t.agent {
        out.push(base(a.as_str().into()));
    }
    for name in &t.tool {
        out.push(base(name.as_str().into()));
    }
    if !t.annotations.is_empty() {
        let ann: toml::Table = t
            .annotations
            .iter()
            .map(|(k, v)| (k.clone(), toml::Value::Boolean(*v)))
            .collect();
        out.push(GeminiRule {
            mcp_name: Some("*".into()),
            tool_annotations: Some(ann),
            ..base("*".into())
        });
    }
    out
}

/// The reason a deny carries to the agent.
pub fn deny_message(k: &super::ClassCard) -> String {
    let why: Vec<&str> = k.reasons.iter().map(|r| r.as_str()).collect();
    match k.mv {
        Move::HandOver => format!(
            "cirl: class {} is handed over ({}): stop and hand this task to a human, with what you know",
            k.name,
            why.join(", ")
        ),
        _ => format!(
            "cirl: class {} is blocked ({}): do not do this; find another way or report why it is needed",
            k.name,
            why.join(", ")
        ),
    }
}

/// Gemini CLI policy-engine rules for the static decisions.
pub fn gemini_policy(c: &Calibration) -> String {
    let mut out = format!(
        "# Gemini CLI policy rules from `cirl calibrate` (scenario {}): the static decision of each class\n\
         # ({}). Decisions: act → allow (priority 100), ask → ask_user (200), hand over → deny (300),\n\
         # block → deny (310): where rules overlap the stricter wins.\n\
         # Install in the User tier (~/.gemini/policies/, tier 4): rules in the Workspace tier\n\
         # (.gemini/policies/, tier 3) rank below any user-tier rule, and the Admin tier (5) enforces them\n\
         # for every user. In non-interactive (headless) runs Gemini CLI turns ask_user into deny.\n\
         # Path rules match at any depth: Gemini's file tools pass absolute paths.\n",
        c.scenario, c.deployed.static_rules
    );
    for k in &c.classes {
        let rules = gemini_rules(&k.tools, k.mv, &deny_message(k));
        if rules.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n# {} ({:.2}% of actions): {} — {}",
            k.name,
            100.0 * k.share,
            k.mv.as_str(),
            k.reason.as_str()
        );
        for r in rules {
            let table = toml::Table::try_from(&r).expect("a rule is a table");
            let mut doc = toml::Table::new();
            doc.insert("rule".into(), toml::Value::Array(vec![table.into()]));
            out.push_str(&toml::to_string(&doc).expect("serializable"));
        }
    }
    out
}

/// The Codex decision of a move.
fn codex_decision(m: Move) -> &'static str {
    match m {
        Move::Act => "allow",
        Move::Ask => "prompt",
        Move::Block | Move::HandOver => "forbidden",
    }
}

fn starlark_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string")
}

fn starlark_list(words: &[String]) -> String {
    let w: Vec<String> = words.iter().map(|x| starlark_str(x)).collect();
    format!("[{}]", w.join(", "))
}

/// Codex exec-policy rules for the classes' shell entries, with their example commands.
pub fn codex_rules(c: &Calibration) -> String {
    let mut out = format!(
        "# Codex exec-policy rules from `cirl calibrate` (scenario {}): the static decision of each class's\n\
         # shell commands ({}). act → allow, ask → prompt, block and hand over → forbidden; the strictest\n\
         # matching rule wins. Codex checks the match / not_match examples when it loads this file.\n",
        c.scenario, c.deployed.static_rules
    );
    for k in &c.classes {
        if k.tools.shell.is_empty() {
            continue;
        }
        let _ = writeln!(out, "\n# {} — {}", k.name, k.mv.as_str());
        let not_match: Vec<Vec<String>> = k
            .examples
            .not_match
            .iter()
            .flat_map(|e| e.atoms())
            .filter_map(|a| match a {
                Call::Shell { command } => tools::words(&command),
                _ => None,
            })
            .collect();
        for p in &k.tools.shell {
            let pw = tools::words(p).expect("validated prefix");
            let single = Tools {
                shell: vec![p.clone()],
                ..Default::default()
            };
            let matching: Vec<Vec<String>> = k
                .examples
                .matching
                .iter()
                .flat_map(|e| e.atoms())
                .filter(|a| single.matches(a, None))
                .filter_map(|a| match a {
                    Call::Shell { command } => tools::words(&command),
                    _ => None,
                })
                .collect();
            let nm: Vec<&Vec<String>> = not_match
                .iter()
                .filter(|w| !(w.len() >= pw.len() && w[..pw.len()] == pw[..]))
                .collect();
            let _ = writeln!(out, "prefix_rule(");
            let _ = writeln!(out, "    pattern = {},", starlark_list(&pw));
            let _ = writeln!(out, "    decision = \"{}\",", codex_decision(k.mv));
            let _ = writeln!(
                out,
                "    justification = {},",
                starlark_str(&format!(
                    "cirl: {} → {} ({})",
                    k.name,
                    k.mv.as_str(),
                    k.reason.as_str()
                ))
            );
            if !matching.is_empty() {
                let m: Vec<String> = matching.iter().map(|w| starlark_list(w)).collect();
                let _ = writeln!(out, "    match = [{}],", m.join(", "));
            }
            if !nm.is_empty() {
                let m: Vec<String> = nm.iter().map(|w| starlark_list(w)).collect();
                let _ = writeln!(out, "    not_match = [{}],", m.join(", "));
            }
            let _ = writeln!(out, ")");
        }
    }
    out
}

/// LangChain's HumanInTheLoopMiddleware configuration for the classes' function and MCP tools.
pub fn langchain_hitl(c: &Calibration) -> serde_json::Value {
    let mut interrupt_on = serde_json::Map::new();
    let mut blocked = Vec::new();
    for k in &c.classes {
        let names: Vec<String> = k
            .tools
            .tool
            .iter()
            .cloned()
            .chain(
                k.tools
                    .mcp
                    .iter()
                    .filter_map(|m| m.split_once('/').map(|x| x.1.to_string()))
                    .filter(|t| t != "*"),
            )
            .collect();
        for n in names {
            let v = match k.mv {
                Move::Act => json!(false),
                Move::Ask => json!({
                    "allowed_decisions": if k.reversible { json!(["approve", "edit", "reject"]) } else { json!(["approve", "reject"]) },
                    "description": format!("cirl: {} asks ({})", k.name, k.reason.as_str()),
                }),
                Move::HandOver => json!({
                    "allowed_decisions": ["respond"],
                    "description": deny_message(k),
                }),
                Move::Block => {
                    blocked.push(json!({"tool": n, "reason": deny_message(k)}));
                    continue;
                }
            };
            interrupt_on.insert(n, v);
        }
    }
    json!({
        "policy": c.deployed.static_rules,
        "interrupt_on": interrupt_on,
        "blocked_tools": blocked,
        "note": "Pass interrupt_on to HumanInTheLoopMiddleware(interrupt_on=...); leave the blocked tools out of the agent's tools. For per-call routing on confidence use cirl_gate.langchain (adapters/python), which adds a `when` predicate asking `cirl gate`.",
    })
}

/// What the gate needs of one class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateClass {
    /// The class's name.
    pub name: String,
    /// The tools it covers.
    pub tools: Tools,
    /// The class-level move (the gate's answer when no confidence is given).
    #[serde(rename = "move")]
    pub mv: Move,
    /// Why it does not simply act (the card's reasons, spelt as [`super::Reason::as_str`] does).
    pub reasons: Vec<String>,
    /// The per-action policy: [from, to) in reported confidence → move (the last interval includes 1).
    pub regions: Vec<(f64, f64, Move)>,
}

/// The part of the card the gate reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateCard {
    /// The gate card's format version (1).
    pub version: u32,
    /// The scenario it was calibrated from.
    pub scenario: String,
    /// The per-action policy the regions come from.
    pub policy: String,
    /// The answer for a call no class covers (`None`: defer to the runtime).
    pub unmatched: Option<Move>,
    /// Where confidence comes from (for the log) and its resolution.
    pub signal: super::scenario::Signal,
    /// The classes, in scenario order.
    pub classes: Vec<GateClass>,
}

/// The gate's card from a calibration.
pub fn gate_card(c: &Calibration, unmatched: Option<Move>) -> GateCard {
    GateCard {
        version: 1,
        scenario: c.scenario.clone(),
        policy: c.deployed.per_action.clone(),
        unmatched,
        signal: c.signal.clone(),
        classes: c
            .classes
            .iter()
            .map(|k| GateClass {
                name: k.name.clone(),
                tools: k.tools.clone(),
                mv: k.mv,
                reasons: k.reasons.iter().map(|r| r.as_str().to_string()).collect(),
                regions: k
                    .regions
                    .iter()
                    .map(|r| (r.reported_from, r.reported_to, r.mv))
                    .collect(),
            })
            .collect(),
    }
}

/// The classes as the classifier sees them.
pub fn class_tools(c: &Calibration) -> Vec<ClassTools> {
    c.classes
        .iter()
        .map(|k| ClassTools {
            name: k.name.clone(),
            tools: k.tools.clone(),
        })
        .collect()
}

/// Problems with the exported rules: dead entries, swallowed or unmatched examples (one line each).
pub fn problems(c: &Calibration) -> Vec<String> {
    let classes = class_tools(c);
    let examples: Vec<tools::Examples> = c.classes.iter().map(|k| k.examples.clone()).collect();
    let moves: Vec<Move> = c.classes.iter().map(|k| k.mv).collect();
    tools::check(&classes, &examples, &moves)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_become_anchored_regexes() {
        let re = |g: &str| regex::Regex::new(&format!("^{}$", glob_regex(g))).unwrap();
        assert!(re("infra/**").is_match("infra/a/b.tf"));
        assert!(re("src/*.rs").is_match("src/main.rs"));
        assert!(!re("src/*.rs").is_match("src/a/main.rs"));
        assert!(re("**/*.env").is_match("prod.env"));
        assert!(re("**/*.env").is_match("a/b/prod.env"));
        let p = regex::Regex::new(
            &gemini_path_pattern("file_path", "infra/**").replace("\\0", "\u{0}"),
        )
        .unwrap();
        assert!(p.is_match("{\u{0}\"file_path\":\"/w/p/infra/main.tf\"\u{0}}"));
        assert!(p.is_match("{\u{0}\"file_path\":\"infra/main.tf\"\u{0}}"));
        assert!(!p.is_match("{\u{0}\"file_path\":\"/w/p/myinfra/main.tf\"\u{0}}"));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_quote("/a/b-c.json"), "/a/b-c.json");
        assert_eq!(shell_quote("/a b/c'd"), "'/a b/c'\\''d'");
    }
}
