"""`make bench`: the benchmark of issue 14, from a world to a report.

    .venv/bin/python bench/run.py [--sizes 10000 100000] [--reuse] [--baseline COMMIT]

For each size: a world in a scratch PostgreSQL database (bench/world.py; --reuse keeps one
built before), then its pages per role (bench/pages.py: queries, p50/p95 against the bare SQL,
our task list against viewflow's inbox) and, at the largest size, the load test
(bench/load.py: gunicorn, 50 connections for 60 s), with --baseline also against that commit's
code on the same world and machine; last, the access log's chain throughput with 1, 2, 4 and 8
writers (bench/chain.py). Each step's own report goes into bench/var/report-<time>.md, whose
name is printed at the end; bench/RESULTS.md holds a run chosen for the record.

Everything runs on loopback, in databases named palegg_bench_*, bounded in requests and time.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
PYTHON = sys.executable
SERVER = "postgres://postgres@127.0.0.1:5432"


def run(*args, **kwargs):
    print("$", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=REPO, **kwargs)


def world(size, reuse) -> Path:
    manifest = HERE / "var" / f"world-{size}.json"
    if reuse and manifest.exists():
        print(f"Reusing the world of {size} orders ({manifest}).", flush=True)
    else:
        run(
            PYTHON,
            HERE / "world.py",
            "--size",
            size,
            "--manifest",
            manifest,
            "--database-url",
            f"{SERVER}/palegg_bench_{size}",
        )
    return manifest


def baseline_checkout(commit, stack):
    """A worktree of ``commit`` for the load test's comparison (removed at the end)."""
    path = Path(tempfile.mkdtemp(prefix="palegg-baseline-")) / "code"
    run("git", "worktree", "add", "--detach", path, commit)
    stack.append(lambda: run("git", "worktree", "remove", "--force", path))
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[10_000, 100_000])
    parser.add_argument("--reuse", action="store_true", help="keep worlds built before")
    parser.add_argument("--baseline", help="a commit whose code the load test also measures")
    parser.add_argument("--requests", type=int, default=50, help="timed requests per page")
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    report = HERE / "var" / f"report-{stamp}.md"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(f"# make bench, {time.strftime('%Y-%m-%d %H:%M')}\n\n")
    cleanup = []
    try:
        previous = None
        for size in args.sizes:
            manifest = world(size, args.reuse)
            results = HERE / "var" / f"pages-{size}-{stamp}"
            pages = [
                PYTHON,
                HERE / "pages.py",
                "--manifest",
                manifest,
                "--requests",
                args.requests,
                "--markdown",
                results.with_suffix(".md"),
                "--json",
                results.with_suffix(".json"),
            ]
            if previous:
                pages += ["--baseline", previous.with_suffix(".json")]
            run(*pages)
            with report.open("a") as out:
                out.write(f"\n## Pages at {size:,} orders\n\n")
                out.write(results.with_suffix(".md").read_text())
            previous = results
        largest = HERE / "var" / f"world-{max(args.sizes)}.json"
        with report.open("a") as out:
            out.write(f"\n## Load at {max(args.sizes):,} orders\n\n")
        run(PYTHON, HERE / "load.py", "--manifest", largest, "--markdown", report)
        if args.baseline:
            code = baseline_checkout(args.baseline, cleanup)
            with report.open("a") as out:
                out.write(f"\n## Load at {max(args.sizes):,} orders, code of {args.baseline}\n\n")
            run(
                PYTHON,
                HERE / "load.py",
                "--manifest",
                largest,
                "--markdown",
                report,
                "--code-dir",
                code,
            )
        with report.open("a") as out:
            out.write("\n## The access log's chain\n\n```\n")
            out.flush()
            run(
                PYTHON,
                HERE / "chain.py",
                "--database-url",
                f"{SERVER}/palegg_bench_chain",
                stdout=out,
            )
            out.write("```\n")
    finally:
        for step in reversed(cleanup):
            step()
    print(f"\nReport: {report}")


if __name__ == "__main__":
    main()
