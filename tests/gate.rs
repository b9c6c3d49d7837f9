//! `cirl gate`: the Claude Code hook and JSON-lines formats through the binary, `cirl gate record`, and the
//! decision log under concurrent writers killed with SIGKILL at seeded random moments — every decision a
//! client received is in the log, the file is intact, and nothing is half-written.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command as Cmd;
use rand::RngExt;
use serde_json::Value;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("cirl")
}

/// The coding agent's card in `dir`.
fn card(dir: &Path) -> PathBuf {
    common::coding_card(dir).join("card.json")
}

fn hook(card: &Path, log: &Path, payload: &str) -> assert_cmd::assert::Assert {
    Cmd::new(bin())
        .args(["gate", "--format", "claude-hook", "--card"])
        .arg(card)
        .arg("--log")
        .arg(log)
        .write_stdin(payload.to_string())
        .assert()
}

fn payload(tool: &str, input: &str, id: &str) -> String {
    format!(
        r#"{{"session_id":"s","transcript_path":"/t","cwd":"/proj","permission_mode":"default","hook_event_name":"PreToolUse","tool_name":"{tool}","tool_input":{input},"tool_use_id":"{id}"}}"#
    )
}

#[test]
fn the_claude_hook_answers_from_the_card_and_fails_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let card = card(dir.path());
    let log = dir.path().join("d.sqlite");
    let out = hook(
        &card,
        &log,
        &payload("Bash", r#"{"command":"git push -f origin main"}"#, "t1"),
    )
    .success()
    .get_output()
    .stdout
    .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let h = &v["hookSpecificOutput"];
    assert_eq!(h["hookEventName"], "PreToolUse");
    assert_eq!(h["permissionDecision"], "ask");
    assert!(
        h["permissionDecisionReason"]
            .as_str()
            .unwrap()
            .contains("irreversible")
    );
    let out = hook(
        &card,
        &log,
        &payload(
            "Edit",
            r#"{"file_path":"/proj/src/lib.rs","old_string":"a","new_string":"b"}"#,
            "t2",
        ),
    )
    .success()
    .get_output()
    .stdout
    .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "allow");
    // A call no class covers gets the card's default (ask), never a crash.
    let out = hook(&card, &log, &payload("WebSearch", r#"{"query":"x"}"#, "t3"))
        .success()
        .get_output()
        .stdout
        .clone();
    let v: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["hookSpecificOutput"]["permissionDecision"], "ask");
    // Malformed payloads: one line on stderr, exit 2 (Claude Code then blocks the call).
    for bad in [
        "",
        "not json",
        "[1,2]",
        r#"{"tool_name":"Bash"}"#,
        r#"{"tool_name":"Bash","tool_input":"rm -rf /"}"#,
    ] {
        let o = hook(&card, &log, bad).code(2).get_output().clone();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.trim().lines().count(), 1, "{bad}: {err}");
        assert!(err.contains("payload"), "{bad}: {err}");
        assert!(o.stdout.is_empty());
    }
    // Bad cards and flags.
    let notes = dir.path().join("notes.json");
    std::fs::write(&notes, "{\"x\": 1}").unwrap();
    for (args, needle) in [
        (
            vec!["gate", "--card", notes.to_str().unwrap()],
            "no gate section",
        ),
        (vec!["gate", "--card", "/no/such/card.json"], "No such file"),
        (vec!["gate", "--card", "/dev/null"], "not a regular file"),
        (vec!["gate"], "--card"),
        (
            vec!["gate", "--card", card.to_str().unwrap(), "--format", "yaml"],
            "--format",
        ),
    ] {
        let o = Cmd::new(bin())
            .args(&args)
            .write_stdin(payload("Bash", r#"{"command":"ls"}"#, "x"))
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // Record the human's answer and the outcome; the post hook records an approval of an asked call that ran.
    Cmd::new(bin())
        .args(["gate", "record", "--log"])
        .arg(&log)
        .args(["--id", "2", "--outcome", "undone", "--cost", "3"])
        .assert()
        .success();
    Cmd::new(bin())
        .args(["gate", "--format", "claude-post-hook", "--card"])
        .arg(&card)
        .arg("--log")
        .arg(&log)
        .write_stdin(payload(
            "Bash",
            r#"{"command":"git push -f origin main"}"#,
            "t1",
        ))
        .assert()
        .success();
    for (args, needle) in [
        (vec!["--id", "99", "--answer", "approve"], "no decision 99"),
        (vec!["--id", "1", "--answer", "perhaps"], "--answer"),
        (vec!["--tool-use-id", "nope", "--answer", "approve"], "nope"),
        (vec!["--id", "1"], "--answer"),
        (
            vec!["--id", "1", "--outcome", "incident", "--cost", "-5"],
            "--cost",
        ),
    ] {
        let o = Cmd::new(bin())
            .args(["gate", "record", "--log"])
            .arg(&log)
            .args(&args)
            .assert()
            .code(2)
            .get_output()
            .clone();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let db = rusqlite::Connection::open(&log).unwrap();
    let n: i64 = db
        .query_row("select count(*) from decisions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3);
    let answer: String = db
        .query_row(
            "select answer from answers join decisions on decisions.id = answers.decision_id where tool_use_id = 't1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(answer, "approve");
    let (label, cost): (String, f64) = db
        .query_row(
            "select label, cost from outcomes where decision_id = 2",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((label.as_str(), cost), ("undone", 3.0));
}

#[test]
fn jsonl_answers_each_line_and_routes_on_confidence() {
    let dir = tempfile::tempdir().unwrap();
    let card = card(dir.path());
    let input = [
        r#"{"tool":"bash","input":{"command":"git push origin main"},"confidence":0.9999,"request_id":1}"#,
        r#"{"tool":"bash","input":{"command":"git push origin main"},"confidence":0.01,"request_id":2}"#,
        r#"{"tool":"bash","input":{"command":"git push origin main"},"request_id":3}"#,
        "{not json",
        r#"{"tool":"bash","input":{"command":"ls"},"confidence":7}"#,
        r#"{"tool":"Edit","input":{"file_path":"src/x.rs"},"confidence":0.9,"request_id":"e"}"#,
    ]
    .join("\n");
    let o = Cmd::new(bin())
        .args(["gate", "--format", "jsonl", "--no-log", "--card"])
        .arg(&card)
        .write_stdin(input)
        .assert()
        .code(2)
        .get_output()
        .clone();
    let lines: Vec<Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert_eq!(
        (lines[0]["decision"].as_str(), lines[0]["move"].as_str()),
        (Some("allow"), Some("act"))
    );
    assert_eq!(
        (lines[1]["decision"].as_str(), lines[1]["move"].as_str()),
        (Some("deny"), Some("block"))
    );
    assert_eq!(lines[2]["decision"], "ask");
    assert_eq!(lines[2]["confidence_source"], "none");
    assert!(lines[3]["error"].as_str().unwrap().starts_with("line 4:"));
    assert!(lines[4]["error"].as_str().unwrap().contains("confidence"));
    assert_eq!(lines[5]["request_id"], "e");
    assert!(lines[0]["id"].is_null(), "--no-log: no ids");
}

/// A gate process answering JSON lines: requests written by one thread, answers read by another.
struct Writer {
    child: std::process::Child,
    received: Arc<Mutex<Vec<(String, i64, String)>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

fn start_writer(card: &Path, log: &Path) -> Writer {
    let mut child = Command::new(bin())
        .args(["gate", "--format", "jsonl", "--card"])
        .arg(card)
        .arg("--log")
        .arg(log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let r = received.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            let v: Value = serde_json::from_str(&line).unwrap();
            r.lock().unwrap().push((
                v["request_id"].as_str().unwrap().to_string(),
                v["id"].as_i64().unwrap(),
                v["decision"].as_str().unwrap().to_string(),
            ));
        }
    });
    Writer {
        child,
        received,
        reader: Some(reader),
    }
}

#[test]
fn concurrent_writers_killed_mid_write_lose_no_decision() {
    let dir = tempfile::tempdir().unwrap();
    let card = card(dir.path());
    let log = dir.path().join("decisions.sqlite");
    let seed: u64 = std::env::var("CIRL_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(11);
    let rounds: usize = std::env::var("CIRL_GATE_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let mut rng = cirl::rng::job_rng(seed, 0);
    let commands = [
        "git push origin main",
        "cargo test",
        "rm -rf target",
        "git status",
        "make deploy",
    ];
    let mut received: Vec<(String, i64, String)> = Vec::new();
    let mut sent = 0usize;
    let mut killed = 0usize;
    for round in 0..rounds {
        // Six long-lived writers and a stream of one-shot hook processes, all on one log.
        let mut writers: Vec<Writer> = (0..6).map(|_| start_writer(&card, &log)).collect();
        let hooks: Vec<std::thread::JoinHandle<Option<(String, i64)>>> = (0..24)
            .map(|i| {
                let (card, log) = (card.clone(), log.clone());
                let kill_after = if i % 3 == 0 {
                    Some(Duration::from_micros(rng.random_range(0..4000)))
                } else {
                    None
                };
                std::thread::spawn(move || {
                    let id = format!("hook-{round}-{i}");
                    let mut c = Command::new(bin())
                        .args(["gate", "--format", "claude-hook", "--card"])
                        .arg(&card)
                        .arg("--log")
                        .arg(&log)
                        .stdin(Stdio::piped())
                        .stdout(Stdio::piped())
                        .stderr(Stdio::null())
                        .spawn()
                        .unwrap();
                    c.stdin
                        .take()
                        .unwrap()
                        .write_all(
                            payload("Bash", r#"{"command":"git push origin main"}"#, &id)
                                .as_bytes(),
                        )
                        .unwrap();
                    if let Some(d) = kill_after {
                        std::thread::sleep(d);
                        let _ = c.kill();
                    }
                    let out = c.wait_with_output().unwrap();
                    let text = String::from_utf8_lossy(&out.stdout);
                    // The hook prints only after its decision is committed.
                    (!text.is_empty()).then_some((id, 0))
                })
            })
            .collect();
        let per_writer = 400;
        let mut stdins: Vec<_> = writers
            .iter_mut()
            .map(|w| w.child.stdin.take().unwrap())
            .collect();
        let kill_at: Vec<Option<usize>> = (0..writers.len())
            .map(|_| (rng.random::<f64>() < 0.6).then(|| rng.random_range(0..per_writer)))
            .collect();
        for n in 0..per_writer {
            for (w, sin) in stdins.iter_mut().enumerate() {
                if kill_at[w].is_some_and(|k| n > k) {
                    continue;
                }
                if kill_at[w] == Some(n) {
                    let _ = writers[w].child.kill();
                    killed += 1;
                    continue;
                }
                let cmd = commands[(n + w) % commands.len()];
                let line = format!(
                    "{{\"tool\":\"bash\",\"input\":{{\"command\":\"{cmd}\"}},\"confidence\":{:.4},\"request_id\":\"w{round}-{w}-{n}\",\"tool_use_id\":\"w{round}-{w}-{n}\"}}\n",
                    rng.random::<f64>()
                );
                if sin.write_all(line.as_bytes()).is_ok() {
                    sent += 1;
                }
            }
        }
        drop(stdins);
        for w in &mut writers {
            let _ = w.child.wait();
            w.reader.take().unwrap().join().unwrap();
            received.extend(w.received.lock().unwrap().drain(..));
        }
        for h in hooks {
            if let Some((id, _)) = h.join().unwrap() {
                received.push((id, 0, "ask".into()));
            }
        }
    }
    assert!(killed > 0, "no writer was killed: change CIRL_KILL_SEED");
    let db = rusqlite::Connection::open(&log).unwrap();
    let ok: String = db
        .query_row("pragma integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
    let rows: HashMap<String, (i64, String)> = db
        .prepare("select tool_use_id, id, decision from decisions")
        .unwrap()
        .query_map([], |r| Ok((r.get::<_, String>(0)?, (r.get(1)?, r.get(2)?))))
        .unwrap()
        .map(|x| x.unwrap())
        .collect();
    // Every decision a client received is in the log, under its id, with the decision it was told.
    for (req, id, decision) in &received {
        let row = rows
            .get(req)
            .unwrap_or_else(|| panic!("{req} was answered but is not in the log"));
        if *id != 0 {
            assert_eq!(row.0, *id, "{req}");
        }
        assert_eq!(&row.1, decision, "{req}");
    }
    // Nothing is logged twice, and nothing was logged that was never sent.
    let n: i64 = db
        .query_row("select count(*) from decisions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n as usize, rows.len());
    assert!(rows.len() >= received.len() && rows.len() <= sent + 24 * rounds);
    eprintln!(
        "{} decisions received, {} logged, {killed} writers killed mid-stream, {} sent",
        received.len(),
        rows.len(),
        sent
    );
}
