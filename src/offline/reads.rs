//! Stale-while-revalidate for what the patient browses: hospitals, department trees, doctors and
//! schedules. A page that was seen before shows at once from the device, with its age, and is
//! refreshed behind it; with no network it stays usable, marked as possibly outdated.
//!
//! [`CachedApi`] wraps whichever adapter the deployment configured and is what views get as their
//! [`Api`]. Only the four browse reads of [`Read`] are kept, as the contract types the adapter
//! answered with. Bookings, holds and anything with personal data are passed straight through and
//! never kept, so booking always asks the server.
//!
//! ```ignore
//! let reads = Reads::new(api::from_config(&cfg), cfg.adapter);
//! provide_api(reads.api());
//! provide_reads(reads);
//! ```

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use fairslot_core::config::AdapterKind;
use fairslot_core::{
    Booking, BookingRequest, DepartmentTree, DoctorList, Hold, HospitalList, Schedule,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use serde::{Deserialize, Serialize};

use super::store::Store;
use crate::api::{Api, ApiError, ApiFuture, BookingApi, CodeAccess, KeyedAnswer, ScheduleTarget};
use crate::browser;

/// An answer this young is shown as it is, without asking again.
const FRESH: TimeDelta = TimeDelta::seconds(15);
/// Larger answers (a big department's schedule) are not kept: the device's storage is shared.
const MAX_BYTES: usize = 1 << 20;

/// A public browse read: the only kind of request whose answer is kept on the device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Read {
    Hospitals,
    /// A hospital's department tree, by hospital id.
    Departments(String),
    /// A department's doctors, by department id.
    Doctors(String),
    Schedule {
        target: ScheduleTarget,
        from: NaiveDate,
        days: u32,
    },
}

/// What a [`Read`] answered, as the adapter gave it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Answer {
    Hospitals(HospitalList),
    Departments(DepartmentTree),
    Doctors(DoctorList),
    Schedule(Schedule),
}

impl Read {
    /// Asks the adapter, never the device.
    async fn fetch(&self, api: &dyn BookingApi) -> Result<Answer, ApiError> {
        Ok(match self {
            Self::Hospitals => Answer::Hospitals(api.hospitals().await?),
            Self::Departments(id) => Answer::Departments(api.departments(id).await?),
            Self::Doctors(id) => Answer::Doctors(api.doctors(id).await?),
            Self::Schedule { target, from, days } => {
                Answer::Schedule(api.schedule(target.clone(), *from, *days).await?)
            }
        })
    }

    /// The key of its answer in the device's store. Each backend has its own, so a deployment
    /// that changes backend never shows the other one's answers.
    fn store_key(&self, scope: &str) -> Option<String> {
        serde_json::to_string(self)
            .ok()
            .map(|read| format!("{scope}:{read}"))
    }
}

/// A kept answer and when it came from the network.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    at: DateTime<Utc>,
    answer: Answer,
}

impl Entry {
    /// Whether this is an answer to `read`, not something else stored under its key.
    fn answers(&self, read: &Read) -> bool {
        matches!(
            (read, &self.answer),
            (Read::Hospitals, Answer::Hospitals(_))
                | (Read::Departments(_), Answer::Departments(_))
                | (Read::Doctors(_), Answer::Doctors(_))
                | (Read::Schedule { .. }, Answer::Schedule(_))
        )
    }
}

/// How the reads shown since the last navigation stand, for the notice above the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Staleness {
    /// The oldest cached answer on screen that has not been refreshed yet.
    pub as_of: Option<DateTime<Utc>>,
    /// The last refresh failed: the device is offline or the service is down.
    pub offline: bool,
}

struct State {
    inner: Api,
    scope: &'static str,
    /// The device's store, once it is open (the outbox opens it).
    store: RefCell<Option<Rc<Store>>>,
    memory: RefCell<HashMap<Read, Entry>>,
    /// Reads shown from the cache and not yet refreshed, with their age.
    stale: RefCell<HashMap<Read, DateTime<Utc>>>,
    refreshing: RefCell<HashSet<Read>>,
    /// Bumped when a refresh brought new data: browse pages read it to load again.
    revision: RwSignal<u64>,
    staleness: RwSignal<Staleness>,
}

