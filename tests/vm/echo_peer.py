#!/usr/bin/env python3
"""The host-side peer of tests/vm/vm_test.sh: QEMU's -netdev dgram carries
one Ethernet frame per UDP datagram; this echoes each frame back with its
destination and source MAC addresses swapped, and counts them.

Usage: echo_peer.py LISTEN_PORT QEMU_PORT SECONDS
"""
import socket
import sys
import time


def main():
    listen_port, qemu_port, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", listen_port))
    s.settimeout(0.5)
    echoed = 0
    end = time.time() + seconds
    while time.time() < end:
        try:
            frame, _ = s.recvfrom(65536)
        except socket.timeout:
            continue
        if len(frame) >= 14:
            s.sendto(frame[6:12] + frame[0:6] + frame[12:], ("127.0.0.1", qemu_port))
            echoed += 1
    print("echo_peer: echoed %d frames" % echoed, flush=True)


if __name__ == "__main__":
    main()
