//! Registered problems, loaded by name (`cirl solve tiger`) or from a `.pomdp` file, with `--set key=value`
//! overrides of their parameters.

use std::path::Path;

use crate::error::{Error, Result};
use crate::model::{Tabular, pomdp_format};

/// Registered models: (name, description, `.pomdp` text).
pub const REGISTERED: [(&str, &str, &str); 1] = [(
    "tiger",
    "The tiger problem (Kaelbling, Littman & Cassandra 1998), discount 0.95",
    include_str!("../../experiments/models/tiger.pomdp"),
)];

/// The parameters every model accepts in `--set`.
pub const COMMON_KEYS: [&str; 2] = ["discount", "horizon"];

/// Loads a registered model or a `.pomdp` file and applies `key=value` overrides.
pub fn load(spec: &str, sets: &[(String, String)]) -> Result<Tabular> {
    let mut m = if let Some((name, _, text)) = REGISTERED.iter().find(|r| r.0 == spec) {
        let mut m = pomdp_format::parse(text, name)?;
        m.name = name.to_string();
        m
    } else if spec.ends_with(".pomdp") || Path::new(spec).exists() {
        pomdp_format::read(Path::new(spec))?
    } else {
        return Err(Error::invalid(
            "MODEL",
            format!(
                "'{spec}' is neither a registered model ({}) nor a .pomdp file",
                REGISTERED
                    .iter()
                    .map(|r| r.0)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    };
    for (k, v) in sets {
        match k.as_str() {
            "discount" => {
                m.discount = v
                    .parse::<f64>()
                    .ok()
                    .filter(|d| (0.0..=1.0).contains(d))
                    .ok_or_else(|| {
                        Error::invalid(
                            "--set discount",
                            format!("must be a number in [0, 1], got '{v}'"),
                        )
                    })?;
            }
            "horizon" => {
                m.horizon = match v.as_str() {
                    "none" | "inf" => None,
                    _ => Some(v.parse::<usize>().map_err(|_| {
                        Error::invalid(
                            "--set horizon",
                            format!("must be a whole number of decisions or 'none', got '{v}'"),
                        )
                    })?),
                }
            }
            other => {
                return Err(Error::invalid(
                    format!("--set {other}"),
                    format!(
                        "unknown parameter for {}; it takes {}",
                        m.name,
                        COMMON_KEYS.join(", ")
                    ),
                ));
            }
        }
    }
    m.check()?;
    Ok(m)
}

/// Parses `key=value`.
pub fn parse_set(s: &str) -> Result<(String, String)> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, _)| !k.is_empty())
        .ok_or_else(|| Error::invalid("--set", format!("expected key=value, got '{s}'")))
}
