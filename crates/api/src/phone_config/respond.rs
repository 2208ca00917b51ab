//! HTTP semantics of the files served: `ETag`/`If-None-Match`,
//! `Last-Modified`/`If-Modified-Since`, `HEAD`, single byte ranges with
//! `If-Range` (RFC 9110 §13, §14). A stored file's conditions are decided
//! from its metadata before its contents are read, and its contents are
//! read once and sliced without copying.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use bytes::Bytes;
use outpost_store::{ProvisioningFileInfo, Store};
use rustls::pki_types::CertificateDer;
use tracing::warn;

/// Files from this size up are shared by concurrent downloads.
const SHARE_FROM: u64 = 256 * 1024;

/// Large files (firmware) being sent, shared by concurrent downloads: one
/// copy in memory per file version however many phones fetch it at once,
/// freed when the last download ends.
#[derive(Default)]
pub(super) struct SharedBodies(Mutex<HashMap<String, Version>>);

/// One version of a shared file: its ETag and its bytes while in use.
type Version = (String, Weak<Vec<u8>>);

/// Keeps a shared file alive while a body refers to it.
struct Owner(Arc<Vec<u8>>);

impl AsRef<[u8]> for Owner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl SharedBodies {
    fn get(&self, name: &str, etag: &str) -> Option<Bytes> {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tag, weak) = map.get(name)?;
        if tag != etag {
            return None;
        }
        weak.upgrade().map(|a| Bytes::from_owner(Owner(a)))
    }

    fn put(&self, name: &str, etag: &str, contents: Vec<u8>) -> Bytes {
        let shared = Arc::new(contents);
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (_, weak)| weak.strong_count() > 0);
        map.insert(name.to_owned(), (etag.to_owned(), Arc::downgrade(&shared)));
        Bytes::from_owner(Owner(shared))
    }
}

/// A file about to be answered.
pub(super) struct Entity {
    name: String,
    etag: String,
    modified: i64,
    size: u64,
    /// `None` until read (a stored file whose body is not needed).
    body: Option<Bytes>,
}

impl Entity {
    /// A file made for this request; its ETag is a digest of its bytes.
    pub(super) fn generated(name: &str, body: Bytes, modified: i64) -> Self {
        use sha2::Digest;
        let digest = sha2::Sha256::digest(&body);
        let etag = format!("\"g{}\"", hex::encode(&digest[..12]));
        Self {
            name: name.to_owned(),
            etag,
            modified,
            size: body.len() as u64,
            body: Some(body),
        }
    }
}

/// What the request's headers ask for, given the file's metadata.
enum Plan {
    NotModified,
    Full,
    Partial { start: u64, end: u64 },
    Unsatisfiable,
}

fn plan(method: &Method, headers: &HeaderMap, e: &Entity) -> Plan {
    if not_modified(headers, e) {
        return Plan::NotModified;
    }
    if *method != Method::GET {
        return Plan::Full;
    }
    let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Plan::Full;
    };
    if let Some(condition) = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()) {
        let still = condition.trim() == e.etag
            || httpdate::parse_http_date(condition.trim())
                .is_ok_and(|t| t == system_time(e.modified));
        if !still {
            return Plan::Full;
        }
    }
    match parse_range(range, e.size) {
        RangeAsk::Ignore => Plan::Full,
        RangeAsk::Unsatisfiable => Plan::Unsatisfiable,
        RangeAsk::Bytes(start, end) => Plan::Partial { start, end },
    }
}

/// `If-None-Match` (weak comparison; `*` matches), else
/// `If-Modified-Since` against the file's write time.
fn not_modified(headers: &HeaderMap, e: &Entity) -> bool {
    let mut none_match = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .peekable();
    if none_match.peek().is_some() {
        return none_match.flat_map(|v| v.split(',')).any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == e.etag
        });
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v.trim()).ok())
        .is_some_and(|since| system_time(e.modified) <= since)
}

/// A `Range` header, read for one file of `size` bytes.
#[derive(Debug, PartialEq, Eq)]
enum RangeAsk {
    /// Not a single byte range we serve: answer the whole file.
    Ignore,
    /// No byte of the file is in the range.
    Unsatisfiable,
    /// First and last byte, inclusive.
    Bytes(u64, u64),
}

fn parse_range(value: &str, size: u64) -> RangeAsk {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return RangeAsk::Ignore;
    };
    if spec.contains(',') {
        return RangeAsk::Ignore;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeAsk::Ignore;
    };
    let number = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, true) => RangeAsk::Ignore,
        (true, false) => match number(last) {
            None => RangeAsk::Ignore,
            Some(0) => RangeAsk::Unsatisfiable,
            Some(_) if size == 0 => RangeAsk::Unsatisfiable,
            Some(n) => RangeAsk::Bytes(size.saturating_sub(n), size - 1),
        },
        (false, open) => {
            let Some(start) = number(first) else {
                return RangeAsk::Ignore;
            };
            let end = if open {
                size.saturating_sub(1)
            } else {
                match number(last) {
                    Some(end) if end >= start => end.min(size.saturating_sub(1)),
                    _ => return RangeAsk::Ignore,
                }
            };
            if start >= size {
                RangeAsk::Unsatisfiable
            } else {
                RangeAsk::Bytes(start, end)
            }
        }
    }
}

