//! The identity form (就诊人): checked as the patient types and on leaving each field.

use chrono::NaiveDate;
use fairslot_core::{DocumentKind, Relationship};
use leptos::prelude::*;

use crate::booking::{Draft, Field, document_msg, identity_msg, relationship_msg, server_code_msg};
use crate::browser;
use crate::components::Keypad;
use crate::i18n::{Msg, use_i18n};

/// The identity form: checked as the patient types (once a field has been left) and on leaving
/// each field, with messages that say how to fix the value.
#[component]
pub fn PatientForm(draft: Draft, today: NaiveDate, on_done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    // A kiosk types numbers on its own keypad; the system keyboard would cover half the screen.
    let kiosk = crate::modes::is_kiosk();
    // The keypad types resident IDs (digits and X); passports and permits have letters, and get
    // the system keyboard.
    let keypad_for_document =
        Memo::new(move |_| kiosk && draft.document_kind.get() == DocumentKind::ResidentId);
    let document_mode = Signal::derive(move || {
        if keypad_for_document.get() {
            "none"
        } else {
            "text"
        }
    });
    let phone_mode = Signal::stored(if kiosk { "none" } else { "tel" });
    let text_mode = Signal::stored("text");
    // A shared screen offers no one the last patient's name or number to fill in.
    let fill = move |hint: &'static str| if kiosk { "off" } else { hint };
    let touched = RwSignal::new(Vec::<Field>::new());
    let touch = move |f: Field| {
        touched.update(|t| {
            if !t.contains(&f) {
                t.push(f)
            }
        })
    };
    // A server message stands until the field is edited.
    let clear_server = move |f: Field| {
        draft
            .server_errors
            .update(|errs| errs.retain(|e| e.field != f.api_name()))
    };
    let error_of = move |f: Field| -> Option<String> {
        let server = draft
            .server_errors
            .get()
            .into_iter()
            .find(|e| e.field == f.api_name());
        if let Some(e) = server {
            return Some(match server_code_msg(&e.code) {
                Some(m) => m.text(i18n.locale.get()).to_string(),
                // A code this build does not know: the stored refusal keeps no server text.
                None if e.message.is_empty() => {
                    Msg::FieldRejected.text(i18n.locale.get()).to_string()
                }
                None => e.message,
            });
        }
        if !touched.get().contains(&f) {
            return None;
        }
        draft
            .check(f, today)
            .err()
            .map(|e| identity_msg(e).text(i18n.locale.get()).to_string())
    };
    let show_summary = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        touched.set(Field::ALL.to_vec());
        let first_bad = Field::ALL.into_iter().find(|f| error_of(*f).is_some());
        match first_bad {
            Some(f) => {
                show_summary.set(true);
                browser::focus(f.id());
            }
            None => {
                show_summary.set(false);
                on_done.run(());
            }
        }
    };

    let text_field = move |f: Field,
                           label: Msg,
                           hint: Option<Msg>,
                           value: RwSignal<String>,
                           kind: &'static str,
                           inputmode: Signal<&'static str>,
                           autocomplete: &'static str| {
        let err_id = format!("{}-error", f.id());
        let hint_id = format!("{}-hint", f.id());
        let described = match hint {
            Some(_) => format!("{hint_id} {err_id}"),
            None => err_id.clone(),
        };
        view! {
            <div class="field">
                <label class="field-label" for=f.id()>{i18n.t(label)}</label>
                {hint.map(|h| view! { <span class="field-hint" id=hint_id.clone()>{i18n.t(h)}</span> })}
                <input
                    id=f.id()
                    type=kind
                    inputmode=move || inputmode.get()
                    autocomplete=autocomplete
                    spellcheck="false"
                    aria-invalid=move || error_of(f).is_some().to_string()
                    aria-describedby=described
                    prop:value=move || value.get()
                    on:input=move |ev| {
                        value.set(event_target_value(&ev));
                        clear_server(f);
                    }
                    on:blur=move |_| touch(f)
                />
                <p class="field-error" id=err_id aria-live="polite">{move || error_of(f)}</p>
            </div>
        }
    };

    let doc_kinds = [
        DocumentKind::ResidentId,
        DocumentKind::Passport,
        DocumentKind::HkMacaoPermit,
        DocumentKind::TaiwanPermit,
    ];
    let relationships = [
        Relationship::Myself,
        Relationship::Child,
        Relationship::Parent,
        Relationship::Spouse,
        Relationship::Other,
    ];

    view! {
        <form class="patient-form" novalidate on:submit=submit>
            <h2 id="patient-title" tabindex="-1">{i18n.t(Msg::PatientTitle)}</h2>
            {move || {
                let msg = if !draft.server_errors.get().is_empty() {
                    Some(Msg::ServerRejected)
                } else {
                    show_summary.get().then_some(Msg::FixErrors)
                };
                msg.map(|m| view! { <p class="notice notice-error" role="alert">{i18n.t(m)}</p> })
            }}
            <div class="field">
                <label class="field-label" for="patient-relationship">{i18n.t(Msg::Relationship)}</label>
                <select
                    id="patient-relationship"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(r) = relationships.into_iter().find(|r| relationship_code(*r) == v) {
                            draft.relationship.set(r);
                        }
                    }
                >
                    {relationships.into_iter().map(|r| view! {
                        <option value=relationship_code(r) selected=move || draft.relationship.get() == r>
                            {i18n.t(relationship_msg(r))}
                        </option>
                    }).collect_view()}
                </select>
            </div>
            {text_field(Field::Name, Msg::Name, Some(Msg::NameHint), draft.name, "text", text_mode, fill("name"))}
            <div class="field">
                <label class="field-label" for="patient-document-kind">{i18n.t(Msg::DocumentKind)}</label>
                <select
                    id="patient-document-kind"
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(k) = doc_kinds.into_iter().find(|k| document_code(*k) == v) {
                            draft.document_kind.set(k);
                            clear_server(Field::DocumentNumber);
                        }
                    }
                >
                    {doc_kinds.into_iter().map(|k| view! {
                        <option value=document_code(k) selected=move || draft.document_kind.get() == k>
                            {i18n.t(document_msg(k))}
                        </option>
                    }).collect_view()}
                </select>
            </div>
            {text_field(Field::DocumentNumber, Msg::DocumentNumber, None, draft.document_number, "text", document_mode, "off")}
            {move || keypad_for_document.get().then(|| view! {
                <Keypad
                    value=draft.document_number
                    label=Msg::DocumentNumber
                    with_x=true
                    on_key=Callback::new(move |_| clear_server(Field::DocumentNumber))
                />
            })}
            {text_field(Field::Phone, Msg::Mobile, Some(Msg::MobileHint), draft.phone, "tel", phone_mode, fill("tel-national"))}
            {kiosk.then(|| view! {
                <Keypad
                    value=draft.phone
                    label=Msg::Mobile
                    with_x=false
                    on_key=Callback::new(move |_| clear_server(Field::Phone))
                />
            })}
            {text_field(Field::MedicalCard, Msg::MedicalCard, None, draft.medical_card, "text", text_mode, "off")}
            <p class="privacy-notice" id="privacy-notice">{i18n.t(Msg::PrivacyNotice)}</p>
            <div class="field field-check">
                <input
                    id=Field::Consent.id()
                    type="checkbox"
                    aria-invalid=move || error_of(Field::Consent).is_some().to_string()
                    aria-describedby="privacy-notice patient-consent-error"
                    prop:checked=move || draft.consent.get()
                    on:change=move |ev| {
                        draft.consent.set(event_target_checked(&ev));
                        touch(Field::Consent);
                        clear_server(Field::Consent);
                    }
                />
                <label for=Field::Consent.id()>{i18n.t(Msg::Consent)}</label>
                <p class="field-error" id="patient-consent-error" aria-live="polite">
                    {move || error_of(Field::Consent)}
                </p>
            </div>
            <button class="button button-wide" type="submit">{i18n.t(Msg::Continue)}</button>
        </form>
    }
}

fn document_code(k: DocumentKind) -> &'static str {
    match k {
        DocumentKind::ResidentId => "resident_id",
        DocumentKind::Passport => "passport",
        DocumentKind::HkMacaoPermit => "hk_macao_permit",
        DocumentKind::TaiwanPermit => "taiwan_permit",
    }
}

fn relationship_code(r: Relationship) -> &'static str {
    match r {
        Relationship::Myself => "self",
        Relationship::Child => "child",
        Relationship::Parent => "parent",
        Relationship::Spouse => "spouse",
        Relationship::Other => "other",
    }
}
