//! Priors over a scalar value: the robot's belief about the utility U of its action.
//!
//! A [`Prior`] is a value with validating constructors (like `rand_distr`'s distributions): it gives its mean,
//! its standard deviation, `E[f(U)]` to a stated tolerance, and samples. Priors are written the same way
//! everywhere: on the command line as specs (`normal:0.25,1`, `discrete:-1@0.3,2@0.7`, `uniform:-1,2`,
//! `csv:samples.csv#u`, or a path to a `.toml` file holding a `[prior]` table) and in TOML as a spec string or a
//! table (`kind = "mixture"` with `components`).

use std::path::Path;

use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

use crate::error::{Error, Result};
use crate::numerics;
use crate::numerics::{brief, short};

/// Half-width, in standard deviations, of the interval on which normal expectations are integrated:
/// φ(40) < 1e-300, so the truncation error is below any reported tolerance.
pub const NORMAL_SPAN: f64 = 40.0;

/// A belief over the utility U.
#[derive(Debug, Clone, PartialEq)]
pub enum Prior {
    /// N(μ, σ²); σ = 0 is a point belief.
    Normal {
        /// The mean μ.
        mu: f64,
        /// The standard deviation σ ≥ 0.
        sigma: f64,
    },
    /// Finitely many values with probabilities (sorted by value, probabilities > 0, summing to 1).
    Discrete {
        /// The values, ascending.
        values: Vec<f64>,
        /// Their probabilities.
        probs: Vec<f64>,
    },
    /// Uniform on [lo, hi] (lo < hi).
    Uniform {
        /// The lower end.
        lo: f64,
        /// The upper end.
        hi: f64,
    },
    /// A finite mixture: weights > 0 summing to 1.
    Mixture {
        /// The components' weights.
        weights: Vec<f64>,
        /// The components.
        components: Vec<Prior>,
    },
    /// The empirical distribution of samples read from a CSV column (each sample weighs 1/n).
    Samples {
        /// The samples.
        values: Vec<f64>,
        /// Where they were read from (`csv:PATH#COLUMN`).
        source: String,
    },
}

fn finite(field: &str, x: f64) -> Result<f64> {
    if x.is_finite() {
        Ok(x)
    } else {
        Err(Error::invalid(
            field,
            format!("must be a finite number, got {x}"),
        ))
    }
}

/// Tolerance on a probability vector's sum.
const SUM_TOL: f64 = 1e-9;

/// The standard deviation of weighted atoms, in units of their largest distance from the mean.
fn spread(atoms: impl Iterator<Item = (f64, f64)> + Clone) -> f64 {
    let m: f64 = atoms.clone().map(|(v, p)| v * p).sum();
    let dist = |v: f64| v / 2.0 - m / 2.0;
    let s = atoms
        .clone()
        .fold(0.0f64, |a, (v, _)| a.max(2.0 * dist(v).abs()));
    if s == 0.0 || !s.is_finite() {
        return s;
    }
    let var: f64 = atoms.map(|(v, p)| p * (2.0 * dist(v) / s).powi(2)).sum();
    s * var.max(0.0).sqrt()
}

/// How deep prior files may include each other.
pub const MAX_PRIOR_NESTING: usize = 16;

