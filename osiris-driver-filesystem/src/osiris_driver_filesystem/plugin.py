"""Entry point of osiris-driver-filesystem: registers components and the connection family.

Import-cheap on purpose: pyarrow is imported by the drivers when a step runs.
"""

from __future__ import annotations

from osiris import hookimpl

COMPONENTS = (
    "filesystem.csv_extractor",
    "filesystem.csv_writer",
    "filesystem.parquet_extractor",
    "filesystem.parquet_writer",
    "filesystem.json_extractor",
    "filesystem.json_writer",
)


@hookimpl
def register_components():
    from osiris.components import Component

    return [Component.from_package("osiris_driver_filesystem", name) for name in COMPONENTS]


@hookimpl
def register_connection_families():
    from osiris_driver_filesystem.family import FilesystemFamily

    return [FilesystemFamily()]
