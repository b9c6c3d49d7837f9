//! The `cirl` command line: one off-switch game, sweeps, and the paper reproductions.

/// mimalloc: the log reader and the sweeps allocate and free small strings from both threads at once, where
/// glibc's allocator spent a fifth of `cirl fit`'s time on a 10⁷-record log (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::json;

use cirl::belief::Prior;
use cirl::error::{Error, Result};
use cirl::experiment::{self, RunOptions, table::fmt_num};
use cirl::human::Human;
use cirl::offswitch;

#[derive(Parser)]
#[command(
    name = "cirl",
    version,
    about = "The games behind human–agent deference: when should an agent defer?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The values of one off-switch game: act, wait (ask the human), or switch off.
    Offswitch {
        /// The robot's belief about the action's utility U: normal:MU,SIGMA | uniform:LO,HI |
        /// discrete:V1@P1,V2@P2,... | two-point:MU,SIGMA | csv:FILE#COLUMN | FILE.toml (mixtures).
        #[arg(long)]
        prior: String,
        /// The human: rational | boltzmann:BETA | p-rational:P | chance:P | error-rates:APPROVE,CATCH.
        #[arg(long)]
        human: String,
        /// The cost of asking the human (≥ 0).
        #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
        cost: f64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Also estimate the values from this many sampled games (Monte Carlo, 95% intervals).
        #[arg(long, allow_hyphen_values = true)]
        mc: Option<u64>,
        /// Seed of the Monte Carlo estimate.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        seed: u64,
    },
    /// Run an experiment of any kind from a TOML config (a sweep, a study, a PO-OSG file, …).
    Run {
        /// The experiment config (see experiments/).
        config: PathBuf,
        /// Output directory (default: runs/NAME, or runs/NAME-shard-K-of-N with --shard).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compute only shard K of N (jobs j with j mod N = K − 1) into --out; combine the N outputs with
        /// `cirl merge`.
        #[arg(long, value_name = "K/N")]
        shard: Option<String>,
        /// Continue a killed run in the same --out: keep its finished jobs, run the rest.
        #[arg(long)]
        resume: bool,
        /// Discard the finished jobs of another (or an unreadable) run found in --out instead of refusing.
        #[arg(long, conflicts_with = "resume")]
        force: bool,
        /// Validate the config and print how it splits into jobs (and shards); write nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        exec: Exec,
    },
    /// Combine the output directories of every shard of a run into the outputs of one unsharded run.
    Merge {
        /// The shards' output directories (all N of them, in any order).
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Output directory (default: runs/NAME).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Skip the plots.
        #[arg(long)]
        no_plots: bool,
    },
    /// Regenerate a paper result (see `cirl list`); `all` runs every one.
    Reproduce {
        name: String,
        /// Output directory (default: runs/NAME).
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        exec: Exec,
    },
    /// Escalation policy for an agent's action classes: act / ask / block / hand over by class and confidence,
    /// risk limits, flip points and the rival policies' figures, with a policy card and exports to Claude Code,
    /// Gemini CLI, Codex and LangChain.
    Calibrate {
        /// The scenario (see experiments/scenarios/).
        scenario: PathBuf,
        /// Output directory for the card, exports and plots (default: runs/calibrate-NAME).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Monte Carlo check: simulate this many actions (0: none).
        #[arg(long, default_value_t = 1_000_000, allow_hyphen_values = true)]
        mc: u64,
        /// Seed of the Monte Carlo check.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        seed: u64,
        /// Print one JSON object (the card) instead of tables.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        exec: Exec,
    },
    /// The runtime gate: answer one tool call at a time from a card's per-action policy (a Claude Code hook, or
    /// JSON lines for SDK adapters), logging every decision; `cirl gate record` adds the human's answer or the
    /// outcome.
    Gate(GateArgs),
    /// Learn the escalation inputs from a decision log: posteriors of each class's bad-action rate, calibration
    /// map and loss tail, of the reviewer's error rates and fatigue, and — from logged choices between offered
    /// options — of a Boltzmann-rational model of the human, with the scenario as the prior.
    Fit {
        /// The decision log: the gate's SQLite file or a JSON Lines file (schema cirl-log/1).
        log: PathBuf,
        /// The scenario the card was calibrated from (its values are the priors).
        #[arg(long)]
        scenario: PathBuf,
        /// Write fit.json into this folder.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the fit as JSON.
        #[arg(long)]
        json: bool,
        /// Seed of the sampler.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Draws kept per chain (two chains; as many again are burn-in).
        #[arg(long, default_value_t = 2000)]
        samples: usize,
        /// Pseudo-calls of the scenario's calibration per confidence bin.
        #[arg(long, default_value_t = 4.0, allow_hyphen_values = true)]
        prior_strength: f64,
        /// Pseudo-answers of the scenario's reviewer.
        #[arg(long, default_value_t = 10.0, allow_hyphen_values = true)]
        reviewer_strength: f64,
        /// With --out: the calls of each class still to come, over which learning pays (default: as many as
        /// the log holds).
        #[arg(long)]
        future_calls: Option<u64>,
        /// Check for drift over windows of this width (e.g. 1d, 12h): each window's posteriors against all
        /// the windows before it.
        #[arg(long)]
        window: Option<String>,
        /// With --out: the re-issued reviewer's form — auto (the scenario's: a Boltzmann reviewer stays one when
        /// the logged choices support it, else error rates), error-rates, or boltzmann (the Boltzmann-rational
        /// chooser of the logged choices between options with values).
        #[arg(long, default_value = "auto")]
        reviewer: String,
    },
    /// Bring decision logs in and out as JSON Lines (schema cirl-log/1: one tool call per line with the human's
    /// answer and its outcome; see the README's "Learning the card from your logs").
    Log {
        #[command(subcommand)]
        action: LogCommand,
    },
    /// Solve a partially observable off-switch game (Garber et al. 2025): the value, an optimal policy pair and
    /// the number of optimal pairs.
    Posg {
        /// The game (kind = "po-osg"; see experiments/reproduce/garber2025/).
        file: PathBuf,
        /// Local search (iterated best responses from random restarts) instead of exact enumeration: for games
        /// too large to enumerate; no optimality guarantee.
        #[arg(long)]
        heuristic: bool,
        /// Restarts of the local search.
        #[arg(long, default_value_t = 64, allow_hyphen_values = true)]
        restarts: usize,
        /// Seed of the local search.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        seed: u64,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// List the built-in reproductions and registered models.
    List,
    /// Solve a registered game (see `cirl list`), a game .toml or a .pomdp file.
    Solve {
        model: String,
        /// exact (generalized backup for coordinated CIRL, else exact VI), naive (exact VI on the coordinator
        /// reduction), pbvi (lower and upper bounds), mdp (state observed: full-information value).
        #[arg(long, default_value_t = cirl::solve::Request::default().solver.to_string())]
        solver: String,
        /// Override a game parameter, e.g. --set discount=0.9 --set two_phase=true (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Discounted infinite-horizon models: stop when the error bound (pbvi: the bound gap) is below this.
        #[arg(long, default_value_t = cirl::solve::Settings::default().tolerance, allow_hyphen_values = true)]
        tolerance: f64,
        /// Also simulate this many episodes of the computed policy (mean return, 95% CI).
        #[arg(long, allow_hyphen_values = true)]
        simulate: Option<u64>,
        /// Seed of the simulation and of PBVI's belief expansion.
        #[arg(long, default_value_t = cirl::solve::Settings::default().seed, allow_hyphen_values = true)]
        seed: u64,
        /// PBVI: number of belief points.
        #[arg(long, default_value_t = cirl::solve::Settings::default().max_beliefs, allow_hyphen_values = true)]
        max_beliefs: usize,
        /// Write the policy (alpha vectors or CIRL plans) as JSON to this file.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Record this many simulated episodes step by step (states, actions, beliefs) in the JSON output.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        histories: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Write a model as a .pomdp file.
    Export {
        model: String,
        out: PathBuf,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
    },
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
struct GateArgs {
    #[command(subcommand)]
    record: Option<GateCommand>,
    /// The card (card.json of cirl calibrate).
    #[arg(long)]
    card: Option<PathBuf>,
    /// claude-hook (a PreToolUse payload on stdin), claude-post-hook (PostToolUse: records approvals) or
    /// jsonl (one request per line).
    #[arg(long, default_value = "claude-hook")]
    format: String,
    /// The decision log (SQLite; default: decisions.sqlite beside the card).
    #[arg(long)]
    log: Option<PathBuf>,
    /// Do not log decisions.
    #[arg(long, conflicts_with = "log")]
    no_log: bool,
    /// A command that prints the call's confidence (run with the payload on stdin).
    #[arg(long)]
    verifier: Option<String>,
    /// How long the verifier may take, in milliseconds.
    #[arg(long, default_value_t = 2000, allow_hyphen_values = true)]
    verifier_timeout_ms: u64,
}

#[derive(Subcommand)]
enum GateCommand {
    /// Record the human's answer to a logged decision, or what came of it.
    Record {
        /// The decision log.
        #[arg(long)]
        log: PathBuf,
        /// The decision's id (printed by the gate).
        #[arg(long, conflicts_with = "tool_use_id", allow_hyphen_values = true)]
        id: Option<i64>,
        /// Or the runtime's tool-use id of the call.
        #[arg(long)]
        tool_use_id: Option<String>,
        /// approve | reject | edit | timeout.
        #[arg(long)]
        answer: Option<String>,
        /// fine | undone | incident.
        #[arg(long, conflicts_with = "answer")]
        outcome: Option<String>,
        /// The undo cost or the incident's severity (scenario units).
        #[arg(long, requires = "outcome", allow_hyphen_values = true)]
        cost: Option<f64>,
        /// A note on the outcome.
        #[arg(long, requires = "outcome")]
        note: Option<String>,
        /// The options the human was offered, as the log's JSON list ([{"label": "run", "value": 2}, …] or
        /// with "features"); with --chosen.
        #[arg(long, requires = "chosen", conflicts_with_all = ["answer", "outcome"])]
        options: Option<String>,
        /// The label of the option the human chose.
        #[arg(long, requires = "options")]
        chosen: Option<String>,
    },
}

#[derive(Subcommand)]
enum LogCommand {
    /// Import a JSON Lines file into a decision log (created if needed): every line is checked before anything is
    /// written, then the new calls are written in one transaction; repeated and already-logged calls are skipped.
    Import {
        /// The JSON Lines file.
        file: PathBuf,
        /// The decision log (SQLite).
        #[arg(long)]
        log: PathBuf,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Export a decision log as JSON Lines, every call in time order with its latest answer and outcome.
    Export {
        /// The decision log (SQLite).
        #[arg(long)]
        log: PathBuf,
        /// The file to write (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct Exec {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, allow_hyphen_values = true)]
    threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Skip the plots.
    #[arg(long)]
    no_plots: bool,
}

fn main() -> ExitCode {
    // Like other Unix tools, end quietly when the reader of stdout goes away (`cirl … | head`) instead of
    // panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    match dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(if e.is_input_error() { 2 } else { 1 })
        }
    }
}

/// Help and version go to stdout (exit 0); a usage error is one line on stderr with the flag and a hint
/// (exit 2), not clap's several lines of usage.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind::*;
    match e.kind() {
        DisplayHelp | DisplayVersion | DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return ExitCode::from(if e.kind() == DisplayHelpOnMissingArgumentOrSubcommand {
                2
            } else {
                0
            });
        }
        _ => {}
    }
    let text = e.render().to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    // "the following required arguments were not provided:" names them on the next line.
    if first.ends_with(':')
        && let Some(next) = lines.next()
    {
        first = format!("{first} {next}");
    }
    let tip = text
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("tip:"))
        .map(|t| format!("; {}", t.trim_start_matches("tip:").trim()))
        .unwrap_or_default();
    eprintln!(
        "error: {}{tip} (see cirl --help)",
        cirl::error::one_line(&first)
    );
    ExitCode::from(2)
}

