//! Runtime config (`config.json`): validated into typed values, with every bad field named.
//!
//! The same static build is deployed by many parties; each points it at its own booking API here.
//! A broken config must produce a screen that says which field to fix, so validation walks the
//! JSON by hand and collects all problems instead of stopping at serde's first error.

use serde_json::{Map, Value};
use std::fmt;

use crate::contract::is_channel_id;
use crate::theme::{Theme, is_css_length, is_font_family, is_hex_colour};

/// UI languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    ZhCn,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::ZhCn, Locale::En];

    /// BCP 47 tag, as used in `lang` attributes, config and URLs.
    pub fn tag(self) -> &'static str {
        match self {
            Self::ZhCn => "zh-CN",
            Self::En => "en",
        }
    }

    /// Accepts `zh-CN`, `zh`, `zh-Hans`, `en`, `en-GB`… case-insensitively.
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "zh" => Some(Self::ZhCn),
            "en" => Some(Self::En),
            _ => None,
        }
    }
}

/// Which booking API protocol the deployment speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdapterKind {
    /// Fairslot's documented JSON API (`/api/v1`), e.g. the reference server.
    Native,
    /// An HL7 FHIR R4 server.
    Fhir,
}

/// Where the app runs, and how it behaves there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Phone,
    Kiosk {
        idle_seconds: u32,
    },
    Embed {
        /// Pages that may embed the app, exactly (`scheme://host[:port]`).
        allowed_origins: Vec<String>,
        /// Channel ids an embedding page may name in the iframe's URL (`channel=`), besides the
        /// config's own `channel`. Partners sharing one deployment are told apart this way.
        channels: Vec<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub adapter: AdapterKind,
    /// API roots in failover order, without a trailing slash.
    pub base_urls: Vec<String>,
    /// How long one request may take before it counts as unanswered (`api.timeout_ms`).
    pub timeout_ms: u32,
    /// FHIR only (`api.gateway`): the reference server stands in front of the FHIR server at the
    /// same base URLs, so that lookup and cancel are proven there (see
    /// [`crate::fhir::gateway`]). Always false for the native API.
    pub gateway: bool,
    pub channel: String,
    pub locale: Locale,
    pub mode: Mode,
    pub theme: Theme,
    /// When set, the deployment serves this one hospital only.
    pub hospital: Option<String>,
}

/// What is wrong with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigProblem {
    /// The file is not JSON at all; carries the parser's message.
    NotJson(String),
    Missing,
    /// Present but of another JSON type; carries the expected type.
    WrongType(&'static str),
    /// One of a fixed set of values was expected; carries the allowed values.
    OneOf(&'static [&'static str]),
    /// A URL that is neither same-origin (`/…`) nor http(s).
    BadUrl,
    /// An origin must be `scheme://host[:port]` with nothing after it.
    BadOrigin,
    /// A list that must not be empty.
    Empty,
    /// A number outside its allowed range.
    OutOfRange {
        min: u64,
        max: u64,
    },
    /// Characters outside the allowed set for this field.
    BadValue,
    /// A field that only means something with `api.kind` `fhir`.
    FhirOnly,
}

/// One bad field, named by its JSON path, e.g. `api.base_urls[1]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub problem: ConfigProblem,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.field, self.problem)
    }
}

const ADAPTERS: &[&str] = &["native", "fhir"];
/// Per-request timeout when the config names none: long enough for a slow hospital system on a
/// mobile network, short enough that a patient is told rather than left looking at a spinner.
pub const DEFAULT_TIMEOUT_MS: u32 = 12_000;
const MODES: &[&str] = &["phone", "kiosk", "embed"];
const LOCALES: &[&str] = &["zh-CN", "en"];

/// Parses and validates `config.json`, reporting every problem found.
pub fn parse(text: &str) -> Result<Config, Vec<ConfigError>> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        vec![ConfigError {
            field: String::new(),
            problem: ConfigProblem::NotJson(e.to_string()),
        }]
    })?;
    validate(&value)
}

/// Collects errors while walking the document.
struct Walker {
    errors: Vec<ConfigError>,
}

