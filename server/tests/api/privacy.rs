//! What leaves the server about a patient: the request log of the real binary, problem details
//! and headers carry no personal data and no credential.

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Binary, booking_body, expect_problem, header};

/// Everything a patient typed, and the secrets that go with a booking.
const PERSONAL: [&str; 6] = [
    "李雷",
    "11010519491231002X",
    "110105194912310021",
    "13812345678",
    "138 1234 5678",
    "privacy-key-0001",
];

#[tokio::test]
async fn the_request_log_and_error_answers_carry_no_personal_data() {
    let server = Binary::start(&[]);
    let base = server.base.clone();
    let api = |path: &str| format!("{base}/api/v1{path}");
    let client = server.client.clone();
    let book = |key: &str, body: &Value| {
        let request = client
            .post(api("/bookings"))
            .header("Idempotency-Key", key)
            .json(body);
        async move { request.send().await.unwrap() }
    };
    let lookup = |code: &str, last4: &str| {
        let request = client
            .post(api(&format!("/bookings/{code}/lookup")))
            .json(&json!({ "document_last4": last4 }));
        async move { request.send().await.unwrap() }
    };
    let post = |path: &str, body: &Value| {
        let request = client.post(api(path)).json(body);
        async move { request.send().await.unwrap() }
    };
    let get = |path: &str| {
        let request = client.get(api(path));
        async move { request.send().await.unwrap() }
    };

    // The binary runs on the real clock: tomorrow in Hangzhou is always released.
    let tomorrow = (Utc::now() + Duration::hours(8)).date_naive() + Duration::days(1);
    let slot_id = format!("h1-cardio-5-{tomorrow}-pm-1400");
    let booked = book("privacy-key-0001", &booking_body(&slot_id)).await;
    assert_eq!(booked.status(), StatusCode::CREATED);
    let location = header(&booked, "location");
    let booking: Value = booked.json().await.unwrap();
    let code = booking["code"].as_str().unwrap().to_string();
    assert_eq!(location, format!("/api/v1/bookings/{code}"));
    let shown = booking["patient"].to_string();
    for secret in &PERSONAL[..5] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }

    let found = lookup(&code, "002X").await;
    assert_eq!(found.status(), StatusCode::OK);
    let wrong = lookup(&code, "1234").await;
    expect_problem(wrong, 404, "not-found").await;
    // The booking's own path answers no method; the log still names only the route.
    let old_style = get(&format!("/bookings/{code}?document_last4=002X")).await;
    assert_eq!(old_style.status(), StatusCode::METHOD_NOT_ALLOWED);
    let by_key = post(
        "/bookings/by-key",
        &json!({ "idempotency_key": "privacy-key-0001" }),
    )
    .await;
    assert_eq!(by_key.status(), StatusCode::OK);

    // Refused requests full of personal data: the answers name fields, never values.
    let mut wrong = booking_body(&slot_id);
    wrong["patient"]["document_number"] = json!("110105194912310021");
    wrong["patient"]["name"] = json!("李雷<script>");
    let refused = book("privacy-key-0002", &wrong).await;
    let problem = expect_problem(refused, 422, "validation").await.to_string();
    let mut mistyped = booking_body(&slot_id);
    mistyped["patient"]["consent"] = json!("13812345678");
    mistyped["patient"]["document_kind"] = json!("11010519491231002X");
    let mistyped = book("privacy-key-0003", &mistyped).await;
    let type_problem = expect_problem(mistyped, 422, "validation")
        .await
        .to_string();
    for secret in PERSONAL {
        assert!(!problem.contains(secret), "{secret} in {problem}");
        assert!(!type_problem.contains(secret), "{secret} in {type_problem}");
    }
    let made_up = get("/patients/13812345678?name=李雷").await;
    assert_eq!(made_up.status(), StatusCode::NOT_FOUND);

    let log = server.stop();

    assert!(
        log.contains("POST /api/v1/bookings 201")
            && log.contains("POST /api/v1/bookings/{code}/lookup 200")
            && log.contains("POST /api/v1/bookings/{code}/lookup 404")
            && log.contains("GET /api/v1/bookings/{code} 405"),
        "one line per request, by route:\n{log}"
    );
    for secret in PERSONAL.iter().chain([&"002X", &code.as_str()]) {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}
