//! ACME requests through the service layer (issue 17 items 2 and 6):
//! request a certificate from Let's Encrypt or any ACME CA, list the
//! requests with how their last order went, renew one now, stop renewing
//! one. Scope `certificates`. Shared by `/api/v1/acme/requests`,
//! `/api/v1/certificates/{name}/renew` and `outpost certs request|renew|
//! requests|forget`.
//!
//! A request is a file in the certificate store
//! ([`outpost_certs::acme_requests`]); the running `outpost serve`
//! carries it out (it owns the public address the CA validates), installs
//! the certificate under the request's name, puts it first on the usages
//! asked for, and renews it ahead of expiry. So these calls return at once
//! with the request's state; `state` turns `valid` or `failed` when the
//! gateway has tried.

use std::path::PathBuf;

use outpost_certs::acme_requests::{
    AcmeChallenge, AcmeRequest, AcmeRequestError, AcmeRequests, AcmeStatus,
    DEFAULT_RENEW_BEFORE_DAYS, LETS_ENCRYPT,
};
use outpost_certs::store::{StoreError, Usage};
use serde::{Deserialize, Serialize};
use tracing::info;
use utoipa::ToSchema;

use super::{RESERVED_NAME, store_error};
use crate::service::tokens::{Access, Resource};
use crate::service::{Caller, NOTHING, Service, ServiceError, lock};

/// `POST /api/v1/acme/requests`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcmeRequestInput {
    /// The name the certificate gets in the store (1 to 63 lower-case
    /// letters, digits, `.`, `-`, `_`); not one of an imported certificate.
    pub name: String,
    /// DNS names it must cover, 1 to 20; the first is its subject. Each
    /// must resolve to the gateway's public address for the CA.
    pub domains: Vec<String>,
    /// The CA's ACME directory URL; default Let's Encrypt's production
    /// directory.
    #[serde(default)]
    pub directory_url: Option<String>,
    /// Contact e-mail for the account (the CA's expiry notices).
    #[serde(default)]
    pub email: Option<String>,
    /// `http-01` (default; TCP 80 must reach the gateway) or `tls-alpn-01`
    /// (TCP 443).
    #[serde(default)]
    pub challenge: Option<String>,
    /// The port the challenge responder listens on, on the public side's
    /// address; default the challenge's (80 or 443). Another port only
    /// behind a port forward that maps the standard one to it.
    #[serde(default)]
    pub port: Option<u16>,
    /// A PEM file on the gateway of CAs trusted for the ACME server's own
    /// HTTPS besides the public roots (an internal or test CA).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Usages to present it on once issued: `sip-public`, `sip-private`,
    /// `web-services`, `admin`.
    #[serde(default)]
    pub usages: Vec<String>,
    /// Renew this many days before expiry (1 to 60, default 30).
    #[serde(default)]
    pub renew_before_days: Option<u32>,
}

/// A request and how its last order went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AcmeRequestView {
    /// The certificate's name in the store.
    pub name: String,
    /// The names it covers.
    pub domains: Vec<String>,
    /// The CA's directory URL.
    pub directory_url: String,
    /// Contact e-mail.
    pub email: Option<String>,
    /// `http-01` or `tls-alpn-01`.
    pub challenge: String,
    /// The responder's port.
    pub port: u16,
    /// Extra CA file for the ACME server's HTTPS.
    pub ca_file: Option<String>,
    /// Usages it is put on when first issued.
    pub usages: Vec<String>,
    /// Days before expiry it is renewed.
    pub renew_before_days: u32,
    /// When it was asked for (or renewal asked), Unix seconds.
    pub requested_at: i64,
    /// `pending` (the gateway has not tried yet), `valid` or `failed`.
    pub state: String,
    /// When the last order started, Unix seconds.
    pub last_attempt: Option<i64>,
    /// Why the last order failed.
    pub last_error: Option<String>,
    /// Failures since the last success.
    pub failures: u32,
    /// Earliest next try after a failure, Unix seconds.
    pub next_attempt: Option<i64>,
    /// Expiry of the certificate last issued, Unix seconds.
    pub not_after: Option<i64>,
}

impl AcmeRequestView {
    fn new(request: &AcmeRequest, status: &AcmeStatus) -> Self {
        Self {
            name: request.name.clone(),
            domains: request.domains.clone(),
            directory_url: request.directory_url.clone(),
            email: request.email.clone(),
            challenge: request.challenge.as_str().to_owned(),
            port: request.port,
            ca_file: request.ca_file.as_ref().map(|p| p.display().to_string()),
            usages: request
                .usages
                .iter()
                .map(|u| u.as_str().to_owned())
                .collect(),
            renew_before_days: request.renew_before_days,
            requested_at: request.requested_at,
            state: status.state.clone(),
            last_attempt: status.last_attempt,
            last_error: status.last_error.clone(),
            failures: status.failures,
            next_attempt: status.next_attempt,
            not_after: status.not_after,
        }
    }
}

