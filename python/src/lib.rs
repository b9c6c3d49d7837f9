//! `cirl._cirl`: the Python bindings of the `cirl` crate. Thin on purpose — every number comes from the Rust
//! library; this file converts arguments, releases the GIL around the work, and maps the crate's errors onto
//! Python exceptions. The Python package (`python/cirl/`) wraps these functions with NumPy broadcasting, typed
//! results and docstrings.

mod envs;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

use cirl::belief::Prior;
use cirl::human::Human;
use cirl::offswitch::{self, Move};

create_exception!(
    cirl,
    Error,
    PyValueError,
    "Any error of cirl: a ValueError whose message is the CLI's one-line message."
);
create_exception!(
    cirl,
    InvalidError,
    Error,
    "A value that breaks a documented rule; the message names the field and the fix (the CLI's exit code 2)."
);
create_exception!(
    cirl,
    ConfigError,
    Error,
    "A configuration file that is not valid TOML or has unknown or mistyped keys."
);
create_exception!(
    cirl,
    CheckError,
    Error,
    "A run whose results fail the checks its config states (e.g. a paper's values)."
);
create_exception!(
    cirl,
    FileError,
    Error,
    "A file that could not be read or written."
);
create_exception!(
    cirl,
    StoreError,
    Error,
    "A durable store (the decision log) that could not be opened, read or written."
);
create_exception!(cirl, PlotError, Error, "A plot that could not be drawn.");

/// The crate's error as the matching Python exception, with the CLI's one-line message.
fn to_py(e: cirl::Error) -> PyErr {
    let msg = e.to_string();
    match e {
        cirl::Error::Invalid { .. } => InvalidError::new_err(msg),
        cirl::Error::Config { .. } => ConfigError::new_err(msg),
        cirl::Error::Check { .. } => CheckError::new_err(msg),
        cirl::Error::Io { .. } => FileError::new_err(msg),
        cirl::Error::Store { .. } => StoreError::new_err(msg),
        cirl::Error::Plot { .. } => PlotError::new_err(msg),
    }
}

/// `cirl offswitch --json` for one game: the report as a JSON text (floats printed shortest-round-trip, so the
/// values parse back to the same bits).
#[pyfunction]
#[pyo3(signature = (prior, human, cost = 0.0, mc = None, seed = 1))]
fn offswitch_report(
    py: Python<'_>,
    prior: &str,
    human: &str,
    cost: f64,
    mc: Option<u64>,
    seed: u64,
) -> PyResult<String> {
    let prior = Prior::parse(prior).map_err(to_py)?;
    let human = Human::parse(human).map_err(to_py)?;
    py.detach(|| {
        let v = offswitch::values(&prior, &human, cost)?;
        let r = offswitch::report::Report::new(&prior, &human, v, mc, seed)?;
        Ok(serde_json::to_string(&r).expect("a report serializes"))
    })
    .map_err(to_py)
}

/// The belief of one element of a vectorized evaluation.
fn prior_at(kind: &str, mu: f64, sigma: f64) -> cirl::Result<Prior> {
    match kind {
        "normal" => Prior::normal(mu, sigma),
        "uniform" => Prior::uniform_mean_sd(mu, sigma),
        "two-point" => Prior::two_point(mu, sigma),
        _ => Err(cirl::Error::invalid(
            "prior",
            format!("'{kind}' is not a vectorizable prior; use normal, uniform or two-point"),
        )),
    }
}

/// The human of one element of a vectorized evaluation (`a`, `b` its parameters).
fn human_at(kind: &str, a: f64, b: f64) -> cirl::Result<Human> {
    match kind {
        "rational" => Ok(Human::Rational),
        "boltzmann" => Human::boltzmann(a),
        "p-rational" => Human::p_rational(a),
        "chance" => Human::chance(a),
        "error-rates" => Human::error_rates(a, b),
        _ => Err(cirl::Error::invalid(
            "human",
            format!(
                "'{kind}' is not a human model; use rational, boltzmann, p-rational, chance or error-rates"
            ),
        )),
    }
}

/// Which move a code stands for in the decision array: 0 act, 1 wait, 2 off (`Move::ALL`'s order).
fn move_code(m: Move) -> i8 {
    match m {
        Move::Act => 0,
        Move::Wait => 1,
        Move::Off => 2,
    }
}

/// One game's values in a vectorized evaluation.
struct Row {
    v_act: f64,
    v_wait: f64,
    delta: f64,
    p_allow: f64,
    decision: i8,
    tie: bool,
}

