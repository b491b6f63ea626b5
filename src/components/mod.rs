//! View pieces shared by several pages.

mod day_strip;
mod keypad;
mod outbox;
mod remote;

pub use day_strip::DayStrip;
pub use keypad::Keypad;
pub use outbox::{IntentStatus, OutboxBannerSlot, StaleNotice};
pub use remote::{EmptyState, Placeholder, RetryNotice, remote_view};

use fairslot_core::config::Locale;
use fairslot_core::schedule::Availability;
use fairslot_core::{DoctorTitle, HospitalLevel, Period};
use leptos::prelude::*;

use crate::browser;
use crate::i18n::{I18n, Msg, use_i18n};

/// The search box of a list page, wrapped in its own search landmark.
#[component]
pub fn SearchField(
    label: Msg,
    #[prop(into)] value: Signal<String>,
    on_input: Callback<String>,
    #[prop(optional)] children: Option<Children>,
) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <form class="filters" role="search" on:submit=|ev| ev.prevent_default()>
            <label class="field field-search">
                <span class="field-label">{i18n.t(label)}</span>
                <input
                    type="search"
                    name="q"
                    autocomplete="off"
                    enterkeyhint="search"
                    prop:value=move || value.get()
                    on:input=move |ev| on_input.run(event_target_value(&ev))
                />
            </label>
            {children.map(|c| c())}
        </form>
    }
}

/// Switches between Chinese and English and remembers the choice.
#[component]
pub fn LangSwitch() -> impl IntoView {
    let i18n = use_i18n();
    let other = move || match i18n.locale.get() {
        Locale::ZhCn => Locale::En,
        Locale::En => Locale::ZhCn,
    };
    view! {
        <button
            class="lang-switch"
            type="button"
            lang=move || other().tag()
            aria-label=i18n.t(Msg::SwitchLanguageLabel)
            on:click=move |_| {
                let next = other();
                i18n.locale.set(next);
                browser::store_locale(next.tag());
            }
        >
            {i18n.t(Msg::SwitchLanguage)}
        </button>
    }
}

pub fn level_msg(level: HospitalLevel) -> Msg {
    match level {
        HospitalLevel::Grade3A => Msg::Level3A,
        HospitalLevel::Grade3B => Msg::Level3B,
        HospitalLevel::Grade2A => Msg::Level2A,
        HospitalLevel::Grade2B => Msg::Level2B,
        HospitalLevel::Grade1 => Msg::Level1,
    }
}

pub fn title_msg(title: DoctorTitle) -> Msg {
    match title {
        DoctorTitle::Chief => Msg::TitleChief,
        DoctorTitle::AssociateChief => Msg::TitleAssociateChief,
        DoctorTitle::Attending => Msg::TitleAttending,
        DoctorTitle::Resident => Msg::TitleResident,
    }
}

pub fn period_msg(period: Period) -> Msg {
    match period {
        Period::Am => Msg::Am,
        Period::Pm => Msg::Pm,
        Period::Evening => Msg::Evening,
    }
}

/// `¥50.00` from fen.
pub fn format_fee(fen: u32) -> String {
    format!("¥{}.{:02}", fen / 100, fen % 100)
}

/// The `data-state` of an availability, which the stylesheet colours; the same in every language.
pub fn availability_state(a: Option<Availability>) -> &'static str {
    match a {
        None => "none",
        Some(Availability::Open(_)) => "open",
        Some(Availability::Full) => "full",
        Some(Availability::Stopped) => "stopped",
        Some(Availability::NotReleased(_)) => "not-released",
    }
}

/// A short, translated label for an availability, with the hospital-time release day and hour.
/// Takes the `I18n` rather than looking it up: it runs for every row of a large schedule.
pub fn availability_text(i18n: I18n, a: Option<Availability>, offset_minutes: i32) -> String {
    let locale = i18n.locale.get();
    match a {
        None => Msg::NoClinic.text(locale).into(),
        Some(Availability::Open(n)) => i18n.fmt(Msg::Remaining, n),
        Some(Availability::Full) => Msg::Full.text(locale).into(),
        Some(Availability::Stopped) => Msg::Stopped.text(locale).into(),
        // With the day: places usually open on an earlier day than the session's.
        Some(Availability::NotReleased(Some(at))) => {
            let at = fairslot_core::time::at_hospital(at, offset_minutes);
            let when = format!(
                "{} {}",
                fairslot_core::time::month_day(at.date_naive()),
                fairslot_core::time::hhmm(at, offset_minutes)
            );
            i18n.fmt(Msg::ReleasedAt, when)
        }
        Some(Availability::NotReleased(None)) => Msg::NotReleased.text(locale).into(),
    }
}

/// Where an alternative slot the server offered is booked, and its time as shown: the date and
/// `HH:MM–HH:MM` in the hospital's offset.
pub fn alternative_link(
    department: &crate::routes::Department,
    a: &fairslot_core::Alternative,
    offset_minutes: i32,
) -> (String, String) {
    use fairslot_core::time::hhmm;
    let href = department.book(&a.doctor_id, &a.slot.id);
    let time = format!(
        "{} {}–{}",
        a.date,
        hhmm(a.slot.start, offset_minutes),
        hhmm(a.slot.end, offset_minutes)
    );
    (href, time)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fees() {
        assert_eq!(format_fee(5000), "¥50.00");
        assert_eq!(format_fee(1505), "¥15.05");
    }
}
