"""Checks the Airflow DAG file without Airflow installed.

The file is imported as Airflow's DAG processor would, against stand-in
Airflow modules (scripts/airflow_stubs.py) laid out as Airflow 2, 3.0/3.1 and
3.2+ lay them out, with and without the cncf.kubernetes provider; then each
task's templated fields are rendered with Jinja2, as Airflow renders them, for
a scheduled, a backfilled and a manually triggered run. Also checks that the
image's job file (jobs/container.yaml) is the nightly job on the mounted
folders, and that the Dockerfile ships it where the DAG looks for it.
"""

from __future__ import annotations

import importlib.util
import pathlib
import re
import sys
from datetime import datetime, timezone

try:
    import jinja2
    import jinja2.sandbox
except ImportError:
    sys.exit(
        f"check_dag: Jinja2 is not installed for {sys.executable}; the task templates cannot be rendered.\n"
        "  Debian: apt-get install python3-jinja2 (for /usr/bin/python3; .ci/run does this),\n"
        "  then make test PYTHON=/usr/bin/python3 if another python3 comes first on the PATH."
    )

import airflow_stubs

REPO = pathlib.Path(__file__).resolve().parent.parent
DAG_FILE = REPO / "jobs" / "airflow" / "retain_nightly.py"

failures: list[str] = []
passed = 0


def check(ok: bool, what: str) -> bool:
    global passed
    if ok:
        passed += 1
    else:
        failures.append(what)
        print("FAIL", what)
    return ok


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# Runs of the 02:30 UTC schedule, with the context Airflow gives their tasks.
# The manual run is triggered at 10:00 on 1 December: its logical date is the
# trigger time on Airflow 2 and 3, and CronDataIntervalTimetable infers the last
# complete interval as its data interval.
RUNS = {
    "scheduled": dict(logical_date=utc(2026, 11, 30, 2, 30), interval=(utc(2026, 11, 30, 2, 30), utc(2026, 12, 1, 2, 30)),
                      run_id="scheduled__2026-11-30T02:30:00+00:00", run_date="2026-11-30"),
    "backfill": dict(logical_date=utc(2026, 10, 14, 2, 30), interval=(utc(2026, 10, 14, 2, 30), utc(2026, 10, 15, 2, 30)),
                     run_id="backfill__2026-10-14T02:30:00+00:00", run_date="2026-10-14"),
    "manual": dict(logical_date=utc(2026, 12, 1, 10, 0), interval=(utc(2026, 11, 30, 2, 30), utc(2026, 12, 1, 2, 30)),
                   run_id="manual__2026-12-01T10:00:00.123456+00:00", run_date="2026-11-30"),
}
RUN_ID_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # pipeline/commit.go


class Variables:
    """var.value in a template: get(key, default) as Airflow 2 and 3 define it."""

    def __init__(self, values: dict):
        self.values = values

    def get(self, key, default=None):
        return self.values.get(key, default)


def jinja_env() -> jinja2.Environment:
    env = jinja2.sandbox.SandboxedEnvironment(undefined=jinja2.StrictUndefined, cache_size=0)
    env.filters.update(ds=lambda v: v.strftime("%Y-%m-%d"), ts=lambda v: v.isoformat())
    return env


def context(task, run: dict | None, variables: dict) -> dict:
    ctx = {"run_id": "manual__2026-12-01T10:00:00+00:00", "params": task.params,
           "var": {"value": Variables(variables)}, "dag": task.dag, "task": task,
           "task_instance": object(), "macros": MACROS}
    if run is not None:  # None: an Airflow 3 run without a logical date
        start, end = run["interval"]
        ctx.update(run_id=run["run_id"], logical_date=run["logical_date"], ds=run["logical_date"].strftime("%Y-%m-%d"),
                   data_interval_start=start, data_interval_end=end)
    return ctx


class Macros:
    """Airflow's macros namespace; the OpenLineage provider adds its plugin."""


class OpenLineagePlugin:
    @staticmethod
    def lineage_parent_id(ti):
        return "default/retain_nightly_bash.retain_run/01920a6e-5b7c-7000-8000-000000000001"

    @staticmethod
    def lineage_root_parent_id(ti):
        return "default/retain_nightly_bash/01920a6e-5b00-7000-8000-000000000002"


MACROS = Macros()


def render(task, field: str, run: dict | None, variables: dict | None = None):
    env, ctx = jinja_env(), context(task, run, variables or {})

    def walk(value):
        if isinstance(value, str):
            return env.from_string(value).render(ctx)
        if isinstance(value, (list, tuple)):
            return type(value)(walk(v) for v in value)
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value  # objects without template_fields are left as they are

    if field not in type(task).template_fields:
        raise AssertionError(f"{field} is not a templated field of {type(task).__name__}")
    return walk(getattr(task, field))


