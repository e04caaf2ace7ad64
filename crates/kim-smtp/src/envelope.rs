//! The SMTP envelope: MAIL FROM and RCPT TO with their parameters (RFC 1870 SIZE,
//! RFC 6152 BODY, RFC 3461 DSN), shared by the server engine and the client.

use std::borrow::Cow;

use crate::reply::{Reply, canned};

/// `RET=` of MAIL FROM (RFC 3461 §4.3): what a DSN should return of the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ret {
    /// The whole message.
    Full,
    /// Only the headers.
    Hdrs,
}

/// `BODY=` of MAIL FROM (RFC 6152).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `7BIT`.
    SevenBit,
    /// `8BITMIME`.
    EightBitMime,
}

/// `NOTIFY=` of RCPT TO (RFC 3461 §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Notify {
    /// Not given: the MTA decides (failures and delays, usually).
    #[default]
    Default,
    /// `NEVER`.
    Never,
    /// A non-empty selection of `SUCCESS`, `FAILURE`, `DELAY`.
    On {
        /// `SUCCESS`.
        success: bool,
        /// `FAILURE`.
        failure: bool,
        /// `DELAY`.
        delay: bool,
    },
}

/// MAIL FROM with its parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MailFrom {
    /// The reverse-path; empty for the null sender `<>`.
    pub address: String,
    /// `SIZE=` (RFC 1870), the client's estimate of the message size.
    pub size: Option<u64>,
    /// `RET=` (RFC 3461).
    pub ret: Option<Ret>,
    /// `ENVID=` (RFC 3461), xtext-decoded.
    pub envid: Option<String>,
    /// `BODY=` (RFC 6152).
    pub body: Option<Body>,
}

/// RCPT TO with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RcptTo {
    /// The forward-path.
    pub address: String,
    /// `NOTIFY=` (RFC 3461).
    pub notify: Notify,
    /// `ORCPT=rfc822;…` (RFC 3461), the address part xtext-decoded.
    pub orcpt: Option<String>,
}

impl RcptTo {
    /// A recipient without DSN parameters.
    pub fn new(address: impl Into<String>) -> RcptTo {
        RcptTo {
            address: address.into(),
            notify: Notify::Default,
            orcpt: None,
        }
    }
}

/// One mail transaction's envelope.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// The EHLO/HELO argument of the session.
    pub helo: String,
    /// The authenticated user, if the session authenticated.
    pub auth_user: Option<String>,
    /// MAIL FROM.
    pub mail_from: MailFrom,
    /// Accepted recipients, in order.
    pub rcpts: Vec<RcptTo>,
}

/// MAIL FROM flags this engine does not advertise; a client using them gets 555.
const UNSUPPORTED_MAIL_FLAGS: &[(u64, &str)] = &[
    (smtp_proto::MAIL_BODY_BINARYMIME, "BODY=BINARYMIME"),
    (smtp_proto::MAIL_SMTPUTF8, "SMTPUTF8"),
    (smtp_proto::MAIL_REQUIRETLS, "REQUIRETLS"),
    (smtp_proto::MAIL_CONPERM, "CONPERM"),
    (
        smtp_proto::MAIL_BY_NOTIFY | smtp_proto::MAIL_BY_RETURN,
        "BY",
    ),
];

