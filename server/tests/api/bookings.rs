use fairslot_core::identity::IdentityError;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestServer, booking_body, day, expect_problem, patient, slot};

#[tokio::test]
async fn replaying_a_booking_returns_the_original_response_and_books_once() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-4", 1, "am", "0800");
    assert_eq!(s.remaining(&slot_id).await, 2);
    let body = booking_body(&slot_id);

    let first = s.book("replay-key-0001", &body).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].clone();
    let first_bytes = first.bytes().await.unwrap();

    let second = s.book("replay-key-0001", &body).await;
    assert_eq!(second.status(), StatusCode::CREATED);
    assert_eq!(second.headers()["location"], location);
    assert_eq!(second.bytes().await.unwrap(), first_bytes);

    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.remaining(&slot_id).await, 1);
    let booking: Value = serde_json::from_slice(&first_bytes).unwrap();
    assert_eq!(
        location,
        format!("/api/v1/bookings/{}", booking["code"].as_str().unwrap()).as_str()
    );
}

#[tokio::test]
async fn a_replay_is_recognised_by_content_not_by_formatting() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-4", 1, "pm", "1400");
    let send = |body: String| {
        let s = &s;
        async move {
            s.client
                .post(s.url("/bookings"))
                .header("Idempotency-Key", "same-content-01")
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let first = send(booking_body(&slot_id).to_string()).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    let location = first.headers()["location"].clone();
    let first_bytes = first.bytes().await.unwrap();

    // Other member order, other whitespace, an explicit null for an absent option and a member
    // the API does not know: the same request.
    let reordered = format!(
        r#"
        {{ "patient": {{ "consent": true, "relationship": "self", "phone": "138 1234 5678",
                        "document_number": "11010519491231002X", "document_kind": "resident_id",
                        "name": "李雷", "medical_card": null }},
           "hold_id": null,
           "client_note": "second tap",
           "slot_id": "{slot_id}" }}
        "#
    );
    let replay = send(reordered).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.headers()["location"], location);
    assert_eq!(replay.bytes().await.unwrap(), first_bytes);

    // The same patient written differently is different content.
    let mut respelled = booking_body(&slot_id);
    respelled["patient"]["phone"] = json!("13812345678");
    expect_problem(
        send(respelled.to_string()).await,
        422,
        "idempotency-conflict",
    )
    .await;

    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.remaining(&slot_id).await, 1);
}

#[tokio::test]
async fn a_created_booking_is_complete_and_masked() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-4", 1, "pm", "1330");
    let response = s.book("complete-key-01", &booking_body(&slot_id)).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let b: Value = response.json().await.unwrap();
    let code = b["code"].as_str().unwrap();
    assert_eq!(code.len(), 8);
    assert!(
        code.chars()
            .all(|c| "23456789ABCDEFGHJKMNPQRSTUVWXYZ".contains(c)),
        "{code}"
    );
    assert_eq!(b["status"], "confirmed");
    assert_eq!(b["channel"], "direct");
    assert_eq!(b["slot"]["slot_id"], slot_id);
    assert_eq!(b["slot"]["start"], format!("{}T13:30:00+08:00", day(1)));
    assert_eq!(b["slot"]["doctor_id"], "h1-cardio-4");
    assert_eq!(
        b["slot"]["hospital_name"]["en"],
        "Hangzhou West Lake People's Hospital"
    );
    assert_eq!(b["patient"]["name"], "李*");
    // The start of the document only: its end is the proof that lookup and cancel ask for.
    assert_eq!(b["patient"]["document_number"], "1101**************");
    assert_eq!(b["patient"]["phone"], "138****5678");
    // Slot start minus the default two-hour cut-off.
    assert_eq!(b["cancel_deadline"], format!("{}T11:30:00+08:00", day(1)));
    assert_eq!(b["created_at"], "2026-11-23T09:00:00+08:00");
    assert!(b.get("cancelled_at").is_none());
    // The full identity is kept, normalised, for the hospital.
    assert_eq!(
        s.query_i64("SELECT COUNT(*) FROM bookings WHERE document_number = '11010519491231002X' AND phone = '13812345678'"),
        1
    );
}

