//! Plots of experiment tables: Δ heatmaps with the Δ = 0 frontier and iso-lines, and line plots with
//! confidence bands. Every plot is written as SVG and PNG (fonts embedded, no system library needed).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use serde::{Deserialize, Serialize};

use super::table::Table;
use crate::error::{Error, Result};

/// A plot of the results.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Plot {
    /// "heatmap" (Δ over x × y with the Δ = 0 frontier), "lines" (a column against x, one row per x in a curve)
    /// or "path" (a curve per series through its rows in table order, marked at each row: one computed column
    /// against another, e.g. V against Δ as σ grows).
    pub kind: String,
    /// The column along the x axis.
    pub x: String,
    /// heatmap: the second axis; lines: the plotted column (default "delta").
    pub y: Option<String>,
    /// lines: one curve per value of this parameter.
    pub series: Option<String>,
    /// One panel per value of this parameter.
    pub panels: Option<String>,
    /// heatmap: the colored column (default "delta").
    pub z: Option<String>,
    /// heatmap: draw iso-lines of z at these levels.
    #[serde(default)]
    pub levels: Vec<f64>,
    /// Output file stem (default: kind_x_y).
    pub file: Option<String>,
    /// The plot's title (default: from the run's title).
    pub title: Option<String>,
    /// Draw from the experiment's further table of this name (e.g. "curves") rather than its results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// The x axis's label (default: from the column's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    /// The y axis's label (default: from the column's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
    /// Only the rows with these values (e.g. `select = { ask_cost = 0.1, human = "rational" }`): one slice of
    /// a grid with more axes than the plot shows. The frontier drawn on a heatmap is selected the same way.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub select: BTreeMap<String, Selected>,
}

/// A value a plot's rows are selected by.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Selected {
    /// A number (compared exactly, or within 1e-12 relative).
    Num(f64),
    /// A text (compared with the cell as CSV renders it).
    Text(String),
}

impl Selected {
    fn matches(&self, t: &Table, row: usize, col: &str) -> bool {
        match self {
            Selected::Num(x) => t
                .num(row, col)
                .is_some_and(|v| v == *x || (v - x).abs() <= 1e-12 * x.abs().max(v.abs())),
            Selected::Text(s) => t.text(row, col) == *s,
        }
    }
}

/// The rows of `t` that `select` keeps (columns `t` lacks are not a condition; `strict` makes them an error).
fn selected(t: &Table, select: &BTreeMap<String, Selected>, strict: bool) -> Result<Table> {
    if select.is_empty() {
        return Ok(t.clone());
    }
    if strict && let Some(c) = select.keys().find(|c| t.col(c).is_none()) {
        return Err(Error::invalid(
            "plot.select",
            format!("no column {c:?}; columns are {:?}", t.columns),
        ));
    }
    let mut out = Table::new(&t.columns.iter().map(String::as_str).collect::<Vec<_>>());
    for i in 0..t.rows.len() {
        if select
            .iter()
            .all(|(c, v)| t.col(c).is_none() || v.matches(t, i, c))
        {
            out.rows.push(t.rows[i].clone());
        }
    }
    if strict && out.rows.is_empty() && !t.rows.is_empty() {
        return Err(Error::invalid(
            "plot.select",
            "no row has these values; check them against the grid",
        ));
    }
    Ok(out)
}

const PANEL_W: u32 = 520;
const PANEL_H: u32 = 440;
const BAR_W: u32 = 140;
const FONT: &str = "sans-serif";

/// Registers the embedded font with plotters (once per process; every plot calls it).
pub fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded DejaVu Sans: PNG text renders on machines without system fonts.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// A readable axis label for a column name.
pub fn label(name: &str) -> String {
    match name {
        "mu" => "μ = E[U] (the robot's mean belief)".into(),
        "sigma" => "σ (the robot's uncertainty about U)".into(),
        "beta" => "β (human noise; 0 = rational)".into(),
        "p" => "p (human reliability)".into(),
        "cost" => "c (cost of asking)".into(),
        "delta" => "Δ = v_wait − max(v_act, v_off)".into(),
        "v_wait" => "v_wait = E[πH·U] − c".into(),
        "v_act" => "v_act = E[U]".into(),
        "value" => "V (true value of the robot's choice)".into(),
        "actions" => "|A|".into(),
        "p_allow" => "E[πH] (probability the human allows)".into(),
        other => other.into(),
    }
}

