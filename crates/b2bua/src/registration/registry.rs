//! The bindings and their indexes: by id, by device (several per device,
//! one per client) and by token, and the username maps used to translate
//! identities between sides.

use std::collections::HashMap;

use outpost_sip::{NameAddr, Uri};

use super::Binding;
use crate::PhoneTarget;
use crate::flow::Destination;

/// Names a binding for as long as it lives; never reused by one B2BUA, so
/// it also names the binding in status reports (it says nothing secret,
/// unlike the token).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct BindingId(pub(crate) u64);

/// What tells one client of a device from another: RFC 5626 §4.1's
/// `+sip.instance` when the Contact has one (it survives a change of
/// address or port), otherwise the Contact URI, compared as RFC 3261
/// §10.3 step 7 says (§19.1.4 equivalence). A NAT rebinding changes
/// where the packets come from, not the Contact, so it keeps its binding.
#[derive(Debug, Clone)]
pub(crate) enum ContactKey {
    /// The instance ID, without quotes and angle brackets, lower-cased
    /// (a `urn:uuid` compares case-insensitively, RFC 4122 §3).
    Instance(String),
    /// The Contact URI.
    Uri(Uri),
}

impl ContactKey {
    pub(crate) fn of(contact: &NameAddr) -> Self {
        let instance = contact
            .param("+sip.instance")
            .flatten()
            .map(|v| v.trim_matches(|c| c == '"' || c == '<' || c == '>'))
            .filter(|v| !v.is_empty());
        match instance {
            Some(v) => Self::Instance(v.to_ascii_lowercase()),
            None => Self::Uri(contact.uri().clone()),
        }
    }

    pub(crate) fn matches(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Instance(a), Self::Instance(b)) => a == b,
            (Self::Uri(a), Self::Uri(b)) => a.equivalent(b),
            _ => false,
        }
    }
}

/// All bindings, by id, device and token.
#[derive(Debug)]
pub(crate) struct Registry<D> {
    bindings: HashMap<BindingId, Binding<D>>,
    /// A device's bindings, oldest first.
    by_user: HashMap<String, Vec<BindingId>>,
    by_token: HashMap<String, BindingId>,
    next: u64,
}

impl<D> Default for Registry<D> {
    fn default() -> Self {
        Self {
            bindings: HashMap::new(),
            by_user: HashMap::new(),
            by_token: HashMap::new(),
            next: 0,
        }
    }
}

impl<D> Registry<D> {
    pub(crate) fn len(&self) -> usize {
        self.bindings.len()
    }
    pub(crate) fn registered_count(&self) -> usize {
        self.bindings.values().filter(|b| b.registered()).count()
    }
}

