"""Single-file checkpoints (``.safetensors``, ``.ckpt`` in the original LDM/A1111 layout), loaded offline.

diffusers' ``from_single_file`` builds each component from a diffusers *config folder* (JSON configs + tokenizer
files, no weights) and converts the file's tensors into it; without ``config=`` it fetches that folder from the hub.
The project ships one per architecture in ``models/configs/`` (the configs of stable-diffusion-v1-5,
stable-diffusion-2-1 (768, v-prediction) and stable-diffusion-xl-base-1.0) plus CLIP's BPE file
(``clip/bpe_simple_vocab_16e6.txt.gz``, the one OpenAI's CLIP and open_clip ship), from which the tokenizers'
``vocab.json`` and ``merges.txt`` are derived (two 1 MB copies per tokenizer would otherwise be committed).

The folder handed to diffusers is materialised once per source and variant under a cache directory (the worker
uses ``<data_dir>/cache/configs``): the source's ``*.json``/``*.txt``/``*.model`` files, the derived BPE files
where a tokenizer lacks them, and the variant's changes (9 input channels and the inpaint pipeline class for an
inpainting checkpoint; the scheduler's ``prediction_type`` when it was detected). ``SDQ_SINGLE_FILE_CONFIGS``
names a folder whose ``sd1/``, ``sd2/``, ``sdxl/`` replace the shipped ones.

``.ckpt`` files are read by diffusers with ``torch.load(weights_only=True)``: tensors and plain containers only,
a pickle that needs any other class is refused instead of executed.
"""

from __future__ import annotations

import getpass
import gzip
import hashlib
import json
import logging
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from schemas.models import Arch

SHIPPED_CONFIGS = Path(__file__).resolve().parent / "configs"
CLIP_BPE = SHIPPED_CONFIGS / "clip" / "bpe_simple_vocab_16e6.txt.gz"
CLIP_BPE_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
CONFIG_ARCHS = (Arch.SD1, Arch.SD2, Arch.SDXL)
CONFIG_PATTERNS = ("*.json", "*.txt", "*.model")
_PIPELINES = {
    (Arch.SD1, False): "StableDiffusionPipeline",
    (Arch.SD2, False): "StableDiffusionPipeline",
    (Arch.SDXL, False): "StableDiffusionXLPipeline",
    (Arch.SD1, True): "StableDiffusionInpaintPipeline",
    (Arch.SD2, True): "StableDiffusionInpaintPipeline",
    (Arch.SDXL, True): "StableDiffusionXLInpaintPipeline",
}


