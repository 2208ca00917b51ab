//! The dashboard (`/ui/`): the SIP service's state with stop, start and
//! restart ([`Service::sip_status`], [`Service::control_sip`], as `GET` and
//! `POST /api/v1/service/...`), registered and total devices and devices
//! in a call ([`Service::list_devices`] with the status filters of `GET
//! /api/v1/devices`), active calls and media ports in use per side (the
//! gateway's gauges `outpost_active_calls` and
//! `outpost_media_ports_in_use`, read from the process's metrics as
//! `/metrics` serves them), deny- and allow-list sizes
//! ([`Service::guard_status`]), certificate expiry
//! ([`Service::certificates_list`]) and the latest audit entries
//! ([`Service::audit`]).
//!
//! The figures are one fragment (`/ui/fragments/dashboard`) that the page
//! polls every 2 s with htmx; a figure whose call fails says why in its
//! place, and the rest still shows.
//!
//! [`Service::sip_status`]: crate::Service::sip_status
//! [`Service::control_sip`]: crate::Service::control_sip
//! [`Service::list_devices`]: crate::Service::list_devices
//! [`Service::guard_status`]: crate::Service::guard_status
//! [`Service::certificates_list`]: crate::Service::certificates_list
//! [`Service::audit`]: crate::Service::audit

use askama::Template;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::auth::{UiForm, UiSession};
use super::{Chrome, Notice, UiState, account, render, service_error_page, when};
use crate::service::certificates::CertificateView;
use crate::service::device_list::DeviceQuery;
use crate::service::gateway::SipStatus;
use crate::service::guard::GuardStatus;
use crate::service::sip::SipAction;
use crate::service::{AuditEntryView, AuditQuery, Caller, Service, ServiceError};

/// Audit entries the dashboard shows.
const RECENT_EVENTS: u32 = 8;
/// A certificate this close to its end is flagged, days.
const EXPIRY_WARNING_DAYS: i64 = 30;

/// A figure, or why it is not available.
pub type Figure<T> = Result<T, String>;

/// The dashboard's figures at one moment.
#[derive(Debug, Clone)]
pub struct Figures {
    /// When they were read (shown as "updated").
    pub at: String,
    /// The SIP service.
    pub sip: Figure<SipStatus>,
    /// Devices registered through Outpost, and devices in all.
    pub devices: Figure<(u64, u64)>,
    /// Devices in a call.
    pub in_call: Figure<u64>,
    /// Calls in progress, per the gateway's gauge.
    pub active_calls: Option<f64>,
    /// Media ports in use, public side.
    pub ports_public: Option<f64>,
    /// Media ports in use, private side.
    pub ports_private: Option<f64>,
    /// The guard's lists.
    pub guard: Figure<GuardStatus>,
    /// The certificates, soonest to expire first.
    pub certificates: Figure<Vec<CertificateView>>,
    /// The latest audit entries.
    pub events: Figure<Vec<AuditEntryView>>,
}

impl Figures {
    /// Reads every figure as `caller` (blocking: run it on the blocking
    /// pool).
    pub fn read(service: &Service, caller: &Caller, metrics: &str) -> Self {
        let text = |e: ServiceError| e.public_message();
        let count = |status: Option<&str>| {
            let query = DeviceQuery {
                status: status.map(str::to_owned),
                limit: Some(1),
                ..DeviceQuery::default()
            };
            service.list_devices(caller, &query).map(|page| page.total)
        };
        let devices = count(Some("registered"))
            .and_then(|registered| Ok((registered, count(None)?)))
            .map_err(text);
        let certificates = service
            .certificates_list(caller)
            .map(|mut list| {
                list.sort_by_key(|c| c.not_after);
                list
            })
            .map_err(text);
        let events = service
            .audit(
                caller,
                &AuditQuery {
                    limit: Some(RECENT_EVENTS),
                    ..AuditQuery::default()
                },
            )
            .map(|page| page.entries)
            .map_err(text);
        Self {
            at: when(caller.now),
            sip: service.sip_status(caller).map_err(text),
            devices,
            in_call: count(Some("in-call")).map_err(text),
            active_calls: gauge(metrics, "outpost_active_calls", None),
            ports_public: gauge(metrics, "outpost_media_ports_in_use", Some("public")),
            ports_private: gauge(metrics, "outpost_media_ports_in_use", Some("private")),
            guard: service.guard_status(caller).map_err(text),
            certificates,
            events,
        }
    }

    /// Whether a certificate is near its end (or past it).
    pub fn expiring(&self, c: &CertificateView) -> bool {
        c.expires_in_days < EXPIRY_WARNING_DAYS
    }
}

