//! Results formats (issue 20): the time to write a 10⁶-row sweep's results table as CSV and as Parquet, and the
//! files' sizes. The table is the issue 7 sweep (100 μ × 100 σ × 100 β, normal × Boltzmann), computed once and
//! held; each writer then renders it to a file under target/bench, three times each, alternating.
//! Run: `cargo bench --bench formats` (or `bash benches/run.sh formats`).

use std::time::Instant;

use cirl::experiment::config;
use cirl::output::parquet::{self, Encoding};
use cirl::output::table::Table;

const SWEEP: &str = r#"
name = "formats"
[sweep]
prior = "normal"
human = "boltzmann"
mu = { start = -1.0, stop = 1.0, num = 100 }
sigma = { start = 0.0, stop = 2.0, num = 100 }
beta = { start = 0.0, stop = 2.0, num = 100 }
"#;

fn write_csv(t: &Table, path: &std::path::Path) -> u64 {
    std::fs::write(path, t.to_csv()).unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn write_parquet(t: &Table, path: &std::path::Path, text: &[&'static str]) -> u64 {
    let bytes = parquet::to_bytes(t, text, Vec::new(), Encoding::Compact).unwrap();
    std::fs::write(path, bytes).unwrap();
    std::fs::metadata(path).unwrap().len()
}

fn main() {
    let cfg = config::parse(SWEEP, "formats.toml").unwrap();
    let t0 = Instant::now();
    let c = cirl::experiment::compute_all(&cfg, false).unwrap();
    let t = c.results;
    eprintln!(
        "computed {} rows x {} columns in {:.2} s",
        t.rows.len(),
        t.columns.len(),
        t0.elapsed().as_secs_f64()
    );
    let text = cirl::experiment::sweep::TEXT_COLUMNS;
    std::fs::create_dir_all("target/bench").unwrap();
    let (csv_path, pq_path) = (
        std::path::Path::new("target/bench/formats.csv"),
        std::path::Path::new("target/bench/formats.parquet"),
    );
    let (mut csv_s, mut pq_s) = (Vec::new(), Vec::new());
    let (mut csv_b, mut pq_b) = (0, 0);
    for _ in 0..3 {
        let s = Instant::now();
        csv_b = write_csv(&t, csv_path);
        csv_s.push(s.elapsed().as_secs_f64());
        let s = Instant::now();
        pq_b = write_parquet(&t, pq_path, &text);
        pq_s.push(s.elapsed().as_secs_f64());
    }
    let range = |v: &[f64]| {
        let lo = v.iter().cloned().fold(f64::INFINITY, f64::min);
        let hi = v.iter().cloned().fold(0.0, f64::max);
        format!("{lo:.2}–{hi:.2} s")
    };
    println!("| format | write time (3 runs, one thread) | file size |");
    println!("|---|---|---|");
    println!("| CSV | {} | {:.1} MB |", range(&csv_s), csv_b as f64 / 1e6);
    println!(
        "| Parquet (Snappy, dictionary) | {} | {:.1} MB |",
        range(&pq_s),
        pq_b as f64 / 1e6
    );
}
