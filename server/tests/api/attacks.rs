//! Attacks on the real binary, as an outsider would make them, each asserting its defence by
//! number: places one script can take, guesses before a lockout, what a cross-site form can do,
//! how long a slow client holds a connection, what the log and the page's headers give away.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration as StdDuration, Instant};

use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::common::{Binary, header, resident_id};

/// Tomorrow in Hangzhou: always released, whatever the real clock says.
fn tomorrow() -> String {
    ((Utc::now() + Duration::hours(8)).date_naive() + Duration::days(1)).to_string()
}

/// The morning slots of `h1-cardio-6` tomorrow: 16 slots, 2 places each.
fn morning_slots() -> Vec<String> {
    (0..16)
        .map(|i| {
            let minutes = 8 * 60 + 15 * i;
            format!(
                "h1-cardio-6-{}-am-{:02}{:02}",
                tomorrow(),
                minutes / 60,
                minutes % 60
            )
        })
        .collect()
}

#[tokio::test]
async fn a_hold_flood_from_one_client_takes_one_place() {
    let server = Binary::start(&[]);
    let before = server.free_places("h1-cardio-6", &tomorrow()).await;
    for slot_id in morning_slots().iter().cycle().take(30) {
        let held = server.hold(&"s".repeat(20), slot_id).await;
        assert_eq!(held.status(), StatusCode::CREATED);
    }
    let taken = before - server.free_places("h1-cardio-6", &tomorrow()).await;
    assert_eq!(
        taken, 1,
        "one client, one place: each hold gave the one before back"
    );
    server.stop();
}

#[tokio::test]
async fn a_hold_flood_with_a_new_client_per_hold_is_capped_per_address() {
    let server = Binary::start(&[]);
    let before = server.free_places("h1-cardio-6", &tomorrow()).await;
    let mut retry_after = Vec::new();
    for (i, slot_id) in morning_slots().iter().cycle().take(32).enumerate() {
        let response = server
            .hold(&format!("rotating-client-{i:06}"), slot_id)
            .await;
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            retry_after.push(header(&response, "retry-after"));
        }
    }
    let taken = before - server.free_places("h1-cardio-6", &tomorrow()).await;
    assert_eq!(taken, 20, "20 live holds per address");
    assert_eq!(retry_after.len(), 12);
    // Told to come back when the first of them runs out (five minutes).
    assert!(
        retry_after
            .iter()
            .all(|s| s.parse::<u32>().is_ok_and(|s| (250..=300).contains(&s))),
        "{retry_after:?}"
    );
    server.stop();
}

#[tokio::test]
async fn booking_directly_with_generated_ids_is_capped_per_address() {
    // No hold at all: each booking a fresh, valid ID number and phone, so no person rule binds.
    let server = Binary::start(&[]);
    let before = server.free_places("h1-cardio-6", &tomorrow()).await;
    let mut created = 0;
    let mut refused = 0;
    for (i, slot_id) in morning_slots().iter().cycle().take(30).enumerate() {
        let response = server
            .book(&format!("direct-attack-{i:04}"), slot_id, 800 + i as u32)
            .await;
        match response.status() {
            StatusCode::CREATED => created += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                let wait: u32 = header(&response, "retry-after").parse().unwrap();
                assert!((3500..=3600).contains(&wait), "{wait}");
                refused += 1;
            }
            other => panic!("booking answered {other}"),
        }
    }
    assert_eq!(
        (created, refused),
        (10, 20),
        "10 bookings an hour without a hold"
    );
    assert_eq!(
        before - server.free_places("h1-cardio-6", &tomorrow()).await,
        10
    );
    server.stop();
}

