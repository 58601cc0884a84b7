"""Run the web service with waitress: `python -m qa serve` (never Flask's development server).

One process loads the pipeline once and serves it from `settings.threads` threads (by default
one per core: see default_threads). With
`settings.workers` > 1, this process binds the listening socket and starts that many worker
processes which share it (the pre-fork model of gunicorn, without fork: each worker is a fresh
`python -m qa.web.server` that inherits the socket). Each worker loads its own copy of the index
and the model, so memory grows with the number of workers. A worker that holds more connections
than another stops accepting until they are even (balance.py), so keep-alive clients spread
evenly.

SIGTERM and SIGINT stop the service gracefully: stop accepting, finish the requests already
received (up to DRAIN_SECONDS), then exit with status 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..config import Settings, cores, environment_of
from ..errors import QAError
from ..text import counted
from .balance import RECHECK_SECONDS, ConnectionBalance, create_table, forget

logger = logging.getLogger("qa.serve")

DRAIN_SECONDS = 10.0        # how long in-flight requests may take after SIGTERM
IDLE_GRACE_SECONDS = 0.25   # keep-alive connections idle this long are closed when draining
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
RESPAWN_LIMIT = 5           # worker restarts tolerated per RESPAWN_WINDOW seconds
RESPAWN_WINDOW = 60.0


class ServeError(QAError):
    code = "serve_error"


def serve(settings: Settings, rebuild: bool = False) -> None:
    """Serve the web app until SIGTERM/SIGINT. QAError (exit 2 in the CLI) if it cannot start."""
    _configure_logging()
    if settings.threads is None and settings.workers >= 1:
        settings = dataclasses.replace(settings, threads=default_threads(settings.workers))
    if settings.workers < 1 or settings.threads < 1:
        raise ServeError(f"workers ({settings.workers}) and threads ({settings.threads}) must be "
                         "at least 1: fix --workers/--threads or QA_WORKERS/QA_THREADS")
    if settings.model_threads is None:  # one core per request: requests run side by side
        settings = dataclasses.replace(settings, model_threads=1)
    # Bind first: a port already in use fails at once, not after loading or building the index.
    listen_socket = _bind(settings)
    try:
        if rebuild:
            _build_if_needed(settings)
        if settings.workers > 1:
            _serve_workers(settings, listen_socket)
            return
        from ..pipeline import Pipeline
        pipeline = Pipeline.load(settings)
        _warm_up(pipeline)
        server = _create_server(pipeline, settings, listen_socket)
    except BaseException:
        listen_socket.close()
        raise
    host, port = _address(server)
    _ready(f"serving {counted(len(pipeline.store.documents), 'document')} at "
           f"http://{host}:{port} (stop with Ctrl-C)")
    run_until_stopped(server, announce=True)
    _ready("stopped")


def default_threads(workers: int) -> int:
    """Request threads per worker when none are set: the cores shared out among the workers.
    More threads than cores only make requests take turns on a core: at concurrency 16 on 2
    cores with 2 workers, 8 threads each gave a p99 of 683-705 ms and 1 thread each 345-368
    ms, at the same throughput."""
    return max(1, cores() // workers)


def _build_if_needed(settings: Settings) -> None:
    """(Re)build a missing, stale or corrupt index with `python -m qa build` in a child process:
    the terminal shows what that command shows (a line per skipped file with its reason, the
    progress bar, the totals), and the memory the build held goes back before serving."""
    from ..pipeline import Pipeline, index_needs_build
    reason = index_needs_build(settings)
    if reason is None:
        return
    _ready(f"building the index first ({reason})")
    if settings.store == "qdrant" and settings.qdrant_path == ":memory:":
        Pipeline.load(settings, rebuild=True)  # an in-memory store lives in this process only
        return
    code = subprocess.call([sys.executable, "-m", "qa", "build"],
                           env={**os.environ, **environment_of(settings)}, stdout=sys.stderr)
    if code != 0:
        raise ServeError("the index could not be built (the reason is above): fix it, then start "
                         "again, or check with `python -m qa build`")


# -- one process ---------------------------------------------------------------------------

def _warm_up(pipeline) -> None:
    """Answer one question before serving, so the first visitor does not wait for the lazy
    initialisation of the model (about half a second)."""
    try:
        pipeline.ask("What is this document about?")
    except Exception:  # a bad answer path shows up in the requests too; do not refuse to start
        logger.exception("the warm-up question failed")


def _create_server(pipeline, settings: Settings, listen_socket: socket.socket):
    import waitress.server
    from . import create_app
    app = create_app(pipeline, settings)
    return waitress.server.create_server(app, sockets=[listen_socket], threads=settings.threads,
                                         ident="qa")


def _bind(settings: Settings) -> socket.socket:
    """The listening socket for settings.host:port (the first address the host resolves to)."""
    try:
        infos = socket.getaddrinfo(settings.host, settings.port, type=socket.SOCK_STREAM,
                                   flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(1024)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        raise ServeError(f"cannot listen on {settings.host}:{settings.port} ({exc}): stop the "
                         "other server or choose another --port / QA_PORT") from exc
    return sock


def _address(server) -> tuple[str, int]:
    host, port = str(server.effective_host), int(server.effective_port)
    return (f"[{host}]" if ":" in host else host), port


def _ready(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run_until_stopped(server, drain_seconds: float = DRAIN_SECONDS,
                      announce: bool = False, balance=None) -> None:
    """Run the event loop of a waitress server (one listening socket) until SIGTERM/SIGINT,
    then drain and close. With `balance` (a ConnectionBalance), accept new connections only
    while this worker holds no more than the least loaded of the others.

    waitress itself stops on KeyboardInterrupt only and then drops responses not yet written;
    here a signal closes the listening socket, lets the requests already received finish and
    their responses be sent, closes idle keep-alive connections, and returns.
    """
    from waitress import wasyncore
    socket_map, adj = server._map, server.adj
    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()
        server.pull_trigger()  # wake the poll now (lock-free when called without a thunk)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    if balance is not None:
        readable = server.readable
        server.readable = lambda: readable() and balance.accepting
    try:
        while not stop.is_set() and socket_map:
            timeout = adj.asyncore_loop_timeout
            if balance is not None and not balance.update(len(server.active_channels),
                                                          adj.connection_limit):
                timeout = RECHECK_SECONDS  # not listening: look at the others' load again soon
            wasyncore.loop(timeout=timeout, map=socket_map, use_poll=adj.asyncore_use_poll,
                           count=1)
        if balance is not None:
            balance.leave()
        if announce:
            _ready("stopping: finishing the requests in progress")
        _drain(server, drain_seconds)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.task_dispatcher.shutdown(timeout=2)
        wasyncore.close_all(socket_map, ignore_all=True)


def _drain(server, drain_seconds: float) -> None:
    from waitress import wasyncore
    _accept_pending(server)  # connections the kernel has already accepted are served too
    wasyncore.dispatcher.close(server)  # stop listening; keep the trigger the threads use
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline:
        channels = list(server.active_channels.values())
        if not channels:
            return
        now = time.time()
        for channel in channels:
            idle = (not channel.requests and channel.request is None
                    and not channel.total_outbufs_len)
            if idle and now - channel.last_activity > IDLE_GRACE_SECONDS:
                channel.will_close = True
        wasyncore.loop(timeout=0.05, map=server._map, use_poll=server.adj.asyncore_use_poll,
                       count=1)
    logger.warning("closing %d connection(s) still busy after %.0f s",
                   len(server.active_channels), drain_seconds)


def _accept_pending(listener) -> None:
    while True:
        try:
            pair = listener.accept()
        except OSError:
            return
        if pair is None:
            return
        conn, addr = pair
        try:
            listener.set_socket_options(conn)
        except OSError:
            conn.close()
            continue
        listener.channel_class(listener, conn, listener.fix_addr(addr), listener.adj,
                               map=listener._map)


def _configure_logging() -> None:
    """The service's own notices (an index switch, a stop) and everyone's warnings and errors
    (waitress's, the app's logged exceptions) go to stderr; the chatter of libraries does not."""
    root = logging.getLogger()
    if any(getattr(h, "qa_serve", False) for h in root.handlers):
        return
    logging.getLogger("qa").setLevel(logging.INFO)
    handler = logging.StreamHandler()
    handler.setLevel(logging.INFO)
    handler.addFilter(lambda record: record.levelno >= logging.WARNING
                      or record.name == "qa" or record.name.startswith("qa."))
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.qa_serve = True
    root.addHandler(handler)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    # "Task queue depth is N" for every request that waits for a free thread: load, not a fault
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


# -- several worker processes sharing one socket -------------------------------------------

def _serve_workers(settings: Settings, listen_socket: socket.socket) -> None:
    listen_socket.set_inheritable(True)
    host, port = listen_socket.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda signum, frame: stop.set())
                for sig in STOP_SIGNALS}
    workers: list[subprocess.Popen] = []
    table = create_table(settings.workers)  # the workers' open connections, to even them out
    try:
        workers.extend(_start_worker(settings, listen_socket, table, slot)
                       for slot in range(settings.workers))
        documents = _wait_ready(workers, stop)
        if stop.is_set():
            return
        _ready(f"serving {counted(documents, 'document')} at http://{shown_host}:{port} "
               f"({settings.workers} worker processes, {counted(settings.threads, 'thread')} "
               "each; stop with Ctrl-C)")
        _supervise(workers, settings, listen_socket, table, stop)
        _ready("stopping: the workers finish the requests they hold")
    finally:
        _stop_workers(workers)
        listen_socket.close()
        os.close(table)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    _ready("stopped")


def _start_worker(settings: Settings, listen_socket: socket.socket, table: int,
                  slot: int) -> subprocess.Popen:
    """Worker number `slot`: it serves `listen_socket` and counts its connections in row `slot`
    of `table` (see balance.py)."""
    read_fd, write_fd = os.pipe()
    values = {k: (str(v) if isinstance(v, Path) else v)
              for k, v in dataclasses.asdict(settings).items()}
    command = [sys.executable, "-m", "qa.web.server", "--socket-fd",
               str(listen_socket.fileno()), "--status-fd", str(write_fd),
               "--balance-fd", str(table), "--slot", str(slot),
               "--parent", str(os.getpid()), "--settings", json.dumps(values)]
    try:
        process = subprocess.Popen(command, pass_fds=(listen_socket.fileno(), write_fd, table))
    finally:
        os.close(write_fd)
    process.status = os.fdopen(read_fd, "rb")
    process.slot = slot
    return process


def _wait_ready(workers: list[subprocess.Popen], stop: threading.Event) -> int:
    """Wait for each worker's status line; the number of documents, or raise its error."""
    import selectors
    documents = 0
    pending = {w.status: w for w in workers}
    with selectors.DefaultSelector() as selector:
        for status in pending:
            selector.register(status, selectors.EVENT_READ)
        while pending and not stop.is_set():
            for key, _ in selector.select(timeout=0.5):
                worker = pending.pop(key.fileobj)
                selector.unregister(key.fileobj)
                message = _read_status(worker)
                if "error" in message:
                    raise _error_class(message["error"])(message["message"])
                documents = message["documents"]
    return documents


