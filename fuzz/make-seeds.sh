#!/usr/bin/env bash
# Rebuilds the seed corpora under fuzz/corpus/ from
#   - the gematik TEST-ONLY samples in crates/kim-message/tests/data/gematik/,
#   - hand-made BER edge cases (hex below),
#   - messages built by examples/make_seeds.rs with the TEST-ONLY keys in fuzz/keys/.
# Run from anywhere; needs the openssl CLI and a stable Rust toolchain.
set -euo pipefail
cd "$(dirname "$0")"
G=../crates/kim-message/tests/data/gematik
C=corpus
rm -rf "$C"
mkdir -p "$C"/{ber,signed_data,auth_enveloped,certificate,recipient_emails}

cp "$G/inputEmail.txt.02.signedcms" "$C/signed_data/gematik-02-signed.der"
cp "$G/inputEmail.txt.04.encryptedcms" "$C/auth_enveloped/gematik-04-encrypted-ber.der"
cp "$G/inputEmail.txt.02.signedcms" "$C/ber/gematik-02-signed.der"
cp "$G/inputEmail.txt.04.encryptedcms" "$C/ber/gematik-04-encrypted-ber.der"
for pem in GEM.KOMP-CA24-TEST-ONLY GEM.RCA2-TEST-ONLY hci-enc-2-kim-bsp hci-enc-3-kim-bsp; do
    openssl x509 -in "$G/$pem.pem" -outform DER -out "$C/certificate/gematik-$pem.der"
done

# name hex: hand-made BER edge cases for the ber target.
hand_made() {
    local name=$1 hex=$2
    printf '%s' "$hex" | tr -d ' ' | xxd -r -p > "$C/ber/$name"
}
hand_made indefinite-sequence          "30 80 02 01 05 00 00"
hand_made nested-indefinite            "30 80 30 80 02 01 05 00 00 04 00 00 00"
hand_made chunked-octets-indefinite    "24 80 04 01 61 04 02 62 63 00 00"
hand_made chunked-octets-nested        "24 80 24 80 04 01 61 00 00 04 02 62 63 00 00"
hand_made chunked-octets-definite      "24 0a 04 01 61 24 05 04 03 62 63 64"
hand_made chunked-bit-string           "23 80 03 02 00 ff 03 02 00 aa 00 00"
hand_made chunked-utf8                 "2c 80 0c 02 c3 a4 0c 01 41 00 00"
hand_made context-chunked-octets       "a0 80 24 80 04 01 61 00 00 00 00"
hand_made high-tag-128-primitive       "9f 81 00 03 01 02 03"
hand_made high-tag-1000-constructed    "bf 87 68 80 02 01 00 00 00"
hand_made high-tag-u32-max             "1f 8f ff ff ff 7f 00"
hand_made high-tag-low-number          "3f 10 03 02 01 07"
hand_made non-minimal-length           "04 82 00 03 61 62 63"
hand_made eoc-in-definite-set          "31 02 00 00"
hand_made mixed-classes                "60 80 c1 01 00 a1 80 04 00 00 00 00 00"
hand_made oid-signed-data              "06 09 2a 86 48 86 f7 0d 01 07 02"
hand_made large-integer                "02 09 00 ff ff ff ff ff ff ff ff"
deep=""; for _ in $(seq 40); do deep+="3080"; done; deep+="0500"
for _ in $(seq 40); do deep+="0000"; done
hand_made deep-indefinite-40 "$deep"

cargo run --quiet --example make_seeds -- "$C"
du -sh "$C"; find "$C" -type f | wc -l

# Seeds of the outer_message and open targets: gematik's outer message and KOM-LE messages
# sealed by the kim CLI for the TEST-ONLY brainpool key (receiver fuzz@test.kim.telematik),
# plus variants that take the error paths (unknown version, relabelled content type).
mkdir -p "$C"/{outer_message,open}
cp "$G/inputEmail.txt.05.encryptedwrap" "$C/outer_message/gematik-05-outer.eml"
cp "$G/inputEmail.txt.05.encryptedwrap" "$C/open/gematik-05-outer.eml"
cp "$G/inputEmail.txt" "$C/outer_message/gematik-client-mail.eml"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
openssl pkcs8 -inform DER -nocrypt -in keys/bp256-test-only.key.der -out "$work/key.pem"
openssl x509 -inform DER -in keys/bp256-test-only.crt.der -out "$work/crt.pem"
openssl pkcs12 -export -inkey "$work/key.pem" -in "$work/crt.pem" -passout pass:fuzz -out "$work/signer.p12"
printf 'From: <fuzz@test.kim.telematik>\r\nTo: <fuzz@test.kim.telematik>\r\nSubject: Befund\r\nDate: Mon, 23 Nov 2026 09:00:00 +0100\r\nMessage-ID: <seed-1@fuzz>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n--b--\r\n' > "$work/mail.eml"
(cd .. && cargo run -q -p kim -- message seal --signer "$work/signer.p12" --password fuzz \
    --recipient "fuzz@test.kim.telematik=$work/crt.pem" "$work/mail.eml") > "$work/sealed.eml"
cp "$work/sealed.eml" "$C/open/sealed-bp256.eml"
cp "$work/sealed.eml" "$C/outer_message/sealed-bp256.eml"
sed 's/X-KOM-LE-Version: 1.0/X-KOM-LE-Version: 2.0/' "$work/sealed.eml" > "$C/open/sealed-version-2.0.eml"
sed 's/authenticated-enveloped-data/enveloped-data/' "$work/sealed.eml" > "$C/open/sealed-enveloped-data.eml"
sed 's/^From: <fuzz@/From: <forged@/' "$work/sealed.eml" > "$C/open/sealed-forged-from.eml"
