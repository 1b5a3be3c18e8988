"""Commands for region packs: the member states, bodies and sectors of a grouping."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from rsn import audit
from rsn.cli.common import ConfigOpt, DataDirOpt, console, operator, reported
from rsn.cli.directory import write_session
from rsn.registry import catalog, regionpacks
from rsn.registry.service import country_name
from rsn.warning import config as warning_config

region_app = typer.Typer(
    help="Region packs (BIMSTEC, SAARC, ASEAN, SCO, or your own file).", no_args_is_help=True
)


def _pack(name: str) -> regionpacks.RegionPack:
    path = Path(name)
    with reported():
        if path.suffix in {".yaml", ".yml"} and path.exists():
            pack = regionpacks.load_file(path)
        elif name not in regionpacks.available():
            shipped = ", ".join(regionpacks.available())
            raise typer.BadParameter(f"'{name}' is neither a shipped pack ({shipped}) nor a file")
        else:
            pack = regionpacks.load(name)
        # Its early-warning settings are checked now, not at the first detection run.
        known = regionpacks.taxonomy_for(pack).ids()
        warning_config.check_pack(pack.detection, pack.slug, known)
        return pack


@region_app.command("list")
def region_list() -> None:
    """The region packs this node ships."""
    table = Table("slug", "name", "members", "secretariat", header_style="bold")
    for slug in regionpacks.available():
        pack = regionpacks.load(slug)
        table.add_row(
            pack.slug,
            pack.full_name,
            " ".join(pack.members),
            f"{pack.secretariat.city}, {pack.secretariat.country}",
        )
    console.print(table)


@region_app.command("show")
def region_show(name: Annotated[str, typer.Argument(help="A pack slug or a YAML file.")]) -> None:
    """A pack's members, secretariat, sectors, sea areas and extra categories."""
    pack = _pack(name)
    console.print(f"[bold]{pack.full_name}[/bold] ({pack.slug} {pack.version})")
    console.print(f"Secretariat: {pack.secretariat.name}, {pack.secretariat.city}")
    members = Table("code", "member state", header_style="bold")
    for code in pack.members:
        members.add_row(code, country_name(code) or "")
    console.print(members)
    if pack.sectors:
        sectors = Table("sector", "lead", header_style="bold")
        for sector in pack.sectors:
            sectors.add_row(sector.name, country_name(sector.lead) or sector.lead)
        console.print(sectors)
    if pack.sea_areas:
        console.print("Sea areas: " + ", ".join(pack.sea_areas))
    if pack.categories:
        console.print("Extra categories: " + ", ".join(c.id for c in pack.categories))


@region_app.command("load")
def region_load(
    name: Annotated[str, typer.Argument(help="A pack slug or a YAML file.")],
    data_dir: DataDirOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Load a pack into the node: its member states, bodies and categories."""
    pack = _pack(name)
    with write_session(data_dir, config) as s:
        catalog.load_pack(s, pack)
        audit.record(
            s,
            actor=operator(),
            action="region.load",
            detail={"slug": pack.slug, "version": pack.version},
        )
    console.print(f"Loaded {pack.full_name}: {len(pack.members)} member states.")
