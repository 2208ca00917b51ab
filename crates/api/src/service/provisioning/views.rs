//! What the provisioning services answer: plain `Serialize` views of the
//! store's records, with MACs in their canonical form and times in Unix
//! seconds.

use outpost_store::{Action, ActionEvent, InventoryEntry, ProvisioningFile, ProvisioningFileInfo};
use serde::Serialize;
use utoipa::ToSchema;

/// A stored file, without its contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FileView {
    /// The name phones ask for (`00085D237429.cfg`, `aastra.cfg`).
    pub name: String,
    /// `phone`, `global`, `extra`, `startup`, `model` or `firmware`.
    pub kind: String,
    /// The phone's MAC (12 upper-case hex digits), for a phone file.
    pub mac: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// When it was written, Unix seconds.
    pub modified: i64,
    /// The HTTP entity tag phones get.
    pub etag: String,
}

impl From<&ProvisioningFileInfo> for FileView {
    fn from(f: &ProvisioningFileInfo) -> Self {
        Self {
            name: f.name.clone(),
            kind: f.kind.as_str().to_owned(),
            mac: f.mac.map(|m| m.to_string()),
            size: f.size,
            modified: f.modified,
            etag: f.etag.clone(),
        }
    }
}

/// A stored file with its contents (which may hold SIP passwords).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FileContents {
    /// Name, kind, size, time and ETag.
    #[serde(flatten)]
    pub file: FileView,
    /// The contents as text (bytes that are not UTF-8 shown as U+FFFD).
    pub contents: String,
}

impl From<&ProvisioningFile> for FileContents {
    fn from(f: &ProvisioningFile) -> Self {
        Self {
            file: FileView::from(&f.info),
            contents: String::from_utf8_lossy(&f.contents).into_owned(),
        }
    }
}

/// A phone in the inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct InventoryView {
    /// Its MAC, 12 upper-case hex digits.
    pub mac: String,
    /// Model from its User-Agent (`6867i`).
    pub model: Option<String>,
    /// Firmware from its User-Agent (`6.3.0.1020`).
    pub firmware: Option<String>,
    /// The address of its last download.
    pub address: String,
    /// When it last downloaded a file, Unix seconds.
    pub last_download: i64,
    /// The file it last downloaded.
    pub file: String,
    /// Downloads recorded.
    pub downloads: u64,
    /// The set-side username of the device with this MAC, if any.
    pub user: Option<String>,
    /// That device is registered over SIP now.
    pub registered: bool,
    /// That device's last SIP address.
    pub sip_address: Option<String>,
}

impl From<&InventoryEntry> for InventoryView {
    fn from(e: &InventoryEntry) -> Self {
        Self {
            mac: e.last.mac.to_string(),
            model: e.last.model.clone(),
            firmware: e.last.firmware.clone(),
            address: e.last.address.clone(),
            last_download: e.last.at,
            file: e.last.file.clone(),
            downloads: e.downloads,
            user: e.user.clone(),
            registered: e.registered,
            sip_address: e.sip_address.clone(),
        }
    }
}

/// One line of an action's event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct EventView {
    /// When, Unix seconds.
    pub at: i64,
    /// What happened.
    pub text: String,
}

/// A provisioning action (PRO-9) and its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct ActionView {
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Who asked for it.
    pub operator: String,
    /// `import`, `deploy`, `delete` or `hash-change`.
    pub kind: String,
    /// When it is due, Unix seconds; absent for "at once".
    pub due: Option<i64>,
    /// `pending`, `running`, `done`, `failed` or `interrupted`.
    pub state: String,
    /// 0 to 100.
    pub progress: u8,
    /// How it ended.
    pub result: Option<String>,
    /// When it was created, Unix seconds.
    pub created: i64,
    /// Its events, oldest first.
    pub events: Vec<EventView>,
}

impl ActionView {
    pub(super) fn new<'a>(a: &Action, events: impl Iterator<Item = &'a ActionEvent>) -> Self {
        Self {
            id: a.id,
            name: a.action.name.clone(),
            operator: a.action.operator.clone(),
            kind: a.action.kind.as_str().to_owned(),
            due: a.action.due,
            state: a.state.as_str().to_owned(),
            progress: a.progress,
            result: a.result.clone(),
            created: a.created,
            events: events
                .map(|e| EventView {
                    at: e.at,
                    text: e.text.clone(),
                })
                .collect(),
        }
    }
}
