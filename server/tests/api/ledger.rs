//! The open ledger as a stranger checks it: only with the published key, the entries and the
//! proofs the server hands out — and what that stranger sees when someone rewrites the database.

use fairslot_core::ledger::{
    Checkpoint, EntriesAnswer, Entry, LedgerError, NoteVerifier, ProofAnswer, next_entries_path,
    root_of_leaves, verify_consistency, verify_inclusion,
};
use serde_json::Value;

use crate::common::{TestServer, slot};

async fn verifier(s: &TestServer) -> NoteVerifier {
    let key = s.get("/ledger/key").await.text().await.unwrap();
    NoteVerifier::parse(&key).unwrap()
}

async fn checkpoint(s: &TestServer, key: &NoteVerifier) -> Checkpoint {
    let note = s.get("/ledger/checkpoint").await.text().await.unwrap();
    key.open(&note).unwrap()
}

async fn entries(s: &TestServer, size: u64) -> Vec<String> {
    let mut leaves = Vec::new();
    while let Some(path) = next_entries_path(leaves.len() as u64, size) {
        let page: EntriesAnswer = s.get(&path).await.json().await.unwrap();
        assert!(
            !page.entries.is_empty(),
            "entries end before the checkpoint"
        );
        leaves.extend(page.entries);
    }
    leaves
}

