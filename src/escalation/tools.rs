//! One class spec drives every export: the tools a class covers, the example calls it must and must not match,
//! and cirl's own classifier of a tool call (used by the export checks and by the runtime gate).
//!
//! ```toml
//! [[class]]
//! name = "irreversible"
//! tools = { shell = ["git push --force", "git push -f", "rm -rf"], mcp = ["github/merge_pull_request"] }
//! match = ["shell: git push -f origin main", "mcp: github/merge_pull_request"]
//! not_match = ["shell: git push origin main"]
//! ```
//!
//! Tool kinds and what a call must be to match:
//! - `shell`: command prefixes, matched word by word against every simple command of a shell line (split at
//!   `&&`, `||`, `;`, `|`, `&` and newlines outside quotes; leading `VAR=value` assignments skipped);
//! - `edit`, `read`: paths of files written or read, as gitignore-style globs relative to the project root
//!   (`*` within a path segment, `**` across segments; a pattern without `/` matches at any depth);
//! - `mcp`: `server/tool`, or `server/*` for every tool of a server;
//! - `fetch`: web domains (a subdomain matches its domain);
//! - `agent`: subagents by name;
//! - `tool`: other tools by their bare name (SDK function tools, e.g. `issue_refund`);
//! - `annotations`: MCP tool annotations the tool must declare (`destructiveHint = true`): a class signal read
//!   from the tool itself (an annotation the tool does not declare never matches, as in Gemini CLI).
//!
//! Example calls are written `kind: value`, e.g. `shell: rm -rf build`, `edit: infra/main.tf`,
//! `mcp: support/issue_refund`, `mcp: github/delete_repo [destructiveHint]`, `fetch: https://docs.rs/x`,
//! `agent: refactor`, `tool: issue_refund`.
//!
//! Where several classes match a call, the strictest move wins (block > hand over > ask > act), as deny → ask →
//! allow does in Claude Code, priorities do in Gemini CLI and forbidden > prompt > allow does in Codex; a shell
//! line takes the strictest of its commands.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::model::Move;
use crate::error::{Error, Result};

/// The MCP tool annotations a class can require.
pub const ANNOTATIONS: [&str; 4] = [
    "readOnlyHint",
    "destructiveHint",
    "idempotentHint",
    "openWorldHint",
];

/// The tools a class covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tools {
    /// Shell command prefixes, matched word by word against every simple command of a line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shell: Vec<String>,
    /// Paths of files written (gitignore-style globs relative to the project root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edit: Vec<String>,
    /// Paths of files read (gitignore-style globs relative to the project root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<String>,
    /// MCP tools: `server/tool`, or `server/*` for every tool of a server.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mcp: Vec<String>,
    /// Web domains fetched (a subdomain matches its domain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fetch: Vec<String>,
    /// Subagents, by name.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent: Vec<String>,
    /// Other tools, by their bare name (SDK function tools).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool: Vec<String>,
    /// MCP tool annotations the tool must declare (`destructiveHint = true`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, bool>,
}

/// A tool call, as the classifier sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Call {
    /// A shell line.
    Shell {
        /// The line as the agent runs it.
        command: String,
    },
    /// A file written.
    Edit {
        /// Its path.
        path: String,
    },
    /// A file read.
    Read {
        /// Its path.
        path: String,
    },
    /// An MCP tool call.
    Mcp {
        /// The server's name.
        server: String,
        /// The tool's name on that server.
        tool: String,
        /// The annotations the tool declares.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        annotations: BTreeMap<String, bool>,
    },
    /// A web fetch.
    Fetch {
        /// The URL fetched.
        url: String,
    },
    /// A subagent started.
    Agent {
        /// The subagent's name.
        name: String,
    },
    /// Any other tool (an SDK function tool, say).
    Tool {
        /// The tool's bare name.
        name: String,
        /// The annotations the tool declares.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        annotations: BTreeMap<String, bool>,
    },
}

