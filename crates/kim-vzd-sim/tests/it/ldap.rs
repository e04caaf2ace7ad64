//! LDAP listener against `ldapsearch`, `ldapdelete`, `openssl x509` and raw sockets.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::*;

fn url(vzd: &RunningVzd) -> String {
    format!("ldap://{}", vzd.ldap_addr.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn ldapsearch_finds_entry_by_mail_with_rsa_and_ecc_certificates() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let filter = format!("(mail={})", PRAXIS_MAIL.to_uppercase());
    let attrs = [
        "userCertificate;binary",
        "mail",
        "komLeData",
        "kimData",
        "telematikID",
    ];
    let mut args = vec![filter.as_str()];
    args.extend(attrs);
    let (code, out) = ldapsearch(&url(&vzd), &args).await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(entry_count(&out), 1, "{out}");
    assert!(out.contains(&format!("telematikID: {PRAXIS_TID}")), "{out}");
    assert!(
        out.contains(&format!("komLeData: 1.5,{PRAXIS_MAIL}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("kimData: {PRAXIS_MAIL},1.5")),
        "{out}"
    );
    assert!(
        !out.contains("displayName"),
        "unrequested attribute returned: {out}"
    );
    let certs = ldif_values(&out, "userCertificate;binary");
    assert_eq!(certs.len(), 2, "{out}");
    let mut algorithms = Vec::new();
    for (i, der) in certs.iter().enumerate() {
        let path = dir.path().join(format!("cert{i}.der"));
        std::fs::write(&path, der).unwrap();
        let args = [
            "x509", "-inform", "DER", "-noout", "-subject", "-text", "-in",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([path.display().to_string()])
        .collect();
        let o = run("openssl", args, vec![]).await;
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(text.starts_with("subject="), "{text}");
        algorithms.push(text.contains("rsaEncryption"));
    }
    assert_eq!(
        algorithms,
        vec![true, false],
        "one RSA and one ECC certificate"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn substring_and_or_not_presence_filters() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let u = url(&vzd);
    let cases = [
        ("(mail=*schmidt*)", 2),
        ("(&(mail=*schmidt*)(personalEntry=TRUE))", 1),
        (
            "(|(mail=zahnarzt.weber@test.kim.telematik)(telematikID=1-1.58.00000050))",
            2,
        ),
        ("(&(telematikID=*)(!(mail=*schmidt*)))", 1),
        ("(telematikID=*)", 3),
        ("(mail=nobody@test.kim.telematik)", 0),
    ];
    for (filter, expected) in cases {
        let (code, out) = ldapsearch(&u, &["-s", "one", filter, "1.1"]).await;
        assert_eq!(code, 0, "{filter}: {out}");
        assert_eq!(entry_count(&out), expected, "{filter}: {out}");
    }
    // Base scope on the search base finds only the base object itself.
    let (code, out) = ldapsearch(&u, &["-s", "base", "(objectClass=*)", "1.1"]).await;
    assert_eq!((code, entry_count(&out)), (0, 1), "{out}");
    // An unknown base object is noSuchObject (32).
    let args = ["-x", "-H", &u, "-b", "dc=other,dc=vzd", "(mail=*)"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let o = run("ldapsearch", args, vec![]).await;
    assert_eq!(o.status.code(), Some(32));
}

#[tokio::test(flavor = "multi_thread")]
async fn root_dse_names_the_search_base_and_paged_results() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let args = [
        "-x",
        "-LLL",
        "-H",
        &url(&vzd),
        "-b",
        "",
        "-s",
        "base",
        "(objectClass=*)",
        "+",
        "*",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    let o = run("ldapsearch", args, vec![]).await;
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains("namingContexts: dc=data,dc=vzd"), "{out}");
    assert!(
        out.contains("supportedControl: 1.2.840.113556.1.4.319"),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ldaps_without_tls_configuration_does_not_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = VzdSimConfig {
        data_dir: dir.path().to_path_buf(),
        ldaps_listen: Some(([127, 0, 0, 1], 0).into()),
        ..VzdSimConfig::default()
    };
    let err = VzdSim::start(config).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "ldaps_listen needs a TLS server configuration (config key tls)"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn client_and_server_size_limits_give_partial_results() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |c| c.max_size_limit = 2).await;
    let u = url(&vzd);
    let (code, out) = ldapsearch(&u, &["-s", "one", "-z", "1", "(mail=*)", "mail"]).await;
    assert_eq!((code, entry_count(&out)), (4, 1), "{out}");
    let (code, out) = ldapsearch(&u, &["-s", "one", "(mail=*)", "mail"]).await;
    assert_eq!((code, entry_count(&out)), (4, 2), "{out}");
    let (code, out) = ldapsearch(&u, &["-s", "one", "(mail=*schmidt*)", "mail"]).await;
    assert_eq!((code, entry_count(&out)), (0, 2), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn paged_results_return_every_entry_across_pages() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let before = vzd.stats().ldap_searches;
    let (code, out) = ldapsearch(
        &url(&vzd),
        &["-E", "pr=2/noprompt", "-s", "one", "(mail=*)", "mail"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert_eq!(entry_count(&out), 3, "{out}");
    let mails = ldif_values(&out, "mail");
    let mut mails: Vec<String> = mails
        .into_iter()
        .map(|m| String::from_utf8(m).unwrap())
        .collect();
    mails.sort();
    mails.dedup();
    assert_eq!(mails.len(), 3, "no entry twice: {out}");
    assert_eq!(vzd.stats().ldap_searches - before, 2, "two pages of two");
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_ber_closes_only_that_connection() {
    let dir = tempfile::tempdir().unwrap();
    // Incomplete BER (the HTTP line announces 69 bytes) ends with the idle timeout.
    let vzd = start(dir.path(), |c| c.idle_timeout_secs = 1).await;
    let addr = vzd.ldap_addr.unwrap();
    for garbage in [
        &b"\x30\x03\x02\x01\x01"[..],
        b"\x30\x06\x02\x01\x01\x7f\x01\x00",
        b"\x30\x84\xff\xff\xff\xff",
        b"GET / HTTP/1.1\r\n\r\n",
    ] {
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(garbage).await.unwrap();
        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut buf)).await;
        assert!(read.is_ok(), "server kept a garbage connection open");
    }
    let (code, out) = ldapsearch(&url(&vzd), &[&format!("(mail={HBA_MAIL})"), "cn"]).await;
    assert_eq!((code, entry_count(&out)), (0, 1), "still serving: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn writes_are_refused_and_binds_checked() {
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |c| {
        c.bind_dn = Some("cn=reader,dc=data,dc=vzd".into());
        c.bind_password = Some("secret-pw".into());
        c.allow_anonymous = false;
    })
    .await;
    let u = url(&vzd);
    let args: Vec<String> = ["-x", "-H", &u, "uid=x,dc=data,dc=vzd"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    let o = run("ldapdelete", args, vec![]).await;
    assert_eq!(o.status.code(), Some(53), "unwillingToPerform");
    let args: Vec<String> = ["-x", "-H", &u].iter().map(|s| (*s).to_owned()).collect();
    let o = run("ldapwhoami", args, vec![]).await;
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(
        !o.status.success() && err.contains("Protocol error (2)"),
        "{err}"
    );
    let (code, _) = ldapsearch(&u, &["(mail=*)"]).await;
    assert_eq!(code, 50, "anonymous search refused");
    let (code, _) = ldapsearch(
        &u,
        &["-D", "cn=reader,dc=data,dc=vzd", "-w", "wrong", "(mail=*)"],
    )
    .await;
    assert_eq!(code, 49, "invalidCredentials");
    let (code, out) = ldapsearch(
        &u,
        &[
            "-D",
            "CN=Reader, dc=data,dc=vzd",
            "-w",
            "secret-pw",
            "(mail=*)",
            "1.1",
        ],
    )
    .await;
    assert_eq!((code, entry_count(&out)), (0, 3), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn abandon_is_silent_and_write_operations_are_refused_per_request() {
    use futures_util::{SinkExt, StreamExt};
    use ldap3_proto::proto::{
        LdapCompareRequest, LdapDerefAliases, LdapFilter, LdapMsg, LdapOp, LdapResultCode,
        LdapSearchRequest, LdapSearchScope,
    };
    let dir = tempfile::tempdir().unwrap();
    let vzd = start(dir.path(), |_| {}).await;
    let stream = tokio::net::TcpStream::connect(vzd.ldap_addr.unwrap())
        .await
        .unwrap();
    let mut framed = tokio_util::codec::Framed::new(stream, ldap3_proto::LdapCodec::default());
    framed
        .send(LdapMsg::new(1, LdapOp::AbandonRequest(7)))
        .await
        .unwrap();
    let compare = LdapCompareRequest {
        dn: "uid=x,dc=data,dc=vzd".into(),
        atype: "mail".into(),
        val: b"a@b.de".to_vec(),
    };
    framed
        .send(LdapMsg::new(2, LdapOp::CompareRequest(compare)))
        .await
        .unwrap();
    let search = LdapSearchRequest {
        base: kim_vzd_sim::BASE_DN.into(),
        scope: LdapSearchScope::OneLevel,
        aliases: LdapDerefAliases::Never,
        sizelimit: 0,
        timelimit: 0,
        typesonly: false,
        filter: LdapFilter::Equality("mail".into(), HBA_MAIL.into()),
        attrs: vec!["1.1".into()],
    };
    framed
        .send(LdapMsg::new(3, LdapOp::SearchRequest(search)))
        .await
        .unwrap();
    let next = async |f: &mut tokio_util::codec::Framed<_, _>| {
        tokio::time::timeout(Duration::from_secs(5), f.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap()
    };
    let first: LdapMsg = next(&mut framed).await;
    assert_eq!(first.msgid, 2, "no response to abandon");
    assert!(
        matches!(first.op, LdapOp::CompareResult(r) if r.code == LdapResultCode::UnwillingToPerform)
    );
    let entry: LdapMsg = next(&mut framed).await;
    assert!(matches!(entry.op, LdapOp::SearchResultEntry(e) if e.attributes.is_empty()));
    let done: LdapMsg = next(&mut framed).await;
    assert_eq!(done.msgid, 3);
    assert!(matches!(done.op, LdapOp::SearchResultDone(r) if r.code == LdapResultCode::Success));
}
