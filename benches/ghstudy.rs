use cirl::{
    human::Human,
    numerics::{self, logistic},
    offswitch::normal_reference,
};
fn main() {
    let ns = [8usize, 12, 16, 20, 24, 28, 32, 40, 48, 64];
    let rules: Vec<_> = ns
        .iter()
        .map(|&n| numerics::gauss_hermite_prob(n))
        .collect();
    let ss = [
        0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.5, 2.0,
    ];
    for &s in &ss {
        let mut worst = vec![0.0f64; ns.len()];
        for i in 0..=240 {
            let m = -12.0 + 0.1 * i as f64;
            let h = Human::Boltzmann { beta: 1.0 };
            let scale = f64::max(s, m.abs());
            let (rp, ru) = normal_reference(m, s, &h, 1e-14 * scale);
            for (k, r) in rules.iter().enumerate() {
                let (mut p, mut u) = (0.0, 0.0);
                for (z, w) in r.nodes.iter().zip(&r.weights) {
                    let x = m + s * z;
                    let l = logistic(x);
                    p += w * l;
                    u += w * x * l;
                }
                worst[k] = worst[k].max((p - rp).abs().max((u - ru).abs() / scale));
            }
        }
        print!("s={s:<5}");
        for (k, n) in ns.iter().enumerate() {
            print!(" {n}:{:.0e}", worst[k]);
        }
        println!();
    }
}
