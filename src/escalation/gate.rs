//! The runtime gate (`cirl gate`): the card's per-action policy, answering one tool call at a time.
//!
//! The gate reads the `gate` section of a card (`card.json`), turns a runtime's tool call into a
//! [`Call`], finds the classes whose tools match it, and answers with the strictest of
//! their moves — each class's move at the call's reported confidence when one is given (its per-action
//! regions), its class-level move otherwise. A call no class covers gets the card's stated default
//! (`[gate] unmatched`; `defer` leaves it to the runtime). Every decision is committed to the decision log
//! ([`super::log`]) before it is answered.
//!
//! - **Claude Code** (`--format claude-hook`): a PreToolUse hook payload on stdin (`tool_name`, `tool_input`,
//!   `session_id`, `tool_use_id`, `cwd`, …); on stdout `{"hookSpecificOutput": {"hookEventName":
//!   "PreToolUse", "permissionDecision": "allow" | "ask" | "deny", "permissionDecisionReason": …}}`, or
//!   nothing to defer. A malformed payload is one line on stderr and exit 2 — which Claude Code reads as a
//!   block (the call is refused with that line as the reason): the gate fails closed.
//!   `--format claude-post-hook` (PostToolUse) records "approve" for an asked call that then ran.
//! - **SDK adapters** (`--format jsonl`): one request per line, `{"tool": …, "input": {…}, "confidence": …,
//!   "server": …, "annotations": {…}, "session": …, "tool_use_id": …, "request_id": …}`; one decision object
//!   per line. A bad line gets `{"error": …}` and the stream goes on.
//!
//! Confidence comes from the request's `confidence` field, from a verifier command (`--verifier CMD`: run with
//! the payload on stdin, its first number on stdout is the confidence), or nowhere: then every class answers
//! with its class-level move.

use std::io::Read as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::export::GateCard;
use super::model::Move;
use super::tools::{Call, ClassTools, classify};
use crate::error::{Error, Result};

/// The largest card the gate reads.
pub const MAX_CARD_BYTES: u64 = 64 << 20;
/// The largest payload or request line.
pub const MAX_REQUEST_BYTES: usize = 8 << 20;

/// A loaded gate.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The card's gate section.
    pub card: GateCard,
    /// A hash of the gate section (FNV-1a 64): which card a logged decision came from.
    pub hash: String,
    classes: Vec<ClassTools>,
}

#[derive(Deserialize)]
struct CardFile {
    gate: Option<GateCard>,
}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// Where a call's confidence came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// The request carried it.
    Request,
    /// The verifier command gave it.
    Verifier,
    /// No confidence.
    None,
}

impl Source {
    /// The log's spelling (request, verifier, none).
    pub fn as_str(&self) -> &'static str {
        match self {
            Source::Request => "request",
            Source::Verifier => "verifier",
            Source::None => "none",
        }
    }
}

/// A tool call as the gate receives it.
#[derive(Debug, Clone)]
pub struct Request {
    /// The runtime's tool name.
    pub tool: String,
    /// The call's arguments.
    pub input: Value,
    /// The call as the classifier sees it.
    pub call: Call,
    /// The agent's confidence in the call, in [0, 1].
    pub confidence: Option<f64>,
    /// Where the confidence came from.
    pub source: Source,
    /// The runtime's session id.
    pub session: Option<String>,
    /// The runtime's tool-use id.
    pub tool_use_id: Option<String>,
    /// The project root (paths are matched relative to it).
    pub cwd: Option<String>,
    /// Echoed back (jsonl).
    pub request_id: Option<Value>,
}

