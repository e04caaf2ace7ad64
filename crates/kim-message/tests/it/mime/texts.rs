//! Literal texts typed again from kim-spec.md §4.4, §4.6 and §4.7 and compared with the
//! constants and functions of `kim_message::mime::texts`.

use kim_message::mime::texts;

#[test]
fn vermerke_and_decryption_texts() {
    assert_eq!(
        texts::VERMERK_SEPARATOR,
        "---------------------------------------------"
    );
    assert_eq!(texts::VERMERK_SEPARATOR.len(), 45);
    assert_eq!(
        texts::VERMERK_DECRYPTED,
        "Die Nachricht wurde entschlüsselt."
    );
    assert_eq!(
        texts::VERMERK_SIGNATURE_OK,
        "Die Signatur wurde erfolgreich geprüft."
    );
    assert_eq!(
        texts::DECRYPTION_00,
        "Die KOM-LE-Nachricht wurde erfolgreich entschlüsselt."
    );
    assert_eq!(
        texts::decryption_01("a@b.de"),
        "Der für die Entschlüsselung der Nachricht benötigte Schlüssel wurde nicht gefunden. Überprüfen Sie ob die entsprechende Karte gesteckt ist und leiten Sie diese Nachricht an Ihre eigene E-Mail-Adresse (a@b.de) weiter. Beim nächsten Abholen wird der Entschlüsselungsvorgang wiederholt."
    );
    assert_eq!(
        texts::DECRYPTION_02,
        "Die Nachricht wurde als eine verschlüsselte KIM-Nachricht gekennzeichnet, konnte aber auf Grund des falschen Formats nicht entschlüsselt werden. Die Verschlüsselte Nachricht befindet sich im Anhang. Bitte kontaktieren Sie den Absender der Nachricht."
    );
    assert_eq!(
        texts::decryption_03("a@b.de"),
        "Die Entschlüsselung konnte nicht erfolgen, weil der Konnektor nicht antwortet. Stellen Sie sicher, dass der Konnektor wieder zur Verfügung steht und leiten Sie diese Nachricht an Ihre eigene E-Mail-Adresse (a@b.de) weiter. Beim nächsten Abholen wird der Entschlüsselungsvorgang wiederholt."
    );
}

#[test]
fn integrity_vermerke() {
    let expected = [
        ("01", "Die Signatur wurde erfolgreich geprüft."),
        (
            "02",
            "Die Prüfung der Signatur hat ergeben, dass die Nachricht manipuliert wurde.",
        ),
        (
            "03",
            "Die Nachricht ist nicht signiert. Die Nachricht ist deshalb eventuell manipuliert worden.",
        ),
        (
            "04",
            "Die Signatur der Nachricht konnte aufgrund eines falschen Formats nicht geprüft werden. Die Nachricht ist deshalb eventuell manipuliert worden.",
        ),
        (
            "06",
            "Bei der Prüfung der digitalen Signatur ist ein unerwarteter Fehler aufgetreten.",
        ),
        ("07", "Die Signatur wurde erfolgreich geprüft."),
        (
            "08",
            "Die Signatur der Nachricht wurde geprüft. Die Prüfung hat ergeben, dass die Nachricht nach dem Verschlüsseln manipuliert wurde. Möglicherweise wurde die verschlüsselte Nachricht auch an einen nicht empfangsberechtigten Personenkreis versendet.",
        ),
        (
            "09",
            "Die Signatur der Nachricht wurde geprüft. Die Prüfung hat ergeben, dass die Nachricht manipuliert wurde, um einem anderen Nutzer das Entschlüsseln der Nachricht mit einem Schlüssel, der nicht in seinem Besitz ist, zu ermöglichen.",
        ),
    ];
    for (id, text) in expected {
        assert_eq!(texts::integrity_vermerk(id), Some(text), "ID {id}");
    }
    assert!(texts::integrity_vermerk("05").is_some());
    assert_eq!(texts::integrity_vermerk("X1"), None);
    assert!(texts::integrity_is_positive("01") && texts::integrity_is_positive("07"));
    for id in ["02", "03", "04", "05", "06", "08", "09"] {
        assert!(!texts::integrity_is_positive(id));
    }
}

#[test]
fn l1_to_l4_and_kas_texts() {
    assert_eq!(
        texts::version_error("2.0"),
        "Das verwendete Clientmodul unterstützt die in der empfangenen Nachricht angegebene KIM-Version 2.0 nicht."
    );
    assert_eq!(
        texts::INTEGRITY_FAILURE,
        "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt. Dies kann eine technisches Ursache haben oder auf eine missbräuchliche Nutzung des KIM-Dienstes hinweisen. Zu Ihrem Schutz wurde der Inhalt dieser Nachricht durch diesen Text ausgetauscht. Bitte kontaktieren Sie den Absender und/oder Ihren Administrator."
    );
    assert_eq!(
        texts::INTEGRITY_FAILURE_EMBEDDED,
        " Die entschlüsselte Nachricht wurde in diese Fehlernachricht eingebettet und kann, abhängig vom verwendeten E-Mail-Client, in eigener Verantwortung eingesehen bzw. verarbeitet werden."
    );
    assert_eq!(
        texts::kas_hash_mismatch(),
        "Beim Empfang dieser KIM-Nachricht wurde eine Sicherheitsverletzung erkannt. Dies kann eine technisches Ursache haben oder auf eine missbräuchliche Nutzung des KIM-Dienstes hinweisen. Zu Ihrem Schutz wurde der Inhalt dieser Nachricht durch diesen Text ausgetauscht. Bitte antworten Sie nicht auf diese Nachricht. Sie können diese Nachricht löschen."
    );
    assert_eq!(
        texts::download_failed("a@b.de"),
        "Die E-Mail-Daten dieser Nachricht konnten nicht heruntergeladen werden. Bitte leiten Sie diese Nachricht nach einer angemessenen Zeit an Ihre eigene E-Mail-Adresse (a@b.de) weiter. Beim nächsten Abholen wird der Download wiederholt."
    );
    assert_eq!(
        texts::DOWNLOAD_DECRYPT_FAILED,
        "Die E-Mail-Daten dieser Nachricht konnten nicht entschlüsselt werden, bitte kontaktieren Sie den Absender der Nachricht."
    );
    assert_eq!(
        texts::KAS_AMBIGUOUS,
        "Nachricht konnte aufgrund uneindeutiger Informationen nicht abgerufen werden"
    );
    assert_eq!(
        texts::KAS_DECRYPT_FAILED,
        "Abgerufene E-Mail-Daten konnten nicht entschlüsselt werden"
    );
}

#[test]
fn subjects() {
    assert_eq!(
        texts::SUBJECT_E1,
        "Die KIM-Version der empfangenen Nachricht wird nicht unterstützt"
    );
    assert_eq!(
        texts::SUBJECT_E2,
        "Die Nachricht konnte nicht entschlüsselt werden"
    );
    assert_eq!(
        texts::SUBJECT_E3,
        "Die KIM-Nachricht kann nicht empfangen werden, weil der Empfang großer Nachrichten nicht aktiviert wurde"
    );
    assert_eq!(
        texts::SUBJECT_E4,
        "Die E-Mail-Daten konnten nicht abgerufen werden"
    );
    assert_eq!(texts::SUBJECT_OUTER, "KOM-LE-Nachricht");
    assert_eq!(texts::ADDITIONAL_INFORMATION, "Ergänzende Informationen:");
}
