//! Loading, error and empty states for data that comes from the booking API.

use leptos::prelude::*;

use crate::api::ApiError;
use crate::i18n::{Msg, use_i18n};

/// Renders a remote value: placeholder rows of the final layout's size while loading (so nothing
/// jumps when data arrives), an explanation with a retry button on failure, the content on success.
pub fn remote_view<T, V>(
    resource: LocalResource<Result<T, ApiError>>,
    placeholder_rows: usize,
    render: impl Fn(T) -> V + Send + Sync + 'static,
) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match resource.get() {
        None => view! { <Placeholder rows=placeholder_rows /> }.into_any(),
        Some(Ok(value)) => render(value).into_any(),
        Some(Err(error)) => {
            view! { <ErrorPanel error=error on_retry=move || resource.refetch() /> }.into_any()
        }
    }
}

#[component]
pub fn Placeholder(rows: usize) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="placeholder" role="status" aria-live="polite">
            <span class="visually-hidden">{i18n.t(Msg::Loading)}</span>
            {(0..rows).map(|_| view! { <div class="placeholder-row" aria-hidden="true"></div> }).collect_view()}
        </div>
    }
}

#[component]
fn ErrorPanel(error: ApiError, on_retry: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    view! { <RetryNotice message=error.message() on_retry=on_retry /> }
}

/// A failure explained, with a button to try again.
#[component]
pub fn RetryNotice(message: Msg, on_retry: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="notice notice-error" role="alert">
            <p>{i18n.t(message)}</p>
            <button class="button" type="button" on:click=move |_| on_retry()>
                {i18n.t(Msg::Retry)}
            </button>
        </div>
    }
}

/// Nothing to show, and what to do about it.
#[component]
pub fn EmptyState(message: Msg, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <div class="notice notice-empty" role="status">
            <p>{i18n.t(message)}</p>
            {children.map(|c| c())}
        </div>
    }
}
