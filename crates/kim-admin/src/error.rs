//! The one error type of the crate, split by blame, with German texts for people.

use kim_konnektor::client::ClientError;

/// Why an administration step failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    // --- input of the caller ------------------------------------------------------------
    /// The caller's input is unusable (context ids, URL, configuration value).
    #[error("invalid input: {0}")]
    Input(String),
    // --- Konnektor and cards --------------------------------------------------------------
    /// A Konnektor call failed (fault with TelematikError code, transport, TLS).
    #[error("Konnektor {operation}: {source}")]
    Konnektor {
        /// The operation, e.g. `GetCards`.
        operation: &'static str,
        /// What the Konnektor client reported.
        source: ClientError,
    },
    /// No inserted card of the context matches what was asked for.
    #[error("no card found: {0}")]
    NoCard(String),
    /// The card's PIN is not verified and could not be verified.
    #[error("PIN: {0}")]
    Pin(String),
    /// The card answered with unusable data (no AUT certificate, unreadable certificate,
    /// no signature).
    #[error("card: {0}")]
    Card(String),
    // --- Fachdienst -----------------------------------------------------------------------
    /// The Fachdienst answered with an error status and (usually) the yaml's error body.
    #[error("HTTP {status}: {}", message.as_deref().unwrap_or("(no message)"))]
    Http {
        /// HTTP status code (401, 409, 420, …).
        status: u16,
        /// `message` of the error body.
        message: Option<String>,
        /// `traceId` of the error body (to quote to the provider's support).
        trace_id: Option<String>,
    },
    /// The Fachdienst could not be reached or did not answer in time.
    #[error("Fachdienst not reachable: {0}")]
    Transport(String),
    /// The Fachdienst answered success with a body that does not fit the yaml.
    #[error("unexpected answer of the Fachdienst: {0}")]
    Protocol(String),
}

impl AdminError {
    /// The HTTP status of an answer of the Fachdienst, if this error is one.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            AdminError::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The TelematikError code of a Konnektor fault, if this error is one.
    #[must_use]
    pub fn konnektor_code(&self) -> Option<u32> {
        match self {
            AdminError::Konnektor { source, .. } => source.code(),
            _ => None,
        }
    }

    /// A short German explanation for people (web UI, command line).
    #[must_use]
    pub fn german_message(&self) -> String {
        match self {
            AdminError::Input(detail) => format!("Ungültige Eingabe: {detail}"),
            AdminError::Konnektor { operation, source } => match source.code() {
                Some(4101) => "Die Karte ist nicht mehr gesteckt oder ihr Handle ist \
                               ungültig. Bitte Karte prüfen und erneut versuchen."
                    .into(),
                Some(4085) => "Die PIN der Karte ist nicht freigeschaltet.".into(),
                Some(4004 | 4005 | 4006 | 4010 | 4011 | 4021) => format!(
                    "Der Konnektor kennt den Aufrufkontext (Mandant, Clientsystem, \
                     Arbeitsplatz) nicht oder lehnt ihn ab (Fehler {}).",
                    source.code().unwrap_or_default()
                ),
                Some(code) => {
                    format!("Der Konnektor hat {operation} mit Fehler {code} abgelehnt.")
                }
                None => match source {
                    ClientError::Connect { .. } | ClientError::Timeout { .. } => {
                        format!("Der Konnektor ist nicht erreichbar ({operation}).")
                    }
                    ClientError::Tls { .. } => "Die TLS-Verbindung zum Konnektor ist \
                                                gescheitert (Zertifikat prüfen)."
                        .into(),
                    ClientError::Unauthorized { .. } => {
                        "Der Konnektor lehnt die Anmeldung des Clientsystems ab.".into()
                    }
                    _ => format!(
                        "Der Konnektor hat {operation} nicht ausgeführt (Konfiguration oder \
                         Protokollfehler)."
                    ),
                },
            },
            AdminError::NoCard(_) => {
                "Es wurde keine passende Karte (SMC-B oder HBA) im Kartenterminal gefunden.".into()
            }
            AdminError::Pin(detail) => {
                format!("Die PIN der Karte konnte nicht verifiziert werden: {detail}")
            }
            AdminError::Card(_) => {
                "Die Karte liefert kein verwendbares Authentisierungszertifikat.".into()
            }
            AdminError::Http { status, .. } => german_status(*status),
            AdminError::Transport(_) => {
                "Der KIM-Fachdienst ist nicht erreichbar. Bitte Verbindung und Adresse prüfen."
                    .into()
            }
            AdminError::Protocol(_) => {
                "Der KIM-Fachdienst hat eine unerwartete Antwort gesendet.".into()
            }
        }
    }
}

/// German text for an HTTP status of the Account Manager (AccountManager.yaml 2.4.0).
fn german_status(status: u16) -> String {
    match status {
        400 => "Die Anfrage enthält ungültige Angaben.".into(),
        401 => "Anmeldung abgelehnt: Passwort, Initialpasswort bzw. Referenz-ID oder die \
                Karte (Token) wurden nicht akzeptiert."
            .into(),
        403 => "Aktion nicht erlaubt: Das Konto ist nicht abgemeldet oder das \
                Einmalpasswort ist ungültig."
            .into(),
        404 => "Das KIM-Konto existiert nicht.".into(),
        408 => "Das Einmalpasswort ist abgelaufen. Bitte ein neues anfordern.".into(),
        409 => "Die KIM-Adresse ist bereits vergeben.".into(),
        420 => "Die KIM-Adresse oder das Passwort entspricht nicht den Vorgaben des \
                Anbieters."
            .into(),
        422 => "Die gewählte KIM-Version wird vom Fachdienst nicht unterstützt.".into(),
        423 => "Der Eintrag im Verzeichnisdienst (VZD) ist gesperrt.".into(),
        500 => "Interner Fehler des KIM-Fachdienstes.".into(),
        502 => "Der Verzeichnisdienst (VZD) ist nicht erreichbar oder hat einen Fehler \
                gemeldet."
            .into(),
        other => format!("Der KIM-Fachdienst hat mit dem HTTP-Status {other} geantwortet."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_of_the_yaml_has_its_own_german_text() {
        let texts: Vec<String> = [400, 401, 403, 404, 408, 409, 420, 422, 423, 500, 502]
            .into_iter()
            .map(german_status)
            .collect();
        for (i, a) in texts.iter().enumerate() {
            for b in texts.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
        assert!(german_status(409).contains("bereits vergeben"));
        assert!(german_status(599).contains("599"));
    }
}
