#!/usr/bin/env python3
"""Validates ftpsim traces against docs/trace.schema.json (python3-jsonschema).

  validate_traces.py SCHEMA --ftpsim BIN --scenarios DIR [TRACE.json ...]

Every library scenario (DIR/*.yaml) is run with `ftpsim run --no-verify --export` and its trace
validated; any TRACE.json given is validated too (traces written by `ftpsim import` or
`ftpsim serve --trace` are added that way: see tests/CMakeLists.txt). Also checks that the
schema's enums list every name the C++ tables define (trace/trace.cpp), so the two cannot
drift apart. Exits 1 with one line per problem (file, JSON path, message).
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile

import jsonschema


def cpp_names(trace_cpp, table):
    src = trace_cpp.read_text()
    block = src[src.index(table + "{{"):]
    block = block[: block.index("}};")]
    return re.findall(r'\{\w+::\w+, "([^"]+)"\}', block)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("schema")
    ap.add_argument("--ftpsim")
    ap.add_argument("--scenarios")
    ap.add_argument("--source", help="the source tree (checks the schema's enums against trace/trace.cpp)")
    ap.add_argument("--captures", help="a folder of pcap files: each is imported with `ftpsim import` and its trace validated")
    ap.add_argument("traces", nargs="*")
    a = ap.parse_args()
    schema = json.loads(pathlib.Path(a.schema).read_text())
    validator = jsonschema.Draft7Validator(schema)
    problems = []

    if a.source:
        trace_cpp = pathlib.Path(a.source) / "trace" / "trace.cpp"
        defs = schema["$defs"]
        pairs = [("kFacts", defs["event"]["properties"]["fact"]["enum"]),
                 ("kKinds", defs["event"]["properties"]["kind"]["enum"]),
                 ("kVerdicts", defs["event"]["properties"]["verdict"]["enum"]),
                 ("kActions", defs["event"]["properties"]["action"]["enum"]),
                 ("kSkips", defs["event"]["properties"]["alg_skip"]["enum"]),
                 ("kErrors", defs["event"]["properties"]["error"]["enum"]),
                 ("kAnnounces", defs["event"]["properties"]["form"]["enum"])]
        for table, enum in pairs:
            names = cpp_names(trace_cpp, table)
            if sorted(names) != sorted(enum):
                problems.append(f"{a.schema}: enum for {table} differs from trace/trace.cpp: "
                                f"missing {sorted(set(names) - set(enum))}, extra {sorted(set(enum) - set(names))}")

    files = [pathlib.Path(t) for t in a.traces]
    with tempfile.TemporaryDirectory() as tmp:
        if a.scenarios:
            for yaml in sorted(pathlib.Path(a.scenarios).glob("*.yaml")):
                out = pathlib.Path(tmp) / (yaml.stem + ".json")
                r = subprocess.run([a.ftpsim, "run", "-q", "--no-verify", str(yaml), "--export", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if not out.exists():
                    problems.append(f"{yaml}: no trace written (exit {r.returncode}): {r.stderr.strip()[:200]}")
                    continue
                files.append(out)
        if a.captures:
            for pcap in sorted(pathlib.Path(a.captures).glob("*.pcap")):
                out = pathlib.Path(tmp) / ("import-" + pcap.stem + ".json")
                r = subprocess.run([a.ftpsim, "import", str(pcap), "--export", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                if not out.exists():
                    if r.returncode == 2:  # a capture with no FTP in it is bad input, not a trace
                        continue
                    problems.append(f"{pcap}: no trace written (exit {r.returncode}): {r.stderr.strip()[:200]}")
                    continue
                files.append(out)
        for f in files:
            try:
                doc = json.loads(f.read_text())
            except (OSError, ValueError) as e:
                problems.append(f"{f}: {e}")
                continue
            for err in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))[:20]:
                path = "/".join(str(p) for p in err.absolute_path)
                problems.append(f"{f.name}: {path}: {err.message[:300]}")
            # Evidence names real events.
            n = len(doc.get("events", []))
            for i, d in enumerate(doc.get("outcome", {}).get("diagnosis", [])):
                for seq in d.get("evidence", []):
                    if seq >= n:
                        problems.append(f"{f.name}: outcome/diagnosis/{i}/evidence: {seq} is not an event index")
        print(f"validate_traces: {len(files)} traces checked against {a.schema}")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
