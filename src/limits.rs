//! The size model: every request too big to finish is refused up front, with one line naming the flag and its
//! limit (exit code 2), instead of an allocation abort, a stack overflow or a run without end.
//!
//! The limits are set so that a request at the limit finishes on a 2-core machine within minutes and within
//! [`MEMORY_BUDGET`]:
//!
//! | request | limit | at the limit |
//! |---|---|---|
//! | `cirl offswitch --mc` | 10¹⁰ games | ~1 min (1.7·10⁸ games/s on 2 cores); O(1) memory |
//! | `cirl calibrate --mc` | 10⁸ actions | ~1 min; O(1) memory |
//! | `cirl solve --simulate` | 10⁹ episodes | streamed: O(1) memory |
//! | `cirl solve --histories` | 10⁴ episodes | each recorded step by step in the JSON |
//! | a horizon | 10⁵ decisions | |
//! | exact value iteration | 10⁵ backups (ln(tol / bound) / ln γ) | else a larger `--tolerance` or `--solver pbvi` |
//! | the off-switch game's discretisation | 2,000 points | a 2,000² table; 5–10 s to build (Golub–Welsch: an n × n eigenproblem) |
//! | a dense tabular model (registered games; a `.pomdp` model for the exact solvers, PBVI, simulation) | 5·10⁷ table entries | ~400 MB of f64 |
//! | a `.pomdp` model as read (sparse) | 6.7·10⁷ non-zero T and O entries; a row per (action, state) within [`MEMORY_BUDGET`] | ~0.8 GB |
//! | the generalized backup's plans (`cirl solve` of a CIRL game) | [`MEMORY_BUDGET`] | checked before the first backup (a floor: one vector per reachable state and decision) and after each |
//! | a sweep | 10⁷ games | 118 MB peak: rows stream to results.csv (see `experiment::sweep::MAX_POINTS`) |
//! | a sweep's plots, `experiment::compute` | 10⁶ games | the results held as a table, ~1.2 KB a game |
//! | a designer study | 10⁷ (game chunk × action count) jobs | games are summed, not held |
//! | a study's work (obedience, apprenticeship) | 10¹³ elementary steps ([`MAX_STUDY_WORK`]) | ~10 min; the shipped milli2017 is 4·10¹¹ (20 s) |
//! | a safe-interruptibility study | 10⁹ training episodes in all | ~10 min; the shipped leike2017 trains 2.4·10⁷ (10 s) |

use crate::error::{Error, Result};

/// What a single run may use.
pub const MEMORY_BUDGET: u64 = 2 << 30;
/// Sampled games of `cirl offswitch --mc`.
pub const MAX_OFFSWITCH_MC: u64 = 10_000_000_000;
/// Simulated actions of `cirl calibrate --mc`.
pub const MAX_CALIBRATE_MC: u64 = 100_000_000;
/// Episodes of `cirl solve --simulate`.
pub const MAX_SIMULATE: u64 = 1_000_000_000;
/// Recorded episodes of `cirl solve --histories`.
pub const MAX_HISTORIES: usize = 10_000;
/// A model's horizon.
pub const MAX_HORIZON: usize = 100_000;
/// Backups of exact value iteration.
pub const MAX_EXACT_BACKUPS: usize = 100_000;
/// Points of a discretised prior.
pub const MAX_DISCRETISATION_POINTS: usize = 2_000;
/// Entries of a tabular model's transition, observation or reward tables.
pub const MAX_TABLE_ENTRIES: f64 = 5e7;
/// Non-zero entries of a sparse model's transition and observation tables together (the reader holds 16 bytes
/// an entry and the model 12, so 2.8 GB at most while a file is read, 0.8 GB after).
pub const MAX_SPARSE_ENTRIES: f64 = 6.7e7;
/// A study's work in elementary steps (a particle's likelihood of one order, one state of a soft value
/// iteration): about 10 minutes on two cores.
pub const MAX_STUDY_WORK: f64 = 1e13;
/// Training episodes of a safe-interruptibility study, over all its agents.
pub const MAX_TRAINING_EPISODES: u64 = 1_000_000_000;

/// Refuses a study whose estimated work `work` (elementary steps) is above [`MAX_STUDY_WORK`]; `field` names what
/// to make smaller.
pub fn check_work(field: &str, work: f64, what: &str) -> Result<()> {
    if work.is_nan() || work > MAX_STUDY_WORK {
        return Err(Error::invalid(
            field,
            format!(
                "{what} is about {} elementary steps, more than the {} one run may take; make it smaller or split it",
                crate::numerics::brief(work),
                crate::numerics::brief(MAX_STUDY_WORK)
            ),
        ));
    }
    Ok(())
}

/// What to do instead, for a Monte Carlo count over its limit.
pub const SPLIT_BY_SEEDS: &str = "split it into runs with different --seed, or ask for fewer";

/// Refuses a count above its limit; `hint` says what to do instead.
pub fn check_count(flag: &str, n: u64, max: u64, what: &str, hint: &str) -> Result<()> {
    if n > max {
        return Err(Error::invalid(
            flag,
            format!(
                "{n} {what} is more than the {} this allows in one run; {hint}",
                crate::numerics::brief(max as f64)
            ),
        ));
    }
    Ok(())
}

/// Refuses a model whose tables would hold more than [`MAX_TABLE_ENTRIES`] entries.
pub fn check_table(field: &str, entries: f64, what: &str) -> Result<()> {
    // NaN counts as too big.
    if entries.is_nan() || entries > MAX_TABLE_ENTRIES {
        return Err(Error::invalid(
            field,
            format!(
                "{what} needs {} table entries, more than the {} a model may hold; make it smaller",
                crate::numerics::brief(entries),
                crate::numerics::brief(MAX_TABLE_ENTRIES)
            ),
        ));
    }
    Ok(())
}

/// Refuses a computation whose memory would pass [`MEMORY_BUDGET`]; `bytes` is its estimate (or a floor).
pub fn check_memory(field: &str, bytes: f64, what: &str, hint: &str) -> Result<()> {
    if bytes.is_nan() || bytes > MEMORY_BUDGET as f64 {
        return Err(Error::invalid(
            field,
            format!(
                "{what} needs {} GB, more than the {} GB one run may use; {hint}",
                crate::numerics::brief((bytes / 1e8).round() / 10.0),
                MEMORY_BUDGET >> 30
            ),
        ));
    }
    Ok(())
}
