//! Figures render their labels as intended: every text a figure draws is checked in its SVG against the strings
//! meant — exact titles and labels where the paper's notation matters, tick labels without "-0", without a
//! float's ".0" on an integer axis, distinct on a flat curve — and against what the PNG backend can draw: every
//! character has a glyph in the embedded DejaVu Sans and none is a combining mark (the bitmap text renderer lays
//! glyphs side by side, so θ̂'s hat would land beside the θ).

use std::path::Path;

use ab_glyph::{Font, FontRef};
use assert_cmd::Command;

/// The texts of an SVG's `<text>` elements, unescaped.
fn texts(svg: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = svg;
    while let Some(i) = rest.find("<text") {
        rest = &rest[i..];
        let Some(open) = rest.find('>') else { break };
        let Some(close) = rest.find("</text>") else {
            break;
        };
        let inner = &rest[open + 1..close];
        out.push(
            inner
                .trim()
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&apos;", "'")
                .replace("&amp;", "&"),
        );
        rest = &rest[close + 7..];
    }
    out
}

fn combining(c: char) -> bool {
    matches!(c as u32, 0x0300..=0x036F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF | 0x20D0..=0x20FF | 0xFE20..=0xFE2F)
}

/// Runs `config` (a file of the repository or a config text) into `dir` with plots; returns every SVG's texts.
fn figures(config: &str, dir: &Path) -> Vec<(String, Vec<String>)> {
    let cfg = if config.ends_with(".toml") && !config.contains('\n') {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(config)
    } else {
        let p = dir.join("config.toml");
        std::fs::write(&p, config).unwrap();
        p
    };
    let out = dir.join("out");
    let o = Command::cargo_bin("cirl")
        .unwrap()
        .args(["run", cfg.to_str().unwrap(), "--quiet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    // Exit 1 is a run whose checks failed (a small config need not reproduce a paper); its figures are drawn.
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{config}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut svgs: Vec<(String, Vec<String>)> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "svg").then(|| {
                let name = p.file_name().unwrap().to_string_lossy().to_string();
                (name, texts(&std::fs::read_to_string(&p).unwrap()))
            })
        })
        .collect();
    svgs.sort();
    assert!(!svgs.is_empty(), "{config}: no figures");
    svgs
}

/// What every figure must satisfy.
fn check_drawable(svgs: &[(String, Vec<String>)]) {
    let font = FontRef::try_from_slice(dejavu::sans::regular()).unwrap();
    for (name, ts) in svgs {
        for t in ts {
            for c in t.chars() {
                assert!(
                    !combining(c),
                    "{name}: {t:?} has the combining mark U+{:04X}",
                    c as u32
                );
                assert!(
                    c.is_whitespace() || font.glyph_id(c).0 != 0,
                    "{name}: {t:?} has {c:?}, which the embedded font cannot draw"
                );
            }
            let n = t.trim();
            assert!(
                !["-0", "−0"].contains(&n) && !n.starts_with("-0.0") && !n.starts_with("−0.0")
                    || n.trim_start_matches(['-', '−'])
                        .chars()
                        .any(|c| ('1'..='9').contains(&c)),
                "{name}: a negative-zero tick {t:?}"
            );
        }
    }
}

fn has(svgs: &[(String, Vec<String>)], file: &str, text: &str) {
    let (_, ts) = svgs
        .iter()
        .find(|(n, _)| n == file)
        .unwrap_or_else(|| panic!("no {file}"));
    assert!(
        ts.iter().any(|t| t == text),
        "{file}: no label {text:?} in {ts:?}"
    );
}

fn numbers(svgs: &[(String, Vec<String>)], file: &str) -> Vec<String> {
    let (_, ts) = svgs.iter().find(|(n, _)| n == file).unwrap();
    ts.iter()
        .filter(|t| !t.is_empty() && t.parse::<f64>().is_ok())
        .cloned()
        .collect()
}

