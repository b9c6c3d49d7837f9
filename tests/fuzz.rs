//! Fuzzing the input parsers: experiment configs, prior and human specs, escalation scenarios, PO-OSG files
//! and `.pomdp` models. Inputs are the shipped files mutated (bytes deleted, tokens and extreme numbers
//! inserted, numbers replaced, lines duplicated, swapped or cut) and raw strings. For every case: no panic, no
//! case slower than [`SLOW`], and every rejection is one line that maps to exit code 2; accepted inputs are
//! then used (grids expanded, games valued or solved) and must give finite numbers. A sample of rejected cases
//! goes through the `cirl` binary to check the exit code and the one-line message end to end.
//!
//! `CIRL_FUZZ_CASES` sets the cases per target (default 2000, the CI smoke run; RELIABILITY.md records long
//! runs of 100 000 per target) and `CIRL_FUZZ_SEED` the seed (default 0).

use std::path::Path;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use cirl::error::{Error, Result};

const SLOW: Duration = Duration::from_secs(2);

fn cases() -> u32 {
    std::env::var("CIRL_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2000)
}

/// A runner seeded from `CIRL_FUZZ_SEED` (default 0), so a CI run is reproducible and a long run can explore
/// other inputs.
fn runner() -> TestRunner {
    let seed: u64 = std::env::var("CIRL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(
        Config {
            cases: cases(),
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &bytes),
    )
}

/// Tokens a mutation inserts: syntax, extreme numbers, keys and values of the formats.
const TOKENS: &[&str] = &[
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    ",",
    "\"",
    "'",
    "\n",
    "#",
    ".",
    ":",
    "@",
    "0",
    "-0",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "1e400",
    "99999999999999999999",
    "-1",
    "0.5",
    "1000000",
    "4294967296",
    "true",
    "\"\"",
    "num",
    "start",
    "stop",
    "log",
    "prior",
    "human",
    "mu",
    "sigma",
    "beta",
    "p",
    "cost",
    "states:",
    "actions:",
    "observations:",
    "T:",
    "O:",
    "R:",
    "*",
    "uniform",
    "identity",
    "discount:",
    "values:",
    "reward",
    "start:",
    "kind",
    "weight",
    "\"normal:0,1\"",
    "\"boltzmann:1e-300\"",
    "\"p-rational:2\"",
    "\"csv:/nonexistent#x\"",
    "\"discrete:1@0\"",
];

/// Extreme numbers that replace a number of the text.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "-0.0",
    "1",
    "-1",
    "0.5",
    "1e-300",
    "1e-320",
    "1e300",
    "1e308",
    "-1e308",
    "1e6",
    "-1e6",
    "1000000",
    "1000001",
    "100000000",
    "2147483648",
    "18446744073709551615",
    "nan",
    "inf",
    "-inf",
    "1e999",
    "0x10",
    "1_000",
    "+1",
    ".5",
    "5.",
    "1e",
    "",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete(f64, usize),
    Insert(f64, usize),
    ReplaceNumber(f64, usize),
    DuplicateLine(f64),
    SwapLines(f64, f64),
    Truncate(f64),
    InsertChar(f64, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = 0.0..1.0f64;
    prop_oneof![
        (at.clone(), 1..8usize).prop_map(|(a, n)| Mutation::Delete(a, n)),
        (at.clone(), 0..TOKENS.len()).prop_map(|(a, t)| Mutation::Insert(a, t)),
        (at.clone(), 0..NUMBERS.len()).prop_map(|(a, t)| Mutation::ReplaceNumber(a, t)),
        (at.clone(), 0..NUMBERS.len()).prop_map(|(a, t)| Mutation::ReplaceNumber(a, t)),
        at.clone().prop_map(Mutation::DuplicateLine),
        (at.clone(), at.clone()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        at.clone().prop_map(Mutation::Truncate),
        (at, any::<char>()).prop_map(|(a, c)| Mutation::InsertChar(a, c)),
    ]
}

fn pos(len: usize, at: f64) -> usize {
    ((len as f64 * at) as usize).min(len)
}

/// Applies mutations to text, on characters (inputs are UTF-8 strings).
fn apply(text: &str, muts: &[Mutation]) -> String {
    let mut c: Vec<char> = text.chars().collect();
    for m in muts {
        match *m {
            Mutation::Delete(a, n) => {
                let i = pos(c.len(), a);
                let j = (i + n).min(c.len());
                c.drain(i..j);
            }
            Mutation::Insert(a, t) => {
                let i = pos(c.len(), a);
                c.splice(i..i, TOKENS[t].chars());
            }
            Mutation::InsertChar(a, ch) => {
                let i = pos(c.len(), a);
                c.insert(i, ch);
            }
            Mutation::Truncate(a) => c.truncate(pos(c.len(), a)),
            Mutation::ReplaceNumber(a, t) => {
                // The number starting at or after a random position.
                let mut i = pos(c.len(), a);
                while i < c.len() && !c[i].is_ascii_digit() {
                    i += 1;
                }
                let mut j = i;
                while j < c.len() && (c[j].is_ascii_digit() || ".eE+-_".contains(c[j])) {
                    j += 1;
                }
                c.splice(i..j, NUMBERS[t].chars());
            }
            Mutation::DuplicateLine(a) | Mutation::SwapLines(a, _) => {
                let s: String = c.iter().collect();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let i = pos(lines.len().saturating_sub(1), a);
                if let Mutation::SwapLines(_, b) = *m {
                    let j = pos(lines.len().saturating_sub(1), b);
                    lines.swap(i, j);
                } else {
                    lines.insert(i, lines[i]);
                }
                c = lines.join("\n").chars().collect();
            }
        }
    }
    c.into_iter().collect()
}

/// A mutated seed text or, one time in eight, a raw string.
fn input(seeds: Vec<String>) -> impl Strategy<Value = String> {
    let n = seeds.len();
    prop_oneof![
        7 => (0..n, prop::collection::vec(mutation(), 0..6))
            .prop_map(move |(k, m)| apply(&seeds[k], &m)),
        1 => ".{0,200}",
    ]
}

fn files(dir: &str, ext: &str, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut out = vec![];
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == ext) {
                let text = std::fs::read_to_string(&p).unwrap();
                if keep(&text) {
                    out.push(text);
                }
            }
        }
    }
    out.sort();
    assert!(!out.is_empty(), "no seed files in {dir}");
    out
}

