"""`--workers N`: several proxy processes behind one port, each station always on the same one.

Plain SO_REUSEPORT would let the kernel spread connections by address and port, so a station's
reconnect could land on another worker, whose engine never saw its message ids, its lost
connection (back-off timing) or its open transactions (offline replays). Instead the parent
accepts, peeks at the upgrade request line without consuming it, and hands the socket to the
worker chosen by the station id in the path (for wss://, where the path is encrypted, by the
charger's IP address). The worker's mitmproxy then reads the request as if it had accepted it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import zlib
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from proxy.ocppj.events import station_from_path
from proxy.settings import Endpoint, ProxySettings

if TYPE_CHECKING:
    from proxy.runtime import RunningProxy

log = logging.getLogger("ocppscope")
PEEK_BYTES = 4096
PEEK_TIMEOUT = 5.0
WORKER_STOP_TIMEOUT = 15.0


def affinity_key(peeked: bytes, peer_ip: str) -> str:
    """The station id from `GET /path HTTP/1.1`, else (TLS, junk) the charger's address."""
    line = peeked.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    if len(parts) == 3 and parts[0] == b"GET" and parts[1].startswith(b"/"):
        station = station_from_path(parts[1].decode("latin-1"))
        if station:
            return f"station:{station}"
    return f"ip:{peer_ip}"


def worker_for(key: str, workers: int) -> int:
    return zlib.crc32(key.encode()) % workers


def serve_workers(
    settings: ProxySettings, workers: int, make_addons: Callable[[], list[Any]]
) -> None:
    """Run `workers` proxy processes, each with the addons `make_addons` returns (a module-level
    function: it travels to the spawned workers by name), and the dispatching parent until
    SIGINT/SIGTERM."""
    if not log.handlers:  # the workers' consoles print their own; this is the parent's voice
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    listener = socket.create_server((settings.listen.host, settings.listen.port), backlog=1024)
    context = multiprocessing.get_context("spawn")
    channels: list[socket.socket] = []
    processes: list[BaseProcess] = []
    try:
        for index in range(workers):
            parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            process = context.Process(
                target=_worker_main,
                args=(settings, child_end, index, workers, make_addons),
                daemon=True,
                name=f"ocppscope-worker-{index}",
            )
            process.start()
            child_end.close()
            channels.append(parent_end)
            processes.append(process)
        asyncio.run(_dispatch(listener, channels, processes, settings))
    finally:
        listener.close()
        for channel in channels:
            channel.close()  # a worker whose channel closes stops by itself
        for worker in processes:
            worker.join(WORKER_STOP_TIMEOUT)
            if worker.is_alive():
                worker.kill()
                worker.join(1)


async def _dispatch(
    listener: socket.socket,
    channels: list[socket.socket],
    processes: list[BaseProcess],
    settings: ProxySettings,
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    for process in processes:  # a worker that dies takes the proxy down, loudly
        loop.add_reader(process.sentinel, _worker_died, process, stop)
    listener.setblocking(False)
    log.info(
        "listening on %s:%d with %d workers, forwarding to %s",
        settings.listen.host,
        settings.listen.port,
        len(channels),
        settings.upstream,
    )
    handoffs: set[asyncio.Task[None]] = set()
    accepting = loop.create_task(_accept(listener, channels, handoffs))
    await stop.wait()
    accepting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await accepting
    for task in list(handoffs):
        task.cancel()


def _worker_died(process: BaseProcess, stop: asyncio.Event) -> None:
    if not stop.is_set():
        log.error("%s exited with code %s; stopping", process.name, process.exitcode)
        stop.set()
    asyncio.get_running_loop().remove_reader(process.sentinel)


async def _accept(
    listener: socket.socket, channels: list[socket.socket], handoffs: set[asyncio.Task[None]]
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        connection, peer = await loop.sock_accept(listener)
        task = loop.create_task(_hand_over(connection, peer[0], channels))
        handoffs.add(task)
        task.add_done_callback(handoffs.discard)


async def _hand_over(
    connection: socket.socket, peer_ip: str, channels: list[socket.socket]
) -> None:
    try:
        peeked = await asyncio.wait_for(_peek_request_line(connection), PEEK_TIMEOUT)
    except (TimeoutError, OSError):
        peeked = b""
    index = worker_for(affinity_key(peeked, peer_ip), len(channels))
    try:
        socket.send_fds(channels[index], [b"c"], [connection.fileno()])
    except OSError as exc:
        log.warning("worker %d is gone (%s); connection from %s dropped", index, exc, peer_ip)
    finally:
        connection.close()


async def _peek_request_line(connection: socket.socket) -> bytes:
    """Look at what the charger sent first without taking it off the socket."""
    loop = asyncio.get_running_loop()
    peeked = b""
    while b"\r\n" not in peeked and len(peeked) < PEEK_BYTES:
        ready = loop.create_future()
        loop.add_reader(connection.fileno(), ready.set_result, None)
        try:
            await ready
        finally:
            loop.remove_reader(connection.fileno())
        grown = connection.recv(PEEK_BYTES, socket.MSG_PEEK)
        if not grown or len(grown) == len(peeked) or grown[:1] == b"\x16":  # closed, stuck, TLS
            return grown
        peeked = grown
    return peeked


def _worker_main(
    settings: ProxySettings,
    channel: socket.socket,
    index: int,
    workers: int,
    make_addons: Callable[[], list[Any]],
) -> None:
    """A worker: its own mitmproxy on an internal port, fed with the sockets the parent passes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    internal = replace(
        settings,
        listen=Endpoint("127.0.0.1", 0),
        live_view=False,
        instance=f"{settings.instance_name}/w{index}",
        worker_count=workers,
        admin=replace(settings.admin, port=settings.admin.port + index) if settings.admin else None,
    )
    asyncio.run(_worker(internal, channel, make_addons()))


async def _worker(settings: ProxySettings, channel: socket.socket, addons: list[Any]) -> None:
    from proxy.runtime import running_proxy  # noqa: PLC0415 (the parent never loads mitmproxy)

    async with running_proxy(settings, addons) as running:
        await _serve_handed_over(running, channel)


async def _serve_handed_over(running: RunningProxy, channel: socket.socket) -> None:
    server = next(iter(running.master.addons.get("proxyserver").servers))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    channel.setblocking(False)
    connections: set[asyncio.Task[None]] = set()

    def receive() -> None:
        try:
            _data, fds, _flags, _address = socket.recv_fds(channel, 16, 16)
        except BlockingIOError:
            return
        if not fds:  # the parent closed the channel: time to stop
            stop.set()
            return
        for fd in fds:
            task = loop.create_task(_serve_socket(server, socket.socket(fileno=fd)))
            connections.add(task)
            task.add_done_callback(connections.discard)

    loop.add_reader(channel.fileno(), receive)
    try:
        await stop.wait()
    finally:
        loop.remove_reader(channel.fileno())
        os.close(channel.detach())


async def _serve_socket(server: object, sock: socket.socket) -> None:
    reader, writer = await asyncio.open_connection(sock=sock)
    await server.handle_stream(reader, writer)  # type: ignore[attr-defined]
