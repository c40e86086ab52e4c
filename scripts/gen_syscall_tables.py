#!/usr/bin/env python3
"""Generates memstatd's syscall-name tables from a Linux kernel source tree.

The checked-in tables (memstatd/src/probes/syscall_table/*.rs) come from
Linux 7.3.4. To regenerate them from another tree, or to check that they are
what a tree gives:

    python3 scripts/gen_syscall_tables.py --kernel /path/to/linux
    python3 scripts/gen_syscall_tables.py --kernel /path/to/linux --check

The generator's own tests, on a small tree written from fixtures below:

    python3 scripts/gen_syscall_tables.py --self-test

Each ABI is read as the kernel's build reads it for its uapi unistd headers:

    arm64   arch/arm64/kernel/Makefile.syscalls names the table and the ABIs
            it adds to those of scripts/Makefile.asm-headers (Linux 6.11 and
            later); today arch/arm64/tools/syscall_64.tbl with common, 64,
            renameat, rlimit and memfd_secret
    arm     arch/arm/tools/syscall.tbl, common and eabi (what 32-bit apps
            use), plus the ARM private calls __ARM_NR_* of
            arch/arm/include/uapi/asm/unistd.h (0x0f0001 and up under EABI)
    x86_64  arch/x86/entry/syscalls/syscall_64.tbl, common and 64 (not x32)
    x86     arch/x86/entry/syscalls/syscall_32.tbl, i386
"""

import argparse
import contextlib
import io
import os
import re
import sys
import tempfile
import unittest
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT_DIR = REPO / "memstatd/src/probes/syscall_table"

ARM64_MAKEFILE = "arch/arm64/kernel/Makefile.syscalls"
ASM_HEADERS_MAKEFILE = "scripts/Makefile.asm-headers"
ARM_UNISTD = "arch/arm/include/uapi/asm/unistd.h"
# __NR_SYSCALL_BASE under EABI (arch/arm/include/uapi/asm/unistd.h).
ARM_EABI_BASE = 0


class InputError(Exception):
    """A kernel file is missing or not in the form this generator reads."""


def read(kernel, rel):
    path = Path(kernel) / rel
    try:
        return path.read_text()
    except OSError as e:
        raise InputError(f"{path}: {e.strerror}: --kernel must be a Linux source tree (6.11 or later)")


def kernel_version(kernel):
    """`VERSION.PATCHLEVEL.SUBLEVEL[EXTRAVERSION]` from the top Makefile."""
    fields = {}
    for line in read(kernel, "Makefile").splitlines()[:10]:
        m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)\s*$", line)
        if m:
            fields[m.group(1)] = m.group(2)
    if not all(k in fields for k in ("VERSION", "PATCHLEVEL", "SUBLEVEL")):
        raise InputError(f"{Path(kernel) / 'Makefile'}: no VERSION, PATCHLEVEL and SUBLEVEL lines")
    return "{VERSION}.{PATCHLEVEL}.{SUBLEVEL}".format(**fields) + fields.get("EXTRAVERSION", "")


def make_var(kernel, rel, var):
    """The words of `var` after every `=`/`+=` line of a makefile: the
    simple assignments the syscall makefiles use, nothing more."""
    words = None
    for line in read(kernel, rel).splitlines():
        m = re.match(rf"^{re.escape(var)}\s*(\+?=)\s*(.*?)\s*$", line)
        if m:
            new = m.group(2).replace(",", " ").split()
            words = (words or []) + new if m.group(1) == "+=" else new
    return words


def parse_tbl(kernel, rel, abis):
    """(number, name) of the rows of a syscall .tbl whose ABI is in `abis`,
    sorted by number; a number or name twice is an error."""
    path = Path(kernel) / rel
    rows = {}
    names = {}
    for lineno, line in enumerate(read(kernel, rel).splitlines(), 1):
        fields = line.split("#", 1)[0].split()
        if not fields:
            continue
        where = f"{path}:{lineno}"
        if len(fields) < 3 or not fields[0].isdigit():
            raise InputError(f"{where}: expected '<number> <abi> <name> [<entry point>...]', got {line!r}")
        if fields[1] not in abis:
            continue
        nr, name = int(fields[0]), fields[2]
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", name):
            raise InputError(f"{where}: {name!r} is not a syscall name")
        selected = f"for ABIs {', '.join(sorted(abis))}"
        if nr in rows:
            raise InputError(f"{where}: number {nr} is also {rows[nr]!r}, {selected}")
        if name in names:
            raise InputError(f"{where}: {name!r} is also number {names[name]}, {selected}")
        rows[nr] = name
        names[name] = nr
    if not rows:
        raise InputError(f"{path}: no syscall of ABIs {', '.join(sorted(abis))}")
    return sorted(rows.items())


