"""Runs every scim2-tester check against a running scimd.

Environment: SCIM_BASE (e.g. http://127.0.0.1:8080/scim/v2) and SCIM_TOKEN
(a scimd token with scope `scim`). Exits 1 when any check fails.
"""

import os
import sys

from httpx2 import Client
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

FAILED = (Status.ERROR, Status.CRITICAL)


def main() -> int:
    http = Client(
        base_url=os.environ["SCIM_BASE"],
        headers={"Authorization": f"Bearer {os.environ['SCIM_TOKEN']}"},
    )
    results = check_server(SyncSCIMClient(http))
    for result in results:
        line = f"{result.status.name:<10} {result.resource_type or '-':<6} {result.title}"
        if result.status in FAILED:
            line += f": {result.reason}"
        print(line)
    failed = sum(result.status in FAILED for result in results)
    print(f"scim2-tester: {len(results) - failed} passed, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
