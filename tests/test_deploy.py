"""The deployment files in deploy/ agree with the code and with each other, checked without Docker or a cluster:
setting names against the settings classes, ports and probes against the uvicorn commands, images against the
Dockerfiles, secret references against the example Secret, the gateway's variables against the nginx template."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

from minka_certification.settings import CertificationSettings
from minka_common.migrate_cli import parse_arguments
from minka_registry.settings import RegistrySettings
from minka_traceability.settings import TraceabilitySettings

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE = DEPLOY / "compose.yaml"
TEMPLATE = DEPLOY / "nginx" / "minka.conf.template"
SECRET_EXAMPLE = K8S / "secret.example.yaml"
KUBERNETES_VERSION = "1.31"

SETTINGS: dict[str, type[BaseSettings]] = {
    "registry": RegistrySettings,
    "certification": CertificationSettings,
    "traceability": TraceabilitySettings,
}
SERVICES = tuple(SETTINGS)
# Image name -> the Dockerfile in deploy/ that builds it.
IMAGES = {"minka": "Dockerfile", "minka-gateway": "gateway.Dockerfile"}
THIRD_PARTY_IMAGES = {"postgres"}


def _required(service: str, *names: str) -> set[str]:
    prefix = f"MINKA_{service.upper()}_"
    return {name if name.startswith("MINKA_AUTH") else prefix + name for name in names}


# What each service must be told when it runs on its own, behind the gateway, with migrations run separately.
REQUIRED = {
    "registry": _required("registry", "DATABASE_URL", "ROOT_PATH", "MIGRATE_ON_START", "SIGNING_KEY",
                          "SERVICE_CLIENTS"),
    "certification": _required("certification", "DATABASE_URL", "ROOT_PATH", "MIGRATE_ON_START", "REGISTRY_URL",
                               "SERVICE_CLIENT_ID", "SERVICE_CLIENT_SECRET", "MINKA_AUTH_JWKS_URL"),
    "traceability": _required("traceability", "DATABASE_URL", "ROOT_PATH", "MIGRATE_ON_START", "REGISTRY_URL",
                              "CERTIFICATION_URL", "SERVICE_CLIENT_ID", "SERVICE_CLIENT_SECRET",
                              "MINKA_AUTH_JWKS_URL", "EPCIS_SCHEMA_PATH"),
}
# The service URL each service's setting must point at (a Service or compose service of that name).
SERVICE_URLS = {
    "MINKA_CERTIFICATION_REGISTRY_URL": "registry",
    "MINKA_TRACEABILITY_REGISTRY_URL": "registry",
    "MINKA_TRACEABILITY_CERTIFICATION_URL": "certification",
}
JWKS_PATH = "/.well-known/jwks.json"
CLIENT_SETTINGS = {
    service: (f"MINKA_{service.upper()}_SERVICE_CLIENT_ID", f"MINKA_{service.upper()}_SERVICE_CLIENT_SECRET")
    for service in ("certification", "traceability")
}


# ---------------------------------------------------------------------------------------------------- helpers


def setting_names(settings: type[BaseSettings]) -> set[str]:
    """The environment variables a settings class reads: its aliases, else its prefix and the field name."""
    prefix = settings.model_config["env_prefix"]
    names = set()
    for field_name, field in settings.model_fields.items():
        alias = field.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
        elif isinstance(alias, str):
            names.add(alias)
        else:
            names.add(f"{prefix}{field_name}".upper())
    return names


ALL_SETTING_NAMES = set().union(*(setting_names(settings) for settings in SETTINGS.values()))


def template_placeholders() -> set[str]:
    # envsubst replaces ${NAME} and $NAME; NGINX_ENVSUBST_FILTER=^MINKA_ keeps nginx's own $variables intact.
    return set(re.findall(r"\$\{?(MINKA_[A-Z0-9_]+)", TEMPLATE.read_text()))


def load_all(path: Path) -> list[dict[str, Any]]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document is not None]


def manifest_paths() -> list[Path]:
    return sorted(K8S.glob("*.yaml"))


@cache
def manifests() -> list[dict[str, Any]]:
    return [document for path in manifest_paths() for document in load_all(path)]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [document for document in manifests() if document["kind"] == kind]


def named(kind: str, name: str) -> dict[str, Any]:
    (document,) = [document for document in of_kind(kind) if document["metadata"]["name"] == name]
    return document


def uvicorn_service(command: list[str]) -> str | None:
    match = re.fullmatch(r"minka_(\w+)\.app:create_app", command[1]) if command[:1] == ["uvicorn"] else None
    return match.group(1) if match else None


def migrated_service(command: list[str]) -> str | None:
    if command[:3] == ["python", "-m", "minka_common.migrate_cli"]:
        return command[3]
    return None


def service_of(command: list[str]) -> str | None:
    return uvicorn_service(command) or migrated_service(command)


def uvicorn_port(command: list[str]) -> int:
    return int(command[command.index("--port") + 1])


def image_name(image: str) -> str:
    return image.rsplit("/", 1)[-1].split(":")[0]


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str


@dataclass(frozen=True)
class Container:
    workload: dict[str, Any]
    spec: dict[str, Any]

    @property
    def pod(self) -> dict[str, Any]:
        return self.workload["spec"]["template"]["spec"]

    @property
    def service(self) -> str | None:
        return service_of(self.spec.get("command", []))

    def env(self) -> dict[str, Any]:
        """Every variable the container gets: from ConfigMaps, literal values, and Secret references."""
        configmaps = {document["metadata"]["name"]: document["data"] for document in of_kind("ConfigMap")}
        env: dict[str, Any] = {}
        for source in self.spec.get("envFrom", []):
            env.update(configmaps[source["configMapRef"]["name"]])
        for item in self.spec.get("env", []):
            if "value" in item:
                env[item["name"]] = item["value"]
            else:
                reference = item["valueFrom"]["secretKeyRef"]
                env[item["name"]] = SecretRef(reference["name"], reference["key"])
        return env

    def port(self, name_or_number: str | int) -> int:
        if isinstance(name_or_number, int):
            return name_or_number
        (port,) = [port["containerPort"] for port in self.spec["ports"] if port.get("name") == name_or_number]
        return port


def containers(kind: str | None = None) -> list[Container]:
    workloads = [document for document in manifests() if document["kind"] in {"Deployment", "Job"}]
    return [Container(workload, spec) for workload in workloads if kind in (None, workload["kind"])
            for spec in workload["spec"]["template"]["spec"]["containers"]]


def deployment_container(service: str) -> Container:
    (container,) = [container for container in containers("Deployment") if container.service == service]
    return container


def job_container(service: str) -> Container:
    (container,) = [container for container in containers("Job") if container.service == service]
    return container


def gateway_container() -> Container:
    (container,) = [container for container in containers("Deployment")
                    if image_name(container.spec["image"]) == "minka-gateway"]
    return container


def secret_example_keys() -> set[str]:
    (secret,) = load_all(SECRET_EXAMPLE)
    return set(secret.get("stringData", {})) | set(secret.get("data", {}))


@cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def compose_services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def compose_service_of(name: str) -> str | None:
    return service_of(compose_services()[name].get("command", []))


def compose_app(service: str) -> dict[str, Any]:
    (spec,) = [spec for spec in compose_services().values() if uvicorn_service(spec.get("command", [])) == service]
    return spec


INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolated_names(text: str, kind: str | None = None) -> set[str]:
    """Variables compose interpolates (kind "?" : only the required ones)."""
    return {match.group(1) for match in INTERPOLATION.finditer(text) if kind in (None, match.group(2))}


def as_markers(value: str) -> str:
    """Compose ${VAR...} and Kubernetes $(VAR) references replaced by <VAR>, to compare wiring, not values."""
    value = INTERPOLATION.sub(lambda match: f"<{match.group(1)}>", value)
    return re.sub(r"\$\((\w+)\)", lambda match: f"<{match.group(1)}>", value)


def env_file_names(path: Path) -> set[str]:
    """Names set in an env file, commented-out ones included (they document real settings too)."""
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", path.read_text(), flags=re.MULTILINE))


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def dockerfile_env(path: Path) -> dict[str, str]:
    env = {}
    for instruction, arguments in dockerfile_instructions(path):
        if instruction == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
    return env


def servers(value: str) -> list[tuple[str, int]]:
    """The `server host:port;` lines of an upstream variable."""
    assert re.fullmatch(r"\s*(server [\w.-]+:\d+;\s*)+", value), value
    return [(host, int(port)) for host, port in re.findall(r"server ([\w.-]+):(\d+);", value)]


# ---------------------------------------------------------------------------------------------------- all files


def test_every_yaml_file_in_deploy_parses():
    paths = sorted(DEPLOY.rglob("*.yaml")) + sorted(DEPLOY.rglob("*.yml"))
    assert COMPOSE in paths and len(paths) > 3
    for path in paths:
        assert load_all(path), path


def test_the_settings_classes_read_the_names_the_deployment_files_rely_on():
    assert {"MINKA_DATA_DIR", "MINKA_AUTH_JWKS_URL", "MINKA_BOOTSTRAP_CLIENT_ID"} <= setting_names(RegistrySettings)
    for service, names in REQUIRED.items():
        assert names <= setting_names(SETTINGS[service]), service


def test_the_env_examples_name_only_real_settings():
    for service in SERVICES:
        path = DEPLOY / "env" / f"{service}.env.example"
        names = env_file_names(path)
        assert names and names <= setting_names(SETTINGS[service]), names - setting_names(SETTINGS[service])
    compose_env = env_file_names(DEPLOY / "env" / "compose.env.example")
    minka = {name for name in compose_env if name.startswith("MINKA_")}
    assert minka <= ALL_SETTING_NAMES, minka - ALL_SETTING_NAMES


def test_the_images_set_only_real_settings_and_the_template_placeholders():
    assert {name for name in dockerfile_env(DEPLOY / "Dockerfile") if name.startswith("MINKA_")} <= ALL_SETTING_NAMES
    gateway_env = dockerfile_env(DEPLOY / "gateway.Dockerfile")
    assert gateway_env["NGINX_ENVSUBST_FILTER"] == "^MINKA_"
    assert {name for name in gateway_env if name.startswith("MINKA_")} == template_placeholders()


# ---------------------------------------------------------------------------------------------------- images


def test_the_dockerfiles_copy_only_what_the_repository_has():
    for dockerfile in IMAGES.values():
        for instruction, arguments in dockerfile_instructions(DEPLOY / dockerfile):
            if instruction == "COPY" and "--from=" not in arguments:
                *sources, _ = [word for word in arguments.split() if not word.startswith("--")]
                for source in sources:
                    assert list(ROOT.glob(source)), f"{dockerfile}: COPY {source}"


def test_the_service_image_installs_the_workspace_and_runs_unprivileged():
    instructions = dockerfile_instructions(DEPLOY / "Dockerfile")
    runs = " ".join(arguments for instruction, arguments in instructions if instruction == "RUN")
    assert "uv sync --frozen --no-dev --all-packages" in runs
    (user,) = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert user.split(":")[0] not in {"root", "0"}
    (expose,) = [arguments for instruction, arguments in instructions if instruction == "EXPOSE"]
    (cmd,) = [json.loads(arguments) for instruction, arguments in instructions if instruction == "CMD"]
    assert uvicorn_port(cmd) == int(expose)


def test_the_gateway_image_is_nginx_with_the_template_and_the_static_files():
    instructions = dockerfile_instructions(DEPLOY / "gateway.Dockerfile")
    (base,) = [arguments for instruction, arguments in instructions if instruction == "FROM"]
    assert base.startswith("nginx:")
    copies = [arguments.split() for instruction, arguments in instructions if instruction == "COPY"]
    assert ["deploy/nginx/minka.conf.template", "/etc/nginx/templates/minka.conf.template"] in copies
    app_root = dockerfile_env(DEPLOY / "gateway.Dockerfile")["MINKA_APP_ROOT"]
    assert ["services/gateway/src/minka_gateway/static/app", f"{app_root}/app"] in copies
    (user,) = [arguments for instruction, arguments in instructions if instruction == "USER"]
    assert user.split(":")[0] not in {"root", "0"}


# ---------------------------------------------------------------------------------------------------- Kubernetes


def test_the_kubernetes_manifests_validate_against_the_kubernetes_schemas():
    documents = manifests()
    assert {document["kind"] for document in documents} >= {"Deployment", "Service", "ConfigMap", "Job", "Secret"}
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_applies_every_manifest_but_the_secret_example():
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    expected = {f"k8s/{path.name}" for path in manifest_paths() if not path.name.endswith(".example.yaml")}
    assert set(kustomization["resources"]) == expected
    assert "Secret" not in {document["kind"] for path in expected for document in load_all(DEPLOY / path)}
    assert {image["name"] for image in kustomization["images"]} == set(IMAGES)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (for its kustomize) is not installed")
def test_the_kustomization_renders_to_valid_manifests_in_one_namespace():
    rendered = subprocess.run(["kubectl", "kustomize", str(DEPLOY)], capture_output=True, text=True, timeout=120,
                              check=True).stdout
    documents = [document for document in yaml.safe_load_all(rendered) if document]
    namespaces = {document["metadata"].get("namespace") for document in documents if document["kind"] != "Namespace"}
    assert namespaces == {"minka"}
    for document in documents:
        kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_images_are_built_by_the_dockerfiles_in_deploy():
    for container in containers():
        name = image_name(container.spec["image"])
        assert name in IMAGES and (DEPLOY / IMAGES[name]).is_file(), name
        assert (name == "minka") == (container.service is not None), container.spec


def test_each_kubernetes_service_gets_only_real_settings_and_every_one_it_needs():
    for container in containers():
        if container.service is None:
            continue
        env = container.env()
        names = {name for name in env if name.startswith("MINKA_")}
        assert names <= setting_names(SETTINGS[container.service]), names - setting_names(SETTINGS[container.service])
        if container.workload["kind"] == "Deployment":
            assert REQUIRED[container.service] <= set(env), REQUIRED[container.service] - set(env)
    assert {container.service for container in containers("Deployment")} >= set(SERVICES)


def test_the_kubernetes_services_do_not_migrate_and_know_their_prefix():
    for service in SERVICES:
        env = deployment_container(service).env()
        assert env[f"MINKA_{service.upper()}_MIGRATE_ON_START"] == "false"
        assert env[f"MINKA_{service.upper()}_ROOT_PATH"] == f"/{service}"


def test_the_kubernetes_services_call_each_other_through_the_cluster_services():
    def service_port(name: str) -> int:
        (port,) = named("Service", name)["spec"]["ports"]
        return port["port"]

    for service in ("certification", "traceability"):
        env = deployment_container(service).env()
        for setting, target in SERVICE_URLS.items():
            if setting in env:
                assert env[setting] == f"http://{target}:{service_port(target)}", setting
        assert env["MINKA_AUTH_JWKS_URL"] == f"http://registry:{service_port('registry')}{JWKS_PATH}"


def test_the_registry_knows_the_service_clients_the_other_services_use():
    registry = deployment_container("registry").env()
    helpers = {name: value for name, value in registry.items() if isinstance(value, SecretRef)}
    clients = json.loads(as_markers(registry["MINKA_REGISTRY_SERVICE_CLIENTS"]))
    resolved = {client_id: helpers[marker.strip("<>")] for client_id, marker in clients.items()}
    expected = {}
    for service, (client_id, client_secret) in CLIENT_SETTINGS.items():
        env = deployment_container(service).env()
        expected[env[client_id]] = env[client_secret]
    assert resolved == expected


def test_every_secret_reference_is_in_the_example_secret_and_every_example_key_is_used():
    (secret,) = load_all(SECRET_EXAMPLE)
    references = {value for container in containers() for value in container.env().values()
                  if isinstance(value, SecretRef)}
    assert {reference.name for reference in references} == {secret["metadata"]["name"]}
    assert {reference.key for reference in references} == secret_example_keys()


def test_the_configmaps_the_pods_use_exist_or_are_optional():
    defined = {document["metadata"]["name"] for document in of_kind("ConfigMap")}
    for container in containers():
        for source in container.spec.get("envFrom", []):
            assert source["configMapRef"]["name"] in defined
        for volume in container.pod.get("volumes", []):
            if "configMap" in volume:
                assert volume["configMap"]["name"] in defined or volume["configMap"].get("optional") is True


def test_one_migration_job_per_service_upgrades_that_services_database():
    jobs = containers("Job")
    assert sorted(migrated_service(job.spec["command"]) for job in jobs) == sorted(SERVICES)
    for job in jobs:
        service = job.service
        assert job.spec["command"] == ["python", "-m", "minka_common.migrate_cli", service, "upgrade"]
        assert job.pod["restartPolicy"] in {"Never", "OnFailure"}
        database_url = f"MINKA_{service.upper()}_DATABASE_URL"
        assert job.env()[database_url] == deployment_container(service).env()[database_url]


def test_each_kubernetes_service_waits_for_its_own_migrations_in_an_init_container():
    for service in SERVICES:
        container = deployment_container(service)
        (init,) = [Container(container.workload, spec) for spec in container.pod.get("initContainers", [])]
        command = init.spec["command"]
        assert command[:5] == ["python", "-m", "minka_common.migrate_cli", service, "wait"], command
        arguments = parse_arguments(command[3:])
        job = named("Job", f"{service}-migrate")
        assert arguments.timeout == job["spec"]["activeDeadlineSeconds"]  # waits as long as the Job may run
        assert init.spec["image"] == container.spec["image"]
        assert init.spec["envFrom"] == container.spec["envFrom"]
        database_url = f"MINKA_{service.upper()}_DATABASE_URL"
        assert init.env()[database_url] == container.env()[database_url] == job_container(service).env()[database_url]
        assert init.env().items() <= container.env().items()  # what the service gets, and no other secret


def test_the_kubernetes_ports_and_probes_match_the_uvicorn_commands():
    for service in SERVICES:
        container = deployment_container(service)
        port = uvicorn_port(container.spec["command"])
        assert [item["containerPort"] for item in container.spec["ports"]] == [port]
        probes = {kind: container.spec[kind]["httpGet"] for kind in ("livenessProbe", "readinessProbe")}
        assert probes["livenessProbe"]["path"] == "/healthz"
        assert probes["readinessProbe"]["path"] == "/readyz"
        if "startupProbe" in container.spec:
            probes["startupProbe"] = container.spec["startupProbe"]["httpGet"]
        for probe in probes.values():
            assert container.port(probe["port"]) == port
        assert container.workload["spec"]["replicas"] >= 2
        assert container.spec["resources"]["requests"] and container.spec["resources"]["limits"]


def test_the_gateway_listens_where_its_container_port_and_probes_say():
    container = gateway_container()
    port = int(container.env()["MINKA_GATEWAY_PORT"])
    assert [item["containerPort"] for item in container.spec["ports"]] == [port]
    for kind in ("livenessProbe", "readinessProbe"):
        assert container.port(container.spec[kind]["httpGet"]["port"]) == port


def test_every_kubernetes_service_selects_pods_and_targets_one_of_their_ports():
    for service in of_kind("Service"):
        selector = service["spec"]["selector"]
        selected = [container for container in containers("Deployment")
                    if selector.items() <= container.workload["spec"]["template"]["metadata"]["labels"].items()]
        assert selected, service["metadata"]["name"]
        for port in service["spec"]["ports"]:
            for container in selected:
                assert container.port(port["targetPort"]) in {item["containerPort"] for item in container.spec["ports"]}
    for name in SERVICES:
        (port,) = named("Service", name)["spec"]["ports"]
        assert named("Service", name)["spec"]["type"] == "ClusterIP"
        assert deployment_container(name).port(port["targetPort"]) == port["port"] == 8000


def test_the_kubernetes_gateway_sets_exactly_the_template_placeholders_and_proxies_to_the_services():
    env = gateway_container().env()
    assert {name for name in env if name.startswith("MINKA_")} == template_placeholders()
    for service in SERVICES:
        (port,) = named("Service", service)["spec"]["ports"]
        assert servers(env[f"MINKA_{service.upper()}_SERVERS"]) == [(service, port["port"])]


# ---------------------------------------------------------------------------------------------------- compose


def test_compose_runs_postgres_a_migration_and_a_service_for_each_service_and_the_gateway():
    expected = {"postgres", "gateway", *SERVICES, *(f"{service}-migrate" for service in SERVICES)}
    assert set(compose_services()) == expected
    for service in SERVICES:
        migrate = compose_services()[f"{service}-migrate"]
        assert migrate["command"] == ["python", "-m", "minka_common.migrate_cli", service, "upgrade"]
        assert compose_services()[service]["command"][1] == f"minka_{service}.app:create_app"


def test_compose_dependencies_exist_and_wait_for_migrations_and_health():
    services = compose_services()
    for name, spec in services.items():
        for dependency, condition in spec.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            if dependency.endswith("-migrate"):
                assert condition["condition"] == "service_completed_successfully"
    for service in SERVICES:
        assert services[service]["depends_on"][f"{service}-migrate"]["condition"] == "service_completed_successfully"
        assert services[f"{service}-migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["certification"]["depends_on"]["registry"]["condition"] == "service_healthy"
    assert {"registry", "certification"} <= set(services["traceability"]["depends_on"])
    assert set(SERVICES) <= set(services["gateway"]["depends_on"])


def test_compose_healthchecks_ask_the_services_port_for_readiness():
    for service in SERVICES:
        spec = compose_app(service)
        check = " ".join(spec["healthcheck"]["test"])
        assert f"127.0.0.1:{uvicorn_port(spec['command'])}/readyz" in check
    assert "pg_isready" in compose_services()["postgres"]["healthcheck"]["test"]


def test_compose_images_are_built_by_the_dockerfiles_in_deploy():
    for name, spec in compose_services().items():
        image = image_name(spec["image"])
        if image in THIRD_PARTY_IMAGES:
            assert "build" not in spec
            continue
        assert image in IMAGES, name
        assert spec["build"]["dockerfile"] == f"deploy/{IMAGES[image]}"
        assert (DEPLOY / spec["build"]["context"]).resolve() == ROOT
        assert (image == "minka") == (compose_service_of(name) is not None), name


def test_compose_sets_only_real_settings_and_every_one_a_service_needs():
    for name, spec in compose_services().items():
        service = compose_service_of(name)
        if service is None:
            continue
        names = {variable for variable in spec["environment"] if variable.startswith("MINKA_")}
        assert names <= setting_names(SETTINGS[service]), names - setting_names(SETTINGS[service])
        if not name.endswith("-migrate"):
            assert REQUIRED[service] - {"MINKA_REGISTRY_SIGNING_KEY"} <= names, REQUIRED[service] - names
            assert spec["environment"][f"MINKA_{service.upper()}_MIGRATE_ON_START"] == "false"
            assert spec["environment"][f"MINKA_{service.upper()}_ROOT_PATH"] == f"/{service}"
    interpolated = {name for name in interpolated_names(COMPOSE.read_text()) if name.startswith("MINKA_")}
    assert interpolated <= ALL_SETTING_NAMES, interpolated - ALL_SETTING_NAMES


def test_compose_services_call_each_other_by_service_name_and_port():
    for service in ("certification", "traceability"):
        env = compose_app(service)["environment"]
        for setting, target in SERVICE_URLS.items():
            if setting in env:
                assert env[setting] == f"http://{target}:{uvicorn_port(compose_app(target)['command'])}", setting
        registry_port = uvicorn_port(compose_app("registry")["command"])
        assert env["MINKA_AUTH_JWKS_URL"] == f"http://registry:{registry_port}{JWKS_PATH}"


def test_compose_migrations_and_services_share_one_database_per_service():
    urls = {}
    for service in SERVICES:
        setting = f"MINKA_{service.upper()}_DATABASE_URL"
        url = compose_app(service)["environment"][setting]
        assert compose_services()[f"{service}-migrate"]["environment"][setting] == url
        assert url.startswith("postgresql+asyncpg://") and "@postgres:5432/" in url
        urls[service] = url
    assert len(set(urls.values())) == len(SERVICES)
    init = (DEPLOY / "postgres" / "create-databases.sql").read_text()
    for url in urls.values():
        assert f"CREATE DATABASE {url.rsplit('/', 1)[1]};" in init


def test_the_compose_registry_knows_the_service_clients_the_other_services_use():
    registry = compose_app("registry")["environment"]
    clients = json.loads(as_markers(registry["MINKA_REGISTRY_SERVICE_CLIENTS"]))
    expected = {}
    for service, (client_id, client_secret) in CLIENT_SETTINGS.items():
        env = compose_app(service)["environment"]
        expected[env[client_id]] = as_markers(env[client_secret])
    assert clients == expected


def test_compose_publishes_only_the_gateway_on_its_template_port():
    services = compose_services()
    assert [name for name, spec in services.items() if "ports" in spec] == ["gateway"]
    gateway = services["gateway"]
    port = gateway["environment"]["MINKA_GATEWAY_PORT"]
    assert [mapping.rsplit(":", 1)[1] for mapping in gateway["ports"]] == [port]
    assert f"127.0.0.1:{port}/" in " ".join(gateway["healthcheck"]["test"])


def test_the_compose_gateway_sets_exactly_the_template_placeholders_and_proxies_to_the_services():
    env = compose_services()["gateway"]["environment"]
    assert set(env) == template_placeholders()
    for service in SERVICES:
        port = uvicorn_port(compose_app(service)["command"])
        assert servers(env[f"MINKA_{service.upper()}_SERVERS"]) == [(service, port)]


def test_compose_variables_and_env_files_are_documented_by_examples():
    text = COMPOSE.read_text()
    documented = env_file_names(DEPLOY / "env" / "compose.env.example")
    assert interpolated_names(text) <= documented, interpolated_names(text) - documented
    for spec in compose_services().values():
        for env_file in spec.get("env_file", []):
            path = env_file["path"] if isinstance(env_file, dict) else env_file
            assert (DEPLOY / f"{path}.example").is_file(), path


def test_the_epcis_schema_path_lies_in_a_mounted_volume_in_kubernetes_and_compose():
    setting = "MINKA_TRACEABILITY_EPCIS_SCHEMA_PATH"
    container = deployment_container("traceability")
    schema = Path(container.env()[setting])
    assert any(schema.parent == Path(mount["mountPath"]) for mount in container.spec["volumeMounts"])
    assert dockerfile_env(DEPLOY / "Dockerfile")[setting] == str(schema)
    spec = compose_app("traceability")
    mounts = [volume.split(":")[-2] for volume in spec["volumes"]]
    assert Path(spec["environment"][setting]).parent.as_posix() in mounts
