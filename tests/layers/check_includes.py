#!/usr/bin/env python3
"""Includes run one way: protocol <- trace <- sim <- viz <- app; live uses protocol and trace.

usage: check_includes.py SOURCE_DIR      check the tree; exit 1 and name every wrong-way include
       check_includes.py --self-test     plant wrong-way includes in a scratch tree and check that
                                         each is caught (and that a clean tree passes)

Every C++ file (.cpp .hpp .h .cc) belongs to the longest folder of LAYERS that holds it; a file in
no folder of the table is an error (a new folder says where it sits in the table). A quoted or
angled include that names a file of the tree ("sim/run/run.hpp", or a neighbour "tools.hpp") must
lie in the file's own folder or in one its folder may use. SYSTEM lists the library headers a
folder must not include (protocol/ is sans-IO: no SimGrid, sockets, clock or randomness; the
layers below sim/net and viz/ build without SimGrid). The same graph is what the CMake targets
link (ftpsim_expose in CMakeLists.txt), so a wrong-way include also fails to compile; this check
names it without a build and covers headers no target compiles alone.
"""
import os
import re
import sys
import tempfile

PRODUCTION = ["protocol", "trace", "sim/scenario", "sim/mbox", "sim/net", "sim/run", "viz", "viz/gui", "live"]

# folder: the folders its files may include besides their own
LAYERS = {
    "protocol": [],
    "trace": ["protocol"],
    "sim/scenario": ["protocol", "trace", "sim/mbox"],  # the loader makes typed model values (NAT presets)
    "sim/mbox": ["protocol", "trace"],
    "sim/net": ["protocol", "trace", "sim/mbox"],
    "sim/run": ["protocol", "trace", "sim/mbox", "sim/net", "sim/scenario"],
    "viz": ["protocol", "trace"],
    "viz/gui": ["protocol", "trace", "viz"],
    "live": ["protocol", "trace"],
    "app": PRODUCTION,
    "tests": PRODUCTION,
    "bench": PRODUCTION + ["tests"],
    "fuzz": PRODUCTION,
}

# folder: include prefixes it must not use (the system and library headers of other layers)
NO_SIMGRID = ["simgrid/", "xbt/", "xbt.h", "simgrid.h"]
SYSTEM = {
    "protocol": NO_SIMGRID + ["sys/", "netinet/", "arpa/", "netdb.h", "poll.h", "unistd.h", "fcntl.h",
                              "chrono", "ctime", "time.h", "random", "thread", "pcap", "yaml-cpp/",
                              "nlohmann/", "imgui", "GLFW/", "GL/"],
    "trace": NO_SIMGRID + ["imgui", "GLFW/", "GL/"],
    "sim/scenario": NO_SIMGRID,
    "sim/mbox": NO_SIMGRID,
    "viz": NO_SIMGRID + ["imgui", "GLFW/", "GL/", "backends/"],
    "viz/gui": NO_SIMGRID,
    "live": NO_SIMGRID,
}

SOURCE = (".cpp", ".hpp", ".h", ".cc")
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def folder_of(rel):
    """The longest folder of LAYERS that holds rel ('a/b/c.hpp'), or None."""
    best = None
    for f in LAYERS:
        if rel.startswith(f + "/") and (best is None or len(f) > len(best)):
            best = f
    return best


def sources(root):
    for dirpath, dirnames, filenames in os.walk(root):
        # build trees (CMakeCache.txt), hidden folders and npm's packages are not the project's
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "node_modules"
                       and not os.path.exists(os.path.join(dirpath, d, "CMakeCache.txt"))]
        for name in filenames:
            if name.endswith(SOURCE):
                yield os.path.relpath(os.path.join(dirpath, name), root).replace(os.sep, "/")