/// A tick label for `x` on an axis from `lo` to `hi` with about `n` labels: as many decimals as the tick spacing
/// needs (integers on an integer axis: "2000", not "2000.0"), never "−0" (a value within rounding of zero is
/// "0"), scientific notation beyond 10⁶ or below 10⁻⁴.
pub fn tick_label(x: f64, lo: f64, hi: f64, n: usize) -> String {
    let span = (hi - lo).abs();
    // The spacing of "nice" ticks (1, 2 or 5 times a power of ten) with at most n of them.
    let raw = span / n.max(1) as f64;
    let step = if raw > 0.0 && raw.is_finite() {
        let mag = 10f64.powf(raw.log10().floor());
        [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw * (1.0 - 1e-12))
            .unwrap_or(10.0 * mag)
    } else {
        raw
    };
    let scale = lo.abs().max(hi.abs()).max(step);
    if !x.is_finite() {
        return format!("{x}");
    }
    if x.abs() <= 1e-9 * scale {
        return "0".into();
    }
    if !(1e-4..1e6).contains(&scale) {
        let s = format!("{x:.2e}");
        return s.replace(".00e", "e");
    }
    let mut decimals = if step >= 1.0 || step <= 0.0 {
        0
    } else {
        ((-step.log10()).ceil() as usize).min(8)
    };
    // A tick the plotting library put between nice values (0.25 on an axis of halves) keeps its digits.
    while decimals < 10 {
        let p = 10f64.powi(decimals as i32);
        if ((x * p).round() / p - x).abs() <= 1e-9 * scale {
            break;
        }
        decimals += 1;
    }
    let s = format!("{x:.decimals$}");
    // A value that rounds to zero on this axis prints unsigned.
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_string()
    } else {
        s
    }
}

/// The padding of a value axis around \[lo, hi\]: 6% of the range, or — when every value is the same (a flat
/// curve) — 5% of the value (at least 0.05), so the tick labels stay distinct.
pub fn value_padding(lo: f64, hi: f64) -> f64 {
    let range = hi - lo;
    let scale = lo.abs().max(hi.abs());
    if range <= 1e-12 * scale.max(1e-300) || range == 0.0 {
        (0.05 * scale).max(0.05)
    } else {
        range * 0.06
    }
}

/// Labels on a line plot's x axis (wide numbers such as 10000 stay apart on a panel).
const X_LABELS: usize = 7;
/// Labels on a value axis.
const Y_LABELS: usize = 10;

fn short(name: &str) -> &str {
    match name {
        "mu" => "μ",
        "sigma" => "σ",
        "beta" => "β",
        "delta" => "Δ",
        "actions" => "|A|",
        other => other,
    }
}

fn pe<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Checks `plot` against a table of the results' shape (columns, and one row per curve or cell) without
/// drawing: run before the computation, so a bad `[[plot]]` is reported before any work is done.
pub fn check(plot: &Plot, table: &Table) -> Result<()> {
    // A table whose rows are known only once computed (a population's frontier) is checked by its columns.
    let table = selected(table, &plot.select, true)?;
    Spec::new(plot, &table, None).map(|_| ())
}

/// Draws `plot` from `table` (and the frontier, for heatmaps) into `dir`; returns the files written.
pub fn draw(
    dir: &Path,
    plot: &Plot,
    table: &Table,
    frontier: Option<&Table>,
    default_title: &str,
) -> Result<Vec<PathBuf>> {
    register_font();
    let stem = plot
        .file
        .clone()
        .unwrap_or_else(|| match plot.kind.as_str() {
            "heatmap" => format!("heatmap_{}_{}", plot.x, plot.y.as_deref().unwrap_or("y")),
            _ => format!("lines_{}_{}", plot.y.as_deref().unwrap_or("delta"), plot.x),
        });
    let title = plot
        .title
        .clone()
        .unwrap_or_else(|| default_title.to_string());
    let table = selected(table, &plot.select, true)?;
    let frontier = frontier
        .map(|f| selected(f, &plot.select, false))
        .transpose()?;
    let spec = Spec::new(plot, &table, frontier.as_ref())?;
    let (w, h) = spec.size();
    // Wide enough for the title (about 12 px per character at 24 px).
    let w = w.max(12 * title.chars().count() as u32 + 40);
    write_svg_png(dir, &stem, (w, h), &Titled(&spec, &title))
}