type Columns<'py> = (
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<i8>>,
    Bound<'py, PyArray1<bool>>,
);

/// The off-switch values of n games at once (1-D arrays of one length, already broadcast by the caller), in
/// parallel on rayon's pool with the GIL released. Each element is `offswitch::values` of its own prior and
/// human, so it carries the CLI's accuracy and tie rule. Returns (v_act, v_wait, delta, p_allow, decision, tie);
/// an invalid element raises with its index.
#[pyfunction]
#[pyo3(signature = (prior, mu, sigma, human, a, b, cost))]
#[allow(clippy::too_many_arguments)]
fn offswitch_batch<'py>(
    py: Python<'py>,
    prior: &str,
    mu: PyReadonlyArray1<'py, f64>,
    sigma: PyReadonlyArray1<'py, f64>,
    human: &str,
    a: PyReadonlyArray1<'py, f64>,
    b: PyReadonlyArray1<'py, f64>,
    cost: PyReadonlyArray1<'py, f64>,
) -> PyResult<Columns<'py>> {
    let (mu, sigma, a, b, cost) = (
        mu.as_slice()?,
        sigma.as_slice()?,
        a.as_slice()?,
        b.as_slice()?,
        cost.as_slice()?,
    );
    let n = mu.len();
    if [sigma.len(), a.len(), b.len(), cost.len()]
        .iter()
        .any(|&l| l != n)
    {
        return Err(InvalidError::new_err(
            "offswitch_batch: the arrays must have one length (broadcast them first)",
        ));
    }
    // Unknown kinds fail once, before the loop.
    if n > 0 {
        prior_at(prior, 0.0, 1.0).map_err(to_py)?;
        human_at(human, 0.5, 0.5).map_err(to_py)?;
    }
    let out: cirl::Result<Vec<Row>> = py.detach(|| {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let at = |e: cirl::Error| match e {
                    cirl::Error::Invalid { field, message } => {
                        cirl::Error::invalid(format!("{field} at index {i}"), message)
                    }
                    e => e,
                };
                let p = prior_at(prior, mu[i], sigma[i]).map_err(at)?;
                let h = human_at(human, a[i], b[i]).map_err(at)?;
                let v = offswitch::values(&p, &h, cost[i]).map_err(at)?;
                Ok(Row {
                    v_act: v.v_act,
                    v_wait: v.v_wait,
                    delta: v.delta,
                    p_allow: v.p_allow,
                    decision: move_code(v.decision),
                    tie: v.tie,
                })
            })
            .collect()
    });
    let rows = out.map_err(to_py)?;
    let col = |f: fn(&Row) -> f64| -> Vec<f64> { rows.iter().map(f).collect() };
    Ok((
        PyArray1::from_vec(py, col(|r| r.v_act)),
        PyArray1::from_vec(py, col(|r| r.v_wait)),
        PyArray1::from_vec(py, col(|r| r.delta)),
        PyArray1::from_vec(py, col(|r| r.p_allow)),
        PyArray1::from_vec(py, rows.iter().map(|r| r.decision).collect()),
        PyArray1::from_vec(py, rows.iter().map(|r| r.tie).collect()),
    ))
}

/// Runs `f` on a pool of `threads` workers (all cores when none), with the GIL released.
fn on_pool<T: Send>(
    py: Python<'_>,
    threads: Option<usize>,
    f: impl FnOnce() -> cirl::Result<T> + Send,
) -> PyResult<T> {
    let pool = match threads {
        Some(0) => {
            return Err(InvalidError::new_err(
                "threads: must be at least 1 (omit it to use all cores)",
            ));
        }
        Some(n) => Some(
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map_err(|e| Error::new_err(format!("threads: {e}")))?,
        ),
        None => None,
    };
    py.detach(|| match pool {
        Some(p) => p.install(f),
        None => f(),
    })
    .map_err(to_py)
}

/// Runs `cfg` into `out` (the CLI's run with no progress bar) and returns what it produced, as JSON: its name,
/// output folder, rows, files, checks and timings.
fn run_json(
    cfg: &cirl::experiment::config::Config,
    out: &std::path::Path,
    format: cirl::experiment::Format,
    plots: bool,
    resume: bool,
    force: bool,
) -> cirl::Result<String> {
    let opts = cirl::experiment::RunOptions {
        progress: false,
        no_plots: !plots,
        resume,
        force,
        format,
    };
    let o = cirl::experiment::run(cfg, out, &opts)?;
    let checks: Vec<serde_json::Value> = o
        .checks
        .iter()
        .map(|(claim, passed, detail)| {
            serde_json::json!({"claim": claim, "passed": passed, "detail": detail})
        })
        .collect();
    Ok(serde_json::json!({
        "name": cfg.name,
        "title": cfg.title,
        "out": out,
        "rows": o.rows,
        "files": o.files,
        "checks": checks,
        "seconds": o.seconds,
        "jobs_run": o.jobs_run,
        "jobs_reused": o.jobs_reused,
    })
    .to_string())
}

