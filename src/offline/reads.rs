//! Stale-while-revalidate for what the patient browses: hospitals, department trees, doctors and
//! schedules. A page that was seen before shows at once from the device, with its age, and is
//! refreshed behind it; with no network it stays usable, marked as possibly outdated.
//!
//! Only those public reads are cached, by their API path. Bookings, holds and anything with
//! personal data never are, and booking always asks the server.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::store::Store;
use crate::api::Api;
use crate::browser;

/// An answer this young is shown as it is, without asking again.
const FRESH: TimeDelta = TimeDelta::seconds(15);
/// Larger answers (a big department's schedule) are not kept: the device's storage is shared.
const MAX_BYTES: usize = 1 << 20;

/// Whether a GET path is public, browse-only data that may be kept on the device.
pub fn cacheable(path: &str) -> bool {
    ["/hospitals", "/departments/", "/schedules?"]
        .iter()
        .any(|p| path.starts_with(p))
}

#[derive(Clone)]
struct Entry {
    body: String,
    at: DateTime<Utc>,
}

/// How the reads shown since the last navigation stand, for the notice above the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Staleness {
    /// The oldest cached answer on screen that has not been refreshed yet.
    pub as_of: Option<DateTime<Utc>>,
    /// The last refresh failed: the device is offline or the service is down.
    pub offline: bool,
}

struct Reads {
    store: Rc<Store>,
    api: Api,
    memory: RefCell<HashMap<String, Entry>>,
    /// Paths shown from the cache and not yet refreshed, with their age.
    stale: RefCell<HashMap<String, DateTime<Utc>>>,
    refreshing: RefCell<Vec<String>>,
    /// Bumped when a refresh brought new data: browse pages read it to load again.
    revision: RwSignal<u64>,
    staleness: RwSignal<Staleness>,
}

thread_local! {
    static READS: RefCell<Option<Rc<Reads>>> = const { RefCell::new(None) };
}

fn reads() -> Option<Rc<Reads>> {
    READS.with(|r| r.borrow().clone())
}

/// Turns the cache on, kept in `store` (the device's IndexedDB, or memory).
pub(super) fn install(
    store: Rc<Store>,
    api: Api,
    revision: RwSignal<u64>,
    staleness: RwSignal<Staleness>,
) {
    let reads = Rc::new(Reads {
        store,
        api,
        memory: RefCell::new(HashMap::new()),
        stale: RefCell::new(HashMap::new()),
        refreshing: RefCell::new(Vec::new()),
        revision,
        staleness,
    });
    READS.with(|r| *r.borrow_mut() = Some(reads));
}

/// Subscribes a browse page's loader to refreshes, so it shows new data when it arrives.
pub fn track() {
    if let Some(r) = reads() {
        r.revision.track();
    }
}

/// A new page: what was stale on the last one is not on screen any more.
pub fn on_navigate() {
    if let Some(r) = reads() {
        r.stale.borrow_mut().clear();
        r.publish(false);
    }
}

/// The network is back: refresh what is shown from the cache.
pub fn on_online() {
    if let Some(r) = reads() {
        let paths: Vec<String> = r.stale.borrow().keys().cloned().collect();
        for path in paths {
            r.refresh_later(path);
        }
    }
}

/// The cached answer for `path`, if any. Old answers are returned too, and a refresh is started
/// behind them.
pub async fn cached(path: &str) -> Option<String> {
    // The store opens while the first page starts loading; give it a moment rather than go to a
    // network that may not be there.
    let mut r = reads();
    for _ in 0..50 {
        if r.is_some() {
            break;
        }
        browser::sleep(20).await;
        r = reads();
    }
    let r = r?;
    let in_memory = r.memory.borrow().get(path).cloned();
    let entry = match in_memory {
        Some(e) => e,
        None => {
            let stored = r.store.get_read(path).await.ok().flatten()?;
            let entry = decode(&stored)?;
            r.memory
                .borrow_mut()
                .insert(path.to_string(), entry.clone());
            entry
        }
    };
    if browser::now_utc() - entry.at > FRESH {
        r.stale.borrow_mut().insert(path.to_string(), entry.at);
        r.publish(false);
        r.refresh_later(path.to_string());
    }
    Some(entry.body)
}

