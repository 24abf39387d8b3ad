"""Offline checks of the deployment files against the project and against each other.

- Every kustomization (base, overlays, and fixtures that add the optional components) renders
  with `kubectl kustomize` and validates with `kubernetes-validate --strict` for every version in
  KUBE_VERSIONS; yamllint passes on deploy/ and tests/deploy/.
- The deliberately broken cases in tests/deploy/broken/ are rejected, for the expected reason.
- The rendered workloads keep their promises: non-root, read-only root filesystem, no privilege
  escalation, probes on routes the server has, a grace period that covers the drain, ports equal
  to the config, the store on a writable volume, media exposed as each overlay says.
- The config each pod will run with (ConfigMap file + container env + args) is accepted by the
  real binary (SWITCHBOARD_BIN), which rejects unknown keys; every SWITCHBOARD_* variable used is
  one the binary knows.
- deploy/Dockerfile builds the binary the workspace defines and exposes the ports, config path,
  store directory and user that the config and the manifests use.

Run through tests/deploy/run.sh, which installs the tools. Nothing here needs a cluster, a
registry or a Docker engine.
"""

import functools
import ipaddress
import os
import re
import subprocess
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path, PurePosixPath

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUSTOMIZE_ROOT = DEPLOY / "kubernetes"
OVERLAYS = sorted(p for p in (KUSTOMIZE_ROOT / "overlays").iterdir() if p.is_dir())
FIXTURES = sorted(p for p in (ROOT / "tests/deploy/fixtures").iterdir() if p.is_dir())
BROKEN = ROOT / "tests/deploy/broken"
DEPLOYABLE = OVERLAYS + FIXTURES
KUBE_VERSIONS = os.environ.get("KUBE_VERSIONS", "1.30.0 1.37.0").split()
BIN = Path(os.environ.get("SWITCHBOARD_BIN", ROOT / "target/release/switchboard"))
TOOLS = Path(sys.executable).parent  # the venv's bin: kubernetes-validate, yamllint
NAMESPACE = "switchboard"
APP_LABELS = {"app.kubernetes.io/name": "switchboard"}
# Placeholder values for what the cluster fills in.
FAKE_SECRET = {"api-key": "deploy-test-key", "api-secret": "deploy-test-secret-of-enough-length-0123"}
FAKE_FIELDS = {"status.hostIP": "192.0.2.10", "status.podIP": "10.0.0.10"}


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


@functools.cache
def rendered(path):
    result = run(["kubectl", "kustomize", path])
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize {path} failed:\n{result.stderr}")
    return result.stdout


def documents(path):
    return [d for d in yaml.safe_load_all(rendered(path)) if d]


def of_kind(docs, *kinds):
    return [d for d in docs if d["kind"] in kinds]


def by_name(docs, kind, name):
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    return found[0] if found else None


