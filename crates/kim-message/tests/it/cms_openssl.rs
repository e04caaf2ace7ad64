//! OpenSSL 3 as an independent CMS peer, with RSA and brainpoolP256r1 identities it made.

use crate::support::{OpensslIdentity, openssl, openssl_identity};
use kim_message::cms::enveloped::{self, Encoding};
use kim_message::cms::signed::{self, SignOptions};
use kim_message::cms::soft::{SoftwareKey, SoftwareSigner};
use kim_message::cms::{AuthEnvelopedData, CertInfo, RecipientEmail, RecipientEmails, SignedData};
use std::path::Path;
use std::process::Output;

const CONTENT: &[u8] = b"Content-Type: message/rfc822\r\n\r\nFrom: a@x.kim.telematik\r\nTo: b@y.kim.telematik\r\nMessage-ID: <1@x>\r\nSubject: Befund\r\n\r\nHallo\r\n";

fn signer(id: &crate::support::OpensslIdentity) -> SoftwareSigner {
    SoftwareSigner::new(
        SoftwareKey::from_pkcs8_der(&id.key_der).unwrap(),
        CertInfo::parse(&id.cert_der).unwrap(),
    )
    .unwrap()
}

fn recipient_emails(certs: &[(&str, &CertInfo)]) -> RecipientEmails {
    RecipientEmails(
        certs
            .iter()
            .map(|(mail, cert)| RecipientEmail {
                email: (*mail).to_string(),
                rid: cert.issuer_serial.clone(),
            })
            .collect(),
    )
}

/// `openssl cms -encrypt -binary CIPHER -recip CERT [OPTIONS] -outform DER` of `CONTENT`.
fn openssl_encrypt(dir: &Path, cipher: &str, recip: &Path, options: &[&str]) -> Vec<u8> {
    std::fs::write(dir.join("msg"), CONTENT).unwrap();
    let mut args = vec![
        "cms",
        "-encrypt",
        "-binary",
        cipher,
        "-recip",
        recip.to_str().unwrap(),
    ];
    args.extend_from_slice(options);
    args.extend_from_slice(&["-outform", "DER", "-in", "msg", "-out", "out.p7m"]);
    openssl(dir, &args, b"", true);
    std::fs::read(dir.join("out.p7m")).unwrap()
}

/// `openssl cms -decrypt` of `cms` with the identity's key.
fn openssl_decrypt(dir: &Path, cms: &[u8], id: &OpensslIdentity, must_succeed: bool) -> Output {
    std::fs::write(dir.join("in.p7m"), cms).unwrap();
    let (cert, key) = (id.cert_pem.to_str().unwrap(), id.key_pem.to_str().unwrap());
    let args = [
        "cms", "-decrypt", "-binary", "-inform", "DER", "-in", "in.p7m", "-recip", cert, "-inkey",
        key,
    ];
    openssl(dir, &args, b"", must_succeed)
}

const OAEP_SHA256: [&str; 6] = [
    "-keyopt",
    "rsa_padding_mode:oaep",
    "-keyopt",
    "rsa_oaep_md:sha256",
    "-keyopt",
    "rsa_mgf1_md:sha256",
];

#[test]
fn our_signed_data_verifies_with_openssl_rsa_pss_and_brainpool_ecdsa() {
    let dir = tempfile::tempdir().unwrap();
    for kind in ["rsa", "bp256"] {
        let id = openssl_identity(dir.path(), &format!("signer-{kind}"), kind);
        let s = signer(&id);
        let cert = CertInfo::parse(&id.cert_der).unwrap();
        let opts = SignOptions {
            signing_time: 1_763_900_000,
            extra_signed_attrs: vec![
                recipient_emails(&[("a@x.kim.telematik", &cert)]).to_attribute(),
            ],
        };
        let der = signed::build(CONTENT, &s, &opts).unwrap();
        std::fs::write(dir.path().join("sig.der"), &der).unwrap();
        let out = openssl(
            dir.path(),
            &[
                "cms",
                "-verify",
                "-inform",
                "DER",
                "-in",
                "sig.der",
                "-CAfile",
                id.cert_pem.to_str().unwrap(),
                "-binary",
                "-purpose",
                "any",
            ],
            b"",
            true,
        );
        assert_eq!(out.stdout, CONTENT, "{kind}");
        // And our own verifier agrees; the profile is met.
        let sd = SignedData::parse(&der).unwrap();
        sd.verify(&[]).unwrap();
        assert_eq!(sd.profile_findings(), Vec::<String>::new(), "{kind}");
    }
}

#[test]
fn openssl_auth_enveloped_data_with_oaep_decrypts_with_our_code() {
    let dir = tempfile::tempdir().unwrap();
    let id = openssl_identity(dir.path(), "rcpt-rsa", "rsa");
    let cms = openssl_encrypt(dir.path(), "-aes-256-gcm", &id.cert_pem, &OAEP_SHA256);
    let env = AuthEnvelopedData::parse(&cms).unwrap();
    let key = SoftwareKey::from_pkcs8_der(&id.key_der).unwrap();
    let plain = key
        .decrypt(&env, &CertInfo::parse(&id.cert_der).unwrap())
        .unwrap();
    assert_eq!(plain, CONTENT);
}