/// A figure that can draw itself on any plotters backend.
pub trait Figure {
    /// Draws the figure on `root`.
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String>;
}

struct Titled<'a, 'b>(&'a Spec<'b>, &'a str);

impl Figure for Titled<'_, '_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        self.0.render(root, self.1)
    }
}

/// Draws a figure twice — `stem.svg` and `stem.png` in `dir` — each to a temporary name renamed when complete.
pub fn write_svg_png(
    dir: &Path,
    stem: &str,
    size: (u32, u32),
    fig: &impl Figure,
) -> Result<Vec<PathBuf>> {
    register_font();
    let mut written = Vec::new();
    for ext in ["svg", "png"] {
        let path = dir.join(format!("{stem}.{ext}"));
        // The backend picks the image format from the extension, so the temporary keeps it.
        let tmp = dir.join(format!("{}.{ext}", super::temporary_name(stem)));
        let res = if ext == "svg" {
            let root = SVGBackend::new(&tmp, size).into_drawing_area();
            fig.draw(&root).and_then(|_| root.present().map_err(pe))
        } else {
            let root = BitMapBackend::new(&tmp, size).into_drawing_area();
            fig.draw(&root).and_then(|_| root.present().map_err(pe))
        };
        if let Err(message) = res {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::Plot {
                path: path.display().to_string(),
                message,
            });
        }
        std::fs::rename(&tmp, &path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

/// What one plot shows, extracted from the table and checked before drawing.
struct Spec<'a> {
    plot: &'a Plot,
    table: &'a Table,
    frontier: Option<&'a Table>,
    panels: Vec<String>,
}

impl<'a> Spec<'a> {
    fn new(plot: &'a Plot, table: &'a Table, frontier: Option<&'a Table>) -> Result<Self> {
        let need = |c: &str, key: &str| {
            if table.col(c).is_none() {
                Err(Error::invalid(
                    format!("plot.{key}"),
                    format!("no column {c:?}; columns are {:?}", table.columns),
                ))
            } else {
                Ok(())
            }
        };
        need(&plot.x, "x")?;
        if plot.kind == "heatmap" {
            need(plot.y.as_deref().unwrap_or(""), "y")?;
            need(plot.z.as_deref().unwrap_or("delta"), "z")?;
        } else {
            need(plot.y.as_deref().unwrap_or("delta"), "y")?;
            if let Some(s) = &plot.series {
                need(s, "series")?;
            }
        }
        let panels = match &plot.panels {
            Some(p) => {
                need(p, "panels")?;
                table.distinct(p)
            }
            None => vec![String::new()],
        };
        // Each curve (lines) or cell (heatmap) must get one row: otherwise another swept parameter is varying
        // within it and the plot would be meaningless.
        let mut seen = std::collections::HashSet::new();
        let key_cols: Vec<&str> = [
            plot.panels.as_deref(),
            plot.series.as_deref(),
            Some(plot.x.as_str()),
        ]
        .into_iter()
        .chain(std::iter::once(if plot.kind == "heatmap" {
            plot.y.as_deref()
        } else {
            None
        }))
        .flatten()
        .collect();
        for i in 0..table.rows.len() {
            // A row without an x (an empty cell: e.g. an example that has no β) is not drawn.
            if table.num(i, &plot.x).is_none() {
                continue;
            }
            let key: Vec<String> = key_cols.iter().map(|c| table.text(i, c)).collect();
            if plot.kind != "path" && !seen.insert(key.clone()) {
                return Err(Error::invalid(
                    "plot",
                    format!(
                        "several rows share {} in one {}: set `series` or `panels` to the other swept parameter",
                        key_cols
                            .iter()
                            .zip(&key)
                            .map(|(c, v)| format!("{c}={v}"))
                            .collect::<Vec<_>>()
                            .join(", "),
                        if plot.kind == "heatmap" {
                            "cell"
                        } else {
                            "curve"
                        }
                    ),
                ));
            }
        }
        if panels.len() > 12 {
            return Err(Error::invalid(
                "plot.panels",
                format!("{} panels is too many (at most 12)", panels.len()),
            ));
        }
        Ok(Spec {
            plot,
            table,
            frontier,
            panels,
        })
    }

    fn size(&self) -> (u32, u32) {
        let n = self.panels.len() as u32;
        let bar = if self.plot.kind == "heatmap" {
            BAR_W
        } else {
            0
        };
        (PANEL_W * n + bar, PANEL_H + 50)
    }

    fn rows_in_panel(&self, panel: &str) -> Vec<usize> {
        (0..self.table.rows.len())
            .filter(|&i| {
                self.plot
                    .panels
                    .as_ref()
                    .is_none_or(|p| self.table.text(i, p) == panel)
            })
            .collect()
    }

    fn panel_caption(&self, panel: &str) -> String {
        match &self.plot.panels {
            Some(p) => format!("{} = {}", short(p), panel),
            None => String::new(),
        }
    }

    fn render<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        title: &str,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(pe)?;
        let root = root.titled(title, (FONT, 24)).map_err(pe)?;
        if self.plot.kind == "heatmap" {
            self.heatmap(&root)
        } else {
            self.lines(&root)
        }
    }

    fn heatmap<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let (xk, yk) = (self.plot.x.as_str(), self.plot.y.as_deref().unwrap_or(""));
        let zk = self.plot.z.as_deref().unwrap_or("delta");
        let (w, _) = root.dim_in_pixel();
        let (main, bar) = root.split_horizontally(w - BAR_W);
        let areas = main.split_evenly((1, self.panels.len()));
        // One color scale over all panels, symmetric about 0 so Δ = 0 is white.
        // The colour bar spans the signs the data has: a quantity that is never negative (Δ with a rational
        // human) gets 0..max, not a diverging bar with an empty half.
        let (zlo, zhi) = (0..self.table.rows.len())
            .filter_map(|i| self.table.num(i, zk))
            .filter(|z| z.is_finite())
            .fold((0.0f64, 0.0f64), |(a, b), z| (a.min(z), b.max(z)));
        let zmax = zhi.max(-zlo).max(1e-300);
        let bar_range = (
            if zlo < 0.0 { -zmax } else { 0.0 },
            if zhi > 0.0 || zlo >= 0.0 { zmax } else { 0.0 },
        );
        for (area, panel) in areas.iter().zip(&self.panels) {
            let rows = self.rows_in_panel(panel);
            let grid = Grid::from_rows(self.table, &rows, xk, yk, zk)?;
            let (xr, yr) = (grid.edges(&grid.xs), grid.edges(&grid.ys));
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .caption(self.panel_caption(panel), (FONT, 20))
                .x_label_area_size(48)
                .y_label_area_size(62)
                .build_cartesian_2d(xr[0]..*xr.last().unwrap(), yr[0]..*yr.last().unwrap())
                .map_err(pe)?;
            let (x0, x1, y0, y1) = (xr[0], *xr.last().unwrap(), yr[0], *yr.last().unwrap());
            let xf = |x: &f64| tick_label(*x, x0, x1, X_LABELS);
            let yf = |y: &f64| tick_label(*y, y0, y1, Y_LABELS);
            chart
                .configure_mesh()
                .disable_mesh()
                .x_labels(X_LABELS)
                .y_labels(Y_LABELS)
                .x_label_formatter(&xf)
                .y_label_formatter(&yf)
                .x_desc(self.plot.x_label.clone().unwrap_or_else(|| label(xk)))
                .y_desc(self.plot.y_label.clone().unwrap_or_else(|| label(yk)))
                .axis_desc_style((FONT, 16))
                .label_style((FONT, 14))
                .draw()
                .map_err(pe)?;
            let mut cells = Vec::new();
            for (i, _) in grid.xs.iter().enumerate() {
                for (j, _) in grid.ys.iter().enumerate() {
                    if let Some(z) = grid.z[i][j] {
                        let c = diverging(z / zmax);
                        cells.push(Rectangle::new(
                            [(xr[i], yr[j]), (xr[i + 1], yr[j + 1])],
                            c.filled(),
                        ));
                    }
                }
            }
            chart.draw_series(cells).map_err(pe)?;
            for &level in &self.plot.levels {
                let segs = grid.contour(level);
                let style = RGBColor(60, 60, 60).stroke_width(1);
                chart
                    .draw_series(
                        segs.into_iter()
                            .map(|s| PathElement::new(vec![s.0, s.1], style)),
                    )
                    .map_err(pe)?;
            }
            // The frontier: Δ = 0 located by root finding (frontier.csv), not read off the grid.
            if let Some(f) = self
                .frontier
                .filter(|f| zk == "delta" || f.col("quantity").is_some())
            {
                let pts = self.frontier_points(f, panel, xk, yk);
                let style = BLACK.stroke_width(3);
                for line in pts {
                    if line.len() > 1 {
                        chart
                            .draw_series(LineSeries::new(line, style))
                            .map_err(pe)?;
                    } else {
                        chart
                            .draw_series(
                                line.into_iter().map(|p| Circle::new(p, 3, BLACK.filled())),
                            )
                            .map_err(pe)?;
                    }
                }
            }
        }
        colorbar(&bar, zmax, bar_range, zk)
    }

    /// Frontier roots in this panel as polylines in (x, y): consecutive slices with one root each are joined.
    fn frontier_points(&self, f: &Table, panel: &str, xk: &str, yk: &str) -> Vec<Vec<(f64, f64)>> {
        let mut out: Vec<Vec<(f64, f64)>> = Vec::new();
        let zk = self.plot.z.as_deref().unwrap_or("delta");
        // The rows along one of the plot's axes, of the plotted quantity where the frontier names one.
        let along = (0..f.rows.len())
            .map(|i| f.text(i, "along"))
            .find(|a| a == xk || a == yk);
        let Some(along) = along else {
            return out;
        };
        let other = if along == yk { xk } else { yk };
        let mut pts: Vec<(f64, f64)> = Vec::new();
        for i in 0..f.rows.len() {
            if f.text(i, "along") != along
                || (f.col("quantity").is_some() && f.text(i, "quantity") != zk)
            {
                continue;
            }
            // Roots, and single grid points where Δ = 0 within the tie tolerance (a root that falls on the grid).
            // (A population's frontier names a sign change on the grid `grid`.)
            let on_grid_tie = f.text(i, "kind") == "tie" && f.num(i, "lo") == f.num(i, "hi");
            if f.text(i, "kind") != "root" && f.text(i, "kind") != "grid" && !on_grid_tie {
                continue;
            }
            if let Some(p) = &self.plot.panels
                && f.text(i, p) != panel
            {
                continue;
            }
            if let (Some(x), Some(y)) = (f.num(i, xk), f.num(i, yk)) {
                pts.push((x, y));
            }
        }
        let key = |p: &(f64, f64)| if other == xk { p.0 } else { p.1 };
        pts.sort_by(|a, b| key(a).total_cmp(&key(b)));
        // Slices with one root join into a curve; slices with several roots are drawn as dots.
        let mut i = 0;
        let mut current: Vec<(f64, f64)> = Vec::new();
        while i < pts.len() {
            let mut j = i;
            while j + 1 < pts.len() && key(&pts[j + 1]) == key(&pts[i]) {
                j += 1;
            }
            if j == i {
                current.push(pts[i]);
            } else {
                if !current.is_empty() {
                    out.push(std::mem::take(&mut current));
                }
                out.extend(pts[i..=j].iter().map(|p| vec![*p]));
            }
            i = j + 1;
        }
        if !current.is_empty() {
            out.push(current);
        }
        out
    }

    fn lines<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        let xk = self.plot.x.as_str();
        let yk = self.plot.y.as_deref().unwrap_or("delta");
        let (lo_k, hi_k) = (format!("{yk}_ci_low"), format!("{yk}_ci_high"));
        let path = self.plot.kind == "path";
        let band = !path && self.table.col(&lo_k).is_some() && self.table.col(&hi_k).is_some();
        let areas = root.split_evenly((1, self.panels.len()));
        let series_names = match &self.plot.series {
            Some(s) => self.table.distinct(s),
            None => vec![String::new()],
        };
        for (area, panel) in areas.iter().zip(&self.panels) {
            let rows = self.rows_in_panel(panel);
            let mut xs = (f64::INFINITY, f64::NEG_INFINITY);
            let mut ys = (f64::INFINITY, f64::NEG_INFINITY);
            for &i in &rows {
                if let (Some(x), Some(y)) = (self.table.num(i, xk), self.table.num(i, yk)) {
                    xs = (xs.0.min(x), xs.1.max(x));
                    ys = (ys.0.min(y), ys.1.max(y));
                    if band {
                        for k in [&lo_k, &hi_k] {
                            if let Some(v) = self.table.num(i, k) {
                                ys = (ys.0.min(v), ys.1.max(v));
                            }
                        }
                    }
                }
            }
            if !xs.0.is_finite() || !ys.0.is_finite() {
                return Err(format!("no numeric data for {yk} against {xk}"));
            }
            let pad = value_padding(ys.0, ys.1);
            let xpad = if xs.1 > xs.0 { 0.0 } else { 0.5 };
            let (x0, x1, y0, y1) = (xs.0 - xpad, xs.1 + xpad, ys.0 - pad, ys.1 + pad);
            let mut chart = ChartBuilder::on(area)
                .margin(12)
                .caption(self.panel_caption(panel), (FONT, 20))
                .x_label_area_size(48)
                .y_label_area_size(70)
                .build_cartesian_2d(x0..x1, y0..y1)
                .map_err(pe)?;
            let xf = |x: &f64| tick_label(*x, x0, x1, X_LABELS);
            let yf = |y: &f64| tick_label(*y, y0, y1, Y_LABELS);
            chart
                .configure_mesh()
                .x_labels(X_LABELS)
                .y_labels(Y_LABELS)
                .x_label_formatter(&xf)
                .y_label_formatter(&yf)
                .x_desc(self.plot.x_label.clone().unwrap_or_else(|| label(xk)))
                .y_desc(self.plot.y_label.clone().unwrap_or_else(|| label(yk)))
                .axis_desc_style((FONT, 16))
                .label_style((FONT, 14))
                .light_line_style(RGBColor(235, 235, 235))
                .draw()
                .map_err(pe)?;
            if ys.0 - pad < 0.0 && ys.1 + pad > 0.0 {
                chart
                    .draw_series(LineSeries::new(
                        vec![(xs.0 - xpad, 0.0), (xs.1 + xpad, 0.0)],
                        RGBColor(120, 120, 120),
                    ))
                    .map_err(pe)?;
            }
            for (k, s) in series_names.iter().enumerate() {
                let color = palette(k);
                let mut pts: Vec<(f64, f64, f64, f64)> = rows
                    .iter()
                    .filter(|&&i| {
                        self.plot
                            .series
                            .as_ref()
                            .is_none_or(|c| &self.table.text(i, c) == s)
                    })
                    .filter_map(|&i| {
                        let (x, y) = (self.table.num(i, xk)?, self.table.num(i, yk)?);
                        let lo = if band {
                            self.table.num(i, &lo_k).unwrap_or(y)
                        } else {
                            y
                        };
                        let hi = if band {
                            self.table.num(i, &hi_k).unwrap_or(y)
                        } else {
                            y
                        };
                        Some((x, y, lo, hi))
                    })
                    .collect();
                if pts.is_empty() {
                    continue; // a series without this column (a closed loop's card has no posterior)
                }
                if !path {
                    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
                }
                if !path && pts.windows(2).any(|w| w[0].0 == w[1].0) {
                    return Err(format!(
                        "several rows share {xk} = {} in one curve: set `series` or `panels` to the other swept parameter",
                        pts.windows(2)
                            .find(|w| w[0].0 == w[1].0)
                            .map(|w| w[0].0)
                            .unwrap_or_default()
                    ));
                }
                if band {
                    let mut poly: Vec<(f64, f64)> = pts.iter().map(|p| (p.0, p.3)).collect();
                    poly.extend(pts.iter().rev().map(|p| (p.0, p.2)));
                    chart
                        .draw_series(std::iter::once(Polygon::new(poly, color.mix(0.2).filled())))
                        .map_err(pe)?;
                }
                let name = match &self.plot.series {
                    Some(c) => format!("{} = {s}", short(c)),
                    None => short(yk).to_string(),
                };
                chart
                    .draw_series(LineSeries::new(
                        pts.iter().map(|p| (p.0, p.1)),
                        color.stroke_width(2),
                    ))
                    .map_err(pe)?
                    .label(name)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
                    });
                if path {
                    chart
                        .draw_series(
                            pts.iter()
                                .map(|p| Circle::new((p.0, p.1), 3, color.filled())),
                        )
                        .map_err(pe)?;
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(180, 180, 180))
                .label_font((FONT, 14))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(pe)?;
        }
        Ok(())
    }
}

