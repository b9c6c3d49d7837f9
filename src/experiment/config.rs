//! Experiment configs: the TOML a sweep or a designer study is described in.
//!
//! ```toml
//! name = "hm2017-fig3"
//! title = "Δ over (σ, β)"
//! [sweep]
//! prior = "normal"                             # normal | uniform | two-point | any prior SPEC; or a list
//! human = "boltzmann"                          # rational | boltzmann | p-rational | chance | any SPEC; or a list
//! mu = [-0.25, 0.0, 0.25]                      # a number, a list, or a range
//! sigma = { start = 0.0, stop = 2.0, num = 101 }
//! beta = { start = 0.0, stop = 2.0, num = 101 }
//! cost = 0.0
//! [frontier]
//! along = "beta"                               # root-find Δ = 0 along this axis in every slice
//! [[plot]]
//! kind = "heatmap"                             # heatmap | lines
//! x = "sigma"
//! y = "beta"
//! panels = "mu"
//! ```
//! Unknown keys and mistyped values are rejected with the key's name and line.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A whole experiment file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Short identifier, used in file names and the summary.
    pub name: String,
    /// A one-line title (summary.md's heading; the name when empty).
    #[serde(default)]
    pub title: String,
    /// Free text: what the experiment shows and which assumptions it makes.
    #[serde(default)]
    pub description: String,
    /// The paper result this reproduces, if any.
    #[serde(default)]
    pub paper: String,
    /// The master seed (Monte Carlo experiments).
    #[serde(default)]
    pub seed: u64,
    /// The experiment's kind (see [`Kind`]); optional, since the one body table present names it too, but
    /// checked against that table when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<Kind>,
    /// A grid over priors, humans and costs (the off-switch game's values at every point).
    pub sweep: Option<Sweep>,
    /// Where a sweep looks for the frontier (Δ's sign changes).
    pub frontier: Option<Frontier>,
    /// A population of designer studies (see [`super::designer`]).
    pub designer: Option<Designer>,
    /// The closed loop of `cirl fit` (see [`ClosedLoop`]).
    pub closed_loop: Option<ClosedLoop>,
    /// Milli et al. 2017's supervision game (see [`crate::games::obedience`]).
    pub obedience: Option<crate::games::obedience::Obedience>,
    /// Carey 2018's incorrigibility scenarios.
    pub incorrigibility: Option<super::kinds::incorrigibility::Incorrigibility>,
    /// Garber et al. 2025's partially observable off-switch games.
    pub posg: Option<super::kinds::posg::PosgStudy>,
    /// Leike et al. 2017's safe-interruptibility gridworlds.
    pub interruptibility: Option<super::kinds::interruptibility::Interruptibility>,
    /// Hadfield-Menell et al. 2016's apprenticeship CIRL.
    pub apprenticeship: Option<super::kinds::apprenticeship::ApprenticeshipStudy>,
    /// A game solved by one or more solvers.
    pub solve: Option<super::kinds::solve::SolveStudy>,
    /// An escalation scenario calibrated into a card.
    pub calibrate: Option<super::kinds::calibrate::CalibrateStudy>,
    /// A population of sequential environments (when deferring beats acting).
    pub population: Option<super::kinds::population::PopulationStudy>,
    /// Shah et al. 2020's assistance against reward learning.
    pub assistance: Option<super::kinds::assistance::AssistanceStudy>,
    /// Turner et al. 2021's shutdown avoidance and POWER.
    pub power: Option<super::kinds::power::PowerStudy>,
    /// Figures drawn from the results (see [`Plot`]).
    #[serde(default)]
    pub plot: Vec<Plot>,
    /// Values the run is checked against (e.g. the paper's stated numbers); see [`Check`].
    #[serde(default)]
    pub check: Vec<Check>,
}

