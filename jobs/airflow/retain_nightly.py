"""Airflow DAGs for the nightly retain job.

Two variants of the same schedule:

* ``retain_nightly_k8s`` runs the container image (see Dockerfile) with the
  KubernetesPodOperator on the folders the pod mounts at ``/data/input`` and
  ``/data/output`` (``jobs/container.yaml``); the run summary comes back as
  XCom through ``/airflow/xcom/return.json``. It exists only where the
  cncf.kubernetes provider is installed.
* ``retain_nightly_bash`` runs a ``retain`` binary installed on the workers,
  with the same job file at the same path; the summary is the last stdout
  line, which BashOperator pushes as XCom.

Both load on Airflow 2 (2.6 or later) and Airflow 3, pass the start of the
run's data interval as the run date, so a cleared or backfilled task
recomputes exactly that day, and treat exit code 3 ("no input for this date")
as skipped rather than failed.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

try:
    from airflow.sdk import DAG  # Airflow 3
except ImportError:
    from airflow import DAG  # Airflow 2

try:
    from airflow.sdk import CronDataIntervalTimetable  # Airflow 3.2 and later
except ImportError:
    from airflow.timetables.interval import CronDataIntervalTimetable  # Airflow 2, 3.0, 3.1

try:
    # Airflow 3 has BashOperator only here; Airflow 2 with the standard provider too.
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:
    from airflow.operators.bash import BashOperator


def _not_installed(err: ModuleNotFoundError, package: str) -> bool:
    """Whether err says package (or a package above it) is missing, as opposed
    to an installed package failing on an import of its own."""
    return err.name is not None and (package == err.name or package.startswith(err.name + "."))


try:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s
except ModuleNotFoundError as err:
    # Workers that only run the bash variant need not carry the provider; a
    # provider that is installed but broken still fails the file, so the pod
    # DAG never vanishes silently.
    if not _not_installed(err, "airflow.providers.cncf.kubernetes"):
        raise
    KubernetesPodOperator = None
    logging.getLogger(__name__).info("cncf.kubernetes provider not installed: retain_nightly_k8s not defined")

# The image is pinned so that every run, reruns and backfills of old dates
# included, runs the release this file was written for, and a new binary
# reaches production by changing this version (or the Variable below), not by
# a push to :latest in the middle of a backfill. Build and push it under this
# tag (README, Scheduling). The Airflow Variable retain_image overrides the
# whole reference (another registry, a digest); as a template it is read when
# the task runs, not on every parse of this file.
RETAIN_VERSION = "0.1.0"
DEFAULT_IMAGE = f"ghcr.io/example/retain:{RETAIN_VERSION}"  # set to your registry
RETAIN_IMAGE = "{{ var.value.get('retain_image', '%s') }}" % DEFAULT_IMAGE

# The image's job (jobs/container.yaml): input tables under /data/input,
# output under /data/output. The bash variant expects the same file and
# folders on the workers.
JOB_FILE = "/jobs/container.yaml"
INPUT_DIR = "/data/input"
OUTPUT_DIR = "/data/output"
INPUT_CLAIM = "retain-input"  # set to your cluster's claims
OUTPUT_CLAIM = "retain-output"

EXIT_NO_INPUT = 3

# Airflow 3 turns a bare cron string into a CronTriggerTimetable
# (apache/airflow#47070: [scheduler] create_cron_data_intervals defaults to
# False): the 02:30 run on 1 December gets logical date 1 December, so {{ ds }}
# names a day that has only just begun and the job would publish a partial
# day. CronDataIntervalTimetable, the Airflow 2 default, gives that run the
# interval 30 Nov 02:30 to 1 Dec 02:30, whose start names the day that closed
# at midnight. Passing the timetable itself, not the string, makes every
# Airflow version and setting schedule the same way.
SCHEDULE = CronDataIntervalTimetable("30 2 * * *", "UTC")

# The start of the data interval rather than {{ ds }}: for scheduled runs and
# backfills they are the same day, but a manually triggered run's logical date
# is the moment it was triggered, a day not yet over, while its data interval
# is the last complete one. A run with no data interval (Airflow 3 allows runs
# without a logical date) fails to render instead of guessing a day.
RUN_DATE = "{{ data_interval_start | ds }}"
# Airflow's run ids hold ':' and '+', which retain's (folder names) do not allow.
RUN_ID = "{{ run_id | replace(':', '-') | replace('+', '-') }}"

# Sized from the measured peak (README, Performance): the whole nightly job on
# 10.8M orders of 1M customers peaks at 2.73-3.11 GB RSS. The request covers
# that peak with over a fifth to spare, so the pod is placed where the memory
# is; the limit, nearly twice the peak, leaves room for a growing shop (memory
# follows customers) before the kernel kills the pod.
# GOMEMLIMIT sits above the measured peak and 512 MiB below the limit, so as
# the heap nears the limit the Go collector works harder instead of the pod
# being killed. The run is mostly one core wide (same section): one CPU
# requested, a second allowed for the background stages.
MEMORY_REQUEST, MEMORY_LIMIT, GOMEMLIMIT = "4Gi", "6Gi", "5632MiB"
CPU_REQUEST, CPU_LIMIT = "1", "2"

default_args = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}

# The OpenLineage provider's macros name this task's run and its DAG run
# (namespace/job/runId), so retain's lineage events hang under the task in a
# lineage graph. Without the provider the plugin is undefined, the values
# render empty and retain sends no parent.
_OL = "macros.OpenLineageProviderPlugin"
LINEAGE_ENV = {
    "OPENLINEAGE_PARENT_ID": "{{ " + _OL + ".lineage_parent_id(task_instance) if " + _OL + " is defined else '' }}",
    "OPENLINEAGE_ROOT_PARENT_ID": "{{ " + _OL + ".lineage_root_parent_id(task_instance) if "
    + _OL + " is defined and " + _OL + ".lineage_root_parent_id is defined else '' }}",
}


def _dag(dag_id: str, description: str) -> DAG:
    return DAG(
        dag_id=dag_id,
        description=description,
        schedule=SCHEDULE,
        start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
        catchup=False,
        max_active_runs=1,
        default_args=default_args,
        tags=["retain", "retention"],
    )


if KubernetesPodOperator is not None:
    with _dag("retain_nightly_k8s", "Customer retention tables (retain) in a Kubernetes pod") as k8s_dag:
        KubernetesPodOperator(
            task_id="retain_run",
            name="retain-run",
            image=RETAIN_IMAGE,
            arguments=[
                "run",
                "--job", JOB_FILE,
                "--run-date", RUN_DATE,
                "--run-id", RUN_ID,
                "--xcom-file", "/airflow/xcom/return.json",
            ],
            volumes=[
                k8s.V1Volume(
                    name="input",
                    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(
                        claim_name=INPUT_CLAIM, read_only=True
                    ),
                ),
                k8s.V1Volume(
                    name="output",
                    persistent_volume_claim=k8s.V1PersistentVolumeClaimVolumeSource(claim_name=OUTPUT_CLAIM),
                ),
            ],
            volume_mounts=[
                k8s.V1VolumeMount(name="input", mount_path=INPUT_DIR, read_only=True),
                k8s.V1VolumeMount(name="output", mount_path=OUTPUT_DIR),
            ],
            container_resources=k8s.V1ResourceRequirements(
                requests={"memory": MEMORY_REQUEST, "cpu": CPU_REQUEST},
                limits={"memory": MEMORY_LIMIT, "cpu": CPU_LIMIT},
            ),
            env_vars=[k8s.V1EnvVar(name="GOMEMLIMIT", value=GOMEMLIMIT)]
            + [k8s.V1EnvVar(name=k, value=v) for k, v in LINEAGE_ENV.items()],
            do_xcom_push=True,
            skip_on_exit_code=EXIT_NO_INPUT,
            get_logs=True,
        )

with _dag("retain_nightly_bash", "Customer retention tables (retain), binary on the workers") as bash_dag:
    BashOperator(
        task_id="retain_run",
        bash_command="retain run --job {{ params.job_file }} --run-date " + RUN_DATE + " --run-id " + RUN_ID,
        params={"job_file": JOB_FILE},
        env=LINEAGE_ENV,
        append_env=True,
        do_xcom_push=True,
        skip_on_exit_code=EXIT_NO_INPUT,
    )
