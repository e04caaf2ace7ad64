//! Denied field names never reach a file with their values.

use crate::{ManualClock, T0, TODAY, config, lines, with_logs};

#[test]
fn denied_fields_are_redacted_in_both_logs() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    with_logs(&config(dir.path()), &clock, || {
        tracing::info!(
            password = "hunter2",
            smtpPassword = "hunter3",
            pin = 1234_u64,
            mail_body = "Befund: Diabetes",
            subject = "Arztbrief",
            keystore_path = "/secret/ks.p12",
            content = ?b"x",
            recipients = 3_u64,
            "submitted"
        );
        tracing::info!(target: "kim_perf", step = "sign", ms = 5_u64, mail = "a@b.de", "step timed");
    });
    let op = lines(dir.path(), &format!("operation-{TODAY}.log"));
    assert_eq!(
        op,
        [concat!(
            "2026-12-04T01:02:03.045Z INFO it::redaction op=- msg=submitted ",
            "password=<redacted> smtpPassword=<redacted> pin=<redacted> mail_body=<redacted> ",
            "subject=<redacted> keystore_path=<redacted> content=<redacted> recipients=3"
        )]
    );
    let perf = lines(dir.path(), &format!("performance-{TODAY}.log"));
    assert_eq!(
        perf,
        ["2026-12-04T01:02:03.045Z op=- step=sign ms=5 mail=<redacted>"]
    );
    let all = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    for secret in [
        "hunter",
        "1234",
        "Diabetes",
        "Arztbrief",
        "ks.p12",
        "a@b.de",
    ] {
        assert!(!all.contains(secret), "{secret} leaked");
    }
}

#[test]
fn values_cannot_forge_lines_or_fields() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    with_logs(&config(dir.path()), &clock, || {
        tracing::warn!(
            peer = "x\n2026-12-04T00:00:00.000Z ERROR forged",
            "bad\r\nmessage"
        );
    });
    let op = lines(dir.path(), &format!("operation-{TODAY}.log"));
    assert_eq!(op.len(), 1, "{op:?}");
    assert!(
        op[0].ends_with(
            "msg=\"bad\\r\\nmessage\" peer=\"x\\n2026-12-04T00:00:00.000Z ERROR forged\""
        ),
        "{}",
        op[0]
    );
}

#[test]
fn addresses_are_masked_in_values_and_messages() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let rcpt = "dr.mueller@praxis.kim.telematik";
    with_logs(&config(dir.path()), &clock, || {
        tracing::warn!(reply = %format!("550 <{rcpt}> unknown"), "refused for {rcpt}");
    });
    let op = lines(dir.path(), &format!("operation-{TODAY}.log"));
    assert_eq!(
        op,
        [concat!(
            "2026-12-04T01:02:03.045Z WARN it::redaction op=- ",
            "msg=\"refused for <address>\" reply=\"550 <<address>> unknown\""
        )]
    );
}

#[test]
fn long_values_are_cut_at_a_character_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::at(T0);
    let long = "ä".repeat(kim_logs::MAX_VALUE_CHARS + 5);
    with_logs(
        &config(dir.path()),
        &clock,
        || tracing::info!(detail = %long, "x"),
    );
    let op = lines(dir.path(), &format!("operation-{TODAY}.log"));
    let value = op[0].rsplit_once("detail=").unwrap().1;
    let expected = format!("{}…", "ä".repeat(kim_logs::MAX_VALUE_CHARS));
    assert_eq!(value, expected);
}
