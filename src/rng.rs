//! Portable, seeded random numbers.
//!
//! Every reported random number in `cirl` comes from [`Rng`] (ChaCha8, identical on every platform and every
//! version of this crate's dependencies that keeps the ChaCha8 stream). A job with index `i` of a run with seed
//! `s` uses [`job_rng`]`(s, i)`: the stream is keyed by the job, never by the thread, so results do not depend
//! on the thread count or on how a run is sharded.

use rand::SeedableRng;

/// The generator behind every reported number.
pub type Rng = rand::rngs::ChaCha8Rng;

/// The generator of job `index` in a run seeded with `seed` (ChaCha8 stream `index` of key `seed`).
pub fn job_rng(seed: u64, index: u64) -> Rng {
    let mut r = Rng::seed_from_u64(seed);
    r.set_stream(index);
    r
}

/// The generator of high-volume Monte Carlo batches: PCG-64 (MCG variant, `rand_pcg`), a named portable
/// generator about 2.5× faster than ChaCha8 per draw. Batch `index` of a run seeded with `seed` is seeded from
/// [`derive_seed`]`(seed, FAST_STREAM, index)`, so results do not depend on the thread count either.
pub type FastRng = rand_pcg::Pcg64Mcg;

/// The stream tag of [`fast_job_rng`] in [`derive_seed`].
pub const FAST_STREAM: u64 = 0x4d43; // "MC"

/// The fast generator of Monte Carlo batch `index` in a run seeded with `seed`.
pub fn fast_job_rng(seed: u64, index: u64) -> FastRng {
    FastRng::seed_from_u64(derive_seed(seed, FAST_STREAM, index))
}

/// A 64-bit seed derived from `(seed, stream, index)` by SplitMix64 mixing, for nested jobs
/// (e.g. trial `index` of sweep point `stream`).
pub fn derive_seed(seed: u64, stream: u64, index: u64) -> u64 {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    mix(mix(mix(seed) ^ stream) ^ index)
}

/// A draw from the categorical distribution `p` (probabilities summing to 1, within rounding): one uniform, and
/// the first index whose cumulative probability exceeds it; when rounding leaves the uniform above the total, the
/// last index of positive probability. The one categorical draw of the crate.
pub fn categorical<R: rand::Rng + ?Sized>(p: &[f64], rng: &mut R) -> usize {
    use rand::RngExt;
    let u: f64 = rng.random();
    let mut acc = 0.0;
    for (i, x) in p.iter().enumerate() {
        acc += x;
        if u < acc {
            return i;
        }
    }
    p.iter().rposition(|x| *x > 0.0).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: u64 = job_rng(7, 3).random();
        let b: u64 = job_rng(7, 3).random();
        let c: u64 = job_rng(7, 4).random();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(derive_seed(1, 2, 3), derive_seed(1, 3, 2));
    }

    /// Value stability: a change of generator or of how streams are keyed changes reported numbers.
    #[test]
    fn chacha8_stream_is_pinned() {
        let x: u64 = job_rng(42, 0).random();
        let y: u64 = job_rng(42, 1).random();
        assert_eq!((x, y), (PINNED_0, PINNED_1));
    }
    const PINNED_0: u64 = 12578764544318200737;
    const PINNED_1: u64 = 13222472167927179408;
}
