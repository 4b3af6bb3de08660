"""The server's kernel connection that sends each message at once (no server started here)."""

import pytest
from jupyter_server.serverapp import ServerApp
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

from course.labserver import CONNECTION_CLASS, PromptKernelConnection


def test_connecting_switches_off_the_small_message_delay(monkeypatch):
    """connect() asks the websocket for TCP_NODELAY before the usual connection is made."""
    calls = []
    monkeypatch.setattr(ZMQChannelsWebsocketConnection, "connect", lambda self: calls.append("connect") or "done")
    handler = KernelWebsocketHandler.__new__(KernelWebsocketHandler)  # a handler without a server behind it
    handler.set_nodelay = lambda value: calls.append(("nodelay", value))
    conn = PromptKernelConnection.__new__(PromptKernelConnection)
    conn.websocket_handler = handler
    assert conn.connect() == "done"
    assert calls == [("nodelay", True), "connect"]


def test_the_server_accepts_it_by_its_configured_name():
    app = ServerApp()
    app.kernel_websocket_connection_class = CONNECTION_CLASS
    assert app.kernel_websocket_connection_class is PromptKernelConnection
    with pytest.raises(Exception):
        app.kernel_websocket_connection_class = "course.labserver.CONNECTION_CLASS"  # not a connection class


def test_the_learners_lab_selects_it():
    """Does the learner's server configuration (jupyter-config/learner) choose the prompt kernel connection?"""
    from pathlib import Path

    from traitlets.config.loader import JSONFileConfigLoader

    folder = Path(__file__).resolve().parents[1] / "jupyter-config" / "learner"
    config = JSONFileConfigLoader("jupyter_server_config.json", path=str(folder)).load_config()
    assert config.ServerApp.kernel_websocket_connection_class == CONNECTION_CLASS
    assert ServerApp(config=config).kernel_websocket_connection_class is PromptKernelConnection
