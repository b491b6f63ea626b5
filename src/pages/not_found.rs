use leptos::prelude::*;
use leptos_router::components::A;

use crate::i18n::{Msg, use_i18n};
use crate::routes;

#[component]
pub fn NotFound() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <h1>{i18n.t(Msg::NotFoundTitle)}</h1>
        <p>{i18n.t(Msg::NotFoundBody)}</p>
        <A href=routes::HOME attr:class="button">{i18n.t(Msg::Home)}</A>
    }
}
