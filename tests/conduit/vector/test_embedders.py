"""TfidfEmbedder (equal to scikit-learn) and OnnxEmbedder (on a tiny ONNX model built here)."""

from __future__ import annotations

import numpy as np
import pytest

from conduit.vector import HashingTokenizer, OnnxEmbedder, TfidfEmbedder, VectorInputError

text = pytest.importorskip("sklearn.feature_extraction.text", reason="sklearn is in the test extra (./dev test installs it)")

CORPUS = ["Numba compiles Python kernels.", "Kernels scan vectors in parallel!",
          "Ünïcode wörds: café, naïve, 日本語", "vectors vectors VECTORS", ""]


def test_tfidf_embedder_equals_sklearn():
    ours = TfidfEmbedder()
    ref = text.TfidfVectorizer()
    got = ours.fit_transform(CORPUS)
    want = ref.fit_transform(CORPUS)
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    assert ours.vocabulary_ == ref.vocabulary_
    np.testing.assert_allclose(ours.idf_, ref.idf_, atol=1e-12)
    np.testing.assert_allclose(got.toarray(), want.toarray(), atol=1e-6)
    new = ["parallel café kernels", "nothing"]
    np.testing.assert_allclose(ours.transform(new).toarray(), ref.transform(new).toarray(), atol=1e-6)
    dense = ours.embed(new)
    assert dense.dtype == np.float32 and dense.shape == (2, ours.dim)
    np.testing.assert_allclose(dense, ref.transform(new).toarray(), atol=1e-6)
    assert ours.fit(CORPUS) is ours


def test_tfidf_embedder_errors():
    with pytest.raises(VectorInputError, match="not fitted"):
        TfidfEmbedder().transform(["x"])
    with pytest.raises(VectorInputError, match="list of strings"):
        TfidfEmbedder().fit("one string")
    with pytest.raises(VectorInputError, match="no terms remain"):
        TfidfEmbedder().fit(["a b", "c"])


def tiny_onnx_model(vocab=50, hidden=8, seed=0):
    """input_ids, attention_mask -> last_hidden_state = table[input_ids] (a Gather)."""
    from onnx import TensorProto, helper, numpy_helper

    table = np.random.default_rng(seed).standard_normal((vocab, hidden)).astype(np.float32)
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "input_ids"], ["last_hidden_state"]),
         helper.make_node("Identity", ["attention_mask"], ["mask_out"])],
        "tiny_encoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden]),
         helper.make_tensor_value_info("mask_out", TensorProto.INT64, ["batch", "seq"])],
        [numpy_helper.from_array(table, "table")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString(), table


def test_onnx_embedder_mean_pools_and_normalises(tmp_path):
    pytest.importorskip("onnxruntime", reason="onnxruntime is in the test extra (./dev test installs it)")
    blob, table = tiny_onnx_model()
    path = tmp_path / "tiny.onnx"
    path.write_bytes(blob)
    emb = OnnxEmbedder(str(path), vocab_size=50)
    assert emb.dim == 8
    texts = ["hello world", "a much longer sentence with words", ""]
    got = emb.embed(texts)
    tok = HashingTokenizer(50)(texts)
    for i in range(3):
        ids = tok["input_ids"][i][tok["attention_mask"][i] == 1]
        want = table[ids].mean(0) if len(ids) else np.zeros(8)
        n = np.linalg.norm(want)
        np.testing.assert_allclose(got[i], want / n if n else want, atol=1e-5)
    assert OnnxEmbedder(blob, vocab_size=50, pooling="cls", normalize=False).embed(["hello"])[0] \
        .tolist() == pytest.approx(table[tok["input_ids"][0][0]].tolist())


def test_onnx_embedder_bad_model():
    pytest.importorskip("onnxruntime", reason="onnxruntime is in the test extra (./dev test installs it)")
    with pytest.raises(ValueError, match="cannot load ONNX model"):
        OnnxEmbedder(b"not a model", vocab_size=10)
    with pytest.raises(ValueError, match="vocab_size"):
        OnnxEmbedder(b"x")


def test_english_stop_words_are_sklearns():
    from conduit.vector._stop_words import ENGLISH_STOP_WORDS

    assert ENGLISH_STOP_WORDS == text.ENGLISH_STOP_WORDS


@pytest.mark.parametrize("options", [
    {"stop_words": "english"}, {"stop_words": "english", "ngram_range": (1, 2), "sublinear_tf": True},
    {"ngram_range": [1, 2], "min_df": 1, "max_df": 0.8}])
def test_tfidf_embedder_options_equal_sklearn(options):
    corpus = CORPUS + ["The kernels and the vectors are in the store", "Is it the kernel of it all?"]
    ours = TfidfEmbedder(**options)
    ref = text.TfidfVectorizer(**{**options, "ngram_range": tuple(options.get("ngram_range", (1, 1)))})
    np.testing.assert_allclose(ours.fit_transform(corpus).toarray(), ref.fit_transform(corpus).toarray(),
                               atol=1e-6)
    assert list(ours.get_feature_names_out()) == list(ref.get_feature_names_out())
    new = ["the kernels of the store", "all vectors"]
    np.testing.assert_allclose(ours.embed(new), ref.transform(new).toarray(), atol=1e-6)


def test_tfidf_embedder_bad_stop_words():
    with pytest.raises(VectorInputError, match="stop_words"):
        TfidfEmbedder(stop_words="french")
    with pytest.raises(VectorInputError, match="stop word must be a string"):
        TfidfEmbedder(stop_words=["ok", None])
    with pytest.raises(VectorInputError, match="ngram_range"):
        TfidfEmbedder(ngram_range=(3, 1)).fit(CORPUS)
