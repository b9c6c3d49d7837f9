//! The `cirl` command line: it parses the arguments ([`args`]), calls the library and prints the library's report
//! types ([`render`] as text; `--json` is serde of the same types).

/// mimalloc: the log reader and the sweeps allocate and free small strings from both threads at once, where
/// glibc's allocator spent a fifth of `cirl fit`'s time on a 10⁷-record log (BENCHMARKS.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod args;
mod commands;
mod render;

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command, Exec};
use cirl::belief::Prior;
use cirl::error::{Error, Result};
use cirl::experiment::{self, RunOptions};
use cirl::human::Human;
use commands::{calibrate_cmd, fit_cmd, gate_cmd, log_cmd};

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
            format,
            exec,
        } => {
            threads(&exec)?;
            let format = experiment::Format::parse(&format)?;
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
                let p =
                    experiment::shard::execute(&cfg, &out, sh, resume, !exec.quiet, force, format)?;
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
            run_one(&cfg, &out, &exec, resume, force, format)
        }
        Command::Merge {
            dirs,
            out,
            no_plots,
        } => {
            // The format is the shards' own (their manifests say it).
            let opts = RunOptions {
                progress: false,
                no_plots,
                resume: false,
                force: false,
                format: experiment::Format::Csv,
            };
            // The default output is named after the run; a missing manifest is reported by the merge.
            let name = experiment::shard::read_manifest(&dirs[0])?.map(|m| m.name);
            let out = out.unwrap_or_else(|| Path::new("runs").join(name.unwrap_or_default()));
            let (cfg, o) = experiment::merge(&dirs, &out, &opts)?;
            render::run(&cfg, &o, &out)
        }
        Command::Reproduce {
            name,
            out,
            format,
            exec,
        } => {
            threads(&exec)?;
            let format = experiment::Format::parse(&format)?;
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
                run_one(
                    &experiment::reproduction(n)?,
                    &dir,
                    &exec,
                    false,
                    false,
                    format,
                )?;
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
            timeout,
            policy,
            histories,
            theta,
            json,
        } => {
            let req = cirl::solve::Request {
                solver: cirl::solve::Solver::parse(&solver)?,
                settings: cirl::solve::Settings {
                    tolerance,
                    max_beliefs,
                    seed,
                    timeout,
                },
                simulate,
                histories,
                theta,
            };
            solve_cmd(&model, &req, &sets, policy.as_deref(), json)
        }
        Command::Serve {
            bind,
            port,
            threads,
        } => {
            let h = cirl::web::server::start(&cirl::web::server::Options {
                addr: std::net::SocketAddr::new(bind, port),
                threads,
            })?;
            if !bind.is_loopback() {
                eprintln!(
                    "warning: serving on {bind}, reachable from other machines; --bind 127.0.0.1 keeps it local"
                );
            }
            println!("cirl serve: {} (Ctrl-C stops)", h.url());
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            h.wait();
            Ok(())
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

fn run_one(
    cfg: &experiment::config::Config,
    out: &Path,
    exec: &Exec,
    resume: bool,
    force: bool,
    format: experiment::Format,
) -> Result<()> {
    let opts = RunOptions {
        progress: !exec.quiet,
        no_plots: exec.no_plots,
        resume,
        force,
        format,
    };
    let o = experiment::run(cfg, out, &opts)?;
    render::run(cfg, &o, out)
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
    let v = cirl::offswitch::values(&prior, &human, cost).map_err(|e| rename(e, "--cost"))?;
    let r = cirl::offswitch::report::Report::new(&prior, &human, v, mc, seed)?;
    if json {
        return render::json_sorted(&r);
    }
    print!("{}", render::offswitch(&r));
    Ok(())
}

fn solve_cmd(
    model: &str,
    req: &cirl::solve::Request,
    sets: &[String],
    policy: Option<&Path>,
    json: bool,
) -> Result<()> {
    let sets = sets
        .iter()
        .map(|s| cirl::games::parse_set(s))
        .collect::<Result<Vec<_>>>()?;
    let m = cirl::games::load(model, &sets)?;
    if req.solver == cirl::solve::Solver::Sarsop {
        // The first Ctrl-C ends the search and the report follows; a second one ends the process.
        let _ = ctrlc::set_handler(|| {
            use std::sync::atomic::Ordering;
            if cirl::solvers::sarsop::INTERRUPT.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let r = cirl::solve::run(&m, req)?;
    for n in &r.notes {
        eprintln!("warning: {n}");
    }
    if let Some(path) = policy {
        cirl::solve::write_policy(&r, path)?;
    }
    if json {
        return render::json(&r);
    }
    print!("{}", render::solve(&r, policy));
    Ok(())
}

fn posg_cmd(path: &Path, heuristic: bool, restarts: usize, seed: u64, json: bool) -> Result<()> {
    use cirl::solvers::posg::{self, Answer};
    let g = cirl::model::posg::Posg::load(path)?;
    let a = posg::answer(&g, heuristic.then_some((restarts, seed)))?;
    if json {
        return render::json_sorted(&a);
    }
    match &a {
        Answer::Classic(r) => print!("{}", render::posg(r)),
        Answer::Interference(s) => print!("{}", render::interference(&g, s)),
    }
    Ok(())
}

fn rename(e: Error, flag: &str) -> Error {
    match e {
        Error::Invalid { field, message } => Error::invalid(format!("{flag} ({field})"), message),
        e => e,
    }
}
