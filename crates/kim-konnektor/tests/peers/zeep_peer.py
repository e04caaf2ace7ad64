"""python-zeep as an independent SOAP peer for kim-konnektor tests.

`requests`: builds request envelopes from the vendored gematik WSDLs and prints them as JSON
({operation: xml}). `responses DIR`: lets zeep deserialize the golden response envelopes in DIR
against the WSDLs and prints selected values as JSON. No network access is allowed.
"""
import base64
import json
import os
import sys

from lxml import etree
from zeep import Client, Settings
from zeep.exceptions import Fault
from zeep.transports import Transport

CONN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../spec/konnektor/conn/")


class NoNet(Transport):
    def load(self, url):
        if url.startswith("http"):
            raise RuntimeError("network access attempted: " + url)
        return super().load(url)


SETTINGS = Settings(strict=True, forbid_entities=False, forbid_dtd=False, forbid_external=False)


def client(wsdl):
    return Client(CONN + wsdl, transport=NoNet(), settings=SETTINGS)


CTX = {"MandantId": "Mandant1", "ClientSystemId": "ClientID1", "WorkplaceId": "Workplace1"}
HANDLE = "SMC-B-80276883110000123456"
DER = lambda tag: bytes([0x30, 0x06, 0x02, 0x01, tag, 0x04, 0x01, 0xFF])


def cms_property(c):
    el = etree.Element("CMSAttribute")
    el.text = base64.b64encode(DER(0xA1)).decode()
    value_type = c.get_type("{urn:oasis:names:tc:dss:1.0:core:schema}AnyType")
    return {"Identifier": "RecipientEmailsAttribute", "Value": value_type(_value_1=[el])}


def show(msg):
    return etree.tostring(msg, xml_declaration=True, encoding="UTF-8").decode()


def requests():
    out = {}
    ev = client("EventService.wsdl")
    out["GetCards"] = show(ev.create_message(ev.service, "GetCards", Context=CTX, CardType="SMC-B"))
    card = client("CardService_v8_1_2.wsdl")
    out["GetPinStatus"] = show(card.create_message(card.service, "GetPinStatus", Context=CTX, CardHandle=HANDLE, PinTyp="PIN.SMC"))
    cert = client("CertificateService_v6_0_1.wsdl")
    out["ReadCardCertificate"] = show(cert.create_message(
        cert.service, "ReadCardCertificate", CardHandle=HANDLE, Context=CTX,
        CertRefList={"CertRef": ["C.ENC", "C.AUT"]}, Crypt="ECC"))
    sig = client("SignatureService_V7_5_6.wsdl")
    out["GetJobNumber"] = show(sig.create_message(sig.service, "GetJobNumber", Context=CTX))
    doc = b"Content-Type: message/rfc822\r\n\r\nFrom: a@x\r\n\r\nHallo\r\n"
    out["SignDocument"] = show(sig.create_message(
        sig.service, "SignDocument", CardHandle=HANDLE, Crypt="ECC", Context=CTX, TvMode="NONE", JobNumber="ABC-475",
        SignRequest=[{
            "RequestID": "KimSignRequest",
            "OptionalInputs": {
                "SignatureType": "urn:ietf:rfc:5652",
                "Properties": {"SignedProperties": {"Property": [cms_property(sig)]}},
                "IncludeEContent": True,
            },
            "Document": {"Base64Data": {"_value_1": doc, "MimeType": "text/plain; charset=utf-8"}},
            "IncludeRevocationInfo": False,
        }]))
    out["VerifyDocument"] = show(sig.create_message(
        sig.service, "VerifyDocument", Context=CTX,
        SignatureObject={"Base64Signature": {"_value_1": DER(4), "Type": "urn:ietf:rfc:5652"}},
        IncludeRevocationInfo=False))
    enc = client("EncryptionService_v6_1_1.wsdl")
    out["EncryptDocument"] = show(enc.create_message(
        enc.service, "EncryptDocument", Context=CTX,
        RecipientKeys={"Certificate": [DER(5), DER(6)]},
        Document={"Base64Data": {"_value_1": b"signed entity"}},
        OptionalInputs={"EncryptionType": "urn:ietf:rfc:5652",
                        "UnprotectedProperties": {"Property": [cms_property(enc)]}}))
    out["DecryptDocument"] = show(enc.create_message(
        enc.service, "DecryptDocument", Context=CTX,
        PrivateKeyOnCard={"CardHandle": HANDLE, "Crypt": "ECC"},
        Document={"Base64Data": {"_value_1": DER(8)}}))
    auth = client("AuthSignatureService_v7_4_1.wsdl")
    out["ExternalAuthenticate"] = show(auth.create_message(
        auth.service, "ExternalAuthenticate", CardHandle=HANDLE, Context=CTX,
        OptionalInputs={"SignatureType": "urn:ietf:rfc:3447", "SignatureSchemes": "RSASSA-PSS"},
        BinaryString={"Base64Data": {"_value_1": bytes(32), "MimeType": "application/octet-stream"}}))
    print(json.dumps(out))


