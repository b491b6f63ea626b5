//! The deployment's open ledger (公开账本), checked on this device as a stranger would check it:
//! with the ledger's key and nothing else the operator says. The judgement is core's
//! ([`fairslot_core::ledger::audit`]); this module fetches what it judges and keeps, on the
//! device, the key and the newest checkpoint it verified, so the next check can prove the ledger
//! only grew since.
//!
//! Only the native API keeps a ledger; a FHIR deployment has none.

use fairslot_core::LedgerRef;
use fairslot_core::config::{AdapterKind, Config};
use fairslot_core::ledger::{
    self, Audited, EntriesAnswer, Entry, LedgerError, NoteVerifier, ProofAnswer, Served,
};

use super::ApiError;
use super::http::{Dialect, RawResponse, Transport, interpret};
use crate::browser;

/// Minutes after a release that count as its rush on the ledger page.
pub const EARLY_MINUTES: i64 = 10;

/// Why a check did not verify.
#[derive(Debug, Clone, PartialEq)]
pub enum LedgerFailure {
    /// The ledger could not be read: offline, the service down, an answer that is not a ledger's.
    Api(ApiError),
    /// The ledger was read and does not hold up.
    Ledger(LedgerError),
}

impl From<ApiError> for LedgerFailure {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

impl From<LedgerError> for LedgerFailure {
    fn from(e: LedgerError) -> Self {
        Self::Ledger(e)
    }
}

/// A ledger that held up, and the size of the checkpoint this device had kept before, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub audited: Audited,
    pub kept_size: Option<u64>,
}

/// The key and checkpoint this device kept: the key's line, then the signed note.
struct Kept {
    key: String,
    note: Option<String>,
}

fn kept() -> Option<Kept> {
    let text = browser::kept_ledger()?;
    let (key, note) = text.split_once('\n').unwrap_or((text.as_str(), ""));
    Some(Kept {
        key: key.to_string(),
        note: (!note.is_empty()).then(|| note.to_string()),
    })
}

/// Where the ledger of a native deployment is read.
pub struct LedgerSource {
    transport: Transport,
}

impl LedgerSource {
    /// The ledger of the configured backend; `None` for a FHIR backend, which keeps none.
    pub fn from_config(config: &Config) -> Option<Self> {
        (config.adapter == AdapterKind::Native).then(|| Self {
            transport: Transport::new(
                config.base_urls.clone(),
                Dialect::Native {
                    channel: config.channel.clone(),
                    client: browser::client_token(true),
                },
                std::time::Duration::from_millis(config.timeout_ms.into()),
            ),
        })
    }

    async fn text(&self, path: &str) -> Result<String, ApiError> {
        let raw = self.transport.get_raw(path).await?;
        if (200..300).contains(&raw.status) {
            Ok(raw.body)
        } else {
            Err(failure(raw))
        }
    }

    /// The key the device holds the ledger to: the one it kept, or on first use the one the
    /// server names.
    async fn key(&self) -> Result<(String, NoteVerifier), LedgerFailure> {
        let key = match kept() {
            Some(kept) => kept.key,
            None => self.text("/ledger/key").await?.trim().to_string(),
        };
        let verifier = NoteVerifier::parse(&key)?;
        Ok((key, verifier))
    }

    /// Every entry up to `size`; fewer if the server has fewer.
    async fn leaves(&self, size: u64) -> Result<Vec<String>, LedgerFailure> {
        let mut leaves = Vec::new();
        while let Some(path) = ledger::next_entries_path(leaves.len() as u64, size) {
            let page: EntriesAnswer = self.transport.get(&path).await?;
            if page.start != leaves.len() as u64 || page.entries.is_empty() {
                break;
            }
            leaves.extend(page.entries);
        }
        Ok(leaves)
    }

    /// Checks the whole ledger against what this device kept, and keeps the newest checkpoint
    /// if it holds up.
    pub async fn audit(&self) -> Result<Report, LedgerFailure> {
        let (key, verifier) = self.key().await?;
        let kept_note = kept().and_then(|k| k.note);
        let kept_size = match &kept_note {
            Some(note) => Some(verifier.open(note)?.size),
            None => None,
        };
        let checkpoint = self.text("/ledger/checkpoint").await?;
        let latest = verifier.open(&checkpoint)?;
        let consistency: Option<ProofAnswer> = match kept_size {
            Some(first) => {
                let raw = self
                    .transport
                    .get_raw(&format!("/ledger/consistency?first={first}"))
                    .await?;
                // The ledger is now smaller than a checkpoint it signed: the audit says so.
                if raw.status == 404 {
                    None
                } else {
                    Some(interpret(raw)?)
                }
            }
            None => None,
        };
        let size = consistency
            .as_ref()
            .map_or(latest.size, |p| p.size.max(latest.size));
        let leaves = self.leaves(size).await?;
        let audited = ledger::audit(
            &verifier,
            kept_note.as_deref(),
            Served {
                checkpoint: &checkpoint,
                consistency: consistency.as_ref(),
                leaves: &leaves,
            },
            chrono::TimeDelta::minutes(EARLY_MINUTES),
        )?;
        browser::keep_ledger(&format!("{key}\n{}", audited.note));
        Ok(Report { audited, kept_size })
    }

    /// Checks that a booking's entry is in the ledger the key signed, at its index, and is the
    /// booking's: the entry's id is the one the booking was given.
    pub async fn verify_entry(&self, entry: &LedgerRef) -> Result<(), LedgerFailure> {
        let (_, verifier) = self.key().await?;
        let proof: ProofAnswer = self
            .transport
            .get(&format!("/ledger/inclusion?index={}", entry.index))
            .await?;
        let checkpoint = verifier.open(&proof.checkpoint)?;
        let page: EntriesAnswer = self
            .transport
            .get(&format!(
                "/ledger/entries?start={}&end={}",
                entry.index,
                entry.index + 1
            ))
            .await?;
        let leaf = page
            .entries
            .first()
            .filter(|_| page.start == entry.index)
            .ok_or(LedgerError::NotIncluded)?;
        ledger::verify_inclusion(&checkpoint, entry.index, leaf, &proof.hashes()?)?;
        match Entry::parse(leaf)? {
            Entry::Booked { entry: id, .. } if id == entry.entry => Ok(()),
            _ => Err(LedgerError::NotIncluded.into()),
        }
    }
}

/// A refusal or failure read from an answer that was not a success.
fn failure(raw: RawResponse) -> ApiError {
    match interpret::<serde_json::Value>(raw) {
        Err(e) => e,
        Ok(_) => ApiError::BadData("a success where a failure was expected".into()),
    }
}
