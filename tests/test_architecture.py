"""The layout is the pipeline: imports flow one way, checked by import-linter's contracts.

The contracts live in ``pyproject.toml`` (``[tool.importlinter]``); CI also runs ``lint-imports``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def _config() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["tool"]["importlinter"]  # type: ignore[no-any-return]


def test_every_contract_is_kept(monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert lint_imports(no_cache=True) == 0


def test_every_subpackage_and_top_module_sits_in_a_layer() -> None:
    contracts = _config()["contracts"]
    layers = next(c for c in contracts if c["id"] == "stages")["layers"]  # type: ignore[index]
    package = ROOT / "reviewer"
    found = {
        f"reviewer.{p.name}" if p.is_dir() else f"reviewer.{p.stem}"
        for p in package.iterdir()
        if (p.is_dir() and (p / "__init__.py").exists())
        or (p.suffix == ".py" and p.stem not in ("__init__", "__main__"))
    }
    assert found == set(layers), "a new package must be placed in the layers contract"


def test_the_layers_read_in_the_order_data_flows() -> None:
    contracts = _config()["contracts"]
    layers = next(c for c in contracts if c["id"] == "stages")["layers"]  # type: ignore[index]
    stages = [name.removeprefix("reviewer.") for name in layers]
    # Top to bottom: the CLI, the wiring, the eval scoring (it reads what the pipeline
    # returns), the pipeline, then the stages from last to first.
    assert stages[:4] == ["cli", "app", "evaluate", "pipeline"]
    assert stages[-1] == "core"
    flow = ["source", "prepare", "llm", "findings", "store", "outputs"]
    assert [s for s in reversed(stages) if s in flow] == flow
