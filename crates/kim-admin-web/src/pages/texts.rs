//! German texts of the UI, and where each Account Manager error is shown.

use kim_admin::AdminError;
use kim_konnektor::model::PinStatus;

use crate::html::FormErrors;

/// The registration rules of a KIM address (manual chapter 3).
pub const ADDRESS_RULES: &str = "Vor dem @ 1 bis 59 Zeichen: Buchstaben ohne Umlaute und ß, \
Ziffern sowie Punkt, Unterstrich und Bindestrich (diese nicht am Anfang oder Ende); nach dem @ \
die KIM-Domäne Ihres Anbieters, z. B. praxis.mustermann@anbieter.kim.telematik.";

/// The password rule when the provider's policy cannot be read.
pub const PASSWORD_HINT: &str = "Wählen Sie ein Passwort, das Sie nirgends sonst verwenden.";

/// The risk notice for consenting to large messages (A_23505); `id="hinweis-gross"` is the
/// description of the consent checkbox.
pub const LARGE_MESSAGE_NOTICE: &str = "<div id=\"hinweis-gross\" class=\"warnung\">\n\
<p>Mit KIM 1.5 können Nachrichten bis etwa 700 MiB groß sein. Anhänge über 15 MiB liegen \
verschlüsselt beim Anbieter (KIM-Attachment-Service) und werden beim Abruf automatisch \
nachgeladen. Bitte beachten Sie vor der Einwilligung:</p>\n<ul>\n\
<li>Große Nachrichten belegen viel Speicherplatz im Postfach, im Primärsystem und in \
Datensicherungen; der Abruf kann lange dauern und die Internetverbindung der Praxis stark \
auslasten.</li>\n\
<li>Ihr Primärsystem bzw. E-Mail-Programm muss so große Nachrichten verarbeiten können. Wenn \
es das nicht kann, werden Nachrichten möglicherweise nicht oder nur unvollständig \
angezeigt.</li>\n\
<li>Große Anhänge werden nur begrenzte Zeit beim Anbieter vorgehalten. Rufen Sie Ihr Postfach \
regelmäßig ab, sonst sind sie nicht mehr verfügbar.</li>\n\
<li>Ohne Einwilligung erhalten Absender beim Versand großer Nachrichten an Sie eine \
Fehlermeldung; kleine Nachrichten erreichen Sie weiterhin.</li>\n</ul>\n\
<p>Sie können die Einwilligung jederzeit hier zurücknehmen.</p>\n</div>\n";

/// The server's message, lower case, for telling 401 causes apart.
fn server_message(e: &AdminError) -> String {
    match e {
        AdminError::Http { message, .. } => {
            message.clone().unwrap_or_default().to_ascii_lowercase()
        }
        _ => String::new(),
    }
}

/// Whether a 401 is about the card's token (not a password).
fn token_refused(e: &AdminError) -> bool {
    let m = server_message(e);
    m.contains("jwt") || m.contains("token") || m.contains("card") || m.contains("certificate")
}

const TOKEN_REFUSED: &str = "Der Fachdienst hat die Anmeldung mit der gewählten Karte \
abgelehnt. Bitte prüfen Sie, ob die Karte zu diesem Konto gehört, oder wählen Sie eine andere \
Karte.";

/// The portal's registration link no longer holds the address (96 hours passed, or the
/// reservation was dropped).
pub const LINK_EXPIRED: &str = "Der Registrierungslink ist abgelaufen oder ungültig; die Adresse \
ist nicht mehr für Sie reserviert. Bitte registrieren Sie die Adresse im Portal Ihres \
KIM-Anbieters erneut und verwenden Sie den neuen Link.";