/// The gate's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// allow | ask | deny | defer.
    pub decision: &'static str,
    /// The move (none: deferred to the runtime).
    #[serde(rename = "move")]
    pub mv: Option<Move>,
    /// The class that decided (none: no class matched).
    pub class: Option<String>,
    /// The region of the deciding class: [from, to) in reported confidence.
    pub region: Option<(f64, f64)>,
    /// Why, in a line.
    pub reason: String,
    /// The confidence the decision used.
    pub confidence: Option<f64>,
    /// Where it came from.
    pub confidence_source: Source,
    /// The decision's id in the log.
    pub id: Option<i64>,
    /// The request's id, echoed back (jsonl).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Value>,
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// The call a tool of an agent runtime makes, from its name and arguments (Claude Code's and Gemini CLI's
/// built-in tools, `mcp__server__tool` names, shell tools of the SDKs; anything else is a bare tool).
pub fn call_of(tool: &str, input: &Value, server: Option<&str>, annotations: &Value) -> Call {
    let ann: std::collections::BTreeMap<String, bool> = annotations
        .as_object()
        .map(|o| {
            o.iter()
                .filter_map(|(k, v)| v.as_bool().map(|b| (k.clone(), b)))
                .collect()
        })
        .unwrap_or_default();
    if let Some(s) = server {
        return Call::Mcp {
            server: s.to_string(),
            tool: tool.to_string(),
            annotations: ann,
        };
    }
    if let Some(rest) = tool.strip_prefix("mcp__")
        && let Some((s, t)) = rest.split_once("__")
    {
        return Call::Mcp {
            server: s.to_string(),
            tool: t.to_string(),
            annotations: ann,
        };
    }
    let path = |keys: &[&str]| -> String {
        keys.iter()
            .find_map(|k| str_field(input, k))
            .unwrap_or(".")
            .to_string()
    };
    match tool {
        "Bash" | "bash" | "shell" | "run_shell_command" | "ShellTool" | "local_shell" => {
            let command = match input.get("command") {
                Some(Value::String(s)) => s.clone(),
                // The Agents SDK's shell tool passes a list of commands.
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join("\n"),
                _ => String::new(),
            };
            Call::Shell { command }
        }
        "Edit" | "Write" | "MultiEdit" | "replace" | "write_file" | "apply_patch" => Call::Edit {
            path: path(&["file_path", "path"]),
        },
        "NotebookEdit" => Call::Edit {
            path: path(&["notebook_path"]),
        },
        "Read" | "read_file" => Call::Read {
            path: path(&["file_path", "path"]),
        },
        "Glob" | "Grep" | "LS" | "glob" | "grep_search" | "list_directory" | "read_many_files" => {
            Call::Read {
                path: path(&["path", "dir_path"]),
            }
        }
        "WebFetch" | "web_fetch" => Call::Fetch {
            url: path(&["url", "prompt"]),
        },
        "Agent" | "Task" => Call::Agent {
            name: str_field(input, "subagent_type")
                .unwrap_or("general-purpose")
                .to_string(),
        },
        "invoke_agent" => Call::Agent {
            name: str_field(input, "agent_name").unwrap_or("").to_string(),
        },
        _ => Call::Tool {
            name: tool.to_string(),
            annotations: ann,
        },
    }
}

/// A confidence from a request, checked.
fn confidence_of(v: Option<&Value>) -> std::result::Result<Option<f64>, String> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let x = n.as_f64().unwrap_or(f64::NAN);
            if (0.0..=1.0).contains(&x) {
                Ok(Some(x))
            } else {
                Err(format!("confidence must be in [0, 1], got {x}"))
            }
        }
        Some(other) => Err(format!(
            "confidence must be a number in [0, 1], got {other}"
        )),
    }
}

/// The one-line error of a malformed request.
fn bad(field: &str, msg: impl Into<String>) -> Error {
    Error::invalid(field, msg)
}

impl Request {
    /// A Claude Code PreToolUse (or PostToolUse) hook payload.
    pub fn from_claude_hook(text: &str) -> Result<Request> {
        if text.len() > MAX_REQUEST_BYTES {
            return Err(bad("payload", "is larger than 8 MB"));
        }
        let v: Value =
            serde_json::from_str(text).map_err(|e| bad("payload", format!("not JSON: {e}")))?;
        if !v.is_object() {
            return Err(bad(
                "payload",
                "expected a JSON object with tool_name and tool_input",
            ));
        }
        let tool = str_field(&v, "tool_name")
            .ok_or_else(|| bad("payload.tool_name", "missing or not a string"))?
            .to_string();
        let input = v.get("tool_input").cloned().unwrap_or(Value::Null);
        if !input.is_object() {
            return Err(bad("payload.tool_input", "missing or not an object"));
        }
        let call = call_of(&tool, &input, None, &Value::Null);
        Ok(Request {
            call,
            tool,
            input,
            confidence: None,
            source: Source::None,
            session: str_field(&v, "session_id").map(str::to_string),
            tool_use_id: str_field(&v, "tool_use_id").map(str::to_string),
            cwd: str_field(&v, "cwd").map(str::to_string),
            request_id: None,
        })
    }