impl<D: Destination> Registry<D> {
    pub(crate) fn ids(&self) -> Vec<BindingId> {
        self.bindings.keys().copied().collect()
    }
    pub(crate) fn get(&self, id: BindingId) -> Option<&Binding<D>> {
        self.bindings.get(&id)
    }
    pub(crate) fn get_mut(&mut self, id: BindingId) -> Option<&mut Binding<D>> {
        self.bindings.get_mut(&id)
    }
    /// The device's bindings, oldest first.
    pub(crate) fn of_user(&self, user: &str) -> Vec<BindingId> {
        self.by_user.get(user).cloned().unwrap_or_default()
    }
    /// The device's bindings, oldest first.
    pub(crate) fn bindings_of<'a>(&'a self, user: &str) -> impl Iterator<Item = &'a Binding<D>> {
        self.by_user
            .get(user)
            .into_iter()
            .flatten()
            .filter_map(|id| self.bindings.get(id))
    }
    /// Any binding of the device: for what all of them share (credentials,
    /// ICP).
    pub(crate) fn any_of(&self, user: &str) -> Option<&Binding<D>> {
        self.bindings_of(user).next()
    }
    /// The device's binding for this client, if it has one.
    pub(crate) fn find(&self, user: &str, key: &ContactKey) -> Option<BindingId> {
        self.bindings_of(user)
            .find(|b| b.key.matches(key))
            .map(|b| b.id)
    }
    pub(crate) fn by_token(&self, token: &str) -> Option<&Binding<D>> {
        self.by_token
            .get(token)
            .and_then(|id| self.bindings.get(id))
    }
    /// The binding a request from a phone belongs to: the one registered
    /// over the flow it came on, else the one whose Contact it gives.
    pub(crate) fn of_source(
        &self,
        user: &str,
        source: &D,
        contact: Option<&Uri>,
    ) -> Option<BindingId> {
        let phones = || {
            self.bindings_of(user)
                .filter_map(|b| b.phone.as_ref().map(|p| (b.id, p)))
        };
        phones()
            .find(|(_, p)| p.flow == *source)
            .or_else(|| {
                phones().find(|(_, p)| contact.is_some_and(|c| p.contact.uri().equivalent(c)))
            })
            .map(|(id, _)| id)
    }
    /// The binding a routed request goes to.
    pub(crate) fn of_target(&self, target: &PhoneTarget<D>) -> Option<BindingId> {
        self.bindings_of(&target.setside_username)
            .find(|b| {
                b.phone.as_ref().is_some_and(|p| {
                    p.flow == target.destination && p.contact.uri().equivalent(&target.contact)
                })
            })
            .map(|b| b.id)
    }
    pub(crate) fn next_id(&mut self) -> BindingId {
        self.next += 1;
        BindingId(self.next)
    }
    pub(crate) fn insert(&mut self, b: Binding<D>) {
        self.by_user
            .entry(b.device.setside_username.clone())
            .or_default()
            .push(b.id);
        self.by_token.insert(b.token.clone(), b.id);
        self.bindings.insert(b.id, b);
    }
    pub(crate) fn remove(&mut self, id: BindingId) -> Option<Binding<D>> {
        let b = self.bindings.remove(&id)?;
        if let Some(ids) = self.by_user.get_mut(&b.device.setside_username) {
            ids.retain(|i| *i != id);
            if ids.is_empty() {
                self.by_user.remove(&b.device.setside_username);
            }
        }
        self.by_token.remove(&b.token);
        Some(b)
    }
    /// The device registered over this reliable flow, if any (SIG-7
    /// trusted connection).
    pub(crate) fn trusted(&self, flow: &D) -> Option<&Binding<D>> {
        if !flow.transport().is_reliable() {
            return None;
        }
        self.bindings
            .values()
            .find(|b| b.registered() && b.phone.as_ref().is_some_and(|p| p.flow == *flow))
    }
    /// Marks the phones on `flow` disconnected; returns their devices.
    pub(crate) fn mark_flow_closed(&mut self, flow: &D) -> Vec<String> {
        let mut out = Vec::new();
        for b in self.bindings.values_mut() {
            if let Some(p) = b.phone.as_mut().filter(|p| p.flow == *flow) {
                p.connected = false;
                out.push(b.device.setside_username.clone());
            }
        }
        out.sort();
        out.dedup();
        out
    }
    /// Set-side → ICP-side username of a known device.
    pub(crate) fn to_icp_user(&self, user: &str) -> Option<String> {
        self.any_of(user).map(|b| b.device.icpside_username.clone())
    }
    /// ICP-side → set-side username of a known device.
    pub(crate) fn to_set_user(&self, user: &str) -> Option<String> {
        self.bindings
            .values()
            .find(|b| b.device.icpside_username == user)
            .map(|b| b.device.setside_username.clone())
    }
    /// Hosts of the iPBXs in use: never shown on the public side.
    pub(crate) fn icp_hosts(&self) -> Vec<String> {
        let mut v: Vec<String> = self.bindings.values().map(|b| b.icp.host.clone()).collect();
        v.sort();
        v.dedup();
        v
    }
}
