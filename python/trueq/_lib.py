"""ctypes view of libtrueq.so: the structures and prototypes of the public headers.

Only what the package uses is declared. Each Structure mirrors the header's
struct field for field (include/trueq.h, trueq_verify.h, trueq_spectral.h,
trueq_nn.h); a layout change there must be repeated here, and the tests
compare every figure with the CLI's --json output, so a mismatch shows.
Sizes that the headers fix by enum (TQ_DTYPE_COUNT) are read from the library
at load time, not hard-coded.
"""
import ctypes as C
import os

_HERE = os.path.dirname(os.path.abspath(__file__))


def _load():
    path = os.environ.get("TRUEQ_LIBRARY") or os.path.join(_HERE, "libtrueq.so")
    return C.CDLL(path)


lib = _load()

i64, u64, i32 = C.c_int64, C.c_uint64, C.c_int32
TQ_MAX_DIMS = 8
TQ_MAX_AUX = 3
TQ_ENC_MAX_LABELS = 64
TQ_ENC_LABEL_LEN = 64
TQ_ENC_ROBERTA = 3   # tq_enc_arch


def fn(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)
    return f


fn("tq_dtype_name", C.c_char_p, C.c_int)
fn("tq_dtype_from_name", C.c_int, C.c_char_p)
# TQ_DTYPE_COUNT: dtypes are numbered 1.. without gaps; 0 and the end are "?".
DTYPE_COUNT = 1
while lib.tq_dtype_name(DTYPE_COUNT) != b"?":
    DTYPE_COUNT += 1


class Error(C.Structure):
    _fields_ = [("status", C.c_int), ("msg", C.c_char * 1024)]


class QParams(C.Structure):
    _fields_ = [("codec", C.c_int), ("bits", C.c_int), ("gran", C.c_int), ("group", i64),
                ("pad", C.c_int), ("alpha", C.c_float), ("ggml_type", C.c_int), ("method", C.c_int)]


class AuxDesc(C.Structure):
    _fields_ = [("suffix", C.c_char_p), ("dtype", C.c_int), ("ndim", C.c_int), ("shape", i64 * 2),
                ("per_row", C.c_int)]


class Tensor(C.Structure):
    _fields_ = [("name", C.c_char_p), ("dtype", C.c_int), ("ndim", C.c_int), ("shape", i64 * TQ_MAX_DIMS),
                ("numel", i64), ("nbytes", u64), ("aux_bytes", u64), ("data", C.c_void_p),
                ("file_index", C.c_int), ("quantized", C.c_int), ("simulated", C.c_int), ("q", QParams),
                ("orig_dtype", C.c_int), ("n_aux", C.c_int), ("aux", C.c_void_p * TQ_MAX_AUX),
                ("aux_desc", AuxDesc * TQ_MAX_AUX), ("rule", C.c_char_p)]


class FormatInfo(C.Structure):
    _fields_ = [("id", C.c_int), ("name", C.c_char_p), ("what", C.c_char_p), ("patterns", C.c_char_p * 4),
                ("default_file", C.c_char_p), ("shard_index", C.c_char_p), ("caps", C.c_uint)]


class CodecInfo(C.Structure):
    _fields_ = [("id", C.c_int), ("name", C.c_char_p), ("summary", C.c_char_p), ("bits_mask", C.c_uint),
                ("gran_mask", C.c_uint), ("layout", C.c_char_p), ("default_bits", C.c_int),
                ("default_gran", C.c_int), ("default_group", i64), ("uses_alpha", C.c_int),
                ("default_ggml_type", C.c_int), ("decode_only", C.c_int)]


class ConvertRule(C.Structure):
    _fields_ = [("glob", C.c_char_p), ("keep", C.c_int), ("q", QParams), ("origin", C.c_char_p)]


class ConvertOptions(C.Structure):
    _fields_ = [("q", QParams), ("format", C.c_int), ("quantize_embeddings", C.c_int), ("simulate", C.c_int),
                ("allow_nonfinite", C.c_int), ("threads", C.c_int), ("include", C.POINTER(C.c_char_p)),
                ("n_include", C.c_int), ("exclude", C.POINTER(C.c_char_p)), ("n_exclude", C.c_int),
                ("gguf_type", C.c_char_p), ("rules", C.POINTER(ConvertRule)), ("n_rules", C.c_int),
                ("prequant", C.c_void_p), ("prequant_ctx", C.c_void_p), ("prekeep", C.c_void_p)]


class PlanItem(C.Structure):
    _fields_ = [("src", C.POINTER(Tensor)), ("quantize", C.c_int), ("rule", C.c_char_p), ("q", QParams),
                ("out_dtype", C.c_int), ("in_bytes", u64), ("out_bytes", u64), ("aux_bytes", u64)]


class LedgerRow(C.Structure):
    _fields_ = [("t", C.POINTER(Tensor)), ("payload_bytes", u64), ("aux_bytes", u64), ("fake", C.c_int),
                ("distinct", i64), ("note", C.c_char * 200), ("bits_per_weight", C.c_double)]


