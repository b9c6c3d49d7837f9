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
    contract_within(SLOW, what, text, f)
}

/// [`contract`] with its own time bound (building a model at its size limit takes longer than parsing).
fn contract_within<T>(
    slow: Duration,
    what: &str,
    text: &str,
    f: impl FnOnce(&str) -> Result<T>,
) -> Option<T> {
    if std::env::var_os("CIRL_FUZZ_TRACE").is_some() {
        eprintln!("trace {what}: {text:?}");
    }
    let t = Instant::now();
    let r = f(text);
    let took = t.elapsed();
    assert!(took < slow, "{what} took {took:?} on {text:?}");
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
    // Sweep and designer configs: mutated grids whose jobs are cheap to lay out and run one of.
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
            // Reading is linear in the model it builds, and a count of 10^6 in the sparse seed builds 2·10^6 rows
            // per table (about 1 s alone on two cores, more while the other fuzz tests run): the bound is for a
            // model at its size limit, as for the game specs below.
            let m = contract_within(Duration::from_secs(10), "pomdp", &text, |t| {
                pomdp_format::parse(t, "fuzz.pomdp")
            });
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

/// The teaching page's API (`cirl serve`): request bodies mutated from valid ones for every endpoint. Each
/// is answered or refused with one line, within the time bound; the off-switch values and the frontier have no
/// non-finite number (JSON would carry it as null).
#[test]
fn fuzz_page_requests() {
    use cirl::web::api;
    let bodies: Vec<(&str, &str)> = vec![
        (
            "offswitch",
            r#"{"prior":"normal:0.25,1","human":"boltzmann:0.5","cost":0.05}"#,
        ),
        (
            "curves",
            r#"{"prior":"discrete:-1@0.3,2@0.7","human":"rational","points":51}"#,
        ),
        (
            "frontier",
            r#"{"mu":0.25,"cost":0,"sigma":{"lo":0.05,"hi":3,"n":8},"beta":{"lo":0,"hi":3,"n":8}}"#,
        ),
        (
            "cirl",
            r#"{"game":"red-blue","human":"env","theta":"blue","seed":3}"#,
        ),
        (
            "cirl",
            r#"{"game":"wormy-apples","human":"coordinated","seed":1,"set":{"two_phase":true,"horizon":4}}"#,
        ),
        (
            "agent",
            r#"{"share":0.1,"mean":5,"sd":3,"tail_probability":0.03,"tail_loss":200,"reversible":false,"approve_good":0.97,"catch_bad":0.5,"ask_cost":0.5,"handover_cost":15,"fatigue":true}"#,
        ),
    ];
    // Each case names its endpoint in its first line (mutations may change it too: an unknown endpoint is refused).
    let seeds: Vec<String> = bodies.iter().map(|(e, b)| format!("{e}\n{b}")).collect();
    let tally = std::cell::RefCell::new(Tally::default());
    let mut r = runner();
    r = TestRunner::new_with_rng(
        Config {
            // The agent endpoint builds a whole card (30 ms to 0.6 s): fewer cases than the parsers get.
            cases: (cases() / 5).max(50),
            failure_persistence: None,
            ..Config::default()
        },
        r.new_rng(),
    );
    r.run(&input(seeds), |text| {
        let (endpoint, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let a = contract("page request", &text, |_| {
            api::handle(endpoint, body.as_bytes())
        });
        if let Some(v) = &a {
            let s = v.to_string();
            // Only these two answer nothing but numbers where a null could hide a NaN.
            if endpoint == "offswitch" || endpoint == "frontier" {
                assert!(!s.contains("null"), "{text:?} → {s}");
            }
        }
        tally.borrow_mut().add(a.is_some(), &text);
        Ok(())
    })
    .unwrap();
    tally.into_inner().report("page requests");
}

// ---------------------------------------------------------------------------------------------------------
// The attack families of the reliability review (../shared/reviews/reliability.md): allocation flags,
// non-regular and odd input files, path-like names, journal tampering and concurrent writers.

/// A size a request might name: powers of ten and of two, off by one either way, and small counts.
fn size() -> impl Strategy<Value = String> {
    prop_oneof![
        (0u32..20).prop_map(|k| 10u128.pow(k).to_string()),
        (0u32..64, -1i8..=1).prop_map(|(k, d)| ((1u128 << k) as i128 + d as i128).to_string()),
        (0u64..5000).prop_map(|n| n.to_string()),
        Just("18446744073709551616".to_string()),
        Just("-1".to_string()),
        Just("1e12".to_string()),
        Just("0.9999999999".to_string()),
    ]
}

#[test]
fn fuzz_allocation_sizes() {
    use cirl::experiment::{config, shard};
    // Texts whose numbers size something: configs of every kind, game specs, PO-OSG games, .pomdp models.
    let mut seeds = files("experiments/reproduce", "toml", |_| true);
    seeds.extend(files("experiments/games", "toml", |_| true));
    seeds.extend(files("experiments/models", "pomdp", |_| true));
    let keys = [
        "states",
        "thetas",
        "points",
        "horizon",
        "human_actions",
        "robot_actions",
        "ingredients",
        "recipe_size",
        "discount",
        "feedback_time",
    ];
    let games: Vec<&str> = cirl::games::REGISTERED.iter().map(|r| r.0).collect();
    let n = seeds.len();
    let strategy = (
        0..n,
        0.0..1.0f64,
        size(),
        prop::collection::vec(mutation(), 0..3),
        (
            0..games.len(),
            prop::collection::vec((0..keys.len(), size()), 0..3),
        ),
        (size(), size(), size(), 0..6usize),
    );
    let tally = std::cell::RefCell::new(Tally::default());
    let started = Instant::now();
    runner()
        .run(
            &strategy,
            |(k, at, big, muts, (g, sets), (sim, hist, beliefs, which))| {
                // A number of a shipped file replaced by a size, then a few ordinary mutations.
                let mut text = apply(&seeds[k], &muts);
                let i = pos(text.len(), at);
                if let Some(off) =
                    text[text.floor_char_boundary(i)..].find(|c: char| c.is_ascii_digit())
                {
                    let s = text.floor_char_boundary(i) + off;
                    let e = text[s..]
                        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                        .map_or(text.len(), |e| s + e);
                    text.replace_range(s..e, &big);
                }
                let ok = if seeds[k].contains("states:") {
                    contract("pomdp", &text, |t| {
                        cirl::model::pomdp_format::parse(t, "fuzz.pomdp")
                    })
                    .is_some()
                } else if seeds[k].contains("po-osg") {
                    contract("po-osg", &text, |t| {
                        cirl::offswitch::posg::Posg::parse(t, "fuzz.toml")
                    })
                    .is_some()
                } else if seeds[k].contains("game =") {
                    let dir = tempfile::tempdir().unwrap();
                    let p = dir.path().join("game.toml");
                    std::fs::write(&p, &text).unwrap();
                    contract_within(Duration::from_secs(30), "game spec", &text, |_| {
                        cirl::games::load(&p.display().to_string(), &[])
                    })
                    .is_some()
                } else {
                    contract("config", &text, |t| config::parse(t, "fuzz.toml"))
                        .and_then(|cfg| {
                            contract("plan", &text, |_| shard::Plan::new(&cfg).map(drop))
                        })
                        .is_some()
                };
                tally.borrow_mut().add(ok, &text);
                // A registered game with sizes set from the command line, and a solve request's counts.
                let sets: Vec<(String, String)> = sets
                    .iter()
                    .map(|(key, v)| (keys[*key].to_string(), v.clone()))
                    .collect();
                let label = format!("{} {sets:?}", games[g]);
                // A model at its size limit takes seconds to build: a 2,000-point off-switch game solves a
                // 2,000 × 2,000 eigenproblem for its Gauss–Hermite nodes (5–10 s on two busy cores).
                let m = contract_within(Duration::from_secs(30), "--set", &label, |_| {
                    cirl::games::load(games[g], &sets)
                });
                tally.borrow_mut().add(m.is_some(), &label);
                let count = |s: &str| s.parse::<u64>().unwrap_or(u64::MAX);
                let name = ["exact", "pbvi", "naive", "mdp", "auto", "x"][which];
                let solver = contract("--solver", name, cirl::solve::Solver::parse);
                tally.borrow_mut().add(solver.is_some(), name);
                let Some(solver) = solver else {
                    return Ok(());
                };
                let req = cirl::solve::Request {
                    solver,
                    settings: cirl::solve::Settings {
                        tolerance: 1e-6,
                        max_beliefs: count(&beliefs) as usize,
                        seed: 0,
                        timeout: None,
                    },
                    simulate: Some(count(&sim)),
                    histories: count(&hist) as usize,
                    theta: None,
                };
                let label = format!("{req:?}");
                let r = contract("request", &label, |_| cirl::solve::check_request(&req));
                tally.borrow_mut().add(r.is_some(), &label);
                Ok(())
            },
        )
        .unwrap();
    let tally = tally.into_inner();
    tally.report(&format!("allocation sizes ({:?})", started.elapsed()));
    // Sizes past a limit on the command line: exit 2 naming the flag, at once.
    for args in [
        &[
            "offswitch",
            "--prior",
            "normal:0,1",
            "--human",
            "rational",
            "--mc",
            "18446744073709551615",
        ][..],
        &["solve", "tiger", "--simulate", "1000000000000"],
        &["solve", "tiger", "--histories", "4294967296"],
        &["solve", "tiger", "--max-beliefs", "1000000000"],
        &["solve", "tiger", "--set", "horizon=1000000000"],
        &[
            "solve",
            "random",
            "--set",
            "states=100000",
            "--set",
            "thetas=100000",
        ],
    ] {
        let t = Instant::now();
        binary_rejects(args, None);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{args:?} took {:?}",
            t.elapsed()
        );
    }
}

/// Files that are not what a reader expects, made once per run in `dir`: a FIFO, a directory, a device, a
/// symlink loop, a dangling symlink, a symlink to the FIFO, a sparse file larger than every limit, an empty
/// file, a file that is not UTF-8, and a good file behind a BOM. Returns (name, path).
fn odd_files(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    use std::os::unix::fs::symlink;
    let p = |n: &str| dir.join(n);
    let fifo = p("fifo.toml");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::fs::create_dir(p("dir.toml")).unwrap();
    symlink(p("loop-b.toml"), p("loop-a.toml")).unwrap();
    symlink(p("loop-a.toml"), p("loop-b.toml")).unwrap();
    symlink(p("nowhere.toml"), p("dangling.toml")).unwrap();
    symlink(&fifo, p("to-fifo.toml")).unwrap();
    let huge = std::fs::File::create(p("huge.toml")).unwrap();
    huge.set_len((1 << 30) + 4096).unwrap();
    std::fs::write(p("empty.toml"), "").unwrap();
    std::fs::write(p("latin1.toml"), b"name = \"caf\xe9\"\n").unwrap();
    std::fs::write(p("bom.csv"), "\u{feff}u\n1\n2\n").unwrap();
    vec![
        ("fifo", fifo),
        ("directory", p("dir.toml")),
        ("device", "/dev/zero".into()),
        ("symlink loop", p("loop-a.toml")),
        ("dangling symlink", p("dangling.toml")),
        ("symlink to a FIFO", p("to-fifo.toml")),
        ("sparse 1 GB", p("huge.toml")),
        ("empty", p("empty.toml")),
        ("not UTF-8", p("latin1.toml")),
        ("BOM", p("bom.csv")),
        ("missing", p("missing.toml")),
        ("empty path", "".into()),
    ]
}

#[test]
fn fuzz_non_regular_files() {
    let dir = tempfile::tempdir().unwrap();
    let odd = odd_files(dir.path());
    // Every reader of a caller-named file, and how the file is named (as given, with ./ or a trailing /).
    type Reader = fn(&Path) -> std::result::Result<(), Error>;
    let readers: Vec<(&str, Reader)> = vec![
        ("config", |p| cirl::experiment::load(p).map(drop)),
        ("scenario", |p| {
            cirl::escalation::scenario::Scenario::load(p).map(drop)
        }),
        ("prior toml", |p| {
            cirl::belief::Prior::from_toml_file(p).map(drop)
        }),
        ("prior csv", |p| {
            cirl::belief::Prior::from_csv(p, "u").map(drop)
        }),
        ("prior spec", |p| {
            cirl::belief::Prior::parse(&format!("csv:{}#0", p.display())).map(drop)
        }),
        ("po-osg", |p| cirl::offswitch::posg::Posg::load(p).map(drop)),
        ("pomdp", |p| cirl::model::pomdp_format::read(p).map(drop)),
        ("game", |p| {
            cirl::games::load(&p.display().to_string(), &[]).map(drop)
        }),
    ];
    let tally = std::cell::RefCell::new(Tally::default());
    let started = Instant::now();
    runner()
        .run(
            &(0..odd.len(), 0..readers.len(), 0..3usize),
            |(f, r, form)| {
                let (kind, path) = &odd[f];
                let named = match form {
                    // The same file through a `.` component (`/./dev/zero`).
                    1 if path.is_absolute() => {
                        Path::new("/.").join(path.strip_prefix("/").unwrap_or(path))
                    }
                    2 => std::path::PathBuf::from(format!("{}/", path.display())),
                    _ => path.clone(),
                };
                // A reader that waits on a FIFO or reads /dev/zero would never return: each read gets a deadline.
                let (tx, rx) = std::sync::mpsc::channel();
                let (reader, named2) = (readers[r].1, named.clone());
                std::thread::spawn(move || {
                    let _ = tx.send(reader(&named2));
                });
                let label = format!("{} on {kind} ({})", readers[r].0, named.display());
                let res = rx
                    .recv_timeout(SLOW)
                    .unwrap_or_else(|_| panic!("{label}: no answer within {SLOW:?}"));
                match res {
                    Ok(()) => {
                        // Only the BOM file holds something a reader can accept.
                        prop_assert_eq!(*kind, "BOM", "{} was accepted", label);
                        tally.borrow_mut().add(true, &label);
                    }
                    Err(e) => {
                        one_line_input_error(&label, "", &e);
                        if matches!(
                            *kind,
                            "fifo" | "device" | "symlink to a FIFO" | "directory" | "sparse 1 GB"
                        ) && form != 2
                        {
                            let m = e.to_string();
                            prop_assert!(
                                m.contains("regular file")
                                    || m.contains("directory")
                                    || m.contains("MB"),
                                "{}: {}",
                                label,
                                m
                            );
                        }
                        tally.borrow_mut().add(false, &label);
                    }
                }
                Ok(())
            },
        )
        .unwrap();
    tally
        .into_inner()
        .report(&format!("non-regular files ({:?})", started.elapsed()));
    // The binary on each: exit 2, one line, at once.
    for (kind, path) in &odd {
        if *kind == "BOM" {
            continue;
        }
        let p = path.display().to_string();
        for args in [
            vec!["run", &p, "--dry-run"],
            vec!["calibrate", &p],
            vec!["solve", &p],
            vec!["posg", &p],
        ] {
            let t = Instant::now();
            binary_rejects(&args, None);
            assert!(t.elapsed() < Duration::from_secs(5), "{args:?}");
        }
    }
}

/// A name made of the pieces of paths: mostly plain ones, so that about half the names are identifiers.
fn path_like() -> impl Strategy<Value = String> {
    let plain = prop_oneof![
        Just("a"),
        Just("fig"),
        Just("-"),
        Just("_"),
        Just("1"),
        Just("v.2"),
        Just("Z")
    ];
    let odd = prop_oneof![
        Just(".."),
        Just("."),
        Just("/"),
        Just("\\"),
        Just(" "),
        Just("~"),
        Just("$HOME"),
        Just("%2e%2e"),
        Just("é"),
        Just("\u{0}"),
        Just("\n"),
        Just(".cirl-tmp.1"),
        Just(".cirl-lock"),
        Just("C:"),
        Just("\u{202e}"),
    ];
    let piece = prop_oneof![12 => plain, 1 => odd];
    prop::collection::vec(piece, 0..7).prop_map(|v| v.concat())
}

#[test]
fn fuzz_path_like_names() {
    use cirl::experiment::config;
    let sweep = "[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = [0, 1]\nsigma = 1\n";
    let scenario = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments/scenarios/coding-agent.toml"),
    )
    .unwrap();
    let tally = std::cell::RefCell::new(Tally::default());
    let accepted = std::cell::RefCell::new(Vec::new());
    let quote = |s: &str| toml::Value::String(s.to_string()).to_string();
    runner()
        .run(&(path_like(), path_like(), path_like()), |(name, file, class)| {
            let text = format!(
                "name = {}\n{sweep}[[plot]]\nkind = \"lines\"\nx = \"mu\"\ny = \"delta\"\nfile = {}\n",
                quote(&name),
                quote(&file)
            );
            let cfg = contract("config", &text, |t| config::parse(t, "fuzz.toml"));
            // Accepted exactly when both are plain identifiers (the plot stem may also be left out).
            let plain = cirl::input::check_identifier(&name).is_ok()
                && cirl::input::check_identifier(&file).is_ok();
            prop_assert_eq!(cfg.is_some(), plain, "{}", text);
            tally.borrow_mut().add(cfg.is_some(), &text);
            if cfg.is_some() && accepted.borrow().len() < 8 && !accepted.borrow().contains(&text) {
                accepted.borrow_mut().push(text.clone());
            }
            let s = scenario.replacen("name = \"read-search\"", &format!("name = {}", quote(&class)), 1);
            let sc = contract("scenario", &s, |t| cirl::escalation::scenario::Scenario::parse(t, "fuzz.toml"));
            if let Some(sc) = &sc {
                // The class's file stem is a plain identifier whatever its display name.
                for c in &sc.classes {
                    let slug = cirl::escalation::card::slug(&c.name);
                    prop_assert!(cirl::input::check_identifier(&slug).is_ok(), "{:?} -> {:?}", c.name, slug);
                }
            }
            tally.borrow_mut().add(sc.is_some(), &s);
            Ok(())
        })
        .unwrap();
    tally.into_inner().report("path-like names");
    // Accepted names through the binary: everything written is inside --out.
    for text in accepted.into_inner() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("c.toml"), &text).unwrap();
        let out = assert_cmd::Command::cargo_bin("cirl")
            .unwrap()
            .current_dir(dir.path())
            .args(["run", "c.toml", "--quiet", "--out", "out"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{text}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut top: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        top.sort();
        assert_eq!(top, ["c.toml", "out"], "{text}");
    }
}