impl Walker {
    fn fail(&mut self, field: impl Into<String>, problem: ConfigProblem) {
        self.errors.push(ConfigError {
            field: field.into(),
            problem,
        });
    }

    fn object<'a>(&mut self, v: Option<&'a Value>, field: &str) -> Option<&'a Map<String, Value>> {
        match v {
            None | Some(Value::Null) => {
                self.fail(field, ConfigProblem::Missing);
                None
            }
            Some(Value::Object(m)) => Some(m),
            Some(_) => {
                self.fail(field, ConfigProblem::WrongType("object"));
                None
            }
        }
    }

    /// A string field; `required` decides whether absence is an error.
    fn string<'a>(&mut self, v: Option<&'a Value>, field: &str, required: bool) -> Option<&'a str> {
        match v {
            None | Some(Value::Null) => {
                if required {
                    self.fail(field, ConfigProblem::Missing);
                }
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(field, ConfigProblem::WrongType("string"));
                None
            }
        }
    }

    fn one_of<'a>(
        &mut self,
        v: Option<&'a Value>,
        field: &str,
        allowed: &'static [&'static str],
    ) -> Option<&'a str> {
        let s = self.string(v, field, true)?;
        if allowed.contains(&s) {
            Some(s)
        } else {
            self.fail(field, ConfigProblem::OneOf(allowed));
            None
        }
    }

    fn string_list(&mut self, v: Option<&Value>, field: &str) -> Option<Vec<String>> {
        match v {
            None | Some(Value::Null) => {
                self.fail(field, ConfigProblem::Missing);
                None
            }
            Some(Value::Array(items)) if items.is_empty() => {
                self.fail(field, ConfigProblem::Empty);
                None
            }
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if let Some(s) = self.string(Some(item), &format!("{field}[{i}]"), true) {
                        out.push(s.to_string());
                    }
                }
                (out.len() == items.len()).then_some(out)
            }
            Some(_) => {
                self.fail(field, ConfigProblem::WrongType("array"));
                None
            }
        }
    }

    /// An optional boolean: absent is `false`.
    fn boolean(&mut self, v: Option<&Value>, field: &str) -> Option<bool> {
        match v {
            None | Some(Value::Null) => Some(false),
            Some(Value::Bool(b)) => Some(*b),
            Some(_) => {
                self.fail(field, ConfigProblem::WrongType("boolean"));
                None
            }
        }
    }

    fn integer(&mut self, v: Option<&Value>, field: &str, min: u64, max: u64) -> Option<u64> {
        match v {
            None | Some(Value::Null) => {
                self.fail(field, ConfigProblem::Missing);
                None
            }
            Some(Value::Number(n)) => match n.as_u64() {
                Some(x) if (min..=max).contains(&x) => Some(x),
                _ => {
                    self.fail(field, ConfigProblem::OutOfRange { min, max });
                    None
                }
            },
            Some(_) => {
                self.fail(field, ConfigProblem::WrongType("integer"));
                None
            }
        }
    }
}

/// A base URL: same-origin path or absolute http(s), no credentials, no whitespace or quotes.
pub fn is_valid_base_url(url: &str) -> bool {
    let rest = if url.starts_with('/') {
        Some(url)
    } else {
        url.strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .filter(|r| {
                let host = r.split('/').next().unwrap_or("");
                !host.is_empty() && !host.contains('@')
            })
    };
    rest.is_some_and(|r| {
        !url.starts_with("//")
            && r.chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '<' | '>' | '\\'))
    })
}

/// An origin: `http(s)://host[:port]`, nothing more.
pub fn is_valid_origin(origin: &str) -> bool {
    let Some(host) = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
    else {
        return false;
    };
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'))
}

