#!/usr/bin/env bash
# What each memory probe group costs on this machine, and what that comes to
# under a busy workload. A benchmark: it prints numbers and asserts nothing
# about them. Needs root (BPF, tracefs, setresuid, kernel.bpf_stats_enabled).
#
# 1. Cost per event, one group at a time (every other memory group off; the
#    syscalls group, which cannot be switched off, runs in every run). With
#    kernel.bpf_stats_enabled=1, one run of the group's workload gives the
#    average time per program run (`--section self`: programs[].run_count,
#    avg_ns). With stats off again, the workload runs REPS times with the
#    group off, on and (pagealloc, slab) at 1/16, in rotating order, as its
#    own UID, pinned to one CPU; the wall-clock time it adds per event is the
#    median over repetitions of (time on - time off), divided by the events
#    the group counted for that UID in its on runs (the median of them). The
#    workload's CPU time (wait4) is shown the same way: less sensitive to
#    other work on the machine. memsyscalls' syscall events hook every
#    syscall's entry and exit (the kernel checks whether a program is on that
#    syscall), so its cost on other syscalls (getppid) is measured too.
#    extfrag, reclaim, compaction and oom see rare events: their cost comes
#    from BPF stats in step 2, when events occur there at all.
# 2. Event rates of a busy mix: every group on, stats on, parallel loops of
#    page touching, slab objects, pipes, memory syscalls and compiling a
#    small C file (if a compiler is installed) for BUSY_SECONDS. Rates are
#    the groups' counters' deltas over every UID, per second; the CPU cost is
#    rate x cost per event, in percent of one CPU. Then the same for a
#    compile mix: one loop per CPU compiling that file (the CC columns).
# 3. The table: group, events per second, ns per event, % of one CPU at
#    full rate (`--probe GROUP=on`, the reference), and a suggested mode.
# 4. The shipped defaults, source by source, at the busy mix's rates, and
#    their total against the goal of 1% of one CPU:
#    - task counters (faults and rss): the exit program's BPF ns per run x
#      exits per second (BPF stats, busy mix), and the /proc polls: the CPU
#      of the last poll, as the daemon's probes line reports it (read during
#      the busy mix), over the poll period it reports;
#    - duty-cycled groups (the probes line says which, and W/P): full-rate
#      %CPU x W/P, plus memstatd's CPU for one attach and detach per period,
#      measured as the mean of DUTY_CYCLES on/off switches (requests
#      included: an upper bound);
#    - the rare groups, always on: their programs' time (BPF stats).
#    faults' and rss' per-event programs are off by default and not counted.
#
# Environment: REPS (9), BUSY_SECONDS (10), DUTY_CYCLES (20). memstatd gets
# its own pins, socket and state, removed on exit; kernel.bpf_stats_enabled
# is restored.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ "$(id -u)" -ne 0 ]; then
    echo "memory_cost.sh: needs root (BPF, tracefs, setresuid, sysctl)" >&2
    exit 1
fi
command -v python3 >/dev/null || {
    echo "memory_cost.sh: needs python3 (JSON parsing)" >&2
    exit 1
}
bash scripts/setup.sh
cargo build -q --release --workspace --bins

reps=${REPS:-9}
busy_seconds=${BUSY_SECONDS:-10}
bench_uid=61790 # the per-group workloads
busy_uid=61791  # the busy mix
bin=${CARGO_TARGET_DIR:-$PWD/target}/release
pins=/sys/fs/bpf/memstat-cost-$$
work=$(mktemp -d /tmp/memstat-cost.XXXXXX)
chmod 0755 "$work"
stats_knob=/proc/sys/kernel/bpf_stats_enabled
stats_before=$(cat "$stats_knob")
cpu=$(python3 -c 'import os; print(max(os.sched_getaffinity(0)))')
daemon=
loops=()

cleanup() {
    set +e
    trap '' INT TERM
    for p in "${loops[@]}"; do kill -- "-$p" 2>/dev/null; done
    for p in "${loops[@]}"; do wait "$p" 2>/dev/null; done
    echo "$stats_before" >"$stats_knob"
    if [ -n "$daemon" ]; then
        kill "$daemon" 2>/dev/null
        wait "$daemon" 2>/dev/null
    fi
    rm -rf "$pins" "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

memstat() { "$bin/memstat" --socket "$work/memstatd.sock" "$@"; }
stats() { echo "$1" >"$stats_knob"; }
now_ns() { local t=${EPOCHREALTIME/./}; echo "${t}000"; }

# How busy the machine is before we start (other work makes numbers noisy).
busy_before=$(python3 - <<'EOF'
import time
def snap():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]
t0, i0 = snap(); time.sleep(1); t1, i1 = snap()
print(round(100 * (1 - (i1 - i0) / max(1, t1 - t0))))
EOF
)