fn request_error(e: AcmeRequestError) -> ServiceError {
    match e {
        AcmeRequestError::Invalid { field, message } => ServiceError::invalid(field, message),
        AcmeRequestError::Store(e) => store_error(e),
        other => ServiceError::Internal(other.to_string()),
    }
}

/// Builds the request `input` asks for at `now`.
fn build(input: &AcmeRequestInput, now: i64) -> Result<AcmeRequest, ServiceError> {
    let challenge = match input.challenge.as_deref() {
        None => AcmeChallenge::Http01,
        Some(c) => AcmeChallenge::parse(c).map_err(|m| ServiceError::invalid("challenge", m))?,
    };
    let usages = input
        .usages
        .iter()
        .map(|u| Usage::parse(u).map_err(|e| ServiceError::invalid("usages", e.to_string())))
        .collect::<Result<Vec<_>, _>>()?;
    let ca_file = match input.ca_file.as_deref() {
        None | Some("") => None,
        Some(path) => {
            let path = PathBuf::from(path);
            if !path.is_absolute() || !path.is_file() {
                return Err(ServiceError::invalid(
                    "ca_file",
                    format!(
                        "{} is not a file on the gateway; give the absolute path of a PEM \
                         file of CA certificates",
                        path.display()
                    ),
                ));
            }
            Some(path)
        }
    };
    Ok(AcmeRequest {
        name: input.name.clone(),
        domains: input
            .domains
            .iter()
            .map(|d| d.trim().trim_end_matches('.').to_ascii_lowercase())
            .collect(),
        directory_url: input
            .directory_url
            .clone()
            .unwrap_or_else(|| LETS_ENCRYPT.to_owned()),
        email: input.email.clone().filter(|e| !e.is_empty()),
        challenge,
        port: input.port.unwrap_or_else(|| challenge.standard_port()),
        ca_file,
        usages,
        renew_before_days: input.renew_before_days.unwrap_or(DEFAULT_RENEW_BEFORE_DAYS),
        requested_at: now,
    })
}

impl Service {
    /// The ACME requests with their state (`certificates:read`).
    ///
    /// # Errors
    /// 403 without read access; 409 without a certificate store.
    pub fn acme_requests(&self, caller: &Caller) -> Result<Vec<AcmeRequestView>, ServiceError> {
        caller.require(Resource::Certificates, Access::Read)?;
        let requests = AcmeRequests::of(&self.tls()?.store);
        let mut views = Vec::new();
        for request in requests.list().map_err(store_error)? {
            let request = request.map_err(store_error)?;
            views.push(AcmeRequestView::new(
                &request,
                &requests.status(&request.name),
            ));
        }
        Ok(views)
    }

    /// Asks the gateway to obtain a certificate with ACME
    /// (`certificates:write`), or changes the request of that name (which
    /// orders again); audited as `certificate.acme_request`.
    ///
    /// # Errors
    /// 403; 409 without a certificate store or when an imported
    /// certificate has that name; 422 naming the field.
    pub fn acme_request(
        &self,
        caller: &Caller,
        input: &AcmeRequestInput,
    ) -> Result<AcmeRequestView, ServiceError> {
        caller.require(Resource::Certificates, Access::Write)?;
        let tls = self.tls()?;
        if input.name == RESERVED_NAME {
            return Err(ServiceError::invalid(
                "name",
                format!("{RESERVED_NAME:?} is reserved by the API; choose another name"),
            ));
        }
        let request = build(input, caller.now)?;
        request.check().map_err(request_error)?;
        let requests = AcmeRequests::of(&tls.store);
        let _changes = lock(&tls.changes)?;
        let before = requests.get(&request.name).ok();
        if before.is_none() && tls.store.load(&request.name).is_ok() {
            return Err(ServiceError::Conflict(format!(
                "a certificate named {:?} was imported; choose another name for the ACME \
                 certificate (or delete that one first)",
                request.name
            )));
        }
        let before_view = before
            .as_ref()
            .map(|b| AcmeRequestView::new(b, &requests.status(&b.name)));
        requests.save(&request).map_err(request_error)?;
        // A new or changed request is ordered now: a previous failure's
        // back-off belonged to the old one.
        let mut status = requests.status(&request.name);
        if before.is_some() {
            status.state = "pending".into();
            status.last_error = None;
            status.failures = 0;
            status.next_attempt = None;
            requests
                .set_status(&request.name, &status)
                .map_err(store_error)?;
        }
        let view = AcmeRequestView::new(&request, &status);
        let audit = caller.audit(
            "certificate.acme_request",
            &request.name,
            before_view.as_ref(),
            Some(&view),
        );
        self.audit_after_change(
            &audit,
            &format!("the ACME request {:?} was saved", request.name),
        )?;
        info!(actor = %caller.audit_actor().0, name = %request.name, domains = ?request.domains, directory = %request.directory_url, "ACME certificate requested");
        Ok(view)
    }

