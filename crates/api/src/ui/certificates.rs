//! Certificates (`/ui/certificates`): the gateway's TLS certificates with
//! their names, issuer, usages and days left ([`Service::certificates_list`],
//! highlighted under 30 days); importing one under a name, as PEM text (the
//! chain and the key, an optional passphrase) or as a PKCS#12 file with
//! its password ([`Service::certificate_import`], the input of `POST
//! /api/v1/certificates`); which certificates each usage presents and in
//! which order ([`Service::certificates_usages`],
//! [`Service::certificate_assign`]); deleting one
//! ([`Service::certificate_delete`], refused while a usage presents it, the
//! service's message shown); ACME: the request form (name, domains, usages,
//! e-mail, challenge, directory with Let's Encrypt as default and its
//! staging as a choice, [`Service::acme_request`]) and the list of
//! requests with their state, last error and next try
//! ([`Service::acme_requests`]), Renew now ([`Service::certificate_renew`])
//! and Forget ([`Service::acme_request_delete`]).
//!
//! The PKCS#12 form is the one form of the UI sent as
//! `multipart/form-data` (a file); [`UiUpload`] reads it and checks its
//! session and CSRF token as [`UiForm`] does for the others. No secret
//! (the PEM text, which holds the key, the passphrase, the password) is
//! ever put back into a page: a refused form keeps only its name.
//!
//! [`Service::certificates_list`]: crate::Service::certificates_list
//! [`Service::certificate_import`]: crate::Service::certificate_import
//! [`Service::certificates_usages`]: crate::Service::certificates_usages
//! [`Service::certificate_assign`]: crate::Service::certificate_assign
//! [`Service::certificate_delete`]: crate::Service::certificate_delete
//! [`Service::acme_request`]: crate::Service::acme_request
//! [`Service::acme_requests`]: crate::Service::acme_requests
//! [`Service::certificate_renew`]: crate::Service::certificate_renew
//! [`Service::acme_request_delete`]: crate::Service::acme_request_delete

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine as _;
use outpost_certs::acme_requests::LETS_ENCRYPT;
use outpost_certs::store::Usage;

use super::auth::{CSRF_FIELD, FormData, UiForm, UiSession, cookie};
use super::forms::FormState;
use super::{Chrome, Notice, UiState, error_page, render, service_error_page, when};
use crate::http::extract::{CSRF_HEADER, SESSION_COOKIE};
use crate::service::certificates::{
    AcmeRequestInput, AcmeRequestView, CertificateImportInput, CertificateView,
    MAX_CERTIFICATE_BYTES,
};
use crate::service::{Password, ServiceError, csrf_matches};

/// Let's Encrypt's staging directory: test certificates, not trusted by
/// browsers or phones, with far higher rate limits.
pub const LETS_ENCRYPT_STAGING: &str = "https://acme-staging-v02.api.letsencrypt.org/directory";
/// A certificate this close to its end is highlighted, days.
pub const EXPIRY_WARNING_DAYS: i64 = 30;
/// The largest import form accepted: 1 MiB of certificate material, as
/// PEM text or a file, and the other fields.
const MAX_IMPORT_FORM_BYTES: usize = MAX_CERTIFICATE_BYTES + 64 * 1024;

/// The page.
pub const PATH: &str = "/ui/certificates";

/// The usages, with what they are for.
pub const USAGES: [(&str, &str); 4] = [
    ("sip-public", "SIP, public side: what phones see"),
    ("sip-private", "SIP, private side: what the iPBX sees"),
    ("web-services", "Web services (MSL REST API)"),
    ("admin", "Administration: this UI and the REST API"),
];

/// The routes of the page, merged into the UI's router.
pub fn routes() -> Router<UiState> {
    Router::new()
        .route(PATH, get(page))
        .route(
            "/ui/certificates/import-pem",
            post(import_pem).layer(DefaultBodyLimit::max(MAX_IMPORT_FORM_BYTES * 2)),
        )
        .route(
            "/ui/certificates/import-pkcs12",
            post(import_pkcs12).layer(DefaultBodyLimit::max(MAX_IMPORT_FORM_BYTES)),
        )
        .route("/ui/certificates/assign", post(assign))
        .route("/ui/certificates/delete", post(delete))
        .route("/ui/certificates/acme", post(acme_request))
        .route("/ui/certificates/renew", post(renew))
        .route("/ui/certificates/forget", post(forget))
}

