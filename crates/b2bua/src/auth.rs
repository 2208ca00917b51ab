//! Authenticating phones (SIG-6, SIG-7): 401 for REGISTER, 407 for other
//! requests, with the set-side password of the device named by the
//! credentials; failures reported for brute-force protection.

use outpost_sip::auth::{Credentials, Secret, ServerReply};
use outpost_sip::{HeaderName, Message, StatusCode, Uri};
use outpost_txn::TransactionId;

use crate::events::{AuthFailure, B2buaEvent};
use crate::flow::{Destination, DeviceCredentials, Directory};
use crate::{B2bua, Io};

/// Whether a challenge goes in a 401 (registrar) or a 407 (proxy).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Challenge {
    /// 401 with WWW-Authenticate, credentials in Authorization.
    Registrar,
    /// 407 with Proxy-Authenticate, credentials in Proxy-Authorization.
    Proxy,
}

impl Challenge {
    fn credentials_header(self) -> HeaderName {
        match self {
            Self::Registrar => HeaderName::Authorization,
            Self::Proxy => HeaderName::ProxyAuthorization,
        }
    }
}

impl<D: Destination> B2bua<D> {
    /// Authenticates `request`, answering it when that fails (challenge,
    /// 400 or 403). Returns the device on success.
    pub(crate) fn authenticate(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: &Message,
        source: &D,
        directory: &dyn Directory<D>,
        kind: Challenge,
    ) -> Option<DeviceCredentials<D>> {
        let realm = self.digest.realm().to_owned();
        let mut malformed = false;
        let mut credentials = None;
        for value in request.header_all(&kind.credentials_header()) {
            match Credentials::parse(value) {
                Ok(c) if c.realm == realm => {
                    credentials = Some(c);
                    break;
                }
                Ok(_) => {}
                Err(_) => malformed = true,
            }
        }
        let Some(credentials) = credentials else {
            if malformed {
                self.reply(io, id, request, source, StatusCode::BAD_REQUEST);
            } else {
                self.challenge(io, id, request, source, kind, false);
            }
            return None;
        };
        let Some(device) = directory.device(&credentials.username) else {
            self.auth_failed(
                io,
                id,
                request,
                source,
                &credentials.username,
                AuthFailure::UnknownUser,
            );
            return None;
        };
        if !device.enabled {
            self.auth_failed(
                io,
                id,
                request,
                source,
                &credentials.username,
                AuthFailure::Disabled,
            );
            return None;
        }
        // RFC 7616 §3.4.6: the digest-uri must be the Request-URI.
        let uri_matches = request.request_uri().is_some_and(|r| {
            r.as_str() == credentials.uri || Uri::parse(&credentials.uri).is_ok_and(|c| c == *r)
        });
        if !uri_matches {
            self.reply(io, id, request, source, StatusCode::BAD_REQUEST);
            return None;
        }
        let method = request
            .method()
            .map(|m| m.as_str().to_owned())
            .unwrap_or_default();
        match self.digest.verify(
            &credentials,
            &method,
            Secret::Password(&device.setside_password),
            io.unix,
        ) {
            Ok(_) => Some(device),
            Err(e) => {
                match e.server_reply() {
                    ServerReply::BadRequest => {
                        self.reply(io, id, request, source, StatusCode::BAD_REQUEST);
                    }
                    ServerReply::ChallengeStale => {
                        self.challenge(io, id, request, source, kind, true);
                    }
                    ServerReply::Forbidden => {
                        let user = credentials.username.clone();
                        self.auth_failed(
                            io,
                            id,
                            request,
                            source,
                            &user,
                            AuthFailure::WrongPassword,
                        );
                    }
                    _ => self.challenge(io, id, request, source, kind, false),
                }
                None
            }
        }
    }

    fn challenge(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: &Message,
        source: &D,
        kind: Challenge,
        stale: bool,
    ) {
        let random = self.rng.bytes16();
        let (status, header) = match kind {
            Challenge::Registrar => (StatusCode::UNAUTHORIZED, HeaderName::WwwAuthenticate),
            Challenge::Proxy => (
                StatusCode::PROXY_AUTHENTICATION_REQUIRED,
                HeaderName::ProxyAuthenticate,
            ),
        };
        let headers = self
            .digest
            .challenge(io.unix, random, stale)
            .iter()
            .map(|c| (header.clone(), c.to_header_value()))
            .collect();
        self.reply_with(io, id, request, source, status, headers);
    }

    fn auth_failed(
        &mut self,
        io: &mut Io<'_, D>,
        id: TransactionId,
        request: &Message,
        source: &D,
        username: &str,
        reason: AuthFailure,
    ) {
        self.stats.auth_failures += 1;
        self.events.push_back(B2buaEvent::AuthFailed {
            username: username.chars().take(64).collect(),
            address: source.remote_addr(),
            reason,
        });
        self.reply(io, id, request, source, StatusCode::FORBIDDEN);
    }
}
