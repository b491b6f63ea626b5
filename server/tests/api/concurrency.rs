use std::sync::Arc;

use reqwest::StatusCode;

use crate::common::{TestServer, booking_body, slot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_of_200_racing_bookings_gets_the_last_place() {
    let s = Arc::new(TestServer::start().await);
    let slot_id = slot("h1-cardio-3", 1, "pm", "1500");
    assert_eq!(s.remaining(&slot_id).await, 1);
    let body = Arc::new(booking_body(&slot_id));

    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let s = Arc::clone(&s);
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                let response = s.book(&format!("race-key-{i:05}"), &body).await;
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut created = 0;
    let mut taken = 0;
    for task in tasks {
        let (status, body) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::CONFLICT => {
                assert_eq!(body["type"], "urn:fairslot:problem:slot-taken");
                taken += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((created, taken), (1, 199));
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.remaining(&slot_id).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_retries_with_one_key_all_get_the_same_booking() {
    let s = Arc::new(TestServer::start().await);
    let slot_id = slot("h1-cardio-5", 1, "pm", "1400");
    let body = Arc::new(booking_body(&slot_id));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let s = Arc::clone(&s);
            let body = Arc::clone(&body);
            tokio::spawn(async move {
                let response = s.book("double-tap-key-1", &body).await;
                (response.status(), response.bytes().await.unwrap())
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED);
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(s.query_i64("SELECT COUNT(*) FROM bookings"), 1);
    assert_eq!(s.remaining(&slot_id).await, 2);
}
