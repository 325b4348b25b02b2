"""``maskwatch bench`` and ``maskwatch soak``: benchmarks and the soak (from a checkout; they
drive the daemon from above)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from daemon.cli.common import CommandError, checkout_module


def cmd_bench(args: argparse.Namespace) -> int:
    if args.cuda:
        if args.detect_size or args.tiles > 1 or args.mirror is not None:
            raise CommandError(
                "--cuda measures the shipped settings; --detect-size, --tiles and --mirror are for the CPU runs"
            )
        return int(checkout_module("bench", "bench.cuda").run_cuda_bench())
    if args.detect_size is not None:
        from pydantic import ValidationError

        from config.runtime import InferenceSettings

        try:
            InferenceSettings(detect_size=args.detect_size)
        except ValidationError as exc:
            raise CommandError(f"--detect-size {args.detect_size}: {exc.errors()[0]['msg']}") from None
    bench = checkout_module("bench", "bench.run")
    return int(
        bench.run_bench(
            quick=args.quick, smoke=args.smoke, detect_size=args.detect_size, tiles=args.tiles, mirror=args.mirror
        )
    )


def cmd_soak(args: argparse.Namespace) -> int:
    """The real daemon on loopback servers under a fault schedule; one key=value line, exit 0 if every invariant held."""
    try:
        soak = checkout_module("soak", "bench.soak")
    except ImportError as exc:  # aiosmtpd and psutil come with the dev extras
        raise CommandError(f"{exc}; install the dev extras (deploy/install.sh --dev)") from None
    try:
        duration = soak.QUICK_S if args.quick else soak.parse_duration(args.duration)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if not args.quick and duration < 300:
        raise CommandError("--duration must be at least 5m (one cycle of faults); --quick is the short one")
    workdir = Path(args.workdir) if args.workdir else None
    if workdir is not None and workdir.exists() and any(workdir.iterdir()):
        raise CommandError(f"--workdir {workdir} is not empty (its database would count)")
    try:
        return int(soak.run_soak(soak.SoakOptions(duration, args.quick, args.seed, args.transport, args.db, workdir)))
    except FileNotFoundError as exc:  # no ../shared clips, or a server binary missing
        raise CommandError(str(exc)) from None


def register(sub: Any) -> None:
    sp = sub.add_parser("bench", help="benchmarks against the naive loop")
    sp.add_argument("--quick", action="store_true")
    sp.add_argument("--smoke", action="store_true")
    sp.add_argument("--cuda", action="store_true", help="the detector on the GPU against this box's CPU")
    sp.add_argument("--detect-size", type=int, help="detector input in px (default inference.detect_size's)")
    sp.add_argument(
        "--tiles", type=int, default=1, choices=range(1, 5), help="every camera a wide view (1280 px) in N windows"
    )
    sp.add_argument(
        "--mirror",
        action=argparse.BooleanOptionalAction,
        help="mirror averaging on or off (default inference.detect_mirror's)",
    )
    sp.set_defaults(func=cmd_bench)

    sp = sub.add_parser("soak", help="soak and chaos: the daemon on loopback servers under faults, then invariants")
    length = sp.add_mutually_exclusive_group()
    length.add_argument("--duration", default="1h", help="how long: 90s, 20m, 1h (default 1h)")
    length.add_argument("--quick", action="store_true", help="one short cycle of faults in about 3 minutes (CI)")
    sp.add_argument("--seed", type=int, default=0, help="seed of the fault schedule")
    sp.add_argument("--transport", choices=["memory", "redis"], default="memory")
    sp.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    sp.add_argument(
        "--workdir", help="keep logs, database and snapshots here (default: a temp dir, removed on success)"
    )
    sp.set_defaults(func=cmd_soak)