def check(root):
    problems = []
    for rel in sorted(sources(root)):
        own = folder_of(rel)
        if own is None:
            problems.append(f"{rel}: in no folder of the layer table (tests/layers/check_includes.py LAYERS)")
            continue
        allowed = [own] + LAYERS[own]
        with open(os.path.join(root, rel), encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                quote, name = m.groups()
                for prefix in SYSTEM.get(own, []):
                    if name.startswith(prefix):
                        problems.append(f"{rel}:{number}: includes <{name}>, which {own}/ must not use")
                # a tree file: next to the includer (quotes only) or from the root
                target = None
                beside = os.path.normpath(os.path.join(os.path.dirname(rel), name)).replace(os.sep, "/")
                if quote == '"' and os.path.isfile(os.path.join(root, beside)):
                    target = beside
                elif os.path.isfile(os.path.join(root, name)):
                    target = os.path.normpath(name).replace(os.sep, "/")
                if target is None:
                    continue  # a library header
                where = folder_of(target)
                if where is None or where not in allowed:
                    problems.append(f"{rel}:{number}: includes \"{name}\" ({where or 'no layer'}); "
                                    f"{own}/ may include only {', '.join(x + '/' for x in allowed)}")
    return problems


def self_test():
    """Each planted wrong-way include must be reported; the clean tree must pass."""
    clean = {
        "protocol/server.hpp": '#include "protocol/codec.hpp"\n#include <string>\n',
        "protocol/codec.hpp": "#include <string_view>\n",
        "trace/trace.hpp": '#include "protocol/codec.hpp"\n',
        "sim/run/run.hpp": '#include "sim/net/network.hpp"\n#include "trace/trace.hpp"\n',
        "sim/net/network.hpp": '#include <simgrid/s4u.hpp>\n#include "trace/trace.hpp"\n',
        "viz/diagram.hpp": '#include "trace/trace.hpp"\n',
        "tests/viz/tools.hpp": "#include <string>\n",
        "tests/viz/test_x.cpp": '#include "tools.hpp"\n#include "viz/diagram.hpp"\n',
    }
    planted = [
        ("protocol/bad.cpp", '#include "sim/run/run.hpp"\n', 'protocol/bad.cpp:1: includes "sim/run/run.hpp"'),
        ("trace/bad.hpp", '#include "sim/net/network.hpp"\n', 'trace/bad.hpp:1: includes "sim/net/network.hpp"'),
        ("sim/net/bad.cpp", '\n#include "viz/diagram.hpp"\n', 'sim/net/bad.cpp:2: includes "viz/diagram.hpp"'),
        ("viz/bad.cpp", '#  include "sim/run/run.hpp"\n', 'viz/bad.cpp:1: includes "sim/run/run.hpp"'),
        ("protocol/clock.cpp", "#include <chrono>\n", "protocol/clock.cpp:1: includes <chrono>"),
        ("trace/sg.cpp", "#include <simgrid/s4u.hpp>\n", "trace/sg.cpp:1: includes <simgrid/s4u.hpp>"),
        ("sim/run/bad.cpp", '#include "../../tests/viz/tools.hpp"\n', 'sim/run/bad.cpp:1: includes "../../tests/viz/tools.hpp"'),
        ("stray/x.cpp", "int x;\n", "stray/x.cpp: in no folder"),
    ]

    def write(root, files):
        for rel, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)

    failures = []
    with tempfile.TemporaryDirectory() as root:
        write(root, clean)
        if check(root):
            failures.append(f"the clean tree is reported: {check(root)}")
        for rel, text, expected in planted:
            write(root, {rel: text})
            found = check(root)
            if not any(p.startswith(expected) for p in found):
                failures.append(f"planted {rel} ({text.strip()}) not reported as '{expected}...'; got {found}")
            os.remove(os.path.join(root, rel))
    for f in failures:
        print(f)
    print("self-test:", "FAILED" if failures else f"ok ({len(planted)} planted includes caught, clean tree passes)")
    return 1 if failures else 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    problems = check(sys.argv[1])
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) run the wrong way (the allowed folders: tests/layers/check_includes.py)")
        return 1
    print("every include runs the right way")
    return 0


if __name__ == "__main__":
    sys.exit(main())