fn palette(k: usize) -> RGBColor {
    const C: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    C[k % C.len()]
}

/// Blue (t = −1) – white (0) – red (+1).
fn diverging(t: f64) -> RGBColor {
    let t = t.clamp(-1.0, 1.0);
    let (r, g, b) = if t >= 0.0 {
        (178.0, 24.0, 43.0)
    } else {
        (33.0, 102.0, 172.0)
    };
    let a = t.abs().powf(0.7);
    let mix = |c: f64| (255.0 + (c - 255.0) * a).round() as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// The colour bar from `range.0` to `range.1` (within ±zmax; the colours are the heatmap's, z/zmax).
fn colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    zmax: f64,
    range: (f64, f64),
    zk: &str,
) -> std::result::Result<(), String> {
    let (lo, hi) = range;
    let mut chart = ChartBuilder::on(area)
        .margin_top(40)
        .margin_bottom(60)
        .margin_left(10)
        .margin_right(10)
        .right_y_label_area_size(70)
        .caption(short(zk), (FONT, 18))
        .build_cartesian_2d(0.0..1.0, lo..hi)
        .map_err(pe)?;
    let yf = |y: &f64| tick_label(*y, lo, hi, 7);
    chart
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .label_style((FONT, 13))
        .y_labels(7)
        .y_label_formatter(&yf)
        .draw()
        .map_err(pe)?;
    let n = 100;
    chart
        .draw_series((0..n).map(|k| {
            let (a, b) = (
                lo + (hi - lo) * k as f64 / n as f64,
                lo + (hi - lo) * (k + 1) as f64 / n as f64,
            );
            Rectangle::new(
                [(0.0, a), (1.0, b)],
                diverging(0.5 * (a + b) / zmax).filled(),
            )
        }))
        .map_err(pe)?;
    Ok(())
}

