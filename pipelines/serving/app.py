"""The serving service: ``POST /predict`` scores instances with the registry's champion
(and a candidate in release: see ``release.py``), reading each instance's features from
the online store unless it carries them inline, and logs every prediction. A ranking
model also answers ``POST /rank`` (a query and its documents, see ``rank.py``).
``/health`` (alive), ``/ready`` (a model is loaded), ``/metrics`` (Prometheus)."""

from __future__ import annotations

import gc
import logging
import math
import secrets
import uuid
from contextlib import asynccontextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response

from pipelines.errors import ConfigError
from pipelines.lakehouse.gold.keys import entity_key
from pipelines.serving.log import BufferedLog, PredictionLog, now
from pipelines.serving.metrics import Guard, ServiceMetrics
from pipelines.serving.online import read_online
from pipelines.serving.rank import add_rank_route
from pipelines.serving.release import ReleaseRouter
from pipelines.serving.schema import Prediction, PredictResponse, request_model

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from pipelines.config.model import ModelConfig
    from pipelines.config.platform import PlatformConfig
    from pipelines.serving.champion import ChampionFollower
    from pipelines.serving.online import OnlineFeatures

log = logging.getLogger("conveyor.serving")
_SHOWN_PROBLEMS = 5


def create_app(
    platform: PlatformConfig,
    config: ModelConfig,
    follower: ChampionFollower,
    online: OnlineFeatures | None,
) -> Guard:
    """The service for one model (an ASGI app). ``online`` None serves inline features only."""
    serving = platform.serving
    metrics = ServiceMetrics()
    keys, day = config.entity_keys, config.timestamp_column
    PredictRequest = request_model(config, serving.max_batch_rows)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        buffered = BufferedLog(PredictionLog(serving.prediction_log_url), serving.flush_seconds)
        app.state.log = buffered
        # Everything imported so far lives as long as the process: keep it out of the
        # collector's full passes, which otherwise stall a busy server for ~0.25 s.
        gc.freeze()
        follower.start()
        yield
        follower.stop()
        router.close()  # its last off-path scores go to the log before it closes
        buffered.close()

    app = FastAPI(title=f"Conveyor serving: {config.name}", description=config.description, lifespan=lifespan)

    @app.exception_handler(RequestValidationError)
    async def _explain(_: Request, error: RequestValidationError) -> JSONResponse:
        problems = [
            f"{'.'.join(str(p) for p in item['loc'][1:]) or 'body'}: {item['msg']}" for item in error.errors()
        ]
        shown = "; ".join(problems[:_SHOWN_PROBLEMS]) + (
            f"; and {len(problems) - _SHOWN_PROBLEMS} more" if len(problems) > _SHOWN_PROBLEMS else ""
        )
        return JSONResponse(status_code=422, content={"detail": shown, "problems": problems})

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, error: Exception) -> JSONResponse:
        log.exception("request failed")
        return JSONResponse(status_code=500, content={"detail": f"internal error: {type(error).__name__}"})

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/ready")
    def ready() -> JSONResponse:
        lineup = follower.lineup
        if lineup.champion is None:
            reason = follower.last_error or "loading the champion"
            return JSONResponse(status_code=503, content={"ready": False, "detail": reason})
        ready = {"ready": True, "model": lineup.champion.name, "version": lineup.champion.version}
        if lineup.candidate is not None:
            ready["candidate"] = {"version": lineup.candidate.version, "strategy": lineup.strategy,
                                  "share": lineup.share}  # fmt: skip
        if follower.candidate_error:
            ready["candidate_error"] = follower.candidate_error
        if follower.last_error:  # serving what it has, but the alias points elsewhere
            ready["refused"] = follower.last_error
        return JSONResponse(ready)

    @app.get("/metrics")
    def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        lineup = follower.lineup
        if lineup.champion is not None:
            metrics.model_version.labels(config.name).set(float(lineup.champion.version))
        metrics.candidate_version.labels(config.name).set(
            float(lineup.candidate.version) if lineup.candidate else 0
        )
        metrics.log_pending.set(app.state.log.pending)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    async def features_of(instances: list[Any]) -> tuple[list[dict[str, Any]], list[str]]:
        """Each instance's features (inline, else online) and where they came from."""
        entity_ids = [entity_key(getattr(i, key) for key in keys) for i in instances]
        wanted = sorted({e for e, i in zip(entity_ids, instances, strict=True) if i.features is None})
        stored = {}
        if wanted:
            if online is None:
                raise HTTPException(422, "this service takes inline features only; send `features`")
            stored = await read_online(online, wanted)
        rows, sources, problems = [], [], []
        for position, (entity, instance) in enumerate(zip(entity_ids, instances, strict=True)):
            requested = getattr(instance, day)
            if instance.features is not None:
                row = instance.features.model_dump()
                clash = [k for k in keys if k in row and str(row[k]) != getattr(instance, k)]
                if clash:
                    problems.append(f"instances.{position}: features give {clash} other than the instance")
                rows.append(row)
                sources.append("inline")
                continue
            row, target_day = stored[entity]
            if target_day is None:
                problems.append(
                    f"instances.{position}: no online features for {entity}; an unknown route, or"
                    " its features are not materialized yet (send them inline)"
                )
            elif target_day != requested:
                problems.append(
                    f"instances.{position}: the online features of {entity} are for {target_day},"
                    f" not {requested}; send features inline for other days"
                )
            rows.append(row)
            sources.append("online")
        if problems:
            more = f" (and {len(problems) - _SHOWN_PROBLEMS} more)" if len(problems) > _SHOWN_PROBLEMS else ""
            raise HTTPException(422, "; ".join(problems[:_SHOWN_PROBLEMS]) + more)
        return rows, sources

    def authorize(request: Request) -> None:
        if serving.api_token is None:
            return
        sent = request.headers.get("authorization", "")
        scheme, _, token = sent.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            token.encode(), serving.api_token.encode()
        ):
            raise HTTPException(
                401,
                "predictions need a bearer token: send `Authorization: Bearer <CONVEYOR_SERVING_TOKEN>`",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def predict(body: Any) -> Response:
        # Scoring a few rows takes well under a millisecond: done on the event loop, as a
        # thread hop would cost more than it saves.
        lineup = follower.lineup  # read once: these versions answer the whole request
        if lineup.champion is None:
            raise HTTPException(503, follower.last_error or "no model loaded yet; retry shortly")
        instances = body.instances
        rows, sources = await features_of(instances)
        entities = [entity_key(getattr(instance, key) for key in keys) for instance in instances]
        days = [getattr(instance, day) for instance in instances]
        request_id = uuid.uuid4().hex
        scores, versions = router.answer(lineup, request_id, entities, entities, days, rows)
        predictions = [
            Prediction(entity_id=entity, date=target_day, prediction=float(score), features_from=source,
                       version=version)
            for entity, target_day, score, source, version in zip(entities, days, scores, sources, versions,
                                                                  strict=True)
        ]  # fmt: skip
        answer = PredictResponse(
            model=config.name, version=lineup.champion.version, request_id=request_id, predictions=predictions
        )
        return Response(answer.model_dump_json(), media_type="application/json")

    def record_predictions(
        loaded: Any, alias: str, variant: str, request_id: str,
        entities: list[str], days: list[date], rows: list[dict[str, Any]], scores: Any,
    ) -> None:  # fmt: skip
        """Log one row per score (written by the log's thread)."""
        logged_at = now()
        records = []
        for entity, target_day, row, score in zip(entities, days, rows, scores, strict=True):
            records.append({
                "request_id": request_id, "logged_at": logged_at, "model": config.name,
                "model_version": loaded.version, "alias": alias, "variant": variant, "entity_id": entity,
                "target_date": target_day, "features": _json_safe(row), "prediction": float(score),
            })  # fmt: skip
            if variant == "served":
                metrics.predictions.observe(float(score))
        app.state.log.submit(records)
        if variant == "served":
            metrics.rows.inc(len(records))

    router = ReleaseRouter(metrics, record_predictions)
    follower.on_refused = lambda alias, version, _: metrics.refused_versions.labels(alias, version).inc()

    # The body's model is built from the config at run time, so FastAPI is told its type here.
    predict.__annotations__["body"] = PredictRequest
    app.post("/predict", response_model=PredictResponse, dependencies=[Depends(authorize)])(predict)
    if config.ranking is not None:
        add_rank_route(app, config, follower, online, router, Depends(authorize), serving.max_batch_rows)
    return Guard(app, metrics, serving.max_body_bytes)


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def service(platform: PlatformConfig, config: ModelConfig, *, online: bool = True) -> Guard:
    """The service as ``conveyor serve`` runs it: following the registry, reading Feast."""
    import torch

    from pipelines.serving.champion import ChampionFollower
    from pipelines.serving.online import OnlineFeatures
    from pipelines.training.tracking import mlflow_client

    if platform.environment != "local" and not platform.serving.api_token:
        raise ConfigError(
            f"serving.api_token is empty: the {platform.environment} profile serves only with a"
            " bearer token (set CONVEYOR_SERVING_TOKEN; `make secrets` generates one)"
        )
    # A request is a few rows: intra-op threads would only contend with the server's own.
    torch.set_num_threads(1)
    follower = ChampionFollower(mlflow_client(platform), config.name, platform.serving.poll_seconds)
    return create_app(platform, config, follower, OnlineFeatures(platform, config) if online else None)
