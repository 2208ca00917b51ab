//! Every error of the REST API as one JSON shape:
//! `{"error": {"code": "...", "message": "...", "field": "..."}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tracing::error;

use crate::service::ServiceError;

#[derive(Serialize)]
struct Body<'a> {
    error: Detail<'a>,
}

#[derive(Serialize)]
struct Detail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl IntoResponse for ServiceError {
    fn into_response(self) -> Response {
        if let Self::Internal(detail) = &self {
            // The detail stays here; the client gets a generic message.
            error!(%detail, "admin API internal error");
        }
        let status =
            StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = Body {
            error: Detail {
                code: self.code(),
                message: self.public_message(),
                field: self.field(),
            },
        };
        let mut response = super::json(status, &body);
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized(_) => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"outpost\""),
                );
            }
            Self::TooManyRequests { retry_after_secs } => {
                if let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string()) {
                    headers.insert(header::RETRY_AFTER, value);
                }
            }
            _ => {}
        }
        response
    }
}
