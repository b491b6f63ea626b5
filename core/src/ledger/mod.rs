//! The open ledger (公开账本): an append-only record of every release, booking and cancellation,
//! with no personal data, that anyone can check was never rewritten.
//!
//! The entries are the leaves of an RFC 6962 Merkle tree (the maintained `ct-merkle` crate does
//! the hashing and the proofs). The deployment signs checkpoints — origin, size, root — as C2SP
//! signed notes ([`note`]). Whoever keeps one checkpoint can later ask for a consistency proof to
//! a newer one: if any entry before it was changed or removed, the proof cannot exist. A ticket
//! asks for an inclusion proof of its own entry. Per-channel figures ([`figures`]) are recomputed
//! from the entries themselves, never taken from the operator's word.
//!
//! An entry's leaf is its JSON text, exactly as stored and served; verifiers hash those bytes and
//! only then read them.

pub mod audit;
pub mod draw;
pub mod figures;
pub mod note;

use chrono::{DateTime, SubsecRound, Utc};
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

pub use audit::{Audited, Served, audit};
pub use note::{Checkpoint, NoteSigner, NoteVerifier};

/// A SHA-256 hash: a root or a node of the tree.
pub type Hash = [u8; 32];

/// Why a checkpoint, proof or entry was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("malformed {0}")]
    Malformed(&'static str),
    #[error("the checkpoint's signature does not verify")]
    BadSignature,
    #[error("the note carries no signature of the published key")]
    Unsigned,
    #[error("the checkpoint is of another log")]
    OtherLog,
    #[error("the entry is not in the tree the checkpoint describes")]
    NotIncluded,
    #[error("the newer checkpoint does not extend the older one: history was rewritten")]
    Rewritten,
    #[error(
        "the ledger is smaller ({now}) than a checkpoint it signed before ({kept}): history was rewritten"
    )]
    Shrunk { kept: u64, now: u64 },
    #[error("the entries served do not add up to the signed checkpoint")]
    EntriesDisagree,
}

/// How a released session's places are given out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// First come, first served.
    Fcfs,
    /// Requests collected during a window, then places drawn.
    Draw,
}

/// One line of the ledger. Ids are those of the public catalogue; a booking appears only under an
/// opaque entry id of its own — never its code, key or anything about the patient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Entry {
    /// A session's places are (or will be) released at `at`.
    Released {
        session: String,
        doctor: String,
        start: DateTime<Utc>,
        places: u32,
        policy: Policy,
        at: DateTime<Utc>,
    },
    /// A place was booked through `channel`.
    Booked {
        entry: String,
        session: String,
        slot: String,
        channel: String,
        at: DateTime<Utc>,
    },
    /// The booking recorded under `entry` was cancelled and its place went back.
    Cancelled { entry: String, at: DateTime<Utc> },
    /// A kind this version does not know: counted, never misread.
    #[serde(other)]
    Other,
}

impl Entry {
    /// The leaf: the entry's JSON text, times to the second.
    pub fn leaf(&self) -> String {
        let mut entry = self.clone();
        match &mut entry {
            Entry::Released { start, at, .. } => {
                *start = start.trunc_subsecs(0);
                *at = at.trunc_subsecs(0);
            }
            Entry::Booked { at, .. } | Entry::Cancelled { at, .. } => *at = at.trunc_subsecs(0),
            Entry::Other => {}
        }
        serde_json::to_string(&entry).expect("an entry always serialises")
    }

    /// Reads a leaf served by a ledger (after its hash was checked).
    pub fn parse(leaf: &str) -> Result<Self, LedgerError> {
        serde_json::from_str(leaf).map_err(|_| LedgerError::Malformed("entry"))
    }
}

/// The answer of `GET /ledger/inclusion` and `GET /ledger/consistency`: the latest signed
/// checkpoint and the proof against it, hashes in base64.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofAnswer {
    pub checkpoint: String,
    pub size: u64,
    pub hashes: Vec<String>,
}

impl ProofAnswer {
    pub fn new(checkpoint: String, size: u64, hashes: &[Hash]) -> Self {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        Self {
            checkpoint,
            size,
            hashes: hashes.iter().map(|h| b64.encode(h)).collect(),
        }
    }

