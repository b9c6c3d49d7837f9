//! The escalation commands (`calibrate`, `fit`, `log`, `gate`): each loads its input, calls the library and
//! prints or writes the library's types.

use std::path::{Path, PathBuf};

use cirl::error::{Error, Result};
use cirl::experiment;

use crate::args::{GateArgs, GateCommand, LogCommand};

pub(crate) fn calibrate_cmd(
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

pub(crate) fn fit_cmd(
    log: &Path,
    scenario: &Path,
    out: Option<(&Path, cirl::escalation::reissue::ReviewerForm)>,
    json: bool,
    window: Option<&str>,
    future_calls: Option<u64>,
    settings: cirl::escalation::fit::Settings,
) -> Result<()> {
    use cirl::escalation::{fit, reissue};
    // The output folder is locked while the card is re-issued into it.
    let _lock = out
        .map(|(dir, _)| experiment::outdir::lock(dir))
        .transpose()?;
    let r = reissue::refit(log, scenario, out, window, future_calls, &settings)?;
    if let Some((dir, _)) = out {
        experiment::outdir::record(dir, &r.files)?;
    }
    let (f, diff) = (r.fit, r.diff);
    let text = serde_json::to_string_pretty(&f).expect("serializable") + "\n";
    if json {
        print!("{text}");
        return Ok(());
    }
    let e = |x: &fit::Posterior| format!("{:.4} [{:.4}, {:.4}]", x.mean, x.lo, x.hi);
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

pub(crate) fn log_cmd(action: LogCommand) -> Result<()> {
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
                    let mut f = cirl::output::AtomicFile::create(&path)?;
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

pub(crate) fn gate_cmd(g: GateArgs) -> Result<()> {
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
