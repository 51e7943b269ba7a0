#!/usr/bin/env python3
"""Generated lifecycle sequences against the simulator (the reliability issue's sequence fuzzer).

Each case is a well-formed scenario made from a seed: two or three userspace processes that
interleave sysfs binds, unbinds, driver_override, drivers_probe, removes and rescans with
container/group/device opens, VFIO ioctls, DMA mappings, closes, delays and harness DMAs. Every
case runs under `vfiosim run` (build it with -DVFIOSIM_SANITIZE=ON to catch memory errors). A
case fails when the simulator dies by a signal, exits with anything but 0 or 1, prints a sanitizer
report, or reports a leak after a run that finished. Failing cases are kept in OUT/failures/.

    scripts/lifecycle_fuzz.py --vfiosim build-asan/vfiosim --cases 200 --seed 1 -o /tmp/fuzz
"""
import argparse
import json
import os
import random
import subprocess
import sys

DEVICES = ["0000:01:00.0", "0000:02:00.0", "0000:03:00.0", "0000:01:00.1", "0000:01:00.2"]
DRIVERS = ["vfiosim-dmae", "vfio-pci"]
PLATFORM = {
    "memory": {"size": "4GiB"},
    "iommu": {"preset": "broadwell-vtd"},
    "kernel": {"vfio_pci": {"enable_sriov": True}},
    "pci": {"root_ports": [
        {"bdf": "00:01.0", "children": [{"bdf": "01:00.0", "model": "dma-engine", "sriov": {"total_vfs": 2}}]},
        {"bdf": "00:02.0", "children": [{"bdf": "02:00.0", "model": "dma-engine"}]},
        {"bdf": "00:03.0", "children": [{"bdf": "03:00.0", "model": "dma-engine"}]},
    ]},
}


