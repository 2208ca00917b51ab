//! The files and account line of a baresip phone (see the parent module
//! for why each setting is there).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use crate::{Result, TestbedError};

/// Where Debian puts baresip's modules.
pub const MODULE_DIR: &str = "/usr/lib/baresip/modules";

/// SIP transport of a phone's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// SIP over UDP.
    Udp,
    /// SIP over TCP.
    Tcp,
    /// SIP over TLS.
    Tls,
}

impl Transport {
    /// The `transport=` URI parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Udp => "udp",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
        }
    }
}

/// Media encryption of a phone's account (`mediaenc=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaEnc {
    /// SDES-SRTP offered, RTP accepted (`srtp`).
    Srtp,
    /// SDES-SRTP required (`srtp-mand`).
    SrtpMandatory,
}

impl MediaEnc {
    /// The `mediaenc=` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Srtp => "srtp",
            Self::SrtpMandatory => "srtp-mand",
        }
    }
}

/// How a phone is set up. Build with [`PhoneConfig::new`] and adjust fields.
#[non_exhaustive]
#[derive(Clone, Debug)]
pub struct PhoneConfig {
    /// SIP user (the number).
    pub user: String,
    /// Digest password.
    pub password: String,
    /// Digest user name when it differs from `user`.
    pub auth_user: Option<String>,
    /// Domain of the address of record `sip:user@domain`.
    pub domain: String,
    /// Registrar and outbound proxy: every request goes there.
    pub server: SocketAddr,
    /// SIP transport toward `server`.
    pub transport: Transport,
    /// Register at start (`regint`); otherwise only calls are possible.
    pub register: bool,
    /// Registration interval (seconds) when `register`.
    pub regint: u32,
    /// Frequency of the sine sent in calls (`ausine`), 10..=20000 Hz.
    pub tone_hz: u32,
    /// Media encryption (`mediaenc`), loads the `srtp` module.
    pub mediaenc: Option<MediaEnc>,
    /// CA file to verify a TLS server with (`sip_cafile`).
    pub ca_file: Option<PathBuf>,
    /// Verify the TLS server's certificate. Written as `sip_verify_server`,
    /// which baresip 1.0.0 does not know (it ignores unknown keys; its
    /// verification is libre's default); later versions honour it.
    pub verify_server: bool,
    /// Local SIP port (`sip_listen`; TLS listens on the next port).
    pub sip_port: u16,
    /// `ctrl_tcp` port on the host's loopback.
    pub ctrl_port: u16,
    /// Local RTP port range (`rtp_ports`).
    pub rtp_ports: (u16, u16),
    /// Audio codecs offered, in order (`audio_codecs`).
    pub audio_codecs: String,
}

impl PhoneConfig {
    /// A UDP phone `user`/`password` registering at `server`, with the
    /// server's IP as domain, a 1000 Hz tone and PCMU.
    pub fn new(user: &str, password: &str, server: SocketAddr) -> Self {
        Self {
            user: user.to_owned(),
            password: password.to_owned(),
            auth_user: None,
            domain: server.ip().to_string(),
            server,
            transport: Transport::Udp,
            register: true,
            regint: 600,
            tone_hz: 1000,
            mediaenc: None,
            ca_file: None,
            verify_server: true,
            sip_port: 5060,
            ctrl_port: 4444,
            rtp_ports: (10000, 10999),
            audio_codecs: "PCMU".to_owned(),
        }
    }

    /// Sets the tone frequency.
    pub fn tone(mut self, hz: u32) -> Self {
        self.tone_hz = hz;
        self
    }

    /// Sets the transport.
    pub fn transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// Does not register.
    pub fn no_register(mut self) -> Self {
        self.register = false;
        self
    }

    /// The address of record, `sip:user@domain`.
    pub fn aor(&self) -> String {
        format!("sip:{}@{}", self.user, self.domain)
    }

    /// A SIP URI for `user` in this phone's domain (what to dial).
    pub fn uri_for(&self, user: &str) -> String {
        format!("sip:{user}@{}", self.domain)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        let safe = |what: &str, v: &str| {
            if v.is_empty()
                || v.chars()
                    .any(|c| c.is_whitespace() || "<>;\"\\,=".contains(c))
            {
                Err(TestbedError::Config(format!(
                    "phone {what} `{v}` must be non-empty without spaces or <>;\"\\,="
                )))
            } else {
                Ok(())
            }
        };
        safe("user", &self.user)?;
        safe("password", &self.password)?;
        safe("domain", &self.domain)?;
        if let Some(a) = &self.auth_user {
            safe("auth_user", a)?;
        }
        if !(10..=20000).contains(&self.tone_hz) {
            return Err(TestbedError::Config(format!(
                "phone tone {} Hz outside what ausine makes (10..=20000)",
                self.tone_hz
            )));
        }
        Ok(())
    }

