//! Device status (SIG-8, PRO-3's read-only fields) per binding and per
//! device: each client's own registered/connected/natted/last address/in
//! call, and the device's aggregate (registered, connected, in call: any
//! binding; last address and natted: the binding that registered last).

use std::net::SocketAddr;

use super::BindingId;
use crate::events::{BindingStatus, DeviceStatus};
use crate::flow::Destination;
use crate::{B2bua, B2buaEvent};

impl<D: Destination> B2bua<D> {
    /// Emits [`B2buaEvent::DeviceStatus`] if the device's status changed.
    pub(crate) fn publish_status(&mut self, user: &str) {
        let previous = self.statuses.get(user);
        let mut bindings = Vec::new();
        // (last seen, address, natted) of the most recently active client.
        let mut latest: Option<(std::time::Instant, SocketAddr, bool)> = None;
        let mut ids: Vec<BindingId> = self.regs.of_user(user);
        ids.sort();
        for b in ids.iter().filter_map(|id| self.regs.get(*id)) {
            let Some(p) = &b.phone else { continue };
            let address = p.flow.remote_addr();
            bindings.push(BindingStatus {
                binding: b.id.0,
                contact: p.contact.uri().as_str().to_owned(),
                transport: p.flow.transport(),
                user_agent: p.user_agent.clone(),
                registered: b.registered(),
                connected: p.connected,
                in_call: self.calls.binding_in_call(b.id),
                natted: p.natted,
                last_address: address,
                expires_unix: p.expires_unix,
            });
            if latest.is_none_or(|(seen, ..)| p.last_seen >= seen) {
                latest = Some((p.last_seen, address, p.natted));
            }
        }
        let status = DeviceStatus {
            setside_username: user.to_owned(),
            registered: bindings.iter().any(|b| b.registered),
            connected: bindings.iter().any(|b| b.connected),
            in_call: self.calls.in_call(user),
            last_address: latest
                .map(|(_, a, _)| a)
                .or_else(|| previous.and_then(|s| s.last_address)),
            natted: latest.is_some_and(|(.., n)| n),
            bindings,
            refresh_only: false,
        };
        if previous == Some(&status) {
            return;
        }
        // A re-REGISTER moves nothing but the expiry: worth storing
        // (`devices list` shows it), not worth a log line.
        let refresh_only = previous.is_some_and(|p| without_expiry(p) == without_expiry(&status));
        if !status.registered && !status.in_call && self.regs.any_of(user).is_none() {
            self.statuses.remove(user);
        } else {
            self.statuses.insert(user.to_owned(), status.clone());
        }
        self.events
            .push_back(B2buaEvent::DeviceStatus(DeviceStatus {
                refresh_only,
                ..status
            }));
    }
}

/// The status with the expiries blanked, to compare the rest.
fn without_expiry(s: &DeviceStatus) -> DeviceStatus {
    let mut s = s.clone();
    for b in &mut s.bindings {
        b.expires_unix = 0;
    }
    s
}
