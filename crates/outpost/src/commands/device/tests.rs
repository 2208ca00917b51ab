//! The device table, the clients of a device, filters and the audit log
//! of CLI changes.

use outpost_store::{DeviceStatusRecord, NewDevice, NewIcp, Secret};

use super::*;

fn list_args(json: bool, bindings: bool) -> DeviceListArgs {
    DeviceListArgs {
        json,
        bindings,
        search: None,
        icp: None,
        status: None,
        sort: None,
    }
}

fn listed(store: &mut Store) -> String {
    let mut out = Vec::new();
    devices(
        store,
        DeviceCommand::List(list_args(false, false)),
        &mut out,
    )
    .expect("list");
    String::from_utf8(out).expect("UTF-8")
}

/// The character offset where `word` starts on `line`.
fn column_of(line: &str, word: &str) -> usize {
    let byte = line
        .find(word)
        .unwrap_or_else(|| panic!("{word:?} not in {line:?}"));
    line[..byte].chars().count()
}

#[test]
fn device_table_columns_line_up_whatever_the_content() {
    let mut store = Store::open_in_memory().expect("store");
    store
        .add_icp(&NewIcp::new("a-rather-long-icp-name", "192.0.2.1"))
        .expect("icp");
    let mut long = NewDevice::new(
        "a-very-long-set-side-user-name-4001",
        Secret::from("Xq7-very-secret"),
    );
    long.description = "Ålice à la maison".to_owned();
    long.location = Some("Zürich".to_owned());
    store.add_device(&long).expect("device");
    store
        .add_device(&NewDevice::new("b", Secret::from("Xq7-other-secret")))
        .expect("device");
    store
        .set_device_status(&DeviceStatusRecord {
            setside_username: "a-very-long-set-side-user-name-4001".to_owned(),
            registered: true,
            connected: true,
            in_call: false,
            natted: true,
            last_address: Some("[2001:db8:ffff:1234:5678:9abc:def0:1]:65000".to_owned()),
            updated: 0,
            bindings: Vec::new(),
        })
        .expect("status");
    let text = listed(&mut store);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (header, cells) in [
        ("STATUS", ["registered+nat", "off"]),
        ("LAST ADDRESS", ["[2001:db8", "-"]),
        ("DESCRIPTION", ["Ålice", ""]),
        ("LOCATION", ["Zürich", "-"]),
    ] {
        let at = column_of(lines[0], header);
        for (line, cell) in lines[1..].iter().zip(cells) {
            if cell.is_empty() {
                assert!(line.chars().count() <= at, "{text}");
            } else {
                let from: String = line.chars().skip(at - 2).collect();
                assert!(from.starts_with(&format!("  {cell}")), "{header}:\n{text}");
            }
        }
    }
    assert!(
        lines.iter().all(|l| l.trim_end() == *l),
        "no trailing blanks"
    );
    assert!(!text.contains("Xq7"), "no passwords: {text}");
}

#[test]
fn each_client_of_a_device_is_listed_with_bindings_and_in_json() {
    use outpost_store::BindingStatusRecord;
    let mut store = Store::open_in_memory().expect("store");
    store
        .add_icp(&NewIcp::new("pbx", "192.0.2.1"))
        .expect("icp");
    store
        .add_device(&NewDevice::new("alice", Secret::from("Xq7-very-secret")))
        .expect("device");
    let client = |n: u64, transport: &str, address: &str| BindingStatusRecord {
        binding: n,
        contact: format!("sip:alice@{address}"),
        transport: transport.to_owned(),
        user_agent: Some(format!("phone {n}")),
        registered: true,
        connected: true,
        natted: n == 2,
        last_address: address.to_owned(),
        expires: unix_now() + 100,
        ..BindingStatusRecord::default()
    };
    store
        .set_device_status(&DeviceStatusRecord {
            setside_username: "alice".to_owned(),
            registered: true,
            connected: true,
            last_address: Some("198.51.100.7:41000".to_owned()),
            bindings: vec![
                client(1, "udp", "198.51.100.9:5060"),
                client(2, "tls", "198.51.100.7:41000"),
            ],
            ..DeviceStatusRecord::default()
        })
        .expect("status");
    let list = |store: &mut Store, json: bool, bindings: bool| {
        let mut out = Vec::new();
        devices(
            store,
            DeviceCommand::List(list_args(json, bindings)),
            &mut out,
        )
        .expect("list");
        String::from_utf8(out).expect("UTF-8")
    };
    let text = list(&mut store, false, false);
    let at = column_of(text.lines().next().unwrap_or_default(), "CLIENTS");
    let row = text.lines().nth(1).unwrap_or_default();
    assert!(
        row.chars().skip(at).collect::<String>().starts_with('2'),
        "{text}"
    );

    let text = list(&mut store, false, true);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    for (line, (address, transport, nat)) in lines[1..].iter().zip([
        ("198.51.100.9:5060", "udp", "no"),
        ("198.51.100.7:41000", "tls", "yes"),
    ]) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(
            words[..5],
            ["alice", words[1], address, transport, nat],
            "{text}"
        );
        let left: u64 = words[8].parse().expect("seconds left");
        assert!((98..=100).contains(&left) && words[9] == "s", "{text}");
    }

    let text = list(&mut store, true, false);
    let json: serde_json::Value = serde_json::from_str(text.trim()).expect("JSON");
    let bindings = json["bindings"].as_array().expect("bindings array");
    assert_eq!(bindings.len(), 2);
    assert_eq!(bindings[1]["transport"], "tls");
    assert_eq!(bindings[1]["natted"], true);
    assert_eq!(bindings[0]["user_agent"], "phone 1");
    assert!(!text.contains("Xq7"), "no passwords: {text}");
}

#[test]
fn list_filters_and_sorts_and_changes_are_audited_as_the_cli() {
    let mut store = Store::open_in_memory().expect("store");
    store
        .add_icp(&NewIcp::new("pbx", "192.0.2.1"))
        .expect("icp");
    let mut out = Vec::new();
    for (user, location) in [("4001", "Paris"), ("4002", "Nice"), ("4003", "Paris")] {
        let args = DeviceAddArgs {
            username: user.into(),
            password: "Xq7-very-secret".into(),
            icp_username: String::new(),
            icp_password: None,
            icp: None,
            description: String::new(),
            mac: None,
            location: Some(location.into()),
            disabled: false,
        };
        devices(&mut store, DeviceCommand::Add(args), &mut out).expect("add");
    }
    let mut args = list_args(false, false);
    args.search = Some("paris".into());
    args.sort = Some("-setside_username".into());
    let mut out = Vec::new();
    devices(&mut store, DeviceCommand::List(args), &mut out).expect("list");
    let text = String::from_utf8(out).expect("UTF-8");
    let users: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(users, ["4003", "4001"], "{text}");
    let entries = store
        .audit_entries(&outpost_store::AuditFilter {
            limit: 10,
            ..Default::default()
        })
        .expect("audit");
    assert_eq!(entries.len(), 3);
    assert!(
        entries
            .iter()
            .all(|e| e.record.action == "device.create" && e.record.actor.starts_with("cli:"))
    );
    let all = format!("{entries:?}");
    assert!(!all.contains("Xq7"), "no password in the audit log: {all}");
}
