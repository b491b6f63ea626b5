//! The draw (抽签): how a released session's places go to the requests collected in its window,
//! by randomness anyone can recompute and no one could choose.
//!
//! The seed is the hash of the ledger's signed checkpoint at the window's close together with the
//! session: it exists only once every request of the window is in the ledger, so the operator
//! cannot pick it after seeing the requests without rewriting the ledger, which monitors catch.
//! Each request is then ranked by `SHA-256(seed ‖ its entry id)`; places go in rank order. The
//! time a request came in plays no part, so neither does the speed of a phone or a script.
//!
//! What the operator could still do is add requests of its own before the close; they are in the
//! ledger like any other, under the channel they came through, for every monitor to count.

use sha2::{Digest, Sha256};

use super::{Checkpoint, Hash};

/// Domain of the seed, so that no other hash of the same bytes is ever mistaken for one.
const SEED_DOMAIN: &[u8] = b"fairslot draw v1\n";

/// The seed of a session's draw: the checkpoint (as its signed body reads) and the session id.
pub fn seed(closed_at: &Checkpoint, session: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(SEED_DOMAIN);
    h.update(closed_at.body().as_bytes());
    h.update(session.as_bytes());
    h.finalize().into()
}

/// A request's place in the draw: lower goes first.
fn rank(seed: &Hash, entry: &str) -> Hash {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(entry.as_bytes());
    h.finalize().into()
}

/// The requests (by entry id) in the order the draw serves them; ties (the same id twice) keep
/// their order.
pub fn order<'a>(seed: &Hash, entries: &[&'a str]) -> Vec<&'a str> {
    let mut ranked: Vec<(Hash, &str)> = entries.iter().map(|e| (rank(seed, e), *e)).collect();
    ranked.sort_by_key(|(rank, _)| *rank);
    ranked.into_iter().map(|(_, e)| e).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint(size: u64) -> Checkpoint {
        Checkpoint {
            origin: "log".into(),
            size,
            root: [size as u8; 32],
        }
    }

    #[test]
    fn the_same_checkpoint_gives_the_same_draw_and_another_gives_another() {
        let requests: Vec<String> = (0..50).map(|i| format!("entry-{i}")).collect();
        let ids: Vec<&str> = requests.iter().map(String::as_str).collect();
        let a = order(&seed(&checkpoint(10), "s1"), &ids);
        assert_eq!(a, order(&seed(&checkpoint(10), "s1"), &ids));
        assert_ne!(a, order(&seed(&checkpoint(11), "s1"), &ids));
        assert_ne!(a, order(&seed(&checkpoint(10), "s2"), &ids));
        // The order the requests arrived in does not matter.
        let mut reversed = ids.clone();
        reversed.reverse();
        assert_eq!(a, order(&seed(&checkpoint(10), "s1"), &reversed));
        let mut sorted = a.clone();
        sorted.sort_unstable();
        let mut all = ids.clone();
        all.sort_unstable();
        assert_eq!(sorted, all, "every request is ranked once");
    }

    #[test]
    fn no_place_in_the_queue_wins_more_often_than_another() {
        // 10 requests for 3 places over 20,000 checkpoints: each should win 30 % of draws.
        let ids: Vec<String> = (0..10).map(|i| format!("r{i}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut wins = [0u32; 10];
        let rounds = 20_000;
        for n in 0..rounds {
            for winner in &order(&seed(&checkpoint(n), "s"), &refs)[..3] {
                wins[refs.iter().position(|r| r == winner).unwrap()] += 1;
            }
        }
        // Binomial(20,000, 0.3): sd ≈ 65; allow 5 sd.
        for (i, w) in wins.iter().enumerate() {
            assert!((5_675..=6_325).contains(w), "request {i} won {w} times");
        }
    }
}