def flag(argv: list, name: str):
    return argv[argv.index(name) + 1] if name in argv else None


def size(text: str) -> float:
    """Bytes of a Kubernetes or Go memory quantity."""
    number, unit = re.fullmatch(r"([\d.]+)\s*([A-Za-z]*)", text).groups()
    return float(number) * {"": 1, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30,
                            "KiB": 2**10, "MiB": 2**20, "GiB": 2**30, "B": 1, "GB": 1e9, "MB": 1e6}[unit]


# Facts from the rest of the repository -------------------------------------

main_go = (REPO / "cmd" / "retain" / "main.go").read_text()
EXIT_NO_INPUT = int(re.search(r"exitNoInput\s*=\s*(\d+)", main_go).group(1))
readme = (REPO / "README.md").read_text()
peak = re.search(r"peak RSS of [\d.]+[–-]([\d.]+) GB", readme)
PEAK_RSS = float(peak.group(1)) * 1e9 if peak else None
check(PEAK_RSS is not None, "README states the job's measured peak RSS ('peak RSS of A–B GB')")


def job_paths(text: str) -> list:
    return re.findall(r"^\s*path:\s*(\S+)", text, re.M)


def job_settings(text: str) -> list:
    """The job file without comments and paths: what must not drift."""
    lines = (re.sub(r"\s+#.*$", "", line).rstrip() for line in text.splitlines())
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")
            and not re.match(r"^\s*path:", line)]


# One Airflow installation --------------------------------------------------

