//! Embedding in a partner's page: the postMessage protocol between the app (in an iframe) and
//! the host page, which parent origin the app may talk to, and themes that stay readable.
//!
//! Every message is a JSON object `{ "source", "version", "type", … }`: `source` is
//! [`APP_SOURCE`] from the app and [`HOST_SOURCE`] from the host, `version` is [`VERSION`].
//!
//! | from | type | fields |
//! |---|---|---|
//! | app | `ready` | — |
//! | app | `resized` | `height` (CSS px of the whole document) |
//! | app | `route` | `path` (the app's path; never a query) |
//! | app | `booking-confirmed` | `code`, `start` (RFC 3339): nothing about the patient |
//! | app | `booking-failed` | `reason` (`slot-taken`, `validation`, …) |
//! | host | `theme` | `theme`: `{ "brand", "radius", "font" }`, each optional |

use serde_json::{Value, json};

use crate::theme::{Theme, is_css_length, is_font_family, is_hex_colour};

pub const APP_SOURCE: &str = "fairslot";
pub const HOST_SOURCE: &str = "fairslot-host";
pub const VERSION: u64 = 1;

/// What the app tells its host.
#[derive(Debug, Clone, PartialEq)]
pub enum ToHost {
    Ready,
    Resized { height: u32 },
    Route { path: String },
    BookingConfirmed { code: String, start: String },
    BookingFailed { reason: String },
}

impl ToHost {
    pub fn to_json(&self) -> Value {
        let mut m = json!({ "source": APP_SOURCE, "version": VERSION });
        let (kind, extra) = match self {
            Self::Ready => ("ready", json!({})),
            Self::Resized { height } => ("resized", json!({ "height": height })),
            Self::Route { path } => ("route", json!({ "path": path })),
            Self::BookingConfirmed { code, start } => {
                ("booking-confirmed", json!({ "code": code, "start": start }))
            }
            Self::BookingFailed { reason } => ("booking-failed", json!({ "reason": reason })),
        };
        m["type"] = json!(kind);
        if let (Some(m), Value::Object(extra)) = (m.as_object_mut(), extra) {
            m.extend(extra);
        }
        m
    }
}

/// What a host may ask of the app. Anything else, of another version, or with a value that does
/// not pass the config's own checks, is no message at all.
#[derive(Debug, Clone, PartialEq)]
pub enum FromHost {
    Theme(Theme),
}

impl FromHost {
    pub fn parse(data: &Value) -> Option<Self> {
        if data.get("source")?.as_str()? != HOST_SOURCE || data.get("version")?.as_u64()? != VERSION
        {
            return None;
        }
        match data.get("type")?.as_str()? {
            "theme" => {
                let t = data.get("theme")?;
                let pick = |name: &str, check: fn(&str) -> bool| -> Result<Option<String>, ()> {
                    match t.get(name) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) if check(s) => Ok(Some(s.clone())),
                        Some(_) => Err(()),
                    }
                };
                Some(Self::Theme(Theme {
                    brand: pick("brand", is_hex_colour).ok()?,
                    radius: pick("radius", is_css_length).ok()?,
                    font: pick("font", is_font_family).ok()?,
                }))
            }
            _ => None,
        }
    }
}

/// The origin (`scheme://host[:port]`) of an absolute http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "http" && scheme != "https" {
        return None;
    }
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty() && !host.contains('@')).then(|| format!("{scheme}://{host}"))
}

/// The parent origin the app may talk to: the page that embeds it, if the config allows that
/// origin exactly — and every page above it too, so an allowed portal framed by a stranger does
/// not carry the app along. `ancestors` is what the browser says, nearest first (the ancestor
/// origins, or the referrer's origin where the browser lists none).
pub fn allowed_parent(ancestors: &[String], allowed: &[String]) -> Option<String> {
    let parent = ancestors.first()?;
    ancestors
        .iter()
        .all(|a| allowed.contains(a))
        .then(|| parent.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_to_the_host_are_namespaced_and_versioned() {
        let m = ToHost::BookingConfirmed {
            code: "K7Q4-M2XP".into(),
            start: "2026-12-02T08:00:00+08:00".into(),
        }
        .to_json();
        assert_eq!(
            m,
            json!({ "source": "fairslot", "version": 1, "type": "booking-confirmed",
                "code": "K7Q4-M2XP", "start": "2026-12-02T08:00:00+08:00" })
        );
        assert_eq!(ToHost::Resized { height: 812 }.to_json()["height"], 812);
        assert_eq!(ToHost::Ready.to_json()["type"], "ready");
    }

    #[test]
    fn only_well_formed_host_messages_of_this_version_are_read() {
        let theme = json!({ "source": "fairslot-host", "version": 1, "type": "theme",
            "theme": { "brand": "#7b2cbf", "radius": "4px" } });
        assert_eq!(
            FromHost::parse(&theme),
            Some(FromHost::Theme(Theme {
                brand: Some("#7b2cbf".into()),
                radius: Some("4px".into()),
                font: None
            }))
        );
        for bad in [
            json!({ "source": "other", "version": 1, "type": "theme", "theme": {} }),
            json!({ "source": "fairslot-host", "version": 2, "type": "theme", "theme": {} }),
            json!({ "source": "fairslot-host", "version": 1, "type": "navigate", "to": "/x" }),
            json!({ "source": "fairslot-host", "version": 1, "type": "theme",
                "theme": { "brand": "red; background: url(x)" } }),
            json!("fairslot-host"),
        ] {
            assert_eq!(FromHost::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_parent_must_be_an_allowed_origin_exactly() {
        let allowed = vec!["https://portal.example".to_string()];
        let chain = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            allowed_parent(&chain(&["https://portal.example"]), &allowed).as_deref(),
            Some("https://portal.example")
        );
        for other in [
            "https://portal.example.evil",
            "http://portal.example",
            "https://evil.example",
        ] {
            assert_eq!(allowed_parent(&chain(&[other]), &allowed), None, "{other}");
        }
        assert_eq!(allowed_parent(&[], &allowed), None);
        // The allowed portal, itself framed by a stranger.
        assert_eq!(
            allowed_parent(
                &chain(&["https://portal.example", "https://evil.example"]),
                &allowed
            ),
            None
        );
        assert_eq!(
            origin_of("https://portal.example:8443/page?x=1").as_deref(),
            Some("https://portal.example:8443")
        );
        assert_eq!(origin_of("javascript:alert(1)"), None);
        assert_eq!(origin_of("https://user@evil.example/"), None);
    }
}
