"""Configuration files a user writes (fleet files, fault plans): TOML or YAML, chosen by the
file's suffix (.yaml/.yml, anything else TOML), read into plain data with one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

YAML_SUFFIXES = {".yaml", ".yml"}


def read_document(path: Path) -> object:
    """The file's data; ValueError naming the file (and the line, when the parser knows it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not UTF-8 text") from None
    if path.suffix.lower() in YAML_SUFFIXES:
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            problem = getattr(exc, "problem", None) or exc
            raise ValueError(f"{path}: not YAML{where} ({problem})") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not TOML ({exc})") from None
