//! The devices page's CSV import and export (issue 18: "CSV import with
//! the per-line report, export"), on the services of `POST
//! /api/v1/devices/import` ([`Service::import_devices`], all or nothing,
//! every refused line reported) and `GET /api/v1/devices/export/mbg.csv`
//! ([`Service::export_mbg`], the same text; it holds set-side
//! passwords, so read-only accounts are refused and it is audited).
//!
//! [`Service::import_devices`]: crate::Service::import_devices
//! [`Service::export_mbg`]: crate::Service::export_mbg

use askama::Template;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::Response;

use super::super::auth::UiSession;
use super::super::{Chrome, Notice, UiState, render, service_error_page};
use super::csv_download;
use super::upload::UiUpload;
use crate::service::device_import::{IMPORT_MODES, ImportFailure, LineReport, parse_mode};

/// The devices import page.
#[derive(Template)]
#[template(path = "ui/provisioning_devices_import.html")]
pub struct DeviceImportPage {
    /// The layout.
    pub chrome: Chrome,
    /// The modes.
    pub modes: &'static [&'static str],
    /// The mode chosen.
    pub mode: String,
    /// The refusal's summary.
    pub refused: Option<String>,
    /// Every refused line.
    pub lines: Vec<LineReport>,
}

fn page_with(
    session: &UiSession,
    mode: String,
    refused: Option<String>,
    lines: Vec<LineReport>,
    status: StatusCode,
) -> Response {
    render(
        status,
        &DeviceImportPage {
            chrome: session.chrome("devices"),
            modes: &IMPORT_MODES,
            mode,
            refused,
            lines,
        },
    )
}

/// `GET /ui/devices/import`: the import form.
pub async fn page(session: UiSession) -> Response {
    page_with(
        &session,
        "create".to_owned(),
        None,
        Vec::new(),
        StatusCode::OK,
    )
}

/// `POST /ui/devices/import` (`mode`, `file` or `csv`): imports devices,
/// all or nothing.
pub async fn import(State(state): State<UiState>, posted: UiUpload) -> Response {
    let mode_text = Some(posted.text("mode"))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "create".to_owned());
    let csv = posted.contents("file", "csv");
    let session = posted.session;
    let mode = match parse_mode(&mode_text) {
        Ok(mode) => mode,
        Err(e) => {
            return page_with(
                &session,
                mode_text,
                Some(e.public_message()),
                Vec::new(),
                StatusCode::UNPROCESSABLE_ENTITY,
            );
        }
    };
    let caller = session.caller.clone();
    let outcome = state
        .service
        .run(move |s| Ok(s.import_devices(&caller, &csv, mode)))
        .await;
    match outcome {
        Ok(Ok(summary)) => Notice::DevicesImported.redirect(
            "/ui/devices",
            Some(&format!(
                "{} added, {} updated, {} unchanged",
                summary.added, summary.updated, summary.unchanged
            )),
        ),
        Ok(Err(failure @ ImportFailure::Rejected(_))) => page_with(
            &session,
            mode_text,
            Some(failure.message()),
            failure.lines(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Ok(Err(ImportFailure::Service(e))) | Err(e) => {
            let status =
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            page_with(
                &session,
                mode_text,
                Some(e.public_message()),
                Vec::new(),
                status,
            )
        }
    }
}

/// `GET /ui/devices/export.csv[?icp=NAME]`: `devices_mbg.csv`, the text
/// of `GET /api/v1/devices/export/mbg.csv`.
pub async fn export(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(uri.query().unwrap_or("")).unwrap_or_default();
    let icp = pairs
        .into_iter()
        .find(|(k, v)| k == "icp" && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_owned());
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.export_mbg(&caller, icp.as_deref()))
        .await
    {
        Ok(export) => csv_download(export.csv, "devices_mbg.csv"),
        Err(e) => service_error_page(session.chrome("devices"), &e),
    }
}