/// The kinds of experiment: each is one body table of the config (`[sweep]`, `[designer]`, …), and one
/// implementation of [`super::kind::Experiment`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A grid of off-switch games (`[sweep]`, with an optional `[frontier]`).
    Sweep,
    /// HM 2017 §4's designer Monte Carlo (`[designer]`).
    Designer,
    /// The escalation closed loop (`[closed_loop]`).
    ClosedLoop,
    /// Milli et al. 2017's obedience curves (`[obedience]`).
    Obedience,
    /// Carey 2018's incorrigibility scenarios (`[incorrigibility]`).
    Incorrigibility,
    /// Garber et al. 2025's partially observable off-switch games (`[posg]`; or a PO-OSG file by itself).
    #[serde(rename = "po-osg")]
    Posg,
    /// Leike et al. 2017's safe-interruptibility gridworlds (`[interruptibility]`).
    Interruptibility,
    /// Hadfield-Menell et al. 2016's apprenticeship CIRL (`[apprenticeship]`).
    Apprenticeship,
    /// A game solved by one or more solvers (`[solve]`).
    Solve,
    /// An escalation scenario calibrated into a card (`[calibrate]`).
    Calibrate,
    /// A population of sequential environments and the agents that play them (`[population]`).
    Population,
    /// Shah et al. 2020's assistance against reward learning (`[assistance]`).
    Assistance,
    /// Turner et al. 2021's shutdown avoidance and POWER (`[power]`).
    Power,
}

impl Kind {
    /// Every kind, in the order of the config's body tables.
    pub const ALL: [Kind; 13] = [
        Kind::Sweep,
        Kind::Designer,
        Kind::ClosedLoop,
        Kind::Obedience,
        Kind::Incorrigibility,
        Kind::Posg,
        Kind::Interruptibility,
        Kind::Apprenticeship,
        Kind::Solve,
        Kind::Calibrate,
        Kind::Population,
        Kind::Assistance,
        Kind::Power,
    ];

    /// The body table's name.
    pub fn table(self) -> &'static str {
        match self {
            Kind::Sweep => "sweep",
            Kind::Designer => "designer",
            Kind::ClosedLoop => "closed_loop",
            Kind::Obedience => "obedience",
            Kind::Incorrigibility => "incorrigibility",
            Kind::Posg => "posg",
            Kind::Interruptibility => "interruptibility",
            Kind::Apprenticeship => "apprenticeship",
            Kind::Solve => "solve",
            Kind::Calibrate => "calibrate",
            Kind::Population => "population",
            Kind::Assistance => "assistance",
            Kind::Power => "power",
        }
    }

    /// The kind's name as `kind = "…"` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sweep => "sweep",
            Kind::Designer => "designer",
            Kind::ClosedLoop => "closed-loop",
            Kind::Obedience => "obedience",
            Kind::Incorrigibility => "incorrigibility",
            Kind::Posg => "po-osg",
            Kind::Interruptibility => "interruptibility",
            Kind::Apprenticeship => "apprenticeship",
            Kind::Solve => "solve",
            Kind::Calibrate => "calibrate",
            Kind::Population => "population",
            Kind::Assistance => "assistance",
            Kind::Power => "power",
        }
    }
}

impl Config {
    /// The kinds whose body table the config has (exactly one in a valid config).
    pub fn bodies(&self) -> Vec<Kind> {
        Kind::ALL
            .into_iter()
            .filter(|k| match k {
                Kind::Sweep => self.sweep.is_some(),
                Kind::Designer => self.designer.is_some(),
                Kind::ClosedLoop => self.closed_loop.is_some(),
                Kind::Obedience => self.obedience.is_some(),
                Kind::Incorrigibility => self.incorrigibility.is_some(),
                Kind::Posg => self.posg.is_some(),
                Kind::Interruptibility => self.interruptibility.is_some(),
                Kind::Apprenticeship => self.apprenticeship.is_some(),
                Kind::Solve => self.solve.is_some(),
                Kind::Calibrate => self.calibrate.is_some(),
                Kind::Population => self.population.is_some(),
                Kind::Assistance => self.assistance.is_some(),
                Kind::Power => self.power.is_some(),
            })
            .collect()
    }
}

/// One string or a list of strings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    /// One string.
    One(String),
    /// A list of strings.
    Many(Vec<String>),
}

impl OneOrMany {
    /// The strings, one or many.
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// The values of one swept parameter.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Axis {
    /// One value.
    Value(f64),
    /// A list of values.
    List(Vec<f64>),
    /// Evenly spaced values.
    Range(Range),
}

