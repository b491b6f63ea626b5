//! The root: read the config, then either explain what is wrong with it or start the shell with
//! the configured backend and the route table.

use fairslot_core::config::{Config, ConfigError, ConfigProblem, Locale, Mode};
use leptos::prelude::*;
use leptos_router::components::{A, FlatRoutes, Route, Router};
use leptos_router::hooks::use_location;

use crate::api::{self, provide_api};
use crate::booking::{provide_draft, use_draft};
use crate::browser;
use crate::components::{LangSwitch, OutboxBannerSlot, StaleNotice};
use crate::config::{self, ConfigState, Preselection};
use crate::i18n::{Msg, provide_i18n, use_i18n};
use crate::modes::{Kiosk, KioskGuard, provide_host_link};
use crate::offline::{Reads, provide_reads, use_reads};
use crate::pages::{HospitalsPage, NotFound};
use crate::parts::{
    BookPart, ConfirmationPart, DepartmentPart, EmbedBridgePart, HospitalPart, LedgerPart,
    MyBookingsPart, SchedulePart,
};
use crate::routes::{self, patterns};
use fairslot_core::embed::allowed_parent;

/// The locale before the config is known: URL, then a stored choice, then the browser's.
fn early_locale() -> Option<Locale> {
    browser::url_narrowing()
        .locale
        .or_else(|| browser::stored_locale().as_deref().and_then(Locale::parse))
}

#[component]
pub fn App() -> impl IntoView {
    let explicit = early_locale();
    let i18n = provide_i18n(
        explicit
            .or_else(|| {
                browser::navigator_language()
                    .as_deref()
                    .and_then(Locale::parse)
            })
            .unwrap_or_default(),
    );
    Effect::new(move |_| browser::set_document_lang(i18n.locale.get().tag()));

    let config = LocalResource::new(config::load);
    view! {
        {move || match config.get() {
            None => view! { <p class="splash" role="status">{i18n.t(Msg::Loading)}</p> }.into_any(),
            Some(ConfigState::Ready(cfg)) => {
                if explicit.is_none() {
                    i18n.locale.set(cfg.narrowed(&browser::url_narrowing()).0);
                }
                // Framed by a page the config does not allow (in phone and kiosk mode: by any
                // page), the app shows nothing but a refusal: it would otherwise let any site wrap
                // it, overlay it and watch its messages.
                let framed = browser::parent_window().is_some();
                let parent = match &cfg.mode {
                    _ if !framed => None,
                    Mode::Embed { allowed_origins, .. } => {
                        allowed_parent(&browser::embedder_origins(), allowed_origins)
                    }
                    _ => None,
                };
                if framed && parent.is_none() {
                    return view! { <ConfigScreen problem=ConfigScreenProblem::Framing /> }.into_any();
                }
                let mut cfg = cfg;
                // A channel and a theme are taken from the URL only from an allowed partner's page.
                if parent.is_some() {
                    let narrowing = browser::url_narrowing();
                    cfg.channel = cfg.channel_for(&narrowing);
                    cfg.theme = cfg.theme_for(&narrowing);
                }
                let reads = Reads::new(api::from_config(&cfg), cfg.adapter);
                provide_api(reads.api());
                provide_reads(reads);
                view! { <Shell config=cfg parent=parent /> }.into_any()
            }
            Some(ConfigState::Invalid(errors)) => {
                view! { <ConfigScreen problem=ConfigScreenProblem::Invalid(errors) /> }.into_any()
            }
            Some(ConfigState::Unreachable) => {
                view! { <ConfigScreen problem=ConfigScreenProblem::Unreachable /> }.into_any()
            }
        }}
    }
}

/// What the config screen explains.
#[derive(Debug, Clone, PartialEq)]
enum ConfigScreenProblem {
    Invalid(Vec<ConfigError>),
    Unreachable,
    /// Framed by a page whose origin the config does not allow.
    Framing,
}

fn problem_text(problem: &ConfigProblem, locale: Locale) -> String {
    let with = |msg: Msg, arg: &str| msg.text(locale).replacen("{}", arg, 1);
    match problem {
        ConfigProblem::NotJson(detail) => with(Msg::ConfigNotJson, detail),
        ConfigProblem::Missing => Msg::ConfigMissing.text(locale).into(),
        ConfigProblem::WrongType(t) => with(Msg::ConfigWrongType, t),
        ConfigProblem::OneOf(allowed) => with(Msg::ConfigOneOf, &allowed.join(", ")),
        ConfigProblem::BadUrl => Msg::ConfigBadUrl.text(locale).into(),
        ConfigProblem::BadOrigin => Msg::ConfigBadOrigin.text(locale).into(),
        ConfigProblem::Empty => Msg::ConfigEmpty.text(locale).into(),
        ConfigProblem::OutOfRange { min, max } => {
            with(Msg::ConfigOutOfRange, &format!("{min}–{max}"))
        }
        ConfigProblem::BadValue => Msg::ConfigBadValue.text(locale).into(),
        ConfigProblem::FhirOnly => Msg::ConfigFhirOnly.text(locale).into(),
    }
}

