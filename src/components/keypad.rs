//! The kiosk's on-screen keypad for numbers: digits, `X` for a resident ID's check character, and
//! delete. Fields it types into have `inputmode="none"`, so no system keyboard covers the screen.

use leptos::prelude::*;

use crate::i18n::{Msg, use_i18n};

/// Longest value the keypad types: more than any document or phone number.
const MAX_LEN: usize = 32;

#[component]
pub fn Keypad(
    /// The field's value.
    value: RwSignal<String>,
    /// The field's label, which names the keypad for screen readers.
    label: Msg,
    /// Offer `X` (resident IDs end in one).
    with_x: bool,
    /// Called after each key, e.g. to clear a stale server message.
    on_key: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let press = move |key: char| {
        value.update(|v| {
            if v.chars().count() < MAX_LEN {
                v.push(key);
            }
        });
        on_key.run(());
    };
    let digit = move |d: char| {
        view! {
            <button class="keypad-key" type="button" on:click=move |_| press(d)>{d.to_string()}</button>
        }
    };
    let group_label = move || format!("{} {}", i18n.t(label)(), i18n.t(Msg::Keypad)());
    view! {
        <div class="keypad" role="group" aria-label=group_label>
            {['1', '2', '3', '4', '5', '6', '7', '8', '9'].map(digit).collect_view()}
            {if with_x {
                digit('X').into_any()
            } else {
                view! { <span class="keypad-gap"></span> }.into_any()
            }}
            {digit('0')}
            <button
                class="keypad-key keypad-delete"
                type="button"
                aria-label=i18n.t(Msg::KeypadDelete)
                on:click=move |_| {
                    value.update(|v| {
                        v.pop();
                    });
                    on_key.run(());
                }
            >
                "⌫"
            </button>
        </div>
    }
}
