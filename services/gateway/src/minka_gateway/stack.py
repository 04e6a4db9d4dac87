"""The multi-process shape on one machine: ``python -m minka_gateway.stack up|down|status``.

Each service runs as its own uvicorn process (``MINKA_STACK_REPLICAS`` of each) with its own
database — whatever ``MINKA_<SERVICE>_DATABASE_URL`` names (PostgreSQL in production), else a
SQLite file in ``MINKA_DATA_DIR`` — and nginx, from the distribution's packages, in front on one
port with the configuration in ``deploy/nginx/``. Services reach each other through the gateway
over HTTP and authenticate with client-credentials tokens; their secrets are made fresh at each
``up``. Migrations run once per service before any replica starts, as a Kubernetes Job would.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx
from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from minka_gateway.app import CERTIFICATION_CLIENT_ID, STATIC_ROOT, TRACEABILITY_CLIENT_ID

REPOSITORY = Path(__file__).resolve().parents[4]
SERVICES = ("registry", "certification", "traceability")
PLACEHOLDER = re.compile(r"\$\{(MINKA_[A-Z0-9_]+)\}")


class StackSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MINKA_STACK_", extra="ignore", populate_by_name=True)

    dir: Path = Field(Path("run/stack"), description="Pid file, logs and the rendered nginx configuration")
    gateway_port: int = Field(8080, validation_alias=AliasChoices("MINKA_GATEWAY_PORT"))
    base_port: int = Field(8100, description="Service replicas listen on the ports after this one")
    replicas: int = Field(1, ge=1, le=8, description="uvicorn processes per service")
    nginx: str = Field("nginx", description="The nginx executable")
    nginx_template: Path = REPOSITORY / "deploy/nginx/minka.conf.template"
    token_rate: str = Field("10r/s", pattern=r"^\d+r/[sm]$")
    token_burst: int = 20
    max_body_size: str = Field("40m", pattern=r"^\d+[km]?$")
    start_timeout_seconds: float = 60


@dataclass(frozen=True)
class Replica:
    service: str
    index: int
    port: int

    @property
    def name(self) -> str:
        return f"{self.service}-{self.index}"


def render_template(template: str, values: dict[str, str]) -> str:
    """Substitute ``${MINKA_*}`` placeholders as the nginx image's envsubst does; nginx's own ``$vars`` stay."""

    def value(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise KeyError(f"no value for {match.group(1)} in the nginx template")
        return values[match.group(1)]

    return PLACEHOLDER.sub(value, template)


class Stack:
    def __init__(self, settings: StackSettings | None = None, environment: dict[str, str] | None = None) -> None:
        self.settings = settings or StackSettings()
        self.environment = dict(os.environ if environment is None else environment)
        self.dir = self.settings.dir.resolve()
        self.replicas = [
            Replica(service, index, self.settings.base_port + 1 + position * self.settings.replicas + index)
            for position, service in enumerate(SERVICES)
            for index in range(self.settings.replicas)
        ]

    def ports(self) -> list[int]:
        return [self.settings.gateway_port, *(replica.port for replica in self.replicas)]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.settings.gateway_port}"

    # --- starting -----------------------------------------------------------------------------

    def up(self) -> None:
        if self.running_pids():
            raise SystemExit(f"already running (see {self.pid_file}); `make down` first")
        taken = [port for port in self.ports() if not port_is_free(port)]
        if taken:
            raise SystemExit(f"port(s) {', '.join(map(str, taken))} already in use: set MINKA_GATEWAY_PORT or "
                             "MINKA_STACK_BASE_PORT, or stop what listens there")
        (self.dir / "logs").mkdir(parents=True, exist_ok=True)
        self.environment.update(self._service_environment())
        self._write_pids({})
        try:
            self._migrate(SERVICES)
            self.start_services(SERVICES)
            self._start_nginx()
        except BaseException:
            self.down()
            raise

    def start_services(self, services: Sequence[str]) -> None:
        """First replicas start before the others, so that what replicas share (the registry's signing key,
        made on first start) exists before they read it."""
        chosen = [replica for replica in self.replicas if replica.service in services]
        for group in ([r for r in chosen if r.index == 0], [r for r in chosen if r.index > 0]):
            for replica in group:
                self._spawn(replica.name, [
                    sys.executable, "-m", "uvicorn", f"minka_{replica.service}.app:create_app", "--factory",
                    "--host", "127.0.0.1", "--port", str(replica.port),
                    "--proxy-headers", "--forwarded-allow-ips", "127.0.0.1",
                ])
            for replica in group:
                self._wait_ready(replica.name, f"http://127.0.0.1:{replica.port}/readyz")

    def _service_environment(self) -> dict[str, str]:
        registry_url = f"{self.gateway_url}/registry"
        certification_secret, traceability_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        environment = {
            "MINKA_AUTH_JWKS_URL": f"{registry_url}/.well-known/jwks.json",
            "MINKA_REGISTRY_SERVICE_CLIENTS": json.dumps(
                {CERTIFICATION_CLIENT_ID: certification_secret, TRACEABILITY_CLIENT_ID: traceability_secret}
            ),
            "MINKA_CERTIFICATION_REGISTRY_URL": registry_url,
            "MINKA_CERTIFICATION_SERVICE_CLIENT_ID": CERTIFICATION_CLIENT_ID,
            "MINKA_CERTIFICATION_SERVICE_CLIENT_SECRET": certification_secret,
            "MINKA_TRACEABILITY_REGISTRY_URL": registry_url,
            "MINKA_TRACEABILITY_CERTIFICATION_URL": f"{self.gateway_url}/certification",
            "MINKA_TRACEABILITY_SERVICE_CLIENT_ID": TRACEABILITY_CLIENT_ID,
            "MINKA_TRACEABILITY_SERVICE_CLIENT_SECRET": traceability_secret,
        }
        for service in SERVICES:
            environment[f"MINKA_{service.upper()}_ROOT_PATH"] = f"/{service}"
            environment[f"MINKA_{service.upper()}_MIGRATE_ON_START"] = "false"
        return environment

    def _migrate(self, services: Sequence[str]) -> None:
        """Each service's migrations, once, before any of its replicas starts (the services' in parallel)."""
        logs = {service: self.dir / "logs" / f"migrate-{service}.log" for service in services}
        running = {}
        for service, log in logs.items():
            with log.open("ab") as output:
                running[service] = subprocess.Popen(
                    [sys.executable, "-m", "minka_common.migrate_cli", service, "upgrade"],
                    env=self.environment, stdout=output, stderr=subprocess.STDOUT)
        failed = [service for service, process in running.items() if process.wait() != 0]
        if failed:
            raise SystemExit("\n".join(f"migrating {service} failed:\n{_tail(logs[service])}" for service in failed))

    def _start_nginx(self) -> None:
        nginx = shutil.which(self.settings.nginx) or shutil.which(self.settings.nginx, path="/usr/sbin:/sbin")
        if nginx is None:
            raise SystemExit("nginx is not installed (Debian: apt-get install nginx-light)")
        configuration = self.write_nginx_configuration()
        subprocess.run([nginx, "-t", "-q", "-p", str(self.dir), "-c", str(configuration)], check=True)
        self._spawn("nginx", [nginx, "-p", str(self.dir), "-c", str(configuration), "-g", "daemon off;"])
        self._wait_ready("nginx", f"{self.gateway_url}/registry/readyz")

    def write_nginx_configuration(self) -> Path:
        # max_fails=0: a replica that refused a connection is not shunned for the next 10 s, so a restarted
        # service is used as soon as it is ready (a refused connection costs nothing; nginx tries the next one).
        servers = {
            service: " ".join(f"server 127.0.0.1:{replica.port} max_fails=0;" for replica in self.replicas
                              if replica.service == service)
            for service in SERVICES
        }
        site = render_template(self.settings.nginx_template.read_text(), {
            "MINKA_GATEWAY_PORT": f"127.0.0.1:{self.settings.gateway_port}",
            "MINKA_REGISTRY_SERVERS": servers["registry"],
            "MINKA_CERTIFICATION_SERVERS": servers["certification"],
            "MINKA_TRACEABILITY_SERVERS": servers["traceability"],
            "MINKA_APP_ROOT": str(STATIC_ROOT),
            "MINKA_TOKEN_RATE": self.settings.token_rate,
            "MINKA_TOKEN_BURST": str(self.settings.token_burst),
            "MINKA_MAX_BODY_SIZE": self.settings.max_body_size,
        })
        (self.dir / "minka.conf").write_text(site)
        temp = self.dir / "tmp"
        temp.mkdir(parents=True, exist_ok=True)
        main = self.dir / "nginx.conf"
        # Started by root, nginx would run its workers as nobody, who may not enter the stack's private directory.
        user = "user root;\n" if os.geteuid() == 0 else ""
        main.write_text(MAIN_CONFIGURATION.format(user=user, dir=self.dir, temp=temp))
        return main

    # --- processes ----------------------------------------------------------------------------

    @property
    def pid_file(self) -> Path:
        return self.dir / "pids.json"

    def pids(self) -> dict[str, int]:
        try:
            return json.loads(self.pid_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {}

    def _write_pids(self, pids: dict[str, int]) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pid_file.write_text(json.dumps(pids, indent=2))

    def running_pids(self) -> dict[str, int]:
        return {name: pid for name, pid in self.pids().items() if _alive(pid)}

    def _spawn(self, name: str, command: list[str]) -> None:
        log = (self.dir / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(command, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self._write_pids({**self.pids(), name: process.pid})

    def _wait_ready(self, name: str, url: str) -> None:
        deadline = time.monotonic() + self.settings.start_timeout_seconds
        while time.monotonic() < deadline:
            if not _alive(self.pids()[name]):
                raise SystemExit(f"{name} exited:\n{_tail(self.dir / 'logs' / f'{name}.log')}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{name} was not ready after {self.settings.start_timeout_seconds} s:\n"
                         f"{_tail(self.dir / 'logs' / f'{name}.log')}")

    def stop_services(self, services: Sequence[str]) -> None:
        self._stop([replica.name for replica in self.replicas if replica.service in services])

    def down(self) -> None:
        self._stop(list(self.pids()))

    def _stop(self, names: list[str]) -> None:
        pids = self.pids()
        for name in names:
            if name in pids:
                _terminate(pids[name])
        self._write_pids({name: pid for name, pid in pids.items() if name not in names})


MAIN_CONFIGURATION = """\
{user}worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/logs/nginx-error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {dir}/logs/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {dir}/minka.conf;
}}
"""


def port_is_free(port: int) -> bool:
    """Nothing listens on the port (connections of a stopped server waiting out TIME_WAIT do not count,
    as servers bind with SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a child of this process that exited is a zombie until reaped
        finished, _ = os.waitpid(pid, os.WNOHANG)
        return finished == 0
    except ChildProcessError:
        return True


def _terminate(pid: int, grace_seconds: float = 10) -> None:
    """SIGTERM the process group (uvicorn or nginx and its workers), SIGKILL after the grace period."""
    for sent in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sent)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace_seconds
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def main(argv: list[str]) -> int:
    stack = Stack()
    match argv:
        case ["up"]:
            stack.up()
            print(f"Minka is up at {stack.gateway_url}/ (logs in {stack.dir / 'logs'}; `make down` stops it)")
        case ["down"]:
            stack.down()
            print("Minka is down")
        case ["status"]:
            for name, pid in stack.pids().items():
                print(f"{name:16} pid {pid:>7}  {'running' if _alive(pid) else 'stopped'}")
        case _:
            print("usage: python -m minka_gateway.stack up|down|status", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
