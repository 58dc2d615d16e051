"""Import time of `import naheo_spec` vs `import larch` (the anchor), each in fresh processes.

    python benchmarks/bench_import.py [--repeat 5]

Prints the best and median wall time of each and the ratio; the target is < 0.5 s for
naheo_spec (issue 7). Numbers move with machine load; compare within one run.
"""
import argparse
import statistics
import subprocess
import sys

CODE = "import time; t = time.perf_counter(); import {mod}; print(time.perf_counter() - t)"


def timed(mod: str, repeat: int) -> list[float]:
    return [float(subprocess.run([sys.executable, "-c", CODE.format(mod=mod)],
                                 capture_output=True, text=True, check=True).stdout.split()[-1])
            for _ in range(repeat)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    ours, larch = timed("naheo_spec", args.repeat), timed("larch", args.repeat)
    for name, t in (("naheo_spec", ours), ("larch", larch)):
        print(f"import {name:10s} best {min(t):.3f} s  median {statistics.median(t):.3f} s")
    print(f"ratio (larch / naheo_spec, best): {min(larch) / min(ours):.1f}x; "
          f"naheo_spec under 0.5 s: {min(ours) < 0.5}")


if __name__ == "__main__":
    main()
