"""Language detection in a helper process (transforms/normalise/detector_process.py) and the DoFn that uses it."""

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from newsbeam.transforms.normalise import detect
from newsbeam.transforms.normalise import detector_process, language
from newsbeam.transforms.normalise.detector_process import DetectorProcess, HelperGone, shared_helper
from newsbeam.transforms.normalise.language import DETECTION_MODES, LanguageDetector

DUTCH = "Het kabinet wil volgend jaar meer geld uittrekken voor de versterking van de dijken langs de rivieren."
ENGLISH = "The government plans to spend more money next year on strengthening the dikes along the major rivers of the country."
TABLE = "Shr 45 cts vs 58 cts\nNet 1.1 mln vs 829,000\nSales 7.9 mln vs 9.4 mln\nAvg shrs 2,332,397 vs 1,428,000"
ROWS = [{"id": "1", "source": "s", "title": None, "text": DUTCH, "language": None},
        {"id": "2", "source": "s", "title": None, "text": ENGLISH, "language": None}]  # fmt: skip


@pytest.fixture(autouse=True)
def no_helpers_left():
    """Helpers and connections a test made are closed after it (those of earlier tests stay for their users)."""
    helpers, connections = dict(detector_process._HELPERS), dict(detector_process._CONNECTIONS)
    yield
    for key, client in list(detector_process._HELPERS.items()):
        if helpers.get(key) is not client:
            client.close()
            del detector_process._HELPERS[key]
    for address, client in list(detector_process._CONNECTIONS.items()):
        if connections.get(address) is not client:
            client.close()
            del detector_process._CONNECTIONS[address]


@pytest.fixture
def helper():
    process = DetectorProcess(("nl", "en", "fr", "de"), {})
    yield process
    process.close()


def _complete(batch):
    """A batch's results from its two replies: the first pass, with the refined texts filled in."""
    first, rest = batch.first.result(timeout=120), batch.rest.result(timeout=120)
    return [rest[i] if result is None else result for i, result in enumerate(first)]


def test_the_helper_detects_as_this_process_does(helper):
    texts, hints = [DUTCH, TABLE, "Station Zuid", "", ENGLISH], [None, None, "nl", None, "de"]
    first, second = helper.submit(texts, hints), helper.submit([ENGLISH], [None])
    here = LanguageDetector(("nl", "en", "fr", "de"))
    for batch, expected in ((first, here.detect_many(texts, hints)), (second, here.detect_many([ENGLISH], [None]))):
        got = _complete(batch)
        assert [code for code, _ in got] == [code for code, _ in expected]
        assert [confidence for _, confidence in got] == [pytest.approx(c) if c else c for _, c in expected]
    # The table and the short text need high-accuracy models: the first reply comes without them.
    assert [result is None for result in first.first.result()] == [False, True, True, False, False]
    assert sorted(first.rest.result()) == [1, 2]
    assert second.rest.result() == {}  # nothing to refine: answered with the first pass
    helper.close()
    assert helper._process.returncode == 0  # closing its input ends it cleanly


def test_a_batch_the_helper_cannot_score_fails_alone(helper):
    bad, good = helper.submit([12345], [None]), helper.submit([DUTCH], [None])
    for future in bad:
        with pytest.raises(RuntimeError, match="AttributeError"):
            future.result(timeout=120)
    assert _complete(good)[0][0] == "nl"


def test_a_killed_helper_fails_its_batches(helper):
    helper._process.kill()
    helper._process.wait()
    batch = helper.submit([DUTCH], [None])
    for future in batch:
        with pytest.raises(HelperGone):
            future.result(timeout=60)
    assert helper.broken


def _run_bundle(dofn, batches):
    """What the DoFn outputs for these batches in one bundle: WindowedValues, dead letters tagged."""
    out = []
    for rows in batches:
        out += dofn.process(rows, WindowedValue(rows, 0, [GlobalWindow()]))
    return out + list(dofn.finish_bundle())


