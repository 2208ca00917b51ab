//! `outpost devices update` against a running Outpost (issue 11): after the
//! iPBX administrator changes a subscriber's password and the Outpost
//! administrator runs `devices update --icp-password-from-env` with it, the
//! next registration Outpost sends toward the iPBX (its refresh, which the
//! B2BUA drives from the binding it already holds) authenticates with the
//! new password, and the iPBX keeps the binding.
//!
//! Then `devices update --disable` unregisters the device from the iPBX
//! at once (the running Outpost follows the store's changes).
//!
//! The same bed as `remote_worker.rs`: phone A at home registers through
//! Outpost as `alice`, which Outpost registers at Kamailio as `1001`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is the failure report

use std::process::Command;
use std::time::Duration;

mod bed;

use bed::{ALICE, SIP, bed, start_a, wait_location};
use outpost_testbed::{EventKind, Phone, PhoneConfig, skip_e2e, wait_until};

/// The password the iPBX administrator gives subscriber 1001 mid-test.
const NEW_ICP_PASSWORD: &str = "alpha-1001-changed";

/// Outpost asks the iPBX for 60 s (Kamailio's minimum) and refreshes after
/// four fifths of it: the next REGISTER toward the iPBX comes within 48 s
/// of the last one. The phone's own refreshes (every 30 s or less) are
/// answered by Outpost from the binding, without a REGISTER upstream.
const EXPIRIES: &str = "[registration]\nphone_expiry_secs = 30\nicp_expiry_secs = 60\n";

/// Long enough for one upstream refresh after the change, and then some.
const REFRESH: Duration = Duration::from_secs(90);

#[test]
fn a_changed_icp_password_is_used_by_the_next_registration_toward_the_ipbx() {
    if skip_e2e() {
        return;
    }
    let mut bed = bed("devupd", EXPIRIES);
    start_a(&mut bed);
    let private_ip = bed.outpost.private_ip().to_string();
    let from_outpost = format!("REGISTER from {private_ip}:");
    let user = format!("user={}", ALICE.2);
    wait_location(&bed.ipbx, ALICE.2, SIP, |c| !c.is_empty());
    bed.ipbx
        .wait_log_line(&[&from_outpost, &user, "auth=ok", "-> 200"], SIP)
        .unwrap();

    // The iPBX administrator changes 1001's password. From now on the old
    // one is refused: a phone on the LAN trying it gets 403.
    bed.ipbx.set_password(ALICE.2, NEW_ICP_PASSWORD).unwrap();
    let probe_host = bed.lab.host("probe", &bed.lan, 40).unwrap();
    let probe = Phone::start(
        &probe_host,
        PhoneConfig::new(ALICE.2, ALICE.3, bed.ipbx.addr()),
    )
    .unwrap();
    let outcome = probe
        .wait_any(&[EventKind::RegisterOk, EventKind::RegisterFail], SIP)
        .unwrap();
    assert_eq!(
        outcome.kind,
        EventKind::RegisterFail,
        "the iPBX still takes the old password, so this test could not tell which one \
         Outpost sends: {:?}",
        probe.events()
    );
    assert!(outcome.param.contains("403"), "{}", outcome.param);
    drop(probe);

    // The Outpost administrator gives Outpost the new password, on the
    // running installation's configuration and data directory.
    let before_update = bed.ipbx.log_cursor();
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .arg("--config")
        .arg(bed.outpost.config_path())
        .arg("--data-dir")
        .arg(bed.outpost.data_dir())
        .args(["devices", "update", ALICE.0, "--icp-password-from-env"])
        .env("OUTPOST_DEVICE_ICP_PASSWORD", NEW_ICP_PASSWORD)
        .env_remove("OUTPOST_DEVICE_PASSWORD")
        .output()
        .unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "devices update failed: {said}");
    assert!(said.contains("icpside_password"), "{said}");
    assert!(!said.contains(NEW_ICP_PASSWORD), "password shown: {said}");

    // The next REGISTER from Outpost authenticates: with the old password
    // Kamailio would log auth=failed and answer 403.
    let refreshed = wait_until(
        "Outpost's next REGISTER toward the iPBX to authenticate",
        REFRESH,
        || {
            let lines = bed.ipbx.log_lines_after(before_update);
            let ours: Vec<&String> = lines
                .iter()
                .filter(|l| l.contains(&from_outpost) && l.contains(&user))
                .collect();
            if let Some(failed) = ours.iter().find(|l| l.contains("auth=failed")) {
                panic!("Outpost registered with the old ICP-side password: {failed}");
            }
            Ok(ours
                .into_iter()
                .find(|l| l.contains("auth=ok") && l.contains("-> 200"))
                .cloned())
        },
    )
    .unwrap_or_else(|e| {
        panic!(
            "{e}\niPBX lines since the update:\n{}",
            bed.ipbx.log_lines_after(before_update).join("\n")
        )
    });
    assert!(
        refreshed.contains(&private_ip),
        "the binding is Outpost's: {refreshed}"
    );
    let contacts = wait_location(&bed.ipbx, ALICE.2, SIP, |c| !c.is_empty());
    assert!(
        contacts.iter().all(|c| c.contains(&private_ip)),
        "{contacts:?}"
    );
    // The phone never noticed.
    let phone_events = bed::a(&bed).events();
    assert!(
        !phone_events
            .iter()
            .any(|e| e.kind == EventKind::RegisterFail),
        "{phone_events:?}"
    );

    // Disabling the device takes effect at once in the running Outpost
    // (its in-memory directory follows the store): the iPBX binding is
    // removed well before it would expire, and the phone is refused.
    let disabled_at = std::time::Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_outpost"))
        .arg("--config")
        .arg(bed.outpost.config_path())
        .arg("--data-dir")
        .arg(bed.outpost.data_dir())
        .args(["devices", "update", ALICE.0, "--disable"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    wait_location(&bed.ipbx, ALICE.2, Duration::from_secs(10), |c| {
        c.is_empty()
    });
    println!(
        "binding removed at the iPBX {:?} after the device was disabled",
        disabled_at.elapsed()
    );
    let _ = (&bed.inet, &bed.gw, &bed.nat_router);
}
