#!/usr/bin/env bash
# Instructions per forwarded packet of DPDK 22.11's net_ixgbe (vector and
# scalar paths) against safenic's ixgbe driver, on the same two 82599 models
# under run_with_simulated_nics, the same forwarding work (io forwarding
# between two ports joined by a cable, frames going round after a first
# burst from each port: testpmd's `start tx_first --burst=N`, fwd's
# --tx_first=N --batch=N), at batch 1, 8, 32 and 64.
#
# Counted as bench/attribute.sh counts: callgrind (deterministic) counts the
# forwarding thread (testpmd's forwarding lcore; fwd: inside its forward()),
# minus everything inside the trap handler, where the models run (each
# doorbell write is a trapped access that runs the model); the rest is the
# driver and the forwarding loop, divided by the packets forwarded. Valgrind
# hands the SIGSEGV handler the faulting instruction's address only with
# precise exceptions in file-backed code (--px-file-backed=allregs-at-mem-access);
# without it the handler sees the start of the block and stops the program.
#
# Usage: bench/dpdk_attribute.sh [SECONDS]   (forwarding time per run under
# valgrind, default 20; each testpmd run also spends about 3 minutes in
# DPDK's init under valgrind). BATCHES="32" runs fewer batch sizes;
# SAFENIC_ONLY=1 skips DPDK, PATHS=scalar runs one of its paths; KIND=virtio
# (or virtio-split) compares net_virtio with safenic's virtio driver instead. Needs valgrind and dpdk-testpmd.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
./bazelw build --config=opt //sim/launcher:all //examples:fwd >/dev/null 2>&1
bin=$(./bazelw info --config=opt bazel-bin 2>/dev/null)
launcher=$bin/sim/launcher/run_with_simulated_nics
fwd=$bin/examples/fwd
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kind=${KIND:-82599}
nics=(--nic 0000:00:04.0="$kind" --nic 0000:00:05.0="$kind" --cable 0,1)
valgrind=(valgrind --tool=callgrind --px-default=allregs-at-mem-access
          --px-file-backed=allregs-at-mem-access --separate-threads=yes)

# The forwarding thread's instructions outside the trap handler, from the
# callgrind files of one run (one per thread): with `main`, the first
# thread's (fwd, counted inside forward() only); else those of the thread,
# not the first and not the simulation's own, that did the most (testpmd's
# forwarding lcore). callgrind runs a signal handler in a context of its
# own: callgrind_annotate's PROGRAM TOTALS leave it out (the file's totals
# line has it in).
driver_instructions() {  # directory, main|lcore
  python3 - "$1" "$2" <<'PY'
import glob, re, subprocess, sys
directory, which = sys.argv[1], sys.argv[2]
best = 0
for path in sorted(glob.glob(directory + "/cg.*-*")):
    out = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", path],
                         capture_output=True, text=True).stdout
    total, simulation = 0, False
    for line in out.splitlines():
        m = re.match(r"\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*)", line)
        if not m:
            continue
        if m.group(2).startswith("PROGRAM TOTALS"):
            total = int(m.group(1).replace(",", ""))
        elif "RealTimeProgress" in m.group(2):
            simulation = True
    first = path.endswith("-01")
    if which == "main" and first:
        best = total
    elif which == "lcore" and not first and not simulation:
        best = max(best, total)
print(best)
PY
}

run_fwd() {  # batch
  local b=$1 dir=$work/fwd-$1
  mkdir -p "$dir"
  "$launcher" "${nics[@]}" -- "${valgrind[@]}" --toggle-collect='safenic::examples::*forward*' \
      --callgrind-out-file="$dir/cg.%p" \
      "$fwd" --dev0=0000:00:04.0 --dev1=0000:00:05.0 --no_huge --seconds="$seconds" \
      --batch="$b" --tx_first="$b" >"$dir/out" 2>&1 || true
  local packets instructions
  packets=$(sed -n 's/^fwd: forwarded \([0-9]*\) packets$/\1/p' "$dir/out")
  instructions=$(driver_instructions "$dir" main)
  report "safenic $kind" "$b" "${packets:-0}" "$instructions" "$dir/out"
}

run_testpmd() {  # path (vector|scalar), burst
  local path=$1 b=$2 dir=$work/testpmd-$1-$2 eal=()
  [[ $path == scalar ]] && eal=(--force-max-simd-bitwidth=64)
  [[ $kind == 82599 ]] || path=default
  mkdir -p "$dir"
  : >"$dir/out"
  {
    for ((i = 0; i < 6000; ++i)); do grep -q "testpmd> " "$dir/out" 2>/dev/null && break; sleep 0.1; done
    printf 'start tx_first\n'
    sleep "$seconds"
    printf 'stop\nquit\n'
  } | "$launcher" "${nics[@]}" -- "${valgrind[@]}" --callgrind-out-file="$dir/cg.%p" \
      dpdk-testpmd --no-huge -m 256 --iova-mode=va --no-shconf --file-prefix="safenic-bench-$$" \
        "${eal[@]}" -a 0000:00:04.0 -a 0000:00:05.0 -- -i --total-num-mbufs=4096 --burst="$b" \
      >"$dir/out" 2>&1 || true
  local packets instructions
  packets=$(sed -n '/Accumulated forward statistics/,/^ *RX-packets/s/^ *RX-packets: *\([0-9]*\).*/\1/p' "$dir/out")
  instructions=$(driver_instructions "$dir" lcore)
  report "DPDK $([[ $kind == 82599 ]] && echo net_ixgbe || echo net_virtio) $path" "$b" "${packets:-0}" "$instructions" "$dir/out"
}

report() {  # name, batch, packets, instructions, output
  # DPDK's vector receive takes bursts of 4 or more: at batch 1 it forwards
  # (next to) nothing.
  if [[ $3 -lt 1000 ]]; then
    printf '%-24s %5d %12s %12s   (%s packets forwarded: no figure)\n' "$1" "$2" "$3" - "$3"
    return
  fi
  grep -q "^run_with_simulated_nics: violations 0$" "$5" ||
    echo "  ($1, batch $2: the models reported $(sed -n 's/^run_with_simulated_nics: violations //p' "$5") violations)"
  printf '%-24s %5d %12d %12s\n' "$1" "$2" "$3" "$(awk -v i="$4" -v p="$3" 'BEGIN { printf "%.1f", i / p }')"
}

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) CPUs; $(date -u +%F)"
printf '%-24s %5s %12s %12s\n' driver batch packets "instr/packet"
for b in ${BATCHES:-1 8 32 64}; do
  run_fwd "$b"
  [[ -n ${SAFENIC_ONLY:-} ]] && continue
  if [[ $kind == 82599 ]]; then
    for path in ${PATHS:-vector scalar}; do run_testpmd "$path" "$b"; done
  else
    run_testpmd default "$b"  # net_virtio's own choice (its vectorized paths need a devarg)
  fi
done
