//! `cirl log import` / `cirl log export`: the decision log's JSON Lines form (schema cirl-log/1) through the
//! binary, on a real SQLite file — messy input (offsets, out-of-order and repeated records, blank lines), a
//! round trip, one-line errors naming the line and field, nothing half-imported, and the gate's own log out.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command as Cmd;
use serde_json::Value;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("cirl")
}

/// Runs cirl with `args`, which must succeed; its standard output.
fn ok(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let out = Cmd::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn import(file: &Path, log: &Path) -> Value {
    let out = ok(&[
        "log".as_ref(),
        "import".as_ref(),
        "--json".as_ref(),
        "--log".as_ref(),
        log.as_os_str(),
        file.as_os_str(),
    ]);
    serde_json::from_slice(&out).unwrap()
}

fn export(log: &Path) -> Vec<Value> {
    let out = ok(&[
        "log".as_ref(),
        "export".as_ref(),
        "--log".as_ref(),
        log.as_os_str(),
    ]);
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

const MESSY: &str = r#"{"time":"2026-12-01T10:00:00Z","tool":"Bash","class":"shell","confidence":0.9,"move":"ask","answer":"approve","outcome":"fine","session":"s","tool_use_id":"t1"}
{"time":"2026-12-01T09:00:00+01:00","tool":"Edit","class":"edit-file","confidence":0.7,"move":"act","outcome":"undone","cost":0.3,"note":"reverted"}

{"time":"2026-12-01T10:00:00Z","tool":"Bash","class":"shell","confidence":0.9,"move":"ask","answer":"approve","outcome":"fine","session":"s","tool_use_id":"t1"}
{"time":"2026-12-01T11:00:00.5Z","tool":"Bash","class":"shell","move":"ask","answer":"reject","answer_time":"2026-12-01T11:02:00Z"}
{"time":"2026-12-01T11:05:00Z","tool":"Bash","class":null,"move":null,"input":{"command":"ls"}}
{"time":"2026-12-01T07:59:00Z","tool":"Bash","class":"shell","confidence":0.2,"confidence_source":"verifier","move":"block"}
{"time":"2026-12-01T12:00:00Z","tool":"Bash","class":"shell","confidence":0.6,"move":"ask","answer":"approve","outcome":"incident","cost":250}
"#;

#[test]
fn messy_records_import_once_and_export_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let (file, log) = (dir.path().join("a.jsonl"), dir.path().join("d.sqlite"));
    std::fs::write(&file, MESSY).unwrap();
    let n = import(&file, &log);
    assert_eq!(
        (&n["added"], &n["duplicates"], &n["present"]),
        (&Value::from(6), &Value::from(1), &Value::from(0))
    );
    // Importing it again adds nothing.
    let n = import(&file, &log);
    assert_eq!(
        (&n["added"], &n["present"]),
        (&Value::from(0), &Value::from(6))
    );
    let rows = export(&log);
    assert_eq!(rows.len(), 6);
    let times: Vec<&str> = rows.iter().map(|r| r["time"].as_str().unwrap()).collect();
    assert_eq!(
        times,
        [
            "2026-12-01T07:59:00.000Z",
            "2026-12-01T08:00:00.000Z",
            "2026-12-01T10:00:00.000Z",
            "2026-12-01T11:00:00.500Z",
            "2026-12-01T11:05:00.000Z",
            "2026-12-01T12:00:00.000Z"
        ]
    );
    // Defaults filled in: the decision from the move, the confidence's source, the answer and outcome times.
    let decisions: Vec<&str> = rows
        .iter()
        .map(|r| r["decision"].as_str().unwrap())
        .collect();
    assert_eq!(decisions, ["deny", "allow", "ask", "ask", "defer", "ask"]);
    assert_eq!(rows[0]["confidence_source"], "verifier");
    assert_eq!(rows[1]["confidence_source"], "request");
    assert_eq!(rows[3]["confidence_source"], "none");
    assert_eq!(rows[3]["answer_time"], "2026-12-01T11:02:00.000Z");
    assert_eq!(rows[1]["outcome"], "undone");
    assert_eq!(rows[1]["cost"], 0.3);
    assert_eq!(rows[1]["note"], "reverted");
    assert_eq!(rows[5]["cost"], 250.0);
    assert_eq!(rows[4]["input"]["command"], "ls");
    // The export is itself a valid import, and round-trips: the same records (ids aside).
    let again = dir.path().join("b.jsonl");
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&again, text).unwrap();
    let log2 = dir.path().join("e.sqlite");
    assert_eq!(import(&again, &log2)["added"], 6);
    let strip = |mut v: Vec<Value>| {
        v.iter_mut().for_each(|r| {
            r.as_object_mut().unwrap().remove("id");
        });
        v
    };
    assert_eq!(strip(export(&log2)), strip(rows));
}

