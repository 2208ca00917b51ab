//! Schema migrations: an embedded, ordered list of SQL scripts.
//!
//! Script `n` (1-based) takes the schema from version `n - 1` to `n`; the
//! version lives in `PRAGMA user_version` (0 for a new file). Each script
//! runs in its own `IMMEDIATE` transaction together with the version bump,
//! so a failed or interrupted migration leaves the previous version intact,
//! and two processes opening the same new file do not both migrate it.
//! Scripts are append-only: never edit one that has shipped, add a new one.

use rusqlite::{Connection, TransactionBehavior};

use crate::StoreError;

/// The migration scripts, in order. Index `i` produces version `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: ICPs (PRO-1), teleworker SIP devices (PRO-2), settings.
    "
    CREATE TABLE icps (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        guid                 TEXT    NOT NULL UNIQUE,
        name                 TEXT    NOT NULL UNIQUE,
        host                 TEXT    NOT NULL,
        kind                 TEXT    NOT NULL,
        sip_udp              INTEGER NOT NULL CHECK (sip_udp IN (0, 1)),
        sip_tcp              INTEGER NOT NULL CHECK (sip_tcp IN (0, 1)),
        sip_tls              INTEGER NOT NULL CHECK (sip_tls IN (0, 1)),
        is_default           INTEGER NOT NULL CHECK (is_default IN (0, 1)),
        xml_listen_port      INTEGER NOT NULL CHECK (xml_listen_port BETWEEN 1 AND 65535),
        xml_destination_port INTEGER NOT NULL CHECK (xml_destination_port IN (4443, 4445)),
        CHECK (sip_udp + sip_tcp + sip_tls > 0)
    ) STRICT;
    -- At most one default ICP, enforced by the database as well as the code.
    CREATE UNIQUE INDEX icps_single_default ON icps (is_default) WHERE is_default = 1;

    CREATE TABLE devices (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        guid             TEXT    NOT NULL UNIQUE,
        enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
        description      TEXT    NOT NULL,
        icp_id           INTEGER NOT NULL REFERENCES icps (id) ON DELETE RESTRICT,
        setside_username TEXT    NOT NULL UNIQUE CHECK (setside_username <> ''),
        setside_password TEXT    NOT NULL CHECK (setside_password <> ''),
        icpside_username TEXT    NOT NULL,
        icpside_password TEXT,
        mac              TEXT    UNIQUE CHECK (mac IS NULL OR length(mac) = 12),
        location         TEXT
    ) STRICT;
    CREATE INDEX devices_icp_id ON devices (icp_id);

    CREATE TABLE settings (
        key   TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;
    ",
    // 2: the guard (SEC-2, SEC-3, SEC-6, SEC-10): allow-list, the DoS and
    // brute-force deny-lists, guard settings, and a revision counter bumped
    // by every guard write so a running server can notice CLI changes.
    // Times are seconds since the Unix epoch; `expires` NULL is "never".
    "
    CREATE TABLE guard_allow (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        address TEXT    NOT NULL UNIQUE CHECK (address <> ''),
        note    TEXT    NOT NULL,
        added   INTEGER NOT NULL CHECK (added >= 0)
    ) STRICT;

    CREATE TABLE guard_deny (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        address TEXT    NOT NULL CHECK (address <> ''),
        list    TEXT    NOT NULL CHECK (list IN ('dos', 'bruteforce')),
        reason  TEXT    NOT NULL CHECK (reason <> ''),
        detail  TEXT    NOT NULL,
        added   INTEGER NOT NULL CHECK (added >= 0),
        expires INTEGER CHECK (expires IS NULL OR expires >= added),
        UNIQUE (list, address)
    ) STRICT;
    CREATE INDEX guard_deny_expires ON guard_deny (expires) WHERE expires IS NOT NULL;

    CREATE TABLE guard_settings (
        key   TEXT NOT NULL PRIMARY KEY,
        value TEXT NOT NULL
    ) STRICT;

    CREATE TABLE guard_revision (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    ) STRICT;
    INSERT INTO guard_revision (id, revision) VALUES (1, 0);
    ",
    // 3: per-device runtime status (SIG-8), written by `serve` as it changes
    // so `devices list` and the API show it; reset at every start.
    "
    CREATE TABLE device_status (
        setside_username TEXT    NOT NULL PRIMARY KEY
                                 REFERENCES devices (setside_username) ON DELETE CASCADE,
        registered       INTEGER NOT NULL CHECK (registered IN (0, 1)),
        connected        INTEGER NOT NULL CHECK (connected IN (0, 1)),
        in_call          INTEGER NOT NULL CHECK (in_call IN (0, 1)),
        natted           INTEGER NOT NULL CHECK (natted IN (0, 1)),
        last_address     TEXT,
        updated          INTEGER NOT NULL
    ) STRICT;
    ",
    // 4: ICP routing (PRO-1, SIG-9, NET-5): an ICP's own SIP port and the
    // CA file its TLS certificate is checked with; a revision counter
    // bumped by triggers on every device or ICP change, whoever makes it
    // (CLI, API, import), so a running server reloads its in-memory
    // directory without querying the database per request.
    "
    ALTER TABLE icps ADD COLUMN sip_port INTEGER
        CHECK (sip_port IS NULL OR sip_port BETWEEN 1 AND 65535);
    ALTER TABLE icps ADD COLUMN ca_file TEXT;
    CREATE TABLE directory_revision (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    ) STRICT;
    INSERT INTO directory_revision (id, revision) VALUES (1, 0);
    CREATE TRIGGER devices_inserted AFTER INSERT ON devices
        BEGIN UPDATE directory_revision SET revision = revision + 1 WHERE id = 1; END;
    CREATE TRIGGER devices_updated AFTER UPDATE ON devices
        BEGIN UPDATE directory_revision SET revision = revision + 1 WHERE id = 1; END;
    CREATE TRIGGER devices_deleted AFTER DELETE ON devices
        BEGIN UPDATE directory_revision SET revision = revision + 1 WHERE id = 1; END;
    CREATE TRIGGER icps_inserted AFTER INSERT ON icps
        BEGIN UPDATE directory_revision SET revision = revision + 1 WHERE id = 1; END;
    CREATE TRIGGER icps_updated AFTER UPDATE ON icps
        BEGIN UPDATE directory_revision SET revision = revision + 1 WHERE id = 1; END;
    CREATE TRIGGER icps_deleted AFTER DELETE ON icps
        BEGIN UPDATE directory_revision SET revision = revision + 1 WHERE id = 1; END;
    ",
    // 5: per-binding runtime status: a device may have several clients
    // registered (a desk phone and a softphone), each with its own
    // address, transport and state; `binding` is the B2BUA's binding
    // number (never the token). Replaced with each device status, cleared
    // at every start.
    "
    CREATE TABLE binding_status (
        setside_username TEXT    NOT NULL
                                 REFERENCES devices (setside_username) ON DELETE CASCADE,
        binding          INTEGER NOT NULL CHECK (binding >= 0),
        contact          TEXT    NOT NULL,
        transport        TEXT    NOT NULL,
        user_agent       TEXT,
        registered       INTEGER NOT NULL CHECK (registered IN (0, 1)),
        connected        INTEGER NOT NULL CHECK (connected IN (0, 1)),
        in_call          INTEGER NOT NULL CHECK (in_call IN (0, 1)),
        natted           INTEGER NOT NULL CHECK (natted IN (0, 1)),
        last_address     TEXT    NOT NULL,
        expires          INTEGER NOT NULL,
        PRIMARY KEY (setside_username, binding)
    ) STRICT;
    ",
    // 6: the management plane (SEC-9): administrator accounts (argon2id
    // PHC strings, never passwords), their login sessions (the SHA-256 of
    // the session id, never the id), API tokens (the SHA-256 of the token,
    // never the token) and the append-only audit log. Times are seconds
    // since the Unix epoch. Audit rows can be neither changed nor deleted:
    // the triggers abort any UPDATE or DELETE, whoever issues it.
    "
    CREATE TABLE admin_accounts (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        name             TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (name <> ''),
        role             TEXT    NOT NULL CHECK (role IN ('admin', 'read-only')),
        password_hash    TEXT    NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
        created          INTEGER NOT NULL,
        password_changed INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE admin_sessions (
        id_sha256  TEXT    NOT NULL PRIMARY KEY CHECK (length(id_sha256) = 64),
        account_id INTEGER NOT NULL REFERENCES admin_accounts (id) ON DELETE CASCADE,
        source     TEXT    NOT NULL,
        created    INTEGER NOT NULL,
        last_seen  INTEGER NOT NULL CHECK (last_seen >= created),
        expires    INTEGER NOT NULL CHECK (expires >= created)
    ) STRICT;
    CREATE INDEX admin_sessions_account ON admin_sessions (account_id);
    CREATE INDEX admin_sessions_expires ON admin_sessions (expires);

    CREATE TABLE api_tokens (
        id              TEXT    NOT NULL PRIMARY KEY CHECK (length(id) = 32),
        name            TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (name <> ''),
        secret_sha256   TEXT    NOT NULL UNIQUE CHECK (length(secret_sha256) = 64),
        scopes          TEXT    NOT NULL CHECK (scopes <> ''),
        allowed_sources TEXT    NOT NULL,
        created         INTEGER NOT NULL,
        created_by      TEXT    NOT NULL,
        expires         INTEGER CHECK (expires IS NULL OR expires > created),
        revoked         INTEGER CHECK (revoked IS NULL OR revoked >= created),
        last_used       INTEGER
    ) STRICT;

    CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        at         INTEGER NOT NULL,
        actor      TEXT    NOT NULL CHECK (actor <> ''),
        actor_name TEXT    NOT NULL,
        source     TEXT    NOT NULL,
        action     TEXT    NOT NULL CHECK (action <> ''),
        target     TEXT    NOT NULL,
        before     TEXT    CHECK (before IS NULL OR json_valid(before)),
        after      TEXT    CHECK (after IS NULL OR json_valid(after))
    ) STRICT;
    CREATE INDEX audit_log_at ON audit_log (at);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be changed'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: entries cannot be deleted'); END;
    ",
    // 7: phone provisioning (SEC-7, PRO-5..PRO-9). The hash key is one row.
    // Files are keyed by the name a phone asks for; `revision` (bumped by
    // every file write, kept in `provisioning_revision`) makes the ETag, so
    // a replaced file never keeps an old ETag. At most one global and one
    // extra file. Inventory rows are keyed by MAC (12 upper-case hex).
    // Actions (PRO-9) record import/deploy/delete/hash-change with their
    // state; `due` NULL is "immediate"; events are their log.
    "
    CREATE TABLE provisioning_hash (
        id      INTEGER PRIMARY KEY CHECK (id = 1),
        hash    TEXT    NOT NULL CHECK (length(hash) >= 32 AND hash NOT GLOB '*[^0-9a-f]*'),
        created INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE provisioning_revision (
        id       INTEGER PRIMARY KEY CHECK (id = 1),
        revision INTEGER NOT NULL
    ) STRICT;
    INSERT INTO provisioning_revision (id, revision) VALUES (1, 0);

    CREATE TABLE provisioning_files (
        name     TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
        kind     TEXT    NOT NULL CHECK (kind IN ('phone', 'global', 'extra')),
        mac      TEXT    UNIQUE CHECK ((kind = 'phone') = (mac IS NOT NULL AND length(mac) = 12)),
        contents BLOB    NOT NULL,
        revision INTEGER NOT NULL,
        modified INTEGER NOT NULL
    ) STRICT;
    CREATE UNIQUE INDEX provisioning_files_one_global ON provisioning_files (kind) WHERE kind = 'global';
    CREATE UNIQUE INDEX provisioning_files_one_extra ON provisioning_files (kind) WHERE kind = 'extra';

    CREATE TABLE provisioning_inventory (
        mac           TEXT    NOT NULL PRIMARY KEY CHECK (length(mac) = 12),
        model         TEXT,
        firmware      TEXT,
        address       TEXT    NOT NULL,
        last_download INTEGER NOT NULL,
        file          TEXT    NOT NULL,
        downloads     INTEGER NOT NULL CHECK (downloads >= 1)
    ) STRICT;

    CREATE TABLE provisioning_actions (
        id       INTEGER PRIMARY KEY AUTOINCREMENT,
        name     TEXT    NOT NULL CHECK (name <> ''),
        operator TEXT    NOT NULL CHECK (operator <> ''),
        kind     TEXT    NOT NULL CHECK (kind IN ('import', 'deploy', 'delete', 'hash-change')),
        due      INTEGER,
        state    TEXT    NOT NULL
                 CHECK (state IN ('pending', 'running', 'done', 'failed', 'interrupted')),
        progress INTEGER NOT NULL CHECK (progress BETWEEN 0 AND 100),
        result   TEXT,
        created  INTEGER NOT NULL,
        updated  INTEGER NOT NULL
    ) STRICT;
    CREATE INDEX provisioning_actions_state ON provisioning_actions (state);

    CREATE TABLE provisioning_events (
        id        INTEGER PRIMARY KEY AUTOINCREMENT,
        action_id INTEGER REFERENCES provisioning_actions (id) ON DELETE CASCADE,
        at        INTEGER NOT NULL,
        text      TEXT    NOT NULL CHECK (text <> '')
    ) STRICT;
    CREATE INDEX provisioning_events_action ON provisioning_events (action_id);
    ",
    // 8: phone files beyond the per-phone and global ones (SPEC PRO-5,
    // issue 15 item 2): `startup.cfg` for newer firmware, per-model
    // `<model>.cfg` files and firmware images; and what a deferred action
    // needs to run later (item 8): its input as JSON. SQLite cannot widen a
    // CHECK in place, so the files table is rebuilt (nothing refers to it).
    "
    CREATE TABLE provisioning_files_new (
        name     TEXT    NOT NULL PRIMARY KEY CHECK (name <> ''),
        kind     TEXT    NOT NULL
                 CHECK (kind IN ('phone', 'global', 'extra', 'startup', 'model', 'firmware')),
        mac      TEXT    UNIQUE CHECK ((kind = 'phone') = (mac IS NOT NULL AND length(mac) = 12)),
        contents BLOB    NOT NULL,
        revision INTEGER NOT NULL,
        modified INTEGER NOT NULL
    ) STRICT;
    INSERT INTO provisioning_files_new (name, kind, mac, contents, revision, modified)
        SELECT name, kind, mac, contents, revision, modified FROM provisioning_files;
    DROP TABLE provisioning_files;
    ALTER TABLE provisioning_files_new RENAME TO provisioning_files;
    CREATE UNIQUE INDEX provisioning_files_one_global ON provisioning_files (kind) WHERE kind = 'global';
    CREATE UNIQUE INDEX provisioning_files_one_extra ON provisioning_files (kind) WHERE kind = 'extra';
    CREATE UNIQUE INDEX provisioning_files_one_startup ON provisioning_files (kind) WHERE kind = 'startup';

    ALTER TABLE provisioning_actions ADD COLUMN payload TEXT
        CHECK (payload IS NULL OR json_valid(payload));
    CREATE INDEX provisioning_actions_due ON provisioning_actions (state, due);
    ",
    // 9: the MSL-compatible web services (SPEC PRO-3, issue 16): consumers
    // and their OAuth tokens. Secrets are sealed by the management plane
    // with a key kept outside the database.
    "
    CREATE TABLE ws_consumers (
        consumer_id TEXT    NOT NULL PRIMARY KEY CHECK (length(consumer_id) BETWEEN 1 AND 40),
        name        TEXT    NOT NULL CHECK (name <> ''),
        secret      BLOB    NOT NULL,
        active      INTEGER NOT NULL CHECK (active IN (0, 1)),
        permissions TEXT    NOT NULL,
        created     INTEGER NOT NULL
    ) STRICT;

    CREATE TABLE ws_tokens (
        token       TEXT    NOT NULL PRIMARY KEY CHECK (length(token) BETWEEN 16 AND 64),
        consumer_id TEXT    NOT NULL REFERENCES ws_consumers (consumer_id) ON DELETE CASCADE,
        kind        TEXT    NOT NULL CHECK (kind IN ('temporary', 'final')),
        secret      BLOB    NOT NULL,
        callback    TEXT,
        verifier    TEXT,
        approved_by TEXT,
        created     INTEGER NOT NULL,
        expires     INTEGER NOT NULL,
        revoked     INTEGER
    ) STRICT;
    CREATE INDEX ws_tokens_consumer ON ws_tokens (consumer_id);
    ",
];