"$bin/memstatd" --host --pin-root "$pins" --socket "$work/memstatd.sock" \
    --state-dir "$work/state" </dev/null >/dev/null 2>"$work/memstatd.log" &
daemon=$!
until memstat --section header >/dev/null 2>&1; do
    kill -0 "$daemon" 2>/dev/null || {
        cat "$work/memstatd.log" >&2
        exit 1
    }
    sleep 0.1
done
memstat --section probes --json >"$work/defaults.json"

# The analysis: JSON files in, numbers out.
cat >"$work/cost.py" <<'EOF'
import json, os, re, shutil, statistics, sys, time

WORK = os.path.dirname(os.path.abspath(__file__))
GROUPS = ["faults", "pagealloc", "slab", "extfrag", "reclaim", "compaction", "oom", "rss", "memsyscalls"]
SAMPLABLE = {"faults", "pagealloc", "slab", "extfrag", "rss"}
RARE = ["extfrag", "reclaim", "compaction", "oom"]
SECTIONS = {
    "tracepoint/raw_syscalls/sys_exit": "syscalls",
    "tracepoint/raw_syscalls/sys_enter": "syscalls",
    "tracepoint/exceptions/page_fault_user": "faults",
    "perf_event/page_faults": "faults",
    "perf_event/major_faults": "faults",
    "tracepoint/kmem/mm_page_alloc": "pagealloc",
    "tracepoint/kmem/mm_page_alloc_5_10": "pagealloc",
    "tracepoint/kmem/mm_page_free": "pagealloc",
    "tracepoint/kmem/kmalloc": "slab",
    "tracepoint/kmem/kmem_cache_alloc": "slab",
    "tracepoint/kmem/kmem_cache_alloc_5_10": "slab",
    "tracepoint/kmem/kfree": "slab",
    "tracepoint/kmem/kmem_cache_free": "slab",
    "tracepoint/kmem/mm_page_alloc_extfrag": "extfrag",
    "tracepoint/kmem/rss_stat": "rss",
}
PREFIXES = {"tracepoint/vmscan/": "reclaim", "tracepoint/compaction/": "compaction", "tracepoint/oom/": "oom"}


def load(path):
    with open(os.path.join(WORK, path)) as f:
        return json.load(f)


def events(group, m):
    """A group's events in one UID's metrics (None: it counts none, rss)."""
    g = lambda k: m.get(k, 0)
    if group == "faults":
        return g("events.all")
    if group == "pagealloc":
        return g("allocs") + g("frees")
    if group == "slab":
        return g("kmalloc") + g("cache_alloc") + g("frees")
    if group == "memsyscalls":
        return sum(v for k, v in m.items() if k.endswith(".calls") and k != "shm.calls")
    if group == "extfrag":
        return g("events")
    if group == "reclaim":
        return g("direct.stalls") + g("memcg.stalls") + g("kswapd_wakeups") + g("kswapd_runs")
    if group == "compaction":
        return g("stalls") + g("direct") + g("kcompactd_wakeups")
    if group == "oom":
        return g("invoked") + g("kills")
    return None


def group_events(report, group, uid=None):
    for g in report.get("memory", []):
        if g["group"] != group:
            continue
        if uid is None and g.get("uids_total", 0) > len(g["uids"]):
            sys.exit(f"cost.py: {group}: only {len(g['uids'])} of {g['uids_total']} UIDs shown")
        rows = [u["metrics"] for u in g["uids"] if uid is None or u["uid"] == uid]
        if uid is None:
            rows.append(g.get("other") or {})
        n = [events(group, m) for m in rows]
        return None if None in n else sum(n)
    return 0


def syscalls(report, uid=None):
    n = sum(u["syscalls"] for u in report.get("uids", []) if uid is None or u["uid"] == uid)
    if uid is None:
        n += report.get("overflow", {}).get("count", 0)
    return n


