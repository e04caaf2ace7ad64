#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use super::*;
use proptest::prelude::*;

const SPEC_SMTP: &str =
    "erik.mustermann@hrst_domain.kim.telematik#hrst_domain.kim.telematik:465#1#KOM_LE#7#Konn_1";
const POP3_BASE: &str =
    "erik.mustermann@hrst_domain.kim.telematik#hrst_domain.kim.telematik:995#1#KOM_LE#7";

fn ids(user: &UserName<impl Layout>) -> (Option<&str>, Option<&str>) {
    (
        user.konnektor_id().map(KonnektorId::as_str),
        user.context().user_id.as_ref().map(UserId::as_str),
    )
}

#[test]
fn spec_smtp_example() {
    let u = SmtpUserName::parse(SPEC_SMTP).unwrap();
    assert_eq!(
        u.address().as_str(),
        "erik.mustermann@hrst_domain.kim.telematik"
    );
    let server = u.server().unwrap();
    assert_eq!(
        (server.host(), server.port()),
        ("hrst_domain.kim.telematik", Some(465))
    );
    assert_eq!(u.context().mandant_id.as_str(), "1");
    assert_eq!(u.context().client_system_id.as_str(), "KOM_LE");
    assert_eq!(u.context().workplace_id.as_str(), "7");
    assert_eq!(ids(&u), (Some("Konn_1"), None));
    assert!(u.extra().is_empty());
    assert_eq!(u.to_string(), SPEC_SMTP);
    assert_eq!(u.protocol(), "SMTP");
}

#[test]
fn spec_pop3_examples() {
    let cases = [
        ("", (None, None)),
        ("#13", (None, Some("13"))),
        ("#*#Konn_1", (Some("Konn_1"), None)),
        ("#13#Konn_1", (Some("Konn_1"), Some("13"))),
    ];
    for (suffix, expected) in cases {
        let input = format!("{POP3_BASE}{suffix}");
        let u = Pop3UserName::parse(&input).unwrap();
        assert_eq!(ids(&u), expected, "{input}");
        assert_eq!(u.server().unwrap().port(), Some(995));
        assert_eq!(u.to_string(), input, "canonical form is the spec form");
    }
}

#[test]
fn smtp_and_pop3_differ_in_the_order_of_fields_5_and_6() {
    let input = format!("{POP3_BASE}#A#B");
    let smtp = SmtpUserName::parse(&input).unwrap();
    let pop3 = Pop3UserName::parse(&input).unwrap();
    assert_eq!(ids(&smtp), (Some("A"), Some("B")));
    assert_eq!(ids(&pop3), (Some("B"), Some("A")));
    let smtp_user_only = SmtpUserName::parse(&format!("{POP3_BASE}#*#13")).unwrap();
    assert_eq!(ids(&smtp_user_only), (None, Some("13")));
}

#[test]
fn manual_examples_with_ip_servers() {
    let u = Pop3UserName::parse(
        "erik.mustermann@mail.kim.telematik#100.102.8.6:995#Mandant1#ClientID1#Workplace1#UserID1",
    )
    .unwrap();
    assert_eq!(u.server().unwrap().host(), "100.102.8.6");
    assert_eq!(ids(&u), (None, Some("UserID1")));
    let u = SmtpUserName::parse(
        "Praxis.Nachname.BSNR@elefant.kim.telematik#100.102.8.6:465#MandantID#ClientssystemID#ArbeitsplatzID",
    )
    .unwrap();
    assert_eq!(u.address().local_part(), "Praxis.Nachname.BSNR");
    assert_eq!(ids(&u), (None, None));
}

#[test]
fn server_is_optional_and_may_be_ipv6() {
    for (server, expected) in [
        ("", None),
        ("*", None),
        ("fd.kim.telematik", Some(("fd.kim.telematik", None))),
        ("[2001:db8::7]:465", Some(("2001:db8::7", Some(465)))),
        ("[::1]", Some(("::1", None))),
    ] {
        let input = format!("a@x.kim.telematik#{server}#1#KOM_LE#7");
        let u = SmtpUserName::parse(&input).unwrap();
        let got = u.server().map(|s| (s.host(), s.port()));
        assert_eq!(got, expected, "{input}");
        assert_eq!(SmtpUserName::parse(&u.to_string()).unwrap(), u);
    }
    let u = SmtpUserName::parse("a@x.kim.telematik##1#KOM_LE#7").unwrap();
    assert_eq!(u.to_string(), "a@x.kim.telematik#*#1#KOM_LE#7");
}

