"""Writes a pcap file (libpcap format, Ethernet) of COUNT 60-byte IPv4 frames
to 02:00:00:00:82:01 (the first simulated 82599's address), frame i's 46
payload bytes all i. Usage: make_pcap.py PATH COUNT"""
import struct
import sys

path, count = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # header: v2.4, snaplen, Ethernet
    for i in range(count):
        frame = bytes.fromhex("020000008201" "020000000099" "0800") + bytes([i % 256]) * 46
        f.write(struct.pack("<IIII", 1, i, len(frame), len(frame)) + frame)
