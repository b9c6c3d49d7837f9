//! Rollouts of a policy in a tabular POMDP, with a Bayes belief updater, in parallel with per-episode seeds.

pub mod chain;
pub mod cirl;

use rayon::prelude::*;

use crate::model::Tabular;
use crate::numerics::Estimate;
use crate::rng::job_rng;
use crate::solvers::AlphaSet;

/// Mean discounted return of simulated episodes with its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Returns {
    /// Episodes simulated.
    pub episodes: u64,
    /// The mean discounted return with its standard error and 95% interval.
    #[serde(flatten)]
    pub estimate: Estimate,
    /// Decisions per episode.
    pub steps: usize,
}

/// One decision of a recorded episode: the hidden state, the action, the observation, the reward and the
/// robot's belief after the update.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Step {
    /// The hidden state the decision was taken in.
    pub state: usize,
    /// The action.
    pub action: usize,
    /// The observation that followed.
    pub observation: usize,
    /// The reward of (state, action).
    pub reward: f64,
    /// The belief after the update.
    pub belief: Vec<f64>,
}

fn run<R: rand::Rng + ?Sized>(
    m: &Tabular,
    stages: &[AlphaSet],
    steps: usize,
    rng: &mut R,
    mut record: impl FnMut(usize, usize, usize, f64, &[f64]),
) -> f64 {
    let mut b = m.initial.clone();
    let mut s = crate::rng::categorical(&m.initial, rng);
    let (mut ret, mut g) = (0.0, 1.0);
    for t in 0..steps {
        let a = stages[t.min(stages.len() - 1)].action(&b);
        ret += g * m.r[a][s];
        g *= m.discount;
        let sp = crate::rng::categorical(&m.t[a][s], rng);
        let o = crate::rng::categorical(&m.o[a][sp], rng);
        b = m.update(&b, a, o).unwrap_or_else(|| m.initial.clone());
        record(s, a, o, m.r[a][s], &b);
        s = sp;
    }
    ret
}

/// One episode of `steps` decisions following the alpha-vector policy with exact belief tracking; returns the
/// discounted return. Decision t uses `stages[t]` (the last stage once t runs past them: a single stage is a
/// stationary policy).
pub fn episode<R: rand::Rng + ?Sized>(
    m: &Tabular,
    stages: &[AlphaSet],
    steps: usize,
    rng: &mut R,
) -> f64 {
    run(m, stages, steps, rng, |_, _, _, _, _| {})
}

/// The same episode as [`episode`] with the same generator, recorded step by step (the discounted return, the
/// steps).
pub fn history<R: rand::Rng + ?Sized>(
    m: &Tabular,
    stages: &[AlphaSet],
    steps: usize,
    rng: &mut R,
) -> (f64, Vec<Step>) {
    let mut out = Vec::with_capacity(steps);
    let ret = run(
        m,
        stages,
        steps,
        rng,
        |state, action, observation, reward, b| {
            out.push(Step {
                state,
                action,
                observation,
                reward,
                belief: b.to_vec(),
            })
        },
    );
    (ret, out)
}

/// Decisions simulated for a model: its horizon, or for an infinite horizon enough that
/// γ^steps·max|R|/(1 − γ) is below `truncation`.
pub fn steps_for(m: &Tabular, truncation: f64) -> usize {
    m.horizon.unwrap_or_else(|| {
        let tail = m.max_abs_reward() / (1.0 - m.discount);
        if tail <= truncation {
            1
        } else {
            ((truncation / tail).ln() / m.discount.ln()).ceil() as usize
        }
    })
}

/// Simulates `episodes` episodes: episode i uses [`job_rng`]`(seed, i)`, so results do not depend on threads.
/// `steps`: the model's horizon, or for infinite-horizon models enough decisions that γ^steps·max|R|/(1 − γ)
/// is below `truncation`.
pub fn simulate(
    m: &Tabular,
    stages: &[AlphaSet],
    episodes: u64,
    seed: u64,
    truncation: f64,
) -> Returns {
    let steps = steps_for(m, truncation);
    summarize_stream(episodes, steps, |i| {
        episode(m, stages, steps, &mut job_rng(seed, i))
    })
}

/// Episodes run per parallel chunk by [`summarize_stream`].
const CHUNK: u64 = 1 << 18;

/// Mean, standard error and 95% CI of `ret(0) … ret(n − 1)`, computed chunk by chunk in index order (memory
/// O(chunk) whatever `n`; the mean is the same sum in the same order at every thread count).
pub fn summarize_stream(n: u64, steps: usize, ret: impl Fn(u64) -> f64 + Sync) -> Returns {
    let (mut sum, mut shift, mut d1, mut d2) = (0.0, None, 0.0, 0.0);
    let mut start = 0;
    while start < n {
        let end = (start + CHUNK).min(n);
        let r: Vec<f64> = (start..end).into_par_iter().map(&ret).collect();
        for &x in &r {
            sum += x;
            // Σ(x − K) and Σ(x − K)² about the first return K: no cancellation for returns far from 0.
            let k = *shift.get_or_insert(x);
            d1 += x - k;
            d2 += (x - k) * (x - k);
        }
        start = end;
    }
    let nf = n as f64;
    let mean = if n == 0 { 0.0 } else { sum / nf };
    let var = if n > 1 {
        ((d2 - d1 * d1 / nf) / (nf - 1.0)).max(0.0)
    } else {
        0.0
    };
    Returns {
        episodes: n,
        estimate: Estimate::normal(mean, (var / nf.max(1.0)).sqrt()),
        steps,
    }
}

/// Mean, standard error and 95% normal CI of a sample of returns.
pub fn summarize(r: &[f64], steps: usize) -> Returns {
    Returns {
        episodes: r.len() as u64,
        estimate: Estimate::of_sample(r),
        steps,
    }
}
