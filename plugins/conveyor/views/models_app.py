"""The Models view's FastAPI app, mounted by Airflow's API server at ``/conveyor``.

Every route needs an Airflow login (the JWT the UI keeps in its ``_token`` cookie, or an
``Authorization: Bearer`` header from ``POST /auth/token``), checked by Airflow's own
``get_user``: the data routes answer 401/403 without one, the page sends the browser to the
login; a model is shown only to a user its DAGs may be read by, as Airflow's auth
manager decides. Routes are plain ``def``: the registry and files are read in a worker
thread, not on the API server's event loop."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from pipelines.monitor.history import REPORT_FILE

URL_PREFIX = "/conveyor"
REGISTRY_RETRY_AFTER_SECONDS = 30


async def current_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> Any:
    """Airflow's own check of the JWT (header first, then the UI's cookie): 401 without
    one, 403 for one that is not valid. Imported here, not at the top: every Airflow
    process loads plugins, and only the API server needs its security module."""
    from airflow.api_fastapi.core_api.security import get_user

    return await get_user(request, None, bearer)


def readable_models(user: Annotated[Any, Depends(current_user)]) -> list[str]:
    """The configured models whose train DAG ``user`` may read."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagDetails

    from pipelines.config.load import model_names

    def may_read(name: str) -> bool:
        details = DagDetails(id=f"{name}__train")
        return get_auth_manager().is_authorized_dag(method="GET", details=details, user=user)

    return [name for name in model_names() if may_read(name)]


Readable = Annotated[list[str], Depends(readable_models)]


async def page_user(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(HTTPBearer(auto_error=False))],
) -> Any | None:
    """The logged-in user, or None where ``current_user`` would refuse: the page sends a
    browser to the login instead of showing it a 401."""
    try:
        return await current_user(request, bearer)
    except HTTPException as refused:
        if refused.status_code in (401, 403):
            return None
        raise


def page_readable(user: Annotated[Any, Depends(page_user)]) -> list[str] | None:
    """``readable_models`` for the page; None when nobody is logged in."""
    return None if user is None else readable_models(user)


def login_redirect(request: Request, airflow_root: str) -> RedirectResponse:
    """To the auth manager's login page, back to this page after it."""
    from airflow.api_fastapi.app import create_auth_manager

    login = create_auth_manager().get_url_login(next_url=str(request.url))
    return RedirectResponse(login if "://" in login else f"{airflow_root}{login}", status_code=303)


def load_views(names: list[str]) -> list[dict[str, Any]]:
    """The Models view's data for ``names``, from this environment's registry and reports.

    A registry that does not answer (after the MLflow client's own retries) is a 503 that
    says so, not a 500 and not a page that reads as "no versions"."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    from pipelines.config.load import load_model_config, load_platform_config
    from pipelines.training.tracking import mlflow_client
    from pipelines.ui.models import model_view

    platform = load_platform_config()
    try:
        client = mlflow_client(platform)
        return [model_view(platform, load_model_config(name), client) for name in names]
    except (MlflowException, SQLAlchemyError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise HTTPException(
            status_code=503,
            detail=f"the model registry (MLflow) is not answering, so the Models view cannot be shown; "
            f"it comes back when MLflow does. The client said: {reason}",
            headers={"Retry-After": str(REGISTRY_RETRY_AFTER_SECONDS)},
        ) from error


def _read_report(relative: str, missing: str) -> str:
    """An HTML file under the reports folder (which the browser cannot reach); 404 ``missing``."""
    import fsspec

    from pipelines.config.load import load_platform_config

    fs, path = fsspec.core.url_to_fs(f"{load_platform_config().reports_uri}/{relative}")
    if not fs.exists(path):
        raise HTTPException(status_code=404, detail=missing)
    with fs.open(path, "r") as report:
        return str(report.read())


def _one(model: str, readable: list[str]) -> str:
    if model not in readable:  # unknown, or not this user's to read: the same answer
        raise HTTPException(status_code=404, detail=f"no model {model!r} you may read")
    return model


def create_app() -> FastAPI:
    app = FastAPI(title="Conveyor models", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/api/models")
    def list_models(readable: Readable) -> dict[str, Any]:
        return {"models": load_views(readable)}

    @app.get("/api/models/{model}")
    def get_model(model: str, readable: Readable) -> dict[str, Any]:
        return load_views([_one(model, readable)])[0]

    @app.get("/models", response_class=HTMLResponse, response_model=None)
    def models_page(
        request: Request, readable: Annotated[list[str] | None, Depends(page_readable)]
    ) -> str | RedirectResponse:
        from conveyor.views.models_page import render_page

        app_root = str(request.scope.get("root_path", "")).rstrip("/")
        airflow_root = app_root.removesuffix(URL_PREFIX)
        if readable is None:
            return login_redirect(request, airflow_root)
        return render_page(load_views(readable), app_root=app_root, airflow_root=airflow_root)

    @app.get("/models/{model}/reports/{name}", response_class=HTMLResponse)
    def drift_report(model: str, name: str, readable: Readable) -> str:
        """Evidently's HTML report, from the reports folder (which the browser cannot reach)."""
        if not REPORT_FILE.match(name):
            raise HTTPException(status_code=404, detail=f"{name!r} is not a drift report")
        return _read_report(f"{_one(model, readable)}/{name}", f"no report {name} for {model}")

    @app.get("/models/{model}/cards/{version}", response_class=HTMLResponse)
    def model_card(model: str, version: str, readable: Readable) -> str:
        """A version's model card (HTML), from the reports folder."""
        if not version.isdigit():
            raise HTTPException(status_code=404, detail=f"{version!r} is not a version number")
        name = _one(model, readable)
        return _read_report(
            f"{name}/cards/{name}-v{version}.html", f"no model card for {model} version {version}"
        )

    return app
