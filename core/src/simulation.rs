//! What the deterministic simulations share: a seeded random source, and the seeds a run takes
//! from the environment.

/// SplitMix64: small, seedable and good enough to pick faults.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The seeds to run: the one `replay` names, else `0..` the number `count` names, else
/// `0..default`.
pub fn seeds(replay: &str, count: &str, default: u64) -> Vec<u64> {
    let read = |name: &str| std::env::var(name).ok().and_then(|s| s.parse().ok());
    if let Some(one) = read(replay) {
        return vec![one];
    }
    (0..read(count).unwrap_or(default)).collect()
}
