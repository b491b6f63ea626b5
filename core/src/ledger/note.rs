//! Checkpoints as signed notes, in the C2SP `tlog-checkpoint` and `signed-note` formats, so that
//! the tools people already run against transparency logs can read and check ours.
//!
//! A checkpoint is three lines — the log's origin, its size, its root hash in base64 — and the
//! note adds a blank line and one signature line per key: an em dash, the key's name and
//! `base64(key id ‖ Ed25519 signature)`. The key id is the first four bytes of
//! `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ public key)`, and a verifier key is written
//! `name+<key id in hex>+base64(0x01 ‖ public key)`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

use super::{Hash, LedgerError};

/// The signature type of Ed25519 in signed notes.
const ED25519: u8 = 0x01;
/// The start of a signature line: an em dash and a space.
const SIGNATURE_START: &str = "\u{2014} ";
/// No honest note is longer; a longer one is refused before it is read.
const MAX_NOTE_BYTES: usize = 16 * 1024;

/// What a checkpoint says: which log, how many entries, and the root over them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text the signature covers, ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Reads a checkpoint body: origin, size and root on their first three lines; any further
    /// (extension) lines are ignored, as the format asks.
    pub fn parse(body: &str) -> Result<Self, LedgerError> {
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(LedgerError::Malformed("checkpoint"));
        };
        let size_ok = !size.is_empty()
            && size.bytes().all(|b| b.is_ascii_digit())
            && (size == "0" || !size.starts_with('0'));
        let size = size
            .parse()
            .ok()
            .filter(|_| size_ok)
            .ok_or(LedgerError::Malformed("checkpoint size"))?;
        let root = B64
            .decode(root)
            .ok()
            .and_then(|r| Hash::try_from(r.as_slice()).ok())
            .ok_or(LedgerError::Malformed("checkpoint root"))?;
        if origin.is_empty() || !body.ends_with('\n') {
            return Err(LedgerError::Malformed("checkpoint"));
        }
        Ok(Self {
            origin: origin.to_string(),
            size,
            root,
        })
    }
}

/// The first four bytes of `SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)`.
fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ED25519]);
    h.update(key.as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// A key name is non-empty and has no spaces, pluses or control characters.
fn is_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c.is_control())
}

