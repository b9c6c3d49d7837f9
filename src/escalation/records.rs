//! The decision log as JSON Lines: one tool call per line, so that logs from other systems can be brought in
//! (`cirl log import`) and the gate's log taken out (`cirl log export`) — to pandas, to another store.
//!
//! ## Schema `cirl-log/1`
//!
//! One JSON object per line; unknown keys are refused (a misspelt key would silently lose its data).
//!
//! | key | type | |
//! |---|---|---|
//! | `time` | RFC 3339 string | when the call was decided (any offset; stored as UTC with milliseconds) — required |
//! | `tool` | string | the runtime's tool name — required |
//! | `class` | string or null | the scenario class that decided it (null: no class matched) |
//! | `confidence` | number in [0, 1] or null | the agent's confidence in the call |
//! | `confidence_source` | `request` \| `verifier` \| `none` | where it came from (default: `request` when a confidence is given, else `none`) |
//! | `move` | `act` \| `ask` \| `block` \| `hand-over` or null | the move taken (null: deferred to the runtime) |
//! | `decision` | `allow` \| `ask` \| `deny` \| `defer` | what the runtime was told (default from `move`: act → allow, ask → ask, block and hand-over → deny, null → defer) |
//! | `answer` | `approve` \| `reject` \| `edit` \| `timeout` or null | the human's answer, for an asked (or deferred) call |
//! | `answer_time` | RFC 3339 string | when it was given (default: `time`) |
//! | `outcome` | `fine` \| `undone` \| `incident` or null | what came of the call, when known |
//! | `cost` | number ≥ 0 or null | an `undone` call's undo cost or an `incident`'s severity, in the scenario's units |
//! | `outcome_time` | RFC 3339 string | when the outcome was known (default: `time`) |
//! | `note` | string or null | a note on the outcome |
//! | `session`, `tool_use_id` | string or null | the runtime's session and tool-use id |
//! | `input` | any JSON | the call's arguments (default `{}`) |
//! | `runtime`, `reason`, `scenario`, `card` | string | where the record came from (default `import`), why, and the scenario and card hash that decided it |
//! | `options` | array or null | the options the human was offered, for a choice between them (an asked or deferred call): 2 to 64 objects `{"label": "...", "value": v}` (what the option is worth, in the scenario's units) or `{"label": "...", "features": {"name": x, ...}}` (the same feature names in every option and every record); labels distinct |
//! | `chosen` | string or null | the label of the option the human chose (required with `options`) |
//! | `id` | integer | written by export (the log's decision id); ignored by import |
//!
//! A record is one call: a call is identified by its (`session`, `tool_use_id`) when it has a tool-use id, else by
//! (`time`, `session`, `tool`, `input`). An import keeps the first of duplicated records and skips calls already in
//! the log, so importing the same file twice adds nothing; records may come in any order (`cirl fit` orders them
//! by time). Every line is checked before anything is written, and the records are written in one transaction:
//! a file with a bad line imports nothing.
//!
//! `options` and `chosen` feed the inverse model of the human's choices ([`super::choices`]): a Boltzmann-rational
//! chooser, P(option i) ∝ exp(v_i / β), whose β `cirl fit` learns from the choices with values, and whose weights
//! of the features it learns from the choices with features.

use std::collections::HashSet;
use std::io::{BufRead, Read, Write};
use std::path::Path;

use rusqlite::params;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::log::Log;
use crate::error::{Error, Result};

/// The largest JSON Lines log read: it is streamed (twice: checked, then written), so the limit only stops a
/// runaway input.
pub const MAX_LOG_BYTES: u64 = 16 << 30;