#[tokio::test]
async fn reusing_a_key_for_another_request_is_a_conflict_and_writes_nothing() {
    let s = TestServer::start().await;
    s.book_ok("conflict-key-01", &slot("h1-cardio-4", 1, "am", "0800"))
        .await;
    let other = slot("h1-cardio-4", 1, "am", "0830");
    let before = s.total_remaining();

    let response = s.book("conflict-key-01", &booking_body(&other)).await;
    expect_problem(response, 422, "idempotency-conflict").await;

    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.total_remaining(), before);
    assert_eq!(s.remaining(&other).await, 2);
}

#[tokio::test]
async fn booking_needs_a_well_formed_idempotency_key() {
    let s = TestServer::start().await;
    let body = booking_body(&slot("h1-cardio-4", 1, "am", "0800"));
    let missing = s
        .client
        .post(s.url("/bookings"))
        .json(&body)
        .send()
        .await
        .unwrap();
    expect_problem(missing, 400, "idempotency-key-missing").await;
    for bad in ["short", "has spaces in it", &"k".repeat(129), "quote'key--"] {
        expect_problem(s.book(bad, &body).await, 400, "idempotency-key-missing").await;
    }
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 0);
}

#[tokio::test]
async fn by_key_tells_a_client_what_happened_to_its_request() {
    let s = TestServer::start().await;
    expect_problem(s.by_key("lost-response-1").await, 404, "not-found").await;
    let booking = s
        .book_ok("lost-response-1", &slot("h1-cardio-5", 2, "pm", "1400"))
        .await;
    let found = s.by_key("lost-response-1").await;
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(found.headers()["cache-control"], "no-store");
    let found: Value = found.json().await.unwrap();
    // The code and status only: nothing about the patient for whoever holds the key.
    assert_eq!(
        found,
        json!({ "code": booking["code"], "status": "confirmed" })
    );
    // The key is a credential: never in a URL.
    let in_url = s.get("/bookings/by-key/lost-response-1").await;
    assert_ne!(in_url.status(), StatusCode::OK);
}

#[tokio::test]
async fn server_side_validation_refuses_a_wrong_check_digit() {
    let s = TestServer::start().await;
    let mut body = booking_body(&slot("h1-cardio-4", 1, "am", "0800"));
    body["patient"]["document_number"] = json!("110105194912310021");
    let problem = expect_problem(s.book("check-digit-01", &body).await, 422, "validation").await;
    let errors = problem["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == "patient.document_number"
                && e["code"] == IdentityError::CheckDigit.code()),
        "{problem}"
    );
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 0);

    let mut body = booking_body(&slot("h1-cardio-4", 1, "am", "0800"));
    body["patient"]["phone"] = json!("12345");
    body["patient"]["consent"] = json!(false);
    let problem = expect_problem(s.book("check-digit-02", &body).await, 422, "validation").await;
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["patient.phone", "patient.consent"]);
}

#[tokio::test]
async fn lookup_needs_the_right_document_and_never_reveals_which_part_was_wrong() {
    let s = TestServer::start().await;
    let booking = s
        .book_ok("lookup-key-001", &slot("h1-cardio-4", 1, "am", "0900"))
        .await;
    let code = booking["code"].as_str().unwrap();

    let found = s.lookup(code, "002x").await;
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(found.headers()["cache-control"], "no-store");
    assert_eq!(found.json::<Value>().await.unwrap(), booking);
    let dashed = format!("{}-{}", &code[..4], code[4..].to_lowercase());
    assert_eq!(s.lookup(&dashed, "002X").await.status(), StatusCode::OK);

    let wrong_document = expect_problem(s.lookup(code, "1234").await, 404, "not-found").await;
    let unknown_code = expect_problem(s.lookup("ZZZZ2222", "002X").await, 404, "not-found").await;
    assert_eq!(wrong_document, unknown_code);
    for blank in ["", "  "] {
        let problem = expect_problem(s.lookup(code, blank).await, 422, "validation").await;
        assert_eq!(problem["errors"][0]["field"], "document_last4");
    }
    let missing = s
        .post(&format!("/bookings/{code}/lookup"), &json!({}))
        .await;
    expect_problem(missing, 422, "validation").await;
}