/// Runs `f` on `text` under the contract; returns the accepted value.
fn contract<T>(what: &str, text: &str, f: impl FnOnce(&str) -> Result<T>) -> Option<T> {
    let t = Instant::now();
    let r = f(text);
    let took = t.elapsed();
    assert!(took < SLOW, "{what} took {took:?} on {text:?}");
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            one_line_input_error(what, text, &e);
            None
        }
    }
}

fn one_line_input_error(what: &str, text: &str, e: &Error) {
    let m = e.to_string();
    assert!(
        !m.trim().is_empty() && !m.contains('\n') && !m.contains('\r'),
        "{what}: the message is not one line: {m:?} (input {text:?})"
    );
    assert!(
        e.is_input_error(),
        "{what}: a rejection that would exit 1, not 2: {m} (input {text:?})"
    );
}

/// Counts (accepted, rejected) over the run, and keeps a few rejected inputs for the binary.
#[derive(Default)]
struct Tally {
    accepted: usize,
    rejected: usize,
    samples: Vec<String>,
}

impl Tally {
    fn add(&mut self, ok: bool, text: &str) {
        if ok {
            self.accepted += 1;
        } else {
            self.rejected += 1;
            if self.samples.len() < 24 && self.rejected % 7 == 1 {
                self.samples.push(text.to_string());
            }
        }
    }

    fn report(&self, what: &str) {
        eprintln!(
            "fuzz {what}: {} cases, {} accepted, {} rejected",
            self.accepted + self.rejected,
            self.accepted,
            self.rejected
        );
        assert!(self.accepted > 0, "{what}: no case was accepted");
        assert!(self.rejected > 0, "{what}: no case was rejected");
    }
}

/// The binary rejects `text` (written to a file of extension `ext`) with exit 2 and one line on stderr.
fn binary_rejects(args: &[&str], text: Option<(&str, &str)>) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = assert_cmd::Command::cargo_bin("cirl").unwrap();
    let mut argv: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    if let Some((text, ext)) = text {
        let p = dir.path().join(format!("input.{ext}"));
        std::fs::write(&p, text).unwrap();
        argv.push(p.display().to_string());
    }
    if args[0] == "run" || args[0] == "calibrate" {
        argv.extend(["--out".into(), dir.path().join("out").display().to_string()]);
    }
    let out = cmd
        .args(&argv)
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{argv:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{argv:?}: {err}");
    assert!(err.starts_with("error: "), "{err}");
}