async fn proof(s: &TestServer, path: &str) -> ProofAnswer {
    let response = s.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// The index of the entry that records a booking: the `booked` entry of its slot.
fn booked_index(leaves: &[String], slot_id: &str) -> (u64, String) {
    leaves
        .iter()
        .enumerate()
        .find_map(|(i, leaf)| match Entry::parse(leaf) {
            Ok(Entry::Booked { slot, entry, .. }) if slot == slot_id => Some((i as u64, entry)),
            _ => None,
        })
        .expect("a booked entry for the slot")
}

#[tokio::test]
async fn bookings_and_cancellations_are_entries_anyone_can_verify_and_none_names_the_patient() {
    let s = TestServer::start().await;
    let key = verifier(&s).await;
    let before = checkpoint(&s, &key).await;
    // The demo's sessions are released into the ledger when they are made.
    assert!(before.size > 0);
    let leaves = entries(&s, before.size).await;
    assert_eq!(
        root_of_leaves(leaves.iter().map(String::as_str)),
        (before.size, before.root)
    );
    assert!(matches!(
        Entry::parse(&leaves[0]),
        Ok(Entry::Released { .. })
    ));

    let slot_id = slot("h1-cardio-4", 1, "am", "0900");
    let booking = s.book_ok("ledger-key-0001", &slot_id).await;
    let code = booking["code"].as_str().unwrap();
    assert_eq!(s.cancel(code, "002X").await.status(), 200);

    let after = checkpoint(&s, &key).await;
    assert_eq!(after.size, before.size + 2);
    let grown = proof(&s, &format!("/ledger/consistency?first={}", before.size)).await;
    let newest = key.open(&grown.checkpoint).unwrap();
    assert_eq!(
        verify_consistency(&before, &newest, &grown.hashes().unwrap()),
        Ok(())
    );

    let leaves = entries(&s, after.size).await;
    let (index, entry) = booked_index(&leaves, &slot_id);
    // The booking itself says where it stands, and a lookup says it again.
    assert_eq!(booking["ledger"]["index"], index);
    assert_eq!(booking["ledger"]["entry"], entry.as_str());
    let included = proof(&s, &format!("/ledger/inclusion?index={index}")).await;
    let at = key.open(&included.checkpoint).unwrap();
    assert_eq!(
        verify_inclusion(
            &at,
            index,
            &leaves[index as usize],
            &included.hashes().unwrap()
        ),
        Ok(())
    );
    assert!(matches!(
        Entry::parse(leaves.last().unwrap()),
        Ok(Entry::Cancelled { entry: e, .. }) if e == entry
    ));

    // What the ledger says of the booking: its slot, channel and time, under an id of its own.
    let booked = &leaves[index as usize];
    for secret in [
        code,
        "ledger-key-0001",
        "11010519491231002X",
        "002X",
        "13812345678",
        "李雷",
    ] {
        assert!(!booked.contains(secret), "{booked} holds {secret}");
    }
    assert!(!entry.contains(code));

    assert_eq!(s.get("/ledger/inclusion?index=999999").await.status(), 404);
    assert_eq!(s.get("/ledger/inclusion").await.status(), 422);
    assert_eq!(
        s.get("/ledger/entries?start=0&end=5000").await.status(),
        422
    );
}

/// The operator moves the booking of entry `index` to another channel in the database file.
/// The ledger refuses a plain UPDATE; someone with the file can still drop the guard.
fn db_rewrite(s: &TestServer, index: u64) {
    let db = rusqlite::Connection::open(s.database()).unwrap();
    let refused = db.execute(
        "UPDATE ledger SET leaf = replace(leaf, '\"web\"', '\"partner-a\"') WHERE idx = ?1",
        [index],
    );
    assert!(refused.is_err(), "the ledger table is append-only");
    let deleted = db.execute("DELETE FROM ledger WHERE idx = ?1", [index]);
    assert!(deleted.is_err(), "no entry of the ledger can be deleted");
    db.execute_batch("DROP TRIGGER ledger_is_append_only_update")
        .unwrap();
    let changed = db
        .execute(
            "UPDATE ledger SET leaf = replace(leaf, '\"channel\":\"', '\"channel\":\"partner-a-') WHERE idx = ?1",
            [index],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// Runs `fairslot-server monitor` (the real binary) once against the server, keeping its state
/// in `state`; whether it verified, and what it printed. The server runs on the test's runtime,
/// so the monitor waits on the blocking pool.
async fn monitor(s: &TestServer, state: &std::path::Path) -> (bool, String) {
    let url = s.url("");
    let state = state.to_path_buf();
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_fairslot-server"))
            .args(["monitor", "--url", &url, "--state"])
            .arg(state)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
async fn a_row_rewritten_behind_the_servers_back_is_caught_by_anyone_who_kept_a_checkpoint() {
    let mut s = TestServer::start().await;
    let key = verifier(&s).await;
    let slot_id = slot("h1-cardio-4", 2, "am", "0900");
    s.book_ok("ledger-key-0002", &slot_id).await;
    let kept = checkpoint(&s, &key).await;
    let leaves = entries(&s, kept.size).await;
    let (index, _) = booked_index(&leaves, &slot_id);

    // A monitor run before the rewrite kept the checkpoint of the moment.
    let states = tempfile::tempdir().unwrap();
    let state = states.path().join("kept.state");
    let (ok, out) = monitor(&s, &state).await;
    assert!(ok, "{out}");
    assert!(out.contains("verified"), "{out}");
    db_rewrite(&s, index);

    // The running server still signs the old tree, but the entries it serves no longer add up,
    // which a monitor that starts now sees at once.
    let (ok, out) = monitor(&s, &states.path().join("fresh.state")).await;
    assert!(!ok);
    assert!(
        out.contains("do not add up to the signed checkpoint"),
        "{out}"
    );
    let served = entries(&s, kept.size).await;
    assert_ne!(
        root_of_leaves(served.iter().map(String::as_str)).1,
        kept.root
    );
    let response: Value = s
        .get(&format!("/ledger/entries?start={index}&end={}", index + 1))
        .await
        .json()
        .await
        .unwrap();
    assert!(
        response["entries"][0]
            .as_str()
            .unwrap()
            .contains("partner-a-")
    );

    // Restarted, it builds its tree from the rewritten rows: its new checkpoint cannot be shown
    // to extend the one kept, and the monitor that kept one says so.
    s.restart().await;
    let (ok, out) = monitor(&s, &state).await;
    assert!(!ok);
    assert!(out.contains("NOT VERIFIED"), "{out}");
    let proof = proof(&s, &format!("/ledger/consistency?first={}", kept.size)).await;
    let newer = key.open(&proof.checkpoint).unwrap();
    assert_eq!(newer.size, kept.size);
    assert_eq!(
        verify_consistency(&kept, &newer, &proof.hashes().unwrap()),
        Err(LedgerError::Rewritten)
    );
}

#[tokio::test]
async fn the_signing_key_survives_a_restart_and_two_servers_on_one_database_publish_one_tree() {
    let mut s = TestServer::start().await;
    let key = s.get("/ledger/key").await.text().await.unwrap();
    let other = TestServer::start_sharing(&s).await;
    s.book_ok("ledger-key-0003", &slot("h1-cardio-4", 3, "am", "0900"))
        .await;
    let verifier = NoteVerifier::parse(&key).unwrap();
    assert_eq!(
        checkpoint(&other, &verifier).await,
        checkpoint(&s, &verifier).await
    );
    s.restart().await;
    assert_eq!(s.get("/ledger/key").await.text().await.unwrap(), key);
}