def load(inst: airflow_stubs.Installation, name: str):
    inst.install()
    try:
        spec = importlib.util.spec_from_file_location(name, DAG_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        inst.uninstall()


def check_installation(label: str, layout: str, kubernetes: bool) -> None:
    before = len(failures)
    inst = airflow_stubs.Installation(layout, kubernetes)
    try:
        mod = load(inst, "retain_nightly_" + re.sub(r"\W", "_", label))
    except Exception as err:  # noqa: BLE001 - any import error is the finding
        check(False, f"{label}: the DAG file does not import: {type(err).__name__}: {err}")
        return
    # What a DagBag collects: DAG objects among the module's globals.
    dags = {v.dag_id: v for v in vars(mod).values() if isinstance(v, inst.DAG)}
    try:
        check_dags(label, layout, kubernetes, inst, mod, dags)
    except Exception as err:  # noqa: BLE001 - a DAG unlike the expected one; report it, check the rest
        check(False, f"{label}: checks stopped at {type(err).__name__}: {err}")
    status = "ok  " if len(failures) == before else "FAIL"
    timetables = sorted({f"{type(d.schedule).__module__}.{type(d.schedule).__name__}" for d in dags.values()})
    print(f"{status} {label}: loads {', '.join(sorted(dags)) or 'no DAG'}; schedule {', '.join(timetables)}")


def check_dags(label: str, layout: str, kubernetes: bool, inst, mod, dags: dict) -> None:
    want = {"retain_nightly_bash"} | ({"retain_nightly_k8s"} if kubernetes else set())
    check(set(dags) == want, f"{label}: DAGs {sorted(dags)}, want {sorted(want)}")
    check(len(inst.dags) == len(dags), f"{label}: {len(inst.dags)} DAGs made, {len(dags)} reachable")
    want_timetable = inst.sdk_timetable if airflow_stubs.LAYOUTS[layout]["timetable"] == "sdk" else inst.core_timetable
    for dag_id, dag in sorted(dags.items()):
        tt = dag.schedule
        check(type(tt) is want_timetable,
              f"{label}: {dag_id} schedule is {type(tt).__module__}.{type(tt).__name__}, "
              f"want {want_timetable.__module__}.CronDataIntervalTimetable")
        check(getattr(tt, "expression", None) == "30 2 * * *" and getattr(tt, "timezone", None) == "UTC",
              f"{label}: {dag_id} timetable {getattr(tt, '__dict__', tt)!r}")
        check(dag.catchup is False and dag.max_active_runs == 1, f"{label}: {dag_id} catchup/max_active_runs")
        check(dag.start_date.tzinfo is not None, f"{label}: {dag_id} start_date has no time zone")
        check(len(dag.tasks) == 1 and dag.tasks[0].task_id == "retain_run", f"{label}: {dag_id} tasks")
        task = dag.tasks[0]
        skip = getattr(task, "skip_on_exit_code", None)  # unset: BashOperator skips on 99, the pod never
        check(skip == EXIT_NO_INPUT, f"{label}: {dag_id} skip_on_exit_code {skip}, retain's exitNoInput is {EXIT_NO_INPUT}")
        check(getattr(task, "do_xcom_push", None) is True, f"{label}: {dag_id} does not push the summary as XCom")
    if "retain_nightly_bash" in dags:
        check_bash(label, mod, dags["retain_nightly_bash"].tasks[0], airflow_stubs.LAYOUTS[layout]["bash"])
    if "retain_nightly_k8s" in dags:
        check_pod(label, mod, dags["retain_nightly_k8s"].tasks[0])


def check_bash(label: str, mod, task, bash_module: str) -> None:
    check(type(task).__module__ == bash_module, f"{label}: BashOperator from {type(task).__module__}")
    for kind, run in RUNS.items():
        cmd = render(task, "bash_command", run).split()
        check(cmd[:4] == ["retain", "run", "--job", mod.JOB_FILE], f"{label}: bash {kind}: {cmd}")
        check(flag(cmd, "--run-date") == run["run_date"],
              f"{label}: bash {kind} run: --run-date {flag(cmd, '--run-date')}, want {run['run_date']}")
        check(bool(RUN_ID_SAFE.match(flag(cmd, "--run-id") or "")), f"{label}: bash {kind}: --run-id {flag(cmd, '--run-id')}")
    check(expect_undefined(task, "bash_command"), f"{label}: bash renders a run date for a run without a data interval")
    check(task.append_env is True, f"{label}: bash replaces the worker's environment instead of adding to it")
    check_lineage(label, "bash", render(task, "env", RUNS["scheduled"]), lambda: render(task, "env", RUNS["scheduled"]))


def check_lineage(label: str, kind: str, rendered: dict, again) -> None:
    """The parent-run variables carry the OpenLineage provider's ids, and
    render empty (no parent) on an Airflow without the provider."""
    want = {"OPENLINEAGE_PARENT_ID": OpenLineagePlugin.lineage_parent_id(None),
            "OPENLINEAGE_ROOT_PARENT_ID": OpenLineagePlugin.lineage_root_parent_id(None)}
    got = {k: rendered.get(k) for k in want}
    check(got == {k: "" for k in want}, f"{label}: {kind} lineage parent without the provider: {got}")
    MACROS.OpenLineageProviderPlugin = OpenLineagePlugin
    try:
        got = {k: again().get(k) for k in want}
    finally:
        del MACROS.OpenLineageProviderPlugin
    check(got == want, f"{label}: {kind} lineage parent with the provider: {got}")


def expect_undefined(task, field: str) -> bool:
    try:
        render(task, field, None)
    except jinja2.UndefinedError:
        return True
    return False


def check_pod(label: str, mod, task) -> None:
    check(type(task).__module__ == "airflow.providers.cncf.kubernetes.operators.pod",
          f"{label}: KubernetesPodOperator from {type(task).__module__}")
    image = render(task, "image", RUNS["scheduled"])
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    check(re.fullmatch(r"\d+\.\d+\.\d+", tag) is not None, f"{label}: image {image!r} is not pinned to a version")
    check(image == mod.DEFAULT_IMAGE, f"{label}: image {image!r}, want the default {mod.DEFAULT_IMAGE!r}")
    pinned = "registry.example/retain@sha256:" + "0" * 64
    check(render(task, "image", RUNS["scheduled"], {"retain_image": pinned}) == pinned,
          f"{label}: the retain_image Variable does not override the image")
    for kind, run in RUNS.items():
        argv = render(task, "arguments", run)
        check(argv[:3] == ["run", "--job", mod.JOB_FILE], f"{label}: pod {kind}: {argv}")
        check(flag(argv, "--run-date") == run["run_date"],
              f"{label}: pod {kind} run: --run-date {flag(argv, '--run-date')}, want {run['run_date']}")
        check(bool(RUN_ID_SAFE.match(flag(argv, "--run-id") or "")), f"{label}: pod {kind}: --run-id {flag(argv, '--run-id')}")
        check(flag(argv, "--xcom-file") == "/airflow/xcom/return.json", f"{label}: pod {kind}: --xcom-file")
    check(expect_undefined(task, "arguments"), f"{label}: pod renders a run date for a run without a data interval")

    res = task.container_resources
    check(res.requests == {"memory": "4Gi", "cpu": "1"} and res.limits == {"memory": "6Gi", "cpu": "2"},
          f"{label}: resources requests {res.requests} limits {res.limits}")
    env = {e.name: e.value for e in task.env_vars or []}
    if PEAK_RSS:
        check(size(res.requests["memory"]) >= 1.2 * PEAK_RSS,
              f"{label}: memory request {res.requests['memory']} leaves under 20% over the measured peak")
        check("GOMEMLIMIT" in env and PEAK_RSS < size(env["GOMEMLIMIT"]) < size(res.limits["memory"]),
              f"{label}: GOMEMLIMIT {env.get('GOMEMLIMIT')} must lie between the measured peak and the limit")
    # The pod's variables are rendered as Airflow renders V1EnvVar values.
    jenv = jinja_env()

    def pod_env():
        ctx = context(task, RUNS["scheduled"], {})
        return {k: jenv.from_string(v).render(ctx) for k, v in env.items()}

    check_lineage(label, "pod", pod_env(), pod_env)

    mounts = {m.mount_path: m for m in task.volume_mounts}
    volumes = {v.name: v for v in task.volumes}
    check(set(mounts) == {mod.INPUT_DIR, mod.OUTPUT_DIR}, f"{label}: mounts {sorted(mounts)}")
    for path, read_only in ((mod.INPUT_DIR, True), (mod.OUTPUT_DIR, False)):
        m = mounts.get(path)
        v = volumes.get(m.name) if m else None
        check(m is not None and bool(m.read_only) == read_only, f"{label}: {path} read_only should be {read_only}")
        check(v is not None and v.persistent_volume_claim is not None and v.persistent_volume_claim.claim_name,
              f"{label}: {path} is not backed by a volume claim")


# The image's job -----------------------------------------------------------

def check_container_job(mod) -> None:
    container = (REPO / "jobs" / "container.yaml").read_text()
    nightly = (REPO / "jobs" / "nightly.yaml").read_text()
    check(job_settings(container) == job_settings(nightly),
          "jobs/container.yaml differs from jobs/nightly.yaml in more than its paths")
    paths, sample = job_paths(container), job_paths(nightly)
    check(paths[-1:] == [mod.OUTPUT_DIR], f"jobs/container.yaml output {paths[-1:]}, want {mod.OUTPUT_DIR}")
    check(all(p.startswith(mod.INPUT_DIR + "/") for p in paths[:-1]),
          f"jobs/container.yaml inputs {paths[:-1]} not all under {mod.INPUT_DIR}")
    check([p.rsplit("/", 1)[-1] for p in paths[:-1]] == [p.rsplit("/", 1)[-1] for p in sample[:-1]],
          f"jobs/container.yaml inputs {paths[:-1]} are not the nightly job's {sample[:-1]}")
    dockerfile = (REPO / "Dockerfile").read_text()
    dest = re.findall(r"^COPY\s+jobs/container\.yaml\s+(\S+)\s*$", dockerfile, re.M)
    check(dest == [mod.JOB_FILE], f"Dockerfile copies jobs/container.yaml to {dest}, the DAG runs {mod.JOB_FILE}")
    check(not re.search(r"^COPY\s+jobs/?\s", dockerfile, re.M), "Dockerfile ships the whole jobs/ folder (the sample job)")
    for name, text in (("Dockerfile", dockerfile), ("README.md", readme)):
        tags = set(re.findall(r"docker build -t (\S+) \.", text))
        check(tags == {mod.DEFAULT_IMAGE}, f"{name} builds the image as {sorted(tags)}, the DAG runs {mod.DEFAULT_IMAGE}")


def check_broken_provider() -> None:
    inst = airflow_stubs.Installation("3.2", kubernetes=True, broken_provider=True)
    try:
        load(inst, "retain_nightly_broken_provider")
    except Exception as err:  # noqa: BLE001
        ok = isinstance(err, ModuleNotFoundError) and err.name == "kubernetes_asyncio"
    else:
        ok = False
    check(ok, "a cncf.kubernetes provider that fails on its own imports must fail the DAG file, not drop the DAG")
    print(f"{'ok  ' if ok else 'FAIL'} airflow 3.2, broken cncf.kubernetes: the DAG file fails to import")


MATRIX = [
    ("airflow 2, no cncf.kubernetes", "2", False),
    ("airflow 2, cncf.kubernetes", "2", True),
    ("airflow 3.0, cncf.kubernetes", "3.0", True),
    ("airflow 3.2, cncf.kubernetes", "3.2", True),
    ("airflow 3.2, no cncf.kubernetes", "3.2", False),
]

for label, layout, kubernetes in MATRIX:
    check_installation(label, layout, kubernetes)
check_broken_provider()

try:
    check_container_job(load(airflow_stubs.Installation("2", kubernetes=False), "retain_nightly_constants"))
except Exception as err:  # noqa: BLE001
    check(False, f"container job checks stopped at {type(err).__name__}: {err}")

print(f"dag-check: {passed} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
