//! Outpost's phone provisioning core: the formats a remote worker's phone
//! and its administrator speak (SPEC PRO-5..PRO-8, SEC-7), as pure
//! functions from bytes to checked values.
//!
//! # What it does
//!
//! - [`config_file`]: the Mitel/Aastra phone configuration syntax
//!   (`parameter name: value`, `#` comments, `!` locks, quoted values), a
//!   deterministic writer and a strict reader with line-numbered errors.
//! - [`mac`]: MAC addresses in the three forms the seeds accept, one
//!   [`Mac`] type, and the per-phone file name `<MAC>.cfg`.
//! - [`remote_worker_csv`]: the terminal-management remote-worker CSV
//!   (PRO-6) to one configuration file per phone, all or nothing, or to a
//!   list of MACs when the file only selects phones.
//! - [`global_csv`]: the `PARAMETERS;VALUE` CSV (PRO-7) to the global
//!   file `aastra.cfg`, and the check of the extra uploaded file's name.
//! - [`system_values`]: the gateway's FQDN and hash key that fill in the
//!   system parameters of a remote-worker file.
//! - [`user_agent`]: model, MAC and firmware from a phone's User-Agent,
//!   for the inventory (PRO-8).
//! - [`device_file`]: a device's `<MAC>.cfg` from Outpost's own data, and
//!   the redirection answer (PRO-10).
//! - [`upload_name`]: the names of uploaded startup, model and firmware
//!   files.
//!
//! # What it does not do
//!
//! No I/O of any kind (ARCHITECTURE rule 1, enforced by this crate's
//! `clippy.toml`): it reads no file, socket or clock. The callers do: the
//! HTTPS configuration service and the inventory in `outpost-api`, storage
//! of files, actions and events in `outpost-store`, the CLI in `outpost`.
//! It does not generate the hash key, serve files, log downloads, schedule
//! actions or know about devices; it does not decrypt or encrypt
//! configuration files.
//!
//! # Why our own code
//!
//! No crate reads or writes Mitel's configuration syntax or
//! terminal-management's CSV layout, and both are small: the value of this
//! crate is in following the seeds to the letter (column names,
//! `NOTDEFINED`, the 1500-phone limit, MAC forms) and in error messages a
//! spreadsheet user can act on, which a generic format library would not
//! give. CSV tokenizing itself is the `csv` crate's (ARCHITECTURE's chosen
//! dependency), which handles quoting, CRLF and the byte order mark.
//!
//! # Errors
//!
//! Each module returns its own `thiserror` enum, whose messages name the
//! line, the column (as a spreadsheet shows it: line 7, column B) or the
//! field, and the fix; [`ProvisionError`] gathers them. CSV imports report
//! every problem found (up to [`MAX_ERRORS`]), never a value from a
//! password column, and produce nothing unless the whole file is valid.
//!
//! # API
//!
//! ```text
//! ConfigFile::{new, parse, parse_bytes, push, push_comment, push_blank,
//!              lines, parameters, get, render}
//! Parameter::{new, new_locked, name, value, is_locked, is_named}
//! Mac::{parse, from_file_name, file_name, dashed, colon, bytes}
//! parse_remote_worker_csv(&[u8], Option<&SystemValues>)
//!     -> Result<RemoteWorkerImport, Vec<CsvError>>
//! RemoteWorkerImport::{Phones(Vec<PhoneFile>), Selection(Vec<Mac>)}
//! PhoneFile::{mac, line, config, file_name, contents}
//! parse_global_csv(&[u8]) -> Result<ConfigFile, Vec<CsvError>>
//! ExtraFileName::parse(&str) -> Result<ExtraFileName, ExtraFileNameError>
//! SystemValues::new(fqdn, hash) -> Result<SystemValues, SystemValuesError>
//! parse_user_agent(&str) -> Option<PhoneAgent>
//! device_file(DeviceCredentials, &SystemValues) -> Result<ConfigFile, ParameterError>
//! redirect_file(&SystemValues, port, Option<&str>) -> Result<ConfigFile, ParameterError>
//! UploadName::parse(UploadKind, &str) -> Result<UploadName, UploadNameError>
//! ```

#![forbid(unsafe_code)]

pub mod config_file;
mod csv_error;
mod csv_table;
pub mod device_file;
mod error;
pub mod global_csv;
pub mod mac;
pub mod remote_worker_csv;
pub mod system_values;
pub mod upload_name;
pub mod user_agent;

pub use config_file::{ConfigError, ConfigFile, Line, Parameter, ParameterError};
pub use csv_error::{CsvColumn, CsvError, CsvProblem, MAX_ERRORS};
pub use csv_table::line_of as csv_record_line;
pub use device_file::{CA_FILE_NAME, DeviceCredentials, device_file, redirect_file};
pub use error::ProvisionError;
pub use global_csv::{
    ExtraFileName, ExtraFileNameError, GLOBAL_FILE_NAME, STARTUP_FILE_NAME, parse_global_csv,
};
pub use mac::{Mac, MacError};
pub use remote_worker_csv::{PhoneFile, RemoteWorkerImport, parse_remote_worker_csv};
pub use system_values::{SystemValues, SystemValuesError};
pub use upload_name::{UploadKind, UploadName, UploadNameError};
pub use user_agent::{PhoneAgent, Vendor, parse_user_agent};