#[test]
fn openssl_brainpool_key_agreement_decrypts_with_our_code() {
    let dir = tempfile::tempdir().unwrap();
    let id = openssl_identity(dir.path(), "rcpt-bp", "bp256");
    let key = SoftwareKey::from_pkcs8_der(&id.key_der).unwrap();
    let cert = CertInfo::parse(&id.cert_der).unwrap();
    let cms = openssl_encrypt(
        dir.path(),
        "-aes-256-gcm",
        &id.cert_pem,
        &["-keyopt", "ecdh_kdf_md:sha256"],
    );
    let env = AuthEnvelopedData::parse(&cms).unwrap();
    assert_eq!(key.decrypt(&env, &cert).unwrap(), CONTENT);

    // OpenSSL's default is the SHA-1 KDF, which the KOM-LE profile does not use: a clear
    // "unsupported" naming the algorithm, not a decryption failure.
    let cms = openssl_encrypt(dir.path(), "-aes-256-gcm", &id.cert_pem, &[]);
    let env = AuthEnvelopedData::parse(&cms).unwrap();
    let err = key.decrypt(&env, &cert).unwrap_err();
    assert!(
        matches!(err, kim_message::cms::CmsError::Unsupported(ref m) if m.contains("1.3.133.16.840.63.0.2")),
        "{err}"
    );
}

fn seal_for(certs: &[CertInfo], unauth: bool, encoding: Encoding) -> Vec<u8> {
    let attrs = if unauth {
        let pairs: Vec<(&str, &CertInfo)> =
            certs.iter().map(|c| ("x@y.kim.telematik", c)).collect();
        vec![recipient_emails(&pairs).to_attribute()]
    } else {
        Vec::new()
    };
    let mut rng = getrandom::SysRng;
    enveloped::build(
        CONTENT, certs, &attrs, &[7u8; 32], &[9u8; 12], &mut rng, encoding,
    )
    .unwrap()
}

#[test]
fn our_auth_enveloped_data_without_unauth_attrs_decrypts_with_openssl() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = openssl_identity(dir.path(), "r-rsa", "rsa");
    let bp = openssl_identity(dir.path(), "r-bp", "bp256");
    let certs = [
        CertInfo::parse(&rsa.cert_der).unwrap(),
        CertInfo::parse(&bp.cert_der).unwrap(),
    ];
    for encoding in [Encoding::Der, Encoding::BerChunked(1000)] {
        let sealed = seal_for(&certs, false, encoding);
        for id in [&rsa, &bp] {
            let out = openssl_decrypt(dir.path(), &sealed, id, true);
            assert_eq!(out.stdout, CONTENT, "{encoding:?}");
        }
    }
}

/// OpenSSL 3.0 tags unauthAttrs `[3]` instead of RFC 5083's `[2]` (openssl#26101), so it
/// rejects the full KIM form, which carries recipient-emails in unauthAttrs. Our reader
/// opens both forms. When this test fails, OpenSSL has been fixed: drop the caveat from
/// docs and tests.
#[test]
fn openssl_rejects_the_full_kim_form_because_of_its_unauth_attrs_tagging() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = openssl_identity(dir.path(), "r-rsa", "rsa");
    let cert = CertInfo::parse(&rsa.cert_der).unwrap();
    let sealed = seal_for(std::slice::from_ref(&cert), true, Encoding::Der);
    let out = openssl_decrypt(dir.path(), &sealed, &rsa, false);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unauthAttrs") || stderr.contains("nested asn1 error"),
        "{stderr}"
    );
    // Our own reader opens it and finds the attribute.
    let env = AuthEnvelopedData::parse(&sealed).unwrap();
    assert_eq!(env.recipient_emails().unwrap().0.len(), 1);
    let key = SoftwareKey::from_pkcs8_der(&rsa.key_der).unwrap();
    assert_eq!(key.decrypt(&env, &cert).unwrap(), CONTENT);
}

#[test]
fn ber_chunked_output_matches_the_konnektor_shape_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let rsa = openssl_identity(dir.path(), "r-rsa", "rsa");
    let cert = CertInfo::parse(&rsa.cert_der).unwrap();
    let sealed = seal_for(std::slice::from_ref(&cert), true, Encoding::BerChunked(16));
    let top = kim_message::cms::ber::parse(&sealed).unwrap();
    assert!(top.indefinite);
    let env = AuthEnvelopedData::parse(&sealed).unwrap();
    let key = SoftwareKey::from_pkcs8_der(&rsa.key_der).unwrap();
    assert_eq!(key.decrypt(&env, &cert).unwrap(), CONTENT);
}

#[test]
fn enveloped_data_instead_of_auth_enveloped_data_is_a_profile_error() {
    let dir = tempfile::tempdir().unwrap();
    let id = openssl_identity(dir.path(), "r", "rsa");
    let cms = openssl_encrypt(dir.path(), "-aes-256-cbc", &id.cert_pem, &[]);
    let err = AuthEnvelopedData::parse(&cms).unwrap_err();
    assert!(
        matches!(err, kim_message::cms::CmsError::Profile(ref m) if m.contains("EnvelopedData")),
        "{err}"
    );
}

#[test]
fn subject_key_identifiers_match_what_openssl_reads() {
    let dir = tempfile::tempdir().unwrap();
    let id = openssl_identity(dir.path(), "ski", "rsa");
    let out = openssl(
        dir.path(),
        &[
            "x509",
            "-noout",
            "-ext",
            "subjectKeyIdentifier",
            "-in",
            id.cert_pem.to_str().unwrap(),
        ],
        b"",
        true,
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let expected = text
        .lines()
        .nth(1)
        .unwrap()
        .trim()
        .replace(':', "")
        .to_lowercase();
    let cert = CertInfo::parse(&id.cert_der).unwrap();
    let ski = cert.subject_key_identifier().unwrap();
    assert_eq!(hex::encode(&ski), expected);
    assert!(kim_message::cms::RecipientId::SubjectKeyIdentifier(ski.clone()).matches(&cert));
    let mut other = ski;
    other[0] ^= 1;
    assert!(!kim_message::cms::RecipientId::SubjectKeyIdentifier(other).matches(&cert));
}
