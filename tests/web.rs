//! `cirl serve`: the API gives the CLI's numbers to the last bit, refuses bad requests with one line of JSON,
//! serves the page's files with a policy that keeps it offline, and survives a burst of concurrent requests.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use assert_cmd::Command;
use cirl::web::{api, server};
use serde_json::Value;

/// One HTTP/1.1 request on a fresh connection: (status, headers, body).
fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> (u16, String, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .unwrap();
    // A server may answer (and close) before reading all of a refused body.
    let _ = s.write_all(body);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out).to_string();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

/// `cirl offswitch … --json`: its exact text.
fn cli_text(prior: &str, human: &str, cost: &str) -> String {
    let out = Command::cargo_bin("cirl")
        .unwrap()
        .args([
            "offswitch",
            "--prior",
            prior,
            "--human",
            human,
            "--cost",
            cost,
            "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn cli_offswitch(prior: &str, human: &str, cost: &str) -> Value {
    serde_json::from_str(&cli_text(prior, human, cost)).unwrap()
}

/// The API's answer is the CLI's JSON, character for character (so every number has the same bits: both print
/// the shortest decimal that reads back as the same double), plus the command that prints it.
#[test]
fn offswitch_matches_the_cli_bit_for_bit() {
    let cases = [
        ("normal:0.25,1", "boltzmann:0.5", "0"),
        ("normal:0.5,1", "boltzmann:2", "0.05"),
        ("normal:-1.37,0.01", "boltzmann:0", "0"),
        ("normal:2,3", "boltzmann:3", "0.5"),
        ("normal:0,0", "rational", "0"),
        ("uniform:-1,2", "p-rational:0.8", "0.1"),
        ("discrete:-1@0.3,2@0.7", "error-rates:0.9,0.8", "0"),
        ("two-point:0.1,0.7", "chance:0.4", "0.02"),
    ];
    for (prior, human, cost) in cases {
        let body = serde_json::json!({"prior": prior, "human": human, "cost": cost.parse::<f64>().unwrap()});
        let mut a = api::handle("offswitch", body.to_string().as_bytes()).unwrap();
        let command = a.as_object_mut().unwrap().remove("command").unwrap();
        let cli = cli_text(prior, human, cost);
        assert_eq!(
            format!("{}\n", serde_json::to_string_pretty(&a).unwrap()),
            cli,
            "{prior} {human} {cost}"
        );
        // The command it shows prints the same text.
        let cmd: Vec<&str> = command.as_str().unwrap().split(' ').collect();
        assert_eq!(cmd[0], "cirl");
        let out = Command::cargo_bin("cirl")
            .unwrap()
            .args(&cmd[1..])
            .output()
            .unwrap();
        assert_eq!(String::from_utf8(out.stdout).unwrap(), cli);
    }
}

/// The CIRL view's episode is `cirl solve GAME … --histories 1 --json`'s: the same JSON (every number the same
/// text, so the same bits) apart from the wall-clock seconds, and the command the page shows prints it.
#[test]
fn cirl_episode_matches_the_cli_bit_for_bit() {
    let cases = [
        r#"{"game":"red-blue","theta":"blue"}"#,
        r#"{"game":"red-blue","human":"coordinated","theta":"red","seed":4}"#,
        r#"{"game":"red-blue","human":"boltzmann:1","seed":2}"#,
        r#"{"game":"wormy-apples","theta":"trash","seed":3}"#,
        r#"{"game":"wormy-apples","human":"coordinated","theta":"compost","seed":11,"set":{"two_phase":true}}"#,
        r#"{"game":"wormy-apples","human":"rational","theta":"trash","seed":5,"set":{"wormy_probability":0.9,"query_cost":0.25}}"#,
    ];
    let mut wormy_seen = false;
    for body in cases {
        let mut a = api::handle("cirl", body.as_bytes()).unwrap();
        let o = a.as_object_mut().unwrap();
        let command = o.remove("command").unwrap();
        let names = o.remove("names").unwrap();
        o.remove("seconds");
        let cmd: Vec<&str> = command.as_str().unwrap().split(' ').collect();
        assert_eq!(cmd[..2], ["cirl", "solve"]);
        let out = Command::cargo_bin("cirl")
            .unwrap()
            .args(&cmd[1..])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{body}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut cli: Value = serde_json::from_slice(&out.stdout).unwrap();
        cli.as_object_mut().unwrap().remove("seconds");
        assert_eq!(a.to_string(), cli.to_string(), "{body}");
        // One episode, each step with a Q-value per robot move, in the game's order.
        let steps = a["histories"][0]["steps"].as_array().unwrap();
        assert!(!steps.is_empty());
        for st in steps {
            let q: Vec<&str> = st["q"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x["action"].as_str().unwrap())
                .collect();
            let want: Vec<&str> = names["robot_actions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_str().unwrap())
                .collect();
            assert_eq!(q, want);
            wormy_seen |= st["state"] == "wormy-apples";
        }
        if let Some(t) = serde_json::from_str::<Value>(body).unwrap()["theta"].as_str() {
            assert_eq!(a["histories"][0]["theta"], t, "{body}");
        }
    }
    assert!(wormy_seen, "no case reached the wormy apples");
}

/// The "your agent" view's class is the card `cirl calibrate` writes from the scenario the page shows: the same
/// JSON (every number the same text), from the command the page shows, run in a folder with the file.
#[test]
fn agent_class_matches_the_cli_bit_for_bit() {
    let cases = [
        r#"{"share":0.1,"mean":5,"sd":3,"tail_probability":0.03,"tail_loss":200,"reversible":false,"approve_good":0.97,"catch_bad":0.5,"ask_cost":0.5,"handover_cost":15}"#,
        r#"{"share":1,"mean":2,"sd":1.5,"reversible":true,"undo_cost":0.2,"approve_good":0.9,"catch_bad":0.6,"ask_cost":0.1,"handover_cost":4}"#,
        r#"{"share":0.4,"mean":-1,"sd":2,"reversible":false,"approve_good":0.99,"catch_bad":0.9,"ask_cost":0.05,"handover_cost":1,"fatigue":true,"auroc":0.85}"#,
        r#"{"share":0.25,"mean":0.5,"sd":4,"tail_probability":0.001,"tail_loss":500,"reversible":true,"undo_cost":8,"approve_good":0.8,"catch_bad":0.3,"ask_cost":2,"handover_cost":3,"fatigue":true}"#,
    ];
    let mut moves = std::collections::BTreeSet::new();
    for body in cases {
        let a = api::handle("agent", body.as_bytes()).unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join(a["file"].as_str().unwrap()),
            a["scenario"].as_str().unwrap(),
        )
        .unwrap();
        let cmd: Vec<&str> = a["command"].as_str().unwrap().split(' ').collect();
        assert_eq!(cmd[..2], ["cirl", "calibrate"]);
        let out = Command::cargo_bin("cirl")
            .unwrap()
            .args(&cmd[1..])
            .arg("--quiet")
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{body}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let card: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            a["class"].to_string(),
            card["classes"][0].to_string(),
            "{body}"
        );
        assert_eq!(
            a["reviewer"].to_string(),
            card["reviewer"].to_string(),
            "{body}"
        );
        assert_eq!(card["classes"][0]["name"], "this-class");
        moves.insert(a["class"]["move"].as_str().unwrap().to_string());
    }
    // The cases reach more than one move.
    assert!(moves.len() >= 2, "{moves:?}");
}

#[test]
fn frontier_points_are_roots_of_delta() {
    let body =
        r#"{"mu":0.25,"cost":0,"sigma":{"lo":0.05,"hi":3,"n":12},"beta":{"lo":0,"hi":3,"n":16}}"#;
    // Read back from its text, as the CLI's output is (the same double prints as the same text).
    let m: Value = serde_json::from_str(
        &api::handle("frontier", body.as_bytes())
            .unwrap()
            .to_string(),
    )
    .unwrap();
    let pts = m["frontier"].as_array().unwrap();
    assert!(pts.len() >= 5, "{m}");
    for p in pts {
        let (s, b) = (p["sigma"].as_f64().unwrap(), p["beta"].as_f64().unwrap());
        let c = cli_offswitch(&format!("normal:0.25,{s}"), &format!("boltzmann:{b}"), "0");
        let d = c["delta"].as_f64().unwrap();
        assert!(d.abs() < 1e-9, "Δ({s}, {b}) = {d}");
        // The closed form for a normal belief and a Boltzmann human at c = 0: Δ = 0 where σ² = 2|μ|β.
        assert!((s * s - 2.0 * 0.25 * b).abs() < 1e-8, "σ = {s}, β = {b}");
    }
    // Each grid value is the CLI's Δ.
    let (s, b) = (
        m["sigma"][3].as_f64().unwrap(),
        m["beta"][7].as_f64().unwrap(),
    );
    let c = cli_offswitch(&format!("normal:0.25,{s}"), &format!("boltzmann:{b}"), "0");
    assert_eq!(
        c["delta"].as_f64().unwrap().to_bits(),
        m["delta"][3][7].as_f64().unwrap().to_bits()
    );
    // A more uncertain robot defers to a noisier human: the frontier's β rises with σ.
    let mut v: Vec<(f64, f64)> = pts
        .iter()
        .map(|p| (p["sigma"].as_f64().unwrap(), p["beta"].as_f64().unwrap()))
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    assert!(v.windows(2).all(|w| w[1].1 >= w[0].1), "{v:?}");
}

#[test]
fn curves_are_the_belief_and_the_human() {
    let c = api::handle(
        "curves",
        br#"{"prior":"normal:0.5,2","human":"boltzmann:1","points":5}"#,
    )
    .unwrap();
    let u: Vec<f64> = serde_json::from_value(c["u"].clone()).unwrap();
    assert_eq!(u, vec![-7.5, -3.5, 0.5, 4.5, 8.5]);
    let pi: Vec<f64> = serde_json::from_value(c["p_allow"].clone()).unwrap();
    assert!((pi[2] - 1.0 / (1.0 + (-0.5f64).exp())).abs() < 1e-15);
    let d: Vec<f64> = serde_json::from_value(c["density"].clone()).unwrap();
    assert!((d[2] - 1.0 / (2.0 * (2.0 * std::f64::consts::PI).sqrt())).abs() < 1e-15);
    let c = api::handle(
        "curves",
        br#"{"prior":"discrete:-1@0.25,1@0.75","human":"rational"}"#,
    )
    .unwrap();
    assert_eq!(c["atoms"][1]["p"], 0.75);
    assert!(c["density"].is_null());
}

#[test]
fn bad_requests_get_one_line_naming_the_field() {
    let agent = |extra: &str| {
        format!(
            r#"{{"share":0.1,"mean":5,"sd":3,"reversible":false,"approve_good":0.97,"catch_bad":0.5,"ask_cost":0.5,"handover_cost":15{extra}}}"#
        )
    };
    let agent_cases = [
        (agent(r#","share":0"#), "duplicate field"),
        (agent(r#","x":1"#), "unknown field `x`"),
        (agent("").replace(r#""share":0.1"#, r#""share":0"#), "share"),
        (agent("").replace(r#""sd":3"#, r#""sd":-1"#), "sd"),
        (
            agent(r#","tail_probability":0.9,"tail_loss":10"#),
            "tail_probability",
        ),
        (
            agent("").replace(r#""catch_bad":0.5"#, r#""catch_bad":1.5"#),
            "catch_bad",
        ),
        (agent(r#","auroc":0.2"#), "auroc"),
        (agent(r#","auroc":"high""#), "invalid type"),
        (
            agent("").replace(r#""ask_cost":0.5"#, r#""ask_cost":-1"#),
            "ask_cost",
        ),
    ];
    for (body, says) in &agent_cases {
        let e = api::handle("agent", body.as_bytes()).unwrap_err();
        let m = e.to_string();
        assert!(m.contains(says), "{body}: {m}");
        assert!(!m.contains('\n') && e.is_input_error(), "{m}");
    }
    let cases: [(&str, &str, &str); 20] = [
        ("offswitch", "not json", "request"),
        ("offswitch", "{}", "missing field `prior`"),
        (
            "offswitch",
            r#"{"prior":"normal:0,1","human":"rational","x":1}"#,
            "unknown field `x`",
        ),
        (
            "offswitch",
            r#"{"prior":"normal:0,-1","human":"rational"}"#,
            "prior",
        ),
        (
            "offswitch",
            r#"{"prior":"normal:0,1","human":"boltzmann:-1"}"#,
            "human",
        ),
        (
            "offswitch",
            r#"{"prior":"normal:0,1","human":"rational","cost":-1}"#,
            "cost",
        ),
        (
            "offswitch",
            r#"{"prior":"csv:/etc/passwd#root","human":"rational"}"#,
            "reads no files",
        ),
        (
            "offswitch",
            r#"{"prior":"prior.toml","human":"rational"}"#,
            "reads no files",
        ),
        (
            "offswitch",
            r#"{"prior":" csv :data.csv#u","human":"rational"}"#,
            "reads no files",
        ),
        (
            "curves",
            r#"{"prior":"normal:0,1","human":"rational","points":100000}"#,
            "points",
        ),
        (
            "frontier",
            r#"{"mu":0,"sigma":{"lo":1,"hi":0,"n":3},"beta":{"lo":0,"hi":1,"n":3}}"#,
            "sigma",
        ),
        (
            "frontier",
            r#"{"mu":0,"sigma":{"lo":0,"hi":1,"n":3},"beta":{"lo":0,"hi":1,"n":1000}}"#,
            "beta",
        ),
        ("nothing", "{}", "unknown endpoint"),
        ("cirl", r#"{"game":"tiger"}"#, "game"),
        (
            "cirl",
            r#"{"game":"experiments/games/red-blue.toml"}"#,
            "game",
        ),
        ("cirl", r#"{"game":"red-blue","theta":"green"}"#, "theta"),
        ("cirl", r#"{"game":"red-blue","human":"oracle"}"#, "human"),
        (
            "cirl",
            r#"{"game":"red-blue","set":{"two_phase":true}}"#,
            "not a parameter",
        ),
        (
            "cirl",
            r#"{"game":"wormy-apples","set":{"horizon":50}}"#,
            "set.horizon",
        ),
        (
            "cirl",
            r#"{"game":"wormy-apples","set":{"query_cost":"a lot"}}"#,
            "set.query_cost",
        ),
    ];
    for (endpoint, body, says) in cases {
        let e = api::handle(endpoint, body.as_bytes()).unwrap_err();
        let m = e.to_string();
        assert!(m.contains(says), "{endpoint} {body}: {m}");
        assert!(!m.contains('\n'), "{m}");
        assert!(e.is_input_error(), "{m}");
    }
}

#[test]
fn the_server_answers_refuses_and_survives_a_burst() {
    let h = server::start(&server::Options::loopback(0)).unwrap();
    let addr = h.addr();
    assert!(addr.ip().is_loopback());

    let (status, head, page) = http(addr, "GET", "/", b"");
    assert_eq!(status, 200);
    assert!(page.contains("<script src=\"/app.js\""));
    assert!(head.contains("default-src 'self'"), "{head}");
    for f in ["/app.js", "/style.css"] {
        assert_eq!(http(addr, "GET", f, b"").0, 200, "{f}");
    }

    let body = br#"{"prior":"normal:0.25,1","human":"boltzmann:0.5","cost":0}"#;
    let (status, _, out) = http(addr, "POST", "/api/offswitch", body);
    assert_eq!(status, 200);
    // Compared as text: the same doubles print as the same digits.
    assert_eq!(out, api::handle("offswitch", body).unwrap().to_string());

    let refused: [(&str, &str, Vec<u8>, u16); 6] = [
        ("POST", "/api/offswitch", b"{".to_vec(), 400),
        ("POST", "/api/nothing", b"{}".to_vec(), 404),
        ("GET", "/api/offswitch", Vec::new(), 405),
        ("POST", "/", Vec::new(), 405),
        ("GET", "/etc/passwd", Vec::new(), 404),
        ("POST", "/api/offswitch", vec![b' '; api::MAX_BODY + 1], 413),
    ];
    for (method, path, body, want) in refused {
        let (status, _, out) = http(addr, method, path, &body);
        assert_eq!(status, want, "{method} {path}: {out}");
        let v: Value =
            serde_json::from_str(&out).unwrap_or_else(|_| panic!("{method} {path}: {out}"));
        let e = v["error"].as_str().unwrap();
        assert!(!e.is_empty() && !e.contains('\n'), "{e}");
    }

    // A burst: 8 clients × 40 requests at once, against 4 workers; every answer is right.
    let want = api::handle("offswitch", body).unwrap().to_string();
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..40 {
                    let (status, _, out) = http(addr, "POST", "/api/offswitch", body);
                    assert_eq!(status, 200);
                    assert_eq!(out, want);
                }
            });
        }
    });
    h.stop();
    // The listening thread closes the socket as it notices (within moments).
    let closed = (0..200).any(|_| {
        std::thread::sleep(Duration::from_millis(10));
        TcpStream::connect(addr).is_err()
    });
    assert!(closed, "the socket is still open 2 s after stop");
}

#[test]
fn cli_flags_are_checked() {
    for (args, says) in [
        (vec!["serve", "--threads", "0"], "--threads"),
        (vec!["serve", "--bind", "localhost"], "--bind"),
        (vec!["serve", "--port", "70000"], "--port"),
    ] {
        let out = Command::cargo_bin("cirl")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A port in use.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let out = Command::cargo_bin("cirl")
        .unwrap()
        .args(["serve", "--port", &port])
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--port"), "{err}");
}