    /// One JSON-lines request.
    pub fn from_jsonl(line: &str) -> Result<Request> {
        let v: Value =
            serde_json::from_str(line).map_err(|e| bad("request", format!("not JSON: {e}")))?;
        if !v.is_object() {
            return Err(bad("request", "expected a JSON object with tool and input"));
        }
        let tool = str_field(&v, "tool")
            .ok_or_else(|| bad("request.tool", "missing or not a string"))?
            .to_string();
        let input = match v.get("input") {
            None | Some(Value::Null) => Value::Object(Default::default()),
            Some(x) if x.is_object() => x.clone(),
            Some(_) => {
                return Err(bad(
                    "request.input",
                    "must be an object of the tool's arguments",
                ));
            }
        };
        let confidence =
            confidence_of(v.get("confidence")).map_err(|m| bad("request.confidence", m))?;
        let server = match v.get("server") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(bad("request.server", "must be the MCP server's name")),
        };
        let annotations = v.get("annotations").cloned().unwrap_or(Value::Null);
        if !(annotations.is_null() || annotations.is_object()) {
            return Err(bad(
                "request.annotations",
                "must be an object of MCP tool annotations",
            ));
        }
        let call = call_of(&tool, &input, server, &annotations);
        Ok(Request {
            call,
            tool,
            input,
            source: if confidence.is_some() {
                Source::Request
            } else {
                Source::None
            },
            confidence,
            session: str_field(&v, "session").map(str::to_string),
            tool_use_id: str_field(&v, "tool_use_id").map(str::to_string),
            cwd: str_field(&v, "cwd").map(str::to_string),
            request_id: v.get("request_id").cloned(),
        })
    }
}

/// The move of a class at a reported confidence (its class-level move without one).
fn class_move(c: &super::export::GateClass, confidence: Option<f64>) -> (Move, Option<(f64, f64)>) {
    let Some(r) = confidence else {
        return (c.mv, None);
    };
    let n = c.regions.len();
    for (i, &(lo, hi, mv)) in c.regions.iter().enumerate() {
        if r >= lo && (r < hi || i == n - 1) {
            return (mv, Some((lo, hi)));
        }
    }
    (c.mv, None)
}

impl Gate {
    /// Loads the gate section of a card.
    pub fn load(path: &Path) -> Result<Gate> {
        let text = crate::input::read_text(path, MAX_CARD_BYTES, "--card")?;
        let f: CardFile = serde_json::from_str(&text).map_err(|e| {
            bad(
                "--card",
                format!(
                    "{} is not a card.json of cirl calibrate: {e}",
                    path.display()
                ),
            )
        })?;
        let card = f.gate.ok_or_else(|| {
            bad(
                "--card",
                format!(
                    "{} has no gate section: write it with cirl calibrate (this cirl's version)",
                    path.display()
                ),
            )
        })?;
        Gate::new(card)
    }

    /// The gate of a card's gate section (checked: a bad card is refused naming `--card`).
    pub fn new(card: GateCard) -> Result<Gate> {
        if card.version != 1 {
            return Err(bad(
                "--card",
                format!(
                    "gate card version {} (this cirl reads version 1)",
                    card.version
                ),
            ));
        }
        for c in &card.classes {
            c.tools.validate(&format!("gate.class {}", c.name))?;
        }
        let hash = format!(
            "{:016x}",
            fnv1a(
                serde_json::to_string(&card)
                    .expect("serializable")
                    .as_bytes()
            )
        );
        let classes = card
            .classes
            .iter()
            .map(|c| ClassTools {
                name: c.name.clone(),
                tools: c.tools.clone(),
            })
            .collect();
        Ok(Gate {
            hash,
            classes,
            card,
        })
    }

