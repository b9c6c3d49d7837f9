//! Conformance: every registered game, solver, experiment kind and scenario goes through the same checks, so a
//! new entry is tested the moment it is registered.
//!
//! - games × solvers: the model checks, every solver solves it, the bounds bracket the exact value and the
//!   full-information value bounds it from above, a simulation of the exact policy agrees with its value, and
//!   the `.pomdp` export reads back to a model of the same value;
//! - experiment kinds: every kind has a config under experiments/, and for every config there the plan lays it
//!   out, job 0 runs and its output is accepted as job 0 (also after a CSV round trip, as the journal stores it);
//! - scenarios: every escalation scenario under experiments/ calibrates, and its card loads in the gate.

use std::path::{Path, PathBuf};

use cirl::experiment::config::{self, Kind};
use cirl::output::table::Table;
use cirl::solve::{Request, Solver};

mod common;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn configs() -> Vec<PathBuf> {
    common::experiment_configs()
}

#[test]
fn every_game_with_every_solver() {
    for (name, _, _) in cirl::games::REGISTERED {
        let m = cirl::games::load(name, &[]).unwrap();
        m.check().unwrap();
        let solve = |solver: Solver, simulate: Option<u64>| {
            let req = Request {
                solver,
                simulate,
                ..Request::default()
            };
            cirl::solve::run(&m, &req)
        };
        let exact = solve(Solver::Exact, Some(4000))
            .unwrap_or_else(|e| panic!("{name}: the exact solver fails: {e}"));
        let tol = 1e-4 * exact.value.abs().max(1.0);
        assert!(exact.value.is_finite() && exact.tolerance_met, "{name}");
        for solver in Solver::ALL {
            // A solver may refuse a game it cannot handle, with one line saying why and what to use.
            let r = match solve(solver, None) {
                Ok(r) => r,
                Err(e) => {
                    let msg = e.to_string();
                    assert!(
                        matches!(e, cirl::Error::Invalid { .. }) && !msg.contains('\n'),
                        "{name}, {solver}: {msg}"
                    );
                    continue;
                }
            };
            assert!(r.value.is_finite(), "{name}, {solver}: value {}", r.value);
            if let (Some(lo), Some(hi)) = (r.lower, r.upper) {
                assert!(
                    lo <= exact.value + tol && exact.value <= hi + tol,
                    "{name}, {solver}: [{lo}, {hi}] does not bracket the exact {}",
                    exact.value
                );
            }
            match solver {
                Solver::Mdp => assert!(
                    r.value >= exact.value - tol,
                    "{name}: the full-information value {} is below the exact {}",
                    r.value,
                    exact.value
                ),
                Solver::Naive => assert!(
                    (r.value - exact.value).abs() <= tol,
                    "{name}: naive {} and exact {} differ",
                    r.value,
                    exact.value
                ),
                _ => {}
            }
        }
        // The exact policy, simulated, earns its value (within 5 standard errors and the solver's bound).
        let s = exact.simulation.as_ref().expect("simulated");
        assert!(
            (s.estimate.mean - exact.value).abs()
                <= 5.0 * s.estimate.std_err + exact.error_bound + 1e-9,
            "{name}: simulated {} ± {} against the value {}",
            s.estimate.mean,
            s.estimate.std_err,
            exact.value
        );
        // The .pomdp export (where the flat model is not too large to build) reads back to a model of the same
        // value.
        let Ok(tab) = m.to_tabular() else { continue };
        let text = cirl::model::pomdp_format::write(&tab);
        let back = cirl::model::pomdp_format::parse(&text, name)
            .unwrap_or_else(|e| panic!("{name}: its .pomdp export does not read back: {e}"));
        assert_eq!(back.horizon, tab.horizon, "{name}: the horizon is lost");
        let again = cirl::solve::run(
            &cirl::games::Model::Pomdp(back),
            &Request {
                solver: Solver::Naive,
                ..Request::default()
            },
        )
        .unwrap();
        assert!(
            (again.value - exact.value).abs() <= tol,
            "{name}: the .pomdp export is worth {} where the game is worth {}",
            again.value,
            exact.value
        );
    }
}

#[test]
fn every_experiment_kind_and_config() {
    let mut seen = Vec::new();
    for f in configs() {
        let text = std::fs::read_to_string(&f).unwrap();
        let origin = f.display().to_string();
        let cfg = config::parse(&text, &origin).unwrap_or_else(|e| panic!("{origin}: {e}"));
        let [kind] = cfg.bodies()[..] else {
            panic!("{origin}: not one kind")
        };
        if !seen.contains(&kind) {
            seen.push(kind);
        }
        // The closed loop reads its scenarios relative to the working directory.
        let cwd = std::env::current_dir().unwrap();
        std::env::set_current_dir(root()).unwrap();
        let plan = cirl::experiment::shard::Plan::new(&cfg);
        std::env::set_current_dir(cwd).unwrap();
        let plan = plan.unwrap_or_else(|e| panic!("{origin}: {e}"));
        assert!(plan.jobs() >= 1, "{origin}: no jobs");
        assert!(!plan.key_table().columns.is_empty(), "{origin}: no columns");
        let t = plan
            .run_job(0)
            .unwrap_or_else(|e| panic!("{origin}: job 0: {e}"));
        plan.check_part(0, &t)
            .unwrap_or_else(|e| panic!("{origin}: job 0's own output refused: {e}"));
        let back = Table::from_csv(&t.to_csv(), plan.text_columns())
            .unwrap_or_else(|e| panic!("{origin}: job 0's CSV: {e}"));
        assert_eq!(back.to_csv(), t.to_csv(), "{origin}: CSV round trip");
        plan.check_part(0, &back)
            .unwrap_or_else(|e| panic!("{origin}: job 0 read back refused: {e}"));
        // A job file missing a column is refused (a resume or merge never takes it).
        let mut cut = t.clone();
        cut.columns.pop();
        cut.rows.iter_mut().for_each(|r| {
            r.pop();
        });
        assert!(
            plan.check_part(0, &cut).is_err(),
            "{origin}: job 0's output less a column is accepted"
        );
    }
    for k in Kind::ALL {
        assert!(
            seen.contains(&k),
            "kind {} has no config under experiments/",
            k.name()
        );
    }
}

#[test]
fn every_scenario_calibrates_and_its_card_loads_in_the_gate() {
    let mut n = 0;
    for f in configs() {
        let text = std::fs::read_to_string(&f).unwrap();
        let cfg = config::parse(&text, &f.display().to_string()).unwrap();
        if cfg.calibrate.is_none() {
            continue;
        }
        n += 1;
        let s =
            cirl::escalation::scenario::Scenario::parse(&text, &f.display().to_string()).unwrap();
        let c = cirl::escalation::calibrate(
            &s,
            &cirl::escalation::Options {
                mc_actions: 20_000,
                seed: 1,
            },
        )
        .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let dir = tempfile::tempdir().unwrap();
        cirl::escalation::card::write(&c, dir.path()).unwrap();
        cirl::escalation::gate::Gate::load(&dir.path().join("card.json"))
            .unwrap_or_else(|e| panic!("{}: the gate refuses its card: {e}", f.display()));
        let toml_card = std::fs::read_to_string(dir.path().join("card.toml")).unwrap();
        toml::from_str::<toml::Table>(&toml_card).unwrap();
    }
    assert!(n >= 10, "{n} scenarios");
}