/// Validates an already-parsed config document.
pub fn validate(root: &Value) -> Result<Config, Vec<ConfigError>> {
    let mut w = Walker { errors: Vec::new() };
    let Some(root) = w.object(Some(root), "(root)") else {
        return Err(w.errors);
    };

    let api = w.object(root.get("api"), "api");
    let adapter = api
        .and_then(|a| w.one_of(a.get("kind"), "api.kind", ADAPTERS))
        .map(|k| {
            if k == "fhir" {
                AdapterKind::Fhir
            } else {
                AdapterKind::Native
            }
        });
    let base_urls = api
        .and_then(|a| w.string_list(a.get("base_urls"), "api.base_urls"))
        .and_then(|urls| {
            let before = w.errors.len();
            for (i, url) in urls.iter().enumerate() {
                if !is_valid_base_url(url) {
                    w.fail(format!("api.base_urls[{i}]"), ConfigProblem::BadUrl);
                }
            }
            (w.errors.len() == before).then(|| {
                urls.into_iter()
                    .map(|u| u.trim_end_matches('/').to_string())
                    .collect()
            })
        });

    let timeout_ms = match api.and_then(|a| a.get("timeout_ms")) {
        None | Some(Value::Null) => Some(DEFAULT_TIMEOUT_MS),
        v => w
            .integer(v, "api.timeout_ms", 1_000, 120_000)
            .map(|ms| ms as u32),
    };

    // The native API proves lookups itself: a gateway there is a mistake worth naming.
    let gateway = api
        .and_then(|a| w.boolean(a.get("gateway"), "api.gateway"))
        .and_then(|on| {
            if on && adapter == Some(AdapterKind::Native) {
                w.fail("api.gateway", ConfigProblem::FhirOnly);
                None
            } else {
                Some(on)
            }
        });

    let channel = w
        .string(root.get("channel"), "channel", true)
        .and_then(|c| {
            if is_channel_id(c) {
                Some(c.to_string())
            } else {
                w.fail("channel", ConfigProblem::BadValue);
                None
            }
        });

    let locale = match root.get("locale") {
        None | Some(Value::Null) => Some(Locale::default()),
        v => w.one_of(v, "locale", LOCALES).and_then(Locale::parse),
    };

    let mode = match root.get("mode") {
        None | Some(Value::Null) => Some(Mode::Phone),
        v => {
            w.object(v, "mode")
                .and_then(|m| match w.one_of(m.get("kind"), "mode.kind", MODES)? {
                    "kiosk" => {
                        let idle =
                            w.integer(m.get("idle_seconds"), "mode.idle_seconds", 30, 3600)?;
                        Some(Mode::Kiosk {
                            idle_seconds: idle as u32,
                        })
                    }
                    "embed" => {
                        let origins =
                            w.string_list(m.get("allowed_origins"), "mode.allowed_origins")?;
                        let before = w.errors.len();
                        for (i, o) in origins.iter().enumerate() {
                            if !is_valid_origin(o) {
                                w.fail(
                                    format!("mode.allowed_origins[{i}]"),
                                    ConfigProblem::BadOrigin,
                                );
                            }
                        }
                        let channels = match m.get("channels") {
                            None | Some(Value::Null) => Vec::new(),
                            v => w.string_list(v, "mode.channels")?,
                        };
                        for (i, c) in channels.iter().enumerate() {
                            if !is_channel_id(c) {
                                w.fail(format!("mode.channels[{i}]"), ConfigProblem::BadValue);
                            }
                        }
                        (w.errors.len() == before).then_some(Mode::Embed {
                            allowed_origins: origins,
                            channels,
                        })
                    }
                    _ => Some(Mode::Phone),
                })
        }
    };

    let mut theme = Theme::default();
    let theme_object = root.get("theme").filter(|v| !v.is_null());
    if let Some(t) = theme_object.and_then(|t| w.object(Some(t), "theme")) {
        type Check = fn(&str) -> bool;
        let fields: [(&str, Check, &mut Option<String>); 3] = [
            ("brand", is_hex_colour, &mut theme.brand),
            ("radius", is_css_length, &mut theme.radius),
            ("font", is_font_family, &mut theme.font),
        ];
        for (name, check, slot) in fields {
            let field = format!("theme.{name}");
            match w.string(t.get(name), &field, false) {
                Some(v) if check(v) => *slot = Some(v.to_string()),
                Some(_) => w.fail(field, ConfigProblem::BadValue),
                None => {}
            }
        }
    }

    let hospital = w
        .string(root.get("hospital"), "hospital", false)
        .map(str::to_string);

    match (
        adapter, base_urls, timeout_ms, gateway, channel, locale, mode,
    ) {
        (
            Some(adapter),
            Some(base_urls),
            Some(timeout_ms),
            Some(gateway),
            Some(channel),
            Some(locale),
            Some(mode),
        ) if w.errors.is_empty() => Ok(Config {
            adapter,
            base_urls,
            timeout_ms,
            gateway,
            channel,
            locale,
            mode,
            theme,
            hospital,
        }),
        _ => Err(w.errors),
    }
}

