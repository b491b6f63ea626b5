//! Wiring: the full application router, the HTTP/1 accept loop and the background sweep.
//!
//! The accept loop is ours rather than `axum::serve` for one reason: fault injection must be able
//! to commit a booking and then close the connection without any response, which needs the
//! service to fail at the connection level.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use chrono::{Duration, NaiveDate};
use fairslot_core::ProblemKind;
use fairslot_core::time::hospital_today;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tower::ServiceExt;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::api::{self, AppState, Settings};
use crate::clock::Clock;
use crate::config::{Command, Config, Guard};
use crate::extract::Channel;
use crate::extract::MAX_BODY_BYTES;
use crate::faults::{DropConnection, Faults};
use crate::gateway::{self, Upstream, UpstreamError};
use crate::guard::{self, Connections, Limits, Peer};
use crate::headers::{self, StaticPageHeaders};
use crate::ledger::{self, Ledger};
use crate::problem::ApiError;
use crate::rules::{self, HashKey, Policy};
use crate::seed::{self, Demo};
use crate::static_files::StaticFiles;
use crate::store::{SqliteStore, Store, StoreError};

/// How often expired holds are swept and the schedule window is checked.
const SWEEP_EVERY: StdDuration = StdDuration::from_secs(10);
/// How long shutdown waits for requests in flight.
const DRAIN_FOR: StdDuration = StdDuration::from_secs(5);
/// How long a connection may take to send a request's headers (or sit idle between requests).
const HEADER_READ_TIMEOUT: StdDuration = StdDuration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: String,
        source: std::io::Error,
    },
    #[error("invalid CORS origin {0:?}")]
    CorsOrigin(String),
    #[error("startup task failed: {0}")]
    Task(String),
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config.json has invalid fields: {0}")]
    Config(String),
    #[error("{0}")]
    Gateway(#[from] UpstreamError),
}

/// Front-end and operational options of the router beyond [`AppState`].
#[derive(Debug, Clone)]
pub struct AppOptions {
    pub static_dir: Option<PathBuf>,
    pub cors_origins: Vec<String>,
    pub log_requests: bool,
    pub limits: Arc<Limits>,
    pub guard: Guard,
    /// The FHIR server to stand in front of at `/fhir`, if any.
    pub fhir_upstream: Option<Upstream>,
}

/// The whole application: API, static app, CORS, security headers and request log.
pub fn app(state: AppState, options: &AppOptions) -> Result<Router, StartError> {
    let files = options.static_dir.as_deref().map(|dir| {
        Arc::new((
            StaticFiles::new(dir),
            StaticPageHeaders::new(dir, &options.guard),
        ))
    });
    let mut app = api::router(state.clone(), Arc::clone(&options.limits));
    if let Some(upstream) = &options.fhir_upstream {
        app = app.merge(gateway::router(state, upstream.clone()).layer(
            middleware::from_fn_with_state(Arc::clone(&options.limits), guard::limit_rates),
        ));
    }
    let mut app = app.fallback(move |request: Request| {
        let files = files.clone();
        async move { fallback(files, request).await }
    });
    if let Some(cors) = cors_layer(&options.cors_origins)? {
        app = app.layer(cors);
    }
    app = app.layer(middleware::map_response(
        |mut response: Response| async move {
            headers::common(response.headers_mut());
            response
        },
    ));
    if options.log_requests {
        app = app.layer(middleware::from_fn(log_request));
    }
    Ok(app)
}

/// Unknown API paths get a problem; anything else is the app's (or a problem when no app is
/// served), with the page's security headers.
async fn fallback(
    files: Option<Arc<(StaticFiles, StaticPageHeaders)>>,
    request: Request,
) -> Response {
    match files {
        Some(files) if !is_api_path(request.uri().path()) => {
            let (files, page_headers) = files.as_ref();
            let mut response = files.serve(request).await;
            response.headers_mut().extend(page_headers.current());
            response
        }
        _ => ApiError::not_found("No resource at this address.").into_response(),
    }
}

