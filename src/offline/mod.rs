//! The offline runtime: a booking the patient confirmed waits in a durable outbox on the device
//! and is sent, retried and settled there, whatever the network or the page does meanwhile.
//!
//! The rules live in `fairslot_core::outbox` (the state machine) and `fairslot_core::retry`; this
//! module only stores intents ([`store`]), lets one tab send ([`lock`]), performs the exchanges
//! the machine asks for, and publishes every change to the views and to the device's other tabs.

mod lock;
mod reads;
mod store;

use std::cell::RefCell;
use std::rc::Rc;

use chrono::{DateTime, TimeDelta, Utc};
use fairslot_core::history::BookingRecord;
use fairslot_core::outbox::{Action, Change, Failure, Found, Intent, Outcome, State};
use fairslot_core::sender::{Command, Event, Exchanged, MAX_SLEEP, Sender, StoreFailed};
use futures::StreamExt;
use futures::channel::mpsc;
use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::api::{Api, ApiError, KeyedAnswer};
use crate::booking::Draft;
use crate::browser;
use crate::browser::PartMissing;
pub use reads::{Reads, provide_reads, use_reads};
use store::Store;

/// Settled intents nobody dismissed are forgotten after this long; they hold no identity.
const KEEP_SETTLED: TimeDelta = TimeDelta::days(7);
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
    /// Whether the runtime's part could not be fetched yet (it is tried again every few seconds).
    pub part_missing: RwSignal<bool>,
    /// Whether the hospital list, the first screen, has its answer (or was passed by): what is
    /// fetched in the background waits for it rather than compete with it on a slow network.
    pub first_screen_done: RwSignal<bool>,
    /// The runtime, once its part has arrived.
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
    fn change(self: Rc<Self>, key: String, change: Change);
    fn dismiss(self: Rc<Self>, key: String);
}

type Listener = Closure<dyn FnMut(web_sys::Event)>;

struct Runtime {
    store: Rc<Store>,
    api: Api,
    reads: Reads,
    draft: Draft,
    intents: RwSignal<Vec<Intent>>,
    wake: mpsc::UnboundedSender<()>,
    channel: Option<web_sys::BroadcastChannel>,
    /// Whether this tab runs the sending loop.
    sending: std::cell::Cell<bool>,
    /// Event listeners, kept alive with the runtime.
    _listeners: RefCell<Vec<Listener>>,
}

