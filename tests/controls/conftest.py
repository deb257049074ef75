import shutil
from pathlib import Path

import pytest
from django.conf import settings

from audit.context import Actor
from controls.services import catalog_load

SHIPPED = Path(settings.BASE_DIR) / "controls" / "catalog"


@pytest.fixture
def catalog(db):
    """The shipped catalog, loaded and current."""
    return catalog_load(actor=Actor.system("test"), path=SHIPPED).catalog_version


@pytest.fixture
def catalog_copy(tmp_path):
    """A writable copy of the shipped catalog directory, for bad-input tests."""
    target = tmp_path / "catalog"
    shutil.copytree(SHIPPED, target)
    return target