/// What URL parameters may ask for. They narrow the config, never widen it: the API, channel and
/// mode are not settable from a URL at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlNarrowing {
    pub locale: Option<Locale>,
    pub hospital: Option<String>,
    /// A department of `hospital` to open (with a hospital only).
    pub department: Option<String>,
    /// An embedding page's channel, taken only when the config lists it.
    pub channel: Option<String>,
    /// An embedding page's theme, taken in embed mode only.
    pub theme: Theme,
}

impl UrlNarrowing {
    /// Reads `lang` and `hospital` from decoded query pairs; everything else is ignored.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let mut out = Self::default();
        for (k, v) in pairs {
            match k {
                "lang" => out.locale = Locale::parse(v),
                "hospital" if is_safe_id(v) => out.hospital = Some(v.to_string()),
                "department" if is_safe_id(v) => out.department = Some(v.to_string()),
                "channel" if is_channel_id(v) => out.channel = Some(v.to_string()),
                "brand" if is_hex_colour(v) => out.theme.brand = Some(v.to_string()),
                "radius" if is_css_length(v) => out.theme.radius = Some(v.to_string()),
                "font" if is_font_family(v) => out.theme.font = Some(v.to_string()),
                _ => {}
            }
        }
        out
    }
}

/// Ids that may be put into a path: letters, digits, `-`, `_` and `.` (FHIR ids have dots), at
/// most 80 (a FHIR id of 64 and the adapter's type prefix); never dots alone, which a URL parser
/// reads as `.` or `..`.
pub fn is_safe_id(s: &str) -> bool {
    (1..=80).contains(&s.len())
        && !s.bytes().all(|b| b == b'.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Config {
    /// The channel bookings carry: an embedding page's, when the config lists it for embedding;
    /// the config's own otherwise.
    pub fn channel_for(&self, n: &UrlNarrowing) -> String {
        match (&self.mode, &n.channel) {
            (Mode::Embed { channels, .. }, Some(asked)) if channels.contains(asked) => {
                asked.clone()
            }
            _ => self.channel.clone(),
        }
    }

    /// The theme: an embedding page may set its own over the config's; elsewhere a URL may not.
    pub fn theme_for(&self, n: &UrlNarrowing) -> Theme {
        match self.mode {
            Mode::Embed { .. } => self.theme.overlaid(&n.theme),
            _ => self.theme.clone(),
        }
    }

    /// Applies URL narrowing: a locale is always allowed; a hospital only if the deployment is not
    /// pinned to another one.
    pub fn narrowed(&self, n: &UrlNarrowing) -> (Locale, Option<String>) {
        let locale = n.locale.unwrap_or(self.locale);
        let hospital = match (&self.hospital, &n.hospital) {
            (Some(pinned), _) => Some(pinned.clone()),
            (None, asked) => asked.clone(),
        };
        (locale, hospital)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r##"{
        "api": {"kind": "native", "base_urls": ["/api/v1/", "https://backup.example.org/api/v1"]},
        "channel": "web",
        "locale": "en",
        "mode": {"kind": "kiosk", "idle_seconds": 90},
        "theme": {"brand": "#0b6e4f", "radius": "12px", "font": "\"Noto Sans SC\", sans-serif"},
        "unknown_future_field": true
    }"##;

    fn fields(text: &str) -> Vec<(String, ConfigProblem)> {
        parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.problem))
            .collect()
    }

    #[test]
    fn good_config_parses_with_trailing_slashes_trimmed() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.adapter, AdapterKind::Native);
        assert_eq!(c.base_urls[0], "/api/v1");
        assert_eq!(c.locale, Locale::En);
        assert_eq!(c.mode, Mode::Kiosk { idle_seconds: 90 });
        assert_eq!(c.theme.css_properties().len(), 3);
    }

    #[test]
    fn the_request_timeout_has_a_default_and_bounds() {
        let with = |t: &str| {
            format!(r#"{{"api":{{"kind":"native","base_urls":["/api/v1"]{t}}},"channel":"c1"}}"#)
        };
        assert_eq!(parse(&with("")).unwrap().timeout_ms, DEFAULT_TIMEOUT_MS);
        assert_eq!(
            parse(&with(r#","timeout_ms":2500"#)).unwrap().timeout_ms,
            2_500
        );
        assert_eq!(
            fields(&with(r#","timeout_ms":50"#)),
            [(
                "api.timeout_ms".to_string(),
                ConfigProblem::OutOfRange {
                    min: 1_000,
                    max: 120_000
                }
            )]
        );
        assert_eq!(
            fields(&with(r#","timeout_ms":"12s""#)),
            [(
                "api.timeout_ms".to_string(),
                ConfigProblem::WrongType("integer")
            )]
        );
    }

    #[test]
    fn the_fhir_gateway_is_off_unless_set_and_fhir_only() {
        let with = |kind: &str, g: &str| {
            format!(r#"{{"api":{{"kind":"{kind}","base_urls":["/fhir"]{g}}},"channel":"c1"}}"#)
        };
        assert!(!parse(&with("fhir", "")).unwrap().gateway);
        assert!(!parse(&with("native", "")).unwrap().gateway);
        assert!(!parse(&with("fhir", r#","gateway":null"#)).unwrap().gateway);
        assert!(parse(&with("fhir", r#","gateway":true"#)).unwrap().gateway);
        assert!(
            !parse(&with("native", r#","gateway":false"#))
                .unwrap()
                .gateway
        );
        // The native API checks proofs itself: a gateway named there is a misunderstanding.
        assert_eq!(
            fields(&with("native", r#","gateway":true"#)),
            [("api.gateway".to_string(), ConfigProblem::FhirOnly)]
        );
        for wrong in ["\"true\"", "1", "[]"] {
            assert_eq!(
                fields(&with("fhir", &format!(r#","gateway":{wrong}"#))),
                [(
                    "api.gateway".to_string(),
                    ConfigProblem::WrongType("boolean")
                )],
                "{wrong}"
            );
        }
        // A bad kind is reported once, not again as a gateway problem.
        assert_eq!(
            fields(&with("soap", r#","gateway":true"#)),
            [("api.kind".to_string(), ConfigProblem::OneOf(ADAPTERS))]
        );
    }

    #[test]
    fn minimal_config_defaults_to_phone_in_chinese() {
        let c = parse(r#"{"api":{"kind":"fhir","base_urls":["http://127.0.0.1:8103/fhir/R4"]},"channel":"c1"}"#).unwrap();
        assert_eq!(c.adapter, AdapterKind::Fhir);
        assert_eq!(c.mode, Mode::Phone);
        assert_eq!(c.locale, Locale::ZhCn);
    }

    #[test]
    fn not_json_is_reported_as_such() {
        assert!(matches!(fields("{oops")[0].1, ConfigProblem::NotJson(_)));
        assert_eq!(
            fields("[]"),
            [("(root)".to_string(), ConfigProblem::WrongType("object"))]
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let got = fields(
            r#"{"api":{"kind":"soap","base_urls":["/ok","javascript:alert(1)"]},
                "channel":"Web Portal","locale":"fr","mode":{"kind":"kiosk","idle_seconds":5},
                "theme":{"brand":"red; background:url(x)","radius":"9999px"}}"#,
        );
        let names: Vec<_> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            [
                "api.kind",
                "api.base_urls[1]",
                "channel",
                "locale",
                "mode.idle_seconds",
                "theme.brand",
                "theme.radius"
            ]
        );
        assert_eq!(got[0].1, ConfigProblem::OneOf(ADAPTERS));
        assert_eq!(got[4].1, ConfigProblem::OutOfRange { min: 30, max: 3600 });
    }

    #[test]
    fn missing_and_wrong_types() {
        let got = fields(r#"{"api":{"base_urls":"/api/v1"},"channel":7}"#);
        assert_eq!(
            got,
            [
                ("api.kind".to_string(), ConfigProblem::Missing),
                (
                    "api.base_urls".to_string(),
                    ConfigProblem::WrongType("array")
                ),
                ("channel".to_string(), ConfigProblem::WrongType("string")),
            ]
        );
        let got = fields(r#"{"api":{"kind":"native","base_urls":[]},"channel":"x"}"#);
        assert_eq!(got, [("api.base_urls".to_string(), ConfigProblem::Empty)]);
    }

    #[test]
    fn embed_origins_must_be_bare_origins() {
        let got = fields(
            r#"{"api":{"kind":"native","base_urls":["/api/v1"]},"channel":"p",
                "mode":{"kind":"embed","allowed_origins":["https://portal.example","*","https://a.example/path"]}}"#,
        );
        let names: Vec<_> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            ["mode.allowed_origins[1]", "mode.allowed_origins[2]"]
        );
    }

    #[test]
    fn urls() {
        for ok in [
            "/api/v1",
            "http://127.0.0.1:8080/api/v1",
            "https://h.example/fhir/R4",
        ] {
            assert!(is_valid_base_url(ok), "{ok}");
        }
        for bad in [
            "",
            "javascript:alert(1)",
            "//evil.example",
            "ftp://x",
            "https://",
            "http://u:p@h/x",
            "/a b",
        ] {
            assert!(!is_valid_base_url(bad), "{bad}");
        }
    }

    #[test]
    fn url_parameters_narrow_but_never_widen() {
        let c = parse(GOOD).unwrap();
        let n = UrlNarrowing::from_pairs([
            ("lang", "zh"),
            ("hospital", "h2"),
            ("api", "https://evil.example"),
            ("channel", "favoured"),
        ]);
        let (locale, hospital) = c.narrowed(&n);
        assert_eq!(locale, Locale::ZhCn);
        assert_eq!(hospital.as_deref(), Some("h2"));

        let pinned = Config {
            hospital: Some("h1".into()),
            ..c.clone()
        };
        assert_eq!(pinned.narrowed(&n).1.as_deref(), Some("h1"));

        let hostile = UrlNarrowing::from_pairs([("hospital", "../../admin"), ("lang", "xx")]);
        assert_eq!(hostile, UrlNarrowing::default());
        for dots in [".", ".."] {
            assert_eq!(
                UrlNarrowing::from_pairs([("hospital", dots)]).hospital,
                None
            );
        }
        assert!(is_safe_id("org.b-resp_2"));
        assert_eq!(c.narrowed(&hostile), (Locale::En, None));
    }

    #[test]
    fn an_embedding_page_may_pick_a_listed_channel_and_its_own_theme_only() {
        let embed = parse(
            r##"{"api":{"kind":"native","base_urls":["/api/v1"]},"channel":"web",
            "mode":{"kind":"embed","allowed_origins":["https://portal.example"],"channels":["partner-a"]},
            "theme":{"brand":"#0b6e4f"}}"##,
        )
        .unwrap();
        let asked = UrlNarrowing::from_pairs([
            ("channel", "partner-a"),
            ("brand", "#7b2cbf"),
            ("radius", "4px"),
            ("department", "h1-cardio"),
        ]);
        assert_eq!(embed.channel_for(&asked), "partner-a");
        assert_eq!(asked.department.as_deref(), Some("h1-cardio"));
        let theme = embed.theme_for(&asked);
        assert_eq!(
            (theme.brand.as_deref(), theme.radius.as_deref()),
            (Some("#7b2cbf"), Some("4px"))
        );
        // A channel the config does not list, or any channel outside embed mode, is ignored.
        let other = UrlNarrowing::from_pairs([("channel", "partner-z")]);
        assert_eq!(embed.channel_for(&other), "web");
        let phone =
            parse(r#"{"api":{"kind":"native","base_urls":["/api/v1"]},"channel":"web"}"#).unwrap();
        assert_eq!(phone.channel_for(&asked), "web");
        assert_eq!(phone.theme_for(&asked), Theme::default());
        // Values that fail the config's own checks are not taken from a URL either.
        let hostile = UrlNarrowing::from_pairs([("brand", "red;x"), ("channel", "A B")]);
        assert_eq!(hostile.theme, Theme::default());
        assert_eq!(hostile.channel, None);
    }
}
