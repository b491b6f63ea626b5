use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use fairslot_server::clock::Clock;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};

use crate::common::{TestServer, booking_body, slot};

/// One answer to a booking request: status, headers and the exact body bytes.
type Answer = (StatusCode, HeaderMap, Vec<u8>);

/// Sends `n` bookings of `body` at once, spread over `servers`; `key(i)` is the i-th request's
/// idempotency key.
async fn book_at_once(
    servers: &[&Arc<TestServer>],
    n: usize,
    body: &Value,
    key: impl Fn(usize) -> String,
) -> Vec<Answer> {
    let body = Arc::new(body.clone());
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let server = Arc::clone(servers[i % servers.len()]);
            let body = Arc::clone(&body);
            let key = key(i);
            tokio::spawn(async move {
                let response = server.book(&key, &body).await;
                let (status, headers) = (response.status(), response.headers().clone());
                (status, headers, response.bytes().await.unwrap().to_vec())
            })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

/// Exactly one request booked; every other one was told the slot is taken.
fn exactly_one_booked(answers: &[Answer]) {
    let mut created = 0;
    for (status, _, body) in answers {
        let body = String::from_utf8_lossy(body);
        match *status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => assert!(body.contains("slot-taken"), "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created, 1, "bookings for the last place");
}

/// Every request got the same 201, byte for byte, with the same `Location`.
fn all_the_same_booking(answers: &[Answer]) {
    for (status, headers, body) in answers {
        assert_eq!(
            *status,
            StatusCode::CREATED,
            "{}",
            String::from_utf8_lossy(body)
        );
        assert_eq!(headers["location"], answers[0].1["location"]);
        assert_eq!(body, &answers[0].2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_of_200_racing_bookings_gets_the_last_place() {
    let s = Arc::new(TestServer::start().await);
    let slot_id = slot("h1-cardio-3", 1, "pm", "1500");
    assert_eq!(s.remaining(&slot_id).await, 1);
    let answers = book_at_once(&[&s], 200, &booking_body(&slot_id), |i| {
        format!("race-key-{i:05}")
    })
    .await;
    exactly_one_booked(&answers);
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.remaining(&slot_id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_retries_with_one_key_all_get_the_same_booking() {
    let s = Arc::new(TestServer::start().await);
    let slot_id = slot("h1-cardio-5", 1, "pm", "1400");
    let answers = book_at_once(&[&s], 20, &booking_body(&slot_id), |_| {
        "double-tap-key-1".into()
    })
    .await;
    all_the_same_booking(&answers);
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.remaining(&slot_id).await, 2);
}

/// Two servers on one database file, as two processes would be: nothing but SQLite's own locking
/// (`BEGIN IMMEDIATE`) stands between their writers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_database_file_never_overbook_nor_book_a_key_twice() {
    let a = Arc::new(TestServer::start().await);
    let b = Arc::new(TestServer::start_sharing(&a).await);
    let last_place = slot("h1-cardio-3", 2, "am", "1100");
    let answers = book_at_once(&[&a, &b], 60, &booking_body(&last_place), |i| {
        format!("two-servers-{i:04}")
    })
    .await;
    exactly_one_booked(&answers);
    assert_eq!(a.remaining(&last_place).await, 0);
    assert_eq!(b.remaining(&last_place).await, 0);

    let roomy = slot("h1-cardio-5", 2, "am", "1000");
    let answers = book_at_once(&[&a, &b], 20, &booking_body(&roomy), |_| {
        "one-key-two-servers".into()
    })
    .await;
    all_the_same_booking(&answers);
    assert_eq!(a.query_i64("SELECT COUNT(*) FROM bookings"), 2);
    assert_eq!(a.remaining(&roomy).await, 2);
}

/// Places the test has seen granted and not yet given back. Each grant is counted after the
/// server made it and each return before the server takes it back, so the count never exceeds
/// what the server really has out: above capacity means overbooked.
#[derive(Default)]
struct Ledger {
    out: AtomicI64,
    peak: AtomicI64,
    grants: AtomicI64,
}

impl Ledger {
    fn granted(&self) {
        let out = self.out.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(out, Ordering::SeqCst);
        self.grants.fetch_add(1, Ordering::SeqCst);
    }

    fn returning(&self) {
        self.out.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What a patient could do to one slot, all at once.
#[derive(Clone, Copy)]
enum Move {
    HoldThenBookThenCancel,
    BookThenCancel,
    HoldThenRelease,
    HoldThenBook,
    Book,
    HoldAndWalkAway,
}

/// Holds a place; `None` when the slot is taken.
async fn try_hold(s: &TestServer, slot_id: &str, ledger: &Ledger) -> Option<String> {
    let response = s.post("/holds", &json!({ "slot_id": slot_id })).await;
    match response.status() {
        StatusCode::CREATED => {
            ledger.granted();
            let hold: Value = response.json().await.unwrap();
            Some(hold["id"].as_str().unwrap().to_string())
        }
        StatusCode::CONFLICT => None,
        other => panic!("hold answered {other}"),
    }
}

/// Books, with a hold or without; returns the code, `None` when the slot is taken.
async fn try_book(
    s: &TestServer,
    slot_id: &str,
    key: &str,
    hold_id: Option<String>,
    ledger: &Ledger,
) -> Option<String> {
    let mut body = booking_body(slot_id);
    let held = hold_id.is_some();
    if let Some(id) = hold_id {
        body["hold_id"] = json!(id);
    }
    let response = s.book(key, &body).await;
    match response.status() {
        StatusCode::CREATED => {
            // A booking made with a hold keeps the hold's place: nothing new is out.
            if !held {
                ledger.granted();
            }
            let booking: Value = response.json().await.unwrap();
            Some(booking["code"].as_str().unwrap().to_string())
        }
        StatusCode::CONFLICT if !held => None,
        other => panic!("booking answered {other}"),
    }
}

async fn cancel(s: &TestServer, code: &str, ledger: &Ledger) {
    ledger.returning();
    let response = s.cancel(code, "002X").await;
    assert_eq!(response.status(), StatusCode::OK);
}

async fn release(s: &TestServer, hold_id: &str, ledger: &Ledger) {
    ledger.returning();
    let response = s.delete(&format!("/holds/{hold_id}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// Runs one move; returns how many bookings it left confirmed.
async fn play(s: &TestServer, slot_id: &str, key: &str, how: Move, ledger: &Ledger) -> i64 {
    match how {
        Move::HoldThenBookThenCancel | Move::HoldThenBook => {
            let Some(hold_id) = try_hold(s, slot_id, ledger).await else {
                return 0;
            };
            let code = try_book(s, slot_id, key, Some(hold_id), ledger).await;
            let code = code.expect("a live hold books");
            if matches!(how, Move::HoldThenBook) {
                return 1;
            }
            cancel(s, &code, ledger).await;
            0
        }
        Move::BookThenCancel | Move::Book => {
            let Some(code) = try_book(s, slot_id, key, None, ledger).await else {
                return 0;
            };
            if matches!(how, Move::Book) {
                return 1;
            }
            cancel(s, &code, ledger).await;
            0
        }
        Move::HoldThenRelease => {
            if let Some(hold_id) = try_hold(s, slot_id, ledger).await {
                release(s, &hold_id, ledger).await;
            }
            0
        }
        Move::HoldAndWalkAway => {
            try_hold(s, slot_id, ledger).await;
            0
        }
    }
}

/// Runs `rounds` moves in each of `players` tasks against two servers sharing one file; returns
/// how many bookings were left confirmed.
async fn race(
    phase: &str,
    servers: [&Arc<TestServer>; 2],
    slot_id: &str,
    moves: &[Move],
    players: usize,
    rounds: usize,
    ledger: &Arc<Ledger>,
) -> i64 {
    let tasks: Vec<_> = (0..players)
        .map(|player| {
            let server = Arc::clone(servers[player % 2]);
            let slot_id = slot_id.to_string();
            let phase = phase.to_string();
            let moves = moves.to_vec();
            let ledger = Arc::clone(ledger);
            tokio::spawn(async move {
                let mut confirmed = 0;
                for round in 0..rounds {
                    let how = moves[(player + round) % moves.len()];
                    let key = format!("{phase}-{player:03}-{round:03}");
                    confirmed += play(&server, &slot_id, &key, how, &ledger).await;
                }
                confirmed
            })
        })
        .collect();
    let mut confirmed = 0;
    for task in tasks {
        confirmed += task.await.unwrap();
    }
    confirmed
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_holds_bookings_releases_and_cancels_never_overbook_and_keep_the_books_balanced() {
    let a = Arc::new(TestServer::start().await);
    let b = Arc::new(TestServer::start_sharing(&a).await);
    // Capacity 2, nothing booked in advance.
    let slot_id = slot("h1-cardio-4", 3, "pm", "1500");
    let in_db = |sql: &str| a.query_i64(&sql.replace("{slot}", &slot_id));
    let booked =
        || in_db("SELECT COUNT(*) FROM bookings WHERE slot_id = '{slot}' AND status = 'confirmed'");
    let held = || in_db("SELECT COUNT(*) FROM holds WHERE slot_id = '{slot}' AND state = 'active'");
    let free = || in_db("SELECT remaining FROM slots WHERE id = '{slot}'");

    // Everyone takes a place and gives it back, over and over.
    let ledger = Arc::new(Ledger::default());
    let churn = [
        Move::HoldThenBookThenCancel,
        Move::BookThenCancel,
        Move::HoldThenRelease,
    ];
    race("churn", [&a, &b], &slot_id, &churn, 12, 8, &ledger).await;
    let peak = ledger.peak.load(Ordering::SeqCst);
    assert!(peak <= 2, "{peak} places out at once for 2");
    assert!(
        ledger.grants.load(Ordering::SeqCst) >= 12,
        "places must change hands for the race to mean anything"
    );
    assert_eq!((booked(), held(), free()), (0, 0, 2));

    // Now some keep their place and some walk away from a hold.
    let ledger = Arc::new(Ledger::default());
    let keep = [Move::HoldThenBook, Move::Book, Move::HoldAndWalkAway];
    let confirmed = race("keep", [&a, &b], &slot_id, &keep, 12, 2, &ledger).await;
    assert_eq!(
        booked(),
        confirmed,
        "every confirmed booking was answered 201"
    );
    assert!(ledger.peak.load(Ordering::SeqCst) <= 2);
    assert_eq!(
        free() + booked() + held(),
        2,
        "places: {} free, {} booked, {} held",
        free(),
        booked(),
        held()
    );

    // Holds left behind run out and give their places back; bookings stay.
    a.clock.advance(chrono::Duration::seconds(301));
    assert_eq!(a.remaining(&slot_id).await as i64, 2 - confirmed);
    let now = a.clock.now();
    a.server().state.store.expire_holds(now).unwrap();
    assert_eq!((free(), held()), (2 - confirmed, 0));
}