fn dispatch(cmd: Command) -> Result<()> {
    match cmd {
        Command::Offswitch {
            prior,
            human,
            cost,
            json,
            mc,
            seed,
        } => offswitch_cmd(&prior, &human, cost, json, mc, seed),
        Command::Run {
            config,
            out,
            shard,
            resume,
            force,
            dry_run,
            exec,
        } => {
            threads(&exec)?;
            let shard = shard
                .as_deref()
                .map(experiment::shard::Shard::parse)
                .transpose()?;
            let cfg = experiment::load(&config)?;
            if dry_run {
                let plan = experiment::shard::Plan::new(&cfg)?;
                if !exec.no_plots {
                    experiment::check_plots(&cfg, &plan)?;
                }
                let jobs = plan.jobs();
                let sh = shard.unwrap_or(experiment::shard::Shard::WHOLE);
                println!(
                    "{}: valid; {jobs} jobs, {} in shard {sh}",
                    cfg.name,
                    sh.jobs(jobs).count()
                );
                return Ok(());
            }
            if let Some(sh) = shard {
                let out = out.unwrap_or_else(|| {
                    Path::new("runs")
                        .join(format!("{}-shard-{}-of-{}", cfg.name, sh.index, sh.count))
                });
                let p = experiment::shard::execute(&cfg, &out, sh, resume, !exec.quiet, force)?;
                println!(
                    "{} shard {sh}: {} jobs ({} run now, {} reused) -> {}",
                    cfg.name,
                    p.owned,
                    p.ran,
                    p.reused,
                    out.display()
                );
                return Ok(());
            }
            let out = out.unwrap_or_else(|| Path::new("runs").join(&cfg.name));
            run_one(&cfg, &out, &exec, resume, force)
        }
        Command::Merge {
            dirs,
            out,
            no_plots,
        } => {
            let opts = RunOptions {
                progress: false,
                no_plots,
                resume: false,
                force: false,
            };
            // The default output is named after the run; a missing manifest is reported by the merge.
            let name = experiment::shard::read_manifest(&dirs[0])?.map(|m| m.name);
            let out = out.unwrap_or_else(|| Path::new("runs").join(name.unwrap_or_default()));
            let (cfg, o) = experiment::merge(&dirs, &out, &opts)?;
            report_run(&cfg, &o, &out)
        }
        Command::Reproduce { name, out, exec } => {
            threads(&exec)?;
            let names: Vec<&str> = if name == "all" {
                experiment::REPRODUCTIONS.iter().map(|r| r.name).collect()
            } else {
                vec![name.as_str()]
            };
            for n in names {
                let dir = match (&out, name == "all") {
                    (Some(o), true) => o.join(n),
                    (Some(o), false) => o.clone(),
                    (None, _) => Path::new("runs").join(n),
                };
                run_one(&experiment::reproduction(n)?, &dir, &exec, false, false)?;
            }
            Ok(())
        }
        Command::Calibrate {
            scenario,
            out,
            mc,
            seed,
            json,
            exec,
        } => {
            threads(&exec)?;
            calibrate_cmd(&scenario, out, mc, seed, exec.no_plots, json)
        }
        Command::Posg {
            file,
            heuristic,
            restarts,
            seed,
            json,
        } => posg_cmd(&file, heuristic, restarts, seed, json),
        Command::Gate(g) => gate_cmd(g),
        Command::Log { action } => log_cmd(action),
        Command::Fit {
            log,
            scenario,
            out,
            json,
            seed,
            samples,
            prior_strength,
            reviewer_strength,
            window,
            future_calls,
            reviewer,
        } => fit_cmd(
            &log,
            &scenario,
            {
                let form = cirl::escalation::reissue::ReviewerForm::parse(&reviewer, "--reviewer")?;
                out.as_deref().map(|o| (o, form))
            },
            json,
            window.as_deref(),
            future_calls,
            cirl::escalation::fit::Settings {
                prior_strength,
                reviewer_strength,
                samples,
                seed,
            },
        ),
        Command::List => {
            println!("reproductions (cirl reproduce NAME):");
            for name in experiment::REPRODUCTIONS.iter().map(|b| b.name) {
                let cfg = experiment::reproduction(name)?;
                println!("  {name:<22} {}", cfg.title);
            }
            println!("models (cirl solve NAME):");
            for (name, about, _) in cirl::games::REGISTERED {
                println!("  {name:<22} {about}");
            }
            Ok(())
        }
        Command::Solve {
            model,
            solver,
            sets,
            tolerance,
            simulate,
            seed,
            max_beliefs,
            policy,
            histories,
            json,
        } => {
            let req = cirl::solve::Request {
                solver: cirl::solve::Solver::parse(&solver)?,
                settings: cirl::solve::Settings {
                    tolerance,
                    max_beliefs,
                    seed,
                },
                simulate,
                histories,
            };
            solve_cmd(&model, &req, &sets, policy.as_deref(), json)
        }
        Command::Export { model, out, sets } => {
            let sets = sets
                .iter()
                .map(|s| cirl::games::parse_set(s))
                .collect::<Result<Vec<_>>>()?;
            let m = cirl::games::load(&model, &sets)?.to_tabular()?;
            cirl::model::pomdp_format::write_file(&m, &out)?;
            println!("{} -> {}", m.name, out.display());
            Ok(())
        }
    }
}

