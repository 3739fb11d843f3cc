#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
# Test data for mirror tests: generate a tree of mixed sizes, or change it
# (rewrite 1 % of the 4 KiB blocks of some files, add some, delete some).
#   mirror-gen.py gen DIR COUNT MAXSIZE SEED
#   mirror-gen.py change DIR SEED
import os, random, sys

def gen(d, count, maxsize, seed):
    r = random.Random(seed)
    os.makedirs(d, exist_ok=True)
    total = 0
    for i in range(count):
        # Mostly small, a few large, always a couple at the maximum.
        if i < 2:
            size = maxsize
        elif r.random() < 0.05:
            size = r.randint(maxsize // 16, maxsize // 2)
        else:
            size = int(2 ** r.uniform(8, 18))
        sub = os.path.join(d, "d%02d" % (i % 17))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "f%04d.bin" % i), "wb") as f:
            f.write(r.randbytes(size))
        total += size
    print(total)

def change(d, seed):
    r = random.Random(seed)
    files = sorted(os.path.join(p, n) for p, _, ns in os.walk(d) for n in ns)
    r.shuffle(files)
    n = len(files)
    changed = files[: max(1, n // 10)]
    deleted = files[n // 10 : n // 10 + max(1, n // 50)]
    for path in changed:
        size = os.path.getsize(path)
        blocks = max(1, size // 4096)
        with open(path, "r+b") as f:
            for b in r.sample(range(blocks), max(1, blocks // 100)):
                f.seek(b * 4096)
                f.write(r.randbytes(min(4096, max(1, size - b * 4096))))
    for path in deleted:
        os.unlink(path)
    for i in range(max(1, n // 50)):
        with open(os.path.join(d, "d00", "new%04d.bin" % i), "wb") as f:
            f.write(r.randbytes(int(2 ** r.uniform(8, 18))))
    print(len(changed), len(deleted))

if sys.argv[1] == "gen":
    gen(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
else:
    change(sys.argv[2], int(sys.argv[3]))
