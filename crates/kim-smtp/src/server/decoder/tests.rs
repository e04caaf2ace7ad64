#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use super::*;

/// Drives the decoder like a session: DATA switches to data mode, an AUTH without initial
/// response expects a raw line. Consecutive Data events are merged.
fn drive(chunks: &[&[u8]]) -> Vec<Event> {
    let mut decoder = Decoder::new();
    let mut events: Vec<Event> = Vec::new();
    for chunk in chunks {
        decoder.push(chunk);
        while let Some(event) = decoder.next_event() {
            match &event {
                Event::Command(Ok(Request::Data)) => decoder.start_data(),
                Event::Command(Ok(Request::Auth {
                    initial_response, ..
                })) if initial_response.is_empty() => decoder.expect_line(),
                _ => {}
            }
            match (events.last_mut(), event) {
                (Some(Event::Data(previous)), Event::Data(more)) => previous.extend(more),
                (_, event) => events.push(event),
            }
        }
    }
    events
}

fn command(request: Request<String>) -> Event {
    Event::Command(Ok(request))
}

const CORPUS: &[u8] = b"EHLO client.test\r\n\
AUTH PLAIN\r\n\
AHVzZXIAcGFzcw==\r\n\
MAIL FROM:<a@b.de> SIZE=100\r\n\
RCPT TO:<c@d.de>\r\n\
DATA\r\n\
..leading dot\r\n\
line\r\n\
.\r\n\
NOOP\r\n\
DATA\r\n\
.\r\n\
QUIT\r\n";

fn corpus_events() -> Vec<Event> {
    let mut from = smtp_proto::MailFrom {
        address: "a@b.de".to_string(),
        ..Default::default()
    };
    from.size = 100;
    vec![
        command(Request::Ehlo {
            host: "client.test".into(),
        }),
        command(Request::Auth {
            mechanism: smtp_proto::AUTH_PLAIN,
            initial_response: String::new(),
        }),
        Event::Line(b"AHVzZXIAcGFzcw==".to_vec()),
        command(Request::Mail { from }),
        command(Request::Rcpt {
            to: smtp_proto::RcptTo {
                address: "c@d.de".to_string(),
                ..Default::default()
            },
        }),
        command(Request::Data),
        Event::Data(b".leading dot\r\nline\r\n".to_vec()),
        Event::DataEnd,
        command(Request::Noop {
            value: String::new(),
        }),
        command(Request::Data),
        Event::DataEnd,
        command(Request::Quit),
    ]
}

#[test]
fn pipelined_input_in_one_piece() {
    assert_eq!(drive(&[CORPUS]), corpus_events());
}

#[test]
fn every_chunk_size_from_1_to_512_gives_the_same_events() {
    let expected = corpus_events();
    for size in 1..=512 {
        let chunks: Vec<&[u8]> = CORPUS.chunks(size).collect();
        assert_eq!(drive(&chunks), expected, "chunk size {size}");
    }
}

#[test]
fn end_marker_split_after_cr_emits_no_stray_cr() {
    let events = drive(&[b"DATA\r\nabc\r\n.\r", b"\nNOOP\r\n"]);
    assert_eq!(
        events,
        vec![
            command(Request::Data),
            Event::Data(b"abc\r\n".to_vec()),
            Event::DataEnd,
            command(Request::Noop {
                value: String::new()
            }),
        ]
    );
}

#[test]
fn over_long_line_is_dropped_and_sync_kept() {
    let mut input = b"NOOP ".to_vec();
    input.extend(std::iter::repeat_n(b'x', 600));
    input.extend_from_slice(b"\r\nQUIT\r\n");
    for size in [1, 7, 100, 4096] {
        let chunks: Vec<&[u8]> = input.chunks(size).collect();
        assert_eq!(
            drive(&chunks),
            vec![Event::LineTooLong, command(Request::Quit)],
            "chunk size {size}"
        );
    }
}

#[test]
fn over_long_line_does_not_grow_the_buffer() {
    let mut decoder = Decoder::new();
    for _ in 0..1000 {
        decoder.push(&[b'y'; 1024]);
        assert_eq!(decoder.next_event(), None);
        assert!(decoder.buffered() <= MAX_AUTH_LINE + 1024);
    }
    decoder.push(b"\r\nRSET\r\n");
    assert_eq!(decoder.next_event(), Some(Event::LineTooLong));
    assert_eq!(decoder.next_event(), Some(command(Request::Rset)));
}

#[test]
fn line_of_exactly_512_bytes_is_accepted() {
    let mut line = b"NOOP ".to_vec();
    line.extend(std::iter::repeat_n(b'a', MAX_COMMAND_LINE - 7));
    line.extend_from_slice(b"\r\n");
    assert_eq!(line.len(), MAX_COMMAND_LINE);
    let events = drive(&[&line]);
    assert!(matches!(
        events.as_slice(),
        [Event::Command(Ok(Request::Noop { .. }))]
    ));
    let mut longer = line.clone();
    longer.insert(5, b'a');
    assert_eq!(drive(&[&longer]), vec![Event::LineTooLong]);
}

#[test]
fn auth_lines_may_be_longer_than_commands() {
    let mut line = b"AUTH PLAIN ".to_vec();
    line.extend(std::iter::repeat_n(b'A', 2000));
    line.extend_from_slice(b"\r\n");
    let events = drive(&[&line]);
    assert!(
        matches!(events.as_slice(), [Event::Command(Ok(Request::Auth { initial_response, .. }))] if initial_response.len() == 2000)
    );
}

#[test]
fn unknown_and_malformed_commands_are_errors_not_panics() {
    let events = drive(&[b"FOO bar\r\nMAIL FROM:a@b\r\nRCPT TO:<\r\n\r\n\xff\xfe\r\n"]);
    assert_eq!(events.len(), 5);
    assert_eq!(
        events.first(),
        Some(&Event::Command(Err(smtp_proto::Error::UnknownCommand)))
    );
    assert!(events.iter().all(|e| matches!(e, Event::Command(Err(_)))));
}

#[test]
fn bare_lf_lines_are_commands_too() {
    assert_eq!(
        drive(&[b"RSET\nQUIT\n"]),
        vec![command(Request::Rset), command(Request::Quit)]
    );
}

#[test]
fn large_data_is_handed_out_as_it_arrives() {
    let mut decoder = Decoder::new();
    decoder.push(b"DATA\r\n");
    assert_eq!(decoder.next_event(), Some(command(Request::Data)));
    decoder.start_data();
    let block = [b'z'; 65_536];
    let mut total = 0;
    for _ in 0..64 {
        decoder.push(&block);
        while let Some(event) = decoder.next_event() {
            match event {
                Event::Data(bytes) => total += bytes.len(),
                other => panic!("unexpected {other:?}"),
            }
        }
        assert!(decoder.buffered() < 2);
    }
    decoder.push(b"\r\n.\r\n");
    let mut end = false;
    while let Some(event) = decoder.next_event() {
        match event {
            Event::Data(bytes) => total += bytes.len(),
            Event::DataEnd => end = true,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(end);
    assert_eq!(total, 64 * 65_536 + 2);
}
