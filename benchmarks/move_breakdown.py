"""Where one slider move's server time goes, on the shipped default model (power load, GRU 64, window 48).

    .venv/bin/python benchmarks/move_breakdown.py [--moves 60]

In this process, one thread, median of `--moves` new settings of s: the engine's move (`PruningLab.at`: re-prune,
test forecast, costs) and the test forecast alone; each Prune tab's figure built from the snapshot; plotly's
serialisation as Streamlit does it (`to_dict`, `to_json`). Then one server (as `make class` starts it) and one light
client moving the slider on the histogram tab, once the server's background fill of the shipped model's slider is
done: server CPU per move from /proc, for a new s (computed), for the same s again (the server's snapshot and figure
caches) and for an s the fill computed at start, so what remains beyond the parts above is Streamlit's own rerun.
Figures are wall-clock on a shared machine: the load average is printed beside them.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import pathlib
import statistics
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts"), str(ROOT / "benchmarks")]

import plotly.io as pio  # noqa: E402
import torch  # noqa: E402

import scgru_core as sc  # noqa: E402
from scgru_core.store import checkpoints
from scgru_core import viz  # noqa: E402
from scgru_core.net.evaluate import predict_scaled  # noqa: E402
from scgru_core.data.samples import DEFAULT_SAMPLE  # noqa: E402


def median_ms(f, n: int) -> float:
    f()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return 1000 * statistics.median(times)


def in_process(moves: int) -> None:
    torch.set_num_threads(1)
    ck = checkpoints.load_checkpoint(DEFAULT_SAMPLE)
    lab = sc.PruningLab(ck.model, ck.data)
    s = iter(range(10_000))
    snap = lab.at(sc.PruneConfig(sensitivity=1.0))
    p = lab.panels(snap, "rnn.weight_hh_l0")
    x = range(len(snap.evaluation.actual))
    figures = {
        "histogram": lambda: viz.histogram_figure(p, title="layer 1 · W_hh"),
        "heatmap": lambda: viz.heatmap_figure(p, title="layer 1 · W_hh"),
        "forecast": lambda: viz.forecast_figure(x, snap.evaluation.actual, {"dense": lab.dense.forecast,
                                                                            "pruned": snap.evaluation.forecast}),
        "cost": lambda: viz.cost_figure(snap.cost),
    }
    print(f"in this process, one thread, median of {moves}; load average {os.getloadavg()[0]:.2f}")
    print(f"  engine move (PruningLab.at, a new s): {median_ms(lambda: lab.at(sc.PruneConfig(sensitivity=0.5 + next(s) / 1000)), moves):.1f} ms")
    print(f"    of which the test forecast ({len(ck.data.test)} windows): "
          f"{median_ms(lambda: predict_scaled(lab.model, ck.data.test.X), moves):.1f} ms")
    for name, make in figures.items():
        fig = make()
        print(f"  {name} figure: built {median_ms(make, moves):.1f} ms, serialised "
              f"{median_ms(lambda: pio.to_json(fig.to_dict(), validate=False), moves):.1f} ms")


async def on_server(moves: int) -> None:
    from class_load import Session, cpu_seconds, settled
    from serve_class import start, stop

    port = 8655
    procs = start(port, 1, quiet=True)
    try:
        client = Session(port)
        await client.connect()
        await client.run("prune")
        if not client.metrics:
            await client.run("prune")
        pid = procs[0].pid
        fill = await settled(lambda: cpu_seconds(pid))
        print(f"  the background fill of the shipped model's slider (lab_ui.prefetch): {fill:.1f} s of CPU after the "
              f"first page; load average {os.getloadavg()[0]:.2f}")
        beyond = [round(3.01 + 0.01 * i, 2) for i in range(moves)]  # above prefetch.GRID_TOP: nobody computed them
        for label, values in (("a new s each move, beyond the fill (computed)", beyond),
                              ("the same s again (from the caches)", beyond),
                              ("an s in the shipped model's grid (filled at start)",
                               [round(0.30 + 0.01 * i, 2) for i in range(moves)])):
            cpu0 = cpu_seconds(pid)
            for v in values:
                _, fragment = client.widgets["s"]
                await client.run("prune", [client.state("s", double_array_value=[v])], fragment=fragment)
            used = (cpu_seconds(pid) - cpu0) / len(values) * 1000
            print(f"  server CPU per move, {label}: {used:.1f} ms; load average {os.getloadavg()[0]:.2f}")
        await client.ws.close()
    finally:
        stop(procs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--moves", type=int, default=60)
    args = p.parse_args()
    in_process(args.moves)
    print("one server, one light client, the histogram tab:")
    asyncio.run(on_server(args.moves))


if __name__ == "__main__":
    main()
