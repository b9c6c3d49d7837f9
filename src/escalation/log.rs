//! The decision log of `cirl gate`: one SQLite file in WAL mode that many hook processes append to at once.
//!
//! Every decision is committed before the gate answers, so a decision an agent runtime received is in the log
//! even if the process is killed the next instant; a process killed before its commit leaves nothing (and the
//! runtime got no answer: it falls back to its own rules). WAL with `synchronous = NORMAL` survives any process
//! crash; concurrent writers wait on the file's lock (`busy_timeout`) rather than fail.
//!
//! Its JSON Lines form, for logs from other systems and for analysis, is in [`super::records`].
//!
//! ## Schema (version 1)
//!
//! - `decisions`: `id`, `time` (RFC 3339 UTC), `runtime` (`claude-hook` | `jsonl`), `session`, `tool_use_id`,
//!   `tool` (the runtime's tool name), `input` (the call's arguments, JSON), `call` (the call as the classifier
//!   read it, JSON), `class` (the deciding class; NULL when no class matched), `confidence` and
//!   `confidence_source` (`request` | `verifier` | `none`), `move` (`act` | `ask` | `block` | `hand-over`;
//!   NULL when deferred), `decision` (`allow` | `ask` | `deny` | `defer`), `reason`, `scenario`, `card` (a hash
//!   of the gate card).
//! - `answers`: the human's answer to an asked call: `decision_id`, `time`, `answer` (`approve` | `reject` |
//!   `edit` | `timeout`).
//! - `outcomes`: what came of a call when known: `decision_id`, `time`, `label` (`fine` | `undone` |
//!   `incident`), `cost` (the undo cost or the incident's severity, in the scenario's units), `note`.
//! - `choices`: the options a human was offered and the one chosen (see [`super::records`]): `decision_id`,
//!   `options` (JSON: an array of `{label, value}` or `{label, features}`), `chosen` (a label). Added to a log of
//!   an earlier cirl when one is first imported into or read whole; the schema version stays 1.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

use crate::error::{Error, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', '1');
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    runtime TEXT NOT NULL,
    session TEXT,
    tool_use_id TEXT,
    tool TEXT NOT NULL,
    input TEXT NOT NULL,
    call TEXT NOT NULL,
    class TEXT,
    confidence REAL,
    confidence_source TEXT NOT NULL CHECK (confidence_source IN ('request', 'verifier', 'none')),
    move TEXT CHECK (move IN ('act', 'ask', 'block', 'hand-over')),
    decision TEXT NOT NULL CHECK (decision IN ('allow', 'ask', 'deny', 'defer')),
    reason TEXT NOT NULL,
    scenario TEXT NOT NULL,
    card TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS decisions_tool_use_id ON decisions (tool_use_id);
CREATE TABLE IF NOT EXISTS answers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    time TEXT NOT NULL,
    answer TEXT NOT NULL CHECK (answer IN ('approve', 'reject', 'edit', 'timeout'))
);
CREATE TABLE IF NOT EXISTS outcomes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    time TEXT NOT NULL,
    label TEXT NOT NULL CHECK (label IN ('fine', 'undone', 'incident')),
    cost REAL,
    note TEXT
);
";

/// Indexes that reading a whole log needs (a call's latest answer and outcome, calls in time order); created
/// with new logs, and added to a log of an earlier cirl when it is first read whole.
pub const READ_INDEXES: &str = "
CREATE INDEX IF NOT EXISTS answers_decision ON answers (decision_id);
CREATE INDEX IF NOT EXISTS outcomes_decision ON outcomes (decision_id);
CREATE INDEX IF NOT EXISTS decisions_time ON decisions (time);
";

