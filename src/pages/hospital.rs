//! A hospital: its two-level department tree, searchable.

use fairslot_core::search::filter_departments;
use leptos::prelude::*;
use leptos_router::components::A;

use super::{hospital_param, query_param, use_set_query};
use crate::api::{ApiError, use_api};
use crate::browser;
use crate::components::{EmptyState, SearchField, level_msg, remote_view};
use crate::i18n::{Msg, use_i18n};
use crate::offline::use_reads;
use crate::routes;

#[component]
pub fn HospitalPage() -> impl IntoView {
    let i18n = use_i18n();
    let api = use_api();
    let reads = use_reads();
    let hospital_id = hospital_param();
    let tree = LocalResource::new(move || {
        // Shown from the device at once when seen before; loads again when a refresh lands.
        reads.track();
        let api = api.clone();
        let id = hospital_id.get();
        async move {
            match id {
                Some(id) => api.departments(&id).await,
                None => Err(not_found()),
            }
        }
    });
    let q = query_param("q");
    let set_query = use_set_query();

    remote_view(tree, 6, move |tree| {
        let hospital = tree.hospital.clone();
        let title = hospital.name.clone();
        Effect::new(move |_| browser::set_title(&i18n.pick(&title)));
        let hospital_id = hospital.id.clone();
        let groups = tree.groups.clone();
        view! {
            <nav class="breadcrumbs" aria-label=i18n.t(Msg::Breadcrumbs)>
                <A href=routes::HOME>{i18n.t(Msg::HospitalsTitle)}</A>
            </nav>
            <header class="page-header">
                <h1>{move || i18n.pick(&hospital.name)}</h1>
                <p class="card-meta">
                    {hospital.level.map(|l| view! { <span class="badge">{i18n.t(level_msg(l))}</span> })}
                    <span>{move || i18n.pick(&hospital.address)}</span>
                </p>
                <p>
                    {i18n.t(Msg::Phone)}": "
                    <a href=format!("tel:{}", hospital.phone)>{hospital.phone.clone()}</a>
                </p>
            </header>
            <h2>{i18n.t(Msg::DepartmentsTitle)}</h2>
            <SearchField label=Msg::SearchDepartments value=Signal::derive(move || q.get().unwrap_or_default()) on_input=Callback::new(move |v| set_query.run(vec![("q", v)])) />
            {move || {
                let shown = filter_departments(&groups, &q.get().unwrap_or_default());
                if shown.is_empty() {
                    return view! { <EmptyState message=Msg::NoDepartments /> }.into_any();
                }
                shown
                    .into_iter()
                    .map(|group| {
                        let links = group
                            .departments
                            .into_iter()
                            .map(|d| {
                                let href = routes::Department::new(&hospital_id, &d.id).href();
                                view! {
                                    <li>
                                        <A href=href attr:class="list-link">{move || i18n.pick(&d.name)}</A>
                                    </li>
                                }
                            })
                            .collect_view();
                        view! {
                            <section class="department-group">
                                <h3>{move || i18n.pick(&group.name)}</h3>
                                <ul class="link-grid">{links}</ul>
                            </section>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
        }
    })
}

/// The answer for an id that is not well formed: the same as an id the server does not know.
pub(super) fn not_found() -> ApiError {
    ApiError::Problem(Box::new(fairslot_core::Problem {
        type_uri: fairslot_core::ProblemKind::NotFound.type_uri(),
        title: "Not found".into(),
        status: 404,
        detail: None,
        errors: Vec::new(),
        alternatives: Vec::new(),
        ..Default::default()
    }))
}
