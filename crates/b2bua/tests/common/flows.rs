//! Common phone flows: register with the digest round trip, place a call.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use outpost_b2bua::Transport;
use outpost_sip::{HeaderName, Message, Method};

use super::ua::UaDialog;
use super::{PUBLIC_DOMAIN, SDP, Sim};

/// REGISTER from phone `i` as `user` with `password`: the unauthenticated
/// attempt, then the answer to its 401. Returns the dialog, the final
/// status and the final response.
pub fn register(
    sim: &mut Sim,
    i: usize,
    user: &str,
    password: &str,
    expires: u32,
) -> (UaDialog, u16, Option<Message>) {
    let aor = format!("<sip:{user}@{PUBLIC_DOMAIN}>");
    let mut d = sim.uas[i].dialog(&aor, &aor, &format!("sip:{PUBLIC_DOMAIN}"));
    register_again(sim, i, &mut d, user, password, expires)
}

/// A REGISTER in an existing registration dialog (refresh).
pub fn register_again(
    sim: &mut Sim,
    i: usize,
    d: &mut UaDialog,
    user: &str,
    password: &str,
    expires: u32,
) -> (UaDialog, u16, Option<Message>) {
    let exp = vec![(HeaderName::Expires, expires.to_string())];
    let first = sim.uas[i].request(d, Method::Register, &exp, None);
    let t = sim.send(i, first.clone());
    let resp = sim.uas[i].last_response(t).cloned();
    let Some(resp) = resp else {
        return (d.clone(), 0, None);
    };
    if resp.status().map(|s| s.0) != Some(401) {
        return (d.clone(), resp.status().unwrap().0, Some(resp));
    }
    let auth = sim.uas[i].authorize(&resp, &first, user, password);
    let mut h = exp;
    h.push(auth);
    let second = sim.uas[i].request(d, Method::Register, &h, None);
    let t = sim.send(i, second);
    let resp = sim.uas[i].last_response(t).cloned();
    let status = resp.as_ref().and_then(Message::status).map_or(0, |s| s.0);
    (d.clone(), status, resp)
}

/// Unregisters (Contact: *, Expires: 0), answering the 401.
pub fn unregister(sim: &mut Sim, i: usize, d: &mut UaDialog, user: &str, password: &str) -> u16 {
    let h = vec![
        (HeaderName::Expires, "0".to_owned()),
        (HeaderName::Contact, "*".to_owned()),
    ];
    let first = request_without_contact(sim, i, d, Method::Register, &h);
    let t = sim.send(i, first.clone());
    let resp = sim.uas[i].last_response(t).cloned();
    let Some(resp) = resp.filter(|r| r.status().map(|s| s.0) == Some(401)) else {
        return 0;
    };
    let auth = sim.uas[i].authorize(&resp, &first, user, password);
    let mut h2 = h;
    h2.push(auth);
    let second = request_without_contact(sim, i, d, Method::Register, &h2);
    let t = sim.send(i, second);
    sim.uas[i]
        .last_response(t)
        .and_then(Message::status)
        .map_or(0, |s| s.0)
}

fn request_without_contact(
    sim: &mut Sim,
    i: usize,
    d: &mut UaDialog,
    method: Method,
    h: &[(HeaderName, String)],
) -> Message {
    let m = sim.uas[i].request(d, method, h, None);
    // Drop the UA's own Contact (keep ours: the `*`).
    let own = sim.uas[i].contact();
    let idx: Vec<usize> = m
        .headers()
        .filter(|f| f.is(&HeaderName::Contact) && f.value == own)
        .map(|f| f.index)
        .collect();
    let mut e = m.edit();
    for i in idx {
        e.remove(i);
    }
    e.apply().unwrap()
}

/// Adds and registers a phone; returns its index and registration dialog.
pub fn registered_phone(
    sim: &mut Sim,
    user: &str,
    password: &str,
    transport: Transport,
    local: &str,
    observed: &str,
) -> (usize, UaDialog) {
    let i = sim.add_phone(user, transport, local, observed);
    let (d, status, _) = register(sim, i, user, password, 3600);
    assert_eq!(status, 200, "registration of {user}");
    (i, d)
}

/// Phone `i` (user/password) sends an INVITE to `target_user`, answering
/// the 407. Returns the dialog and the INVITE client transaction.
pub fn invite(
    sim: &mut Sim,
    i: usize,
    user: &str,
    password: &str,
    target_user: &str,
    extra: &[(HeaderName, String)],
) -> (UaDialog, outpost_txn::TransactionId, Message) {
    let from = format!("\"Alice Home\" <sip:{user}@{PUBLIC_DOMAIN}>");
    let to = format!("<sip:{target_user}@{PUBLIC_DOMAIN}>");
    let mut d = sim.uas[i].dialog(&from, &to, &format!("sip:{target_user}@{PUBLIC_DOMAIN}"));
    let first = sim.uas[i].request(
        &mut d,
        Method::Invite,
        extra,
        Some(("application/sdp", SDP)),
    );
    let t = sim.send(i, first.clone());
    let resp = sim.uas[i].last_response(t).cloned();
    let Some(resp) = resp.filter(|r| r.status().map(|s| s.0) == Some(407)) else {
        return (d, t, first);
    };
    let auth = sim.uas[i].authorize(&resp, &first, user, password);
    let mut h = extra.to_vec();
    h.push(auth);
    let second = sim.uas[i].request(&mut d, Method::Invite, &h, Some(("application/sdp", SDP)));
    let t = sim.send(i, second.clone());
    (d, t, second)
}