fn is_api_path(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

fn cors_layer(origins: &[String]) -> Result<Option<CorsLayer>, StartError> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|o| HeaderValue::from_str(o).map_err(|_| StartError::CorsOrigin(o.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::DELETE])
            .allow_headers([
                header::CONTENT_TYPE,
                IDEMPOTENCY_HEADER_NAME,
                CHANNEL_HEADER_NAME,
                CLIENT_HEADER_NAME,
            ])
            .expose_headers([header::RETRY_AFTER, header::LOCATION])
            .max_age(StdDuration::from_secs(600)),
    ))
}

/// [`fairslot_core::IDEMPOTENCY_HEADER`] as a header name (lowercase, as `HeaderName` stores names).
const IDEMPOTENCY_HEADER_NAME: HeaderName = HeaderName::from_static("idempotency-key");
/// [`fairslot_core::CHANNEL_HEADER`] as a header name.
const CHANNEL_HEADER_NAME: HeaderName = HeaderName::from_static("x-fairslot-channel");
/// [`fairslot_core::CLIENT_HEADER`] as a header name.
const CLIENT_HEADER_NAME: HeaderName = HeaderName::from_static("x-fairslot-client");

/// One line per request. API requests are logged by route (`/api/v1/bookings/{code}/lookup`),
/// never by their actual path or query: booking codes and idempotency keys are credentials, and a
/// client may put anything into a path or query it makes up. The app's own pages are logged as
/// `(app page)`, since their paths name booking codes too (`/bookings/K7Q4M2XP`); only files that
/// exist are logged by name. Proof of ownership (`document_last4`) only ever travels in request
/// bodies, which are not logged.
async fn log_request(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().to_owned());
    let api = is_api_path(request.uri().path());
    let file = request
        .uri()
        .path()
        .rsplit('/')
        .next()
        .is_some_and(|last| last.contains('.'))
        .then(|| request.uri().path().to_owned());
    let (parts, body) = request.into_parts();
    let channel = Channel::log_label(&parts);
    let response = next.run(Request::from_parts(parts, body)).await;
    let path = match (route, api, file) {
        (Some(route), _, _) => route,
        (None, true, _) => "(no such API route)".to_owned(),
        (None, false, Some(file)) if response.status() != StatusCode::NOT_FOUND => file,
        (None, false, Some(_)) => "(no such file)".to_owned(),
        (None, false, None) => "(app page)".to_owned(),
    };
    let dropped = if response.extensions().get::<DropConnection>().is_some() {
        " dropped-after-commit"
    } else {
        ""
    };
    eprintln!(
        "{method} {path} {}{dropped} {}ms channel={channel}",
        response.status().as_u16(),
        started.elapsed().as_millis()
    );
    response
}

/// A server started in-process: its address, and a handle to stop it.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: watch::Sender<bool>,
    accept: JoinHandle<()>,
    sweep: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish (briefly) and closes the database.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.sweep.abort();
        let _ = (&mut self.accept).await;
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        self.sweep.abort();
    }
}

