//! The KIM-Attachment JSON structure (`Attachment_schema.json`, gemSpec_CM_KOMLE A_19359-07).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::KasError;
use super::stream::{EncryptSummary, KAS_KEY_LEN};

/// The KIM-Attachment: what replaces the body of a Client-Mail whose encrypted form lives on the
/// KAS (A_19359-07, schema `Attachment_schema.json`).
///
/// - `link`: the `sharedLink` the KAS returned for the upload;
/// - `k`: standard, padded Base64 of the 32-byte AES-256 key;
/// - `hash`: standard, padded Base64 of SHA-256 over the plaintext mail (A_19644);
/// - `size`: plaintext size in bytes (also sent as `X-KIM-KAS-Size`).
///
/// Serialises with the field order `link`, `k`, `hash`, `size`, as in the gematik samples.
/// `Debug` redacts `k`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KimAttachment {
    /// Download URL on the KAS.
    pub link: String,
    /// Base64 of the AES-256 key.
    pub k: String,
    /// Base64 of the SHA-256 of the plaintext mail.
    pub hash: String,
    /// Plaintext size in bytes.
    pub size: u64,
}

impl KimAttachment {
    /// Builds the structure for an upload: `link` from the KAS, the key that was used, and the
    /// summary [`super::encrypt_stream`] returned.
    #[must_use]
    pub fn from_upload(link: String, key: &[u8; KAS_KEY_LEN], summary: &EncryptSummary) -> Self {
        Self {
            link,
            k: STANDARD.encode(key),
            hash: STANDARD.encode(summary.plaintext_sha256),
            size: summary.plaintext_size,
        }
    }

    /// Parses the JSON structure leniently: fields beyond the four of the schema (such as the
    /// `name`/`type` of the KIM 1.5.1 variant) are ignored; the four required fields must be
    /// present with the right JSON type. Surrounding whitespace is accepted.
    ///
    /// # Errors
    /// [`KasError::InvalidJson`] if the input is not a JSON object, [`KasError::MissingField`]
    /// or [`KasError::WrongFieldType`] naming the offending field.
    pub fn parse_json(input: &[u8]) -> Result<Self, KasError> {
        let value: Value =
            serde_json::from_slice(input).map_err(|e| KasError::InvalidJson(e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(KasError::InvalidJson(format!(
                "expected an object, found {}",
                json_type_name(&value)
            )));
        };
        Ok(Self {
            link: string_field(&map, "link")?,
            k: string_field(&map, "k")?,
            hash: string_field(&map, "hash")?,
            size: size_field(&map)?,
        })
    }

    /// The compact JSON form: `{"link":…,"k":…,"hash":…,"size":…}`, no whitespace, no newline.
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        // Serialising four plain fields into a Vec cannot fail; fall back to an empty object
        // rather than panic should serde_json ever report an error.
        serde_json::to_vec(self).unwrap_or_else(|_| b"{}".to_vec())
    }

    /// The AES-256 key decoded from `k`.
    ///
    /// # Errors
    /// [`KasError::InvalidBase64`] or [`KasError::WrongLength`] for field `k`.
    pub fn key(&self) -> Result<[u8; KAS_KEY_LEN], KasError> {
        decode_32(&self.k, "k")
    }

    /// The SHA-256 of the plaintext decoded from `hash`.
    ///
    /// # Errors
    /// [`KasError::InvalidBase64`] or [`KasError::WrongLength`] for field `hash`.
    pub fn sha256(&self) -> Result<[u8; 32], KasError> {
        decode_32(&self.hash, "hash")
    }
}

impl fmt::Debug for KimAttachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KimAttachment")
            .field("link", &self.link)
            .field("k", &"<redacted>")
            .field("hash", &self.hash)
            .field("size", &self.size)
            .finish()
    }
}

fn string_field(map: &Map<String, Value>, field: &'static str) -> Result<String, KasError> {
    match map.get(field) {
        None => Err(KasError::MissingField(field)),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(KasError::WrongFieldType {
            field,
            expected: "a string",
        }),
    }
}

