//! Decision maps of `cirl calibrate`: for one action class, the class-level move (act / ask / block / hand over)
//! over the axes an engineer turns — the cost of asking against the reviewer's reliability (catch rate, β or p;
//! the hand-over cost for reviewers without one), and, for a class with a loss tail, the tail's probability
//! against its severity. Ranges are set around the scenario's point and the class's flip points; a map on
//! which every cell is the same move says nothing, so it is not drawn (the card says so). Written as SVG and PNG
//! (embedded font).

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use rayon::prelude::*;

use super::axes::{self, Axis};
use super::model::Move;
use super::robust::ClassFlips;
use super::scenario::Scenario;
use crate::error::Result;

const NX: usize = 72;
const NY: usize = 48;

fn color(m: Move) -> RGBColor {
    match m {
        Move::Act => RGBColor(120, 190, 120),
        Move::Ask => RGBColor(245, 190, 80),
        Move::Block => RGBColor(150, 150, 160),
        Move::HandOver => RGBColor(215, 90, 80),
    }
}

struct Map {
    xs: Vec<f64>,
    ys: Vec<f64>,
    log_x: bool,
    log_y: bool,
    cells: Vec<Move>,
    x_label: String,
    y_label: String,
    marker: Option<(f64, f64)>,
}

/// The flips of a class on an axis.
fn flips_on(f: &ClassFlips, axis: Axis) -> Vec<f64> {
    f.decision
        .iter()
        .filter(|a| a.axis == axis)
        .flat_map(|a| a.flips.iter().map(|t| t.at))
        .collect()
}

/// A range around `now` that holds the flips on the axis (within `limits`).
fn span(now: f64, flips: &[f64], limits: (f64, f64), log: bool) -> (f64, f64) {
    let mut lo = now;
    let mut hi = now;
    for &x in flips {
        lo = lo.min(x);
        hi = hi.max(x);
    }
    if log {
        let (lo, hi) = (lo.max(limits.0) / 4.0, hi.min(limits.1) * 4.0);
        (lo.max(limits.0), hi.min(limits.1).max(lo * 10.0))
    } else {
        let w = (hi - lo).max(0.5 * now.abs()).max(1e-9);
        ((lo - 0.5 * w).max(limits.0), (hi + 0.5 * w).min(limits.1))
    }
}

fn axis_points(lo: f64, hi: f64, log: bool, n: usize) -> Vec<f64> {
    (0..n)
        .map(|i| {
            let t = (i as f64 + 0.5) / n as f64;
            if log {
                (lo.ln() + (hi.ln() - lo.ln()) * t).exp()
            } else {
                lo + (hi - lo) * t
            }
        })
        .collect()
}

