"""The options of `thumbsweep emulate`, kept apart so that `thumbsweep run` starts without
importing the emulator's web server."""

from __future__ import annotations

import argparse


def add_emulator_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `thumbsweep emulate`."""
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0,
        help="log one line per request on stderr (method, path, status, latency)",
    )  # fmt: skip
    parser.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    parser.add_argument("--access-key", help="default: THUMBSWEEP_ACCESS_KEY from the "
                        "environment or .env, else demo-access-key")  # fmt: skip
    parser.add_argument("--secret-key", help="default: THUMBSWEEP_SECRET_KEY from the "
                        "environment or .env, else demo-secret-key")  # fmt: skip
    parser.add_argument("--latency-ms", type=float, default=0.0, help="added to every request")
    parser.add_argument("--fault-429-rate", type=float, default=0.0, help="share answered 429")
    parser.add_argument("--fault-5xx-rate", type=float, default=0.0, help="share answered 503")
    parser.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped connections")
    parser.add_argument(
        "--fault-keep-rate",
        type=float,
        default=0.0,
        help='share answered 200 code "0" while the requested ids stay (nothing removed)',
    )
    parser.add_argument("--retry-after", help="Retry-After value sent with 429s")
    parser.add_argument("--seed", type=int, help="seed for the random faults")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=0.0,
        help="signed requests per second allowed (token bucket; excess gets 429); 0: no limit",
    )
    parser.add_argument(
        "--rate-burst", type=float, help="token bucket capacity (default: max(1, rate/10))"
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help='JSON Lines of persons, one a line: {"workspace", "person_id", '
        '"thumbnail_ids", "primary" (optional)}; unknown persons then answer 404, as the '
        "API does. Without it persons are created on first sight and a person look-up "
        "answers the gateway's 404 (the preflight cannot check)",
    )
    parser.add_argument(
        "--keepalive-timeout",
        type=float,
        help="seconds before an idle keep-alive connection is closed (default: aiohttp's)",
    )
