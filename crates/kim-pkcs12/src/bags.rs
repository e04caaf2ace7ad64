//! SafeContents and SafeBags (RFC 7292 §4.2), and choosing the leaf certificate.

use zeroize::Zeroizing;

use crate::keymatch;
use crate::oid;
use crate::pbe::{self, Password};
use crate::tlv::{Reader, tag};
use crate::{KeyStore, Pkcs12Error};

/// A bag's value with the attributes we use.
#[derive(Debug)]
struct Bag<T> {
    value: T,
    local_key_id: Option<Vec<u8>>,
    friendly_name: Option<String>,
}

/// The keys and certificates found so far, in file order.
#[derive(Debug, Default)]
pub(crate) struct Bags {
    keys: Vec<Bag<Zeroizing<Vec<u8>>>>,
    certificates: Vec<Bag<Vec<u8>>>,
}

/// `SafeContents ::= SEQUENCE OF SafeBag`; appends what it finds to `bags`.
pub(crate) fn read_safe_contents(
    der: &[u8],
    password: &Password<'_>,
    bags: &mut Bags,
) -> Result<(), Pkcs12Error> {
    let mut contents = Reader::new(der).sequence("SafeContents")?;
    read_bags(&mut contents, password, bags)
}

fn read_bags(
    contents: &mut Reader<'_>,
    password: &Password<'_>,
    bags: &mut Bags,
) -> Result<(), Pkcs12Error> {
    while !contents.is_empty() {
        let mut bag = contents.sequence("SafeBag")?;
        let bag_id = bag.oid("SafeBag bagId")?;
        let mut value = bag
            .read(tag::CONTEXT_0, "SafeBag bagValue")?
            .children("SafeBag bagValue")?;
        let (local_key_id, friendly_name) =
            match bag.read_optional(tag::SET, "SafeBag bagAttributes")? {
                Some(set) => read_attributes(&mut set.children("SafeBag bagAttributes")?)?,
                None => (None, None),
            };
        let wrap = |value| Bag {
            value,
            local_key_id: local_key_id.clone(),
            friendly_name: friendly_name.clone(),
        };
        if oid::is(bag_id, &oid::KEY_BAG) {
            let key = value.read_raw("keyBag PrivateKeyInfo")?;
            keymatch::validate_pkcs8(key)?;
            bags.keys.push(wrap(Zeroizing::new(key.to_vec())));
        } else if oid::is(bag_id, &oid::PKCS8_SHROUDED_KEY_BAG) {
            let key = decrypt_shrouded_key(&mut value, password)?;
            bags.keys.push(wrap(key));
        } else if oid::is(bag_id, &oid::CERT_BAG) {
            if let Some(certificate) = read_cert_bag(&mut value)? {
                bags.certificates.push(Bag {
                    value: certificate,
                    local_key_id,
                    friendly_name,
                });
            }
        } else if oid::is(bag_id, &oid::SAFE_CONTENTS_BAG) {
            read_bags(&mut value.sequence("safeContentsBag")?, password, bags)?;
        }
        // crlBag, secretBag and unknown bags are skipped.
    }
    Ok(())
}

/// `EncryptedPrivateKeyInfo` (RFC 5958 §3) → PKCS#8 PrivateKeyInfo DER.
fn decrypt_shrouded_key(
    value: &mut Reader<'_>,
    password: &Password<'_>,
) -> Result<Zeroizing<Vec<u8>>, Pkcs12Error> {
    const WHAT: &str = "pkcs8ShroudedKeyBag";
    let mut encrypted = value.sequence(WHAT)?;
    let mut algorithm = encrypted.sequence("EncryptedPrivateKeyInfo encryptionAlgorithm")?;
    let ciphertext = encrypted.octet_string("EncryptedPrivateKeyInfo encryptedData")?;
    let key = pbe::decrypt(&mut algorithm, &ciphertext, password, WHAT)?;
    // A wrong password can yield valid padding by chance (files without a MAC); the structure
    // check catches that.
    if keymatch::validate_pkcs8(&key).is_err() {
        return Err(Pkcs12Error::DecryptionFailed { what: WHAT });
    }
    Ok(key)
}

/// `CertBag` (RFC 7292 §4.2.3): the certificate DER, or `None` for non-X.509 certificates.
fn read_cert_bag(value: &mut Reader<'_>) -> Result<Option<Vec<u8>>, Pkcs12Error> {
    let mut cert_bag = value.sequence("CertBag")?;
    let cert_id = cert_bag.oid("CertBag certId")?;
    if !oid::is(cert_id, &oid::X509_CERTIFICATE) {
        return Ok(None);
    }
    let certificate = cert_bag
        .read(tag::CONTEXT_0, "CertBag certValue")?
        .children("CertBag certValue")?
        .octet_string("CertBag certValue")?;
    Ok(Some(certificate.into_owned()))
}

/// `SET OF PKCS12Attribute`: the first `localKeyId` and `friendlyName` values.
fn read_attributes(set: &mut Reader<'_>) -> Result<(Option<Vec<u8>>, Option<String>), Pkcs12Error> {
    let mut local_key_id = None;
    let mut friendly_name = None;
    while !set.is_empty() {
        let mut attribute = set.sequence("PKCS12Attribute")?;
        let attr_id = attribute.oid("PKCS12Attribute attrId")?;
        let mut values = attribute
            .read(tag::SET, "PKCS12Attribute attrValues")?
            .children("PKCS12Attribute attrValues")?;
        if values.is_empty() {
            continue;
        }
        if oid::is(attr_id, &oid::LOCAL_KEY_ID) && local_key_id.is_none() {
            local_key_id = Some(values.octet_string("localKeyId")?.into_owned());
        } else if oid::is(attr_id, &oid::FRIENDLY_NAME) && friendly_name.is_none() {
            let bmp = values.read_any("friendlyName")?.octets("friendlyName")?;
            friendly_name = Some(decode_bmp(&bmp));
        }
    }
    Ok((local_key_id, friendly_name))
}