    /// Asks the gateway to renew the ACME certificate `name` now
    /// (`certificates:write`); audited as `certificate.renew`.
    ///
    /// # Errors
    /// 403; 404 when no ACME request has that name (an imported
    /// certificate is renewed by importing a new one); 409 without a
    /// certificate store.
    pub fn certificate_renew(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<AcmeRequestView, ServiceError> {
        caller.require(Resource::Certificates, Access::Write)?;
        let tls = self.tls()?;
        let requests = AcmeRequests::of(&tls.store);
        let _changes = lock(&tls.changes)?;
        let request = requests.renew_now(name, caller.now).map_err(|e| match e {
            AcmeRequestError::Store(StoreError::NotFound(_)) => ServiceError::NotFound(format!(
                "no ACME request named {name:?}: only certificates obtained with ACME are \
                 renewed by Outpost; import a new one for an imported certificate \
                 (`outpost certs requests` lists the ACME ones)"
            )),
            other => request_error(other),
        })?;
        let view = AcmeRequestView::new(&request, &requests.status(name));
        let audit = caller.audit("certificate.renew", name, NOTHING, Some(&view));
        self.audit_after_change(&audit, &format!("renewal of {name:?} was asked"))?;
        info!(actor = %caller.audit_actor().0, name, "ACME renewal asked");
        Ok(view)
    }

    /// Stops obtaining and renewing certificate `name` with ACME
    /// (`certificates:write`); the certificate stays installed until
    /// deleted. Audited as `certificate.acme_forget`.
    ///
    /// # Errors
    /// 403; 404; 409 without a certificate store.
    pub fn acme_request_delete(
        &self,
        caller: &Caller,
        name: &str,
    ) -> Result<AcmeRequestView, ServiceError> {
        caller.require(Resource::Certificates, Access::Write)?;
        let tls = self.tls()?;
        let requests = AcmeRequests::of(&tls.store);
        let _changes = lock(&tls.changes)?;
        let request = requests.get(name).map_err(store_error)?;
        let view = AcmeRequestView::new(&request, &requests.status(name));
        requests.remove(name).map_err(store_error)?;
        let audit = caller.audit("certificate.acme_forget", name, Some(&view), NOTHING);
        self.audit_after_change(&audit, &format!("the ACME request {name:?} was removed"))?;
        info!(actor = %caller.audit_actor().0, name, "ACME request removed");
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report

    use super::*;

    #[test]
    fn defaults_and_refusals_name_their_field() {
        let input = AcmeRequestInput {
            name: "le".into(),
            domains: vec!["SBC.Example.com.".into()],
            usages: vec!["sip-public".into()],
            ..AcmeRequestInput::default()
        };
        let built = build(&input, 7).unwrap();
        assert_eq!(built.domains, ["sbc.example.com"]);
        assert_eq!(built.directory_url, LETS_ENCRYPT);
        assert_eq!((built.challenge, built.port), (AcmeChallenge::Http01, 80));
        assert_eq!(built.renew_before_days, DEFAULT_RENEW_BEFORE_DAYS);
        let alpn = AcmeRequestInput {
            challenge: Some("tls-alpn-01".into()),
            ..input.clone()
        };
        assert_eq!(build(&alpn, 7).unwrap().port, 443);
        for (field, bad) in [
            (
                "challenge",
                AcmeRequestInput {
                    challenge: Some("dns-01".into()),
                    ..input.clone()
                },
            ),
            (
                "usages",
                AcmeRequestInput {
                    usages: vec!["sip".into()],
                    ..input.clone()
                },
            ),
            (
                "ca_file",
                AcmeRequestInput {
                    ca_file: Some("/nonexistent/ca.pem".into()),
                    ..input.clone()
                },
            ),
        ] {
            match build(&bad, 7) {
                Err(ServiceError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
    }
}
