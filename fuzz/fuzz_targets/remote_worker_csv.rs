//! The remote-worker CSV import (PRO-6) never panics; what it accepts is
//! at most 1500 distinct phones whose files read back as written.
#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use outpost_provision::{
    ConfigFile, Mac, RemoteWorkerImport, SystemValues, config_file::MAX_CONFIG_BYTES,
    parse_remote_worker_csv, remote_worker_csv::MAX_PHONES,
};

fuzz_target!(|data: &[u8]| {
    // The first byte picks whether the gateway's values fill the system
    // parameters, so both paths are explored.
    let Some((&choice, csv)) = data.split_first() else {
        return;
    };
    let system = SystemValues::new("gw.example.com", "0123456789abcdef0123456789abcdef").ok();
    let system = if choice & 1 == 1 {
        system.as_ref()
    } else {
        None
    };
    match parse_remote_worker_csv(csv, system) {
        Ok(RemoteWorkerImport::Phones(files)) => {
            assert!(files.len() <= MAX_PHONES);
            let mut seen = HashSet::new();
            for file in &files {
                assert!(seen.insert(file.mac()));
                assert_eq!(Mac::from_file_name(&file.file_name()), Some(file.mac()));
                // Writing adds a space after ':' and quotes, so a huge
                // row may come out over the reader's limit; below, it must
                // read back.
                let text = file.contents();
                if text.len() <= MAX_CONFIG_BYTES {
                    assert_eq!(ConfigFile::parse(&text).as_ref(), Ok(file.config()));
                }
            }
        }
        Ok(RemoteWorkerImport::Selection(macs)) => {
            assert!(macs.len() <= MAX_PHONES);
            assert_eq!(macs.iter().collect::<HashSet<_>>().len(), macs.len());
        }
        Err(errors) => assert!(!errors.is_empty()),
    }
});