/// (suffix after WorkplaceId, (KonnektorId, UserId), extra fields, canonical suffix)
type ExtraCase<'a> = (
    &'a str,
    (Option<&'a str>, Option<&'a str>),
    &'a [&'a str],
    &'a str,
);

#[test]
fn placeholders_and_extra_fields() {
    let cases: &[ExtraCase<'_>] = &[
        ("#*", (None, None), &[], ""),
        ("#*#*", (None, None), &[], ""),
        ("#", (None, None), &[], ""),
        ("##", (None, None), &[], ""),
        ("#K#*", (Some("K"), None), &[], "#K"),
        ("#*#*#x", (None, None), &["x"], "#*#*#x"),
        (
            "#K#U#x#y=1#",
            (Some("K"), Some("U")),
            &["x", "y=1", ""],
            "#K#U#x#y=1#",
        ),
        ("#K#U#*", (Some("K"), Some("U")), &["*"], "#K#U#*"),
        ("#K#U#ä b", (Some("K"), Some("U")), &["ä b"], "#K#U#ä b"),
    ];
    for &(suffix, expected, extra, canonical) in cases {
        let input = format!("a@x.kim.telematik#fd:465#1#2#3{suffix}");
        let u = SmtpUserName::parse(&input).unwrap();
        assert_eq!(ids(&u), expected, "{input}");
        assert_eq!(u.extra(), extra, "{input}");
        assert_eq!(
            u.to_string(),
            format!("a@x.kim.telematik#fd:465#1#2#3{canonical}")
        );
    }
}

#[test]
fn errors_name_field_position_and_problem() {
    let cases: &[(&str, &str)] = &[
        (
            "",
            "too few fields: found 1, 5 are required (KIM address#server#MandantId#ClientSystemId#WorkplaceId)",
        ),
        (
            "a@x.de#fd#1#2",
            "too few fields: found 4, 5 are required (KIM address#server#MandantId#ClientSystemId#WorkplaceId)",
        ),
        (
            "erik mustermann@x.de#fd#1#2#3",
            "field 0 (KIM address): local part contains ' ' at position 4",
        ),
        ("#fd#1#2#3", "field 0 (KIM address): empty"),
        (
            "a@x.de#fd:0#1#2#3",
            "field 1 (server): port out of range (1-65535)",
        ),
        (
            "a@x.de#fd:465:1#1#2#3",
            "field 1 (server): IPv6 address must be enclosed in '[' and ']'",
        ),
        ("a@x.de#fd##2#3", "field 2 (MandantId): empty"),
        ("a@x.de#fd#1##3", "field 3 (ClientSystemId): empty"),
        ("a@x.de#fd#1#2#", "field 4 (WorkplaceId): empty"),
        (
            "a@x.de#fd#*#2#3",
            "field 2 (MandantId): '*' is reserved as the placeholder for \"not given\"",
        ),
        (
            "a@x.de#fd#1#Kom LE#3",
            "field 3 (ClientSystemId): contains ' ' at position 3",
        ),
        (
            "a@x.de#fd#1#2#Zahnärzte",
            "field 4 (WorkplaceId): contains 'ä' at position 4",
        ),
        (
            "a@x.de#fd#1#2#3#K\u{0}",
            "field 5 (KonnektorId): contains '\\0' at position 1",
        ),
        (
            "a@x.de#fd#1#2#3#*#U U",
            "field 6 (UserId): contains ' ' at position 1",
        ),
    ];
    for (input, message) in cases {
        let e = SmtpUserName::parse(input).unwrap_err();
        assert_eq!(e.to_string(), *message, "{input:?}");
    }
    let long = "w".repeat(65);
    let e = Pop3UserName::parse(&format!("a@x.de#fd#1#2#{long}#{long}")).unwrap_err();
    assert_eq!(
        e,
        UserNameError::Field {
            position: 4,
            name: "WorkplaceId",
            problem: FieldProblem::Id(IdProblem::TooLong { len: 65, max: 64 }),
        }
    );
    let e = Pop3UserName::parse(&format!("a@x.de#fd#1#2#3#{long}")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field 5 (UserId): too long (65 characters, at most 64)"
    );
    // Both optional fields broken: the first one is reported, in either layout.
    let both = "a@x.de#fd#1#2#3#a b#c d";
    let e = SmtpUserName::parse(both).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field 5 (KonnektorId): contains ' ' at position 1"
    );
    let e = Pop3UserName::parse(both).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field 5 (UserId): contains ' ' at position 1"
    );
    let e = Pop3UserName::parse(&format!("a@x.de#fd#1#2#3#*#{long}")).unwrap_err();
    assert_eq!(
        e.to_string(),
        "field 6 (KonnektorId): too long (65 characters, at most 64)"
    );
}

