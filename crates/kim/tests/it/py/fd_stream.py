"""Drives a Fachdienst over SMTPS/POP3S with the Clientmodul's client certificate.

send:  submits numbered messages until the server stops answering; after each 250 prints
       "ACK <n> <sha256 of the body>" (flushed), so the caller knows what was acknowledged.
fetch: retrieves every message of the mailbox and prints "MSG <n> <sha256 of the body>".
kas-send:  uploads numbered objects to the KAS until it stops answering; after each 201
       prints "ACK <n> <sha256> <object id>".
kas-fetch: downloads the objects whose ids are given on stdin as "<n> <id>" lines and prints
       "OBJ <n> <sha256>" (or "OBJ <n> status-<code>").
"""
import email.utils
import hashlib
import datetime
import poplib
import smtplib
import ssl
import sys


def context(pki):
    ctx = ssl.create_default_context(cafile=f"{pki}/ca-bundle.pem")
    ctx.check_hostname = False
    ctx.load_cert_chain(f"{pki}/tls/clientmodul.crt.pem", f"{pki}/tls/clientmodul.key.pem")
    return ctx


def body(n):
    line = hashlib.sha256(str(n).encode()).hexdigest()
    return ("".join(f"{line} {i}\r\n" for i in range(200 + n % 300))).encode()


def send(pki, host, port, user, password, rcpt, count):
    s = smtplib.SMTP_SSL(host, int(port), context=context(pki), timeout=30)
    s.login(user, password)
    for n in range(int(count)):
        b = body(n)
        msg = (
            f"From: {user}\r\nTo: {rcpt}\r\nSubject: stream {n}\r\n"
            f"Message-ID: <stream-{n}@test>\r\n\r\n"
        ).encode() + b
        try:
            s.sendmail(user, [rcpt], msg)
        except Exception as e:  # the server was killed: stop, report what was acknowledged
            print(f"STOP {n} {type(e).__name__}", flush=True)
            return
        print(f"ACK {n} {hashlib.sha256(b).hexdigest()}", flush=True)
    s.quit()


def fetch(pki, host, port, user, password):
    p = poplib.POP3_SSL(host, int(port), context=context(pki), timeout=30)
    p.user(user)
    p.pass_(password)
    count, _ = p.stat()
    for i in range(1, count + 1):
        lines = p.retr(i)[1]
        raw = b"\r\n".join(lines) + b"\r\n"
        head, _, b = raw.partition(b"\r\n\r\n")
        subject = [l for l in head.split(b"\r\n") if l.startswith(b"Subject: stream ")]
        n = subject[0].split()[-1].decode() if subject else "?"
        print(f"MSG {n} {hashlib.sha256(b).hexdigest()}", flush=True)
    p.quit()


def kas_session(pki, user, password):
    import requests

    session = requests.Session()
    # Session-level `verify` loses against REQUESTS_CA_BUNDLE; the environment is ignored.
    session.trust_env = False
    session.verify = f"{pki}/ca-bundle.pem"
    session.cert = (f"{pki}/tls/clientmodul.crt.pem", f"{pki}/tls/clientmodul.key.pem")
    session.auth = (user, password)
    return session


def kas_send(pki, base, user, password, rcpt, count):
    session = kas_session(pki, user, password)
    expires = email.utils.format_datetime(
        datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=10)
    )
    for n in range(int(count)):
        data = hashlib.sha256(str(n).encode()).digest() * (2048 + 997 * n % 20000)
        files = {
            "attachment": ("attachment.enc", data, "application/octet-stream"),
            "recipients": (None, rcpt),
            "messageID": (None, f"<kas-{n}@test>"),
            "expires": (None, expires),
        }
        try:
            r = session.post(f"{base}/attachments/v2.4/attachment/", files=files, timeout=30)
        except Exception as e:  # the server was killed
            print(f"STOP {n} {type(e).__name__}", flush=True)
            return
        if r.status_code != 201:
            print(f"STOP {n} status-{r.status_code}", flush=True)
            return
        link = r.json()["sharedLink"]
        print(f"ACK {n} {hashlib.sha256(data).hexdigest()} {link.rsplit('/', 1)[1]}", flush=True)


def kas_fetch(pki, base, user, password):
    session = kas_session(pki, user, password)
    for line in sys.stdin:
        n, oid = line.split()
        r = session.get(
            f"{base}/attachments/v2.4/attachment/{oid}", headers={"recipient": user}, timeout=30
        )
        if r.status_code == 200:
            print(f"OBJ {n} {hashlib.sha256(r.content).hexdigest()}", flush=True)
        else:
            print(f"OBJ {n} status-{r.status_code}", flush=True)


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"send": send, "fetch": fetch, "kas-send": kas_send, "kas-fetch": kas_fetch}[mode](*args)
