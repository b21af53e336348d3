"""AWS Backup for the local AWS: the operations Bulwark needs that moto lacks.

`install()` adds them to moto's backup service (handlers, URL patterns) and adds the
local-only control call that runs every backup plan now. Call it before the server's
first request. See infra/local/README.md for what is emulated and how it differs from AWS.
"""

from __future__ import annotations


def install() -> None:
    from . import control, region_settings, responses

    responses.install()
    region_settings.install()
    control.install()
