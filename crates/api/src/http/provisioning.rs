//! `/api/v1/provisioning`: the hash key (show; generate with an
//! administrator's password), the remote-worker and global CSV imports
//! (all or nothing, 422 listing every problem by line and column), the
//! stored files, the inventory (list, delete, CSV export) and the actions
//! log. Scope `provisioning`; the rules, secrets policy and audit log are
//! the service layer's ([`crate::service::provisioning`]).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Path, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use outpost_provision::global_csv::MAX_GLOBAL_CSV_BYTES;
use outpost_provision::remote_worker_csv::MAX_REMOTE_WORKER_CSV_BYTES;
use utoipa::OpenApi;

use super::extract::{Authenticated, JsonBody};
use super::resources::openapi::ErrorBody;
use super::{ApiState, json};
use crate::service::ServiceError;
use crate::service::provisioning::hash::{HashGenerateInput, HashGenerated, HashView};
use crate::service::provisioning::import::{
    CsvImportFailure, CsvProblemReport, GlobalImportSummary, MAX_EXTRA_FILE_BYTES,
    PhoneImportSummary,
};
use crate::service::provisioning::inventory_filter::InventoryQuery;
use crate::service::provisioning::uploads::{MAX_FIRMWARE_BYTES, parse_kind};
use crate::service::provisioning::{
    ActionView, EventView, FileContents, FileView, InventoryView, parse_macs,
};

type Reply = Result<Response, ServiceError>;

/// The provisioning routes, merged into the API's router.
pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route(
            "/api/v1/provisioning/hash",
            get(show_hash).post(generate_hash),
        )
        .route(
            "/api/v1/provisioning/phones/import",
            post(import_phones).layer(DefaultBodyLimit::max(MAX_REMOTE_WORKER_CSV_BYTES)),
        )
        .route(
            "/api/v1/provisioning/global/import",
            post(import_global).layer(DefaultBodyLimit::max(MAX_GLOBAL_CSV_BYTES)),
        )
        .route(
            "/api/v1/provisioning/extra/{name}",
            put(upload_extra).layer(DefaultBodyLimit::max(MAX_EXTRA_FILE_BYTES)),
        )
        .route(
            "/api/v1/provisioning/uploads/{kind}/{name}",
            put(upload_file).layer(DefaultBodyLimit::max(MAX_FIRMWARE_BYTES)),
        )
        .route(
            "/api/v1/provisioning/uploads/{name}",
            delete(remove_uploaded_file),
        )
        .route("/api/v1/provisioning/files", get(list_files))
        .route(
            "/api/v1/provisioning/files/{name}",
            get(show_file).delete(remove_file),
        )
        .route("/api/v1/provisioning/inventory", get(list_inventory))
        .route(
            "/api/v1/provisioning/inventory/export",
            get(export_inventory),
        )
        .route(
            "/api/v1/provisioning/inventory/{mac}",
            delete(remove_inventory),
        )
}

/// The OpenAPI operations of these routes (merged into the API's
/// document).
#[derive(OpenApi)]
#[openapi(
    paths(
        show_hash,
        generate_hash,
        import_phones,
        import_global,
        upload_extra,
        upload_file,
        remove_uploaded_file,
        list_files,
        show_file,
        remove_file,
        list_inventory,
        export_inventory,
        remove_inventory,
    ),
    components(schemas(
        HashView,
        HashGenerated,
        HashGenerateInput,
        CsvProblemReport,
        PhoneImportSummary,
        GlobalImportSummary,
        FileView,
        FileContents,
        InventoryView,
        ActionView,
        EventView,
    )),
    tags((name = "provisioning", description = "Phone provisioning: hash key, CSV imports, files, inventory, actions"))
)]
pub(crate) struct ProvisioningDoc;