    /// The account line given to `uanew`.
    pub fn account_line(&self) -> String {
        let t = self.transport.as_str();
        let mut line = format!(
            "<sip:{}@{};transport={t}>;auth_pass={};outbound=\"sip:{};transport={t}\"",
            self.user, self.domain, self.password, self.server
        );
        if let Some(a) = &self.auth_user {
            line.push_str(&format!(";auth_user={a}"));
        }
        let regint = if self.register { self.regint } else { 0 };
        line.push_str(&format!(
            ";regint={regint};answermode=manual;audio_codecs={}",
            self.audio_codecs
        ));
        if let Some(m) = self.mediaenc {
            line.push_str(&format!(";mediaenc={}", m.as_str()));
        }
        line
    }

    /// The `config` file for a phone bound to `bind` on interface `iface`,
    /// recording into `dir`.
    pub fn render_config(&self, bind: Ipv4Addr, iface: &str, dir: &Path) -> String {
        let mut c = String::new();
        let mut kv = |k: &str, v: &str| c.push_str(&format!("{k}\t{v}\n"));
        kv("poll_method", "epoll");
        kv("sip_listen", &format!("{bind}:{}", self.sip_port));
        if let Some(ca) = &self.ca_file {
            kv("sip_cafile", &ca.display().to_string());
        }
        if self.transport == Transport::Tls {
            // baresip 1.0.0 only creates its TLS context (and so its TLS
            // transport) when it has a certificate of its own.
            kv(
                "sip_certificate",
                &dir.join("phone.pem").display().to_string(),
            );
        }
        kv(
            "sip_verify_server",
            if self.verify_server { "yes" } else { "no" },
        );
        kv("call_local_timeout", "120");
        kv("call_max_calls", "4");
        kv("audio_player", "aubridge,nil");
        kv("audio_alert", "aubridge,alert");
        kv("audio_source", &format!("ausine,{}", self.tone_hz));
        kv("ausrc_srate", "48000");
        kv("ausrc_channels", "2");
        kv("auplay_srate", "48000");
        kv("auplay_channels", "1");
        kv("audio_level", "no");
        for k in [
            "ausrc_format",
            "auplay_format",
            "auenc_format",
            "audec_format",
        ] {
            kv(k, "s16");
        }
        kv("audio_buffer", "20-160");
        kv(
            "rtp_ports",
            &format!("{}-{}", self.rtp_ports.0, self.rtp_ports.1),
        );
        kv("rtcp_mux", "no");
        kv("jitter_buffer_delay", "5-10");
        kv("rtp_stats", "no");
        kv("net_interface", iface);
        kv("module_path", MODULE_DIR);
        kv("module", "g711.so");
        kv("module", "sndfile.so");
        kv("module", "ausine.so");
        kv("module", "aubridge.so");
        if self.mediaenc.is_some() {
            kv("module", "srtp.so");
        }
        kv("module_app", "menu.so");
        kv("module_app", "ctrl_tcp.so");
        kv("ctrl_tcp_listen", &format!("127.0.0.1:{}", self.ctrl_port));
        kv("snd_path", &dir.display().to_string());
        kv("ringback_disabled", "yes");
        // No once-a-second "audio=0/0 (bit/s)" status line in the log.
        kv("statmode_default", "off");
        kv("menu_bell", "no");
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server() -> SocketAddr {
        "198.18.1.10:5060".parse().unwrap()
    }

    #[test]
    fn account_line_has_outbound_and_manual_answer() {
        let mut c = PhoneConfig::new("1001", "pw", server()).transport(Transport::Tls);
        c.mediaenc = Some(MediaEnc::SrtpMandatory);
        assert_eq!(
            c.account_line(),
            "<sip:1001@198.18.1.10;transport=tls>;auth_pass=pw;\
             outbound=\"sip:198.18.1.10:5060;transport=tls\";regint=600;\
             answermode=manual;audio_codecs=PCMU;mediaenc=srtp-mand"
        );
        assert!(
            c.clone()
                .no_register()
                .account_line()
                .contains(";regint=0;")
        );
        assert_eq!(c.uri_for("1002"), "sip:1002@198.18.1.10");
    }

    #[test]
    fn config_loads_only_needed_modules() {
        let c = PhoneConfig::new("1001", "pw", server()).tone(700);
        let text = c.render_config(Ipv4Addr::new(198, 18, 1, 11), "eth0", Path::new("/x"));
        assert!(text.contains("audio_source\tausine,700\n"));
        assert!(text.contains("snd_path\t/x\n"));
        assert!(text.contains("ctrl_tcp_listen\t127.0.0.1:4444\n"));
        assert!(!text.contains("srtp.so"));
        assert!(!text.contains("alsa"));
    }

    #[test]
    fn validation_refuses_bad_values() {
        assert!(
            PhoneConfig::new("10 01", "pw", server())
                .validate()
                .is_err()
        );
        assert!(
            PhoneConfig::new("1001", "p;w", server())
                .validate()
                .is_err()
        );
        assert!(
            PhoneConfig::new("1001", "pw", server())
                .tone(5)
                .validate()
                .is_err()
        );
        assert!(PhoneConfig::new("1001", "pw", server()).validate().is_ok());
    }
}
