#!/usr/bin/env python3
"""Runs the real fleet binary the way the rendered manifests run it, without a cluster.

For every Deployment and Job: the container's args, the ConfigMap's settings (envFrom),
a generated JWT secret in place of the Secret, then the kubelet's part: the startup,
liveness and readiness probes on the ports the manifests name, /metrics on the port the
Prometheus annotation names (and, for the worker, the series its KEDA query reads), the
API through its Service's target port, and SIGTERM: the process must exit within the
grace period left after the preStop pause. A Job must complete.

What differs from a cluster, so it can run on one machine: every listener is on
127.0.0.1 and each port is moved to a free one (the setting whose value is the
container port is rewritten), each process has its own data folder, and the database is
SQLite (no PostgreSQL or Redis URL: those come from the Secret).
"""
import argparse
import base64
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path, timeout=2.0):
    if port is None:
        return None, ""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")
    except (OSError, urllib.error.URLError):
        return None, ""


class Smoke:
    def __init__(self, binary, objects, scratch):
        self.binary = binary
        self.scratch = scratch
        self.failures = []
        self.by_kind = {}
        for obj in objects:
            self.by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")
        print(f"    FAIL {message}")

    def environment(self, name, container):
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLEET_")}
        for ref in container.get("envFrom", []):
            if "configMapRef" in ref:
                env.update({k: str(v) for k, v in self.by_kind["ConfigMap"][ref["configMapRef"]["name"]]["data"].items()})
        ports = {}
        for port in container.get("ports", []):
            settings = [k for k, v in env.items() if k.startswith("FLEET_") and k.endswith("_PORT") and v == str(port["containerPort"])]
            if not settings:
                self.fail(name, f"no setting in the ConfigMap puts a listener on container port {port['containerPort']}")
                continue
            ports[port["containerPort"]] = free_port()
            for setting in settings:
                env[setting] = str(ports[port["containerPort"]])
        for key in [k for k in env if k.startswith("FLEET_") and k.endswith("_HOST")]:
            env[key] = "127.0.0.1"
        env["FLEET_DATA_DIR"] = tempfile.mkdtemp(prefix=f"{name}-", dir=self.scratch)
        env["FLEET_AUTH_JWT_SECRET"] = base64.b64encode(os.urandom(48)).decode()
        env["FLEET_AUTH_BCRYPT_COST"] = "4"
        return env, ports

    @staticmethod
    def port_of(container, ports, port):
        if isinstance(port, str):
            port = next(p["containerPort"] for p in container["ports"] if p.get("name") == port)
        return ports.get(port)

    def start(self, name, container, env):
        log = open(os.path.join(env["FLEET_DATA_DIR"], "log"), "w")
        return subprocess.Popen([self.binary] + container.get("args", []), env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True), log.name

    def deployment(self, deployment):
        name = deployment["metadata"]["name"]
        spec = deployment["spec"]["template"]["spec"]
        container = spec["containers"][0]
        print(f"  {name}: fleet {' '.join(container.get('args', []))}")
        env, ports = self.environment(name, container)
        process, log = self.start(name, container, env)
        try:
            startup = container["startupProbe"]
            deadline = time.monotonic() + min(60, startup.get("failureThreshold", 3) * startup.get("periodSeconds", 10))
            port = self.port_of(container, ports, startup["httpGet"]["port"])
            while time.monotonic() < deadline and process.poll() is None:
                if get(port, startup["httpGet"]["path"])[0] == 200:
                    break
                time.sleep(0.2)
            else:
                self.fail(name, f"startupProbe {startup['httpGet']['path']} on port {startup['httpGet']['port']} never passed "
                                f"(exit code {process.poll()}; log {log})")
                return
            for probe in ("livenessProbe", "readinessProbe"):
                http = container[probe]["httpGet"]
                status = get(self.port_of(container, ports, http["port"]), http["path"])[0]
                if status != 200:
                    self.fail(name, f"{probe} {http['path']} on port {http['port']} answered {status}")
                else:
                    print(f"    {probe} {http['path']} on {http['port']}: 200")
            annotations = deployment["spec"]["template"]["metadata"].get("annotations", {})
            if annotations.get("prometheus.io/scrape") == "true":
                metrics_port = ports.get(int(annotations["prometheus.io/port"]))
                status, body = get(metrics_port, annotations.get("prometheus.io/path", "/metrics"))
                if metrics_port is None:
                    self.fail(name, f"the annotated metrics port {annotations['prometheus.io/port']} is not a container port")
                elif status != 200:
                    self.fail(name, f"/metrics on the annotated port {annotations['prometheus.io/port']} answered {status}")
                else:
                    print(f"    /metrics on {annotations['prometheus.io/port']}: 200")
                    for so in self.by_kind.get("ScaledObject", {}).values():
                        if so["spec"]["scaleTargetRef"]["name"] != name:
                            continue
                        for trigger in so["spec"]["triggers"]:
                            for metric in sorted(set(re.findall(r"\b([a-z_][a-z0-9_]*)\s*\{", trigger["metadata"].get("query", "")))):
                                if not re.search(rf"^{metric}\{{", body, re.M):
                                    self.fail(name, f"/metrics has no {metric}, which {so['kind']}/{so['metadata']['name']} queries")
                                else:
                                    print(f"    {metric} is exported (queried by {so['kind']}/{so['metadata']['name']})")
            for service in self.by_kind.get("Service", {}).values():
                labels = deployment["spec"]["template"]["metadata"]["labels"]
                if all(labels.get(k) == v for k, v in service["spec"]["selector"].items()):
                    for port in service["spec"]["ports"]:
                        target = self.port_of(container, ports, port["targetPort"])
                        # The API answers a Conduit request there; the others their health.
                        path = "/api/tags" if container.get("args", ["serve"])[0] == "serve" else "/health/live"
                        status = get(target, path)[0]
                        if status != 200:
                            self.fail(name, f"Service {service['metadata']['name']} port {port['name']}: {path} answered {status}")
                        else:
                            print(f"    Service {service['metadata']['name']}:{port['port']} -> {path}: 200")
            grace = spec.get("terminationGracePeriodSeconds", 30)
            pre_stop = container.get("lifecycle", {}).get("preStop", {})
            pause = int(pre_stop["exec"]["command"][1]) if "exec" in pre_stop else pre_stop.get("sleep", {}).get("seconds", 0)
            started = time.monotonic()
            os.killpg(process.pid, signal.SIGTERM)
            try:
                code = process.wait(timeout=grace - pause)
                took = time.monotonic() - started
                if code != 0:
                    self.fail(name, f"exited with {code} after SIGTERM (log {log})")
                else:
                    print(f"    SIGTERM: exited 0 in {took:.1f} s (budget {grace - pause} s = grace {grace} - preStop {pause})")
            except subprocess.TimeoutExpired:
                self.fail(name, f"still running {grace - pause} s after SIGTERM: the kubelet would SIGKILL it")
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def job(self, job):
        name = job["metadata"]["name"]
        container = job["spec"]["template"]["spec"]["containers"][0]
        print(f"  {name}: fleet {' '.join(container.get('args', []))}")
        env, _ = self.environment(name, container)
        process, log = self.start(name, container, env)
        try:
            code = process.wait(timeout=min(120, job["spec"].get("activeDeadlineSeconds", 120)))
            if code != 0:
                self.fail(name, f"exited with {code} (log {log})")
            else:
                print("    completed (exit 0)")
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            self.fail(name, "did not complete")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", required=True)
    parser.add_argument("rendered")
    args = parser.parse_args()
    with open(args.rendered) as f:
        objects = [doc for doc in yaml.safe_load_all(f) if doc]
    with tempfile.TemporaryDirectory(prefix="fleet-k8s-smoke-") as scratch:
        smoke = Smoke(args.binary, objects, scratch)
        for job in smoke.by_kind.get("Job", {}).values():
            smoke.job(job)
        for deployment in smoke.by_kind.get("Deployment", {}).values():
            smoke.deployment(deployment)
        if smoke.failures:
            for failure in smoke.failures:
                print(f"FAIL {failure}")
            # Keep the logs the failures point at.
            kept = tempfile.mkdtemp(prefix="fleet-k8s-smoke-logs-")
            subprocess.run(["cp", "-r", scratch + "/.", kept], check=False)
            print(f"logs kept in {kept}")
            return 1
    print("the binary serves every probe, port and metric the manifests name, and drains in time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
