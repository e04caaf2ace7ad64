//! Size and speed on a 16 MiB message (the KAS threshold is 15 MiB). Prints MB/s with
//! `--nocapture`; asserts only correctness and a generous bound that catches quadratic
//! behaviour.

use super::*;
use kim_message::mime::{
    DeliveryResult, OuterMessage, OuterParams, build_delivered, outer_message, prepare_client_mail,
};
use std::time::Instant;

const SIZE: usize = 16 * 1024 * 1024;

fn big_mail() -> Vec<u8> {
    let mut mail = b"From: a@x.de\r\nTo: b@y.de\r\nMessage-ID: <big@x>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHallo\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n".to_vec();
    let line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
    while mail.len() < SIZE {
        mail.extend_from_slice(line);
    }
    mail.extend_from_slice(b"--b--\r\n");
    mail
}

fn rate(bytes: usize, start: Instant) -> f64 {
    bytes as f64 / 1e6 / start.elapsed().as_secs_f64()
}

#[test]
fn sixteen_mib_message_round_trip() {
    let mail = big_mail();
    let start = Instant::now();
    let prepared = prepare_client_mail(&mail).unwrap();
    let prepare_rate = rate(mail.len(), start);

    let start = Instant::now();
    let outer = outer_message(
        &prepared.bytes,
        &prepared.bytes,
        &OuterParams {
            kom_le_version: "1.0".to_owned(),
            ..OuterParams::default()
        },
    )
    .unwrap();
    let outer_rate = rate(prepared.bytes.len(), start);

    let start = Instant::now();
    let parsed = OuterMessage::parse(&outer).unwrap();
    let parse_rate = rate(outer.len(), start);
    assert_eq!(parsed.cms, prepared.bytes);

    let start = Instant::now();
    let delivered = build_delivered(
        &parsed.cms,
        &header_of(&outer),
        &DeliveryResult::decrypted(&["01"]),
    )
    .unwrap();
    let deliver_rate = rate(parsed.cms.len(), start);
    assert!(
        find(
            &delivered,
            "Die Signatur wurde erfolgreich geprüft.".as_bytes()
        )
        .is_some()
    );
    assert!(delivered.len() > SIZE);

    println!(
        "16 MiB: prepare {prepare_rate:.0} MB/s, outer_message {outer_rate:.0} MB/s, \
         OuterMessage::parse {parse_rate:.0} MB/s, build_delivered {deliver_rate:.0} MB/s"
    );
    for r in [prepare_rate, outer_rate, parse_rate, deliver_rate] {
        assert!(r > 1.0, "below 1 MB/s: quadratic behaviour?");
    }
}
