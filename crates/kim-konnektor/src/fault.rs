//! The Konnektor error model: `GERROR:Error` (TelematikError.xsd v2.0) and the SOAP 1.1 fault
//! that carries it (konnektor.md §5.2, gemSpec_Kon 3.6.2).
//!
//! Invariant of a well-formed error (A_14159): the **last** trace holds a gematik-specified
//! code; [`TelematikError::code`] returns exactly that code.

use crate::model::{DateTime, wire_enum};

wire_enum! {
    /// `GERROR:Severity`.
    Severity, "Severity" {
        /// Information.
        Info = "Info",
        /// Warning.
        Warning = "Warning",
        /// Error.
        Error = "Error",
        /// Fatal error.
        Fatal = "Fatal",
    }
}

/// `GERROR:ErrorType` (gemSpec_OM Tab_ErrorType; a free string in the XSD, so values outside
/// the table are kept verbatim in [`ErrorType::Vendor`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ErrorType {
    /// `Technical`.
    Technical,
    /// `Security`.
    Security,
    /// `Business`.
    Business,
    /// `Infrastructure`.
    Infrastructure,
    /// `Other`.
    Other,
    /// A value outside gemSpec_OM Tab_ErrorType, as received.
    Vendor(String),
}

impl ErrorType {
    /// The wire string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            Self::Technical => "Technical",
            Self::Security => "Security",
            Self::Business => "Business",
            Self::Infrastructure => "Infrastructure",
            Self::Other => "Other",
            Self::Vendor(s) => s,
        }
    }

    /// Maps the wire string; unknown values become [`ErrorType::Vendor`].
    #[must_use]
    pub fn from_wire(s: &str) -> Self {
        match s {
            "Technical" => Self::Technical,
            "Security" => Self::Security,
            "Business" => Self::Business,
            "Infrastructure" => Self::Infrastructure,
            "Other" => Self::Other,
            other => Self::Vendor(other.to_owned()),
        }
    }
}

/// `GERROR:Trace` (konnektor.md §5.2), fields in schema order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// `GERROR:EventID` (may be empty).
    pub event_id: String,
    /// `GERROR:Instance` (may be empty).
    pub instance: String,
    /// `GERROR:LogReference` (may be empty).
    pub log_reference: String,
    /// `GERROR:CompType`, e.g. `Konnektor`.
    pub comp_type: String,
    /// `GERROR:Code`.
    pub code: u32,
    /// `GERROR:Severity`.
    pub severity: Severity,
    /// `GERROR:ErrorType`.
    pub error_type: ErrorType,
    /// `GERROR:ErrorText` (German in practice).
    pub error_text: String,
    /// `GERROR:Detail` (written with `Encoding="UTF-8"`).
    pub detail: Option<String>,
}

impl Trace {
    /// A Konnektor trace for `code` with its [`standard_text`] (or `Fehler <code>`), empty ids.
    #[must_use]
    pub fn standard(code: u32, severity: Severity, error_type: ErrorType) -> Self {
        Self {
            event_id: String::new(),
            instance: String::new(),
            log_reference: String::new(),
            comp_type: "Konnektor".to_owned(),
            code,
            severity,
            error_type,
            error_text: standard_text(code).map_or_else(|| format!("Fehler {code}"), str::to_owned),
            detail: None,
        }
    }
}

/// `GERROR:Error` (TelematikError.xsd v2.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelematikError {
    /// `GERROR:MessageID` (may be empty).
    pub message_id: String,
    /// `GERROR:Timestamp`.
    pub timestamp: DateTime,
    /// `GERROR:Trace`, 1..n in the schema; the last holds the gematik code.
    pub traces: Vec<Trace>,
}

impl TelematikError {
    /// The gematik code of the last trace (A_14159), `None` when there is no trace.
    #[must_use]
    pub fn code(&self) -> Option<u32> {
        self.traces.last().map(|t| t.code)
    }

    /// Error text of the last trace.
    #[must_use]
    pub fn text(&self) -> Option<&str> {
        self.traces.last().map(|t| t.error_text.as_str())
    }
}

wire_enum! {
    /// SOAP 1.1 `faultcode` local part (written in the SOAP envelope namespace).
    FaultCode, "faultcode" {
        /// The request was wrong (e.g. 4000 syntax errors).
        Client = "Client",
        /// The Konnektor failed or refused.
        Server = "Server",
    }
}

/// A SOAP 1.1 fault whose `detail` carries a `GERROR:Error` (konnektor.md §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapFault {
    /// `faultcode`.
    pub fault_code: FaultCode,
    /// `faultstring`.
    pub fault_string: String,
    /// `detail/GERROR:Error`.
    pub error: Option<TelematikError>,
}

impl SoapFault {
    /// The gematik code of the embedded error (last trace), if any.
    #[must_use]
    pub fn code(&self) -> Option<u32> {
        self.error.as_ref().and_then(TelematikError::code)
    }

    /// A fault for one Konnektor `code` with its standard text as faultstring and ErrorText,
    /// severity `Error`, type `Technical` (4000: faultcode `Client`, else `Server`).
    #[must_use]
    pub fn standard(code: u32, timestamp: DateTime, detail: Option<String>) -> Self {
        let mut trace = Trace::standard(code, Severity::Error, ErrorType::Technical);
        trace.detail = detail;
        let fault_code = if code == 4000 {
            FaultCode::Client
        } else {
            FaultCode::Server
        };
        Self {
            fault_code,
            fault_string: trace.error_text.clone(),
            error: Some(TelematikError {
                message_id: String::new(),
                timestamp,
                traces: vec![trace],
            }),
        }
    }
}