/// A gauge's value in Prometheus text (`name` with the label `side` when
/// given); `None` when the process has not set it (no SIP service).
pub fn gauge(text: &str, name: &str, side: Option<&str>) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (labels, value) = match rest.strip_prefix('{') {
            Some(inner) => inner.split_once('}')?,
            None => ("", rest),
        };
        if !value.starts_with(' ') {
            return None; // a longer name that starts with `name`
        }
        let wanted = side.map(|s| format!("side=\"{s}\""));
        let label_ok = match &wanted {
            Some(w) => labels.split(',').any(|l| l.trim() == w),
            None => labels.is_empty(),
        };
        if !label_ok {
            return None;
        }
        value.split_whitespace().next()?.parse().ok()
    })
}

/// The dashboard page.
#[derive(Template)]
#[template(path = "ui/dashboard.html")]
pub struct DashboardPage {
    /// The layout.
    pub chrome: Chrome,
    /// The figures (the fragment, included).
    pub figures: Figures,
}

/// The figures alone, for htmx.
#[derive(Template)]
#[template(path = "ui/dashboard_figures.html")]
pub struct FiguresFragment {
    /// The figures.
    pub figures: Figures,
}

async fn read_figures(state: &UiState, session: &UiSession) -> Result<Figures, ServiceError> {
    let caller = session.caller.clone();
    let metrics = state.metrics.clone();
    state
        .service
        .run(move |s| Ok(Figures::read(s, &caller, &metrics())))
        .await
}

/// `GET /ui/`: the setup page on a fresh installation, else the
/// dashboard (the login page without a session).
pub async fn page(State(state): State<UiState>, request: Request) -> Response {
    let (mut parts, _) = request.into_parts();
    match account::setup_required(&state).await {
        Ok(true) => return account::setup_page(&parts.headers),
        Ok(false) => {}
        Err(e) => return service_error_page(Chrome::anonymous(String::new()), &e),
    }
    let session = match UiSession::from_request_parts(&mut parts, &state).await {
        Ok(session) => session,
        Err(to_login) => return to_login,
    };
    let notice = Notice::from_query(parts.uri.query());
    match read_figures(&state, &session).await {
        Ok(figures) => render(
            StatusCode::OK,
            &DashboardPage {
                chrome: session.chrome("dashboard").with_notice(notice),
                figures,
            },
        ),
        Err(e) => service_error_page(session.chrome("dashboard"), &e),
    }
}

/// `GET /ui/fragments/dashboard`: the figures, for the page's polling.
pub async fn figures(State(state): State<UiState>, session: UiSession) -> Response {
    match read_figures(&state, &session).await {
        Ok(figures) => render(StatusCode::OK, &FiguresFragment { figures }),
        Err(e) => service_error_page(session.chrome("dashboard"), &e),
    }
}

/// `POST /ui/service/{stop|start|restart}`.
pub async fn control(
    State(state): State<UiState>,
    Path(action): Path<String>,
    posted: UiForm,
) -> Response {
    let session = posted.session;
    let action = match action.as_str() {
        "stop" => SipAction::Stop,
        "start" => SipAction::Start,
        "restart" => SipAction::Restart,
        other => {
            return service_error_page(
                session.chrome("dashboard"),
                &ServiceError::NotFound(format!(
                    "no SIP service action {other:?}; the actions are stop, start and restart"
                )),
            );
        }
    };
    let caller = session.caller.clone();
    match state
        .service
        .run(move |s| s.control_sip(&caller, action))
        .await
    {
        Ok(done) => {
            let notice = match (done.changed, action) {
                (false, _) => Notice::ServiceUnchanged,
                (true, SipAction::Stop) => Notice::ServiceStopped,
                (true, SipAction::Start) => Notice::ServiceStarted,
                (true, SipAction::Restart) => Notice::ServiceRestarted,
            };
            notice.redirect("/ui/", None)
        }
        Err(e) => service_error_page(session.chrome("dashboard"), &e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::gauge;

    #[test]
    fn gauges_are_read_by_name_and_side() {
        let text = "# HELP outpost_active_calls Calls\n\
                    outpost_active_calls 3\n\
                    outpost_active_calls_total 9\n\
                    outpost_media_ports_in_use{side=\"public\"} 4\n\
                    outpost_media_ports_in_use{side=\"private\"} 6\n";
        assert_eq!(gauge(text, "outpost_active_calls", None), Some(3.0));
        assert_eq!(
            gauge(text, "outpost_media_ports_in_use", Some("private")),
            Some(6.0)
        );
        assert_eq!(gauge(text, "outpost_registrations", None), None);
    }
}
