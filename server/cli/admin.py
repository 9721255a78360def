"""``voxguard admin``: tenants, API keys, master key rotation and receipts, on the local data dir.

These commands open the data directory and database directly (the engine-free
:class:`~server.core.Core`), so they work with or without a running server. Tenant and
key changes are picked up by a running server at once (it reads them from the database);
``rotate-master-key`` needs the server stopped.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from server.cli.local import (
    Handler,
    add_data_dir_flag,
    is_initialised,
    local_settings,
    reports_errors,
    require_initialised,
)
from server.cli.output import (
    EXIT_CHECK_FAILED,
    add_json_flag,
    fail,
    format_time,
    print_json,
    print_table,
    receipt_lines,
)
from server.cli.receipts import parse_receipt, receipt_text
from server.core import RECEIPT_KEY_FILE, Core
from server.crypto.receipts import InvalidReceipt, ReceiptSigner, verify_receipt
from server.errors import InvalidArgument
from tenants.records import ApiKey, Scope, Tenant

OPERATOR_KEY_PROCEDURE = """\
the master key comes from VOXGUARD_MASTER_KEY, which voxguard cannot rewrite. To rotate it:
  1. stop every voxguard server;
  2. make a new key:  voxguard admin rotate-master-key --new-operator-key
  3. set VOXGUARD_MASTER_KEY="NEW,OLD" (the new key first) and rewrap the database:
       voxguard admin rotate-master-key --rewrap-only
  4. set VOXGUARD_MASTER_KEY="NEW" in your secret store and start the servers again.