fn threads(exec: &Exec) -> Result<()> {
    if let Some(n) = exec.threads {
        if n == 0 {
            return Err(Error::invalid(
                "--threads",
                "must be at least 1 (omit it to use all cores)",
            ));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::invalid("--threads", e.to_string()))?;
    }
    Ok(())
}

/// Prints the checks and files of a run; fails (exit 1) if a check failed.
fn report_checks(
    checks: &[(String, bool, String)],
    files: &[std::path::PathBuf],
    out: &Path,
) -> Result<()> {
    let mut failed = 0;
    for (claim, ok, detail) in checks {
        println!(
            "  [{}] {claim}: {detail}",
            if *ok { "pass" } else { "FAIL" }
        );
        failed += !ok as usize;
    }
    for f in files {
        println!("  {}", f.display());
    }
    if failed > 0 {
        return Err(Error::Check {
            path: out.display().to_string(),
            message: format!("{failed} check(s) against the paper failed; see summary.md"),
        });
    }
    Ok(())
}

fn run_one(
    cfg: &experiment::config::Config,
    out: &Path,
    exec: &Exec,
    resume: bool,
    force: bool,
) -> Result<()> {
    let opts = RunOptions {
        progress: !exec.quiet,
        no_plots: exec.no_plots,
        resume,
        force,
    };
    let o = experiment::run(cfg, out, &opts)?;
    report_run(cfg, &o, out)
}

