use super::*;

fn p(name: &str, value: &str) -> Parameter {
    Parameter::new(name, value).unwrap()
}

fn locked(name: &str, value: &str) -> Parameter {
    Parameter::new_locked(name, value).unwrap()
}

#[test]
fn writes_in_the_order_given_with_locks_and_quotes() {
    // The parameters of seed 000 §6.3's first spreadsheet row.
    let mut file = ConfigFile::new();
    file.push_comment(" 00085D4330B8").unwrap();
    file.push(locked("sip line1 user name", "7000"));
    file.push(locked("sip line1 auth name", "7000"));
    file.push(p("sip line1 password", "password1"));
    file.push(p("sip proxy ip", "64.101.10.1"));
    file.push(p("sip line1 screen name", "Desk #2"));
    file.push(p("emergency dial plan", "911|999"));
    file.push_blank();
    file.push(p("keyboard script", ""));
    assert_eq!(
        file.render(),
        "# 00085D4330B8\n\
         !sip line1 user name: 7000\n\
         !sip line1 auth name: 7000\n\
         sip line1 password: password1\n\
         sip proxy ip: 64.101.10.1\n\
         sip line1 screen name: \"Desk #2\"\n\
         emergency dial plan: \"911|999\"\n\
         \n\
         keyboard script:\n"
    );
    assert_eq!(ConfigFile::parse(&file.render()).unwrap(), file);
}

#[test]
fn values_the_reader_would_change_are_quoted() {
    for value in [
        " lead",
        "trail ",
        "\tTab",
        "\"quoted\"",
        "\"",
        "a # b",
        "#",
        "|",
    ] {
        let file: ConfigFile = [p("x", value)].into_iter().collect();
        let text = file.render();
        assert!(text.starts_with("x: \""), "{value:?} -> {text:?}");
        assert_eq!(ConfigFile::parse(&text).unwrap(), file, "{value:?}");
    }
    for value in [
        "plain",
        "a\"b",
        "end\"",
        "tab\tinside",
        "https://h:4445/abc?x=1&y",
    ] {
        let file: ConfigFile = [p("x", value)].into_iter().collect();
        assert_eq!(file.render(), format!("x: {value}\n"));
        assert_eq!(ConfigFile::parse(&file.render()).unwrap(), file);
    }
}

#[test]
fn reads_what_vendor_files_contain() {
    let text = "\u{20}\u{20}# global settings\r\n\
                \r\n\
                !admin password: 22222\r\n\
                !emergency dial plan: 911|999\r\n\
                sip proxy port : 5060   # trailing comment\r\n\
                \tdhcp: 1\r\n\
                sip line1 screen name: \"A \"B\" #1\"  \r\n\
                tftp path:\r\n";
    let file = ConfigFile::parse(text).unwrap();
    let params: Vec<(&str, &str, bool)> = file
        .parameters()
        .map(|p| (p.name(), p.value(), p.is_locked()))
        .collect();
    assert_eq!(
        params,
        [
            ("admin password", "22222", true),
            ("emergency dial plan", "911|999", true),
            ("sip proxy port", "5060", false),
            ("dhcp", "1", false),
            ("sip line1 screen name", "A \"B\" #1", false),
            ("tftp path", "", false),
        ]
    );
    assert_eq!(
        file.lines()[0],
        Line::Comment(" global settings".to_owned())
    );
    assert_eq!(file.lines()[1], Line::Blank);
}

#[test]
fn get_is_case_insensitive_and_takes_the_last() {
    let text = "SIP Proxy IP: a\nsip proxy ip: b\n";
    let file = ConfigFile::parse(text).unwrap();
    assert_eq!(file.get("sip proxy ip").unwrap().value(), "b");
    assert_eq!(file.get("Sip Proxy Ip").unwrap().value(), "b");
    assert!(file.get("sip registrar ip").is_none());
}