def program_group(section):
    """The group of a program: by its object (`memStatFaults:tracepoint/...`
    names memStatFaults), else by its section."""
    obj = section.rpartition(":")[0]
    if obj.startswith("memStat"):
        return obj[len("memStat"):].lower()
    for prefix, name in PREFIXES.items():
        if section.startswith(prefix):
            return name
    return SECTIONS.get(section)


def programs(report):
    """Per group: (runs, ns) of its programs (avg_ns is truncated: ns is
    run_count * avg_ns, short by under 1 ns per run counted so far)."""
    out = {}
    for p in report["self"]["programs"]:
        g = program_group(p["section"])
        if g is None:
            continue
        runs, avg = p.get("run_count") or 0, p.get("avg_ns") or 0
        r, t = out.get(g, (0, 0))
        out[g] = (r + runs, t + runs * avg)
    return out


def prog_delta(a, b, group):
    r0, t0 = programs(a).get(group, (0, 0))
    r1, t1 = programs(b).get(group, (0, 0))
    return r1 - r0, t1 - t0


def fmt_int(n):
    return f"{n:,.0f}"


def cmd_run(*argv):
    """Runs argv (stdout to /dev/null); prints its wall-clock and CPU time
    (user + system, from wait4) in ns."""
    fa = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    t0 = time.monotonic_ns()
    pid = os.posix_spawn(shutil.which(argv[0]), list(argv), os.environ, file_actions=fa)
    _, status, ru = os.wait4(pid, 0)
    t1 = time.monotonic_ns()
    if status != 0:
        sys.exit(f"cost.py: {' '.join(argv)} failed: wait status {status}")
    print(t1 - t0, round((ru.ru_utime + ru.ru_stime) * 1e9))


def overflowed(a, b):
    return b.get("overflow", {}).get("count", 0) - a.get("overflow", {}).get("count", 0)


def cmd_group(group, workload, uid):
    """Step 1 for one group: prints its lines, writes res-GROUP.json."""
    uid = int(uid)
    runs, ns = prog_delta(load(f"{group}.a0.json"), load(f"{group}.a1.json"), group.split("-")[0])
    bpf_ns = ns / runs if runs else None
    wall, cpu, counted, lost = {}, {}, {}, 0
    with open(os.path.join(WORK, f"{group}.times")) as f:
        for line in f:
            rep, mode, w, c = line.split()
            name = mode.replace("/", "_")
            a, b = load(f"{group}.{rep}.{name}.0.json"), load(f"{group}.{rep}.{name}.1.json")
            if group == "memsyscalls-other":
                n = syscalls(b, uid) - syscalls(a, uid)
                lost += overflowed(a, b)
            else:
                n = group_events(b, group, uid)
                n = None if n is None else n - group_events(a, group, uid)
            wall.setdefault(mode, {})[rep] = int(w)
            cpu.setdefault(mode, {})[rep] = int(c)
            counted.setdefault(mode, []).append(n)
    if group == "rss":
        # rss keeps peaks, no count: its events are its program's runs in
        # the stats-on run of the same workload (every UID's, so a little
        # of other processes' too).
        ev, basis = runs, "program runs with stats on"
    else:
        ev = statistics.median(counted["on"])
        basis = "syscalls counted for the UID" if group == "memsyscalls-other" else "counted by the group"
    res = {"group": group, "events": ev, "bpf_ns": bpf_ns, "bpf_runs": runs, "basis": basis}
    parts = {}
    for kind, t in (("wall", wall), ("cpu", cpu)):
        for mode in ("on", "1/16"):
            if mode not in t:
                continue
            d = statistics.median(t[mode][r] - t["off"][r] for r in t["off"] if r in t[mode])
            key = ("ns_" if kind == "wall" else "cpu_") + ("on" if mode == "on" else "16")
            res[key] = d / ev if ev else None
            parts.setdefault(kind, []).append(f"{d / ev:+.1f} {mode}" if ev else f"no events {mode}")
    def medians(t):
        return ", ".join(f"{m} {statistics.median(t[m].values()) / 1e6:.1f}" for m in ("off", "on", "1/16") if m in t)
    spread = lambda t: (max(t["off"].values()) - min(t["off"].values())) / 1e6
    bpf = f"{bpf_ns:.0f} ns/run over {fmt_int(runs)} runs (stats on)" if runs else "no runs"
    pad = " " * 19
    print(f"  {group:<17} {workload}: {fmt_int(ev)} events/run ({basis})")
    print(f"{pad}wall ms: {medians(wall)} (off spread {spread(wall):.1f}); ns/event {', '.join(parts['wall'])}")
    print(f"{pad}CPU ms:  {medians(cpu)} (off spread {spread(cpu):.1f}); ns/event {', '.join(parts['cpu'])}")
    print(f"{pad}BPF: {bpf}")
    off_counted = max(counted["off"]) if group not in ("rss", "memsyscalls-other") else 0
    if off_counted:
        print(f"{pad}warning: {fmt_int(off_counted)} events counted with the group off")
    if lost:
        print(f"{pad}warning: {fmt_int(lost)} syscalls found the (UID, syscall) table full during these runs")
    with open(os.path.join(WORK, f"res-{group}.json"), "w") as f:
        json.dump(res, f)


