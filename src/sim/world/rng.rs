//! Seeded jitter for the drill world: the only source of randomness, so a seed replays exactly.
//! ChaCha8 gives the same stream on every platform.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Clone, Debug, PartialEq)]
pub struct Jitter(ChaCha8Rng);

impl Jitter {
    pub fn new(seed: u64) -> Self {
        Jitter(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A factor in `[1 - spread, 1 + spread]`.
    pub fn factor(&mut self, spread: f64) -> f64 {
        if spread <= 0.0 {
            return 1.0;
        }
        1.0 + self.0.random_range(-spread..=spread)
    }

    /// How far along the stream is, for state digests.
    pub fn position(&self) -> u128 {
        self.0.get_word_pos()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let (mut a, mut b, mut c) = (Jitter::new(7), Jitter::new(7), Jitter::new(8));
        let xa: Vec<f64> = (0..5).map(|_| a.factor(0.1)).collect();
        let xb: Vec<f64> = (0..5).map(|_| b.factor(0.1)).collect();
        let xc: Vec<f64> = (0..5).map(|_| c.factor(0.1)).collect();
        assert_eq!(xa, xb);
        assert_ne!(xa, xc);
        assert!(xa.iter().all(|x| (0.9..=1.1).contains(x)));
    }
}