fn report_run(cfg: &experiment::config::Config, o: &experiment::Outcome, out: &Path) -> Result<()> {
    let reused = if o.jobs_reused > 0 {
        format!(
            " ({} of {} jobs reused)",
            o.jobs_reused,
            o.jobs_reused + o.jobs_run
        )
    } else {
        String::new()
    };
    println!(
        "{}: {} rows in {:.2} s{reused} -> {}",
        cfg.name,
        o.rows,
        o.seconds,
        out.display()
    );
    if let Some(f) = &o.frontier {
        let roots = (0..f.rows.len())
            .filter(|&i| f.text(i, "kind") == "root")
            .count();
        println!(
            "  frontier: {roots} roots, {} tie stretches",
            f.rows.len() - roots
        );
    }
    report_checks(&o.checks, &o.files, out)
}

fn offswitch_cmd(
    prior: &str,
    human: &str,
    cost: f64,
    json: bool,
    mc: Option<u64>,
    seed: u64,
) -> Result<()> {
    let prior = Prior::parse(prior).map_err(|e| rename(e, "--prior"))?;
    let human = Human::parse(human).map_err(|e| rename(e, "--human"))?;
    let v = offswitch::values(&prior, &human, cost).map_err(|e| rename(e, "--cost"))?;
    let mcv = match mc {
        Some(0) => {
            return Err(Error::invalid(
                "--mc",
                "the number of sampled games must be at least 1",
            ));
        }
        Some(n) => {
            cirl::limits::check_count(
                "--mc",
                n,
                cirl::limits::MAX_OFFSWITCH_MC,
                "sampled games",
                cirl::limits::SPLIT_BY_SEEDS,
            )?;
            Some(offswitch::monte_carlo_par(&prior, &human, cost, n, seed))
        }
        None => None,
    };
    if json {
        let mut o = json!({
            "prior": prior.label(),
            "human": cirl::human::ResponseModel::label(&human),
            "cost": cost,
            "v_act": v.v_act,
            "v_wait": v.v_wait,
            "v_off": v.v_off,
            "delta": v.delta,
            "decision": v.decision.as_str(),
            "tie": v.tie,
            "tied": v.tied.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            "tie_tol": v.tie_tol,
            "p_allow": v.p_allow,
            "method": v.method,
        });
        if let Some(t) = &v.theorem2 {
            o["e_pi"] = json!(t.e_pi);
            o["e_pi_dot"] = json!(t.e_pi_dot);
            o["pr_correction"] = json!(t.pr_correction);
            o["theorem2_delta"] = json!(t.delta);
        }
        if let Human::PRational { p } = human {
            let a = offswitch::prational::analyse(&prior, cost);
            o["p_star"] = json!(a.p_star);
            o["p_star_vs_act"] = json!(a.p_star_vs_act);
            o["p_star_vs_off"] = json!(a.p_star_vs_off);
            o["theorem9"] = json!({
                "p_plus": a.p_plus, "p_minus": a.p_minus, "e_plus": a.e_plus, "e_minus": a.e_minus,
                "e_u_act": a.e_u_act(), "e_u_wait": a.e_u_wait(p),
            });
        }
        if let Some(m) = &mcv {
            o["monte_carlo"] = serde_json::to_value(m).expect("serializable");
        }
        println!(
            "{}",
            serde_json::to_string_pretty(&o).expect("serializable")
        );
        return Ok(());
    }
    println!("prior  {}", prior.label());
    println!("human  {}", cirl::human::ResponseModel::label(&human));
    println!("cost   {}", fmt_num(cost));
    println!();
    println!("{:<10} {:>14}", "move", "value");
    println!("{:<10} {:>14}", "act", fmt_num(v.v_act));
    println!("{:<10} {:>14}", "wait", fmt_num(v.v_wait));
    println!("{:<10} {:>14}", "off", fmt_num(v.v_off));
    println!();
    println!("Δ = v_wait − max(v_act, v_off) = {}", fmt_num(v.delta));
    let tie = if v.tie {
        format!(
            " (tie within {}: {})",
            fmt_num(v.tie_tol),
            v.tied
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    } else {
        String::new()
    };
    println!("decision: {}{tie}", v.decision.as_str());
    if let Human::PRational { .. } = human {
        let a = offswitch::prational::analyse(&prior, cost);
        if let Some(ps) = a.p_star {
            println!(
                "p-rational human: waiting is optimal iff p ≥ p* = {} (Wängberg et al. 2017, Theorem 9: p⁺ = {}, e⁺ = {}, e⁻ = {})",
                fmt_num(ps),
                fmt_num(a.p_plus),
                fmt_num(a.e_plus),
                fmt_num(a.e_minus)
            );
        }
    }
    println!("P(human allows) = {}", fmt_num(v.p_allow));
    if let Some(t) = &v.theorem2 {
        let d = t
            .e_pi_dot
            .map_or("undefined (point mass at a jump)".into(), fmt_num);
        println!(
            "Theorem 2: E[πH] = {}, E[π̇H] = {d}, Pr(C) = {}",
            fmt_num(t.e_pi),
            fmt_num(t.pr_correction)
        );
    }
    println!("method: {}", v.method);
    if let Some(m) = &mcv {
        println!();
        println!("Monte Carlo, {} games (95% intervals):", m.games);
        for (name, e) in [
            ("v_act", m.v_act),
            ("v_wait", m.v_wait),
            ("delta", m.delta),
            ("p_allow", m.p_allow),
        ] {
            println!(
                "  {name:<8} {} [{}, {}]",
                fmt_num(e.mean),
                fmt_num(e.ci_low),
                fmt_num(e.ci_high)
            );
        }
    }
    Ok(())
}

fn solve_cmd(
    model: &str,
    req: &cirl::solve::Request,
    sets: &[String],
    policy: Option<&std::path::Path>,
    json: bool,
) -> Result<()> {
    let sets = sets
        .iter()
        .map(|s| cirl::games::parse_set(s))
        .collect::<Result<Vec<_>>>()?;
    let m = cirl::games::load(model, &sets)?;
    let r = cirl::solve::run(&m, req)?;
    for n in &r.notes {
        eprintln!("warning: {n}");
    }
    if let Some(path) = policy {
        cirl::solve::write_policy(&r, path)?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&r).expect("serializable")
        );
        return Ok(());
    }
    println!("model    {}", r.model);
    if let Some(g) = &r.game {
        println!(
            "game     {} states, {} human actions, {} robot actions, |Θ| = {}; reduction: {} states, {} actions, {} observations",
            g.states,
            g.human_actions,
            g.robot_actions,
            g.thetas,
            g.reduction.states,
            g.reduction.actions,
            g.reduction.observations
        );
    }
    if let (Some(s), Some(a), Some(o)) = (r.pomdp_states, r.pomdp_actions, r.pomdp_observations) {
        println!("pomdp    {s} states, {a} actions, {o} observations");
    }
    let horizon = r.horizon.map_or("infinite".to_string(), |h| h.to_string());
    println!("discount {}   horizon {horizon}", r.discount);
    println!(
        "solver   {}: {}; {} iterations, {} vectors, {:.3} s",
        r.solver, r.method, r.iterations, r.vectors, r.seconds
    );
    let first = if r.initial_action.is_empty() {
        String::new()
    } else {
        format!("   first action: {}", r.initial_action)
    };
    match (r.lower, r.upper) {
        (Some(lo), Some(up)) => {
            println!("value    in [{}, {}]{first}", fmt_num(lo), fmt_num(up))
        }
        _ => println!(
            "value    {} (± {:.1e}){first}",
            fmt_num(r.value),
            r.error_bound
        ),
    }
    if let Some(s) = &r.simulation {
        println!(
            "simulated {} episodes × {} steps: {} [{}, {}]",
            s.episodes,
            s.steps,
            fmt_num(s.mean),
            fmt_num(s.ci_low),
            fmt_num(s.ci_high)
        );
    }
    if let Some(p) = policy {
        println!("policy   {}", p.display());
    }
    Ok(())
}

