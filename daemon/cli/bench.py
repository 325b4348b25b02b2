"""``maskwatch bench``: the benchmarks (from a checkout; they drive the daemon from above)."""

from __future__ import annotations

import argparse
from typing import Any

from daemon.cli.common import checkout_module


def cmd_bench(args: argparse.Namespace) -> int:
    if args.cuda:
        return int(checkout_module("bench", "bench.cuda").run_cuda_bench())
    return int(checkout_module("bench", "bench.run").run_bench(quick=args.quick, smoke=args.smoke))


def register(sub: Any) -> None:
    sp = sub.add_parser("bench", help="benchmarks against the naive loop")
    sp.add_argument("--quick", action="store_true")
    sp.add_argument("--smoke", action="store_true")
    sp.add_argument("--cuda", action="store_true", help="the detector on the GPU against this box's CPU")
    sp.set_defaults(func=cmd_bench)