/// One tool call with the human's answer and its outcome (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The log's decision id (written by export; ignored by import).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// When the call was decided (RFC 3339).
    pub time: String,
    /// The runtime's tool name.
    pub tool: String,
    /// The scenario class that decided it (none: no class matched).
    #[serde(default)]
    pub class: Option<String>,
    /// The agent's confidence in the call, in [0, 1].
    #[serde(default)]
    pub confidence: Option<f64>,
    /// Where the confidence came from: request, verifier or none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence_source: Option<String>,
    /// The move taken: act, ask, block or hand-over (none: deferred to the runtime).
    #[serde(default, rename = "move")]
    pub mv: Option<String>,
    /// What the runtime was told: allow, ask, deny or defer (default from the move).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// The human's answer to an asked (or deferred) call: approve, reject, edit or timeout.
    #[serde(default)]
    pub answer: Option<String>,
    /// When it was given (RFC 3339; default: `time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer_time: Option<String>,
    /// What came of the call: fine, undone or incident.
    #[serde(default)]
    pub outcome: Option<String>,
    /// An undone call's undo cost or an incident's severity, in the scenario's units.
    #[serde(default)]
    pub cost: Option<f64>,
    /// When the outcome was known (RFC 3339; default: `time`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome_time: Option<String>,
    /// A note on the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The runtime's session id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// The runtime's tool-use id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_use_id: Option<String>,
    /// The call's arguments (default `{}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Value>,
    /// Where the record came from (default `import`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    /// Why the gate decided as it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The scenario that decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// The hash of the card that decided it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<String>,
    /// The options the human was offered (2 to 64, labels distinct), for a choice between them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<Offered>>,
    /// The label of the option the human chose (required with `options`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
}

/// One option the human was offered: its label and what it is worth, or its features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Offered {
    /// The option's label.
    pub label: String,
    /// What the option is worth, in the scenario's units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// The option's features (the same names in every option and record).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<std::collections::BTreeMap<String, f64>>,
}

/// The most options one choice may offer.
pub const MAX_OPTIONS: usize = 64;

