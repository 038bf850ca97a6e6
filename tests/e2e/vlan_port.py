#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""vlan_port.py - one access port and one trunk port of an 802.1Q switch, in
user space, for tests/e2e/test_vlan.sh (the lab kernel has no 8021q module, so
the devices' side cannot have a VLAN sub-interface).

Frames from the access interface (the devices' untagged veth) leave on the
trunk interface (the gateway's veth) with one 802.1Q tag, TCI --tci. Frames
from the trunk reach the access interface, untagged, only when they carry
that tag: an untagged frame, another VID, or the right VID with other
priority bits (the gateway must answer with the TCI it received) is dropped
and counted. On SIGTERM the counts go to --stats as JSON.

The kernel may hand a tagged frame to a packet socket with the tag moved to
metadata (PACKET_AUXDATA); both forms are read.
"""
import argparse
import json
import select
import signal
import socket
import struct
import sys

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--access", required=True)
    ap.add_argument("--trunk", required=True)
    ap.add_argument("--tci", type=lambda v: int(v, 0), required=True)
    ap.add_argument("--stats", required=True)
    o = ap.parse_args()
    vid = o.tci & 0x0FFF
    n = {"to_trunk": 0, "to_access": 0, "untagged": 0, "other_vid": 0, "tci_changed": 0}

    def done(*_):
        with open(o.stats, "w") as f:
            json.dump(n, f)
        sys.exit(0)

    signal.signal(signal.SIGTERM, done)
    acc = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    acc.bind((o.access, 0))
    trk = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    trk.bind((o.trunk, 0))
    trk.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    tag = struct.pack("!HH", 0x8100, o.tci)
    while True:
        r, _, _ = select.select([acc, trk], [], [])
        if acc in r:
            f, addr = acc.recvfrom(65535)
            if addr[2] != PACKET_OUTGOING and len(f) >= 14:
                trk.send(f[:12] + tag + f[12:])
                n["to_trunk"] += 1
        if trk in r:
            f, anc, _, addr = trk.recvmsg(65535, socket.CMSG_SPACE(32))
            if addr[2] == PACKET_OUTGOING or len(f) < 14:
                continue
            tci = None
            for level, typ, data in anc:
                if level == SOL_PACKET and typ == PACKET_AUXDATA and len(data) >= 20:
                    status, _, _, _, _, vtci = struct.unpack("IIIHHH", data[:18])
                    if status & TP_STATUS_VLAN_VALID:
                        tci = vtci
            if tci is None and len(f) >= 18 and struct.unpack("!H", f[12:14])[0] == 0x8100:
                tci = struct.unpack("!H", f[14:16])[0]
                f = f[:12] + f[16:]
            if tci is None:
                n["untagged"] += 1
            elif tci & 0x0FFF != vid:
                n["other_vid"] += 1
            elif tci != o.tci:
                n["tci_changed"] += 1
            else:
                acc.send(f)
                n["to_access"] += 1


if __name__ == "__main__":
    main()