#[test]
fn fuzz_experiment_configs() {
    use cirl::experiment::{config, shard, sweep};
    // Sweep and designer configs (studies have their own tables).
    let seeds = files("experiments/reproduce", "toml", |t| {
        t.contains("[sweep]") || t.contains("[designer]")
    });
    let tally = std::cell::RefCell::new(Tally::default());
    runner()
        .run(&input(seeds), |text| {
            let cfg = contract("config", &text, |t| config::parse(t, "fuzz.toml"));
            tally.borrow_mut().add(cfg.is_some(), &text);
            if let Some(cfg) = cfg {
                // Accepted: lay out the jobs (small grids only: a large one is a long run, not a hang).
                let small = match &cfg.sweep {
                    Some(s) => sweep::grid_size(s).is_ok_and(|n| n <= 2e5),
                    None => true,
                };
                if small
                    && let Some(plan) = contract("plan", &text, |_| shard::Plan::new(&cfg))
                    && plan.jobs() > 0
                    && cfg.sweep.is_some()
                {
                    let t = contract("job 0", &text, |_| plan.run_job(0));
                    for r in t.iter().flat_map(|t| &t.rows) {
                        for c in r {
                            if let Some(x) = c.num() {
                                prop_assert!(!x.is_nan(), "NaN in {r:?} for {text:?}");
                            }
                        }
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    tally.report("configs");
    for s in &tally.samples {
        binary_rejects(&["run", "--quiet", "--no-plots"], Some((s, "toml")));
    }
}

#[test]
fn fuzz_prior_and_human_specs() {
    use cirl::belief::Prior;
    use cirl::human::Human;
    let priors: Vec<String> = [
        "normal:0.25,1",
        "uniform:-1,2",
        "discrete:-1@0.3,2@0.7",
        "two-point:0.1,1",
        "normal:-1e6,1e-9",
        "discrete:0@1",
    ]
    .map(String::from)
    .to_vec();
    let humans: Vec<String> = [
        "rational",
        "boltzmann:0.5",
        "p-rational:0.9",
        "chance:0.5",
        "boltzmann:0",
    ]
    .map(String::from)
    .to_vec();
    let (tally, tally_h) = (
        std::cell::RefCell::new(Tally::default()),
        std::cell::RefCell::new(Tally::default()),
    );
    runner()
        .run(&(input(priors), input(humans)), |(p, h)| {
            let prior = contract("prior", &p, Prior::parse);
            let human = contract("human", &h, Human::parse);
            tally.borrow_mut().add(prior.is_some(), &p);
            tally_h.borrow_mut().add(human.is_some(), &h);
            if let (Some(prior), Some(human)) = (prior, human) {
                let v = contract("values", &p, |_| {
                    cirl::offswitch::values(&prior, &human, 0.0)
                });
                if let Some(v) = v {
                    for x in [v.v_act, v.v_wait, v.delta, v.p_allow] {
                        prop_assert!(x.is_finite(), "{p} {h}: {v:?}");
                    }
                }
            }
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    tally.report("prior specs");
    let tally_h = tally_h.into_inner();
    tally_h.report("human specs");
    let arg = |s: &&String| !s.starts_with('-') && !s.contains('\0');
    for s in tally.samples.iter().filter(arg) {
        binary_rejects(&["offswitch", "--human", "rational", "--prior", s], None);
    }
    for s in tally_h.samples.iter().filter(arg) {
        binary_rejects(&["offswitch", "--prior", "normal:0,1", "--human", s], None);
    }
}

#[test]
fn fuzz_escalation_scenarios() {
    use cirl::escalation::scenario::Scenario;
    let seeds = files("experiments/scenarios", "toml", |_| true);
    let tally = std::cell::RefCell::new(Tally::default());
    let accepted = std::cell::RefCell::new(Vec::new());
    runner()
        .run(&input(seeds), |text| {
            let s = contract("scenario", &text, |t| Scenario::parse(t, "fuzz.toml"));
            if let Some(s) = s.as_ref()
                && accepted.borrow().len() < 12
                && tally.borrow().accepted % 17 == 3
            {
                accepted.borrow_mut().push(s.clone());
            }
            tally.borrow_mut().add(s.is_some(), &text);
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    tally.report("scenarios");
    // A sample of the accepted ones is calibrated: every figure finite, or one clear input error.
    for s in accepted.into_inner() {
        let t = Instant::now();
        match cirl::escalation::calibrate(
            &s,
            &cirl::escalation::Options {
                mc_actions: 0,
                seed: 0,
            },
        ) {
            Ok(c) => {
                for p in &c.policies {
                    assert!(
                        p.expected_utility.is_finite() && p.risk.cvar.is_finite(),
                        "{}: {p:?}",
                        s.name
                    );
                }
            }
            Err(e) => one_line_input_error("calibrate", &s.name, &e),
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "calibrate took {:?}",
            t.elapsed()
        );
    }
    for s in &tally.samples {
        binary_rejects(&["calibrate", "--mc", "0", "--no-plots"], Some((s, "toml")));
    }
}

#[test]
fn fuzz_posg_files() {
    use cirl::offswitch::posg::Posg;
    let seeds = files("experiments/reproduce/garber2025", "toml", |_| true);
    let tally = std::cell::RefCell::new(Tally::default());
    runner()
        .run(&input(seeds), |text| {
            let g = contract("po-osg", &text, |t| Posg::parse(t, "fuzz.toml"));
            tally.borrow_mut().add(g.is_some(), &text);
            if let Some(g) = g
                && g.n_obs_a() <= 4
                && g.messages_h * g.messages_a <= 4
                && let Some(sol) =
                    contract("po-osg solve", &text, |_| cirl::solvers::posg::solve(&g))
            {
                prop_assert!(sol.value.is_finite(), "{text}");
            }
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    tally.report("po-osg files");
    for s in &tally.samples {
        binary_rejects(&["posg"], Some((s, "toml")));
    }
}

#[test]
fn fuzz_pomdp_files() {
    use cirl::model::pomdp_format;
    let mut seeds = files("experiments/models", "pomdp", |_| true);
    // A second, sparse seed with every statement form.
    seeds.push(
        "discount: 0.9\nvalues: cost\nstates: a b\nactions: 2\nobservations: x y\nstart: uniform\n\
         T: * identity\nT: 1 : a : b 0.5\nT: 1 : a : a 0.5\nO: * uniform\nO: 0 : b : y 1\nO: 0 : b : x 0\n\
         R: * : * : * : * 1\nR: 1 : a : * : x -2.5\n"
            .to_string(),
    );
    let tally = std::cell::RefCell::new(Tally::default());
    runner()
        .run(&input(seeds), |text| {
            let m = contract("pomdp", &text, |t| pomdp_format::parse(t, "fuzz.pomdp"));
            tally.borrow_mut().add(m.is_some(), &text);
            Ok(())
        })
        .unwrap();
    let tally = tally.into_inner();
    tally.report("pomdp files");
    for s in &tally.samples {
        binary_rejects(&["solve"], Some((s, "pomdp")));
    }
}

#[test]
fn fuzz_gate_requests() {
    use cirl::escalation::{self, gate, scenario::Scenario};
    let s = Scenario::load(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/scenarios/coding-agent.toml"),
    )
    .unwrap();
    let card = escalation::calibrate(
        &s,
        &escalation::Options {
            mc_actions: 0,
            seed: 0,
        },
    )
    .unwrap();
    let g = gate::Gate::new(card.gate).unwrap();
    let hooks: Vec<String> = [
        r#"{"session_id":"s","transcript_path":"/t","cwd":"/p","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git push -f origin main && rm -rf x"},"tool_use_id":"t"}"#,
        r#"{"session_id":"s","cwd":"/p","hook_event_name":"PreToolUse","tool_name":"Edit","tool_input":{"file_path":"/p/src/a.rs","old_string":"a","new_string":"b"},"tool_use_id":"t"}"#,
        r#"{"tool_name":"mcp__github__merge","tool_input":{}}"#,
        r#"{"tool_name":"Agent","tool_input":{"subagent_type":"refactor","prompt":"x"}}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let lines: Vec<String> = [
        r#"{"tool":"bash","input":{"command":"cargo test"},"confidence":0.5,"request_id":1}"#,
        r#"{"tool":"issue_refund","input":{"order":7},"server":"support","annotations":{"destructiveHint":true}}"#,
        r#"{"tool":"write_file","input":{"file_path":"../../etc/passwd"},"confidence":1}"#,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let tally = std::cell::RefCell::new(Tally::default());
    let check = |d: &gate::Decision| {
        assert!(["allow", "ask", "deny", "defer"].contains(&d.decision));
        assert!(!d.reason.contains('\n'));
    };
    runner()
        .run(&input(hooks), |text| {
            let r = contract("hook payload", &text, gate::Request::from_claude_hook);
            if let Some(req) = &r {
                check(&g.decide(req));
            }
            tally.borrow_mut().add(r.is_some(), &text);
            Ok(())
        })
        .unwrap();
    runner()
        .run(&input(lines), |text| {
            let r = contract("jsonl request", &text, gate::Request::from_jsonl);
            if let Some(req) = &r {
                check(&g.decide(req));
            }
            tally.borrow_mut().add(r.is_some(), &text);
            Ok(())
        })
        .unwrap();
    tally.into_inner().report("gate requests");
}
