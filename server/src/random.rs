//! Two kinds of randomness with different jobs.
//!
//! [`SplitMix64`] is tiny and deterministic: demo data and fault draws must come out the same on
//! every run. [`secret_code`] draws from the operating system, because a booking code (together
//! with the last four document characters) is what proves ownership and must not be guessable.

use std::io::Write;
use std::path::Path;

/// Alphabet of human-facing codes: no 0/O, 1/I/L, so codes survive being read aloud or
/// copied from paper.
pub const CODE_ALPHABET: &[u8] = b"23456789ABCDEFGHJKMNPQRSTUVWXYZ";

/// SplitMix64 (Steele, Lea, Flood 2014): a 64-bit state, good statistical quality, no dependencies.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// A generator keyed by a string id, so the same id always yields the same sequence.
    pub fn keyed(key: &str) -> Self {
        Self::new(fnv1a(key.as_bytes()))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p` (clamped to `[0, 1]`).
    pub fn chance(&mut self, p: f64) -> bool {
        p >= 1.0 || self.unit() < p
    }

    /// Uniform in `0..n`; `n` must be positive.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// A random element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Reads a 32-byte key kept as 64 hex digits in `path`, or makes one from the operating system's
/// random source if there is none yet. Written whole to a file of its own (mode 0600), then
/// linked into place: no process ever reads half a key, a crash leaves no empty key file behind,
/// and of two servers starting at once, both end up with the one that was linked first.
pub fn load_or_create_key(path: &Path) -> std::io::Result<[u8; 32]> {
    match std::fs::read_to_string(path) {
        Ok(text) => from_hex(text.trim()).ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} is not 64 hex digits", path.display()),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| std::io::Error::other(e.to_string()))?;
            let mut draft = path.as_os_str().to_owned();
            draft.push(format!(".{}", std::process::id()));
            let draft = std::path::PathBuf::from(draft);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&draft)?;
            let text: String = key.iter().map(|b| format!("{b:02x}")).collect();
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            drop(file);
            let linked = std::fs::hard_link(&draft, path);
            let _ = std::fs::remove_file(&draft);
            match linked {
                Ok(()) => Ok(key),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_key(path),
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

fn from_hex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut key = [0u8; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

/// FNV-1a: a stable string hash (std's hasher is randomly keyed per process).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01B3)
    })
}

/// An unguessable code of `len` characters from [`CODE_ALPHABET`], drawn from the OS.
pub fn secret_code(len: usize) -> Result<String, getrandom::Error> {
    // Rejection sampling keeps every character equally likely: 248 is the largest multiple of 31
    // below 256.
    let limit = (256 / CODE_ALPHABET.len() * CODE_ALPHABET.len()) as u8;
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 32];
    while out.len() < len {
        getrandom::fill(&mut buf)?;
        for b in buf {
            if b < limit && out.len() < len {
                out.push(CODE_ALPHABET[usize::from(b) % CODE_ALPHABET.len()] as char);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_generators_repeat_themselves() {
        let a: Vec<u64> = (0..4)
            .scan(SplitMix64::keyed("h1-cardio-3"), |r, _| Some(r.next_u64()))
            .collect();
        let b: Vec<u64> = (0..4)
            .scan(SplitMix64::keyed("h1-cardio-3"), |r, _| Some(r.next_u64()))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0], SplitMix64::keyed("h1-cardio-4").next_u64());
    }

    #[test]
    fn chance_respects_its_bounds() {
        let mut r = SplitMix64::new(7);
        assert!((0..1000).all(|_| !r.chance(0.0)));
        assert!((0..1000).all(|_| r.chance(1.0)));
        let hits = (0..10_000).filter(|_| r.chance(0.3)).count();
        assert!((2_700..3_300).contains(&hits), "{hits}");
    }

    #[test]
    fn secret_codes_use_only_the_unambiguous_alphabet() {
        let code = secret_code(8).unwrap();
        assert_eq!(code.len(), 8);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_ne!(code, secret_code(8).unwrap());
    }
}