/// Keeps a fresh answer from the network. One too large to keep replaces nothing: the old one is
/// dropped, so it is not shown again as if it were the latest.
pub fn remember(path: &str, body: &str) {
    let Some(r) = reads() else {
        return;
    };
    if body.len() > MAX_BYTES {
        r.memory.borrow_mut().remove(path);
        let store = Rc::clone(&r.store);
        let path = path.to_string();
        spawn_local(async move {
            let _ = store.delete_read(&path).await;
        });
        return;
    }
    let entry = Entry {
        body: body.to_string(),
        at: browser::now_utc(),
    };
    r.memory
        .borrow_mut()
        .insert(path.to_string(), entry.clone());
    let store = Rc::clone(&r.store);
    let path = path.to_string();
    spawn_local(async move {
        let _ = store.put_read(&path, &encode(&entry)).await;
    });
}

/// A booking or a cancellation moved places: the schedules kept before it are no longer the
/// truth. They are dropped, so the next look asks the server. (Older ones, not loaded in this
/// session, are past their freshness and are refreshed when shown.)
pub fn forget_schedules() {
    let Some(r) = reads() else {
        return;
    };
    let keys: Vec<String> = r
        .memory
        .borrow()
        .keys()
        .filter(|k| k.contains("/schedules?"))
        .cloned()
        .collect();
    for key in keys {
        r.memory.borrow_mut().remove(&key);
        r.stale.borrow_mut().remove(&key);
        let store = Rc::clone(&r.store);
        spawn_local(async move {
            let _ = store.delete_read(&key).await;
        });
    }
    r.publish(false);
}

impl Reads {
    fn publish(&self, offline: bool) {
        let as_of = self.stale.borrow().values().min().copied();
        let next = Staleness {
            as_of,
            offline: offline && as_of.is_some(),
        };
        if self.staleness.get_untracked() != next {
            self.staleness.set(next);
        }
    }

    /// Asks the network for `path` again, once at a time per path.
    fn refresh_later(self: &Rc<Self>, path: String) {
        if self.refreshing.borrow().contains(&path) {
            return;
        }
        self.refreshing.borrow_mut().push(path.clone());
        let r = Rc::clone(self);
        spawn_local(async move {
            let fresh = r.api.read_raw(&path).await.ok();
            r.refreshing.borrow_mut().retain(|p| *p != path);
            // Only JSON is kept: a captive portal's "200 OK" page must not replace good data.
            let fresh =
                fresh.filter(|body| serde_json::from_str::<serde::de::IgnoredAny>(body).is_ok());
            match fresh {
                Some(body) => {
                    remember(&path, &body);
                    r.stale.borrow_mut().remove(&path);
                    r.publish(false);
                    r.revision.update(|v| *v += 1);
                }
                None => r.publish(true),
            }
        });
    }
}

/// `<RFC 3339 time>\n<body>`: the body is JSON, which has no bare line break before its end.
fn encode(entry: &Entry) -> String {
    format!("{}\n{}", entry.at.to_rfc3339(), entry.body)
}

fn decode(stored: &str) -> Option<Entry> {
    let (at, body) = stored.split_once('\n')?;
    let at = DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc);
    Some(Entry {
        body: body.to_string(),
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_browse_data_is_kept() {
        for path in [
            "/hospitals",
            "/hospitals/h1/departments",
            "/departments/h1-cardio/doctors",
            "/schedules?doctor=h1-cardio-1&from=2026-11-22&days=14",
        ] {
            assert!(cacheable(path), "{path}");
        }
        for path in [
            "/bookings/by-key/3b241101-e2bb-4255-8caf-4136c566a962",
            "/bookings/K7Q4M2XP/lookup",
            "/holds",
            "/channels/stats",
        ] {
            assert!(!cacheable(path), "{path}");
        }
    }

    #[test]
    fn stored_entries_read_back_and_junk_is_ignored() {
        let entry = Entry {
            body: "{\"items\":[]}".into(),
            at: "2026-11-22T08:00:00Z".parse().unwrap(),
        };
        let back = decode(&encode(&entry)).unwrap();
        assert_eq!((back.body, back.at), (entry.body, entry.at));
        assert!(decode("no line break").is_none());
        assert!(decode("yesterday\n{}").is_none());
    }
}