class LedgerTotals(C.Structure):
    _fields_ = [("file_bytes", u64), ("header_bytes", u64), ("padding_bytes", u64), ("payload_bytes", u64),
                ("aux_bytes", u64), ("other_bytes", u64), ("stored_data_bytes", u64),
                ("by_dtype", u64 * DTYPE_COUNT), ("n_tensors", i64), ("n_quantized", i64),
                ("n_simulated", i64), ("n_fake", i64), ("numel", i64), ("numel_quantized", i64),
                ("metadata_bytes", u64)]


class VerifyMetrics(C.Structure):
    _fields_ = [("n", i64)] + [(k, C.c_double) for k in ("mse", "rmse", "rel_fro", "max_abs", "snr_db", "cosine")] + \
               [("n_clipped", i64), ("clipped_frac", C.c_double), ("n_top", i64), ("top_rel_err", C.c_double),
                ("top_max_abs", C.c_double)] + \
               [(k, C.c_double) for k in ("sum_w2", "sum_e2", "sum_wq", "sum_q2", "top_w2", "top_e2")]


class VerifyRow(C.Structure):
    _fields_ = [("name", C.c_char_p), ("presence", C.c_int), ("quantized", C.c_int), ("scheme", C.c_char * 64),
                ("ndim", C.c_int), ("shape", i64 * TQ_MAX_DIMS), ("m", VerifyMetrics), ("grade", C.c_char)]


SPECTRAL_FLOATS = ("alpha", "alpha_weighted", "log_alpha_norm", "D", "xmin", "xmax", "sigma")
SPECTRAL_NORMS = ("norm", "log_norm", "spectral_norm", "log_spectral_norm", "stable_rank", "lambda_max",
                  "sv_max", "sv_min", "entropy")


class SpectralLayer(C.Structure):
    _fields_ = [("name", C.c_char * 256), ("status", C.c_int), ("reason", C.c_char * 160), ("rows", i64),
                ("cols", i64), ("index", i64), ("svd_used", C.c_int), ("N", i64), ("M", i64), ("Q", C.c_double),
                ("num_evals", i64), ("num_fit_evals", i64), ("rank_loss", i64), ("weak_rank_loss", i64),
                ("matrix_rank", i64)] + [(k, C.c_double) for k in SPECTRAL_FLOATS] + \
               [("num_pl_spikes", i64), ("xmin_index", i64)] + [(k, C.c_double) for k in SPECTRAL_NORMS] + \
               [("warning", C.c_int)]


TRANSFORM = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_char_p, C.POINTER(C.c_float), i64, i64, C.POINTER(Error))
PROGRESS = C.CFUNCTYPE(None, C.c_void_p, i64, i64, C.c_char_p)


class SpectralOpts(C.Structure):
    _fields_ = [("threads", C.c_int), ("transform", TRANSFORM), ("transform_ctx", C.c_void_p),
                ("progress", PROGRESS), ("progress_ctx", C.c_void_p), ("only", C.c_char_p),
                ("keep_evals", C.c_int), ("svd", C.c_int), ("tensors", C.POINTER(C.c_char_p)),
                ("n_tensors", C.c_int)]


class SpectralReport(C.Structure):
    _fields_ = [("n", i64), ("layers", C.POINTER(SpectralLayer)), ("evals", C.POINTER(C.POINTER(C.c_double))),
                ("analysed", i64)]


class SynthOptions(C.Structure):
    _fields_ = [("seed", u64)] + [(k, C.c_int) for k in ("layers", "dim", "hidden", "heads", "vocab", "max_pos")]


class EncConfig(C.Structure):
    _fields_ = [("arch", C.c_int)] + \
               [(k, C.c_int) for k in ("vocab_size", "dim", "n_layers", "n_heads", "hidden_dim", "max_pos",
                                       "type_vocab_size")] + \
               [("ln_eps", C.c_float), ("act", C.c_int), ("pad_token_id", C.c_int), ("head", C.c_int),
                ("multi_label", C.c_int), ("n_labels", C.c_int),
                ("labels", (C.c_char * TQ_ENC_LABEL_LEN) * TQ_ENC_MAX_LABELS), ("pooling", C.c_int),
                ("normalize", C.c_int), ("seq_limit", C.c_int)]


class EncOpts(C.Structure):
    _fields_ = [("keep_int8", C.c_int), ("keep_quantized", C.c_int), ("int8_attention", C.c_int)]


class WpEncoding(C.Structure):
    _fields_ = [("n", C.c_int), ("ids", C.POINTER(i32)), ("type_ids", C.POINTER(i32))]


class EncSeq(C.Structure):
    _fields_ = [("n", C.c_int), ("ids", C.POINTER(i32)), ("type_ids", C.POINTER(i32))]


