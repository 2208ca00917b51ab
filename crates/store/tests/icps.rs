//! ICPs (PRO-1): CRUD, validation, the default-ICP rule.

mod common;

use common::{device, problems, store_with_icp};
use outpost_store::{Item, NewDevice, NewIcp, Store, StoreError};

#[test]
fn add_list_get_with_defaults() {
    let mut store = Store::open_in_memory().unwrap();
    let added = store
        .add_icp(&NewIcp::new("pbx1", "pbx1.example.com"))
        .unwrap();
    assert_eq!(added.name, "pbx1");
    assert_eq!(added.host, "pbx1.example.com");
    assert_eq!(added.kind, "generic");
    assert!(added.sip_tls && !added.sip_udp && !added.sip_tcp);
    assert_eq!(added.xml_listen_port, 4445);
    assert_eq!(added.xml_destination_port, 4443);
    assert_eq!(added.guid.len(), 32);
    assert!(added.guid.chars().all(|c| c.is_ascii_hexdigit()));

    let mut second = NewIcp::new("pbx2", "2001:db8::10");
    second.kind = "mivoice-5000".to_owned();
    second.sip_udp = true;
    second.xml_destination_port = 4445;
    let second = store.add_icp(&second).unwrap();
    assert_ne!(second.guid, added.guid);
    assert_ne!(second.id, added.id);

    assert_eq!(store.icps().unwrap(), vec![added.clone(), second.clone()]);
    assert_eq!(store.icp("pbx2").unwrap(), Some(second));
    assert_eq!(store.icp("nope").unwrap(), None);
}

#[test]
fn first_icp_becomes_default_and_only_one_is_default() {
    let mut store = Store::open_in_memory().unwrap();
    let first = store.add_icp(&NewIcp::new("a", "192.0.2.1")).unwrap();
    assert!(first.is_default, "the first ICP is the default");
    let second = store.add_icp(&NewIcp::new("b", "192.0.2.2")).unwrap();
    assert!(!second.is_default);

    let mut third = NewIcp::new("c", "192.0.2.3");
    third.is_default = true;
    assert!(store.add_icp(&third).unwrap().is_default);
    let defaults: Vec<String> = store
        .icps()
        .unwrap()
        .into_iter()
        .filter(|i| i.is_default)
        .map(|i| i.name)
        .collect();
    assert_eq!(defaults, ["c"]);

    // Devices without an ICP go to the current default.
    let d = store.add_device(&device("alice", "pw-alice")).unwrap();
    assert_eq!(d.icp, "c");
}

#[test]
fn several_problems_are_reported_together() {
    let mut store = Store::open_in_memory().unwrap();
    let mut bad = NewIcp::new("", "bad host!");
    bad.sip_tls = false;
    bad.xml_listen_port = 0;
    bad.xml_destination_port = 4444;
    bad.kind = "no spaces please".to_owned();
    let err = store.add_icp(&bad).unwrap_err();
    let found = problems(&err);
    let fields: Vec<&str> = found.iter().map(|(f, _)| *f).collect();
    assert_eq!(
        fields,
        [
            "name",
            "host",
            "kind",
            "sip_udp/sip_tcp/sip_tls",
            "xml_listen_port",
            "xml_destination_port"
        ]
    );
    let msg = err.to_string();
    assert!(msg.starts_with("6 problem(s)"), "{msg}");
    assert!(msg.contains("xml_destination_port \"4444\""), "{msg}");
    assert!(msg.contains("4443 or 4445"), "{msg}");
    assert!(msg.contains("host \"bad host!\": character ' '"), "{msg}");
    assert!(msg.contains("at least one of UDP, TCP or TLS"), "{msg}");
    assert!(store.icps().unwrap().is_empty(), "nothing written");
}

#[test]
fn empty_host_is_refused() {
    let mut store = Store::open_in_memory().unwrap();
    let err = store.add_icp(&NewIcp::new("pbx", "  ")).unwrap_err();
    assert_eq!(problems(&err)[0].0, "host");
    assert!(err.to_string().contains("host: empty"), "{err}");
}

#[test]
fn host_forms() {
    let mut store = Store::open_in_memory().unwrap();
    for (i, host) in [
        "192.0.2.10",
        "2001:db8::1",
        "pbx.example.com",
        "pbx.example.com.",
        "PBX-1",
    ]
    .iter()
    .enumerate()
    {
        store
            .add_icp(&NewIcp::new(format!("ok{i}"), *host))
            .unwrap_or_else(|e| panic!("{host}: {e}"));
    }
    let bracketed = store.add_icp(&NewIcp::new("v6", "[2001:db8::2]")).unwrap();
    assert_eq!(bracketed.host, "2001:db8::2");
    for host in [
        "pbx_1.example.com",
        "-pbx.example.com",
        "pbx..example.com",
        "pbx.example.com:5060",
        "sip:pbx",
    ] {
        let err = store.add_icp(&NewIcp::new("bad", host)).unwrap_err();
        assert_eq!(problems(&err)[0].0, "host", "{host}");
        assert!(err.to_string().contains(host), "{err}");
    }
}

#[test]
fn duplicate_name_is_refused() {
    let mut store = store_with_icp();
    let err = store
        .add_icp(&NewIcp::new("pbx1", "192.0.2.99"))
        .unwrap_err();
    let found = problems(&err);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "name");
    assert!(found[0].1.contains("\"pbx1\""), "{}", found[0].1);
    assert!(found[0].1.contains("already exists"), "{}", found[0].1);
    assert_eq!(store.icps().unwrap().len(), 1);
}

#[test]
fn remove_unknown_is_not_found() {
    let mut store = store_with_icp();
    let err = store.remove_icp("nope").unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound { kind: Item::Icp, name } if name == "nope"),
        "{err:?}"
    );
    assert!(err.to_string().contains("outpost icps list"), "{err}");
}

#[test]
fn remove_is_refused_while_devices_use_it() {
    let mut store = store_with_icp();
    store.add_icp(&NewIcp::new("pbx2", "192.0.2.2")).unwrap();
    store.add_device(&device("alice", "pw-a")).unwrap();
    store.add_device(&device("bob", "pw-b")).unwrap();
    let mut carol = NewDevice::new("carol", "pw-c".into());
    carol.icp = Some("pbx2".to_owned());
    store.add_device(&carol).unwrap();

    let err = store.remove_icp("pbx1").unwrap_err();
    assert!(
        matches!(&err, StoreError::IcpInUse { name, devices: 2 } if name == "pbx1"),
        "{err:?}"
    );
    assert!(err.to_string().contains("used by 2 device(s)"), "{err}");
    assert!(store.icp("pbx1").unwrap().is_some());

    store.remove_device("alice").unwrap();
    store.remove_device("bob").unwrap();
    store.remove_icp("pbx1").unwrap();
    assert_eq!(store.icp("pbx1").unwrap(), None);
    assert_eq!(store.icps().unwrap().len(), 1);
}

#[test]
fn after_removing_the_default_the_next_added_becomes_default() {
    let mut store = store_with_icp();
    store.add_icp(&NewIcp::new("pbx2", "192.0.2.2")).unwrap();
    store.remove_icp("pbx1").unwrap();
    assert!(store.icps().unwrap().iter().all(|i| !i.is_default));
    let err = store.add_device(&device("alice", "pw")).unwrap_err();
    assert!(err.to_string().contains("outpost icps add"), "{err}");
    assert!(
        store
            .add_icp(&NewIcp::new("pbx3", "192.0.2.3"))
            .unwrap()
            .is_default
    );
}
