//! Cassandra's `.pomdp` text format (the format of pomdp-solve, SARSOP/APPL and most POMDP benchmark files).
//!
//! Read: the preamble (`discount`, `values: reward|cost`, `states`, `actions`, `observations` as a count or a list
//! of names, `start` as a distribution, `uniform`, a state, or `include:`/`exclude:` lists) and the `T:`, `O:`, `R:`
//! entries in all their forms — single entries, rows and whole matrices, `uniform` and `identity`, names or
//! indices, `*` wildcards; later entries override earlier ones, as in pomdp-solve. Rewards may depend on
//! (a, s, s', o); solvers need only the expected R(s, a) = Σ T(s'|s,a)·O(o|s',a)·r(a, s, s', o), which is what the
//! model keeps. `values: cost` negates the entries.
//!
//! Real files are read as they are written: a UTF-8 byte-order mark is skipped, `start include: …` and
//! `start exclude: …` (no colon after `start`) are the standard forms, and rows whose entries were rounded
//! (six decimals is common) are renormalised when their sum is within [`renormalise_tolerance`] of 1; the model's
//! `notes` say how many rows were changed and by how much. Rewards are held per (a, s, s') with per-observation
//! overrides only where a file gives them, so models such as Tag (870 states, 30 observations) fit.
//!
//! Written files list names, give every table as full matrices and use plain decimals (never scientific
//! notation), so pomdp-solve and SARSOP read them; numbers round-trip exactly.

use std::fmt::Write as _;
use std::path::Path;
use std::rc::Rc;

use std::collections::HashMap;

/// The reader's maps: foldhash, fixed seed (the keys are the file's own names and indices; lookups only, so the
/// order never shows).
type Map<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

use super::Tabular;
use super::sparse::Sparse;
use crate::error::{Error, Result};

/// Parses `.pomdp` text; `origin` names it in errors. The format has no horizon: a model [`write()`] wrote with
/// one records it in a comment (`# finite horizon: N decisions`), which is read back, so that cirl's own
/// exports of finite-horizon (e.g. undiscounted) models round-trip; other readers ignore it as a comment.
pub fn parse(text: &str, origin: &str) -> Result<Sparse> {
    Parser::new(text, origin).parse(written_horizon(text))
}