/// Values of z on the x × y grid of one panel.
struct Grid {
    xs: Vec<f64>,
    ys: Vec<f64>,
    z: Vec<Vec<Option<f64>>>,
}

impl Grid {
    fn from_rows(
        t: &Table,
        rows: &[usize],
        xk: &str,
        yk: &str,
        zk: &str,
    ) -> std::result::Result<Grid, String> {
        let mut xs: Vec<f64> = rows.iter().filter_map(|&i| t.num(i, xk)).collect();
        let mut ys: Vec<f64> = rows.iter().filter_map(|&i| t.num(i, yk)).collect();
        for v in [&mut xs, &mut ys] {
            v.sort_by(f64::total_cmp);
            v.dedup();
        }
        if xs.len() < 2 || ys.len() < 2 {
            return Err(format!(
                "a heatmap needs at least two values of {xk} and of {yk}"
            ));
        }
        let mut z = vec![vec![None; ys.len()]; xs.len()];
        for &i in rows {
            if let (Some(x), Some(y)) = (t.num(i, xk), t.num(i, yk)) {
                let xi = xs
                    .binary_search_by(|v| v.total_cmp(&x))
                    .expect("x is on the grid");
                let yi = ys
                    .binary_search_by(|v| v.total_cmp(&y))
                    .expect("y is on the grid");
                if z[xi][yi].is_some() {
                    return Err(format!(
                        "several rows share {xk}={x}, {yk}={y} in one panel: set `panels` to the other swept parameter"
                    ));
                }
                z[xi][yi] = t.num(i, zk);
            }
        }
        Ok(Grid { xs, ys, z })
    }