#[test]
fn a_bad_line_is_named_and_nothing_is_imported() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("d.sqlite");
    let good = dir.path().join("good.jsonl");
    std::fs::write(&good, MESSY).unwrap();
    import(&good, &log);
    let cases = [
        (r#"{"time":"2026-13-01T10:00:00Z","tool":"x"}"#, "time:"),
        (r#"{"tool":"x"}"#, "missing field `time`"),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","mvoe":"act"}"#,
            "unknown field `mvoe`",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"go"}"#,
            "move:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","confidence":1.5}"#,
            "confidence:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","confidence":0.5,"confidence_source":"none"}"#,
            "confidence_source:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"act","answer":"approve"}"#,
            "answer:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","answer":"maybe"}"#,
            "answer:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"act","decision":"deny"}"#,
            "decision:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","outcome":"fine","cost":2}"#,
            "cost:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","outcome":"incident","cost":-2}"#,
            "cost:",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","cost":2}"#,
            "cost: given without an outcome",
        ),
        (r#"{"time":"2026-12-01T10:00:00Z","tool":""}"#, "tool:"),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1},{"label":"b","value":0}],"chosen":"c"}"#,
            "chosen: \"c\" is not the label",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1},{"label":"b","value":0}]}"#,
            "chosen: missing",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","chosen":"a"}"#,
            "chosen: given without options",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"act","options":[{"label":"a","value":1},{"label":"b","value":0}],"chosen":"a"}"#,
            "options: a call whose move was \"act\"",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1}],"chosen":"a"}"#,
            "options: 1 options",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1},{"label":"a","value":0}],"chosen":"a"}"#,
            "options[1].label",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1},{"label":"b","features":{"f":0}}],"chosen":"a"}"#,
            "options[1]: every option",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1,"features":{"f":1}},{"label":"b","value":0}],"chosen":"a"}"#,
            "options[0]: give exactly one",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","features":{"f":1}},{"label":"b","features":{"g":0}}],"chosen":"a"}"#,
            "options[1].features: names",
        ),
        (
            r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1},{"label":"b","valeu":0}],"chosen":"a"}"#,
            "unknown field `valeu`",
        ),
        ("not json", "(column"),
    ];
    for (line, needle) in cases {
        // The bad record is the last of a file whose other lines are new calls: none of them may land.
        let file = dir.path().join("bad.jsonl");
        let fresh = MESSY
            .replace("2026-12-01", "2026-11-30")
            .replace("\"t1\"", "\"t9\"");
        std::fs::write(&file, format!("{fresh}{line}\n")).unwrap();
        let out = Cmd::new(bin())
            .args(["log", "import", "--log"])
            .arg(&log)
            .arg(&file)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{line}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{line}: {err}");
        let want = format!("bad.jsonl:{}: ", fresh.lines().count() + 1);
        assert!(err.contains(&want), "{line}: expected {want:?} in {err}");
        assert!(err.contains(needle), "{line}: expected {needle:?} in {err}");
        assert_eq!(export(&log).len(), 6, "{line}: half-imported");
    }
    // A log that is not there is not created by a failed import.
    let none = dir.path().join("none.sqlite");
    let file = dir.path().join("bad.jsonl");
    Cmd::new(bin())
        .args(["log", "import", "--log"])
        .arg(&none)
        .arg(&file)
        .assert()
        .code(2);
    assert!(!none.exists());
    // Not a file.
    Cmd::new(bin())
        .args(["log", "import", "/dev/zero", "--log"])
        .arg(&log)
        .assert()
        .code(2);
    Cmd::new(bin())
        .args(["log", "export", "--log"])
        .arg(dir.path().join("missing.sqlite"))
        .assert()
        .code(2);
}