/// Draws the decision maps of class `k` (its reviewer at its deployed state: `s`) into `dir`; returns the files
/// written and a note per map not drawn.
pub fn draw_class(
    s: &Scenario,
    k: usize,
    flips: &ClassFlips,
    dir: &Path,
) -> Result<(Vec<PathBuf>, Vec<String>)> {
    crate::output::plot::register_font();
    let c = &s.classes[k];
    let slug = super::card::slug(&c.name);
    let scale = s
        .utility_prior(c)
        .map(|u| u.scale())
        .unwrap_or(1.0)
        .max(1e-9);
    let mut files = Vec::new();
    let mut notes = Vec::new();
    let value = |t: &Scenario| -> Option<Move> {
        let cc = &t.classes[k];
        let u = t.utility_prior(cc).ok()?;
        Some(
            super::model::class_values(&u, &t.reviewer.human, cc.undo_cost, &t.costs(cc))
                .best()
                .0,
        )
    };
    let mut maps: Vec<(String, String, Axis, Axis)> = Vec::new();
    let y_axis = Axis::reviewer_axes(&s.reviewer.human)
        .last()
        .copied()
        .unwrap_or(Axis::HandoverCost);
    maps.push((
        format!("decision_{slug}_cost_reviewer"),
        format!("{}: move over the cost of asking and the reviewer", c.name),
        Axis::AskCost,
        y_axis,
    ));
    if axes::tail_index(&c.prior).is_some() {
        maps.push((
            format!("decision_{slug}_tail"),
            format!(
                "{}: move over the loss tail's probability and severity",
                c.name
            ),
            Axis::TailWeight,
            Axis::TailSeverity,
        ));
    }
    for (stem, title, xa, ya) in maps {
        let (Some(xn), Some(yn)) = (axes::value(s, k, xa), axes::value(s, k, ya)) else {
            continue;
        };
        let log = |a: Axis| matches!(a, Axis::TailWeight | Axis::TailSeverity | Axis::Beta);
        let lim = |a: Axis| {
            let (lo, hi, _) = a.range(if a == xa { xn } else { yn }, scale);
            (lo, hi)
        };
        let (x0, x1) = span(xn, &flips_on(flips, xa), lim(xa), log(xa));
        let (y0, y1) = span(yn, &flips_on(flips, ya), lim(ya), log(ya));
        let xs = axis_points(x0, x1, log(xa), NX);
        let ys = axis_points(y0, y1, log(ya), NY);
        // A row at one y; along x only the cost of asking changes (map 1), so the quadratures run once a row.
        let rows: Vec<Vec<Option<Move>>> = (0..NY)
            .into_par_iter()
            .map(|j| {
                let Ok(t) = axes::set(s, Some(k), ya, ys[j]) else {
                    return vec![None; NX];
                };
                if xa == Axis::TailWeight {
                    let Some(f) = axes::tail_weight_values(&t, k) else {
                        return vec![None; NX];
                    };
                    xs.iter().map(|&x| Some(f(x).best().0)).collect()
                } else if xa == Axis::AskCost {
                    let cc = &t.classes[k];
                    let Ok(u) = t.utility_prior(cc) else {
                        return vec![None; NX];
                    };
                    let st = super::model::stakes(&u, cc.undo_cost);
                    let ans = super::model::answers(&u, &t.reviewer.human, cc.undo_cost, &st);
                    xs.iter()
                        .map(|&x| {
                            let costs = super::model::Costs {
                                ask: x,
                                ..t.costs(cc)
                            };
                            let l = super::model::Lines::new(&st, &ans, &costs);
                            Some(
                                super::model::Values(Move::ALL.map(|m| l.get(m).at(st.p_good)))
                                    .best()
                                    .0,
                            )
                        })
                        .collect()
                } else {
                    xs.iter()
                        .map(|&x| value(&axes::set(&t, Some(k), xa, x).ok()?))
                        .collect()
                }
            })
            .collect();
        let cells: Vec<Move> = rows
            .into_iter()
            .flatten()
            .map(|m| m.unwrap_or(Move::Act))
            .collect();
        if cells.iter().all(|m| *m == cells[0]) {
            notes.push(format!(
                "{}: no map over ({}, {}): {} everywhere in [{}, {}] × [{}, {}]",
                c.name,
                xa.as_str(),
                ya.as_str(),
                cells[0].as_str(),
                crate::output::table::fmt_num(x0),
                crate::output::table::fmt_num(x1),
                crate::output::table::fmt_num(y0),
                crate::output::table::fmt_num(y1)
            ));
            continue;
        }
        files.extend(render(
            dir,
            &stem,
            &title,
            &Map {
                xs,
                ys,
                log_x: log(xa),
                log_y: log(ya),
                cells,
                x_label: label(xa, s),
                y_label: label(ya, s),
                marker: Some((xn, yn)),
            },
        )?);
    }
    Ok((files, notes))
}