fn rename(e: Error, flag: &str) -> Error {
    match e {
        Error::Invalid { field, message } => Error::invalid(format!("{flag} ({field})"), message),
        e => e,
    }
}

fn calibrate_cmd(
    path: &Path,
    out: Option<PathBuf>,
    mc: u64,
    seed: u64,
    no_plots: bool,
    json: bool,
) -> Result<()> {
    use cirl::escalation::{self, card, scenario::Scenario};
    cirl::limits::check_count(
        "--mc",
        mc,
        cirl::limits::MAX_CALIBRATE_MC,
        "simulated actions",
        "ask for fewer (10^6 gives intervals of about ±0.1% of a class's value)",
    )?;
    let s = Scenario::load(path)?;
    let mut c = escalation::calibrate(
        &s,
        &escalation::Options {
            mc_actions: mc,
            seed,
        },
    )?;
    // `--json` alone prints the card and writes nothing; with --out (or without --json) the card, its exports
    // and the plots go to the output directory.
    let dir = match (&out, json) {
        (Some(d), _) => Some(d.clone()),
        (None, true) => None,
        (None, false) => Some(Path::new("runs").join(format!("calibrate-{}", card::slug(&s.name)))),
    };
    let mut files = Vec::new();
    if let Some(dir) = &dir {
        let _lock = experiment::outdir::lock(dir)?;
        if !no_plots {
            let (f, notes) = escalation::plot_all(&s, &c, dir)?;
            files.extend(f);
            c.plot_notes = notes;
        }
        files.extend(card::write(&c, dir)?);
        experiment::outdir::record(dir, &files)?;
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&c).expect("serializable")
        );
        return Ok(());
    }
    print!("{}", card::console(&c));
    if let Some(dir) = dir {
        println!();
        println!("wrote {} files to {}", files.len(), dir.display());
    }
    Ok(())
}

