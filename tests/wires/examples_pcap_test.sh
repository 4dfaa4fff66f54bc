#!/usr/bin/env bash
# pktgen and fwd with pcap files, end to end on simulated 82599s: pktgen
# writes a capture of its wire (--capture) that tshark reads back; fwd and
# pktgen replay it (--pcap); pktgen's replayed wire carries the same frames,
# in order, as the file. Bad files and flag mixes fail clearly.
set -uo pipefail
pktgen="$1" fwd="$2"
tmp=${TEST_TMPDIR:-$(mktemp -d)}
failed=0 passed=0
check() {  # name, text, expected pattern
  if grep -qE -- "$3" <<<"$2"; then passed=$((passed + 1)); else
    echo "FAIL: $1: no match for /$3/ in:"; echo "$2"; failed=$((failed + 1)); fi
}
command -v tshark >/dev/null || { echo "FAIL: tshark is missing; ./bazelw installs it"; exit 1; }
fields() {  # one line per frame: length, UDP destination port, UDP payload
  tshark -r "$1" -T fields -E separator=, -e frame.len -e udp.dstport -e udp.payload 2>/dev/null
}

# 1. A capture of pktgen's wire: 2000 frames of 128 bytes with sequence numbers.
out=$("$pktgen" --packets=2000 --batch=8 --size=128 --capture="$tmp/gen.pcap" 2>&1); rc=$?
check "pktgen --capture exits 0" "rc=$rc" "^rc=0$"
delivered=$(sed -nE 's/^pktgen: the simulated wire delivered ([0-9]+)/\1/p' <<<"$out")
check "pktgen wrote what the wire delivered" "$out" "pktgen: wrote $delivered frames to"
gen=$(fields "$tmp/gen.pcap")
check "tshark reads every frame" "$(wc -l <<<"$gen")" "^${delivered}$"
check "exactly --packets frames" "$delivered" "^2000$"
check "all 128-byte UDP frames to port 19" "$(cut -d, -f1,2 <<<"$gen" | sort -u)" "^128,19$"
# Sequence numbers 0, 1, 2 ... in the first 8 payload bytes (little-endian).
check "frame 1 carries sequence number 0" "$(sed -n 1p <<<"$gen")" "^128,19,0000000000000000"
check "frame 3 carries sequence number 2" "$(sed -n 3p <<<"$gen")" "^128,19,0200000000000000"
# Port 19's dissector (chargen) takes any payload: nothing malformed.
check "no malformed frame" "$(tshark -r "$tmp/gen.pcap" -Y '_ws.malformed' 2>/dev/null | wc -l)" "^0$"
check "distinct frames" "$(cut -d, -f3 <<<"$gen" | sort -u | wc -l)" "^${delivered}$"

# 2. fwd replays it into both simulated 82599s.
out=$("$fwd" --pcap="$tmp/gen.pcap" --packets=100000 --seconds=60 2>&1); rc=$?
check "fwd --pcap exits 0" "rc=$rc" "^rc=0$"
check "fwd names its sources" "$out" "cabled to a replay of .*gen.pcap \(${delivered} frames, looping\)"
check "fwd forwards the replayed frames" "$out" "fwd: forwarded [0-9]{6,} packets"
check "fwd counts add up" "$out" "port 0: received ([0-9]+), sent \1, RX drops 0"
check "the replayed frames reach the other side" "$out" "sources: ([1-9][0-9]{4,}) of \1 frames from source 0 reached source 1; ([0-9]+) of \2 from"

# 3. pktgen sends the file's frames, looping: its wire carries them in order.
out=$("$pktgen" --pcap="$tmp/gen.pcap" --packets=5000 --batch=32 --capture="$tmp/out.pcap" 2>&1); rc=$?
check "pktgen --pcap exits 0" "rc=$rc" "^rc=0$"
check "pktgen names its source" "$out" "sending the ${delivered} frames of .*gen.pcap, looping"
sent=$(sed -nE 's/^pktgen: sent ([0-9]+) packets/\1/p' <<<"$out")
check "pktgen --pcap: the wire delivered all it sent" "$out" "the simulated wire delivered ${sent}$"
replayed=$(fields "$tmp/out.pcap")
check "more frames sent than the file has" "sent=$sent" "sent=([5-9][0-9]{3}|[0-9]{5,})$"
expected=$(for _ in 1 2 3 4; do echo "$gen"; done | head -n "$sent")
if [[ "$replayed" == "$expected" ]]; then passed=$((passed + 1)); else
  echo "FAIL: pktgen --pcap: the wire's frames differ from the file's, looped:"
  diff <(echo "$expected") <(echo "$replayed") | head -10; failed=$((failed + 1)); fi

# 4. Clear failures.
out=$("$pktgen" --pcap="$tmp/none.pcap" 2>&1); rc=$?
check "pktgen: a missing file" "rc=$rc $out" "rc=1 pktgen: cannot read the capture file '.*none.pcap'"
echo "not a capture" >"$tmp/text.pcap"
out=$("$fwd" --pcap="$tmp/text.pcap" 2>&1); rc=$?
check "fwd: not a capture file" "rc=$rc $out" "rc=1 fwd: cannot read the capture file .*give a pcap or pcapng file"
out=$("$fwd" --pcap="$tmp/gen.pcap" --dev0=0000:42:00.0 --dev1=0000:43:00.0 2>&1); rc=$?
check "fwd: --pcap is for simulated ports" "rc=$rc $out" "rc=2 fwd: --pcap feeds simulated ports"
out=$("$pktgen" --capture="$tmp/x.pcap" --dev=sim:82599 2>&1); rc=$?
check "pktgen: --capture is for the simulated wire" "rc=$rc $out" "rc=2 pktgen: --capture records a simulated wire"
out=$("$pktgen" --capture=/nonexistent-dir/x.pcap 2>&1); rc=$?
check "pktgen: an unwritable capture" "rc=$rc $out" "rc=1 pktgen: cannot create the capture file '/nonexistent-dir/x.pcap'"

# A relative --capture under `bazel run` lands where the user ran it.
pktgen_abs=$(realpath "$pktgen")
out=$(cd / && BUILD_WORKING_DIRECTORY="$tmp" "$pktgen_abs" --packets=10 --capture=rel.pcap 2>&1); rc=$?
check "pktgen: a relative capture path is the user's" "rc=$rc $(ls "$tmp/rel.pcap" 2>&1)" "^rc=0 $tmp/rel.pcap$"
# --seconds=-1 is refused, not forever.
out=$("$pktgen" --seconds=-1 2>&1); rc=$?
check "pktgen: a negative run length" "rc=$rc $out" "rc=2 pktgen: --seconds=-1"
out=$("$fwd" --seconds=-1 2>&1); rc=$?
check "fwd: a negative run length" "rc=$rc $out" "rc=2 fwd: --seconds=-1"
# SIGTERM ends pktgen as Ctrl-C does: its summary, and a capture with whole frames.
"$pktgen" --seconds=0 --capture="$tmp/term.pcap" >"$tmp/term.out" 2>&1 &
pid=$!
sleep 1
kill -TERM "$pid"
wait "$pid"; rc=$?
check "pktgen: SIGTERM prints the summary" "rc=$rc $(tr '\n' ' ' <"$tmp/term.out")" "rc=0 .*pktgen: wrote [0-9]+ frames"
check "pktgen: the capture after SIGTERM reads whole" "$(tshark -r "$tmp/term.pcap" 2>&1 >/dev/null | grep -v 'Running as user')" "^$"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