class Reply:
    def __init__(self, content, status=200):
        self.content = content
        self.status_code = status
        self.headers = {"Content-Type": "text/xml; charset=UTF-8"}
        self.encoding = "utf-8"


def reply(c, op, path, status=200):
    with open(path, "rb") as f:
        content = f.read()
    binding = c.service._binding
    return binding.process_reply(c, binding.get(op), Reply(content, status))


def responses(d):
    p = lambda name: os.path.join(d, name)
    out = {}
    ev = client("EventService.wsdl")
    r = reply(ev, "GetCards", p("GetCards-response.xml"))
    out["GetCards"] = [r.Status.Result, [c.CardHandle for c in r.Cards.Card], r.Cards.Card[0].CardHolderName]
    card = client("CardService_v8_1_2.wsdl")
    r = reply(card, "GetPinStatus", p("GetPinStatus-response.xml"))
    out["GetPinStatus"] = [r.PinStatus, r.LeftTries]
    r = reply(card, "VerifyPin", p("VerifyPin-response.xml"))
    out["VerifyPin"] = [r.PinResult, r.LeftTries]
    cert = client("CertificateService_v6_0_1.wsdl")
    r = reply(cert, "ReadCardCertificate", p("ReadCardCertificate-response.xml"))
    info = r.X509DataInfoList.X509DataInfo
    out["ReadCardCertificate"] = [info[0].CertRef, info[0].X509Data.X509IssuerSerial.X509SerialNumber,
                                  base64.b64encode(info[0].X509Data.X509Certificate).decode(), info[1].CertRef]
    r = reply(cert, "VerifyCertificate", p("VerifyCertificate-response.xml"))
    out["VerifyCertificate"] = [r.VerificationStatus.VerificationResult, r.RoleList.Role]
    sig = client("SignatureService_V7_5_6.wsdl")
    r = reply(sig, "GetJobNumber", p("GetJobNumber-response.xml"))
    out["GetJobNumber"] = r
    r = reply(sig, "SignDocument", p("SignDocument-response.xml"))
    out["SignDocument"] = [r[0].RequestID, base64.b64encode(r[0].SignatureObject.Base64Signature._value_1).decode()]
    r = reply(sig, "VerifyDocument", p("VerifyDocument-response.xml"))
    out["VerifyDocument"] = [r.Status.Result, r.Status.Error.Trace[0].Code, r.VerificationResult.HighLevelResult]
    sig74 = client("SignatureService_V7_4_2.wsdl")
    r = reply(sig74, "SignDocument", p("SignDocument-v7.4-response.xml"))
    out["SignDocument-v7.4"] = [r[0].RequestID]
    enc = client("EncryptionService_v6_1_1.wsdl")
    r = reply(enc, "EncryptDocument", p("EncryptDocument-response.xml"))
    out["EncryptDocument"] = base64.b64encode(r.Document.Base64Data._value_1).decode()
    r = reply(enc, "DecryptDocument", p("DecryptDocument-response.xml"))
    out["DecryptDocument"] = r.Document.Base64Data._value_1.decode()
    auth = client("AuthSignatureService_v7_4_1.wsdl")
    r = reply(auth, "ExternalAuthenticate", p("ExternalAuthenticate-response.xml"))
    out["ExternalAuthenticate"] = [r.SignatureObject.Base64Signature.Type, len(r.SignatureObject.Base64Signature._value_1)]
    try:
        reply(ev, "GetCards", p("Fault-4004.xml"), 500)
        out["Fault-4004"] = "no fault raised"
    except Fault as f:
        code = f.detail.find(".//{http://ws.gematik.de/tel/error/v2.0}Code")
        out["Fault-4004"] = [f.code, f.message, code.text]
    print(json.dumps(out, default=str))


if __name__ == "__main__":
    if sys.argv[1] == "requests":
        requests()
    else:
        responses(sys.argv[2])
