//! The published contract and the server agree: every documented operation answers with a
//! documented status, and its JSON has the documented shape.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestServer, booking_body, slot};

const DOCUMENT: &str = include_str!("../../openapi.json");

/// Checks `value` against the subset of JSON Schema the document uses.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return conforms(
            doc,
            &doc["components"]["schemas"][name],
            value,
            at,
            problems,
        );
    }
    if let Some(kind) = schema["type"].as_str() {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "boolean" => value.is_boolean(),
            _ => true,
        };
        if !ok {
            problems.push(format!("{at}: expected {kind}, got {value}"));
            return;
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        problems.push(format!("{at}: {value} not in {options:?}"));
    }
    if let Some(required) = schema["required"].as_array() {
        for name in required {
            let name = name.as_str().unwrap();
            if value.get(name).is_none() {
                problems.push(format!("{at}: missing required `{name}`"));
            }
        }
    }
    if let (Some(properties), Some(object)) = (schema["properties"].as_object(), value.as_object())
    {
        for (name, sub) in properties {
            if let Some(v) = object.get(name) {
                conforms(doc, sub, v, &format!("{at}.{name}"), problems);
            }
        }
    }
    if let (Some(items), Some(array)) = (schema.get("items"), value.as_array()) {
        // The first few items are enough to catch a shape mismatch in a long list.
        for (i, v) in array.iter().take(3).enumerate() {
            conforms(doc, items, v, &format!("{at}[{i}]"), problems);
        }
    }
}

/// A documented response, following `$ref`s into `components/responses`.
fn response_spec<'a>(doc: &'a Value, operation: &'a Value, status: u16) -> Option<&'a Value> {
    let spec = operation["responses"].get(status.to_string())?;
    match spec["$ref"].as_str() {
        Some(r) => doc["components"]["responses"].get(r.rsplit('/').next()?),
        None => Some(spec),
    }
}

/// A value for a documented parameter: one that exists, and one that names nothing (`None`: the
/// parameter is not an id, keep the known value).
struct Fixture {
    name: &'static str,
    known: String,
    unknown: Option<String>,
}

fn fixture(name: &'static str, known: &str, unknown: Option<&str>) -> Fixture {
    Fixture {
        name,
        known: known.to_string(),
        unknown: unknown.map(str::to_string),
    }
}

