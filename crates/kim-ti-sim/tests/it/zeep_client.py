"""A foreign SOAP client for the Konnektor simulator: python-zeep loaded with the vendored
gematik WSDLs, service addresses overridden to the simulator, TLS trust from the test PKI.

Usage: zeep_client.py BASE_URL CA_BUNDLE OUT_DIR
Calls GetCards, VerifyPin, ReadCardCertificate, SignDocument, EncryptDocument,
DecryptDocument and ExternalAuthenticate; writes the binary results to OUT_DIR and prints a
JSON summary. The Rust test checks the files with openssl.
"""
import base64
import hashlib
import json
import os
import sys

import requests
from zeep import Client, Settings
from zeep.transports import Transport

CONN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../spec/konnektor/conn/")
CTX = {"MandantId": "Mandant1", "ClientSystemId": "ClientID1", "WorkplaceId": "Workplace1"}
SCHMIDT = "80276883110000100001"
WEBER = "80276883110000100002"


class LocalWsdl(Transport):
    """Loads WSDL/XSD files from disk only; SOAP calls go through the TLS session."""

    def load(self, url):
        if url.startswith("http"):
            raise RuntimeError("network access while loading the WSDL: " + url)
        return super().load(url)


def service(base, session, wsdl, binding, path):
    c = Client(CONN + wsdl, transport=LocalWsdl(session=session), settings=Settings(strict=False, forbid_entities=False, forbid_dtd=False, forbid_external=False))
    return c.create_service(binding, base + path)


def main(base, ca, out):
    session = requests.Session()
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override the trust below
    session.verify = ca
    evt = service(base, session, "EventService.wsdl",
                  "{http://ws.gematik.de/conn/EventService/WSDL/v7.2}EventServiceBinding", "/ws/EventService")
    card = service(base, session, "CardService_v8_1_2.wsdl",
                   "{http://ws.gematik.de/conn/CardService/WSDL/v8.1}CardServiceBinding", "/ws/CardService")
    cert = service(base, session, "CertificateService_v6_0_1.wsdl",
                   "{http://ws.gematik.de/conn/CertificateService/WSDL/v6.0}CertificateServiceBinding",
                   "/ws/CertificateService")
    sig = service(base, session, "SignatureService_V7_5_6.wsdl",
                  "{http://ws.gematik.de/conn/SignatureService/WSDL/v7.5}SignatureServiceBinding",
                  "/ws/SignatureService")
    enc = service(base, session, "EncryptionService_v6_1_1.wsdl",
                  "{http://ws.gematik.de/conn/EncryptionService/WSDL/v6.1}EncryptionServiceBinding",
                  "/ws/EncryptionService")
    auth = service(base, session, "AuthSignatureService_v7_4_1.wsdl",
                   "{http://ws.gematik.de/conn/AuthSignatureService/WSDL/v7.4}AuthSignatureServiceBinding",
                   "/ws/AuthSignatureService")
    summary = {}

    cards = evt.GetCards(Context=CTX, CardType="SMC-B")
    handles = {c.Iccsn: c.CardHandle for c in cards.Cards.Card}
    summary["GetCards"] = sorted(handles)
    for iccsn in (SCHMIDT, WEBER):
        r = card.VerifyPin(Context=CTX, CardHandle=handles[iccsn], PinTyp="PIN.SMC")
        summary.setdefault("VerifyPin", []).append(r.PinResult)

    r = cert.ReadCardCertificate(CardHandle=handles[WEBER], Context=CTX,
                                 CertRefList={"CertRef": ["C.ENC"]}, Crypt="RSA")
    enc_cert = r.X509DataInfoList.X509DataInfo[0].X509Data.X509Certificate
    open(os.path.join(out, "weber-enc-rsa.der"), "wb").write(enc_cert)
    summary["ReadCardCertificate"] = r.X509DataInfoList.X509DataInfo[0].CertRef

    doc = b"Content-Type: message/rfc822\r\n\r\nFrom: a@x\r\nTo: b@y\r\n\r\nHallo aus zeep\r\n"
    open(os.path.join(out, "document.bin"), "wb").write(doc)
    job = sig.GetJobNumber(Context=CTX)
    r = sig.SignDocument(CardHandle=handles[SCHMIDT], Crypt="ECC", Context=CTX, TvMode="NONE", JobNumber=job,
                         SignRequest=[{
                             "RequestID": "zeep-1",
                             "OptionalInputs": {"SignatureType": "urn:ietf:rfc:5652", "IncludeEContent": True},
                             "Document": {"Base64Data": {"_value_1": doc, "MimeType": "text/plain; charset=utf-8"}},
                             "IncludeRevocationInfo": False,
                         }])
    open(os.path.join(out, "signed.der"), "wb").write(r[0].SignatureObject.Base64Signature._value_1)
    summary["SignDocument"] = [r[0].RequestID, r[0].Status.Result]

    r = enc.EncryptDocument(Context=CTX, RecipientKeys={"Certificate": [enc_cert]},
                            Document={"Base64Data": {"_value_1": doc}},
                            OptionalInputs={"EncryptionType": "urn:ietf:rfc:5652"})
    encrypted = r.Document.Base64Data._value_1
    open(os.path.join(out, "encrypted.der"), "wb").write(encrypted)
    summary["EncryptDocument"] = r.Status.Result

    r = enc.DecryptDocument(Context=CTX, PrivateKeyOnCard={"CardHandle": handles[WEBER], "Crypt": "RSA"},
                            Document={"Base64Data": {"_value_1": encrypted}})
    open(os.path.join(out, "decrypted.bin"), "wb").write(r.Document.Base64Data._value_1)
    summary["DecryptDocument"] = r.Status.Result

    digest = hashlib.sha256(b"header.payload").digest()
    open(os.path.join(out, "hash.bin"), "wb").write(digest)
    r = auth.ExternalAuthenticate(CardHandle=handles[SCHMIDT], Context=CTX,
                                  OptionalInputs={"SignatureType": "urn:ietf:rfc:3447"},
                                  BinaryString={"Base64Data": {"_value_1": digest,
                                                               "MimeType": "application/octet-stream"}})
    open(os.path.join(out, "auth.sig"), "wb").write(r.SignatureObject.Base64Signature._value_1)
    summary["ExternalAuthenticate"] = r.SignatureObject.Base64Signature.Type
    print(json.dumps(summary))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3])