fn system_time(secs: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap_or(0))
}

/// Answers a stored file: conditions first, then its contents read once
/// (on the blocking pool) when a body is due.
pub(super) async fn stored(
    store: &Arc<Mutex<Store>>,
    shared: &SharedBodies,
    info: ProvisioningFileInfo,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let mut e = Entity {
        name: info.name,
        etag: info.etag,
        modified: info.modified,
        size: info.size,
        body: None,
    };
    let needs_body = *method == Method::GET
        && matches!(plan(method, headers, &e), Plan::Full | Plan::Partial { .. });
    if needs_body && e.size >= SHARE_FROM {
        e.body = shared.get(&e.name, &e.etag);
    }
    if needs_body && e.body.is_none() {
        let store = Arc::clone(store);
        let name = e.name.clone();
        let read = tokio::task::spawn_blocking(move || {
            let store = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            store.provisioning_file(&name)
        })
        .await;
        match read {
            Ok(Ok(Some(file))) => {
                // Written meanwhile: answer what was read, with its tag.
                e.etag = file.info.etag;
                e.modified = file.info.modified;
                e.size = file.info.size;
                e.body = Some(if e.size >= SHARE_FROM {
                    shared.put(&e.name, &e.etag, file.contents)
                } else {
                    Bytes::from(file.contents)
                });
            }
            Ok(Ok(None)) => return StatusCode::NOT_FOUND.into_response(),
            Ok(Err(err)) => {
                warn!(file = %e.name, error = %err, "configuration service: database error");
                return StatusCode::SERVICE_UNAVAILABLE.into_response();
            }
            Err(err) => {
                warn!(file = %e.name, error = %err, "configuration service: read failed");
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        }
    }
    entity(&e, method, headers)
}

/// The response for `e` (GET or HEAD).
pub(super) fn entity(e: &Entity, method: &Method, headers: &HeaderMap) -> Response {
    let plan = plan(method, headers, e);
    let mut response = Response::new(Body::empty());
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&e.etag) {
        h.insert(header::ETAG, etag);
    }
    if let Ok(date) = HeaderValue::from_str(&httpdate::fmt_http_date(system_time(e.modified))) {
        h.insert(header::LAST_MODIFIED, date);
    }
    if matches!(plan, Plan::NotModified) {
        *response.status_mut() = StatusCode::NOT_MODIFIED;
        return response;
    }
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&e.name)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let (status, start, end) = match plan {
        Plan::NotModified => return response,
        Plan::Unsatisfiable => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{}", e.size)) {
                h.insert(header::CONTENT_RANGE, v);
            }
            h.remove(header::CONTENT_TYPE);
            *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
            return response;
        }
        Plan::Full => (StatusCode::OK, 0, e.size),
        Plan::Partial { start, end } => {
            if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{}", e.size)) {
                h.insert(header::CONTENT_RANGE, v);
            }
            (StatusCode::PARTIAL_CONTENT, start, end + 1)
        }
    };
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    *response.status_mut() = status;
    if *method == Method::GET {
        let body = e.body.as_ref().map_or_else(Bytes::new, |b| {
            let len = b.len();
            let to = usize::try_from(end).unwrap_or(len).min(len);
            let from = usize::try_from(start).unwrap_or(to).min(to);
            b.slice(from..to)
        });
        *response.body_mut() = Body::from(body);
    }
    response
}

fn content_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".cfg") {
        "text/plain; charset=utf-8"
    } else if lower.ends_with(".pem") || lower.ends_with(".crt") {
        "application/x-pem-file"
    } else {
        "application/octet-stream"
    }
}

/// The CA file: the chain after the leaf, or the leaf when it is alone,
/// as PEM.
pub(super) fn ca_pem(chain: &[CertificateDer<'static>]) -> Vec<u8> {
    let certs = if chain.len() > 1 { &chain[1..] } else { chain };
    let mut out = String::new();
    for cert in certs {
        let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_downloads_share_one_copy() {
        let shared = SharedBodies::default();
        let first = shared.put("6867i.st", "\"r1\"", vec![7; 10]);
        let second = shared.get("6867i.st", "\"r1\"").unwrap();
        assert_eq!(first.as_ptr(), second.as_ptr(), "the same bytes");
        assert!(
            shared.get("6867i.st", "\"r2\"").is_none(),
            "another version"
        );
        drop((first, second));
        assert!(
            shared.get("6867i.st", "\"r1\"").is_none(),
            "freed with the last"
        );
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), RangeAsk::Bytes(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), RangeAsk::Bytes(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), RangeAsk::Bytes(90, 99));
        assert_eq!(parse_range("bytes=-1000", 100), RangeAsk::Bytes(0, 99));
        assert_eq!(parse_range("bytes=50-1000", 100), RangeAsk::Bytes(50, 99));
        assert_eq!(parse_range("bytes=100-", 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), RangeAsk::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-0", 0), RangeAsk::Unsatisfiable);
        for ignored in [
            "bytes=0-1,5-6",
            "items=0-1",
            "bytes=5-1",
            "bytes=a-b",
            "bytes=-",
        ] {
            assert_eq!(parse_range(ignored, 100), RangeAsk::Ignore, "{ignored}");
        }
        assert_eq!(
            parse_range("bytes=99999999999999999999-", 100),
            RangeAsk::Ignore
        );
    }
}