/// What one usage presents, with its form's state.
#[derive(Debug, Clone)]
pub struct UsageRow {
    /// `sip-public`, ...
    pub usage: &'static str,
    /// What it is for.
    pub label: &'static str,
    /// Its certificates, the default for unknown SNI first.
    pub certificates: Vec<String>,
    /// The text of its field (the list, comma-separated, or as posted).
    pub value: String,
    /// Why the last assignment was refused.
    pub error: Option<String>,
}

/// The certificates page.
#[derive(Template)]
#[template(path = "ui/certificates.html")]
pub struct CertificatesPage {
    /// The layout.
    pub chrome: Chrome,
    /// The certificates, or why they cannot be listed.
    pub certificates: Vec<CertificateView>,
    /// Why the list is not available (no certificate store...).
    pub unavailable: Option<String>,
    /// Each usage's certificates.
    pub usages: Vec<UsageRow>,
    /// The ACME requests.
    pub requests: Vec<AcmeRequestView>,
    /// A refused delete, renew or forget, shown above the list.
    pub refused: Option<String>,
    /// The PEM import form.
    pub pem: FormState,
    /// The PKCS#12 import form.
    pub p12: FormState,
    /// The ACME request form.
    pub acme: FormState,
    /// Let's Encrypt's production directory.
    pub lets_encrypt: &'static str,
    /// Let's Encrypt's staging directory.
    pub lets_encrypt_staging: &'static str,
    /// The ACME form's usage checkboxes: field name and usage.
    pub usage_fields: Vec<(String, &'static str)>,
}

impl CertificatesPage {
    /// The badge class of a certificate's days left.
    pub fn expiry_class(days: &i64) -> &'static str {
        if *days < 0 {
            "bad"
        } else if *days < EXPIRY_WARNING_DAYS {
            "warn"
        } else {
            "ok"
        }
    }

    /// The badge class of an ACME request's state.
    pub fn state_class(state: &str) -> &'static str {
        match state {
            "valid" => "ok",
            "failed" => "bad",
            _ => "warn",
        }
    }

    /// A time or `—`.
    pub fn at(t: &Option<i64>) -> String {
        t.map_or_else(|| "—".to_owned(), when)
    }
}

/// The page's forms as they are shown.
#[derive(Debug, Clone)]
struct Forms {
    pem: FormState,
    p12: FormState,
    acme: FormState,
    /// A refused assignment: the usage, the text posted, why.
    assign: Option<(String, String, String)>,
    refused: Option<String>,
}

impl Default for Forms {
    fn default() -> Self {
        Self {
            pem: FormState::default(),
            p12: FormState::default(),
            acme: acme_defaults(),
            assign: None,
            refused: None,
        }
    }
}

fn acme_defaults() -> FormState {
    FormState::with_defaults(&[
        ("acme_directory", "letsencrypt"),
        ("acme_challenge", "http-01"),
        ("acme_usage_sip-public", "on"),
    ])
}

async fn render_page(
    state: &UiState,
    session: &UiSession,
    forms: Forms,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let chrome = session.chrome("certificates").with_notice(notice);
    let caller = session.caller.clone();
    let read = state
        .service
        .run(move |s| {
            let list = s.certificates_list(&caller)?;
            let usages = s.certificates_usages(&caller)?;
            let requests = s.acme_requests(&caller)?;
            Ok::<_, ServiceError>((list, usages, requests))
        })
        .await;
    let (certificates, assigned, requests, unavailable) = match read {
        Ok((list, usages, requests)) => (list, usages.0, requests, None),
        // No certificate store in this process: the page says so.
        Err(e @ ServiceError::Conflict(_)) => (
            Vec::new(),
            std::collections::BTreeMap::new(),
            Vec::new(),
            Some(e.public_message()),
        ),
        Err(e) => return service_error_page(chrome, &e),
    };
    let usages = USAGES
        .iter()
        .map(|(usage, label)| {
            let current = assigned.get(*usage).cloned().unwrap_or_default();
            let mut row = UsageRow {
                usage,
                label,
                value: current.join(", "),
                certificates: current,
                error: None,
            };
            if let Some((u, text, why)) = &forms.assign {
                if u == usage {
                    row.value.clone_from(text);
                    row.error = Some(why.clone());
                }
            }
            row
        })
        .collect();
    render(
        status,
        &CertificatesPage {
            chrome,
            certificates,
            unavailable,
            usages,
            requests,
            refused: forms.refused,
            pem: forms.pem,
            p12: forms.p12,
            acme: forms.acme,
            lets_encrypt: LETS_ENCRYPT,
            lets_encrypt_staging: LETS_ENCRYPT_STAGING,
            usage_fields: USAGES
                .iter()
                .map(|(u, _)| (format!("acme_usage_{u}"), *u))
                .collect(),
        },
    )
}