impl Call {
    /// Parses an example call `kind: value`.
    pub fn parse(text: &str) -> std::result::Result<Call, String> {
        let (kind, value) = text.split_once(':').ok_or_else(|| {
            format!(
                "'{text}': write an example call as kind: value, e.g. \"shell: git push origin main\" (kinds: shell, edit, read, mcp, fetch, agent, tool)"
            )
        })?;
        let value = value.trim();
        if value.is_empty() {
            return Err(format!("'{text}': the call has no value after '{kind}:'"));
        }
        Ok(match kind.trim() {
            "shell" => Call::Shell {
                command: value.into(),
            },
            "edit" => Call::Edit { path: value.into() },
            "read" => Call::Read { path: value.into() },
            "fetch" => Call::Fetch { url: value.into() },
            "agent" => Call::Agent { name: value.into() },
            "tool" => {
                let (name, annotations) = split_annotations(value)?;
                Call::Tool { name, annotations }
            }
            "mcp" => {
                let (name, annotations) = split_annotations(value)?;
                let (server, tool) = name.split_once('/').ok_or_else(|| {
                    format!("'{text}': an MCP call is server/tool, e.g. mcp: github/create_issue")
                })?;
                Call::Mcp {
                    server: server.into(),
                    tool: tool.into(),
                    annotations,
                }
            }
            other => {
                return Err(format!(
                    "'{text}': unknown kind '{other}'; use shell, edit, read, mcp, fetch, agent or tool"
                ));
            }
        })
    }

    /// The call as an example string.
    pub fn text(&self) -> String {
        let ann = |a: &BTreeMap<String, bool>| {
            let on: Vec<&str> = a.iter().filter(|x| *x.1).map(|x| x.0.as_str()).collect();
            if on.is_empty() {
                String::new()
            } else {
                format!(" [{}]", on.join(", "))
            }
        };
        match self {
            Call::Shell { command } => format!("shell: {command}"),
            Call::Edit { path } => format!("edit: {path}"),
            Call::Read { path } => format!("read: {path}"),
            Call::Mcp {
                server,
                tool,
                annotations,
            } => format!("mcp: {server}/{tool}{}", ann(annotations)),
            Call::Fetch { url } => format!("fetch: {url}"),
            Call::Agent { name } => format!("agent: {name}"),
            Call::Tool { name, annotations } => format!("tool: {name}{}", ann(annotations)),
        }
    }

    /// The atomic calls: a shell line's simple commands, or the call itself.
    pub fn atoms(&self) -> Vec<Call> {
        match self {
            Call::Shell { command } => {
                let parts = split_shell(command);
                if parts.is_empty() {
                    vec![self.clone()]
                } else {
                    parts
                        .into_iter()
                        .map(|command| Call::Shell { command })
                        .collect()
                }
            }
            _ => vec![self.clone()],
        }
    }
}

/// `name [hint, hint]` → the name and the annotations set to true.
fn split_annotations(v: &str) -> std::result::Result<(String, BTreeMap<String, bool>), String> {
    let Some(open) = v.find('[') else {
        return Ok((v.trim().to_string(), BTreeMap::new()));
    };
    let close = v
        .rfind(']')
        .filter(|c| *c > open)
        .ok_or_else(|| format!("'{v}': close the annotation list with ]"))?;
    let mut a = BTreeMap::new();
    for h in v[open + 1..close]
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
    {
        if !ANNOTATIONS.contains(&h) {
            return Err(format!(
                "'{h}' is not an MCP tool annotation; use {}",
                ANNOTATIONS.join(", ")
            ));
        }
        a.insert(h.to_string(), true);
    }
    Ok((v[..open].trim().to_string(), a))
}

