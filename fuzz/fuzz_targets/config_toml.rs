//! Any text given as a configuration file must give a Config or a list of
//! errors, never a panic; environment values take the same path.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_config::Config;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Config::from_toml_str(text, &|_| None);
    // The same bytes as every environment override.
    let _ = Config::from_toml_str("", &|name| {
        name.starts_with("OUTPOST_").then(|| text.to_string())
    });
});