fn status_of(e: &ServiceError) -> StatusCode {
    StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// `GET /ui/certificates`.
pub async fn page(State(state): State<UiState>, session: UiSession, uri: Uri) -> Response {
    let notice = Notice::from_query(uri.query());
    render_page(&state, &session, Forms::default(), notice, StatusCode::OK).await
}

/// The fields of the PEM form.
const PEM_FIELDS: [&str; 3] = ["pem_name", "pem", "pem_password"];
/// The fields of the PKCS#12 form.
const P12_FIELDS: [&str; 3] = ["p12_name", "pkcs12", "p12_password"];

/// A service field named in the form whose inputs carry `prefix`.
fn on_form(field: Option<&str>, prefix: &str, own: &[&str]) -> Option<String> {
    field.map(|f| {
        if own.contains(&f) {
            f.to_owned()
        } else {
            format!("{prefix}{f}")
        }
    })
}

/// Imports `input`; on refusal the page again with `form` showing why.
async fn import(
    state: &UiState,
    session: &UiSession,
    input: CertificateImportInput,
    which: Which,
) -> Response {
    let caller = session.caller.clone();
    let name = input.name().to_owned();
    match state
        .service
        .run(move |s| s.certificate_import(&caller, &input))
        .await
    {
        Ok(view) => Notice::CertificateImported.redirect(PATH, Some(&view.name)),
        Err(e) => {
            let mut forms = Forms::default();
            let (prefix, fields, own): (&str, &[&str], &[&str]) = match which {
                Which::Pem => ("pem_", &PEM_FIELDS, &["pem"]),
                Which::Pkcs12 => ("p12_", &P12_FIELDS, &["pkcs12"]),
            };
            let mut shown = FormState::with_defaults(&[(fields[0], name.as_str())]);
            let field = on_form(e.field(), prefix, own);
            shown.refuse_field(field.as_deref(), &e.public_message(), fields);
            match which {
                Which::Pem => forms.pem = shown,
                Which::Pkcs12 => forms.p12 = shown,
            }
            render_page(state, session, forms, None, status_of(&e)).await
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum Which {
    Pem,
    Pkcs12,
}

/// `POST /ui/certificates/import-pem` (`pem_name`, `pem`, `pem_password`).
pub async fn import_pem(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let pem = form.get("pem").unwrap_or("").trim().to_owned();
    let input = CertificateImportInput {
        name: form.optional("pem_name"),
        pem: Some(pem).filter(|p| !p.is_empty()),
        pkcs12: None,
        password: form
            .get("pem_password")
            .filter(|p| !p.is_empty())
            .map(Password::new),
    };
    import(&state, &session, input, Which::Pem).await
}

/// `POST /ui/certificates/import-pkcs12` (multipart: `p12_name`, the file
/// `pkcs12`, `p12_password`).
pub async fn import_pkcs12(State(state): State<UiState>, posted: UiUpload) -> Response {
    let UiUpload {
        session,
        form,
        files,
    } = posted;
    let file = files
        .into_iter()
        .find(|(k, bytes)| k == "pkcs12" && !bytes.is_empty())
        .map(|(_, bytes)| base64::engine::general_purpose::STANDARD.encode(bytes));
    let input = CertificateImportInput {
        name: form.optional("p12_name"),
        pem: None,
        pkcs12: file,
        password: form
            .get("p12_password")
            .filter(|p| !p.is_empty())
            .map(Password::new),
    };
    if input.pkcs12.is_none() {
        let mut forms = Forms::default();
        let name = input.name().to_owned();
        forms.p12 = FormState::with_defaults(&[("p12_name", name.as_str())]);
        forms.p12.refuse_field(
            Some("pkcs12"),
            "no file chosen; choose the PKCS#12 file (.p12 or .pfx) to import",
            &P12_FIELDS,
        );
        return render_page(
            &state,
            &session,
            forms,
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    import(&state, &session, input, Which::Pkcs12).await
}

/// The certificate names of an assignment field: separated by commas,
/// spaces or line breaks, in order.
pub fn name_list(text: &str) -> Vec<String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `POST /ui/certificates/assign` (`usage`, `certificates`).
pub async fn assign(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let usage = form.text("usage");
    let text = form.text("certificates");
    let names = name_list(&text);
    let caller = session.caller.clone();
    let u = usage.clone();
    match state
        .service
        .run(move |s| s.certificate_assign(&caller, &u, &names))
        .await
    {
        Ok(done) => Notice::CertificatesAssigned.redirect(PATH, Some(&done.usage)),
        Err(e) => {
            let mut forms = Forms::default();
            if Usage::parse(&usage).is_ok() {
                forms.assign = Some((usage, text, e.public_message()));
            } else {
                forms.refused = Some(e.public_message());
            }
            render_page(&state, &session, forms, None, status_of(&e)).await
        }
    }
}

/// Runs a change on the certificate `name` of a list's button; on
/// refusal the page with the service's message above the list.
async fn on_name<T: Send + 'static>(
    state: &UiState,
    posted: UiForm,
    call: fn(&crate::Service, &crate::service::Caller, &str) -> Result<T, ServiceError>,
    notice: Notice,
) -> Response {
    let UiForm { session, form } = posted;
    let name = form.text("name");
    let caller = session.caller.clone();
    let n = name.clone();
    match state.service.run(move |s| call(s, &caller, &n)).await {
        Ok(_) => notice.redirect(PATH, Some(&name)),
        Err(e) => {
            let forms = Forms {
                refused: Some(e.public_message()),
                ..Forms::default()
            };
            render_page(state, &session, forms, None, status_of(&e)).await
        }
    }
}

/// `POST /ui/certificates/delete` (`name`).
pub async fn delete(State(state): State<UiState>, posted: UiForm) -> Response {
    on_name(
        &state,
        posted,
        |s, c, n| s.certificate_delete(c, n),
        Notice::CertificateDeleted,
    )
    .await
}

/// `POST /ui/certificates/renew` (`name`).
pub async fn renew(State(state): State<UiState>, posted: UiForm) -> Response {
    on_name(
        &state,
        posted,
        |s, c, n| s.certificate_renew(c, n),
        Notice::CertificateRenewAsked,
    )
    .await
}

/// `POST /ui/certificates/forget` (`name`).
pub async fn forget(State(state): State<UiState>, posted: UiForm) -> Response {
    on_name(
        &state,
        posted,
        |s, c, n| s.acme_request_delete(c, n),
        Notice::AcmeForgotten,
    )
    .await
}

/// The ACME form's fields (`acme_` and the service's field name).
const ACME_FIELDS: [&str; 7] = [
    "acme_name",
    "acme_domains",
    "acme_usages",
    "acme_email",
    "acme_challenge",
    "acme_directory",
    "acme_directory_url",
];

fn acme_input(form: &FormData) -> Result<AcmeRequestInput, ServiceError> {
    let directory_url = match form.text("acme_directory").as_str() {
        "" | "letsencrypt" => LETS_ENCRYPT.to_owned(),
        "letsencrypt-staging" => LETS_ENCRYPT_STAGING.to_owned(),
        _ => form.optional("acme_directory_url").ok_or_else(|| {
            ServiceError::invalid(
                "directory_url",
                "empty; give the directory URL of the ACME CA (https://...), or choose \
                 Let's Encrypt",
            )
        })?,
    };
    Ok(AcmeRequestInput {
        name: form.text("acme_name"),
        domains: name_list(&form.text("acme_domains")),
        directory_url: Some(directory_url),
        email: form.optional("acme_email"),
        challenge: form.optional("acme_challenge"),
        usages: USAGES
            .iter()
            .filter(|(u, _)| form.checked(&format!("acme_usage_{u}")))
            .map(|(u, _)| (*u).to_owned())
            .collect(),
        ..AcmeRequestInput::default()
    })
}

/// `POST /ui/certificates/acme`: asks the gateway for a certificate.
pub async fn acme_request(State(state): State<UiState>, posted: UiForm) -> Response {
    let UiForm { session, form } = posted;
    let caller = session.caller.clone();
    let outcome = match acme_input(&form) {
        Ok(input) => {
            state
                .service
                .run(move |s| s.acme_request(&caller, &input))
                .await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(view) => Notice::AcmeRequested.redirect(PATH, Some(&view.name)),
        Err(e) => {
            let mut keep: Vec<String> = ACME_FIELDS.iter().map(|f| (*f).to_owned()).collect();
            keep.extend(USAGES.iter().map(|(u, _)| format!("acme_usage_{u}")));
            let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
            let mut shown = FormState::from_posted(&form, &keep);
            let field = on_form(e.field(), "acme_", &[]);
            shown.refuse_field(field.as_deref(), &e.public_message(), &ACME_FIELDS);
            let forms = Forms {
                acme: shown,
                ..Forms::default()
            };
            render_page(&state, &session, forms, None, status_of(&e)).await
        }
    }
}

/// A `multipart/form-data` form posted with a session and its CSRF token
/// (the PKCS#12 upload): its text fields and its files.
#[derive(Debug)]
pub struct UiUpload {
    /// The session.
    pub session: UiSession,
    /// The text fields.
    pub form: FormData,
    /// The files: field name and bytes.
    pub files: Files,
}

const UPLOAD_REFUSED: &str = "This form was refused: it did not carry the CSRF token of your \
     session (csrf_token), or carried another one. This happens when the page was opened \
     before your last login, or when another site tried to send it. Go back, reload the \
     page and send the form again.";

impl FromRequest<UiState> for UiUpload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = UiSession::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let refuse = |why: &str| {
            error_page(
                session.chrome(""),
                StatusCode::FORBIDDEN,
                "Form refused",
                why.to_owned(),
            )
        };
        let Some(boundary) = boundary(&headers) else {
            return Err(refuse(
                "This request was refused: a file upload must be sent as \
                 multipart/form-data, as the page's form is.",
            ));
        };
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| {
                refuse("This form was refused: it is larger than 1 MiB or could not be read.")
            })?;
        let Some((form, files)) = parse_multipart(&bytes, &boundary) else {
            return Err(refuse(
                "This form was refused: its multipart body does not decode.",
            ));
        };
        let presented = form
            .get(CSRF_FIELD)
            .map(str::to_owned)
            .or_else(|| {
                headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let Some(id) = cookie(&headers, SESSION_COOKIE) else {
            return Err(super::auth::to_login(&headers));
        };
        if !csrf_matches(&id, &presented) {
            return Err(refuse(UPLOAD_REFUSED));
        }
        Ok(Self {
            session,
            form,
            files,
        })
    }
}

/// The boundary of a `multipart/form-data` content type.
fn boundary(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mut params = value.split(';');
    if !params
        .next()?
        .trim()
        .eq_ignore_ascii_case("multipart/form-data")
    {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A parameter (`name="..."`) of a `Content-Disposition` header.
fn disposition_param(line: &str, key: &str) -> Option<String> {
    line.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// Files of a form: field name and bytes.
pub type Files = Vec<(String, Vec<u8>)>;

/// The text fields and the files of a multipart body (RFC 7578); `None`
/// when it does not decode.
pub fn parse_multipart(body: &[u8], boundary: &str) -> Option<(FormData, Files)> {
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut files = Vec::new();
    let start = find(body, delimiter.as_bytes())?;
    let mut rest = &body[start + delimiter.len()..];
    let between = format!("\r\n--{boundary}");
    loop {
        if rest.starts_with(b"--") {
            return Some((FormData(fields), files));
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let head_end = find(rest, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&rest[..head_end]).ok()?;
        let content = &rest[head_end + 4..];
        let end = find(content, between.as_bytes())?;
        let data = &content[..end];
        rest = &content[end + between.len()..];
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let name = disposition_param(disposition, "name")?;
        if disposition_param(disposition, "filename").is_some() {
            files.push((name, data.to_vec()));
        } else {
            fields.push((name, String::from_utf8(data.to_vec()).ok()?));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\nabc\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"pkcs12\"; filename=\"a.p12\"\r\n\
Content-Type: application/x-pkcs12\r\n\r\n\x00\x01\r\n\x02\r\n--XyZ--\r\n";
        let (form, files) = parse_multipart(body, "XyZ").unwrap_or_default();
        assert_eq!(form.get("csrf_token"), Some("abc"));
        assert_eq!(
            files,
            vec![("pkcs12".to_owned(), b"\x00\x01\r\n\x02".to_vec())]
        );
        assert!(parse_multipart(b"garbage", "XyZ").is_none());
    }

    #[test]
    fn name_lists_keep_their_order() {
        assert_eq!(name_list(" b, a\nc  "), ["b", "a", "c"]);
        assert!(name_list(" , ").is_empty());
    }
}
