//! The framework floor: see Cargo.toml.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::hooks::use_params_map;
use leptos_router::path;
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct Config {
    api: String,
}

#[derive(Clone, Deserialize)]
struct Hospital {
    id: String,
    name: String,
    level: String,
    address: String,
    district: String,
    has_slots_today: bool,
}

async fn get<T: serde::de::DeserializeOwned>(url: &str) -> Result<T, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

async fn hospitals() -> Result<Vec<Hospital>, String> {
    let config: Config = get("/config.json").await?;
    get(&format!("{}/api/v1/hospitals", config.api)).await
}

#[component]
fn HospitalList() -> impl IntoView {
    let query = RwSignal::new(String::new());
    let list = LocalResource::new(hospitals);
    view! {
        <input type="search" prop:value=query on:input=move |e| query.set(event_target_value(&e)) />
        <Suspense fallback=|| view! { <p>"…"</p> }>
            {move || list.get().map(|result| match result {
                Ok(hospitals) => view! {
                    <ul>
                        {hospitals
                            .into_iter()
                            .filter(|h| h.name.contains(&query.get()))
                            .map(|h| view! {
                                <li>
                                    <a href=format!("/hospitals/{}", h.id)>{h.name}</a>
                                    <span>{h.level}</span>
                                    <span>{h.district}</span>
                                    <span>{h.address}</span>
                                    {h.has_slots_today.then_some("✓")}
                                </li>
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
                Err(error) => view! {
                    <p role="alert">{error}</p>
                    <button on:click=move |_| list.refetch()>"↻"</button>
                }
                .into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Elsewhere() -> impl IntoView {
    let params = use_params_map();
    view! { <p>{move || params.read().get("id")}</p> }
}

fn main() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(|| {
        view! {
            <Router>
                <main>
                    <Routes fallback=|| "404">
                        <Route path=path!("/") view=HospitalList />
                        <Route path=path!("/hospitals/:id") view=Elsewhere />
                        <Route path=path!("/hospitals/:id/departments/:d") view=Elsewhere />
                        <Route path=path!("/schedule/:id") view=Elsewhere />
                        <Route path=path!("/book/:id") view=Elsewhere />
                        <Route path=path!("/bookings") view=Elsewhere />
                        <Route path=path!("/bookings/:id") view=Elsewhere />
                    </Routes>
                </main>
            </Router>
        }
    });
}
