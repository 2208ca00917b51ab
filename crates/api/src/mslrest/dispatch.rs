//! From a request's method and path to a web services call, and its
//! answer in the vendor's shapes: lists `{"response": [...]}`, counts
//! `{"count": N}`, a creation `{"guid": "..."}`, the OAuth endpoints
//! `application/x-www-form-urlencoded`.

use std::net::IpAddr;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use super::OwnedRequest;
use crate::service::ServiceError;
use crate::service::webservices::{MslDeviceInput, MslError, MslResource, WebServices};

/// A successful answer.
#[derive(Debug)]
pub enum Answer {
    /// JSON with a status.
    Json(StatusCode, serde_json::Value),
    /// An OAuth token grant (form-encoded).
    Form(String),
}

impl IntoResponse for Answer {
    fn into_response(self) -> Response {
        match self {
            Self::Json(status, value) => (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                value.to_string(),
            )
                .into_response(),
            Self::Form(body) => (
                StatusCode::OK,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )],
                body,
            )
                .into_response(),
        }
    }
}

fn list<T: Serialize>(items: &[T]) -> Result<Answer, MslError> {
    Ok(Answer::Json(StatusCode::OK, json!({ "response": items })))
}

fn one<T: Serialize>(item: &T) -> Result<Answer, MslError> {
    let value = serde_json::to_value(item)
        .map_err(|e| ServiceError::Internal(format!("serialising an answer: {e}")))?;
    Ok(Answer::Json(StatusCode::OK, value))
}

fn count(n: usize) -> Result<Answer, MslError> {
    Ok(Answer::Json(StatusCode::OK, json!({ "count": n })))
}

fn not_found(path: &str) -> MslError {
    MslError::Service(ServiceError::NotFound(format!(
        "no web services resource {path}; see the README's web services section"
    )))
}

fn method_not_allowed(method: &Method, path: &str) -> MslError {
    MslError::Service(ServiceError::BadRequest {
        field: None,
        message: format!("{method} is not allowed on {path}"),
    })
}

/// Runs the request.
///
/// # Errors
/// [`MslError`].
pub(super) fn dispatch(
    ws: &WebServices,
    request: &OwnedRequest,
    ip: IpAddr,
    now: i64,
) -> Result<Answer, MslError> {
    let path = request.path.as_str();
    let rest = path
        .strip_prefix("/mslrest")
        .unwrap_or(path)
        .trim_matches('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let method = &request.method;
    let write = *method != Method::GET && *method != Method::HEAD;
    let signed = request.signed();
    let source = Some(ip);
    match segments.as_slice() {
        ["initiate"] if *method == Method::POST => {
            Ok(Answer::Form(ws.initiate(&signed, source, now)?.form_body()))
        }
        ["token"] if *method == Method::POST => {
            Ok(Answer::Form(ws.exchange(&signed, source, now)?.form_body()))
        }
        ["initiate" | "token"] => Err(method_not_allowed(method, path)),
        ["mbg", "v1", "icps", tail @ ..] => {
            if write {
                return Err(method_not_allowed(method, path));
            }
            let caller = ws.authenticate(&signed, MslResource::Icps, false, source, now)?;
            match tail {
                [] | ["all"] => list(&ws.msl_icps(&caller)?),
                ["count"] => count(ws.msl_icps(&caller)?.len()),
                [key] => one(&ws.msl_icp(&caller, key)?),
                [key, "devices", "sip"] => list(&ws.msl_icp_devices(&caller, key)?),
                _ => Err(not_found(path)),
            }
        }
        ["mbg", "v1", "devices", "sip", tail @ ..] => {
            let caller = ws.authenticate(&signed, MslResource::Devices, write, source, now)?;
            match (method.clone(), tail) {
                (Method::GET, [] | ["all"]) => list(&ws.msl_devices(&caller)?),
                (Method::GET, ["count"]) => count(ws.msl_devices(&caller)?.len()),
                (Method::GET, [key]) => one(&ws.msl_device(&caller, key)?),
                (Method::POST, []) => {
                    let guid = ws.msl_create_device(&caller, &device_input(request)?)?;
                    Ok(Answer::Json(StatusCode::CREATED, json!({ "guid": guid })))
                }
                (Method::PUT, [key]) => {
                    one(&ws.msl_update_device(&caller, key, &device_input(request)?)?)
                }
                (Method::DELETE, [key]) => {
                    ws.msl_delete_device(&caller, key)?;
                    Ok(Answer::Json(StatusCode::OK, json!({ "deleted": key })))
                }
                (_, [] | ["all"] | ["count"] | [_]) => Err(method_not_allowed(method, path)),
                _ => Err(not_found(path)),
            }
        }
        ["mbg", "v1", "globaloptions"] => {
            if write {
                return Err(method_not_allowed(method, path));
            }
            ws.authenticate(&signed, MslResource::GlobalOptions, false, source, now)?;
            one(&ws.msl_global_options()?)
        }
        _ => Err(not_found(path)),
    }
}

fn device_input(request: &OwnedRequest) -> Result<MslDeviceInput, MslError> {
    let body = request.json_body.as_deref().unwrap_or(b"{}");
    serde_json::from_slice(body).map_err(|e| {
        MslError::Service(ServiceError::BadRequest {
            field: None,
            message: format!("the body is not a SIP device in JSON: {e}"),
        })
    })
}
