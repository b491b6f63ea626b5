//! Fault injection for tests: added latency, a share of 503s, bursts of 429/503 with
//! `Retry-After`, and bookings that commit but whose response never arrives.
//!
//! Off unless configured. Applies only under `/api/v1`, never to the health and fault-control
//! routes. Draws come from a seeded PRNG so a run is reproducible.
//!
//! Spec syntax, comma-separated (`off` or an empty string for none):
//!
//! | item | meaning |
//! |---|---|
//! | `latency=200ms` (`1s`, `1.5s`, bare numbers are ms) | every request waits this long first |
//! | `error_rate=0.3` | this share of requests fails with 503 `unavailable` |
//! | `burst=5:2` / `burst=5:2:503` | the next 5 requests fail with 429 (or 503) and `Retry-After: 2` |
//! | `drop_after_commit=1.0` | this share of newly created bookings is committed, then the connection closes without a response |
//! | `seed=42` | seed of the PRNG behind `error_rate` and `drop_after_commit` |

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use fairslot_core::{API_PREFIX, ProblemKind};

use crate::problem::ApiError;
use crate::random::SplitMix64;

/// Longest latency a spec may ask for, so a typo cannot hang a test run.
pub const MAX_LATENCY: Duration = Duration::from_secs(60);
const DEFAULT_SEED: u64 = 0x00FA_1751_0700;

/// A parsed fault spec.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultSpec {
    pub latency: Option<Duration>,
    pub error_rate: f64,
    pub burst: Option<Burst>,
    pub drop_after_commit: f64,
    pub seed: u64,
}

impl Default for FaultSpec {
    fn default() -> Self {
        Self {
            latency: None,
            error_rate: 0.0,
            burst: None,
            drop_after_commit: 0.0,
            seed: DEFAULT_SEED,
        }
    }
}

/// A run of refused requests with a `Retry-After`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Burst {
    pub count: u32,
    pub retry_after_secs: u32,
    /// 429 (`rate-limited`) or 503 (`unavailable`).
    pub status: u16,
}

impl FaultSpec {
    /// Whether this spec changes anything at all.
    pub fn is_active(&self) -> bool {
        self.latency.is_some()
            || self.error_rate > 0.0
            || self.burst.is_some()
            || self.drop_after_commit > 0.0
    }
}

/// Why a spec was refused; the message names the offending item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault spec item `{item}`: {reason}")]
pub struct SpecError {
    pub item: String,
    pub reason: &'static str,
}

impl FromStr for FaultSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = FaultSpec::default();
        let trimmed = s.trim();
        if trimmed.is_empty() || trimmed.eq_ignore_ascii_case("off") {
            return Ok(spec);
        }
        for item in trimmed.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let err = |reason| SpecError {
                item: item.chars().take(64).collect(),
                reason,
            };
            let (key, value) = item
                .split_once('=')
                .ok_or_else(|| err("expected key=value"))?;
            let value = value.trim();
            match key.trim() {
                "latency" => {
                    let latency =
                        parse_duration(value).ok_or_else(|| err("expected e.g. 200ms or 1.5s"))?;
                    if latency > MAX_LATENCY {
                        return Err(err("at most 60s"));
                    }
                    spec.latency = (!latency.is_zero()).then_some(latency);
                }
                "error_rate" => {
                    spec.error_rate =
                        parse_share(value).ok_or_else(|| err("expected a number from 0 to 1"))?
                }
                "drop_after_commit" => {
                    spec.drop_after_commit =
                        parse_share(value).ok_or_else(|| err("expected a number from 0 to 1"))?
                }
                "burst" => {
                    let mut parts = value.split(':');
                    let count = parts.next().and_then(|p| p.parse::<u32>().ok());
                    let retry = parts.next().and_then(|p| p.parse::<u32>().ok());
                    let status = match parts.next() {
                        None => Some(429),
                        Some("429") => Some(429),
                        Some("503") => Some(503),
                        Some(_) => None,
                    };
                    match (count, retry, status, parts.next()) {
                        (Some(count), Some(retry_after_secs), Some(status), None)
                            if retry_after_secs <= 3600 =>
                        {
                            spec.burst = (count > 0).then_some(Burst {
                                count,
                                retry_after_secs,
                                status,
                            });
                        }
                        _ => return Err(err("expected COUNT:RETRY_AFTER_SECONDS[:429|503]")),
                    }
                }
                "seed" => {
                    spec.seed = value
                        .parse()
                        .map_err(|_| err("expected an unsigned integer"))?
                }
                _ => {
                    return Err(err(
                        "unknown key; expected latency, error_rate, burst, drop_after_commit or seed",
                    ));
                }
            }
        }
        Ok(spec)
    }
}

impl fmt::Display for FaultSpec {
    /// The canonical spelling, which parses back to the same spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut items = Vec::new();
        if let Some(l) = self.latency {
            items.push(format!("latency={}ms", l.as_millis()));
        }
        if self.error_rate > 0.0 {
            items.push(format!("error_rate={}", self.error_rate));
        }
        if let Some(b) = self.burst {
            items.push(format!(
                "burst={}:{}:{}",
                b.count, b.retry_after_secs, b.status
            ));
        }
        if self.drop_after_commit > 0.0 {
            items.push(format!("drop_after_commit={}", self.drop_after_commit));
        }
        if items.is_empty() {
            return f.write_str("off");
        }
        items.push(format!("seed={}", self.seed));
        f.write_str(&items.join(","))
    }
}

fn parse_duration(s: &str) -> Option<Duration> {
    let (number, scale) = if let Some(ms) = s.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(secs) = s.strip_suffix('s') {
        (secs, 1.0)
    } else {
        (s, 0.001)
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0 && value * scale <= 1e6)
        .then(|| Duration::from_secs_f64(value * scale))
}

