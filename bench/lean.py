"""The leanest afternoon script: the baseline without JSON, for CPU per request at its floor.

As `baseline.py` (same CSV reading, signing, one aiohttp session, a semaphore around
`asyncio.gather`), but each response body is read and not parsed: a request counts as done when
its status is 200. No retries, no ledger, no rate limit, no check of the API's `code`.
Usage: `python bench/lean.py FILE --base-url URL --concurrency C`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from urllib.parse import quote

import aiohttp

from baseline import read_persons, signed_headers


async def send_all(persons: dict[tuple[str, str], list[int]], base_url: str, limit: int) -> int:
    """One signed DELETE per person, at most `limit` at once; the number that failed."""
    access, secret = os.environ["THUMBSWEEP_ACCESS_KEY"], os.environ["THUMBSWEEP_SECRET_KEY"]
    semaphore = asyncio.Semaphore(limit)
    failures = 0

    async def delete(session: aiohttp.ClientSession, workspace: str, person: str) -> None:
        nonlocal failures
        path = f"/api/v1/workspaces/{quote(workspace, safe='')}/persons/{person}/person-thumbnail"
        body = {"thumbnailIds": persons[workspace, person]}
        async with semaphore:
            try:
                headers = signed_headers("DELETE", path, access, secret)
                async with session.delete(base_url + path, headers=headers, json=body) as r:
                    await r.read()
                    ok = r.status == 200
            except aiohttp.ClientError:
                ok = False
        failures += not ok

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit)) as session:
        await asyncio.gather(*(delete(session, w, p) for w, p in persons))
    return failures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("file")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    started = time.perf_counter()
    persons = read_persons(args.file)
    failures = asyncio.run(send_all(persons, args.base_url.rstrip("/"), args.concurrency))
    wall = time.perf_counter() - started
    print(f"lean: {len(persons)} requests, {failures} failures, finished in {wall:.2f} s",
          file=sys.stderr)  # fmt: skip
    sys.exit(1 if failures else 0)
