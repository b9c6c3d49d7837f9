use cirl::games::apprenticeship::{Apprenticeship, run};
fn main() {
    for (h, eta) in [(20usize, 0.3), (30, 0.3)] {
        let cfg = Apprenticeship {
            size: 10,
            features: vec![3, 10],
            width: 2.0,
            horizon: h,
            eta,
            candidates: 300,
            instances: 400,
        };
        let t = std::time::Instant::now();
        let rows = run(&cfg, 1).unwrap();
        let el = t.elapsed().as_secs_f64();
        for k in [3, 10] {
            let r: Vec<_> = rows.iter().filter(|r| r.features == k).collect();
            let m = |f: &dyn Fn(&cirl::games::apprenticeship::Row) -> f64| {
                r.iter().map(|x| f(x)).sum::<f64>() / r.len() as f64
            };
            println!(
                "eta={eta} H={h} k={k} ({el:.2}s): regret E {:.3} T {:.3} | KL E {:.3} T {:.3} | err E {:.3} T {:.3} | demo ret E {:.3} T {:.3} | teach better regret {:.2}",
                m(&|x| x.expert.regret),
                m(&|x| x.teaching.regret),
                m(&|x| x.expert.kl),
                m(&|x| x.teaching.kl),
                m(&|x| x.expert.theta_error),
                m(&|x| x.teaching.theta_error),
                m(&|x| x.expert.demonstration_return),
                m(&|x| x.teaching.demonstration_return),
                m(&|x| (x.teaching.regret < x.expert.regret - 1e-9) as u8 as f64)
            );
            let d: Vec<f64> = r
                .iter()
                .map(|x| x.expert.regret - x.teaching.regret)
                .collect();
            let n = d.len() as f64;
            let mu = d.iter().sum::<f64>() / n;
            let sd = (d.iter().map(|v| (v - mu).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            println!("   regret diff (E−T) {mu:.4} ± {:.4}", 1.96 * sd / n.sqrt());
        }
    }
}
