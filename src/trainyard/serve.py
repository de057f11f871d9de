"""L5 entry point of `trainyard server`: the engine child, the API's services, and uvicorn."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

from trainyard import __version__
from trainyard.api.app import create_app
from trainyard.api.context import ApiContext
from trainyard.api.server import serve
from trainyard.cli.output import err
from trainyard.cli.server import EngineChild, ServeOptions
from trainyard.core.errors import TrainyardError
from trainyard.core.settings import Settings
from trainyard.instance import Instance
from trainyard.service.artifacts import ArtifactService
from trainyard.service.templates import TemplateService
from trainyard.service.workflows import WorkflowService


def api_context(instance: Instance, options: ServeOptions) -> ApiContext:
    """The services the API serves, over the home's backends."""
    store = instance.store
    workflows = WorkflowService(
        store, instance.executor, instance.repositories, instance.volumes_dir
    )
    home = instance.settings.home
    return ApiContext(
        store=store,
        executor=instance.executor,
        repositories=instance.repositories,
        authenticator=instance.authenticator(options.auth),
        workflows=workflows,
        templates=TemplateService(store, workflows),
        artifacts=ArtifactService(store, instance.repositories, home / "tmp" / "downloads"),
        queue_file=home / "queue.json",
        version=__version__,
        auth_mode=options.auth,
        keepalive=options.keepalive,
    )


def run(options: ServeOptions) -> int:
    """Start the engine child, then serve the API until SIGINT or SIGTERM."""
    instance = Instance(Settings.from_env(), project_dir=Path.cwd())
    home = instance.settings.home
    home.mkdir(parents=True, exist_ok=True)
    try:
        notice = instance.auth_notice(options.auth)
        app = create_app(api_context(instance, options))
    except TrainyardError as error:
        err.print(f"error: {error}", style="red", markup=False, highlight=False)
        return error.exit_code
    # What start-up made (modules, the app, its models) lives as long as the server: the
    # collector need not walk it again and again, which stalled every request for ~0.1 s.
    gc.collect()
    gc.freeze()
    engine = EngineChild(dict(os.environ), str(home / "engine.log"))
    engine.start()
    err.print(
        f"trainyard server: http://{options.host}:{options.port} (home {home}, auth "
        f"{options.auth}); {notice}; engine log: {home / 'engine.log'}",
        highlight=False,
        soft_wrap=True,
    )
    try:
        serve(app, options.host, options.port, access_log=options.access_log)
    finally:
        engine.stop()
        instance.close()
    return 0


def main() -> None:
    """`python -m trainyard.serve '<ServeOptions as JSON>'`."""
    sys.exit(run(ServeOptions.from_json(sys.argv[1])))


if __name__ == "__main__":
    main()
