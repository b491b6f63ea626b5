//! Loads `config.json` at start. Whatever is wrong with it ends on a screen that says so.

use fairslot_core::config::{self, Config, ConfigError};
use gloo_net::http::Request;

/// Where the runtime config is served from, next to `index.html`.
const CONFIG_URL: &str = "/config.json";

/// A hospital chosen by the deployment or by the page URL, opened instead of the list.
#[derive(Debug, Clone)]
pub struct Preselection {
    pub hospital: Option<String>,
    /// A department of that hospital to open instead of the hospital's page.
    pub department: Option<String>,
    /// The one hospital a deployment serves, if it is pinned to one: no URL reaches another.
    pub pinned: Option<String>,
}

/// The outcome of loading the config.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigState {
    Ready(Config),
    /// The file was read but is wrong; each error names a field.
    Invalid(Vec<ConfigError>),
    /// The file could not be fetched at all (offline, 404, server error).
    Unreachable,
}

pub async fn load() -> ConfigState {
    // Default cache mode, so the response preloaded by index.html is used; the server marks the
    // file `no-cache`, so a changed config is still picked up on the next start.
    let response = Request::get(CONFIG_URL).send().await;
    let Ok(response) = response else {
        return ConfigState::Unreachable;
    };
    if !response.ok() {
        return ConfigState::Unreachable;
    }
    match response.text().await {
        Ok(text) => match config::parse(&text) {
            Ok(config) => ConfigState::Ready(config),
            Err(errors) => ConfigState::Invalid(errors),
        },
        Err(_) => ConfigState::Unreachable,
    }
}
