"""A poplib session against the kim-pop3 test server; prints a JSON report.

Usage: poplib_session.py HOST PORT MODE USER PASSWORD [CA CERT KEY]
MODE: plain or tls (POP3_SSL with client certificate, server name checked).
"""
import base64
import json
import poplib
import ssl
import sys

host, port, mode, user, password = sys.argv[1:6]
if mode == "tls":
    ca, cert, key = sys.argv[6:9]
    context = ssl.create_default_context(cafile=ca)
    context.load_cert_chain(cert, key)
    pop = poplib.POP3_SSL(host, int(port), context=context, timeout=60)
else:
    pop = poplib.POP3(host, int(port), timeout=60)

report = {"welcome": pop.getwelcome().decode()}
report["capa"] = sorted(pop.capa().keys())
pop.user(user)
report["pass"] = pop.pass_(password).decode()
report["stat"] = list(pop.stat())
report["list"] = [line.decode() for line in pop.list()[1]]
report["uidl"] = [line.decode() for line in pop.uidl()[1]]
report["uidl_2"] = pop.uidl(2).decode()
report["top"] = base64.b64encode(b"\r\n".join(pop.top(1, 1)[1]) + b"\r\n").decode()
retr = pop.retr(1)
report["retr_1"] = base64.b64encode(b"\r\n".join(retr[1]) + b"\r\n").decode()
report["retr_1_octets"] = retr[2]
report["retr_2_lines"] = len(pop.retr(2)[1])
report["dele_1"] = pop.dele(1).decode()
try:
    pop.retr(1)
    report["retr_deleted"] = "accepted"
except poplib.error_proto as e:
    report["retr_deleted"] = e.args[0].decode()
report["rset"] = pop.rset().decode()
report["dele_3"] = pop.dele(3).decode()
report["noop"] = pop.noop().decode()
report["quit"] = pop.quit().decode()
print(json.dumps(report))