def test_the_dofn_goes_on_without_a_helper_that_died():
    dofn = detect._Detect(("nl", "en"), "fast")
    dofn.setup()
    dead = dofn._helper
    dead._process.kill()
    dead._process.wait()
    dofn.start_bundle()
    out = _run_bundle(dofn, [ROWS, ROWS[:1]])
    assert [(o.value["id"], o.value["language"]) for o in out] == [("1", "nl"), ("2", "en"), ("1", "nl")]
    assert all(list(o.windows) == [GlobalWindow()] for o in out)
    assert dofn._helper is None  # scored in this process from then on
    assert shared_helper(("nl", "en"), DETECTION_MODES["fast"]) is not dead  # the next DoFn gets a new helper


def test_a_stuck_helper_is_ended_and_its_batch_scored_here(monkeypatch):
    monkeypatch.setattr(detect, "HELPER_TIMEOUT_SECONDS", 2)
    dofn = detect._Detect(("nl", "en"), "fast")
    dofn.setup()
    stuck = dofn._helper
    assert _complete(stuck.submit([DUTCH], [None]))[0][0] == "nl"  # up and answering
    os.kill(stuck._process.pid, signal.SIGSTOP)
    dofn.start_bundle()
    out = _run_bundle(dofn, [ROWS])
    assert [(o.value["id"], o.value["language"]) for o in out] == [("1", "nl"), ("2", "en")]
    assert dofn._helper is None
    assert stuck._process.wait(timeout=30) == -signal.SIGKILL
    deadline = time.monotonic() + 10
    while not stuck.broken and time.monotonic() < deadline:
        time.sleep(0.05)
    assert stuck.broken


def test_without_a_spare_core_the_dofn_detects_in_this_process(monkeypatch):
    monkeypatch.setattr(detect, "worth_a_helper", lambda: False)
    dofn = detect._Detect(("nl", "en"), "fast")
    dofn.setup()
    dofn.start_bundle()
    assert dofn._helper is None
    out = _run_bundle(dofn, [ROWS])
    assert [(o.value["id"], o.value["language"]) for o in out] == [("1", "nl"), ("2", "en")]


def test_rows_to_refine_follow_their_batch_and_nothing_is_lost():
    dofn = detect._Detect(("nl", "en", "fr", "de"), "refined")
    dofn.setup()
    dofn.start_bundle()
    table = {"id": "t", "source": "s", "title": None, "text": TABLE, "language": None}
    out = _run_bundle(dofn, [[table, *ROWS]] * 3)
    assert sorted(o.value["id"] for o in out) == sorted(["1", "2", "t"] * 3)
    table_here = LanguageDetector(("nl", "en", "fr", "de")).detect(TABLE)[0]
    assert {o.value["id"]: o.value["language"] for o in out} == {"1": "nl", "2": "en", "t": table_here}
    first_table = [o.value["id"] for o in out].index("t")
    assert first_table >= 2  # after the rows of its batch that needed no refining


def test_batches_stay_in_order_and_a_bad_row_goes_to_the_dead_letters():
    dofn = detect._Detect(("nl", "en"), "refined")
    dofn.setup()
    dofn.start_bundle()
    broken = {"id": "3", "source": "s", "title": "no text field", "language": None}
    batches = [ROWS, [ROWS[1], broken], ROWS[:1]] * 3  # more batches than are kept in flight
    out = _run_bundle(dofn, batches)
    ids = [("dead", o.value.value["record_id"]) if getattr(o, "tag", None) == detect.ERRORS else o.value["id"] for o in out]
    assert ids == ["1", "2", "2", ("dead", "3"), "1"] * 3


def test_a_helper_started_early_is_the_one_the_dofn_uses():
    address = detect.start_helper_early(["nl", "de"], "refined")
    early = shared_helper(("nl", "de"), DETECTION_MODES["refined"])
    assert address == early.address and os.path.exists(address)
    for dofn in (detect._Detect(("nl", "de"), "refined"), detect._Detect(("nl", "de"), "refined", address)):
        dofn.setup()
        assert dofn._helper is early and not early.broken  # in this process: no connection to itself


