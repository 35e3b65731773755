"""The module's glue: dry run by default, refusals before anything starts, state=absent on an empty store."""
from __future__ import annotations

import pytest

from ansible_collections.sre.toolkit.plugins.module_utils._chaos import memory_service as service
from ansible_collections.sre.toolkit.plugins.module_utils._errors import ToolkitError
from ansible_collections.sre.toolkit.plugins.modules import memory_hog as mod


class FakeModule:
    check_mode = False


def params(tmp_path, **over):
    base = {name: spec.get("default") for name, spec in mod.argument_spec().items()}
    base.update(size="16Mi", state_dir=str(tmp_path / "state"))
    base.update(over)
    return base


def test_safe_defaults():
    spec = mod.argument_spec()
    assert spec["dry_run"]["default"] is True
    assert spec["target"]["default"] == "host" and spec["engine"]["default"] == "python"
    assert spec["api_key"]["no_log"] is True


def test_dry_run_plans_and_starts_nothing(tmp_path):
    p = params(tmp_path)
    result = service.run_host(FakeModule(), p, rehearse=p["dry_run"])
    assert result["outcome"] == "dry_run" and result["changed"] is False
    assert result["plan"]["total_bytes"] == 16 * 2 ** 20
    assert not (tmp_path / "state").exists()


def test_oversize_is_refused_before_anything_starts(tmp_path):
    p = params(tmp_path, size="64Ti", dry_run=False)
    with pytest.raises(ToolkitError) as err:
        service.run_host(FakeModule(), p, rehearse=False)
    assert "host.mem_available" in err.value.msg and err.value.details["preflight"]["refused_by"] == ["host.mem_available"]
    assert not (tmp_path / "state").exists()


def test_absent_with_nothing_recorded(tmp_path):
    result = service.run_host(FakeModule(), params(tmp_path, state="absent"), rehearse=False)
    assert result == {"changed": False, "outcome": "cleaned", "cleaned_up": []}