#[test]
fn the_off_switch_figures_say_what_they_mean() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for (k, cfg) in [
        "experiments/reproduce/hm2017/fig2.toml",
        "experiments/reproduce/hm2017/fig2-contour.toml",
        "experiments/reproduce/hm2017/fig3.toml",
    ]
    .iter()
    .enumerate()
    {
        let d = dir.path().join(k.to_string());
        std::fs::create_dir_all(&d).unwrap();
        all.extend(figures(cfg, &d));
    }
    check_drawable(&all);
    has(
        &all,
        "fig2_delta_vs_sigma.svg",
        "Δ = v_wait − max(v_act, v_off)",
    );
    has(
        &all,
        "fig2_delta_vs_sigma.svg",
        "σ (the robot's uncertainty about U)",
    );
}

#[test]
fn the_designer_figures_have_the_v_against_delta_panel() {
    let dir = tempfile::tempdir().unwrap();
    let svgs = figures(
        r#"
name = "f4"
seed = 3
[designer]
actions = [1, 4]
sigma = { start = 0.0, stop = 2.0, num = 11 }
beta = 1.0
games = 2000
[[plot]]
kind = "path"
x = "delta"
y = "value"
series = "actions"
file = "v_delta"
title = "V against Δ as σ grows"
"#,
        dir.path(),
    );
    check_drawable(&svgs);
    has(&svgs, "v_delta.svg", "V against Δ as σ grows");
    has(&svgs, "v_delta.svg", "|A| = 4");
}

#[test]
fn the_apprenticeship_figures_name_the_estimate_and_count_in_whole_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let svgs = figures(
        r#"
name = "h16"
seed = 5
kind = "apprenticeship"
[apprenticeship]
size = 6
features = [2]
width = 2.0
horizon = 8
eta = 0.3
candidates = 10
instances = 8
robot_rationality = [0.01, 1.0, 100.0]
[[plot]]
kind = "lines"
table = "rationality"
x = "log10_lambda"
y = "teaching"
series = "features"
file = "lambda"
"#,
        dir.path(),
    );
    check_drawable(&svgs);
    has(&svgs, "hm2016_results.svg", "KL(θ ‖ θ_est)");
    has(&svgs, "hm2016_results.svg", "‖Φθ − Φθ_est‖");
    // log10 λ runs over whole numbers: "-2", not "-2.0".
    let x = numbers(&svgs, "lambda.svg");
    assert!(
        x.iter().any(|t| t == "-2") && !x.iter().any(|t| t == "-2.0"),
        "{x:?}"
    );
    // Grid cells are whole numbers.
    let cells = numbers(&svgs, "hm2016_trajectories.svg");
    assert!(cells.iter().all(|t| !t.contains('.')), "{cells:?}");
}

#[test]
fn flat_curves_get_distinct_ticks_and_long_axes_do_not_run_together() {
    // The Bayes robot obeys every order of a rational human: O_n = 1 in every round, a flat curve.
    let dir = tempfile::tempdir().unwrap();
    let svgs = figures(
        r#"
name = "flat"
seed = 2
[obedience]
features = 3
actions = 4
dominated = 0
rounds = 10
seeds = 3
particles = 50
betas = [0.0]
[[obedience.robots]]
kind = "bayes"
[[plot]]
kind = "lines"
x = "round"
y = "obedience"
series = "robot"
file = "flat"
"#,
        dir.path(),
    );
    check_drawable(&svgs);
    let ticks = numbers(&svgs, "flat.svg");
    let mut sorted = ticks.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ticks.len(), "repeated tick labels {ticks:?}");
    // Rounds are whole numbers.
    assert!(
        ticks.iter().any(|t| t == "10") && !ticks.iter().any(|t| t == "10.0"),
        "{ticks:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let svgs = figures(
        r#"
name = "long"
seed = 2
[interruptibility]
seeds = 2
worlds = ["off-switch-1"]
learners = ["sarsa"]
bin = 500
[interruptibility.learning]
episodes = 10000
alpha = 0.1
gamma = 0.99
epsilon_start = 1.0
epsilon_end = 0.05
decay = 0.8
[[plot]]
table = "curves"
kind = "lines"
x = "episode"
y = "library_performance"
series = "learner"
file = "long"
"#,
        dir.path(),
    );
    check_drawable(&svgs);
    let ticks = numbers(&svgs, "long.svg");
    // At most 8 labels on the episode axis, whole numbers ("2000", not "2000.0" run into its neighbours).
    let x: Vec<&String> = ticks
        .iter()
        .filter(|t| t.parse::<f64>().unwrap() >= 1000.0)
        .collect();
    assert!(!x.is_empty() && x.len() <= 8, "{ticks:?}");
    assert!(x.iter().all(|t| !t.contains('.')), "{ticks:?}");
}