Backups of the database taken before step 3 still need the OLD key; keep it only as long
as you keep those backups (see docs/operations.md)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``admin`` command group."""
    admin = subparsers.add_parser("admin", help="operator tasks on the local data dir")
    commands = admin.add_subparsers(dest="admin_command", metavar="COMMAND", required=True)
    _leaf(commands, "init", "create a new installation in the data dir (keys, database)", _init)

    tenant = commands.add_parser("tenant", help="create, list and delete tenants")
    tenant_commands = tenant.add_subparsers(dest="tenant_command", metavar="COMMAND", required=True)
    create = _leaf(tenant_commands, "create", "create a tenant (with its own tenant key)", _tenant_create)
    create.add_argument("name", help="display name, 1-100 characters")
    _leaf(tenant_commands, "list", "list live tenants", _tenant_list)
    delete = _leaf(tenant_commands, "delete",
                   "delete a tenant: destroys every key and blob it holds", _tenant_delete)
    delete.add_argument("tenant_id")
    delete.add_argument("--receipt-out", type=Path, help="also save the signed receipt to this file")

    key = commands.add_parser("key", help="create, list and revoke tenant API keys")
    key_commands = key.add_subparsers(dest="key_command", metavar="COMMAND", required=True)
    key_create = _leaf(key_commands, "create", "issue an API key (the secret is printed once)",
                       _key_create)
    key_create.add_argument("tenant_id")
    key_create.add_argument("--scopes", required=True,
                            help="comma-separated: consent,enroll,synthesize,detect")
    key_create.add_argument("--label", default="", help="a note for humans (at most 100 chars)")
    key_list = _leaf(key_commands, "list", "list a tenant's keys (never their secrets)", _key_list)
    key_list.add_argument("tenant_id")
    key_revoke = _leaf(key_commands, "revoke", "revoke a key (takes effect immediately)", _key_revoke)
    key_revoke.add_argument("key_id")

    rotate = _leaf(commands, "rotate-master-key",
                   "rotate the master key file and rewrap every tenant key (server stopped)",
                   _rotate_master_key)
    mode = rotate.add_mutually_exclusive_group()
    mode.add_argument("--rewrap-only", action="store_true",
                      help="only rewrap under the current primary (operator-held keys, step 3)")
    mode.add_argument("--new-operator-key", action="store_true",
                      help="print a fresh random master key for VOXGUARD_MASTER_KEY and exit")

    _leaf(commands, "receipt-key", "print the receipt signing public key (PEM)", _receipt_key)
    verify = _leaf(commands, "verify-receipt", "verify a deletion receipt's signature",
                   _verify_receipt)
    verify.add_argument("file", type=Path, help="receipt file (vgr1 text or JSON); - for stdin")
    verify.add_argument("--public-key", type=Path,
                        help="PEM public key to check against (default: this data dir's key)")


def _leaf(commands: argparse._SubParsersAction, name: str, help_text: str,
          handler: Handler) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help_text, description=help_text)
    add_json_flag(parser)
    add_data_dir_flag(parser)
    parser.set_defaults(handler=reports_errors(handler))
    return parser


def _open(args: argparse.Namespace) -> Core:
    settings = local_settings(args)
    require_initialised(settings)
    return Core.open(settings)


def _init(args: argparse.Namespace) -> int:
    """Create a new installation: data directory, schema, keyrings, operator credential."""
    from server.platform import load_admin_token, load_watermark_keyring

    settings = local_settings(args)
    if is_initialised(settings):
        print(f"voxguard installation already present in {settings.data_dir}; nothing to do")
        return 0
    core = Core.open(settings)
    try:
        load_watermark_keyring(settings)
        load_admin_token(settings)
    finally:
        core.close()
    print(f"created a new voxguard installation in {settings.data_dir}")
    return 0


# -- tenants ------------------------------------------------------------------------------


def _tenant_create(args: argparse.Namespace) -> int:
    core = _open(args)
    try:
        tenant = core.tenants.create(args.name)
    finally:
        core.close()
    if args.json:
        print_json(_tenant_dict(tenant))
    else:
        print(f"created tenant {tenant.tenant_id} ({tenant.display_name})")
        print(f"next: voxguard admin key create {tenant.tenant_id} "
              "--scopes consent,enroll,synthesize,detect")
    return 0


def _tenant_list(args: argparse.Namespace) -> int:
    core = _open(args)
    tenants: list[Tenant] = []
    try:
        token = ""
        while True:
            page = core.tenants.list(100, token)
            tenants.extend(page.items)
            token = page.next_page_token
            if not token:
                break
    finally:
        core.close()
    rows = [_tenant_dict(t) for t in tenants]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["tenant_id", "display_name", "created_at"])
    return 0


def _tenant_delete(args: argparse.Namespace) -> int:
    core = _open(args)
    try:
        deletion = core.tenants.delete(args.tenant_id)
    finally:
        core.close()
    text = receipt_text(deletion.receipt.payload_json, deletion.receipt.signature)
    if args.receipt_out:
        args.receipt_out.write_text(text + "\n")
    if args.json:
        print_json({"tenant_id": args.tenant_id, "deleted_voice_ids": list(deletion.voice_ids),
                    "deleted_consent_ids": list(deletion.consent_ids), "receipt": text})
        return 0
    print(f"deleted tenant {args.tenant_id}: {len(deletion.voice_ids)} voices, "
          f"{len(deletion.consent_ids)} consents, every key and blob destroyed")
    print("\n".join(receipt_lines(deletion.receipt.payload_json)))
    print(f"signed receipt: {text}")
    return 0


def _tenant_dict(tenant: Tenant) -> dict[str, object]:
    return asdict(tenant)


# -- API keys -----------------------------------------------------------------------------


def parse_scopes(text: str) -> list[Scope]:
    """``consent,enroll`` into scopes; INVALID_ARGUMENT naming the valid ones otherwise."""
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    valid = {scope.value: scope for scope in Scope}
    unknown = [name for name in names if name not in valid]
    if unknown or not names:
        raise InvalidArgument(
            f"unknown scope(s) {', '.join(unknown) or '(none given)'}; "
            f"choose from {','.join(valid)}"
        )
    return [valid[name] for name in names]


def _key_create(args: argparse.Namespace) -> int:
    scopes = parse_scopes(args.scopes)
    core = _open(args)
    try:
        issued = core.api_keys.create(args.tenant_id, scopes, args.label)
    finally:
        core.close()
    if args.json:
        print_json({**_key_dict(issued.info), "api_key": issued.secret})
        return 0
    print(f"created API key {issued.info.key_id} for tenant {issued.info.tenant_id} "
          f"(scopes: {','.join(s.value for s in issued.info.scopes)})")
    print(f"api key (shown once, store it now): {issued.secret}")
    return 0


def _key_list(args: argparse.Namespace) -> int:
    core = _open(args)
    try:
        keys, token = [], ""
        while True:
            page = core.api_keys.list(args.tenant_id, 1000, token)
            keys += list(page.items)
            token = page.next_page_token
            if not token:
                break
    finally:
        core.close()
    rows = [_key_dict(k) for k in keys]
    if args.json:
        print_json(rows)
    else:
        print_table(rows, ["key_id", "scopes", "label", "created_at", "revoked_at"])
    return 0


def _key_revoke(args: argparse.Namespace) -> int:
    core = _open(args)
    try:
        key = core.api_keys.revoke(args.key_id)
    finally:
        core.close()
    if args.json:
        print_json(_key_dict(key))
    else:
        print(f"revoked API key {key.key_id} of tenant {key.tenant_id} "
              f"(at {format_time(key.revoked_at)})")
    return 0


def _key_dict(key: ApiKey) -> dict[str, object]:
    return {"key_id": key.key_id, "tenant_id": key.tenant_id,
            "scopes": [s.value for s in key.scopes], "label": key.label,
            "created_at": key.created_at, "revoked_at": key.revoked_at}


# -- master key ---------------------------------------------------------------------------


def _rotate_master_key(args: argparse.Namespace) -> int:
    from server.crypto.master import MasterKeyring
    from server.master_rotation import RotationIncomplete, rewrap_all, rotate_key_file
    from server.storage.files import make_private_dirs
    from server.storage.lock import DataDirLock

    if args.new_operator_key:
        key = MasterKeyring.generate_operator_key()
        print_json({"master_key": key}) if args.json else print(key)
        return 0
    settings = local_settings(args)
    if settings.master_key is not None and not args.rewrap_only:
        return fail(OPERATOR_KEY_PROCEDURE)
    make_private_dirs(settings.data_dir)
    lock = DataDirLock(settings.data_dir)
    lock.acquire_exclusive("rotating the master key")
    core = Core.open(settings)
    try:
        if args.rewrap_only:
            counts = rewrap_all(core.db, core.master)
            result: dict[str, Any] = {"primary": core.master.primary_key_id, "retired": [],
                      "tenant_keys_rewrapped": counts.tenant_keys,
                      "server_secrets_rewrapped": counts.server_secrets}
        else:
            rotation = rotate_key_file(settings.resolved_master_key_file, core.db)
            result = {"primary": rotation.new_primary, "retired": list(rotation.retired),
                      "tenant_keys_rewrapped": rotation.rewrapped.tenant_keys,
                      "server_secrets_rewrapped": rotation.rewrapped.server_secrets,
                      "key_file": str(settings.resolved_master_key_file)}
    except RotationIncomplete as exc:
        return fail(str(exc))
    finally:
        core.close()
        lock.release()
    if args.json:
        print_json(result)
        return 0
    print(f"primary master key is now {result['primary']}; rewrapped "
          f"{result['tenant_keys_rewrapped']} tenant keys and "
          f"{result['server_secrets_rewrapped']} server secrets")
    if result["retired"]:
        print(f"retired {', '.join(result['retired'])} and saved {result['key_file']}")
        print("back up the new key file now: database backups need the key file of their time")
    elif args.rewrap_only:
        print("now remove the old key from VOXGUARD_MASTER_KEY and start the servers")
    return 0


# -- receipts -----------------------------------------------------------------------------


def _signer(args: argparse.Namespace) -> ReceiptSigner | None:
    path = local_settings(args).data_dir / RECEIPT_KEY_FILE
    return ReceiptSigner.load_or_create(path) if path.exists() else None


def _receipt_key(args: argparse.Namespace) -> int:
    signer = _signer(args)
    if signer is None:
        return fail("this data dir has no receipt signing key yet; it is created when the "
                    "server (or any admin command) first opens the data dir")
    if args.json:
        print_json({"key_id": signer.key_id, "public_key_pem": signer.public_key_pem()})
    else:
        print(signer.public_key_pem(), end="")
    return 0


def _verify_receipt(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text()
    if args.public_key is not None:
        public_key: object = args.public_key.read_text()
    else:
        signer = _signer(args)
        if signer is None:
            return fail("no receipt signing key in this data dir; pass --public-key FILE")
        public_key = signer.public_key
    try:
        receipt = parse_receipt(text)
        verified = verify_receipt(receipt, public_key)  # type: ignore[arg-type]
    except (InvalidReceipt, ValueError, TypeError) as exc:
        if args.json:
            print_json({"valid": False, "reason": str(exc)})
        else:
            print(f"INVALID: {exc}")
        return EXIT_CHECK_FAILED
    if args.json:
        print_json({"valid": True, "key_id": verified.key_id, "issued_at": verified.issued_at,
                    "fields": verified.fields})
        return 0
    print(f"VALID: signed by key {verified.key_id}")
    print("\n".join(receipt_lines(receipt.payload)))
    return 0

