//! Every built-in config, under the name `cirl reproduce NAME` runs it by.

use super::config::{self, Config};
use crate::error::{Error, Result};

/// A built-in config: its name, its text, and for a PO-OSG study the example files it is made of (the text
/// then holds the header, the examples are added as `[[posg.example]]`s).
pub struct Builtin {
    /// The name `cirl reproduce NAME` runs it by.
    pub name: &'static str,
    /// The config's text.
    pub text: &'static str,
    /// A PO-OSG study's example files: (name, text).
    pub examples: &'static [(&'static str, &'static str)],
}

const fn builtin(name: &'static str, text: &'static str) -> Builtin {
    Builtin {
        name,
        text,
        examples: &[],
    }
}

/// The built-in reproductions, in the order `cirl reproduce all` runs them.
pub const REPRODUCTIONS: [Builtin; 18] = [
    builtin(
        "hm2017-fig2",
        include_str!("../../experiments/reproduce/hm2017/fig2.toml"),
    ),
    builtin(
        "hm2017-fig2-contour",
        include_str!("../../experiments/reproduce/hm2017/fig2-contour.toml"),
    ),
    builtin(
        "hm2017-fig3",
        include_str!("../../experiments/reproduce/hm2017/fig3.toml"),
    ),
    builtin(
        "hm2017-fig4",
        include_str!("../../experiments/reproduce/hm2017/fig4.toml"),
    ),
    builtin(
        "wangberg2017-p-star",
        include_str!("../../experiments/reproduce/wangberg2017/p-star.toml"),
    ),
    builtin(
        "milli2017",
        include_str!("../../experiments/reproduce/milli2017/obedience.toml"),
    ),
    builtin(
        "carey2018",
        include_str!("../../experiments/reproduce/carey2018/incorrigibility.toml"),
    ),
    builtin(
        "leike2017",
        include_str!("../../experiments/reproduce/leike2017/safe-interruptibility.toml"),
    ),
    Builtin {
        name: "garber2025",
        text: GARBER2025_HEADER,
        examples: &GARBER2025,
    },
    Builtin {
        name: "emmons2025",
        text: EMMONS2025_HEADER,
        examples: &EMMONS2025,
    },
    builtin(
        "shah2020",
        include_str!("../../experiments/reproduce/shah2020/assistance.toml"),
    ),
    builtin(
        "turner2021",
        include_str!("../../experiments/reproduce/turner2021/shutdown.toml"),
    ),
    builtin(
        "hm2016",
        include_str!("../../experiments/reproduce/hm2016/apprenticeship.toml"),
    ),
    builtin(
        "population-frontier",
        include_str!("../../experiments/populations/frontier.toml"),
    ),
    builtin(
        "population-chain",
        include_str!("../../experiments/populations/chain.toml"),
    ),
    builtin(
        "population-misspecification",
        include_str!("../../experiments/populations/misspecification.toml"),
    ),
    builtin(
        "population-assistance",
        include_str!("../../experiments/populations/assistance.toml"),
    ),
    builtin(
        "population-gridworld",
        include_str!("../../experiments/populations/gridworld.toml"),
    ),
];

const GARBER2025_HEADER: &str = r#"
name = "garber2025"
title = "Partially observable off-switch games: the paper's worked examples (Garber et al. 2025)"
paper = "Garber, Subramani, Luu, Bedaywi, Russell, Emmons. The Partially Observable Off-Switch Game. AAAI 2025"
kind = "po-osg"
description = "`cirl posg` on every example of experiments/reproduce/garber2025/, each checked against the values its [expect] table states."
"#;

const EMMONS2025_HEADER: &str = r#"
name = "emmons2025"
title = "Observation interference: an optimal assistant must sometimes hide what the human sees; a Boltzmann human can create the incentive (Emmons et al. 2025)"
paper = "Emmons, Oesterheld, Conitzer, Russell. Observation Interference in Partially Observable Assistance Games. ICML 2025"
kind = "po-osg"
description = "Partially observable off-switch games whose assistant can wait while hiding the human's observation (wait-hide), solved exactly against an optimal and a Boltzmann human: every example of experiments/reproduce/emmons2025/ (our instances of the paper's claims), checked against the values its [expect] table states, and the Boltzmann example at several β."

