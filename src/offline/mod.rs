//! The offline runtime: a booking the patient confirmed waits in a durable outbox on the device
//! and is sent, retried and settled there, whatever the network or the page does meanwhile.
//!
//! The rules live in `fairslot_core::outbox` (the state machine) and `fairslot_core::retry`; this
//! module only stores intents ([`store`]), lets one tab send ([`lock`]), performs the exchanges
//! the machine asks for, and publishes every change to the views and to the device's other tabs.

mod lock;
pub mod reads;
mod store;

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};
use fairslot_core::history::BookingRecord;
use fairslot_core::outbox::{Action, Intent, Outcome, State};
use fairslot_core::retry::RetryAfter;
use fairslot_core::{Booking, Problem};
use futures::StreamExt;
use futures::channel::mpsc;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::api::{Api, ApiError, KeyedAnswer};
use crate::booking::Draft;
use crate::browser;
use crate::parts::PartMissing;
use store::Store;

/// Settled intents nobody dismissed are forgotten after this long; they hold no identity.
const KEEP_SETTLED: TimeDelta = TimeDelta::days(7);
/// Longest sleep between passes, so a missed wake-up costs a minute at most.
const MAX_SLEEP_MS: i64 = 60_000;
const CHANNEL_NAME: &str = "fairslot-outbox";

/// The outbox as views see it. Cheap to copy; provided once by the shell.
#[derive(Clone, Copy)]
pub struct Outbox {
    /// Every intent on this device, oldest first, as last read from the store.
    pub intents: RwSignal<Vec<Intent>>,
    /// Whether the store has been read once.
    pub ready: RwSignal<bool>,
    /// Whether intents survive the page (IndexedDB) or live in this page's memory only.
    pub durable: RwSignal<bool>,
    /// The intent the current page shows in full, which the banner then leaves out.
    pub shown_here: RwSignal<Option<String>>,
    /// How old the browse data on screen is, when it came from the device's cache.
    pub staleness: RwSignal<reads::Staleness>,
    /// Whether the runtime's part could not be fetched yet (it is tried again every few seconds).
    pub part_missing: RwSignal<bool>,
    /// Whether the hospital list, the first screen, has its answer (or was passed by): what is
    /// fetched in the background waits for it rather than compete with it on a slow network.
    pub first_screen_done: RwSignal<bool>,
    /// The runtime, once its part has arrived. A signal so the banner follows it.
    engine: RwSignal<Option<Rc<dyn Engine>>, LocalStorage>,
}

/// A future of this page's thread (browser futures are not `Send`).
type LocalFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + 'a>>;

