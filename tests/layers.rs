//! The layering of ../shared/DESIGN.md, checked: every `crate::` path in the library's sources (`use` lines and
//! paths in code; comments skipped) is an edge from its module to another, and an edge a layer may not have fails
//! here, as does a cycle between top-level modules. The layers, lowest first:
//!
//! - **shared** (`error`, `rng`, `numerics`, `input`, `limits`, `output`): import only each other;
//! - **problems** (`belief`, `human`, `offswitch`, `model`, `games`): shared and problems only — never solvers,
//!   learners, simulators, the escalation application or the experiment layer;
//! - **solvers and learners** (`solvers`, `learn`, `sim`): shared, problems' generic models and priors — never a
//!   concrete game (`games`), nor anything above them;
//! - **the escalation application** (`escalation`): anything below, never the experiment layer;
//! - **experiments and the teaching page** (`experiment`, `solve`, `web`): anything.
//!
//! A known exception is written down in [`EXCEPTIONS`] with the review's number for it, so that it is a decision
//! and not an accident; removing one is the way to close it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

const SHARED: &[&str] = &["error", "rng", "numerics", "input", "limits", "output"];
const PROBLEMS: &[&str] = &["belief", "human", "offswitch", "model", "games"];
const SOLVERS: &[&str] = &["solvers", "learn", "sim"];
const APP: &[&str] = &["escalation"];
const TOP: &[&str] = &["experiment", "solve", "web"];

/// (from, to) edges allowed although the rules forbid them, each with the architecture review's leak number.
/// None are left: L2–L5 were closed in issue 18. A new one needs its reason here.
const EXCEPTIONS: &[(&str, &str, &str)] = &[];

/// Cycles between top-level modules that the exceptions above make, each named by its modules in order.
const KNOWN_CYCLES: &[&[&str]] = &[];

fn layer(m: &str) -> usize {
    [SHARED, PROBLEMS, SOLVERS, APP, TOP]
        .iter()
        .position(|l| l.contains(&m))
        .unwrap_or_else(|| {
            panic!("module {m} has no layer: add it to one in tests/layers.rs (and to DESIGN.md)")
        })
}

/// The `crate::a::b` paths of a source text (the first two segments), comments skipped.
fn paths(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        let code = code.split(" //").next().unwrap_or(code);
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let before = rest[..i].chars().last();
            rest = &rest[i + "crate::".len()..];
            // `cirl_crate::` or `mycrate::` are not this crate.
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                // use crate::{a::b, c, d::{e, f}}: the group's top-level items (on this line).
                let mut depth = 0;
                let mut item = String::new();
                for c in group.chars() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            out.insert(two(&item));
                            item.clear();
                            continue;
                        }
                        _ => {}
                    }
                    item.push(c);
                }
                if !item.trim().is_empty() {
                    out.insert(two(&item));
                }
                continue;
            }
            out.insert(two(rest));
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// The first two `::` segments of a path (identifiers only).
fn two(p: &str) -> String {
    let segs: Vec<String> = p
        .trim()
        .split("::")
        .take(2)
        .map(|s| {
            s.chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .take_while(|s| !s.is_empty())
        .collect();
    segs.join("::")
}

fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            sources(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every edge (from module, to path) of the library, with a file it comes from.
fn edges() -> BTreeMap<(String, String), String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut edges = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" || module == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        for p in paths(&text) {
            let to = p.split("::").next().unwrap();
            if to != module && !["self", "super", "crate"].contains(&to) {
                edges
                    .entry((module.clone(), p))
                    .or_insert_with(|| rel.display().to_string());
            }
        }
    }
    edges
}

fn allowed(from: &str, to: &str) -> bool {
    let top = to.split("::").next().unwrap();
    let (lf, lt) = (layer(from), layer(top));
    match lf {
        // shared, problems: their own layer and below.
        0 | 1 => lt <= lf,
        // solvers and learners: no concrete game.
        2 => lt <= 2 && top != "games" && to != "offswitch::posg",
        // the application: everything but the experiment layer.
        3 => lt <= 3,
        _ => true,
    }
}

#[test]
fn no_layer_imports_a_layer_it_may_not() {
    let mut bad = Vec::new();
    for ((from, to), file) in edges() {
        if allowed(&from, &to) {
            continue;
        }
        let excepted = EXCEPTIONS
            .iter()
            .any(|(f, t, _)| *f == from && (to == *t || to.starts_with(&format!("{t}::"))));
        if !excepted {
            bad.push(format!("{from} -> {to} (in src/{file})"));
        }
    }
    assert!(
        bad.is_empty(),
        "forbidden imports (see the layers in tests/layers.rs):\n{}",
        bad.join("\n")
    );
}

#[test]
fn every_exception_is_still_needed() {
    let edges = edges();
    for (from, to, why) in EXCEPTIONS {
        assert!(
            edges
                .keys()
                .any(|(f, t)| f == from && (t == to || t.starts_with(&format!("{to}::")))),
            "{from} -> {to} ({why}) no longer happens: remove it from EXCEPTIONS"
        );
    }
}

/// The cycles between top-level modules (strongly connected components of two or more).
fn cycles(edges: &BTreeMap<(String, String), String>) -> Vec<Vec<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (from, to) in edges.keys() {
        let top = to.split("::").next().unwrap().to_string();
        graph.entry(from.clone()).or_default().insert(top.clone());
        graph.entry(top).or_default();
    }
    let reach = |a: &str| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![a.to_string()];
        while let Some(n) = stack.pop() {
            for m in &graph[&n] {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<String, BTreeSet<String>> =
        graph.keys().map(|k| (k.clone(), reach(k))).collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    for a in graph.keys() {
        let comp: Vec<String> = graph
            .keys()
            .filter(|b| *b == a || (reached[a].contains(*b) && reached[*b].contains(a)))
            .cloned()
            .collect();
        if comp.len() > 1 && !out.contains(&comp) {
            out.push(comp);
        }
    }
    out
}

#[test]
fn no_cycles_between_modules_but_the_known_ones() {
    let found = cycles(&edges());
    let known: Vec<Vec<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    assert_eq!(
        found, known,
        "cycles between top-level modules; a new one is a design error, a known one that is gone leaves KNOWN_CYCLES"
    );
}

#[test]
fn the_path_reader_finds_grouped_and_inline_paths() {
    let text = "use crate::{belief::Prior, human::{Human, ResponseModel}, numerics};\n\
                // crate::experiment in a comment\n\
                let x = crate::offswitch::posg::Posg::new(); // crate::sim\n\
                let y = mycrate::games::x;";
    let p: Vec<String> = paths(text).into_iter().collect();
    assert_eq!(p, ["belief::Prior", "human", "numerics", "offswitch::posg"]);
}
