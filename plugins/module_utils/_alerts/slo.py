# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alert_frequency's multi-window multi-burn-rate view of SLIs (``slo.burn_rate``): the SLO engine's
(``_slo/burn.py``, the pairs and rule slo_report backtests) behind alert_frequency's option names
and error type."""

from __future__ import annotations

from ansible_collections.sre.toolkit.plugins.module_utils._alerts.common import AlertInputError
from ansible_collections.sre.toolkit.plugins.module_utils._slo import burn
from ansible_collections.sre.toolkit.plugins.module_utils._slo.common import SloInputError, objective_fraction

windows_needed = burn.windows_needed


def burn_view(name, objective, error_ratios, window_seconds, period=burn.PERIOD):
    """One SLO's burn rates per window, the alert conditions that hold, and budget consumed."""
    try:
        exact = objective_fraction(objective, "slos[%s]" % name)
    except SloInputError as exc:
        raise AlertInputError(exc.msg)
    return burn.burn_view(name, exact, error_ratios, window_seconds, period)
