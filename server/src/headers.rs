//! The security headers of the app's files: a Content-Security-Policy built from the
//! deployment's own `config.json` (which API origins the page may call, which pages may frame it)
//! and from the built `index.html` (its inline scripts, allowed by hash), plus `nosniff`, no
//! referrer and an opener policy.
//!
//! The same headers are printed as an nginx snippet by `fairslot-server headers`, for
//! deployments that serve the static build from elsewhere.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use base64::Engine as _;
use fairslot_core::config::{self, Mode};
use sha2::{Digest, Sha256};

use crate::config::Guard;

/// Headers every response gets, API included.
pub fn common(headers: &mut HeaderMap) {
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // The app's own URLs name booking codes (`/bookings/K7Q4M2XP`): no request may carry them.
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// The headers of the app's pages, as name and value.
pub fn page_headers(
    config_json: Option<&str>,
    index_html: &str,
    extra: &Guard,
) -> Vec<(&'static str, String)> {
    let config = config_json.and_then(|text| config::parse(text).ok());
    let mut connect = vec!["'self'".to_string()];
    let mut ancestors = Vec::new();
    if let Some(config) = &config {
        for url in &config.base_urls {
            if let Some(origin) = origin_of(url)
                && !connect.contains(&origin)
            {
                connect.push(origin);
            }
        }
        if let Mode::Embed {
            allowed_origins, ..
        } = &config.mode
        {
            ancestors.extend(allowed_origins.iter().cloned());
        }
    }
    connect.extend(extra.csp_connect_src.iter().filter_map(|s| source(s)));
    ancestors.extend(extra.csp_frame_ancestors.iter().filter_map(|s| source(s)));
    let mut script = vec!["'self'".to_string(), "'wasm-unsafe-eval'".to_string()];
    script.extend(
        inline_scripts(index_html)
            .iter()
            .map(|body| format!("'sha256-{}'", sha256_base64(body))),
    );
    let framed = !ancestors.is_empty();
    let ancestors = if framed {
        ancestors.join(" ")
    } else {
        "'none'".to_string()
    };
    let csp = [
        "default-src 'self'".to_string(),
        format!("script-src {}", script.join(" ")),
        "style-src 'self'".to_string(),
        "img-src 'self' data:".to_string(),
        format!("connect-src {}", connect.join(" ")),
        format!("frame-ancestors {ancestors}"),
        "base-uri 'none'".to_string(),
        "object-src 'none'".to_string(),
        "form-action 'none'".to_string(),
    ]
    .join("; ");
    let mut headers = vec![
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff".to_string()),
        ("Referrer-Policy", "no-referrer".to_string()),
        // Opener isolation applies to top-level pages only, so it never stands in the way of
        // an embed; a page that opens the app (or that the app opens) gets no handle on it.
        ("Cross-Origin-Opener-Policy", "same-origin".to_string()),
    ];
    if !framed {
        // For browsers older than frame-ancestors.
        headers.push(("X-Frame-Options", "DENY".to_string()));
    }
    headers
}

/// `https://api.example/v1` → `https://api.example`; same-origin (`/api/v1`) URLs have none.
fn origin_of(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .map(|r| ("https", r))
        .or_else(|| url.strip_prefix("http://").map(|r| ("http", r)))?;
    let host = rest.1.split(['/', '?', '#']).next()?;
    source(&format!("{}://{host}", rest.0)).filter(|_| !host.is_empty())
}

/// A source, kept only if it cannot break out of its directive: visible ASCII without the
/// characters that end a directive or a policy, or quote a keyword. So every value the policy is
/// made of is a valid header value, and the header is never dropped.
fn source(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'\'' | b'"')))
    .then(|| s.to_string())
}

/// The bodies of `<script>` elements without `src`, exactly as the browser hashes them.
fn inline_scripts(html: &str) -> Vec<&str> {
    let mut bodies = Vec::new();
    let mut rest = html;
    while let Some(start) = find_ascii_ci(rest, "<script") {
        let after = &rest[start..];
        let Some(tag_end) = after.find('>') else {
            break;
        };
        let tag = &after[..tag_end];
        let body_and_more = &after[tag_end + 1..];
        let Some(close) = find_ascii_ci(body_and_more, "</script") else {
            break;
        };
        if find_ascii_ci(tag, " src=").is_none() {
            bodies.push(&body_and_more[..close]);
        }
        rest = &body_and_more[close..];
    }
    bodies
}

fn find_ascii_ci(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

fn sha256_base64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes()))
}