#[tokio::test]
async fn every_documented_operation_answers_as_documented() {
    let s = TestServer::start_with(|c| c.fault_control = true).await;
    let doc: Value = serde_json::from_str(DOCUMENT).unwrap();
    let served: Value = s.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(
        served, doc,
        "the server serves the document in the repository"
    );
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");

    let booking = s
        .book_ok("openapi-key-0001", &slot("h1-cardio-4", 1, "am", "0800"))
        .await;
    let hold: Value = s
        .post(
            "/holds",
            &json!({ "slot_id": slot("h1-cardio-4", 1, "am", "0830") }),
        )
        .await
        .json()
        .await
        .unwrap();
    let fixtures = [
        fixture("hospital_id", "h1", Some("h9")),
        fixture("department_id", "h1-cardio", Some("h9-cardio")),
        fixture("department", "h1-cardio", Some("h9-cardio")),
        fixture("doctor", "h1-cardio-3", Some("h9-cardio-1")),
        fixture(
            "hold_id",
            hold["id"].as_str().unwrap(),
            Some("hold-unknown"),
        ),
        fixture("code", booking["code"].as_str().unwrap(), Some("ZZZZ2222")),
        fixture(
            "idempotency_key",
            "openapi-key-0001",
            Some("never-used-key-123"),
        ),
        fixture("document_last4", "002X", None),
    ];
    let find = |name: &str| fixtures.iter().find(|f| f.name == name);

    let mut problems = Vec::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !operation.is_object() || operation.get("responses").is_none() {
                continue;
            }
            operations += 1;
            let op_id = operation["operationId"].as_str().unwrap();
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| match p["$ref"].as_str() {
                    Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap()],
                    None => p,
                })
                .collect();
            let names_ids = parameters
                .iter()
                .any(|p| find(p["name"].as_str().unwrap()).is_some_and(|f| f.unknown.is_some()));
            for known in [true, false] {
                if !known && !names_ids {
                    continue;
                }
                let mut url_path = path.clone();
                let mut query = Vec::new();
                let mut request = s.client.request(method.clone(), "http://placeholder");
                for p in &parameters {
                    let name = p["name"].as_str().unwrap();
                    let value = find(name).map(|f| {
                        if known {
                            f.known.clone()
                        } else {
                            f.unknown.clone().unwrap_or_else(|| f.known.clone())
                        }
                    });
                    match p["in"].as_str().unwrap() {
                        "path" => {
                            let value = value.unwrap_or_else(|| panic!("no fixture for {name}"));
                            url_path = url_path.replace(&format!("{{{name}}}"), &value);
                        }
                        "query" => match value {
                            Some(value) => query.push((name.to_string(), value)),
                            None if p["required"] == true => panic!("no fixture for {name}"),
                            None => {}
                        },
                        "header" if name == "Idempotency-Key" => {
                            request = request.header(name, format!("openapi-{op_id}-{known}"));
                        }
                        "header" if name == "X-Fairslot-Channel" => {
                            request = request.header(name, p["example"].as_str().unwrap());
                        }
                        _ => {}
                    }
                }
                request = match op_id {
                    "createHold" => {
                        request.json(&json!({ "slot_id": slot("h1-cardio-4", 1, "am", "0900") }))
                    }
                    "createBooking" => {
                        request.json(&booking_body(&slot("h1-cardio-4", 1, "am", "0930")))
                    }
                    "cancelBooking" => request.json(&json!({ "document_last4": "002X" })),
                    "setFaults" => request.body("off"),
                    _ => request,
                };
                let url = reqwest::Url::parse_with_params(&s.url(&url_path), &query).unwrap();
                let mut built = request.build().unwrap();
                *built.url_mut() = url;
                let response = s.client.execute(built).await.unwrap();
                let status = response.status().as_u16();
                let what = format!(
                    "{method} {path} ({op_id}, {})",
                    if known { "known ids" } else { "unknown ids" }
                );
                if known && !(200..300).contains(&status) {
                    problems.push(format!("{what}: expected success, got {status}"));
                }
                if !known && status != 404 {
                    problems.push(format!("{what}: expected 404, got {status}"));
                }
                let Some(spec) = response_spec(&doc, operation, status) else {
                    problems.push(format!("{what}: status {status} is not documented"));
                    continue;
                };
                for header in spec["headers"]
                    .as_object()
                    .into_iter()
                    .flat_map(|h| h.keys())
                {
                    if header != "Retry-After" && !response.headers().contains_key(header.as_str())
                    {
                        problems.push(format!("{what}: missing documented header {header}"));
                    }
                }
                let content_type = response
                    .headers()
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_string();
                let body = response.bytes().await.unwrap();
                match spec["content"].as_object().and_then(|c| c.iter().next()) {
                    None => {
                        if !body.is_empty() {
                            problems.push(format!(
                                "{what}: documented without a body, got {} bytes",
                                body.len()
                            ));
                        }
                    }
                    Some((media, media_spec)) => {
                        if &content_type != media {
                            problems.push(format!(
                                "{what}: content type {content_type}, documented {media}"
                            ));
                        }
                        match serde_json::from_slice::<Value>(&body) {
                            Ok(value) => {
                                conforms(&doc, &media_spec["schema"], &value, &what, &mut problems)
                            }
                            Err(e) => problems.push(format!("{what}: body is not JSON: {e}")),
                        }
                    }
                }
            }
        }
    }
    assert_eq!(operations, 17, "every operation was exercised");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
