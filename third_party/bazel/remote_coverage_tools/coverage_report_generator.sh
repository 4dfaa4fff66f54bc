#!/bin/sh
echo "bazel coverage needs the real remote_coverage_tools, which is not available offline." >&2
exit 1