def pct(rate, ns):
    return None if ns is None else rate * max(ns, 0.0) / 1e9 * 100


def mix(name, res):
    """Per group of one busy mix: events/s, the cost per event used, %CPU
    (full and at 1/16), the programs' ns per run and %CPU from BPF stats."""
    a, b = load(f"{name}.0.json"), load(f"{name}.1.json")
    with open(os.path.join(WORK, f"{name}.ns")) as f:
        seconds = int(f.read()) / 1e9
    all_sys = (syscalls(b) - syscalls(a)) / seconds
    out = {"seconds": seconds, "all_syscalls": all_sys}
    for g in GROUPS + ["syscalls"]:
        runs, ns_total = prog_delta(a, b, g)
        row = {"runs": runs / seconds, "bpf_run": ns_total / runs if runs else None,
               "bpf_pct": ns_total / seconds / 1e9 * 100}
        if g == "syscalls":
            out[g] = row
            continue
        n = group_events(b, g)
        row["rate"] = (runs if n is None else n - group_events(a, g)) / seconds
        r = res.get(g)
        if g in RARE or r is None:
            # The programs' own time, from BPF stats (None: no events).
            row.update(ns=row["bpf_run"], basis="bpf", pct=row["bpf_pct"] if runs else None, pct16=None)
        else:
            row.update(ns=r.get("ns_on"), basis="wall", pct=pct(row["rate"], r.get("ns_on")),
                       pct16=pct(row["rate"], r.get("ns_16")))
            other = res.get("memsyscalls-other", {}).get("ns_on")
            if g == "memsyscalls" and other is not None:
                # Its events hook every syscall: memory syscalls cost
                # ns_on, the others what getppid's cost (fork and exec
                # programs: in BPF %CPU only).
                row["pct"] += pct(max(all_sys - row["rate"], 0), other)
                row["other_ns"] = other
        out[g] = row
    return out


