//! Cassandra's `.pomdp` text format (the format of pomdp-solve, SARSOP/APPL and most POMDP benchmark files).
//!
//! Read: the preamble (`discount`, `values: reward|cost`, `states`, `actions`, `observations` as a count or a list
//! of names, `start` as a distribution, `uniform`, a state, or `include:`/`exclude:` lists) and the `T:`, `O:`, `R:`
//! entries in all their forms — single entries, rows and whole matrices, `uniform` and `identity`, names or
//! indices, `*` wildcards; later entries override earlier ones, as in pomdp-solve. Rewards may depend on
//! (a, s, s', o); solvers need only the expected R(s, a) = Σ T(s'|s,a)·O(o|s',a)·r(a, s, s', o), which is what the
//! model keeps. `values: cost` negates the entries.
//!
//! Written files list names, give every table as full matrices and use plain decimals (never scientific
//! notation), so pomdp-solve and SARSOP read them; numbers round-trip exactly.

use std::fmt::Write as _;
use std::path::Path;

use super::Tabular;
use crate::error::{Error, Result};

/// Parses `.pomdp` text; `origin` names it in errors.
pub fn parse(text: &str, origin: &str) -> Result<Tabular> {
    Parser::new(text, origin).parse()
}

/// Reads a `.pomdp` file.
pub fn read(path: &Path) -> Result<Tabular> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
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
    /// r[a][s][s'][o], dense (the format allows rewards to depend on all four).
    r: Vec<f64>,
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

    /// A keyword starts here: a keyword token followed by ':'.
    fn at_keyword(&self) -> bool {
        matches!(self.peek(), Some(k) if KEYWORDS.contains(&k))
            && self.toks.get(self.pos + 1).is_some_and(|t| t.text == ":")
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
            if (na as f64) * (ns as f64) * (ns as f64) * (no as f64) > 5e7 {
                return Err(self.err(format!("model too large for dense tables ({ns} states, {na} actions, {no} observations)")));
            }
            self.t = vec![vec![vec![0.0; ns]; ns]; na];
            self.o = vec![vec![vec![0.0; no]; ns]; na];
            self.r = vec![0.0; na * ns * ns * no];
        }
        Ok(())
    }

    fn parse(mut self) -> Result<Tabular> {
        while self.pos < self.toks.len() {
            let kw = self.next()?;
            self.expect_colon()?;
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
        self.finish()
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
            Some(t)
                if t.parse::<f64>().is_err() || self.states.iter().any(|s| s == t) && ns > 1 =>
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
        let idx = |a: usize, s: usize, e: usize, o: usize| ((a * ns + s) * ns + e) * no + o;
        match el.len() {
            4 => {
                let es = self.resolve(&el[2], &self.states, "state")?;
                let os = self.resolve(&el[3], &self.observations, "observation")?;
                let v = self.number()?;
                for &a in &acts {
                    for &s in &ss {
                        for &e in &es {
                            for &o in &os {
                                self.r[idx(a, s, e, o)] = v;
                            }
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
                            for (o, v) in row.iter().enumerate() {
                                self.r[idx(a, s, e, o)] = *v;
                            }
                        }
                    }
                }
            }
            2 => {
                let m = self.block(ns, no, false)?;
                for &a in &acts {
                    for &s in &ss {
                        for (e, row) in m.iter().enumerate() {
                            for (o, v) in row.iter().enumerate() {
                                self.r[idx(a, s, e, o)] = *v;
                            }
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

    fn finish(mut self) -> Result<Tabular> {
        self.ensure_tables()?;
        let (ns, na, no) = self.sizes()?;
        let discount = self
            .discount
            .ok_or_else(|| self.err("missing `discount:`"))?;
        let sign = if self.cost { -1.0 } else { 1.0 };
        let mut r = vec![vec![0.0; ns]; na];
        for (a, ra) in r.iter_mut().enumerate() {
            for (s, rs) in ra.iter_mut().enumerate() {
                let mut v = 0.0;
                for e in 0..ns {
                    let te = self.t[a][s][e];
                    if te == 0.0 {
                        continue;
                    }
                    for o in 0..no {
                        v += te * self.o[a][e][o] * self.r[((a * ns + s) * ns + e) * no + o];
                    }
                }
                *rs = sign * v;
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
            horizon: None,
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
    crate::experiment::write_atomic(path, write(m).as_bytes())
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