# The Boltzmann example at several β: the incentive to hide is 0 for a nearly random human (showing is better),
# positive in between, and vanishes as the human becomes rational.
[[posg.example]]
file = "boltzmann-incentive.toml"
betas = [0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0]
kind = "po-osg"
assistant_moves = ["wait", "wait-hide"]
state = [
    { p = 0.5, u_act = 3.0, obs_h = "pays-3", obs_a = "-" },
    { p = 0.5, u_act = 5.0, obs_h = "pays-5", obs_a = "-" },
]

[[check]]
claim = "a nearly random human (β = 0.05): no incentive to hide (information still helps it)"
at = { example = "boltzmann-incentive.toml β=0.05" }
column = "interference_gain"
value = 0.0
tol = 1e-12

[[check]]
claim = "β = 1: the optimal assistant hides, value 4σ(4) = 3.92806 (boltzmann-incentive.toml)"
at = { example = "boltzmann-incentive.toml β=1" }
column = "value"
value = 3.928055160151634
tol = 1e-12

[[check]]
claim = "β = 1: never hiding gets (3σ(3) + 5σ(5))/2 = 3.91213"
at = { example = "boltzmann-incentive.toml β=1" }
column = "no_interference_value"
value = 3.912129062922938
tol = 1e-12

[[check]]
claim = "β = 1: every optimal assistant hides"
at = { example = "boltzmann-incentive.toml β=1" }
column = "p_interfere_min"
value = 1.0

[[check]]
claim = "β = 1: hiding gains 4σ(4) − (3σ(3) + 5σ(5))/2 = 0.0159"
at = { example = "boltzmann-incentive.toml β=1" }
column = "interference_gain"
value = 0.015926097228696
tol = 1e-12

[[check]]
claim = "a nearly rational human (β = 5): the incentive has almost vanished (< 10⁻³)"
at = { example = "boltzmann-incentive.toml β=5" }
column = "interference_gain"
min = 0.0
max = 0.001

[[plot]]
kind = "lines"
x = "beta"
y = "interference_gain"
file = "emmons2025_boltzmann_incentive"
title = "Value gained by hiding the human's observation, against the human's β (ours, after Emmons et al. 2025 §6)"
x_label = "Boltzmann β of the human"
y_label = "V(best policy) − V(best policy that never hides)"
"#;

/// The examples of experiments/reproduce/emmons2025/ (file name, text): our instances of the paper's claims
/// (boltzmann-incentive.toml runs as the header's β sweep, which holds its β = 1).
const EMMONS2025: [(&str, &str); 4] = [
    (
        "must-interfere.toml",
        include_str!("../../experiments/reproduce/emmons2025/must-interfere.toml"),
    ),
    (
        "interference-or-off.toml",
        include_str!("../../experiments/reproduce/emmons2025/interference-or-off.toml"),
    ),
    (
        "channel.toml",
        include_str!("../../experiments/reproduce/emmons2025/channel.toml"),
    ),
    (
        "boltzmann-incentive-optimal-human.toml",
        include_str!(
            "../../experiments/reproduce/emmons2025/boltzmann-incentive-optimal-human.toml"
        ),
    ),
];