def test_a_helper_that_cannot_start_leaves_detection_in_this_process(monkeypatch):
    def no_process(*args, **kwargs):
        raise PermissionError("no new processes here")

    monkeypatch.setattr(detect, "shared_helper", no_process)
    detect.start_helper_early(("nl", "en"), "fast")  # no error: the DoFn will detect here
    dofn = detect._Detect(("nl", "en"), "fast")
    dofn.setup()
    dofn.start_bundle()
    assert dofn._helper is None
    assert [(o.value["id"], o.value["language"]) for o in _run_bundle(dofn, [ROWS])] == [("1", "nl"), ("2", "en")]


@pytest.mark.skipif(not os.path.exists("/proc/self/environ"), reason="reads the helper's environment from /proc")
def test_the_helper_scores_on_one_thread_unless_told_otherwise(monkeypatch):
    monkeypatch.delenv("RAYON_NUM_THREADS", raising=False)
    one = DetectorProcess(("nl", "en"), {"low_accuracy": True})
    monkeypatch.setenv("RAYON_NUM_THREADS", "3")
    three = DetectorProcess(("nl", "en"), {"low_accuracy": True})
    try:
        for helper, expected in ((one, b"RAYON_NUM_THREADS=1"), (three, b"RAYON_NUM_THREADS=3")):
            with open(f"/proc/{helper._process.pid}/environ", "rb") as environ:
                assert expected in environ.read().split(b"\0")
    finally:
        one.close()
        three.close()


# What a worker process of this machine does with the address a run gave it: detect through the helper there.
_WORKER = """
import json, sys
from newsbeam.transforms.normalise import detector_process
client = detector_process.helper_at(sys.argv[1])
batch = client.submit(json.loads(sys.argv[2]), [None] * len(json.loads(sys.argv[2])))
first, rest = batch.first.result(timeout=120), batch.rest.result(timeout=120)
print(json.dumps({"results": [rest[i] if r is None else r for i, r in enumerate(first)],
                  "own_helpers": len(detector_process._HELPERS), "client": type(client).__name__}))
"""


def test_another_process_of_this_machine_detects_through_the_helper_at_its_address(helper):
    texts = [DUTCH, TABLE, ENGLISH]
    worker = subprocess.run([sys.executable, "-c", _WORKER, helper.address, json.dumps(texts)],
                            capture_output=True, text=True, timeout=180, check=True)  # fmt: skip
    answer = json.loads(worker.stdout)
    expected = LanguageDetector(("nl", "en", "fr", "de")).detect_many(texts, [None] * 3)
    assert [tuple(result) for result in answer["results"]] == [(c, pytest.approx(v) if v else v) for c, v in expected]
    assert (answer["own_helpers"], answer["client"]) == (0, "_Connection")  # it started no helper of its own
    assert _complete(helper.submit([ENGLISH], [None]))[0][0] == "en"  # the owner is still served


def test_clients_sending_at_once_each_get_the_answers_to_their_own_batches(helper):
    clients = [helper, detector_process._Connection(helper.address), detector_process._Connection(helper.address)]
    texts = {0: [DUTCH, TABLE], 1: [ENGLISH], 2: [TABLE, ENGLISH, DUTCH]}  # the same batch ids in every client
    batches = [[client.submit(texts[n], [None] * len(texts[n])) for _ in range(3)] for n, client in enumerate(clients)]
    here = LanguageDetector(("nl", "en", "fr", "de"))
    for n, client_batches in enumerate(batches):
        expected = [code for code, _ in here.detect_many(texts[n], [None] * len(texts[n]))]
        for batch in client_batches:
            assert [code for code, _ in _complete(batch)] == expected
    for connection in clients[1:]:
        connection.close()
    assert _complete(helper.submit([DUTCH], [None]))[0][0] == "nl"  # clients leaving do not end the helper


def test_the_helper_answers_refinements_asked_for_before_its_owner_ends(helper):
    batch = helper.submit([TABLE, "Station Zuid", DUTCH], [None, "nl", None])
    helper.close()
    assert sorted(batch.rest.result(timeout=120)) == [0, 1]
    assert helper._process.returncode == 0 and not os.path.exists(helper.address)


