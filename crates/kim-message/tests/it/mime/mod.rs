//! Tests of `kim_message::mime` against the gematik sample and an independent parser
//! (mail-parser).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod compose;
mod deliver;
mod dsn;
mod error_mail;
mod outer;
mod python_peer;
mod robustness;
mod texts;
mod throughput;

pub(crate) const INPUT_EMAIL: &[u8] = include_bytes!("../../data/gematik/inputEmail.txt");
pub(crate) const RFC822_WRAP: &[u8] =
    include_bytes!("../../data/gematik/inputEmail.txt.01.rfc822wrap");
pub(crate) const SIGNED_WRAP: &[u8] =
    include_bytes!("../../data/gematik/inputEmail.txt.03.signedwrap");
pub(crate) const ENCRYPTED_CMS: &[u8] =
    include_bytes!("../../data/gematik/inputEmail.txt.04.encryptedcms");
pub(crate) const ENCRYPTED_WRAP: &[u8] =
    include_bytes!("../../data/gematik/inputEmail.txt.05.encryptedwrap");

/// Parses with mail-parser (the independent reader used to check our output).
pub(crate) fn parse(bytes: &[u8]) -> mail_parser::Message<'_> {
    mail_parser::MessageParser::default()
        .parse(bytes)
        .expect("mail-parser accepts the message")
}

/// All raw values of a header field (mail-parser), trimmed.
pub(crate) fn raw_values(msg: &mail_parser::Message<'_>, name: &str) -> Vec<String> {
    msg.headers()
        .iter()
        .filter(|h| h.name().eq_ignore_ascii_case(name))
        .map(|h| {
            String::from_utf8_lossy(
                &msg.raw_message()[h.offset_start() as usize..h.offset_end() as usize],
            )
            .trim()
            .to_owned()
        })
        .collect()
}

/// The raw bytes of a part's body as located by mail-parser.
pub(crate) fn part_body<'a>(msg: &'a mail_parser::Message<'_>, index: usize) -> &'a [u8] {
    let part = &msg.parts[index];
    &msg.raw_message()[part.offset_body as usize..part.offset_end as usize]
}

/// Position of `needle` in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// True if every LF is preceded by CR and every CR followed by LF.
pub(crate) fn is_crlf_only(data: &[u8]) -> bool {
    kim_message::mime::to_crlf(data).as_ref() == data
}

/// The header block bytes (up to the empty line) of a message.
pub(crate) fn header_of(message: &[u8]) -> kim_message::mime::HeaderBlock {
    kim_message::mime::HeaderBlock::parse(message).unwrap().0
}