/// The horizon [`write()`] records in its header comment, if any.
fn written_horizon(text: &str) -> Option<usize> {
    text.lines()
        .take_while(|l| l.trim_start().starts_with('#'))
        .find_map(|l| {
            l.trim_start()
                .strip_prefix("# finite horizon: ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
}

/// Reads a `.pomdp` file.
pub fn read(path: &Path) -> Result<Sparse> {
    let text = crate::input::read_text(path, crate::input::MAX_TEXT_BYTES, "model")?;
    let mut m = parse(&text, &path.display().to_string())?;
    m.name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(m)
}

#[derive(Debug, Clone, PartialEq)]
struct Tok {
    text: String,
    line: usize,
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    origin: String,
    states: Vec<String>,
    actions: Vec<String>,
    observations: Vec<String>,
    discount: Option<f64>,
    cost: bool,
    start: Option<Vec<f64>>,
    /// Transition rows, indexed a·|S| + s: the (s', p) with p ≠ 0, s' ascending. A row written for many
    /// (action, state) pairs at once (`T: * identity`, `O: * uniform`) is shared, and copied when one of them is
    /// changed, so a wildcard entry costs a pointer per row, not an allocation.
    t: Vec<Row>,
    /// Observation rows, indexed a·|S| + s': the (o, p) with p ≠ 0, o ascending.
    o: Vec<Row>,
    /// Non-zero entries held in `t` and `o`.
    entries: usize,
    /// Reward entries by (a, s, s', o), `*` as [`ANY`]: (the entry's order, its value). The last entry matching
    /// an (a, s, s', o) gives its reward, as in pomdp-solve, so wildcards are kept as they are written.
    rewards: Map<[u32; 4], (u64, f64)>,
    /// Which wildcard patterns (bit i: element i is `*`) some reward entry has.
    patterns: [bool; 16],
    /// Whether some reward entry names an observation.
    by_observation: bool,
    /// Reward entries read so far (their order).
    order: u64,
    /// Name → index of the states, actions and observations.
    lookup: [Map<String, usize>; 3],
}

/// A row of a sparse table: (column, value), columns ascending, no zeros; shared, copied on write.
type Row = Rc<Vec<(u32, f64)>>;

/// `*` in a reward entry.
const ANY: u32 = u32::MAX;

/// A matrix or row as written: `uniform`, `identity` or numbers (row-major).
enum Block {
    Uniform,
    Identity,
    Numbers(Vec<f64>),
}

impl Block {
    /// Row `i` of the block (`cols` columns) as sparse entries.
    fn row(&self, i: usize, cols: usize) -> Row {
        Rc::new(match self {
            Block::Uniform => (0..cols as u32).map(|c| (c, 1.0 / cols as f64)).collect(),
            Block::Identity => vec![(i as u32, 1.0)],
            Block::Numbers(v) => v[i * cols..(i + 1) * cols]
                .iter()
                .enumerate()
                .filter(|(_, x)| **x != 0.0)
                .map(|(c, x)| (c as u32, *x))
                .collect(),
        })
    }

    /// An upper bound on the non-zero entries of one row.
    fn row_entries(&self, cols: usize) -> usize {
        match self {
            Block::Uniform | Block::Numbers(_) => cols,
            Block::Identity => 1,
        }
    }
}

/// Sets entry `c` of a sorted row to `p` (removing it when 0); returns the change in the number of entries.
fn set_entry(row: &mut Vec<(u32, f64)>, c: u32, p: f64) -> isize {
    match (row.binary_search_by_key(&c, |e| e.0), p == 0.0) {
        (Ok(i), true) => {
            row.remove(i);
            -1
        }
        (Ok(i), false) => {
            row[i].1 = p;
            0
        }
        (Err(_), true) => 0,
        (Err(i), false) => {
            row.insert(i, (c, p));
            1
        }
    }
}

/// How far from 1 a row's sum may be and still be read (then renormalised): what rounding each of its `k`
/// non-zero entries to six decimals can produce (k · 5·10⁻⁷), and at least 10⁻⁵.
pub fn renormalise_tolerance(k: usize) -> f64 {
    (k as f64 * 5e-7).max(1e-5)
}

const KEYWORDS: [&str; 9] = [
    "discount",
    "values",
    "states",
    "actions",
    "observations",
    "start",
    "T",
    "O",
    "R",
];

impl Parser {
    fn new(text: &str, origin: &str) -> Self {
        let mut toks = Vec::new();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("");
            for raw in line.replace(':', " : ").split_whitespace() {
                toks.push(Tok {
                    text: raw.to_string(),
                    line: i + 1,
                });
            }
        }
        Parser {
            toks,
            pos: 0,
            origin: origin.to_string(),
            states: vec![],
            actions: vec![],
            observations: vec![],
            discount: None,
            cost: false,
            start: None,
            t: vec![],
            o: vec![],
            entries: 0,
            rewards: Map::default(),
            patterns: [false; 16],
            by_observation: false,
            order: 0,
            lookup: Default::default(),
        }
    }

    fn err(&self, msg: impl Into<String>) -> Error {
        let line = self
            .toks
            .get(self.pos.min(self.toks.len().saturating_sub(1)))
            .map_or(0, |t| t.line);
        Error::Config {
            path: self.origin.clone(),
            message: format!("line {line}: {}", msg.into()),
        }
    }

    fn peek(&self) -> Option<&str> {
        self.toks.get(self.pos).map(|t| t.text.as_str())
    }

    fn next(&mut self) -> Result<String> {
        let t = self
            .toks
            .get(self.pos)
            .map(|t| t.text.clone())
            .ok_or_else(|| self.err("unexpected end of file"))?;
        self.pos += 1;
        Ok(t)
    }

    fn expect_colon(&mut self) -> Result<()> {
        match self.next()?.as_str() {
            ":" => Ok(()),
            other => {
                self.pos -= 1;
                Err(self.err(format!("expected ':', found '{other}'")))
            }
        }
    }

    /// A keyword starts here: a keyword token followed by ':', or `start include:` / `start exclude:`.
    fn at_keyword(&self) -> bool {
        self.keyword_at(self.pos)
    }

    fn keyword_at(&self, pos: usize) -> bool {
        let at = |k: usize| self.toks.get(pos + k).map(|t| t.text.as_str());
        match at(0) {
            Some("start") => {
                at(1) == Some(":")
                    || matches!(at(1), Some("include" | "exclude")) && at(2) == Some(":")
            }
            Some(k) => KEYWORDS.contains(&k) && at(1) == Some(":"),
            None => false,
        }
    }

    /// The number of tokens from here to the next keyword or the end.
    fn run_length(&self) -> usize {
        (self.pos..self.toks.len())
            .take_while(|&p| !self.keyword_at(p))
            .count()
    }

    fn number(&mut self) -> Result<f64> {
        let t = self.next()?;
        t.parse::<f64>().map_err(|_| {
            self.pos -= 1;
            self.err(format!("expected a number, found '{t}'"))
        })
    }

    /// Numbers up to the next keyword or the end.
    fn numbers(&mut self) -> Result<Vec<f64>> {
        let mut v = Vec::new();
        while self.pos < self.toks.len() && !self.at_keyword() {
            v.push(self.number()?);
        }
        Ok(v)
    }

    /// A count or a list of names.
    fn names(&mut self, what: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        while self.pos < self.toks.len() && !self.at_keyword() {
            names.push(self.next()?);
        }
        if names.len() == 1
            && let Ok(n) = names[0].parse::<usize>()
        {
            // The sparse tables hold at most MAX_SPARSE_ENTRIES entries and a row per (action, state); a count
            // past 10^6 could not be a model that fits.
            if n == 0 || n > 1_000_000 {
                return Err(self.err(format!("{what}: a count between 1 and 1000000, got {n}")));
            }
            return Ok((0..n).map(|i| i.to_string()).collect());
        }
        if names.is_empty() {
            return Err(self.err(format!("{what}: give a count or a list of names")));
        }
        Ok(names)
    }

    /// Keeps a name → index map of a list (states 0, actions 1, observations 2; the first of a repeated name).
    /// A list given by a count ("0", "1", …) needs none: its names are the indices [`Parser::resolve`] reads.
    fn indexed(&mut self, kind: usize, names: Vec<String>) -> Vec<String> {
        self.lookup[kind].clear();
        let counted = names
            .iter()
            .enumerate()
            .all(|(i, n)| n.parse::<usize>() == Ok(i));
        if counted {
            return names;
        }
        for (i, n) in names.iter().enumerate() {
            self.lookup[kind].entry(n.clone()).or_insert(i);
        }
        names
    }

    /// Indices matched by one element of an entry: a name, an index, or `*`.
    fn resolve(&self, tok: &str, list: &[String], what: &str) -> Result<Vec<usize>> {
        if tok == "*" {
            return Ok((0..list.len()).collect());
        }
        let kind = ["state", "action", "observation"]
            .iter()
            .position(|w| *w == what);
        if let Some(i) = kind.and_then(|k| self.lookup[k].get(tok)) {
            return Ok(vec![*i]);
        }
        match tok.parse::<usize>() {
            Ok(i) if i < list.len() => Ok(vec![i]),
            _ => Err(self.err(format!("unknown {what} '{tok}'"))),
        }
    }

    /// The ':'-separated elements of an entry (after `T:`), at most `max`.
    fn elements(&mut self, max: usize) -> Result<Vec<String>> {
        let mut el = vec![self.next()?];
        while el.len() < max && self.peek() == Some(":") {
            self.pos += 1;
            el.push(self.next()?);
        }
        Ok(el)
    }

    fn sizes(&self) -> Result<(usize, usize, usize)> {
        if self.states.is_empty() || self.actions.is_empty() || self.observations.is_empty() {
            return Err(
                self.err("declare states, actions and observations before T, O and R entries")
            );
        }
        Ok((
            self.states.len(),
            self.actions.len(),
            self.observations.len(),
        ))
    }

    fn ensure_tables(&mut self) -> Result<()> {
        let (ns, na, no) = self.sizes()?;
        if self.t.is_empty() {
            // Per (action, state): a row pointer in each table here, a row start in each compressed table and a
            // reward in the model; and the start belief. The entries are counted as they come (`room`).
            let per_row = 2 * size_of::<Row>() + 2 * size_of::<usize>() + size_of::<f64>();
            let what = format!("a model of {ns} states, {na} actions and {no} observations");
            crate::limits::check_memory(
                "states",
                (per_row * na) as f64 * ns as f64 + 8.0 * ns as f64,
                &what,
                "make it smaller",
            )
            .map_err(|e| self.err(e.to_string()))?;
            let empty = Row::default();
            self.t = vec![empty.clone(); na * ns];
            self.o = vec![empty; na * ns];
        }
        Ok(())
    }

    /// Refuses entries that would take the tables past [`crate::limits::MAX_SPARSE_ENTRIES`] non-zero entries.
    fn room(&self, more: f64) -> Result<()> {
        let n = self.entries as f64 + more;
        if n > crate::limits::MAX_SPARSE_ENTRIES {
            return Err(self.err(format!(
                "the transition and observation tables would hold {} non-zero entries, more than the {} one run may \
                 hold in memory; make the model smaller",
                crate::numerics::brief(n),
                crate::numerics::brief(crate::limits::MAX_SPARSE_ENTRIES)
            )));
        }
        Ok(())
    }

    /// Replaces a whole row of T (`obs` false) or O.
    fn set_row(&mut self, obs: bool, i: usize, row: Row) -> Result<()> {
        self.room(row.len() as f64)?;
        let table = if obs { &mut self.o } else { &mut self.t };
        self.entries = self.entries + row.len() - table[i].len();
        table[i] = row;
        Ok(())
    }

    /// Sets one entry of T (`obs` false) or O.
    fn set(&mut self, obs: bool, i: usize, c: usize, p: f64) -> Result<()> {
        self.room(1.0)?;
        let table = if obs { &mut self.o } else { &mut self.t };
        self.entries =
            (self.entries as isize + set_entry(Rc::make_mut(&mut table[i]), c as u32, p)) as usize;
        Ok(())
    }

    fn parse(mut self, horizon: Option<usize>) -> Result<Sparse> {
        while self.pos < self.toks.len() {
            let kw = self.next()?;
            // `start include: …` and `start exclude: …` have no colon after `start`.
            if !(kw == "start" && matches!(self.peek(), Some("include" | "exclude"))) {
                self.expect_colon()?;
            }
            match kw.as_str() {
                "discount" => self.number().map(|d| self.discount = Some(d)),
                "values" => {
                    let v = self.next()?;
                    match v.as_str() {
                        "reward" | "cost" => {
                            self.cost = v == "cost";
                            Ok(())
                        }
                        other => {
                            Err(self
                                .err(format!("values: expected reward or cost, found '{other}'")))
                        }
                    }
                }
                "states" | "actions" | "observations" if !self.t.is_empty() || self.start.is_some() => {
                    Err(self.err(format!(
                        "`{kw}:` after start, T, O or R entries; declare states, actions and observations once, first"
                    )))
                }
                "states" => self.names("states").map(|n| self.states = self.indexed(0, n)),
                "actions" => self.names("actions").map(|n| self.actions = self.indexed(1, n)),
                "observations" => self
                    .names("observations")
                    .map(|n| self.observations = self.indexed(2, n)),
                "start" => self.start(),
                "T" => self.table_entry(false),
                "O" => self.table_entry(true),
                "R" => self.reward(),
                other => Err(self.err(format!("unknown entry '{other}'"))),
            }?;
        }
        self.finish(horizon)
    }

    fn start(&mut self) -> Result<()> {
        let ns = self.sizes()?.0;
        let p = match self.peek() {
            Some("uniform") => {
                self.pos += 1;
                vec![1.0 / ns as f64; ns]
            }
            Some("include") | Some("exclude") => {
                let include = self.next()? == "include";
                self.expect_colon()?;
                let mut set = vec![!include; ns];
                while self.pos < self.toks.len() && !self.at_keyword() {
                    let t = self.next()?;
                    for i in self.resolve(&t, &self.states, "state")? {
                        set[i] = include;
                    }
                }
                let n = set.iter().filter(|x| **x).count();
                if n == 0 {
                    return Err(self.err("start: no state left"));
                }
                set.iter()
                    .map(|&x| if x { 1.0 / n as f64 } else { 0.0 })
                    .collect()
            }
            // One token naming a state (by name, or by index when there are several states); a run of numbers
            // is a distribution, even when the states are named by their indices.
            Some(t)
                if self.run_length() == 1
                    && (t.parse::<f64>().is_err()
                        || self.states.iter().any(|s| s == t) && ns > 1) =>
            {
                let t = self.next()?;
                let i = self.resolve(&t, &self.states, "state")?;
                let mut p = vec![0.0; ns];
                p[i[0]] = 1.0;
                p
            }
            _ => {
                let v = self.numbers()?;
                if v.len() != ns {
                    return Err(
                        self.err(format!("start: {} probabilities for {ns} states", v.len()))
                    );
                }
                v
            }
        };
        self.start = Some(p);
        Ok(())
    }

    /// The values of a row or matrix: `uniform`, `identity` (square only) or numbers.
    fn block(&mut self, rows: usize, cols: usize, square: bool) -> Result<Block> {
        match self.peek() {
            Some("uniform") => {
                self.pos += 1;
                Ok(Block::Uniform)
            }
            Some("identity") if square => {
                self.pos += 1;
                Ok(Block::Identity)
            }
            _ => {
                let v = self.numbers()?;
                if v.len() != rows * cols {
                    return Err(self.err(format!(
                        "expected {} numbers ({rows} × {cols}), found {}",
                        rows * cols,
                        v.len()
                    )));
                }
                Ok(Block::Numbers(v))
            }
        }
    }

    /// A `T:` (`obs` false) or `O:` entry: one entry, a row or a whole matrix, for the actions and states named.
    fn table_entry(&mut self, obs: bool) -> Result<()> {
        self.ensure_tables()?;
        let (ns, _, no) = self.sizes()?;
        let (cols, what) = if obs {
            (no, "observation")
        } else {
            (ns, "state")
        };
        let el = self.elements(3)?;
        let acts = self.resolve(&el[0], &self.actions, "action")?;
        match el.len() {
            3 => {
                let ss = self.resolve(&el[1], &self.states, "state")?;
                let cs = if obs {
                    self.resolve(&el[2], &self.observations, what)?
                } else {
                    self.resolve(&el[2], &self.states, what)?
                };
                let p = self.number()?;
                // A whole row at once (`*` in the last place) is set as a row.
                let whole = el[2] == "*";
                if whole {
                    self.room(
                        (acts.len() * ss.len()) as f64 * if p == 0.0 { 0.0 } else { cols as f64 },
                    )?;
                }
                let row: Row = Rc::new(if whole && p != 0.0 {
                    (0..cols as u32).map(|c| (c, p)).collect()
                } else {
                    vec![]
                });
                for &a in &acts {
                    for &s in &ss {
                        if whole {
                            self.set_row(obs, a * ns + s, row.clone())?;
                        } else {
                            for &c in &cs {
                                self.set(obs, a * ns + s, c, p)?;
                            }
                        }
                    }
                }
            }
            2 => {
                let ss = self.resolve(&el[1], &self.states, "state")?;
                let b = self.block(1, cols, false)?;
                self.room((acts.len() * ss.len() * b.row_entries(cols)) as f64)?;
                let row = b.row(0, cols);
                for &a in &acts {
                    for &s in &ss {
                        self.set_row(obs, a * ns + s, row.clone())?;
                    }
                }
            }
            _ => {
                let b = self.block(ns, cols, ns == cols)?;
                self.room((acts.len() * ns * b.row_entries(cols)) as f64)?;
                for s in 0..ns {
                    let row = b.row(s, cols);
                    for &a in &acts {
                        self.set_row(obs, a * ns + s, row.clone())?;
                    }
                }
            }
        }
        Ok(())
    }

    /// One element of a reward entry: an index, or [`ANY`] for `*`.
    fn pattern(&self, tok: &str, list: &[String], what: &str) -> Result<u32> {
        if tok == "*" {
            Ok(ANY)
        } else {
            self.resolve(tok, list, what).map(|i| i[0] as u32)
        }
    }

    fn reward(&mut self) -> Result<()> {
        self.ensure_tables()?;
        let (ns, no) = (self.states.len(), self.observations.len());
        let el = self.elements(4)?;
        if el.len() < 2 {
            return Err(self
                .err("R: needs at least an action and a start state (R: a : s [: s' [: o]] ...)"));
        }
        let a = self.pattern(&el[0], &self.actions, "action")?;
        let s = self.pattern(&el[1], &self.states, "state")?;
        match el.len() {
            4 => {
                let e = self.pattern(&el[2], &self.states, "state")?;
                let o = self.pattern(&el[3], &self.observations, "observation")?;
                let v = self.number()?;
                self.add_reward([a, s, e, o], v);
            }
            3 => {
                let e = self.pattern(&el[2], &self.states, "state")?;
                let Block::Numbers(row) = self.block(1, no, false)? else {
                    return Err(self.err("R: give one number per observation"));
                };
                self.add_reward_row([a, s, e], &row);
            }
            2 => {
                let Block::Numbers(m) = self.block(ns, no, false)? else {
                    return Err(self.err("R: give a matrix of numbers (one row per end state)"));
                };
                for (e, row) in m.chunks(no).enumerate() {
                    self.add_reward_row([a, s, e as u32], row);
                }
            }
            _ => {
                return Err(
                    self.err("R entries need at least an action and a start state: R: a : s ...")
                );
            }
        }
        Ok(())
    }

    /// Records r(a, s, s', o) = v for the pattern `key` (later entries override earlier ones).
    fn add_reward(&mut self, key: [u32; 4], v: f64) {
        let mask = key
            .iter()
            .enumerate()
            .fold(0, |m, (i, k)| m | (((*k == ANY) as usize) << i));
        self.patterns[mask] = true;
        self.by_observation |= key[3] != ANY;
        self.order += 1;
        self.rewards.insert(key, (self.order, v));
    }

    /// Sets r(a, s, s', ·) to one value per observation (a single entry for `*` when they are all the same).
    fn add_reward_row(&mut self, key: [u32; 3], row: &[f64]) {
        let [a, s, e] = key;
        if row.iter().all(|v| v.to_bits() == row[0].to_bits()) {
            self.add_reward([a, s, e, ANY], row[0]);
        } else {
            for (o, v) in row.iter().enumerate() {
                self.add_reward([a, s, e, o as u32], *v);
            }
        }
    }

    /// r(a, s, s', o): the value of the last reward entry matching it, 0 if none does.
    fn reward_of(&self, a: u32, s: u32, e: u32, o: u32) -> f64 {
        let full = [a, s, e, o];
        let mut best: Option<(u64, f64)> = None;
        for (mask, _) in self.patterns.iter().enumerate().filter(|(_, p)| **p) {
            let mut key = full;
            for (i, k) in key.iter_mut().enumerate() {
                if mask & (1 << i) != 0 {
                    *k = ANY;
                }
            }
            if let Some(&(order, v)) = self.rewards.get(&key)
                && best.is_none_or(|b| order > b.0)
            {
                best = Some((order, v));
            }
        }
        best.map_or(0.0, |b| b.1)
    }

    /// Renormalises the distributions whose sums are off by rounding (within [`renormalise_tolerance`]) and
    /// returns a note saying what changed; rows off by more are left for the model check to report.
    fn renormalise(&mut self) -> Option<String> {
        let mut count = 0usize;
        let mut worst = 0.0f64;
        let mut fix = |row: &mut dyn Iterator<Item = &mut f64>| {
            let row: Vec<&mut f64> = row.collect();
            let sum: f64 = row.iter().map(|x| **x).sum();
            let off = (sum - 1.0).abs();
            if off <= super::PROB_TOL || !sum.is_finite() || row.iter().any(|x| **x < 0.0) {
                return;
            }
            let k = row.iter().filter(|x| ***x != 0.0).count();
            if off <= renormalise_tolerance(k) {
                for x in row {
                    *x /= sum;
                }
                count += 1;
                worst = worst.max(off);
            }
        };
        if let Some(p) = self.start.as_mut() {
            fix(&mut p.iter_mut());
        }
        for row in self.t.iter_mut().chain(self.o.iter_mut()) {
            // A row that sums to 1 is left shared; one that does not gets its own copy to fix.
            if (row.iter().map(|e| e.1).sum::<f64>() - 1.0).abs() > super::PROB_TOL {
                fix(&mut Rc::make_mut(row).iter_mut().map(|e| &mut e.1));
            }
        }
        (count > 0).then(|| {
            format!(
                "renormalised {count} probability row{} whose sums differed from 1 by up to {} (rounded entries; \
                 the reader accepts a row whose sum is within max(1e-5, 5e-7 per non-zero entry) of 1)",
                if count == 1 { "" } else { "s" },
                crate::numerics::brief(worst)
            )
        })
    }

    fn finish(mut self, horizon: Option<usize>) -> Result<Sparse> {
        self.ensure_tables()?;
        let (ns, na, _) = self.sizes()?;
        let discount = self
            .discount
            .ok_or_else(|| self.err("missing `discount:`"))?;
        let notes: Vec<String> = self.renormalise().into_iter().collect();
        let sign = if self.cost { -1.0 } else { 1.0 };
        // R(s, a) = Σ T(s'|s,a)·O(o|s',a)·r(a, s, s', o); a reward that is the same wherever the weight falls
        // (the common `R: a : s : * : * v`) is kept exactly, so a written model reads back bit for bit.
        let mut r = vec![vec![0.0; ns]; na];
        for (a, ra) in r.iter_mut().enumerate() {
            for (s, rs) in ra.iter_mut().enumerate() {
                let mut v = 0.0;
                let mut same: Option<Option<f64>> = None;
                let mut note = |x: f64| {
                    same = match same {
                        None => Some(Some(x)),
                        Some(Some(y)) if y.to_bits() == x.to_bits() => Some(Some(y)),
                        _ => Some(None),
                    }
                };
                for &(e, te) in self.t[a * ns + s].iter() {
                    let orow = &self.o[a * ns + e as usize];
                    v += te
                        * if self.by_observation {
                            orow.iter()
                                .map(|&(o, p)| {
                                    let x = self.reward_of(a as u32, s as u32, e, o);
                                    note(x);
                                    p * x
                                })
                                .sum::<f64>()
                        } else {
                            let x = self.reward_of(a as u32, s as u32, e, ANY);
                            note(x);
                            orow.iter().map(|e| e.1).sum::<f64>() * x
                        };
                }
                *rs = sign * same.flatten().unwrap_or(v);
            }
        }
        let rows = |table: &[Row], a: usize| {
            super::sparse::Csr::from_rows(table[a * ns..(a + 1) * ns].iter().map(|r| r.as_slice()))
        };
        let t = (0..na).map(|a| rows(&self.t, a)).collect();
        let o = (0..na).map(|a| rows(&self.o, a)).collect();
        let m = Sparse {
            name: String::new(),
            initial: self
                .start
                .take()
                .unwrap_or_else(|| vec![1.0 / ns as f64; ns]),
            states: self.states,
            actions: self.actions,
            observations: self.observations,
            t,
            o,
            r,
            discount,
            horizon,
            notes,
        };
        m.check().map_err(|e| Error::Config {
            path: self.origin.clone(),
            message: e.to_string(),
        })?;
        Ok(m)
    }
}

/// Writes a model as `.pomdp` text: names, full matrices, plain decimals that round-trip exactly.
pub fn write(m: &Tabular) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# {} — written by cirl {}",
        m.name,
        env!("CARGO_PKG_VERSION")
    );
    if let Some(h) = m.horizon {
        let _ = writeln!(
            s,
            "# finite horizon: {h} decisions (the format has no horizon field)"
        );
    }
    let _ = writeln!(s, "discount: {}", num(m.discount));
    let _ = writeln!(s, "values: reward");
    let _ = writeln!(s, "states: {}", names(&m.states));
    let _ = writeln!(s, "actions: {}", names(&m.actions));
    let _ = writeln!(s, "observations: {}", names(&m.observations));
    let _ = writeln!(
        s,
        "start: {}",
        m.initial
            .iter()
            .map(|x| num(*x))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let _ = writeln!(s);
    for (a, an) in m.actions.iter().enumerate() {
        let _ = writeln!(s, "T: {}", safe(an, a));
        for row in &m.t[a] {
            let _ = writeln!(
                s,
                "{}",
                row.iter().map(|x| num(*x)).collect::<Vec<_>>().join(" ")
            );
        }
        let _ = writeln!(s);
    }
    for (a, an) in m.actions.iter().enumerate() {
        let _ = writeln!(s, "O: {}", safe(an, a));
        for row in &m.o[a] {
            let _ = writeln!(
                s,
                "{}",
                row.iter().map(|x| num(*x)).collect::<Vec<_>>().join(" ")
            );
        }
        let _ = writeln!(s);
    }
    for (a, an) in m.actions.iter().enumerate() {
        for (st, sn) in m.states.iter().enumerate() {
            let _ = writeln!(
                s,
                "R: {} : {} : * : * {}",
                safe(an, a),
                safe(sn, st),
                num(m.r[a][st])
            );
        }
    }
    s
}

/// A name usable in the format (no spaces, ':' or '#', not a keyword); otherwise the index.
fn safe(name: &str, i: usize) -> String {
    let ok = !name.is_empty()
        && !name.contains([':', '#', '*'])
        && !name.chars().any(char::is_whitespace)
        && !KEYWORDS.contains(&name)
        && !matches!(
            name,
            "uniform" | "identity" | "reward" | "cost" | "include" | "exclude"
        )
        && name.parse::<f64>().is_err();
    if ok { name.to_string() } else { i.to_string() }
}

fn names(list: &[String]) -> String {
    if list.iter().enumerate().all(|(i, n)| safe(n, i) == *n) {
        list.join(" ")
    } else {
        list.len().to_string()
    }
}

/// Plain decimal, shortest round-trip form (Rust's `Display` for f64 never uses an exponent).
fn num(x: f64) -> String {
    if x == 0.0 { "0".into() } else { format!("{x}") }
}

/// Writes a model to a `.pomdp` file atomically.
pub fn write_file(m: &Tabular, path: &Path) -> Result<()> {
    crate::output::write_atomic(path, write(m).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIGER: &str = "
# The tiger problem (Kaelbling, Littman & Cassandra 1998)
discount: 0.95
values: reward
states: tiger-left tiger-right
actions: listen open-left open-right
observations: tiger-left tiger-right
start: uniform

T: listen
identity

T: open-left
uniform

T: open-right
uniform

O: listen
0.85 0.15
0.15 0.85

O: open-left
uniform

O: open-right
uniform

R: listen : * : * : * -1
R: open-left : tiger-left : * : * -100
R: open-left : tiger-right : * : * 10
R: open-right : tiger-left : * : * 10
R: open-right : tiger-right : * : * -100
";

    #[test]
    fn parses_tiger() {
        let m = parse(TIGER, "tiger").unwrap().to_dense().unwrap();
        assert_eq!((m.n_states(), m.n_actions(), m.n_observations()), (2, 3, 2));
        assert_eq!(m.t[0][0], vec![1.0, 0.0]);
        assert_eq!(m.t[1][1], vec![0.5, 0.5]);
        assert_eq!(m.o[0][1], vec![0.15, 0.85]);
        assert_eq!(m.r[0], vec![-1.0, -1.0]);
        assert_eq!(m.r[1], vec![-100.0, 10.0]);
        assert_eq!(m.initial, vec![0.5, 0.5]);
    }

    #[test]
    fn entry_forms_wildcards_and_overrides() {
        let text = "discount: 0.9\nvalues: cost\nstates: 3\nactions: a b\nobservations: 2\nstart: include: 0 2\n\
                    T: * : * : * 0\nT: * : 0 : 1 1.0\nT: * : 1\n0.2 0.3 0.5\nT: b : 2 uniform\nT: a : 2 : 2 1\n\
                    O: * uniform\nO: a : 1 : 0 1\nO: a : 1 : 1 0\n\
                    R: * : * : * : * 1\nR: b : 1\n2 2\n4 4\n6 6\nR: a : 0 : 1 3 5";
        let m = parse(text, "t").unwrap().to_dense().unwrap();
        assert_eq!(m.initial, vec![0.5, 0.0, 0.5]);
        assert_eq!(m.t[0][0], vec![0.0, 1.0, 0.0]);
        assert_eq!(m.t[1][1], vec![0.2, 0.3, 0.5]);
        assert_eq!(m.t[1][2], vec![1.0 / 3.0; 3]);
        assert_eq!(m.t[0][2], vec![0.0, 0.0, 1.0]);
        assert_eq!(m.o[0][1], vec![1.0, 0.0]);
        // Costs are negated; a's reward from state 0 goes to s' = 1 (prob 1), observation 0 w.p. 1: 3.
        assert_eq!(m.r[0][0], -3.0);
        // b from state 1: s' ~ (0.2, 0.3, 0.5) with rows (2, 4, 6) for every o.
        assert!((m.r[1][1] + (0.2 * 2.0 + 0.3 * 4.0 + 0.5 * 6.0)).abs() < 1e-12);
    }

    #[test]
    fn writes_and_reads_back_exactly() {
        let mut m = parse(TIGER, "tiger").unwrap().to_dense().unwrap();
        m.name = "tiger".into();
        m.t[0][0] = vec![1.0 - 1e-20, 1e-20];
        m.initial = vec![0.3, 0.7];
        let text = write(&m);
        assert!(
            !text.contains("e-") && !text.contains("E-"),
            "scientific notation in:\n{text}"
        );
        let mut back = parse(&text, "back").unwrap().to_dense().unwrap();
        back.name = m.name.clone();
        assert_eq!(back, m);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse(
            "discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\nT: 0 : 0 : 5 1\n",
            "x",
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("line 5") && e.to_string().contains("unknown state '5'"),
            "{e}"
        );
        let e = parse(
            "discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\nT: 0\n0.5 0.5\n",
            "x",
        )
        .unwrap_err();
        assert!(e.to_string().contains("expected 4 numbers"), "{e}");
        let e = parse(
            "discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\nT: 0 uniform\nO: 0 uniform\n",
            "x",
        );
        assert!(e.is_ok());
        let e = parse(
            "discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\nT: 0 identity\n",
            "x",
        )
        .unwrap_err();
        assert!(e.to_string().contains("O[0][0]"), "{e}");
    }

    /// Inputs the fuzzer (tests/fuzz.rs) found panicking or allocating without bound: each is now one error.
    #[test]
    fn fuzzer_findings_are_errors() {
        let head = "discount: 0.9\nstates: 2\nactions: 1\nobservations: 1\n";
        for (text, expect) in [
            (
                format!("{head}R: *\n"),
                "at least an action and a start state",
            ),
            (
                format!("{head}T: * identity\nstates: 3\n"),
                "`states:` after",
            ),
            (
                format!("{head}start: uniform\nactions: 4\n"),
                "`actions:` after",
            ),
            (
                "discount: 0.9\nstates: 100000000\nactions: 1\nobservations: 1\n".to_string(),
                "between 1 and 1000000",
            ),
            (
                "discount: 0.9\nstates: 0\nactions: 1\nobservations: 1\n".to_string(),
                "between 1 and 1000000",
            ),
        ] {
            let e = parse(&text, "fuzz").unwrap_err().to_string();
            assert!(e.contains(expect), "{text:?}: {e}");
        }
    }
}