fn fit_cmd(
    log: &Path,
    scenario: &Path,
    out: Option<(&Path, cirl::escalation::reissue::ReviewerForm)>,
    json: bool,
    window: Option<&str>,
    future_calls: Option<u64>,
    settings: cirl::escalation::fit::Settings,
) -> Result<()> {
    use cirl::escalation::{fit, scenario::Scenario};
    let s = Scenario::load(scenario)?;
    cirl::input::check_regular(log, cirl::escalation::records::MAX_LOG_BYTES, "LOG")?;
    settings.check()?;
    let window = window.map(fit::parse_window).transpose()?;
    let data = fit::Data::read(log, window)?;
    let mut f = fit::fit(&s, &data, &settings)?;
    f.drift = fit::drift(&s, &data, &settings)?;
    let text = serde_json::to_string_pretty(&f).expect("serializable") + "\n";
    let mut diff = None;
    if let Some((dir, form)) = out {
        use cirl::escalation::{self, card, reissue};
        let _lock = experiment::outdir::lock(dir)?;
        let original = cirl::input::read_text(scenario, cirl::input::MAX_TOML_BYTES, "--scenario")?;
        let new_text = reissue::scenario_text(
            &original,
            &s,
            &f,
            &log.display().to_string(),
            settings.seed,
            form,
        )?;
        let new = Scenario::parse(&new_text, "the re-issued scenario")?;
        let opts = escalation::Options {
            mc_actions: 0,
            seed: settings.seed,
        };
        let before = escalation::calibrate(&s, &opts)?;
        let after = escalation::calibrate(&new, &opts)?;
        let mut d = reissue::diff(&before, &after, &f);
        for (k, cf) in f.classes.iter().enumerate() {
            if cf.labelled > 0 {
                let future = future_calls.unwrap_or(cf.calls);
                d.voi
                    .push(escalation::voi::voi(&new, k, &f, future, settings.seed)?);
            }
        }
        let mut files = vec![dir.join("fit.json"), dir.join("scenario.toml")];
        cirl::output::write_atomic(&files[0], text.as_bytes())?;
        cirl::output::write_atomic(&files[1], new_text.as_bytes())?;
        files.extend(card::write(&after, &dir.join("card"))?);
        let p = dir.join("diff.json");
        cirl::output::write_atomic(
            &p,
            (serde_json::to_string_pretty(&d).expect("serializable") + "\n").as_bytes(),
        )?;
        files.push(p);
        let p = dir.join("diff.md");
        cirl::output::write_atomic(&p, reissue::markdown(&d, &s.units).as_bytes())?;
        files.push(p);
        experiment::outdir::record(dir, &files)?;
        diff = Some(d);
    }
    if json {
        print!("{text}");
        return Ok(());
    }
    let e = |x: &fit::Estimate| format!("{:.4} [{:.4}, {:.4}]", x.mean, x.lo, x.hi);
    println!(
        "{}: {} records ({} repeated, {} unclassified) against scenario {}",
        log.display(),
        f.records,
        f.duplicates,
        f.unclassified,
        f.scenario
    );
    println!(
        "{:<22} {:>9} {:>8} {:>9}  {:<8} {:<30} mean loss of a bad call (median, 90%)",
        "class", "calls", "asked", "outcomes", "prior", "P(bad), 90% interval"
    );
    for c in &f.classes {
        println!(
            "{:<22} {:>9} {:>8} {:>9}  {:<8.4} {:<30} {:.3} [{:.3}, {:.3}] from {} losses",
            c.name,
            c.calls,
            c.asked,
            c.labelled,
            c.p_bad.prior,
            e(&c.p_bad),
            c.tail.mean_loss.median,
            c.tail.mean_loss.lo,
            c.tail.mean_loss.hi,
            c.tail.losses
        );
    }
    println!(
        "reviewer: P(approve | good) {} (prior {:.3}); P(reject | bad) {} (prior {:.3})",
        e(&f.reviewer.approve_good),
        f.reviewer.approve_good.prior,
        e(&f.reviewer.catch_bad),
        f.reviewer.catch_bad.prior
    );
    for n in &f.notes {
        println!("note: {n}");
    }
    if !f.drift.is_empty() {
        let flagged: Vec<&fit::Window> = f.drift.iter().filter(|w| !w.flags.is_empty()).collect();
        println!(
            "drift: {} windows, {} with a posterior outside the earlier windows'",
            f.drift.len(),
            flagged.len()
        );
        for w in flagged {
            for fl in &w.flags {
                println!(
                    "  {} ({} calls): {} {:.4} [{:.4}, {:.4}], before {:.4} [{:.4}, {:.4}]",
                    w.start,
                    w.calls,
                    fl.what,
                    fl.window.mean,
                    fl.window.lo,
                    fl.window.hi,
                    fl.before.mean,
                    fl.before.lo,
                    fl.before.hi
                );
            }
        }
    }
    if let (Some((dir, _)), Some(d)) = (out, diff) {
        for c in d.classes.iter().filter(|c| c.decision_changed) {
            println!(
                "changed: {}: {} -> {} (P(bad) {:.4} -> {:.4})",
                c.name, c.move_before, c.move_after, c.p_bad_before, c.p_bad_after
            );
        }
        for v in &d.voi {
            for (path, p) in [
                ("per-action policy", &v.per_action),
                ("static rules", &v.static_rules),
            ] {
                if p.explore > 0 {
                    println!(
                        "learn: {}: ask its next {} calls ({path}: EVPI {:.3e} per call, P(regret > 1% of an ask) {:.2})",
                        v.class, p.explore, p.evpi, p.p_regret
                    );
                }
            }
        }
        println!(
            "per-action policy: {:.4} per action under the new scenario (was {:.4}); wrote fit.json, scenario.toml, card/, diff.md to {}",
            d.value_after,
            d.value_before,
            dir.display()
        );
    }
    Ok(())
}

