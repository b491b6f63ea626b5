//! The published contract and the server agree: every documented operation, asked properly, with
//! unknown ids, with a malformed channel, with a malformed or oversized body and without its
//! idempotency key, answers with a documented status, the documented headers and a body of the
//! documented shape — and nothing the document does not mention.

use chrono::{DateTime, NaiveDate};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};

use crate::common::{TestServer, booking_body, header, slot};

const DOCUMENT: &str = include_str!("../../openapi.json");

/// The router's source: the route table [`served_operations`] reads.
const ROUTER: &str = include_str!("../../src/api/mod.rs");

/// Every operation the server routes, as `METHOD /path` in the document's spelling, read from
/// the route table itself: each `.route(&path("…"), …)` and the methods its method router names.
fn served_operations() -> Vec<String> {
    let code: String = ROUTER
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    // `get(` as a call of its own, not the end of a longer name.
    let calls = |text: &str, name: &str| {
        text.match_indices(&format!("{name}("))
            .any(|(at, _)| !text[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
    };
    let mut served = Vec::new();
    for route in code.split(".route(").skip(1) {
        let Some(rest) = route.trim_start().strip_prefix("&path(\"") else {
            continue;
        };
        let (path, methods) = rest.split_once('"').unwrap();
        let methods = methods.split(';').next().unwrap();
        for method in ["get", "post", "put", "patch", "delete"] {
            if calls(methods, method) {
                served.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    served
}

/// Schema keywords [`conforms`] checks, or that carry no rule. Any other keyword fails the test
/// rather than being skipped in silence.
const UNDERSTOOD: [&str; 15] = [
    "$ref",
    "type",
    "enum",
    "required",
    "properties",
    "items",
    "format",
    "minimum",
    "maximum",
    "maxItems",
    "maxLength",
    "pattern",
    "description",
    "examples",
    "example",
];

/// Checks `value` against the subset of JSON Schema the document uses. Objects may not carry
/// members the schema does not list: what the server sends must be documented.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            problems.push(format!("{at}: dangling $ref {reference}"));
            return;
        }
        return conforms(doc, target, value, at, problems);
    }
    for keyword in schema.as_object().into_iter().flat_map(|o| o.keys()) {
        if !UNDERSTOOD.contains(&keyword.as_str()) {
            problems.push(format!("{at}: the checker does not know `{keyword}`"));
        }
    }
    if let Some(kind) = schema["type"].as_str() {
        let ok = match kind {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            other => {
                problems.push(format!("{at}: unknown type {other}"));
                true
            }
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
    if let Some(number) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|min| number < min) {
            problems.push(format!("{at}: {number} below the documented minimum"));
        }
        if schema["maximum"].as_f64().is_some_and(|max| number > max) {
            problems.push(format!("{at}: {number} above the documented maximum"));
        }
    }
    if let Some(text) = value.as_str() {
        if schema["maxLength"]
            .as_u64()
            .is_some_and(|max| text.chars().count() as u64 > max)
        {
            problems.push(format!("{at}: longer than the documented maxLength"));
        }
        if let Some(pattern) = schema["pattern"].as_str() {
            match matches_pattern(pattern, text) {
                Some(true) => {}
                Some(false) => problems.push(format!("{at}: {text:?} does not match {pattern}")),
                None => problems.push(format!("{at}: the checker cannot read pattern {pattern}")),
            }
        }
        let ok = match schema["format"].as_str() {
            None => true,
            Some("date-time") => DateTime::parse_from_rfc3339(text).is_ok(),
            Some("date") => NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok(),
            Some("uri") => reqwest::Url::parse(text).is_ok(),
            Some(other) => {
                problems.push(format!("{at}: the checker does not know format {other}"));
                true
            }
        };
        if !ok {
            problems.push(format!("{at}: {text:?} is not a {}", schema["format"]));
        }
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
        for (name, v) in object {
            match properties.get(name) {
                Some(sub) => conforms(doc, sub, v, &format!("{at}.{name}"), problems),
                None => problems.push(format!("{at}: undocumented member `{name}`")),
            }
        }
    }
    if let Some(array) = value.as_array() {
        if schema["maxItems"]
            .as_u64()
            .is_some_and(|max| array.len() as u64 > max)
        {
            problems.push(format!("{at}: more items than the documented maxItems"));
        }
        if let Some(items) = schema.get("items") {
            // The first few items are enough to catch a shape mismatch in a long list.
            for (i, v) in array.iter().take(3).enumerate() {
                conforms(doc, items, v, &format!("{at}[{i}]"), problems);
            }
        }
    }
}

/// The document's patterns are all `^[class]{n}$` or `^[class]{m,n}$`; `None` for anything else.
fn matches_pattern(pattern: &str, text: &str) -> Option<bool> {
    let inner = pattern.strip_prefix("^[")?.strip_suffix("}$")?;
    let (class, counts) = inner.split_once("]{")?;
    let (min, max) = match counts.split_once(',') {
        Some((min, max)) => (min.parse().ok()?, max.parse().ok()?),
        None => (counts.parse().ok()?, counts.parse().ok()?),
    };
    let class: Vec<char> = class.chars().collect();
    let mut allowed: Vec<(char, char)> = Vec::new();
    let mut i = 0;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == '-' {
            allowed.push((class[i], class[i + 2]));
            i += 3;
        } else {
            allowed.push((class[i], class[i]));
            i += 1;
        }
    }
    let count = text.chars().count();
    Some(
        (min..=max).contains(&count)
            && text
                .chars()
                .all(|c| allowed.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))),
    )
}