    /// The proof's hashes, refusing any that is not 32 bytes of base64.
    pub fn hashes(&self) -> Result<Vec<Hash>, LedgerError> {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        self.hashes
            .iter()
            .map(|h| {
                b64.decode(h)
                    .ok()
                    .and_then(|bytes| Hash::try_from(bytes.as_slice()).ok())
                    .ok_or(LedgerError::Malformed("proof"))
            })
            .collect()
    }
}

/// The most entries `GET /ledger/entries` gives at once.
pub const MAX_ENTRIES_PER_PAGE: u64 = 1_000;

/// The request for the next page of entries, for a reader that has the first `have` of `size`;
/// `None` once it has them all.
pub fn next_entries_path(have: u64, size: u64) -> Option<String> {
    (have < size).then(|| {
        let end = size.min(have.saturating_add(MAX_ENTRIES_PER_PAGE));
        format!("/ledger/entries?start={have}&end={end}")
    })
}

/// The answer of `GET /ledger/entries`: the leaves from `start` on, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntriesAnswer {
    pub start: u64,
    pub entries: Vec<String>,
}

fn digest(hash: &Hash) -> sha2::digest::Output<Sha256> {
    (*hash).into()
}

fn hashes_of(bytes: &[u8]) -> Vec<Hash> {
    bytes
        .chunks_exact(32)
        .map(|c| c.try_into().expect("chunks of 32"))
        .collect()
}

fn root_of(checkpoint: &Checkpoint) -> RootHash<Sha256> {
    RootHash::new(digest(&checkpoint.root), checkpoint.size)
}

/// Checks that `leaf` is entry `index` of the tree `checkpoint` describes.
pub fn verify_inclusion(
    checkpoint: &Checkpoint,
    index: u64,
    leaf: &str,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    let proof =
        InclusionProof::<Sha256>::from_digests(proof.iter().map(digest).collect::<Vec<_>>().iter());
    root_of(checkpoint)
        .verify_inclusion(&leaf.as_bytes(), index, &proof)
        .map_err(|_| LedgerError::NotIncluded)
}

/// Checks that `newer` only appended entries to `older`: nothing before was changed or removed.
pub fn verify_consistency(
    older: &Checkpoint,
    newer: &Checkpoint,
    proof: &[Hash],
) -> Result<(), LedgerError> {
    if older.origin != newer.origin {
        return Err(LedgerError::OtherLog);
    }
    let ok = match (older.size, newer.size) {
        (0, _) => proof.is_empty(),
        (old, new) if old == new => proof.is_empty() && older.root == newer.root,
        (old, new) if old > new => false,
        _ => {
            let proof = ConsistencyProof::<Sha256>::from_digests(
                proof.iter().map(digest).collect::<Vec<_>>().iter(),
            );
            root_of(newer)
                .verify_consistency(&root_of(older), &proof)
                .is_ok()
        }
    };
    if ok {
        Ok(())
    } else {
        Err(LedgerError::Rewritten)
    }
}

/// The root over a list of leaves, as a verifier recomputes it from the entries served.
pub fn root_of_leaves<'a>(leaves: impl IntoIterator<Item = &'a str>) -> (u64, Hash) {
    let mut tree = Tree::default();
    for leaf in leaves {
        tree.push(leaf);
    }
    (tree.len(), tree.root())
}

/// The log itself, kept in memory by whoever serves it and rebuilt from the stored leaves.
#[derive(Default)]
pub struct Tree {
    tree: MemoryBackedTree<Sha256, Box<[u8]>>,
}

impl Tree {
    pub fn push(&mut self, leaf: &str) {
        self.tree.push(leaf.as_bytes().into());
    }

    pub fn len(&self) -> u64 {
        self.tree.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }

    /// The root hash; that of an empty tree is the hash of nothing, as RFC 6962 defines it.
    pub fn root(&self) -> Hash {
        self.tree
            .root()
            .as_bytes()
            .as_slice()
            .try_into()
            .expect("32 bytes")
    }

    pub fn checkpoint(&self, origin: &str) -> Checkpoint {
        Checkpoint {
            origin: origin.to_string(),
            size: self.len(),
            root: self.root(),
        }
    }

    /// The proof that entry `index` is in the tree as it is now.
    pub fn prove_inclusion(&self, index: u64) -> Option<Vec<Hash>> {
        let index = usize::try_from(index)
            .ok()
            .filter(|&i| (i as u64) < self.len())?;
        Some(hashes_of(self.tree.prove_inclusion(index).as_bytes()))
    }

