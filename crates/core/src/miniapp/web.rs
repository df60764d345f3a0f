//! The Mini App's page: `GET /app/` (index.html) and `GET /app/assets/<file>` (its ES
//! modules, style sheet and vendored libraries), embedded in the binary — there is no build
//! step and nothing is read from disk at run time.
//!
//! Every answer has the page's Content-Security-Policy ([`CSP`]: only this origin's scripts,
//! styles and API, plus Telegram's `telegram-web-app.js`; framed only by Telegram's web
//! clients), `X-Content-Type-Options: nosniff` and `Referrer-Policy: no-referrer`; there is no
//! CORS. The page is `Cache-Control: no-cache` (revalidated each time, so a new release is
//! picked up at once); assets are `public, max-age=3600`. Both carry an `ETag` (a hash of the
//! content) and answer `If-None-Match` with 304. An unknown asset is 404.

use std::sync::LazyLock;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use sha2::{Digest as _, Sha256};

/// Where the page lives.
pub const APP_PATH: &str = "/app/";

/// The page's Content-Security-Policy. `script-src` names telegram.org for
/// `telegram-web-app.js` (the only third-party script); `img-src data:` is for the inline
/// favicon; `frame-ancestors` lets Telegram's web clients frame the page (the mobile and
/// desktop clients use a web view, not a frame).
pub const CSP: &str = "default-src 'self'; script-src 'self' https://telegram.org; style-src 'self'; \
                       img-src 'self' data:; connect-src 'self'; \
                       frame-ancestors 'self' https://web.telegram.org https://*.telegram.org; \
                       base-uri 'none'; form-action 'none'; object-src 'none'";

const INDEX: &[u8] = include_bytes!("web/index.html");

/// The assets under `/app/assets/`: name and content. Each file of `web/` but index.html is
/// here (a test checks the table against the directory).
pub const ASSETS: &[(&str, &[u8])] = &[
    ("app.js", include_bytes!("web/app.js")),
    ("api.js", include_bytes!("web/api.js")),
    ("cart.js", include_bytes!("web/cart.js")),
    ("i18n.js", include_bytes!("web/i18n.js")),
    ("dom.js", include_bytes!("web/dom.js")),
    ("telegram.js", include_bytes!("web/telegram.js")),
    ("balance.js", include_bytes!("web/balance.js")),
    ("orders.js", include_bytes!("web/orders.js")),
    ("documents.js", include_bytes!("web/documents.js")),
    ("booking.js", include_bytes!("web/booking.js")),
    ("shop.js", include_bytes!("web/shop.js")),
    ("settings.js", include_bytes!("web/settings.js")),
    ("style.css", include_bytes!("web/style.css")),
    ("vendor/chartjs/chart.umd.js", include_bytes!("web/vendor/chartjs/chart.umd.js")),
    ("vendor/chartjs/LICENSE.md", include_bytes!("web/vendor/chartjs/LICENSE.md")),
];

/// An embedded file with what its answers need.
struct Embedded {
    bytes: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
}

impl Embedded {
    fn new(name: &str, bytes: &'static [u8]) -> Embedded {
        let digest = Sha256::digest(bytes);
        let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
        let etag = HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex is a valid header value");
        Embedded { bytes, content_type: content_type(name), etag }
    }

    /// The file, or 304 when the client's `If-None-Match` names its ETag.
    fn answer(&self, headers: &HeaderMap, cache: &'static str) -> Response {
        let fresh = headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|tag| tag.trim().trim_start_matches("W/"))
            .any(|tag| tag == "*" || tag.as_bytes() == self.etag.as_bytes());
        let mut response =
            if fresh { StatusCode::NOT_MODIFIED.into_response() } else { Response::new(Body::from(self.bytes)) };
        let h = response.headers_mut();
        if !fresh {
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        }
        h.insert(header::ETAG, self.etag.clone());
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        response
    }
}

static PAGE: LazyLock<Embedded> = LazyLock::new(|| Embedded::new("index.html", INDEX));
static FILES: LazyLock<Vec<(&'static str, Embedded)>> =
    LazyLock::new(|| ASSETS.iter().map(|(name, bytes)| (*name, Embedded::new(name, bytes))).collect());

/// The Content-Type of an embedded file, by its extension.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

/// The page's routes, to be merged into the server's router (outside the API's layers).
pub fn router() -> Router {
    Router::new()
        .route("/app", get(redirect))
        .route(APP_PATH, get(index))
        .route("/app/assets/{*file}", get(asset))
        .layer(axum::middleware::from_fn(security_headers))
}

/// `/app` → `/app/` (keeping the query, e.g. `?theme=dark`; the browser keeps the fragment).
async fn redirect(request: Request) -> Redirect {
    match request.uri().query() {
        Some(query) => Redirect::permanent(&format!("{APP_PATH}?{query}")),
        None => Redirect::permanent(APP_PATH),
    }
}

async fn index(headers: HeaderMap) -> Response {
    PAGE.answer(&headers, "no-cache")
}

async fn asset(Path(file): Path<String>, headers: HeaderMap) -> Response {
    match FILES.iter().find(|(name, _)| *name == file) {
        Some((_, embedded)) => embedded.answer(&headers, "public, max-age=3600"),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8"), (header::CACHE_CONTROL, "no-store")],
            "not found",
        )
            .into_response(),
    }
}

/// The security headers of every answer; no `Access-Control-*` header ever leaves.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    let cors: Vec<_> = h.keys().filter(|name| name.as_str().starts_with("access-control-")).cloned().collect();
    for name in cors {
        h.remove(name);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_has_a_known_content_type_and_a_distinct_name() {
        for (name, _) in ASSETS {
            assert_ne!(content_type(name), "application/octet-stream", "{name}");
            assert_eq!(ASSETS.iter().filter(|(other, _)| other == name).count(), 1, "{name}");
        }
    }

    #[test]
    fn the_etag_changes_with_the_content() {
        let a = Embedded::new("a.js", b"one");
        let b = Embedded::new("a.js", b"two");
        assert_ne!(a.etag, b.etag);
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_NONE_MATCH, HeaderValue::from_str("W/\"x\", ").unwrap());
        assert_eq!(a.answer(&headers, "no-cache").status(), StatusCode::OK);
        headers.insert(header::IF_NONE_MATCH, a.etag.clone());
        assert_eq!(a.answer(&headers, "no-cache").status(), StatusCode::NOT_MODIFIED);
        assert_eq!(b.answer(&headers, "no-cache").status(), StatusCode::OK);
    }
}
