#!/usr/bin/env bash
# bench/attribute.sh counts instructions in forward_loop; its counts mean
# something only if every frame was forwarded and reached the sink, on every
# kind it measures (forward_loop exits 1 otherwise; once, the second 82599's
# link was still down and its frames were dropped uncounted by the script).
set -euo pipefail
bin=$1
for kind in ixgbe virtio virtio-split virtio-no-in-order mlx5 mlx5-cx4lx; do
  for batch in 1 32; do
    if ! out=$("$bin" "$kind" "$batch" 50); then
      echo "FAIL: forward_loop $kind $batch 50: $out" >&2
      exit 1
    fi
    [[ $out == "forwarded $((batch * 50))" ]] || { echo "FAIL: $kind $batch: $out" >&2; exit 1; }
  done
done
echo PASS
