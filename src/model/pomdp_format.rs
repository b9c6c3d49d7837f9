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

use super::Tabular;
use crate::error::{Error, Result};

/// Parses `.pomdp` text; `origin` names it in errors. The format has no horizon: a model [`write()`] wrote with
/// one records it in a comment (`# finite horizon: N decisions`), which is read back, so that cirl's own
/// exports of finite-horizon (e.g. undiscounted) models round-trip; other readers ignore it as a comment.
pub fn parse(text: &str, origin: &str) -> Result<Tabular> {
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
pub fn read(path: &Path) -> Result<Tabular> {
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
    t: Vec<Vec<Vec<f64>>>,
    o: Vec<Vec<Vec<f64>>>,
    /// r[a][s][s'] for entries that do not depend on the observation, indexed (a·ns + s)·ns + s'.
    r: Vec<f64>,
    /// Per-observation rewards for the (a, s, s') that some entry gave by observation.
    r_obs: std::collections::HashMap<usize, Vec<f64>>,
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
            r: vec![],
            r_obs: Default::default(),
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
            // Dense tables hold at most 5·10^7 entries, so no model has more than 10^4 of anything.
            if n == 0 || n > 10_000 {
                return Err(self.err(format!("{what}: a count between 1 and 10000, got {n}")));
            }
            return Ok((0..n).map(|i| i.to_string()).collect());
        }
        if names.is_empty() {
            return Err(self.err(format!("{what}: give a count or a list of names")));
        }
        Ok(names)
    }

    /// Indices matched by one element of an entry: a name, an index, or `*`.
    fn resolve(&self, tok: &str, list: &[String], what: &str) -> Result<Vec<usize>> {
        if tok == "*" {
            return Ok((0..list.len()).collect());
        }
        if let Some(i) = list.iter().position(|n| n == tok) {
            return Ok(vec![i]);
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
            let (a, s, o) = (na as f64, ns as f64, no as f64);
            let what = format!("a model of {ns} states, {na} actions and {no} observations");
            crate::limits::check_table("states", a * s * s, &what)
                .and_then(|_| crate::limits::check_table("observations", a * s * o, &what))
                .map_err(|e| self.err(e.to_string()))?;
            self.t = vec![vec![vec![0.0; ns]; ns]; na];
            self.o = vec![vec![vec![0.0; no]; ns]; na];
            self.r = vec![0.0; na * ns * ns];
        }
        Ok(())
    }

    fn parse(mut self, horizon: Option<usize>) -> Result<Tabular> {
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
                "states" => self.names("states").map(|n| self.states = n),
                "actions" => self.names("actions").map(|n| self.actions = n),
                "observations" => self.names("observations").map(|n| self.observations = n),
                "start" => self.start(),
                "T" => self.transition(),
                "O" => self.observation(),
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
    fn block(&mut self, rows: usize, cols: usize, square: bool) -> Result<Vec<Vec<f64>>> {
        match self.peek() {
            Some("uniform") => {
                self.pos += 1;
                Ok(vec![vec![1.0 / cols as f64; cols]; rows])
            }
            Some("identity") if square => {
                self.pos += 1;
                Ok((0..rows)
                    .map(|i| (0..cols).map(|j| (i == j) as u8 as f64).collect())
                    .collect())
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
                Ok(v.chunks(cols).map(|c| c.to_vec()).collect())
            }
        }
    }

    fn transition(&mut self) -> Result<()> {
        self.ensure_tables()?;
        let ns = self.states.len();
        let el = self.elements(3)?;
        let acts = self.resolve(&el[0], &self.actions, "action")?;
        match el.len() {
            3 => {
                let (ss, es) = (
                    self.resolve(&el[1], &self.states, "state")?,
                    self.resolve(&el[2], &self.states, "state")?,
                );
                let p = self.number()?;
                for &a in &acts {
                    for &s in &ss {
                        for &e in &es {
                            self.t[a][s][e] = p;
                        }
                    }
                }
            }
            2 => {
                let ss = self.resolve(&el[1], &self.states, "state")?;
                let row = self.block(1, ns, false)?.remove(0);
                for &a in &acts {
                    for &s in &ss {
                        self.t[a][s] = row.clone();
                    }
                }
            }
            _ => {
                let m = self.block(ns, ns, true)?;
                for &a in &acts {
                    self.t[a] = m.clone();
                }
            }
        }
        Ok(())
    }

    fn observation(&mut self) -> Result<()> {
        self.ensure_tables()?;
        let (ns, no) = (self.states.len(), self.observations.len());
        let el = self.elements(3)?;
        let acts = self.resolve(&el[0], &self.actions, "action")?;
        match el.len() {
            3 => {
                let es = self.resolve(&el[1], &self.states, "state")?;
                let os = self.resolve(&el[2], &self.observations, "observation")?;
                let p = self.number()?;
                for &a in &acts {
                    for &e in &es {
                        for &o in &os {
                            self.o[a][e][o] = p;
                        }
                    }
                }
            }
            2 => {
                let es = self.resolve(&el[1], &self.states, "state")?;
                let row = self.block(1, no, false)?.remove(0);
                for &a in &acts {
                    for &e in &es {
                        self.o[a][e] = row.clone();
                    }
                }
            }
            _ => {
                let m = self.block(ns, no, ns == no)?;
                for &a in &acts {
                    self.o[a] = m.clone();
                }
            }
        }
        Ok(())
    }

    fn reward(&mut self) -> Result<()> {
        self.ensure_tables()?;
        let (ns, no) = (self.states.len(), self.observations.len());
        let el = self.elements(4)?;
        if el.len() < 2 {
            return Err(self
                .err("R: needs at least an action and a start state (R: a : s [: s' [: o]] ...)"));
        }
        let acts = self.resolve(&el[0], &self.actions, "action")?;
        let ss = self.resolve(&el[1], &self.states, "state")?;
        match el.len() {
            4 => {
                let es = self.resolve(&el[2], &self.states, "state")?;
                let os = (el[3] != "*")
                    .then(|| self.resolve(&el[3], &self.observations, "observation"))
                    .transpose()?;
                let v = self.number()?;
                for &a in &acts {
                    for &s in &ss {
                        for &e in &es {
                            self.set_reward(a, s, e, os.as_deref(), v);
                        }
                    }
                }
            }
            3 => {
                let es = self.resolve(&el[2], &self.states, "state")?;
                let row = self.block(1, no, false)?.remove(0);
                for &a in &acts {
                    for &s in &ss {
                        for &e in &es {
                            self.set_reward_row(a, s, e, &row);
                        }
                    }
                }
            }
            2 => {
                let m = self.block(ns, no, false)?;
                for &a in &acts {
                    for &s in &ss {
                        for (e, row) in m.iter().enumerate() {
                            self.set_reward_row(a, s, e, row);
                        }
                    }
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

    /// Sets r(a, s, s', o) for the observations `os` (`None`: all of them); a later entry overrides an earlier.
    fn set_reward(&mut self, a: usize, s: usize, e: usize, os: Option<&[usize]>, v: f64) {
        let (ns, no) = (self.states.len(), self.observations.len());
        let i = (a * ns + s) * ns + e;
        match os {
            None => {
                self.r[i] = v;
                self.r_obs.remove(&i);
            }
            Some(os) => {
                let base = self.r[i];
                let row = self.r_obs.entry(i).or_insert_with(|| vec![base; no]);
                for &o in os {
                    row[o] = v;
                }
            }
        }
    }

    /// Sets r(a, s, s', ·) to one value per observation.
    fn set_reward_row(&mut self, a: usize, s: usize, e: usize, row: &[f64]) {
        if row.iter().all(|v| v.to_bits() == row[0].to_bits()) {
            self.set_reward(a, s, e, None, row[0]);
        } else {
            let ns = self.states.len();
            self.r_obs.insert((a * ns + s) * ns + e, row.to_vec());
        }
    }

    /// Renormalises the distributions whose sums are off by rounding (within [`renormalise_tolerance`]) and
    /// returns a note saying what changed; rows off by more are left for the model check to report.
    fn renormalise(&mut self) -> Option<String> {
        let mut count = 0usize;
        let mut worst = 0.0f64;
        let mut fix = |row: &mut Vec<f64>| {
            let sum: f64 = row.iter().sum();
            let off = (sum - 1.0).abs();
            if off <= super::PROB_TOL || !sum.is_finite() || row.iter().any(|x| *x < 0.0) {
                return;
            }
            let k = row.iter().filter(|x| **x != 0.0).count();
            if off <= renormalise_tolerance(k) {
                for x in row.iter_mut() {
                    *x /= sum;
                }
                count += 1;
                worst = worst.max(off);
            }
        };
        if let Some(p) = self.start.as_mut() {
            fix(p);
        }
        for table in [&mut self.t, &mut self.o] {
            for rows in table.iter_mut() {
                for row in rows.iter_mut() {
                    fix(row);
                }
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

    #[allow(clippy::needless_range_loop)] // s' indexes T, O, the rewards and the O sums together
    fn finish(mut self, horizon: Option<usize>) -> Result<Tabular> {
        self.ensure_tables()?;
        let (ns, na, no) = self.sizes()?;
        let discount = self
            .discount
            .ok_or_else(|| self.err("missing `discount:`"))?;
        let notes: Vec<String> = self.renormalise().into_iter().collect();
        let sign = if self.cost { -1.0 } else { 1.0 };
        let osum: Vec<Vec<f64>> = self
            .o
            .iter()
            .map(|rows| rows.iter().map(|row| row.iter().sum()).collect())
            .collect();
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
                for e in 0..ns {
                    let te = self.t[a][s][e];
                    if te == 0.0 {
                        continue;
                    }
                    let i = (a * ns + s) * ns + e;
                    v += te
                        * match self.r_obs.get(&i) {
                            Some(row) => (0..no)
                                .filter(|&o| self.o[a][e][o] != 0.0)
                                .map(|o| {
                                    note(row[o]);
                                    self.o[a][e][o] * row[o]
                                })
                                .sum::<f64>(),
                            None => {
                                note(self.r[i]);
                                osum[a][e] * self.r[i]
                            }
                        };
                }
                *rs = sign * same.flatten().unwrap_or(v);
            }
        }
        let m = Tabular {
            name: String::new(),
            initial: self
                .start
                .take()
                .unwrap_or_else(|| vec![1.0 / ns as f64; ns]),
            states: self.states,
            actions: self.actions,
            observations: self.observations,
            t: self.t,
            o: self.o,
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
        let m = parse(TIGER, "tiger").unwrap();
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
        let m = parse(text, "t").unwrap();
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
        let mut m = parse(TIGER, "tiger").unwrap();
        m.name = "tiger".into();
        m.t[0][0] = vec![1.0 - 1e-20, 1e-20];
        m.initial = vec![0.3, 0.7];
        let text = write(&m);
        assert!(
            !text.contains("e-") && !text.contains("E-"),
            "scientific notation in:\n{text}"
        );
        let mut back = parse(&text, "back").unwrap();
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
                "between 1 and 10000",
            ),
            (
                "discount: 0.9\nstates: 0\nactions: 1\nobservations: 1\n".to_string(),
                "between 1 and 10000",
            ),
        ] {
            let e = parse(&text, "fuzz").unwrap_err().to_string();
            assert!(e.contains(expect), "{text:?}: {e}");
        }
    }
}
