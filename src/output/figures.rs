//! Figures of the learning studies: grid trajectories over a reward map (apprenticeship CIRL's Figure 1) and bar
//! charts with confidence whiskers (its results figure). SVG and PNG through [`super::plot::write_svg_png`].

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

use super::plot::{Figure, write_svg_png};
use crate::error::Result;

fn pe<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

/// One panel of a trajectory figure: a reward map and paths over it.
pub struct GridPanel {
    /// The panel's title.
    pub title: String,
    /// The grid's side.
    pub size: usize,
    /// reward[y·size + x].
    pub reward: Vec<f64>,
    /// (label, colour index, cells visited in order, starting from `start`).
    pub paths: Vec<(String, usize, Vec<usize>)>,
    /// The start cell.
    pub start: usize,
    /// Points marked with a cross (x, y in cells), e.g. the reward features' centres.
    pub centres: Vec<(f64, f64)>,
}

struct Grids<'a>(&'a [GridPanel], &'a str);

fn heat(v: f64, lo: f64, hi: f64) -> RGBColor {
    // Blue (low) – white – red (high).
    let t = if hi > lo { (v - lo) / (hi - lo) } else { 0.5 };
    let t = t.clamp(0.0, 1.0);
    if t < 0.5 {
        let u = t / 0.5;
        RGBColor((60.0 + 195.0 * u) as u8, (90.0 + 165.0 * u) as u8, 255)
    } else {
        let u = (t - 0.5) / 0.5;
        RGBColor(255, (255.0 - 165.0 * u) as u8, (255.0 - 195.0 * u) as u8)
    }
}

const PATH_COLOURS: [RGBColor; 4] = [
    RGBColor(0, 0, 0),
    RGBColor(20, 140, 40),
    RGBColor(140, 40, 160),
    RGBColor(230, 120, 0),
];

impl Figure for Grids<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(pe)?;
        let root = root.titled(self.1, ("sans-serif", 22)).map_err(pe)?;
        let areas = root.split_evenly((1, self.0.len()));
        for (panel, area) in self.0.iter().zip(areas) {
            let n = panel.size as f64;
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.title, ("sans-serif", 16))
                .margin(10)
                .x_label_area_size(20)
                .y_label_area_size(24)
                .build_cartesian_2d(-0.5..n - 0.5, -0.5..n - 0.5)
                .map_err(pe)?;
            // Grid cells are whole numbers.
            let cell = |x: &f64| {
                if x.fract().abs() < 1e-9 {
                    format!("{}", x.round() as i64)
                } else {
                    String::new()
                }
            };
            chart
                .configure_mesh()
                .disable_mesh()
                .x_label_formatter(&cell)
                .y_label_formatter(&cell)
                .label_style(("sans-serif", 11))
                .draw()
                .map_err(pe)?;
            let (lo, hi) = panel
                .reward
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                    (a.min(*v), b.max(*v))
                });
            let m = lo.abs().max(hi.abs());
            chart
                .draw_series(panel.reward.iter().enumerate().map(|(i, v)| {
                    let (x, y) = ((i % panel.size) as f64, (i / panel.size) as f64);
                    Rectangle::new(
                        [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                        heat(*v, -m, m).filled(),
                    )
                }))
                .map_err(pe)?;
            chart
                .draw_series(
                    panel
                        .centres
                        .iter()
                        .map(|c| Cross::new(*c, 5, BLACK.stroke_width(1))),
                )
                .map_err(pe)?;
            let cell = |s: usize| ((s % panel.size) as f64, (s / panel.size) as f64);
            for (k, (label, colour, path)) in panel.paths.iter().enumerate() {
                let col = PATH_COLOURS[*colour % PATH_COLOURS.len()];
                // Offset paths slightly so overlapping ones stay visible.
                let off = (k as f64 - 0.5) * 0.12;
                let pts: Vec<(f64, f64)> = std::iter::once(panel.start)
                    .chain(path.iter().copied())
                    .map(|s| {
                        let (x, y) = cell(s);
                        (x + off, y + off)
                    })
                    .collect();
                chart
                    .draw_series(LineSeries::new(pts.clone(), col.stroke_width(3)))
                    .map_err(pe)?
                    .label(label.as_str())
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(3))
                    });
                chart
                    .draw_series(pts.iter().map(|p| Circle::new(*p, 2, col.filled())))
                    .map_err(pe)?;
            }
            let s = cell(panel.start);
            chart
                .draw_series(std::iter::once(Circle::new(s, 7, BLACK.stroke_width(2))))
                .map_err(pe)?;
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .position(SeriesLabelPosition::UpperLeft)
                .draw()
                .map_err(pe)?;
        }
        Ok(())
    }
}