fn log_cmd(action: LogCommand) -> Result<()> {
    use cirl::escalation::{log::Log, records};
    match action {
        LogCommand::Import { file, log, json } => {
            let n = records::import(&log, &file)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&n).expect("serializable")
                );
            } else {
                println!(
                    "{}: {} calls added, {} repeated in the file, {} already in the log -> {}",
                    file.display(),
                    n.added,
                    n.duplicates,
                    n.present,
                    log.display()
                );
            }
            Ok(())
        }
        LogCommand::Export { log, out } => {
            if !log.is_file() {
                return Err(Error::invalid(
                    "--log",
                    format!("no decision log at {}", log.display()),
                ));
            }
            let l = Log::open(&log)?;
            match out {
                Some(path) => {
                    let mut f = experiment::collect::AtomicFile::create(&path)?;
                    let n = records::export(&l, &mut f)?;
                    f.commit()?;
                    eprintln!("{n} calls -> {}", path.display());
                }
                None => {
                    let stdout = std::io::stdout();
                    let mut w = std::io::BufWriter::new(stdout.lock());
                    records::export(&l, &mut w)?;
                    std::io::Write::flush(&mut w).map_err(|source| Error::Io {
                        path: "stdout".into(),
                        source,
                    })?;
                }
            }
            Ok(())
        }
    }
}

fn gate_cmd(g: GateArgs) -> Result<()> {
    use cirl::escalation::{gate, log::Log};
    use std::io::{Read, Write};
    if let Some(GateCommand::Record {
        log,
        id,
        tool_use_id,
        answer,
        outcome,
        cost,
        note,
        options,
        chosen,
    }) = g.record
    {
        if !log.exists() {
            return Err(Error::invalid(
                "--log",
                format!("no decision log at {}", log.display()),
            ));
        }
        let l = Log::open(&log)?;
        let id = match (id, tool_use_id) {
            (Some(i), _) => i,
            (None, Some(t)) => {
                l.find_tool_use(&t)?
                    .ok_or_else(|| {
                        Error::invalid("--tool-use-id", format!("no decision for tool use {t}"))
                    })?
                    .0
            }
            (None, None) => {
                return Err(Error::invalid(
                    "--id",
                    "say which decision: --id N or --tool-use-id ID",
                ));
            }
        };
        let row = match (answer, outcome, options.zip(chosen)) {
            (Some(a), None, None) => l.record_answer(id, &a)?,
            (None, Some(o), None) => l.record_outcome(id, &o, cost, note.as_deref())?,
            (None, None, Some((o, c))) => l.record_choice(id, &o, &c)?,
            _ => {
                return Err(Error::invalid(
                    "--answer",
                    "give --answer approve|reject|edit|timeout, --outcome fine|undone|incident, or --options JSON --chosen LABEL",
                ));
            }
        };
        println!("{row}");
        return Ok(());
    }
    let card = g.card.ok_or_else(|| {
        Error::invalid(
            "--card",
            "give the card: cirl gate --card runs/calibrate-NAME/card.json",
        )
    })?;
    let log_path = match (g.log, g.no_log) {
        (_, true) => None,
        (Some(p), _) => Some(p),
        (None, false) => Some(card.with_file_name("decisions.sqlite")),
    };
    let opts = gate::RunOptions {
        verifier: g.verifier,
        verifier_timeout_ms: g.verifier_timeout_ms,
    };
    let stdin = std::io::stdin();
    match g.format.as_str() {
        "claude-hook" | "claude-post-hook" => {
            let mut payload = String::new();
            stdin
                .lock()
                .take(gate::MAX_REQUEST_BYTES as u64 + 1)
                .read_to_string(&mut payload)
                .map_err(|e| Error::invalid("payload", format!("stdin is not UTF-8 text: {e}")))?;
            if g.format == "claude-post-hook" {
                let Some(p) = &log_path else {
                    return Err(Error::invalid(
                        "--no-log",
                        "the post hook only records into the log",
                    ));
                };
                return gate::claude_post_hook(&payload, &Log::open(p)?);
            }
            let gt = gate::Gate::load(&card)?;
            let log = log_path.as_deref().map(Log::open).transpose()?;
            let out = gate::claude_hook(&gt, &payload, log.as_ref(), &opts)?;
            let mut so = std::io::stdout().lock();
            so.write_all(out.as_bytes())
                .and_then(|_| so.flush())
                .map_err(|source| Error::Io {
                    path: "stdout".into(),
                    source,
                })
        }
        "jsonl" => {
            let gt = gate::Gate::load(&card)?;
            let log = log_path.as_deref().map(Log::open).transpose()?;
            let bad = gate::jsonl(
                &gt,
                stdin.lock(),
                std::io::stdout().lock(),
                log.as_ref(),
                &opts,
            )?;
            if bad > 0 {
                return Err(Error::invalid(
                    "request",
                    format!("{bad} line(s) were not valid requests (each got an error object)"),
                ));
            }
            Ok(())
        }
        other => Err(Error::invalid(
            "--format",
            format!("'{other}': use claude-hook, claude-post-hook or jsonl"),
        )),
    }
}

