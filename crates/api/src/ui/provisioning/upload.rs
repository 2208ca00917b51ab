//! A posted form that may carry a file: `multipart/form-data` (the
//! page's file inputs), `application/x-www-form-urlencoded` (text pasted
//! in a text area) or, as the REST API takes it, the file itself as the
//! body (`text/csv` or `application/octet-stream`, the CSRF token in the
//! `X-CSRF-Token` header and the other fields in the query string).
//! Either way the session and its CSRF token are checked as for
//! [`UiForm`](super::super::auth::UiForm), before anything is read into
//! the service.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;

use super::super::auth::{CSRF_FIELD, UiSession, cookie, to_login};
use super::super::{UiState, error_page};
use crate::http::extract::{CSRF_HEADER, SESSION_COOKIE};
use crate::service::csrf_matches;

/// One file of a posted form.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PostedFile {
    /// The name the browser gave it (no directory), or `""`.
    pub filename: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// A form with its fields and files, the session and CSRF token checked.
#[derive(Debug)]
pub struct UiUpload {
    /// The session.
    pub session: UiSession,
    /// Text fields, in order.
    pub fields: Vec<(String, String)>,
    /// Files by field name.
    pub files: Vec<(String, PostedFile)>,
}

impl UiUpload {
    /// The first text field `name`, trimmed, or `""`.
    pub fn text(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    }

    /// The file of field `name`, when one was chosen (a non-empty file
    /// or one with a name).
    pub fn file(&self, name: &str) -> Option<&PostedFile> {
        self.files
            .iter()
            .find(|(k, f)| k == name && !(f.bytes.is_empty() && f.filename.is_empty()))
            .map(|(_, f)| f)
    }

    /// The contents: the file of field `file` if one was chosen, else the
    /// text of field `text` (a pasted CSV).
    pub fn contents(&self, file: &str, text: &str) -> Vec<u8> {
        self.file(file).map_or_else(
            || {
                self.fields
                    .iter()
                    .find(|(k, _)| k == text)
                    .map(|(_, v)| v.as_bytes().to_vec())
                    .unwrap_or_default()
            },
            |f| f.bytes.clone(),
        )
    }
}

const CSRF_REFUSED: &str = "This form was refused: it did not carry the CSRF token of your \
     session (csrf_token), or carried another one. Go back, reload the page and send the form \
     again.";

fn refused(session: &UiSession, status: StatusCode, why: String) -> Response {
    error_page(session.chrome("provisioning"), status, "Form refused", why)
}

impl FromRequest<UiState> for UiUpload {
    type Rejection = Response;

    async fn from_request(req: Request, state: &UiState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = UiSession::from_request_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let query: Vec<(String, String)> =
            serde_urlencoded::from_str(parts.uri.query().unwrap_or("")).unwrap_or_default();
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| {
                let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                refused(
                    &session,
                    status,
                    format!(
                        "This form was refused: the file is too large or could not be read ({e})."
                    ),
                )
            })?;
        let (fields, files) = decode(&headers, &bytes, query)
            .map_err(|why| refused(&session, StatusCode::BAD_REQUEST, why.to_owned()))?;
        let presented = fields
            .iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                headers
                    .get(CSRF_HEADER)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        let Some(id) = cookie(&headers, SESSION_COOKIE) else {
            return Err(to_login(&headers));
        };
        if !csrf_matches(&id, &presented) {
            return Err(refused(
                &session,
                StatusCode::FORBIDDEN,
                CSRF_REFUSED.to_owned(),
            ));
        }
        Ok(Self {
            session,
            fields,
            files,
        })
    }
}

type Decoded = (Vec<(String, String)>, Vec<(String, PostedFile)>);

/// The fields and files of a body, by its content type; a raw body is
/// the file `file`, the query string its fields.
fn decode(
    headers: &HeaderMap,
    body: &[u8],
    query: Vec<(String, String)>,
) -> Result<Decoded, &'static str> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "multipart/form-data" => {
            let boundary = boundary(content_type)
                .ok_or("This form was refused: multipart/form-data without a boundary.")?;
            multipart(body, &boundary)
        }
        "application/x-www-form-urlencoded" => serde_urlencoded::from_bytes(body)
            .map(|fields| (fields, Vec::new()))
            .map_err(|_| "This form was refused: its fields do not decode."),
        "text/csv" | "text/plain" | "application/octet-stream" => Ok((
            query,
            vec![(
                "file".to_owned(),
                PostedFile {
                    filename: String::new(),
                    bytes: body.to_vec(),
                },
            )],
        )),
        _ => Err(
            "This request was refused: send a form (multipart/form-data or \
                  application/x-www-form-urlencoded) or the file as text/csv or \
                  application/octet-stream.",
        ),
    }
}

/// The `boundary` parameter of a multipart content type.
fn boundary(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A parameter (`name`, `filename`) of a `Content-Disposition` header.
fn disposition_param(value: &str, key: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        (k.trim().eq_ignore_ascii_case(key)).then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// The parts of a `multipart/form-data` body (RFC 7578).
fn multipart(body: &[u8], boundary: &str) -> Result<Decoded, &'static str> {
    const BAD: &str = "This form was refused: its multipart body does not decode.";
    let delimiter = format!("--{boundary}");
    let mut fields = Vec::new();
    let mut files = Vec::new();
    let start = find(body, delimiter.as_bytes()).ok_or(BAD)?;
    let mut rest = &body[start + delimiter.len()..];
    let next_delimiter = format!("\r\n--{boundary}");
    loop {
        if rest.starts_with(b"--") {
            break;
        }
        rest = rest.strip_prefix(b"\r\n").ok_or(BAD)?;
        let head_end = find(rest, b"\r\n\r\n").ok_or(BAD)?;
        let head = std::str::from_utf8(&rest[..head_end]).map_err(|_| BAD)?;
        let after_head = &rest[head_end + 4..];
        let end = find(after_head, next_delimiter.as_bytes()).ok_or(BAD)?;
        let content = &after_head[..end];
        rest = &after_head[end + next_delimiter.len()..];
        let disposition = head
            .split("\r\n")
            .find_map(|line| {
                let (k, v) = line.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case("content-disposition")
                    .then(|| v.trim().to_owned())
            })
            .ok_or(BAD)?;
        let name = disposition_param(&disposition, "name").ok_or(BAD)?;
        match disposition_param(&disposition, "filename") {
            Some(filename) => {
                let filename = filename.rsplit(['/', '\\']).next().unwrap_or("").to_owned();
                files.push((
                    name,
                    PostedFile {
                        filename,
                        bytes: content.to_vec(),
                    },
                ));
            }
            None => fields.push((name, String::from_utf8(content.to_vec()).map_err(|_| BAD)?)),
        }
    }
    Ok((fields, files))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_body_gives_its_fields_and_files() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\ntok\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"C:\\\\dir\\\\a.csv\"\r\n\
Content-Type: text/csv\r\n\r\nMAC_ADDRESS\r\n00085D000001\r\n\r\n--XyZ--\r\n";
        let (fields, files) = multipart(body, "XyZ").unwrap();
        assert_eq!(fields, vec![("csrf_token".to_owned(), "tok".to_owned())]);
        assert_eq!(files[0].0, "file");
        assert_eq!(files[0].1.filename, "a.csv");
        assert_eq!(files[0].1.bytes, b"MAC_ADDRESS\r\n00085D000001\r\n");
        assert!(multipart(b"garbage", "XyZ").is_err());
        assert_eq!(
            boundary("multipart/form-data; boundary=\"ab\"").as_deref(),
            Some("ab")
        );
    }
}
