#!/usr/bin/env python3
"""Extract the schema of an official-format GPT-SoVITS model folder.

    python tools/gpt_sovits_schema.py --models DIR --variant v2Pro --size tiny [--out FILE]

Reads every file with our own loaders (torch ``weights_only`` loading; the SoVITS config's
``utils.HParams`` is read as a stand-in class), so no GPT-SoVITS code is needed. Writes
``tests/fixtures/gpt_sovits/schemas/<variant>-<size>.json`` unless ``--out`` says otherwise
(``-`` prints it). The generator (``tools/gpt_sovits_random_models.py``) writes folders from
these schemas.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.server.engines.gpt_sovits.model_factory import SIZES, VARIANTS
from tests.server.engines.gpt_sovits.model_factory.schema import (
    dump_schema,
    extract_schema,
    schema_path,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=Path, required=True, help="the model folder to read")
    parser.add_argument("--variant", choices=VARIANTS, required=True)
    parser.add_argument("--size", choices=SIZES, required=True)
    parser.add_argument("--note", default="", help="free text stored in the schema")
    parser.add_argument("--out", default="", help="output file ('-' for stdout)")
    parser.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="OLD=NEW",
        help="rewrite OLD to NEW in config strings (repeatable), e.g. an experiment name",
    )
    args = parser.parse_args(argv)
    if any("=" not in r for r in args.replace):
        parser.error("--replace takes OLD=NEW")
    replacements = dict(r.split("=", 1) for r in args.replace)
    schema = extract_schema(args.models, args.variant, args.size, args.note, replacements)
    text = dump_schema(schema)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out) if args.out else schema_path(args.variant, args.size)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"{out}: {len(text.encode('utf-8'))} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