/// The PO-OSG examples of experiments/reproduce/garber2025/ (file name, text): the paper's own worked examples
/// first (Example 4.1, 4.10, A.13, A.14; Props. 5.7 at three p, 5.8, 6.3(b)), then ours.
const GARBER2025: [(&str, &str); 28] = [
    (
        "file-deletion.toml",
        include_str!("../../experiments/reproduce/garber2025/file-deletion.toml"),
    ),
    (
        "ex4.10-first-digit.toml",
        include_str!("../../experiments/reproduce/garber2025/ex4.10-first-digit.toml"),
    ),
    (
        "ex4.10-full-version.toml",
        include_str!("../../experiments/reproduce/garber2025/ex4.10-full-version.toml"),
    ),
    (
        "exA.13-one-coordinate-each.toml",
        include_str!("../../experiments/reproduce/garber2025/exA.13-one-coordinate-each.toml"),
    ),
    (
        "exA.13-h-sees-difference.toml",
        include_str!("../../experiments/reproduce/garber2025/exA.13-h-sees-difference.toml"),
    ),
    (
        "exA.14-assistant-sees-few-or-more.toml",
        include_str!(
            "../../experiments/reproduce/garber2025/exA.14-assistant-sees-few-or-more.toml"
        ),
    ),
    (
        "exA.14-assistant-sees-all.toml",
        include_str!("../../experiments/reproduce/garber2025/exA.14-assistant-sees-all.toml"),
    ),
    (
        "prop5.7-p0.1-messages-a-1.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.1-messages-a-1.toml"),
    ),
    (
        "prop5.7-p0.1-messages-a-2.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.1-messages-a-2.toml"),
    ),
    (
        "prop5.7-p0.1-messages-a-3.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.1-messages-a-3.toml"),
    ),
    (
        "prop5.7-p0.25-messages-a-1.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.25-messages-a-1.toml"),
    ),
    (
        "prop5.7-p0.25-messages-a-2.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.25-messages-a-2.toml"),
    ),
    (
        "prop5.7-p0.25-messages-a-3.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.25-messages-a-3.toml"),
    ),
    (
        "prop5.7-p0.4-messages-a-1.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.4-messages-a-1.toml"),
    ),
    (
        "prop5.7-p0.4-messages-a-2.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.4-messages-a-2.toml"),
    ),
    (
        "prop5.7-p0.4-messages-a-3.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.7-p0.4-messages-a-3.toml"),
    ),
    (
        "prop5.8-no-talk.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.8-no-talk.toml"),
    ),
    (
        "prop5.8-one-human-bit.toml",
        include_str!("../../experiments/reproduce/garber2025/prop5.8-one-human-bit.toml"),
    ),
    (
        "prop6.3b-a-unaware-informed.toml",
        include_str!("../../experiments/reproduce/garber2025/prop6.3b-a-unaware-informed.toml"),
    ),
    (
        "prop6.3b-a-unaware-less-informed.toml",
        include_str!(
            "../../experiments/reproduce/garber2025/prop6.3b-a-unaware-less-informed.toml"
        ),
    ),
    (
        "file-deletion-a-unaware.toml",
        include_str!("../../experiments/reproduce/garber2025/file-deletion-a-unaware.toml"),
    ),
    (
        "human-sees-everything.toml",
        include_str!("../../experiments/reproduce/garber2025/human-sees-everything.toml"),
    ),
    (
        "less-informed-human.toml",
        include_str!("../../experiments/reproduce/garber2025/less-informed-human.toml"),
    ),
    (
        "more-informed-human.toml",
        include_str!("../../experiments/reproduce/garber2025/more-informed-human.toml"),
    ),
    (
        "no-talk.toml",
        include_str!("../../experiments/reproduce/garber2025/no-talk.toml"),
    ),
    (
        "cheap-talk.toml",
        include_str!("../../experiments/reproduce/garber2025/cheap-talk.toml"),
    ),
    (
        "a-unaware-loses.toml",
        include_str!("../../experiments/reproduce/garber2025/a-unaware-loses.toml"),
    ),
    (
        "a-unaware-optimal.toml",
        include_str!("../../experiments/reproduce/garber2025/a-unaware-optimal.toml"),
    ),
];

/// The config of a built-in reproduction.
pub fn reproduction(name: &str) -> Result<Config> {
    let Some(b) = REPRODUCTIONS.iter().find(|b| b.name == name) else {
        return Err(Error::invalid(
            "NAME",
            format!(
                "no reproduction named {name:?}; `cirl list` shows them: {}",
                REPRODUCTIONS
                    .iter()
                    .map(|b| b.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    let origin = format!("reproduction {name}");
    if b.examples.is_empty() {
        return config::parse(b.text, &origin);
    }
    let io = |e: String| Error::Config {
        path: origin.clone(),
        message: e,
    };
    let mut header: toml::Table = toml::from_str(b.text).map_err(|e| io(e.to_string()))?;
    let examples = b
        .examples
        .iter()
        .map(|(file, text)| {
            let t: toml::Table = toml::from_str(text).map_err(|e| io(format!("{file}: {e}")))?;
            Ok(toml::Value::Table(
                super::kinds::posg::PosgStudy::of_file(t, file)
                    .example
                    .remove(0),
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    // The files' examples first, then any the header lists itself (e.g. a `betas` sweep of one of them).
    let mut posg = match header.remove("posg") {
        Some(toml::Value::Table(t)) => t,
        _ => toml::Table::new(),
    };
    let mut all = examples;
    if let Some(toml::Value::Array(own)) = posg.remove("example") {
        all.extend(own);
    }
    posg.insert("example".into(), toml::Value::Array(all));
    header.insert("posg".into(), toml::Value::Table(posg));
    let text = toml::to_string(&header).map_err(|e| io(e.to_string()))?;
    config::parse(&text, &origin)
}