def test_the_dofn_given_an_address_sends_its_batches_there(helper):
    owned_before = dict(detector_process._HELPERS)
    dofn = detect._Detect(("nl", "en", "fr", "de"), "refined", helper.address)
    dofn.setup()
    dofn.start_bundle()
    assert isinstance(dofn._helper, detector_process._Connection)
    out = _run_bundle(dofn, [ROWS])
    assert [(o.value["id"], o.value["language"]) for o in out] == [("1", "nl"), ("2", "en")]
    assert detector_process._HELPERS == owned_before  # no helper of its own


def test_an_address_nobody_listens_at_leaves_the_dofn_its_own_helper(tmp_path):
    dofn = detect._Detect(("nl", "en"), "fast", str(tmp_path / "nobody"))
    dofn.setup()
    assert dofn._helper is shared_helper(("nl", "en"), DETECTION_MODES["fast"])


def test_a_long_temporary_folder_still_gives_the_helper_a_socket(monkeypatch, tmp_path):
    long_folder = tmp_path / ("x" * 60) / ("y" * 60)
    long_folder.mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(long_folder))
    process = DetectorProcess(("nl", "en"), {"low_accuracy": True})
    try:
        assert len(process.address) <= 100 and os.path.exists(process.address)
        connection = detector_process._Connection(process.address)
        assert _complete(connection.submit([DUTCH], [None]))[0][0] == "nl"
        connection.close()
    finally:
        process.close()
    assert not os.path.exists(os.path.dirname(process.address))


def test_first_passes_are_answered_between_the_steps_that_load_refinement_models(monkeypatch):
    """The helper's loop, run here on pipes: a batch sent while another's models load is answered first."""
    loads, preload = [], language._preload_accurate

    def slow_preload(codes):
        if not codes <= language._ACCURATE:  # refine's own call finds them all loaded
            loads.append(set(codes))
            time.sleep(0.3)
        preload(codes)

    monkeypatch.setattr(language, "_ACCURATE", set())
    monkeypatch.setattr(language, "_preload_accurate", slow_preload)
    monkeypatch.setattr(detector_process, "MODELS_PER_STEP", 1)
    (requests_in, requests_out), (replies_in, replies_out) = os.pipe(), os.pipe()
    with os.fdopen(requests_out, "wb") as requests, os.fdopen(replies_in, "rb") as replies:
        serving = threading.Thread(target=detector_process._serve,
                                   args=(os.fdopen(requests_in, "rb"), os.fdopen(replies_out, "wb"), None))  # fmt: skip
        serving.start()

        def send(*message):
            pickle.dump(message, requests)
            requests.flush()

        send(("nl", "en", "fr", "de", "it", "es"), {})
        send(0, [TABLE], [None])
        assert pickle.load(replies) == (0, "first", [None])  # the table waits for its models
        send(1, [DUTCH], [None])
        order = [pickle.load(replies)[:2] for _ in range(2)]
        requests.close()
        serving.join(timeout=60)
    assert order == [(1, "first"), (0, "rest")]
    assert len(loads) >= 3 and all(len(step) == 1 for step in loads)  # one model per step, as patched


def test_a_stuck_helper_of_another_process_is_left_and_the_batch_scored_here(monkeypatch, helper):
    monkeypatch.setattr(detect, "HELPER_TIMEOUT_SECONDS", 2)
    dofn = detect._Detect(("nl", "en", "fr", "de"), "refined", helper.address)
    dofn.setup()
    assert _complete(dofn._helper.submit([DUTCH], [None]))[0][0] == "nl"  # up and answering
    os.kill(helper._process.pid, signal.SIGSTOP)
    try:
        dofn.start_bundle()
        out = _run_bundle(dofn, [ROWS])
        assert [(o.value["id"], o.value["language"]) for o in out] == [("1", "nl"), ("2", "en")]
        assert dofn._helper is None
        assert helper._process.poll() is None  # not this process's to end
        later = detect._Detect(("nl", "en", "fr", "de"), "refined", helper.address)
        later.setup()  # a later DoFn instance does not wait for it again: it starts a helper of its own
        assert later._helper is shared_helper(("nl", "en", "fr", "de"), DETECTION_MODES["refined"])
    finally:
        os.kill(helper._process.pid, signal.SIGCONT)
    assert _complete(helper.submit([ENGLISH], [None]))[0][0] == "en"