/// The simple commands of a shell line: split at `&&`, `||`, `;`, `|`, `&`, newlines, `(` and `)` outside
/// quotes, trimmed, empty ones dropped.
pub fn split_shell(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let (mut single, mut double) = (false, false);
    while let Some(c) = chars.next() {
        match c {
            '\\' if !single => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '\'' if !double => {
                single = !single;
                cur.push(c);
            }
            '"' if !single => {
                double = !double;
                cur.push(c);
            }
            ';' | '&' | '|' | '\n' | '(' | ')' if !single && !double => {
                if (c == '&' || c == '|') && chars.peek() == Some(&c) {
                    chars.next();
                }
                out.push(std::mem::take(&mut cur));
            }
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The words of a simple command, leading `VAR=value` assignments dropped (`None` if it does not parse).
pub fn words(command: &str) -> Option<Vec<String>> {
    let w = shlex::split(command)?;
    let first = w
        .iter()
        .position(|x| {
            !(x.contains('=')
                && x.split('=').next().is_some_and(|n| {
                    !n.is_empty()
                        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !n.starts_with(|c: char| c.is_ascii_digit())
                }))
        })
        .unwrap_or(w.len());
    Some(w[first..].to_vec())
}

/// Whether the words of a command start with the words of a prefix.
fn prefix_matches(prefix: &[String], words: &[String]) -> bool {
    words.len() >= prefix.len() && prefix.iter().zip(words).all(|(p, w)| p == w)
}

/// A path relative to the project root: `./` stripped, an absolute path inside `root` made relative (outside
/// it, kept absolute so no relative pattern matches).
pub fn relative_path(path: &str, root: Option<&str>) -> String {
    let p = path.trim();
    if let Some(r) = root {
        let r = r.trim_end_matches('/');
        if !r.is_empty()
            && let Some(rest) = p.strip_prefix(r)
            && (rest.is_empty() || rest.starts_with('/'))
        {
            return rest.trim_start_matches('/').to_string();
        }
    }
    let mut p = p;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    p.to_string()
}

/// Whether one path segment matches one glob segment (`*`: any run of characters, `?`: one character).
fn segment_matches(pat: &[char], s: &[char]) -> bool {
    match pat.first() {
        None => s.is_empty(),
        Some('*') => (0..=s.len()).any(|i| segment_matches(&pat[1..], &s[i..])),
        Some('?') => !s.is_empty() && segment_matches(&pat[1..], &s[1..]),
        Some(c) => s.first() == Some(c) && segment_matches(&pat[1..], &s[1..]),
    }
}

/// The segments of a glob, `**/` prepended to a pattern without `/` (gitignore: it matches at any depth).
fn glob_segments(glob: &str) -> Vec<String> {
    let g = glob.trim_end_matches('/');
    let mut segs: Vec<String> = g.split('/').map(str::to_string).collect();
    if !g.contains('/') {
        segs.insert(0, "**".into());
    }
    segs
}

fn segments_match(pat: &[String], path: &[&str]) -> bool {
    match pat.first() {
        None => path.is_empty(),
        Some(p) if p == "**" => (0..=path.len()).any(|i| segments_match(&pat[1..], &path[i..])),
        Some(p) => {
            !path.is_empty()
                && segment_matches(
                    &p.chars().collect::<Vec<_>>(),
                    &path[0].chars().collect::<Vec<_>>(),
                )
                && segments_match(&pat[1..], &path[1..])
        }
    }
}

/// Whether a project-relative path matches a glob.
pub fn glob_matches(glob: &str, path: &str) -> bool {
    if path.starts_with('/') {
        return false;
    }
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    segments_match(&glob_segments(glob), &segs)
}

/// Whether every path glob `narrow` matches is matched by `broad` (the wildcards of `narrow` read as symbols
/// that only the wildcards of `broad` can absorb: exact for `*`/`**` globs).
pub fn glob_contains(broad: &str, narrow: &str) -> bool {
    fn seg(b: &[char], n: &[char]) -> bool {
        match b.first() {
            None => n.is_empty(),
            Some('*') => (0..=n.len()).any(|i| seg(&b[1..], &n[i..])),
            Some('?') => !n.is_empty() && n[0] != '*' && seg(&b[1..], &n[1..]),
            Some(c) => n.first() == Some(c) && *c != '*' && seg(&b[1..], &n[1..]),
        }
    }
    fn segs(b: &[String], n: &[String]) -> bool {
        match b.first() {
            None => n.is_empty(),
            Some(p) if p == "**" => (0..=n.len()).any(|i| segs(&b[1..], &n[i..])),
            Some(p) => {
                !n.is_empty()
                    && n[0] != "**"
                    && seg(
                        &p.chars().collect::<Vec<_>>(),
                        &n[0].chars().collect::<Vec<_>>(),
                    )
                    && segs(&b[1..], &n[1..])
            }
        }
    }
    segs(&glob_segments(broad), &glob_segments(narrow))
}

/// The host of a URL (or the value itself when it is a bare domain).
pub fn host(url: &str) -> String {
    let u = url.trim();
    let u = u.split_once("://").map_or(u, |x| x.1);
    let u = u.split(['/', '?', '#']).next().unwrap_or("");
    let u = u.rsplit_once('@').map_or(u, |x| x.1);
    u.split(':').next().unwrap_or("").to_ascii_lowercase()
}

fn domain_matches(domain: &str, host: &str) -> bool {
    let d = domain.to_ascii_lowercase();
    host == d || host.ends_with(&format!(".{d}"))
}

/// Built-in Claude Code tools a `tool` entry must not name: they have their own kinds (or their path rules are
/// not consulted).
const RESERVED: [(&str, &str); 12] = [
    ("Bash", "shell"),
    ("Edit", "edit"),
    ("Write", "edit"),
    ("MultiEdit", "edit"),
    ("NotebookEdit", "edit"),
    ("Read", "read"),
    ("Glob", "read"),
    ("Grep", "read"),
    ("LS", "read"),
    ("WebFetch", "fetch"),
    ("Agent", "agent"),
    ("Task", "agent"),
];

fn name_ok(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
}

impl Tools {
    /// Whether the class covers no tool at all.
    pub fn is_empty(&self) -> bool {
        *self == Tools::default()
    }

    /// Checks every entry; `field` names the class in errors.
    pub fn validate(&self, field: &str) -> Result<()> {
        let bad = |k: &str, msg: String| Error::invalid(format!("{field}.tools.{k}"), msg);
        for p in &self.shell {
            let w = words(p).ok_or_else(|| {
                bad(
                    "shell",
                    format!("'{p}' does not parse as a command (an unclosed quote?)"),
                )
            })?;
            if w.is_empty() {
                return Err(bad(
                    "shell",
                    "an empty command prefix matches everything; list the commands".into(),
                ));
            }
            if split_shell(p) != [p.trim()] || w.iter().any(|x| x.contains('*')) {
                return Err(bad(
                    "shell",
                    format!(
                        "'{p}': a prefix is one plain command (no operators, no wildcards): it matches the command and its arguments, as Bash(prefix *), commandPrefix and prefix_rule do"
                    ),
                ));
            }
        }
        for (k, list) in [("edit", &self.edit), ("read", &self.read)] {
            for g in list {
                if g.trim().is_empty()
                    || g.starts_with('/')
                    || g.starts_with('~')
                    || g.split('/').any(|s| s == "..")
                    || g.contains(['\\', '[', ']', '{', '}', '"'])
                {
                    return Err(bad(
                        k,
                        format!(
                            "'{g}': give a path glob relative to the project root, e.g. src/** or *.env (no leading / or ~, no .., no [ ] {{ }} \\ \")"
                        ),
                    ));
                }
            }
        }
        for m in &self.mcp {
            let ok = m
                .split_once('/')
                .is_some_and(|(s, t)| name_ok(s) && (t == "*" || name_ok(t)));
            if !ok {
                return Err(bad(
                    "mcp",
                    format!(
                        "'{m}': an MCP tool is server/tool (or server/* for all of a server's tools), with letters, digits, _ - ."
                    ),
                ));
            }
        }
        for d in &self.fetch {
            if d.is_empty()
                || !d
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                return Err(bad("fetch", format!("'{d}': give a domain, e.g. docs.rs")));
            }
        }
        for a in &self.agent {
            if !name_ok(a) {
                return Err(bad(
                    "agent",
                    format!("'{a}': a subagent's name (letters, digits, _ - .)"),
                ));
            }
        }
        for t in &self.tool {
            if !name_ok(t) {
                return Err(bad(
                    "tool",
                    format!("'{t}': a tool's bare name (letters, digits, _ - .)"),
                ));
            }
            if let Some((_, kind)) = RESERVED.iter().find(|(n, _)| n == t) {
                return Err(bad(
                    "tool",
                    format!(
                        "'{t}' is a built-in tool with its own kind: list it under tools.{kind} (Claude Code does not consult {t}(…) path rules)"
                    ),
                ));
            }
        }
        for k in self.annotations.keys() {
            if !ANNOTATIONS.contains(&k.as_str()) {
                return Err(bad(
                    "annotations",
                    format!(
                        "'{k}' is not an MCP tool annotation; use {}",
                        ANNOTATIONS.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether an atomic call matches (paths relative to `root` when it is given).
    pub fn matches(&self, call: &Call, root: Option<&str>) -> bool {
        // Annotations match what the tool declares (an absent one never matches), as Gemini CLI's
        // toolAnnotations do; MCP's defaults for absent hints are not assumed.
        let ann_ok = |a: &BTreeMap<String, bool>| {
            !self.annotations.is_empty()
                && self.annotations.iter().all(|(k, v)| a.get(k) == Some(v))
        };
        match call {
            Call::Shell { command } => match words(command) {
                Some(w) => self
                    .shell
                    .iter()
                    .any(|p| words(p).is_some_and(|pw| prefix_matches(&pw, &w))),
                None => false,
            },
            Call::Edit { path } => {
                let p = relative_path(path, root);
                self.edit.iter().any(|g| glob_matches(g, &p))
            }
            Call::Read { path } => {
                let p = relative_path(path, root);
                self.read.iter().any(|g| glob_matches(g, &p))
            }
            Call::Mcp {
                server,
                tool,
                annotations,
            } => {
                self.mcp.iter().any(|m| {
                    m.split_once('/')
                        .is_some_and(|(s, t)| s == server && (t == "*" || t == tool))
                }) || ann_ok(annotations)
            }
            Call::Fetch { url } => {
                let h = host(url);
                self.fetch.iter().any(|d| domain_matches(d, &h))
            }
            Call::Agent { name } => self.agent.iter().any(|a| a == name),
            Call::Tool { name, annotations } => {
                self.tool.iter().any(|t| t == name) || ann_ok(annotations)
            }
        }
    }

    /// Every entry as (kind, text), for the checks.
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (k, v) in [
            ("shell", &self.shell),
            ("edit", &self.edit),
            ("read", &self.read),
            ("mcp", &self.mcp),
            ("fetch", &self.fetch),
            ("agent", &self.agent),
            ("tool", &self.tool),
        ] {
            out.extend(v.iter().map(|x| (k, x.clone())));
        }
        for (k, v) in &self.annotations {
            out.push(("annotations", format!("{k} = {v}")));
        }
        out
    }
}

/// Whether every call entry `narrow` of kind `kind` matches is matched by `broad`.
pub fn entry_contains(kind: &str, broad: &str, narrow: &str) -> bool {
    match kind {
        "shell" => match (words(broad), words(narrow)) {
            (Some(b), Some(n)) => prefix_matches(&b, &n),
            _ => false,
        },
        "edit" | "read" => glob_contains(broad, narrow),
        "mcp" => match (broad.split_once('/'), narrow.split_once('/')) {
            (Some((bs, bt)), Some((ns, nt))) => bs == ns && (bt == "*" || bt == nt),
            _ => false,
        },
        "fetch" => domain_matches(broad, &narrow.to_ascii_lowercase()),
        _ => broad == narrow,
    }
}

/// A class as the classifier sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassTools {
    /// The class's name.
    pub name: String,
    /// The tools it covers.
    pub tools: Tools,
}

/// How one call is decided: the classes each of its atoms matched and the move that wins.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classified {
    /// Per atom: the indices of the classes that match it.
    pub atoms: Vec<(Call, Vec<usize>)>,
    /// The class whose move decides (the strictest over atoms and classes), or `None` when some atom
    /// matches no class and the default decides.
    pub deciding: Option<usize>,
    /// The winning move (`None`: no class and no default decides the call).
    pub mv: Option<Move>,
}

/// Classifies a call against the classes, each at its move; unmatched atoms get `default` (`None`: no
/// opinion) and the strictest wins.
pub fn classify(
    classes: &[ClassTools],
    moves: &[Move],
    call: &Call,
    root: Option<&str>,
    default: Option<Move>,
) -> Classified {
    let atoms: Vec<(Call, Vec<usize>)> = call
        .atoms()
        .into_iter()
        .map(|a| {
            let m: Vec<usize> = classes
                .iter()
                .enumerate()
                .filter(|(_, c)| c.tools.matches(&a, root))
                .map(|(i, _)| i)
                .collect();
            (a, m)
        })
        .collect();
    let mut best: Option<(Option<usize>, Move)> = None;
    let mut undecided = false;
    for (_, m) in &atoms {
        if m.is_empty() {
            match default {
                Some(d) => {
                    if best.is_none_or(|b| d.strictness() > b.1.strictness()) {
                        best = Some((None, d));
                    }
                }
                None => undecided = true,
            }
        }
        for &i in m {
            let mv = moves[i];
            if best.is_none_or(|b| mv.strictness() > b.1.strictness()) {
                best = Some((Some(i), mv));
            }
        }
    }
    // An unmatched atom with no default leaves the whole call to the runtime unless something stricter
    // than allowing already decides it.
    if undecided && best.is_some_and(|b| b.1 == Move::Act) {
        best = None;
    }
    Classified {
        atoms,
        deciding: best.and_then(|b| b.0),
        mv: best.map(|b| b.1),
    }
}

/// A class's example calls.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Examples {
    /// Calls the class must match.
    #[serde(rename = "match")]
    pub matching: Vec<Call>,
    /// Calls it must not match.
    pub not_match: Vec<Call>,
}

/// Problems with how the classes' tools and examples fit together: each a one-line message.
pub fn check(classes: &[ClassTools], examples: &[Examples], moves: &[Move]) -> Vec<String> {
    let mut errors = Vec::new();
    // Dead entries: every call an entry matches is also matched by a broader entry of a stricter class.
    for (i, a) in classes.iter().enumerate() {
        for (kind, narrow) in a.tools.entries() {
            if kind == "annotations" {
                continue;
            }
            for (j, b) in classes.iter().enumerate() {
                if i == j || moves[j].strictness() <= moves[i].strictness() {
                    continue;
                }
                for (kb, broad) in b.tools.entries() {
                    if kb == kind && entry_contains(kind, &broad, &narrow) {
                        errors.push(format!(
                            "class {}'s {kind} entry '{narrow}' is dead: class {}'s '{broad}' matches every call it does and is stricter ({} beats {}); narrow '{broad}' or drop '{narrow}'",
                            a.name,
                            b.name,
                            moves[j].as_str(),
                            moves[i].as_str()
                        ));
                    }
                }
            }
        }
    }
    for (i, (c, ex)) in classes.iter().zip(examples).enumerate() {
        for call in &ex.matching {
            let r = classify(classes, moves, call, None, None);
            let in_class = r.atoms.iter().any(|(_, m)| m.contains(&i));
            if !in_class {
                errors.push(format!(
                    "class {}: the example '{}' matches none of its tools",
                    c.name,
                    call.text()
                ));
                continue;
            }
            if r.mv.map(|m| m.permission()) != Some(moves[i].permission()) {
                let by = r
                    .deciding
                    .map_or("a part of it that matches no class".to_string(), |j| {
                        format!("class {} ({})", classes[j].name, moves[j].as_str())
                    });
                errors.push(format!(
                    "class {} ({}): the example '{}' is decided {} by {by}: a broader or stricter rule swallows it",
                    c.name,
                    moves[i].as_str(),
                    call.text(),
                    r.mv.map_or("by the runtime", |m| m.permission())
                ));
            }
        }
        for call in &ex.not_match {
            let r = classify(classes, moves, call, None, None);
            if r.atoms.iter().any(|(_, m)| m.contains(&i)) {
                errors.push(format!(
                    "class {}: the example '{}' should not match it, but does",
                    c.name,
                    call.text()
                ));
            }
        }
    }
    errors
}

/// The entries no `match` example exercises, per class (to be tested, every exported rule needs one).
pub fn unexercised(classes: &[ClassTools], examples: &[Examples]) -> Vec<String> {
    let mut out = Vec::new();
    for (c, ex) in classes.iter().zip(examples) {
        for (kind, entry) in c.tools.entries() {
            let single = ClassTools {
                name: c.name.clone(),
                tools: only(&c.tools, kind, &entry),
            };
            let hit = ex
                .matching
                .iter()
                .any(|call| call.atoms().iter().any(|a| single.tools.matches(a, None)));
            if !hit {
                out.push(format!(
                    "class {}: no match example exercises its {kind} entry '{entry}'",
                    c.name
                ));
            }
        }
    }
    out
}

/// A tool set with one entry.
fn only(t: &Tools, kind: &str, entry: &str) -> Tools {
    let mut o = Tools::default();
    match kind {
        "shell" => o.shell.push(entry.into()),
        "edit" => o.edit.push(entry.into()),
        "read" => o.read.push(entry.into()),
        "mcp" => o.mcp.push(entry.into()),
        "fetch" => o.fetch.push(entry.into()),
        "agent" => o.agent.push(entry.into()),
        "tool" => o.tool.push(entry.into()),
        _ => o.annotations = t.annotations.clone(),
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_lines_split_into_simple_commands() {
        assert_eq!(
            split_shell("cd x && git push -f origin 'a && b'; ls | wc -l"),
            vec!["cd x", "git push -f origin 'a && b'", "ls", "wc -l"]
        );
        assert_eq!(
            split_shell("(make deploy) & echo \"x;y\""),
            vec!["make deploy", "echo \"x;y\""]
        );
        assert_eq!(words("FOO=1 BAR=2 git push").unwrap(), vec!["git", "push"]);
        assert_eq!(
            words("git commit -m 'a b'").unwrap(),
            vec!["git", "commit", "-m", "a b"]
        );
    }

    #[test]
    fn globs_match_like_gitignore() {
        assert!(glob_matches("infra/**", "infra/main.tf"));
        assert!(glob_matches("infra/**", "infra/a/b/c.tf"));
        assert!(!glob_matches("infra/**", "src/infra/x"));
        assert!(glob_matches("*.env", "a/b/.x.env"));
        assert!(glob_matches("*.env", "prod.env"));
        assert!(glob_matches("src/*.rs", "src/main.rs"));
        assert!(!glob_matches("src/*.rs", "src/a/main.rs"));
        assert!(glob_matches("**", "anything/at/all"));
        assert!(!glob_matches("**", "/etc/passwd"));
        assert_eq!(
            relative_path("/work/p/src/a.rs", Some("/work/p")),
            "src/a.rs"
        );
        assert_eq!(
            relative_path("/work/px/a.rs", Some("/work/p")),
            "/work/px/a.rs"
        );
        assert_eq!(relative_path("./src/a.rs", None), "src/a.rs");
    }

    #[test]
    fn containment_of_globs_prefixes_and_mcp() {
        assert!(glob_contains("**", "infra/**"));
        assert!(glob_contains("infra/**", "infra/prod/*.tf"));
        assert!(!glob_contains("infra/prod/*.tf", "infra/**"));
        assert!(glob_contains("*.tf", "infra/main.tf"));
        assert!(!glob_contains("src/*", "src/**"));
        assert!(entry_contains("shell", "git", "git push --force"));
        assert!(!entry_contains("shell", "git push --force", "git push"));
        assert!(!entry_contains("shell", "git pu", "git push"));
        assert!(entry_contains("mcp", "github/*", "github/merge"));
        assert!(!entry_contains("mcp", "github/merge", "github/*"));
        assert!(entry_contains("fetch", "github.com", "api.github.com"));
    }

    #[test]
    fn the_strictest_class_decides_and_examples_are_checked() {
        let cls = |name: &str, shell: &[&str]| ClassTools {
            name: name.into(),
            tools: Tools {
                shell: shell.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        };
        let classes = vec![cls("git", &["git"]), cls("force", &["git push --force"])];
        let moves = [Move::Act, Move::Ask];
        let c = |t: &str| Call::parse(t).unwrap();
        let r = classify(
            &classes,
            &moves,
            &c("shell: git push --force origin"),
            None,
            None,
        );
        assert_eq!((r.deciding, r.mv), (Some(1), Some(Move::Ask)));
        let r = classify(
            &classes,
            &moves,
            &c("shell: git status && rm -rf x"),
            None,
            None,
        );
        assert_eq!(
            r.mv, None,
            "an unmatched part leaves the line to the runtime"
        );
        let r = classify(
            &classes,
            &moves,
            &c("shell: git status && rm -rf x"),
            None,
            Some(Move::Ask),
        );
        assert_eq!(r.mv, Some(Move::Ask));
        // A broad allow swallows the variant the narrow ask misses: the example says so.
        let ex = vec![
            Examples::default(),
            Examples {
                matching: vec![
                    c("shell: git push --force origin"),
                    c("shell: git push -f origin"),
                ],
                not_match: vec![],
            },
        ];
        let errs = check(&classes, &ex, &moves);
        assert!(errs.iter().any(|e| e.contains("git push -f")), "{errs:?}");
        // A broad ask makes a narrow allow dead.
        let moves = [Move::Ask, Move::Act];
        let errs = check(
            &classes,
            &[Examples::default(), Examples::default()],
            &moves,
        );
        assert!(errs.iter().any(|e| e.contains("dead")), "{errs:?}");
    }
}
