//! Where booking intents wait: IndexedDB, so a reload or a killed tab loses nothing, or memory
//! when the browser refuses storage (private windows, partitioned frames) or the mode forbids it.
//!
//! Each record is an intent's own JSON under its idempotency key. Every operation is one short
//! transaction that only touches the database: nothing here awaits the network.

use std::cell::RefCell;
use std::collections::BTreeMap;

use idb::{Database, DatabaseEvent, Factory, ObjectStoreParams, TransactionMode};
use wasm_bindgen::JsValue;

const DB_NAME: &str = "fairslot";
const DB_VERSION: u32 = 2;
/// Booking intents, by idempotency key.
const OUTBOX: &str = "outbox";
/// Cached public reads (hospitals, departments, doctors, schedules), by API path.
const READS: &str = "reads";

/// Why the store could not do what was asked. The text never quotes a stored value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the device's storage failed: {0}")]
pub struct StoreError(String);

impl StoreError {
    pub fn not_ready() -> Self {
        Self("the outbox is still opening".into())
    }
}

/// Which operation failed is all the app acts on; the browser's own wording of the failure
/// would only add its formatting code to the download.
impl From<idb::Error> for StoreError {
    fn from(_: idb::Error) -> Self {
        Self("IndexedDB refused the operation".into())
    }
}

/// A change to one stored record: the new JSON from the old, or `None` to leave it.
pub type Change<'a> = Box<dyn FnOnce(&str) -> Option<String> + 'a>;

pub enum Store {
    Durable(Database),
    Memory {
        outbox: RefCell<BTreeMap<String, String>>,
        reads: RefCell<BTreeMap<String, String>>,
    },
}

impl Store {
    /// Opens the device's outbox; `None` when the browser has no usable IndexedDB, or when the
    /// open does not finish in a few seconds (another tab of an older version holding the
    /// database open, say): the page then goes on with memory rather than wait for ever.
    pub async fn open_durable() -> Option<Store> {
        use futures::future::{Either, select};
        let open = Box::pin(Self::open_database());
        let give_up = Box::pin(crate::browser::sleep(3_000));
        match select(open, give_up).await {
            Either::Left((store, _)) => store,
            Either::Right(_) => None,
        }
    }

    async fn open_database() -> Option<Store> {
        let factory = Factory::new().ok()?;
        let mut request = factory.open(DB_NAME, Some(DB_VERSION)).ok()?;
        request.on_upgrade_needed(|event| {
            if let Ok(db) = event.database() {
                for name in [OUTBOX, READS] {
                    if !db.store_names().iter().any(|n| n == name) {
                        let _ = db.create_object_store(name, ObjectStoreParams::new());
                    }
                }
            }
        });
        let mut db = request.await.ok()?;
        // A newer version of the app opening the database asks this one to let go.
        db.on_version_change(|event| {
            if let Some(target) = event.target() {
                use wasm_bindgen::JsCast;
                target.unchecked_into::<web_sys::IdbDatabase>().close();
            }
        });
        // A store missing after a successful open means the upgrade failed half-way.
        let names = db.store_names();
        [OUTBOX, READS]
            .iter()
            .all(|name| names.iter().any(|n| n == name))
            .then_some(Store::Durable(db))
    }

    pub fn memory() -> Store {
        Store::Memory {
            outbox: RefCell::new(BTreeMap::new()),
            reads: RefCell::new(BTreeMap::new()),
        }
    }

    pub fn is_durable(&self) -> bool {
        matches!(self, Store::Durable(_))
    }

    /// Every record, as `(key, json)`.
    pub async fn all(&self) -> Result<Vec<(String, String)>, StoreError> {
        match self {
            Store::Memory { outbox: map, .. } => Ok(map
                .borrow()
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()),
            Store::Durable(db) => {
                let tx = db.transaction(&[OUTBOX], TransactionMode::ReadOnly)?;
                let store = tx.object_store(OUTBOX)?;
                let keys = store.get_all_keys(None, None)?.await?;
                let values = store.get_all(None, None)?.await?;
                Ok(keys
                    .into_iter()
                    .zip(values)
                    .filter_map(|(k, v)| Some((k.as_string()?, v.as_string()?)))
                    .collect())
            }
        }
    }