/// `cirl run CONFIG --out OUT`: runs an experiment config (a path) into `out` (default `runs/NAME`),
/// returning the outcome as JSON. The checks' verdicts are in the outcome; a failed check is not an error here
/// (the wrapper decides).
#[pyfunction]
#[pyo3(signature = (config, out = None, format = "parquet", threads = None, resume = false, force = false, plots = true))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    config: std::path::PathBuf,
    out: Option<std::path::PathBuf>,
    format: &str,
    threads: Option<usize>,
    resume: bool,
    force: bool,
    plots: bool,
) -> PyResult<String> {
    let format = cirl::experiment::Format::parse(format).map_err(to_py)?;
    on_pool(py, threads, || {
        let cfg = cirl::experiment::load(&config)?;
        let out = out.unwrap_or_else(|| std::path::Path::new("runs").join(&cfg.name));
        run_json(&cfg, &out, format, plots, resume, force)
    })
}

/// `cirl reproduce NAME --out OUT`: a named paper result, returning the outcome as JSON.
#[pyfunction]
#[pyo3(signature = (name, out = None, format = "parquet", threads = None, plots = true))]
fn reproduce(
    py: Python<'_>,
    name: &str,
    out: Option<std::path::PathBuf>,
    format: &str,
    threads: Option<usize>,
    plots: bool,
) -> PyResult<String> {
    let format = cirl::experiment::Format::parse(format).map_err(to_py)?;
    on_pool(py, threads, || {
        let cfg = cirl::experiment::reproduction(name)?;
        let out = out.unwrap_or_else(|| std::path::Path::new("runs").join(name));
        run_json(&cfg, &out, format, plots, false, false)
    })
}

/// `cirl list`: the reproductions (name, title) and the registered models (name, description), as JSON.
#[pyfunction]
fn catalogue() -> PyResult<String> {
    let mut reproductions = Vec::new();
    for r in cirl::experiment::REPRODUCTIONS {
        let cfg = cirl::experiment::reproduction(r.name).map_err(to_py)?;
        reproductions.push(serde_json::json!({"name": r.name, "title": cfg.title}));
    }
    let models: Vec<serde_json::Value> = cirl::games::REGISTERED
        .iter()
        .map(|(name, about, _)| serde_json::json!({"name": name, "about": about}))
        .collect();
    Ok(serde_json::json!({"reproductions": reproductions, "models": models}).to_string())
}

/// `cirl solve MODEL --json`: solves a registered game, a game .toml or a .pomdp file.
#[pyfunction]
#[pyo3(signature = (model, solver, sets, tolerance = None, simulate = None, seed = None, max_beliefs = None, histories = 0, policy = None))]
#[allow(clippy::too_many_arguments)]
fn solve(
    py: Python<'_>,
    model: &str,
    solver: &str,
    sets: Vec<String>,
    tolerance: Option<f64>,
    simulate: Option<u64>,
    seed: Option<u64>,
    max_beliefs: Option<usize>,
    histories: usize,
    policy: Option<std::path::PathBuf>,
) -> PyResult<(String, Vec<String>)> {
    let d = cirl::solve::Settings::default();
    let req = cirl::solve::Request {
        solver: cirl::solve::Solver::parse(solver).map_err(to_py)?,
        settings: cirl::solve::Settings {
            tolerance: tolerance.unwrap_or(d.tolerance),
            max_beliefs: max_beliefs.unwrap_or(d.max_beliefs),
            seed: seed.unwrap_or(d.seed),
            timeout: None,
        },
        simulate,
        histories,
        theta: None,
    };
    on_pool(py, None, || {
        let sets = sets
            .iter()
            .map(|s| cirl::games::parse_set(s))
            .collect::<cirl::Result<Vec<_>>>()?;
        let m = cirl::games::load(model, &sets)?;
        let r = cirl::solve::run(&m, &req)?;
        if let Some(path) = &policy {
            cirl::solve::write_policy(&r, path)?;
        }
        Ok((
            serde_json::to_string(&r).expect("a report serializes"),
            r.notes.clone(),
        ))
    })
}

