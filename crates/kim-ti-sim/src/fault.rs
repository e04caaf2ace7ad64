//! Konnektor faults: a gematik error code with text and detail, mapped to a SOAP fault with a
//! `GERROR:Error` exactly once, in the server (konnektor.md §5.2, A_14159: the last trace
//! holds the gematik code).

/// A failed operation as the Konnektor reports it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {text}: {detail}")]
pub struct Fault {
    /// gematik error code (4000…4999).
    pub code: u32,
    /// Error text (German, as Konnektors write it).
    pub text: &'static str,
    /// What exactly was wrong; never key material or document content.
    pub detail: String,
    /// `true` when the caller is to blame (SOAP faultcode `soap:Client`).
    pub client: bool,
}

impl Fault {
    /// A fault with the standard text of `code`.
    pub fn new(code: u32, detail: impl Into<String>) -> Fault {
        Fault {
            code,
            text: text_of(code),
            detail: detail.into(),
            client: matches!(code, 4000 | 4004..=4021 | 4101 | 4112 | 4258 | 4280),
        }
    }

    /// 4000: the request is not schema-valid.
    pub fn syntax(detail: impl Into<String>) -> Fault {
        Fault::new(4000, detail)
    }

    /// 4001: internal error.
    pub fn internal(detail: impl Into<String>) -> Fault {
        Fault::new(4001, detail)
    }
}

/// Error texts of the codes the simulator emits (paraphrased, konnektor.md §5.3).
pub fn text_of(code: u32) -> &'static str {
    match code {
        4000 => "Syntaxfehler",
        4001 => "Interner Fehler",
        4002 => "Konnektor im kritischen Betriebszustand",
        4004 => "Ungültige Mandanten-ID",
        4005 => "Ungültige Clientsystem-ID",
        4006 => "Ungültige Arbeitsplatz-ID",
        4010 => "Clientsystem ist dem Mandanten nicht zugeordnet",
        4011 => "Arbeitsplatz ist dem Mandanten nicht zugeordnet",
        4012 => "Kartenterminal ist dem Arbeitsplatz nicht zugeordnet",
        4014 => "Arbeitsplatz ist dem Clientsystem nicht zugeordnet",
        4021 => "Aufrufkontext unvollständig",
        4085 => "Zugriffsbedingungen nicht erfüllt",
        4101 => "Kartenhandle ungültig",
        4111 => "Signaturformat nicht unterstützt",
        4112 => "Falsches Signaturformat",
        4115 => "Integrität der Signatur verletzt",
        4206 => "Zertifikatspfad nicht validierbar",
        4253 => "Keine Signatur vorhanden",
        4258 => "Kryptographisches Verfahren auf der Karte nicht vorhanden",
        4264 => "Zertifikatsstatus nicht prüfbar",
        4280 => "Dokument zu groß",
        _ => "Fehler",
    }
}
