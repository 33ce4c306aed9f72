"""The layout the folders promise, checked on the source itself: what each part may import,
no import cycles, no module reaching into another's underscore names, Streamlit only in ui/."""
from __future__ import annotations

import ast
from pathlib import Path

from helpers import ROOT

PACKAGES = ("core", "ingest", "search", "workshop", "ui")
# What each package may import of the others (ui, app.py and pages/ may import all of them).
ALLOWED = {
    "core": set(),
    "ingest": {"core"},
    "search": {"core"},
    "workshop": {"core"},
    "ui": {"core", "ingest", "search", "workshop"},
}
# The exceptions, each for a reason: the read side builds a missing index (the page and the
# CLI promise to), and the command line prints citation lines.
EXCEPTIONS = {("search.searcher", "ingest.build"), ("search.cli.ask", "workshop"),
              ("search.cli.themes", "workshop")}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    for path in [ROOT / "app.py", *(ROOT / "pages").glob("*.py")]:
        found[f"page:{path.name}"] = path
    return found


def imports(name: str, path: Path) -> list[tuple[str, list[str], int]]:
    """(module imported, names taken from it, line) for every import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            out.append((base, [a.name for a in node.names], node.lineno))
    return out


def resolve(target: str, taken: list[str], known: dict[str, Path]) -> list[str]:
    """The project modules an import brings in (a package's submodules named in `from p import m`)."""
    found = [f"{target}.{n}" for n in taken if f"{target}.{n}" in known]
    return found or ([target] if target in known else [])


def test_each_part_imports_only_what_the_layout_allows():
    known = modules()
    wrong = []
    for name, path in known.items():
        if name.startswith("page:"):
            continue
        own = name.split(".")[0]
        for target, taken, line in imports(name, path):
            top = target.split(".")[0]
            if top in PACKAGES and top != own and top not in ALLOWED[own]:
                if not any(name == a and target.startswith(b) for a, b in EXCEPTIONS):
                    wrong.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
            if top == "streamlit" and own != "ui":
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports streamlit outside ui/")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycles():
    known = modules()
    graph = {name: set() for name in known}
    for name, path in known.items():
        for target, taken, _ in imports(name, path):
            for module in resolve(target, taken, known):
                if module != name and not name.startswith(module + "."):  # a package's own __init__
                    graph[name].add(module)
    cycles, state = [], {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(trail[trail.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert not cycles, "\n".join(cycles)


def test_no_module_uses_another_modules_underscore_names():
    known = modules()
    wrong = []
    for name, path in list(known.items()) + [(f"bench.{p.stem}", p) for p in (ROOT / "bench").glob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases = set()
        for target, taken, line in imports(name, path):
            if target.split(".")[0] not in PACKAGES:
                continue
            private = [n for n in taken if n.startswith("_") and not n.startswith("__")]
            wrong += [f"{path.relative_to(ROOT)}:{line} imports {target}.{n}" for n in private]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                aliases |= {(a.asname or a.name).split(".")[0] for a in node.names
                            if a.name.split(".")[0] in PACKAGES}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in set(PACKAGES) | {""}:
                aliases |= {a.asname or a.name for a in node.names}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                wrong.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {node.value.id}.{node.attr}")
    assert not wrong, "\n".join(wrong)