#[test]
fn builder_prints_what_parse_reads() {
    let context = KonnektorContext::new(
        MandantId::parse("1").unwrap(),
        ClientSystemId::parse("KOM_LE").unwrap(),
        WorkplaceId::parse("7").unwrap(),
    );
    let address = KimAddress::parse("erik.mustermann@hrst_domain.kim.telematik").unwrap();
    let server = ServerAddress::parse("hrst_domain.kim.telematik:465").unwrap();
    let konn = KonnektorId::parse("Konn_1").unwrap();
    let smtp = SmtpUserName::new(
        address.clone(),
        Some(server),
        context.clone(),
        Some(konn.clone()),
    );
    assert_eq!(smtp.to_string(), SPEC_SMTP);
    let pop3 = Pop3UserName::new(
        address,
        ServerAddress::new("hrst_domain.kim.telematik", Some(995)).ok(),
        context.with_user_id(UserId::parse("13").unwrap()),
        Some(konn),
    );
    assert_eq!(pop3.to_string(), format!("{POP3_BASE}#13#Konn_1"));
}

fn id() -> impl Strategy<Value = String> {
    "[!-\"$-~]{1,64}".prop_filter("placeholder", |s| s != "*")
}

fn server() -> impl Strategy<Value = Option<ServerAddress>> {
    let host = prop_oneof![
        // A letter up front: digits-and-dots hosts must be IPv4 addresses.
        "[A-Za-z_][A-Za-z0-9_]{0,9}(\\.[A-Za-z0-9_]{1,10}){0,3}",
        any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| ip.to_string()),
    ];
    let port = prop::option::of(1..=u16::MAX);
    prop::option::of((host, port).prop_map(|(h, p)| ServerAddress::new(&h, p).unwrap()))
}

prop_compose! {
    fn parts()(
        address in "[A-Za-z0-9._-]{1,20}@[A-Za-z0-9_]{1,10}\\.kim\\.telematik(-test)?",
        server in server(),
        m in id(), c in id(), w in id(),
        user in prop::option::of(id()),
        konnektor in prop::option::of(id()),
    ) -> (KimAddress, Option<ServerAddress>, KonnektorContext, Option<KonnektorId>) {
        let mut context = KonnektorContext::new(
            MandantId::parse(&m).unwrap(),
            ClientSystemId::parse(&c).unwrap(),
            WorkplaceId::parse(&w).unwrap(),
        );
        context.user_id = user.map(|u| UserId::parse(&u).unwrap());
        let konnektor = konnektor.map(|k| KonnektorId::parse(&k).unwrap());
        (KimAddress::parse(&address).unwrap(), server, context, konnektor)
    }
}

proptest! {
    #[test]
    fn smtp_display_parse_round_trip((a, s, c, k) in parts()) {
        let u = SmtpUserName::new(a, s, c, k);
        let text = u.to_string();
        let back = SmtpUserName::parse(&text).unwrap();
        prop_assert_eq!(back.address().as_str(), u.address().as_str());
        prop_assert_eq!(&back, &u);
    }

    #[test]
    fn pop3_display_parse_round_trip((a, s, c, k) in parts()) {
        let u = Pop3UserName::new(a, s, c, k);
        prop_assert_eq!(Pop3UserName::parse(&u.to_string()).unwrap(), u);
    }

    #[test]
    fn parsed_names_with_extras_round_trip(
        (a, s, c, k) in parts(),
        extra in prop::collection::vec("[^#]{0,8}", 1..4),
    ) {
        let base = Pop3UserName::new(a, s, c, k).to_string();
        // Pad to seven fields so that the extras land after position 6.
        let pad = 7 - base.split('#').count();
        let text = format!("{base}{}#{}", "#*".repeat(pad), extra.join("#"));
        let u = Pop3UserName::parse(&text).unwrap();
        prop_assert_eq!(u.extra(), &extra[..]);
        prop_assert_eq!(Pop3UserName::parse(&u.to_string()).unwrap(), u);
    }

    #[test]
    fn parse_never_panics(fields in prop::collection::vec("[ -~äß\\[\\]:*]{0,12}", 0..10)) {
        let s = fields.join("#");
        let _ = SmtpUserName::parse(&s);
        let _ = Pop3UserName::parse(&s);
    }
}
