//! The row of days a patient scans first: date, weekday and how many places are left.

use chrono::NaiveDate;
use fairslot_core::schedule::DaySummary;
use fairslot_core::time::{month_day, weekday_index};
use leptos::prelude::*;

use super::{availability_state, availability_text};
use crate::i18n::{Msg, use_i18n};

const WEEKDAYS: [Msg; 7] = [
    Msg::Weekday0,
    Msg::Weekday1,
    Msg::Weekday2,
    Msg::Weekday3,
    Msg::Weekday4,
    Msg::Weekday5,
    Msg::Weekday6,
];

/// One button per day; the selected one is marked `aria-pressed`.
#[component]
pub fn DayStrip(
    days: Vec<DaySummary>,
    today: NaiveDate,
    offset_minutes: i32,
    #[prop(into)] selected: Signal<NaiveDate>,
    on_select: Callback<NaiveDate>,
) -> impl IntoView {
    let i18n = use_i18n();
    let buttons = days
        .into_iter()
        .map(|day| {
            let date = day.date;
            let weekday = if date == today {
                Msg::Today
            } else {
                WEEKDAYS[weekday_index(date)]
            };
            let state = availability_state(day.availability);
            let text = move || availability_text(i18n, day.availability, offset_minutes);
            view! {
                <li>
                    <button
                        type="button"
                        class="day"
                        data-date=date.to_string()
                        data-state=state
                        aria-pressed=move || (selected.get() == date).to_string()
                        on:click=move |_| on_select.run(date)
                    >
                        <span class="day-weekday">{i18n.t(weekday)}</span>
                        <span class="day-date">{month_day(date)}</span>
                        <span class="day-state">{text}</span>
                    </button>
                </li>
            }
        })
        .collect_view();
    view! {
        <nav class="day-strip" aria-label=i18n.t(Msg::ChooseDay)>
            <ol>{buttons}</ol>
        </nav>
    }
}
