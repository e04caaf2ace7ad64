//! User names as the Clientmodul receives them in SMTP AUTH / POP3 USER, and as a setup tool
//! prints them for a practice.

use kim_types::{
    ClientSystemId, KimAddress, KonnektorContext, KonnektorId, MandantId, Pop3UserName,
    ServerAddress, SmtpUserName, UserId, UserNameError, WorkplaceId,
};

#[test]
fn smtp_login_yields_everything_the_send_pipeline_needs() {
    let login =
        "erik.mustermann@hrst_domain.kim.telematik#hrst_domain.kim.telematik:465#1#KOM_LE#7#Konn_1";
    let user = SmtpUserName::parse(login).unwrap();

    // Account at the Fachdienst is the bare address.
    assert_eq!(
        user.address().as_str(),
        "erik.mustermann@hrst_domain.kim.telematik"
    );
    let server = user.server().expect("server given");
    assert_eq!(server.host(), "hrst_domain.kim.telematik");
    assert_eq!(server.port(), Some(465));

    let ctx = user.context();
    assert_eq!(
        (
            ctx.mandant_id.as_str(),
            ctx.client_system_id.as_str(),
            ctx.workplace_id.as_str()
        ),
        ("1", "KOM_LE", "7")
    );
    assert_eq!(ctx.user_id, None);
    assert_eq!(user.konnektor_id().map(KonnektorId::as_str), Some("Konn_1"));
    assert_eq!(ctx.strict_konnektor_charset_violation(), None);
}

#[test]
fn pop3_login_with_hba_user_and_konnektor() {
    let user = Pop3UserName::parse(
        "erik.mustermann@hrst_domain.kim.telematik#hrst_domain.kim.telematik:995#1#KOM_LE#7#13#Konn_1",
    )
    .unwrap();
    assert_eq!(
        user.context().user_id.as_ref().map(UserId::as_str),
        Some("13")
    );
    assert_eq!(user.konnektor_id().map(KonnektorId::as_str), Some("Konn_1"));
}

#[test]
fn login_without_server_since_kim_1_5_4() {
    for login in [
        "a@x.kim.telematik#*#1#KOM_LE#7",
        "a@x.kim.telematik##1#KOM_LE#7",
    ] {
        let user = SmtpUserName::parse(login).unwrap();
        assert!(user.server().is_none(), "{login}");
    }
}

#[test]
fn unknown_trailing_parameters_are_kept_not_rejected() {
    let user =
        Pop3UserName::parse("a@x.kim.telematik#fd:995#1#KOM_LE#7#*#*#future=1#more").unwrap();
    assert_eq!(user.extra(), ["future=1", "more"]);
    assert_eq!(
        user.to_string(),
        "a@x.kim.telematik#fd:995#1#KOM_LE#7#*#*#future=1#more"
    );
}

#[test]
fn broken_logins_are_explained() {
    let cases = [
        (
            "a@x.kim.telematik",
            "too few fields: found 1, 5 are required (KIM address#server#MandantId#ClientSystemId#WorkplaceId)",
        ),
        (
            "a@x.kim.telematik#fd:465#1##7",
            "field 3 (ClientSystemId): empty",
        ),
        (
            "erik mustermann@x.kim.telematik#fd:465#1#KOM_LE#7",
            "field 0 (KIM address): local part contains ' ' at position 4",
        ),
        (
            "a@x.kim.telematik#fd:99999#1#KOM_LE#7",
            "field 1 (server): port out of range (1-65535)",
        ),
    ];
    for (login, message) in cases {
        let err: UserNameError = SmtpUserName::parse(login).unwrap_err();
        assert_eq!(err.to_string(), message);
    }
    assert_eq!(
        Pop3UserName::parse("a@x.kim.telematik#fd").unwrap_err(),
        UserNameError::TooFewFields { found: 2 }
    );
}

#[test]
fn setup_tool_prints_the_names_to_type_in() {
    let address = KimAddress::parse("praxis.mueller@arzt.kim.telematik").unwrap();
    let context = KonnektorContext::new(
        MandantId::parse("Praxis-1").unwrap(),
        ClientSystemId::parse("PVS").unwrap(),
        WorkplaceId::parse("Empfang").unwrap(),
    )
    .with_user_id(UserId::parse("dr-mueller").unwrap());
    let server = ServerAddress::parse("[2001:db8::25]:465").unwrap();

    let smtp = SmtpUserName::new(address.clone(), Some(server), context.clone(), None);
    assert_eq!(
        smtp.to_string(),
        "praxis.mueller@arzt.kim.telematik#[2001:db8::25]:465#Praxis-1#PVS#Empfang#*#dr-mueller"
    );
    let pop3 = Pop3UserName::new(address, None, context, None);
    assert_eq!(
        pop3.to_string(),
        "praxis.mueller@arzt.kim.telematik#*#Praxis-1#PVS#Empfang#dr-mueller"
    );
    assert_eq!(SmtpUserName::parse(&smtp.to_string()).unwrap(), smtp);
    assert_eq!(Pop3UserName::parse(&pop3.to_string()).unwrap(), pop3);
}

#[test]
fn loose_context_ids_pass_but_are_reported_for_strict_konnektors() {
    let user = SmtpUserName::parse("a@x.kim.telematik#fd#Praxis.1#PVS#Platz/2").unwrap();
    assert_eq!(
        user.context()
            .strict_konnektor_charset_violation()
            .as_deref(),
        Some(
            r#"MandantId "Praxis.1" contains '.' at position 6; WorkplaceId "Platz/2" contains '/' at position 5"#
        )
    );
}