/// `cirl calibrate SCENARIO --json [--out OUT]`: the card as JSON; with `out`, the card, its exports and (with
/// `plots`) the plots are written there, and their paths returned.
#[pyfunction]
#[pyo3(signature = (scenario, out = None, mc = 1_000_000, seed = 0, plots = true))]
fn calibrate(
    py: Python<'_>,
    scenario: std::path::PathBuf,
    out: Option<std::path::PathBuf>,
    mc: u64,
    seed: u64,
    plots: bool,
) -> PyResult<(String, Vec<std::path::PathBuf>)> {
    use cirl::escalation::{self, card, scenario::Scenario};
    on_pool(py, None, || {
        cirl::limits::check_count(
            "mc",
            mc,
            cirl::limits::MAX_CALIBRATE_MC,
            "simulated actions",
            "ask for fewer (10^6 gives intervals of about ±0.1% of a class's value)",
        )?;
        let s = Scenario::load(&scenario)?;
        let mut c = escalation::calibrate(
            &s,
            &escalation::Options {
                mc_actions: mc,
                seed,
            },
        )?;
        let mut files = Vec::new();
        if let Some(dir) = &out {
            let _lock = cirl::experiment::outdir::lock(dir)?;
            if plots {
                let (f, notes) = escalation::plot_all(&s, &c, dir)?;
                files.extend(f);
                c.plot_notes = notes;
            }
            files.extend(card::write(&c, dir)?);
            cirl::experiment::outdir::record(dir, &files)?;
        }
        Ok((serde_json::to_string(&c).expect("a card serializes"), files))
    })
}

/// `cirl fit LOG --scenario SCENARIO [--out OUT]`: the fit as JSON, the diff of the re-issued card as JSON
/// (with `out`), and the files written.
#[pyfunction]
#[pyo3(signature = (log, scenario, out = None, window = None, future_calls = None, reviewer = "auto", seed = 1, samples = 2000, prior_strength = 4.0, reviewer_strength = 10.0))]
#[allow(clippy::too_many_arguments)]
fn fit(
    py: Python<'_>,
    log: std::path::PathBuf,
    scenario: std::path::PathBuf,
    out: Option<std::path::PathBuf>,
    window: Option<String>,
    future_calls: Option<u64>,
    reviewer: &str,
    seed: u64,
    samples: usize,
    prior_strength: f64,
    reviewer_strength: f64,
) -> PyResult<(String, Option<String>, Vec<std::path::PathBuf>)> {
    use cirl::escalation::{fit, reissue};
    let form = reissue::ReviewerForm::parse(reviewer, "reviewer").map_err(to_py)?;
    let settings = fit::Settings {
        prior_strength,
        reviewer_strength,
        samples,
        seed,
    };
    on_pool(py, None, || {
        let _lock = out
            .as_deref()
            .map(cirl::experiment::outdir::lock)
            .transpose()?;
        let r = reissue::refit(
            &log,
            &scenario,
            out.as_deref().map(|d| (d, form)),
            window.as_deref(),
            future_calls,
            &settings,
        )?;
        if let Some(dir) = &out {
            cirl::experiment::outdir::record(dir, &r.files)?;
        }
        Ok((
            serde_json::to_string(&r.fit).expect("a fit serializes"),
            r.diff
                .as_ref()
                .map(|d| serde_json::to_string(d).expect("a diff serializes")),
            r.files,
        ))
    })
}

/// `cirl log import FILE --log LOG`: adds a JSON Lines log's calls to a decision log (SQLite); the counts as
/// JSON.
#[pyfunction]
fn log_import(
    py: Python<'_>,
    file: std::path::PathBuf,
    log: std::path::PathBuf,
) -> PyResult<String> {
    on_pool(py, None, || {
        let n = cirl::escalation::records::import(&log, &file)?;
        Ok(serde_json::to_string(&n).expect("counts serialize"))
    })
}

/// `cirl log export --log LOG --out FILE`: writes a decision log's calls as JSON Lines; the number of calls.
#[pyfunction]
fn log_export(py: Python<'_>, log: std::path::PathBuf, out: std::path::PathBuf) -> PyResult<usize> {
    on_pool(py, None, || {
        if !log.is_file() {
            return Err(cirl::Error::invalid(
                "log",
                format!("no decision log at {}", log.display()),
            ));
        }
        let l = cirl::escalation::log::Log::open(&log)?;
        let mut f = cirl::output::AtomicFile::create(&out)?;
        let n = cirl::escalation::records::export(&l, &mut f)?;
        f.commit()?;
        Ok(n)
    })
}

