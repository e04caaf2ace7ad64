//! German literals fixed by gemSpec_CM_KOMLE, reproduced byte-exactly (UTF-8).
//!
//! Placeholders such as `<Email Adresse>` are filled by the functions below; the constants
//! ending in `_PREFIX`/`_SUFFIX` are the fixed text around a placeholder.

/// Separator line written before the Vermerke (sample in api-kim, KOM-LE-A_2179-02).
pub const VERMERK_SEPARATOR: &str = "---------------------------------------------";

/// Vermerk for a successful decryption (KOM-LE-A_2179-02, Tab_Fehlertext_Entschl ID 00).
pub const VERMERK_DECRYPTED: &str = "Die Nachricht wurde entschlüsselt.";

/// Vermerk for a valid signature, integrity IDs 01 and 07 (KOM-LE-A_2050-05).
pub const VERMERK_SIGNATURE_OK: &str = "Die Signatur wurde erfolgreich geprüft.";

/// Tab_Fehlertext_Entschl ID 00 (KOM-LE-A_2047-02).
pub const DECRYPTION_00: &str = "Die KOM-LE-Nachricht wurde erfolgreich entschlüsselt.";

/// Tab_Fehlertext_Entschl ID 02: wrong format (KOM-LE-A_2047-02).
pub const DECRYPTION_02: &str = "Die Nachricht wurde als eine verschlüsselte KIM-Nachricht gekennzeichnet, konnte aber auf Grund des falschen Formats nicht entschlüsselt werden. Die Verschlüsselte Nachricht befindet sich im Anhang. Bitte kontaktieren Sie den Absender der Nachricht.";

const DECRYPTION_01_PREFIX: &str = "Der für die Entschlüsselung der Nachricht benötigte Schlüssel wurde nicht gefunden. Überprüfen Sie ob die entsprechende Karte gesteckt ist und leiten Sie diese Nachricht an Ihre eigene E-Mail-Adresse (";
const DECRYPTION_03_PREFIX: &str = "Die Entschlüsselung konnte nicht erfolgen, weil der Konnektor nicht antwortet. Stellen Sie sicher, dass der Konnektor wieder zur Verfügung steht und leiten Sie diese Nachricht an Ihre eigene E-Mail-Adresse (";
const DECRYPTION_RETRY_SUFFIX: &str =
    ") weiter. Beim nächsten Abholen wird der Entschlüsselungsvorgang wiederholt.";

/// Tab_Fehlertext_Entschl ID 01: key not available; `email` is the receiver address.
pub fn decryption_01(email: &str) -> String {
    format!("{DECRYPTION_01_PREFIX}{email}{DECRYPTION_RETRY_SUFFIX}")
}

/// Tab_Fehlertext_Entschl ID 03: Konnektor not available; `email` is the receiver address.
pub fn decryption_03(email: &str) -> String {
    format!("{DECRYPTION_03_PREFIX}{email}{DECRYPTION_RETRY_SUFFIX}")
}

/// Long Vermerk of integrity ID 02 (Tab_Verm_Sig_Prüf, V1.13).
pub const INTEGRITY_02: &str =
    "Die Prüfung der Signatur hat ergeben, dass die Nachricht manipuliert wurde.";
/// Long Vermerk of integrity ID 03.
pub const INTEGRITY_03: &str =
    "Die Nachricht ist nicht signiert. Die Nachricht ist deshalb eventuell manipuliert worden.";
/// Long Vermerk of integrity ID 04.
pub const INTEGRITY_04: &str = "Die Signatur der Nachricht konnte aufgrund eines falschen Formats nicht geprüft werden. Die Nachricht ist deshalb eventuell manipuliert worden.";
/// Vermerk of integrity ID 05 (certificate path not validatable). The specification text
/// available to us gives no literal for 05; this wording is our own.
pub const INTEGRITY_05: &str = "Das Zertifikat des Signierenden konnte nicht erfolgreich geprüft werden. Die Nachricht ist deshalb eventuell manipuliert worden.";
/// Long Vermerk of integrity ID 06.
pub const INTEGRITY_06: &str =
    "Bei der Prüfung der digitalen Signatur ist ein unerwarteter Fehler aufgetreten.";
/// Long Vermerk of integrity ID 08 (outer/inner header mismatch).
pub const INTEGRITY_08: &str = "Die Signatur der Nachricht wurde geprüft. Die Prüfung hat ergeben, dass die Nachricht nach dem Verschlüsseln manipuliert wurde. Möglicherweise wurde die verschlüsselte Nachricht auch an einen nicht empfangsberechtigten Personenkreis versendet.";
/// Long Vermerk of integrity ID 09 (recipient-emails mismatch).
pub const INTEGRITY_09: &str = "Die Signatur der Nachricht wurde geprüft. Die Prüfung hat ergeben, dass die Nachricht manipuliert wurde, um einem anderen Nutzer das Entschlüsseln der Nachricht mit einem Schlüssel, der nicht in seinem Besitz ist, zu ermöglichen.";

/// The Vermerk text of an integrity check result ID (`01` … `09`); `None` for unknown and
/// vendor-specific IDs.
pub fn integrity_vermerk(id: &str) -> Option<&'static str> {
    Some(match id {
        "01" | "07" => VERMERK_SIGNATURE_OK,
        "02" => INTEGRITY_02,
        "03" => INTEGRITY_03,
        "04" => INTEGRITY_04,
        "05" => INTEGRITY_05,
        "06" => INTEGRITY_06,
        "08" => INTEGRITY_08,
        "09" => INTEGRITY_09,
        _ => return None,
    })
}

