"""Airflow DAGs for the nightly retain job.

Two variants of the same schedule:

* ``retain_nightly_k8s`` runs the container image (see Dockerfile) with the
  KubernetesPodOperator; the run summary comes back as XCom through
  ``/airflow/xcom/return.json``.
* ``retain_nightly_bash`` runs a ``retain`` binary installed on the workers;
  the summary is the last stdout line, which BashOperator pushes as XCom.

Both pass Airflow's logical date ``{{ ds }}`` as the run date, so a cleared or
backfilled task recomputes exactly that day, and both treat exit code 3
("no input for this date") as skipped rather than failed.
"""

from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator

RETAIN_IMAGE = "ghcr.io/example/retain:latest"  # set to your registry
JOB_FILE = "/jobs/nightly.yaml"
EXIT_NO_INPUT = 3

default_args = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=10),
    "retry_exponential_backoff": True,
    "execution_timeout": timedelta(hours=2),
}

with DAG(
    dag_id="retain_nightly_k8s",
    description="Customer retention tables (retain) in a Kubernetes pod",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["retain", "retention"],
) as k8s_dag:
    KubernetesPodOperator(
        task_id="retain_run",
        name="retain-run",
        image=RETAIN_IMAGE,
        arguments=[
            "run",
            "--job", JOB_FILE,
            "--run-date", "{{ ds }}",
            "--run-id", "{{ run_id | replace(':', '-') | replace('+', '-') }}",
            "--xcom-file", "/airflow/xcom/return.json",
        ],
        do_xcom_push=True,
        skip_on_exit_code=EXIT_NO_INPUT,
        get_logs=True,
    )

with DAG(
    dag_id="retain_nightly_bash",
    description="Customer retention tables (retain) with a binary on the workers",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=default_args,
    tags=["retain", "retention"],
) as bash_dag:
    BashOperator(
        task_id="retain_run",
        bash_command=(
            "retain run --job {{ params.job_file }} --run-date {{ ds }} "
            "--run-id {{ run_id | replace(':', '-') | replace('+', '-') }}"
        ),
        params={"job_file": JOB_FILE},
        do_xcom_push=True,
        skip_on_exit_code=EXIT_NO_INPUT,
    )
