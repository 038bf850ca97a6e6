#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""spoof.py - capture and forge SGA frames for the end-to-end spoofing test.

  spoof.py sniff IFACE OUT SECONDS [TYPE...]
                                     capture frames arriving at the gateway (raw
                                     AF_PACKET, run in the gateway's namespace) of
                                     the given types (hex, default 30 = DATA_UP),
                                     one hex payload per line, for SECONDS seconds
  spoof.py send IP PORT HEX...       send each hex payload as one UDP datagram
  spoof.py sendfrom SRC IP PORT HEX... the same from source address SRC (IPv4)
"""
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
SGA_DATA_UP = 0x30


def sniff(iface, out, seconds, types=(SGA_DATA_UP,)):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    s.settimeout(0.2)
    end = time.time() + seconds
    n = 0
    with open(out, "w") as f:
        while time.time() < end:
            try:
                frame, addr = s.recvfrom(65535)
            except socket.timeout:
                continue
            if addr[2] == socket.PACKET_OUTGOING or len(frame) < 42:
                continue
            if struct.unpack("!H", frame[12:14])[0] != 0x0800 or frame[23] != 17:
                continue
            ihl = (frame[14] & 0x0F) * 4
            udp = 14 + ihl
            payload = frame[udp + 8:]
            if len(payload) > 2 and payload[0] == 1 and payload[1] in types:
                f.write(payload.hex() + "\n")
                f.flush()
                n += 1
    print(n)


def send(ip, port, payloads, src=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if src:
        s.bind((src, 0))
    for p in payloads:
        s.sendto(bytes.fromhex(p), (ip, int(port)))
        time.sleep(0.01)


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "sniff":
        kinds = tuple(int(t, 16) for t in sys.argv[5:]) or (SGA_DATA_UP,)
        sniff(sys.argv[2], sys.argv[3], float(sys.argv[4]), kinds)
    elif len(sys.argv) >= 4 and sys.argv[1] == "send":
        send(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "sendfrom":
        send(sys.argv[3], sys.argv[4], sys.argv[5:], src=sys.argv[2])
    else:
        sys.exit(__doc__)
