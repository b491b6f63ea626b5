//! The real-name booking rules (实名制), hold budgets and proof lockout of a server as deployed,
//! each shown by a refusal a patient would meet and by what the refused request left unchanged.

use chrono::Duration;
use fairslot_server::clock::Clock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestServer, client_token, expect_problem, header, person, resident_id, slot};

async fn book_as(s: &TestServer, key: &str, slot_id: &str, patient: &Value) -> reqwest::Response {
    s.book(key, &json!({ "slot_id": slot_id, "patient": patient }))
        .await
}

async fn refused_by(response: reqwest::Response, rule: &str) -> Value {
    let problem = expect_problem(response, 409, "booking-limit").await;
    assert_eq!(problem["rule"], rule, "{problem}");
    problem
}

#[tokio::test]
async fn one_booking_per_person_per_doctor_and_department_per_day() {
    let s = TestServer::start_as_deployed().await;
    let me = person(1, 1);
    let first = book_as(
        &s,
        "rule-doctor-01",
        &slot("h1-cardio-4", 1, "am", "0800"),
        &me,
    )
    .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let places = s.total_remaining();

    // The same doctor in the afternoon of the same day.
    let again = book_as(
        &s,
        "rule-doctor-02",
        &slot("h1-cardio-4", 1, "pm", "1400"),
        &me,
    )
    .await;
    let problem = refused_by(again, "doctor_day").await;
    assert_eq!(problem["limit"], 1);
    // Another doctor of the same department, the same day.
    let colleague = book_as(
        &s,
        "rule-dept-01",
        &slot("h1-cardio-5", 1, "am", "1000"),
        &me,
    )
    .await;
    refused_by(colleague, "department_day").await;
    assert_eq!(s.total_remaining(), places, "a refusal takes no place");

    // Another day, or another person the same day, is fine.
    let tomorrow = book_as(
        &s,
        "rule-doctor-03",
        &slot("h1-cardio-4", 2, "am", "0800"),
        &me,
    )
    .await;
    assert_eq!(tomorrow.status(), StatusCode::CREATED);
    let other = book_as(
        &s,
        "rule-doctor-04",
        &slot("h1-cardio-4", 1, "pm", "1400"),
        &person(2, 2),
    )
    .await;
    assert_eq!(other.status(), StatusCode::CREATED);
    // The same document typed in lower case is the same person.
    let mut shouted = me.clone();
    shouted["document_number"] = json!(resident_id(1).to_lowercase());
    let sneaky = book_as(
        &s,
        "rule-doctor-05",
        &slot("h1-cardio-6", 2, "pm", "1400"),
        &shouted,
    )
    .await;
    refused_by(sneaky, "department_day").await;
}