/// Starts the outbox for this page, and gives `reads` the same store. `memory_only` keeps intents
/// and reads out of the device's storage (kiosk mode: the next person at the screen must find
/// nothing).
pub fn provide_outbox(api: Api, reads: Reads, draft: Draft, memory_only: bool) -> Outbox {
    let outbox = Outbox {
        intents: RwSignal::new(Vec::new()),
        ready: RwSignal::new(false),
        durable: RwSignal::new(!memory_only),
        shown_here: RwSignal::new(None),
        part_missing: RwSignal::new(false),
        first_screen_done: RwSignal::new(false),
        engine: RwSignal::new_local(None),
    };
    provide_context(outbox);
    spawn_local(async move {
        let store = if memory_only {
            Store::memory()
        } else {
            Store::open_durable().await.unwrap_or_else(Store::memory)
        };
        outbox.durable.set(store.is_durable());
        let store = Rc::new(store);
        reads.keep_in(Rc::clone(&store));
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
            let started =
                start_runtime(Rc::clone(&store), api.clone(), reads.clone(), draft, outbox).await;
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
    reads: Reads,
    draft: Draft,
    outbox: Outbox,
) -> Result<Rc<dyn Engine>, PartMissing> {
    let (wake, wake_rx) = mpsc::unbounded();
    let channel = web_sys::BroadcastChannel::new(CHANNEL_NAME).ok();
    let runtime = Rc::new(Runtime {
        store,
        api,
        reads,
        draft,
        intents: outbox.intents,
        wake,
        channel,
        sending: std::cell::Cell::new(false),
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
        self.change(key, Change::KeepTrying);
    }

    /// The patient gave up; the request and its identity are deleted at once.
    pub fn give_up(self, key: String) {
        self.change(key, Change::GiveUp);
    }

    /// Try now rather than at the scheduled time (the server's `Retry-After` still stands).
    pub fn try_now(self, key: String) {
        self.change(key, Change::Focus);
    }

    /// Asks the server once more about a request whose fate is unknown (abandoned or expired
    /// after it went out). Resolves to whether a booking was found.
    pub async fn check_again(&self, key: String) -> Result<bool, ApiError> {
        let Some(engine) = self.engine().await else {
            return Err(ApiError::Network);
        };
        engine.check_again(key).await
    }

    /// Forgets a settled intent once the patient has seen how it ended.
    pub fn dismiss(self, key: String) {
        if let Some(engine) = self.engine.get_untracked() {
            engine.dismiss(key);
        }
    }

    /// Applies one of the patient's choices to the stored intent.
    fn change(self, key: String, change: Change) {
        if let Some(engine) = self.engine.get_untracked() {
            engine.change(key, change);
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
                    let found = self.found(found);
                    if self.record(&key, &found).await {
                        self.apply(&key, Change::Booked(found)).await;
                    }
                    Ok(true)
                }
                Err(ApiError::Problem(p)) if p.status == 404 => Ok(false),
                Err(e) => Err(e),
            }
        })
    }

    fn change(self: Rc<Self>, key: String, change: Change) {
        spawn_local(async move { self.apply(&key, change).await });
    }

    fn dismiss(self: Rc<Self>, key: String) {
        spawn_local(async move {
            let settled = self.stored(&key).await.is_none_or(|i| i.is_settled());
            if settled {
                let _ = self.store.delete(&key).await;
                self.published().await;
            }
        });
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
                    rt.reads.on_online();
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
        let keys: Vec<String> = self.intents.with_untracked(|list| {
            list.iter()
                .filter(|i| matches!(i.state(), State::Queued { .. }))
                .map(|i| i.key().as_str().to_string())
                .collect()
        });
        if keys.is_empty() {
            return;
        }
        let change = if online {
            Change::Online
        } else {
            Change::Focus
        };
        let now = browser::now_utc();
        for key in keys {
            let change = change.clone();
            update(
                &self.store,
                &key,
                Box::new(move |i| i.apply(change, now, 0.0)),
            )
            .await;
        }
        self.published().await;
    }

    /// Wakes this tab's sending loop, if this tab is the sender; other tabs have nobody to wake.
    fn wake_sender(&self) {
        if self.sending.get() {
            let _ = self.wake.unbounded_send(());
        }
    }

    /// The sending loop of the one tab that holds the outbox lock: it carries out what the
    /// sender ([`fairslot_core::sender`]) asks, one command at a time, and tells it how each went.
    async fn run(self: Rc<Self>, mut wake: mpsc::UnboundedReceiver<()>) {
        self.sending.set(true);
        let mut sender = Sender::new();
        let mut command = sender.start();
        loop {
            let event = self.perform(command, &mut wake).await;
            command = sender.handle(event, browser::now_utc());
        }
    }

    async fn perform(&self, command: Command, wake: &mut mpsc::UnboundedReceiver<()>) -> Event {
        match command {
            Command::List => Event::Listed(
                self.store
                    .all()
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(key, _)| key)
                    .collect(),
            ),
            Command::Apply { key, change } => {
                self.apply(&key, change).await;
                Event::Applied
            }
            Command::TakeTurn { key } => Event::Turn(self.take_turn(&key).await),
            Command::Send { key, request } => {
                let booked = self.api.book(request, key.as_str().to_string()).await;
                Event::Answered(match booked {
                    Ok(booking) => {
                        Exchanged::Found(self.found(KeyedAnswer::Booking(Box::new(booking))))
                    }
                    Err(e) => Exchanged::Failed(outcome_of(e, browser::now_utc())),
                })
            }
            Command::AskByKey {
                key,
                document_last4,
            } => {
                let found = self
                    .api
                    .booking_by_key(key.as_str(), Some(&document_last4))
                    .await;
                Event::Answered(self.exchanged(found))
            }
            Command::Inspect { key } => Event::Inspected {
                unresolved: self.stored(&key).await.is_some_and(|i| i.is_unresolved()),
            },
            // Listed before the intent is settled by it, so no crash leaves a confirmed intent
            // the list does not show.
            Command::Record { key, found } => Event::Recorded {
                listed: self.record(&key, &found).await,
            },
            Command::CheckByKey { key } => {
                let found = self.api.booking_by_key(&key, None).await;
                Event::Answered(self.exchanged(found))
            }
            Command::Sleep { until } => {
                let ms = (until - browser::now_utc())
                    .num_milliseconds()
                    .clamp(0, MAX_SLEEP.num_milliseconds());
                if ms > 0 {
                    let sleep = Box::pin(browser::sleep(ms as i32));
                    futures::future::select(sleep, wake.next()).await;
                }
                // Several wake-ups while busy count as one.
                while wake.try_recv().is_ok() {}
                Event::Woke
            }
        }
    }

    /// The intent stored under `key`, if it is there and readable.
    async fn stored(&self, key: &str) -> Option<Intent> {
        let json = self.store.get(key).await.ok().flatten()?;
        Intent::from_json(&json).ok()
    }

    /// An intent's turn, taken in one transaction of the store.
    async fn take_turn(&self, key: &str) -> Result<Option<Action>, StoreFailed> {
        let now = browser::now_utc();
        let mut action = None;
        let stored = self
            .store
            .update(
                key,
                Box::new(|json| {
                    let mut intent = Intent::from_json(json).ok()?;
                    let before = intent.clone();
                    action = intent.take_turn(now);
                    (intent != before).then(|| intent.to_json())
                }),
            )
            .await;
        if stored.is_err() {
            // The store failed: sending now would leave a booking the device forgot it made.
            return Err(StoreFailed);
        }
        if matches!(action, Some(Action::Send { .. } | Action::AskByKey { .. })) {
            self.published().await;
        }
        Ok(action)
    }

    /// A by-key answer as the sender hears it.
    fn exchanged(&self, answer: Result<KeyedAnswer, ApiError>) -> Exchanged {
        match answer {
            Ok(found) => Exchanged::Found(self.found(found)),
            Err(e) => Exchanged::Failed(outcome_of(e, browser::now_utc())),
        }
    }

    /// A booking the server has: the masked patient goes to this tab's ticket (it is never
    /// stored), the rest to the intent.
    fn found(&self, answer: KeyedAnswer) -> Found {
        match answer {
            KeyedAnswer::Booking(booking) => {
                let record = BookingRecord::from(&*booking);
                self.draft.last_booking.set(Some(*booking));
                Found::Booking(Box::new(record))
            }
            KeyedAnswer::Code(keyed) => Found::Code(keyed),
        }
    }

    /// Puts a booking found under `key` in the device's list; whether it is there now. A booking
    /// in full is listed as it is; one known by its code alone takes the slot the patient
    /// confirmed from the stored intent, and is not listed when that cannot be read.
    async fn record(&self, key: &str, found: &Found) -> bool {
        let record = match found {
            Found::Booking(record) => Some((**record).clone()),
            Found::Code(_) => self.stored(key).await.map(|i| i.record_of(found)),
        };
        let listed = record.is_some();
        if let Some(record) = record {
            browser::remember_booking(record);
            self.reads.forget_schedules();
        }
        listed
    }

    /// Applies a change to the stored intent and publishes it.
    async fn apply(&self, key: &str, change: Change) {
        let now = browser::now_utc();
        let jitter = js_sys::Math::random();
        update(
            &self.store,
            key,
            Box::new(move |i| i.apply(change, now, jitter)),
        )
        .await;
        self.published().await;
    }
}

