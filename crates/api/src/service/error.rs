//! [`ServiceError`]: the one error type of the management plane, mapped to
//! an HTTP status by the REST API and to an exit status by the CLI.

use outpost_store::StoreError;

/// Everything a service call can refuse or fail with.
///
/// Messages are for the operator: they name the field and say what to do.
/// None carries a secret. [`ServiceError::Internal`]'s detail is logged by
/// the server and never sent to a client.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request cannot be read: malformed JSON, an unknown field, a
    /// query string that does not parse (HTTP 400).
    #[error("{message}")]
    BadRequest {
        /// The field concerned, when one is.
        field: Option<String>,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// No valid credentials: none given, wrong password, unknown, expired
    /// or revoked token or session (HTTP 401).
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials that do not allow this (HTTP 403).
    #[error("{0}")]
    Forbidden(String),
    /// The thing named does not exist (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state: a name in use, setup
    /// already done, the last administrator (HTTP 409).
    #[error("{0}")]
    Conflict(String),
    /// The request body is larger than the limit (HTTP 413).
    #[error("the request body is larger than {limit_bytes} bytes; send less")]
    PayloadTooLarge {
        /// The limit in bytes.
        limit_bytes: usize,
    },
    /// The request body is not JSON (HTTP 415).
    #[error("send the request body as JSON with the header `Content-Type: application/json`")]
    UnsupportedMediaType,
    /// A field's value is refused (HTTP 422).
    #[error("{field}: {message}")]
    Invalid {
        /// The field, as named in the API.
        field: String,
        /// What is wrong and what is allowed.
        message: String,
    },
    /// Too many failed logins from this source for this account (HTTP 429).
    #[error(
        "too many failed logins from this address; try again in {retry_after_secs} s \
         (each further lock lasts twice as long)"
    )]
    TooManyRequests {
        /// Seconds until the next attempt is allowed.
        retry_after_secs: u64,
    },
    /// Anything else: the database, the random source (HTTP 500).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthorized(_) => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::Conflict(_) => 409,
            Self::PayloadTooLarge { .. } => 413,
            Self::UnsupportedMediaType => 415,
            Self::Invalid { .. } => 422,
            Self::TooManyRequests { .. } => 429,
            Self::Internal(_) => 500,
        }
    }

    /// The machine-readable code of the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Invalid { .. } => "invalid",
            Self::TooManyRequests { .. } => "too_many_requests",
            Self::Internal(_) => "internal",
        }
    }

    /// The field concerned, when one is.
    pub fn field(&self) -> Option<&str> {
        match self {
            Self::BadRequest { field, .. } => field.as_deref(),
            Self::Invalid { field, .. } => Some(field),
            _ => None,
        }
    }

    /// What a client is told: the message, except for internal errors,
    /// whose detail stays in the server's log.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => "internal error; the server log has the details".to_owned(),
            Self::Invalid { message, .. } => message.clone(),
            other => other.to_string(),
        }
    }

    /// The CLI's exit status: 2 bad input (400, 413, 415, 422), 3 not
    /// allowed (401, 403), 4 not found, 5 conflict, 6 rate-limited,
    /// 1 internal.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::BadRequest { .. }
            | Self::PayloadTooLarge { .. }
            | Self::UnsupportedMediaType
            | Self::Invalid { .. } => 2,
            Self::Unauthorized(_) | Self::Forbidden(_) => 3,
            Self::NotFound(_) => 4,
            Self::Conflict(_) => 5,
            Self::TooManyRequests { .. } => 6,
            Self::Internal(_) => 1,
        }
    }

    /// A 422 for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Invalid(problems) => {
                let field = problems
                    .first()
                    .map_or_else(String::new, |p| p.field.to_owned());
                let message = problems
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                Self::Invalid { field, message }
            }
            e @ StoreError::NotFound { .. } => Self::NotFound(e.to_string()),
            e @ (StoreError::Duplicate { .. }
            | StoreError::LastAdministrator { .. }
            | StoreError::NotSetUp) => Self::Conflict(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}