/// BMPString (UTF-16BE) to `String`; invalid units become U+FFFD, a trailing NUL is dropped.
fn decode_bmp(bytes: &[u8]) -> String {
    let units: Vec<u16> = bytes
        .chunks(2)
        .map(|pair| match *pair {
            [hi, lo] => u16::from_be_bytes([hi, lo]),
            _ => 0xfffd,
        })
        .collect();
    let mut text = String::from_utf16_lossy(&units);
    if text.ends_with('\0') {
        text.pop();
    }
    text
}

impl Bags {
    /// Picks the one key and its leaf certificate.
    pub(crate) fn into_key_store(self) -> Result<KeyStore, Pkcs12Error> {
        let mut keys = self.keys;
        let key = match keys.len() {
            0 => return Err(Pkcs12Error::NoPrivateKey),
            1 => keys.remove(0),
            n => return Err(Pkcs12Error::SeveralPrivateKeys(n)),
        };
        let mut certificates = self.certificates;
        if certificates.is_empty() {
            return Err(Pkcs12Error::NoCertificate);
        }
        let by_key_id = key.local_key_id.as_ref().and_then(|id| {
            certificates
                .iter()
                .position(|c| c.local_key_id.as_ref() == Some(id))
        });
        let by_public_key = || {
            certificates
                .iter()
                .position(|c| keymatch::key_matches_certificate(&key.value, &c.value) == Some(true))
        };
        let leaf_index = match by_key_id.or_else(by_public_key) {
            Some(index) => index,
            None if certificates.len() == 1 => 0,
            None => return Err(Pkcs12Error::NoMatchingCertificate(certificates.len())),
        };
        let leaf = certificates.remove(leaf_index);
        Ok(KeyStore {
            private_key: key.value,
            certificate: leaf.value,
            ca_certificates: certificates.into_iter().map(|c| c.value).collect(),
            friendly_name: key.friendly_name.or(leaf.friendly_name),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn bag<T>(value: T, local_key_id: Option<&[u8]>) -> Bag<T> {
        Bag {
            value,
            local_key_id: local_key_id.map(<[u8]>::to_vec),
            friendly_name: None,
        }
    }

    /// Key A, and certificates (B, A) in that order, without or with `localKeyId`s.
    fn sample_bags(ids: [Option<&[u8]>; 3]) -> (Bags, Vec<u8>, Vec<u8>) {
        let key_a = crate::test_data::pem("hci-enc-2-kim-bsp.prv.pem", "PRIVATE KEY");
        let cert_a = crate::test_data::pem("hci-enc-2-kim-bsp.pem", "CERTIFICATE");
        let cert_b = crate::test_data::pem("hci-enc-3-kim-bsp.pem", "CERTIFICATE");
        let bags = Bags {
            keys: vec![bag(Zeroizing::new(key_a), ids[0])],
            certificates: vec![bag(cert_b.clone(), ids[1]), bag(cert_a.clone(), ids[2])],
        };
        (bags, cert_a, cert_b)
    }

    #[test]
    fn leaf_is_chosen_by_public_key_without_local_key_ids() {
        let (bags, cert_a, cert_b) = sample_bags([None, None, None]);
        let store = bags.into_key_store().unwrap();
        assert_eq!(store.certificate, cert_a);
        assert_eq!(store.ca_certificates, vec![cert_b]);
    }

    #[test]
    fn leaf_is_chosen_by_local_key_id_first() {
        // The localKeyId says B, even though the public key says A: the attribute wins.
        let (bags, cert_a, cert_b) = sample_bags([Some(b"id"), Some(b"id"), Some(b"other")]);
        let store = bags.into_key_store().unwrap();
        assert_eq!(store.certificate, cert_b);
        assert_eq!(store.ca_certificates, vec![cert_a]);
    }

    #[test]
    fn several_certificates_none_matching_is_an_error() {
        let (mut bags, _, cert_b) = sample_bags([None, None, None]);
        bags.certificates = vec![bag(cert_b.clone(), None), bag(cert_b, None)];
        assert_eq!(
            bags.into_key_store().unwrap_err(),
            Pkcs12Error::NoMatchingCertificate(2)
        );
    }

    #[test]
    fn key_count_is_checked() {
        let (mut bags, _, _) = sample_bags([None, None, None]);
        bags.keys.push(bag(Zeroizing::new(vec![1]), None));
        assert_eq!(
            bags.into_key_store().unwrap_err(),
            Pkcs12Error::SeveralPrivateKeys(2)
        );
        let (mut bags, _, _) = sample_bags([None, None, None]);
        bags.keys.clear();
        assert_eq!(
            bags.into_key_store().unwrap_err(),
            Pkcs12Error::NoPrivateKey
        );
    }

    #[test]
    fn bmp_decoding() {
        assert_eq!(decode_bmp(&[0, b'a', 0, 0xe4]), "aä");
        assert_eq!(decode_bmp(&[0, b'a', 0, 0]), "a");
        assert_eq!(decode_bmp(&[0, b'a', 0]), "a\u{fffd}");
        assert_eq!(decode_bmp(&[]), "");
    }
}
