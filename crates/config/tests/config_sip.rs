//! The `[sip]` table: bounds, the T1/T2 rule, environment overrides.

use outpost_config::{Config, ErrorKind};

fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, outpost_config::ConfigErrors> {
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Config::from_toml_str(text, &move |name| {
        env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    })
}

#[test]
fn defaults_follow_rfc_3261() {
    let c = load("", &[]).unwrap();
    assert_eq!((c.sip.t1_ms, c.sip.t2_ms, c.sip.t4_ms), (500, 4000, 5000));
}

#[test]
fn out_of_bounds_values_are_all_reported_with_their_bounds() {
    let e = load(
        "[sip]\nt1_ms = 0\nmax_message_size = 100\nmax_connections_per_source = -3\nidle_timeout_secs = \"x\"\n",
        &[],
    )
    .unwrap_err();
    assert_eq!(e.len(), 4, "{e}");
    let text = e.to_string();
    for needle in [
        "sip.t1_ms = 0",
        "allowed 50..10000",
        "sip.max_message_size = 100",
        "allowed 1500..1048576",
        "sip.max_connections_per_source = -3",
        "sip.idle_timeout_secs",
    ] {
        assert!(text.contains(needle), "{needle} missing in:\n{text}");
    }
    assert_eq!(
        e.for_field("sip.idle_timeout_secs").next().unwrap().kind,
        ErrorKind::WrongType
    );
}

#[test]
fn t2_shorter_than_t1_is_inconsistent_and_env_overrides_apply() {
    let e = load("[sip]\nt1_ms = 2000\nt2_ms = 1000\n", &[]).unwrap_err();
    let err = e.for_field("sip.t2_ms").next().unwrap();
    assert_eq!(err.kind, ErrorKind::Inconsistent);
    assert!(err.message.contains("T1"), "{err}");

    let c = load(
        "[sip]\nt1_ms = 2000\nt2_ms = 1000\n",
        &[("OUTPOST_SIP_T2_MS", "8000")],
    )
    .unwrap();
    assert_eq!(c.sip.t2_ms, 8000);
    let e = load("", &[("OUTPOST_SIP_MAX_TRANSACTIONS", "lots")]).unwrap_err();
    assert!(
        e.to_string().contains("OUTPOST_SIP_MAX_TRANSACTIONS=lots"),
        "{e}"
    );
}

#[test]
fn unknown_sip_key_suggests_the_right_one() {
    let e = load("[sip]\nt1_msec = 500\n", &[]).unwrap_err();
    assert!(e.to_string().contains("did you mean \"t1_ms\""), "{e}");
}

#[test]
fn registration_expiries_are_bounded_and_ordered() {
    let c = load("", &[]).unwrap();
    assert_eq!(
        (
            c.registration.phone_expiry_secs,
            c.registration.icp_expiry_secs
        ),
        (120, 3600)
    );
    let e = load(
        "[registration]\nphone_expiry_secs = 600\nicp_expiry_secs = 300\n",
        &[],
    )
    .unwrap_err();
    let err = e.for_field("registration.icp_expiry_secs").next().unwrap();
    assert_eq!(err.kind, ErrorKind::Inconsistent, "{e}");
    let e = load("[registration]\nphone_expiry_secs = 5\n", &[]).unwrap_err();
    assert!(e.to_string().contains("allowed 20..86400"), "{e}");
    let c = load(
        "",
        &[("OUTPOST_REGISTRATION_TRUST_REGISTERED_CONNECTION", "yes")],
    )
    .unwrap();
    assert!(c.registration.trust_registered_connection);
}

#[test]
fn digest_algorithms_are_a_checked_list() {
    use outpost_sip::auth::Algorithm;
    let c = load(
        "[registration]\ndigest_algorithms = \"SHA-256, MD5\"\n",
        &[],
    )
    .unwrap();
    assert_eq!(
        c.registration.digest_algorithms,
        vec![Algorithm::Sha256, Algorithm::Md5]
    );
    let e = load("[registration]\ndigest_algorithms = \"MD5, SHA-1\"\n", &[]).unwrap_err();
    assert!(
        e.to_string().contains("unknown digest algorithm \"SHA-1\""),
        "{e}"
    );
    let e = load("[registration]\ndigest_algorithms = \"MD5,md5\"\n", &[]).unwrap_err();
    assert!(e.to_string().contains("listed twice"), "{e}");
}