    /// Cell edges: midpoints between grid values, extended by half a step at the ends.
    fn edges(&self, v: &[f64]) -> Vec<f64> {
        let n = v.len();
        let mut e = Vec::with_capacity(n + 1);
        e.push(v[0] - 0.5 * (v[1] - v[0]));
        for k in 0..n - 1 {
            e.push(0.5 * (v[k] + v[k + 1]));
        }
        e.push(v[n - 1] + 0.5 * (v[n - 1] - v[n - 2]));
        e
    }

    /// Marching squares: the segments of the iso-line z = level (linear interpolation on cell edges).
    fn contour(&self, level: f64) -> Vec<((f64, f64), (f64, f64))> {
        let mut segs = Vec::new();
        for i in 0..self.xs.len() - 1 {
            for j in 0..self.ys.len() - 1 {
                let c = [(i, j), (i + 1, j), (i + 1, j + 1), (i, j + 1)];
                let Some(v): Option<Vec<f64>> = c.iter().map(|&(a, b)| self.z[a][b]).collect()
                else {
                    continue;
                };
                let mut cross = Vec::new();
                for k in 0..4 {
                    let (a, b) = (k, (k + 1) % 4);
                    let (za, zb) = (v[a] - level, v[b] - level);
                    if (za < 0.0) != (zb < 0.0) {
                        let t = za / (za - zb);
                        let (pa, pb) = (c[a], c[b]);
                        let x = self.xs[pa.0] + t * (self.xs[pb.0] - self.xs[pa.0]);
                        let y = self.ys[pa.1] + t * (self.ys[pb.1] - self.ys[pa.1]);
                        cross.push((x, y));
                    }
                }
                if cross.len() >= 2 {
                    segs.push((cross[0], cross[1]));
                }
                if cross.len() == 4 {
                    segs.push((cross[2], cross[3]));
                }
            }
        }
        segs
    }
}

