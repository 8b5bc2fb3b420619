"""Loading configs: the platform of ``CONVEYOR_ENV`` and the model files, with errors that say
how to fix them.

Platform configs live in ``configs/platform/<env>.yaml`` and are picked by ``CONVEYOR_ENV``
(default ``local``). Model configs live in ``configs/models/<name>.yaml``, one file a model.
A bad file fails here, at load, with the file, the field and what is allowed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, get_args

import yaml
from pydantic import BaseModel, ValidationError

from pipelines.config.model import ModelConfig
from pipelines.config.platform import ENVIRONMENTS, PlatformConfig
from pipelines.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[2]


def config_dir() -> Path:
    return Path(os.environ.get("CONVEYOR_CONFIG_DIR", REPO_ROOT / "configs"))


def conveyor_home() -> Path:
    return Path(os.environ.get("CONVEYOR_HOME", REPO_ROOT / ".conveyor")).resolve()


_ENV_REFERENCE = re.compile(r"\$\{(?P<name>[A-Z_][A-Z0-9_]*)(?::-(?P<default>[^}]*))?\}")


def expand_env(value: str, env: dict[str, str], where: str) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}``; an unset VAR without default is an error."""

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{where}: environment variable {name} is not set; export it or give"
            f" a default as ${{{name}:-value}}"
        )

    return _ENV_REFERENCE.sub(substitute, value)


def _expand_tree(value: Any, env: dict[str, str], where: str) -> Any:
    if isinstance(value, str):
        return expand_env(value, env, where)
    if isinstance(value, dict):
        return {k: _expand_tree(v, env, f"{where}: {k}") for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_tree(v, env, where) for v in value]
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of fields at the top level")
    return data


def _describe(error: ValidationError, model: type[BaseModel]) -> str:
    lines = []
    for item in error.errors():
        shown = [part for part in item["loc"] if part not in _KIND_TAGS]  # features.lags.x -> features.x
        field = ".".join(str(part) for part in shown) or "(top level)"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = f"unknown field; allowed here: {', '.join(_allowed_fields(model, item['loc']))}"
        elif item["type"] in ("union_tag_not_found", "union_tag_invalid"):
            tags = item.get("ctx", {}).get("expected_tags") or ", ".join(map(repr, sorted(_KIND_TAGS)))
            field, message = f"{field}.kind", f"say which kind of {field} this is: one of {tags}"
            if "tag" in item.get("ctx", {}):
                message += f" (got {item['ctx']['tag']!r})"
        elif "input" in item and item["type"] not in ("missing", "value_error"):
            message = f"{message} (got {item['input']!r})"
        lines.append(f"  - {field}: {message}")
    return "\n".join(lines)


_KIND_TAGS = {"lags", "pair_stats"}  # the tags of features' kinds, which pydantic puts in a loc


def _allowed_fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in loc[:-1]:
        if part in _KIND_TAGS:
            continue
        field = current.model_fields.get(part) if isinstance(part, str) else None
        if field is None:
            # loc uses aliases; map back
            matches = [f for f in current.model_fields.values() if f.alias == part]
            field = matches[0] if matches else None
        annotation = getattr(field, "annotation", None)
        options = [annotation, *get_args(annotation)]
        if part == "features":  # a discriminated union: the member the loc's tag names
            tag = loc[loc.index(part) + 1]
            options = [o for o in get_args(annotation) if tag in get_args(o.model_fields["kind"].annotation)]
        models = [o for o in options if isinstance(o, type) and issubclass(o, BaseModel)]
        if not models:
            return []
        current = models[0]
    return sorted(f.alias or name for name, f in current.model_fields.items())


def load_platform_config(environment: str | None = None) -> PlatformConfig:
    """Load the platform config of ``environment`` (default: ``CONVEYOR_ENV`` or ``local``)."""
    environment = environment or os.environ.get("CONVEYOR_ENV", "local")
    if environment not in ENVIRONMENTS:
        raise ConfigError(
            f"CONVEYOR_ENV={environment!r} is not an environment; use one of {', '.join(ENVIRONMENTS)}"
        )
    path = config_dir() / "platform" / f"{environment}.yaml"
    env = {**os.environ, "CONVEYOR_HOME": str(conveyor_home())}
    raw = _expand_tree(_read_yaml(path), env, str(path))
    raw.setdefault("home", env["CONVEYOR_HOME"])
    try:
        return PlatformConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid:\n{_describe(exc, PlatformConfig)}") from None


def model_names() -> list[str]:
    return sorted(path.stem for path in (config_dir() / "models").glob("*.yaml"))


def load_model_config(name: str) -> ModelConfig:
    """Load ``configs/models/<name>.yaml``; its ``name`` field must match the file name."""
    path = config_dir() / "models" / f"{name}.yaml"
    if not path.is_file():
        known = ", ".join(model_names()) or "none"
        raise ConfigError(f"no model called {name!r}: {path} does not exist; known models: {known}")
    return parse_model_config(_read_yaml(path), path)


def parse_model_config(raw: dict[str, Any], path: Path) -> ModelConfig:
    try:
        config = ModelConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path} is invalid:\n{_describe(exc, ModelConfig)}") from None
    if config.name != path.stem:
        raise ConfigError(f"{path}: name {config.name!r} must match the file name {path.stem!r}")
    suite = expectation_suite_path(config)
    if not suite.is_file():
        raise ConfigError(
            f"{path}: source.expectation_suite {config.source.expectation_suite!r} not found at {suite}"
        )
    return config


def expectation_suite_path(config: ModelConfig) -> Path:
    return config_dir() / "expectations" / config.source.expectation_suite