#[test]
fn errors_name_the_line_and_the_fix() {
    let cases: &[(&str, ConfigError)] = &[
        (
            "a: 1\nno colon here\n",
            ConfigError::MissingColon { line: 2 },
        ),
        (
            "a: 1\nb: 2\nc: \"open\n",
            ConfigError::UnterminatedQuote { line: 3 },
        ),
        (
            "c: \"x\" # comment\n",
            ConfigError::UnterminatedQuote { line: 1 },
        ),
        ("c: \"\n", ConfigError::UnterminatedQuote { line: 1 }),
        (
            ": value\n",
            ConfigError::Parameter {
                line: 1,
                problem: ParameterError::EmptyName,
            },
        ),
        (
            "\n! sip proxy ip: x\n",
            ConfigError::Parameter {
                line: 2,
                problem: ParameterError::NameStart {
                    name: " sip proxy ip".to_owned(),
                    found: ' ',
                },
            },
        ),
        (
            "^sip proxy ip: x\n",
            ConfigError::Parameter {
                line: 1,
                problem: ParameterError::NameStart {
                    name: "^sip proxy ip".to_owned(),
                    found: '^',
                },
            },
        ),
        (
            "sip\"proxy: x\n",
            ConfigError::Parameter {
                line: 1,
                problem: ParameterError::NameChar {
                    name: "sip\"proxy".to_owned(),
                    found: '"',
                },
            },
        ),
        (
            "a: b\u{0}c\n",
            ConfigError::Parameter {
                line: 1,
                problem: ParameterError::ValueControl {
                    name: "a".to_owned(),
                    code: 0,
                },
            },
        ),
        (
            "a: b\rc\n",
            ConfigError::Parameter {
                line: 1,
                problem: ParameterError::ValueControl {
                    name: "a".to_owned(),
                    code: 0x0d,
                },
            },
        ),
        (
            "#bell\u{7}\n",
            ConfigError::Parameter {
                line: 1,
                problem: ParameterError::CommentControl { code: 7 },
            },
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(ConfigFile::parse(text).as_ref(), Err(expected), "{text:?}");
    }
    let message = ConfigFile::parse("x\n").unwrap_err().to_string();
    assert!(message.starts_with("line 1: no ':'"), "{message}");
}

#[test]
fn errors_never_quote_values() {
    let err = ConfigFile::parse("sip line1 password: s3cr\u{1}et\n").unwrap_err();
    assert!(!err.to_string().contains("s3cr"), "{err}");
    let err = Parameter::new("sip line1 password", "x".repeat(MAX_VALUE_LEN + 1)).unwrap_err();
    assert!(!err.to_string().contains("xxx"), "{err}");
}

#[test]
fn limits() {
    assert!(Parameter::new("n".repeat(MAX_NAME_LEN), "").is_ok());
    assert_eq!(
        Parameter::new("n".repeat(MAX_NAME_LEN + 1), ""),
        Err(ParameterError::NameTooLong {
            len: MAX_NAME_LEN + 1
        })
    );
    assert!(Parameter::new("n", "v".repeat(MAX_VALUE_LEN)).is_ok());
    let big = "#".repeat(MAX_CONFIG_BYTES + 1);
    assert_eq!(
        ConfigFile::parse(&big),
        Err(ConfigError::TooLarge {
            size: MAX_CONFIG_BYTES + 1
        })
    );
    assert_eq!(
        ConfigFile::parse_bytes(big.as_bytes()),
        Err(ConfigError::TooLarge {
            size: MAX_CONFIG_BYTES + 1
        })
    );
}

#[test]
fn constructor_refuses_what_cannot_be_written() {
    assert_eq!(
        Parameter::new("sip proxy ip ", "x"),
        Err(ParameterError::NameTrailingSpace {
            name: "sip proxy ip ".to_owned()
        })
    );
    assert!(matches!(
        Parameter::new("a:b", "x"),
        Err(ParameterError::NameChar { found: ':', .. })
    ));
    assert!(matches!(
        Parameter::new("!a", "x"),
        Err(ParameterError::NameStart { found: '!', .. })
    ));
    assert!(matches!(
        Parameter::new("a", "line\nbreak"),
        Err(ParameterError::ValueControl { code: 10, .. })
    ));
    let mut file = ConfigFile::new();
    assert_eq!(
        file.push_comment("two\nlines"),
        Err(ParameterError::CommentControl { code: 10 })
    );
}

#[test]
fn not_utf8_names_the_line() {
    assert_eq!(
        ConfigFile::parse_bytes(b"a: 1\nb: \xe9t\xe9\n"),
        Err(ConfigError::NotUtf8 { line: 2 })
    );
    assert_eq!(
        ConfigFile::parse_bytes("a: é\n".as_bytes())
            .unwrap()
            .get("a")
            .unwrap()
            .value(),
        "é"
    );
}

#[test]
fn a_byte_order_mark_is_skipped() {
    let file = ConfigFile::parse_bytes(b"\xef\xbb\xbfdhcp: 1\n").unwrap();
    assert_eq!(file.render(), "dhcp: 1\n");
}

#[test]
fn empty_and_blank_files() {
    assert_eq!(ConfigFile::parse("").unwrap(), ConfigFile::new());
    assert_eq!(ConfigFile::new().render(), "");
    let file = ConfigFile::parse("\n\n").unwrap();
    assert_eq!(file.lines(), [Line::Blank, Line::Blank]);
    assert_eq!(file.render(), "\n\n");
    // No final LF: the last line still counts.
    assert_eq!(
        ConfigFile::parse("a: 1").unwrap().get("a").unwrap().value(),
        "1"
    );
}

#[test]
fn debug_redacts_passwords() {
    let debug = format!("{:?}", p("sip line1 password", "hunter2"));
    assert!(!debug.contains("hunter2"), "{debug}");
    assert!(debug.contains("<redacted>"), "{debug}");
    let debug = format!("{:?}", p("sip proxy ip", "gw.example.com"));
    assert!(debug.contains("gw.example.com"), "{debug}");
}