/// Read by hand rather than derived, so that a mistyped axis gets a message naming the three accepted forms and
/// what is wrong, not serde's "did not match any variant".
impl<'de> Deserialize<'de> for Axis {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        const FORMS: &str =
            "a number, a list of numbers, or { start = A, stop = B, num = N, log = false }";
        let number = |v: &toml::Value| match v {
            toml::Value::Float(x) => Some(*x),
            toml::Value::Integer(i) => Some(*i as f64),
            _ => None,
        };
        let v = toml::Value::deserialize(d)?;
        match &v {
            toml::Value::Float(_) | toml::Value::Integer(_) => Ok(Axis::Value(number(&v).unwrap_or_default())),
            toml::Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    number(x).ok_or_else(|| {
                        D::Error::custom(format!(
                            "item {i} of the list is {} {}, not a number; expected {FORMS}",
                            article(x.type_str()),
                            x.type_str()
                        ))
                    })
                })
                .collect::<std::result::Result<_, _>>()
                .map(Axis::List),
            toml::Value::Table(_) => Range::deserialize(v.clone()).map(Axis::Range).map_err(|e| {
                D::Error::custom(format!(
                    "{} (a range is {{ start = A, stop = B, num = N, log = false }} with N a whole number)",
                    e.message().trim_end()
                ))
            }),
            other => Err(D::Error::custom(format!(
                "got {} {}; expected {FORMS}",
                article(other.type_str()),
                other.type_str()
            ))),
        }
    }
}

fn article(word: &str) -> &'static str {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// `num` evenly spaced values from `start` to `stop` inclusive (`log = true`: evenly spaced logarithms).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The first value.
    pub start: f64,
    /// The last value.
    pub stop: f64,
    /// The number of values (1: `start` alone).
    pub num: usize,
    /// Whether the logarithms are evenly spaced (`start` and `stop` > 0).
    #[serde(default)]
    pub log: bool,
}

impl Axis {
    /// The axis values; `field` names the key in errors.
    pub fn values(&self, field: &str) -> Result<Vec<f64>> {
        let v = match self {
            Axis::Value(x) => vec![*x],
            Axis::List(v) => v.clone(),
            Axis::Range(r) => {
                if r.num == 0 || r.num > 1_000_000 {
                    return Err(Error::invalid(
                        format!("{field}.num"),
                        format!("must be between 1 and 1000000, got {}", r.num),
                    ));
                }
                if r.log && !(r.start > 0.0 && r.stop > 0.0) {
                    return Err(Error::invalid(
                        field,
                        "a log range needs start > 0 and stop > 0",
                    ));
                }
                let n = r.num;
                (0..n)
                    .map(|i| {
                        let t = if n == 1 {
                            0.0
                        } else {
                            i as f64 / (n - 1) as f64
                        };
                        if r.log {
                            (r.start.ln() + t * (r.stop.ln() - r.start.ln())).exp()
                        } else if i == n - 1 {
                            r.stop
                        } else {
                            r.start + t * (r.stop - r.start)
                        }
                    })
                    .collect()
            }
        };
        if v.is_empty() {
            return Err(Error::invalid(
                field,
                "the list of values is empty; give at least one value",
            ));
        }
        if let Some(x) = v.iter().find(|x| !x.is_finite()) {
            return Err(Error::invalid(
                field,
                format!("values must be finite numbers, got {x}"),
            ));
        }
        Ok(v)
    }
}

/// A grid over priors, humans and costs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Sweep {
    /// The priors over U (`normal:MU,SIGMA`, …; `mu` and `sigma` axes fill a normal prior's parameters).
    pub prior: OneOrMany,
    /// The human models (`boltzmann:BETA`, …; the `beta` and `p` axes fill theirs).
    pub human: OneOrMany,
    /// The prior mean μ (a normal prior).
    pub mu: Option<Axis>,
    /// The prior sd σ (a normal prior).
    pub sigma: Option<Axis>,
    /// The Boltzmann human's β.
    pub beta: Option<Axis>,
    /// The error-rate human's p.
    pub p: Option<Axis>,
    /// The cost of asking c.
    pub cost: Option<Axis>,
}

/// Where to look for the frontier.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Frontier {
    /// The axis along which Δ's sign changes are located: mu, sigma, beta, p or cost.
    pub along: String,
}

pub use crate::output::plot::Plot;

/// A value the run must reproduce: the `column` of the row matching `at` equals `value` within `tol`
/// (or, for `min`/`max`, bounds it).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Check {
    /// What the paper states (free text, shown in summary.md).
    pub claim: String,
    /// Values selecting the rows, e.g. { mu = 0.0, sigma = 1.0 } or { round = 10, quantity = "all" }.
    #[serde(default)]
    pub at: std::collections::BTreeMap<String, AtValue>,
    /// The results column compared.
    pub column: String,
    /// The value it must equal (within `tol`).
    pub value: Option<f64>,
    /// The tolerance of `value` (absolute).
    #[serde(default)]
    pub tol: f64,
    /// A lower bound the column must meet.
    pub min: Option<f64>,
    /// An upper bound the column must meet.
    pub max: Option<f64>,
}