def _bytes_to_unicode() -> list[str]:
    """CLIP's (and GPT-2's) reversible byte -> printable character table, in CLIP's vocabulary order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def clip_bpe(source: Path = CLIP_BPE) -> tuple[dict[str, int], list[str]]:
    """(vocab, merges) of CLIP's tokenizer from its BPE file, as CLIP's ``SimpleTokenizer`` builds them:
    48,894 merges; vocab = the 256 byte symbols, the same with ``</w>``, each merge joined, the two specials."""
    data = source.read_bytes()
    if source == CLIP_BPE and hashlib.sha256(data).hexdigest() != CLIP_BPE_SHA256:
        raise ValueError(f"{source.name} is not CLIP's BPE file (sha256 mismatch)")
    merges = gzip.decompress(data).decode("utf-8").split("\n")[1 : 49152 - 256 - 2 + 1]
    symbols = _bytes_to_unicode()
    tokens = [*symbols, *(s + "</w>" for s in symbols), *("".join(m.split()) for m in merges)]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    return {token: index for index, token in enumerate(tokens)}, merges


def write_clip_tokenizer_files(folder: Path) -> None:
    """``vocab.json`` and ``merges.txt`` (the files transformers' CLIPTokenizer reads) into ``folder``."""
    vocab, merges = clip_bpe()
    (folder / "vocab.json").write_text(json.dumps(vocab, ensure_ascii=False), encoding="utf-8")
    (folder / "merges.txt").write_text("#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8")


def _config_files(source: Path) -> list[Path]:
    return sorted({f for pattern in CONFIG_PATTERNS for f in source.rglob(pattern) if f.is_file()})


def _digest(source: Path, variant: str) -> str:
    digest = hashlib.sha256(variant.encode())
    for file in _config_files(source):
        digest.update(str(file.relative_to(source)).encode() + b"\0" + file.read_bytes() + b"\0")
    digest.update(CLIP_BPE_SHA256.encode())
    return digest.hexdigest()[:16]


def _patch_json(path: Path, **changes: Any) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data.update(changes)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _apply_variant(folder: Path, arch: Arch, inpaint: bool, prediction: str | None) -> None:
    if inpaint:
        _patch_json(folder / "unet" / "config.json", in_channels=9)
        _patch_json(folder / "model_index.json", _class_name=_PIPELINES[arch, True])
    if prediction is not None:
        _patch_json(folder / "scheduler" / "scheduler_config.json", prediction_type=prediction)


def materialize(source: Path, cache: Path, arch: Arch, inpaint: bool = False, prediction: str | None = None) -> Path:
    """The config folder for diffusers: ``source``'s config files, the BPE files its tokenizers lack, the variant.
    Written once (atomically) under ``cache`` per content and variant; later calls return the same folder."""
    variant = f"{arch.value}{'-inpaint' if inpaint else ''}{'-' + prediction if prediction else ''}"
    target = cache / f"{variant}-{_digest(source, variant)}"
    if (target / "model_index.json").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    staging = cache / f".staging-{uuid.uuid4().hex}"
    try:
        for file in _config_files(source):
            copy = staging / file.relative_to(source)
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(file, copy)
        for tokenizer in staging.glob("tokenizer*"):
            if tokenizer.is_dir() and not (tokenizer / "vocab.json").is_file():
                write_clip_tokenizer_files(tokenizer)
        _apply_variant(staging, arch, inpaint, prediction)
        os.replace(staging, target)
    except OSError:
        if not (target / "model_index.json").is_file():  # not another process winning the rename race
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _default_cache() -> Path:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        user = "user"
    return Path(tempfile.gettempdir()) / f"sdqueue-configs-{user}"


@dataclass(frozen=True)
class ConfigFolders:
    """Where config folders come from (``overrides/<arch>/`` first, else the shipped one) and are materialised."""

    cache: Path = field(default_factory=_default_cache)
    overrides: Path | None = None

    def source(self, arch: Arch) -> Path:
        if arch not in CONFIG_ARCHS:
            raise ValueError(f"no config folder for architecture {arch.value}; single files load for sd1, sd2, sdxl")
        if self.overrides is not None and (self.overrides / arch.value / "model_index.json").is_file():
            return self.overrides / arch.value
        return SHIPPED_CONFIGS / arch.value

    def folder(self, arch: Arch, inpaint: bool = False, prediction: str | None = None) -> Path:
        return materialize(self.source(arch), self.cache, arch, inpaint, prediction)


def pipeline_class(arch: Arch, inpaint: bool) -> Any:
    import diffusers

    name = _PIPELINES.get((arch, inpaint))
    if name is None:
        raise ValueError(f"single files load for sd1, sd2 and sdxl, not {arch.value}")
    return getattr(diffusers, name)


class _EmptyFp32Note(logging.Filter):
    """diffusers warns "modules ... that should be kept in float32: []" (an empty list) each time from_single_file
    casts a component to the requested dtype; nothing is wrong then."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "should be kept in float32: []" not in record.getMessage()


def _quiet_empty_fp32_note() -> None:
    logger = logging.getLogger("diffusers.models.modeling_utils")
    if not any(isinstance(f, _EmptyFp32Note) for f in logger.filters):
        logger.addFilter(_EmptyFp32Note())


def load_single_file(
    path: Path, arch: Arch, folders: ConfigFolders, dtype: Any, inpaint: bool = False, prediction: str | None = None
) -> Any:
    """The pipeline of one single-file checkpoint, offline: ``from_single_file`` with the architecture's config."""
    cls = pipeline_class(arch, inpaint)
    config = folders.folder(arch, inpaint, prediction)
    _quiet_empty_fp32_note()
    extra: dict[str, Any] = {}
    if arch is not Arch.SDXL:
        # The image safety checker is optional and configured separately (issue #7).
        extra.update(safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    return cls.from_single_file(str(path), config=str(config), local_files_only=True, dtype=dtype, **extra)