def validate(path, version):
    """kubernetes-validate --strict on the rendered output of `path`."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
        f.write(rendered(path))
        f.flush()
        result = run([TOOLS / "kubernetes-validate", "--strict", "-k", version, "--quiet", f.name])
    return result.returncode, result.stdout + result.stderr


def workload(docs):
    found = of_kind(docs, "Deployment", "StatefulSet")
    assert len(found) == 1, f"exactly one workload, got {[d['kind'] for d in found]}"
    return found[0]


def server_container(w):
    return next(c for c in w["spec"]["template"]["spec"]["containers"] if c["name"] == "switchboard")


def port(container, name):
    return next(p for p in container["ports"] if p["name"] == name)


def labels_match(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def pod_names(w):
    """Names of the pods the workload makes (a Deployment's are random; one stands for all)."""
    if w["kind"] == "StatefulSet":
        return [f"{w['metadata']['name']}-{i}" for i in range(w["spec"]["replicas"])]
    return [f"{w['metadata']['name']}-7c9f8d6b5-x2x4q"]


def pod_env(container, pod_name):
    """The container's environment as the kubelet would build it, with placeholder values."""
    env = {}
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = expand(var["value"], env)
        elif "secretKeyRef" in var["valueFrom"]:
            env[var["name"]] = FAKE_SECRET[var["valueFrom"]["secretKeyRef"]["key"]]
        else:
            field = var["valueFrom"]["fieldRef"]["fieldPath"]
            env[var["name"]] = pod_name if field == "metadata.name" else FAKE_FIELDS[field]
    return env


def expand(arg, env):
    """The kubelet's $(VAR) expansion in args and in values of later variables."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), arg)


def config_files(docs, w):
    """The ConfigMap mounted as the config directory: (mount path, {file name: text})."""
    spec = w["spec"]["template"]["spec"]
    mounts = {m["name"]: m for m in server_container(w)["volumeMounts"]}
    for volume in spec["volumes"]:
        if "configMap" in volume:
            configmap = by_name(docs, "ConfigMap", volume["configMap"]["name"])
            assert configmap, f"ConfigMap {volume['configMap']['name']} is rendered"
            return mounts[volume["name"]]["mountPath"], configmap["data"]
    raise AssertionError("no ConfigMap volume")


def pod_config(docs, w, pod_name):
    """(args with the config path, env, TOML text, parsed TOML) of one pod."""
    container = server_container(w)
    env = pod_env(container, pod_name)
    args = [expand(a, env) for a in container["args"]]
    path = PurePosixPath(args[args.index("--config") + 1])
    mount, files = config_files(docs, w)
    assert str(path.parent) == mount, f"--config {path} is in the ConfigMap mount {mount}"
    assert path.name in files, f"{pod_name}: the ConfigMap has {path.name} (has {sorted(files)})"
    text = files[path.name]
    # `kubectl exec <pod> -- switchboard <command>` has no --config: the pod's variable, else the
    # image's default, must name the same file.
    exec_path = env.get("SWITCHBOARD_CONFIG", image_config_path())
    assert exec_path == str(path), f"{pod_name}: exec'd commands read {exec_path}, the server {path}"
    return args, env, text, tomllib.loads(text)


def binary_accepts(args, env, config_text):
    """Runs the binary with the pod's args and env (`token` instead of `serve`: it loads and
    validates the same config, then exits). Returns (ok, output)."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "switchboard.toml"
        config.write_text(config_text)
        args = list(args)
        args[args.index("--config") + 1] = str(config)
        args = [a for a in args if a != "serve"]
        clean_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env}
        if "SWITCHBOARD_CONFIG" in clean_env:
            clean_env["SWITCHBOARD_CONFIG"] = str(config)
        result = run([BIN, *args, "token", "--room", "r", "--identity", "i"], env=clean_env)
    return result.returncode == 0, result.stdout + result.stderr


@functools.cache
def router_paths():
    source = (ROOT / "server/src/http/mod.rs").read_text()
    return set(re.findall(r'\.route\("([^"]+)"', source))


@functools.cache
def binary_env_names():
    result = run([BIN, "--help"])
    assert result.returncode == 0, result.stderr
    return set(re.findall(r"SWITCHBOARD_[A-Z0-9_]+", result.stdout))


def bind_port(config):
    return int(config["bind"].rsplit(":", 1)[1])


# ---------------------------------------------------------------------------------------------
# Dockerfile


def dockerfile():
    """Instructions of deploy/Dockerfile as (stage, INSTRUCTION, text), ARGs substituted."""
    args, stage, out, pending = {}, None, [], ""
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        text = pending + stripped
        pending = ""
        word, _, rest = text.partition(" ")
        word = word.upper()
        rest = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), rest.strip())
        if word == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
        if word == "FROM":
            parts = rest.split()
            stage = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else "final"
        out.append((stage, word, rest))
    return out


def instruction(word, stage=None):
    return [text for s, w, text in dockerfile() if w == word and (stage is None or s == stage)]


def exec_form(text):
    return yaml.safe_load(text)  # a JSON array is YAML too


class Rendering(unittest.TestCase):
    def test_every_kustomization_renders_and_validates_strictly(self):
        for path in [KUSTOMIZE_ROOT / "base", *DEPLOYABLE]:
            for version in KUBE_VERSIONS:
                with self.subTest(kustomization=path.relative_to(ROOT), version=version):
                    code, output = validate(path, version)
                    self.assertEqual(code, 0, output)
                    self.assertNotIn("ERROR", output)

    def test_broken_manifests_fail_validation_for_the_expected_reason(self):
        cases = {
            "unknown-field": "'readOnlyRootFilesytem' was unexpected",
            "wrong-type": "terminationGracePeriodSeconds: '45s' is not of type 'integer'",
        }
        for case, reason in cases.items():
            for version in KUBE_VERSIONS:
                with self.subTest(case=case, version=version):
                    code, output = validate(BROKEN / case, version)
                    self.assertNotEqual(code, 0, f"tests/deploy/broken/{case} must not validate")
                    self.assertIn(reason, output)

    def test_yamllint_passes_and_catches_a_duplicate_key(self):
        # Relative paths: the config's `ignore` patterns are matched against them.
        result = run([TOOLS / "yamllint", "--strict", "-c", "tests/deploy/yamllint.yaml", "deploy", "tests/deploy"],
                     cwd=ROOT)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        result = run([TOOLS / "yamllint", "-d", "extends: default",
                      BROKEN / "lint/duplicate-key.yaml"])
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("key-duplicates", result.stdout)