fn posg_cmd(path: &Path, heuristic: bool, restarts: usize, seed: u64, json: bool) -> Result<()> {
    use cirl::model::posg::Posg;
    use cirl::solvers::posg::{self, AMove, Response};
    let g = Posg::load(path)?;
    let start = std::time::Instant::now();
    let sol = if heuristic {
        posg::local_search(&g, restarts, seed)?
    } else {
        posg::solve(&g)?
    };
    let seconds = start.elapsed().as_secs_f64();
    let mv = |m: AMove| match m {
        AMove::Act => "act",
        AMove::Wait => "wait",
        AMove::Off => "off",
    };
    let resp = |r: Response| match r {
        Response::On => "on",
        Response::Off => "off",
        Response::Either => "either",
    };
    // Policies keyed by observation label (and message where there is talk).
    let assistant: serde_json::Map<String, serde_json::Value> = g
        .obs_a_labels
        .iter()
        .enumerate()
        .map(|(o, l)| {
            let v = if g.messages_h == 1 && g.messages_a == 1 {
                json!(mv(sol.assistant.action[o][0]))
            } else {
                json!({
                    "message": sol.assistant.message[o],
                    "action_by_human_message": sol.assistant.action[o].iter().map(|m| mv(*m)).collect::<Vec<_>>(),
                })
            };
            (l.clone(), v)
        })
        .collect();
    let human: serde_json::Map<String, serde_json::Value> = g
        .obs_h_labels
        .iter()
        .enumerate()
        .map(|(o, l)| {
            let v = if g.messages_h == 1 && g.messages_a == 1 {
                json!(resp(sol.human.response[o][0]))
            } else {
                json!({
                    "message": sol.human.message[o],
                    "response_by_assistant_message": sol.human.response[o].iter().map(|r| resp(*r)).collect::<Vec<_>>(),
                })
            };
            (l.clone(), v)
        })
        .collect();
    if json {
        let out = json!({
            "game": g.name,
            "human_kind": g.human,
            "messages_h": g.messages_h,
            "messages_a": g.messages_a,
            "value": sol.value,
            "assistant": assistant,
            "human": human,
            "optimal_pairs": sol.optimal_pairs,
            "optimal_assistant_policies": sol.optimal_assistant_policies,
            "p_wait": sol.p_wait,
            "p_wait_min": sol.p_wait_min,
            "p_wait_max": sol.p_wait_max,
            "always_wait_value": sol.always_wait_value,
            "full_information_value": sol.full_information_value,
            "method": sol.method,
            "evaluated": sol.evaluated,
            "tie_tol": sol.tie_tol,
            "seconds": seconds,
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&out).expect("serializable")
        );
        return Ok(());
    }
    println!(
        "game     {} ({} states, {} human and {} assistant observations, messages {} × {})",
        g.name,
        g.n_states(),
        g.n_obs_h(),
        g.n_obs_a(),
        g.messages_h,
        g.messages_a
    );
    println!(
        "method   {} ({} assistant policies, {:.3} s)",
        sol.method, sol.evaluated, seconds
    );
    println!("value    {}", fmt_num(sol.value));
    if let Some(v) = sol.always_wait_value {
        println!(
            "         always waiting: {}; human knows the state: {}",
            fmt_num(v),
            fmt_num(sol.full_information_value)
        );
    }
    match (sol.optimal_pairs, sol.p_wait_min, sol.p_wait_max) {
        (Some(n), Some(lo), Some(hi)) => println!(
            "optimal  {n} pairs ({} assistant policies); P(wait) from {} to {} across them",
            sol.optimal_assistant_policies.unwrap_or(0),
            fmt_num(lo),
            fmt_num(hi)
        ),
        _ => println!("optimal  unknown (heuristic)"),
    }
    println!(
        "assistant (the most deferential optimal pair; P(wait) = {}):",
        fmt_num(sol.p_wait)
    );
    for (k, v) in &assistant {
        println!("  {k:<12} {v}");
    }
    println!("human:");
    for (k, v) in &human {
        println!("  {k:<12} {v}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// The argument definitions are consistent (clap's own checks: no clashing flags, valid defaults, …).
    #[test]
    fn verify_cli() {
        super::Cli::command().debug_assert();
    }
}
