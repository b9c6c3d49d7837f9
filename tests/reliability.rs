//! Regression tests for the reliability review (../shared/reviews/reliability.md, cases C01–C41): each test
//! names the cases it covers and checks the review's "expected" column, on the review's own inputs (copied into
//! tests/cases/reliability/) and on variants of them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn cirl() -> Command {
    Command::cargo_bin("cirl").unwrap()
}

fn cases() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases/reliability")
}

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Runs `args` in `dir`; asserts exit 2 and one line on stderr starting `error:` and containing `needle`.
fn refused_in(dir: &Path, args: &[&str], needle: &str) -> String {
    let out = cirl().current_dir(dir).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: expected {needle:?} in {err}"
    );
    err
}

fn refused(args: &[&str], needle: &str) -> String {
    refused_in(&cases(), args, needle)
}

/// Runs `args` (with `--json`) in the cases folder; asserts success and returns the JSON and stderr.
fn json(args: &[&str]) -> (Value, String) {
    let out = cirl()
        .current_dir(cases())
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{args:?}: {err}");
    (serde_json::from_slice(&out.stdout).unwrap(), err)
}

/// Every number in a JSON value is finite (serde_json writes inf and NaN as null).
fn nulls(v: &Value, path: &str, found: &mut Vec<String>) {
    match v {
        Value::Null => found.push(path.to_string()),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                nulls(x, &format!("{path}[{i}]"), found);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                nulls(x, &format!("{path}.{k}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn c01_prior_files_that_include_themselves_are_refused() {
    for args in [
        &[
            "offswitch",
            "--prior",
            "selfmix.toml",
            "--human",
            "rational",
        ][..],
        &["offswitch", "--prior", "loopa.toml", "--human", "rational"],
        &["run", "sweep-selfmix.toml", "--dry-run"],
    ] {
        refused(args, "includes itself");
    }
    // A chain deeper than the nesting limit, without a cycle.
    let dir = tempfile::tempdir().unwrap();
    for i in 0..40 {
        let next = if i == 39 {
            "\"normal:0,1\"".to_string()
        } else {
            format!("\"p{}.toml\"", i + 1)
        };
        std::fs::write(
            dir.path().join(format!("p{i}.toml")),
            format!(
                "[prior]\nkind = \"mixture\"\ncomponents = [{{ weight = 1.0, prior = {next} }}]\n"
            ),
        )
        .unwrap();
    }
    refused_in(
        dir.path(),
        &["offswitch", "--prior", "p0.toml", "--human", "rational"],
        "nest deeper",
    );
}

#[test]
fn c02_to_c09_requests_too_big_to_finish_are_refused_up_front() {
    let scenario = repo("experiments/scenarios/coding-agent.toml");
    let scenario = scenario.to_str().unwrap();
    let table: &[(&[&str], &str)] = &[
        (
            &[
                "offswitch",
                "--prior",
                "normal:0,1",
                "--human",
                "rational",
                "--mc",
                "100000000000000",
            ],
            "--mc",
        ),
        (
            &[
                "calibrate",
                scenario,
                "--mc",
                "18446744073709551615",
                "--no-plots",
            ],
            "--mc",
        ),
        (
            &["solve", "tiger", "--simulate", "18446744073709551615"],
            "--simulate",
        ),
        (
            &["solve", "tiger", "--simulate", "100000000000"],
            "--simulate",
        ),
        (
            &[
                "solve",
                "tiger",
                "--histories",
                "1000000000",
                "--simulate",
                "10",
            ],
            "--histories",
        ),
        (
            &["solve", "tiger", "--max-beliefs", "1000000000"],
            "--max-beliefs",
        ),
        (
            &["solve", "tiger-reward-1e308.pomdp"],
            "rescale the rewards",
        ),
        (&["solve", "tiger-discount-0.9999999.pomdp"], "--tolerance"),
        (
            &["solve", "tiger", "--set", "discount=0.9999999"],
            "--solver pbvi",
        ),
        (
            &["solve", "tiger", "--set", "horizon=1000000000"],
            "horizon",
        ),
        (&["solve", "tiger", "--set", "horizon=0"], "at least 1"),
        (
            &["solve", "tiger", "--set", "horizon=18446744073709551615"],
            "rejected",
        ),
        (
            &["solve", "offswitch", "--set", "points=100000"],
            "--set points",
        ),
        (
            &["solve", "random", "--set", "states=100000"],
            "--set states",
        ),
        (
            &["solve", "random", "--set", "states=10000"],
            "--set states",
        ),
        (
            &[
                "offswitch",
                "--prior",
                "csv:/dev/zero#u",
                "--human",
                "rational",
            ],
            "not a regular file",
        ),
        (&["run", "/dev/zero", "--dry-run"], "not a regular file"),
        (&["solve", "/dev/zero"], "not a regular file"),
        (&["calibrate", "/dev/zero"], "not a regular file"),
        (&["posg", "/dev/zero"], "not a regular file"),
    ];
    for (args, needle) in table {
        refused(args, needle);
    }
}

#[test]
fn c05_c06_c07_limits_leave_room_for_real_requests() {
    // Just inside the limits these run: a long finite horizon, a discount the exact solver can reach.
    let (v, _) = json(&["solve", "tiger", "--set", "horizon=200"]);
    assert!(v["value"].as_f64().unwrap().is_finite());
    let (v, _) = json(&["solve", "tiger", "--set", "discount=0.99"]);
    assert!(v["tolerance_met"].as_bool().unwrap());
}

#[test]
fn c10_c12_c39_pomdp_files_as_real_files_are_written() {
    // `start include:` after `observations:` is the start belief, not more observation names.
    let (v, _) = json(&["solve", "start-include-minimal.pomdp"]);
    assert_eq!(v["pomdp_observations"], 1);
    assert_eq!(v["pomdp_states"], 2);
    let m = cirl::model::pomdp_format::read(&cases().join("start-include-minimal.pomdp")).unwrap();
    assert_eq!(m.initial, vec![1.0, 0.0]);
    let m = cirl::model::pomdp_format::read(&cases().join("tiger-start-include.pomdp")).unwrap();
    assert_eq!(m.n_observations(), 2);
    // `start exclude:` and a named start state.
    let base = "discount: 0.9\nvalues: reward\nstates: a b c\nactions: x\nobservations: o\n";
    let tail = "T: x\nidentity\nO: x\nuniform\nR: x : * : * : * 1\n";
    for (start, want) in [
        ("start exclude: b", vec![0.5, 0.0, 0.5]),
        ("start include: a c", vec![0.5, 0.0, 0.5]),
        ("start: c", vec![0.0, 0.0, 1.0]),
        ("start: 0.2 0.3 0.5", vec![0.2, 0.3, 0.5]),
    ] {
        let m = cirl::model::pomdp_format::parse(&format!("{base}{start}\n{tail}"), "t").unwrap();
        assert_eq!(m.initial, want, "{start}");
    }
    // States declared by count: a run of numbers is a distribution, one number a state.
    let counted = "discount: 0.9\nvalues: reward\nstates: 3\nactions: x\nobservations: o\n";
    let m =
        cirl::model::pomdp_format::parse(&format!("{counted}start: 0 0 1\n{tail}"), "t").unwrap();
    assert_eq!(m.initial, vec![0.0, 0.0, 1.0]);
    let m = cirl::model::pomdp_format::parse(&format!("{counted}start: 1\n{tail}"), "t").unwrap();
    assert_eq!(m.initial, vec![0.0, 1.0, 0.0]);
    // A byte-order mark is skipped: the same model as without it.
    let bom = cirl::model::pomdp_format::read(&cases().join("tiger-bom.pomdp")).unwrap();
    let text = std::fs::read_to_string(cases().join("tiger-bom.pomdp")).unwrap();
    let plain =
        cirl::model::pomdp_format::parse(text.trim_start_matches('\u{feff}'), "plain").unwrap();
    assert_eq!((bom.t, bom.o, bom.r), (plain.t, plain.o, plain.r));
    // Rows rounded to six decimals are renormalised, and the run says so.
    let (v, err) = json(&["solve", "rows-six-decimals.pomdp"]);
    assert!(
        err.contains("warning: renormalised 3 probability rows"),
        "{err}"
    );
    assert!(v["notes"][0].as_str().unwrap().contains("renormalised"));
    // Rows off by more than rounding stay errors.
    let off = format!("{base}start: 0.3 0.3 0.3\n{tail}");
    let e = cirl::model::pomdp_format::parse(&off, "off")
        .unwrap_err()
        .to_string();
    assert!(e.contains("sums to 0.9"), "{e}");
}

#[test]
fn c11_the_exact_solver_is_right_at_discount_zero() {
    let (v, _) = json(&["solve", "tiger-discount-0.pomdp"]);
    assert_eq!(v["value"], -1.0);
    assert_eq!(v["iterations"], 1);
    let (p, _) = json(&["solve", "tiger-discount-0.pomdp", "--solver", "pbvi"]);
    assert!((p["value"].as_f64().unwrap() + 1.0).abs() < 1e-9);
    let (v, _) = json(&["solve", "tiger", "--set", "discount=0"]);
    assert_eq!(v["value"], -1.0);
}

/// Writes the coding-agent scenario with `from` replaced by `to` in its text.
fn scenario_variant(dir: &Path, name: &str, edits: &[(&str, &str)]) -> PathBuf {
    let mut text =
        std::fs::read_to_string(repo("experiments/scenarios/coding-agent.toml")).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{from}");
        text = text.replacen(from, to, 1);
    }
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn moves(card: &Value) -> Vec<(String, String)> {
    card["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["move"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn c13_a_huge_unrelated_cost_does_not_flip_the_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let card = |edits: &[(&str, &str)]| {
        let p = scenario_variant(dir.path(), "s.toml", edits);
        json(&["calibrate", p.to_str().unwrap(), "--mc", "0"]).0
    };
    let ask = "ask_cost = 0.5";
    let hand = "handover_cost = 15.0";
    // Asking priced out: the moves are those at a merely large ask cost, and none asks.
    let big = moves(&card(&[(ask, "ask_cost = 1e6")]));
    assert!(big.iter().all(|(_, m)| m != "ask"), "{big:?}");
    for c in ["1e10", "3e10", "1e12", "1e300"] {
        let m = moves(&card(&[(ask, &format!("ask_cost = {c}"))]));
        assert_eq!(m, big, "ask_cost = {c}");
    }
    // Handing over priced out: never more asking than at a large hand-over cost.
    let big = moves(&card(&[(hand, "handover_cost = 1e6")]));
    assert!(big.iter().all(|(_, m)| m != "hand-over"), "{big:?}");
    for h in ["1e9", "1e12", "1e300"] {
        let m = moves(&card(&[(hand, &format!("handover_cost = {h}"))]));
        assert_eq!(m, big, "handover_cost = {h}");
    }
}

fn offswitch(prior: &str, human: &str, extra: &[&str]) -> Value {
    let mut args = vec!["offswitch", "--prior", prior, "--human", human];
    args.extend_from_slice(extra);
    json(&args).0
}

#[test]
fn c14_p_allow_is_right_for_narrow_beliefs() {
    let sig1 = 1.0 / (1.0 + (-1.0f64).exp());
    for (prior, want) in [
        ("uniform:1,1.000000000000001", sig1),
        ("uniform:1,1.0000000001", sig1),
        ("uniform:0,1e-20", 0.5),
        ("uniform:0,1e-12", 0.5),
        ("uniform:-1e-300,1e-300", 0.5),
    ] {
        let v = offswitch(prior, "boltzmann:1", &[]);
        let p = v["p_allow"].as_f64().unwrap();
        assert!((p - want).abs() < 1e-9, "{prior}: p_allow {p}, want {want}");
    }
}

#[test]
fn c15_to_c19_values_are_finite_or_refused_at_every_extreme() {
    // Widths that overflow f64 are refused, naming the field.
    refused(
        &[
            "offswitch",
            "--prior",
            "uniform:-1.7e308,1.7e308",
            "--human",
            "boltzmann:1e-300",
        ],
        "overflows",
    );
    refused(
        &[
            "run",
            "sweep-extreme.toml",
            "--out",
            "/nonexistent/x",
            "--quiet",
        ],
        "sweep.sigma",
    );
    // Wide beliefs: finite values and no tie when Δ is far from 0 (C16).
    for (prior, human) in [
        ("normal:0,1e200", "boltzmann:1"),
        ("normal:0,1e300", "rational"),
        ("discrete:-1e308@0.5,1e308@0.5", "boltzmann:1"),
        ("uniform:-1e154,1e154", "boltzmann:1"),
        ("uniform:-8e307,8e307", "rational"),
    ] {
        let v = offswitch(prior, human, &[]);
        let mut bad = vec![];
        nulls(&v, "", &mut bad);
        assert!(bad.is_empty(), "{prior} {human}: {bad:?} in {v}");
        assert_eq!(v["decision"], "wait", "{prior} {human}: {v}");
        assert_eq!(v["tie"], false, "{prior} {human}: {v}");
        assert!(v["tie_tol"].as_f64().unwrap().is_finite());
    }
    // The exact uniform case: v_wait = E[max(U, 0)] = hi/4 and P(allow) = 1/2; a width past f64 is refused.
    let v = offswitch("uniform:-8e307,8e307", "rational", &[]);
    assert!(
        (v["v_wait"].as_f64().unwrap() / 2e307 - 1.0).abs() < 1e-12,
        "{v}"
    );
    assert_eq!(v["p_allow"], 0.5);
    refused(
        &[
            "offswitch",
            "--prior",
            "uniform:-1e308,1e308",
            "--human",
            "rational",
        ],
        "overflows",
    );
    // Huge samples (C17): finite, and act and wait tie exactly (both samples are the same huge gain).
    let v = offswitch("csv:huge-values.csv#u", "boltzmann:0.5", &[]);
    let mut bad = vec![];
    nulls(&v, "", &mut bad);
    assert!(bad.is_empty(), "{bad:?} in {v}");
    assert!(
        ["act", "wait"].contains(&v["decision"].as_str().unwrap()),
        "{v}"
    );
    // Monte Carlo at extremes (C19): intervals of honest width.
    for (prior, human) in [
        ("normal:0,1e200", "boltzmann:1"),
        ("uniform:-8e307,8e307", "rational"),
        ("normal:1e300,1e300", "boltzmann:1"),
    ] {
        let v = offswitch(prior, human, &["--mc", "1000"]);
        let mc = &v["monte_carlo"];
        let mut bad = vec![];
        nulls(&v, "", &mut bad);
        assert!(bad.is_empty(), "{prior}: {bad:?} in {v}");
        let w =
            mc["v_wait"]["ci_high"].as_f64().unwrap() - mc["v_wait"]["ci_low"].as_f64().unwrap();
        assert!(w > 0.0 && w.is_finite(), "{prior}: v_wait interval {mc}");
        let exact = v["v_wait"].as_f64().unwrap();
        let lo = mc["v_wait"]["ci_low"].as_f64().unwrap();
        let hi = mc["v_wait"]["ci_high"].as_f64().unwrap();
        // A 95% interval at these seeds covers the exact value (the run is deterministic).
        assert!(
            lo <= exact && exact <= hi,
            "{prior}: {exact} not in [{lo}, {hi}]"
        );
    }
}

fn run_out(config: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    cirl()
        .arg("run")
        .arg(config)
        .arg("--out")
        .arg(out)
        .args(["--quiet"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn c18_designer_extremes_are_finite() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o");
    let o = run_out(
        &cases().join("designer-extreme.toml"),
        &out,
        &["--no-plots"],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
    for (i, line) in csv.lines().enumerate().skip(1) {
        for cell in line.split(',') {
            let x: f64 = cell.parse().unwrap();
            assert!(x.is_finite(), "row {i}: {line}");
        }
    }
    // σ* = prior_sd·noise_sd/√(prior_sd² + noise_sd²) = 1e-300 here, computed without squaring.
    let cal = csv
        .lines()
        .next()
        .unwrap()
        .split(',')
        .position(|c| c == "calibrated_sigma")
        .unwrap();
    assert_eq!(
        csv.lines().nth(1).unwrap().split(',').nth(cal),
        Some("1e-300"),
        "{csv}"
    );
    // At σ = 1e300 the value's interval has width (the variance did not overflow to a clamped 0).
    let row = csv.lines().find(|l| l.starts_with("1,1e300,")).unwrap();
    let c: Vec<f64> = row.split(',').map(|x| x.parse().unwrap()).collect();
    assert!(c[5] < c[4] && c[4] < c[6], "{row}");
}

#[test]
fn c20_dry_run_validates_every_kind_and_writes_nothing() {
    for f in [
        "experiments/reproduce/milli2017/obedience.toml",
        "experiments/reproduce/leike2017/safe-interruptibility.toml",
        "experiments/reproduce/hm2016/apprenticeship.toml",
        "experiments/reproduce/hm2017/fig2.toml",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let o = cirl()
            .current_dir(dir.path())
            .arg("run")
            .arg(repo(f))
            .arg("--dry-run")
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{f}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stdout).contains("valid"), "{f}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{f} wrote files"
        );
    }
    // A bad study is reported by the dry run.
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(repo("experiments/reproduce/milli2017/obedience.toml"))
        .unwrap()
        .replacen("name = \"milli2017-obedience\"", "name = \"../x\"", 1);
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, text).unwrap();
    refused_in(dir.path(), &["run", "bad.toml", "--dry-run"], "name");
}

#[test]
fn c21_plot_problems_are_found_before_the_computation() {
    let dir = tempfile::tempdir().unwrap();
    refused(
        &["run", "plot-error-after-run.toml", "--dry-run"],
        "plot[0]",
    );
    let out = dir.path().join("o");
    let o = run_out(&cases().join("plot-error-after-run.toml"), &out, &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!out.join("results.csv").exists(), "the run went ahead");
    // With --no-plots the same config runs.
    let o = run_out(
        &cases().join("plot-error-after-run.toml"),
        &out,
        &["--no-plots"],
    );
    assert!(o.status.success());
}

#[test]
fn c22_c23_names_and_plot_files_stay_inside_out() {
    refused(&["run", "plot-escape.toml", "--dry-run"], "plot[0].file");
    refused(&["run", "name-dotdot.toml", "--dry-run"], "name");
    let dir = tempfile::tempdir().unwrap();
    for bad in ["..", ".", "a/b", "a\\\\b", ".hidden", "", "x y", "ü"] {
        let text = std::fs::read_to_string(cases().join("name-dotdot.toml"))
            .unwrap()
            .replacen("name = \"..\"", &format!("name = \"{bad}\""), 1);
        std::fs::write(dir.path().join("n.toml"), &text).unwrap();
        refused_in(dir.path(), &["run", "n.toml", "--dry-run"], "name");
        let text = std::fs::read_to_string(cases().join("plot-escape.toml"))
            .unwrap()
            .replacen("./../../escape2", bad, 1);
        std::fs::write(dir.path().join("p.toml"), &text).unwrap();
        refused_in(dir.path(), &["run", "p.toml", "--dry-run"], "plot[0].file");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn c24_only_cirls_own_temporaries_are_removed() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("proj");
    std::fs::create_dir_all(&out).unwrap();
    let keep = [
        ".eslintrc.tmpl",
        ".notes.tmp",
        ".a.tmp.txt",
        ".x.cirl-tmp.",
        ".y.cirl-tmp.12a",
    ];
    for k in keep {
        std::fs::write(out.join(k), "user data").unwrap();
    }
    // A temporary of a writer that has exited is debris; one of a live process is its write in progress.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let debris = format!(".results.csv.cirl-tmp.{dead}");
    let live = format!(".results.csv.cirl-tmp.{}", std::process::id());
    std::fs::write(out.join(&debris), "partial").unwrap();
    std::fs::write(out.join(&live), "partial").unwrap();
    let o = run_out(&cases().join("stale-B.toml"), &out, &["--no-plots"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for k in keep {
        assert_eq!(
            std::fs::read_to_string(out.join(k)).unwrap(),
            "user data",
            "{k}"
        );
    }
    assert!(!out.join(&debris).exists());
    assert!(out.join(&live).exists());
}

#[test]
fn c30_usage_errors_are_one_line() {
    for args in [
        &[
            "offswitch",
            "--prior",
            "normal:0,1",
            "--human",
            "rational",
            "--mc",
            "1.5",
        ][..],
        &[
            "offswitch",
            "--prior",
            "normal:0,1",
            "--human",
            "rational",
            "--mc",
            "-1",
        ],
        &[
            "offswitch",
            "--prior",
            "normal:0,1",
            "--human",
            "rational",
            "--cost",
            "abc",
        ],
        &["run"],
        &["frobnicate"],
        &["solve", "tiger", "--tolerance", "-1"],
        &["solve"],
        &["calibrate"],
        &["offswitch", "--prior"],
        &["run", "x.toml", "--shard"],
        &["--no-such-flag"],
    ] {
        refused(args, "");
    }
}

#[test]
fn c31_unusable_paths_the_caller_named_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::os::unix::fs::symlink(d.join("l1"), d.join("l2")).unwrap();
    std::os::unix::fs::symlink(d.join("l2"), d.join("l1")).unwrap();
    refused_in(d, &["run", "l1"], "l1");
    std::fs::write(d.join("afile"), "x").unwrap();
    let b = cases().join("stale-B.toml");
    let b = b.to_str().unwrap();
    refused_in(d, &["run", b, "--out", "afile"], "--out");
    refused_in(d, &["run", b, "--out", "afile/sub"], "--out");
    refused_in(d, &["export", "tiger", "."], "is a folder");
    refused_in(d, &["export", "tiger", d.to_str().unwrap()], "is a folder");
    let s = repo("experiments/scenarios/coding-agent.toml");
    refused_in(
        d,
        &[
            "calibrate",
            s.to_str().unwrap(),
            "--mc",
            "0",
            "--out",
            "afile",
        ],
        "--out",
    );
}

#[test]
fn c32_fifos_and_devices_are_refused_not_waited_on() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for name in ["f.toml", "f.pomdp", "f.csv"] {
        let st = std::process::Command::new("mkfifo")
            .arg(d.join(name))
            .status()
            .unwrap();
        assert!(st.success());
    }
    for args in [
        &["run", "f.toml", "--dry-run"][..],
        &["solve", "f.pomdp"],
        &["offswitch", "--prior", "csv:f.csv#u", "--human", "rational"],
        &["offswitch", "--prior", "f.toml", "--human", "rational"],
        &["calibrate", "f.toml"],
        &["posg", "f.toml"],
    ] {
        let mut c = cirl();
        c.timeout(std::time::Duration::from_secs(20));
        let o = c.current_dir(d).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("not a regular file"), "{args:?}: {err}");
    }
}

#[test]
fn c40_an_unreached_tolerance_is_reported() {
    let (v, err) = json(&[
        "solve",
        "tiger",
        "--solver",
        "pbvi",
        "--tolerance",
        "1e-300",
    ]);
    assert_eq!(v["tolerance_met"], false);
    assert!(
        err.contains("warning: --tolerance 1e-300 not reached"),
        "{err}"
    );
    let (v, err) = json(&["solve", "tiger", "--solver", "pbvi"]);
    assert_eq!(v["tolerance_met"], true, "{v}");
    assert!(err.is_empty(), "{err}");
    // Too few beliefs to close the gap: PBVI stops when its bounds stop moving, and says so.
    let (v, err) = json(&[
        "solve",
        "tiger",
        "--solver",
        "pbvi",
        "--max-beliefs",
        "1",
        "--tolerance",
        "1e-6",
    ]);
    assert_eq!(v["tolerance_met"], false);
    assert!(v["iterations"].as_u64().unwrap() < 10_000, "{v}");
    assert!(err.contains("--max-beliefs"), "{err}");
    let (v, _) = json(&["solve", "tiger", "--tolerance", "1e-12"]);
    assert_eq!(v["tolerance_met"], true);
    assert!(v["error_bound"].as_f64().unwrap() <= 1e-12);
}

#[test]
fn c41_two_classes_with_one_file_name_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = scenario_variant(
        dir.path(),
        "collide.toml",
        &[
            ("name = \"read-search\"", "name = \"read/search\""),
            ("name = \"edit-file\"", "name = \"read search\""),
        ],
    );
    refused_in(
        dir.path(),
        &["calibrate", p.to_str().unwrap(), "--mc", "0"],
        "read-search",
    );
}

// ---- the journal (C25–C29, C38) ----

/// A designer study of `jobs` jobs (16 per action count) with seed `seed`.
fn small_designer(dir: &Path, name: &str, seed: u64) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(
        &p,
        format!(
            "name = \"mix\"\nseed = {seed}\n[designer]\nactions = [1, 2, 4]\nsigma = {{ start = 0.0, stop = 1.5, num = 13 }}\nbeta = 0.25\ngames = 32768\n"
        ),
    )
    .unwrap();
    p
}

fn run_ok(config: &Path, out: &Path, extra: &[&str]) {
    let o = run_out(config, out, extra);
    assert!(
        o.status.success(),
        "{}: {}",
        config.display(),
        String::from_utf8_lossy(&o.stderr)
    );
}

fn seed_of(out: &Path) -> u64 {
    let text = std::fs::read_to_string(out.join("config.resolved.toml")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("seed = "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn c25_two_writers_in_one_out_never_mix_runs() {
    use rand::{RngExt, SeedableRng};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (a, b) = (
        small_designer(d, "a.toml", 4242),
        small_designer(d, "b.toml", 1),
    );
    run_ok(&a, &d.join("ref-a"), &["--no-plots"]);
    run_ok(&b, &d.join("ref-b"), &["--no-plots"]);
    let reference = |seed: u64| {
        std::fs::read(
            d.join(if seed == 4242 { "ref-a" } else { "ref-b" })
                .join("results.csv"),
        )
        .unwrap()
    };
    let bin = assert_cmd::cargo::cargo_bin("cirl");
    let spawn = |cfg: &Path, out: &Path, extra: &[&str]| {
        std::process::Command::new(&bin)
            .arg("run")
            .arg(cfg)
            .arg("--out")
            .arg(out)
            .args(["--quiet", "--no-plots", "--threads", "1"])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let trials: u64 = std::env::var("CIRL_WRITER_TRIALS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let mut rng = rand_pcg::Pcg64::seed_from_u64(25);
    let (mut refused_lock, mut refused_journal, mut finished) = (0, 0, 0);
    for t in 0..trials {
        let out = d.join(format!("mix{t}"));
        let killed = t % 2 == 1;
        if killed {
            // A run killed part-way leaves a journal; it is resumed while another seed starts.
            let mut c = spawn(&a, &out, &[]);
            std::thread::sleep(std::time::Duration::from_millis(rng.random_range(50..400)));
            c.kill().unwrap();
            c.wait().unwrap();
        }
        let first = spawn(&a, &out, if killed { &["--resume"][..] } else { &[] });
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(0..300)));
        let second = spawn(&b, &out, &[]);
        for c in [first, second] {
            let o = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            match o.status.code() {
                Some(0) => finished += 1,
                Some(2) if err.contains("is being written by another cirl") => refused_lock += 1,
                Some(2) if err.contains("add --resume") => refused_journal += 1,
                other => panic!("trial {t}: exit {other:?}: {err}"),
            }
        }
        // Whatever ran, the folder describes one run: its results are those of the seed it names.
        if out.join("results.csv").exists() {
            let seed = seed_of(&out);
            assert!(
                std::fs::read(out.join("results.csv")).unwrap() == reference(seed),
                "trial {t}: results.csv is not seed {seed}'s"
            );
        }
    }
    eprintln!(
        "concurrent writers: {trials} trials, {finished} runs finished, {refused_lock} refused by the lock, {refused_journal} by the journal; every results.csv its named seed's"
    );
    assert!(refused_lock + refused_journal > 0, "no trial overlapped");
}

/// Runs a shard of the small designer study into `out`, returning the job files.
fn journal_of(d: &Path) -> (PathBuf, PathBuf) {
    let cfg = small_designer(d, "j.toml", 7);
    let out = d.join("s");
    run_ok(&cfg, &out, &["--shard", "1/1", "--no-plots"]);
    (cfg, out)
}

fn merge(dirs: &[&Path], out: &Path) -> std::process::Output {
    // From the shards' folder's parent, where a config's relative input paths resolve.
    cirl()
        .current_dir(dirs[0].parent().unwrap())
        .arg("merge")
        .args(dirs)
        .arg("--out")
        .arg(out)
        .arg("--no-plots")
        .output()
        .unwrap()
}

fn merge_refused(dirs: &[&Path], out: &Path, needle: &str) {
    let o = merge(dirs, out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains(needle), "expected {needle:?}: {err}");
}

#[test]
fn c26_a_tampered_journal_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (_, shard) = journal_of(d);
    let job = shard.join("jobs/00000000.csv");
    let original = std::fs::read_to_string(&job).unwrap();
    // Edits that keep the trailer: the checksum fails.
    let line = original.lines().nth(1).unwrap().to_string();
    let cells: Vec<&str> = line.split(',').collect();
    let edit = |k: usize, v: &str| {
        let mut c = cells.clone();
        c[k] = v;
        original.replacen(&line, &c.join(","), 1)
    };
    for (what, text) in [
        ("v sum", edit(2, "123456")),
        ("NaN", edit(2, "NaN")),
        ("inf", edit(4, "inf")),
        ("n = 0", edit(1, "0")),
    ] {
        std::fs::write(&job, &text).unwrap();
        merge_refused(&[&shard], &d.join("m"), "checksum");
        // Even with the checksum recomputed, counts that no job plays are refused.
        let csv = &text[..text.rfind("# cirl-job").unwrap()];
        let rows = csv.lines().count() - 1;
        let forged = format!(
            "{csv}# cirl-job 0 rows {rows} sha256 {}\n",
            cirl::experiment::shard::sha256_hex(csv.as_bytes())
        );
        std::fs::write(&job, &forged).unwrap();
        let o = merge(&[&shard], &d.join("m"));
        if what == "v sum" {
            // A plausible number with a recomputed checksum cannot be told from a real one.
            assert!(o.status.success(), "{what}");
        } else {
            assert_eq!(o.status.code(), Some(2), "{what}: forged counts accepted");
        }
    }
    // A truncated job file and one without its trailer.
    std::fs::write(&job, &original[..original.len() / 2]).unwrap();
    merge_refused(&[&shard], &d.join("m"), "not job 0");
    std::fs::write(&job, &original[..original.rfind("# cirl-job").unwrap()]).unwrap();
    merge_refused(&[&shard], &d.join("m"), "trailer");
    // Restored, it merges.
    std::fs::write(&job, &original).unwrap();
    assert!(merge(&[&shard], &d.join("m")).status.success());
}

#[test]
fn c27_a_truncated_results_csv_is_not_resumed_over() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for cfg in [small_designer(d, "t.toml", 3), cases().join("stale-A.toml")] {
        let out = d.join("out");
        let _ = std::fs::remove_dir_all(&out);
        run_ok(&cfg, &out, &["--no-plots"]);
        let csv = std::fs::read_to_string(out.join("results.csv")).unwrap();
        // Resuming a complete run rewrites its outputs from its results.
        run_ok(&cfg, &out, &["--no-plots", "--resume"]);
        for cut in [11, 1] {
            let short: String = csv.lines().take(cut).map(|l| format!("{l}\n")).collect();
            std::fs::write(out.join("results.csv"), &short).unwrap();
            let o = run_out(&cfg, &out, &["--no-plots", "--resume"]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert_eq!(o.status.code(), Some(2), "{err}");
            assert!(err.contains("not the results.csv this run wrote"), "{err}");
        }
        // Without --resume it is computed again, whole.
        run_ok(&cfg, &out, &["--no-plots"]);
        assert_eq!(
            std::fs::read_to_string(out.join("results.csv")).unwrap(),
            csv
        );
    }
}

#[test]
fn c28_shards_or_resumes_over_changed_inputs_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = d.join("sweep.toml");
    std::fs::copy(cases().join("csv-prior-sweep.toml"), &cfg).unwrap();
    std::fs::write(d.join("data.csv"), "u\n0.5\n-1\n2\n").unwrap();
    let shard = |k: &str, extra: &[&str]| {
        cirl()
            .current_dir(d)
            .args([
                "run",
                "sweep.toml",
                "--shard",
                k,
                "--out",
                &format!("s{}", &k[..1]),
            ])
            .args(["--quiet", "--no-plots"])
            .args(extra)
            .output()
            .unwrap()
    };
    assert!(shard("1/2", &[]).status.success());
    std::fs::write(d.join("data.csv"), "u\n-5\n-6\n-7\n").unwrap();
    assert!(shard("2/2", &[]).status.success());
    merge_refused(&[&d.join("s1"), &d.join("s2")], &d.join("m"), "data.csv");
    // Resuming shard 1 over the changed file is refused too.
    let o = shard("1/2", &["--resume"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("data.csv") && err.contains("sha256"), "{err}");
    // Recomputed over the same file, the shards merge.
    let o = shard("1/2", &["--force"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        merge(&[&d.join("s1"), &d.join("s2")], &d.join("m"))
            .status
            .success()
    );
    // The merge rebuilds the grid from the file as it is now: changed again, it is refused.
    std::fs::write(d.join("data.csv"), "u\n1\n").unwrap();
    merge_refused(&[&d.join("s1"), &d.join("s2")], &d.join("m"), "changed");
    // A mixture file that names the csv is followed: changing the csv changes the manifest.
    let m1 = std::fs::read_to_string(d.join("s1/shard.json")).unwrap();
    assert!(m1.contains("data.csv"), "{m1}");
}

#[test]
fn c29_an_output_folder_describes_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    run_ok(&cases().join("stale-A.toml"), &out, &[]);
    assert!(out.join("frontier.csv").exists());
    let plots_a: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".svg"))
        .collect();
    assert!(!plots_a.is_empty());
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    run_ok(&cases().join("stale-B.toml"), &out, &[]);
    assert!(!out.join("frontier.csv").exists(), "A's frontier is left");
    for p in &plots_a {
        assert!(!out.join(p).exists(), "A's plot {p} is left");
    }
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    let resolved = std::fs::read_to_string(out.join("config.resolved.toml")).unwrap();
    assert!(resolved.contains("name = \"B\""), "{resolved}");
    // The same for calibration cards: a class that is gone takes its plots with it.
    let scen = dir.path().join("s");
    let p = scenario_variant(dir.path(), "a.toml", &[]);
    let card = |p: &Path| {
        let o = cirl()
            .arg("calibrate")
            .arg(p)
            .args(["--mc", "0", "--out"])
            .arg(&scen)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    card(&p);
    assert!(scen.join("decision_edit-file_cost_reviewer.svg").exists());
    let q = scenario_variant(
        dir.path(),
        "b.toml",
        &[("name = \"edit-file\"", "name = \"edits\"")],
    );
    card(&q);
    assert!(!scen.join("decision_edit-file_cost_reviewer.svg").exists());
    assert!(scen.join("decision_edits_cost_reviewer.svg").exists());
}

#[test]
fn c38_a_shard_run_into_another_shards_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = small_designer(d, "x.toml", 5);
    let s1 = d.join("s1");
    run_ok(&cfg, &s1, &["--shard", "1/3", "--no-plots"]);
    let jobs = std::fs::read_dir(s1.join("jobs")).unwrap().count();
    let o = run_out(&cfg, &s1, &["--shard", "2/3", "--no-plots"]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("shard 1/3") && err.contains("--force"),
        "{err}"
    );
    assert_eq!(std::fs::read_dir(s1.join("jobs")).unwrap().count(), jobs);
    // The same for a killed unsharded run's journal.
    let out = d.join("u");
    let bin = assert_cmd::cargo::cargo_bin("cirl");
    let mut c = std::process::Command::new(&bin)
        .arg("run")
        .arg(&cfg)
        .arg("--out")
        .arg(&out)
        .args(["--quiet", "--no-plots", "--threads", "1"])
        .spawn()
        .unwrap();
    while std::fs::read_dir(out.join(".cirl-run/jobs")).map_or(0, |d| d.count()) < 3 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    c.kill().unwrap();
    c.wait().unwrap();
    let o = run_out(&cfg, &out, &["--no-plots"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    run_ok(&cfg, &out, &["--no-plots", "--force"]);
    // --force with --resume makes no sense.
    let o = run_out(&cfg, &out, &["--no-plots", "--force", "--resume"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn c23_merge_checks_the_manifest_it_trusts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg = small_designer(d, "m.toml", 9);
    let (s1, s2) = (d.join("s1"), d.join("s2"));
    run_ok(&cfg, &s1, &["--shard", "1/2", "--no-plots"]);
    run_ok(&cfg, &s2, &["--shard", "2/2", "--no-plots"]);
    let manifest = s2.join("shard.json");
    let original = std::fs::read_to_string(&manifest).unwrap();
    let mut v: Value = serde_json::from_str(&original).unwrap();
    // Another build of the same version.
    v["build"] = Value::from("0123456789abcdef");
    std::fs::write(&manifest, serde_json::to_string(&v).unwrap()).unwrap();
    merge_refused(&[&s1, &s2], &d.join("m"), "another build");
    // A name that is a path: refused, nothing written outside.
    let mut v: Value = serde_json::from_str(&original).unwrap();
    v["name"] = Value::from("../../merge-escaped");
    std::fs::write(&manifest, serde_json::to_string(&v).unwrap()).unwrap();
    std::fs::write(s1.join("shard.json"), serde_json::to_string(&v).unwrap()).unwrap();
    let o = cirl()
        .current_dir(d)
        .args(["merge", "s1", "s2", "--no-plots"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("name"), "{err}");
    assert!(!d.join("../merge-escaped").exists() && !d.join("runs").exists());
}

/// Every file under `dir` whose name is a cirl temporary (`.NAME.cirl-tmp.PID…`).
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if e.file_name().to_string_lossy().contains(".cirl-tmp.") {
                found.push(p);
            }
        }
    }
    found
}

/// Runs the built cirl with `args` under a file-size limit of `blocks` KiB (SIGXFSZ ignored, so a write past it
/// fails with EFBIG as a full disk fails with ENOSPC).
fn with_file_limit(dir: &Path, blocks: u32, args: &[&str]) -> std::process::Output {
    let exe = assert_cmd::cargo::cargo_bin("cirl");
    std::process::Command::new("bash")
        .current_dir(dir)
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\""
        ))
        .arg(exe)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn c33_a_failed_write_leaves_no_temporary() {
    let tmp = tempfile::tempdir().unwrap();
    let fig2 = repo("experiments/reproduce/hm2017/fig2.toml");
    let scenario = repo("experiments/scenarios/coding-agent.toml");
    let mut failures = 0;
    // Limits that fail the first job file, the results table, the plots and the card in turn.
    for (i, blocks) in [1u32, 8, 30, 200, 2000].into_iter().enumerate() {
        for (what, args) in [
            (
                "run",
                vec![
                    "run".to_string(),
                    fig2.display().to_string(),
                    "--quiet".into(),
                    "--out".into(),
                    format!("run{i}"),
                ],
            ),
            (
                "calibrate",
                vec![
                    "calibrate".to_string(),
                    scenario.display().to_string(),
                    "--out".into(),
                    format!("cal{i}"),
                ],
            ),
        ] {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = with_file_limit(tmp.path(), blocks, &args);
            let err = String::from_utf8_lossy(&out.stderr);
            if !out.status.success() {
                failures += 1;
                assert!(
                    err.contains("File too large") && !err.contains("Os {"),
                    "{what} at {blocks} KiB: {err}"
                );
                assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
            }
        }
    }
    assert!(failures >= 4, "the limits failed only {failures} writes");
    assert_eq!(temporaries(tmp.path()), Vec::<PathBuf>::new());
    // With room again, the killed-by-disk run resumes to the bytes of a run that never failed.
    run_ok(&fig2, &tmp.path().join("run1"), &["--resume"]);
    run_ok(&fig2, &tmp.path().join("fresh"), &[]);
    assert_eq!(
        std::fs::read(tmp.path().join("run1/results.csv")).unwrap(),
        std::fs::read(tmp.path().join("fresh/results.csv")).unwrap()
    );
}

#[test]
fn c37_messages_name_the_field_and_print_numbers_short() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let base = ["offswitch", "--human", "rational"];
    let err = refused_in(
        d,
        &[&base[..], &["--prior", "normal:0,1", "--cost", "-1e-320"]].concat(),
        "--cost",
    );
    assert!(err.len() < 200, "{err}");
    refused_in(d, &[&base[..], &["--prior", "csv:#u"]].concat(), "--prior");
    refused_in(
        d,
        &[&base[..], &["--prior", "csv:f.csv#a#b"]].concat(),
        "--prior",
    );
    // A prior far out prints short in labels.
    let out = cirl()
        .current_dir(d)
        .args([
            "offswitch",
            "--human",
            "rational",
            "--prior",
            "normal:-1e300,1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.lines().all(|l| l.len() < 200), "{text}");
    // A mistyped axis says which forms are accepted.
    for (axis, needle) in [
        ("{ start = 0, stop = 1, num = 3.0 }", "whole number"),
        ("\"x\"", "a list of numbers"),
        ("[1, \"a\"]", "item 1"),
        ("{ start = 0, stop = 1 }", "missing field `num`"),
    ] {
        let cfg = d.join("axis.toml");
        std::fs::write(
            &cfg,
            format!("name = \"axis\"\n[sweep]\nmu = {axis}\nsigma = 1\nprior = \"normal\"\nhuman = \"rational\"\n"),
        )
        .unwrap();
        let err = refused_in(d, &["run", "axis.toml", "--dry-run"], needle);
        assert!(!err.contains("untagged"), "{err}");
    }
    // An unreachable ECE names the class that holds it back, not only the ECE.
    let text = std::fs::read_to_string(repo("experiments/scenarios/coding-agent.toml"))
        .unwrap()
        .replace("prior = \"normal:2,1.5\"", "prior = \"normal:-1e300,1\"");
    assert!(text.contains("-1e300"));
    std::fs::write(d.join("ece.toml"), text).unwrap();
    refused_in(d, &["calibrate", "ece.toml"], "read-search");
}

#[test]
fn c34_a_sweep_is_held_to_what_fits_the_memory_budget() {
    let tmp = tempfile::tempdir().unwrap();
    let grid = |n: usize, plot: bool| {
        let plot = if plot {
            "[[plot]]\nkind = \"lines\"\nx = \"mu\"\ny = \"delta\"\nfile = \"d\"\n"
        } else {
            ""
        };
        format!(
            "name = \"big\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = {{ start = -2, stop = 2, num = {n} }}\nsigma = {{ start = 0.1, stop = 3, num = 1000 }}\n{plot}"
        )
    };
    let ok = |args: &[&str]| {
        let out = cirl().current_dir(tmp.path()).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // 10⁷ games stream; one more is refused before anything is laid out.
    std::fs::write(tmp.path().join("ok.toml"), grid(10_000, false)).unwrap();
    std::fs::write(tmp.path().join("over.toml"), grid(10_001, false)).unwrap();
    ok(&["run", "ok.toml", "--dry-run"]);
    refused_in(tmp.path(), &["run", "over.toml", "--dry-run"], "10000000");
    // Plots draw from the table held in memory: above 10⁶ rows they are refused up front, unless left out.
    std::fs::write(tmp.path().join("plots.toml"), grid(1001, true)).unwrap();
    refused_in(
        tmp.path(),
        &["run", "plots.toml", "--dry-run"],
        "at most 1000000 rows",
    );
    refused_in(
        tmp.path(),
        &["run", "plots.toml", "--out", "p"],
        "--no-plots",
    );
    assert!(!tmp.path().join("p").exists());
    ok(&["run", "plots.toml", "--dry-run", "--no-plots"]);
}

/// Runs cirl with `args` in `dir` and returns its peak resident memory in bytes (its own, from wait4).
#[cfg(target_os = "linux")]
#[allow(
    clippy::zombie_processes,
    reason = "reaped by wait4, which also gives its rusage"
)]
fn peak_rss(dir: &Path, args: &[&str]) -> u64 {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cirl"))
        .current_dir(dir)
        .args(args)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid out-parameter; the pid is our own unwaited child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{args:?} failed"
    );
    usage.ru_maxrss as u64 * 1024
}

#[test]
#[cfg(target_os = "linux")]
fn c34_rows_stream_past_the_memory_of_a_held_table() {
    // 2·10⁶ games: held as a table these took ~2.5 GB; streamed, the run holds a batch of jobs and the frontier's
    // probes. Its results are those of the same grid's shards merged (byte for byte), and its frontier and check
    // are found from the stream.
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(
        d.join("big.toml"),
        "name = \"big\"\n[sweep]\nprior = \"normal\"\nhuman = \"rational\"\nmu = { start = -2, stop = 2, num = 2000 }\nsigma = { start = 0.1, stop = 3, num = 1000 }\n[frontier]\nalong = \"mu\"\n[[check]]\nclaim = \"a rational human makes deferring pay\"\ncolumn = \"delta\"\nmin = 0\n",
    )
    .unwrap();
    let peak = peak_rss(
        d,
        &["run", "big.toml", "--out", "o", "--quiet", "--no-plots"],
    );
    assert!(peak < 300 << 20, "peak RSS {} MB", peak >> 20);
    let summary = std::fs::read_to_string(d.join("o/summary.md")).unwrap();
    assert!(summary.contains("2000000 rows in results.csv"), "{summary}");
    assert!(summary.contains("| pass |"), "{summary}");
    let csv = std::fs::File::open(d.join("o/results.csv")).unwrap();
    let lines = std::io::BufRead::lines(std::io::BufReader::new(csv)).count();
    assert_eq!(lines, 2_000_001);
    // A rational human: Δ ≥ 0 everywhere, so the frontier holds only the ties at μ far above 0, one per σ slice
    // at most — found from all 2·10⁶ probes.
    let frontier = std::fs::read_to_string(d.join("o/frontier.csv")).unwrap();
    assert!(frontier.lines().count() > 1, "{frontier}");
    assert!(
        frontier.lines().skip(1).all(|l| l.contains(",tie,")),
        "{frontier}"
    );
    // Resumed complete, it is read back a chunk at a time, with the same outcome.
    let before = std::fs::read(d.join("o/frontier.csv")).unwrap();
    let peak = peak_rss(
        d,
        &[
            "run",
            "big.toml",
            "--out",
            "o",
            "--quiet",
            "--no-plots",
            "--resume",
        ],
    );
    assert!(peak < 300 << 20, "peak RSS on resume {} MB", peak >> 20);
    assert_eq!(std::fs::read(d.join("o/frontier.csv")).unwrap(), before);
}

#[test]
fn c35_a_csv_prior_is_read_once_for_the_whole_grid() {
    let tmp = tempfile::tempdir().unwrap();
    let mut csv = String::from("u\n");
    for i in 0..20_000 {
        csv += &format!("{}\n", (i as f64 / 20_000.0 - 0.4) * 3.0);
    }
    std::fs::write(tmp.path().join("med.csv"), csv).unwrap();
    let text = format!(
        "name = \"c35\"\n[sweep]\nprior = \"csv:{}#u\"\nhuman = \"boltzmann\"\nbeta = {{ start = 0.05, stop = 10, num = 200 }}\n",
        tmp.path().join("med.csv").display()
    );
    let cfg = cirl::experiment::config::parse(&text, "c35.toml").unwrap();
    let points = cirl::experiment::sweep::expand(cfg.sweep.as_ref().unwrap()).unwrap();
    assert_eq!(points.len(), 200);
    // One parsed prior, shared by every point (so every job reuses it too).
    let first = points[0].build_prior().unwrap();
    for p in &points {
        assert!(std::sync::Arc::ptr_eq(&first, &p.build_prior().unwrap()));
    }
}

#[test]
fn c36_a_po_osg_with_many_distinct_observations_is_solved() {
    // 200,000 states with distinct human observations: the label lookup is a hash map, so this is solved
    // (a hang guard, not a timing test: the review saw > 20 s where this takes about a second).
    let n = 200_000;
    let mut text = String::from("kind = \"po-osg\"\nhuman = \"optimal\"\n");
    for i in 0..n {
        text += &format!(
            "[[state]]\np = {}\nu_act = {}\nobs_h = \"h{i}\"\nobs_a = \"x\"\n",
            1.0 / n as f64,
            (i % 7) as f64 / 3.0 - 1.0
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("big.toml"), text).unwrap();
    for extra in [&[][..], &["--heuristic"]] {
        let out = cirl()
            .current_dir(tmp.path())
            .args(["posg", "big.toml", "--json"])
            .args(extra)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        // Human sees everything: the value is E[max(u_act, 0)].
        let full: f64 = (0..n)
            .map(|i| ((i % 7) as f64 / 3.0 - 1.0).max(0.0))
            .sum::<f64>()
            / n as f64;
        let value = v["value"].as_f64().unwrap();
        assert!((value - full).abs() < 1e-9, "{value} vs {full}");
    }
}

#[test]
fn time_indexed_games_are_sized_before_they_are_built() {
    // Found by the allocation-size fuzzer: meal-choice has a state per world and step, so its transition table
    // grows with the square of the horizon (horizon 4294 aborted on allocation; 400 took 3.8 GB).
    let d = tempfile::tempdir().unwrap();
    refused_in(
        d.path(),
        &["solve", "meal-choice", "--set", "horizon=1000"],
        "--set horizon",
    );
    refused_in(
        d.path(),
        &["solve", "meal-choice", "--set", "horizon=8388609"],
        "--set horizon",
    );
    let out = cirl()
        .current_dir(d.path())
        .args([
            "solve",
            "meal-choice",
            "--set",
            "horizon=60",
            "--policy",
            "plans.json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_slice(&std::fs::read(d.path().join("plans.json")).unwrap()).unwrap();
    // The plans list only the states reachable at each decision, and each vector's reachable continuations.
    assert_eq!(v["kind"], "cirl-plans");
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 60);
    for st in stages {
        assert!(st.as_array().unwrap().len() <= 5, "{st}");
    }
}

#[test]
fn c37_a_study_too_big_to_finish_is_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    for (file, from, to, field) in [
        (
            "experiments/reproduce/milli2017/obedience.toml",
            "particles = 1000",
            "particles = 100000000",
            "obedience",
        ),
        (
            "experiments/reproduce/leike2017/safe-interruptibility.toml",
            "seeds = 200 ",
            "seeds = 20000000 ",
            "interruptibility.seeds",
        ),
        (
            "experiments/reproduce/hm2016/apprenticeship.toml",
            "instances = 500 ",
            "instances = 5000000 ",
            "apprenticeship",
        ),
    ] {
        let text = std::fs::read_to_string(repo(file)).unwrap();
        assert!(text.contains(from), "{file}: {from}");
        let p = dir.path().join("big.toml");
        std::fs::write(&p, text.replacen(from, to, 1)).unwrap();
        refused_in(dir.path(), &["run", "big.toml", "--dry-run"], field);
    }
}
