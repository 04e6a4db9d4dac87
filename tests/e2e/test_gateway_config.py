"""The nginx configuration in deploy/ passes nginx's own check, as the stack renders it."""

from __future__ import annotations

import shutil
import subprocess

from minka_gateway.stack import Stack, StackSettings


def test_nginx_accepts_the_rendered_configuration(tmp_path):
    stack = Stack(StackSettings(dir=tmp_path, gateway_port=9999, base_port=9000, replicas=3), environment={})
    configuration = stack.write_nginx_configuration()
    (tmp_path / "logs").mkdir()
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    checked = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(configuration)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
