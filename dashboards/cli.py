"""``livehost user``: console users and API tokens (kept in ``$LIVEHOST_HOME/users.json``)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from dashboards.users import ROLES, UserError, UserStore
from livehost.app.cli import Edge


def add_parsers(sub: Any) -> None:
    us = sub.add_parser("user", help="console users and API tokens (kept in $LIVEHOST_HOME/users.json)")
    usub = us.add_subparsers(dest="user_command", required=True)
    ua = usub.add_parser("add", help="create a user (asks for the password)")
    ua.add_argument("name")
    ua.add_argument("--role", required=True, choices=ROLES)
    ua.add_argument("--tenant", help="the tenant whose channels the user sees (default: all)")
    ua.add_argument("--password-stdin", action="store_true", help="read the password from stdin (scripts)")
    ua.add_argument("--no-password", action="store_true", help="no console login: API tokens only")
    ua.add_argument("--token", action="store_true", help="also create an API token and print it")
    ut = usub.add_parser("token", help="create an API token for a user (printed once)")
    ut.add_argument("name")
    ut.add_argument("--label", help="what the token is for, e.g. prometheus")
    upw = usub.add_parser("passwd", help="set a user's password")
    upw.add_argument("name")
    upw.add_argument("--password-stdin", action="store_true")
    ur = usub.add_parser("remove", help="delete a user and their tokens")
    ur.add_argument("name")
    ul = usub.add_parser("list", help="the users")
    ul.add_argument("--json", action="store_true")
    us.set_defaults(run=user)


def _ask_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass(f"password for {args.name}: ")
    if getpass.getpass("again: ") != first:
        raise UserError("password: the two entries differ")
    return first


def user(args: argparse.Namespace, edge: Edge) -> int:
    users = UserStore(edge.settings.home)
    try:
        if args.user_command == "add":
            password = None if args.no_password else _ask_password(args)
            added = users.add(args.name, args.role, args.tenant, password)
            scope = f"tenant {added.tenant}" if added.tenant else "all tenants"
            print(f"added {added.name}: {added.role}, {scope}" + (" (API tokens only)" if password is None else ""))
            if args.token:
                print(users.new_token(added.name, "created with the user"))
        elif args.user_command == "token":
            print(users.new_token(args.name, args.label or ""))
            print(f"(a token for {args.name}: shown once, keep it safe)", file=sys.stderr)
        elif args.user_command == "passwd":
            users.set_password(args.name, _ask_password(args))
            print(f"password changed for {args.name}")
        elif args.user_command == "remove":
            users.remove(args.name)
            print(f"removed {args.name}")
        else:
            listed = [u.public() for u in users.users().values()]
            if args.json:
                print(json.dumps(listed))
            else:
                for u in listed:
                    print(f"{u['name']:<20} {u['role']:<9} {u['tenant'] or '(all tenants)':<16} {u['tokens']} token(s)")
    except UserError as e:
        print(f"livehost: user {args.user_command}: {e}", file=sys.stderr)
        return 2
    return 0