#[component]
fn ConfigScreen(problem: ConfigScreenProblem) -> impl IntoView {
    let i18n = use_i18n();
    let body = match problem {
        ConfigScreenProblem::Unreachable => view! {
            <p>{i18n.t(Msg::ConfigUnreachable)}</p>
            <button class="button" on:click=|_| browser::reload()>{i18n.t(Msg::Retry)}</button>
        }
        .into_any(),
        ConfigScreenProblem::Framing => view! { <p>{i18n.t(Msg::ConfigFraming)}</p> }.into_any(),
        ConfigScreenProblem::Invalid(errors) => {
            let rows = errors
                .into_iter()
                .map(|e| {
                    let field = if e.field.is_empty() {
                        "config.json".to_string()
                    } else {
                        e.field
                    };
                    view! {
                        <li>
                            <span class="visually-hidden">{i18n.t(Msg::ConfigField)}" "</span>
                            <code class="config-field">{field}</code>
                            " — "
                            <span>{move || problem_text(&e.problem, i18n.locale.get())}</span>
                        </li>
                    }
                })
                .collect_view();
            view! {
                <p>{i18n.t(Msg::ConfigIntro)}</p>
                <ul class="config-errors">{rows}</ul>
            }
            .into_any()
        }
    };
    view! {
        <header class="topbar">
            <span class="brand">{i18n.t(Msg::AppName)}</span>
            <LangSwitch />
        </header>
        <main id="main" class="page config-screen">
            <h1>{i18n.t(Msg::ConfigTitle)}</h1>
            {body}
        </main>
    }
}

/// The app proper: top bar, language switch, routes.
#[component]
fn Shell(
    config: Config,
    /// The framing page's origin, when embedded by an allowed one.
    parent: Option<String>,
) -> impl IntoView {
    let i18n = use_i18n();
    browser::set_css_properties(&config.theme.css_properties());
    let mode = match &config.mode {
        Mode::Phone => "phone",
        Mode::Kiosk { .. } => "kiosk",
        Mode::Embed { .. } => "embed",
    };
    browser::set_root_attribute("data-mode", mode);
    let narrowing = browser::url_narrowing();
    let preselected = config.narrowed(&narrowing).1;
    provide_context(Preselection {
        department: preselected.as_ref().and(narrowing.department.clone()),
        hospital: preselected,
        pinned: config.hospital.clone(),
    });
    provide_draft();
    // A kiosk is shared by strangers: what one patient confirmed never outlives the page there,
    // and nothing is kept in the browser's storage for the next one.
    let kiosk = match config.mode {
        Mode::Kiosk { idle_seconds } => Some(idle_seconds),
        _ => None,
    };
    if kiosk.is_some() {
        provide_context(Kiosk);
        browser::set_shared_screen(true);
    }
    crate::offline::provide_outbox(api::use_api(), use_reads(), use_draft(), kiosk.is_some());
    provide_context(crate::pages::ledger::Ledger(
        api::ledger::LedgerSource::from_config(&config).map(std::sync::Arc::new),
    ));
    if let Some(origin) = &parent {
        provide_host_link(origin.clone());
    }

    view! {
        <Router>
            <FocusOnNavigate />
            {kiosk.map(|idle_seconds| view! { <KioskGuard idle_seconds=idle_seconds /> })}
            {parent.map(|origin| view! { <EmbedBridgePart parent_origin=origin /> })}
            <a class="skip-link" href="#main">{i18n.t(Msg::SkipToContent)}</a>
            <header class="topbar" id="topbar">
                <A href=routes::HOME attr:class="brand">{i18n.t(Msg::AppName)}</A>
                <nav class="topnav" aria-label=i18n.t(Msg::AppName)>
                    <A href=routes::MY_BOOKINGS attr:class="topnav-link">{i18n.t(Msg::MyBookings)}</A>
                    <LangSwitch />
                </nav>
            </header>
            <main id="main" class="page" tabindex="-1">
                <StaleNotice />
                <OutboxBannerSlot />
                <FlatRoutes fallback=NotFound>
                    <Route path=patterns::home() view=HospitalsPage />
                    <Route path=patterns::hospital() view=HospitalPart />
                    <Route path=patterns::department() view=DepartmentPart />
                    <Route path=patterns::department_schedule() view=SchedulePart />
                    <Route path=patterns::doctor() view=SchedulePart />
                    <Route path=patterns::book() view=BookPart />
                    <Route path=patterns::my_bookings() view=MyBookingsPart />
                    <Route path=patterns::booking() view=ConfirmationPart />
                    <Route path=patterns::ledger() view=LedgerPart />
                </FlatRoutes>
            </main>
            // Anyone may check the ledger; a kiosk's patients have a booking to finish instead.
            {kiosk.is_none().then(|| view! {
                <footer class="footer">
                    <A href=routes::LEDGER attr:class="footer-link">{i18n.t(Msg::LedgerTitle)}</A>
                </footer>
            })}
        </Router>
    }
}

/// Moves focus to the main region when the route changes, so keyboard and screen-reader users
/// start at the new page's content instead of a link that no longer exists.
#[component]
fn FocusOnNavigate() -> impl IntoView {
    let location = use_location();
    let reads = use_reads();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|p| p != path) {
            browser::focus("main");
            reads.on_navigate();
        }
        path
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gateway_set_for_the_native_api_is_explained_in_both_languages() {
        let errors = fairslot_core::config::parse(
            r#"{"api":{"kind":"native","base_urls":["/api/v1"],"gateway":true},"channel":"web"}"#,
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "api.gateway");
        assert!(problem_text(&errors[0].problem, Locale::En).contains("FHIR"));
        assert!(problem_text(&errors[0].problem, Locale::ZhCn).contains("FHIR"));
        let errors = fairslot_core::config::parse(
            r#"{"api":{"kind":"fhir","base_urls":["/fhir"],"gateway":"yes"},"channel":"web"}"#,
        )
        .unwrap_err();
        assert_eq!(
            problem_text(&errors[0].problem, Locale::En),
            "Wrong type; expected boolean"
        );
    }
}
