//! The phone configuration reader never panics, and whatever it accepts
//! the writer writes back to a file that reads the same (PRO-5).
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_provision::ConfigFile;
use outpost_provision::config_file::MAX_CONFIG_BYTES;

fuzz_target!(|data: &[u8]| {
    if let Ok(file) = ConfigFile::parse_bytes(data) {
        let text = file.render();
        // Writing adds a space after ':' and quotes, so a file near the
        // size limit may come out over it; below, it must read back.
        if text.len() <= MAX_CONFIG_BYTES {
            assert_eq!(ConfigFile::parse(&text).as_ref(), Ok(&file));
        }
    }
});
