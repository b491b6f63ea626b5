//! One check of a ledger as a stranger makes it, the same in the app and in the monitor: the
//! fetching is theirs, the judgement is here.
//!
//! Given the key it trusts, the checkpoint it kept from last time (if any), what the server
//! answers now and every entry, an audit either returns the newest checkpoint to keep and the
//! figures recomputed from the entries, or says exactly what does not hold.

use chrono::TimeDelta;

use super::figures::Figures;
use super::{
    Checkpoint, Entry, LedgerError, NoteVerifier, ProofAnswer, root_of_leaves, verify_consistency,
};

/// What a ledger served for one audit.
#[derive(Debug, Clone, Copy)]
pub struct Served<'a> {
    /// `GET /ledger/checkpoint`.
    pub checkpoint: &'a str,
    /// `GET /ledger/consistency?first=<kept size>`, when a checkpoint was kept; `None` if the
    /// server answered that it was never that large.
    pub consistency: Option<&'a ProofAnswer>,
    /// Every entry up to the newest checkpoint's size (more are ignored).
    pub leaves: &'a [String],
}

/// A ledger that held up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audited {
    pub checkpoint: Checkpoint,
    /// The signed note to keep for the next audit.
    pub note: String,
    pub figures: Figures,
}

/// Checks `served` against `kept` (a signed note from an earlier audit) with `key`; `early` is
/// the window after a release that counts as the rush. The newest checkpoint is the larger of
/// the two the server signed (the ledger may grow between the two answers).
pub fn audit(
    key: &NoteVerifier,
    kept: Option<&str>,
    served: Served<'_>,
    early: TimeDelta,
) -> Result<Audited, LedgerError> {
    let mut newest = (key.open(served.checkpoint)?, served.checkpoint);
    if let Some(kept) = kept {
        let old = key.open(kept)?;
        let proof = served.consistency.ok_or(LedgerError::Shrunk {
            kept: old.size,
            now: newest.0.size,
        })?;
        let extended = key.open(&proof.checkpoint)?;
        verify_consistency(&old, &extended, &proof.hashes()?)?;
        if extended.size >= newest.0.size {
            newest = (extended, &proof.checkpoint);
        }
    }
    let (checkpoint, note) = newest;
    let size = usize::try_from(checkpoint.size).map_err(|_| LedgerError::Malformed("size"))?;
    let leaves = served
        .leaves
        .get(..size)
        .ok_or(LedgerError::EntriesDisagree)?;
    if root_of_leaves(leaves.iter().map(String::as_str)) != (checkpoint.size, checkpoint.root) {
        return Err(LedgerError::EntriesDisagree);
    }
    let entries = leaves
        .iter()
        .map(|leaf| Entry::parse(leaf))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Audited {
        figures: Figures::of(&entries, early),
        note: note.to_string(),
        checkpoint,
    })
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use super::*;
    use crate::ledger::{NoteSigner, Tree};

    struct Log {
        signer: NoteSigner,
        tree: Tree,
        leaves: Vec<String>,
    }

    impl Log {
        fn new() -> Self {
            Self {
                signer: NoteSigner::new("log", [9; 32]).unwrap(),
                tree: Tree::default(),
                leaves: Vec::new(),
            }
        }
        fn append(&mut self, n: usize) {
            for _ in 0..n {
                let leaf = Entry::Cancelled {
                    entry: format!("e{}", self.leaves.len()),
                    at: DateTime::UNIX_EPOCH,
                }
                .leaf();
                self.tree.push(&leaf);
                self.leaves.push(leaf);
            }
        }
        fn note(&self) -> String {
            self.signer.sign(&self.tree.checkpoint("log"))
        }
        fn consistency(&self, first: u64) -> Option<ProofAnswer> {
            let hashes = self.tree.prove_consistency(first)?;
            Some(ProofAnswer::new(self.note(), self.tree.len(), &hashes))
        }
        fn key(&self) -> NoteVerifier {
            NoteVerifier::parse(&self.signer.verifier_key()).unwrap()
        }
    }

    fn run(log: &Log, kept: Option<&str>, leaves: &[String]) -> Result<Audited, LedgerError> {
        let kept_size = kept.map(|k| log.key().open(k).unwrap().size);
        let consistency = kept_size.and_then(|s| log.consistency(s));
        audit(
            &log.key(),
            kept,
            Served {
                checkpoint: &log.note(),
                consistency: consistency.as_ref(),
                leaves,
            },
            TimeDelta::minutes(10),
        )
    }

    #[test]
    fn a_ledger_that_only_grew_is_audited_and_gives_the_note_to_keep() {
        let mut log = Log::new();
        log.append(5);
        let first = run(&log, None, &log.leaves).unwrap();
        assert_eq!(first.checkpoint.size, 5);
        log.append(3);
        let second = run(&log, Some(&first.note), &log.leaves).unwrap();
        assert_eq!(second.checkpoint.size, 8);
        assert_eq!(second.figures.entries, 8);
    }

    #[test]
    fn a_rewritten_shrunk_or_misreported_ledger_is_named_for_what_it_is() {
        let mut log = Log::new();
        log.append(6);
        let kept = run(&log, None, &log.leaves).unwrap().note;

        let mut served = log.leaves.clone();
        served[2] = served[2].replace("e2", "x2");
        assert_eq!(run(&log, None, &served), Err(LedgerError::EntriesDisagree));
        assert_eq!(
            run(&log, None, &log.leaves[..4]),
            Err(LedgerError::EntriesDisagree)
        );

        // The same key, another history: the second entry is not what it was.
        let mut other = Log::new();
        other.append(7);
        other.leaves[1] = "{\"kind\":\"other\"}".into();
        other.tree = Tree::default();
        for leaf in &other.leaves {
            other.tree.push(leaf);
        }
        assert_eq!(
            run(&other, Some(&kept), &other.leaves),
            Err(LedgerError::Rewritten)
        );

        let mut shrunk = Log::new();
        shrunk.append(4);
        assert_eq!(
            run(&shrunk, Some(&kept), &shrunk.leaves),
            Err(LedgerError::Shrunk { kept: 6, now: 4 })
        );
    }
}
