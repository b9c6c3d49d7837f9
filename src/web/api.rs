//! The teaching page's JSON API: one function per view, each the library's own computation (the numbers the CLI
//! prints, to the last bit), behind a checked request. `offswitch`, `curves` and `frontier` feed the off-switch
//! view (`cirl offswitch`), `cirl` the CIRL view (`cirl solve GAME --histories 1`), `agent` the "your agent" view
//! (`cirl calibrate` on the scenario file the answer carries).
//!
//! A request is a JSON object; unknown fields, wrong types and values out of range are refused with one line
//! naming the field. Specs that would read files on the server (`csv:…`, `….toml` priors) are refused: the page
//! computes from what it sends, nothing else.
//!
//! ```
//! let r = cirl::web::api::handle("offswitch", br#"{"prior":"normal:0.5,1","human":"boltzmann:2","cost":0.05}"#)
//!     .unwrap();
//! assert_eq!(r["decision"], "act");
//! assert_eq!(r["command"], "cirl offswitch --prior normal:0.5,1 --human boltzmann:2 --cost 0.05 --json");
//! ```

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::belief::Prior;
use crate::error::{Error, Result};
use crate::human::{Human, ResponseModel};
use crate::offswitch;

/// The largest request body the API reads, in bytes.
pub const MAX_BODY: usize = 16 * 1024;
/// The most points of a curve.
pub const MAX_POINTS: usize = 2001;
/// The most grid values along one axis of the (σ, β) map.
pub const MAX_AXIS: usize = 101;

/// The endpoints, `POST /api/<name>`.
pub const ENDPOINTS: [&str; 5] = ["offswitch", "curves", "frontier", "cirl", "agent"];

/// The CIRL games the page steps through, and the `--set` keys it may change in each (the rest of a game's
/// parameters stay at its registered values).
pub const CIRL_GAMES: [(&str, &[&str]); 2] = [
    ("red-blue", &["discount", "horizon"]),
    (
        "wormy-apples",
        &[
            "discount",
            "horizon",
            "two_phase",
            "query_cost",
            "wormy_probability",
            "pie_reward",
            "wrong_bin_cost",
        ],
    ),
];
/// The longest horizon the page may ask a CIRL game for (each decision is a backup of every state's plans).
pub const MAX_CIRL_HORIZON: u64 = 8;

/// Answers one request: `endpoint` is the path after `/api/`, `body` the JSON object sent.
pub fn handle(endpoint: &str, body: &[u8]) -> Result<Value> {
    if body.len() > MAX_BODY {
        return Err(Error::invalid(
            "request",
            format!("the body has {} bytes, more than {MAX_BODY}", body.len()),
        ));
    }
    match endpoint {
        "offswitch" => offswitch_values(parse(body)?),
        "curves" => curves(parse(body)?),
        "frontier" => frontier(parse(body)?),
        "cirl" => cirl_episode(parse(body)?),
        "agent" => agent(parse(body)?),
        other => Err(Error::invalid(
            "endpoint",
            format!(
                "unknown endpoint '{}'; use one of {}",
                other.chars().take(64).collect::<String>(),
                ENDPOINTS.join(", ")
            ),
        )),
    }
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::invalid(
            "request",
            format!("{e}; send a JSON object with the fields the endpoint documents"),
        )
    })
}

/// `offswitch`: the values of one off-switch game, as `cirl offswitch --json` prints them.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OffswitchRequest {
    /// The belief, as `--prior` takes it.
    prior: String,
    /// The human, as `--human` takes it.
    human: String,
    /// The cost of asking (`--cost`), 0 if absent.
    #[serde(default)]
    cost: f64,
}

/// Reads a prior spec that needs no file.
fn prior(spec: &str) -> Result<Prior> {
    if Prior::reads_file(spec) {
        return Err(Error::invalid(
            "prior",
            "the page's API reads no files: give normal:MU,SIGMA, uniform:LO,HI, discrete:V1@P1,… or two-point:MU,SIGMA",
        ));
    }
    Prior::parse(spec).map_err(|e| Error::invalid("prior", e.to_string()))
}

fn human(spec: &str) -> Result<Human> {
    Human::parse(spec).map_err(|e| Error::invalid("human", e.to_string()))
}

