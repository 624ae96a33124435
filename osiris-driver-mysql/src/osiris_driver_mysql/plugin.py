"""Entry point of osiris-driver-mysql. Import-cheap: drivers and SDKs load when a step runs."""

from __future__ import annotations

from osiris import hookimpl


@hookimpl
def register_components():
    from osiris.components import Component

    return [
        Component.from_package("osiris_driver_mysql", "mysql.extractor"),
        Component.from_package("osiris_driver_mysql", "mysql.writer"),
    ]


@hookimpl
def register_connection_families():
    from osiris_driver_mysql.family import MySQLFamily

    return [MySQLFamily()]