    /// Decides one call (not logged).
    pub fn decide(&self, req: &Request) -> Decision {
        // Each class at its move for this call's confidence; the strictest matching class wins.
        let routed: Vec<(Move, Option<(f64, f64)>)> = self
            .card
            .classes
            .iter()
            .map(|c| class_move(c, req.confidence))
            .collect();
        let moves: Vec<Move> = routed.iter().map(|x| x.0).collect();
        let r = classify(
            &self.classes,
            &moves,
            &req.call,
            req.cwd.as_deref(),
            self.card.unmatched,
        );
        let base = Decision {
            decision: "defer",
            mv: None,
            class: None,
            region: None,
            reason: String::new(),
            confidence: req.confidence,
            confidence_source: req.source,
            id: None,
            request_id: req.request_id.clone(),
        };
        match (r.mv, r.deciding) {
            (None, _) => Decision {
                reason:
                    "cirl: no class of the card covers this call; the runtime's own rules decide"
                        .into(),
                ..base
            },
            (Some(mv), None) => Decision {
                decision: mv.permission(),
                mv: Some(mv),
                reason: format!(
                    "cirl: no class of the card covers this call (or a part of it); the card's default is {}",
                    mv.permission()
                ),
                ..base
            },
            (Some(mv), Some(k)) => {
                let c = &self.card.classes[k];
                let region = routed[k].1;
                let at = match (region, req.confidence) {
                    (Some((lo, hi)), Some(x)) => format!(
                        " at reported confidence {} (region [{}, {}])",
                        super::fmt_conf(x),
                        super::fmt_conf(lo),
                        super::fmt_conf(hi)
                    ),
                    _ => " (class-level decision: no confidence given)".to_string(),
                };
                let what = match mv {
                    Move::HandOver => "; stop and hand this task to a human, with what you know",
                    Move::Block => "; do not do this: find another way or say why it is needed",
                    Move::Ask => "; a human decides",
                    Move::Act => "",
                };
                // The class's reasons explain its class-level move; a region's own move is explained by the
                // confidence it was chosen at.
                let why = if mv == c.mv {
                    c.reasons.join(", ")
                } else {
                    format!(
                        "at this confidence {} is worth more than the class's own {} ({})",
                        mv.as_str(),
                        c.mv.as_str(),
                        c.reasons.join(", ")
                    )
                };
                Decision {
                    decision: mv.permission(),
                    mv: Some(mv),
                    class: Some(c.name.clone()),
                    region,
                    reason: format!("cirl: class {} → {}{at} — {why}{what}", c.name, mv.as_str()),
                    ..base
                }
            }
        }
    }

    /// Decides one call and commits it to the log (when one is open) before returning it.
    pub fn decide_logged(
        &self,
        req: &Request,
        runtime: &str,
        log: Option<&super::log::Log>,
    ) -> Result<Decision> {
        let mut d = self.decide(req);
        if let Some(log) = log {
            let input = req.input.to_string();
            let call = serde_json::to_string(&req.call).expect("serializable");
            d.id = Some(log.append(&super::log::Entry {
                runtime,
                session: req.session.as_deref(),
                tool_use_id: req.tool_use_id.as_deref(),
                tool: &req.tool,
                input: &input,
                call: &call,
                class: d.class.as_deref(),
                confidence: d.confidence,
                confidence_source: d.confidence_source.as_str(),
                mv: d.mv.map(|m| m.as_str()),
                decision: d.decision,
                reason: &d.reason,
                scenario: &self.card.scenario,
                card: &self.hash,
            })?);
        }
        Ok(d)
    }
}

/// The confidence a verifier command gives a call: `sh -c CMD` with the payload on stdin; the first number
/// on its stdout, if in [0, 1]. Errors say why there is none (the gate then answers class-level).
pub fn verify(
    cmd: &str,
    payload: &str,
    timeout: std::time::Duration,
) -> std::result::Result<f64, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("the verifier did not start: {e}"))?;
    if let Some(mut sin) = child.stdin.take() {
        let _ = sin.write_all(payload.as_bytes());
    }
    let start = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("the verifier took longer than {:?}", timeout));
            }
            Ok(None) => std::thread::sleep(std::time::Duration::from_millis(1)),
            Err(e) => return Err(format!("the verifier failed: {e}")),
        }
    }
    let mut out = String::new();
    if let Some(so) = child.stdout.take() {
        let _ = so.take(1 << 16).read_to_string(&mut out);
    }
    let x = out
        .split_whitespace()
        .find_map(|w| w.parse::<f64>().ok())
        .ok_or_else(|| "the verifier printed no number".to_string())?;
    if (0.0..=1.0).contains(&x) {
        Ok(x)
    } else {
        Err(format!(
            "the verifier printed {x}, not a confidence in [0, 1]"
        ))
    }
}

