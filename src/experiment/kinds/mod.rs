//! The experiment kinds that reproduce one paper's study each, one file per kind (the sweep, designer and closed
//! loop kinds live beside the runner, in [`super::sweep`], [`super::designer`] and [`super::closed_loop`]).

pub mod incorrigibility;
pub mod interruptibility;
pub mod obedience;
pub mod population;
pub mod posg;
pub mod power;

/// Mean and 95% half-width ([`crate::numerics::Estimate::of_sample`]) of a sample, summed in order.
pub(crate) fn mean_ci(x: &[f64]) -> (f64, f64) {
    let e = crate::numerics::Estimate::of_sample(x);
    (e.mean, e.half_width())
}
pub mod apprenticeship;
pub mod assistance;
pub mod calibrate;
pub mod solve;

/// Refuses a job file whose columns are not `want` (the first check of every kind's `check_part`).
pub(crate) fn check_columns(
    t: &crate::experiment::table::Table,
    want: &[&str],
) -> std::result::Result<(), String> {
    if t.columns != want {
        return Err(format!("columns {:?}, not {want:?}", t.columns));
    }
    Ok(())
}

/// The jobs' rows in job order under `columns` (the results of a kind whose job is a slice of them).
pub(crate) fn concatenate(
    parts: Vec<crate::experiment::table::Table>,
    columns: &[&str],
) -> crate::experiment::table::Table {
    let mut t = crate::experiment::table::Table::new(columns);
    for p in parts {
        t.rows.extend(p.rows);
    }
    t
}

/// The results of a kind whose job writes its result row first, then rows of a further table: every job's
/// first row, cut to `columns`.
pub(crate) fn first_rows(
    parts: &[crate::experiment::table::Table],
    columns: &[&str],
) -> crate::experiment::table::Table {
    let mut t = crate::experiment::table::Table::new(columns);
    for p in parts {
        t.push(p.rows[0][..columns.len()].to_vec());
    }
    t
}

/// The further table of such a kind: every job's rows after the first, each its first `keys` cells and its cells
/// from `from` on, under `columns`.
pub(crate) fn further_rows(
    parts: &[crate::experiment::table::Table],
    columns: &[&str],
    keys: usize,
    from: usize,
) -> crate::experiment::table::Table {
    let mut t = crate::experiment::table::Table::new(columns);
    for p in parts {
        for r in &p.rows[1..] {
            let mut row = r[..keys].to_vec();
            row.extend(r[from..].iter().cloned());
            t.push(row);
        }
    }
    t
}
