//! Settings the running SIP core takes without a restart (issue 14): the
//! registration policy the B2BUA reads when it uses it — the expiries
//! granted to phones and asked of the iPBX, the heartbeat interval, the
//! call and registration limits, the clients per device, the trust of registered
//! connections. The settings registry marks exactly these `live`; the
//! media policies go to the media manager directly (it is shared, not the
//! core's).

use std::time::Duration;

use tokio::sync::oneshot;

use crate::config::Config;

/// The B2BUA's live settings, from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveRegistration {
    /// `registration.phone_expiry_secs`.
    pub phone_expiry: Duration,
    /// `registration.icp_expiry_secs`.
    pub icp_expiry: Duration,
    /// `registration.heartbeat_secs`; `None` when 0 (off).
    pub heartbeat_interval: Option<Duration>,
    /// `registration.max_calls`.
    pub max_dialogs: usize,
    /// `registration.max_registrations`.
    pub max_bindings: usize,
    /// `registration.max_bindings_per_device`.
    pub max_bindings_per_device: usize,
    /// `registration.trust_registered_connection`.
    pub trust_registered_connection: bool,
}

impl LiveRegistration {
    /// The values `config` gives.
    pub fn from_config(config: &Config) -> Self {
        let r = &config.registration;
        Self {
            phone_expiry: Duration::from_secs(u64::from(r.phone_expiry_secs)),
            icp_expiry: Duration::from_secs(u64::from(r.icp_expiry_secs)),
            heartbeat_interval: (r.heartbeat_secs > 0)
                .then(|| Duration::from_secs(u64::from(r.heartbeat_secs))),
            max_dialogs: r.max_calls as usize,
            max_bindings: r.max_registrations as usize,
            max_bindings_per_device: r.max_bindings_per_device as usize,
            trust_registered_connection: r.trust_registered_connection,
        }
    }

    /// Writes these values into a B2BUA configuration (at build, and over
    /// the running one's).
    pub fn apply_to(&self, b2bua: &mut outpost_b2bua::Config) {
        b2bua.phone_expiry = self.phone_expiry;
        b2bua.icp_expiry = self.icp_expiry;
        b2bua.heartbeat_interval = self.heartbeat_interval;
        b2bua.max_dialogs = self.max_dialogs;
        b2bua.max_bindings = self.max_bindings;
        b2bua.max_bindings_per_device = self.max_bindings_per_device;
        b2bua.trust_registered_connection = self.trust_registered_connection;
    }
}

/// New live settings for the core, and who waits for them to apply.
#[derive(Debug)]
pub struct LiveUpdate {
    /// The values.
    pub registration: LiveRegistration,
    /// Told once they apply, or why not.
    pub done: Option<oneshot::Sender<Result<(), String>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registration_settings_map_onto_the_b2bua() {
        let mut config = Config::default();
        config.registration.phone_expiry_secs = 45;
        config.registration.heartbeat_secs = 0;
        config.registration.max_calls = 7;
        config.registration.max_registrations = 9;
        let live = LiveRegistration::from_config(&config);
        let side =
            outpost_b2bua::SideIdentity::new("192.0.2.1", outpost_b2bua::Transport::Udp, 5060);
        let mut b2bua = outpost_b2bua::Config::new(side.clone(), side);
        live.apply_to(&mut b2bua);
        assert_eq!(b2bua.phone_expiry, Duration::from_secs(45));
        assert_eq!(b2bua.heartbeat_interval, None, "0 turns heartbeats off");
        assert_eq!(b2bua.max_dialogs, 7);
        assert_eq!(b2bua.max_bindings, 9);
        assert_eq!(b2bua.icp_expiry, Duration::from_secs(3600));
        assert_eq!(LiveRegistration::from_config(&config), live);
    }
}
