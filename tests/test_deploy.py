"""The deployment files in deploy/, read as their tools read them (Dockerfile instructions,
compose YAML, a systemd unit), checked for what a deployment relies on; and the runtime image's
premise, run for real: indexing and answering with the default backend need no torch."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import CliContext, app
from retrieval import Engine, Settings

from .support import ROOT, SEEDS, TREATY_ARTICLE, fake_encoders, make_settings

DEPLOY = ROOT / "deploy"
CODE_DIRS = {"retrieval", "bot"}
VERSION_TAG = r"v?\d+\.\d+\.\d+"  # an exact release: 3.11.14-slim-bookworm, v2.5.16
DIGEST = r"@sha256:[0-9a-f]{64}"


# --- Dockerfile ---------------------------------------------------------------------------


@dataclass
class Stage:
    base: str
    name: str | None
    steps: list[tuple[str, str]] = field(default_factory=list)  # (INSTRUCTION, arguments)
    env: dict[str, str] = field(default_factory=dict)

    def runs(self) -> list[str]:
        return [args for op, args in self.steps if op == "RUN"]


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with comments dropped and backslash continuations joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        op, _, args = (pending + line).partition(" ")
        out.append((op.upper(), " ".join(args.split())))
        pending = ""
    return out


def _env_pairs(args: str) -> dict[str, str]:
    return dict(word.split("=", 1) for word in shlex.split(args) if "=" in word)


def dockerfile_stages(path: Path = DEPLOY / "Dockerfile") -> list[Stage]:
    """The build stages, with global ``ARG`` defaults substituted into ``FROM``."""
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for op, rest in _instructions(path.read_text(encoding="utf-8")):
        if op == "ARG" and not stages:
            name, _, default = rest.partition("=")
            args[name] = default
        elif op == "FROM":
            words = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), rest).split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=words[0], name=name))
        elif stages:
            stages[-1].steps.append((op, rest))
            if op == "ENV":
                stages[-1].env.update(_env_pairs(rest))
    return stages


def _copy_sources(args: str) -> tuple[list[str], str, str | None]:
    """(sources, destination, --from stage) of a COPY."""
    words = args.split()
    origin = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
    paths = [w for w in words if not w.startswith("--")]
    return paths[:-1], paths[-1], origin


def _copies_code(args: str) -> bool:
    sources, _, origin = _copy_sources(args)
    return origin is None and any(PurePosixPath(s).parts[0] in CODE_DIRS for s in sources)


def test_dockerfile_base_image_is_pinned_by_version_and_digest():
    stages = dockerfile_stages()
    names = {s.name for s in stages}
    external = [s.base for s in stages if s.base not in names]
    assert external, "no base image"
    for image in external:
        assert re.fullmatch(rf"[\w./-]+:{VERSION_TAG}[\w.-]*{DIGEST}", image), (
            f"{image!r} is not pinned by an exact version tag and a sha256 digest"
        )


def test_dockerfile_installs_dependencies_before_copying_the_code():
    """A code change must not reinstall the dependencies: they are installed from pyproject.toml
    and constraints.txt alone, and the project is installed after the code with --no-deps."""
    [stage] = [s for s in dockerfile_stages() if any(op == "COPY" and _copies_code(a) for op, a in s.steps)]
    code_at = next(i for i, (op, a) in enumerate(stage.steps) if op == "COPY" and _copies_code(a))
    before, after = stage.steps[:code_at], stage.steps[code_at:]
    deps_at = next(
        (i for i, (op, a) in enumerate(before) if op == "RUN" and "pip install" in a and "constraints.txt" in a),
        None,
    )
    assert deps_at is not None, "the dependencies are not installed before the code is copied"
    copied = [src for op, a in before[:deps_at] if op == "COPY" for src in _copy_sources(a)[0]]
    assert sorted(copied) == ["constraints.txt", "pyproject.toml"], f"copied before the dependencies: {copied}"
    assert "--no-deps" not in before[deps_at][1]
    later = [a for op, a in after if op == "RUN" and "pip install" in a]
    assert later, "the project itself is never installed"
    assert all("--no-deps" in a for a in later), f"an install after the code copy resolves dependencies: {later}"


def test_dockerfile_healthcheck_runs_a_cli_command_offline():
    final = dockerfile_stages()[-1]
    checks = [a for op, a in final.steps if op == "HEALTHCHECK"]
    assert len(checks) == 1, "the runtime image declares no HEALTHCHECK"
    options, _, command = checks[0].partition("CMD")
    assert command.strip() and "NONE" not in options.upper()
    assert "--start-period=" in options, "the first start builds the index: it needs a start period"
    words = re.findall(r"[\w-]+", command)
    commands = {c.name or c.callback.__name__ for c in app.registered_commands}
    assert "ragbot" in words and commands & set(words[words.index("ragbot") + 1 :]), (
        f"the healthcheck runs no ragbot command ({sorted(commands)}): {command}"
    )
    assert not re.search(r"curl|wget|https?://", command), "a healthcheck must not need the network"


def test_runtime_stage_drops_torch_and_gets_the_exported_model():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "a single stage keeps the export's torch in the runtime image"
    final, by_name = stages[-1], {s.name: s for s in stages if s.name}
    assert final.base not in by_name, "the runtime stage must start from the base image, not from a build stage"
    assert not [r for r in final.runs() if "pip install" in r or "torch" in r]
    copies = [_copy_sources(a) for op, a in final.steps if op == "COPY"]
    venv = final.env["VIRTUAL_ENV"]
    [(_, _, venv_from)] = [c for c in copies if c[1] == venv and c[2]]
    lineage, stage = [], by_name[venv_from]
    while True:  # the stage the venv comes from, and the stages it is built on
        lineage.append(stage)
        if stage.base not in by_name:
            break
        stage = by_name[stage.base]
    runs = [r for s in reversed(lineage) for r in s.runs()]
    uninstall = max(i for i, r in enumerate(runs) if re.search(r"pip uninstall -y torch\b", r))
    assert not any("torch" in r and "pip install" in r for r in runs[uninstall + 1 :])
    cache = final.env["RAGBOT_MODEL_CACHE_DIR"]
    assert any(dest == cache and origin for _, dest, origin in copies), "the exported model is not copied in"
    assert final.env.get("RAGBOT_EMBEDDING_BACKEND") == Settings.model_fields["embedding_backend"].default


# --- compose -----------------------------------------------------------------------------


def _compose(name: str) -> dict:
    path = DEPLOY / name
    assert path.is_file(), f"deploy/{name} is missing"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _service(doc: dict, name: str) -> dict:
    """A service with its ``extends`` (from a file beside it) merged in, as compose does."""
    service = doc["services"][name]
    base = service.get("extends")
    if not base:
        return service
    parent = _service(_compose(base["file"]), base["service"]) if "file" in base else _service(doc, base["service"])
    merged = {**parent, **{k: v for k, v in service.items() if k != "extends"}}
    for key in ("environment",):
        merged[key] = {**_as_mapping(parent.get(key)), **_as_mapping(service.get(key))}
    return merged


def _as_mapping(env: dict | list | None) -> dict:
    if isinstance(env, list):
        return dict(item.split("=", 1) for item in env)
    return dict(env or {})


def _pinned(image: str) -> bool:
    """An exact release tag (``v2.5.16``, MinIO's ``RELEASE.2024-05-28T17-19-04Z``) or a digest."""
    _, _, tag = image.split("@")[0].rpartition(":")
    return bool(re.search(rf"{VERSION_TAG}|RELEASE\.\d{{4}}-\d\d-\d\d", tag) or re.search(DIGEST, image))


def test_milvus_compose_runs_the_bot_beside_a_healthy_milvus_standalone():
    doc = _compose("compose.milvus.yaml")
    services = {name: _service(doc, name) for name in doc["services"]}
    [bot] = [n for n, s in services.items() if "build" in s]
    for name, service in services.items():
        if name != bot:
            assert _pinned(service["image"]), f"{name}: image {service['image']!r} is not pinned to a release"
            assert service.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    images = {n: s["image"].split("@")[0] for n, s in services.items() if n != bot}
    [milvus] = [n for n, i in images.items() if i.startswith("milvusdb/milvus:")]
    assert re.fullmatch(r"milvusdb/milvus:v2\.5\.\d+", images[milvus])
    assert services[milvus]["command"] == ["milvus", "run", "standalone"]
    helpers = {n for n, i in images.items() if i.startswith(("quay.io/coreos/etcd:", "minio/minio:"))}
    assert len(helpers) == 2
    assert {n: c["condition"] for n, c in services[milvus]["depends_on"].items()} == dict.fromkeys(
        helpers, "service_healthy"
    )
    env = services[bot]["environment"]
    assert env["RAGBOT_STORE"] == "milvus"
    assert env["RAGBOT_MILVUS_URI"] == f"http://{milvus}:19530"
    assert services[bot]["depends_on"][milvus]["condition"] == "service_healthy"
    used = {v.split(":")[0] for s in services.values() for v in s.get("volumes", []) if not v.startswith((".", "/"))}
    assert used <= set(doc.get("volumes") or {}), "a named volume is used but not declared"
    # The default stays the embedded FAISS store in one container.
    plain = _compose("compose.yaml")
    assert list(plain["services"]) == ["ragbot"]
    assert "RAGBOT_STORE" not in _as_mapping(plain["services"]["ragbot"].get("environment"))
    assert plain["services"]["ragbot"].get("healthcheck", {}).get("disable") is not True


# --- systemd unit ------------------------------------------------------------------------


#: Folders systemd creates for a system service, owned by its User=, and where.
MANAGED = {
    "StateDirectory": "/var/lib",
    "CacheDirectory": "/var/cache",
    "LogsDirectory": "/var/log",
    "RuntimeDirectory": "/run",
    "ConfigurationDirectory": "/etc",
}


def _unit(path: Path = DEPLOY / "ragbot.service") -> dict[str, list[str]]:
    """``Key=value`` of the [Service] section; a key given twice keeps both values, like systemd."""
    values: dict[str, list[str]] = {}
    section = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
        elif section == "[Service]":
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def _inside(path: str, folders: set[PurePosixPath]) -> bool:
    p = PurePosixPath(path)
    return any(p == f or f in p.parents for f in folders)


def _exec_folders(unit: dict[str, list[str]]) -> tuple[list[str], dict[str, str]]:
    """ExecStart's words, and the data and articles folders the service uses."""
    [exec_start] = unit["ExecStart"]
    argv = shlex.split(exec_start)
    workdir = PurePosixPath(unit["WorkingDirectory"][0])
    folders = {}
    for option, setting in (("--data-dir", "data_dir"), ("--articles-dir", "articles_dir")):
        if option in argv:
            folders[setting] = argv[argv.index(option) + 1]
        else:  # the setting's default, relative to the working directory; .env may move it
            folders[setting] = str(workdir / str(Settings.model_fields[setting].default))
    return argv, folders


def test_systemd_unit_writes_only_into_folders_it_creates():
    unit = _unit()
    created = {
        PurePosixPath(MANAGED[key]) / name for key in MANAGED for value in unit.get(key, []) for name in value.split()
    }
    for value in unit.get("ReadWritePaths", []):
        for path in value.split():
            assert path.startswith("-") or _inside(path, created), (
                f"ReadWritePaths={path}: nothing creates it, and systemd refuses to start the unit without it"
            )
    argv, folders = _exec_folders(unit)
    for setting, folder in folders.items():
        assert _inside(folder, created), f"{setting} is {folder}, not a folder the unit creates"
        option = "--" + setting.replace("_", "-")
        assert option in argv, f"{option} not on the command line: RAGBOT_{setting.upper()} in .env would win"
    # The hardening stays.
    for key, value in {
        "NoNewPrivileges": "true",
        "ProtectSystem": "strict",
        "ProtectHome": "true",
        "PrivateTmp": "true",
    }.items():
        assert unit.get(key) == [value], f"{key}={value} is gone"


def test_systemd_command_line_is_one_the_cli_accepts(tmp_path: Path):
    """ExecStart's options, run through the real CLI on empty folders: ``stats`` says "no index"
    (exit 3), not "bad usage" (exit 2)."""
    argv, folders = _exec_folders(_unit())
    assert PurePosixPath(argv[0]).name == "ragbot" and argv[-1] == "serve"
    assert set(folders.values()) <= set(argv), "the folders are not given on the command line"
    local = {folder: str(tmp_path / setting) for setting, folder in folders.items()}
    for folder in local.values():
        Path(folder).mkdir()
    args = [local.get(word, word) for word in argv[1:-1]] + ["stats"]
    ctx = CliContext(make_settings(tmp_path / "unused"), fake_encoders())
    result = CliRunner().invoke(app, args, obj=ctx)
    assert result.exit_code == 3, result.output
    assert "no index" in result.stderr


# --- the runtime image's premise ---------------------------------------------------------


@pytest.mark.slow
def test_indexing_and_answering_need_no_torch(real_engine: Engine, tmp_path: Path):
    """What the runtime stage keeps: with the model exported (in the build stage), `ragbot index`,
    `search`, `ask` and `stats` (the healthcheck) run with torch impossible to import."""
    script = (
        "import sys; sys.modules['torch'] = None; "  # `import torch` now fails, as with no torch installed
        "from bot.cli import run; sys.argv = ['ragbot', *sys.argv[1:]]; run()"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAGBOT_")}
    env |= {
        "RAGBOT_ARTICLES_DIR": str(SEEDS),
        "RAGBOT_DATA_DIR": str(tmp_path / "data"),
        "RAGBOT_MODEL_CACHE_DIR": str(real_engine.settings.model_cache_dir),
        "HF_HUB_OFFLINE": "1",
    }

    def ragbot(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", script, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
        )

    built = ragbot("index", "--json")
    assert built.returncode == 0, built.stderr
    assert json.loads(built.stdout)["articles"] == 5
    found = ragbot("search", "--json", "-k", "5", "What did the treaty include?")
    assert found.returncode == 0, found.stderr
    assert any(h["article_id"] == TREATY_ARTICLE for h in json.loads(found.stdout)["hits"])
    answered = ragbot("ask", "--json", "What did the treaty include?")
    assert answered.returncode == 0, answered.stderr
    assert json.loads(answered.stdout)["citations"]
    assert ragbot("stats").returncode == 0
