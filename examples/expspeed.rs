use std::time::Instant;
use std::hint::black_box;
use cirl::numerics::exp_nonpositive;
fn main() {
    let xs: Vec<f64> = (0..1024).map(|i| -(i as f64) * 0.01).collect();
    let reps = 100_000;
    let t = Instant::now();
    let mut acc = 0.0;
    for _ in 0..reps { let xs = black_box(&xs); for &x in xs.iter() { acc += exp_nonpositive(x); } }
    println!("fast exp: {:.2} ns {acc}", t.elapsed().as_secs_f64() / (reps * 1024) as f64 * 1e9);
    let t = Instant::now();
    let mut acc = [0.0; 4];
    for _ in 0..reps { let xs = black_box(&xs); for c in xs.chunks_exact(4) { for l in 0..4 { acc[l] += exp_nonpositive(c[l]); } } }
    println!("fast exp lanes: {:.2} ns {:?}", t.elapsed().as_secs_f64() / (reps * 1024) as f64 * 1e9, acc[0]);
    let t = Instant::now();
    let mut acc = 0.0;
    for _ in 0..reps { let xs = black_box(&xs); for &x in xs.iter() { acc += x.exp(); } }
    println!("std exp: {:.2} ns {acc}", t.elapsed().as_secs_f64() / (reps * 1024) as f64 * 1e9);
}