/// The nginx form of [`page_headers`].
pub fn nginx_snippet(headers: &[(&'static str, String)]) -> String {
    let mut out = String::from(
        "# Fairslot: headers for the app's files, made by `fairslot-server headers` from the\n\
         # deployment's config.json and the built index.html. Make them again after changing either.\n",
    );
    for (name, value) in headers {
        out.push_str(&format!("add_header {name} \"{value}\" always;\n"));
    }
    out
}

/// The page headers of a static directory, made again whenever its `config.json` or
/// `index.html` changes (deployers replace `config.json` in place).
#[derive(Debug)]
pub struct StaticPageHeaders {
    dir: PathBuf,
    guard: Guard,
    made: Mutex<Option<(Stamp, HeaderMap)>>,
}

type Stamp = (Option<SystemTime>, Option<SystemTime>);

impl StaticPageHeaders {
    pub fn new(dir: &Path, guard: &Guard) -> Self {
        Self {
            dir: dir.to_path_buf(),
            guard: guard.clone(),
            made: Mutex::new(None),
        }
    }

    fn stamp(&self) -> Stamp {
        let modified = |name: &str| {
            std::fs::metadata(self.dir.join(name))
                .and_then(|m| m.modified())
                .ok()
        };
        (modified("config.json"), modified("index.html"))
    }

    /// The headers as of the files now.
    pub fn current(&self) -> HeaderMap {
        let stamp = self.stamp();
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((at, headers)) = made.as_ref()
            && *at == stamp
        {
            return headers.clone();
        }
        let config = std::fs::read_to_string(self.dir.join("config.json")).ok();
        let index = std::fs::read_to_string(self.dir.join("index.html")).unwrap_or_default();
        let mut headers = HeaderMap::new();
        for (name, value) in page_headers(config.as_deref(), &index, &self.guard) {
            // Every part of every value is visible ASCII (see `source`); should the policy ever
            // fail to be a header value, the page gets one that allows nothing rather than none.
            let value = HeaderValue::from_str(&value)
                .unwrap_or(HeaderValue::from_static("default-src 'none'"));
            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                headers.insert(name, value);
            }
        }
        *made = Some((stamp, headers.clone()));
        headers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> Guard {
        crate::Config::for_data_dir(".").guard
    }

    fn csp(config: &str, index: &str, guard: &Guard) -> String {
        page_headers(Some(config), index, guard)
            .into_iter()
            .find(|(n, _)| *n == "Content-Security-Policy")
            .unwrap()
            .1
    }

    const PHONE: &str = r#"{"api":{"kind":"native","base_urls":["/api/v1","https://backup.example.org/api/v1"]},"channel":"web"}"#;

    #[test]
    fn a_phone_deployment_may_call_its_apis_and_be_framed_by_nobody() {
        let csp = csp(PHONE, "", &guard());
        assert!(
            csp.contains("connect-src 'self' https://backup.example.org;"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(
            csp.contains("script-src 'self' 'wasm-unsafe-eval';"),
            "{csp}"
        );
        assert!(csp.contains("base-uri 'none'") && csp.contains("object-src 'none'"));
        assert!(!csp.contains("unsafe-inline"));
        let all = page_headers(Some(PHONE), "", &guard());
        assert!(all.contains(&("X-Frame-Options", "DENY".into())));
    }

    #[test]
    fn an_embed_deployment_may_be_framed_by_its_partners_only() {
        let config = r#"{"api":{"kind":"fhir","base_urls":["https://fhir.example/R4"]},"channel":"web",
            "mode":{"kind":"embed","allowed_origins":["https://portal.example","https://city.example"]}}"#;
        let csp = csp(config, "", &guard());
        assert!(
            csp.contains("frame-ancestors https://portal.example https://city.example;"),
            "{csp}"
        );
        assert!(
            csp.contains("connect-src 'self' https://fhir.example;"),
            "{csp}"
        );
        let all = page_headers(Some(config), "", &guard());
        assert!(all.iter().all(|(n, _)| *n != "X-Frame-Options"));
    }

    #[test]
    fn inline_scripts_are_allowed_by_their_hash_only() {
        let index = r#"<html><head><script type="module">import init from '/app.js';init();</script>
            <script src="/other.js"></script><SCRIPT>a()</SCRIPT></head></html>"#;
        let csp = csp(PHONE, index, &guard());
        let first = sha256_base64("import init from '/app.js';init();");
        let second = sha256_base64("a()");
        assert!(csp.contains(&format!("'sha256-{first}'")), "{csp}");
        assert!(csp.contains(&format!("'sha256-{second}'")), "{csp}");
        assert_eq!(csp.matches("'sha256-").count(), 2, "{csp}");
    }

    #[test]
    fn a_missing_or_broken_config_gets_the_strictest_policy() {
        for config in [None, Some("{not json")] {
            let headers = page_headers(config, "", &guard());
            let csp = &headers[0].1;
            assert!(csp.contains("connect-src 'self';"), "{csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        }
    }

    #[test]
    fn extra_sources_cannot_break_out_of_their_directive() {
        let mut guard = guard();
        guard.csp_connect_src = vec![
            "http://127.0.0.1:*".into(),
            "x; script-src *".into(),
            "a\u{7}b".into(),
            "https://é.example".into(),
        ];
        let csp = csp(PHONE, "", &guard);
        assert!(
            csp.contains("connect-src 'self' https://backup.example.org http://127.0.0.1:*;"),
            "{csp}"
        );
        assert!(!csp.contains("script-src *"), "{csp}");
        let config = r#"{"api":{"kind":"native","base_urls":["https://a.example;script-src *"]},"channel":"web"}"#;
        assert!(
            !page_headers(Some(config), "", &guard)[0]
                .1
                .contains("script-src *")
        );
    }

    #[test]
    fn the_nginx_snippet_carries_every_header() {
        let headers = page_headers(Some(PHONE), "", &guard());
        let snippet = nginx_snippet(&headers);
        for (name, _) in &headers {
            assert!(
                snippet.contains(&format!("add_header {name} ")),
                "{snippet}"
            );
        }
    }
}
