//! RFC 3263 §4.3 failover for registrations: a REGISTER toward the iPBX
//! that cannot be sent (the driver could not connect to the ICP's first
//! target) is sent again, with a new transaction, to the target the
//! directory now gives for the same ICP; the phone never sees the failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::calls::{HOME, NAT};
use common::flows::register;
use common::{Flow, IPBX, Registrar, Sim, Ua, config};
use outpost_b2bua::{Side, Transport};
use outpost_sip::Method;

const BACKUP: &str = "10.0.0.51:5060";

fn with_backup_registrar() -> (Sim, usize) {
    let mut sim = Sim::new(config());
    let backup: SocketAddr = BACKUP.parse().unwrap();
    let mut registrar = Registrar::new();
    registrar
        .passwords
        .insert("4001".into(), "icp-secret-1".into());
    let ua =
        Ua::new("backup", Side::Private, Transport::Udp, backup, backup).with_registrar(registrar);
    sim.uas.push(ua);
    let b = sim.uas.len() - 1;
    sim.dir.backup.insert(
        common::ipbx_addr(),
        Flow {
            side: Side::Private,
            transport: Transport::Udp,
            peer: backup,
            conn: None,
        },
    );
    (sim, b)
}

#[test]
fn a_register_that_cannot_reach_the_first_target_goes_to_the_next() {
    let (mut sim, backup) = with_backup_registrar();
    sim.unreachable.push(common::ipbx_addr());
    let a = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (_, status, _) = register(&mut sim, a, "alice", "alice-pw", 3600);
    assert_eq!(status, 200, "the phone is registered through the backup");
    assert!(sim.uas[backup].registrar().bindings.contains_key("4001"));
    assert!(sim.uas[IPBX].registrar().bindings.is_empty());
    // Refreshes go to the backup too, not to the dead target.
    let sent_to_backup = |sim: &Sim| {
        sim.sent
            .iter()
            .filter(|s| {
                s.to.peer.to_string() == BACKUP && s.message.method() == Some(&Method::Register)
            })
            .count()
    };
    let before = sent_to_backup(&sim);
    sim.advance(std::time::Duration::from_secs(3600));
    assert!(sent_to_backup(&sim) > before, "refreshed at the backup");
}

#[test]
fn with_no_other_target_the_phone_gets_503() {
    let mut sim = Sim::new(config());
    sim.unreachable.push(common::ipbx_addr());
    let a = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (_, status, _) = register(&mut sim, a, "alice", "alice-pw", 3600);
    assert_eq!(status, 503);
}

#[test]
fn failover_is_bounded_when_every_target_is_down() {
    let (mut sim, backup) = with_backup_registrar();
    let backup_addr: SocketAddr = BACKUP.parse().unwrap();
    sim.unreachable.push(common::ipbx_addr());
    sim.unreachable.push(backup_addr);
    // A backup of the backup that points back at the first: a loop the
    // B2BUA must not follow forever.
    sim.dir.backup.insert(
        backup_addr,
        Flow {
            side: Side::Private,
            transport: Transport::Udp,
            peer: common::ipbx_addr(),
            conn: None,
        },
    );
    let a = sim.add_phone("alice", Transport::Udp, HOME, NAT);
    let (_, status, _) = register(&mut sim, a, "alice", "alice-pw", 3600);
    assert_eq!(status, 503);
    assert!(sim.uas[backup].registrar().bindings.is_empty());
}