def cmd_table(main, second=None):
    defaults = {p["group"]: p for p in load("defaults.json")["probes"]}
    res = {}
    for g in GROUPS + ["memsyscalls-other"]:
        try:
            res[g] = load(f"res-{g}.json")
        except FileNotFoundError:
            pass
    m = mix(main, res)
    c = mix(second, res) if second else None
    f3 = lambda v: "-" if v is None else f"{v:.3f}"
    rows, over, over_c = [], [], []
    for g in GROUPS:
        d = defaults.get(g, {})
        if d.get("state") == "unavailable":
            rows.append((g, "-", "-", "-", "-", "-", "-", "-", "-", "-", "unavailable: " + d.get("detail", "")))
            continue
        default = "on" if d.get("state") == "live" else "off"
        if d.get("state") == "live" and d.get("sample_every", 1) > 1:
            default = f"1/{d['sample_every']}"
        elif "duty-cycled" in d.get("detail", ""):
            default = "duty"
        elif d.get("detail", "").startswith("task counters"):
            default = "tasks"
        r = m[g]
        cc = c[g] if c else {}
        if r["pct"] is None and g in RARE:
            sugg = default + " (rare: no events in the workload)"
        elif r["pct"] is None:
            sugg = "?"
        elif r["pct"] <= 1:
            sugg = "on"
        elif g in SAMPLABLE and r["pct16"] is not None and r["pct16"] <= 1:
            sugg = "1/16"
        else:
            sugg = "off"
        if r["pct"] is not None and r["pct"] > 1:
            over.append(f"{g} ({r['pct']:.2f}%)")
        if cc.get("pct") is not None and cc["pct"] > 1:
            over_c.append(f"{g} ({cc['pct']:.2f}%)")
        rows.append((g, default, fmt_int(r["rate"]),
                     "-" if r["ns"] is None else f"{r['ns']:.1f} ({r['basis']})",
                     "-" if r["bpf_run"] is None else f"{r['bpf_run']:.0f}",
                     f3(r["pct"]), f3(r["pct16"]), f3(r["bpf_pct"]) if r["runs"] else "-",
                     fmt_int(cc["rate"]) if cc else "-", f3(cc.get("pct")),
                     sugg))
    head = ("GROUP", "DEFAULT", "EVENTS/S", "NS/EVENT", "BPF NS/RUN", "%CPU", "%CPU@1/16", "BPF %CPU",
            "CC EVENTS/S", "CC %CPU", "SUGGESTED")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head) - 1)]
    print()
    for r in [head] + rows:
        cells = [str(x).ljust(w) if i < 2 else str(x).rjust(w) for i, (x, w) in enumerate(zip(r, widths))]
        print("  ".join(cells + [str(r[-1])]).rstrip())
    print()
    if "rss" in res:
        print("rss counts no events (it keeps peaks): its events are its program's runs (BPF stats).")
    ms = m["memsyscalls"]
    if "other_ns" in ms:
        print(f"memsyscalls' syscall events hook every syscall: {fmt_int(m['all_syscalls'])} syscalls/s, "
              f"{fmt_int(ms['rate'])} of them memory syscalls at {ms['ns']:.1f} ns, the rest at "
              f"{ms['other_ns']:.1f} ns (as getppid); its %CPU counts both.")
    for label, x in (("busy mix", m), ("compile mix", c)):
        if x and x["syscalls"]["runs"]:
            s = x["syscalls"]
            print(f"syscalls group (always on, in every run), {label}: {fmt_int(x['all_syscalls'])} syscalls/s, "
                  f"BPF {s['bpf_run']:.0f} ns/run, {s['bpf_pct']:.3f}% of one CPU in its program.")
    print("over 1% of one CPU at the busy mix's rates: " + (", ".join(over) if over else "none"))
    if c:
        print("over 1% of one CPU at the compile mix's rates: " + (", ".join(over_c) if over_c else "none"))


