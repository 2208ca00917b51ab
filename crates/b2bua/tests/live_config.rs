//! Settings changed while the B2BUA runs (issue 14): the next REGISTER is
//! answered with the new phone expiry, and what the B2BUA is built with
//! cannot change under it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::flows::{register, register_again};
use common::{Sim, config};
use outpost_b2bua::{ConfigError, Transport};

const HOME: &str = "192.168.1.20:5060";
const NAT: &str = "198.51.100.7:40000";

fn granted(response: Option<outpost_sip::Message>) -> Option<u32> {
    let response = response.expect("a final response");
    let contacts = response.contacts().unwrap();
    contacts.first().and_then(|c| c.expires())
}

#[test]
fn a_new_phone_expiry_applies_from_the_next_register() {
    let mut sim = Sim::new(config());
    let i = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (mut d, status, response) = register(&mut sim, i, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    assert_eq!(granted(response), Some(120), "the configured 120 s");

    let mut live = sim.b2bua.config().clone();
    live.phone_expiry = Duration::from_secs(45);
    live.max_dialogs = 7;
    sim.b2bua.update_config(live).unwrap();
    assert_eq!(sim.b2bua.config().max_dialogs, 7);

    let (_, status, response) = register_again(&mut sim, i, &mut d, "alice", "alice-pw", 3600);
    assert_eq!(status, 200);
    assert_eq!(
        granted(response),
        Some(45),
        "the refresh gets the new expiry"
    );
    assert_eq!(sim.b2bua.stats().registrations, 1, "the binding was kept");
}

#[test]
fn what_the_b2bua_is_built_with_cannot_change_live() {
    let mut sim = Sim::new(config());
    let before = sim.b2bua.config().clone();

    let mut realm = before.clone();
    realm.realm = "other.example".to_owned();
    realm.phone_expiry = Duration::from_secs(45);
    let e = sim.b2bua.update_config(realm).unwrap_err();
    assert!(
        matches!(e, ConfigError::Invalid { field: "realm", .. }),
        "{e}"
    );
    assert!(e.to_string().contains("build a new one"), "{e}");

    let mut identity = before.clone();
    identity.private.host = "10.9.9.9".to_owned();
    assert!(sim.b2bua.update_config(identity).is_err());

    let mut invalid = before.clone();
    invalid.icp_expiry = Duration::from_secs(30);
    assert!(sim.b2bua.update_config(invalid).is_err(), "icp < phone");
    assert_eq!(sim.b2bua.config(), &before, "nothing changed");
}
