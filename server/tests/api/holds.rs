use chrono::{DateTime, Duration, FixedOffset};
use fairslot_server::clock::Clock;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestServer, booking_body, expect_problem, patient, slot};

async fn hold(s: &TestServer, slot_id: &str) -> Value {
    let response = s.post("/holds", &json!({ "slot_id": slot_id })).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

fn instant(v: &Value) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_hold_expires_after_its_time_and_its_place_returns() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-3", 1, "am", "0830");
    let held = hold(&s, &slot_id).await;
    assert_eq!(
        instant(&held["expires_at"]) - instant(&held["server_time"]),
        Duration::seconds(300)
    );
    assert!(held["expires_at"].as_str().unwrap().ends_with("+08:00"));
    assert_eq!(s.remaining(&slot_id).await, 0);

    s.clock.advance(Duration::seconds(299));
    assert_eq!(s.remaining(&slot_id).await, 0);
    s.clock.advance(Duration::seconds(2));
    // Reads count an expired hold as free before any sweep ran …
    assert_eq!(s.remaining(&slot_id).await, 1);
    // … and the sweep returns the place in the database.
    let now = s.clock.now();
    let expired = s.server().state.store.expire_holds(now).unwrap();
    assert_eq!(expired, 1);
    assert_eq!(
        s.query_i64(&format!(
            "SELECT remaining FROM slots WHERE id = '{slot_id}'"
        )),
        1
    );

    // Someone else may hold it now, and a booking under the expired hold cannot push them out.
    hold(&s, &slot_id).await;
    let mut body = booking_body(&slot_id);
    body["hold_id"] = held["id"].clone();
    expect_problem(s.book("expired-hold-01", &body).await, 409, "slot-taken").await;
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 0);

    // Once the place is free again, a booking that waited in a phone's outbox past its hold
    // still gets it: the hold was a courtesy, not a condition.
    s.clock.advance(Duration::seconds(301));
    let response = s.book("expired-hold-02", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(s.remaining(&slot_id).await, 0);
}

#[tokio::test]
async fn hold_seconds_is_configurable() {
    let s = TestServer::start_with(|c| c.hold_seconds = 30).await;
    let slot_id = slot("h1-cardio-3", 1, "am", "0830");
    let held = hold(&s, &slot_id).await;
    assert_eq!(
        instant(&held["expires_at"]) - instant(&held["server_time"]),
        Duration::seconds(30)
    );
    s.clock.advance(Duration::seconds(31));
    assert_eq!(s.remaining(&slot_id).await, 1);
}

#[tokio::test]
async fn booking_with_a_live_hold_uses_the_held_place() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-4", 2, "pm", "1400");
    let held = hold(&s, &slot_id).await;
    assert_eq!(s.remaining(&slot_id).await, 1);

    let mut body = booking_body(&slot_id);
    body["hold_id"] = held["id"].clone();
    let response = s.book("held-booking-01", &body).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(s.remaining(&slot_id).await, 1);
    // A converted hold neither expires nor can be released into a second place.
    s.clock.advance(Duration::seconds(600));
    assert_eq!(s.remaining(&slot_id).await, 1);
    let id = held["id"].as_str().unwrap();
    let release = s.delete(&format!("/holds/{id}")).await;
    assert_eq!(release.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.remaining(&slot_id).await, 1);
}

#[tokio::test]
async fn a_hold_is_only_good_for_its_own_slot() {
    let s = TestServer::start().await;
    let held = hold(&s, &slot("h1-cardio-4", 2, "pm", "1400")).await;
    let other = slot("h1-cardio-4", 2, "pm", "1430");
    let body = json!({ "slot_id": other, "hold_id": held["id"], "patient": patient() });
    let problem = expect_problem(s.book("wrong-hold-001", &body).await, 422, "validation").await;
    assert_eq!(problem["errors"][0]["field"], "hold_id");
    assert_eq!(s.remaining(&other).await, 2);
}

#[tokio::test]
async fn releasing_a_hold_gives_its_place_back() {
    let s = TestServer::start().await;
    let slot_id = slot("h1-cardio-3", 2, "am", "0800");
    let held = hold(&s, &slot_id).await;
    assert_eq!(s.remaining(&slot_id).await, 0);
    let id = held["id"].as_str().unwrap();
    let response = s.delete(&format!("/holds/{id}")).await;
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.remaining(&slot_id).await, 1);
    // Releasing twice is harmless; an unknown hold is not found.
    let again = s.delete(&format!("/holds/{id}")).await;
    assert_eq!(again.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.remaining(&slot_id).await, 1);
    let unknown = s.delete("/holds/hold-nope").await;
    expect_problem(unknown, 404, "not-found").await;
}

#[tokio::test]
async fn holds_refuse_full_stopped_unreleased_and_started_slots() {
    let s = TestServer::start().await;
    let before = s.total_remaining();

    let full = s
        .post(
            "/holds",
            &json!({ "slot_id": slot("h1-cardio-1", 1, "am", "0800") }),
        )
        .await;
    let problem = expect_problem(full, 409, "slot-taken").await;
    assert!(!problem["alternatives"].as_array().unwrap().is_empty());

    // h1-cardio-2 is on leave: every afternoon stopped (停诊).
    let stopped = s
        .post(
            "/holds",
            &json!({ "slot_id": slot("h1-cardio-2", 1, "pm", "1330") }),
        )
        .await;
    expect_problem(stopped, 409, "session-unavailable").await;

    // Places for T+13 are released at 15:00 tomorrow.
    let unreleased = s
        .post(
            "/holds",
            &json!({ "slot_id": slot("h1-cardio-3", 13, "am", "0800") }),
        )
        .await;
    let problem = expect_problem(unreleased, 409, "session-unavailable").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("15:00:00+08:00")
    );

    // It is 09:00: the 08:45 slot has started.
    let started = s
        .post(
            "/holds",
            &json!({ "slot_id": slot("h1-cardio-3", 0, "am", "0845") }),
        )
        .await;
    expect_problem(started, 409, "session-unavailable").await;

    let unknown = s
        .post(
            "/holds",
            &json!({ "slot_id": "h9-nowhere-1-2026-11-24-am-0800" }),
        )
        .await;
    expect_problem(unknown, 404, "not-found").await;

    assert_eq!(s.total_remaining(), before);
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM holds"), 0);
}