/// Writes a row of grid panels as `stem`.svg/png.
pub fn trajectories(
    dir: &Path,
    stem: &str,
    title: &str,
    panels: &[GridPanel],
) -> Result<Vec<PathBuf>> {
    let w = 420 * panels.len() as u32;
    write_svg_png(dir, stem, (w.max(600), 470), &Grids(panels, title))
}

/// One group of bars: a label and (series label, mean, 95% half-width) per bar.
pub struct BarGroup {
    /// The group's label.
    pub label: String,
    /// (series label, mean, 95% half-width) per bar.
    pub bars: Vec<(String, f64, f64)>,
}

/// One panel of a bar chart.
pub struct BarPanel {
    /// The panel's title.
    pub title: String,
    /// Its groups of bars.
    pub groups: Vec<BarGroup>,
}

struct Bars<'a>(&'a [BarPanel], &'a str);

impl Figure for Bars<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
    ) -> std::result::Result<(), String> {
        root.fill(&WHITE).map_err(pe)?;
        let root = root.titled(self.1, ("sans-serif", 22)).map_err(pe)?;
        let areas = root.split_evenly((1, self.0.len()));
        for (panel, area) in self.0.iter().zip(areas) {
            let ng = panel.groups.len();
            let nb = panel.groups.iter().map(|g| g.bars.len()).max().unwrap_or(1);
            let top = panel
                .groups
                .iter()
                .flat_map(|g| g.bars.iter().map(|b| b.1 + b.2))
                .fold(0.0f64, f64::max)
                * 1.35;
            let mut chart = ChartBuilder::on(&area)
                .caption(&panel.title, ("sans-serif", 16))
                .margin(12)
                .x_label_area_size(30)
                .y_label_area_size(50)
                .build_cartesian_2d(0.0..ng as f64, 0.0..top.max(1e-9))
                .map_err(pe)?;
            let yf = |y: &f64| super::plot::tick_label(*y, 0.0, top.max(1e-9), 10);
            chart
                .configure_mesh()
                .disable_x_mesh()
                .disable_x_axis()
                .x_labels(0)
                .y_label_formatter(&yf)
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(pe)?;
            // Group labels above the bars.
            for (gi, g) in panel.groups.iter().enumerate() {
                chart
                    .draw_series(std::iter::once(Text::new(
                        g.label.clone(),
                        (gi as f64 + 0.3, top * 0.96),
                        ("sans-serif", 14),
                    )))
                    .map_err(pe)?;
            }
            let width = 0.8 / nb as f64;
            for (gi, g) in panel.groups.iter().enumerate() {
                for (bi, (name, mean, half)) in g.bars.iter().enumerate() {
                    let x0 = gi as f64 + 0.1 + bi as f64 * width;
                    let col = PATH_COLOURS[(bi + 1) % PATH_COLOURS.len()];
                    let s = chart
                        .draw_series(std::iter::once(Rectangle::new(
                            [(x0, 0.0), (x0 + width * 0.9, *mean)],
                            col.mix(0.8).filled(),
                        )))
                        .map_err(pe)?;
                    if gi == 0 {
                        s.label(name.as_str()).legend(move |(x, y)| {
                            Rectangle::new([(x, y - 5), (x + 12, y + 5)], col.filled())
                        });
                    }
                    let xm = x0 + width * 0.45;
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(xm, mean - half), (xm, mean + half)],
                            BLACK.stroke_width(2),
                        )))
                        .map_err(pe)?;
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .position(SeriesLabelPosition::Coordinate(60, 40))
                .draw()
                .map_err(pe)?;
        }
        Ok(())
    }
}

/// Writes a bar chart as `stem`.svg/png.
pub fn bars(dir: &Path, stem: &str, title: &str, panels: &[BarPanel]) -> Result<Vec<PathBuf>> {
    write_svg_png(
        dir,
        stem,
        (380 * panels.len() as u32, 420),
        &Bars(panels, title),
    )
}
