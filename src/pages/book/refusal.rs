//! Why the slot cannot be had, and what the patient can do instead.

use fairslot_core::{Alternative, ProblemKind};
use leptos::prelude::*;
use leptos_router::components::A;

use crate::api::{Advice, ApiError};
use crate::browser;
use crate::components::{alternative_link, period_msg};
use crate::i18n::{Msg, use_i18n};
use crate::routes;

/// Why the slot cannot be had, with the server's alternatives when it offered some.
#[component]
pub fn Refusal(
    error: ApiError,
    schedule_href: String,
    alt_base: routes::Department,
    offset_minutes: i32,
    /// Offered when the failure was the service's, not a refusal of this slot.
    on_retry: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let transient = matches!(
        error,
        ApiError::Network | ApiError::NotSent | ApiError::Timeout | ApiError::Server { .. }
    ) || matches!(
        problem_kind(&error),
        Some(
            ProblemKind::Unavailable
                | ProblemKind::RateLimited
                | ProblemKind::Internal
                | ProblemKind::RequestTimeout
        )
    );
    // A rate limit says how long to wait; a rule, which rule and what to do.
    let advice = error.advice(browser::now_utc(), offset_minutes);
    let (message, alternatives): (Advice, Vec<Alternative>) = match &error {
        ApiError::Problem(p) => match p.kind() {
            Some(ProblemKind::SlotTaken) => (Msg::SlotGone.into(), p.alternatives.clone()),
            Some(ProblemKind::SessionUnavailable) => (Msg::SessionGone.into(), Vec::new()),
            _ => (advice, Vec::new()),
        },
        _ => (advice, Vec::new()),
    };
    let empty = message.msg == Msg::SlotGone && alternatives.is_empty();
    let links = alternatives
        .into_iter()
        .map(|a| {
            let (href, time) = alternative_link(&alt_base, &a, offset_minutes);
            let name = a.doctor_name.clone();
            view! {
                <li>
                    <A href=href attr:class="list-link alternative">
                        {time}" · "{i18n.t(period_msg(a.period))}" · "{move || i18n.pick(&name)}
                    </A>
                </li>
            }
        })
        .collect_view();
    view! {
        <div class="notice notice-error" role="alert">
            <p>{move || i18n.advise(&message)}</p>
            <ul class="alternatives">{links}</ul>
            {empty.then(|| view! { <p>{i18n.t(Msg::NoAlternatives)}</p> })}
            {transient.then(|| view! {
                <button class="button" type="button" on:click=move |_| on_retry.run(())>{i18n.t(Msg::Retry)}</button>
            })}
            <A href=schedule_href attr:class="button button-secondary">{i18n.t(Msg::BackToSchedule)}</A>
        </div>
    }
}

fn problem_kind(e: &ApiError) -> Option<ProblemKind> {
    match e {
        ApiError::Problem(p) => p.kind(),
        _ => None,
    }
}