thread_local! {
    /// The prior files being read, outermost first (to detect a file that includes itself).
    static OPEN_PRIOR_FILES: std::cell::RefCell<Vec<std::path::PathBuf>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

impl Prior {
    /// N(μ, σ²). σ must be ≥ 0 (0 is a point belief at μ).
    pub fn normal(mu: f64, sigma: f64) -> Result<Self> {
        finite("prior.mu", mu)?;
        finite("prior.sigma", sigma)?;
        if sigma < 0.0 {
            return Err(Error::invalid(
                "prior.sigma",
                format!("must be >= 0, got {sigma}"),
            ));
        }
        Ok(Prior::Normal { mu, sigma })
    }

    /// Uniform on [lo, hi]; needs lo < hi.
    pub fn uniform(lo: f64, hi: f64) -> Result<Self> {
        finite("prior.lo", lo)?;
        finite("prior.hi", hi)?;
        if lo >= hi {
            return Err(Error::invalid(
                "prior.hi",
                format!("must be greater than lo ({}), got {}", brief(lo), brief(hi)),
            ));
        }
        if !(hi - lo).is_finite() {
            return Err(Error::invalid(
                "prior.hi",
                format!(
                    "the width hi − lo = {} − ({}) overflows f64; the game is invariant to units: rescale U",
                    brief(hi),
                    brief(lo)
                ),
            ));
        }
        Ok(Prior::Uniform { lo, hi })
    }

    /// The uniform prior with mean `mu` and standard deviation `sigma` (width σ√12); σ = 0 gives a point belief.
    pub fn uniform_mean_sd(mu: f64, sigma: f64) -> Result<Self> {
        if sigma == 0.0 {
            return Self::normal(mu, 0.0);
        }
        finite("prior.mu", mu)?;
        if !(sigma >= 0.0 && sigma.is_finite()) {
            return Err(Error::invalid(
                "prior.sigma",
                format!("must be a finite number >= 0, got {sigma}"),
            ));
        }
        let h = sigma * 3f64.sqrt();
        if !(mu + h - (mu - h)).is_finite() {
            return Err(Error::invalid(
                "prior.sigma",
                format!(
                    "a uniform belief with σ = {} spans 2√3·σ, more than f64 holds; the game is invariant to units: rescale U",
                    brief(sigma)
                ),
            ));
        }
        if mu - h == mu + h {
            // Narrower than the resolution of f64 at μ: a point belief.
            return Self::normal(mu, 0.0);
        }
        Self::uniform(mu - h, mu + h)
    }

    /// The symmetric two-point prior U = μ ± σ with probability ½ each.
    pub fn two_point(mu: f64, sigma: f64) -> Result<Self> {
        finite("prior.sigma", sigma)?;
        if sigma < 0.0 {
            return Err(Error::invalid(
                "prior.sigma",
                format!("must be >= 0, got {sigma}"),
            ));
        }
        if sigma == 0.0 {
            return Self::normal(mu, 0.0);
        }
        Self::discrete(vec![mu - sigma, mu + sigma], vec![0.5, 0.5])
    }

    /// A discrete prior; probabilities must be ≥ 0 and sum to 1 within 1e-9 (then renormalised exactly).
    /// Zero-probability points are dropped and equal values merged.
    pub fn discrete(values: Vec<f64>, probs: Vec<f64>) -> Result<Self> {
        if values.is_empty() || values.len() != probs.len() {
            return Err(Error::invalid(
                "prior",
                "a discrete prior needs at least one VALUE@PROB pair",
            ));
        }
        for (&v, &p) in values.iter().zip(&probs) {
            finite("prior value", v)?;
            finite("prior probability", p)?;
            if p < 0.0 {
                return Err(Error::invalid(
                    "prior probability",
                    format!("must be >= 0, got {p}"),
                ));
            }
        }
        let total: f64 = probs.iter().sum();
        if (total - 1.0).abs() > SUM_TOL {
            return Err(Error::invalid(
                "prior probabilities",
                format!("must sum to 1, they sum to {total}"),
            ));
        }
        let mut pairs: Vec<(f64, f64)> = values
            .into_iter()
            .zip(probs)
            .filter(|p| p.1 > 0.0)
            .map(|(v, p)| (v, p / total))
            .collect();
        pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut merged: Vec<(f64, f64)> = Vec::with_capacity(pairs.len());
        for (v, p) in pairs {
            match merged.last_mut() {
                Some(last) if last.0 == v => last.1 += p,
                _ => merged.push((v, p)),
            }
        }
        Ok(Prior::Discrete {
            values: merged.iter().map(|p| p.0).collect(),
            probs: merged.iter().map(|p| p.1).collect(),
        })
    }

    /// A mixture; weights ≥ 0 summing to 1 within 1e-9.
    pub fn mixture(weights: Vec<f64>, components: Vec<Prior>) -> Result<Self> {
        if components.is_empty() || weights.len() != components.len() {
            return Err(Error::invalid(
                "prior.components",
                "a mixture needs at least one component",
            ));
        }
        for &w in &weights {
            finite("prior.components.weight", w)?;
            if w < 0.0 {
                return Err(Error::invalid(
                    "prior.components.weight",
                    format!("must be >= 0, got {w}"),
                ));
            }
        }
        let total: f64 = weights.iter().sum();
        if (total - 1.0).abs() > SUM_TOL {
            return Err(Error::invalid(
                "prior.components.weight",
                format!("weights must sum to 1, they sum to {total}"),
            ));
        }
        Ok(Prior::Mixture {
            weights: weights.iter().map(|w| w / total).collect(),
            components,
        })
    }

    /// The empirical distribution of `values` (at least one, all finite).
    pub fn samples(values: Vec<f64>, source: impl Into<String>) -> Result<Self> {
        let source = source.into();
        if values.is_empty() {
            return Err(Error::invalid("prior", format!("{source}: no samples")));
        }
        for &v in &values {
            finite(&format!("prior sample in {source}"), v)?;
        }
        Ok(Prior::Samples { values, source })
    }

    /// Reads column `column` (a header name, or a 0-based index) of a CSV file with a header row.
    pub fn from_csv(path: &Path, column: &str) -> Result<Self> {
        let source = format!("{}#{column}", path.display());
        let mut rdr = csv::Reader::from_reader(crate::input::open_regular(
            path,
            crate::input::MAX_DATA_BYTES,
            "prior",
        )?);
        let headers = rdr
            .headers()
            .map_err(|e| Error::invalid("prior", format!("{source}: {e}")))?
            .clone();
        let idx = match headers.iter().position(|h| h.trim() == column) {
            Some(i) => i,
            None => column
                .parse::<usize>()
                .ok()
                .filter(|&i| i < headers.len())
                .ok_or_else(|| {
                    Error::invalid(
                        "prior",
                        format!(
                            "{}: no column '{column}' (columns: {})",
                            path.display(),
                            headers.iter().collect::<Vec<_>>().join(", ")
                        ),
                    )
                })?,
        };
        let mut values = Vec::new();
        for (row, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| Error::invalid("prior", format!("{source}: {e}")))?;
            let cell = rec.get(idx).unwrap_or("").trim();
            if cell.is_empty() {
                continue;
            }
            let v: f64 = cell.parse().map_err(|_| {
                Error::invalid(
                    "prior",
                    format!("{source}: row {} holds '{cell}', not a number", row + 2),
                )
            })?;
            values.push(v);
        }
        Self::samples(values, source)
    }

    /// Whether [`Prior::parse`] would read a file for `spec` (`csv:PATH#COLUMN` or a `.toml` path), decided from
    /// the text alone.
    pub fn reads_file(spec: &str) -> bool {
        let spec = spec.trim();
        spec.ends_with(".toml")
            || spec
                .split_once(':')
                .is_some_and(|(kind, _)| kind.trim() == "csv")
    }

    /// Parses a prior spec: `normal:MU,SIGMA`, `uniform:LO,HI`, `discrete:V1@P1,V2@P2,...`,
    /// `two-point:MU,SIGMA`, `csv:PATH#COLUMN`, or a path ending in `.toml` holding a `[prior]` table.
    pub fn parse(spec: &str) -> Result<Self> {
        let spec = spec.trim();
        if spec.ends_with(".toml") {
            return Self::from_toml_file(Path::new(spec));
        }
        let (kind, args) = spec.split_once(':').unwrap_or((spec, ""));
        let nums = |n: usize, names: &str| -> Result<Vec<f64>> {
            let parts: Vec<&str> = args.split(',').map(str::trim).collect();
            if parts.len() != n || parts.iter().any(|p| p.is_empty()) {
                return Err(Error::invalid(
                    "prior",
                    format!("'{spec}': expected {kind}:{names}"),
                ));
            }
            parts
                .iter()
                .map(|p| {
                    p.parse::<f64>().map_err(|_| {
                        Error::invalid(
                            "prior",
                            format!("'{spec}': '{p}' is not a number (expected {kind}:{names})"),
                        )
                    })
                })
                .collect()
        };
        match kind.trim() {
            "normal" => {
                let v = nums(2, "MU,SIGMA")?;
                Self::normal(v[0], v[1])
            }
            "uniform" => {
                let v = nums(2, "LO,HI")?;
                Self::uniform(v[0], v[1])
            }
            "two-point" => {
                let v = nums(2, "MU,SIGMA")?;
                Self::two_point(v[0], v[1])
            }
            "discrete" => {
                let mut values = Vec::new();
                let mut probs = Vec::new();
                for part in args.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (v, p) = part.split_once('@').ok_or_else(|| {
                        Error::invalid("prior", format!("'{spec}': '{part}' should be VALUE@PROB, e.g. discrete:-1@0.3,2@0.7"))
                    })?;
                    let parse = |s: &str| {
                        s.trim().parse::<f64>().map_err(|_| {
                            Error::invalid("prior", format!("'{spec}': '{s}' is not a number"))
                        })
                    };
                    values.push(parse(v)?);
                    probs.push(parse(p)?);
                }
                Self::discrete(values, probs)
            }
            "csv" => {
                let (path, col) = args.rsplit_once('#').ok_or_else(|| {
                    Error::invalid(
                        "prior",
                        format!(
                            "'{spec}': expected csv:PATH#COLUMN (a header name or 0-based index)"
                        ),
                    )
                })?;
                Self::from_csv(Path::new(path), col)
            }
            "mixture" => Err(Error::invalid(
                "prior",
                "mixtures are written as a TOML table; put `[prior] kind = \"mixture\"` with `components` in a .toml file and pass its path",
            )),
            other => Err(Error::invalid(
                "prior",
                format!(
                    "unknown prior kind '{other}' in '{spec}'; use normal:MU,SIGMA, uniform:LO,HI, discrete:V@P,..., two-point:MU,SIGMA, csv:PATH#COLUMN or FILE.toml"
                ),
            )),
        }
    }

    /// The files a prior spec reads — a `csv:` file, a `.toml` prior file and the files it names in turn — in
    /// the order met, each once; for recording their contents with a run. Files that cannot be read are listed
    /// but not followed (building the prior reports them).
    pub fn files(spec: &str) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        collect_files(&toml::Value::String(spec.to_string()), &mut out);
        out
    }

    /// Reads the `[prior]` table (or a top-level prior table) of a TOML file.
    pub fn from_toml_file(path: &Path) -> Result<Self> {
        // A mixture file may name other prior files: refuse a file that includes itself, and nesting deeper
        // than [`MAX_PRIOR_NESTING`], before the recursion can exhaust the stack.
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let cycle = OPEN_PRIOR_FILES.with(|open| {
            let open = open.borrow();
            if open.contains(&key) {
                Some(format!(
                    "{} includes itself (through {})",
                    path.display(),
                    open.iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(" → ")
                ))
            } else if open.len() >= MAX_PRIOR_NESTING {
                Some(format!(
                    "prior files nest deeper than {MAX_PRIOR_NESTING} at {}",
                    path.display()
                ))
            } else {
                None
            }
        });
        if let Some(m) = cycle {
            return Err(Error::invalid("prior", m));
        }
        OPEN_PRIOR_FILES.with(|open| open.borrow_mut().push(key));
        let r = Self::from_toml_file_inner(path);
        OPEN_PRIOR_FILES.with(|open| open.borrow_mut().pop());
        r
    }

    fn from_toml_file_inner(path: &Path) -> Result<Self> {
        let text = crate::input::read_text(path, crate::input::MAX_TOML_BYTES, "prior")?;
        let value: toml::Table = toml::from_str(&text).map_err(|e| Error::Config {
            path: path.display().to_string(),
            message: e.message().to_string(),
        })?;
        let table = match value.get("prior") {
            Some(v) => v.clone(),
            None => toml::Value::Table(value),
        };
        Self::from_toml(&table, "prior").map_err(|e| Error::Config {
            path: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// A prior from a TOML value: a spec string, or a table with `kind` and that kind's keys
    /// (`mu`/`sigma`, `lo`/`hi`, `values`/`probs`, `path`/`column`, or `components = [{ weight, prior }]`).
    /// `field` names the value in error messages.
    pub fn from_toml(value: &toml::Value, field: &str) -> Result<Self> {
        match value {
            toml::Value::String(s) => {
                Self::parse(s).map_err(|e| Error::invalid(field, e.to_string()))
            }
            toml::Value::Table(t) => {
                let kind = t.get("kind").and_then(|k| k.as_str()).ok_or_else(|| {
                    Error::invalid(
                        format!("{field}.kind"),
                        "missing; use normal, uniform, discrete, two-point, csv or mixture",
                    )
                })?;
                let allowed: &[&str] = match kind {
                    "normal" | "two-point" => &["kind", "mu", "sigma"],
                    "uniform" => &["kind", "lo", "hi"],
                    "discrete" => &["kind", "values", "probs"],
                    "csv" => &["kind", "path", "column"],
                    "mixture" => &["kind", "components"],
                    other => {
                        return Err(Error::invalid(
                            format!("{field}.kind"),
                            format!(
                                "unknown kind '{other}'; use normal, uniform, discrete, two-point, csv or mixture"
                            ),
                        ));
                    }
                };
                if let Some(k) = t.keys().find(|k| !allowed.contains(&k.as_str())) {
                    return Err(Error::invalid(
                        format!("{field}.{k}"),
                        format!(
                            "unknown key for a {kind} prior (allowed: {})",
                            allowed.join(", ")
                        ),
                    ));
                }
                let num = |k: &str| -> Result<f64> { toml_f64(t.get(k), &format!("{field}.{k}")) };
                let nums = |k: &str| -> Result<Vec<f64>> {
                    let key = format!("{field}.{k}");
                    let arr = t.get(k).and_then(|v| v.as_array()).ok_or_else(|| {
                        Error::invalid(&key, "missing; expected an array of numbers")
                    })?;
                    arr.iter().map(|v| toml_f64(Some(v), &key)).collect()
                };
                match kind {
                    "normal" => Self::normal(num("mu")?, num("sigma")?),
                    "two-point" => Self::two_point(num("mu")?, num("sigma")?),
                    "uniform" => Self::uniform(num("lo")?, num("hi")?),
                    "discrete" => Self::discrete(nums("values")?, nums("probs")?),
                    "csv" => {
                        let get = |k: &str| -> Result<String> {
                            match t.get(k) {
                                Some(toml::Value::String(s)) => Ok(s.clone()),
                                Some(toml::Value::Integer(i)) => Ok(i.to_string()),
                                _ => Err(Error::invalid(
                                    format!("{field}.{k}"),
                                    "missing; expected a string",
                                )),
                            }
                        };
                        Self::from_csv(Path::new(&get("path")?), &get("column")?)
                    }
                    _ => {
                        let comps = t.get("components").and_then(|v| v.as_array()).ok_or_else(|| {
                            Error::invalid(format!("{field}.components"), "missing; expected [{ weight = W, prior = \"normal:M,S\" }, ...]")
                        })?;
                        let mut weights = Vec::new();
                        let mut priors = Vec::new();
                        for (i, c) in comps.iter().enumerate() {
                            let key = format!("{field}.components[{i}]");
                            let ct = c.as_table().ok_or_else(|| {
                                Error::invalid(&key, "expected a table { weight, prior }")
                            })?;
                            if let Some(k) = ct.keys().find(|k| *k != "weight" && *k != "prior") {
                                return Err(Error::invalid(
                                    format!("{key}.{k}"),
                                    "unknown key (allowed: weight, prior)",
                                ));
                            }
                            weights.push(toml_f64(ct.get("weight"), &format!("{key}.weight"))?);
                            let p = ct
                                .get("prior")
                                .ok_or_else(|| Error::invalid(format!("{key}.prior"), "missing"))?;
                            priors.push(Self::from_toml(p, &format!("{key}.prior"))?);
                        }
                        Self::mixture(weights, priors)
                    }
                }
            }
            _ => Err(Error::invalid(
                field,
                "expected a spec string like \"normal:0,1\" or a table with `kind`",
            )),
        }
    }

    /// The distribution of center + scale·(U − center), scale ≥ 0: the same shape with its spread around
    /// `center` multiplied by `scale` (used to scan the robot's uncertainty at a fixed mean).
    pub fn affine(&self, center: f64, scale: f64) -> Prior {
        let f = |x: f64| center + scale * (x - center);
        match self {
            Prior::Normal { mu, sigma } => Prior::Normal {
                mu: f(*mu),
                sigma: sigma * scale,
            },
            Prior::Uniform { lo, hi } => {
                if scale == 0.0 {
                    Prior::Discrete {
                        values: vec![f(0.5 * (lo + hi))],
                        probs: vec![1.0],
                    }
                } else {
                    Prior::Uniform {
                        lo: f(*lo),
                        hi: f(*hi),
                    }
                }
            }
            Prior::Discrete { values, probs } => Prior::Discrete {
                values: values.iter().map(|v| f(*v)).collect(),
                probs: probs.clone(),
            },
            Prior::Mixture {
                weights,
                components,
            } => Prior::Mixture {
                weights: weights.clone(),
                components: components.iter().map(|c| c.affine(center, scale)).collect(),
            },
            Prior::Samples { values, source } => Prior::Samples {
                values: values.iter().map(|v| f(*v)).collect(),
                source: source.clone(),
            },
        }
    }

    /// A short spec-like label (mixtures and samples are summarised).
    pub fn label(&self) -> String {
        match self {
            Prior::Normal { mu, sigma } => format!("normal:{},{}", short(*mu), short(*sigma)),
            Prior::Uniform { lo, hi } => format!("uniform:{},{}", short(*lo), short(*hi)),
            Prior::Discrete { values, probs } => {
                let parts: Vec<String> = values
                    .iter()
                    .zip(probs)
                    .map(|(v, p)| format!("{}@{}", short(*v), short(*p)))
                    .collect();
                format!("discrete:{}", parts.join(","))
            }
            Prior::Mixture { components, .. } => format!("mixture of {}", components.len()),
            Prior::Samples { values, source } => format!("csv:{source} ({} samples)", values.len()),
        }
    }

    /// The kind's name: normal, uniform, discrete, mixture, samples.
    pub fn kind(&self) -> &'static str {
        match self {
            Prior::Normal { .. } => "normal",
            Prior::Uniform { .. } => "uniform",
            Prior::Discrete { .. } => "discrete",
            Prior::Mixture { .. } => "mixture",
            Prior::Samples { .. } => "samples",
        }
    }

    /// E\[U\].
    pub fn mean(&self) -> f64 {
        match self {
            Prior::Normal { mu, .. } => *mu,
            Prior::Uniform { lo, hi } => 0.5 * lo + 0.5 * hi,
            Prior::Discrete { values, probs } => values.iter().zip(probs).map(|(v, p)| v * p).sum(),
            Prior::Mixture {
                weights,
                components,
            } => weights
                .iter()
                .zip(components)
                .map(|(w, c)| w * c.mean())
                .sum(),
            Prior::Samples { values, .. } => {
                let n = values.len() as f64;
                values.iter().map(|v| v / n).sum::<f64>()
            }
        }
    }

    /// The standard deviation of U, computed in units of the spread so that it neither overflows (σ² of a huge
    /// σ) nor underflows.
    pub fn sd(&self) -> f64 {
        match self {
            Prior::Normal { sigma, .. } => *sigma,
            Prior::Uniform { lo, hi } => (hi - lo) / 12f64.sqrt(),
            Prior::Mixture {
                weights,
                components,
            } => {
                // Var = Σ w·(sd_i² + (m_i − m)²), in units of the largest term.
                let m = self.mean();
                let parts: Vec<(f64, f64, f64)> = weights
                    .iter()
                    .zip(components)
                    .map(|(w, c)| (*w, c.sd(), c.mean() / 2.0 - m / 2.0))
                    .collect();
                let s = parts
                    .iter()
                    .fold(0.0f64, |a, p| a.max(p.1).max(2.0 * p.2.abs()));
                if s == 0.0 || !s.is_finite() {
                    return s;
                }
                let v: f64 = parts
                    .iter()
                    .map(|(w, sd, half)| w * ((sd / s).powi(2) + (2.0 * half / s).powi(2)))
                    .sum();
                s * v.max(0.0).sqrt()
            }
            Prior::Discrete { values, probs } => {
                spread(values.iter().copied().zip(probs.iter().copied()))
            }
            Prior::Samples { values, .. } => {
                let n = values.len() as f64;
                spread(values.iter().map(|v| (*v, 1.0 / n)))
            }
        }
    }

    /// The scale against which absolute tolerances are stated: max(sd, |mean|), or 1 when both are 0.
    pub fn scale(&self) -> f64 {
        let s = self.sd().max(self.mean().abs());
        if s > 0.0 { s } else { 1.0 }
    }

    /// Pr(U > 0), Pr(U < 0).
    pub fn sign_probs(&self) -> (f64, f64) {
        match self {
            Prior::Normal { mu, sigma } => {
                if *sigma == 0.0 {
                    ((*mu > 0.0) as u8 as f64, (*mu < 0.0) as u8 as f64)
                } else {
                    (
                        numerics::norm_cdf(mu / sigma),
                        numerics::norm_cdf(-mu / sigma),
                    )
                }
            }
            Prior::Uniform { lo, hi } => {
                let w = hi - lo;
                (
                    ((hi.max(0.0) - lo.max(0.0)) / w),
                    ((hi.min(0.0) - lo.min(0.0)) / w),
                )
            }
            _ => (
                self.expect(&|u| (u > 0.0) as u8 as f64, &[0.0], 0.0),
                self.expect(&|u| (u < 0.0) as u8 as f64, &[0.0], 0.0),
            ),
        }
    }

    /// E[f(U)]. `breaks` are the points where `f` has a kink or a jump (they are quadrature break points).
    /// Discrete priors and samples are summed exactly; continuous priors are integrated by adaptive
    /// Gauss–Legendre with absolute error ≤ `abs_tol` (0 means 1e-12 × the integrand's magnitude on the
    /// prior's scale, estimated from a first pass).
    pub fn expect(&self, f: &dyn Fn(f64) -> f64, breaks: &[f64], abs_tol: f64) -> f64 {
        match self {
            Prior::Normal { mu, sigma } => {
                if *sigma == 0.0 {
                    return f(*mu);
                }
                let g = |z: f64| numerics::norm_pdf(z) * f(mu + sigma * z);
                let zb: Vec<f64> = breaks.iter().map(|b| (b - mu) / sigma).collect();
                let tol = if abs_tol > 0.0 {
                    abs_tol
                } else {
                    auto_tol(&g, -8.0, 8.0)
                };
                numerics::integrate(g, -NORMAL_SPAN, NORMAL_SPAN, &zb, tol)
            }
            Prior::Uniform { lo, hi } => {
                let w = hi - lo;
                let g = |u: f64| f(u) / w;
                let tol = if abs_tol > 0.0 {
                    abs_tol
                } else {
                    auto_tol(&g, *lo, *hi) * w.max(1.0)
                };
                numerics::integrate(g, *lo, *hi, breaks, tol)
            }
            Prior::Discrete { values, probs } => {
                values.iter().zip(probs).map(|(v, p)| p * f(*v)).sum()
            }
            Prior::Mixture {
                weights,
                components,
            } => weights
                .iter()
                .zip(components)
                .map(|(w, c)| w * c.expect(f, breaks, abs_tol))
                .sum(),
            Prior::Samples { values, .. } => {
                let n = values.len() as f64;
                values.iter().map(|v| f(*v) / n).sum::<f64>()
            }
        }
    }

    /// Draws one value of U.
    pub fn sample<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> f64 {
        match self {
            Prior::Normal { mu, sigma } => {
                let z: f64 = StandardNormal.sample(rng);
                mu + sigma * z
            }
            Prior::Uniform { lo, hi } => lo + (hi - lo) * rng.random::<f64>(),
            Prior::Discrete { values, probs } => {
                let r: f64 = rng.random();
                let mut acc = 0.0;
                for (v, p) in values.iter().zip(probs) {
                    acc += p;
                    if r < acc {
                        return *v;
                    }
                }
                *values.last().expect("validated non-empty")
            }
            Prior::Mixture {
                weights,
                components,
            } => {
                let r: f64 = rng.random();
                let mut acc = 0.0;
                for (w, c) in weights.iter().zip(components) {
                    acc += w;
                    if r < acc {
                        return c.sample(rng);
                    }
                }
                components.last().expect("validated non-empty").sample(rng)
            }
            Prior::Samples { values, .. } => values[rng.random_range(0..values.len())],
        }
    }
}

/// A tolerance of 1e-12 times the integrand's largest magnitude on a coarse grid over [a, b] (times the width).
fn auto_tol(g: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let m = (0..=64)
        .map(|i| g(a + (b - a) * i as f64 / 64.0).abs())
        .fold(0.0, f64::max);
    1e-12 * if m > 0.0 { m * (b - a) } else { 1.0 }
}

/// Reads a number (integer or float) from an optional TOML value, naming `field` in the error.
pub fn toml_f64(v: Option<&toml::Value>, field: &str) -> Result<f64> {
    match v {
        Some(toml::Value::Float(x)) => finite(field, *x),
        Some(toml::Value::Integer(i)) => Ok(*i as f64),
        Some(other) => Err(Error::invalid(
            field,
            format!("expected a number, got {}", other.type_str()),
        )),
        None => Err(Error::invalid(field, "missing; expected a number")),
    }
}

fn collect_files(v: &toml::Value, out: &mut Vec<std::path::PathBuf>) {
    if out.len() > 1000 {
        return;
    }
    match v {
        toml::Value::String(spec) => {
            let spec = spec.trim();
            if let Some((path, _)) = spec.strip_prefix("csv:").and_then(|r| r.rsplit_once('#')) {
                let p = std::path::PathBuf::from(path);
                if !out.contains(&p) {
                    out.push(p);
                }
            } else if spec.ends_with(".toml") {
                let p = std::path::PathBuf::from(spec);
                if out.contains(&p) {
                    return;
                }
                out.push(p.clone());
                let Ok(text) = crate::input::read_text(&p, crate::input::MAX_TOML_BYTES, "prior")
                else {
                    return;
                };
                if let Ok(table) = toml::from_str::<toml::Table>(&text) {
                    let t = table
                        .get("prior")
                        .cloned()
                        .unwrap_or(toml::Value::Table(table));
                    collect_files(&t, out);
                }
            }
        }
        toml::Value::Table(t) => match t.get("kind").and_then(|k| k.as_str()) {
            Some("csv") => {
                if let Some(path) = t.get("path").and_then(|p| p.as_str()) {
                    let p = std::path::PathBuf::from(path);
                    if !out.contains(&p) {
                        out.push(p);
                    }
                }
            }
            Some("mixture") => {
                for c in t
                    .get("components")
                    .and_then(|c| c.as_array())
                    .into_iter()
                    .flatten()
                {
                    if let Some(p) = c.get("prior") {
                        collect_files(p, out);
                    }
                }
            }
            _ => {}
        },
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn specs_parse_and_validate() {
        assert_eq!(
            Prior::parse("normal:0.25,1").unwrap(),
            Prior::Normal {
                mu: 0.25,
                sigma: 1.0
            }
        );
        assert_eq!(
            Prior::parse("uniform:-1,2").unwrap(),
            Prior::Uniform { lo: -1.0, hi: 2.0 }
        );
        let d = Prior::parse("discrete:2@0.7,-1@0.3").unwrap();
        assert_eq!(
            d,
            Prior::Discrete {
                values: vec![-1.0, 2.0],
                probs: vec![0.3, 0.7]
            }
        );
        for bad in [
            "normal:0",
            "normal:0,-1",
            "uniform:2,1",
            "discrete:1@0.5",
            "discrete:1",
            "gamma:1,2",
            "normal:a,1",
            "normal:nan,1",
        ] {
            let e = Prior::parse(bad).unwrap_err();
            assert!(e.is_input_error(), "{bad}: {e}");
        }
    }

    #[test]
    fn moments_are_right() {
        let u = Prior::uniform(-1.0, 3.0).unwrap();
        assert_abs_diff_eq!(u.mean(), 1.0);
        assert_abs_diff_eq!(u.sd(), 4.0 / 12f64.sqrt(), epsilon = 1e-14);
        let n = Prior::normal(0.3, 2.0).unwrap();
        assert_abs_diff_eq!(
            n.expect(&|x| x * x, &[], 1e-13),
            4.0 + 0.09,
            epsilon = 1e-11
        );
        let m = Prior::mixture(vec![0.25, 0.75], vec![n.clone(), u.clone()]).unwrap();
        assert_abs_diff_eq!(m.mean(), 0.25 * 0.3 + 0.75, epsilon = 1e-15);
        assert_abs_diff_eq!(
            Prior::uniform_mean_sd(0.5, 2.0).unwrap().sd(),
            2.0,
            epsilon = 1e-14
        );
    }

    #[test]
    fn toml_mixture_reads_and_rejects_unknown_keys() {
        let v: toml::Value = toml::from_str::<toml::Table>(
            "kind = \"mixture\"\ncomponents = [{ weight = 0.99, prior = \"normal:1,0.5\" }, { weight = 0.01, prior = { kind = \"normal\", mu = -20, sigma = 2 } }]",
        )
        .map(toml::Value::Table)
        .unwrap();
        let p = Prior::from_toml(&v, "prior").unwrap();
        assert_abs_diff_eq!(p.mean(), 0.99 - 0.2, epsilon = 1e-14);
        let bad: toml::Value =
            toml::from_str::<toml::Table>("kind = \"normal\"\nmu = 0\nsigmaa = 1")
                .map(toml::Value::Table)
                .unwrap();
        let e = Prior::from_toml(&bad, "prior").unwrap_err().to_string();
        assert!(e.contains("prior.sigmaa"), "{e}");
    }

    #[test]
    fn sampling_matches_the_mean() {
        let mut rng = crate::rng::job_rng(1, 0);
        let p = Prior::parse("discrete:-1@0.3,2@0.7").unwrap();
        let n = 200_000;
        let m: f64 = (0..n).map(|_| p.sample(&mut rng)).sum::<f64>() / n as f64;
        // sd of U is ~1.37: 5 standard errors ≈ 0.016
        assert!((m - p.mean()).abs() < 0.016, "{m}");
    }
}
