"""Drives a Fachdienst over SMTPS/POP3S with the Clientmodul's client certificate.

send:  submits numbered messages until the server stops answering; after each 250 prints
       "ACK <n> <sha256 of the body>" (flushed), so the caller knows what was acknowledged.
fetch: retrieves every message of the mailbox and prints "MSG <n> <sha256 of the body>".
"""
import hashlib
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


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    {"send": send, "fetch": fetch}[mode](*args)
