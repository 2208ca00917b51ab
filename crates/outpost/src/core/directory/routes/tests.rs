use super::*;

fn icp(name: &str, host: &str, udp: bool, tcp: bool, tls: bool, port: Option<u16>) -> Icp {
    Icp {
        id: 1,
        guid: "0".repeat(32),
        name: name.to_owned(),
        host: host.to_owned(),
        kind: "generic".to_owned(),
        sip_udp: udp,
        sip_tcp: tcp,
        sip_tls: tls,
        is_default: true,
        xml_listen_port: 4445,
        xml_destination_port: 4443,
        sip_port: port,
        ca_file: None,
    }
}

fn peer_of(t: &Target) -> (SocketAddr, TransportKind) {
    (t.destination.peer, t.destination.transport)
}

#[test]
fn an_ip_icp_is_reached_on_its_preferred_transport_and_port() {
    let mut routes = IcpRoutes::new(RouteDefaults::default());
    let icps = [
        icp("a", "10.0.0.5", true, true, true, None),
        icp("b", "10.0.0.6", true, false, false, Some(5070)),
        icp("c", "2001:db8::7", false, true, false, None),
    ];
    routes.update_icps(icps.iter());
    let a = routes.current("a").unwrap();
    assert_eq!(
        peer_of(&a),
        ("10.0.0.5:5061".parse().unwrap(), TransportKind::Tls)
    );
    assert_eq!(a.server_name, "10.0.0.5");
    assert_eq!(
        peer_of(&routes.current("b").unwrap()),
        ("10.0.0.6:5070".parse().unwrap(), TransportKind::Udp)
    );
    assert_eq!(
        peer_of(&routes.current("c").unwrap()),
        ("[2001:db8::7]:5060".parse().unwrap(), TransportKind::Tcp)
    );
    assert!(routes.current("nope").is_none());
    assert!(routes.take_due(Instant::now()).is_empty());
}

#[test]
fn ipbx_settings_fill_in_what_the_icp_leaves_open() {
    let mut routes = IcpRoutes::new(RouteDefaults {
        ipbx_host: Some("10.0.0.5".to_owned()),
        ipbx_port: Some(5080),
        preferred: Some(TransportKind::Udp),
    });
    let icps = [
        icp("same", "10.0.0.5", true, true, false, None),
        icp("other", "10.0.0.9", true, true, false, None),
        icp("own-port", "10.0.0.5", true, false, false, Some(5090)),
        icp("tls-only", "10.0.0.5", false, false, true, None),
    ];
    routes.update_icps(icps.iter());
    let get = |n: &str| peer_of(&routes.current(n).unwrap());
    assert_eq!(
        get("same"),
        ("10.0.0.5:5080".parse().unwrap(), TransportKind::Udp)
    );
    assert_eq!(
        get("other"),
        ("10.0.0.9:5060".parse().unwrap(), TransportKind::Udp)
    );
    assert_eq!(get("own-port").0.port(), 5090);
    assert_eq!(routes.uri_port("own-port"), Some(5090));
    assert_eq!(routes.uri_port("same"), Some(5080));
    assert_eq!(routes.uri_port("other"), None, "the transport's default");
    // The preferred transport is not supported: the ICP's own.
    assert_eq!(
        get("tls-only"),
        ("10.0.0.5:5080".parse().unwrap(), TransportKind::Tls)
    );
}

#[test]
fn a_named_icp_waits_for_dns_and_fails_over_between_targets() {
    let t0 = Instant::now();
    let mut routes = IcpRoutes::new(RouteDefaults::default());
    routes.update_icps([icp("pbx", "pbx.example.net", false, false, true, None)].iter());
    assert!(
        routes.current_at("pbx", t0).is_none(),
        "no route before DNS"
    );
    let due = routes.take_due(t0);
    assert_eq!(due.len(), 1);
    assert!(
        routes.take_due(t0).is_empty(),
        "asked once until it comes back"
    );
    assert_eq!(due[0].host, "pbx.example.net");
    assert_eq!(due[0].transports, vec![TransportKind::Tls]);

    let first: SocketAddr = "10.0.0.5:5061".parse().unwrap();
    let second: SocketAddr = "10.0.0.6:5061".parse().unwrap();
    let targets = vec![
        Target::new(first, TransportKind::Tls, "pbx.example.net".into()),
        Target::new(second, TransportKind::Tls, "pbx.example.net".into()),
    ];
    assert!(routes.apply_resolution("pbx", targets.clone(), t0 + Duration::from_secs(60)));
    assert!(routes.take_due(t0).is_empty());
    assert_eq!(
        routes.take_due(t0 + Duration::from_secs(60)).len(),
        1,
        "re-resolved when the TTL expires"
    );
    assert!(!routes.apply_resolution("pbx", targets, t0 + Duration::from_secs(120)));
    assert_eq!(routes.tls_targets().count(), 2);
    let current = routes.current_at("pbx", t0).unwrap();
    assert_eq!(current.destination.peer, first);
    assert_eq!(current.server_name, "pbx.example.net");

    let moved = routes.mark_down(first, TransportKind::Tls, t0);
    assert_eq!(moved, vec!["pbx".to_owned()]);
    assert_eq!(
        routes.current_at("pbx", t0).unwrap().destination.peer,
        second
    );
    // Both down: the first is tried again rather than nothing.
    routes.mark_down(second, TransportKind::Tls, t0);
    assert_eq!(
        routes.current_at("pbx", t0).unwrap().destination.peer,
        first
    );
    // Back after DOWN_FOR.
    routes.mark_down(first, TransportKind::Tls, t0 + Duration::from_secs(1));
    assert_eq!(
        routes
            .current_at("pbx", t0 + DOWN_FOR + Duration::from_millis(1))
            .unwrap()
            .destination
            .peer,
        second
    );
    assert_eq!(
        routes
            .current_at("pbx", t0 + DOWN_FOR + Duration::from_secs(2))
            .unwrap()
            .destination
            .peer,
        first
    );
}

#[test]
fn unchanged_icps_keep_their_dns_answer_and_changed_ones_lose_it() {
    let t0 = Instant::now();
    let mut routes = IcpRoutes::new(RouteDefaults::default());
    let named = icp("pbx", "pbx.example.net", true, false, false, None);
    routes.update_icps([named.clone()].iter());
    let target = Target::new(
        "10.0.0.5:5060".parse().unwrap(),
        TransportKind::Udp,
        "pbx.example.net".into(),
    );
    assert_eq!(routes.take_due(t0).len(), 1);
    routes.apply_resolution("pbx", vec![target], t0 + Duration::from_secs(60));
    routes.update_icps([named.clone()].iter());
    assert!(routes.current_at("pbx", t0).is_some());
    let moved = icp("pbx", "pbx2.example.net", true, false, false, None);
    routes.update_icps([moved].iter());
    assert!(routes.current_at("pbx", t0).is_none());
    // A failed resolution keeps nothing it did not have and retries later.
    assert_eq!(routes.take_due(t0).len(), 1);
    routes.resolution_failed("pbx", t0 + Duration::from_secs(30));
    assert!(routes.take_due(t0 + Duration::from_secs(29)).is_empty());
    assert_eq!(routes.take_due(t0 + Duration::from_secs(30)).len(), 1);
    routes.update_icps(std::iter::empty());
    assert!(routes.take_due(t0 + Duration::from_secs(99)).is_empty());
}
