//! `cirl._cirl`: the Python bindings of the `cirl` crate. Thin on purpose — every number comes from the Rust
//! library; this file converts arguments, releases the GIL around the work, and maps the crate's errors onto
//! Python exceptions. The Python package (`python/cirl/`) wraps these functions with NumPy broadcasting, typed
//! results and docstrings.

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
    Ok(())
}
