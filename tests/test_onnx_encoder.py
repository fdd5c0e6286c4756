"""The ONNX encoder: export (idempotent, generic over BERT-like directories), parity with
sentence-transformers, fp32 against int8 on retrieval, thread safety."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from assistant.deciders.inputs import SPLIT_OUTPUT
from assistant.encoders import MANIFEST, OnnxFiles, export_dir, onnx_files, split_part, weights_hash
from assistant.onnx_encoder import OnnxEncoder
from assistant.settings import Settings
from ingest.onnx_export import ensure_encoder, export_encoder, write_split_parts
from tests.conftest import CORPUS, ROOT, make_settings

QUESTIONS = [
    "I have product footage and need to relight it. Which model?",
    "nothing has been filmed yet, which one?",
    "Can I use Ray 3 and Ray 3.2 together?",
    "How much does Ray 3.2 cost?",
    "Ray 3.2",
    "",
]


def corpus_lines() -> list[str]:
    lines = [line.strip() for p in sorted(CORPUS.glob("*.txt")) for line in p.read_text().splitlines()]
    long = " ".join(lines)[:4000]  # longer than max_length: truncated the same way on both sides
    return [*[line for line in lines if line][:120], long]


@pytest.fixture(scope="module")
def files(ingested_settings: Settings) -> OnnxFiles:
    return onnx_files(ingested_settings)  # made by the session's ingest


def test_export_layout_and_manifest(files: OnnxFiles, ingested_settings: Settings) -> None:
    assert files.dir.parent == ingested_settings.model_dir
    assert files.dir.name == files.weights_hash[:16]
    for path in (files.fp32, files.int8, files.tokenizer):
        assert path.is_file() and path.stat().st_size > 0, path
    manifest = json.loads((files.dir / "onnx.json").read_text())
    assert manifest["weights_hash"] == files.weights_hash
    assert files.int8.stat().st_size < files.fp32.stat().st_size / 3  # int8 weights


def test_export_is_idempotent(files: OnnxFiles, ingested_settings: Settings) -> None:
    before = {p: p.stat().st_mtime_ns for p in (files.fp32, files.int8, files.tokenizer)}
    again = ensure_encoder(ingested_settings)
    assert again == files
    assert {p: p.stat().st_mtime_ns for p in before} == before  # nothing rewritten


def test_onnx_graph_inputs_and_outputs(files: OnnxFiles) -> None:
    import onnxruntime as ort

    for path in (files.fp32, files.int8):
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inputs = {i.name: i for i in session.get_inputs()}
        assert set(inputs) == {"input_ids", "attention_mask", "token_type_ids"}
        for i in inputs.values():
            assert i.type == "tensor(int64)"
            assert all(isinstance(d, str) for d in i.shape)  # dynamic batch and sequence axes
        # The sentence states, and the states after the layer the learned decider takes over from.
        assert [o.name for o in session.get_outputs()] == ["last_hidden_state", SPLIT_OUTPUT]


def test_fp32_matches_sentence_transformers(files: OnnxFiles, ingested_settings: Settings) -> None:
    from assistant.embeddings import MiniLMEmbeddings

    texts = QUESTIONS + corpus_lines()
    reference = np.asarray(MiniLMEmbeddings(ingested_settings.embedding_model_path())(texts))
    encoder = OnnxEncoder(files.fp32, files.tokenizer)
    got = encoder.embed(texts)
    assert encoder.dim == got.shape[1] == reference.shape[1] == 384
    cosines = (got * reference).sum(axis=1)
    assert cosines.min() >= 0.999, (cosines.min(), texts[int(cosines.argmin())][:80])
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_token_states_and_mask(files: OnnxFiles) -> None:
    encoder = OnnxEncoder(files.fp32, files.tokenizer, max_length=16)
    states, mask = encoder.token_states(["short", "a much longer sentence " * 10])
    assert states.shape == (2, 16, 384) and states.dtype == np.float32
    assert mask.shape == (2, 16)
    assert mask[0].sum() == 3 and mask[1].sum() == 16  # [CLS] short [SEP]; the long one truncated at 16


def test_int8_is_close_to_fp32(files: OnnxFiles) -> None:
    texts = QUESTIONS[:4] + corpus_lines()
    fp32 = OnnxEncoder(files.fp32, files.tokenizer).embed(texts)
    int8 = OnnxEncoder(files.int8, files.tokenizer).embed(texts)
    cosines = (fp32 * int8).sum(axis=1)
    assert cosines.min() >= 0.97 and cosines.mean() >= 0.99, (cosines.min(), cosines.mean())


def test_one_encoder_is_safe_to_share_between_threads(files: OnnxFiles) -> None:
    encoder = OnnxEncoder(files.int8, files.tokenizer)
    texts = QUESTIONS[:4] * 5
    alone = [encoder.embed([t])[0] for t in texts]
    with ThreadPoolExecutor(max_workers=8) as pool:
        together = list(pool.map(lambda t: encoder.embed([t])[0], texts))
    for a, b in zip(alone, together, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_a_question_encoded_on_more_threads_is_the_same_bit_for_bit(files: OnnxFiles, variant: str) -> None:
    """A question encoded alone in its process runs on two threads, one beside another run on one
    (`assistant.cores`): the answer must not depend on what else was running, nor differ from the states the
    decider was trained on."""
    from assistant.cores import RUNS

    encoder = OnnxEncoder(getattr(files, variant), files.tokenizer, wide=2)
    history = "user: we shot the launch spot last week | assistant: Recommendation: Ray 3.2"
    for text, context in [(q, "") for q in QUESTIONS] + [(q, history) for q in QUESTIONS[:3]]:
        vector, states = encoder.encode_pair(text, context)
        with RUNS.started():  # another run in flight: this one gets one thread
            one_vector, one_states = encoder.encode_pair(text, context)
        assert states is not None and one_states is not None
        assert np.array_equal(vector, one_vector) and np.array_equal(states, one_states), (text, context)


def test_a_spans_vector_is_the_one_its_text_gets_as_a_question(files: OnnxFiles, tmp_path: Path) -> None:
    """Span vectors do not depend on what else is embedded with them (int8 scales each run's activations by
    that run's range): adding a document must not move the other spans' similarity to a question."""
    from assistant.onnx_encoder import cached_embed

    shutil.copy(files.int8, tmp_path / files.int8.name)  # its own cache folder, beside a copy of the export
    encoder = OnnxEncoder(tmp_path / files.int8.name, files.tokenizer)
    spans = corpus_lines()[:12]
    few = cached_embed(encoder, spans)
    more = cached_embed(encoder, [*spans, *corpus_lines()[12:60]])
    assert np.array_equal(few, more[:12])
    # The same vector as a question gets, to rounding: the two paths pool in another order, which moved the seventh
    # digit on an AVX2-only CPU (and nothing on AVX-512 ones); a batch-mate moved vectors by about 1e-2.
    np.testing.assert_allclose(few[3], encoder.encode_pair(spans[3], "")[0], rtol=0, atol=1e-6)
    assert np.array_equal(few, cached_embed(encoder, spans))  # read back from its cache


@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_training_states_are_answerings_bit_for_bit(files: OnnxFiles, variant: str) -> None:
    """The decider learns from the split-layer states answering will compute: the trainer's faster path (a cut
    graph, parallel runs) must give exactly `encode_pair`'s, with and without a conversation."""
    from ingest.decider.train import onnx_states

    encoder = OnnxEncoder(getattr(files, variant), files.tokenizer)
    history = "user: we shot the launch spot last week | assistant: Recommendation: Ray 3.2"
    pairs = [(q, "") for q in QUESTIONS] + [(q, history) for q in QUESTIONS[:3]] + [(corpus_lines()[-1], history)]
    got = onnx_states(encoder, pairs, workers=3)
    assert len(got) == len(pairs)
    for (text, context), states in zip(pairs, got, strict=True):
        _, expected = encoder.encode_pair(text, context)
        assert expected is not None and np.array_equal(states.numpy(), expected), (text, context)