/// A value a check's `at` selects rows by: a number (within 1e-9 relative) or a text cell (exactly).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum AtValue {
    /// A number (matched within 1e-9 relative).
    Num(f64),
    /// A text cell (matched exactly).
    Text(String),
}

impl std::fmt::Display for AtValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AtValue::Num(x) => write!(f, "{}", super::table::fmt_num(*x)),
            AtValue::Text(s) => write!(f, "{s:?}"),
        }
    }
}

/// The closed loop of `cirl fit` (see [`crate::escalation::closed_loop`]): an agent with a known truth runs
/// through the card's gate, its log is refitted every `every` actions and the card re-issued, over `seeds`
/// independent runs (one job each).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ClosedLoop {
    /// The scenario the first card is calibrated from, and that every fit starts from (a path).
    pub prior: String,
    /// The scenario the simulated agent really follows (a path): the same classes, an error-rate reviewer.
    pub truth: String,
    /// Actions per run.
    pub actions: u64,
    /// Actions between refits.
    pub every: u64,
    /// Independent runs.
    pub seeds: u64,
    /// The share of the calls that ran whose outcome is logged.
    #[serde(default = "seen_ran")]
    pub seen_ran: f64,
    /// The share of the calls the reviewer rejected whose outcome is logged.
    #[serde(default = "seen_rejected")]
    pub seen_rejected: f64,
    /// Whose overconfidence the agent has: "truth" (its scenario's `[agent]`) or "prior" (the card's).
    #[serde(default)]
    pub agent_shift: crate::escalation::closed_loop::AgentShift,
    /// Posterior draws per chain of each fit (`cirl fit --samples`).
    #[serde(default = "loop_samples")]
    pub samples: usize,
    /// A planted change of the truth, for the drift check to find.
    #[serde(default)]
    pub change: Option<LoopChange>,
    /// What the re-issued card reads the agent's confidence through: "per-class" (each class's learnt logit
    /// shift, the default) or "prior" (the prior scenario's calibration, to price learning it).
    #[serde(default)]
    pub calibration: LoopCalibration,
}

/// `closed_loop.calibration`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LoopCalibration {
    /// Each class's learnt logit shift (the default).
    #[default]
    PerClass,
    /// The prior scenario's calibration (to price learning it).
    Prior,
}

/// `[closed_loop.change]`: after `after` actions the agent follows the scenario at `truth` (same classes).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LoopChange {
    /// The action after which the truth changes.
    pub after: u64,
    /// The scenario the agent follows from then on (a path).
    pub truth: String,
}

fn seen_ran() -> f64 {
    0.9
}
fn seen_rejected() -> f64 {
    0.1
}
fn loop_samples() -> usize {
    300
}

/// The designer Monte Carlo (HM 2017 §4, Fig. 4): a robot picks among actions from noisy estimates of their
/// utilities, believing its estimates have standard deviation σ (what the designer tells it).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Designer {
    /// Numbers of candidate actions |A|, one curve each.
    pub actions: Vec<usize>,
    /// The σ the robot is told.
    pub sigma: Axis,
    /// The human's Boltzmann temperature (0 = rational).
    pub beta: f64,
    /// Standard deviation of the true utilities U_a ~ N(0, prior_sd²).
    #[serde(default = "one")]
    pub prior_sd: f64,
    /// Standard deviation of the robot's observation noise: Û_a = U_a + ε.
    #[serde(default = "one")]
    pub noise_sd: f64,
    /// Simulated games per (|A|, σ).
    pub games: u64,
    /// Minimum incentives to defer a designer may require: for each, the value lost by the cheapest σ that
    /// gives Δ ≥ the target (the paper's Fig. 4 right: more actions, a larger loss), checked to grow with |A|.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delta_targets: Vec<f64>,
    /// Check the paper's inverted U (§4, Fig. 4): V falls from σ* towards both ends of the σ axis, and the
    /// right end below the left. A property of the paper's setting, not of every designer study (a nearly
    /// rational human makes over-deference free); the theory's own claims — no σ beats σ*, Δ grows with σ — are
    /// checked always.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub check_inverted_u: bool,
}