/// The deployment's signing key for its ledger.
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed, under a key name (usually the log's origin).
    pub fn new(name: &str, seed: [u8; 32]) -> Result<Self, LedgerError> {
        if !is_key_name(name) {
            return Err(LedgerError::Malformed("key name"));
        }
        Ok(Self {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// The verifier key anyone needs to check this signer's notes.
    pub fn verifier_key(&self) -> String {
        let public = self.key.verifying_key();
        let mut encoded = vec![ED25519];
        encoded.extend_from_slice(public.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex(&key_id(&self.name, &public)),
            B64.encode(encoded)
        )
    }

    /// The checkpoint as a signed note.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        let body = checkpoint.body();
        let signature = self.key.sign(body.as_bytes());
        let mut signed = key_id(&self.name, &self.key.verifying_key()).to_vec();
        signed.extend_from_slice(&signature.to_bytes());
        format!(
            "{body}\n{SIGNATURE_START}{} {}\n",
            self.name,
            B64.encode(signed)
        )
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A published verifier key: checks notes signed by that one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: [u8; 4],
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Reads `name+<key id>+<base64(0x01 ‖ key)>`, refusing a key id that does not match the key.
    pub fn parse(vkey: &str) -> Result<Self, LedgerError> {
        let bad = || LedgerError::Malformed("verifier key");
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let encoded = B64.decode(key).map_err(|_| bad())?;
        let [ED25519, rest @ ..] = encoded.as_slice() else {
            return Err(bad());
        };
        let key = <[u8; 32]>::try_from(rest)
            .ok()
            .and_then(|k| VerifyingKey::from_bytes(&k).ok())
            .ok_or_else(bad)?;
        let expected = key_id(name, &key);
        if !is_key_name(name) || id != hex(&expected) {
            return Err(bad());
        }
        Ok(Self {
            name: name.to_string(),
            id: expected,
            key,
        })
    }

    /// The checkpoint a note carries, if this key signed it. Lines of other keys are skipped (a
    /// note may be cosigned by witnesses); a line of this key with a bad signature refuses the
    /// whole note.
    pub fn open(&self, note: &str) -> Result<Checkpoint, LedgerError> {
        if note.len() > MAX_NOTE_BYTES
            || !note.ends_with('\n')
            || note.chars().any(|c| c.is_control() && c != '\n')
        {
            return Err(LedgerError::Malformed("signed note"));
        }
        let split = note[..note.len() - 1]
            .rfind("\n\n")
            .ok_or(LedgerError::Malformed("signed note"))?;
        let (body, signatures) = (&note[..=split], &note[split + 2..]);
        for line in signatures.lines() {
            let (name, signature) = line
                .strip_prefix(SIGNATURE_START)
                .and_then(|l| l.split_once(' '))
                .ok_or(LedgerError::Malformed("signature line"))?;
            let signed = B64
                .decode(signature)
                .map_err(|_| LedgerError::Malformed("signature line"))?;
            if name != self.name || signed.len() != 68 || signed[..4] != self.id {
                continue;
            }
            let signature = Signature::from_slice(&signed[4..])
                .map_err(|_| LedgerError::Malformed("signature line"))?;
            self.key
                .verify(body.as_bytes(), &signature)
                .map_err(|_| LedgerError::BadSignature)?;
            return Checkpoint::parse(body);
        }
        Err(LedgerError::Unsigned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of the Go `sumdb/note` package, signed by a key published with it.
    const PUBLISHED_KEY: &str =
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PUBLISHED_NOTE: &str = "If you think cryptography is the answer to your problem,\n\
        then you don't know what your problem is.\n\
        \n\
        \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    #[test]
    fn a_note_signed_by_another_implementation_verifies_here() {
        let verifier = NoteVerifier::parse(PUBLISHED_KEY).unwrap();
        // Not a checkpoint, so it opens as far as the signature and fails only on its content.
        assert_eq!(
            verifier.open(PUBLISHED_NOTE),
            Err(LedgerError::Malformed("checkpoint size"))
        );
        let altered = PUBLISHED_NOTE.replace("cryptography", "cryptograph");
        assert_eq!(verifier.open(&altered), Err(LedgerError::BadSignature));
    }

    fn checkpoint(size: u64) -> Checkpoint {
        Checkpoint {
            origin: "fairslot.example/ledger".into(),
            size,
            root: [7; 32],
        }
    }

    #[test]
    fn a_signed_checkpoint_opens_with_the_published_key_only() {
        let signer = NoteSigner::new("fairslot.example/ledger", [1; 32]).unwrap();
        let note = signer.sign(&checkpoint(42));
        assert!(note.starts_with("fairslot.example/ledger\n42\nBwcH"));
        let verifier = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        assert_eq!(verifier.open(&note), Ok(checkpoint(42)));

        let other = NoteSigner::new("fairslot.example/ledger", [2; 32]).unwrap();
        let stranger = NoteVerifier::parse(&other.verifier_key()).unwrap();
        assert_eq!(stranger.open(&note), Err(LedgerError::Unsigned));
        // A rewritten size under the old signature does not pass.
        let forged = note.replacen("\n42\n", "\n41\n", 1);
        assert_eq!(verifier.open(&forged), Err(LedgerError::BadSignature));
    }

    #[test]
    fn a_witness_line_of_another_key_is_skipped() {
        let signer = NoteSigner::new("log", [1; 32]).unwrap();
        let witness = NoteSigner::new("witness", [3; 32]).unwrap();
        let note = signer.sign(&checkpoint(3));
        let cosigned = format!(
            "{note}{}",
            witness.sign(&checkpoint(3)).rsplit("\n\n").next().unwrap()
        );
        let from_witness = NoteVerifier::parse(&witness.verifier_key()).unwrap();
        let from_log = NoteVerifier::parse(&signer.verifier_key()).unwrap();
        assert!(from_log.open(&cosigned).is_ok());
        assert!(from_witness.open(&cosigned).is_ok());
    }

    #[test]
    fn malformed_keys_and_notes_are_refused() {
        let signer = NoteSigner::new("log", [1; 32]).unwrap();
        let vkey = signer.verifier_key();
        for bad in [
            "",
            "log",
            &vkey.replacen("+", "+0", 1),
            &vkey.replacen("log+", "other+", 1),
        ] {
            assert!(NoteVerifier::parse(bad).is_err(), "{bad}");
        }
        assert!(NoteSigner::new("a log", [1; 32]).is_err());
        let verifier = NoteVerifier::parse(&vkey).unwrap();
        let note = signer.sign(&checkpoint(1));
        for bad in [
            note.trim_end().to_string(),
            note.replace("\n\n", "\n"),
            note.replacen("ledger\n", "ledger\r\n", 1),
            "x".repeat(MAX_NOTE_BYTES + 1),
        ] {
            assert!(verifier.open(&bad).is_err(), "{bad:?}");
        }
        for body in [
            "log\n01\nBwcH\n",
            "log\n-1\n",
            "log\n1\nnot base64\n",
            "\n1\n",
        ] {
            assert!(Checkpoint::parse(body).is_err(), "{body:?}");
        }
    }
}