/// Errors of registerAccount by field; `via_link`: the form came from the portal's
/// registration link, whose reservation token replaced the initial password.
pub fn registration_error(e: &AdminError, via_link: bool) -> FormErrors {
    let mut errors = FormErrors::default();
    if via_link && e.status() == Some(401) {
        let m = server_message(e);
        if m.contains("referenceid") && m.contains("registration") {
            errors.set(
                "vertrag",
                "Die Vertragsnummer gehört nicht zu diesem Registrierungslink.",
            );
            return errors;
        }
        if m.contains("registration link") || !token_refused(e) {
            // The token is unknown (the reservation was purged) or expired.
            errors.set("adresse", LINK_EXPIRED);
            return errors;
        }
    }
    match e.status() {
        Some(409) => errors.set(
            "adresse",
            "Diese KIM-Adresse ist bereits vergeben. Bitte wählen Sie eine andere.",
        ),
        Some(420) if server_message(e).contains("username") => errors.set(
            "adresse",
            format!("Der Anbieter lässt diese KIM-Adresse nicht zu. {ADDRESS_RULES}"),
        ),
        Some(420) if server_message(e).contains("accounts") => errors.set(
            "vertrag",
            "Für diesen Vertrag sind keine weiteren KIM-Adressen mehr möglich.",
        ),
        Some(420) => errors.set(
            "passwort",
            "Das Passwort erfüllt die Passwortrichtlinie des Anbieters nicht.",
        ),
        Some(401) if token_refused(e) => errors.set("", TOKEN_REFUSED),
        Some(401) => errors.set(
            "initialpasswort",
            "Vertragsnummer oder Initialpasswort ist falsch. Bitte prüfen Sie die \
             Vertragsunterlagen.",
        ),
        Some(422) => errors.set("", e.german_message()),
        _ => errors.set("", e.german_message()),
    }
    errors
}

/// Errors of getAccount at the login.
pub fn login_error(e: &AdminError) -> FormErrors {
    let mut errors = FormErrors::default();
    match e.status() {
        Some(404) => errors.set("adresse", "Zu dieser KIM-Adresse gibt es kein Konto."),
        Some(400) => errors.set("adresse", "Bitte prüfen Sie die KIM-Adresse."),
        Some(401) if server_message(e).contains("own") => errors.set(
            "",
            "Die gewählte Karte gehört nicht zu diesem KIM-Konto. Bitte melden Sie sich mit der \
             Karte an, für die die Adresse registriert ist.",
        ),
        Some(401) if token_refused(e) => errors.set("", TOKEN_REFUSED),
        Some(401) => errors.set("passwort", "Das Passwort ist falsch."),
        _ => errors.set("", e.german_message()),
    }
    errors
}

/// Errors of setAccount with a new password.
pub fn password_change_error(e: &AdminError) -> FormErrors {
    let mut errors = FormErrors::default();
    match e.status() {
        Some(420) => errors.set(
            "neues_passwort",
            "Das Passwort erfüllt die Passwortrichtlinie des Anbieters nicht.",
        ),
        Some(400) => errors.set("neues_passwort", "Das Passwort ist nicht zulässig."),
        _ => errors.set("", e.german_message()),
    }
    errors
}

/// Errors of updateOutOfOffice.
pub fn ooo_error(e: &AdminError) -> FormErrors {
    let mut errors = FormErrors::default();
    let m = server_message(e);
    match e.status() {
        Some(400) if m.contains("after enddate") => {
            errors.set("ende", "Das Ende liegt vor dem Beginn.");
        }
        Some(400) if m.contains("startdate") => {
            errors.set("beginn", "Bitte prüfen Sie den Beginn.")
        }
        Some(400) if m.contains("enddate") => errors.set("ende", "Bitte prüfen Sie das Ende."),
        Some(400) if m.contains("message") => errors.set("text", "Bitte prüfen Sie den Text."),
        _ => errors.set("", e.german_message()),
    }
    errors
}

/// Errors of setTID.
pub fn tid_error(e: &AdminError) -> FormErrors {
    let mut errors = FormErrors::default();
    match e.status() {
        Some(403) => errors.set(
            "",
            "Das Einmalpasswort wurde nicht angenommen. Bitte beginnen Sie den Umzug erneut.",
        ),
        Some(408) => errors.set(
            "",
            "Das Einmalpasswort ist abgelaufen. Bitte beginnen Sie den Umzug erneut.",
        ),
        Some(401) => errors.set("karte", TOKEN_REFUSED),
        _ => errors.set("karte", e.german_message()),
    }
    errors
}

/// Errors of createCert.
pub fn cert_error(e: &AdminError) -> FormErrors {
    let mut errors = FormErrors::default();
    match e.status() {
        Some(400) if server_message(e).contains("commonname") => errors.set(
            "name",
            "Der Name ist nicht zulässig (höchstens 40 druckbare Zeichen).",
        ),
        Some(400) if server_message(e).contains("certpassword") => {
            errors.set("zert_passwort", "Das Passwort ist nicht zulässig.");
        }
        _ => errors.set("", e.german_message()),
    }
    errors
}