/// A change of one stored intent; `true` when it changed it (an ignored event does not).
type Edit<'a> = Box<dyn FnOnce(&mut Intent) -> bool + 'a>;

/// Applies `edit` to the intent stored under `key`, read and written in one transaction so no
/// other tab's change is overwritten. A record that cannot be read is left as it is.
async fn update(store: &Store, key: &str, edit: Edit<'_>) {
    let _ = store
        .update(
            key,
            Box::new(|json| {
                let mut intent = Intent::from_json(json).ok()?;
                edit(&mut intent).then(|| intent.to_json())
            }),
        )
        .await;
}

/// What an adapter's failure means for an intent.
pub fn outcome_of(error: ApiError, received_at: DateTime<Utc>) -> Outcome {
    let failure = match error {
        ApiError::Problem(p) => Failure::Problem(*p),
        ApiError::Server {
            status,
            retry_after,
        } => Failure::Status {
            status,
            retry_after,
        },
        ApiError::NotSent => Failure::NotSent,
        ApiError::Timeout => Failure::TimedOut,
        ApiError::Network | ApiError::BadData(_) => Failure::NoAnswer,
    };
    Outcome::of_failure(failure, received_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fairslot_core::retry::RetryAfter;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// What an answer without problem details becomes, received at a fixed instant.
    fn server(status: u16, retry_after: Option<&str>) -> Outcome {
        let now = at("2026-11-22T08:00:00Z");
        let retry_after = retry_after.map(str::to_string);
        outcome_of(
            ApiError::Server {
                status,
                retry_after,
            },
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
        assert_eq!(outcome_of(ApiError::Timeout, now), Outcome::TimedOut);
        assert_eq!(outcome_of(ApiError::Network, now), Outcome::Lost);
        assert_eq!(
            outcome_of(ApiError::NotSent, now),
            Outcome::Transient { retry_after: None }
        );
        assert_eq!(
            outcome_of(ApiError::BadData("<html>".into()), now),
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