impl std::fmt::Display for SoapFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code() {
            Some(code) => write!(
                f,
                "SOAP fault {}: {} (code {code})",
                self.fault_code, self.fault_string
            ),
            None => write!(f, "SOAP fault {}: {}", self.fault_code, self.fault_string),
        }
    }
}

/// Konnektor codes of konnektor.md §5.3 with the German error text this crate uses.
///
/// 4000 ("Syntaxfehler") and 4004 ("Ungültige Mandanten-ID") are the texts seen from real
/// Konnektors; the others are our own short German wording of the listed meaning, because the
/// gemSpec_Kon tables were not available as text.
pub const STANDARD_CODES: &[(u32, &str)] = &[
    (4000, "Syntaxfehler"),
    (4001, "Interner Fehler"),
    (
        4002,
        "Konnektor befindet sich in einem kritischen Betriebszustand",
    ),
    (4004, "Ungültige Mandanten-ID"),
    (4005, "Ungültige Clientsystem-ID"),
    (4006, "Ungültige Arbeitsplatz-ID"),
    (4010, "Clientsystem ist dem Mandanten nicht zugeordnet"),
    (4011, "Arbeitsplatz ist dem Mandanten nicht zugeordnet"),
    (
        4012,
        "Kartenterminal ist weder lokal noch entfernt vom Arbeitsplatz aus zugreifbar",
    ),
    (4014, "Arbeitsplatz ist dem Clientsystem nicht zugeordnet"),
    (
        4015,
        "Kartenterminal ist dem Arbeitsplatz nicht lokal zugeordnet",
    ),
    (
        4016,
        "Kartenterminal ist dem Arbeitsplatz nicht entfernt zugeordnet",
    ),
    (4018, "Kartensitzung ist bereits in Verwendung"),
    (4020, "Kartenterminal ist dem Mandanten nicht zugeordnet"),
    (
        4021,
        "Nicht alle Pflichtfelder des Aufrufkontexts sind belegt",
    ),
    (4047, "Karte nicht verwendbar oder Kartenhandle ungültig"),
    (4049, "Abbruch durch den Benutzer"),
    (4085, "Zugriffsbedingungen nicht erfüllt"),
    (4092, "Entfernte PIN-Eingabe nicht möglich"),
    (
        4111,
        "Signaturerstellung für dieses Format nicht unterstützt",
    ),
    (4112, "Signaturprüfung für dieses Format nicht unterstützt"),
    (4115, "Integrität der Signatur verletzt"),
    (4204, "Clientsystem konnte nicht authentisiert werden"),
    (
        4206,
        "Zertifikatspfad des Signaturzertifikats nicht prüfbar",
    ),
    (4253, "Keine Signatur vorhanden"),
    (4258, "ECC-Zertifikate auf der Karte nicht vorhanden"),
    (
        4264,
        "Signatur mathematisch korrekt, Zertifikatsstatus nicht prüfbar",
    ),
    (4270, "UserId wurde bereits verwendet"),
    (4272, "UserId zu kurz"),
    (4280, "Dokument überschreitet die unterstützte Größe"),
    (4281, "Dokument enthält unzulässige Inhalte"),
];

/// German error text for a code of konnektor.md §5.3, `None` for codes outside the table.
#[must_use]
pub fn standard_text(code: u32) -> Option<&'static str> {
    STANDARD_CODES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, t)| *t)
}

/// Whether a fault with this code may succeed when the same request is repeated later
/// without any change by the client or the user.
///
/// Transient: 4001 (generic internal/technical error, e.g. an overloaded Konnektor),
/// 4002 (critical operating state, which an administrator or the Konnektor itself clears) and
/// 4018 (card session in use by another call). Not transient: every context/access error
/// (needs configuration), 4085 (needs VerifyPin first, an explicit action), 4049 (user
/// cancelled), validation outcomes and 4000 (the request itself is wrong).
#[must_use]
pub fn is_transient(code: u32) -> bool {
    matches!(code, 4001 | 4002 | 4018)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn trace(code: u32) -> Trace {
        Trace::standard(code, Severity::Error, ErrorType::Technical)
    }

    #[test]
    fn code_is_last_trace() {
        let ts = DateTime::new("2025-01-01T12:00:00Z").unwrap();
        let e = TelematikError {
            message_id: String::new(),
            timestamp: ts,
            traces: vec![trace(9999), trace(4085)],
        };
        assert_eq!(e.code(), Some(4085));
        assert_eq!(e.text(), Some("Zugriffsbedingungen nicht erfüllt"));
    }

    #[test]
    fn table_has_unique_codes() {
        for (i, (c, _)) in STANDARD_CODES.iter().enumerate() {
            assert_eq!(
                STANDARD_CODES.iter().position(|(d, _)| d == c),
                Some(i),
                "duplicate {c}"
            );
        }
        assert_eq!(standard_text(4000), Some("Syntaxfehler"));
        assert_eq!(standard_text(1234), None);
        assert!(is_transient(4002) && !is_transient(4085) && !is_transient(4000));
    }

    #[test]
    fn standard_fault_codes() {
        let ts = DateTime::new("2025-01-01T12:00:00Z").unwrap();
        assert_eq!(
            SoapFault::standard(4000, ts.clone(), None).fault_code,
            FaultCode::Client
        );
        let f = SoapFault::standard(4004, ts, Some("x".into()));
        assert_eq!(f.fault_code, FaultCode::Server);
        assert_eq!(f.code(), Some(4004));
        assert_eq!(f.fault_string, "Ungültige Mandanten-ID");
    }
}
