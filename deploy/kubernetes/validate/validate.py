#!/usr/bin/env python3
"""Validates Fleet's rendered Kubernetes manifests (scripts/k8s-check.sh runs it).

1. Schemas. Every object against the Kubernetes OpenAPI schemas that kubernetes-validate
   ships, in strict mode (unknown fields are errors), for each --kubernetes-version. A kind
   those schemas do not know is an error (the kubernetes-validate command only warns),
   unless a --crd-schema covers it: KEDA's ScaledObject has one beside this file.
2. Fleet's rules, which no schema expresses: references resolve (ConfigMaps, Secret keys,
   Service and autoscaler targets, probe ports), selectors match the pods they mean,
   autoscaled Deployments leave `replicas` alone, every container is non-root with a
   read-only root, requests and limits, the pods drain (probes, preStop pause shorter than
   the grace period), the API's HPA is the blueprint's, and the Secret in git holds
   placeholders only.
3. --compare A B: two renderings (kustomize v2 and a current one) hold the same objects,
   but for the hash suffix of generated ConfigMaps.

Exits 1 on any failure, printing each; prints a summary either way.
"""
import argparse
import json
import pathlib
import re
import sys

import jsonschema
import kubernetes_validate
import yaml
from kubernetes_validate import utils as kv
from referencing import Registry, Resource

PLACEHOLDER = "REPLACE_ME"
# Kubernetes' resource.Quantity (the OpenAPI schemas only say "string").
QUANTITY = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
WORKLOADS = ("Deployment", "Job")


class Report:
    def __init__(self):
        self.failures = []

    def fail(self, where, message):
        self.failures.append(f"{where}: {message}")


def load(path):
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def ident(obj):
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


# --- 1. schemas ---------------------------------------------------------------------

def definitions_registry(version):
    """Kubernetes' own definitions for `version`, so CRD schemas can refer to them."""
    known = [v for v in kv.all_versions() if kv.major_minor(v) <= kv.major_minor(version)]
    if not known:
        raise SystemExit(f"kubernetes-validate {kubernetes_validate.__version__} has no schemas for {version}")
    directory = f"kubernetes-json-schema/v{known[-1]}-local-strict"
    definitions = kv.schema_contents(f"{directory}/_definitions.json", version)
    return Registry().with_resource(definitions["$id"], Resource.from_contents(definitions))


def check_schemas(objects, source, versions, crd_schemas, report):
    for version in versions:
        registry = definitions_registry(version)
        for obj in objects:
            where = f"{source} {ident(obj)} (Kubernetes {version})"
            crd = crd_schemas.get((obj.get("apiVersion"), obj.get("kind")))
            if crd is not None:
                validator = jsonschema.Draft202012Validator(crd, registry=registry)
                for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.path)):
                    path = ".".join(str(p) for p in error.path)
                    report.fail(where, f"{path}: {error.message}")
                continue
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                path = ".".join(str(p) for p in error.path)
                report.fail(where, f"{path}: {error.message}")
            except kubernetes_validate.SchemaNotFoundError as error:
                report.fail(where, error.message + " (no CRD schema given for it either)")


# --- 2. Fleet's rules ---------------------------------------------------------------

def pod_spec(obj):
    return obj.get("spec", {}).get("template", {}).get("spec", {})


def pod_labels(obj):
    return obj.get("spec", {}).get("template", {}).get("metadata", {}).get("labels", {}) or {}