/// Opens the store, installs demo data, binds the listener and starts serving.
pub async fn start(config: &Config, clock: Arc<dyn Clock>) -> Result<RunningServer, StartError> {
    std::fs::create_dir_all(&config.data_dir).map_err(|source| StartError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;
    let demo = Arc::new(Demo::new(config.demo_large));
    let path = config.database_path();
    let now = clock.now();
    let seed_demo = Arc::clone(&demo);
    let store: Arc<dyn Store> = tokio::task::spawn_blocking(move || {
        let store = SqliteStore::open(&path)?;
        seed::ensure(&store, &seed_demo, now)?;
        store.expire_holds(now)?;
        Ok::<_, StoreError>(Arc::new(store))
    })
    .await
    .map_err(|e| StartError::Task(e.to_string()))??;

    let hash_key =
        HashKey::load_or_create(&config.data_dir).map_err(|source| StartError::DataDir {
            path: config.data_dir.join(rules::KEY_FILE),
            source,
        })?;
    let ledger = Ledger::open(&config.ledger_origin, &config.data_dir).map_err(|source| {
        StartError::DataDir {
            path: config.data_dir.join(ledger::KEY_FILE),
            source,
        }
    })?;
    let state = AppState {
        store,
        clock,
        faults: Arc::new(Faults::new(config.faults.clone())),
        settings: Arc::new(Settings {
            hold_ttl: Duration::seconds(i64::from(config.hold_seconds)),
            cancel_cutoff: Duration::minutes(i64::from(config.cancel_cutoff_minutes)),
            fault_control: config.fault_control,
            policy: Policy::from(&config.rules),
        }),
        hash_key: Arc::new(hash_key),
        ledger: Arc::new(ledger),
    };
    let limits = Arc::new(Limits::new(&config.guard));
    let options = AppOptions {
        static_dir: config.static_dir.clone(),
        cors_origins: config.cors_origins.clone(),
        log_requests: !config.quiet,
        limits: Arc::clone(&limits),
        guard: config.guard.clone(),
        fhir_upstream: config
            .fhir_upstream
            .as_deref()
            .map(|url| Upstream::new(url, config.fhir_token.as_deref()))
            .transpose()?,
    };
    let router = app(state.clone(), &options)?;
    let listener =
        TcpListener::bind(&config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen.clone(),
                source,
            })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen {
        addr: config.listen.clone(),
        source,
    })?;
    let (stop, stopped) = watch::channel(false);
    let accept = tokio::spawn(accept_loop(
        listener,
        router,
        stopped,
        Admission::new(&config.guard, Arc::clone(&limits)),
    ));
    let sweep = tokio::spawn(sweep_loop(
        state.clone(),
        demo,
        hospital_today(now, seed::UTC_OFFSET_MINUTES),
        limits,
    ));
    Ok(RunningServer {
        addr,
        state,
        stop,
        accept,
        sweep,
    })
}

