#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use super::*;

const MINIMAL: &str = "clientmodul.core.konnektor.uri=https\\://10.0.0.5/connector.sds\n\
clientmodul.core.konnektor.context.mandantId=Mandant1\n\
clientmodul.core.konnektor.context.clientSystemId=ClientID1\n\
clientmodul.core.konnektor.context.workplaceId=Workplace1\n";

fn parse(extra: &str) -> Result<CmConfig, CmConfigError> {
    CmConfig::parse(&format!("{MINIMAL}{extra}"), Path::new("/etc/kim"))
}

#[test]
fn defaults_of_the_manual() {
    let c = parse("").unwrap();
    assert_eq!(c.proxy.smtp_port, 25);
    assert_eq!(c.proxy.pop3_port, 995);
    assert_eq!(c.proxy.smtp_timeout_server, Duration::from_secs(300));
    assert_eq!(c.proxy.tls, ProxyTlsMode::None);
    assert!(c.proxy.smtp_threads >= 2);
    assert_eq!(c.core.connection_timeout, Duration::from_secs(10));
    assert_eq!(c.core.receive_timeout, Duration::from_secs(60));
    assert_eq!(c.core.vzd_url, "ldaps://10.0.0.5:636");
    assert_eq!(c.core.vzd_pool_size, 4);
    assert_eq!(c.core.email_iccsn_ttl, Duration::from_secs(30 * 86400));
    assert!(c.auth_log.log_performance && !c.auth_log.log_operation);
    let k = c.default_konnektor().unwrap();
    assert_eq!(k.tls_auth, TlsAuth::Certificate);
    assert_eq!(k.base_url(), "https://10.0.0.5");
    assert_eq!(k.partner(), "KON");
    assert_eq!(c.stores.key_store, Path::new("/etc/kim/keyStore"));
}

#[test]
fn values_out_of_range_name_key_value_range_and_line() {
    let err = parse("clientmodul.proxy.smtp.port=70000\n").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("line 5"), "{text}");
    assert!(text.contains("clientmodul.proxy.smtp.port"), "{text}");
    assert!(text.contains("70000") && text.contains("1-65535"), "{text}");

    let err = parse("clientmodul.core.konnektor.vzd.poolSize=0\n").unwrap_err();
    assert!(err.to_string().contains("1-20"), "{err}");
    let err = parse("clientmodul.core.log.operation=yes\n").unwrap_err();
    assert!(err.to_string().contains("true, false"), "{err}");
    let err = parse("clientmodul.core.konnektor.tlsAuth=BASIC\n").unwrap_err();
    assert!(
        err.to_string().contains("CERTIFICATE, PASSWORD, NONE"),
        "{err}"
    );
}

#[test]
fn unknown_keys_get_a_hint_and_duplicates_are_refused() {
    let err = parse("clientmodul.proxy.smtp.timeout.sever=5\n").unwrap_err();
    match err {
        CmConfigError::UnknownKey { hint, line, .. } => {
            assert_eq!(
                hint.as_deref(),
                Some("clientmodul.proxy.smtp.timeout.server")
            );
            assert_eq!(line, 5);
        }
        other => panic!("{other}"),
    }
    let err =
        parse("clientmodul.proxy.smtp.port=2525\nclientmodul.proxy.smtp.port=2526\n").unwrap_err();
    assert!(err.to_string().contains("first on line 5"), "{err}");
}

#[test]
fn the_konnektor_uri_and_context_are_required() {
    let err = CmConfig::parse("", Path::new(".")).unwrap_err();
    assert!(
        err.to_string().contains("clientmodul.core.konnektor"),
        "{err}"
    );
    let text = MINIMAL.replace(
        "clientmodul.core.konnektor.uri=https\\://10.0.0.5/connector.sds\n",
        "",
    );
    let err = CmConfig::parse(&text, Path::new(".")).unwrap_err();
    assert!(
        err.to_string()
            .contains("clientmodul.core.konnektor.uri is required"),
        "{err}"
    );
}

#[test]
fn further_konnektors_by_id_and_the_manuals_spelling() {
    let text = MINIMAL.replace("context.workplaceId", "context.workplaceld");
    let c = CmConfig::parse(
        &format!(
            "{text}clientmodul.konnektor.Konn_2.uri=https://10.0.0.6:8443/connector.sds\n\
             clientmodul.konnektor.Konn_2.tlsAuth=PASSWORD\n\
             clientmodul.konnektor.Konn_2.context.mandantId=M2\n\
             clientmodul.konnektor.Konn_2.context.clientSystemId=C2\n\
             clientmodul.konnektor.Konn_2.context.workplaceId=W2\n\
             clientmodul.konnektor.Konn_2.context.userId=U2\n"
        ),
        Path::new("."),
    )
    .unwrap();
    assert_eq!(c.konnektors.len(), 2);
    assert_eq!(c.konnektors[0].context.workplace_id, "Workplace1");
    let k2 = &c.konnektors[1];
    assert_eq!(k2.id.as_deref(), Some("Konn_2"));
    assert_eq!(k2.tls_auth, TlsAuth::Password);
    assert_eq!(k2.partner(), "KON.Konn_2");
    assert_eq!(k2.context.user_id.as_deref(), Some("U2"));
    assert_eq!(k2.host(), "10.0.0.6");

    let err = parse("clientmodul.konnektor.Konn_3.uri=https://h/connector.sds\n").unwrap_err();
    assert!(
        err.to_string()
            .contains("clientmodul.konnektor.Konn_3.context"),
        "{err}"
    );
}

#[test]
fn extension_keys() {
    let c = parse(
        "clientmodul.core.vzd.uri=ldap://127.0.0.1:389\n\
         clientmodul.fachdienst.smtp=fd.example:465\n\
         clientmodul.proxy.bind=0.0.0.0\n\
         clientmodul.proxy.smtp.threads=3\n",
    )
    .unwrap();
    assert_eq!(c.core.vzd_url, "ldap://127.0.0.1:389");
    assert_eq!(c.fachdienst.smtp, Some(("fd.example".into(), 465)));
    assert_eq!(c.proxy.bind.to_string(), "0.0.0.0");
    assert_eq!(c.proxy.smtp_threads, 3);
    let err = parse("clientmodul.fachdienst.smtp=fd.example\n").unwrap_err();
    assert!(err.to_string().contains("host:port"), "{err}");
}

#[test]
fn account_manager_and_renewal_keys() {
    let c = parse("").unwrap();
    assert_eq!(c.fachdienst.account_manager, None);
    assert_eq!(c.fachdienst.renewal_interval, Duration::from_secs(3600));
    assert_eq!(c.fachdienst.renewal_telematik_id, None);
    let c = parse(
        "clientmodul.fachdienst.account_manager=https://fd.example/AccountMgmt/v2.4/\n\
         clientmodul.fachdienst.renewal.interval=60\n\
         clientmodul.fachdienst.renewal.telematikId=1-2.58.00000040\n",
    )
    .unwrap();
    assert_eq!(
        c.fachdienst.account_manager.as_deref(),
        Some("https://fd.example/AccountMgmt/v2.4")
    );
    assert_eq!(c.fachdienst.renewal_interval, Duration::from_secs(60));
    assert_eq!(
        c.fachdienst.renewal_telematik_id.as_deref(),
        Some("1-2.58.00000040")
    );
    let err = parse("clientmodul.fachdienst.account_manager=fd.example\n").unwrap_err();
    assert!(err.to_string().contains("URL"), "{err}");
    let err = parse("clientmodul.fachdienst.renewal.interval=0\n").unwrap_err();
    assert!(err.to_string().contains("1-86400"), "{err}");
}
