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

use crate::config::{Theme, is_css_length, is_font_family, is_hex_colour};

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

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    pub fn parse(hex: &str) -> Option<Self> {
        let h = hex.strip_prefix('#')?;
        let byte = |s: &str| u8::from_str_radix(s, 16).ok();
        match h.len() {
            3 => {
                let d: Vec<u8> = h
                    .chars()
                    .map(|c| c.to_digit(16).map(|v| (v * 17) as u8))
                    .collect::<Option<_>>()?;
                Some(Self(d[0], d[1], d[2]))
            }
            6 => Some(Self(byte(&h[0..2])?, byte(&h[2..4])?, byte(&h[4..6])?)),
            _ => None,
        }
    }

    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// WCAG 2 relative luminance.
    fn luminance(self) -> f64 {
        let lin = |c: u8| {
            let c = f64::from(c) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    fn darker(self, amount: f64) -> Self {
        let d = |c: u8| (f64::from(c) * (1.0 - amount)).round() as u8;
        Self(d(self.0), d(self.1), d(self.2))
    }
}

/// WCAG 2 contrast ratio of two colours, 1 to 21.
pub fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (x, y) = (a.luminance(), b.luminance());
    let (hi, lo) = if x > y { (x, y) } else { (y, x) };
    (hi + 0.05) / (lo + 0.05)
}

/// The backgrounds the brand colour meets: white text on it (buttons, the top bar) and it as text
/// on the page's light surfaces (links).
const LIGHT_SURFACES: [Rgb; 2] = [Rgb(0xff, 0xff, 0xff), Rgb(0xf3, 0xf6, 0xf5)];

/// The least contrast text must keep (WCAG 1.4.3, AA).
pub const MIN_CONTRAST: f64 = 4.5;

/// A brand colour that keeps 4.5:1 against white and the page's light surfaces: the colour itself
/// when it does, else the same hue darkened just enough.
pub fn readable_brand(hex: &str) -> Option<String> {
    let colour = Rgb::parse(hex)?;
    let ok = |c: Rgb| {
        LIGHT_SURFACES
            .iter()
            .all(|s| contrast(c, *s) >= MIN_CONTRAST)
    };
    (0..=20)
        .map(|step| colour.darker(f64::from(step) * 0.05))
        .find(|c| ok(*c))
        .map(|c| {
            if c == colour {
                hex.to_string()
            } else {
                c.hex()
            }
        })
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

    #[test]
    fn themes_keep_text_readable() {
        // The default green passes as it is.
        assert_eq!(readable_brand("#0b6e4f").as_deref(), Some("#0b6e4f"));
        // A pale yellow is darkened until white text on it (and it on white) reads at 4.5:1.
        let fixed = readable_brand("#ffd60a").unwrap();
        let c = Rgb::parse(&fixed).unwrap();
        for s in LIGHT_SURFACES {
            assert!(contrast(c, s) >= MIN_CONTRAST, "{fixed}");
        }
        assert_ne!(fixed, "#ffd60a");
        assert_eq!(readable_brand("#fff").map(|h| h.len()), Some(7));
        assert_eq!(readable_brand("not a colour"), None);
        assert!((contrast(Rgb(0, 0, 0), Rgb(255, 255, 255)) - 21.0).abs() < 1e-9);
    }
}