#[cfg(test)]
mod tick_tests {
    use super::*;

    #[test]
    fn tick_labels_have_the_decimals_their_axis_needs() {
        assert_eq!(tick_label(2000.0, 0.0, 10000.0, 7), "2000");
        assert_eq!(tick_label(-2.0, -2.0, 3.0, 7), "-2");
        assert_eq!(tick_label(0.25, 0.0, 1.0, 4), "0.25");
        assert_eq!(tick_label(0.3, 0.0, 1.0, 10), "0.3");
        assert_eq!(tick_label(-1e-17, -1.0, 1.0, 10), "0");
        assert_eq!(tick_label(-1e-12, -1.0, 1.0, 10), "0");
        assert_eq!(tick_label(1.0, -2.0, 2.0, 7), "1");
        assert_eq!(tick_label(1e300, 0.0, 1.7e308, 10), "1e300");
        // A flat curve at 1: the axis is padded so ten labels are distinct.
        let pad = value_padding(1.0, 1.0);
        let (lo, hi) = (1.0 - pad, 1.0 + pad);
        let labels: Vec<String> = (0..=10)
            .map(|k| tick_label(lo + (hi - lo) * k as f64 / 10.0, lo, hi, 10))
            .collect();
        let mut unique = labels.clone();
        unique.dedup();
        assert_eq!(unique, labels);
        assert_eq!(value_padding(0.0, 0.0), 0.05);
        assert!((value_padding(0.0, 1.0) - 0.06).abs() < 1e-15);
    }
}
