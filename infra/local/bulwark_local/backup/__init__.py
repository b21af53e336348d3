"""AWS Backup for the local AWS: the operations Bulwark needs that moto lacks.

`install()` adds them to moto's backup service (handlers, URL patterns), the local-only
control calls (running every backup plan now, restores that fail or lose data, restore
durations), the locks AWS Backup's jobs take in other services' backends, and RDS's report of
a continuously backed-up database's restorable window. Call it before the server's first
request. See infra/local/README.md for what is emulated and how it differs from AWS.
"""

from __future__ import annotations


def install() -> None:
    from . import control, durations, locking, rds_restorable, region_settings, responses

    responses.install()
    region_settings.install()
    control.install()
    durations.install()
    locking.install()
    rds_restorable.install()