/// The command that prints the same numbers.
fn command(prior: &str, human: &str, cost: f64) -> String {
    format!("cirl offswitch --prior {prior} --human {human} --cost {cost} --json")
}

fn offswitch_values(q: OffswitchRequest) -> Result<Value> {
    let p = prior(&q.prior)?;
    let h = human(&q.human)?;
    let v = offswitch::values(&p, &h, q.cost).map_err(|e| Error::invalid("cost", e.to_string()))?;
    let r = offswitch::report::Report::new(&p, &h, v, None, 0)?;
    let mut out = serde_json::to_value(&r).map_err(|e| Error::invalid("request", e.to_string()))?;
    out["command"] = json!(command(&q.prior, &q.human, q.cost));
    Ok(out)
}

/// `curves`: the belief's density (or its atoms) and the human's πH(u) over the belief's range.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CurvesRequest {
    prior: String,
    human: String,
    /// Points of each curve (2 to [`MAX_POINTS`]; 201 if absent).
    #[serde(default = "default_points")]
    points: usize,
}

fn default_points() -> usize {
    201
}

fn curves(q: CurvesRequest) -> Result<Value> {
    let p = prior(&q.prior)?;
    let h = human(&q.human)?;
    if !(2..=MAX_POINTS).contains(&q.points) {
        return Err(Error::invalid(
            "points",
            format!("between 2 and {MAX_POINTS}, got {}", q.points),
        ));
    }
    // The belief's mean ± 4 sd (± 1 around a point belief).
    let (m, sd) = (p.mean(), p.sd());
    let half = if sd > 0.0 { 4.0 * sd } else { 1.0 };
    let (lo, hi) = (m - half, m + half);
    let n = q.points;
    let u: Vec<f64> = (0..n)
        .map(|i| lo + (hi - lo) * i as f64 / (n - 1) as f64)
        .collect();
    let p_allow: Vec<f64> = u.iter().map(|&x| h.p_allow(x)).collect();
    let (density, atoms) = match &p {
        Prior::Normal { mu, sigma } if *sigma > 0.0 => (
            Some(
                u.iter()
                    .map(|&x| crate::numerics::norm_pdf((x - mu) / sigma) / sigma)
                    .collect::<Vec<_>>(),
            ),
            None,
        ),
        Prior::Uniform { lo: a, hi: b } => (
            Some(
                u.iter()
                    .map(|&x| {
                        if (*a..=*b).contains(&x) {
                            1.0 / (b - a)
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            ),
            None,
        ),
        Prior::Normal { mu, .. } => (None, Some(vec![json!({"u": mu, "p": 1.0})])),
        Prior::Discrete { values, probs } => (
            None,
            Some(
                values
                    .iter()
                    .zip(probs)
                    .map(|(v, w)| json!({"u": v, "p": w}))
                    .collect(),
            ),
        ),
        _ => (None, None),
    };
    Ok(json!({
        "u": u,
        "p_allow": p_allow,
        "density": density,
        "atoms": atoms,
        "mean": m,
        "sd": sd,
    }))
}

/// One axis of the map: `n` values from `lo` to `hi`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Axis {
    lo: f64,
    hi: f64,
    n: usize,
}

impl Axis {
    fn values(&self, field: &str) -> Result<Vec<f64>> {
        if !(self.lo.is_finite() && self.hi.is_finite() && self.lo >= 0.0 && self.lo < self.hi) {
            return Err(Error::invalid(
                field,
                format!(
                    "lo and hi must be finite with 0 ≤ lo < hi, got {} and {}",
                    self.lo, self.hi
                ),
            ));
        }
        if !(2..=MAX_AXIS).contains(&self.n) {
            return Err(Error::invalid(
                field,
                format!("n must be between 2 and {MAX_AXIS}, got {}", self.n),
            ));
        }
        Ok((0..self.n)
            .map(|i| self.lo + (self.hi - self.lo) * i as f64 / (self.n - 1) as f64)
            .collect())
    }
}

/// `frontier`: Δ over a (σ, β) grid for a normal belief N(μ, σ²) and a Boltzmann human, and the curve Δ = 0.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontierRequest {
    mu: f64,
    #[serde(default)]
    cost: f64,
    sigma: Axis,
    beta: Axis,
}

/// Δ = v_wait − max(v_act, v_off) of the game `cirl offswitch --prior normal:mu,sigma --human boltzmann:beta`.
fn delta(mu: f64, sigma: f64, beta: f64, cost: f64) -> Result<f64> {
    let p = Prior::normal(mu, sigma)?;
    let h = Human::boltzmann(beta)?;
    Ok(offswitch::values(&p, &h, cost)?.delta)
}

fn frontier(q: FrontierRequest) -> Result<Value> {
    if !q.mu.is_finite() {
        return Err(Error::invalid(
            "mu",
            format!("must be a finite number, got {}", q.mu),
        ));
    }
    if !(q.cost.is_finite() && q.cost >= 0.0) {
        return Err(Error::invalid(
            "cost",
            format!("must be finite and ≥ 0, got {}", q.cost),
        ));
    }
    let sigmas = q.sigma.values("sigma")?;
    let betas = q.beta.values("beta")?;
    let mut grid = Vec::with_capacity(sigmas.len());
    for &s in &sigmas {
        grid.push(
            betas
                .iter()
                .map(|&b| delta(q.mu, s, b, q.cost))
                .collect::<Result<Vec<_>>>()?,
        );
    }
    // Along β in each σ column: where Δ changes sign between neighbours, the root by Brent's method.
    let tol = 1e-10 * (q.beta.hi - q.beta.lo);
    let mut points = Vec::new();
    for (i, &s) in sigmas.iter().enumerate() {
        for j in 1..betas.len() {
            let (d0, d1) = (grid[i][j - 1], grid[i][j]);
            if d0 == 0.0 {
                points.push(json!({"sigma": s, "beta": betas[j - 1]}));
            } else if d0.signum() != d1.signum() && d1 != 0.0 {
                let f = |b: f64| delta(q.mu, s, b, q.cost).unwrap_or(f64::NAN);
                if let Some(b) = crate::numerics::brent(f, betas[j - 1], betas[j], tol) {
                    points.push(json!({"sigma": s, "beta": b}));
                }
            }
        }
        if grid[i].last() == Some(&0.0) {
            points.push(json!({"sigma": s, "beta": betas[betas.len() - 1]}));
        }
    }
    Ok(json!({
        "sigma": sigmas,
        "beta": betas,
        "delta": grid,
        "frontier": points,
    }))
}

/// `cirl`: one episode of a solved CIRL game, step by step, as `cirl solve GAME … --histories 1 --json` records
/// it (the belief over θ after each step, the human's rule for each θ, the Q-values of the robot's moves).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CirlRequest {
    /// One of [`CIRL_GAMES`].
    game: String,
    /// The human (`--set human=…`): env, coordinated, rational, boltzmann:β or coordinated-boltzmann:β.
    #[serde(default = "default_human")]
    human: String,
    /// The θ the human holds (`--theta`); drawn from the prior if absent.
    #[serde(default)]
    theta: Option<String>,
    /// The episode's seed (`--seed`).
    #[serde(default)]
    seed: u64,
    /// Game parameters (`--set key=value`), among the game's keys in [`CIRL_GAMES`].
    #[serde(default)]
    set: std::collections::BTreeMap<String, Value>,
}