#[test]
fn the_gates_own_log_exports_with_its_answers_and_outcomes() {
    let dir = tempfile::tempdir().unwrap();
    let card_dir = common::coding_card(dir.path());
    let log = dir.path().join("d.sqlite");
    let lines = [
        r#"{"tool":"Bash","input":{"command":"git push --force"},"confidence":0.99,"tool_use_id":"a"}"#,
        r#"{"tool":"Edit","input":{"file_path":"src/main.rs"},"confidence":0.9,"tool_use_id":"b"}"#,
    ];
    Cmd::new(bin())
        .args(["gate", "--format", "jsonl", "--card"])
        .arg(card_dir.join("card.json"))
        .arg("--log")
        .arg(&log)
        .write_stdin(lines.join("\n") + "\n")
        .assert()
        .success();
    for (id, flag, value) in [("a", "--answer", "approve"), ("a", "--outcome", "incident")] {
        let mut c = Cmd::new(bin());
        c.args(["gate", "record", "--log"])
            .arg(&log)
            .args(["--tool-use-id", id, flag, value]);
        if flag == "--outcome" {
            c.args(["--cost", "40"]);
        }
        c.assert().success();
    }
    // The choice the reviewer was offered for the asked call, and what it chose; a label it was not offered, or
    // a choice on a call that was not asked, is refused naming the flag.
    let options = r#"[{"label":"push","value":-40},{"label":"cancel","value":0}]"#;
    let record = |id: &str, chosen: &str| {
        Cmd::new(bin())
            .args(["gate", "record", "--log"])
            .arg(&log)
            .args([
                "--tool-use-id",
                id,
                "--options",
                options,
                "--chosen",
                chosen,
            ])
            .output()
            .unwrap()
    };
    assert!(record("a", "push").status.success());
    for (id, chosen, needle) in [("a", "merge", "--chosen"), ("b", "push", "--options")] {
        let o = record(id, chosen);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(
            err.contains(needle) && err.trim().lines().count() == 1,
            "{err}"
        );
    }
    let out = dir.path().join("out.jsonl");
    Cmd::new(bin())
        .args(["log", "export", "--log"])
        .arg(&log)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let rows: Vec<Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    let a = rows.iter().find(|r| r["tool_use_id"] == "a").unwrap();
    assert_eq!(a["runtime"], "jsonl");
    assert_eq!(a["answer"], "approve");
    assert_eq!(
        (&a["outcome"], &a["cost"]),
        (&Value::from("incident"), &Value::from(40.0))
    );
    assert_eq!(a["input"]["command"], "git push --force");
    assert_eq!(a["chosen"], "push");
    assert_eq!(a["options"][0]["label"], "push");
    assert_eq!(a["options"][0]["value"].as_f64(), Some(-40.0));
    assert_eq!(
        (&a["class"], &a["move"]),
        (&Value::from("irreversible"), &Value::from("ask"))
    );
    // An answer to a call that was not asked is refused, as on import.
    let b = rows.iter().find(|r| r["tool_use_id"] == "b").unwrap();
    assert_eq!(b["move"], "act");
    Cmd::new(bin())
        .args(["gate", "record", "--log"])
        .arg(&log)
        .args(["--tool-use-id", "b", "--answer", "approve"])
        .assert()
        .code(2);
    // What the gate logged is a valid import elsewhere.
    assert_eq!(import(&out, &dir.path().join("copy.sqlite"))["added"], 2);
}

/// A choice whose stored options are damaged is refused by the export (and by `cirl fit`), not exported as a
/// `chosen` without its options, which no import would take.
#[test]
fn a_damaged_choice_is_refused_not_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.jsonl");
    std::fs::write(
        &file,
        r#"{"time":"2026-12-01T10:00:00Z","tool":"x","move":"ask","options":[{"label":"a","value":1},{"label":"b","value":0}],"chosen":"a"}"#,
    )
    .unwrap();
    let log = dir.path().join("d.sqlite");
    import(&file, &log);
    assert_eq!(export(&log)[0]["chosen"], "a");
    rusqlite::Connection::open(&log)
        .unwrap()
        .execute("UPDATE choices SET options = 'not json'", [])
        .unwrap();
    let out = Cmd::new(bin())
        .args(["log", "export", "--log"])
        .arg(&log)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("d.sqlite"));
    let fit = Cmd::new(bin())
        .arg("fit")
        .arg(&log)
        .args([
            "--scenario",
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/experiments/scenarios/coding-agent.toml"
            ),
        ])
        .output()
        .unwrap();
    assert_eq!(fit.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&fit.stderr).contains("damaged"));
}
