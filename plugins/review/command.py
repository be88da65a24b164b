"""The ``toolkit review RUN_DIR`` command, contributed through ``toolkit_register_commands``."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from toolkit.core import ToolkitError

err = Console(stderr=True)


def add_review_command(cli: typer.Typer) -> None:
    @cli.command()
    def review(run_dir: Path = typer.Argument(..., help="a run folder written by `toolkit run`"),
               port: int = typer.Option(8765, "--port", help="port to listen on (0: any free port)"),
               host: str = typer.Option("127.0.0.1", "--host",
                                        help="address to bind (default loopback only; others expose your labels)"),
               verbose: bool = typer.Option(False, "--verbose", help="log every request")):
        """Review a run's candidates in the browser; labels are saved to RUN_DIR/labels.parquet."""
        from .server import ReviewApp, is_loopback, make_server

        try:
            if not is_loopback(host):
                err.print(f"[bold yellow]warning:[/bold yellow] --host {host} is not a loopback address: anyone who "
                          "can reach this machine can read this run and change its labels (no authentication).")
            app = ReviewApp(run_dir)
            server = make_server(app, host, port, quiet=not verbose)
        except ToolkitError as exc:
            err.print("[bold red]error:[/bold red] ", end="")
            err.print(str(exc), markup=False, highlight=False)
            raise typer.Exit(2)
        if app.labels.notice:
            err.print(f"[bold yellow]warning:[/bold yellow] {app.labels.notice}", markup=False)
        if app.view.mock:
            err.print("[bold red]MOCK DATA[/bold red]: this run used simulated stars.")
        h, p = server.server_address[:2]
        shown = f"[{h}]" if ":" in str(h) else h
        err.print(f"reviewing {app.view.dir} ({len(app.view.ids)} stars, {int(app.view.flagged_any.sum())} flagged); "
                  f"labels: {app.labels.path}")
        print(f"http://{shown}:{p}/", flush=True)
        err.print("Ctrl-C stops the server (every label is already saved).")
        app.warm_up()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            err.print("stopped")
        finally:
            server.server_close()
