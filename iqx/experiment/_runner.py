"""The body of :meth:`ExperimentSetup.execute`: reconcile with MLflow, build datasets, run.

Resume protocol (the run key is :attr:`RunSpec.key`, stored in tag ``iqx.key`` atomically
with the run's creation):

1. runs found RUNNING whose owner process is dead are marked KILLED (a live owner on this
   host stops us: two processes must not execute one experiment);
2. a spec with a FINISHED run is skipped; every other spec (FAILED, KILLED, never started)
   gets a new run;
3. each modified dataset needed by a pending run is built once (``iqx.modify`` is idempotent:
   a complete copy is reused), its data volume and optional blind quality measured once and
   logged with each of its runs.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from typing import Any

from iqx.errors import ExperimentError
from iqx.experiment._secrets import check_private, for_link, link_of
from iqx.experiment.executor import ERROR_TAG, RunOutcome, _as_current
from iqx.experiment.runs import RunSpec, setting_name
from iqx.experiment.tracking import OWNER_TAG, iter_keys

__all__ = ["Runner"]


class Runner:
    """One execution of an :class:`~iqx.experiment.setup.ExperimentSetup`."""

    def __init__(self, setup: Any) -> None:
        self.setup = setup
        self.say = setup.progress
        self.in_flight: dict[str, RunSpec] = {}

    # ------------------------------------------------------------------ reconcile
    def _reconcile(self, exp_id: str, summary: Any) -> dict[str, list[Any]]:
        from iqx.experiment.setup import owner_alive

        tracker = self.setup.tracker
        by_key = iter_keys(tracker.runs(exp_id, only_keyed=True))
        for records in by_key.values():
            for rec in records:
                if rec.status != "RUNNING":
                    continue
                owner = rec.tags.get(OWNER_TAG)
                if owner_alive(owner):
                    raise ExperimentError(
                        f"experiment {self.setup.experiment_name!r} is being executed by "
                        f"another process ({owner}); wait for it or stop it first"
                    )
                tracker.log(rec.run_id, tags={ERROR_TAG: f"owner process {owner} died"})
                tracker.terminate(rec.run_id, "KILLED")
                summary.killed_stale.append(rec.run_id)
        return by_key

    # ------------------------------------------------------------------ datasets
    def _build(self, modifier: Any) -> dict[str, Any]:
        """Write the modified train/val/test sets; return their refs and dataset metrics."""
        from iqx.datasets.modify import modify
        from iqx.experiment.measure import blind_table
        from iqx.experiment.volume import dataset_volume

        s = self.setup
        built: dict[str, Any] = {}
        for role, source in (("train", s.train), ("val", s.val), ("test", s.test)):
            if source is None:
                continue
            if modifier is None:
                built[role] = source
                continue
            label = setting_name(modifier, keep_intermediates=s.keep_intermediates)
            self.say(f"modifying {source.name} with {label}")
            built[role] = modify(source, modifier, one_step=not s.keep_intermediates)
        metrics: dict[str, float] = dict(dataset_volume(built["train"], s.train))
        if s.image_metrics:
            self.say(f"measuring {built['train'].name} ({', '.join(s.image_metrics)})")
            table = blind_table(built["train"].data_path, s.image_metrics)
            metrics.update(
                {f"img_{k}": float(v) for k, v in table.mean().items() if v == v}  # NaN out
            )
        extra_params, uris = {}, {}
        bucket = s.cloud_options.get("bucket_name")
        if bucket:
            from iqx.experiment.cloud import upload_dataset

            for role, ds in built.items():
                uri = upload_dataset(ds.data_path, bucket, s.cloud_options)
                uris[role] = uri
                extra_params["ds_uri" if role == "train" else f"ds_uri_{role}"] = uri
        return {"datasets": built, "metrics": metrics, "params": extra_params, "uris": uris}

    # ------------------------------------------------------------------ run
    def run(self) -> Any:
        from iqx.experiment.setup import ExecutionSummary

        s = self.setup
        tracker = s.tracker
        exp_id = tracker.experiment_id(s.experiment_name)
        summary = ExecutionSummary(experiment_id=exp_id)
        specs = s.plan()
        by_key = self._reconcile(exp_id, summary)
        pending: list[RunSpec] = []
        for spec in specs:
            done = [r for r in by_key.get(spec.key, []) if r.status == "FINISHED"]
            if done:
                summary.skipped.append(done[-1].run_id)
            else:
                pending.append(spec)
        self.say(f"{len(specs)} runs: {len(summary.skipped)} done, {len(pending)} to run")
        configs = [m.get_config() if m is not None else None for m in s.modifiers]

        def starter(spec: RunSpec):
            info = prepared[configs.index(spec.modifier)]

            def start():
                run_id = tracker.create_run(exp_id, spec.run_name, s._start_tags(spec))
                self.in_flight[run_id] = spec
                params = {**spec.params(), **info["params"]}
                params.update(_actual_params(spec, info["datasets"]))
                tracker.log(run_id, params=params, metrics=info["metrics"])
                request = s._request(spec, run_id, exp_id)
                if info["uris"]:
                    from iqx.experiment.cloud import storage_options

                    request = dataclasses.replace(
                        request,
                        dataset_uris=info["uris"],
                        cloud_options=storage_options(s.cloud_options),
                    )
                # no credential crosses an unencrypted link (iqx.experiment._secrets)
                request = for_link(request, link)
                return s.task, request, tracker.run_artifacts(run_id), run_id

            return spec, start

        pool, release = s._pool(len(pending))
        prepared: dict[int, dict[str, Any]] = {}
        link = link_of(pool)
        try:
            check_private(s, s.task, link)
            # modified datasets are built once, on the experiment's cluster when it has one
            with _as_current(pool.client):
                for spec in pending:
                    index = configs.index(spec.modifier)
                    if index not in prepared:
                        prepared[index] = self._build(s.modifiers[index])
            for n, (spec, result) in enumerate(pool.run(starter(p) for p in pending), 1):
                outcome = result if isinstance(result, RunOutcome) else None
                run_id = outcome.run_id if outcome else self._run_id_of(spec)
                if outcome is None:
                    outcome = RunOutcome(
                        run_id=run_id,
                        status="FAILED",
                        tags={ERROR_TAG: f"worker lost: {type(result).__name__}: {result}"},
                    )
                s._log_outcome(outcome, spec)
                self.in_flight.pop(run_id, None)
                (summary.finished if outcome.status == "FINISHED" else summary.failed).append(
                    run_id
                )
                why = f" ({outcome.tags.get(ERROR_TAG)})" if outcome.status != "FINISHED" else ""
                self.say(
                    f"[{n}/{len(pending)}] {spec.run_name} rep {spec.repetition}"
                    f" {dict(spec.hyperparameters) or ''}: {outcome.status}"
                    f" in {outcome.seconds:.1f} s{why}"
                )
        finally:
            for run_id in list(self.in_flight):
                try:
                    tracker.log(run_id, tags={ERROR_TAG: "interrupted"})
                    tracker.terminate(run_id, "KILLED")
                except Exception:
                    pass
            release()
        if not s.keep_datasets:
            self._remove_datasets(prepared, summary)
        return summary

    def _run_id_of(self, spec: RunSpec) -> str:
        for run_id, other in self.in_flight.items():
            if other is spec:
                return run_id
        raise ExperimentError(f"lost track of run {spec.run_name}")  # pragma: no cover

    def _remove_datasets(self, prepared: dict[int, dict[str, Any]], summary: Any) -> None:
        """Delete modified copies whose runs all finished (never the unmodified inputs)."""
        if summary.failed:
            return  # a rerun will need them
        s = self.setup
        inputs = {Path(ds.data_path).resolve() for ds in (s.train, s.val, s.test) if ds}
        for info in prepared.values():
            for ds in info["datasets"].values():
                path = Path(ds.data_path).resolve()
                if path in inputs or "#" not in path.name:
                    continue
                # the chain's intermediates too (ds#a, ds#a#b ...), none of them an input
                base = path.name.split("#")[0]
                parts = path.name.split("#")[1:]
                for k in range(len(parts), 0, -1):
                    folder = path.parent / "#".join([base, *parts[:k]])
                    if folder.resolve() not in inputs and folder.is_dir():
                        self.say(f"removing {folder.name}")
                        shutil.rmtree(folder, ignore_errors=True)


def _actual_params(spec: RunSpec, datasets: dict[str, Any]) -> dict[str, Any]:
    """The paths the datasets really have (a folder name may differ from the plan's)."""
    out = {"ds_path": str(Path(datasets["train"].data_path).resolve())}
    for role in ("val", "test"):
        if role in datasets:
            out[f"ds_path_{role}"] = str(Path(datasets[role].data_path).resolve())
    if datasets["train"].name != spec.train.name:
        out["ds_name_actual"] = datasets["train"].name
    return out
