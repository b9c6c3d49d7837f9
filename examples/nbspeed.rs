use std::time::Instant;
use std::hint::black_box;
fn main() {
    for &(sigma, beta) in &[(0.5, 1.0), (0.5, 1.0), (0.5, 1.0)] {
        let n = 1_000_000;
        let t = Instant::now();
        let mut acc = 0.0;
        for i in 0..n { let mu = -2.0 + 4.0 * (i as f64) / n as f64; acc += cirl::offswitch::normal_boltzmann(black_box(mu), sigma, beta).e_u_pi; }
        println!("s={}: {:.1} ns {acc}", sigma / beta, t.elapsed().as_secs_f64() / n as f64 * 1e9);
    }
}