fn label(a: Axis, s: &Scenario) -> String {
    let u = if s.units.is_empty() {
        String::new()
    } else {
        format!(", {}", s.units)
    };
    match a {
        Axis::AskCost => format!("c: cost of asking{u}"),
        Axis::HandoverCost => format!("h: cost of a hand-over{u}"),
        Axis::ApproveGood => "reviewer's approval rate on good actions".into(),
        Axis::CatchBad => "reviewer's catch rate on bad actions".into(),
        Axis::Beta => "β: Boltzmann reviewer's noise".into(),
        Axis::P => "p: p-rational reviewer's reliability".into(),
        Axis::TailWeight => "probability of the loss tail".into(),
        Axis::TailSeverity => "severity of the loss tail (× stated)".into(),
        Axis::Ece => "ECE".into(),
        Axis::Auroc => "AUROC".into(),
    }
}

fn pe<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

struct Titled<'a>(&'a Map, &'a str);

impl crate::output::plot::Figure for Titled<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), String> {
        draw_map(root, self.1, self.0)
    }
}

fn render(dir: &Path, stem: &str, title: &str, map: &Map) -> Result<Vec<PathBuf>> {
    crate::output::plot::write_svg_png(dir, stem, (760, 520), &Titled(map, title))
}

fn draw_map<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    map: &Map,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(pe)?;
    let cell = |v: &[f64], log: bool, j: usize| -> (f64, f64) {
        let n = v.len();
        if log {
            let r = (v[n - 1] / v[0]).powf(0.5 / (n - 1) as f64);
            (v[j] / r, v[j] * r)
        } else {
            let h = (v[n - 1] - v[0]) / (n - 1) as f64 * 0.5;
            (v[j] - h, v[j] + h)
        }
    };
    let dx = |i: usize| cell(&map.xs, map.log_x, i);
    let dy = |j: usize| cell(&map.ys, map.log_y, j);
    let (x0, x1) = (dx(0).0, dx(map.xs.len() - 1).1);
    let (y0, y1) = (dy(0).0, dy(map.ys.len() - 1).1);
    let present: Vec<Move> = Move::ALL
        .into_iter()
        .filter(|m| map.cells.contains(m))
        .collect();
    let mut b = ChartBuilder::on(root);
    b.caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(44)
        .y_label_area_size(64);
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .disable_mesh()
                .x_desc(map.x_label.as_str())
                .y_desc(map.y_label.as_str())
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(pe)?;
            chart
                .draw_series(map.cells.iter().enumerate().map(|(i, m)| {
                    let (xa, xb) = dx(i % NX);
                    let (ya, yb) = dy(i / NX);
                    Rectangle::new([(xa, ya), (xb, yb)], color(*m).filled())
                }))
                .map_err(pe)?;
            for &m in &present {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x0, y0), (x0, y0)],
                        color(m).filled(),
                    )))
                    .map_err(pe)?
                    .label(m.as_str())
                    .legend(move |(x, y)| {
                        Rectangle::new([(x, y - 6), (x + 14, y + 6)], color(m).filled())
                    });
            }
            if let Some((mx, my)) = map.marker {
                if mx >= x0 && mx <= x1 && my >= y0 && my <= y1 {
                    chart
                        .draw_series(std::iter::once(Circle::new(
                            (mx, my),
                            6,
                            BLACK.stroke_width(2),
                        )))
                        .map_err(pe)?
                        .label("this scenario")
                        .legend(|(x, y)| Circle::new((x + 7, y), 5, BLACK.stroke_width(2)));
                }
            }
            chart
                .configure_series_labels()
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .position(SeriesLabelPosition::LowerRight)
                .draw()
                .map_err(pe)?;
        }};
    }
    match (map.log_x, map.log_y) {
        (true, true) => body!(
            b.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale())
                .map_err(pe)?
        ),
        (true, false) => body!(
            b.build_cartesian_2d((x0..x1).log_scale(), y0..y1)
                .map_err(pe)?
        ),
        (false, true) => body!(
            b.build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(pe)?
        ),
        (false, false) => body!(b.build_cartesian_2d(x0..x1, y0..y1).map_err(pe)?),
    }
    Ok(())
}
