//! The open ledger as this server publishes it: the Merkle tree over the stored entries, kept in
//! memory and caught up from the database before every answer, and the deployment's key that
//! signs its checkpoints.
//!
//! The database is the only source of the entries: several servers on one database publish the
//! same tree, and one that restarts rebuilds it from the rows. Whoever keeps a checkpoint can
//! hold the server to it later (see [`fairslot_core::ledger`]).

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use fairslot_core::ledger::{Hash, LedgerError, NoteSigner, Tree};

use crate::random::load_or_create_key;
use crate::store::{Store, StoreResult};

/// File of the signing key inside the data directory.
pub const KEY_FILE: &str = "ledger.key";
/// Leaves read from the database at a time while catching up.
const CATCH_UP_BATCH: u64 = 10_000;

/// A signed checkpoint and a proof against it, taken under one lock so the two always agree.
#[derive(Debug, Clone)]
pub struct Proven {
    pub checkpoint: String,
    pub size: u64,
    pub hashes: Vec<Hash>,
}

pub struct Ledger {
    origin: String,
    signer: NoteSigner,
    tree: Mutex<Tree>,
}

impl Ledger {
    /// The ledger of `origin`, signed with the key in `dir` (made on first start; servers
    /// sharing a database must share it).
    pub fn open(origin: &str, dir: &Path) -> std::io::Result<Self> {
        let seed = load_or_create_key(&dir.join(KEY_FILE))?;
        let signer = NoteSigner::new(origin, seed).map_err(|e: LedgerError| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("ledger origin {origin:?}: {e}"),
            )
        })?;
        Ok(Self {
            origin: origin.to_string(),
            signer,
            tree: Mutex::new(Tree::default()),
        })
    }

    /// The key monitors and the app check checkpoints with.
    pub fn verifier_key(&self) -> String {
        self.signer.verifier_key()
    }

    /// The tree with every stored entry in it.
    fn caught_up(&self, store: &dyn Store) -> StoreResult<MutexGuard<'_, Tree>> {
        let mut tree = self.tree.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            let leaves = store.ledger_leaves(tree.len(), CATCH_UP_BATCH)?;
            for leaf in &leaves {
                tree.push(leaf);
            }
            if (leaves.len() as u64) < CATCH_UP_BATCH {
                return Ok(tree);
            }
        }
    }

    fn sign(&self, tree: &Tree) -> String {
        self.signer.sign(&tree.checkpoint(&self.origin))
    }

    /// The latest checkpoint, signed.
    pub fn checkpoint(&self, store: &dyn Store) -> StoreResult<String> {
        let tree = self.caught_up(store)?;
        Ok(self.sign(&tree))
    }

    /// The latest checkpoint and the proof that entry `index` is in it; `None` if there is no
    /// such entry yet.
    pub fn inclusion(&self, store: &dyn Store, index: u64) -> StoreResult<Option<Proven>> {
        self.prove(store, |tree| tree.prove_inclusion(index))
    }

    /// The latest checkpoint and the proof that it extends the tree of the first `size` entries;
    /// `None` if the tree was never that large.
    pub fn consistency(&self, store: &dyn Store, size: u64) -> StoreResult<Option<Proven>> {
        self.prove(store, |tree| tree.prove_consistency(size))
    }

    fn prove(
        &self,
        store: &dyn Store,
        proof: impl FnOnce(&Tree) -> Option<Vec<Hash>>,
    ) -> StoreResult<Option<Proven>> {
        let tree = self.caught_up(store)?;
        Ok(proof(&tree).map(|hashes| Proven {
            checkpoint: self.sign(&tree),
            size: tree.len(),
            hashes,
        }))
    }
}