/// Runs until Ctrl-C or SIGTERM, announcing the address on stdout; or runs a one-off command.
pub async fn run(config: Config) -> Result<(), StartError> {
    if let Some(Command::Headers {
        config: file,
        index,
    }) = &config.command
    {
        let read = |path: &PathBuf| {
            std::fs::read_to_string(path).map_err(|source| StartError::Read {
                path: path.clone(),
                source,
            })
        };
        let config_json = read(file)?;
        if let Err(errors) = fairslot_core::config::parse(&config_json) {
            return Err(StartError::Config(
                errors
                    .iter()
                    .map(|e| e.field.clone())
                    .collect::<Vec<_>>()
                    .join(", "),
            ));
        }
        let headers = headers::page_headers(Some(&config_json), &read(index)?, &config.guard);
        print!("{}", headers::nginx_snippet(&headers));
        return Ok(());
    }
    let server = start(&config, Arc::new(crate::clock::SystemClock)).await?;
    println!("Fairslot reference API listening on http://{}", server.addr);
    shutdown_signal().await;
    eprintln!("shutting down");
    server.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

/// The response was deliberately withheld; hyper closes the connection on a service error.
#[derive(Debug, thiserror::Error)]
#[error("response dropped after commit (fault injection)")]
struct ResponseDropped;

/// Who gets a connection: a cap in all (more wait in the listen queue) and one per address that
/// is not a trusted proxy (more are closed at once).
struct Admission {
    total: Arc<Semaphore>,
    per_address: Arc<Connections>,
    max_per_address: u32,
    limits: Arc<Limits>,
    request_timeout: StdDuration,
}

impl Admission {
    fn new(guard: &Guard, limits: Arc<Limits>) -> Self {
        Self {
            total: Arc::new(Semaphore::new(guard.max_connections as usize)),
            per_address: Arc::new(Connections::default()),
            max_per_address: guard.max_connections_per_ip,
            limits,
            request_timeout: guard::request_timeout(guard),
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    app: Router,
    mut stopped: watch::Receiver<bool>,
    admission: Admission,
) {
    let graceful = GracefulShutdown::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&admission.total).acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            _ = stopped.changed() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    eprintln!("accept failed: {e}");
                    tokio::time::sleep(StdDuration::from_millis(100)).await;
                    continue;
                }
            },
            _ = stopped.changed() => break,
        };
        let slot = if admission.limits.is_trusted(peer.ip()) {
            None
        } else {
            match admission
                .per_address
                .open(guard::limit_key(peer.ip()), admission.max_per_address)
            {
                Some(slot) => Some(slot),
                // Over its address's connections: closed before a byte is read.
                None => continue,
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let deadline = admission.request_timeout;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let app = app.clone();
            request.extensions_mut().insert(Peer(peer));
            async move {
                let response = match read_body(request, deadline).await {
                    Ok(request) => {
                        let Ok::<_, Infallible>(response) = app.oneshot(request).await;
                        response
                    }
                    Err(refusal) => refusal,
                };
                if response.extensions().get::<DropConnection>().is_some() {
                    Err(ResponseDropped)
                } else {
                    Ok(response)
                }
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(deadline.min(HEADER_READ_TIMEOUT))
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop((permit, slot));
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN_FOR, graceful.shutdown()).await;
}

/// The request with its body read in full, within the deadline: a client that sends its body a
/// byte a minute holds nothing for long. Only arriving has a deadline, never the work a request
/// asks for, so a 408 always means nothing was done. A body over the API's limit is refused here
/// too, before it is all read.
async fn read_body(
    request: hyper::Request<Incoming>,
    deadline: StdDuration,
) -> Result<Request, Response> {
    let (parts, body) = request.into_parts();
    let limited = Limited::new(body, MAX_BODY_BYTES);
    match tokio::time::timeout(deadline, limited.collect()).await {
        Ok(Ok(collected)) => Ok(Request::from_parts(
            parts,
            axum::body::Body::from(collected.to_bytes()),
        )),
        Ok(Err(e)) if e.is::<LengthLimitError>() => Err(ApiError::new(
            ProblemKind::PayloadTooLarge,
            format!("The body may be at most {MAX_BODY_BYTES} bytes."),
        )
        .into_response()),
        Ok(Err(_)) => Err(ApiError::new(
            ProblemKind::Validation,
            "The request body could not be read.",
        )
        .into_response()),
        Err(_) => {
            let mut response = ApiError::new(
                ProblemKind::RequestTimeout,
                "The request did not arrive in full in time; nothing was done.",
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            Err(response)
        }
    }
}

/// Returns the places of expired holds and, when the calendar day changes, extends the schedule
/// window so today and the next days always exist.
async fn sweep_loop(
    state: AppState,
    demo: Arc<Demo>,
    mut scheduled_for: NaiveDate,
    limits: Arc<Limits>,
) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        limits.forget_idle();
        let now = state.clock.now();
        let today = hospital_today(now, seed::UTC_OFFSET_MINUTES);
        let extend = today != scheduled_for;
        let demo = Arc::clone(&demo);
        let result = state
            .with_store(move |s| {
                s.expire_holds(now)?;
                if extend {
                    seed::ensure(s, &demo, now)?;
                }
                Ok(())
            })
            .await;
        match result {
            Ok(()) => scheduled_for = today,
            Err(e) => eprintln!("sweep failed: {}", e.detail.unwrap_or_default()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fairslot_core::{CHANNEL_HEADER, IDEMPOTENCY_HEADER};

    #[test]
    fn cors_header_names_are_the_contract_headers() {
        assert_eq!(
            IDEMPOTENCY_HEADER_NAME.as_str(),
            IDEMPOTENCY_HEADER.to_ascii_lowercase()
        );
        assert_eq!(
            CHANNEL_HEADER_NAME.as_str(),
            CHANNEL_HEADER.to_ascii_lowercase()
        );
    }

    #[test]
    fn cors_is_off_without_origins_and_refuses_malformed_ones() {
        assert!(cors_layer(&[]).unwrap().is_none());
        assert!(cors_layer(&[" ".into()]).unwrap().is_none());
        assert!(cors_layer(&["https://a.example".into()]).unwrap().is_some());
        assert!(cors_layer(&["bad\norigin".into()]).is_err());
    }
}