/// The Claude Code hook output of a decision (`None`: defer, print nothing).
pub fn claude_output(d: &Decision) -> Option<Value> {
    (d.decision != "defer").then(|| {
        serde_json::json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": d.decision,
                "permissionDecisionReason": d.reason,
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escalation::export::{GateCard, GateClass};
    use crate::escalation::scenario::Signal;
    use crate::escalation::tools::Tools;

    fn card() -> GateCard {
        let tools = |shell: &[&str], edit: &[&str]| Tools {
            shell: shell.iter().map(|s| s.to_string()).collect(),
            edit: edit.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        };
        GateCard {
            version: 1,
            scenario: "t".into(),
            policy: "value-of-deferring".into(),
            unmatched: Some(Move::Ask),
            signal: Signal {
                source: "logprob".into(),
                resolution: 0.001,
            },
            classes: vec![
                GateClass {
                    name: "edit".into(),
                    tools: tools(&[], &["src/**"]),
                    mv: Move::Act,
                    reasons: vec!["acting-is-best".into()],
                    regions: vec![(0.0, 0.6, Move::Ask), (0.6, 1.0, Move::Act)],
                },
                GateClass {
                    name: "push".into(),
                    tools: tools(&["git push"], &[]),
                    mv: Move::Ask,
                    reasons: vec!["irreversibility".into()],
                    regions: vec![
                        (0.0, 0.2, Move::HandOver),
                        (0.2, 0.99, Move::Ask),
                        (0.99, 1.0, Move::Act),
                    ],
                },
            ],
        }
    }

    #[test]
    fn claude_payloads_are_routed_by_class_and_confidence() {
        let g = Gate::new(card()).unwrap();
        let payload = |tool: &str, input: &str| {
            format!(
                r#"{{"session_id":"s","tool_use_id":"t","cwd":"/p","hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{input}}}"#
            )
        };
        let d = g.decide(
            &Request::from_claude_hook(&payload("Edit", r#"{"file_path":"/p/src/a.rs"}"#)).unwrap(),
        );
        assert_eq!((d.decision, d.class.as_deref()), ("allow", Some("edit")));
        let d = g.decide(
            &Request::from_claude_hook(&payload("Bash", r#"{"command":"cd x && git push -f"}"#))
                .unwrap(),
        );
        assert_eq!((d.decision, d.mv), ("ask", Some(Move::Ask)));
        let d =
            g.decide(&Request::from_claude_hook(&payload("Bash", r#"{"command":"ls"}"#)).unwrap());
        assert_eq!((d.decision, d.class.as_deref()), ("ask", None));
        let out = claude_output(&d).unwrap();
        assert_eq!(out["hookSpecificOutput"]["hookEventName"], "PreToolUse");
        for bad in [
            "",
            "[]",
            "{}",
            r#"{"tool_name":"Bash"}"#,
            r#"{"tool_name":3,"tool_input":{}}"#,
        ] {
            assert!(
                Request::from_claude_hook(bad).unwrap_err().is_input_error(),
                "{bad}"
            );
        }
    }

    #[test]
    fn jsonl_requests_use_their_confidence() {
        let g = Gate::new(card()).unwrap();
        let d = |line: &str| g.decide(&Request::from_jsonl(line).unwrap());
        let r = d(r#"{"tool":"bash","input":{"command":"git push"},"confidence":0.1}"#);
        assert_eq!(
            (r.decision, r.mv, r.region),
            ("deny", Some(Move::HandOver), Some((0.0, 0.2)))
        );
        assert!(
            r.reason.contains("hand this task to a human"),
            "{}",
            r.reason
        );
        let r = d(r#"{"tool":"bash","input":{"command":"git push"},"confidence":0.995}"#);
        assert_eq!(r.decision, "allow");
        let r = d(r#"{"tool":"bash","input":{"command":"git push"},"confidence":1}"#);
        assert_eq!(r.decision, "allow", "the last region includes 1");
        let r = d(r#"{"tool":"write_file","input":{"file_path":"src/x.rs"},"confidence":0.3}"#);
        assert_eq!(r.decision, "ask");
        for bad in [
            r#"{"tool":"bash","confidence":1.5}"#,
            r#"{"tool":"bash","confidence":"high"}"#,
            r#"{"input":{}}"#,
            r#"{"tool":"x","input":[1]}"#,
            "not json",
        ] {
            assert!(
                Request::from_jsonl(bad).unwrap_err().is_input_error(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_verifier_gives_a_confidence_or_says_why_not() {
        let t = std::time::Duration::from_secs(5);
        assert_eq!(verify("cat >/dev/null; echo 0.75", "{}", t), Ok(0.75));
        assert!(verify("echo 7", "{}", t).is_err());
        assert!(verify("echo none", "{}", t).is_err());
        assert!(verify("sleep 5", "{}", std::time::Duration::from_millis(100)).is_err());
    }
}

/// How the gate is run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The verifier command giving each call's confidence.
    pub verifier: Option<String>,
    /// How long the verifier may take per call, in milliseconds.
    pub verifier_timeout_ms: u64,
}

/// A call's confidence from the verifier, if there is one: (confidence, source, why none).
fn verified(opts: &RunOptions, payload: &str) -> (Option<f64>, Source, Option<String>) {
    match &opts.verifier {
        None => (None, Source::None, None),
        Some(cmd) => match verify(
            cmd,
            payload,
            std::time::Duration::from_millis(opts.verifier_timeout_ms.max(1)),
        ) {
            Ok(x) => (Some(x), Source::Verifier, None),
            Err(e) => (None, Source::None, Some(e)),
        },
    }
}

/// Answers one Claude Code PreToolUse payload: the hook's stdout text ("" to defer).
pub fn claude_hook(
    gate: &Gate,
    payload: &str,
    log: Option<&super::log::Log>,
    opts: &RunOptions,
) -> Result<String> {
    let mut req = Request::from_claude_hook(payload)?;
    let (c, src, why) = verified(opts, payload);
    req.confidence = c;
    req.source = src;
    let mut d = gate.decide_logged(&req, "claude-hook", log)?;
    if let Some(w) = why {
        d.reason.push_str(&format!(" (no confidence: {w})"));
    }
    Ok(claude_output(&d).map_or(String::new(), |v| v.to_string() + "\n"))
}

/// Records a PostToolUse payload: an asked call that ran was approved.
pub fn claude_post_hook(payload: &str, log: &super::log::Log) -> Result<()> {
    let req = Request::from_claude_hook(payload)?;
    if let Some(id) = req.tool_use_id.as_deref()
        && let Some((decision_id, decision)) = log.find_tool_use(id)?
        && decision == "ask"
    {
        log.record_answer(decision_id, "approve")?;
    }
    Ok(())
}

/// Answers a stream of JSON-lines requests, one decision (or `{"error": …}`) per line, flushed after each.
/// Returns the number of bad lines.
pub fn jsonl<R: std::io::BufRead, W: std::io::Write>(
    gate: &Gate,
    input: R,
    mut out: W,
    log: Option<&super::log::Log>,
    opts: &RunOptions,
) -> Result<usize> {
    let mut bad_lines = 0;
    let io = |source| Error::Io {
        path: "stdout".into(),
        source,
    };
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|source| Error::Io {
            path: "stdin".into(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let answer = if line.len() > MAX_REQUEST_BYTES {
            Err(bad("request", "is larger than 8 MB"))
        } else {
            Request::from_jsonl(&line).and_then(|mut req| {
                let mut why = None;
                if req.confidence.is_none() {
                    let (c, src, w) = verified(opts, &line);
                    req.confidence = c;
                    req.source = src;
                    why = w;
                }
                let mut d = gate.decide_logged(&req, "jsonl", log)?;
                if let Some(w) = why {
                    d.reason.push_str(&format!(" (no confidence: {w})"));
                }
                Ok(serde_json::to_value(&d).expect("serializable"))
            })
        };
        let v = match answer {
            Ok(v) => v,
            Err(e) if e.is_input_error() => {
                bad_lines += 1;
                serde_json::json!({"error": format!("line {}: {e}", n + 1)})
            }
            Err(e) => return Err(e),
        };
        writeln!(out, "{v}").map_err(io)?;
        out.flush().map_err(io)?;
    }
    Ok(bad_lines)
}