/// Errors of revokeDeregistration.
pub fn revoke_error(e: &AdminError) -> FormErrors {
    match e.status() {
        Some(403) => FormErrors::general("Die KIM-Adresse ist nicht abgemeldet."),
        Some(404) => FormErrors::general(
            "Die 30-tägige Frist ist abgelaufen; die KIM-Adresse kann nicht mehr reaktiviert werden.",
        ),
        _ => FormErrors::general(e.german_message()),
    }
}

/// A PIN status for people.
pub fn pin_status(status: Option<PinStatus>) -> &'static str {
    match status {
        Some(PinStatus::Verified) => "freigeschaltet",
        Some(PinStatus::Verifiable) => "nicht freigeschaltet (wird bei der Anmeldung abgefragt)",
        Some(PinStatus::TransportPin) => "Transport-PIN (noch nicht gesetzt)",
        Some(PinStatus::EmptyPin) => "leer (noch nicht gesetzt)",
        Some(PinStatus::Blocked) => "gesperrt",
        Some(PinStatus::Disabled) => "abgeschaltet",
        None => "unbekannt",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn http(status: u16, message: &str) -> AdminError {
        AdminError::Http {
            status,
            message: Some(message.into()),
            trace_id: None,
        }
    }

    #[test]
    fn registration_errors_go_to_their_fields() {
        let field = |e: &AdminError| {
            let errors = registration_error(e, false);
            ["adresse", "vertrag", "passwort", "initialpasswort", ""]
                .into_iter()
                .find(|f| errors.get(f).is_some())
        };
        assert_eq!(field(&http(409, "taken")), Some("adresse"));
        assert_eq!(field(&http(420, "username: domain x")), Some("adresse"));
        assert_eq!(
            field(&http(420, "the contract allows 3 accounts")),
            Some("vertrag")
        );
        assert_eq!(field(&http(420, "password too short")), Some("passwort"));
        assert_eq!(
            field(&http(401, "unknown referenceID or wrong iniPassword")),
            Some("initialpasswort")
        );
        assert_eq!(field(&http(401, "JWT expired")), Some(""));
        assert_eq!(field(&http(502, "vzd")), Some(""));
    }

    #[test]
    fn registration_link_refusals_name_the_link() {
        // The field that gets the message, and whether it is the expired-link text.
        let field = |e: &AdminError| {
            let errors = registration_error(e, true);
            ["adresse", "vertrag", "initialpasswort", ""]
                .into_iter()
                .find_map(|f| errors.get(f).map(|m| (f, m == LINK_EXPIRED)))
        };
        assert_eq!(
            field(&http(
                401,
                "the registration link has expired; the address is no longer reserved",
            )),
            Some(("adresse", true))
        );
        // A purged reservation: the token is not known at all.
        assert_eq!(
            field(&http(401, "unknown referenceID or wrong iniPassword")),
            Some(("adresse", true))
        );
        assert_eq!(
            field(&http(
                401,
                "the registration token belongs to another referenceID"
            )),
            Some(("vertrag", false))
        );
        // The card is still the card's problem, and other statuses keep their fields.
        assert_eq!(field(&http(401, "JWT expired")), Some(("", false)));
        assert_eq!(field(&http(409, "taken")), Some(("adresse", false)));
    }

    #[test]
    fn login_and_account_errors_go_to_their_fields() {
        assert!(
            login_error(&http(401, "wrong password"))
                .get("passwort")
                .is_some()
        );
        assert!(login_error(&http(404, "x")).get("adresse").is_some());
        assert!(
            login_error(&http(401, "the card of the JWT does not own this account"))
                .get("")
                .is_some()
        );
        assert!(
            password_change_error(&http(420, "policy"))
                .get("neues_passwort")
                .is_some()
        );
        assert!(
            ooo_error(&http(400, "startDate is after endDate"))
                .get("ende")
                .is_some()
        );
        assert!(tid_error(&http(408, "expired")).get("").is_some());
        assert!(
            cert_error(&http(400, "commonName missing"))
                .get("name")
                .is_some()
        );
        assert!(
            revoke_error(&http(403, "not deregistered"))
                .get("")
                .is_some()
        );
    }
}