/// The read cache as views and the outbox runtime see it. Cheap to clone; provided once by the
/// shell. Lives on the page's thread only (browser futures are not `Send`).
#[derive(Clone)]
pub struct Reads(SendWrapper<Rc<State>>);

/// The adapter with its browse reads served from the device when it has them.
pub struct CachedApi(Reads);

impl Reads {
    /// A cache in front of `inner`, kept in memory until [`Reads::keep_in`] gives it a store.
    pub fn new(inner: Api, adapter: AdapterKind) -> Self {
        let scope = match adapter {
            AdapterKind::Native => "native",
            AdapterKind::Fhir => "fhir",
        };
        Self(SendWrapper::new(Rc::new(State {
            inner,
            scope,
            store: RefCell::new(None),
            memory: RefCell::new(HashMap::new()),
            stale: RefCell::new(HashMap::new()),
            refreshing: RefCell::new(HashSet::new()),
            revision: RwSignal::new(0),
            staleness: RwSignal::new(Staleness::default()),
        })))
    }

    /// The API views are given: the adapter behind this cache.
    pub fn api(&self) -> Api {
        Arc::new(CachedApi(self.clone()))
    }

    /// Keeps answers in `store` (the device's IndexedDB, or memory), from now on.
    pub(super) fn keep_in(&self, store: Rc<Store>) {
        *self.0.store.borrow_mut() = Some(store);
    }

    /// How old the browse data on screen is, when it came from the device.
    pub fn staleness(&self) -> ReadSignal<Staleness> {
        self.0.staleness.read_only()
    }

    /// Subscribes a browse page's loader to refreshes, so it shows new data when it arrives.
    pub fn track(&self) {
        self.0.revision.track();
    }

    /// A new page: what was stale on the last one is not on screen any more.
    pub fn on_navigate(&self) {
        self.0.stale.borrow_mut().clear();
        self.publish(false);
    }

    /// The network is back: refresh what is shown from the cache.
    pub fn on_online(&self) {
        let reads: Vec<Read> = self.0.stale.borrow().keys().cloned().collect();
        for read in reads {
            self.refresh_later(read);
        }
    }

    /// A booking or a cancellation moved places: the schedules kept before it are no longer the
    /// truth. They are dropped, so the next look asks the server. (Older ones, not loaded in this
    /// session, are past their freshness and are refreshed when shown.)
    pub fn forget_schedules(&self) {
        let schedules: Vec<Read> = self
            .0
            .memory
            .borrow()
            .keys()
            .filter(|r| matches!(r, Read::Schedule { .. }))
            .cloned()
            .collect();
        for read in schedules {
            self.forget(&read);
            self.0.stale.borrow_mut().remove(&read);
        }
        self.publish(false);
    }

    /// The answer to `read`: from the device when it has one (an old one too, refreshed behind
    /// it), else from the network, kept for next time.
    async fn get(&self, read: Read) -> Result<Answer, ApiError> {
        if let Some(answer) = self.cached(&read).await {
            return Ok(answer);
        }
        let answer = read.fetch(&*self.0.inner).await?;
        self.remember(&read, answer.clone());
        Ok(answer)
    }

    async fn cached(&self, read: &Read) -> Option<Answer> {
        let in_memory = self.0.memory.borrow().get(read).cloned();
        let entry = match in_memory {
            Some(e) => e,
            None => {
                let stored = self.stored(read).await?;
                self.0
                    .memory
                    .borrow_mut()
                    .insert(read.clone(), stored.clone());
                stored
            }
        };
        if browser::now_utc() - entry.at > FRESH {
            self.0.stale.borrow_mut().insert(read.clone(), entry.at);
            self.publish(false);
            self.refresh_later(read.clone());
        }
        Some(entry.answer)
    }