class Gen:
    def __init__(self, rng, processes):
        self.rng = rng
        self.procs = processes
        self.names = {p: {"C": [], "G": [], "D": [], "B": [], "E": []} for p in processes}
        self.n = 0

    def fresh(self, proc, kind):
        self.n += 1
        name = "%s%d" % (kind, self.n)
        self.names[proc][kind].append(name)
        return name

    def pick(self, proc, kind):
        lst = self.names[proc][kind]
        return self.rng.choice(lst) if lst else None

    def step(self, proc):
        r = self.rng
        dev = r.choice(DEVICES)
        choice = r.randrange(30)
        s = None
        if choice == 0:
            s = {"op": "sysfs_write", "path": "/sys/bus/pci/drivers/%s/unbind" % r.choice(DRIVERS), "value": dev}
        elif choice == 1:
            s = {"op": "sysfs_write", "path": "/sys/bus/pci/devices/%s/driver_override" % dev,
                 "value": r.choice(["vfio-pci", "vfio-pci", "\n", "vfiosim-dmae"])}
        elif choice == 2:
            s = {"op": "sysfs_write", "path": "/sys/bus/pci/drivers_probe", "value": dev}
        elif choice == 3:
            s = {"op": "sysfs_write", "path": "/sys/bus/pci/drivers/%s/bind" % r.choice(DRIVERS), "value": dev}
        elif choice == 4 and r.random() < 0.5:
            s = {"op": "sysfs_write", "path": "/sys/bus/pci/devices/%s/remove" % dev, "value": "1"}
        elif choice == 5:
            s = {"op": "sysfs_write", "path": r.choice(["/sys/bus/pci/rescan", "/sys/bus/pci/devices/0000:00:01.0/rescan"]),
                 "value": "1"}
        elif choice in (6, 7):
            s = {"op": "open", "path": "/dev/vfio/vfio", "as": self.fresh(proc, "C")}
        elif choice in (8, 9):
            s = {"op": "open", "path": "/dev/vfio/%d" % r.randrange(0, 5), "as": self.fresh(proc, "G")}
        elif choice == 10:
            g, c = self.pick(proc, "G"), self.pick(proc, "C")
            if g and c:
                s = {"op": "ioctl", "fd": g, "request": "VFIO_GROUP_SET_CONTAINER", "arg": c}
        elif choice == 11:
            c = self.pick(proc, "C")
            if c:
                s = {"op": "ioctl", "fd": c, "request": "VFIO_SET_IOMMU",
                     "arg": r.choice(["VFIO_TYPE1v2_IOMMU", "VFIO_TYPE1_IOMMU"])}
        elif choice == 12:
            g = self.pick(proc, "G")
            if g:
                s = {"op": "ioctl", "fd": g, "request": "VFIO_GROUP_GET_DEVICE_FD", "arg": dev,
                     "as": self.fresh(proc, "D")}
        elif choice == 13:
            g = self.pick(proc, "G")
            if g:
                s = {"op": "ioctl", "fd": g, "request": "VFIO_GROUP_UNSET_CONTAINER"}
        elif choice == 14:
            kind = r.choice(["C", "G", "D"])
            f = self.pick(proc, kind)
            if f:
                s = {"op": "close", "fd": f}
        elif choice == 15:
            s = {"op": "mmap", "size": r.choice(["64KiB", "1MiB", "4MiB"]), "as": self.fresh(proc, "B")}
        elif choice == 16:
            c, b = self.pick(proc, "C"), self.pick(proc, "B")
            if c and b:
                s = {"op": "ioctl", "fd": c, "request": "VFIO_IOMMU_MAP_DMA",
                     "arg": {"vaddr": b, "iova": r.choice([0, 0x100000, 0x10000000]), "size": "64KiB",
                             "flags": ["VFIO_DMA_MAP_FLAG_READ", "VFIO_DMA_MAP_FLAG_WRITE"]}}
        elif choice == 17:
            c = self.pick(proc, "C")
            if c:
                s = {"op": "ioctl", "fd": c, "request": "VFIO_IOMMU_UNMAP_DMA",
                     "arg": {"iova": r.choice([0, 0x100000, 0x10000000]), "size": "64KiB"}}
        elif choice == 18:
            d = self.pick(proc, "D")
            if d:
                s = {"op": "ioctl", "fd": d, "request": r.choice(["VFIO_DEVICE_RESET", "VFIO_DEVICE_GET_INFO"]),
                     **({"arg": {}} if r.random() < 0.5 else {})}
                if s["request"] == "VFIO_DEVICE_RESET":
                    s.pop("arg", None)
        elif choice == 19:
            s = {"op": "dma", "device": dev[5:], "direction": r.choice(["read", "write"]), "address": "0x10000000",
                 "size": 256, "count": r.choice([1, 16, 256])}
        elif choice == 20:
            s = {"op": "set_limits", "rlimit_memlock": r.choice(["64KiB", "1MiB", "64MiB"])}
        elif choice == 21:
            s = {"op": "sysfs_write", "path": "/sys/bus/pci/devices/0000:01:00.0/sriov_numvfs",
                 "value": r.choice(["0", "1", "2", "3"])}
        elif choice == 22:
            d = self.pick(proc, "D")
            if d:  # memory decode and bus mastering, or something else in the command register
                s = {"op": "pwrite", "fd": d, "region": "VFIO_PCI_CONFIG_REGION_INDEX", "offset": 4, "size": 2,
                     "value": r.choice([6, 6, 0, 0x406])}
        elif choice == 23:
            d = self.pick(proc, "D")
            if d:  # a DMA engine register: address, count, doorbell, status
                off, size, value = r.choice([(0x18, 8, r.choice([0, 0x100000, 0x10000000])), (0x30, 8, r.choice([1, 64])),
                                             (0x28, 4, 256), (0x2c, 4, 4), (0x0c, 4, 1), (0x10, 4, 6)])
                s = {"op": "pwrite", "fd": d, "region": "VFIO_PCI_BAR0_REGION_INDEX", "offset": off, "size": size,
                     "value": value}
        elif choice == 24:
            d = self.pick(proc, "D")
            if d:
                s = {"op": "pread", "fd": d, "region": r.choice(["VFIO_PCI_BAR0_REGION_INDEX",
                                                                  "VFIO_PCI_CONFIG_REGION_INDEX"]),
                     "offset": r.choice([0, 0x10, 0x58]), "size": 4}
        elif choice == 25:
            s = {"op": "eventfd", "as": self.fresh(proc, "E")}
        elif choice == 26:
            d, e = self.pick(proc, "D"), self.pick(proc, "E")
            if d and e:
                s = {"op": "ioctl", "fd": d, "request": "VFIO_DEVICE_SET_IRQS",
                     "arg": {"flags": ["VFIO_IRQ_SET_DATA_EVENTFD", "VFIO_IRQ_SET_ACTION_TRIGGER"],
                             "index": r.choice(["VFIO_PCI_MSIX_IRQ_INDEX", "VFIO_PCI_MSI_IRQ_INDEX",
                                                "VFIO_PCI_INTX_IRQ_INDEX", "VFIO_PCI_REQ_IRQ_INDEX"]),
                             "start": 0, "count": 1, "data": [e]}}
        elif choice == 27:
            e = self.pick(proc, "E")
            if e:
                s = {"op": "wait_eventfd", "fd": e, "timeout_ns": r.choice([0, 1000, 100000])}
        elif choice == 28 and r.random() < 0.3:
            s = {"op": "exec"}
            for kind in ("C", "G", "D", "B", "E"):  # descriptors and mappings go (no CLOEXEC is set, but
                self.names[proc][kind] = []        # the generator stops using them: names stay simple)
        elif choice == 29:
            s = {"op": "pci_config_write", "device": dev[5:], "offset": 4, "size": 2, "value": r.choice([0, 6])}
        if s is None:
            s = {"op": "delay", "duration_ns": r.choice([1, 100, 1000, 10000, 100000])}
        s["process"] = proc
        return s


