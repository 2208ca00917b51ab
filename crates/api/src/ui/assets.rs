//! The UI's static files, compiled into the binary (`crates/api/assets/`):
//! the style sheet, htmx and the icon. Each is served at
//! `/ui/assets/NAME?v=DIGEST`, where the digest is the first 16 hex digits
//! of its SHA-256: pages link that address, so a browser may keep a file
//! for a year (`immutable`) and a new binary's file has a new address.
//! The digest is also the `ETag`, and a matching `If-None-Match` gets 304.

use std::sync::LazyLock;

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its name under `/ui/assets/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

/// Every embedded file.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "ui.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../../assets/ui.css"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../../assets/htmx.min.js"),
    },
    Asset {
        name: "icon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../../assets/icon.svg"),
    },
];

/// Cache headers of an asset: a year, never revalidated (the address
/// changes with the content).
pub const ASSET_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// Each asset with its digest and its address.
struct Served {
    asset: &'static Asset,
    digest: String,
    url: String,
}

static SERVED: LazyLock<Vec<Served>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|asset| {
            let digest = crate::service::sha256_hex(asset.bytes)[..16].to_owned();
            let url = format!("/ui/assets/{}?v={digest}", asset.name);
            Served { asset, digest, url }
        })
        .collect()
});

/// The address of the asset `name` (with its digest); `/ui/assets/NAME`
/// for a name that is not embedded (a bug a test would see as a 404).
pub fn url(name: &str) -> &'static str {
    SERVED
        .iter()
        .find(|s| s.asset.name == name)
        .map_or("/ui/assets/missing", |s| s.url.as_str())
}

/// `GET /ui/assets/{name}`.
pub async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    let Some(served) = SERVED.iter().find(|s| s.asset.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let etag = format!("\"{}\"", served.digest);
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(served.asset.content_type),
            )],
            served.asset.bytes,
        )
            .into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(ASSET_CACHE_CONTROL),
    );
    if let Ok(value) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, value);
    }
    response
}
