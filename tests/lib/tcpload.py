#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Traffic helpers for namespace tests (stdlib only).

  tcpload.py sink PORT                 TCP sink: accept and discard, forever
  tcpload.py send HOST PORT SECONDS    TCP bulk sender for SECONDS
  tcpload.py udpsink PORT              UDP sink
  tcpload.py udpsend HOST PORT N SIZE  send N datagrams of SIZE payload bytes, paced
"""
import socket
import sys
import threading
import time


def sink(port):
    s = socket.socket(socket.AF_INET6 if ":" in "" else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)

    def drain(c):
        try:
            while c.recv(1 << 16):
                pass
        except OSError:
            pass
        c.close()

    while True:
        c, _ = s.accept()
        threading.Thread(target=drain, args=(c,), daemon=True).start()


def send(host, port, seconds):
    end = time.time() + seconds
    buf = b"x" * 65536
    s = socket.create_connection((host, port), timeout=10)
    sent = 0
    while time.time() < end:
        sent += s.send(buf)
    s.close()
    print(sent)


def udpsink(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        s.recv(65536)


def udpsend(host, port, n, size):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    payload = b"u" * size
    for i in range(n):
        s.sendto(payload, (host, port))
        if i % 50 == 49:
            time.sleep(0.002)  # stay far below any queue limit


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "sink":
        sink(int(sys.argv[2]))
    elif cmd == "send":
        send(sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "udpsink":
        udpsink(int(sys.argv[2]))
    elif cmd == "udpsend":
        udpsend(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit("unknown command " + cmd)