/// Checks MAIL FROM parameters against what the server advertised and converts them.
/// `dsn` says whether DSN was advertised.
pub(crate) fn mail_from_from_proto(
    from: smtp_proto::MailFrom<Cow<'_, str>>,
    dsn: bool,
) -> Result<MailFrom, Reply> {
    let flags = from.flags;
    for (flag, name) in UNSUPPORTED_MAIL_FLAGS {
        if flags & flag != 0 {
            return Err(canned::unsupported_parameter(name));
        }
    }
    // `AUTH=` (RFC 4954 §5) is accepted and ignored: the submitting identity is the
    // session's authenticated user, never a value the client asserts.
    let extras = [
        (from.trans_id.is_some(), "TRANSID"),
        (from.solicit.is_some(), "SOLICIT"),
        (from.mtrk.is_some(), "MTRK"),
        (from.hold_for != 0 || from.hold_until != 0, "FUTURERELEASE"),
        (from.mt_priority != 0, "MT-PRIORITY"),
    ];
    if let Some((_, name)) = extras.iter().find(|(present, _)| *present) {
        return Err(canned::unsupported_parameter(name));
    }
    let ret = match (
        flags & smtp_proto::MAIL_RET_FULL != 0,
        flags & smtp_proto::MAIL_RET_HDRS != 0,
    ) {
        (true, true) => return Err(canned::bad_arguments("RET given twice")),
        (true, false) => Some(Ret::Full),
        (false, true) => Some(Ret::Hdrs),
        (false, false) => None,
    };
    let body = match (
        flags & smtp_proto::MAIL_BODY_7BIT != 0,
        flags & smtp_proto::MAIL_BODY_8BITMIME != 0,
    ) {
        (true, true) => return Err(canned::bad_arguments("BODY given twice")),
        (true, false) => Some(Body::SevenBit),
        (false, true) => Some(Body::EightBitMime),
        (false, false) => None,
    };
    if !dsn && (ret.is_some() || from.env_id.is_some()) {
        return Err(canned::unsupported_parameter(if ret.is_some() {
            "RET"
        } else {
            "ENVID"
        }));
    }
    if let Some(envid) = &from.env_id
        && !is_printable_ascii(envid)
    {
        return Err(canned::bad_arguments("ENVID must be printable US-ASCII"));
    }
    Ok(MailFrom {
        address: from.address.into_owned(),
        size: (from.size > 0).then_some(from.size as u64),
        ret,
        envid: from.env_id.map(Cow::into_owned),
        body,
    })
}

/// Checks RCPT TO parameters and converts them. `dsn` says whether DSN was advertised.
pub(crate) fn rcpt_to_from_proto(
    to: smtp_proto::RcptTo<Cow<'_, str>>,
    dsn: bool,
) -> Result<RcptTo, Reply> {
    // smtp-proto yields an empty address for `<>` and for `<Postmaster>` (which KIM has
    // no use for).
    if to.address.is_empty() {
        return Err(Reply::new(501, (5, 1, 3), "Invalid recipient address"));
    }
    let flags = to.flags;
    if flags & (smtp_proto::RCPT_RRVS_REJECT | smtp_proto::RCPT_RRVS_CONTINUE) != 0 {
        return Err(canned::unsupported_parameter("RRVS"));
    }
    if flags & smtp_proto::RCPT_CONNEG != 0 {
        return Err(canned::unsupported_parameter("CONNEG"));
    }
    let never = flags & smtp_proto::RCPT_NOTIFY_NEVER != 0;
    let success = flags & smtp_proto::RCPT_NOTIFY_SUCCESS != 0;
    let failure = flags & smtp_proto::RCPT_NOTIFY_FAILURE != 0;
    let delay = flags & smtp_proto::RCPT_NOTIFY_DELAY != 0;
    let notify = match (never, success || failure || delay) {
        (true, true) => {
            return Err(canned::bad_arguments(
                "NOTIFY=NEVER cannot be combined with other values",
            ));
        }
        (true, false) => Notify::Never,
        (false, true) => Notify::On {
            success,
            failure,
            delay,
        },
        (false, false) => Notify::Default,
    };
    if !dsn && (notify != Notify::Default || to.orcpt.is_some()) {
        return Err(canned::unsupported_parameter(if to.orcpt.is_some() {
            "ORCPT"
        } else {
            "NOTIFY"
        }));
    }
    Ok(RcptTo {
        address: to.address.into_owned(),
        notify,
        orcpt: to.orcpt.map(Cow::into_owned),
    })
}

fn is_printable_ascii(value: &str) -> bool {
    value.bytes().all(|b| (0x20..0x7f).contains(&b))
}

/// Encodes `value` as xtext (RFC 3461 §4): `+`, `=`, controls, space and non-ASCII bytes
/// become `+XX`.
pub fn xtext_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if (0x21..=0x7e).contains(&byte) && byte != b'+' && byte != b'=' {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("+{byte:02X}"));
        }
    }
    out
}

