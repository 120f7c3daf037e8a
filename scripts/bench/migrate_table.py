"""The table of the `migrate` benchmark (scripts/bench/migrate.sh), in
Markdown: each run's wall time, rate, peak memory and exit status, and its
ratio to the bare copy script from the same source; then what each run
says it did.

    python migrate_table.py RESULTS_TSV WORK N
"""

import json
import sys

RUNS = [
    ("bare_local", "bare_local", "bare copy script, local → Garage (read, PUT)"),
    ("ours_local", "bare_local", "`migrate --move`, local → Garage"),
    ("rclone_local", "bare_local", "`rclone move`, local → Garage"),
    ("bare_redis", "bare_redis", "bare copy script, Redis → Garage (GET, PUT)"),
    ("ours_redis", "bare_redis", "`migrate --move`, Redis → Garage"),
]


def main() -> None:
    results, work, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rows = {}
    with open(results, encoding="utf-8") as f:
        for line in f:
            name, secs, kib, rc = line.rstrip("\n").split("\t")
            rows[name] = (float(secs), int(kib), int(rc))
    print(f"| run ({n:,} traces, 16 at once) | wall s | traces/s | peak MiB | exit | vs the bare copy |")
    print("|---|---|---|---|---|---|")
    for name, base, what in RUNS:
        if name not in rows:
            continue
        secs, kib, rc = rows[name]
        ratio = secs / rows[base][0] if base in rows and rows[base][0] else float("nan")
        print(f"| {what} | {secs:.1f} | {n / secs:,.0f} | {kib / 1024:.0f} | {rc} | {ratio:.2f}× |")
    print()
    for name in ("ours_local", "ours_redis", "bare_local", "bare_redis"):
        try:
            with open(f"{work}/{name}.out", encoding="utf-8") as f:
                said = json.load(f)
        except (OSError, ValueError):
            continue
        keys = ("copied", "removed_from_source", "failed", "errors")
        print(f"- `{name}`: " + ", ".join(f"{k} {said[k]}" for k in keys if k in said and not isinstance(said[k], list)))


if __name__ == "__main__":
    main()
