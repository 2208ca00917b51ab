//! The REST routes of the gateway's resources: ICPs (`/api/v1/icps`),
//! devices (`/api/v1/devices`, with the CSV import), the guard
//! (`/api/v1/guard`), and the OpenAPI document of the whole API
//! (`/api/v1/openapi.json`, no credentials needed).
//!
//! Handlers only authenticate, parse and answer: the rules, the audit log
//! and the scopes (`icps`, `devices`, `guard`; read for `GET`, write for
//! the rest) are the service layer's. Query strings are parsed strictly:
//! an unknown parameter is a 400 naming it, so a typo never silently
//! lists everything.

mod devices;
mod guard;
mod icps;
pub mod openapi;

use axum::Router;
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Serialize;

use super::{ApiState, json};
use crate::service::ServiceError;
use crate::service::device_import::LineReport;

/// The resource routes and the OpenAPI document, to merge into the API's
/// router (which adds the body limit, `Cache-Control` and the fallback).
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .merge(icps::routes())
        .merge(devices::routes())
        .merge(guard::routes())
        .merge(openapi::routes())
}

type Reply = Result<Response, ServiceError>;

/// The `key=value` pairs of a query string, each key one of `allowed`.
///
/// # Errors
/// 400 naming an unknown or repeated parameter, or for a query string
/// that does not decode.
pub(crate) fn query_pairs(
    uri: &Uri,
    allowed: &[&str],
) -> Result<Vec<(String, String)>, ServiceError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(uri.query().unwrap_or(""))
        .map_err(|e| ServiceError::BadRequest {
            field: None,
            message: format!("the query string does not decode: {e}"),
        })?;
    for (i, (key, _)) in pairs.iter().enumerate() {
        if !allowed.contains(&key.as_str()) {
            return Err(ServiceError::BadRequest {
                field: Some(key.clone()),
                message: format!(
                    "unknown query parameter {key:?}; allowed: {}",
                    allowed.join(", ")
                ),
            });
        }
        if pairs.iter().skip(i + 1).any(|(other, _)| other == key) {
            return Err(ServiceError::BadRequest {
                field: Some(key.clone()),
                message: format!("query parameter {key:?} is given twice; give it once"),
            });
        }
    }
    Ok(pairs)
}

/// A query parameter parsed as `T`, 422 naming it when it does not parse.
pub(crate) fn parse_param<T: std::str::FromStr>(
    key: &str,
    value: &str,
    expected: &str,
) -> Result<T, ServiceError> {
    value
        .trim()
        .parse()
        .map_err(|_| ServiceError::invalid(key, format!("{value:?} is not {expected}")))
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`), 422 naming `key` otherwise.
pub(crate) fn parse_flag(key: &str, value: &str) -> Result<bool, ServiceError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ServiceError::invalid(
            key,
            format!("{value:?} is not true or false"),
        )),
    }
}

/// The API's error shape, with the per-line report of a refused CSV
/// import (`lines`), for errors the service's type does not carry.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lines: Option<Vec<LineReport>>,
}

/// An error response in the one JSON shape.
pub(crate) fn error_response(
    status: StatusCode,
    code: &str,
    message: String,
    field: Option<&str>,
    lines: Option<Vec<LineReport>>,
) -> Response {
    json(
        status,
        &ErrorBody {
            error: ErrorDetail {
                code,
                message,
                field,
                lines,
            },
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_repeated_parameters_are_refused_by_name() {
        let uri: Uri = "/x?limit=5&sort=-icp".parse().unwrap();
        assert_eq!(query_pairs(&uri, &["limit", "sort"]).unwrap().len(), 2);
        let err = query_pairs(&uri, &["limit"]).unwrap_err();
        assert_eq!((err.status(), err.field()), (400, Some("sort")));
        let twice: Uri = "/x?limit=5&limit=6".parse().unwrap();
        assert!(query_pairs(&twice, &["limit"]).is_err());
        assert!(parse_flag("enabled", "maybe").is_err());
        assert_eq!(parse_param::<u32>("limit", " 7 ", "a number").unwrap(), 7);
    }
}
