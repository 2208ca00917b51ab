//! `/api/v1/certificates`: the gateway's TLS certificates (issue 17 item
//! 6; the CLI's `outpost certs`): list them, import one (a PEM chain with
//! its key, or a PKCS#12 file in base64, as JSON), list and set which
//! certificates each usage presents, delete one no usage presents. Scope
//! `certificates`: read to list, write for the rest. The rules, the
//! secrets policy and the audit log are the service layer's
//! ([`crate::service::certificates`]).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use utoipa::OpenApi;

use super::extract::{Authenticated, JsonBody, parse_json};
use super::resources::openapi::ErrorBody;
use super::{ApiState, json};
use crate::service::ServiceError;
use crate::service::certificates::{
    AcmeRequestInput, AcmeRequestView, CertificateAssignInput, CertificateImportInput,
    CertificateUsages, CertificateView, MAX_CERTIFICATE_BYTES, UsageAssignment,
};

type Reply = Result<Response, ServiceError>;

/// An import's body: 1 MiB of certificate material, base64 (4/3) or
/// JSON-escaped PEM (a `\n` per 64 characters), and the other fields.
const MAX_IMPORT_BODY_BYTES: usize = MAX_CERTIFICATE_BYTES / 3 * 4 + 64 * 1024;

/// The routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/v1/certificates",
            get(list_certificates)
                .post(import_certificate)
                .layer(DefaultBodyLimit::max(MAX_IMPORT_BODY_BYTES)),
        )
        .route("/api/v1/certificates/usages", get(list_usages))
        .route("/api/v1/certificates/usages/{usage}", put(assign_usage))
        .route("/api/v1/certificates/{name}", delete(delete_certificate))
        .route("/api/v1/certificates/{name}/renew", post(renew_certificate))
        .route(
            "/api/v1/acme/requests",
            get(list_acme_requests).post(create_acme_request),
        )
        .route("/api/v1/acme/requests/{name}", delete(delete_acme_request))
}

/// The OpenAPI operations of these routes (merged into the API's
/// document).
#[derive(OpenApi)]
#[openapi(
    paths(
        list_certificates,
        import_certificate,
        list_usages,
        assign_usage,
        delete_certificate,
        renew_certificate,
        list_acme_requests,
        create_acme_request,
        delete_acme_request
    ),
    components(schemas(
        CertificateView,
        CertificateImportInput,
        CertificateUsages,
        CertificateAssignInput,
        UsageAssignment,
        AcmeRequestInput,
        AcmeRequestView,
    )),
    tags((name = "certificates", description = "TLS certificates: import, per-usage assignment (SEC-8)"))
)]
pub(crate) struct CertificatesDoc;

/// Every certificate with its names, issuer, validity and usages (never
/// a key).
#[utoipa::path(
    get, path = "/api/v1/certificates", tag = "certificates",
    responses(
        (status = 200, description = "The certificates, by name", body = [CertificateView]),
        (status = 401, description = "No credentials", body = ErrorBody),
        (status = 403, description = "No certificates:read scope", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:read"]), ("session" = []))
)]
async fn list_certificates(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let all = state
        .service
        .run(move |s| s.certificates_list(&caller))
        .await?;
    Ok(json(StatusCode::OK, &all))
}

/// Checks a certificate (key matches, chain in order, valid now) and
/// installs it under `name` (default `default`, the gateway's own),
/// replacing one of that name; a running gateway presents it to new
/// handshakes within seconds where a usage presents that name. Nothing is
/// installed when a check fails (422 naming `pem`, `pkcs12`, `password`
/// or `name` and the fix).
#[utoipa::path(
    post, path = "/api/v1/certificates", tag = "certificates",
    request_body = CertificateImportInput,
    responses(
        (status = 201, description = "Installed", body = CertificateView),
        (status = 400, description = "Malformed JSON or an unknown field", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 413, description = "Body too large (1 MiB of certificate material)", body = ErrorBody),
        (status = 415, description = "Not JSON", body = ErrorBody),
        (status = 422, description = "Refused: wrong password, key not matching, expired, truncated file... (field named)", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:write"]), ("session" = []))
)]
async fn import_certificate(
    State(state): State<ApiState>,
    auth: Authenticated,
    request: Request,
) -> Reply {
    let input: CertificateImportInput = parse_json(&import_body(&state, request).await?)?;
    let caller = auth.caller;
    let view = state
        .service
        .run(move |s| s.certificate_import(&caller, &input))
        .await?;
    Ok(json(StatusCode::CREATED, &view))
}

/// For each usage (`sip-public`, `sip-private`, `web-services`, `admin`),
/// the certificates it presents.
#[utoipa::path(
    get, path = "/api/v1/certificates/usages", tag = "certificates",
    responses(
        (status = 200, description = "Usage name to certificate names, the default for unknown SNI first", body = CertificateUsages),
        (status = 403, description = "No certificates:read scope", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:read"]), ("session" = []))
)]
async fn list_usages(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let usages = state
        .service
        .run(move |s| s.certificates_usages(&caller))
        .await?;
    Ok(json(StatusCode::OK, &usages))
}

