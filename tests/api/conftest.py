from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.service import Service, make_service
from tests.submission.pki import SubmissionPki
from tests.submission.setup import sealing_for


@pytest.fixture
def service(submission_pki: SubmissionPki, tmp_path: Path) -> Service:
    return make_service(sealing_for(submission_pki, tmp_path))