/// Checks a record's `options` and `chosen` (`mv`: the call's move).
pub fn check_choice(
    options: Option<&[Offered]>,
    chosen: Option<&str>,
    mv: Option<&str>,
) -> std::result::Result<(), String> {
    let Some(options) = options else {
        return match chosen {
            Some(_) => Err("chosen: given without options; give the options offered".into()),
            None => Ok(()),
        };
    };
    if let Some(m) = mv
        && m != "ask"
    {
        return Err(format!(
            "options: a call whose move was {m:?} was not asked; only asked (or deferred) calls offer a choice"
        ));
    }
    if !(2..=MAX_OPTIONS).contains(&options.len()) {
        return Err(format!(
            "options: {} options; a choice offers 2 to {MAX_OPTIONS}",
            options.len()
        ));
    }
    let by_value = options[0].value.is_some();
    for (i, o) in options.iter().enumerate() {
        if o.label.is_empty() {
            return Err(format!("options[{i}].label: empty; name the option"));
        }
        if options[..i].iter().any(|p| p.label == o.label) {
            return Err(format!(
                "options[{i}].label: {:?} is offered twice; labels must be distinct",
                o.label
            ));
        }
        match (o.value, &o.features) {
            (Some(v), None) if by_value => {
                if !v.is_finite() {
                    return Err(format!("options[{i}].value: {v} is not a finite number"));
                }
            }
            (None, Some(f)) if !by_value => {
                if f.is_empty() {
                    return Err(format!(
                        "options[{i}].features: empty; give at least one feature"
                    ));
                }
                if let Some((k, x)) = f.iter().find(|(_, x)| !x.is_finite()) {
                    return Err(format!(
                        "options[{i}].features.{k}: {x} is not a finite number"
                    ));
                }
                let first = options[0].features.as_ref().expect("features, as checked");
                if !f.keys().eq(first.keys()) {
                    return Err(format!(
                        "options[{i}].features: names {:?} differ from the first option's {:?}; give every option the same features",
                        f.keys().collect::<Vec<_>>(),
                        first.keys().collect::<Vec<_>>()
                    ));
                }
            }
            (Some(_), Some(_)) | (None, None) => {
                return Err(format!(
                    "options[{i}]: give exactly one of value and features"
                ));
            }
            _ => {
                return Err(format!(
                    "options[{i}]: every option of a choice has a value, or every one has features, not a mix"
                ));
            }
        }
    }
    match chosen {
        None => Err("chosen: missing; give the label of the option the human chose".into()),
        Some(c) if options.iter().any(|o| o.label == c) => Ok(()),
        Some(c) => Err(format!(
            "chosen: {c:?} is not the label of an offered option ({})",
            options
                .iter()
                .map(|o| format!("{:?}", o.label))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// A time in RFC 3339 as the log stores it: UTC with milliseconds (`2026-12-01T09:30:00.000Z`), so that the
/// stored strings sort in time order.
pub fn normalize_time(s: &str) -> std::result::Result<String, String> {
    let t: jiff::Timestamp = s
        .parse()
        .map_err(|e| format!("{s:?} is not an RFC 3339 time such as 2026-12-01T09:30:00Z ({e})"))?;
    // A time already in the stored form (what the gate and an export write) is kept as it is.
    let b = s.as_bytes();
    if b.len() == 24 && b[10] == b'T' && b[19] == b'.' && b[23] == b'Z' {
        return Ok(s.to_string());
    }
    Ok(t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

fn one_of(field: &str, v: &str, allowed: &[&str]) -> std::result::Result<(), String> {
    if allowed.contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "{field}: {v:?} is not one of {}",
            allowed.join(", ")
        ))
    }
}

impl Record {
    /// Checks the record and fills in its defaults (times normalised, the source and decision derived).
    pub fn validate(mut self) -> std::result::Result<Record, String> {
        self.time = normalize_time(&self.time).map_err(|e| format!("time: {e}"))?;
        if self.tool.is_empty() {
            return Err("tool: empty; give the runtime's tool name".into());
        }
        if let Some(c) = self.confidence
            && !(0.0..=1.0).contains(&c)
        {
            return Err(format!("confidence: {c} is not a probability in [0, 1]"));
        }
        let source = self.confidence_source.take().unwrap_or_else(|| {
            if self.confidence.is_some() {
                "request"
            } else {
                "none"
            }
            .into()
        });
        one_of(
            "confidence_source",
            &source,
            &["request", "verifier", "none"],
        )?;
        if source == "none" && self.confidence.is_some() {
            return Err(
                "confidence_source: \"none\" with a confidence; say where it came from".into(),
            );
        }
        self.confidence_source = Some(source);
        if let Some(m) = &self.mv {
            one_of("move", m, &["act", "ask", "block", "hand-over"])?;
        }
        let implied = match self.mv.as_deref() {
            Some("act") => "allow",
            Some("ask") => "ask",
            Some(_) => "deny",
            None => "defer",
        };
        let decision = self.decision.take().unwrap_or_else(|| implied.into());
        one_of("decision", &decision, &["allow", "ask", "deny", "defer"])?;
        if decision != implied {
            return Err(format!(
                "decision: {decision:?} does not follow from move {:?} (which gives {implied:?})",
                self.mv
            ));
        }
        self.decision = Some(decision);
        check_choice(
            self.options.as_deref(),
            self.chosen.as_deref(),
            self.mv.as_deref(),
        )?;
        match (&self.answer, self.mv.as_deref()) {
            (Some(a), Some("ask") | None) => {
                one_of("answer", a, &["approve", "reject", "edit", "timeout"])?;
                self.answer_time = Some(
                    normalize_time(self.answer_time.as_deref().unwrap_or(&self.time))
                        .map_err(|e| format!("answer_time: {e}"))?,
                );
            }
            (Some(_), Some(m)) => {
                return Err(format!(
                    "answer: a call whose move was {m:?} was not asked; only asked (or deferred) calls have an answer"
                ));
            }
            (None, _) if self.answer_time.is_some() => {
                return Err("answer_time: given without an answer".into());
            }
            (None, _) => {}
        }
        match &self.outcome {
            Some(o) => {
                one_of("outcome", o, &["fine", "undone", "incident"])?;
                if let Some(c) = self.cost {
                    if !(c.is_finite() && c >= 0.0) {
                        return Err(format!(
                            "cost: {c} is not a loss ≥ 0 in the scenario's units"
                        ));
                    }
                    if o == "fine" {
                        return Err("cost: a fine outcome has no cost; use outcome \"undone\" with its undo cost".into());
                    }
                }
                self.outcome_time = Some(
                    normalize_time(self.outcome_time.as_deref().unwrap_or(&self.time))
                        .map_err(|e| format!("outcome_time: {e}"))?,
                );
            }
            None => {
                for (k, given) in [
                    ("cost", self.cost.is_some()),
                    ("outcome_time", self.outcome_time.is_some()),
                    ("note", self.note.is_some()),
                ] {
                    if given {
                        return Err(format!("{k}: given without an outcome"));
                    }
                }
            }
        }
        Ok(self)
    }

    /// What identifies the call (see the module docs), as a 128-bit hash: two records of one call have the same.
    pub fn identity(&self) -> u128 {
        use std::hash::{Hash, Hasher};
        let input;
        let mut parts: Vec<&str> = vec![self.session.as_deref().unwrap_or("")];
        match &self.tool_use_id {
            Some(t) => parts.extend(["id", t]),
            None => {
                input = self.input_text();
                parts.extend([
                    "call",
                    self.time.as_str(),
                    self.tool.as_str(),
                    input.as_str(),
                ]);
            }
        }
        let h = |salt: u64| {
            let mut s = std::hash::DefaultHasher::new();
            salt.hash(&mut s);
            parts.hash(&mut s);
            s.finish()
        };
        (u128::from(h(1)) << 64) | u128::from(h(2))
    }

    fn input_text(&self) -> String {
        self.input
            .as_ref()
            .map_or_else(|| "{}".into(), |v| v.to_string())
    }
}

/// Parses and checks line `n` (1-based) of a JSON Lines log; blank lines are `None`.
pub fn parse_line(line: &str, n: usize, file: &str) -> Result<Option<Record>> {
    if line.trim().is_empty() {
        return Ok(None);
    }
    let bad = |m: String| Error::invalid(format!("{file}:{n}"), m);
    // serde_json names the key in its message ("unknown field `x`", "missing field `time`"); its position is
    // within the line.
    let r: Record = serde_json::from_str(line).map_err(|e| {
        let m = e.to_string();
        let m = m.split(" at line ").next().unwrap_or(&m).to_string();
        bad(format!("{m} (column {})", e.column()))
    })?;
    r.validate().map(Some).map_err(bad)
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// Records written.
    pub added: usize,
    /// Records skipped as repeats of an earlier line of the file.
    pub duplicates: usize,
    /// Records skipped because the log already holds the call.
    pub present: usize,
}

fn lines(path: &Path) -> Result<impl Iterator<Item = Result<(usize, String)>>> {
    let file = crate::input::open_regular(path, MAX_LOG_BYTES, "FILE")?;
    let p = path.to_path_buf();
    Ok(std::io::BufReader::with_capacity(1 << 20, file)
        .lines()
        .enumerate()
        .map(move |(i, l)| {
            l.map(|l| (i + 1, l))
                .map_err(|e| crate::input::io_error(&p)(e))
        }))
}

/// Reads and checks every record of a JSON Lines file, handing each to `take` in file order.
pub fn read_jsonl(path: &Path, mut take: impl FnMut(Record) -> Result<()>) -> Result<()> {
    let file = path.display().to_string();
    for l in lines(path)? {
        let (n, line) = l?;
        if let Some(r) = parse_line(&line, n, &file)? {
            take(r)?;
        }
    }
    Ok(())
}

/// Bytes read at a time by [`read_jsonl_par`] (a block ends at its last line break), and the size of the pieces
/// of a block that are checked in parallel.
const BLOCK: usize = 8 << 20;
const PIECE: usize = 128 << 10;

/// Reads a file a block of whole lines at a time (the last block may end without a line break).
struct Blocks<R> {
    file: R,
    /// Bytes read at a time ([`BLOCK`]).
    size: usize,
    carry: Vec<u8>,
    /// A block's buffer once its lines are parsed, for the next block.
    spare: Option<Vec<u8>>,
    eof: bool,
    path: std::path::PathBuf,
}

impl<R: Read> Blocks<R> {
    fn next_block(&mut self) -> Result<Option<Vec<u8>>> {
        loop {
            if self.eof {
                let rest = std::mem::take(&mut self.carry);
                return Ok((!rest.is_empty()).then_some(rest));
            }
            // Into the last block's buffer (no fresh pages to fault in and zero), after the carried partial line.
            let mut block = self.spare.take().unwrap_or_default();
            block.clear();
            block.append(&mut self.carry);
            let want = self.size as u64;
            let got = std::io::Read::take(&mut self.file, want)
                .read_to_end(&mut block)
                .map_err(crate::input::io_error(&self.path))?;
            if (got as u64) < want {
                self.eof = true;
            }
            if self.eof {
                return Ok((!block.is_empty()).then_some(block));
            }
            // Keep the partial last line for the next block; a line longer than a block grows it.
            match memchr::memrchr(b'\n', &block) {
                Some(i) => {
                    self.carry = block[i + 1..].to_vec();
                    block.truncate(i + 1);
                    return Ok(Some(block));
                }
                None => self.carry = block,
            }
        }
    }
}

/// A block's lines checked and mapped in parallel, a piece at a time: per piece its results (or its first bad
/// line), and the lines of the block in all. `first` is the number of the block's first line.
fn parse_block<T: Send>(
    block: &[u8],
    first: usize,
    piece: usize,
    file: &str,
    map: &(impl Fn(Record) -> T + Sync),
) -> (Vec<Result<Vec<T>>>, usize) {
    use rayon::prelude::*;
    // Pieces of about PIECE bytes, each ending after a line break (or at the block's end).
    let mut cuts = vec![0];
    let mut at = 0;
    while at < block.len() {
        let end = (at + piece).min(block.len());
        at = memchr::memchr(b'\n', &block[end..]).map_or(block.len(), |i| end + i + 1);
        cuts.push(at);
    }
    let pieces: Vec<&[u8]> = cuts.windows(2).map(|w| &block[w[0]..w[1]]).collect();
    let lines_of = |p: &[u8]| {
        memchr::memchr_iter(b'\n', p).count() + usize::from(p.last().is_some_and(|&b| b != b'\n'))
    };
    let counts: Vec<usize> = pieces.par_iter().map(|p| lines_of(p)).collect();
    let starts: Vec<usize> = counts
        .iter()
        .scan(first, |n, c| {
            let s = *n;
            *n += c;
            Some(s)
        })
        .collect();
    let out = pieces
        .par_iter()
        .zip(&starts)
        .map(|(p, &start)| {
            let mut v = Vec::new();
            let body = p.strip_suffix(b"\n").unwrap_or(p);
            for (i, line) in body.split(|&b| b == b'\n').enumerate() {
                let n = start + i;
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let line = std::str::from_utf8(line).map_err(|e| {
                    Error::invalid(
                        format!("{file}:{n}"),
                        format!("not UTF-8 text (byte {} of the line)", e.valid_up_to() + 1),
                    )
                })?;
                if let Some(r) = parse_line(line, n, file)? {
                    v.push(map(r));
                }
            }
            Ok(v)
        })
        .collect();
    (out, counts.iter().sum())
}

/// Reads a JSON Lines file a block at a time, checking each record and mapping it with `map` in parallel, and
/// hands the results to `take` in file order; the error is the first bad line in file order. Reading the next
/// block and handing on the last one's results overlap with checking the current one.
pub fn read_jsonl_par<T: Send>(
    path: &Path,
    map: impl Fn(Record) -> T + Sync,
    take: impl FnMut(T) + Send,
) -> Result<()> {
    let file = crate::input::open_regular(path, MAX_LOG_BYTES, "FILE")?;
    read_blocks(file, path, (BLOCK, PIECE), map, take)
}

/// [`read_jsonl_par`] of a reader, in blocks and pieces of the given sizes.
fn read_blocks<T: Send>(
    file: impl std::io::Read + Send,
    path: &Path,
    (block_size, piece): (usize, usize),
    map: impl Fn(Record) -> T + Sync,
    mut take: impl FnMut(T) + Send,
) -> Result<()> {
    let name = path.display().to_string();
    let mut blocks = Blocks {
        file,
        size: block_size,
        carry: Vec::new(),
        spare: None,
        eof: false,
        path: path.to_path_buf(),
    };
    let hand_on = |done: Vec<Result<Vec<T>>>, take: &mut dyn FnMut(T)| -> Result<()> {
        for piece in done {
            piece?.into_iter().for_each(&mut *take);
        }
        Ok(())
    };
    let mut current = blocks.next_block()?;
    let mut done: Vec<Result<Vec<T>>> = Vec::new();
    let mut line = 1;
    while let Some(block) = current.take() {
        let ((handed, next), (parsed, lines)) = rayon::join(
            || {
                let handed = hand_on(std::mem::take(&mut done), &mut take);
                (handed, blocks.next_block())
            },
            || parse_block(&block, line, piece, &name, &map),
        );
        handed?;
        current = next?;
        done = parsed;
        line += lines;
        blocks.spare = Some(block);
    }
    hand_on(done, &mut take)
}

/// Imports a JSON Lines file into the log at `log_path` (created if needed): every line checked first, then every
/// new call written in one transaction (see the module docs).
pub fn import(log_path: &Path, path: &Path) -> Result<Imported> {
    // First pass: every line must be a valid record before anything is opened or written.
    read_jsonl(path, |_| Ok(()))?;
    let mut log = Log::open(log_path)?;
    let mut seen = HashSet::new();
    let mut done = Imported::default();
    log.transaction(|tx, store| {
        tx.execute_batch(super::log::READ_INDEXES).map_err(store)?;
        tx.execute_batch(super::log::CHOICES).map_err(store)?;
        let prepare = |sql: &str| tx.prepare(sql).map_err(store);
        let mut by_id = prepare(
            "SELECT 1 FROM decisions WHERE tool_use_id = ?1 AND coalesce(session, '') = ?2 LIMIT 1",
        )?;
        let mut by_call = prepare(
            "SELECT 1 FROM decisions WHERE time = ?1 AND tool = ?2 AND coalesce(session, '') = ?3 \
             AND input = ?4 AND tool_use_id IS NULL LIMIT 1",
        )?;
        let mut decision = prepare(
            "INSERT INTO decisions (time, runtime, session, tool_use_id, tool, input, call, class, confidence, \
             confidence_source, move, decision, reason, scenario, card) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, '{}', ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        )?;
        let mut answer =
            prepare("INSERT INTO answers (decision_id, time, answer) VALUES (?1, ?2, ?3)")?;
        let mut outcome = prepare(
            "INSERT INTO outcomes (decision_id, time, label, cost, note) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut choice =
            prepare("INSERT INTO choices (decision_id, options, chosen) VALUES (?1, ?2, ?3)")?;
        read_jsonl(path, |r| {
            let input = r.input_text();
            let session = r.session.clone().unwrap_or_default();
            if !seen.insert(r.identity()) {
                done.duplicates += 1;
                return Ok(());
            }
            let present = match &r.tool_use_id {
                Some(t) => by_id.exists(params![t, session]),
                None => by_call.exists(params![r.time, r.tool, session, input]),
            }
            .map_err(store)?;
            if present {
                done.present += 1;
                return Ok(());
            }
            decision
                .execute(params![
                    r.time,
                    r.runtime.as_deref().unwrap_or("import"),
                    r.session,
                    r.tool_use_id,
                    r.tool,
                    input,
                    r.class,
                    r.confidence,
                    r.confidence_source,
                    r.mv,
                    r.decision,
                    r.reason.as_deref().unwrap_or(""),
                    r.scenario.as_deref().unwrap_or(""),
                    r.card.as_deref().unwrap_or(""),
                ])
                .map_err(store)?;
            let id = tx.last_insert_rowid();
            if let Some(a) = &r.answer {
                answer
                    .execute(params![id, r.answer_time, a])
                    .map_err(store)?;
            }
            if let Some(o) = &r.outcome {
                outcome
                    .execute(params![id, r.outcome_time, o, r.cost, r.note])
                    .map_err(store)?;
            }
            if let (Some(o), Some(c)) = (&r.options, &r.chosen) {
                let options = serde_json::to_string(o).expect("serializable");
                choice.execute(params![id, options, c]).map_err(store)?;
            }
            done.added += 1;
            Ok(())
        })
    })?;
    Ok(done)
}

/// Every call in `log` as a record, in time order (then id), with its latest answer and outcome.
pub fn for_each(log: &Log, mut take: impl FnMut(Record) -> Result<()>) -> Result<()> {
    log.ensure_read_indexes();
    let (choice_cols, choice_join) = if log.has_choices() {
        (
            "c.options, c.chosen",
            "LEFT JOIN choices c ON c.id = (SELECT max(id) FROM choices WHERE decision_id = d.id)",
        )
    } else {
        ("NULL, NULL", "")
    };
    log.query(
        &format!(
            "SELECT d.id, d.time, d.tool, d.class, d.confidence, d.confidence_source, d.move, d.decision, \
             a.answer, a.time, o.label, o.cost, o.time, o.note, d.session, d.tool_use_id, d.input, d.runtime, \
             d.reason, d.scenario, d.card, {choice_cols} \
             FROM decisions d \
             LEFT JOIN answers a ON a.id = (SELECT max(id) FROM answers WHERE decision_id = d.id) \
             LEFT JOIN outcomes o ON o.id = (SELECT max(id) FROM outcomes WHERE decision_id = d.id) \
             {choice_join} \
             ORDER BY d.time, d.id"
        ),
        |row| {
            let input: String = row.get(16)?;
            let options: Option<String> = row.get(21)?;
            let r = Record {
                id: Some(row.get(0)?),
                time: row.get(1)?,
                tool: row.get(2)?,
                class: row.get(3)?,
                confidence: row.get(4)?,
                confidence_source: row.get(5)?,
                mv: row.get(6)?,
                decision: row.get(7)?,
                answer: row.get(8)?,
                answer_time: row.get(9)?,
                outcome: row.get(10)?,
                cost: row.get(11)?,
                outcome_time: row.get(12)?,
                note: row.get(13)?,
                session: row.get(14)?,
                tool_use_id: row.get(15)?,
                input: Some(serde_json::from_str(&input).unwrap_or(Value::String(input))),
                runtime: row.get(17)?,
                reason: row.get(18)?,
                scenario: row.get(19)?,
                card: row.get(20)?,
                // A damaged choice is an error, as in `cirl fit`: dropping its options would export a `chosen`
                // that no import takes.
                options: options
                    .map(|o| serde_json::from_str(&o))
                    .transpose()
                    .map_err(|e| {
                        rusqlite::Error::FromSqlConversionFailure(
                            21,
                            rusqlite::types::Type::Text,
                            Box::new(e),
                        )
                    })?,
                chosen: row.get(22)?,
            };
            Ok(r)
        },
        &mut take,
    )
}

/// Writes every call in `log` as JSON Lines to `w`; returns the number of records.
pub fn export(log: &Log, w: &mut impl Write) -> Result<usize> {
    let mut n = 0;
    for_each(log, |r| {
        serde_json::to_writer(&mut *w, &r).map_err(|e| Error::Io {
            path: "the export".into(),
            source: e.into(),
        })?;
        w.write_all(b"\n").map_err(|e| Error::Io {
            path: "the export".into(),
            source: e,
        })?;
        n += 1;
        Ok(())
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(i: usize) -> String {
        format!(
            r#"{{"time":"2026-12-01T00:00:{:02}Z","tool":"t{i}"}}"#,
            i % 60
        )
    }

    fn read(text: &[u8], sizes: (usize, usize)) -> Result<Vec<String>> {
        let mut out = Vec::new();
        read_blocks(
            std::io::Cursor::new(text.to_vec()),
            Path::new("log.jsonl"),
            sizes,
            |r| r.tool,
            |t| out.push(t),
        )?;
        Ok(out)
    }

    /// Blocks and pieces of any size give the records in file order, with CRLF line ends, blank lines and a
    /// last line without a line break; a bad line is named by its number in the file, the first one winning.
    #[test]
    fn blocks_of_any_size_read_every_line_in_order() {
        let mut text = String::new();
        for i in 0..200 {
            text += &line(i);
            text += if i % 3 == 0 { "\r\n" } else { "\n" };
            if i % 17 == 0 {
                text += "\n";
            }
        }
        text += &line(200);
        let want: Vec<String> = (0..=200).map(|i| format!("t{i}")).collect();
        for sizes in [(1, 1), (7, 3), (64, 200), (1000, 1), (BLOCK, PIECE)] {
            assert_eq!(read(text.as_bytes(), sizes).unwrap(), want, "{sizes:?}");
        }
        let lines: Vec<&str> = text.split('\n').collect();
        let bad = |n: usize, with: &str| {
            let mut l = lines.clone();
            l[n - 1] = with;
            l.join("\n")
        };
        for sizes in [(5, 2), (300, 50), (BLOCK, PIECE)] {
            let e = read(bad(150, "{\"time\":1}").as_bytes(), sizes).unwrap_err();
            assert!(e.to_string().contains("log.jsonl:150"), "{e}");
            // Two bad lines: the first is reported.
            let two = bad(40, "nope");
            let two: Vec<&str> = two.split('\n').collect();
            let mut two: Vec<String> = two.iter().map(|s| s.to_string()).collect();
            two[179] = "also bad".into();
            let e = read(two.join("\n").as_bytes(), sizes).unwrap_err();
            assert!(e.to_string().contains("log.jsonl:40"), "{e}");
        }
        let mut bytes = bad(7, "").into_bytes();
        let at = bytes
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .nth(5)
            .unwrap()
            .0
            + 1;
        bytes.splice(at..at, [0xff, 0xfe]);
        let e = read(&bytes, (16, 4)).unwrap_err();
        assert!(
            e.to_string().contains("log.jsonl:7") && e.to_string().contains("UTF-8"),
            "{e}"
        );
    }
}