fn parse_share(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| (0.0..=1.0).contains(v))
}

/// The live fault state of a running server.
#[derive(Debug)]
pub struct Faults {
    spec: RwLock<FaultSpec>,
    burst_left: AtomicU32,
    rng: Mutex<SplitMix64>,
}

impl Faults {
    pub fn new(spec: Option<FaultSpec>) -> Self {
        let spec = spec.unwrap_or_default();
        Self {
            burst_left: AtomicU32::new(spec.burst.map_or(0, |b| b.count)),
            rng: Mutex::new(SplitMix64::new(spec.seed)),
            spec: RwLock::new(spec),
        }
    }

    /// Replaces the spec; a burst starts counting again and the PRNG restarts from its seed.
    pub fn set(&self, spec: FaultSpec) {
        let mut current = self.spec.write().unwrap_or_else(|e| e.into_inner());
        self.burst_left
            .store(spec.burst.map_or(0, |b| b.count), Ordering::SeqCst);
        *self.rng.lock().unwrap_or_else(|e| e.into_inner()) = SplitMix64::new(spec.seed);
        *current = spec;
    }

    pub fn current(&self) -> FaultSpec {
        self.spec.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn draw(&self, p: f64) -> bool {
        p > 0.0 && self.rng.lock().unwrap_or_else(|e| e.into_inner()).chance(p)
    }

    /// Takes one request out of the current burst, if any is left.
    fn take_burst(&self) -> bool {
        self.burst_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    }
}

/// Set by the booking handler on a response for a booking committed by that very request.
#[derive(Debug, Clone, Copy)]
pub struct FreshCommit;

/// Tells the connection layer to close the connection instead of sending this response.
#[derive(Debug, Clone, Copy)]
pub struct DropConnection;

/// Routes that stay reachable whatever the faults, so tests can always observe and switch them.
pub fn is_exempt(path: &str) -> bool {
    path.strip_prefix(API_PREFIX).is_some_and(|rest| {
        rest == "/health" || rest == "/_faults" || rest.starts_with("/_faults/")
    })
}

/// Middleware applying the current faults to an API request.
pub async fn inject(State(faults): State<Arc<Faults>>, request: Request, next: Next) -> Response {
    if is_exempt(request.uri().path()) {
        return next.run(request).await;
    }
    let spec = faults.current();
    if !spec.is_active() {
        return next.run(request).await;
    }
    if let Some(latency) = spec.latency {
        tokio::time::sleep(latency).await;
    }
    if let Some(burst) = spec.burst
        && faults.take_burst()
    {
        let error = if burst.status == 503 {
            ApiError::new(
                ProblemKind::Unavailable,
                "Injected fault: unavailable burst.",
            )
        } else {
            ApiError::new(
                ProblemKind::RateLimited,
                "Injected fault: rate-limit burst.",
            )
        };
        return error
            .with_retry_after(burst.retry_after_secs)
            .into_response();
    }
    if faults.draw(spec.error_rate) {
        return ApiError::new(ProblemKind::Unavailable, "Injected fault: random failure.")
            .into_response();
    }
    let mut response = next.run(request).await;
    if response.extensions().get::<FreshCommit>().is_some() && faults.draw(spec.drop_after_commit) {
        response.extensions_mut().insert(DropConnection);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_item_and_prints_it_back() {
        let spec: FaultSpec =
            "latency=200ms, error_rate=0.3,burst=5:2,drop_after_commit=1.0,seed=9"
                .parse()
                .unwrap();
        assert_eq!(spec.latency, Some(Duration::from_millis(200)));
        assert_eq!(spec.error_rate, 0.3);
        assert_eq!(
            spec.burst,
            Some(Burst {
                count: 5,
                retry_after_secs: 2,
                status: 429
            })
        );
        assert_eq!(spec.drop_after_commit, 1.0);
        assert_eq!(spec.seed, 9);
        assert_eq!(spec.to_string().parse::<FaultSpec>().unwrap(), spec);
        assert_eq!(
            "latency=1.5s".parse::<FaultSpec>().unwrap().latency,
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            "burst=3:1:503"
                .parse::<FaultSpec>()
                .unwrap()
                .burst
                .unwrap()
                .status,
            503
        );
    }

    #[test]
    fn off_and_empty_mean_no_faults() {
        for s in ["", "off", "  OFF "] {
            let spec: FaultSpec = s.parse().unwrap();
            assert!(!spec.is_active());
            assert_eq!(spec.to_string(), "off");
        }
    }

    #[test]
    fn refuses_what_it_does_not_understand() {
        for s in [
            "latency",
            "latency=fast",
            "latency=2h",
            "latency=120s",
            "error_rate=1.5",
            "error_rate=-0.1",
            "burst=5",
            "burst=5:2:500",
            "burst=a:b",
            "explode=1",
            "seed=-1",
        ] {
            assert!(s.parse::<FaultSpec>().is_err(), "{s}");
        }
    }

    #[test]
    fn bursts_run_out_and_restart_when_set_again() {
        let faults = Faults::new(Some("burst=2:1".parse().unwrap()));
        assert!(faults.take_burst());
        assert!(faults.take_burst());
        assert!(!faults.take_burst());
        faults.set("burst=1:1".parse().unwrap());
        assert!(faults.take_burst());
        assert!(!faults.take_burst());
    }

    #[test]
    fn exemptions_cover_health_and_control_only() {
        assert!(is_exempt("/api/v1/health"));
        assert!(is_exempt("/api/v1/_faults"));
        assert!(!is_exempt("/api/v1/hospitals"));
        assert!(!is_exempt("/api/v1/healthz"));
    }
}
