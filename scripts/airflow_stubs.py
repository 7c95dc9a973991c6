"""Stand-ins for the parts of Airflow and its providers the DAG file imports,
laid out as each Airflow version lays them out, so scripts/check_dag.py can
import the file as Airflow would without Airflow installed (it is not on
Debian, and CI has no PyPI).

Only import paths, constructor keywords and the attributes the checks read are
modelled. Constructors reject keywords the real classes do not take, so a
misspelt argument fails here as it would in Airflow. A module a layout does
not have is absent, so importing it raises ModuleNotFoundError exactly as on
a real installation.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

# Which modules exist where. The Airflow 3 layouts have no airflow.DAG and no
# airflow.operators.bash, so a DAG file that falls back to the Airflow 2 paths
# fails there instead of passing on a deprecation shim.
LAYOUTS = {
    "2": {"dag": "airflow", "timetable": "core", "bash": "airflow.operators.bash"},
    # 3.0 and 3.1: the task SDK has DAG but not the timetables yet.
    "3.0": {"dag": "airflow.sdk", "timetable": "core", "bash": "airflow.providers.standard.operators.bash"},
    # 3.2 (task SDK 1.2) and later export the timetables from airflow.sdk.
    "3.2": {"dag": "airflow.sdk", "timetable": "sdk", "bash": "airflow.providers.standard.operators.bash"},
}

BASE_OPERATOR_KWARGS = {
    "task_id", "owner", "email", "email_on_retry", "email_on_failure", "retries", "retry_delay",
    "retry_exponential_backoff", "max_retry_delay", "start_date", "end_date", "depends_on_past",
    "wait_for_downstream", "dag", "params", "default_args", "priority_weight", "weight_rule", "queue",
    "pool", "pool_slots", "execution_timeout", "on_failure_callback", "on_success_callback",
    "on_retry_callback", "trigger_rule", "do_xcom_push", "multiple_outputs", "doc_md", "executor_config",
    "max_active_tis_per_dag",
}
BASH_KWARGS = {"bash_command", "env", "append_env", "output_encoding", "skip_on_exit_code", "cwd",
               "output_processor"}
POD_KWARGS = {
    "kubernetes_conn_id", "namespace", "image", "name", "random_name_suffix", "cmds", "arguments", "ports",
    "volume_mounts", "volumes", "env_vars", "env_from", "secrets", "in_cluster", "cluster_context", "labels",
    "reattach_on_restart", "startup_timeout_seconds", "get_logs", "image_pull_policy", "annotations",
    "container_resources", "affinity", "config_file", "node_selector", "image_pull_secrets",
    "service_account_name", "hostnetwork", "tolerations", "security_context", "container_security_context",
    "dnspolicy", "init_containers", "log_events_on_failure", "pod_template_file", "priority_class_name",
    "termination_grace_period", "skip_on_exit_code", "base_container_name", "deferrable", "on_finish_action",
    "active_deadline_seconds",
}
DAG_KWARGS = {
    "dag_id", "description", "schedule", "start_date", "end_date", "default_args", "catchup",
    "max_active_runs", "max_active_tasks", "dagrun_timeout", "tags", "params", "doc_md", "owner_links",
    "render_template_as_native_obj", "user_defined_macros", "user_defined_filters", "is_paused_upon_creation",
}
K8S_MODELS = {
    "V1ResourceRequirements": {"limits", "requests", "claims"},
    "V1Volume": {"name", "persistent_volume_claim", "empty_dir", "config_map", "secret", "host_path"},
    "V1PersistentVolumeClaimVolumeSource": {"claim_name", "read_only"},
    "V1VolumeMount": {"name", "mount_path", "read_only", "sub_path", "mount_propagation", "sub_path_expr"},
    "V1EnvVar": {"name", "value", "value_from"},
}


def _check(cls: str, given: dict, allowed: set) -> None:
    unknown = sorted(set(given) - allowed)
    if unknown:
        raise TypeError(f"{cls}() got unexpected keyword arguments {unknown}")


def _module(name: str, package: bool = True, **attrs) -> types.ModuleType:
    mod = types.ModuleType(name)
    if package:
        mod.__path__ = []  # a package, so a missing submodule is a ModuleNotFoundError naming it
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    return mod


class Installation:
    """One Airflow installation: the modules it puts in sys.modules and the
    objects the DAG file made with them."""

    def __init__(self, layout: str, kubernetes: bool, broken_provider: bool = False):
        self.layout, self.kubernetes, self.broken_provider = layout, kubernetes, broken_provider
        self.dags: list = []
        self.finder = None
        self.stack: list = []
        self.DAG = self._dag_class()
        self.BaseOperator = self._base_operator()
        self.core_timetable = self._timetable("airflow.timetables.interval", ("cron", "timezone"))
        self.sdk_timetable = self._timetable("airflow.sdk.definitions.timetables.interval",
                                             ("expression", "timezone"))

    # Classes -----------------------------------------------------------

    def _dag_class(self):
        inst = self

        class DAG:
            def __init__(self, **kwargs):
                _check("DAG", kwargs, DAG_KWARGS)
                self.__dict__.update(kwargs)
                self.dag_id = kwargs["dag_id"]
                self.default_args = kwargs.get("default_args") or {}
                self.params = kwargs.get("params") or {}
                self.tasks = []
                inst.dags.append(self)

            def __enter__(self):
                inst.stack.append(self)
                return self

            def __exit__(self, *exc):
                inst.stack.pop()
                return False

        return DAG

    def _base_operator(self):
        inst = self

        class BaseOperator:
            allowed: set = set()
            template_fields: tuple = ()

            def __init__(self, **kwargs):
                dag = kwargs.pop("dag", None) or (inst.stack[-1] if inst.stack else None)
                if dag is None:
                    raise RuntimeError(f"{type(self).__name__} {kwargs.get('task_id')} made outside a DAG")
                # default_args reach every operator of the DAG, and must be arguments it takes.
                merged = {**dag.default_args, **kwargs}
                _check(type(self).__name__, merged, BASE_OPERATOR_KWARGS | self.allowed)
                self.__dict__.update(merged)
                self.dag = dag
                self.params = {**dag.params, **(kwargs.get("params") or {})}
                dag.tasks.append(self)

        return BaseOperator

    def _timetable(self, module: str, fields: tuple):
        class CronDataIntervalTimetable:
            def __init__(self, *args, **kwargs):
                if len(args) > len(fields) or set(kwargs) - set(fields):
                    raise TypeError(f"CronDataIntervalTimetable{fields} called with {args} {kwargs}")
                values = dict(zip(fields, args), **kwargs)
                if set(values) != set(fields):
                    raise TypeError(f"CronDataIntervalTimetable needs {fields}, got {sorted(values)}")
                self.expression, self.timezone = values[fields[0]], values["timezone"]

        CronDataIntervalTimetable.__module__ = module
        return CronDataIntervalTimetable

    # Modules -----------------------------------------------------------

    def install(self) -> None:
        self.uninstall()
        spec = LAYOUTS[self.layout]
        airflow = _module("airflow")
        _module("airflow.providers")
        _module("airflow.timetables")
        _module("airflow.timetables.interval", package=False, CronDataIntervalTimetable=self.core_timetable)
        if spec["dag"] == "airflow":
            airflow.DAG = self.DAG
        else:
            exported = {"DAG": self.DAG}
            if spec["timetable"] == "sdk":
                exported["CronDataIntervalTimetable"] = self.sdk_timetable
            sdk = _module("airflow.sdk")

            def lazy(name, exported=exported):  # the task SDK resolves its names lazily
                if name in exported:
                    return exported[name]
                raise AttributeError(f"module 'airflow.sdk' has no attribute {name!r}")

            sdk.__getattr__ = lazy
        bash_module = spec["bash"]
        for parent in _parents(bash_module):
            if parent not in sys.modules:
                _module(parent)

        class BashOperator(self.BaseOperator):
            allowed = BASH_KWARGS
            template_fields = ("bash_command", "env", "cwd")

        BashOperator.__module__ = bash_module
        _module(bash_module, package=False, BashOperator=BashOperator)
        if self.kubernetes:
            self._install_kubernetes()

    def _install_kubernetes(self) -> None:
        models = {}
        for name, fields in K8S_MODELS.items():
            def init(self, _name=name, _fields=fields, **kwargs):
                _check(_name, kwargs, _fields)
                for field in _fields:
                    setattr(self, field, kwargs.get(field))
            models[name] = type(name, (), {"__init__": init})
        _module("kubernetes")
        client = _module("kubernetes.client")
        client.models = _module("kubernetes.client.models", **models)
        for name in ("airflow.providers.cncf", "airflow.providers.cncf.kubernetes",
                     "airflow.providers.cncf.kubernetes.operators"):
            _module(name)
        pod_module = "airflow.providers.cncf.kubernetes.operators.pod"
        if self.broken_provider:
            # Installed, but one of its own imports is missing: the file must fail, not drop the DAG.
            self.finder = _FailingImport(pod_module, "kubernetes_asyncio")
            sys.meta_path.insert(0, self.finder)
            return

        class KubernetesPodOperator(self.BaseOperator):
            allowed = POD_KWARGS
            template_fields = ("image", "name", "cmds", "arguments", "env_vars", "labels", "namespace",
                               "container_resources", "volumes", "volume_mounts")

        KubernetesPodOperator.__module__ = pod_module
        _module(pod_module, package=False, KubernetesPodOperator=KubernetesPodOperator)

    def uninstall(self) -> None:
        for name in list(sys.modules):
            if name.split(".")[0] in ("airflow", "kubernetes"):
                del sys.modules[name]
        if self.finder in sys.meta_path:
            sys.meta_path.remove(self.finder)


def _parents(module: str) -> list:
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


class _FailingImport(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, module: str, missing: str):
        self.module, self.missing = module, missing

    def find_spec(self, fullname, path=None, target=None):
        if fullname == self.module:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        raise ModuleNotFoundError(f"No module named {self.missing!r}", name=self.missing)