fn default_human() -> String {
    "env".into()
}

fn cirl_episode(q: CirlRequest) -> Result<Value> {
    let Some((game, keys)) = CIRL_GAMES.iter().find(|(g, _)| *g == q.game) else {
        return Err(Error::invalid(
            "game",
            format!(
                "'{}' is not a game of the page: use one of {}",
                q.game.chars().take(64).collect::<String>(),
                CIRL_GAMES.map(|g| g.0).join(", ")
            ),
        ));
    };
    let human = crate::games::assistance::HumanSpec::parse(&q.human)
        .map(|_| q.human.trim().to_string())
        .map_err(|e| Error::invalid("human", e.to_string()))?;
    let mut sets = Vec::with_capacity(q.set.len() + 1);
    for (k, v) in &q.set {
        if !keys.contains(&k.as_str()) {
            return Err(Error::invalid(
                "set",
                format!(
                    "'{}' is not a parameter the page changes in {game}: use {}",
                    k.chars().take(64).collect::<String>(),
                    keys.join(", ")
                ),
            ));
        }
        let text = match v {
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => {
                return Err(Error::invalid(
                    format!("set.{k}"),
                    "must be a number or true/false",
                ));
            }
        };
        if k == "horizon" && !matches!(v.as_u64(), Some(h) if (1..=MAX_CIRL_HORIZON).contains(&h)) {
            return Err(Error::invalid(
                "set.horizon",
                format!("the page solves 1 to {MAX_CIRL_HORIZON} decisions, got {text}"),
            ));
        }
        sets.push((k.clone(), text));
    }
    sets.push(("human".to_string(), human));
    let model = crate::games::load(game, &sets)?;
    let req = crate::solve::Request {
        settings: crate::solve::Settings {
            seed: q.seed,
            ..Default::default()
        },
        histories: 1,
        theta: q.theta.clone(),
        ..Default::default()
    };
    let r = crate::solve::run(&model, &req).map_err(|e| match e {
        Error::Invalid { field, message } if field == "--theta" => Error::invalid("theta", message),
        other => other,
    })?;
    let mut out = serde_json::to_value(&r).map_err(|e| Error::invalid("request", e.to_string()))?;
    let crate::games::Model::Cirl(g) = &model else {
        unreachable!("the page's games are CIRL games")
    };
    out["names"] = json!({
        "thetas": g.thetas,
        "robot_actions": g.robot_actions,
        "human_actions": g.human_actions,
        "prior": g.prior,
    });
    let mut cmd = format!("cirl solve {game}");
    for (k, v) in &sets {
        cmd.push_str(&format!(" --set {k}={v}"));
    }
    if let Some(t) = &q.theta {
        cmd.push_str(&format!(" --theta {t}"));
    }
    cmd.push_str(&format!(" --seed {} --histories 1 --json", q.seed));
    out["command"] = json!(cmd);
    Ok(out)
}