P, E = C.c_void_p, C.POINTER(Error)
fn("tq_version", C.c_char_p)
fn("tq_status_str", C.c_char_p, C.c_int)
fn("tq_gran_name", C.c_char_p, C.c_int)
fn("tq_ggml_type_name", C.c_char_p, C.c_int)
fn("tq_gran_from_name", C.c_int, C.c_char_p)
fn("tq_codec_by_id", C.POINTER(CodecInfo), C.c_int)
fn("tq_codec_by_name", C.POINTER(CodecInfo), C.c_char_p)
fn("tq_qparams_str", C.c_char_p, C.POINTER(QParams), C.c_char_p, C.c_size_t)
fn("tq_qparams_check", C.c_int, C.POINTER(QParams), C.c_char_p, i64, i64, E)
fn("tq_qparams_layout", C.c_int, C.POINTER(QParams), i64, i64, C.POINTER(C.c_int), i64 * 2, AuxDesc * TQ_MAX_AUX)
fn("tq_nbytes", u64, C.c_int, C.c_int, C.POINTER(i64))
fn("tq_quantize", C.c_int, C.POINTER(QParams), C.c_char_p, C.POINTER(C.c_float), i64, i64, C.c_void_p,
   C.c_void_p * TQ_MAX_AUX, C.c_int, E)
fn("tq_dequantize", C.c_int, C.POINTER(QParams), i64, i64, C.c_void_p, C.c_void_p * TQ_MAX_AUX,
   C.POINTER(C.c_float), E)
fn("tq_format_by_id", C.POINTER(FormatInfo), C.c_int)
fn("tq_format_by_name", C.POINTER(FormatInfo), C.c_char_p)
fn("tq_model_open", P, C.c_char_p, E)
fn("tq_model_close", None, P)
fn("tq_model_format", C.c_int, P)
fn("tq_model_sharded", C.c_int, P)
fn("tq_model_count", i64, P)
fn("tq_model_tensor", C.POINTER(Tensor), P, i64)
fn("tq_model_find", C.POINTER(Tensor), P, C.c_char_p)
fn("tq_model_path", C.c_char_p, P)
fn("tq_model_dir", C.c_char_p, P)
fn("tq_model_meta", C.c_char_p, P, C.c_char_p)
fn("tq_model_tensor_f32", C.c_int, P, C.POINTER(Tensor), C.c_void_p, E)
fn("tq_convert_options_init", None, C.POINTER(ConvertOptions))
fn("tq_plan_create", P, P, C.POINTER(ConvertOptions), E)
fn("tq_plan_free", None, P)
fn("tq_plan_count", i64, P)
fn("tq_plan_item_at", C.POINTER(PlanItem), P, i64)
fn("tq_plan_output_bytes", u64, P)
fn("tq_plan_bytes_by_dtype", None, P, C.POINTER(u64))
fn("tq_plan_output_name", C.c_char_p, P)
fn("tq_plan_execute", C.c_int, P, C.c_char_p, C.c_void_p, C.c_void_p, E)
fn("tq_ledger_create", P, P, E)
fn("tq_ledger_free", None, P)
fn("tq_ledger_count", i64, P)
fn("tq_ledger_row_at", C.POINTER(LedgerRow), P, i64)
fn("tq_ledger_totals_get", C.POINTER(LedgerTotals), P)
fn("tq_synth_options_init", None, C.POINTER(SynthOptions))
fn("tq_synth_distilbert", C.c_int, C.c_char_p, C.POINTER(SynthOptions), E)
fn("tq_verify_report_create", P, P, P, E)
fn("tq_verify_report_free", None, P)
fn("tq_verify_count", i64, P)
fn("tq_verify_row_at", C.POINTER(VerifyRow), P, i64)
fn("tq_verify_overall", C.POINTER(VerifyMetrics), P, C.c_int)
fn("tq_verify_count_presence", i64, P, C.c_int)
fn("tq_verify_grade", C.c_char, C.c_double)
fn("tq_spectral_analyze", C.c_int, P, C.POINTER(SpectralOpts), C.POINTER(SpectralReport), E)
fn("tq_spectral_report_free", None, C.POINTER(SpectralReport))
fn("tq_spectral_status_str", C.c_char_p, C.c_int)
fn("tq_spectral_warning_str", C.c_char_p, C.c_int)
fn("tq_enc_open_ex", P, P, C.c_void_p, C.POINTER(EncOpts), E)
fn("tq_enc_free", None, P)
fn("tq_enc_config_of", C.POINTER(EncConfig), P)
fn("tq_enc_has_head", C.c_int, P)
fn("tq_enc_run", C.c_int, P, C.POINTER(EncSeq), C.c_int, C.c_int, C.c_void_p, C.c_void_p, C.c_void_p,
   C.c_void_p, E)
fn("tq_wp_open_dir", P, C.c_char_p, E)
fn("tq_wp_free", None, P)
fn("tq_wp_max_len", C.c_int, P)
fn("tq_wp_encode", C.c_int, P, C.c_char_p, C.c_char_p, C.c_int, C.POINTER(WpEncoding), E)
fn("tq_wp_encoding_free", None, C.POINTER(WpEncoding))
fn("tq_tok_open_dir", P, C.c_char_p, E)
fn("tq_tok_free", None, P)
fn("tq_tok_encode_pair", C.c_int, P, C.c_char_p, C.c_char_p, C.c_int, C.POINTER(WpEncoding), E)


def s(b):
    """bytes from the library -> str (None stays None)."""
    return None if b is None else b.decode("utf-8", "replace")
