"""``POST /rank`` for a ranking model: one query and the documents on its results page in,
the documents ordered by relevance score out.

The text comes from the request (what the user typed, the documents as shown); the pair's
other features come from the online store where it holds them for that day. A pair the
store does not know (a new query or document: cold start) is scored on its text, with the
other features at their training means, and the answer says so. Every scored pair is
logged like a ``/predict`` row, so live performance and text drift see ranked traffic too.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from pipelines.lakehouse.gold.keys import entity_key
from pipelines.serving.online import read_online

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.params import Depends

    from pipelines.config.model import ModelConfig
    from pipelines.serving.champion import ChampionFollower
    from pipelines.serving.online import OnlineFeatures
    from pipelines.serving.release import ReleaseRouter

_STRICT = ConfigDict(extra="forbid")


class RankedDocument(BaseModel):
    doc_id: str
    score: float
    rank: int
    features_from: str  # online | cold_start


class RankResponse(BaseModel):
    model: str
    version: str  # the version that ranked the list: a canary's candidate takes whole lists
    request_id: str
    query_id: str
    date: date
    ranking: list[RankedDocument]


def rank_request_model(config: ModelConfig, max_rows: int) -> type[BaseModel]:
    """``{<query key>, <query text>, <day>, "documents": [{<item key>, <document text>}]}``."""
    assert config.ranking is not None
    query_key, (item_key,) = (
        config.ranking.query_key,
        [k for k in config.entity_keys if k != config.ranking.query_key],
    )
    query_text, document_text = config.features.text
    document = create_model(  # type: ignore[call-overload]
        f"{config.name}_document",
        __config__=_STRICT,
        **{item_key: (str, Field(min_length=1)), document_text: (str, ...)},
    )
    return create_model(  # type: ignore[call-overload]
        f"{config.name}_rank_request",
        __config__=_STRICT,
        **{
            query_key: (str, Field(min_length=1)),
            query_text: (str, ...),
            config.timestamp_column: (date, ...),
        },
        documents=(list[document], Field(min_length=1, max_length=max_rows)),
    )


def add_rank_route(
    app: FastAPI,
    config: ModelConfig,
    follower: ChampionFollower,
    online: OnlineFeatures | None,
    router: ReleaseRouter,
    authorized: Depends,
    max_rows: int,
) -> None:
    assert config.ranking is not None
    query_key = config.ranking.query_key
    (item_key,) = [k for k in config.entity_keys if k != query_key]
    query_text, document_text = config.features.text
    stored_columns = [*config.features.numeric, *config.features.categorical]
    day = config.timestamp_column

    async def rank(body: Any) -> Response:
        lineup = follower.lineup  # read once: these versions answer the whole request
        if lineup.champion is None:
            raise HTTPException(503, follower.last_error or "no model loaded yet; retry shortly")
        target_day, query_id = getattr(body, day), getattr(body, query_key)
        keys_of = [{query_key: query_id, item_key: getattr(d, item_key)} for d in body.documents]
        entities = [entity_key(keys[k] for k in config.entity_keys) for keys in keys_of]
        stored = await read_online(online, sorted(set(entities))) if online is not None else {}
        rows, sources = [], []
        for entity, document in zip(entities, body.documents, strict=True):
            features, features_day = stored.get(entity, ({}, None))
            known = features_day == target_day
            row = {c: features.get(c) if known else None for c in stored_columns}
            rows.append(
                row | {query_text: getattr(body, query_text), document_text: getattr(document, document_text)}
            )
            sources.append("online" if known else "cold_start")
        # A canary takes whole result lists: every document of a query meets one version.
        request_id = uuid.uuid4().hex
        scores, versions = router.answer(lineup, request_id, [query_id] * len(rows), entities,
                                         [target_day] * len(rows), rows)  # fmt: skip
        order = sorted(range(len(rows)), key=lambda i: -float(scores[i]))
        ranking = [
            RankedDocument(
                doc_id=getattr(body.documents[i], item_key), score=float(scores[i]), rank=position + 1,
                features_from=sources[i],
            )
            for position, i in enumerate(order)
        ]  # fmt: skip
        answer = RankResponse(
            model=config.name, version=versions[0], request_id=request_id, query_id=query_id,
            date=target_day, ranking=ranking,
        )  # fmt: skip
        return Response(answer.model_dump_json(), media_type="application/json")

    rank.__annotations__["body"] = rank_request_model(config, max_rows)
    app.post("/rank", response_model=RankResponse, dependencies=[authorized])(rank)
