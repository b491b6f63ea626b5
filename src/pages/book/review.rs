//! The review: everything once more, identity masked, and the one confirm.

use fairslot_core::identity::{mask_document, mask_name, mask_phone};
use leptos::prelude::*;

use crate::api::Advice;
use crate::booking::{Draft, document_msg, relationship_msg};
use crate::i18n::{Msg, use_i18n};

/// Everything once more, identity masked, and one confirm button that cannot send twice.
#[component]
pub fn Review(
    draft: Draft,
    #[prop(into)] sending: Signal<bool>,
    #[prop(into)] failure: Signal<Option<Advice>>,
    on_edit: Callback<()>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let i18n = use_i18n();
    let input = draft.input();
    let sending = move || sending.get();
    view! {
        <section class="review" aria-labelledby="review-title">
            <h2 id="review-title" tabindex="-1">{i18n.t(Msg::ReviewTitle)}</h2>
            <dl class="facts">
                <dt>{i18n.t(Msg::Relationship)}</dt>
                <dd>{i18n.t(relationship_msg(input.relationship))}</dd>
                <dt>{i18n.t(Msg::Name)}</dt>
                <dd class="masked">{mask_name(input.name.trim())}</dd>
                <dt>{i18n.t(document_msg(input.document_kind))}</dt>
                <dd class="masked">{mask_document(input.document_number.trim())}</dd>
                <dt>{i18n.t(Msg::Mobile)}</dt>
                <dd class="masked">{mask_phone(&input.phone.replace([' ', '-'], ""))}</dd>
            </dl>
            {move || failure.get().map(|a| view! { <p class="notice notice-error" role="alert">{i18n.advise(&a)}</p> })}
            <div class="actions">
                <button class="button button-secondary" type="button" on:click=move |_| on_edit.run(()) disabled=sending>
                    {i18n.t(Msg::Edit)}
                </button>
                <button
                    class="button button-wide"
                    type="button"
                    aria-disabled=move || sending().to_string()
                    on:click=move |_| {
                        if !sending() {
                            on_confirm.run(())
                        }
                    }
                >
                    {move || if sending() { Msg::Submitting.text(i18n.locale.get()) } else { Msg::ConfirmBooking.text(i18n.locale.get()) }}
                </button>
            </div>
        </section>
    }
}