def arm_private(kernel):
    """The ARM private calls (`__ARM_NR_<name>`) under EABI."""
    text = read(kernel, ARM_UNISTD)
    where = Path(kernel) / ARM_UNISTD
    base = re.search(r"^#define\s+__ARM_NR_BASE\s+\(__NR_SYSCALL_BASE\s*\+\s*(0x[0-9a-fA-F]+)\)", text, re.M)
    if not base:
        raise InputError(f"{where}: no '#define __ARM_NR_BASE (__NR_SYSCALL_BASE+0x...)' line")
    calls = re.findall(r"^#define\s+__ARM_NR_([a-z0-9_]+)\s+\(__ARM_NR_BASE\s*\+\s*(\d+)\)", text, re.M)
    if not calls:
        raise InputError(f"{where}: no '#define __ARM_NR_<name> (__ARM_NR_BASE+<n>)' lines")
    return [(ARM_EABI_BASE + int(base.group(1), 16) + int(n), name) for name, n in calls]


def arm64_source(kernel):
    """The arm64 table's path and ABIs, as the kernel's makefiles select them."""
    abis = make_var(kernel, ASM_HEADERS_MAKEFILE, "syscall_abis_64")
    if abis is None:
        raise InputError(f"{Path(kernel) / ASM_HEADERS_MAKEFILE}: no syscall_abis_64 line")
    added = make_var(kernel, ARM64_MAKEFILE, "syscall_abis_64") or []
    tbl = make_var(kernel, ARM64_MAKEFILE, "syscalltbl")
    tbl = tbl[0].replace("%", "64") if tbl else "scripts/syscall.tbl"
    return tbl, abis + added


def tables(kernel):
    """{module: (source description, [(number, name)])} for the four ABIs."""
    arm64_tbl, arm64_abis = arm64_source(kernel)
    sources = {
        "arm64": (arm64_tbl, arm64_abis),
        "arm": ("arch/arm/tools/syscall.tbl", ["common", "eabi"]),
        "x86_64": ("arch/x86/entry/syscalls/syscall_64.tbl", ["common", "64"]),
        "x86": ("arch/x86/entry/syscalls/syscall_32.tbl", ["i386"]),
    }
    out = {}
    for module, (rel, abis) in sources.items():
        rows = parse_tbl(kernel, rel, set(abis))
        what = f"{rel}, ABIs {', '.join(abis)}"
        if module == "arm":
            rows = merge(rows, arm_private(kernel), Path(kernel) / ARM_UNISTD)
            what += f",\n// and the ARM private calls of {ARM_UNISTD} (EABI)"
        out[module] = (what, rows)
    return out


def merge(rows, extra, where):
    nrs = {nr for nr, _ in rows}
    names = {name for _, name in rows}
    for nr, name in extra:
        if nr in nrs or name in names:
            raise InputError(f"{where}: {name} ({nr:#x}) clashes with the syscall table")
    return sorted(rows + extra)


def render(module, version, what, rows):
    by_name = sorted(range(len(rows)), key=lambda i: rows[i][1])
    out = [
        f"// @generated by scripts/gen_syscall_tables.py from Linux {version}: do not edit.",
        f"// {module}: {what}.",
        "// Regenerate: python3 scripts/gen_syscall_tables.py --kernel /path/to/linux",
        "",
        "use super::Table;",
        "",
        "pub(super) static TABLE: Table = Table {",
        "    by_number: &[",
    ]
    for nr, name in rows:
        # The ARM private calls read best in hex, as the kernel writes them.
        number = f"{nr:#x}" if nr > 0xFFFF else str(nr)
        out.append(f'        ({number}, "{name}"),')
    out += ["    ],", "    by_name: &["]
    for i in range(0, len(by_name), 16):
        out.append("        " + " ".join(f"{j}," for j in by_name[i : i + 16]))
    out += ["    ],", "};", ""]
    return "\n".join(out)