def _read_status(worker: subprocess.Popen) -> dict:
    line = worker.status.readline()
    worker.status.close()
    try:
        return json.loads(line)
    except ValueError:
        code = worker.wait()
        return {"error": ServeError.code,
                "message": f"worker process {worker.pid} exited with status {code} while "
                           "starting; see the messages above"}


def _error_class(code: str) -> type:
    classes = [QAError]
    while classes:
        cls = classes.pop()
        if cls.code == code:
            return cls
        classes.extend(cls.__subclasses__())
    return QAError


def _supervise(workers, settings, listen_socket, table: int, stop: threading.Event) -> None:
    """Until a stop signal: restart workers that die, unless they keep dying."""
    restarts: list[float] = []
    while not stop.wait(0.5):
        for i, worker in enumerate(workers):
            code = worker.poll()
            if code is None:
                continue
            now = time.monotonic()
            restarts = [t for t in restarts if now - t < RESPAWN_WINDOW] + [now]
            if len(restarts) > RESPAWN_LIMIT:
                raise ServeError(f"worker processes keep exiting (last status {code}); "
                                 "see the messages above")
            logger.error("worker process %d exited with status %s; starting another",
                         worker.pid, code)
            worker.status.close()
            forget(table, worker.slot)  # the others take all new connections meanwhile
            # It serves once loaded; its status line waits in the pipe until _stop_workers.
            workers[i] = _start_worker(settings, listen_socket, table, worker.slot)


