//! Frontier plots of `cirl calibrate`: for one action class, the class-level move (act / offer a choice /
//! hand over) over (σ, β) — the agent's value uncertainty against the noise of a Boltzmann human — and over
//! (σ, c), against the cost of asking. σ scales the spread of the class's utility prior around its mean.
//! Written as SVG and PNG (embedded font).

use std::path::{Path, PathBuf};

use plotters::prelude::*;
use rayon::prelude::*;

use super::model::{Move, class_values};
use super::scenario::{ActionClass, Scenario};
use crate::error::Result;
use crate::human::{Human, ResponseModel};

const NX: usize = 90;
const NY: usize = 60;

fn color(m: Move) -> RGBColor {
    match m {
        Move::Act => RGBColor(120, 190, 120),
        Move::Ask => RGBColor(245, 190, 80),
        Move::HandOver => RGBColor(215, 90, 80),
    }
}

fn best(v: [f64; 3]) -> Move {
    // The engine's tie rule: ask, then hand over, then act.
    let m = v.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    if v[1] >= m {
        Move::Ask
    } else if v[2] >= m {
        Move::HandOver
    } else {
        Move::Act
    }
}

struct Map {
    xs: Vec<f64>,
    ys: Vec<f64>,
    log_y: bool,
    cells: Vec<Move>,
    x_label: String,
    y_label: String,
    marker: Option<(f64, f64)>,
}

/// Draws the (σ, β) and (σ, c) maps of class `c` into `dir`; returns the files written (none when the class's
/// utility has no spread to scale).
pub fn draw_class(s: &Scenario, c: &ActionClass, dir: &Path) -> Result<Vec<PathBuf>> {
    crate::experiment::plot::register_font();
    let utility = s.utility_prior(c)?;
    let (mean, sd) = (utility.mean(), utility.sd());
    if sd <= 0.0 {
        return Ok(vec![]);
    }
    let scale = sd.max(mean.abs());
    let xs: Vec<f64> = (0..NX)
        .map(|i| 3.0 * sd * (i as f64 + 0.5) / NX as f64)
        .collect();
    let values = |mult: f64, human: &Human, cost: f64| {
        class_values(
            &utility.affine(mean, mult),
            human,
            c.undo_cost,
            super::model::Costs {
                ask: cost,
                ..s.costs()
            },
        )
    };
    // (σ, β).
    let (blo, bhi) = (0.01 * scale, 100.0 * scale);
    let betas: Vec<f64> = (0..NY)
        .map(|j| (blo.ln() + (bhi.ln() - blo.ln()) * (j as f64 + 0.5) / NY as f64).exp())
        .collect();
    let cells: Vec<Move> = (0..NX * NY)
        .into_par_iter()
        .map(|i| {
            let (x, y) = (xs[i % NX], betas[i / NX]);
            best(values(x / sd, &Human::Boltzmann { beta: y }, s.ask_cost))
        })
        .collect();
    let beta_now = match s.human {
        Human::Boltzmann { beta } if beta > 0.0 => Some(beta),
        _ => None,
    };
    let slug: String = c
        .name
        .chars()
        .map(|ch| if ch.is_ascii_alphanumeric() { ch } else { '-' })
        .collect();
    let mut out = render(
        dir,
        &format!("frontier_{slug}_sigma_beta"),
        &format!("{}: move over (σ, β), c = {}", c.name, s.ask_cost),
        &Map {
            xs: xs.clone(),
            ys: betas,
            log_y: true,
            cells,
            x_label: "σ (spread of the class's utility)".into(),
            y_label: "β (Boltzmann human's noise)".into(),
            marker: beta_now.map(|b| (sd, b)),
        },
    )?;
    // (σ, c).
    let cmax = 2.0 * s.ask_cost.max(0.25 * scale);
    let costs: Vec<f64> = (0..NY)
        .map(|j| cmax * (j as f64 + 0.5) / NY as f64)
        .collect();
    let cells: Vec<Move> = (0..NX * NY)
        .into_par_iter()
        .map(|i| best(values(xs[i % NX] / sd, &s.human, costs[i / NX])))
        .collect();
    out.extend(render(
        dir,
        &format!("frontier_{slug}_sigma_cost"),
        &format!("{}: move over (σ, c), human {}", c.name, s.human.label()),
        &Map {
            xs,
            ys: costs,
            log_y: false,
            cells,
            x_label: "σ (spread of the class's utility)".into(),
            y_label: "c (cost of asking)".into(),
            marker: Some((sd, s.ask_cost)),
        },
    )?);
    Ok(out)
}

fn pe<E: std::fmt::Debug>(e: E) -> String {
    format!("{e:?}")
}

struct Titled<'a>(&'a Map, &'a str);

impl crate::experiment::plot::Figure for Titled<'_> {
    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> std::result::Result<(), String> {
        draw_map(root, self.1, self.0)
    }
}

fn render(dir: &Path, stem: &str, title: &str, map: &Map) -> Result<Vec<PathBuf>> {
    crate::experiment::plot::write_svg_png(dir, stem, (760, 520), &Titled(map, title))
}

fn draw_map<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    map: &Map,
) -> std::result::Result<(), String> {
    root.fill(&WHITE).map_err(pe)?;
    let (x0, x1) = (
        0.0,
        map.xs.last().copied().unwrap_or(1.0) * (1.0 + 0.5 / NX as f64),
    );
    let dy = |j: usize| -> (f64, f64) {
        let n = map.ys.len();
        if map.log_y {
            let r = (map.ys[n - 1] / map.ys[0]).powf(0.5 / (n - 1) as f64);
            (map.ys[j] / r, map.ys[j] * r)
        } else {
            let h = (map.ys[n - 1] - map.ys[0]) / (n - 1) as f64 * 0.5;
            ((map.ys[j] - h).max(0.0), map.ys[j] + h)
        }
    };
    let (y0, y1) = (dy(0).0, dy(map.ys.len() - 1).1);
    let dx = (map.xs[1] - map.xs[0]) * 0.5;
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
                    let (x, j) = (map.xs[i % NX], i / NX);
                    let (ya, yb) = dy(j);
                    Rectangle::new([(x - dx, ya), (x + dx, yb)], color(*m).filled())
                }))
                .map_err(pe)?;
            for m in Move::ALL {
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
                .position(SeriesLabelPosition::UpperRight)
                .draw()
                .map_err(pe)?;
        }};
    }
    if map.log_y {
        body!(
            b.build_cartesian_2d(x0..x1, (y0..y1).log_scale())
                .map_err(pe)?
        );
    } else {
        body!(b.build_cartesian_2d(x0..x1, y0..y1).map_err(pe)?);
    }
    Ok(())
}
