use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{TestServer, booking_body, expect_problem, slot};

const HOSTILE: [&str; 5] = [
    "'; DROP TABLE bookings; --",
    "<script>alert(1)</script>",
    "\" OR 1=1 --",
    "../../etc/passwd",
    "%00\u{0}",
];

/// Counts that no bad request may change.
fn snapshot(s: &TestServer) -> [i64; 4] {
    [
        "SELECT COUNT(*) FROM bookings",
        "SELECT COUNT(*) FROM holds",
        "SELECT SUM(remaining) FROM slots",
        "SELECT COUNT(*) FROM sessions",
    ]
    .map(|q| s.query_i64(q))
}

#[tokio::test]
async fn malformed_bodies_are_problems_and_write_nothing() {
    let s = TestServer::start_with(|c| c.fault_control = true).await;
    let before = snapshot(&s);
    let raw = |path: &'static str, body: String| {
        let s = &s;
        async move {
            s.client
                .post(s.url(path))
                .header("Idempotency-Key", "bad-input-key-1")
                .header("X-Fairslot-Client", "bad-input-client-1")
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    for path in [
        "/holds",
        "/bookings",
        "/bookings/ABCDEFGH/lookup",
        "/bookings/ABCDEFGH/cancel",
    ] {
        for body in [
            "",
            "{",
            "not json",
            "[]",
            "null",
            "{\"slot_id\": 42}",
            "{\"document_last4\": []}",
        ] {
            let response = raw(path, body.to_string()).await;
            let problem = expect_problem(response, 422, "validation").await;
            assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()));
        }
    }
    // Wrong types and values deep inside the patient.
    let mut body = booking_body(&slot("h1-cardio-4", 1, "am", "0800"));
    body["patient"]["consent"] = json!("yes");
    expect_problem(raw("/bookings", body.to_string()).await, 422, "validation").await;
    body["patient"]["consent"] = json!(true);
    body["patient"]["document_kind"] = json!("library_card");
    expect_problem(raw("/bookings", body.to_string()).await, 422, "validation").await;

    let huge = json!({ "slot_id": "x".repeat(20 * 1024) }).to_string();
    for path in [
        "/holds",
        "/bookings",
        "/bookings/ABCDEFGH/lookup",
        "/bookings/ABCDEFGH/cancel",
    ] {
        expect_problem(raw(path, huge.clone()).await, 413, "payload-too-large").await;
    }
    let huge_spec = s
        .client
        .put(s.url("/_faults"))
        .body(format!("seed={}", "1".repeat(20 * 1024)))
        .send()
        .await
        .unwrap();
    expect_problem(huge_spec, 413, "payload-too-large").await;
    assert_eq!(snapshot(&s), before);
}

#[tokio::test]
async fn unknown_ids_are_not_found() {
    let s = TestServer::start().await;
    for path in [
        "/hospitals/h9",
        "/hospitals/h9/departments",
        "/departments/h9-cardio/doctors",
        "/schedules?department=h9-cardio",
        "/schedules?doctor=h9-cardio-1",
        "/schedules?department=h1-cardio&doctor=h1-gastro-1",
        "/no-such-route",
        "/hospitals/h1/departments/extra/segments",
    ] {
        expect_problem(s.get(path).await, 404, "not-found").await;
    }
    for key in ["never-used-key", "x"] {
        expect_problem(s.by_key(key).await, 404, "not-found").await;
    }
    let unknown_slot = s
        .book(
            "unknown-slot-1",
            &booking_body("h1-cardio-4-1999-01-01-am-0800"),
        )
        .await;
    expect_problem(unknown_slot, 404, "not-found").await;
    let wrong_method = s.delete("/hospitals").await;
    assert_eq!(wrong_method.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        wrong_method.headers()["content-type"],
        "application/problem+json"
    );
}

#[tokio::test]
async fn ranges_and_dates_are_checked() {
    let s = TestServer::start().await;
    for query in [
        "days=0",
        "days=9999",
        "days=-1",
        "days=32",
        "days=1.5",
        "days=seven",
        "from=garbage",
        "from=2026-02-30",
        "from=1999-01-01",
        "from=2126-01-01",
        "from=2026-11-23&from=2026-11-24",
    ] {
        let response = s
            .get(&format!("/schedules?department=h1-cardio&{query}"))
            .await;
        expect_problem(response, 422, "validation").await;
        let response = s.get(&format!("/channels/stats?{query}")).await;
        assert_eq!(response.status().as_u16(), 422, "stats {query}");
    }
    expect_problem(s.get("/schedules?days=7").await, 422, "validation").await;
    expect_problem(s.get("/hospitals?level=9Z").await, 422, "validation").await;
    expect_problem(
        s.get(&format!("/hospitals?q={}", "a".repeat(101))).await,
        422,
        "validation",
    )
    .await;
}

#[tokio::test]
async fn hostile_strings_are_harmless() {
    let s = TestServer::start().await;
    let before = snapshot(&s);
    for hostile in HOSTILE {
        let response = s
            .client
            .get(s.url("/hospitals"))
            .query(&[("q", hostile)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{hostile:?}");
        let list: Value = response.json().await.unwrap();
        assert_eq!(list["items"], json!([]), "{hostile:?}");

        let encoded: String = url_escape(hostile);
        expect_problem(
            s.get(&format!("/hospitals/{encoded}")).await,
            404,
            "not-found",
        )
        .await;
        let response = s.lookup(&encoded, "002X").await;
        assert!(response.status().is_client_error(), "{hostile:?}");
        let lookup = s
            .post(
                "/bookings/ABCDEFGH/lookup",
                &json!({ "document_last4": hostile }),
            )
            .await;
        expect_problem(lookup, 404, "not-found").await;

        let mut body = booking_body(&slot("h1-cardio-4", 1, "am", "0800"));
        body["patient"]["name"] = json!(hostile);
        let problem =
            expect_problem(s.book("hostile-name-01", &body).await, 422, "validation").await;
        assert_eq!(problem["errors"][0]["field"], "patient.name");

        let hold = s.post("/holds", &json!({ "slot_id": hostile })).await;
        expect_problem(hold, 404, "not-found").await;
        let cancel = s
            .post(
                "/bookings/ABCDEFGH/cancel",
                &json!({ "document_last4": hostile }),
            )
            .await;
        expect_problem(cancel, 404, "not-found").await;
    }
    let response = s
        .client
        .get(s.url("/hospitals"))
        .header("X-Fairslot-Channel", "<script>")
        .send()
        .await
        .unwrap();
    expect_problem(response, 422, "validation").await;
    assert_eq!(snapshot(&s), before);
    assert!(s.query_i64("SELECT COUNT(*) FROM sqlite_master WHERE name = 'bookings'") == 1);
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