    /// The answer to `read` in the device's store, if it holds one that reads as such.
    async fn stored(&self, read: &Read) -> Option<Entry> {
        // The store opens while the first page starts loading; give it a moment rather than go
        // to a network that may not be there.
        let mut store = self.store();
        for _ in 0..50 {
            if store.is_some() {
                break;
            }
            browser::sleep(20).await;
            store = self.store();
        }
        let key = read.store_key(self.0.scope)?;
        let json = store?.get_read(&key).await.ok().flatten()?;
        decode(&json).filter(|e| e.answers(read))
    }

    fn store(&self) -> Option<Rc<Store>> {
        self.0.store.borrow().clone()
    }

    /// Keeps a fresh answer from the network. One too large to keep replaces nothing: the old one
    /// is dropped, so it is not shown again as if it were the latest.
    fn remember(&self, read: &Read, answer: Answer) {
        let entry = Entry {
            at: browser::now_utc(),
            answer,
        };
        let Some(json) = encode(&entry) else {
            self.forget(read);
            return;
        };
        self.0.memory.borrow_mut().insert(read.clone(), entry);
        let (Some(store), Some(key)) = (self.store(), read.store_key(self.0.scope)) else {
            return;
        };
        spawn_local(async move {
            let _ = store.put_read(&key, &json).await;
        });
    }

    /// Drops what is kept for `read`, in memory and on the device.
    fn forget(&self, read: &Read) {
        self.0.memory.borrow_mut().remove(read);
        let (Some(store), Some(key)) = (self.store(), read.store_key(self.0.scope)) else {
            return;
        };
        spawn_local(async move {
            let _ = store.delete_read(&key).await;
        });
    }

    fn publish(&self, offline: bool) {
        let as_of = self.0.stale.borrow().values().min().copied();
        let next = Staleness {
            as_of,
            offline: offline && as_of.is_some(),
        };
        if self.0.staleness.get_untracked() != next {
            self.0.staleness.set(next);
        }
    }

    /// Asks the network for `read` again, once at a time per read. An answer that does not read
    /// as the contract promises (a captive portal's "200 OK" page) replaces nothing.
    fn refresh_later(&self, read: Read) {
        if !self.0.refreshing.borrow_mut().insert(read.clone()) {
            return;
        }
        let reads = self.clone();
        spawn_local(async move {
            let fresh = read.fetch(&*reads.0.inner).await;
            reads.0.refreshing.borrow_mut().remove(&read);
            match fresh {
                Ok(answer) => {
                    reads.remember(&read, answer);
                    reads.0.stale.borrow_mut().remove(&read);
                    reads.publish(false);
                    reads.0.revision.update(|v| *v += 1);
                }
                Err(_) => reads.publish(true),
            }
        });
    }
}

/// `<RFC 3339 time>\n<answer as JSON>`: the age reads without the answer, and JSON has no bare
/// line break. `None` when it is too large to keep.
fn encode(entry: &Entry) -> Option<String> {
    let answer = serde_json::to_string(&entry.answer).ok()?;
    let stored = format!("{}\n{answer}", entry.at.to_rfc3339());
    (stored.len() <= MAX_BYTES).then_some(stored)
}

fn decode(stored: &str) -> Option<Entry> {
    let (at, answer) = stored.split_once('\n')?;
    Some(Entry {
        at: DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
        answer: serde_json::from_str(answer).ok()?,
    })
}

pub fn provide_reads(reads: Reads) {
    provide_context(reads);
}

pub fn use_reads() -> Reads {
    expect_context::<Reads>()
}

impl CachedApi {
    /// The answer to `read`, of the kind it promised (the one kind [`Reads::get`] gives for it).
    fn read<T: 'static>(&self, read: Read, pick: fn(Answer) -> Option<T>) -> ApiFuture<'_, T> {
        Box::pin(async move {
            pick(self.0.get(read).await?)
                .ok_or_else(|| ApiError::BadData("a kept answer of another kind".into()))
        })
    }
}

