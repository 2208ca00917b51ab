//! Checking a signed request (RFC 5849 §3.2): parameters gathered from
//! the header, the query and a form body; signature method, version and
//! timestamp checked; the secrets looked up; the signature compared in
//! constant time; only then the nonce remembered, so unsigned junk cannot
//! fill the nonce memory.

use crate::nonce::MAX_NONCE_LEN;
use crate::{
    AuthorizationHeader, NonceMemory, OAuthError, base_string_uri, form_decode,
    hmac_sha1_signature, signature_base_string, signatures_match,
};

/// How far a request's timestamp may be from the server's time, seconds.
pub const TIMESTAMP_WINDOW_SECS: u64 = 300;
/// Most query and form parameters together.
const MAX_REQUEST_PARAMS: usize = 256;

/// The parts of an HTTP request that are signed.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `GET`, `POST`, ...
    pub method: &'a str,
    /// `https` (or `http` behind a terminating proxy).
    pub scheme: &'a str,
    /// The host the client addressed (the `Host` header without its port).
    pub host: &'a str,
    /// The port the client addressed, if it gave one.
    pub port: Option<u16>,
    /// The path as sent, without the query.
    pub path: &'a str,
    /// The raw query string (after `?`), if any.
    pub query: Option<&'a str>,
    /// The body when its type is `application/x-www-form-urlencoded`.
    pub form_body: Option<&'a str>,
    /// The `Authorization` header's value.
    pub authorization: Option<&'a str>,
}

/// The secrets a request is signed with, looked up by the caller.
#[derive(Debug, Clone)]
pub struct Credentials {
    /// The client's (consumer's) shared secret.
    pub client_secret: String,
    /// The token's secret; empty when the request carries no token.
    pub token_secret: String,
}

/// A request whose signature, timestamp and nonce are good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// `oauth_consumer_key`.
    pub consumer_key: String,
    /// `oauth_token`, if given.
    pub token: Option<String>,
    /// `oauth_callback`, if given (`oob` for the out-of-band flow).
    pub callback: Option<String>,
    /// `oauth_verifier`, if given.
    pub verifier: Option<String>,
}

/// Verifies `request` at `now` (Unix seconds). `lookup` gets the consumer
/// key and the token (if any) and returns their secrets, or
/// [`OAuthError::UnknownConsumer`] / [`OAuthError::InvalidToken`].
///
/// # Errors
/// Any [`OAuthError`]; nothing is remembered for a refused request.
pub fn verify<F>(
    request: &SignedRequest<'_>,
    now: u64,
    window: u64,
    nonces: &mut NonceMemory,
    lookup: F,
) -> Result<Verified, OAuthError>
where
    F: FnOnce(&str, Option<&str>) -> Result<Credentials, OAuthError>,
{
    let header =
        AuthorizationHeader::parse(request.authorization.ok_or(OAuthError::MissingHeader)?)?;
    let mut params = header.params;
    for (source, text) in [("query", request.query), ("form body", request.form_body)] {
        if let Some(text) = text {
            add_form_params(&mut params, text, source)?;
        }
    }
    let signature =
        take_protocol(&mut params, "oauth_signature")?.ok_or_else(|| missing("oauth_signature"))?;
    let protocol = |name: &str| protocol_value(&params, name);
    let consumer_key =
        protocol("oauth_consumer_key")?.ok_or_else(|| missing("oauth_consumer_key"))?;
    let method =
        protocol("oauth_signature_method")?.ok_or_else(|| missing("oauth_signature_method"))?;
    if method != "HMAC-SHA1" {
        return Err(OAuthError::UnsupportedSignatureMethod { method });
    }
    if let Some(version) = protocol("oauth_version")? {
        if version != "1.0" {
            return Err(OAuthError::UnsupportedVersion { version });
        }
    }
    let timestamp = protocol("oauth_timestamp")?.ok_or_else(|| missing("oauth_timestamp"))?;
    let timestamp: u64 = timestamp
        .parse()
        .map_err(|_| OAuthError::StaleTimestamp { window })?;
    if timestamp.abs_diff(now) > window {
        return Err(OAuthError::StaleTimestamp { window });
    }
    let nonce = protocol("oauth_nonce")?.ok_or_else(|| missing("oauth_nonce"))?;
    if nonce.is_empty() || nonce.len() > MAX_NONCE_LEN {
        return Err(OAuthError::MalformedHeader {
            reason: format!("oauth_nonce must have 1 to {MAX_NONCE_LEN} characters"),
        });
    }
    let token = protocol("oauth_token")?.filter(|t| !t.is_empty());
    let credentials = lookup(&consumer_key, token.as_deref())?;

    let uri = base_string_uri(request.scheme, request.host, request.port, request.path);
    let base = signature_base_string(request.method, &uri, &params);
    let expected =
        hmac_sha1_signature(&base, &credentials.client_secret, &credentials.token_secret);
    if !signatures_match(&expected, &signature) {
        return Err(OAuthError::InvalidSignature);
    }
    nonces.accept(
        &consumer_key,
        token.as_deref().unwrap_or(""),
        &nonce,
        timestamp,
        now.saturating_sub(window),
    )?;
    Ok(Verified {
        consumer_key,
        token,
        callback: protocol("oauth_callback")?,
        verifier: protocol("oauth_verifier")?,
    })
}

fn missing(name: &str) -> OAuthError {
    OAuthError::MissingParameter {
        name: name.to_owned(),
    }
}

/// Adds `a=b&c=d` pairs (form-decoded) to `params`.
fn add_form_params(
    params: &mut Vec<(String, String)>,
    text: &str,
    source: &str,
) -> Result<(), OAuthError> {
    for pair in text.split('&').filter(|p| !p.is_empty()) {
        if params.len() >= MAX_REQUEST_PARAMS {
            return Err(OAuthError::MalformedHeader {
                reason: format!("more than {MAX_REQUEST_PARAMS} parameters"),
            });
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let what = format!("a {source} parameter");
        params.push((form_decode(name, &what)?, form_decode(value, &what)?));
    }
    Ok(())
}

/// The value of protocol parameter `name`, which may appear only once
/// over the header, the query and the body.
fn protocol_value(params: &[(String, String)], name: &str) -> Result<Option<String>, OAuthError> {
    let mut found = params.iter().filter(|(n, _)| n == name);
    let first = found.next().map(|(_, v)| v.clone());
    if found.next().is_some() {
        return Err(OAuthError::DuplicateParameter {
            name: name.to_owned(),
        });
    }
    Ok(first)
}

/// Removes `name` from `params` (it is not signed) and returns its value.
fn take_protocol(
    params: &mut Vec<(String, String)>,
    name: &str,
) -> Result<Option<String>, OAuthError> {
    let value = protocol_value(params, name)?;
    params.retain(|(n, _)| n != name);
    Ok(value)
}