#[tokio::test]
async fn a_client_allowed_several_holds_takes_five_a_minute() {
    let server = Binary::start(&["--holds-per-client", "10"]);
    let mut taken = 0;
    let mut wait = String::new();
    for slot_id in morning_slots().iter().take(8) {
        let response = server.hold("several-holds-client", slot_id).await;
        match response.status() {
            StatusCode::CREATED => taken += 1,
            StatusCode::TOO_MANY_REQUESTS => wait = header(&response, "retry-after"),
            other => panic!("hold answered {other}"),
        }
    }
    assert_eq!(taken, 5, "five holds a minute per client");
    assert!(
        wait.parse::<u32>().is_ok_and(|s| (1..=60).contains(&s)),
        "{wait}"
    );
    server.stop();
}

#[tokio::test]
async fn one_address_is_held_to_its_request_rate() {
    let server = Binary::start(&["--ip-requests-per-minute", "30"]);
    let mut answered = 0;
    let mut refused = 0;
    for _ in 0..40 {
        let response = server
            .client
            .get(server.url("/hospitals"))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::OK => answered += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(!header(&response, "retry-after").is_empty());
                refused += 1;
            }
            other => panic!("read answered {other}"),
        }
    }
    assert_eq!((answered, refused), (30, 10));
    server.stop();
}

#[tokio::test]
async fn holds_per_address_per_minute_are_capped_too() {
    let server = Binary::start(&["--ip-live-holds", "1000"]);
    let before = server.free_places("h1-cardio-6", &tomorrow()).await;
    for (i, slot_id) in morning_slots().iter().cycle().take(32).enumerate() {
        server.hold(&format!("minute-client-{i:06}"), slot_id).await;
    }
    let taken = before - server.free_places("h1-cardio-6", &tomorrow()).await;
    assert_eq!(taken, 30, "30 holds per address per minute");
    server.stop();
}

#[tokio::test]
async fn guessing_a_proof_locks_the_code_after_five_tries() {
    let server = Binary::start(&[]);
    let slot_id = format!("h1-cardio-5-{}-pm-1400", tomorrow());
    let id = resident_id(900);
    let booked: Value = server
        .book("attack-booking-0001", &slot_id, 900)
        .await
        .json()
        .await
        .unwrap();
    let code = booked["code"].as_str().unwrap();
    // The attacker knows the code (a ticket, a receipt, a calendar file) and tries every ending.
    let mut guesses = 0;
    let mut locked = None;
    for n in 0..10_000 {
        let guess = format!("{n:04}");
        if guess == id[14..] {
            continue;
        }
        let response = server
            .client
            .post(server.url(&format!("/bookings/{code}/cancel")))
            .json(&json!({ "document_last4": guess }))
            .send()
            .await
            .unwrap();
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            locked = Some(response);
            break;
        }
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        guesses += 1;
    }
    assert_eq!(guesses, 5, "wrong proofs checked before the lock");
    let locked = locked.expect("the code locks");
    assert!(header(&locked, "retry-after").parse::<u32>().unwrap() > 800);
    let problem: Value = locked.json().await.unwrap();
    assert_eq!(problem["type"], "urn:fairslot:problem:proof-locked");
    // Even the right proof cancels nothing now.
    let right = server
        .client
        .post(server.url(&format!("/bookings/{code}/cancel")))
        .json(&json!({ "document_last4": &id[14..] }))
        .send()
        .await
        .unwrap();
    assert_eq!(right.status(), StatusCode::TOO_MANY_REQUESTS);
    server.stop();
}

#[tokio::test]
async fn guessing_codes_is_rate_limited_per_address() {
    let server = Binary::start(&[]);
    let mut answered = 0;
    for n in 0..40 {
        let response = server
            .client
            .post(server.url(&format!("/bookings/GUESS{n:03}/lookup")))
            .json(&json!({ "document_last4": "1234" }))
            .send()
            .await
            .unwrap();
        match response.status() {
            StatusCode::NOT_FOUND => answered += 1,
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(!header(&response, "retry-after").is_empty());
            }
            other => panic!("lookup answered {other}"),
        }
    }
    assert_eq!(answered, 20, "20 lookups a minute per address");
    server.stop();
}

