//! Header processing of the Client-Mail before sealing (gemSpec_CM_KOMLE 3.4 step 4):
//! `To`, `Cc` and `Bcc` keep only addresses that were given in RCPT TO and passed the
//! checks (A_23174); addresses the message could not be encrypted for are removed
//! (KOM-LE-A_2028).
//!
//! A field whose addresses are all kept stays byte-identical; a field that loses an
//! address is rewritten as a list of angle addresses (display names of that field are
//! not kept); a field that loses all addresses is removed.

use kim_message::mime::{HeaderBlock, HeaderField, MimeError, addr_specs};

/// The fields filtered.
const RECIPIENT_FIELDS: [&str; 3] = ["To", "Cc", "Bcc"];

/// Returns `mail` (CRLF, as prepared) with its recipient fields filtered to `kept`
/// (compared ASCII-case-insensitively). The header block is replaced in the same buffer;
/// an unchanged mail is returned as it is.
pub fn filter_recipients(mut mail: Vec<u8>, kept: &[String]) -> Result<Vec<u8>, MimeError> {
    let (header, body_offset) = HeaderBlock::parse(&mail)?;
    let is_kept = |a: &str| kept.iter().any(|k| k.eq_ignore_ascii_case(a));
    let mut out = HeaderBlock::default();
    let mut changed = false;
    for field in header.fields() {
        let Some(name) = RECIPIENT_FIELDS.iter().find(|n| field.is(n)) else {
            out.push(field.clone());
            continue;
        };
        let specs = addr_specs(&field.value());
        if specs.iter().all(|a| is_kept(a)) {
            out.push(field.clone());
            continue;
        }
        changed = true;
        let remaining: Vec<String> = specs
            .into_iter()
            .filter(|a| is_kept(a))
            .map(|a| format!("<{a}>"))
            .collect();
        if !remaining.is_empty() {
            out.push(HeaderField::new_folded(name, &remaining.join(", "))?);
        }
    }
    if !changed {
        return Ok(mail);
    }
    let mut header = out.to_bytes();
    header.extend_from_slice(b"\r\n");
    mail.splice(..body_offset, header);
    Ok(mail)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn dropped_addresses_leave_the_recipient_fields() {
        let mail =
            b"From: A <a@x.kim.telematik>\r\nTo: B <b@x.kim.telematik>, c@x.kim.telematik\r\n\
Cc: D <d@x.kim.telematik>\r\nBcc: e@x.kim.telematik\r\nSubject: s\r\n\r\nbody\r\n";
        let kept = vec!["B@x.kim.telematik".to_string(), "e@x.kim.telematik".into()];
        let out = String::from_utf8(filter_recipients(mail.to_vec(), &kept).unwrap()).unwrap();
        assert_eq!(
            out,
            "From: A <a@x.kim.telematik>\r\nTo: <b@x.kim.telematik>\r\n\
Bcc: e@x.kim.telematik\r\nSubject: s\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn unchanged_mails_stay_byte_identical() {
        let mail = b"From: a@x\r\nTo: B <b@x>\r\n\r\nbody";
        let out = filter_recipients(mail.to_vec(), &["b@x".to_string()]).unwrap();
        assert_eq!(out, mail);
    }
}