def cases():
    """(kustomization, rendered documents, workload) of every deployable kustomization."""
    return [(path, documents(path), workload(documents(path))) for path in DEPLOYABLE]


class Workloads(unittest.TestCase):

    def test_every_resource_is_namespaced_and_labelled(self):
        for path, docs, _ in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                for d in docs:
                    meta = d["metadata"]
                    self.assertEqual(meta["labels"].get("app.kubernetes.io/part-of"), "switchboard", meta)
                    if d["kind"] != "Namespace":
                        self.assertEqual(meta.get("namespace"), NAMESPACE, f"{d['kind']}/{meta['name']}")
                self.assertIsNotNone(by_name(docs, "Namespace", NAMESPACE))

    def test_pods_run_unprivileged_on_a_read_only_root(self):
        for path, docs, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                spec = w["spec"]["template"]["spec"]
                pod, container = spec["securityContext"], server_container(w)
                sc = container["securityContext"]
                self.assertTrue(pod["runAsNonRoot"])
                self.assertNotEqual(pod["runAsUser"], 0)
                self.assertEqual(pod["seccompProfile"]["type"], "RuntimeDefault")
                self.assertIs(sc["allowPrivilegeEscalation"], False)
                self.assertIs(sc["readOnlyRootFilesystem"], True)
                self.assertIs(sc.get("privileged", False), False)
                self.assertEqual(sc["capabilities"]["drop"], ["ALL"])
                for key in ("hostNetwork", "hostPID", "hostIPC"):
                    self.assertFalse(spec.get(key, False), key)
                self.assertIs(spec["automountServiceAccountToken"], False)
                # A Service named switchboard would otherwise inject SWITCHBOARD_PORT & co., the
                # server's own configuration prefix.
                self.assertIs(spec["enableServiceLinks"], False)
                self.assertRegex(container["image"], r"/switchboard:[\w.-]+$", "the overlay names a tagged image")
                for kind in ("requests", "limits"):
                    self.assertTrue({"cpu", "memory"} <= set(container["resources"][kind]), kind)

    def test_probes_use_routes_the_server_has(self):
        expected = {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"}
        for path, _, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                container = server_container(w)
                for probe, path in expected.items():
                    get = container[probe]["httpGet"]
                    self.assertEqual(get["path"], path, probe)
                    self.assertIn(path, router_paths())
                    self.assertEqual(get["port"], "http")
                annotations = w["spec"]["template"]["metadata"]["annotations"]
                self.assertIn(annotations["prometheus.io/path"], router_paths())
                self.assertEqual(int(annotations["prometheus.io/port"]), port(container, "http")["containerPort"])

    def test_config_is_accepted_by_the_binary_and_matches_the_pod(self):
        for path, docs, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                container = server_container(w)
                writable = {m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")}
                for name in ("SWITCHBOARD_BIND", "SWITCHBOARD_UDP_PORT", "SWITCHBOARD_STORE_PATH"):
                    self.assertNotIn(name, pod_env(container, "x"), "the ConfigMap is the one place for it")
                for pod_name in pod_names(w):
                    args, env, text, config = pod_config(docs, w, pod_name)
                    ok, output = binary_accepts(args, env, text)
                    self.assertTrue(ok, f"{pod_name}: the binary rejects its config:\n{output}")
                    self.assertEqual(bind_port(config), port(container, "http")["containerPort"])
                    media = port(container, "media")
                    self.assertEqual((media["containerPort"], media["protocol"]), (config["udp_port"], "UDP"))
                    media_tcp = port(container, "media-tcp")
                    self.assertEqual((media_tcp["containerPort"], media_tcp["protocol"]), (config["tcp_port"], "TCP"))
                    self.assertIn(str(PurePosixPath(config["store_path"]).parent), writable)
                    spec = w["spec"]["template"]["spec"]
                    pre_stop = container["lifecycle"]["preStop"]["sleep"]["seconds"]
                    self.assertGreaterEqual(spec["terminationGracePeriodSeconds"],
                                            pre_stop + config["drain_timeout_s"] + 5,
                                            "the grace period covers preStop, the drain and closing")

    def test_api_credentials_come_from_the_secret(self):
        for path, _, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                env = {v["name"]: v for v in server_container(w)["env"]}
                for name, key in (("SWITCHBOARD_API_KEY", "api-key"), ("SWITCHBOARD_API_SECRET", "api-secret")):
                    ref = env[name]["valueFrom"]["secretKeyRef"]
                    self.assertEqual((ref["name"], ref["key"]), ("switchboard-credentials", key))

    def test_store_volume_is_persistent(self):
        for path, _, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                mounts = server_container(w)["volumeMounts"]
                data = next(m for m in mounts if m["mountPath"] == "/var/lib/switchboard")
                if w["kind"] == "StatefulSet":
                    claims = [t["metadata"]["name"] for t in w["spec"]["volumeClaimTemplates"]]
                    self.assertIn(data["name"], claims)
                else:
                    volume = next(v for v in w["spec"]["template"]["spec"]["volumes"] if v["name"] == data["name"])
                    self.assertIn("persistentVolumeClaim", volume)
                    self.assertEqual(w["spec"]["strategy"]["type"], "Recreate", "one SQLite writer at a time")

    def test_every_env_name_is_known_to_the_binary(self):
        used = set(re.findall(r"SWITCHBOARD_[A-Z0-9_]+", (DEPLOY / "Dockerfile").read_text()))
        for path, _, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                used |= {v["name"] for v in server_container(w)["env"] if v["name"].startswith("SWITCHBOARD_")}
        self.assertLessEqual(used, binary_env_names())

    def test_disruption_budget_only_with_several_replicas(self):
        for path, docs, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                budgets = of_kind(docs, "PodDisruptionBudget")
                if w["spec"]["replicas"] > 1:
                    self.assertEqual(len(budgets), 1)
                    self.assertTrue(labels_match(budgets[0]["spec"]["selector"]["matchLabels"],
                                                 w["spec"]["template"]["metadata"]["labels"]))
                else:
                    self.assertEqual(budgets, [])
        self.assertEqual(workload(documents(KUSTOMIZE_ROOT / "overlays/hostport"))["spec"]["replicas"], 1)

    def test_services_ingress_and_network_policy_reach_the_pods(self):
        for path, docs, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                container = server_container(w)
                pod_labels = w["spec"]["template"]["metadata"]["labels"]
                names = {p["name"]: p for p in container["ports"]}
                services = {s["metadata"]["name"]: s for s in of_kind(docs, "Service")}
                for service in services.values():
                    selector = dict(service["spec"]["selector"])
                    pod = selector.pop("statefulset.kubernetes.io/pod-name", None)
                    self.assertTrue(labels_match(selector, pod_labels), service["metadata"]["name"])
                    if pod is not None:
                        self.assertIn(pod, pod_names(w))
                    for p in service["spec"]["ports"]:
                        self.assertEqual(p["protocol"], names[p["targetPort"]]["protocol"])
                for ingress in of_kind(docs, "Ingress"):
                    tls_hosts = {h for t in ingress["spec"]["tls"] for h in t["hosts"]}
                    for rule in ingress["spec"]["rules"]:
                        self.assertIn(rule["host"], tls_hosts, "browsers need https for camera and microphone")
                        for route in rule["http"]["paths"]:
                            backend = route["backend"]["service"]
                            target = services[backend["name"]]
                            self.assertIn(backend["port"]["name"], {p["name"] for p in target["spec"]["ports"]})
                (policy,) = of_kind(docs, "NetworkPolicy")
                self.assertTrue(labels_match(policy["spec"]["podSelector"]["matchLabels"], pod_labels))
                allowed = {(p["port"], p["protocol"]): rule
                           for rule in policy["spec"]["ingress"] for p in rule["ports"]}
                self.assertIn(("http", "TCP"), allowed)
                for name, protocol in (("media", "UDP"), ("media-tcp", "TCP")):
                    media_from = [f.get("ipBlock", {}).get("cidr") for f in allowed[(name, protocol)]["from"]]
                    self.assertIn("0.0.0.0/0", media_from, f"clients send media ({protocol}) from anywhere")

    def test_media_is_exposed_as_the_overlay_says(self):
        for path, docs, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                container = server_container(w)
                media = port(container, "media")
                env = {v["name"]: v for v in container["env"]}
                namespace = by_name(docs, "Namespace", NAMESPACE)["metadata"]["labels"]
                if "hostPort" in media:
                    # (a) hostPort: the node's address, one pod per node.
                    self.assertEqual(media["hostPort"], media["containerPort"], "clients are told this port")
                    media_tcp = port(container, "media-tcp")
                    self.assertEqual(media_tcp.get("hostPort"), media_tcp["containerPort"], "and this one")
                    advertised = env["SWITCHBOARD_PUBLIC_IP"]["valueFrom"]["fieldRef"]["fieldPath"]
                    self.assertEqual(advertised, "status.hostIP")
                    anti = w["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
                    pod_labels = w["spec"]["template"]["metadata"]["labels"]
                    self.assertTrue(any(
                        t["topologyKey"] == "kubernetes.io/hostname"
                        and labels_match(t["labelSelector"]["matchLabels"], pod_labels)
                        for t in anti["requiredDuringSchedulingIgnoredDuringExecution"]))
                    self.assertEqual(namespace["pod-security.kubernetes.io/enforce"], "privileged",
                                     "Pod Security admission refuses hostPort below privileged")
                else:
                    self.assertEqual(namespace["pod-security.kubernetes.io/enforce"], "restricted")
                if w["kind"] == "StatefulSet":
                    # (b) one UDP LoadBalancer per pod, its address in that pod's config file.
                    self.assertNotIn("SWITCHBOARD_PUBLIC_IP", env, "it would override public_ip of the file")
                    addresses = []
                    for pod_name in pod_names(w):
                        _, _, _, config = pod_config(docs, w, pod_name)
                        self.assertEqual(len(config["public_ip"]), 1, pod_name)
                        addresses.append(ipaddress.ip_address(config["public_ip"][0]))
                        balancers = [
                            s for s in of_kind(docs, "Service")
                            if s["spec"].get("type") == "LoadBalancer"
                            and s["spec"]["selector"].get("statefulset.kubernetes.io/pod-name") == pod_name]
                        self.assertEqual(len(balancers), 1, pod_name)
                        ports = {(p["port"], p["protocol"], p["targetPort"]) for p in balancers[0]["spec"]["ports"]}
                        self.assertEqual(ports, {(config["udp_port"], "UDP", "media"),
                                                 (config["tcp_port"], "TCP", "media-tcp")})
                        self.assertEqual(balancers[0]["spec"]["externalTrafficPolicy"], "Local")
                    self.assertEqual(len(set(addresses)), len(addresses), "each pod advertises its own address")

    def test_pod_monitor_scrapes_metrics_of_every_pod(self):
        monitors = 0
        for path, docs, w in cases():
            with self.subTest(kustomization=str(path.relative_to(ROOT))):
                for monitor in of_kind(docs, "PodMonitor"):
                    monitors += 1
                    self.assertTrue(labels_match(monitor["spec"]["selector"]["matchLabels"],
                                                 w["spec"]["template"]["metadata"]["labels"]))
                    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
                    self.assertEqual(endpoint["port"], "http")
                    self.assertIn(endpoint["path"], router_paths())
        self.assertGreater(monitors, 0, "a fixture renders the podmonitor component")

    def test_builtin_tls_component_switches_the_server_and_probes_to_https(self):
        for path in FIXTURES:
            with self.subTest(fixture=path.name):
                docs = documents(path)
                w = workload(docs)
                container = server_container(w)
                env = {v["name"]: v.get("value") for v in container["env"]}
                mounts = {m["mountPath"] for m in container["volumeMounts"]}
                for name in ("SWITCHBOARD_TLS_CERT", "SWITCHBOARD_TLS_KEY"):
                    self.assertIn(str(PurePosixPath(env[name]).parent), mounts)
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    self.assertEqual(container[probe]["httpGet"]["scheme"], "HTTPS")
                (ingress,) = of_kind(docs, "Ingress")
                self.assertEqual(ingress["metadata"]["annotations"]["nginx.ingress.kubernetes.io/backend-protocol"],
                                 "HTTPS")

    def test_unknown_config_key_is_rejected_by_the_binary(self):
        docs = documents(BROKEN / "unknown-config-key")
        self.assertEqual(validate(BROKEN / "unknown-config-key", KUBE_VERSIONS[-1])[0], 0,
                         "valid Kubernetes: only the server can tell")
        w = workload(docs)
        args, env, text, _ = pod_config(docs, w, pod_names(w)[0])
        ok, output = binary_accepts(args, env, text)
        self.assertFalse(ok)
        self.assertIn("unknown field `udp_prot`", output)


def image_config_path():
    """SWITCHBOARD_CONFIG of the image: where the binary looks without --config."""
    (path,) = [text.split("=", 1)[1] for text in instruction("ENV", "final")
               if text.startswith("SWITCHBOARD_CONFIG=")]
    return path


class Dockerfile(unittest.TestCase):

    def test_builds_and_runs_the_binary_the_workspace_defines(self):
        manifest = tomllib.loads((ROOT / "server/Cargo.toml").read_text())
        package, (binary,) = manifest["package"]["name"], [b["name"] for b in manifest["bin"]]
        build = " ".join(instruction("RUN", "build"))
        self.assertIn(f"cargo build --release --locked -p {package}", build)
        self.assertIn(f"target/release/{binary} /out/{binary}", build)
        self.assertIn(f"/out/{binary} /usr/local/bin/{binary}", instruction("COPY", "final")[0])
        self.assertEqual(exec_form(instruction("ENTRYPOINT")[0]), [f"/usr/local/bin/{binary}"])
        self.assertEqual(exec_form(instruction("CMD")[0]), ["serve"])
        # The builder's Rust is at least the workspace's rust-version.
        workspace = tomllib.loads((ROOT / "Cargo.toml").read_text())
        needed = tuple(int(x) for x in workspace["workspace"]["package"]["rust-version"].split("."))
        (base,) = instruction("FROM", "build")
        have = tuple(int(x) for x in re.match(r"rust:(\d+\.\d+)", base).group(1).split("."))
        self.assertGreaterEqual(have, needed[:2])

    def test_image_config_is_accepted_and_matches_ports_volume_and_healthcheck(self):
        copied = [text.split() for text in instruction("COPY", "final")]
        self.assertIn(["deploy/switchboard.toml", image_config_path()], copied)
        text = (DEPLOY / "switchboard.toml").read_text()
        credentials = {"SWITCHBOARD_API_KEY": FAKE_SECRET["api-key"],
                       "SWITCHBOARD_API_SECRET": FAKE_SECRET["api-secret"]}
        ok, output = binary_accepts(["--config", "x"], credentials, text)
        self.assertTrue(ok, output)
        config = tomllib.loads(text)
        exposed = set(" ".join(instruction("EXPOSE")).split())
        self.assertEqual(exposed, {f"{bind_port(config)}/tcp", f"{config['udp_port']}/udp", f"{config['tcp_port']}/tcp"})
        store = str(PurePosixPath(config["store_path"]).parent)
        self.assertIn(store, exec_form(instruction("VOLUME")[0]))
        uid, gid = instruction("USER")[0].split(":")
        self.assertIn(f"install -d -o {uid} -g {gid} -m 0750 {store}", " ".join(instruction("RUN", "final")))
        (healthcheck,) = instruction("HEALTHCHECK")
        for url in re.findall(r"https?://\S+", healthcheck):
            self.assertRegex(url, rf"^https?://127\.0\.0\.1:{bind_port(config)}/healthz$")
        self.assertIn("/healthz", router_paths())

    def test_image_and_cluster_agree_on_user_ports_and_paths(self):
        uid, gid = (int(x) for x in instruction("USER")[0].split(":"))
        self.assertNotEqual(uid, 0)
        image = tomllib.loads((DEPLOY / "switchboard.toml").read_text())
        for path in DEPLOYABLE:
            with self.subTest(kustomization=path.relative_to(ROOT)):
                docs = documents(path)
                w = workload(docs)
                pod = w["spec"]["template"]["spec"]["securityContext"]
                self.assertEqual((pod["runAsUser"], pod["runAsGroup"], pod["fsGroup"]), (uid, gid, gid))
                for pod_name in pod_names(w):
                    _, _, _, cluster = pod_config(docs, w, pod_name)
                    for key in ("bind", "udp_bind", "udp_port", "tcp_port", "store_path", "drain_timeout_s"):
                        self.assertEqual(cluster[key], image[key], key)
        base = workload(documents(KUSTOMIZE_ROOT / "base"))
        args = server_container(base)["args"]
        self.assertEqual(args[args.index("--config") + 1], image_config_path())

    def test_build_context_leaves_out_build_output(self):
        ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
        self.assertIn("target", ignored)
        self.assertIn(".git", ignored)


if __name__ == "__main__":
    unittest.main()
