"""Checks the Airflow DAG file without Airflow installed: it must compile and
pass the logical date, the XCom file and retain's no-input exit code."""
import ast
import pathlib
import re
import sys

repo = pathlib.Path(__file__).resolve().parent.parent
dag_file = repo / "jobs" / "airflow" / "retain_nightly.py"
source = dag_file.read_text()
compile(source, str(dag_file), "exec")
tree = ast.parse(source)

failures = []
dag_ids = {kw.value.value for node in ast.walk(tree) if isinstance(node, ast.Call)
           for kw in node.keywords if kw.arg == "dag_id"}
if dag_ids != {"retain_nightly_k8s", "retain_nightly_bash"}:
    failures.append(f"dag ids {sorted(dag_ids)}")
if source.count("{{ ds }}") < 2:
    failures.append("both tasks must pass {{ ds }} as --run-date")
if "/airflow/xcom/return.json" not in source:
    failures.append("the pod task must write /airflow/xcom/return.json")
main_go = (repo / "cmd" / "retain" / "main.go").read_text()
go_code = re.search(r"exitNoInput\s*=\s*(\d+)", main_go).group(1)
dag_code = re.search(r"EXIT_NO_INPUT\s*=\s*(\d+)", source).group(1)
if go_code != dag_code:
    failures.append(f"EXIT_NO_INPUT {dag_code} != retain's exitNoInput {go_code}")

for f in failures:
    print("FAIL", f)
print(f"dag-check: {4 - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