#[tokio::test]
async fn the_proof_of_ownership_is_never_taken_from_a_url() {
    let s = TestServer::start().await;
    let booking = s
        .book_ok("lookup-key-002", &slot("h1-cardio-4", 1, "am", "0830"))
        .await;
    let code = booking["code"].as_str().unwrap();

    // The booking's own path, where the old lookup lived, answers no method at all.
    for response in [
        s.get(&format!("/bookings/{code}?document_last4=002X"))
            .await,
        s.get(&format!("/bookings/{code}")).await,
        s.post(
            &format!("/bookings/{code}"),
            &json!({ "document_last4": "002X" }),
        )
        .await,
    ] {
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        assert_eq!(response.headers()["cache-control"], "no-store");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 405);
        assert!(!problem.to_string().contains(code), "{problem}");
    }
    // A proof in the query of the new route counts for nothing either.
    let queried = s
        .client
        .post(s.url(&format!("/bookings/{code}/lookup?document_last4=002X")))
        .send()
        .await
        .unwrap();
    expect_problem(queried, 415, "unsupported-media-type").await;
    let read = s.get(&format!("/bookings/{code}/lookup")).await;
    assert_eq!(read.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn cancelling_before_the_cut_off_returns_the_place() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-3", 1, "am", "1000");
    let booking = s.book_ok("cancel-key-0001", &slot_id).await;
    let code = booking["code"].as_str().unwrap();
    assert_eq!(s.remaining(&slot_id).await, 0);

    let wrong = s.cancel(code, "9999").await;
    expect_problem(wrong, 404, "not-found").await;
    assert_eq!(s.remaining(&slot_id).await, 0);

    let cancelled = s.cancel(code, "002x").await;
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: Value = cancelled.json().await.unwrap();
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["cancelled_at"], "2026-11-23T09:00:00+08:00");
    assert_eq!(s.remaining(&slot_id).await, 1);

    // Cancelling again answers with the cancelled booking and gives nothing back twice.
    let again = s.cancel(code, "002X").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<Value>().await.unwrap(), cancelled);
    assert_eq!(s.remaining(&slot_id).await, 1);
}

#[tokio::test]
async fn cancelling_after_the_cut_off_is_refused() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-3", 1, "am", "0800");
    let booking = s.book_ok("cutoff-key-0001", &slot_id).await;
    let code = booking["code"].as_str().unwrap();
    // The slot starts at 08:00 tomorrow; with a 120-minute cut-off cancelling closes at 06:00.
    s.clock
        .advance(chrono::Duration::hours(21) + chrono::Duration::seconds(1));

    let refused = s.cancel(code, "002X").await;
    expect_problem(refused, 409, "cancel-closed").await;
    assert_eq!(s.remaining(&slot_id).await, 0);
    assert_eq!(
        s.query_i64("SELECT COUNT(*) FROM bookings WHERE status = 'confirmed'"),
        1
    );
}

#[tokio::test]
async fn taken_slot_offers_alternatives() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-3", 1, "am", "0900");
    s.book_ok("alt-key-000001", &slot_id).await;

    let problem = expect_problem(
        s.book("alt-key-000002", &booking_body(&slot_id)).await,
        409,
        "slot-taken",
    )
    .await;
    let alternatives = problem["alternatives"].as_array().unwrap();
    assert!(!alternatives.is_empty() && alternatives.len() <= 3);
    for a in alternatives {
        assert_eq!(a["doctor_id"], "h1-cardio-3", "same doctor first: {a}");
        assert!(a["slot"]["remaining"].as_u64().unwrap() > 0);
        assert_ne!(a["slot"]["id"], slot_id);
    }

    // Every place of h1-cardio-1 is taken, so the offers come from colleagues in the department.
    let full = slot("h1-cardio-1", 1, "am", "0900");
    let problem = expect_problem(
        s.book("alt-key-000003", &booking_body(&full)).await,
        409,
        "slot-taken",
    )
    .await;
    let alternatives = problem["alternatives"].as_array().unwrap();
    assert_eq!(alternatives.len(), 3);
    for a in alternatives {
        let doctor = a["doctor_id"].as_str().unwrap();
        assert!(
            doctor.starts_with("h1-cardio-") && doctor != "h1-cardio-1",
            "{a}"
        );
        assert!(a["slot"]["remaining"].as_u64().unwrap() > 0);
    }
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
}

