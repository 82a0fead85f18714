"""An import-linter contract for the shared single-file modules (database.py, errors.py, …).

import-linter builds its graph from packages only: a top-level module such as database.py is
seen from the outside (who imports it) but never read (what it imports). This contract reads
each listed module's own imports, so "the shared modules import no feature package" is checked
by `lint-imports` like every other layer.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

from importlinter import Contract, ContractCheck, fields, output


def _imports(module: str) -> list[tuple[str, int]]:
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ValueError(f"module {module} not found")
    tree = ast.parse(Path(spec.origin).read_text(), filename=spec.origin)
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.module, node.lineno))
    return found


class SharedModulesContract(Contract):
    type_name = "shared_modules"

    modules = fields.ListField(subfield=fields.StringField())
    forbidden_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph, verbose: bool) -> ContractCheck:
        forbidden = set(self.forbidden_modules)
        broken = [
            (module, imported, line)
            for module in self.modules
            for imported, line in _imports(module)
            if imported.split(".")[0] in forbidden
        ]
        return ContractCheck(kept=not broken, warnings=[], metadata={"broken": broken})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for module, imported, line in check.metadata["broken"]:
            output.print_error(f"{module} is not allowed to import {imported} (l.{line})")
            output.new_line()