def cmd_defaults(main):
    """Step 4: each source's share of one CPU at the shipped defaults, at the
    busy mix's rates, and the total against the 1% goal."""
    defaults = {p["group"]: p for p in load("defaults.json")["probes"]}
    busy = {p["group"]: p for p in load(f"{main}.probes.json")["probes"]}
    res = {}
    for g in GROUPS + ["memsyscalls-other"]:
        try:
            res[g] = load(f"res-{g}.json")
        except FileNotFoundError:
            pass
    m, cycle = mix(main, res), load("duty-cycle.json")
    a, b = load(f"{main}.0.json"), load(f"{main}.1.json")
    rows, total = [], 0.0

    def add(source, basis, share):
        nonlocal total
        total += share or 0.0
        rows.append((source, f"{share:.3f}" if share is not None else "-", basis))

    tasks = next((busy[g]["detail"] for g in ("faults", "rss") if g in busy
                  and busy[g]["detail"].startswith("task counters")), None)
    if tasks is None:
        add("task counters", "not in use: " + busy.get("faults", {}).get("detail", "?"), None)
    else:
        runs, ns = prog_delta(a, b, "taskexit")
        per_s = runs / m["seconds"]
        per_run = ns / runs if runs else 0.0
        add("task counters: exit program", f"{fmt_int(per_s)} exits/s x {per_run:.0f} ns/run (BPF stats)",
            per_s * per_run / 1e9 * 100)
        poll = re.search(r"polled every (\d+) s \(last poll: (\d+) processes.*? in (\d+) \u00b5s", tasks)
        whole = re.search(r"read whole at each report \(last: (\d+) processes in (\d+) \u00b5s", tasks)
        if poll:
            period, procs, us = int(poll[1]), int(poll[2]), int(poll[3])
            also = f"; a report's whole read: {int(whole[2]):,} us for {whole[1]}" if whole else ""
            add("task counters: /proc polls",
                f"{us:,} us of CPU per poll of {procs} processes (probes line) / {period} s{also}",
                us / 1e6 / period * 100)
        else:
            add("task counters: /proc reads", "the probes line names no read cost: " + tasks, None)
    for g in GROUPS:
        d = defaults.get(g, {})
        detail = d.get("detail", "")
        if d.get("state") != "live" or detail.startswith("task counters"):
            continue
        r = m[g]
        cyc = re.search(r"duty-cycled: attached (\d+) ms in every (\d+) ms", detail)
        if cyc:
            w, p = int(cyc[1]), int(cyc[2])
            ns = cycle.get(g)
            full = r["pct"] or 0.0
            attach = 0.0 if ns is None else ns / (p * 1e6) * 100
            att = "-" if ns is None else f"{ns / 1e6:.2f} ms"
            add(f"{g} (duty {w}/{p} ms)",
                f"full rate {full:.3f}% x {w}/{p} = {full * w / p:.4f}% + attach/detach {att} "
                f"per {p / 1000:g} s = {attach:.4f}%", full * w / p + attach)
        elif g in RARE:
            add(f"{g} (on, rare)", f"{r['runs']:,.1f} runs/s, BPF stats", r["bpf_pct"])
        else:
            add(f"{g} (on)", f"{fmt_int(r['rate'])} events/s", r["pct"])
    print()
    print(f"Shipped defaults at the busy mix ({m['seconds']:.1f} s), each source's share of one CPU:")
    widths = [max(len(r[i]) for r in rows + [("SOURCE", "%CPU", "")]) for i in range(2)]
    print(f"  {'SOURCE'.ljust(widths[0])}  {'%CPU'.rjust(widths[1])}  BASIS")
    for src, share, basis in rows:
        print(f"  {src.ljust(widths[0])}  {share.rjust(widths[1])}  {basis}")
    verdict = "within" if total <= 1 else "OVER"
    print(f"memory statistics at the shipped defaults, busy mix: {total:.3f}% of one CPU; {verdict} the 1% goal")


if __name__ == "__main__":
    {"run": cmd_run, "group": cmd_group, "table": cmd_table, "defaults": cmd_defaults}[sys.argv[1]](*sys.argv[2:])
EOF
cost() { python3 "$work/cost.py" "$@"; }

# The groups this kernel can run (an unavailable group says why in --section probes).
read -r -a avail <<<"$(python3 -c 'import json,sys
print(" ".join(p["group"] for p in json.load(open(sys.argv[1]))["probes"]
               if p["group"] != "syscalls" and p["state"] != "unavailable"))' "$work/defaults.json")"
has() { [[ " ${avail[*]} " == *" $1 "* ]]; }
all_off() { for g in "${avail[@]}"; do memstat --probe "$g=off" >/dev/null; done; }

# The busy mix's compile loops build this file in a directory of the busy UID.
mkdir -p "$work/busy"
chown $busy_uid:$busy_uid "$work/busy"
cat >"$work/busy/small.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
struct node { struct node *next; char name[48]; };
int main(int argc, char **argv) {
    struct node *head = NULL;
    for (int i = 0; i < argc * 1000; i++) {
        struct node *n = malloc(sizeof *n);
        snprintf(n->name, sizeof n->name, "%s-%d", argv[0], i);
        n->next = head;
        head = n;
    }
    size_t total = 0;
    while (head) { struct node *n = head->next; total += strlen(head->name); free(head); head = n; }
    printf("%zu\n", total);
    return 0;
}
EOF
compiler=$(command -v cc || command -v gcc || command -v clang || command -v clang-19 || true)
# Warm-up: every group on, both UIDs make each kind of event once, so that
# their rows exist before other processes could fill the tables (1,024 UIDs
# per group, 16,384 (UID, syscall) pairs; rows that find a table full count
# in a shared bucket, not under their UID).
for g in "${avail[@]}"; do memstat --probe "$g=on" >/dev/null; done
for u in $bench_uid $busy_uid; do
    setpriv --reuid $u --regid $u --clear-groups "$bin/workload" touch:16 slab:16 pipe:16 \
        mmap:16:4096 mprotect:4:4096 brk:4:4096 mremap:4:8192 madvise:4:65536 getppid:16 >/dev/null
