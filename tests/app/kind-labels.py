#!/usr/bin/env python3
"""Every ctest test has exactly one kind label (README.md, "Tests"), so that `ctest -L KIND` and
tools/sanitize.sh see it. Usage: kind-labels.py BUILD_DIR"""
import json
import subprocess
import sys

KINDS = {"unit", "integration", "external-tools", "system", "live", "rig", "gui", "slurm", "web"}
out = subprocess.run(["ctest", "--test-dir", sys.argv[1], "--show-only=json-v1"],
                     check=True, capture_output=True, text=True).stdout
tests = json.loads(out)["tests"]
bad = []
for t in tests:
    labels = next((p["value"] for p in t.get("properties", []) if p["name"] == "LABELS"), [])
    kinds = sorted(KINDS & set(labels))
    if len(kinds) != 1:
        bad.append(f"{t['name']}: labels {labels}, kinds {kinds}")
for b in bad:
    print(b)
print(f"{len(tests)} tests, {len(bad)} without exactly one kind label ({', '.join(sorted(KINDS))})")
sys.exit(1 if bad or not tests else 0)
