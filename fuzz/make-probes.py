#!/usr/bin/env python3
"""Writes the large nested BER inputs timed in docs/fuzzing.md ("Large inputs").

Usage: make-probes.py OUT_DIR, then run examples/parse_cost on the files.
"""
import os
import sys

out = sys.argv[1]
os.makedirs(out, exist_ok=True)


def write(name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


INDEF, EOC = b"\x30\x80", b"\x00\x00"
OID_SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")
OID_DATA = bytes.fromhex("06092a864886f70d010701")
SHA256_SET = bytes.fromhex("310f300d06096086480165030402010500")

# 500 000 NULLs in 1, 16 and 47 nested indefinite SEQUENCEs (about 1 MiB).
for depth in (1, 16, 47):
    write(f"nulls-depth{depth}.ber", INDEF * depth + b"\x05\x00" * 500_000 + EOC * depth)

# SignedData, all indefinite, eContent 16 MiB of 1-byte chunks nested `depth` deep.
chunks = b"\x04\x01a" * (16 * 1024 * 1024 // 3)
for depth in (1, 8, 16, 32, 44):
    econtent = b"\xa0\x80" + b"\x24\x80" * depth + chunks + EOC * depth + EOC
    encap = INDEF + OID_DATA + econtent + EOC
    signed = INDEF + bytes.fromhex("020101") + SHA256_SET + encap + b"\x31\x00" + EOC
    write(f"signed-16MiB-chunk-depth{depth}.ber",
          INDEF + OID_SIGNED_DATA + b"\xa0\x80" + signed + EOC + EOC)