/// `cirl posg FILE --json`: a partially observable off-switch game's value and optimal policy pair (exact
/// enumeration, or local search from `restarts` random starts with `heuristic`); for a game with observation
/// interference or a Boltzmann human, the interference solver's answer.
#[pyfunction]
#[pyo3(signature = (file, heuristic = false, restarts = 64, seed = 0))]
fn posg(
    py: Python<'_>,
    file: std::path::PathBuf,
    heuristic: bool,
    restarts: usize,
    seed: u64,
) -> PyResult<String> {
    on_pool(py, None, || {
        let g = cirl::model::posg::Posg::load(&file)?;
        let a = cirl::solvers::posg::answer(&g, heuristic.then_some((restarts, seed)))?;
        Ok(serde_json::to_string(&a).expect("an answer serializes"))
    })
}

/// The runtime gate of a card (`cirl gate`): decides tool calls as the card says, and commits each decision
/// to a decision log when one is open.
#[pyclass(module = "cirl._cirl", frozen)]
struct Gate {
    gate: cirl::escalation::gate::Gate,
    /// The decision log (a SQLite connection: one call at a time).
    log: std::sync::Mutex<Option<cirl::escalation::log::Log>>,
    runtime: String,
}

#[pymethods]
impl Gate {
    /// Loads the gate section of a card.json written by `cirl calibrate`; with `log`, opens (or creates) that
    /// decision log.
    #[new]
    #[pyo3(signature = (card, log = None, runtime = "python"))]
    fn new(
        card: std::path::PathBuf,
        log: Option<std::path::PathBuf>,
        runtime: &str,
    ) -> PyResult<Self> {
        let gate = cirl::escalation::gate::Gate::load(&card).map_err(to_py)?;
        let log = log
            .map(|p| cirl::escalation::log::Log::open(&p))
            .transpose()
            .map_err(to_py)?;
        Ok(Gate {
            gate,
            log: std::sync::Mutex::new(log),
            runtime: runtime.to_string(),
        })
    }

    /// Decides one request given as a JSON line of the gate's jsonl protocol (`tool`, `input`, `confidence`,
    /// `server`, `annotations`, `session`, `tool_use_id`, `request_id`); returns the decision as JSON.
    fn decide_json(&self, py: Python<'_>, request: &str) -> PyResult<String> {
        py.detach(|| {
            let req = cirl::escalation::gate::Request::from_jsonl(request)?;
            let log = self.log.lock().unwrap_or_else(|p| p.into_inner());
            let d = self.gate.decide_logged(&req, &self.runtime, log.as_ref())?;
            Ok(serde_json::to_string(&d).expect("a decision serializes"))
        })
        .map_err(to_py)
    }

    /// The card's scenario name.
    #[getter]
    fn scenario(&self) -> String {
        self.gate.card.scenario.clone()
    }

    /// The hash of the card's gate section (which card a logged decision came from).
    #[getter]
    fn card_hash(&self) -> String {
        self.gate.hash.clone()
    }
}

/// The module `cirl._cirl`.
#[pymodule]
fn _cirl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("Error", py.get_type::<Error>())?;
    m.add("InvalidError", py.get_type::<InvalidError>())?;
    m.add("ConfigError", py.get_type::<ConfigError>())?;
    m.add("CheckError", py.get_type::<CheckError>())?;
    m.add("FileError", py.get_type::<FileError>())?;
    m.add("StoreError", py.get_type::<StoreError>())?;
    m.add("PlotError", py.get_type::<PlotError>())?;
    m.add_function(wrap_pyfunction!(offswitch_report, m)?)?;
    m.add_function(wrap_pyfunction!(offswitch_batch, m)?)?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(reproduce, m)?)?;
    m.add_function(wrap_pyfunction!(catalogue, m)?)?;
    m.add_function(wrap_pyfunction!(solve, m)?)?;
    m.add_function(wrap_pyfunction!(calibrate, m)?)?;
    m.add_function(wrap_pyfunction!(fit, m)?)?;
    m.add_function(wrap_pyfunction!(log_import, m)?)?;
    m.add_function(wrap_pyfunction!(log_export, m)?)?;
    m.add_function(wrap_pyfunction!(posg, m)?)?;
    m.add_class::<Gate>()?;
    m.add_class::<envs::GridCore>()?;
    m.add_class::<envs::GridVec>()?;
    m.add_class::<envs::CirlCore>()?;
    m.add_class::<envs::ApprenticeshipCore>()?;
    Ok(())
}