    pub async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.get_in(OUTBOX, key).await
    }

    /// Writes a record and waits until the write is committed.
    pub async fn put(&self, key: &str, json: &str) -> Result<(), StoreError> {
        self.put_in(OUTBOX, key, json).await
    }

    /// A cached read, as stored by [`Store::put_read`].
    pub async fn get_read(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.get_in(READS, key).await
    }

    pub async fn put_read(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.put_in(READS, key, value).await
    }

    pub async fn delete_read(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::Durable(db) => {
                let tx = db.transaction(&[READS], TransactionMode::ReadWrite)?;
                tx.object_store(READS)?
                    .delete(JsValue::from_str(key))?
                    .await?;
                committed(tx).await
            }
            memory => {
                if let Some(m) = memory.memory_map(READS) {
                    m.borrow_mut().remove(key);
                }
                Ok(())
            }
        }
    }

    fn memory_map(&self, name: &str) -> Option<&RefCell<BTreeMap<String, String>>> {
        match self {
            Store::Memory { outbox, .. } if name == OUTBOX => Some(outbox),
            Store::Memory { reads, .. } => Some(reads),
            Store::Durable(_) => None,
        }
    }

    async fn get_in(&self, name: &str, key: &str) -> Result<Option<String>, StoreError> {
        match self {
            Store::Durable(db) => {
                let tx = db.transaction(&[name], TransactionMode::ReadOnly)?;
                let value = tx.object_store(name)?.get(JsValue::from_str(key))?.await?;
                Ok(value.and_then(|v| v.as_string()))
            }
            memory => Ok(memory
                .memory_map(name)
                .and_then(|m| m.borrow().get(key).cloned())),
        }
    }

    async fn put_in(&self, name: &str, key: &str, value: &str) -> Result<(), StoreError> {
        match self {
            Store::Durable(db) => {
                let tx = db.transaction(&[name], TransactionMode::ReadWrite)?;
                tx.object_store(name)?
                    .put(&JsValue::from_str(value), Some(&JsValue::from_str(key)))?
                    .await?;
                committed(tx).await
            }
            memory => {
                if let Some(m) = memory.memory_map(name) {
                    m.borrow_mut().insert(key.to_string(), value.to_string());
                }
                Ok(())
            }
        }
    }

    /// Reads, changes and writes one record in a single transaction, so two tabs acting on the
    /// same intent cannot overwrite each other. `change` returns the new JSON, or `None` to leave
    /// the record as it was. Returns the record as it is afterwards.
    ///
    /// `change` is boxed so this function exists once in the download, not once per caller.
    pub async fn update(
        &self,
        key: &str,
        change: Change<'_>,
    ) -> Result<Option<String>, StoreError> {
        match self {
            Store::Memory { outbox: map, .. } => {
                let mut map = map.borrow_mut();
                let Some(old) = map.get(key) else {
                    return Ok(None);
                };
                if let Some(new) = change(old) {
                    map.insert(key.to_string(), new);
                }
                Ok(map.get(key).cloned())
            }
            Store::Durable(db) => {
                let tx = db.transaction(&[OUTBOX], TransactionMode::ReadWrite)?;
                let store = tx.object_store(OUTBOX)?;
                let id = JsValue::from_str(key);
                let Some(old) = store.get(id.clone())?.await?.and_then(|v| v.as_string()) else {
                    return Ok(None);
                };
                let after = match change(&old) {
                    Some(new) => {
                        store.put(&JsValue::from_str(&new), Some(&id))?.await?;
                        new
                    }
                    None => old,
                };
                committed(tx).await?;
                Ok(Some(after))
            }
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        match self {
            Store::Memory { outbox: map, .. } => {
                map.borrow_mut().remove(key);
                Ok(())
            }
            Store::Durable(db) => {
                let tx = db.transaction(&[OUTBOX], TransactionMode::ReadWrite)?;
                tx.object_store(OUTBOX)?
                    .delete(JsValue::from_str(key))?
                    .await?;
                committed(tx).await
            }
        }
    }
}

/// Waits for a read-write transaction to commit; an abort is an error.
async fn committed(tx: idb::Transaction) -> Result<(), StoreError> {
    if tx.commit()?.await?.is_committed() {
        Ok(())
    } else {
        Err(StoreError("the write was aborted".into()))
    }
}