def generate(kernel):
    """{file name: text} of every generated file."""
    version = kernel_version(kernel)
    return {f"{m}.rs": render(m, version, what, rows) for m, (what, rows) in tables(kernel).items()}


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--kernel", help="Linux source tree")
    p.add_argument("--out", default=str(OUT_DIR), help="where the tables go (default: %(default)s)")
    p.add_argument("--check", action="store_true", help="fail unless --out holds what --kernel gives")
    p.add_argument("--self-test", action="store_true", help="run the generator's own tests")
    args = p.parse_args(argv)
    if args.self_test:
        tests = unittest.defaultTestLoader.loadTestsFromTestCase(SelfTest)
        return 0 if unittest.TextTestRunner(verbosity=1).run(tests).wasSuccessful() else 1
    if not args.kernel:
        p.error("--kernel /path/to/linux is required")
    try:
        files = generate(args.kernel)
    except InputError as e:
        print(f"gen_syscall_tables: {e}", file=sys.stderr)
        return 1
    out = Path(args.out)
    if args.check:
        stale = [n for n, text in files.items() if not (out / n).is_file() or (out / n).read_text() != text]
        for n in stale:
            print(f"gen_syscall_tables: {out / n} differs from what {args.kernel} gives", file=sys.stderr)
        if stale:
            print("gen_syscall_tables: regenerate without --check", file=sys.stderr)
            return 1
        print(f"gen_syscall_tables: {len(files)} tables in {out} match {args.kernel}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for n, text in files.items():
        (out / n).write_text(text)
    print(f"gen_syscall_tables: wrote {', '.join(sorted(files))} to {out}")
    return 0


# A tiny kernel tree in the kernel's formats: each ABI has a row that its
# selection must keep and one it must drop.
FIXTURE = {
    "Makefile": "# SPDX-License-Identifier: GPL-2.0\n"
    "VERSION = 9\nPATCHLEVEL = 8\nSUBLEVEL = 7\nEXTRAVERSION = -rc6\n",
    ASM_HEADERS_MAKEFILE: "syscall_abis_32  += common,32\nsyscall_abis_64  += common,64\n"
    "syscalltbl := $(srctree)/scripts/syscall.tbl\n",
    ARM64_MAKEFILE: "syscall_abis_32 +=\nsyscall_abis_64 += renameat rlimit\n"
    "syscalltbl = arch/arm64/tools/syscall_%.tbl\n",
    "arch/arm64/tools/syscall_64.tbl": "# comment\n"
    "0\tcommon\tio_setup\t\t\tsys_io_setup\t\t\tcompat_sys_io_setup\n"
    "25\t32\tfcntl64\t\t\t\tsys_fcntl64\t\t\tcompat_sys_fcntl64\n"
    "25\t64\tfcntl\t\t\t\tsys_fcntl\n"
    "\n"
    "# renameat is superseded with flags by renameat2\n"
    "38\trenameat renameat\t\t\tsys_renameat\n"
    "79\tstat64\tfstatat64\t\t\tsys_fstatat64\n"
    "163\trlimit\tgetrlimit\t\t\tsys_getrlimit\n"
    "447\tmemfd_secret\tmemfd_secret\t\tsys_memfd_secret\n",
    "arch/arm/tools/syscall.tbl": "0\tcommon\trestart_syscall\t\tsys_restart_syscall\n"
    "13\toabi\ttime\t\t\tsys_time32\n"
    "192\tcommon\tmmap2\t\t\tsys_mmap2\n"
    "400\teabi\teabi_only\t\tsys_eabi_only\n",
    ARM_UNISTD: "#define __ARM_NR_BASE\t\t\t(__NR_SYSCALL_BASE+0x0f0000)\n"
    "#define __ARM_NR_breakpoint\t\t(__ARM_NR_BASE+1)\n"
    "#define __ARM_NR_set_tls\t\t(__ARM_NR_BASE+5)\n",
    "arch/x86/entry/syscalls/syscall_64.tbl": "0\tcommon\tread\t\t\tsys_read\n"
    "39\t64\tgetpid\t\t\tsys_getpid\n"
    "512\tx32\trt_sigaction\t\tcompat_sys_rt_sigaction\n",
    "arch/x86/entry/syscalls/syscall_32.tbl": "17\ti386\tbreak\n"
    "20\ti386\tgetpid\t\t\tsys_getpid\n",
}

ARM64_EXPECTED = """\
// @generated by scripts/gen_syscall_tables.py from Linux 9.8.7-rc6: do not edit.
// arm64: arch/arm64/tools/syscall_64.tbl, ABIs common, 64, renameat, rlimit.
// Regenerate: python3 scripts/gen_syscall_tables.py --kernel /path/to/linux

use super::Table;

pub(super) static TABLE: Table = Table {
    by_number: &[
        (0, "io_setup"),
        (25, "fcntl"),
        (38, "renameat"),
        (163, "getrlimit"),
    ],
    by_name: &[
        1, 3, 0, 2,
    ],
};
"""


class SelfTest(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.kernel = self._dir.name
        for rel, text in FIXTURE.items():
            self.write(rel, text)

    def tearDown(self):
        self._dir.cleanup()

    def write(self, rel, text):
        path = Path(self.kernel) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def test_each_abi_keeps_its_rows_only(self):
        t = {m: rows for m, (_, rows) in tables(self.kernel).items()}
        self.assertEqual(t["arm64"], [(0, "io_setup"), (25, "fcntl"), (38, "renameat"), (163, "getrlimit")])
        self.assertEqual(
            t["arm"],
            [
                (0, "restart_syscall"),
                (192, "mmap2"),
                (400, "eabi_only"),
                (0x0F0001, "breakpoint"),
                (0x0F0005, "set_tls"),
            ],
        )
        self.assertEqual(t["x86_64"], [(0, "read"), (39, "getpid")])
        self.assertEqual(t["x86"], [(17, "break"), (20, "getpid")])

    def test_rendered_module(self):
        files = generate(self.kernel)
        self.assertEqual(sorted(files), ["arm.rs", "arm64.rs", "x86.rs", "x86_64.rs"])
        self.assertEqual(files["arm64.rs"], ARM64_EXPECTED)
        self.assertIn('        (0xf0005, "set_tls"),\n', files["arm.rs"])
        self.assertIn("        3, 2, 1, 0, 4,\n", files["arm.rs"])

    def test_arm64_without_syscalltbl_reads_scripts_table(self):
        self.write(ARM64_MAKEFILE, "syscall_abis_64 += renameat\n")
        self.write("scripts/syscall.tbl", "17\tcommon\tgetcwd\t\t\tsys_getcwd\n")
        self.assertEqual(tables(self.kernel)["arm64"][1], [(17, "getcwd")])

    def test_number_twice_is_an_error(self):
        self.write("arch/x86/entry/syscalls/syscall_32.tbl", "20\ti386\tgetpid\n20\ti386\tgetppid\n")
        with self.assertRaisesRegex(InputError, r"syscall_32.tbl:2: number 20 is also 'getpid'"):
            tables(self.kernel)

    def test_name_twice_is_an_error(self):
        self.write("arch/x86/entry/syscalls/syscall_64.tbl", "0\tcommon\tread\n1\t64\tread\n")
        with self.assertRaisesRegex(InputError, r"syscall_64.tbl:2: 'read' is also number 0"):
            tables(self.kernel)

    def test_malformed_row_is_an_error(self):
        self.write("arch/arm/tools/syscall.tbl", "0\tcommon\trestart_syscall\nfoo\tcommon\n")
        with self.assertRaisesRegex(InputError, r"syscall.tbl:2: expected '<number> <abi> <name>"):
            tables(self.kernel)

    def test_private_call_clashing_with_the_table_is_an_error(self):
        self.write(ARM_UNISTD, FIXTURE[ARM_UNISTD] + "#define __ARM_NR_mmap2\t(__ARM_NR_BASE+7)\n")
        with self.assertRaisesRegex(InputError, r"mmap2 \(0xf0007\) clashes"):
            tables(self.kernel)

    def test_missing_file_names_the_path(self):
        os.remove(Path(self.kernel) / ARM_UNISTD)
        with self.assertRaisesRegex(InputError, r"asm/unistd.h: .*--kernel must be a Linux source tree"):
            tables(self.kernel)

    def test_check_passes_on_fresh_output_and_fails_on_a_changed_file(self):
        out = Path(self.kernel) / "out"
        run = ["--kernel", self.kernel, "--out", str(out)]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
            self.assertEqual(main(run), 0)
            self.assertEqual(main(run + ["--check"]), 0)
            (out / "x86.rs").write_text((out / "x86.rs").read_text().replace("getpid", "getppid"))
            self.assertEqual(main(run + ["--check"]), 1)
        self.assertIn("x86.rs differs from what", err.getvalue())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
