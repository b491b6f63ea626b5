//! The `/api/v1` routes: one file per resource, sharing [`AppState`].

pub(crate) mod bookings;
mod catalogue;
mod channels;
mod holds;
mod ledger;
mod system;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{MethodRouter, delete, get, post};
use chrono::Duration;
use fairslot_core::API_PREFIX;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;

use crate::clock::Clock;
use crate::extract::{MAX_BODY_BYTES, require_valid_channel};
use crate::faults::{self, Faults};
use crate::guard::{self, Limits};
use crate::ledger::Ledger;
use crate::problem::{ApiError, method_not_allowed};
use crate::rules::{HashKey, Policy};
use crate::store::{Store, StoreError, StoreResult};

/// Policy knobs the handlers need, taken from the configuration once.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Lifetime of a hold.
    pub hold_ttl: Duration,
    /// Cancelling closes this long before a slot starts.
    pub cancel_cutoff: Duration,
    /// Whether `/api/v1/_faults` is served.
    pub fault_control: bool,
    /// Booking rules, hold limits and proof lockout.
    pub policy: Policy,
}

/// Everything a handler may use.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub faults: Arc<Faults>,
    pub settings: Arc<Settings>,
    /// Names people, phones and addresses in the rule tables without keeping them.
    pub hash_key: Arc<HashKey>,
    /// The open ledger's tree and signing key.
    pub ledger: Arc<Ledger>,
}

impl AppState {
    /// Runs a store call on the blocking pool and turns its failure into a problem.
    pub async fn with_store<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&dyn Store) -> StoreResult<T> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(StoreError::Backend(message))) => {
                eprintln!("storage failure: {message}");
                Err(ApiError::internal())
            }
            Ok(Err(e)) => Err(e.into()),
            Err(e) => {
                eprintln!("storage task failed: {e}");
                Err(ApiError::internal())
            }
        }
    }
}

/// The API router, with its middleware: faults, channel check, cache policy, body limit and
/// compression.
pub fn router(state: AppState, limits: Arc<Limits>) -> Router {
    let path = |p: &str| format!("{API_PREFIX}{p}");
    let mut api = Router::new()
        .route(&path("/health"), get(system::health))
        .route(&path("/openapi.json"), get(system::openapi))
        .route(&path("/hospitals"), get(catalogue::hospitals))
        .route(&path("/hospitals/{hospital_id}"), get(catalogue::hospital))
        .route(
            &path("/hospitals/{hospital_id}/departments"),
            get(catalogue::departments),
        )
        .route(
            &path("/departments/{department_id}/doctors"),
            get(catalogue::doctors),
        )
        .route(&path("/schedules"), get(catalogue::schedule))
        .route(&path("/holds"), post(holds::create))
        .route(&path("/holds/{hold_id}"), delete(holds::release))
        .route(&path("/bookings"), post(bookings::create))
        .route(&path("/bookings/by-key"), post(bookings::by_key))
        // A booking's own path (the `Location` of a new booking) answers no method: reading it
        // takes proof of ownership, which belongs in a body, never in a URL. Routing it anyway
        // makes a GET there a 405, logged by route like any other request.
        .route(&path("/bookings/{code}"), MethodRouter::new())
        .route(&path("/bookings/{code}/lookup"), post(bookings::lookup))
        .route(&path("/bookings/{code}/cancel"), post(bookings::cancel))
        .route(&path("/channels/stats"), get(channels::stats))
        .route(&path("/ledger/checkpoint"), get(ledger::checkpoint))
        .route(&path("/ledger/key"), get(ledger::key))
        .route(&path("/ledger/entries"), get(ledger::entries))
        .route(&path("/ledger/inclusion"), get(ledger::inclusion))
        .route(&path("/ledger/consistency"), get(ledger::consistency));
    if state.settings.fault_control {
        api = api.route(
            &path("/_faults"),
            get(system::faults_show)
                .put(system::faults_set)
                .delete(system::faults_clear),
        );
    }
    api.method_not_allowed_fallback(|| async { method_not_allowed() })
        .layer(
            ServiceBuilder::new()
                .layer(CompressionLayer::new())
                .layer(middleware::from_fn_with_state(limits, guard::limit_rates))
                .layer(middleware::from_fn_with_state(
                    Arc::clone(&state.faults),
                    faults::inject,
                ))
                .layer(middleware::from_fn(require_valid_channel))
                .layer(middleware::from_fn(cache_policy))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
        .with_state(state)
}

/// Personal data (bookings, holds) must never sit in a cache; everything else may be cached but
/// must be revalidated, because counts change by the second.
async fn cache_policy(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let private = ["/bookings", "/holds", "/_faults"].iter().any(|p| {
        path.strip_prefix(API_PREFIX)
            .is_some_and(|rest| rest.starts_with(p))
    });
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static(if private {
            "no-store"
        } else {
            "no-cache"
        }));
    response
}
