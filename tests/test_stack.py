"""The multi-process launcher's rules that need no process: template rendering and replica ports."""

from __future__ import annotations

import socket

import pytest

from minka_gateway.stack import PLACEHOLDER, SERVICES, Stack, StackSettings, render_template


def test_only_minka_placeholders_are_substituted_and_nginx_variables_stay():
    rendered = render_template("listen ${MINKA_PORT}; proxy_set_header Host $host; add ${request_id};",
                               {"MINKA_PORT": "8080"})
    assert rendered == "listen 8080; proxy_set_header Host $host; add ${request_id};"


def test_a_placeholder_without_a_value_is_an_error_not_an_empty_string():
    with pytest.raises(KeyError, match="MINKA_TOKEN_RATE"):
        render_template("rate=${MINKA_TOKEN_RATE};", {})


def test_replicas_get_distinct_ports_after_the_base_port(tmp_path):
    stack = Stack(StackSettings(dir=tmp_path, base_port=9000, replicas=2), environment={})
    ports = [replica.port for replica in stack.replicas]
    assert len(set(ports)) == len(ports) == 2 * len(SERVICES) and min(ports) > 9000
    assert [replica.name for replica in stack.replicas][:2] == ["registry-0", "registry-1"]


def test_the_rendered_gateway_lists_every_replica_and_leaves_no_placeholder(tmp_path):
    stack = Stack(StackSettings(dir=tmp_path, gateway_port=9999, base_port=9000, replicas=2), environment={})
    stack.write_nginx_configuration()
    site = (tmp_path / "minka.conf").read_text()
    assert not PLACEHOLDER.search(site)
    for replica in stack.replicas:
        assert f"server 127.0.0.1:{replica.port} max_fails=0;" in site
    assert "listen 127.0.0.1:9999;" in site
    assert f"include {tmp_path}/minka.conf;" in (tmp_path / "nginx.conf").read_text()


def test_up_refuses_ports_in_use_before_starting_anything(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        taken = listener.getsockname()[1]
        stack = Stack(StackSettings(dir=tmp_path, gateway_port=taken, base_port=taken + 100), environment={})
        with pytest.raises(SystemExit, match=f"port.* {taken} already in use"):
            stack.up()
    assert not (tmp_path / "logs").exists()
