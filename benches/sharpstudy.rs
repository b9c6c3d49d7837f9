use cirl::{
    human::Human,
    offswitch::{normal_boltzmann, normal_reference},
};
fn main() {
    let mut worst = (0.0f64, 0.0, 0.0);
    for &s in &[
        1.0001, 1.1, 1.3, 1.6, 2.0, 3.0, 5.0, 8.0, 13.0, 20.0, 40.0, 100.0,
    ] {
        for i in 0..=200 {
            let m = (-1.0 + 0.01 * i as f64) * 3.0 * s;
            let h = Human::Boltzmann { beta: 1.0 };
            let nb = normal_boltzmann(m, s, 1.0);
            let scale = f64::max(s, m.abs());
            let (rp, ru) = normal_reference(m, s, &h, 1e-14 * scale);
            let e = (nb.e_pi - rp).abs().max((nb.e_u_pi - ru).abs() / scale);
            if e > worst.0 {
                worst = (e, s, m);
            }
        }
    }
    println!("worst {:.2e} at s={} m={}", worst.0, worst.1, worst.2);
}
