"""The container's health check: GET /healthz on the console; exit 0 when it answers 200, 1 otherwise.

LIVEHOST_HEALTH_URL overrides the address (default http://127.0.0.1:8080/healthz).
"""

import json
import os
import sys
import urllib.error
import urllib.request

url = os.environ.get("LIVEHOST_HEALTH_URL", "http://127.0.0.1:8080/healthz")
try:
    with urllib.request.urlopen(url, timeout=4) as r:  # noqa: S310 - a fixed local URL
        body = json.load(r)
except urllib.error.HTTPError as e:
    print(f"unhealthy: HTTP {e.code}: {e.read(500).decode(errors='replace')}")
    sys.exit(1)
except (OSError, ValueError) as e:
    print(f"unhealthy: {e}")
    sys.exit(1)
print(body.get("status"), body.get("channels"))
sys.exit(0)
