//! Namespace URIs of konnektor.md §1 (prefixes are conventional only).

/// SOAP 1.1 envelope.
pub const SOAP: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// ConnectorCommon v5.0.
pub const CONN: &str = "http://ws.gematik.de/conn/ConnectorCommon/v5.0";
/// ConnectorContext v2.0.
pub const CCTX: &str = "http://ws.gematik.de/conn/ConnectorContext/v2.0";
/// TelematikError v2.0.
pub const GERROR: &str = "http://ws.gematik.de/tel/error/v2.0";
/// EventService v7.2.
pub const EVT: &str = "http://ws.gematik.de/conn/EventService/v7.2";
/// CardService v8.1.
pub const CARD: &str = "http://ws.gematik.de/conn/CardService/v8.1";
/// CardServiceCommon v2.0.
pub const CARDCMN: &str = "http://ws.gematik.de/conn/CardServiceCommon/v2.0";
/// CertificateService v6.0.
pub const CERT: &str = "http://ws.gematik.de/conn/CertificateService/v6.0";
/// CertificateServiceCommon v2.0.
pub const CERTCMN: &str = "http://ws.gematik.de/conn/CertificateServiceCommon/v2.0";
/// SignatureService v7.4.
pub const SIG74: &str = "http://ws.gematik.de/conn/SignatureService/v7.4";
/// SignatureService v7.5.
pub const SIG75: &str = "http://ws.gematik.de/conn/SignatureService/v7.5";
/// EncryptionService v6.1.
pub const CRYPT: &str = "http://ws.gematik.de/conn/EncryptionService/v6.1";
/// OASIS DSS core.
pub const DSS: &str = "urn:oasis:names:tc:dss:1.0:core:schema";
/// OASIS DSS-X verification report (note the trailing `#`).
pub const VR: &str = "urn:oasis:names:tc:dss-x:1.0:profiles:verificationreport:schema#";
/// XML digital signature.
pub const DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// ServiceDirectory v3.1.
pub const SDS: &str = "http://ws.gematik.de/conn/ServiceDirectory/v3.1";
/// ServiceInformation v2.0.
pub const SI: &str = "http://ws.gematik.de/conn/ServiceInformation/v2.0";
/// ProductInformation v1.1.
pub const PI: &str = "http://ws.gematik.de/int/version/ProductInformation/v1.1";
/// XOP (MTOM).
pub const XOP: &str = "http://www.w3.org/2004/08/xop/include";