/// The hash key and the path phones fetch under (write scope: it opens
/// every phone's file).
#[utoipa::path(
    get, path = "/api/v1/provisioning/hash", tag = "provisioning",
    responses(
        (status = 200, description = "The key", body = HashView),
        (status = 403, description = "No provisioning:write scope or a read-only account", body = ErrorBody),
        (status = 404, description = "No key yet", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn show_hash(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let view = state
        .service
        .run(move |s| s.provisioning_hash(&caller))
        .await?;
    Ok(json(StatusCode::OK, &view))
}

/// Generates a new hash key, confirmed by an administrator's password.
/// Every deployed phone must then be re-provisioned.
#[utoipa::path(
    post, path = "/api/v1/provisioning/hash", tag = "provisioning",
    request_body = HashGenerateInput,
    responses(
        (status = 200, description = "The new key, with the re-provisioning warning", body = HashGenerated),
        (status = 401, description = "Not an admin account's password; the key is unchanged", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "admin missing or not the session's own account", body = ErrorBody),
        (status = 429, description = "Too many wrong passwords from this address", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn generate_hash(
    State(state): State<ApiState>,
    auth: Authenticated,
    JsonBody(input): JsonBody<HashGenerateInput>,
) -> Reply {
    let caller = auth.caller;
    let made = state
        .service
        .run(move |s| s.generate_provisioning_hash(&caller, &input))
        .await?;
    Ok(json(StatusCode::OK, &made))
}

/// Replaces every phone file with those of a remote-worker CSV, all or
/// nothing.
#[utoipa::path(
    post, path = "/api/v1/provisioning/phones/import", tag = "provisioning",
    request_body(
        content = String, content_type = "text/csv",
        description = "MAC_ADDRESS, then phone parameters as column names (`!` locks one); `;` or `,` separated; NOTDEFINED leaves a parameter out; at most 1500 phones",
    ),
    responses(
        (status = 200, description = "Written (or, for a MAC-only file, the selection; nothing written)", body = PhoneImportSummary),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 413, description = "Larger than 4 MiB", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        (status = 422, description = "Refused: error.problems lists each with line and column; nothing was written", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn import_phones(
    State(state): State<ApiState>,
    auth: Authenticated,
    request: Request,
) -> Reply {
    let body = match csv_body(&state, request, MAX_REMOTE_WORKER_CSV_BYTES).await {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let caller = auth.caller;
    let outcome = state
        .service
        .run(move |s| Ok(s.import_phones(&caller, &body)))
        .await?;
    csv_outcome(outcome)
}

/// Writes the global file (`aastra.cfg`) from a `PARAMETERS;VALUE` CSV.
#[utoipa::path(
    post, path = "/api/v1/provisioning/global/import", tag = "provisioning",
    request_body(content = String, content_type = "text/csv", description = "A PARAMETERS;VALUE header, then one parameter per row"),
    responses(
        (status = 200, description = "Written", body = GlobalImportSummary),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 413, description = "Larger than 1 MiB", body = ErrorBody),
        (status = 415, description = "Not text/csv", body = ErrorBody),
        (status = 422, description = "Refused: error.problems lists each; nothing was written", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn import_global(
    State(state): State<ApiState>,
    auth: Authenticated,
    request: Request,
) -> Reply {
    let body = match csv_body(&state, request, MAX_GLOBAL_CSV_BYTES).await {
        Ok(body) => body,
        Err(response) => return Ok(response),
    };
    let caller = auth.caller;
    let outcome = state
        .service
        .run(move |s| Ok(s.import_global(&caller, &body)))
        .await?;
    csv_outcome(outcome)
}

/// The body of a `text/csv` request, or the error response (415 names
/// the content type to send).
async fn csv_body(
    state: &ApiState,
    request: Request,
    limit_bytes: usize,
) -> Result<Bytes, Response> {
    let is_csv = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(super::resources::error_response(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as CSV with the header `Content-Type: text/csv`".to_owned(),
            None,
            None,
        ));
    }
    Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            let error = if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::PayloadTooLarge { limit_bytes }
            } else {
                ServiceError::BadRequest {
                    field: None,
                    message: format!("cannot read the request body: {rejection}"),
                }
            };
            error.into_response()
        })
}

/// 200 with the summary, or 422 with every problem of the file.
fn csv_outcome<T: serde::Serialize>(outcome: Result<T, CsvImportFailure>) -> Reply {
    match outcome {
        Ok(summary) => Ok(json(StatusCode::OK, &summary)),
        Err(CsvImportFailure::Service(e)) => Err(e),
        Err(failure @ CsvImportFailure::Rejected(_)) => Ok(json(
            StatusCode::UNPROCESSABLE_ENTITY,
            &serde_json::json!({
                "error": {
                    "code": "invalid",
                    "message": failure.message(),
                    "field": "csv",
                    "problems": failure.problems(),
                }
            }),
        )),
    }
}

/// Stores the one extra file (a template or a certificate) under `name`,
/// replacing the previous extra file; phones fetch it as
/// `/<hash>/<name>`.
#[utoipa::path(
    put, path = "/api/v1/provisioning/extra/{name}", tag = "provisioning",
    params(("name" = String, Path, description = "The file name phones ask for: not aastra.cfg or startup.cfg, no directory")),
    request_body(content = String, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 200, description = "Stored", body = FileView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 413, description = "Larger than 1 MiB", body = ErrorBody),
        (status = 422, description = "A refused name", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn upload_extra(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
    request: Request,
) -> Reply {
    let body = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::PayloadTooLarge {
                    limit_bytes: MAX_EXTRA_FILE_BYTES,
                }
            } else {
                ServiceError::BadRequest {
                    field: None,
                    message: format!("cannot read the request body: {rejection}"),
                }
            }
        })?;
    let caller = auth.caller;
    let stored = state
        .service
        .run(move |s| s.upload_extra_file(&caller, &name, &body))
        .await?;
    Ok(json(StatusCode::OK, &stored))
}

/// Every stored file, without contents.
#[utoipa::path(
    get, path = "/api/v1/provisioning/files", tag = "provisioning",
    responses(
        (status = 200, description = "Global, extra, then phone files by name", body = [FileView]),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:read"]), ("session" = []))
)]
async fn list_files(State(state): State<ApiState>, auth: Authenticated) -> Reply {
    let caller = auth.caller;
    let files = state
        .service
        .run(move |s| s.provisioning_files(&caller))
        .await?;
    Ok(json(StatusCode::OK, &files))
}

/// One file with its contents (write scope: phone files hold passwords).
#[utoipa::path(
    get, path = "/api/v1/provisioning/files/{name}", tag = "provisioning",
    params(("name" = String, Path, description = "The file's name, e.g. 00085D237429.cfg or aastra.cfg")),
    responses(
        (status = 200, description = "The file", body = FileContents),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such file", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn show_file(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let file = state
        .service
        .run(move |s| s.provisioning_file(&caller, &name))
        .await?;
    Ok(json(StatusCode::OK, &file))
}

/// Removes one phone's file.
#[utoipa::path(
    delete, path = "/api/v1/provisioning/files/{name}", tag = "provisioning",
    params(("name" = String, Path, description = "<MAC>.cfg, or the MAC in any accepted form")),
    responses(
        (status = 200, description = "The removed file", body = [FileView]),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No file for this phone", body = ErrorBody),
        (status = 422, description = "Not a MAC", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn remove_file(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let macs = parse_macs(&[name])?;
    let caller = auth.caller;
    let removed = state
        .service
        .run(move |s| s.remove_phone_files(&caller, &macs))
        .await?;
    Ok(json(StatusCode::OK, &removed))
}

/// The inventory of phones that downloaded a file, filtered by MAC
/// substring, model, registered or not, last download before/after.
#[utoipa::path(
    get, path = "/api/v1/provisioning/inventory", tag = "provisioning",
    params(InventoryQuery),
    responses(
        (status = 200, description = "By MAC", body = [InventoryView]),
        (status = 400, description = "An unknown query parameter", body = ErrorBody),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 422, description = "A bad filter (named)", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:read"]), ("session" = []))
)]
async fn list_inventory(State(state): State<ApiState>, auth: Authenticated, uri: Uri) -> Reply {
    let query: InventoryQuery = super::provisioning_actions::query(&uri)?;
    let caller = auth.caller;
    let rows = state
        .service
        .run(move |s| s.inventory_filtered(&caller, &query))
        .await?;
    Ok(json(StatusCode::OK, &rows))
}

/// The inventory as CSV, with the list's filters.
#[utoipa::path(
    get, path = "/api/v1/provisioning/inventory/export", tag = "provisioning",
    params(InventoryQuery),
    responses(
        (status = 200, description = "mac,model,firmware,address,last_download,file,downloads,user,registered (yes/no),sip_address", content_type = "text/csv"),
        (status = 403, description = "Not allowed", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:read"]), ("session" = []))
)]
async fn export_inventory(State(state): State<ApiState>, auth: Authenticated, uri: Uri) -> Reply {
    let query: InventoryQuery = super::provisioning_actions::query(&uri)?;
    let caller = auth.caller;
    let text = state
        .service
        .run(move |s| s.inventory_csv_filtered(&caller, &query))
        .await?;
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"inventory.csv\""),
            ),
        ],
        text,
    )
        .into_response())
}

