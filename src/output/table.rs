//! A small column-named table: what sweeps and Monte Carlo studies produce, what plots, checks and CSV files
//! read.

use std::fmt::Write as _;
use std::path::Path;

use crate::error::Result;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number.
    Num(f64),
    /// A text.
    Text(String),
    /// A flag (CSV: true / false).
    Bool(bool),
    /// Nothing (CSV: an empty field).
    Empty,
}

impl Cell {
    /// The number in the cell (booleans as 0/1).
    pub fn num(&self) -> Option<f64> {
        match self {
            Cell::Num(x) => Some(*x),
            Cell::Bool(b) => Some(*b as u8 as f64),
            _ => None,
        }
    }

    /// The cell as CSV text: numbers in shortest round-trip form.
    pub fn render(&self) -> String {
        match self {
            Cell::Num(x) if *x == 0.0 => "0".to_string(), // also −0
            Cell::Num(x) => format!("{x:?}").trim_end_matches(".0").to_string(),
            Cell::Text(s) => s.clone(),
            Cell::Bool(b) => b.to_string(),
            Cell::Empty => String::new(),
        }
    }
}

impl From<f64> for Cell {
    fn from(x: f64) -> Self {
        Cell::Num(x)
    }
}
impl From<Option<f64>> for Cell {
    fn from(x: Option<f64>) -> Self {
        x.map_or(Cell::Empty, Cell::Num)
    }
}
impl From<&str> for Cell {
    fn from(s: &str) -> Self {
        Cell::Text(s.to_string())
    }
}
impl From<String> for Cell {
    fn from(s: String) -> Self {
        Cell::Text(s)
    }
}
impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell::Bool(b)
    }
}

/// Rows of cells under named columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// The column names.
    pub columns: Vec<String>,
    /// The rows, a cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(columns: &[&str]) -> Self {
        Table {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// The index of a column.
    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// Appends a row (must have one cell per column).
    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "row width must match the columns"
        );
        self.rows.push(row);
    }

    /// Appends a row given by column name, the other cells empty.
    pub fn push_named(&mut self, cells: &[(&str, Cell)]) {
        let mut row = vec![Cell::Empty; self.columns.len()];
        for (name, cell) in cells {
            let c = self
                .col(name)
                .unwrap_or_else(|| panic!("no column {name} in {:?}", self.columns));
            row[c] = cell.clone();
        }
        self.rows.push(row);
    }

    /// The number in `row` under `name`, if any.
    pub fn num(&self, row: usize, name: &str) -> Option<f64> {
        self.col(name).and_then(|c| self.rows[row][c].num())
    }

    /// The text of a cell under `name` ("" when missing).
    pub fn text(&self, row: usize, name: &str) -> String {
        self.col(name)
            .map(|c| self.rows[row][c].render())
            .unwrap_or_default()
    }

    /// The distinct rendered values of a column, in first-appearance order.
    pub fn distinct(&self, name: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if let Some(c) = self.col(name) {
            for r in &self.rows {
                let s = r[c].render();
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// The table as CSV text.
    pub fn to_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&self.columns).expect("writing to memory");
        for r in &self.rows {
            w.write_record(r.iter().map(Cell::render))
                .expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("flush to memory")).expect("CSV is UTF-8")
    }

    /// Reads CSV text written by [`Table::to_csv`]: cells of `text_columns` stay text; elsewhere an empty cell
    /// is empty, `true`/`false` a boolean and anything else must be a number (shortest round-trip form, so
    /// `to_csv` gives back the same bytes). Errors name the line and column.
    pub fn from_csv(text: &str, text_columns: &[&str]) -> std::result::Result<Table, String> {
        let mut r = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_reader(text.as_bytes());
        let columns: Vec<String> = r
            .headers()
            .map_err(|e| e.to_string())?
            .iter()
            .map(str::to_string)
            .collect();
        let is_text: Vec<bool> = columns
            .iter()
            .map(|c| text_columns.contains(&c.as_str()))
            .collect();
        let mut rows = Vec::new();
        for (i, rec) in r.records().enumerate() {
            let rec = rec.map_err(|e| e.to_string())?;
            if rec.len() != columns.len() {
                return Err(format!(
                    "line {}: {} cells under {} columns",
                    i + 2,
                    rec.len(),
                    columns.len()
                ));
            }
            let row = rec
                .iter()
                .zip(&is_text)
                .zip(&columns)
                .map(|((s, &text), col)| match s {
                    _ if text => Ok(Cell::Text(s.to_string())),
                    "" => Ok(Cell::Empty),
                    "true" => Ok(Cell::Bool(true)),
                    "false" => Ok(Cell::Bool(false)),
                    _ => s.parse::<f64>().map(Cell::Num).map_err(|_| {
                        format!("line {}, column `{col}`: {s:?} is not a number", i + 2)
                    }),
                })
                .collect::<std::result::Result<Vec<Cell>, String>>()?;
            rows.push(row);
        }
        Ok(Table { columns, rows })
    }

    /// Writes the CSV atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        super::write_atomic(path, self.to_csv().as_bytes())
    }

    /// A Markdown rendering of selected rows and columns (for summaries).
    pub fn to_markdown(&self, columns: &[&str], rows: &[usize]) -> String {
        let cols: Vec<&str> = columns
            .iter()
            .copied()
            .filter(|c| self.col(c).is_some())
            .collect();
        let mut s = String::new();
        let _ = writeln!(s, "| {} |", cols.join(" | "));
        let _ = writeln!(s, "|{}", "---|".repeat(cols.len()));
        for &i in rows {
            let cells: Vec<String> = cols
                .iter()
                .map(
                    |c| match &self.rows[i][self.col(c).expect("filtered above")] {
                        Cell::Num(x) => fmt_num(*x),
                        other => other.render(),
                    },
                )
                .collect();
            let _ = writeln!(s, "| {} |", cells.join(" | "));
        }
        s
    }
}

/// A number for humans: 6 significant digits.
pub fn fmt_num(x: f64) -> String {
    if x == 0.0 {
        "0".into()
    } else if x.abs() >= 1e-3 && x.abs() < 1e6 {
        let s = format!(
            "{:.*}",
            (5 - x.abs().log10().floor() as i32).max(0) as usize,
            x
        );
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        }
    } else {
        format!("{x:.5e}")
    }
}
