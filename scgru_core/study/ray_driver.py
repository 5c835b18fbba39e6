"""Ray, driven from a child process, so that nothing Ray does can end the caller's process.

Ray's driver may end the process it runs in: when its local head registers at an address it cannot reach, or a
cluster's GCS never answers, Ray logs "Failed to connect to GCS within 60 seconds... The program will terminate"
and exits. Called inside the Streamlit server, that ended the server for every student. So `ray.init` and every
call after it run in a child (`python -m scgru_core.study.ray_driver`: a fresh interpreter, safe from a multi-threaded
server, and one that never re-runs the caller's script as multiprocessing's spawn would); the caller talks to
it through a socket pair, with bounded waits:
- an address is first checked with a plain TCP connection (`CONNECT_TIMEOUT_S`): an unreachable cluster is refused
  in seconds, before any child starts;
- the child must report Ray started within `start_timeout()` seconds, or it is ended and the caller gets an
  `ExecutorError` naming the last thing Ray said;
- a child that dies (Ray exited, out of memory) is an `ExecutorError` in the caller, never the caller's end.

Messages, child to caller: ("ready",), ("failed", reason), ("row", pickled (index, result)), ("raise", pickled
exception), ("idle",) after a batch ends or is stopped. Caller to child: ("jobs", pickled [(index, fn, args)]),
("stop",), ("quit",).
"""
from __future__ import annotations

import os
import pathlib
import pickle
import signal
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from typing import Any

from scgru_core.errors import ExecutorError
from scgru_core.study.jobs import pickled, run_indexed

CONNECT_TIMEOUT_S = 3.0
LOCAL_START_TIMEOUT_S = 90.0  # a local Ray starts in about 5 s on an idle 2-core machine, 20-30 s under load
CLUSTER_START_TIMEOUT_S = 20.0  # an answering cluster takes a second or two
QUIT_TIMEOUT_S = 15.0  # ray.shutdown() of a local Ray takes 1-3 s
POLL_S = 0.25


def start_timeout(address: str | None) -> float:
    """How long the child may take to report Ray started (SCGRU_RAY_START_TIMEOUT_S overrides, for tests)."""
    override = os.environ.get("SCGRU_RAY_START_TIMEOUT_S")
    if override:
        return float(override)
    return CLUSTER_START_TIMEOUT_S if address and address != "auto" else LOCAL_START_TIMEOUT_S


def installed() -> bool:
    """Whether Ray (the optional extra) can be imported here; found, not imported (it costs seconds)."""
    import importlib.util
    return importlib.util.find_spec("ray") is not None


def resolve_address(address: str | None) -> str | None:
    """The cluster to reach (`address`, else RAY_ADDRESS), or None for a local Ray; raises ExecutorError at once when
    Ray is not installed, for an address Ray's driver cannot use, or for a cluster that does not accept a
    connection."""
    if not installed():
        raise ExecutorError("the ray executor needs Ray: pip install -r requirements-ray.txt (or choose the process "
                            "executor).")
    address = (address or os.environ.get("RAY_ADDRESS") or "").strip() or None
    if address is None or address == "auto":
        return address
    if address.startswith(("http://", "https://")):
        raise ExecutorError(f"{address} is a Ray dashboard (Jobs API) address: submit the whole command to that "
                            f"cluster instead (ray job submit --address {address} -- python -m scgru_core ...), or "
                            "give the cluster's GCS address (host:6379).")
    if address.startswith("ray://"):
        raise ExecutorError("Ray's ray:// client is deprecated: give the cluster's GCS address (host:6379), or submit "
                            "the command with `ray job submit`.")
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ExecutorError(f"The Ray address {address!r} is not host:port (for example 127.0.0.1:6379).")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        why = exc.strerror or type(exc).__name__
        raise ExecutorError(f"Ray at {address} cannot be reached ({why}): start the cluster "
                            "(ray start --head), correct the address, or run on this machine's processes "
                            "instead.") from None
    return address


