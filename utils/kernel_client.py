"""A kernel client for nbclient / nbconvert that does not miss the kernel's reply after a widget cell.

The stall it prevents: nbclient runs a cell, then waits for ``execute_reply`` with
``await kc.shell_channel.get_msg(timeout)``, a ``zmq.asyncio`` poll on the shell socket that sleeps
until that socket's ``ZMQ_FD`` becomes readable. While it waits, nbclient's stand-in for the
front end's Output widget (``nbclient.output_widget.OutputWidget.sync_state``) sends a
``comm_msg`` back to the kernel on the *same* socket, every time output is captured in an Output
widget (``widgets.interactive_output``, ``interact``, ``with out:``). That send goes through
``jupyter_client.session.Session.send``, which replaces the ``zmq.asyncio`` socket with a plain
``zmq.Socket.shadow`` of it and sends on that: the send runs libzmq's command processing, which
consumes the edge-triggered ``ZMQ_FD`` notification of a reply that arrived a moment earlier, and,
bypassing ``zmq.asyncio``, nobody re-reads ``ZMQ_EVENTS`` afterwards. The reply then sits in the
socket while the event loop sleeps in ``epoll_wait``: kernel idle, client idle, until the poll's
time-out (nbclient's cell ``timeout``) fires, when a final ``zmq_poll`` finds the reply and the
notebook goes on, 600 s late. libzmq documents the rule that was broken: "after calling zmq_send
the socket may become readable ... without triggering a read event on the file descriptor".

The fix: after every send on a request channel, read ``ZMQ_EVENTS`` through the ``zmq.asyncio``
socket; pyzmq then schedules whatever receive or poll is pending (``_AsyncSocket.get``), as
``zmq.asyncio`` does after its own sends. Kernel-side versions (ipykernel, pyzmq, tornado) do not
matter: the reply is already in the client's socket. jupyter_client sends this way up to 8.10.0,
the newest release.

Use it by configuration::

    NotebookClient(nb, ..., kernel_manager_class=SafeAsyncKernelManager)
    jupyter nbconvert --execute --AsyncKernelManager.client_class=utils.kernel_client.SafeAsyncKernelClient ...

``make install`` writes that setting into the venv's ``etc/jupyter`` for nbconvert and ``jupyter execute``.
"""
from __future__ import annotations

import typing as t

import zmq
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.manager import AsyncKernelManager
from traitlets import Type


class WakingChannel(AsyncZMQSocketChannel):
    """A channel whose sends re-arm any receive or poll waiting on the same socket."""

    def send(self, msg: dict[str, t.Any]) -> None:
        super().send(msg)  # Session.send: a raw send on a shadow of this zmq.asyncio socket
        if self.socket is not None and not self.socket.closed:
            self.socket.get(zmq.EVENTS)  # zmq.asyncio: reading EVENTS schedules pending recv/poll


class SafeAsyncKernelClient(AsyncKernelClient):
    """``AsyncKernelClient`` whose request channels (the ones a client sends on) use ``WakingChannel``."""

    shell_channel_class = Type(WakingChannel)  # type: ignore[assignment]
    control_channel_class = Type(WakingChannel)  # type: ignore[assignment]
    stdin_channel_class = Type(WakingChannel)  # type: ignore[assignment]


class SafeAsyncKernelManager(AsyncKernelManager):
    """nbclient's default kernel manager, handing out ``SafeAsyncKernelClient``s."""

    client_factory = Type(SafeAsyncKernelClient, klass=AsyncKernelClient, config=True)
