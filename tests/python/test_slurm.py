"""`lengen sweep slurm` on a real Slurm: a one-node cluster on localhost (Debian's slurm-wlm,
installed by scripts/test.sh from scripts/deps-debian-test.txt; configuration, state and logs in
a temporary directory, daemons stopped afterwards, auth/none so no munge key is touched) runs
the array script of a tiny grid (2 encodings x 2 seeds). One array task is requeued while it
runs: it must resume from its checkpoint and end bit-identical to the same run done in one go.
`lengen report` then reads the grid."""
from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest

from test_parity import run_lengen

DAEMONS = ("slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "sinfo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout):
    end = time.time() + timeout
    while time.time() < end:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    missing = [d for d in DAEMONS if shutil.which(d) is None]
    if missing:
        pytest.skip(f"slurm-wlm is not installed ({', '.join(missing)} not found); scripts/test.sh "
                    "installs it from scripts/deps-debian-test.txt")
    d = tmp_path_factory.mktemp("slurm")
    for sub in ("state", "spool", "log"):
        (d / sub).mkdir()
    user = getpass.getuser()
    conf = d / "slurm.conf"
    conf.write_text(f"""ClusterName=lengentest
SlurmctldHost=localhost
SlurmctldPort={free_port()}
SlurmdPort={free_port()}
AuthType=auth/none
CredType=cred/none
SlurmUser={user}
SlurmdUser={user}
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
ReturnToService=2
JobRequeue=1
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=localhost CPUs={os.cpu_count()} RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
""")
    env = {**os.environ, "SLURM_CONF": str(conf)}
    subprocess.run(["slurmctld", "-c"], env=env, check=True)  # both fork into the background
    subprocess.run(["slurmd"], env=env, check=True)
    try:
        wait_for("the node to come up", lambda: subprocess.run(
            ["sinfo", "-h", "-o", "%t"], env=env, capture_output=True, text=True).stdout.strip() == "idle", 30)
        yield env
    finally:
        for pid_file in ("slurmd.pid", "slurmctld.pid"):
            try:
                os.kill(int((d / pid_file).read_text()), signal.SIGTERM)
            except (OSError, ValueError):
                pass


SWEEP = {
    "name": "slurmtest",
    "base": ["models/tiny"],
    "config": {"model": {"d_model": 32, "d_head": 8, "d_ff": 64},
               "train": {"steps": 300, "batch_size": 4, "log_every": 10, "checkpoint_every": 10},
               "data": {"train_size": 200, "test_size": 40},
               "eval": {"validation_examples": 8, "max_per_length": 2}},
    "axes": {"task": ["copy_cmc_tr20_ts40"], "pe": ["nope", "alibi"], "seed": [0, 1]},
    "slurm": {"cpus_per_task": 1, "mem": "400M", "time": "00:10:00"},
}


def test_sweep_array_runs_requeues_and_reports_on_a_real_slurm(slurm, lengen_binary, tmp_path):
    sweep, out = tmp_path / "sweep.json", tmp_path / "runs"
    sweep.write_text(json.dumps({**SWEEP, "out": str(out)}))
    script = tmp_path / "grid.slurm"
    run_lengen(lengen_binary, "sweep", "slurm", sweep, "--script", script)
    text = script.read_text()
    assert "#SBATCH --array=0-3" in text and "#SBATCH --cpus-per-task=1" in text, text
    job = subprocess.run(["sbatch", "--parsable", str(script)], env=slurm, cwd=tmp_path,
                         capture_output=True, text=True, check=True).stdout.strip().split(";")[0]

    # Requeue task 0 once it has a checkpoint and before it finishes.
    run0 = out / "copy_cmc_tr20_ts40" / "nope" / "seed0"
    wait_for("a checkpoint of task 0", lambda: (run0 / "checkpoint").exists(), 120)
    assert not (run0 / "results.json").exists(), "task 0 finished before it could be requeued"
    subprocess.run(["scontrol", "requeue", f"{job}_0"], env=slurm, check=True)
    # Slurm holds a requeued job back for two minutes (its begin time): once it is pending
    # again, start it now.
    def state():
        return subprocess.run(["squeue", "-h", "-j", f"{job}_0", "-o", "%T"], env=slurm,
                              capture_output=True, text=True).stdout.strip()
    wait_for("task 0 to be pending again", lambda: state() == "PENDING", 120)
    subprocess.run(["scontrol", "update", f"jobid={job}_0", "StartTime=now"], env=slurm, check=True,
                   capture_output=True)

    def done():
        q = subprocess.run(["squeue", "-h", "-j", job], env=slurm, capture_output=True, text=True)
        return q.returncode == 0 and q.stdout.strip() == ""
    wait_for("the array to finish", done, 600)

    listing = run_lengen(lengen_binary, "sweep", "list", sweep).stdout
    assert listing.count("complete") >= 4, listing
    results0 = json.loads((run0 / "results.json").read_text())
    assert results0["training"]["resumed_from"] > 0, results0["training"]  # it was requeued mid-run
    assert (out / "slurm" / f"{job}_0.out").exists()

    # The requeued run equals the same run done in one go (same seed, device, threads).
    again = tmp_path / "again.json"
    again.write_text(json.dumps({**SWEEP, "out": str(tmp_path / "again")}))
    run_lengen(lengen_binary, "sweep", "run-one", again, "0", "--threads", "1")
    one_go = tmp_path / "again" / "copy_cmc_tr20_ts40" / "nope" / "seed0"
    assert (run0 / "checkpoint" / "model.safetensors").read_bytes() == \
        (one_go / "checkpoint" / "model.safetensors").read_bytes()
    assert results0["test"] == json.loads((one_go / "results.json").read_text())["test"]

    report = tmp_path / "report"
    run_lengen(lengen_binary, "report", out, "--out", report)
    table = (report / "main_table.md").read_text()
    assert "nope" in table and "alibi" in table, table
