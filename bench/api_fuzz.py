"""Endurance: fuzz the console's API with schemathesis against its own OpenAPI document.

Starts a channel and the console on a free port, makes an operator token, and runs
``schemathesis run /api/openapi.json`` with that token (every operation, generated bodies and parameters):
no response may be a 5xx, and every response must match the schema the API publishes.  schemathesis is not a
livehost dependency: ``pip install schemathesis`` first.

    .venv/bin/python bench/api_fuzz.py [--max-examples 50]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


async def main(max_examples: int) -> int:
    from bench._console import console_with_channel

    cli = shutil.which("schemathesis") or str(Path(sys.executable).with_name("schemathesis"))
    if not Path(cli).exists():
        print("schemathesis is not installed: pip install schemathesis", file=sys.stderr)
        return 2
    async with console_with_channel("livehost-fuzz-") as rig:
        await rig.runner.wait_started()
        await asyncio.sleep(3)
        proc = await asyncio.create_subprocess_exec(
            cli, "run", rig.url + "api/openapi.json", "--url", rig.url.rstrip("/"),
            "-H", f"Authorization: Bearer {rig.token}",
            "--checks", "not_a_server_error,response_schema_conformance,status_code_conformance",
            "--max-examples", str(max_examples), "--workers", "1", "--no-color")
        code = await proc.wait()
    print(f"schemathesis exit status {code}: {'no 5xx, every response as documented' if code == 0 else 'see above'}")
    return code


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--max-examples", type=int, default=50)
    sys.exit(asyncio.run(main(ap.parse_args().max_examples)))