impl MailFrom {
    /// The MAIL FROM command line (with CRLF). DSN parameters only if `dsn`, `BODY` only
    /// if `eight_bit`, `SIZE` only if `size` (what the server advertised).
    pub fn to_command(&self, dsn: bool, eight_bit: bool, size: bool) -> String {
        let mut line = format!("MAIL FROM:<{}>", self.address);
        if size && let Some(value) = self.size {
            line.push_str(&format!(" SIZE={value}"));
        }
        if eight_bit && let Some(body) = self.body {
            line.push_str(match body {
                Body::SevenBit => " BODY=7BIT",
                Body::EightBitMime => " BODY=8BITMIME",
            });
        }
        if dsn {
            match self.ret {
                Some(Ret::Full) => line.push_str(" RET=FULL"),
                Some(Ret::Hdrs) => line.push_str(" RET=HDRS"),
                None => {}
            }
            if let Some(envid) = &self.envid {
                line.push_str(&format!(" ENVID={}", xtext_encode(envid)));
            }
        }
        line.push_str("\r\n");
        line
    }
}

impl RcptTo {
    /// The RCPT TO command line (with CRLF); DSN parameters only if `dsn`.
    pub fn to_command(&self, dsn: bool) -> String {
        let mut line = format!("RCPT TO:<{}>", self.address);
        if dsn {
            match self.notify {
                Notify::Default => {}
                Notify::Never => line.push_str(" NOTIFY=NEVER"),
                Notify::On {
                    success,
                    failure,
                    delay,
                } => {
                    let names: Vec<&str> =
                        [(success, "SUCCESS"), (failure, "FAILURE"), (delay, "DELAY")]
                            .iter()
                            .filter(|(on, _)| *on)
                            .map(|(_, name)| *name)
                            .collect();
                    if !names.is_empty() {
                        line.push_str(&format!(" NOTIFY={}", names.join(",")));
                    }
                }
            }
            if let Some(orcpt) = &self.orcpt {
                line.push_str(&format!(" ORCPT=rfc822;{}", xtext_encode(orcpt)));
            }
        }
        line.push_str("\r\n");
        line
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn parse(line: &str) -> smtp_proto::Request<Cow<'_, str>> {
        match smtp_proto::Request::parse(&mut line.as_bytes().iter()) {
            Ok(request) => request,
            Err(e) => panic!("{line}: {e}"),
        }
    }

    fn mail(line: &str, dsn: bool) -> Result<MailFrom, Reply> {
        match parse(line) {
            smtp_proto::Request::Mail { from } => mail_from_from_proto(from, dsn),
            other => panic!("not MAIL: {other:?}"),
        }
    }

    fn rcpt(line: &str, dsn: bool) -> Result<RcptTo, Reply> {
        match parse(line) {
            smtp_proto::Request::Rcpt { to } => rcpt_to_from_proto(to, dsn),
            other => panic!("not RCPT: {other:?}"),
        }
    }

    #[test]
    fn mail_with_all_supported_parameters() {
        let m = mail(
            "MAIL FROM:<a@b.de> SIZE=1000 BODY=8BITMIME RET=HDRS ENVID=QQ+2Bx\r\n",
            true,
        )
        .unwrap();
        assert_eq!(
            m,
            MailFrom {
                address: "a@b.de".into(),
                size: Some(1000),
                ret: Some(Ret::Hdrs),
                envid: Some("QQ+x".into()),
                body: Some(Body::EightBitMime),
            }
        );
    }

    #[test]
    fn auth_parameter_is_accepted_and_ignored() {
        let m = mail("MAIL FROM:<a@b.de> AUTH=<>\r\n", false).unwrap();
        assert_eq!(m.address, "a@b.de");
        let m = mail("MAIL FROM:<a@b.de> AUTH=a+40b.de\r\n", true).unwrap();
        assert_eq!(
            m,
            MailFrom {
                address: "a@b.de".into(),
                ..MailFrom::default()
            }
        );
    }

