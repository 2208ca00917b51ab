use outpost_store::Store;
use sha2::Digest;

use super::*;

const TOKEN: &str = "cli-setup-token-0123456789";

fn service() -> (Service, tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("outpost.db");
    let mut store = Store::open(&path).unwrap();
    let digest = hex::encode(sha2::Sha256::digest(TOKEN.as_bytes()));
    store
        .set_setting(outpost_store::SETUP_TOKEN_SETTING, &digest)
        .unwrap();
    (Service::new(store), dir, path)
}

fn caller() -> Caller {
    Caller::cli("root", 1_700_000_000)
}

fn create(service: &Service, name: &str, role: &str, stdin: &str) -> Result<String, CliError> {
    let args = AdminCreateArgs {
        name: name.to_owned(),
        role: role.to_owned(),
        password_stdin: true,
    };
    let mut input = stdin.as_bytes();
    let mut prompts = Vec::new();
    let mut secrets = SecretInput::new(&mut input, &mut prompts, false);
    let mut out = Vec::new();
    admin_create(service, &caller(), &args, &mut secrets, None, &mut out)?;
    assert!(prompts.is_empty(), "no prompt with --password-stdin");
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn admin_create_list_passwd_token_and_audit_from_the_cli() {
    let (service, _dir, path) = service();
    // The first account needs the setup token: a wrong one gets exit 3.
    let err = create(
        &service,
        "alice",
        "admin",
        "not-the-token-at-all\nalice-password-1\n",
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 3, "{err}");
    let err = create(&service, "alice", "admin", &format!("{TOKEN}\nshort\n")).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");
    assert!(err.to_string().contains("at least 12"), "{err}");
    let text = create(
        &service,
        "alice",
        "admin",
        &format!("{TOKEN}\nalice-password-1\n"),
    )
    .unwrap();
    assert!(text.contains("setup token is spent"), "{text}");
    // Further accounts: just the password.
    let text = create(&service, "olivia", "read-only", "olivia-password-1\n").unwrap();
    assert!(text.contains("read-only account \"olivia\""), "{text}");
    let err = create(&service, "olivia", "admin", "olivia-password-1\n").unwrap_err();
    assert_eq!(err.exit_code(), 5, "{err}");

    let mut out = Vec::new();
    admin_list(&service, &caller(), false, &mut out).unwrap();
    let table = String::from_utf8(out).unwrap();
    assert!(table.contains("alice") && table.contains("olivia") && table.contains("read-only"));
    assert!(!table.contains("password-1"));

    let mut input = "olivia-password-2\n".as_bytes();
    let mut prompts = Vec::new();
    let mut secrets = SecretInput::new(&mut input, &mut prompts, false);
    admin_passwd(&service, &caller(), "olivia", &mut secrets, &mut Vec::new()).unwrap();
    let mut input = "".as_bytes();
    let mut secrets = SecretInput::new(&mut input, &mut prompts, false);
    let err =
        admin_passwd(&service, &caller(), "olivia", &mut secrets, &mut Vec::new()).unwrap_err();
    assert_eq!(err.exit_code(), 2, "{err}");

    let create_token = TokenCommand::Create(TokenCreateArgs {
        name: "backup".into(),
        scopes: vec!["audit:read".into()],
        expires_days: 30,
        allowed_sources: vec!["192.0.2.0/24".into()],
        json: true,
    });
    let mut out = Vec::new();
    token(&service, &caller(), &create_token, &mut out).unwrap();
    let created: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let value = created["token"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    let mut out = Vec::new();
    token(
        &service,
        &caller(),
        &TokenCommand::List(JsonArg { json: false }),
        &mut out,
    )
    .unwrap();
    let listed = String::from_utf8(out).unwrap();
    assert!(listed.contains(&id) && listed.contains("active") && !listed.contains(&value));
    token(
        &service,
        &caller(),
        &TokenCommand::Revoke { id: id.clone() },
        &mut Vec::new(),
    )
    .unwrap();
    let err = token(
        &service,
        &caller(),
        &TokenCommand::Revoke { id: "nope".into() },
        &mut Vec::new(),
    )
    .unwrap_err();
    assert_eq!(err.exit_code(), 4);

    let args = AuditArgs {
        since: Some("1h".into()),
        until: None,
        actor: Some("cli:root".into()),
        action: None,
        limit: 100,
        cursor: None,
        json: true,
    };
    let mut out = Vec::new();
    audit(&service, &caller(), &args, &mut out).unwrap();
    let actions: Vec<String> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["action"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        actions,
        [
            "token.revoke",
            "token.create",
            "admin.password.reset",
            "admin.create",
            "admin.setup"
        ]
    );
    let bad = AuditArgs {
        since: Some("yesterday".into()),
        json: false,
        ..args
    };
    assert_eq!(
        audit(&service, &caller(), &bad, &mut Vec::new())
            .unwrap_err()
            .exit_code(),
        2
    );

    drop(service);
    let bytes = std::fs::read(&path).unwrap();
    let mut wal = path.into_os_string();
    wal.push("-wal");
    let bytes = [bytes, std::fs::read(wal).unwrap_or_default()].concat();
    for secret in [
        TOKEN,
        "alice-password-1",
        "olivia-password-1",
        "olivia-password-2",
        &value,
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret}"
        );
    }
}

#[test]
fn ages_and_unix_seconds() {
    assert_eq!(
        parse_time("--since", "1700000000", 5).unwrap(),
        1_700_000_000
    );
    assert_eq!(parse_time("--since", "2h", 10_000).unwrap(), 10_000 - 7200);
    assert_eq!(
        parse_time("--since", "7d", 1_000_000).unwrap(),
        1_000_000 - 604_800
    );
    assert!(parse_time("--since", "h", 0).is_err());
    assert!(parse_time("--since", "", 0).is_err());
    assert!(parse_time("--since", "3w", 0).is_err());
}