#[tokio::test]
async fn a_person_and_a_phone_have_at_most_three_upcoming_bookings() {
    let s = TestServer::start_as_deployed().await;
    let me = person(10, 10);
    for day in 1..=3 {
        let booked = book_as(
            &s,
            &format!("rule-active-{day:02}"),
            &slot("h1-cardio-5", day, "am", "0800"),
            &me,
        )
        .await;
        assert_eq!(booked.status(), StatusCode::CREATED);
    }
    let fourth = book_as(
        &s,
        "rule-active-04",
        &slot("h1-cardio-5", 4, "am", "0800"),
        &me,
    )
    .await;
    let problem = refused_by(fourth, "active_per_person").await;
    assert_eq!(problem["limit"], 3);

    // Three people on one phone (a family, or a script with generated ID numbers).
    for (i, day) in (1..=3).enumerate() {
        let booked = book_as(
            &s,
            &format!("rule-phone-{day:02}"),
            &slot("h1-cardio-6", day, "pm", "1400"),
            &person(20 + i as u32, 99),
        )
        .await;
        assert_eq!(booked.status(), StatusCode::CREATED);
    }
    let fourth = book_as(
        &s,
        "rule-phone-04",
        &slot("h1-cardio-6", 4, "pm", "1400"),
        &person(30, 99),
    )
    .await;
    refused_by(fourth, "active_per_phone").await;

    // A cancelled booking no longer counts.
    let first: Value = s.by_key("rule-active-01").await.json().await.unwrap();
    let last4 = &resident_id(10)[14..];
    let cancelled = s.cancel(first["code"].as_str().unwrap(), last4).await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let now_fine = book_as(
        &s,
        "rule-active-05",
        &slot("h1-cardio-5", 4, "am", "0800"),
        &me,
    )
    .await;
    assert_eq!(now_fine.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn late_cancellations_start_a_cooling_off_period_with_its_end() {
    let s = TestServer::start_as_deployed().await;
    let me = person(40, 40);
    let last4 = &resident_id(40)[14..];
    // Three bookings for 08:00 tomorrow cancelled now, 23 hours before: late each time.
    for i in 0..3 {
        let slot_id = slot("h1-cardio-4", 1, "am", "0800");
        let booked = book_as(&s, &format!("late-{i:03}-key"), &slot_id, &me).await;
        assert_eq!(booked.status(), StatusCode::CREATED, "{slot_id}");
        let booked: Value = booked.json().await.unwrap();
        let cancelled = s.cancel(booked["code"].as_str().unwrap(), last4).await;
        assert_eq!(cancelled.status(), StatusCode::OK);
    }
    let refused = book_as(
        &s,
        "late-004-key",
        &slot("h1-cardio-5", 10, "am", "0800"),
        &me,
    )
    .await;
    let problem = refused_by(refused, "cooling_off").await;
    let until = chrono::DateTime::parse_from_rfc3339(problem["until"].as_str().unwrap()).unwrap();
    assert_eq!(until, s.clock.now() + Duration::days(7));
    // Slowed down, not banned: after the period the person books again.
    s.clock.advance(Duration::days(7) + Duration::minutes(1));
    let later = book_as(
        &s,
        "late-005-key",
        &slot("h1-cardio-5", 10, "am", "0800"),
        &me,
    )
    .await;
    assert_eq!(later.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn rules_are_the_deployments_to_set() {
    let s = TestServer::start_as_deployed_with(|c| {
        c.rules.per_doctor_day = 2;
        c.rules.per_department_day = 0;
    })
    .await;
    let me = person(50, 50);
    for (key, period, hhmm) in [("set-01-key", "am", "0800"), ("set-02-key", "pm", "1400")] {
        let booked = book_as(&s, key, &slot("h1-cardio-4", 1, period, hhmm), &me).await;
        assert_eq!(booked.status(), StatusCode::CREATED);
    }
    let third = book_as(&s, "set-03-key", &slot("h1-cardio-4", 1, "am", "0900"), &me).await;
    assert_eq!(refused_by(third, "doctor_day").await["limit"], 2);
}

#[tokio::test]
async fn a_client_keeps_one_live_hold_and_changing_its_mind_costs_nothing() {
    let s = TestServer::start_as_deployed().await;
    let before = s.total_remaining();
    let client = client_token();
    let mut last = Value::Null;
    for (i, hhmm) in ["0800", "0815", "0830", "0845", "0900", "0915", "0930"]
        .iter()
        .enumerate()
    {
        let held = s
            .hold_as(&client, &slot("h1-cardio-3", 1, "am", hhmm))
            .await;
        assert_eq!(held.status(), StatusCode::CREATED, "hold {i}");
        last = held.json().await.unwrap();
        // Each new hold gave the one before back.
        assert_eq!(s.total_remaining(), before - 1);
    }
    // Given back, a hold frees its budget at once: the client can go on choosing.
    let released = s
        .delete(&format!("/holds/{}", last["id"].as_str().unwrap()))
        .await;
    assert_eq!(released.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.total_remaining(), before);
}

#[tokio::test]
async fn a_client_that_lets_its_holds_run_out_is_slowed_down_not_banned() {
    let s = TestServer::start_as_deployed().await;
    let client = client_token();
    for i in 0..6 {
        let held = s
            .hold_as(&client, &slot("h1-cardio-3", 2, "am", "0800"))
            .await;
        assert_eq!(held.status(), StatusCode::CREATED, "hold {i}");
        s.clock.advance(Duration::seconds(301));
    }
    let slowed = s
        .hold_as(&client, &slot("h1-cardio-3", 2, "am", "0800"))
        .await;
    let wait: i64 = header(&slowed, "retry-after").parse().unwrap();
    expect_problem(slowed, 429, "rate-limited").await;
    // The first of the six ran out at 300 s and it is 6 × 301 s now: an hour after it ran out,
    // the client may hold again.
    assert_eq!(wait, 300 + 3600 - 6 * 301);
    s.clock.advance(Duration::seconds(wait));
    let again = s
        .hold_as(&client, &slot("h1-cardio-3", 2, "am", "0800"))
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
}

#[tokio::test]
async fn wrong_proofs_lock_a_code_for_everyone_until_the_lock_ends() {
    // More lookups than one address may make in a minute on the real clock; that limit has its
    // own attack test.
    let s = TestServer::start_as_deployed_with(|c| c.guard.ip_proofs_per_minute = 1000).await;
    let booked: Value = book_as(
        &s,
        "lock-key-0001",
        &slot("h1-cardio-5", 3, "am", "0800"),
        &person(60, 60),
    )
    .await
    .json()
    .await
    .unwrap();
    let code = booked["code"].as_str().unwrap();
    let right = &resident_id(60)[14..];
    for wrong in ["0000", "1111", "2222", "3333", "4444"] {
        expect_problem(s.lookup(code, wrong).await, 404, "not-found").await;
    }
    // Locked: the right proof too, for lookup and cancel alike.
    let locked = s.lookup(code, right).await;
    let wait: i64 = header(&locked, "retry-after").parse().unwrap();
    let problem = expect_problem(locked, 429, "proof-locked").await;
    assert_eq!(wait, 15 * 60);
    assert!(problem["until"].is_string(), "{problem}");
    expect_problem(s.cancel(code, right).await, 429, "proof-locked").await;
    assert_eq!(
        s.query_i64("SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'"),
        1
    );
    // An unknown code locks just the same: the answers never tell whether a code exists.
    for wrong in ["0000", "1111", "2222", "3333", "4444"] {
        expect_problem(s.lookup("ZZZZ2222", wrong).await, 404, "not-found").await;
    }
    expect_problem(s.lookup("ZZZZ2222", "5555").await, 429, "proof-locked").await;

    // The lock ends 15 minutes after the fifth wrong proof, and the next five earn one twice as
    // long: a script that waits out each lock gets a few dozen guesses a week, not hundreds a day.
    s.clock.advance(Duration::minutes(15));
    for wrong in ["5555", "6666", "7777", "8888", "9999"] {
        expect_problem(s.lookup(code, wrong).await, 404, "not-found").await;
    }
    let locked = s.lookup(code, right).await;
    assert_eq!(header(&locked, "retry-after"), "1800");
    expect_problem(locked, 429, "proof-locked").await;
    s.clock.advance(Duration::minutes(29));
    expect_problem(s.lookup(code, right).await, 429, "proof-locked").await;
    s.clock.advance(Duration::minutes(1));
    assert_eq!(s.lookup(code, right).await.status(), StatusCode::OK);
    // The owner's right proof clears the count: their next typo starts from nothing.
    expect_problem(s.lookup(code, "0000").await, 404, "not-found").await;
    assert_eq!(s.lookup(code, right).await.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_guesses_are_counted_one_by_one() {
    let s = std::sync::Arc::new(
        TestServer::start_as_deployed_with(|c| {
            c.guard.ip_proofs_per_minute = 10_000;
        })
        .await,
    );
    let booked: Value = book_as(
        &s,
        "lock-key-0002",
        &slot("h1-cardio-5", 3, "pm", "1400"),
        &person(61, 61),
    )
    .await
    .json()
    .await
    .unwrap();
    let code = booked["code"].as_str().unwrap().to_string();
    let guesses: Vec<_> = (0..200)
        .map(|i| {
            let s = std::sync::Arc::clone(&s);
            let code = code.clone();
            tokio::spawn(async move { s.lookup(&code, &format!("{i:04}")).await.status() })
        })
        .collect();
    let mut answered_404 = 0;
    for guess in guesses {
        match guess.await.unwrap() {
            StatusCode::NOT_FOUND => answered_404 += 1,
            StatusCode::TOO_MANY_REQUESTS => {}
            other => panic!("a guess was answered {other}"),
        }
    }
    assert_eq!(answered_404, 5, "guesses checked before the lock");
}

#[tokio::test]
async fn a_version_1_database_is_migrated_and_keeps_its_bookings() {
    let dir = tempfile::TempDir::new().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("fairslot.sqlite3")).unwrap();
        conn.execute_batch(include_str!("../fixtures/schema_v1.sql"))
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        // A booking an older server made, for a slot the demo data will bring.
        conn.pragma_update(None, "foreign_keys", "OFF").unwrap();
        conn.execute(
            "INSERT INTO bookings VALUES ('OLDBOOK2', ?1, NULL, 'confirmed', 'web', 'old-key-000001',
                 'f', 201, '/api/v1/bookings/OLDBOOK2', '{}', '王芳', 'resident_id', ?2, ?3,
                 '13900000070', NULL, 'self', 1500, '2026-11-22T10:00:00+08:00', '2026-11-22',
                 '2026-11-24T06:00:00+08:00', 1795989600, NULL)",
            rusqlite::params![
                slot("h1-cardio-4", 1, "am", "0830"),
                resident_id(70),
                &resident_id(70)[14..]
            ],
        )
        .unwrap();
    }
    let path = dir.path().to_path_buf();
    let s = TestServer::start_as_deployed_with(move |c| c.data_dir = path).await;
    assert_eq!(s.query_i64("PRAGMA user_version"), 3);
    // The old booking is still there and still proven by its document.
    assert_eq!(
        s.lookup("OLDBOOK2", &resident_id(70)[14..]).await.status(),
        StatusCode::OK
    );
    // It has no person hash, so it counts for no rule: the same person books that doctor that day.
    let booked = book_as(
        &s,
        "migrated-key-01",
        &slot("h1-cardio-4", 1, "am", "0800"),
        &person(70, 70),
    )
    .await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    assert_eq!(
        s.query_i64("SELECT COUNT(*) FROM bookings WHERE person_hash IS NOT NULL"),
        1
    );
}