def test_exports_any_bert_like_directory(tmp_path: Path, files: OnnxFiles) -> None:
    """A directory written by save_pretrained (here a tiny random BERT, as a fine-tuned classifier's
    would be): the ONNX last_hidden_state equals the torch model's."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    model = BertModel(config).eval()
    model_dir = tmp_path / "tiny-bert"
    model.save_pretrained(model_dir)
    shutil.copyfile(files.tokenizer, model_dir / "tokenizer.json")

    out = tmp_path / "models" / "tiny"
    exported = export_encoder(model_dir, out)
    assert exported.weights_hash == weights_hash(model_dir)
    assert exported.max_length == 64  # from max_position_embeddings when there is no sentence-transformers config
    encoder = OnnxEncoder(exported.fp32, exported.tokenizer, max_length=exported.max_length)
    texts = ["we filmed the hero take", "no footage"]
    states, mask = encoder.token_states(texts)
    with torch.inference_mode():
        ids = torch.zeros(mask.shape, dtype=torch.int64)
        from tokenizers import Tokenizer

        tok = Tokenizer.from_file(str(exported.tokenizer))
        tok.no_padding()
        for row, text in enumerate(texts):
            enc = tok.encode(text)
            ids[row, :len(enc.ids)] = torch.tensor(enc.ids)
        expected = model(input_ids=ids, attention_mask=torch.from_numpy(mask)).last_hidden_state.numpy()
    valid = mask.astype(bool)
    assert np.allclose(states[valid], expected[valid], atol=1e-4)
    assert OnnxEncoder(exported.int8, exported.tokenizer).dim == 32
    assert not split_part(exported.fp32).exists()  # two layers: nothing to cut at the decider's split
    # Same weights again: nothing to do; changed weights: a different folder under the models root.
    assert export_encoder(model_dir, out) == exported
    assert export_dir(tmp_path / "models", model_dir)[1] == exported.weights_hash


@pytest.mark.parametrize("variant", ["int8", "fp32"])
def test_the_decider_states_alone_are_the_whole_encodings_bit_for_bit(files: OnnxFiles, variant: str,
                                                                       tmp_path: Path) -> None:
    """A follow-up read without its conversation, or the turn before it, needs only the decider's states: the graph cut
    at the split output gives exactly the whole graph's, and an export without the cut gives them from the whole."""
    model_file = getattr(files, variant)
    assert split_part(model_file).is_file()  # written by the export
    encoder = OnnxEncoder(model_file, files.tokenizer, wide=2)
    (tmp_path / model_file.name).symlink_to(model_file)
    uncut = OnnxEncoder(tmp_path / model_file.name, files.tokenizer)
    history = "user: we shot the launch spot last week | assistant: Recommendation: Ray 3.2"
    for text, context in [(q, "") for q in QUESTIONS] + [(q, history) for q in QUESTIONS[:3]]:
        _, expected = encoder.encode_pair(text, context)
        assert expected is not None
        assert np.array_equal(encoder.split_states(text, context), expected), (text, context)
        assert np.array_equal(uncut.split_states(text, context), expected), (text, context)