/// What the views ask of the outbox. Implemented by the runtime, which lives in a part of its
/// own (see `crate::parts`): the first screen does not wait for the code that stores, sends and
/// settles bookings, and a page calls it through this trait once it has arrived.
trait Engine {
    fn submit(&self, intent: Intent) -> LocalFuture<'_, Result<(), store::StoreError>>;
    fn check_again(&self, key: String) -> LocalFuture<'_, Result<bool, ApiError>>;
    fn change(self: Rc<Self>, key: String, f: fn(&mut Intent, DateTime<Utc>) -> bool);
    fn dismiss(self: Rc<Self>, key: String);
    /// The banner of bookings on their way: its views come with the runtime, the only one that
    /// knows of them, rather than with every first screen.
    fn banner(&self) -> AnyView;
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Runtime {
    store: Rc<Store>,
    api: Api,
    draft: Draft,
    intents: RwSignal<Vec<Intent>>,
    wake: mpsc::UnboundedSender<()>,
    channel: Option<web_sys::BroadcastChannel>,
    /// Whether this tab runs the sending loop.
    sending: std::cell::Cell<bool>,
    /// Settled intents whose fate this runner already asked the server about.
    checked: RefCell<Vec<String>>,
    /// Event listeners, kept alive with the runtime.
    _listeners: RefCell<Vec<Listener>>,
}

/// Starts the outbox for this page. `memory_only` keeps intents out of the device's storage
/// (kiosk mode: the next person at the screen must find nothing).
pub fn provide_outbox(api: Api, draft: Draft, memory_only: bool) -> Outbox {
    let outbox = Outbox {
        intents: RwSignal::new(Vec::new()),
        ready: RwSignal::new(false),
        durable: RwSignal::new(!memory_only),
        shown_here: RwSignal::new(None),
        staleness: RwSignal::new(reads::Staleness::default()),
        part_missing: RwSignal::new(false),
        first_screen_done: RwSignal::new(false),
        engine: RwSignal::new_local(None),
    };
    let revision = RwSignal::new(0);
    provide_context(outbox);
    spawn_local(async move {
        let store = if memory_only {
            Store::memory()
        } else {
            Store::open_durable().await.unwrap_or_else(Store::memory)
        };
        outbox.durable.set(store.is_durable());
        let store = Rc::new(store);
        reads::install(Rc::clone(&store), api.clone(), revision, outbox.staleness);
        // Opened on the hospital list, the runtime's part is fetched once the list is up and the
        // browser is idle, so it never competes with the list for a slow network. Opened anywhere
        // else (a booking page reloaded, a shared link to a booking) that page needs the runtime
        // to know what is on its way: fetched at once.
        if browser::pathname() == "/" {
            // By the clock, not by turns: a tab in the background gets its timers late.
            let until = browser::monotonic_ms() + FIRST_SCREEN_WAIT_MS;
            while !outbox.first_screen_done.try_get_untracked().unwrap_or(true)
                && browser::monotonic_ms() < until
            {
                browser::sleep(FIRST_SCREEN_POLL_MS).await;
            }
            browser::idle(START_WITHIN_MS).await;
        }
        // The adapter's part too, meanwhile: the next page then waits for nothing but its own.
        let adapter = api.clone();
        spawn_local(async move {
            let _ = adapter.prepare().await;
        });
        loop {
            let started = start_runtime(Rc::clone(&store), api.clone(), draft, outbox).await;
            match started {
                Ok(engine) => {
                    outbox.engine.set(Some(engine));
                    outbox.part_missing.set(false);
                    break;
                }
                Err(PartMissing) => {
                    outbox.part_missing.set(true);
                    browser::sleep(PART_RETRY_MS).await;
                }
            }
        }
    });
    outbox
}

/// How long to wait before fetching the runtime's part again after it could not be fetched.
const PART_RETRY_MS: i32 = 5_000;
/// On the hospital list, the runtime's part waits this long at most for the list's answer...
const FIRST_SCREEN_WAIT_MS: f64 = 5_000.0;
const FIRST_SCREEN_POLL_MS: i32 = 50;
/// ...and then for the browser to be idle, this long at most.
const START_WITHIN_MS: u32 = 1_000;
/// How long a booking being confirmed waits for the runtime's part before it is refused as "not
/// stored": several fetch attempts.
const WAIT_FOR_ENGINE_MS: i32 = 20_000;

/// Builds the runtime and starts it: reads the store, listens, and sends from the one tab that
/// holds the outbox lock.
#[leptos::wasm_split::wasm_split(outbox, wasm_split_path = ::leptos::wasm_split, fallible)]
fn start_runtime(
    store: Rc<Store>,
    api: Api,
    draft: Draft,
    outbox: Outbox,
) -> Result<Rc<dyn Engine>, PartMissing> {
    let (wake, wake_rx) = mpsc::unbounded();
    let channel = web_sys::BroadcastChannel::new(CHANNEL_NAME).ok();
    let runtime = Rc::new(Runtime {
        store,
        api,
        draft,
        intents: outbox.intents,
        wake,
        channel,
        sending: std::cell::Cell::new(false),
        checked: RefCell::new(Vec::new()),
        _listeners: RefCell::new(Vec::new()),
    });
    let started = Rc::clone(&runtime);
    spawn_local(async move {
        started.refresh().await;
        outbox.ready.set(true);
        started.listen();
        let sender = Rc::clone(&started);
        let run = move || spawn_local(sender.run(wake_rx));
        if started.store.is_durable() {
            lock::when_sender(run);
        } else {
            // Intents in this page's memory can only be sent by this page.
            run();
        }
    });
    Ok(runtime)
}

pub fn use_outbox() -> Outbox {
    expect_context::<Outbox>()
}

impl Outbox {
    /// The intent stored under `key`, as last published.
    pub fn find(&self, key: &str) -> Option<Intent> {
        self.intents
            .with(|list| list.iter().find(|i| i.key().as_str() == key).cloned())
    }

    /// Stores a new intent, then sends it. The write completes before anything goes out, so a
    /// booking the server may have made is always on the device.
    pub async fn submit(&self, intent: Intent) -> Result<(), store::StoreError> {
        let Some(engine) = self.engine().await else {
            return Err(store::StoreError::not_ready());
        };
        engine.submit(intent).await
    }