/// A documented response, following `$ref`s into `components/responses`.
fn response_spec<'a>(doc: &'a Value, operation: &'a Value, status: u16) -> Option<&'a Value> {
    let spec = operation["responses"].get(status.to_string())?;
    match spec["$ref"].as_str() {
        Some(r) => doc["components"]["responses"].get(r.rsplit('/').next()?),
        None => Some(spec),
    }
}

/// Follows a `$ref` into `components/parameters`.
fn parameter<'a>(doc: &'a Value, p: &'a Value) -> &'a Value {
    match p["$ref"].as_str() {
        Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap()],
        None => p,
    }
}

/// One way of asking an operation, and the status it must get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// Ids that exist and a valid body: a 2xx.
    Proper,
    /// Ids that name nothing: 404.
    UnknownIds,
    /// A malformed `X-Fairslot-Channel`: 422.
    BadChannel,
    /// A body that cannot be read as the documented one: 422.
    BadBody,
    /// A body over the limit: 413.
    HugeBody,
    /// No `Idempotency-Key`: 400.
    NoKey,
}

impl Case {
    fn accepts(self, status: u16) -> bool {
        match self {
            Case::Proper => (200..300).contains(&status),
            Case::UnknownIds => status == 404,
            Case::BadChannel | Case::BadBody => status == 422,
            Case::HugeBody => status == 413,
            Case::NoKey => status == 400,
        }
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

/// The body an operation is asked with in `case`, checked against the documented request body
/// when it is meant to be valid.
fn with_body(
    doc: &Value,
    operation: &Value,
    case: Case,
    request: RequestBuilder,
    problems: &mut Vec<String>,
) -> RequestBuilder {
    let op_id = operation["operationId"].as_str().unwrap();
    let Some((media, spec)) = operation["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.iter().next())
    else {
        return request;
    };
    let request = request.header("Content-Type", media.as_str());
    if case == Case::HugeBody {
        return request.body(format!("\"{}\"", "x".repeat(20 * 1024)));
    }
    if media != "application/json" {
        return request.body(if case == Case::BadBody {
            "explode=1"
        } else {
            "off"
        });
    }
    if case == Case::BadBody {
        return request.body("{\"slot_id\": [}");
    }
    let body = match op_id {
        "createHold" => json!({ "slot_id": slot("h1-cardio-4", 1, "am", "0900") }),
        "createBooking" => booking_body(&slot("h1-cardio-4", 1, "am", "0930")),
        "lookupBooking" | "cancelBooking" => json!({ "document_last4": "002X" }),
        "bookingByKey" => json!({ "idempotency_key": "openapi-key-0001" }),
        other => panic!("no body for {other}"),
    };
    conforms(
        doc,
        &spec["schema"],
        &body,
        &format!("{op_id} request"),
        problems,
    );
    request.body(body.to_string())
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
        // The demo's releases and the booking above are entries 0 and up: 1 exists, and the
        // ledger is nowhere near a billion entries.
        fixture("index", "1", Some("999999999")),
        fixture("first", "1", Some("999999999")),
        fixture(
            "idempotency_key",
            "openapi-key-0001",
            Some("never-used-key-123"),
        ),
    ];
    let find = |name: &str| fixtures.iter().find(|f| f.name == name);

    let mut problems = Vec::new();
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else {
                continue;
            };
            if !operation.is_object() || operation.get("responses").is_none() {
                continue;
            }
            documented.push(format!("{method} {path}"));
            let op_id = operation["operationId"].as_str().unwrap();
            let parameters: Vec<&Value> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| parameter(&doc, p))
                .collect();
            let names_ids = parameters
                .iter()
                .any(|p| find(p["name"].as_str().unwrap()).is_some_and(|f| f.unknown.is_some()));
            let has_body = operation.get("requestBody").is_some();
            let needs_key = parameters
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["required"] == true);
            let cases = [
                (Case::Proper, true),
                (Case::UnknownIds, names_ids),
                (Case::BadChannel, true),
                (Case::BadBody, has_body),
                (Case::HugeBody, has_body),
                (Case::NoKey, needs_key),
            ];
            for case in cases.into_iter().filter(|c| c.1).map(|c| c.0) {
                let known = case != Case::UnknownIds;
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
                        "header" if name == "Idempotency-Key" && case != Case::NoKey => {
                            request = request.header(name, format!("openapi-{op_id}-{case:?}"));
                        }
                        "header" if name == "X-Fairslot-Client" => {
                            request = request.header(name, p["example"].as_str().unwrap());
                        }
                        "header" if name == "X-Fairslot-Channel" => {
                            let channel = if case == Case::BadChannel {
                                "Not A Channel"
                            } else {
                                p["example"].as_str().unwrap()
                            };
                            request = request.header(name, channel);
                        }
                        _ => {}
                    }
                }
                request = with_body(&doc, operation, case, request, &mut problems);
                let url = reqwest::Url::parse_with_params(&s.url(&url_path), &query).unwrap();
                let mut built = request.build().unwrap();
                *built.url_mut() = url;
                let response = s.client.execute(built).await.unwrap();
                let status = response.status().as_u16();
                let what = format!("{method} {path} ({op_id}, {case:?})");
                if !case.accepts(status) {
                    problems.push(format!("{what}: unexpected status {status}"));
                }
                let Some(spec) = response_spec(&doc, operation, status) else {
                    problems.push(format!("{what}: status {status} is not documented"));
                    continue;
                };
                for name in spec["headers"]
                    .as_object()
                    .into_iter()
                    .flat_map(|h| h.keys())
                {
                    if name != "Retry-After" && !response.headers().contains_key(name.as_str()) {
                        problems.push(format!("{what}: missing documented header {name}"));
                    }
                }
                let content_type = header(&response, "content-type");
                // As the document's introduction promises: personal data and errors are never
                // stored by a cache, other reads are revalidated.
                let private = ["/bookings", "/holds", "/_faults"]
                    .iter()
                    .any(|p| path.starts_with(p));
                let cache = if private || status >= 400 {
                    "no-store"
                } else {
                    "no-cache"
                };
                if header(&response, "cache-control") != cache {
                    problems.push(format!(
                        "{what}: Cache-Control {:?}, expected {cache}",
                        header(&response, "cache-control")
                    ));
                }
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
                    Some((media, _)) if media == "text/plain" => {
                        if !content_type.starts_with("text/plain") || body.is_empty() {
                            problems.push(format!(
                                "{what}: {content_type} with {} bytes, documented text",
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
                                if status >= 400 && value["status"] != status {
                                    problems.push(format!("{what}: problem status {value}"));
                                }
                                conforms(&doc, &media_spec["schema"], &value, &what, &mut problems)
                            }
                            Err(e) => problems.push(format!("{what}: body is not JSON: {e}")),
                        }
                    }
                }
            }
        }
    }
    documented.sort();
    let mut served = served_operations();
    served.sort();
    assert_eq!(documented, served, "every served operation is documented");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_route_table_is_read_whole() {
    let served = served_operations();
    for op in [
        "GET /health",
        "DELETE /holds/{hold_id}",
        "POST /bookings",
        "POST /bookings/{code}/cancel",
        "PUT /_faults",
    ] {
        assert!(
            served.iter().any(|s| s == op),
            "{op} not read from {served:?}"
        );
    }
    // The path that answers no method is served as nothing.
    assert!(
        !served.iter().any(|s| s.ends_with(" /bookings/{code}")),
        "{served:?}"
    );
}

#[test]
fn the_pattern_reader_understands_the_document_and_refuses_the_rest() {
    assert_eq!(
        matches_pattern("^[2-9A-HJKMNP-Z]{8}$", "K7Q4M2XP"),
        Some(true)
    );
    assert_eq!(
        matches_pattern("^[2-9A-HJKMNP-Z]{8}$", "K7Q4M2X1"),
        Some(false)
    );
    assert_eq!(
        matches_pattern("^[2-9A-HJKMNP-Z]{8}$", "K7Q4M2XPP"),
        Some(false)
    );
    assert_eq!(matches_pattern("^[a-z0-9_-]{1,32}$", "kiosk_1"), Some(true));
    assert_eq!(matches_pattern("^[a-z0-9_-]{1,32}$", ""), Some(false));
    assert_eq!(matches_pattern("^[a-z0-9_-]{1,32}$", "Kiosk"), Some(false));
    assert_eq!(matches_pattern("^a+$", "a"), None);
}