/// Removes a phone from the inventory, and its file with it.
#[utoipa::path(
    delete, path = "/api/v1/provisioning/inventory/{mac}", tag = "provisioning",
    params(("mac" = String, Path, description = "The phone's MAC in any accepted form")),
    responses(
        (status = 200, description = "The MACs removed", body = [String]),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "Not in the inventory", body = ErrorBody),
        (status = 422, description = "Not a MAC", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn remove_inventory(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(mac): Path<String>,
) -> Reply {
    let macs = parse_macs(&[mac])?;
    let caller = auth.caller;
    let removed = state
        .service
        .run(move |s| s.remove_inventory(&caller, &macs))
        .await?;
    Ok(json(StatusCode::OK, &removed))
}

/// Stores an uploaded `startup.cfg`, model file (`<model>.cfg`) or
/// firmware image, replacing the file of the same kind and name; phones
/// fetch it as `/<hash>/<name>`.
#[utoipa::path(
    put, path = "/api/v1/provisioning/uploads/{kind}/{name}", tag = "provisioning",
    params(
        ("kind" = String, Path, description = "startup, model or firmware"),
        ("name" = String, Path, description = "The name phones ask for: startup.cfg for startup, <model>.cfg (e.g. 6867i.cfg) for model, e.g. 6867i.st for firmware; no directory, not aastra.cfg, a <MAC>.cfg or outpost-ca.pem"),
    ),
    request_body(content = String, content_type = "application/octet-stream", description = "The file's bytes"),
    responses(
        (status = 200, description = "Stored", body = FileView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 413, description = "Larger than 64 MiB (firmware) or 1 MiB (startup, model)", body = ErrorBody),
        (status = 422, description = "A refused kind or name, or a name another kind of file has", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn upload_file(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path((kind, name)): Path<(String, String)>,
    request: Request,
) -> Reply {
    let kind = parse_kind(&kind)?;
    let body = Bytes::from_request(request, &state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ServiceError::PayloadTooLarge {
                    limit_bytes: MAX_FIRMWARE_BYTES,
                }
            } else {
                ServiceError::BadRequest {
                    field: None,
                    message: format!("cannot read the request body: {rejection}"),
                }
            }
        })?;
    let caller = auth.caller;
    let stored = state
        .service
        .run(move |s| s.upload_file(&caller, kind, &name, &body))
        .await?;
    Ok(json(StatusCode::OK, &stored))
}

/// Removes an uploaded or imported file that is not a phone's own
/// (startup, model, firmware, extra or global).
#[utoipa::path(
    delete, path = "/api/v1/provisioning/uploads/{name}", tag = "provisioning",
    params(("name" = String, Path, description = "The file's name, e.g. 6867i.st")),
    responses(
        (status = 200, description = "The removed file", body = FileView),
        (status = 403, description = "Not allowed", body = ErrorBody),
        (status = 404, description = "No such file (phone files: DELETE /api/v1/provisioning/files/{name})", body = ErrorBody),
    ),
    security(("bearer" = ["provisioning:write"]), ("session" = []))
)]
async fn remove_uploaded_file(
    State(state): State<ApiState>,
    auth: Authenticated,
    Path(name): Path<String>,
) -> Reply {
    let caller = auth.caller;
    let removed = state
        .service
        .run(move |s| s.remove_uploaded_file(&caller, &name))
        .await?;
    Ok(json(StatusCode::OK, &removed))
}