/// `agent`: one action class of a deployed agent (beside the rest of what it does) through `cirl calibrate`: its
/// move, why, the four moves' values, the per-action policy over the agent's confidence and the flip points.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgentRequest {
    /// The class's fraction of the agent's actions, in (0, 1]; the rest is routine, reversible work.
    share: f64,
    /// The usual worth of one of its actions: mean and sd of the normal body of the prior.
    mean: f64,
    sd: f64,
    /// The chance that an action is a catastrophe, in [0, 0.5], and its size (a loss of about `tail_loss`).
    #[serde(default)]
    tail_probability: f64,
    #[serde(default)]
    tail_loss: f64,
    /// Whether a mistake can be undone, and at what cost.
    reversible: bool,
    #[serde(default)]
    undo_cost: f64,
    /// The reviewer: P(approve | good action) and P(reject | bad action).
    approve_good: f64,
    catch_bad: f64,
    /// Whether the reviewer tires (Ancker et al. 2017: the odds of a catch × 0.7 per further prompt, 40 actions
    /// a sitting).
    #[serde(default)]
    fatigue: bool,
    ask_cost: f64,
    handover_cost: f64,
    /// How well the agent's per-call confidence separates good from bad calls (0.5–0.999); absent: the agent
    /// reports no confidence that tells its calls apart (one move for the whole class).
    #[serde(default)]
    auroc: Option<f64>,
}

/// The file name the page's scenario is shown under, and the command that calibrates it.
pub const AGENT_FILE: &str = "agent.toml";

