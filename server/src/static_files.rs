//! Serving the built app next to the API, so one command gives one URL that works.

use std::path::Path;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower::ServiceExt;
use tower_http::services::{ServeDir, ServeFile};

/// Static files with a fallback to `index.html` for client-side routes.
///
/// Precompressed `.br` / `.gz` siblings are served when the browser accepts them. A missing path
/// whose last segment has no extension is an app route (`/booking/confirm`) and gets the app; a
/// missing file (`/app.wasm`) stays a 404 so a broken build is not hidden behind HTML.
#[derive(Clone, Debug)]
pub struct StaticFiles {
    files: ServeDir,
    index: ServeFile,
}

impl StaticFiles {
    pub fn new(dir: &Path) -> Self {
        Self {
            files: ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip()
                .append_index_html_on_directories(true),
            index: ServeFile::new(dir.join("index.html"))
                .precompressed_br()
                .precompressed_gzip(),
        }
    }

    pub async fn serve(&self, request: Request) -> Response {
        let app_route = matches!(*request.method(), Method::GET | Method::HEAD)
            && !request
                .uri()
                .path()
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains('.'));
        let retry = app_route.then(|| {
            let mut again = Request::new(Body::empty());
            *again.method_mut() = request.method().clone();
            *again.headers_mut() = request.headers().clone();
            again
        });
        let Ok(mut response) = self.files.clone().oneshot(request).await;
        if response.status() == StatusCode::NOT_FOUND
            && let Some(again) = retry
        {
            let Ok(index) = self.index.clone().oneshot(again).await;
            response = index;
        }
        let mut response = response.map(Body::new).into_response();
        // Deployers replace files in place (config.json above all): always revalidate.
        response
            .headers_mut()
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-cache"));
        response
    }
}