def _wait(process: subprocess.Popen, timeout: float) -> int | None:
    """The child's exit code, or None if it still runs after `timeout` seconds."""
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        return None


def _last_words(path: str) -> str:
    """The line of Ray's log that says most about why it stopped (an error, else the last line)."""
    try:
        with open(path, errors="replace") as fh:
            lines = [line.strip() for line in fh.read()[-20_000:].splitlines() if line.strip()]
    except OSError:
        return ""
    telling = [line for line in lines if any(w in line for w in ("Error", "Failed", "failed", "terminate"))]
    text = (telling or lines or [""])[-1]
    return text if len(text) <= 300 else text[:297] + "..."


def _drive(conn, address: str | None, workers: int) -> None:
    """The child: start or reach Ray, then run the batches the caller sends until it says quit (or is gone)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the caller's: it stops the batch, then says quit
    try:
        import ray

        kwargs = {"address": address} if address else {"num_cpus": workers, "include_dashboard": False}
        ray.init(logging_level="ERROR", log_to_driver=False, **kwargs)
    except BaseException as exc:  # SystemExit too: Ray exits when it gives up on its GCS
        conn.send(("failed", f"{type(exc).__name__}: {exc}".strip().splitlines()[0][:300]))
        return
    conn.send(("ready",))
    try:
        while True:
            message = conn.recv()
            if message[0] == "quit":
                return
            if message[0] == "jobs":
                try:
                    jobs = pickle.loads(message[1])
                except Exception as exc:  # a task whose function this interpreter cannot import
                    conn.send(("raise", pickle.dumps(ExecutorError(f"Ray's driver could not read the tasks "
                                                                   f"({type(exc).__name__}: {exc})."))))
                    conn.send(("idle",))
                    continue
                if not _run_batch(ray, conn, jobs):
                    return
    except (EOFError, OSError):  # the caller is gone
        return
    finally:
        ray.shutdown()


def _run_batch(ray, conn, jobs: list) -> bool:
    """Run one batch, sending rows as they finish; False when the caller said quit meanwhile."""

    remote = ray.remote(num_cpus=1)(run_indexed)
    pending = [remote.remote(job) for job in jobs]
    try:
        while pending:
            if conn.poll():
                message = conn.recv()
                if message[0] in ("stop", "quit"):
                    return message[0] != "quit"
            done, pending = ray.wait(pending, num_returns=1, timeout=POLL_S)
            for ref in done:
                try:
                    conn.send(("row", pickled(ray.get(ref))))
                except ray.exceptions.RayTaskError as exc:  # the task's own exception, with its type and fields
                    conn.send(("raise", pickled(exc.cause if exc.cause is not None else RuntimeError(str(exc)))))
                    return True
        return True
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        conn.send(("idle",))


class RayDriver:
    """The caller's side of one child that holds a Ray session (local, or a cluster's) for many batches."""

    def __init__(self, address: str | None, workers: int, should_stop=None):
        self.address = address
        log = tempfile.NamedTemporaryFile(prefix="scgru-ray-", suffix=".log", delete=False)
        self.log_path = log.name
        ours, theirs = socket.socketpair()
        # the child (and the local Ray it starts) imports what this process imports: the engine, and the module of
        # any function a caller hands over
        paths = [str(pathlib.Path(__file__).parents[2])] + [p for p in sys.path if p and os.path.isdir(p)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
        with log:  # Ray's messages go to the log a reason is read from, not into the caller's output
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scgru_core.study.ray_driver", str(theirs.fileno()), address or "", str(workers)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, pass_fds=(theirs.fileno(),), env=env)
        theirs.close()
        self.conn = Connection(ours.detach())
        self._wait_ready(start_timeout(address), should_stop)

    def _wait_ready(self, timeout: float, should_stop) -> None:
        deadline = time.monotonic() + timeout
        where = f"Ray at {self.address}" if self.address else "A local Ray"
        while True:
            if should_stop is not None and should_stop():
                self.close(polite=False)
                raise ExecutorError(f"{where} was still starting when the run was stopped.")
            try:
                message = self.receive(POLL_S)
            except ExecutorError as exc:
                raise ExecutorError(f"{where} could not start: {exc}") from None
            if message is not None:
                if message[0] == "ready":
                    return
                reason = message[1] if message[0] == "failed" else repr(message)
                self.close()
                raise ExecutorError(f"{where} could not start: {reason}")
            if time.monotonic() > deadline:
                said = _last_words(self.log_path)
                self.close(polite=False)  # still inside ray.init: it would not read a quit
                raise ExecutorError(f"{where} did not start within {timeout:g} s"
                                    + (f" (Ray's last message: {said})" if said else "")
                                    + ". Run on this machine's processes instead, or check the cluster.")

    def receive(self, timeout: float) -> tuple | None:
        """The child's next message, None after `timeout` seconds; ExecutorError when the child has died."""
        try:
            if self.conn.poll(timeout):
                return self.conn.recv()
        except (EOFError, OSError):
            pass
        else:
            if self.process.poll() is None:
                return None
        code = _wait(self.process, 1.0)
        said = _last_words(self.log_path)
        self.close()
        raise ExecutorError(f"Ray ended its process (exit code {code})" + (f": {said}" if said else "")
                            + ". This process is unharmed; the rows already done are kept.")

    def send(self, message: tuple) -> None:
        try:
            self.conn.send(message)
        except (BrokenPipeError, OSError):
            self.receive(0)  # raises ExecutorError with the child's last words
            raise ExecutorError("Ray's driver process is gone.") from None

    def settle(self, timeout: float = QUIT_TIMEOUT_S) -> bool:
        """Ask the child to stop the batch under way and wait until it has (rows still in flight are dropped);
        False when it did not answer in time (the driver is then closed)."""
        try:
            self.send(("stop",))
            if _await_idle(self, timeout):
                return True
        except ExecutorError:
            return False
        self.close()
        return False

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self, polite: bool = True) -> None:
        """Say quit and give Ray time to shut down (`polite`), then end the child whatever it is doing."""
        if self.alive:
            try:
                self.conn.send(("quit",))
            except (BrokenPipeError, OSError):
                pass
            if _wait(self.process, QUIT_TIMEOUT_S if polite else 0.5) is None:
                self.process.terminate()
                if _wait(self.process, 5.0) is None:
                    self.process.kill()
                    _wait(self.process, 5.0)
        self.conn.close()
        try:
            os.unlink(self.log_path)
        except OSError:
            pass


