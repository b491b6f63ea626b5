//! The built app served next to the API, and the browser's CORS rules.

use reqwest::StatusCode;

use crate::common::{TestServer, expect_problem};

fn app_dir() -> tempfile::TempDir {
    let dir = tempfile::TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!doctype html><title>Fairslot</title>",
    )
    .unwrap();
    std::fs::write(dir.path().join("app.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(dir.path().join("app.js"), "console.log('plain')").unwrap();
    std::fs::write(dir.path().join("app.js.gz"), b"gzipped bytes").unwrap();
    std::fs::write(dir.path().join("config.json"), "{}").unwrap();
    dir
}

#[tokio::test]
async fn one_url_serves_the_app_and_the_api() {
    let files = app_dir();
    let s = TestServer::start_with(|c| c.static_dir = Some(files.path().to_path_buf())).await;
    let get = |path: &str| s.client.get(format!("{}{path}", s.base)).send();

    let index = get("/").await.unwrap();
    assert_eq!(index.status(), StatusCode::OK);
    assert!(index.text().await.unwrap().contains("Fairslot"));

    let route = get("/hospitals/h1/booking").await.unwrap();
    assert_eq!(route.status(), StatusCode::OK);
    assert!(
        route.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let wasm = get("/app.wasm").await.unwrap();
    assert_eq!(wasm.headers()["content-type"], "application/wasm");

    let gz = s
        .client
        .get(format!("{}/app.js", s.base))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.bytes().await.unwrap().as_ref(), b"gzipped bytes");
    let plain = get("/app.js").await.unwrap();
    assert_eq!(plain.text().await.unwrap(), "console.log('plain')");

    assert_eq!(
        get("/missing.js").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    expect_problem(get("/api/v1/nope").await.unwrap(), 404, "not-found").await;
    expect_problem(get("/api/v2/hospitals").await.unwrap(), 404, "not-found").await;
    assert_eq!(
        get("/api/v1/hospitals").await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn cors_is_off_by_default_and_exposes_what_clients_need_when_on() {
    let closed = TestServer::start().await;
    let response = closed
        .client
        .get(closed.url("/hospitals"))
        .header("Origin", "https://partner.example")
        .send()
        .await
        .unwrap();
    assert!(
        response
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );

    let s =
        TestServer::start_with(|c| c.cors_origins = vec!["https://partner.example".into()]).await;
    let preflight = s
        .client
        .request(reqwest::Method::OPTIONS, s.url("/bookings"))
        .header("Origin", "https://partner.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "content-type,idempotency-key,x-fairslot-channel",
        )
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(
        preflight.headers()["access-control-allow-origin"],
        "https://partner.example"
    );
    let allowed = preflight.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    for header in ["content-type", "idempotency-key", "x-fairslot-channel"] {
        assert!(allowed.contains(header), "{allowed}");
    }

    let response = s
        .client
        .get(s.url("/hospitals"))
        .header("Origin", "https://partner.example")
        .send()
        .await
        .unwrap();
    let exposed = response.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(
        exposed.contains("retry-after") && exposed.contains("location"),
        "{exposed}"
    );

    let stranger = s
        .client
        .get(s.url("/hospitals"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        stranger
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
}