def matches(selector, labels):
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_rules(objects, source, secret_keys, report):
    by_kind = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    deployments = by_kind.get("Deployment", {})
    configmaps = by_kind.get("ConfigMap", {})
    secrets = by_kind.get("Secret", {})

    namespaces = {obj["metadata"].get("namespace") for obj in objects if obj["kind"] != "Namespace"}
    if len(namespaces) > 1:
        report.fail(source, f"objects in several namespaces: {sorted(map(str, namespaces))}")

    # What scales what.
    scaled = {}
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        scaled.setdefault(hpa["spec"]["scaleTargetRef"]["name"], []).append(ident(hpa))
    for so in by_kind.get("ScaledObject", {}).values():
        scaled.setdefault(so["spec"]["scaleTargetRef"]["name"], []).append(ident(so))
    for target, owners in scaled.items():
        if target not in deployments:
            report.fail(source, f"{', '.join(owners)} scales Deployment/{target}, which is not rendered")
        if len(owners) > 1:
            report.fail(source, f"Deployment/{target} has several autoscalers: {owners}")

    for obj in objects:
        if obj["kind"] not in WORKLOADS:
            continue
        where = f"{source} {ident(obj)}"
        spec = pod_spec(obj)
        labels = pod_labels(obj)
        if obj["kind"] == "Deployment":
            if not matches(obj["spec"]["selector"].get("matchLabels"), labels):
                report.fail(where, "selector does not match the pod template's labels")
            if "replicas" in obj["spec"] and obj["metadata"]["name"] in scaled:
                report.fail(where, "sets replicas although an autoscaler owns the count (apply would reset it)")
            if obj["metadata"]["name"] not in scaled:
                report.fail(where, "has no HorizontalPodAutoscaler or ScaledObject")
            if not any(matches(p["spec"].get("selector", {}).get("matchLabels"), labels)
                       for p in by_kind.get("PodDisruptionBudget", {}).values()):
                report.fail(where, "has no PodDisruptionBudget")
            for constraint in spec.get("topologySpreadConstraints", []) or [None]:
                if constraint is None:
                    report.fail(where, "has no topologySpreadConstraints")
                elif not matches(constraint.get("labelSelector", {}).get("matchLabels"), labels):
                    report.fail(where, f"spread over {constraint.get('topologyKey')} selects other pods")
        if spec.get("enableServiceLinks") is not False:
            report.fail(where, "enableServiceLinks must be false (Service env vars would land in FLEET_*)")
        if spec.get("automountServiceAccountToken") is not False:
            report.fail(where, "mounts a service account token it does not need")
        pod_security = spec.get("securityContext", {})
        if pod_security.get("runAsNonRoot") is not True or not pod_security.get("runAsUser"):
            report.fail(where, "pod must set runAsNonRoot: true and a non-zero runAsUser")
        if pod_security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            report.fail(where, "pod must use the RuntimeDefault seccomp profile")
        grace = spec.get("terminationGracePeriodSeconds", 30)
        volumes = {v["name"] for v in spec.get("volumes", [])}
        for container in spec.get("containers", []):
            cwhere = f"{where} container {container['name']}"
            security = container.get("securityContext", {})
            if security.get("readOnlyRootFilesystem") is not True:
                report.fail(cwhere, "root filesystem must be read-only")
            if security.get("allowPrivilegeEscalation") is not False:
                report.fail(cwhere, "allowPrivilegeEscalation must be false")
            if "ALL" not in security.get("capabilities", {}).get("drop", []):
                report.fail(cwhere, "must drop ALL capabilities")
            image = container.get("image", "")
            if not image or image.endswith(":latest") or (":" not in image.rsplit("/", 1)[-1] and "@" not in image):
                report.fail(cwhere, f"image {image!r} must carry a tag or digest (not latest)")
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    if resource not in resources.get(kind, {}):
                        report.fail(cwhere, f"no {kind}.{resource}")
                for resource, value in resources.get(kind, {}).items():
                    if not QUANTITY.match(str(value)):
                        report.fail(cwhere, f"{kind}.{resource}: {value!r} is not a quantity")
            if resources.get("limits", {}).get("memory") != resources.get("requests", {}).get("memory"):
                report.fail(cwhere, "memory limit should equal the request (no overcommit, no surprise OOM kill)")
            for mount in container.get("volumeMounts", []):
                if mount["name"] not in volumes:
                    report.fail(cwhere, f"mounts volume {mount['name']!r}, which the pod does not define")
            if not any(m.get("mountPath") == "/var/lib/fleet" for m in container.get("volumeMounts", [])):
                report.fail(cwhere, "needs a writable data.dir (/var/lib/fleet): Fleet creates it on every topology")
            for ref in container.get("envFrom", []):
                if "configMapRef" in ref and ref["configMapRef"]["name"] not in configmaps:
                    report.fail(cwhere, f"envFrom ConfigMap {ref['configMapRef']['name']!r} is not rendered")
                if "secretRef" in ref and ref["secretRef"]["name"] not in secrets and secret_keys is None:
                    report.fail(cwhere, f"envFrom Secret {ref['secretRef']['name']!r} is neither rendered nor given")
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    keys = secret_keys.get(ref["name"]) if secret_keys else None
                    if ref["name"] in secrets:
                        keys = set((secrets[ref["name"]].get("stringData") or {}).keys()) | set((secrets[ref["name"]].get("data") or {}).keys())
                    if keys is None:
                        report.fail(cwhere, f"Secret {ref['name']!r} is neither rendered nor given")
                    elif ref["key"] not in keys:
                        report.fail(cwhere, f"Secret {ref['name']!r} has no key {ref['key']!r} (secret.example.yaml lists the keys)")
            ports = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
            annotations = obj["spec"]["template"].get("metadata", {}).get("annotations") or {}
            if "prometheus.io/port" in annotations and int(annotations["prometheus.io/port"]) not in ports.values():
                report.fail(cwhere, f"prometheus.io/port {annotations['prometheus.io/port']} is not one of its ports")
            if obj["kind"] == "Deployment":
                for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                    spec_probe = container.get(probe)
                    if not spec_probe:
                        report.fail(cwhere, f"no {probe}")
                        continue
                    port = spec_probe.get("httpGet", {}).get("port")
                    if isinstance(port, str) and port not in ports:
                        report.fail(cwhere, f"{probe} uses port {port!r}, which the container does not name")
                pre_stop = container.get("lifecycle", {}).get("preStop", {})
                pause = pre_stop.get("sleep", {}).get("seconds")
                command = pre_stop.get("exec", {}).get("command", [])
                if command and command[0].endswith("sleep"):
                    pause = int(command[1])
                if pause is not None and pause >= grace:
                    report.fail(cwhere, f"preStop pause ({pause} s) leaves nothing of the grace period ({grace} s)")
                served = any(matches(s["spec"].get("selector"), labels) for s in by_kind.get("Service", {}).values())
                if served and not pause:
                    report.fail(cwhere, "serves a Service but has no preStop pause (endpoints must drain before SIGTERM)")

    for service in by_kind.get("Service", {}).values():
        where = f"{source} {ident(service)}"
        targets = [d for d in deployments.values() if matches(service["spec"].get("selector"), pod_labels(d))]
        if len(targets) != 1:
            report.fail(where, f"selects {len(targets)} Deployments, not one")
            continue
        names = {p.get("name") for c in pod_spec(targets[0])["containers"] for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            if isinstance(port.get("targetPort"), str) and port["targetPort"] not in names:
                report.fail(where, f"targetPort {port['targetPort']!r} is not a named port of {ident(targets[0])}")
        if any(p.get("targetPort") in ("admin", 9464) for p in service["spec"]["ports"]):
            report.fail(where, "exposes the admin listener")

    for pdb in by_kind.get("PodDisruptionBudget", {}).values():
        selector = pdb["spec"].get("selector", {}).get("matchLabels")
        if not any(matches(selector, pod_labels(d)) for d in deployments.values()):
            report.fail(f"{source} {ident(pdb)}", "selects no Deployment's pods")

    for so in by_kind.get("ScaledObject", {}).values():
        where = f"{source} {ident(so)}"
        fallback = so["spec"].get("fallback")
        lo, hi = so["spec"].get("minReplicaCount", 0), so["spec"].get("maxReplicaCount", 100)
        if lo > hi:
            report.fail(where, f"minReplicaCount {lo} > maxReplicaCount {hi}")
        if fallback and not lo <= fallback["replicas"] <= hi:
            report.fail(where, "fallback replicas outside min..max")
        for trigger in so["spec"]["triggers"]:
            if fallback and trigger.get("metricType", "AverageValue") != "AverageValue":
                report.fail(where, f"trigger {trigger.get('name')}: KEDA's fallback works only with AverageValue")

    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        where = f"{source} {ident(hpa)}"
        spec = hpa["spec"]
        if spec.get("minReplicas", 1) > spec["maxReplicas"]:
            report.fail(where, "minReplicas > maxReplicas")
        if "stabilizationWindowSeconds" not in spec.get("behavior", {}).get("scaleDown", {}):
            report.fail(where, "no scale-down stabilisation window")
        if spec["scaleTargetRef"]["name"] == "fleet-api":
            # The blueprint's numbers (issue 12): CPU 70 %, memory 80 %, 3 to 50 pods.
            targets = {m["resource"]["name"]: m["resource"]["target"].get("averageUtilization")
                       for m in spec.get("metrics", []) if m["type"] == "Resource"}
            if (spec.get("minReplicas"), spec["maxReplicas"], targets) != (3, 50, {"cpu": 70, "memory": 80}):
                report.fail(where, f"expected 3..50 pods on cpu 70 % and memory 80 %, found "
                                   f"{spec.get('minReplicas')}..{spec['maxReplicas']} on {targets}")


def check_secret_example(objects, source, report):
    keys = {}
    for obj in objects:
        if obj["kind"] != "Secret":
            report.fail(source, f"{ident(obj)}: only Secrets belong in the example")
            continue
        values = dict(obj.get("stringData") or {})
        if obj.get("data"):
            report.fail(f"{source} {ident(obj)}", "use stringData with placeholders, not data")
        for key, value in values.items():
            if PLACEHOLDER not in str(value):
                report.fail(f"{source} {ident(obj)}", f"{key} is not a placeholder (must contain {PLACEHOLDER})")
        keys[obj["metadata"]["name"]] = set(values)
    return keys


def check_metric_names(objects, source, sources_dir, report):
    """The metrics a ScaledObject queries must be ones Fleet exports (swift-metrics labels
    such as "fleet.jobs.ready" become fleet_jobs_ready in Prometheus)."""
    if sources_dir is None:
        return
    exported = set()
    for path in pathlib.Path(sources_dir).rglob("*.swift"):
        for label in re.findall(r'label:\s*"([a-z0-9_.]+)"', path.read_text(errors="replace")):
            exported.add(label.replace(".", "_"))
    for so in (o for o in objects if o["kind"] == "ScaledObject"):
        for trigger in so["spec"]["triggers"]:
            for name in re.findall(r"\b(fleet_[a-z0-9_]+)\s*[{(]", trigger["metadata"].get("query", "")):
                if name not in exported:
                    report.fail(f"{source} {ident(so)}", f"queries {name}, which no Fleet source exports")


# --- 3. comparing renderings --------------------------------------------------------

def normalized(objects):
    hashed = re.compile(r"\b(fleet-config)-[a-z0-9]{10}\b")

    def scrub(value):
        if isinstance(value, dict):
            return {k: scrub(v) for k, v in value.items() if v not in ({}, None)}
        if isinstance(value, list):
            return [scrub(v) for v in value]
        if isinstance(value, str):
            return hashed.sub(r"\1-HASH", value)
        return value

    return {ident(scrub(o)) + "@" + str(o["metadata"].get("namespace")): scrub(o) for o in objects}


def compare(path_a, path_b, report):
    a, b = normalized(load(path_a)), normalized(load(path_b))
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            report.fail(f"{path_a} vs {path_b}", f"{key} is only in {'the second' if key not in a else 'the first'}")
        elif a[key] != b[key]:
            report.fail(f"{path_a} vs {path_b}", f"{key} differs:\n  {json.dumps(a[key], sort_keys=True)[:300]}\n  {json.dumps(b[key], sort_keys=True)[:300]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kubernetes-version", action="append", required=True)
    parser.add_argument("--crd-schema", action="append", default=[])
    parser.add_argument("--secret-example")
    parser.add_argument("--sources", help="Fleet's Sources/ folder, to check queried metric names")
    parser.add_argument("--compare", nargs=2, action="append", default=[], metavar=("A", "B"))
    parser.add_argument("rendered", nargs="*", help="rendered manifest files")
    args = parser.parse_args()

    report = Report()
    crd_schemas = {}
    for path in args.crd_schema:
        schema = json.loads(pathlib.Path(path).read_text())
        props = schema["properties"]
        crd_schemas[(props["apiVersion"]["const"], props["kind"]["const"])] = schema

    secret_keys = None
    if args.secret_example:
        example = load(args.secret_example)
        check_schemas(example, args.secret_example, args.kubernetes_version, crd_schemas, report)
        secret_keys = check_secret_example(example, args.secret_example, report)

    for path in args.rendered:
        objects = load(path)
        before = len(report.failures)
        check_schemas(objects, path, args.kubernetes_version, crd_schemas, report)
        try:
            check_rules(objects, path, secret_keys, report)
            check_metric_names(objects, path, args.sources, report)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
            # Only reachable when the objects are malformed, which the schemas report.
            report.fail(path, f"Fleet's rules could not run on malformed objects ({error!r})")
        kinds = {}
        for obj in objects:
            kinds[obj["kind"]] = kinds.get(obj["kind"], 0) + 1
        verdict = "ok" if len(report.failures) == before else f"{len(report.failures) - before} problem(s)"
        print(f"  {path}: {len(objects)} objects "
              f"({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}): {verdict}")

    for a, b in args.compare:
        before = len(report.failures)
        compare(a, b, report)
        print(f"  {a} = {b}: {'same objects' if len(report.failures) == before else 'DIFFERENT'}")

    for failure in report.failures:
        print(f"FAIL {failure}")
    versions = ", ".join(args.kubernetes_version)
    print(f"kubernetes-validate {kubernetes_validate.__version__}, strict, Kubernetes {versions}: "
          f"{'all valid' if not report.failures else f'{len(report.failures)} failure(s)'}")
    return 1 if report.failures else 0


if __name__ == "__main__":
    sys.exit(main())
