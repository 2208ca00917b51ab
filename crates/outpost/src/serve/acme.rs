//! Carrying out ACME requests (issue 17 item 2): the running gateway
//! orders each requested certificate, installs it in the certificate
//! store (where the TLS listeners pick it up within seconds), assigns it
//! to the usages asked for on its first issuance, and renews it ahead of
//! expiry; a failed order is retried with back-off
//! (`outpost_acme::next_retry`), logged, counted in
//! `outpost_acme_orders_total{result}` and written to the audit log, so an
//! expiry is never silent.
//!
//! Requests are files (`outpost_certs::acme_requests`) written by the CLI
//! and the API; this task looks at them every few seconds, off the SIP
//! core, and runs one order at a time (each bounded by the ACME client's
//! order time-out).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use outpost_acme::{AcmeClient, AcmeConfig, Challenge};
use outpost_certs::acme_requests::{AcmeChallenge, AcmeRequest, AcmeRequests, AcmeStatus};
use outpost_certs::store::CertStore;
use outpost_store::{AuditRecord, Store};
use time::OffsetDateTime;
use tokio::sync::watch;
use tracing::{info, warn};

/// How often the requests are looked at.
const LOOK_INTERVAL: Duration = Duration::from_secs(2);

/// Runs until `stop`: orders what is due, one at a time.
pub async fn run(tls_dir: PathBuf, bind_ip: IpAddr, store: Store, mut stop: watch::Receiver<bool>) {
    let certs = CertStore::new(&tls_dir);
    let requests = AcmeRequests::of(&certs);
    let mut audit = store;
    loop {
        let now = OffsetDateTime::now_utc();
        let listed = {
            let requests = requests.clone();
            tokio::task::spawn_blocking(move || requests.list()).await
        };
        match listed {
            Ok(Ok(list)) => {
                for request in list {
                    match request {
                        Ok(request) => {
                            let status = requests.status(&request.name);
                            if due(&request, &status, &certs, now) {
                                tokio::select! {
                                    () = order(&request, &certs, &requests, bind_ip, &mut audit) => {}
                                    _ = stop.changed() => return,
                                }
                            }
                        }
                        Err(e) => {
                            warn!(error = %e, "ACME request unreadable; fix or remove it with `outpost certs request`")
                        }
                    }
                }
            }
            Ok(Err(e)) => warn!(error = %e, "ACME requests unreadable"),
            Err(e) => warn!(error = %e, "looking at the ACME requests did not finish"),
        }
        tokio::select! {
            () = tokio::time::sleep(LOOK_INTERVAL) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Whether `request` needs an order at `now`: never tried since it was
/// made or "renew now" was asked, its certificate missing, or within the
/// renewal margin; never during a failure's back-off.
fn due(request: &AcmeRequest, status: &AcmeStatus, certs: &CertStore, now: OffsetDateTime) -> bool {
    let now_secs = now.unix_timestamp();
    if status.next_attempt.is_some_and(|t| t > now_secs) {
        return false;
    }
    if status.last_attempt.is_none_or(|t| t < request.requested_at) {
        return true;
    }
    match certs.load(&request.name).ok() {
        None => true,
        Some(cert) => OffsetDateTime::from_unix_timestamp(cert.info.not_after)
            .is_ok_and(|end| outpost_acme::renewal_due(end, now, request.renew_before_days)),
    }
}

/// One order for `request`, its outcome recorded.
async fn order(
    request: &AcmeRequest,
    certs: &CertStore,
    requests: &AcmeRequests,
    bind_ip: IpAddr,
    audit: &mut Store,
) {
    let started = OffsetDateTime::now_utc().unix_timestamp();
    let mut status = requests.status(&request.name);
    // At least the request's stamp: a "renew now" stamped one second
    // ahead (see `AcmeRequests::renew_now`) counts as done by this order.
    status.last_attempt = Some(started.max(request.requested_at));
    let bind = SocketAddr::new(bind_ip, request.port);
    let challenge = match request.challenge {
        AcmeChallenge::Http01 => Challenge::Http01 { bind },
        AcmeChallenge::TlsAlpn01 => Challenge::TlsAlpn01 { bind },
    };
    info!(certificate = %request.name, domains = ?request.domains, challenge = request.challenge.as_str(), %bind, directory = %request.directory_url, "ACME order started");
    let result = obtain(request, requests, challenge).await;
    let installed = match result {
        // Checked at the time of installation: a leaf issued during the
        // order is valid from then (Pebble does not backdate), after
        // `started`.
        Ok(issued) => install(
            request,
            certs,
            &issued,
            OffsetDateTime::now_utc().unix_timestamp(),
        ),
        Err(e) => Err(e),
    };
    let outcome = match installed {
        Ok(not_after) => {
            status.state = "valid".into();
            status.last_error = None;
            status.failures = 0;
            status.next_attempt = None;
            status.not_after = Some(not_after);
            metrics::counter!("outpost_acme_orders_total", "result" => "issued").increment(1);
            info!(certificate = %request.name, domains = ?request.domains, not_after, "ACME certificate issued and installed; the listeners present it from the next handshake");
            ("certificate.acme_issued", None)
        }
        Err(error) => {
            status.state = "failed".into();
            status.failures = status.failures.saturating_add(1);
            // Back-off, but one last try an hour before the certificate in
            // use expires (none installed: no such limit).
            let failed_at = OffsetDateTime::from_unix_timestamp(started)
                .unwrap_or_else(|_| OffsetDateTime::now_utc());
            let not_after = certs
                .load(&request.name)
                .ok()
                .and_then(|c| OffsetDateTime::from_unix_timestamp(c.info.not_after).ok())
                .unwrap_or(OffsetDateTime::UNIX_EPOCH);
            let next = outpost_acme::next_retry(failed_at, status.failures, not_after);
            let retry = next - failed_at;
            status.next_attempt = Some(next.unix_timestamp());
            status.last_error = Some(error.clone());
            metrics::counter!("outpost_acme_orders_total", "result" => "failed").increment(1);
            warn!(certificate = %request.name, domains = ?request.domains, failures = status.failures, retry_in_secs = retry.whole_seconds(), %error, "ACME order failed; retrying later");
            ("certificate.acme_failed", Some(error))
        }
    };
    if let Err(e) = requests.set_status(&request.name, &status) {
        warn!(certificate = %request.name, error = %e, "could not record the ACME order's status");
    }
    let record = AuditRecord {
        at: started,
        actor: "system".into(),
        actor_name: "outpost serve".into(),
        source: "local".into(),
        action: outcome.0.into(),
        target: request.name.clone(),
        before: None,
        after: Some(
            serde_json::json!({
                "domains": request.domains,
                "directory_url": request.directory_url,
                "challenge": request.challenge.as_str(),
                "state": status.state,
                "not_after": status.not_after,
                "error": outcome.1,
            })
            .to_string(),
        ),
    };
    if let Err(e) = audit.append_audit(&record) {
        warn!(certificate = %request.name, error = %e, "could not record the ACME order in the audit log");
    }
}

async fn obtain(
    request: &AcmeRequest,
    requests: &AcmeRequests,
    challenge: Challenge,
) -> Result<outpost_acme::Issued, String> {
    let mut config = AcmeConfig::new(
        request.directory_url.clone(),
        requests.account_path(&request.directory_url),
    );
    config.contact_email = request.email.clone();
    config.extra_ca_file = request.ca_file.clone();
    let client = AcmeClient::new(config).map_err(|e| e.to_string())?;
    client
        .obtain(&request.domains, challenge)
        .await
        .map_err(|e| e.to_string())
}

/// Checks and installs an issued certificate; on its first issuance,
/// assigns it to the usages asked for. Returns its expiry.
fn install(
    request: &AcmeRequest,
    certs: &CertStore,
    issued: &outpost_acme::Issued,
    now: i64,
) -> Result<i64, String> {
    let pem = format!("{}\n{}", issued.chain_pem, issued.key_pem);
    let bundle = outpost_certs::import_pem(pem.as_bytes(), None, now)
        .map_err(|e| format!("the CA's certificate was refused: {e}"))?;
    let first = certs.load(&request.name).is_err();
    certs
        .install(&request.name, &bundle)
        .map_err(|e| format!("installing the certificate: {e}"))?;
    if first {
        for usage in &request.usages {
            let mut names = certs
                .assignments()
                .map_err(|e| e.to_string())?
                .remove(usage)
                .unwrap_or_default();
            // The new certificate first: clients without SNI get it.
            names.retain(|n| n != &request.name);
            names.insert(0, request.name.clone());
            names.truncate(outpost_certs::store::MAX_PER_USAGE);
            certs
                .assign(*usage, &names)
                .map_err(|e| format!("assigning it to {usage}: {e}"))?;
        }
    }
    Ok(bundle.info.not_after)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is the failure report

    use outpost_certs::acme_requests::{DEFAULT_RENEW_BEFORE_DAYS, LETS_ENCRYPT};
    use outpost_certs::store::Usage;

    use super::*;

    fn request(requested_at: i64) -> AcmeRequest {
        AcmeRequest {
            name: "le".into(),
            domains: vec!["sbc.example.com".into()],
            directory_url: LETS_ENCRYPT.into(),
            email: None,
            challenge: AcmeChallenge::Http01,
            port: 80,
            ca_file: None,
            usages: vec![Usage::SipPublic],
            renew_before_days: DEFAULT_RENEW_BEFORE_DAYS,
            requested_at,
        }
    }

    fn install(certs: &CertStore, days_left: i64) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["sbc.example.com".into()]).unwrap();
        let now = OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(days_left);
        let cert = params.self_signed(&key).unwrap();
        let pem = format!("{}{}", cert.pem(), key.serialize_pem());
        let bundle = outpost_certs::import_pem(pem.as_bytes(), None, now.unix_timestamp()).unwrap();
        certs.install("le", &bundle).unwrap();
    }

    #[test]
    fn orders_when_new_asked_again_missing_or_expiring_but_not_in_back_off() {
        let dir = tempfile::tempdir().unwrap();
        let certs = CertStore::new(dir.path());
        let now = OffsetDateTime::now_utc();
        let t = now.unix_timestamp();
        let pending = AcmeStatus::default();
        assert!(due(&request(t), &pending, &certs, now), "never tried");
        let failed = AcmeStatus {
            state: "failed".into(),
            last_attempt: Some(t),
            next_attempt: Some(t + 60),
            failures: 1,
            ..AcmeStatus::default()
        };
        assert!(!due(&request(t), &failed, &certs, now), "in back-off");
        assert!(
            due(
                &request(t),
                &failed,
                &certs,
                now + time::Duration::seconds(61)
            ),
            "back-off over"
        );
        let issued = AcmeStatus {
            state: "valid".into(),
            last_attempt: Some(t),
            ..AcmeStatus::default()
        };
        assert!(
            due(&request(t), &issued, &certs, now),
            "certificate missing"
        );
        install(&certs, 80);
        assert!(
            !due(&request(t), &issued, &certs, now),
            "valid, far from expiry"
        );
        assert!(due(&request(t + 1), &issued, &certs, now), "renew now");
        install(&certs, 20);
        assert!(due(&request(t), &issued, &certs, now), "within 30 days");
    }

    #[test]
    fn renew_now_in_the_second_an_order_started_is_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let certs = CertStore::new(dir.path());
        let requests = AcmeRequests::of(&certs);
        let now = OffsetDateTime::now_utc();
        let t = now.unix_timestamp();
        install(&certs, 80);
        requests.save(&request(t - 5)).unwrap();
        // An order for it started in this second (and was quick).
        let done = AcmeStatus {
            state: "valid".into(),
            last_attempt: Some(t),
            ..AcmeStatus::default()
        };
        requests.set_status("le", &done).unwrap();
        assert!(!due(&requests.get("le").unwrap(), &done, &certs, now));
        let renewed = requests.renew_now("le", t).unwrap();
        assert!(
            due(&renewed, &requests.status("le"), &certs, now),
            "renew now asked in the same second is carried out"
        );
    }
}
