//! The global CSV import (PRO-7) never panics and what it accepts reads
//! back; the extra file name check never lets a name out of the directory
//! or over the global file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_provision::config_file::MAX_CONFIG_BYTES;
use outpost_provision::{ConfigFile, ExtraFileName, parse_global_csv};

fuzz_target!(|data: &[u8]| {
    match parse_global_csv(data) {
        Ok(file) => {
            let text = file.render();
            if text.len() <= MAX_CONFIG_BYTES {
                assert_eq!(ConfigFile::parse(&text).as_ref(), Ok(&file));
            }
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
    if let Ok(name) = std::str::from_utf8(data) {
        if let Ok(checked) = ExtraFileName::parse(name) {
            let name = checked.as_str();
            assert!(!name.contains(['/', '\\']) && !name.contains("..") && !name.starts_with('.'));
            assert!(!name.eq_ignore_ascii_case("aastra.cfg"));
            assert!(!name.eq_ignore_ascii_case("startup.cfg"));
        }
    }
});