/// The scenario file of the page's class: what `cirl calibrate` reads.
fn agent_scenario(q: &AgentRequest) -> Result<String> {
    let check = |field: &str, x: f64, ok: bool, rule: &str| {
        if x.is_finite() && ok {
            Ok(())
        } else {
            Err(Error::invalid(field, format!("{rule}, got {x}")))
        }
    };
    check(
        "share",
        q.share,
        q.share > 0.0 && q.share <= 1.0,
        "must be in (0, 1]",
    )?;
    check(
        "mean",
        q.mean,
        q.mean.abs() <= 1e6,
        "must be a number within ±10⁶",
    )?;
    check("sd", q.sd, q.sd > 0.0 && q.sd <= 1e6, "must be in (0, 10⁶]")?;
    check(
        "tail_probability",
        q.tail_probability,
        (0.0..=0.5).contains(&q.tail_probability),
        "must be in [0, 0.5]",
    )?;
    check(
        "tail_loss",
        q.tail_loss,
        (0.0..=1e6).contains(&q.tail_loss),
        "must be in [0, 10⁶]",
    )?;
    check(
        "undo_cost",
        q.undo_cost,
        (0.0..=1e6).contains(&q.undo_cost),
        "must be in [0, 10⁶]",
    )?;
    for (f, x) in [("approve_good", q.approve_good), ("catch_bad", q.catch_bad)] {
        check(
            f,
            x,
            (0.0..=1.0).contains(&x),
            "must be a probability in [0, 1]",
        )?;
    }
    for (f, x) in [("ask_cost", q.ask_cost), ("handover_cost", q.handover_cost)] {
        check(f, x, (0.0..=1e6).contains(&x), "must be in [0, 10⁶]")?;
    }
    if let Some(a) = q.auroc {
        check(
            "auroc",
            a,
            (0.5..=0.999).contains(&a),
            "must be in [0.5, 0.999]",
        )?;
    }
    let body = format!("normal:{},{}", q.mean, q.sd);
    let prior = if q.tail_probability > 0.0 && q.tail_loss > 0.0 {
        // The tail: a loss of about tail_loss, give or take 40% (as the shipped scenarios' catastrophes).
        toml::Value::Table(toml::toml! {
            kind = "mixture"
            components = [
                { weight = (1.0 - q.tail_probability), prior = body },
                { weight = (q.tail_probability), prior = (format!("normal:{},{}", -q.tail_loss, 0.4 * q.tail_loss)) },
            ]
        })
    } else {
        toml::Value::String(body)
    };
    let mut class = toml::toml! {
        name = "this-class"
        share = (q.share)
        prior = prior
        reversible = (q.reversible)
    };
    if q.reversible {
        class.insert("undo_cost".into(), q.undo_cost.into());
    }
    let mut classes = vec![toml::Value::Table(class)];
    if q.share < 1.0 {
        classes.push(toml::Value::Table(toml::toml! {
            name = "everything-else"
            share = (1.0 - q.share)
            prior = "normal:1,0.5"
            reversible = true
            undo_cost = 0.1
        }));
    }
    let mut human = toml::toml! {
        response = "error-rates"
        approve_good = (q.approve_good)
        catch_bad = (q.catch_bad)
        ask_cost = (q.ask_cost)
        handover_cost = (q.handover_cost)
    };
    if q.fatigue {
        human.insert(
            "fatigue".into(),
            toml::Value::Table(toml::toml! {
                odds_ratio_per_ask = 0.7
                actions_per_session = 40.0
            }),
        );
    }
    let mut doc = toml::toml! {
        name = "your-agent"
        description = "One action class of an agent (this-class), beside the routine, reversible rest of what it does (everything-else), from cirl serve's page."
        human = human
        class = classes
    };
    if let Some(a) = q.auroc {
        doc.insert(
            "agent".into(),
            toml::Value::Table(toml::toml! {
                confidence = "calibrated"
                auroc = a
            }),
        );
    }
    toml::to_string(&doc).map_err(|e| Error::invalid("request", e.to_string()))
}

fn agent(q: AgentRequest) -> Result<Value> {
    let text = agent_scenario(&q)?;
    let s = crate::escalation::scenario::Scenario::parse(&text, AGENT_FILE)?;
    let card = crate::escalation::calibrate(
        &s,
        &crate::escalation::Options {
            mc_actions: 0,
            seed: 0,
        },
    )?;
    let class = card
        .classes
        .first()
        .ok_or_else(|| Error::invalid("request", "the card has no class"))?;
    Ok(json!({
        "class": serde_json::to_value(class).map_err(|e| Error::invalid("request", e.to_string()))?,
        "reviewer": serde_json::to_value(&card.reviewer).map_err(|e| Error::invalid("request", e.to_string()))?,
        "scenario": text,
        "file": AGENT_FILE,
        "command": format!("cirl calibrate {AGENT_FILE} --mc 0 --json"),
    }))
}