    #[test]
    fn empty_recipient_is_refused() {
        for line in ["RCPT TO:<>\r\n", "RCPT TO:<Postmaster>\r\n"] {
            let e = rcpt(line, true).unwrap_err();
            assert_eq!((e.code, e.enhanced), (501, Some((5, 1, 3))), "{line}");
        }
    }

    #[test]
    fn null_sender() {
        let m = mail("MAIL FROM:<>\r\n", false).unwrap();
        assert_eq!(m.address, "");
        assert_eq!(m.size, None);
    }

    #[test]
    fn dsn_parameters_refused_when_not_advertised() {
        let e = mail("MAIL FROM:<a@b.de> RET=FULL\r\n", false).unwrap_err();
        assert_eq!((e.code, e.enhanced), (555, Some((5, 5, 4))));
        let e = rcpt("RCPT TO:<c@d.de> NOTIFY=NEVER\r\n", false).unwrap_err();
        assert_eq!(e.code, 555);
        let e = rcpt("RCPT TO:<c@d.de> ORCPT=rfc822;c@d.de\r\n", false).unwrap_err();
        assert!(e.text.contains("ORCPT"));
    }

    #[test]
    fn unadvertised_extensions_refused() {
        for line in [
            "MAIL FROM:<a@b.de> SMTPUTF8\r\n",
            "MAIL FROM:<a@b.de> REQUIRETLS\r\n",
            "MAIL FROM:<a@b.de> BODY=BINARYMIME\r\n",
            "MAIL FROM:<a@b.de> MT-PRIORITY=3\r\n",
        ] {
            assert_eq!(mail(line, true).unwrap_err().code, 555, "{line}");
        }
    }

    #[test]
    fn ret_twice_is_a_syntax_error() {
        let e = mail("MAIL FROM:<a@b.de> RET=FULL RET=HDRS\r\n", true).unwrap_err();
        assert_eq!(e.code, 501);
    }

    #[test]
    fn notify_combinations() {
        let r = rcpt("RCPT TO:<c@d.de> NOTIFY=SUCCESS,DELAY\r\n", true).unwrap();
        assert_eq!(
            r.notify,
            Notify::On {
                success: true,
                failure: false,
                delay: true
            }
        );
        let r = rcpt(
            "RCPT TO:<c@d.de> NOTIFY=NEVER ORCPT=rfc822;x+2By@d.de\r\n",
            true,
        )
        .unwrap();
        assert_eq!(r.notify, Notify::Never);
        assert_eq!(r.orcpt.as_deref(), Some("x+y@d.de"));
        let e = rcpt("RCPT TO:<c@d.de> NOTIFY=NEVER,SUCCESS\r\n", true).unwrap_err();
        assert_eq!(e.code, 501);
    }

    #[test]
    fn xtext_round_trip_through_the_parser() {
        let original = "id+with=odd chars";
        let encoded = xtext_encode(original);
        assert_eq!(encoded, "id+2Bwith+3Dodd+20chars");
        let line = format!("MAIL FROM:<a@b.de> ENVID={encoded}\r\n");
        let m = mail(&line, true).unwrap();
        assert_eq!(m.envid.as_deref(), Some(original));
    }

    #[test]
    fn commands_forward_dsn_only_when_advertised() {
        let m = MailFrom {
            address: "a@b.de".into(),
            size: Some(42),
            ret: Some(Ret::Full),
            envid: Some("e 1".into()),
            body: Some(Body::EightBitMime),
        };
        assert_eq!(
            m.to_command(true, true, true),
            "MAIL FROM:<a@b.de> SIZE=42 BODY=8BITMIME RET=FULL ENVID=e+201\r\n"
        );
        assert_eq!(m.to_command(false, false, false), "MAIL FROM:<a@b.de>\r\n");
        let r = RcptTo {
            address: "c@d.de".into(),
            notify: Notify::On {
                success: true,
                failure: true,
                delay: false,
            },
            orcpt: Some("c@d.de".into()),
        };
        assert_eq!(
            r.to_command(true),
            "RCPT TO:<c@d.de> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;c@d.de\r\n"
        );
        assert_eq!(r.to_command(false), "RCPT TO:<c@d.de>\r\n");
    }
}
