//! `write_dir`: the documented layout, a complete manifest, a usable CA bundle.

use std::collections::BTreeSet;
use std::path::Path;

use crate::{openssl, out, pki, written};

fn walk(root: &Path, dir: &Path, found: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(root, &path, found);
        } else {
            let relative = path.strip_prefix(root).unwrap().to_str().unwrap();
            found.insert(relative.replace('\\', "/"));
        }
    }
}

#[test]
fn manifest_lists_exactly_the_written_files() {
    let (dir, manifest) = written();
    let mut on_disk = BTreeSet::new();
    walk(dir.path(), dir.path(), &mut on_disk);
    let listed: BTreeSet<String> = manifest.entries.iter().map(|e| e.path.clone()).collect();
    assert_eq!(on_disk, listed);
    let text = std::fs::read_to_string(out("manifest.txt")).unwrap();
    assert_eq!(text, manifest.to_text());
    for path in [
        "ca-bundle.pem",
        "ca/rsa/root.crt.pem",
        "ca/ecc/hba.crt.der",
        "cards/1-2.58.00000040/enc-rsa.crt.pem",
        "cards/1-2.58.00000040/osig-ecc.key.pem",
        "cards/1-1.58.00000050/qes-rsa.crt.der",
        "tls/fachdienst.key.pem",
    ] {
        assert!(manifest.get(path).is_some(), "{path} missing");
    }
    assert!(
        manifest
            .get("cards/1-2.58.00000040/enc-rsa.crt.pem")
            .unwrap()
            .description
            .starts_with("C.HCI.ENC RSA-2048 of 1-2.58.00000040")
    );
}

#[test]
fn written_files_equal_the_in_memory_pki() {
    let card = pki().card("1-1.58.00000050").unwrap();
    let der = std::fs::read(out("cards/1-1.58.00000050/enc-ecc.crt.der")).unwrap();
    assert_eq!(der, card.enc_ecc.certificate_der);
    let key = std::fs::read_to_string(out("tls/konnektor.key.pem")).unwrap();
    let konnektor = pki().tls_entity("konnektor").unwrap();
    assert_eq!(key, *konnektor.issued.private_key_pem().unwrap());
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----\n"));
}

#[test]
fn ca_bundle_holds_every_ca_and_verifies_leaves() {
    let bundle = std::fs::read_to_string(out("ca-bundle.pem")).unwrap();
    assert_eq!(bundle.matches("-----BEGIN CERTIFICATE-----").count(), 8);
    let bundle_path = out("ca-bundle.pem");
    for leaf in [
        "cards/2-2.58.00000041/aut-ecc.crt.pem",
        "cards/1-1.58.00000050/qes-rsa.crt.pem",
        "tls/clientmodul.crt.pem",
    ] {
        let leaf = out(leaf);
        let run = openssl(&[
            "verify",
            "-CAfile",
            bundle_path.to_str().unwrap(),
            leaf.to_str().unwrap(),
        ]);
        assert!(run.ok, "{} {}", run.stdout, run.stderr);
    }
}

#[cfg(unix)]
#[test]
fn private_key_files_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &str| std::fs::metadata(out(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("cards/1-2.58.00000040/enc-rsa.key.pem"), 0o600);
    assert_eq!(mode("ca/rsa/root.key.pem"), 0o600);
    assert_ne!(
        mode("ca/rsa/root.crt.pem") & 0o044,
        0,
        "certificates stay readable"
    );
}
