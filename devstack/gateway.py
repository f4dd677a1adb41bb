"""The gateway's configuration, rendered from the one template in the Helm chart."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from devstack.stack import ROOT, StackConfig

TEMPLATE = ROOT / "helm" / "files" / "nginx.conf"


def _renderer() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_gateway", ROOT / "scripts" / "render_gateway.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render_gateway_config(config: StackConfig, out: Path | None = None) -> Path:
    values = config.gateway_values()
    run_dir = Path(values["RUN_DIR"])
    run_dir.mkdir(parents=True, exist_ok=True)
    out = out or run_dir / "nginx.conf"
    out.write_text(_renderer().render(TEMPLATE.read_text(), values))
    return out