/// True for integrity IDs that allow delivering the message as is (01, 07 per V1.16).
pub fn integrity_is_positive(id: &str) -> bool {
    matches!(id, "01" | "07")
}

const L1_PREFIX: &str = "Das verwendete Clientmodul unterstützt die in der empfangenen Nachricht angegebene KIM-Version ";
const L1_SUFFIX: &str = " nicht.";

/// L1, version error text (A_21391-02).
pub fn version_error(kim_version: &str) -> String {
    format!("{L1_PREFIX}{kim_version}{L1_SUFFIX}")
}

/// First three sentences shared by L2 and L3.
const SECURITY_VIOLATION: &str = "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt. Dies kann eine technisches Ursache haben oder auf eine missbräuchliche Nutzung des KIM-Dienstes hinweisen. Zu Ihrem Schutz wurde der Inhalt dieser Nachricht durch diesen Text ausgetauscht.";

/// L2, integrity failure text (A_23165).
pub const INTEGRITY_FAILURE: &str = "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt. Dies kann eine technisches Ursache haben oder auf eine missbräuchliche Nutzung des KIM-Dienstes hinweisen. Zu Ihrem Schutz wurde der Inhalt dieser Nachricht durch diesen Text ausgetauscht. Bitte kontaktieren Sie den Absender und/oder Ihren Administrator.";

/// Sentence appended to L2 when the decrypted original is embedded (FAQ), including the
/// leading space.
pub const INTEGRITY_FAILURE_EMBEDDED: &str = " Die entschlüsselte Nachricht wurde in diese Fehlernachricht eingebettet und kann, abhängig vom verwendeten E-Mail-Client, in eigener Verantwortung eingesehen bzw. verarbeitet werden.";

/// L3, KAS hash mismatch text (A_19372-03), without the optional provider text.
pub fn kas_hash_mismatch() -> String {
    format!(
        "{SECURITY_VIOLATION} Bitte antworten Sie nicht auf diese Nachricht. Sie können diese Nachricht löschen."
    )
}

/// L4, Tab_Fehlertext_Download: download failed; `email` is the receiver address.
pub fn download_failed(email: &str) -> String {
    format!(
        "Die E-Mail-Daten dieser Nachricht konnten nicht heruntergeladen werden. Bitte leiten Sie diese Nachricht nach einer angemessenen Zeit an Ihre eigene E-Mail-Adresse ({email}) weiter. Beim nächsten Abholen wird der Download wiederholt."
    )
}

/// L4, Tab_Fehlertext_Download: decryption of the downloaded data failed.
pub const DOWNLOAD_DECRYPT_FAILED: &str = "Die E-Mail-Daten dieser Nachricht konnten nicht entschlüsselt werden, bitte kontaktieren Sie den Absender der Nachricht.";

/// L5, text of error mail E3 (A_23512). The specification fixes no literal, only the
/// content; this wording is our own.
pub const LARGE_MESSAGES_DISABLED: &str = "Es wurde eine KIM-Nachricht empfangen, deren Größe die Einstellungen Ihres KIM-Kontos nicht erlauben: Der Empfang großer Nachrichten (KIM-Version 1.5+) ist für Ihre Adresse nicht aktiviert. Sie können den Empfang großer Nachrichten über das Administrationsmodul Ihres KIM-Anbieters (Account Manager) aktivieren. Leiten Sie diese Nachricht anschließend an Ihre eigene E-Mail-Adresse weiter, dann wird der Empfang beim nächsten Abholen wiederholt.";

/// A_19369-02: more than one KIM-Attachment structure.
pub const KAS_AMBIGUOUS: &str =
    "Nachricht konnte aufgrund uneindeutiger Informationen nicht abgerufen werden";

/// A_19371-04: the downloaded E-Mail-Daten could not be decrypted.
pub const KAS_DECRYPT_FAILED: &str = "Abgerufene E-Mail-Daten konnten nicht entschlüsselt werden";

/// Subject of E1 (A_21391-02).
pub const SUBJECT_E1: &str = "Die KIM-Version der empfangenen Nachricht wird nicht unterstützt";
/// Subject of E2 (A_2046).
pub const SUBJECT_E2: &str = "Die Nachricht konnte nicht entschlüsselt werden";
/// Subject of E3 (A_23512, V1.16 wording).
pub const SUBJECT_E3: &str = "Die KIM-Nachricht kann nicht empfangen werden, weil der Empfang großer Nachrichten nicht aktiviert wurde";
/// Subject of E4 (A_19370-04, A_22412-01).
pub const SUBJECT_E4: &str = "Die E-Mail-Daten konnten nicht abgerufen werden";

/// Subject of the outer KOM-LE message (KOM-LE-A_2102).
pub const SUBJECT_OUTER: &str = "KOM-LE-Nachricht";

/// Heading of the additional information in an E6 mail (FAQ).
pub const ADDITIONAL_INFORMATION: &str = "Ergänzende Informationen:";
/// Tag of the decryption line in an E6 mail (FAQ).
pub const TAG_DECRYPTION: &str = "[Entschlüsselung]";
/// Tag of the integrity lines in an E6 mail (FAQ).
pub const TAG_INTEGRITY: &str = "[Integritätsprüfung]";

/// Additional E1 sentence naming the supported versions (our wording; the specification's
/// example adds the own version and advice).
pub fn version_error_advice(supported: &str, email: &str) -> String {
    format!(
        "Dieses Clientmodul unterstützt die KIM-Versionen {supported}. Bitte aktualisieren Sie das Clientmodul und leiten Sie diese Nachricht anschließend an Ihre eigene E-Mail-Adresse ({email}) weiter. Beim nächsten Abholen wird die Verarbeitung wiederholt."
    )
}