#[tokio::test]
async fn a_cross_site_form_post_changes_nothing() {
    let server = Binary::start(&[]);
    let slot_id = format!("h1-cardio-4-{}-am-0800", tomorrow());
    let before = server.free_places("h1-cardio-4", &tomorrow()).await;
    // What a form or `fetch(…, {mode: 'no-cors'})` on another website can send without a
    // preflight: text/plain, urlencoded or multipart, with JSON inside.
    for media in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
    ] {
        for (path, body) in [
            ("/holds", json!({ "slot_id": slot_id })),
            (
                "/bookings/ABCDEFGH/lookup",
                json!({ "document_last4": "1234" }),
            ),
            (
                "/bookings/ABCDEFGH/cancel",
                json!({ "document_last4": "1234" }),
            ),
            (
                "/bookings/by-key",
                json!({ "idempotency_key": "attack-key-0001" }),
            ),
        ] {
            let response = server
                .client
                .post(server.url(path))
                .header("Content-Type", media)
                .header("X-Fairslot-Client", "cross-site-client-01")
                .body(body.to_string())
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{media} {path}"
            );
        }
    }
    assert_eq!(server.free_places("h1-cardio-4", &tomorrow()).await, before);
    server.stop();
}

#[tokio::test]
async fn a_slow_body_is_cut_off_at_the_deadline() {
    let server = Binary::start(&["--request-timeout-seconds", "2"]);
    let started = Instant::now();
    let mut stream = TcpStream::connect(server.address()).unwrap();
    stream
        .set_read_timeout(Some(StdDuration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/holds HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         X-Fairslot-Client: slow-client-000001\r\nContent-Length: 100\r\n\r\n{{\"slo"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let waited = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request-timeout"), "{answer}");
    assert!(waited < StdDuration::from_secs(5), "held for {waited:?}");
    server.stop();
}

#[tokio::test]
async fn one_address_cannot_hold_every_connection() {
    let server = Binary::start(&["--max-connections-per-ip", "8"]);
    let idle: Vec<TcpStream> = (0..8)
        .map(|_| TcpStream::connect(server.address()).unwrap())
        .collect();
    // The ninth is closed before a byte is read.
    let mut ninth = TcpStream::connect(server.address()).unwrap();
    ninth
        .set_read_timeout(Some(StdDuration::from_secs(5)))
        .unwrap();
    let _ = write!(ninth, "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n");
    let mut answer = String::new();
    let _ = ninth.read_to_string(&mut answer);
    assert!(answer.is_empty(), "{answer}");
    drop(idle);
    // Once they are gone, the address is served again.
    let mut served = false;
    for _ in 0..50 {
        if let Ok(r) = server.client.get(server.url("/health")).send().await {
            served = r.status() == StatusCode::OK;
            if served {
                break;
            }
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    assert!(served);
    server.stop();
}

/// Holds taken by 32 clients that each claim another address in `X-Forwarded-For`.
async fn holds_with_forwarded_addresses(server: &Binary) -> u32 {
    let mut taken = 0;
    for (i, slot_id) in morning_slots().iter().cycle().take(32).enumerate() {
        let response = server
            .client
            .post(server.url("/holds"))
            .header("X-Fairslot-Client", format!("forwarding-client-{i:04}"))
            .header("X-Forwarded-For", format!("198.51.100.{i}"))
            .json(&json!({ "slot_id": slot_id }))
            .send()
            .await
            .unwrap();
        taken += u32::from(response.status() == StatusCode::CREATED);
    }
    taken
}

#[tokio::test]
async fn forwarded_addresses_count_only_through_a_trusted_proxy() {
    // Untrusted: a client that writes X-Forwarded-For itself is still one address.
    let direct = Binary::start(&[]);
    assert_eq!(holds_with_forwarded_addresses(&direct).await, 20);
    direct.stop();
    // Behind a trusted proxy (here: loopback), each forwarded client has its own budget.
    let proxied = Binary::start(&["--trusted-proxy", "127.0.0.1/32"]);
    assert_eq!(holds_with_forwarded_addresses(&proxied).await, 32);
    proxied.stop();
}

#[tokio::test]
async fn the_page_is_served_locked_down_and_the_log_names_no_code() {
    let site = tempfile::TempDir::new().unwrap();
    std::fs::write(
        site.path().join("index.html"),
        "<!doctype html><html><head><script type=\"module\">import('/app.js')</script></head></html>",
    )
    .unwrap();
    std::fs::write(
        site.path().join("config.json"),
        r#"{"api":{"kind":"native","base_urls":["/api/v1","https://backup.example.org/api/v1"]},"channel":"web"}"#,
    )
    .unwrap();
    let server = Binary::start(&["--static-dir", site.path().to_str().unwrap()]);
    for path in ["/", "/config.json", "/bookings/K7Q4M2XP"] {
        let response = server
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let csp = header(&response, "content-security-policy");
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval' 'sha256-",
            "connect-src 'self' https://backup.example.org",
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {directive} not in {csp}");
        }
        assert_eq!(header(&response, "x-content-type-options"), "nosniff");
        assert_eq!(header(&response, "referrer-policy"), "no-referrer");
        assert_eq!(
            header(&response, "cross-origin-opener-policy"),
            "same-origin"
        );
    }
    let api = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&api, "x-content-type-options"), "nosniff");
    assert_eq!(header(&api, "referrer-policy"), "no-referrer");

    // A booking, its lookup by key, and its page: the log names routes, never the code or key.
    let slot_id = format!("h1-cardio-5-{}-pm-1430", tomorrow());
    let booked: Value = server
        .book("log-scan-key-0001", &slot_id, 901)
        .await
        .json()
        .await
        .unwrap();
    let code = booked["code"].as_str().unwrap().to_string();
    server
        .client
        .post(server.url("/bookings/by-key"))
        .json(&json!({ "idempotency_key": "log-scan-key-0001" }))
        .send()
        .await
        .unwrap();
    server
        .client
        .get(format!("{}/bookings/{code}", server.base))
        .send()
        .await
        .unwrap();
    let log = server.stop();
    assert!(log.contains("GET (app page) 200"), "{log}");
    assert!(log.contains("POST /api/v1/bookings/by-key 200"), "{log}");
    for secret in [
        code.as_str(),
        "log-scan-key-0001",
        "K7Q4M2XP",
        &resident_id(901),
        "13900000901",
    ] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn the_headers_command_prints_what_the_server_sends() {
    let site = tempfile::TempDir::new().unwrap();
    let config = site.path().join("config.json");
    let index = site.path().join("index.html");
    std::fs::write(
        &config,
        r#"{"api":{"kind":"native","base_urls":["/api/v1"]},"channel":"web",
            "mode":{"kind":"embed","allowed_origins":["https://portal.example"]}}"#,
    )
    .unwrap();
    std::fs::write(&index, "<html></html>").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_fairslot-server"))
        .arg("headers")
        .arg("--config")
        .arg(&config)
        .arg("--index")
        .arg(&index)
        .output()
        .unwrap();
    assert!(output.status.success());
    let snippet = String::from_utf8(output.stdout).unwrap();
    assert!(
        snippet.contains("add_header Content-Security-Policy \"default-src 'self';"),
        "{snippet}"
    );
    assert!(
        snippet.contains("frame-ancestors https://portal.example;"),
        "{snippet}"
    );
    assert!(snippet.contains("add_header Referrer-Policy \"no-referrer\" always;"));

    std::fs::write(&config, r#"{"api":{"kind":"soap"}}"#).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_fairslot-server"))
        .arg("headers")
        .arg("--config")
        .arg(&config)
        .arg("--index")
        .arg(&index)
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("api"));
}
