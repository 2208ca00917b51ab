//! Prints the REST API's OpenAPI 3.1 document on standard output (what
//! `GET /api/v1/openapi.json` serves), for `scripts/check_openapi.sh`:
//!
//!     cargo run -q -p outpost-api --example openapi > openapi.json

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let text = match outpost_api::http::resources::openapi::document().to_pretty_json() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: the OpenAPI document does not serialize: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{text}") {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: writing the document: {e}");
            ExitCode::FAILURE
        }
    }
}