    /// The proof that the tree as it is now extends its first `size` entries.
    pub fn prove_consistency(&self, size: u64) -> Option<Vec<Hash>> {
        match size {
            0 => Some(Vec::new()),
            s if s == self.len() => Some(Vec::new()),
            s if s > self.len() => None,
            s => {
                let additions = usize::try_from(self.len() - s).ok()?;
                Some(hashes_of(self.tree.prove_consistency(additions).as_bytes()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// The leaves and roots of the reference tree used by Certificate Transparency
    /// implementations (RFC 6962 section 2.1), sizes 1 to 8.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn the_reference_tree_has_the_published_roots() {
        let mut tree = MemoryBackedTree::<Sha256, Vec<u8>>::new();
        for (leaf, root) in LEAVES.iter().zip(ROOTS) {
            tree.push(unhex(leaf));
            assert_eq!(tree.root().as_bytes().as_slice(), unhex(root).as_slice());
        }
    }

    fn entries(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                Entry::Cancelled {
                    entry: format!("e{i}"),
                    at: DateTime::UNIX_EPOCH,
                }
                .leaf()
            })
            .collect()
    }

    #[test]
    fn every_entry_proves_its_place_and_no_other() {
        let leaves = entries(13);
        let mut tree = Tree::default();
        for leaf in &leaves {
            tree.push(leaf);
        }
        let cp = tree.checkpoint("log");
        for (i, leaf) in leaves.iter().enumerate() {
            let proof = tree.prove_inclusion(i as u64).unwrap();
            assert_eq!(verify_inclusion(&cp, i as u64, leaf, &proof), Ok(()));
            let other = (i + 1) % leaves.len();
            assert_eq!(
                verify_inclusion(&cp, other as u64, leaf, &proof),
                Err(LedgerError::NotIncluded)
            );
        }
        assert_eq!(tree.prove_inclusion(13), None);
        assert_eq!(
            root_of_leaves(leaves.iter().map(String::as_str)),
            (13, cp.root)
        );
    }

    #[test]
    fn a_grown_log_is_consistent_with_every_earlier_size_and_a_rewritten_one_is_not() {
        let leaves = entries(11);
        let mut tree = Tree::default();
        let mut seen = vec![tree.checkpoint("log")];
        for leaf in &leaves {
            tree.push(leaf);
            seen.push(tree.checkpoint("log"));
        }
        let now = tree.checkpoint("log");
        for old in &seen {
            let proof = tree.prove_consistency(old.size).unwrap();
            assert_eq!(
                verify_consistency(old, &now, &proof),
                Ok(()),
                "{}",
                old.size
            );
        }

        // The same number of entries with the fourth changed behind the log's back.
        let mut rewritten = Tree::default();
        for (i, leaf) in leaves.iter().enumerate() {
            rewritten.push(if i == 3 { "{\"kind\":\"other\"}" } else { leaf });
        }
        let after = rewritten.checkpoint("log");
        for old in &seen[4..] {
            let proof = rewritten.prove_consistency(old.size).unwrap();
            assert_eq!(
                verify_consistency(old, &after, &proof),
                Err(LedgerError::Rewritten),
                "{}",
                old.size
            );
        }
        // A shorter log than one already seen is a rewrite too.
        assert_eq!(
            verify_consistency(&now, &seen[5], &[]),
            Err(LedgerError::Rewritten)
        );
        let mut elsewhere = now.clone();
        elsewhere.origin = "another".into();
        assert_eq!(
            verify_consistency(&seen[2], &elsewhere, &[]),
            Err(LedgerError::OtherLog)
        );
    }

    #[test]
    fn an_entry_carries_nothing_finer_than_a_second_and_reads_back() {
        let at = DateTime::parse_from_rfc3339("2026-12-07T00:00:01.734Z")
            .unwrap()
            .to_utc();
        let booked = Entry::Booked {
            entry: "k3j".into(),
            session: "s1".into(),
            slot: "s1-3".into(),
            channel: "web".into(),
            at,
        };
        let leaf = booked.leaf();
        assert_eq!(
            leaf,
            r#"{"kind":"booked","entry":"k3j","session":"s1","slot":"s1-3","channel":"web","at":"2026-12-07T00:00:01Z"}"#
        );
        assert!(matches!(Entry::parse(&leaf), Ok(Entry::Booked { .. })));
        assert_eq!(
            Entry::parse(r#"{"kind":"promoted","entry":"x"}"#),
            Ok(Entry::Other)
        );
        assert!(Entry::parse("not json").is_err());
    }
}
