"""The docs stay true to the code."""

from __future__ import annotations

from pathlib import Path

from jobbertrack._core.keys import SHARD_KEYS, index_positions, shard_tags
from jobbertrack._core.transitions import State, mermaid_diagram

ROOT = Path(__file__).resolve().parent.parent
DATA_MODEL = (ROOT / "docs" / "data-model.md").read_text()


def test_state_diagram_is_generated_from_the_table() -> None:
    assert f"```mermaid\n{mermaid_diagram()}\n```" in DATA_MODEL


def test_the_documented_keys_layout_is_the_real_one() -> None:
    rows = ["| 1 | `<ns>:{<tag>}:job:<id>` |"]
    rows += [f"| {i} | `<ns>:{{<tag>}}:{name}` |" for i, name in enumerate(SHARD_KEYS, 2)]
    rows += [f"| {pos} | `<ns>:{{<tag>}}:idx:{s.value}` |" for s, pos in index_positions().items()]
    assert "| KEYS | |\n|---|---|\n" + "\n".join(rows) + "\n\n" in DATA_MODEL
    assert f"{{{', '.join(s.value for s in State)}}}" in DATA_MODEL  # the order of count's reply


def test_every_script_is_documented() -> None:
    for path in (ROOT / "src" / "jobbertrack" / "_lua").glob("*.lua"):
        if not path.name.startswith("_"):
            assert f"| `{path.stem}` |" in DATA_MODEL, path.name


def test_the_documented_shard_tags_are_the_real_ones() -> None:
    assert " ".join(shard_tags(16)) in DATA_MODEL


def test_readme_opens_with_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    head = readme[: readme.index("## Quickstart")]
    assert "make demo" in head and "make test" in head


def test_every_api_route_is_documented_and_in_the_openapi_document() -> None:
    from starlette.routing import Route

    from jobbertrack.web._app import ROUTES
    from jobbertrack.web._openapi import openapi

    web_doc = (ROOT / "docs" / "web.md").read_text()
    paths = openapi()["paths"]
    routes = [r.path for r in ROUTES if isinstance(r, Route) and r.path.startswith("/api/")]
    actions = ("history", "start", "progress", "heartbeat", "finish", "fail")
    documented = ["/api/jobs/{id}/" + a for a in actions]
    for path in [p for p in routes if "{rest" not in p] + documented:
        assert f"/{path.lstrip('/')}" in web_doc, path
        if path not in ("/api/openapi.json", "/api/activity"):
            assert path in paths, path