#[tokio::test]
async fn channel_stats_count_bookings_per_channel() {
    let s = TestServer::start().await;
    let book_via = |channel: &'static str, key: &'static str, slot_id: String| {
        let s = &s;
        async move {
            let mut request = s
                .client
                .post(s.url("/bookings"))
                .header("Idempotency-Key", key)
                .json(&booking_body(&slot_id));
            if !channel.is_empty() {
                request = request.header("X-Fairslot-Channel", channel);
            }
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            response.json::<Value>().await.unwrap()
        }
    };
    let k1 = book_via(
        "kiosk",
        "stats-key-0001",
        slot("h1-cardio-5", 1, "am", "0800"),
    )
    .await;
    assert_eq!(k1["channel"], "kiosk");
    book_via(
        "kiosk",
        "stats-key-0002",
        slot("h1-cardio-5", 1, "am", "0830"),
    )
    .await;
    book_via(
        "telecom-114",
        "stats-key-0003",
        slot("h1-cardio-5", 1, "am", "0900"),
    )
    .await;
    book_via("", "stats-key-0004", slot("h1-cardio-5", 1, "am", "0930")).await;
    let code = k1["code"].as_str().unwrap();
    let cancel = s.cancel(code, "002X").await;
    assert_eq!(cancel.status(), StatusCode::OK);

    let stats: Value = s
        .get(&format!("/channels/stats?from={}&days=1", day(0)))
        .await
        .json()
        .await
        .unwrap();
    let today = day(0);
    assert_eq!(
        stats,
        json!({ "rows": [
            { "channel": "direct", "date": today, "booked": 1, "cancelled": 0 },
            { "channel": "kiosk", "date": today, "booked": 2, "cancelled": 1 },
            { "channel": "telecom-114", "date": today, "booked": 1, "cancelled": 0 },
        ]})
    );
    // Without parameters: the last seven days up to today.
    let default: Value = s.get("/channels/stats").await.json().await.unwrap();
    assert_eq!(default, stats);
    let yesterday: Value = s
        .get(&format!("/channels/stats?from={}&days=1", day(-1)))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(yesterday, json!({ "rows": [] }));

    let invalid = s
        .client
        .post(s.url("/bookings"))
        .header("Idempotency-Key", "stats-key-0005")
        .header("X-Fairslot-Channel", "Not A Channel")
        .json(&json!({ "slot_id": slot("h1-cardio-5", 1, "am", "1000"), "patient": patient() }))
        .send()
        .await
        .unwrap();
    expect_problem(invalid, 422, "validation").await;
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 4);
}

#[tokio::test]
async fn bookings_and_demo_data_survive_a_restart() {
    let mut s = TestServer::start().await;
    let counts = |s: &TestServer| {
        [
            "SELECT COUNT(*) FROM hospitals",
            "SELECT COUNT(*) FROM doctors",
            "SELECT COUNT(*) FROM sessions",
            "SELECT COUNT(*) FROM slots",
        ]
        .map(|q| s.query_i64(q))
    };
    let slot_id = slot("h1-cardio-6", 3, "pm", "1345");
    let booking = s.book_ok("restart-key-001", &slot_id).await;
    let before = counts(&s);
    assert_eq!(before[0], 4);

    s.restart().await;

    let code = booking["code"].as_str().unwrap();
    let found = s.lookup(code, "002X").await;
    assert_eq!(found.status(), StatusCode::OK);
    assert_eq!(found.json::<Value>().await.unwrap(), booking);
    assert_eq!(counts(&s), before);
    assert_eq!(s.remaining(&slot_id).await, 1);
    let hospitals: Value = s.get("/hospitals").await.json().await.unwrap();
    assert_eq!(hospitals["items"].as_array().unwrap().len(), 4);
    // The replay still answers after the restart.
    let replay = s.book("restart-key-001", &booking_body(&slot_id)).await;
    assert_eq!(replay.status(), StatusCode::CREATED);
    assert_eq!(replay.json::<Value>().await.unwrap(), booking);
}

#[tokio::test]
async fn the_schedule_window_moves_with_the_calendar_and_keeps_bookings() {
    let mut s = TestServer::start().await;
    let slot_id = slot("h1-cardio-4", 13, "am", "0800");
    // Not released yet: places for T+13 open at 15:00 tomorrow.
    let refused = s.book("window-key-001", &booking_body(&slot_id)).await;
    expect_problem(refused, 409, "session-unavailable").await;
    assert_eq!(
        s.query_i64(&format!(
            "SELECT COUNT(*) FROM sessions WHERE date = '{}'",
            day(14)
        )),
        0
    );

    s.clock
        .advance(chrono::Duration::days(1) + chrono::Duration::hours(7));
    s.book_ok("window-key-002", &slot_id).await;
    s.restart().await;
    assert!(
        s.query_i64(&format!(
            "SELECT COUNT(*) FROM sessions WHERE date = '{}'",
            day(14)
        )) > 0
    );
    assert_eq!(s.remaining(&slot_id).await, 1);
}
