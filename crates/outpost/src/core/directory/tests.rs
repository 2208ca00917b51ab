use outpost_store::{DeviceUpdate, NewDevice, NewIcp, Secret};

use super::routes::RouteDefaults;
use super::*;

fn store() -> Store {
    let mut store = Store::open_in_memory().unwrap();
    let mut icp = NewIcp::new("pbx", "10.0.0.5");
    icp.sip_udp = true;
    icp.sip_tls = false;
    store.add_icp(&icp).unwrap();
    let mut alice = NewDevice::new("alice", Secret::new("alice-Secret-1".into()));
    alice.icpside_username = "1001".into();
    store.add_device(&alice).unwrap();
    store
        .add_device(&NewDevice::new("bob", Secret::new("bob-Secret-2".into())))
        .unwrap();
    store
}

fn directory(store: &Store) -> MemoryDirectory {
    MemoryDirectory::new(
        DirectorySnapshot::load(store).unwrap(),
        IcpRoutes::new(RouteDefaults::default()),
    )
}

#[test]
fn devices_are_answered_from_memory_with_their_icp_route() {
    let store = store();
    let dir = directory(&store);
    assert!(dir.is_device("alice") && !dir.is_device("mallory"));
    let alice = dir.device("alice").unwrap();
    assert_eq!(alice.icpside_username, "1001");
    assert_eq!(alice.icpside_password, "alice-Secret-1");
    let icp = alice.icp.unwrap();
    assert_eq!(icp.host, "10.0.0.5");
    assert_eq!(icp.destination.peer, "10.0.0.5:5060".parse().unwrap());
    assert_eq!(icp.destination.transport, TransportKind::Udp);
    assert!(dir.device("mallory").is_none());
}

#[test]
fn every_change_moves_the_revision_and_names_the_devices_it_touched() {
    let mut store = store();
    let mut dir = directory(&store);
    let before = store.directory_revision().unwrap();
    assert_eq!(dir.revision(), before);

    let update = DeviceUpdate {
        icpside_password: Some(Secret::new("new-icp-Secret".into())),
        ..DeviceUpdate::default()
    };
    store.update_device("alice", &update).unwrap();
    store.remove_device("bob").unwrap();
    store
        .add_device(&NewDevice::new(
            "carol",
            Secret::new("carol-Secret-3".into()),
        ))
        .unwrap();
    assert!(store.directory_revision().unwrap() > before);

    let changed = dir.replace(DirectorySnapshot::load(&store).unwrap());
    assert_eq!(changed, vec!["alice", "bob", "carol"]);
    assert_eq!(
        dir.device("alice").unwrap().icpside_password,
        "new-icp-Secret"
    );
    assert!(dir.device("bob").is_none());

    // A description is not the B2BUA's business.
    let update = DeviceUpdate {
        description: Some("Alice at home".into()),
        ..DeviceUpdate::default()
    };
    store.update_device("alice", &update).unwrap();
    assert!(
        dir.replace(DirectorySnapshot::load(&store).unwrap())
            .is_empty()
    );
}

#[test]
fn status_writes_do_not_move_the_revision() {
    let mut store = store();
    let before = store.directory_revision().unwrap();
    store
        .set_device_status(&outpost_store::DeviceStatusRecord {
            setside_username: "alice".into(),
            registered: true,
            connected: true,
            in_call: false,
            natted: false,
            last_address: None,
            updated: 1,
            bindings: Vec::new(),
        })
        .unwrap();
    assert_eq!(store.directory_revision().unwrap(), before);
}