/// The table of offered choices, which logs written before it lack (created by [`Log::ensure_read_indexes`]).
pub const CHOICES: &str = "
CREATE TABLE IF NOT EXISTS choices (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    decision_id INTEGER NOT NULL REFERENCES decisions (id),
    options TEXT NOT NULL,
    chosen TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS choices_decision ON choices (decision_id);
";

/// How long a writer waits for the lock before it gives up.
const BUSY: Duration = Duration::from_secs(30);

fn store_err(path: &Path) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::Store {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// An open decision log.
pub struct Log {
    conn: Connection,
    path: PathBuf,
}

/// One decision as it is logged.
#[derive(Debug, Clone, Serialize)]
pub struct Entry<'a> {
    /// The runtime that asked (claude-code, gemini-cli, codex, jsonl, …).
    pub runtime: &'a str,
    /// The runtime's session id.
    pub session: Option<&'a str>,
    /// The runtime's tool-use id.
    pub tool_use_id: Option<&'a str>,
    /// The runtime's tool name.
    pub tool: &'a str,
    /// The call's arguments, as JSON text.
    pub input: &'a str,
    /// The call as the classifier saw it, as JSON text.
    pub call: &'a str,
    /// The class that decided (none: no class matched).
    pub class: Option<&'a str>,
    /// The agent's confidence in the call.
    pub confidence: Option<f64>,
    /// Where the confidence came from (request, verifier, none).
    pub confidence_source: &'a str,
    /// The move (none: deferred to the runtime).
    pub mv: Option<&'a str>,
    /// What the runtime was told (allow, ask, deny, defer).
    pub decision: &'a str,
    /// Why, in a line.
    pub reason: &'a str,
    /// The scenario that decided it.
    pub scenario: &'a str,
    /// The hash of the card that decided it.
    pub card: &'a str,
}

/// The current time as RFC 3339 UTC with milliseconds.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = if month <= 2 { y + 1 } else { y };
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

impl Log {
    /// Opens (creating if needed) the log at `path`.
    pub fn open(path: &Path) -> Result<Log> {
        let err = store_err(path);
        let conn = Connection::open(path).map_err(&err)?;
        conn.busy_timeout(BUSY).map_err(&err)?;
        // WAL mode is a property of the file: set it once (it needs a moment of exclusive access, so concurrent
        // first openers retry) and only read it afterwards.
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(&err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            let mut tries = 0;
            loop {
                match conn
                    .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get::<_, String>(0))
                {
                    Ok(m) if m.eq_ignore_ascii_case("wal") => break,
                    Ok(m) => {
                        return Err(Error::Store {
                            path: path.display().to_string(),
                            message: format!(
                                "the file system does not allow WAL mode (journal mode is {m}); put the log on a local disk"
                            ),
                        });
                    }
                    Err(_) if tries < 200 => {
                        tries += 1;
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(e) => return Err(err(e)),
                }
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(&err)?;
        let read_version =
            |c: &Connection| -> std::result::Result<Option<String>, rusqlite::Error> {
                c.query_row(
                    "SELECT value FROM meta WHERE key = 'schema_version'",
                    [],
                    |r| r.get(0),
                )
                .optional()
            };
        let version = match read_version(&conn) {
            Ok(v) => v,
            // A new file: create the schema (every statement is IF NOT EXISTS, so racing creators agree).
            Err(_) => {
                conn.execute_batch(&format!(
                    "BEGIN IMMEDIATE; {SCHEMA} {READ_INDEXES} {CHOICES} COMMIT;"
                ))
                .map_err(&err)?;
                read_version(&conn).map_err(&err)?
            }
        };
        if version.as_deref() != Some("1") {
            return Err(Error::invalid(
                "--log",
                format!(
                    "{} is not a cirl decision log of schema version 1 (found {version:?}); give another --log",
                    path.display()
                ),
            ));
        }
        Ok(Log {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Appends a decision (committed when this returns) and returns its id.
    pub fn append(&self, e: &Entry) -> Result<i64> {
        self.conn
            .execute(
                "INSERT INTO decisions (time, runtime, session, tool_use_id, tool, input, call, class, confidence, \
                 confidence_source, move, decision, reason, scenario, card) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                params![
                    now_rfc3339(),
                    e.runtime,
                    e.session,
                    e.tool_use_id,
                    e.tool,
                    e.input,
                    e.call,
                    e.class,
                    e.confidence,
                    e.confidence_source,
                    e.mv,
                    e.decision,
                    e.reason,
                    e.scenario,
                    e.card
                ],
            )
            .map_err(store_err(&self.path))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The id of the decision logged for a runtime's tool-use id (the latest, if several).
    pub fn find_tool_use(&self, tool_use_id: &str) -> Result<Option<(i64, String)>> {
        self.conn
            .query_row(
                "SELECT id, decision FROM decisions WHERE tool_use_id = ?1 ORDER BY id DESC LIMIT 1",
                [tool_use_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(store_err(&self.path))
    }

    fn check_id(&self, id: i64) -> Result<()> {
        let found: Option<i64> = self
            .conn
            .query_row("SELECT id FROM decisions WHERE id = ?1", [id], |r| r.get(0))
            .optional()
            .map_err(store_err(&self.path))?;
        match found {
            Some(_) => Ok(()),
            None => Err(Error::invalid(
                "--id",
                format!("no decision {id} in {}", self.path.display()),
            )),
        }
    }

    /// The move logged for decision `id` (None: deferred).
    fn move_of(&self, id: i64) -> Result<Option<String>> {
        self.conn
            .query_row("SELECT move FROM decisions WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .map_err(store_err(&self.path))
    }

    /// Records the human's answer to an asked decision.
    pub fn record_answer(&self, id: i64, answer: &str) -> Result<i64> {
        if !["approve", "reject", "edit", "timeout"].contains(&answer) {
            return Err(Error::invalid(
                "--answer",
                format!("'{answer}': use approve, reject, edit or timeout"),
            ));
        }
        self.check_id(id)?;
        let mv = self.move_of(id)?;
        if let Some(m) = mv.filter(|m| m != "ask") {
            return Err(Error::invalid(
                "--answer",
                format!(
                    "decision {id} was {m:?}, not asked: only an asked (or deferred) call has an answer"
                ),
            ));
        }
        self.conn
            .execute(
                "INSERT INTO answers (decision_id, time, answer) VALUES (?1, ?2, ?3)",
                params![id, now_rfc3339(), answer],
            )
            .map_err(store_err(&self.path))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the options the human was offered for an asked (or deferred) decision and the one chosen;
    /// `options` is the JSON array of the log's schema (`[{"label": …, "value": …}, …]`, see
    /// [`super::records`]).
    pub fn record_choice(&self, id: i64, options: &str, chosen: &str) -> Result<i64> {
        let offered: Vec<super::records::Offered> = serde_json::from_str(options).map_err(|e| {
            Error::invalid(
                "--options",
                format!(
                    "not a JSON list of options such as [{{\"label\": \"run\", \"value\": 2}}, {{\"label\": \"skip\", \"value\": 0}}] ({e})"
                ),
            )
        })?;
        self.check_id(id)?;
        let mv = self.move_of(id)?;
        super::records::check_choice(Some(&offered), Some(chosen), mv.as_deref()).map_err(|m| {
            let (field, rest) = m.split_once(": ").unwrap_or(("options", m.as_str()));
            let flag = if field == "chosen" {
                "--chosen"
            } else {
                "--options"
            };
            Error::invalid(flag, format!("decision {id}: {field}: {rest}"))
        })?;
        self.conn
            .execute_batch(CHOICES)
            .map_err(store_err(&self.path))?;
        self.conn
            .execute(
                "INSERT INTO choices (decision_id, options, chosen) VALUES (?1, ?2, ?3)",
                params![
                    id,
                    serde_json::to_string(&offered).expect("serializable"),
                    chosen
                ],
            )
            .map_err(store_err(&self.path))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records what came of a decision.
    pub fn record_outcome(
        &self,
        id: i64,
        label: &str,
        cost: Option<f64>,
        note: Option<&str>,
    ) -> Result<i64> {
        if !["fine", "undone", "incident"].contains(&label) {
            return Err(Error::invalid(
                "--outcome",
                format!("'{label}': use fine, undone or incident"),
            ));
        }
        if let Some(c) = cost
            && !(c.is_finite() && c >= 0.0)
        {
            return Err(Error::invalid(
                "--cost",
                format!("must be a finite number ≥ 0 (a loss, in the scenario's units), got {c}"),
            ));
        }
        self.check_id(id)?;
        self.conn
            .execute(
                "INSERT INTO outcomes (decision_id, time, label, cost, note) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, now_rfc3339(), label, cost, note],
            )
            .map_err(store_err(&self.path))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Runs `f` in one immediate transaction, committed if it returns `Ok` and rolled back otherwise (then
    /// nothing of it is in the log). `f` gets the transaction and the mapping of its SQLite errors.
    pub fn transaction<T>(
        &mut self,
        f: impl FnOnce(&rusqlite::Transaction, &dyn Fn(rusqlite::Error) -> Error) -> Result<T>,
    ) -> Result<T> {
        let store = store_err(&self.path);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&store)?;
        let out = f(&tx, &store)?;
        tx.commit().map_err(&store)?;
        Ok(out)
    }

    /// Adds the [`READ_INDEXES`] a log written by an earlier cirl lacks (a no-op when they are there; a log that
    /// cannot be written is read without them, slowly).
    pub fn ensure_read_indexes(&self) {
        let _ = self.conn.execute_batch(READ_INDEXES);
        let _ = self.conn.execute_batch(CHOICES);
    }

    /// Whether the log has the `choices` table (a log of an earlier cirl on a read-only file may not).
    pub fn has_choices(&self) -> bool {
        self.conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'choices'",
                [],
                |_| Ok(()),
            )
            .is_ok()
    }

    /// Runs the query `sql`, handing each row, as `map` reads it, to `take`.
    pub fn query<T>(
        &self,
        sql: &str,
        map: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
        take: &mut impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.query_with(sql, [], map, take)
    }

    /// [`Log::query`] with parameters.
    pub fn query_with<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        map: impl FnMut(&rusqlite::Row) -> rusqlite::Result<T>,
        take: &mut impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let store = store_err(&self.path);
        let mut stmt = self.conn.prepare(sql).map_err(&store)?;
        for row in stmt.query_map(params, map).map_err(&store)? {
            take(row.map_err(&store)?)?;
        }
        Ok(())
    }

    /// The smallest and largest decision id (none in an empty log).
    pub fn id_range(&self) -> Result<Option<(i64, i64)>> {
        self.conn
            .query_row("SELECT min(id), max(id) FROM decisions", [], |r| {
                Ok(r.get::<_, Option<i64>>(0)?.zip(r.get::<_, Option<i64>>(1)?))
            })
            .map_err(store_err(&self.path))
    }

    /// The number of decisions logged.
    pub fn count(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT COUNT(*) FROM decisions", [], |r| r.get(0))
            .map_err(store_err(&self.path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_prints_rfc3339() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 24, "{t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{t}");
        assert!(
            t.as_str() > "2025-01-01" && t.as_str() < "2100-01-01",
            "{t}"
        );
    }

    #[test]
    fn decisions_answers_and_outcomes_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::open(&dir.path().join("d.sqlite")).unwrap();
        let e = Entry {
            runtime: "jsonl",
            session: Some("s"),
            tool_use_id: Some("t1"),
            tool: "Bash",
            input: "{}",
            call: "{}",
            class: Some("irreversible"),
            confidence: Some(0.9),
            confidence_source: "request",
            mv: Some("ask"),
            decision: "ask",
            reason: "why",
            scenario: "x",
            card: "h",
        };
        let id = log.append(&e).unwrap();
        assert_eq!(log.find_tool_use("t1").unwrap(), Some((id, "ask".into())));
        log.record_answer(id, "approve").unwrap();
        log.record_outcome(id, "incident", Some(200.0), Some("outage"))
            .unwrap();
        assert!(log.record_answer(id, "maybe").unwrap_err().is_input_error());
        assert!(
            log.record_answer(id + 7, "approve")
                .unwrap_err()
                .is_input_error()
        );
        assert!(
            log.record_outcome(id, "fine", Some(-1.0), None)
                .unwrap_err()
                .is_input_error()
        );
        assert_eq!(log.count().unwrap(), 1);
        // A second opener sees the same schema.
        let again = Log::open(&dir.path().join("d.sqlite")).unwrap();
        assert_eq!(again.count().unwrap(), 1);
    }
}
