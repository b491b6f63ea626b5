//! The first screen: find a hospital by name, district or level.

use fairslot_core::HospitalLevel;
use fairslot_core::search::{HospitalFilter, districts};
use leptos::prelude::*;
use leptos_router::components::{A, Redirect};

use super::{query_param, use_set_query};
use crate::api::use_api;
use crate::browser;
use crate::components::{EmptyState, SearchField, level_msg, remote_view};
use crate::config::Preselection;
use crate::i18n::{Msg, use_i18n};
use crate::offline::use_reads;
use crate::routes;

#[component]
pub fn HospitalsPage() -> impl IntoView {
    let outbox = crate::offline::use_outbox();
    if let Some(p) = use_context::<Preselection>()
        && let Some(id) = p.hospital
    {
        outbox.first_screen_done.set(true);
        let path = match p.department {
            Some(d) => routes::Department::new(&id, &d).href(),
            None => routes::hospital(&id),
        };
        return view! { <Redirect path=path /> }.into_any();
    }
    let i18n = use_i18n();
    let api = use_api();
    let reads = use_reads();
    Effect::new(move |_| browser::set_title(Msg::HospitalsTitle.text(i18n.locale.get())));

    let hospitals = LocalResource::new(move || {
        // Shown from the device at once when seen before; loads again when a refresh lands.
        reads.track();
        let api = api.clone();
        async move { api.hospitals().await.map(|list| list.items) }
    });
    Effect::new(move |_| {
        if hospitals.read().is_some() {
            outbox.first_screen_done.set(true);
        }
    });
    // Left before the list answered: the next page does not wait for it either.
    on_cleanup(move || {
        outbox.first_screen_done.try_set(true);
    });
    let q = query_param("q");
    let district = query_param("district");
    let level = query_param("level");
    let filter = Memo::new(move |_| HospitalFilter {
        query: q.get().unwrap_or_default(),
        district: district.get(),
        level: level.get().as_deref().and_then(HospitalLevel::from_code),
    });
    let set_query = use_set_query();
    let on_search = Callback::new(move |q: String| set_query.run(vec![("q", q)]));

    view! {
        <h1>{i18n.t(Msg::HospitalsTitle)}</h1>
        <SearchField label=Msg::SearchHospitals value=Signal::derive(move || filter.get().query) on_input=on_search>
            {move || {
                // Districts come from the list itself; while it loads or fails, only "all".
                let list = hospitals.get().and_then(Result::ok).unwrap_or_default();
                let options = districts(&list)
                    .into_iter()
                    .map(|(id, name)| {
                        let selected = {
                            let id = id.clone();
                            move || filter.get().district.as_deref() == Some(id.as_str())
                        };
                        view! { <option value=id selected=selected>{move || i18n.pick(&name)}</option> }
                    })
                    .collect_view();
                view! {
                    <label class="field">
                        <span class="field-label">{i18n.t(Msg::District)}</span>
                        <select
                            name="district"
                            on:change=move |ev| set_query.run(vec![("district", event_target_value(&ev))])
                        >
                            <option value="" selected=move || filter.get().district.is_none()>
                                {i18n.t(Msg::AllDistricts)}
                            </option>
                            {options}
                        </select>
                    </label>
                }
            }}
            <label class="field">
                <span class="field-label">{i18n.t(Msg::Level)}</span>
                <select name="level" on:change=move |ev| set_query.run(vec![("level", event_target_value(&ev))])>
                    <option value="" selected=move || filter.get().level.is_none()>
                        {i18n.t(Msg::AllLevels)}
                    </option>
                    {HospitalLevel::ALL
                        .into_iter()
                        .map(|l| {
                            view! {
                                <option value=l.code() selected=move || filter.get().level == Some(l)>
                                    {i18n.t(level_msg(l))}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
        </SearchField>
        {remote_view(hospitals, 4, move |list| {
            move || {
                let f = filter.get();
                let shown: Vec<_> = f.apply(&list).into_iter().cloned().collect();
                if shown.is_empty() {
                    return view! {
                        <EmptyState message=Msg::NoHospitals>
                            <button
                                class="button"
                                type="button"
                                on:click=move |_| {
                                    set_query.run(vec![
                                        ("q", String::new()),
                                        ("district", String::new()),
                                        ("level", String::new()),
                                    ]);
                                }
                            >
                                {i18n.t(Msg::ClearFilters)}
                            </button>
                        </EmptyState>
                    }
                    .into_any();
                }
                let count = shown.len();
                view! {
                    <p class="result-count" role="status">{move || i18n.fmt(Msg::ResultsCount, count)}</p>
                    <ul class="cards">
                        {shown.into_iter().map(|h| view! { <HospitalCard hospital=h /> }).collect_view()}
                    </ul>
                }
                .into_any()
            }
        })}
    }
    .into_any()
}

#[component]
fn HospitalCard(hospital: fairslot_core::Hospital) -> impl IntoView {
    let i18n = use_i18n();
    let href = routes::hospital(&hospital.id);
    let has_slots = hospital.has_slots_today;
    let fairslot_core::Hospital {
        name,
        district,
        address,
        level,
        ..
    } = hospital;
    view! {
        <li class="card hospital-card">
            <A href=href attr:class="card-link">
                <h2 class="card-title">{move || i18n.pick(&name)}</h2>
            </A>
            <p class="card-meta">
                {level.map(|l| view! { <span class="badge">{i18n.t(level_msg(l))}</span> })}
                <span>{move || i18n.pick(&district.name)}</span>
            </p>
            <p class="card-address">{move || i18n.pick(&address)}</p>
            {has_slots.map(|has| view! {
                <p class="hint" data-has-slots=has.to_string()>
                    {i18n.t(if has { Msg::HasSlotsToday } else { Msg::NoSlotsToday })}
                </p>
            })}
        </li>
    }
}
