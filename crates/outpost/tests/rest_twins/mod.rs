//! The REST-twins end-to-end test's parts (`tests/rest_twins_e2e.rs`):
//! the test's secrets, a runner that keeps every answer and the audit
//! entries the changes must leave, and the searches of the audit log and
//! the database.

pub(crate) mod accounts;
pub(crate) mod guard;
pub(crate) mod resources;
pub(crate) mod settings;

use std::path::Path;

use serde_json::Value;

use crate::admin_bed::{Bed, Body, Cred, Reply};

/// 127.0.64.x: no other test uses it.
pub(crate) const NET: u8 = 64;
// Distinctive secrets, searched for at the end; each is used once.
pub(crate) const SETUP_TOKEN: &str = "setup-Tok3n-twins-e2e-5f1c9a";
pub(crate) const ADMIN: &str = "root-admin";
pub(crate) const ADMIN_PW: &str = "Adm1n-pw-Vq83-kestrel";
pub(crate) const READER: &str = "reader";
pub(crate) const READER_PW: [&str; 3] = [
    "R3ader-pw-1-heron-44",
    "R3ader-pw-2-osprey-71",
    "R3ader-pw-3-plover-09",
];
pub(crate) const DEVICE_PW: &str = "Dev-set-pw-7Hq2-larch";
pub(crate) const DEVICE_PW_NEW: &str = "Dev-set-pw-9Zt4-rowan";
pub(crate) const DEVICE_ICP_PW: &str = "Dev-icp-pw-3Mx8-alder";
pub(crate) const IMPORT_PW: &str = "Imp-set-pw-5Kc1-hazel";
pub(crate) const IMPORT_ICP_PW: &str = "Imp-icp-pw-2Wd6-aspen";
pub(crate) const REFUSED_PW: &str = "Refused-pw-8Jn3-cedar";

/// The requests made, the answers kept (to search them for secrets), and
/// the audit entries the changes must have left, in order.
pub(crate) struct Run<'a> {
    pub(crate) bed: &'a Bed,
    pub(crate) answers: Vec<String>,
    pub(crate) expected: Vec<(String, String)>,
}

impl Run<'_> {
    /// A request that must answer `status`; its body.
    pub(crate) fn call(
        &mut self,
        method: &str,
        path: &str,
        cred: &Cred<'_>,
        body: &Body<'_>,
        status: u16,
    ) -> Value {
        self.reply(method, path, cred, body, status).body
    }

    /// The same, the whole reply.
    pub(crate) fn reply(
        &mut self,
        method: &str,
        path: &str,
        cred: &Cred<'_>,
        body: &Body<'_>,
        status: u16,
    ) -> Reply {
        let r = self.bed.request(method, path, cred, body);
        assert_eq!(r.status, status, "{method} {path}: {}", r.text);
        self.answers
            .push(format!("{method} {path}\n{}\n{}", r.headers, r.text));
        r
    }

    /// A change that must leave the audit entry `action` on `target`.
    pub(crate) fn audited(&mut self, action: &str, target: &str) {
        self.expected.push((action.to_owned(), target.to_owned()));
    }
}

/// A JSON string's text, or the value as JSON.
pub(crate) fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_owned)
}

/// An object's keys, sorted.
pub(crate) fn keys(v: &Value) -> Vec<String> {
    let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

/// The newest audit entry's id (the bed's provisioning left some).
pub(crate) fn last_audit_id(bed: &Bed, token: &str) -> i64 {
    let r = bed.request(
        "GET",
        "/api/v1/audit?limit=1",
        &Cred::Token(token),
        &Body::Empty,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    r.body["entries"][0]["id"].as_i64().unwrap()
}

/// The audit entries after `first_id`, oldest first.
pub(crate) fn audit_since(bed: &Bed, token: &str, first_id: i64) -> Vec<Value> {
    let r = bed.request(
        "GET",
        "/api/v1/audit?limit=500",
        &Cred::Token(token),
        &Body::Empty,
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let mut entries: Vec<Value> = r.body["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["id"].as_i64().unwrap() > first_id)
        .cloned()
        .collect();
    entries.reverse();
    entries
}

/// The bytes of the database files (the database, its WAL and shared
/// memory), as they are on disk.
pub(crate) fn database_bytes(data_dir: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(data_dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("outpost.db") {
            bytes.extend(std::fs::read(&path).unwrap());
        }
    }
    assert!(bytes.len() > 4096, "the database files were read");
    bytes
}

/// Every value of every row of every table, as text, except the two
/// columns that hold device passwords by design.
pub(crate) fn database_rows(data_dir: &Path) -> String {
    let db = rusqlite::Connection::open_with_flags(
        data_dir.join("outpost.db"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = String::new();
    for table in tables {
        let mut stmt = db.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns: Vec<String> = stmt
            .column_names()
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for (i, column) in columns.iter().enumerate() {
                if table == "devices" && column.ends_with("_password") {
                    continue;
                }
                let value = match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        String::from_utf8_lossy(t).into_owned()
                    }
                    other => format!("{other:?}"),
                };
                out.push_str(&format!("{table}.{column}={value}\n"));
            }
        }
    }
    out
}

/// Whether `needle` occurs in `haystack`.
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
