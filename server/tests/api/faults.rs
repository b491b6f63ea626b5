use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::common::{TestServer, booking_body, expect_problem, slot};

async fn set_faults(s: &TestServer, spec: &str) -> reqwest::Response {
    s.client
        .put(s.url("/_faults"))
        .body(spec.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn error_rate_one_fails_every_request_except_health() {
    let s = TestServer::start_with(|c| c.faults = Some("error_rate=1.0".parse().unwrap())).await;
    for path in [
        "/hospitals",
        "/schedules?department=h1-cardio",
        "/channels/stats",
    ] {
        expect_problem(s.get(path).await, 503, "unavailable").await;
    }
    let book = s
        .book(
            "faulty-key-01",
            &booking_body(&slot("h1-cardio-4", 1, "am", "0800")),
        )
        .await;
    expect_problem(book, 503, "unavailable").await;
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 0);
    assert_eq!(s.get("/health").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_burst_answers_with_retry_after_then_clears() {
    let s = TestServer::start_with(|c| c.fault_control = true).await;
    let set = set_faults(&s, "burst=2:3").await;
    assert_eq!(set.status(), StatusCode::OK);
    let status: Value = set.json().await.unwrap();
    assert_eq!(status["active"], true);

    for _ in 0..2 {
        let response = s.get("/hospitals").await;
        assert_eq!(response.headers()["retry-after"], "3");
        expect_problem(response, 429, "rate-limited").await;
    }
    assert_eq!(s.get("/hospitals").await.status(), StatusCode::OK);

    set_faults(&s, "burst=1:5:503").await;
    let response = s.get("/hospitals").await;
    assert_eq!(response.headers()["retry-after"], "5");
    expect_problem(response, 503, "unavailable").await;
    assert_eq!(s.get("/hospitals").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_response_dropped_after_commit_still_books_exactly_once() {
    let s = TestServer::start_with(|c| c.fault_control = true).await;
    set_faults(&s, "drop_after_commit=1.0").await;
    let slot_id = slot("h1-cardio-4", 1, "am", "1000");
    let body = booking_body(&slot_id);

    let lost = s
        .client
        .post(s.url("/bookings"))
        .header("Idempotency-Key", "dropped-key-01")
        .json(&body)
        .send()
        .await;
    assert!(lost.is_err(), "the client must see no response: {lost:?}");

    let found = s.by_key("dropped-key-01").await;
    assert_eq!(found.status(), StatusCode::OK);
    let found: Value = found.json().await.unwrap();

    // A retry with the same key gets the original booking; nothing is committed twice.
    let retry = s.book("dropped-key-01", &body).await;
    assert_eq!(retry.status(), StatusCode::CREATED);
    assert_eq!(retry.json::<Value>().await.unwrap()["code"], found["code"]);
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.remaining(&slot_id).await, 1);
}

#[tokio::test]
async fn latency_delays_requests_but_not_health_or_the_switch() {
    let s = TestServer::start_with(|c| c.fault_control = true).await;
    set_faults(&s, "latency=300ms").await;
    let started = Instant::now();
    assert_eq!(s.get("/hospitals").await.status(), StatusCode::OK);
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );

    let started = Instant::now();
    assert_eq!(s.get("/health").await.status(), StatusCode::OK);
    let cleared = s.delete("/_faults").await;
    assert_eq!(cleared.status(), StatusCode::NO_CONTENT);
    assert!(started.elapsed() < Duration::from_millis(300));
    let current: Value = s.get("/_faults").await.json().await.unwrap();
    assert_eq!(current["spec"], "off");
    assert_eq!(current["active"], false);
}

#[tokio::test]
async fn the_fault_switch_refuses_bad_specs_and_is_off_unless_enabled() {
    let s = TestServer::start_with(|c| c.fault_control = true).await;
    expect_problem(set_faults(&s, "explode=1").await, 422, "validation").await;
    expect_problem(set_faults(&s, "error_rate=2").await, 422, "validation").await;

    let closed = TestServer::start().await;
    expect_problem(
        set_faults(&closed, "error_rate=1.0").await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(closed.get("/hospitals").await.status(), StatusCode::OK);
}
