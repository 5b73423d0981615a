"""trueq.open: the tensors of a weight file, each with its stored dtype and codec."""
import ctypes as C
import weakref

import numpy as np

from ._lib import Error, lib, s

_STATUS_NAMES = {}


class TrueqError(Exception):
    """A libtrueq failure: `status` (the tq_status number), `status_name`
    ("format error", ...) and `message` (the library's own, naming the file,
    tensor, value and limit)."""

    def __init__(self, status, message):
        self.status = int(status)
        self.status_name = s(lib.tq_status_str(self.status))
        self.message = message
        super().__init__("%s: %s" % (self.status_name, message))


def check(status, err):
    if status != 0:
        raise TrueqError(status, s(err.msg))


def fail(err):
    raise TrueqError(err.status or 10, s(err.msg))


# numpy dtypes of the stored dtypes numpy has (the others decode through the library).
_NUMPY = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "U16": np.uint16, "F16": np.float16,
          "I32": np.int32, "U32": np.uint32, "F32": np.float32, "F64": np.float64, "I64": np.int64, "U64": np.uint64}


class _Handle:
    """Owns one tq_model; closed when the Model and every view into its maps are gone."""

    def __init__(self, ptr):
        self.ptr = ptr
        self._finalizer = weakref.finalize(self, lib.tq_model_close, ptr)


class Tensor:
    """One logical tensor. Attributes: name, shape, stored_dtype ("I8", "F32",
    ...), codec ("linear-sym" ...; None when not quantized), bits, granularity,
    group, quantized, simulated, original_dtype, payload_bytes, scale_bytes."""

    def __init__(self, model, t):
        self._model, self._t = model, t
        c = t.contents
        self.name = s(c.name)
        self.shape = tuple(int(c.shape[i]) for i in range(c.ndim))
        self.numel = int(c.numel)
        self.stored_dtype = s(lib.tq_dtype_name(c.dtype))
        self.quantized, self.simulated = bool(c.quantized), bool(c.simulated)
        self.payload_bytes, self.scale_bytes = int(c.nbytes), int(c.aux_bytes)
        if self.quantized or self.simulated:
            ci = lib.tq_codec_by_id(c.q.codec)
            self.codec = s(ci.contents.name) if ci else "?"
            self.bits, self.granularity, self.group = c.q.bits, s(lib.tq_gran_name(c.q.gran)), int(c.q.group)
            self.original_dtype = s(lib.tq_dtype_name(c.orig_dtype))
        else:
            self.codec, self.bits, self.granularity, self.group = None, None, None, None
            self.original_dtype = self.stored_dtype

    def __repr__(self):
        q = " %s/%d/%s" % (self.codec, self.bits, self.granularity) if self.codec else ""
        return "<trueq.Tensor %s %s %s%s>" % (self.name, list(self.shape), self.stored_dtype, q)

    def stored(self):
        """The payload as stored, as a read-only numpy view into the file's map
        (no copy): the values of a plain tensor, the codes of a quantized one
        (shape as stored). None when numpy has no such dtype or the entry is
        compressed. Being a view of the map, it is the one read that is not
        SIGBUS-safe: if the file shrinks while the view is used, the process
        gets SIGBUS (docs/robustness.md); numpy() copies and is safe."""
        handle = self._model._handle
        self._model._ptr()                    # raises when the model is closed
        c = self._t.contents
        npt = _NUMPY.get(self.stored_dtype)
        if npt is None or not c.data or c.nbytes == 0:
            return None
        buf = (C.c_char * c.nbytes).from_address(c.data)
        buf._owner = handle      # keeps the map alive while the view lives
        a = np.frombuffer(buf, dtype=npt)
        if not self.quantized and a.size == self.numel:
            a = a.reshape(self.shape)
        a.flags.writeable = False
        return a

    def numpy(self):
        """float32 values, a copy read with pread by the library
        (tq_model_tensor_f32: dequantized from the codes, or converted), bit for
        bit the C loader's; a file that shrinks meanwhile raises trueq.Error
        (TQ_E_IO naming the file and offset), never SIGBUS."""
        out = np.empty(self.shape, dtype=np.float32)
        err = Error()
        check(lib.tq_model_tensor_f32(self._model._ptr(), self._t, out.ctypes.data, C.byref(err)), err)
        return out


class Model:
    """An open weight file (safetensors, sharded index, .npz, a model directory).
    Iterate for Tensors, index by name, `len()`; `close()` or a `with` block
    releases it (views handed out keep their map until they are gone)."""

    def __init__(self, path):
        err = Error()
        ptr = lib.tq_model_open(str(path).encode(), C.byref(err))
        if not ptr:
            fail(err)
        self._handle = _Handle(ptr)
        m = ptr
        self.path = s(lib.tq_model_path(m))
        self.directory = s(lib.tq_model_dir(m))
        fi = lib.tq_format_by_id(lib.tq_model_format(m))
        self.format = ("sharded-" if lib.tq_model_sharded(m) else "") + (s(fi.contents.name) if fi else "unknown")
        self._tensors = [Tensor(self, lib.tq_model_tensor(m, i)) for i in range(lib.tq_model_count(m))]
        self._by_name = {t.name: t for t in self._tensors}

    def _ptr(self):
        if self._handle is None:
            raise ValueError("trueq model %s is closed" % self.path)
        return self._handle.ptr

    def close(self):
        self._tensors, self._by_name, self._handle = [], {}, None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __len__(self):
        return len(self._tensors)

    def __iter__(self):
        return iter(list(self._tensors))

    def __getitem__(self, name):
        return self._by_name[name]

    def __contains__(self, name):
        return name in self._by_name

    def names(self):
        return [t.name for t in self._tensors]

    def tensors(self):
        return list(self._tensors)

    def meta(self, key):
        """A string of the file's metadata (safetensors __metadata__), or None."""
        return s(lib.tq_model_meta(self._ptr(), key.encode()))


def open(path):  # noqa: A001 (the package's API is trueq.open)
    """Open a weight file or model directory: a trueq.Model."""
    return Model(path)
