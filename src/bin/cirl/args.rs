//! The command line's arguments (clap derive); `main.rs` dispatches them.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cirl",
    version,
    about = "The games behind human–agent deference: when should an agent defer?"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
        /// The results tables' format: csv, or parquet (typed, compressed columns; the jobs are journaled as
        /// Parquet too). A resume or merge keeps the format the run began with.
        #[arg(long, default_value = "csv", value_name = "csv|parquet")]
        format: String,
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
        /// The results tables' format: csv or parquet.
        #[arg(long, default_value = "csv", value_name = "csv|parquet")]
        format: String,
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
        /// reduction), pbvi (lower and upper bounds), sarsop (anytime point-based search on sparse tables:
        /// bounds, times to gaps; discounted models), mdp (state observed: full-information value).
        #[arg(long, default_value_t = cirl::solve::Request::default().solver.to_string())]
        solver: String,
        /// Override a game parameter, e.g. --set discount=0.9 --set two_phase=true (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Discounted infinite-horizon models: stop when the error bound (pbvi, sarsop: the bound gap) is below this.
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
        /// sarsop: stop after this many seconds and report the bounds and policy reached (Ctrl-C does the same).
        #[arg(long, allow_hyphen_values = true)]
        timeout: Option<f64>,
        /// Write the policy (alpha vectors or CIRL plans) as JSON to this file.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Record this many simulated episodes step by step (states, actions, beliefs) in the JSON output.
        #[arg(long, default_value_t = 0, allow_hyphen_values = true)]
        histories: usize,
        /// CIRL games (exact solver): the θ the human holds in the simulated and recorded episodes, by name
        /// (default: drawn from the prior in each episode).
        #[arg(long)]
        theta: Option<String>,
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
    /// Serve the teaching page (the off-switch game, a CIRL game step by step, your agent's escalation) and its
    /// JSON API on this machine: open the address it prints in a browser.
    Serve {
        /// The address to listen on (127.0.0.1: this machine only; another address serves the network).
        #[arg(long, default_value = "127.0.0.1")]
        bind: std::net::IpAddr,
        /// The port (0: any free port; the address is printed).
        #[arg(long, default_value_t = 8350)]
        port: u16,
        /// Worker threads answering requests (the page sends up to six at once when it loads).
        #[arg(long, default_value_t = 4, allow_hyphen_values = true)]
        threads: usize,
    },
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct GateArgs {
    #[command(subcommand)]
    pub(crate) record: Option<GateCommand>,
    /// The card (card.json of cirl calibrate).
    #[arg(long)]
    pub(crate) card: Option<PathBuf>,
    /// claude-hook (a PreToolUse payload on stdin), claude-post-hook (PostToolUse: records approvals) or
    /// jsonl (one request per line).
    #[arg(long, default_value = "claude-hook")]
    pub(crate) format: String,
    /// The decision log (SQLite; default: decisions.sqlite beside the card).
    #[arg(long)]
    pub(crate) log: Option<PathBuf>,
    /// Do not log decisions.
    #[arg(long, conflicts_with = "log")]
    pub(crate) no_log: bool,
    /// A command that prints the call's confidence (run with the payload on stdin).
    #[arg(long)]
    pub(crate) verifier: Option<String>,
    /// How long the verifier may take, in milliseconds.
    #[arg(long, default_value_t = 2000, allow_hyphen_values = true)]
    pub(crate) verifier_timeout_ms: u64,
}

#[derive(Subcommand)]
pub(crate) enum GateCommand {
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
pub(crate) enum LogCommand {
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
pub(crate) struct Exec {
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) threads: Option<usize>,
    /// No progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Skip the plots.
    #[arg(long)]
    pub(crate) no_plots: bool,
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
