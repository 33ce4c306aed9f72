"""What every subcommand prints: one JSON object with --json, else the readable text."""
from __future__ import annotations

import json


def emit(args, data: dict, text: str) -> int:
    print(json.dumps(data, ensure_ascii=False) if args.json else text)
    return 0
