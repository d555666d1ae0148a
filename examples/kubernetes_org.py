"""Run Roster's main job on the example organisation, end to end.

1. Start ``roster serve`` on its default database (a SQLite file, see
   ``roster serve --help``) or on ``--database URL``, on a free loopback port.
2. Create the organisation ``kubernetes`` if it is missing, and an API key.
3. Import ``examples/kubernetes-org`` (1,276 people, 284 teams). A second run
   finds nothing to change.
4. List the users page by page and the groups, as a table and as JSON, through the
   ``roster`` CLI and through the Python SDK.
5. Stop the server it started and revoke the key it created.

Usage: python examples/kubernetes_org.py [--database URL]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

import roster
from roster.exceptions import GroupError, UserError

HERE = Path(__file__).resolve().parent
DATA = HERE / "kubernetes-org"
ORG = "kubernetes"


def roster_cli(*args: str, env: dict[str, str], check: bool = True) -> str:
    """Run ``roster ARGS`` and return its standard output."""
    result = subprocess.run(
        [sys.executable, "-m", "roster.cli", *args],
        env=env,
        text=True,
        capture_output=True,
    )
    if check and result.returncode != 0:
        sys.exit(f"roster {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def heading(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit("roster serve exited before it was ready; see its log above")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    sys.exit(f"roster serve did not become ready at {url} within 30 s")


def list_with_the_sdk(url: str, api_key: str) -> None:
    with roster.Client(base_url=url, api_key=api_key) as client:
        heading("SDK: client.users.list_users(limit=100, page=N) until an empty page")
        all_users = []
        page = 1
        try:
            while True:
                batch = client.users.list_users(limit=100, page=page)
                if not batch:
                    break
                all_users.extend(batch)
                first = batch[0]
                print(
                    f"page {page:2}: {len(batch):3} users, first {first['name']} "
                    f"<{first['email']}>"
                )
                page += 1
        except UserError as error:
            sys.exit(f"listing users failed: {error}")
        emails = {user["email"] for user in all_users}
        print(f"{len(all_users)} users, {len(emails)} distinct emails")

        heading('SDK: client.users.list_users(limit=5, output_format="text")')
        print(client.users.list_users(limit=5, output_format="text"))

        heading("SDK: client.users.list_groups()")
        try:
            groups = client.users.list_groups()
        except GroupError as error:
            sys.exit(f"listing groups failed: {error}")
        system = [g for g in groups if g.get("system")]
        nested = [g for g in groups if g.get("parent_id")]
        print(
            f"{len(groups)} groups: {len(system)} system, "
            f"{len(groups) - len(system)} custom, {len(nested)} nested"
        )
        largest = sorted(groups, key=lambda g: -g["member_count"])[:5]
        for group in largest:
            kind = "System" if group["system"] else "Custom"
            print(f"  {group['name']} ({kind}): {group['member_count']} members")

        heading('SDK: client.users.list_groups(output_format="text"), first lines')
        print(
            "\n".join(client.users.list_groups(output_format="text").splitlines()[:8])
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="database URL or SQLite path")
    args = parser.parse_args()

    env = dict(os.environ)
    if args.database:
        env["ROSTER_DATABASE_URL"] = args.database
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    key_name: str | None = None
    heading(f"Starting roster serve on {url}")
    server = subprocess.Popen(
        [sys.executable, "-m", "roster.cli", "serve", "--port", str(port)], env=env
    )
    try:
        wait_until_ready(url, server)

        heading(f"Organisation {ORG!r} and an API key")
        if ORG not in roster_cli("orgs", "list", env=env).split():
            print(roster_cli("orgs", "create", ORG, env=env), end="")
        key_name = f"demo-{secrets.token_hex(4)}"
        api_key = roster_cli(
            "keys", "create", "--org", ORG, "--name", key_name, env=env
        )
        api_key = api_key.strip()
        print(f"created key {key_name!r}")
        env.update(ROSTER_URL=url, ROSTER_API_KEY=api_key)

        heading(f"roster import --org {ORG} {DATA.relative_to(HERE.parent)}")
        print(roster_cli("import", "--org", ORG, str(DATA), env=env), end="")

        heading("roster users list --limit 10")
        print(roster_cli("users", "list", "--limit", "10", env=env), end="")

        heading("roster users list --limit 10 --page 50 (names in many scripts)")
        print(
            roster_cli("users", "list", "--limit", "10", "--page", "50", env=env),
            end="",
        )

        heading("roster users list --all --output json")
        users = json.loads(roster_cli("users", "list", "--all", "-o", "json", env=env))
        print(f"{len(users)} users; the first one:")
        print(json.dumps(users[0], ensure_ascii=False, indent=2))

        heading("roster groups list (first 15 lines)")
        groups_table = roster_cli("groups", "list", env=env)
        print("\n".join(groups_table.splitlines()[:15]))

        heading("roster groups list --output json (first group)")
        groups = json.loads(roster_cli("groups", "list", "-o", "json", env=env))
        print(f"{len(groups)} groups; the first one:")
        print(json.dumps(groups[0], ensure_ascii=False, indent=2))

        list_with_the_sdk(url, api_key)
    finally:
        heading("Stopping roster serve")
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        print(f"roster serve exited with code {server.returncode}")
        if key_name is not None:
            # Each run makes a key of its own; revoking it leaves no usable
            # admin key behind in the database.
            roster_cli("keys", "revoke", "--org", ORG, "--name", key_name, env=env)
            print(f"revoked key {key_name!r}")


if __name__ == "__main__":
    main()