done
if [ -n "$compiler" ]; then
    (cd "$work/busy" && setpriv --reuid $busy_uid --regid $busy_uid --clear-groups "$compiler" -O2 -o small small.c)
fi

echo "memstat memory probe cost, $(uname -r) ($(uname -m)), $(nproc) CPUs; workloads pinned to CPU $cpu"
echo "CPU busy before the benchmark: ${busy_before}% of all CPUs (load average $(cut -d' ' -f1-3 /proc/loadavg))"
if [ "$busy_before" -gt 10 ]; then
    echo "note: other work is running: the numbers may be noisy"
fi

# Step 1: cost per event, one group at a time.
# measure NAME MODES DESCRIPTION OP...: NAME is a group, or memsyscalls-other
# (the memsyscalls group on calls it does not count). The stats-on run, then
# REPS rotations of MODES.
measure() {
    local name=$1 modes=$2 what=$3
    shift 3
    local group=${name%-other}
    local -a order
    read -r -a order <<<"$modes"
    all_off
    memstat --probe "$group=on" >/dev/null
    stats 1
    memstat --section self --json >"$work/$name.a0.json"
    taskset -c "$cpu" setpriv --reuid $bench_uid --regid $bench_uid --clear-groups \
        "$bin/workload" "$@" >/dev/null
    memstat --section self --json >"$work/$name.a1.json"
    stats 0
    : >"$work/$name.times"
    local rep i mode t
    for ((rep = 0; rep < reps; rep++)); do
        for ((i = 0; i < ${#order[@]}; i++)); do
            mode=${order[$(((i + rep) % ${#order[@]}))]}
            memstat --probe "$group=$mode" >/dev/null
            memstat --section "uids,overflow,$group" --uid $bench_uid --json >"$work/$name.$rep.${mode/\//_}.0.json"
            t=$(taskset -c "$cpu" python3 "$work/cost.py" run \
                setpriv --reuid $bench_uid --regid $bench_uid --clear-groups "$bin/workload" "$@")
            memstat --section "uids,overflow,$group" --uid $bench_uid --json >"$work/$name.$rep.${mode/\//_}.1.json"
            echo "$rep $mode $t" >>"$work/$name.times"
        done
    done
    cost group "$name" "$what" $bench_uid
}
rep_op() { local op=$1 n=$2; for ((k = 0; k < n; k++)); do printf '%s ' "$op"; done; }

echo
echo "Cost per event (only the group on; medians of $reps runs of each mode; ns/event: median of (on - off) / events):"
touch_ops=$(rep_op touch:20000 10)
slab_ops="$(rep_op slab:500 40) $(rep_op pipe:200 25)"
mmap_ops=$(rep_op mmap:50000:4096 2)
for g in faults rss pagealloc slab memsyscalls; do
    if ! has "$g"; then
        echo "  $g: unavailable on this kernel"
        continue
    fi
    case $g in
    faults | rss) measure "$g" "off on" "touch:20000 x10" $touch_ops ;;
    pagealloc) measure "$g" "off on 1/16" "touch:20000 x10" $touch_ops ;;
    slab) measure "$g" "off on 1/16" "slab:500 x40, pipe:200 x25" $slab_ops ;;
    memsyscalls)
        measure "$g" "off on" "mmap:50000:4096 x2" $mmap_ops
        measure memsyscalls-other "off on" "getppid:200000 (not counted: the events' cost on other syscalls)" getppid:200000
        ;;
    esac
done

# Step 2: the busy mix.
all_off
for g in "${avail[@]}"; do memstat --probe "$g=on" >/dev/null; done
busy_sections=uids,overflow,$(
    IFS=,
    echo "${avail[*]}"
),self
# A mix: mix_start NAME, busy_loop COMMAND... for each loop, mix_finish NAME.
mix_start() {
    memstat -a --section "$busy_sections" --json >"$work/$1.0.json"
    mix_t0=$(now_ns)
    end=$((EPOCHSECONDS + busy_seconds))
}
busy_loop() {
    setsid setpriv --reuid $busy_uid --regid $busy_uid --clear-groups bash -c \
        'end=$1; shift; cd "$0"; while ((EPOCHSECONDS < end)); do "$@" >/dev/null 2>&1 || exit 1; done' \
        "$work/busy" "$end" "$@" &
    loops+=($!)
}
mix_finish() {
    local p status=0
    for p in "${loops[@]}"; do wait "$p" || status=$?; done
    loops=()
    echo $(($(now_ns) - mix_t0)) >"$work/$1.ns"
    memstat -a --section "$busy_sections" --json >"$work/$1.1.json"
    [ $status -eq 0 ] || echo "warning: a loop of the $1 mix failed (status $status)" >&2
}

stats 1
mix_start busy
busy_loop "$bin/workload" touch:5000 touch:5000 mmap:2000:4096 madvise:200:65536
busy_loop "$bin/workload" $(rep_op slab:500 4) $(rep_op pipe:200 4)
busy_loop "$bin/workload" mmap:5000:4096 mprotect:500:4096 brk:200:4096 mremap:200:8192 getppid:5000
if [ -n "$compiler" ]; then
    busy_loop "$compiler" -O2 -o small small.c
    busy_what="touch and munmap; slab objects and pipes; memory syscalls; compiling a small C file with $compiler"
else
    busy_loop "$bin/workload" touch:2000 slab:200 pipe:100
    busy_what="touch and munmap; slab objects and pipes; memory syscalls; a bit of each"
fi
# The task counters' /proc read under load: this report makes one, and the
# probes line gives its cost.
sleep $((busy_seconds / 2))
memstat --section probes --json >"$work/busy.probes.json"
mix_finish busy
mixes=(busy)
if [ -n "$compiler" ]; then
    mix_start compile
    for ((k = 0; k < $(nproc); k++)); do busy_loop "$compiler" -O2 -o small$k small.c; done
    mix_finish compile
    mixes+=(compile)
fi
stats 0

echo
echo "Busy mix: 4 parallel loops as UID $busy_uid for ${busy_seconds} s ($busy_what), every group on,"
echo "BPF stats on; rates are of every UID (anything else running counts too)."
if [ -n "$compiler" ]; then
    echo "Compile mix (CC columns): $(nproc) parallel loops compiling a small C file with $compiler for ${busy_seconds} s."
fi
cost table "${mixes[@]}"
echo
echo "NS/EVENT: wall-clock time the group adds per event (step 1; rare groups: their programs' time, BPF stats)."
echo "BPF NS/RUN: the programs' own time per run in the busy mix (BPF stats; without the tracepoint's own cost)."
echo "%CPU: events/s x ns/event, in percent of one CPU (%CPU@1/16: at 1/16 sampling); BPF %CPU: the programs' time per second."
echo "SUGGESTED (from the busy mix): on at 1% of one CPU or less; else 1/16 if that is 1% or less; else off."
echo "DEFAULT: the shipped mode; tasks: task counters, per-event programs off; duty: duty-cycled (step 4)."

# Step 4: memstatd's CPU time per attach and detach of each duty-cycled
# group (on then off, with the two requests: an upper bound), then every
# source's share at the shipped defaults.
daemon_cpu_ns() { python3 -c 'import os,sys; f=open(f"/proc/{sys.argv[1]}/stat").read().rsplit(")",1)[1].split()
print(round((int(f[11])+int(f[12]))*1e9/os.sysconf("SC_CLK_TCK")))' "$daemon"; }
duty_cycles=${DUTY_CYCLES:-20}
read -r -a cycled <<<"$(python3 -c 'import json,sys
print(" ".join(p["group"] for p in json.load(open(sys.argv[1]))["probes"] if "duty-cycled" in p.get("detail", "")))' \
    "$work/defaults.json")"
all_off
echo "{" >"$work/duty-cycle.json"
sep=
for g in "${cycled[@]}"; do
    t1=$(daemon_cpu_ns)
    for ((k = 0; k < duty_cycles; k++)); do memstat --probe "$g=on" >/dev/null; memstat --probe "$g=off" >/dev/null; done
    t2=$(daemon_cpu_ns)
    echo "$sep\"$g\": $(((t2 - t1) / duty_cycles))" >>"$work/duty-cycle.json"
    sep=,
done
echo "}" >>"$work/duty-cycle.json"
cost defaults busy
echo "(attach/detach: memstatd's CPU per on/off switch, mean of $duty_cycles, requests included: an upper bound;"
echo " W/P and the poll period are the daemon's defaults, as its probes line reports them)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