/// The results.csv a merge of the journal in `work` writes (into `out`), through the merge's own checks and
/// collector.
fn merged_csv(
    cfg: &'static cirl::experiment::config::Config,
    plan: &'static cirl::experiment::shard::Plan<'static>,
    work: &std::path::Path,
    out: &std::path::Path,
) -> cirl::error::Result<String> {
    use cirl::experiment::{collect, shard};
    let shards = shard::verify(&[work.to_path_buf()])?;
    let mut c =
        collect::Collector::new(cfg, plan, Some((out, cirl::experiment::Format::Csv)), false)?;
    shards.stream(plan, |part| c.job(part))?;
    let path = c.finish()?.file.expect("written").commit()?;
    Ok(std::fs::read_to_string(path).unwrap())
}

#[test]
fn fuzz_journal_tampering() {
    use cirl::experiment::{config, shard};
    let dir = tempfile::tempdir().unwrap();
    // A sweep of three jobs and a designer study of three, each journaled once.
    let texts = [
        "name = \"s\"\nseed = 3\n[sweep]\nprior = \"normal\"\nhuman = \"boltzmann\"\nmu = { start = -1, stop = 1, num = 41 }\nsigma = [0.5, 1, 2]\nbeta = [0.5, 4]\ncost = [0, 0.1, 0.2, 0.4]\n",
        "name = \"d\"\nseed = 5\n[designer]\nactions = [1, 2]\nsigma = [0.5, 1]\nbeta = 0.25\ngames = 3000\n",
    ];
    let mut runs = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        // Leaked: the plans borrow their configs for the whole test.
        let cfg: &'static config::Config =
            Box::leak(Box::new(config::parse(t, "fuzz.toml").unwrap()));
        let plan: &'static shard::Plan = Box::leak(Box::new(shard::Plan::new(cfg).unwrap()));
        let work = dir.path().join(format!("run{i}"));
        let opts = cirl::experiment::RunOptions {
            force: true,
            ..Default::default()
        };
        shard::execute_plan(cfg, plan, &work, shard::Shard::WHOLE, &opts, None).unwrap();
        let csv = dir.path().join(format!("results{i}.csv"));
        let reference = merged_csv(cfg, plan, &work, &csv).unwrap();
        let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(work.join("jobs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 2, "{t}");
        files.push(work.join("shard.json"));
        let originals: Vec<String> = files
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        runs.push((cfg, plan, work, csv, files, originals, reference));
    }
    let tally = std::cell::RefCell::new(Tally::default());
    let started = Instant::now();
    runner()
        .run(
            &(
                0..runs.len(),
                0..64usize,
                prop::collection::vec(mutation(), 1..4),
                any::<bool>(),
            ),
            |(r, f, muts, drop_file)| {
                let (cfg, plan, work, csv, files, originals, reference) = &runs[r];
                let f = f % files.len();
                let tampered = apply(&originals[f], &muts);
                if drop_file && f + 1 < files.len() {
                    std::fs::remove_file(&files[f]).unwrap();
                } else {
                    std::fs::write(&files[f], &tampered).unwrap();
                }
                let label = format!("{} {:?}", files[f].display(), muts);
                let got = contract("journal", &label, |_| merged_csv(cfg, plan, work, csv));
                std::fs::write(&files[f], &originals[f]).unwrap();
                // Accepted only if the journal still says what the run computed.
                if let Some(got) = &got {
                    prop_assert!(
                        *got == *reference,
                        "{} accepted with different results",
                        label
                    );
                }
                tally.borrow_mut().add(got.is_some(), &label);
                Ok(())
            },
        )
        .unwrap();
    tally
        .into_inner()
        .report(&format!("journal tampering ({:?})", started.elapsed()));
}

#[test]
fn fuzz_concurrent_writers_share_no_output_folder() {
    use cirl::experiment::outdir;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let holders = std::sync::Arc::new(AtomicUsize::new(0));
    let (mut won, mut refused) = (0usize, 0usize);
    // Each case: 2–6 writers race for the same --out; the lock admits at most one at a time, and a refusal
    // is one line naming --out.
    let cases = cases() as usize;
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let started = Instant::now();
    for case in 0..cases {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let writers = 2 + (rng % 5) as usize;
        let out = dir.path().join(format!("out{}", case % 8));
        let results: Vec<bool> = std::thread::scope(|s| {
            let hs: Vec<_> = (0..writers)
                .map(|_| {
                    let (out, holders) = (out.clone(), holders.clone());
                    s.spawn(move || match outdir::lock(&out) {
                        Ok(l) => {
                            assert_eq!(
                                holders.fetch_add(1, Ordering::SeqCst),
                                0,
                                "two holders of {out:?}"
                            );
                            std::thread::yield_now();
                            holders.fetch_sub(1, Ordering::SeqCst);
                            drop(l);
                            true
                        }
                        Err(e) => {
                            let m = e.to_string();
                            assert!(
                                e.is_input_error() && m.contains("--out") && !m.contains('\n'),
                                "{m}"
                            );
                            false
                        }
                    })
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let w = results.iter().filter(|&&x| x).count();
        assert!(w >= 1, "case {case}: every writer was refused");
        won += w;
        refused += writers - w;
    }
    eprintln!(
        "fuzz concurrent writers: {cases} races, {won} writers admitted, {refused} refused ({:?})",
        started.elapsed()
    );
}
