"""The JupyterLab server's side of the explorers: kernel messages that reach the page at once.

Each slider step sends a few small messages from the kernel to the page (the
slider's echo, its readout, the summary) and then the figure.  The server
writes them to the page's websocket, which by default lets the operating
system hold a small write back until the page has acknowledged the previous
one (Nagle's algorithm); the page acknowledges late on purpose (delayed
acknowledgement, up to 40 ms on Linux).  Together they put about 40 ms
between a key press and the new figure, whatever the explorer does
(``benchmarks/bench_keypress.py`` measures it).  Tornado leaves the choice to
the application (``WebSocketHandler.set_nodelay``); the server does not make
it.

:class:`PromptKernelConnection` is the server's kernel connection with that
delay switched off.  The learner's configuration selects it::

    {"ServerApp": {"kernel_websocket_connection_class": "course.labserver.PromptKernelConnection"}}

It needs nothing else: no widget, notebook or kernel changes.
"""

from __future__ import annotations

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

__all__ = ["PromptKernelConnection", "CONNECTION_CLASS"]

#: The value for ``ServerApp.kernel_websocket_connection_class``.
CONNECTION_CLASS = "course.labserver.PromptKernelConnection"


class PromptKernelConnection(ZMQChannelsWebsocketConnection):
    """A kernel's websocket that sends each message as soon as it is written (TCP_NODELAY)."""

    def connect(self):
        self.websocket_handler.set_nodelay(True)
        return super().connect()