/// The figures of the field's next results: Shah et al. 2020 (meal choice against the human's return time, an
/// integer axis), Turner et al. 2021 (shutdown avoidance and POWER against γ) and Emmons et al. 2025 (the
/// interference gain against β, drawn from a `betas` sweep whose other rows have no β).
#[test]
fn the_assistance_power_and_interference_figures_say_what_they_mean() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = Vec::new();
    for (k, cfg) in [
        "experiments/reproduce/shah2020/assistance.toml",
        "experiments/reproduce/turner2021/shutdown.toml",
    ]
    .iter()
    .enumerate()
    {
        let d = dir.path().join(k.to_string());
        std::fs::create_dir_all(&d).unwrap();
        all.extend(figures(cfg, &d));
    }
    let d = dir.path().join("emmons");
    std::fs::create_dir_all(&d).unwrap();
    all.extend(figures(
        r#"
name = "interference"
[[posg.example]]
file = "xor"
assistant_moves = ["wait", "wait-hide"]
state = [
    { p = 0.5, u_act = 1.0, obs_h = "y0", obs_a = "x0" },
    { p = 0.5, u_act = -1.0, obs_h = "y1", obs_a = "x1" },
]
[[posg.example]]
file = "pays"
betas = [0.5, 1.0, 2.0]
assistant_moves = ["wait", "wait-hide"]
state = [
    { p = 0.5, u_act = 3.0, obs_h = "pays-3", obs_a = "-" },
    { p = 0.5, u_act = 5.0, obs_h = "pays-5", obs_a = "-" },
]
[[plot]]
kind = "lines"
x = "beta"
y = "interference_gain"
file = "gain"
x_label = "Boltzmann β of the human"
"#,
        &d,
    ));
    check_drawable(&all);
    has(
        &all,
        "shah2020_meal_choice.svg",
        "time the human returns (feedback_time)",
    );
    has(
        &all,
        "shah2020_meal_choice.svg",
        "paradigm = reward-learning",
    );
    // The return time is a whole number of steps: its ticks are 0 … 5, never halves.
    let ticks = numbers(&all, "shah2020_meal_choice.svg");
    for want in ["0", "1", "2", "3", "4", "5"] {
        assert!(
            ticks.iter().any(|t| t == want),
            "no x tick {want} in {ticks:?}"
        );
    }
    for half in ["0.5", "1.5", "2.5", "3.5", "4.5"] {
        assert!(
            !ticks.iter().any(|t| t == half),
            "x tick {half} in {ticks:?}"
        );
    }
    has(&all, "turner2021_shutdown.svg", "discount γ");
    has(
        &all,
        "turner2021_shutdown.svg",
        "P(optimal action avoids shutdown)",
    );
    has(
        &all,
        "turner2021_shutdown.svg",
        "mdp = shutdown-or-3-options",
    );
    has(&all, "turner2021_power.svg", "state = on");
    has(&all, "gain.svg", "Boltzmann β of the human");
}
