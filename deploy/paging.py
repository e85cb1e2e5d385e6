"""Create the paging automations of deploy/automations.yaml on a Prefect server.

    .venv/bin/python deploy/paging.py --block pager-duty-webhook/oncall
    .venv/bin/python deploy/paging.py --webhook-url https://alerts.example.com/hook

The server is the one ``PREFECT_API_URL`` names. Notifications go through a Prefect
notification block: an existing one (``--block TYPE-SLUG/NAME``: Slack, PagerDuty,
Microsoft Teams, Opsgenie, e-mail, ...), or a custom webhook block this script saves as
``custom-webhook/zhclean-paging`` that POSTs ``{"subject": ..., "body": ...}`` as JSON to
``--webhook-url``. Running it again replaces the automations (they are found by name).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import string
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "automations.yaml"
WEBHOOK_BLOCK = "zhclean-paging"
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(text: str) -> timedelta:
    """``26h``, ``90m``, ``30s``, ``2d`` or plain seconds; at least 10 s (Prefect's
    least window for a trigger on missing events)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (examples: 26h, 90m, 30s)")
    window = timedelta(seconds=float(match[1]) * UNITS[match[2] or "s"])
    if window < timedelta(seconds=10):
        raise argparse.ArgumentTypeError("the window must be at least 10 seconds")
    return window


def _shown(window: timedelta) -> str:
    seconds = window.total_seconds()
    for unit in ("d", "h", "m"):
        if seconds >= UNITS[unit] and seconds % UNITS[unit] == 0:
            return f"{seconds / UNITS[unit]:g} {dict(d='days', h='hours', m='minutes')[unit]}"
    return f"{seconds:g} seconds"


def render(
    template: str, deployment: str, block_id: UUID | str, window: timedelta
) -> list[dict[str, Any]]:
    """The automations of ``template`` with its ``${...}`` fields filled in."""
    flow, _, name = deployment.partition("/")
    text = string.Template(template).substitute(
        flow=flow,
        deployment=name,
        block_id=str(block_id),
        window=_shown(window),
        window_seconds=f"{window.total_seconds():g}",
    )
    return yaml.safe_load(text)["automations"]


class NotFound(Exception):
    """The deployment or the block named on the command line is not on the server."""


async def _block_id(client: Any, args: argparse.Namespace) -> UUID:
    from prefect.exceptions import ObjectNotFound

    if args.webhook_url:
        from prefect.blocks.notifications import CustomWebhookNotificationBlock

        block = CustomWebhookNotificationBlock(
            name=WEBHOOK_BLOCK,
            url=args.webhook_url,
            json_data={"subject": "{{subject}}", "body": "{{body}}"},
        )
        return await block.save(WEBHOOK_BLOCK, overwrite=True)
    slug, _, name = args.block.partition("/")
    try:
        return (await client.read_block_document_by_name(name, block_type_slug=slug)).id
    except ObjectNotFound:
        raise NotFound(f"no block {args.block} on the server") from None


async def create(args: argparse.Namespace) -> list[tuple[str, UUID]]:
    from prefect.client.orchestration import get_client
    from prefect.events.schemas.automations import AutomationCore
    from prefect.exceptions import ObjectNotFound

    async with get_client() as client:
        try:  # automations match flow and deployment names: a typo would never fire
            await client.read_deployment_by_name(args.deployment)
        except ObjectNotFound:
            raise NotFound(f"no deployment {args.deployment} on the server") from None
        block_id = await _block_id(client, args)
        created = []
        for item in render(args.file.read_text(encoding="utf-8"), args.deployment, block_id,
                           args.window):  # fmt: skip
            automation = AutomationCore.model_validate(item)
            for old in await client.read_automations_by_name(automation.name):
                await client.delete_automation(old.id)
            created.append((automation.name, await client.create_automation(automation)))
        return created


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--block", help="an existing notification block, as TYPE-SLUG/NAME")
    target.add_argument("--webhook-url", help=f"save a custom webhook block {WEBHOOK_BLOCK}")
    parser.add_argument("--deployment", default="zhclean-etl/daily", help="FLOW/DEPLOYMENT")
    parser.add_argument(
        "--window",
        type=parse_window,
        default=parse_window("26h"),
        help="page when no run has completed for this long (default: 26h)",
    )
    parser.add_argument("--file", type=Path, default=TEMPLATE, help="the automations template")
    args = parser.parse_args(argv)
    if args.block and "/" not in args.block:
        parser.error("--block takes TYPE-SLUG/NAME, e.g. slack-webhook/oncall")
    try:
        created = asyncio.run(create(args))
    except NotFound as err:
        print(f"paging: {err}", file=sys.stderr)
        return 1
    for name, automation_id in created:
        print(f"automation {name!r}: {automation_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
