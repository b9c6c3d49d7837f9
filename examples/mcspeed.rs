use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use std::time::Instant;
use cirl::numerics::logistic;
fn main() {
    let n = 50_000_000u64;
    let mut r = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let t = Instant::now();
    let mut a = 0.0;
    for _ in 0..n { let z: f64 = StandardNormal.sample(&mut r); let v: f64 = r.random(); a += z + v; }
    println!("normal+uniform: {:.2} ns {a}", t.elapsed().as_secs_f64() / n as f64 * 1e9);
    let t = Instant::now();
    let mut a = 0.0;
    for _ in 0..n { let z: f64 = StandardNormal.sample(&mut r); let u = 0.1 + z; let v: f64 = r.random(); a += if v < logistic(u / 0.5) { u } else { 0.0 }; }
    println!("+logistic: {:.2} ns {a}", t.elapsed().as_secs_f64() / n as f64 * 1e9);
    let t = Instant::now();
    let mut a = 0.0;
    for _ in 0..n { let z: f64 = StandardNormal.sample(&mut r); let u = 0.1 + z; let v: f64 = r.random(); a += if v < logistic(u * 2.0) { u } else { 0.0 }; }
    println!("+logistic mul: {:.2} ns {a}", t.elapsed().as_secs_f64() / n as f64 * 1e9);
    let t = Instant::now();
    let (mut su, mut suu, mut sw, mut sww, mut suw, mut sa) = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
    for _ in 0..n { let z: f64 = StandardNormal.sample(&mut r); let u = 0.1 + z; let v: f64 = r.random(); let a = (v < logistic(u / 0.5)) as u8 as f64; let w = u * a;
        su += u; suu += u * u; sw += w; sww += w * w; suw += u * w; sa += a; }
    println!("manual sums: {:.2} ns {}", t.elapsed().as_secs_f64() / n as f64 * 1e9, su + suu + sw + sww + suw + sa);
    let p = cirl::belief::Prior::normal(0.1, 1.0).unwrap();
    let h = cirl::human::Human::Boltzmann { beta: 0.5 };
    let t = Instant::now();
    let s = cirl::offswitch::McSums::sample(&p, &h, n, &mut r);
    println!("McSums: {:.2} ns {}", t.elapsed().as_secs_f64() / n as f64 * 1e9, s.n);
}