def test_a_new_export_cuts_its_graph_again(tmp_path: Path, files: OnnxFiles) -> None:
    """The cut graph is the export's own: when the export is made again (another export format, say), the cut of the
    old one does not stay beside the new one."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64)
    torch.manual_seed(0)
    model_dir = tmp_path / "four-layers"
    BertModel(config).eval().save_pretrained(model_dir)
    shutil.copyfile(files.tokenizer, model_dir / "tokenizer.json")
    out = tmp_path / "models" / "four"
    exported = export_encoder(model_dir, out)
    cut = split_part(exported.int8)
    assert cut.is_file()
    cut.write_bytes(b"the cut of an older export")
    broken = OnnxEncoder(exported.int8, exported.tokenizer)  # a broken cut is passed over: the whole graph serves
    assert np.array_equal(broken.split_states("no footage"), broken.encode_pair("no footage")[1])
    manifest = json.loads((out / MANIFEST).read_text())
    (out / MANIFEST).write_text(json.dumps({**manifest, "format": "an older format"}))
    assert export_encoder(model_dir, out) == exported
    encoder = OnnxEncoder(exported.int8, exported.tokenizer)
    assert np.array_equal(encoder.split_states("we filmed the hero take"),
                          encoder.encode_pair("we filmed the hero take")[1])
    # Where the cut cannot be written, the export stands without it.
    cut.unlink()
    (cut / "in the way").mkdir(parents=True)
    write_split_parts(exported)
    assert cut.is_dir() and not list(out.glob(".*.split.onnx.*"))
    assert OnnxEncoder(exported.int8, exported.tokenizer).split_states("no footage") is not None


def test_missing_export_is_a_clear_error(ingested_dir: Path, tmp_path: Path) -> None:
    from assistant import Assistant
    from assistant.errors import IndexMissingError

    settings = make_settings(ingested_dir, model_dir=tmp_path / "empty-models")
    with pytest.raises(IndexMissingError, match=r"RAY_ADVISOR_MODEL_DIR.*ray-advisor ingest"):
        Assistant.from_settings(settings)


def test_the_answer_path_never_imports_torch() -> None:
    code = ("import sys, assistant.onnx_encoder, assistant.encoders, assistant.core; "
            "bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.eval
def test_int8_retrieves_nearly_the_passages_fp32_does(ingested_settings: Settings) -> None:
    """int8 against fp32 on retrieval (dense + BM25, fused, as answering retrieves), for every eval question.
    int8 is not a drop-in (README, Speed): near-tied chunks swap, and int8 kernels differ by CPU. Measured:
    all 4 shared for 129 of 159 questions, 3 for 30, the same first passage for 150 (a CPU with AVX-512);
    4 for 133, 3 for 25, 2 for 1, the same first for 151 (an AVX2-only AMD EPYC). Held here: at least 2 of
    4 shared for every question and 3 for 95% of them, the same first passage for 90%. (The decider is
    trained on the states of the encoder it will read, so each variant has its own; see test_decider.py.)"""
    from assistant import Assistant
    from assistant.encoders import question_encoder
    from evals.cases import load_cases

    retriever = Assistant.from_settings(ingested_settings).pipeline.retriever
    questions = [c.question for c in load_cases(None)]
    vectors = {v: question_encoder(ingested_settings.model_copy(update={"encoder": v})).embed(questions)
               for v in ("fp32", "int8")}
    far, apart, same_first = [], [], 0
    for question, f32, i8 in zip(questions, vectors["fp32"], vectors["int8"], strict=True):
        top_f32 = [p.chunk_id for p in retriever.retrieve(question, 4, embedding=f32).passages]
        top_i8 = [p.chunk_id for p in retriever.retrieve(question, 4, embedding=i8).passages]
        same_first += top_f32[0] == top_i8[0]
        shared = len(set(top_f32) & set(top_i8))
        if shared < 3:
            far.append(question)
        if shared < 2:
            apart.append(question)
    assert not apart, apart
    assert len(far) <= 0.05 * len(questions), far
    assert same_first >= 0.9 * len(questions), f"first passage differs for {len(questions) - same_first}"


@pytest.mark.eval
def test_fp32_retrieval_is_unchanged_from_sentence_transformers(ingested_settings: Settings) -> None:
    """The fp32 encoder ranks passages exactly as the sentence-transformers query encoder did."""
    from assistant import Assistant
    from assistant.embeddings import MiniLMEmbeddings
    from assistant.encoders import question_encoder
    from evals.cases import load_cases

    bot = Assistant.from_settings(ingested_settings)
    retriever = bot.pipeline.retriever
    st = MiniLMEmbeddings(ingested_settings.embedding_model_path())
    questions = [c.question for c in load_cases(None)]
    reference = np.asarray(st(questions))
    onnx = question_encoder(ingested_settings.model_copy(update={"encoder": "fp32"})).embed(questions)
    for question, ref, got in zip(questions, reference, onnx, strict=True):
        want = [cid for cid, _ in retriever.dense(ref, 8)]
        assert [cid for cid, _ in retriever.dense(got, 8)] == want, question
