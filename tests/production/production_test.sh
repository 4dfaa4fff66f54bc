#!/usr/bin/env bash
# The production target links no simulator and no libpcap; the same program
# on //:sim does (so the checks below can fail). Prints both sizes.
set -euo pipefail
production=$1 with_sim=$2
sim_symbols() { nm -C "$1" | grep -c ' safenic::sim::' || true; }
needs_pcap() { readelf -d "$1" | grep -c 'libpcap' || true; }
[[ $(sim_symbols "$production") == 0 ]] || { echo "FAIL: //:safenic links simulator code:"; nm -C "$production" | grep ' safenic::sim::' | head; exit 1; }
[[ $(needs_pcap "$production") == 0 ]] || { echo "FAIL: //:safenic links libpcap"; exit 1; }
[[ $(sim_symbols "$with_sim") -gt 0 ]] || { echo "FAIL: the check sees no simulator in a binary on //:sim"; exit 1; }
[[ $(needs_pcap "$with_sim") -gt 0 ]] || { echo "FAIL: the check sees no libpcap in a binary on //:sim"; exit 1; }
"$production"
"$with_sim"
size() { stat -L -c %s "$1"; }
echo "production binary: $(size "$production") bytes; with the simulator: $(size "$with_sim") bytes"
echo PASS
