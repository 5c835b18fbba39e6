"""A saved run as one zip (scgru_core.store.archive): what the Prune page downloads, loaded back safely."""
from __future__ import annotations

import copy
import io
import zipfile

import pytest
import torch

import scgru_core as sc
from scgru_core.store.archive import RUN_FILES, load_run_zip, run_zip
from scgru_core.net.masks import masked_state


@pytest.fixture(scope="module")
def pruned():
    model = sc.build_model(sc.ModelConfig(hidden=8, layers=2), horizon=3, seed=1)
    result = sc.prune(model, sc.PruneConfig(sensitivity=1.2))
    return model, result


def rezip(raw: bytes, change) -> bytes:
    """The same archive with `change(name, data) -> [(name, data)]` applied to each member."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            for name, data in change(info.filename, src.read(info)):
                dst.writestr(name, data)
    return out.getvalue()


def test_a_zipped_run_loads_back_with_its_masks_and_zeros(pruned):
    model, result = pruned
    raw = run_zip(model, result.masks, config={"prune": {"method": "sensitivity"}}, metrics={"rmse": 1.5})
    assert sorted(zipfile.ZipFile(io.BytesIO(raw)).namelist()) == sorted(RUN_FILES)
    saved = load_run_zip(raw)
    assert saved.model.config == model.config and saved.model.horizon == 3
    assert saved.metrics == {"rmse": 1.5} and saved.config["prune"]["method"] == "sensitivity"
    params = dict(saved.model.named_parameters())
    for name, mask in result.masks.items():
        assert torch.equal(saved.masks[name], mask)
        assert torch.equal(params[name].detach(), model.state_dict()[name] * mask)
    twin = copy.deepcopy(model)
    twin.load_state_dict(masked_state(model, result.masks))
    x = torch.randn(4, 12)
    with torch.no_grad():
        assert torch.equal(saved.model(x), twin.eval()(x))  # the pruned model forecasts the same


def test_files_inside_one_folder_are_accepted(pruned):
    model, result = pruned
    raw = rezip(run_zip(model, result.masks), lambda n, d: [(f"my_run/{n}", d)])
    assert load_run_zip(raw).model.config == model.config


@pytest.mark.parametrize("change, says", [
    (lambda n, d: [(n, d)] + ([("../evil.sh", b"rm -rf /")] if n == "config.json" else []), "unexpected file"),
    (lambda n, d: [] if n == "masks.safetensors" else [(n, d)], "lacks masks.safetensors"),
    (lambda n, d: [(n, d[:-8] + b"\x00" * 8 if n == "weights.safetensors" else d)], "checksum"),
    (lambda n, d: [(n, d), (f"x/{n}", d)] if n == "config.json" else [(n, d)], "twice"),
])
def test_damaged_or_foreign_archives_are_refused(pruned, change, says):
    model, result = pruned
    with pytest.raises(sc.CheckpointError, match=says):
        load_run_zip(rezip(run_zip(model, result.masks), change))


def test_a_file_that_is_not_a_zip_is_refused():
    with pytest.raises(sc.CheckpointError, match="not a zip"):
        load_run_zip(b"just some bytes")


def test_an_archive_that_unpacks_too_large_is_refused(pruned):
    model, result = pruned
    with pytest.raises(sc.CheckpointError, match="more than"):
        load_run_zip(run_zip(model, result.masks), max_bytes=1000)



def understated(raw: bytes, name: str, claimed: int) -> bytes:
    """`raw` with the uncompressed size of member `name` rewritten to `claimed` in both of its headers, as a
    hostile archive would: its deflated data still unpacks to the real size."""
    import struct
    data = bytearray(raw)
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        struct.pack_into("<I", data, zf.getinfo(name).header_offset + 22, claimed)  # local header: size
    entry = raw.index(b"PK\x01\x02")  # the central directory's entries, one after another
    while True:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, entry + 28)
        if bytes(data[entry + 46:entry + 46 + name_len]).decode() == name:
            struct.pack_into("<I", data, entry + 24, claimed)  # central directory: uncompressed size
            return bytes(data)
        entry += 46 + name_len + extra_len + comment_len


def test_an_archive_whose_headers_understate_a_member_is_refused_without_unpacking_it_whole(pruned):
    import tracemalloc
    model, result = pruned
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(run_zip(model, result.masks))) as src, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():  # metrics.json becomes 64 MB of zeros, about 64 KB deflated
            dst.writestr(info.filename, bytes(64 * 2 ** 20) if info.filename == "metrics.json" else src.read(info))
    hostile = understated(buf.getvalue(), "metrics.json", 100)
    tracemalloc.start()
    try:
        with pytest.raises(sc.CheckpointError):
            load_run_zip(hostile)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2 ** 20, f"{peak / 2**20:.0f} MB held while refusing it"  # chunks, never the whole member