/// Makes a usage present these certificates (SNI picks among them; the
/// first for clients whose name matches none).
#[utoipa::path(
    put, path = "/api/v1/certificates/usages/{usage}", tag = "certificates",
    params(("usage" = String, Path, description = "sip-public, sip-private, web-services or admin")),
    request_body = CertificateAssignInput,
    responses(
        (status = 200, description = "Assigned", body = UsageAssignment),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "A certificate not installed", body = ErrorBody),
        (status = 422, description = "Unknown usage, or an empty or too long list (field named)", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:write"]), ("session" = []))
)]
async fn assign_usage(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(usage): Path<String>,
    JsonBody(input): JsonBody<CertificateAssignInput>,
) -> Reply {
    let caller = auth.caller;
    let assigned = state
        .service
        .run(move |s| s.certificate_assign(&caller, &usage, &input.certificates))
        .await?;
    Ok(json(StatusCode::OK, &assigned))
}

/// Deletes a certificate and its key; refused while a usage presents it,
/// and for `default`.
#[utoipa::path(
    delete, path = "/api/v1/certificates/{name}", tag = "certificates",
    params(("name" = String, Path, description = "The certificate's name")),
    responses(
        (status = 200, description = "The certificate as it was", body = CertificateView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such certificate", body = ErrorBody),
        (status = 409, description = "In use by a usage (named), or the default certificate", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:write"]), ("session" = []))
)]
async fn delete_certificate(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let view = state
        .service
        .run(move |s| s.certificate_delete(&caller, &name))
        .await?;
    Ok(json(StatusCode::OK, &view))
}

/// Asks the running gateway to renew an ACME certificate now; it orders
/// within seconds (`state` in `GET /api/v1/acme/requests` then turns
/// `valid` or `failed`). Imported certificates are renewed by importing.
#[utoipa::path(
    post, path = "/api/v1/certificates/{name}/renew", tag = "certificates",
    params(("name" = String, Path, description = "The ACME certificate's name")),
    responses(
        (status = 202, description = "Renewal asked", body = AcmeRequestView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No ACME request of that name", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:write"]), ("session" = []))
)]
async fn renew_certificate(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let view = state
        .service
        .run(move |s| s.certificate_renew(&caller, &name))
        .await?;
    Ok(json(StatusCode::ACCEPTED, &view))
}

/// The ACME requests and how each one's last order went.
#[utoipa::path(
    get, path = "/api/v1/acme/requests", tag = "certificates",
    responses(
        (status = 200, description = "The requests, by name", body = [AcmeRequestView]),
        (status = 403, description = "No certificates:read scope", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:read"]), ("session" = []))
)]
async fn list_acme_requests(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let all = state.service.run(move |s| s.acme_requests(&caller)).await?;
    Ok(json(StatusCode::OK, &all))
}

/// Asks the gateway to obtain a certificate with ACME (HTTP-01 on TCP 80
/// or TLS-ALPN-01 on TCP 443 of the public side) and keep it renewed; it
/// orders within seconds, installs it under `name` and puts it on the
/// usages given. The same name again changes the request and orders again.
#[utoipa::path(
    post, path = "/api/v1/acme/requests", tag = "certificates",
    request_body = AcmeRequestInput,
    responses(
        (status = 202, description = "Saved; the gateway orders it", body = AcmeRequestView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 409, description = "An imported certificate has that name", body = ErrorBody),
        (status = 422, description = "A field is refused (named)", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:write"]), ("session" = []))
)]
async fn create_acme_request(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<AcmeRequestInput>,
) -> Reply {
    let caller = auth.caller;
    let view = state
        .service
        .run(move |s| s.acme_request(&caller, &input))
        .await?;
    Ok(json(StatusCode::ACCEPTED, &view))
}

/// Stops obtaining and renewing a certificate with ACME; the certificate
/// stays installed until deleted.
#[utoipa::path(
    delete, path = "/api/v1/acme/requests/{name}", tag = "certificates",
    params(("name" = String, Path, description = "The request's name")),
    responses(
        (status = 200, description = "The request as it was", body = AcmeRequestView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such request", body = ErrorBody),
    ),
    security(("bearer" = ["certificates:write"]), ("session" = []))
)]
async fn delete_acme_request(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let view = state
        .service
        .run(move |s| s.acme_request_delete(&caller, &name))
        .await?;
    Ok(json(StatusCode::OK, &view))
}

/// An import's JSON body, read as [`JsonBody`] reads one but within
/// [`MAX_IMPORT_BODY_BYTES`] (a 413 names that limit).
async fn import_body(state: &ApiState, request: Request) -> Result<Bytes, ServiceError> {
    let is_json = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(ServiceError::UnsupportedMediaType);
    }
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::PayloadTooLarge {
                    limit_bytes: MAX_IMPORT_BODY_BYTES,
                }
            } else {
                ServiceError::BadRequest {
                    field: None,
                    message: format!("cannot read the request body: {rejection}"),
                }
            }
        })
}