def make_case(seed):
    rng = random.Random(seed)
    procs = ["main", "admin", "p2"][: rng.choice([2, 3])]
    g = Gen(rng, procs)
    steps = [g.step(rng.choice(procs)) for _ in range(rng.randrange(5, 40))]
    return {"name": "fuzz-%d" % seed, "description": "lifecycle fuzz case, seed %d" % seed,
            "seed": seed, "platform": PLATFORM, "steps": steps}


def run_case(vfiosim, case, out, max_time):
    path = os.path.join(out, "cases", case["name"] + ".json")
    with open(path, "w") as f:
        json.dump(case, f, indent=1)
    p = subprocess.run([vfiosim, "run", path, "-q", "-o", os.path.join(out, "runs", case["name"]),
                        "--max-time", max_time, "--max-wall", "60"],
                       capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                                UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"))
    text = p.stdout + p.stderr
    problems = []
    if p.returncode < 0:
        problems.append("killed by signal %d" % -p.returncode)
    elif p.returncode not in (0, 1):
        problems.append("exit code %d" % p.returncode)
    unfinished = "did not finish" in text
    for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:", "terminate called",
                   "internal error"):
        if marker in text and not (marker == "ERROR: LeakSanitizer" and unfinished):
            problems.append(marker)
    if "vfiosim: warn: leak:" in text or ("leak:" in text and "did not finish" not in text):
        problems.append("leak reported")
    # Known limitation: a run that never finishes (a process waits on itself, as on Linux) stops at
    # --max-time and abandons what its blocked threads hold; LeakSanitizer then reports it.
    stalled_leak = unfinished and "ERROR: LeakSanitizer" in text
    return problems, text, unfinished, stalled_leak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vfiosim", default="build/vfiosim")
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-time", default="1s", help="simulated time limit of each case")
    ap.add_argument("-o", "--out", default="vfiosim-out/fuzz")
    a = ap.parse_args()
    for d in ("cases", "runs", "failures"):
        os.makedirs(os.path.join(a.out, d), exist_ok=True)
    failed = unfinished = stalled_leaks = 0
    for i in range(a.cases):
        case = make_case(a.seed + i)
        problems, text, stalled, stalled_leak = run_case(a.vfiosim, case, a.out, a.max_time)
        unfinished += stalled
        stalled_leaks += stalled_leak
        if problems:
            failed += 1
            with open(os.path.join(a.out, "failures", case["name"] + ".json"), "w") as f:
                json.dump(case, f, indent=1)
            with open(os.path.join(a.out, "failures", case["name"] + ".log"), "w") as f:
                f.write(text)
            print("%s: %s" % (case["name"], ", ".join(problems)), flush=True)
    print("%d cases did not finish (blocked for good, as on Linux); %d of them left memory behind under "
          "LeakSanitizer (the known hung-run limitation)" % (unfinished, stalled_leaks))
    print("%d passed, %d failed" % (a.cases - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