def run_batch(driver: RayDriver, jobs: list[tuple[int, Any, tuple]], should_stop=None):
    """Yield (index, result) as the child sends them; a Stop (or the consumer leaving) settles the child."""

    driver.send(("jobs", pickled(jobs)))
    remaining, settled = len(jobs), False
    try:
        while remaining:
            if should_stop is not None and should_stop():
                return
            message = driver.receive(POLL_S)
            if message is None or message[0] == "idle":
                continue
            if message[0] == "raise":
                error = pickle.loads(message[1])
                settled = _await_idle(driver)
                raise error
            remaining -= 1
            yield pickle.loads(message[1])
        settled = _await_idle(driver)
    finally:
        if not settled and driver.alive:
            driver.settle()


def _await_idle(driver: RayDriver, timeout: float = QUIT_TIMEOUT_S) -> bool:
    """Wait until the child says its batch has ended; False after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = driver.receive(POLL_S)
        if message is not None and message[0] == "idle":
            return True
    return False


def check(address: str | None = None, workers: int = 1) -> None:
    """Start (or reach) Ray in a child and stop it again: None when Ray works here, ExecutorError saying why not."""
    RayDriver(resolve_address(address), workers).close()


if __name__ == "__main__":  # the child: python -m scgru_core.study.ray_driver FD ADDRESS WORKERS
    _drive(Connection(int(sys.argv[1])), sys.argv[2] or None, int(sys.argv[3]))
