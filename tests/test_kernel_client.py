"""The missed wake-up behind the headless widget-cell stalls, on two bare sockets (no kernel, ~4 s).

A client waits for a reply on a zmq.asyncio DEALER; the reply arrives; before the event loop
has looked, the client sends another message on the same socket, as nbclient's Output-widget
stand-in does. With jupyter_client's channel the wait then lasts until its time-out; with
utils.kernel_client's it ends at once.
"""
import asyncio
import select
import time

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

from utils.kernel_client import SafeAsyncKernelManager, WakingChannel

TIMEOUT = 3.0


async def _wait_for_reply(channel_class) -> tuple[float, dict]:
    kernel_ctx, ctx = zmq.Context(), zmq.asyncio.Context()
    kernel = kernel_ctx.socket(zmq.ROUTER)  # the kernel's side, blocking calls
    port = kernel.bind_to_random_port("tcp://127.0.0.1")
    client = ctx.socket(zmq.DEALER)
    client.connect(f"tcp://127.0.0.1:{port}")
    session = Session(key=b"")
    channel = channel_class(client, session)
    try:
        channel.send(session.msg("execute_request", {"code": "w"}))
        ident, _ = session.feed_identities(kernel.recv_multipart())  # the kernel reads the request
        waiting = asyncio.ensure_future(channel.get_msg(timeout=TIMEOUT))
        await asyncio.sleep(0.05)  # the client now polls the socket's ZMQ_FD
        session.send(kernel, "execute_reply", {"status": "ok"}, ident=ident)
        # The reply reaches the client's socket and libzmq signals its ZMQ_FD; the event loop, blocked
        # here, has not looked yet (select() only watches the fd, it changes nothing in libzmq).
        assert select.select([client.FD], [], [], 5)[0], "the reply never arrived"
        channel.send(session.msg("comm_msg", {"comm_id": "x", "data": {}}))  # OutputWidget.sync_state
        start = time.monotonic()
        reply = await waiting
        return time.monotonic() - start, reply
    finally:
        client.close(linger=0)
        kernel.close(linger=0)
        ctx.term()
        kernel_ctx.term()


def test_stock_channel_misses_the_reply_until_its_timeout():
    """If this fails, jupyter_client fixed Session.send upstream and utils.kernel_client can go."""
    elapsed, reply = asyncio.run(_wait_for_reply(AsyncZMQSocketChannel))
    assert reply["msg_type"] == "execute_reply"  # found by the poll's final zmq_poll, TIMEOUT late
    assert elapsed > TIMEOUT - 0.5


@pytest.mark.parametrize("repeat", range(3))
def test_waking_channel_gets_the_reply_at_once(repeat):
    elapsed, reply = asyncio.run(_wait_for_reply(WakingChannel))
    assert reply["msg_type"] == "execute_reply"
    assert elapsed < 0.5


def test_the_manager_hands_out_waking_channels():
    client = SafeAsyncKernelManager().client()
    assert client.shell_channel_class is WakingChannel


def test_the_venvs_nbconvert_and_execute_use_the_waking_client():
    """`make install` writes the client into this venv's Jupyter config; without it a bare
    `jupyter nbconvert --execute` of a widget chapter can stall."""
    import json
    import sys
    from pathlib import Path

    for name in ("jupyter_nbconvert_config.json", "jupyter_execute_config.json"):
        path = Path(sys.prefix) / "etc" / "jupyter" / name
        assert path.is_file(), f"{path} missing: run `make install`"
        config = json.loads(path.read_text())
        assert config["AsyncKernelManager"]["client_class"] == "utils.kernel_client.SafeAsyncKernelClient"


def test_bench_drives_notebooks_with_the_waking_client():
    import inspect

    from tools import bench

    assert "kernel_manager_class=SafeAsyncKernelManager" in inspect.getsource(bench.bench_notebook)