/// The schema version this code produces and understands.
// The list is a handful of entries; the cast cannot truncate.
pub const LATEST: u32 = MIGRATIONS.len() as u32;

/// Reads `PRAGMA user_version`.
pub(crate) fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    Ok(conn.pragma_query_value(None, "user_version", |row| row.get(0))?)
}

/// Brings the schema up to [`LATEST`].
pub(crate) fn apply(conn: &mut Connection) -> Result<(), StoreError> {
    let start = user_version(conn)?;
    check_not_too_new(start)?;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(start as usize) {
        let version = u32::try_from(index + 1).unwrap_or(u32::MAX);
        let fail = |source| StoreError::Migration { version, source };
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        // Re-read under the write lock: another process may have migrated.
        let current = user_version(&tx)?;
        check_not_too_new(current)?;
        if current >= version {
            continue; // dropping `tx` rolls back the empty transaction
        }
        tx.execute_batch(sql).map_err(fail)?;
        tx.pragma_update(None, "user_version", version)
            .map_err(fail)?;
        tx.commit().map_err(fail)?;
    }
    Ok(())
}

fn check_not_too_new(found: u32) -> Result<(), StoreError> {
    if found > LATEST {
        return Err(StoreError::SchemaTooNew {
            found,
            supported: LATEST,
        });
    }
    Ok(())
}
