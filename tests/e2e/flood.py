#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""flood.py - forged handshake frames for the end-to-end flood test.

  flood.py flood GW_IP PORT SECONDS RATE NEG_ID
      forged REG_REQ (random RSA ciphertext: each costs the gateway an RSA
      decryption without the cookie challenge) and forged NEG_REQ under the
      identity NEG_ID (all keyed to one worker), half and half, from source
      addresses spoofed over 10.77.0.10-249 and random ports, at about RATE
      frames/s for SECONDS seconds; prints the number sent
  flood.py burst GW_IP PORT COUNT SRC_IP
      COUNT forged REG_REQ at once from the one address SRC_IP (its token
      bucket runs dry); prints the number sent

Raw IPv4 sockets (IP_HDRINCL): run as root in the devices' namespace. Every
frame has a valid UDP checksum, so the gateway's parser takes it.
"""
import os
import random
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def packet(src, sport, dst, dport, payload):
    ulen = 8 + len(payload)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 17, ulen)
    udp = struct.pack("!HHHH", sport, dport, ulen, 0) + payload
    c = csum(pseudo + udp) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    tot = 20 + ulen
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, random.randrange(65536), 0, 64, 17, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + udp


def reg_req():
    body = struct.pack("!BH", 0, 256) + os.urandom(256)
    return struct.pack("!BBH", 1, 0x01, len(body)) + body


def neg_req(ident):
    idb = ident.encode()
    body = bytes([len(idb)]) + idb + struct.pack("!Q", random.randrange(1, 1 << 40)) + \
        os.urandom(12) + os.urandom(48)
    return struct.pack("!BBH", 1, 0x10, len(body)) + body


def sender():
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_HDRINCL, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)
    return s


def flood(gw, port, seconds, rate, neg_id):
    pkts = []
    for i in range(1024):
        src = "10.77.0.%d" % random.randrange(10, 250)
        payload = reg_req() if i % 2 == 0 else neg_req(neg_id)
        pkts.append(packet(src, random.randrange(1024, 65535), gw, port, payload))
    s = sender()
    sent = 0
    start = time.time()
    end = start + seconds
    batch = max(1, rate // 100)
    while True:
        now = time.time()
        if now >= end:
            break
        due = int((now - start) * rate)
        while sent < due:
            for _ in range(batch):
                try:
                    s.sendto(pkts[sent % len(pkts)], (gw, 0))
                except OSError:
                    pass  # a full socket buffer is a loss like any other
                sent += 1
        time.sleep(0.002)
    print(sent)


def burst(gw, port, count, src):
    s = sender()
    p = [packet(src, 5000 + i % 100, gw, port, reg_req()) for i in range(count)]
    for x in p:
        try:
            s.sendto(x, (gw, 0))
        except OSError:
            pass
    print(count)


if __name__ == "__main__":
    a = sys.argv
    if len(a) == 7 and a[1] == "flood":
        flood(a[2], int(a[3]), float(a[4]), int(a[5]), a[6])
    elif len(a) == 6 and a[1] == "burst":
        burst(a[2], int(a[3]), int(a[4]), a[5])
    else:
        sys.exit(__doc__)