    /// The runtime, waiting a while for its part if it has not arrived yet.
    async fn engine(&self) -> Option<Rc<dyn Engine>> {
        const STEP_MS: i32 = 100;
        for _ in 0..WAIT_FOR_ENGINE_MS / STEP_MS {
            if let Some(engine) = self.engine.get_untracked() {
                return Some(engine);
            }
            browser::sleep(STEP_MS).await;
        }
        self.engine.get_untracked()
    }

    /// The patient chose to keep trying after retries ran out.
    pub fn keep_trying(self, key: String) {
        self.change(key, |i, now| i.keep_trying(now).is_ok());
    }

    /// The patient gave up; the request and its identity are deleted at once.
    pub fn give_up(self, key: String) {
        self.change(key, |i, now| i.give_up(now).is_ok());
    }

    /// Try now rather than at the scheduled time (the server's `Retry-After` still stands).
    pub fn try_now(self, key: String) {
        self.change(key, |i, now| i.on_focus(now).is_ok());
    }

    /// Asks the server once more about a request whose fate is unknown (abandoned or expired
    /// after it went out). Resolves to whether a booking was found.
    pub async fn check_again(&self, key: String) -> Result<bool, ApiError> {
        let Some(engine) = self.engine().await else {
            return Err(ApiError::Network);
        };
        engine.check_again(key).await
    }

    /// The banner of bookings on their way, once the runtime is there and has read the store.
    pub fn banner(&self) -> Option<AnyView> {
        if !self.ready.get() {
            return None;
        }
        self.engine.get().map(|engine| engine.banner())
    }

    /// Forgets a settled intent once the patient has seen how it ended.
    pub fn dismiss(self, key: String) {
        if let Some(engine) = self.engine.get_untracked() {
            engine.dismiss(key);
        }
    }

    /// Applies one of the patient's choices to the stored intent.
    fn change(self, key: String, f: fn(&mut Intent, DateTime<Utc>) -> bool) {
        if let Some(engine) = self.engine.get_untracked() {
            engine.change(key, f);
        }
    }
}

impl Engine for Runtime {
    fn submit(&self, intent: Intent) -> LocalFuture<'_, Result<(), store::StoreError>> {
        Box::pin(async move {
            self.store
                .put(intent.key().as_str(), &intent.to_json())
                .await?;
            self.published().await;
            Ok(())
        })
    }