def _stop_workers(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        if worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + DRAIN_SECONDS + 5
    for worker in workers:
        try:
            worker.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        if not worker.status.closed:
            worker.status.close()


def _worker_main(argv: list[str]) -> int:
    """A worker process: load the pipeline, report on the status pipe, serve the socket."""
    parser = argparse.ArgumentParser(prog="python -m qa.web.server")
    parser.add_argument("--socket-fd", type=int, required=True)
    parser.add_argument("--status-fd", type=int, required=True)
    parser.add_argument("--balance-fd", type=int)
    parser.add_argument("--slot", type=int, default=0)
    parser.add_argument("--parent", type=int, required=True)
    parser.add_argument("--settings", required=True)
    args = parser.parse_args(argv)
    _configure_logging()
    # A stop signal while loading ends the worker at once; once serving, it drains.
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    settings = Settings.from_env(environ={}, **json.loads(args.settings))
    with os.fdopen(args.status_fd, "w") as status:
        try:
            from ..pipeline import Pipeline
            pipeline = Pipeline.load(settings)
            _warm_up(pipeline)
            listen_socket = socket.socket(fileno=args.socket_fd)
            server = _create_server(pipeline, settings, listen_socket)
        except QAError as exc:
            status.write(json.dumps({"error": exc.code, "message": str(exc)}) + "\n")
            return 2
        status.write(json.dumps({"documents": len(pipeline.store.documents)}) + "\n")
    threading.Thread(target=_exit_with_parent, args=(args.parent,), daemon=True).start()
    balance = None if args.balance_fd is None else \
        ConnectionBalance(args.balance_fd, args.slot, settings.workers)
    run_until_stopped(server, balance=balance)
    exit_now(0)


def exit_now(code: int) -> None:
    """Exit at once once a server has drained: flush the output, skip the interpreter's
    teardown of the models and indexes (about 1.4 s of an idle stop, all of it wasted)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _exit_with_parent(parent: int) -> None:
    """Stop (gracefully) if the parent process dies without stopping this worker."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    sys.exit(_worker_main(sys.argv[1:]))
