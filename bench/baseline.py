"""The baseline: what a competent user writes in an afternoon to remove thumbnails in bulk.

Reads a CSV (workspace,person_id,thumbnail_id), groups the ids per person, and sends one signed
DELETE per person over one aiohttp session, at most C at once (a semaphore around
`asyncio.gather`). No retries, no ledger, no rate limit. Credentials: THUMBSWEEP_ACCESS_KEY and
THUMBSWEEP_SECRET_KEY. Usage: `python bench/baseline.py FILE --base-url URL --concurrency C`.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import hashlib
import hmac
import os
import sys
import time
from urllib.parse import quote

import aiohttp


def signed_headers(method: str, path: str, access: str, secret: str) -> dict[str, str]:
    """API Gateway v2 headers: HMAC-SHA256 over "METHOD path\\ntimestamp\\naccess_key"."""
    timestamp = str(int(time.time() * 1000))
    message = f"{method} {path}\n{timestamp}\n{access}".encode()
    digest = hmac.new(secret.encode(), message, hashlib.sha256).digest()
    return {
        "x-ncp-apigw-timestamp": timestamp,
        "x-ncp-iam-access-key": access,
        "x-ncp-apigw-signature-v2": base64.b64encode(digest).decode(),
    }


def read_persons(file_name: str) -> dict[tuple[str, str], list[int]]:
    """The CSV's thumbnail ids grouped by (workspace, person_id)."""
    persons: dict[tuple[str, str], list[int]] = {}
    with open(file_name, newline="", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            key = (row["workspace"], row["person_id"])
            persons.setdefault(key, []).append(int(row["thumbnail_id"]))
    return persons


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
                    ok = r.status == 200 and (await r.json()).get("code") == "0"
            except (aiohttp.ClientError, ValueError):
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
    print(f"baseline: {len(persons)} requests, {failures} failures, finished in {wall:.2f} s",
          file=sys.stderr)  # fmt: skip
    sys.exit(1 if failures else 0)