    fn check_again(&self, key: String) -> LocalFuture<'_, Result<bool, ApiError>> {
        Box::pin(async move {
            // Asked after the intent settled: its request, and the proof in it, are gone.
            match self.api.booking_by_key(&key, None).await {
                Ok(found) => {
                    self.settle_booked(&key, found).await;
                    Ok(true)
                }
                Err(ApiError::Problem(p)) if p.status == 404 => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    /// A plain function pointer keeps one copy of this in the download for all the choices.
    fn change(self: Rc<Self>, key: String, f: fn(&mut Intent, DateTime<Utc>) -> bool) {
        spawn_local(async move {
            let now = browser::now_utc();
            apply(&self.store, &key, Box::new(|i| f(i, now))).await;
            self.published().await;
        });
    }

    fn dismiss(self: Rc<Self>, key: String) {
        spawn_local(async move {
            let settled = self
                .store
                .get(&key)
                .await
                .ok()
                .flatten()
                .and_then(|json| Intent::from_json(&json).ok())
                .is_none_or(|i| i.is_settled());
            if settled {
                let _ = self.store.delete(&key).await;
                self.published().await;
            }
        });
    }

    fn banner(&self) -> AnyView {
        view! { <crate::components::OutboxBanner /> }.into_any()
    }
}

impl Runtime {
    /// Re-reads the store into the views' signal. Long-settled ones are forgotten. A record this
    /// version cannot read may be another version's pending booking, which that version's tab
    /// will settle: it is left alone only as long as a pending booking may be kept, since it
    /// holds the patient's identity (see [`Intent::forget_unreadable`]).
    async fn refresh(&self) {
        let Ok(records) = self.store.all().await else {
            return;
        };
        let now = browser::now_utc();
        let mut intents = Vec::with_capacity(records.len());
        for (key, json) in records {
            match Intent::from_json(&json) {
                Ok(i) if i.is_settled() && now - i.created_at() > KEEP_SETTLED => {
                    let _ = self.store.delete(&key).await;
                }
                Ok(i) => intents.push(i),
                Err(_) if Intent::forget_unreadable(&json, now) => {
                    let _ = self.store.delete(&key).await;
                }
                Err(_) => {}
            }
        }
        intents.sort_by_key(|i| i.created_at());
        if self.intents.with_untracked(|old| *old != intents) {
            self.intents.set(intents);
        }
    }

    /// After this tab changed the store: update the views, tell the other tabs, wake the sender.
    async fn published(&self) {
        self.refresh().await;
        if let Some(c) = &self.channel {
            let _ = c.post_message(&wasm_bindgen::JsValue::from_str("changed"));
        }
        self.wake_sender();
    }

    /// Other tabs' changes, the network coming back and the patient returning to the page.
    fn listen(self: &Rc<Self>) {
        let Some(window) = web_sys::window() else {
            return;
        };
        let mut listeners = self._listeners.borrow_mut();
        if let Some(channel) = &self.channel {
            let rt = Rc::clone(self);
            let on_message = Listener::new(move |_| {
                let rt = Rc::clone(&rt);
                spawn_local(async move {
                    rt.refresh().await;
                    rt.wake_sender();
                });
            });
            let _ = channel
                .add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref());
            listeners.push(on_message);
        }
        for (target, event) in [
            (
                window.unchecked_ref::<web_sys::EventTarget>().clone(),
                "online",
            ),
            (
                window.unchecked_ref::<web_sys::EventTarget>().clone(),
                "focus",
            ),
        ] {
            let rt = Rc::clone(self);
            let online = event == "online";
            let on_event = Listener::new(move |_| {
                if online {
                    reads::on_online();
                }
                let rt = Rc::clone(&rt);
                spawn_local(async move { rt.wake_all(online).await });
            });
            let _ =
                target.add_event_listener_with_callback(event, on_event.as_ref().unchecked_ref());
            listeners.push(on_event);
        }
    }

    /// Makes every queued intent due now (as far as the server's `Retry-After` allows).
    async fn wake_all(&self, online: bool) {
        let now = browser::now_utc();
        let keys: Vec<String> = self.intents.with_untracked(|list| {
            list.iter()
                .filter(|i| matches!(i.state(), State::Queued { .. }))
                .map(|i| i.key().as_str().to_string())
                .collect()
        });
        if keys.is_empty() {
            return;
        }
        for key in keys {
            let wake = move |i: &mut Intent| {
                let woke = if online {
                    i.on_online(now)
                } else {
                    i.on_focus(now)
                };
                woke.is_ok()
            };
            apply(&self.store, &key, Box::new(wake)).await;
        }
        self.published().await;
    }

    /// Wakes this tab's sending loop, if this tab is the sender; other tabs have nobody to wake.
    fn wake_sender(&self) {
        if self.sending.get() {
            let _ = self.wake.unbounded_send(());
        }
    }

    /// The sending loop of the one tab that holds the outbox lock.
    async fn run(self: Rc<Self>, mut wake: mpsc::UnboundedReceiver<()>) {
        self.sending.set(true);
        // Whatever was in flight died with the page that sent it.
        let now = browser::now_utc();
        for (key, _) in self.store.all().await.unwrap_or_default() {
            apply(&self.store, &key, Box::new(|i| i.on_reload(now).is_ok())).await;
        }
        self.refresh().await;
        loop {
            let until = self.pass().await;
            let ms = until.map_or(MAX_SLEEP_MS, |u| {
                (u - browser::now_utc())
                    .num_milliseconds()
                    .clamp(0, MAX_SLEEP_MS)
            });
            if ms > 0 {
                let sleep = Box::pin(browser::sleep(ms as i32));
                futures::future::select(sleep, wake.next()).await;
            }
            // Several wake-ups while busy count as one.
            while wake.try_recv().is_ok() {}
        }
    }

    /// Drives every pending intent as far as it goes now; returns when the next one is due.
    async fn pass(&self) -> Option<DateTime<Utc>> {
        let keys: Vec<String> = self
            .store
            .all()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        let mut earliest: Option<DateTime<Utc>> = None;
        for key in keys {
            // A send, a lost answer, a question by key and a resend is four exchanges; more in
            // one pass would mean a server answering instantly and uselessly, so rest instead.
            for _ in 0..6 {
                match self.step(&key).await {
                    Next::Again => continue,
                    Next::WaitUntil(until) => {
                        earliest = Some(earliest.map_or(until, |e| e.min(until)));
                        break;
                    }
                    Next::Done => break,
                }
            }
            self.check_if_maybe_booked(&key).await;
        }
        earliest
    }

    /// A request went out for an intent that then ended without an answer (the patient gave
    /// up, or it waited too long): ask once whether it booked, so the patient is not left to
    /// book again on a guess.
    async fn check_if_maybe_booked(&self, key: &str) {
        if self.checked.borrow().iter().any(|k| k == key) {
            return;
        }
        let Ok(Some(json)) = self.store.get(key).await else {
            return;
        };
        let maybe_booked = Intent::from_json(&json).is_ok_and(|i| {
            matches!(
                i.state(),
                State::Abandoned { maybe_booked: true }
                    | State::Expired {
                        maybe_booked: true,
                        ..
                    }
            )
        });
        if !maybe_booked {
            return;
        }
        // Found nothing, or could not ask: the status says so and offers to check again.
        if let Ok(found) = self.api.booking_by_key(key, None).await {
            self.settle_booked(key, found).await;
        }
        self.checked.borrow_mut().push(key.to_string());
    }

    /// Polls one intent and performs the exchange it asks for.
    async fn step(&self, key: &str) -> Next {
        let now = browser::now_utc();
        let mut action = None;
        let stored = self
            .store
            .update(
                key,
                Box::new(|json| {
                    let mut intent = Intent::from_json(json).ok()?;
                    let before = intent.clone();
                    // This runner is the only sender and has nothing in flight now: a "sending"
                    // record is one whose answer was never stored (a failed write, a crash).
                    if matches!(intent.state(), State::Sending { .. }) {
                        let _ = intent.on_reload(now);
                    }
                    action = intent.poll(now);
                    if matches!(action, Some(Action::Send { .. } | Action::AskByKey { .. })) {
                        // The store says "sending" before the request leaves: a reload in between
                        // then asks by key instead of assuming nothing went out.
                        intent.on_sent(now).ok()?;
                    }
                    (intent != before).then(|| intent.to_json())
                }),
            )
            .await;
        if stored.is_err() {
            // The store failed: sending now would leave a booking the device forgot it made.
            return Next::WaitUntil(now + TimeDelta::seconds(30));
        }
        let result = match action {
            None => return Next::Done,
            Some(Action::Wait { until }) => return Next::WaitUntil(until),
            Some(Action::Send { key, request }) => {
                self.published().await;
                let booked = self.api.book(request, key.as_str().to_string()).await;
                booked.map(|b| KeyedAnswer::Booking(Box::new(b)))
            }
            Some(Action::AskByKey {
                key,
                document_last4,
            }) => {
                self.published().await;
                self.api
                    .booking_by_key(key.as_str(), Some(&document_last4))
                    .await
            }
        };
        match result {
            Ok(found) => self.settle_booked(key, found).await,
            Err(e) => {
                let now = browser::now_utc();
                let outcome = outcome_of(Err(e), now);
                let jitter = js_sys::Math::random();
                let answer = |i: &mut Intent| i.on_outcome(outcome, now, jitter).is_ok();
                apply(&self.store, key, Box::new(answer)).await;
                self.published().await;
            }
        }
        Next::Again
    }

    /// A booking exists under `key`: record it on the device and settle the intent. Known by its
    /// code alone, it is recorded with the slot the patient confirmed: never lost, never booked
    /// twice for want of the rest.
    async fn settle_booked(&self, key: &str, found: KeyedAnswer) {
        let record = match found {
            KeyedAnswer::Booking(booking) => {
                // The masked patient is shown on this tab's ticket; it is never stored.
                let record = BookingRecord::from(&*booking);
                self.draft.last_booking.set(Some(*booking));
                record
            }
            KeyedAnswer::Code(keyed) => {
                let stored = self.store.get(key).await.ok().flatten();
                let Some(intent) = stored.and_then(|json| Intent::from_json(&json).ok()) else {
                    return;
                };
                BookingRecord {
                    code: keyed.code,
                    status: keyed.status,
                    slot: intent.slot().clone(),
                    cancel_deadline: None,
                }
            }
        };
        browser::remember_booking(record.clone());
        reads::forget_schedules();
        let now = browser::now_utc();
        let booked = |i: &mut Intent| {
            i.on_outcome(Outcome::Booked(Box::new(record)), now, 0.0)
                .is_ok()
        };
        apply(&self.store, key, Box::new(booked)).await;
        self.published().await;
    }
}

/// An event for one stored intent; `true` when it changed it (an ignored event does not).
type Event<'a> = Box<dyn FnOnce(&mut Intent) -> bool + 'a>;

/// Applies `event` to the intent stored under `key`, read and written in one transaction so no
/// other tab's change is overwritten. A record that cannot be read is left as it is.
async fn apply(store: &Store, key: &str, event: Event<'_>) {
    let _ = store
        .update(
            key,
            Box::new(|json| {
                let mut intent = Intent::from_json(json).ok()?;
                event(&mut intent).then(|| intent.to_json())
            }),
        )
        .await;
}

enum Next {
    Again,
    WaitUntil(DateTime<Utc>),
    Done,
}

/// What an adapter's answer means for an intent.
pub fn outcome_of(result: Result<Booking, ApiError>, received_at: DateTime<Utc>) -> Outcome {
    match result {
        Ok(booking) => Outcome::Booked(Box::new(BookingRecord::from(&booking))),
        Err(ApiError::Problem(p)) => Outcome::Refused(*p),
        // 408: the request did not arrive in full, so it was never acted on.
        Err(ApiError::Server {
            status,
            retry_after,
        }) if status >= 500 || status == 429 || status == 408 => Outcome::Transient {
            retry_after: retry_after.and_then(|v| RetryAfter::parse(&v, received_at).ok()),
        },
        Err(ApiError::Server { status: 404, .. }) => Outcome::NotFoundByKey,
        // A refusal without problem details: the machine asks the patient what to do.
        Err(ApiError::Server { status, .. }) => Outcome::Refused(Problem {
            type_uri: "about:blank".into(),
            title: String::new(),
            status,
            detail: None,
            errors: Vec::new(),
            alternatives: Vec::new(),
            ..Default::default()
        }),
        // Nothing went out: tried again later, with no need to ask the server about it.
        Err(ApiError::NotSent) => Outcome::Transient { retry_after: None },
        Err(ApiError::Timeout) => Outcome::TimedOut,
        Err(ApiError::Network | ApiError::BadData(_)) => Outcome::Lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// What an answer without problem details becomes, received at a fixed instant.
    fn server(status: u16, retry_after: Option<&str>) -> Outcome {
        let now = at("2026-11-22T08:00:00Z");
        let retry_after = retry_after.map(str::to_string);
        outcome_of(
            Err(ApiError::Server {
                status,
                retry_after,
            }),
            now,
        )
    }

    fn transient(retry_after: Option<RetryAfter>) -> Outcome {
        Outcome::Transient { retry_after }
    }

    #[test]
    fn outages_are_transient_and_keep_the_servers_retry_after_in_both_forms() {
        assert_eq!(
            server(503, Some("30")),
            transient(Some(RetryAfter::Seconds(30)))
        );
        assert_eq!(
            server(429, Some("Sun, 22 Nov 2026 08:05:00 GMT")),
            transient(Some(RetryAfter::Date(at("2026-11-22T08:05:00Z"))))
        );
        // A Retry-After that cannot be read falls back to the client's own backoff.
        assert_eq!(server(502, Some("soon")), transient(None));
        // A request that did not arrive in time was not acted on: tried again like an outage.
        assert_eq!(server(408, None), transient(None));
    }

    #[test]
    fn no_answer_is_never_taken_for_a_refusal() {
        let now = at("2026-11-22T08:00:00Z");
        assert_eq!(outcome_of(Err(ApiError::Timeout), now), Outcome::TimedOut);
        assert_eq!(outcome_of(Err(ApiError::Network), now), Outcome::Lost);
        assert_eq!(
            outcome_of(Err(ApiError::NotSent), now),
            Outcome::Transient { retry_after: None }
        );
        assert_eq!(
            outcome_of(Err(ApiError::BadData("<html>".into())), now),
            Outcome::Lost
        );
    }

    #[test]
    fn refusals_without_problem_details_are_passed_on_with_their_status() {
        match server(418, None) {
            Outcome::Refused(p) => assert_eq!((p.status, p.kind()), (418, None)),
            other => panic!("{other:?}"),
        }
        assert_eq!(server(404, None), Outcome::NotFoundByKey);
    }
}