fn size_field(map: &Map<String, Value>) -> Result<u64, KasError> {
    match map.get("size") {
        None => Err(KasError::MissingField("size")),
        Some(Value::Number(n)) => n.as_u64().ok_or(KasError::WrongFieldType {
            field: "size",
            expected: "a non-negative integer",
        }),
        Some(_) => Err(KasError::WrongFieldType {
            field: "size",
            expected: "a non-negative integer",
        }),
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn decode_32(text: &str, field: &'static str) -> Result<[u8; 32], KasError> {
    let bytes = STANDARD.decode(text).map_err(|e| KasError::InvalidBase64 {
        field,
        reason: e.to_string(),
    })?;
    let actual = bytes.len();
    bytes.try_into().map_err(|_| KasError::WrongLength {
        field,
        expected: 32,
        actual,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "test code")]

    use super::*;

    const SAMPLE: &str = r#"{"link":"https://kas.example/attachments/v2.3/attachment/a566f001","k":"AZtUCtV3M5mTC/XzfDDl25mZ4FwoOADyaIi3Fn8wH6w=","hash":"Wc148UGImi84VG3H/fF+3x6ouGMknls6hf2wn0qcqjU=","size":27262976}"#;

    #[test]
    fn round_trips_compactly_in_schema_order() {
        let att = KimAttachment::parse_json(SAMPLE.as_bytes()).unwrap();
        assert_eq!(att.size, 27_262_976);
        assert_eq!(att.to_json(), SAMPLE.as_bytes());
    }

    #[test]
    fn ignores_extra_fields_and_whitespace() {
        let text = r#"
          { "name": "x.pdf", "size": 5, "hash": "h", "type": "application/pdf",
            "k": "kk", "link": "l" }
        "#;
        let att = KimAttachment::parse_json(text.as_bytes()).unwrap();
        assert_eq!(
            (
                att.link.as_str(),
                att.k.as_str(),
                att.hash.as_str(),
                att.size
            ),
            ("l", "kk", "h", 5)
        );
    }

    #[test]
    fn missing_fields_are_named() {
        for field in ["link", "k", "hash", "size"] {
            let mut map: Map<String, Value> = serde_json::from_str(SAMPLE).unwrap();
            map.remove(field);
            let text = serde_json::to_vec(&map).unwrap();
            let err = KimAttachment::parse_json(&text).unwrap_err();
            assert!(
                matches!(err, KasError::MissingField(f) if f == field),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn wrong_types_are_named() {
        let cases = [
            (r#"{"link":1,"k":"","hash":"","size":1}"#, "link"),
            (r#"{"link":"","k":null,"hash":"","size":1}"#, "k"),
            (r#"{"link":"","k":"","hash":[],"size":1}"#, "hash"),
            (r#"{"link":"","k":"","hash":"","size":"1"}"#, "size"),
            (r#"{"link":"","k":"","hash":"","size":-1}"#, "size"),
            (r#"{"link":"","k":"","hash":"","size":1.5}"#, "size"),
        ];
        for (text, field) in cases {
            let err = KimAttachment::parse_json(text.as_bytes()).unwrap_err();
            assert!(
                matches!(err, KasError::WrongFieldType { field: f, .. } if f == field),
                "{text}: {err}"
            );
        }
    }

    #[test]
    fn rejects_non_objects() {
        for text in ["", "[]", "\"x\"", "{", "{\"link\":\"a\"} trailing"] {
            let err = KimAttachment::parse_json(text.as_bytes()).unwrap_err();
            assert!(matches!(err, KasError::InvalidJson(_)), "{text}: {err}");
        }
    }

    #[test]
    fn decodes_key_and_hash() {
        let att = KimAttachment::parse_json(SAMPLE.as_bytes()).unwrap();
        let key = att.key().unwrap();
        assert_eq!(key[0], 0x01);
        assert_eq!(key[31], 0xac);
        assert_eq!(STANDARD.encode(att.sha256().unwrap()), att.hash);
    }

    #[test]
    fn rejects_bad_key_encodings() {
        let mut att = KimAttachment::parse_json(SAMPLE.as_bytes()).unwrap();
        att.k = STANDARD.encode([7u8; 16]);
        assert!(matches!(
            att.key(),
            Err(KasError::WrongLength {
                field: "k",
                expected: 32,
                actual: 16
            })
        ));
        // URL-safe alphabet and missing padding are not standard Base64.
        att.k = "AZtUCtV3M5mTC_XzfDDl25mZ4FwoOADyaIi3Fn8wH6w=".into();
        assert!(matches!(
            att.key(),
            Err(KasError::InvalidBase64 { field: "k", .. })
        ));
        att.k = "AZtUCtV3M5mTC/XzfDDl25mZ4FwoOADyaIi3Fn8wH6w".into();
        assert!(matches!(
            att.key(),
            Err(KasError::InvalidBase64 { field: "k", .. })
        ));
        att.hash = "!!".into();
        assert!(matches!(
            att.sha256(),
            Err(KasError::InvalidBase64 { field: "hash", .. })
        ));
    }

    #[test]
    fn debug_hides_the_key() {
        let att = KimAttachment::parse_json(SAMPLE.as_bytes()).unwrap();
        let shown = format!("{att:?}");
        assert!(!shown.contains(&att.k), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