fn one() -> f64 {
    1.0
}

/// Parses a config, turning TOML errors into one line naming the key (and line) to fix.
pub fn parse(text: &str, origin: &str) -> Result<Config> {
    if let Some(cfg) = standalone(text, origin) {
        validate(&cfg, origin)?;
        return Ok(cfg);
    }
    let cfg: Config =
        toml::from_str(text).map_err(|e| crate::error::toml_error(origin, text, &e))?;
    validate(&cfg, origin)?;
    Ok(cfg)
}

/// A file of another tool given to `cirl run` by itself, as the experiment of its one kind: a PO-OSG file
/// (`kind = "po-osg"` with the game's keys at the top), a game file (`game = "…"`) or an escalation scenario
/// (`[human]` and `[[class]]`). None for an experiment config (one with a body table).
fn standalone(text: &str, origin: &str) -> Option<Config> {
    use super::kinds::{calibrate::CalibrateStudy, posg::PosgStudy, solve::SolveStudy};
    let t = toml::from_str::<toml::Table>(text).ok()?;
    if Kind::ALL.iter().any(|k| t.contains_key(k.table())) {
        return None;
    }
    let path = std::path::Path::new(origin);
    let stem = path
        .file_stem()
        .map_or(String::new(), |f| f.to_string_lossy().into_owned());
    let text_of = |k: &str| t.get(k).and_then(toml::Value::as_str).map(str::to_string);
    let name = text_of("name").unwrap_or(stem.clone());
    let description = text_of("description").unwrap_or_default();
    let mut cfg = Config {
        name,
        description,
        ..Config::default()
    };
    if text_of("kind").as_deref() == Some(Kind::Posg.name()) {
        let file = path
            .file_name()
            .map_or(origin.to_string(), |f| f.to_string_lossy().into_owned());
        cfg.kind = Some(Kind::Posg);
        cfg.posg = Some(PosgStudy::of_file(t, &file));
    } else if t.get("game").is_some_and(toml::Value::is_str) {
        // A game file has no name of its own: the file's, or the registered game's.
        cfg.name = if stem.is_empty() {
            text_of("game").unwrap_or_default()
        } else {
            stem
        };
        cfg.kind = Some(Kind::Solve);
        cfg.solve = Some(SolveStudy::of_file(t));
    } else if t.get("human").is_some_and(toml::Value::is_table)
        && t.get("class").is_some_and(toml::Value::is_array)
    {
        cfg.kind = Some(Kind::Calibrate);
        cfg.calibrate = Some(CalibrateStudy::of_file(t));
    } else {
        return None;
    }
    Some(cfg)
}

fn validate(cfg: &Config, origin: &str) -> Result<()> {
    let bad = |m: String| {
        Err(Error::Config {
            path: origin.to_string(),
            message: m,
        })
    };
    if let Err(m) = crate::input::check_identifier(&cfg.name) {
        return bad(format!("name: {m}"));
    }
    let tables = || {
        Kind::ALL
            .iter()
            .map(|k| format!("[{}]", k.table()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match cfg.bodies()[..] {
        [] => {
            return bad(format!(
                "missing the experiment's body: one of the tables {}",
                tables()
            ));
        }
        [k] => {
            if let Some(tag) = cfg.kind
                && tag != k
            {
                return bad(format!(
                    "kind: \"{}\" does not match the config's [{}] table; set kind = \"{}\" or remove it",
                    tag.name(),
                    k.table(),
                    k.name()
                ));
            }
        }
        _ => {
            return bad(format!("give one of the tables {}, not several", tables()));
        }
    }
    if cfg.sweep.is_none() && cfg.frontier.is_some() {
        return bad("[frontier] applies to [sweep] experiments only; remove it".into());
    }
    for (i, p) in cfg.plot.iter().enumerate() {
        if !["heatmap", "lines", "path"].contains(&p.kind.as_str()) {
            return bad(format!(
                "plot[{i}].kind must be \"heatmap\", \"lines\" or \"path\", got {:?}",
                p.kind
            ));
        }
        if p.kind == "heatmap" && p.y.is_none() {
            return bad(format!("plot[{i}]: a heatmap needs `y` (the second axis)"));
        }
        if let Some(f) = &p.file
            && let Err(m) = crate::input::check_identifier(f)
        {
            return bad(format!("plot[{i}].file: {m}"));
        }
    }
    Ok(())
}