impl BookingApi for CachedApi {
    fn code_access(&self) -> CodeAccess {
        self.0.0.inner.code_access()
    }
    fn holds(&self) -> bool {
        self.0.0.inner.holds()
    }
    fn takes_bookings(&self) -> ApiFuture<'_, bool> {
        self.0.0.inner.takes_bookings()
    }
    fn prepare(&self) -> ApiFuture<'_, ()> {
        self.0.0.inner.prepare()
    }
    fn hospitals(&self) -> ApiFuture<'_, HospitalList> {
        self.read(Read::Hospitals, |a| match a {
            Answer::Hospitals(v) => Some(v),
            _ => None,
        })
    }
    fn departments(&self, hospital_id: &str) -> ApiFuture<'_, DepartmentTree> {
        let read = Read::Departments(hospital_id.to_owned());
        self.read(read, |a| match a {
            Answer::Departments(v) => Some(v),
            _ => None,
        })
    }
    fn doctors(&self, department_id: &str) -> ApiFuture<'_, DoctorList> {
        let read = Read::Doctors(department_id.to_owned());
        self.read(read, |a| match a {
            Answer::Doctors(v) => Some(v),
            _ => None,
        })
    }
    fn schedule(
        &self,
        target: ScheduleTarget,
        from: NaiveDate,
        days: u32,
    ) -> ApiFuture<'_, Schedule> {
        let read = Read::Schedule { target, from, days };
        self.read(read, |a| match a {
            Answer::Schedule(v) => Some(v),
            _ => None,
        })
    }
    fn hold(&self, slot_id: &str) -> ApiFuture<'_, Hold> {
        self.0.0.inner.hold(slot_id)
    }
    fn release_hold(&self, hold_id: &str) -> ApiFuture<'_, ()> {
        self.0.0.inner.release_hold(hold_id)
    }
    fn book(&self, request: BookingRequest, idempotency_key: String) -> ApiFuture<'_, Booking> {
        self.0.0.inner.book(request, idempotency_key)
    }
    fn booking_by_key(
        &self,
        idempotency_key: &str,
        document_last4: Option<&str>,
    ) -> ApiFuture<'_, KeyedAnswer> {
        self.0
            .0
            .inner
            .booking_by_key(idempotency_key, document_last4)
    }
    fn lookup(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        self.0.0.inner.lookup(code, document_last4)
    }
    fn cancel(&self, code: &str, document_last4: &str) -> ApiFuture<'_, Booking> {
        self.0.0.inner.cancel(code, document_last4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 22).unwrap()
    }

    #[test]
    fn each_backend_keeps_its_own_answers() {
        let read = Read::Schedule {
            target: ScheduleTarget::Doctor("h1-cardio-1".into()),
            from: day(),
            days: 14,
        };
        let native = read.store_key("native").unwrap();
        let fhir = read.store_key("fhir").unwrap();
        assert_ne!(native, fhir);
        // Ids that look like paths or queries stay ids: nothing in them can name another read.
        let odd = Read::Departments("h1/../doctors?x=1".into());
        let key = odd.store_key("native").unwrap();
        let back: Read = serde_json::from_str(key.strip_prefix("native:").unwrap()).unwrap();
        assert_eq!(back, odd);
    }

    #[test]
    fn stored_entries_read_back_and_junk_is_ignored() {
        let entry = Entry {
            at: "2026-11-22T08:00:00Z".parse().unwrap(),
            answer: Answer::Hospitals(HospitalList { items: vec![] }),
        };
        let back = decode(&encode(&entry).unwrap()).unwrap();
        assert_eq!(back, entry);
        assert!(back.answers(&Read::Hospitals));
        assert!(!back.answers(&Read::Doctors("d".into())));
        // What an older version kept (a time, a line break, a native body) is not an answer.
        assert!(decode("2026-11-22T08:00:00+00:00\n{\"items\":[]}").is_none());
        assert!(decode("no line break").is_none());
        assert!(decode("yesterday\n{\"Hospitals\":{\"items\":[]}}").is_none());
    }
}
