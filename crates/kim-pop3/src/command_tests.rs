#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

use super::*;

fn parse(line: &str) -> Result<Command, CommandError> {
    Command::parse(line.as_bytes())
}

#[test]
fn every_command_form() {
    let cases: [(&str, Command); 17] = [
        ("CAPA", Command::Capa),
        ("capa", Command::Capa),
        (
            "USER alice@test.kim.telematik",
            Command::User("alice@test.kim.telematik".into()),
        ),
        (
            "PASS  two  spaces ",
            Command::Pass(Sensitive::new(" two  spaces ".into())),
        ),
        ("PASS", Command::Pass(Sensitive::new(String::new()))),
        (
            "AUTH",
            Command::Auth {
                mechanism: None,
                initial: None,
            },
        ),
        (
            "auth plain",
            Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: None,
            },
        ),
        (
            "AUTH PLAIN AGFsaWNlAHB3",
            Command::Auth {
                mechanism: Some("PLAIN".into()),
                initial: Some(Sensitive::new("AGFsaWNlAHB3".into())),
            },
        ),
        ("QUIT", Command::Quit),
        ("STAT", Command::Stat),
        ("LIST", Command::List(None)),
        ("LIST 4294967295", Command::List(Some(u32::MAX))),
        ("UIDL 2", Command::Uidl(Some(2))),
        ("RETR 1", Command::Retr(1)),
        ("TOP 1 99999999999999999999999", Command::Top(1, u64::MAX)),
        ("dele 0", Command::Dele(0)),
        ("NOOP", Command::Noop),
    ];
    for (line, expected) in cases {
        assert_eq!(parse(line), Ok(expected), "{line}");
    }
    assert_eq!(parse("RSET"), Ok(Command::Rset));
}

#[test]
fn bad_arguments_and_numbers_are_errors() {
    for line in [
        "RETR",
        "RETR -1",
        "RETR +1",
        "RETR x",
        "RETR 1x",
        "RETR 4294967296",
        "RETR 99999999999",
        "DELE 1 2",
        "TOP 1",
        "TOP 1 -2",
        "LIST 1 2",
        "STAT now",
        "USER",
        "USER a b",
        "AUTH PLAIN a b",
    ] {
        assert!(
            matches!(
                parse(line),
                Err(CommandError::BadNumber | CommandError::Arguments(_))
            ),
            "{line}: {:?}",
            parse(line)
        );
    }
    assert_eq!(parse(""), Err(CommandError::Empty));
    assert_eq!(parse(" STAT"), Err(CommandError::Empty));
    assert_eq!(parse("APOP a b"), Err(CommandError::Unknown));
    assert_eq!(parse("STATX"), Err(CommandError::Unknown));
    assert_eq!(Command::parse(b"USER \xff"), Err(CommandError::NotUtf8));
    assert_eq!(Command::parse(b"PASS \xff"), Err(CommandError::NotUtf8));
}

#[test]
fn secrets_stay_out_of_debug_output() {
    let debug = format!("{:?}", parse("PASS hunter2").unwrap());
    assert!(!debug.contains("hunter2"), "{debug}");
    let debug = format!("{:?}", parse("AUTH PLAIN AGFsaWNlAGh1bnRlcjI=").unwrap());
    assert!(!debug.contains("AGFsaWNlAGh1bnRlcjI="), "{debug}");
}

/// Feeds `input` in chunks of `size` bytes the way a session does (buffer, parse, advance).
fn feed(input: &[u8], size: usize, max_line: usize) -> Vec<Parsed> {
    let mut parser = CommandParser::new(max_line);
    let mut buffer = Vec::new();
    let mut out = Vec::new();
    for chunk in input.chunks(size) {
        buffer.extend_from_slice(chunk);
        loop {
            let (consumed, parsed) = parser.parse(&buffer);
            buffer.drain(..consumed);
            if parsed == Parsed::NeedMore {
                break;
            }
            out.push(parsed);
        }
    }
    assert!(buffer.len() < max_line, "buffer must stay bounded");
    out
}

#[test]
fn chunked_feeding_from_1_to_512_bytes_gives_the_same_commands() {
    let long = format!("USER {}\r\n", "x".repeat(2000));
    let input = [
        "CAPA\r\n",
        "USER alice\r\nPASS secret word\r\n",
        "STAT\r\nLIST\r\nRETR 1\r\n",
        long.as_str(),
        "TOP 2 10\n",
        "BOGUS\r\n",
        "RETR 0\r\nRETR 999\r\nRETR abc\r\n",
        "\r\n",
        "QUIT\r\n",
    ]
    .concat();
    let expected = feed(input.as_bytes(), input.len(), 512);
    assert_eq!(expected.len(), 14, "{expected:?}");
    assert_eq!(expected[6], Parsed::Invalid(CommandError::LineTooLong));
    assert_eq!(expected[7], Parsed::Command(Command::Top(2, 10)));
    assert_eq!(expected[8], Parsed::Invalid(CommandError::Unknown));
    assert_eq!(expected[10], Parsed::Command(Command::Retr(999)));
    assert_eq!(expected[11], Parsed::Invalid(CommandError::BadNumber));
    assert_eq!(expected[12], Parsed::Invalid(CommandError::Empty));
    for size in 1..=512 {
        assert_eq!(
            feed(input.as_bytes(), size, 512),
            expected,
            "chunk size {size}"
        );
    }
}

#[test]
fn line_limit_counts_the_crlf() {
    let exact = format!("NOOP{}\r\n", " ".repeat(506));
    assert_eq!(exact.len(), 512);
    assert_eq!(
        feed(exact.as_bytes(), 7, 512),
        vec![Parsed::Command(Command::Noop)]
    );
    let over = format!("NOOP{}\r\nNOOP\r\n", " ".repeat(507));
    assert_eq!(
        feed(over.as_bytes(), 7, 512),
        vec![
            Parsed::Invalid(CommandError::LineTooLong),
            Parsed::Command(Command::Noop)
        ]
    );
}
